// Opening a case: the one insert every new case goes through, an alert's (intake) or
// a campaign's. Unique among open cases by its `open_key`, so two instances opening
// the same case at once open it once.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::cases;
use crate::dispatch;
use crate::domain::sla::Dues;
use crate::domain::{CaseStatus, Priority};
use crate::store;
use crate::store::cases::Case;
use crate::store::deskconfig::QueueInfo;

/// What a new case starts from.
pub struct NewCase<'a> {
    pub customer_id: i64,
    pub queue: &'a QueueInfo,
    pub priority: Priority,
    pub rule_code: &'a str,
    pub open_key: &'a str,
    pub weight: i32,
    pub alert_count: i32,
    /// How long a case may wait unassigned before the supervisors hear of it: the
    /// case's first alarm is set from it and the policy's thresholds, so the SLA
    /// watch first looks at the case when that alarm is due. None: the watch looks
    /// at once.
    pub unassigned_after: Option<chrono::Duration>,
}

/// A new case's row.
#[derive(Insertable)]
#[diesel(table_name = cases)]
struct Row<'a> {
    customer_id: i64,
    queue_id: i64,
    priority: &'static str,
    status: CaseStatus,
    rule_code: &'a str,
    open_key: &'a str,
    opened_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    first_response_due: NaiveDateTime,
    resolution_due: NaiveDateTime,
    next_due: Option<NaiveDateTime>,
    next_alarm_at: Option<NaiveDateTime>,
    weight: i32,
    alert_count: i32,
    waiting_since: Option<NaiveDateTime>,
}

impl NewCase<'_> {
    /// The case's SLA dues from the queue's policy, and its row.
    fn row(&self, now: DateTime<Utc>) -> (Row<'_>, Dues) {
        let at = store::to_db(now);
        let dues = self.queue.policy.dues(now, self.priority, 0);
        let mut row = Row {
            customer_id: self.customer_id,
            queue_id: self.queue.id,
            priority: self.priority.as_str(),
            status: CaseStatus::New,
            rule_code: self.rule_code,
            open_key: self.open_key,
            opened_at: at,
            updated_at: at,
            first_response_due: store::to_db(dues.first_response),
            resolution_due: store::to_db(dues.resolution),
            next_due: Some(store::to_db(dues.first_response.min(dues.resolution))),
            next_alarm_at: Some(at),
            weight: self.weight,
            alert_count: self.alert_count,
            waiting_since: Some(at),
        };
        if let Some(after) = self.unassigned_after {
            let case = self.case_unwatched(0, &row);
            row.next_alarm_at = crate::cases::escalate::first_alarm(&case, self.queue, after, now);
        }
        (row, dues)
    }

    /// The case as inserted with `id`, without reading it back.
    fn case(&self, id: i64, row: &Row<'_>) -> Case {
        let mut case = self.case_unwatched(id, row);
        case.next_alarm_at = row.next_alarm_at;
        case
    }

    /// The case its row describes, its next alarm aside.
    fn case_unwatched(&self, id: i64, row: &Row<'_>) -> Case {
        Case {
            id,
            customer_id: self.customer_id,
            queue_id: self.queue.id,
            priority: self.priority,
            status: CaseStatus::New,
            rule_code: self.rule_code.to_string(),
            open_key: Some(self.open_key.to_string()),
            opened_at: row.opened_at,
            updated_at: row.updated_at,
            first_response_due: row.first_response_due,
            resolution_due: row.resolution_due,
            first_responded_at: None,
            resolved_at: None,
            paused_since: None,
            pause_reason: None,
            paused_minutes: 0,
            breached: false,
            assignee_id: None,
            disposition: None,
            alert_count: self.alert_count,
            weight: self.weight,
            assigned_at: None,
            started_at: None,
            next_due: row.next_due,
            next_alarm_at: row.next_alarm_at,
            sla_started_at: None,
            resolved_by: None,
            reopen_count: 0,
            waiting_since: row.waiting_since,
            campaign_id: None,
        }
    }
}

/// Inserts the case with its SLA dues from the queue's policy, unless an open case
/// holds its `open_key` already (then None: the caller joins that one). Returns the
/// case as inserted, without reading it back, and its dues. The opening events are
/// the caller's to write with its own.
pub fn insert(
    conn: &mut DbConn,
    new: &NewCase<'_>,
    now: DateTime<Utc>,
) -> QueryResult<Option<(Case, Dues)>> {
    let (row, dues) = new.row(now);
    let id: Option<i64> = dispatch!(conn, |c| diesel::insert_into(cases::table)
        .values(&row)
        .on_conflict(cases::open_key)
        .do_nothing()
        .returning(cases::id)
        .get_result(c)
        .optional())?;
    Ok(id.map(|id| (new.case(id, &row), dues)))
}

/// [`insert`] for many cases at once, each with its own `open_key`: one statement on
/// PostgreSQL (rows in the order of their keys, so that writers inserting the same
/// keys wait for each other rather than deadlock), one per case on SQLite. The
/// answers are in the order of `new`.
pub fn insert_many(
    conn: &mut DbConn,
    new: &[NewCase<'_>],
    now: DateTime<Utc>,
) -> QueryResult<Vec<Option<(Case, Dues)>>> {
    match conn {
        DbConn::Sqlite(_) => new.iter().map(|n| insert(conn, n, now)).collect(),
        DbConn::Postgresql(pg) => {
            let mut order: Vec<usize> = (0..new.len()).collect();
            order.sort_by_key(|&i| new[i].open_key);
            let made: Vec<(Row<'_>, Dues)> = new.iter().map(|n| n.row(now)).collect();
            let rows: Vec<&Row<'_>> = order.iter().map(|&i| &made[i].0).collect();
            let mut ids: std::collections::HashMap<String, i64> = Default::default();
            // PostgreSQL takes at most 65,535 parameters a statement: 15 a row.
            for chunk in rows.chunks(4000) {
                let chunk: Vec<&Row<'_>> = chunk.to_vec();
                ids.extend(
                    diesel::insert_into(cases::table)
                        .values(chunk)
                        .on_conflict(cases::open_key)
                        .do_nothing()
                        .returning((cases::open_key.assume_not_null(), cases::id))
                        .get_results::<(String, i64)>(pg)?,
                );
            }
            Ok(new
                .iter()
                .zip(made.iter())
                .map(|(n, (row, dues))| ids.get(n.open_key).map(|&id| (n.case(id, row), *dues)))
                .collect())
        }
    }
}
