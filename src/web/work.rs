// Working cases: presence, "take next", the case page with its explained timeline,
// releasing and reassigning with a reason, and in-app notifications.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use askama::Template;
use diesel::prelude::*;
use serde::Deserialize;
use serde_json::Value;

use super::page::{FlashKind, redirect_with_flash};
use super::{CurrentUser, Page, Supervisor, db};
use crate::app::AppState;
use crate::cases::assign as assignment;
use crate::db::schema::{notifications, queue_members, users};
use crate::domain::masking;
use crate::error::AppError;
use crate::store::cases::{self as case_store, Case, EventRow, case_ref, parse_case_ref};
use crate::store::{self};

#[derive(Deserialize)]
pub struct PresenceForm {
    status: String,
    next: Option<String>,
}

/// The agent's own presence: online, away or offline.
pub async fn presence(
    user: CurrentUser,
    state: web::Data<AppState>,
    form: web::Form<PresenceForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let status = form.status.clone();
    if !matches!(status.as_str(), "online" | "away" | "offline") {
        return Err(AppError::BadRequest(format!(
            "status must be online, away or offline, not '{status}'"
        )));
    }
    let now = state.now();
    let (id, st) = (user.user.id, state.clone());
    db(&state, move |conn| {
        let snap = st.desk.get(conn)?;
        Ok(assignment::change_presence(conn, &snap, id, &status, now)?)
    })
    .await?;
    let back = form
        .next
        .filter(|n| n.starts_with('/') && !n.starts_with("//"))
        .unwrap_or_else(|| "/".into());
    Ok(super::see_other(&back))
}

/// "Take next": the most urgent case the agent may take, even while automatic
/// assignment is paused for them.
pub async fn take_next(
    user: CurrentUser,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let now = state.now();
    let (id, st) = (user.user.id, state.clone());
    let taken = db(&state, move |conn| {
        let snap = st.desk.get(conn)?;
        Ok(assignment::take_next(conn, &snap, id, now)?)
    })
    .await?;
    Ok(match taken {
        Some(case) => super::see_other(&format!("/cases/{}", case_ref(case))),
        None => redirect_with_flash("/", FlashKind::Error, "flash.nothing_to_take"),
    })
}

/// A case the user may see: supervisors and admins see all; agents the cases of
/// their queues and their own. Anything else is "not found".
pub fn visible_case(
    conn: &mut crate::db::DbConn,
    user: &CurrentUser,
    reference: &str,
) -> Result<Case, AppError> {
    let id = parse_case_ref(reference).ok_or(AppError::NotFound)?;
    let case = case_store::find(conn, id)?.ok_or(AppError::NotFound)?;
    if user.role.is_supervisor_or_admin() || case.assignee_id == Some(user.user.id) {
        return Ok(case);
    }
    let member: i64 = queue_members::table
        .filter(queue_members::queue_id.eq(case.queue_id))
        .filter(queue_members::user_id.eq(user.user.id))
        .count()
        .get_result(conn)?;
    if member > 0 {
        Ok(case)
    } else {
        Err(AppError::NotFound)
    }
}

/// A command's refusal as a flash on the page the user came from; a missing case
/// is a 404, a database failure a server error.
pub fn refused(back: &str, e: crate::cases::CaseError) -> Result<HttpResponse, AppError> {
    use crate::cases::CaseError;
    match e {
        CaseError::NotFound => Err(AppError::NotFound),
        CaseError::Db(e) => Err(e.into()),
        other => Ok(redirect_with_flash(
            back,
            FlashKind::Error,
            other.key().unwrap_or("lifecycle.conflict"),
        )),
    }
}

/// One line of the timeline as the page shows it.
pub struct TimelineRow {
    pub at: chrono::NaiveDateTime,
    pub text: String,
    pub actor: Option<String>,
    pub kind: String,
}

#[derive(Template)]
#[template(path = "cases/show.html")]
struct CasePage {
    page: Page,
    reference: String,
    case: Case,
    queue: String,
    assignee: Option<String>,
    customer_name: String,
    customer_email: String,
    customer_phone: String,
    customer_id: String,
    timeline: Vec<TimelineRow>,
    is_assignee: bool,
    can_reassign: bool,
    agents: Vec<(i64, String, String)>,
    resolution: super::resolution::ResolutionPanel,
    detail: super::casepage::CaseDetail,
}

pub async fn show(
    user: CurrentUser,
    state: web::Data<AppState>,
    page: Page,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let reference = path.into_inner();
    let now = state.now();
    let u = user.clone();
    let (lang, st) = (page.tr, state.clone());
    let (case, queue, assignee, customer, events, actors, agents, resolution, detail) =
        db(&state, move |conn| {
            let mut case = visible_case(conn, &u, &reference)?;
            // The assignee opening the case starts it.
            if case.assignee_id == Some(u.user.id)
                && case.started_at.is_none()
                && assignment::start(conn, case.id, u.user.id, now)?
            {
                case = case_store::find(conn, case.id)?.ok_or(AppError::NotFound)?;
            }
            let queue = case_store::queue_name(conn, case.queue_id)?;
            let assignee = case_store::assignee_email(conn, case.assignee_id)?;
            let customer = case_store::customer(conn, case.customer_id)?;
            let events: Vec<EventRow> = case_store::events_of(conn, case.id)?;
            let actor_ids: Vec<i64> = events.iter().filter_map(|e| e.actor_user_id).collect();
            let actors: HashMap<i64, String> = users::table
                .filter(users::id.eq_any(&actor_ids))
                .select((users::id, users::email))
                .load(conn)?
                .into_iter()
                .collect();
            let agents: Vec<(i64, String, String)> = if u.role.is_supervisor_or_admin() {
                users::table
                    .inner_join(queue_members::table)
                    .filter(queue_members::queue_id.eq(case.queue_id))
                    .filter(users::active.eq(true))
                    .select((users::id, users::name, users::email))
                    .order(users::name.asc())
                    .load(conn)?
            } else {
                Vec::new()
            };
            let snap = st.desk.get(conn)?;
            let resolution = super::resolution::panel(conn, &snap, &u, &case)?;
            let detail = super::casepage::load(conn, &st, &u, &case, &customer, lang)?;
            Ok((
                case, queue, assignee, customer, events, actors, agents, resolution, detail,
            ))
        })
        .await?;
    let timeline = events
        .iter()
        .map(|e| TimelineRow {
            at: e.at,
            text: crate::i18n::events::describe_stored(&page.tr, &e.kind, &e.data),
            actor: e.actor_user_id.and_then(|id| actors.get(&id).cloned()),
            kind: e.kind.clone(),
        })
        .collect();
    page.render(&CasePage {
        reference: case_ref(case.id),
        is_assignee: case.assignee_id == Some(user.user.id),
        can_reassign: user.role.is_supervisor_or_admin() && case.resolved_at.is_none(),
        queue,
        assignee,
        customer_name: customer
            .name
            .as_deref()
            .map(masking::name)
            .unwrap_or_default(),
        customer_email: customer
            .email
            .as_deref()
            .map(masking::email)
            .unwrap_or_default(),
        customer_phone: customer
            .phone
            .as_deref()
            .map(masking::phone)
            .unwrap_or_default(),
        customer_id: customer.external_id,
        case,
        timeline,
        agents,
        resolution,
        detail,
        page: page.clone(),
    })
}

#[derive(Deserialize)]
pub struct ReasonForm {
    #[serde(default)]
    reason: String,
    to: Option<i64>,
}

/// The assignee gives a case back to its queue, with a reason.
pub async fn release(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<ReasonForm>,
) -> Result<HttpResponse, AppError> {
    let reference = path.into_inner();
    let reason = form.reason.trim().to_string();
    if reason.is_empty() {
        return Ok(redirect_with_flash(
            &format!("/cases/{reference}"),
            FlashKind::Error,
            "flash.reason_required",
        ));
    }
    let now = state.now();
    let (u, st, r) = (user.clone(), state.clone(), reference.clone());
    let done = db(&state, move |conn| {
        let case = visible_case(conn, &u, &r)?;
        let snap = st.desk.get(conn)?;
        Ok(assignment::release(
            conn, &snap, case.id, u.user.id, &reason, now,
        ))
    })
    .await?;
    match done {
        Ok(()) => Ok(redirect_with_flash(
            "/",
            FlashKind::Success,
            "flash.case_released",
        )),
        Err(e) => refused(&format!("/cases/{reference}"), e),
    }
}

/// A supervisor gives a case to another agent, with a required reason.
pub async fn reassign(
    Supervisor(user): Supervisor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<ReasonForm>,
) -> Result<HttpResponse, AppError> {
    let reference = path.into_inner();
    let back = format!("/cases/{reference}");
    let reason = form.reason.trim().to_string();
    let Some(to) = form.to else {
        return Ok(redirect_with_flash(
            &back,
            FlashKind::Error,
            "flash.choose_agent",
        ));
    };
    if reason.is_empty() {
        return Ok(redirect_with_flash(
            &back,
            FlashKind::Error,
            "flash.reason_required",
        ));
    }
    let now = state.now();
    let (u, st, r) = (user.clone(), state.clone(), reference.clone());
    let done = db(&state, move |conn| {
        let case = visible_case(conn, &u, &r)?;
        let snap = st.desk.get(conn)?;
        Ok(assignment::reassign(
            conn, &snap, case.id, to, u.user.id, &reason, now,
        ))
    })
    .await?;
    match done {
        Ok(assignment::Reassigned::NoRoom) => Ok(redirect_with_flash(
            &back,
            FlashKind::Error,
            "flash.agent_full",
        )),
        Ok(_) => Ok(redirect_with_flash(
            &back,
            FlashKind::Success,
            "flash.case_reassigned",
        )),
        Err(e) => refused(&back, e),
    }
}

/// (at, kind, case, data, read at) of a stored notification.
type NotificationTuple = (
    chrono::NaiveDateTime,
    String,
    Option<i64>,
    String,
    Option<chrono::NaiveDateTime>,
);

pub struct NotificationRow {
    pub at: chrono::NaiveDateTime,
    pub text: String,
    pub case_ref: Option<String>,
    pub unread: bool,
}

#[derive(Template)]
#[template(path = "notifications.html")]
struct NotificationsPage {
    page: Page,
    rows: Vec<NotificationRow>,
}

pub async fn notifications_list(
    user: CurrentUser,
    state: web::Data<AppState>,
    page: Page,
) -> Result<HttpResponse, AppError> {
    let id = user.user.id;
    let rows: Vec<NotificationTuple> = db(&state, move |conn| {
        Ok(notifications::table
            .filter(notifications::user_id.eq(id))
            .select((
                notifications::at,
                notifications::kind,
                notifications::case_id,
                notifications::data,
                notifications::read_at,
            ))
            .order(notifications::id.desc())
            .limit(200)
            .load(conn)?)
    })
    .await?;
    let rows = rows
        .into_iter()
        .map(|(at, kind, case_id, data, read_at)| {
            let data: Value = serde_json::from_str(&data).unwrap_or(Value::Null);
            NotificationRow {
                at,
                text: crate::i18n::events::describe_notice(&page.tr, &kind, &data),
                case_ref: case_id.map(case_ref),
                unread: read_at.is_none(),
            }
        })
        .collect();
    page.render(&NotificationsPage {
        rows,
        page: page.clone(),
    })
}

pub async fn notifications_read(
    user: CurrentUser,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let (id, now) = (user.user.id, state.now());
    db(&state, move |conn| {
        diesel::update(
            notifications::table
                .filter(notifications::user_id.eq(id))
                .filter(notifications::read_at.is_null()),
        )
        .set(notifications::read_at.eq(Some(store::to_db(now))))
        .execute(conn)?;
        Ok(())
    })
    .await?;
    Ok(super::see_other("/notifications"))
}
