// Notifications about a case, the one door every command that tells someone goes
// through: in the app (one row per case and kind, or a supervisor's group per kind
// and queue) and by e-mail (at once, or in an hourly or daily digest), as each
// reader chose; pages bypass all of that. Details in docs/notifications.md.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{cases, queues, users};
use crate::domain::Role;
use crate::domain::notifications::{self as rules, EmailChoice, Pref};
use crate::store;
use crate::store::notifications::{self as notes, GroupNotice};

/// The active supervisors.
pub fn supervisors(conn: &mut DbConn) -> QueryResult<Vec<i64>> {
    users::table
        .filter(users::role.eq("supervisor"))
        .filter(users::active.eq(true))
        .select(users::id)
        .load(conn)
}

/// Tells each of `to` of a notice of `kind` about case `case_id`, as each chose
/// for the kind (in the app and by e-mail, see [`notify_in`]); a supervisor's
/// group is the case's current queue.
pub fn notify(
    conn: &mut DbConn,
    to: &[i64],
    now: DateTime<Utc>,
    kind: &str,
    case_id: i64,
    data: &serde_json::Value,
) -> QueryResult<()> {
    let queue: Option<i64> = cases::table
        .find(case_id)
        .select(cases::queue_id)
        .first(conn)
        .optional()?;
    notify_in(conn, to, now, kind, case_id, queue, data)
}

/// [`notify`] with the queue a supervisor's group is of given (a breach is told in
/// the queue the case breached in, though it may have moved on). For each active
/// reader: in the app when they chose it — their row about this case and kind
/// updated in place, or for a supervisor and a per-case alarm their open group of
/// this kind and queue — and by e-mail at once, in their next digest, or not.
pub fn notify_in(
    conn: &mut DbConn,
    to: &[i64],
    now: DateTime<Utc>,
    kind: &str,
    case_id: i64,
    queue_id: Option<i64>,
    data: &serde_json::Value,
) -> QueryResult<()> {
    let mut to = to.to_vec();
    to.sort_unstable();
    to.dedup();
    if to.is_empty() {
        return Ok(());
    }
    let at = store::to_db(now);
    let text = data.to_string();
    let readers: Vec<(i64, String, Option<String>)> = users::table
        .filter(users::id.eq_any(&to))
        .filter(users::active.eq(true))
        .select((users::id, users::role, users::timezone))
        .order(users::id.asc())
        .load(conn)?;
    let chosen = notes::prefs_for_kind(conn, &to, kind)?;
    let mut queue_name: Option<Option<String>> = None;
    for (user, role, timezone) in readers {
        let role = role.parse::<Role>().unwrap_or(Role::Agent);
        let pref = chosen
            .iter()
            .find(|(u, _, _)| *u == user)
            .and_then(|(_, in_app, email)| stored_pref(*in_app, email))
            .unwrap_or_else(|| rules::default_pref(role, kind));
        if pref.in_app {
            let group = match queue_id.filter(|_| rules::grouped(role, kind)) {
                Some(q) => {
                    let name = match &queue_name {
                        Some(n) => n.clone(),
                        None => {
                            let n = queues::table
                                .find(q)
                                .select(queues::name)
                                .first(conn)
                                .optional()?;
                            queue_name = Some(n.clone());
                            n
                        }
                    };
                    name.map(|n| (q, n))
                }
                None => None,
            };
            match group {
                Some((q, name)) => notes::add_to_group(
                    conn,
                    user,
                    &GroupNotice {
                        kind,
                        queue_id: q,
                        queue_name: &name,
                        case_id,
                        data: &text,
                    },
                    at,
                    store::to_db(now - rules::GROUP_WINDOW),
                )?,
                None => notes::upsert_case(conn, user, kind, case_id, at, &text)?,
            }
        }
        match pref.email {
            EmailChoice::Off => {}
            EmailChoice::Immediately => {
                crate::mail::queue_notification(conn, user, now, kind, case_id, data)?
            }
            choice @ (EmailChoice::Hourly | EmailChoice::Daily) => {
                let tz = timezone
                    .as_deref()
                    .and_then(|t| t.parse().ok())
                    .unwrap_or(chrono_tz::UTC);
                if let Some(due) = rules::digest_due(choice, now, tz) {
                    notes::add_to_digest(conn, user, kind, case_id, at, &text, store::to_db(due))?;
                }
            }
        }
    }
    Ok(())
}

/// Pages each of `to` about case `case_id`: a notification of kind
/// [`rules::PAGED`] (`oncall.paged`) that bypasses every preference and grouping —
/// a row of its own in the app and an e-mail at once, always. `data` is what the
/// page says: `{"case_ref": …, "reason": …}` (`reason` optional). Inactive users
/// get none.
pub fn page(
    conn: &mut DbConn,
    to: &[i64],
    now: DateTime<Utc>,
    case_id: i64,
    data: &serde_json::Value,
) -> QueryResult<()> {
    let at = store::to_db(now);
    let text = data.to_string();
    let active: Vec<i64> = users::table
        .filter(users::id.eq_any(to))
        .filter(users::active.eq(true))
        .select(users::id)
        .load(conn)?;
    for user in active {
        notes::insert_single(conn, user, rules::PAGED, case_id, at, &text)?;
        crate::mail::queue_notification(conn, user, now, rules::PAGED, case_id, data)?;
    }
    Ok(())
}

/// Queues the e-mail digests due at `now`, one e-mail per reader listing their
/// waiting notices, each digest once across instances (see
/// `store::notifications::take_digest`); returns how many were queued.
pub fn send_due_digests(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    public_url: &str,
) -> QueryResult<usize> {
    let at = store::to_db(now);
    let mut sent = 0;
    for user in notes::digest_readers(conn, at)? {
        let queued = crate::db::write_tx_retry(conn, |c| {
            let items = notes::take_digest(c, user, at)?;
            crate::mail::queue_digest(c, user, now, &items, public_url)
        })?;
        sent += usize::from(queued);
    }
    Ok(sent)
}

/// A stored choice; `None` when its e-mail choice no longer reads (the default
/// applies then).
fn stored_pref(in_app: bool, email: &str) -> Option<Pref> {
    Some(Pref {
        in_app,
        email: EmailChoice::parse(email)?,
    })
}

/// The user's choice for every kind (their own, else their role's default), in
/// the order the profile lists them.
pub fn choices(conn: &mut DbConn, user: i64, role: Role) -> QueryResult<Vec<(&'static str, Pref)>> {
    let stored = notes::prefs_of(conn, user)?;
    Ok(rules::KINDS
        .iter()
        .map(|kind| {
            let own = stored
                .iter()
                .find(|(k, _, _)| k == kind)
                .and_then(|(_, in_app, email)| stored_pref(*in_app, email));
            (
                *kind,
                own.unwrap_or_else(|| rules::default_pref(role, kind)),
            )
        })
        .collect())
}

/// Makes the user's choices `choices` (read by `domain::notifications::parse_choices`).
pub fn set_choices(conn: &mut DbConn, user: i64, choices: &[(&str, Pref)]) -> QueryResult<()> {
    let rows: Vec<(&str, bool, &str)> = choices
        .iter()
        .map(|(kind, p)| (*kind, p.in_app, p.email.as_str()))
        .collect();
    crate::db::write_tx(conn, |c| notes::set_prefs(c, user, &rows))
}
