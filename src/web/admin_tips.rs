// Security tips: supervisors and admins list, add, change and remove the short notes
// customers see on their pages and in the desk's e-mails to them; both languages
// required, every change audited.

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
use crate::mail::tips::{self, MAX_LABEL, MAX_TEXT, Tip, TipInput};
use crate::state::AppState;
use crate::store::deskconfig::Snapshot;

use super::admin_templates::Choice;

/// A tip's form, as stored or as submitted.
pub struct TipForm {
    pub label: String,
    pub text_en: String,
    pub text_zh: String,
    pub rules: Vec<Choice>,
    pub active: bool,
    pub position: String,
}

#[derive(Template)]
#[template(path = "admin/tips.html")]
struct ListPage {
    page: Page,
    tips: Vec<Tip>,
    form: TipForm,
    problems: Vec<FieldProblem>,
    max_text: usize,
    max_label: usize,
}

#[derive(Template)]
#[template(path = "admin/tip_edit.html")]
struct EditPage {
    page: Page,
    id: i64,
    form: TipForm,
    problems: Vec<FieldProblem>,
    max_text: usize,
    max_label: usize,
}

fn rule_choices(snap: &Snapshot, chosen: &[String]) -> Vec<Choice> {
    let mut out: Vec<Choice> = snap
        .rules
        .values()
        .map(|r| Choice {
            value: r.code.clone(),
            label: r.name.clone(),
            checked: chosen.contains(&r.code),
        })
        .collect();
    for r in chosen.iter().filter(|r| !snap.rules.contains_key(*r)) {
        out.push(Choice {
            value: r.clone(),
            label: String::new(),
            checked: true,
        });
    }
    out.sort_by(|a, b| a.value.cmp(&b.value));
    out
}

fn form_of(snap: &Snapshot, input: &TipInput, position: String) -> TipForm {
    TipForm {
        label: input.label.clone(),
        text_en: input.text_en.clone(),
        text_zh: input.text_zh.clone(),
        rules: rule_choices(snap, &input.rules),
        active: input.active,
        position,
    }
}

fn input_of(tip: &Tip) -> TipInput {
    TipInput {
        label: tip.label.clone(),
        text_en: tip.text_en.clone(),
        text_zh: tip.text_zh.clone(),
        rules: tip.rules(),
        active: tip.active,
        position: tip.position,
    }
}

/// A submitted tip: its input and the position as typed.
fn parse(fields: Vec<(String, String)>) -> (TipInput, String) {
    let get = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    let position = get("position");
    let input = TipInput {
        label: get("label"),
        text_en: get("text_en").replace("\r\n", "\n"),
        text_zh: get("text_zh").replace("\r\n", "\n"),
        rules: fields
            .iter()
            .filter(|(k, v)| k == "rule" && !v.trim().is_empty())
            .map(|(_, v)| v.trim().to_string())
            .collect(),
        active: fields.iter().any(|(k, v)| k == "active" && v == "1"),
        position: position.parse().unwrap_or(0),
    };
    (input, position)
}

/// The problems of a submitted tip, its position included.
fn problems_of(input: &TipInput, position: &str, snap: &Snapshot) -> Vec<FieldProblem> {
    let mut p = tips::check(input, |r| snap.rules.contains_key(r));
    if !position.is_empty()
        && position
            .parse::<i32>()
            .map_or(true, |n| !(0..=9999).contains(&n))
    {
        p.push(FieldProblem::keyed(
            "position",
            crate::i18n::tkey("tips.bad_position"),
            &[],
        ));
    }
    p
}

async fn list_page(
    state: &web::Data<AppState>,
    page: &Page,
    submitted: Option<(TipInput, String)>,
    problems: Vec<FieldProblem>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let st = state.clone();
    let (all, snap, next) = db(state, move |conn| {
        Ok((
            tips::all(conn)?,
            st.desk.get(conn)?,
            tips::next_position(conn)?,
        ))
    })
    .await?;
    let (input, position) = submitted.unwrap_or_else(|| {
        (
            TipInput {
                active: true,
                ..Default::default()
            },
            next.to_string(),
        )
    });
    page.render_status(
        status,
        &ListPage {
            tips: all,
            form: form_of(&snap, &input, position),
            problems,
            max_text: MAX_TEXT,
            max_label: MAX_LABEL,
            page: page.clone(),
        },
    )
}

/// `GET /admin/tips`: every tip in order, and the form of a new one.
pub async fn list(
    _: Supervisor,
    state: web::Data<AppState>,
    page: Page,
) -> Result<HttpResponse, AppError> {
    list_page(&state, &page, None, Vec::new(), StatusCode::OK).await
}

/// `POST /admin/tips`: adds a tip written in both languages.
pub async fn create(
    Supervisor(user): Supervisor,
    state: web::Data<AppState>,
    page: Page,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let (mut input, position) = parse(form.into_inner());
    let st = state.clone();
    let now = state.now();
    let i = input.clone();
    let pos = position.clone();
    let outcome = db(&state, move |conn| {
        let snap = st.desk.get(conn)?;
        let problems = problems_of(&i, &pos, &snap);
        if !problems.is_empty() {
            return Ok(Err(problems));
        }
        let mut i = i;
        if pos.is_empty() {
            i.position = tips::next_position(conn)?;
        }
        let actor = user.actor();
        write_tx(conn, |c| {
            let id = tips::create(c, &i, Some(user.user.id), now)?;
            accounts::record(
                c,
                now,
                &actor,
                "security_tip.created",
                Some(&id.to_string()),
                json!({"label": i.label, "rules": i.rules, "active": i.active}),
            )?;
            Ok::<_, AppError>(Ok(()))
        })
    })
    .await?;
    match outcome {
        Ok(()) => Ok(redirect_with_flash(
            "/admin/tips",
            FlashKind::Success,
            "tips.flash.created",
        )),
        Err(problems) => {
            input.rules.sort();
            list_page(
                &state,
                &page,
                Some((input, position)),
                problems,
                StatusCode::BAD_REQUEST,
            )
            .await
        }
    }
}

/// `GET /admin/tips/{id}`: a tip's form.
pub async fn edit(
    _: Supervisor,
    state: web::Data<AppState>,
    page: Page,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let st = state.clone();
    let (tip, snap) = db(&state, move |conn| {
        let tip = tips::find(conn, id)?.ok_or(AppError::NotFound)?;
        Ok((tip, st.desk.get(conn)?))
    })
    .await?;
    page.render(&EditPage {
        id,
        form: form_of(&snap, &input_of(&tip), tip.position.to_string()),
        problems: Vec::new(),
        max_text: MAX_TEXT,
        max_label: MAX_LABEL,
        page: page.clone(),
    })
}

/// `POST /admin/tips/{id}`: changes a tip; both languages required.
pub async fn update(
    Supervisor(user): Supervisor,
    state: web::Data<AppState>,
    page: Page,
    path: web::Path<i64>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let (input, position) = parse(form.into_inner());
    let st = state.clone();
    let now = state.now();
    let (i, pos) = (input.clone(), position.clone());
    let outcome = db(&state, move |conn| {
        let snap = st.desk.get(conn)?;
        let tip = tips::find(conn, id)?.ok_or(AppError::NotFound)?;
        let problems = problems_of(&i, &pos, &snap);
        if !problems.is_empty() {
            return Ok(Err((problems, snap)));
        }
        let mut i = i;
        if pos.is_empty() {
            i.position = tip.position;
        }
        let actor = user.actor();
        write_tx(conn, |c| {
            if !tips::update(c, id, &i, user.user.id, now)? {
                return Err(AppError::NotFound);
            }
            accounts::record(
                c,
                now,
                &actor,
                "security_tip.updated",
                Some(&id.to_string()),
                json!({"label": i.label, "rules": i.rules, "active": i.active,
                       "text_changed": tip.text_en != i.text_en.trim() || tip.text_zh != i.text_zh.trim()}),
            )?;
            Ok(Ok(()))
        })
    })
    .await?;
    match outcome {
        Ok(()) => Ok(redirect_with_flash(
            "/admin/tips",
            FlashKind::Success,
            "tips.flash.saved",
        )),
        Err((problems, snap)) => page.render_status(
            StatusCode::BAD_REQUEST,
            &EditPage {
                id,
                form: form_of(&snap, &input, position),
                problems,
                max_text: MAX_TEXT,
                max_label: MAX_LABEL,
                page: page.clone(),
            },
        ),
    }
}

/// `POST /admin/tips/{id}/delete`: removes a tip.
pub async fn delete(
    Supervisor(user): Supervisor,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let now = state.now();
    db(&state, move |conn| {
        let tip = tips::find(conn, id)?.ok_or(AppError::NotFound)?;
        let actor = user.actor();
        write_tx(conn, |c| {
            if !tips::delete(c, id)? {
                return Err(AppError::NotFound);
            }
            accounts::record(
                c,
                now,
                &actor,
                "security_tip.deleted",
                Some(&id.to_string()),
                json!({"label": tip.label, "text_en": tip.text_en, "text_zh": tip.text_zh}),
            )?;
            Ok(())
        })
    })
    .await?;
    Ok(redirect_with_flash(
        "/admin/tips",
        FlashKind::Success,
        "tips.flash.deleted",
    ))
}
