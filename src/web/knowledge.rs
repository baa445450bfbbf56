// The knowledge base's pages: the list with its search and rule filter, an article
// in the reader's language (the other one a click away; opening it records the
// read), the forms that write and edit articles (from a resolved case too),
// publishing and retiring, and the supervisor's report of who has read an article.
// Also the pieces other pages show: the sign-in banner of new articles and the case
// page's panel.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::NaiveDateTime;
use serde::Deserialize;

use super::page::{FlashKind, redirect_with_flash};
use super::{CurrentUser, Page, Supervisor, db};
use crate::domain::Lang;
use crate::domain::knowledge::{self as rules, Status};
use crate::domain::reference::parse_case_ref;
use crate::error::AppError;
use crate::i18n::tkey;
use crate::knowledge::{self, Edited, KnowledgeError, Submitted};
use crate::state::AppState;
use crate::store::cases::case_ref;
use crate::store::deskconfig::Snapshot;
use crate::store::knowledge::{self as store, Article, ArticleHead, ListFilter};

/// Articles a page of the list shows.
const PAGE_SIZE: i64 = 30;
/// New articles the sign-in banner lists (one more says there are more).
pub const BANNER_SIZE: i64 = 5;
/// A rule's articles the case page lists.
const CASE_PAGE_ARTICLES: i64 = 5;
/// The articles new to the reader the list shows at most (`?new=1`).
const NEW_LISTED: i64 = 100;
/// The excerpt under a title in the list, in characters.
const EXCERPT: usize = 160;

/// An article's title in `lang`.
fn title_in(lang: Lang, en: &str, zh: &str) -> String {
    match lang {
        Lang::En => en.to_string(),
        Lang::ZhCn => zh.to_string(),
    }
}

/// A link to an article as banners and panels show it.
pub struct ArticleLink {
    pub id: i64,
    pub title: String,
    pub status: String,
    /// When it was published, or re-notified.
    pub at: Option<NaiveDateTime>,
    /// New again after an edit (not its first publication).
    pub updated: bool,
}

impl ArticleLink {
    pub fn of(lang: Lang, a: &ArticleHead) -> ArticleLink {
        ArticleLink {
            id: a.id,
            title: title_in(lang, &a.title_en, &a.title_zh),
            status: a.status.clone(),
            at: a.notified_at.or(a.published_at),
            updated: matches!((a.published_at, a.notified_at), (Some(p), Some(n)) if n > p),
        }
    }
}

/// The sign-in banner: the articles new to the reader (at most [`BANNER_SIZE`]) and
/// whether there are more.
#[derive(Default)]
pub struct NewArticles {
    pub articles: Vec<ArticleLink>,
    pub more: bool,
}

impl NewArticles {
    /// The banner from the rows of `knowledge::new_for` asked with one more than it
    /// shows.
    pub fn of(lang: Lang, mut rows: Vec<ArticleHead>) -> NewArticles {
        let more = rows.len() as i64 > BANNER_SIZE;
        rows.truncate(BANNER_SIZE as usize);
        NewArticles {
            articles: rows.iter().map(|a| ArticleLink::of(lang, a)).collect(),
            more,
        }
    }
}

/// The case page's knowledge panel: the rule's published articles and those written
/// from the case.
pub struct CasePanel {
    pub for_rule: Vec<ArticleLink>,
    pub more_for_rule: bool,
    pub learned: Vec<ArticleLink>,
}

/// Loads the case page's knowledge panel (two indexed reads); supervisors see the
/// articles written from the case in every status, agents the published ones.
pub fn case_panel(
    conn: &mut crate::db::DbConn,
    lang: Lang,
    supervisor: bool,
    case_id: i64,
    rule: &str,
) -> Result<CasePanel, AppError> {
    let (for_rule, more_for_rule) = store::published_of_rule(conn, rule, CASE_PAGE_ARTICLES)?;
    let learned = store::from_case(conn, case_id, supervisor)?;
    Ok(CasePanel {
        for_rule: for_rule.iter().map(|a| ArticleLink::of(lang, a)).collect(),
        more_for_rule,
        learned: learned.iter().map(|a| ArticleLink::of(lang, a)).collect(),
    })
}

fn db_error(e: KnowledgeError) -> AppError {
    match e {
        KnowledgeError::Db(e) => e.into(),
        KnowledgeError::NotFound => AppError::NotFound,
        other => AppError::Internal(other.to_string()),
    }
}

fn parse_id(raw: &str) -> Result<i64, AppError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or(AppError::NotFound)
}

// ---------------------------------------------------------------------------------
// The list and search.

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    rule: Option<String>,
    #[serde(default)]
    status: Option<String>,
    /// The last article of the page before (its id).
    #[serde(default)]
    after: Option<i64>,
    /// Only the articles new to the reader.
    #[serde(default)]
    new: Option<String>,
}

/// One article of the list.
pub struct Row {
    pub id: i64,
    pub title: String,
    pub excerpt: String,
    pub rules: Vec<String>,
    pub status: String,
    pub updated_at: NaiveDateTime,
    pub published_at: Option<NaiveDateTime>,
    pub is_new: bool,
    pub from_case: Option<String>,
}

#[derive(Template)]
#[template(path = "knowledge/index.html")]
struct ListPage {
    page: Page,
    q: String,
    rule: String,
    status: String,
    statuses: Vec<&'static str>,
    rules: Vec<(String, String)>,
    problem: Option<String>,
    rows: Vec<Row>,
    next_href: Option<String>,
    first_href: Option<String>,
    can_write: bool,
    only_new: bool,
    filtered: bool,
}

fn list_href(q: &str, rule: &str, status: &str, after: Option<i64>) -> String {
    let mut params: Vec<(&str, String)> = Vec::new();
    if !q.is_empty() {
        params.push(("q", q.to_string()));
    }
    if !rule.is_empty() {
        params.push(("rule", rule.to_string()));
    }
    if !status.is_empty() {
        params.push(("status", status.to_string()));
    }
    if let Some(a) = after {
        params.push(("after", a.to_string()));
    }
    if params.is_empty() {
        "/knowledge".to_string()
    } else {
        format!(
            "/knowledge?{}",
            serde_urlencoded::to_string(&params).unwrap_or_default()
        )
    }
}

/// Whether `a` is new to a reader who read `read` of it: published or re-notified
/// within the week and not read in the version that made it new.
fn is_new(a: &Article, read: Option<i32>, since: NaiveDateTime) -> bool {
    a.status() == Status::Published
        && a.notified_at.is_some_and(|n| n >= since)
        && read.is_none_or(|v| v < a.notify_version)
}

/// `GET /knowledge`: the articles (agents: the published ones), searched by words
/// found anywhere in either language's title or body, filtered by rule (and status,
/// for supervisors), most recently changed first; `?new=1` lists those new to the
/// reader.
pub async fn list(
    user: CurrentUser,
    state: web::Data<AppState>,
    page: Page,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let supervisor = user.role.is_supervisor_or_admin();
    let lang = page.tr.lang;
    let q = query.q.clone().unwrap_or_default();
    let rule = query.rule.clone().unwrap_or_default().trim().to_string();
    let status = if supervisor {
        query
            .status
            .as_deref()
            .and_then(Status::parse)
            .map(|s| s.as_str().to_string())
            .unwrap_or_default()
    } else {
        String::new()
    };
    let only_new = query.new.as_deref().is_some_and(|v| !v.is_empty());
    let terms = rules::parse_query(&q);
    let problem = terms.as_ref().err().map(|p| p.render(&page.tr));
    let now = state.now();
    let since = crate::store::to_db(now - chrono::Duration::days(rules::NEW_FOR_DAYS));
    let st = state.clone();
    let user_id = user.user.id;
    let filter = ListFilter {
        status: if supervisor {
            Status::parse(&status)
        } else {
            Some(Status::Published)
        },
        rule: (!rule.is_empty()).then(|| rule.clone()),
        terms: terms.clone().unwrap_or_default(),
        after: None,
    };
    let after = query.after;
    let searchable = terms.is_ok();
    let (snap, rows, more, article_rules, reads) = db(&state, move |conn| {
        let snap = st.desk.get(conn)?;
        if !searchable {
            return Ok((snap, Vec::new(), false, Vec::new(), HashMap::new()));
        }
        let (rows, more) = if only_new {
            let heads = knowledge::new_for(conn, now, user_id, NEW_LISTED)?;
            let ids: Vec<i64> = heads.iter().map(|h| h.id).collect();
            (store::by_ids(conn, &ids)?, false)
        } else {
            let mut filter = filter;
            if let Some(id) = after
                && let Some(a) = store::find(conn, id)?
            {
                filter.after = Some((a.updated_at, a.id));
            }
            store::list(conn, &filter, PAGE_SIZE)?
        };
        let ids: Vec<i64> = rows.iter().map(|a| a.id).collect();
        let article_rules = store::rules_of_many(conn, &ids)?;
        let reads = store::read_versions(conn, user_id, &ids)?;
        Ok((snap, rows, more, article_rules, reads))
    })
    .await?;
    let mut rule_choices: Vec<(String, String)> = snap
        .rules
        .values()
        .map(|r| (r.code.clone(), r.name.clone()))
        .collect();
    rule_choices.sort();
    let next_href = (more && !rows.is_empty())
        .then(|| list_href(&q, &rule, &status, rows.last().map(|a| a.id)));
    let first_href = after.map(|_| list_href(&q, &rule, &status, None));
    let list_rows = rows
        .iter()
        .map(|a| {
            let body = match lang {
                Lang::En => &a.body_en,
                Lang::ZhCn => &a.body_zh,
            };
            Row {
                id: a.id,
                title: title_in(lang, &a.title_en, &a.title_zh),
                excerpt: rules::excerpt(body, EXCERPT),
                rules: article_rules
                    .iter()
                    .filter(|(id, _)| *id == a.id)
                    .map(|(_, c)| c.clone())
                    .collect(),
                status: a.status.clone(),
                updated_at: a.updated_at,
                published_at: a.published_at,
                is_new: is_new(a, reads.get(&a.id).copied(), since),
                from_case: a.source_case_id.map(case_ref),
            }
        })
        .collect();
    let filtered = !q.trim().is_empty() || !rule.is_empty() || !status.is_empty() || only_new;
    let tpl = ListPage {
        q,
        rule,
        status,
        statuses: Status::ALL.iter().map(|s| s.as_str()).collect(),
        rules: rule_choices,
        rows: list_rows,
        next_href,
        first_href,
        can_write: supervisor,
        only_new,
        filtered,
        problem: problem.clone(),
        page: page.clone(),
    };
    if problem.is_some() {
        page.render_status(actix_web::http::StatusCode::BAD_REQUEST, &tpl)
    } else {
        page.render(&tpl)
    }
}

// ---------------------------------------------------------------------------------
// An article.

#[derive(Debug, Default, Deserialize)]
pub struct ShowQuery {
    /// The language to read it in (`en`, `zh-CN`); the reader's by default.
    #[serde(default)]
    lang: Option<String>,
    /// An earlier version (supervisors).
    #[serde(default)]
    version: Option<i32>,
}

/// One kept version as the history lists it.
pub struct VersionRow {
    pub version: i32,
    pub editor: String,
    pub at: NaiveDateTime,
    pub notify: bool,
    pub title: String,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "knowledge/show.html")]
struct ShowPage {
    page: Page,
    id: i64,
    title: String,
    body_html: String,
    /// The language shown, and the other one's code and link text.
    shown_lang: &'static str,
    other_lang: &'static str,
    other_label: &'static str,
    status: String,
    rules: Vec<(String, String)>,
    source_case: Option<String>,
    author: String,
    editor: String,
    created_at: NaiveDateTime,
    published_at: Option<NaiveDateTime>,
    updated_at: NaiveDateTime,
    retired_at: Option<NaiveDateTime>,
    version: i32,
    notify_version: i32,
    /// An earlier version is shown: its number, editor and time.
    old: Option<(i32, String, NaiveDateTime)>,
    supervisor: bool,
    versions: Vec<VersionRow>,
    may_publish: bool,
    may_retire: bool,
}

/// `GET /knowledge/{id}`: the article in the reader's language (or `?lang=`), its
/// rules and source case; opening a published article records the read. Agents see
/// published articles only; supervisors also its history and actions.
pub async fn show(
    user: CurrentUser,
    state: web::Data<AppState>,
    page: Page,
    path: web::Path<String>,
    query: web::Query<ShowQuery>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path.into_inner())?;
    let supervisor = user.role.is_supervisor_or_admin();
    let lang = query
        .lang
        .as_deref()
        .and_then(Lang::parse)
        .unwrap_or(page.tr.lang);
    let asked_version = query.version.filter(|_| supervisor);
    let now = state.now();
    let st = state.clone();
    let user_id = user.user.id;
    let (article, snap, rules_of, versions, names, old) = db(&state, move |conn| {
        let article = store::find(conn, id)?.ok_or(AppError::NotFound)?;
        if !supervisor && article.status() != Status::Published {
            return Err(AppError::NotFound);
        }
        let old = match asked_version {
            Some(v) if v != article.version => {
                Some(store::version(conn, id, v)?.ok_or(AppError::NotFound)?)
            }
            _ => None,
        };
        if old.is_none() {
            knowledge::record_read(conn, now, user_id, &article)?;
        }
        let snap = st.desk.get(conn)?;
        let rules_of = match &old {
            Some(v) => v
                .rules
                .split(',')
                .filter(|c| !c.is_empty())
                .map(String::from)
                .collect(),
            None => store::rules_of(conn, id)?,
        };
        let versions = if supervisor {
            store::versions(conn, id)?
        } else {
            Vec::new()
        };
        let names = store::names_of(conn, &[article.author_id, article.updated_by])?;
        Ok((article, snap, rules_of, versions, names, old))
    })
    .await?;
    show_page(
        &page, &snap, article, rules_of, versions, names, old, lang, supervisor,
    )
}

#[allow(clippy::too_many_arguments)]
fn show_page(
    page: &Page,
    snap: &Snapshot,
    article: Article,
    rules_of: Vec<String>,
    versions: Vec<(store::Version, String)>,
    names: HashMap<i64, String>,
    old: Option<store::Version>,
    lang: Lang,
    supervisor: bool,
) -> Result<HttpResponse, AppError> {
    let (title_en, title_zh, body_en, body_zh) = match &old {
        Some(v) => (&v.title_en, &v.title_zh, &v.body_en, &v.body_zh),
        None => (
            &article.title_en,
            &article.title_zh,
            &article.body_en,
            &article.body_zh,
        ),
    };
    let (title, body) = match lang {
        Lang::En => (title_en.clone(), body_en),
        Lang::ZhCn => (title_zh.clone(), body_zh),
    };
    let (other_lang, other_label) = match lang {
        Lang::En => ("zh-CN", page.t("knowledge.read_in_zh")),
        Lang::ZhCn => ("en", page.t("knowledge.read_in_en")),
    };
    let old_view = old.as_ref().map(|v| {
        let editor = versions
            .iter()
            .find(|(x, _)| x.version == v.version)
            .map(|(_, n)| n.clone())
            .unwrap_or_default();
        (v.version, editor, v.edited_at)
    });
    let status = article.status();
    let tpl = ShowPage {
        id: article.id,
        title,
        body_html: rules::render_body(body),
        shown_lang: lang.code(),
        other_lang,
        other_label,
        status: article.status.clone(),
        rules: rules_of
            .into_iter()
            .map(|c| {
                let name = snap
                    .rules
                    .get(&c)
                    .map(|r| r.name.clone())
                    .unwrap_or_default();
                (c, name)
            })
            .collect(),
        source_case: article.source_case_id.map(case_ref),
        author: names.get(&article.author_id).cloned().unwrap_or_default(),
        editor: names.get(&article.updated_by).cloned().unwrap_or_default(),
        created_at: article.created_at,
        published_at: article.published_at,
        updated_at: article.updated_at,
        retired_at: article.retired_at,
        version: article.version,
        notify_version: article.notify_version,
        old: old_view,
        supervisor,
        versions: versions
            .into_iter()
            .map(|(v, editor)| VersionRow {
                current: v.version == article.version,
                title: title_in(page.tr.lang, &v.title_en, &v.title_zh),
                version: v.version,
                editor,
                at: v.edited_at,
                notify: v.notify,
            })
            .collect(),
        may_publish: supervisor && status.may_publish(),
        may_retire: supervisor && status.may_retire(),
        page: page.clone(),
    };
    page.render(&tpl)
}

// ---------------------------------------------------------------------------------
// Writing and editing.

/// A rule as the form's checkbox shows it.
pub struct RuleBox {
    pub code: String,
    pub name: String,
    pub ticked: bool,
}

#[derive(Template)]
#[template(path = "knowledge/form.html")]
struct FormPage {
    page: Page,
    /// The article being edited (none: a new one).
    editing: Option<i64>,
    action: String,
    version: i32,
    published: bool,
    notify: bool,
    title_en: String,
    title_zh: String,
    body_en: String,
    body_zh: String,
    rules: Vec<RuleBox>,
    source_case: String,
    problems: Vec<String>,
    title_max: usize,
    body_max: usize,
}

impl FormPage {
    fn new(page: &Page, snap: &Snapshot, input: &Submitted) -> FormPage {
        let mut rules: Vec<RuleBox> = snap
            .rules
            .values()
            .map(|r| RuleBox {
                code: r.code.clone(),
                name: r.name.clone(),
                ticked: input.rules.contains(&r.code),
            })
            .collect();
        // A linked rule the desk no longer has stays on the form, to be unticked.
        for code in &input.rules {
            if !rules.iter().any(|r| r.code == *code) {
                rules.push(RuleBox {
                    code: code.clone(),
                    name: String::new(),
                    ticked: true,
                });
            }
        }
        rules.sort_by(|a, b| a.code.cmp(&b.code));
        FormPage {
            editing: None,
            action: "/knowledge".into(),
            version: 1,
            published: false,
            notify: false,
            title_en: input.title_en.clone(),
            title_zh: input.title_zh.clone(),
            body_en: input.body_en.clone(),
            body_zh: input.body_zh.clone(),
            rules,
            source_case: String::new(),
            problems: Vec::new(),
            title_max: rules::TITLE_MAX,
            body_max: rules::BODY_MAX,
            page: page.clone(),
        }
    }
}

/// The form's fields, `rules` once per ticked box.
#[derive(Debug, Clone, Default)]
struct ArticleForm {
    input: Submitted,
    source_case: String,
    version: i32,
    notify: bool,
    publish: bool,
}

impl ArticleForm {
    fn parse(body: &[u8]) -> Result<ArticleForm, AppError> {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_bytes(body).map_err(|e| AppError::BadRequest(e.to_string()))?;
        let mut form = ArticleForm::default();
        for (k, v) in pairs {
            match k.as_str() {
                "title_en" => form.input.title_en = v,
                "title_zh" => form.input.title_zh = v,
                "body_en" => form.input.body_en = v,
                "body_zh" => form.input.body_zh = v,
                "rules" => form.input.rules.push(v),
                "source_case" => form.source_case = v.trim().to_string(),
                "version" => form.version = v.trim().parse().unwrap_or(0),
                "notify" => form.notify = !v.is_empty(),
                "publish" => form.publish = !v.is_empty(),
                _ => {}
            }
        }
        Ok(form)
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct NewQuery {
    /// Write "what we learned" from this resolved case.
    #[serde(default)]
    case: Option<String>,
    /// Start with this rule ticked.
    #[serde(default)]
    rule: Option<String>,
}

/// The problems of a refused article, in the reader's language.
fn problems_of(page: &Page, e: &KnowledgeError) -> Vec<String> {
    match e {
        KnowledgeError::Invalid(problems) => {
            problems.iter().map(|(_, p)| p.render(&page.tr)).collect()
        }
        KnowledgeError::CaseNotResolved => {
            vec![page.t("knowledge.error.case_not_resolved").to_string()]
        }
        KnowledgeError::NoSuchCase => vec![page.t("knowledge.error.no_such_case").to_string()],
        KnowledgeError::Conflict(v) => {
            vec![page.tf("knowledge.error.conflict", &[("version", &v.to_string())])]
        }
        KnowledgeError::Refused(key) => vec![page.t(key).to_string()],
        KnowledgeError::NotFound | KnowledgeError::Db(_) => Vec::new(),
    }
}

/// `GET /knowledge/new`: the form of a new article; `?case=RC-…` prefills "what we
/// learned" from a resolved case (an open one is refused), `?rule=` ticks a rule.
pub async fn new_form(
    Supervisor(user): Supervisor,
    state: web::Data<AppState>,
    page: Page,
    query: web::Query<NewQuery>,
) -> Result<HttpResponse, AppError> {
    let NewQuery { case, rule } = query.into_inner();
    let st = state.clone();
    let (snap, prefill) = db(&state, move |conn| {
        let snap = st.desk.get(conn)?;
        let prefill = match case.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
            None => None,
            Some(reference) => {
                let case = super::scope::visible_case(conn, &user, reference)?;
                Some((
                    case_ref(case.id),
                    knowledge::prefill_from_case(conn, &snap, &case),
                ))
            }
        };
        Ok((snap, prefill))
    })
    .await?;
    let mut input = Submitted::default();
    if let Some(code) = rule.filter(|c| snap.rules.contains_key(c)) {
        input.rules.push(code);
    }
    let mut problems = Vec::new();
    let mut source_case = String::new();
    match prefill {
        Some((reference, Ok(draft))) => {
            input = draft;
            source_case = reference;
        }
        Some((_, Err(e))) => match e {
            KnowledgeError::Db(e) => return Err(e.into()),
            e => problems = problems_of(&page, &e),
        },
        None => {}
    }
    let mut tpl = FormPage::new(&page, &snap, &input);
    tpl.source_case = source_case;
    let refused = !problems.is_empty();
    tpl.problems = problems;
    if refused {
        page.render_status(actix_web::http::StatusCode::UNPROCESSABLE_ENTITY, &tpl)
    } else {
        page.render(&tpl)
    }
}

/// `POST /knowledge`: writes the article as a draft, or published with `publish`;
/// each missing language and every other problem is named, and nothing is saved.
pub async fn create(
    Supervisor(user): Supervisor,
    state: web::Data<AppState>,
    page: Page,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let form = ArticleForm::parse(&body)?;
    let (now, actor) = (state.now(), user.actor());
    let st = state.clone();
    let f = form.clone();
    let (snap, result) = db(&state, move |conn| {
        let snap = st.desk.get(conn)?;
        let source = if f.source_case.is_empty() {
            None
        } else {
            match parse_case_ref(&f.source_case) {
                Some(id) => Some(id),
                None => return Ok((snap, Err(KnowledgeError::NoSuchCase))),
            }
        };
        let result = knowledge::create(conn, now, &actor, &snap, &f.input, source, f.publish);
        Ok((snap, result))
    })
    .await?;
    match result {
        Ok(a) => Ok(redirect_with_flash(
            &format!("/knowledge/{}", a.id),
            FlashKind::Success,
            if form.publish {
                tkey("knowledge.flash.published")
            } else {
                tkey("knowledge.flash.created")
            },
        )),
        Err(KnowledgeError::Db(e)) => Err(e.into()),
        Err(e) => {
            let mut tpl = FormPage::new(&page, &snap, &form.input);
            tpl.source_case = form.source_case.clone();
            tpl.problems = problems_of(&page, &e);
            page.render_status(actix_web::http::StatusCode::UNPROCESSABLE_ENTITY, &tpl)
        }
    }
}

/// `GET /knowledge/{id}/edit`: the article's form at its current version.
pub async fn edit_form(
    _: Supervisor,
    state: web::Data<AppState>,
    page: Page,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path.into_inner())?;
    let st = state.clone();
    let (snap, article, rules_of) = db(&state, move |conn| {
        let article = store::find(conn, id)?.ok_or(AppError::NotFound)?;
        let rules_of = store::rules_of(conn, id)?;
        Ok((st.desk.get(conn)?, article, rules_of))
    })
    .await?;
    let input = Submitted {
        title_en: article.title_en.clone(),
        title_zh: article.title_zh.clone(),
        body_en: article.body_en.clone(),
        body_zh: article.body_zh.clone(),
        rules: rules_of,
    };
    let mut tpl = FormPage::new(&page, &snap, &input);
    tpl.editing = Some(article.id);
    tpl.action = format!("/knowledge/{}", article.id);
    tpl.version = article.version;
    tpl.published = article.status() == Status::Published;
    tpl.source_case = article.source_case_id.map(case_ref).unwrap_or_default();
    page.render(&tpl)
}

/// `POST /knowledge/{id}`: saves an edit as a new version (with `notify`, new again
/// to every reader of a published article); refused, with the text kept, when it
/// is invalid or someone saved the article since the form was opened.
pub async fn update(
    Supervisor(user): Supervisor,
    state: web::Data<AppState>,
    page: Page,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path.into_inner())?;
    let form = ArticleForm::parse(&body)?;
    let (now, actor) = (state.now(), user.actor());
    let st = state.clone();
    let f = form.clone();
    let (snap, article, result) = db(&state, move |conn| {
        let snap = st.desk.get(conn)?;
        let result = knowledge::edit(conn, now, &actor, &snap, id, f.version, &f.input, f.notify);
        let article = store::find(conn, id)?.ok_or(AppError::NotFound)?;
        Ok((snap, article, result))
    })
    .await?;
    let back = format!("/knowledge/{id}");
    match result {
        Ok(Edited::Unchanged) => Ok(redirect_with_flash(
            &back,
            FlashKind::Success,
            tkey("knowledge.flash.unchanged"),
        )),
        Ok(Edited::Saved { notified, .. }) => Ok(redirect_with_flash(
            &back,
            FlashKind::Success,
            if notified {
                tkey("knowledge.flash.saved_notified")
            } else {
                tkey("knowledge.flash.saved")
            },
        )),
        Err(KnowledgeError::Db(e)) => Err(e.into()),
        Err(KnowledgeError::NotFound) => Err(AppError::NotFound),
        Err(e) => {
            let status = if matches!(e, KnowledgeError::Conflict(_)) {
                actix_web::http::StatusCode::CONFLICT
            } else {
                actix_web::http::StatusCode::UNPROCESSABLE_ENTITY
            };
            let mut tpl = FormPage::new(&page, &snap, &form.input);
            tpl.editing = Some(id);
            tpl.action = back;
            // Saved again, the form answers the version it was refused against, so
            // the writer sees the newer text before overwriting it.
            tpl.version = form.version;
            tpl.published = article.status() == Status::Published;
            tpl.notify = form.notify;
            tpl.source_case = article.source_case_id.map(case_ref).unwrap_or_default();
            tpl.problems = problems_of(&page, &e);
            page.render_status(status, &tpl)
        }
    }
}

/// `POST /knowledge/{id}/publish`: publishes a draft (or brings back a retired
/// article).
pub async fn publish(
    Supervisor(user): Supervisor,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path.into_inner())?;
    let (now, actor) = (state.now(), user.actor());
    let result = db(&state, move |conn| {
        Ok(knowledge::publish(conn, now, &actor, id))
    })
    .await?;
    step_answer(id, result, tkey("knowledge.flash.published"))
}

/// `POST /knowledge/{id}/retire`: retires an article.
pub async fn retire(
    Supervisor(user): Supervisor,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path.into_inner())?;
    let (now, actor) = (state.now(), user.actor());
    let result = db(&state, move |conn| {
        Ok(knowledge::retire(conn, now, &actor, id))
    })
    .await?;
    step_answer(id, result, tkey("knowledge.flash.retired"))
}

fn step_answer(
    id: i64,
    result: Result<Article, KnowledgeError>,
    done: &'static str,
) -> Result<HttpResponse, AppError> {
    let back = format!("/knowledge/{id}");
    match result {
        Ok(_) => Ok(redirect_with_flash(&back, FlashKind::Success, done)),
        Err(KnowledgeError::Refused(key)) => Ok(redirect_with_flash(&back, FlashKind::Error, key)),
        Err(e) => Err(db_error(e)),
    }
}

// ---------------------------------------------------------------------------------
// Who has read it.

#[derive(Debug, Default, Deserialize)]
pub struct ReadsQuery {
    /// Every active agent rather than those of the rules' queues.
    #[serde(default)]
    all: Option<String>,
}

/// Someone who has opened the article.
pub struct ReaderRow {
    pub name: String,
    pub email: String,
    pub role: String,
    pub version: i32,
    pub read_at: NaiveDateTime,
    /// They read the version that made it new (or a later one).
    pub current: bool,
}

/// An agent who has not read what is new in it.
pub struct NonReader {
    pub name: String,
    pub email: String,
    /// The older version they read, if any.
    pub read_version: Option<i32>,
}

#[derive(Template)]
#[template(path = "knowledge/reads.html")]
struct ReadsPage {
    page: Page,
    id: i64,
    title: String,
    status: String,
    notify_version: i32,
    readers: Vec<ReaderRow>,
    non_readers: Vec<NonReader>,
    audience: usize,
    audience_read: usize,
    /// The audience is the agents of the rules' queues (else every active agent).
    by_queues: bool,
    everyone: bool,
}

/// `GET /knowledge/{id}/reads`: who has read the article (and which version), and
/// which active agents — of the queues its rules route to, or all with `?all=1` —
/// have not read what is new in it, with counts.
pub async fn reads(
    _: Supervisor,
    state: web::Data<AppState>,
    page: Page,
    path: web::Path<String>,
    query: web::Query<ReadsQuery>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path.into_inner())?;
    let everyone = query.all.as_deref().is_some_and(|v| !v.is_empty());
    let st = state.clone();
    let (article, readers, audience, by_queues) = db(&state, move |conn| {
        let article = store::find(conn, id)?.ok_or(AppError::NotFound)?;
        let snap = st.desk.get(conn)?;
        let rules_of = store::rules_of(conn, id)?;
        let readers = store::readers(conn, id)?;
        let audience = knowledge::audience(conn, &snap, &rules_of, everyone)?;
        Ok((article, readers, audience.agents, audience.by_queues))
    })
    .await?;
    let read: HashMap<i64, i32> = readers.iter().map(|r| (r.user_id, r.version)).collect();
    let non_readers: Vec<NonReader> = audience
        .iter()
        .filter(|(uid, _, _)| read.get(uid).is_none_or(|v| *v < article.notify_version))
        .map(|(uid, name, email)| NonReader {
            name: name.clone(),
            email: email.clone(),
            read_version: read.get(uid).copied(),
        })
        .collect();
    let audience_read = audience.len() - non_readers.len();
    page.render(&ReadsPage {
        id,
        title: title_in(page.tr.lang, &article.title_en, &article.title_zh),
        status: article.status.clone(),
        notify_version: article.notify_version,
        readers: readers
            .into_iter()
            .map(|r| ReaderRow {
                current: r.version >= article.notify_version,
                name: r.name,
                email: r.email,
                role: r.role,
                version: r.version,
                read_at: r.read_at,
            })
            .collect(),
        non_readers,
        audience: audience.len(),
        audience_read,
        by_queues,
        everyone,
        page: page.clone(),
    })
}

/// The home page's banner of articles new to `user`, loaded by the caller's own
/// query closure (see `queues::render` and `board::render`).
pub fn banner(
    conn: &mut crate::db::DbConn,
    now: chrono::DateTime<chrono::Utc>,
    lang: Lang,
    user_id: i64,
) -> Result<NewArticles, AppError> {
    let rows = knowledge::new_for(conn, now, user_id, BANNER_SIZE + 1)?;
    Ok(NewArticles::of(lang, rows))
}
