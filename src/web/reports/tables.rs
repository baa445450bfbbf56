// What the report pages show, as view models: headline figures, the tables (shown
// on a page and exported as CSV), the period picker, the tabs, and a case of a list.

use chrono::NaiveDate;

use super::super::Page;
use super::query::{Names, PAGE_SIZE, Request, list_pairs};
use crate::domain::masking;
use crate::i18n::tkey;
use crate::reports::figures::{
    Compliance, Key, Line, Outcomes, PRIORITIES, RuleVolume, Satisfaction, ServiceLevel,
};
use crate::reports::period::Kind;
use crate::reports::rules::{Amounts, Band, RuleQuality, Week};
use crate::reports::stats::{duration_text, per_mille, percent_text};
use crate::reports::store::{self as facts, Cursor, Measure};
use crate::store::cases::case_ref;

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

/// A headline figure.
pub struct Stat {
    pub label: String,
    pub value: String,
    pub href: Option<String>,
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

/// What the tables and charts are built with.
pub struct Ctx<'a> {
    pub page: &'a Page,
    pub req: &'a Request,
    pub names: &'a Names,
    /// Whether figures link to their cases (not for an agent's own page).
    pub links: bool,
}

impl Ctx<'_> {
    pub fn pct(&self, v: Option<u64>) -> String {
        match v {
            Some(_) => format!("{} %", percent_text(v)),
            None => percent_text(None),
        }
    }

    /// The drill-down link of `measure` for the cases of `key` (and the page's filters).
    pub fn href(&self, key: &Key, measure: Measure) -> Option<String> {
        self.href_day(key, measure, None)
    }

    pub fn href_day(&self, key: &Key, measure: Measure, day: Option<NaiveDate>) -> Option<String> {
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

    pub fn export_href(&self, table: &str) -> String {
        format!("/reports/export/{table}.csv?{}", self.req.query())
    }

    /// A headline figure, linking to the cases of `measure` when it has one.
    fn stat(&self, label: &str, value: String, measure: Option<Measure>) -> Stat {
        Stat {
            label: label.to_string(),
            value,
            href: measure.and_then(|m| self.href(&Key::All, m)),
        }
    }

    /// The table `name`, with the link to its CSV.
    fn table(
        &self,
        name: &'static str,
        caption: &str,
        headers: Vec<String>,
        rows: Vec<TableRow>,
    ) -> Table {
        Table {
            name,
            caption: caption.to_string(),
            headers,
            rows,
            export_href: self.export_href(name),
        }
    }

    pub fn label(&self, key: &Key) -> String {
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

    /// The quality page of a rule over the same period, for supervisors.
    pub fn rule_href(&self, code: &str) -> Option<String> {
        self.links.then(|| {
            format!(
                "/reports/rules/{}?{}",
                urlencoding_path(code),
                serde_urlencoded::to_string(self.req.period.query_pairs()).unwrap_or_default()
            )
        })
    }

    /// The agent page of a line's agent, for supervisors.
    pub fn label_href(&self, key: &Key) -> Option<String> {
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

/// Owned copies of texts of the catalog.
fn texts(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Yes, no, or a dash when there is nothing to tell.
fn yes_no(p: &Page, v: Option<bool>) -> String {
    match v {
        Some(true) => p.t("reports.yes"),
        Some(false) => p.t("reports.no"),
        None => "–",
    }
    .to_string()
}

/// Compliance by one dimension (`queue`, `agent`, `rule`, `priority`).
pub fn compliance_table(ctx: &Ctx<'_>, name: &'static str, lines: &[Line]) -> Table {
    let p = ctx.page;
    let (caption, dim) = match name {
        "compliance_queue" => (p.t("reports.by_queue"), p.t("reports.queue")),
        "compliance_agent" => (p.t("reports.by_agent"), p.t("reports.agent")),
        "compliance_rule" => (p.t("reports.by_rule"), p.t("reports.rule")),
        _ => (p.t("reports.by_priority"), p.t("reports.priority")),
    };
    let mut headers = texts(&[
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
    ]);
    if name == "compliance_queue" {
        headers.extend(texts(&[
            p.t("reports.service_level_target"),
            p.t("reports.service_level_met"),
        ]));
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
                let sl = ServiceLevel::of(l, ctx.names.service_level(*id));
                cells.push(cell(format!("{} %", sl.target), None));
                cells.push(cell(yes_no(p, sl.met()), None));
            }
            TableRow {
                label: ctx.label(k),
                href: ctx.label_href(k),
                cells,
            }
        })
        .collect();
    ctx.table(name, caption, headers, rows)
}

/// Where breached time went, in all and by queue.
pub fn breach_table(ctx: &Ctx<'_>, c: &Compliance) -> Table {
    let p = ctx.page;
    let headers = texts(&[
        p.t("reports.queue"),
        p.t("reports.breached_cases"),
        p.t("reports.held_unassigned"),
        p.t("reports.held_agent"),
        p.t("reports.held_customer"),
    ]);
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
    ctx.table("breach_time", p.t("reports.breach_time"), headers, rows)
}

pub fn volume_table(ctx: &Ctx<'_>, volume: &[RuleVolume]) -> Table {
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
    ctx.table("volume", p.t("reports.volume"), headers, rows)
}

pub fn rules_table(ctx: &Ctx<'_>, o: &Outcomes) -> Table {
    let p = ctx.page;
    let headers = texts(&[
        p.t("reports.rule"),
        p.t("reports.cases_resolved"),
        p.t("reports.false_positives"),
        p.t("reports.fp_confirmed"),
        p.t("reports.fp_rate"),
        p.t("reports.fp_confirmed_rate"),
        p.t("reports.unknown"),
        p.t("disposition.confirmed_fraud"),
        p.t("disposition.escalated_aml"),
        p.t("disposition.duplicate"),
    ]);
    let rows = o
        .rules
        .iter()
        .map(|r| {
            let k = Key::Rule(r.rule.clone());
            TableRow {
                label: r.rule.clone(),
                href: ctx.rule_href(&r.rule),
                cells: vec![
                    cell(r.resolved.to_string(), ctx.href(&k, Measure::Resolved)),
                    cell(
                        r.labels.false_positive.to_string(),
                        ctx.href(&k, Measure::FalsePositive),
                    ),
                    cell(
                        r.fp_confirmed.to_string(),
                        ctx.href(&k, Measure::CustomerConfirmed),
                    ),
                    cell(ctx.pct(r.fp_rate()), None),
                    cell(ctx.pct(r.fp_confirmed_rate()), None),
                    cell(r.labels.unknown.to_string(), ctx.href(&k, Measure::Unknown)),
                    cell(
                        r.confirmed_fraud.to_string(),
                        ctx.href(&k, Measure::ConfirmedFraud),
                    ),
                    cell(r.escalated_aml.to_string(), None),
                    cell(r.duplicate.to_string(), None),
                ],
            }
        })
        .collect();
    ctx.table(
        "false_positives",
        p.t("reports.by_rule_outcomes"),
        headers,
        rows,
    )
}

pub fn money_table(ctx: &Ctx<'_>, o: &Outcomes) -> Table {
    let p = ctx.page;
    let headers = texts(&[
        p.t("reports.currency"),
        p.t("reports.cases_with_amount"),
        p.t("reports.amount_protected"),
        p.t("reports.amount_on_fraud"),
    ]);
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
    ctx.table("money", p.t("reports.money"), headers, rows)
}

pub fn reach_table(ctx: &Ctx<'_>, o: &Outcomes) -> Table {
    let p = ctx.page;
    let r = &o.reach;
    let headers = texts(&[
        p.t("reports.channel"),
        p.t("reports.reached"),
        p.t("reports.attempted"),
        p.t("reports.reach_rate"),
    ]);
    let row = |label: &str, reached: u64, of: u64, href: Option<String>| TableRow {
        label: label.to_string(),
        href: None,
        cells: vec![
            cell(reached.to_string(), href),
            cell(of.to_string(), None),
            cell(ctx.pct(per_mille(reached, of)), None),
        ],
    };
    let rows = vec![
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
    ];
    ctx.table("reach", p.t("reports.reach"), headers, rows)
}

pub fn satisfaction_table(ctx: &Ctx<'_>, name: &'static str, lines: &[Satisfaction]) -> Table {
    let p = ctx.page;
    let (caption, dim) = match name {
        "satisfaction_agent" => (p.t("reports.sat_by_agent"), p.t("reports.agent")),
        "satisfaction_queue" => (p.t("reports.sat_by_queue"), p.t("reports.queue")),
        _ => (p.t("reports.sat_by_rule"), p.t("reports.rule")),
    };
    let headers = texts(&[
        dim,
        p.t("reports.surveys_sent"),
        p.t("reports.surveys_answered"),
        p.t("reports.response_rate"),
        p.t("reports.average_score"),
    ]);
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
    ctx.table(name, caption, headers, rows)
}

fn score_text(centi: Option<u64>) -> String {
    centi.map_or_else(
        || "–".to_string(),
        |c| format!("{}.{:02}", c / 100, c % 100),
    )
}

// ----- the frame of a page -----

pub fn picker(page: &Page, req: &Request, names: &Names, action: &str, filters: bool) -> Picker {
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

/// The tabs of the supervisors' reports; `current` is the label of the page's own.
pub fn tabs(req: &Request, current: &str) -> Vec<Tab> {
    let q = serde_urlencoded::to_string(req.period.query_pairs()).unwrap_or_default();
    [
        (tkey("reports.compliance"), "/reports"),
        (tkey("reports.outcomes"), "/reports/outcomes"),
    ]
    .into_iter()
    .map(|(label, path)| Tab {
        label,
        href: format!("{path}?{q}"),
        current: current == label,
    })
    .collect()
}

pub fn compliance_stats(ctx: &Ctx<'_>, c: &Compliance) -> Vec<Stat> {
    let p = ctx.page;
    let all = &c.overall;
    vec![
        ctx.stat(
            p.t("reports.cases_resolved"),
            all.cases.to_string(),
            Some(Measure::Resolved),
        ),
        ctx.stat(
            p.t("reports.fr_met_share"),
            ctx.pct(all.fr_rate()),
            Some(Measure::FrMissed),
        ),
        ctx.stat(
            p.t("reports.res_met_share"),
            ctx.pct(all.res_rate()),
            Some(Measure::ResMissed),
        ),
        ctx.stat(p.t("reports.fr_median"), duration_text(all.fr_p50), None),
        ctx.stat(p.t("reports.res_median"), duration_text(all.res_p50), None),
        ctx.stat(p.t("reports.res_p90"), duration_text(all.res_p90), None),
    ]
}

pub fn outcome_stats(ctx: &Ctx<'_>, o: &Outcomes) -> Vec<Stat> {
    let p = ctx.page;
    vec![
        ctx.stat(
            p.t("reports.cases_resolved"),
            o.resolved.to_string(),
            Some(Measure::Resolved),
        ),
        ctx.stat(
            p.t("disposition.confirmed_fraud"),
            o.confirmed_fraud.to_string(),
            Some(Measure::ConfirmedFraud),
        ),
        ctx.stat(
            p.t("reports.reopen_rate"),
            ctx.pct(o.reopen_rate()),
            Some(Measure::Reopened),
        ),
        ctx.stat(
            p.t("reports.response_rate"),
            ctx.pct(o.satisfaction.response_rate()),
            Some(Measure::Surveyed),
        ),
        ctx.stat(
            p.t("reports.average_score"),
            score_text(o.satisfaction.average_centi()),
            Some(Measure::Answered),
        ),
        ctx.stat(
            p.t("reports.reach_rate"),
            ctx.pct(per_mille(o.reach.reached, o.reach.attempted)),
            Some(Measure::Reached),
        ),
    ]
}

pub fn compliance_tables(ctx: &Ctx<'_>, c: &Compliance) -> Vec<Table> {
    vec![
        compliance_table(ctx, "compliance_queue", &c.by_queue),
        breach_table(ctx, c),
        compliance_table(ctx, "compliance_agent", &c.by_agent),
        compliance_table(ctx, "compliance_rule", &c.by_rule),
        compliance_table(ctx, "compliance_priority", &c.by_priority),
    ]
}

pub fn outcome_tables(ctx: &Ctx<'_>, o: &Outcomes, volume: &[RuleVolume]) -> Vec<Table> {
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

pub fn case_view(page: &Page, names: &Names, r: &facts::CaseRow) -> CaseView {
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
        fr_met: yes_no(page, r.first_response_met),
        res_met: yes_no(page, r.resolution_met),
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

pub fn case_headers(page: &Page) -> Vec<String> {
    texts(&[
        page.t("reports.case"),
        page.t("reports.rule"),
        page.t("reports.queue"),
        page.t("reports.agent"),
        page.t("reports.priority"),
        page.t("reports.status"),
        page.t("reports.customer"),
        page.t("reports.opened"),
        page.t("reports.resolved"),
        page.t("reports.fr_time"),
        page.t("reports.res_time"),
        page.t("reports.fr_met"),
        page.t("reports.res_met"),
        page.t("reports.disposition"),
        page.t("reports.amount_protected"),
        page.t("reports.reopened"),
        page.t("reports.score"),
    ])
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
        Measure::Unknown => page.t("reports.m.unknown"),
        Measure::CustomerConfirmed => page.t("reports.m.customer_confirmed"),
        Measure::ConfirmedFraud => page.t("reports.m.confirmed_fraud"),
        Measure::Reopened => page.t("reports.m.reopened"),
        Measure::Surveyed => page.t("reports.m.surveyed"),
        Measure::Answered => page.t("reports.m.answered"),
        Measure::Reached => page.t("reports.m.reached"),
    }
}
/// The heading of a drill-down list: the measure, the period and the filters.
pub fn list_heading(page: &Page, req: &Request, names: &Names) -> String {
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
    page.tf(
        "reports.cases_heading",
        &[
            ("measure", measure_label(page, req.measure)),
            ("from", &req.period.from.to_string()),
            ("to", &req.period.to.to_string()),
            ("scope", &scope.join(" · ")),
        ],
    )
}

/// The links of a drill-down list: back to the report it came from, its CSV, and
/// its pages.
pub struct ListLinks {
    pub back: String,
    pub export: String,
    /// The list's query without the page position.
    pairs: Vec<(&'static str, String)>,
}

impl ListLinks {
    pub fn of(req: &Request) -> ListLinks {
        let pairs = list_pairs(req);
        let back = if matches!(
            req.measure,
            Measure::Opened
                | Measure::FalsePositive
                | Measure::Unknown
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
        let export = format!(
            "/reports/export/cases.csv?{}",
            serde_urlencoded::to_string(&pairs).unwrap_or_default()
        );
        let mut page_pairs = pairs;
        if req.limit != PAGE_SIZE {
            page_pairs.push(("limit", req.limit.to_string()));
        }
        ListLinks {
            back: format!("{back}?{}", req.query()),
            export,
            pairs: page_pairs,
        }
    }

    /// The page after `cursor`; the first page without one.
    pub fn page(&self, cursor: Option<Cursor>) -> String {
        let mut p = self.pairs.clone();
        p.extend(cursor.map(|c| ("cursor", c.encode())));
        format!(
            "/reports/cases?{}",
            serde_urlencoded::to_string(&p).unwrap_or_default()
        )
    }
}

/// A rule code as one segment of a path (codes are letters, digits and `_`; any
/// other byte is percent-encoded).
pub fn urlencoding_path(code: &str) -> String {
    code.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

// ----- the rule quality page -----

/// A whole number with thousands separated: `100000` → `100,000`.
fn grouped(v: u64) -> String {
    let digits = v.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Minutes as text (`–` when there are none).
fn minutes_text(p: &Page, v: Option<i64>) -> String {
    v.map_or_else(
        || "–".to_string(),
        |m| p.tf("reports.quality.minutes", &[("n", &m.to_string())]),
    )
}

pub fn rule_stats(ctx: &Ctx<'_>, q: &RuleQuality) -> Vec<Stat> {
    let p = ctx.page;
    vec![
        ctx.stat(p.t("reports.alerts"), q.alerts.to_string(), None),
        ctx.stat(
            p.t("reports.quality.suppressed"),
            q.suppressed.to_string(),
            None,
        ),
        ctx.stat(
            p.t("reports.cases_resolved"),
            q.resolved.to_string(),
            Some(Measure::Resolved),
        ),
        ctx.stat(
            p.t("reports.quality.true_positives"),
            q.labels.true_positive.to_string(),
            None,
        ),
        ctx.stat(
            p.t("reports.false_positives"),
            q.labels.false_positive.to_string(),
            Some(Measure::FalsePositive),
        ),
        ctx.stat(
            p.t("reports.unknown"),
            q.labels.unknown.to_string(),
            Some(Measure::Unknown),
        ),
        ctx.stat(p.t("reports.fp_rate"), ctx.pct(q.fp_rate()), None),
        ctx.stat(
            p.t("reports.quality.handling_median"),
            minutes_text(p, q.handling.0),
            None,
        ),
        ctx.stat(
            p.t("reports.quality.handling_p90"),
            minutes_text(p, q.handling.1),
            None,
        ),
    ]
}

/// The label columns every rule quality table ends with.
fn label_cells(
    ctx: &Ctx<'_>,
    t: &crate::domain::resolution::Tally,
    rate: Option<u64>,
) -> Vec<Cell> {
    vec![
        cell(t.true_positive.to_string(), None),
        cell(t.false_positive.to_string(), None),
        cell(t.unknown.to_string(), None),
        cell(ctx.pct(rate), None),
    ]
}

fn label_headers(p: &Page) -> [&'static str; 4] {
    [
        p.t("reports.quality.true_positives"),
        p.t("reports.false_positives"),
        p.t("reports.unknown"),
        p.t("reports.fp_rate"),
    ]
}

/// The rule's weeks: alerts and suppressed alerts received, cases resolved by label.
pub fn rule_weeks_table(ctx: &Ctx<'_>, weeks: &[Week]) -> Table {
    let p = ctx.page;
    let mut headers = texts(&[
        p.t("reports.quality.week"),
        p.t("reports.quality.monday"),
        p.t("reports.alerts"),
        p.t("reports.quality.suppressed"),
    ]);
    headers.extend(texts(&label_headers(p)));
    let rows = weeks
        .iter()
        .map(|w| {
            let mut cells = vec![
                cell(w.monday.to_string(), None),
                cell(w.alerts.to_string(), None),
                cell(w.suppressed.to_string(), None),
            ];
            cells.extend(label_cells(ctx, &w.labels, w.fp_rate()));
            TableRow {
                label: w.week.to_string(),
                href: None,
                cells,
            }
        })
        .collect();
    ctx.table("rule_weeks", p.t("reports.quality.by_week"), headers, rows)
}

/// A band's name: "under 1,000", "1,000 to under 5,000", "100,000 and over".
pub fn band_label(p: &Page, b: &Band) -> String {
    match (b.low, b.high) {
        (None, Some(h)) => p.tf("reports.quality.band_below", &[("high", &grouped(h))]),
        (Some(l), Some(h)) => p.tf(
            "reports.quality.band_between",
            &[("low", &grouped(l)), ("high", &grouped(h))],
        ),
        (Some(l), None) => p.tf("reports.quality.band_from", &[("low", &grouped(l))]),
        (None, None) => p.t("reports.all").to_string(),
    }
}

/// Outcomes by amount band in the counted currency.
pub fn rule_bands_table(ctx: &Ctx<'_>, a: &Amounts) -> Table {
    let p = ctx.page;
    let mut headers = vec![p.tf("reports.quality.band", &[("currency", &a.currency)])];
    headers.extend(texts(&[
        p.t("reports.alerts"),
        p.t("reports.quality.suppressed"),
    ]));
    headers.extend(texts(&label_headers(p)));
    let rows = a
        .bands
        .iter()
        .map(|b| {
            let mut cells = vec![
                cell(b.alerts.to_string(), None),
                cell(b.suppressed.to_string(), None),
            ];
            cells.extend(label_cells(ctx, &b.labels, b.fp_rate()));
            TableRow {
                label: band_label(p, b),
                href: None,
                cells,
            }
        })
        .collect();
    let mut t = ctx.table("rule_bands", p.t("reports.quality.by_band"), headers, rows);
    t.export_href = format!("{}&currency={}", t.export_href, a.currency);
    t
}

/// The what-if of a threshold, and what the amounts leave out, as sentences.
pub fn amount_notes(p: &Page, a: &Amounts) -> (Option<String>, Vec<String>) {
    let what_if = a.what_if.as_ref().map(|w| {
        p.tf(
            "reports.quality.what_if",
            &[
                ("threshold", &w.threshold.to_string()),
                ("currency", &a.currency),
                ("fp", &w.labels.false_positive.to_string()),
                ("tp", &w.labels.true_positive.to_string()),
                ("unknown", &w.labels.unknown.to_string()),
                ("alerts", &w.alerts.to_string()),
                ("of", &w.of_alerts.to_string()),
            ],
        )
    });
    let mut notes = Vec::new();
    if a.other_currency > 0 {
        let others: Vec<String> = a
            .currencies
            .iter()
            .filter(|(c, _)| *c != a.currency)
            .map(|(c, n)| format!("{c} {n}"))
            .collect();
        notes.push(p.tf(
            "reports.quality.other_currency",
            &[
                ("n", &a.other_currency.to_string()),
                ("currencies", &others.join(", ")),
            ],
        ));
    }
    if a.no_amount > 0 {
        notes.push(p.tf(
            "reports.quality.no_amount",
            &[("n", &a.no_amount.to_string())],
        ));
    }
    (what_if, notes)
}
