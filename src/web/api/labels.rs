// The labels feed for the risk engine: one row per alert of each closed case (a case
// reopened and closed again gives new rows), keyset-paged by a cursor the engine
// keeps and passes back as `since`.

use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::scope::LabelsRead;
use super::{ApiError, ApiKey, Cursor, QueryParams, api_db, query_param};
use crate::domain::CaseEvent;
use crate::domain::input::Bounded;
use crate::domain::resolution::Disposition;
use crate::domain::webhooks::label_of;
use crate::state::AppState;
use crate::store::labels;

/// Rows per page of the feed: 1 to 1000.
type Limit = Bounded<1, 1000>;
const DEFAULT_LIMIT: i64 = 500;

/// The query parameters of the feed.
pub struct LabelsQuery;

impl utoipa::IntoParams for LabelsQuery {
    fn into_params(
        _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        vec![
            query_param(
                "since",
                Cursor::schema(),
                "The `next_cursor` of the previous answer; from the first closing when absent.",
            ),
            query_param(
                "limit",
                Limit::schema_with("Rows per page, 1 to 1000.").default(Some(DEFAULT_LIMIT.into())),
                "Rows per page, 1 to 1000 (default 500).",
            ),
        ]
    }
}

#[derive(Serialize, ToSchema)]
pub struct LabelRow {
    pub alert_external_id: String,
    pub rule: String,
    pub customer_external_id: String,
    pub transaction_ref: Option<String>,
    /// `true_positive`, `false_positive` or `unknown`.
    pub label: &'static str,
    pub disposition: String,
    /// When the case was closed (RFC 3339).
    pub decided_at: String,
    /// The case's reference.
    pub case: String,
}

#[derive(Serialize, ToSchema)]
pub struct LabelPage {
    /// In the order the closings were made.
    pub labels: Vec<LabelRow>,
    /// Pass as `since` to read on; the same cursor again when nothing is new yet
    /// (null only while nothing has ever been closed).
    pub next_cursor: Option<String>,
    /// More rows are ready now.
    pub has_more: bool,
}

/// The feed's own cursors say whose they are, so another list's cursor is refused.
fn encode(event: i64, alert: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("labels:{event}:{alert}"))
}

fn decode(s: &str) -> Option<(i64, i64)> {
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(s).ok()?).ok()?;
    let rest = raw.strip_prefix("labels:")?;
    let (e, a) = rest.split_once(':')?;
    let (e, a) = (e.parse().ok()?, a.parse().ok()?);
    (e >= 0 && a >= 0).then_some((e, a))
}

#[utoipa::path(
    get,
    path = "/api/v1/labels",
    tag = "cases",
    params(LabelsQuery),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "A page of labels", body = LabelPage),
        (status = 400, description = "A malformed or foreign cursor, or a bad limit; each parameter named", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or wrong API key", body = crate::error::Problem, content_type = "application/problem+json",
            headers(("WWW-Authenticate" = String, description = "Bearer"))),
    )
)]
pub async fn list(
    _key: ApiKey<LabelsRead>,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let q = QueryParams::of(&req)?;
    let mut problems = Vec::new();
    let after = q.read("since", &mut problems, |c| {
        Cursor::check(c)
            .ok()
            .and_then(|c| decode(&c.0))
            .ok_or_else(Cursor::problem)
    });
    let limit = q.read("limit", &mut problems, Limit::from_text);
    if !problems.is_empty() {
        return Err(ApiError::Malformed(problems));
    }
    let limit = limit.map_or(DEFAULT_LIMIT, |l| l.0);
    let page = api_db(&state, move |conn| -> Result<LabelPage, ApiError> {
        let (from_event, from_alert) = after.unwrap_or((0, 0));
        // Closings from the cursor's own on (its later alerts may be left); one
        // more than a page's worth tells whether more are ready.
        let closings = labels::closings(conn, from_event, limit + 1)?;
        let case_ids: Vec<i64> = closings.iter().map(|c| c.case_id).collect();
        let alerts = labels::alerts_of(conn, &case_ids)?;
        let mut rows: Vec<(i64, i64, LabelRow)> = Vec::new();
        let mut full = false;
        'closings: for c in &closings {
            let disposition = match CaseEvent::from_parts("case.resolved", &c.data) {
                Ok(CaseEvent::Resolved(r)) => r.disposition,
                _ => continue,
            };
            let label = disposition
                .parse::<Disposition>()
                .map_or("unknown", label_of);
            let decided_at = DateTime::<Utc>::from_naive_utc_and_offset(c.at, Utc).to_rfc3339();
            for a in alerts.iter().filter(|a| a.case_id == c.case_id) {
                if (c.event_id, a.id) <= (from_event, from_alert) {
                    continue;
                }
                if rows.len() as i64 == limit {
                    full = true;
                    break 'closings;
                }
                rows.push((
                    c.event_id,
                    a.id,
                    LabelRow {
                        alert_external_id: a.external_id.clone(),
                        rule: a.rule.clone(),
                        customer_external_id: a.customer_external_id.clone(),
                        transaction_ref: a.transaction_ref.clone(),
                        label,
                        disposition: disposition.clone(),
                        decided_at: decided_at.clone(),
                        case: crate::domain::reference::case_ref(c.case_id),
                    },
                ));
            }
        }
        // A full page goes on after its last row; otherwise every alert of the
        // closings read was given (or had none: a campaign's own case), and the
        // feed goes on after the last of them.
        let next_cursor = match (full, rows.last(), closings.last()) {
            (true, Some((e, a, _)), _) => Some(encode(*e, *a)),
            (_, _, Some(c)) => Some(encode(c.event_id, i64::MAX)),
            _ => after.map(|(e, a)| encode(e, a)),
        };
        Ok(LabelPage {
            labels: rows.into_iter().map(|(_, _, r)| r).collect(),
            next_cursor,
            has_more: full || closings.len() as i64 > limit,
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_foreign_ones_are_refused() {
        assert_eq!(decode(&encode(12, 345)), Some((12, 345)));
        // A cursor of /api/v1/cases is "<micros>:<id>" in the same encoding.
        let cases_cursor = URL_SAFE_NO_PAD.encode("1764547200000000:42");
        assert_eq!(decode(&cases_cursor), None);
        assert_eq!(decode("not a cursor"), None);
        assert_eq!(decode(&URL_SAFE_NO_PAD.encode("labels:-1:2")), None);
    }
}
