// The second factor's rows: each user's authenticator (sealed secret, last step
// accepted), their recovery codes' digests, and sign-ins waiting for the second step.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{mfa_challenges, mfa_factors, mfa_recovery_codes};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = mfa_factors)]
pub struct Factor {
    pub user_id: i64,
    pub secret_sealed: String,
    pub created_at: NaiveDateTime,
    pub confirmed_at: Option<NaiveDateTime>,
    pub last_step: Option<i64>,
}

impl Factor {
    pub fn confirmed(&self) -> bool {
        self.confirmed_at.is_some()
    }
}

pub fn find(conn: &mut DbConn, user_id: i64) -> QueryResult<Option<Factor>> {
    mfa_factors::table
        .find(user_id)
        .select(Factor::as_select())
        .first(conn)
        .optional()
}

/// Whether the user has a confirmed second factor.
pub fn is_enrolled(conn: &mut DbConn, user_id: i64) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        mfa_factors::table
            .filter(mfa_factors::user_id.eq(user_id))
            .filter(mfa_factors::confirmed_at.is_not_null()),
    ))
    .get_result(conn)
}

/// Stores a pending (unconfirmed) secret, replacing an earlier pending one; a
/// confirmed factor is left alone (0 rows).
pub fn put_pending(
    conn: &mut DbConn,
    user_id: i64,
    sealed: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::delete(
        mfa_factors::table
            .filter(mfa_factors::user_id.eq(user_id))
            .filter(mfa_factors::confirmed_at.is_null()),
    )
    .execute(conn)?;
    if find(conn, user_id)?.is_some() {
        return Ok(0);
    }
    diesel::insert_into(mfa_factors::table)
        .values((
            mfa_factors::user_id.eq(user_id),
            mfa_factors::secret_sealed.eq(sealed),
            mfa_factors::created_at.eq(now),
        ))
        .execute(conn)
}

/// Confirms a pending factor with the step of the code that confirmed it; 0 rows
/// when it is not pending (any more).
pub fn confirm(
    conn: &mut DbConn,
    user_id: i64,
    step: i64,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        mfa_factors::table
            .filter(mfa_factors::user_id.eq(user_id))
            .filter(mfa_factors::confirmed_at.is_null()),
    )
    .set((
        mfa_factors::confirmed_at.eq(now),
        mfa_factors::last_step.eq(step),
    ))
    .execute(conn)
}

/// Records that the code of `step` was accepted, only if `step` is later than the
/// last one accepted: 1 row when it is, 0 when another request (on any instance)
/// took this step or a later one first.
pub fn take_step(conn: &mut DbConn, user_id: i64, step: i64) -> QueryResult<usize> {
    diesel::update(
        mfa_factors::table
            .filter(mfa_factors::user_id.eq(user_id))
            .filter(mfa_factors::confirmed_at.is_not_null())
            .filter(
                mfa_factors::last_step
                    .is_null()
                    .or(mfa_factors::last_step.lt(step)),
            ),
    )
    .set(mfa_factors::last_step.eq(step))
    .execute(conn)
}

/// Puts the same secret sealed anew (under the current key).
pub fn reseal(conn: &mut DbConn, user_id: i64, sealed: &str) -> QueryResult<usize> {
    diesel::update(mfa_factors::table.find(user_id))
        .set(mfa_factors::secret_sealed.eq(sealed))
        .execute(conn)
}

/// Removes the user's factor, recovery codes and waiting sign-ins; whether there
/// was a factor.
pub fn remove(conn: &mut DbConn, user_id: i64) -> QueryResult<bool> {
    diesel::delete(mfa_recovery_codes::table.filter(mfa_recovery_codes::user_id.eq(user_id)))
        .execute(conn)?;
    delete_challenges_of(conn, user_id)?;
    Ok(diesel::delete(mfa_factors::table.find(user_id)).execute(conn)? > 0)
}

/// Replaces the user's recovery codes with these digests.
pub fn replace_recovery_codes(
    conn: &mut DbConn,
    user_id: i64,
    digests: &[String],
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::delete(mfa_recovery_codes::table.filter(mfa_recovery_codes::user_id.eq(user_id)))
        .execute(conn)?;
    for d in digests {
        diesel::insert_into(mfa_recovery_codes::table)
            .values((
                mfa_recovery_codes::user_id.eq(user_id),
                mfa_recovery_codes::code_hash.eq(d.as_str()),
                mfa_recovery_codes::created_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Marks the unused recovery code with this digest used: 1 row the first time, 0
/// when it is unknown or used already (also by a request racing this one).
pub fn use_recovery_code(
    conn: &mut DbConn,
    user_id: i64,
    digest: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        mfa_recovery_codes::table
            .filter(mfa_recovery_codes::user_id.eq(user_id))
            .filter(mfa_recovery_codes::code_hash.eq(digest))
            .filter(mfa_recovery_codes::used_at.is_null()),
    )
    .set(mfa_recovery_codes::used_at.eq(now))
    .execute(conn)
}

/// Recovery codes of the user not used yet.
pub fn recovery_codes_left(conn: &mut DbConn, user_id: i64) -> QueryResult<i64> {
    mfa_recovery_codes::table
        .filter(mfa_recovery_codes::user_id.eq(user_id))
        .filter(mfa_recovery_codes::used_at.is_null())
        .count()
        .get_result(conn)
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = mfa_challenges)]
pub struct Challenge {
    pub id: i64,
    pub token_hash: String,
    pub user_id: i64,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub ip: Option<String>,
}

pub fn insert_challenge(
    conn: &mut DbConn,
    token_hash: &str,
    user_id: i64,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
    ip: Option<&str>,
) -> QueryResult<usize> {
    diesel::insert_into(mfa_challenges::table)
        .values((
            mfa_challenges::token_hash.eq(token_hash),
            mfa_challenges::user_id.eq(user_id),
            mfa_challenges::created_at.eq(now),
            mfa_challenges::expires_at.eq(expires_at),
            mfa_challenges::ip.eq(ip),
        ))
        .execute(conn)
}

/// The waiting sign-in with this digest, if it has not expired at `now`.
pub fn live_challenge(
    conn: &mut DbConn,
    token_hash: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<Challenge>> {
    mfa_challenges::table
        .filter(mfa_challenges::token_hash.eq(token_hash))
        .filter(mfa_challenges::expires_at.gt(now))
        .select(Challenge::as_select())
        .first(conn)
        .optional()
}

/// Ends one waiting sign-in: 1 row when this request ended it, 0 when another did.
pub fn delete_challenge(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
    diesel::delete(mfa_challenges::table.find(id)).execute(conn)
}

pub fn delete_challenges_of(conn: &mut DbConn, user_id: i64) -> QueryResult<usize> {
    diesel::delete(mfa_challenges::table.filter(mfa_challenges::user_id.eq(user_id))).execute(conn)
}

/// Removes waiting sign-ins that expired before `now`.
pub fn purge_challenges(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(mfa_challenges::table.filter(mfa_challenges::expires_at.le(now))).execute(conn)
}
