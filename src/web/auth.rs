// Sign-in and sign-out. Sign-in always opens a fresh session (the old one, if any,
// ends), counts failures per account and per address, and answers alike for an
// unknown e-mail and a wrong password.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::middleware::{session_cookie, session_removal};
use super::page::{FlashKind, RequestCtx, redirect_with_flash};
use super::{CurrentUser, Page, db, see_other};
use crate::accounts::{self, LoginOutcome};
use crate::error::AppError;
use crate::state::AppState;
use crate::store::sessions;

#[derive(Template)]
#[template(path = "auth/login.html")]
struct LoginPage {
    page: Page,
    email: String,
    next: String,
    failed: bool,
    /// The refusal was the directory's absence, not the credentials.
    directory_down: bool,
    /// The desk has no users yet: say where the setup link is.
    setup_pending: bool,
}

/// Whether the desk still waits for its first admin.
async fn setup_pending(state: &AppState) -> Result<bool, AppError> {
    super::db_quick(state, |conn| Ok(crate::setup::pending(conn)?)).await
}

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// Only a local path may be a target after sign-in (no open redirect).
pub(super) fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/".to_string(),
    }
}

pub async fn login_form(
    state: web::Data<AppState>,
    page: Page,
    req: HttpRequest,
    q: web::Query<NextQuery>,
) -> Result<HttpResponse, AppError> {
    if RequestCtx::of(&req).session.is_some() {
        return Ok(see_other(&safe_next(q.next.as_deref())));
    }
    page.render(&LoginPage {
        email: String::new(),
        next: safe_next(q.next.as_deref()),
        failed: false,
        directory_down: false,
        setup_pending: setup_pending(&state).await?,
        page: page.clone(),
    })
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    next: Option<String>,
}

/// Refuses with 429 an address over the limit of failed sign-ins (shared by every
/// instance on the database).
pub(super) async fn refuse_if_throttled(state: &AppState, addr: &str) -> Result<(), AppError> {
    let (addr, now) = (addr.to_string(), state.now());
    let wait = super::db_quick(state, move |conn| {
        Ok(crate::throttle::retry_after(conn, &addr, now)?)
    })
    .await?;
    match wait {
        Some(retry_after_secs) => Err(AppError::TooManyRequests { retry_after_secs }),
        None => Ok(()),
    }
}

/// Counts a failed sign-in (or a guessed link) against the address.
pub(super) async fn count_failure(state: &AppState, addr: &str) -> Result<(), AppError> {
    let (addr, now) = (addr.to_string(), state.now());
    db(state, move |conn| {
        Ok(crate::throttle::record_failure(conn, &addr, now)?)
    })
    .await
}

/// Waits for a turn to compute a password hash (see `throttle::PasswordGate`); a
/// crowd beyond the gate is told to retry.
pub(super) async fn password_turn(
    state: &AppState,
) -> Result<tokio::sync::OwnedSemaphorePermit, AppError> {
    state
        .password_gate
        .turn()
        .await
        .map_err(|busy| AppError::TooManyRequests {
            retry_after_secs: busy.0,
        })
}

pub async fn login(
    state: web::Data<AppState>,
    page: Page,
    req: HttpRequest,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let ctx = RequestCtx::of(&req);
    let addr = ctx.ip.clone().unwrap_or_default();
    let now = state.now();
    refuse_if_throttled(&state, &addr).await?;
    let turn = password_turn(&state).await?;
    let old_session = ctx.session.as_ref().map(|s| s.session_id);
    let (email, password, ip) = (form.email.clone(), form.password, ctx.ip.clone());
    let directory = state.directory.clone();
    let outcome = db(&state, move |conn| {
        // Renew: whatever session the browser had ends here.
        if let Some(id) = old_session {
            sessions::delete(conn, id)?;
        }
        let outcome = accounts::login(
            conn,
            now,
            &email,
            &password,
            ip.as_deref(),
            directory.as_ref(),
        )?;
        if matches!(outcome, LoginOutcome::Refused) {
            crate::throttle::record_failure(conn, &addr, now)?;
        }
        Ok(outcome)
    })
    .await?;
    drop(turn);
    match outcome {
        LoginOutcome::Success { session_token, .. } => {
            let mut res = see_other(&safe_next(form.next.as_deref()));
            res.add_cookie(&session_cookie(
                session_token,
                state.settings.secure_cookies(),
            ))
            .map_err(|e| AppError::Internal(e.to_string()))?;
            Ok(res)
        }
        LoginOutcome::SecondStep { challenge, .. } => {
            super::mfa::to_second_step(&state, challenge, form.next.as_deref())
        }
        outcome @ (LoginOutcome::Refused | LoginOutcome::DirectoryUnreachable) => {
            let directory_down = matches!(outcome, LoginOutcome::DirectoryUnreachable);
            page.render_status(
                if directory_down {
                    // Not the credentials: the directory they are checked against.
                    actix_web::http::StatusCode::SERVICE_UNAVAILABLE
                } else {
                    actix_web::http::StatusCode::UNAUTHORIZED
                },
                &LoginPage {
                    email: form.email,
                    next: safe_next(form.next.as_deref()),
                    failed: true,
                    directory_down,
                    setup_pending: setup_pending(&state).await?,
                    page: page.clone(),
                },
            )
        }
    }
}

/// Signing out is going offline: the user's unstarted cases go to others.
pub(super) fn go_offline(
    conn: &mut crate::db::DbConn,
    state: &AppState,
    user_id: i64,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), AppError> {
    let snap = state.desk.get(conn)?;
    crate::db::write_tx_retry(conn, |c| {
        crate::cases::assign::set_presence(c, &snap, user_id, "offline", now)
    })?;
    Ok(())
}

/// The answer after the browser's session ended: to sign-in, the cookie removed.
fn signed_out(state: &AppState, flash: &'static str) -> Result<HttpResponse, AppError> {
    let mut res = redirect_with_flash("/login", FlashKind::Success, flash);
    res.add_cookie(&session_removal(state.settings.secure_cookies()))
        .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(res)
}

pub async fn logout(
    user: CurrentUser,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let now = state.now();
    let actor = user.actor();
    let (sid, email, uid, st) = (
        user.session_id,
        user.user.email.clone(),
        user.user.id,
        state.clone(),
    );
    db(&state, move |conn| {
        accounts::logout(conn, now, &actor, sid, &email)?;
        go_offline(conn, &st, uid, now)
    })
    .await?;
    signed_out(&state, "flash.signed_out")
}

/// `POST /logout/everywhere`: ends every session of the user, this one included
/// (another browser, a lost phone), and takes them offline.
pub async fn logout_everywhere(
    user: CurrentUser,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let now = state.now();
    let (actor, uid, st) = (user.actor(), user.user.id, state.clone());
    db(&state, move |conn| {
        accounts::end_sessions(
            conn,
            now,
            &actor,
            uid,
            accounts::SessionsEndedBy::Themselves,
        )?;
        go_offline(conn, &st, uid, now)
    })
    .await?;
    signed_out(&state, "sessions.signed_out_everywhere")
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_local_targets() {
        assert_eq!(safe_next(Some("/admin/users")), "/admin/users");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil")), "/");
        assert_eq!(safe_next(None), "/");
    }
}
