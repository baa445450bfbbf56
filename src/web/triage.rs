// Mail triage: inbound e-mail the desk could not put on a case by itself, with the
// reason; supervisors and admins attach a mail to a case or discard it (audited).

use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::NaiveDateTime;
use serde::Deserialize;

use super::page::{FlashKind, redirect_with_flash};
use super::{Page, Supervisor, db};
use crate::cases::CaseError;
use crate::domain::masking;
use crate::error::AppError;
use crate::inbound;
use crate::state::AppState;
use crate::store::cases::{case_ref, parse_case_ref};
use crate::store::inbound as store;

/// How many mails the list shows.
const LIST: i64 = 200;

/// One mail as the list shows it.
pub struct Row {
    pub id: i64,
    pub received_at: NaiveDateTime,
    pub from: String,
    pub subject: String,
    pub reason: &'static str,
    pub case: Option<String>,
}

#[derive(Template)]
#[template(path = "triage/list.html")]
struct ListPage {
    page: Page,
    rows: Vec<Row>,
    total: i64,
}

fn from_label(from: Option<&str>) -> String {
    from.map(masking::email).unwrap_or_default()
}

/// `GET /triage/mail`: the mails waiting, newest first.
pub async fn list(
    _user: Supervisor,
    state: web::Data<AppState>,
    page: Page,
) -> Result<HttpResponse, AppError> {
    let (mails, total) = db(&state, |conn| {
        Ok((store::in_triage(conn, LIST)?, store::triage_count(conn)?))
    })
    .await?;
    let rows = mails
        .into_iter()
        .map(|m| Row {
            id: m.id,
            received_at: m.received_at,
            from: from_label(m.from_addr.as_deref()),
            subject: masking::numbers_in(m.subject.as_deref().unwrap_or_default()),
            reason: inbound::reason_key(m.reason.as_deref().unwrap_or_default()),
            case: m.case_id.map(case_ref),
        })
        .collect();
    page.render(&ListPage {
        rows,
        total,
        page: page.clone(),
    })
}

#[derive(Template)]
#[template(path = "triage/show.html")]
struct ShowPage {
    page: Page,
    id: i64,
    row: Row,
    source: String,
    size: String,
    outcome: String,
    text: String,
    files: Vec<String>,
    waiting: bool,
    decided_at: Option<NaiveDateTime>,
}

/// `GET /triage/mail/{id}`: one mail, its new text and files, and the decisions.
pub async fn show(
    _user: Supervisor,
    state: web::Data<AppState>,
    page: Page,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id: i64 = path.into_inner().parse().map_err(|_| AppError::NotFound)?;
    let d = db(&state, move |conn| {
        inbound::detail(conn, id)?.ok_or(AppError::NotFound)
    })
    .await?;
    let m = d.row;
    page.render(&ShowPage {
        id: m.id,
        waiting: m.outcome.as_deref() == Some(store::TRIAGE),
        outcome: m.outcome.clone().unwrap_or_default(),
        source: m.source.clone(),
        size: format!("{} KB", (m.size + 1023) / 1024),
        decided_at: m.decided_at,
        row: Row {
            id: m.id,
            received_at: m.received_at,
            from: from_label(m.from_addr.as_deref()),
            subject: masking::numbers_in(m.subject.as_deref().unwrap_or_default()),
            reason: inbound::reason_key(m.reason.as_deref().unwrap_or_default()),
            case: m.case_id.map(case_ref),
        },
        text: masking::numbers_in(&d.text),
        files: d.files,
        page: page.clone(),
    })
}

#[derive(Deserialize)]
pub struct AttachForm {
    #[serde(default)]
    case_ref: String,
}

/// `POST /triage/mail/{id}/attach`: the mail goes on the case as the customer's
/// message.
pub async fn attach(
    user: Supervisor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<AttachForm>,
) -> Result<HttpResponse, AppError> {
    let id: i64 = path.into_inner().parse().map_err(|_| AppError::NotFound)?;
    let back = format!("/triage/mail/{id}");
    let Some(case_id) = parse_case_ref(form.case_ref.trim()) else {
        return Ok(redirect_with_flash(
            &back,
            FlashKind::Error,
            "conversations.triage.unknown_case",
        ));
    };
    let now = state.now();
    let u = user.0;
    let done = db(&state, move |conn| {
        store::find(conn, id)?.ok_or(AppError::NotFound)?;
        Ok(inbound::attach(
            conn,
            now,
            &u.actor(),
            &u.user.email,
            id,
            case_id,
        ))
    })
    .await?;
    Ok(match done {
        Ok(_) => redirect_with_flash(
            &format!("/cases/{}#conversation", case_ref(case_id)),
            FlashKind::Success,
            "conversations.triage.attached",
        ),
        Err(CaseError::NotFound) => {
            redirect_with_flash(&back, FlashKind::Error, "conversations.triage.unknown_case")
        }
        Err(CaseError::Db(e)) => return Err(e.into()),
        Err(other) => redirect_with_flash(
            &back,
            FlashKind::Error,
            other.key().unwrap_or("lifecycle.conflict"),
        ),
    })
}

#[derive(Deserialize)]
pub struct DiscardForm {
    #[serde(default)]
    reason: String,
}

/// `POST /triage/mail/{id}/discard`: the mail leaves Triage, with a reason.
pub async fn discard(
    user: Supervisor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<DiscardForm>,
) -> Result<HttpResponse, AppError> {
    let id: i64 = path.into_inner().parse().map_err(|_| AppError::NotFound)?;
    let back = format!("/triage/mail/{id}");
    let now = state.now();
    let u = user.0;
    let reason = form.into_inner().reason;
    let done = db(&state, move |conn| {
        Ok(inbound::discard(conn, now, &u.actor(), id, &reason))
    })
    .await?;
    Ok(match done {
        Ok(()) => redirect_with_flash(
            "/triage/mail",
            FlashKind::Success,
            "conversations.triage.discarded",
        ),
        Err(CaseError::NotFound) => return Err(AppError::NotFound),
        Err(CaseError::Db(e)) => return Err(e.into()),
        Err(other) => redirect_with_flash(
            &back,
            FlashKind::Error,
            other.key().unwrap_or("lifecycle.conflict"),
        ),
    })
}
