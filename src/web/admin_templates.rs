// Response templates for e-mails to customers: supervisors and admins list and edit
// them (a subject and a body per language); every change is audited.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde_json::json;

use super::page::{FlashKind, redirect_with_flash};
use super::{Page, Supervisor, db};
use crate::accounts;
use crate::db::write_tx;
use crate::domain::FieldProblem;
use crate::error::AppError;
use crate::mail::templates::{self, MailTemplate, PLACEHOLDERS};
use crate::state::AppState;

const MAX_SUBJECT: usize = 200;
const MAX_BODY: usize = 10_000;

#[derive(Template)]
#[template(path = "admin/mail_templates.html")]
struct ListPage {
    page: Page,
    rows: Vec<MailTemplate>,
}

pub async fn list(
    _: Supervisor,
    state: web::Data<AppState>,
    page: Page,
) -> Result<HttpResponse, AppError> {
    let rows = db(&state, |conn| Ok(templates::all(conn)?)).await?;
    page.render(&ListPage {
        rows,
        page: page.clone(),
    })
}

/// One language of a template on the edit page, as stored or as submitted.
pub struct Part {
    pub id: i64,
    pub lang: String,
    pub subject: String,
    pub body: String,
}

#[derive(Template)]
#[template(path = "admin/mail_template_edit.html")]
struct EditPage {
    page: Page,
    name: String,
    purpose: String,
    parts: Vec<Part>,
    placeholders: String,
    problems: Vec<FieldProblem>,
}

fn parts_of(rows: Vec<MailTemplate>) -> Vec<Part> {
    rows.into_iter()
        .map(|t| Part {
            id: t.id,
            lang: t.lang,
            subject: t.subject,
            body: t.body,
        })
        .collect()
}

fn placeholder_list() -> String {
    PLACEHOLDERS
        .iter()
        .map(|p| format!("{{{p}}}"))
        .collect::<Vec<_>>()
        .join(" ")
}

pub async fn edit(
    _: Supervisor,
    state: web::Data<AppState>,
    page: Page,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let name = path.into_inner();
    let n = name.clone();
    let rows = db(&state, move |conn| Ok(templates::by_name(conn, &n)?)).await?;
    let purpose = rows.first().ok_or(AppError::NotFound)?.purpose.clone();
    page.render(&EditPage {
        name,
        purpose,
        parts: parts_of(rows),
        placeholders: placeholder_list(),
        problems: Vec::new(),
        page: page.clone(),
    })
}

/// Checks one language's subject and body; each problem names the field and, for
/// unknown placeholders, every one of them.
fn check(page: &Page, part: &Part, problems: &mut Vec<FieldProblem>) {
    for (field, text, max) in [
        ("subject", &part.subject, MAX_SUBJECT),
        ("body", &part.body, MAX_BODY),
    ] {
        let name = format!("{field} ({})", part.lang);
        if text.trim().is_empty() {
            problems.push(FieldProblem::new(name, page.t("mail.templates.required")));
            continue;
        }
        if text.chars().count() > max {
            problems.push(FieldProblem::new(
                name,
                page.tf("mail.templates.too_long", &[("max", &max.to_string())]),
            ));
            continue;
        }
        let unknown = templates::unknown_placeholders(text);
        if !unknown.is_empty() {
            let list = unknown
                .iter()
                .map(|p| format!("{{{p}}}"))
                .collect::<Vec<_>>()
                .join(", ");
            problems.push(FieldProblem::new(
                name,
                page.tf(
                    "mail.templates.unknown_placeholders",
                    &[("names", &list), ("known", &placeholder_list())],
                ),
            ));
        }
    }
}

pub async fn update(
    Supervisor(user): Supervisor,
    state: web::Data<AppState>,
    page: Page,
    path: web::Path<String>,
    form: web::Form<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let name = path.into_inner();
    let form = form.into_inner();
    let n = name.clone();
    let rows = db(&state, move |conn| Ok(templates::by_name(conn, &n)?)).await?;
    let purpose = rows.first().ok_or(AppError::NotFound)?.purpose.clone();
    let mut parts = parts_of(rows);
    for p in &mut parts {
        if let Some(s) = form.get(&format!("subject_{}", p.id)) {
            p.subject = s.trim().to_string();
        }
        if let Some(b) = form.get(&format!("body_{}", p.id)) {
            p.body = b.replace("\r\n", "\n").trim().to_string();
        }
    }
    let mut problems = Vec::new();
    for p in &parts {
        check(&page, p, &mut problems);
    }
    if !problems.is_empty() {
        return page.render_status(
            StatusCode::BAD_REQUEST,
            &EditPage {
                name,
                purpose,
                parts,
                placeholders: placeholder_list(),
                problems,
                page: page.clone(),
            },
        );
    }
    let now = state.now();
    let (actor, id, href) = (
        user.actor(),
        user.user.id,
        format!("/admin/templates/{name}"),
    );
    db(&state, move |conn| {
        write_tx(conn, |c| {
            for p in &parts {
                templates::save(c, p.id, &p.subject, &p.body, id, now)?;
            }
            accounts::record(
                c,
                now,
                &actor,
                "mail_template.updated",
                Some(&name),
                json!({"languages": parts.iter().map(|p| p.lang.clone()).collect::<Vec<_>>()}),
            )?;
            Ok::<_, AppError>(())
        })
    })
    .await?;
    Ok(redirect_with_flash(
        &href,
        FlashKind::Success,
        "mail.flash.template_saved",
    ))
}
