// Admin pages for the desk's configuration: the overview (triage queue, the file as
// exported), the one path every change of these pages takes to the database, and
// (in `object.rs`) the one set of handlers of its seven kinds of object.

pub mod calendars;
pub mod campaigns;
pub mod object;
pub mod oncall;
pub mod policies;
pub mod queues;
pub mod routes;
pub mod rules;

pub use calendars::Calendars;
pub use campaigns::Campaigns;
pub use object::{DeskObject, create, delete, edit, list, update};
pub use oncall::Rotas;
pub use policies::Policies;
pub use queues::Queues;
pub use routes::Routes;
pub use rules::Rules;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

use super::page::{FlashKind, redirect_with_flash};
use super::{Admin, CurrentUser, Page, db};
use crate::desk::{self, ConfigError};
use crate::domain::deskconfig::DeskConfig;
use crate::domain::{FieldProblem, Severity};
use crate::error::AppError;
use crate::i18n::{Tr, tkey};
use crate::state::AppState;
use crate::store::deskconfig::{self, Change};

/// Why an edit of the configuration was not made.
pub enum Refusal {
    /// The object named in the address does not exist.
    NotFound,
    /// What is wrong, field by field, in the file's terms.
    Problems(Vec<FieldProblem>),
}

impl From<Vec<FieldProblem>> for Refusal {
    fn from(p: Vec<FieldProblem>) -> Self {
        Refusal::Problems(p)
    }
}

/// The outcome of [`change`]: the changes made, or the problems that stopped it.
pub type Outcome = Result<Vec<Change>, Vec<FieldProblem>>;

/// Changes the desk's configuration the way `config apply` does: loads it, lets
/// `edit` change the one object, checks the whole configuration by writing it in the
/// file format and reading it back, then applies it in one transaction (which
/// records `config.applied`). Nothing is written when any check fails.
pub async fn change<F>(state: &AppState, user: &CurrentUser, edit: F) -> Result<Outcome, AppError>
where
    F: FnOnce(&mut DeskConfig) -> Result<(), Refusal> + Send + 'static,
{
    let (now, actor) = (state.now(), user.actor());
    db(state, move |conn| {
        let version = deskconfig::config_version(conn)?;
        let mut cfg = deskconfig::load(conn)?;
        match edit(&mut cfg) {
            Ok(()) => {}
            Err(Refusal::NotFound) => return Err(AppError::NotFound),
            Err(Refusal::Problems(p)) => return Ok(Err(p)),
        }
        let cfg = match DeskConfig::parse(&cfg.to_toml()) {
            Ok(cfg) => cfg,
            Err(p) => return Ok(Err(p)),
        };
        match desk::apply_checked(conn, now, &actor, &cfg, false, Some(version)) {
            Ok(changes) => Ok(Ok(changes)),
            Err(ConfigError::Invalid(p)) => Ok(Err(p)),
            Err(ConfigError::Db(e)) => Err(e.into()),
        }
    })
    .await
}

/// The configuration as it stands.
pub async fn load(state: &AppState) -> Result<DeskConfig, AppError> {
    db(state, |conn| Ok(deskconfig::load(conn)?)).await
}

/// The answer to a change that went through: back to `to`, saying `key` — or that
/// nothing changed when the form held what was stored already.
pub fn done(to: &str, changes: &[Change], key: &'static str) -> HttpResponse {
    let key = if changes.is_empty() {
        "flash.config_unchanged"
    } else {
        key
    };
    redirect_with_flash(to, FlashKind::Success, key)
}

/// A name as one segment of an address ("Account security" → "Account%20security").
pub fn segment(name: &str) -> String {
    askama::filters::urlencode_strict(name)
        .map(|s| s.to_string())
        .unwrap_or_default()
}

/// The items of a list typed as text: separated by commas (also the full-width
/// comma), semicolons or line breaks; blanks dropped.
pub fn split_list(text: &str) -> Vec<String> {
    text.split([',', '，', ';', '；', '\n', '\r'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// A whole number typed into a form; an empty field is `required` or absent.
pub fn whole_number(
    text: &str,
    field: String,
    required: bool,
    tr: Tr,
    problems: &mut Vec<FieldProblem>,
) -> Option<i64> {
    let t = text.trim();
    if t.is_empty() {
        if required {
            problems.push(FieldProblem::new(field, tr.t("desk.problem.required")));
        }
        return None;
    }
    match t.parse::<i64>() {
        Ok(n) => Some(n),
        Err(_) => {
            problems.push(FieldProblem::new(
                field,
                tr.tf("desk.problem.number", &[("text", t)]),
            ));
            None
        }
    }
}

/// A point in time typed into a form: RFC 3339 (`2026-11-11T00:00:00+08:00`), or a
/// `datetime-local` value (`2026-11-11T00:00`) read in the time zone `tz`.
pub fn parse_instant(text: &str, tz: Tz) -> Result<DateTime<Utc>, InstantError> {
    let t = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(t) {
        return Ok(at.with_timezone(&Utc));
    }
    let local = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(t, f).ok())
        .ok_or(InstantError::Unreadable)?;
    // A time the clocks repeat (autumn) means its first occurrence.
    tz.from_local_datetime(&local)
        .earliest()
        .map(|at| at.with_timezone(&Utc))
        .ok_or(InstantError::Skipped)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstantError {
    Unreadable,
    /// The local time does not exist (the clocks skip it in spring).
    Skipped,
}

/// An instant as a `datetime-local` value in `tz` (seconds only when it has some).
pub fn local_input(at: DateTime<Utc>, tz: Tz) -> String {
    let local = at.with_timezone(&tz);
    let format = if at.timestamp() % 60 == 0 {
        "%Y-%m-%dT%H:%M"
    } else {
        "%Y-%m-%dT%H:%M:%S"
    };
    local.format(format).to_string()
}

/// An instant as the pages show times, in `tz`.
pub fn local_time(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()
}

/// The catalog key of a priority's or severity's label.
pub fn severity_key(s: Severity) -> &'static str {
    match s {
        Severity::Low => tkey("desk.severity.low"),
        Severity::Medium => tkey("desk.severity.medium"),
        Severity::High => tkey("desk.severity.high"),
        Severity::Critical => tkey("desk.severity.critical"),
    }
}

/// One option of a select: its value and the catalog key of its label.
pub struct Choice {
    pub value: &'static str,
    pub label: &'static str,
}

/// The severities, most severe first, as options.
pub fn severity_choices() -> Vec<Choice> {
    Severity::ALL
        .iter()
        .rev()
        .map(|s| Choice {
            value: s.as_str(),
            label: severity_key(*s),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "admin/desk.html")]
struct OverviewPage {
    page: Page,
    triage_queue: String,
    /// The public attribute keys, as typed or stored (comma-separated).
    public_attributes: String,
    queues: Vec<String>,
    counts: [(&'static str, &'static str, usize); 7],
    export: String,
    /// The file typed into the apply form, when it was refused.
    typed_file: String,
    problems: Vec<FieldProblem>,
}

async fn render_overview(
    state: &AppState,
    page: Page,
    typed_triage: Option<String>,
    problems: Vec<FieldProblem>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    render_overview_with(
        state,
        page,
        Typed {
            triage: typed_triage,
            ..Typed::default()
        },
        problems,
        status,
    )
    .await
}

/// What was typed into the overview's forms, shown again when refused.
#[derive(Default)]
struct Typed {
    triage: Option<String>,
    public_attributes: Option<String>,
    file: String,
}

async fn render_overview_with(
    state: &AppState,
    page: Page,
    typed: Typed,
    problems: Vec<FieldProblem>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let cfg = load(state).await?;
    let export = cfg.to_toml();
    let typed_file = typed.file;
    page.render_status(
        status,
        &OverviewPage {
            public_attributes: typed
                .public_attributes
                .unwrap_or_else(|| cfg.public_attributes.join(", ")),
            triage_queue: typed.triage.unwrap_or_else(|| cfg.triage_queue.clone()),
            queues: cfg.queues.iter().map(|q| q.name.clone()).collect(),
            counts: [
                (
                    "/admin/calendars",
                    tkey("desk.calendars.title"),
                    cfg.calendars.len(),
                ),
                (
                    "/admin/sla-policies",
                    tkey("desk.policies.title"),
                    cfg.sla_policies.len(),
                ),
                ("/admin/queues", tkey("desk.queues.title"), cfg.queues.len()),
                ("/admin/rules", tkey("desk.rules.title"), cfg.rules.len()),
                ("/admin/routes", tkey("desk.routes.title"), cfg.routes.len()),
                (
                    "/admin/campaigns",
                    tkey("desk.campaigns.title"),
                    cfg.campaigns.len(),
                ),
                (
                    "/admin/oncall",
                    tkey("oncall.rotas.title"),
                    cfg.oncall.len(),
                ),
            ],
            export,
            typed_file,
            problems,
            page: page.clone(),
        },
    )
}

pub async fn overview(
    _: Admin,
    state: web::Data<AppState>,
    page: Page,
) -> Result<HttpResponse, AppError> {
    render_overview(&state, page, None, Vec::new(), StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct TriageForm {
    #[serde(default)]
    triage_queue: String,
}

pub async fn set_triage(
    Admin(user): Admin,
    state: web::Data<AppState>,
    page: Page,
    form: web::Form<TriageForm>,
) -> Result<HttpResponse, AppError> {
    let queue = form.into_inner().triage_queue.trim().to_string();
    let typed = queue.clone();
    let outcome = change(&state, &user, move |cfg| {
        cfg.triage_queue = queue;
        Ok(())
    })
    .await?;
    match outcome {
        Ok(changes) => Ok(done("/admin/desk", &changes, "flash.triage_saved")),
        Err(problems) => {
            render_overview(
                &state,
                page,
                Some(typed),
                problems,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

#[derive(Deserialize)]
pub struct PublicAttributesForm {
    #[serde(default)]
    public_attributes: String,
}

/// `POST /admin/desk/public-attributes`: the alert attribute keys shown unmasked,
/// as a list; saved like any other change of the configuration (`config.applied`).
pub async fn set_public_attributes(
    Admin(user): Admin,
    state: web::Data<AppState>,
    page: Page,
    form: web::Form<PublicAttributesForm>,
) -> Result<HttpResponse, AppError> {
    let typed = form.into_inner().public_attributes;
    let keys = split_list(&typed);
    let outcome = change(&state, &user, move |cfg| {
        cfg.public_attributes = keys;
        Ok(())
    })
    .await?;
    match outcome {
        Ok(changes) => Ok(done("/admin/desk", &changes, "masking.public_saved")),
        Err(problems) => {
            render_overview_with(
                &state,
                page,
                Typed {
                    public_attributes: Some(typed),
                    ..Typed::default()
                },
                problems,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

#[derive(Deserialize)]
pub struct ApplyForm {
    #[serde(default)]
    config: String,
}

/// Applies a whole configuration file pasted into the overview, the way
/// `riskdesk config apply` does: all of it, or nothing with every problem listed.
pub async fn apply_file(
    Admin(user): Admin,
    state: web::Data<AppState>,
    page: Page,
    form: web::Form<ApplyForm>,
) -> Result<HttpResponse, AppError> {
    let text = form.into_inner().config;
    let (now, actor, t) = (state.now(), user.actor(), text.clone());
    let outcome = db(&state, move |conn| {
        match desk::apply_text(conn, now, &actor, &t, false) {
            Ok(changes) => Ok(Ok(changes)),
            Err(ConfigError::Invalid(p)) => Ok(Err(p)),
            Err(ConfigError::Db(e)) => Err(e.into()),
        }
    })
    .await?;
    match outcome {
        Ok(changes) => Ok(done("/admin/desk", &changes, "flash.config_applied")),
        Err(problems) => {
            render_overview_with(
                &state,
                page,
                Typed {
                    file: text,
                    ..Typed::default()
                },
                problems,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_path_segments() {
        assert_eq!(segment("Account security"), "Account%20security");
        assert_eq!(segment("a/b%c"), "a%2Fb%25c");
        assert_eq!(segment("风控"), "%E9%A3%8E%E6%8E%A7");
    }

    #[test]
    fn lists_split_on_either_comma() {
        assert_eq!(split_list(" 75, 90 "), vec!["75", "90"]);
        assert_eq!(
            split_list("fraud，aml;\n kyc,,"),
            vec!["fraud", "aml", "kyc"]
        );
        assert!(split_list("  ").is_empty());
    }

    #[test]
    fn instants_are_read_in_the_given_zone() {
        let sh: Tz = "Asia/Shanghai".parse().unwrap();
        let at = parse_instant("2026-11-11T00:00", sh).unwrap();
        assert_eq!(at.to_rfc3339(), "2026-11-10T16:00:00+00:00");
        let at = parse_instant("2026-11-11T00:00:00+08:00", chrono_tz::UTC).unwrap();
        assert_eq!(at.to_rfc3339(), "2026-11-10T16:00:00+00:00");
        assert_eq!(local_input(at, sh), "2026-11-11T00:00");
        assert_eq!(
            parse_instant("tomorrow", sh).unwrap_err(),
            InstantError::Unreadable
        );
        let ny: Tz = "America/New_York".parse().unwrap();
        assert_eq!(
            parse_instant("2026-03-08T02:30", ny).unwrap_err(),
            InstantError::Skipped
        );
    }
}
