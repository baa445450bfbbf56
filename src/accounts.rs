// Account operations shared by the command line, the admin pages and sign-in:
// each change runs in one transaction together with its audit event.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use crate::db::{DbConn, write_tx};
use crate::directory::{Directory, FirstFactor};
use crate::domain::password::{self, NewPassword};
use crate::domain::tokens;
use crate::domain::{Email, Lang, Role, UserName, parse_timezone};
use crate::store::{self, apikeys, audit, sessions, users, users::User};

/// Failed sign-ins in a row that lock an account.
pub const LOCK_AFTER_FAILURES: i32 = 10;
/// How long a locked account stays locked.
pub const LOCK_MINUTES: i64 = 15;

/// Who makes a change: a signed-in user, or the command line.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub user_id: Option<i64>,
    pub ip: Option<String>,
}

impl Actor {
    pub fn cli() -> Self {
        Actor::default()
    }

    pub fn user(id: i64, ip: Option<String>) -> Self {
        Actor {
            user_id: Some(id),
            ip,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("a user with the e-mail {0} exists already")]
    DuplicateEmail(String),
    #[error("no such user")]
    NotFound,
    #[error("you cannot do that to your own account")]
    OwnAccount,
    #[error("the desk must keep at least one active admin")]
    LastAdmin,
    #[error("new_password: {0}")]
    Password(crate::domain::password::PasswordProblem),
    #[error("the current password is wrong")]
    WrongPassword,
    #[error("the account signs in against the directory: its password is changed there")]
    DirectoryAccount,
    #[error("database error: {0}")]
    Db(#[from] diesel::result::Error),
}

impl AccountError {
    fn invalid(field: &'static str, message: String) -> Self {
        AccountError::Invalid { field, message }
    }
}

/// Writes one audit event.
pub fn record(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    actor: &Actor,
    kind: &str,
    subject: Option<&str>,
    detail: serde_json::Value,
) -> diesel::QueryResult<()> {
    audit::insert(
        conn,
        &audit::NewAuditEvent {
            at: store::to_db(now),
            actor_user_id: actor.user_id,
            kind,
            subject,
            ip: actor.ip.as_deref(),
            detail: detail.to_string(),
        },
    )
    .map(|_| ())
}

/// The input of a new user, still unchecked.
#[derive(Debug, Clone)]
pub struct NewUserInput<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub role: &'a str,
    pub language: Option<&'a str>,
}

pub fn create_user(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    actor: &Actor,
    input: &NewUserInput<'_>,
    password: &NewPassword,
) -> Result<User, AccountError> {
    let checked = check_new_user(input)?;
    let hash = password::hash(password);
    write_tx(conn, |conn| insert_user(conn, now, actor, &checked, &hash))
}

/// A new user's input, checked.
#[derive(Debug, Clone)]
pub struct CheckedUser {
    email: Email,
    name: UserName,
    role: Role,
    language: Option<&'static str>,
    /// The distinguished name of a directory account; None for a local account.
    directory_dn: Option<String>,
}

impl CheckedUser {
    /// The same user as a directory account found under `dn`.
    pub fn from_directory(self, dn: &str) -> Self {
        CheckedUser {
            directory_dn: Some(dn.to_string()),
            ..self
        }
    }
}

/// Checks a new user's input without touching the database.
pub fn check_new_user(input: &NewUserInput<'_>) -> Result<CheckedUser, AccountError> {
    let email = Email::parse(input.email).map_err(|m| AccountError::invalid("email", m))?;
    let name = UserName::parse(input.name).map_err(|m| AccountError::invalid("name", m))?;
    let role: Role = input
        .role
        .parse()
        .map_err(|m| AccountError::invalid("role", m))?;
    let language = match input.language {
        Some(l) => Some(
            Lang::parse(l)
                .ok_or_else(|| {
                    AccountError::invalid("language", format!("unknown language '{l}'"))
                })?
                .code(),
        ),
        None => None,
    };
    Ok(CheckedUser {
        email,
        name,
        role,
        language,
        directory_dn: None,
    })
}

/// Inserts a checked user with its audit event, inside the caller's transaction.
pub fn insert_user(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    actor: &Actor,
    u: &CheckedUser,
    password_hash: &str,
) -> Result<User, AccountError> {
    let at = store::to_db(now);
    let user = users::insert(
        conn,
        &users::NewUser {
            email: u.email.as_str(),
            name: u.name.as_str(),
            role: u.role.as_str(),
            password_hash,
            active: true,
            language: u.language,
            timezone: None,
            failed_logins: 0,
            created_at: at,
            updated_at: at,
            source: if u.directory_dn.is_some() {
                users::SOURCE_DIRECTORY
            } else {
                users::SOURCE_LOCAL
            },
            directory_dn: u.directory_dn.as_deref(),
        },
    )
    .map_err(|e| {
        if store::is_unique_violation(&e) {
            AccountError::DuplicateEmail(u.email.to_string())
        } else {
            AccountError::Db(e)
        }
    })?;
    let mut detail = json!({"role": user.role, "name": user.name});
    if let Some(dn) = &user.directory_dn {
        detail["source"] = json!(user.source);
        detail["dn"] = json!(dn);
    }
    record(conn, now, actor, "user.created", Some(&user.email), detail)?;
    Ok(user)
}

fn load(conn: &mut DbConn, id: i64) -> Result<User, AccountError> {
    users::find(conn, id)?.ok_or(AccountError::NotFound)
}

/// Changes a user's name and role. Admins cannot change their own role, and the
/// last active admin keeps theirs.
pub fn update_user(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    actor: &Actor,
    id: i64,
    name: &str,
    role: &str,
) -> Result<User, AccountError> {
    let name = UserName::parse(name).map_err(|m| AccountError::invalid("name", m))?;
    let role: Role = role.parse().map_err(|m| AccountError::invalid("role", m))?;
    write_tx(conn, |conn| {
        let user = load(conn, id)?;
        if user.role != role.as_str() {
            if actor.user_id == Some(id) {
                return Err(AccountError::OwnAccount);
            }
            if user.role == "admin" && user.active && users::count_active_admins(conn)? <= 1 {
                return Err(AccountError::LastAdmin);
            }
        }
        users::update_profile(conn, id, name.as_str(), role.as_str(), store::to_db(now))?;
        if user.role != role.as_str() {
            record(
                conn,
                now,
                actor,
                "user.role_changed",
                Some(&user.email),
                json!({"from": user.role, "to": role.as_str()}),
            )?;
        }
        if user.name != name.as_str() {
            record(
                conn,
                now,
                actor,
                "user.renamed",
                Some(&user.email),
                json!({"from": user.name, "to": name.as_str()}),
            )?;
        }
        load(conn, id)
    })
}

/// Deactivates (ending every session at once) or reactivates a user. `then` runs
/// in the same transaction once the change is written (the case commands hand a
/// deactivated agent's cases to others there; see `cases::assign::set_active`).
pub fn set_active(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    actor: &Actor,
    id: i64,
    active: bool,
    then: impl FnOnce(&mut DbConn) -> Result<(), AccountError>,
) -> Result<User, AccountError> {
    write_tx(conn, |conn| {
        let user = load(conn, id)?;
        if actor.user_id == Some(id) {
            return Err(AccountError::OwnAccount);
        }
        if !active && user.role == "admin" && user.active && users::count_active_admins(conn)? <= 1
        {
            return Err(AccountError::LastAdmin);
        }
        if user.active == active {
            return Ok(user);
        }
        users::set_active(conn, id, active, store::to_db(now))?;
        let ended = if active {
            0
        } else {
            sessions::delete_for_user(conn, id)?
        };
        if active {
            // A reactivated account starts with a clean sign-in record.
            users::clear_failed_logins(conn, id)?;
        }
        record(
            conn,
            now,
            actor,
            if active {
                "user.reactivated"
            } else {
                "user.deactivated"
            },
            Some(&user.email),
            json!({"sessions_ended": ended}),
        )?;
        then(conn)?;
        load(conn, id)
    })
}

/// Gives a user a new generated password, ends their sessions, and returns the
/// password to show once.
pub fn reset_password(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    actor: &Actor,
    id: i64,
) -> Result<(User, NewPassword), AccountError> {
    let password = NewPassword::generate();
    let hash = password::hash(&password);
    write_tx(conn, |conn| {
        let user = load(conn, id)?;
        if user.is_directory() {
            return Err(AccountError::DirectoryAccount);
        }
        users::set_password(conn, id, &hash, store::to_db(now))?;
        let ended = sessions::delete_for_user(conn, id)?;
        record(
            conn,
            now,
            actor,
            "user.password_reset",
            Some(&user.email),
            json!({"sessions_ended": ended}),
        )?;
        Ok((user, password))
    })
}

/// Changes one's own password after checking the current one. Other sessions of
/// the user end; the current one (`keep_session`) stays.
pub fn change_own_password(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    actor: &Actor,
    user: &User,
    current: &str,
    new: &str,
    keep_session: i64,
) -> Result<(), AccountError> {
    if user.is_directory() {
        return Err(AccountError::DirectoryAccount);
    }
    let new = NewPassword::parse(new, &user.email).map_err(AccountError::Password)?;
    if !password::verify(current, &user.password_hash) {
        return Err(AccountError::WrongPassword);
    }
    let hash = password::hash(&new);
    write_tx(conn, |conn| {
        users::set_password(conn, user.id, &hash, store::to_db(now))?;
        use crate::db::schema::sessions as s;
        use diesel::prelude::*;
        let ended = diesel::delete(
            s::table
                .filter(s::user_id.eq(user.id))
                .filter(s::id.ne(keep_session)),
        )
        .execute(conn)?;
        record(
            conn,
            now,
            actor,
            "user.password_changed",
            Some(&user.email),
            json!({"other_sessions_ended": ended}),
        )?;
        Ok(())
    })
}

/// Saves a user's language and time zone (None: follow the browser / UTC).
pub fn set_preferences(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    user_id: i64,
    language: Option<&str>,
    timezone: Option<&str>,
) -> Result<(), AccountError> {
    let language = match language.filter(|l| !l.is_empty()) {
        Some(l) => Some(
            Lang::parse(l)
                .ok_or_else(|| {
                    AccountError::invalid("language", format!("unknown language '{l}'"))
                })?
                .code(),
        ),
        None => None,
    };
    let timezone = match timezone.filter(|t| !t.is_empty()) {
        Some(t) => Some(
            parse_timezone(t)
                .map_err(|m| AccountError::invalid("timezone", m))?
                .name(),
        ),
        None => None,
    };
    users::set_preferences(conn, user_id, language, timezone, store::to_db(now))?;
    Ok(())
}

/// What a sign-in attempt came to.
#[derive(Debug)]
pub enum LoginOutcome {
    /// Signed in: the session cookie's value and the user.
    Success {
        session_token: String,
        user: Box<User>,
    },
    /// The password was right and the user has a second factor: no session yet,
    /// the token of the sign-in waiting for its code (see `mfa`).
    SecondStep { challenge: String, user: Box<User> },
    /// Wrong e-mail, wrong password, inactive or locked: one answer for all.
    Refused,
    /// The account signs in against the directory, and the directory cannot be
    /// reached (down, too slow, or refusing the service account).
    DirectoryUnreachable,
}

/// Checks the credentials (always paying for one argon2 verification), counts
/// failures, locks after [`LOCK_AFTER_FAILURES`], and opens a new session.
/// Directory accounts, and addresses unknown here while a directory is configured,
/// are checked against the directory (see [`crate::directory`]).
pub fn login(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    email: &str,
    password: &str,
    ip: Option<&str>,
    directory: Option<&Directory>,
) -> Result<LoginOutcome, AccountError> {
    let actor = Actor {
        user_id: None,
        ip: ip.map(String::from),
    };
    let normalised = Email::parse(email).map(Email::into_string).ok();
    let user = match &normalised {
        Some(e) => users::find_by_email(conn, e)?,
        None => None,
    };
    let (user, vouched) = match crate::directory::first_factor(
        conn,
        now,
        directory,
        &actor,
        normalised.as_deref(),
        password,
        user,
    )? {
        FirstFactor::Local(user) => (user.map(|u| *u), false),
        FirstFactor::Vouched(user) => (Some(*user), true),
        FirstFactor::Refused(outcome) => return Ok(outcome),
    };
    let Some(user) = user else {
        password::verify_dummy(password);
        let subject = normalised.unwrap_or_else(|| email.chars().take(100).collect());
        record(
            conn,
            now,
            &actor,
            "login.failed",
            Some(&subject),
            json!({"reason": "unknown_user"}),
        )?;
        return Ok(LoginOutcome::Refused);
    };
    let ok = vouched || password::verify(password, &user.password_hash);
    let locked = user
        .locked_until
        .is_some_and(|until| store::from_db(until) > now);
    let actor = Actor {
        user_id: Some(user.id),
        ip: actor.ip,
    };
    if !user.active || locked {
        record(
            conn,
            now,
            &actor,
            "login.failed",
            Some(&user.email),
            json!({"reason": if locked { "locked" } else { "inactive" }}),
        )?;
        return Ok(LoginOutcome::Refused);
    }
    if !ok {
        write_tx(conn, |conn| {
            count_failure(conn, now, &actor, &user, "login.failed", "wrong_password")
        })?;
        return Ok(LoginOutcome::Refused);
    }
    // A user with a second factor gets no session yet: the code comes first.
    if let Some(challenge) = crate::mfa::begin_second_step(conn, now, &user, ip)? {
        return Ok(LoginOutcome::SecondStep {
            challenge,
            user: Box::new(user),
        });
    }
    let session_token = write_tx(conn, |conn| {
        open_session(conn, now, &actor, &user, ip, json!({"source": user.source}))
    })?;
    Ok(LoginOutcome::Success {
        session_token,
        user: Box::new(user),
    })
}

/// Counts one failed attempt at signing in as `user` (a wrong password or second
/// factor), recording `kind` with `reason`, and locks the account after
/// [`LOCK_AFTER_FAILURES`] in a row. Runs inside the caller's transaction; returns
/// the failures in a row.
pub fn count_failure(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    actor: &Actor,
    user: &User,
    kind: &str,
    reason: &str,
) -> Result<i32, AccountError> {
    count_failure_with(conn, now, actor, user, kind, json!({"reason": reason}))
}

/// [`count_failure`] with the event's whole `detail` (its `reason` and more); the
/// count of failures is added to it.
fn count_failure_with(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    actor: &Actor,
    user: &User,
    kind: &str,
    mut detail: serde_json::Value,
) -> Result<i32, AccountError> {
    let failures = users::add_failed_login(conn, user.id)?;
    detail["failures"] = json!(failures);
    record(conn, now, actor, kind, Some(&user.email), detail)?;
    if failures >= LOCK_AFTER_FAILURES {
        let until = now + Duration::minutes(LOCK_MINUTES);
        users::lock(conn, user.id, store::to_db(until))?;
        record(
            conn,
            now,
            actor,
            "account.locked",
            Some(&user.email),
            json!({"until": until.to_rfc3339(), "failures": failures}),
        )?;
    }
    Ok(failures)
}

/// Opens a session for `user`, whose sign-in is complete: clears the failure count
/// and records `login.succeeded` with `detail`. Runs inside the caller's
/// transaction; returns the session cookie's value.
pub fn open_session(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    actor: &Actor,
    user: &User,
    ip: Option<&str>,
    detail: serde_json::Value,
) -> Result<String, AccountError> {
    let session_token = tokens::random_token(32);
    let csrf = tokens::random_token(32);
    if user.failed_logins != 0 || user.locked_until.is_some() {
        users::clear_failed_logins(conn, user.id)?;
    }
    sessions::insert(
        conn,
        &sessions::NewSession {
            token_hash: &tokens::digest(&session_token),
            user_id: user.id,
            csrf_token: &csrf,
            created_at: store::to_db(now),
            last_seen_at: store::to_db(now),
            ip,
        },
    )?;
    record(
        conn,
        now,
        actor,
        "login.succeeded",
        Some(&user.email),
        detail,
    )?;
    Ok(session_token)
}

/// Counts a wrong directory password against `user` in a transaction of its own
/// (see [`count_failure`]); `detail` (with its `reason`) goes on `login.failed`.
pub fn count_failed_login(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    actor: &Actor,
    user: &User,
    detail: serde_json::Value,
) -> Result<(), AccountError> {
    write_tx(conn, |conn| {
        count_failure_with(conn, now, actor, user, "login.failed", detail).map(|_| ())
    })
}

/// Ends a session (logout).
pub fn logout(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    actor: &Actor,
    session_id: i64,
    email: &str,
) -> Result<(), AccountError> {
    write_tx(conn, |conn| {
        sessions::delete(conn, session_id)?;
        record(conn, now, actor, "logout", Some(email), json!({}))?;
        Ok(())
    })
}

/// Who ends a user's sessions all at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionsEndedBy {
    /// The user, signing out everywhere.
    Themselves,
    /// An admin.
    Admin,
}

/// Ends every session of a user at once (signing out everywhere, or an admin ending
/// them), audited as `sessions.ended` with the number ended. An admin ends their own
/// sessions by signing out everywhere, not from the users page.
pub fn end_sessions(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    actor: &Actor,
    user_id: i64,
    by: SessionsEndedBy,
) -> Result<usize, AccountError> {
    if by == SessionsEndedBy::Admin && actor.user_id == Some(user_id) {
        return Err(AccountError::OwnAccount);
    }
    write_tx(conn, |conn| {
        let user = load(conn, user_id)?;
        let ended = sessions::delete_for_user(conn, user_id)?;
        record(
            conn,
            now,
            actor,
            "sessions.ended",
            Some(&user.email),
            json!({
                "sessions_ended": ended,
                "by": match by {
                    SessionsEndedBy::Themselves => "self",
                    SessionsEndedBy::Admin => "admin",
                },
            }),
        )?;
        Ok(ended)
    })
}

/// Creates an API key with the default scope (`alerts:write`), no expiry and the
/// default rate limit, and returns it with the whole key, to show once. Keys with
/// other settings: `apikeys::create`.
pub fn create_api_key(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    actor: &Actor,
    name: &str,
) -> Result<(apikeys::ApiKey, String), AccountError> {
    let request = crate::domain::apikey::KeyRequest {
        name,
        scopes: crate::domain::apikey::Scopes::DEFAULT,
        expires_in_days: None,
        rate_limit: None,
    };
    crate::apikeys::create(conn, now, actor, &request).map_err(|e| match e {
        crate::apikeys::KeyError::Invalid(e) => AccountError::invalid(e.field(), e.to_string()),
        crate::apikeys::KeyError::Db(e) => AccountError::Db(e),
        crate::apikeys::KeyError::NotFound(_) => AccountError::NotFound,
    })
}

/// An agent's routing profile as typed: queue names, skills, capacity in weight units,
/// an optional shift calendar's name, and whether cases are given automatically.
#[derive(Debug, Clone)]
pub struct RoutingInput {
    pub queues: Vec<String>,
    pub skills: Vec<String>,
    pub capacity: i32,
    pub shift_calendar: Option<String>,
    pub auto_assign: bool,
}

/// Checks a skill's name: 1 to 32 lower-case letters, digits, `_` or `-`.
pub fn parse_skill(s: &str) -> Result<String, String> {
    let s = s.trim().to_lowercase();
    if !s.is_empty()
        && s.len() <= 32
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        Ok(s)
    } else {
        Err(format!(
            "'{s}' is not a skill name (letters, digits, _ or -)"
        ))
    }
}

/// Sets a user's routing profile, refusing unknown queues and calendars and a
/// capacity below what they carry now. `then` runs in the same transaction once the
/// profile is written (see `cases::assign::set_routing`).
pub fn set_routing(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    actor: &Actor,
    id: i64,
    input: &RoutingInput,
    then: impl FnOnce(&mut DbConn) -> Result<(), AccountError>,
) -> Result<User, AccountError> {
    use crate::db::schema::{calendars, queues};
    use diesel::prelude::*;
    if !(0..=100).contains(&input.capacity) {
        return Err(AccountError::invalid(
            "capacity",
            "the capacity must be from 0 to 100 weight units".into(),
        ));
    }
    let mut skills = Vec::new();
    for s in &input.skills {
        skills.push(parse_skill(s).map_err(|m| AccountError::invalid("skills", m))?);
    }
    skills.sort();
    skills.dedup();
    write_tx(conn, |conn| {
        let user = load(conn, id)?;
        if input.capacity < user.current_load {
            return Err(AccountError::invalid(
                "capacity",
                format!(
                    "the agent carries {} weight units now; the capacity cannot be less",
                    user.current_load
                ),
            ));
        }
        let mut queue_ids = Vec::new();
        for name in &input.queues {
            let qid: Option<i64> = queues::table
                .filter(queues::name.eq(name.trim()))
                .select(queues::id)
                .first(conn)
                .optional()?;
            queue_ids.push(qid.ok_or_else(|| {
                AccountError::invalid("queues", format!("no queue is named '{}'", name.trim()))
            })?);
        }
        let shift = match input.shift_calendar.as_deref().filter(|c| !c.is_empty()) {
            None => None,
            Some(name) => Some(
                calendars::table
                    .filter(calendars::name.eq(name))
                    .select(calendars::id)
                    .first::<i64>(conn)
                    .optional()?
                    .ok_or_else(|| {
                        AccountError::invalid("shift", format!("no calendar is named '{name}'"))
                    })?,
            ),
        };
        users::set_routing(
            conn,
            id,
            &users::Routing {
                capacity: input.capacity,
                skills: &skills,
                queue_ids: &queue_ids,
                shift_calendar_id: shift,
                auto_assign: input.auto_assign,
            },
            store::to_db(now),
        )?;
        record(
            conn,
            now,
            actor,
            "user.routing_changed",
            Some(&user.email),
            json!({
                "queues": input.queues,
                "skills": skills,
                "capacity": input.capacity,
                "shift": input.shift_calendar,
                "auto_assign": input.auto_assign,
            }),
        )?;
        then(conn)?;
        load(conn, id)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{self, DatabaseUrl};

    fn pool() -> (tempfile::TempDir, db::DbPool) {
        let dir = tempfile::tempdir().unwrap();
        let pool = db::connect(&DatabaseUrl::Sqlite(dir.path().join("t.db")), 1).unwrap();
        (dir, pool)
    }

    #[test]
    fn every_refusal_pays_for_exactly_one_verification() {
        let (_dir, pool) = pool();
        let mut conn = pool.get().unwrap();
        let now = Utc::now();
        let pw = NewPassword::parse("the right password", "a@bank.example").unwrap();
        let input = NewUserInput {
            email: "a@bank.example",
            name: "A",
            role: "agent",
            language: None,
        };
        create_user(&mut conn, now, &Actor::cli(), &input, &pw).unwrap();
        let cost = |conn: &mut DbConn, email: &str, password: &str| {
            let before = password::verifications_on_this_thread();
            let outcome = login(conn, now, email, password, None, None).unwrap();
            (password::verifications_on_this_thread() - before, outcome)
        };
        let (n, o) = cost(&mut conn, "nobody@bank.example", "whatever it is");
        assert_eq!(n, 1);
        assert!(matches!(o, LoginOutcome::Refused));
        let (n, o) = cost(&mut conn, "not an address", "whatever it is");
        assert_eq!(n, 1);
        assert!(matches!(o, LoginOutcome::Refused));
        let (n, o) = cost(&mut conn, "a@bank.example", "the wrong password");
        assert_eq!(n, 1);
        assert!(matches!(o, LoginOutcome::Refused));
        let (n, o) = cost(&mut conn, "a@bank.example", "the right password");
        assert_eq!(n, 1);
        assert!(matches!(o, LoginOutcome::Success { .. }));
    }

    #[test]
    fn directory_sign_ins_pay_for_exactly_one_verification_too() {
        use crate::directory::{Directory, NO_LOCAL_PASSWORD};
        let (_dir, pool) = pool();
        let mut conn = pool.get().unwrap();
        let now = Utc::now();
        let pw = NewPassword::parse("the right password", "a@bank.example").unwrap();
        let local = NewUserInput {
            email: "local@bank.example",
            name: "Local",
            role: "admin",
            language: None,
        };
        create_user(&mut conn, now, &Actor::cli(), &local, &pw).unwrap();
        let dn = "uid=d,ou=people,dc=bank,dc=example";
        let checked = check_new_user(&NewUserInput {
            email: "d@bank.example",
            name: "D",
            role: "agent",
            language: None,
        })
        .unwrap()
        .from_directory(dn);
        let d = insert_user(&mut conn, now, &Actor::cli(), &checked, NO_LOCAL_PASSWORD).unwrap();
        assert!(d.is_directory() && d.directory_dn.as_deref() == Some(dn));
        // Nothing listens on port 1: the directory is down.
        let settings = crate::domain::directory::DirectoryInput {
            url: Some("ldap://127.0.0.1:1"),
            user_base: Some("ou=people,dc=bank,dc=example"),
            role_groups: Some("agent=cn=agents,dc=bank,dc=example"),
            ..Default::default()
        }
        .check()
        .unwrap()
        .unwrap();
        let down = Directory::new(settings, Default::default());
        let cost = |conn: &mut DbConn, email: &str, directory: Option<&Directory>| {
            let before = password::verifications_on_this_thread();
            let outcome = login(conn, now, email, "the right password", None, directory).unwrap();
            (password::verifications_on_this_thread() - before, outcome)
        };
        // A directory account while no directory is configured.
        let (n, o) = cost(&mut conn, "d@bank.example", None);
        assert_eq!(n, 1);
        assert!(matches!(o, LoginOutcome::Refused));
        // Its marker is no password: the local check never accepts it.
        assert!(!password::verify(NO_LOCAL_PASSWORD, &d.password_hash));
        // A directory account, and an address unknown here, while the directory is down.
        for email in ["d@bank.example", "nobody@bank.example"] {
            let (n, o) = cost(&mut conn, email, Some(&down));
            assert_eq!(n, 1, "{email}");
            assert!(matches!(o, LoginOutcome::DirectoryUnreachable), "{email}");
        }
        // Not an address: refused as an unknown user, the directory not asked.
        let (n, o) = cost(&mut conn, "not an address", Some(&down));
        assert_eq!(n, 1);
        assert!(matches!(o, LoginOutcome::Refused));
        // A local account signs in without the directory.
        let (n, o) = cost(&mut conn, "local@bank.example", Some(&down));
        assert_eq!(n, 1);
        assert!(matches!(o, LoginOutcome::Success { .. }));
    }
}
