// The reports' database side: keeping `case_facts` up to date (by batch, from the
// cases changed since a watermark, under a lease), the full recount, and the reads
// of a period's facts and of the cases behind a figure (keyset pages).

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::facts::{self, Closing, Event, FactRow};
use super::figures::{DayCount, PeriodFact};
use super::period::Period;
use super::rules::RuleAlert;
use crate::cases::verify::{SURVEY, VERIFY};
use crate::db::schema::{
    alerts, calls, case_events, case_facts, cases, customer_tokens, customers, jobs, resolutions,
    satisfaction,
};
use crate::db::{DbConn, write_tx_retry};
use crate::domain::calendar::Calendar;
use crate::domain::resolution::{Disposition, Label};
use crate::store::cases::Case;
use crate::store::deskconfig::Snapshot;
use crate::store::{from_db, to_db};

/// Cases computed and written per transaction.
pub const BATCH: i64 = 500;
/// Cases one run of the job looks at, at most (the rest wait for the next run).
pub const MAX_PER_RUN: usize = 20_000;
/// Writers stamp `updated_at` before they commit: cases changed up to this long
/// before the watermark are looked at again, so a slow commit is never missed.
pub const OVERLAP_SECONDS: i64 = 10;
/// How long a run may hold the job's lease.
pub const LEASE_SECONDS: i64 = 120;
pub const JOB: &str = "case_facts";

/// Timeline kinds the facts read.
const EVENT_KINDS: [&str; 9] = [
    "case.reopened",
    "case.handed_off",
    "assignment.assigned",
    "assignment.returned",
    "assignment.released",
    "sla.paused",
    "sla.resumed",
    "sla.first_response",
    "sla.breached",
];

/// Computes the facts of `ids` (those that exist) from what the database holds.
pub fn compute(
    conn: &mut DbConn,
    snap: &Snapshot,
    ids: &[i64],
    now: DateTime<Utc>,
) -> QueryResult<Vec<FactRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let found: Vec<Case> = cases::table
        .filter(cases::id.eq_any(ids))
        .select(Case::as_select())
        .load(conn)?;
    let mut events: HashMap<i64, Vec<Event>> = HashMap::new();
    let rows: Vec<(i64, NaiveDateTime, String, String)> = case_events::table
        .filter(case_events::case_id.eq_any(ids))
        .filter(case_events::kind.eq_any(EVENT_KINDS))
        .order((case_events::case_id.asc(), case_events::id.asc()))
        .select((
            case_events::case_id,
            case_events::at,
            case_events::kind,
            case_events::data,
        ))
        .load(conn)?;
    for (case_id, at, kind, data) in rows {
        // Only these kinds' data are read.
        let data = if matches!(
            kind.as_str(),
            "sla.first_response" | "sla.breached" | "sla.resumed"
        ) {
            serde_json::from_str(&data).unwrap_or(serde_json::Value::Null)
        } else {
            serde_json::Value::Null
        };
        events.entry(case_id).or_default().push(Event {
            at: from_db(at),
            kind,
            data,
        });
    }
    let mut closings: HashMap<i64, Closing> = HashMap::new();
    let rows: Vec<(i64, bool, Option<String>, Option<String>)> = resolutions::table
        .filter(resolutions::case_id.eq_any(ids))
        .filter(resolutions::state.eq_any(["final", "approved"]))
        .order(resolutions::id.asc())
        .select((
            resolutions::case_id,
            resolutions::customer_confirmed,
            resolutions::amount_protected,
            resolutions::currency,
        ))
        .load(conn)?;
    for (case_id, customer_confirmed, amount_protected, currency) in rows {
        closings.insert(
            case_id,
            Closing {
                customer_confirmed,
                amount_protected,
                currency,
            },
        );
    }
    let mut outcomes: HashMap<i64, Vec<String>> = HashMap::new();
    let rows: Vec<(i64, String)> = calls::table
        .filter(calls::case_id.eq_any(ids))
        .select((calls::case_id, calls::outcome))
        .load(conn)?;
    for (case_id, outcome) in rows {
        outcomes.entry(case_id).or_default().push(outcome);
    }
    let mut emails: HashMap<i64, (i32, i32)> = HashMap::new();
    let mut surveys: HashMap<i64, bool> = HashMap::new();
    let rows: Vec<(i64, String, Option<NaiveDateTime>)> = customer_tokens::table
        .filter(customer_tokens::case_id.eq_any(ids))
        .select((
            customer_tokens::case_id,
            customer_tokens::purpose,
            customer_tokens::used_at,
        ))
        .load(conn)?;
    for (case_id, purpose, used_at) in rows {
        if purpose == VERIFY {
            let e = emails.entry(case_id).or_default();
            e.0 += 1;
            if used_at.is_some() {
                e.1 += 1;
            }
        } else if purpose == SURVEY {
            surveys.insert(case_id, true);
        }
    }
    let mut scores: HashMap<i64, i32> = HashMap::new();
    let rows: Vec<(i64, i32)> = satisfaction::table
        .filter(satisfaction::case_id.eq_any(ids))
        .order(satisfaction::id.asc())
        .select((satisfaction::case_id, satisfaction::score))
        .load(conn)?;
    for (case_id, score) in rows {
        scores.insert(case_id, score);
    }
    let always = Calendar::AlwaysOpen;
    let no_events = Vec::new();
    let no_calls = Vec::new();
    Ok(found
        .iter()
        .map(|case| {
            let queue = snap.queues_by_id.get(&case.queue_id);
            facts::compute(&facts::Input {
                case,
                events: events.get(&case.id).unwrap_or(&no_events),
                closing: closings.get(&case.id).cloned(),
                call_outcomes: outcomes.get(&case.id).unwrap_or(&no_calls),
                emails: emails.get(&case.id).copied().unwrap_or_default(),
                survey_sent: surveys.contains_key(&case.id),
                survey_score: scores.get(&case.id).copied(),
                calendar: queue.map_or(&always, |q| &q.policy.calendar),
                max_pause_minutes: queue.map_or(0, |q| q.policy.max_pause_minutes),
                now,
            })
        })
        .collect())
}

/// Facts written per transaction on SQLite: the database's one write lock is held
/// for a few milliseconds at a time, so that intake and agents' actions waiting for it
/// are not held up behind a whole batch.
const SQLITE_UPSERT_ROWS: usize = 50;

/// Writes facts, replacing what was there: on SQLite one statement per fact (in-process,
/// they cost little) in transactions of [`SQLITE_UPSERT_ROWS`]; on PostgreSQL one
/// transaction, a statement for up to 2,000. Each fact stands alone (the job's
/// watermark moves only once they are all written), so the split loses nothing.
pub fn upsert(conn: &mut DbConn, rows: &[FactRow]) -> QueryResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let per_transaction = match conn {
        DbConn::Sqlite(_) => SQLITE_UPSERT_ROWS,
        DbConn::Postgresql(_) => rows.len(),
    };
    for rows in rows.chunks(per_transaction) {
        write_tx_retry(conn, |conn| upsert_in(conn, rows))?;
    }
    Ok(())
}

/// [`upsert`]'s statements, in the caller's transaction.
fn upsert_in(conn: &mut DbConn, rows: &[FactRow]) -> QueryResult<()> {
    match conn {
        DbConn::Sqlite(c) => {
            for row in rows {
                diesel::insert_into(case_facts::table)
                    .values(row)
                    .on_conflict(case_facts::case_id)
                    .do_update()
                    .set(row)
                    .execute(c)?;
            }
            Ok(())
        }
        DbConn::Postgresql(c) => {
            use case_facts::dsl as f;
            use diesel::upsert::excluded;
            // In the order of their cases, so that two writers never wait in a circle.
            let mut sorted: Vec<&FactRow> = rows.iter().collect();
            sorted.sort_by_key(|r| r.case_id);
            // PostgreSQL takes at most 65,535 parameters a statement: 31 a row.
            for chunk in sorted.chunks(2000) {
                diesel::insert_into(case_facts::table)
                    .values(chunk.to_vec())
                    .on_conflict(f::case_id)
                    .do_update()
                    .set((
                        (
                            f::queue_id.eq(excluded(f::queue_id)),
                            f::rule_code.eq(excluded(f::rule_code)),
                            f::agent_id.eq(excluded(f::agent_id)),
                            f::priority.eq(excluded(f::priority)),
                            f::opened_at.eq(excluded(f::opened_at)),
                            f::resolved_at.eq(excluded(f::resolved_at)),
                            f::first_response_secs.eq(excluded(f::first_response_secs)),
                            f::resolution_secs.eq(excluded(f::resolution_secs)),
                            f::first_response_met.eq(excluded(f::first_response_met)),
                            f::resolution_met.eq(excluded(f::resolution_met)),
                            f::unassigned_secs.eq(excluded(f::unassigned_secs)),
                            f::agent_secs.eq(excluded(f::agent_secs)),
                            f::customer_secs.eq(excluded(f::customer_secs)),
                            f::breach_unassigned_secs.eq(excluded(f::breach_unassigned_secs)),
                            f::breach_agent_secs.eq(excluded(f::breach_agent_secs)),
                        ),
                        (
                            f::breach_customer_secs.eq(excluded(f::breach_customer_secs)),
                            f::disposition.eq(excluded(f::disposition)),
                            f::customer_confirmed.eq(excluded(f::customer_confirmed)),
                            f::amount_protected.eq(excluded(f::amount_protected)),
                            f::currency.eq(excluded(f::currency)),
                            f::reopen_count.eq(excluded(f::reopen_count)),
                            f::alert_count.eq(excluded(f::alert_count)),
                            f::calls.eq(excluded(f::calls)),
                            f::calls_reached.eq(excluded(f::calls_reached)),
                            f::emails.eq(excluded(f::emails)),
                            f::emails_answered.eq(excluded(f::emails_answered)),
                            f::survey_sent.eq(excluded(f::survey_sent)),
                            f::survey_score.eq(excluded(f::survey_score)),
                            f::case_updated_at.eq(excluded(f::case_updated_at)),
                            f::computed_at.eq(excluded(f::computed_at)),
                        ),
                    ))
                    .execute(c)?;
            }
            Ok(())
        }
    }
}

/// Computes and writes the facts of `ids`; returns how many were written.
pub fn refresh_cases(
    conn: &mut DbConn,
    snap: &Snapshot,
    ids: &[i64],
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    let rows = compute(conn, snap, ids, now)?;
    // Facts that come out as they are stored (a case computed again once its change
    // has settled, or a recount) only have their time of computing moved: a column no
    // index holds, where a whole row would rewrite the reports' covering indexes.
    let mut stored: HashMap<i64, FactRow> = case_facts::table
        .filter(case_facts::case_id.eq_any(ids))
        .select(FactRow::as_select())
        .load(conn)?
        .into_iter()
        .map(|r| (r.case_id, r))
        .collect();
    let computed = rows.len();
    let (same, changed): (Vec<FactRow>, Vec<FactRow>) = rows.into_iter().partition(|r| {
        stored.get_mut(&r.case_id).is_some_and(|s| {
            s.computed_at = r.computed_at;
            s == r
        })
    });
    upsert(conn, &changed)?;
    if !same.is_empty() {
        let ids: Vec<i64> = same.iter().map(|r| r.case_id).collect();
        write_tx_retry(conn, |conn| {
            diesel::update(case_facts::table.filter(case_facts::case_id.eq_any(&ids)))
                .set(case_facts::computed_at.eq(to_db(now)))
                .execute(conn)
        })?;
    }
    Ok(computed)
}

/// The full recount: every case's facts computed again. The watermark moves to the
/// newest change seen at the start, so the job carries on from there.
pub fn refresh_all(conn: &mut DbConn, snap: &Snapshot, now: DateTime<Utc>) -> QueryResult<usize> {
    let newest: Option<NaiveDateTime> = cases::table
        .select(diesel::dsl::max(cases::updated_at))
        .first(conn)?;
    let mut after = 0i64;
    let mut written = 0;
    loop {
        let ids: Vec<i64> = cases::table
            .filter(cases::id.gt(after))
            .order(cases::id.asc())
            .limit(BATCH * 4)
            .select(cases::id)
            .load(conn)?;
        let Some(last) = ids.last().copied() else {
            break;
        };
        for chunk in ids.chunks(BATCH as usize) {
            written += refresh_cases(conn, snap, chunk, now)?;
        }
        after = last;
    }
    if let Some(newest) = newest {
        advance_watermark(conn, newest)?;
    }
    Ok(written)
}

fn advance_watermark(conn: &mut DbConn, to: NaiveDateTime) -> QueryResult<()> {
    diesel::update(
        jobs::table
            .filter(jobs::name.eq(JOB))
            .filter(jobs::watermark.is_null().or(jobs::watermark.lt(to))),
    )
    .set(jobs::watermark.eq(Some(to)))
    .execute(conn)?;
    Ok(())
}

/// One run of the job: the facts of every case changed since the watermark (less
/// [`OVERLAP_SECONDS`]) computed again, skipping those whose facts were computed
/// from the same change long enough after it. `None` when another instance holds
/// the lease; else how many cases were written.
pub fn refresh_changed(
    conn: &mut DbConn,
    snap: &Snapshot,
    now: DateTime<Utc>,
    owner: &str,
) -> QueryResult<Option<usize>> {
    if !crate::store::jobs::take_lease(conn, JOB, owner, now, Duration::seconds(LEASE_SECONDS))? {
        return Ok(None);
    }
    let result = refresh_changed_leased(conn, snap, now);
    crate::store::jobs::release_lease(conn, JOB, owner)?;
    result.map(Some)
}

fn refresh_changed_leased(
    conn: &mut DbConn,
    snap: &Snapshot,
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    let watermark: Option<NaiveDateTime> = jobs::table
        .filter(jobs::name.eq(JOB))
        .select(jobs::watermark)
        .first::<Option<NaiveDateTime>>(conn)
        .optional()?
        .flatten();
    let overlap = Duration::seconds(OVERLAP_SECONDS);
    let at = to_db(now);
    let mut after: Option<(NaiveDateTime, i64)> = None;
    let from = watermark.map(|w| w - overlap);
    let mut seen = 0;
    let mut written = 0;
    let mut newest = watermark;
    loop {
        let mut q = cases::table
            .select((cases::id, cases::updated_at))
            .order((cases::updated_at.asc(), cases::id.asc()))
            .limit(BATCH)
            .into_boxed();
        if let Some(f) = from {
            q = q.filter(cases::updated_at.ge(f));
        }
        if let Some((u, id)) = after {
            q = q.filter(
                cases::updated_at
                    .gt(u)
                    .or(cases::updated_at.eq(u).and(cases::id.gt(id))),
            );
        }
        let batch: Vec<(i64, NaiveDateTime)> = q.load(conn)?;
        let Some(&(last_id, last_at)) = batch.last() else {
            break;
        };
        let ids: Vec<i64> = batch.iter().map(|(id, _)| *id).collect();
        let known: HashMap<i64, (NaiveDateTime, NaiveDateTime)> = case_facts::table
            .filter(case_facts::case_id.eq_any(&ids))
            .select((
                case_facts::case_id,
                case_facts::case_updated_at,
                case_facts::computed_at,
            ))
            .load::<(i64, NaiveDateTime, NaiveDateTime)>(conn)?
            .into_iter()
            .map(|(id, u, c)| (id, (u, c)))
            .collect();
        // Facts computed from the case's present change are computed again once, when
        // the overlap has passed since it (a writer that stamped the same moment has
        // committed by then), and not on every run before that: under a steady stream
        // of changes each case is computed twice, not once per run in its window.
        let stale: Vec<i64> = batch
            .iter()
            .filter(|(id, updated)| {
                !known.get(id).is_some_and(|(u, computed)| {
                    u == updated && (*computed >= *updated + overlap || at < *updated + overlap)
                })
            })
            .map(|(id, _)| *id)
            .collect();
        written += refresh_cases(conn, snap, &stale, now)?;
        seen += batch.len();
        newest = newest.max(Some(last_at));
        after = Some((last_at, last_id));
        if (batch.len() as i64) < BATCH || seen >= MAX_PER_RUN {
            break;
        }
    }
    if let Some(n) = newest {
        advance_watermark(conn, n)?;
    }
    Ok(written)
}

/// Which cases of a period a query is about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub queue_id: Option<i64>,
    pub agent_id: Option<i64>,
    pub rule: Option<String>,
    pub priority: Option<String>,
}

type FactsQuery<'a> = case_facts::BoxedQuery<'a, crate::db::MultiBackend>;

/// Narrows a boxed query of `case_facts` (of any selection or grouping) to a filter.
macro_rules! narrowed {
    ($q:expr, $f:expr) => {{
        let (mut q, f) = ($q, $f);
        if let Some(v) = f.queue_id {
            q = q.filter(case_facts::queue_id.eq(v));
        }
        if let Some(v) = f.agent_id {
            q = q.filter(case_facts::agent_id.eq(v));
        }
        if let Some(v) = &f.rule {
            q = q.filter(case_facts::rule_code.eq(v));
        }
        if let Some(v) = &f.priority {
            q = q.filter(case_facts::priority.eq(v));
        }
        q
    }};
}

fn filtered<'a>(q: FactsQuery<'a>, f: &'a Filter) -> FactsQuery<'a> {
    narrowed!(q, f)
}

/// Which of a period's facts a report reads: each reads only its columns, which
/// keeps a scan of a month of a busy desk's cases cheap.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reads {
    /// The SLA columns of the cases resolved in the period.
    pub sla: bool,
    /// The outcome columns of the cases resolved in the period.
    pub outcomes: bool,
    /// The opening and alerts of the cases opened in the period.
    pub volume: bool,
}

fn blank(case_id: i64, queue_id: i64, agent_id: Option<i64>, rule_code: String) -> PeriodFact {
    PeriodFact {
        case_id,
        queue_id,
        agent_id,
        rule_code,
        priority: String::new(),
        opened_at: NaiveDateTime::default(),
        resolved_at: None,
        first_response_secs: None,
        resolution_secs: None,
        first_response_met: None,
        resolution_met: None,
        breach_unassigned_secs: 0,
        breach_agent_secs: 0,
        breach_customer_secs: 0,
        disposition: None,
        customer_confirmed: false,
        amount_protected: None,
        currency: None,
        reopen_count: 0,
        alert_count: 0,
        calls: 0,
        calls_reached: 0,
        emails: 0,
        emails_answered: 0,
        survey_sent: false,
        survey_score: None,
    }
}

type SlaColumns = (
    i64,
    i64,
    Option<i64>,
    String,
    String,
    Option<i64>,
    Option<i64>,
    Option<bool>,
    Option<bool>,
    i64,
    i64,
    i64,
);

type OutcomeColumns = (
    i64,
    i64,
    Option<i64>,
    String,
    Option<String>,
    bool,
    Option<String>,
    Option<String>,
    i32,
    (i32, i32, i32, i32),
    bool,
    Option<i32>,
);

/// The facts of the cases resolved in the period: the SLA columns, the outcome
/// columns, or all. With a pool, the two halves of the period are read at once,
/// the second on a connection of its own when one is free at that moment (a month
/// of a busy desk is a scan of some hundred thousand rows, and a report should use
/// both cores of a small server); without one, or with none free, in turn.
pub fn resolved_in(
    conn: &mut DbConn,
    pool: Option<&crate::db::DbPool>,
    p: &Period,
    f: &Filter,
    reads: Reads,
) -> QueryResult<Vec<PeriodFact>> {
    let mid = p.start + (p.end - p.start) / 2;
    let second = pool.and_then(|pool| pool.try_get());
    let Some(mut second) = second else {
        return resolved_between(conn, p.start, p.end, f, reads);
    };
    std::thread::scope(|s| {
        let later = s.spawn(move || resolved_between(&mut second, mid, p.end, f, reads));
        let mut rows = resolved_between(conn, p.start, mid, f, reads)?;
        rows.extend(later.join().expect("the reading thread")?);
        Ok(rows)
    })
}

/// The facts of the cases resolved in `[start, end)`, as [`resolved_in`] reads them.
fn resolved_between(
    conn: &mut DbConn,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    f: &Filter,
    reads: Reads,
) -> QueryResult<Vec<PeriodFact>> {
    use case_facts as c;
    let scope = || {
        let q = c::table
            .filter(c::resolved_at.ge(to_db(start)))
            .filter(c::resolved_at.lt(to_db(end)))
            .into_boxed();
        filtered(q, f)
    };
    if reads.sla && reads.outcomes {
        return scope().select(PeriodFact::as_select()).load(conn);
    }
    if reads.sla {
        let rows: Vec<SlaColumns> = scope()
            .select((
                c::case_id,
                c::queue_id,
                c::agent_id,
                c::rule_code,
                c::priority,
                c::first_response_secs,
                c::resolution_secs,
                c::first_response_met,
                c::resolution_met,
                c::breach_unassigned_secs,
                c::breach_agent_secs,
                c::breach_customer_secs,
            ))
            .load(conn)?;
        return Ok(rows
            .into_iter()
            .map(
                |(id, q, a, rule, priority, fr, res, frm, resm, bu, ba, bc)| PeriodFact {
                    priority,
                    first_response_secs: fr,
                    resolution_secs: res,
                    first_response_met: frm,
                    resolution_met: resm,
                    breach_unassigned_secs: bu,
                    breach_agent_secs: ba,
                    breach_customer_secs: bc,
                    ..blank(id, q, a, rule)
                },
            )
            .collect());
    }
    if reads.outcomes {
        let rows: Vec<OutcomeColumns> = scope()
            .select((
                c::case_id,
                c::queue_id,
                c::agent_id,
                c::rule_code,
                c::disposition,
                c::customer_confirmed,
                c::amount_protected,
                c::currency,
                c::reopen_count,
                (c::calls, c::calls_reached, c::emails, c::emails_answered),
                c::survey_sent,
                c::survey_score,
            ))
            .load(conn)?;
        return Ok(rows
            .into_iter()
            .map(
                |(
                    id,
                    q,
                    a,
                    rule,
                    disposition,
                    confirmed,
                    amount,
                    currency,
                    reopen,
                    (calls, calls_reached, emails, emails_answered),
                    survey_sent,
                    survey_score,
                )| PeriodFact {
                    disposition,
                    customer_confirmed: confirmed,
                    amount_protected: amount,
                    currency,
                    reopen_count: reopen,
                    calls,
                    calls_reached,
                    emails,
                    emails_answered,
                    survey_sent,
                    survey_score,
                    ..blank(id, q, a, rule)
                },
            )
            .collect());
    }
    Ok(Vec::new())
}

/// The outcomes of the cases resolved in the period as PostgreSQL counts them: the
/// period's facts grouped by everything the outcomes tell apart (rule, disposition,
/// customer's confirmation, currency, agent, queue), each group's cases counted and
/// summed in the database. A month of a busy desk is some hundred thousand cases;
/// read and decoded one by one they took most of the report's time, grouped a few
/// thousand rows come back, and each goes through the same tally a single case does.
/// `None` on SQLite, whose reports read the facts as they are (there the reading is
/// cheap, and its grouping sorts), and where an amount cannot be read as a number.
pub fn outcomes_counted(
    conn: &mut DbConn,
    pool: Option<&crate::db::DbPool>,
    p: &Period,
    f: &Filter,
) -> QueryResult<Option<super::figures::Outcomes>> {
    use super::figures::{OutcomeTally, Reach, Surveys};
    if !matches!(conn, DbConn::Postgresql(_)) {
        return Ok(None);
    }
    // The two halves of the period at once, as `resolved_in` reads them: each
    // half's counts add to the other's.
    let mid = p.start + (p.end - p.start) / 2;
    let second = pool.and_then(|pool| pool.try_get());
    let counted = match second {
        Some(mut second) => std::thread::scope(|s| {
            let later = s.spawn(move || counted_between(&mut second, mid, p.end, f));
            let mut rows = counted_between(conn, p.start, mid, f)?;
            rows.extend(later.join().expect("the counting thread")?);
            Ok::<_, diesel::result::Error>(rows)
        }),
        None => counted_between(conn, p.start, p.end, f),
    };
    // A fact whose amount `numeric` cannot read (written by hand: the facts job
    // writes exact decimals) fails the count; the report then reads the facts one
    // by one, which leave such an amount out.
    let rows = match counted {
        Ok(rows) => rows,
        Err(diesel::result::Error::DatabaseError(_, info)) => {
            tracing::warn!(error = %info.message(), "outcomes counted case by case");
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    let count = |v: i64| v.max(0) as u64;
    let mut tally = OutcomeTally::default();
    for r in rows {
        let n = count(r.n);
        let reach = Reach {
            attempted: count(r.attempted),
            reached: count(r.reached),
            calls: count(r.calls),
            calls_reached: count(r.calls_reached),
            emails: count(r.emails),
            emails_answered: count(r.emails_answered),
        };
        tally.resolved(n, count(r.reopened), &reach);
        let disposition = r.disposition.as_deref();
        tally.closings(&r.rule_code, disposition, r.customer_confirmed, n);
        if let (Some(currency), Some(amount)) = (&r.currency, &r.amount)
            && r.amount_cases > 0
        {
            let units: i128 = amount.parse().map_err(|_| {
                diesel::result::Error::DeserializationError(
                    format!("an amount protected in all: {amount}").into(),
                )
            })?;
            tally.money(
                currency,
                disposition,
                crate::domain::money::Decimal::from_millionths(units),
                count(r.amount_cases),
            );
        }
        let s = Surveys {
            sent: count(r.sent),
            answered: count(r.answered),
            score_sum: count(r.score_sum),
        };
        tally.surveys(s);
        tally.agent_surveys(r.agent_id, s);
        tally.queue_surveys(r.queue_id, s);
        tally.rule_surveys(&r.rule_code, s);
    }
    Ok(Some(tally.finish()))
}

#[derive(QueryableByName)]
struct Counted {
    #[diesel(sql_type = diesel::sql_types::Text)]
    rule_code: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    disposition: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    customer_confirmed: bool,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    currency: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    agent_id: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    queue_id: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    reopened: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    attempted: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    reached: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    calls: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    calls_reached: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    emails: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    emails_answered: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    sent: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    answered: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    score_sum: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    amount_cases: i64,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    amount: Option<String>,
}

/// The counts of the cases resolved in `[start, end)`, grouped as
/// [`outcomes_counted`] needs them (PostgreSQL).
fn counted_between(
    conn: &mut DbConn,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    f: &Filter,
) -> QueryResult<Vec<Counted>> {
    use diesel::sql_types::{BigInt, Text, Timestamp};
    let DbConn::Postgresql(pg) = conn else {
        return Ok(Vec::new());
    };
    // The facts keep an amount as an exact decimal writes itself (`1200.00`), which
    // `numeric` reads exactly; a check of its form here (a regular expression) took
    // more than all the rest of the counting.
    let mut sql = String::from(
        "SELECT rule_code, disposition, customer_confirmed, currency, agent_id, queue_id, \
         COUNT(*) AS n, \
         COUNT(*) FILTER (WHERE reopen_count > 0) AS reopened, \
         COUNT(*) FILTER (WHERE calls > 0 OR emails > 0) AS attempted, \
         COUNT(*) FILTER (WHERE (calls > 0 OR emails > 0) \
           AND (calls_reached > 0 OR emails_answered > 0)) AS reached, \
         COALESCE(SUM(GREATEST(calls, 0)), 0)::bigint AS calls, \
         COALESCE(SUM(GREATEST(calls_reached, 0)), 0)::bigint AS calls_reached, \
         COALESCE(SUM(GREATEST(emails, 0)), 0)::bigint AS emails, \
         COALESCE(SUM(GREATEST(emails_answered, 0)), 0)::bigint AS emails_answered, \
         COUNT(*) FILTER (WHERE survey_sent) AS sent, \
         COUNT(survey_score) AS answered, \
         COALESCE(SUM(GREATEST(survey_score, 0)), 0)::bigint AS score_sum, \
         COUNT(amount) AS amount_cases, \
         (SUM(amount) * 1000000)::numeric(40, 0)::text AS amount \
         FROM (SELECT rule_code, disposition, customer_confirmed, currency, agent_id, \
           queue_id, reopen_count, calls, calls_reached, emails, emails_answered, \
           survey_sent, survey_score, \
           CASE WHEN currency IS NOT NULL THEN amount_protected::numeric END AS amount \
           FROM case_facts WHERE resolved_at >= $1 AND resolved_at < $2",
    );
    let mut next = 3;
    let mut condition = |sql: &mut String, column: &str| {
        sql.push_str(&format!(" AND {column} = ${next}"));
        next += 1;
    };
    if f.queue_id.is_some() {
        condition(&mut sql, "queue_id");
    }
    if f.agent_id.is_some() {
        condition(&mut sql, "agent_id");
    }
    if f.rule.is_some() {
        condition(&mut sql, "rule_code");
    }
    if f.priority.is_some() {
        condition(&mut sql, "priority");
    }
    sql.push_str(
        ") AS f GROUP BY rule_code, disposition, customer_confirmed, currency, agent_id, queue_id",
    );
    let mut q = diesel::sql_query(sql)
        .into_boxed::<diesel::pg::Pg>()
        .bind::<Timestamp, _>(to_db(start))
        .bind::<Timestamp, _>(to_db(end));
    if let Some(v) = f.queue_id {
        q = q.bind::<BigInt, _>(v);
    }
    if let Some(v) = f.agent_id {
        q = q.bind::<BigInt, _>(v);
    }
    if let Some(v) = &f.rule {
        q = q.bind::<Text, _>(v.clone());
    }
    if let Some(v) = &f.priority {
        q = q.bind::<Text, _>(v.clone());
    }
    // Without parallel workers: the two halves already run at once, and a worker's
    // partial hash of a few thousand groups, merged again, cost more than it saved
    // (a half took 103 ms with two workers, 45 ms alone; on two cores with both
    // halves at once, 190–215 ms).
    pg.transaction(|c| {
        diesel::connection::SimpleConnection::batch_execute(
            c,
            "SET LOCAL max_parallel_workers_per_gather = 0",
        )?;
        q.load(c)
    })
}

/// The cases opened in each local day of the period and their alerts, per rule,
/// counted by the database.
///
/// On PostgreSQL, one grouped range scan of a day each (a hash aggregate over the
/// covering `case_facts_opened`). On SQLite the same query sorts each day's cases by
/// rule in a temporary B-tree (a month at a million cases: 170,000 rows sorted, as
/// long as reading the month's resolved facts); instead, the rules are found by a
/// few seeks in `case_facts_rule_opened` (rule, opened), and each rule's day is
/// counted in its own range of that index, with no sort and no row decoded.
pub fn opened_by_day(conn: &mut DbConn, p: &Period, f: &Filter) -> QueryResult<Vec<DayCount>> {
    use case_facts as c;
    use diesel::dsl::{count_star, sum};
    let mut out = Vec::new();
    if matches!(conn, DbConn::Sqlite(_)) {
        let rules = match &f.rule {
            Some(r) => vec![r.clone()],
            None => rules_of_facts(conn)?,
        };
        for (day, (start, end)) in p.day_bounds().into_iter().enumerate() {
            for rule in &rules {
                let q = c::table
                    .filter(c::rule_code.eq(rule))
                    .filter(c::opened_at.ge(to_db(start)))
                    .filter(c::opened_at.lt(to_db(end)))
                    .select((count_star(), sum(c::alert_count)))
                    .into_boxed();
                let (cases, alerts): (i64, Option<i64>) = narrowed!(q, f).first(conn)?;
                if cases > 0 {
                    out.push(DayCount {
                        day,
                        rule: rule.clone(),
                        cases: cases as u64,
                        alerts: alerts.unwrap_or(0).max(0) as u64,
                    });
                }
            }
        }
        return Ok(out);
    }
    for (day, (start, end)) in p.day_bounds().into_iter().enumerate() {
        let q = c::table
            .filter(c::opened_at.ge(to_db(start)))
            .filter(c::opened_at.lt(to_db(end)))
            .group_by(c::rule_code)
            .select((c::rule_code, count_star(), sum(c::alert_count)))
            .into_boxed();
        let rows: Vec<(String, i64, Option<i64>)> = narrowed!(q, f).load(conn)?;
        out.extend(rows.into_iter().map(|(rule, cases, alerts)| DayCount {
            day,
            rule,
            cases: cases.max(0) as u64,
            alerts: alerts.unwrap_or(0).max(0) as u64,
        }));
    }
    Ok(out)
}

/// Every rule code the facts hold, in order, one index seek each (the rules of
/// the desk's history, including rules since removed from its configuration).
fn rules_of_facts(conn: &mut DbConn) -> QueryResult<Vec<String>> {
    use case_facts as c;
    let mut rules: Vec<String> = Vec::new();
    loop {
        let mut q = c::table
            .select(c::rule_code)
            .order(c::rule_code)
            .into_boxed();
        if let Some(last) = rules.last() {
            q = q.filter(c::rule_code.gt(last.clone()));
        }
        match q.first::<String>(conn).optional()? {
            Some(r) => rules.push(r),
            None => return Ok(rules),
        }
    }
}

/// The cases behind a figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    Resolved,
    Opened,
    FrMet,
    FrMissed,
    ResMet,
    ResMissed,
    Breached,
    FalsePositive,
    /// Closings that cannot tell whether the rule was right (label unknown).
    Unknown,
    CustomerConfirmed,
    ConfirmedFraud,
    Reopened,
    Surveyed,
    Answered,
    Reached,
}

impl Measure {
    pub const ALL: [Measure; 15] = [
        Measure::Resolved,
        Measure::Opened,
        Measure::FrMet,
        Measure::FrMissed,
        Measure::ResMet,
        Measure::ResMissed,
        Measure::Breached,
        Measure::FalsePositive,
        Measure::Unknown,
        Measure::CustomerConfirmed,
        Measure::ConfirmedFraud,
        Measure::Reopened,
        Measure::Surveyed,
        Measure::Answered,
        Measure::Reached,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Measure::Resolved => "resolved",
            Measure::Opened => "opened",
            Measure::FrMet => "fr_met",
            Measure::FrMissed => "fr_missed",
            Measure::ResMet => "res_met",
            Measure::ResMissed => "res_missed",
            Measure::Breached => "breached",
            Measure::FalsePositive => "false_positive",
            Measure::Unknown => "unknown",
            Measure::CustomerConfirmed => "customer_confirmed",
            Measure::ConfirmedFraud => "confirmed_fraud",
            Measure::Reopened => "reopened",
            Measure::Surveyed => "surveyed",
            Measure::Answered => "answered",
            Measure::Reached => "reached",
        }
    }

    pub fn parse(s: &str) -> Option<Measure> {
        Measure::ALL.iter().copied().find(|m| m.as_str() == s)
    }
}

/// A keyset position in a list of cases: the list's time and the case id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub at: NaiveDateTime,
    pub case_id: i64,
}

impl Cursor {
    pub fn encode(&self) -> String {
        format!("{}.{}", self.at.and_utc().timestamp_micros(), self.case_id)
    }

    pub fn parse(s: &str) -> Option<Cursor> {
        let (micros, id) = s.split_once('.')?;
        Some(Cursor {
            at: DateTime::from_timestamp_micros(micros.parse().ok()?)?.naive_utc(),
            case_id: id.parse().ok()?,
        })
    }
}

/// One case of a drill-down list (personal data not yet masked).
#[derive(Debug, Clone, Queryable)]
pub struct CaseRow {
    pub case_id: i64,
    pub queue_id: i64,
    pub agent_id: Option<i64>,
    pub rule_code: String,
    pub priority: String,
    pub status: String,
    pub opened_at: NaiveDateTime,
    pub resolved_at: Option<NaiveDateTime>,
    pub first_response_secs: Option<i64>,
    pub resolution_secs: Option<i64>,
    pub first_response_met: Option<bool>,
    pub resolution_met: Option<bool>,
    pub disposition: Option<String>,
    pub customer_confirmed: bool,
    pub amount_protected: Option<String>,
    pub currency: Option<String>,
    pub reopen_count: i32,
    pub survey_score: Option<i32>,
    pub customer_name: Option<String>,
    pub customer_phone: Option<String>,
}

/// What a drill-down list shows: the period's cases of a measure, newest first.
#[derive(Debug, Clone)]
pub struct CaseQuery {
    pub period: Period,
    pub filter: Filter,
    pub measure: Measure,
    /// With [`Measure::Opened`]: only the cases opened on this local day.
    pub day: Option<chrono::NaiveDate>,
}

/// The disposition codes of the closings labelled `label`.
fn labelled(label: Label) -> Vec<&'static str> {
    label.dispositions().map(Disposition::as_str).collect()
}

/// A page of a drill-down list after `cursor`; the next cursor when there is more.
pub fn cases_page(
    conn: &mut DbConn,
    q: &CaseQuery,
    cursor: Option<Cursor>,
    limit: i64,
) -> QueryResult<(Vec<CaseRow>, Option<Cursor>)> {
    use case_facts as f;
    let (start, end) = match q.day {
        Some(d) if q.measure == Measure::Opened => (
            super::period::day_start(q.period.tz, d).max(q.period.start),
            super::period::day_start(q.period.tz, d.succ_opt().unwrap_or(d)).min(q.period.end),
        ),
        _ => (q.period.start, q.period.end),
    };
    let (start, end) = (to_db(start), to_db(end));
    let mut b = f::table.into_boxed();
    b = filtered(b, &q.filter);
    let by_opened = q.measure == Measure::Opened;
    if by_opened {
        b = b
            .filter(f::opened_at.ge(start))
            .filter(f::opened_at.lt(end));
        if let Some(c) = cursor {
            b = b.filter(
                f::opened_at
                    .lt(c.at)
                    .or(f::opened_at.eq(c.at).and(f::case_id.lt(c.case_id))),
            );
        }
        b = b.order((f::opened_at.desc(), f::case_id.desc()));
    } else {
        b = b
            .filter(f::resolved_at.ge(start))
            .filter(f::resolved_at.lt(end));
        if let Some(c) = cursor {
            b = b.filter(
                f::resolved_at
                    .lt(c.at)
                    .or(f::resolved_at.eq(c.at).and(f::case_id.lt(c.case_id))),
            );
        }
        b = b.order((f::resolved_at.desc(), f::case_id.desc()));
    }
    b = match q.measure {
        Measure::Resolved | Measure::Opened => b,
        Measure::FrMet => b.filter(f::first_response_met.eq(true)),
        Measure::FrMissed => b.filter(f::first_response_met.eq(false)),
        Measure::ResMet => b.filter(f::resolution_met.eq(true)),
        Measure::ResMissed => b.filter(f::resolution_met.eq(false)),
        Measure::Breached => b.filter(
            f::first_response_met
                .eq(false)
                .or(f::resolution_met.eq(false)),
        ),
        Measure::FalsePositive => b.filter(f::disposition.eq_any(labelled(Label::FalsePositive))),
        Measure::Unknown => b.filter(f::disposition.eq_any(labelled(Label::Unknown))),
        Measure::CustomerConfirmed => b
            .filter(f::disposition.eq_any(labelled(Label::FalsePositive)))
            .filter(f::customer_confirmed.eq(true)),
        Measure::ConfirmedFraud => {
            b.filter(f::disposition.eq(Disposition::ConfirmedFraud.as_str()))
        }
        Measure::Reopened => b.filter(f::reopen_count.gt(0)),
        Measure::Surveyed => b.filter(f::survey_sent.eq(true)),
        Measure::Answered => b.filter(f::survey_score.is_not_null()),
        Measure::Reached => b.filter(f::calls_reached.gt(0).or(f::emails_answered.gt(0))),
    };
    let facts: Vec<(i64, NaiveDateTime, Option<NaiveDateTime>)> = b
        .select((f::case_id, f::opened_at, f::resolved_at))
        .limit(limit + 1)
        .load(conn)?;
    let more = facts.len() as i64 > limit;
    let facts = &facts[..facts.len().min(limit as usize)];
    let ids: Vec<i64> = facts.iter().map(|r| r.0).collect();
    let mut rows: HashMap<i64, CaseRow> = f::table
        .inner_join(cases::table.inner_join(customers::table))
        .filter(f::case_id.eq_any(&ids))
        .select((
            f::case_id,
            f::queue_id,
            f::agent_id,
            f::rule_code,
            f::priority,
            cases::status,
            f::opened_at,
            f::resolved_at,
            f::first_response_secs,
            f::resolution_secs,
            f::first_response_met,
            f::resolution_met,
            f::disposition,
            f::customer_confirmed,
            f::amount_protected,
            f::currency,
            f::reopen_count,
            f::survey_score,
            customers::name,
            customers::phone,
        ))
        .load::<CaseRow>(conn)?
        .into_iter()
        .map(|r| (r.case_id, r))
        .collect();
    let next = if more {
        facts.last().map(|(id, opened, resolved)| Cursor {
            at: if by_opened {
                *opened
            } else {
                resolved.unwrap_or(*opened)
            },
            case_id: *id,
        })
    } else {
        None
    };
    Ok((ids.iter().filter_map(|id| rows.remove(id)).collect(), next))
}

/// Whether the desk has ever received an alert of rule `code` (one probe of the
/// index on the rule's alerts).
pub fn rule_has_alerts(conn: &mut DbConn, code: &str) -> QueryResult<bool> {
    Ok(alerts::table
        .filter(alerts::rule_code.eq(code))
        .select(alerts::id)
        .first::<i64>(conn)
        .optional()?
        .is_some())
}

/// The alerts of rule `code` received in the period, with their cases' closings:
/// one range scan of the index on `(rule_code, received_at)`, each case looked up
/// by its key.
pub fn rule_alerts(conn: &mut DbConn, code: &str, p: &Period) -> QueryResult<Vec<RuleAlert>> {
    alerts::table
        .left_join(cases::table)
        .filter(alerts::rule_code.eq(code))
        .filter(alerts::received_at.ge(to_db(p.start)))
        .filter(alerts::received_at.lt(to_db(p.end)))
        .select((
            alerts::received_at,
            alerts::case_id,
            alerts::amount,
            alerts::currency,
            cases::resolved_at.nullable(),
            cases::disposition.nullable(),
        ))
        .load(conn)
}
