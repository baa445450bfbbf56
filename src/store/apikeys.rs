// API keys for the JSON API: only a digest is stored; the key is shown once. Each
// holds its scopes, its expiry and its rate limit.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::api_keys;
use crate::domain::apikey::{self, Scopes};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_keys)]
pub struct ApiKey {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub key_hash: String,
    pub created_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
    pub last_used_at: Option<NaiveDateTime>,
    /// Comma-separated scope names (see `domain::apikey::Scopes`).
    pub scopes: String,
    pub expires_at: Option<NaiveDateTime>,
    /// Requests a minute, per instance.
    pub rate_limit: i32,
}

impl ApiKey {
    pub fn scopes(&self) -> Scopes {
        Scopes::from_stored(&self.scopes)
    }

    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.expires_at.map(crate::store::from_db)
    }

    /// Whether it no longer works at `now`.
    pub fn expired(&self, now: DateTime<Utc>) -> bool {
        apikey::expired(self.expires_at(), now)
    }

    /// Its rate limit in requests a minute (at least 1).
    pub fn rate_limit(&self) -> u32 {
        u32::try_from(self.rate_limit).unwrap_or(0).max(1)
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = api_keys)]
pub struct NewApiKey<'a> {
    pub name: &'a str,
    pub prefix: &'a str,
    pub key_hash: &'a str,
    pub created_at: NaiveDateTime,
    pub scopes: &'a str,
    pub expires_at: Option<NaiveDateTime>,
    pub rate_limit: i32,
}

pub fn insert(conn: &mut DbConn, new: &NewApiKey<'_>) -> QueryResult<ApiKey> {
    diesel::insert_into(api_keys::table)
        .values(new)
        .returning(api_keys::all_columns)
        .get_result::<ApiKey>(conn)
}

pub fn list(conn: &mut DbConn) -> QueryResult<Vec<ApiKey>> {
    api_keys::table
        .select(ApiKey::as_select())
        .order(api_keys::id.desc())
        .load(conn)
}

pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<ApiKey>> {
    api_keys::table
        .find(id)
        .select(ApiKey::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_prefix(conn: &mut DbConn, prefix: &str) -> QueryResult<Option<ApiKey>> {
    api_keys::table
        .filter(api_keys::prefix.eq(prefix))
        .select(ApiKey::as_select())
        .first(conn)
        .optional()
}

pub fn revoke(conn: &mut DbConn, id: i64, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        api_keys::table
            .find(id)
            .filter(api_keys::revoked_at.is_null()),
    )
    .set(api_keys::revoked_at.eq(Some(now)))
    .execute(conn)
}

pub fn mark_used(conn: &mut DbConn, id: i64, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(api_keys::table.find(id))
        .set(api_keys::last_used_at.eq(Some(now)))
        .execute(conn)
}
