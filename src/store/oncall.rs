// On-call rotas and their overrides in the database: the rotas' rows (written by the
// configuration's apply), and the overrides supervisors add and remove.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{oncall_overrides, oncall_rotas, users};
use crate::domain::oncall::{Cover, Rota};
use crate::store;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = oncall_rotas)]
pub struct RotaRow {
    pub id: i64,
    pub name: String,
    pub position: i32,
    pub timezone: String,
    pub members: String,
    pub rotation_hours: i32,
    pub handover: NaiveDateTime,
    pub ack_minutes: i32,
    pub next_rota: Option<String>,
    pub updated_at: NaiveDateTime,
}

impl RotaRow {
    /// The rota the row holds, or what is wrong with it.
    pub fn to_rota(&self) -> Result<Rota, String> {
        Ok(Rota {
            name: self.name.clone(),
            timezone: self
                .timezone
                .parse()
                .map_err(|_| format!("time zone '{}'", self.timezone))?,
            members: serde_json::from_str(&self.members).map_err(|e| e.to_string())?,
            rotation_hours: self.rotation_hours.into(),
            handover: store::from_db(self.handover),
            ack_minutes: self.ack_minutes.into(),
            next: self.next_rota.clone(),
        })
    }
}

/// Every rota's row, in the file's order.
pub fn rota_rows(conn: &mut DbConn) -> QueryResult<Vec<RotaRow>> {
    oncall_rotas::table
        .select(RotaRow::as_select())
        .order((oncall_rotas::position.asc(), oncall_rotas::id.asc()))
        .load(conn)
}

/// Writes `rota` at `position`, over the row `id` when given; returns its id.
pub fn save_rota(
    conn: &mut DbConn,
    id: Option<i64>,
    rota: &Rota,
    position: i32,
    at: NaiveDateTime,
) -> QueryResult<i64> {
    let members = serde_json::to_string(&rota.members).expect("json");
    let values = (
        oncall_rotas::position.eq(position),
        oncall_rotas::timezone.eq(rota.timezone.name()),
        oncall_rotas::members.eq(&members),
        oncall_rotas::rotation_hours.eq(rota.rotation_hours as i32),
        oncall_rotas::handover.eq(store::to_db(rota.handover)),
        oncall_rotas::ack_minutes.eq(rota.ack_minutes as i32),
        oncall_rotas::next_rota.eq(&rota.next),
        oncall_rotas::updated_at.eq(at),
    );
    match id {
        Some(id) => {
            diesel::update(oncall_rotas::table.find(id))
                .set(values)
                .execute(conn)?;
            Ok(id)
        }
        None => diesel::insert_into(oncall_rotas::table)
            .values((oncall_rotas::name.eq(&rota.name), values))
            .returning(oncall_rotas::id)
            .get_result(conn),
    }
}

/// The id of the rota named `name`.
pub fn rota_id(conn: &mut DbConn, name: &str) -> QueryResult<Option<i64>> {
    oncall_rotas::table
        .filter(oncall_rotas::name.eq(name))
        .select(oncall_rotas::id)
        .first(conn)
        .optional()
}

/// Every user's e-mail address (the names a rota's members may use).
pub fn user_emails(conn: &mut DbConn) -> QueryResult<HashSet<String>> {
    Ok(users::table
        .select(users::email)
        .load::<String>(conn)?
        .into_iter()
        .map(|e| e.to_lowercase())
        .collect())
}

/// An override as listed: who covers which rota when, and why.
#[derive(Debug, Clone)]
pub struct Override {
    pub id: i64,
    pub rota: String,
    pub user_id: i64,
    pub email: String,
    pub name: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub reason: String,
}

impl Override {
    pub fn cover(&self) -> Cover {
        Cover {
            id: self.id,
            person: self.email.clone(),
            from: self.starts_at,
            to: self.ends_at,
        }
    }
}

type OverrideTuple = (
    i64,
    String,
    i64,
    String,
    String,
    NaiveDateTime,
    NaiveDateTime,
    String,
);

fn listed(t: OverrideTuple) -> Override {
    Override {
        id: t.0,
        rota: t.1,
        user_id: t.2,
        email: t.3.to_lowercase(),
        name: t.4,
        starts_at: store::from_db(t.5),
        ends_at: store::from_db(t.6),
        reason: t.7,
    }
}

/// The overrides not over by `now` (of the rota `rota` only, when given), in the
/// order they begin.
pub fn current(
    conn: &mut DbConn,
    rota: Option<&str>,
    now: DateTime<Utc>,
) -> QueryResult<Vec<Override>> {
    let mut q = oncall_overrides::table
        .inner_join(oncall_rotas::table)
        .inner_join(users::table)
        .filter(oncall_overrides::ends_at.gt(store::to_db(now)))
        .select((
            oncall_overrides::id,
            oncall_rotas::name,
            oncall_overrides::user_id,
            users::email,
            users::name,
            oncall_overrides::starts_at,
            oncall_overrides::ends_at,
            oncall_overrides::reason,
        ))
        .order((
            oncall_overrides::starts_at.asc(),
            oncall_overrides::id.asc(),
        ))
        .into_boxed();
    if let Some(name) = rota {
        q = q.filter(oncall_rotas::name.eq(name.to_string()));
    }
    Ok(q.load::<OverrideTuple>(conn)?
        .into_iter()
        .map(listed)
        .collect())
}

/// One override, by id.
pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<Override>> {
    Ok(oncall_overrides::table
        .inner_join(oncall_rotas::table)
        .inner_join(users::table)
        .filter(oncall_overrides::id.eq(id))
        .select((
            oncall_overrides::id,
            oncall_rotas::name,
            oncall_overrides::user_id,
            users::email,
            users::name,
            oncall_overrides::starts_at,
            oncall_overrides::ends_at,
            oncall_overrides::reason,
        ))
        .first::<OverrideTuple>(conn)
        .optional()?
        .map(listed))
}

pub struct NewOverride<'a> {
    pub rota_id: i64,
    pub user_id: i64,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub reason: &'a str,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
}

pub fn insert(conn: &mut DbConn, new: &NewOverride<'_>) -> QueryResult<i64> {
    diesel::insert_into(oncall_overrides::table)
        .values((
            oncall_overrides::rota_id.eq(new.rota_id),
            oncall_overrides::user_id.eq(new.user_id),
            oncall_overrides::starts_at.eq(store::to_db(new.starts_at)),
            oncall_overrides::ends_at.eq(store::to_db(new.ends_at)),
            oncall_overrides::reason.eq(new.reason),
            oncall_overrides::created_by.eq(new.created_by),
            oncall_overrides::created_at.eq(store::to_db(new.created_at)),
        ))
        .returning(oncall_overrides::id)
        .get_result(conn)
}

/// Removes the override `id`; whether there was one.
pub fn delete(conn: &mut DbConn, id: i64) -> QueryResult<bool> {
    Ok(diesel::delete(oncall_overrides::table.find(id)).execute(conn)? > 0)
}
