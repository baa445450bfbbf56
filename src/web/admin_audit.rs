// The audit trail for admins and auditors: security events, newest first, paged by
// id, filtered by user, kind and dates, and exported (CSV or JSON lines) with the
// same filters. Every export is itself an audit event.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{NaiveDate, TimeZone};
use serde::Deserialize;
use serde_json::json;

use super::{Admin, Page, db};
use crate::accounts;
use crate::error::AppError;
use crate::state::AppState;
use crate::store::audit::{self, AuditEvent, AuditFilter, Record};

const PAGE_SIZE: i64 = 100;
/// Events read per batch while an export streams.
const EXPORT_BATCH: i64 = 1000;

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    page: Page,
    events: Vec<(AuditEvent, Option<String>)>,
    next_before: Option<i64>,
    q: AuditQuery,
    /// The kinds and families offered in the filter: (value, label).
    kinds: Vec<(String, String)>,
    /// What is wrong with the filter, in words.
    error: Option<String>,
    /// The filter as a query string (without `before`), for links.
    query: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    user: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    before: Option<i64>,
}

impl AuditQuery {
    /// The filter's parameters as a query string, without the page position.
    fn query_string(&self) -> String {
        let pairs: Vec<(&str, &str)> = [
            ("user", self.user.trim()),
            ("kind", self.kind.trim()),
            ("from", self.from.trim()),
            ("to", self.to.trim()),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .collect();
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }
}

/// A filter parameter that cannot be used: which one, what was given, why (a key).
struct BadFilter {
    param: &'static str,
    value: String,
    why: &'static str,
}

/// A day typed as `YYYY-MM-DD`, as the start of that day in the desk's time zone.
fn day_start(state: &AppState, day: NaiveDate) -> chrono::NaiveDateTime {
    let tz = state.settings.desk_timezone;
    let local = day.and_hms_opt(0, 0, 0).expect("midnight exists");
    let start = tz
        .from_local_datetime(&local)
        .earliest()
        .unwrap_or_else(|| tz.from_utc_datetime(&local));
    crate::store::to_db(start.with_timezone(&chrono::Utc))
}

/// Reads the query into a filter, checking the user exists and the kind and dates
/// are well formed.
async fn filter_of(
    state: &AppState,
    q: &AuditQuery,
) -> Result<Result<AuditFilter, BadFilter>, AppError> {
    match read_filter(state, q).await {
        Ok(f) => Ok(Ok(f)),
        Err(Refused::Bad(b)) => Ok(Err(b)),
        Err(Refused::App(e)) => Err(e),
    }
}

enum Refused {
    Bad(BadFilter),
    App(AppError),
}

impl From<AppError> for Refused {
    fn from(e: AppError) -> Self {
        Refused::App(e)
    }
}

async fn read_filter(state: &AppState, q: &AuditQuery) -> Result<AuditFilter, Refused> {
    let mut filter = AuditFilter::default();
    let kind = q.kind.trim();
    if !kind.is_empty() {
        let known = audit::KINDS.contains(&kind)
            || kind
                .strip_suffix(".*")
                .is_some_and(|f| audit::families().contains(&f));
        if !known {
            return Err(bad(BadFilter {
                param: "kind",
                value: kind.into(),
                why: "audit.why.kind",
            }));
        }
        filter.kind = Some(kind.to_string());
    }
    let date = |param: &'static str, v: &str| -> Result<Option<NaiveDate>, Refused> {
        let v = v.trim();
        if v.is_empty() {
            return Ok(None);
        }
        NaiveDate::parse_from_str(v, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| {
                bad(BadFilter {
                    param,
                    value: v.into(),
                    why: "audit.why.date",
                })
            })
    };
    let from = date("from", &q.from)?;
    let to = date("to", &q.to)?;
    if let (Some(f), Some(t)) = (from, to)
        && t < f
    {
        return Err(bad(BadFilter {
            param: "to",
            value: q.to.trim().into(),
            why: "audit.why.order",
        }));
    }
    filter.from = from.map(|d| day_start(state, d));
    filter.until = to.and_then(|d| d.succ_opt()).map(|d| day_start(state, d));
    let user = q.user.trim().to_lowercase();
    if !user.is_empty() {
        let u = user.clone();
        let found = db(state, move |conn| {
            Ok(crate::store::users::find_by_email(conn, &u)?)
        })
        .await?;
        match found {
            Some(found) => filter.user = Some((found.id, found.email)),
            None => {
                return Err(bad(BadFilter {
                    param: "user",
                    value: user,
                    why: "audit.why.user",
                }));
            }
        }
    }
    Ok(filter)
}

fn bad(b: BadFilter) -> Refused {
    Refused::Bad(b)
}

/// What is wrong with a filter, in words.
fn bad_words(page: &Page, b: &BadFilter) -> String {
    page.tf(
        "audit.bad_filter",
        &[
            ("param", b.param),
            ("value", &b.value),
            ("why", page.t(b.why)),
        ],
    )
}

/// The kinds and families for the filter's list, labelled in the page's language.
fn kind_choices(page: &Page) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for family in audit::families() {
        out.push((
            format!("{family}.*"),
            page.tf("audit.family", &[("family", family)]),
        ));
        for kind in audit::KINDS
            .iter()
            .filter(|k| k.split('.').next() == Some(family))
        {
            out.push((kind.to_string(), format!("  {}", page.audit_kind(kind))));
        }
    }
    out
}

pub async fn list(
    _: Admin,
    state: web::Data<AppState>,
    page: Page,
    q: web::Query<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    let q = q.into_inner();
    let (filter, error) = match filter_of(&state, &q).await? {
        Ok(f) => (Some(f), None),
        Err(b) => (None, Some(bad_words(&page, &b))),
    };
    let mut events = Vec::new();
    let mut next_before = None;
    if let Some(filter) = filter {
        let before = q.before;
        events = db(&state, move |conn| {
            Ok(audit::page(conn, &filter, before, PAGE_SIZE + 1)?)
        })
        .await?;
        if events.len() as i64 > PAGE_SIZE {
            events.truncate(PAGE_SIZE as usize);
            next_before = events.last().map(|(e, _)| e.id);
        }
    }
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    page.render_status(
        status,
        &AuditPage {
            events,
            next_before,
            kinds: kind_choices(&page),
            error,
            query: q.query_string(),
            q,
            page: page.clone(),
        },
    )
}

/// `GET /admin/audit/export.csv` and `.jsonl`: the events that pass the filter,
/// oldest first, streamed a batch at a time; recorded as `audit.exported`.
async fn export(
    Admin(user): Admin,
    state: web::Data<AppState>,
    page: Page,
    q: AuditQuery,
    format: &'static str,
) -> Result<HttpResponse, AppError> {
    let filter = match filter_of(&state, &q).await? {
        Ok(f) => f,
        Err(b) => return Err(AppError::BadRequest(bad_words(&page, &b))),
    };
    let (now, actor, query) = (state.now(), user.actor(), q.query_string());
    db(&state, move |conn| {
        accounts::record(
            conn,
            now,
            &actor,
            "audit.exported",
            None,
            json!({"format": format, "filter": query}),
        )?;
        Ok(())
    })
    .await?;
    let filename = format!("audit-{}.{format}", now.format("%Y%m%d-%H%M%S"));
    let pool = state.pool.clone();
    let headers = [
        page.t("audit.csv.id"),
        page.t("audit.at"),
        page.t("audit.event"),
        page.t("audit.csv.kind"),
        page.t("audit.subject"),
        page.t("audit.actor"),
        page.t("audit.address"),
        page.t("audit.detail"),
    ]
    .map(String::from);
    let labels: std::collections::HashMap<&'static str, String> = audit::KINDS
        .iter()
        .map(|k| (*k, page.audit_kind(k).to_string()))
        .collect();
    let csv = format == "csv";
    let content_type = if csv {
        "text/csv; charset=utf-8"
    } else {
        "application/x-ndjson; charset=utf-8"
    };
    Ok(super::csv::stream_with(
        &filename,
        content_type,
        csv,
        move |w| -> Result<(), ExportError> {
            if csv {
                w.record(&headers)?;
            }
            let mut conn = pool.get().map_err(AppError::from)?;
            let mut last = 0;
            loop {
                let rows =
                    audit::after(&mut conn, &filter, last, EXPORT_BATCH).map_err(AppError::from)?;
                let Some((e, _)) = rows.last() else {
                    return Ok(());
                };
                last = e.id;
                for (e, actor) in &rows {
                    let record = Record::of(e, actor.as_deref());
                    if csv {
                        let label = labels
                            .get(e.kind.as_str())
                            .cloned()
                            .unwrap_or_else(|| e.kind.clone());
                        w.record(&[
                            record.id.to_string(),
                            record.at.clone(),
                            label,
                            e.kind.clone(),
                            e.subject.clone().unwrap_or_default(),
                            actor.clone().unwrap_or_default(),
                            e.ip.clone().unwrap_or_default(),
                            e.detail.clone(),
                        ])?;
                    } else {
                        w.line(&record.json_line())?;
                    }
                }
            }
        },
    ))
}

#[derive(Debug, thiserror::Error)]
enum ExportError {
    #[error(transparent)]
    App(#[from] AppError),
    #[error(transparent)]
    Gone(#[from] super::csv::Gone),
}

pub async fn export_csv(
    admin: Admin,
    state: web::Data<AppState>,
    page: Page,
    q: web::Query<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    export(admin, state, page, q.into_inner(), "csv").await
}

pub async fn export_jsonl(
    admin: Admin,
    state: web::Data<AppState>,
    page: Page,
    q: web::Query<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    export(admin, state, page, q.into_inner(), "jsonl").await
}
