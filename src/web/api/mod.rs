// The JSON API: API-key authentication, problem+json errors, and the routes for
// alerts, cases and calendar previews. Its OpenAPI description is built from the
// handlers' own annotations (`openapi.rs`).

pub mod alerts;
pub mod calendars;
pub mod cases;
pub mod labels;
pub mod openapi;
pub mod snoozes;

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header::AUTHORIZATION;
use actix_web::{FromRequest, HttpRequest, web};
use serde_json::Value;

use crate::domain::tokens;
use crate::state::AppState;
use crate::store::{self, apikeys};

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
