// The supervisor board's reads: open cases counted by queue, status and breach, the
// cases next to breach and those breached, agents at work with their load and oldest
// case, the unassigned cases waiting longest, and today's arrivals, resolutions and
// breaches. Every read touches open cases only, through the partial indexes that hold
// nothing else, or one day of an index on time; lists are bounded.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{case_events, case_facts, cases, customers, queue_members, queues, users};
use crate::store::worklist::Row;

/// How many cases each of the board's lists shows.
pub const LIST_LIMIT: i64 = 10;

/// The open cases of a list, with queue, customer and assignee, as the workspace
/// lists read them (the columns of [`Row`]).
macro_rules! open_rows {
    () => {
        cases::table
            .inner_join(queues::table)
            .inner_join(customers::table)
            .left_join(users::table.on(users::id.nullable().eq(cases::assignee_id)))
            .filter(cases::resolved_at.is_null())
            .select((
                cases::id,
                cases::queue_id,
                cases::priority,
                cases::status,
                cases::rule_code,
                cases::opened_at,
                cases::next_due,
                cases::paused_since,
                cases::breached,
                cases::assignee_id,
                queues::name,
                customers::name,
                customers::phone,
                users::name.nullable(),
            ))
    };
}

/// Open cases of one queue in one status, breached or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BacklogCount {
    pub queue_id: i64,
    pub status: String,
    pub breached: bool,
    pub count: i64,
}

/// Counts the open cases by queue, status and breach: an index-only read of
/// `cases_open_board`.
pub fn backlog(conn: &mut DbConn) -> QueryResult<Vec<BacklogCount>> {
    let rows: Vec<(i64, String, bool, i64)> = cases::table
        .filter(cases::resolved_at.is_null())
        .group_by((cases::queue_id, cases::status, cases::breached))
        .select((
            cases::queue_id,
            cases::status,
            cases::breached,
            diesel::dsl::count_star(),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(queue_id, status, breached, count)| BacklogCount {
            queue_id,
            status,
            breached,
            count,
        })
        .collect())
}

/// Open cases with a running clock, not yet breached, whose next deadline falls in
/// `(now, until]`: the first [`LIST_LIMIT`] by deadline, and how many there are.
pub fn at_risk(
    conn: &mut DbConn,
    now: NaiveDateTime,
    until: NaiveDateTime,
) -> QueryResult<(Vec<Row>, i64)> {
    let rows: Vec<Row> = open_rows!()
        .filter(cases::paused_since.is_null())
        .filter(cases::breached.eq(false))
        .filter(cases::next_due.gt(now))
        .filter(cases::next_due.le(until))
        .order((cases::next_due.asc(), cases::id.asc()))
        .limit(LIST_LIMIT)
        .load(conn)?;
    let count = cases::table
        .filter(cases::resolved_at.is_null())
        .filter(cases::paused_since.is_null())
        .filter(cases::breached.eq(false))
        .filter(cases::next_due.gt(now))
        .filter(cases::next_due.le(until))
        .count()
        .get_result(conn)?;
    Ok((rows, count))
}

/// Open cases marked breached, the longest overdue first.
pub fn breached(conn: &mut DbConn) -> QueryResult<Vec<Row>> {
    open_rows!()
        .filter(cases::breached.eq(true))
        .order((cases::next_due.asc(), cases::id.asc()))
        .limit(LIST_LIMIT)
        .load(conn)
}

/// An agent at work as the board shows them.
#[derive(Debug, Clone)]
pub struct AgentLoad {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub presence: String,
    pub load: i32,
    pub capacity: i32,
    /// Their open case opened longest ago: (id, opened at).
    pub oldest: Option<(i64, NaiveDateTime)>,
    pub open_cases: i64,
}

/// Active agents online or away, with their load and their oldest open case.
pub fn agents(conn: &mut DbConn) -> QueryResult<Vec<AgentLoad>> {
    let people: Vec<(i64, String, String, String, i32, i32)> = users::table
        .filter(users::role.eq("agent"))
        .filter(users::active.eq(true))
        .filter(users::presence.eq_any(["online", "away"]))
        .select((
            users::id,
            users::name,
            users::email,
            users::presence,
            users::current_load,
            users::capacity,
        ))
        .order((users::presence.desc(), users::name.asc(), users::id.asc()))
        .load(conn)?;
    let mut oldest: HashMap<i64, (i64, NaiveDateTime)> = HashMap::new();
    let mut counts: HashMap<i64, i64> = HashMap::new();
    for chunk in people.chunks(500) {
        let ids: Vec<i64> = chunk.iter().map(|p| p.0).collect();
        let open: Vec<(Option<i64>, i64, NaiveDateTime)> = cases::table
            .filter(cases::resolved_at.is_null())
            .filter(cases::assignee_id.eq_any(ids))
            .select((cases::assignee_id, cases::id, cases::opened_at))
            .load(conn)?;
        for (agent, id, opened) in open {
            let Some(agent) = agent else { continue };
            *counts.entry(agent).or_default() += 1;
            let e = oldest.entry(agent).or_insert((id, opened));
            if (opened, id) < (e.1, e.0) {
                *e = (id, opened);
            }
        }
    }
    Ok(people
        .into_iter()
        .map(|(id, name, email, presence, load, capacity)| AgentLoad {
            oldest: oldest.get(&id).copied(),
            open_cases: counts.get(&id).copied().unwrap_or(0),
            id,
            name,
            email,
            presence,
            load,
            capacity,
        })
        .collect())
}

/// The unassigned open cases waiting longest (since they opened, or since their
/// SLA started anew on a reopening or hand-off), with when each started waiting,
/// and how many wait in all. Both read `cases_open_assignee` at `assignee_id IS NULL`.
pub fn unassigned(conn: &mut DbConn) -> QueryResult<(Vec<(Row, NaiveDateTime)>, i64)> {
    let since = || {
        crate::db::fixed::fixed::<diesel::sql_types::Timestamp>(
            "COALESCE(cases.sla_started_at, cases.opened_at)",
        )
    };
    let rows: Vec<(Row, NaiveDateTime)> = cases::table
        .inner_join(queues::table)
        .inner_join(customers::table)
        .left_join(users::table.on(users::id.nullable().eq(cases::assignee_id)))
        .filter(cases::resolved_at.is_null())
        .filter(cases::assignee_id.is_null())
        .select((
            (
                cases::id,
                cases::queue_id,
                cases::priority,
                cases::status,
                cases::rule_code,
                cases::opened_at,
                cases::next_due,
                cases::paused_since,
                cases::breached,
                cases::assignee_id,
                queues::name,
                customers::name,
                customers::phone,
                users::name.nullable(),
            ),
            since(),
        ))
        .order((since().asc(), cases::id.asc()))
        .limit(LIST_LIMIT)
        .load(conn)?;
    let total = cases::table
        .filter(cases::resolved_at.is_null())
        .filter(cases::assignee_id.is_null())
        .count()
        .get_result(conn)?;
    Ok((rows, total))
}

/// When cases arrived, were resolved and breached their SLA within a span of time.
#[derive(Debug, Clone, Default)]
pub struct Moments {
    pub arrived: Vec<NaiveDateTime>,
    pub resolved: Vec<NaiveDateTime>,
    pub breached: Vec<NaiveDateTime>,
}

/// The moments of `[from, until)`, each from an index on its time: the cases'
/// opening (`cases_opened`), the reports' facts (`case_facts_resolved`, which the
/// facts job keeps within seconds of the cases) and the breach events
/// (`case_events_breached`).
pub fn moments(
    conn: &mut DbConn,
    from: NaiveDateTime,
    until: NaiveDateTime,
) -> QueryResult<Moments> {
    let arrived = cases::table
        .filter(cases::opened_at.ge(from))
        .filter(cases::opened_at.lt(until))
        .select(cases::opened_at)
        .load(conn)?;
    let resolved = case_facts::table
        .filter(case_facts::resolved_at.ge(from))
        .filter(case_facts::resolved_at.lt(until))
        .select(case_facts::resolved_at.assume_not_null())
        .load(conn)?;
    let breached = case_events::table
        // Written into the statement, not bound, so that the partial index
        // `case_events_breached` is the one used (see `crate::db::fixed`).
        .filter(crate::db::fixed::fixed::<diesel::sql_types::Bool>(
            "case_events.kind = 'sla.breached'",
        ))
        .filter(case_events::at.ge(from))
        .filter(case_events::at.lt(until))
        .select(case_events::at)
        .load(conn)?;
    Ok(Moments {
        arrived,
        resolved,
        breached,
    })
}

/// The open work of each queue in weight units: (queue id, summed weight), through
/// `cases_open_queue`.
pub fn open_weight(conn: &mut DbConn) -> QueryResult<Vec<(i64, i64)>> {
    let rows: Vec<(i64, Option<i64>)> = cases::table
        .filter(cases::resolved_at.is_null())
        .group_by(cases::queue_id)
        .select((cases::queue_id, diesel::dsl::sum(cases::weight)))
        .load(conn)?;
    Ok(rows.into_iter().map(|(q, w)| (q, w.unwrap_or(0))).collect())
}

/// The capacity of each queue: (queue id, the summed capacity of its active agents
/// online or away). An agent in several queues counts in each.
pub fn queue_capacity(conn: &mut DbConn) -> QueryResult<Vec<(i64, i64)>> {
    let rows: Vec<(i64, i32)> = queue_members::table
        .inner_join(users::table)
        .filter(users::role.eq("agent"))
        .filter(users::active.eq(true))
        .filter(users::presence.eq_any(["online", "away"]))
        .select((queue_members::queue_id, users::capacity))
        .load(conn)?;
    let mut by_queue: HashMap<i64, i64> = HashMap::new();
    for (q, c) in rows {
        *by_queue.entry(q).or_default() += i64::from(c);
    }
    Ok(by_queue.into_iter().collect())
}
