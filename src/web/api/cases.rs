// Reading cases back: one case, a filtered change feed with keyset cursors, and a
// case's timeline. Personal data is masked in every answer.

use std::collections::{BTreeMap, HashMap};

use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::input::oas::{ObjectBuilder, Type};
use utoipa::PartialSchema;

use super::scope::CasesRead;
use super::{ApiError, ApiKey, Cursor, QueryParams, api_db, query_param};
use crate::db::DbConn;
use crate::domain::ProblemText;
use crate::domain::input::{Bounded, Timestamp, text_type};
use crate::domain::text::TextRule;
use crate::domain::{CaseKind, CaseStatus};
use crate::domain::{FieldProblem, masking};
use crate::i18n::tkey;
use crate::state::AppState;
use crate::store::campaigns as campaign_store;
use crate::store::cases::{
    self as case_store, Alert, Case, Customer, EventRow, case_ref, parse_case_ref,
};
use crate::store::{self};

#[derive(Serialize, ToSchema)]
pub struct CustomerView {
    pub external_id: String,
    /// Masked.
    pub name: Option<String>,
    /// Masked: w***@example.com.
    pub email: Option<String>,
    /// Masked: +86 138****8000.
    pub phone: Option<String>,
    pub locale: Option<String>,
    pub timezone: Option<String>,
}

impl CustomerView {
    pub fn of(c: &Customer) -> Self {
        CustomerView {
            external_id: c.external_id.clone(),
            name: c.name.as_deref().map(masking::name),
            email: c.email.as_deref().map(masking::email),
            phone: c.phone.as_deref().map(masking::phone),
            locale: c.locale.clone(),
            timezone: c.timezone.clone(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AmountView {
    pub value: String,
    pub currency: String,
}

#[derive(Serialize, ToSchema)]
pub struct AlertView {
    pub alert_id: i64,
    pub external_id: String,
    pub rule: String,
    pub severity: String,
    pub occurred_at: Option<DateTime<Utc>>,
    pub received_at: DateTime<Utc>,
    pub amount: Option<AmountView>,
    pub transaction_ref: Option<String>,
    /// Masked unless the desk declares the key public (`public_attributes`).
    pub attributes: BTreeMap<String, String>,
}

impl AlertView {
    /// The alert with its attributes masked but for the desk's `public` keys.
    fn of(a: &Alert, public: &std::collections::HashSet<String>) -> Self {
        let attrs: BTreeMap<String, String> =
            serde_json::from_str(&a.attributes).unwrap_or_default();
        AlertView {
            alert_id: a.id,
            external_id: a.external_id.clone(),
            rule: a.rule_code.clone(),
            severity: a.severity.clone(),
            occurred_at: a.occurred_at.map(store::from_db),
            received_at: store::from_db(a.received_at),
            amount: match (&a.amount, &a.currency) {
                (Some(v), Some(c)) => Some(AmountView {
                    value: v.clone(),
                    currency: c.clone(),
                }),
                _ => None,
            },
            transaction_ref: a.transaction_ref.clone(),
            attributes: attrs
                .into_iter()
                .map(|(k, v)| {
                    let m = masking::attribute(&k, &v, public.contains(&k));
                    (k, m)
                })
                .collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SlaView {
    pub first_response_due: DateTime<Utc>,
    pub resolution_due: DateTime<Utc>,
    pub paused: bool,
    pub breached: bool,
}

#[derive(Serialize, ToSchema)]
pub struct CaseView {
    pub case_ref: String,
    /// new, assigned, in_progress, waiting_customer, resolved …
    pub status: String,
    pub queue: String,
    pub priority: String,
    /// The assignee's e-mail, or null while the case waits in its queue.
    pub assignee: Option<String>,
    pub rule: String,
    pub customer: CustomerView,
    /// The case's alerts, oldest first (only on the single-case answer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alerts: Option<Vec<AlertView>>,
    pub alert_count: i32,
    pub sla: SlaView,
    pub disposition: Option<String>,
    pub satisfaction: Option<i32>,
    pub opened_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// `case`, or `campaign` for a campaign case.
    #[schema(value_type = String)]
    pub kind: CaseKind,
    /// The reference of the campaign this case belongs to, or null.
    pub campaign: Option<String>,
    /// A campaign's children (only on the single-case answer of a campaign).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub children: Option<Vec<ChildView>>,
}

/// A child of a campaign.
#[derive(Serialize, ToSchema)]
pub struct ChildView {
    pub case_ref: String,
    pub status: String,
    pub rule: String,
    pub disposition: Option<String>,
}

fn view(
    c: &Case,
    customer: &Customer,
    queue: String,
    assignee: Option<String>,
    alerts: Option<Vec<AlertView>>,
) -> CaseView {
    CaseView {
        case_ref: case_ref(c.id),
        status: c.status.to_string(),
        queue,
        priority: c.priority.to_string(),
        assignee,
        rule: c.rule_code.clone(),
        customer: CustomerView::of(customer),
        alerts,
        alert_count: c.alert_count,
        sla: SlaView {
            first_response_due: store::from_db(c.first_response_due),
            resolution_due: store::from_db(c.resolution_due),
            paused: c.paused_since.is_some(),
            breached: c.breached,
        },
        disposition: c.disposition.clone(),
        satisfaction: None,
        opened_at: store::from_db(c.opened_at),
        updated_at: store::from_db(c.updated_at),
        kind: CaseKind::Case,
        campaign: c.campaign_id.map(case_ref),
        children: None,
    }
}

/// The `case_ref` path parameter: `RC-` and at least six digits. Any other text
/// names no case (404).
pub struct CaseRefParam;

impl utoipa::IntoParams for CaseRefParam {
    fn into_params(
        _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
        vec![
            ParameterBuilder::new()
                .name("case_ref")
                .parameter_in(ParameterIn::Path)
                .required(utoipa::openapi::Required::True)
                .description(Some("The case's reference, e.g. RC-000417"))
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .pattern(Some("^RC-[0-9]{6,18}$"))
                        .examples([serde_json::Value::from("RC-000417")]),
                ))
                .build(),
        ]
    }
}

fn load_case(conn: &mut DbConn, reference: &str) -> Result<Case, ApiError> {
    let id = parse_case_ref(reference)
        .ok_or_else(|| ApiError::NotFound(format!("No case has the reference '{reference}'.")))?;
    case_store::find(conn, id)?
        .ok_or_else(|| ApiError::NotFound(format!("No case has the reference '{reference}'.")))
}

#[utoipa::path(
    get,
    path = "/api/v1/cases/{case_ref}",
    tag = "cases",
    params(CaseRefParam),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The case, personal data masked", body = CaseView),
        (status = 401, description = "Missing or wrong API key", body = crate::error::Problem, content_type = "application/problem+json",
            headers(("WWW-Authenticate" = String, description = "Bearer"))),
        (status = 404, description = "No case has this reference", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get(
    _key: ApiKey<CasesRead>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let reference = path.into_inner();
    let st = state.clone();
    let v = api_db(&state, move |conn| -> Result<CaseView, ApiError> {
        let public = st.desk.get(conn)?.public_attributes.clone();
        let c = load_case(conn, &reference)?;
        let customer = case_store::customer(conn, c.customer_id)?;
        let queue = case_store::queue_name(conn, c.queue_id)?;
        let assignee = case_store::assignee_email(conn, c.assignee_id)?;
        let alerts = case_store::alerts_of(conn, c.id)?
            .iter()
            .map(|a| AlertView::of(a, &public))
            .collect();
        let mut v = view(&c, &customer, queue, assignee, Some(alerts));
        v.satisfaction = crate::cases::verify::satisfaction_of(conn, c.id)?;
        if campaign_store::is_campaign(conn, c.id)? {
            v.kind = CaseKind::Campaign;
            v.children = Some(
                campaign_store::children(conn, c.id)?
                    .iter()
                    .map(|ch| ChildView {
                        case_ref: case_ref(ch.id),
                        status: ch.status.to_string(),
                        rule: ch.rule_code.clone(),
                        disposition: ch.disposition.clone(),
                    })
                    .collect(),
            );
        }
        Ok(v)
    })
    .await?;
    Ok(HttpResponse::Ok().json(v))
}

/// Cases per page of the list: 1 to 500.
type Limit = Bounded<1, 500>;
const DEFAULT_LIMIT: i64 = 100;

text_type! {
    /// A queue's name: 1 to 200 characters; spaces only between other characters.
    QueueName, TextRule::name(200), example = "Transfers"
}

/// The query parameters of the case list, as they are read.
pub struct ListQuery {
    status: Option<&'static str>,
    queue: Option<QueueName>,
    updated_since: Option<Timestamp>,
    after: Option<(NaiveDateTime, i64)>,
    limit: i64,
}

impl ListQuery {
    /// Reads the parameters; every one that cannot be read is named in a 400.
    fn read(q: &QueryParams) -> Result<ListQuery, ApiError> {
        let mut problems = Vec::new();
        let status = q.read("status", &mut problems, |s| {
            STATUSES.iter().find(|x| **x == s).copied().ok_or_else(|| {
                ProblemText::new(
                    tkey("input.error.status"),
                    &[("text", s), ("list", &STATUSES.join(", "))],
                )
            })
        });
        let queue = q.read("queue", &mut problems, QueueName::check);
        let updated_since = q.read("updated_since", &mut problems, Timestamp::check);
        let after = q.read("cursor", &mut problems, |c| {
            Cursor::check(c)
                .ok()
                .and_then(|c| decode_cursor(&c.0))
                .ok_or_else(Cursor::problem)
        });
        let limit = q.read("limit", &mut problems, Limit::from_text);
        if !problems.is_empty() {
            return Err(ApiError::Malformed(problems));
        }
        Ok(ListQuery {
            status,
            queue,
            updated_since,
            after,
            limit: limit.map_or(DEFAULT_LIMIT, |l| l.0),
        })
    }
}

impl utoipa::IntoParams for ListQuery {
    fn into_params(
        _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        vec![
            query_param(
                "status",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(STATUSES.iter().copied())),
                "Only cases in this status.",
            ),
            query_param(
                "queue",
                QueueName::schema(),
                "Only cases of the queue with this name.",
            ),
            query_param(
                "updated_since",
                Timestamp::schema(),
                "Only cases changed at or after this RFC 3339 instant.",
            ),
            query_param(
                "cursor",
                Cursor::schema(),
                "The `next_cursor` of the previous page.",
            ),
            query_param(
                "limit",
                Limit::schema_with("Cases per page, 1 to 500.").default(Some(DEFAULT_LIMIT.into())),
                "Cases per page, 1 to 500 (default 100).",
            ),
        ]
    }
}

#[derive(Serialize, ToSchema)]
pub struct CaseList {
    /// Ordered by last change, oldest first; without `alerts`.
    cases: Vec<CaseView>,
    /// Pass as `cursor` for the next page; null on the last page.
    next_cursor: Option<String>,
}

fn encode_cursor(t: NaiveDateTime, id: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:{id}", t.and_utc().timestamp_micros()))
}

fn decode_cursor(s: &str) -> Option<(NaiveDateTime, i64)> {
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(s).ok()?).ok()?;
    let (t, id) = raw.split_once(':')?;
    let t = DateTime::from_timestamp_micros(t.parse().ok()?)?.naive_utc();
    Some((t, id.parse().ok()?))
}

#[utoipa::path(
    get,
    path = "/api/v1/cases",
    tag = "cases",
    params(ListQuery),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "A page of cases, personal data masked", body = CaseList),
        (status = 400, description = "A parameter cannot be read; each one named", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or wrong API key", body = crate::error::Problem, content_type = "application/problem+json",
            headers(("WWW-Authenticate" = String, description = "Bearer"))),
        (status = 422, description = "No queue has the name given", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    _key: ApiKey<CasesRead>,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let q = ListQuery::read(&QueryParams::of(&req)?)?;
    let limit = q.limit;
    let updated_since = q.updated_since.map(|t| store::to_db(t.0));
    let after = q.after;
    let st = state.clone();
    let page = api_db(&state, move |conn| -> Result<CaseList, ApiError> {
        let snap = st.desk.get(conn)?;
        let queue_id = match &q.queue {
            Some(name) => Some(
                snap.queues_by_name
                    .get(name.as_str())
                    .map(|queue| queue.id)
                    .ok_or_else(|| {
                        ApiError::Invalid(vec![FieldProblem::keyed(
                            "queue",
                            tkey("input.error.queue"),
                            &[("text", name.as_str())],
                        )])
                    })?,
            ),
            None => None,
        };
        let rows = case_store::list(
            conn,
            &case_store::ListFilter {
                status: q.status.map(str::to_string),
                queue_id,
                updated_since,
                after,
                limit: limit + 1,
            },
        )?;
        let more = rows.len() as i64 > limit;
        let rows: Vec<Case> = rows.into_iter().take(limit as usize).collect();
        let customer_ids: Vec<i64> = rows.iter().map(|c| c.customer_id).collect();
        let custs: HashMap<i64, Customer> = case_store::customers(conn, &customer_ids)?;
        let queue_names: HashMap<i64, String> = snap
            .queues_by_id
            .iter()
            .map(|(id, queue)| (*id, queue.name.clone()))
            .collect();
        let assignee_ids: Vec<i64> = rows.iter().filter_map(|c| c.assignee_id).collect();
        let emails = crate::store::users::emails_of(conn, &assignee_ids)?;
        let next_cursor = if more {
            rows.last().map(|c| encode_cursor(c.updated_at, c.id))
        } else {
            None
        };
        let ids: Vec<i64> = rows.iter().map(|c| c.id).collect();
        let scores = crate::cases::verify::satisfaction_for(conn, &ids)?;
        let campaigns = campaign_store::campaigns_among(conn, &ids)?;
        let cases = rows
            .iter()
            .filter_map(|c| {
                let customer = custs.get(&c.customer_id)?;
                let mut v = view(
                    c,
                    customer,
                    queue_names.get(&c.queue_id).cloned().unwrap_or_default(),
                    c.assignee_id.and_then(|id| emails.get(&id).cloned()),
                    None,
                );
                v.satisfaction = scores.get(&c.id).copied();
                if campaigns.contains(&c.id) {
                    v.kind = CaseKind::Campaign;
                }
                Some(v)
            })
            .collect();
        Ok(CaseList { cases, next_cursor })
    })
    .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// The statuses a case can have.
pub const STATUSES: &[&str] = &[
    CaseStatus::New.as_str(),
    CaseStatus::Assigned.as_str(),
    CaseStatus::InProgress.as_str(),
    CaseStatus::PendingApproval.as_str(),
    CaseStatus::Resolved.as_str(),
];

#[derive(Serialize, ToSchema)]
pub struct EventView {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// e.g. case.opened, routing.decided, sla.set, alert.received, priority.raised
    pub kind: String,
    /// The user who acted, if a person did.
    pub actor: Option<String>,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

#[derive(Serialize, ToSchema)]
pub struct EventList {
    case_ref: String,
    /// Oldest first.
    events: Vec<EventView>,
}

#[utoipa::path(
    get,
    path = "/api/v1/cases/{case_ref}/events",
    tag = "cases",
    params(CaseRefParam),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The case's timeline, oldest first", body = EventList),
        (status = 401, description = "Missing or wrong API key", body = crate::error::Problem, content_type = "application/problem+json",
            headers(("WWW-Authenticate" = String, description = "Bearer"))),
        (status = 404, description = "No case has this reference", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn events(
    _key: ApiKey<CasesRead>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let reference = path.into_inner();
    let list = api_db(&state, move |conn| -> Result<EventList, ApiError> {
        let c = load_case(conn, &reference)?;
        let events: Vec<EventRow> = case_store::events_of(conn, c.id)?;
        let actor_ids: Vec<i64> = events.iter().filter_map(|e| e.actor_user_id).collect();
        let emails = crate::store::users::emails_of(conn, &actor_ids)?;
        Ok(EventList {
            case_ref: case_ref(c.id),
            events: events
                .into_iter()
                .map(|e| EventView {
                    id: e.id,
                    at: store::from_db(e.at),
                    kind: e.kind,
                    actor: e.actor_user_id.and_then(|id| emails.get(&id).cloned()),
                    data: serde_json::from_str(&e.data).unwrap_or(serde_json::Value::Null),
                })
                .collect(),
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(list))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        let t = DateTime::from_timestamp_micros(1_764_000_000_123_456)
            .unwrap()
            .naive_utc();
        let c = encode_cursor(t, 42);
        assert_eq!(decode_cursor(&c), Some((t, 42)));
        assert_eq!(decode_cursor("garbage!"), None);
    }
}
