// Closing a case and what may follow: a closing that takes effect at once or waits
// for a supervisor's approval (maker-checker), the approver's decision, reopening a
// resolved case on a complaint, and handing a case off to another department's queue.
// Each step is one transaction with its timeline event.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::json;

use super::{CaseError, allowed, changed, load, run};
use crate::accounts::{self, Actor};
use crate::cases::assign::Unassigned;
use crate::cases::clock::{self, Outcome};
use crate::config::Settings;
use crate::db::DbConn;
use crate::db::schema::{alerts, case_alarms, case_events, cases, resolutions};
use crate::domain::Refusal;
use crate::domain::events::{self as ev, CaseEvent, ReturnReason};
use crate::domain::lifecycle::Command;
use crate::domain::money::Decimal;
use crate::domain::resolution::{self as rules, ApprovalReason, Closing, Disposition};
use crate::domain::severity::Severity;
use crate::store::cases::{self as case_store, Case, case_ref, open_key};
use crate::store::deskconfig::Snapshot;
use crate::store::{self};

/// Who acts, as the rules of closing see them.
#[derive(Debug, Clone)]
pub struct Closer {
    pub user_id: i64,
    pub supervisor: bool,
    pub ip: Option<String>,
}

impl Closer {
    fn actor(&self) -> Actor {
        Actor::user(self.user_id, self.ip.clone())
    }
}

/// The errors of closing a case are the case commands' own.
pub type ResolutionError = CaseError;

/// What a closing came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Closed {
    Resolved,
    AwaitingApproval(ApprovalReason),
}

/// A stored closing (the latest of a case is shown on its page).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = resolutions)]
pub struct Resolution {
    pub id: i64,
    pub case_id: i64,
    pub disposition: String,
    pub action: String,
    pub amount_protected: Option<String>,
    pub currency: Option<String>,
    pub note: String,
    pub customer_confirmed: bool,
    pub resolver_id: Option<i64>,
    pub created_at: chrono::NaiveDateTime,
    pub approval_reason: Option<String>,
    pub state: String,
    pub approver_id: Option<i64>,
    pub decided_at: Option<chrono::NaiveDateTime>,
    pub decision_note: Option<String>,
}

fn may_work(case: &Case, who: &Closer) -> bool {
    who.supervisor || case.assignee_id == Some(who.user_id)
}

/// The amounts stopped by the case's alerts, each with its currency.
fn held_amounts(
    conn: &mut DbConn,
    case_id: i64,
) -> Result<Vec<(Decimal, Option<String>)>, ResolutionError> {
    let rows: Vec<(Option<String>, Option<String>)> = alerts::table
        .filter(alerts::case_id.eq(case_id))
        .select((alerts::amount, alerts::currency))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(a, c)| Some((a?.parse::<Decimal>().ok()?, c)))
        .collect())
}

/// Whether the customer said it was them: a verification answer "confirm" or a
/// call with the outcome "verified" on the timeline.
fn customer_confirmed(conn: &mut DbConn, case_id: i64) -> Result<bool, ResolutionError> {
    let rows: Vec<(String, String)> = case_events::table
        .filter(case_events::case_id.eq(case_id))
        .filter(case_events::kind.eq_any(["verification.answered", "call.logged"]))
        .select((case_events::kind, case_events::data))
        .load(conn)?;
    Ok(rows
        .iter()
        .filter_map(|(kind, data)| CaseEvent::from_parts(kind, data).ok())
        .any(|e| match e {
            CaseEvent::VerificationAnswered(a) => a.answer == ev::Answer::Confirm,
            CaseEvent::CallLogged(c) => c.outcome == "verified",
            _ => false,
        }))
}

fn is_aml(snap: &Snapshot, case: &Case) -> bool {
    snap.rules
        .get(&case.rule_code)
        .is_some_and(|r| r.category == "aml")
}

/// The details of a closing as the `case.resolved` event carries them.
fn details(r: &Resolution) -> ev::ClosingDetails {
    ev::ClosingDetails {
        action: Some(r.action.clone()),
        amount_protected: r.amount_protected.clone(),
        currency: r.currency.clone(),
        note: Some(r.note.clone()),
        customer_confirmed: r.customer_confirmed,
    }
}

/// Closes a case: at once, or — for a risky closing — as a request that waits for a
/// supervisor, the case standing `pending_approval` meanwhile.
pub fn close(
    conn: &mut DbConn,
    settings: &Settings,
    snap: &Snapshot,
    now: DateTime<Utc>,
    who: &Closer,
    case_id: i64,
    closing: &Closing,
) -> Result<Closed, ResolutionError> {
    run(conn, |conn| {
        let case = load(conn, case_id)?;
        allowed(Command::Resolve, &case)?;
        if !may_work(&case, who) {
            return Err(CaseError::Forbidden);
        }
        let amounts = held_amounts(conn, case.id)?;
        let approval = rules::approval_needed(
            closing,
            &amounts,
            &settings.approval_release_thresholds,
            is_aml(snap, &case),
        );
        // The amount the closing is about: the first over its threshold, else the
        // largest.
        let (held, currency) = amounts
            .iter()
            .find(|(a, c)| {
                settings
                    .approval_release_thresholds
                    .exceeded(*a, c.as_deref())
            })
            .or_else(|| amounts.iter().max_by_key(|(a, _)| *a))
            .cloned()
            .map_or((None, None), |(a, c)| (Some(a), c));
        let confirmed =
            closing.disposition == Disposition::FalsePositive && customer_confirmed(conn, case.id)?;
        let at = store::to_db(now);
        let row = record_closing(
            conn,
            &NewClosing {
                case_id: case.id,
                disposition: closing.disposition,
                action: closing.action,
                amount_protected: closing.amount_protected.map(|a| a.to_string()),
                currency: currency.clone(),
                note: &closing.note,
                customer_confirmed: confirmed,
                resolver: Some(who.user_id),
                at,
                approval,
            },
        )?;
        match approval {
            Some(reason) => {
                let to = allowed(Command::RequestClosing, &case)?;
                changed(crate::update_case_if_unchanged!(
                    conn,
                    case,
                    (cases::status.eq(to), cases::updated_at.eq(at))
                )?)?;
                let data = CaseEvent::ClosingRequested(ev::ClosingRequested {
                    disposition: row.disposition.clone(),
                    details: details(&row),
                    reason: reason.as_str().to_string(),
                    held: held.map(|h| h.to_string()),
                });
                case_store::add_event(conn, case.id, at, Some(who.user_id), &data)?;
                let supervisors: Vec<i64> = crate::cases::notices::supervisors(conn)?
                    .into_iter()
                    .filter(|s| *s != who.user_id)
                    .collect();
                crate::cases::notices::notify(
                    conn,
                    &supervisors,
                    now,
                    "approval.requested",
                    case.id,
                    &json!({"case_ref": case_ref(case.id), "reason": reason.as_str()}),
                )?;
                Ok(Closed::AwaitingApproval(reason))
            }
            None => {
                resolve(
                    conn,
                    settings,
                    snap,
                    now,
                    case.id,
                    Outcome {
                        resolver: Some(who.user_id),
                        disposition: closing.disposition.as_str(),
                        details: details(&row),
                        approved_by: None,
                        by_customer: false,
                    },
                )?;
                Ok(Closed::Resolved)
            }
        }
    })
}

/// Closes the case (see [`clock::resolve`]) and queues its satisfaction survey in
/// the same transaction: how [`close`] and an approval end a case.
pub fn resolve(
    conn: &mut DbConn,
    settings: &Settings,
    snap: &Snapshot,
    now: DateTime<Utc>,
    case_id: i64,
    outcome: Outcome<'_>,
) -> Result<Case, CaseError> {
    let resolved = clock::resolve(conn, settings, snap, now, case_id, outcome)?;
    crate::cases::verify::queue_survey(conn, settings, now, &resolved)?;
    Ok(resolved)
}

/// The closing of a case that waits for approval, if any.
pub fn pending(conn: &mut DbConn, case_id: i64) -> QueryResult<Option<Resolution>> {
    resolutions::table
        .filter(resolutions::case_id.eq(case_id))
        .filter(resolutions::state.eq("pending"))
        .select(Resolution::as_select())
        .first(conn)
        .optional()
}

/// The closings that wait for a supervisor's decision, oldest first (at most
/// `limit`), each with its case's rule and the e-mail of the agent who asked.
pub fn waiting_approval(
    conn: &mut DbConn,
    limit: i64,
) -> QueryResult<Vec<(Resolution, String, Option<String>)>> {
    use crate::db::schema::users;
    resolutions::table
        .inner_join(cases::table)
        .left_join(users::table.on(users::id.nullable().eq(resolutions::resolver_id)))
        .filter(resolutions::state.eq("pending"))
        .order(resolutions::created_at.asc())
        .limit(limit)
        .select((
            Resolution::as_select(),
            cases::rule_code,
            users::email.nullable(),
        ))
        .load(conn)
}

/// The closings of a case, newest first.
pub fn history(conn: &mut DbConn, case_id: i64) -> QueryResult<Vec<Resolution>> {
    resolutions::table
        .filter(resolutions::case_id.eq(case_id))
        .select(Resolution::as_select())
        .order(resolutions::id.desc())
        .load(conn)
}

/// A supervisor's word on a waiting closing, with a note (required to reject).
#[derive(Debug, Clone, Copy)]
pub enum Decision<'a> {
    Approve(&'a str),
    Reject(&'a str),
}

/// A supervisor approves or rejects a waiting closing. Approved, the case is
/// resolved as its agent asked; rejected (with a note), it goes back to them.
pub fn decide(
    conn: &mut DbConn,
    settings: &Settings,
    snap: &Snapshot,
    now: DateTime<Utc>,
    who: &Closer,
    case_id: i64,
    decision: Decision<'_>,
) -> Result<(), ResolutionError> {
    let (approve, note) = match decision {
        Decision::Approve(note) => (true, note.trim()),
        Decision::Reject(note) => (false, note.trim()),
    };
    if !approve && note.is_empty() {
        return Err(CaseError::ReasonRequired);
    }
    run(conn, |conn| {
        let case = load(conn, case_id)?;
        allowed(Command::Approve, &case)?;
        let Some(request) = pending(conn, case.id)? else {
            return Err(CaseError::Refused(Refusal::NothingPending));
        };
        if !who.supervisor {
            return Err(CaseError::Forbidden);
        }
        if !rules::may_approve(who.user_id, who.supervisor, request.resolver_id) {
            return Err(CaseError::OwnRequest);
        }
        let at = store::to_db(now);
        let n = diesel::update(
            resolutions::table
                .find(request.id)
                .filter(resolutions::state.eq("pending")),
        )
        .set((
            resolutions::state.eq(if approve { "approved" } else { "rejected" }),
            resolutions::approver_id.eq(Some(who.user_id)),
            resolutions::decided_at.eq(Some(at)),
            resolutions::decision_note.eq((!note.is_empty()).then_some(note)),
        ))
        .execute(conn)?;
        if n == 0 {
            return Err(CaseError::Refused(Refusal::NothingPending));
        }
        let reference = case_ref(case.id);
        if approve {
            resolve(
                conn,
                settings,
                snap,
                now,
                case.id,
                Outcome {
                    resolver: request.resolver_id,
                    disposition: &request.disposition,
                    details: details(&request),
                    approved_by: Some(who.user_id),
                    by_customer: false,
                },
            )?;
            case_store::add_event(
                conn,
                case.id,
                at,
                Some(who.user_id),
                &CaseEvent::ClosingApproved(ev::Decision {
                    note: (!note.is_empty()).then(|| note.to_string()),
                    disposition: request.disposition.clone(),
                }),
            )?;
        } else {
            let status = allowed(Command::Reject, &case)?;
            changed(crate::update_case_if_unchanged!(
                conn,
                case,
                (cases::status.eq(status), cases::updated_at.eq(at))
            )?)?;
            case_store::add_event(
                conn,
                case.id,
                at,
                Some(who.user_id),
                &CaseEvent::ClosingRejected(ev::Decision {
                    note: Some(note.to_string()),
                    disposition: request.disposition.clone(),
                }),
            )?;
        }
        if let Some(resolver) = request.resolver_id {
            crate::cases::notices::notify(
                conn,
                &[resolver],
                now,
                if approve {
                    "approval.approved"
                } else {
                    "approval.rejected"
                },
                case.id,
                &json!({"case_ref": reference, "note": note}),
            )?;
        }
        accounts::record(
            conn,
            now,
            &who.actor(),
            if approve {
                "resolution.approved"
            } else {
                "resolution.rejected"
            },
            Some(&reference),
            json!({"disposition": request.disposition, "action": request.action, "resolver": request.resolver_id}),
        )?;
        Ok(())
    })
}

/// Starts the case's SLA anew at `now` under `queue`'s policy: new deadlines, no
/// pause, not breached, and its alarms free to fire again.
fn restart_clock(
    conn: &mut DbConn,
    snap: &Snapshot,
    case: &Case,
    queue_id: i64,
    now: DateTime<Utc>,
    keep_first_response: bool,
) -> Result<(DateTime<Utc>, DateTime<Utc>), ResolutionError> {
    let queue = snap
        .queues_by_id
        .get(&queue_id)
        .ok_or(CaseError::UnknownQueue)?;
    let priority: Severity = case.priority;
    let dues = queue.policy.dues(now, priority, 0);
    let responded = keep_first_response && case.first_responded_at.is_some();
    let next = clock::next_due_of(responded, dues.first_response, dues.resolution);
    let at = store::to_db(now);
    // The customer's open case of that queue, if this one may be it.
    let key = open_key(case.customer_id, queue_id);
    let key = match case_store::find_open(conn, &key)? {
        Some(other) if other.id != case.id => None,
        _ => Some(key),
    };
    diesel::update(cases::table.find(case.id))
        .set((
            cases::queue_id.eq(queue_id),
            cases::open_key.eq(key),
            cases::sla_started_at.eq(Some(at)),
            cases::first_response_due.eq(store::to_db(dues.first_response)),
            cases::resolution_due.eq(store::to_db(dues.resolution)),
            cases::first_responded_at.eq(if responded {
                case.first_responded_at
            } else {
                None
            }),
            cases::paused_since.eq(None::<chrono::NaiveDateTime>),
            cases::pause_reason.eq(None::<String>),
            cases::paused_minutes.eq(0),
            cases::breached.eq(false),
            cases::next_due.eq(Some(store::to_db(next))),
            cases::next_alarm_at.eq(Some(at)),
            cases::updated_at.eq(at),
        ))
        .execute(conn)?;
    diesel::delete(case_alarms::table.filter(case_alarms::case_id.eq(case.id))).execute(conn)?;
    Ok((dues.first_response, dues.resolution))
}

/// Reopens a resolved case (a complaint), with a reason: it waits in its queue again
/// with its SLA starting anew, and goes to an agent as any case does.
pub fn reopen(
    conn: &mut DbConn,
    snap: &Snapshot,
    now: DateTime<Utc>,
    who: &Closer,
    case_id: i64,
    reason: &str,
) -> Result<Option<i64>, ResolutionError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(CaseError::ReasonRequired);
    }
    run(conn, |conn| {
        let case = load(conn, case_id)?;
        let to = allowed(Command::Reopen, &case)?;
        let at = store::to_db(now);
        let n = diesel::update(
            cases::table
                .find(case.id)
                .filter(cases::resolved_at.is_not_null()),
        )
        .set((
            cases::status.eq(to),
            cases::resolved_at.eq(None::<chrono::NaiveDateTime>),
            cases::resolved_by.eq(None::<i64>),
            cases::disposition.eq(None::<String>),
            cases::assignee_id.eq(None::<i64>),
            cases::assigned_at.eq(None::<chrono::NaiveDateTime>),
            cases::started_at.eq(None::<chrono::NaiveDateTime>),
            cases::reopen_count.eq(cases::reopen_count + 1),
            cases::waiting_since.eq(Some(at)),
        ))
        .execute(conn)?;
        changed(n)?;
        let (first, resolution) = restart_clock(conn, snap, &case, case.queue_id, now, false)?;
        case_store::add_event(
            conn,
            case.id,
            at,
            Some(who.user_id),
            &CaseEvent::Reopened(ev::Reopened {
                reason: reason.to_string(),
                first_response_due: first,
                resolution_due: resolution,
            }),
        )?;
        accounts::record(
            conn,
            now,
            &who.actor(),
            "case.reopened",
            Some(&case_ref(case.id)),
            json!({"reason": reason}),
        )?;
        Ok(crate::cases::assign::try_assign(
            conn, snap, case.id, now, None, true,
        )?)
    })
}

/// Hands an open case off to another department's queue with a note: its agent is
/// freed, its SLA follows the new queue's policy from now, and it goes to an agent
/// of that queue as any case does.
pub fn hand_off(
    conn: &mut DbConn,
    snap: &Snapshot,
    now: DateTime<Utc>,
    who: &Closer,
    case_id: i64,
    queue_name: &str,
    note: &str,
) -> Result<Option<i64>, ResolutionError> {
    let note = note.trim();
    if note.is_empty() {
        return Err(CaseError::ReasonRequired);
    }
    let target = snap
        .queues_by_name
        .get(queue_name.trim())
        .ok_or(CaseError::UnknownQueue)?;
    run(conn, |conn| {
        let case = load(conn, case_id)?;
        allowed(Command::HandOff, &case)?;
        if !may_work(&case, who) {
            return Err(CaseError::Forbidden);
        }
        if case.queue_id == target.id {
            return Err(CaseError::SameQueue);
        }
        let from = snap
            .queues_by_id
            .get(&case.queue_id)
            .map(|q| q.name.clone())
            .unwrap_or_default();
        let former = case.assignee_id;
        crate::cases::assign::unassign(
            conn,
            &case,
            now,
            Some(who.user_id),
            Unassigned::Returned(ReturnReason::HandedOff),
        )?;
        let (first, resolution) = restart_clock(conn, snap, &case, target.id, now, true)?;
        case_store::add_event(
            conn,
            case.id,
            store::to_db(now),
            Some(who.user_id),
            &CaseEvent::HandedOff(ev::HandedOff {
                from,
                to: target.name.clone(),
                note: note.to_string(),
                first_response_due: first,
                resolution_due: resolution,
            }),
        )?;
        let given = crate::cases::assign::try_assign(conn, snap, case.id, now, former, true)?;
        if let Some(agent) = former {
            crate::cases::assign::fill_agent(conn, snap, agent, now, false)?;
        }
        Ok(given)
    })
}

/// The customer confirmed "it was me" on a case of a rule that lets customers release
/// their own payments (`release_on_confirm_up_to`): the case closes by itself — a
/// false positive, the money released, by the customer — unless the case is AML, an
/// amount of it is over the limit, it holds another alert (or the customer has
/// another open case), the customer may not be contacted, or a closing waits for
/// approval. In the caller's transaction; true when it closed the case.
pub fn release_by_customer(
    conn: &mut DbConn,
    settings: &Settings,
    snap: &Snapshot,
    now: DateTime<Utc>,
    case_id: i64,
) -> Result<bool, CaseError> {
    let case = load(conn, case_id)?;
    let Some(limit) = snap
        .rules
        .get(&case.rule_code)
        .and_then(|r| r.release_on_confirm_up_to.as_ref())
    else {
        return Ok(false);
    };
    if case.resolved_at.is_some()
        || allowed(Command::Resolve, &case).is_err()
        || is_aml(snap, &case)
        || crate::cases::verify::customer_under_aml(conn, case.customer_id)?
        || case.alert_count > 1
    {
        return Ok(false);
    }
    let customer = case_store::customer(conn, case.customer_id)?;
    if customer.do_not_contact {
        return Ok(false);
    }
    let others: i64 = cases::table
        .filter(cases::customer_id.eq(case.customer_id))
        .filter(cases::resolved_at.is_null())
        .filter(cases::id.ne(case.id))
        .count()
        .get_result(conn)?;
    if others > 0 {
        return Ok(false);
    }
    let amounts = held_amounts(conn, case.id)?;
    if amounts
        .iter()
        .any(|(a, c)| limit.exceeded(*a, c.as_deref()))
    {
        return Ok(false);
    }
    let row = record_closing(
        conn,
        &NewClosing {
            case_id: case.id,
            disposition: Disposition::FalsePositive,
            action: rules::Action::Released,
            amount_protected: None,
            currency: amounts.first().and_then(|(_, c)| c.clone()),
            note: "",
            customer_confirmed: true,
            resolver: None,
            at: store::to_db(now),
            approval: None,
        },
    )?;
    resolve(
        conn,
        settings,
        snap,
        now,
        case.id,
        Outcome {
            resolver: None,
            disposition: Disposition::FalsePositive.as_str(),
            details: details(&row),
            approved_by: None,
            by_customer: true,
        },
    )?;
    Ok(true)
}

/// A closing as it is stored: final, or pending when it waits for approval.
struct NewClosing<'a> {
    case_id: i64,
    disposition: Disposition,
    action: rules::Action,
    amount_protected: Option<String>,
    currency: Option<String>,
    note: &'a str,
    customer_confirmed: bool,
    resolver: Option<i64>,
    at: chrono::NaiveDateTime,
    approval: Option<ApprovalReason>,
}

fn record_closing(conn: &mut DbConn, c: &NewClosing) -> QueryResult<Resolution> {
    diesel::insert_into(resolutions::table)
        .values((
            resolutions::case_id.eq(c.case_id),
            resolutions::disposition.eq(c.disposition.as_str()),
            resolutions::action.eq(c.action.as_str()),
            resolutions::amount_protected.eq(&c.amount_protected),
            resolutions::currency.eq(&c.currency),
            resolutions::note.eq(c.note),
            resolutions::customer_confirmed.eq(c.customer_confirmed),
            resolutions::resolver_id.eq(c.resolver),
            resolutions::created_at.eq(c.at),
            resolutions::approval_reason.eq(c.approval.map(ApprovalReason::as_str)),
            resolutions::state.eq(if c.approval.is_some() {
                "pending"
            } else {
                "final"
            }),
        ))
        .returning(resolutions::all_columns)
        .get_result(conn)
}
