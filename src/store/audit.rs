// The security audit trail: append-only (the database refuses updates and deletes),
// written in the same transaction as the change it records.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{audit_events, users};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub struct AuditEvent {
    pub id: i64,
    pub at: NaiveDateTime,
    pub actor_user_id: Option<i64>,
    pub kind: String,
    pub subject: Option<String>,
    pub ip: Option<String>,
    pub detail: String,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = audit_events)]
pub struct NewAuditEvent<'a> {
    pub at: NaiveDateTime,
    pub actor_user_id: Option<i64>,
    pub kind: &'a str,
    pub subject: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub detail: String,
}

pub fn insert(conn: &mut DbConn, event: &NewAuditEvent<'_>) -> QueryResult<usize> {
    diesel::insert_into(audit_events::table)
        .values(event)
        .execute(conn)
}

/// A page of events, newest first, older than `before_id` when given, with the
/// actor's e-mail.
pub fn page(
    conn: &mut DbConn,
    before_id: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<(AuditEvent, Option<String>)>> {
    let mut q = audit_events::table
        .left_join(users::table)
        .select((AuditEvent::as_select(), users::email.nullable()))
        .order(audit_events::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(id) = before_id {
        q = q.filter(audit_events::id.lt(id));
    }
    q.load(conn)
}

/// Events of one kind, oldest first (for tests and reports).
pub fn of_kind(conn: &mut DbConn, kind: &str) -> QueryResult<Vec<AuditEvent>> {
    audit_events::table
        .filter(audit_events::kind.eq(kind))
        .select(AuditEvent::as_select())
        .order(audit_events::id.asc())
        .load(conn)
}
