// The security audit trail: append-only (the database refuses updates and deletes),
// written in the same transaction as the change it records.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{audit_events, users};

/// Every kind of audit event the desk writes; writing another is a bug (debug
/// builds stop at it), and each has a name in both languages (`audit.kind.*`).
pub const KINDS: &[&str] = &[
    "account.locked",
    "apikey.created",
    "apikey.expired_refused",
    "apikey.rate_limited",
    "apikey.revoked",
    "apikey.revoked_refused",
    "apikey.scope_refused",
    "apikey.used",
    "article.created",
    "article.edited",
    "article.published",
    "article.retired",
    "audit.exported",
    "case.reopened",
    "cases.bulk",
    "config.applied",
    "config.exported",
    "customer.searched",
    "login.code_requested",
    "login.failed",
    "login.succeeded",
    "logout",
    "mail.attached",
    "mail.discarded",
    "mail_template.created",
    "mail_template.restored",
    "mail_template.updated",
    "mfa.code_refused",
    "mfa.disabled",
    "mfa.enrolled",
    "mfa.recovery_code_used",
    "mfa.recovery_codes_regenerated",
    "mfa.reset",
    "oncall.override_added",
    "oncall.override_removed",
    "pii.revealed",
    "playbook.saved",
    "report.exported",
    "resolution.approved",
    "resolution.rejected",
    "security_tip.created",
    "security_tip.deleted",
    "security_tip.updated",
    "sessions.ended",
    "setup.completed",
    "user.created",
    "user.deactivated",
    "user.password_changed",
    "user.password_reset",
    "user.reactivated",
    "user.renamed",
    "user.role_changed",
    "user.routing_changed",
    "view.deleted",
    "view.renamed",
    "view.shared",
    "webhook.added",
    "webhook.deleted",
    "webhook.disabled",
    "webhook.enabled",
    "webhook.resent",
    "webhook.secret_rotated",
];

/// The families of kinds (the part before the dot), in order.
pub fn families() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = KINDS
        .iter()
        .map(|k| k.split('.').next().unwrap_or(k))
        .collect();
    out.dedup();
    out
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub struct AuditEvent {
    pub id: i64,
    pub at: NaiveDateTime,
    pub actor_user_id: Option<i64>,
    pub kind: String,
    pub subject: Option<String>,
    pub ip: Option<String>,
    pub detail: String,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = audit_events)]
pub struct NewAuditEvent<'a> {
    pub at: NaiveDateTime,
    pub actor_user_id: Option<i64>,
    pub kind: &'a str,
    pub subject: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub detail: String,
}

pub fn insert(conn: &mut DbConn, event: &NewAuditEvent<'_>) -> QueryResult<usize> {
    debug_assert!(
        KINDS.contains(&event.kind),
        "audit kind {} is not in store::audit::KINDS",
        event.kind
    );
    diesel::insert_into(audit_events::table)
        .values(event)
        .execute(conn)
}

/// Which events an auditor asks for; every part is optional.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Events by this user or about them (their e-mail as the subject).
    pub user: Option<(i64, String)>,
    /// One kind (`login.failed`) or a family of kinds (`login.*`).
    pub kind: Option<String>,
    /// From this moment (inclusive).
    pub from: Option<NaiveDateTime>,
    /// Until this moment (exclusive).
    pub until: Option<NaiveDateTime>,
}

type Boxed<'a> = audit_events::BoxedQuery<'a, <DbConn as diesel::Connection>::Backend>;

fn filtered(filter: &AuditFilter) -> Boxed<'_> {
    let mut q = audit_events::table.into_boxed();
    if let Some((id, email)) = &filter.user {
        q = q.filter(
            audit_events::actor_user_id
                .eq(*id)
                .or(audit_events::subject.eq(email.as_str())),
        );
    }
    match filter.kind.as_deref() {
        Some(k) if k.ends_with(".*") => {
            let family = format!("{}.%", k.trim_end_matches(".*"));
            q = q.filter(audit_events::kind.like(family));
        }
        Some(k) => q = q.filter(audit_events::kind.eq(k)),
        None => {}
    }
    if let Some(from) = filter.from {
        q = q.filter(audit_events::at.ge(from));
    }
    if let Some(until) = filter.until {
        q = q.filter(audit_events::at.lt(until));
    }
    q
}

/// With each event, its actor's e-mail.
fn with_actors(
    conn: &mut DbConn,
    events: Vec<AuditEvent>,
) -> QueryResult<Vec<(AuditEvent, Option<String>)>> {
    let mut ids: Vec<i64> = events.iter().filter_map(|e| e.actor_user_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let emails: std::collections::HashMap<i64, String> = users::table
        .filter(users::id.eq_any(&ids))
        .select((users::id, users::email))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect();
    Ok(events
        .into_iter()
        .map(|e| {
            let actor = e.actor_user_id.and_then(|id| emails.get(&id).cloned());
            (e, actor)
        })
        .collect())
}

/// A page of events that pass `filter`, newest first, older than `before_id` when
/// given, with the actor's e-mail.
pub fn page(
    conn: &mut DbConn,
    filter: &AuditFilter,
    before_id: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<(AuditEvent, Option<String>)>> {
    let mut q = filtered(filter)
        .select(AuditEvent::as_select())
        .order(audit_events::id.desc())
        .limit(limit);
    if let Some(id) = before_id {
        q = q.filter(audit_events::id.lt(id));
    }
    let events = q.load(conn)?;
    with_actors(conn, events)
}

/// Events that pass `filter` with ids above `after_id`, oldest first, with the
/// actor's e-mail (exports read the log this way, a batch at a time).
pub fn after(
    conn: &mut DbConn,
    filter: &AuditFilter,
    after_id: i64,
    limit: i64,
) -> QueryResult<Vec<(AuditEvent, Option<String>)>> {
    let events = filtered(filter)
        .filter(audit_events::id.gt(after_id))
        .select(AuditEvent::as_select())
        .order(audit_events::id.asc())
        .limit(limit)
        .load(conn)?;
    with_actors(conn, events)
}

/// The newest event's id (0 when there is none).
pub fn max_id(conn: &mut DbConn) -> QueryResult<i64> {
    use diesel::dsl::max;
    Ok(audit_events::table
        .select(max(audit_events::id))
        .first::<Option<i64>>(conn)?
        .unwrap_or(0))
}

/// One event as an auditor's record: the JSON line of exports and `--audit-log`.
#[derive(Debug, serde::Serialize)]
pub struct Record<'a> {
    pub id: i64,
    /// RFC 3339, UTC.
    pub at: String,
    pub kind: &'a str,
    /// The actor's e-mail; none for the system and the command line.
    pub actor: Option<&'a str>,
    pub actor_id: Option<i64>,
    pub subject: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub detail: serde_json::Value,
}

impl<'a> Record<'a> {
    pub fn of(e: &'a AuditEvent, actor: Option<&'a str>) -> Self {
        Record {
            id: e.id,
            at: crate::store::from_db(e.at).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            kind: &e.kind,
            actor,
            actor_id: e.actor_user_id,
            subject: e.subject.as_deref(),
            ip: e.ip.as_deref(),
            detail: serde_json::from_str(&e.detail)
                .unwrap_or_else(|_| serde_json::Value::String(e.detail.clone())),
        }
    }

    /// The record as one line of JSON (no line break inside, none at the end).
    pub fn json_line(&self) -> String {
        serde_json::to_string(self).expect("an audit record serializes")
    }
}

/// Events of one kind, oldest first (for tests and reports).
pub fn of_kind(conn: &mut DbConn, kind: &str) -> QueryResult<Vec<AuditEvent>> {
    audit_events::table
        .filter(audit_events::kind.eq(kind))
        .select(AuditEvent::as_select())
        .order(audit_events::id.asc())
        .load(conn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Lang;

    #[test]
    fn every_kind_has_a_name_in_both_languages_and_families_are_in_order() {
        for lang in [Lang::En, Lang::ZhCn] {
            let keys = crate::i18n::keys(lang);
            for kind in KINDS {
                let key = format!("audit.kind.{}", kind.replace('.', "_"));
                assert!(keys.contains(&key.as_str()), "{key} missing in {lang:?}");
            }
        }
        let mut sorted = KINDS.to_vec();
        sorted.sort_unstable();
        assert_eq!(
            sorted, KINDS,
            "KINDS is kept sorted (families stay together)"
        );
    }
}
