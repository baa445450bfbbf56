// Alert intake: stores each alert exactly once and turns it into a case (or joins the
// customer's open case in the same queue), with routing, SLA clocks and timeline
// events, and group-commits whatever alerts are waiting into one transaction.

use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::clock::Clock;
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

    // The alert row first: its unique external_id makes a racing duplicate stop here.
    let attributes = serde_json::to_string(&alert.attributes).expect("json");
    let amount = alert.amount.as_ref().map(|a| a.value.to_string());
    let currency = alert.amount.as_ref().map(|a| a.currency.clone());
    let inserted: Option<i64> = dispatch!(conn, |c| diesel::insert_into(alerts::table)
        .values((
            alerts::external_id.eq(&alert.external_id),
            alerts::rule_code.eq(&alert.rule),
            alerts::severity.eq(decision.severity.as_str()),
            alerts::occurred_at.eq(alert.occurred_at.map(store::to_db)),
            alerts::received_at.eq(at),
            alerts::customer_id.eq(customer_id),
            alerts::amount.eq(&amount),
            alerts::currency.eq(&currency),
            alerts::transaction_ref.eq(&alert.transaction_ref),
            alerts::attributes.eq(&attributes),
            alerts::api_key_id.eq(api_key_id),
        ))
        .on_conflict(alerts::external_id)
        .do_nothing()
        .returning(alerts::id)
        .get_result(c)
        .optional())?;
    let Some(alert_id) = inserted else {
        return stored_result(conn, &alert.external_id)?
            .ok_or_else(|| IntakeError::Db(diesel::result::Error::NotFound));
    };
    // Device, address and phone link this customer to others (linked cases, campaigns).
    let identifiers = crate::store::identifiers::digests(
        &keys.identifiers,
        &crate::store::identifiers::of_alert(&alert.attributes, alert.customer.phone.as_deref()),
    );
    crate::store::identifiers::record(conn, customer_id, &identifiers, Some(at))?;

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
                diesel::update(alerts::table.find(alert_id))
                    .set((
                        alerts::suppressed_by.eq(Some(snooze.id)),
                        alerts::result.eq(serde_json::to_string(&result).expect("json")),
                    ))
                    .execute(conn)?;
                return Ok(result);
            }
        }
    }

    let key = open_key(customer_id, queue.id);
    // A new case's first events, written together with the alert's.
    let mut opening: Vec<CaseEvent> = Vec::new();
    let (case, grouped) = match case_store::find_open(conn, &key)? {
        Some(case) => (case, true),
        None => {
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
                },
                now,
            )?;
            match inserted {
                Some((case, dues)) => {
                    use crate::domain::events as ev;
                    let (reason, position, time_boxed) = match decision.reason {
                        Reason::Route {
                            position,
                            time_boxed,
                        } => (ev::RouteReason::Route, Some(position as i64), time_boxed),
                        Reason::UnknownRule => (ev::RouteReason::UnknownRule, None, false),
                        Reason::NoRouteMatched => (ev::RouteReason::NoRoute, None, false),
                    };
                    opening = vec![
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
                    ];
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
        diesel::update(cases::table.find(case.id))
            .set((
                cases::alert_count.eq(cases::alert_count + 1),
                cases::weight.eq(weight.max(case.weight)),
                cases::updated_at.eq(at),
            ))
            .execute(conn)?;
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
        crate::cases::assign::grow(conn, snap, &case, weight, now)?;
    }

    // A new case goes to an agent at once if one is free; a grouped alert stays
    // with its case and that case's agent. The decision's event joins the others,
    // all written in one statement.
    let (status, assignee) = if grouped {
        (
            case.status,
            case_store::assignee_email(conn, case.assignee_id)?,
        )
    } else {
        let note = crate::cases::assign::Note::Into(&mut opening);
        match crate::cases::assign::try_assign_memo(conn, snap, &case, now, None, note, memo)? {
            Some((_, email)) => (CaseStatus::Assigned, Some(email)),
            None => (case.status, None),
        }
    };
    case_store::add_events(conn, case.id, at, &opening)?;
    // An amount over the rule's emergency amount: someone on call is paged now.
    if let Some(limit) = snap
        .rules
        .get(&alert.rule)
        .and_then(|r| r.emergency_amount.as_ref())
        && let Some(a) = &alert.amount
        && limit
            .for_currency(Some(&a.currency))
            .is_some_and(|t| a.value > t)
    {
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
    if !grouped
        && snap
            .rules
            .get(&alert.rule)
            .is_some_and(|r| r.verify_by_email)
    {
        crate::cases::verify::verify_automatically(conn, &keys.settings, now, case.id)?;
    }
    // Many customers tied by one identifier at once: a campaign.
    if !snap.campaigns.is_empty() {
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
    diesel::update(alerts::table.find(alert_id))
        .set((
            alerts::case_id.eq(case.id),
            alerts::result.eq(serde_json::to_string(&result).expect("json")),
        ))
        .execute(conn)?;
    Ok(result)
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
        let answers = match run_batch(&pool, &clock, &key, &mut snap, &jobs) {
            Ok(a) => a,
            Err(e) => {
                tracing::error!(error = %e, alerts = count, "intake batch failed");
                snap = None;
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
    pool: &DbPool,
    clock: &Clock,
    key: &Keys,
    snap: &mut Option<Snapshot>,
    jobs: &[Job],
) -> Result<BatchAnswers, IntakeError> {
    let mut conn = loop {
        match pool.get() {
            Ok(c) => break c,
            Err(e) => {
                tracing::warn!(error = %e, "intake waits for a database connection");
                thread::sleep(Duration::from_millis(200));
            }
        }
    };
    let version = deskconfig::config_version(&mut conn)?;
    if snap.as_ref().is_none_or(|s| s.version != version) {
        *snap = Some(deskconfig::snapshot(&mut conn)?);
    }
    let snap = snap.as_ref().expect("loaded");
    // On SQLite (one writer, so no deadlocks) the batch first runs without a
    // savepoint per alert: they cost two statements each and are almost never
    // needed. If any alert fails, the whole attempt is rolled back and the batch
    // runs again the careful way below, where that alert alone fails.
    if matches!(*conn, crate::db::DbConn::Sqlite(_)) {
        let fast = write_tx(&mut conn, |conn| {
            let now = clock.now();
            let mut memo = crate::cases::assign::WaitMemo::new();
            jobs.iter()
                .map(|job| {
                    job.alerts
                        .iter()
                        .map(|alert| {
                            ingest(conn, snap, key, alert, job.api_key_id, now, Some(&mut memo))
                                .map(Ok)
                        })
                        .collect::<Result<Vec<_>, IntakeError>>()
                })
                .collect::<Result<BatchAnswers, IntakeError>>()
        });
        match fast {
            Ok(answers) => return Ok(answers),
            Err(e) => {
                tracing::debug!(error = %e, "intake batch retried alert by alert");
            }
        }
    }
    write_tx(&mut conn, |conn| {
        // Read once the write lock is held: the time the alerts are accepted.
        let now = clock.now();
        let mut memo = crate::cases::assign::WaitMemo::new();
        let mut answers = Vec::with_capacity(jobs.len());
        for job in jobs {
            let mut results = Vec::with_capacity(job.alerts.len());
            for alert in &job.alerts {
                // A savepoint per alert: one failure does not undo the others. Two
                // writers on PostgreSQL may deadlock on the same cases; the loser's
                // savepoint is rolled back and the alert tried again.
                let mut attempt = 0;
                let r = loop {
                    attempt += 1;
                    let r = conn.transaction(|c| {
                        ingest(c, snap, key, alert, job.api_key_id, now, Some(&mut memo))
                    });
                    if r.is_err() {
                        // The savepoint's writes are undone: so is what the memo
                        // learnt from them (loads it raised, queues it saw waiting).
                        memo = crate::cases::assign::WaitMemo::new();
                    }
                    match &r {
                        Err(IntakeError::Db(e)) if attempt < 10 && crate::db::is_retryable(e) => {
                            thread::sleep(Duration::from_millis(2 * attempt));
                            continue;
                        }
                        _ => break r,
                    }
                };
                results.push(r.map_err(|e| {
                    tracing::error!(error = %e, external_id = %alert.external_id, "alert not stored");
                    e.to_string()
                }));
            }
            answers.push(results);
        }
        Ok::<_, IntakeError>(answers)
    })
}
