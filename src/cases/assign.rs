// Auto-assignment: gives each case that enters or returns to a queue to an eligible
// agent, fills an agent who has room with the most urgent waiting cases, and takes
// cases back when an agent leaves. Every decision is a timeline event with its reason.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::{CaseError, allowed, changed, load, run};
use crate::accounts::{self, AccountError, Actor, RoutingInput};
use crate::db::DbConn;
use crate::db::schema::{cases, queue_members, users};
use crate::domain::CaseStatus;
use crate::domain::assignment::{self, Agent, Choice};
use crate::domain::events::{self as ev, CaseEvent, ReturnReason};
use crate::domain::lifecycle::{self, Command};
use crate::store::cases::{self as case_store, Case};
use crate::store::deskconfig::Snapshot;
use crate::store::users::User;
use crate::store::{self};

pub use crate::domain::events::How;

/// What the router reads of a user: a narrow row, read often.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct RouterRow {
    pub id: i64,
    pub email: String,
    pub active: bool,
    pub presence: String,
    pub skills: String,
    pub current_load: i32,
    pub capacity: i32,
    pub last_assigned_at: Option<chrono::NaiveDateTime>,
    pub shift_calendar_id: Option<i64>,
    pub auto_assign: bool,
}

/// What the waiting line reads of a case.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = cases)]
struct LineCase {
    id: i64,
    queue_id: i64,
    weight: i32,
    priority: crate::domain::Priority,
    next_due: Option<chrono::NaiveDateTime>,
    opened_at: chrono::NaiveDateTime,
}

fn skills_of(u: &RouterRow) -> BTreeSet<String> {
    serde_json::from_str::<Vec<String>>(&u.skills)
        .unwrap_or_default()
        .into_iter()
        .collect()
}

/// Whether the user's shift (if they have one) covers `now`.
fn in_shift(snap: &Snapshot, u: &RouterRow, now: DateTime<Utc>) -> bool {
    match u.shift_calendar_id {
        None => true,
        Some(id) => snap
            .calendars_by_id
            .get(&id)
            .is_none_or(|c| c.is_business_time(now)),
    }
}

fn agent_view(snap: &Snapshot, u: &RouterRow, member: bool, now: DateTime<Utc>) -> Agent {
    Agent {
        id: u.id,
        member,
        skills: skills_of(u),
        online: u.active && u.presence == "online",
        in_shift: in_shift(snap, u, now),
        auto_assign: u.auto_assign,
        load: u.current_load,
        capacity: u.capacity,
        last_assigned_at: u.last_assigned_at.map(store::from_db),
    }
}

/// The members of a queue as the router sees them.
pub fn queue_agents(
    conn: &mut DbConn,
    snap: &Snapshot,
    queue_id: i64,
    now: DateTime<Utc>,
) -> QueryResult<Vec<(Agent, RouterRow)>> {
    let members: Vec<RouterRow> = users::table
        .inner_join(queue_members::table)
        .filter(queue_members::queue_id.eq(queue_id))
        .filter(users::active.eq(true))
        .select(RouterRow::as_select())
        .load(conn)?;
    Ok(members
        .into_iter()
        .map(|u| (agent_view(snap, &u, true, now), u))
        .collect())
}

/// What [`take`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Took {
    Taken,
    /// The agent had no room, or the case had an owner or was resolved meanwhile.
    Lost,
    /// Another transaction held the agent's row (only when asked to pass over).
    Held,
}

/// Gives `case` to `agent` if both are still free to take it: the agent's load and
/// the case's owner are changed by conditional updates, so neither an over-full agent
/// nor a second owner can result, whatever runs beside. See [`take_or_pass`] for
/// automatic assignment.
fn take(
    conn: &mut DbConn,
    case_id: i64,
    w: i32,
    agent: i64,
    now: DateTime<Utc>,
) -> QueryResult<bool> {
    Ok(take_or_pass(conn, case_id, w, agent, now, false)? == Took::Taken)
}

/// [`take`], and with `pass_over` on PostgreSQL an agent whose row another
/// transaction holds at that moment (an intake writer giving them a case, a
/// resolution taking one off) is passed over rather than waited for: automatic
/// assignment then tries the next best agent. Two writers giving cases to the same
/// agents in their own orders would otherwise wait on each other in a circle until
/// PostgreSQL broke the deadlock a second later. A person's own choice (a supervisor
/// giving a case, an agent taking the next) waits as before.
fn take_or_pass(
    conn: &mut DbConn,
    case_id: i64,
    w: i32,
    agent: i64,
    now: DateTime<Utc>,
    pass_over: bool,
) -> QueryResult<Took> {
    let at = store::to_db(now);
    if pass_over && let DbConn::Postgresql(pg) = conn {
        let free: Option<i64> = users::table
            .find(agent)
            .select(users::id)
            .for_no_key_update()
            .skip_locked()
            .first(pg)
            .optional()?;
        if free.is_none() {
            return Ok(Took::Held);
        }
    }
    let n = diesel::update(
        users::table
            .find(agent)
            .filter(users::active.eq(true))
            .filter(users::current_load.le(users::capacity - w)),
    )
    .set((
        users::current_load.eq(users::current_load + w),
        users::last_assigned_at.eq(Some(at)),
    ))
    .execute(conn)?;
    if n == 0 {
        return Ok(Took::Lost);
    }
    let m = diesel::update(
        cases::table
            .find(case_id)
            .filter(cases::assignee_id.is_null())
            .filter(cases::resolved_at.is_null()),
    )
    .set((
        cases::assignee_id.eq(Some(agent)),
        cases::status.eq(CaseStatus::Assigned),
        cases::assigned_at.eq(Some(at)),
        cases::waiting_since.eq(None::<chrono::NaiveDateTime>),
        cases::started_at.eq(None::<chrono::NaiveDateTime>),
        cases::updated_at.eq(at),
    ))
    .execute(conn)?;
    if m == 0 {
        diesel::update(users::table.find(agent))
            .set(users::current_load.eq(users::current_load - w))
            .execute(conn)?;
        return Ok(Took::Lost);
    }
    Ok(Took::Taken)
}

/// Whether no other transaction holds the case's row at this moment (on PostgreSQL;
/// SQLite's one writer never meets another). A case so held is being changed — most
/// often taken by another agent — and waiting for it would end in losing it.
fn case_free(conn: &mut DbConn, case_id: i64) -> QueryResult<bool> {
    match conn {
        DbConn::Postgresql(pg) => Ok(cases::table
            .find(case_id)
            .select(cases::id)
            .for_no_key_update()
            .skip_locked()
            .first::<i64>(pg)
            .optional()?
            .is_some()),
        DbConn::Sqlite(_) => Ok(true),
    }
}

fn email_of(conn: &mut DbConn, id: i64) -> QueryResult<String> {
    users::table.find(id).select(users::email).first(conn)
}

/// Tries to give a waiting case to the best eligible agent (other than `exclude`).
/// Writes `assignment.assigned`, or `assignment.waiting` with the reason when
/// `note_waiting` is set. Returns the agent, if one took it.
pub fn try_assign(
    conn: &mut DbConn,
    snap: &Snapshot,
    case_id: i64,
    now: DateTime<Utc>,
    exclude: Option<i64>,
    note_waiting: bool,
) -> QueryResult<Option<i64>> {
    let Some(case) = case_store::find(conn, case_id)? else {
        return Ok(None);
    };
    Ok(try_assign_case(conn, snap, &case, now, exclude, note_waiting)?.map(|(id, _)| id))
}

/// What an intake batch remembers between its alerts. Within one batch nobody gains
/// room (the batch only assigns), so a queue where a case of some weight had to wait
/// makes the next such case wait for the same reason; and the members of a queue are
/// read once per batch, their load kept current here as the batch assigns. Every
/// assignment is still made by the conditional update in `take`, so a stale entry
/// (another instance's change on PostgreSQL) can cost a retry, never a wrong owner.
#[derive(Default)]
pub struct WaitMemo {
    waiting: std::collections::HashMap<(i64, i32), assignment::Waiting>,
    members: std::collections::HashMap<i64, Vec<(Agent, String)>>,
}

impl WaitMemo {
    pub fn new() -> Self {
        Self::default()
    }

    /// The batch gave a case of `weight` to `agent`: every cached view of them
    /// carries the new load.
    fn assigned(&mut self, agent: i64, weight: i32, now: DateTime<Utc>) {
        for members in self.members.values_mut() {
            for (a, _) in members.iter_mut().filter(|(a, _)| a.id == agent) {
                a.load += weight;
                a.last_assigned_at = Some(now);
            }
        }
    }
}

/// [`try_assign`] for a case in hand; returns the agent's id and e-mail.
pub fn try_assign_case(
    conn: &mut DbConn,
    snap: &Snapshot,
    case: &Case,
    now: DateTime<Utc>,
    exclude: Option<i64>,
    note_waiting: bool,
) -> QueryResult<Option<(i64, String)>> {
    let note = if note_waiting {
        Note::Write
    } else {
        Note::Quiet
    };
    try_assign_memo(conn, snap, case, now, exclude, note, None)
}

/// What becomes of the timeline event an assignment attempt makes.
pub enum Note<'a> {
    /// Written; a case that has to wait gets no event.
    Quiet,
    /// Written, `assignment.assigned` or `assignment.waiting` with the reason.
    Write,
    /// Either event handed to the caller, who writes it with its own.
    Into(&'a mut Vec<CaseEvent>),
}

impl Note<'_> {
    fn record(
        &mut self,
        conn: &mut DbConn,
        case_id: i64,
        at: chrono::NaiveDateTime,
        event: CaseEvent,
    ) -> QueryResult<()> {
        match self {
            Note::Quiet if matches!(event, CaseEvent::Waiting(_)) => Ok(()),
            Note::Quiet | Note::Write => case_store::add_event(conn, case_id, at, None, &event),
            Note::Into(events) => {
                events.push(event);
                Ok(())
            }
        }
    }
}

/// [`try_assign_case`] with a batch's memo of queues where cases wait.
pub fn try_assign_memo(
    conn: &mut DbConn,
    snap: &Snapshot,
    case: &Case,
    now: DateTime<Utc>,
    exclude: Option<i64>,
    mut note: Note<'_>,
    mut memo: Option<&mut WaitMemo>,
) -> QueryResult<Option<(i64, String)>> {
    if case.assignee_id.is_some() || case.resolved_at.is_some() {
        return Ok(None);
    }
    if exclude.is_none()
        && let Some(why) = memo
            .as_ref()
            .and_then(|m| m.waiting.get(&(case.queue_id, case.weight)))
    {
        note.record(
            conn,
            case.id,
            store::to_db(now),
            CaseEvent::Waiting(why.clone()),
        )?;
        return Ok(None);
    }
    let Some(queue) = snap.queues_by_id.get(&case.queue_id) else {
        return Ok(None);
    };
    let members: Vec<(Agent, String)> =
        match memo.as_ref().and_then(|m| m.members.get(&case.queue_id)) {
            Some(cached) => cached.clone(),
            None => {
                let read: Vec<(Agent, String)> = queue_agents(conn, snap, case.queue_id, now)?
                    .into_iter()
                    .map(|(a, r)| (a, r.email))
                    .collect();
                if let Some(m) = memo.as_mut() {
                    m.members.insert(case.queue_id, read.clone());
                }
                read
            }
        };
    let emails: std::collections::HashMap<i64, String> =
        members.iter().map(|(a, e)| (a.id, e.clone())).collect();
    let mut agents: Vec<Agent> = members
        .into_iter()
        .map(|(a, _)| a)
        .filter(|a| Some(a.id) != exclude)
        .collect();
    let at = store::to_db(now);
    // A conditional update can lose to a concurrent one; try the next best then (three
    // times). An agent another transaction holds is passed over without counting.
    let (mut lost, mut passed_over) = (0, false);
    while lost < 3 {
        match assignment::choose(&agents, &queue.skills, case.weight) {
            Choice::Agent {
                id,
                eligible,
                load,
                capacity,
            } => {
                let took = take_or_pass(conn, case.id, case.weight, id, now, true)?;
                if took == Took::Held {
                    agents.retain(|a| a.id != id);
                    passed_over = true;
                    continue;
                }
                if took == Took::Taken {
                    if let Some(m) = memo.as_mut() {
                        m.assigned(id, case.weight, now);
                    }
                    let email = emails.get(&id).cloned().unwrap_or_default();
                    note.record(
                        conn,
                        case.id,
                        at,
                        CaseEvent::Assigned(ev::Assigned {
                            to: email.clone(),
                            how: How::Auto,
                            reason: "least_loaded".into(),
                            eligible: Some(eligible),
                            load: Some(load),
                            capacity: Some(capacity),
                            weight: case.weight,
                        }),
                    )?;
                    return Ok(Some((id, email)));
                }
                agents.retain(|a| a.id != id);
                lost += 1;
                // The cached view of this queue was wrong about them: read it afresh
                // for the next case.
                if let Some(m) = memo.as_mut() {
                    m.members.remove(&case.queue_id);
                }
            }
            // Only agents held by others had room: the case waits for a moment, and
            // the next resolution or the sweep gives it out (its waiting is no
            // reason to remember for the queue, nor one to put on the timeline).
            Choice::Waiting(_) if passed_over => return Ok(None),
            Choice::Waiting(why) => {
                if exclude.is_none()
                    && let Some(m) = memo.as_mut()
                {
                    m.waiting.insert((case.queue_id, case.weight), why.clone());
                }
                note.record(conn, case.id, at, CaseEvent::Waiting(why))?;
                return Ok(None);
            }
        }
    }
    Ok(None)
}

/// The agent's queues whose skills they all hold.
fn eligible_queues(
    conn: &mut DbConn,
    snap: &Snapshot,
    me: &Agent,
    user_id: i64,
) -> QueryResult<Vec<i64>> {
    let mine: Vec<i64> = queue_members::table
        .filter(queue_members::user_id.eq(user_id))
        .select(queue_members::queue_id)
        .load(conn)?;
    Ok(mine
        .into_iter()
        .filter(|q| {
            snap.queues_by_id
                .get(q)
                .is_some_and(|q| q.skills.iter().all(|s| me.skills.contains(s)))
        })
        .collect())
}

/// The head of the whole waiting line, across queues, by nearest deadline (one
/// seek in the line index): the first cases, and whether more wait beyond them.
fn global_head(conn: &mut DbConn, skipped: &[i64]) -> QueryResult<(Vec<LineCase>, bool)> {
    const HEAD: i64 = 8;
    let limit = HEAD + skipped.len() as i64;
    let mut head: Vec<LineCase> = cases::table
        .filter(cases::status.eq(CaseStatus::New))
        .select(LineCase::as_select())
        .order((cases::next_due.asc(), cases::id.asc()))
        .limit(limit)
        .load(conn)?;
    let cut = head.len() as i64 == limit;
    head.retain(|c| !skipped.contains(&c.id));
    Ok((head, cut))
}

/// The cases the agent may take that decide their choice, found from the head of
/// the whole line when it can tell: every case with an earlier deadline than the
/// head's last is in the head, and the most urgent of the cases sharing the last
/// deadline are read when the best candidate has it. `None` when the head cannot
/// tell (none of its cases is theirs, or a case without a deadline is in it): search
/// queue by queue.
fn from_global_head(
    conn: &mut DbConn,
    head: &[LineCase],
    cut: bool,
    fits: impl Fn(&LineCase) -> bool,
) -> QueryResult<Option<Vec<LineCase>>> {
    if head.iter().any(|c| c.next_due.is_none()) {
        return Ok(None);
    }
    let mine: Vec<LineCase> = head.iter().filter(|c| fits(c)).cloned().collect();
    let Some(best_due) = mine.iter().filter_map(|c| c.next_due).min() else {
        return Ok(None);
    };
    let last_due = head.last().and_then(|c| c.next_due);
    if !cut || Some(best_due) < last_due {
        return Ok(Some(mine));
    }
    // Cases sharing a deadline are told apart by priority, then age: the first few
    // in that order settle it when one of them is theirs.
    const TIES: i64 = 16;
    let ties: Vec<LineCase> = cases::table
        .filter(cases::status.eq(CaseStatus::New))
        .filter(cases::next_due.eq(best_due))
        .select(LineCase::as_select())
        .order((
            crate::store::worklist::rank().asc(),
            cases::opened_at.asc(),
            cases::id.asc(),
        ))
        .limit(TIES)
        .load(conn)?;
    let mine: Vec<LineCase> = ties.into_iter().filter(|c| fits(c)).collect();
    Ok(if mine.is_empty() { None } else { Some(mine) })
}

/// The first waiting cases of one queue that fit in `room`, by nearest deadline:
/// a few, or all that share the head's deadline when more do (they are then told
/// apart by priority and age, which the index does not order).
fn line_head(
    conn: &mut DbConn,
    queue_id: i64,
    room: i32,
    skipped: &[i64],
) -> QueryResult<Vec<LineCase>> {
    const HEAD: i64 = 4;
    let base = || {
        cases::table
            .filter(cases::queue_id.eq(queue_id))
            .filter(cases::status.eq(CaseStatus::New))
            .filter(cases::weight.le(room))
            .select(LineCase::as_select())
            .order((cases::next_due.asc(), cases::id.asc()))
    };
    let mut head: Vec<LineCase> = base().limit(HEAD + skipped.len() as i64).load(conn)?;
    head.retain(|c| !skipped.contains(&c.id));
    if let (Some(first), Some(last)) = (head.first(), head.last())
        && head.len() as i64 >= HEAD
        && first.next_due == last.next_due
    {
        let due = first.next_due;
        let mut ties: Vec<LineCase> = match due {
            Some(d) => base().filter(cases::next_due.eq(d)).load(conn)?,
            None => base().filter(cases::next_due.is_null()).load(conn)?,
        };
        ties.retain(|c| !skipped.contains(&c.id));
        head = ties;
    }
    Ok(head)
}

/// Gives `user` the most urgent waiting cases they are eligible for, across their
/// queues, until they have no room. With `asked` ("take next") it takes one case,
/// even when auto-assignment is paused for them.
pub fn fill_agent(
    conn: &mut DbConn,
    snap: &Snapshot,
    user_id: i64,
    now: DateTime<Utc>,
    asked: bool,
) -> QueryResult<Vec<i64>> {
    let mut given = Vec::new();
    let mut skipped: Vec<i64> = Vec::new();
    let mut queues: Option<Vec<i64>> = None;
    loop {
        // Most of the time nobody waits: one seek in the line index says so, and
        // the agent's profile and queues are not read at all.
        let (head, cut) = global_head(conn, &skipped)?;
        if head.is_empty() {
            break;
        }
        let Some(user) = users::table
            .find(user_id)
            .select(RouterRow::as_select())
            .first(conn)
            .optional()?
        else {
            break;
        };
        let me = agent_view(snap, &user, true, now);
        let room = me.capacity - me.load;
        if room <= 0 || !me.online || !me.in_shift || (!asked && !me.auto_assign) {
            break;
        }
        // The head of the line: in each of the agent's queues whose skills they
        // hold, the waiting cases that fit by nearest deadline (an index seek per
        // queue, so a deep line elsewhere costs nothing), merged by urgency.
        if queues.is_none() {
            queues = Some(eligible_queues(conn, snap, &me, user_id)?);
        }
        let mine = queues.as_deref().unwrap_or_default();
        let fits = |c: &LineCase| {
            mine.contains(&c.queue_id)
                && snap
                    .queues_by_id
                    .get(&c.queue_id)
                    .is_some_and(|q| assignment::eligible(&me, &q.skills, c.weight, asked))
        };
        // The head of the whole line usually holds the answer; otherwise the head of
        // each of the agent's queues is read.
        let waiting = match from_global_head(conn, &head, cut, fits)? {
            Some(found) => found,
            None => {
                let mut waiting: Vec<LineCase> = Vec::new();
                for q in mine {
                    waiting.extend(line_head(conn, *q, room, &skipped)?);
                }
                waiting.retain(|c| fits(c));
                waiting
            }
        };
        let mut line: Vec<&LineCase> = waiting.iter().collect();
        line.sort_by(|a, b| {
            assignment::urgency_cmp(
                (
                    a.next_due.map(store::from_db),
                    a.priority,
                    store::from_db(a.opened_at),
                ),
                (
                    b.next_due.map(store::from_db),
                    b.priority,
                    store::from_db(b.opened_at),
                ),
            )
        });
        let Some(case) = line.first() else {
            break;
        };
        // Another agent's transaction taking the same case (agents freed at once
        // all look at the head of the line): the next one rather than a wait
        // that ends in losing it.
        if !case_free(conn, case.id)? {
            skipped.push(case.id);
            continue;
        }
        if take(conn, case.id, case.weight, user_id, now)? {
            case_store::add_event(
                conn,
                case.id,
                store::to_db(now),
                if asked { Some(user_id) } else { None },
                &CaseEvent::Assigned(ev::Assigned {
                    to: user.email.clone(),
                    how: if asked { How::TakeNext } else { How::Auto },
                    reason: if asked {
                        "took_next"
                    } else {
                        "most_urgent_waiting"
                    }
                    .into(),
                    eligible: None,
                    load: Some(me.load),
                    capacity: Some(me.capacity),
                    weight: case.weight,
                }),
            )?;
            given.push(case.id);
            // Full now (the most common end): no need to read the agent again.
            if asked || room - case.weight <= 0 {
                break;
            }
        } else {
            skipped.push(case.id);
        }
    }
    Ok(given)
}

/// Why a case leaves its agent, for its event.
#[derive(Debug, Clone)]
pub enum Unassigned {
    /// Given back: the agent left, the case moved, a supervisor reassigns it.
    Returned(ReturnReason),
    /// The agent released it, with a note.
    Released(String),
}

/// Takes a case away from its agent (their load drops by its weight); it waits in
/// its queue again. A case whose closing waits for approval keeps its agent (the
/// lifecycle refuses to give it back), and so does a case someone else changed
/// meanwhile: both return false.
pub fn unassign(
    conn: &mut DbConn,
    case: &Case,
    now: DateTime<Utc>,
    actor: Option<i64>,
    why: Unassigned,
) -> QueryResult<bool> {
    let Some(agent) = case.assignee_id else {
        return Ok(false);
    };
    let cmd = match why {
        Unassigned::Released(_) => Command::Release,
        Unassigned::Returned(_) => Command::GiveBack,
    };
    let Ok(to) = lifecycle::transition(cmd, case.status, crate::cases::facts(case)) else {
        return Ok(false);
    };
    let at = store::to_db(now);
    let n = diesel::update(
        cases::table
            .find(case.id)
            .filter(cases::assignee_id.eq(agent))
            .filter(cases::status.eq(case.status)),
    )
    .set((
        cases::assignee_id.eq(None::<i64>),
        cases::status.eq(to),
        cases::assigned_at.eq(None::<chrono::NaiveDateTime>),
        cases::started_at.eq(None::<chrono::NaiveDateTime>),
        cases::waiting_since.eq(Some(at)),
        cases::next_alarm_at.eq(Some(at)),
        cases::updated_at.eq(at),
    ))
    .execute(conn)?;
    if n == 0 {
        return Ok(false);
    }
    diesel::update(users::table.find(agent))
        .set(users::current_load.eq(users::current_load - case.weight))
        .execute(conn)?;
    let from = email_of(conn, agent)?;
    let event = match why {
        Unassigned::Returned(reason) => CaseEvent::Returned(ev::Returned { reason, from }),
        Unassigned::Released(note) => CaseEvent::Released(ev::Released { note, from }),
    };
    case_store::add_event(conn, case.id, at, actor, &event)?;
    Ok(true)
}

/// Hands back an agent's open cases — those not started, or all with
/// `include_started` — and gives them to others by urgency.
pub fn give_back(
    conn: &mut DbConn,
    snap: &Snapshot,
    user_id: i64,
    now: DateTime<Utc>,
    include_started: bool,
    reason: ReturnReason,
) -> QueryResult<Vec<i64>> {
    let mut q = cases::table
        .filter(cases::assignee_id.eq(user_id))
        .filter(cases::resolved_at.is_null())
        .select(Case::as_select())
        .into_boxed();
    if !include_started {
        q = q.filter(cases::started_at.is_null());
    }
    let mut mine: Vec<Case> = q.load(conn)?;
    mine.sort_by(|a, b| {
        assignment::urgency_cmp(
            (
                a.next_due.map(store::from_db),
                a.priority,
                store::from_db(a.opened_at),
            ),
            (
                b.next_due.map(store::from_db),
                b.priority,
                store::from_db(b.opened_at),
            ),
        )
    });
    let mut returned = Vec::new();
    for case in &mine {
        if unassign(conn, case, now, None, Unassigned::Returned(reason))? {
            returned.push(case.id);
        }
    }
    for id in &returned {
        try_assign(conn, snap, *id, now, Some(user_id), false)?;
    }
    Ok(returned)
}

/// Sets an agent's presence; coming online fills them with waiting cases, going away
/// or offline hands back the cases they have not started.
pub fn set_presence(
    conn: &mut DbConn,
    snap: &Snapshot,
    user_id: i64,
    presence: &str,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    let at = store::to_db(now);
    diesel::update(users::table.find(user_id))
        .set((
            users::presence.eq(presence),
            users::presence_since.eq(Some(at)),
            users::last_active_at.eq(Some(at)),
        ))
        .execute(conn)?;
    match presence {
        "online" => {
            fill_agent(conn, snap, user_id, now, false)?;
        }
        _ => {
            let reason = if presence == "away" {
                ReturnReason::Away
            } else {
                ReturnReason::Offline
            };
            give_back(conn, snap, user_id, now, false, reason)?;
        }
    }
    Ok(())
}

/// A supervisor's reassignment: gives `case` (unassigned by now) to `to`, within the
/// agent's capacity. Returns false when the agent has no room.
pub fn give_to(
    conn: &mut DbConn,
    case: &Case,
    to: i64,
    now: DateTime<Utc>,
    actor: Option<i64>,
    reason: &str,
) -> QueryResult<bool> {
    if !take(conn, case.id, case.weight, to, now)? {
        return Ok(false);
    }
    let email = email_of(conn, to)?;
    case_store::add_event(
        conn,
        case.id,
        store::to_db(now),
        actor,
        &CaseEvent::Assigned(ev::Assigned {
            to: email,
            how: How::Reassigned,
            reason: reason.to_string(),
            eligible: None,
            load: None,
            capacity: None,
            weight: case.weight,
        }),
    )?;
    Ok(true)
}

/// Gives waiting cases to online agents with room — the catch-all after races
/// between instances (an agent coming online in one while a case arrives in another).
/// Returns how many cases were given.
pub fn sweep(conn: &mut DbConn, snap: &Snapshot, now: DateTime<Utc>) -> QueryResult<usize> {
    let with_room: Vec<i64> = users::table
        .filter(users::active.eq(true))
        .filter(users::presence.eq("online"))
        .filter(users::auto_assign.eq(true))
        .filter(users::current_load.lt(users::capacity))
        .select(users::id)
        .order(users::last_assigned_at.asc())
        .load(conn)?;
    let mut given = 0;
    for id in with_room {
        given += crate::db::write_tx_retry(conn, |c| fill_agent(c, snap, id, now, false))?.len();
    }
    Ok(given)
}

/// Why a reassignment did not happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reassigned {
    Done,
    /// The agent holds it already.
    Unchanged,
    /// The agent has no room for it.
    NoRoom,
}

/// The command "start": the case's agent opens it and starts working it.
/// Returns false when there was nothing to start (not theirs, started already).
pub fn start(
    conn: &mut DbConn,
    case_id: i64,
    agent: i64,
    now: DateTime<Utc>,
) -> Result<bool, CaseError> {
    run(conn, |conn| {
        let case = load(conn, case_id)?;
        if case.assignee_id != Some(agent) || case.started_at.is_some() {
            return Ok(false);
        }
        let Ok(to) = allowed(Command::Start, &case) else {
            return Ok(false);
        };
        let at = store::to_db(now);
        changed(crate::update_case_if_unchanged!(
            conn,
            case,
            (
                cases::started_at.eq(Some(at)),
                cases::status.eq(to),
                cases::updated_at.eq(at),
            )
        )?)?;
        case_store::add_event(
            conn,
            case.id,
            at,
            Some(agent),
            &CaseEvent::Started(ev::Empty {}),
        )?;
        Ok(true)
    })
}

/// The command "release": the agent hands one case back to its queue with a note;
/// it goes to another agent if one is free, and the agent gets the next waiting case.
pub fn release(
    conn: &mut DbConn,
    snap: &Snapshot,
    case_id: i64,
    agent: i64,
    note: &str,
    now: DateTime<Utc>,
) -> Result<(), CaseError> {
    let note = note.trim();
    if note.is_empty() {
        return Err(CaseError::ReasonRequired);
    }
    run(conn, |conn| {
        let case = load(conn, case_id)?;
        if case.assignee_id != Some(agent) {
            return Err(CaseError::Forbidden);
        }
        allowed(Command::Release, &case)?;
        if !unassign(
            conn,
            &case,
            now,
            Some(agent),
            Unassigned::Released(note.to_string()),
        )? {
            return Err(CaseError::Conflict);
        }
        try_assign(conn, snap, case.id, now, Some(agent), false)?;
        fill_agent(conn, snap, agent, now, false)?;
        Ok(())
    })
}

/// The command "reassign": a supervisor gives the case to another agent with a
/// reason, within that agent's capacity; the previous agent gets the next waiting
/// case. All or nothing.
pub fn reassign(
    conn: &mut DbConn,
    snap: &Snapshot,
    case_id: i64,
    to: i64,
    supervisor: i64,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Reassigned, CaseError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(CaseError::ReasonRequired);
    }
    let result = run(conn, |conn| {
        let case = load(conn, case_id)?;
        let previous = case.assignee_id;
        if previous == Some(to) {
            return Ok(Reassigned::Unchanged);
        }
        allowed(Command::Reassign, &case)?;
        if previous.is_some()
            && !unassign(
                conn,
                &case,
                now,
                Some(supervisor),
                Unassigned::Returned(ReturnReason::Reassigned),
            )?
        {
            return Err(CaseError::Conflict);
        }
        let fresh = load(conn, case.id)?;
        if !give_to(conn, &fresh, to, now, Some(supervisor), reason)? {
            // Undo the whole change: the agent had no room.
            return Err(CaseError::Invalid(Vec::new()));
        }
        if let Some(p) = previous {
            fill_agent(conn, snap, p, now, false)?;
        }
        Ok(Reassigned::Done)
    });
    match result {
        Err(CaseError::Invalid(p)) if p.is_empty() => Ok(Reassigned::NoRoom),
        other => other,
    }
}

/// The agent's presence changes (see [`set_presence`]), as one command run again
/// whole when it deadlocks with another.
pub fn change_presence(
    conn: &mut DbConn,
    snap: &Snapshot,
    user_id: i64,
    presence: &str,
    now: DateTime<Utc>,
) -> Result<(), CaseError> {
    run(conn, |c| Ok(set_presence(c, snap, user_id, presence, now)?))
}

/// "Take next": the most urgent case the agent may take, even while automatic
/// assignment is paused for them.
pub fn take_next(
    conn: &mut DbConn,
    snap: &Snapshot,
    user_id: i64,
    now: DateTime<Utc>,
) -> Result<Option<i64>, CaseError> {
    run(conn, |c| {
        Ok(fill_agent(c, snap, user_id, now, true)?.first().copied())
    })
}

/// A heavier alert joined the case: its agent's load grows by the difference, within
/// their capacity. An agent without room for the heavier case gives it back, and it
/// goes to someone who has room (or waits), so no agent is ever over capacity.
pub fn grow(
    conn: &mut DbConn,
    snap: &Snapshot,
    case: &Case,
    weight: i32,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    let Some(agent) = case.assignee_id else {
        return Ok(());
    };
    let delta = weight - case.weight;
    if delta <= 0 {
        return Ok(());
    }
    let n = diesel::update(
        users::table
            .find(agent)
            .filter(users::current_load.le(users::capacity - delta)),
    )
    .set(users::current_load.eq(users::current_load + delta))
    .execute(conn)?;
    if n == 0 {
        // The case is given back at its old weight (the load it held), then waits
        // or goes to another agent at its new one.
        if unassign(
            conn,
            case,
            now,
            None,
            Unassigned::Returned(ReturnReason::OverCapacity),
        )? {
            try_assign(conn, snap, case.id, now, Some(agent), true)?;
        } else {
            // A case that cannot be given back now (a closing waits for approval)
            // stays with its agent at the weight they carry for it: no agent goes
            // over capacity, and their load stays the weight of their cases.
            diesel::update(cases::table.find(case.id))
                .set(cases::weight.eq(case.weight))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// An account command that hands an agent's cases on, run again whole when its
/// transaction is chosen as a deadlock's or serialization failure's victim.
fn account_command(
    conn: &mut DbConn,
    mut f: impl FnMut(&mut DbConn) -> Result<User, AccountError>,
) -> Result<User, AccountError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match f(conn) {
            Err(AccountError::Db(e)) if attempt < 5 && crate::db::is_retryable(&e) => {
                tracing::debug!(error = %e, attempt, "account command run again");
                std::thread::sleep(std::time::Duration::from_millis(3 * attempt));
            }
            other => return other,
        }
    }
}

/// Deactivates or reactivates a user (see [`accounts::set_active`]). A deactivated
/// agent goes offline and their open cases, started or not, go to others in the same
/// transaction, so no case is ever held by someone who can no longer sign in.
pub fn set_active(
    conn: &mut DbConn,
    snap: &Snapshot,
    now: DateTime<Utc>,
    actor: &Actor,
    id: i64,
    active: bool,
) -> Result<User, AccountError> {
    account_command(conn, |conn| {
        accounts::set_active(conn, now, actor, id, active, |c| {
            if !active {
                diesel::update(users::table.find(id))
                    .set(users::presence.eq("offline"))
                    .execute(c)?;
                give_back(c, snap, id, now, true, ReturnReason::Deactivated)?;
            }
            Ok(())
        })
    })
}

/// Sets an agent's routing profile (see [`accounts::set_routing`]); more room or new
/// queues give them waiting cases in the same transaction.
pub fn set_routing(
    conn: &mut DbConn,
    snap: &Snapshot,
    now: DateTime<Utc>,
    actor: &Actor,
    id: i64,
    input: &RoutingInput,
) -> Result<User, AccountError> {
    account_command(conn, |conn| {
        accounts::set_routing(conn, now, actor, id, input, |c| {
            fill_agent(c, snap, id, now, false)?;
            Ok(())
        })
    })
}
