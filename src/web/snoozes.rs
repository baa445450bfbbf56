// Snoozes on the web: an agent snoozes a confirmed false positive's rule for its
// customer from the case page; supervisors list the active snoozes and end them.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::page::{FlashKind, redirect_with_flash};
use super::scope::{refused, visible_case};
use super::{CurrentUser, Page, Supervisor, db};
use crate::cases::CaseError;
use crate::cases::snooze::{self, By};
use crate::error::AppError;
use crate::state::AppState;
use crate::store::snoozes::{self as snooze_store, Listed};

/// Snoozes listed on the page at most.
const LISTED: i64 = 500;

#[derive(Deserialize)]
pub struct SnoozeForm {
    #[serde(default)]
    days: String,
    #[serde(default)]
    reason: String,
}

fn by(user: &CurrentUser) -> By {
    By {
        user_id: user.user.id,
        supervisor: user.role.is_supervisor_or_admin(),
    }
}

/// A refusal as a flash, the form's own problem named first.
fn refused_named(back: &str, e: CaseError) -> Result<HttpResponse, AppError> {
    match e {
        CaseError::Invalid(problems) => Ok(redirect_with_flash(
            back,
            FlashKind::Error,
            problems.first().map_or("snooze.error.days", |p| p.key),
        )),
        other => refused(back, other),
    }
}

pub async fn create(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<SnoozeForm>,
) -> Result<HttpResponse, AppError> {
    let reference = path.into_inner();
    let back = format!("/cases/{reference}");
    let form = form.into_inner();
    let now = state.now();
    let (u, r) = (user.clone(), reference.clone());
    let done = db(&state, move |conn| {
        let case = visible_case(conn, &u, &r)?;
        Ok(snooze::create(
            conn,
            now,
            by(&u),
            case.id,
            &form.days,
            &form.reason,
        ))
    })
    .await?;
    match done {
        Ok(_) => Ok(redirect_with_flash(
            &back,
            FlashKind::Success,
            "flash.snoozed",
        )),
        Err(e) => refused_named(&back, e),
    }
}

#[derive(Template)]
#[template(path = "snoozes.html")]
struct ListPage {
    page: Page,
    snoozes: Vec<Listed>,
}

pub async fn list(
    _: Supervisor,
    state: web::Data<AppState>,
    page: Page,
) -> Result<HttpResponse, AppError> {
    let snoozes = db(&state, |conn| Ok(snooze_store::active(conn, LISTED)?)).await?;
    page.render(&ListPage {
        snoozes,
        page: page.clone(),
    })
}

pub async fn end(
    Supervisor(user): Supervisor,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (id, now) = (id.into_inner(), state.now());
    let u = user.clone();
    let done = db(&state, move |conn| Ok(snooze::end(conn, now, by(&u), id))).await?;
    match done {
        Ok(_) => Ok(redirect_with_flash(
            "/snoozes",
            FlashKind::Success,
            "flash.snooze_ended",
        )),
        Err(e) => refused_named("/snoozes", e),
    }
}
