// HTTP handlers, one file per feature, and the route table. Handlers stay thin:
// parse the input, call `accounts`/`store` inside `db`, render a template.

pub mod admin_apikeys;
pub mod admin_audit;
pub mod admin_desk;
pub mod admin_templates;
pub mod admin_users;
pub mod api;
pub mod assets;
pub mod auth;
pub mod board;
pub mod briefs;
pub mod case_calls;
pub mod casepage;
pub mod csv;
pub mod home;
pub mod middleware;
pub mod ops;
pub mod page;
pub mod playbooks;
pub mod profile;
pub mod qa;
pub mod queues;
pub mod reports;
pub mod resolution;
pub mod reveal;
pub mod session_cache;
pub mod verify;
pub mod work;

use actix_web::{HttpRequest, web};

use crate::app::AppState;
use crate::db::DbConn;
use crate::error::AppError;

pub use page::{CurrentUser, Page};

/// Every route of the desk.
pub fn routes(cfg: &mut web::ServiceConfig) {
    api::routes(cfg);
    cfg.route("/healthz", web::get().to(ops::healthz))
        .route("/readyz", web::get().to(ops::readyz))
        .route("/metrics", web::get().to(ops::metrics))
        .route("/static/{file}", web::get().to(assets::serve))
        .route("/login", web::get().to(auth::login_form))
        .route("/login", web::post().to(auth::login))
        .route("/logout", web::post().to(auth::logout))
        .route("/", web::get().to(home::home))
        .route("/profile", web::get().to(profile::show))
        .route("/profile", web::post().to(profile::save))
        .route(
            "/profile/password",
            web::post().to(profile::change_password),
        )
        .route("/admin/users", web::get().to(admin_users::list))
        .route("/admin/users", web::post().to(admin_users::create))
        .route("/admin/users/{id}", web::get().to(admin_users::edit))
        .route("/admin/users/{id}", web::post().to(admin_users::update))
        .route(
            "/admin/users/{id}/deactivate",
            web::post().to(admin_users::deactivate),
        )
        .route(
            "/admin/users/{id}/reactivate",
            web::post().to(admin_users::reactivate),
        )
        .route(
            "/admin/users/{id}/routing",
            web::post().to(admin_users::routing),
        )
        .route(
            "/admin/users/{id}/reset-password",
            web::post().to(admin_users::reset_password),
        )
        .route("/admin/api-keys", web::get().to(admin_apikeys::list))
        .route("/admin/api-keys", web::post().to(admin_apikeys::create))
        .route(
            "/admin/api-keys/{id}/revoke",
            web::post().to(admin_apikeys::revoke),
        )
        .route("/admin/audit", web::get().to(admin_audit::list))
        .route("/presence", web::post().to(work::presence))
        .route("/queue/take-next", web::post().to(work::take_next))
        .route("/queues", web::get().to(queues::index))
        .route("/queues/fragment", web::get().to(queues::fragment))
        .route("/cases/{case_ref}", web::get().to(work::show))
        .route("/cases/{case_ref}/release", web::post().to(work::release))
        .route("/cases/{case_ref}/reassign", web::post().to(work::reassign))
        .route(
            "/cases/{case_ref}/resolve",
            web::post().to(resolution::resolve),
        )
        .route(
            "/cases/{case_ref}/approval",
            web::post().to(resolution::decide),
        )
        .route(
            "/cases/{case_ref}/reopen",
            web::post().to(resolution::reopen),
        )
        .route(
            "/cases/{case_ref}/hand-off",
            web::post().to(resolution::hand_off),
        )
        .route("/approvals", web::get().to(resolution::approvals))
        .route(
            "/cases/{case_ref}/calls",
            web::post().to(case_calls::log_call),
        )
        .route("/cases/{case_ref}/reveal", web::post().to(reveal::reveal))
        .route("/admin/playbooks", web::get().to(playbooks::list))
        .route("/admin/playbooks/{code}", web::get().to(playbooks::edit))
        .route("/admin/playbooks/{code}", web::post().to(playbooks::update))
        .route("/notifications", web::get().to(work::notifications_list))
        .route(
            "/notifications/read",
            web::post().to(work::notifications_read),
        );
    desk_routes(cfg);
    mail_routes(cfg);
    board_routes(cfg);
    reports_routes(cfg);
}

/// The supervisor's board, QA review of resolved cases and the weekly brief.
fn board_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/board", web::get().to(board::show))
        .route("/board/fragment", web::get().to(board::fragment))
        .route("/qa", web::get().to(qa::list))
        .route("/qa/{case_ref}", web::get().to(qa::show))
        .route("/qa/{case_ref}", web::post().to(qa::score))
        .route("/briefs", web::get().to(briefs::list))
        .route("/briefs/{week}", web::get().to(briefs::show));
}

/// The supervisor's period reports, the cases behind their figures, and their CSV
/// exports.
fn reports_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/reports", web::get().to(reports::compliance))
        .route("/reports/outcomes", web::get().to(reports::outcomes))
        .route("/reports/agents/{id}", web::get().to(reports::agent))
        .route("/reports/cases", web::get().to(reports::cases))
        .route("/reports/export/{file}", web::get().to(reports::export));
}

/// Verification e-mails, the customers' pages behind their links, and the
/// response templates' admin pages.
fn mail_routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/cases/{case_ref}/verify-email",
        web::get().to(verify::send_form),
    )
    .route(
        "/cases/{case_ref}/verify-email",
        web::post().to(verify::send),
    )
    .route("/v/{token}", web::get().to(verify::verify_page))
    .route("/v/{token}", web::post().to(verify::verify_answer))
    .route("/s/{token}", web::get().to(verify::survey_page))
    .route("/s/{token}", web::post().to(verify::survey_answer))
    .route("/admin/templates", web::get().to(admin_templates::list))
    .route(
        "/admin/templates/{name}",
        web::get().to(admin_templates::edit),
    )
    .route(
        "/admin/templates/{name}",
        web::post().to(admin_templates::update),
    );
}

/// The admin pages of the desk's configuration.
fn desk_routes(cfg: &mut web::ServiceConfig) {
    use admin_desk::{calendars, policies, queues, routes, rules};
    cfg.route("/admin/desk", web::get().to(admin_desk::overview))
        .route("/admin/desk/triage", web::post().to(admin_desk::set_triage))
        .route("/admin/calendars", web::get().to(calendars::list))
        .route("/admin/calendars", web::post().to(calendars::create))
        .route("/admin/calendars/{name}", web::get().to(calendars::edit))
        .route("/admin/calendars/{name}", web::post().to(calendars::update))
        .route(
            "/admin/calendars/{name}/delete",
            web::post().to(calendars::delete),
        )
        .route("/admin/sla-policies", web::get().to(policies::list))
        .route("/admin/sla-policies", web::post().to(policies::create))
        .route("/admin/sla-policies/{name}", web::get().to(policies::edit))
        .route(
            "/admin/sla-policies/{name}",
            web::post().to(policies::update),
        )
        .route(
            "/admin/sla-policies/{name}/delete",
            web::post().to(policies::delete),
        )
        .route("/admin/queues", web::get().to(queues::list))
        .route("/admin/queues", web::post().to(queues::create))
        .route("/admin/queues/{name}", web::get().to(queues::edit))
        .route("/admin/queues/{name}", web::post().to(queues::update))
        .route(
            "/admin/queues/{name}/delete",
            web::post().to(queues::delete),
        )
        .route("/admin/rules", web::get().to(rules::list))
        .route("/admin/rules", web::post().to(rules::create))
        .route("/admin/rules/{code}", web::get().to(rules::edit))
        .route("/admin/rules/{code}", web::post().to(rules::update))
        .route("/admin/rules/{code}/delete", web::post().to(rules::delete))
        .route("/admin/routes", web::get().to(routes::list))
        .route("/admin/routes", web::post().to(routes::create))
        .route("/admin/routes/{position}", web::get().to(routes::edit))
        .route("/admin/routes/{position}", web::post().to(routes::update))
        .route(
            "/admin/routes/{position}/delete",
            web::post().to(routes::delete),
        )
        .route(
            "/admin/routes/{position}/move",
            web::post().to(routes::move_route),
        );
}

/// Runs `f` with a pooled connection on the blocking thread pool.
pub async fn db<T, F>(state: &AppState, f: F) -> Result<T, AppError>
where
    F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    let pool = state.pool.clone();
    web::block(move || {
        let mut conn = pool.get()?;
        f(&mut conn)
    })
    .await?
}

/// [`db`] for the short, indexed reads of the pages agents load all day (a queue
/// list, a case). On SQLite such a read takes a fraction of a millisecond in this
/// process's memory, less than handing it to the blocking pool and back, so it runs
/// right here on the server's thread; on PostgreSQL, where each query is a trip over
/// the network, it goes to the pool like everything else.
pub async fn db_quick<T, F>(state: &AppState, f: F) -> Result<T, AppError>
where
    F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    if matches!(state.settings.database, crate::db::DatabaseUrl::Sqlite(_)) {
        let mut conn = state.pool.get()?;
        return f(&mut conn);
    }
    db(state, f).await
}

/// The default service: nothing at this address.
pub async fn not_found(_req: HttpRequest) -> Result<actix_web::HttpResponse, AppError> {
    Err(AppError::NotFound)
}

/// A `303 See Other` to `to`, the answer to a form that worked.
pub fn see_other(to: &str) -> actix_web::HttpResponse {
    actix_web::HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, to))
        .finish()
}
