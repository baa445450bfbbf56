// The supervisor's period reports: SLA compliance (`/reports`), outcomes
// (`/reports/outcomes`), one agent's figures (`/reports/agents/{id}`), one rule's
// quality (`/reports/rules/{code}`), the cases behind any figure (`/reports/cases`)
// and every table as CSV (`/reports/export`).
// The handlers are here; the query side, the tables, the charts and the export
// each have a file of their own.

mod charts;
mod export;
mod query;
mod tables;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use super::{CurrentUser, Page, Supervisor};
use crate::error::AppError;
use crate::i18n::tkey;
use crate::reports::figures;
use crate::reports::period::BadParam;
use crate::reports::store as facts;
use crate::state::AppState;
use charts::{
    BarChart, Gauge, StackChart, TrendChart, WeeklyChart, fp_chart, gauge, stack_chart,
    trend_chart, weekly_chart,
};
use query::{Loaded, RuleLoaded, RuleQuery, load, load_cases, load_rule};
use tables::{
    CaseView, Ctx, Picker, Stat, Tab, Table, amount_notes, case_headers, case_view,
    compliance_stats, compliance_table, compliance_tables, outcome_stats, outcome_tables, picker,
    rule_bands_table, rule_stats, rule_weeks_table, rules_table, satisfaction_table, tabs,
    urlencoding_path,
};

pub use export::EXPORTS;
pub use query::{PAGE_SIZE, ReportQuery};

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

impl ReportPage {
    /// A report page's frame (title, tabs, picker) with nothing in it yet.
    fn frame(page: &Page, title: String, tabs: Vec<Tab>, picker: Picker) -> ReportPage {
        ReportPage {
            page: page.clone(),
            title,
            tabs,
            picker,
            stats: Vec::new(),
            gauges: Vec::new(),
            trend: None,
            bars: None,
            stack: None,
            tables: Vec::new(),
        }
    }
}

/// What the tables and charts of the loaded period are built with.
fn ctx<'a>(page: &'a Page, l: &'a Loaded, links: bool) -> Ctx<'a> {
    Ctx {
        page,
        req: &l.req,
        names: &l.names,
        links,
    }
}

/// A supervisors' report page (`tab`, served at `action`): reads `reads` for the
/// query and lets `fill` put the figures in the page's frame.
async fn report(
    _: Supervisor,
    state: web::Data<AppState>,
    page: Page,
    q: web::Query<ReportQuery>,
    reads: facts::Reads,
    (tab, action): (&'static str, &str),
    fill: impl FnOnce(&Ctx<'_>, &Loaded, ReportPage) -> ReportPage,
) -> Result<HttpResponse, AppError> {
    let l = match load(&state, &page, q.into_inner(), None, reads).await? {
        Ok(l) => l,
        Err(bad) => return bad_request(&page, &bad),
    };
    let frame = ReportPage::frame(
        &page,
        page.t(tab).to_string(),
        tabs(&l.req, tab),
        picker(&page, &l.req, &l.names, action, true),
    );
    page.render(&fill(&ctx(&page, &l, true), &l, frame))
}

/// `GET /reports`: SLA compliance of the cases resolved in the period.
pub async fn compliance(
    sup: Supervisor,
    state: web::Data<AppState>,
    page: Page,
    q: web::Query<ReportQuery>,
) -> Result<HttpResponse, AppError> {
    let reads = facts::Reads {
        sla: true,
        ..Default::default()
    };
    let tab = (tkey("reports.compliance"), "/reports");
    report(sup, state, page, q, reads, tab, |ctx, l, frame| {
        let c = figures::compliance(&l.resolved);
        ReportPage {
            stats: compliance_stats(ctx, &c),
            gauges: c.by_queue.iter().map(|line| gauge(ctx, line)).collect(),
            stack: Some(stack_chart(ctx, &c.overall)),
            tables: compliance_tables(ctx, &c),
            ..frame
        }
    })
    .await
}

/// `GET /reports/outcomes`: volume, false positives, fraud and money, reach,
/// satisfaction and reopenings.
pub async fn outcomes(
    sup: Supervisor,
    state: web::Data<AppState>,
    page: Page,
    q: web::Query<ReportQuery>,
) -> Result<HttpResponse, AppError> {
    let reads = facts::Reads {
        outcomes: true,
        volume: true,
        ..Default::default()
    };
    let tab = (tkey("reports.outcomes"), "/reports/outcomes");
    report(sup, state, page, q, reads, tab, |ctx, l, frame| {
        let o = l.outcomes();
        let volume = figures::volume(&l.req.period, &l.opened);
        ReportPage {
            stats: outcome_stats(ctx, &o),
            trend: Some(trend_chart(ctx, &volume)),
            bars: Some(fp_chart(ctx, &o)),
            tables: outcome_tables(ctx, &o, &volume),
            ..frame
        }
    })
    .await
}

/// `GET /reports/agents/{id}`: one agent's figures, for supervisors and for that
/// agent (any other agent: 404).
pub async fn agent(
    user: CurrentUser,
    state: web::Data<AppState>,
    page: Page,
    id: web::Path<i64>,
    q: web::Query<ReportQuery>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let boss = user.role.is_supervisor_or_admin();
    if !boss && user.user.id != id {
        return Err(AppError::NotFound);
    }
    let reads = facts::Reads {
        sla: true,
        outcomes: true,
        ..Default::default()
    };
    let l = match load(&state, &page, q.into_inner(), Some(id), reads).await? {
        Ok(l) => l,
        Err(bad) => return bad_request(&page, &bad),
    };
    let name = l.names.agents.get(&id).cloned().ok_or(AppError::NotFound)?;
    let ctx = ctx(&page, &l, boss);
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
        stats,
        gauges: vec![gauge(&ctx, &c.overall)],
        stack: Some(stack_chart(&ctx, &c.overall)),
        tables,
        ..ReportPage::frame(
            &page,
            page.tf("reports.agent_title", &[("name", &name)]),
            if boss { tabs(&l.req, "") } else { Vec::new() },
            pk,
        )
    };
    page.render(&tpl)
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

/// `GET /reports/cases`: the cases behind a figure, newest first, keyset pages.
pub async fn cases(
    _: Supervisor,
    state: web::Data<AppState>,
    page: Page,
    q: web::Query<ReportQuery>,
) -> Result<HttpResponse, AppError> {
    let list = match load_cases(&state, &page, q.into_inner()).await? {
        Ok(l) => l,
        Err(bad) => return bad_request(&page, &bad),
    };
    let (req, names) = (&list.req, &list.names);
    let links = tables::ListLinks::of(req);
    let tpl = CasesPage {
        heading: tables::list_heading(&page, req, names),
        headers: case_headers(&page),
        rows: list
            .rows
            .iter()
            .map(|r| case_view(&page, names, r))
            .collect(),
        next_href: list.next.map(|c| links.page(Some(c))),
        first_href: req.cursor.map(|_| links.page(None)),
        back_href: links.back,
        export_href: links.export,
        page: page.clone(),
    };
    page.render(&tpl)
}

#[derive(Template)]
#[template(path = "reports/rule.html")]
struct RulePage {
    page: Page,
    title: String,
    tabs: Vec<Tab>,
    picker: Picker,
    weeks_note: String,
    stats: Vec<Stat>,
    chart: WeeklyChart,
    week_tables: Vec<Table>,
    /// The amounts side, for a rule whose alerts carry amounts.
    band_tables: Vec<Table>,
    currencies: Vec<String>,
    currency: String,
    threshold: String,
    what_if: Option<String>,
    notes: Vec<String>,
    /// The period's query pairs, kept by the what-if form.
    period_pairs: Vec<(&'static str, String)>,
}

/// What the rule quality page and its exports are built with.
fn rule_ctx<'a>(page: &'a Page, l: &'a RuleLoaded) -> Ctx<'a> {
    Ctx {
        page,
        req: &l.req,
        names: &l.names,
        links: true,
    }
}

/// `GET /reports/rules/{code}`: one rule's alerts, outcomes and false-positive rate
/// by week, suppressed alerts, handling time, outcomes by amount band and the
/// what-if of a threshold (unknown rule: 404).
pub async fn rule(
    _: Supervisor,
    state: web::Data<AppState>,
    page: Page,
    code: web::Path<String>,
    q: web::Query<ReportQuery>,
    rq: web::Query<RuleQuery>,
) -> Result<HttpResponse, AppError> {
    let (code, threshold) = (code.into_inner(), rq.threshold.clone().unwrap_or_default());
    let l = match load_rule(&state, &page, q.into_inner(), code, rq.into_inner(), |_| {
        Ok(())
    })
    .await?
    {
        Ok(l) => l,
        Err(bad) => return bad_request(&page, &bad),
    };
    let ctx = rule_ctx(&page, &l);
    let quality = &l.quality;
    let (what_if, notes) = quality
        .amounts
        .as_ref()
        .map_or((None, Vec::new()), |a| amount_notes(&page, a));
    let action = format!("/reports/rules/{}", urlencoding_path(&l.code));
    let tpl = RulePage {
        title: page.tf("reports.quality.title", &[("rule", &l.code)]),
        tabs: tabs(&l.req, ""),
        picker: picker(&page, &l.req, &l.names, &action, false),
        weeks_note: page.tf(
            "reports.quality.weeks_note",
            &[("tz", state.settings.desk_timezone.name())],
        ),
        stats: rule_stats(&ctx, quality),
        chart: weekly_chart(&ctx, &quality.weeks),
        week_tables: vec![rule_weeks_table(&ctx, &quality.weeks)],
        band_tables: quality
            .amounts
            .iter()
            .map(|a| rule_bands_table(&ctx, a))
            .collect(),
        currencies: quality
            .amounts
            .iter()
            .flat_map(|a| a.currencies.iter().map(|(c, _)| c.clone()))
            .collect(),
        currency: quality
            .amounts
            .as_ref()
            .map(|a| a.currency.clone())
            .unwrap_or_default(),
        threshold,
        what_if,
        notes,
        period_pairs: l.req.period.query_pairs(),
        page: page.clone(),
    };
    page.render(&tpl)
}

/// `GET /reports/export/{table}.csv`: one report table as CSV (UTF-8 with a BOM),
/// streamed; `cases` is the drill-down list with the same parameters.
pub async fn export(
    who: Supervisor,
    state: web::Data<AppState>,
    page: Page,
    req: actix_web::HttpRequest,
    file: web::Path<String>,
    q: web::Query<ReportQuery>,
    rq: web::Query<RuleQuery>,
) -> Result<HttpResponse, AppError> {
    let table = export::table_of(&file.into_inner()).ok_or(AppError::NotFound)?;
    // Every export is on the audit trail: what was taken, with which parameters.
    let (now, actor, query) = (state.now(), who.actor(), req.query_string().to_string());
    super::db(&state, move |conn| {
        Ok(crate::accounts::record(
            conn,
            now,
            &actor,
            "report.exported",
            Some(table),
            serde_json::json!({"table": table, "query": query}),
        )?)
    })
    .await?;
    if export::is_rule_table(table) {
        return rule_export(state, page, table, q.into_inner(), rq.into_inner()).await;
    }
    let l = match load(&state, &page, q.into_inner(), None, export::reads(table)).await? {
        Ok(l) => l,
        Err(bad) => return bad_request(&page, &bad),
    };
    let filename = export::filename(table, &l.req.period);
    if table == "cases" {
        return Ok(export::cases_csv(&filename, state.pool.clone(), page, l));
    }
    let t = export::table(&ctx(&page, &l, false), table, &l);
    Ok(export::table_csv(&filename, &t))
}

/// A rule quality table as CSV: the rule is the `rule` parameter (missing or
/// unknown: 400 naming it).
async fn rule_export(
    state: web::Data<AppState>,
    page: Page,
    table: &'static str,
    q: ReportQuery,
    rq: RuleQuery,
) -> Result<HttpResponse, AppError> {
    let Some(code) = q.rule.clone().filter(|r| !r.trim().is_empty()) else {
        return bad_request(
            &page,
            &BadParam::new("rule", "", tkey("reports.why.rule_missing")),
        );
    };
    let unknown = |c: &str| Err(BadParam::new("rule", c, tkey("reports.why.rule")));
    let l = match load_rule(&state, &page, q, code.trim().to_string(), rq, unknown).await? {
        Ok(l) => l,
        Err(bad) => return bad_request(&page, &bad),
    };
    let filename = export::filename(table, &l.req.period);
    let t = export::rule_table(&rule_ctx(&page, &l), table, &l.quality);
    Ok(export::table_csv(&filename, &t))
}
