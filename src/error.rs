// One error type for the HTTP layer. A handler returns it; the error-page
// middleware renders it as an HTML page in the layout, or as problem+json under /api.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::accounts::AccountError;
use crate::domain::FieldProblem;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    #[error("sign-in required")]
    Unauthorized,
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The path exists, but not with this method; `allow` lists the methods it takes.
    #[error("method not allowed (allowed: {allow})")]
    MethodNotAllowed { allow: String },
    #[error("too many requests; retry after {retry_after_secs} s")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("database error: {0}")]
    Db(#[from] diesel::result::Error),
    #[error("database pool error: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error("template error: {0}")]
    Template(#[from] askama::Error),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        AppError::Internal(format!("blocking task failed: {e}"))
    }
}

impl From<crate::cases::CaseError> for AppError {
    fn from(e: crate::cases::CaseError) -> Self {
        use crate::cases::CaseError;
        match e {
            CaseError::NotFound => AppError::NotFound,
            CaseError::Forbidden => AppError::Forbidden,
            CaseError::Db(e) => AppError::Db(e),
            other => AppError::BadRequest(other.to_string()),
        }
    }
}

impl From<AccountError> for AppError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::NotFound => AppError::NotFound,
            AccountError::Db(e) => AppError::Db(e),
            other => AppError::BadRequest(other.to_string()),
        }
    }
}

/// Set on a response that the error-page middleware should render.
#[derive(Debug, Clone)]
pub struct ErrorMarker {
    pub detail: Option<String>,
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Forbidden => StatusCode::FORBIDDEN,
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        if status.is_server_error() {
            // The cause goes to the log (with the request id), never to the client.
            tracing::error!(error = %self, "request failed");
        }
        let mut res = HttpResponse::build(status);
        if let AppError::TooManyRequests { retry_after_secs } = self {
            res.insert_header(("Retry-After", retry_after_secs.to_string()));
        }
        if let AppError::MethodNotAllowed { allow } = self {
            res.insert_header((actix_web::http::header::ALLOW, allow.as_str()));
        }
        let detail = match self {
            AppError::BadRequest(m) => Some(m.clone()),
            _ => None,
        };
        let mut res = res.finish();
        res.extensions_mut().insert(ErrorMarker { detail });
        res
    }
}

/// One field's problem in a problem+json answer.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct FieldError {
    /// What is wrong: a member of the body by its JSON path
    /// (`alerts[3].customer.external_id`, `attributes["a.b"]`), the whole body as
    /// `(body)`, or a query parameter by its name (`limit`).
    #[schema(example = "customer.external_id")]
    pub field: String,
    /// What is wrong with it, in English.
    #[schema(example = "is required")]
    pub message: String,
}

/// An RFC 9457 problem document, as the JSON API answers errors.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    #[schema(example = "about:blank")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    pub errors: Vec<FieldError>,
}

impl Problem {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Problem {
            kind: "about:blank".into(),
            title: status.canonical_reason().unwrap_or("Error").into(),
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
        }
    }

    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }

    pub fn response(&self) -> HttpResponse {
        HttpResponse::build(StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST))
            .content_type("application/problem+json")
            .json(self)
    }
}

/// The plain-language detail of a status, for problem+json answers made from
/// statuses alone (unknown route, wrong method, missing key).
pub fn default_detail(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "The request could not be read.",
        401 => "An API key is required: send Authorization: Bearer <key>.",
        403 => "This key or user may not do that.",
        404 => "There is nothing at this address.",
        405 => "This address does not take that method.",
        413 => "The body is larger than the limit of 1 MiB.",
        415 => "The body must be application/json.",
        429 => "Too many requests; slow down and retry later.",
        _ => "The server could not answer the request.",
    }
}

/// The API's errors, each answered as an RFC 9457 problem.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("the request breaks the rules")]
    Invalid(Vec<FieldProblem>),
    /// A query parameter, or the body, that cannot be read at all: 400 naming each.
    #[error("the request cannot be read")]
    Malformed(Vec<FieldProblem>),
    #[error("missing or wrong API key")]
    Unauthorized,
    /// A genuine key that no longer works (revoked, expired): 401 saying which.
    #[error("API key refused: {0}")]
    KeyRefused(String),
    /// A key without the route's scope: 403 naming it.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// A key over its rate limit: 429 with `Retry-After`.
    #[error("too many requests: {detail}")]
    TooManyRequests {
        detail: String,
        retry_after_secs: u64,
    },
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

fn field_errors(problems: &[FieldProblem]) -> Vec<FieldError> {
    problems
        .iter()
        .map(|p| FieldError {
            field: p.field.clone(),
            message: p.message.clone(),
        })
        .collect()
}

fn field_list(problems: &[FieldProblem]) -> String {
    problems
        .iter()
        .map(|p| p.field.as_str())
        .collect::<Vec<_>>()
        .join(", ")
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
                    field_list(problems)
                ),
            )
            .with_errors(field_errors(problems)),
            ApiError::Malformed(problems) => Problem::new(
                StatusCode::BAD_REQUEST,
                format!(
                    "The request cannot be read: {}",
                    problems
                        .iter()
                        .map(|p| format!("{}: {}", p.field, p.message))
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
            )
            .with_errors(field_errors(problems)),
            ApiError::Unauthorized => Problem::new(
                StatusCode::UNAUTHORIZED,
                "An API key is required: send Authorization: Bearer <key> with a key that is not revoked.",
            ),
            ApiError::KeyRefused(why) => Problem::new(StatusCode::UNAUTHORIZED, why.clone()),
            ApiError::Forbidden(why) => Problem::new(StatusCode::FORBIDDEN, why.clone()),
            ApiError::TooManyRequests { detail, .. } => {
                Problem::new(StatusCode::TOO_MANY_REQUESTS, detail.clone())
            }
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
        if matches!(self, ApiError::Unauthorized | ApiError::KeyRefused(_)) {
            res.headers_mut().insert(
                actix_web::http::header::WWW_AUTHENTICATE,
                actix_web::http::header::HeaderValue::from_static("Bearer"),
            );
        }
        if let ApiError::TooManyRequests {
            retry_after_secs, ..
        } = self
        {
            res.headers_mut().insert(
                actix_web::http::header::RETRY_AFTER,
                actix_web::http::header::HeaderValue::from(*retry_after_secs),
            );
        }
        res
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        ApiError::Internal(e.to_string())
    }
}
