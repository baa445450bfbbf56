// The one door through which a case changes: one function per command (open from an
// alert, assign, start, give back, release, reassign, pause, resume, log a call, send
// a verification, record the answer, request, approve or reject a closing, resolve,
// reopen, hand off, escalate). Each owns its transaction and writes its events.

pub mod aml_report;
pub mod assign;
pub mod bulk;
pub mod calls;
pub mod campaign;
pub mod clock;
pub mod closing;
pub mod conversation;
pub mod emergency;
pub mod escalate;
pub mod notices;
pub mod open;
pub mod snooze;
pub mod verify;

use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::cases;
use crate::domain::CaseStatus;
use crate::domain::lifecycle::{self, Command, Facts, Refusal};
use crate::domain::resolution::Problem;
use crate::store::cases::{self as case_store, Case};

/// Why a command did not change a case. Every variant but `Db` is a clear refusal
/// the user reads; nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    #[error("no such case")]
    NotFound,
    #[error("{0}")]
    Refused(#[from] Refusal),
    #[error("only the case's agent or a supervisor may do this")]
    Forbidden,
    #[error("the form has problems")]
    Invalid(Vec<Problem>),
    #[error("the one who asked cannot approve")]
    OwnRequest,
    #[error("a reason is required")]
    ReasonRequired,
    #[error("no such queue")]
    UnknownQueue,
    #[error("the case is in that queue already")]
    SameQueue,
    /// The case changed between reading and writing, again and again: the command
    /// lost the race. (Once is retried whole; see [`run`].)
    #[error("the case changed meanwhile")]
    Conflict,
    /// A campaign command's refusal, by its translation key.
    #[error("refused: {0}")]
    Campaign(&'static str),
    /// A snooze command's refusal, by its translation key.
    #[error("refused: {0}")]
    Snooze(&'static str),
    /// A refusal about the report to the regulator, by its translation key.
    #[error("refused: {0}")]
    AmlReport(&'static str),
    /// A refusal about an emergency, by its translation key.
    #[error("refused: {0}")]
    Emergency(&'static str),
    /// A refusal about a message to or from the customer, by its translation key.
    #[error("refused: {0}")]
    Conversation(&'static str),
    #[error("database error: {0}")]
    Db(#[from] diesel::result::Error),
}

impl CaseError {
    /// The translation key of the refusal, for a flash message; `None` for a
    /// database failure (a server error) and a missing case (not found).
    pub fn key(&self) -> Option<&'static str> {
        Some(match self {
            CaseError::NotFound | CaseError::Db(_) => return None,
            CaseError::Refused(r) => r.key(),
            CaseError::Forbidden => "lifecycle.not_yours",
            CaseError::Invalid(_) => "resolution.error.invalid",
            CaseError::OwnRequest => "resolution.error.own_request",
            CaseError::ReasonRequired => "flash.reason_required",
            CaseError::UnknownQueue => "resolution.error.unknown_queue",
            CaseError::SameQueue => "resolution.error.same_queue",
            CaseError::Conflict => "lifecycle.conflict",
            CaseError::Campaign(key)
            | CaseError::Snooze(key)
            | CaseError::AmlReport(key)
            | CaseError::Emergency(key)
            | CaseError::Conversation(key) => key,
        })
    }
}

/// How many times a command is run whole when it lost a race or was chosen as a
/// deadlock's victim.
const ATTEMPTS: u32 = 6;

/// Runs a command: one write transaction, run again whole when the database chose
/// it as a deadlock's or serialization failure's victim, or when one of its
/// conditional updates found the case changed since it was read (it then reads
/// the case afresh and decides again: the second time it is a clear refusal if the
/// change makes the command impossible). A user never sees a server error for a
/// lost race.
pub fn run<T, F>(conn: &mut DbConn, mut f: F) -> Result<T, CaseError>
where
    F: FnMut(&mut DbConn) -> Result<T, CaseError>,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        match crate::db::write_tx(conn, &mut f) {
            Err(CaseError::Conflict) if attempt < ATTEMPTS => {
                tracing::debug!(attempt, "command lost a race; run again");
            }
            Err(CaseError::Db(e)) if attempt < ATTEMPTS && crate::db::is_retryable(&e) => {
                tracing::debug!(error = %e, attempt, "command chosen as a deadlock's victim; run again");
                std::thread::sleep(std::time::Duration::from_millis(3 * u64::from(attempt)));
            }
            Err(CaseError::Db(e)) if crate::db::is_retryable(&e) => {
                tracing::warn!(error = %e, "command lost to deadlocks every time");
                return Err(CaseError::Conflict);
            }
            other => return other,
        }
    }
}

/// The case, read inside the command's transaction. On PostgreSQL its row is
/// locked until the command commits, so the decision the command takes on it holds;
/// on SQLite the write transaction holds the whole database already.
pub fn load(conn: &mut DbConn, id: i64) -> Result<Case, CaseError> {
    let found = match conn {
        DbConn::Postgresql(c) => cases::table
            .find(id)
            .select(Case::as_select())
            .for_update()
            .first(c)
            .optional()?,
        DbConn::Sqlite(_) => case_store::find(conn, id)?,
    };
    found.ok_or(CaseError::NotFound)
}

/// What the lifecycle needs to know of a case besides its status.
pub fn facts(case: &Case) -> Facts {
    Facts {
        owned: case.assignee_id.is_some(),
        started: case.started_at.is_some(),
        paused: case.paused_since.is_some(),
    }
}

/// The status `cmd` moves `case` to, or the lifecycle's refusal.
pub fn allowed(cmd: Command, case: &Case) -> Result<CaseStatus, CaseError> {
    Ok(lifecycle::transition(cmd, case.status, facts(case))?)
}

/// A conditional update's row count: none means the case was changed by someone
/// else since the command read it.
pub fn changed(n: usize) -> Result<(), CaseError> {
    if n == 0 {
        Err(CaseError::Conflict)
    } else {
        Ok(())
    }
}

/// Updates the case only if its status and owner are still those the command read
/// (a compare-and-set): `changed` turns a lost race into [`CaseError::Conflict`].
#[macro_export]
macro_rules! update_case_if_unchanged {
    ($conn:expr, $case:expr, $set:expr) => {{
        use $crate::db::schema::cases as __cases;
        let __c = &$case;
        match __c.assignee_id {
            Some(__a) => diesel::update(
                __cases::table
                    .find(__c.id)
                    .filter(__cases::status.eq(__c.status))
                    .filter(__cases::assignee_id.eq(__a)),
            )
            .set($set)
            .execute($conn),
            None => diesel::update(
                __cases::table
                    .find(__c.id)
                    .filter(__cases::status.eq(__c.status))
                    .filter(__cases::assignee_id.is_null()),
            )
            .set($set)
            .execute($conn),
        }
    }};
}
