// The one path of the admin pages of the desk's seven kinds of object (calendars,
// SLA policies, queues, rules, routes, campaign rules, on-call rotas): list, create, edit, update and
// delete, generic over what each kind says about itself in `DeskObject`.

use std::fmt::Display;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{Admin, Refusal, change, done, load, segment};
use crate::domain::FieldProblem;
use crate::domain::deskconfig::DeskConfig;
use crate::error::AppError;
use crate::i18n::Tr;
use crate::state::AppState;
use crate::web::Page;

/// What reading a form may depend on: the reader's language (for problems) and time
/// zone (for times typed in local time).
#[derive(Debug, Clone, Copy)]
pub struct FormCtx {
    pub tr: Tr,
    pub tz: Tz,
}

/// The query of an edit page that reads none.
#[derive(Debug, Default, Deserialize)]
pub struct NoQuery {}

/// One kind of object of the desk's configuration, as its admin pages handle it.
pub trait DeskObject: 'static {
    /// The object as its form holds it: text, exactly as typed.
    type Form: DeserializeOwned + Clone + Send + 'static;
    /// What names one object in an address: a name, a code, a position.
    type Key: DeserializeOwned + Display + Clone + Send + 'static;
    /// What the edit page reads from its query (the calendar's preview).
    type Query: DeserializeOwned + Default + 'static;
    /// The object in the configuration.
    type Def: Send + 'static;
    type ListPage: Template;
    type EditPage: Template;

    /// The list's address; an object's page is `{LIST}/{key}`.
    const LIST: &'static str;
    /// The list's name in the file, which names problems (`calendars[2].timezone`).
    const IN_FILE: &'static str;
    /// The flash messages of a create, a save and a delete.
    const CREATED: &'static str;
    const SAVED: &'static str;
    const DELETED: &'static str;
    /// Whether a refused delete lists its problems on the list page (rather than on
    /// the object's own page).
    const DELETE_PROBLEMS_ON_LIST: bool = false;

    fn items(cfg: &DeskConfig) -> &[Self::Def];
    fn items_mut(cfg: &mut DeskConfig) -> &mut Vec<Self::Def>;
    /// The place in `items` of the object `key` names.
    fn index(items: &[Self::Def], key: &Self::Key) -> Option<usize>;
    /// The object the form describes, or what is wrong with it, each problem named
    /// as in the file below `at` (`calendars[2]`). `key` is the object's key when the
    /// form replaces one (the form then cannot rename it), none when it adds one.
    fn parse(
        form: &Self::Form,
        key: Option<&Self::Key>,
        at: &str,
        ctx: FormCtx,
    ) -> Result<Self::Def, Vec<FieldProblem>>;
    /// The list page's form before anything is typed.
    fn blank(page: &Page) -> Self::Form;
    fn list_page(
        cfg: &DeskConfig,
        page: &Page,
        now: DateTime<Utc>,
        form: Self::Form,
        problems: Vec<FieldProblem>,
    ) -> Self::ListPage;
    /// The page of the object `key` names, `def`, with `typed` in its form when
    /// given (else the stored object).
    #[allow(clippy::too_many_arguments)]
    fn edit_page(
        cfg: &DeskConfig,
        page: &Page,
        now: DateTime<Utc>,
        key: Self::Key,
        def: &Self::Def,
        typed: Option<Self::Form>,
        query: &Self::Query,
        problems: Vec<FieldProblem>,
    ) -> Self::EditPage;
}

/// The address of the object `key` names.
pub fn href<O: DeskObject>(key: &O::Key) -> String {
    format!("{}/{}", O::LIST, segment(&key.to_string()))
}

fn ctx(page: &Page) -> FormCtx {
    FormCtx {
        tr: page.tr,
        tz: page.tz,
    }
}

/// The list page, the form holding `form` and listing `problems`.
pub async fn render_list<O: DeskObject>(
    state: &AppState,
    page: Page,
    form: O::Form,
    problems: Vec<FieldProblem>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let cfg = load(state).await?;
    page.render_status(
        status,
        &O::list_page(&cfg, &page, state.now(), form, problems),
    )
}

async fn render_edit<O: DeskObject>(
    state: &AppState,
    page: Page,
    key: O::Key,
    typed: Option<O::Form>,
    query: &O::Query,
    problems: Vec<FieldProblem>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let cfg = load(state).await?;
    let items = O::items(&cfg);
    let def = &items[O::index(items, &key).ok_or(AppError::NotFound)?];
    let tpl = O::edit_page(&cfg, &page, state.now(), key, def, typed, query, problems);
    page.render_status(status, &tpl)
}

/// `GET {LIST}`: the objects, and the form that adds one.
pub async fn list<O: DeskObject>(
    _: Admin,
    state: web::Data<AppState>,
    page: Page,
) -> Result<HttpResponse, AppError> {
    let form = O::blank(&page);
    render_list::<O>(&state, page, form, Vec::new(), StatusCode::OK).await
}

/// `POST {LIST}`: adds the object at the end of its list.
pub async fn create<O: DeskObject>(
    admin: Admin,
    state: web::Data<AppState>,
    page: Page,
    form: web::Form<O::Form>,
) -> Result<HttpResponse, AppError> {
    let (form, ctx) = (form.into_inner(), ctx(&page));
    let typed = form.clone();
    let outcome = change(&state, &admin, move |cfg| {
        let at = format!("{}[{}]", O::IN_FILE, O::items(cfg).len());
        let def = O::parse(&form, None, &at, ctx)?;
        O::items_mut(cfg).push(def);
        Ok(())
    })
    .await?;
    match outcome {
        Ok(changes) => Ok(done(O::LIST, &changes, O::CREATED)),
        Err(problems) => {
            render_list::<O>(
                &state,
                page,
                typed,
                problems,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

/// `GET {LIST}/{key}`: the object's page.
pub async fn edit<O: DeskObject>(
    _: Admin,
    state: web::Data<AppState>,
    page: Page,
    key: web::Path<O::Key>,
    query: web::Query<O::Query>,
) -> Result<HttpResponse, AppError> {
    render_edit::<O>(
        &state,
        page,
        key.into_inner(),
        None,
        &query,
        Vec::new(),
        StatusCode::OK,
    )
    .await
}

/// `POST {LIST}/{key}`: replaces the object with what the form describes.
pub async fn update<O: DeskObject>(
    admin: Admin,
    state: web::Data<AppState>,
    page: Page,
    key: web::Path<O::Key>,
    form: web::Form<O::Form>,
) -> Result<HttpResponse, AppError> {
    let (key, form, ctx) = (key.into_inner(), form.into_inner(), ctx(&page));
    let (typed, target) = (form.clone(), key.clone());
    let outcome = change(&state, &admin, move |cfg| {
        let i = O::index(O::items(cfg), &target).ok_or(Refusal::NotFound)?;
        let def = O::parse(&form, Some(&target), &format!("{}[{i}]", O::IN_FILE), ctx)?;
        O::items_mut(cfg)[i] = def;
        Ok(())
    })
    .await?;
    match outcome {
        Ok(changes) => Ok(done(&href::<O>(&key), &changes, O::SAVED)),
        Err(problems) => {
            render_edit::<O>(
                &state,
                page,
                key,
                Some(typed),
                &O::Query::default(),
                problems,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

/// `POST {LIST}/{key}/delete`: removes the object, unless the rest of the
/// configuration still names it.
pub async fn delete<O: DeskObject>(
    admin: Admin,
    state: web::Data<AppState>,
    page: Page,
    key: web::Path<O::Key>,
) -> Result<HttpResponse, AppError> {
    let key = key.into_inner();
    let target = key.clone();
    let outcome = change(&state, &admin, move |cfg| {
        let i = O::index(O::items(cfg), &target).ok_or(Refusal::NotFound)?;
        O::items_mut(cfg).remove(i);
        Ok(())
    })
    .await?;
    let problems = match outcome {
        Ok(changes) => return Ok(done(O::LIST, &changes, O::DELETED)),
        Err(problems) => problems,
    };
    let status = StatusCode::UNPROCESSABLE_ENTITY;
    if O::DELETE_PROBLEMS_ON_LIST {
        let form = O::blank(&page);
        render_list::<O>(&state, page, form, problems, status).await
    } else {
        render_edit::<O>(
            &state,
            page,
            key,
            None,
            &O::Query::default(),
            problems,
            status,
        )
        .await
    }
}
