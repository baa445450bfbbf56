// Notifications about a case: in the app and by e-mail through the outbox, to the
// case's agent or the supervisors. Every command that tells someone uses these.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{notifications, users};
use crate::store;

/// The active supervisors.
pub fn supervisors(conn: &mut DbConn) -> QueryResult<Vec<i64>> {
    users::table
        .filter(users::role.eq("supervisor"))
        .filter(users::active.eq(true))
        .select(users::id)
        .load(conn)
}

/// Sends an in-app notification about a case to each of `to`, and the same by
/// e-mail through the outbox.
pub fn notify(
    conn: &mut DbConn,
    to: &[i64],
    now: DateTime<Utc>,
    kind: &str,
    case_id: i64,
    data: &serde_json::Value,
) -> QueryResult<()> {
    let at = store::to_db(now);
    let text = data.to_string();
    for user in to {
        diesel::insert_into(notifications::table)
            .values((
                notifications::user_id.eq(user),
                notifications::at.eq(at),
                notifications::kind.eq(kind),
                notifications::case_id.eq(Some(case_id)),
                notifications::data.eq(&text),
            ))
            .execute(conn)?;
        crate::mail::queue_notification(conn, *user, now, kind, case_id, data)?;
    }
    Ok(())
}
