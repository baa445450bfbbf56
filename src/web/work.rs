// Working cases: presence, "take next", the case page with its explained timeline,
// releasing and reassigning with a reason, and in-app notifications.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use askama::Template;
use diesel::prelude::*;
use serde::Deserialize;
use serde_json::{Value, json};

use super::page::{FlashKind, redirect_with_flash};
use super::{CurrentUser, Page, db};
use crate::app::AppState;
use crate::assignment;
use crate::db::schema::{cases, notifications, queue_members, users};
use crate::db::write_tx;
use crate::domain::{Role, masking};
use crate::error::AppError;
use crate::i18n::Tr;
use crate::store::cases::{self as case_store, Case, CaseEvent, case_ref, parse_case_ref};
use crate::store::{self};

#[derive(Deserialize)]
pub struct PresenceForm {
    status: String,
    next: Option<String>,
}

/// The agent's own presence: online, away or offline.
pub async fn presence(
    state: web::Data<AppState>,
    user: CurrentUser,
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
        crate::db::write_tx_retry(conn, |c| {
            assignment::set_presence(c, &snap, id, &status, now)
        })?;
        Ok(())
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
    state: web::Data<AppState>,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    let now = state.now();
    let (id, st) = (user.user.id, state.clone());
    let taken = db(&state, move |conn| {
        let snap = st.desk.get(conn)?;
        Ok(crate::db::write_tx_retry(conn, |c| {
            assignment::fill_agent(c, &snap, id, now, true)
        })?)
    })
    .await?;
    Ok(match taken.first() {
        Some(case) => super::see_other(&format!("/cases/{}", case_ref(*case))),
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

/// One line of the timeline as the page shows it.
pub struct TimelineRow {
    pub at: chrono::NaiveDateTime,
    pub text: String,
    pub actor: Option<String>,
    pub kind: String,
}

/// Describes a timeline event in the reader's language.
pub fn describe(tr: &Tr, kind: &str, data: &Value) -> String {
    let s = |k: &str| -> String {
        match data.get(k) {
            Some(Value::String(v)) => v.clone(),
            Some(Value::Null) | None => String::new(),
            Some(v) => v.to_string(),
        }
    };
    let priority = |k: &str| {
        let p = s(k);
        match p.as_str() {
            "critical" | "high" | "medium" | "low" => tr.t(&format!("priority.{p}")).to_string(),
            _ => p,
        }
    };
    match kind {
        "case.opened" => tr.tf(
            "event.case_opened",
            &[
                ("rule", &s("rule")),
                ("queue", &s("queue")),
                ("priority", &priority("priority")),
            ],
        ),
        "routing.decided" => match s("reason").as_str() {
            "route" => tr.tf(
                "event.routed",
                &[
                    ("route", &s("route")),
                    ("queue", &s("queue")),
                    ("priority", &priority("priority")),
                ],
            ),
            "unknown_rule" => tr.tf(
                "event.routed_unknown_rule",
                &[("rule", &s("rule")), ("queue", &s("queue"))],
            ),
            _ => tr.tf(
                "event.routed_no_route",
                &[("rule", &s("rule")), ("queue", &s("queue"))],
            ),
        },
        "sla.set" => tr.tf(
            "event.sla_set",
            &[("policy", &s("policy")), ("calendar", &s("calendar"))],
        ),
        "alert.received" => tr.tf(
            "event.alert_received",
            &[("rule", &s("rule")), ("external_id", &s("external_id"))],
        ),
        "priority.raised" => tr.tf(
            "event.priority_raised",
            &[("from", &priority("from")), ("to", &priority("to"))],
        ),
        "sla.paused" => tr.tf("event.sla_paused", &[("reason", &s("reason"))]),
        "sla.resumed" => tr.tf("event.sla_resumed", &[("minutes", &s("counted_minutes"))]),
        "case.resolved" => {
            let disposition = s("disposition");
            let action = s("action");
            tr.tf(
                "event.resolved",
                &[
                    (
                        "disposition",
                        tr.get(&format!("disposition.{disposition}"))
                            .unwrap_or(&disposition),
                    ),
                    (
                        "action",
                        tr.get(&format!("action.{action}")).unwrap_or(&action),
                    ),
                    ("note", &s("note")),
                ],
            )
        }
        "resolution.requested" => {
            let reason = s("reason");
            tr.tf(
                "event.resolution_requested",
                &[(
                    "reason",
                    tr.get(&format!("approval_reason.{reason}"))
                        .unwrap_or(&reason),
                )],
            )
        }
        "resolution.approved" => tr.t("event.resolution_approved").to_string(),
        "resolution.rejected" => tr.tf("event.resolution_rejected", &[("note", &s("note"))]),
        "case.reopened" => tr.tf("event.reopened", &[("reason", &s("reason"))]),
        "case.handed_off" => tr.tf(
            "event.handed_off",
            &[("from", &s("from")), ("to", &s("to")), ("note", &s("note"))],
        ),
        "approval.requested" => tr.tf("event.approval_requested", &[("case", &s("case_ref"))]),
        "approval.approved" => tr.tf("event.approval_approved", &[("case", &s("case_ref"))]),
        "approval.rejected" => tr.tf(
            "event.approval_rejected",
            &[("case", &s("case_ref")), ("note", &s("note"))],
        ),
        "sla.first_response" => {
            if data.get("late") == Some(&Value::Bool(true)) {
                tr.t("event.first_response_late").to_string()
            } else {
                tr.t("event.first_response").to_string()
            }
        }
        "sla.warning" => tr.tf(
            "event.sla_warning",
            &[
                ("percent", &s("percent")),
                ("clock", tr.t(&format!("clock.{}", s("clock")))),
            ],
        ),
        "sla.breached" => tr.tf(
            "event.sla_breached",
            &[("clock", tr.t(&format!("clock.{}", s("clock"))))],
        ),
        "assignment.assigned" => match s("how").as_str() {
            "take_next" => tr.tf("event.assigned_take_next", &[("to", &s("to"))]),
            "reassigned" => tr.tf(
                "event.assigned_reassigned",
                &[("to", &s("to")), ("reason", &s("reason"))],
            ),
            _ if s("reason") == "most_urgent_waiting" => tr.tf(
                "event.assigned_most_urgent",
                &[
                    ("to", &s("to")),
                    ("load", &s("load")),
                    ("capacity", &s("capacity")),
                ],
            ),
            _ => tr.tf(
                "event.assigned_least_loaded",
                &[
                    ("to", &s("to")),
                    ("eligible", &s("eligible")),
                    ("load", &s("load")),
                    ("capacity", &s("capacity")),
                ],
            ),
        },
        "assignment.waiting" => {
            let skills = data
                .get("skills")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            match s("reason").as_str() {
                "no_members" => tr.t("event.waiting_no_members").to_string(),
                "no_skill" => tr.tf("event.waiting_no_skill", &[("skills", &skills)]),
                "no_one_online" if skills.is_empty() => {
                    tr.t("event.waiting_no_one_online").to_string()
                }
                "no_one_online" => {
                    tr.tf("event.waiting_no_one_online_skill", &[("skills", &skills)])
                }
                "outside_shift" => tr.t("event.waiting_outside_shift").to_string(),
                _ => tr.tf("event.waiting_no_capacity", &[("eligible", &s("eligible"))]),
            }
        }
        "assignment.returned" => {
            let reason = s("reason");
            let label = match reason.as_str() {
                "away"
                | "offline"
                | "escalated"
                | "deactivated"
                | "offline_too_long"
                | "breach_agent_not_online"
                | "handed_off" => tr.t(&format!("return_reason.{reason}")).to_string(),
                _ => reason,
            };
            tr.tf(
                "event.returned",
                &[("from", &s("from")), ("reason", &label)],
            )
        }
        "assignment.released" => tr.tf(
            "event.released",
            &[("from", &s("from")), ("reason", &s("note"))],
        ),
        "assignment.waiting_too_long" => {
            tr.tf("event.waiting_too_long", &[("minutes", &s("minutes"))])
        }
        "case.started" => tr.t("event.started").to_string(),
        "verification.email_sent" => tr.tf(
            "mail.event.verification_sent",
            &[("to", &s("to")), ("template", &s("template"))],
        ),
        "verification.answered" => {
            let text = if s("answer") == "deny" {
                tr.t("mail.event.answered_deny")
            } else {
                tr.t("mail.event.answered_confirm")
            };
            match data.get("message").and_then(Value::as_str) {
                Some(m) => tr.tf(
                    "mail.event.answered_message",
                    &[("answer", text), ("message", m)],
                ),
                None => text.to_string(),
            }
        }
        "satisfaction.email_sent" => tr.tf("mail.event.survey_sent", &[("to", &s("to"))]),
        "satisfaction.answered" => tr.tf("mail.event.survey_answered", &[("score", &s("score"))]),
        "call.logged" => tr.tf(
            "event.call_logged",
            &[
                (
                    "direction",
                    &super::casepage::direction_label(tr, &s("direction")),
                ),
                (
                    "outcome",
                    &super::casepage::outcome_label(tr, &s("outcome")),
                ),
                ("number", &s("number")),
            ],
        ),
        "call.callback_due" => tr.tf(
            "event.callback_due",
            &[("number", &s("number")), ("case", &s("case_ref"))],
        ),
        "pii.revealed" => tr.tf(
            "event.pii_revealed",
            &[
                ("field", &super::casepage::field_label(tr, &s("field"))),
                ("reason", &s("reason")),
            ],
        ),
        "qa.reviewed" => super::qa::describe(tr, data),
        other => other.to_string(),
    }
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
    state: web::Data<AppState>,
    page: Page,
    user: CurrentUser,
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
            if case.assignee_id == Some(u.user.id) && case.started_at.is_none() {
                let at = store::to_db(now);
                write_tx(conn, |c| {
                    diesel::update(
                        cases::table
                            .find(case.id)
                            .filter(cases::started_at.is_null()),
                    )
                    .set((
                        cases::started_at.eq(Some(at)),
                        cases::status.eq("in_progress"),
                        cases::updated_at.eq(at),
                    ))
                    .execute(c)?;
                    case_store::add_event(
                        c,
                        case.id,
                        at,
                        "case.started",
                        Some(u.user.id),
                        &json!({}),
                    )
                })?;
                case = case_store::find(conn, case.id)?.ok_or(AppError::NotFound)?;
            }
            let queue = case_store::queue_name(conn, case.queue_id)?;
            let assignee = case_store::assignee_email(conn, case.assignee_id)?;
            let customer = case_store::customer(conn, case.customer_id)?;
            let events: Vec<CaseEvent> = case_store::events_of(conn, case.id)?;
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
        .map(|e| {
            let data: Value = serde_json::from_str(&e.data).unwrap_or(Value::Null);
            TimelineRow {
                at: e.at,
                text: describe(&page.tr, &e.kind, &data),
                actor: e.actor_user_id.and_then(|id| actors.get(&id).cloned()),
                kind: e.kind.clone(),
            }
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
    state: web::Data<AppState>,
    user: CurrentUser,
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
    db(&state, move |conn| {
        let case = visible_case(conn, &u, &r)?;
        if case.assignee_id != Some(u.user.id) {
            return Err(AppError::Forbidden);
        }
        let snap = st.desk.get(conn)?;
        write_tx(conn, |c| {
            assignment::unassign(
                c,
                &case,
                now,
                Some(u.user.id),
                "assignment.released",
                json!({"note": reason}),
            )?;
            assignment::try_assign(c, &snap, case.id, now, Some(u.user.id), false)?;
            assignment::fill_agent(c, &snap, u.user.id, now, false)
                .map(|_| ())
                .map_err(AppError::from)
        })
    })
    .await?;
    Ok(redirect_with_flash(
        "/",
        FlashKind::Success,
        "flash.case_released",
    ))
}

/// A supervisor gives a case to another agent, with a required reason.
pub async fn reassign(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<String>,
    form: web::Form<ReasonForm>,
) -> Result<HttpResponse, AppError> {
    user.require(&[Role::Supervisor, Role::Admin])?;
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
        write_tx(conn, |c| {
            let previous = case.assignee_id;
            if previous == Some(to) {
                return Ok(true);
            }
            if previous.is_some() {
                assignment::unassign(
                    c,
                    &case,
                    now,
                    Some(u.user.id),
                    "assignment.returned",
                    json!({"reason": reason}),
                )?;
            }
            let fresh = case_store::find(c, case.id)?.ok_or(AppError::NotFound)?;
            let ok = assignment::give_to(c, &fresh, to, now, Some(u.user.id), &reason)?;
            if !ok {
                // Roll the whole change back: the agent had no room.
                return Err(AppError::BadRequest("no room".into()));
            }
            if let Some(p) = previous {
                assignment::fill_agent(c, &snap, p, now, false)?;
            }
            Ok(true)
        })
    })
    .await;
    match done {
        Ok(_) => Ok(redirect_with_flash(
            &back,
            FlashKind::Success,
            "flash.case_reassigned",
        )),
        Err(AppError::BadRequest(_)) => Ok(redirect_with_flash(
            &back,
            FlashKind::Error,
            "flash.agent_full",
        )),
        Err(e) => Err(e),
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
    state: web::Data<AppState>,
    page: Page,
    user: CurrentUser,
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
                text: describe(&page.tr, &kind, &data),
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
    state: web::Data<AppState>,
    user: CurrentUser,
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
