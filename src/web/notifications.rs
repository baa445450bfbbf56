// The in-app notifications: the user's latest (a supervisor's groups with the cases
// behind them), one group's whole list, and marking one or all read. A user only
// ever reaches their own: anything else is "not found".

use actix_web::{HttpResponse, web};
use askama::Template;

use super::{CurrentUser, Page, db};
use crate::error::AppError;
use crate::i18n::events::{describe_group, describe_notice};
use crate::state::AppState;
use crate::store::cases::case_ref;
use crate::store::notifications::{self as store, GroupCase, Notification};

/// Notifications listed on the page at most.
const LISTED: i64 = 200;
/// Cases shown under a group on the list; the group's page shows them all.
const CASES_INLINE: usize = 10;

/// A case behind a group, as listed.
pub struct CaseLine {
    pub at: chrono::NaiveDateTime,
    pub case_ref: String,
    pub text: String,
}

/// A notification as listed.
pub struct NotificationRow {
    pub id: i64,
    pub at: chrono::NaiveDateTime,
    pub text: String,
    pub case_ref: Option<String>,
    pub unread: bool,
    /// How many notices it stands for (a per-case row).
    pub times: i32,
    pub grouped: bool,
    pub cases: Vec<CaseLine>,
    /// Cases of the group not shown inline.
    pub more: usize,
}

fn data_of(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or(serde_json::Value::Null)
}

/// A stored notification in the reader's words, with the cases behind it (all of
/// them, or the first `inline`).
fn row(page: &Page, n: Notification, cases: &[GroupCase], inline: usize) -> NotificationRow {
    let data = data_of(&n.data);
    let text = if n.grouped {
        let queue = data
            .get("queue")
            .and_then(|q| q.as_str())
            .unwrap_or_default();
        describe_group(
            &page.tr,
            &n.kind,
            n.occurrences,
            queue,
            &page.time(&n.first_at),
        )
    } else {
        describe_notice(&page.tr, &n.kind, &data)
    };
    let mine: Vec<&GroupCase> = cases.iter().filter(|c| c.0 == n.id).collect();
    NotificationRow {
        id: n.id,
        at: n.at,
        text,
        case_ref: n.case_id.map(case_ref),
        unread: n.read_at.is_none(),
        times: n.occurrences,
        grouped: n.grouped,
        more: mine.len().saturating_sub(inline),
        cases: mine
            .into_iter()
            .take(inline)
            .map(|(_, case_id, at, data)| CaseLine {
                at: *at,
                case_ref: case_ref(*case_id),
                text: describe_notice(&page.tr, &n.kind, &data_of(data)),
            })
            .collect(),
    }
}

#[derive(Template)]
#[template(path = "notifications.html")]
struct NotificationsPage {
    page: Page,
    rows: Vec<NotificationRow>,
    unread: i64,
}

/// `GET /notifications`: the user's latest notifications and the exact unread count.
pub async fn notifications_list(
    user: CurrentUser,
    state: web::Data<AppState>,
    page: Page,
) -> Result<HttpResponse, AppError> {
    let id = user.user.id;
    let (list, cases, unread) = db(&state, move |conn| {
        let list = store::latest(conn, id, LISTED)?;
        let groups: Vec<i64> = list.iter().filter(|n| n.grouped).map(|n| n.id).collect();
        let cases = store::group_cases(conn, &groups)?;
        Ok((list, cases, store::unread(conn, id)?))
    })
    .await?;
    let rows = list
        .into_iter()
        .map(|n| row(&page, n, &cases, CASES_INLINE))
        .collect();
    page.render(&NotificationsPage {
        rows,
        unread,
        page: page.clone(),
    })
}

#[derive(Template)]
#[template(path = "notification.html")]
struct NotificationPage {
    page: Page,
    n: NotificationRow,
}

/// `GET /notifications/{id}`: one of the user's notifications with every case
/// behind it.
pub async fn notification_show(
    user: CurrentUser,
    state: web::Data<AppState>,
    page: Page,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (uid, id) = (user.user.id, path.into_inner());
    let (n, cases) = db(&state, move |conn| {
        let n = store::find_own(conn, uid, id)?.ok_or(AppError::NotFound)?;
        let cases = store::group_cases(conn, &[n.id])?;
        Ok((n, cases))
    })
    .await?;
    let n = row(&page, n, &cases, usize::MAX);
    page.render(&NotificationPage {
        n,
        page: page.clone(),
    })
}

/// `POST /notifications/{id}/read`: marks one of the user's notifications read.
pub async fn notification_read(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (uid, id, now) = (user.user.id, path.into_inner(), state.now());
    db(&state, move |conn| {
        let mine = crate::db::write_tx(conn, |c| {
            store::mark_read(c, uid, id, crate::store::to_db(now))
        })?;
        if mine {
            Ok(())
        } else {
            Err(AppError::NotFound)
        }
    })
    .await?;
    Ok(super::see_other("/notifications"))
}

/// `POST /notifications/read`: marks them all read.
pub async fn notifications_read(
    user: CurrentUser,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let (id, now) = (user.user.id, state.now());
    db(&state, move |conn| {
        crate::db::write_tx(conn, |c| {
            store::mark_all_read(c, id, crate::store::to_db(now))
        })?;
        Ok(())
    })
    .await?;
    Ok(super::see_other("/notifications"))
}
