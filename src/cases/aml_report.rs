// The regulator's clock on a case closed as escalated to AML: the report deadline
// starts with the closing (in its transaction), the watch warns on the last working
// day and marks the breach when it passes (each once, across instances, with an event
// and a notice to the supervisors), and filing the report stops it.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::{CaseError, run};
use crate::config::Settings;
use crate::db::DbConn;
use crate::db::schema::aml_reports;
use crate::domain::aml_report;
use crate::domain::calendar::Calendar;
use crate::domain::events::{self as ev, CaseEvent};
use crate::domain::resolution::Problem;
use crate::store;
use crate::store::cases as case_store;
use crate::store::deskconfig::Snapshot;

/// A case's report deadline.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = aml_reports)]
pub struct AmlReport {
    pub case_id: i64,
    pub started_at: chrono::NaiveDateTime,
    pub warn_at: chrono::NaiveDateTime,
    pub due_at: chrono::NaiveDateTime,
    pub warned_at: Option<chrono::NaiveDateTime>,
    pub breached_at: Option<chrono::NaiveDateTime>,
    pub filed_at: Option<chrono::NaiveDateTime>,
    pub filed_by: Option<i64>,
    pub reference: Option<String>,
}

/// Starts the deadline of `case_id`, closed as escalated to AML at `now`, in the
/// caller's transaction: working days of the calendar the settings name (every day
/// when none, or when the desk has no calendar of that name). A case escalated
/// before keeps its first deadline.
pub fn start_in(
    conn: &mut DbConn,
    settings: &Settings,
    snap: &Snapshot,
    now: DateTime<Utc>,
    case_id: i64,
) -> QueryResult<()> {
    let exists: Option<i64> = aml_reports::table
        .find(case_id)
        .select(aml_reports::case_id)
        .first(conn)
        .optional()?;
    if exists.is_some() {
        return Ok(());
    }
    let named = settings
        .aml_report_calendar
        .as_deref()
        .and_then(|n| snap.calendars_by_name.get(n).map(|c| (n, c)));
    let (name, calendar, tz) = match named {
        Some((n, c)) => (
            n.to_string(),
            c.clone(),
            c.timezone().unwrap_or(settings.desk_timezone),
        ),
        None => (
            "24/7".to_string(),
            Calendar::AlwaysOpen,
            settings.desk_timezone,
        ),
    };
    let d = aml_report::deadline(&calendar, tz, now, settings.aml_report_days);
    let at = store::to_db(now);
    diesel::insert_into(aml_reports::table)
        .values((
            aml_reports::case_id.eq(case_id),
            aml_reports::started_at.eq(at),
            aml_reports::warn_at.eq(store::to_db(d.warn_at)),
            aml_reports::due_at.eq(store::to_db(d.due_at)),
        ))
        .execute(conn)?;
    case_store::add_event(
        conn,
        case_id,
        at,
        None,
        &CaseEvent::AmlReportDue(ev::AmlReportDue {
            due: d.due_at,
            days: i64::from(settings.aml_report_days),
            calendar: name,
        }),
    )
}

pub fn of_case(conn: &mut DbConn, case_id: i64) -> QueryResult<Option<AmlReport>> {
    aml_reports::table
        .find(case_id)
        .select(AmlReport::as_select())
        .first(conn)
        .optional()
}

/// Reports not filed yet, the soonest due first (at most `limit`), with how many
/// there are, how many warned and how many breached.
pub fn open(conn: &mut DbConn, limit: i64) -> QueryResult<(Vec<AmlReport>, i64, i64, i64)> {
    let rows = aml_reports::table
        .filter(aml_reports::filed_at.is_null())
        .order(aml_reports::due_at.asc())
        .select(AmlReport::as_select())
        .limit(limit)
        .load(conn)?;
    let count = |conn: &mut DbConn, which: u8| -> QueryResult<i64> {
        let q = aml_reports::table.filter(aml_reports::filed_at.is_null());
        match which {
            0 => q.count().get_result(conn),
            1 => q
                .filter(aml_reports::warned_at.is_not_null())
                .filter(aml_reports::breached_at.is_null())
                .count()
                .get_result(conn),
            _ => q
                .filter(aml_reports::breached_at.is_not_null())
                .count()
                .get_result(conn),
        }
    };
    Ok((rows, count(conn, 0)?, count(conn, 1)?, count(conn, 2)?))
}

/// Records that the report of `case_id` was filed, with the regulator's reference
/// (1 to 100 characters): by a supervisor or the one who closed the case.
pub fn file(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    user_id: i64,
    supervisor: bool,
    case_id: i64,
    reference: &str,
) -> Result<AmlReport, CaseError> {
    let reference = reference.trim();
    if reference.is_empty() || reference.chars().count() > 100 {
        return Err(CaseError::Invalid(vec![Problem {
            field: "reference",
            key: "aml_report.error.reference",
        }]));
    }
    run(conn, |conn| {
        let case = case_store::find(conn, case_id)?.ok_or(CaseError::NotFound)?;
        let report =
            of_case(conn, case_id)?.ok_or(CaseError::AmlReport("aml_report.error.none"))?;
        if !supervisor && case.resolved_by != Some(user_id) {
            return Err(CaseError::Forbidden);
        }
        let at = store::to_db(now);
        let n = diesel::update(
            aml_reports::table
                .find(case_id)
                .filter(aml_reports::filed_at.is_null()),
        )
        .set((
            aml_reports::filed_at.eq(Some(at)),
            aml_reports::filed_by.eq(Some(user_id)),
            aml_reports::reference.eq(Some(reference)),
        ))
        .execute(conn)?;
        if n == 0 {
            return Err(CaseError::AmlReport("aml_report.error.filed"));
        }
        case_store::add_event(
            conn,
            case_id,
            at,
            Some(user_id),
            &CaseEvent::AmlReportFiled(ev::AmlReportFiled {
                reference: reference.to_string(),
                late: now > store::from_db(report.due_at),
            }),
        )?;
        Ok(report)
    })
}

/// Warns of reports on their last working day and marks the ones past due, each
/// once; returns how many steps it took.
pub fn watch(conn: &mut DbConn, now: DateTime<Utc>) -> Result<usize, CaseError> {
    let at = store::to_db(now);
    let due: Vec<AmlReport> = aml_reports::table
        .filter(aml_reports::filed_at.is_null())
        .filter(aml_reports::breached_at.is_null())
        .filter(aml_reports::warn_at.le(at))
        .order(aml_reports::due_at.asc())
        .select(AmlReport::as_select())
        .limit(200)
        .load(conn)?;
    let mut steps = 0;
    for r in due {
        let breach = store::from_db(r.due_at) <= now;
        let warn = r.warned_at.is_none() && !breach;
        if !breach && !warn {
            continue;
        }
        let done = run(conn, |conn| {
            let due = store::from_db(r.due_at);
            let q = aml_reports::table
                .find(r.case_id)
                .filter(aml_reports::filed_at.is_null());
            let (n, event, kind) = if breach {
                let n = diesel::update(q.filter(aml_reports::breached_at.is_null()))
                    .set(aml_reports::breached_at.eq(Some(at)))
                    .execute(conn)?;
                (
                    n,
                    CaseEvent::AmlReportBreached(ev::AmlReportClock { due }),
                    "aml_report.breached",
                )
            } else {
                let n = diesel::update(q.filter(aml_reports::warned_at.is_null()))
                    .set(aml_reports::warned_at.eq(Some(at)))
                    .execute(conn)?;
                (
                    n,
                    CaseEvent::AmlReportWarning(ev::AmlReportClock { due }),
                    "aml_report.warning",
                )
            };
            if n == 0 {
                return Ok(false);
            }
            case_store::add_event(conn, r.case_id, at, None, &event)?;
            let supervisors = crate::cases::notices::supervisors(conn)?;
            let (_, data) = event.to_parts();
            let data: serde_json::Value =
                serde_json::from_str(&data).unwrap_or(serde_json::Value::Null);
            crate::cases::notices::notify(conn, &supervisors, now, kind, r.case_id, &data)?;
            Ok(true)
        })?;
        steps += usize::from(done);
    }
    Ok(steps)
}
