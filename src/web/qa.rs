// QA review pages for supervisors: the sampled cases waiting for review (newest
// first, keyset pages) with the pass rates so far, and one case's checklist, scored
// once by someone other than the case's resolver.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::page::{FlashKind, redirect_with_flash};
use super::{CurrentUser, Page, Supervisor, db};
use crate::cases::closing::Resolution;
use crate::domain::FieldProblem;
use crate::domain::qa::{ITEMS, MAX_COMMENT, Scorecard};
use crate::error::AppError;
use crate::i18n::tkey;
use crate::qa::{self, Cursor, QaError, Rates, Review};
use crate::state::AppState;
use crate::store::cases::{Case, case_ref, parse_case_ref};

/// Rows a page of the waiting list shows.
pub const PAGE_SIZE: i64 = 50;

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    cursor: Option<String>,
}

/// One checklist item's pass rate.
pub struct ItemRate {
    pub item: &'static str,
    pub percent: String,
}

pub struct WaitingLine {
    pub reference: String,
    pub rule: String,
    pub queue: String,
    pub disposition: String,
    pub resolver: String,
    pub resolved_at: Option<chrono::NaiveDateTime>,
}

pub struct ReviewLine {
    pub reference: String,
    pub passed: bool,
    pub reviewer: String,
    pub reviewed_at: chrono::NaiveDateTime,
}

#[derive(Template)]
#[template(path = "qa/index.html")]
struct Index {
    page: Page,
    percent_setting: u8,
    waiting_count: i64,
    rows: Vec<WaitingLine>,
    next_href: Option<String>,
    first_href: Option<String>,
    reviews: i64,
    pass_rate: String,
    items: Vec<ItemRate>,
    recent: Vec<ReviewLine>,
    problem: Option<String>,
}

fn pct(rates: &Rates, n: i64) -> String {
    rates
        .percent(n)
        .map(|p| format!("{p}%"))
        .unwrap_or_else(|| "–".to_string())
}

/// `GET /qa`: the sampled cases waiting for review and the pass rates.
pub async fn list(
    _: Supervisor,
    state: web::Data<AppState>,
    page: Page,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let raw = q.cursor.as_deref().map(str::trim).filter(|c| !c.is_empty());
    let cursor = raw.map(|c| Cursor::parse(c).ok_or(c.to_string()));
    let bad = match &cursor {
        Some(Err(v)) => Some(v.clone()),
        _ => None,
    };
    let after = cursor.and_then(Result::ok);
    let load_rows = bad.is_none();
    let (rows, next, count, rates, recent) = db(&state, move |conn| {
        let (rows, next) = if load_rows {
            qa::waiting(conn, after, PAGE_SIZE)?
        } else {
            (Vec::new(), None)
        };
        Ok((
            rows,
            next,
            qa::waiting_count(conn)?,
            qa::rates(conn)?,
            qa::recent(conn, 20)?,
        ))
    })
    .await?;
    let problem = bad.map(|v| {
        page.tf(
            "queues.bad_param",
            &[("field", page.t("queues.param_cursor")), ("value", &v)],
        )
    });
    let tpl = Index {
        percent_setting: state.settings.qa_sample_percent,
        waiting_count: count,
        rows: rows
            .into_iter()
            .map(|w| WaitingLine {
                reference: case_ref(w.id),
                rule: w.rule_code,
                queue: w.queue,
                disposition: w.disposition.unwrap_or_default(),
                resolver: w.resolver.unwrap_or_default(),
                resolved_at: w.resolved_at,
            })
            .collect(),
        next_href: next.map(|c| format!("/qa?cursor={}", c.encode())),
        first_href: after.map(|_| "/qa".to_string()),
        reviews: rates.reviews,
        pass_rate: pct(&rates, rates.passed),
        items: ITEMS
            .iter()
            .zip(rates.items)
            .map(|(item, n)| ItemRate {
                item,
                percent: pct(&rates, n),
            })
            .collect(),
        recent: recent
            .into_iter()
            .map(|(r, email)| ReviewLine {
                reference: case_ref(r.case_id),
                passed: r.passed,
                reviewer: email,
                reviewed_at: r.reviewed_at,
            })
            .collect(),
        problem: problem.clone(),
        page: page.clone(),
    };
    let status = if problem.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    page.render_status(status, &tpl)
}

/// One checklist item on the form: its name and the value chosen.
pub struct FormItem {
    pub item: &'static str,
    pub value: String,
}

#[derive(Template)]
#[template(path = "qa/show.html")]
struct Show {
    page: Page,
    reference: String,
    case: Case,
    queue: String,
    resolver: Option<String>,
    closing: Option<Resolution>,
    review: Option<Review>,
    reviewer: Option<String>,
    /// Why this user may not score the case now (a catalog key), if so.
    blocked: Option<&'static str>,
    form: Vec<FormItem>,
    comment: String,
    max_comment: usize,
    problems: Vec<FieldProblem>,
    refusal: Option<&'static str>,
}

/// What the page of a sampled case shows.
struct Loaded {
    case: Case,
    queue: String,
    resolver: Option<String>,
    closing: Option<Resolution>,
    review: Option<Review>,
    reviewer: Option<String>,
}

/// The sampled case `reference` (pending or reviewed); any other case is not found.
async fn load(state: &web::Data<AppState>, reference: &str) -> Result<Loaded, AppError> {
    let id = parse_case_ref(reference).ok_or(AppError::NotFound)?;
    let st = state.clone();
    db(state, move |conn| {
        let case = crate::store::cases::find(conn, id)?.ok_or(AppError::NotFound)?;
        let (pending, reviewed) = qa::state(conn, id)?.ok_or(AppError::NotFound)?;
        if !pending && reviewed.is_none() {
            return Err(AppError::NotFound);
        }
        let snap = st.desk.get(conn)?;
        let queue = snap
            .queues_by_id
            .get(&case.queue_id)
            .map(|q| q.name.clone())
            .unwrap_or_default();
        let email = crate::store::cases::assignee_email;
        let resolver = email(conn, case.resolved_by)?;
        let closing = crate::cases::closing::history(conn, id)?
            .into_iter()
            .find(|r| r.state == "final" || r.state == "approved");
        let review = qa::review_of(conn, id)?;
        let reviewer = email(conn, review.as_ref().map(|r| r.reviewer_id))?;
        Ok(Loaded {
            case,
            queue,
            resolver,
            closing,
            review,
            reviewer,
        })
    })
    .await
}

fn blocked(l: &Loaded, user: &CurrentUser) -> Option<&'static str> {
    if l.review.is_some() {
        None
    } else if l.case.resolved_at.is_none() {
        Some(tkey("qa.refused_open"))
    } else if l.case.resolved_by == Some(user.user.id) {
        Some(tkey("qa.refused_own"))
    } else {
        None
    }
}

/// The form as it is shown again: the values sent, the problems, the refusal.
struct Sent {
    form: Vec<FormItem>,
    comment: String,
    problems: Vec<FieldProblem>,
    refusal: Option<&'static str>,
}

fn show_page(
    page: &Page,
    reference: String,
    l: Loaded,
    blocked: Option<&'static str>,
    sent: Sent,
) -> Show {
    let Sent {
        form,
        comment,
        problems,
        refusal,
    } = sent;
    Show {
        page: page.clone(),
        reference,
        case: l.case,
        queue: l.queue,
        resolver: l.resolver,
        closing: l.closing,
        review: l.review,
        reviewer: l.reviewer,
        blocked,
        form,
        comment,
        max_comment: MAX_COMMENT,
        problems,
        refusal,
    }
}

fn empty_form() -> Vec<FormItem> {
    ITEMS
        .iter()
        .map(|item| FormItem {
            item,
            value: String::new(),
        })
        .collect()
}

/// `GET /qa/{case_ref}`: the case's closing and its checklist (or its review).
pub async fn show(
    Supervisor(user): Supervisor,
    state: web::Data<AppState>,
    page: Page,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let reference = path.into_inner();
    let l = load(&state, &reference).await?;
    let b = blocked(&l, &user);
    page.render(&show_page(
        &page,
        reference,
        l,
        b,
        Sent {
            form: empty_form(),
            comment: String::new(),
            problems: Vec::new(),
            refusal: None,
        },
    ))
}

#[derive(Debug, Default, Deserialize)]
pub struct ReviewForm {
    #[serde(default)]
    identity_verified: String,
    #[serde(default)]
    disposition_supported: String,
    #[serde(default)]
    communication_appropriate: String,
    #[serde(default)]
    timeline_complete: String,
    #[serde(default)]
    comment: String,
}

/// `POST /qa/{case_ref}`: scores the case. A bad form is shown again with each
/// problem named (400); a refusal (reviewed already, the resolver's own case, open
/// again) is shown with its reason, and nothing changes.
pub async fn score(
    Supervisor(user): Supervisor,
    state: web::Data<AppState>,
    page: Page,
    path: web::Path<String>,
    form: web::Form<ReviewForm>,
) -> Result<HttpResponse, AppError> {
    let reference = path.into_inner();
    let l = load(&state, &reference).await?;
    let f = form.into_inner();
    let values = [
        f.identity_verified.as_str(),
        f.disposition_supported.as_str(),
        f.communication_appropriate.as_str(),
        f.timeline_complete.as_str(),
    ];
    let kept: Vec<FormItem> = ITEMS
        .iter()
        .zip(values)
        .map(|(item, v)| FormItem {
            item,
            value: v.trim().to_string(),
        })
        .collect();
    let card = match Scorecard::parse(values, &f.comment) {
        Ok(c) => c,
        Err(problems) => {
            let problems = problems
                .into_iter()
                .map(|p| {
                    let message = if p.field == "comment" {
                        page.tf("qa.error_comment", &[("max", &MAX_COMMENT.to_string())])
                    } else {
                        page.t("qa.error_choose").to_string()
                    };
                    FieldProblem::new(p.field, message)
                })
                .collect();
            let b = blocked(&l, &user);
            return page.render_status(
                StatusCode::BAD_REQUEST,
                &show_page(
                    &page,
                    reference,
                    l,
                    b,
                    Sent {
                        form: kept,
                        comment: f.comment,
                        problems,
                        refusal: None,
                    },
                ),
            );
        }
    };
    let now = state.now();
    let (uid, case_id) = (user.user.id, l.case.id);
    let result = db(&state, move |conn| {
        Ok(qa::review(conn, now, uid, case_id, &card))
    })
    .await?;
    let (status, key) = match result {
        Ok(_) => {
            return Ok(redirect_with_flash(
                &format!("/qa/{reference}"),
                FlashKind::Success,
                tkey("qa.saved"),
            ));
        }
        Err(QaError::NotFound | QaError::NotSampled) => return Err(AppError::NotFound),
        Err(QaError::Db(e)) => return Err(e.into()),
        Err(QaError::AlreadyReviewed) => (StatusCode::CONFLICT, tkey("qa.refused_twice")),
        Err(QaError::OwnCase) => (StatusCode::FORBIDDEN, tkey("qa.refused_own")),
        Err(QaError::Open) => (StatusCode::CONFLICT, tkey("qa.refused_open")),
    };
    // Show the case as it stands now, with the refusal.
    let l = load(&state, &reference).await?;
    let b = blocked(&l, &user);
    page.render_status(
        status,
        &show_page(
            &page,
            reference,
            l,
            b,
            Sent {
                form: kept,
                comment: f.comment,
                problems: Vec::new(),
                refusal: Some(key),
            },
        ),
    )
}

/// The timeline's line for a `qa.reviewed` event, in the reader's language.
pub fn describe(tr: &crate::i18n::Tr, data: &serde_json::Value) -> String {
    let failed: Vec<&str> = data["failed"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str())
                .map(|item| tr.get(&format!("qa.item.{item}")).unwrap_or(item))
                .collect()
        })
        .unwrap_or_default();
    let mut text = if data["passed"] == serde_json::Value::Bool(true) {
        tr.t("qa.event_passed").to_string()
    } else {
        tr.tf("qa.event_failed", &[("items", &failed.join(", "))])
    };
    if let Some(c) = data["comment"].as_str() {
        text = tr.tf("qa.event_comment", &[("review", &text), ("comment", c)]);
    }
    text
}
