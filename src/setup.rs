// The first run: a desk without users prints a one-time link (`/setup/{token}`) that
// creates its first admin. Only the token's digest is kept, with its expiry.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use crate::accounts::{self, AccountError, Actor, NewUserInput, record};
use crate::db::{DbConn, write_tx};
use crate::domain::password::{self, NewPassword};
use crate::domain::tokens;
use crate::store::{settings, users, users::User};

/// Where the live token's digest and expiry are kept (`app_settings`).
const SETUP_KEY: &str = "setup_token";
/// How long a setup link works when nobody uses it.
pub const VALID_MINUTES: i64 = 60;

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The desk has a user: setup is over.
    #[error("the desk has users already")]
    HasUsers,
    /// Unknown, used or expired: one answer for all.
    #[error("the setup link is unknown, used or expired")]
    BadLink,
    #[error(transparent)]
    Account(#[from] AccountError),
    /// The password breaks the password rules.
    #[error("password: {0}")]
    Password(crate::domain::password::PasswordProblem),
    #[error("the two passwords differ")]
    Mismatch,
    #[error("database error: {0}")]
    Db(#[from] diesel::result::Error),
}

/// When the desk has no users, a new setup token valid for [`VALID_MINUTES`]; any
/// earlier one stops working. `None` when the desk has users.
pub fn issue(conn: &mut DbConn, now: DateTime<Utc>) -> diesel::QueryResult<Option<String>> {
    if users::count(conn)? > 0 {
        return Ok(None);
    }
    let token = tokens::random_token(32);
    let expires = now + Duration::minutes(VALID_MINUTES);
    let value = format!("{} {}", tokens::digest(&token), expires.to_rfc3339());
    settings::put(conn, SETUP_KEY, &value)?;
    Ok(Some(token))
}

/// The link a person opens to set the desk up.
pub fn link(public_url: &str, token: &str) -> String {
    format!("{}/setup/{token}", public_url.trim_end_matches('/'))
}

/// Whether the desk still has no users (the sign-in page then says where the setup
/// link is).
pub fn pending(conn: &mut DbConn) -> diesel::QueryResult<bool> {
    Ok(users::count(conn)? == 0)
}

/// The stored value when `token` is the live setup token at `now`. The presented
/// token's digest is compared with the stored one in constant time.
fn live(conn: &mut DbConn, now: DateTime<Utc>, token: &str) -> Result<String, SetupError> {
    if users::count(conn)? > 0 {
        return Err(SetupError::HasUsers);
    }
    let stored = settings::get(conn, SETUP_KEY)?.ok_or(SetupError::BadLink)?;
    let (digest, expires) = stored.split_once(' ').ok_or(SetupError::BadLink)?;
    let expires = DateTime::parse_from_rfc3339(expires).map_err(|_| SetupError::BadLink)?;
    let matches = tokens::secrets_equal(&tokens::digest(token), digest);
    if !matches || now >= expires {
        return Err(SetupError::BadLink);
    }
    Ok(stored)
}

/// Whether `token` would set the desk up now.
pub fn check(conn: &mut DbConn, now: DateTime<Utc>, token: &str) -> Result<(), SetupError> {
    live(conn, now, token).map(|_| ())
}

/// The first admin as typed on the setup page.
#[derive(Debug, Clone)]
pub struct SetupInput<'a> {
    pub name: &'a str,
    pub email: &'a str,
    pub password: &'a str,
    pub confirm: &'a str,
    /// The language the page was read in, kept as the admin's.
    pub language: Option<&'a str>,
}

/// The admin created, and the token of the session that signs them in.
pub struct Created {
    pub user: User,
    pub session_token: String,
}

/// Creates the first admin and signs them in, using up the token, in one
/// transaction with its audit events; refuses (changing nothing) when the token is
/// not live, the input breaks a rule, or a user exists.
pub fn create_admin(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    token: &str,
    input: &SetupInput<'_>,
    ip: Option<&str>,
) -> Result<Created, SetupError> {
    // Refuse a dead link before checking anything else or hashing a password.
    check(conn, now, token)?;
    let checked = accounts::check_new_user(&NewUserInput {
        email: input.email,
        name: input.name,
        role: "admin",
        language: input.language,
    })?;
    let new_password =
        NewPassword::parse(input.password, input.email).map_err(SetupError::Password)?;
    if input.password != input.confirm {
        return Err(SetupError::Mismatch);
    }
    let hash = password::hash(&new_password);
    let anonymous = Actor {
        user_id: None,
        ip: ip.map(str::to_string),
    };
    let (user, session_token) = write_tx(conn, |conn| {
        let stored = live(conn, now, token)?;
        // Two forms racing with one token: only one takes it.
        if !settings::take(conn, SETUP_KEY, &stored)? {
            return Err(SetupError::BadLink);
        }
        let user = accounts::insert_user(conn, now, &anonymous, &checked, &hash)?;
        let actor = Actor::user(user.id, anonymous.ip.clone());
        record(
            conn,
            now,
            &actor,
            "setup.completed",
            Some(&user.email),
            json!({"role": "admin", "via": "setup_link"}),
        )?;
        let session_token =
            accounts::open_session(conn, now, &actor, &user, ip, json!({"via": "setup_link"}))?;
        Ok((user, session_token))
    })?;
    Ok(Created {
        user,
        session_token,
    })
}

#[cfg(test)]
mod tests {
    use super::link;

    #[test]
    fn links_join_the_public_url() {
        assert_eq!(
            link("https://desk.example/", "abc"),
            "https://desk.example/setup/abc"
        );
        assert_eq!(
            link("http://127.0.0.1:8080", "x"),
            "http://127.0.0.1:8080/setup/x"
        );
    }
}
