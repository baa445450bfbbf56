// Cases, their customers and alerts, and the append-only timeline: the queries
// intake and the case API use.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{alerts, case_events, cases, customers, queues, users};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = cases)]
pub struct Case {
    pub id: i64,
    pub customer_id: i64,
    pub queue_id: i64,
    pub priority: crate::domain::Priority,
    pub status: crate::domain::CaseStatus,
    pub rule_code: String,
    pub open_key: Option<String>,
    pub opened_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub first_response_due: NaiveDateTime,
    pub resolution_due: NaiveDateTime,
    pub first_responded_at: Option<NaiveDateTime>,
    pub resolved_at: Option<NaiveDateTime>,
    pub paused_since: Option<NaiveDateTime>,
    pub pause_reason: Option<String>,
    pub paused_minutes: i32,
    pub breached: bool,
    pub assignee_id: Option<i64>,
    pub disposition: Option<String>,
    pub alert_count: i32,
    /// Capacity units the case takes (its rule's weight).
    pub weight: i32,
    pub assigned_at: Option<NaiveDateTime>,
    pub started_at: Option<NaiveDateTime>,
    pub next_due: Option<NaiveDateTime>,
    pub next_alarm_at: Option<NaiveDateTime>,
    /// When the SLA clock started: set when a reopened or handed-off case starts
    /// anew; else the case's opening.
    pub sla_started_at: Option<NaiveDateTime>,
    pub resolved_by: Option<i64>,
    pub reopen_count: i32,
    /// When it began waiting for an agent (none while it has one).
    pub waiting_since: Option<NaiveDateTime>,
    /// The campaign this case belongs to, if any. (Whether the case is itself a
    /// campaign is told by its row in `campaigns`.)
    pub campaign_id: Option<i64>,
}

impl Case {
    /// Where the SLA clocks count from.
    pub fn sla_start(&self) -> chrono::DateTime<chrono::Utc> {
        crate::store::from_db(self.sla_started_at.unwrap_or(self.opened_at))
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = customers)]
pub struct Customer {
    pub id: i64,
    pub external_id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub locale: Option<String>,
    pub timezone: Option<String>,
    pub attributes: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub do_not_contact: bool,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = alerts)]
pub struct Alert {
    pub id: i64,
    pub external_id: String,
    pub rule_code: String,
    pub severity: String,
    pub occurred_at: Option<NaiveDateTime>,
    pub received_at: NaiveDateTime,
    pub customer_id: i64,
    pub case_id: Option<i64>,
    pub amount: Option<String>,
    pub currency: Option<String>,
    pub transaction_ref: Option<String>,
    pub attributes: String,
    pub api_key_id: Option<i64>,
    pub result: Option<String>,
}

/// A stored timeline event; [`EventRow::event`] reads it as the domain's type.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = case_events)]
pub struct EventRow {
    pub id: i64,
    pub case_id: i64,
    pub at: NaiveDateTime,
    pub kind: String,
    pub actor_user_id: Option<i64>,
    pub data: String,
}

impl EventRow {
    pub fn event(&self) -> Result<crate::domain::CaseEvent, crate::domain::events::EventError> {
        crate::domain::CaseEvent::from_parts(&self.kind, &self.data)
    }
}

pub use crate::domain::reference::{case_ref, parse_case_ref};

/// The key that allows one open case per customer per queue.
pub fn open_key(customer_id: i64, queue_id: i64) -> String {
    format!("{customer_id}:{queue_id}")
}

pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<Case>> {
    cases::table
        .find(id)
        .select(Case::as_select())
        .first(conn)
        .optional()
}

pub fn find_open(conn: &mut DbConn, key: &str) -> QueryResult<Option<Case>> {
    cases::table
        .filter(cases::open_key.eq(key))
        .select(Case::as_select())
        .first(conn)
        .optional()
}

pub fn customer(conn: &mut DbConn, id: i64) -> QueryResult<Customer> {
    customers::table
        .find(id)
        .select(Customer::as_select())
        .first(conn)
}

/// The customers of these ids, by id.
pub fn customers(
    conn: &mut DbConn,
    ids: &[i64],
) -> QueryResult<std::collections::HashMap<i64, Customer>> {
    Ok(customers::table
        .filter(customers::id.eq_any(ids))
        .select(Customer::as_select())
        .load::<Customer>(conn)?
        .into_iter()
        .map(|c| (c.id, c))
        .collect())
}

pub fn alerts_of(conn: &mut DbConn, case_id: i64) -> QueryResult<Vec<Alert>> {
    alerts::table
        .filter(alerts::case_id.eq(case_id))
        .select(Alert::as_select())
        .order(alerts::id.asc())
        .load(conn)
}

pub fn events_of(conn: &mut DbConn, case_id: i64) -> QueryResult<Vec<EventRow>> {
    case_events::table
        .filter(case_events::case_id.eq(case_id))
        .select(EventRow::as_select())
        .order(case_events::id.asc())
        .load(conn)
}

/// Appends one event to a case's timeline.
pub fn add_event(
    conn: &mut DbConn,
    case_id: i64,
    at: NaiveDateTime,
    actor: Option<i64>,
    event: &crate::domain::CaseEvent,
) -> QueryResult<()> {
    let (kind, data) = event.to_parts();
    diesel::insert_into(case_events::table)
        .values((
            case_events::case_id.eq(case_id),
            case_events::at.eq(at),
            case_events::kind.eq(kind),
            case_events::actor_user_id.eq(actor),
            case_events::data.eq(data),
        ))
        .execute(conn)?;
    crate::store::webhooks::enqueue_case_events(conn, case_id, at, std::slice::from_ref(event))
        .map(|_| ())
}

/// Appends several events to a case's timeline in one statement, in order.
pub fn add_events(
    conn: &mut DbConn,
    case_id: i64,
    at: NaiveDateTime,
    events: &[crate::domain::CaseEvent],
) -> QueryResult<()> {
    add_events_by(conn, case_id, at, None, events)
}

/// [`add_events`] by `actor`.
pub fn add_events_by(
    conn: &mut DbConn,
    case_id: i64,
    at: NaiveDateTime,
    actor: Option<i64>,
    events: &[crate::domain::CaseEvent],
) -> QueryResult<()> {
    let rows: Vec<_> = events
        .iter()
        .map(|e| {
            let (kind, data) = e.to_parts();
            (
                case_events::case_id.eq(case_id),
                case_events::at.eq(at),
                case_events::kind.eq(kind),
                case_events::actor_user_id.eq(actor),
                case_events::data.eq(data),
            )
        })
        .collect();
    crate::insert_rows!(conn, case_events::table, rows)?;
    crate::store::webhooks::enqueue_case_events(conn, case_id, at, events).map(|_| ())
}

/// [`add_events`] for several cases at once, as intake writes a batch's timelines:
/// one statement for the events (each case's in order), one for their webhooks.
pub fn add_events_of_cases(
    conn: &mut DbConn,
    at: NaiveDateTime,
    cases: &[(i64, &[crate::domain::CaseEvent])],
) -> QueryResult<()> {
    let rows: Vec<_> = cases
        .iter()
        .flat_map(|(case_id, events)| {
            events.iter().map(move |e| {
                let (kind, data) = e.to_parts();
                (
                    case_events::case_id.eq(*case_id),
                    case_events::at.eq(at),
                    case_events::kind.eq(kind),
                    case_events::actor_user_id.eq(None::<i64>),
                    case_events::data.eq(data),
                )
            })
        })
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    crate::dispatch!(conn, |c| diesel::insert_into(case_events::table)
        .values(rows)
        .execute(c))?;
    crate::store::webhooks::enqueue_events_of_cases(conn, at, cases).map(|_| ())
}

pub fn queue_name(conn: &mut DbConn, id: i64) -> QueryResult<String> {
    queues::table.find(id).select(queues::name).first(conn)
}

pub fn assignee_email(conn: &mut DbConn, id: Option<i64>) -> QueryResult<Option<String>> {
    match id {
        Some(id) => users::table
            .find(id)
            .select(users::email)
            .first(conn)
            .optional(),
        None => Ok(None),
    }
}

/// Filters of the case list.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub status: Option<String>,
    pub queue_id: Option<i64>,
    pub updated_since: Option<NaiveDateTime>,
    /// Continue after this (updated_at, id).
    pub after: Option<(NaiveDateTime, i64)>,
    pub limit: i64,
}

/// Cases ordered by (updated_at, id), oldest change first: a change feed that a
/// keyset cursor continues, never an OFFSET.
pub fn list(conn: &mut DbConn, f: &ListFilter) -> QueryResult<Vec<Case>> {
    let mut q = cases::table.select(Case::as_select()).into_boxed();
    if let Some(s) = &f.status {
        q = q.filter(cases::status.eq(s.clone()));
    }
    if let Some(qid) = f.queue_id {
        q = q.filter(cases::queue_id.eq(qid));
    }
    if let Some(t) = f.updated_since {
        q = q.filter(cases::updated_at.ge(t));
    }
    if let Some((t, id)) = f.after {
        q = q.filter(
            cases::updated_at
                .gt(t)
                .or(cases::updated_at.eq(t).and(cases::id.gt(id))),
        );
    }
    q.order((cases::updated_at.asc(), cases::id.asc()))
        .limit(f.limit)
        .load(conn)
}

/// The other cases of a customer, newest first (at most `limit`).
pub fn of_customer_except(
    conn: &mut DbConn,
    customer_id: i64,
    except: i64,
    limit: i64,
) -> QueryResult<Vec<Case>> {
    cases::table
        .filter(cases::customer_id.eq(customer_id))
        .filter(cases::id.ne(except))
        .select(Case::as_select())
        .order(cases::id.desc())
        .limit(limit)
        .load(conn)
}

/// The cases of any of these customers, newest first (at most `limit`).
pub fn of_customers(conn: &mut DbConn, customer_ids: &[i64], limit: i64) -> QueryResult<Vec<Case>> {
    if customer_ids.is_empty() {
        return Ok(Vec::new());
    }
    // The ids come from the index on the customer alone and are ordered here: asked
    // for in id order, a database may walk the whole table backwards looking for
    // these customers' cases instead.
    let mut ids: Vec<i64> = cases::table
        .filter(cases::customer_id.eq_any(customer_ids))
        .select(cases::id)
        .load(conn)?;
    ids.sort_unstable_by(|a, b| b.cmp(a));
    ids.truncate(usize::try_from(limit).unwrap_or(0));
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    cases::table
        .filter(cases::id.eq_any(&ids))
        .select(Case::as_select())
        .order(cases::id.desc())
        .load(conn)
}
