// The knowledge base's commands: writing an article (perhaps from a resolved case),
// editing it (each edit a kept version, optionally new again to its readers),
// publishing and retiring it — each in one transaction with its audit event — and
// recording who read which version. Also the draft a resolved case prefills: its
// rule, its disposition and a masked summary of its closing.

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::accounts::{self, Actor};
use crate::db::DbConn;
use crate::domain::knowledge::{self, ArticleText, Problem, Status};
use crate::domain::{CaseStatus, Lang, masking};
use crate::i18n::{Tr, tkey};
use crate::store::cases::{self as case_store, Case, case_ref};
use crate::store::deskconfig::Snapshot;
use crate::store::knowledge::{self as store, Article, NewArticle};

/// Why an article was not written or changed; every variant but `Db` is the
/// writer's to read.
#[derive(Debug, thiserror::Error)]
pub enum KnowledgeError {
    /// The text was refused: each problem names its field.
    #[error("the article was refused")]
    Invalid(Vec<Problem>),
    #[error("no such article")]
    NotFound,
    /// Someone saved the article since the form was opened (at this version now).
    #[error("the article was saved by someone else meanwhile (now version {0})")]
    Conflict(i32),
    /// The article is not in a status the step applies to (the catalog key says).
    #[error("refused: {0}")]
    Refused(&'static str),
    /// A "what we learned" article names a case that is not resolved.
    #[error("the case is not resolved")]
    CaseNotResolved,
    #[error("no such case")]
    NoSuchCase,
    #[error("database error: {0}")]
    Db(#[from] diesel::result::Error),
}

/// An article as submitted by its writer, unchecked.
#[derive(Debug, Clone, Default)]
pub struct Submitted {
    pub title_en: String,
    pub title_zh: String,
    pub body_en: String,
    pub body_zh: String,
    pub rules: Vec<String>,
}

impl Submitted {
    fn check(&self, snap: &Snapshot) -> Result<ArticleText, KnowledgeError> {
        knowledge::check(
            &self.title_en,
            &self.title_zh,
            &self.body_en,
            &self.body_zh,
            &self.rules,
            |code| snap.rules.contains_key(code),
        )
        .map_err(KnowledgeError::Invalid)
    }
}

fn writer(actor: &Actor) -> i64 {
    actor.user_id.unwrap_or_default()
}

/// Writes a new article as a draft, or published at once with `publish`. With
/// `source_case`, it is written from that case, which must be resolved.
pub fn create(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    actor: &Actor,
    snap: &Snapshot,
    input: &Submitted,
    source_case: Option<i64>,
    publish: bool,
) -> Result<Article, KnowledgeError> {
    let text = input.check(snap)?;
    let search = knowledge::search_text(&text);
    let at = crate::store::to_db(now);
    let by = writer(actor);
    crate::db::write_tx(conn, |conn| {
        if let Some(id) = source_case {
            let case = case_store::find(conn, id)?.ok_or(KnowledgeError::NoSuchCase)?;
            if case.status != CaseStatus::Resolved {
                return Err(KnowledgeError::CaseNotResolved);
            }
        }
        let status = if publish {
            Status::Published
        } else {
            Status::Draft
        };
        let article = store::insert(
            conn,
            &NewArticle {
                text: &text,
                search_text: &search,
                status,
                source_case_id: source_case,
                author_id: by,
                at,
            },
        )?;
        store::set_rules(conn, article.id, &text.rules)?;
        store::insert_version(conn, article.id, 1, &text, false, by, at)?;
        let subject = article.id.to_string();
        accounts::record(
            conn,
            now,
            actor,
            "article.created",
            Some(&subject),
            json!({
                "article": article.id,
                "title": text.title_en,
                "rules": text.rules,
                "status": status.as_str(),
                "source_case": source_case.map(case_ref),
            }),
        )?;
        if publish {
            accounts::record(
                conn,
                now,
                actor,
                "article.published",
                Some(&subject),
                json!({"article": article.id, "version": 1}),
            )?;
            // Its writer knows what it says: it is not new to them.
            store::record_read(conn, by, article.id, 1, at)?;
        }
        Ok(article)
    })
}

/// What an edit did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edited {
    /// The text and rules were as they are: no version was kept.
    Unchanged,
    /// A new version, and whether it is new to readers again.
    Saved { version: i32, notified: bool },
}

/// Edits an article opened at version `from`: a new version with its editor and
/// time, kept beside the earlier ones. With `notify` on a published article, the new
/// version is new to every reader again (the sign-in banner shows it until they open
/// it). Refused when someone saved the article since `from`.
#[allow(clippy::too_many_arguments)]
pub fn edit(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    actor: &Actor,
    snap: &Snapshot,
    id: i64,
    from: i32,
    input: &Submitted,
    notify: bool,
) -> Result<Edited, KnowledgeError> {
    let text = input.check(snap)?;
    let search = knowledge::search_text(&text);
    let at = crate::store::to_db(now);
    let by = writer(actor);
    crate::db::write_tx(conn, |conn| {
        let article = store::find(conn, id)?.ok_or(KnowledgeError::NotFound)?;
        if article.version != from {
            return Err(KnowledgeError::Conflict(article.version));
        }
        let rules = store::rules_of(conn, id)?;
        if article.title_en == text.title_en
            && article.title_zh == text.title_zh
            && article.body_en == text.body_en
            && article.body_zh == text.body_zh
            && rules == text.rules
        {
            return Ok(Edited::Unchanged);
        }
        let notified = notify && article.status() == Status::Published;
        if !store::update_text(
            conn,
            id,
            from,
            &text,
            &search,
            by,
            at,
            notified.then_some(at),
        )? {
            return Err(KnowledgeError::Conflict(from + 1));
        }
        store::set_rules(conn, id, &text.rules)?;
        let version = from + 1;
        store::insert_version(conn, id, version, &text, notified, by, at)?;
        if notified {
            store::record_read(conn, by, id, version, at)?;
        }
        accounts::record(
            conn,
            now,
            actor,
            "article.edited",
            Some(&id.to_string()),
            json!({
                "article": id,
                "version": version,
                "notified": notified,
                "rules": text.rules,
                "title": text.title_en,
            }),
        )?;
        Ok(Edited::Saved { version, notified })
    })
}

/// Publishes a draft (or brings back a retired article): agents can read it, and it
/// is new to them for a week from now.
pub fn publish(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    actor: &Actor,
    id: i64,
) -> Result<Article, KnowledgeError> {
    let at = crate::store::to_db(now);
    crate::db::write_tx(conn, |conn| {
        let article = store::find(conn, id)?.ok_or(KnowledgeError::NotFound)?;
        let from = article.status();
        if !from.may_publish() {
            return Err(KnowledgeError::Refused(tkey(
                "knowledge.error.already_published",
            )));
        }
        if !store::publish(conn, id, from, writer(actor), at)? {
            return Err(KnowledgeError::Refused(tkey(
                "knowledge.error.changed_meanwhile",
            )));
        }
        if actor.user_id.is_some() {
            store::record_read(conn, writer(actor), id, article.version, at)?;
        }
        accounts::record(
            conn,
            now,
            actor,
            "article.published",
            Some(&id.to_string()),
            json!({"article": id, "version": article.version, "from": from.as_str()}),
        )?;
        store::find(conn, id)?.ok_or(KnowledgeError::NotFound)
    })
}

/// Retires an article: kept with its history and reads, no longer shown to agents.
pub fn retire(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    actor: &Actor,
    id: i64,
) -> Result<Article, KnowledgeError> {
    let at = crate::store::to_db(now);
    crate::db::write_tx(conn, |conn| {
        let article = store::find(conn, id)?.ok_or(KnowledgeError::NotFound)?;
        let from = article.status();
        if !from.may_retire() {
            return Err(KnowledgeError::Refused(tkey(
                "knowledge.error.already_retired",
            )));
        }
        if !store::retire(conn, id, from, writer(actor), at)? {
            return Err(KnowledgeError::Refused(tkey(
                "knowledge.error.changed_meanwhile",
            )));
        }
        accounts::record(
            conn,
            now,
            actor,
            "article.retired",
            Some(&id.to_string()),
            json!({"article": id, "version": article.version, "from": from.as_str()}),
        )?;
        store::find(conn, id)?.ok_or(KnowledgeError::NotFound)
    })
}

/// Records that `user_id` opened the published `article` in its current version (one
/// row per reader and article, moved on when they open a newer version). Reading
/// what is already recorded writes nothing.
pub fn record_read(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    user_id: i64,
    article: &Article,
) -> diesel::QueryResult<()> {
    if article.status() != Status::Published {
        return Ok(());
    }
    if store::read_version(conn, user_id, article.id)?.is_some_and(|v| v >= article.version) {
        return Ok(());
    }
    crate::db::write_tx(conn, |conn| {
        store::record_read(
            conn,
            user_id,
            article.id,
            article.version,
            crate::store::to_db(now),
        )
        .map(|_| ())
    })
}

/// The published articles new to `user_id` now: the sign-in banner's list.
pub fn new_for(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    user_id: i64,
    limit: i64,
) -> diesel::QueryResult<Vec<store::ArticleHead>> {
    let since = crate::store::to_db(now - chrono::Duration::days(knowledge::NEW_FOR_DAYS));
    store::new_for(conn, user_id, since, limit)
}

/// A "what we learned" draft prefilled from a resolved case: its rule, and in each
/// language a title and a body that quote the disposition, the action, the amount
/// protected and the closing's note, personal data masked.
pub fn prefill_from_case(
    conn: &mut DbConn,
    snap: &Snapshot,
    case: &Case,
) -> Result<Submitted, KnowledgeError> {
    if case.status != CaseStatus::Resolved {
        return Err(KnowledgeError::CaseNotResolved);
    }
    let closing = crate::cases::closing::history(conn, case.id)?
        .into_iter()
        .find(|r| r.state == "final" || r.state == "approved");
    let customer = case_store::customer(conn, case.customer_id)?;
    let mut known: Vec<(String, String)> = Vec::new();
    if let Some(n) = &customer.name {
        known.push((n.clone(), masking::name(n)));
    }
    if let Some(e) = &customer.email {
        known.push((e.clone(), masking::email(e)));
    }
    if let Some(p) = &customer.phone {
        known.push((p.clone(), masking::phone(p)));
    }
    known.push((
        customer.external_id.clone(),
        masking::other(&customer.external_id),
    ));
    let reference = case_ref(case.id);
    let rule = match snap.rules.get(&case.rule_code) {
        Some(r) => format!("{} — {}", r.code, r.name),
        None => case.rule_code.clone(),
    };
    let text = |lang: Lang| -> (String, String) {
        let tr = Tr::new(lang);
        let title = tr.tf("knowledge.learned.title", &[("case", &reference)]);
        let Some(c) = &closing else {
            return (
                title,
                tr.tf(
                    "knowledge.learned.body_without_closing",
                    &[("case", &reference), ("rule", &rule)],
                ),
            );
        };
        let label = |group: &str, code: &str| {
            tr.get(&format!("{group}.{code}"))
                .unwrap_or(code)
                .to_string()
        };
        let amount = match (&c.amount_protected, &c.currency) {
            (Some(a), Some(cur)) => tr.tf(
                "knowledge.learned.amount",
                &[("amount", &format!("{a} {cur}"))],
            ),
            (Some(a), None) => tr.tf("knowledge.learned.amount", &[("amount", a)]),
            _ => String::new(),
        };
        let note = knowledge::mask_free_text(&c.note, &known, knowledge::SUMMARY_NOTE_MAX);
        let body = tr.tf(
            "knowledge.learned.body",
            &[
                ("case", &reference),
                ("rule", &rule),
                ("disposition", &label("disposition", &c.disposition)),
                ("action", &label("action", &c.action)),
                ("amount", &amount),
                ("note", &note),
            ],
        );
        (title, body)
    };
    let (title_en, body_en) = text(Lang::En);
    let (title_zh, body_zh) = text(Lang::ZhCn);
    Ok(Submitted {
        title_en,
        title_zh,
        body_en,
        body_zh,
        rules: if snap.rules.contains_key(&case.rule_code) {
            vec![case.rule_code.clone()]
        } else {
            Vec::new()
        },
    })
}

/// Who should read an article, as the read report counts them.
pub struct Audience {
    /// Active agents: (id, name, e-mail), by name.
    pub agents: Vec<(i64, String, String)>,
    /// They are the agents of the queues the article's rules route to (else every
    /// active agent).
    pub by_queues: bool,
}

/// Who should read an article: the active agents of the queues its rules route to
/// (by rule or by the rule's category), or every active agent when `everyone`, when
/// it has no rule, or when no route of its rules names a queue with agents.
pub fn audience(
    conn: &mut DbConn,
    snap: &Snapshot,
    rules: &[String],
    everyone: bool,
) -> diesel::QueryResult<Audience> {
    let mut queue_ids: Vec<i64> = Vec::new();
    if !everyone {
        for code in rules {
            let category = snap.rules.get(code).map(|r| r.category.as_str());
            for route in &snap.routes {
                let names_rule = route.rule.as_deref() == Some(code.as_str());
                let names_category = route.rule.is_none()
                    && route.category.is_some()
                    && route.category.as_deref() == category;
                if (names_rule || names_category)
                    && let Some(q) = snap.queues_by_name.get(&route.queue)
                    && !queue_ids.contains(&q.id)
                {
                    queue_ids.push(q.id);
                }
            }
        }
    }
    if !queue_ids.is_empty() {
        let agents = store::agents_of_queues(conn, &queue_ids)?;
        if !agents.is_empty() {
            return Ok(Audience {
                agents,
                by_queues: true,
            });
        }
    }
    Ok(Audience {
        agents: crate::store::users::active_agents(conn)?,
        by_queues: false,
    })
}
