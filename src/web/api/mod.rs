// The JSON API: API keys with scopes (`key.rs`), problem+json errors, and the routes
// for alerts, cases, labels, snoozes, calendar previews and webhooks. Its OpenAPI
// description is built from the handlers' own annotations (`openapi.rs`).

pub mod alerts;
pub mod calendars;
pub mod cases;
pub mod key;
pub mod labels;
pub mod openapi;
pub mod snoozes;
pub mod webhooks;

use actix_web::HttpRequest;
use serde_json::Value;

use crate::domain::input;
use crate::domain::{FieldProblem, ProblemText};
use crate::i18n::tkey;
use crate::state::AppState;

pub use key::{ApiKey, scope};

/// Largest request body the API reads.
pub const BODY_LIMIT: usize = 1 << 20;

/// Where the API lives; its routes are in the desk's route table (`web::ROUTES`).
pub const PREFIX: &str = "/api";

pub use crate::error::ApiError;

/// Runs `f` with a connection of the pool on the blocking threads.
pub async fn api_db<T, F>(state: &AppState, f: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut crate::db::DbConn) -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    let pool = state.pool.clone();
    actix_web::web::block(move || {
        let mut conn = pool.get().map_err(|e| ApiError::Internal(e.to_string()))?;
        f(&mut conn)
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
}

/// Parses a request body as JSON; malformed JSON is a 400 that says where, naming
/// the body (`(body)`) in its `errors`.
pub fn parse_json(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::Malformed(vec![FieldProblem::new(
            input::BODY,
            format!("The body is not valid JSON: {e}."),
        )])
    })
}

/// The parameters of a request's query string, each given at most once. Parameters
/// the operation does not take are ignored.
pub struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    /// Reads the query string of `req`; one that is not URL-encoded is a 400.
    pub fn of(req: &HttpRequest) -> Result<Self, ApiError> {
        serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
            .map(QueryParams)
            .map_err(|_| {
                ApiError::Malformed(vec![FieldProblem::new(
                    "(query)",
                    "The query string is not URL-encoded.",
                )])
            })
    }

    /// The value of `name`, if given; given twice is a problem.
    pub fn get(&self, name: &str, problems: &mut Vec<FieldProblem>) -> Option<&str> {
        let mut values = self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v);
        let first = values.next()?;
        if values.next().is_some() {
            input::problem(
                problems,
                &input::Path::named(name),
                tkey("input.error.twice"),
                &[],
            );
            return None;
        }
        Some(first)
    }

    /// The value of `name` read by `check`, if given.
    pub fn read<T>(
        &self,
        name: &str,
        problems: &mut Vec<FieldProblem>,
        check: impl FnOnce(&str) -> Result<T, ProblemText>,
    ) -> Option<T> {
        let text = self.get(name, problems)?;
        check(text)
            .map_err(|t| input::problem_text(problems, &input::Path::named(name), t))
            .ok()
    }
}

/// A query parameter of an operation in the description.
pub fn query_param(
    name: &str,
    schema: impl Into<crate::domain::input::oas::RefOr<crate::domain::input::oas::Schema>>,
    description: &str,
) -> utoipa::openapi::path::Parameter {
    use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(utoipa::openapi::Required::False)
        .description(Some(description))
        .schema(Some(schema))
        .build()
}

/// A list's cursor: the `next_cursor` it gave, URL-safe base64 without padding.
#[derive(Debug, Clone)]
pub struct Cursor(pub String);

impl Cursor {
    pub const PATTERN: &str = "^[A-Za-z0-9_-]{1,200}$";

    /// Checks the shape; whether it decodes is the list's business.
    pub fn check(s: &str) -> Result<Cursor, ProblemText> {
        if (1..=200).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            Ok(Cursor(s.to_string()))
        } else {
            Err(Cursor::problem())
        }
    }

    pub fn problem() -> ProblemText {
        ProblemText::new(tkey("input.error.cursor"), &[])
    }

    pub fn schema() -> crate::domain::input::oas::ObjectBuilder {
        use crate::domain::input::oas::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(1))
            .max_length(Some(200))
            .pattern(Some(Self::PATTERN))
    }
}
