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

use serde_json::Value;

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

/// Parses a request body as JSON; malformed JSON is a 400 that says where.
pub fn parse_json(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("The body is not valid JSON: {e}.")))
}
