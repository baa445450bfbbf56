// Webhooks through the JSON API, for keys with the scope webhooks:manage: list the
// receivers, add one (its signing secret answered once), disable, enable, rotate the
// secret, delete. The same commands as the command line and the admin pages
// (`crate::webhooks`), audited the same way, with the key named in each event.

use actix_web::{HttpResponse, web};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::scope::WebhooksManage;
use super::{ApiError, ApiKey, api_db, parse_json};
use crate::domain::FieldProblem;
use crate::domain::webhooks::EventType;
use crate::state::AppState;
use crate::store::webhooks::{self as hook_store, Webhook};
use crate::webhooks::{self as hooks, WebhookError};

/// A receiver as the API shows it (never its secret, which is answered once).
#[derive(Serialize, ToSchema)]
pub struct WebhookView {
    pub id: i64,
    pub name: String,
    pub url: String,
    /// The event types it receives.
    pub events: Vec<String>,
    pub enabled: bool,
    /// RFC 3339.
    pub created_at: String,
    /// When its secret was last rotated (RFC 3339), or null.
    pub rotated_at: Option<String>,
    /// Deliveries waiting to be sent to it, and of those how many have failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failing: Option<i64>,
}

/// A receiver just added, or whose secret was just rotated, with its signing secret.
#[derive(Serialize, ToSchema)]
pub struct WebhookWithSecret {
    #[serde(flatten)]
    pub webhook: WebhookView,
    /// The signing secret: answered this once, never shown again.
    pub secret: String,
}

#[derive(Serialize, ToSchema)]
pub struct WebhookList {
    /// Every receiver, by name.
    pub webhooks: Vec<WebhookView>,
}

/// A new receiver.
#[derive(ToSchema)]
#[allow(dead_code)] // described for the OpenAPI document; read as JSON by `parse_new`
pub struct NewWebhook {
    /// 1 to 100 characters, unique.
    name: String,
    /// An absolute http:// or https:// address the deliveries are POSTed to.
    url: String,
    /// Event types; leave it out for every type.
    events: Option<Vec<String>>,
}

fn rfc3339(t: chrono::NaiveDateTime) -> String {
    crate::store::from_db(t).to_rfc3339()
}

fn view(h: Webhook, waiting: Option<(i64, i64)>) -> WebhookView {
    WebhookView {
        events: h.types().iter().map(|t| t.as_str().to_string()).collect(),
        id: h.id,
        name: h.name,
        url: h.url,
        enabled: h.enabled,
        created_at: rfc3339(h.created_at),
        rotated_at: h.rotated_at.map(rfc3339),
        waiting: waiting.map(|w| w.0),
        failing: waiting.map(|w| w.1),
    }
}

/// A command's refusal as the API answers it (`id`: the webhook it was about).
fn refusal(e: WebhookError, id: Option<i64>) -> ApiError {
    match e {
        WebhookError::Invalid(e) => {
            ApiError::Invalid(vec![FieldProblem::new(e.field(), e.to_string())])
        }
        WebhookError::NameTaken(name) => ApiError::Invalid(vec![FieldProblem::new(
            "name",
            format!("a webhook named '{name}' exists already"),
        )]),
        WebhookError::NotFound => ApiError::NotFound(match id {
            Some(id) => format!("No webhook has the id {id}."),
            None => "No such webhook.".into(),
        }),
        WebhookError::Db(e) => e.into(),
    }
}

/// The id in the path; anything else names no webhook.
fn webhook_id(path: &str) -> Result<i64, ApiError> {
    path.parse()
        .map_err(|_| ApiError::NotFound(format!("No webhook has the id '{path}'.")))
}

/// A new receiver's fields from the body: `name` and `url` strings, `events` a list
/// of event types (absent or null: every type; empty: refused). Unknown fields are
/// refused by name.
fn parse_new(body: &Value) -> Result<(String, String, String), ApiError> {
    let Some(obj) = body.as_object() else {
        return Err(ApiError::Invalid(vec![FieldProblem::new(
            "(body)",
            "must be a JSON object",
        )]));
    };
    let mut problems = Vec::new();
    let mut text = |field: &str| match obj.get(field) {
        Some(Value::String(s)) => s.clone(),
        Some(_) => {
            problems.push(FieldProblem::new(field, "must be a string"));
            String::new()
        }
        None => {
            problems.push(FieldProblem::new(field, "is required"));
            String::new()
        }
    };
    let (name, url) = (text("name"), text("url"));
    // Checked here as the command checks them, so that every field is named at once.
    if obj.get("name").is_some_and(Value::is_string)
        && let Err(e) = crate::domain::webhooks::parse_name(&name)
    {
        problems.push(FieldProblem::new(e.field(), e.to_string()));
    }
    if obj.get("url").is_some_and(Value::is_string)
        && let Err(e) = crate::domain::webhooks::parse_url(&url)
    {
        problems.push(FieldProblem::new(e.field(), e.to_string()));
    }
    let events = match obj.get("events") {
        None | Some(Value::Null) => String::new(),
        Some(Value::Array(items)) if items.is_empty() => {
            problems.push(FieldProblem::new(
                "events",
                "must name at least one event type; leave it out for every type",
            ));
            String::new()
        }
        Some(Value::Array(items)) => {
            let mut names = Vec::new();
            for (i, item) in items.iter().enumerate() {
                match item.as_str() {
                    Some(s) if s.parse::<EventType>().is_ok() => names.push(s),
                    Some(s) => problems.push(FieldProblem::new(
                        format!("events[{i}]"),
                        format!(
                            "unknown event '{s}'; the types are {}",
                            EventType::ALL.map(EventType::as_str).join(", ")
                        ),
                    )),
                    None => problems.push(FieldProblem::new(
                        format!("events[{i}]"),
                        "must be a string",
                    )),
                }
            }
            names.join(",")
        }
        Some(_) => {
            problems.push(FieldProblem::new("events", "must be a list of event types"));
            String::new()
        }
    };
    for k in obj.keys() {
        if !["name", "url", "events"].contains(&k.as_str()) {
            problems.push(FieldProblem::new(k.clone(), "is not a field of a webhook"));
        }
    }
    if problems.is_empty() {
        Ok((name, url, events))
    } else {
        Err(ApiError::Invalid(problems))
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/webhooks",
    tag = "webhooks",
    security(("api_key" = [])),
    responses(
        (status = 200, description = "Every receiver with what waits for it", body = WebhookList),
    )
)]
pub async fn list(
    _key: ApiKey<WebhooksManage>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (hooks, waiting) = api_db(&state, |conn| {
        Ok((hook_store::list(conn)?, hook_store::waiting(conn)?))
    })
    .await?;
    let webhooks = hooks
        .into_iter()
        .map(|h| {
            let w = waiting
                .iter()
                .find(|(id, _, _)| *id == h.id)
                .map_or((0, 0), |(_, w, f)| (*w, *f));
            view(h, Some(w))
        })
        .collect();
    Ok(HttpResponse::Ok().json(WebhookList { webhooks }))
}

#[utoipa::path(
    post,
    path = "/api/v1/webhooks",
    tag = "webhooks",
    request_body = NewWebhook,
    security(("api_key" = [])),
    responses(
        (status = 201, description = "The receiver is added; its signing secret is in this answer only", body = WebhookWithSecret),
        (status = 400, description = "Malformed JSON", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field breaks a rule (a name taken, a bad URL, an unknown event type); each is named", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create(
    key: ApiKey<WebhooksManage>,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (name, url, events) = parse_new(&parse_json(&body)?)?;
    let now = state.now();
    let (hook, secret) = api_db(&state, move |conn| {
        hooks::add(conn, now, key.origin(), &name, &url, &events).map_err(|e| refusal(e, None))
    })
    .await?;
    Ok(HttpResponse::Created().json(WebhookWithSecret {
        webhook: view(hook, None),
        secret,
    }))
}

#[utoipa::path(
    post,
    path = "/api/v1/webhooks/{id}/disable",
    tag = "webhooks",
    params(("id" = i64, Path, description = "The webhook's id")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "It is off; what it misses waits for it", body = WebhookView),
        (status = 404, description = "No such webhook", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn disable(
    key: ApiKey<WebhooksManage>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    switch(key, state, path, false).await
}

#[utoipa::path(
    post,
    path = "/api/v1/webhooks/{id}/enable",
    tag = "webhooks",
    params(("id" = i64, Path, description = "The webhook's id")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "It is on", body = WebhookView),
        (status = 404, description = "No such webhook", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn enable(
    key: ApiKey<WebhooksManage>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    switch(key, state, path, true).await
}

async fn switch(
    key: ApiKey<WebhooksManage>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    enabled: bool,
) -> Result<HttpResponse, ApiError> {
    let id = webhook_id(&path)?;
    let now = state.now();
    let hook = api_db(&state, move |conn| {
        hooks::set_enabled(conn, now, key.origin(), id, enabled).map_err(|e| refusal(e, Some(id)))
    })
    .await?;
    Ok(HttpResponse::Ok().json(view(hook, None)))
}

#[utoipa::path(
    post,
    path = "/api/v1/webhooks/{id}/rotate",
    tag = "webhooks",
    params(("id" = i64, Path, description = "The webhook's id")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "A new signing secret, in this answer only; deliveries are signed with it from now on", body = WebhookWithSecret),
        (status = 404, description = "No such webhook", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn rotate(
    key: ApiKey<WebhooksManage>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = webhook_id(&path)?;
    let now = state.now();
    let (hook, secret) = api_db(&state, move |conn| {
        hooks::rotate(conn, now, key.origin(), id).map_err(|e| refusal(e, Some(id)))
    })
    .await?;
    Ok(HttpResponse::Ok().json(WebhookWithSecret {
        webhook: view(hook, None),
        secret,
    }))
}

#[utoipa::path(
    delete,
    path = "/api/v1/webhooks/{id}",
    tag = "webhooks",
    params(("id" = i64, Path, description = "The webhook's id")),
    security(("api_key" = [])),
    responses(
        (status = 204, description = "It is deleted, with what waited for it"),
        (status = 404, description = "No such webhook", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete(
    key: ApiKey<WebhooksManage>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = webhook_id(&path)?;
    let now = state.now();
    api_db(&state, move |conn| {
        hooks::delete(conn, now, key.origin(), id).map_err(|e| refusal(e, Some(id)))
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
