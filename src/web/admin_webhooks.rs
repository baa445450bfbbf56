// Admin pages for webhooks: list and add receivers (the signing secret is shown
// once), disable, enable, rotate the secret, delete; a receiver's recent deliveries
// with attempts and last error, and "send again".

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use super::page::{FlashKind, redirect_with_flash};
use super::{Admin, Page, db};
use crate::domain::webhooks::{EventType, WebhookInputError};
use crate::error::AppError;
use crate::state::AppState;
use crate::store::webhooks::{self as hook_store, Delivery, Webhook};
use crate::webhooks::{self as hooks, WebhookError};

/// Deliveries shown on a receiver's page.
const RECENT: i64 = 50;

/// A receiver as listed: with what waits for it.
struct Row {
    hook: Webhook,
    waiting: i64,
    failing: i64,
}

#[derive(Template)]
#[template(path = "admin/webhooks.html")]
struct ListPage {
    page: Page,
    rows: Vec<Row>,
    types: Vec<&'static str>,
    /// The receiver just added or rotated, with its secret to show once.
    secret: Option<(String, String)>,
    error: Option<String>,
    form: NewForm,
}

#[derive(Template)]
#[template(path = "admin/webhook.html")]
struct HookPage {
    page: Page,
    hook: Webhook,
    deliveries: Vec<Delivery>,
}

#[derive(Default, Clone)]
pub struct NewForm {
    name: String,
    url: String,
    /// Ticked event types; none is every type.
    events: Vec<String>,
}

impl NewForm {
    /// The form's fields; `events` may come once per ticked box.
    fn parse(body: &[u8]) -> Result<NewForm, AppError> {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_bytes(body).map_err(|e| AppError::BadRequest(e.to_string()))?;
        let mut form = NewForm::default();
        for (k, v) in pairs {
            match k.as_str() {
                "name" => form.name = v,
                "url" => form.url = v,
                "events" => form.events.push(v),
                _ => {}
            }
        }
        Ok(form)
    }

    pub fn ticked(&self, t: &str) -> bool {
        self.events.iter().any(|e| e == t)
    }
}

async fn render(
    state: &AppState,
    page: Page,
    secret: Option<(String, String)>,
    error: Option<String>,
    form: NewForm,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let (hooks, waiting) = db(state, |conn| {
        Ok((hook_store::list(conn)?, hook_store::waiting(conn)?))
    })
    .await?;
    let rows = hooks
        .into_iter()
        .map(|hook| {
            let (waiting, failing) = waiting
                .iter()
                .find(|(id, _, _)| *id == hook.id)
                .map_or((0, 0), |(_, w, f)| (*w, *f));
            Row {
                hook,
                waiting,
                failing,
            }
        })
        .collect();
    page.render_status(
        status,
        &ListPage {
            rows,
            types: EventType::ALL.iter().map(|t| t.as_str()).collect(),
            secret,
            error,
            form,
            page: page.clone(),
        },
    )
}

pub async fn list(
    _: Admin,
    state: web::Data<AppState>,
    page: Page,
) -> Result<HttpResponse, AppError> {
    render(&state, page, None, None, NewForm::default(), StatusCode::OK).await
}

/// The words of a refusal, in the page's language.
fn refusal(page: &Page, e: &WebhookError) -> Option<String> {
    Some(match e {
        WebhookError::Invalid(WebhookInputError::Name) => page.t("webhooks.error.name").into(),
        WebhookError::Invalid(WebhookInputError::Url) => page.t("webhooks.error.url").into(),
        WebhookError::Invalid(WebhookInputError::UnknownEvent(name)) => {
            page.tf("webhooks.error.event", &[("name", name)])
        }
        WebhookError::NameTaken(name) => page.tf("webhooks.error.name_taken", &[("name", name)]),
        _ => return None,
    })
}

pub async fn create(
    Admin(user): Admin,
    state: web::Data<AppState>,
    page: Page,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let (now, actor) = (state.now(), user.actor());
    let form = NewForm::parse(&body)?;
    let input = form.clone();
    let result = db(&state, move |conn| {
        Ok(hooks::add(
            conn,
            now,
            &actor,
            &input.name,
            &input.url,
            &input.events.join(","),
        ))
    })
    .await?;
    match result {
        Ok((hook, secret)) => {
            render(
                &state,
                page,
                Some((hook.name, secret)),
                None,
                NewForm::default(),
                StatusCode::OK,
            )
            .await
        }
        Err(e) => match refusal(&page, &e) {
            Some(words) => {
                render(
                    &state,
                    page,
                    None,
                    Some(words),
                    form,
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await
            }
            None => Err(AppError::Internal(e.to_string())),
        },
    }
}

pub async fn show(
    _: Admin,
    state: web::Data<AppState>,
    page: Page,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let (hook, deliveries) = db(&state, move |conn| {
        let hook = hook_store::find(conn, id)?.ok_or(AppError::NotFound)?;
        Ok((hook, hook_store::recent(conn, id, RECENT)?))
    })
    .await?;
    page.render(&HookPage {
        hook,
        deliveries,
        page: page.clone(),
    })
}

/// Runs one of the commands on a receiver, then back to where it was asked from.
async fn on_hook(
    state: &AppState,
    to: &str,
    flash: &'static str,
    f: impl FnOnce(&mut crate::db::DbConn) -> Result<Webhook, WebhookError> + Send + 'static,
) -> Result<HttpResponse, AppError> {
    match db(state, move |conn| Ok(f(conn))).await? {
        Ok(_) => Ok(redirect_with_flash(to, FlashKind::Success, flash)),
        Err(WebhookError::NotFound) => Err(AppError::NotFound),
        Err(e) => Err(AppError::Internal(e.to_string())),
    }
}

pub async fn disable(
    Admin(user): Admin,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (id, now, actor) = (id.into_inner(), state.now(), user.actor());
    on_hook(
        &state,
        "/admin/webhooks",
        "flash.webhook_disabled",
        move |c| hooks::set_enabled(c, now, &actor, id, false),
    )
    .await
}

pub async fn enable(
    Admin(user): Admin,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (id, now, actor) = (id.into_inner(), state.now(), user.actor());
    on_hook(
        &state,
        "/admin/webhooks",
        "flash.webhook_enabled",
        move |c| hooks::set_enabled(c, now, &actor, id, true),
    )
    .await
}

pub async fn delete(
    Admin(user): Admin,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (id, now, actor) = (id.into_inner(), state.now(), user.actor());
    on_hook(
        &state,
        "/admin/webhooks",
        "flash.webhook_deleted",
        move |c| hooks::delete(c, now, &actor, id),
    )
    .await
}

pub async fn rotate(
    Admin(user): Admin,
    state: web::Data<AppState>,
    page: Page,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (id, now, actor) = (id.into_inner(), state.now(), user.actor());
    let rotated = db(&state, move |conn| Ok(hooks::rotate(conn, now, &actor, id))).await?;
    match rotated {
        Ok((hook, secret)) => {
            render(
                &state,
                page,
                Some((hook.name, secret)),
                None,
                NewForm::default(),
                StatusCode::OK,
            )
            .await
        }
        Err(WebhookError::NotFound) => Err(AppError::NotFound),
        Err(e) => Err(AppError::Internal(e.to_string())),
    }
}

pub async fn resend(
    Admin(user): Admin,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (id, now, actor) = (id.into_inner(), state.now(), user.actor());
    let done = db(&state, move |conn| Ok(hooks::resend(conn, now, &actor, id))).await?;
    match done {
        Ok(hook) => Ok(redirect_with_flash(
            &format!("/admin/webhooks/{}", hook.id),
            FlashKind::Success,
            "flash.webhook_resent",
        )),
        Err(WebhookError::NotFound) => Err(AppError::NotFound),
        Err(e) => Err(AppError::Internal(e.to_string())),
    }
}
