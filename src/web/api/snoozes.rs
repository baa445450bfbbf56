// The active snoozes for the risk engine: which customers' rules the desk holds
// back, until when and why.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::scope::LabelsRead;
use super::{ApiError, ApiKey, api_db};
use crate::state::AppState;
use crate::store::snoozes as snooze_store;

/// The most snoozes one answer lists.
const LISTED: i64 = 10_000;

#[derive(Serialize, ToSchema)]
pub struct SnoozeView {
    pub id: i64,
    pub customer_external_id: String,
    pub rule: String,
    /// RFC 3339.
    pub until: String,
    pub reason: String,
    /// RFC 3339.
    pub created_at: String,
    /// The case whose confirmed false positive it was made on.
    pub case: String,
}

#[derive(Serialize, ToSchema)]
pub struct SnoozeList {
    /// Active snoozes, the soonest to end first.
    pub snoozes: Vec<SnoozeView>,
}

fn rfc3339(t: chrono::NaiveDateTime) -> String {
    DateTime::<Utc>::from_naive_utc_and_offset(t, Utc).to_rfc3339()
}

#[utoipa::path(
    get,
    path = "/api/v1/snoozes",
    tag = "cases",
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The active snoozes", body = SnoozeList),
        (status = 401, description = "Missing or wrong API key", body = crate::error::Problem, content_type = "application/problem+json",
            headers(("WWW-Authenticate" = String, description = "Bearer"))),
    )
)]
pub async fn list(
    _key: ApiKey<LabelsRead>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let rows = api_db(&state, |conn| Ok(snooze_store::active(conn, LISTED)?)).await?;
    let snoozes = rows
        .into_iter()
        .map(|l| SnoozeView {
            id: l.snooze.id,
            customer_external_id: l.customer_external_id,
            rule: l.snooze.rule_code,
            until: rfc3339(l.snooze.until),
            reason: l.snooze.reason,
            created_at: rfc3339(l.snooze.created_at),
            case: crate::domain::reference::case_ref(l.snooze.case_id),
        })
        .collect();
    Ok(HttpResponse::Ok().json(SnoozeList { snoozes }))
}
