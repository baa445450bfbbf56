// Snooze commands: after a customer confirmed a false positive, an agent snoozes
// that rule for that customer for some days with a reason; a supervisor ends a
// snooze early; the expiry job ends those whose time is up. Each in one transaction
// with its event on the timeline of the case it was made on (which the webhooks
// `snooze.created` and `snooze.ended` are made from).

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;

use super::{CaseError, run};
use crate::db::DbConn;
use crate::db::schema::{customers, resolutions};
use crate::domain::events::{self as ev, CaseEvent};
use crate::domain::resolution::{Disposition, Problem};
use crate::domain::snooze::{self as rules, SnoozeInputError};
use crate::store;
use crate::store::cases as case_store;
use crate::store::snoozes::{self as snooze_store, NewSnooze, Snooze};

/// Who snoozes or ends a snooze.
#[derive(Debug, Clone, Copy)]
pub struct By {
    pub user_id: i64,
    pub supervisor: bool,
}

fn problem(e: SnoozeInputError) -> CaseError {
    CaseError::Invalid(vec![Problem {
        field: e.field(),
        key: match e {
            SnoozeInputError::Days => "snooze.error.days",
            SnoozeInputError::Reason => "snooze.error.reason",
        },
    }])
}

/// Snoozes the rule of the closed case `case_id` for its customer for `days` days:
/// only on a false positive the customer confirmed, by the one who closed it or a
/// supervisor, and only when that rule is not snoozed for the customer already.
pub fn create(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    by: By,
    case_id: i64,
    days: &str,
    reason: &str,
) -> Result<Snooze, CaseError> {
    let days = rules::parse_days(days).map_err(problem)?;
    let reason = rules::parse_reason(reason).map_err(problem)?;
    run(conn, |conn| {
        let case = case_store::find(conn, case_id)?.ok_or(CaseError::NotFound)?;
        // The closing that stands: the newest final or approved one.
        let closing: Option<(String, bool, Option<i64>)> = resolutions::table
            .filter(resolutions::case_id.eq(case.id))
            .filter(resolutions::state.eq_any(["final", "approved"]))
            .order(resolutions::id.desc())
            .select((
                resolutions::disposition,
                resolutions::customer_confirmed,
                resolutions::resolver_id,
            ))
            .first(conn)
            .optional()?;
        let eligible = case.resolved_at.is_some()
            && closing.as_ref().is_some_and(|(d, confirmed, _)| {
                d == Disposition::FalsePositive.as_str() && *confirmed
            });
        if !eligible {
            return Err(CaseError::Snooze("snooze.error.not_confirmed"));
        }
        let resolver = closing.and_then(|c| c.2);
        if !by.supervisor && resolver != Some(by.user_id) {
            return Err(CaseError::Forbidden);
        }
        let until = now + Duration::days(days);
        let at = store::to_db(now);
        let Some(snooze) = snooze_store::insert(
            conn,
            &NewSnooze {
                customer_id: case.customer_id,
                rule_code: &case.rule_code,
                case_id: case.id,
                reason,
                created_by: Some(by.user_id),
                at,
                until: store::to_db(until),
            },
        )?
        else {
            return Err(CaseError::Snooze("snooze.error.already"));
        };
        let customer: String = customers::table
            .find(case.customer_id)
            .select(customers::external_id)
            .first(conn)?;
        case_store::add_event(
            conn,
            case.id,
            at,
            Some(by.user_id),
            &CaseEvent::Snoozed(ev::Snoozed {
                snooze: snooze.id,
                rule: case.rule_code.clone(),
                customer,
                days,
                until,
                reason: reason.to_string(),
            }),
        )?;
        Ok(snooze)
    })
}

/// Ends snooze `id` early (a supervisor), with the event on its case's timeline.
pub fn end(conn: &mut DbConn, now: DateTime<Utc>, by: By, id: i64) -> Result<Snooze, CaseError> {
    if !by.supervisor {
        return Err(CaseError::Forbidden);
    }
    run(conn, |conn| {
        let s = snooze_store::find(conn, id)?.ok_or(CaseError::NotFound)?;
        if !finish(conn, &s, Some(by.user_id), now, ev::SnoozeEnd::Ended)? {
            return Err(CaseError::Snooze("snooze.error.ended"));
        }
        Ok(s)
    })
}

/// Ends the snoozes whose time is up; returns how many this call ended (each once,
/// however many instances run it).
pub fn expire_due(conn: &mut DbConn, now: DateTime<Utc>) -> Result<usize, CaseError> {
    let due = snooze_store::due(conn, store::to_db(now), 200)?;
    let mut ended = 0;
    for s in due {
        let done = run(conn, |conn| {
            let until = store::from_db(s.until);
            finish(conn, &s, None, until, ev::SnoozeEnd::Expired)
        })?;
        ended += usize::from(done);
    }
    Ok(ended)
}

fn finish(
    conn: &mut DbConn,
    s: &Snooze,
    by: Option<i64>,
    at: DateTime<Utc>,
    how: ev::SnoozeEnd,
) -> Result<bool, CaseError> {
    let t = store::to_db(at);
    if !snooze_store::end(conn, s, by, t, how.as_str())? {
        return Ok(false);
    }
    let customer: String = customers::table
        .find(s.customer_id)
        .select(customers::external_id)
        .first(conn)?;
    case_store::add_event(
        conn,
        s.case_id,
        t,
        by,
        &CaseEvent::SnoozeEnded(ev::SnoozeEnded {
            snooze: s.id,
            rule: s.rule_code.clone(),
            customer,
            how,
        }),
    )?;
    Ok(true)
}
