// HTTP handlers, one file per feature, and the route table. Handlers stay thin:
// parse the input, call `accounts`/`store` inside `db`, render a template.

pub mod access;
pub mod admin_apikeys;
pub mod admin_audit;
pub mod admin_desk;
pub mod admin_templates;
pub mod admin_tips;
pub mod admin_users;
pub mod admin_webhooks;
pub mod api;
pub mod assets;
pub mod auth;
pub mod board;
pub mod board_chart;
pub mod briefs;
pub mod bulk;
pub mod campaign;
pub mod case_calls;
pub mod casepage;
pub mod conversations;
pub mod csv;
pub mod emergencies;
pub mod home;
pub mod knowledge;
pub mod mfa;
pub mod middleware;
pub mod notifications;
pub mod oncall;
pub mod ops;
pub mod page;
pub mod playbooks;
pub mod profile;
pub mod qa;
pub mod queues;
pub mod replies;
pub mod reports;
pub mod resolution;
pub mod reveal;
pub mod scope;
pub mod search;
pub mod setup;
pub mod snoozes;
pub mod triage;
pub mod verify;
pub mod views;
pub mod work;

use std::sync::OnceLock;

use actix_web::dev::ResourceDef;
use actix_web::http::Method;
use actix_web::{HttpRequest, web};

use crate::db::DbConn;
use crate::error::AppError;
use crate::state::AppState;

pub use access::{Access, Admin, RouteSpec, Supervisor};
pub use page::{CurrentUser, Page};

use access::route_table;
use admin_desk::{Calendars, Campaigns, Policies, Queues, Rotas, Routes, Rules};

/// Every route of the desk: method, path pattern, who may use it, handler. The app
/// registers exactly these (see [`routes`]); each handler's first argument is the
/// extractor of the access named here, or it does not compile (`access.rs`). The
/// access test walks this table as every role.
pub static ROUTES: &[RouteSpec] = route_table! {
    // The JSON API, with API keys, each route with the scope a key needs for it
    // (registered in the /api scope).
    GET "/api/openapi.json" Public => api::openapi::serve;
    POST "/api/v1/alerts" ApiKey(AlertsWrite) => api::alerts::post_alert;
    POST "/api/v1/alerts/batch" ApiKey(AlertsWrite) => api::alerts::post_batch;
    GET "/api/v1/cases" ApiKey(CasesRead) => api::cases::list;
    GET "/api/v1/labels" ApiKey(LabelsRead) => api::labels::list;
    GET "/api/v1/snoozes" ApiKey(LabelsRead) => api::snoozes::list;
    GET "/api/v1/cases/{case_ref}" ApiKey(CasesRead) => api::cases::get;
    GET "/api/v1/cases/{case_ref}/events" ApiKey(CasesRead) => api::cases::events;
    POST "/api/v1/calendars/preview" ApiKey(CasesRead) => api::calendars::preview;
    GET "/api/v1/webhooks" ApiKey(WebhooksManage) => api::webhooks::list;
    POST "/api/v1/webhooks" ApiKey(WebhooksManage) => api::webhooks::create;
    DELETE "/api/v1/webhooks/{id}" ApiKey(WebhooksManage) => api::webhooks::delete;
    POST "/api/v1/webhooks/{id}/disable" ApiKey(WebhooksManage) => api::webhooks::disable;
    POST "/api/v1/webhooks/{id}/enable" ApiKey(WebhooksManage) => api::webhooks::enable;
    POST "/api/v1/webhooks/{id}/rotate" ApiKey(WebhooksManage) => api::webhooks::rotate;
    // Operations, assets, sign-in.
    GET "/healthz" Public => ops::healthz;
    GET "/readyz" Public => ops::readyz;
    GET "/metrics" Public => ops::metrics;
    GET "/static/{file}" Public => assets::serve;
    GET "/login" Public => auth::login_form;
    POST "/login" Public => auth::login;
    // The second step of a sign-in with a second factor.
    GET "/login/code" Public => mfa::code_form;
    POST "/login/code" Public => mfa::code_submit;
    // The first run: the one-time link that creates the first admin.
    GET "/setup/{token}" Public => setup::form;
    POST "/setup/{token}" Public => setup::create;
    POST "/logout" Signed => auth::logout;
    POST "/logout/everywhere" Signed => auth::logout_everywhere;
    GET "/" Signed => home::home;
    GET "/profile" Signed => profile::show;
    POST "/profile" Signed => profile::save;
    POST "/profile/password" Signed => profile::change_password;
    POST "/profile/notifications" Signed => profile::save_notifications;
    // The user's own second factor (an authenticator app) and its recovery codes.
    GET "/profile/mfa" Signed => mfa::show;
    POST "/profile/mfa/start" Signed => mfa::start;
    POST "/profile/mfa/confirm" Signed => mfa::confirm;
    POST "/profile/mfa/recovery-codes" Signed => mfa::regenerate;
    POST "/profile/mfa/disable" Signed => mfa::disable;
    // Users, API keys and the audit log.
    GET "/admin/users" Admin => admin_users::list;
    POST "/admin/users" Admin => admin_users::create;
    GET "/admin/users/{id}" Admin => admin_users::edit;
    POST "/admin/users/{id}" Admin => admin_users::update;
    POST "/admin/users/{id}/deactivate" Admin => admin_users::deactivate;
    POST "/admin/users/{id}/reactivate" Admin => admin_users::reactivate;
    POST "/admin/users/{id}/routing" Admin => admin_users::routing;
    POST "/admin/users/{id}/reset-password" Admin => admin_users::reset_password;
    POST "/admin/users/{id}/sessions/end" Admin => admin_users::end_sessions;
    POST "/admin/users/{id}/reset-mfa" Admin => mfa::admin_reset;
    GET "/admin/api-keys" Admin => admin_apikeys::list;
    POST "/admin/api-keys" Admin => admin_apikeys::create;
    POST "/admin/api-keys/{id}/revoke" Admin => admin_apikeys::revoke;
    GET "/admin/audit" Admin => admin_audit::list;
    GET "/admin/audit/export.csv" Admin => admin_audit::export_csv;
    GET "/admin/audit/export.jsonl" Admin => admin_audit::export_jsonl;
    GET "/admin/webhooks" Admin => admin_webhooks::list;
    POST "/admin/webhooks" Admin => admin_webhooks::create;
    GET "/admin/webhooks/{id}" Admin => admin_webhooks::show;
    POST "/admin/webhooks/{id}/disable" Admin => admin_webhooks::disable;
    POST "/admin/webhooks/{id}/enable" Admin => admin_webhooks::enable;
    POST "/admin/webhooks/{id}/rotate" Admin => admin_webhooks::rotate;
    POST "/admin/webhooks/{id}/delete" Admin => admin_webhooks::delete;
    POST "/admin/webhook-deliveries/{id}/resend" Admin => admin_webhooks::resend;
    // The agent's work: presence, lists, cases, notifications.
    POST "/presence" Signed => work::presence;
    POST "/queue/take-next" Signed => work::take_next;
    GET "/queues" Signed => queues::index;
    GET "/queues/fragment" Signed => queues::fragment;
    POST "/queues/bulk" Supervisor => bulk::run;
    GET "/search" Signed => search::search;
    GET "/views" Signed => views::list;
    POST "/views" Signed => views::save;
    POST "/views/{id}/rename" Signed => views::rename;
    POST "/views/{id}/delete" Signed => views::delete;
    GET "/cases/{case_ref}" Signed => casepage::show;
    GET "/cases/{case_ref}/linked" Signed => casepage::linked;
    POST "/cases/{case_ref}/release" Signed => work::release;
    POST "/cases/{case_ref}/resume" Signed => work::resume;
    POST "/cases/{case_ref}/reassign" Supervisor => work::reassign;
    POST "/cases/{case_ref}/resolve" Signed => resolution::resolve;
    POST "/cases/{case_ref}/approval" Supervisor => resolution::decide;
    POST "/cases/{case_ref}/reopen" Signed => resolution::reopen;
    POST "/cases/{case_ref}/snooze" Signed => snoozes::create;
    POST "/cases/{case_ref}/aml-report" Signed => resolution::aml_filed;
    POST "/cases/{case_ref}/emergency" Signed => emergencies::declare;
    POST "/cases/{case_ref}/emergency/stand-down" Supervisor => emergencies::stand_down;
    GET "/emergencies/{id}" Signed => emergencies::show;
    POST "/emergencies/{id}/ack" Signed => emergencies::acknowledge;
    POST "/emergencies/{id}/hand-over" Signed => emergencies::hand_over;
    GET "/snoozes" Supervisor => snoozes::list;
    POST "/snoozes/{id}/end" Supervisor => snoozes::end;
    POST "/cases/{case_ref}/hand-off" Signed => resolution::hand_off;
    POST "/cases/{case_ref}/merge" Supervisor => campaign::merge;
    POST "/cases/{case_ref}/bulk" Supervisor => bulk::campaign;
    POST "/campaigns" Supervisor => campaign::make;
    GET "/approvals" Supervisor => resolution::approvals;
    POST "/cases/{case_ref}/calls" Signed => case_calls::log_call;
    POST "/cases/{case_ref}/reveal" Signed => reveal::reveal;
    GET "/admin/playbooks" Supervisor => playbooks::list;
    GET "/admin/playbooks/{code}" Supervisor => playbooks::edit;
    POST "/admin/playbooks/{code}" Supervisor => playbooks::update;
    // The knowledge base: everyone reads published articles (opening one records
    // the read); supervisors and admins write, publish and retire, and see who read.
    GET "/knowledge" Signed => knowledge::list;
    GET "/knowledge/new" Supervisor => knowledge::new_form;
    POST "/knowledge" Supervisor => knowledge::create;
    GET "/knowledge/{id}" Signed => knowledge::show;
    GET "/knowledge/{id}/edit" Supervisor => knowledge::edit_form;
    POST "/knowledge/{id}" Supervisor => knowledge::update;
    POST "/knowledge/{id}/publish" Supervisor => knowledge::publish;
    POST "/knowledge/{id}/retire" Supervisor => knowledge::retire;
    GET "/knowledge/{id}/reads" Supervisor => knowledge::reads;
    GET "/notifications" Signed => notifications::notifications_list;
    POST "/notifications/read" Signed => notifications::notifications_read;
    GET "/notifications/{id}" Signed => notifications::notification_show;
    POST "/notifications/{id}/read" Signed => notifications::notification_read;
    // The desk's configuration.
    GET "/admin/desk" Admin => admin_desk::overview;
    POST "/admin/desk/triage" Admin => admin_desk::set_triage;
    POST "/admin/desk/public-attributes" Admin => admin_desk::set_public_attributes;
    POST "/admin/desk/apply" Admin => admin_desk::apply_file;
    GET "/admin/calendars" Admin => admin_desk::list::<Calendars>;
    POST "/admin/calendars" Admin => admin_desk::create::<Calendars>;
    GET "/admin/calendars/{name}" Admin => admin_desk::edit::<Calendars>;
    POST "/admin/calendars/{name}" Admin => admin_desk::update::<Calendars>;
    POST "/admin/calendars/{name}/delete" Admin => admin_desk::delete::<Calendars>;
    GET "/admin/sla-policies" Admin => admin_desk::list::<Policies>;
    POST "/admin/sla-policies" Admin => admin_desk::create::<Policies>;
    GET "/admin/sla-policies/{name}" Admin => admin_desk::edit::<Policies>;
    POST "/admin/sla-policies/{name}" Admin => admin_desk::update::<Policies>;
    POST "/admin/sla-policies/{name}/delete" Admin => admin_desk::delete::<Policies>;
    GET "/admin/queues" Admin => admin_desk::list::<Queues>;
    POST "/admin/queues" Admin => admin_desk::create::<Queues>;
    GET "/admin/queues/{name}" Admin => admin_desk::edit::<Queues>;
    POST "/admin/queues/{name}" Admin => admin_desk::update::<Queues>;
    POST "/admin/queues/{name}/delete" Admin => admin_desk::delete::<Queues>;
    GET "/admin/rules" Admin => admin_desk::list::<Rules>;
    POST "/admin/rules" Admin => admin_desk::create::<Rules>;
    GET "/admin/rules/{code}" Admin => admin_desk::edit::<Rules>;
    POST "/admin/rules/{code}" Admin => admin_desk::update::<Rules>;
    POST "/admin/rules/{code}/delete" Admin => admin_desk::delete::<Rules>;
    GET "/admin/routes" Admin => admin_desk::list::<Routes>;
    POST "/admin/routes" Admin => admin_desk::create::<Routes>;
    GET "/admin/routes/{position}" Admin => admin_desk::edit::<Routes>;
    POST "/admin/routes/{position}" Admin => admin_desk::update::<Routes>;
    POST "/admin/routes/{position}/delete" Admin => admin_desk::delete::<Routes>;
    POST "/admin/routes/{position}/move" Admin => admin_desk::routes::move_route;
    GET "/admin/campaigns" Admin => admin_desk::list::<Campaigns>;
    POST "/admin/campaigns" Admin => admin_desk::create::<Campaigns>;
    GET "/admin/campaigns/{name}" Admin => admin_desk::edit::<Campaigns>;
    POST "/admin/campaigns/{name}" Admin => admin_desk::update::<Campaigns>;
    POST "/admin/campaigns/{name}/delete" Admin => admin_desk::delete::<Campaigns>;
    GET "/admin/oncall" Admin => admin_desk::list::<Rotas>;
    POST "/admin/oncall" Admin => admin_desk::create::<Rotas>;
    GET "/admin/oncall/{name}" Admin => admin_desk::edit::<Rotas>;
    POST "/admin/oncall/{name}" Admin => admin_desk::update::<Rotas>;
    POST "/admin/oncall/{name}/delete" Admin => admin_desk::delete::<Rotas>;
    // Who is on call (agents read it; supervisors and admins add and remove
    // overrides).
    GET "/oncall" Signed => oncall::show;
    POST "/oncall/overrides" Supervisor => oncall::add_override;
    POST "/oncall/overrides/{id}/delete" Supervisor => oncall::remove_override;
    // Verification e-mails, the customers' pages behind their links, and the
    // response templates.
    GET "/cases/{case_ref}/verify-email" Signed => verify::send_form;
    POST "/cases/{case_ref}/verify-email" Signed => verify::send;
    GET "/v/{token}" Public => verify::verify_page;
    POST "/v/{token}" Public => verify::verify_answer;
    GET "/s/{token}" Public => verify::survey_page;
    POST "/s/{token}" Public => verify::survey_answer;
    // The conversation with the customer: messages from the case, the files the
    // customer sent, and the customer's secure-message page behind its link.
    POST "/cases/{case_ref}/messages" Signed => conversations::send;
    GET "/cases/{case_ref}/attachments/{id}" Signed => conversations::attachment;
    GET "/m/{token}" Public => conversations::portal_page;
    POST "/m/{token}" Public => conversations::portal_reply;
    // Inbound mail that matched no case, or was refused, waits here.
    GET "/triage/mail" Supervisor => triage::list;
    GET "/triage/mail/{id}" Supervisor => triage::show;
    POST "/triage/mail/{id}/attach" Supervisor => triage::attach;
    POST "/triage/mail/{id}/discard" Supervisor => triage::discard;
    // The library of replies: everyone reads the templates and their versions;
    // supervisors and admins write them and the security tips.
    GET "/admin/templates" Signed => admin_templates::list;
    POST "/admin/templates" Supervisor => admin_templates::create;
    GET "/admin/templates/{name}" Signed => admin_templates::edit;
    POST "/admin/templates/{name}" Supervisor => admin_templates::update;
    GET "/admin/templates/{name}/versions/{version}" Signed => admin_templates::show_version;
    POST "/admin/templates/{name}/versions/{version}/restore" Supervisor => admin_templates::restore;
    GET "/admin/tips" Supervisor => admin_tips::list;
    POST "/admin/tips" Supervisor => admin_tips::create;
    GET "/admin/tips/{id}" Supervisor => admin_tips::edit;
    POST "/admin/tips/{id}" Supervisor => admin_tips::update;
    POST "/admin/tips/{id}/delete" Supervisor => admin_tips::delete;
    // A message to a case's customer as they will see it.
    GET "/cases/{case_ref}/messages/preview" Signed => replies::show;
    POST "/cases/{case_ref}/messages/preview" Signed => replies::edited;
    // The supervisor's board, QA review and the weekly brief.
    GET "/board" Supervisor => board::show;
    GET "/board/fragment" Supervisor => board::fragment;
    GET "/qa" Supervisor => qa::list;
    GET "/qa/{case_ref}" Supervisor => qa::show;
    POST "/qa/{case_ref}" Supervisor => qa::score;
    GET "/briefs" Supervisor => briefs::list;
    GET "/briefs/{week}" Supervisor => briefs::show;
    // The period reports, the cases behind their figures, and their CSV exports
    // (an agent may read their own figures only: the handler answers 404 for
    // anyone else's).
    GET "/reports" Supervisor => reports::compliance;
    GET "/reports/outcomes" Supervisor => reports::outcomes;
    GET "/reports/agents/{id}" Signed => reports::agent;
    GET "/reports/rules/{code}" Supervisor => reports::rule;
    GET "/reports/cases" Supervisor => reports::cases;
    GET "/reports/export/{file}" Supervisor => reports::export;
};

/// Registers every route of [`ROUTES`], those under /api in one scope that limits
/// the size of their bodies.
pub fn routes(cfg: &mut web::ServiceConfig) {
    let is_api = |r: &&RouteSpec| {
        r.path
            .strip_prefix(api::PREFIX)
            .is_some_and(|rest| rest.starts_with('/'))
    };
    cfg.service(
        web::scope(api::PREFIX)
            .app_data(web::PayloadConfig::new(api::BODY_LIMIT))
            .configure(|scope| {
                for r in ROUTES.iter().filter(is_api) {
                    (r.mount)(scope, &r.path[api::PREFIX.len()..]);
                }
            }),
    );
    for r in ROUTES.iter().filter(|r| !is_api(r)) {
        (r.mount)(cfg, r.path);
    }
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

/// The methods the route table takes at `path`, in the table's order; empty when no
/// route has the path.
pub fn allowed_methods(path: &str) -> Vec<Method> {
    static PATTERNS: OnceLock<Vec<(ResourceDef, Method)>> = OnceLock::new();
    let patterns = PATTERNS.get_or_init(|| {
        ROUTES
            .iter()
            .map(|r| (ResourceDef::new(r.path), r.method.clone()))
            .collect()
    });
    let mut methods: Vec<Method> = Vec::new();
    for (def, method) in patterns {
        if def.is_match(path) && !methods.contains(method) {
            methods.push(method.clone());
        }
    }
    methods
}

/// Whether a route of the table answers `method` at `path`.
pub fn is_routed(method: &Method, path: &str) -> bool {
    allowed_methods(path).contains(method)
}

/// The default service: a path of the route table asked with a method it does not
/// take is a 405 with `Allow` (TRACE and OPTIONS included); any other path is a 404.
pub async fn not_found(req: HttpRequest) -> Result<actix_web::HttpResponse, AppError> {
    let allowed = allowed_methods(req.path());
    if allowed.is_empty() {
        return Err(AppError::NotFound);
    }
    Err(AppError::MethodNotAllowed {
        allow: allowed
            .iter()
            .map(Method::as_str)
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// A `303 See Other` to `to`, the answer to a form that worked.
pub fn see_other(to: &str) -> actix_web::HttpResponse {
    actix_web::HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, to))
        .finish()
}

#[cfg(test)]
mod tests {
    /// Handlers parse, call one command or query of `cases`/`store` and render:
    /// no file under `src/web` builds a query or names a table.
    #[test]
    fn nothing_under_web_speaks_to_the_database_directly() {
        fn walk(dir: &std::path::Path, offenders: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, offenders);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    for (n, line) in text.lines().enumerate() {
                        // (Spelt in two halves so that this test does not find itself.)
                        let needles = [concat!("die", "sel"), concat!("schema", "::")];
                        if needles.iter().any(|needle| line.contains(needle)) {
                            offenders.push(format!(
                                "{}:{}: {}",
                                path.display(),
                                n + 1,
                                line.trim()
                            ));
                        }
                    }
                }
            }
        }
        let mut offenders = Vec::new();
        walk(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/web"),
            &mut offenders,
        );
        assert!(
            offenders.is_empty(),
            "database code under src/web:\n{}",
            offenders.join("\n")
        );
    }
}
