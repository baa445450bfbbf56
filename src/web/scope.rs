// What a user may see of the cases: the case behind a reference when it is theirs
// to see, and how a command's refusal reaches them as a flash.

use actix_web::HttpResponse;

use super::CurrentUser;
use super::page::{FlashKind, redirect_with_flash};
use crate::error::AppError;
use crate::store::cases::{self as case_store, Case, parse_case_ref};

/// A case the user may see: supervisors and admins see all; agents the cases of
/// their queues and their own. Anything else is "not found".
pub fn visible_case(
    conn: &mut crate::db::DbConn,
    user: &CurrentUser,
    reference: &str,
) -> Result<Case, AppError> {
    let id = parse_case_ref(reference).ok_or(AppError::NotFound)?;
    let case = case_store::find(conn, id)?.ok_or(AppError::NotFound)?;
    if user.role.is_supervisor_or_admin() || case.assignee_id == Some(user.user.id) {
        return Ok(case);
    }
    if crate::store::users::is_member(conn, case.queue_id, user.user.id)? {
        Ok(case)
    } else {
        Err(AppError::NotFound)
    }
}

/// A command's refusal as a flash on the page the user came from; a missing case
/// is a 404, a database failure a server error.
pub fn refused(back: &str, e: crate::cases::CaseError) -> Result<HttpResponse, AppError> {
    use crate::cases::CaseError;
    match e {
        CaseError::NotFound => Err(AppError::NotFound),
        CaseError::Db(e) => Err(e.into()),
        other => Ok(redirect_with_flash(
            back,
            FlashKind::Error,
            other.key().unwrap_or("lifecycle.conflict"),
        )),
    }
}
