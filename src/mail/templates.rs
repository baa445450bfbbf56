// Response templates: a subject and a body per language with `{placeholder}`s,
// edited by supervisors; unknown placeholders are refused when a template is saved.
// Reply templates are scoped by rule and case state; every save of any template is
// kept as a numbered version (both languages and the scope), and an old version is
// restored as a new one.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{mail_template_scopes, mail_template_versions, mail_templates};
use crate::domain::FieldProblem;
use crate::domain::replies::{self, Scope};
use crate::i18n::tkey;
use crate::store;

pub use super::replies::{
    Channel, Reader, Rendered, Suggestion, Suggestions, draft_for_case, render_edited,
    render_for_case, render_text, suggest,
};

/// The placeholders a template may use.
pub const PLACEHOLDERS: [&str; 7] = [
    "customer_name",
    "case_ref",
    "amount",
    "masked_account",
    "deadline",
    "link",
    "agent_name",
];

/// The languages every template is written in.
pub const LANGS: [&str; 2] = ["en", "zh-CN"];

/// What a template is for: the verification e-mail, the satisfaction survey, or a
/// reply an agent sends from a case (other parts of the desk may seed templates of
/// their own purposes).
pub const VERIFICATION: &str = "verification";
pub const SURVEY: &str = "survey";
pub const REPLY: &str = "reply";
/// The purposes of the templates a supervisor may add (the survey is one template).
pub const NEW_PURPOSES: [&str; 2] = [REPLY, VERIFICATION];

/// The longest subject, body and name kept, in characters.
pub const MAX_SUBJECT: usize = 200;
pub const MAX_BODY: usize = 10_000;
pub const MAX_NAME: usize = 64;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = mail_templates)]
pub struct MailTemplate {
    pub id: i64,
    pub name: String,
    pub purpose: String,
    pub lang: String,
    pub subject: String,
    pub body: String,
    pub updated_at: chrono::NaiveDateTime,
    pub updated_by: Option<i64>,
}

/// The names inside `{…}` in `text`, in order of appearance.
pub fn placeholders_in(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find('{') {
        rest = &rest[i + 1..];
        if let Some(end) = rest.find('}') {
            let name = &rest[..end];
            if !name.contains('{') {
                out.push(name.to_string());
                rest = &rest[end + 1..];
            }
        }
    }
    out
}

/// The placeholders of `text` that are not known, each once.
pub fn unknown_placeholders(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in placeholders_in(text) {
        if !PLACEHOLDERS.contains(&p.as_str()) && !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

/// `text` with each placeholder of `values` replaced by its value, in one pass: a
/// value that holds a `{placeholder}` itself (a customer's name, say) stays as it is.
pub fn fill(text: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let value = after.find('}').and_then(|end| {
            let name = &after[..end];
            values
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v, end))
        });
        match value {
            Some((v, end)) => {
                out.push_str(v);
                rest = &after[end + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Every template, by name then language.
pub fn all(conn: &mut DbConn) -> QueryResult<Vec<MailTemplate>> {
    mail_templates::table
        .select(MailTemplate::as_select())
        .order((mail_templates::name.asc(), mail_templates::lang.asc()))
        .load(conn)
}

/// The languages of the template `name`.
pub fn by_name(conn: &mut DbConn, name: &str) -> QueryResult<Vec<MailTemplate>> {
    mail_templates::table
        .filter(mail_templates::name.eq(name))
        .select(MailTemplate::as_select())
        .order(mail_templates::lang.asc())
        .load(conn)
}

/// The template `name` in `lang`, else in English.
pub fn pick(conn: &mut DbConn, name: &str, lang: &str) -> QueryResult<Option<MailTemplate>> {
    let all = by_name(conn, name)?;
    let exact = all.iter().find(|t| t.lang == lang).cloned();
    Ok(exact.or_else(|| all.into_iter().find(|t| t.lang == "en")))
}

/// The names of the templates with `purpose`.
pub fn names_for(conn: &mut DbConn, purpose: &str) -> QueryResult<Vec<String>> {
    mail_templates::table
        .filter(mail_templates::purpose.eq(purpose))
        .filter(mail_templates::lang.eq("en"))
        .select(mail_templates::name)
        .order(mail_templates::name.asc())
        .load(conn)
}

/// One language of a template as its editor writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    pub lang: String,
    pub subject: String,
    pub body: String,
}

/// A template as it is saved: its name and purpose, its scope (reply templates),
/// and its text in every language of [`LANGS`].
#[derive(Debug, Clone)]
pub struct Draft {
    pub name: String,
    pub purpose: String,
    pub scope: Scope,
    pub texts: Vec<Text>,
}

impl Draft {
    /// The text in `lang`, if written.
    pub fn text(&self, lang: &str) -> Option<&Text> {
        self.texts.iter().find(|t| t.lang == lang)
    }
}

/// The problem of a template's name, if any: 1 to 64 lowercase letters, digits,
/// `_` and `-`, starting with a letter (it is part of the template's address).
pub fn check_name(name: &str) -> Option<FieldProblem> {
    let ok = (1..=MAX_NAME).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    (!ok).then(|| {
        FieldProblem::keyed(
            "name",
            tkey("mail.templates.bad_name"),
            &[("max", &MAX_NAME.to_string())],
        )
    })
}

/// The problems of one text: each field empty, too long, or with placeholders that
/// are not known (named, every one).
pub fn check_text(subject: &str, body: &str, lang: &str) -> Vec<FieldProblem> {
    let mut problems = Vec::new();
    for (field, text, max) in [("subject", subject, MAX_SUBJECT), ("body", body, MAX_BODY)] {
        let name = format!("{field} ({lang})");
        if text.trim().is_empty() {
            problems.push(FieldProblem::keyed(
                name,
                tkey("mail.templates.required"),
                &[],
            ));
            continue;
        }
        if text.chars().count() > max {
            problems.push(FieldProblem::keyed(
                name,
                tkey("mail.templates.too_long"),
                &[("max", &max.to_string())],
            ));
            continue;
        }
        let unknown = unknown_placeholders(text);
        if !unknown.is_empty() {
            problems.push(FieldProblem::keyed(
                name,
                tkey("mail.templates.unknown_placeholders"),
                &[
                    ("names", &braced(&unknown).join(", ")),
                    ("known", &placeholder_list()),
                ],
            ));
        }
    }
    problems
}

/// `{a} {b} …`: every placeholder a template may use.
pub fn placeholder_list() -> String {
    braced(&PLACEHOLDERS).join(" ")
}

fn braced<S: AsRef<str>>(names: &[S]) -> Vec<String> {
    names
        .iter()
        .map(|p| format!("{{{}}}", p.as_ref()))
        .collect()
}

/// The problems of a draft's text: a language missing (named), and each text's
/// problems. Both languages are required: a customer is written to in theirs. (A
/// new template's purpose is checked where it is added; a stored one keeps its own,
/// whatever other parts of the desk use it for.)
pub fn check_draft(draft: &Draft) -> Vec<FieldProblem> {
    let mut problems = Vec::new();
    for lang in LANGS {
        match draft.text(lang) {
            Some(t) if !(t.subject.trim().is_empty() && t.body.trim().is_empty()) => {
                problems.extend(check_text(&t.subject, &t.body, lang));
            }
            _ => problems.push(FieldProblem::keyed(
                lang,
                tkey("mail.templates.missing_language"),
                &[("lang", &language_name(lang))],
            )),
        }
    }
    problems
}

/// `简体中文 (zh-CN)`: a language as a refusal names it.
fn language_name(code: &str) -> String {
    match crate::domain::Lang::parse(code) {
        Some(l) => format!("{} ({code})", l.native_name()),
        None => code.to_string(),
    }
}

/// The problems of a scope: rules the desk does not have and states that do not
/// exist, each named.
pub fn check_scope(scope: &Scope, is_rule: impl Fn(&str) -> bool) -> Vec<FieldProblem> {
    let mut problems = Vec::new();
    for r in scope.rules.iter().filter(|r| !is_rule(r)) {
        problems.push(FieldProblem::keyed(
            "rules",
            tkey("mail.templates.unknown_rule"),
            &[("rule", r)],
        ));
    }
    for s in scope.states.iter().filter(|s| !replies::is_state(s)) {
        problems.push(FieldProblem::keyed(
            "states",
            tkey("mail.templates.unknown_state"),
            &[("state", s)],
        ));
    }
    problems
}

/// The scope of the template `name` (any rule, any state when it has none).
pub fn scope_of(conn: &mut DbConn, name: &str) -> QueryResult<Scope> {
    let row: Option<(String, String)> = mail_template_scopes::table
        .find(name)
        .select((
            mail_template_scopes::rule_codes,
            mail_template_scopes::states,
        ))
        .first(conn)
        .optional()?;
    Ok(row.map(|(r, s)| Scope::parse(&r, &s)).unwrap_or_default())
}

/// Every template's scope, by name.
pub fn scopes(conn: &mut DbConn) -> QueryResult<HashMap<String, Scope>> {
    let rows: Vec<(String, String, String)> = mail_template_scopes::table
        .select((
            mail_template_scopes::name,
            mail_template_scopes::rule_codes,
            mail_template_scopes::states,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(n, r, s)| (n, Scope::parse(&r, &s)))
        .collect())
}

/// The templates with `purpose` in every language, by name then language.
pub fn of_purpose(conn: &mut DbConn, purpose: &str) -> QueryResult<Vec<MailTemplate>> {
    mail_templates::table
        .filter(mail_templates::purpose.eq(purpose))
        .select(MailTemplate::as_select())
        .order((mail_templates::name.asc(), mail_templates::lang.asc()))
        .load(conn)
}

/// One saved version of a template.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = mail_template_versions)]
pub struct Version {
    pub id: i64,
    pub name: String,
    pub version: i32,
    pub purpose: String,
    pub rule_codes: String,
    pub states: String,
    pub subject_en: String,
    pub body_en: String,
    pub subject_zh: String,
    pub body_zh: String,
    pub created_at: NaiveDateTime,
    pub created_by: Option<i64>,
    pub restored_from: Option<i32>,
}

impl Version {
    pub fn scope(&self) -> Scope {
        Scope::parse(&self.rule_codes, &self.states)
    }

    /// Its text in every language.
    pub fn texts(&self) -> Vec<Text> {
        vec![
            Text {
                lang: "en".into(),
                subject: self.subject_en.clone(),
                body: self.body_en.clone(),
            },
            Text {
                lang: "zh-CN".into(),
                subject: self.subject_zh.clone(),
                body: self.body_zh.clone(),
            },
        ]
    }

    /// The version as a draft to save again.
    pub fn draft(&self) -> Draft {
        Draft {
            name: self.name.clone(),
            purpose: self.purpose.clone(),
            scope: self.scope(),
            texts: self
                .texts()
                .into_iter()
                .filter(|t| !t.body.is_empty())
                .collect(),
        }
    }
}

/// Every version of the template `name`, newest first.
pub fn versions(conn: &mut DbConn, name: &str) -> QueryResult<Vec<Version>> {
    mail_template_versions::table
        .filter(mail_template_versions::name.eq(name))
        .select(Version::as_select())
        .order(mail_template_versions::version.desc())
        .load(conn)
}

/// Version `version` of the template `name`.
pub fn version(conn: &mut DbConn, name: &str, version: i32) -> QueryResult<Option<Version>> {
    mail_template_versions::table
        .filter(mail_template_versions::name.eq(name))
        .filter(mail_template_versions::version.eq(version))
        .select(Version::as_select())
        .first(conn)
        .optional()
}

/// The number of the template's latest version, if it has any.
pub fn latest_version(conn: &mut DbConn, name: &str) -> QueryResult<Option<i32>> {
    mail_template_versions::table
        .filter(mail_template_versions::name.eq(name))
        .select(diesel::dsl::max(mail_template_versions::version))
        .first(conn)
}

/// The number of every template's latest version, by name.
pub fn latest_versions(conn: &mut DbConn) -> QueryResult<HashMap<String, i32>> {
    let rows: Vec<(String, Option<i32>)> = mail_template_versions::table
        .group_by(mail_template_versions::name)
        .select((
            mail_template_versions::name,
            diesel::dsl::max(mail_template_versions::version),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(n, v)| v.map(|v| (n, v)))
        .collect())
}

/// Why a save changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    /// Someone saved the template since the editor opened it (at version `base`); it
    /// is at version `current` now.
    #[error("the template was saved by someone else meanwhile (now version {current})")]
    Stale { current: i32 },
    /// A new template's name is taken.
    #[error("a template of that name exists")]
    Exists,
    /// No such template to save.
    #[error("no such template")]
    Unknown,
    #[error("database error: {0}")]
    Db(#[from] diesel::result::Error),
}

/// What a save did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved {
    /// Stored as this version.
    Version(i32),
    /// The text and scope were those of the latest version already.
    Unchanged,
}

fn is_unique_violation(e: &diesel::result::Error) -> bool {
    matches!(
        e,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}

/// Adds a new template as its version 1, in the caller's transaction. The draft
/// must have passed [`check_draft`] and [`check_scope`].
pub fn create(
    conn: &mut DbConn,
    draft: &Draft,
    by: Option<i64>,
    now: DateTime<Utc>,
) -> Result<i32, SaveError> {
    if !by_name(conn, &draft.name)?.is_empty() {
        return Err(SaveError::Exists);
    }
    match write_version(conn, draft, 1, by, now, None) {
        Err(SaveError::Db(e)) if is_unique_violation(&e) => Err(SaveError::Exists),
        Err(e) => Err(e),
        Ok(()) => Ok(1),
    }
}

/// Saves the template as a new version, in the caller's transaction: every
/// language's text and its scope. `base` is the version the editor started from; a
/// save over a later one is refused, nothing lost (the editor shows the text
/// again). `restored_from` names the old version a restore brings back. The draft
/// must have passed [`check_draft`] and [`check_scope`].
pub fn save(
    conn: &mut DbConn,
    draft: &Draft,
    base: Option<i32>,
    by: Option<i64>,
    now: DateTime<Utc>,
    restored_from: Option<i32>,
) -> Result<Saved, SaveError> {
    let current = by_name(conn, &draft.name)?;
    let Some(first) = current.first() else {
        return Err(SaveError::Unknown);
    };
    let purpose = first.purpose.clone();
    let mut latest = latest_version(conn, &draft.name)?;
    if let Some(base) = base
        && base != latest.unwrap_or(0)
    {
        return Err(SaveError::Stale {
            current: latest.unwrap_or(0),
        });
    }
    let scope_now = scope_of(conn, &draft.name)?;
    let draft = Draft {
        purpose: purpose.clone(),
        scope: draft.scope.normalised(),
        ..draft.clone()
    };
    let same_text = LANGS.iter().all(|lang| {
        let stored = current.iter().find(|t| t.lang == *lang);
        match (stored, draft.text(lang)) {
            (Some(s), Some(d)) => s.subject == d.subject && s.body == d.body,
            _ => false,
        }
    });
    // A template seeded without a version (or before versions were kept) keeps what
    // it held as its version 1, so that it can be restored.
    if latest.is_none() {
        let text = |lang: &str| {
            current.iter().find(|t| t.lang == lang).map(|t| Text {
                lang: lang.to_string(),
                subject: t.subject.clone(),
                body: t.body.clone(),
            })
        };
        let was = Draft {
            name: draft.name.clone(),
            purpose: purpose.clone(),
            scope: scope_now.normalised(),
            texts: LANGS.iter().filter_map(|l| text(l)).collect(),
        };
        insert_version(conn, &was, 1, first.updated_by, first.updated_at, None)?;
        latest = Some(1);
    }
    if same_text && scope_now.normalised() == draft.scope {
        return Ok(Saved::Unchanged);
    }
    let next = latest.unwrap_or(0) + 1;
    match write_version(conn, &draft, next, by, now, restored_from) {
        Err(SaveError::Db(e)) if is_unique_violation(&e) => Err(SaveError::Stale { current: next }),
        Err(e) => Err(e),
        Ok(()) => Ok(Saved::Version(next)),
    }
}

/// Writes the draft's texts and scope as the template's current state, and the
/// version row.
fn write_version(
    conn: &mut DbConn,
    draft: &Draft,
    number: i32,
    by: Option<i64>,
    now: DateTime<Utc>,
    restored_from: Option<i32>,
) -> Result<(), SaveError> {
    let at = store::to_db(now);
    for t in &draft.texts {
        let target = mail_templates::table
            .filter(mail_templates::name.eq(&draft.name))
            .filter(mail_templates::lang.eq(&t.lang));
        let n = diesel::update(target)
            .set((
                mail_templates::subject.eq(&t.subject),
                mail_templates::body.eq(&t.body),
                mail_templates::updated_by.eq(by),
                mail_templates::updated_at.eq(at),
            ))
            .execute(conn)?;
        if n == 0 {
            diesel::insert_into(mail_templates::table)
                .values((
                    mail_templates::name.eq(&draft.name),
                    mail_templates::purpose.eq(&draft.purpose),
                    mail_templates::lang.eq(&t.lang),
                    mail_templates::subject.eq(&t.subject),
                    mail_templates::body.eq(&t.body),
                    mail_templates::updated_by.eq(by),
                    mail_templates::updated_at.eq(at),
                ))
                .execute(conn)?;
        }
    }
    let (rules, states) = (draft.scope.rules_text(), draft.scope.states_text());
    let n = diesel::update(mail_template_scopes::table.find(&draft.name))
        .set((
            mail_template_scopes::rule_codes.eq(&rules),
            mail_template_scopes::states.eq(&states),
        ))
        .execute(conn)?;
    if n == 0 {
        diesel::insert_into(mail_template_scopes::table)
            .values((
                mail_template_scopes::name.eq(&draft.name),
                mail_template_scopes::rule_codes.eq(&rules),
                mail_template_scopes::states.eq(&states),
            ))
            .execute(conn)?;
    }
    insert_version(conn, draft, number, by, at, restored_from)?;
    Ok(())
}

fn insert_version(
    conn: &mut DbConn,
    draft: &Draft,
    number: i32,
    by: Option<i64>,
    at: NaiveDateTime,
    restored_from: Option<i32>,
) -> QueryResult<()> {
    let part = |lang: &str| {
        draft
            .text(lang)
            .map(|t| (t.subject.clone(), t.body.clone()))
            .unwrap_or_default()
    };
    let (subject_en, body_en) = part("en");
    let (subject_zh, body_zh) = part("zh-CN");
    diesel::insert_into(mail_template_versions::table)
        .values((
            mail_template_versions::name.eq(&draft.name),
            mail_template_versions::version.eq(number),
            mail_template_versions::purpose.eq(&draft.purpose),
            mail_template_versions::rule_codes.eq(draft.scope.rules_text()),
            mail_template_versions::states.eq(draft.scope.states_text()),
            mail_template_versions::subject_en.eq(subject_en),
            mail_template_versions::body_en.eq(body_en),
            mail_template_versions::subject_zh.eq(subject_zh),
            mail_template_versions::body_zh.eq(body_zh),
            mail_template_versions::created_at.eq(at),
            mail_template_versions::created_by.eq(by),
            mail_template_versions::restored_from.eq(restored_from),
        ))
        .execute(conn)?;
    Ok(())
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_placeholders() {
        assert_eq!(
            placeholders_in("Hi {customer_name}, see {link} {x"),
            vec!["customer_name", "link"]
        );
        assert_eq!(
            unknown_placeholders("{case_ref} {agent} {password} {agent}"),
            vec!["agent", "password"]
        );
        assert!(unknown_placeholders("no braces at all").is_empty());
    }

    #[test]
    fn fills_known_placeholders() {
        assert_eq!(
            fill(
                "{case_ref}: {amount} ({case_ref})",
                &[("case_ref", "RC-000001"), ("amount", "12.00 CNY")]
            ),
            "RC-000001: 12.00 CNY (RC-000001)"
        );
        // A value is not read again for placeholders.
        assert_eq!(
            fill(
                "Dear {customer_name}, {link} {unknown}",
                &[("customer_name", "{link}"), ("link", "https://x/v/1")]
            ),
            "Dear {link}, https://x/v/1 {unknown}"
        );
    }

    #[test]
    fn a_draft_needs_both_languages_and_known_placeholders() {
        let text = |lang: &str, subject: &str, body: &str| Text {
            lang: lang.into(),
            subject: subject.into(),
            body: body.into(),
        };
        let mut d = Draft {
            name: "reply_x".into(),
            purpose: REPLY.into(),
            scope: Scope::default(),
            texts: vec![text(
                "en",
                "Hi {case_ref}",
                "By {deadline}, {masked_account}",
            )],
        };
        let p = check_draft(&d);
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].field, "zh-CN");
        assert!(
            p[0].message.contains("简体中文 (zh-CN)"),
            "{}",
            p[0].message
        );
        d.texts
            .push(text("zh-CN", "您好", "{secret} {amount} {secret}"));
        let p = check_draft(&d);
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].field, "body (zh-CN)");
        assert!(p[0].message.contains("{secret}"), "{}", p[0].message);
        d.texts[1].body = "{amount}".into();
        assert!(check_draft(&d).is_empty());
        assert!(check_name("reply_x").is_none());
        assert!(check_name("Reply x").is_some());
        assert!(check_name("").is_some());
        let scope = Scope::parse("A,NOPE", "paused,asleep");
        let p = check_scope(&scope, |r| r == "A");
        assert_eq!(p.len(), 2);
        assert!(p[0].message.contains("NOPE") && p[1].message.contains("asleep"));
    }
}
