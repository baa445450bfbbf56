// Snoozes of a rule for a customer: the rows, the one active per customer and rule,
// the list supervisors and the engine read, and the customers' count of active ones.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{customers, snoozes, users};
use crate::dispatch;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = snoozes)]
pub struct Snooze {
    pub id: i64,
    pub customer_id: i64,
    pub rule_code: String,
    pub case_id: i64,
    pub reason: String,
    pub created_by: Option<i64>,
    pub created_at: NaiveDateTime,
    pub until: NaiveDateTime,
    pub ended_at: Option<NaiveDateTime>,
    pub ended_by: Option<i64>,
    pub end_reason: Option<String>,
}

/// A snooze as listed: with its customer's external id and its maker's e-mail.
#[derive(Debug, Clone)]
pub struct Listed {
    pub snooze: Snooze,
    pub customer_external_id: String,
    pub created_by_email: Option<String>,
}

pub struct NewSnooze<'a> {
    pub customer_id: i64,
    pub rule_code: &'a str,
    pub case_id: i64,
    pub reason: &'a str,
    pub created_by: Option<i64>,
    pub at: NaiveDateTime,
    pub until: NaiveDateTime,
}

/// Inserts an active snooze and counts it on the customer; `None` when the
/// customer's rule is snoozed already (one active per customer and rule).
pub fn insert(conn: &mut DbConn, s: &NewSnooze) -> QueryResult<Option<Snooze>> {
    let row: Option<Snooze> = dispatch!(conn, |c| diesel::insert_into(snoozes::table)
        .values((
            snoozes::customer_id.eq(s.customer_id),
            snoozes::rule_code.eq(s.rule_code),
            snoozes::case_id.eq(s.case_id),
            snoozes::reason.eq(s.reason),
            snoozes::created_by.eq(s.created_by),
            snoozes::created_at.eq(s.at),
            snoozes::until.eq(s.until),
        ))
        .on_conflict_do_nothing()
        .returning(Snooze::as_returning())
        .get_result(c)
        .optional())?;
    if row.is_some() {
        diesel::update(customers::table.find(s.customer_id))
            .set(customers::active_snoozes.eq(customers::active_snoozes + 1))
            .execute(conn)?;
    }
    Ok(row)
}

/// The active snooze of `customer_id`'s rule `rule`, if any (however late: an
/// expired one still counts until the expiry job ends it, so `until` is checked).
pub fn active_for(
    conn: &mut DbConn,
    customer_id: i64,
    rule: &str,
    at: NaiveDateTime,
) -> QueryResult<Option<Snooze>> {
    snoozes::table
        .filter(snoozes::customer_id.eq(customer_id))
        .filter(snoozes::rule_code.eq(rule))
        .filter(snoozes::ended_at.is_null())
        .filter(snoozes::until.gt(at))
        .select(Snooze::as_select())
        .first(conn)
        .optional()
}

pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<Snooze>> {
    snoozes::table
        .find(id)
        .select(Snooze::as_select())
        .first(conn)
        .optional()
}

/// Ends an active snooze; false when it had ended already (another instance, or a
/// supervisor a moment before).
pub fn end(
    conn: &mut DbConn,
    s: &Snooze,
    by: Option<i64>,
    at: NaiveDateTime,
    reason: &str,
) -> QueryResult<bool> {
    let n = diesel::update(
        snoozes::table
            .find(s.id)
            .filter(snoozes::ended_at.is_null()),
    )
    .set((
        snoozes::ended_at.eq(Some(at)),
        snoozes::ended_by.eq(by),
        snoozes::end_reason.eq(Some(reason)),
    ))
    .execute(conn)?;
    if n == 1 {
        diesel::update(customers::table.find(s.customer_id))
            .set(customers::active_snoozes.eq(customers::active_snoozes - 1))
            .execute(conn)?;
    }
    Ok(n == 1)
}

/// Active snoozes whose time is up at `at`, oldest first (at most `limit`).
pub fn due(conn: &mut DbConn, at: NaiveDateTime, limit: i64) -> QueryResult<Vec<Snooze>> {
    snoozes::table
        .filter(snoozes::ended_at.is_null())
        .filter(snoozes::until.le(at))
        .order(snoozes::until.asc())
        .select(Snooze::as_select())
        .limit(limit)
        .load(conn)
}

/// The active snoozes, soonest to end first (at most `limit`).
pub fn active(conn: &mut DbConn, limit: i64) -> QueryResult<Vec<Listed>> {
    let rows: Vec<(Snooze, String, Option<String>)> = snoozes::table
        .inner_join(customers::table)
        .left_join(users::table.on(users::id.nullable().eq(snoozes::created_by)))
        .filter(snoozes::ended_at.is_null())
        .order(snoozes::until.asc())
        .select((
            Snooze::as_select(),
            customers::external_id,
            users::email.nullable(),
        ))
        .limit(limit)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(snooze, customer_external_id, created_by_email)| Listed {
            snooze,
            customer_external_id,
            created_by_email,
        })
        .collect())
}

/// The snoozes made on a case, newest first.
pub fn of_case(conn: &mut DbConn, case_id: i64) -> QueryResult<Vec<Snooze>> {
    snoozes::table
        .filter(snoozes::case_id.eq(case_id))
        .order(snoozes::id.desc())
        .select(Snooze::as_select())
        .load(conn)
}
