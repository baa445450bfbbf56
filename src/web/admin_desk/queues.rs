// Queues on their admin pages (the handlers are `object.rs`'s): the form (SLA policy,
// skills, escalation queue, service level, on-call rota), list and edit page.

use askama::Template;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::object::{DeskObject, FormCtx, NoQuery, href};
use super::policies::Policies;
use super::{split_list, whole_number};
use crate::domain::FieldProblem;
use crate::domain::deskconfig::{DeskConfig, QueueDef};
use crate::i18n::Tr;
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
    oncall: String,
}

impl QueueForm {
    fn of(def: &QueueDef) -> Self {
        QueueForm {
            name: def.name.clone(),
            sla_policy: def.sla_policy.clone(),
            skills: def.skills.join(", "),
            escalation_queue: def.escalation_queue.clone().unwrap_or_default(),
            service_level: def.service_level.map(|p| p.to_string()).unwrap_or_default(),
            oncall: def.oncall.clone().unwrap_or_default(),
        }
    }

    /// The queue the form describes. Only a service level that is not a whole
    /// number is refused here (named as in the file, below `path`); its range and
    /// the references are left to the configuration's validator.
    fn to_def(&self, name: &str, path: &str, tr: Tr) -> Result<QueueDef, Vec<FieldProblem>> {
        let mut problems = Vec::new();
        let service_level = whole_number(
            &self.service_level,
            format!("{path}.service_level"),
            false,
            tr,
            &mut problems,
        );
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(QueueDef {
            name: name.trim().to_string(),
            sla_policy: self.sla_policy.trim().to_string(),
            skills: split_list(&self.skills),
            escalation_queue: Some(self.escalation_queue.trim().to_string())
                .filter(|q| !q.is_empty()),
            service_level,
            oncall: Some(self.oncall.trim().to_string()).filter(|r| !r.is_empty()),
        })
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
    /// The on-call rota it pages, if any.
    pub oncall: Option<String>,
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
            href: href::<Queues>(&q.name),
            policy_href: href::<Policies>(&q.sla_policy),
            name: q.name.clone(),
            sla_policy: q.sla_policy.clone(),
            skills: q.skills.clone(),
            triage: q.name == cfg.triage_queue,
            routes: routes_to(cfg, &q.name),
            oncall: q.oncall.clone(),
        })
        .collect()
}

fn policy_names(cfg: &DeskConfig) -> Vec<String> {
    cfg.sla_policies.iter().map(|p| p.name.clone()).collect()
}

fn rota_names(cfg: &DeskConfig) -> Vec<String> {
    cfg.oncall.iter().map(|r| r.name.clone()).collect()
}

#[derive(Template)]
#[template(path = "admin/queues.html")]
pub struct ListPage {
    page: Page,
    queues: Vec<Row>,
    form: QueueForm,
    policies: Vec<String>,
    queue_names: Vec<String>,
    rotas: Vec<String>,
    problems: Vec<FieldProblem>,
}

#[derive(Template)]
#[template(path = "admin/queue_edit.html")]
pub struct EditPage {
    page: Page,
    name: String,
    href: String,
    form: QueueForm,
    policies: Vec<String>,
    queue_names: Vec<String>,
    rotas: Vec<String>,
    triage: bool,
    routes: Vec<usize>,
    problems: Vec<FieldProblem>,
}

/// The pages of queues.
pub struct Queues;

impl DeskObject for Queues {
    type Form = QueueForm;
    type Key = String;
    type Query = NoQuery;
    type Def = QueueDef;
    type ListPage = ListPage;
    type EditPage = EditPage;

    const LIST: &'static str = "/admin/queues";
    const IN_FILE: &'static str = "queues";
    const CREATED: &'static str = "flash.queue_created";
    const SAVED: &'static str = "flash.queue_saved";
    const DELETED: &'static str = "flash.queue_deleted";

    fn items(cfg: &DeskConfig) -> &[QueueDef] {
        &cfg.queues
    }

    fn items_mut(cfg: &mut DeskConfig) -> &mut Vec<QueueDef> {
        &mut cfg.queues
    }

    fn index(items: &[QueueDef], name: &String) -> Option<usize> {
        items.iter().position(|q| q.name == *name)
    }

    fn parse(
        form: &QueueForm,
        name: Option<&String>,
        at: &str,
        ctx: FormCtx,
    ) -> Result<QueueDef, Vec<FieldProblem>> {
        form.to_def(name.unwrap_or(&form.name), at, ctx.tr)
    }

    fn blank(_: &Page) -> QueueForm {
        QueueForm::default()
    }

    fn list_page(
        cfg: &DeskConfig,
        page: &Page,
        _now: DateTime<Utc>,
        form: QueueForm,
        problems: Vec<FieldProblem>,
    ) -> ListPage {
        ListPage {
            queues: rows(cfg),
            policies: policy_names(cfg),
            queue_names: cfg.queues.iter().map(|q| q.name.clone()).collect(),
            rotas: rota_names(cfg),
            form,
            problems,
            page: page.clone(),
        }
    }

    fn edit_page(
        cfg: &DeskConfig,
        page: &Page,
        _now: DateTime<Utc>,
        name: String,
        def: &QueueDef,
        typed: Option<QueueForm>,
        _: &NoQuery,
        problems: Vec<FieldProblem>,
    ) -> EditPage {
        EditPage {
            href: href::<Self>(&name),
            form: typed.unwrap_or_else(|| QueueForm::of(def)),
            policies: policy_names(cfg),
            queue_names: cfg
                .queues
                .iter()
                .map(|q| q.name.clone())
                .filter(|q| *q != name)
                .collect(),
            rotas: rota_names(cfg),
            triage: cfg.triage_queue == name,
            routes: routes_to(cfg, &name),
            problems,
            name,
            page: page.clone(),
        }
    }
}
