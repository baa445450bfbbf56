// The second factor in the browser: the sign-in step that asks for the code, the
// enrolment page of the profile (QR code drawn here as SVG), recovery codes shown
// once, turning it off, the admins' reset, and the gate of `--require-mfa`.

use actix_web::body::BoxBody;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::auth::safe_next;
use super::middleware::{session_cookie, url_escape};
use super::page::{FlashKind, RequestCtx, redirect_with_flash};
use super::{Admin, CurrentUser, Page, db, db_quick};
use crate::domain::totp::{self, CodeError};
use crate::error::AppError;
use crate::mfa::{self, MfaError, MfaKey, Status};
use crate::state::AppState;

/// The cookie that holds a waiting sign-in's token between the password and the code.
pub const CHALLENGE_COOKIE: &str = "riskdesk_mfa";
/// Where the second step of a sign-in is.
const CODE_PAGE: &str = "/login/code";
/// Where a user enrols.
const ENROL_PAGE: &str = "/profile/mfa";

fn key(state: &AppState) -> MfaKey {
    MfaKey::derive(&state.secret_key)
}

impl From<MfaError> for AppError {
    fn from(e: MfaError) -> Self {
        match e {
            MfaError::Db(e) => AppError::Db(e),
            MfaError::Account(e) => e.into(),
            MfaError::NotFound => AppError::NotFound,
            MfaError::OwnAccount => AppError::Forbidden,
            other => AppError::BadRequest(other.to_string()),
        }
    }
}

/// What to tell the person about a refused code or step, in their language, with
/// the answer's status; None for failures that are not theirs to fix.
fn refusal(page: &Page, e: &MfaError, at_sign_in: bool) -> Option<(StatusCode, String)> {
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let text = |key: &str| page.t(key).to_string();
    Some(match e {
        MfaError::Input(CodeError::Empty) => (unprocessable, text("mfa.error.empty")),
        MfaError::Input(CodeError::Length(n)) => (
            unprocessable,
            page.tf("mfa.error.length", &[("n", &n.to_string())]),
        ),
        MfaError::Input(CodeError::NotACode) if at_sign_in => {
            (unprocessable, text("mfa.error.not_a_code"))
        }
        MfaError::Input(CodeError::NotACode) => (unprocessable, text("mfa.error.digits")),
        MfaError::WrongCode { locked: false } if at_sign_in => {
            (StatusCode::UNAUTHORIZED, text("mfa.error.wrong"))
        }
        MfaError::WrongCode { locked: false } => (unprocessable, text("mfa.error.wrong")),
        MfaError::WrongCode { locked: true } | MfaError::Locked => {
            (StatusCode::FORBIDDEN, text("mfa.error.locked"))
        }
        MfaError::ReusedCode if at_sign_in => (StatusCode::UNAUTHORIZED, text("mfa.error.reused")),
        MfaError::ReusedCode => (unprocessable, text("mfa.error.reused")),
        MfaError::NotEnrolled => (StatusCode::CONFLICT, text("mfa.error.not_enrolled")),
        MfaError::AlreadyEnrolled => (StatusCode::CONFLICT, text("mfa.error.already")),
        MfaError::NotPending => (StatusCode::CONFLICT, text("mfa.error.not_pending")),
        MfaError::Required => (StatusCode::FORBIDDEN, text("mfa.error.required")),
        MfaError::Unreadable => (unprocessable, text("mfa.error.unreadable")),
        _ => return None,
    })
}

fn challenge_cookie(token: String, secure: bool) -> Cookie<'static> {
    Cookie::build(CHALLENGE_COOKIE, token)
        .path(CODE_PAGE)
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .max_age(actix_web::cookie::time::Duration::minutes(
            mfa::CHALLENGE_MINUTES,
        ))
        .finish()
}

fn challenge_removal() -> Cookie<'static> {
    let mut c = Cookie::build(CHALLENGE_COOKIE, "").path(CODE_PAGE).finish();
    c.make_removal();
    c
}

fn code_page_address(next: &str) -> String {
    if next == "/" {
        CODE_PAGE.to_string()
    } else {
        format!("{CODE_PAGE}?next={}", url_escape(next))
    }
}

/// The answer to the right password of a user with a second factor: the browser
/// keeps the waiting sign-in's token, and goes on to the page that asks for the code.
pub fn to_second_step(
    state: &AppState,
    challenge: String,
    next: Option<&str>,
) -> Result<HttpResponse, AppError> {
    let mut res = super::see_other(&code_page_address(&safe_next(next)));
    res.add_cookie(&challenge_cookie(
        challenge,
        state.settings.secure_cookies(),
    ))
    .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(res)
}

/// Back to the sign-in page, the waiting sign-in forgotten, saying why.
fn back_to_sign_in(key: &'static str) -> Result<HttpResponse, AppError> {
    let mut res = redirect_with_flash("/login", FlashKind::Error, key);
    res.add_cookie(&challenge_removal())
        .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(res)
}

#[derive(Template)]
#[template(path = "mfa/code.html")]
struct CodePage {
    page: Page,
    email: String,
    next: String,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// `GET /login/code`: the second step of a sign-in, while it waits (five minutes).
pub async fn code_form(
    state: web::Data<AppState>,
    page: Page,
    req: HttpRequest,
    q: web::Query<NextQuery>,
) -> Result<HttpResponse, AppError> {
    let Some(token) = req.cookie(CHALLENGE_COOKIE).map(|c| c.value().to_string()) else {
        return back_to_sign_in("mfa.flash.expired");
    };
    let now = state.now();
    let user = db_quick(&state, move |conn| Ok(mfa::waiting(conn, now, &token)?)).await?;
    let Some(user) = user else {
        return back_to_sign_in("mfa.flash.expired");
    };
    page.render(&CodePage {
        email: user.email,
        next: safe_next(q.next.as_deref()),
        error: None,
        page: page.clone(),
    })
}

#[derive(Debug, Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
    next: Option<String>,
}

/// `POST /login/code`: field `code`, six digits from the app or a recovery code.
pub async fn code_submit(
    state: web::Data<AppState>,
    page: Page,
    req: HttpRequest,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let Some(token) = req.cookie(CHALLENGE_COOKIE).map(|c| c.value().to_string()) else {
        return back_to_sign_in("mfa.flash.expired");
    };
    let ctx = RequestCtx::of(&req);
    let addr = ctx.ip.clone().unwrap_or_default();
    // Wrong codes count against the address like wrong passwords.
    super::auth::refuse_if_throttled(&state, &addr).await?;
    let (now, key, ip, code) = (state.now(), key(&state), ctx.ip.clone(), form.code.clone());
    let tok = token.clone();
    let result = db(&state, move |conn| {
        let outcome = mfa::second_step(conn, now, &key, &tok, &code, ip.as_deref());
        if matches!(outcome, Err(MfaError::WrongCode { .. })) {
            crate::throttle::record_failure(conn, &addr, now)?;
        }
        Ok(outcome)
    })
    .await?;
    let next = safe_next(form.next.as_deref());
    match result {
        Ok(signed) => {
            let mut res = match signed.recovery_codes_left {
                Some(_) => {
                    redirect_with_flash(&next, FlashKind::Success, "mfa.flash.recovery_used")
                }
                None => super::see_other(&next),
            };
            res.add_cookie(&session_cookie(
                signed.session_token,
                state.settings.secure_cookies(),
            ))
            .map_err(|e| AppError::Internal(e.to_string()))?;
            res.add_cookie(&challenge_removal())
                .map_err(|e| AppError::Internal(e.to_string()))?;
            Ok(res)
        }
        Err(MfaError::Expired) => back_to_sign_in("mfa.flash.expired"),
        Err(MfaError::Locked | MfaError::WrongCode { locked: true }) => {
            back_to_sign_in("mfa.flash.locked")
        }
        Err(e) => {
            let Some((status, text)) = refusal(&page, &e, true) else {
                return Err(e.into());
            };
            let email = db_quick(&state, move |conn| Ok(mfa::waiting(conn, now, &token)?))
                .await?
                .map(|u| u.email)
                .unwrap_or_default();
            page.render_status(
                status,
                &CodePage {
                    email,
                    next,
                    error: Some(text),
                    page: page.clone(),
                },
            )
        }
    }
}

#[derive(Template)]
#[template(path = "mfa/enrol.html")]
struct EnrolPage {
    page: Page,
    /// off, pending or on
    state: &'static str,
    /// The user's role requires a second factor.
    required: bool,
    /// While pending: the QR code (an SVG data: address) and the secret in groups.
    qr: Option<String>,
    secret: Option<String>,
    since: Option<chrono::NaiveDateTime>,
    codes_left: i64,
    /// False when the stored secret cannot be read under the desk's secret key.
    readable: bool,
    error: Option<String>,
}

/// The QR code of `uri` as an SVG image in a `data:` address, which the desk's
/// Content-Security-Policy (`img-src 'self' data:`) admits.
fn qr_data_uri(uri: &str) -> Result<String, AppError> {
    use base64::Engine;
    let code =
        qrcode::QrCode::new(uri.as_bytes()).map_err(|e| AppError::Internal(e.to_string()))?;
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(220, 220)
        .quiet_zone(true)
        .build();
    Ok(format!(
        "data:image/svg+xml;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(svg)
    ))
}

async fn render_enrol(
    state: &AppState,
    page: &Page,
    user: &CurrentUser,
    status: StatusCode,
    error: Option<String>,
) -> Result<HttpResponse, AppError> {
    let (id, key) = (user.user.id, key(state));
    let current = db_quick(state, move |conn| Ok(mfa::status(conn, &key, id)?)).await?;
    let mut view = EnrolPage {
        page: page.clone(),
        state: "off",
        required: mfa::required(&state.settings.require_mfa, user.role),
        qr: None,
        secret: None,
        since: None,
        codes_left: 0,
        readable: true,
        error,
    };
    match current {
        Status::Off => {}
        Status::Pending { secret } => {
            view.state = "pending";
            match secret {
                Some(secret) => {
                    view.qr = Some(qr_data_uri(&totp::otpauth_uri(&secret, &user.user.email))?);
                    view.secret = Some(totp::secret_grouped(&secret));
                }
                None => view.readable = false,
            }
        }
        Status::On {
            since,
            recovery_codes_left,
            readable,
        } => {
            view.state = "on";
            view.since = Some(since);
            view.codes_left = recovery_codes_left;
            view.readable = readable;
        }
    }
    page.render_status(status, &view)
}

/// `GET /profile/mfa`: where the user's second factor stands, and what they may do.
pub async fn show(
    user: CurrentUser,
    state: web::Data<AppState>,
    page: Page,
) -> Result<HttpResponse, AppError> {
    render_enrol(&state, &page, &user, StatusCode::OK, None).await
}

/// A refused action of the enrolment page: the page again with what was wrong.
async fn refused(
    state: &AppState,
    page: &Page,
    user: &CurrentUser,
    e: MfaError,
) -> Result<HttpResponse, AppError> {
    match refusal(page, &e, false) {
        Some((status, text)) => render_enrol(state, page, user, status, Some(text)).await,
        None => Err(e.into()),
    }
}

/// `POST /profile/mfa/start`: a new secret to scan, pending until confirmed.
pub async fn start(
    user: CurrentUser,
    state: web::Data<AppState>,
    page: Page,
) -> Result<HttpResponse, AppError> {
    let (now, key, u) = (state.now(), key(&state), user.user.clone());
    let result = db(&state, move |conn| Ok(mfa::start(conn, now, &key, &u))).await?;
    match result {
        Ok(()) => Ok(super::see_other(ENROL_PAGE)),
        Err(e) => refused(&state, &page, &user, e).await,
    }
}

#[derive(Debug, Deserialize)]
pub struct CodeOnly {
    #[serde(default)]
    code: String,
}

#[derive(Template)]
#[template(path = "mfa/recovery_codes.html")]
struct RecoveryCodesPage {
    page: Page,
    codes: Vec<String>,
    /// Just enrolled (else: new codes for an enrolled user).
    enrolled: bool,
}

/// `POST /profile/mfa/confirm`: a code from the app confirms the enrolment; the
/// recovery codes are shown once.
pub async fn confirm(
    user: CurrentUser,
    state: web::Data<AppState>,
    page: Page,
    form: web::Form<CodeOnly>,
) -> Result<HttpResponse, AppError> {
    let (now, key, actor, u) = (state.now(), key(&state), user.actor(), user.user.clone());
    let code = form.into_inner().code;
    let result = db(&state, move |conn| {
        Ok(mfa::confirm(conn, now, &key, &actor, &u, &code))
    })
    .await?;
    match result {
        Ok(codes) => page.render(&RecoveryCodesPage {
            codes,
            enrolled: true,
            page: page.clone(),
        }),
        Err(e) => refused(&state, &page, &user, e).await,
    }
}

/// `POST /profile/mfa/recovery-codes`: new recovery codes after a current code; the
/// old ones stop working.
pub async fn regenerate(
    user: CurrentUser,
    state: web::Data<AppState>,
    page: Page,
    form: web::Form<CodeOnly>,
) -> Result<HttpResponse, AppError> {
    let (now, key, actor, id) = (state.now(), key(&state), user.actor(), user.user.id);
    let code = form.into_inner().code;
    let result = db(&state, move |conn| {
        Ok(mfa::regenerate_recovery_codes(
            conn, now, &key, &actor, id, &code,
        ))
    })
    .await?;
    match result {
        Ok(codes) => page.render(&RecoveryCodesPage {
            codes,
            enrolled: false,
            page: page.clone(),
        }),
        Err(e) => refused(&state, &page, &user, e).await,
    }
}

/// `POST /profile/mfa/disable`: turns the second factor off after a current code,
/// unless the user's role requires it.
pub async fn disable(
    user: CurrentUser,
    state: web::Data<AppState>,
    page: Page,
    form: web::Form<CodeOnly>,
) -> Result<HttpResponse, AppError> {
    let (now, key, actor, id) = (state.now(), key(&state), user.actor(), user.user.id);
    let code = form.into_inner().code;
    let st = state.clone();
    let result = db(&state, move |conn| {
        Ok(mfa::disable(
            conn,
            now,
            &key,
            &actor,
            id,
            &code,
            &st.settings.require_mfa,
        ))
    })
    .await?;
    match result {
        Ok(()) => Ok(redirect_with_flash(
            ENROL_PAGE,
            FlashKind::Success,
            "mfa.flash.disabled",
        )),
        Err(e) => refused(&state, &page, &user, e).await,
    }
}

/// `POST /admin/users/{id}/reset-mfa`: removes another user's second factor and
/// ends their sessions.
pub async fn admin_reset(
    Admin(admin): Admin,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let (now, actor) = (state.now(), admin.actor());
    let result = db(&state, move |conn| Ok(mfa::reset(conn, now, &actor, id))).await?;
    let to = format!("/admin/users/{id}");
    match result {
        Ok(_) => Ok(redirect_with_flash(
            &to,
            FlashKind::Success,
            "mfa.flash.reset",
        )),
        Err(MfaError::NotEnrolled) => Ok(redirect_with_flash(
            &to,
            FlashKind::Error,
            "mfa.flash.nothing_to_reset",
        )),
        Err(MfaError::OwnAccount) => Ok(redirect_with_flash(
            &to,
            FlashKind::Error,
            "mfa.flash.own_reset",
        )),
        Err(e) => Err(e.into()),
    }
}

/// Paths a user who must enrol may still use: the enrolment page and its forms,
/// signing out, and the static files.
fn open_before_enrolment(path: &str) -> bool {
    path == ENROL_PAGE
        || path.starts_with("/profile/mfa/")
        || path == "/logout"
        || path.starts_with("/static/")
}

/// The gate of `--require-mfa`: a signed-in user whose role requires a second
/// factor and who has none is sent to the enrolment page from every page and form
/// but the enrolment's own, signing out and static files (a form is not carried out).
pub async fn require_enrolment(
    req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next.call(req).await;
    };
    if state.settings.require_mfa.is_empty() || open_before_enrolment(req.path()) {
        return next.call(req).await;
    }
    let who = req
        .extensions()
        .get::<RequestCtx>()
        .and_then(|c| c.session.as_ref().map(|s| (s.user.id, s.role)));
    let Some((user_id, role)) = who else {
        return next.call(req).await;
    };
    if !mfa::required(&state.settings.require_mfa, role) {
        return next.call(req).await;
    }
    match db_quick(&state, move |conn| Ok(mfa::is_enrolled(conn, user_id)?)).await {
        Ok(true) => next.call(req).await,
        Ok(false) => Ok(req.into_response(redirect_with_flash(
            ENROL_PAGE,
            FlashKind::Error,
            "mfa.flash.required",
        ))),
        Err(e) => Ok(req.error_response(e)),
    }
}
