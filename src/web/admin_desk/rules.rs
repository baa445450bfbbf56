// The risk engine's rules as the desk knows them, on their admin pages (the handlers
// are `object.rs`'s): the form (name, category, default severity, weight), the pages.

use askama::Template;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::object::{DeskObject, FormCtx, NoQuery, href};
use super::{Choice, severity_choices, severity_key, whole_number};
use crate::domain::deskconfig::DeskConfig;
use crate::domain::routing::RuleDef;
use crate::domain::{FieldProblem, Severity};
use crate::i18n::Tr;
use crate::web::Page;

/// A rule as its form holds it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RuleForm {
    code: String,
    name: String,
    category: String,
    default_severity: String,
    weight: String,
    /// "auto" or "manual".
    verify_by_email: String,
    /// Empty, an amount, or a list such as "5000.00 CNY, 700 USD".
    release_on_confirm_up_to: String,
    /// Empty, or an amount (list) over which an alert declares an emergency.
    emergency_amount: String,
}

impl RuleForm {
    fn new_default() -> Self {
        RuleForm {
            default_severity: Severity::Medium.as_str().into(),
            weight: "1".into(),
            verify_by_email: "manual".into(),
            ..Default::default()
        }
    }

    fn of(def: &RuleDef) -> Self {
        RuleForm {
            code: def.code.clone(),
            name: def.name.clone(),
            category: def.category.clone(),
            default_severity: def.default_severity.as_str().into(),
            weight: def.weight.to_string(),
            verify_by_email: if def.verify_by_email {
                "auto"
            } else {
                "manual"
            }
            .into(),
            release_on_confirm_up_to: def
                .release_on_confirm_up_to
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            emergency_amount: def
                .emergency_amount
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
        }
    }

    fn to_def(&self, code: &str, path: &str, tr: Tr) -> Result<RuleDef, Vec<FieldProblem>> {
        let mut problems = Vec::new();
        let severity = match self.default_severity.trim() {
            "" => {
                problems.push(FieldProblem::new(
                    format!("{path}.default_severity"),
                    tr.t("desk.problem.required"),
                ));
                None
            }
            s => match Severity::check(s) {
                Ok(s) => Some(s),
                Err(e) => {
                    problems.push(FieldProblem::text(format!("{path}.default_severity"), e));
                    None
                }
            },
        };
        // An empty weight is the file's default, 1; the range is the validator's.
        let weight = whole_number(
            &self.weight,
            format!("{path}.weight"),
            false,
            tr,
            &mut problems,
        )
        .unwrap_or(1);
        let verify_by_email = match self.verify_by_email.trim() {
            "" | "manual" => false,
            "auto" => true,
            _ => {
                problems.push(FieldProblem::new(
                    format!("{path}.verify_by_email"),
                    tr.t("desk.rules.verify_by_email_invalid"),
                ));
                false
            }
        };
        let mut limit = |text: &str, field: &str| match text.trim() {
            "" => None,
            text => match crate::domain::resolution::ReleaseThresholds::parse(text) {
                Ok(limit) => Some(limit),
                Err(_) => {
                    problems.push(FieldProblem::new(
                        format!("{path}.{field}"),
                        tr.t("desk.rules.release_limit_invalid"),
                    ));
                    None
                }
            },
        };
        let release_on_confirm_up_to =
            limit(&self.release_on_confirm_up_to, "release_on_confirm_up_to");
        let emergency_amount = limit(&self.emergency_amount, "emergency_amount");
        let (Some(default_severity), true) = (severity, problems.is_empty()) else {
            return Err(problems);
        };
        let code = code.trim().to_string();
        let name = self.name.trim();
        Ok(RuleDef {
            name: if name.is_empty() {
                code.clone()
            } else {
                name.to_string()
            },
            code,
            category: self.category.trim().to_string(),
            default_severity,
            weight: i32::try_from(weight).unwrap_or(if weight < 0 { i32::MIN } else { i32::MAX }),
            verify_by_email,
            release_on_confirm_up_to,
            emergency_amount,
        })
    }
}

/// A rule in the list.
pub struct Row {
    pub code: String,
    pub href: String,
    pub name: String,
    pub category: String,
    pub severity: &'static str,
    pub weight: i32,
    pub routes: Vec<usize>,
}

fn routes_of(cfg: &DeskConfig, code: &str) -> Vec<usize> {
    cfg.routes
        .iter()
        .enumerate()
        .filter(|(_, r)| r.rule.as_deref() == Some(code))
        .map(|(i, _)| i + 1)
        .collect()
}

fn rows(cfg: &DeskConfig) -> Vec<Row> {
    cfg.rules
        .iter()
        .map(|r| Row {
            href: href::<Rules>(&r.code),
            code: r.code.clone(),
            name: r.name.clone(),
            category: r.category.clone(),
            severity: severity_key(r.default_severity),
            weight: r.weight,
            routes: routes_of(cfg, &r.code),
        })
        .collect()
}

/// The categories in use, for the form's suggestions.
pub fn categories(cfg: &DeskConfig) -> Vec<String> {
    let mut all: Vec<String> = cfg.rules.iter().map(|r| r.category.clone()).collect();
    all.sort();
    all.dedup();
    all
}

#[derive(Template)]
#[template(path = "admin/rules.html")]
pub struct ListPage {
    page: Page,
    rules: Vec<Row>,
    form: RuleForm,
    severities: Vec<Choice>,
    categories: Vec<String>,
    problems: Vec<FieldProblem>,
}

#[derive(Template)]
#[template(path = "admin/rule_edit.html")]
pub struct EditPage {
    page: Page,
    code: String,
    href: String,
    form: RuleForm,
    severities: Vec<Choice>,
    categories: Vec<String>,
    routes: Vec<usize>,
    problems: Vec<FieldProblem>,
}

/// The pages of rules.
pub struct Rules;

impl DeskObject for Rules {
    type Form = RuleForm;
    type Key = String;
    type Query = NoQuery;
    type Def = RuleDef;
    type ListPage = ListPage;
    type EditPage = EditPage;

    const LIST: &'static str = "/admin/rules";
    const IN_FILE: &'static str = "rules";
    const CREATED: &'static str = "flash.rule_created";
    const SAVED: &'static str = "flash.rule_saved";
    const DELETED: &'static str = "flash.rule_deleted";

    fn items(cfg: &DeskConfig) -> &[RuleDef] {
        &cfg.rules
    }

    fn items_mut(cfg: &mut DeskConfig) -> &mut Vec<RuleDef> {
        &mut cfg.rules
    }

    fn index(items: &[RuleDef], code: &String) -> Option<usize> {
        items.iter().position(|r| r.code == *code)
    }

    fn parse(
        form: &RuleForm,
        code: Option<&String>,
        at: &str,
        ctx: FormCtx,
    ) -> Result<RuleDef, Vec<FieldProblem>> {
        form.to_def(code.unwrap_or(&form.code), at, ctx.tr)
    }

    fn blank(_: &Page) -> RuleForm {
        RuleForm::new_default()
    }

    fn list_page(
        cfg: &DeskConfig,
        page: &Page,
        _now: DateTime<Utc>,
        form: RuleForm,
        problems: Vec<FieldProblem>,
    ) -> ListPage {
        ListPage {
            rules: rows(cfg),
            categories: categories(cfg),
            severities: severity_choices(),
            form,
            problems,
            page: page.clone(),
        }
    }

    fn edit_page(
        cfg: &DeskConfig,
        page: &Page,
        _now: DateTime<Utc>,
        code: String,
        def: &RuleDef,
        typed: Option<RuleForm>,
        _: &NoQuery,
        problems: Vec<FieldProblem>,
    ) -> EditPage {
        EditPage {
            href: href::<Self>(&code),
            form: typed.unwrap_or_else(|| RuleForm::of(def)),
            severities: severity_choices(),
            categories: categories(cfg),
            routes: routes_of(cfg, &code),
            problems,
            code,
            page: page.clone(),
        }
    }
}
