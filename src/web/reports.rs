// The supervisor's period reports: SLA compliance (`/reports`), outcomes
// (`/reports/outcomes`), one agent's figures (`/reports/agents/{id}`), the cases
// behind any figure (`/reports/cases`) and every table as CSV (`/reports/export`).

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::NaiveDate;
use diesel::prelude::*;
use serde::Deserialize;

use super::csv;
use super::{CurrentUser, Page, db};
use crate::app::AppState;
use crate::db::schema::users;
use crate::domain::{Role, masking};
use crate::error::AppError;
use crate::i18n::tkey;
use crate::reports::figures::{
    self, Compliance, Key, Line, Outcomes, PRIORITIES, RuleVolume, Satisfaction, ServiceLevel,
};
use crate::reports::period::{BadParam, Kind, Period};
use crate::reports::stats::{duration_text, per_mille, percent_text};
use crate::reports::store::{self as facts, CaseQuery, Cursor, Filter, Measure};
use crate::store::cases::case_ref;
use crate::store::deskconfig::Snapshot;

/// Rows of a drill-down page unless `limit` asks for another number (10 to 200).
pub const PAGE_SIZE: i64 = 50;
/// Rows read per query while a CSV list of cases streams.
const EXPORT_BATCH: i64 = 1000;

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
struct Request {
    period: Period,
    filter: Filter,
    queue_name: Option<String>,
    measure: Measure,
    day: Option<NaiveDate>,
    cursor: Option<Cursor>,
    limit: i64,
}

impl Request {
    /// Query-string pairs of the period and the filters (not measure or page).
    fn pairs(&self) -> Vec<(&'static str, String)> {
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

    fn query(&self) -> String {
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

/// A bad parameter's page: `400`, the parameter named, nothing else shown.
#[derive(Template)]
#[template(path = "reports/problem.html")]
struct ProblemPage {
    page: Page,
    message: String,
}

fn bad_request(page: &Page, bad: &BadParam) -> Result<HttpResponse, AppError> {
    let message = page.tf(
        "reports.bad_param",
        &[
            ("param", bad.param),
            ("value", &bad.value),
            ("why", page.t(bad.why)),
        ],
    );
    page.render_status(
        StatusCode::BAD_REQUEST,
        &ProblemPage {
            page: page.clone(),
            message,
        },
    )
}

/// Names of the desk's people and queues, for labels.
struct Names {
    snap: Arc<Snapshot>,
    agents: HashMap<i64, String>,
}

impl Names {
    fn queue(&self, id: i64) -> String {
        self.snap
            .queues_by_id
            .get(&id)
            .map_or_else(|| format!("#{id}"), |q| q.name.clone())
    }
}

fn load_names(conn: &mut crate::db::DbConn, st: &AppState) -> Result<Names, AppError> {
    let snap = st.desk.get(conn)?;
    let agents = users::table
        .select((users::id, users::name))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect();
    Ok(Names { snap, agents })
}

// ----- what the templates show -----

/// A figure in a table, linking to the cases behind it when it has a link.
pub struct Cell {
    pub text: String,
    pub href: Option<String>,
}

pub struct TableRow {
    pub label: String,
    pub href: Option<String>,
    pub cells: Vec<Cell>,
}

/// A report table: shown on a page and exported as CSV.
pub struct Table {
    pub name: &'static str,
    pub caption: String,
    pub headers: Vec<String>,
    pub rows: Vec<TableRow>,
    pub export_href: String,
}

impl Table {
    fn records(&self) -> impl Iterator<Item = Vec<String>> + '_ {
        std::iter::once(self.headers.clone()).chain(self.rows.iter().map(|r| {
            std::iter::once(r.label.clone())
                .chain(r.cells.iter().map(|c| c.text.clone()))
                .collect()
        }))
    }
}

/// A headline figure.
pub struct Stat {
    pub label: String,
    pub value: String,
    pub href: Option<String>,
}

/// A half-circle gauge of a share against a target.
pub struct Gauge {
    pub label: String,
    pub value: String,
    pub target: String,
    pub aria: String,
    pub arc: Option<String>,
    pub marker: (f64, f64, f64, f64),
    pub met: Option<bool>,
}

/// One line of a trend chart.
pub struct Series {
    pub name: String,
    pub colour: &'static str,
    pub points: String,
    pub total: u64,
}

pub struct TrendChart {
    pub aria: String,
    pub title: String,
    pub max: u64,
    pub series: Vec<Series>,
    /// (x, label) under the axis.
    pub ticks: Vec<(f64, String)>,
}

pub struct Bar {
    pub label: String,
    pub y: f64,
    pub width: f64,
    pub confirmed: f64,
    pub value: String,
}

pub struct BarChart {
    pub aria: String,
    pub title: String,
    pub height: f64,
    pub bars: Vec<Bar>,
}

pub struct Segment {
    pub x: f64,
    pub width: f64,
    pub colour: &'static str,
    pub label: String,
}

pub struct StackChart {
    pub aria: String,
    pub title: String,
    pub segments: Vec<Segment>,
}

pub struct PeriodOption {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

/// The period picker and the filters of a report page.
pub struct Picker {
    pub action: String,
    pub options: Vec<PeriodOption>,
    pub from: String,
    pub to: String,
    pub filters: bool,
    pub queues: Vec<String>,
    pub queue: String,
    pub rules: Vec<String>,
    pub rule: String,
    pub priorities: [&'static str; 4],
    pub priority: String,
    pub range: String,
}

pub struct Tab {
    pub label: &'static str,
    pub href: String,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "reports/index.html")]
struct ReportPage {
    page: Page,
    title: String,
    tabs: Vec<Tab>,
    picker: Picker,
    stats: Vec<Stat>,
    gauges: Vec<Gauge>,
    trend: Option<TrendChart>,
    bars: Option<BarChart>,
    stack: Option<StackChart>,
    tables: Vec<Table>,
}

const PALETTE: [&str; 8] = [
    "#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563",
];
/// Colours of the three holders of breached time.
const HOLDERS: [&str; 3] = ["#d97706", "#2563eb", "#6b7280"];

/// What the tables and charts are built with.
struct Ctx<'a> {
    page: &'a Page,
    req: &'a Request,
    names: &'a Names,
    /// Whether figures link to their cases (not for an agent's own page).
    links: bool,
}

impl Ctx<'_> {
    fn pct(&self, v: Option<u64>) -> String {
        match v {
            Some(_) => format!("{} %", percent_text(v)),
            None => percent_text(None),
        }
    }

    /// The drill-down link of `measure` for the cases of `key` (and the page's filters).
    fn href(&self, key: &Key, measure: Measure) -> Option<String> {
        self.href_day(key, measure, None)
    }

    fn href_day(&self, key: &Key, measure: Measure, day: Option<NaiveDate>) -> Option<String> {
        if !self.links {
            return None;
        }
        let mut pairs = self.req.pairs();
        let mut set = |k: &'static str, v: String| {
            pairs.retain(|(n, _)| *n != k);
            pairs.push((k, v));
        };
        match key {
            Key::All => {}
            Key::Queue(id) => set("queue", self.names.queue(*id)),
            Key::Agent(Some(id)) => set("agent", id.to_string()),
            Key::Agent(None) => {}
            Key::Rule(r) => set("rule", r.clone()),
            Key::Priority(p) => set("priority", p.clone()),
        }
        set("measure", measure.as_str().to_string());
        if let Some(d) = day {
            set("day", d.to_string());
        }
        Some(format!(
            "/reports/cases?{}",
            serde_urlencoded::to_string(&pairs).unwrap_or_default()
        ))
    }

    fn export_href(&self, table: &str) -> String {
        format!("/reports/export/{table}.csv?{}", self.req.query())
    }

    fn label(&self, key: &Key) -> String {
        match key {
            Key::All => self.page.t("reports.all").to_string(),
            Key::Queue(id) => self.names.queue(*id),
            Key::Agent(Some(id)) => self
                .names
                .agents
                .get(id)
                .cloned()
                .unwrap_or_else(|| format!("#{id}")),
            Key::Agent(None) => self.page.t("reports.no_agent").to_string(),
            Key::Rule(r) => r.clone(),
            Key::Priority(p) => self.page.priority(p).to_string(),
        }
    }

    /// The agent page of a line's agent, for supervisors.
    fn label_href(&self, key: &Key) -> Option<String> {
        match key {
            Key::Agent(Some(id)) if self.links => Some(format!(
                "/reports/agents/{id}?{}",
                serde_urlencoded::to_string(self.req.period.query_pairs()).unwrap_or_default()
            )),
            _ => None,
        }
    }
}

fn cell(text: String, href: Option<String>) -> Cell {
    Cell { text, href }
}

/// Compliance by one dimension (`queue`, `agent`, `rule`, `priority`).
fn compliance_table(ctx: &Ctx<'_>, name: &'static str, lines: &[Line]) -> Table {
    let p = ctx.page;
    let (caption, dim) = match name {
        "compliance_queue" => (p.t("reports.by_queue"), p.t("reports.queue")),
        "compliance_agent" => (p.t("reports.by_agent"), p.t("reports.agent")),
        "compliance_rule" => (p.t("reports.by_rule"), p.t("reports.rule")),
        _ => (p.t("reports.by_priority"), p.t("reports.priority")),
    };
    let queue = name == "compliance_queue";
    let mut headers: Vec<String> = [
        dim,
        p.t("reports.cases_resolved"),
        p.t("reports.fr_met_share"),
        p.t("reports.fr_missed"),
        p.t("reports.fr_median"),
        p.t("reports.fr_p90"),
        p.t("reports.res_met_share"),
        p.t("reports.res_missed"),
        p.t("reports.res_median"),
        p.t("reports.res_p90"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if queue {
        headers.push(p.t("reports.service_level_target").to_string());
        headers.push(p.t("reports.service_level_met").to_string());
    }
    let rows = lines
        .iter()
        .map(|l| {
            let k = &l.key;
            let mut cells = vec![
                cell(l.cases.to_string(), ctx.href(k, Measure::Resolved)),
                cell(ctx.pct(l.fr_rate()), ctx.href(k, Measure::FrMet)),
                cell(l.fr_missed.to_string(), ctx.href(k, Measure::FrMissed)),
                cell(duration_text(l.fr_p50), None),
                cell(duration_text(l.fr_p90), None),
                cell(ctx.pct(l.res_rate()), ctx.href(k, Measure::ResMet)),
                cell(l.res_missed.to_string(), ctx.href(k, Measure::ResMissed)),
                cell(duration_text(l.res_p50), None),
                cell(duration_text(l.res_p90), None),
            ];
            if let Key::Queue(id) = k {
                let sl = ServiceLevel::of(l, target_of(ctx.names, *id));
                cells.push(cell(format!("{} %", sl.target), None));
                cells.push(cell(
                    match sl.met() {
                        Some(true) => p.t("reports.yes"),
                        Some(false) => p.t("reports.no"),
                        None => "–",
                    }
                    .to_string(),
                    None,
                ));
            }
            TableRow {
                label: ctx.label(k),
                href: ctx.label_href(k),
                cells,
            }
        })
        .collect();
    Table {
        name,
        caption: caption.to_string(),
        headers,
        rows,
        export_href: ctx.export_href(name),
    }
}

fn target_of(names: &Names, queue_id: i64) -> i64 {
    names
        .snap
        .queues_by_id
        .get(&queue_id)
        .map_or(crate::store::deskconfig::DEFAULT_SERVICE_LEVEL, |q| {
            q.service_level
        })
}

/// Where breached time went, in all and by queue.
fn breach_table(ctx: &Ctx<'_>, c: &Compliance) -> Table {
    let p = ctx.page;
    let headers = [
        p.t("reports.queue"),
        p.t("reports.breached_cases"),
        p.t("reports.held_unassigned"),
        p.t("reports.held_agent"),
        p.t("reports.held_customer"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let rows = std::iter::once(&c.overall)
        .chain(c.by_queue.iter())
        .map(|l| {
            let shares = l.breach_shares();
            let mut cells = vec![cell(
                l.breached.to_string(),
                ctx.href(&l.key, Measure::Breached),
            )];
            for (secs, share) in l.breach_secs.iter().zip(shares) {
                cells.push(cell(
                    format!("{} ({})", duration_text(Some(*secs)), ctx.pct(share)),
                    None,
                ));
            }
            TableRow {
                label: ctx.label(&l.key),
                href: None,
                cells,
            }
        })
        .collect();
    Table {
        name: "breach_time",
        caption: p.t("reports.breach_time").to_string(),
        headers,
        rows,
        export_href: ctx.export_href("breach_time"),
    }
}

fn volume_table(ctx: &Ctx<'_>, volume: &[RuleVolume]) -> Table {
    let p = ctx.page;
    let mut headers = vec![
        p.t("reports.day").to_string(),
        p.t("reports.cases_opened").to_string(),
        p.t("reports.alerts").to_string(),
    ];
    for v in volume {
        headers.push(p.tf("reports.rule_cases", &[("rule", &v.rule)]));
        headers.push(p.tf("reports.rule_alerts", &[("rule", &v.rule)]));
    }
    let rows = ctx
        .req
        .period
        .days()
        .into_iter()
        .enumerate()
        .map(|(i, day)| {
            let cases: u64 = volume.iter().map(|v| v.cases[i]).sum();
            let alerts: u64 = volume.iter().map(|v| v.alerts[i]).sum();
            let mut cells = vec![
                cell(
                    cases.to_string(),
                    ctx.href_day(&Key::All, Measure::Opened, Some(day)),
                ),
                cell(alerts.to_string(), None),
            ];
            for v in volume {
                cells.push(cell(
                    v.cases[i].to_string(),
                    ctx.href_day(&Key::Rule(v.rule.clone()), Measure::Opened, Some(day)),
                ));
                cells.push(cell(v.alerts[i].to_string(), None));
            }
            TableRow {
                label: day.to_string(),
                href: None,
                cells,
            }
        })
        .collect();
    Table {
        name: "volume",
        caption: p.t("reports.volume").to_string(),
        headers,
        rows,
        export_href: ctx.export_href("volume"),
    }
}

fn rules_table(ctx: &Ctx<'_>, o: &Outcomes) -> Table {
    let p = ctx.page;
    let headers = [
        p.t("reports.rule"),
        p.t("reports.cases_resolved"),
        p.t("reports.false_positives"),
        p.t("reports.fp_confirmed"),
        p.t("reports.fp_rate"),
        p.t("reports.fp_confirmed_rate"),
        p.t("disposition.confirmed_fraud"),
        p.t("disposition.escalated_aml"),
        p.t("disposition.unreachable"),
        p.t("disposition.duplicate"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let rows = o
        .rules
        .iter()
        .map(|r| {
            let k = Key::Rule(r.rule.clone());
            TableRow {
                label: r.rule.clone(),
                href: None,
                cells: vec![
                    cell(r.resolved.to_string(), ctx.href(&k, Measure::Resolved)),
                    cell(
                        r.false_positive.to_string(),
                        ctx.href(&k, Measure::FalsePositive),
                    ),
                    cell(
                        r.fp_confirmed.to_string(),
                        ctx.href(&k, Measure::CustomerConfirmed),
                    ),
                    cell(ctx.pct(r.fp_rate()), None),
                    cell(ctx.pct(r.fp_confirmed_rate()), None),
                    cell(
                        r.confirmed_fraud.to_string(),
                        ctx.href(&k, Measure::ConfirmedFraud),
                    ),
                    cell(r.escalated_aml.to_string(), None),
                    cell(r.unreachable.to_string(), None),
                    cell(r.duplicate.to_string(), None),
                ],
            }
        })
        .collect();
    Table {
        name: "false_positives",
        caption: p.t("reports.by_rule_outcomes").to_string(),
        headers,
        rows,
        export_href: ctx.export_href("false_positives"),
    }
}

fn money_table(ctx: &Ctx<'_>, o: &Outcomes) -> Table {
    let p = ctx.page;
    let headers = [
        p.t("reports.currency"),
        p.t("reports.cases_with_amount"),
        p.t("reports.amount_protected"),
        p.t("reports.amount_on_fraud"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let rows = o
        .money
        .iter()
        .map(|m| TableRow {
            label: m.currency.clone(),
            href: None,
            cells: vec![
                cell(m.cases.to_string(), None),
                cell(m.protected.to_string(), None),
                cell(m.on_fraud.to_string(), None),
            ],
        })
        .collect();
    Table {
        name: "money",
        caption: p.t("reports.money").to_string(),
        headers,
        rows,
        export_href: ctx.export_href("money"),
    }
}

fn reach_table(ctx: &Ctx<'_>, o: &Outcomes) -> Table {
    let p = ctx.page;
    let r = &o.reach;
    let headers = [
        p.t("reports.channel"),
        p.t("reports.reached"),
        p.t("reports.attempted"),
        p.t("reports.reach_rate"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let row = |label: &str, reached: u64, of: u64, href: Option<String>| TableRow {
        label: label.to_string(),
        href: None,
        cells: vec![
            cell(reached.to_string(), href),
            cell(of.to_string(), None),
            cell(ctx.pct(per_mille(reached, of)), None),
        ],
    };
    Table {
        name: "reach",
        caption: p.t("reports.reach").to_string(),
        headers,
        rows: vec![
            row(
                p.t("reports.reach_cases"),
                r.reached,
                r.attempted,
                ctx.href(&Key::All, Measure::Reached),
            ),
            row(p.t("reports.reach_calls"), r.calls_reached, r.calls, None),
            row(
                p.t("reports.reach_emails"),
                r.emails_answered,
                r.emails,
                None,
            ),
        ],
        export_href: ctx.export_href("reach"),
    }
}

fn satisfaction_table(ctx: &Ctx<'_>, name: &'static str, lines: &[Satisfaction]) -> Table {
    let p = ctx.page;
    let (caption, dim) = match name {
        "satisfaction_agent" => (p.t("reports.sat_by_agent"), p.t("reports.agent")),
        "satisfaction_queue" => (p.t("reports.sat_by_queue"), p.t("reports.queue")),
        _ => (p.t("reports.sat_by_rule"), p.t("reports.rule")),
    };
    let headers = [
        dim,
        p.t("reports.surveys_sent"),
        p.t("reports.surveys_answered"),
        p.t("reports.response_rate"),
        p.t("reports.average_score"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let rows = lines
        .iter()
        .map(|s| TableRow {
            label: ctx.label(&s.key),
            href: ctx.label_href(&s.key),
            cells: vec![
                cell(s.sent.to_string(), ctx.href(&s.key, Measure::Surveyed)),
                cell(s.answered.to_string(), ctx.href(&s.key, Measure::Answered)),
                cell(ctx.pct(s.response_rate()), None),
                cell(score_text(s.average_centi()), None),
            ],
        })
        .collect();
    Table {
        name,
        caption: caption.to_string(),
        headers,
        rows,
        export_href: ctx.export_href(name),
    }
}

fn score_text(centi: Option<u64>) -> String {
    centi.map_or_else(
        || "–".to_string(),
        |c| format!("{}.{:02}", c / 100, c % 100),
    )
}

// ----- charts -----

fn gauge(ctx: &Ctx<'_>, l: &Line) -> Gauge {
    let p = ctx.page;
    let target = match l.key {
        Key::Queue(id) => target_of(ctx.names, id),
        _ => crate::store::deskconfig::DEFAULT_SERVICE_LEVEL,
    };
    let sl = ServiceLevel::of(l, target);
    let point = |share: f64, r: f64| {
        let a = std::f64::consts::PI * (1.0 - share.clamp(0.0, 1.0));
        (100.0 + r * a.cos(), 100.0 - r * a.sin())
    };
    let arc = sl.actual.map(|v| {
        let (x, y) = point(v as f64 / 1000.0, 80.0);
        format!("M 20 100 A 80 80 0 0 1 {x:.2} {y:.2}")
    });
    let t = target as f64 / 100.0;
    let (x1, y1) = point(t, 64.0);
    let (x2, y2) = point(t, 96.0);
    let value = ctx.pct(sl.actual);
    let target_text = format!("{target} %");
    let label = ctx.label(&l.key);
    Gauge {
        aria: p.tf(
            "reports.gauge_aria",
            &[
                ("queue", &label),
                ("value", &value),
                ("target", &target_text),
            ],
        ),
        label,
        value,
        target: target_text,
        arc,
        marker: (x1, y1, x2, y2),
        met: sl.met(),
    }
}

const CHART_W: f64 = 640.0;
const CHART_H: f64 = 220.0;
const PAD_L: f64 = 44.0;
const PAD_R: f64 = 12.0;
const PAD_T: f64 = 12.0;
const PAD_B: f64 = 30.0;

fn trend_chart(ctx: &Ctx<'_>, volume: &[RuleVolume]) -> TrendChart {
    let p = ctx.page;
    let days = ctx.req.period.days();
    let n = days.len();
    let max = volume
        .iter()
        .flat_map(|v| v.cases.iter().copied())
        .max()
        .unwrap_or(0)
        .max(1);
    let x = |i: usize| {
        if n <= 1 {
            PAD_L + (CHART_W - PAD_L - PAD_R) / 2.0
        } else {
            PAD_L + i as f64 * (CHART_W - PAD_L - PAD_R) / (n - 1) as f64
        }
    };
    let y = |v: u64| PAD_T + (1.0 - v as f64 / max as f64) * (CHART_H - PAD_T - PAD_B);
    let series = volume
        .iter()
        .enumerate()
        .map(|(i, v)| Series {
            name: v.rule.clone(),
            colour: PALETTE[i % PALETTE.len()],
            points: v
                .cases
                .iter()
                .enumerate()
                .map(|(d, c)| format!("{:.1},{:.1}", x(d), y(*c)))
                .collect::<Vec<_>>()
                .join(" "),
            total: v.total_cases(),
        })
        .collect();
    let mut ticks = Vec::new();
    for i in [0, n / 2, n.saturating_sub(1)] {
        if let Some(d) = days.get(i)
            && !ticks.iter().any(|(tx, _)| *tx == x(i))
        {
            ticks.push((x(i), d.format("%m-%d").to_string()));
        }
    }
    let title = p.t("reports.trend_title").to_string();
    TrendChart {
        aria: p.tf(
            "reports.trend_aria",
            &[
                ("from", &ctx.req.period.from.to_string()),
                ("to", &ctx.req.period.to.to_string()),
                ("max", &max.to_string()),
            ],
        ),
        title,
        max,
        series,
        ticks,
    }
}

fn fp_chart(ctx: &Ctx<'_>, o: &Outcomes) -> BarChart {
    let p = ctx.page;
    let full = 300.0;
    let bars: Vec<Bar> = o
        .rules
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let rate = r.fp_rate().unwrap_or(0) as f64 / 1000.0;
            let confirmed = r.fp_confirmed_rate().unwrap_or(0) as f64 / 1000.0;
            Bar {
                label: r.rule.clone(),
                y: 8.0 + i as f64 * 28.0,
                width: rate * full,
                confirmed: confirmed * full,
                value: format!(
                    "{} ({} {})",
                    ctx.pct(r.fp_rate()),
                    ctx.pct(r.fp_confirmed_rate()),
                    p.t("reports.confirmed_short")
                ),
            }
        })
        .collect();
    BarChart {
        aria: p.t("reports.fp_chart_aria").to_string(),
        title: p.t("reports.fp_chart_title").to_string(),
        height: 16.0 + bars.len() as f64 * 28.0,
        bars,
    }
}

fn stack_chart(ctx: &Ctx<'_>, l: &Line) -> StackChart {
    let p = ctx.page;
    let total = l.breach_total().max(1) as f64;
    let labels = [
        p.t("reports.held_unassigned"),
        p.t("reports.held_agent"),
        p.t("reports.held_customer"),
    ];
    let shares = l.breach_shares();
    let mut x = 0.0;
    let mut segments = Vec::new();
    for (i, secs) in l.breach_secs.iter().enumerate() {
        let width = (*secs).max(0) as f64 / total * 600.0;
        segments.push(Segment {
            x,
            width,
            colour: HOLDERS[i],
            label: format!("{}: {}", labels[i], ctx.pct(shares[i])),
        });
        x += width;
    }
    StackChart {
        aria: p.tf(
            "reports.stack_aria",
            &[
                ("unassigned", &ctx.pct(shares[0])),
                ("agent", &ctx.pct(shares[1])),
                ("customer", &ctx.pct(shares[2])),
            ],
        ),
        title: p.t("reports.breach_time").to_string(),
        segments,
    }
}

// ----- pages -----

fn picker(page: &Page, req: &Request, names: &Names, action: &str, filters: bool) -> Picker {
    let labels = [
        page.t("reports.period_today"),
        page.t("reports.period_7d"),
        page.t("reports.period_30d"),
        page.t("reports.period_range"),
    ];
    let mut queues: Vec<String> = names.snap.queues_by_name.keys().cloned().collect();
    queues.sort();
    let mut rules: Vec<String> = names.snap.rules.keys().cloned().collect();
    rules.sort();
    Picker {
        action: action.to_string(),
        options: Kind::ALL
            .iter()
            .zip(labels)
            .map(|(k, label)| PeriodOption {
                value: k.as_str(),
                label,
                selected: *k == req.period.kind,
            })
            .collect(),
        from: req.period.from.to_string(),
        to: req.period.to.to_string(),
        filters,
        queues,
        queue: req.queue_name.clone().unwrap_or_default(),
        rules,
        rule: req.filter.rule.clone().unwrap_or_default(),
        priorities: PRIORITIES,
        priority: req.filter.priority.clone().unwrap_or_default(),
        range: page.tf(
            "reports.range_text",
            &[
                ("from", &req.period.from.to_string()),
                ("to", &req.period.to.to_string()),
                ("tz", req.period.tz.name()),
            ],
        ),
    }
}

fn tabs(req: &Request, current: &str) -> Vec<Tab> {
    let q = serde_urlencoded::to_string(req.period.query_pairs()).unwrap_or_default();
    vec![
        Tab {
            label: "reports.compliance",
            href: format!("/reports?{q}"),
            current: current == "compliance",
        },
        Tab {
            label: "reports.outcomes",
            href: format!("/reports/outcomes?{q}"),
            current: current == "outcomes",
        },
    ]
}

fn compliance_stats(ctx: &Ctx<'_>, c: &Compliance) -> Vec<Stat> {
    let p = ctx.page;
    let all = &c.overall;
    vec![
        Stat {
            label: p.t("reports.cases_resolved").to_string(),
            value: all.cases.to_string(),
            href: ctx.href(&Key::All, Measure::Resolved),
        },
        Stat {
            label: p.t("reports.fr_met_share").to_string(),
            value: ctx.pct(all.fr_rate()),
            href: ctx.href(&Key::All, Measure::FrMissed),
        },
        Stat {
            label: p.t("reports.res_met_share").to_string(),
            value: ctx.pct(all.res_rate()),
            href: ctx.href(&Key::All, Measure::ResMissed),
        },
        Stat {
            label: p.t("reports.fr_median").to_string(),
            value: duration_text(all.fr_p50),
            href: None,
        },
        Stat {
            label: p.t("reports.res_median").to_string(),
            value: duration_text(all.res_p50),
            href: None,
        },
        Stat {
            label: p.t("reports.res_p90").to_string(),
            value: duration_text(all.res_p90),
            href: None,
        },
    ]
}

fn outcome_stats(ctx: &Ctx<'_>, o: &Outcomes) -> Vec<Stat> {
    let p = ctx.page;
    vec![
        Stat {
            label: p.t("reports.cases_resolved").to_string(),
            value: o.resolved.to_string(),
            href: ctx.href(&Key::All, Measure::Resolved),
        },
        Stat {
            label: p.t("disposition.confirmed_fraud").to_string(),
            value: o.confirmed_fraud.to_string(),
            href: ctx.href(&Key::All, Measure::ConfirmedFraud),
        },
        Stat {
            label: p.t("reports.reopen_rate").to_string(),
            value: ctx.pct(o.reopen_rate()),
            href: ctx.href(&Key::All, Measure::Reopened),
        },
        Stat {
            label: p.t("reports.response_rate").to_string(),
            value: ctx.pct(o.satisfaction.response_rate()),
            href: ctx.href(&Key::All, Measure::Surveyed),
        },
        Stat {
            label: p.t("reports.average_score").to_string(),
            value: score_text(o.satisfaction.average_centi()),
            href: ctx.href(&Key::All, Measure::Answered),
        },
        Stat {
            label: p.t("reports.reach_rate").to_string(),
            value: ctx.pct(per_mille(o.reach.reached, o.reach.attempted)),
            href: ctx.href(&Key::All, Measure::Reached),
        },
    ]
}

/// What a report reads: the request, names, and the period's facts.
struct Loaded {
    req: Request,
    names: Names,
    resolved: Vec<figures::PeriodFact>,
    opened: Vec<figures::DayCount>,
}

/// Reads what a report needs; `Err(BadParam)` inside when the query is wrong.
async fn load(
    state: &web::Data<AppState>,
    page: &Page,
    q: ReportQuery,
    agent: Option<i64>,
    reads: facts::Reads,
) -> Result<Result<Loaded, BadParam>, AppError> {
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
        let resolved = facts::resolved_in(conn, Some(&st.pool), &req.period, &req.filter, reads)?;
        let opened = if reads.volume {
            facts::opened_by_day(conn, &req.period, &req.filter)?
        } else {
            Vec::new()
        };
        Ok(Ok(Loaded {
            req,
            names,
            resolved,
            opened,
        }))
    })
    .await
}

fn supervisor(user: &CurrentUser) -> Result<(), AppError> {
    user.require(&[Role::Supervisor, Role::Admin])
}

/// `GET /reports`: SLA compliance of the cases resolved in the period.
pub async fn compliance(
    state: web::Data<AppState>,
    page: Page,
    user: CurrentUser,
    q: web::Query<ReportQuery>,
) -> Result<HttpResponse, AppError> {
    supervisor(&user)?;
    let l = match load(
        &state,
        &page,
        q.into_inner(),
        None,
        facts::Reads {
            sla: true,
            ..Default::default()
        },
    )
    .await?
    {
        Ok(l) => l,
        Err(bad) => return bad_request(&page, &bad),
    };
    let ctx = Ctx {
        page: &page,
        req: &l.req,
        names: &l.names,
        links: true,
    };
    let c = figures::compliance(&l.resolved);
    let tpl = ReportPage {
        title: page.t("reports.compliance").to_string(),
        tabs: tabs(&l.req, "compliance"),
        picker: picker(&page, &l.req, &l.names, "/reports", true),
        stats: compliance_stats(&ctx, &c),
        gauges: c.by_queue.iter().map(|line| gauge(&ctx, line)).collect(),
        trend: None,
        bars: None,
        stack: Some(stack_chart(&ctx, &c.overall)),
        tables: compliance_tables(&ctx, &c),
        page: page.clone(),
    };
    page.render(&tpl)
}

fn compliance_tables(ctx: &Ctx<'_>, c: &Compliance) -> Vec<Table> {
    vec![
        compliance_table(ctx, "compliance_queue", &c.by_queue),
        breach_table(ctx, c),
        compliance_table(ctx, "compliance_agent", &c.by_agent),
        compliance_table(ctx, "compliance_rule", &c.by_rule),
        compliance_table(ctx, "compliance_priority", &c.by_priority),
    ]
}

fn outcome_tables(ctx: &Ctx<'_>, o: &Outcomes, volume: &[RuleVolume]) -> Vec<Table> {
    vec![
        volume_table(ctx, volume),
        rules_table(ctx, o),
        money_table(ctx, o),
        reach_table(ctx, o),
        satisfaction_table(ctx, "satisfaction_agent", &o.sat_by_agent),
        satisfaction_table(ctx, "satisfaction_queue", &o.sat_by_queue),
        satisfaction_table(ctx, "satisfaction_rule", &o.sat_by_rule),
    ]
}

/// `GET /reports/outcomes`: volume, false positives, fraud and money, reach,
/// satisfaction and reopenings.
pub async fn outcomes(
    state: web::Data<AppState>,
    page: Page,
    user: CurrentUser,
    q: web::Query<ReportQuery>,
) -> Result<HttpResponse, AppError> {
    supervisor(&user)?;
    let l = match load(
        &state,
        &page,
        q.into_inner(),
        None,
        facts::Reads {
            outcomes: true,
            volume: true,
            ..Default::default()
        },
    )
    .await?
    {
        Ok(l) => l,
        Err(bad) => return bad_request(&page, &bad),
    };
    let ctx = Ctx {
        page: &page,
        req: &l.req,
        names: &l.names,
        links: true,
    };
    let o = figures::outcomes(&l.resolved);
    let volume = figures::volume(&l.req.period, &l.opened);
    let tpl = ReportPage {
        title: page.t("reports.outcomes").to_string(),
        tabs: tabs(&l.req, "outcomes"),
        picker: picker(&page, &l.req, &l.names, "/reports/outcomes", true),
        stats: outcome_stats(&ctx, &o),
        gauges: Vec::new(),
        trend: Some(trend_chart(&ctx, &volume)),
        bars: Some(fp_chart(&ctx, &o)),
        stack: None,
        tables: outcome_tables(&ctx, &o, &volume),
        page: page.clone(),
    };
    page.render(&tpl)
}

/// `GET /reports/agents/{id}`: one agent's figures, for supervisors and for that
/// agent (any other agent: 404).
pub async fn agent(
    state: web::Data<AppState>,
    page: Page,
    user: CurrentUser,
    id: web::Path<i64>,
    q: web::Query<ReportQuery>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let boss = user.role.is_supervisor_or_admin();
    if !boss && user.user.id != id {
        return Err(AppError::NotFound);
    }
    let l = match load(
        &state,
        &page,
        q.into_inner(),
        Some(id),
        facts::Reads {
            sla: true,
            outcomes: true,
            ..Default::default()
        },
    )
    .await?
    {
        Ok(l) => l,
        Err(bad) => return bad_request(&page, &bad),
    };
    let name = l.names.agents.get(&id).cloned().ok_or(AppError::NotFound)?;
    let ctx = Ctx {
        page: &page,
        req: &l.req,
        names: &l.names,
        links: boss,
    };
    let c = figures::compliance(&l.resolved);
    let o = figures::outcomes(&l.resolved);
    let mut stats = compliance_stats(&ctx, &c);
    stats.extend(outcome_stats(&ctx, &o).into_iter().skip(1));
    let mut tables = vec![
        compliance_table(&ctx, "compliance_priority", &c.by_priority),
        compliance_table(&ctx, "compliance_rule", &c.by_rule),
        rules_table(&ctx, &o),
        satisfaction_table(&ctx, "satisfaction_rule", &o.sat_by_rule),
    ];
    if !boss {
        for t in &mut tables {
            t.export_href.clear();
        }
    }
    let mut pk = picker(
        &page,
        &l.req,
        &l.names,
        &format!("/reports/agents/{id}"),
        false,
    );
    pk.queue.clear();
    let tpl = ReportPage {
        title: page.tf("reports.agent_title", &[("name", &name)]),
        tabs: if boss { tabs(&l.req, "") } else { Vec::new() },
        picker: pk,
        stats,
        gauges: vec![gauge(&ctx, &c.overall)],
        trend: None,
        bars: None,
        stack: Some(stack_chart(&ctx, &c.overall)),
        tables,
        page: page.clone(),
    };
    page.render(&tpl)
}

/// One case of a drill-down list, personal data masked.
pub struct CaseView {
    pub reference: String,
    pub rule: String,
    pub queue: String,
    pub agent: String,
    pub priority: String,
    pub status: String,
    pub customer: String,
    pub opened: String,
    pub resolved: String,
    pub fr: String,
    pub res: String,
    pub fr_met: String,
    pub res_met: String,
    pub disposition: String,
    pub amount: String,
    pub reopened: String,
    pub score: String,
}

fn case_view(page: &Page, names: &Names, r: &facts::CaseRow) -> CaseView {
    let met = |m: Option<bool>| {
        match m {
            Some(true) => page.t("reports.yes"),
            Some(false) => page.t("reports.no"),
            None => "–",
        }
        .to_string()
    };
    CaseView {
        reference: case_ref(r.case_id),
        rule: r.rule_code.clone(),
        queue: names.queue(r.queue_id),
        agent: r
            .agent_id
            .and_then(|a| names.agents.get(&a).cloned())
            .unwrap_or_default(),
        priority: page.priority(&r.priority).to_string(),
        status: page.status(&r.status).to_string(),
        customer: [
            r.customer_name.as_deref().map(masking::name),
            r.customer_phone.as_deref().map(masking::phone),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" · "),
        opened: page.time(&r.opened_at),
        resolved: page.opt_time(&r.resolved_at),
        fr: duration_text(r.first_response_secs),
        res: duration_text(r.resolution_secs),
        fr_met: met(r.first_response_met),
        res_met: met(r.resolution_met),
        disposition: r
            .disposition
            .as_deref()
            .map(|d| page.code_label("disposition", d).to_string())
            .unwrap_or_default(),
        amount: match (&r.amount_protected, &r.currency) {
            (Some(a), Some(c)) => format!("{a} {c}"),
            (Some(a), None) => a.clone(),
            _ => String::new(),
        },
        reopened: r.reopen_count.to_string(),
        score: r.survey_score.map(|s| s.to_string()).unwrap_or_default(),
    }
}

fn case_headers(page: &Page) -> Vec<String> {
    [
        "reports.case",
        "reports.rule",
        "reports.queue",
        "reports.agent",
        "reports.priority",
        "reports.status",
        "reports.customer",
        "reports.opened",
        "reports.resolved",
        "reports.fr_time",
        "reports.res_time",
        "reports.fr_met",
        "reports.res_met",
        "reports.disposition",
        "reports.amount_protected",
        "reports.reopened",
        "reports.score",
    ]
    .iter()
    .map(|k| page.t(k).to_string())
    .collect()
}

fn case_record(v: CaseView) -> [String; 17] {
    [
        v.reference,
        v.rule,
        v.queue,
        v.agent,
        v.priority,
        v.status,
        v.customer,
        v.opened,
        v.resolved,
        v.fr,
        v.res,
        v.fr_met,
        v.res_met,
        v.disposition,
        v.amount,
        v.reopened,
        v.score,
    ]
}

#[derive(Template)]
#[template(path = "reports/cases.html")]
struct CasesPage {
    page: Page,
    heading: String,
    back_href: String,
    headers: Vec<String>,
    rows: Vec<CaseView>,
    next_href: Option<String>,
    first_href: Option<String>,
    export_href: String,
}

fn measure_label(page: &Page, m: Measure) -> &'static str {
    match m {
        Measure::Resolved => page.t("reports.m.resolved"),
        Measure::Opened => page.t("reports.m.opened"),
        Measure::FrMet => page.t("reports.m.fr_met"),
        Measure::FrMissed => page.t("reports.m.fr_missed"),
        Measure::ResMet => page.t("reports.m.res_met"),
        Measure::ResMissed => page.t("reports.m.res_missed"),
        Measure::Breached => page.t("reports.m.breached"),
        Measure::FalsePositive => page.t("reports.m.false_positive"),
        Measure::CustomerConfirmed => page.t("reports.m.customer_confirmed"),
        Measure::ConfirmedFraud => page.t("reports.m.confirmed_fraud"),
        Measure::Reopened => page.t("reports.m.reopened"),
        Measure::Surveyed => page.t("reports.m.surveyed"),
        Measure::Answered => page.t("reports.m.answered"),
        Measure::Reached => page.t("reports.m.reached"),
    }
}

fn case_query(req: &Request) -> CaseQuery {
    CaseQuery {
        period: req.period.clone(),
        filter: req.filter.clone(),
        measure: req.measure,
        day: req.day,
    }
}

fn list_pairs(req: &Request) -> Vec<(&'static str, String)> {
    let mut pairs = req.pairs();
    pairs.push(("measure", req.measure.as_str().to_string()));
    if let Some(d) = req.day {
        pairs.push(("day", d.to_string()));
    }
    pairs
}

/// `GET /reports/cases`: the cases behind a figure, newest first, keyset pages.
pub async fn cases(
    state: web::Data<AppState>,
    page: Page,
    user: CurrentUser,
    q: web::Query<ReportQuery>,
) -> Result<HttpResponse, AppError> {
    supervisor(&user)?;
    let (st, tz, now) = (state.clone(), page.tz, state.now());
    let q = q.into_inner();
    let loaded = db(&state, move |conn| {
        let names = load_names(conn, &st)?;
        let req = match parse(&q, &names.snap, &names.agents, tz, now) {
            Ok(r) => r,
            Err(bad) => return Ok(Err(bad)),
        };
        let (rows, next) = facts::cases_page(conn, &case_query(&req), req.cursor, req.limit)?;
        Ok(Ok((req, names, rows, next)))
    })
    .await?;
    let (req, names, rows, next) = match loaded {
        Ok(l) => l,
        Err(bad) => return bad_request(&page, &bad),
    };
    let pairs = list_pairs(&req);
    let with = |extra: Option<(&'static str, String)>| {
        let mut p = pairs.clone();
        if req.limit != PAGE_SIZE {
            p.push(("limit", req.limit.to_string()));
        }
        p.extend(extra);
        serde_urlencoded::to_string(&p).unwrap_or_default()
    };
    let mut scope: Vec<String> = Vec::new();
    if let Some(qn) = &req.queue_name {
        scope.push(qn.clone());
    }
    if let Some(a) = req.filter.agent_id {
        scope.push(names.agents.get(&a).cloned().unwrap_or_default());
    }
    if let Some(r) = &req.filter.rule {
        scope.push(r.clone());
    }
    if let Some(p) = &req.filter.priority {
        scope.push(page.priority(p).to_string());
    }
    if let Some(d) = req.day {
        scope.push(d.to_string());
    }
    let heading = page.tf(
        "reports.cases_heading",
        &[
            ("measure", measure_label(&page, req.measure)),
            ("from", &req.period.from.to_string()),
            ("to", &req.period.to.to_string()),
            ("scope", &scope.join(" · ")),
        ],
    );
    let back = if matches!(
        req.measure,
        Measure::Opened
            | Measure::FalsePositive
            | Measure::CustomerConfirmed
            | Measure::ConfirmedFraud
            | Measure::Reopened
            | Measure::Surveyed
            | Measure::Answered
            | Measure::Reached
    ) {
        "/reports/outcomes"
    } else {
        "/reports"
    };
    let tpl = CasesPage {
        heading,
        back_href: format!("{back}?{}", req.query()),
        headers: case_headers(&page),
        rows: rows.iter().map(|r| case_view(&page, &names, r)).collect(),
        next_href: next.map(|c| format!("/reports/cases?{}", with(Some(("cursor", c.encode()))))),
        first_href: req.cursor.map(|_| format!("/reports/cases?{}", with(None))),
        export_href: format!(
            "/reports/export/cases.csv?{}",
            serde_urlencoded::to_string(&pairs).unwrap_or_default()
        ),
        page: page.clone(),
    };
    page.render(&tpl)
}

/// The tables that can be exported.
pub const EXPORTS: [&str; 13] = [
    "compliance_queue",
    "compliance_agent",
    "compliance_rule",
    "compliance_priority",
    "breach_time",
    "volume",
    "false_positives",
    "money",
    "reach",
    "satisfaction_agent",
    "satisfaction_queue",
    "satisfaction_rule",
    "cases",
];

/// Why a streamed export stopped.
#[derive(Debug, thiserror::Error)]
enum ExportError {
    #[error(transparent)]
    Gone(#[from] csv::Gone),
    #[error("database error: {0}")]
    Db(#[from] diesel::result::Error),
    #[error("database pool error: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
}

/// `GET /reports/export/{table}.csv`: one report table as CSV (UTF-8 with a BOM),
/// streamed; `cases` is the drill-down list with the same parameters.
pub async fn export(
    state: web::Data<AppState>,
    page: Page,
    user: CurrentUser,
    file: web::Path<String>,
    q: web::Query<ReportQuery>,
) -> Result<HttpResponse, AppError> {
    supervisor(&user)?;
    let file = file.into_inner();
    let table = file
        .strip_suffix(".csv")
        .and_then(|t| EXPORTS.iter().find(|e| **e == t).copied())
        .ok_or(AppError::NotFound)?;
    let q = q.into_inner();
    let reads = match table {
        "cases" => facts::Reads::default(),
        "volume" => facts::Reads {
            volume: true,
            ..Default::default()
        },
        "compliance_queue"
        | "compliance_agent"
        | "compliance_rule"
        | "compliance_priority"
        | "breach_time" => facts::Reads {
            sla: true,
            ..Default::default()
        },
        _ => facts::Reads {
            outcomes: true,
            ..Default::default()
        },
    };
    let l = match load(&state, &page, q, None, reads).await? {
        Ok(l) => l,
        Err(bad) => return bad_request(&page, &bad),
    };
    let filename = format!("{table}-{}-{}.csv", l.req.period.from, l.req.period.to);
    if table == "cases" {
        let pool = state.pool.clone();
        let headers = case_headers(&page);
        let Loaded { req, names, .. } = l;
        let query = case_query(&req);
        return Ok(csv::stream(
            &filename,
            move |w| -> Result<(), ExportError> {
                w.record(&headers)?;
                let mut conn = pool.get()?;
                let mut cursor = None;
                loop {
                    let (rows, next) = facts::cases_page(&mut conn, &query, cursor, EXPORT_BATCH)?;
                    for r in &rows {
                        w.record(&case_record(case_view(&page, &names, r)))?;
                    }
                    match next {
                        Some(c) => cursor = Some(c),
                        None => return Ok(()),
                    }
                }
            },
        ));
    }
    let ctx = Ctx {
        page: &page,
        req: &l.req,
        names: &l.names,
        links: false,
    };
    let t = match table {
        "compliance_queue" | "compliance_agent" | "compliance_rule" | "compliance_priority" => {
            let c = figures::compliance(&l.resolved);
            let lines = match table {
                "compliance_queue" => &c.by_queue,
                "compliance_agent" => &c.by_agent,
                "compliance_rule" => &c.by_rule,
                _ => &c.by_priority,
            };
            compliance_table(&ctx, table, lines)
        }
        "breach_time" => breach_table(&ctx, &figures::compliance(&l.resolved)),
        "volume" => volume_table(&ctx, &figures::volume(&l.req.period, &l.opened)),
        _ => {
            let o = figures::outcomes(&l.resolved);
            match table {
                "false_positives" => rules_table(&ctx, &o),
                "money" => money_table(&ctx, &o),
                "reach" => reach_table(&ctx, &o),
                "satisfaction_agent" => satisfaction_table(&ctx, table, &o.sat_by_agent),
                "satisfaction_queue" => satisfaction_table(&ctx, table, &o.sat_by_queue),
                _ => satisfaction_table(&ctx, "satisfaction_rule", &o.sat_by_rule),
            }
        }
    };
    let records: Vec<Vec<String>> = t.records().collect();
    Ok(csv::stream(
        &filename,
        move |w| -> Result<(), ExportError> {
            for r in &records {
                w.record(r)?;
            }
            Ok(())
        },
    ))
}
