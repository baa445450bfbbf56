// The reports' query side: the query string every page takes, checked into a
// `Request`, and the reads of the desk's names and a period's facts from `crate::reports`.

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::web;
use chrono::NaiveDate;
use serde::Deserialize;

use super::super::{Page, db};
use crate::db::DbConn;
use crate::domain::money::{Decimal, parse_currency};
use crate::error::AppError;
use crate::i18n::tkey;
use crate::reports::figures::{self, PRIORITIES};
use crate::reports::period::{BadParam, Period};
use crate::reports::rules::{self, RuleQuality};
use crate::reports::store::{self as facts, CaseQuery, Cursor, Filter, Measure};
use crate::state::AppState;
use crate::store::deskconfig::Snapshot;

/// Rows of a drill-down page unless `limit` asks for another number (10 to 200).
pub const PAGE_SIZE: i64 = 50;

/// The query string every report page and export takes.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ReportQuery {
    pub period: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub queue: Option<String>,
    pub agent: Option<String>,
    pub rule: Option<String>,
    pub priority: Option<String>,
    pub measure: Option<String>,
    pub day: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<String>,
}

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// The checked query.
#[derive(Debug, Clone)]
pub struct Request {
    pub period: Period,
    pub filter: Filter,
    pub queue_name: Option<String>,
    pub measure: Measure,
    pub day: Option<NaiveDate>,
    pub cursor: Option<Cursor>,
    pub limit: i64,
}

impl Request {
    /// Query-string pairs of the period and the filters (not measure or page).
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut out = self.period.query_pairs();
        if let Some(q) = &self.queue_name {
            out.push(("queue", q.clone()));
        }
        if let Some(a) = self.filter.agent_id {
            out.push(("agent", a.to_string()));
        }
        if let Some(r) = &self.filter.rule {
            out.push(("rule", r.clone()));
        }
        if let Some(p) = &self.filter.priority {
            out.push(("priority", p.clone()));
        }
        out
    }

    pub fn query(&self) -> String {
        serde_urlencoded::to_string(self.pairs()).unwrap_or_default()
    }
}

/// Checks every parameter; the first that is wrong is named.
fn parse(
    q: &ReportQuery,
    snap: &Snapshot,
    agents: &HashMap<i64, String>,
    tz: chrono_tz::Tz,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Request, BadParam> {
    let period = Period::parse(
        non_empty(&q.period),
        non_empty(&q.from),
        non_empty(&q.to),
        tz,
        now,
    )?;
    let mut filter = Filter::default();
    let queue_name = non_empty(&q.queue).map(String::from);
    if let Some(name) = &queue_name {
        let info = snap
            .queues_by_name
            .get(name)
            .ok_or_else(|| BadParam::new("queue", name, tkey("reports.why.queue")))?;
        filter.queue_id = Some(info.id);
    }
    if let Some(a) = non_empty(&q.agent) {
        let id = a
            .parse::<i64>()
            .ok()
            .filter(|id| agents.contains_key(id))
            .ok_or_else(|| BadParam::new("agent", a, tkey("reports.why.agent")))?;
        filter.agent_id = Some(id);
    }
    if let Some(r) = non_empty(&q.rule) {
        if !snap.rules.contains_key(r) {
            return Err(BadParam::new("rule", r, tkey("reports.why.rule")));
        }
        filter.rule = Some(r.to_string());
    }
    if let Some(p) = non_empty(&q.priority) {
        if !PRIORITIES.contains(&p) {
            return Err(BadParam::new("priority", p, tkey("reports.why.priority")));
        }
        filter.priority = Some(p.to_string());
    }
    let measure = match non_empty(&q.measure) {
        Some(m) => Measure::parse(m)
            .ok_or_else(|| BadParam::new("measure", m, tkey("reports.why.measure")))?,
        None => Measure::Resolved,
    };
    let day = match non_empty(&q.day) {
        Some(d) => {
            let day = NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .ok()
                .filter(|day| *day >= period.from && *day <= period.to)
                .ok_or_else(|| BadParam::new("day", d, tkey("reports.why.day")))?;
            Some(day)
        }
        None => None,
    };
    let cursor = match non_empty(&q.cursor) {
        Some(c) => Some(
            Cursor::parse(c)
                .ok_or_else(|| BadParam::new("cursor", c, tkey("reports.why.cursor")))?,
        ),
        None => None,
    };
    let limit = match non_empty(&q.limit) {
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|n| (10..=200).contains(n))
            .ok_or_else(|| BadParam::new("limit", l, tkey("reports.why.limit")))?,
        None => PAGE_SIZE,
    };
    Ok(Request {
        period,
        filter,
        queue_name,
        measure,
        day,
        cursor,
        limit,
    })
}

/// Names of the desk's people and queues, for labels.
pub struct Names {
    pub snap: Arc<Snapshot>,
    pub agents: HashMap<i64, String>,
}

impl Names {
    pub fn queue(&self, id: i64) -> String {
        self.snap
            .queues_by_id
            .get(&id)
            .map_or_else(|| format!("#{id}"), |q| q.name.clone())
    }

    /// A queue's service level (per cent resolved within target).
    pub fn service_level(&self, queue_id: i64) -> i64 {
        self.snap
            .queues_by_id
            .get(&queue_id)
            .map_or(crate::store::deskconfig::DEFAULT_SERVICE_LEVEL, |q| {
                q.service_level
            })
    }
}

fn load_names(conn: &mut DbConn, st: &AppState) -> Result<Names, AppError> {
    let snap = st.desk.get(conn)?;
    let agents = crate::store::users::names(conn)?.into_iter().collect();
    Ok(Names { snap, agents })
}

/// Checks `q` (with `agent` as the agent filter, for an agent's page) and runs `read`
/// with the checked request, in one blocking database call; `Err(BadParam)` inside
/// when the query is wrong.
async fn checked<T, F>(
    state: &web::Data<AppState>,
    page: &Page,
    q: ReportQuery,
    agent: Option<i64>,
    read: F,
) -> Result<Result<T, BadParam>, AppError>
where
    F: FnOnce(&mut DbConn, &AppState, Request, Names) -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    let (st, tz, now) = (state.clone(), page.tz, state.now());
    db(state, move |conn| {
        let names = load_names(conn, &st)?;
        let mut req = match parse(&q, &names.snap, &names.agents, tz, now) {
            Ok(r) => r,
            Err(bad) => return Ok(Err(bad)),
        };
        if agent.is_some() {
            req.filter.agent_id = agent;
        }
        read(conn, &st, req, names).map(Ok)
    })
    .await
}

/// What a report reads: the request, names, and the period's facts.
pub struct Loaded {
    pub req: Request,
    pub names: Names,
    pub resolved: Vec<figures::PeriodFact>,
    pub opened: Vec<figures::DayCount>,
    /// The outcomes as the database counted them, when it could (PostgreSQL, a
    /// report of outcomes alone); `resolved` is not read then.
    counted: Option<figures::Outcomes>,
}

impl Loaded {
    /// The outcomes of the period's resolved cases.
    pub fn outcomes(&self) -> figures::Outcomes {
        match &self.counted {
            Some(o) => o.clone(),
            None => figures::outcomes(&self.resolved),
        }
    }
}

/// Reads what a report needs; `Err(BadParam)` inside when the query is wrong.
pub async fn load(
    state: &web::Data<AppState>,
    page: &Page,
    q: ReportQuery,
    agent: Option<i64>,
    reads: facts::Reads,
) -> Result<Result<Loaded, BadParam>, AppError> {
    checked(state, page, q, agent, move |conn, st, req, names| {
        // Outcomes alone: counted by the database where it can.
        let counted = if reads.outcomes && !reads.sla {
            facts::outcomes_counted(conn, Some(&st.pool), &req.period, &req.filter)?
        } else {
            None
        };
        let resolved = if counted.is_some() {
            Vec::new()
        } else {
            facts::resolved_in(conn, Some(&st.pool), &req.period, &req.filter, reads)?
        };
        let opened = if reads.volume {
            facts::opened_by_day(conn, &req.period, &req.filter)?
        } else {
            Vec::new()
        };
        Ok(Loaded {
            req,
            names,
            resolved,
            opened,
            counted,
        })
    })
    .await
}

/// A page of the cases behind a figure, and the cursor of the next page.
pub struct CaseList {
    pub req: Request,
    pub names: Names,
    pub rows: Vec<facts::CaseRow>,
    pub next: Option<Cursor>,
}

/// Reads the page of cases the query asks for; `Err(BadParam)` inside when the
/// query is wrong.
pub async fn load_cases(
    state: &web::Data<AppState>,
    page: &Page,
    q: ReportQuery,
) -> Result<Result<CaseList, BadParam>, AppError> {
    checked(state, page, q, None, |conn, _, req, names| {
        let (rows, next) = facts::cases_page(conn, &case_query(&req), req.cursor, req.limit)?;
        Ok(CaseList {
            req,
            names,
            rows,
            next,
        })
    })
    .await
}

/// What the drill-down list of `req` reads.
pub fn case_query(req: &Request) -> CaseQuery {
    CaseQuery {
        period: req.period.clone(),
        filter: req.filter.clone(),
        measure: req.measure,
        day: req.day,
    }
}

/// Query-string pairs of a drill-down list: the period, the filters, the measure
/// and the day (not the page).
pub fn list_pairs(req: &Request) -> Vec<(&'static str, String)> {
    let mut pairs = req.pairs();
    pairs.push(("measure", req.measure.as_str().to_string()));
    if let Some(d) = req.day {
        pairs.push(("day", d.to_string()));
    }
    pairs
}

/// The rule quality page's own parameters, beside those of every report.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RuleQuery {
    pub threshold: Option<String>,
    pub currency: Option<String>,
}

/// A threshold: a decimal amount, not negative.
fn parse_threshold(text: &str) -> Result<Decimal, BadParam> {
    text.parse::<Decimal>()
        .ok()
        .filter(|d| !d.is_negative())
        .ok_or_else(|| BadParam::new("threshold", text, tkey("reports.why.threshold")))
}

/// What the rule quality page and its exports read.
pub struct RuleLoaded {
    pub req: Request,
    pub names: Names,
    pub code: String,
    pub quality: RuleQuality,
}

/// Reads rule `code`'s quality over the query's period (default: the last 30
/// days). `Err(BadParam)` inside when the query is wrong; for a rule the desk does
/// not know (neither configured nor ever alerted on), what `unknown` answers: a
/// `BadParam`, else `NotFound`.
pub async fn load_rule(
    state: &web::Data<AppState>,
    page: &Page,
    mut q: ReportQuery,
    code: String,
    rq: RuleQuery,
    unknown: fn(&str) -> Result<(), BadParam>,
) -> Result<Result<RuleLoaded, BadParam>, AppError> {
    if [&q.period, &q.from, &q.to]
        .iter()
        .all(|v| non_empty(v).is_none())
    {
        q.period = Some("30d".to_string());
    }
    // The rule is the page's subject, not a filter to check.
    q.rule = None;
    let tz = state.settings.desk_timezone;
    let checked = checked(state, page, q, None, move |conn, st, mut req, names| {
        let threshold = match non_empty(&rq.threshold) {
            Some(t) => match parse_threshold(t) {
                Ok(d) => Some(d),
                Err(bad) => return Ok(Err(bad)),
            },
            None => None,
        };
        let currency = match non_empty(&rq.currency) {
            Some(c) => match parse_currency(c) {
                Ok(c) => Some(c),
                Err(_) => {
                    return Ok(Err(BadParam::new(
                        "currency",
                        c,
                        tkey("reports.why.currency"),
                    )));
                }
            },
            None => None,
        };
        if !names.snap.rules.contains_key(&code) && !facts::rule_has_alerts(conn, &code)? {
            if let Err(bad) = unknown(&code) {
                return Ok(Err(bad));
            }
            return Err(AppError::NotFound);
        }
        req.filter = Filter {
            rule: Some(code.clone()),
            ..Default::default()
        };
        req.queue_name = None;
        let alerts = facts::rule_alerts(conn, &code, &req.period)?;
        let reads = facts::Reads {
            sla: true,
            outcomes: true,
            ..Default::default()
        };
        let resolved = facts::resolved_in(conn, Some(&st.pool), &req.period, &req.filter, reads)?;
        let quality = rules::quality(
            &req.period,
            tz,
            &alerts,
            &resolved,
            currency.as_deref(),
            threshold,
        );
        Ok(Ok(RuleLoaded {
            req,
            names,
            code,
            quality,
        }))
    })
    .await?;
    Ok(checked.and_then(|r| r))
}
