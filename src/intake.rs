// Alert intake: stores each alert exactly once and turns it into a case (or joins the
// customer's open case in the same queue), with routing, SLA clocks and timeline
// events, and group-commits whatever alerts are waiting into one transaction.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::clock::Clock;
use crate::db::fixed::statement;
use crate::db::schema::{alerts, cases, customers};
use crate::db::{DbConn, DbPool, write_tx};
use crate::dispatch;
use crate::domain::alert::NewAlert;
use crate::domain::routing::{self, AlertFacts, Reason};
use crate::domain::severity::Severity;
use crate::domain::{CaseEvent, CaseStatus};
use crate::store::cases::{self as case_store, case_ref, open_key};
use crate::store::deskconfig::{self, Snapshot};
use crate::store::identifiers::IdentifierKey;
use crate::store::{self};

/// What the API answers for an alert (and answers again for a duplicate).
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, utoipa::ToSchema)]
pub struct AlertResult {
    pub alert_id: i64,
    /// The case the alert was filed into; null when a snooze held it back.
    pub case_ref: Option<String>,
    pub deduplicated: bool,
    pub grouped: bool,
    /// The queue the alert went to (or would have gone to, when held back).
    pub queue: String,
    pub priority: String,
    /// The case's status; null when a snooze held the alert back.
    #[schema(value_type = Option<String>)]
    pub status: Option<CaseStatus>,
    pub assignee: Option<String>,
    /// The customer's rule is snoozed: the alert is stored, and no case is opened.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suppressed: bool,
    /// Until when the snooze that held it back lasts (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snoozed_until: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error("database error: {0}")]
    Db(#[from] diesel::result::Error),
    #[error("database pool error: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error("the desk has no queue named '{0}'")]
    NoQueue(String),
    #[error("intake is shutting down")]
    Closed,
}

/// Stores one alert and files it into a case, in the caller's transaction.
pub fn ingest_one(
    conn: &mut DbConn,
    snap: &Snapshot,
    keys: &Keys,
    alert: &NewAlert,
    api_key_id: Option<i64>,
    now: DateTime<Utc>,
) -> Result<AlertResult, IntakeError> {
    ingest(conn, snap, keys, alert, api_key_id, now, None)
}

/// What intake needs beside the desk's configuration: the key of the identifiers'
/// digests, and the settings (the release limits over which an alert gets past a
/// snooze; the links of the e-mails it sends by itself).
#[derive(Clone)]
pub struct Keys {
    pub identifiers: IdentifierKey,
    pub settings: std::sync::Arc<crate::config::Settings>,
}

/// [`ingest_one`] as the writer runs it, with its batch's memo of waiting queues.
fn ingest(
    conn: &mut DbConn,
    snap: &Snapshot,
    keys: &Keys,
    alert: &NewAlert,
    api_key_id: Option<i64>,
    now: DateTime<Utc>,
    memo: Option<&mut crate::cases::assign::WaitMemo>,
) -> Result<AlertResult, IntakeError> {
    if let Some(prev) = stored_result(conn, &alert.external_id)? {
        return Ok(prev);
    }
    let at = store::to_db(now);
    let (customer_id, snoozes) = upsert_customer(conn, alert, at)?;
    let (decision, queue) = route(snap, alert, now)?;

    // The alert row first: its unique external_id makes a racing duplicate stop here.
    let inserted: Option<i64> = dispatch!(conn, |c| diesel::insert_into(alerts::table)
        .values(alert_row(alert, &decision, customer_id, api_key_id, at))
        .on_conflict(alerts::external_id)
        .do_nothing()
        .returning(alerts::id)
        .get_result(c)
        .optional())?;
    let Some(alert_id) = inserted else {
        return stored_result(conn, &alert.external_id)?
            .ok_or_else(|| IntakeError::Db(diesel::result::Error::NotFound));
    };
    let stored = Stored {
        alert_id,
        customer_id,
        snoozes,
        decision: &decision,
        queue,
    };
    file(conn, snap, keys, alert, &stored, now, memo, None)
}

/// The decision of the desk's routes for an alert, and the queue it names.
fn route<'s>(
    snap: &'s Snapshot,
    alert: &NewAlert,
    now: DateTime<Utc>,
) -> Result<(routing::Decision, &'s deskconfig::QueueInfo), IntakeError> {
    let facts = AlertFacts {
        rule: &alert.rule,
        severity: alert.severity,
        amount: alert
            .amount
            .as_ref()
            .map(|a| (a.value, a.currency.as_str())),
    };
    let decision = routing::decide(&facts, &snap.rules, &snap.routes, &snap.triage_queue, now);
    let queue = snap
        .queues_by_name
        .get(&decision.queue)
        .ok_or_else(|| IntakeError::NoQueue(decision.queue.clone()))?;
    Ok((decision, queue))
}

/// The values of an alert's row.
#[allow(clippy::type_complexity)]
fn alert_row<'a>(
    alert: &'a NewAlert,
    decision: &routing::Decision,
    customer_id: i64,
    api_key_id: Option<i64>,
    at: chrono::NaiveDateTime,
) -> (
    diesel::dsl::Eq<alerts::external_id, &'a String>,
    diesel::dsl::Eq<alerts::rule_code, &'a String>,
    diesel::dsl::Eq<alerts::severity, &'static str>,
    diesel::dsl::Eq<alerts::occurred_at, Option<chrono::NaiveDateTime>>,
    diesel::dsl::Eq<alerts::received_at, chrono::NaiveDateTime>,
    diesel::dsl::Eq<alerts::customer_id, i64>,
    diesel::dsl::Eq<alerts::amount, Option<String>>,
    diesel::dsl::Eq<alerts::currency, Option<String>>,
    diesel::dsl::Eq<alerts::transaction_ref, &'a Option<String>>,
    diesel::dsl::Eq<alerts::attributes, String>,
    diesel::dsl::Eq<alerts::api_key_id, Option<i64>>,
) {
    (
        alerts::external_id.eq(&alert.external_id),
        alerts::rule_code.eq(&alert.rule),
        alerts::severity.eq(decision.severity.as_str()),
        alerts::occurred_at.eq(alert.occurred_at.map(store::to_db)),
        alerts::received_at.eq(at),
        alerts::customer_id.eq(customer_id),
        alerts::amount.eq(alert.amount.as_ref().map(|a| a.value.to_string())),
        alerts::currency.eq(alert.amount.as_ref().map(|a| a.currency.clone())),
        alerts::transaction_ref.eq(&alert.transaction_ref),
        alerts::attributes.eq(serde_json::to_string(&alert.attributes).expect("json")),
        alerts::api_key_id.eq(api_key_id),
    )
}

/// An alert whose row is stored: what filing it into a case needs.
struct Stored<'a> {
    alert_id: i64,
    customer_id: i64,
    snoozes: i32,
    decision: &'a routing::Decision,
    queue: &'a deskconfig::QueueInfo,
}

/// Files a stored alert: its identifiers, a snooze that holds it back, the case it
/// opens or joins, routing, SLA clocks, assignment, its timeline events and answer.
/// With `deferred` (a batch filed set-based) the identifiers are already recorded,
/// the open case was read with the batch's, and the events and the answer are
/// written with the batch's — before any step here that writes on its own.
#[allow(clippy::too_many_arguments)]
fn file(
    conn: &mut DbConn,
    snap: &Snapshot,
    keys: &Keys,
    alert: &NewAlert,
    stored: &Stored<'_>,
    now: DateTime<Utc>,
    memo: Option<&mut crate::cases::assign::WaitMemo>,
    mut deferred: Option<&mut Deferred<'_>>,
) -> Result<AlertResult, IntakeError> {
    let at = store::to_db(now);
    let Stored {
        alert_id,
        customer_id,
        snoozes,
        decision,
        queue,
    } = *stored;
    // Device, address and phone link this customer to others (linked cases, campaigns).
    let identifiers = crate::store::identifiers::digests(
        &keys.identifiers,
        &crate::store::identifiers::of_alert(&alert.attributes, alert.customer.phone.as_deref()),
    );
    if !deferred.as_ref().is_some_and(|d| d.identifiers_recorded) {
        crate::store::identifiers::record(conn, customer_id, &identifiers, Some(at))?;
    }

    // A snooze of this rule for this customer holds the alert back (stored, no
    // case) unless it is critical or over the release limit. Only a customer with
    // an active snooze is asked about it.
    let mut overridden = None;
    if snoozes > 0
        && let Some(snooze) = crate::store::snoozes::active_for(conn, customer_id, &alert.rule, at)?
    {
        let amount = alert
            .amount
            .as_ref()
            .map(|a| (a.value, a.currency.as_str()));
        let until = store::from_db(snooze.until);
        match crate::domain::snooze::overridden(
            decision.severity,
            amount,
            &keys.settings.approval_release_thresholds,
        ) {
            Some(why) => {
                overridden = Some(CaseEvent::SnoozeOverridden(
                    crate::domain::events::SnoozeOverridden {
                        snooze: snooze.id,
                        until,
                        why: why.as_str().to_string(),
                    },
                ))
            }
            None => {
                let result = AlertResult {
                    alert_id,
                    case_ref: None,
                    deduplicated: false,
                    grouped: false,
                    queue: queue.name.clone(),
                    priority: decision.priority.as_str().to_string(),
                    status: None,
                    assignee: None,
                    suppressed: true,
                    snoozed_until: Some(until.to_rfc3339()),
                };
                let json = serde_json::to_string(&result).expect("json");
                match deferred {
                    Some(d) => d.answers.push((alert_id, None, Some(snooze.id), json)),
                    None => {
                        diesel::update(alerts::table.find(alert_id))
                            .set((
                                alerts::suppressed_by.eq(Some(snooze.id)),
                                alerts::result.eq(json),
                            ))
                            .execute(conn)?;
                    }
                }
                return Ok(result);
            }
        }
    }

    let key = open_key(customer_id, queue.id);
    // The batch opened this key's case for an earlier alert and has yet to assign it:
    // assigned now, this alert joins it as it is.
    if let Some(d) = deferred.as_mut()
        && d.pending.iter().any(|p| p.key == key)
    {
        d.assign_pending(conn, Some(&key))?;
    }
    // A new case's first events, written together with the alert's.
    let mut opening: Vec<CaseEvent> = Vec::new();
    // The flushes of the batch so far: a step that writes on its own may change the
    // case, which then is not kept for the batch's next alert of its key.
    let flushes = deferred.as_ref().map_or(0, |d| d.flushes);
    // A case the batch opened ahead for this alert (the first of its key).
    let created = deferred.as_mut().and_then(|d| d.created.remove(&key));
    // The batch read its open cases at once, and keeps each for its next alert.
    let found = match deferred.as_mut().and_then(|d| d.open.remove(&key)) {
        Some(read) => read,
        None => case_store::find_open(conn, &key)?,
    };
    let (mut case, grouped) = match (created, found) {
        (Some(dues), Some(case)) => {
            opening = opened_events(alert, queue, decision, dues);
            (case, false)
        }
        (_, Some(case)) => (case, true),
        (_, None) => {
            let weight = snap.rules.get(&alert.rule).map(|r| r.weight).unwrap_or(1);
            let inserted = crate::cases::open::insert(
                conn,
                &crate::cases::open::NewCase {
                    customer_id,
                    queue,
                    priority: decision.priority,
                    rule_code: &alert.rule,
                    open_key: &key,
                    weight,
                    alert_count: 1,
                    unassigned_after: Some(keys.settings.unassigned_alert_after),
                },
                now,
            )?;
            match inserted {
                Some((case, dues)) => {
                    opening = opened_events(alert, queue, decision, dues);
                    (case, false)
                }
                // Another instance opened it a moment ago: join that one.
                None => (
                    case_store::find_open(conn, &key)?.ok_or(diesel::result::Error::NotFound)?,
                    true,
                ),
            }
        }
    };

    // The alert joins the case; a higher severity raises the case's priority.
    let current: Severity = case.priority;
    let mut priority = current;
    if grouped && decision.priority > current {
        priority = decision.priority;
        flush(conn, &mut deferred)?;
        crate::cases::clock::raise_priority(
            conn,
            queue,
            &case,
            priority,
            now,
            crate::cases::clock::Raise::Alert(alert_id),
        )?;
    }
    // A heavier rule's alert makes the case weigh what its heaviest alert weighs.
    let mut heavier = None;
    if grouped {
        let weight = snap.rules.get(&alert.rule).map(|r| r.weight).unwrap_or(1);
        if weight > case.weight {
            heavier = Some(weight);
        }
        match deferred.as_mut() {
            Some(d) => {
                let bump = d.bumps.entry(case.id).or_insert((0, weight));
                bump.0 += 1;
                bump.1 = bump.1.max(weight);
            }
            None => {
                diesel::update(cases::table.find(case.id))
                    .set((
                        cases::alert_count.eq(cases::alert_count + 1),
                        cases::weight.eq(weight.max(case.weight)),
                        cases::updated_at.eq(at),
                    ))
                    .execute(conn)?;
            }
        }
        // As the batch keeps the case for its next alert (a heavier weight is
        // written below, and a case grown is read again).
        case.alert_count += 1;
        case.updated_at = at;
    }
    opening.extend(overridden);
    opening.push(CaseEvent::AlertReceived(
        crate::domain::events::AlertReceived {
            alert_id,
            external_id: alert.external_id.clone(),
            rule: alert.rule.clone(),
            severity: decision.severity,
            grouped,
            amount: alert.amount.as_ref().map(|a| a.value.to_string()),
            currency: alert.amount.as_ref().map(|a| a.currency.clone()),
            weight: heavier,
        },
    ));
    if let Some(weight) = heavier {
        flush(conn, &mut deferred)?;
        crate::cases::assign::grow(conn, snap, &case, weight, now)?;
    }

    // The steps after the assignment that write on their own (and read the case's
    // agent): rare.
    let emergency = snap
        .rules
        .get(&alert.rule)
        .and_then(|r| r.emergency_amount.as_ref())
        .zip(alert.amount.as_ref())
        .is_some_and(|(limit, a)| {
            limit
                .for_currency(Some(&a.currency))
                .is_some_and(|t| a.value > t)
        });
    let verifies = !grouped
        && snap
            .rules
            .get(&alert.rule)
            .is_some_and(|r| r.verify_by_email);
    let campaign = campaign_looks(snap, &alert.rule, &identifiers);
    // A new case goes to an agent at once if one is free; a grouped alert stays
    // with its case and that case's agent. The decision's event joins the others,
    // all written in one statement. In a batch filed set-based, a new case with none
    // of the rare steps is given out at the end of the batch.
    let pending = !grouped && !emergency && !verifies && !campaign && deferred.is_some();
    let (status, assignee) = if grouped {
        (
            case.status,
            case_store::assignee_email(conn, case.assignee_id)?,
        )
    } else if pending {
        (case.status, None)
    } else {
        let note = crate::cases::assign::Note::Into(&mut opening);
        let memo = match deferred.as_mut() {
            Some(d) => Some(&mut *d.memo),
            None => memo,
        };
        match crate::cases::assign::try_assign_memo(conn, snap, &case, now, None, note, memo)? {
            Some((_, email)) => (CaseStatus::Assigned, Some(email)),
            None => (case.status, None),
        }
    };
    let assigned = !grouped && status == CaseStatus::Assigned;
    match deferred.as_mut() {
        Some(d) => d.events.push((case.id, opening)),
        None => case_store::add_events(conn, case.id, at, &opening)?,
    }
    // An amount over the rule's emergency amount: someone on call is paged now.
    if emergency && let Some(a) = &alert.amount {
        flush(conn, &mut deferred)?;
        crate::cases::emergency::declare_in(
            conn,
            crate::cases::emergency::Pager {
                snap,
                base: &keys.settings.public_url,
            },
            now,
            case.id,
            None,
            crate::domain::emergency::Cause::Amount,
            &format!("{} {}", a.value, a.currency),
        )?;
    }
    // A rule that verifies by e-mail by itself: the customer hears at once.
    if verifies {
        flush(conn, &mut deferred)?;
        crate::cases::verify::verify_automatically(conn, &keys.settings, now, case.id)?;
    }
    // Many customers tied by one identifier at once: a campaign.
    if campaign {
        flush(conn, &mut deferred)?;
        crate::cases::campaign::on_alert(conn, snap, &case, &alert.rule, &identifiers, now)?;
    }

    let result = AlertResult {
        alert_id,
        case_ref: Some(case_ref(case.id)),
        deduplicated: false,
        grouped,
        queue: queue.name.clone(),
        priority: priority.as_str().to_string(),
        status: Some(status),
        assignee,
        suppressed: false,
        snoozed_until: None,
    };
    let json = serde_json::to_string(&result).expect("json");
    match deferred {
        Some(d) => {
            let case_id = case.id;
            if pending {
                d.pending.push(Pending {
                    case,
                    key,
                    events: d.events.len() - 1,
                    answer: d.answers.len(),
                    result: result.clone(),
                });
            } else if d.flushes == flushes && !assigned {
                // Unchanged but for what is deferred: the batch's next alert of the
                // key takes it from here rather than reading it again.
                d.open.insert(key, Some(case));
            }
            d.answers.push((alert_id, Some(case_id), None, json));
        }
        None => {
            diesel::update(alerts::table.find(alert_id))
                .set((alerts::case_id.eq(case.id), alerts::result.eq(json)))
                .execute(conn)?;
        }
    }
    Ok(result)
}

/// The first events of a case an alert opened.
fn opened_events(
    alert: &NewAlert,
    queue: &deskconfig::QueueInfo,
    decision: &routing::Decision,
    dues: crate::domain::sla::Dues,
) -> Vec<CaseEvent> {
    use crate::domain::events as ev;
    let (reason, position, time_boxed) = match decision.reason {
        Reason::Route {
            position,
            time_boxed,
        } => (ev::RouteReason::Route, Some(position as i64), time_boxed),
        Reason::UnknownRule => (ev::RouteReason::UnknownRule, None, false),
        Reason::NoRouteMatched => (ev::RouteReason::NoRoute, None, false),
    };
    vec![
        CaseEvent::Opened(ev::Opened {
            rule: alert.rule.clone(),
            queue: queue.name.clone(),
            priority: decision.priority,
        }),
        CaseEvent::RoutingDecided(ev::RoutingDecided {
            reason,
            route: position,
            time_boxed,
            rule: alert.rule.clone(),
            queue: queue.name.clone(),
            priority: decision.priority,
        }),
        CaseEvent::SlaSet(ev::Dues {
            policy: queue.policy.name.clone(),
            calendar: queue.policy.calendar_name.clone().into(),
            first_response_due: dues.first_response,
            resolution_due: dues.resolution,
        }),
    ]
}

/// Whether a campaign of the desk looks at an alert of `rule` with these identifiers.
fn campaign_looks(
    snap: &Snapshot,
    rule: &str,
    ids: &[crate::store::identifiers::Recorded],
) -> bool {
    snap.campaigns
        .iter()
        .any(|d| d.applies_to(rule) && ids.iter().any(|r| d.links_by(r.kind)))
}

/// Before a step that writes on its own: writes what a set-based batch has deferred,
/// if it is one, and forgets the open cases it read (such a step may change cases
/// other than its own; the batch's later alerts read theirs again).
fn flush(conn: &mut DbConn, deferred: &mut Option<&mut Deferred<'_>>) -> QueryResult<()> {
    match deferred {
        Some(d) => {
            d.open.clear();
            d.flush(conn)
        }
        None => Ok(()),
    }
}

/// What a batch filed set-based leaves for later statements: the open cases read for
/// the whole batch, the cases it opened ahead, the new cases' assignments, and the
/// alert counts, timeline events and answers written together at the end (or before
/// any step that writes on its own, so that every timeline keeps its order).
struct Deferred<'a> {
    snap: &'a Snapshot,
    now: DateTime<Utc>,
    at: chrono::NaiveDateTime,
    memo: &'a mut crate::cases::assign::WaitMemo,
    /// The open case of each open key the batch touches, as read before filing (none:
    /// no case was open) and as its alerts left it; forgotten at a flush.
    open: HashMap<String, Option<case_store::Case>>,
    /// Keys whose case the batch opened ahead, with its dues, until the alert that
    /// opens it is filed.
    created: HashMap<String, crate::domain::sla::Dues>,
    /// Alerts joining each case, and the heaviest weight among them.
    bumps: std::collections::BTreeMap<i64, (i32, i32)>,
    /// Flushes so far.
    flushes: u64,
    /// The batch's identifiers were recorded at once (when no campaign looks at them
    /// alert by alert).
    identifiers_recorded: bool,
    /// Timeline events by case, in order.
    events: Vec<(i64, Vec<CaseEvent>)>,
    /// Answers to store: alert, case, snooze that held it back, the answer.
    answers: Vec<(i64, Option<i64>, Option<i64>, String)>,
    /// New cases to give to agents once the batch's other writes are made, so that
    /// an agent's row (locked by the assignment until the batch commits) is held for
    /// the batch's last statements rather than all of them: a resolution waiting to
    /// take a case off that agent waits that much less.
    pending: Vec<Pending>,
    /// The answers of the alerts whose case a pending assignment gave out, by alert:
    /// they replace the batch's answers.
    assigned: HashMap<i64, AlertResult>,
}

/// A new case whose assignment waits for the end of its batch, with where its
/// opening events and its alert's answer are kept until written.
struct Pending {
    case: case_store::Case,
    key: String,
    events: usize,
    answer: usize,
    result: AlertResult,
}

impl Deferred<'_> {
    /// Gives the pending new cases (of one key, or all) to agents, adding each
    /// decision to its case's opening events and to its alert's answer.
    fn assign_pending(&mut self, conn: &mut DbConn, only: Option<&str>) -> QueryResult<()> {
        let mut i = 0;
        while i < self.pending.len() {
            if only.is_some_and(|k| k != self.pending[i].key) {
                i += 1;
                continue;
            }
            let mut p = self.pending.remove(i);
            let note = crate::cases::assign::Note::Into(&mut self.events[p.events].1);
            let took = crate::cases::assign::try_assign_memo(
                conn,
                self.snap,
                &p.case,
                self.now,
                None,
                note,
                Some(&mut *self.memo),
            )?;
            if let Some((_, email)) = took {
                p.result.status = Some(CaseStatus::Assigned);
                p.result.assignee = Some(email);
                self.answers[p.answer].3 = serde_json::to_string(&p.result).expect("json");
                self.assigned.insert(p.result.alert_id, p.result);
            }
        }
        Ok(())
    }

    fn flush(&mut self, conn: &mut DbConn) -> QueryResult<()> {
        self.assign_pending(conn, None)?;
        self.flushes += 1;
        if !self.bumps.is_empty() {
            bump_cases(conn, self.at, &self.bumps)?;
            self.bumps.clear();
        }
        if !self.events.is_empty() {
            let cases: Vec<(i64, &[CaseEvent])> = self
                .events
                .iter()
                .map(|(case, events)| (*case, events.as_slice()))
                .collect();
            case_store::add_events_of_cases(conn, self.at, &cases)?;
            self.events.clear();
        }
        if !self.answers.is_empty() {
            store_answers(conn, &self.answers)?;
            self.answers.clear();
        }
        Ok(())
    }
}

/// Counts the alerts that joined cases, and raises their weight to the heaviest's.
fn bump_cases(
    conn: &mut DbConn,
    at: chrono::NaiveDateTime,
    bumps: &std::collections::BTreeMap<i64, (i32, i32)>,
) -> QueryResult<()> {
    match conn {
        DbConn::Postgresql(pg) => {
            use diesel::sql_types::{Array, BigInt, Integer, Timestamp};
            statement(
                "UPDATE cases AS c SET alert_count = c.alert_count + u.n, \
                 weight = GREATEST(c.weight, u.w), updated_at = ? \
                 FROM UNNEST(?::bigint[], ?::int[], ?::int[]) AS u(id, n, w) \
                 WHERE c.id = u.id",
            )
            .bind::<Timestamp, _>(at)
            .bind::<Array<BigInt>, _>(bumps.keys().copied().collect::<Vec<_>>())
            .bind::<Array<Integer>, _>(bumps.values().map(|b| b.0).collect::<Vec<_>>())
            .bind::<Array<Integer>, _>(bumps.values().map(|b| b.1).collect::<Vec<_>>())
            .execute(pg)?;
        }
        DbConn::Sqlite(lite) => {
            use diesel::sql_types::{BigInt, Integer, Timestamp};
            for (id, (n, w)) in bumps {
                diesel::sql_query(
                    "UPDATE cases SET alert_count = alert_count + ?, weight = max(weight, ?), \
                     updated_at = ? WHERE id = ?",
                )
                .bind::<Integer, _>(*n)
                .bind::<Integer, _>(*w)
                .bind::<Timestamp, _>(at)
                .bind::<BigInt, _>(*id)
                .execute(lite)?;
            }
        }
    }
    Ok(())
}

/// Stores the alerts' answers (and their case or the snooze that held them back).
fn store_answers(
    conn: &mut DbConn,
    answers: &[(i64, Option<i64>, Option<i64>, String)],
) -> QueryResult<()> {
    match conn {
        DbConn::Postgresql(pg) => {
            use diesel::sql_types::{Array, BigInt, Nullable, Text};
            let mut sorted: Vec<&(i64, Option<i64>, Option<i64>, String)> =
                answers.iter().collect();
            sorted.sort_by_key(|a| a.0);
            statement(
                "UPDATE alerts AS a SET case_id = u.case_id, suppressed_by = u.suppressed_by, \
                 result = u.result \
                 FROM UNNEST(?::bigint[], ?::bigint[], ?::bigint[], ?::text[]) \
                 AS u(id, case_id, suppressed_by, result) WHERE a.id = u.id",
            )
            .bind::<Array<BigInt>, _>(sorted.iter().map(|a| a.0).collect::<Vec<_>>())
            .bind::<Array<Nullable<BigInt>>, _>(sorted.iter().map(|a| a.1).collect::<Vec<_>>())
            .bind::<Array<Nullable<BigInt>>, _>(sorted.iter().map(|a| a.2).collect::<Vec<_>>())
            .bind::<Array<Text>, _>(sorted.iter().map(|a| a.3.as_str()).collect::<Vec<_>>())
            .execute(pg)?;
        }
        DbConn::Sqlite(_) => {
            for (id, case_id, suppressed_by, result) in answers {
                diesel::update(alerts::table.find(*id))
                    .set((
                        alerts::case_id.eq(*case_id),
                        alerts::suppressed_by.eq(*suppressed_by),
                        alerts::result.eq(result),
                    ))
                    .execute(conn)?;
            }
        }
    }
    Ok(())
}

/// One alert of a batch with the key it came with.
type Posted<'a> = (&'a NewAlert, Option<i64>);

/// Files a batch set-based (PostgreSQL): a statement for all the batch's stored
/// answers, one each for the customers' rows, the alerts' rows, their identifiers and
/// the open cases, then each alert's own steps (a new case, assignment, and the rare
/// ones), then one statement for every timeline event and one for every answer.
/// Rows are written and locked in one order (customers by external id first), so that
/// writers and instances filing the same customers wait for each other rather than
/// deadlock. Any failure fails the whole attempt; the caller runs it again.
fn file_batch(
    conn: &mut DbConn,
    snap: &Snapshot,
    keys: &Keys,
    posted: &[Posted<'_>],
    now: DateTime<Utc>,
    memo: &mut crate::cases::assign::WaitMemo,
) -> Result<Vec<AlertResult>, IntakeError> {
    let at = store::to_db(now);
    let mut answers: Vec<Option<AlertResult>> = vec![None; posted.len()];
    // Alerts stored before: answered as they were.
    let external: Vec<&str> = posted.iter().map(|(a, _)| a.external_id.as_str()).collect();
    let before: HashMap<String, Option<String>> = alerts::table
        .filter(alerts::external_id.eq_any(&external))
        .select((alerts::external_id, alerts::result))
        .load::<(String, Option<String>)>(conn)?
        .into_iter()
        .collect();
    // The first of the batch with an external id is filed; a later one is its duplicate.
    let mut first: HashMap<&str, usize> = HashMap::new();
    let mut copies: Vec<(usize, usize)> = Vec::new();
    let mut fresh: Vec<usize> = Vec::new();
    for (i, (alert, _)) in posted.iter().enumerate() {
        if let Some(prev) = before
            .get(&alert.external_id)
            .cloned()
            .flatten()
            .and_then(|s| duplicate_of(&s))
        {
            answers[i] = Some(prev);
            continue;
        }
        match first.entry(alert.external_id.as_str()) {
            std::collections::hash_map::Entry::Occupied(e) => copies.push((i, *e.get())),
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(i);
                fresh.push(i);
            }
        }
    }
    let customers = upsert_customers(conn, fresh.iter().map(|&i| posted[i].0), at)?;
    let mut routed = HashMap::with_capacity(fresh.len());
    for &i in &fresh {
        routed.insert(i, route(snap, posted[i].0, now)?);
    }
    // The alerts' rows, in the order of their external ids.
    let mut order = fresh.clone();
    order.sort_by(|&a, &b| posted[a].0.external_id.cmp(&posted[b].0.external_id));
    let rows: Vec<_> = order
        .iter()
        .map(|&i| {
            let (alert, key) = posted[i];
            alert_row(
                alert,
                &routed[&i].0,
                customers[alert.customer.external_id.as_str()].0,
                key,
                at,
            )
        })
        .collect();
    let ids: HashMap<String, i64> = if rows.is_empty() {
        HashMap::new()
    } else {
        dispatch!(conn, |c| diesel::insert_into(alerts::table)
            .values(&rows)
            .on_conflict(alerts::external_id)
            .do_nothing()
            .returning((alerts::external_id, alerts::id))
            .get_results::<(String, i64)>(c))?
        .into_iter()
        .collect()
    };
    // Their identifiers at once, unless a campaign looks at them alert by alert (an
    // alert's detection must not see the identifiers of the alerts after it).
    let digests: Vec<(i64, &str, Vec<crate::store::identifiers::Recorded>)> = fresh
        .iter()
        .filter(|&&i| ids.contains_key(&posted[i].0.external_id))
        .map(|&i| {
            let alert = posted[i].0;
            (
                customers[alert.customer.external_id.as_str()].0,
                alert.rule.as_str(),
                crate::store::identifiers::digests(
                    &keys.identifiers,
                    &crate::store::identifiers::of_alert(
                        &alert.attributes,
                        alert.customer.phone.as_deref(),
                    ),
                ),
            )
        })
        .collect();
    let identifiers_recorded = !digests
        .iter()
        .any(|(_, rule, ds)| campaign_looks(snap, rule, ds));
    if identifiers_recorded {
        let all: Vec<(i64, &crate::store::identifiers::Recorded)> = digests
            .iter()
            .flat_map(|(customer, _, ds)| ds.iter().map(move |d| (*customer, d)))
            .collect();
        crate::store::identifiers::record_many(conn, &all, at)?;
    }
    // The open cases of the customers and queues the batch files into.
    let open_keys: Vec<String> = fresh
        .iter()
        .map(|&i| {
            open_key(
                customers[posted[i].0.customer.external_id.as_str()].0,
                routed[&i].1.id,
            )
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut open: HashMap<String, Option<case_store::Case>> =
        open_keys.iter().map(|k| (k.clone(), None)).collect();
    if !open_keys.is_empty() {
        let found: Vec<case_store::Case> = cases::table
            .filter(cases::open_key.eq_any(&open_keys))
            .select(case_store::Case::as_select())
            .load(conn)?;
        for case in found {
            if let Some(k) = case.open_key.clone() {
                open.insert(k, Some(case));
            }
        }
    }
    // The cases the batch opens, one per key with none open, inserted together for
    // the first alert of each key. Not where a campaign looks at the batch (its
    // steps run alert by alert) nor for a customer with a snooze (it may hold the
    // alert back): those alerts open their cases as they are filed.
    let mut created = HashMap::new();
    if identifiers_recorded {
        let mut opening: Vec<(String, usize)> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for &i in &fresh {
            let alert = posted[i].0;
            let (customer_id, snoozes) = customers[alert.customer.external_id.as_str()];
            if snoozes > 0 || !ids.contains_key(&alert.external_id) {
                continue;
            }
            let key = open_key(customer_id, routed[&i].1.id);
            if matches!(open.get(&key), Some(None)) && seen.insert(key.clone()) {
                opening.push((key, i));
            }
        }
        let new: Vec<crate::cases::open::NewCase<'_>> = opening
            .iter()
            .map(|(key, i)| {
                let alert = posted[*i].0;
                let (decision, queue) = &routed[i];
                crate::cases::open::NewCase {
                    customer_id: customers[alert.customer.external_id.as_str()].0,
                    queue,
                    priority: decision.priority,
                    rule_code: &alert.rule,
                    open_key: key,
                    weight: snap.rules.get(&alert.rule).map(|r| r.weight).unwrap_or(1),
                    alert_count: 1,
                    unassigned_after: Some(keys.settings.unassigned_alert_after),
                }
            })
            .collect();
        let made = crate::cases::open::insert_many(conn, &new, now)?;
        // A key another instance opened meanwhile: its alert reads and joins that case.
        for ((key, _), made) in opening.into_iter().zip(made) {
            if let Some((case, dues)) = made {
                open.insert(key.clone(), Some(case));
                created.insert(key, dues);
            } else {
                open.remove(&key);
            }
        }
    }
    let mut deferred = Deferred {
        snap,
        now,
        at,
        memo,
        open,
        created,
        bumps: Default::default(),
        flushes: 0,
        identifiers_recorded,
        events: Vec::new(),
        answers: Vec::new(),
        pending: Vec::new(),
        assigned: HashMap::new(),
    };
    for &i in &fresh {
        let (alert, _) = posted[i];
        let answer = match ids.get(&alert.external_id) {
            Some(&alert_id) => {
                let (customer_id, snoozes) = customers[alert.customer.external_id.as_str()];
                let (decision, queue) = &routed[&i];
                let stored = Stored {
                    alert_id,
                    customer_id,
                    snoozes,
                    decision,
                    queue,
                };
                file(
                    conn,
                    snap,
                    keys,
                    alert,
                    &stored,
                    now,
                    None,
                    Some(&mut deferred),
                )?
            }
            // Stored a moment ago by another writer: its answer.
            None => stored_result(conn, &alert.external_id)?
                .ok_or(IntakeError::Db(diesel::result::Error::NotFound))?,
        };
        answers[i] = Some(answer);
    }
    deferred.flush(conn)?;
    // The new cases given out at the end: their answers say to whom.
    for answer in answers.iter_mut().flatten() {
        if let Some(given) = deferred.assigned.remove(&answer.alert_id) {
            *answer = given;
        }
    }
    for (later, earlier) in copies {
        let mut answer = answers[earlier].clone().expect("filed");
        answer.deduplicated = true;
        answers[later] = Some(answer);
    }
    Ok(answers
        .into_iter()
        .map(|a| a.expect("every alert answered"))
        .collect())
}

/// A stored answer, marked as a duplicate.
fn duplicate_of(stored: &str) -> Option<AlertResult> {
    serde_json::from_str::<AlertResult>(stored)
        .ok()
        .map(|mut r| {
            r.deduplicated = true;
            r
        })
}

/// What an alert tells of its customer beside the external id.
fn tells(alert: &NewAlert) -> bool {
    let c = &alert.customer;
    c.name.is_some()
        || c.email.is_some()
        || c.phone.is_some()
        || c.locale.is_some()
        || c.timezone.is_some()
        || c.do_not_contact.is_some()
        || !alert.attributes.is_empty()
}

/// [`upsert_customer`] for the alerts of a batch: creates the missing customers (with
/// what their first alert says), locks every one in the order of their external ids,
/// and refreshes them with what each alert tells, in the alerts' order. Returns each
/// customer's id and active snoozes by external id.
fn upsert_customers<'a>(
    conn: &mut DbConn,
    alerts: impl Iterator<Item = &'a NewAlert>,
    at: chrono::NaiveDateTime,
) -> QueryResult<HashMap<&'a str, (i64, i32)>> {
    let mut by_customer: std::collections::BTreeMap<&'a str, Vec<&'a NewAlert>> =
        Default::default();
    for alert in alerts {
        by_customer
            .entry(alert.customer.external_id.as_str())
            .or_default()
            .push(alert);
    }
    if by_customer.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<_> = by_customer
        .values()
        .map(|list| {
            let alert = list[0];
            let c = &alert.customer;
            (
                customers::external_id.eq(&c.external_id),
                customers::name.eq(&c.name),
                customers::email.eq(&c.email),
                customers::phone.eq(&c.phone),
                customers::locale.eq(&c.locale),
                customers::timezone.eq(&c.timezone),
                customers::do_not_contact.eq(c.do_not_contact.unwrap_or(false)),
                customers::attributes.eq(serde_json::to_string(&alert.attributes).expect("json")),
                customers::created_at.eq(at),
                customers::updated_at.eq(at),
            )
        })
        .collect();
    let created: std::collections::HashSet<String> =
        dispatch!(conn, |c| diesel::insert_into(customers::table)
            .values(&rows)
            .on_conflict(customers::external_id)
            .do_nothing()
            .returning(customers::external_id)
            .get_results::<String>(c))?
        .into_iter()
        .collect();
    type Current = (
        i64,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        bool,
        String,
        i32,
    );
    let wanted: Vec<&str> = by_customer.keys().copied().collect();
    let query = customers::table
        .filter(customers::external_id.eq_any(&wanted))
        .order(customers::external_id)
        .select((
            customers::id,
            customers::external_id,
            customers::name,
            customers::email,
            customers::phone,
            customers::locale,
            customers::timezone,
            customers::do_not_contact,
            customers::attributes,
            customers::active_snoozes,
        ));
    let current: Vec<Current> = match conn {
        DbConn::Postgresql(c) => query.for_no_key_update().load(c)?,
        DbConn::Sqlite(c) => query.load(c)?,
    };
    let mut found = HashMap::with_capacity(current.len());
    let mut changed: Vec<Current> = Vec::new();
    for mut row in current {
        let Some((&external_id, list)) = by_customer.get_key_value(row.1.as_str()) else {
            continue;
        };
        let new = created.contains(external_id);
        found.insert(external_id, (row.0, if new { 0 } else { row.9 }));
        // The first alert of a customer created here wrote its row.
        let mut touched = false;
        for alert in list.iter().skip(usize::from(new)) {
            if !tells(alert) {
                continue;
            }
            let c = &alert.customer;
            let mut merged: std::collections::BTreeMap<String, String> =
                serde_json::from_str(&row.8).unwrap_or_default();
            merged.extend(alert.attributes.clone());
            row.2 = c.name.clone().or(row.2);
            row.3 = c.email.clone().or(row.3);
            row.4 = c.phone.clone().or(row.4);
            row.5 = c.locale.clone().or(row.5);
            row.6 = c.timezone.clone().or(row.6);
            row.7 = c.do_not_contact.unwrap_or(row.7);
            row.8 = serde_json::to_string(&merged).expect("json");
            touched = true;
        }
        if touched {
            changed.push(row);
        }
    }
    if found.len() != by_customer.len() {
        return Err(diesel::result::Error::NotFound);
    }
    if changed.is_empty() {
        return Ok(found);
    }
    match conn {
        DbConn::Postgresql(pg) => {
            use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text, Timestamp};
            let texts = |f: fn(&Current) -> &Option<String>| -> Vec<Option<&str>> {
                changed.iter().map(|r| f(r).as_deref()).collect()
            };
            statement(
                "UPDATE customers AS c SET name = u.name, email = u.email, phone = u.phone, \
                 locale = u.locale, timezone = u.timezone, do_not_contact = u.do_not_contact, \
                 attributes = u.attributes, updated_at = ? \
                 FROM UNNEST(?::bigint[], ?::text[], ?::text[], ?::text[], ?::text[], \
                 ?::text[], ?::bool[], ?::text[]) \
                 AS u(id, name, email, phone, locale, timezone, do_not_contact, attributes) \
                 WHERE c.id = u.id",
            )
            .bind::<Timestamp, _>(at)
            .bind::<Array<BigInt>, _>(changed.iter().map(|r| r.0).collect::<Vec<_>>())
            .bind::<Array<Nullable<Text>>, _>(texts(|r| &r.2))
            .bind::<Array<Nullable<Text>>, _>(texts(|r| &r.3))
            .bind::<Array<Nullable<Text>>, _>(texts(|r| &r.4))
            .bind::<Array<Nullable<Text>>, _>(texts(|r| &r.5))
            .bind::<Array<Nullable<Text>>, _>(texts(|r| &r.6))
            .bind::<Array<Bool>, _>(changed.iter().map(|r| r.7).collect::<Vec<_>>())
            .bind::<Array<Text>, _>(changed.iter().map(|r| r.8.as_str()).collect::<Vec<_>>())
            .execute(pg)?;
        }
        DbConn::Sqlite(_) => {
            for r in &changed {
                diesel::update(customers::table.find(r.0))
                    .set((
                        customers::name.eq(&r.2),
                        customers::email.eq(&r.3),
                        customers::phone.eq(&r.4),
                        customers::locale.eq(&r.5),
                        customers::timezone.eq(&r.6),
                        customers::do_not_contact.eq(r.7),
                        customers::attributes.eq(&r.8),
                        customers::updated_at.eq(at),
                    ))
                    .execute(conn)?;
            }
        }
    }
    Ok(found)
}

/// The first answer given for `external_id`, marked as a duplicate.
fn stored_result(conn: &mut DbConn, external_id: &str) -> QueryResult<Option<AlertResult>> {
    let stored: Option<Option<String>> = alerts::table
        .filter(alerts::external_id.eq(external_id))
        .select(alerts::result)
        .first(conn)
        .optional()?;
    Ok(stored.flatten().and_then(|s| {
        serde_json::from_str::<AlertResult>(&s).ok().map(|mut r| {
            r.deduplicated = true;
            r
        })
    }))
}

/// Creates the customer or refreshes what the alert says of them.
fn upsert_customer(
    conn: &mut DbConn,
    alert: &NewAlert,
    at: chrono::NaiveDateTime,
) -> QueryResult<(i64, i32)> {
    let c = &alert.customer;
    let attrs = serde_json::to_string(&alert.attributes).expect("json");
    let existing: Option<(i64, i32)> = customers::table
        .filter(customers::external_id.eq(&c.external_id))
        .select((customers::id, customers::active_snoozes))
        .first(conn)
        .optional()?;
    let (id, snoozes) = match existing {
        Some(found) => found,
        None => {
            let inserted: Option<i64> =
                dispatch!(conn, |cn| diesel::insert_into(customers::table)
                    .values((
                        customers::external_id.eq(&c.external_id),
                        customers::name.eq(&c.name),
                        customers::email.eq(&c.email),
                        customers::phone.eq(&c.phone),
                        customers::locale.eq(&c.locale),
                        customers::timezone.eq(&c.timezone),
                        customers::do_not_contact.eq(c.do_not_contact.unwrap_or(false)),
                        customers::attributes.eq(&attrs),
                        customers::created_at.eq(at),
                        customers::updated_at.eq(at),
                    ))
                    .on_conflict(customers::external_id)
                    .do_nothing()
                    .returning(customers::id)
                    .get_result(cn)
                    .optional())?;
            match inserted {
                Some(id) => return Ok((id, 0)),
                None => customers::table
                    .filter(customers::external_id.eq(&c.external_id))
                    .select((customers::id, customers::active_snoozes))
                    .first(conn)?,
            }
        }
    };
    // Refresh only what this alert tells; attributes are merged, the newest winning.
    if c.name.is_some()
        || c.email.is_some()
        || c.phone.is_some()
        || c.locale.is_some()
        || c.timezone.is_some()
        || c.do_not_contact.is_some()
        || !alert.attributes.is_empty()
    {
        let current = case_store::customer(conn, id)?;
        let mut merged: std::collections::BTreeMap<String, String> =
            serde_json::from_str(&current.attributes).unwrap_or_default();
        merged.extend(alert.attributes.clone());
        diesel::update(customers::table.find(id))
            .set((
                customers::name.eq(c.name.clone().or(current.name)),
                customers::email.eq(c.email.clone().or(current.email)),
                customers::phone.eq(c.phone.clone().or(current.phone)),
                customers::locale.eq(c.locale.clone().or(current.locale)),
                customers::timezone.eq(c.timezone.clone().or(current.timezone)),
                customers::do_not_contact.eq(c.do_not_contact.unwrap_or(current.do_not_contact)),
                customers::attributes.eq(serde_json::to_string(&merged).expect("json")),
                customers::updated_at.eq(at),
            ))
            .execute(conn)?;
    }
    Ok((id, snoozes))
}

/// One request's alerts, waiting for the writer.
struct Job {
    alerts: Vec<NewAlert>,
    api_key_id: Option<i64>,
    reply: tokio::sync::oneshot::Sender<Vec<Result<AlertResult, String>>>,
}

/// The intake writer: one thread per instance that commits the alerts waiting at
/// that moment together (group commit), then answers each request.
#[derive(Clone)]
pub struct Intake {
    tx: mpsc::SyncSender<Job>,
}

/// Alerts per transaction at most.
const MAX_BATCH: usize = 512;

impl Intake {
    /// Starts the writers: one on SQLite (it has one writer anyway), several on
    /// PostgreSQL, whose row locks and unique constraints keep them apart.
    pub fn start(pool: DbPool, clock: Clock, key: Keys, writers: usize) -> Intake {
        let (tx, rx) = mpsc::sync_channel::<Job>(4096);
        let rx = Arc::new(Mutex::new(rx));
        for n in 0..writers.max(1) {
            let (pool, clock, key, rx) = (pool.clone(), clock.clone(), key.clone(), rx.clone());
            thread::Builder::new()
                .name(format!("intake-writer-{n}"))
                .spawn(move || writer(pool, clock, key, rx))
                .expect("start the intake writer");
        }
        Intake { tx }
    }

    /// Files the alerts and waits until they are committed; one result each, in order.
    pub async fn submit(
        &self,
        alerts: Vec<NewAlert>,
        api_key_id: Option<i64>,
    ) -> Result<Vec<Result<AlertResult, String>>, IntakeError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let tx = self.tx.clone();
        let job = Job {
            alerts,
            api_key_id,
            reply,
        };
        actix_web::web::block(move || tx.send(job))
            .await
            .map_err(|_| IntakeError::Closed)?
            .map_err(|_| IntakeError::Closed)?;
        answer.await.map_err(|_| IntakeError::Closed)
    }
}

fn writer(pool: DbPool, clock: Clock, key: Keys, rx: Arc<Mutex<mpsc::Receiver<Job>>>) {
    let mut snap: Option<Snapshot> = None;
    // The writer keeps its connection from batch to batch (no check-out and ping per
    // batch); after a failed batch it takes a fresh one.
    let mut held: Option<crate::db::PooledConn> = None;
    loop {
        // Take whatever is waiting: the first job (waiting for it), then the rest.
        let (jobs, count) = {
            let rx = rx.lock().expect("intake queue");
            let Ok(first) = rx.recv() else { return };
            let mut count = first.alerts.len();
            let mut jobs = vec![first];
            while count < MAX_BATCH {
                match rx.try_recv() {
                    Ok(j) => {
                        count += j.alerts.len();
                        jobs.push(j);
                    }
                    Err(_) => break,
                }
            }
            (jobs, count)
        };
        let conn = held.get_or_insert_with(|| {
            loop {
                match pool.get() {
                    Ok(c) => break c,
                    Err(e) => {
                        tracing::warn!(error = %e, "intake waits for a database connection");
                        thread::sleep(Duration::from_millis(200));
                    }
                }
            }
        });
        let answers = match run_batch(conn, &clock, &key, &mut snap, &jobs) {
            Ok(a) => a,
            Err(e) => {
                tracing::error!(error = %e, alerts = count, "intake batch failed");
                snap = None;
                held = None;
                jobs.iter()
                    .map(|j| j.alerts.iter().map(|_| Err(e.to_string())).collect())
                    .collect()
            }
        };
        for (job, answer) in jobs.into_iter().zip(answers) {
            let _ = job.reply.send(answer);
        }
    }
}

type BatchAnswers = Vec<Vec<Result<AlertResult, String>>>;

fn run_batch(
    conn: &mut crate::db::PooledConn,
    clock: &Clock,
    key: &Keys,
    snap: &mut Option<Snapshot>,
    jobs: &[Job],
) -> Result<BatchAnswers, IntakeError> {
    let conn: &mut DbConn = conn;
    let version = deskconfig::config_version(conn)?;
    if snap.as_ref().is_none_or(|s| s.version != version) {
        *snap = Some(deskconfig::snapshot(conn)?);
    }
    let snap = snap.as_ref().expect("loaded");
    let posted: Vec<Posted<'_>> = jobs
        .iter()
        .flat_map(|job| job.alerts.iter().map(move |a| (a, job.api_key_id)))
        .collect();
    let regroup = |mut flat: Vec<Result<AlertResult, String>>| -> BatchAnswers {
        let mut answers = Vec::with_capacity(jobs.len());
        for job in jobs {
            let rest = flat.split_off(job.alerts.len());
            answers.push(std::mem::replace(&mut flat, rest));
        }
        answers
    };
    // First the whole batch at once, without a savepoint per alert (they cost two
    // statements each and are almost never needed): on SQLite alert by alert (one
    // writer; its statements cost little), on PostgreSQL set-based (see
    // [`file_batch`]). A deadlock or serialization failure (PostgreSQL, several
    // writers or instances) rolls the attempt back whole, releasing every lock, and
    // runs it again. Any other failure sends the batch to the careful way below.
    let mut attempt = 0;
    loop {
        attempt += 1;
        let fast = write_tx(conn, |conn| {
            // Read once the write lock is held: the time the alerts are accepted.
            let now = clock.now();
            let mut memo = crate::cases::assign::WaitMemo::new();
            match conn {
                DbConn::Postgresql(_) => file_batch(conn, snap, key, &posted, now, &mut memo),
                DbConn::Sqlite(_) => posted
                    .iter()
                    .map(|(alert, api_key)| {
                        ingest(conn, snap, key, alert, *api_key, now, Some(&mut memo))
                    })
                    .collect(),
            }
        });
        match fast {
            Ok(answers) => return Ok(regroup(answers.into_iter().map(Ok).collect())),
            Err(IntakeError::Db(e)) if crate::db::is_retryable(&e) && attempt < ATTEMPTS => {
                tracing::debug!(error = %e, attempt, "intake batch run again");
                back_off(attempt);
            }
            Err(e) => {
                tracing::debug!(error = %e, "intake batch retried alert by alert");
                break;
            }
        }
    }
    // The careful way: a savepoint per alert, so that one failing alert fails alone.
    // A deadlock still runs the whole batch again: rolled back to a savepoint, the
    // alert would keep the transaction's other locks and meet the same deadlock.
    let mut attempt = 0;
    loop {
        attempt += 1;
        let careful = write_tx(conn, |conn| {
            let now = clock.now();
            let mut memo = crate::cases::assign::WaitMemo::new();
            let mut results = Vec::with_capacity(posted.len());
            for (alert, api_key) in &posted {
                let r = conn
                    .transaction(|c| ingest(c, snap, key, alert, *api_key, now, Some(&mut memo)));
                match r {
                    Ok(answer) => results.push(Ok(answer)),
                    Err(IntakeError::Db(e)) if crate::db::is_retryable(&e) => {
                        return Err(IntakeError::Db(e));
                    }
                    Err(e) => {
                        // The savepoint's writes are undone: so is what the memo
                        // learnt from them (loads it raised, queues it saw waiting).
                        memo = crate::cases::assign::WaitMemo::new();
                        tracing::error!(error = %e, external_id = %alert.external_id, "alert not stored");
                        results.push(Err(e.to_string()));
                    }
                }
            }
            Ok::<_, IntakeError>(results)
        });
        match careful {
            Err(IntakeError::Db(e)) if crate::db::is_retryable(&e) && attempt < ATTEMPTS => {
                tracing::debug!(error = %e, attempt, "intake batch run again");
                back_off(attempt);
            }
            other => return other.map(regroup),
        }
    }
}

/// Attempts of a batch that deadlocks before it fails.
const ATTEMPTS: u32 = 30;

/// A short pause before a batch runs again, longer after each attempt and never the
/// same for two writers (so that they do not meet again at once).
fn back_off(attempt: u32) {
    let spread = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0)
        % 1000;
    let micros = u64::from(attempt.min(10)) * 1000 + u64::from(spread) * u64::from(attempt.min(10));
    thread::sleep(Duration::from_micros(micros));
}
