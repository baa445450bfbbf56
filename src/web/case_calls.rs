// Logging a verification call from the case page: checked, stored with the number
// masked, on the timeline, and counted as the case's first response.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::page::{FlashKind, redirect_with_flash};
use super::scope::visible_case;
use super::{CurrentUser, Page, db};
use crate::domain::calls::{self as call_rules, CallForm, CallProblem};
use crate::error::AppError;
use crate::state::AppState;
use crate::store::cases as case_store;

#[derive(Deserialize)]
pub struct CallFields {
    #[serde(default)]
    number: String,
    #[serde(default)]
    direction: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    duration: String,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    callback_at: String,
}

enum Refused {
    Problem(CallProblem),
    Resolved,
    Case(crate::cases::CaseError),
}

/// `POST /cases/{ref}/calls`: logs one call attempt.
pub async fn log_call(
    user: CurrentUser,
    state: web::Data<AppState>,
    page: Page,
    path: web::Path<String>,
    form: web::Form<CallFields>,
) -> Result<HttpResponse, AppError> {
    let reference = path.into_inner();
    let back = format!("/cases/{reference}");
    let now = state.now();
    let f = form.into_inner();
    let checked = call_rules::check(
        &CallForm {
            direction: &f.direction,
            outcome: &f.outcome,
            duration: &f.duration,
            notes: &f.notes,
            callback_at: &f.callback_at,
        },
        &page.tz,
        now,
    );
    let u = user.clone();
    let done = db(&state, move |conn| {
        let case = visible_case(conn, &u, &reference)?;
        let input = match checked {
            Ok(i) => i,
            Err(p) => return Ok(Err(Refused::Problem(p))),
        };
        if case.resolved_at.is_some() {
            return Ok(Err(Refused::Resolved));
        }
        let customer = case_store::customer(conn, case.customer_id)?;
        let Some(number) = crate::cases::calls::masked_number(&customer, f.number.trim()) else {
            return Ok(Err(Refused::Problem(CallProblem::UnknownNumber)));
        };
        Ok(
            match crate::cases::calls::log_call(conn, case.id, u.user.id, &number, &input, now) {
                Ok(_) => Ok(()),
                Err(crate::cases::CaseError::Refused(crate::domain::Refusal::Resolved)) => {
                    Err(Refused::Resolved)
                }
                Err(e) => Err(Refused::Case(e)),
            },
        )
    })
    .await?;
    Ok(match done {
        Ok(()) => redirect_with_flash(&back, FlashKind::Success, "flash.call_logged"),
        Err(Refused::Problem(p)) => redirect_with_flash(&back, FlashKind::Error, p.key()),
        Err(Refused::Resolved) => {
            redirect_with_flash(&back, FlashKind::Error, "flash.call_case_resolved")
        }
        Err(Refused::Case(e)) => return super::scope::refused(&back, e),
    })
}
