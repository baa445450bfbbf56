// Working cases: an agent's presence, "take next", releasing a case, resuming its
// paused clock and a supervisor's reassignment, each one command of `crate::cases`.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::page::{FlashKind, redirect_with_flash};
use super::scope::{refused, visible_case};
use super::{CurrentUser, Supervisor, db};
use crate::cases::assign as assignment;
use crate::error::AppError;
use crate::state::AppState;
use crate::store::cases::case_ref;

#[derive(Deserialize)]
pub struct PresenceForm {
    status: String,
    next: Option<String>,
}

/// The agent's own presence: online, away or offline.
pub async fn presence(
    user: CurrentUser,
    state: web::Data<AppState>,
    form: web::Form<PresenceForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let status = form.status.clone();
    if !matches!(status.as_str(), "online" | "away" | "offline") {
        return Err(AppError::BadRequest(format!(
            "status must be online, away or offline, not '{status}'"
        )));
    }
    let now = state.now();
    let (id, st) = (user.user.id, state.clone());
    db(&state, move |conn| {
        let snap = st.desk.get(conn)?;
        Ok(assignment::change_presence(conn, &snap, id, &status, now)?)
    })
    .await?;
    let back = form
        .next
        .filter(|n| n.starts_with('/') && !n.starts_with("//"))
        .unwrap_or_else(|| "/".into());
    Ok(super::see_other(&back))
}

/// "Take next": the most urgent case the agent may take, even while automatic
/// assignment is paused for them.
pub async fn take_next(
    user: CurrentUser,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let now = state.now();
    let (id, st) = (user.user.id, state.clone());
    let taken = db(&state, move |conn| {
        let snap = st.desk.get(conn)?;
        Ok(assignment::take_next(conn, &snap, id, now)?)
    })
    .await?;
    Ok(match taken {
        Some(case) => super::see_other(&format!("/cases/{}", case_ref(case))),
        None => redirect_with_flash("/", FlashKind::Error, "flash.nothing_to_take"),
    })
}

#[derive(Deserialize)]
pub struct ReasonForm {
    #[serde(default)]
    reason: String,
    to: Option<i64>,
}

/// The assignee gives a case back to its queue, with a reason.
pub async fn release(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<ReasonForm>,
) -> Result<HttpResponse, AppError> {
    let reference = path.into_inner();
    let reason = form.reason.trim().to_string();
    if reason.is_empty() {
        return Ok(redirect_with_flash(
            &format!("/cases/{reference}"),
            FlashKind::Error,
            "flash.reason_required",
        ));
    }
    let now = state.now();
    let (u, st, r) = (user.clone(), state.clone(), reference.clone());
    let done = db(&state, move |conn| {
        let case = visible_case(conn, &u, &r)?;
        let snap = st.desk.get(conn)?;
        Ok(assignment::release(
            conn, &snap, case.id, u.user.id, &reason, now,
        ))
    })
    .await?;
    match done {
        Ok(()) => Ok(redirect_with_flash(
            "/",
            FlashKind::Success,
            "flash.case_released",
        )),
        Err(e) => refused(&format!("/cases/{reference}"), e),
    }
}

/// The case's agent or a supervisor starts its paused SLA clock again.
pub async fn resume(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let reference = path.into_inner();
    let back = format!("/cases/{reference}");
    let now = state.now();
    let (u, r) = (user.clone(), reference.clone());
    let done = db(&state, move |conn| {
        let case = visible_case(conn, &u, &r)?;
        let supervisor = u.role.is_supervisor_or_admin();
        Ok(crate::cases::clock::resume_by_hand(
            conn, now, u.user.id, supervisor, case.id,
        ))
    })
    .await?;
    match done {
        Ok(_) => Ok(redirect_with_flash(
            &back,
            FlashKind::Success,
            "flash.clock_resumed",
        )),
        Err(e) => refused(&back, e),
    }
}

/// A supervisor gives a case to another agent, with a required reason.
pub async fn reassign(
    Supervisor(user): Supervisor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<ReasonForm>,
) -> Result<HttpResponse, AppError> {
    let reference = path.into_inner();
    let back = format!("/cases/{reference}");
    let reason = form.reason.trim().to_string();
    let Some(to) = form.to else {
        return Ok(redirect_with_flash(
            &back,
            FlashKind::Error,
            "flash.choose_agent",
        ));
    };
    if reason.is_empty() {
        return Ok(redirect_with_flash(
            &back,
            FlashKind::Error,
            "flash.reason_required",
        ));
    }
    let now = state.now();
    let (u, st, r) = (user.clone(), state.clone(), reference.clone());
    let done = db(&state, move |conn| {
        let case = visible_case(conn, &u, &r)?;
        let snap = st.desk.get(conn)?;
        Ok(assignment::reassign(
            conn, &snap, case.id, to, u.user.id, &reason, now,
        ))
    })
    .await?;
    match done {
        Ok(assignment::Reassigned::NoRoom) => Ok(redirect_with_flash(
            &back,
            FlashKind::Error,
            "flash.agent_full",
        )),
        Ok(_) => Ok(redirect_with_flash(
            &back,
            FlashKind::Success,
            "flash.case_reassigned",
        )),
        Err(e) => refused(&back, e),
    }
}
