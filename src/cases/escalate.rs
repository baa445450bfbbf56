// The SLA watch: warnings at the policy's thresholds, breach handling (mark, raise,
// move to the escalation queue or reassign), and alerts for cases waiting unassigned
// too long. Each alarm fires once, however many instances watch.

use chrono::{DateTime, Duration, Utc};
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
    if case.resolved_at.is_some() {
        return Vec::new();
    }
    let Some(queue) = snap.queues_by_id.get(&case.queue_id) else {
        return Vec::new();
    };
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
    let mut out = alarms(case, snap, unassigned_after);
    if let (Some(since), None) = (case.paused_since, case.resolved_at) {
        use crate::db::schema::customer_tokens;
        let expiry: Option<chrono::NaiveDateTime> = customer_tokens::table
            .filter(customer_tokens::case_id.eq(case.id))
            .filter(customer_tokens::purpose.eq(crate::cases::verify::VERIFY))
            .filter(customer_tokens::used_at.is_null())
            .filter(customer_tokens::created_at.ge(since))
            .select(diesel::dsl::max(customer_tokens::expires_at))
            .first(conn)?;
        if let Some(at) = expiry {
            out.push(Alarm {
                kind: format!("pause_end:expired:{}", store::from_db(since).timestamp()),
                at: store::from_db(at),
            });
        }
    }
    Ok(out)
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

/// Looks at every case whose next alarm is due and fires what is due; returns how
/// many alarms fired.
pub fn run_due(
    conn: &mut DbConn,
    snap: &Snapshot,
    now: DateTime<Utc>,
    unassigned_after: Duration,
    base: &str,
) -> QueryResult<usize> {
    let due: Vec<i64> = cases::table
        .filter(cases::next_alarm_at.le(store::to_db(now)))
        .filter(cases::resolved_at.is_null())
        .select(cases::id)
        .order(cases::next_alarm_at.asc())
        .limit(500)
        .load(conn)?;
    let mut fired = 0;
    for id in due {
        fired += crate::db::write_tx_retry(conn, |conn| {
            check_case(conn, snap, id, now, unassigned_after, base)
        })?;
    }
    Ok(fired)
}

fn check_case(
    conn: &mut DbConn,
    snap: &Snapshot,
    id: i64,
    now: DateTime<Utc>,
    unassigned_after: Duration,
    base: &str,
) -> QueryResult<usize> {
    let Some(case) = case_store::find(conn, id)? else {
        return Ok(0);
    };
    let already: Vec<String> = case_alarms::table
        .filter(case_alarms::case_id.eq(id))
        .select(case_alarms::kind)
        .load(conn)?;
    let at = store::to_db(now);
    let mut fired = 0;
    for alarm in alarms_of(conn, &case, snap, unassigned_after)? {
        if alarm.at > now || already.contains(&alarm.kind) {
            continue;
        }
        // The alarm's row is the proof it fired: an instance that cannot insert it
        // leaves it to the one that did.
        let inserted = dispatch!(conn, |c| diesel::insert_into(case_alarms::table)
            .values((
                case_alarms::case_id.eq(id),
                case_alarms::kind.eq(&alarm.kind),
                case_alarms::fired_at.eq(at),
            ))
            .on_conflict_do_nothing()
            .execute(c))?;
        if inserted == 0 {
            continue;
        }
        fired += 1;
        // Re-read: an earlier alarm of this pass may have changed the case.
        let current = case_store::find(conn, id)?.unwrap_or_else(|| case.clone());
        fire(conn, snap, &current, &alarm, now, base)?;
    }
    // When to look again.
    let after = case_store::find(conn, id)?;
    let fired_now: Vec<String> = case_alarms::table
        .filter(case_alarms::case_id.eq(id))
        .select(case_alarms::kind)
        .load(conn)?;
    let next = match &after {
        Some(c) => alarms_of(conn, c, snap, unassigned_after)?
            .into_iter()
            .filter(|a| !fired_now.contains(&a.kind))
            .map(|a| a.at.max(now))
            .min(),
        None => None,
    };
    diesel::update(cases::table.find(id))
        .set(cases::next_alarm_at.eq(next.map(store::to_db)))
        .execute(conn)?;
    Ok(fired)
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
