// Admin pages for users: list, create (with a generated password shown once),
// change name and role, deactivate and reactivate, reset the password.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::page::{FlashKind, redirect_with_flash};
use super::{Admin, CurrentUser, Page, db};
use crate::accounts::{self, AccountError, NewUserInput};
use crate::domain::Role;
use crate::domain::password::NewPassword;
use crate::error::AppError;
use crate::state::AppState;
use crate::store::{self, users, users::User};

/// A user row as the admin pages show it.
pub struct UserRow {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: String,
    pub active: bool,
    pub locked: bool,
    pub created_at: chrono::NaiveDateTime,
    /// Signs in against the directory (not with a password kept here).
    pub directory: bool,
    pub directory_dn: Option<String>,
}

fn rows(all: Vec<User>, now: chrono::DateTime<chrono::Utc>) -> Vec<UserRow> {
    all.into_iter()
        .map(|u| UserRow {
            locked: u.locked_until.is_some_and(|t| store::from_db(t) > now),
            directory: u.is_directory(),
            directory_dn: u.directory_dn,
            id: u.id,
            email: u.email,
            name: u.name,
            role: u.role,
            active: u.active,
            created_at: u.created_at,
        })
        .collect()
}

#[derive(Default, Deserialize)]
pub struct NewUserForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    language: String,
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    page: Page,
    users: Vec<UserRow>,
    form: NewUserForm,
    roles: [Role; 3],
    error_key: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "admin/password_once.html")]
struct PasswordOnce {
    page: Page,
    email: String,
    password: String,
    created: bool,
}

pub async fn list(
    _: Admin,
    state: web::Data<AppState>,
    page: Page,
) -> Result<HttpResponse, AppError> {
    render_list(&state, page, NewUserForm::default(), None, StatusCode::OK).await
}

async fn render_list(
    state: &AppState,
    page: Page,
    form: NewUserForm,
    error_key: Option<&'static str>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let now = state.now();
    let all = db(state, |conn| Ok(users::list(conn)?)).await?;
    page.render_status(
        status,
        &UsersPage {
            users: rows(all, now),
            form,
            roles: Role::ALL,
            error_key,
            page: page.clone(),
        },
    )
}

fn error_key(e: &AccountError) -> Option<&'static str> {
    Some(match e {
        AccountError::Invalid { field: "email", .. } => "users.error.email",
        AccountError::Invalid { field: "name", .. } => "users.error.name",
        AccountError::Invalid { field: "role", .. } => "users.error.role",
        AccountError::Invalid { .. } => "users.error.language",
        AccountError::DuplicateEmail(_) => "users.error.duplicate",
        AccountError::OwnAccount => "users.error.own_account",
        AccountError::LastAdmin => "users.error.last_admin",
        AccountError::DirectoryAccount => crate::i18n::tkey("directory.error.reset_password"),
        _ => return None,
    })
}

pub async fn create(
    Admin(user): Admin,
    state: web::Data<AppState>,
    page: Page,
    form: web::Form<NewUserForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let now = state.now();
    let actor = user.actor();
    let (email, name, role, language) = (
        form.email.clone(),
        form.name.clone(),
        form.role.clone(),
        form.language.clone(),
    );
    let password = NewPassword::generate();
    let pw = password.clone();
    let result = db(&state, move |conn| {
        Ok(accounts::create_user(
            conn,
            now,
            &actor,
            &NewUserInput {
                email: &email,
                name: &name,
                role: &role,
                language: Some(language.as_str()).filter(|l| !l.is_empty()),
            },
            &pw,
        ))
    })
    .await?;
    match result {
        Ok(created) => page.render(&PasswordOnce {
            email: created.email,
            password: password.expose().to_string(),
            created: true,
            page: page.clone(),
        }),
        Err(e) => match error_key(&e) {
            Some(key) => {
                render_list(
                    &state,
                    page,
                    form,
                    Some(key),
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await
            }
            None => Err(e.into()),
        },
    }
}

#[derive(Template)]
#[template(path = "admin/user_edit.html")]
struct EditPage {
    page: Page,
    target: UserRow,
    roles: [Role; 3],
    is_self: bool,
    error_key: Option<&'static str>,
    routing: RoutingView,
    /// The user's open sessions.
    sessions: usize,
    /// The user's second factor: off, pending or on.
    mfa: &'static str,
}

/// The routing panel of the user page.
pub struct RoutingView {
    pub capacity: i32,
    pub load: i32,
    pub presence: String,
    pub skills: String,
    pub auto_assign: bool,
    /// (queue name, member?)
    pub queues: Vec<(String, bool)>,
    /// (calendar name, chosen?)
    pub calendars: Vec<(String, bool)>,
}

fn routing_view(conn: &mut crate::db::DbConn, u: &User) -> Result<RoutingView, AppError> {
    let mine = users::queue_ids_of(conn, u.id)?;
    let all = crate::store::deskconfig::queue_names(conn)?;
    let cals = crate::store::deskconfig::calendar_names(conn)?;
    let skills: Vec<String> = serde_json::from_str(&u.skills).unwrap_or_default();
    Ok(RoutingView {
        capacity: u.capacity,
        load: u.current_load,
        presence: u.presence.clone(),
        skills: skills.join(", "),
        auto_assign: u.auto_assign,
        queues: all
            .into_iter()
            .map(|(id, name)| (name, mine.contains(&id)))
            .collect(),
        calendars: cals
            .into_iter()
            .map(|(id, name)| (name, u.shift_calendar_id == Some(id)))
            .collect(),
    })
}

async fn render_edit(
    state: &AppState,
    page: Page,
    user: &CurrentUser,
    id: i64,
    error_key: Option<&'static str>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let now = state.now();
    let (target, routing, sessions, mfa) = db(state, move |conn| {
        let u = users::find(conn, id)?.ok_or(AppError::NotFound)?;
        let routing = routing_view(conn, &u)?;
        let sessions = crate::store::sessions::list_for_user(conn, id)?.len();
        let mfa = crate::mfa::state_of(conn, id)?;
        Ok((u, routing, sessions, mfa))
    })
    .await?;
    let target = rows(vec![target], now).pop().ok_or(AppError::NotFound)?;
    page.render_status(
        status,
        &EditPage {
            is_self: target.id == user.user.id,
            target,
            roles: Role::ALL,
            error_key,
            routing,
            sessions,
            mfa,
            page: page.clone(),
        },
    )
}

pub async fn edit(
    Admin(user): Admin,
    state: web::Data<AppState>,
    page: Page,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    render_edit(&state, page, &user, id.into_inner(), None, StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct UpdateForm {
    name: String,
    role: String,
}

pub async fn update(
    Admin(user): Admin,
    state: web::Data<AppState>,
    page: Page,
    id: web::Path<i64>,
    form: web::Form<UpdateForm>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let form = form.into_inner();
    let (now, actor) = (state.now(), user.actor());
    let result = db(&state, move |conn| {
        Ok(accounts::update_user(
            conn, now, &actor, id, &form.name, &form.role,
        ))
    })
    .await?;
    answer(&state, page, &user, id, result, "flash.user_saved").await
}

/// The answer to a change of user `id`: back to their page saying `flash`, or the
/// page again with what was wrong (422); other errors as they are.
async fn answer<T>(
    state: &AppState,
    page: Page,
    user: &CurrentUser,
    id: i64,
    result: Result<T, AccountError>,
    flash: &'static str,
) -> Result<HttpResponse, AppError> {
    match result {
        Ok(_) => Ok(redirect_with_flash(
            &format!("/admin/users/{id}"),
            FlashKind::Success,
            flash,
        )),
        Err(e) => match error_key(&e) {
            Some(key) => {
                render_edit(
                    state,
                    page,
                    user,
                    id,
                    Some(key),
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await
            }
            None => Err(e.into()),
        },
    }
}

async fn set_active(
    Admin(user): Admin,
    state: web::Data<AppState>,
    page: Page,
    id: i64,
    active: bool,
) -> Result<HttpResponse, AppError> {
    let (now, actor, st) = (state.now(), user.actor(), state.clone());
    let result = db(&state, move |conn| {
        let snap = st.desk.get(conn)?;
        Ok(crate::cases::assign::set_active(
            conn, &snap, now, &actor, id, active,
        ))
    })
    .await?;
    let flash = if active {
        "flash.user_reactivated"
    } else {
        "flash.user_deactivated"
    };
    answer(&state, page, &user, id, result, flash).await
}

pub async fn deactivate(
    admin: Admin,
    state: web::Data<AppState>,
    page: Page,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    set_active(admin, state, page, id.into_inner(), false).await
}

pub async fn reactivate(
    admin: Admin,
    state: web::Data<AppState>,
    page: Page,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    set_active(admin, state, page, id.into_inner(), true).await
}

pub async fn reset_password(
    Admin(user): Admin,
    state: web::Data<AppState>,
    page: Page,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let (now, actor) = (state.now(), user.actor());
    let result = db(&state, move |conn| {
        Ok(accounts::reset_password(conn, now, &actor, id))
    })
    .await?;
    let (target, password) = match result {
        Ok(done) => done,
        Err(AccountError::DirectoryAccount) => {
            return render_edit(
                &state,
                page,
                &user,
                id,
                error_key(&AccountError::DirectoryAccount),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
        Err(e) => return Err(e.into()),
    };
    page.render(&PasswordOnce {
        email: target.email,
        password: password.expose().to_string(),
        created: false,
        page: page.clone(),
    })
}

/// `POST /admin/users/{id}/sessions/end`: ends every session of the user (a lost
/// laptop, a leaver) and takes them offline; audited.
pub async fn end_sessions(
    Admin(user): Admin,
    state: web::Data<AppState>,
    page: Page,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let (now, actor, st) = (state.now(), user.actor(), state.clone());
    let result = db(&state, move |conn| {
        let r = accounts::end_sessions(conn, now, &actor, id, accounts::SessionsEndedBy::Admin);
        if r.is_ok() {
            super::auth::go_offline(conn, &st, id, now)?;
        }
        Ok(r)
    })
    .await?;
    answer(&state, page, &user, id, result, "sessions.ended_flash").await
}

/// The routing form: queues are checkboxes named `queue`, so the body is read as a
/// list of pairs.
pub async fn routing(
    Admin(user): Admin,
    state: web::Data<AppState>,
    page: Page,
    id: web::Path<i64>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_bytes(&body).map_err(|e| AppError::BadRequest(e.to_string()))?;
    let field = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let Ok(capacity) = field("capacity").trim().parse::<i32>() else {
        return render_edit(
            &state,
            page,
            &user,
            id,
            Some("users.error.capacity"),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let input = accounts::RoutingInput {
        queues: pairs
            .iter()
            .filter(|(k, _)| k == "queue")
            .map(|(_, v)| v.clone())
            .collect(),
        skills: field("skills")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        capacity,
        shift_calendar: Some(field("shift")).filter(|s| !s.is_empty()),
        auto_assign: pairs.iter().any(|(k, _)| k == "auto_assign"),
    };
    let (now, actor, st) = (state.now(), user.actor(), state.clone());
    let result = db(&state, move |conn| {
        let snap = st.desk.get(conn)?;
        Ok(crate::cases::assign::set_routing(
            conn, &snap, now, &actor, id, &input,
        ))
    })
    .await?;
    match result {
        Ok(_) => Ok(redirect_with_flash(
            &format!("/admin/users/{id}"),
            FlashKind::Success,
            "flash.user_saved",
        )),
        Err(AccountError::Invalid { field, .. }) => {
            let key = match field {
                "capacity" => "users.error.capacity",
                "skills" => "users.error.skills",
                _ => "users.error.routing",
            };
            render_edit(
                &state,
                page,
                &user,
                id,
                Some(key),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}
