// Sign-in against the LDAP directory (OpenLDAP, Active Directory): the service
// account finds the user, the user's own password binds, the configured groups give
// the role, and the riskdesk account is created or brought in line with the directory.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, Utc};
use ldap3::{LdapConn, LdapConnSettings, LdapError, LdapResult, Scope, SearchEntry, SearchOptions};
use serde_json::json;

use crate::accounts::{self, AccountError, Actor, LoginOutcome, NewUserInput};
use crate::db::{DbConn, write_tx};
use crate::domain::Role;
use crate::domain::directory::{DirectorySettings, escape_value};
use crate::domain::password;
use crate::store::{self, deskconfig::SnapshotCache, users, users::User};

/// What stands in the password column of a directory account: not a password hash,
/// so no password checked by riskdesk can ever match it.
pub const NO_LOCAL_PASSWORD: &str = "!directory";

/// Sign-ins that may talk to the directory at once. Each holds a database connection
/// while it does, so a directory that hangs must not take the whole pool: beyond this,
/// a sign-in is refused at once as if the directory could not be reached.
const MAX_IN_FLIGHT: usize = 4;

/// LDAP result codes (RFC 4511, appendix A).
const SUCCESS: u32 = 0;
const SIZE_LIMIT_EXCEEDED: u32 = 4;
const NO_SUCH_OBJECT: u32 = 32;
const INVALID_CREDENTIALS: u32 = 49;
const INSUFFICIENT_ACCESS: u32 = 50;
const UNWILLING_TO_PERFORM: u32 = 53;

/// The configured directory, as the application holds it.
#[derive(Clone)]
pub struct Directory {
    settings: DirectorySettings,
    /// The desk's configuration, for handing a dropped agent's cases to others.
    desk: Arc<SnapshotCache>,
    in_flight: Arc<AtomicUsize>,
}

impl Directory {
    pub fn new(settings: DirectorySettings, desk: Arc<SnapshotCache>) -> Self {
        Directory {
            settings,
            desk,
            in_flight: Arc::new(AtomicUsize::new(0)),
        }
    }

    pub fn settings(&self) -> &DirectorySettings {
        &self.settings
    }

    /// What the directory says of `email` and `password`.
    pub fn ask(&self, email: &str, password: &str) -> Result<Answer, DirectoryError> {
        let _slot = Slot::take(&self.in_flight)?;
        let t = self.settings.timeout;
        let mut ldap = LdapConn::with_settings(
            LdapConnSettings::new().set_conn_timeout(t),
            &self.settings.url,
        )
        .map_err(unreachable)?;
        let answer = conversation(&mut ldap, &self.settings, email, password);
        let _ = ldap.unbind();
        answer
    }
}

/// A place among the sign-ins talking to the directory, given back on drop.
struct Slot<'a>(&'a AtomicUsize);

impl<'a> Slot<'a> {
    fn take(count: &'a AtomicUsize) -> Result<Self, DirectoryError> {
        if count.fetch_add(1, Ordering::SeqCst) >= MAX_IN_FLIGHT {
            count.fetch_sub(1, Ordering::SeqCst);
            return Err(DirectoryError::Busy);
        }
        Ok(Slot(count))
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What the directory says of an e-mail and a password.
#[derive(Debug)]
pub enum Answer {
    /// No entry under the user base matches the filter.
    NotFound,
    /// More than one entry matches: the filter does not pick one person.
    Ambiguous(usize),
    /// Found, but the directory refused the password (wrong, expired, a disabled
    /// account): `code` is its LDAP result code.
    Refused { dn: String, code: u32 },
    /// Found, and the password is theirs.
    Vouched(Person),
}

/// A user the directory vouched for.
#[derive(Debug)]
pub struct Person {
    pub dn: String,
    /// `displayName`, else `cn`.
    pub name: Option<String>,
    /// The highest role their groups give; None when they are in none of them.
    pub role: Option<Role>,
}

#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error("the directory cannot be reached: {0}")]
    Unreachable(String),
    #[error("the directory refused {operation} (LDAP code {code}: {text})")]
    Failed {
        operation: &'static str,
        code: u32,
        text: String,
    },
    #[error("too many sign-ins are talking to the directory at once")]
    Busy,
}

impl DirectoryError {
    /// The `reason` of the `login.failed` event.
    pub fn reason(&self) -> &'static str {
        match self {
            DirectoryError::Unreachable(_) => "directory_unreachable",
            DirectoryError::Failed { .. } => "directory_error",
            DirectoryError::Busy => "directory_busy",
        }
    }
}

fn unreachable(e: LdapError) -> DirectoryError {
    DirectoryError::Unreachable(e.to_string())
}

fn failed(operation: &'static str, res: &LdapResult) -> DirectoryError {
    DirectoryError::Failed {
        operation,
        code: res.rc,
        text: res.text.chars().take(200).collect(),
    }
}

/// Binds as the service account, or anonymously when none is configured.
fn service_bind(ldap: &mut LdapConn, settings: &DirectorySettings) -> Result<(), DirectoryError> {
    let (dn, pw) = match &settings.bind {
        Some((dn, pw)) => (dn.as_str(), pw.as_str()),
        None => ("", ""),
    };
    let res = ldap
        .with_timeout(settings.timeout)
        .simple_bind(dn, pw)
        .map_err(unreachable)?;
    if res.rc != SUCCESS {
        return Err(failed("the service account's bind", &res));
    }
    Ok(())
}

fn conversation(
    ldap: &mut LdapConn,
    settings: &DirectorySettings,
    email: &str,
    password: &str,
) -> Result<Answer, DirectoryError> {
    let t = settings.timeout;
    service_bind(ldap, settings)?;
    let filter = settings.user_filter.for_email(email);
    let found = ldap
        .with_timeout(t)
        .with_search_options(
            SearchOptions::new()
                .sizelimit(2)
                .timelimit(t.as_secs().max(1) as i32),
        )
        .search(
            &settings.user_base,
            Scope::Subtree,
            &filter,
            vec!["cn", "displayName"],
        )
        .map_err(unreachable)?;
    let mut entries: Vec<SearchEntry> = found
        .0
        .into_iter()
        .filter(|e| !e.is_ref() && !e.is_intermediate())
        .map(SearchEntry::construct)
        .collect();
    match found.1.rc {
        SUCCESS => {}
        SIZE_LIMIT_EXCEEDED => return Ok(Answer::Ambiguous(entries.len().max(2))),
        _ => return Err(failed("the search for the user", &found.1)),
    }
    let entry = match entries.len() {
        0 => return Ok(Answer::NotFound),
        1 => entries.remove(0),
        n => return Ok(Answer::Ambiguous(n)),
    };
    // A simple bind with a DN and no password is an anonymous bind, which succeeds
    // (RFC 4513, 5.1.2): an empty password is never sent.
    if password.is_empty() {
        return Ok(Answer::Refused {
            dn: entry.dn,
            code: INVALID_CREDENTIALS,
        });
    }
    let res = ldap
        .with_timeout(t)
        .simple_bind(&entry.dn, password)
        .map_err(unreachable)?;
    match res.rc {
        SUCCESS => {}
        INVALID_CREDENTIALS | INSUFFICIENT_ACCESS | UNWILLING_TO_PERFORM => {
            return Ok(Answer::Refused {
                dn: entry.dn,
                code: res.rc,
            });
        }
        _ => return Err(failed("the user's bind", &res)),
    }
    // The groups are read as the service account, not as the user.
    service_bind(ldap, settings)?;
    let role = settings
        .role_groups
        .role_of(|group| is_member(ldap, settings, group, &entry.dn))?;
    let attr = |name: &str| {
        entry
            .attrs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.first())
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let name = attr("displayName").or_else(|| attr("cn"));
    Ok(Answer::Vouched(Person {
        dn: entry.dn,
        name,
        role,
    }))
}

/// Whether the group `group` (a groupOfNames, or an Active Directory group) lists
/// `user` among its `member`s.
fn is_member(
    ldap: &mut LdapConn,
    settings: &DirectorySettings,
    group: &str,
    user: &str,
) -> Result<bool, DirectoryError> {
    let filter = format!("(member={})", escape_value(user));
    let found = ldap
        .with_timeout(settings.timeout)
        .search(group, Scope::Base, &filter, vec!["1.1"])
        .map_err(unreachable)?;
    match found.1.rc {
        SUCCESS => Ok(found.0.iter().any(|e| !e.is_ref())),
        NO_SUCH_OBJECT => {
            tracing::warn!(
                group,
                "a group of --ldap-role-groups is not in the directory; nobody gets its role"
            );
            Ok(false)
        }
        _ => Err(failed("the search of a role group", &found.1)),
    }
}

/// What the directory made of a sign-in (see `accounts::login`).
#[derive(Debug)]
pub enum FirstFactor {
    /// Not the directory's to answer (a local account, or no directory): the local
    /// checks go on with this account, if any.
    Local(Option<Box<User>>),
    /// The directory vouches for the user, whose account now says what it says.
    Vouched(Box<User>),
    /// Refused, and written to the audit trail.
    Refused(LoginOutcome),
}

/// The directory's part of a sign-in. A directory account, or an address no account
/// here has while a directory is configured, is checked against the directory; every
/// other attempt is left to the local checks. Whatever the directory answers, the
/// attempt pays for one password verification, as a local one does, and is audited.
pub fn first_factor(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    directory: Option<&Directory>,
    actor: &Actor,
    email: Option<&str>,
    password: &str,
    user: Option<User>,
) -> Result<FirstFactor, AccountError> {
    let ours = match &user {
        Some(u) => u.is_directory(),
        None => directory.is_some() && email.is_some(),
    };
    let email = user.as_ref().map(|u| u.email.as_str()).or(email);
    let (true, Some(email)) = (ours, email) else {
        return Ok(FirstFactor::Local(user.map(Box::new)));
    };
    let email = email.to_string();
    password::verify_dummy(password);
    let user_actor = Actor {
        user_id: user.as_ref().map(|u| u.id),
        ip: actor.ip.clone(),
    };
    let refuse = |conn: &mut DbConn, mut detail: serde_json::Value| {
        detail["source"] = json!(users::SOURCE_DIRECTORY);
        accounts::record(conn, now, &user_actor, "login.failed", Some(&email), detail)
    };
    let Some(directory) = directory else {
        refuse(conn, json!({"reason": "directory_not_configured"}))?;
        return Ok(FirstFactor::Refused(LoginOutcome::Refused));
    };
    if let Some(u) = &user {
        let locked = u
            .locked_until
            .is_some_and(|until| store::from_db(until) > now);
        if !u.active || locked {
            let reason = if locked { "locked" } else { "inactive" };
            refuse(conn, json!({ "reason": reason }))?;
            return Ok(FirstFactor::Refused(LoginOutcome::Refused));
        }
    }
    // Changes the directory makes have no user as their actor.
    let by_directory = Actor {
        user_id: None,
        ip: actor.ip.clone(),
    };
    match directory.ask(&email, password) {
        Err(e) => {
            tracing::warn!(error = %e, email = %email, "sign-in through the directory failed");
            refuse(conn, json!({"reason": e.reason(), "error": e.to_string()}))?;
            Ok(FirstFactor::Refused(LoginOutcome::DirectoryUnreachable))
        }
        Ok(Answer::NotFound) => {
            // The directory dropped them: so does the desk (sessions end, cases go
            // to others).
            let mut deactivated = false;
            if let Some(u) = &user {
                let snap = directory.desk.get(conn)?;
                match crate::cases::assign::set_active(conn, &snap, now, &by_directory, u.id, false)
                {
                    Ok(_) => deactivated = true,
                    Err(AccountError::LastAdmin) => tracing::warn!(
                        email = %email,
                        "the directory no longer knows the last active admin; the account stays active"
                    ),
                    Err(e) => return Err(e),
                }
            }
            refuse(
                conn,
                json!({"reason": "not_in_directory", "deactivated": deactivated}),
            )?;
            Ok(FirstFactor::Refused(LoginOutcome::Refused))
        }
        Ok(Answer::Ambiguous(n)) => {
            refuse(conn, json!({"reason": "directory_ambiguous", "matches": n}))?;
            Ok(FirstFactor::Refused(LoginOutcome::Refused))
        }
        Ok(Answer::Refused { dn, code }) => {
            let detail = json!({
                "reason": "directory_refused",
                "source": users::SOURCE_DIRECTORY,
                "ldap_code": code,
                "dn": dn,
            });
            match &user {
                // A wrong directory password counts toward the lockout as a wrong
                // local one does.
                Some(u) => accounts::count_failed_login(conn, now, &user_actor, u, detail)?,
                None => refuse(conn, detail)?,
            }
            Ok(FirstFactor::Refused(LoginOutcome::Refused))
        }
        Ok(Answer::Vouched(person)) => {
            let Some(role) = person.role else {
                refuse(
                    conn,
                    json!({"reason": "no_directory_role", "dn": person.dn}),
                )?;
                return Ok(FirstFactor::Refused(LoginOutcome::Refused));
            };
            match sync_account(conn, now, &by_directory, &email, &person, role)? {
                Some(u) => Ok(FirstFactor::Vouched(Box::new(u))),
                None => {
                    refuse(conn, json!({"reason": "local_account"}))?;
                    Ok(FirstFactor::Refused(LoginOutcome::Refused))
                }
            }
        }
    }
}

/// The name riskdesk shows for a directory user: the directory's, cleaned, else the
/// address's local part.
fn display_name(name: Option<&str>, email: &str) -> String {
    let cleaned: String = name
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control())
        .take(100)
        .collect();
    match cleaned.trim() {
        "" => email.split('@').next().unwrap_or(email).to_string(),
        n => n.to_string(),
    }
}

/// Creates the account of a user the directory vouched for, or brings its name, role
/// and DN in line with the directory, each change on the audit trail. None when a
/// local account holds the address (it was created meanwhile).
fn sync_account(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    actor: &Actor,
    email: &str,
    person: &Person,
    role: Role,
) -> Result<Option<User>, AccountError> {
    let name = display_name(person.name.as_deref(), email);
    write_tx(conn, |conn| {
        let Some(u) = users::find_by_email(conn, email)? else {
            let checked = accounts::check_new_user(&NewUserInput {
                email,
                name: &name,
                role: role.as_str(),
                language: None,
            })?
            .from_directory(&person.dn);
            return accounts::insert_user(conn, now, actor, &checked, NO_LOCAL_PASSWORD).map(Some);
        };
        if !u.is_directory() {
            return Ok(None);
        }
        let at = store::to_db(now);
        if u.role != role.as_str() || u.name != name {
            users::update_profile(conn, u.id, &name, role.as_str(), at)?;
        }
        if u.role != role.as_str() {
            accounts::record(
                conn,
                now,
                actor,
                "user.role_changed",
                Some(&u.email),
                json!({"from": u.role, "to": role.as_str(), "by": "directory", "dn": person.dn}),
            )?;
        }
        if u.name != name {
            accounts::record(
                conn,
                now,
                actor,
                "user.renamed",
                Some(&u.email),
                json!({"from": u.name, "to": name, "by": "directory"}),
            )?;
        }
        if u.directory_dn.as_deref() != Some(person.dn.as_str()) {
            users::set_directory_dn(conn, u.id, &person.dn, at)?;
            accounts::record(
                conn,
                now,
                actor,
                "user.directory_dn_changed",
                Some(&u.email),
                json!({"from": u.directory_dn, "to": person.dn, "by": "directory"}),
            )?;
        }
        Ok(users::find(conn, u.id)?)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_directory_cleaned() {
        assert_eq!(display_name(Some(" Wang Wei "), "w@b.example"), "Wang Wei");
        assert_eq!(display_name(Some("A\u{7}B"), "w@b.example"), "AB");
        assert_eq!(display_name(Some("  "), "wang.wei@b.example"), "wang.wei");
        assert_eq!(display_name(None, "wang.wei@b.example"), "wang.wei");
        assert_eq!(
            display_name(Some(&"x".repeat(300)), "w@b").chars().count(),
            100
        );
    }

    #[test]
    fn sign_ins_beyond_the_limit_are_turned_away_at_once() {
        let count = AtomicUsize::new(0);
        let held: Vec<_> = (0..MAX_IN_FLIGHT)
            .map(|_| Slot::take(&count).unwrap())
            .collect();
        assert!(matches!(Slot::take(&count), Err(DirectoryError::Busy)));
        drop(held);
        assert_eq!(count.load(Ordering::SeqCst), 0);
        assert!(Slot::take(&count).is_ok());
    }
}
