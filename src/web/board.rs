// The supervisor's live board (`/`, `/board`): open cases by queue and status, each
// count a link to that list in `/queues`; the cases next to breach with a ticking
// countdown, and those breached; agents at work with their load against capacity;
// the unassigned cases waiting longest; beside the backlog, today by hour and each
// queue's open work against its capacity, drawn as SVG. The body refreshes itself in
// place.

use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{DateTime, Duration, Utc};

use super::queues::{AT_RISK_WINDOW_MINUTES, OPEN_STATUSES, REFRESH_SECONDS};
use super::{Page, Supervisor, board_chart, db};
use crate::domain::{masking, worklist};
use crate::error::AppError;
use crate::state::AppState;
use crate::store::board::{self, AgentLoad, BacklogCount};
use crate::store::deskconfig::Snapshot;
use crate::store::worklist::Row;
use crate::store::{self, cases::case_ref};

/// A count and the list it drills down to.
pub struct Cell {
    pub count: i64,
    pub href: String,
}

/// One queue's line of the backlog table.
pub struct BacklogLine {
    pub queue: String,
    pub href: String,
    pub cells: Vec<Cell>,
    pub total: i64,
    pub breached: i64,
}

/// A case in one of the board's lists.
pub struct CaseLine {
    pub reference: String,
    pub rule: String,
    pub priority: String,
    pub queue: String,
    pub customer: String,
    pub assignee: Option<String>,
    /// The next deadline (RFC 3339, UTC) for the ticking countdown.
    pub due: String,
    pub countdown: String,
    pub colour: &'static str,
    pub share: String,
    /// For unassigned cases: since when, and for how long, it has waited.
    pub waiting_since: Option<chrono::NaiveDateTime>,
    pub waited: String,
}

/// An agent at work.
pub struct AgentLine {
    pub name: String,
    pub email: String,
    pub presence: String,
    pub load: i32,
    pub capacity: i32,
    /// Load against capacity in whole per cent, at most 100 (the bar's length).
    pub bar: i64,
    pub bar_class: &'static str,
    pub load_label: String,
    pub open_cases: i64,
    pub oldest: Option<String>,
    pub oldest_age: String,
}

/// The board's body: served in the page and alone as the fragment.
#[derive(Template)]
#[template(path = "board/body.html")]
pub struct Body {
    pub page: Page,
    pub now: String,
    pub now_local: String,
    pub statuses: [&'static str; 4],
    pub backlog: Vec<BacklogLine>,
    pub status_totals: Vec<i64>,
    pub open_total: i64,
    pub breached_total: i64,
    pub at_risk: Vec<CaseLine>,
    pub at_risk_count: i64,
    pub at_risk_minutes: i64,
    pub breached: Vec<CaseLine>,
    pub agents: Vec<AgentLine>,
    pub online: usize,
    pub away: usize,
    pub unassigned: Vec<CaseLine>,
    pub unassigned_count: i64,
    /// Reports to the regulator not filed yet, the soonest due first.
    pub aml_reports: Vec<AmlLine>,
    /// Not filed, of those on their last working day, and past due.
    pub aml_open: i64,
    pub aml_warned: i64,
    pub aml_breached: i64,
    /// Today by hour, in the reader's time zone, and the queues' work and capacity.
    pub hours: super::board_chart::HoursChart,
    pub hours_caption: String,
    pub hours_totals: String,
    pub capacity: super::board_chart::LoadChart,
}

/// A report to the regulator as the board lists it.
pub struct AmlLine {
    pub reference: String,
    pub due: String,
    /// `breached`, `last_day` or `due`.
    pub state: &'static str,
}

#[derive(Template)]
#[template(path = "board/index.html")]
struct Index {
    page: Page,
    greeting: String,
    refresh_seconds: u32,
    /// The body, rendered (and escaped) by its own template.
    body_html: String,
    /// The saved views the supervisor may open.
    views: Vec<super::views::ViewLink>,
    /// On the home page: the articles new to the supervisor.
    new_articles: super::knowledge::NewArticles,
}

/// What the board reads, in one connection.
struct Loaded {
    snap: std::sync::Arc<Snapshot>,
    backlog: Vec<BacklogCount>,
    at_risk: (Vec<Row>, i64),
    breached: Vec<Row>,
    agents: Vec<AgentLoad>,
    unassigned: (Vec<(Row, chrono::NaiveDateTime)>, i64),
    aml: (Vec<crate::cases::aml_report::AmlReport>, i64, i64, i64),
    today: board::Moments,
    weights: Vec<(i64, i64)>,
    capacity: Vec<(i64, i64)>,
}

fn queue_href(queue: &str, status: Option<&str>) -> String {
    let mut pairs = vec![("view", "queue"), ("queue", queue)];
    if let Some(s) = status {
        pairs.push(("status", s));
    }
    format!(
        "/queues?{}",
        serde_urlencoded::to_string(&pairs).unwrap_or_default()
    )
}

fn case_line(page: &Page, r: &Row, now: DateTime<Utc>) -> CaseLine {
    let due = r.next_due.map(store::from_db);
    let paused = r.paused_since.map(store::from_db);
    let share = due.map_or(0, |d| {
        worklist::share_used(store::from_db(r.opened_at), d, now, paused)
    });
    let customer = [
        r.customer_name.as_deref().map(masking::name),
        r.customer_phone.as_deref().map(masking::phone),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" · ");
    CaseLine {
        reference: case_ref(r.id),
        rule: r.rule_code.clone(),
        priority: r.priority.clone(),
        queue: r.queue.clone(),
        customer,
        assignee: r.assignee.clone(),
        due: due
            .filter(|_| paused.is_none())
            .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_default(),
        countdown: due
            .map(|d| worklist::countdown(d, paused.unwrap_or(now)))
            .unwrap_or_default(),
        colour: worklist::colour(share, r.breached).css(),
        share: page.tf(
            "queues.share_used",
            &[("percent", &(share / 10).to_string())],
        ),
        waiting_since: None,
        waited: String::new(),
    }
}

fn agent_line(page: &Page, a: &AgentLoad, now: DateTime<Utc>) -> AgentLine {
    let percent = if a.capacity > 0 {
        i64::from(a.load) * 100 / i64::from(a.capacity)
    } else {
        100
    };
    AgentLine {
        bar: percent.clamp(0, 100),
        bar_class: if percent >= 100 {
            "load-full"
        } else if percent >= 75 {
            "load-high"
        } else {
            "load-ok"
        },
        load_label: page.tf(
            "board.load_label",
            &[
                ("load", &a.load.to_string()),
                ("capacity", &a.capacity.to_string()),
                ("percent", &percent.to_string()),
            ],
        ),
        name: a.name.clone(),
        email: a.email.clone(),
        presence: a.presence.clone(),
        load: a.load,
        capacity: a.capacity,
        open_cases: a.open_cases,
        oldest: a.oldest.map(|(id, _)| case_ref(id)),
        oldest_age: a
            .oldest
            .map(|(_, at)| worklist::countdown(now, store::from_db(at)))
            .unwrap_or_default(),
    }
}

fn body(page: &Page, l: Loaded, now: DateTime<Utc>) -> Body {
    let mut queues: Vec<_> = l.snap.queues_by_id.values().collect();
    queues.sort_by(|a, b| a.name.cmp(&b.name));
    let mut status_totals = vec![0i64; OPEN_STATUSES.len()];
    let mut open_total = 0;
    let mut breached_total = 0;
    let backlog = queues
        .iter()
        .map(|q| {
            let of_queue: Vec<&BacklogCount> =
                l.backlog.iter().filter(|c| c.queue_id == q.id).collect();
            let cells: Vec<Cell> = OPEN_STATUSES
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let count = of_queue
                        .iter()
                        .filter(|c| c.status == *s)
                        .map(|c| c.count)
                        .sum();
                    status_totals[i] += count;
                    Cell {
                        count,
                        href: queue_href(&q.name, Some(s)),
                    }
                })
                .collect();
            let total: i64 = of_queue.iter().map(|c| c.count).sum();
            let breached: i64 = of_queue
                .iter()
                .filter(|c| c.breached)
                .map(|c| c.count)
                .sum();
            open_total += total;
            breached_total += breached;
            BacklogLine {
                queue: q.name.clone(),
                href: queue_href(&q.name, None),
                cells,
                total,
                breached,
            }
        })
        .collect();
    let agents: Vec<AgentLine> = l.agents.iter().map(|a| agent_line(page, a, now)).collect();
    let tz = page.tz;
    let series: Vec<(&'static str, String, [usize; 24])> = [
        ("arrived", &l.today.arrived),
        ("resolved", &l.today.resolved),
        ("breached", &l.today.breached),
    ]
    .into_iter()
    .map(|(key, moments)| {
        (
            key,
            page.t(&format!("chart.{key}")).to_string(),
            board_chart::per_hour(tz, moments),
        )
    })
    .collect();
    let hours = board_chart::hours(series, board_chart::local_hour(tz, store::to_db(now)));
    let total = |k: &str| {
        hours
            .series
            .iter()
            .find(|s| s.key == k)
            .map_or(0, |s| s.total)
            .to_string()
    };
    let hours_totals = page.tf(
        "chart.today_totals",
        &[
            ("arrived", &total("arrived")),
            ("resolved", &total("resolved")),
            ("breached", &total("breached")),
        ],
    );
    let capacity = board_chart::load(
        queues
            .iter()
            .map(|q| {
                let backlog = l
                    .weights
                    .iter()
                    .find(|(id, _)| *id == q.id)
                    .map_or(0, |w| w.1);
                let capacity = l
                    .capacity
                    .iter()
                    .find(|(id, _)| *id == q.id)
                    .map_or(0, |c| c.1);
                let text = page.tf(
                    "chart.queue_line",
                    &[
                        ("queue", &q.name),
                        ("backlog", &backlog.to_string()),
                        ("capacity", &capacity.to_string()),
                    ],
                );
                (q.name.clone(), backlog, capacity, text)
            })
            .collect(),
    );
    Body {
        hours_caption: page.tf("chart.today_caption", &[("zone", tz.name())]),
        hours_totals,
        hours,
        capacity,
        now: now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        now_local: page.time(&store::to_db(now)),
        statuses: OPEN_STATUSES,
        backlog,
        status_totals,
        open_total,
        breached_total,
        at_risk: l
            .at_risk
            .0
            .iter()
            .map(|r| case_line(page, r, now))
            .collect(),
        at_risk_count: l.at_risk.1,
        at_risk_minutes: AT_RISK_WINDOW_MINUTES,
        breached: l.breached.iter().map(|r| case_line(page, r, now)).collect(),
        online: agents.iter().filter(|a| a.presence == "online").count(),
        away: agents.iter().filter(|a| a.presence == "away").count(),
        agents,
        unassigned: l
            .unassigned
            .0
            .iter()
            .map(|(r, since)| CaseLine {
                waiting_since: Some(*since),
                waited: worklist::countdown(now, store::from_db(*since)),
                ..case_line(page, r, now)
            })
            .collect(),
        unassigned_count: l.unassigned.1,
        aml_reports: l
            .aml
            .0
            .iter()
            .map(|r| AmlLine {
                reference: crate::store::cases::case_ref(r.case_id),
                due: page.time(&r.due_at),
                state: if r.breached_at.is_some() {
                    "breached"
                } else if r.warned_at.is_some() {
                    "last_day"
                } else {
                    "due"
                },
            })
            .collect(),
        aml_open: l.aml.1,
        aml_warned: l.aml.2,
        aml_breached: l.aml.3,
        page: page.clone(),
    }
}

async fn load(
    state: &web::Data<AppState>,
    now: DateTime<Utc>,
    tz: chrono_tz::Tz,
) -> Result<Loaded, AppError> {
    let st = state.clone();
    db(state, move |conn| {
        let until = now + Duration::minutes(AT_RISK_WINDOW_MINUTES);
        let (day_start, day_end) = board_chart::today(tz, now);
        Ok(Loaded {
            snap: st.desk.get(conn)?,
            backlog: board::backlog(conn)?,
            at_risk: board::at_risk(conn, store::to_db(now), store::to_db(until))?,
            breached: board::breached(conn)?,
            agents: board::agents(conn)?,
            unassigned: board::unassigned(conn)?,
            aml: crate::cases::aml_report::open(conn, 5)?,
            today: board::moments(conn, day_start, day_end)?,
            weights: board::open_weight(conn)?,
            capacity: board::queue_capacity(conn)?,
        })
    })
    .await
}

/// The full board page (also the home page of supervisors and admins).
pub async fn render(
    Supervisor(user): Supervisor,
    state: web::Data<AppState>,
    page: Page,
    home: bool,
) -> Result<HttpResponse, AppError> {
    let now = state.now();
    let l = load(&state, now, page.tz).await?;
    let body_html = body(&page, l, now).render()?;
    // The saved views, and on the home page the articles new to the supervisor (one
    // indexed query), in one connection.
    let (id, lang) = (user.user.id, page.tr.lang);
    let (views, new_articles) = db(&state, move |conn| {
        let views = crate::saved_views::visible_to(conn, id)?;
        let new_articles = if home {
            super::knowledge::banner(conn, now, lang, id)?
        } else {
            Default::default()
        };
        Ok((views, new_articles))
    })
    .await?;
    let views = super::views::links_for(&views, id, true);
    page.render(&Index {
        views,
        new_articles,
        greeting: page.tf("home.greeting", &[("name", &user.user.name)]),
        refresh_seconds: REFRESH_SECONDS,
        body_html,
        page: page.clone(),
    })
}

/// `GET /board`.
pub async fn show(
    sup: Supervisor,
    state: web::Data<AppState>,
    page: Page,
) -> Result<HttpResponse, AppError> {
    render(sup, state, page, false).await
}

/// `GET /board/fragment`: the board's body alone, for the page's refresh.
pub async fn fragment(
    _: Supervisor,
    state: web::Data<AppState>,
    page: Page,
) -> Result<HttpResponse, AppError> {
    let now = state.now();
    let l = load(&state, now, page.tz).await?;
    page.render(&body(&page, l, now))
}
