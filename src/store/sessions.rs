// Browser sessions, kept server-side: the cookie holds a random id, the table its
// digest, so a session ends the moment its row goes (logout, deactivation, expiry).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{sessions, users};
use crate::store::users::User;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions)]
pub struct Session {
    pub id: i64,
    pub token_hash: String,
    pub user_id: i64,
    pub csrf_token: String,
    pub created_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
    pub ip: Option<String>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = sessions)]
pub struct NewSession<'a> {
    pub token_hash: &'a str,
    pub user_id: i64,
    pub csrf_token: &'a str,
    pub created_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
    pub ip: Option<&'a str>,
}

pub fn insert(conn: &mut DbConn, new: &NewSession<'_>) -> QueryResult<usize> {
    diesel::insert_into(sessions::table)
        .values(new)
        .execute(conn)
}

/// The session with this digest and its user, if both exist.
pub fn find_with_user(conn: &mut DbConn, token_hash: &str) -> QueryResult<Option<(Session, User)>> {
    sessions::table
        .inner_join(users::table)
        .filter(sessions::token_hash.eq(token_hash))
        .select((Session::as_select(), User::as_select()))
        .first(conn)
        .optional()
}

pub fn touch(conn: &mut DbConn, id: i64, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(sessions::table.find(id))
        .set(sessions::last_seen_at.eq(now))
        .execute(conn)
}

pub fn delete(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
    diesel::delete(sessions::table.find(id)).execute(conn)
}

/// A user's sessions, the most recently used first.
pub fn list_for_user(conn: &mut DbConn, user_id: i64) -> QueryResult<Vec<Session>> {
    sessions::table
        .filter(sessions::user_id.eq(user_id))
        .select(Session::as_select())
        .order((sessions::last_seen_at.desc(), sessions::id.desc()))
        .load(conn)
}

pub fn delete_for_user(conn: &mut DbConn, user_id: i64) -> QueryResult<usize> {
    diesel::delete(sessions::table.filter(sessions::user_id.eq(user_id))).execute(conn)
}

/// Removes sessions idle since before `idle_before` or created before `created_before`.
pub fn purge(
    conn: &mut DbConn,
    idle_before: NaiveDateTime,
    created_before: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::delete(
        sessions::table.filter(
            sessions::last_seen_at
                .lt(idle_before)
                .or(sessions::created_at.lt(created_before)),
        ),
    )
    .execute(conn)
}
