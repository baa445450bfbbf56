// Saved views: a queue list's filters saved by name from the list, private or shared
// with the team, listed on the home page one click away, renamed and deleted here.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::page::{FlashKind, redirect_with_flash};
use super::queues::{self, ListQuery};
use super::{CurrentUser, Page, db};
use crate::error::AppError;
use crate::i18n::tkey;
use crate::saved_views::{self, SavedView, ViewError};
use crate::state::AppState;

/// A saved view as the home page and the lists show it.
pub struct ViewLink {
    pub id: i64,
    pub name: String,
    /// The list it opens: `/queues?<its filters>`.
    pub href: String,
    pub owner: String,
    pub own: bool,
    pub shared: bool,
    pub can_delete: bool,
}

/// The links of `views` for `user_id` (a supervisor may delete shared views).
pub fn links_for(views: &[(SavedView, String)], user_id: i64, supervisor: bool) -> Vec<ViewLink> {
    views
        .iter()
        .map(|(v, owner)| {
            let own = v.owner_id == user_id;
            ViewLink {
                id: v.id,
                name: v.name.clone(),
                href: format!("/queues?{}", v.query),
                owner: owner.clone(),
                own,
                shared: v.shared,
                can_delete: own || (v.shared && supervisor),
            }
        })
        .collect()
}

/// [`links_for`] without the delete rights (the home page and the lists only link).
pub fn links(views: &[(SavedView, String)], user_id: i64) -> Vec<ViewLink> {
    links_for(views, user_id, false)
}

/// The views `user` may open, as links.
pub async fn load_links(
    state: &web::Data<AppState>,
    user: &CurrentUser,
) -> Result<Vec<ViewLink>, AppError> {
    let (id, supervisor) = (user.user.id, user.role.is_supervisor_or_admin());
    let views = db(state, move |conn| Ok(saved_views::visible_to(conn, id)?)).await?;
    Ok(links_for(&views, id, supervisor))
}

#[derive(Template)]
#[template(path = "views/index.html")]
struct Index {
    page: Page,
    views: Vec<ViewLink>,
    problem: Option<String>,
    name_max: usize,
}

/// `GET /views`: the user's views (rename, delete) and the team's shared ones.
pub async fn list(
    user: CurrentUser,
    state: web::Data<AppState>,
    page: Page,
) -> Result<HttpResponse, AppError> {
    let views = load_links(&state, &user).await?;
    page.render(&Index {
        views,
        problem: None,
        name_max: crate::domain::worklist::VIEW_NAME_MAX,
        page: page.clone(),
    })
}

/// The flash of a refused change of a view; a missing view is a 404.
fn refused(back: &str, e: ViewError) -> Result<HttpResponse, AppError> {
    match e {
        ViewError::NotFound => Err(AppError::NotFound),
        ViewError::Db(e) => Err(e.into()),
        other => Ok(redirect_with_flash(
            back,
            FlashKind::Error,
            other.key().unwrap_or(tkey("views.error.not_found")),
        )),
    }
}

#[derive(Deserialize)]
pub struct SaveForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    shared: Option<String>,
    /// The list's query string, as the list page put it in the form.
    #[serde(default)]
    query: String,
}

/// `POST /views`: saves the list's filters under a name. The filters go through the
/// list's own parser, so a view only ever holds filters the list understands.
pub async fn save(
    user: CurrentUser,
    state: web::Data<AppState>,
    page: Page,
    form: web::Form<SaveForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let shared = form.shared.as_deref().is_some_and(|s| !s.is_empty());
    let now = state.now();
    let (st, u) = (state.clone(), user.clone());
    let query = form.query.trim().trim_start_matches('?').to_string();
    let parsed: Result<ListQuery, _> = serde_urlencoded::from_str(&query);
    let outcome = db(&state, move |conn| {
        let Ok(q) = parsed else {
            return Ok(Err(None));
        };
        // The cursor is a position in a page, not a filter: a view never keeps it.
        let q = ListQuery { cursor: None, ..q };
        let snap = st.desk.get(conn)?;
        let scope = queues::scope_of(conn, &u)?;
        let request = match queues::parse(&q, &snap, &scope, queues::default_view(&u)) {
            Ok(Ok(r)) => r,
            Ok(Err(bad)) => return Ok(Err(Some(bad))),
            // A queue that does not exist or that the user may not see.
            Err(AppError::NotFound) => {
                return Ok(Err(Some(queues::BadParam(
                    "queue",
                    q.queue.unwrap_or_default(),
                ))));
            }
            Err(e) => return Err(e),
        };
        let normal = request.query(None);
        Ok(Ok((
            saved_views::save(conn, now, &u.actor(), &form.name, shared, &normal),
            normal,
        )))
    })
    .await?;
    match outcome {
        Ok((Ok(_), normal)) => Ok(redirect_with_flash(
            &format!("/queues?{normal}"),
            FlashKind::Success,
            if shared {
                tkey("views.saved_shared")
            } else {
                tkey("views.saved")
            },
        )),
        Ok((Err(e), normal)) => refused(&format!("/queues?{normal}"), e),
        Err(bad) => {
            let problem = match bad {
                Some(bad) => bad.message(&page),
                None => page.t("views.error.bad_query").to_string(),
            };
            let views = load_links(&state, &user).await?;
            page.render_status(
                actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
                &Index {
                    views,
                    problem: Some(problem),
                    name_max: crate::domain::worklist::VIEW_NAME_MAX,
                    page: page.clone(),
                },
            )
        }
    }
}

#[derive(Deserialize)]
pub struct RenameForm {
    #[serde(default)]
    name: String,
}

/// `POST /views/{id}/rename`: the owner renames their view.
pub async fn rename(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    form: web::Form<RenameForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let now = state.now();
    let actor = user.actor();
    let name = form.into_inner().name;
    let done = db(&state, move |conn| {
        Ok(saved_views::rename(conn, now, &actor, id, &name))
    })
    .await?;
    match done {
        Ok(_) => Ok(redirect_with_flash(
            "/views",
            FlashKind::Success,
            tkey("views.renamed"),
        )),
        Err(e) => refused("/views", e),
    }
}

/// `POST /views/{id}/delete`: the owner deletes their view; a supervisor or admin
/// may delete a shared one.
pub async fn delete(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let now = state.now();
    let (actor, supervisor) = (user.actor(), user.role.is_supervisor_or_admin());
    let done = db(&state, move |conn| {
        Ok(saved_views::delete(conn, now, &actor, supervisor, id))
    })
    .await?;
    match done {
        Ok(_) => Ok(redirect_with_flash(
            "/views",
            FlashKind::Success,
            tkey("views.deleted"),
        )),
        Err(e) => refused("/views", e),
    }
}
