// Admin pages for API keys: list, create (the key is shown once), revoke.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use serde_json::json;

use super::page::{FlashKind, redirect_with_flash};
use super::{Admin, Page, db};
use crate::accounts::{self, AccountError};
use crate::db::write_tx;
use crate::error::AppError;
use crate::state::AppState;
use crate::store::{self, apikeys, apikeys::ApiKey};

#[derive(Template)]
#[template(path = "admin/api_keys.html")]
struct KeysPage {
    page: Page,
    keys: Vec<ApiKey>,
    new_key: Option<String>,
    error_key: Option<&'static str>,
}

async fn render(
    state: &AppState,
    page: Page,
    new_key: Option<String>,
    error_key: Option<&'static str>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let keys = db(state, |conn| Ok(apikeys::list(conn)?)).await?;
    page.render_status(
        status,
        &KeysPage {
            keys,
            new_key,
            error_key,
            page: page.clone(),
        },
    )
}

pub async fn list(
    _: Admin,
    state: web::Data<AppState>,
    page: Page,
) -> Result<HttpResponse, AppError> {
    render(&state, page, None, None, StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct NewKeyForm {
    #[serde(default)]
    name: String,
}

pub async fn create(
    Admin(user): Admin,
    state: web::Data<AppState>,
    page: Page,
    form: web::Form<NewKeyForm>,
) -> Result<HttpResponse, AppError> {
    let (now, actor) = (state.now(), user.actor());
    let name = form.into_inner().name;
    let result = db(&state, move |conn| {
        Ok(accounts::create_api_key(conn, now, &actor, &name))
    })
    .await?;
    match result {
        Ok((_, key)) => render(&state, page, Some(key), None, StatusCode::OK).await,
        Err(AccountError::Invalid { .. }) => {
            render(
                &state,
                page,
                None,
                Some("apikeys.error.name"),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn revoke(
    Admin(user): Admin,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let (now, actor) = (state.now(), user.actor());
    db(&state, move |conn| {
        write_tx(conn, |conn| {
            let key = apikeys::find(conn, id)?.ok_or(AppError::NotFound)?;
            if apikeys::revoke(conn, id, store::to_db(now))? > 0 {
                accounts::record(
                    conn,
                    now,
                    &actor,
                    "apikey.revoked",
                    Some(&key.name),
                    json!({"prefix": key.prefix}),
                )?;
            }
            Ok(())
        })
    })
    .await?;
    Ok(redirect_with_flash(
        "/admin/api-keys",
        FlashKind::Success,
        "flash.apikey_revoked",
    ))
}
