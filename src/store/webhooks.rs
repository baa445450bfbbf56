// Webhooks and their deliveries: the receivers, the outbox rows written in the
// transaction that made an event, and what the delivery worker reads and marks.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::dsl::{count_star, exists, not};
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::db::DbConn;
use crate::db::schema::{alerts, webhook_deliveries as wd, webhook_outbox as ob, webhooks};
use crate::dispatch;
use crate::domain::CaseEvent;
use crate::domain::reference::case_ref;
use crate::domain::resolution::Action;
use crate::domain::tokens;
use crate::domain::webhooks::{self as hooks, EventType};

/// A receiver of the desk's events.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhooks)]
pub struct Webhook {
    pub id: i64,
    pub name: String,
    pub url: String,
    pub events: String,
    pub secret: String,
    pub enabled: bool,
    pub created_at: NaiveDateTime,
    pub rotated_at: Option<NaiveDateTime>,
}

impl Webhook {
    /// The event types it receives.
    pub fn types(&self) -> Vec<EventType> {
        hooks::events_of(&self.events)
    }
}

/// One event on its way to one receiver.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = wd)]
pub struct Delivery {
    pub id: i64,
    pub webhook_id: i64,
    pub event_id: String,
    pub event_type: String,
    pub case_id: i64,
    pub body: String,
    pub created_at: NaiveDateTime,
    pub attempts: i32,
    pub next_attempt_at: Option<NaiveDateTime>,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub delivered_at: Option<NaiveDateTime>,
}

/// A new signing secret: 256 random bits, shown once.
pub fn new_secret() -> String {
    format!("whsec_{}", tokens::random_token(32))
}

pub fn insert(
    conn: &mut DbConn,
    name: &str,
    url: &str,
    events: &str,
    secret: &str,
    at: NaiveDateTime,
) -> QueryResult<Webhook> {
    dispatch!(conn, |c| diesel::insert_into(webhooks::table)
        .values((
            webhooks::name.eq(name),
            webhooks::url.eq(url),
            webhooks::events.eq(events),
            webhooks::secret.eq(secret),
            webhooks::enabled.eq(true),
            webhooks::created_at.eq(at),
        ))
        .returning(Webhook::as_returning())
        .get_result(c))
}

pub fn list(conn: &mut DbConn) -> QueryResult<Vec<Webhook>> {
    webhooks::table
        .select(Webhook::as_select())
        .order(webhooks::name.asc())
        .load(conn)
}

pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<Webhook>> {
    webhooks::table
        .find(id)
        .select(Webhook::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_name(conn: &mut DbConn, name: &str) -> QueryResult<Option<Webhook>> {
    webhooks::table
        .filter(webhooks::name.eq(name))
        .select(Webhook::as_select())
        .first(conn)
        .optional()
}

/// Turns a receiver on or off; the number of rows changed (0 when it already was).
pub fn set_enabled(conn: &mut DbConn, id: i64, enabled: bool) -> QueryResult<usize> {
    diesel::update(
        webhooks::table
            .find(id)
            .filter(webhooks::enabled.eq(!enabled)),
    )
    .set(webhooks::enabled.eq(enabled))
    .execute(conn)
}

pub fn set_secret(
    conn: &mut DbConn,
    id: i64,
    secret: &str,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(webhooks::table.find(id))
        .set((
            webhooks::secret.eq(secret),
            webhooks::rotated_at.eq(Some(at)),
        ))
        .execute(conn)
}

/// Deletes a receiver with its deliveries.
pub fn delete(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
    diesel::delete(wd::table.filter(wd::webhook_id.eq(id))).execute(conn)?;
    diesel::delete(webhooks::table.find(id)).execute(conn)
}

/// The receivers and what each receives: read at every event that could interest
/// one, so a receiver added on one instance is served by all at once. A disabled
/// receiver is paused, not unsubscribed: its deliveries are written and wait for it.
fn subscribers(conn: &mut DbConn) -> QueryResult<Vec<(i64, String)>> {
    webhooks::table
        .select((webhooks::id, webhooks::events))
        .load(conn)
}

/// An event to send, before it is fanned out to its receivers.
pub struct Outgoing {
    pub event_type: EventType,
    pub case_id: i64,
    pub data: Value,
}

/// Writes each of `events` that some receiver subscribes to into the outbox, in the
/// caller's transaction: written with the event, so never lost.
pub fn enqueue(conn: &mut DbConn, at: NaiveDateTime, events: &[Outgoing]) -> QueryResult<usize> {
    if events.is_empty() {
        return Ok(0);
    }
    let subs = subscribers(conn)?;
    fan_out(conn, &subs, at, events)
}

fn fan_out(
    conn: &mut DbConn,
    subs: &[(i64, String)],
    at: NaiveDateTime,
    events: &[Outgoing],
) -> QueryResult<usize> {
    let created = DateTime::<Utc>::from_naive_utc_and_offset(at, Utc).to_rfc3339();
    // One row per event that some receiver wants, however many receivers: the
    // worker fans it out (see [`dispatch_head`]).
    let rows: Vec<_> = events
        .iter()
        .filter(|e| {
            subs.iter()
                .any(|(_, stored)| hooks::subscribes(stored, e.event_type))
        })
        .map(|e| {
            let event_id = format!("evt_{}", tokens::random_token(18));
            let body = json!({
                "id": event_id,
                "type": e.event_type.as_str(),
                "created_at": created,
                "data": e.data,
            })
            .to_string();
            (
                ob::event_id.eq(event_id),
                ob::event_type.eq(e.event_type.as_str()),
                ob::case_id.eq(e.case_id),
                ob::body.eq(body),
                ob::created_at.eq(at),
            )
        })
        .collect();
    if rows.is_empty() {
        return Ok(0);
    }
    dispatch!(conn, |c| diesel::insert_into(ob::table)
        .values(rows)
        .execute(c))
}

/// The webhook events of timeline events just written for a case, in order: each
/// event the engine hears of, and for a closing that acted on the money, the
/// decision on each transaction of the case's alerts. Asks nothing more of the
/// database when no event interests a receiver.
pub fn enqueue_case_events(
    conn: &mut DbConn,
    case_id: i64,
    at: NaiveDateTime,
    events: &[CaseEvent],
) -> QueryResult<usize> {
    enqueue_events_of_cases(conn, at, &[(case_id, events)])
}

/// [`enqueue_case_events`] for the events of several cases written together (intake
/// files a batch of alerts at once): the receivers are read once, and the outbox rows
/// written in one statement, each case's in order.
pub fn enqueue_events_of_cases(
    conn: &mut DbConn,
    at: NaiveDateTime,
    cases: &[(i64, &[CaseEvent])],
) -> QueryResult<usize> {
    let told: Vec<(i64, &CaseEvent, EventType, Value)> = cases
        .iter()
        .flat_map(|(case_id, events)| {
            let reference = case_ref(*case_id);
            events.iter().filter_map(move |e| {
                hooks::from_case_event(&reference, e).map(|(t, d)| (*case_id, e, t, d))
            })
        })
        .collect();
    if told.is_empty() {
        return Ok(0);
    }
    let subs = subscribers(conn)?;
    if subs.is_empty() {
        return Ok(0);
    }
    let decisions_wanted = subs
        .iter()
        .any(|(_, s)| hooks::subscribes(s, EventType::TransactionDecided));
    let mut out = Vec::new();
    for (case_id, event, event_type, data) in told {
        let reference = case_ref(case_id);
        out.push(Outgoing {
            event_type,
            case_id,
            data,
        });
        let decision = match event {
            CaseEvent::Resolved(r) if decisions_wanted => r
                .details
                .action
                .as_deref()
                .and_then(|a| a.parse::<Action>().ok())
                .and_then(hooks::decision_of),
            _ => None,
        };
        if let Some(decision) = decision {
            let refs: Vec<Option<String>> = alerts::table
                .filter(alerts::case_id.eq(case_id))
                .filter(alerts::transaction_ref.is_not_null())
                .select(alerts::transaction_ref)
                .distinct()
                .load(conn)?;
            for tx in refs.into_iter().flatten() {
                out.push(Outgoing {
                    event_type: EventType::TransactionDecided,
                    case_id,
                    data: json!({"case": reference, "transaction_ref": tx, "decision": decision}),
                });
            }
        }
    }
    fan_out(conn, &subs, at, &out)
}

/// An event in the outbox, not yet given to its receivers.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = ob)]
pub struct OutboxEvent {
    pub id: i64,
    pub event_id: String,
    pub event_type: String,
    pub case_id: i64,
    pub body: String,
    pub created_at: NaiveDateTime,
}

/// The oldest `limit` events of the outbox, oldest first.
pub fn outbox_head(conn: &mut DbConn, limit: i64) -> QueryResult<Vec<OutboxEvent>> {
    ob::table
        .order(ob::id.asc())
        .limit(limit)
        .select(OutboxEvent::as_select())
        .load(conn)
}

/// Every receiver, with its URL and secret: who the outbox's events go to.
pub fn receivers(conn: &mut DbConn) -> QueryResult<Vec<Webhook>> {
    list(conn)
}

/// Of `case_ids`, those with a delivery to `webhook_id` still waiting: a later event
/// of such a case must wait behind it (order per case). Read through the waiting
/// deliveries' index.
pub fn waiting_cases(
    conn: &mut DbConn,
    webhook_id: i64,
    case_ids: &[i64],
) -> QueryResult<std::collections::HashSet<i64>> {
    if case_ids.is_empty() {
        return Ok(Default::default());
    }
    let found: Vec<i64> = wd::table
        .filter(wd::delivered_at.is_null())
        .filter(wd::webhook_id.eq(webhook_id))
        .filter(wd::case_id.eq_any(case_ids))
        .select(wd::case_id)
        .distinct()
        .load(conn)?;
    Ok(found.into_iter().collect())
}

/// What became of one outbox event for one receiver.
#[derive(Debug, Clone)]
pub enum Fate {
    /// Sent once, as [`Attempt`] says.
    Sent(Attempt),
    /// Not sent: it waits in line (behind an earlier delivery of its case that
    /// failed, or for a receiver that is off or failing) until `at`.
    Held { at: NaiveDateTime },
}

/// Records what the worker did with `events` (taken from the outbox's head): each
/// `(index into events, receiver, fate)` becomes a delivery row — the history, or the
/// line of those to retry — and the events leave the outbox, in the caller's
/// transaction. An event another instance dispatched meanwhile (its row gone) is
/// recorded by that instance only. Returns the deliveries sent.
pub fn record_dispatch(
    conn: &mut DbConn,
    at: NaiveDateTime,
    events: &[OutboxEvent],
    fates: &[(usize, i64, Fate)],
) -> QueryResult<usize> {
    if events.is_empty() {
        return Ok(0);
    }
    let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
    let gone: std::collections::HashSet<i64> = dispatch!(conn, |c| diesel::delete(
        ob::table.filter(ob::id.eq_any(&ids))
    )
    .returning(ob::id)
    .get_results::<i64>(c))?
    .into_iter()
    .collect();
    let mut rows = Vec::new();
    let mut per_receiver: std::collections::BTreeMap<i64, i64> = Default::default();
    for (i, webhook_id, fate) in fates {
        let e = &events[*i];
        if !gone.contains(&e.id) {
            continue;
        }
        let (attempts, next, status, error, delivered) = match fate {
            Fate::Sent(Attempt::Delivered { status }) => {
                *per_receiver.entry(*webhook_id).or_default() += 1;
                (1, None, Some(*status), None, Some(at))
            }
            Fate::Sent(Attempt::Failed {
                status,
                error,
                retry_at,
            }) => (1, Some(*retry_at), *status, Some(error.clone()), None),
            Fate::Held { at: until } => (0, Some(*until), None, None, None),
        };
        rows.push((
            wd::webhook_id.eq(*webhook_id),
            wd::event_id.eq(e.event_id.clone()),
            wd::event_type.eq(e.event_type.clone()),
            wd::case_id.eq(e.case_id),
            wd::body.eq(e.body.clone()),
            wd::created_at.eq(e.created_at),
            wd::attempts.eq(attempts),
            wd::next_attempt_at.eq(next),
            wd::last_status.eq(status),
            wd::last_error.eq(error),
            wd::delivered_at.eq(delivered),
        ));
    }
    for chunk in rows.chunks(INSERT_CHUNK) {
        dispatch!(conn, |c| diesel::insert_into(wd::table)
            .values(chunk)
            .execute(c))?;
    }
    let mut sent = 0;
    for (webhook, n) in per_receiver {
        count_delivered(conn, webhook, n)?;
        sent += n as usize;
    }
    Ok(sent)
}

/// Delivery rows per insert statement (11 values each: within both backends'
/// limits on bound parameters).
const INSERT_CHUNK: usize = 1000;

/// Deliveries taken in one pass of the worker: large, so that a busy desk's
/// deliveries cost few commits beside its intake (two per pass).
pub const BATCH: i64 = 500;

/// Deliveries that are due, free, of an enabled receiver, and first in line for
/// their case and receiver (an earlier one still waiting holds the later back).
pub fn due(conn: &mut DbConn, at: NaiveDateTime) -> QueryResult<Vec<i64>> {
    let earlier = diesel::alias!(wd as earlier);
    wd::table
        .filter(wd::delivered_at.is_null())
        .filter(wd::next_attempt_at.le(at))
        .filter(wd::claimed_until.is_null().or(wd::claimed_until.lt(at)))
        .filter(
            wd::webhook_id.eq_any(
                webhooks::table
                    .filter(webhooks::enabled.eq(true))
                    .select(webhooks::id),
            ),
        )
        .filter(not(exists(
            earlier
                .filter(earlier.field(wd::webhook_id).eq(wd::webhook_id))
                .filter(earlier.field(wd::case_id).eq(wd::case_id))
                .filter(earlier.field(wd::delivered_at).is_null())
                .filter(earlier.field(wd::id).lt(wd::id)),
        )))
        // The order of the waiting deliveries' index, so that it alone is read
        // (never the history): receiver, then the oldest cases first.
        .order((wd::webhook_id.asc(), wd::case_id.asc(), wd::id.asc()))
        .select(wd::id)
        .limit(BATCH)
        .load(conn)
}

/// Takes the deliveries `ids` for `until` under `claim`, except those another
/// instance holds or that were sent meanwhile; returns those taken, each with its
/// receiver's URL and secret, in order.
pub fn claim_all(
    conn: &mut DbConn,
    ids: &[i64],
    claim: &str,
    at: NaiveDateTime,
    until: NaiveDateTime,
) -> QueryResult<Vec<(Delivery, String, String)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    diesel::update(
        wd::table
            .filter(wd::id.eq_any(ids))
            .filter(wd::delivered_at.is_null())
            .filter(wd::claimed_until.is_null().or(wd::claimed_until.lt(at))),
    )
    .set((wd::claimed_until.eq(Some(until)), wd::claim.eq(Some(claim))))
    .execute(conn)?;
    wd::table
        .inner_join(webhooks::table)
        .filter(wd::claim.eq(claim))
        .filter(wd::id.eq_any(ids))
        .order(wd::id.asc())
        .select((Delivery::as_select(), webhooks::url, webhooks::secret))
        .load(conn)
}

/// What one attempt came to.
#[derive(Debug, Clone)]
pub enum Attempt {
    Delivered {
        status: i32,
    },
    Failed {
        status: Option<i32>,
        error: String,
        retry_at: NaiveDateTime,
    },
}

/// Records an attempt on a delivery still held under `claim`.
pub fn record_attempt(
    conn: &mut DbConn,
    id: i64,
    claim: &str,
    attempts: i32,
    at: NaiveDateTime,
    outcome: &Attempt,
) -> QueryResult<usize> {
    let mine = wd::table.find(id).filter(wd::claim.eq(claim));
    match outcome {
        Attempt::Delivered { status } => diesel::update(mine)
            .set((
                wd::attempts.eq(attempts),
                wd::delivered_at.eq(Some(at)),
                wd::next_attempt_at.eq(None::<NaiveDateTime>),
                wd::claimed_until.eq(None::<NaiveDateTime>),
                wd::last_status.eq(Some(*status)),
                wd::last_error.eq(None::<String>),
            ))
            .execute(conn),
        Attempt::Failed {
            status,
            error,
            retry_at,
        } => diesel::update(mine)
            .set((
                wd::attempts.eq(attempts),
                wd::next_attempt_at.eq(Some(*retry_at)),
                wd::claimed_until.eq(None::<NaiveDateTime>),
                wd::last_status.eq(*status),
                wd::last_error.eq(Some(error)),
            ))
            .execute(conn),
    }
}

/// Gives back a delivery held under `claim` without an attempt, to be tried from
/// `at`.
pub fn postpone(conn: &mut DbConn, id: i64, claim: &str, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(wd::table.find(id).filter(wd::claim.eq(claim)))
        .set((
            wd::next_attempt_at.eq(Some(at)),
            wd::claimed_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)
}

/// Adds `n` to the deliveries receiver `webhook_id` has had.
pub fn count_delivered(conn: &mut DbConn, webhook_id: i64, n: i64) -> QueryResult<usize> {
    diesel::update(webhooks::table.find(webhook_id))
        .set(webhooks::delivered.eq(webhooks::delivered + n))
        .execute(conn)
}

/// Puts a delivery back in line to be sent at once (its id unchanged, so a
/// receiver that has it already can drop it); false when there is no such one.
pub fn resend(conn: &mut DbConn, id: i64, at: NaiveDateTime) -> QueryResult<bool> {
    let n = diesel::update(wd::table.find(id))
        .set((
            wd::delivered_at.eq(None::<NaiveDateTime>),
            wd::next_attempt_at.eq(Some(at)),
            wd::claimed_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

pub fn find_delivery(conn: &mut DbConn, id: i64) -> QueryResult<Option<Delivery>> {
    wd::table
        .find(id)
        .select(Delivery::as_select())
        .first(conn)
        .optional()
}

/// The newest deliveries to a receiver (at most `limit`).
pub fn recent(conn: &mut DbConn, webhook_id: i64, limit: i64) -> QueryResult<Vec<Delivery>> {
    wd::table
        .filter(wd::webhook_id.eq(webhook_id))
        .select(Delivery::as_select())
        .order(wd::id.desc())
        .limit(limit)
        .load(conn)
}

/// Per receiver: deliveries waiting (in line, or events in the outbox it
/// subscribes to), and of those the ones that failed at least once.
pub fn waiting(conn: &mut DbConn) -> QueryResult<Vec<(i64, i64, i64)>> {
    let in_line: Vec<(i64, i64)> = wd::table
        .filter(wd::delivered_at.is_null())
        .group_by(wd::webhook_id)
        .select((wd::webhook_id, count_star()))
        .load(conn)?;
    let failing: Vec<(i64, i64)> = wd::table
        .filter(wd::delivered_at.is_null())
        .filter(wd::attempts.gt(0))
        .group_by(wd::webhook_id)
        .select((wd::webhook_id, count_star()))
        .load(conn)?;
    let queued = queued_per_receiver(conn)?;
    Ok(queued
        .into_iter()
        .map(|(id, q)| {
            let n = in_line.iter().find(|(w, _)| *w == id).map_or(0, |w| w.1);
            let f = failing.iter().find(|(w, _)| *w == id).map_or(0, |f| f.1);
            (id, n + q, f)
        })
        .filter(|(_, n, _)| *n > 0)
        .collect())
}

/// Per receiver, the events in the outbox it subscribes to.
fn queued_per_receiver(conn: &mut DbConn) -> QueryResult<Vec<(i64, i64)>> {
    let per_type: Vec<(String, i64)> = ob::table
        .group_by(ob::event_type)
        .select((ob::event_type, count_star()))
        .load(conn)?;
    Ok(subscribers(conn)?
        .into_iter()
        .map(|(id, stored)| {
            let n = per_type
                .iter()
                .filter(|(t, _)| {
                    t.parse::<EventType>()
                        .is_ok_and(|t| hooks::subscribes(&stored, t))
                })
                .map(|(_, n)| n)
                .sum();
            (id, n)
        })
        .collect())
}

/// (waiting, of those failed at least once, delivered) over every receiver, for
/// /metrics.
pub fn counts(conn: &mut DbConn) -> QueryResult<(i64, i64, i64)> {
    let in_line: i64 = wd::table
        .filter(wd::delivered_at.is_null())
        .count()
        .get_result(conn)?;
    let queued: i64 = queued_per_receiver(conn)?.iter().map(|(_, n)| n).sum();
    let retrying = wd::table
        .filter(wd::delivered_at.is_null())
        .filter(wd::attempts.gt(0))
        .count()
        .get_result(conn)?;
    // Counted on the receivers as the worker records deliveries: the history of
    // deliveries is never read for it. (A deleted receiver's count goes with it.)
    let delivered: i64 = webhooks::table
        .select(webhooks::delivered)
        .load::<i64>(conn)?
        .into_iter()
        .sum();
    Ok((in_line + queued, retrying, delivered))
}
