// The search box in the header: a case reference opens the case; a customer id,
// phone, e-mail, transaction reference, device id or IP address lists the matching
// customers and cases the searcher may see, masked as everywhere. Every search of
// a value is on the audit trail (masked).

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::queues::scope_of;
use super::{CurrentUser, Page, db, see_other};
use crate::domain::masking;
use crate::domain::search::{SearchError, Terms};
use crate::error::AppError;
use crate::state::AppState;
use crate::store::cases::case_ref;
use crate::store::search::{self as search_store, Found, Key, MAX_CASES, MAX_CUSTOMERS};

#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    pub q: Option<String>,
}

/// A customer as the results show them.
pub struct CustomerRow {
    pub external_id: String,
    pub name: String,
    pub email: String,
    pub phone: String,
    /// The keys that found them, translated.
    pub found_by: String,
    pub cases: i64,
    pub latest: String,
}

/// A case as the results show it.
pub struct CaseRow {
    pub reference: String,
    pub status: String,
    pub priority: String,
    pub rule: String,
    pub queue: String,
    pub customer: String,
    pub assignee: Option<String>,
    pub opened_at: chrono::NaiveDateTime,
    pub disposition: Option<String>,
}

#[derive(Template)]
#[template(path = "search.html")]
struct Results {
    page: Page,
    q: String,
    /// A refusal of the text, translated.
    problem: Option<String>,
    searched: bool,
    customers: Vec<CustomerRow>,
    more_customers: bool,
    cases: Vec<CaseRow>,
    more_cases: bool,
    max_customers: usize,
    max_cases: usize,
}

fn key_label(page: &Page, k: Key) -> &'static str {
    match k {
        Key::CustomerId => page.t("search.key_customer_id"),
        Key::Email => page.t("search.key_email"),
        Key::Phone => page.t("search.key_phone"),
        Key::DeviceId => page.t("search.key_device_id"),
        Key::Ip => page.t("search.key_ip"),
        Key::Transaction => page.t("search.key_transaction_ref"),
    }
}

/// What a search answered: the case to open, or the results.
enum Answer {
    Open(String),
    Found(Found),
}

/// `GET /search?q=`: opens the case a reference names, or lists what the text finds.
pub async fn search(
    user: CurrentUser,
    state: web::Data<AppState>,
    page: Page,
    query: web::Query<SearchQuery>,
) -> Result<HttpResponse, AppError> {
    let asked = query.into_inner().q;
    let q = asked.clone().unwrap_or_default();
    let mut results = Results {
        page,
        q: q.clone(),
        problem: None,
        searched: false,
        customers: Vec::new(),
        more_customers: false,
        cases: Vec::new(),
        more_cases: false,
        max_customers: MAX_CUSTOMERS,
        max_cases: MAX_CASES,
    };
    // The page without a question is the empty box; an empty question is refused.
    if asked.is_some() {
        let terms = match Terms::parse(&q) {
            Ok(t) => t,
            Err(e) => {
                results.problem = Some(problem(&results.page, e, &q));
                return results
                    .page
                    .render_status(actix_web::http::StatusCode::BAD_REQUEST, &results);
            }
        };
        let st = state.clone();
        let u = user.clone();
        let answer = db(&state, move |conn| {
            if let Some(id) = terms.case_id
                && super::scope::visible_case(conn, &u, &case_ref(id)).is_ok()
            {
                return Ok(Answer::Open(case_ref(id)));
            }
            let scope = scope_of(conn, &u)?;
            let found = search_store::search(conn, &st.identifier_key, &scope, &terms)?;
            // In a write transaction: on SQLite the writers of this process take
            // turns on its lock instead of polling SQLite's busy handler, whose
            // sleeps made the slowest searches under load wait up to a second.
            let detail = serde_json::json!({
                "text": terms.masked(),
                "found_by": found.keys.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
                "customers": found.customers.len(),
                "cases": found.cases.len(),
            });
            crate::db::write_tx(conn, |conn| {
                crate::accounts::record(
                    conn,
                    st.now(),
                    &u.actor(),
                    "customer.searched",
                    None,
                    detail,
                )
            })?;
            Ok(Answer::Found(found))
        })
        .await?;
        let found = match answer {
            Answer::Open(reference) => return Ok(see_other(&format!("/cases/{reference}"))),
            Answer::Found(f) => f,
        };
        results.searched = true;
        results.more_customers = found.more_customers;
        results.more_cases = found.more_cases;
        results.customers = found
            .customers
            .iter()
            .map(|c| CustomerRow {
                external_id: c.external_id.clone(),
                name: c.name.as_deref().map(masking::name).unwrap_or_default(),
                email: c.email.as_deref().map(masking::email).unwrap_or_default(),
                phone: c.phone.as_deref().map(masking::phone).unwrap_or_default(),
                found_by: c
                    .keys
                    .iter()
                    .map(|k| key_label(&results.page, *k))
                    .collect::<Vec<_>>()
                    .join(", "),
                cases: c.cases,
                latest: case_ref(c.latest_case),
            })
            .collect();
        results.cases = found
            .cases
            .into_iter()
            .map(|c| CaseRow {
                reference: case_ref(c.id),
                status: c.status.to_string(),
                priority: c.priority.as_str().to_string(),
                rule: c.rule_code,
                queue: c.queue,
                customer: match c.customer_name.as_deref() {
                    Some(n) => format!("{} · {}", c.external_id, masking::name(n)),
                    None => c.external_id,
                },
                assignee: c.assignee,
                opened_at: c.opened_at,
                disposition: c.disposition,
            })
            .collect();
    }
    results.page.render(&results)
}

/// The refusal of `q`, naming what was wrong.
fn problem(page: &Page, e: SearchError, q: &str) -> String {
    match e {
        SearchError::TooLong => page.tf(
            e.key(),
            &[
                ("max", &crate::domain::search::MAX_LEN.to_string()),
                ("length", &q.trim().chars().count().to_string()),
            ],
        ),
        _ => page.t(e.key()).to_string(),
    }
}
