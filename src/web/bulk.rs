// Bulk work from a queue list: a supervisor's chosen rows (or every case the list's
// filters match) reassigned, closed as duplicates or handed off in one go, each case
// through its own command (`cases::bulk`), and the result listed case by case.

use actix_web::{HttpResponse, web};
use askama::Template;

use super::queues::{self, ListQuery};
use super::{Page, Supervisor, db};
use crate::cases::bulk::{self, BulkAction, BulkError, MAX_CASES};
use crate::cases::closing::Closer;
use crate::domain::resolution::{Action, Disposition};
use crate::error::AppError;
use crate::state::AppState;
use crate::store::cases::parse_case_ref;

/// A refused case as the result page lists it.
pub struct RefusedLine {
    pub reference: String,
    pub reason: String,
}

#[derive(Template)]
#[template(path = "queues/bulk_result.html")]
struct ResultPage {
    page: Page,
    /// The list the form came from.
    back: String,
    /// The whole action was refused: why (nothing was changed).
    problem: Option<String>,
    action: String,
    reason: String,
    done: Vec<String>,
    refused: Vec<RefusedLine>,
    summary: String,
}

/// The form, read by hand: `refs` repeats.
#[derive(Default)]
struct BulkForm {
    op: String,
    refs: Vec<String>,
    all: bool,
    list: ListQuery,
    to: String,
    to_queue: String,
    disposition: String,
    action: String,
    note: String,
    reason: String,
    campaign: String,
}

impl BulkForm {
    fn parse(body: &[u8]) -> Result<BulkForm, AppError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
            .map_err(|e| AppError::BadRequest(format!("the form cannot be read: {e}")))?;
        let mut f = BulkForm::default();
        for (k, v) in pairs {
            match k.as_str() {
                "op" => f.op = v,
                "refs" => f.refs.push(v),
                "all" => f.all = !v.is_empty(),
                "view" => f.list.view = Some(v),
                "queue" => f.list.queue = Some(v),
                "rule" => f.list.rule = Some(v),
                "priority" => f.list.priority = Some(v),
                "status" => f.list.status = Some(v),
                "to" => f.to = v,
                "to_queue" => f.to_queue = v,
                "disposition" => f.disposition = v,
                "action" => f.action = v,
                "note" => f.note = v,
                "reason" => f.reason = v,
                "campaign" => f.campaign = v,
                _ => {}
            }
        }
        Ok(f)
    }
}

/// A refusal of the whole request: the message (in the reader's language).
struct Problem(String);

/// The action the form asks for, or what is wrong with it.
fn action_of(f: &BulkForm, page: &Page) -> Result<BulkAction, Problem> {
    match f.op.trim() {
        "reassign" => match f.to.trim().parse::<i64>() {
            Ok(to) => Ok(BulkAction::Reassign { to }),
            Err(_) => Err(Problem(page.t("bulk.error.choose_agent").to_string())),
        },
        "close" => {
            // Closing from a queue list is closing as a duplicate unless the form
            // names another disposition.
            let disposition = match f.disposition.trim() {
                "" => Ok(Disposition::Duplicate),
                d => d.parse::<Disposition>(),
            };
            let Ok(disposition) = disposition else {
                return Err(Problem(page.t("resolution.error.disposition").to_string()));
            };
            let action = match f.action.trim() {
                "" => Ok(Action::NoAction),
                a => a.parse::<Action>(),
            };
            let Ok(action) = action else {
                return Err(Problem(page.t("resolution.error.action").to_string()));
            };
            Ok(BulkAction::Close {
                disposition,
                action,
                note: f.note.clone(),
            })
        }
        "hand_off" => Ok(BulkAction::HandOff {
            queue: f.to_queue.clone(),
        }),
        "add_to_campaign" => match parse_case_ref(f.campaign.trim().to_uppercase().as_str()) {
            Some(campaign) => Ok(BulkAction::AddToCampaign { campaign }),
            None => Err(Problem(
                page.t("campaign.refused.no_such_campaign").to_string(),
            )),
        },
        "" => Err(Problem(page.t("bulk.error.choose_action").to_string())),
        other => Err(Problem(
            page.tf("bulk.error.unknown_action", &[("value", other)]),
        )),
    }
}

/// The message of a refusal of the whole action.
fn message(e: &BulkError, page: &Page) -> String {
    let key = e.key().unwrap_or("bulk.error.no_cases");
    match e {
        BulkError::TooMany { count, max } => page.tf(
            key,
            &[("count", &count.to_string()), ("max", &max.to_string())],
        ),
        _ => page.t(key).to_string(),
    }
}

/// `POST /queues/bulk`: one action on the chosen cases (`refs`, repeated) or, with
/// `all`, on every case the list's filters (`view`, `queue`, `rule`, `priority`,
/// `status`) match, up to [`MAX_CASES`]; a required `reason`. Answers with the
/// result page: the cases done and those refused, each with its reason.
pub async fn run(
    Supervisor(user): Supervisor,
    state: web::Data<AppState>,
    page: Page,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let form = BulkForm::parse(&body)?;
    let now = state.now();
    let action = action_of(&form, &page);
    let reason = form.reason.trim().to_string();
    let who = Closer {
        user_id: user.user.id,
        supervisor: user.role.is_supervisor_or_admin(),
        ip: user.ip.clone(),
    };
    let (st, u, pg) = (state.clone(), user.clone(), page.clone());
    let all = form.all;
    let list = form.list.clone();
    let refs = form.refs.clone();
    // (back, result): the list to go back to, and the outcome or the problem.
    let (back, result) = db(&state, move |conn| {
        let snap = st.desk.get(conn)?;
        let scope = queues::scope_of(conn, &u)?;
        let parsed = queues::parse(&list, &snap, &scope, queues::default_view(&u));
        let back = match &parsed {
            Ok(Ok(r)) => format!("/queues?{}", r.query(None)),
            _ => "/queues".to_string(),
        };
        let action = match action {
            Ok(a) => a,
            Err(p) => return Ok((back, Err(p))),
        };
        let ids: Vec<i64> = if all {
            let request = match parsed {
                Ok(Ok(r)) => r,
                Ok(Err(bad)) => return Ok((back, Err(Problem(bad.message(&pg))))),
                Err(AppError::NotFound) => {
                    let bad = queues::BadParam("queue", list.queue.clone().unwrap_or_default());
                    return Ok((back, Err(Problem(bad.message(&pg)))));
                }
                Err(e) => return Err(e),
            };
            let until = queues::at_risk_until(now);
            let ids = crate::store::worklist::matching_ids(
                conn,
                request.view,
                &scope,
                &request.filter,
                until,
                MAX_CASES as i64 + 1,
            )?;
            if ids.len() > MAX_CASES {
                let count = crate::store::worklist::count(
                    conn,
                    request.view,
                    &scope,
                    &request.filter,
                    until,
                )?;
                let e = BulkError::TooMany {
                    count: usize::try_from(count).unwrap_or(usize::MAX),
                    max: MAX_CASES,
                };
                return Ok((back, Err(Problem(message(&e, &pg)))));
            }
            ids
        } else {
            let mut ids = Vec::with_capacity(refs.len());
            for r in &refs {
                match parse_case_ref(r.trim()) {
                    Some(id) => ids.push(id),
                    None => {
                        return Ok((
                            back,
                            Err(Problem(pg.tf("bulk.error.bad_reference", &[("value", r)]))),
                        ));
                    }
                }
            }
            ids
        };
        match bulk::run(conn, &st.settings, &snap, &who, &ids, &action, &reason, now) {
            Ok(outcome) => Ok((back, Ok((action, outcome)))),
            Err(BulkError::Db(e)) => Err(e.into()),
            Err(e) => Ok((back, Err(Problem(message(&e, &pg))))),
        }
    })
    .await?;
    respond(&page, back, form.reason.trim().to_string(), result)
}

/// The answer to a bulk action: the cases done and those refused, each with why; or
/// the problem that stopped it before any case was touched (422).
fn respond(
    page: &Page,
    back: String,
    reason: String,
    result: Result<(BulkAction, bulk::BulkOutcome), Problem>,
) -> Result<HttpResponse, AppError> {
    match result {
        Ok((action, outcome)) => {
            let summary = page.tf(
                "bulk.summary",
                &[
                    ("done", &outcome.done.len().to_string()),
                    ("refused", &outcome.refused.len().to_string()),
                ],
            );
            page.render(&ResultPage {
                back,
                problem: None,
                action: page.t(action_label(&action)).to_string(),
                reason,
                done: outcome.done,
                refused: outcome
                    .refused
                    .into_iter()
                    .map(|(reference, key)| RefusedLine {
                        reference,
                        reason: page.t(key).to_string(),
                    })
                    .collect(),
                summary,
                page: page.clone(),
            })
        }
        Err(Problem(problem)) => page.render_status(
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            &ResultPage {
                back,
                problem: Some(problem),
                action: String::new(),
                reason,
                done: Vec::new(),
                refused: Vec::new(),
                summary: String::new(),
                page: page.clone(),
            },
        ),
    }
}

/// Bulk work on a campaign's children from its page (supervisors): the chosen
/// children (`refs`, repeated) and one action — close (`disposition`, `action`,
/// `note`; the note is the reason when none is given), hand off or reassign. A case
/// that is not a child of this campaign is refused by reference and left alone.
pub async fn campaign(
    Supervisor(user): Supervisor,
    state: web::Data<AppState>,
    page: Page,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let reference = path.into_inner();
    let back = format!("/cases/{reference}");
    let mut form = BulkForm::parse(&body)?;
    if form.op.trim().is_empty() {
        form.op = "close".into();
    }
    if form.reason.trim().is_empty() {
        form.reason = form.note.clone();
    }
    let now = state.now();
    let action = action_of(&form, &page);
    let reason = form.reason.trim().to_string();
    let who = Closer {
        user_id: user.user.id,
        supervisor: user.role.is_supervisor_or_admin(),
        ip: user.ip.clone(),
    };
    let (st, pg, refs, b) = (state.clone(), page.clone(), form.refs.clone(), back.clone());
    let result = db(&state, move |conn| {
        let campaign = super::scope::visible_case(conn, &user, &reference)?;
        let children: Vec<i64> = crate::store::campaigns::children(conn, campaign.id)?
            .iter()
            .map(|c| c.id)
            .collect();
        let action = match action {
            Ok(a) => a,
            Err(p) => return Ok(Err(p)),
        };
        let mut ids = Vec::new();
        let mut outside = Vec::new();
        for r in &refs {
            match parse_case_ref(r.trim()) {
                Some(id) if children.contains(&id) => ids.push(id),
                Some(id) => outside.push((crate::store::cases::case_ref(id), NOT_A_CHILD)),
                None => {
                    return Ok(Err(Problem(
                        pg.tf("bulk.error.bad_reference", &[("value", r)]),
                    )));
                }
            }
        }
        if ids.is_empty() && !outside.is_empty() {
            let outcome = bulk::BulkOutcome {
                refused: outside,
                ..Default::default()
            };
            return Ok(Ok((action, outcome)));
        }
        let snap = st.desk.get(conn)?;
        match bulk::run(conn, &st.settings, &snap, &who, &ids, &action, &reason, now) {
            Ok(mut outcome) => {
                outcome.refused.extend(outside);
                Ok(Ok((action, outcome)))
            }
            Err(BulkError::Db(e)) => Err(e.into()),
            Err(e) => Ok(Err(Problem(message(&e, &pg)))),
        }
    })
    .await?;
    respond(&page, b, form.reason.trim().to_string(), result)
}

/// Why a case named in a campaign's bulk action was left alone: it is not one of the
/// campaign's children.
const NOT_A_CHILD: &str = crate::i18n::tkey("campaign.refused.not_a_child");

/// The catalog key of an action's name.
fn action_label(action: &BulkAction) -> &'static str {
    match action {
        BulkAction::Reassign { .. } => "bulk.op_reassign",
        BulkAction::Close {
            disposition: Disposition::Duplicate,
            ..
        } => "bulk.op_close_duplicate",
        BulkAction::Close { .. } => "bulk.op_close",
        BulkAction::HandOff { .. } => "bulk.op_hand_off",
        BulkAction::AddToCampaign { .. } => "campaign.op_add",
    }
}
