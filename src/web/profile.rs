// The user's own profile: language, time zone, password, and how each kind of
// notification reaches them.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use actix_web::http::StatusCode;

use super::page::{FlashKind, redirect_with_flash};
use super::{CurrentUser, Page, db};
use crate::accounts::{self, AccountError};
use crate::cases::notices;
use crate::domain::Lang;
use crate::domain::notifications::{EmailChoice, PrefError, parse_choices};
use crate::error::AppError;
use crate::i18n::events::notice_kind;
use crate::state::AppState;

/// One kind's row in the notification choices.
pub struct ChoiceRow {
    pub kind: &'static str,
    pub label: String,
    pub in_app: bool,
    pub email: &'static str,
}

#[derive(Template)]
#[template(path = "profile.html")]
struct ProfilePage {
    page: Page,
    language: String,
    timezone: String,
    languages: Vec<(&'static str, &'static str)>,
    timezones: Vec<&'static str>,
    error_key: Option<&'static str>,
    choices: Vec<ChoiceRow>,
    emails: Vec<(&'static str, &'static str)>,
    notices_error: Option<String>,
    /// The user's open sessions, this one marked.
    sessions: Vec<SessionRow>,
    /// The desk's idle timeout in minutes and absolute lifetime in hours.
    session_idle: String,
    session_max: String,
    /// The user's second factor: off, pending or on.
    mfa: &'static str,
}

/// One open session on the profile page.
pub struct SessionRow {
    pub created_at: chrono::NaiveDateTime,
    pub last_seen_at: chrono::NaiveDateTime,
    pub ip: String,
    pub current: bool,
}

/// Renders the profile with `status`, an error of the preferences or password forms
/// (`error_key`) or of the notification choices (`notices_error`, in words).
async fn render(
    state: &AppState,
    page: &Page,
    user: &CurrentUser,
    status: StatusCode,
    error_key: Option<&'static str>,
    notices_error: Option<String>,
) -> Result<HttpResponse, AppError> {
    let (id, role, current) = (user.user.id, user.role, user.session_id);
    let (choices, sessions, mfa) = db(state, move |conn| {
        let sessions = crate::store::sessions::list_for_user(conn, id)?
            .into_iter()
            .map(|s| SessionRow {
                created_at: s.created_at,
                last_seen_at: s.last_seen_at,
                ip: s.ip.unwrap_or_default(),
                current: s.id == current,
            })
            .collect::<Vec<_>>();
        Ok((
            notices::choices(conn, id, role)?,
            sessions,
            crate::mfa::state_of(conn, id)?,
        ))
    })
    .await?;
    let choices = choices
        .into_iter()
        .map(|(kind, pref)| ChoiceRow {
            kind,
            label: notice_kind(&page.tr, kind),
            in_app: pref.in_app,
            email: pref.email.as_str(),
        })
        .collect();
    let emails = EmailChoice::ALL
        .iter()
        .map(|c| {
            let label = match c {
                EmailChoice::Off => page.t("notifications.prefs.off"),
                EmailChoice::Immediately => page.t("notifications.prefs.immediately"),
                EmailChoice::Hourly => page.t("notifications.prefs.hourly"),
                EmailChoice::Daily => page.t("notifications.prefs.daily"),
            };
            (c.as_str(), label)
        })
        .collect();
    page.render_status(
        status,
        &ProfilePage {
            page: page.clone(),
            language: user.user.language.clone().unwrap_or_default(),
            timezone: user.user.timezone.clone().unwrap_or_default(),
            languages: Lang::ALL
                .iter()
                .map(|l| (l.code(), l.native_name()))
                .collect(),
            timezones: chrono_tz::TZ_VARIANTS.iter().map(|t| t.name()).collect(),
            error_key,
            choices,
            emails,
            notices_error,
            sessions,
            session_idle: state.settings.session_idle.num_minutes().to_string(),
            session_max: state.settings.session_max.num_hours().to_string(),
            mfa,
        },
    )
}

pub async fn show(
    user: CurrentUser,
    state: web::Data<AppState>,
    page: Page,
) -> Result<HttpResponse, AppError> {
    render(&state, &page, &user, StatusCode::OK, None, None).await
}

/// `POST /profile/notifications`: the user's choice of in-app and e-mail for every
/// kind (`in_app.<kind>` ticked, `email.<kind>` = off | immediately | hourly |
/// daily). A form naming an unknown kind, channel or choice is refused with 422,
/// saying what is wrong, and changes nothing.
pub async fn save_notifications(
    user: CurrentUser,
    state: web::Data<AppState>,
    page: Page,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let fields: Vec<(String, String)> = form
        .into_inner()
        .into_iter()
        .filter(|(name, _)| name != "csrf_token")
        .collect();
    let choices = match parse_choices(&fields) {
        Ok(c) => c,
        Err(e) => {
            let tr = &page.tr;
            let text = match e {
                PrefError::UnknownKind(kind) => {
                    tr.tf("notifications.error.unknown_kind", &[("kind", &kind)])
                }
                PrefError::PagesFixed => tr.t("notifications.error.pages_fixed").to_string(),
                PrefError::UnknownChannel(field) => {
                    tr.tf("notifications.error.unknown_channel", &[("field", &field)])
                }
                PrefError::UnknownFrequency(value) => tr.tf(
                    "notifications.error.unknown_frequency",
                    &[("value", &value)],
                ),
                PrefError::Missing(kind) => tr.tf(
                    "notifications.error.missing",
                    &[("kind", &notice_kind(tr, &kind))],
                ),
            };
            return render(
                &state,
                &page,
                &user,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                Some(text),
            )
            .await;
        }
    };
    let id = user.user.id;
    db(&state, move |conn| {
        Ok(notices::set_choices(conn, id, &choices)?)
    })
    .await?;
    Ok(redirect_with_flash(
        "/profile",
        FlashKind::Success,
        "notifications.prefs.saved",
    ))
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
        Err(AccountError::Invalid { field, .. }) => {
            render(
                &state,
                &page,
                &user,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(if field == "language" {
                    "profile.invalid_language"
                } else {
                    "profile.invalid_timezone"
                }),
                None,
            )
            .await
        }
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
        return render(
            &state,
            &page,
            &user,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("profile.password_mismatch"),
            None,
        )
        .await;
    }
    let now = state.now();
    let _turn = super::auth::password_turn(&state).await?;
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
        Err(AccountError::DirectoryAccount) => {
            let key = crate::i18n::tkey("directory.error.own_password");
            render(
                &state,
                &page,
                &user,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(key),
                None,
            )
            .await
        }
        Err(AccountError::WrongPassword) => {
            render(
                &state,
                &page,
                &user,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("profile.wrong_password"),
                None,
            )
            .await
        }
        Err(AccountError::Password(problem)) => {
            render(
                &state,
                &page,
                &user,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(problem.key()),
                None,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}
