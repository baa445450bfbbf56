// The desk's on-call service: who answers for a queue or a rota at an instant and
// which rota comes next (what emergencies page), the /oncall board, and the
// overrides supervisors add and remove, each checked and audited.

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::accounts::{Actor, record};
use crate::db::{DbConn, write_tx};
use crate::domain::FieldProblem;
use crate::domain::oncall::{self, Cover, Rota, Shift};
use crate::i18n::tkey;
use crate::store::deskconfig::Snapshot;
use crate::store::oncall::{self as store, NewOverride, Override};
use crate::store::users;

/// The longest reason an override keeps, in characters.
pub const REASON_MAX: usize = 500;

/// A person of a rota: a user's e-mail address, with the user when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub email: String,
    /// The user's id; none when no user has the address any more.
    pub user_id: Option<i64>,
    /// The user's name (the address when there is no user).
    pub name: String,
    /// False for a deactivated user (who cannot sign in to answer a page).
    pub active: bool,
}

fn person(conn: &mut DbConn, email: &str) -> diesel::QueryResult<Person> {
    Ok(match users::find_by_email(conn, email)? {
        Some(u) => Person {
            email: email.to_string(),
            user_id: Some(u.id),
            name: u.name,
            active: u.active,
        },
        None => Person {
            email: email.to_string(),
            user_id: None,
            name: email.to_string(),
            active: false,
        },
    })
}

/// Who holds a rota's duty at an instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duty {
    pub person: Person,
    /// When they hand over (the end of their turn or override, or earlier when an
    /// override begins).
    pub until: DateTime<Utc>,
    /// True when they cover through an override.
    pub by_override: bool,
}

/// A rota's answer at an instant: who is on call, how long they have to
/// acknowledge a page, and which rota is paged next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnCall {
    pub rota: String,
    /// None before the rota's first handover, unless an override covers it.
    pub duty: Option<Duty>,
    /// Minutes the one paged has to acknowledge before `next` is paged.
    pub ack_minutes: i64,
    /// The rota paged when nobody of this one acknowledges (none: every supervisor).
    pub next: Option<String>,
}

/// The overrides of `rota` as the arithmetic takes them.
fn covers_of(conn: &mut DbConn, rota: &str, now: DateTime<Utc>) -> diesel::QueryResult<Vec<Cover>> {
    Ok(store::current(conn, Some(rota), now)?
        .iter()
        .map(Override::cover)
        .collect())
}

/// Who is on call for the rota named `rota` at `at`, overrides applied, and which
/// rota is next; none when the configuration has no rota of that name. Call it
/// again with `next` to walk the chain of rotas (the configuration keeps it free
/// of loops).
pub fn on_call_for_rota(
    conn: &mut DbConn,
    snapshot: &Snapshot,
    rota: &str,
    at: DateTime<Utc>,
) -> diesel::QueryResult<Option<OnCall>> {
    let Some(r) = snapshot.rota(rota) else {
        return Ok(None);
    };
    let covers = covers_of(conn, &r.name, at)?;
    let duty = match oncall::on_call(r, &covers, at) {
        Some(shift) => Some(Duty {
            person: person(conn, &shift.person)?,
            until: shift.end,
            by_override: shift.is_cover(),
        }),
        None => None,
    };
    Ok(Some(OnCall {
        rota: r.name.clone(),
        duty,
        ack_minutes: r.ack_minutes,
        next: r.next.clone(),
    }))
}

/// Who is on call for the queue named `queue` at `at`: the answer of the rota the
/// queue names (its `oncall`), see [`on_call_for_rota`]; none when the queue names
/// no rota (or there is no such queue).
pub fn on_call_for_queue(
    conn: &mut DbConn,
    snapshot: &Snapshot,
    queue: &str,
    at: DateTime<Utc>,
) -> diesel::QueryResult<Option<OnCall>> {
    match snapshot
        .queues_by_name
        .get(queue)
        .and_then(|q| q.oncall.as_deref())
    {
        Some(rota) => on_call_for_rota(conn, snapshot, rota, at),
        None => Ok(None),
    }
}

/// One stretch of a rota's schedule as the board shows it.
#[derive(Debug, Clone)]
pub struct BoardShift {
    pub person: Person,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// The override behind it, if any.
    pub cover: Option<Override>,
}

/// A rota on the board: who is on call now and next, its overrides, its queues.
#[derive(Debug, Clone)]
pub struct RotaBoard {
    pub rota: Rota,
    /// The shift under way (none before the handover without an override).
    pub now: Option<BoardShift>,
    /// The shifts after it, through the next turns.
    pub next: Vec<BoardShift>,
    /// The overrides not over yet.
    pub overrides: Vec<Override>,
    /// The queues that page this rota, by name.
    pub queues: Vec<String>,
}

/// Turns after the current one the board shows.
pub const BOARD_TURNS: usize = 4;

/// Every rota of the configuration, in its order, as of `now`.
pub fn board(
    conn: &mut DbConn,
    snapshot: &Snapshot,
    now: DateTime<Utc>,
) -> diesel::QueryResult<Vec<RotaBoard>> {
    let all = store::current(conn, None, now)?;
    let mut out = Vec::new();
    for r in &snapshot.rotas {
        let overrides: Vec<Override> = all.iter().filter(|o| o.rota == r.name).cloned().collect();
        let covers: Vec<Cover> = overrides.iter().map(Override::cover).collect();
        let mut shifts = Vec::new();
        for s in oncall::upcoming(r, &covers, now, BOARD_TURNS) {
            shifts.push(board_shift(conn, &overrides, s)?);
        }
        let now_shift = match shifts.first() {
            Some(s) if s.start <= now => Some(shifts.remove(0)),
            _ => None,
        };
        let mut queues: Vec<String> = snapshot
            .queues_by_name
            .values()
            .filter(|q| q.oncall.as_deref() == Some(r.name.as_str()))
            .map(|q| q.name.clone())
            .collect();
        queues.sort();
        out.push(RotaBoard {
            rota: r.clone(),
            now: now_shift,
            next: shifts,
            overrides,
            queues,
        });
    }
    Ok(out)
}

fn board_shift(
    conn: &mut DbConn,
    overrides: &[Override],
    s: Shift,
) -> diesel::QueryResult<BoardShift> {
    let cover = match s.source {
        oncall::Source::Cover(id) => overrides.iter().find(|o| o.id == id).cloned(),
        oncall::Source::Turn(_) => None,
    };
    Ok(BoardShift {
        person: person(conn, &s.person)?,
        start: s.start,
        end: s.end,
        cover,
    })
}

/// What an override is made of, as read from the form (times already read in the
/// rota's zone; a time that could not be read is a problem of its own).
#[derive(Debug, Clone)]
pub struct OverrideInput {
    pub rota: String,
    /// The covering user's e-mail address.
    pub email: String,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub reason: String,
}

#[derive(Debug, thiserror::Error)]
pub enum OverrideError {
    /// What is wrong, each named by its form field (`rota`, `email`, `from`, `to`,
    /// `reason`); nothing was changed.
    #[error("the override was refused")]
    Invalid(Vec<FieldProblem>),
    #[error("no such override")]
    NotFound,
    #[error("database error: {0}")]
    Db(#[from] diesel::result::Error),
}

/// Adds an override after checking it: the rota exists, the person is an active
/// user, it ends after it begins and after `now`, a reason is given. Records
/// `oncall.override_added`. Returns its id.
pub fn add_override(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    actor: &Actor,
    snapshot: &Snapshot,
    input: &OverrideInput,
) -> Result<i64, OverrideError> {
    let mut problems = Vec::new();
    let rota = snapshot.rota(input.rota.trim());
    if rota.is_none() {
        problems.push(FieldProblem::keyed(
            "rota",
            tkey("oncall.problem.unknown_rota"),
            &[("name", input.rota.trim())],
        ));
    }
    let email = input.email.trim().to_lowercase();
    let user = if email.is_empty() {
        problems.push(FieldProblem::keyed(
            "email",
            tkey("oncall.problem.person_required"),
            &[],
        ));
        None
    } else {
        match users::find_by_email(conn, &email)? {
            Some(u) if u.active => Some(u),
            Some(_) => {
                problems.push(FieldProblem::keyed(
                    "email",
                    tkey("oncall.problem.user_inactive"),
                    &[("email", &email)],
                ));
                None
            }
            None => {
                problems.push(FieldProblem::keyed(
                    "email",
                    tkey("oncall.problem.unknown_user"),
                    &[("email", &email)],
                ));
                None
            }
        }
    };
    if let (Some(from), Some(to)) = (input.from, input.to) {
        if to <= from {
            problems.push(FieldProblem::keyed(
                "to",
                tkey("oncall.problem.to_before_from"),
                &[],
            ));
        } else if to <= now {
            problems.push(FieldProblem::keyed("to", tkey("oncall.problem.past"), &[]));
        }
    }
    let reason = input.reason.trim();
    if reason.is_empty() {
        problems.push(FieldProblem::keyed(
            "reason",
            tkey("oncall.problem.reason_required"),
            &[],
        ));
    } else if reason.chars().count() > REASON_MAX {
        problems.push(FieldProblem::keyed(
            "reason",
            tkey("oncall.problem.reason_long"),
            &[("max", &REASON_MAX.to_string())],
        ));
    }
    let (Some(rota), Some(user), Some(from), Some(to), true) =
        (rota, user, input.from, input.to, problems.is_empty())
    else {
        return Err(OverrideError::Invalid(problems));
    };
    let (rota_name, actor_id) = (rota.name.clone(), actor.user_id);
    write_tx(conn, |conn| {
        let Some(rota_id) = store::rota_id(conn, &rota_name)? else {
            return Err(OverrideError::Invalid(vec![FieldProblem::keyed(
                "rota",
                tkey("oncall.problem.unknown_rota"),
                &[("name", &rota_name)],
            )]));
        };
        let id = store::insert(
            conn,
            &NewOverride {
                rota_id,
                user_id: user.id,
                starts_at: from,
                ends_at: to,
                reason,
                created_by: actor_id,
                created_at: now,
            },
        )?;
        record(
            conn,
            now,
            actor,
            "oncall.override_added",
            Some(&rota_name),
            json!({
                "override": id,
                "rota": rota_name,
                "person": user.email,
                "from": from.to_rfc3339(),
                "to": to.to_rfc3339(),
                "reason": reason,
            }),
        )?;
        Ok(id)
    })
}

/// Removes the override `id`. Records `oncall.override_removed`.
pub fn remove_override(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    actor: &Actor,
    id: i64,
) -> Result<Override, OverrideError> {
    write_tx(conn, |conn| {
        let o = store::find(conn, id)?.ok_or(OverrideError::NotFound)?;
        if !store::delete(conn, id)? {
            return Err(OverrideError::NotFound);
        }
        record(
            conn,
            now,
            actor,
            "oncall.override_removed",
            Some(&o.rota),
            json!({
                "override": id,
                "rota": o.rota,
                "person": o.email,
                "from": o.starts_at.to_rfc3339(),
                "to": o.ends_at.to_rfc3339(),
                "reason": o.reason,
            }),
        )?;
        Ok(o)
    })
}
