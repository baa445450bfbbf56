// Emergencies in the browser: declaring one on a case, the emergency's page (where
// the e-mail's link leads), acknowledging or handing it on, standing it down, and
// the panel the case page shows.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::page::{FlashKind, redirect_with_flash};
use super::{CurrentUser, Page, Supervisor, db};
use crate::cases::emergency::{self as emergency, Emergency};
use crate::db::DbConn;
use crate::error::AppError;
use crate::i18n::Tr;
use crate::state::AppState;
use crate::store::cases::{Case, case_ref};

/// One person paged, as the pages show it.
pub struct PagedView {
    pub who: String,
    pub at: chrono::NaiveDateTime,
    pub rota: Option<String>,
    pub level: i32,
    /// The translation key of their answer (none while waiting).
    pub answer: Option<&'static str>,
}

/// An emergency as the case page and its own page show it.
pub struct EmergencyView {
    pub id: i64,
    pub case_ref: String,
    pub why: String,
    pub declared_at: chrono::NaiveDateTime,
    pub declared_by: Option<String>,
    pub ack_due_at: Option<chrono::NaiveDateTime>,
    pub acknowledged: Option<(String, chrono::NaiveDateTime)>,
    pub ended: Option<(&'static str, chrono::NaiveDateTime)>,
    pub end_reason: Option<String>,
    pub paged: Vec<PagedView>,
    /// The reader has a page of it to answer.
    pub mine: bool,
}

fn answer_key(answer: Option<&str>) -> Option<&'static str> {
    Some(match answer? {
        "acknowledged" => "emergency.answer.acknowledged",
        "handed_over" => "emergency.answer.handed_over",
        _ => "emergency.answer.closed",
    })
}

fn email(conn: &mut DbConn, id: Option<i64>) -> Result<Option<String>, AppError> {
    Ok(crate::store::cases::assignee_email(conn, id)?)
}

/// Reads an emergency for `reader` into what the pages show.
pub fn view(
    conn: &mut DbConn,
    tr: &Tr,
    em: &Emergency,
    reader: i64,
) -> Result<EmergencyView, AppError> {
    let pages = emergency::pages_of(conn, em.id)?;
    let mine = em.ended_at.is_none()
        && em.acknowledged_at.is_none()
        && pages
            .iter()
            .any(|(p, _, _)| p.user_id == reader && p.answered_at.is_none());
    let acknowledged = match (email(conn, em.acknowledged_by)?, em.acknowledged_at) {
        (Some(by), Some(at)) => Some((by, at)),
        _ => None,
    };
    Ok(EmergencyView {
        id: em.id,
        case_ref: case_ref(em.case_id),
        why: crate::i18n::events::emergency_reason(tr, &em.cause, &em.reason),
        declared_at: em.declared_at,
        declared_by: email(conn, em.declared_by)?,
        ack_due_at: em.ack_due_at,
        acknowledged,
        ended: em.ended_at.map(|at| {
            (
                if em.ended_how.as_deref() == Some("stood_down") {
                    "emergency.ended_stood_down"
                } else {
                    "emergency.ended_resolved"
                },
                at,
            )
        }),
        end_reason: em.end_reason.clone(),
        paged: pages
            .into_iter()
            .map(|(p, name, mail)| PagedView {
                who: format!("{name} <{mail}>"),
                at: p.paged_at,
                rota: p.rota,
                level: p.level,
                answer: answer_key(p.answer.as_deref()),
            })
            .collect(),
        mine,
    })
}

/// The case page's emergency panel.
pub struct EmergencyPanel {
    /// The open emergency, or the last one.
    pub current: Option<EmergencyView>,
    pub open: bool,
    pub can_declare: bool,
    pub can_stand_down: bool,
}

pub fn panel(
    conn: &mut DbConn,
    tr: &Tr,
    user: &CurrentUser,
    case: &Case,
) -> Result<EmergencyPanel, AppError> {
    let latest = emergency::latest_of_case(conn, case.id)?;
    let open = latest.as_ref().is_some_and(|e| e.ended_at.is_none());
    Ok(EmergencyPanel {
        current: latest
            .as_ref()
            .map(|e| view(conn, tr, e, user.user.id))
            .transpose()?,
        open,
        can_declare: !open && case.resolved_at.is_none(),
        can_stand_down: open && user.role.is_supervisor_or_admin(),
    })
}

/// Back to `back` with `done`'s flash, or the command's refusal.
fn answered(
    back: &str,
    done: Result<Emergency, crate::cases::CaseError>,
    done_key: &'static str,
) -> Result<HttpResponse, AppError> {
    match done {
        Ok(_) => Ok(redirect_with_flash(back, FlashKind::Success, done_key)),
        Err(e) => super::resolution::refused(back, e),
    }
}

#[derive(Deserialize)]
pub struct ReasonForm {
    #[serde(default)]
    pub reason: String,
}

#[derive(Deserialize)]
pub struct HandForm {
    #[serde(default)]
    pub to: String,
}

/// `POST /cases/{case_ref}/emergency`: anyone who sees the case declares one.
pub async fn declare(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<ReasonForm>,
) -> Result<HttpResponse, AppError> {
    let reference = path.into_inner();
    let back = format!("/cases/{reference}");
    let reason = form.into_inner().reason;
    let (now, st, u) = (state.now(), state.clone(), user.clone());
    let done = db(&state, move |conn| {
        let case = super::scope::visible_case(conn, &u, &reference)?;
        let snap = st.desk.get(conn)?;
        let pager = emergency::Pager {
            snap: &snap,
            base: &st.settings.public_url,
        };
        Ok(emergency::declare(
            conn, pager, now, u.user.id, case.id, &reason,
        ))
    })
    .await?;
    answered(&back, done, "flash.emergency_declared")
}

/// `POST /cases/{case_ref}/emergency/stand-down`: a supervisor ends it.
pub async fn stand_down(
    Supervisor(user): Supervisor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<ReasonForm>,
) -> Result<HttpResponse, AppError> {
    let reference = path.into_inner();
    let back = format!("/cases/{reference}");
    let reason = form.into_inner().reason;
    let (now, u) = (state.now(), user.clone());
    let done = db(&state, move |conn| {
        let case = super::scope::visible_case(conn, &u, &reference)?;
        Ok(emergency::stand_down(
            conn, now, u.user.id, case.id, &reason,
        ))
    })
    .await?;
    answered(&back, done, "flash.emergency_stood_down")
}

#[derive(Template)]
#[template(path = "emergencies/show.html")]
struct ShowPage {
    page: Page,
    e: EmergencyView,
    can_stand_down: bool,
}

/// Finds an emergency the user may see: one they were paged for, or whose case they
/// see (else 404).
fn visible(conn: &mut DbConn, user: &CurrentUser, id: i64) -> Result<Emergency, AppError> {
    let em = emergency::find(conn, id)?.ok_or(AppError::NotFound)?;
    let paged = emergency::pages_of(conn, em.id)?
        .iter()
        .any(|(p, _, _)| p.user_id == user.user.id);
    if !paged {
        super::scope::visible_case(conn, user, &case_ref(em.case_id))?;
    }
    Ok(em)
}

/// `GET /emergencies/{id}`: the emergency, where the page's e-mail leads.
pub async fn show(
    user: CurrentUser,
    state: web::Data<AppState>,
    page: Page,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let (u, tr) = (user.clone(), page.tr);
    let (e, open) = db(&state, move |conn| {
        let em = visible(conn, &u, id)?;
        Ok((view(conn, &tr, &em, u.user.id)?, em.ended_at.is_none()))
    })
    .await?;
    page.render(&ShowPage {
        can_stand_down: open && user.role.is_supervisor_or_admin(),
        e,
        page: page.clone(),
    })
}

/// `POST /emergencies/{id}/ack`: one paged acknowledges.
pub async fn acknowledge(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let back = format!("/emergencies/{id}");
    let (now, u) = (state.now(), user.clone());
    let done = db(&state, move |conn| {
        visible(conn, &u, id)?;
        Ok(emergency::acknowledge(conn, now, u.user.id, id))
    })
    .await?;
    answered(&back, done, "flash.emergency_acknowledged")
}

/// `POST /emergencies/{id}/hand-over`: one paged hands it to a named colleague.
pub async fn hand_over(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    form: web::Form<HandForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let back = format!("/emergencies/{id}");
    let to = form.into_inner().to;
    let (now, st, u) = (state.now(), state.clone(), user.clone());
    let done = db(&state, move |conn| {
        visible(conn, &u, id)?;
        let snap = st.desk.get(conn)?;
        let pager = emergency::Pager {
            snap: &snap,
            base: &st.settings.public_url,
        };
        Ok(emergency::hand_over(conn, pager, now, u.user.id, id, &to))
    })
    .await?;
    answered(&back, done, "flash.emergency_handed_over")
}
