// Desk-wide settings kept in the database, shared by every instance on it.

use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::app_settings;
use crate::dispatch;

pub fn get(conn: &mut DbConn, key: &str) -> QueryResult<Option<String>> {
    app_settings::table
        .filter(app_settings::key.eq(key))
        .select(app_settings::value)
        .first(conn)
        .optional()
}

/// Stores `value` under `key` unless a value is there already, and returns the value
/// that is there afterwards: the first instance to write wins, the others read it.
pub fn get_or_insert(conn: &mut DbConn, key: &str, value: &str) -> QueryResult<String> {
    dispatch!(conn, |c| diesel::insert_into(app_settings::table)
        .values((app_settings::key.eq(key), app_settings::value.eq(value)))
        .on_conflict_do_nothing()
        .execute(c))?;
    app_settings::table
        .filter(app_settings::key.eq(key))
        .select(app_settings::value)
        .first(conn)
}

/// Stores `value` under `key`, replacing what was there.
pub fn put(conn: &mut DbConn, key: &str, value: &str) -> QueryResult<()> {
    dispatch!(conn, |c| diesel::insert_into(app_settings::table)
        .values((app_settings::key.eq(key), app_settings::value.eq(value)))
        .on_conflict(app_settings::key)
        .do_update()
        .set(app_settings::value.eq(value))
        .execute(c))?;
    Ok(())
}

/// Removes `key` if it still holds exactly `value`; whether it did. Two writers
/// taking the same value: one removes it, the other finds nothing.
pub fn take(conn: &mut DbConn, key: &str, value: &str) -> QueryResult<bool> {
    let n = diesel::delete(
        app_settings::table
            .filter(app_settings::key.eq(key))
            .filter(app_settings::value.eq(value)),
    )
    .execute(conn)?;
    Ok(n == 1)
}
