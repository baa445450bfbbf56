// The agent's workspace lists: "My cases", one list per queue, "Waiting on customer"
// and "At risk", in SLA-urgency order with filters and keyset pages; the list body
// is also served alone as a fragment that the page refreshes in place.

use std::sync::Arc;

use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

use super::{CurrentUser, Page, db_quick};
use crate::domain::CaseStatus;
use crate::domain::{masking, worklist};
use crate::error::AppError;
use crate::state::AppState;
use crate::state::session_cache::Lists;
use crate::store::deskconfig::Snapshot;
use crate::store::worklist::{self as list, Cursor, Filter, Scope, View};
use crate::store::{self, cases::case_ref};

/// Rows per page unless `limit` asks for another number (10 to 100).
pub const PAGE_SIZE: i64 = 50;
/// A case is at risk when its next deadline is this close or already passed.
pub const AT_RISK_WINDOW_MINUTES: i64 = 60;
/// How often the page fetches a fresh list body, in seconds.
pub const REFRESH_SECONDS: u32 = 12;

/// The statuses an open case may have, the values the status filter takes.
pub const OPEN_STATUSES: [&str; 4] = [
    CaseStatus::New.as_str(),
    CaseStatus::Assigned.as_str(),
    CaseStatus::InProgress.as_str(),
    CaseStatus::PendingApproval.as_str(),
];
const PRIORITIES: [&str; 4] = ["critical", "high", "medium", "low"];

/// The query string of `/queues` and `/queues/fragment` (and of `/` for agents).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListQuery {
    pub view: Option<String>,
    pub queue: Option<String>,
    pub rule: Option<String>,
    pub priority: Option<String>,
    pub status: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<String>,
}

fn non_empty(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
}

/// A field of the query that was not understood: (field key, value).
pub(super) struct BadParam(pub(super) &'static str, pub(super) String);

impl BadParam {
    /// The message naming the field and the value, in the reader's language.
    pub(super) fn message(&self, page: &Page) -> String {
        page.tf(
            "queues.bad_param",
            &[
                ("field", page.t(&format!("queues.param_{}", self.0))),
                ("value", &self.1),
            ],
        )
    }
}

/// The parsed, checked query.
pub(super) struct Request {
    pub(super) view: View,
    view_name: &'static str,
    queue_name: Option<String>,
    pub(super) filter: Filter,
    cursor: Option<Cursor>,
    limit: i64,
}

impl Request {
    /// The query string that shows this list again (without the cursor unless asked).
    pub(super) fn query(&self, cursor: Option<&str>) -> String {
        let mut pairs: Vec<(&str, String)> = vec![("view", self.view_name.to_string())];
        if let Some(q) = &self.queue_name {
            pairs.push(("queue", q.clone()));
        }
        for (k, v) in [
            ("rule", &self.filter.rule),
            ("priority", &self.filter.priority),
            ("status", &self.filter.status),
        ] {
            if let Some(v) = v {
                pairs.push((k, v.clone()));
            }
        }
        if self.limit != PAGE_SIZE {
            pairs.push(("limit", self.limit.to_string()));
        }
        if let Some(c) = cursor {
            pairs.push(("cursor", c.to_string()));
        }
        serde_urlencoded::to_string(&pairs).unwrap_or_default()
    }
}

/// Checks the query against the desk: unknown values are named; a queue the user may
/// not see is "not found". Saved views and "select all matching" go through it too,
/// so they hold and act on exactly the filters the list understands.
pub(super) fn parse(
    q: &ListQuery,
    snap: &Snapshot,
    scope: &Scope,
    default_view: &'static str,
) -> Result<Result<Request, BadParam>, AppError> {
    let view_name = non_empty(&q.view).unwrap_or_else(|| default_view.to_string());
    let (view, view_name, queue_name) = match view_name.as_str() {
        "mine" => (View::Mine, "mine", None),
        "waiting" => (View::Waiting, "waiting", None),
        "at_risk" => (View::AtRisk, "at_risk", None),
        "queue" => {
            let name = non_empty(&q.queue).ok_or(AppError::NotFound)?;
            let info = snap.queues_by_name.get(&name).ok_or(AppError::NotFound)?;
            if !scope.everything && !scope.queue_ids.contains(&info.id) {
                return Err(AppError::NotFound);
            }
            (View::Queue(info.id), "queue", Some(name))
        }
        _ => return Ok(Err(BadParam("view", view_name))),
    };
    let rule = non_empty(&q.rule);
    if let Some(r) = &rule
        && !snap.rules.contains_key(r)
    {
        return Ok(Err(BadParam("rule", r.clone())));
    }
    let priority = non_empty(&q.priority);
    if let Some(p) = &priority
        && !PRIORITIES.contains(&p.as_str())
    {
        return Ok(Err(BadParam("priority", p.clone())));
    }
    let status = non_empty(&q.status);
    if let Some(s) = &status
        && !OPEN_STATUSES.contains(&s.as_str())
    {
        return Ok(Err(BadParam("status", s.clone())));
    }
    let cursor = match non_empty(&q.cursor) {
        Some(c) => match Cursor::parse(&c) {
            Some(c) => Some(c),
            None => return Ok(Err(BadParam("cursor", c))),
        },
        None => None,
    };
    let limit = match non_empty(&q.limit) {
        Some(l) => match l.parse::<i64>() {
            Ok(n) if (10..=100).contains(&n) => n,
            _ => return Ok(Err(BadParam("limit", l))),
        },
        None => PAGE_SIZE,
    };
    Ok(Ok(Request {
        view,
        view_name,
        queue_name,
        filter: Filter {
            rule,
            priority,
            status,
        },
        cursor,
        limit,
    }))
}

/// One row as the list shows it: personal data masked, the SLA share computed.
pub struct ListRow {
    pub reference: String,
    pub rule: String,
    pub priority: String,
    pub status: String,
    pub queue: String,
    pub customer: String,
    pub assignee: Option<String>,
    pub mine: bool,
    /// The next deadline, RFC 3339 in UTC, for the ticking countdown.
    pub due: String,
    pub countdown: String,
    pub paused: bool,
    pub colour: &'static str,
    /// "80% of the SLA target used", in the reader's language.
    pub share: String,
}

/// A view's tab.
pub struct Tab {
    pub label: String,
    pub href: String,
    pub current: bool,
}

/// What the bulk form offers a supervisor beside the desk's queues.
struct BulkChoices {
    /// Active agents: (id, name, e-mail).
    agents: Vec<(i64, String, String)>,
}

/// What the list needs, read in one go.
struct Loaded {
    snap: Arc<Snapshot>,
    scope: Scope,
    parsed: Result<Request, BadParam>,
    page: list::Page,
    /// How many cases the list holds over all its pages (for supervisors).
    matching: Option<i64>,
    views: Vec<(crate::saved_views::SavedView, String)>,
    bulk: Option<BulkChoices>,
    /// On an agent's home page: the articles new to them.
    new_articles: super::knowledge::NewArticles,
}

/// The default list of a role: agents start on their own cases, supervisors and
/// admins on the cases at risk.
pub(super) fn default_view(user: &CurrentUser) -> &'static str {
    if user.role.is_supervisor_or_admin() {
        "at_risk"
    } else {
        "mine"
    }
}

/// Whose cases `user` may see in lists.
pub(super) fn scope_of(
    conn: &mut crate::db::DbConn,
    user: &CurrentUser,
) -> Result<Scope, AppError> {
    Ok(Scope {
        user_id: user.user.id,
        everything: user.role.is_supervisor_or_admin(),
        queue_ids: member_queues(conn, user)?,
    })
}

/// The queues whose cases `user` sees as a member (none to list for a supervisor or
/// an admin, who see every case).
fn member_queues(conn: &mut crate::db::DbConn, user: &CurrentUser) -> Result<Vec<i64>, AppError> {
    if user.role.is_supervisor_or_admin() {
        Ok(Vec::new())
    } else {
        Ok(crate::store::users::queue_ids_of(conn, user.user.id)?)
    }
}

/// The queues and saved views of `user`'s lists, as this instance read them less
/// than `--session-cache-seconds` ago or afresh. For lists only: an action checks
/// membership with [`scope_of`].
fn lists_of(
    state: &AppState,
    conn: &mut crate::db::DbConn,
    user: &CurrentUser,
    now: DateTime<Utc>,
) -> Result<Lists, AppError> {
    let key = user.user.id.to_string();
    if let Some(lists) = state.lists_cache.get(&key, now) {
        return Ok(lists);
    }
    let lists = Lists {
        queue_ids: member_queues(conn, user)?,
        views: crate::saved_views::visible_to(conn, user.user.id)?,
    };
    state.lists_cache.put(key, lists.clone(), now);
    Ok(lists)
}

/// The upper bound of the at-risk view's deadlines at `now`.
pub(super) fn at_risk_until(now: DateTime<Utc>) -> chrono::NaiveDateTime {
    store::to_db(now + Duration::minutes(AT_RISK_WINDOW_MINUTES))
}

/// Reads the list; `with_extras` (the full page, not the fragment) also reads the
/// saved views and, for supervisors, what the bulk form offers.
async fn load(
    state: &web::Data<AppState>,
    user: &CurrentUser,
    q: ListQuery,
    default_view: &'static str,
    with_extras: bool,
    banner: Option<crate::domain::Lang>,
) -> Result<Loaded, AppError> {
    let now = state.now();
    let (st, u) = (state.clone(), user.clone());
    db_quick(state, move |conn| {
        let snap = st.desk.get(conn)?;
        let lists = lists_of(&st, conn, &u, now)?;
        let scope = Scope {
            user_id: u.user.id,
            everything: u.role.is_supervisor_or_admin(),
            queue_ids: lists.queue_ids,
        };
        let parsed = parse(&q, &snap, &scope, default_view)?;
        let (page, matching) = match &parsed {
            Ok(r) => {
                let until = at_risk_until(now);
                let page = list::page(conn, r.view, &scope, &r.filter, r.cursor, r.limit, until)?;
                // Supervisors may act on every case of the list at once: they are
                // told how many that is, or that it is more than a bulk action takes
                // (counted no further, whatever the backlog).
                let matching = if with_extras && scope.everything {
                    let cap = crate::cases::bulk::MAX_CASES as i64 + 1;
                    Some(list::count_up_to(
                        conn, r.view, &scope, &r.filter, until, cap,
                    )?)
                } else {
                    None
                };
                (page, matching)
            }
            Err(_) => (
                list::Page {
                    rows: Vec::new(),
                    next: None,
                },
                None,
            ),
        };
        let (views, bulk) = if with_extras {
            let views = lists.views;
            let bulk = if scope.everything {
                Some(BulkChoices {
                    agents: crate::store::users::active_agents(conn)?,
                })
            } else {
                None
            };
            (views, bulk)
        } else {
            (Vec::new(), None)
        };
        // The home page's banner of new articles: one indexed query.
        let new_articles = match banner {
            Some(lang) => super::knowledge::banner(conn, now, lang, u.user.id)?,
            None => Default::default(),
        };
        Ok(Loaded {
            snap,
            scope,
            parsed,
            page,
            matching,
            views,
            bulk,
            new_articles,
        })
    })
    .await
}

fn rows(l: &Loaded, page: &Page, user_id: i64, now: DateTime<Utc>) -> Vec<ListRow> {
    l.page
        .rows
        .iter()
        .map(|r| {
            let due = r.next_due.map(store::from_db);
            let paused = r.paused_since.map(store::from_db);
            let share = due.map_or(0, |d| {
                worklist::share_used(store::from_db(r.opened_at), d, now, paused)
            });
            let customer = [
                r.customer_name.as_deref().map(masking::name),
                r.customer_phone.as_deref().map(masking::phone),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" · ");
            ListRow {
                reference: case_ref(r.id),
                rule: r.rule_code.clone(),
                priority: r.priority.clone(),
                status: r.status.clone(),
                queue: r.queue.clone(),
                customer,
                assignee: r.assignee.clone(),
                mine: r.assignee_id == Some(user_id),
                due: due
                    .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                    .unwrap_or_default(),
                countdown: due
                    .map(|d| worklist::countdown(d, paused.unwrap_or(now)))
                    .unwrap_or_default(),
                paused: paused.is_some(),
                colour: worklist::colour(share, r.breached).css(),
                share: page.tf(
                    "queues.share_used",
                    &[("percent", &(share / 10).to_string())],
                ),
            }
        })
        .collect()
}

/// The list body: the table and the page links. Served alone as the fragment.
#[derive(Template)]
#[template(path = "queues/rows.html")]
struct Rows {
    page: Page,
    rows: Vec<ListRow>,
    /// Supervisors get a checkbox per row for bulk work.
    selectable: bool,
    next_href: Option<String>,
    first_href: Option<String>,
    /// The server's time as the list was read: countdowns tick from it, whatever the
    /// viewer's own clock says.
    now: String,
}

#[derive(Template)]
#[template(path = "queues/index.html")]
struct Index {
    page: Page,
    greeting: Option<String>,
    new_articles: super::knowledge::NewArticles,
    tabs: Vec<Tab>,
    action: String,
    view: String,
    queue: Option<String>,
    rule: String,
    priority: String,
    status: String,
    rules: Vec<String>,
    priorities: [&'static str; 4],
    statuses: [&'static str; 4],
    problem: Option<String>,
    fragment_url: String,
    refresh_seconds: u32,
    is_agent: bool,
    rows: Vec<ListRow>,
    selectable: bool,
    next_href: Option<String>,
    first_href: Option<String>,
    now: String,
    /// The list's query as a saved view holds it (empty while it has a problem).
    save_query: String,
    views: Vec<super::views::ViewLink>,
    bulk: Option<BulkForm>,
}

/// The bulk form under a supervisor's list.
struct BulkForm {
    agents: Vec<(i64, String, String)>,
    queues: Vec<String>,
    actions: Vec<&'static str>,
    /// "Select all N matching": the count and whether it is within the limit.
    matching: i64,
    within_limit: bool,
    limit_note: String,
    select_all_label: String,
}

fn tabs(l: &Loaded, page: &Page, base: &str) -> Vec<Tab> {
    let current = l.parsed.as_ref().ok();
    let is = |v: View| current.is_some_and(|r| r.view == v);
    let mut tabs = vec![Tab {
        label: page.t("queues.view_mine").to_string(),
        href: format!("{base}?view=mine"),
        current: is(View::Mine),
    }];
    let mut queues: Vec<_> = l
        .snap
        .queues_by_id
        .values()
        .filter(|q| l.scope.everything || l.scope.queue_ids.contains(&q.id))
        .collect();
    queues.sort_by(|a, b| a.name.cmp(&b.name));
    for q in queues {
        tabs.push(Tab {
            label: q.name.clone(),
            href: format!(
                "{base}?{}",
                serde_urlencoded::to_string([("view", "queue"), ("queue", q.name.as_str())])
                    .unwrap_or_default()
            ),
            current: is(View::Queue(q.id)),
        });
    }
    tabs.push(Tab {
        label: page.t("queues.view_waiting").to_string(),
        href: format!("{base}?view=waiting"),
        current: is(View::Waiting),
    });
    tabs.push(Tab {
        label: page.t("queues.view_at_risk").to_string(),
        href: format!("{base}?view=at_risk"),
        current: is(View::AtRisk),
    });
    tabs
}

fn body(l: &Loaded, page: &Page, user_id: i64, now: DateTime<Utc>, base: &str) -> Rows {
    let (next_href, first_href) = match &l.parsed {
        Ok(r) => (
            l.page
                .next
                .map(|c| format!("{base}?{}", r.query(Some(&c.encode())))),
            r.cursor.map(|_| format!("{base}?{}", r.query(None))),
        ),
        Err(_) => (None, None),
    };
    Rows {
        page: page.clone(),
        rows: rows(l, page, user_id, now),
        selectable: l.scope.everything,
        next_href,
        first_href,
        now: now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    }
}

/// Renders the full page of a list at `base` (`/queues`, or `/` for an agent's home).
pub async fn render(
    state: web::Data<AppState>,
    page: Page,
    user: CurrentUser,
    q: ListQuery,
    base: &str,
    greeting: Option<String>,
) -> Result<HttpResponse, AppError> {
    let default_view = default_view(&user);
    // The agent's home (the list with a greeting) shows the articles new to them.
    let banner = greeting.is_some().then_some(page.tr.lang);
    let mut l = load(&state, &user, q.clone(), default_view, true, banner).await?;
    let new_articles = std::mem::take(&mut l.new_articles);
    let now = state.now();
    let problem = match &l.parsed {
        Err(bad) => Some(bad.message(&page)),
        Ok(_) => None,
    };
    let (view, queue, fragment_url) = match &l.parsed {
        Ok(r) => (
            r.view_name.to_string(),
            r.queue_name.clone(),
            format!(
                "/queues/fragment?{}",
                r.query(r.cursor.map(|c| c.encode()).as_deref())
            ),
        ),
        Err(_) => (default_view.to_string(), None, String::new()),
    };
    let filter = l
        .parsed
        .as_ref()
        .map(|r| r.filter.clone())
        .unwrap_or_default();
    let mut rules: Vec<String> = l.snap.rules.keys().cloned().collect();
    rules.sort();
    let status = if problem.is_some() {
        actix_web::http::StatusCode::BAD_REQUEST
    } else {
        actix_web::http::StatusCode::OK
    };
    let body = body(&l, &page, user.user.id, now, base);
    let save_query = l.parsed.as_ref().map(|r| r.query(None)).unwrap_or_default();
    let views = super::views::links(&l.views, user.user.id);
    let bulk = l.bulk.as_ref().map(|b| {
        let mut queues: Vec<String> = l.snap.queues_by_name.keys().cloned().collect();
        queues.sort();
        let matching = l.matching.unwrap_or(0);
        let max = crate::cases::bulk::MAX_CASES.to_string();
        BulkForm {
            agents: b.agents.clone(),
            queues,
            actions: crate::domain::resolution::Action::ALL
                .iter()
                .map(|a| a.as_str())
                .collect(),
            matching,
            within_limit: matching <= crate::cases::bulk::MAX_CASES as i64,
            limit_note: page.tf("bulk.limit_note", &[("max", &max)]),
            select_all_label: page.tf(
                "bulk.select_all",
                &[("count", &matching.to_string()), ("max", &max)],
            ),
        }
    });
    let tpl = Index {
        greeting,
        new_articles,
        tabs: tabs(&l, &page, base),
        action: base.to_string(),
        view,
        queue,
        rule: filter.rule.unwrap_or_default(),
        priority: filter.priority.unwrap_or_default(),
        status: filter.status.unwrap_or_default(),
        rules,
        priorities: PRIORITIES,
        statuses: OPEN_STATUSES,
        problem,
        fragment_url,
        refresh_seconds: REFRESH_SECONDS,
        is_agent: !user.role.is_supervisor_or_admin(),
        rows: body.rows,
        selectable: body.selectable,
        next_href: body.next_href,
        first_href: body.first_href,
        now: body.now,
        save_query,
        views,
        bulk,
        page: page.clone(),
    };
    page.render_status(status, &tpl)
}

/// `GET /queues`: the lists.
pub async fn index(
    user: CurrentUser,
    state: web::Data<AppState>,
    page: Page,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    render(state, page, user, q.into_inner(), "/queues", None).await
}

/// `GET /queues/fragment`: only the list body of the same query, for the page's
/// refresh. Links in it lead to `/queues` pages.
pub async fn fragment(
    user: CurrentUser,
    state: web::Data<AppState>,
    page: Page,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let default_view = default_view(&user);
    let l = load(&state, &user, q.into_inner(), default_view, false, None).await?;
    if let Err(BadParam(field, value)) = &l.parsed {
        return Err(AppError::BadRequest(format!(
            "{field} '{value}' is not known"
        )));
    }
    let rows = body(&l, &page, user.user.id, state.now(), "/queues");
    page.render(&rows)
}
