// What every page knows about its request: the signed-in user, the language, the
// CSRF token, a flash message; and the extractor that demands a signed-in user
// (the ones that demand a role are in `access.rs`).

use std::future::{Ready, ready};

use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse};
use askama::Template;
use chrono::NaiveDateTime;

use crate::accounts::Actor;
use crate::domain::CaseStatus;
use crate::domain::{Lang, Role};
use crate::error::AppError;
use crate::i18n::Tr;
use crate::store::users::User;

pub const SESSION_COOKIE: &str = "riskdesk_session";
pub const CSRF_COOKIE: &str = "riskdesk_csrf";

/// The session cookie's name: `__Host-` prefixed when the desk is served over https,
/// so that the browser only takes it from this host, over TLS, for the whole site.
pub fn session_cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-riskdesk_session"
    } else {
        SESSION_COOKIE
    }
}

/// The CSRF cookie's name (of visitors not signed in), prefixed like the session's.
pub fn csrf_cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-riskdesk_csrf"
    } else {
        CSRF_COOKIE
    }
}
pub const FLASH_COOKIE: &str = "riskdesk_flash";

/// A signed-in user's session, as the session middleware found it.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub session_id: i64,
    pub csrf: String,
    pub user: User,
    pub role: Role,
    /// Unread in-app notifications.
    pub unread: i64,
    /// Emergencies the user is paged for and has not answered: the banner.
    pub paged: Vec<crate::cases::emergency::Banner>,
}

/// Per-request context, put in the request's extensions by the session middleware.
#[derive(Debug, Clone, Default)]
pub struct RequestCtx {
    pub session: Option<SignedIn>,
    pub anon_csrf: Option<String>,
    pub lang: Lang,
    pub ip: Option<String>,
}

impl RequestCtx {
    pub fn of(req: &HttpRequest) -> RequestCtx {
        req.extensions()
            .get::<RequestCtx>()
            .cloned()
            .unwrap_or_else(|| RequestCtx {
                lang: lang_of_request(req, None),
                ip: super::middleware::client_ip(req),
                ..Default::default()
            })
    }

    pub fn csrf_token(&self) -> String {
        match &self.session {
            Some(s) => s.csrf.clone(),
            None => self.anon_csrf.clone().unwrap_or_default(),
        }
    }
}

/// The user's language setting, else the browser's `Accept-Language`, else English.
pub fn lang_of_request(req: &HttpRequest, user: Option<&User>) -> Lang {
    user.and_then(|u| u.language.as_deref())
        .and_then(Lang::parse)
        .or_else(|| {
            req.headers()
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Lang::from_accept_language)
        })
        .unwrap_or_default()
}

/// The signed-in user, whatever their role: the guard of routes any signed-in user
/// may use. Extracting it on an anonymous request answers 401, which the error-page
/// middleware turns into a redirect to the sign-in page.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub user: User,
    pub role: Role,
    pub session_id: i64,
    pub ip: Option<String>,
}

impl CurrentUser {
    /// The user the session middleware found for `req`, or 401.
    pub fn of(req: &HttpRequest) -> Result<CurrentUser, AppError> {
        let ctx = RequestCtx::of(req);
        match ctx.session {
            Some(s) => Ok(CurrentUser {
                user: s.user,
                role: s.role,
                session_id: s.session_id,
                ip: ctx.ip,
            }),
            None => Err(AppError::Unauthorized),
        }
    }

    pub fn actor(&self) -> Actor {
        Actor::user(self.user.id, self.ip.clone())
    }
}

impl FromRequest for CurrentUser {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(CurrentUser::of(req))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlashKind {
    Success,
    Error,
}

impl FlashKind {
    pub fn css(self) -> &'static str {
        match self {
            FlashKind::Success => "success",
            FlashKind::Error => "error",
        }
    }
}

/// A one-time message carried across a redirect; it holds a catalog key, never text.
#[derive(Debug, Clone)]
pub struct Flash {
    pub kind: FlashKind,
    pub key: String,
}

/// A 303 redirect that shows `key` on the next page.
pub fn redirect_with_flash(to: &str, kind: FlashKind, key: &'static str) -> HttpResponse {
    let value = format!(
        "{}:{key}",
        match kind {
            FlashKind::Success => "s",
            FlashKind::Error => "e",
        }
    );
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .cookie(
            Cookie::build(FLASH_COOKIE, value)
                .path("/")
                .http_only(true)
                .same_site(SameSite::Lax)
                .finish(),
        )
        .finish()
}

/// The signed-in user as the layout shows them.
#[derive(Debug, Clone)]
pub struct Badge {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub presence: String,
    pub unread: i64,
    pub paged: Vec<crate::cases::emergency::Banner>,
    /// Signs in against the directory, which keeps their password.
    pub directory: bool,
}

/// The bytes a page's buffer starts with (a list page of 50 rows is about 40 KB).
const RENDER_BUFFER: usize = 48 * 1024;

/// The context every template gets.
#[derive(Debug, Clone)]
pub struct Page {
    pub tr: Tr,
    pub user: Option<Badge>,
    pub csrf: String,
    pub flash: Option<Flash>,
    pub path: String,
    pub tz: chrono_tz::Tz,
}

impl Page {
    pub fn from_request(req: &HttpRequest) -> Page {
        let ctx = RequestCtx::of(req);
        let flash = req.cookie(FLASH_COOKIE).and_then(|c| {
            let (kind, key) = c.value().split_once(':')?;
            let kind = match kind {
                "s" => FlashKind::Success,
                "e" => FlashKind::Error,
                _ => return None,
            };
            // Only keys the catalog knows are shown; anything else is dropped.
            crate::i18n::keys(ctx.lang).contains(&key).then(|| Flash {
                kind,
                key: key.to_string(),
            })
        });
        let tz = ctx
            .session
            .as_ref()
            .and_then(|s| s.user.timezone.as_deref())
            .and_then(|t| t.parse().ok())
            .unwrap_or(chrono_tz::UTC);
        Page {
            tr: Tr::new(ctx.lang),
            csrf: ctx.csrf_token(),
            user: ctx.session.map(|s| Badge {
                directory: s.user.is_directory(),
                id: s.user.id,
                name: s.user.name,
                email: s.user.email,
                role: s.role,
                presence: s.user.presence,
                unread: s.unread,
                paged: s.paged,
            }),
            flash,
            path: req.path().to_string(),
            tz,
        }
    }

    pub fn t<'a>(&self, key: &'a str) -> &'a str {
        self.tr.t(key)
    }

    pub fn tf(&self, key: &str, args: &[(&str, &str)]) -> String {
        self.tr.tf(key, args)
    }

    /// Why an emergency was declared, in the reader's language.
    pub fn emergency_reason(&self, cause: &str, reason: &str) -> String {
        crate::i18n::events::emergency_reason(&self.tr, cause, reason)
    }

    pub fn lang(&self) -> &'static str {
        self.tr.lang.code()
    }

    /// The cache-busting address of a file under static/.
    pub fn asset(&self, name: &str) -> String {
        super::assets::url(name)
    }

    pub fn role_is(&self, role: &str) -> bool {
        self.user.as_ref().is_some_and(|u| u.role.as_str() == role)
    }

    /// True when the signed-in user's password is kept by the directory.
    pub fn is_directory_account(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.directory)
    }

    pub fn is_admin(&self) -> bool {
        self.role_is("admin")
    }

    pub fn is_supervisor_or_admin(&self) -> bool {
        self.user
            .as_ref()
            .is_some_and(|u| u.role.is_supervisor_or_admin())
    }

    /// True when the current path is `prefix` or below it (for the navigation).
    pub fn at(&self, prefix: &str) -> bool {
        if prefix == "/" {
            self.path == "/"
        } else {
            self.path == prefix || self.path.starts_with(&format!("{prefix}/"))
        }
    }

    /// A stored UTC time in the viewer's time zone.
    pub fn time(&self, t: &NaiveDateTime) -> String {
        t.and_utc()
            .with_timezone(&self.tz)
            .format("%Y-%m-%d %H:%M")
            .to_string()
    }

    /// A priority's label.
    pub fn priority(&self, p: &str) -> &'static str {
        match p {
            "critical" => self.tr.t("priority.critical"),
            "high" => self.tr.t("priority.high"),
            "medium" => self.tr.t("priority.medium"),
            _ => self.tr.t("priority.low"),
        }
    }

    /// A presence's label.
    pub fn presence_label(&self, p: &str) -> &'static str {
        match p {
            "online" => self.tr.t("presence.online"),
            "away" => self.tr.t("presence.away"),
            _ => self.tr.t("presence.offline"),
        }
    }

    /// A case status's label.
    pub fn status(&self, s: &str) -> &'static str {
        let Ok(status) = s.parse::<CaseStatus>() else {
            return "—";
        };
        self.tr.t(match status {
            CaseStatus::New => "status.new",
            CaseStatus::Assigned => "status.assigned",
            CaseStatus::InProgress => "status.in_progress",
            CaseStatus::PendingApproval => "status.pending_approval",
            CaseStatus::Resolved => "status.resolved",
        })
    }

    pub fn opt_time(&self, t: &Option<NaiveDateTime>) -> String {
        t.as_ref().map(|t| self.time(t)).unwrap_or_default()
    }

    pub fn role_label(&self, role: &str) -> &'static str {
        match role {
            "admin" => self.tr.t("role.admin"),
            "supervisor" => self.tr.t("role.supervisor"),
            _ => self.tr.t("role.agent"),
        }
    }

    /// The label of a code of a closed list (`disposition`, `action`,
    /// `approval_reason`…): the catalog's `{group}.{code}`, else the code itself.
    pub fn code_label<'a>(&self, group: &str, code: &'a str) -> &'a str {
        self.tr.get(&format!("{group}.{code}")).unwrap_or(code)
    }

    /// The label of an audit event kind such as `login.failed`.
    pub fn audit_kind<'a>(&self, kind: &'a str) -> &'a str {
        let key = format!("audit.kind.{}", kind.replace('.', "_"));
        self.tr.get(&key).unwrap_or(kind)
    }

    /// Renders `tpl` as an HTML page that is never cached, consuming the flash.
    pub fn render(&self, tpl: &impl Template) -> Result<HttpResponse, AppError> {
        self.render_status(actix_web::http::StatusCode::OK, tpl)
    }

    pub fn render_status<T: Template>(
        &self,
        status: actix_web::http::StatusCode,
        tpl: &T,
    ) -> Result<HttpResponse, AppError> {
        // Most pages are tens of kilobytes: one buffer of that size up front, rather
        // than growing (and copying) from the template's literal text.
        let mut body = String::with_capacity(RENDER_BUFFER.max(T::SIZE_HINT));
        tpl.render_into(&mut body)?;
        let mut res = HttpResponse::build(status);
        res.content_type("text/html; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, "no-store"));
        if self.flash.is_some() {
            let mut gone = Cookie::build(FLASH_COOKIE, "").path("/").finish();
            gone.make_removal();
            res.cookie(gone);
        }
        Ok(res.body(body))
    }
}

impl FromRequest for Page {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(Page::from_request(req)))
    }
}
