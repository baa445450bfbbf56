// Playbooks per rule, in English and Simplified Chinese: the list and the edit page
// for supervisors and admins, each save on the audit trail.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use serde_json::json;

use super::page::{FlashKind, redirect_with_flash};
use super::{Page, Supervisor, db};
use crate::db::write_tx;
use crate::error::AppError;
use crate::state::AppState;
use crate::store::{self, playbooks};

/// The longest steps or script kept, in characters.
const MAX_TEXT: usize = 10_000;

pub struct RuleRow {
    pub code: String,
    pub name: String,
    pub has_en: bool,
    pub has_zh: bool,
}

#[derive(Template)]
#[template(path = "admin/playbooks.html")]
struct ListPage {
    page: Page,
    rules: Vec<RuleRow>,
}

#[derive(Template)]
#[template(path = "admin/playbook_edit.html")]
struct EditPage {
    page: Page,
    code: String,
    name: String,
    steps_en: String,
    script_en: String,
    steps_zh: String,
    script_zh: String,
}

/// `GET /admin/playbooks`: every rule and the languages its playbook has.
pub async fn list(
    _: Supervisor,
    state: web::Data<AppState>,
    page: Page,
) -> Result<HttpResponse, AppError> {
    let st = state.clone();
    let rules = db(&state, move |conn| {
        let snap = st.desk.get(conn)?;
        let index = playbooks::index(conn)?;
        let mut rules: Vec<RuleRow> = snap
            .rules
            .values()
            .map(|r| RuleRow {
                code: r.code.clone(),
                name: r.name.clone(),
                has_en: index.iter().any(|(c, l)| *c == r.code && l == "en"),
                has_zh: index.iter().any(|(c, l)| *c == r.code && l == "zh-CN"),
            })
            .collect();
        rules.sort_by(|a, b| a.code.cmp(&b.code));
        Ok(rules)
    })
    .await?;
    page.render(&ListPage {
        rules,
        page: page.clone(),
    })
}

/// `GET /admin/playbooks/{code}`: the rule's playbook in both languages.
pub async fn edit(
    _: Supervisor,
    state: web::Data<AppState>,
    page: Page,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let code = path.into_inner();
    let st = state.clone();
    let (code, name, books) = db(&state, move |conn| {
        let snap = st.desk.get(conn)?;
        let rule = snap.rules.get(&code).ok_or(AppError::NotFound)?;
        Ok((
            rule.code.clone(),
            rule.name.clone(),
            playbooks::of_rule(conn, &rule.code)?,
        ))
    })
    .await?;
    let pick = |lang: &str| {
        books
            .iter()
            .find(|b| b.lang == lang)
            .map(|b| (b.steps.clone(), b.script.clone()))
            .unwrap_or_default()
    };
    let (steps_en, script_en) = pick("en");
    let (steps_zh, script_zh) = pick("zh-CN");
    page.render(&EditPage {
        code,
        name,
        steps_en,
        script_en,
        steps_zh,
        script_zh,
        page: page.clone(),
    })
}

#[derive(Deserialize)]
pub struct PlaybookForm {
    #[serde(default)]
    steps_en: String,
    #[serde(default)]
    script_en: String,
    #[serde(default)]
    steps_zh: String,
    #[serde(default)]
    script_zh: String,
}

/// `POST /admin/playbooks/{code}`: saves both languages at once; an empty language
/// is removed.
pub async fn update(
    Supervisor(user): Supervisor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<PlaybookForm>,
) -> Result<HttpResponse, AppError> {
    let code = path.into_inner();
    let back = format!("/admin/playbooks/{code}");
    let f = form.into_inner();
    let texts = [
        (
            "en",
            f.steps_en.trim().to_string(),
            f.script_en.trim().to_string(),
        ),
        (
            "zh-CN",
            f.steps_zh.trim().to_string(),
            f.script_zh.trim().to_string(),
        ),
    ];
    let st = state.clone();
    let now = state.now();
    let u = user.clone();
    let refused = db(&state, move |conn| {
        let snap = st.desk.get(conn)?;
        let rule = snap.rules.get(&code).ok_or(AppError::NotFound)?;
        if texts
            .iter()
            .any(|(_, s, c)| s.chars().count() > MAX_TEXT || c.chars().count() > MAX_TEXT)
        {
            return Ok(Some("flash.playbook_too_long"));
        }
        let at = store::to_db(now);
        write_tx(conn, |c| {
            let mut changed = Vec::new();
            for (lang, steps, script) in &texts {
                if playbooks::save(c, &rule.code, lang, steps, script, at, Some(u.user.id))? {
                    changed.push(*lang);
                }
            }
            if !changed.is_empty() {
                crate::accounts::record(
                    c,
                    now,
                    &u.actor(),
                    "playbook.saved",
                    Some(&rule.code),
                    json!({"rule": rule.code, "languages": changed}),
                )?;
            }
            Ok::<_, AppError>(())
        })?;
        Ok(None)
    })
    .await?;
    Ok(match refused {
        Some(key) => redirect_with_flash(&back, FlashKind::Error, key),
        None => redirect_with_flash(&back, FlashKind::Success, "flash.playbook_saved"),
    })
}
