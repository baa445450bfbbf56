// The weekly risk-trend brief in the browser: the list of weeks and one week's
// brief (stored for a finished week, read live for the running one), in the desk's
// time zone, for supervisors and admins.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{DateTime, Duration, Utc};

use super::{Page, Supervisor, db};
use crate::briefs::{self, Figures};
use crate::domain::week::IsoWeek;
use crate::error::AppError;
use crate::state::AppState;
use crate::store;

/// How many weeks back the list offers, besides the stored ones.
const WEEKS_LISTED: usize = 12;

pub struct WeekLine {
    pub week: String,
    pub from: String,
    pub to: String,
    /// `running`, `stored`, `mailed` or `not_stored`.
    pub state: &'static str,
}

#[derive(Template)]
#[template(path = "briefs/index.html")]
struct Index {
    page: Page,
    timezone: String,
    weeks: Vec<WeekLine>,
}

/// A date in the desk's zone (the first and last day of a week).
fn local_day(t: DateTime<Utc>, tz: chrono_tz::Tz) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d").to_string()
}

/// `GET /briefs`: the running week, the last twelve and every stored one.
pub async fn list(
    _: Supervisor,
    state: web::Data<AppState>,
    page: Page,
) -> Result<HttpResponse, AppError> {
    let tz = state.settings.desk_timezone;
    let now = state.now();
    let stored = db(&state, |conn| Ok(briefs::stored_weeks(conn)?)).await?;
    let current = IsoWeek::of(now, tz);
    let mut weeks = vec![current];
    let mut w = current;
    for _ in 0..WEEKS_LISTED {
        w = w.previous();
        weeks.push(w);
    }
    for (name, _) in &stored {
        if let Some(s) = IsoWeek::parse(name)
            && !weeks.contains(&s)
        {
            weeks.push(s);
        }
    }
    weeks.sort_by(|a, b| b.cmp(a));
    let lines = weeks
        .into_iter()
        .map(|w| {
            let (start, end) = w.range(tz);
            let name = w.to_string();
            let row = stored.iter().find(|(n, _)| *n == name);
            WeekLine {
                from: local_day(start, tz),
                to: local_day(end - Duration::seconds(1), tz),
                state: match row {
                    _ if w == current => "running",
                    Some((_, Some(_))) => "mailed",
                    Some((_, None)) => "stored",
                    None => "not_stored",
                },
                week: name,
            }
        })
        .collect();
    page.render(&Index {
        timezone: tz.name().to_string(),
        weeks: lines,
        page: page.clone(),
    })
}

/// A rule's line with its changes against the week before, as shown.
pub struct RuleLine {
    pub rule: String,
    pub alerts: i64,
    pub alerts_change: String,
    pub cases: i64,
    pub cases_change: String,
    pub resolved: i64,
    pub false_positives: i64,
    pub fp_customer_confirmed: i64,
    pub fp_rate: String,
    pub unknown: String,
    pub confirmed_fraud: i64,
}

#[derive(Template)]
#[template(path = "briefs/show.html")]
struct Show {
    page: Page,
    f: Figures,
    live: bool,
    from: String,
    to: String,
    computed_at: String,
    alerts_change: String,
    cases_change: String,
    fp_rate: String,
    unknown: String,
    rules: Vec<RuleLine>,
    previous: String,
    next: Option<String>,
}

#[derive(Template)]
#[template(path = "briefs/bad_week.html")]
struct BadWeek {
    page: Page,
    problem: String,
}

/// `GET /briefs/{week}`: one week's brief. A malformed week answers 400 naming the
/// field; a week that has not begun, 404.
pub async fn show(
    _: Supervisor,
    state: web::Data<AppState>,
    page: Page,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let raw = path.into_inner();
    let Some(week) = IsoWeek::parse(&raw) else {
        let problem = page.tf("brief.bad_week", &[("value", &raw)]);
        return page.render_status(
            StatusCode::BAD_REQUEST,
            &BadWeek {
                problem,
                page: page.clone(),
            },
        );
    };
    let tz = state.settings.desk_timezone;
    let now = state.now();
    let (start, end) = week.range(tz);
    if start > now {
        return Err(AppError::NotFound);
    }
    let (f, kept) = db(&state, move |conn| Ok(briefs::get(conn, week, tz, now)?)).await?;
    let rules = f
        .rules
        .iter()
        .map(|r| RuleLine {
            rule: r.rule.clone(),
            alerts: r.alerts,
            alerts_change: briefs::change(r.alerts, r.alerts_previous),
            cases: r.cases,
            cases_change: briefs::change(r.cases, r.cases_previous),
            resolved: r.resolved,
            false_positives: r.false_positives,
            fp_customer_confirmed: r.fp_customer_confirmed,
            fp_rate: briefs::fp_rate(r.false_positives, r.true_positives),
            unknown: briefs::count_text(r.unknown),
            confirmed_fraud: r.confirmed_fraud,
        })
        .collect();
    let next = week.next();
    page.render(&Show {
        live: !kept,
        from: local_day(start, tz),
        to: local_day(end - Duration::seconds(1), tz),
        computed_at: page.time(&store::to_db(f.computed_at)),
        alerts_change: briefs::change(f.alerts, f.alerts_previous),
        cases_change: briefs::change(f.cases, f.cases_previous),
        fp_rate: briefs::fp_rate(f.false_positives, f.true_positives),
        unknown: briefs::count_text(f.unknown),
        rules,
        previous: week.previous().to_string(),
        next: (next.range(tz).0 <= now).then(|| next.to_string()),
        f,
        page: page.clone(),
    })
}
