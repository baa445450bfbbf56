// The first-run page behind the one-time link a desk without users prints at start:
// it creates the first admin, signs them in and leads to the desk's configuration.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::middleware::session_cookie;
use super::page::{FlashKind, RequestCtx, redirect_with_flash};
use super::{Page, db};
use crate::accounts::AccountError;
use crate::error::AppError;
use crate::i18n::tkey;
use crate::setup::{self, SetupError, SetupInput};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "auth/setup.html")]
struct SetupPage {
    page: Page,
    token: String,
    name: String,
    email: String,
    error_key: Option<&'static str>,
}

/// The answer to a link that does not set anything up.
#[derive(Template)]
#[template(path = "auth/setup_refused.html")]
struct RefusedPage {
    page: Page,
    has_users: bool,
}

fn refused(page: Page, e: &SetupError) -> Result<HttpResponse, AppError> {
    let has_users = matches!(e, SetupError::HasUsers);
    let status = if has_users {
        StatusCode::FORBIDDEN
    } else {
        StatusCode::NOT_FOUND
    };
    page.render_status(
        status,
        &RefusedPage {
            has_users,
            page: page.clone(),
        },
    )
}

/// A token as a path may carry one: the link's shape, nothing longer.
fn plausible(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= 64
        && token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

async fn throttled(state: &AppState, req: &HttpRequest) -> Result<String, AppError> {
    let addr = RequestCtx::of(req).ip.unwrap_or_default();
    super::auth::refuse_if_throttled(state, &addr).await?;
    Ok(addr)
}

pub async fn form(
    state: web::Data<AppState>,
    page: Page,
    req: HttpRequest,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let addr = throttled(&state, &req).await?;
    let token = token.into_inner();
    let now = state.now();
    let check = if plausible(&token) {
        let t = token.clone();
        db(&state, move |conn| Ok(setup::check(conn, now, &t))).await?
    } else {
        Err(SetupError::BadLink)
    };
    match check {
        Ok(()) => page.render(&SetupPage {
            token,
            name: String::new(),
            email: String::new(),
            error_key: None,
            page: page.clone(),
        }),
        Err(e) => {
            if matches!(e, SetupError::BadLink) {
                // Guessing links counts as failed sign-ins from the address.
                super::auth::count_failure(&state, &addr).await?;
            }
            refused(page, &e)
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct SetupForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

/// The catalog key saying what is wrong with the typed admin.
fn error_key(e: &SetupError) -> Option<&'static str> {
    Some(match e {
        SetupError::Account(AccountError::Invalid { field: "email", .. }) => {
            tkey("users.error.email")
        }
        SetupError::Account(AccountError::Invalid { field: "name", .. }) => {
            tkey("users.error.name")
        }
        SetupError::Password(p) => p.key(),
        SetupError::Mismatch => tkey("setup.password_mismatch"),
        _ => return None,
    })
}

pub async fn create(
    state: web::Data<AppState>,
    page: Page,
    req: HttpRequest,
    token: web::Path<String>,
    form: web::Form<SetupForm>,
) -> Result<HttpResponse, AppError> {
    let addr = throttled(&state, &req).await?;
    let _turn = super::auth::password_turn(&state).await?;
    let token = token.into_inner();
    let form = form.into_inner();
    let now = state.now();
    let ctx = RequestCtx::of(&req);
    let (ip, lang) = (ctx.ip.clone(), page.lang());
    let result = if plausible(&token) {
        let (t, f) = (token.clone(), form.clone());
        db(&state, move |conn| {
            Ok(setup::create_admin(
                conn,
                now,
                &t,
                &SetupInput {
                    name: &f.name,
                    email: &f.email,
                    password: &f.password,
                    confirm: &f.confirm,
                    language: Some(lang),
                },
                ip.as_deref(),
            ))
        })
        .await?
    } else {
        Err(SetupError::BadLink)
    };
    match result {
        Ok(created) => {
            tracing::info!(email = %created.user.email, "the desk's first admin was created through the setup link");
            let mut res =
                redirect_with_flash("/admin/desk", FlashKind::Success, "flash.setup_done");
            res.add_cookie(&session_cookie(
                created.session_token,
                state.settings.secure_cookies(),
            ))
            .map_err(|e| AppError::Internal(e.to_string()))?;
            Ok(res)
        }
        Err(e) => match error_key(&e) {
            Some(key) => page.render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &SetupPage {
                    token,
                    name: form.name,
                    email: form.email,
                    error_key: Some(key),
                    page: page.clone(),
                },
            ),
            None => match e {
                SetupError::HasUsers | SetupError::BadLink => {
                    if matches!(e, SetupError::BadLink) {
                        super::auth::count_failure(&state, &addr).await?;
                    }
                    refused(page, &e)
                }
                // A duplicate e-mail cannot happen on a desk without users.
                SetupError::Account(e) => Err(e.into()),
                other => Err(AppError::Internal(other.to_string())),
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::plausible;

    #[test]
    fn only_token_shaped_paths_are_looked_up() {
        assert!(plausible("abcDEF-_123"));
        assert!(!plausible(""));
        assert!(!plausible("a/b"));
        assert!(!plausible(&"x".repeat(65)));
    }
}
