// The request pipeline: request ids, logs and metrics; security headers; sessions
// and CSRF checks; and error pages (HTML in the layout, problem+json under /api).

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpResponse, web};
use askama::Template;
use chrono::Duration;
use tracing::Instrument;

use super::page::{
    Page, RequestCtx, SignedIn, csrf_cookie_name, lang_of_request, session_cookie_name,
};
use crate::domain::{Role, tokens};
use crate::error::{ErrorMarker, Problem, default_detail};
use crate::state::AppState;
use crate::store::{self, sessions};

/// The request's id, also sent back as `X-Request-Id`.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

fn new_request_id() -> String {
    tokens::random_token(9)
}

/// Gives each request an id, logs it with its outcome and time, and counts it in
/// the metrics by route pattern.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let start = Instant::now();
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
        .map(String::from)
        .unwrap_or_else(new_request_id);
    req.extensions_mut().insert(RequestId(id.clone()));
    let method = req.method().to_string();
    let path = req.path().to_string();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let span = tracing::info_span!("request", id = %id, method = %method, path = %path);
    let mut res = next.call(req).instrument(span.clone()).await?;
    let status = res.status().as_u16();
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_string());
    let elapsed = start.elapsed();
    if let Some(state) = state {
        state.metrics.observe(&method, &route, status, elapsed);
    }
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut()
            .insert(HeaderName::from_static("x-request-id"), v);
    }
    span.in_scope(|| {
        tracing::info!(
            status,
            route = %route,
            elapsed_ms = elapsed.as_secs_f64() * 1000.0,
            "request"
        )
    });
    Ok(res)
}

/// The Content-Security-Policy of every answer: our own scripts, styles and images
/// only, no inline script, never framed.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; font-src 'self'; connect-src 'self'; form-action 'self'; \
frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

pub async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let https = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|s| s.settings.secure_cookies());
    let mut res = next.call(req).await?;
    let h = res.headers_mut();
    let mut set = |name: &'static str, value: &'static str| {
        let name = HeaderName::from_static(name);
        if !h.contains_key(&name) {
            h.insert(name, HeaderValue::from_static(value));
        }
    };
    set("content-security-policy", CSP);
    set("x-content-type-options", "nosniff");
    set("x-frame-options", "DENY");
    set("referrer-policy", "no-referrer");
    set("cross-origin-opener-policy", "same-origin");
    set(
        "permissions-policy",
        "camera=(), microphone=(), geolocation=(), payment=()",
    );
    if https {
        set("strict-transport-security", "max-age=31536000");
    }
    Ok(res)
}

/// Paths that neither load a browser session nor take a CSRF token: operations,
/// static files, and the JSON API (which uses API keys, not cookies).
fn is_sessionless(path: &str) -> bool {
    path.starts_with("/static/")
        || path.starts_with("/api/")
        || path == "/api"
        || matches!(path, "/healthz" | "/readyz" | "/metrics")
}

/// The client's address: the TCP peer, or, when the peer is one of the trusted
/// proxies (`--trusted-proxies`), the client it names in `X-Forwarded-For`.
pub fn client_ip(req: &actix_web::HttpRequest) -> Option<String> {
    let peer = req.peer_addr()?.ip();
    let trusted = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.settings.trusted_proxies.as_slice())
        .unwrap_or_default();
    if trusted.is_empty() {
        return Some(peer.to_string());
    }
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok());
    Some(crate::domain::cidr::client_address(peer, forwarded, trusted).to_string())
}

/// How long a session's last-seen time may lag before it is written again.
const TOUCH_EVERY_SECONDS: i64 = 60;

/// Largest form body the CSRF check reads.
const FORM_LIMIT: usize = 1 << 20;

/// Largest form with files (`multipart/form-data`) the desk reads: a customer's
/// message with its files at their limits, and room for the rest of the form.
pub const MULTIPART_LIMIT: usize = crate::domain::conversation::MAX_TOTAL_BYTES
    + crate::domain::conversation::MAX_BODY * 4
    + (1 << 20);

/// Whether the request's body is a form with files.
pub fn is_multipart(req: &actix_web::HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        })
}

fn cookie(name: &'static str, value: String, secure: bool) -> Cookie<'static> {
    Cookie::build(name, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .finish()
}

/// The session cookie for a new session.
pub fn session_cookie(token: String, secure: bool) -> Cookie<'static> {
    cookie(session_cookie_name(secure), token, secure)
}

/// A cookie that removes the session cookie.
pub fn session_removal(secure: bool) -> Cookie<'static> {
    let mut c = Cookie::build(session_cookie_name(secure), "")
        .path("/")
        .secure(secure)
        .finish();
    c.make_removal();
    c
}

/// Loads the browser session (ending it when idle too long, too old, or its user
/// was deactivated), picks the language, and refuses any state-changing request
/// whose CSRF token does not match with 403.
pub async fn session_and_csrf(
    mut req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if is_sessionless(req.path()) {
        return next.call(req).await;
    }
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .expect("AppState is registered");
    let secure = state.settings.secure_cookies();
    let ip = client_ip(req.request());
    let now = state.now();

    let mut drop_session_cookie = false;
    let mut session = None;
    if let Some(c) = req.cookie(session_cookie_name(secure)) {
        let digest = tokens::digest(c.value());
        let (idle, max) = (state.settings.session_idle, state.settings.session_max);
        // A remembered session serves while it needs neither ending nor a last-seen
        // update; anything else goes to the database.
        let remembered = state.session_cache.get(&digest, now).filter(|m| {
            let last_seen = store::from_db(m.session.last_seen_at);
            m.user.active
                && now - last_seen < Duration::seconds(TOUCH_EVERY_SECONDS).min(idle)
                && now - store::from_db(m.session.created_at) < max
        });
        let found = match remembered {
            Some(m) => Ok(Some((m.session, m.user, m.unread, m.paged))),
            None => {
                let (cache, key) = (state.session_cache.clone(), digest.clone());
                super::db(&state, move |conn| {
                    let Some((mut s, user)) = sessions::find_with_user(conn, &digest)? else {
                        return Ok(None);
                    };
                    let last_seen = store::from_db(s.last_seen_at);
                    let expired = !user.active
                        || now - last_seen >= idle
                        || now - store::from_db(s.created_at) >= max;
                    if expired {
                        sessions::delete(conn, s.id)?;
                        return Ok(None);
                    }
                    if now - last_seen >= Duration::seconds(TOUCH_EVERY_SECONDS) {
                        sessions::touch(conn, s.id, store::to_db(now))?;
                        crate::store::users::touch_active(conn, user.id, store::to_db(now))?;
                        s.last_seen_at = store::to_db(now);
                    }
                    let unread = crate::store::users::unread_notifications(conn, user.id)?;
                    let paged = crate::cases::emergency::banners_for(conn, user.id)?;
                    cache.put(
                        key,
                        crate::state::session_cache::Cached {
                            session: s.clone(),
                            user: user.clone(),
                            unread,
                            paged: paged.clone(),
                        },
                        now,
                    );
                    Ok(Some((s, user, unread, paged)))
                })
                .await
            }
        };
        match found {
            Ok(Some((s, user, unread, paged))) => {
                let role = user.role.parse::<Role>().unwrap_or(Role::Agent);
                session = Some(SignedIn {
                    session_id: s.id,
                    csrf: s.csrf_token,
                    user,
                    role,
                    unread,
                    paged,
                });
            }
            Ok(None) => drop_session_cookie = true,
            Err(e) => return Ok(req.error_response(e)),
        }
    }

    let mut new_anon = None;
    let anon_csrf = if session.is_some() {
        None
    } else {
        match req.cookie(csrf_cookie_name(secure)) {
            Some(c) if c.value().len() >= 32 => Some(c.value().to_string()),
            _ => {
                let t = tokens::random_token(32);
                new_anon = Some(t.clone());
                Some(t)
            }
        }
    };
    let lang = lang_of_request(req.request(), session.as_ref().map(|s| &s.user));
    let ctx = RequestCtx {
        session,
        anon_csrf,
        lang,
        ip,
    };

    // A request no route takes reaches no handler (it is answered 404 or 405), so it
    // needs no token.
    if !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS)
        && super::is_routed(req.method(), req.path())
    {
        // A new anonymous token cannot match anything the browser sends.
        let expected = if new_anon.is_some() {
            None
        } else {
            Some(ctx.csrf_token())
        };
        let supplied = match req
            .headers()
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
        {
            Some(h) => Some(h.to_string()),
            None => {
                let (http_req, mut payload) = req.into_parts();
                let body = if is_multipart(&http_req) {
                    // A form with files (the customer's message): read whole, within
                    // its own limit, and the token found among its parts.
                    let stream = match web::Payload::from_request(&http_req, &mut payload).await {
                        Ok(p) => p,
                        Err(e) => return Ok(ServiceResponse::from_err(e, http_req)),
                    };
                    match stream.to_bytes_limited(MULTIPART_LIMIT).await {
                        Ok(Ok(b)) => b,
                        Ok(Err(e)) => return Ok(ServiceResponse::from_err(e, http_req)),
                        Err(_) => {
                            let e = actix_web::error::ErrorPayloadTooLarge("the form is too large");
                            return Ok(ServiceResponse::from_err(e, http_req));
                        }
                    }
                } else {
                    match web::Bytes::from_request(&http_req, &mut payload).await {
                        Ok(b) => b,
                        Err(e) => return Ok(ServiceResponse::from_err(e, http_req)),
                    }
                };
                let token = form_field(&http_req, &body, "csrf_token");
                req = ServiceRequest::from_parts(http_req, actix_web::dev::Payload::from(body));
                token
            }
        };
        let ok =
            matches!((&expected, &supplied), (Some(e), Some(s)) if tokens::secrets_equal(e, s));
        if !ok {
            tracing::warn!("refused a request without a valid CSRF token");
            req.extensions_mut().insert(ctx);
            let mut res = HttpResponse::Forbidden().finish();
            res.extensions_mut().insert(ErrorMarker {
                detail: Some("csrf".into()),
            });
            let mut res = req.into_response(res);
            if let Some(t) = new_anon {
                let _ = res
                    .response_mut()
                    .add_cookie(&cookie(csrf_cookie_name(secure), t, secure));
            }
            return Ok(res);
        }
    }

    let changes = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    req.extensions_mut().insert(ctx);
    let mut res = next.call(req).await?;
    if changes {
        // Whatever the request changed (a sign-out, a deactivation, a role, a
        // language, presence), this instance's next pages read it afresh.
        state.session_cache.clear();
        state.key_cache.clear();
        state.lists_cache.clear();
        state.desk.forget();
    }
    if let Some(t) = new_anon {
        let _ = res
            .response_mut()
            .add_cookie(&cookie(csrf_cookie_name(secure), t, secure));
    }
    if drop_session_cookie {
        let _ = res.response_mut().add_cookie(&session_removal(secure));
    }
    Ok(res)
}

fn form_field(req: &actix_web::HttpRequest, body: &[u8], name: &str) -> Option<String> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if is_multipart(req) {
        return crate::domain::multipart::field(body, content_type, name);
    }
    let is_form = content_type.starts_with("application/x-www-form-urlencoded");
    if !is_form || body.len() > FORM_LIMIT {
        return None;
    }
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    page: Page,
    status: u16,
    title_key: &'static str,
    message_key: &'static str,
    detail: Option<String>,
}

/// Renders error answers that carry no body of their own: an HTML page inside the
/// layout for the browser, problem+json under /api, a redirect to sign-in for 401.
pub async fn error_pages(
    req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let res = next.call(req).await?;
    let status = res.status();
    if status.as_u16() < 400 {
        return Ok(res);
    }
    let marker = res.response().extensions().get::<ErrorMarker>().cloned();
    let content_type = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let bare =
        marker.is_some() || content_type.is_empty() || content_type.starts_with("text/plain");
    if !bare {
        return Ok(res);
    }
    let path = res.request().path().to_string();
    if matches!(path.as_str(), "/healthz" | "/readyz" | "/metrics") {
        // Operations endpoints answer in plain text for machines.
        return Ok(res);
    }
    let detail = marker.and_then(|m| m.detail);
    if path.starts_with("/api/") || path == "/api" {
        let problem = Problem::new(
            status,
            detail.unwrap_or_else(|| default_detail(status).to_string()),
        );
        let mut new = problem.response();
        copy_header(&res, &mut new, header::RETRY_AFTER);
        copy_header(&res, &mut new, header::WWW_AUTHENTICATE);
        copy_header(&res, &mut new, header::ALLOW);
        return Ok(res.into_response(new));
    }
    if status == StatusCode::UNAUTHORIZED {
        let req = res.request();
        let to = if req.method() == Method::GET && path != "/" {
            let q = req.query_string();
            let target = if q.is_empty() {
                path.clone()
            } else {
                format!("{path}?{q}")
            };
            format!("/login?next={}", url_escape(&target))
        } else {
            "/login".to_string()
        };
        let new = super::see_other(&to);
        return Ok(res.into_response(new));
    }
    let page = Page::from_request(res.request());
    let (title_key, message_key) = match status.as_u16() {
        400 => ("error.400.title", "error.400.message"),
        403 => ("error.403.title", "error.403.message"),
        404 => ("error.404.title", "error.404.message"),
        405 => ("error.405.title", "error.405.message"),
        413 => ("error.413.title", "error.413.message"),
        429 => ("error.429.title", "error.429.message"),
        _ => ("error.500.title", "error.500.message"),
    };
    // Only a 400's detail is shown (it names what was wrong); CSRF refusals get
    // their own explanation.
    let detail = match (status.as_u16(), detail.as_deref()) {
        (403, Some("csrf")) => Some(page.t("error.csrf").to_string()),
        (400, Some(d)) => Some(d.to_string()),
        _ => None,
    };
    let tpl = ErrorPage {
        status: status.as_u16(),
        title_key,
        message_key,
        detail,
        page,
    };
    let mut new = match tpl.page.render_status(status, &tpl) {
        Ok(r) => r,
        Err(_) => HttpResponse::build(status).body(status.to_string()),
    };
    copy_header(&res, &mut new, header::RETRY_AFTER);
    copy_header(&res, &mut new, header::ALLOW);
    for c in res.response().cookies() {
        let _ = new.add_cookie(&c.into_owned());
    }
    Ok(res.into_response(new))
}

fn copy_header(from: &ServiceResponse<BoxBody>, to: &mut HttpResponse, name: HeaderName) {
    if let Some(v) = from.headers().get(&name) {
        to.headers_mut().insert(name, v.clone());
    }
}

/// Percent-encodes a path for a query parameter.
pub fn url_escape(s: &str) -> String {
    serde_urlencoded::to_string([("x", s)])
        .map(|e| e[2..].to_string())
        .unwrap_or_default()
}
