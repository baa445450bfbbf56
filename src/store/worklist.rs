// The agent's lists of open cases: by assignee, by queue, waiting on the customer and
// at risk, in SLA-urgency order (nearest deadline, then priority, then age), read a
// page at a time after a keyset cursor.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{cases, customers, queues, users};

/// `cases.priority_rank`: the rank of the case's priority (0 critical … 3 low), a
/// column the database derives from `priority` and the lists' indexes hold, so that a
/// list's first page is read in order from an index, not sorted from its backlog.
/// It is named here rather than in the schema, whose `cases` table is at diesel's
/// limit of 32 columns, as fixed text that keeps the statements using it cacheable
/// (see [`crate::db::fixed`]).
pub fn rank() -> crate::db::fixed::Fixed<diesel::sql_types::Integer> {
    crate::db::fixed::fixed("cases.priority_rank")
}

/// The rank a priority has in the lists' order, as `cases.priority_rank` holds it.
pub fn priority_rank(priority: &str) -> i32 {
    match priority {
        "critical" => 0,
        "high" => 1,
        "medium" => 2,
        _ => 3,
    }
}

/// Which list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// The user's own open cases.
    Mine,
    /// The open cases of one queue.
    Queue(i64),
    /// Open cases whose SLA clock is paused, awaiting the customer.
    Waiting,
    /// Open cases with a running clock whose next deadline is within the window.
    AtRisk,
}

/// Whose cases the user may see in lists: supervisors and admins every case; an
/// agent the cases of their queues and their own.
#[derive(Debug, Clone)]
pub struct Scope {
    pub user_id: i64,
    pub everything: bool,
    pub queue_ids: Vec<i64>,
}

/// Narrowing of a list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub rule: Option<String>,
    pub priority: Option<String>,
    pub status: Option<String>,
}

/// Where a page continues: after the row with this (next deadline, priority rank, id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub due: NaiveDateTime,
    pub rank: i32,
    pub id: i64,
}

impl Cursor {
    /// `<deadline in µs since the epoch>.<rank>.<id>`.
    pub fn encode(&self) -> String {
        format!(
            "{}.{}.{}",
            self.due.and_utc().timestamp_micros(),
            self.rank,
            self.id
        )
    }

    pub fn parse(s: &str) -> Option<Cursor> {
        let mut parts = s.split('.');
        let micros: i64 = parts.next()?.parse().ok()?;
        let rank: i32 = parts.next()?.parse().ok()?;
        let id: i64 = parts.next()?.parse().ok()?;
        if parts.next().is_some() || !(0..=3).contains(&rank) || id <= 0 {
            return None;
        }
        let due = DateTime::<Utc>::from_timestamp_micros(micros)?.naive_utc();
        Some(Cursor { due, rank, id })
    }
}

/// One row of a list (its timestamps read by [`crate::db::ts`]'s parser).
#[derive(Debug, Clone, Queryable)]
pub struct Row {
    pub id: i64,
    pub queue_id: i64,
    pub priority: String,
    pub status: String,
    pub rule_code: String,
    #[diesel(deserialize_as = crate::db::ts::Ts)]
    pub opened_at: NaiveDateTime,
    #[diesel(deserialize_as = crate::db::ts::OptTs)]
    pub next_due: Option<NaiveDateTime>,
    #[diesel(deserialize_as = crate::db::ts::OptTs)]
    pub paused_since: Option<NaiveDateTime>,
    pub breached: bool,
    pub assignee_id: Option<i64>,
    pub queue: String,
    pub customer_name: Option<String>,
    pub customer_phone: Option<String>,
    pub assignee: Option<String>,
}

impl Row {
    pub fn cursor(&self) -> Option<Cursor> {
        self.next_due.map(|due| Cursor {
            due,
            rank: priority_rank(&self.priority),
            id: self.id,
        })
    }
}

/// A page of a list and the cursor of the next one, if there is more.
#[derive(Debug, Clone)]
pub struct Page {
    pub rows: Vec<Row>,
    pub next: Option<Cursor>,
}

/// Narrows a boxed query over `cases` to the open cases of `view` that `scope` may
/// see and `filter` keeps: the one definition of a list's rows, for its pages, its
/// count and "select all matching".
macro_rules! narrow {
    ($q:expr, $view:expr, $scope:expr, $filter:expr, $at_risk_until:expr) => {{
        let mut q = $q.filter(cases::resolved_at.is_null());
        let (view, scope, filter): (View, &Scope, &Filter) = ($view, $scope, $filter);
        match view {
            View::Mine => q = q.filter(cases::assignee_id.eq(scope.user_id)),
            View::Queue(id) => q = q.filter(cases::queue_id.eq(id)),
            View::Waiting => q = q.filter(cases::paused_since.is_not_null()),
            View::AtRisk => {
                q = q
                    .filter(cases::paused_since.is_null())
                    .filter(cases::next_due.le($at_risk_until))
            }
        }
        // A queue's list is only shown to those who may see the queue (checked by the
        // caller); "mine" holds only the user's own cases.
        if !scope.everything && matches!(view, View::Waiting | View::AtRisk) {
            q = q.filter(
                cases::queue_id
                    .eq_any(scope.queue_ids.clone())
                    .or(cases::assignee_id.eq(scope.user_id)),
            );
        }
        if let Some(r) = &filter.rule {
            q = q.filter(cases::rule_code.eq(r.clone()));
        }
        if let Some(p) = &filter.priority {
            q = q.filter(cases::priority.eq(p.clone()));
        }
        if let Some(s) = &filter.status {
            q = q.filter(cases::status.eq(s.clone()));
        }
        q
    }};
}

/// Reads one page of `view` as `scope` may see it: at most `limit` rows after
/// `after`, nearest deadline first, then the higher priority, then the older case.
/// `at_risk_until` bounds the deadlines of the at-risk view.
pub fn page(
    conn: &mut DbConn,
    view: View,
    scope: &Scope,
    filter: &Filter,
    after: Option<Cursor>,
    limit: i64,
    at_risk_until: NaiveDateTime,
) -> QueryResult<Page> {
    let mut q = cases::table
        .inner_join(queues::table)
        .inner_join(customers::table)
        .left_join(users::table.on(users::id.nullable().eq(cases::assignee_id)))
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
        .into_boxed();
    q = narrow!(q, view, scope, filter, at_risk_until);
    if let Some(c) = after {
        q = q.filter(
            cases::next_due.gt(c.due).or(cases::next_due.eq(c.due).and(
                rank()
                    .gt(c.rank)
                    .or(rank().eq(c.rank).and(cases::id.gt(c.id))),
            )),
        );
    }
    let mut rows: Vec<Row> = q
        .order((cases::next_due.asc(), rank().asc(), cases::id.asc()))
        .limit(limit + 1)
        .load(conn)?;
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().and_then(Row::cursor)
    } else {
        None
    };
    Ok(Page { rows, next })
}

/// How many open cases `view` holds for `scope` under `filter` (every page).
pub fn count(
    conn: &mut DbConn,
    view: View,
    scope: &Scope,
    filter: &Filter,
    at_risk_until: NaiveDateTime,
) -> QueryResult<i64> {
    let q = cases::table.select(diesel::dsl::count_star()).into_boxed();
    narrow!(q, view, scope, filter, at_risk_until).first(conn)
}

/// How many open cases `view` holds for `scope` under `filter`, counted up to `cap`
/// at most: a page tells "more than so many" without reading a whole backlog.
pub fn count_up_to(
    conn: &mut DbConn,
    view: View,
    scope: &Scope,
    filter: &Filter,
    at_risk_until: NaiveDateTime,
    cap: i64,
) -> QueryResult<i64> {
    let q = cases::table.select(cases::id).into_boxed();
    let ids: Vec<i64> = narrow!(q, view, scope, filter, at_risk_until)
        .limit(cap)
        .load(conn)?;
    Ok(ids.len() as i64)
}

/// The ids of the cases `view` holds for `scope` under `filter`, in the list's
/// order, at most `limit` of them: what "select all matching" acts on.
pub fn matching_ids(
    conn: &mut DbConn,
    view: View,
    scope: &Scope,
    filter: &Filter,
    at_risk_until: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<i64>> {
    let q = cases::table.select(cases::id).into_boxed();
    narrow!(q, view, scope, filter, at_risk_until)
        .order((cases::next_due.asc(), rank().asc(), cases::id.asc()))
        .limit(limit)
        .load(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let due = DateTime::<Utc>::from_timestamp_micros(1_795_000_000_123_456)
            .unwrap()
            .naive_utc();
        let c = Cursor {
            due,
            rank: 2,
            id: 417,
        };
        assert_eq!(Cursor::parse(&c.encode()), Some(c));
        for bad in ["", "1.2", "1.2.3.4", "x.1.2", "1.9.2", "1.1.0", "1.1.-3"] {
            assert_eq!(Cursor::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn ranks_put_critical_first() {
        assert!(priority_rank("critical") < priority_rank("high"));
        assert!(priority_rank("high") < priority_rank("medium"));
        assert!(priority_rank("medium") < priority_rank("low"));
    }
}
