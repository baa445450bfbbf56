// Diesel queries, one file per aggregate. Every function takes a connection and
// returns plain rows; transactions are opened by the callers in `accounts` and `web`.

pub mod apikeys;
pub mod audit;
pub mod board;
pub mod calls;
pub mod campaigns;
pub mod cases;
pub mod deskconfig;
pub mod identifiers;
pub mod inbound;
pub mod jobs;
pub mod knowledge;
pub mod labels;
pub mod messages;
pub mod mfa;
pub mod notifications;
pub mod oncall;
pub mod outbox;
pub mod playbooks;
pub mod search;
pub mod sessions;
pub mod settings;
pub mod snoozes;
pub mod types;
pub mod users;
pub mod views;
pub mod webhooks;
pub mod worklist;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// Times are stored as UTC wall-clock timestamps on both backends.
pub fn to_db(t: DateTime<Utc>) -> NaiveDateTime {
    t.naive_utc()
}

pub fn from_db(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

/// True when the error is a unique-constraint violation.
pub fn is_unique_violation(e: &DieselError) -> bool {
    matches!(
        e,
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)
    )
}
