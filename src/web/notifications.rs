// The in-app notifications page: the user's latest notifications about cases,
// described in their language, and marking them read.

use actix_web::{HttpResponse, web};
use askama::Template;

use super::{CurrentUser, Page, db};
use crate::error::AppError;
use crate::state::AppState;
use crate::store::cases::case_ref;
use crate::store::notifications as store;

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

/// `GET /notifications`: the user's latest notifications.
pub async fn notifications_list(
    user: CurrentUser,
    state: web::Data<AppState>,
    page: Page,
) -> Result<HttpResponse, AppError> {
    let id = user.user.id;
    let rows = db(&state, move |conn| Ok(store::latest(conn, id, 200)?)).await?;
    let rows = rows
        .into_iter()
        .map(|(at, kind, case_id, data, read_at)| {
            let data: serde_json::Value =
                serde_json::from_str(&data).unwrap_or(serde_json::Value::Null);
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

/// `POST /notifications/read`: marks them all read.
pub async fn notifications_read(
    user: CurrentUser,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let (id, now) = (user.user.id, state.now());
    db(&state, move |conn| {
        store::mark_all_read(conn, id, crate::store::to_db(now))?;
        Ok(())
    })
    .await?;
    Ok(super::see_other("/notifications"))
}
