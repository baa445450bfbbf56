// Routing on its admin pages: the ordered list of routes (the first that matches
// wins), their form and pages (handlers in `object.rs`), and moving one up or down.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

use super::object::{DeskObject, FormCtx, NoQuery, href, render_list};
use super::queues::Queues;
use super::{
    Admin, Choice, InstantError, Refusal, change, done, local_input, local_time, parse_instant,
    severity_choices, severity_key,
};
use crate::domain::deskconfig::DeskConfig;
use crate::domain::money::{Decimal, check_currency};
use crate::domain::routing::RouteDef;
use crate::domain::{FieldProblem, Severity};
use crate::error::AppError;
use crate::i18n::{Tr, tkey};
use crate::state::AppState;
use crate::web::Page;

/// A route as its form holds it; times as `datetime-local` values in the admin's
/// time zone (RFC 3339 with an offset is accepted too).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RouteForm {
    rule: String,
    category: String,
    min_severity: String,
    min_amount: String,
    currency: String,
    queue: String,
    priority: String,
    valid_from: String,
    valid_until: String,
}

fn blank_to_none(s: &str) -> Option<String> {
    Some(s.trim().to_string()).filter(|s| !s.is_empty())
}

impl RouteForm {
    fn of(def: &RouteDef, tz: Tz) -> Self {
        RouteForm {
            rule: def.rule.clone().unwrap_or_default(),
            category: def.category.clone().unwrap_or_default(),
            min_severity: def
                .min_severity
                .map(|s| s.as_str().into())
                .unwrap_or_default(),
            min_amount: def.min_amount.map(|a| a.to_string()).unwrap_or_default(),
            currency: def.currency.clone().unwrap_or_default(),
            queue: def.queue.clone(),
            priority: def.priority.map(|s| s.as_str().into()).unwrap_or_default(),
            valid_from: def
                .valid_from
                .map(|t| local_input(t, tz))
                .unwrap_or_default(),
            valid_until: def
                .valid_until
                .map(|t| local_input(t, tz))
                .unwrap_or_default(),
        }
    }

    /// The route the form describes. Values the file would hold as text are parsed
    /// with the file validator's own parsers, so their problems read the same;
    /// references (rule, category, queue) are left to the configuration's validator.
    fn to_def(&self, path: &str, tr: Tr, tz: Tz) -> Result<RouteDef, Vec<FieldProblem>> {
        let mut problems = Vec::new();
        let field = |name: &str| format!("{path}.{name}");
        let mut severity = |name: &str, text: &str| -> Option<Severity> {
            let text = blank_to_none(text)?;
            Severity::check(&text)
                .map_err(|e| problems.push(FieldProblem::text(field(name), e)))
                .ok()
        };
        let min_severity = severity("min_severity", &self.min_severity);
        let priority = severity("priority", &self.priority);
        let min_amount = blank_to_none(&self.min_amount).and_then(|t| {
            Decimal::check(&t)
                .map_err(|e| problems.push(FieldProblem::text(field("min_amount"), e)))
                .ok()
        });
        let currency = blank_to_none(&self.currency).and_then(|t| {
            check_currency(&t)
                .map_err(|e| problems.push(FieldProblem::text(field("currency"), e)))
                .ok()
        });
        let mut instant = |name: &str, text: &str| -> Option<DateTime<Utc>> {
            let text = blank_to_none(text)?;
            match parse_instant(&text, tz) {
                Ok(at) => Some(at),
                Err(e) => {
                    let key = match e {
                        InstantError::Unreadable => tkey("desk.problem.datetime"),
                        InstantError::Skipped => tkey("desk.problem.skipped_time"),
                    };
                    problems.push(FieldProblem::new(
                        field(name),
                        tr.tf(key, &[("text", &text), ("tz", tz.name())]),
                    ));
                    None
                }
            }
        };
        let valid_from = instant("valid_from", &self.valid_from);
        let valid_until = instant("valid_until", &self.valid_until);
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(RouteDef {
            rule: blank_to_none(&self.rule),
            category: blank_to_none(&self.category),
            min_severity,
            min_amount,
            currency,
            queue: self.queue.trim().to_string(),
            priority,
            valid_from,
            valid_until,
        })
    }
}

/// A route in the list.
pub struct Row {
    pub position: usize,
    pub rule: Option<String>,
    pub rule_name: Option<String>,
    pub category: Option<String>,
    pub min_severity: Option<&'static str>,
    pub min_amount: Option<String>,
    pub currency: Option<String>,
    pub queue: String,
    pub queue_href: String,
    /// The catalog key of the priority's label ("the alert's severity" when unset).
    pub priority: &'static str,
    pub valid_from: Option<String>,
    pub valid_until: Option<String>,
    /// For a time-boxed route, the catalog key of where now lies in its window.
    pub window: Option<&'static str>,
}

impl Row {
    pub fn any_alert(&self) -> bool {
        self.rule.is_none()
            && self.category.is_none()
            && self.min_severity.is_none()
            && self.min_amount.is_none()
            && self.currency.is_none()
    }
}

fn rows(cfg: &DeskConfig, now: DateTime<Utc>, tz: Tz) -> Vec<Row> {
    cfg.routes
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let time_boxed = r.valid_from.is_some() || r.valid_until.is_some();
            Row {
                position: i + 1,
                rule_name: r.rule.as_ref().and_then(|code| {
                    cfg.rules
                        .iter()
                        .find(|x| &x.code == code && &x.name != code)
                        .map(|x| x.name.clone())
                }),
                rule: r.rule.clone(),
                category: r.category.clone(),
                min_severity: r.min_severity.map(severity_key),
                min_amount: r.min_amount.map(|a| a.to_string()),
                currency: r.currency.clone(),
                queue_href: href::<Queues>(&r.queue),
                queue: r.queue.clone(),
                priority: r
                    .priority
                    .map(severity_key)
                    .unwrap_or(tkey("desk.routes.alert_severity")),
                valid_from: r.valid_from.map(|t| local_time(t, tz)),
                valid_until: r.valid_until.map(|t| local_time(t, tz)),
                window: time_boxed.then(|| {
                    if r.valid_from.is_some_and(|f| now < f) {
                        tkey("desk.routes.window_pending")
                    } else if r.valid_until.is_some_and(|u| now >= u) {
                        tkey("desk.routes.window_over")
                    } else {
                        tkey("desk.routes.window_open")
                    }
                }),
            }
        })
        .collect()
}

/// What the route form offers to choose from.
pub struct Options {
    /// (code, name) of every rule.
    pub rules: Vec<(String, String)>,
    pub categories: Vec<String>,
    pub queues: Vec<String>,
    pub severities: Vec<Choice>,
}

fn options(cfg: &DeskConfig) -> Options {
    Options {
        rules: cfg
            .rules
            .iter()
            .map(|r| (r.code.clone(), r.name.clone()))
            .collect(),
        categories: super::rules::categories(cfg),
        queues: cfg.queues.iter().map(|q| q.name.clone()).collect(),
        severities: severity_choices(),
    }
}

#[derive(Template)]
#[template(path = "admin/routes.html")]
pub struct ListPage {
    page: Page,
    routes: Vec<Row>,
    triage_queue: String,
    form: RouteForm,
    options: Options,
    problems: Vec<FieldProblem>,
}

#[derive(Template)]
#[template(path = "admin/route_edit.html")]
pub struct EditPage {
    page: Page,
    position: usize,
    form: RouteForm,
    options: Options,
    problems: Vec<FieldProblem>,
}

/// The pages of routes, each named by its position in the list (counted from 1).
pub struct Routes;

impl DeskObject for Routes {
    type Form = RouteForm;
    type Key = usize;
    type Query = NoQuery;
    type Def = RouteDef;
    type ListPage = ListPage;
    type EditPage = EditPage;

    const LIST: &'static str = "/admin/routes";
    const IN_FILE: &'static str = "routes";
    const CREATED: &'static str = "flash.route_created";
    const SAVED: &'static str = "flash.route_saved";
    const DELETED: &'static str = "flash.route_deleted";
    const DELETE_PROBLEMS_ON_LIST: bool = true;

    fn items(cfg: &DeskConfig) -> &[RouteDef] {
        &cfg.routes
    }

    fn items_mut(cfg: &mut DeskConfig) -> &mut Vec<RouteDef> {
        &mut cfg.routes
    }

    fn index(items: &[RouteDef], position: &usize) -> Option<usize> {
        position.checked_sub(1).filter(|&i| i < items.len())
    }

    fn parse(
        form: &RouteForm,
        _: Option<&usize>,
        at: &str,
        ctx: FormCtx,
    ) -> Result<RouteDef, Vec<FieldProblem>> {
        form.to_def(at, ctx.tr, ctx.tz)
    }

    fn blank(_: &Page) -> RouteForm {
        RouteForm::default()
    }

    fn list_page(
        cfg: &DeskConfig,
        page: &Page,
        now: DateTime<Utc>,
        form: RouteForm,
        problems: Vec<FieldProblem>,
    ) -> ListPage {
        ListPage {
            routes: rows(cfg, now, page.tz),
            triage_queue: cfg.triage_queue.clone(),
            options: options(cfg),
            form,
            problems,
            page: page.clone(),
        }
    }

    fn edit_page(
        cfg: &DeskConfig,
        page: &Page,
        _now: DateTime<Utc>,
        position: usize,
        def: &RouteDef,
        typed: Option<RouteForm>,
        _: &NoQuery,
        problems: Vec<FieldProblem>,
    ) -> EditPage {
        EditPage {
            form: typed.unwrap_or_else(|| RouteForm::of(def, page.tz)),
            options: options(cfg),
            problems,
            position,
            page: page.clone(),
        }
    }
}

#[derive(Deserialize)]
pub struct MoveForm {
    #[serde(default)]
    direction: String,
}

pub async fn move_route(
    Admin(user): Admin,
    state: web::Data<AppState>,
    page: Page,
    position: web::Path<usize>,
    form: web::Form<MoveForm>,
) -> Result<HttpResponse, AppError> {
    let position = position.into_inner();
    let up = match form.direction.as_str() {
        "up" => true,
        "down" => false,
        _ => return Err(AppError::BadRequest("direction must be up or down".into())),
    };
    let outcome = change(&state, &user, move |cfg| {
        let i = Routes::index(&cfg.routes, &position).ok_or(Refusal::NotFound)?;
        let other = if up { i.checked_sub(1) } else { Some(i + 1) };
        if let Some(j) = other.filter(|&j| j < cfg.routes.len()) {
            cfg.routes.swap(i, j);
        }
        Ok(())
    })
    .await?;
    match outcome {
        Ok(changes) => Ok(done("/admin/routes", &changes, "flash.route_moved")),
        Err(problems) => {
            render_list::<Routes>(
                &state,
                page,
                RouteForm::default(),
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
    use crate::domain::Lang;

    #[test]
    fn a_route_form_reads_local_times_and_round_trips() {
        let tz: Tz = "Asia/Shanghai".parse().unwrap();
        let form = RouteForm {
            rule: "LARGE_TRANSFER".into(),
            min_amount: "50000".into(),
            currency: "CNY".into(),
            queue: "Transfers".into(),
            priority: "critical".into(),
            valid_from: "2026-11-11T00:00".into(),
            ..Default::default()
        };
        let def = form.to_def("routes[0]", Tr::new(Lang::En), tz).unwrap();
        assert_eq!(
            def.valid_from.unwrap().to_rfc3339(),
            "2026-11-10T16:00:00+00:00"
        );
        assert_eq!(def.valid_until, None);
        assert_eq!(def.category, None);
        let again = RouteForm::of(&def, tz);
        assert_eq!(again.valid_from, "2026-11-11T00:00");
        assert_eq!(again.min_amount, "50000.00");
    }

    #[test]
    fn bad_values_are_named() {
        let form = RouteForm {
            min_amount: "lots".into(),
            currency: "yuan".into(),
            priority: "urgent".into(),
            valid_until: "next week".into(),
            ..Default::default()
        };
        let problems = form
            .to_def("routes[2]", Tr::new(Lang::En), chrono_tz::UTC)
            .unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "routes[2].priority",
                "routes[2].min_amount",
                "routes[2].currency",
                "routes[2].valid_until"
            ]
        );
    }
}
