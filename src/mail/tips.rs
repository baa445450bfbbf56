// Security tips: short notes per language ("we will never ask for your verification
// code") that go with what the desk shows and sends to customers — the verification
// and survey pages, the verification and survey e-mails, replies — for every rule or
// for the rules a tip names. Supervisors and admins edit them; each change is
// audited by the caller.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{cases, security_tips};
use crate::domain::{FieldProblem, Lang};
use crate::i18n::{Tr, tkey};
use crate::store;

/// The longest tip, in characters, in each language; and the longest label.
pub const MAX_TEXT: usize = 300;
pub const MAX_LABEL: usize = 80;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = security_tips)]
pub struct Tip {
    pub id: i64,
    pub label: String,
    pub text_en: String,
    pub text_zh: String,
    pub rule_codes: String,
    pub active: bool,
    pub position: i32,
    pub updated_at: NaiveDateTime,
    pub updated_by: Option<i64>,
}

impl Tip {
    /// The rules it is shown for; empty for every rule.
    pub fn rules(&self) -> Vec<String> {
        split(&self.rule_codes)
    }

    /// Its text in `lang`.
    pub fn text(&self, lang: Lang) -> &str {
        match lang {
            Lang::En => &self.text_en,
            Lang::ZhCn => &self.text_zh,
        }
    }

    /// Whether it goes with a case of `rule`.
    pub fn applies_to(&self, rule: &str) -> bool {
        let rules = self.rules();
        rules.is_empty() || rules.iter().any(|r| r == rule)
    }
}

fn split(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// A tip as the editor writes it.
#[derive(Debug, Clone, Default)]
pub struct TipInput {
    pub label: String,
    pub text_en: String,
    pub text_zh: String,
    pub rules: Vec<String>,
    pub active: bool,
    pub position: i32,
}

impl TipInput {
    fn rule_codes(&self) -> String {
        let mut r: Vec<&str> = self.rules.iter().map(String::as_str).collect();
        r.sort_unstable();
        r.dedup();
        r.join(",")
    }
}

/// The problems of a tip: each language's text missing (naming the language) or
/// too long, the label too long, rules the desk does not have.
pub fn check(input: &TipInput, is_rule: impl Fn(&str) -> bool) -> Vec<FieldProblem> {
    let mut problems = Vec::new();
    for (field, lang, text) in [
        ("text_en", Lang::En, &input.text_en),
        ("text_zh", Lang::ZhCn, &input.text_zh),
    ] {
        let name = format!("{} ({})", lang.native_name(), lang.code());
        if text.trim().is_empty() {
            problems.push(FieldProblem::keyed(
                field,
                tkey("tips.missing_language"),
                &[("lang", &name)],
            ));
        } else if text.chars().count() > MAX_TEXT {
            problems.push(FieldProblem::keyed(
                field,
                tkey("tips.too_long"),
                &[("lang", &name), ("max", &MAX_TEXT.to_string())],
            ));
        }
    }
    if input.label.chars().count() > MAX_LABEL {
        problems.push(FieldProblem::keyed(
            "label",
            tkey("tips.label_too_long"),
            &[("max", &MAX_LABEL.to_string())],
        ));
    }
    for r in input.rules.iter().filter(|r| !is_rule(r)) {
        problems.push(FieldProblem::keyed(
            "rules",
            tkey("mail.templates.unknown_rule"),
            &[("rule", r)],
        ));
    }
    problems
}

/// Every tip, in the order customers see them.
pub fn all(conn: &mut DbConn) -> QueryResult<Vec<Tip>> {
    security_tips::table
        .select(Tip::as_select())
        .order((security_tips::position.asc(), security_tips::id.asc()))
        .load(conn)
}

pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<Tip>> {
    security_tips::table
        .find(id)
        .select(Tip::as_select())
        .first(conn)
        .optional()
}

/// The active tips for a case of `rule`, in `lang`, in order.
pub fn for_rule(conn: &mut DbConn, rule: &str, lang: Lang) -> QueryResult<Vec<String>> {
    Ok(security_tips::table
        .filter(security_tips::active.eq(true))
        .select(Tip::as_select())
        .order((security_tips::position.asc(), security_tips::id.asc()))
        .load(conn)?
        .into_iter()
        .filter(|t| t.applies_to(rule))
        .map(|t| t.text(lang).to_string())
        .collect())
}

/// The active tips for the case `case_id` (by its rule), in `lang`, in order: what
/// goes with any message or page for its customer.
pub fn for_case(conn: &mut DbConn, case_id: i64, lang: Lang) -> QueryResult<Vec<String>> {
    let rule: Option<String> = cases::table
        .find(case_id)
        .select(cases::rule_code)
        .first(conn)
        .optional()?;
    match rule {
        Some(rule) => for_rule(conn, &rule, lang),
        None => Ok(Vec::new()),
    }
}

/// `body` with the tips after it, as an e-mail's text ends: a signature separator,
/// a heading in the customer's language and one tip a line.
pub fn append_to_text(body: &str, tips: &[String], lang: Lang) -> String {
    if tips.is_empty() {
        return body.to_string();
    }
    let mut out = body.trim_end().to_string();
    out.push_str("\n\n-- \n");
    out.push_str(Tr::new(lang).t("tips.heading"));
    for t in tips {
        out.push_str("\n- ");
        out.push_str(t);
    }
    out.push('\n');
    out
}

/// Adds a tip; its id.
pub fn create(
    conn: &mut DbConn,
    input: &TipInput,
    by: Option<i64>,
    now: DateTime<Utc>,
) -> QueryResult<i64> {
    diesel::insert_into(security_tips::table)
        .values((
            security_tips::label.eq(input.label.trim()),
            security_tips::text_en.eq(input.text_en.trim()),
            security_tips::text_zh.eq(input.text_zh.trim()),
            security_tips::rule_codes.eq(input.rule_codes()),
            security_tips::active.eq(input.active),
            security_tips::position.eq(input.position),
            security_tips::updated_at.eq(store::to_db(now)),
            security_tips::updated_by.eq(by),
        ))
        .returning(security_tips::id)
        .get_result(conn)
}

/// Changes a tip; false when there is no such tip.
pub fn update(
    conn: &mut DbConn,
    id: i64,
    input: &TipInput,
    by: i64,
    now: DateTime<Utc>,
) -> QueryResult<bool> {
    let n = diesel::update(security_tips::table.find(id))
        .set((
            security_tips::label.eq(input.label.trim()),
            security_tips::text_en.eq(input.text_en.trim()),
            security_tips::text_zh.eq(input.text_zh.trim()),
            security_tips::rule_codes.eq(input.rule_codes()),
            security_tips::active.eq(input.active),
            security_tips::position.eq(input.position),
            security_tips::updated_at.eq(store::to_db(now)),
            security_tips::updated_by.eq(Some(by)),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

/// Removes a tip; false when there is no such tip.
pub fn delete(conn: &mut DbConn, id: i64) -> QueryResult<bool> {
    Ok(diesel::delete(security_tips::table.find(id)).execute(conn)? == 1)
}

/// The next position at the end of the list.
pub fn next_position(conn: &mut DbConn) -> QueryResult<i32> {
    let max: Option<i32> = security_tips::table
        .select(diesel::dsl::max(security_tips::position))
        .first(conn)?;
    Ok(max.unwrap_or(0) + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_languages_are_required_and_short() {
        let input = TipInput {
            text_en: "We never ask for codes.".into(),
            text_zh: "  ".into(),
            rules: vec!["NOPE".into()],
            ..Default::default()
        };
        let p = check(&input, |r| r == "LARGE_TRANSFER");
        assert_eq!(p.len(), 2, "{p:?}");
        assert_eq!(p[0].field, "text_zh");
        assert!(
            p[0].message.contains("简体中文 (zh-CN)"),
            "{}",
            p[0].message
        );
        assert!(p[1].message.contains("NOPE"), "{}", p[1].message);
        let long = TipInput {
            text_en: "x".repeat(MAX_TEXT + 1),
            text_zh: "我们绝不会索取验证码。".into(),
            ..Default::default()
        };
        let p = check(&long, |_| true);
        assert_eq!(p.len(), 1);
        assert!(p[0].message.contains("300"), "{}", p[0].message);
    }

    #[test]
    fn tips_end_the_text_in_the_customers_language() {
        let tips = vec!["One.".to_string(), "Two.".to_string()];
        let text = append_to_text("Hello\n", &tips, Lang::En);
        assert!(text.starts_with("Hello\n\n-- \n"), "{text}");
        assert!(text.ends_with("\n- One.\n- Two.\n"), "{text}");
        assert_eq!(append_to_text("Hello", &[], Lang::ZhCn), "Hello");
        assert!(append_to_text("您好", &tips, Lang::ZhCn).contains("安全提示"));
    }
}
