// The SLA clock of a case: pausing and resuming it while the case waits on the
// customer, its first response, raising its priority, and closing the case.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::{CaseError, allowed, changed, load, run};
use crate::db::DbConn;
use crate::db::schema::cases;
use crate::domain::events::{self as ev, ResumeCause};
use crate::domain::lifecycle::Command;
use crate::domain::severity::Severity;
use crate::domain::{CaseEvent, CaseStatus};
use crate::store::cases::{self as case_store, Case};
use crate::store::deskconfig::{self, QueueInfo};
use crate::store::{self};

/// What raised a case's priority, for its event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Raise {
    /// An alert of higher severity joined the case.
    Alert(i64),
    /// The customer answered "no, it wasn't me".
    CustomerDenied,
    /// The SLA was breached.
    Breach,
}

pub fn queue_of(conn: &mut DbConn, case: &Case) -> Result<QueueInfo, CaseError> {
    let snap = deskconfig::snapshot(conn)?;
    snap.queues_by_id
        .get(&case.queue_id)
        .cloned()
        .ok_or(CaseError::NotFound)
}

/// The deadline the SLA watch looks at next: the first response while none was
/// made, else the resolution.
pub fn next_due_of(
    first_responded: bool,
    first_response_due: DateTime<Utc>,
    resolution_due: DateTime<Utc>,
) -> DateTime<Utc> {
    if first_responded {
        resolution_due
    } else {
        first_response_due.min(resolution_due)
    }
}

/// Raises an open case's priority to `to` inside the caller's transaction: its due
/// times are recomputed from its opening under the queue's policy, the SLA watch is
/// woken, and `priority.raised` lands on the timeline with `data`'s fields added
/// (e.g. the alert or the answer that raised it). Returns false when the case
/// already stood at `to` or higher.
pub fn raise_priority(
    conn: &mut DbConn,
    queue: &QueueInfo,
    case: &Case,
    to: Severity,
    now: DateTime<Utc>,
    cause: Raise,
) -> QueryResult<bool> {
    let current: Severity = case.priority;
    if to <= current {
        return Ok(false);
    }
    let at = store::to_db(now);
    let dues = queue
        .policy
        .dues(case.sla_start(), to, case.paused_minutes.into());
    let next = next_due_of(
        case.first_responded_at.is_some(),
        dues.first_response,
        dues.resolution,
    );
    diesel::update(cases::table.find(case.id))
        .set((
            cases::priority.eq(to.as_str()),
            cases::first_response_due.eq(store::to_db(dues.first_response)),
            cases::resolution_due.eq(store::to_db(dues.resolution)),
            cases::next_due.eq(Some(store::to_db(next))),
            cases::next_alarm_at.eq(Some(at)),
            cases::updated_at.eq(at),
        ))
        .execute(conn)?;
    let (alert_id, reason) = match cause {
        Raise::Alert(id) => (Some(id), None),
        Raise::CustomerDenied => (None, Some("customer_denied".to_string())),
        Raise::Breach => (None, Some("breach".to_string())),
    };
    let event = CaseEvent::PriorityRaised(ev::PriorityRaised {
        from: current,
        to,
        first_response_due: dues.first_response,
        resolution_due: dues.resolution,
        alert_id,
        reason,
    });
    case_store::add_event(conn, case.id, at, None, &event)?;
    Ok(true)
}

/// Records the case's first response (a call, an e-mail to the customer) inside the
/// caller's transaction, once: the first-response clock stops and the SLA watch
/// moves on to the resolution deadline. Returns false when one was recorded before.
pub fn record_first_response(
    conn: &mut DbConn,
    case: &Case,
    now: DateTime<Utc>,
    actor: Option<i64>,
    how: &str,
) -> QueryResult<bool> {
    if case.first_responded_at.is_some() {
        return Ok(false);
    }
    let at = store::to_db(now);
    let n = diesel::update(
        cases::table
            .find(case.id)
            .filter(cases::first_responded_at.is_null()),
    )
    .set((
        cases::first_responded_at.eq(Some(at)),
        cases::next_due.eq(Some(case.resolution_due)),
        cases::next_alarm_at.eq(Some(at)),
        cases::updated_at.eq(at),
    ))
    .execute(conn)?;
    if n == 0 {
        return Ok(false);
    }
    let late = now > store::from_db(case.first_response_due);
    case_store::add_event(
        conn,
        case.id,
        at,
        actor,
        &CaseEvent::FirstResponse(ev::FirstResponse {
            how: how.to_string(),
            late,
        }),
    )?;
    Ok(true)
}

/// Stops the case's SLA clock while it waits on the customer, with a reason.
pub fn pause(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    actor: Option<i64>,
    case_id: i64,
    reason: &str,
) -> Result<Case, CaseError> {
    run(conn, |conn| {
        let case = load(conn, case_id)?;
        pause_in(conn, &case, now, actor, reason)?;
        load(conn, case_id)
    })
}

/// [`pause`] inside the caller's transaction, for a change that also pauses.
pub fn pause_in(
    conn: &mut DbConn,
    case: &Case,
    now: DateTime<Utc>,
    actor: Option<i64>,
    reason: &str,
) -> Result<(), CaseError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(CaseError::ReasonRequired);
    }
    allowed(Command::Pause, case)?;
    let queue = queue_of(conn, case)?;
    let at = store::to_db(now);
    changed(
        diesel::update(
            cases::table
                .find(case.id)
                .filter(cases::paused_since.is_null())
                .filter(cases::resolved_at.is_null()),
        )
        .set((
            cases::paused_since.eq(Some(at)),
            cases::pause_reason.eq(Some(reason)),
            // The SLA watch looks again when the allowance runs out.
            cases::next_alarm_at.eq(Some(at)),
            cases::updated_at.eq(at),
        ))
        .execute(conn)?,
    )?;
    let allowance = (queue.policy.max_pause_minutes - i64::from(case.paused_minutes)).max(0);
    case_store::add_event(
        conn,
        case.id,
        at,
        actor,
        &CaseEvent::Paused(ev::Paused {
            reason: reason.to_string(),
            allowance_minutes: allowance,
        }),
    )?;
    Ok(())
}

/// Starts the clock again; the deadlines move by the business minutes it stood,
/// up to what is left of the policy's `max_pause_minutes`. `cause` says why: the
/// customer answered, an agent resumed it by hand, or the allowance ran out.
pub fn resume(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    actor: Option<i64>,
    case_id: i64,
    cause: ResumeCause,
) -> Result<Case, CaseError> {
    run(conn, |conn| {
        let case = load(conn, case_id)?;
        resume_in(conn, &case, now, actor, cause)?;
        load(conn, case_id)
    })
}

/// The case's agent or a supervisor starts a paused clock again by hand (the
/// customer answered on the phone, say): the pause is counted as any other.
pub fn resume_by_hand(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    user_id: i64,
    supervisor: bool,
    case_id: i64,
) -> Result<Case, CaseError> {
    run(conn, |conn| {
        let case = load(conn, case_id)?;
        if !supervisor && case.assignee_id != Some(user_id) {
            return Err(CaseError::Forbidden);
        }
        resume_in(conn, &case, now, Some(user_id), ResumeCause::Manual)?;
        load(conn, case_id)
    })
}

/// [`resume`] inside the caller's transaction.
pub fn resume_in(
    conn: &mut DbConn,
    case: &Case,
    now: DateTime<Utc>,
    actor: Option<i64>,
    cause: ResumeCause,
) -> Result<(), CaseError> {
    allowed(Command::Resume, case)?;
    let Some(since) = case.paused_since else {
        return Err(CaseError::Refused(crate::domain::Refusal::NotPaused));
    };
    let queue = queue_of(conn, case)?;
    let pause =
        queue
            .policy
            .countable_pause(store::from_db(since), now, case.paused_minutes.into());
    let total = i64::from(case.paused_minutes) + pause.counted;
    let priority: Severity = case.priority;
    let dues = queue.policy.dues(case.sla_start(), priority, total);
    let at = store::to_db(now);
    changed(
        diesel::update(
            cases::table
                .find(case.id)
                .filter(cases::paused_since.eq(since)),
        )
        .set((
            cases::paused_since.eq(None::<chrono::NaiveDateTime>),
            cases::pause_reason.eq(None::<String>),
            cases::paused_minutes.eq(total as i32),
            cases::first_response_due.eq(store::to_db(dues.first_response)),
            cases::resolution_due.eq(store::to_db(dues.resolution)),
            cases::next_due.eq(Some(store::to_db(next_due_of(
                case.first_responded_at.is_some(),
                dues.first_response,
                dues.resolution,
            )))),
            cases::next_alarm_at.eq(Some(at)),
            cases::updated_at.eq(at),
        ))
        .execute(conn)?,
    )?;
    case_store::add_event(
        conn,
        case.id,
        at,
        actor,
        &CaseEvent::Resumed(ev::Resumed {
            paused_minutes: pause.elapsed,
            counted_minutes: pause.counted,
            limit_reached: pause.limited,
            first_response_due: dues.first_response,
            resolution_due: dues.resolution,
            cause,
        }),
    )?;
    Ok(())
}

/// How a case was closed, for [`resolve`].
pub struct Outcome<'a> {
    /// Who closed it (for an approved closing, the agent who asked).
    pub resolver: Option<i64>,
    pub disposition: &'a str,
    /// The `case.resolved` event's details: action, amount, note.
    pub details: ev::ClosingDetails,
    /// The supervisor who approved the closing, if it waited for one.
    pub approved_by: Option<i64>,
    /// The customer closed it by confirming "it was me" (no one at the desk).
    pub by_customer: bool,
}

/// Closes a case with a disposition: the agent's load drops by its weight, the
/// customer may have a new case in the queue again, and the agent gets the next
/// waiting case. (The full resolution workflow builds on this; `cases::closing`
/// queues the satisfaction survey with it.)
///
/// The case may be picked for QA review (`settings.qa_sample_percent`).
pub fn resolve(
    conn: &mut DbConn,
    settings: &crate::config::Settings,
    snap: &crate::store::deskconfig::Snapshot,
    now: DateTime<Utc>,
    case_id: i64,
    outcome: Outcome<'_>,
) -> Result<Case, CaseError> {
    let Outcome {
        resolver,
        disposition,
        details,
        approved_by,
        by_customer,
    } = outcome;
    let mut case = load(conn, case_id)?;
    let cmd = if approved_by.is_some() {
        Command::Approve
    } else {
        Command::Resolve
    };
    allowed(cmd, &case)?;
    let at = store::to_db(now);
    // A pause that stands when the case closes is counted: the clock stopped for the
    // customer, not for the agent (and the reports measure from these dues).
    if case.paused_since.is_some() {
        resume_in(conn, &case, now, resolver, ResumeCause::Closed)?;
        case = load(conn, case_id)?;
    }
    // QA sampling is decided here, from the case id alone, and recorded by the same
    // statement: a case reviewed before (then reopened) is not sampled again.
    let sampled =
        crate::domain::qa::sampled(&settings.qa_salt, case_id, settings.qa_sample_percent);
    let n = crate::update_case_if_unchanged!(
        conn,
        case,
        (
            cases::qa_pending.eq(sampled
                .into_sql::<diesel::sql_types::Bool>()
                .and(cases::qa_reviewed_at.is_null())),
            cases::status.eq(CaseStatus::Resolved),
            cases::resolved_at.eq(Some(at)),
            cases::open_key.eq(None::<String>),
            cases::disposition.eq(Some(disposition)),
            cases::resolved_by.eq(resolver),
            cases::paused_since.eq(None::<chrono::NaiveDateTime>),
            cases::next_alarm_at.eq(None::<chrono::NaiveDateTime>),
            cases::updated_at.eq(at),
        )
    )?;
    // Someone else changed the case since it was read (its agent gave it back, a
    // supervisor closed it): nothing is written, and the command is run again.
    changed(n)?;
    if let Some(agent) = case.assignee_id {
        use crate::db::schema::users;
        diesel::update(users::table.find(agent))
            .set(users::current_load.eq(users::current_load - case.weight))
            .execute(conn)?;
    }
    let event = CaseEvent::Resolved(ev::Resolved {
        disposition: disposition.to_string(),
        details,
        approved_by,
        paused_minutes: Some(i64::from(case.paused_minutes)),
        by_customer,
    });
    case_store::add_event(conn, case_id, at, resolver, &event)?;
    // Escalated to AML: the regulator's clock starts.
    if disposition == crate::domain::resolution::Disposition::EscalatedAml.as_str() {
        crate::cases::aml_report::start_in(conn, settings, snap, now, case_id)?;
    }
    // The case is dealt with: its emergency, if any, ends with it.
    crate::cases::emergency::end_with_case(conn, now, case_id, resolver)?;
    if let Some(agent) = case.assignee_id {
        crate::cases::assign::fill_agent(conn, snap, agent, now, false)?;
    }
    let resolved = Case {
        status: CaseStatus::Resolved,
        resolved_at: Some(at),
        open_key: None,
        disposition: Some(disposition.to_string()),
        resolved_by: resolver,
        paused_since: None,
        next_alarm_at: None,
        updated_at: at,
        ..case
    };
    Ok(resolved)
}
