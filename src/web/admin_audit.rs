// The audit trail for admins: security events, newest first, paged by id.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{Admin, Page, db};
use crate::error::AppError;
use crate::state::AppState;
use crate::store::audit::{self, AuditEvent};

const PAGE_SIZE: i64 = 100;

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    page: Page,
    events: Vec<(AuditEvent, Option<String>)>,
    next_before: Option<i64>,
}

#[derive(Deserialize)]
pub struct AuditQuery {
    before: Option<i64>,
}

pub async fn list(
    _: Admin,
    state: web::Data<AppState>,
    page: Page,
    q: web::Query<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    let before = q.before;
    let events = db(&state, move |conn| {
        Ok(audit::page(conn, before, PAGE_SIZE + 1)?)
    })
    .await?;
    let mut events = events;
    let next_before = if events.len() as i64 > PAGE_SIZE {
        events.truncate(PAGE_SIZE as usize);
        events.last().map(|(e, _)| e.id)
    } else {
        None
    };
    page.render(&AuditPage {
        events,
        next_before,
        page: page.clone(),
    })
}
