// The /oncall page: for every rota, who is on call now and until when, the next
// turns with overrides marked, and the queues that page it; supervisors and admins
// add and remove overrides there (agents read it only).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

use super::admin_desk::{InstantError, local_time, parse_instant};
use super::page::{FlashKind, redirect_with_flash};
use super::{CurrentUser, Page, Supervisor, db};
use crate::domain::FieldProblem;
use crate::error::AppError;
use crate::i18n::tkey;
use crate::oncall::{self, BoardShift, OverrideError, OverrideInput, RotaBoard};
use crate::state::AppState;

/// A stretch of a rota's schedule as the page shows it (times in the rota's zone).
pub struct ShiftView {
    pub name: String,
    pub email: String,
    /// False when the person's account is deactivated (or gone).
    pub active: bool,
    pub from: String,
    pub until: String,
    /// The override's reason when one is behind it.
    pub cover: Option<String>,
}

/// An override as listed under its rota.
pub struct OverrideView {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub from: String,
    pub to: String,
    pub reason: String,
}

/// One rota's section of the page.
pub struct RotaView {
    pub name: String,
    pub timezone: String,
    pub now: Option<ShiftView>,
    pub next: Vec<ShiftView>,
    pub overrides: Vec<OverrideView>,
    pub queues: Vec<String>,
    pub next_rota: Option<String>,
    pub ack_minutes: String,
}

fn shift_view(s: &BoardShift, tz: Tz) -> ShiftView {
    ShiftView {
        name: s.person.name.clone(),
        email: s.person.email.clone(),
        active: s.person.active,
        from: local_time(s.start, tz),
        until: local_time(s.end, tz),
        cover: s.cover.as_ref().map(|c| c.reason.clone()),
    }
}

fn rota_view(b: &RotaBoard) -> RotaView {
    let tz = b.rota.timezone;
    RotaView {
        name: b.rota.name.clone(),
        timezone: tz.name().to_string(),
        now: b.now.as_ref().map(|s| shift_view(s, tz)),
        next: b.next.iter().map(|s| shift_view(s, tz)).collect(),
        overrides: b
            .overrides
            .iter()
            .map(|o| OverrideView {
                id: o.id,
                name: o.name.clone(),
                email: o.email.clone(),
                from: local_time(o.starts_at, tz),
                to: local_time(o.ends_at, tz),
                reason: o.reason.clone(),
            })
            .collect(),
        queues: b.queues.clone(),
        next_rota: b.rota.next.clone(),
        ack_minutes: b.rota.ack_minutes.to_string(),
    }
}

/// The override form, as typed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct OverrideForm {
    rota: String,
    email: String,
    from: String,
    to: String,
    reason: String,
}

#[derive(Template)]
#[template(path = "oncall/index.html")]
struct OncallPage {
    page: Page,
    /// The rotas section: every rota's now, next and overrides.
    rotas: Vec<RotaView>,
    /// Whether the reader may add and remove overrides.
    can_override: bool,
    form: OverrideForm,
    /// Active users' e-mail addresses, offered for the override's person.
    people: Vec<String>,
    problems: Vec<FieldProblem>,
    /// Emergencies of the last days with everyone paged (supervisors and admins).
    emergencies: Vec<super::emergencies::EmergencyView>,
}

/// What the page shows besides the form. Each section is one field here and one
/// partial in the template; a new section (pages of the last days, say) is one
/// more of each.
struct Sections {
    rotas: Vec<RotaView>,
    people: Vec<String>,
    emergencies: Vec<super::emergencies::EmergencyView>,
}

/// How far back the page lists emergencies and their pages.
const PAGES_DAYS: i64 = 7;

async fn sections(
    state: &AppState,
    now: DateTime<Utc>,
    reader: &CurrentUser,
    tr: crate::i18n::Tr,
) -> Result<Sections, AppError> {
    let st = state.clone();
    let (me, supervisor) = (reader.user.id, reader.role.is_supervisor_or_admin());
    db(state, move |conn| {
        let snapshot = st.desk.get(conn)?;
        let boards = oncall::board(conn, &snapshot, now)?;
        let people = crate::store::users::list(conn)?
            .into_iter()
            .filter(|u| u.active)
            .map(|u| u.email)
            .collect();
        let emergencies = if supervisor {
            crate::cases::emergency::declared_since(
                conn,
                now - chrono::Duration::days(PAGES_DAYS),
                100,
            )?
            .iter()
            .map(|e| super::emergencies::view(conn, &tr, e, me))
            .collect::<Result<_, _>>()?
        } else {
            Vec::new()
        };
        Ok(Sections {
            rotas: boards.iter().map(rota_view).collect(),
            people,
            emergencies,
        })
    })
    .await
}

async fn render(
    state: &AppState,
    page: Page,
    user: &CurrentUser,
    form: OverrideForm,
    problems: Vec<FieldProblem>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let s = sections(state, state.now(), user, page.tr).await?;
    page.render_status(
        status,
        &OncallPage {
            rotas: s.rotas,
            people: s.people,
            emergencies: s.emergencies,
            can_override: user.role.is_supervisor_or_admin(),
            form,
            problems,
            page: page.clone(),
        },
    )
}

/// `GET /oncall`: every signed-in user may read it.
pub async fn show(
    user: CurrentUser,
    state: web::Data<AppState>,
    page: Page,
) -> Result<HttpResponse, AppError> {
    render(
        &state,
        page,
        &user,
        OverrideForm::default(),
        Vec::new(),
        StatusCode::OK,
    )
    .await
}

/// `POST /oncall/overrides`: a supervisor or admin adds an override; times are read
/// in the rota's zone.
pub async fn add_override(
    Supervisor(user): Supervisor,
    state: web::Data<AppState>,
    page: Page,
    form: web::Form<OverrideForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let (now, actor, st, f, tr) = (
        state.now(),
        user.actor(),
        state.get_ref().clone(),
        form.clone(),
        page.tr,
    );
    let done = db(&state, move |conn| {
        let snapshot = st.desk.get(conn)?;
        let tz = snapshot
            .rota(f.rota.trim())
            .map_or(chrono_tz::UTC, |r| r.timezone);
        let mut problems = Vec::new();
        let mut time = |field: &'static str, text: &str| -> Option<DateTime<Utc>> {
            let text = text.trim();
            if text.is_empty() {
                problems.push(FieldProblem::keyed(
                    field,
                    tkey("oncall.problem.time_required"),
                    &[],
                ));
                return None;
            }
            match parse_instant(text, tz) {
                Ok(at) => Some(at),
                Err(InstantError::Unreadable) => {
                    problems.push(FieldProblem::new(
                        field,
                        tr.tf("desk.problem.datetime", &[("text", text)]),
                    ));
                    None
                }
                Err(InstantError::Skipped) => {
                    problems.push(FieldProblem::new(
                        field,
                        tr.tf(
                            "desk.problem.skipped_time",
                            &[("text", text), ("tz", tz.name())],
                        ),
                    ));
                    None
                }
            }
        };
        let (from, to) = (time("from", &f.from), time("to", &f.to));
        let input = OverrideInput {
            rota: f.rota,
            email: f.email,
            from,
            to,
            reason: f.reason,
        };
        Ok(
            match oncall::add_override(conn, now, &actor, &snapshot, &input) {
                // (Refused when a time could not be read: both are required.)
                Ok(id) => Ok(id),
                Err(OverrideError::Invalid(mut more)) => {
                    problems.append(&mut more);
                    Err(problems)
                }
                Err(OverrideError::NotFound) => return Err(AppError::NotFound),
                Err(OverrideError::Db(e)) => return Err(e.into()),
            },
        )
    })
    .await?;
    match done {
        Ok(_) => Ok(redirect_with_flash(
            "/oncall",
            FlashKind::Success,
            "flash.override_added",
        )),
        Err(problems) => {
            render(
                &state,
                page,
                &user,
                form,
                problems,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

/// `POST /oncall/overrides/{id}/delete`: a supervisor or admin removes an override.
pub async fn remove_override(
    Supervisor(user): Supervisor,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (id, now, actor) = (id.into_inner(), state.now(), user.actor());
    db(&state, move |conn| {
        match oncall::remove_override(conn, now, &actor, id) {
            Ok(_) => Ok(()),
            Err(OverrideError::NotFound) => Err(AppError::NotFound),
            Err(OverrideError::Invalid(_)) => Err(AppError::NotFound),
            Err(OverrideError::Db(e)) => Err(e.into()),
        }
    })
    .await?;
    Ok(redirect_with_flash(
        "/oncall",
        FlashKind::Success,
        "flash.override_removed",
    ))
}
