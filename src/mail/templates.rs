// Response templates: a subject and a body per language with `{placeholder}`s,
// edited by supervisors; unknown placeholders are refused when a template is saved.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::mail_templates;
use crate::store;

/// The placeholders a template may use.
pub const PLACEHOLDERS: [&str; 5] = ["customer_name", "case_ref", "amount", "link", "agent_name"];

/// The languages every template is written in.
pub const LANGS: [&str; 2] = ["en", "zh-CN"];

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

/// `text` with each known placeholder replaced by its value.
pub fn fill(text: &str, values: &[(&str, &str)]) -> String {
    let mut s = text.to_string();
    for (name, value) in values {
        s = s.replace(&format!("{{{name}}}"), value);
    }
    s
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

/// Saves one language of a template.
pub fn save(
    conn: &mut DbConn,
    id: i64,
    subject: &str,
    body: &str,
    by: i64,
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::update(mail_templates::table.find(id))
        .set((
            mail_templates::subject.eq(subject),
            mail_templates::body.eq(body),
            mail_templates::updated_by.eq(Some(by)),
            mail_templates::updated_at.eq(store::to_db(now)),
        ))
        .execute(conn)
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
    }
}
