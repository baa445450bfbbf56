// Bulk work: one action (reassign, close, hand off…) on many cases at once, each
// case through its own command in its own transaction, refused by reference alone.
//
// A bulk action is never a mass UPDATE: for every case it checks that the actor may
// touch it, then runs that case's command (`assign::reassign`, `closing::close`,
// `closing::hand_off`), which reads the case afresh, asks the lifecycle, writes the
// change with its timeline event and commits — or refuses and changes nothing. One
// case's refusal (or lost race) leaves the others alone. One audit entry records the
// whole action: what, why, how many, which were done and which refused.
//
// Adding an action: a variant of [`BulkAction`], its `kind`, `params` and
// `supervisors_only`, its checks in `check` (input that is wrong for every case
// refuses the whole action before any case is touched) and its command in `apply`.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::CaseError;
use super::assign::{self, Reassigned};
use super::closing::{self, Closed, Closer};
use crate::accounts;
use crate::config::Settings;
use crate::db::DbConn;
use crate::domain::resolution::{Action, Closing, Disposition, Problem};
use crate::store::cases::{self as case_store, Case, case_ref};
use crate::store::deskconfig::Snapshot;

/// The most cases one bulk action takes.
pub const MAX_CASES: usize = 1000;
/// The longest reason, in characters.
pub const REASON_MAX: usize = 500;

/// What to do to every chosen case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BulkAction {
    /// Give each case to this agent (supervisors and admins only).
    Reassign { to: i64 },
    /// Close each case with one disposition, action and note ("close as duplicate"
    /// is `Disposition::Duplicate`). A closing that needs a supervisor's approval is
    /// requested, not made, and reported among the refusals as such.
    Close {
        disposition: Disposition,
        action: Action,
        note: String,
    },
    /// Hand each case off to this queue (by name), the reason as the hand-off note.
    HandOff { queue: String },
    /// Add each case to this open campaign (supervisors and admins only).
    AddToCampaign { campaign: i64 },
}

impl BulkAction {
    /// The action's name in the audit log.
    pub fn kind(&self) -> &'static str {
        match self {
            BulkAction::Reassign { .. } => "reassign",
            BulkAction::Close { .. } => "close",
            BulkAction::HandOff { .. } => "hand_off",
            BulkAction::AddToCampaign { .. } => "add_to_campaign",
        }
    }

    /// The action's parameters, for the audit log.
    fn params(&self) -> serde_json::Value {
        match self {
            BulkAction::Reassign { to } => json!({"to": to}),
            BulkAction::Close {
                disposition,
                action,
                note,
            } => {
                json!({"disposition": disposition.as_str(), "action": action.as_str(), "note": note})
            }
            BulkAction::HandOff { queue } => json!({"queue": queue}),
            BulkAction::AddToCampaign { campaign } => json!({"campaign": case_ref(*campaign)}),
        }
    }

    /// Whether only supervisors and admins may take this action on any case (the
    /// others are also open to a case's own agent, as the single-case commands are).
    fn supervisors_only(&self) -> bool {
        matches!(
            self,
            BulkAction::Reassign { .. } | BulkAction::AddToCampaign { .. }
        )
    }
}

/// What a bulk action came to, case by case, in the order asked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BulkOutcome {
    /// The references of the cases the action was done to.
    pub done: Vec<String>,
    /// The references of the cases left as they were, each with the catalog key of
    /// the reason.
    pub refused: Vec<(String, &'static str)>,
}

/// Why a whole bulk action was refused before any case was touched.
#[derive(Debug, thiserror::Error)]
pub enum BulkError {
    #[error("no case was chosen")]
    NoCases,
    #[error("{count} cases were chosen; a bulk action takes at most {max}")]
    TooMany { count: usize, max: usize },
    #[error("a reason is required")]
    ReasonRequired,
    #[error("the reason is too long")]
    ReasonTooLong,
    #[error("no such agent")]
    UnknownAgent,
    #[error("no such queue")]
    UnknownQueue,
    #[error("no open campaign has that reference")]
    UnknownCampaign,
    #[error("the closing has problems")]
    Invalid(Vec<Problem>),
    #[error("database error: {0}")]
    Db(#[from] diesel::result::Error),
}

impl BulkError {
    /// The catalog key of the message (for `TooMany` it takes `{count}` and `{max}`);
    /// `None` for a database failure.
    pub fn key(&self) -> Option<&'static str> {
        Some(match self {
            BulkError::NoCases => "bulk.error.no_cases",
            BulkError::TooMany { .. } => "bulk.error.too_many",
            BulkError::ReasonRequired => "bulk.error.reason_required",
            BulkError::ReasonTooLong => "bulk.error.reason_long",
            BulkError::UnknownAgent => "bulk.error.unknown_agent",
            BulkError::UnknownQueue => "bulk.error.unknown_queue",
            BulkError::UnknownCampaign => "campaign.refused.no_such_campaign",
            BulkError::Invalid(problems) => problems
                .first()
                .map(|p| p.key)
                .unwrap_or("resolution.error.invalid"),
            BulkError::Db(_) => return None,
        })
    }
}

/// The refusal keys of a bulk action's own (the commands' refusals keep theirs).
pub mod refusal {
    use crate::i18n::tkey;

    pub const NOT_FOUND: &str = tkey("bulk.refused.not_found");
    pub const SAME_AGENT: &str = tkey("bulk.refused.same_agent");
    pub const NOT_MEMBER: &str = tkey("bulk.refused.not_member");
    pub const APPROVAL_REQUESTED: &str = tkey("bulk.refused.approval_requested");
    pub const FAILED: &str = tkey("bulk.refused.failed");
}

/// The closing note of a bulk close: the note, then the reason on a line of its
/// own (the reason alone without a note; the note alone when it holds the reason).
pub fn closing_note(note: &str, reason: &str) -> String {
    let (note, reason) = (note.trim(), reason.trim());
    if note.is_empty() {
        reason.to_string()
    } else if note.contains(reason) {
        note.to_string()
    } else {
        format!("{note}\n{reason}")
    }
}

/// What `check` makes of the action once for all cases.
enum Ready {
    Reassign { to: i64 },
    Close(Closing),
    HandOff { queue: String },
    AddToCampaign { campaign: i64 },
}

/// Checks what is the same for every case; wrong input refuses the whole action.
fn check(
    conn: &mut DbConn,
    snap: &Snapshot,
    action: &BulkAction,
    reason: &str,
) -> Result<Ready, BulkError> {
    Ok(match action {
        BulkAction::Reassign { to } => {
            match crate::store::users::find(conn, *to)? {
                Some(u) if u.active => {}
                _ => return Err(BulkError::UnknownAgent),
            }
            Ready::Reassign { to: *to }
        }
        BulkAction::Close {
            disposition,
            action,
            note,
        } => Ready::Close(
            Closing::parse(
                disposition.as_str(),
                action.as_str(),
                "",
                &closing_note(note, reason),
            )
            .map_err(BulkError::Invalid)?,
        ),
        BulkAction::HandOff { queue } => {
            let queue = queue.trim();
            if !snap.queues_by_name.contains_key(queue) {
                return Err(BulkError::UnknownQueue);
            }
            Ready::HandOff {
                queue: queue.to_string(),
            }
        }
        BulkAction::AddToCampaign { campaign } => {
            let open = case_store::find(conn, *campaign)?.is_some_and(|c| c.resolved_at.is_none());
            if !open || !crate::store::campaigns::is_campaign(conn, *campaign)? {
                return Err(BulkError::UnknownCampaign);
            }
            Ready::AddToCampaign {
                campaign: *campaign,
            }
        }
    })
}

/// The refusal key of a command's error (a database failure is logged and reported
/// as a failure of that case alone).
fn refusal_of(e: CaseError, case_id: i64) -> &'static str {
    match e {
        CaseError::NotFound => refusal::NOT_FOUND,
        CaseError::Db(e) => {
            tracing::error!(error = %e, case = case_id, "bulk action failed on a case");
            refusal::FAILED
        }
        other => other.key().unwrap_or(refusal::FAILED),
    }
}

/// Runs the command of `ready` on one case the actor may touch: `Ok` when done,
/// else the refusal's key.
#[allow(clippy::too_many_arguments)]
fn apply(
    conn: &mut DbConn,
    settings: &Settings,
    snap: &Snapshot,
    who: &Closer,
    case: &Case,
    ready: &Ready,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), &'static str> {
    let result = match ready {
        Ready::Reassign { to } => {
            if !crate::store::users::is_member(conn, case.queue_id, *to)
                .map_err(|e| refusal_of(e.into(), case.id))?
            {
                return Err(refusal::NOT_MEMBER);
            }
            match assign::reassign(conn, snap, case.id, *to, who.user_id, reason, now) {
                Ok(Reassigned::Done) => Ok(()),
                Ok(Reassigned::Unchanged) => return Err(refusal::SAME_AGENT),
                Ok(Reassigned::NoRoom) => return Err(crate::i18n::tkey("flash.agent_full")),
                Err(e) => Err(e),
            }
        }
        Ready::Close(closing) => {
            match closing::close(conn, settings, snap, now, who, case.id, closing) {
                Ok(Closed::Resolved) => Ok(()),
                Ok(Closed::AwaitingApproval(_)) => return Err(refusal::APPROVAL_REQUESTED),
                Err(e) => Err(e),
            }
        }
        Ready::HandOff { queue } => {
            closing::hand_off(conn, snap, now, who, case.id, queue, reason).map(|_| ())
        }
        Ready::AddToCampaign { campaign } => {
            let hand = crate::cases::campaign::Hand {
                actor: who.user_id,
                reason,
            };
            match crate::cases::campaign::add(conn, hand, *campaign, &[case.id], now) {
                Ok(made) if made.joined.is_empty() => {
                    return Err(made
                        .refused
                        .first()
                        .map(|(_, key)| *key)
                        .unwrap_or(refusal::FAILED));
                }
                Ok(_) => Ok(()),
                Err(e) => Err(e),
            }
        }
    };
    result.map_err(|e| refusal_of(e, case.id))
}

/// Takes `action` on every case of `case_ids` (each once, in the order given) as
/// `who`, with a required `reason`: each case the actor may touch goes through its
/// own command in its own transaction (with its own timeline event carrying the
/// reason); each case refused — not found, not the actor's to touch, or refused by
/// its command — is listed with the reason and left as it was. One audit entry
/// (`cases.bulk`) records the action. Input wrong for every case (no case, more than
/// [`MAX_CASES`], no reason, an unknown agent or queue, a bad closing) refuses the
/// whole action before any case is touched.
#[allow(clippy::too_many_arguments)]
pub fn run(
    conn: &mut DbConn,
    settings: &Settings,
    snap: &Snapshot,
    who: &Closer,
    case_ids: &[i64],
    action: &BulkAction,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<BulkOutcome, BulkError> {
    let reason = reason.trim();
    let mut ids: Vec<i64> = Vec::with_capacity(case_ids.len());
    for id in case_ids {
        if !ids.contains(id) {
            ids.push(*id);
        }
    }
    if ids.is_empty() {
        return Err(BulkError::NoCases);
    }
    if ids.len() > MAX_CASES {
        return Err(BulkError::TooMany {
            count: ids.len(),
            max: MAX_CASES,
        });
    }
    if reason.is_empty() {
        return Err(BulkError::ReasonRequired);
    }
    if reason.chars().count() > REASON_MAX {
        return Err(BulkError::ReasonTooLong);
    }
    let ready = check(conn, snap, action, reason)?;
    let mut outcome = BulkOutcome::default();
    for id in ids {
        let reference = case_ref(id);
        let Some(case) = case_store::find(conn, id)? else {
            outcome.refused.push((reference, refusal::NOT_FOUND));
            continue;
        };
        let may_touch =
            who.supervisor || (!action.supervisors_only() && case.assignee_id == Some(who.user_id));
        if !may_touch {
            outcome.refused.push((
                reference,
                CaseError::Forbidden.key().unwrap_or(refusal::FAILED),
            ));
            continue;
        }
        match apply(conn, settings, snap, who, &case, &ready, reason, now) {
            Ok(()) => outcome.done.push(reference),
            Err(key) => outcome.refused.push((reference, key)),
        }
    }
    tracing::info!(
        action = action.kind(),
        done = outcome.done.len(),
        refused = outcome.refused.len(),
        "bulk action"
    );
    accounts::record(
        conn,
        now,
        &accounts::Actor::user(who.user_id, who.ip.clone()),
        "cases.bulk",
        Some(action.kind()),
        json!({
            "action": action.kind(),
            "params": action.params(),
            "reason": reason,
            "count": outcome.done.len() + outcome.refused.len(),
            "done": outcome.done,
            "refused": outcome
                .refused
                .iter()
                .map(|(r, k)| json!({"case": r, "reason": k}))
                .collect::<Vec<_>>(),
        }),
    )?;
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_closing_note_carries_the_reason() {
        assert_eq!(closing_note("", " Same transfer "), "Same transfer");
        assert_eq!(
            closing_note("Duplicate of RC-000001", "Same transfer"),
            "Duplicate of RC-000001\nSame transfer"
        );
        assert_eq!(
            closing_note("Same transfer, see RC-000001", "Same transfer"),
            "Same transfer, see RC-000001"
        );
    }

    #[test]
    fn every_refusal_of_the_whole_action_has_a_message() {
        for e in [
            BulkError::NoCases,
            BulkError::TooMany { count: 2, max: 1 },
            BulkError::ReasonRequired,
            BulkError::ReasonTooLong,
            BulkError::UnknownAgent,
            BulkError::UnknownQueue,
            BulkError::Invalid(Vec::new()),
        ] {
            assert!(e.key().is_some(), "{e}");
        }
        assert_eq!(BulkAction::Reassign { to: 1 }.kind(), "reassign");
        assert!(BulkAction::Reassign { to: 1 }.supervisors_only());
        assert!(!BulkAction::HandOff { queue: "Q".into() }.supervisors_only());
    }
}
