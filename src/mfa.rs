// The second factor of sign-in: enrolling an authenticator app, the step after the
// password, recovery codes, turning it off and the admins' reset, each with its audit.
//
// The shared secret is stored sealed under a key derived from the desk's secret key
// (`MfaKey`); a code is accepted only for a time step later than the last one
// accepted (a conditional update, so on every instance at once); recovery codes are
// stored as digests and each is marked used by a conditional update.

use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::accounts::{self, AccountError, Actor};
use crate::db::{DbConn, write_tx};
use crate::domain::Role;
use crate::domain::tokens;
use crate::domain::totp::{self, CodeCheck, CodeError, CodeInput};
use crate::store::{self, mfa as mfa_store, sessions, settings, users, users::User};

type HmacSha256 = Hmac<Sha256>;

/// How long the second step of a sign-in waits for its code.
pub const CHALLENGE_MINUTES: i64 = 5;

/// The key that seals the users' TOTP secrets, derived from the desk's secret key
/// with a label of its own (as the QA salt and the identifier key are with theirs).
#[derive(Clone)]
pub struct MfaKey {
    enc: HmacSha256,
    mac: HmacSha256,
}

impl std::fmt::Debug for MfaKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MfaKey(…)")
    }
}

const SEAL_VERSION: &str = "v1";
const NONCE_BYTES: usize = 16;
const TAG_BYTES: usize = 32;

impl MfaKey {
    /// The key of a desk whose secret key is `secret_key`.
    pub fn derive(secret_key: &str) -> Self {
        let root = Sha256::digest(format!("mfa-secrets:{secret_key}").as_bytes());
        let sub = |label: &[u8]| {
            let mut m = HmacSha256::new_from_slice(&root).expect("HMAC takes any key");
            m.update(label);
            HmacSha256::new_from_slice(&m.finalize().into_bytes()).expect("HMAC takes any key")
        };
        MfaKey {
            enc: sub(b"encrypt"),
            mac: sub(b"authenticate"),
        }
    }

    /// Tells which key sealed a value, and nothing of the key.
    fn mark(&self) -> String {
        let mut m = self.mac.clone();
        m.update(b"riskdesk mfa key check");
        hex::encode(&m.finalize().into_bytes()[..8])
    }

    fn keystream(&self, nonce: &[u8], len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 32);
        let mut block: u32 = 0;
        while out.len() < len {
            let mut m = self.enc.clone();
            m.update(nonce);
            m.update(&block.to_be_bytes());
            out.extend_from_slice(&m.finalize().into_bytes());
            block += 1;
        }
        out.truncate(len);
        out
    }

    fn tag(&self, user_id: i64, nonce: &[u8], ciphertext: &[u8]) -> HmacSha256 {
        let mut m = self.mac.clone();
        m.update(SEAL_VERSION.as_bytes());
        m.update(&user_id.to_be_bytes());
        m.update(nonce);
        m.update(ciphertext);
        m
    }

    /// Seals `user_id`'s secret: encrypted with an HMAC-SHA-256 key stream under a
    /// random nonce, then authenticated (HMAC-SHA-256 over the user, nonce and
    /// ciphertext), as `v1:<key mark>:<base64>`.
    pub fn seal(&self, user_id: i64, secret: &[u8]) -> String {
        use base64::Engine;
        let mut nonce = [0u8; NONCE_BYTES];
        getrandom::fill(&mut nonce).expect("the operating system's random source");
        let ciphertext: Vec<u8> = secret
            .iter()
            .zip(self.keystream(&nonce, secret.len()))
            .map(|(a, b)| a ^ b)
            .collect();
        let tag = self
            .tag(user_id, &nonce, &ciphertext)
            .finalize()
            .into_bytes();
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&ciphertext);
        blob.extend_from_slice(&tag);
        format!(
            "{SEAL_VERSION}:{}:{}",
            self.mark(),
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(blob)
        )
    }

    /// The secret `sealed` holds for `user_id`, if this key sealed it for them and
    /// nothing was changed.
    pub fn open(&self, user_id: i64, sealed: &str) -> Option<Vec<u8>> {
        use base64::Engine;
        let mut parts = sealed.splitn(3, ':');
        let (version, mark, body) = (parts.next()?, parts.next()?, parts.next()?);
        if version != SEAL_VERSION || mark != self.mark() {
            return None;
        }
        let blob = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(body)
            .ok()?;
        if blob.len() < NONCE_BYTES + TAG_BYTES {
            return None;
        }
        let (nonce, rest) = blob.split_at(NONCE_BYTES);
        let (ciphertext, tag) = rest.split_at(rest.len() - TAG_BYTES);
        self.tag(user_id, nonce, ciphertext)
            .verify_slice(tag)
            .ok()?;
        Some(
            ciphertext
                .iter()
                .zip(self.keystream(nonce, ciphertext.len()))
                .map(|(a, b)| a ^ b)
                .collect(),
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MfaError {
    #[error("the code is not a code: {0:?}")]
    Input(CodeError),
    #[error("the code is wrong")]
    WrongCode {
        /// The account is locked now.
        locked: bool,
    },
    #[error("the code was used already")]
    ReusedCode,
    #[error("the user has no second factor")]
    NotEnrolled,
    #[error("the user has a second factor already")]
    AlreadyEnrolled,
    #[error("no enrolment is waiting for its code")]
    NotPending,
    #[error("the user's role requires a second factor")]
    Required,
    #[error("the account is locked after too many wrong codes or passwords")]
    Locked,
    #[error("the stored secret cannot be read under the desk's current secret key")]
    Unreadable,
    #[error("the sign-in expired or is unknown")]
    Expired,
    #[error("you cannot do that to your own account")]
    OwnAccount,
    #[error("no such user")]
    NotFound,
    #[error(transparent)]
    Account(#[from] AccountError),
    #[error("database error: {0}")]
    Db(#[from] diesel::result::Error),
}

/// Whether the user has a confirmed second factor.
pub fn is_enrolled(conn: &mut DbConn, user_id: i64) -> diesel::QueryResult<bool> {
    mfa_store::is_enrolled(conn, user_id)
}

/// Where a user's second factor stands, without reading it: "off", "pending" or "on".
pub fn state_of(conn: &mut DbConn, user_id: i64) -> diesel::QueryResult<&'static str> {
    Ok(match mfa_store::find(conn, user_id)? {
        None => "off",
        Some(f) if f.confirmed() => "on",
        Some(_) => "pending",
    })
}

/// Whether users of `role` must have a second factor (`--require-mfa`).
pub fn required(roles: &[Role], role: Role) -> bool {
    roles.contains(&role)
}

/// Opens a user's stored secret: under the current key, else under the key of the
/// secret the desk generated and kept in the database (a desk that was given
/// `--secret-key` later), in which case it is sealed anew under the current key.
/// None when neither opens it.
fn open_secret(
    conn: &mut DbConn,
    key: &MfaKey,
    factor: &mfa_store::Factor,
) -> Result<Option<Vec<u8>>, MfaError> {
    if let Some(secret) = key.open(factor.user_id, &factor.secret_sealed) {
        return Ok(Some(secret));
    }
    let Some(stored) = settings::get(conn, "secret_key")? else {
        return Ok(None);
    };
    let Some(secret) = MfaKey::derive(&stored).open(factor.user_id, &factor.secret_sealed) else {
        return Ok(None);
    };
    mfa_store::reseal(conn, factor.user_id, &key.seal(factor.user_id, &secret))?;
    tracing::info!(
        user_id = factor.user_id,
        "a second factor sealed under the desk's generated key was sealed anew under --secret-key"
    );
    Ok(Some(secret))
}

/// Where a user's second factor stands.
#[derive(Debug, Clone)]
pub enum Status {
    /// None: the user signs in with the password only.
    Off,
    /// Enrolment started: the secret to show (QR code and text) until confirmed.
    Pending { secret: Option<Vec<u8>> },
    /// Confirmed: since when, and how many recovery codes are left.
    On {
        since: chrono::NaiveDateTime,
        recovery_codes_left: i64,
        readable: bool,
    },
}

pub fn status(conn: &mut DbConn, key: &MfaKey, user_id: i64) -> Result<Status, MfaError> {
    let Some(factor) = mfa_store::find(conn, user_id)? else {
        return Ok(Status::Off);
    };
    Ok(match factor.confirmed_at {
        None => Status::Pending {
            secret: open_secret(conn, key, &factor)?,
        },
        Some(at) => Status::On {
            since: at,
            recovery_codes_left: mfa_store::recovery_codes_left(conn, user_id)?,
            readable: open_secret(conn, key, &factor)?.is_some(),
        },
    })
}

/// Starts (or starts over) enrolling an authenticator: a new secret, pending until a
/// code from the app confirms it.
pub fn start(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    key: &MfaKey,
    user: &User,
) -> Result<(), MfaError> {
    let sealed = key.seal(user.id, &totp::new_secret());
    write_tx(conn, |conn| {
        if mfa_store::put_pending(conn, user.id, &sealed, store::to_db(now))? == 0 {
            return Err(MfaError::AlreadyEnrolled);
        }
        Ok(())
    })
}

/// Only six digits will do where the app's code is asked for.
fn app_code(input: &str) -> Result<String, MfaError> {
    match totp::parse_code(input) {
        Ok(CodeInput::Totp(code)) => Ok(code),
        Ok(CodeInput::Recovery(_)) => Err(MfaError::Input(CodeError::NotACode)),
        Err(e) => Err(MfaError::Input(e)),
    }
}

/// New recovery codes (to show once) and their digests (to store).
fn new_recovery_codes(user_id: i64) -> (Vec<String>, Vec<String>) {
    let codes: Vec<String> = (0..totp::RECOVERY_CODES)
        .map(|_| totp::new_recovery_code())
        .collect();
    let digests = codes.iter().map(|c| recovery_digest(user_id, c)).collect();
    (
        codes.iter().map(|c| totp::recovery_display(c)).collect(),
        digests,
    )
}

fn recovery_digest(user_id: i64, normal: &str) -> String {
    tokens::digest(&format!("{user_id}:{normal}"))
}

/// Confirms the pending enrolment with a code from the app: the factor is on, and
/// the ten recovery codes are returned to show once. A wrong code changes nothing.
pub fn confirm(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    key: &MfaKey,
    actor: &Actor,
    user: &User,
    input: &str,
) -> Result<Vec<String>, MfaError> {
    let code = app_code(input)?;
    let factor = mfa_store::find(conn, user.id)?
        .filter(|f| !f.confirmed())
        .ok_or(MfaError::NotPending)?;
    let secret = open_secret(conn, key, &factor)?.ok_or(MfaError::NotPending)?;
    let CodeCheck::Accepted(step) = totp::check(&secret, &code, now, None) else {
        return Err(MfaError::WrongCode { locked: false });
    };
    let (shown, digests) = new_recovery_codes(user.id);
    write_tx(conn, |conn| {
        if mfa_store::confirm(conn, user.id, step, store::to_db(now))? != 1 {
            return Err(MfaError::NotPending);
        }
        mfa_store::replace_recovery_codes(conn, user.id, &digests, store::to_db(now))?;
        accounts::record(
            conn,
            now,
            actor,
            "mfa.enrolled",
            Some(&user.email),
            json!({"recovery_codes": digests.len()}),
        )?;
        Ok(())
    })?;
    Ok(shown)
}

/// Checks a current code from the app for an action of the signed-in user (new
/// recovery codes, turning the factor off). A wrong or reused code counts toward
/// the lockout as at sign-in (audited as `mfa.code_refused`); a locked account may
/// not act. Returns the step to take in the action's transaction.
fn check_current(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    key: &MfaKey,
    actor: &Actor,
    user_id: i64,
    input: &str,
) -> Result<(User, i64), MfaError> {
    let code = app_code(input)?;
    let user = users::find(conn, user_id)?.ok_or(MfaError::NotFound)?;
    if user.locked_until.is_some_and(|t| store::from_db(t) > now) {
        return Err(MfaError::Locked);
    }
    let factor = mfa_store::find(conn, user.id)?
        .filter(mfa_store::Factor::confirmed)
        .ok_or(MfaError::NotEnrolled)?;
    let secret = open_secret(conn, key, &factor)?.ok_or(MfaError::Unreadable)?;
    let (reason, err) = match totp::check(&secret, &code, now, factor.last_step) {
        CodeCheck::Accepted(step) => return Ok((user, step)),
        CodeCheck::Reused => ("reused_code", MfaError::ReusedCode),
        CodeCheck::Wrong => ("wrong_code", MfaError::WrongCode { locked: false }),
    };
    let failures = write_tx(conn, |conn| {
        accounts::count_failure(conn, now, actor, &user, "mfa.code_refused", reason)
    })?;
    Err(match err {
        MfaError::WrongCode { .. } => MfaError::WrongCode {
            locked: failures >= accounts::LOCK_AFTER_FAILURES,
        },
        e => e,
    })
}

/// Replaces the recovery codes after a current code from the app; returns the new
/// ones to show once.
pub fn regenerate_recovery_codes(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    key: &MfaKey,
    actor: &Actor,
    user_id: i64,
    input: &str,
) -> Result<Vec<String>, MfaError> {
    let (user, step) = check_current(conn, now, key, actor, user_id, input)?;
    let (shown, digests) = new_recovery_codes(user.id);
    write_tx(conn, |conn| {
        if mfa_store::take_step(conn, user.id, step)? != 1 {
            return Err(MfaError::ReusedCode);
        }
        mfa_store::replace_recovery_codes(conn, user.id, &digests, store::to_db(now))?;
        accounts::record(
            conn,
            now,
            actor,
            "mfa.recovery_codes_regenerated",
            Some(&user.email),
            json!({"recovery_codes": digests.len()}),
        )?;
        Ok(())
    })?;
    Ok(shown)
}

/// Turns the user's own second factor off after a current code from the app;
/// refused while their role requires one.
pub fn disable(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    key: &MfaKey,
    actor: &Actor,
    user_id: i64,
    input: &str,
    require: &[Role],
) -> Result<(), MfaError> {
    let user = users::find(conn, user_id)?.ok_or(MfaError::NotFound)?;
    let role: Role = user.role.parse().unwrap_or(Role::Agent);
    if required(require, role) {
        return Err(MfaError::Required);
    }
    let (user, step) = check_current(conn, now, key, actor, user.id, input)?;
    write_tx(conn, |conn| {
        if mfa_store::take_step(conn, user.id, step)? != 1 {
            return Err(MfaError::ReusedCode);
        }
        mfa_store::remove(conn, user.id)?;
        accounts::record(
            conn,
            now,
            actor,
            "mfa.disabled",
            Some(&user.email),
            json!({}),
        )?;
        Ok(())
    })
}

/// Removes a user's second factor for them (an admin, or the command line as the
/// way back in): their recovery codes and waiting sign-ins go too, and their
/// sessions end. An admin cannot do it to their own account this way.
pub fn reset(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    actor: &Actor,
    user_id: i64,
) -> Result<(User, usize), MfaError> {
    if actor.user_id == Some(user_id) {
        return Err(MfaError::OwnAccount);
    }
    write_tx(conn, |conn| {
        let user = users::find(conn, user_id)?.ok_or(MfaError::NotFound)?;
        if !mfa_store::remove(conn, user.id)? {
            return Err(MfaError::NotEnrolled);
        }
        let ended = sessions::delete_for_user(conn, user.id)?;
        accounts::record(
            conn,
            now,
            actor,
            "mfa.reset",
            Some(&user.email),
            json!({"sessions_ended": ended}),
        )?;
        Ok((user, ended))
    })
}

/// After the right password: when `user` has a confirmed second factor, a waiting
/// sign-in (no session yet) and the token the browser keeps for it; None when the
/// password is all it takes.
pub fn begin_second_step(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    user: &User,
    ip: Option<&str>,
) -> Result<Option<String>, AccountError> {
    if !mfa_store::is_enrolled(conn, user.id)? {
        return Ok(None);
    }
    let token = tokens::random_token(32);
    write_tx(conn, |conn| {
        mfa_store::purge_challenges(conn, store::to_db(now))?;
        mfa_store::insert_challenge(
            conn,
            &tokens::digest(&token),
            user.id,
            store::to_db(now),
            store::to_db(now + Duration::minutes(CHALLENGE_MINUTES)),
            ip,
        )?;
        accounts::record(
            conn,
            now,
            &Actor::user(user.id, ip.map(String::from)),
            "login.code_requested",
            Some(&user.email),
            json!({}),
        )?;
        Ok::<_, AccountError>(())
    })?;
    Ok(Some(token))
}

/// The user a waiting sign-in is for, while it waits.
pub fn waiting(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    token: &str,
) -> Result<Option<User>, MfaError> {
    let Some(c) = mfa_store::live_challenge(conn, &tokens::digest(token), store::to_db(now))?
    else {
        return Ok(None);
    };
    Ok(users::find(conn, c.user_id)?)
}

/// A completed sign-in through the second step.
#[derive(Debug)]
pub struct SignedIn {
    pub session_token: String,
    pub user: User,
    /// Recovery codes left, when one was used.
    pub recovery_codes_left: Option<i64>,
}

/// What a refused attempt at the second step did, committed before it is reported.
struct Refused {
    reason: &'static str,
    /// The account locked with this failure.
    locked: bool,
}

/// The second step of a sign-in: the waiting sign-in `token` and a code from the app
/// (a step later than the last accepted) or an unused recovery code. Success opens
/// the session (`login.succeeded` with `"mfa": true`); a wrong or reused code counts
/// toward the lockout exactly as a wrong password (`login.failed`, reason
/// `wrong_code` or `reused_code`), and locking the account ends the waiting sign-in.
pub fn second_step(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    key: &MfaKey,
    token: &str,
    input: &str,
    ip: Option<&str>,
) -> Result<SignedIn, MfaError> {
    let challenge = mfa_store::live_challenge(conn, &tokens::digest(token), store::to_db(now))?
        .ok_or(MfaError::Expired)?;
    let user = users::find(conn, challenge.user_id)?.ok_or(MfaError::Expired)?;
    let actor = Actor::user(user.id, ip.map(String::from));
    let locked = user.locked_until.is_some_and(|t| store::from_db(t) > now);
    if !user.active || locked {
        write_tx(conn, |conn| {
            mfa_store::delete_challenges_of(conn, user.id)?;
            accounts::record(
                conn,
                now,
                &actor,
                "login.failed",
                Some(&user.email),
                json!({"reason": if locked { "locked" } else { "inactive" }, "mfa": true}),
            )?;
            Ok::<_, MfaError>(())
        })?;
        return Err(if locked {
            MfaError::Locked
        } else {
            MfaError::Expired
        });
    }
    let input = totp::parse_code(input).map_err(MfaError::Input)?;
    let factor = mfa_store::find(conn, user.id)?
        .filter(mfa_store::Factor::confirmed)
        .ok_or(MfaError::Expired)?;
    // The outcome of the attempt, decided inside one transaction with its audit.
    let outcome = match &input {
        CodeInput::Totp(code) => {
            let Some(secret) = open_secret(conn, key, &factor)? else {
                accounts::record(
                    conn,
                    now,
                    &actor,
                    "login.failed",
                    Some(&user.email),
                    json!({"reason": "mfa_unreadable"}),
                )?;
                tracing::error!(
                    user = %user.email,
                    "a second factor cannot be read under the desk's secret key: \
                     reset it (admin user page, or riskdesk user reset-mfa)"
                );
                return Err(MfaError::Unreadable);
            };
            let check = totp::check(&secret, code, now, factor.last_step);
            write_tx(conn, |conn| {
                let step = match check {
                    CodeCheck::Accepted(step)
                        if mfa_store::take_step(conn, user.id, step)? == 1 =>
                    {
                        step
                    }
                    CodeCheck::Wrong => return refuse(conn, now, &actor, &user, "wrong_code"),
                    _ => return refuse(conn, now, &actor, &user, "reused_code"),
                };
                finish(
                    conn,
                    now,
                    &actor,
                    &challenge,
                    ip,
                    json!({"mfa": true, "method": "totp", "step": step}),
                )
                .map(|t| Ok((t, None)))
            })?
        }
        CodeInput::Recovery(code) => {
            let digest = recovery_digest(user.id, code);
            write_tx(conn, |conn| {
                if mfa_store::use_recovery_code(conn, user.id, &digest, store::to_db(now))? != 1 {
                    return refuse(conn, now, &actor, &user, "wrong_code");
                }
                let left = mfa_store::recovery_codes_left(conn, user.id)?;
                accounts::record(
                    conn,
                    now,
                    &actor,
                    "mfa.recovery_code_used",
                    Some(&user.email),
                    json!({"left": left}),
                )?;
                finish(
                    conn,
                    now,
                    &actor,
                    &challenge,
                    ip,
                    json!({"mfa": true, "method": "recovery_code"}),
                )
                .map(|t| Ok((t, Some(left))))
            })?
        }
    };
    match outcome {
        Ok((session_token, recovery_codes_left)) => Ok(SignedIn {
            session_token,
            user,
            recovery_codes_left,
        }),
        Err(Refused { reason, locked }) => Err(match reason {
            "reused_code" => MfaError::ReusedCode,
            _ => MfaError::WrongCode { locked },
        }),
    }
}

/// A session's token and the recovery codes left (when one was used), or a counted
/// refusal.
type Attempt = Result<(String, Option<i64>), Refused>;

/// Counts a refused code (inside the attempt's transaction), ending the waiting
/// sign-in when the account locks.
fn refuse(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    actor: &Actor,
    user: &User,
    reason: &'static str,
) -> Result<Attempt, MfaError> {
    let failures = accounts::count_failure(conn, now, actor, user, "login.failed", reason)?;
    let locked = failures >= accounts::LOCK_AFTER_FAILURES;
    if locked {
        mfa_store::delete_challenges_of(conn, user.id)?;
    }
    Ok(Err(Refused { reason, locked }))
}

/// Ends the waiting sign-in and opens the session (inside the attempt's transaction).
fn finish(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    actor: &Actor,
    challenge: &mfa_store::Challenge,
    ip: Option<&str>,
    detail: serde_json::Value,
) -> Result<String, MfaError> {
    if mfa_store::delete_challenge(conn, challenge.id)? != 1 {
        return Err(MfaError::Expired);
    }
    // Read again: the failures counted while the code was typed are cleared.
    let user = users::find(conn, challenge.user_id)?.ok_or(MfaError::Expired)?;
    Ok(accounts::open_session(conn, now, actor, &user, ip, detail)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_under_their_key_and_for_their_user() {
        let key = MfaKey::derive("a secret key of the desk, 32 chars or more");
        let secret = totp::new_secret();
        let sealed = key.seal(7, &secret);
        assert!(sealed.starts_with("v1:"));
        assert!(!sealed.contains(&totp::secret_base32(&secret)));
        assert_eq!(key.open(7, &sealed), Some(secret.clone()));
        // Sealed twice, two different texts (a fresh nonce each time).
        assert_ne!(key.seal(7, &secret), sealed);
        // Another user's row, another key, a changed byte: nothing opens.
        assert_eq!(key.open(8, &sealed), None);
        let other = MfaKey::derive("another desk's secret key, also long enough");
        assert_eq!(other.open(7, &sealed), None);
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 3;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(key.open(7, &String::from_utf8(tampered).unwrap()), None);
        assert_eq!(key.open(7, "v1:nonsense"), None);
        assert_eq!(format!("{key:?}"), "MfaKey(…)");
    }
}
