// Users: accounts, roles, activation, sign-in counters and preferences.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::users;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: String,
    pub password_hash: String,
    pub active: bool,
    pub language: Option<String>,
    pub timezone: Option<String>,
    pub failed_logins: i32,
    pub locked_until: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Weight units of cases the agent may hold at once.
    pub capacity: i32,
    /// Weight units of the open cases the agent holds.
    pub current_load: i32,
    /// JSON list of skills.
    pub skills: String,
    /// online, away or offline.
    pub presence: String,
    pub presence_since: Option<NaiveDateTime>,
    pub last_active_at: Option<NaiveDateTime>,
    pub last_assigned_at: Option<NaiveDateTime>,
    pub shift_calendar_id: Option<i64>,
    /// False when auto-assignment is paused for the agent.
    pub auto_assign: bool,
    /// Where the account comes from: [`SOURCE_LOCAL`] or [`SOURCE_DIRECTORY`].
    pub source: String,
    /// A directory account's distinguished name, as last found in the directory.
    pub directory_dn: Option<String>,
}

/// An account whose password riskdesk keeps (the first admin, break-glass accounts).
pub const SOURCE_LOCAL: &str = "local";
/// An account that signs in against the LDAP directory, which also gives its role.
pub const SOURCE_DIRECTORY: &str = "directory";

impl User {
    /// True for an account that signs in against the directory.
    pub fn is_directory(&self) -> bool {
        self.source == SOURCE_DIRECTORY
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub role: &'a str,
    pub password_hash: &'a str,
    pub active: bool,
    pub language: Option<&'a str>,
    pub timezone: Option<&'a str>,
    pub failed_logins: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub source: &'a str,
    pub directory_dn: Option<&'a str>,
}

pub fn insert(conn: &mut DbConn, new: &NewUser<'_>) -> QueryResult<User> {
    diesel::insert_into(users::table)
        .values(new)
        .returning(users::all_columns)
        .get_result::<User>(conn)
}

pub fn count(conn: &mut DbConn) -> QueryResult<i64> {
    users::table.count().get_result(conn)
}

pub fn count_active_admins(conn: &mut DbConn) -> QueryResult<i64> {
    users::table
        .filter(users::role.eq("admin"))
        .filter(users::active.eq(true))
        .count()
        .get_result(conn)
}

pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<User>> {
    users::table
        .find(id)
        .select(User::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_email(conn: &mut DbConn, email: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(users::email.eq(email))
        .select(User::as_select())
        .first(conn)
        .optional()
}

/// Every user, admins first, then supervisors, then agents, each by name.
pub fn list(conn: &mut DbConn) -> QueryResult<Vec<User>> {
    let mut all: Vec<User> = users::table
        .select(User::as_select())
        .order((users::name.asc(), users::id.asc()))
        .load(conn)?;
    let rank = |r: &str| match r {
        "admin" => 0,
        "supervisor" => 1,
        _ => 2,
    };
    all.sort_by_key(|u| rank(&u.role));
    Ok(all)
}

pub fn update_profile(
    conn: &mut DbConn,
    id: i64,
    name: &str,
    role: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set((
            users::name.eq(name),
            users::role.eq(role),
            users::updated_at.eq(now),
        ))
        .execute(conn)
}

pub fn set_active(
    conn: &mut DbConn,
    id: i64,
    active: bool,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set((users::active.eq(active), users::updated_at.eq(now)))
        .execute(conn)
}

pub fn set_password(
    conn: &mut DbConn,
    id: i64,
    hash: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set((
            users::password_hash.eq(hash),
            users::failed_logins.eq(0),
            users::locked_until.eq(None::<NaiveDateTime>),
            users::updated_at.eq(now),
        ))
        .execute(conn)
}

/// Records the distinguished name a directory account was last found under.
pub fn set_directory_dn(
    conn: &mut DbConn,
    id: i64,
    dn: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set((users::directory_dn.eq(dn), users::updated_at.eq(now)))
        .execute(conn)
}

pub fn set_preferences(
    conn: &mut DbConn,
    id: i64,
    language: Option<&str>,
    timezone: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set((
            users::language.eq(language),
            users::timezone.eq(timezone),
            users::updated_at.eq(now),
        ))
        .execute(conn)
}

/// Records a failed sign-in; returns the new count.
pub fn add_failed_login(conn: &mut DbConn, id: i64) -> QueryResult<i32> {
    diesel::update(users::table.find(id))
        .set(users::failed_logins.eq(users::failed_logins + 1))
        .returning(users::failed_logins)
        .get_result(conn)
}

/// Locks the account until `until` and starts the count afresh.
pub fn lock(conn: &mut DbConn, id: i64, until: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set((
            users::locked_until.eq(Some(until)),
            users::failed_logins.eq(0),
        ))
        .execute(conn)
}

pub fn clear_failed_logins(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set((
            users::failed_logins.eq(0),
            users::locked_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)
}

/// Records that the user did something (for the idle-to-away rule).
pub fn touch_active(conn: &mut DbConn, id: i64, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set(users::last_active_at.eq(Some(now)))
        .execute(conn)
}

pub fn unread_notifications(conn: &mut DbConn, id: i64) -> QueryResult<i64> {
    use crate::db::schema::notifications;
    notifications::table
        .filter(notifications::user_id.eq(id))
        .filter(notifications::read_at.is_null())
        .count()
        .get_result(conn)
}

/// An agent's routing profile, resolved to ids.
pub struct Routing<'a> {
    pub capacity: i32,
    pub skills: &'a [String],
    pub queue_ids: &'a [i64],
    pub shift_calendar_id: Option<i64>,
    pub auto_assign: bool,
}

/// Sets an agent's routing profile: capacity, skills, queues, shift, automatic
/// assignment.
pub fn set_routing(
    conn: &mut DbConn,
    id: i64,
    r: &Routing<'_>,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let Routing {
        capacity,
        skills,
        queue_ids,
        shift_calendar_id,
        auto_assign,
    } = *r;
    use crate::db::schema::queue_members;
    diesel::update(users::table.find(id))
        .set((
            users::capacity.eq(capacity),
            users::skills.eq(serde_json::to_string(skills).expect("json")),
            users::shift_calendar_id.eq(shift_calendar_id),
            users::auto_assign.eq(auto_assign),
            users::updated_at.eq(now),
        ))
        .execute(conn)?;
    diesel::delete(queue_members::table.filter(queue_members::user_id.eq(id))).execute(conn)?;
    for q in queue_ids {
        diesel::insert_into(queue_members::table)
            .values((queue_members::queue_id.eq(q), queue_members::user_id.eq(id)))
            .execute(conn)?;
    }
    Ok(())
}

/// Whether the user is a member of the queue.
pub fn is_member(conn: &mut DbConn, queue_id: i64, user_id: i64) -> QueryResult<bool> {
    use crate::db::schema::queue_members;
    let n: i64 = queue_members::table
        .filter(queue_members::queue_id.eq(queue_id))
        .filter(queue_members::user_id.eq(user_id))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// The queues a user is a member of.
pub fn queue_ids_of(conn: &mut DbConn, user_id: i64) -> QueryResult<Vec<i64>> {
    use crate::db::schema::queue_members;
    queue_members::table
        .filter(queue_members::user_id.eq(user_id))
        .select(queue_members::queue_id)
        .load(conn)
}

/// Every user's (id, name).
pub fn names(conn: &mut DbConn) -> QueryResult<Vec<(i64, String)>> {
    users::table.select((users::id, users::name)).load(conn)
}

/// The e-mail of each of `ids` that names a user.
pub fn emails_of(
    conn: &mut DbConn,
    ids: &[i64],
) -> QueryResult<std::collections::HashMap<i64, String>> {
    Ok(users::table
        .filter(users::id.eq_any(ids))
        .select((users::id, users::email))
        .load(conn)?
        .into_iter()
        .collect())
}

/// The active members of a queue: (id, name, e-mail), by name.
pub fn queue_agents(conn: &mut DbConn, queue_id: i64) -> QueryResult<Vec<(i64, String, String)>> {
    use crate::db::schema::queue_members;
    users::table
        .inner_join(queue_members::table)
        .filter(queue_members::queue_id.eq(queue_id))
        .filter(users::active.eq(true))
        .select((users::id, users::name, users::email))
        .order(users::name.asc())
        .load(conn)
}

/// Every active agent: (id, name, e-mail), by name.
pub fn active_agents(conn: &mut DbConn) -> QueryResult<Vec<(i64, String, String)>> {
    users::table
        .filter(users::active.eq(true))
        .filter(users::role.eq("agent"))
        .select((users::id, users::name, users::email))
        .order((users::name.asc(), users::id.asc()))
        .load(conn)
}
