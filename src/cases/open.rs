// Opening a case: the one insert every new case goes through, an alert's (intake) or
// a campaign's. Unique among open cases by its `open_key`, so two instances opening
// the same case at once open it once.

use chrono::{DateTime, Utc};
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
    let at = store::to_db(now);
    let dues = new.queue.policy.dues(now, new.priority, 0);
    let next_due = store::to_db(dues.first_response.min(dues.resolution));
    let id: Option<i64> = dispatch!(conn, |c| diesel::insert_into(cases::table)
        .values((
            cases::customer_id.eq(new.customer_id),
            cases::queue_id.eq(new.queue.id),
            cases::priority.eq(new.priority.as_str()),
            cases::status.eq(CaseStatus::New),
            cases::rule_code.eq(new.rule_code),
            cases::open_key.eq(new.open_key),
            cases::opened_at.eq(at),
            cases::updated_at.eq(at),
            cases::first_response_due.eq(store::to_db(dues.first_response)),
            cases::resolution_due.eq(store::to_db(dues.resolution)),
            cases::next_due.eq(Some(next_due)),
            cases::next_alarm_at.eq(Some(at)),
            cases::weight.eq(new.weight),
            cases::alert_count.eq(new.alert_count),
            cases::waiting_since.eq(Some(at)),
        ))
        .on_conflict(cases::open_key)
        .do_nothing()
        .returning(cases::id)
        .get_result(c)
        .optional())?;
    Ok(id.map(|id| {
        let case = Case {
            id,
            customer_id: new.customer_id,
            queue_id: new.queue.id,
            priority: new.priority,
            status: CaseStatus::New,
            rule_code: new.rule_code.to_string(),
            open_key: Some(new.open_key.to_string()),
            opened_at: at,
            updated_at: at,
            first_response_due: store::to_db(dues.first_response),
            resolution_due: store::to_db(dues.resolution),
            first_responded_at: None,
            resolved_at: None,
            paused_since: None,
            pause_reason: None,
            paused_minutes: 0,
            breached: false,
            assignee_id: None,
            disposition: None,
            alert_count: new.alert_count,
            weight: new.weight,
            assigned_at: None,
            started_at: None,
            next_due: Some(next_due),
            next_alarm_at: Some(at),
            sla_started_at: None,
            resolved_by: None,
            reopen_count: 0,
            waiting_since: Some(at),
            campaign_id: None,
        };
        (case, dues)
    }))
}
