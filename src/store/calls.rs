// Logged verification calls of a case: stored with the number masked, listed newest
// first, and the requested callbacks that are due for their reminder.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{calls, users};
use crate::dispatch;
use crate::domain::calls::{CallInput, FAILED};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = calls)]
pub struct Call {
    pub id: i64,
    pub case_id: i64,
    pub agent_id: Option<i64>,
    pub at: NaiveDateTime,
    pub number_masked: String,
    pub direction: String,
    pub outcome: String,
    pub duration_seconds: Option<i32>,
    pub notes: String,
    pub callback_at: Option<NaiveDateTime>,
    pub reminded_at: Option<NaiveDateTime>,
}

/// Stores one call; returns its id.
pub fn insert(
    conn: &mut DbConn,
    case_id: i64,
    agent_id: i64,
    at: NaiveDateTime,
    number_masked: &str,
    input: &CallInput,
) -> QueryResult<i64> {
    let callback = input.callback_at.map(crate::store::to_db);
    dispatch!(conn, |c| diesel::insert_into(calls::table)
        .values((
            calls::case_id.eq(case_id),
            calls::agent_id.eq(Some(agent_id)),
            calls::at.eq(at),
            calls::number_masked.eq(number_masked),
            calls::direction.eq(&input.direction),
            calls::outcome.eq(&input.outcome),
            calls::duration_seconds.eq(input.duration_seconds),
            calls::notes.eq(&input.notes),
            calls::callback_at.eq(callback),
        ))
        .returning(calls::id)
        .get_result(c))
}

/// The calls of a case, newest first, with the e-mail of the agent who logged each.
pub fn of_case(conn: &mut DbConn, case_id: i64) -> QueryResult<Vec<(Call, Option<String>)>> {
    calls::table
        .left_join(users::table.on(users::id.nullable().eq(calls::agent_id)))
        .filter(calls::case_id.eq(case_id))
        .select((Call::as_select(), users::email.nullable()))
        .order(calls::id.desc())
        .limit(200)
        .load(conn)
}

/// How many calls of the case did not reach the customer.
pub fn failed_count(conn: &mut DbConn, case_id: i64) -> QueryResult<i64> {
    calls::table
        .filter(calls::case_id.eq(case_id))
        .filter(calls::outcome.eq_any(FAILED))
        .count()
        .get_result(conn)
}

/// Requested callbacks due by `now` whose reminder has not gone out, oldest first.
pub fn callbacks_due(conn: &mut DbConn, now: NaiveDateTime, limit: i64) -> QueryResult<Vec<Call>> {
    calls::table
        .filter(calls::callback_at.le(now))
        .filter(calls::reminded_at.is_null())
        .select(Call::as_select())
        .order(calls::callback_at.asc())
        .limit(limit)
        .load(conn)
}

pub fn mark_reminded(conn: &mut DbConn, id: i64, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(calls::table.find(id).filter(calls::reminded_at.is_null()))
        .set(calls::reminded_at.eq(Some(at)))
        .execute(conn)
}
