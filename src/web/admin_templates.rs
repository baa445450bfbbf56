// Response templates for messages to customers: everyone signed in reads them (the
// list, a template with its history, an old version); supervisors and admins add
// reply and verification templates, save a new version (both languages, and for a
// reply the rules and case states it is written for) and restore an old one as a
// new version. Every change is audited.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::NaiveDateTime;
use serde_json::json;

use super::page::{FlashKind, redirect_with_flash};
use super::{CurrentUser, Page, Supervisor, db};
use crate::accounts;
use crate::db::write_tx;
use crate::domain::replies::{self, Scope};
use crate::domain::{FieldProblem, Lang};
use crate::error::AppError;
use crate::i18n::tkey;
use crate::mail::templates::{
    self, Draft, LANGS, MailTemplate, NEW_PURPOSES, REPLY, SaveError, Saved, Text, Version,
};
use crate::state::AppState;
use crate::store::deskconfig::Snapshot;

/// One template on the list.
pub struct Row {
    pub name: String,
    pub purpose: String,
    pub purpose_label: &'static str,
    pub rules: Vec<String>,
    /// The states it is written for, in the reader's language.
    pub states: Vec<&'static str>,
    pub version: Option<i32>,
    /// The subject in the reader's language (else English).
    pub subject: String,
    pub langs: Vec<String>,
    pub updated_at: NaiveDateTime,
}

/// A choice of the scope editor: (value, label, chosen).
pub struct Choice {
    pub value: String,
    pub label: String,
    pub checked: bool,
}

/// One language of a template on a form, as stored or as submitted.
pub struct Part {
    pub lang: String,
    pub lang_name: &'static str,
    pub subject: String,
    pub body: String,
}

/// A template's form: new (on the list page) or its edit page.
pub struct Form {
    pub name: String,
    pub purpose: String,
    pub purpose_label: &'static str,
    pub parts: Vec<Part>,
    pub rules: Vec<Choice>,
    pub states: Vec<Choice>,
    /// The version the editor started from.
    pub base_version: i32,
}

#[derive(Template)]
#[template(path = "admin/mail_templates.html")]
struct ListPage {
    page: Page,
    rows: Vec<Row>,
    can_edit: bool,
    form: Form,
    /// (purpose, its name, chosen)
    purposes: Vec<(&'static str, &'static str, bool)>,
    placeholders: String,
    problems: Vec<FieldProblem>,
}

/// A row of a template's history.
pub struct HistoryRow {
    pub version: i32,
    pub at: NaiveDateTime,
    pub by: Option<String>,
    pub restored_from: Option<i32>,
}

#[derive(Template)]
#[template(path = "admin/mail_template_edit.html")]
struct EditPage {
    page: Page,
    can_edit: bool,
    form: Form,
    placeholders: String,
    problems: Vec<FieldProblem>,
    history: Vec<HistoryRow>,
}

#[derive(Template)]
#[template(path = "admin/mail_template_version.html")]
struct VersionPage {
    page: Page,
    can_edit: bool,
    name: String,
    purpose: String,
    version: HistoryRow,
    latest: i32,
    parts: Vec<Part>,
    rules: Vec<String>,
    states: Vec<String>,
    problems: Vec<FieldProblem>,
}

fn lang_name(code: &str) -> &'static str {
    Lang::parse(code).map(Lang::native_name).unwrap_or("")
}

fn parts_of(texts: impl IntoIterator<Item = Text>) -> Vec<Part> {
    let texts: Vec<Text> = texts.into_iter().collect();
    LANGS
        .iter()
        .map(|lang| {
            let t = texts.iter().find(|t| t.lang == *lang);
            Part {
                lang: lang.to_string(),
                lang_name: lang_name(lang),
                subject: t.map(|t| t.subject.clone()).unwrap_or_default(),
                body: t.map(|t| t.body.clone()).unwrap_or_default(),
            }
        })
        .collect()
}

fn texts_of(rows: &[MailTemplate]) -> Vec<Text> {
    rows.iter()
        .map(|t| Text {
            lang: t.lang.clone(),
            subject: t.subject.clone(),
            body: t.body.clone(),
        })
        .collect()
}

/// The scope editor's choices: the desk's rules and the states, those of `scope`
/// chosen (a rule the desk no longer has is listed while chosen).
fn choices(page: &Page, snap: &Snapshot, scope: &Scope) -> (Vec<Choice>, Vec<Choice>) {
    let mut rules: Vec<Choice> = snap
        .rules
        .values()
        .map(|r| Choice {
            value: r.code.clone(),
            label: r.name.clone(),
            checked: scope.rules.contains(&r.code),
        })
        .collect();
    for r in scope.rules.iter().filter(|r| !snap.rules.contains_key(*r)) {
        rules.push(Choice {
            value: r.clone(),
            label: String::new(),
            checked: true,
        });
    }
    rules.sort_by(|a, b| a.value.cmp(&b.value));
    let states = replies::states()
        .into_iter()
        .map(|s| Choice {
            value: s.to_string(),
            label: state_label(page, s).to_string(),
            checked: scope.states.iter().any(|x| x == s),
        })
        .collect();
    (rules, states)
}

/// A scope state's name in the reader's language.
pub fn state_label(page: &Page, state: &str) -> &'static str {
    page.t(match state {
        "new" => "status.new",
        "assigned" => "status.assigned",
        "in_progress" => "status.in_progress",
        "pending_approval" => "status.pending_approval",
        "resolved" => "status.resolved",
        "paused" => "replies.state.paused",
        "false_positive" => "replies.state.false_positive",
        "confirmed_fraud" => "replies.state.confirmed_fraud",
        "unreachable" => "replies.state.unreachable",
        "duplicate" => "replies.state.duplicate",
        _ => "replies.state.unknown",
    })
}

/// A purpose's name in the reader's language.
pub fn purpose_label(page: &Page, purpose: &str) -> &'static str {
    page.t(match purpose {
        "verification" => "replies.purpose.verification",
        "survey" => "replies.purpose.survey",
        "reply" => "replies.purpose.reply",
        _ => "replies.purpose.other",
    })
}

fn placeholders() -> String {
    templates::placeholder_list()
}

/// The submitted form's fields: every value of a name, in order.
struct Fields(Vec<(String, String)>);

impl Fields {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect()
    }
}

/// A body as typed in a browser's text box: its line ends made `\n`, trimmed.
fn clean_body(b: &str) -> String {
    b.replace("\r\n", "\n").trim().to_string()
}

/// The draft a form makes of a template: each language's subject and body from the
/// form, else as stored; the scope from the form when the form has it (`scope`),
/// else as stored; a template that is not a reply is for any case.
fn draft_from(
    fields: &Fields,
    name: &str,
    purpose: &str,
    stored: &[Text],
    stored_scope: &Scope,
) -> Draft {
    let texts = LANGS
        .iter()
        .filter_map(|lang| {
            let was = stored.iter().find(|t| t.lang == *lang);
            let subject = fields
                .get(&format!("subject_{lang}"))
                .map(|s| s.trim().to_string())
                .or_else(|| was.map(|t| t.subject.clone()));
            let body = fields
                .get(&format!("body_{lang}"))
                .map(clean_body)
                .or_else(|| was.map(|t| t.body.clone()));
            match (subject, body) {
                (None, None) => None,
                (s, b) => Some(Text {
                    lang: lang.to_string(),
                    subject: s.unwrap_or_default(),
                    body: b.unwrap_or_default(),
                }),
            }
        })
        .collect();
    let scope = if purpose != REPLY {
        Scope::default()
    } else if fields.get("scope").is_some() {
        Scope {
            rules: fields.all("rule"),
            states: fields.all("state"),
        }
    } else {
        stored_scope.clone()
    };
    Draft {
        name: name.to_string(),
        purpose: purpose.to_string(),
        scope,
        texts,
    }
}

/// Every problem of a draft: its texts and languages, and its scope against the
/// desk's rules.
fn problems_of(draft: &Draft, snap: &Snapshot) -> Vec<FieldProblem> {
    let mut p = templates::check_draft(draft);
    p.extend(templates::check_scope(&draft.scope, |r| {
        snap.rules.contains_key(r)
    }));
    p
}

fn form_of(page: &Page, snap: &Snapshot, draft: &Draft, base_version: i32) -> Form {
    let (rules, states) = choices(page, snap, &draft.scope);
    Form {
        name: draft.name.clone(),
        purpose: draft.purpose.clone(),
        purpose_label: purpose_label(page, &draft.purpose),
        parts: parts_of(draft.texts.clone()),
        rules,
        states,
        base_version,
    }
}

/// The templates as the list shows them, one row per name.
fn rows_of(
    page: &Page,
    all: Vec<MailTemplate>,
    scopes: &HashMap<String, Scope>,
    versions: &HashMap<String, i32>,
) -> Vec<Row> {
    let lang = page.tr.lang;
    let mut rows: Vec<Row> = Vec::new();
    for t in all {
        match rows.last_mut() {
            Some(r) if r.name == t.name => {
                if t.lang == lang.code() {
                    r.subject = t.subject.clone();
                }
                r.langs.push(t.lang.clone());
                r.updated_at = r.updated_at.max(t.updated_at);
            }
            _ => {
                let scope = scopes.get(&t.name).cloned().unwrap_or_default();
                rows.push(Row {
                    version: versions.get(&t.name).copied(),
                    rules: scope.rules,
                    states: scope.states.iter().map(|s| state_label(page, s)).collect(),
                    purpose_label: purpose_label(page, &t.purpose),
                    purpose: t.purpose.clone(),
                    subject: t.subject.clone(),
                    langs: vec![t.lang.clone()],
                    updated_at: t.updated_at,
                    name: t.name,
                })
            }
        }
    }
    rows
}

fn purposes(page: &Page, chosen: &str) -> Vec<(&'static str, &'static str, bool)> {
    NEW_PURPOSES
        .iter()
        .map(|p| (*p, purpose_label(page, p), *p == chosen))
        .collect()
}

/// The list page, with the new template's form as given.
async fn list_page(
    state: &web::Data<AppState>,
    page: &Page,
    can_edit: bool,
    new: Option<Draft>,
    problems: Vec<FieldProblem>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let st = state.clone();
    let (all, scopes, versions, snap) = db(state, move |conn| {
        Ok((
            templates::all(conn)?,
            templates::scopes(conn)?,
            templates::latest_versions(conn)?,
            st.desk.get(conn)?,
        ))
    })
    .await?;
    let draft = new.unwrap_or_else(|| Draft {
        name: String::new(),
        purpose: REPLY.into(),
        scope: Scope::default(),
        texts: Vec::new(),
    });
    let purposes = purposes(page, &draft.purpose);
    page.render_status(
        status,
        &ListPage {
            rows: rows_of(page, all, &scopes, &versions),
            can_edit,
            form: form_of(page, &snap, &draft, 0),
            purposes,
            placeholders: placeholders(),
            problems,
            page: page.clone(),
        },
    )
}

/// `GET /admin/templates`: every template; for supervisors, the form of a new one.
pub async fn list(
    user: CurrentUser,
    state: web::Data<AppState>,
    page: Page,
) -> Result<HttpResponse, AppError> {
    let can_edit = user.role.is_supervisor_or_admin();
    list_page(&state, &page, can_edit, None, Vec::new(), StatusCode::OK).await
}

/// `POST /admin/templates`: adds a template (a reply or a verification e-mail) as its
/// version 1, written in both languages.
pub async fn create(
    Supervisor(user): Supervisor,
    state: web::Data<AppState>,
    page: Page,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let fields = Fields(form.into_inner());
    let name = fields.get("name").unwrap_or("").trim().to_string();
    let purpose = fields.get("purpose").unwrap_or(REPLY).trim().to_string();
    let mut draft = draft_from(&fields, &name, &purpose, &[], &Scope::default());
    draft.scope = draft.scope.normalised();
    let st = state.clone();
    let now = state.now();
    let d = draft.clone();
    let outcome = db(&state, move |conn| {
        let snap = st.desk.get(conn)?;
        let mut problems = Vec::new();
        problems.extend(templates::check_name(&d.name));
        if !NEW_PURPOSES.contains(&d.purpose.as_str()) {
            problems.push(FieldProblem::keyed(
                "purpose",
                tkey("mail.templates.bad_purpose"),
                &[("purpose", &d.purpose)],
            ));
        }
        problems.extend(problems_of(&d, &snap));
        if !problems.is_empty() {
            return Ok(Err(problems));
        }
        let actor = user.actor();
        let done = write_tx(conn, |c| {
            let v = match templates::create(c, &d, Some(user.user.id), now) {
                Ok(v) => v,
                Err(SaveError::Exists) => return Ok(Err(SaveError::Exists)),
                Err(e) => return Err(e),
            };
            accounts::record(
                c,
                now,
                &actor,
                "mail_template.created",
                Some(&d.name),
                json!({"purpose": d.purpose, "version": v,
                       "rules": d.scope.rules, "states": d.scope.states}),
            )?;
            Ok::<_, SaveError>(Ok(v))
        });
        match done {
            Ok(Ok(_)) => Ok(Ok(())),
            Ok(Err(_)) => Ok(Err(vec![FieldProblem::keyed(
                "name",
                tkey("mail.templates.name_taken"),
                &[("name", &d.name)],
            )])),
            Err(SaveError::Db(e)) => Err(e.into()),
            Err(_) => Err(AppError::NotFound),
        }
    })
    .await?;
    match outcome {
        Ok(()) => Ok(redirect_with_flash(
            &format!("/admin/templates/{}", draft.name),
            FlashKind::Success,
            "mail.flash.template_created",
        )),
        Err(problems) => {
            list_page(
                &state,
                &page,
                true,
                Some(draft),
                problems,
                StatusCode::BAD_REQUEST,
            )
            .await
        }
    }
}

/// What a template's page shows, read at once.
struct Loaded {
    rows: Vec<MailTemplate>,
    scope: Scope,
    versions: Vec<Version>,
    authors: HashMap<i64, String>,
    snap: std::sync::Arc<Snapshot>,
}

async fn load(state: &web::Data<AppState>, name: String) -> Result<Loaded, AppError> {
    let st = state.clone();
    db(state, move |conn| {
        let rows = templates::by_name(conn, &name)?;
        if rows.is_empty() {
            return Err(AppError::NotFound);
        }
        let versions = templates::versions(conn, &name)?;
        let ids: Vec<i64> = versions.iter().filter_map(|v| v.created_by).collect();
        Ok(Loaded {
            scope: templates::scope_of(conn, &name)?,
            authors: crate::store::users::emails_of(conn, &ids)?,
            snap: st.desk.get(conn)?,
            rows,
            versions,
        })
    })
    .await
}

fn history(versions: &[Version], authors: &HashMap<i64, String>) -> Vec<HistoryRow> {
    versions
        .iter()
        .map(|v| HistoryRow {
            version: v.version,
            at: v.created_at,
            by: v.created_by.and_then(|id| authors.get(&id).cloned()),
            restored_from: v.restored_from,
        })
        .collect()
}

fn edit_page(
    page: &Page,
    can_edit: bool,
    loaded: &Loaded,
    draft: &Draft,
    base_version: i32,
    problems: Vec<FieldProblem>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    page.render_status(
        status,
        &EditPage {
            can_edit,
            form: form_of(page, &loaded.snap, draft, base_version),
            placeholders: placeholders(),
            problems,
            history: history(&loaded.versions, &loaded.authors),
            page: page.clone(),
        },
    )
}

fn stored_draft(name: &str, loaded: &Loaded) -> Draft {
    Draft {
        name: name.to_string(),
        purpose: loaded.rows[0].purpose.clone(),
        scope: loaded.scope.clone(),
        texts: texts_of(&loaded.rows),
    }
}

fn latest_of(loaded: &Loaded) -> i32 {
    loaded.versions.first().map(|v| v.version).unwrap_or(0)
}

/// `GET /admin/templates/{name}`: the template in both languages with its scope and
/// history; a form for supervisors.
pub async fn edit(
    user: CurrentUser,
    state: web::Data<AppState>,
    page: Page,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let name = path.into_inner();
    let loaded = load(&state, name.clone()).await?;
    let draft = stored_draft(&name, &loaded);
    edit_page(
        &page,
        user.role.is_supervisor_or_admin(),
        &loaded,
        &draft,
        latest_of(&loaded),
        Vec::new(),
        StatusCode::OK,
    )
}

/// Saves `draft` as a new version in one transaction with its audit event, unless
/// `base` is behind; returns the problems to show with the form when refused.
async fn store_version(
    state: &web::Data<AppState>,
    user: &CurrentUser,
    draft: Draft,
    base: Option<i32>,
    restored_from: Option<i32>,
) -> Result<Result<Saved, Vec<FieldProblem>>, AppError> {
    let now = state.now();
    let (actor, by) = (user.actor(), user.user.id);
    db(state, move |conn| {
        let done = write_tx(conn, |c| {
            let saved = templates::save(c, &draft, base, Some(by), now, restored_from)?;
            if let Saved::Version(v) = saved {
                let (kind, detail) = match restored_from {
                    Some(from) => (
                        "mail_template.restored",
                        json!({"version": v, "restored_from": from}),
                    ),
                    None => (
                        "mail_template.updated",
                        json!({"version": v,
                               "languages": draft.texts.iter().map(|t| t.lang.clone()).collect::<Vec<_>>(),
                               "rules": draft.scope.rules, "states": draft.scope.states}),
                    ),
                };
                accounts::record(c, now, &actor, kind, Some(&draft.name), detail)?;
            }
            Ok::<_, SaveError>(saved)
        });
        match done {
            Ok(saved) => Ok(Ok(saved)),
            Err(SaveError::Stale { current }) => Ok(Err(vec![FieldProblem::keyed(
                "",
                tkey("mail.templates.stale"),
                &[("version", &current.to_string())],
            )])),
            Err(SaveError::Db(e)) => Err(e.into()),
            Err(_) => Err(AppError::NotFound),
        }
    })
    .await
}

/// `POST /admin/templates/{name}`: saves both languages (and a reply's scope) as a
/// new version; a language missing, an unknown placeholder, a save over someone
/// else's newer version are refused and nothing is saved.
pub async fn update(
    Supervisor(user): Supervisor,
    state: web::Data<AppState>,
    page: Page,
    path: web::Path<String>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let name = path.into_inner();
    let fields = Fields(form.into_inner());
    let loaded = load(&state, name.clone()).await?;
    let purpose = loaded.rows[0].purpose.clone();
    let draft = draft_from(
        &fields,
        &name,
        &purpose,
        &texts_of(&loaded.rows),
        &loaded.scope,
    );
    let base = fields
        .get("base_version")
        .and_then(|v| v.trim().parse::<i32>().ok());
    let shown_base = base.unwrap_or(latest_of(&loaded));
    let problems = problems_of(&draft, &loaded.snap);
    if !problems.is_empty() {
        return edit_page(
            &page,
            true,
            &loaded,
            &draft,
            shown_base,
            problems,
            StatusCode::BAD_REQUEST,
        );
    }
    match store_version(&state, &user, draft.clone(), base, None).await? {
        Ok(saved) => Ok(redirect_with_flash(
            &format!("/admin/templates/{name}"),
            FlashKind::Success,
            match saved {
                Saved::Version(_) => "mail.flash.template_saved",
                Saved::Unchanged => "mail.flash.template_unchanged",
            },
        )),
        Err(problems) => {
            // Someone saved meanwhile: their version is in the history; the text
            // typed here is kept on the form, to be saved over it knowingly.
            let loaded = load(&state, name.clone()).await?;
            let latest = latest_of(&loaded);
            edit_page(
                &page,
                true,
                &loaded,
                &draft,
                latest,
                problems,
                StatusCode::CONFLICT,
            )
        }
    }
}

fn version_page(
    page: &Page,
    can_edit: bool,
    loaded: &Loaded,
    v: &Version,
    problems: Vec<FieldProblem>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let scope = v.scope();
    page.render_status(
        status,
        &VersionPage {
            can_edit,
            name: v.name.clone(),
            purpose: v.purpose.clone(),
            version: HistoryRow {
                version: v.version,
                at: v.created_at,
                by: v.created_by.and_then(|id| loaded.authors.get(&id).cloned()),
                restored_from: v.restored_from,
            },
            latest: latest_of(loaded),
            parts: parts_of(v.texts()),
            rules: scope.rules,
            states: scope
                .states
                .iter()
                .map(|s| state_label(page, s).to_string())
                .collect(),
            problems,
            page: page.clone(),
        },
    )
}

/// `GET /admin/templates/{name}/versions/{version}`: an old version as it was saved.
pub async fn show_version(
    user: CurrentUser,
    state: web::Data<AppState>,
    page: Page,
    path: web::Path<(String, i32)>,
) -> Result<HttpResponse, AppError> {
    let (name, number) = path.into_inner();
    let loaded = load(&state, name).await?;
    let v = loaded
        .versions
        .iter()
        .find(|v| v.version == number)
        .ok_or(AppError::NotFound)?;
    version_page(
        &page,
        user.role.is_supervisor_or_admin(),
        &loaded,
        v,
        Vec::new(),
        StatusCode::OK,
    )
}

/// `POST /admin/templates/{name}/versions/{version}/restore`: the old version's text
/// and scope saved again as a new version (the history keeps everything).
pub async fn restore(
    Supervisor(user): Supervisor,
    state: web::Data<AppState>,
    page: Page,
    path: web::Path<(String, i32)>,
) -> Result<HttpResponse, AppError> {
    let (name, number) = path.into_inner();
    let loaded = load(&state, name.clone()).await?;
    let v = loaded
        .versions
        .iter()
        .find(|v| v.version == number)
        .ok_or(AppError::NotFound)?
        .clone();
    let mut draft = v.draft();
    draft.purpose = loaded.rows[0].purpose.clone();
    let problems = problems_of(&draft, &loaded.snap);
    if !problems.is_empty() {
        return version_page(&page, true, &loaded, &v, problems, StatusCode::BAD_REQUEST);
    }
    match store_version(&state, &user, draft, None, Some(number)).await? {
        Ok(saved) => Ok(redirect_with_flash(
            &format!("/admin/templates/{name}"),
            FlashKind::Success,
            match saved {
                Saved::Version(_) => "mail.flash.template_restored",
                Saved::Unchanged => "mail.flash.template_unchanged",
            },
        )),
        Err(problems) => version_page(&page, true, &loaded, &v, problems, StatusCode::CONFLICT),
    }
}
