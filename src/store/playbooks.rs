// Playbooks: per rule and language, the steps an agent follows and the call script,
// kept current by supervisors.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::playbooks;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = playbooks)]
pub struct Playbook {
    pub id: i64,
    pub rule_code: String,
    pub lang: String,
    pub steps: String,
    pub script: String,
    pub updated_at: NaiveDateTime,
    pub updated_by: Option<i64>,
}

impl Playbook {
    /// The steps, one per non-empty line.
    pub fn step_list(&self) -> Vec<String> {
        self.steps
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect()
    }
}

/// Every language's playbook of a rule.
pub fn of_rule(conn: &mut DbConn, rule_code: &str) -> QueryResult<Vec<Playbook>> {
    playbooks::table
        .filter(playbooks::rule_code.eq(rule_code))
        .select(Playbook::as_select())
        .order(playbooks::lang.asc())
        .load(conn)
}

/// (rule code, language) of every stored playbook.
pub fn index(conn: &mut DbConn) -> QueryResult<Vec<(String, String)>> {
    playbooks::table
        .select((playbooks::rule_code, playbooks::lang))
        .order((playbooks::rule_code.asc(), playbooks::lang.asc()))
        .load(conn)
}

/// Sets one language's playbook of a rule; empty steps and script remove it.
/// Returns whether anything changed.
pub fn save(
    conn: &mut DbConn,
    rule_code: &str,
    lang: &str,
    steps: &str,
    script: &str,
    at: NaiveDateTime,
    by: Option<i64>,
) -> QueryResult<bool> {
    let target = playbooks::table
        .filter(playbooks::rule_code.eq(rule_code))
        .filter(playbooks::lang.eq(lang));
    if steps.is_empty() && script.is_empty() {
        return Ok(diesel::delete(target).execute(conn)? > 0);
    }
    let current: Option<(String, String)> = target
        .select((playbooks::steps, playbooks::script))
        .first(conn)
        .optional()?;
    match current {
        Some((s, c)) if s == steps && c == script => Ok(false),
        Some(_) => {
            diesel::update(target)
                .set((
                    playbooks::steps.eq(steps),
                    playbooks::script.eq(script),
                    playbooks::updated_at.eq(at),
                    playbooks::updated_by.eq(by),
                ))
                .execute(conn)?;
            Ok(true)
        }
        None => {
            diesel::insert_into(playbooks::table)
                .values((
                    playbooks::rule_code.eq(rule_code),
                    playbooks::lang.eq(lang),
                    playbooks::steps.eq(steps),
                    playbooks::script.eq(script),
                    playbooks::updated_at.eq(at),
                    playbooks::updated_by.eq(by),
                ))
                .execute(conn)?;
            Ok(true)
        }
    }
}
