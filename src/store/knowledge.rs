// The knowledge base's tables: articles, the rules each is linked to, every version
// of each, and who has read which version. A search matches words as substrings of
// the articles' lower-cased `search_text` (an index answers it on PostgreSQL, see the
// migration); a rule's articles are read through `article_rules_rule`; the sign-in
// banner is one query over `articles_new` and the reader's own read rows.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{article_reads, article_rules, article_versions, articles, users};
use crate::domain::knowledge::{ArticleText, Status, like_pattern};

/// An article as pages show it (its search text left out).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = articles)]
pub struct Article {
    pub id: i64,
    pub status: String,
    pub title_en: String,
    pub title_zh: String,
    pub body_en: String,
    pub body_zh: String,
    pub version: i32,
    pub notify_version: i32,
    pub source_case_id: Option<i64>,
    pub author_id: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub updated_by: i64,
    pub published_at: Option<NaiveDateTime>,
    pub notified_at: Option<NaiveDateTime>,
    pub retired_at: Option<NaiveDateTime>,
}

impl Article {
    pub fn status(&self) -> Status {
        Status::parse(&self.status).unwrap_or(Status::Draft)
    }
}

/// An article's title and times: what lists of links show.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = articles)]
pub struct ArticleHead {
    pub id: i64,
    pub status: String,
    pub title_en: String,
    pub title_zh: String,
    pub published_at: Option<NaiveDateTime>,
    pub notified_at: Option<NaiveDateTime>,
    pub updated_at: NaiveDateTime,
}

/// One kept version of an article.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = article_versions)]
pub struct Version {
    pub version: i32,
    pub title_en: String,
    pub title_zh: String,
    pub body_en: String,
    pub body_zh: String,
    pub rules: String,
    pub notify: bool,
    pub edited_by: i64,
    pub edited_at: NaiveDateTime,
}

/// A new article's row.
pub struct NewArticle<'a> {
    pub text: &'a ArticleText,
    pub search_text: &'a str,
    pub status: Status,
    pub source_case_id: Option<i64>,
    pub author_id: i64,
    pub at: NaiveDateTime,
}

/// Writes a new article (version 1) and returns it.
pub fn insert(conn: &mut DbConn, new: &NewArticle<'_>) -> QueryResult<Article> {
    let published = (new.status == Status::Published).then_some(new.at);
    let id = diesel::insert_into(articles::table)
        .values((
            articles::status.eq(new.status.as_str()),
            articles::title_en.eq(&new.text.title_en),
            articles::title_zh.eq(&new.text.title_zh),
            articles::body_en.eq(&new.text.body_en),
            articles::body_zh.eq(&new.text.body_zh),
            articles::search_text.eq(new.search_text),
            articles::version.eq(1),
            articles::notify_version.eq(1),
            articles::source_case_id.eq(new.source_case_id),
            articles::author_id.eq(new.author_id),
            articles::created_at.eq(new.at),
            articles::updated_at.eq(new.at),
            articles::updated_by.eq(new.author_id),
            articles::published_at.eq(published),
            articles::notified_at.eq(published),
        ))
        .returning(articles::id)
        .get_result::<i64>(conn)?;
    articles::table
        .find(id)
        .select(Article::as_select())
        .first(conn)
}

/// Makes the article's rules `rules`.
pub fn set_rules(conn: &mut DbConn, article_id: i64, rules: &[String]) -> QueryResult<()> {
    diesel::delete(article_rules::table.filter(article_rules::article_id.eq(article_id)))
        .execute(conn)?;
    for rule in rules {
        diesel::insert_into(article_rules::table)
            .values((
                article_rules::article_id.eq(article_id),
                article_rules::rule_code.eq(rule),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Keeps a version of an article as written by `by` at `at`.
pub fn insert_version(
    conn: &mut DbConn,
    article_id: i64,
    version: i32,
    text: &ArticleText,
    notify: bool,
    by: i64,
    at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(article_versions::table)
        .values((
            article_versions::article_id.eq(article_id),
            article_versions::version.eq(version),
            article_versions::title_en.eq(&text.title_en),
            article_versions::title_zh.eq(&text.title_zh),
            article_versions::body_en.eq(&text.body_en),
            article_versions::body_zh.eq(&text.body_zh),
            article_versions::rules.eq(text.rules.join(",")),
            article_versions::notify.eq(notify),
            article_versions::edited_by.eq(by),
            article_versions::edited_at.eq(at),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Writes a new version's text over the article, if it is still at version `from`;
/// with `notify_at`, the new version is the one readers must read and it is new to
/// them from then. Returns whether the article was at `from`.
#[allow(clippy::too_many_arguments)]
pub fn update_text(
    conn: &mut DbConn,
    id: i64,
    from: i32,
    text: &ArticleText,
    search_text: &str,
    by: i64,
    at: NaiveDateTime,
    notify_at: Option<NaiveDateTime>,
) -> QueryResult<bool> {
    let target = articles::table
        .filter(articles::id.eq(id))
        .filter(articles::version.eq(from));
    let changed = diesel::update(target)
        .set((
            articles::title_en.eq(&text.title_en),
            articles::title_zh.eq(&text.title_zh),
            articles::body_en.eq(&text.body_en),
            articles::body_zh.eq(&text.body_zh),
            articles::search_text.eq(search_text),
            articles::version.eq(from + 1),
            articles::updated_at.eq(at),
            articles::updated_by.eq(by),
        ))
        .execute(conn)?;
    if changed == 1
        && let Some(n) = notify_at
    {
        diesel::update(articles::table.find(id))
            .set((
                articles::notify_version.eq(from + 1),
                articles::notified_at.eq(n),
            ))
            .execute(conn)?;
    }
    Ok(changed == 1)
}

/// Publishes the article if it is still in `from`: published (first publication
/// kept), new to its readers from `at` in its current version.
pub fn publish(
    conn: &mut DbConn,
    id: i64,
    from: Status,
    by: i64,
    at: NaiveDateTime,
) -> QueryResult<bool> {
    let target = articles::table
        .filter(articles::id.eq(id))
        .filter(articles::status.eq(from.as_str()));
    let changed = diesel::update(target)
        .set((
            articles::status.eq(Status::Published.as_str()),
            articles::notify_version.eq(articles::version),
            articles::notified_at.eq(at),
            articles::retired_at.eq(None::<NaiveDateTime>),
            articles::updated_at.eq(at),
            articles::updated_by.eq(by),
        ))
        .execute(conn)?;
    if changed == 1 {
        diesel::update(
            articles::table
                .find(id)
                .filter(articles::published_at.is_null()),
        )
        .set(articles::published_at.eq(at))
        .execute(conn)?;
    }
    Ok(changed == 1)
}

/// Retires the article if it is still in `from`.
pub fn retire(
    conn: &mut DbConn,
    id: i64,
    from: Status,
    by: i64,
    at: NaiveDateTime,
) -> QueryResult<bool> {
    let target = articles::table
        .filter(articles::id.eq(id))
        .filter(articles::status.eq(from.as_str()));
    Ok(diesel::update(target)
        .set((
            articles::status.eq(Status::Retired.as_str()),
            articles::retired_at.eq(at),
            articles::updated_at.eq(at),
            articles::updated_by.eq(by),
        ))
        .execute(conn)?
        == 1)
}

/// The articles of `ids`, in the order of `ids`.
pub fn by_ids(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<Article>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut rows: Vec<Article> = articles::table
        .filter(articles::id.eq_any(ids))
        .select(Article::as_select())
        .load(conn)?;
    rows.sort_by_key(|a| ids.iter().position(|id| *id == a.id));
    Ok(rows)
}

pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<Article>> {
    articles::table
        .find(id)
        .select(Article::as_select())
        .first(conn)
        .optional()
}

/// The article's rule codes, in order.
pub fn rules_of(conn: &mut DbConn, article_id: i64) -> QueryResult<Vec<String>> {
    article_rules::table
        .filter(article_rules::article_id.eq(article_id))
        .select(article_rules::rule_code)
        .order(article_rules::rule_code.asc())
        .load(conn)
}

/// The rule codes of each of `ids`: (article id, code), by article and code.
pub fn rules_of_many(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<(i64, String)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    article_rules::table
        .filter(article_rules::article_id.eq_any(ids))
        .select((article_rules::article_id, article_rules::rule_code))
        .order((
            article_rules::article_id.asc(),
            article_rules::rule_code.asc(),
        ))
        .load(conn)
}

/// Every version of the article, newest first, with its editor's name.
pub fn versions(conn: &mut DbConn, article_id: i64) -> QueryResult<Vec<(Version, String)>> {
    article_versions::table
        .inner_join(users::table.on(users::id.eq(article_versions::edited_by)))
        .filter(article_versions::article_id.eq(article_id))
        .select((Version::as_select(), users::name))
        .order(article_versions::version.desc())
        .load(conn)
}

/// One version of the article.
pub fn version(conn: &mut DbConn, article_id: i64, version: i32) -> QueryResult<Option<Version>> {
    article_versions::table
        .filter(article_versions::article_id.eq(article_id))
        .filter(article_versions::version.eq(version))
        .select(Version::as_select())
        .first(conn)
        .optional()
}

/// What a list of articles asks for.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Only articles in this status (agents: published).
    pub status: Option<Status>,
    /// Only articles linked to this rule.
    pub rule: Option<String>,
    /// Words each article must contain (normalized, see `domain::knowledge`).
    pub terms: Vec<String>,
    /// Articles after this one in the list's order: (updated at, id).
    pub after: Option<(NaiveDateTime, i64)>,
}

/// A page of articles matching `filter`, most recently changed first, and whether
/// there are more.
pub fn list(
    conn: &mut DbConn,
    filter: &ListFilter,
    limit: i64,
) -> QueryResult<(Vec<Article>, bool)> {
    let mut q = articles::table.select(Article::as_select()).into_boxed();
    if let Some(status) = filter.status {
        q = q.filter(articles::status.eq(status.as_str()));
    }
    for term in &filter.terms {
        q = q.filter(articles::search_text.like(like_pattern(term)).escape('\\'));
    }
    if let Some(rule) = &filter.rule {
        q = q.filter(
            articles::id.eq_any(
                article_rules::table
                    .filter(article_rules::rule_code.eq(rule.clone()))
                    .select(article_rules::article_id),
            ),
        );
    }
    if let Some((at, id)) = filter.after {
        q = q.filter(
            articles::updated_at
                .lt(at)
                .or(articles::updated_at.eq(at).and(articles::id.lt(id))),
        );
    }
    let mut rows: Vec<Article> = q
        .order((articles::updated_at.desc(), articles::id.desc()))
        .limit(limit + 1)
        .load(conn)?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    Ok((rows, more))
}

/// The rule's published articles, newest publication first, at most `limit` (and
/// whether there are more).
pub fn published_of_rule(
    conn: &mut DbConn,
    rule: &str,
    limit: i64,
) -> QueryResult<(Vec<ArticleHead>, bool)> {
    let mut rows: Vec<ArticleHead> = articles::table
        .inner_join(article_rules::table)
        .filter(article_rules::rule_code.eq(rule))
        .filter(articles::status.eq(Status::Published.as_str()))
        .select(ArticleHead::as_select())
        .order((articles::published_at.desc(), articles::id.desc()))
        .limit(limit + 1)
        .load(conn)?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    Ok((rows, more))
}

/// The articles written from a case, oldest first; only published ones unless
/// `every_status`.
pub fn from_case(
    conn: &mut DbConn,
    case_id: i64,
    every_status: bool,
) -> QueryResult<Vec<ArticleHead>> {
    let mut q = articles::table
        .filter(articles::source_case_id.eq(case_id))
        .select(ArticleHead::as_select())
        .order(articles::id.asc())
        .into_boxed();
    if !every_status {
        q = q.filter(articles::status.eq(Status::Published.as_str()));
    }
    q.load(conn)
}

/// The published articles new to `user_id`: published (or re-notified) since `since`
/// and not read in the version that made them new; newest first, at most `limit`.
/// One query: a range of `articles_new` and the reader's row of each by its key.
pub fn new_for(
    conn: &mut DbConn,
    user_id: i64,
    since: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<ArticleHead>> {
    articles::table
        .left_join(
            article_reads::table.on(article_reads::article_id
                .eq(articles::id)
                .and(article_reads::user_id.eq(user_id))),
        )
        .filter(articles::status.eq(Status::Published.as_str()))
        .filter(articles::notified_at.ge(since))
        .filter(
            article_reads::version
                .is_null()
                .or(article_reads::version.lt(articles::notify_version)),
        )
        .select(ArticleHead::as_select())
        .order((articles::notified_at.desc(), articles::id.desc()))
        .limit(limit)
        .load(conn)
}

/// The version of the article `user_id` last read, if any.
pub fn read_version(conn: &mut DbConn, user_id: i64, article_id: i64) -> QueryResult<Option<i32>> {
    article_reads::table
        .find((user_id, article_id))
        .select(article_reads::version)
        .first(conn)
        .optional()
}

/// The versions `user_id` has read of each of `ids` they have opened.
pub fn read_versions(
    conn: &mut DbConn,
    user_id: i64,
    ids: &[i64],
) -> QueryResult<std::collections::HashMap<i64, i32>> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    Ok(article_reads::table
        .filter(article_reads::user_id.eq(user_id))
        .filter(article_reads::article_id.eq_any(ids))
        .select((article_reads::article_id, article_reads::version))
        .load(conn)?
        .into_iter()
        .collect())
}

/// Records that `user_id` read `version` of the article at `at`: a first read, or a
/// newer version than the one they had read. Returns whether a row changed.
pub fn record_read(
    conn: &mut DbConn,
    user_id: i64,
    article_id: i64,
    version: i32,
    at: NaiveDateTime,
) -> QueryResult<bool> {
    let updated = diesel::update(
        article_reads::table
            .find((user_id, article_id))
            .filter(article_reads::version.lt(version)),
    )
    .set((
        article_reads::version.eq(version),
        article_reads::read_at.eq(at),
    ))
    .execute(conn)?;
    if updated > 0 {
        return Ok(true);
    }
    // A first read; the same reader opening it twice at once records it once.
    let inserted = crate::dispatch!(conn, |c| diesel::insert_into(article_reads::table)
        .values((
            article_reads::user_id.eq(user_id),
            article_reads::article_id.eq(article_id),
            article_reads::version.eq(version),
            article_reads::read_at.eq(at),
        ))
        .on_conflict((article_reads::user_id, article_reads::article_id))
        .do_nothing()
        .execute(c))?;
    Ok(inserted > 0)
}

/// Someone who read an article: user id, name, e-mail, role, whether active, the
/// version read and when.
#[derive(Debug, Clone, Queryable)]
pub struct Reader {
    pub user_id: i64,
    pub name: String,
    pub email: String,
    pub role: String,
    pub active: bool,
    pub version: i32,
    pub read_at: NaiveDateTime,
}

/// Everyone who has read the article, the latest reader first.
pub fn readers(conn: &mut DbConn, article_id: i64) -> QueryResult<Vec<Reader>> {
    article_reads::table
        .inner_join(users::table)
        .filter(article_reads::article_id.eq(article_id))
        .select((
            users::id,
            users::name,
            users::email,
            users::role,
            users::active,
            article_reads::version,
            article_reads::read_at,
        ))
        .order((article_reads::read_at.desc(), users::id.asc()))
        .load(conn)
}

/// The active agents who are members of any of `queue_ids`: (id, name, e-mail), by
/// name.
pub fn agents_of_queues(
    conn: &mut DbConn,
    queue_ids: &[i64],
) -> QueryResult<Vec<(i64, String, String)>> {
    use crate::db::schema::queue_members;
    if queue_ids.is_empty() {
        return Ok(Vec::new());
    }
    users::table
        .filter(users::active.eq(true))
        .filter(users::role.eq("agent"))
        .filter(
            users::id.eq_any(
                queue_members::table
                    .filter(queue_members::queue_id.eq_any(queue_ids.to_vec()))
                    .select(queue_members::user_id),
            ),
        )
        .select((users::id, users::name, users::email))
        .order((users::name.asc(), users::id.asc()))
        .load(conn)
}

/// The names of users by id.
pub fn names_of(
    conn: &mut DbConn,
    ids: &[i64],
) -> QueryResult<std::collections::HashMap<i64, String>> {
    Ok(users::table
        .filter(users::id.eq_any(ids))
        .select((users::id, users::name))
        .load(conn)?
        .into_iter()
        .collect())
}
