// Emergencies on cases: declared by a person or by the desk, paging the queue's
// on-call person, then the next rota's, then every supervisor while nobody
// acknowledges; acknowledged (or handed to a colleague) by one paged; ended when the
// case is resolved or a supervisor stands it down. Each step is one transaction with
// its timeline event (and so its `oncall.paged` webhook), taken once across instances
// by a conditional update.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde_json::json;

use super::{CaseError, run};
use crate::db::DbConn;
use crate::db::schema::{emergencies, pages, users};
use crate::domain::emergency::{self as domain, Answer, Cause, Ending, Target};
use crate::domain::events::{self as ev, CaseEvent};
use crate::store;
use crate::store::cases as case_store;
use crate::store::deskconfig::Snapshot;

/// An emergency as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = emergencies)]
pub struct Emergency {
    pub id: i64,
    pub case_id: i64,
    pub cause: String,
    pub reason: String,
    pub declared_by: Option<i64>,
    pub declared_at: NaiveDateTime,
    pub level: i32,
    pub rota: Option<String>,
    pub ack_due_at: Option<NaiveDateTime>,
    pub acknowledged_by: Option<i64>,
    pub acknowledged_at: Option<NaiveDateTime>,
    pub ended_at: Option<NaiveDateTime>,
    pub ended_by: Option<i64>,
    pub ended_how: Option<String>,
    pub end_reason: Option<String>,
}

/// One person paged.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = pages)]
pub struct Page {
    pub id: i64,
    pub emergency_id: i64,
    pub user_id: i64,
    pub level: i32,
    pub rota: Option<String>,
    pub paged_at: NaiveDateTime,
    pub answered_at: Option<NaiveDateTime>,
    pub answer: Option<String>,
}

/// What paging needs besides the database: the desk's configuration (rotas,
/// queues) and its public address (for the e-mail's link).
#[derive(Clone, Copy)]
pub struct Pager<'a> {
    pub snap: &'a Snapshot,
    pub base: &'a str,
}

/// What the banner of a person paged shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Banner {
    pub emergency_id: i64,
    pub case_ref: String,
    pub cause: String,
    pub reason: String,
}

fn refused(key: &'static str) -> CaseError {
    CaseError::Emergency(key)
}

pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<Emergency>> {
    emergencies::table
        .find(id)
        .select(Emergency::as_select())
        .first(conn)
        .optional()
}

/// The case's open emergency, if any.
pub fn open_of_case(conn: &mut DbConn, case_id: i64) -> QueryResult<Option<Emergency>> {
    emergencies::table
        .filter(emergencies::case_id.eq(case_id))
        .filter(emergencies::ended_at.is_null())
        .select(Emergency::as_select())
        .first(conn)
        .optional()
}

/// The case's latest emergency (open or ended), if any.
pub fn latest_of_case(conn: &mut DbConn, case_id: i64) -> QueryResult<Option<Emergency>> {
    emergencies::table
        .filter(emergencies::case_id.eq(case_id))
        .order(emergencies::id.desc())
        .select(Emergency::as_select())
        .first(conn)
        .optional()
}

/// Everyone paged for an emergency, in order, with their name and e-mail address.
pub fn pages_of(conn: &mut DbConn, emergency_id: i64) -> QueryResult<Vec<(Page, String, String)>> {
    pages::table
        .inner_join(users::table.on(users::id.eq(pages::user_id)))
        .filter(pages::emergency_id.eq(emergency_id))
        .order(pages::id.asc())
        .select((Page::as_select(), users::name, users::email))
        .load(conn)
}

/// The pages a user has not answered: the banner on every page of theirs. Read
/// through the open pages' index, so it costs nothing when there are none.
pub fn banners_for(conn: &mut DbConn, user_id: i64) -> QueryResult<Vec<Banner>> {
    let rows: Vec<(i64, i64, String, String)> = pages::table
        .inner_join(emergencies::table)
        .filter(pages::user_id.eq(user_id))
        .filter(pages::answered_at.is_null())
        .select((
            emergencies::id,
            emergencies::case_id,
            emergencies::cause,
            emergencies::reason,
        ))
        .order(pages::id.asc())
        .load(conn)?;
    let mut out: Vec<Banner> = Vec::new();
    for (emergency_id, case_id, cause, reason) in rows {
        if !out.iter().any(|b| b.emergency_id == emergency_id) {
            out.push(Banner {
                emergency_id,
                case_ref: case_store::case_ref(case_id),
                cause,
                reason,
            });
        }
    }
    Ok(out)
}

/// Emergencies declared since `since`, the newest first (at most `limit`).
pub fn declared_since(
    conn: &mut DbConn,
    since: DateTime<Utc>,
    limit: i64,
) -> QueryResult<Vec<Emergency>> {
    emergencies::table
        .filter(emergencies::declared_at.ge(store::to_db(since)))
        .order(emergencies::declared_at.desc())
        .select(Emergency::as_select())
        .limit(limit)
        .load(conn)
}

/// The open emergencies, the oldest first (at most `limit`), and how many of them
/// nobody has acknowledged.
pub fn open(conn: &mut DbConn, limit: i64) -> QueryResult<(Vec<Emergency>, i64)> {
    let rows = emergencies::table
        .filter(emergencies::ended_at.is_null())
        .order(emergencies::declared_at.asc())
        .select(Emergency::as_select())
        .limit(limit)
        .load(conn)?;
    let unacknowledged = emergencies::table
        .filter(emergencies::ended_at.is_null())
        .filter(emergencies::acknowledged_at.is_null())
        .count()
        .get_result(conn)?;
    Ok((rows, unacknowledged))
}

/// What a rota answers at `now`: its on-call person when they can sign in.
fn ask(
    conn: &mut DbConn,
    snap: &Snapshot,
    rota: &str,
    now: DateTime<Utc>,
) -> QueryResult<Option<Answer<(i64, String)>>> {
    Ok(
        crate::oncall::on_call_for_rota(conn, snap, rota, now)?.map(|o| Answer {
            person: o
                .duty
                .filter(|d| d.person.active)
                .and_then(|d| d.person.user_id.map(|id| (id, d.person.email))),
            ack_minutes: o.ack_minutes,
            next: o.next,
        }),
    )
}

/// Walks the chain of rotas from `start` (see [`domain::whom`]) and pages whom it
/// finds — or every supervisor — at `level`: the page rows, the emergency's rota and
/// acknowledgement deadline, the timeline event and the notices.
fn page(
    conn: &mut DbConn,
    pager: Pager<'_>,
    now: DateTime<Utc>,
    em: &Emergency,
    start: Target,
    level: i32,
    unanswered_minutes: Option<i64>,
) -> QueryResult<()> {
    // The walk asks the database per rota; its errors are kept and returned.
    let mut failed = None;
    let found = domain::whom(start, |name| match ask(conn, pager.snap, name, now) {
        Ok(a) => a,
        Err(e) => {
            failed = Some(e);
            None
        }
    });
    if let Some(e) = failed {
        return Err(e);
    }
    let (people, rota, ack_due) = match found {
        Some((rota, (id, email), minutes)) => (
            vec![(id, email)],
            Some(rota),
            Some(now + Duration::minutes(minutes)),
        ),
        None => (active_supervisors(conn)?, None, None),
    };
    diesel::update(emergencies::table.find(em.id))
        .set((
            emergencies::level.eq(level),
            emergencies::rota.eq(rota.clone()),
            emergencies::ack_due_at.eq(ack_due.map(store::to_db)),
        ))
        .execute(conn)?;
    page_people(
        conn,
        pager.base,
        now,
        em,
        &people,
        level,
        rota,
        unanswered_minutes,
        None,
    )
}

fn active_supervisors(conn: &mut DbConn) -> QueryResult<Vec<(i64, String)>> {
    users::table
        .filter(users::role.eq("supervisor"))
        .filter(users::active.eq(true))
        .order(users::id.asc())
        .select((users::id, users::email))
        .load(conn)
}

#[allow(clippy::too_many_arguments)]
fn page_people(
    conn: &mut DbConn,
    base: &str,
    now: DateTime<Utc>,
    em: &Emergency,
    people: &[(i64, String)],
    level: i32,
    rota: Option<String>,
    unanswered_minutes: Option<i64>,
    handed_by: Option<String>,
) -> QueryResult<()> {
    let at = store::to_db(now);
    let rows: Vec<_> = people
        .iter()
        .map(|(id, _)| {
            (
                pages::emergency_id.eq(em.id),
                pages::user_id.eq(*id),
                pages::level.eq(level),
                pages::rota.eq(rota.clone()),
                pages::paged_at.eq(at),
            )
        })
        .collect();
    if !rows.is_empty() {
        crate::dispatch!(conn, |c| diesel::insert_into(pages::table)
            .values(rows)
            .execute(c))?;
    }
    case_store::add_event(
        conn,
        em.case_id,
        at,
        None,
        &CaseEvent::Paged(ev::Paged {
            emergency: em.id,
            to: people.iter().map(|(_, e)| e.clone()).collect(),
            rota,
            level,
            unanswered_minutes,
            handed_by,
        }),
    )?;
    let ids: Vec<i64> = people.iter().map(|(id, _)| *id).collect();
    let data = json!({
        "case_ref": case_store::case_ref(em.case_id),
        "emergency": em.id,
        "cause": em.cause,
        "reason": em.reason,
        "link": format!("{base}/emergencies/{}", em.id),
    });
    // Pages always come through: past preferences and grouping, in the app and by
    // e-mail at once.
    crate::cases::notices::page(conn, &ids, now, em.case_id, &data)
}

/// Declares an emergency on `case_id` in the caller's transaction and pages the
/// first group: the on-call person of the queue's rota (or the next rota with
/// someone on call), else every supervisor. `None` when the case has one open
/// already (or is resolved): nothing is written.
pub fn declare_in(
    conn: &mut DbConn,
    pager: Pager<'_>,
    now: DateTime<Utc>,
    case_id: i64,
    by: Option<i64>,
    cause: Cause,
    reason: &str,
) -> QueryResult<Option<Emergency>> {
    let Some(case) = case_store::find(conn, case_id)? else {
        return Ok(None);
    };
    if case.resolved_at.is_some() || open_of_case(conn, case_id)?.is_some() {
        return Ok(None);
    }
    let at = store::to_db(now);
    let em: Emergency = crate::dispatch!(conn, |c| diesel::insert_into(emergencies::table)
        .values((
            emergencies::case_id.eq(case_id),
            emergencies::cause.eq(cause.as_str()),
            emergencies::reason.eq(reason),
            emergencies::declared_by.eq(by),
            emergencies::declared_at.eq(at),
        ))
        .returning(Emergency::as_returning())
        .get_result(c))?;
    case_store::add_event(
        conn,
        case_id,
        at,
        by,
        &CaseEvent::EmergencyDeclared(ev::EmergencyDeclared {
            emergency: em.id,
            cause,
            reason: reason.to_string(),
        }),
    )?;
    let start = pager
        .snap
        .queues_by_id
        .get(&case.queue_id)
        .and_then(|q| q.oncall.clone())
        .map_or(Target::Supervisors, Target::Rota);
    page(conn, pager, now, &em, start, 0, None)?;
    find(conn, em.id)
}

/// A person declares an emergency on a case, with a reason.
pub fn declare(
    conn: &mut DbConn,
    pager: Pager<'_>,
    now: DateTime<Utc>,
    user_id: i64,
    case_id: i64,
    reason: &str,
) -> Result<Emergency, CaseError> {
    let reason = domain::parse_reason(reason).ok_or_else(|| refused("emergency.error.reason"))?;
    run(conn, |conn| {
        let case = case_store::find(conn, case_id)?.ok_or(CaseError::NotFound)?;
        if case.resolved_at.is_some() {
            return Err(refused("emergency.error.resolved"));
        }
        if open_of_case(conn, case_id)?.is_some() {
            return Err(refused("emergency.error.open"));
        }
        declare_in(
            conn,
            pager,
            now,
            case_id,
            Some(user_id),
            Cause::Declared,
            reason,
        )
        .map_err(|e| {
            if store::is_unique_violation(&e) {
                refused("emergency.error.open")
            } else {
                CaseError::Db(e)
            }
        })?
        .ok_or_else(|| refused("emergency.error.open"))
    })
}

fn email_of(conn: &mut DbConn, user_id: i64) -> QueryResult<String> {
    users::table.find(user_id).select(users::email).first(conn)
}

/// The open page of `user_id` for an emergency, if any.
fn open_page(conn: &mut DbConn, emergency_id: i64, user_id: i64) -> QueryResult<Option<Page>> {
    pages::table
        .filter(pages::emergency_id.eq(emergency_id))
        .filter(pages::user_id.eq(user_id))
        .filter(pages::answered_at.is_null())
        .select(Page::as_select())
        .first(conn)
        .optional()
}

/// Why `user_id` may not answer the emergency `em`: it ended, it was acknowledged
/// already, or they were not paged for it (or answered their page).
fn answerable(conn: &mut DbConn, em: &Emergency, user_id: i64) -> Result<Page, CaseError> {
    if em.ended_at.is_some() {
        return Err(refused("emergency.error.ended"));
    }
    if em.acknowledged_at.is_some() {
        return Err(refused("emergency.error.acknowledged"));
    }
    open_page(conn, em.id, user_id)?.ok_or_else(|| refused("emergency.error.not_paged"))
}

/// Answers every open page of the emergency (it was acknowledged or ended).
fn close_pages(conn: &mut DbConn, emergency_id: i64, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        pages::table
            .filter(pages::emergency_id.eq(emergency_id))
            .filter(pages::answered_at.is_null()),
    )
    .set((
        pages::answered_at.eq(Some(at)),
        pages::answer.eq(Some("closed")),
    ))
    .execute(conn)
}

/// One paged acknowledges the emergency: escalation stops, every banner of it goes.
pub fn acknowledge(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    user_id: i64,
    emergency_id: i64,
) -> Result<Emergency, CaseError> {
    run(conn, |conn| {
        let em = find(conn, emergency_id)?.ok_or(CaseError::NotFound)?;
        let mine = answerable(conn, &em, user_id)?;
        let at = store::to_db(now);
        let n = diesel::update(
            emergencies::table
                .find(em.id)
                .filter(emergencies::acknowledged_at.is_null())
                .filter(emergencies::ended_at.is_null()),
        )
        .set((
            emergencies::acknowledged_at.eq(Some(at)),
            emergencies::acknowledged_by.eq(Some(user_id)),
            emergencies::ack_due_at.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
        if n == 0 {
            return Err(CaseError::Conflict);
        }
        diesel::update(pages::table.find(mine.id))
            .set((
                pages::answered_at.eq(Some(at)),
                pages::answer.eq(Some("acknowledged")),
            ))
            .execute(conn)?;
        close_pages(conn, em.id, at)?;
        let by = email_of(conn, user_id)?;
        case_store::add_event(
            conn,
            em.case_id,
            at,
            Some(user_id),
            &CaseEvent::EmergencyAcknowledged(ev::EmergencyAcknowledged {
                emergency: em.id,
                by,
                minutes: (now - store::from_db(em.declared_at)).num_minutes(),
            }),
        )?;
        Ok(find(conn, em.id)?.unwrap_or(em))
    })
}

/// One paged hands the emergency to a named colleague (an active agent or
/// supervisor, not themselves): the colleague is paged, with the same time to
/// acknowledge as the page handed on, and the one who handed it is answered.
pub fn hand_over(
    conn: &mut DbConn,
    pager: Pager<'_>,
    now: DateTime<Utc>,
    user_id: i64,
    emergency_id: i64,
    colleague: &str,
) -> Result<Emergency, CaseError> {
    run(conn, |conn| {
        let em = find(conn, emergency_id)?.ok_or(CaseError::NotFound)?;
        let mine = answerable(conn, &em, user_id)?;
        let to = crate::store::users::find_by_email(conn, colleague.trim())?
            .filter(|u| u.active && u.id != user_id && u.role != "admin")
            .ok_or_else(|| refused("emergency.error.colleague"))?;
        if open_page(conn, em.id, to.id)?.is_some() {
            return Err(refused("emergency.error.colleague_paged"));
        }
        let at = store::to_db(now);
        let n = diesel::update(
            pages::table
                .find(mine.id)
                .filter(pages::answered_at.is_null()),
        )
        .set((
            pages::answered_at.eq(Some(at)),
            pages::answer.eq(Some("handed_over")),
        ))
        .execute(conn)?;
        if n == 0 {
            return Err(CaseError::Conflict);
        }
        // The colleague has as long as the rota the page came through gives.
        let minutes = em
            .rota
            .as_deref()
            .and_then(|r| pager.snap.rota(r))
            .map(|r| r.ack_minutes);
        if let Some(m) = minutes {
            diesel::update(emergencies::table.find(em.id))
                .set(emergencies::ack_due_at.eq(Some(store::to_db(now + Duration::minutes(m)))))
                .execute(conn)?;
        }
        let by = email_of(conn, user_id)?;
        page_people(
            conn,
            pager.base,
            now,
            &em,
            &[(to.id, to.email.clone())],
            em.level,
            None,
            None,
            Some(by),
        )?;
        Ok(find(conn, em.id)?.unwrap_or(em))
    })
}

fn end_in(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    em: &Emergency,
    by: Option<i64>,
    how: Ending,
    reason: Option<&str>,
) -> QueryResult<bool> {
    let at = store::to_db(now);
    let n = diesel::update(
        emergencies::table
            .find(em.id)
            .filter(emergencies::ended_at.is_null()),
    )
    .set((
        emergencies::ended_at.eq(Some(at)),
        emergencies::ended_by.eq(by),
        emergencies::ended_how.eq(Some(how.as_str())),
        emergencies::end_reason.eq(reason),
        emergencies::ack_due_at.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)?;
    if n == 0 {
        return Ok(false);
    }
    close_pages(conn, em.id, at)?;
    case_store::add_event(
        conn,
        em.case_id,
        at,
        by,
        &CaseEvent::EmergencyEnded(ev::EmergencyEnded {
            emergency: em.id,
            how,
            reason: reason.map(str::to_string),
        }),
    )?;
    Ok(true)
}

/// Ends the case's open emergency, if any, as its case was resolved, in the
/// closing's transaction.
pub fn end_with_case(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    case_id: i64,
    by: Option<i64>,
) -> QueryResult<()> {
    if let Some(em) = open_of_case(conn, case_id)? {
        end_in(conn, now, &em, by, Ending::Resolved, None)?;
    }
    Ok(())
}

/// A supervisor stands the case's emergency down, with a reason.
pub fn stand_down(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    supervisor_id: i64,
    case_id: i64,
    reason: &str,
) -> Result<Emergency, CaseError> {
    let reason = domain::parse_reason(reason).ok_or_else(|| refused("emergency.error.reason"))?;
    run(conn, |conn| {
        let em = open_of_case(conn, case_id)?.ok_or_else(|| refused("emergency.error.none"))?;
        if !end_in(
            conn,
            now,
            &em,
            Some(supervisor_id),
            Ending::StoodDown,
            Some(reason),
        )? {
            return Err(CaseError::Conflict);
        }
        Ok(find(conn, em.id)?.unwrap_or(em))
    })
}

/// Emergencies looked at per run of the watch.
const WATCH_BATCH: i64 = 200;

/// Pages the next group for every emergency nobody acknowledged in time, each step
/// once across instances; returns how many steps it took.
pub fn watch(conn: &mut DbConn, pager: Pager<'_>, now: DateTime<Utc>) -> Result<usize, CaseError> {
    let snap = pager.snap;
    let at = store::to_db(now);
    let due: Vec<Emergency> = emergencies::table
        .filter(emergencies::ended_at.is_null())
        .filter(emergencies::acknowledged_at.is_null())
        .filter(emergencies::ack_due_at.le(at))
        .order(emergencies::ack_due_at.asc())
        .select(Emergency::as_select())
        .limit(WATCH_BATCH)
        .load(conn)?;
    let mut steps = 0;
    for em in due {
        let done = run(conn, |conn| {
            // The step is this instance's only if the emergency is still as read.
            let n = diesel::update(
                emergencies::table
                    .find(em.id)
                    .filter(emergencies::level.eq(em.level))
                    .filter(emergencies::acknowledged_at.is_null())
                    .filter(emergencies::ended_at.is_null())
                    .filter(emergencies::ack_due_at.le(at)),
            )
            .set(emergencies::ack_due_at.eq(None::<NaiveDateTime>))
            .execute(conn)?;
            if n == 0 {
                return Ok(false);
            }
            let next = match em.rota.as_deref() {
                Some(r) => ask(conn, snap, r, now)?.and_then(|a| a.next),
                None => None,
            };
            let waited = em
                .ack_due_at
                .zip(em.rota.as_deref().and_then(|r| snap.rota(r)))
                .map(|(_, r)| r.ack_minutes);
            page(
                conn,
                pager,
                now,
                &em,
                next.map_or(Target::Supervisors, Target::Rota),
                em.level + 1,
                waited,
            )?;
            Ok(true)
        })?;
        steps += usize::from(done);
    }
    Ok(steps)
}
