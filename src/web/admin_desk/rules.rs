// Admin pages for the risk engine's rules as the desk knows them: list, create, edit
// (name, category, default severity, weight), delete.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{
    Admin, Choice, change, done, load, position, segment, severity_choices, severity_key,
    whole_number,
};
use crate::app::AppState;
use crate::domain::deskconfig::DeskConfig;
use crate::domain::routing::RuleDef;
use crate::domain::{FieldProblem, Severity};
use crate::error::AppError;
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
}

impl RuleForm {
    fn new_default() -> Self {
        RuleForm {
            default_severity: Severity::Medium.as_str().into(),
            weight: "1".into(),
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
            s => match s.parse::<Severity>() {
                Ok(s) => Some(s),
                Err(e) => {
                    problems.push(FieldProblem::new(format!("{path}.default_severity"), e));
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
            href: format!("/admin/rules/{}", segment(&r.code)),
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
struct ListPage {
    page: Page,
    rules: Vec<Row>,
    form: RuleForm,
    severities: Vec<Choice>,
    categories: Vec<String>,
    problems: Vec<FieldProblem>,
}

async fn render_list(
    state: &AppState,
    page: Page,
    form: RuleForm,
    problems: Vec<FieldProblem>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let cfg = load(state).await?;
    page.render_status(
        status,
        &ListPage {
            rules: rows(&cfg),
            categories: categories(&cfg),
            severities: severity_choices(),
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
        RuleForm::new_default(),
        Vec::new(),
        StatusCode::OK,
    )
    .await
}

pub async fn create(
    Admin(user): Admin,
    state: web::Data<AppState>,
    page: Page,
    form: web::Form<RuleForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let (typed, tr) = (form.clone(), page.tr);
    let outcome = change(&state, &user, move |cfg| {
        let path = format!("rules[{}]", cfg.rules.len());
        let def = form.to_def(&form.code, &path, tr)?;
        cfg.rules.push(def);
        Ok(())
    })
    .await?;
    match outcome {
        Ok(changes) => Ok(done("/admin/rules", &changes, "flash.rule_created")),
        Err(problems) => {
            render_list(
                &state,
                page,
                typed,
                problems,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

#[derive(Template)]
#[template(path = "admin/rule_edit.html")]
struct EditPage {
    page: Page,
    code: String,
    href: String,
    form: RuleForm,
    severities: Vec<Choice>,
    categories: Vec<String>,
    routes: Vec<usize>,
    problems: Vec<FieldProblem>,
}

async fn render_edit(
    state: &AppState,
    page: Page,
    code: String,
    typed: Option<RuleForm>,
    problems: Vec<FieldProblem>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let cfg = load(state).await?;
    let def = cfg
        .rules
        .iter()
        .find(|r| r.code == code)
        .ok_or(AppError::NotFound)?;
    page.render_status(
        status,
        &EditPage {
            href: format!("/admin/rules/{}", segment(&code)),
            form: typed.unwrap_or_else(|| RuleForm::of(def)),
            severities: severity_choices(),
            categories: categories(&cfg),
            routes: routes_of(&cfg, &code),
            problems,
            code,
            page: page.clone(),
        },
    )
}

pub async fn edit(
    _: Admin,
    state: web::Data<AppState>,
    page: Page,
    code: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    render_edit(
        &state,
        page,
        code.into_inner(),
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
    code: web::Path<String>,
    form: web::Form<RuleForm>,
) -> Result<HttpResponse, AppError> {
    let code = code.into_inner();
    let form = form.into_inner();
    let (typed, tr, target) = (form.clone(), page.tr, code.clone());
    let outcome = change(&state, &user, move |cfg| {
        let i = position(&cfg.rules, |x| &x.code, &target)?;
        cfg.rules[i] = form.to_def(&target, &format!("rules[{i}]"), tr)?;
        Ok(())
    })
    .await?;
    match outcome {
        Ok(changes) => Ok(done(
            &format!("/admin/rules/{}", segment(&code)),
            &changes,
            "flash.rule_saved",
        )),
        Err(problems) => {
            render_edit(
                &state,
                page,
                code,
                Some(typed),
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
    code: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let code = code.into_inner();
    let target = code.clone();
    let outcome = change(&state, &user, move |cfg| {
        let i = position(&cfg.rules, |x| &x.code, &target)?;
        cfg.rules.remove(i);
        Ok(())
    })
    .await?;
    match outcome {
        Ok(changes) => Ok(done("/admin/rules", &changes, "flash.rule_deleted")),
        Err(problems) => {
            render_edit(
                &state,
                page,
                code,
                None,
                problems,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}
