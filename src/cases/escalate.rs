// The SLA watch: warnings at the policy's thresholds, breach handling (mark, raise,
// move to the escalation queue or reassign), and alerts for cases waiting unassigned
// too long. Each alarm fires once, however many instances watch.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::CaseError;
use super::notices::{notify, notify_in, supervisors};
use crate::cases::assign::Unassigned;
use crate::db::DbConn;
use crate::db::schema::{case_alarms, cases, users};
use crate::dispatch;
use crate::domain::CaseStatus;
use crate::domain::events::{self as ev, CaseEvent, ResumeCause};
use crate::domain::severity::Severity;
use crate::store::cases::{self as case_store, Case, open_key};
use crate::store::deskconfig::Snapshot;
use crate::store::{self};

/// One alarm of a case: a stable name and the instant it is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alarm {
    pub kind: String,
    pub at: DateTime<Utc>,
}

/// Every alarm a case has now, fired or not.
///
/// While the clock is paused, the only alarm is the pause's end: when the policy's
/// `max_pause_minutes` allowance is used up, the clock runs again by itself.
pub fn alarms(case: &Case, snap: &Snapshot, unassigned_after: Duration) -> Vec<Alarm> {
    match snap.queues_by_id.get(&case.queue_id) {
        Some(queue) => alarms_in(case, queue, unassigned_after),
        None => Vec::new(),
    }
}

/// When a case just opened in `queue` first needs the watch: its earliest alarm (a
/// case opened already late, at once).
pub fn first_alarm(
    case: &Case,
    queue: &crate::store::deskconfig::QueueInfo,
    unassigned_after: Duration,
    now: DateTime<Utc>,
) -> Option<NaiveDateTime> {
    next_of(
        &alarms_in(case, queue, unassigned_after),
        &HashSet::new(),
        now,
    )
}

/// [`alarms`] of a case in `queue`.
fn alarms_in(
    case: &Case,
    queue: &crate::store::deskconfig::QueueInfo,
    unassigned_after: Duration,
) -> Vec<Alarm> {
    if case.resolved_at.is_some() {
        return Vec::new();
    }
    let policy = &queue.policy;
    if let Some(since) = case.paused_since {
        let since = store::from_db(since);
        let left = (policy.max_pause_minutes - i64::from(case.paused_minutes)).max(0);
        return vec![Alarm {
            kind: format!("pause_end:allowance:{}", since.timestamp()),
            at: policy.calendar.add_business_minutes(since, left).max(since),
        }];
    }
    let priority: Severity = case.priority;
    let targets = policy.targets_for(priority);
    let opened = case.sla_start();
    let paused = i64::from(case.paused_minutes);
    let mut out = Vec::new();
    let mut clock = |name: &str, target: i64, due: DateTime<Utc>| {
        for p in &policy.warn_at_percent {
            let minutes = (target * i64::from(*p) + 99) / 100;
            out.push(Alarm {
                kind: format!("warn:{name}:{p}"),
                at: policy
                    .calendar
                    .add_business_minutes(opened, minutes + paused),
            });
        }
        out.push(Alarm {
            kind: format!("breach:{name}"),
            at: due,
        });
    };
    if case.first_responded_at.is_none() {
        clock(
            "first_response",
            targets.first_response,
            store::from_db(case.first_response_due),
        );
    }
    clock(
        "resolution",
        targets.resolution,
        store::from_db(case.resolution_due),
    );
    // Armed again each time the case waits anew (given back, reopened…).
    if case.assignee_id.is_none() {
        let since = waiting_since(case);
        out.push(Alarm {
            kind: format!("unassigned:{}", since.timestamp()),
            at: since + unassigned_after,
        });
    }
    out
}

/// [`alarms`], and for a paused case the expiry of the verification link it waits
/// on: when the link expires unanswered, the clock runs again.
fn alarms_of(
    conn: &mut DbConn,
    case: &Case,
    snap: &Snapshot,
    unassigned_after: Duration,
) -> QueryResult<Vec<Alarm>> {
    let expiry = match (case.paused_since, case.resolved_at) {
        (Some(_), None) => link_expiries(conn, std::slice::from_ref(case))?
            .remove(&case.id)
            .flatten(),
        _ => None,
    };
    Ok(alarms_with(case, snap, unassigned_after, expiry))
}

/// [`alarms`] plus the pause's end when its verification link (`expiry`, see
/// [`link_expiries`]) expires unanswered.
fn alarms_with(
    case: &Case,
    snap: &Snapshot,
    unassigned_after: Duration,
    expiry: Option<NaiveDateTime>,
) -> Vec<Alarm> {
    let mut out = alarms(case, snap, unassigned_after);
    if let (Some(since), None, Some(at)) = (case.paused_since, case.resolved_at, expiry) {
        out.push(Alarm {
            kind: format!("pause_end:expired:{}", store::from_db(since).timestamp()),
            at: store::from_db(at),
        });
    }
    out
}

/// For the paused cases among `cases`, when the last unused verification link sent
/// since the pause began expires (one query for them all).
fn link_expiries(
    conn: &mut DbConn,
    cases: &[Case],
) -> QueryResult<HashMap<i64, Option<NaiveDateTime>>> {
    use crate::db::schema::customer_tokens;
    let paused: HashMap<i64, NaiveDateTime> = cases
        .iter()
        .filter(|c| c.resolved_at.is_none())
        .filter_map(|c| c.paused_since.map(|s| (c.id, s)))
        .collect();
    let mut out: HashMap<i64, Option<NaiveDateTime>> =
        paused.keys().map(|id| (*id, None)).collect();
    if paused.is_empty() {
        return Ok(out);
    }
    let ids: Vec<i64> = paused.keys().copied().collect();
    let links: Vec<(i64, NaiveDateTime, NaiveDateTime)> = customer_tokens::table
        .filter(customer_tokens::case_id.eq_any(&ids))
        .filter(customer_tokens::purpose.eq(crate::cases::verify::VERIFY))
        .filter(customer_tokens::used_at.is_null())
        .select((
            customer_tokens::case_id,
            customer_tokens::created_at,
            customer_tokens::expires_at,
        ))
        .load(conn)?;
    for (id, created, expires) in links {
        if paused.get(&id).is_some_and(|since| created >= *since) {
            let e = out.entry(id).or_default();
            *e = (*e).max(Some(expires));
        }
    }
    Ok(out)
}

/// What the watch does with a case's due alarms that have not fired: the ones it
/// acts on, and the ones it records as fired without acting (superseded).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub act: Vec<Alarm>,
    pub superseded: Vec<Alarm>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.act.is_empty() && self.superseded.is_empty()
    }
}

/// The case's current state in one step: of the alarms due at `now` and not yet
/// fired, a clock's warnings are passed over when its breach is due or has fired,
/// and a warning when a later threshold of the same clock is due too. So a case
/// found several thresholds behind gets one breach, or its highest warning, and
/// not each step on the way. Other alarms act as they come.
pub fn plan(alarms: &[Alarm], fired: impl Fn(&str) -> bool, now: DateTime<Utc>) -> Plan {
    let due: Vec<&Alarm> = alarms
        .iter()
        .filter(|a| a.at <= now && !fired(&a.kind))
        .collect();
    let mut out = Plan::default();
    for alarm in &due {
        let passed_over = match alarm.kind.split(':').collect::<Vec<_>>().as_slice() {
            ["warn", clock, percent] => {
                let breach = format!("breach:{clock}");
                let percent: i64 = percent.parse().unwrap_or(0);
                fired(&breach)
                    || due.iter().any(|a| {
                        a.kind == breach
                            || a.kind
                                .strip_prefix(&format!("warn:{clock}:"))
                                .and_then(|p| p.parse::<i64>().ok())
                                .is_some_and(|p| p > percent)
                    })
            }
            _ => false,
        };
        if passed_over {
            out.superseded.push((*alarm).clone());
        } else {
            out.act.push((*alarm).clone());
        }
    }
    out
}

/// Since when an unassigned case has waited for an agent.
pub fn waiting_since(case: &Case) -> DateTime<Utc> {
    case.waiting_since
        .map(store::from_db)
        .unwrap_or_else(|| case.sla_start())
}

fn clock_of(name: &str) -> ev::Clock {
    if name == "first_response" {
        ev::Clock::FirstResponse
    } else {
        ev::Clock::Resolution
    }
}

/// Cases claimed and looked at per batch.
pub const BATCH: i64 = 500;
/// How long the cases of a claimed batch are the claiming instance's: an instance
/// that stops midway leaves them due again after this.
pub const CLAIM_SECONDS: i64 = 120;

/// What one run of the watch did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Drain {
    /// Alarms acted on (superseded warnings are not counted).
    pub fired: usize,
    /// Cases looked at.
    pub cases: usize,
    /// The run stopped at its time budget with cases still due.
    pub more: bool,
}

/// Looks at every case whose next alarm is due and fires what is due, batch after
/// batch until none is due; returns how many alarms fired.
pub fn run_due(
    conn: &mut DbConn,
    snap: &Snapshot,
    now: DateTime<Utc>,
    unassigned_after: Duration,
    base: &str,
) -> QueryResult<usize> {
    drain_due(conn, snap, || now, unassigned_after, base, None).map(|d| d.fired)
}

/// The watch's run: claims a batch of due cases (so that other instances skip
/// them), settles it, and goes on with the next until none is due or `budget` is
/// spent (then `more` says so, and the caller runs again at once). `now` is asked
/// for each batch.
pub fn drain_due(
    conn: &mut DbConn,
    snap: &Snapshot,
    now: impl Fn() -> DateTime<Utc>,
    unassigned_after: Duration,
    base: &str,
    budget: Option<std::time::Duration>,
) -> QueryResult<Drain> {
    let started = std::time::Instant::now();
    let mut out = Drain::default();
    let mut seen: HashSet<i64> = HashSet::new();
    loop {
        let at = now();
        let claim = store::to_db(at + Duration::seconds(CLAIM_SECONDS));
        let ids = claim_due(conn, at, claim)?;
        if ids.is_empty() {
            return Ok(out);
        }
        let fresh = ids.iter().filter(|id| seen.insert(**id)).count();
        out.cases += ids.len();
        out.fired += settle_batch(conn, snap, &ids, claim, at, unassigned_after, base)?;
        // Only cases this run has settled already came due again (their alarms
        // moved while they were settled): they wait for the next run.
        if fresh == 0 {
            return Ok(out);
        }
        if budget.is_some_and(|b| started.elapsed() >= b) {
            out.more = true;
            return Ok(out);
        }
    }
}

/// Takes the next batch of due cases, most overdue first, by moving their next
/// alarm to `claim`: other instances no longer see them as due. On PostgreSQL the
/// rows another instance is claiming are skipped (`FOR UPDATE SKIP LOCKED`); on
/// SQLite the write lock makes the claim whole.
fn claim_due(conn: &mut DbConn, now: DateTime<Utc>, claim: NaiveDateTime) -> QueryResult<Vec<i64>> {
    crate::db::write_tx_retry(conn, |conn| {
        let due = || {
            cases::table
                .filter(cases::next_alarm_at.le(store::to_db(now)))
                .filter(cases::resolved_at.is_null())
                .select(cases::id)
                .order(cases::next_alarm_at.asc())
                .limit(BATCH)
        };
        let ids: Vec<i64> = match conn {
            DbConn::Sqlite(c) => due().load(c)?,
            DbConn::Postgresql(c) => due().for_update().skip_locked().load(c)?,
        };
        if !ids.is_empty() {
            diesel::update(cases::table.filter(cases::id.eq_any(&ids)))
                .set(cases::next_alarm_at.eq(Some(claim)))
                .execute(conn)?;
        }
        Ok(ids)
    })
}

/// Settles a claimed batch: its cases and their fired alarms read in a few
/// queries; the cases with nothing due get their next alarm set together in one
/// transaction, each of the others is settled in its own.
fn settle_batch(
    conn: &mut DbConn,
    snap: &Snapshot,
    ids: &[i64],
    claim: NaiveDateTime,
    now: DateTime<Utc>,
    unassigned_after: Duration,
    base: &str,
) -> QueryResult<usize> {
    let found: Vec<Case> = cases::table
        .filter(cases::id.eq_any(ids))
        .select(Case::as_select())
        .load(conn)?;
    let mut fired: HashMap<i64, HashSet<String>> = HashMap::new();
    for (id, kind) in case_alarms::table
        .filter(case_alarms::case_id.eq_any(ids))
        .select((case_alarms::case_id, case_alarms::kind))
        .load::<(i64, String)>(conn)?
    {
        fired.entry(id).or_default().insert(kind);
    }
    let expiries = link_expiries(conn, &found)?;
    let none = HashSet::new();
    let mut quiet: Vec<(i64, Option<NaiveDateTime>)> = Vec::new();
    let mut busy: Vec<i64> = Vec::new();
    for case in &found {
        let already = fired.get(&case.id).unwrap_or(&none);
        let list = alarms_with(
            case,
            snap,
            unassigned_after,
            expiries.get(&case.id).copied().flatten(),
        );
        if plan(&list, |k| already.contains(k), now).is_empty() {
            quiet.push((case.id, next_of(&list, already, now)));
        } else {
            busy.push(case.id);
        }
    }
    if !quiet.is_empty() {
        // Only where the claim still stands: a case a command changed meanwhile is
        // due again (commands set its next alarm to their time) and is looked at anew.
        // One statement on PostgreSQL, one per case on SQLite (in-process, cheap).
        crate::db::write_tx_retry(conn, |conn| match conn {
            DbConn::Postgresql(pg) => {
                use diesel::sql_types::{Array, BigInt, Nullable, Timestamp};
                let mut sorted = quiet.clone();
                sorted.sort_by_key(|q| q.0);
                crate::db::fixed::statement(
                    "UPDATE cases AS c SET next_alarm_at = u.next \
                     FROM UNNEST(?::bigint[], ?::timestamp[]) AS u(id, next) \
                     WHERE c.id = u.id AND c.next_alarm_at = ?",
                )
                .bind::<Array<BigInt>, _>(sorted.iter().map(|q| q.0).collect::<Vec<_>>())
                .bind::<Array<Nullable<Timestamp>>, _>(
                    sorted.iter().map(|q| q.1).collect::<Vec<_>>(),
                )
                .bind::<Timestamp, _>(claim)
                .execute(pg)?;
                Ok(())
            }
            DbConn::Sqlite(_) => {
                for (id, next) in &quiet {
                    diesel::update(
                        cases::table
                            .find(id)
                            .filter(cases::next_alarm_at.eq(Some(claim))),
                    )
                    .set(cases::next_alarm_at.eq(next))
                    .execute(conn)?;
                }
                Ok(())
            }
        })?;
    }
    let mut count = 0;
    for id in busy {
        let already = fired.remove(&id).unwrap_or_default();
        count += crate::db::write_tx_retry(conn, |conn| {
            check_case(conn, snap, id, already.clone(), now, unassigned_after, base)
        })?;
    }
    Ok(count)
}

/// When a case's alarms next need a look: the earliest that has not fired.
fn next_of(list: &[Alarm], fired: &HashSet<String>, now: DateTime<Utc>) -> Option<NaiveDateTime> {
    list.iter()
        .filter(|a| !fired.contains(&a.kind))
        .map(|a| a.at.max(now))
        .min()
        .map(store::to_db)
}

/// Fires what is due of one case, in the caller's transaction, reading the case
/// afresh; `fired` holds the kinds known to have fired. An alarm whose row another
/// instance inserted first is left to it.
fn check_case(
    conn: &mut DbConn,
    snap: &Snapshot,
    id: i64,
    mut fired: HashSet<String>,
    now: DateTime<Utc>,
    unassigned_after: Duration,
    base: &str,
) -> QueryResult<usize> {
    let Some(mut case) = case_store::find(conn, id)? else {
        return Ok(0);
    };
    let at = store::to_db(now);
    let mut count = 0;
    let mut list = alarms_of(conn, &case, snap, unassigned_after)?;
    // A breach or a pause's end changes the case and so its alarms, which may be
    // due at once: looked at again, a few times at most.
    for _ in 0..4 {
        let todo = plan(&list, |k| fired.contains(k), now);
        if todo.is_empty() {
            break;
        }
        for alarm in &todo.superseded {
            dispatch!(conn, |c| diesel::insert_into(case_alarms::table)
                .values((
                    case_alarms::case_id.eq(id),
                    case_alarms::kind.eq(&alarm.kind),
                    case_alarms::fired_at.eq(at),
                    case_alarms::superseded.eq(true),
                ))
                .on_conflict_do_nothing()
                .execute(c))?;
            fired.insert(alarm.kind.clone());
        }
        let mut changed = false;
        for alarm in &todo.act {
            // The alarm's row is the proof it fired: an instance that cannot insert
            // it leaves it to the one that did.
            let inserted = dispatch!(conn, |c| diesel::insert_into(case_alarms::table)
                .values((
                    case_alarms::case_id.eq(id),
                    case_alarms::kind.eq(&alarm.kind),
                    case_alarms::fired_at.eq(at),
                ))
                .on_conflict_do_nothing()
                .execute(c))?;
            fired.insert(alarm.kind.clone());
            if inserted == 0 {
                continue;
            }
            count += 1;
            if changed {
                // An earlier alarm of this pass changed the case.
                case = case_store::find(conn, id)?.unwrap_or(case);
            }
            fire(conn, snap, &case, alarm, now, base)?;
            changed |= alarm.kind.starts_with("breach:") || alarm.kind.starts_with("pause_end:");
        }
        if !changed {
            break;
        }
        match case_store::find(conn, id)? {
            Some(c) => case = c,
            None => return Ok(count),
        }
        list = alarms_of(conn, &case, snap, unassigned_after)?;
    }
    // When to look again.
    diesel::update(cases::table.find(id))
        .set(cases::next_alarm_at.eq(next_of(&list, &fired, now)))
        .execute(conn)?;
    Ok(count)
}

fn fire(
    conn: &mut DbConn,
    snap: &Snapshot,
    case: &Case,
    alarm: &Alarm,
    now: DateTime<Utc>,
    base: &str,
) -> QueryResult<()> {
    let at = store::to_db(now);
    let parts: Vec<&str> = alarm.kind.split(':').collect();
    let reference = case_store::case_ref(case.id);
    match parts.as_slice() {
        ["warn", clock, percent] => {
            let event = ev::Warning {
                clock: clock_of(clock),
                percent: percent.parse::<i64>().unwrap_or(0),
                case_ref: reference,
            };
            let data = serde_json::to_value(&event).expect("json");
            case_store::add_event(conn, case.id, at, None, &CaseEvent::Warning(event))?;
            // The first threshold goes to the assignee; later ones to the supervisors too.
            let first = snap
                .queues_by_id
                .get(&case.queue_id)
                .and_then(|q| q.policy.warn_at_percent.first().copied())
                .map(|p| p.to_string())
                == Some(percent.to_string());
            let mut to: Vec<i64> = case.assignee_id.into_iter().collect();
            if !first || to.is_empty() {
                to.extend(supervisors(conn)?);
            }
            notify(conn, &to, now, "sla.warning", case.id, &data)?;
        }
        ["breach", clock] => breach(conn, snap, case, clock_of(clock), now, base)?,
        ["pause_end", cause, _] => {
            let cause = if *cause == "expired" {
                ResumeCause::LinkExpired
            } else {
                ResumeCause::AllowanceUsed
            };
            match crate::cases::clock::resume_in(conn, case, now, None, cause) {
                Ok(()) | Err(CaseError::Refused(_)) => {}
                Err(CaseError::Db(e)) => return Err(e),
                Err(other) => tracing::warn!(error = %other, "pause not ended"),
            }
        }
        ["unassigned", _] if case.assignee_id.is_none() => {
            let minutes = (now - waiting_since(case)).num_minutes();
            let event = ev::WaitingTooLong {
                minutes,
                case_ref: reference,
            };
            let data = serde_json::to_value(&event).expect("json");
            case_store::add_event(conn, case.id, at, None, &CaseEvent::WaitingTooLong(event))?;
            let to = supervisors(conn)?;
            notify(
                conn,
                &to,
                now,
                "assignment.waiting_too_long",
                case.id,
                &data,
            )?;
        }
        _ => {}
    }
    Ok(())
}

/// At breach: mark the case, raise its priority once (its deadlines and alarms
/// then follow the new priority's targets, see `clock::raise_priority`), and move it
/// to its queue's escalation queue if there is one, or hand it on when its agent is
/// not online. A case whose closing waits for approval stays where it is. A case
/// that was critical when it breached becomes an emergency (see `emergency`).
fn breach(
    conn: &mut DbConn,
    snap: &Snapshot,
    case: &Case,
    clock: ev::Clock,
    now: DateTime<Utc>,
    base: &str,
) -> QueryResult<()> {
    let at = store::to_db(now);
    let reference = case_store::case_ref(case.id);
    let first_breach = !case.breached;
    let priority: Severity = case.priority;
    diesel::update(cases::table.find(case.id))
        .set((cases::breached.eq(true), cases::updated_at.eq(at)))
        .execute(conn)?;
    let queue = snap.queues_by_id.get(&case.queue_id);
    let mut raised = priority;
    if first_breach
        && let Some(q) = queue
        && crate::cases::clock::raise_priority(
            conn,
            q,
            case,
            priority.raised(),
            now,
            crate::cases::clock::Raise::Breach,
        )?
    {
        raised = priority.raised();
    }
    let mut event = ev::Breached {
        clock,
        case_ref: reference,
        priority_from: (raised != priority).then_some(priority),
        priority_to: (raised != priority).then_some(raised),
        // The queue it breached in, for the weekly brief (the case may move on).
        queue: queue.map(|q| q.name.clone()),
        moved_to: None,
        action: ev::BreachAction::None,
        first_response_due: None,
        resolution_due: None,
    };
    let escalation = queue
        .and_then(|q| q.escalation_queue_id)
        .and_then(|id| snap.queues_by_id.get(&id));
    let movable = case.status != CaseStatus::PendingApproval;
    if let Some(target) = escalation.filter(|_| movable) {
        let key = open_key(case.customer_id, target.id);
        let taken = case_store::find_open(conn, &key)?.is_some();
        if !taken {
            let current = case_store::find(conn, case.id)?.unwrap_or_else(|| case.clone());
            crate::cases::assign::unassign(
                conn,
                &current,
                now,
                None,
                Unassigned::Returned(ev::ReturnReason::Escalated),
            )?;
            let dues = target
                .policy
                .dues(case.sla_start(), raised, case.paused_minutes.into());
            diesel::update(cases::table.find(case.id))
                .set((
                    cases::queue_id.eq(target.id),
                    cases::open_key.eq(Some(key)),
                    cases::first_response_due.eq(store::to_db(dues.first_response)),
                    cases::resolution_due.eq(store::to_db(dues.resolution)),
                    cases::next_due.eq(Some(store::to_db(crate::cases::clock::next_due_of(
                        current.first_responded_at.is_some(),
                        dues.first_response,
                        dues.resolution,
                    )))),
                ))
                .execute(conn)?;
            event.moved_to = Some(target.name.clone());
            event.action = ev::BreachAction::Moved;
            event.first_response_due = Some(dues.first_response);
            event.resolution_due = Some(dues.resolution);
        }
    } else if let Some(agent) = case.assignee_id.filter(|_| movable) {
        let online: Option<String> = users::table
            .find(agent)
            .select(users::presence)
            .first(conn)
            .optional()?;
        if online.as_deref() != Some("online") {
            let current = case_store::find(conn, case.id)?.unwrap_or_else(|| case.clone());
            crate::cases::assign::unassign(
                conn,
                &current,
                now,
                None,
                Unassigned::Returned(ev::ReturnReason::BreachAgentNotOnline),
            )?;
            event.action = ev::BreachAction::Reassigned;
        }
    }
    let action = event.action;
    let data = serde_json::to_value(&event).expect("json");
    case_store::add_event(conn, case.id, at, None, &CaseEvent::Breached(event))?;
    if action != ev::BreachAction::None {
        crate::cases::assign::try_assign(conn, snap, case.id, now, case.assignee_id, true)?;
    }
    let mut to = supervisors(conn)?;
    to.extend(case.assignee_id);
    // Told in the queue it breached in, though it may have moved on.
    notify_in(
        conn,
        &to,
        now,
        "sla.breached",
        case.id,
        Some(case.queue_id),
        &data,
    )?;
    if priority == Severity::Critical {
        crate::cases::emergency::declare_in(
            conn,
            crate::cases::emergency::Pager { snap, base },
            now,
            case.id,
            None,
            crate::domain::emergency::Cause::Breach,
            "",
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(minute: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 3, 1, 0, 0).unwrap() + Duration::minutes(minute)
    }

    fn alarm(kind: &str, minute: i64) -> Alarm {
        Alarm {
            kind: kind.into(),
            at: at(minute),
        }
    }

    fn kinds(list: &[Alarm]) -> Vec<&str> {
        list.iter().map(|a| a.kind.as_str()).collect()
    }

    /// A high case on a 24/7 policy: warnings at 23 and 27 minutes, breach at 30
    /// (first response); resolution warnings at 180 and 216, breach at 240.
    fn high() -> Vec<Alarm> {
        vec![
            alarm("warn:first_response:75", 23),
            alarm("warn:first_response:90", 27),
            alarm("breach:first_response", 30),
            alarm("warn:resolution:75", 180),
            alarm("warn:resolution:90", 216),
            alarm("breach:resolution", 240),
            alarm("unassigned:0", 15),
        ]
    }

    #[test]
    fn a_case_on_time_has_each_threshold_in_turn() {
        let p = plan(&high(), |_| false, at(24));
        assert_eq!(kinds(&p.act), ["warn:first_response:75", "unassigned:0"]);
        assert!(p.superseded.is_empty());
        let p = plan(&high(), |k| k == "warn:first_response:75", at(27));
        assert_eq!(kinds(&p.act), ["warn:first_response:90", "unassigned:0"]);
        assert!(p.superseded.is_empty());
    }

    #[test]
    fn a_case_behind_gets_its_current_state_in_one_step() {
        // Past both warnings: the later one only.
        let p = plan(&high(), |_| false, at(28));
        assert_eq!(kinds(&p.act), ["warn:first_response:90", "unassigned:0"]);
        assert_eq!(kinds(&p.superseded), ["warn:first_response:75"]);
        // Past the breach: the breach only.
        let p = plan(&high(), |k| k.starts_with("unassigned"), at(35));
        assert_eq!(kinds(&p.act), ["breach:first_response"]);
        assert_eq!(
            kinds(&p.superseded),
            ["warn:first_response:75", "warn:first_response:90"]
        );
        // Past everything: one breach per clock.
        let p = plan(&high(), |_| false, at(300));
        assert_eq!(
            kinds(&p.act),
            ["breach:first_response", "breach:resolution", "unassigned:0"]
        );
        assert_eq!(p.superseded.len(), 4);
        // A warning that comes due after its clock's breach fired is passed over.
        let p = plan(&high(), |k| k == "breach:first_response", at(25));
        assert!(p.act.iter().all(|a| !a.kind.starts_with("warn:")));
        assert_eq!(kinds(&p.superseded), ["warn:first_response:75"]);
        // Nothing due, nothing to do.
        assert!(plan(&high(), |_| false, at(10)).is_empty());
    }
}
