// The user's own profile: language, time zone, and password.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::page::{FlashKind, redirect_with_flash};
use super::{CurrentUser, Page, db};
use crate::accounts::{self, AccountError};
use crate::domain::Lang;
use crate::error::AppError;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "profile.html")]
struct ProfilePage {
    page: Page,
    language: String,
    timezone: String,
    languages: Vec<(&'static str, &'static str)>,
    timezones: Vec<&'static str>,
    error_key: Option<&'static str>,
}

fn profile_page(page: &Page, user: &CurrentUser, error_key: Option<&'static str>) -> ProfilePage {
    ProfilePage {
        page: page.clone(),
        language: user.user.language.clone().unwrap_or_default(),
        timezone: user.user.timezone.clone().unwrap_or_default(),
        languages: Lang::ALL
            .iter()
            .map(|l| (l.code(), l.native_name()))
            .collect(),
        timezones: chrono_tz::TZ_VARIANTS.iter().map(|t| t.name()).collect(),
        error_key,
    }
}

pub async fn show(user: CurrentUser, page: Page) -> Result<HttpResponse, AppError> {
    page.render(&profile_page(&page, &user, None))
}

#[derive(Debug, Deserialize)]
pub struct PrefsForm {
    language: String,
    timezone: String,
}

pub async fn save(
    user: CurrentUser,
    state: web::Data<AppState>,
    page: Page,
    form: web::Form<PrefsForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let now = state.now();
    let id = user.user.id;
    let result = db(&state, move |conn| {
        Ok(accounts::set_preferences(
            conn,
            now,
            id,
            Some(form.language.as_str()),
            Some(form.timezone.as_str()),
        ))
    })
    .await?;
    match result {
        Ok(()) => Ok(redirect_with_flash(
            "/profile",
            FlashKind::Success,
            "flash.profile_saved",
        )),
        Err(AccountError::Invalid { field, .. }) => page.render_status(
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            &profile_page(
                &page,
                &user,
                Some(if field == "language" {
                    "profile.invalid_language"
                } else {
                    "profile.invalid_timezone"
                }),
            ),
        ),
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    current_password: String,
    new_password: String,
    confirm_password: String,
}

pub async fn change_password(
    user: CurrentUser,
    state: web::Data<AppState>,
    page: Page,
    form: web::Form<PasswordForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    if form.new_password != form.confirm_password {
        return page.render_status(
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            &profile_page(&page, &user, Some("profile.password_mismatch")),
        );
    }
    let now = state.now();
    let (actor, u, sid) = (user.actor(), user.user.clone(), user.session_id);
    let result = db(&state, move |conn| {
        Ok(accounts::change_own_password(
            conn,
            now,
            &actor,
            &u,
            &form.current_password,
            &form.new_password,
            sid,
        ))
    })
    .await?;
    match result {
        Ok(()) => Ok(redirect_with_flash(
            "/profile",
            FlashKind::Success,
            "flash.password_changed",
        )),
        Err(AccountError::WrongPassword) => page.render_status(
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            &profile_page(&page, &user, Some("profile.wrong_password")),
        ),
        Err(AccountError::Invalid { .. }) => page.render_status(
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            &profile_page(&page, &user, Some("profile.weak_password")),
        ),
        Err(e) => Err(e.into()),
    }
}
