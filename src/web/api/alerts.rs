// POST /api/v1/alerts and /api/v1/alerts/batch: the risk engine's rule hits.

use crate::domain::input::oas::{ArrayBuilder, ObjectBuilder, Schema, SchemaType};
use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

use super::scope::AlertsWrite;
use super::{ApiError, ApiKey, parse_json};
use crate::domain::FieldProblem;
use crate::domain::alert::{AlertBody, NewAlert, parse_alert, parse_alert_at};
use crate::domain::input::{self, Object, Path};
use crate::i18n::tkey;
use crate::intake::AlertResult;
use crate::state::AppState;

/// Alerts one batch may hold.
pub const MAX_BATCH: usize = 1000;

/// The body of a batch: `{"alerts": [ … ]}`. Its items are read one by one, each as
/// the body of `POST /api/v1/alerts` ([`AlertBody`]); an item that breaks a rule gets a
/// problem object in its place in the answer and the others are stored, so the
/// batch itself takes any item.
pub struct BatchBody;

impl PartialSchema for BatchBody {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .property(
                "alerts",
                ArrayBuilder::new()
                    .items(ObjectBuilder::new().schema_type(SchemaType::AnyValue).description(Some(
                        "An alert as the body of POST /api/v1/alerts (schema AlertBody). Each \
                         item is checked on its own: one that breaks a rule gets a problem \
                         object in its place in the results.",
                    )))
                    .max_items(Some(MAX_BATCH))
                    .description(Some("Up to 1000 alerts")),
            )
            .required("alerts")
            .into()
    }
}

impl ToSchema for BatchBody {}

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
        (status = 400, description = "The body is not JSON", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or wrong API key", body = crate::error::Problem, content_type = "application/problem+json",
            headers(("WWW-Authenticate" = String, description = "Bearer"))),
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
    let alert = parse_alert(&value, state.now()).map_err(ApiError::Invalid)?;
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
        (status = 400, description = "The body is not JSON", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or wrong API key", body = crate::error::Problem, content_type = "application/problem+json",
            headers(("WWW-Authenticate" = String, description = "Bearer"))),
        (status = 413, description = "Body over 1 MiB", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "The body is not an object, or its alerts are missing, not a list, or more than 1000", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn post_batch(
    key: ApiKey<AlertsWrite>,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let value = parse_json(&body)?;
    let mut problems = Vec::new();
    let items = Object::of(&value, &Path::root(), &mut problems).and_then(|o| {
        let at = o.path("alerts");
        match o.get("alerts") {
            Some(serde_json::Value::Array(items)) if items.len() > MAX_BATCH => {
                let count = items.len().to_string();
                let max = MAX_BATCH.to_string();
                input::problem(
                    &mut problems,
                    &at,
                    tkey("input.error.too_many"),
                    &[("count", &count), ("max", &max)],
                );
                None
            }
            Some(serde_json::Value::Array(items)) => Some(items),
            Some(_) => {
                input::problem(&mut problems, &at, tkey("input.error.array"), &[]);
                None
            }
            None => {
                input::problem(&mut problems, &at, tkey("input.error.required"), &[]);
                None
            }
        }
    });
    let Some(items) = items else {
        return Err(ApiError::Invalid(problems));
    };
    let now = state.now();
    let parsed: Vec<Result<NewAlert, Vec<FieldProblem>>> = items
        .iter()
        .enumerate()
        .map(|(i, item)| parse_alert_at(item, &Path::named("alerts").index(i), now))
        .collect();
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
