// SLA policies on their admin pages (the handlers are `object.rs`'s): the form
// (calendar, warning thresholds, longest pause, the eight targets), list, edit page.

use std::collections::BTreeMap;

use askama::Template;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::object::{DeskObject, FormCtx, NoQuery, href};
use super::{severity_key, split_list, whole_number};
use crate::domain::deskconfig::{ALWAYS_OPEN, DeskConfig, PolicyDef};
use crate::domain::sla::Targets;
use crate::domain::{FieldProblem, Severity};
use crate::i18n::Tr;
use crate::web::Page;

/// A policy as its form holds it: text, exactly as typed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PolicyForm {
    name: String,
    calendar: String,
    warn_at_percent: String,
    max_pause_minutes: String,
    critical_first_response: String,
    critical_resolution: String,
    high_first_response: String,
    high_resolution: String,
    medium_first_response: String,
    medium_resolution: String,
    low_first_response: String,
    low_resolution: String,
}

/// One priority's row of targets in the form.
pub struct TargetField<'a> {
    pub priority: &'static str,
    pub label: &'static str,
    pub first_response: &'a str,
    pub resolution: &'a str,
}

impl PolicyForm {
    fn new_default() -> Self {
        PolicyForm {
            calendar: ALWAYS_OPEN.to_string(),
            warn_at_percent: "75, 90".into(),
            max_pause_minutes: "1440".into(),
            ..Default::default()
        }
    }

    fn of(def: &PolicyDef) -> Self {
        let mut form = PolicyForm {
            name: def.name.clone(),
            calendar: def.calendar.clone(),
            warn_at_percent: def
                .warn_at_percent
                .iter()
                .map(|w| w.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            max_pause_minutes: def.max_pause_minutes.to_string(),
            ..Default::default()
        };
        for (sev, t) in &def.targets {
            let (fr, res) = form.slots(*sev);
            *fr = t.first_response.to_string();
            *res = t.resolution.to_string();
        }
        form
    }

    fn slots(&mut self, sev: Severity) -> (&mut String, &mut String) {
        match sev {
            Severity::Critical => (
                &mut self.critical_first_response,
                &mut self.critical_resolution,
            ),
            Severity::High => (&mut self.high_first_response, &mut self.high_resolution),
            Severity::Medium => (&mut self.medium_first_response, &mut self.medium_resolution),
            Severity::Low => (&mut self.low_first_response, &mut self.low_resolution),
        }
    }

    fn pair(&self, sev: Severity) -> (&str, &str) {
        match sev {
            Severity::Critical => (&self.critical_first_response, &self.critical_resolution),
            Severity::High => (&self.high_first_response, &self.high_resolution),
            Severity::Medium => (&self.medium_first_response, &self.medium_resolution),
            Severity::Low => (&self.low_first_response, &self.low_resolution),
        }
    }

    /// The targets, most urgent priority first.
    pub fn targets(&self) -> Vec<TargetField<'_>> {
        Severity::ALL
            .iter()
            .rev()
            .map(|&sev| {
                let (first_response, resolution) = self.pair(sev);
                TargetField {
                    priority: sev.as_str(),
                    label: severity_key(sev),
                    first_response,
                    resolution,
                }
            })
            .collect()
    }

    /// The policy the form describes. Only what the file format cannot say (text
    /// that is not a number) is refused here; ranges and references are left to the
    /// configuration's validator.
    fn to_def(&self, name: &str, path: &str, tr: Tr) -> Result<PolicyDef, Vec<FieldProblem>> {
        let mut problems = Vec::new();
        let mut warn = Vec::new();
        for (i, item) in split_list(&self.warn_at_percent).iter().enumerate() {
            match item.parse::<i32>() {
                Ok(w) => warn.push(w),
                Err(_) => problems.push(FieldProblem::new(
                    format!("{path}.warn_at_percent[{i}]"),
                    tr.tf("desk.problem.number", &[("text", item)]),
                )),
            }
        }
        let max_pause = whole_number(
            &self.max_pause_minutes,
            format!("{path}.max_pause_minutes"),
            false,
            tr,
            &mut problems,
        )
        .unwrap_or(0);
        let mut targets = BTreeMap::new();
        for sev in Severity::ALL {
            let (fr, res) = self.pair(sev);
            let field = |what: &str| format!("{path}.targets.{}.{what}", sev.as_str());
            let fr = whole_number(fr, field("first_response"), true, tr, &mut problems);
            let res = whole_number(res, field("resolution"), true, tr, &mut problems);
            if let (Some(first_response), Some(resolution)) = (fr, res) {
                targets.insert(
                    sev,
                    Targets {
                        first_response,
                        resolution,
                    },
                );
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let calendar = self.calendar.trim();
        Ok(PolicyDef {
            name: name.trim().to_string(),
            calendar: if calendar.is_empty() {
                ALWAYS_OPEN.to_string()
            } else {
                calendar.to_string()
            },
            warn_at_percent: warn,
            max_pause_minutes: max_pause,
            targets,
        })
    }
}

/// A policy in the list.
pub struct Row {
    pub name: String,
    pub href: String,
    pub calendar: String,
    pub always_open: bool,
    pub warn: String,
    pub max_pause_minutes: i64,
    /// (priority label key, first response, resolution), most urgent first.
    pub targets: Vec<(&'static str, i64, i64)>,
    pub used_by: Vec<String>,
}

fn used_by(cfg: &DeskConfig, name: &str) -> Vec<String> {
    cfg.queues
        .iter()
        .filter(|q| q.sla_policy == name)
        .map(|q| q.name.clone())
        .collect()
}

fn rows(cfg: &DeskConfig) -> Vec<Row> {
    cfg.sla_policies
        .iter()
        .map(|p| Row {
            href: href::<Policies>(&p.name),
            name: p.name.clone(),
            always_open: p.calendar == ALWAYS_OPEN,
            calendar: p.calendar.clone(),
            warn: p
                .warn_at_percent
                .iter()
                .map(|w| format!("{w} %"))
                .collect::<Vec<_>>()
                .join(", "),
            max_pause_minutes: p.max_pause_minutes,
            targets: p
                .targets
                .iter()
                .rev()
                .map(|(s, t)| (severity_key(*s), t.first_response, t.resolution))
                .collect(),
            used_by: used_by(cfg, &p.name),
        })
        .collect()
}

fn calendar_names(cfg: &DeskConfig) -> Vec<String> {
    cfg.calendars.iter().map(|c| c.name.clone()).collect()
}

#[derive(Template)]
#[template(path = "admin/sla_policies.html")]
pub struct ListPage {
    page: Page,
    policies: Vec<Row>,
    form: PolicyForm,
    calendars: Vec<String>,
    problems: Vec<FieldProblem>,
}

#[derive(Template)]
#[template(path = "admin/sla_policy_edit.html")]
pub struct EditPage {
    page: Page,
    name: String,
    href: String,
    form: PolicyForm,
    calendars: Vec<String>,
    used_by: Vec<String>,
    problems: Vec<FieldProblem>,
}

/// The pages of SLA policies.
pub struct Policies;

impl DeskObject for Policies {
    type Form = PolicyForm;
    type Key = String;
    type Query = NoQuery;
    type Def = PolicyDef;
    type ListPage = ListPage;
    type EditPage = EditPage;

    const LIST: &'static str = "/admin/sla-policies";
    const IN_FILE: &'static str = "sla_policies";
    const CREATED: &'static str = "flash.policy_created";
    const SAVED: &'static str = "flash.policy_saved";
    const DELETED: &'static str = "flash.policy_deleted";

    fn items(cfg: &DeskConfig) -> &[PolicyDef] {
        &cfg.sla_policies
    }

    fn items_mut(cfg: &mut DeskConfig) -> &mut Vec<PolicyDef> {
        &mut cfg.sla_policies
    }

    fn index(items: &[PolicyDef], name: &String) -> Option<usize> {
        items.iter().position(|p| p.name == *name)
    }

    fn parse(
        form: &PolicyForm,
        name: Option<&String>,
        at: &str,
        ctx: FormCtx,
    ) -> Result<PolicyDef, Vec<FieldProblem>> {
        form.to_def(name.unwrap_or(&form.name), at, ctx.tr)
    }

    fn blank(_: &Page) -> PolicyForm {
        PolicyForm::new_default()
    }

    fn list_page(
        cfg: &DeskConfig,
        page: &Page,
        _now: DateTime<Utc>,
        form: PolicyForm,
        problems: Vec<FieldProblem>,
    ) -> ListPage {
        ListPage {
            policies: rows(cfg),
            calendars: calendar_names(cfg),
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
        def: &PolicyDef,
        typed: Option<PolicyForm>,
        _: &NoQuery,
        problems: Vec<FieldProblem>,
    ) -> EditPage {
        EditPage {
            href: href::<Self>(&name),
            form: typed.unwrap_or_else(|| PolicyForm::of(def)),
            calendars: calendar_names(cfg),
            used_by: used_by(cfg, &name),
            problems,
            name,
            page: page.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Lang;

    #[test]
    fn numbers_that_are_not_numbers_are_named() {
        let form = PolicyForm {
            name: "p".into(),
            warn_at_percent: "75, ninety".into(),
            critical_first_response: "15".into(),
            critical_resolution: "abc".into(),
            ..PolicyForm::new_default()
        };
        let problems = form
            .to_def("p", "sla_policies[1]", Tr::new(Lang::En))
            .unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert!(fields.contains(&"sla_policies[1].warn_at_percent[1]"));
        assert!(fields.contains(&"sla_policies[1].targets.critical.resolution"));
        assert!(fields.contains(&"sla_policies[1].targets.low.first_response"));
    }
}
