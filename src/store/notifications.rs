// In-app notifications: a user's latest, and marking them read. (They are written
// by `cases::notices`.)

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::notifications;

/// One stored notification: when, its kind, the case it is about, its data (JSON)
/// and when it was read.
pub type Row = (
    NaiveDateTime,
    String,
    Option<i64>,
    String,
    Option<NaiveDateTime>,
);

/// The user's latest notifications, newest first.
pub fn latest(conn: &mut DbConn, user_id: i64, limit: i64) -> QueryResult<Vec<Row>> {
    notifications::table
        .filter(notifications::user_id.eq(user_id))
        .select((
            notifications::at,
            notifications::kind,
            notifications::case_id,
            notifications::data,
            notifications::read_at,
        ))
        .order(notifications::id.desc())
        .limit(limit)
        .load(conn)
}

/// Marks every unread notification of the user read at `at`.
pub fn mark_all_read(conn: &mut DbConn, user_id: i64, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        notifications::table
            .filter(notifications::user_id.eq(user_id))
            .filter(notifications::read_at.is_null()),
    )
    .set(notifications::read_at.eq(Some(at)))
    .execute(conn)
}
