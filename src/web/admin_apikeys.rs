// Admin pages for API keys: the list (scopes, expiry, rate limit, last use, status),
// create with scopes, an expiry and a rate limit (the key is shown once), revoke.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{DateTime, Utc};

use super::page::{FlashKind, redirect_with_flash};
use super::{Admin, Page, db};
use crate::apikeys::{self, KeyError};
use crate::domain::apikey::{DEFAULT_RATE_LIMIT, KeyInputError, KeyRequest, Scope, Scopes};
use crate::error::AppError;
use crate::i18n::tkey;
use crate::state::AppState;
use crate::store::apikeys::{self as key_store, ApiKey};

/// A key as listed.
struct Row {
    key: ApiKey,
    scopes: Vec<&'static str>,
    expired: bool,
}

/// A scope's checkbox: its name and the catalog key of what it allows.
struct ScopeBox {
    name: &'static str,
    allows: &'static str,
}

fn allows(s: Scope) -> &'static str {
    match s {
        Scope::AlertsWrite => tkey("apikeys.scope.alerts_write"),
        Scope::CasesRead => tkey("apikeys.scope.cases_read"),
        Scope::LabelsRead => tkey("apikeys.scope.labels_read"),
        Scope::WebhooksManage => tkey("apikeys.scope.webhooks_manage"),
    }
}

#[derive(Template)]
#[template(path = "admin/api_keys.html")]
struct KeysPage {
    page: Page,
    rows: Vec<Row>,
    scopes: Vec<ScopeBox>,
    new_key: Option<String>,
    error: Option<String>,
    form: NewKeyForm,
}

/// The create form as typed; kept when it is refused.
#[derive(Clone)]
pub struct NewKeyForm {
    name: String,
    scopes: Vec<String>,
    expires_in_days: String,
    rate_limit: String,
}

impl Default for NewKeyForm {
    fn default() -> Self {
        NewKeyForm {
            name: String::new(),
            scopes: vec![Scope::AlertsWrite.as_str().to_string()],
            expires_in_days: String::new(),
            rate_limit: DEFAULT_RATE_LIMIT.to_string(),
        }
    }
}

impl NewKeyForm {
    /// The form's fields; `scopes` comes once per ticked box.
    fn parse(body: &[u8]) -> Result<NewKeyForm, AppError> {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_bytes(body).map_err(|e| AppError::BadRequest(e.to_string()))?;
        let mut form = NewKeyForm {
            scopes: Vec::new(),
            rate_limit: String::new(),
            ..NewKeyForm::default()
        };
        for (k, v) in pairs {
            match k.as_str() {
                "name" => form.name = v,
                "scopes" => form.scopes.push(v),
                "expires_in_days" => form.expires_in_days = v,
                "rate_limit" => form.rate_limit = v,
                _ => {}
            }
        }
        Ok(form)
    }

    pub fn ticked(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

/// An optional whole number as typed: blank is none; anything else not a number is
/// refused as `error`.
fn number(text: &str, error: KeyInputError) -> Result<Option<u32>, KeyInputError> {
    match text.trim() {
        "" => Ok(None),
        t => t.parse().map(Some).map_err(|_| error),
    }
}

/// The words of a refusal, in the page's language.
fn refusal(page: &Page, e: &KeyInputError) -> String {
    match e {
        KeyInputError::Name => page.t("apikeys.error.name").into(),
        KeyInputError::UnknownScope(name) => page.tf("apikeys.error.scope", &[("name", name)]),
        KeyInputError::NoScope => page.t("apikeys.error.no_scope").into(),
        KeyInputError::ExpiresInDays => page.t("apikeys.error.expires").into(),
        KeyInputError::RateLimit => page.t("apikeys.error.rate_limit").into(),
    }
}

async fn render(
    state: &AppState,
    page: Page,
    new_key: Option<String>,
    error: Option<String>,
    form: NewKeyForm,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let now: DateTime<Utc> = state.now();
    let keys = db(state, |conn| Ok(key_store::list(conn)?)).await?;
    let rows = keys
        .into_iter()
        .map(|key| Row {
            scopes: key.scopes().iter().map(Scope::as_str).collect(),
            expired: key.expired(now),
            key,
        })
        .collect();
    page.render_status(
        status,
        &KeysPage {
            rows,
            scopes: Scope::ALL
                .into_iter()
                .map(|s| ScopeBox {
                    name: s.as_str(),
                    allows: allows(s),
                })
                .collect(),
            new_key,
            error,
            form,
            page: page.clone(),
        },
    )
}

pub async fn list(
    _: Admin,
    state: web::Data<AppState>,
    page: Page,
) -> Result<HttpResponse, AppError> {
    render(
        &state,
        page,
        None,
        None,
        NewKeyForm::default(),
        StatusCode::OK,
    )
    .await
}

pub async fn create(
    Admin(user): Admin,
    state: web::Data<AppState>,
    page: Page,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let (now, actor) = (state.now(), user.actor());
    let form = NewKeyForm::parse(&body)?;
    let input = form.clone();
    let checked = (|| {
        Ok::<_, KeyInputError>((
            Scopes::parse_list(&input.scopes.join(","))?,
            number(&input.expires_in_days, KeyInputError::ExpiresInDays)?,
            number(&input.rate_limit, KeyInputError::RateLimit)?,
        ))
    })();
    let result = match checked {
        Err(e) => Err(KeyError::Invalid(e)),
        Ok((scopes, expires_in_days, rate_limit)) => {
            db(&state, move |conn| {
                Ok(apikeys::create(
                    conn,
                    now,
                    &actor,
                    &KeyRequest {
                        name: &input.name,
                        scopes,
                        expires_in_days,
                        rate_limit,
                    },
                ))
            })
            .await?
        }
    };
    match result {
        Ok((_, key)) => {
            render(
                &state,
                page,
                Some(key),
                None,
                NewKeyForm::default(),
                StatusCode::OK,
            )
            .await
        }
        Err(KeyError::Invalid(e)) => {
            let words = refusal(&page, &e);
            render(
                &state,
                page,
                None,
                Some(words),
                form,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(AppError::Internal(e.to_string())),
    }
}

pub async fn revoke(
    Admin(user): Admin,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let (now, actor) = (state.now(), user.actor());
    let revoked = db(&state, move |conn| {
        apikeys::revoke(conn, now, &actor, id).map_err(|e| match e {
            KeyError::Db(e) => AppError::Db(e),
            other => AppError::Internal(other.to_string()),
        })
    })
    .await?;
    match revoked {
        Some(_) => Ok(redirect_with_flash(
            "/admin/api-keys",
            FlashKind::Success,
            "flash.apikey_revoked",
        )),
        None => Err(AppError::NotFound),
    }
}
