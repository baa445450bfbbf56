// The JSON API: API-key authentication, problem+json errors, and the routes for
// alerts, cases and calendar previews. Its OpenAPI description is built from the
// handlers' own annotations (`openapi.rs`).

pub mod alerts;
pub mod calendars;
pub mod cases;
pub mod openapi;

use std::future::Future;
use std::pin::Pin;

use actix_web::http::StatusCode;
use actix_web::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, web};
use serde_json::Value;

use crate::domain::{FieldProblem, tokens};
use crate::error::{FieldError, Problem};
use crate::state::AppState;
use crate::store::{self, apikeys};

/// Largest request body the API reads.
pub const BODY_LIMIT: usize = 1 << 20;

/// Where the API lives; its routes are in the desk's route table (`web::ROUTES`).
pub const PREFIX: &str = "/api";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("the request breaks the rules")]
    Invalid(Vec<FieldProblem>),
    #[error("missing or wrong API key")]
    Unauthorized,
    #[error("not found: {0}")]
    NotFound(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<crate::error::AppError> for ApiError {
    fn from(e: crate::error::AppError) -> Self {
        match e {
            crate::error::AppError::NotFound => ApiError::NotFound("not found".into()),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        ApiError::Internal(e.to_string())
    }
}

impl ApiError {
    pub fn problem(&self) -> Problem {
        match self {
            ApiError::BadRequest(d) => Problem::new(StatusCode::BAD_REQUEST, d.clone()),
            ApiError::Invalid(problems) => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!(
                    "{} field{} broke the rules: {}",
                    problems.len(),
                    if problems.len() == 1 { "" } else { "s" },
                    problems
                        .iter()
                        .map(|p| p.field.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
            .with_errors(
                problems
                    .iter()
                    .map(|p| FieldError {
                        field: p.field.clone(),
                        message: p.message.clone(),
                    })
                    .collect(),
            ),
            ApiError::Unauthorized => Problem::new(
                StatusCode::UNAUTHORIZED,
                "An API key is required: send Authorization: Bearer <key> with a key that is not revoked.",
            ),
            ApiError::NotFound(what) => Problem::new(StatusCode::NOT_FOUND, what.clone()),
            ApiError::Internal(_) => Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The server could not answer the request; it has been logged.",
            ),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.problem().status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(cause) = self {
            tracing::error!(error = %cause, "API request failed");
        }
        let mut res = self.problem().response();
        if matches!(self, ApiError::Unauthorized) {
            res.headers_mut().insert(
                WWW_AUTHENTICATE,
                actix_web::http::header::HeaderValue::from_static("Bearer"),
            );
        }
        res
    }
}

/// Parses a request body as JSON; malformed JSON is a 400 that says where.
pub fn parse_json(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("The body is not valid JSON: {e}.")))
}

/// The API key a request was made with (its id).
#[derive(Debug, Clone, Copy)]
pub struct ApiKeyId(pub i64);

impl FromRequest for ApiKeyId {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let presented = req
            .headers()
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|v| v.trim().to_string());
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::Internal("no state".into()))?;
            let key = presented.ok_or(ApiError::Unauthorized)?;
            let prefix = tokens::api_key_prefix(&key)
                .ok_or(ApiError::Unauthorized)?
                .to_string();
            let digest = tokens::digest(&key);
            let found = crate::web::db(&state, move |conn| {
                Ok(apikeys::find_by_prefix(conn, &prefix)?)
            })
            .await
            .map_err(ApiError::from)?;
            match found {
                Some(k)
                    if k.revoked_at.is_none() && tokens::secrets_equal(&k.key_hash, &digest) =>
                {
                    state.note_api_key_use(k.id, k.last_used_at.map(store::from_db));
                    Ok(ApiKeyId(k.id))
                }
                _ => Err(ApiError::Unauthorized),
            }
        })
    }
}
