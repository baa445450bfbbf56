// Closing cases in the browser: the resolution form on the case page, supervisors'
// approvals (and the list of closings waiting for one), reopening and hand-off.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::page::{FlashKind, redirect_with_flash};
use super::{CurrentUser, Page, Supervisor, db};
use crate::cases::closing::{self as closing, Closed, Closer, Resolution, ResolutionError};
use crate::db::DbConn;
use crate::domain::Refusal;
use crate::domain::resolution::{Action, Closing, Disposition};
use crate::error::AppError;
use crate::state::AppState;
use crate::store::cases::{Case, case_ref};
use crate::store::deskconfig::Snapshot;

fn closer(user: &CurrentUser) -> Closer {
    Closer {
        user_id: user.user.id,
        supervisor: user.role.is_supervisor_or_admin(),
        ip: user.ip.clone(),
    }
}

/// A closing as the case page shows it.
pub struct ClosingView {
    pub disposition: String,
    pub action: String,
    pub amount_protected: Option<String>,
    pub currency: Option<String>,
    pub note: String,
    pub customer_confirmed: bool,
    pub approval_reason: Option<String>,
    pub state: String,
    pub resolver: Option<String>,
    pub approver: Option<String>,
    pub created_at: chrono::NaiveDateTime,
    pub decision_note: Option<String>,
}

/// What the case page's resolution section needs.
pub struct ResolutionPanel {
    /// The case may be closed (or handed off) by this user now.
    pub can_close: bool,
    pub pending: Option<ClosingView>,
    /// This user may approve or reject the waiting closing.
    pub can_decide: bool,
    pub can_reopen: bool,
    /// This user may snooze the rule for the customer (a confirmed false positive).
    pub can_snooze: bool,
    /// Snoozes made on this case, newest first.
    pub snoozes: Vec<crate::store::snoozes::Snooze>,
    /// The report to the regulator, on a case escalated to AML.
    pub aml_report: Option<crate::cases::aml_report::AmlReport>,
    /// This user may record the report as filed.
    pub can_file_aml: bool,
    /// The latest closing that took effect, on a resolved case.
    pub last: Option<ClosingView>,
    /// Queues the case may be handed off to.
    pub queues: Vec<String>,
    pub dispositions: Vec<&'static str>,
    pub actions: Vec<&'static str>,
}

fn view(conn: &mut DbConn, r: Resolution) -> Result<ClosingView, AppError> {
    let ids: Vec<i64> = r.resolver_id.into_iter().chain(r.approver_id).collect();
    let mut emails = crate::store::users::emails_of(conn, &ids)?;
    let mut email = |id: Option<i64>| id.and_then(|id| emails.remove(&id));
    Ok(ClosingView {
        resolver: email(r.resolver_id),
        approver: email(r.approver_id),
        disposition: r.disposition,
        action: r.action,
        amount_protected: r.amount_protected,
        currency: r.currency,
        note: r.note,
        customer_confirmed: r.customer_confirmed,
        approval_reason: r.approval_reason,
        state: r.state,
        created_at: r.created_at,
        decision_note: r.decision_note,
    })
}

/// The resolution section of `case`'s page for `user` (who may see the case).
pub fn panel(
    conn: &mut DbConn,
    snap: &Snapshot,
    user: &CurrentUser,
    case: &Case,
) -> Result<ResolutionPanel, AppError> {
    let open = case.resolved_at.is_none();
    let pending = closing::pending(conn, case.id)?;
    let may_work = user.role.is_supervisor_or_admin() || case.assignee_id == Some(user.user.id);
    let can_decide = pending.as_ref().is_some_and(|p| {
        crate::domain::resolution::may_approve(
            user.user.id,
            user.role.is_supervisor_or_admin(),
            p.resolver_id,
        )
    });
    let last = if open {
        None
    } else {
        closing::history(conn, case.id)?
            .into_iter()
            .find(|r| r.state == "final" || r.state == "approved")
    };
    let can_snooze = last.as_ref().is_some_and(|l| {
        l.disposition == Disposition::FalsePositive.as_str()
            && l.customer_confirmed
            && (user.role.is_supervisor_or_admin() || l.resolver_id == Some(user.user.id))
    });
    let snoozes = crate::store::snoozes::of_case(conn, case.id)?;
    let aml_report = crate::cases::aml_report::of_case(conn, case.id)?;
    let can_file_aml = aml_report.as_ref().is_some_and(|r| r.filed_at.is_none())
        && (user.role.is_supervisor_or_admin() || case.resolved_by == Some(user.user.id));
    let mut queues: Vec<String> = snap
        .queues_by_id
        .values()
        .filter(|q| q.id != case.queue_id)
        .map(|q| q.name.clone())
        .collect();
    queues.sort();
    Ok(ResolutionPanel {
        can_close: open && pending.is_none() && may_work,
        pending: pending.map(|p| view(conn, p)).transpose()?,
        can_decide,
        can_reopen: !open,
        can_snooze,
        snoozes,
        aml_report,
        can_file_aml,
        last: last.map(|l| view(conn, l)).transpose()?,
        queues,
        dispositions: Disposition::ALL.iter().map(|d| d.as_str()).collect(),
        actions: Action::ALL.iter().map(|a| a.as_str()).collect(),
    })
}

/// The page to go back to, and the message to show there, for a refused step.
pub(super) fn refused(back: &str, e: ResolutionError) -> Result<HttpResponse, AppError> {
    let key = match e {
        ResolutionError::NotFound => return Err(AppError::NotFound),
        ResolutionError::Forbidden => "lifecycle.not_yours",
        ResolutionError::Db(e) => return Err(e.into()),
        ResolutionError::Invalid(problems) => problems
            .first()
            .map(|p| p.key)
            .unwrap_or("resolution.error.note_required"),
        ResolutionError::Refused(r) => match r {
            Refusal::Resolved => "resolution.error.resolved",
            Refusal::NotResolved => "resolution.error.not_resolved",
            Refusal::AwaitingApproval => "resolution.error.awaiting_approval",
            Refusal::NothingPending => "resolution.error.nothing_pending",
            other => other.key(),
        },
        ResolutionError::OwnRequest => "resolution.error.own_request",
        ResolutionError::ReasonRequired => "flash.reason_required",
        ResolutionError::UnknownQueue => "resolution.error.unknown_queue",
        ResolutionError::SameQueue => "resolution.error.same_queue",
        ResolutionError::Conflict => "lifecycle.conflict",
        ResolutionError::Campaign(key)
        | ResolutionError::Snooze(key)
        | ResolutionError::AmlReport(key)
        | ResolutionError::Emergency(key)
        | ResolutionError::Conversation(key) => key,
    };
    Ok(redirect_with_flash(back, FlashKind::Error, key))
}

/// Checks that `user` may see the case (else 404, as for the page).
fn visible(conn: &mut DbConn, user: &CurrentUser, reference: &str) -> Result<Case, AppError> {
    super::scope::visible_case(conn, user, reference)
}

#[derive(Deserialize)]
pub struct CloseForm {
    #[serde(default)]
    disposition: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    amount_protected: String,
    #[serde(default)]
    note: String,
}

/// The agent (or a supervisor) closes the case.
pub async fn resolve(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<CloseForm>,
) -> Result<HttpResponse, AppError> {
    let reference = path.into_inner();
    let back = format!("/cases/{reference}");
    let parsed = Closing::parse(
        &form.disposition,
        &form.action,
        &form.amount_protected,
        &form.note,
    );
    let now = state.now();
    let who = closer(&user);
    let (u, st, r) = (user.clone(), state.clone(), reference.clone());
    let result = db(&state, move |conn| {
        let case = visible(conn, &u, &r)?;
        let closing = match parsed {
            Ok(c) => c,
            Err(problems) => return Ok(Err(ResolutionError::Invalid(problems))),
        };
        let snap = st.desk.get(conn)?;
        Ok(closing::close(
            conn,
            &st.settings,
            &snap,
            now,
            &who,
            case.id,
            &closing,
        ))
    })
    .await?;
    match result {
        Ok(Closed::Resolved) => Ok(redirect_with_flash(
            &back,
            FlashKind::Success,
            "flash.case_resolved",
        )),
        Ok(Closed::AwaitingApproval(_)) => Ok(redirect_with_flash(
            &back,
            FlashKind::Success,
            "flash.approval_requested",
        )),
        Err(e) => refused(&back, e),
    }
}

#[derive(Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    decision: String,
    #[serde(default)]
    note: String,
}

/// A supervisor approves or rejects the waiting closing.
pub async fn decide(
    Supervisor(user): Supervisor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<DecisionForm>,
) -> Result<HttpResponse, AppError> {
    let reference = path.into_inner();
    let back = format!("/cases/{reference}");
    let approve = match form.decision.as_str() {
        "approve" => true,
        "reject" => false,
        _ => {
            return Ok(redirect_with_flash(
                &back,
                FlashKind::Error,
                "resolution.error.decision",
            ));
        }
    };
    let now = state.now();
    let who = closer(&user);
    let note = form.note.clone();
    let (u, st, r) = (user.clone(), state.clone(), reference.clone());
    let result = db(&state, move |conn| {
        let case = visible(conn, &u, &r)?;
        let snap = st.desk.get(conn)?;
        Ok(closing::decide(
            conn,
            &st.settings,
            &snap,
            now,
            &who,
            case.id,
            if approve {
                closing::Decision::Approve(&note)
            } else {
                closing::Decision::Reject(&note)
            },
        ))
    })
    .await?;
    match result {
        Ok(()) => Ok(redirect_with_flash(
            &back,
            FlashKind::Success,
            if approve {
                "flash.closing_approved"
            } else {
                "flash.closing_rejected"
            },
        )),
        Err(e) => refused(&back, e),
    }
}

#[derive(Deserialize)]
pub struct ReopenForm {
    #[serde(default)]
    reason: String,
}

/// Reopens a resolved case on a complaint.
pub async fn reopen(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<ReopenForm>,
) -> Result<HttpResponse, AppError> {
    let reference = path.into_inner();
    let back = format!("/cases/{reference}");
    let now = state.now();
    let who = closer(&user);
    let reason = form.reason.clone();
    let (u, st, r) = (user.clone(), state.clone(), reference.clone());
    let result = db(&state, move |conn| {
        let case = visible(conn, &u, &r)?;
        let snap = st.desk.get(conn)?;
        Ok(closing::reopen(conn, &snap, now, &who, case.id, &reason))
    })
    .await?;
    match result {
        Ok(_) => Ok(redirect_with_flash(
            &back,
            FlashKind::Success,
            "flash.case_reopened",
        )),
        Err(e) => refused(&back, e),
    }
}

#[derive(Deserialize)]
pub struct HandOffForm {
    #[serde(default)]
    queue: String,
    #[serde(default)]
    note: String,
}

/// Hands the case off to another department's queue.
pub async fn hand_off(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<HandOffForm>,
) -> Result<HttpResponse, AppError> {
    let reference = path.into_inner();
    let back = format!("/cases/{reference}");
    let now = state.now();
    let who = closer(&user);
    let (queue, note) = (form.queue.clone(), form.note.clone());
    let (u, st, r) = (user.clone(), state.clone(), reference.clone());
    let result = db(&state, move |conn| {
        let case = visible(conn, &u, &r)?;
        let snap = st.desk.get(conn)?;
        Ok(closing::hand_off(
            conn, &snap, now, &who, case.id, &queue, &note,
        ))
    })
    .await?;
    match result {
        // The agent usually loses sight of a case handed to another department.
        Ok(_) if !user.role.is_supervisor_or_admin() => Ok(redirect_with_flash(
            "/",
            FlashKind::Success,
            "flash.case_handed_off",
        )),
        Ok(_) => Ok(redirect_with_flash(
            &back,
            FlashKind::Success,
            "flash.case_handed_off",
        )),
        Err(e) => refused(&back, e),
    }
}

/// One closing waiting for approval, as the list shows it.
pub struct ApprovalRow {
    pub reference: String,
    pub rule: String,
    pub disposition: String,
    pub action: String,
    pub reason: String,
    pub resolver: String,
    pub requested_at: chrono::NaiveDateTime,
    pub own: bool,
}

#[derive(Template)]
#[template(path = "approvals.html")]
struct ApprovalsPage {
    page: Page,
    rows: Vec<ApprovalRow>,
}

/// Supervisors: the closings waiting for a second pair of eyes, oldest first.
pub async fn approvals(
    Supervisor(user): Supervisor,
    state: web::Data<AppState>,
    page: Page,
) -> Result<HttpResponse, AppError> {
    let me = user.user.id;
    let rows = db(&state, move |conn| {
        let rows = closing::waiting_approval(conn, 500)?;
        Ok(rows
            .into_iter()
            .map(|(r, rule, resolver)| ApprovalRow {
                reference: case_ref(r.case_id),
                rule,
                own: r.resolver_id == Some(me),
                disposition: r.disposition,
                action: r.action,
                reason: r.approval_reason.unwrap_or_default(),
                resolver: resolver.unwrap_or_default(),
                requested_at: r.created_at,
            })
            .collect::<Vec<_>>())
    })
    .await?;
    page.render(&ApprovalsPage {
        page: page.clone(),
        rows,
    })
}

#[derive(Deserialize)]
pub struct FiledForm {
    #[serde(default)]
    reference: String,
}

/// Records that the report of an AML case was filed with the regulator.
pub async fn aml_filed(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<FiledForm>,
) -> Result<HttpResponse, AppError> {
    let reference = path.into_inner();
    let back = format!("/cases/{reference}");
    let filed = form.into_inner().reference;
    let now = state.now();
    let (u, r) = (user.clone(), reference.clone());
    let done = db(&state, move |conn| {
        let case = visible(conn, &u, &r)?;
        Ok(crate::cases::aml_report::file(
            conn,
            now,
            u.user.id,
            u.role.is_supervisor_or_admin(),
            case.id,
            &filed,
        ))
    })
    .await?;
    match done {
        Ok(_) => Ok(redirect_with_flash(
            &back,
            FlashKind::Success,
            "flash.aml_report_filed",
        )),
        Err(e) => refused(&back, e),
    }
}
