// Admin pages for queues: list, create, edit (SLA policy, required skills), delete
// (refused while a route or the triage setting names the queue, or it holds cases).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{Admin, Refusal, change, done, load, position, segment, split_list};
use crate::app::AppState;
use crate::domain::FieldProblem;
use crate::domain::deskconfig::{DeskConfig, QueueDef};
use crate::error::AppError;
use crate::web::Page;

/// A queue as its form holds it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct QueueForm {
    name: String,
    sla_policy: String,
    skills: String,
    escalation_queue: String,
    service_level: String,
}

impl QueueForm {
    fn of(def: &QueueDef) -> Self {
        QueueForm {
            name: def.name.clone(),
            sla_policy: def.sla_policy.clone(),
            skills: def.skills.join(", "),
            escalation_queue: def.escalation_queue.clone().unwrap_or_default(),
            service_level: def.service_level.map(|p| p.to_string()).unwrap_or_default(),
        }
    }

    /// The service level as typed: empty is unset; anything but a whole number is a
    /// problem (the range is checked with the rest of the configuration).
    fn service_level(&self) -> Result<Option<i64>, FieldProblem> {
        let text = self.service_level.trim();
        if text.is_empty() {
            return Ok(None);
        }
        text.parse().map(Some).map_err(|_| {
            FieldProblem::new("service_level", format!("'{text}' is not a whole number"))
        })
    }

    fn to_def(&self, name: &str) -> QueueDef {
        QueueDef {
            name: name.trim().to_string(),
            sla_policy: self.sla_policy.trim().to_string(),
            skills: split_list(&self.skills),
            escalation_queue: Some(self.escalation_queue.trim().to_string())
                .filter(|q| !q.is_empty()),
            service_level: self.service_level().ok().flatten(),
        }
    }
}

/// A queue in the list.
pub struct Row {
    pub name: String,
    pub href: String,
    pub sla_policy: String,
    pub policy_href: String,
    pub skills: Vec<String>,
    pub triage: bool,
    /// Positions of the routes that send cases here.
    pub routes: Vec<usize>,
}

fn routes_to(cfg: &DeskConfig, name: &str) -> Vec<usize> {
    cfg.routes
        .iter()
        .enumerate()
        .filter(|(_, r)| r.queue == name)
        .map(|(i, _)| i + 1)
        .collect()
}

fn rows(cfg: &DeskConfig) -> Vec<Row> {
    cfg.queues
        .iter()
        .map(|q| Row {
            href: format!("/admin/queues/{}", segment(&q.name)),
            policy_href: format!("/admin/sla-policies/{}", segment(&q.sla_policy)),
            name: q.name.clone(),
            sla_policy: q.sla_policy.clone(),
            skills: q.skills.clone(),
            triage: q.name == cfg.triage_queue,
            routes: routes_to(cfg, &q.name),
        })
        .collect()
}

fn policy_names(cfg: &DeskConfig) -> Vec<String> {
    cfg.sla_policies.iter().map(|p| p.name.clone()).collect()
}

#[derive(Template)]
#[template(path = "admin/queues.html")]
struct ListPage {
    page: Page,
    queues: Vec<Row>,
    form: QueueForm,
    policies: Vec<String>,
    queue_names: Vec<String>,
    problems: Vec<FieldProblem>,
}

async fn render_list(
    state: &AppState,
    page: Page,
    form: QueueForm,
    problems: Vec<FieldProblem>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let cfg = load(state).await?;
    page.render_status(
        status,
        &ListPage {
            queues: rows(&cfg),
            policies: policy_names(&cfg),
            queue_names: cfg.queues.iter().map(|q| q.name.clone()).collect(),
            form,
            problems,
            page: page.clone(),
        },
    )
}

pub async fn list(
    _: Admin,
    state: web::Data<AppState>,
    page: Page,
) -> Result<HttpResponse, AppError> {
    render_list(
        &state,
        page,
        QueueForm::default(),
        Vec::new(),
        StatusCode::OK,
    )
    .await
}

pub async fn create(
    Admin(user): Admin,
    state: web::Data<AppState>,
    page: Page,
    form: web::Form<QueueForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    if let Err(problem) = form.service_level() {
        return render_list(
            &state,
            page,
            form,
            vec![problem],
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let def = form.to_def(&form.name);
    let outcome = change(&state, &user, move |cfg| {
        cfg.queues.push(def);
        Ok(())
    })
    .await?;
    match outcome {
        Ok(changes) => Ok(done("/admin/queues", &changes, "flash.queue_created")),
        Err(problems) => {
            render_list(
                &state,
                page,
                form,
                problems,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

#[derive(Template)]
#[template(path = "admin/queue_edit.html")]
struct EditPage {
    page: Page,
    name: String,
    href: String,
    form: QueueForm,
    policies: Vec<String>,
    queue_names: Vec<String>,
    triage: bool,
    routes: Vec<usize>,
    problems: Vec<FieldProblem>,
}

async fn render_edit(
    state: &AppState,
    page: Page,
    name: String,
    typed: Option<QueueForm>,
    problems: Vec<FieldProblem>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let cfg = load(state).await?;
    let def = cfg
        .queues
        .iter()
        .find(|q| q.name == name)
        .ok_or(AppError::NotFound)?;
    page.render_status(
        status,
        &EditPage {
            href: format!("/admin/queues/{}", segment(&name)),
            form: typed.unwrap_or_else(|| QueueForm::of(def)),
            policies: policy_names(&cfg),
            queue_names: cfg
                .queues
                .iter()
                .map(|q| q.name.clone())
                .filter(|q| *q != name)
                .collect(),
            triage: cfg.triage_queue == name,
            routes: routes_to(&cfg, &name),
            problems,
            name,
            page: page.clone(),
        },
    )
}

pub async fn edit(
    _: Admin,
    state: web::Data<AppState>,
    page: Page,
    name: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    render_edit(
        &state,
        page,
        name.into_inner(),
        None,
        Vec::new(),
        StatusCode::OK,
    )
    .await
}

pub async fn update(
    Admin(user): Admin,
    state: web::Data<AppState>,
    page: Page,
    name: web::Path<String>,
    form: web::Form<QueueForm>,
) -> Result<HttpResponse, AppError> {
    let name = name.into_inner();
    let form = form.into_inner();
    if let Err(problem) = form.service_level() {
        return render_edit(
            &state,
            page,
            name,
            Some(form),
            vec![problem],
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let (def, target) = (form.to_def(&name), name.clone());
    let outcome = change(&state, &user, move |cfg| {
        let q = cfg
            .queues
            .iter_mut()
            .find(|q| q.name == target)
            .ok_or(Refusal::NotFound)?;
        *q = def;
        Ok(())
    })
    .await?;
    match outcome {
        Ok(changes) => Ok(done(
            &format!("/admin/queues/{}", segment(&name)),
            &changes,
            "flash.queue_saved",
        )),
        Err(problems) => {
            render_edit(
                &state,
                page,
                name,
                Some(form),
                problems,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

pub async fn delete(
    Admin(user): Admin,
    state: web::Data<AppState>,
    page: Page,
    name: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let name = name.into_inner();
    let target = name.clone();
    let outcome = change(&state, &user, move |cfg| {
        let i = position(&cfg.queues, |x| &x.name, &target)?;
        cfg.queues.remove(i);
        Ok(())
    })
    .await?;
    match outcome {
        Ok(changes) => Ok(done("/admin/queues", &changes, "flash.queue_deleted")),
        Err(problems) => {
            render_edit(
                &state,
                page,
                name,
                None,
                problems,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}
