// POST /api/v1/alerts and /api/v1/alerts/batch: the risk engine's rule hits.

use actix_web::{HttpResponse, web};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::scope::AlertsWrite;
use super::{ApiError, ApiKey, parse_json};
use crate::domain::FieldProblem;
use crate::domain::alert::{NewAlert, parse_alert};
use crate::intake::AlertResult;
use crate::state::AppState;

/// Alerts one batch may hold.
pub const MAX_BATCH: usize = 1000;

/// An alert as posted (documentation of the body; see CONTRACT).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AlertBody {
    /// The engine's id of the alert: the idempotency key.
    #[schema(example = "eng-7f3a-000123", max_length = 200)]
    external_id: String,
    /// The rule that fired.
    #[schema(example = "LARGE_TRANSFER", max_length = 64)]
    rule: String,
    /// low, medium, high or critical; default: the rule's.
    #[schema(example = "high")]
    severity: Option<String>,
    /// RFC 3339 time the activity happened.
    #[schema(example = "2026-11-24T09:15:00+08:00")]
    occurred_at: Option<String>,
    customer: CustomerBody,
    amount: Option<AmountBody>,
    #[schema(example = "TX-20261124-88812")]
    transaction_ref: Option<String>,
    /// A flat map of strings, at most 50 keys.
    #[schema(value_type = Option<Object>, example = json!({"device_id": "d-91ab", "ip": "203.0.113.7"}))]
    attributes: Option<std::collections::BTreeMap<String, String>>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CustomerBody {
    #[schema(example = "C-100234")]
    external_id: String,
    name: Option<String>,
    email: Option<String>,
    #[schema(example = "+8613800138000")]
    phone: Option<String>,
    #[schema(example = "zh-CN")]
    locale: Option<String>,
    #[schema(example = "Asia/Shanghai")]
    timezone: Option<String>,
    /// True: the customer must not be e-mailed (left out: unchanged).
    do_not_contact: Option<bool>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AmountBody {
    /// A decimal string.
    #[schema(example = "125000.00")]
    value: String,
    #[schema(example = "CNY")]
    currency: String,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct BatchBody {
    /// Up to 1000 alerts.
    alerts: Vec<AlertBody>,
}

/// One result of a batch: an alert's result, or a problem object.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum BatchItem {
    Stored(AlertResult),
    Problem(crate::error::Problem),
}

#[derive(Serialize, ToSchema)]
pub struct BatchResults {
    results: Vec<BatchItem>,
}

#[utoipa::path(
    post,
    path = "/api/v1/alerts",
    tag = "alerts",
    request_body = AlertBody,
    security(("api_key" = [])),
    responses(
        (status = 201, description = "The alert is stored and filed into a case", body = AlertResult),
        (status = 200, description = "The external_id was received before: the first result, deduplicated", body = AlertResult),
        (status = 400, description = "Malformed JSON", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or wrong API key", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 1 MiB", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Valid JSON that breaks a rule; each field named", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn post_alert(
    key: ApiKey<AlertsWrite>,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let value = parse_json(&body)?;
    let alert = parse_alert(&value).map_err(ApiError::Invalid)?;
    let mut results = state
        .intake
        .submit(vec![alert], Some(key.0))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let result = results
        .pop()
        .ok_or_else(|| ApiError::Internal("no result".into()))?
        .map_err(ApiError::Internal)?;
    let mut res = if result.deduplicated {
        HttpResponse::Ok()
    } else {
        HttpResponse::Created()
    };
    Ok(res.json(result))
}

#[utoipa::path(
    post,
    path = "/api/v1/alerts/batch",
    tag = "alerts",
    request_body = BatchBody,
    security(("api_key" = [])),
    responses(
        (status = 200, description = "One result per alert, in order: a result, or a problem object for an alert that broke a rule", body = BatchResults),
        (status = 400, description = "Malformed JSON", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or wrong API key", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 1 MiB", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "No alerts list, or more than 1000", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn post_batch(
    key: ApiKey<AlertsWrite>,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let value = parse_json(&body)?;
    let items = match value.get("alerts") {
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(ApiError::Invalid(vec![FieldProblem::new(
                "alerts",
                "must be a list of alerts",
            )]));
        }
        None => {
            return Err(ApiError::Invalid(vec![FieldProblem::new(
                "alerts",
                "is required",
            )]));
        }
    };
    if items.len() > MAX_BATCH {
        return Err(ApiError::Invalid(vec![FieldProblem::new(
            "alerts",
            format!(
                "holds {} alerts; at most {MAX_BATCH} are allowed",
                items.len()
            ),
        )]));
    }
    let parsed: Vec<Result<NewAlert, Vec<FieldProblem>>> = items.iter().map(parse_alert).collect();
    let valid: Vec<NewAlert> = parsed
        .iter()
        .filter_map(|p| p.as_ref().ok().cloned())
        .collect();
    let mut stored = if valid.is_empty() {
        Vec::new()
    } else {
        state
            .intake
            .submit(valid, Some(key.0))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?
    }
    .into_iter();
    let results = parsed
        .into_iter()
        .map(|p| match p {
            Ok(_) => match stored.next() {
                Some(Ok(r)) => BatchItem::Stored(r),
                Some(Err(e)) => BatchItem::Problem(ApiError::Internal(e).problem()),
                None => BatchItem::Problem(ApiError::Internal("no result".into()).problem()),
            },
            Err(problems) => BatchItem::Problem(ApiError::Invalid(problems).problem()),
        })
        .collect();
    Ok(HttpResponse::Ok().json(BatchResults { results }))
}
