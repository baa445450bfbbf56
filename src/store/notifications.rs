// In-app notifications: a user's rows (one per kind and case, or one group per kind
// and queue with its cases), read state, choices per kind, and the notices waiting
// for an e-mail digest. (They are written through `cases::notices`.)

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{
    notification_cases, notification_digests, notification_prefs, notifications,
};
use crate::dispatch;

/// One stored notification.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = notifications)]
pub struct Notification {
    pub id: i64,
    pub user_id: i64,
    /// The latest occurrence.
    pub at: NaiveDateTime,
    /// The first occurrence (a group's "since").
    pub first_at: NaiveDateTime,
    pub kind: String,
    /// The case it is about; `None` for a group.
    pub case_id: Option<i64>,
    /// JSON: the latest notice's data; a group's `{"queue": name}`.
    pub data: String,
    pub read_at: Option<NaiveDateTime>,
    /// How many notices it stands for; a group's number of cases.
    pub occurrences: i32,
    pub grouped: bool,
}

/// The key of a user's one row about `case_id` of `kind`.
fn case_key(kind: &str, case_id: i64) -> String {
    format!("{kind}:case:{case_id}")
}

/// The key of a user's open group of `kind` in queue `queue_id`.
fn group_key(kind: &str, queue_id: i64) -> String {
    format!("{kind}:queue:{queue_id}")
}

/// Records a notice of `kind` about `case_id` for `user`: the user's row about that
/// case and kind takes the notice's time and data, counts it and is unread again;
/// the first such notice makes the row.
pub fn upsert_case(
    conn: &mut DbConn,
    user: i64,
    kind: &str,
    case_id: i64,
    at: NaiveDateTime,
    data: &str,
) -> QueryResult<()> {
    let key = case_key(kind, case_id);
    dispatch!(conn, |c| diesel::insert_into(notifications::table)
        .values((
            notifications::user_id.eq(user),
            notifications::at.eq(at),
            notifications::first_at.eq(at),
            notifications::kind.eq(kind),
            notifications::case_id.eq(Some(case_id)),
            notifications::data.eq(data),
            notifications::occurrences.eq(1),
            notifications::grouped.eq(false),
            notifications::open_key.eq(Some(&key)),
        ))
        .on_conflict((notifications::user_id, notifications::open_key))
        .do_update()
        .set((
            notifications::at.eq(at),
            notifications::data.eq(data),
            notifications::occurrences.eq(notifications::occurrences + 1),
            notifications::read_at.eq(None::<NaiveDateTime>),
        ))
        .execute(c))?;
    Ok(())
}

/// A notice for a group: the queue it collects for and the case it adds.
pub struct GroupNotice<'a> {
    pub kind: &'a str,
    pub queue_id: i64,
    pub queue_name: &'a str,
    pub case_id: i64,
    pub data: &'a str,
}

/// Adds a notice to `user`'s open group of its kind and queue, opening one when
/// there is none (or the open one began before `window_start`, which closes it).
/// A case already in the group takes the notice's time and data; a new one counts.
pub fn add_to_group(
    conn: &mut DbConn,
    user: i64,
    n: &GroupNotice,
    at: NaiveDateTime,
    window_start: NaiveDateTime,
) -> QueryResult<()> {
    let key = group_key(n.kind, n.queue_id);
    diesel::update(
        notifications::table
            .filter(notifications::user_id.eq(user))
            .filter(notifications::open_key.eq(&key))
            .filter(notifications::first_at.lt(window_start)),
    )
    .set(notifications::open_key.eq(None::<String>))
    .execute(conn)?;
    let group_data = serde_json::json!({ "queue": n.queue_name }).to_string();
    dispatch!(conn, |c| diesel::insert_into(notifications::table)
        .values((
            notifications::user_id.eq(user),
            notifications::at.eq(at),
            notifications::first_at.eq(at),
            notifications::kind.eq(n.kind),
            notifications::case_id.eq(None::<i64>),
            notifications::data.eq(&group_data),
            notifications::occurrences.eq(0),
            notifications::grouped.eq(true),
            notifications::open_key.eq(Some(&key)),
        ))
        .on_conflict((notifications::user_id, notifications::open_key))
        .do_update()
        .set((
            notifications::at.eq(at),
            notifications::data.eq(&group_data),
        ))
        .execute(c))?;
    let id: i64 = notifications::table
        .filter(notifications::user_id.eq(user))
        .filter(notifications::open_key.eq(&key))
        .select(notifications::id)
        .first(conn)?;
    let added = dispatch!(conn, |c| diesel::insert_into(notification_cases::table)
        .values((
            notification_cases::notification_id.eq(id),
            notification_cases::case_id.eq(n.case_id),
            notification_cases::at.eq(at),
            notification_cases::data.eq(n.data),
        ))
        .on_conflict_do_nothing()
        .execute(c))?;
    if added == 0 {
        diesel::update(notification_cases::table.find((id, n.case_id)))
            .set((
                notification_cases::at.eq(at),
                notification_cases::data.eq(n.data),
            ))
            .execute(conn)?;
    } else {
        diesel::update(notifications::table.find(id))
            .set(notifications::occurrences.eq(notifications::occurrences + 1))
            .execute(conn)?;
    }
    Ok(())
}

/// Adds a notification row of its own (a page: never merged with another).
pub fn insert_single(
    conn: &mut DbConn,
    user: i64,
    kind: &str,
    case_id: i64,
    at: NaiveDateTime,
    data: &str,
) -> QueryResult<()> {
    diesel::insert_into(notifications::table)
        .values((
            notifications::user_id.eq(user),
            notifications::at.eq(at),
            notifications::first_at.eq(at),
            notifications::kind.eq(kind),
            notifications::case_id.eq(Some(case_id)),
            notifications::data.eq(data),
            notifications::occurrences.eq(1),
            notifications::grouped.eq(false),
        ))
        .execute(conn)?;
    Ok(())
}

/// The user's latest notifications, most recently updated first.
pub fn latest(conn: &mut DbConn, user_id: i64, limit: i64) -> QueryResult<Vec<Notification>> {
    notifications::table
        .filter(notifications::user_id.eq(user_id))
        .select(Notification::as_select())
        .order((notifications::at.desc(), notifications::id.desc()))
        .limit(limit)
        .load(conn)
}

/// The user's notification `id`; `None` when there is none or it is someone else's.
pub fn find_own(conn: &mut DbConn, user_id: i64, id: i64) -> QueryResult<Option<Notification>> {
    notifications::table
        .find(id)
        .filter(notifications::user_id.eq(user_id))
        .select(Notification::as_select())
        .first(conn)
        .optional()
}

/// One case behind a group: the case, its latest notice's time and data.
pub type GroupCase = (i64, i64, NaiveDateTime, String);

/// The cases behind the groups `ids` (group id, case, time, data), latest first.
pub fn group_cases(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<GroupCase>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    notification_cases::table
        .filter(notification_cases::notification_id.eq_any(ids))
        .select((
            notification_cases::notification_id,
            notification_cases::case_id,
            notification_cases::at,
            notification_cases::data,
        ))
        .order((
            notification_cases::at.desc(),
            notification_cases::case_id.desc(),
        ))
        .load(conn)
}

/// Marks the user's notification `id` read at `at` (a group is closed: the next
/// alarm opens a new one); `false` when the user has no such notification.
pub fn mark_read(conn: &mut DbConn, user_id: i64, id: i64, at: NaiveDateTime) -> QueryResult<bool> {
    let mine = notifications::table
        .find(id)
        .filter(notifications::user_id.eq(user_id));
    diesel::update(mine.filter(notifications::grouped.eq(true)))
        .set(notifications::open_key.eq(None::<String>))
        .execute(conn)?;
    diesel::update(mine.filter(notifications::read_at.is_null()))
        .set(notifications::read_at.eq(Some(at)))
        .execute(conn)?;
    Ok(find_own(conn, user_id, id)?.is_some())
}

/// Marks every unread notification of the user read at `at`, closing the groups.
pub fn mark_all_read(conn: &mut DbConn, user_id: i64, at: NaiveDateTime) -> QueryResult<usize> {
    let unread = notifications::table
        .filter(notifications::user_id.eq(user_id))
        .filter(notifications::read_at.is_null());
    diesel::update(unread.filter(notifications::grouped.eq(true)))
        .set(notifications::open_key.eq(None::<String>))
        .execute(conn)?;
    diesel::update(unread)
        .set(notifications::read_at.eq(Some(at)))
        .execute(conn)
}

/// The user's unread notifications (a group counts once).
pub fn unread(conn: &mut DbConn, user_id: i64) -> QueryResult<i64> {
    notifications::table
        .filter(notifications::user_id.eq(user_id))
        .filter(notifications::read_at.is_null())
        .count()
        .get_result(conn)
}

/// The stored choices of `users` for `kind`: (user, in-app, e-mail).
pub fn prefs_for_kind(
    conn: &mut DbConn,
    users: &[i64],
    kind: &str,
) -> QueryResult<Vec<(i64, bool, String)>> {
    notification_prefs::table
        .filter(notification_prefs::user_id.eq_any(users))
        .filter(notification_prefs::kind.eq(kind))
        .select((
            notification_prefs::user_id,
            notification_prefs::in_app,
            notification_prefs::email,
        ))
        .load(conn)
}

/// The user's stored choices: (kind, in-app, e-mail).
pub fn prefs_of(conn: &mut DbConn, user: i64) -> QueryResult<Vec<(String, bool, String)>> {
    notification_prefs::table
        .filter(notification_prefs::user_id.eq(user))
        .select((
            notification_prefs::kind,
            notification_prefs::in_app,
            notification_prefs::email,
        ))
        .load(conn)
}

/// Replaces the user's stored choices with `choices` (kind, in-app, e-mail).
pub fn set_prefs(conn: &mut DbConn, user: i64, choices: &[(&str, bool, &str)]) -> QueryResult<()> {
    diesel::delete(notification_prefs::table.filter(notification_prefs::user_id.eq(user)))
        .execute(conn)?;
    let rows: Vec<_> = choices
        .iter()
        .map(|(kind, in_app, email)| {
            (
                notification_prefs::user_id.eq(user),
                notification_prefs::kind.eq(*kind),
                notification_prefs::in_app.eq(*in_app),
                notification_prefs::email.eq(*email),
            )
        })
        .collect();
    dispatch!(conn, |c| diesel::insert_into(notification_prefs::table)
        .values(&rows)
        .execute(c))?;
    Ok(())
}

/// Keeps a notice for the user's digest due at `due_at`.
pub fn add_to_digest(
    conn: &mut DbConn,
    user: i64,
    kind: &str,
    case_id: i64,
    at: NaiveDateTime,
    data: &str,
    due_at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(notification_digests::table)
        .values((
            notification_digests::user_id.eq(user),
            notification_digests::at.eq(at),
            notification_digests::kind.eq(kind),
            notification_digests::case_id.eq(Some(case_id)),
            notification_digests::data.eq(data),
            notification_digests::due_at.eq(due_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// The users with a digest due at `now`.
pub fn digest_readers(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<Vec<i64>> {
    notification_digests::table
        .filter(notification_digests::due_at.le(now))
        .select(notification_digests::user_id)
        .distinct()
        .load(conn)
}

/// One notice of a digest: time, kind, case, data.
pub type DigestItem = (NaiveDateTime, String, Option<i64>, String);

/// Takes (deletes and returns) the notices of the user's digest that are due at
/// `now`: whoever deletes them sends them, so a digest goes out once even when
/// several instances look at the same time.
pub fn take_digest(
    conn: &mut DbConn,
    user: i64,
    now: NaiveDateTime,
) -> QueryResult<Vec<DigestItem>> {
    let mut items: Vec<DigestItem> = dispatch!(conn, |c| diesel::delete(
        notification_digests::table
            .filter(notification_digests::user_id.eq(user))
            .filter(notification_digests::due_at.le(now))
    )
    .returning((
        notification_digests::at,
        notification_digests::kind,
        notification_digests::case_id,
        notification_digests::data,
    ))
    .get_results(c))?;
    items.sort_by_key(|i| i.0);
    Ok(items)
}
