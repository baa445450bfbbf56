// Password policy and hashing: argon2id with m = 19 MiB, t = 2, p = 1, stored as
// PHC strings. Verification takes the same time whether or not the user exists.

use std::sync::OnceLock;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

pub const MIN_LEN: usize = 12;
pub const MAX_LEN: usize = 1024;

/// Passwords people choose most often (Openwall's public-domain list), one a line;
/// lines starting `#!comment:` are its header.
const COMMON: &str = include_str!("common_passwords.txt");

/// What is wrong with a new password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordProblem {
    #[error("the password is shorter than {MIN_LEN} characters")]
    TooShort,
    #[error("the password is longer than {MAX_LEN} characters")]
    TooLong,
    #[error("the password is only spaces")]
    OnlySpaces,
    #[error("the password is one of the most common passwords (or one with digits added)")]
    Common,
    #[error("the password contains the account's e-mail address")]
    ContainsEmail,
}

impl PasswordProblem {
    /// The translation key of the problem, for pages.
    pub fn key(self) -> &'static str {
        match self {
            PasswordProblem::TooShort => "password.too_short",
            PasswordProblem::TooLong => "password.too_long",
            PasswordProblem::OnlySpaces => "password.only_spaces",
            PasswordProblem::Common => "password.common",
            PasswordProblem::ContainsEmail => "password.contains_email",
        }
    }
}

fn common_set() -> &'static std::collections::HashSet<String> {
    static SET: OnceLock<std::collections::HashSet<String>> = OnceLock::new();
    SET.get_or_init(|| {
        COMMON
            .lines()
            .filter(|l| !l.starts_with("#!comment:"))
            .map(|l| l.trim().to_lowercase())
            .filter(|l| !l.is_empty())
            .collect()
    })
}

/// Whether a password is a common one: itself, or with digits, punctuation and
/// spaces taken off both ends (`Password2024!`), or one character repeated, or a
/// run of the keyboard or the alphabet (`123456789012`, `qwertyuiopas`).
fn is_common(input: &str) -> bool {
    let lower = input.to_lowercase();
    let set = common_set();
    if set.contains(&lower) {
        return true;
    }
    let core = lower.trim_matches(|c: char| !c.is_alphabetic());
    if set.contains(core) {
        return true;
    }
    let chars: Vec<char> = lower.chars().collect();
    if chars.iter().all(|c| *c == chars[0]) {
        return true;
    }
    const RUNS: &[&str] = &[
        "01234567890123456789",
        "98765432109876543210",
        "abcdefghijklmnopqrstuvwxyz",
        "qwertyuiopasdfghjklzxcvbnm",
        "1qaz2wsx3edc4rfv5tgb6yhn7ujm",
        "qazwsxedcrfvtgbyhnujmikolp",
    ];
    RUNS.iter().any(|run| run.contains(&lower))
}

/// A password that meets the policy: 12 to 1024 characters, not only spaces, not a
/// common password, not containing the account's e-mail (or its part before `@`).
#[derive(Clone)]
pub struct NewPassword(String);

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(***)")
    }
}

impl NewPassword {
    /// Checks a password chosen for the account with the e-mail `email`.
    pub fn parse(input: &str, email: &str) -> Result<Self, PasswordProblem> {
        let n = input.chars().count();
        if n < MIN_LEN {
            return Err(PasswordProblem::TooShort);
        }
        if n > MAX_LEN {
            return Err(PasswordProblem::TooLong);
        }
        if input.trim().is_empty() {
            return Err(PasswordProblem::OnlySpaces);
        }
        let lower = input.to_lowercase();
        let email = email.trim().to_lowercase();
        let local = email.split('@').next().unwrap_or_default();
        if !email.is_empty()
            && (lower.contains(&email) || (local.chars().count() >= 3 && lower.contains(local)))
        {
            return Err(PasswordProblem::ContainsEmail);
        }
        if is_common(input) {
            return Err(PasswordProblem::Common);
        }
        Ok(NewPassword(input.to_string()))
    }

    /// A random password of 20 characters from an unambiguous alphabet.
    pub fn generate() -> Self {
        const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        let mut bytes = [0u8; 20];
        getrandom::fill(&mut bytes).expect("the operating system's random source");
        let s = bytes
            .iter()
            .map(|b| ALPHABET[(*b as usize) % ALPHABET.len()] as char)
            .collect();
        NewPassword(s)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

fn hasher() -> Argon2<'static> {
    let params = Params::new(
        Params::DEFAULT_M_COST,
        Params::DEFAULT_T_COST,
        Params::DEFAULT_P_COST,
        None,
    )
    .expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password to a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
pub fn hash(password: &NewPassword) -> String {
    hasher()
        .hash_password(password.0.as_bytes())
        .expect("argon2 hashing")
        .to_string()
}

thread_local! {
    static VERIFICATIONS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// How many verifications this thread has run (tests use it to check that every
/// sign-in path pays for exactly one).
pub fn verifications_on_this_thread() -> u64 {
    VERIFICATIONS.with(|v| v.get())
}

/// Checks a password against a stored PHC string.
pub fn verify(password: &str, phc: &str) -> bool {
    VERIFICATIONS.with(|v| v.set(v.get() + 1));
    match PasswordHash::new(phc) {
        Ok(parsed) => hasher()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Spends the time of one verification against a hash nobody can match, so that an
/// unknown e-mail costs the same as a wrong password.
pub fn verify_dummy(password: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let phc = DUMMY.get_or_init(|| hash(&NewPassword::generate()));
    let _ = verify(password, phc);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_with_the_required_cost() {
        let p = NewPassword::parse("correct horse battery", "a@bank.example").unwrap();
        let h = hash(&p);
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify("correct horse battery", &h));
        assert!(!verify("correct horse batterY", &h));
        assert!(!verify("x", "not a phc string"));
    }

    #[test]
    fn policy() {
        let p = |s: &str| NewPassword::parse(s, "wei.wang@bank.example").map(|_| ());
        assert_eq!(p("short"), Err(PasswordProblem::TooShort));
        assert_eq!(p("elevenchars"), Err(PasswordProblem::TooShort));
        assert_eq!(p("            "), Err(PasswordProblem::OnlySpaces));
        assert_eq!(p(&"x".repeat(1025)), Err(PasswordProblem::TooLong));
        assert_eq!(p("long enough pass"), Ok(()));
        assert_eq!(p("twelve chars"), Ok(()));
        let g = NewPassword::generate();
        assert_eq!(g.expose().len(), 20);
        assert!(NewPassword::parse(g.expose(), "a@bank.example").is_ok());
    }

    #[test]
    fn common_passwords_are_refused() {
        let p = |s: &str| NewPassword::parse(s, "a@bank.example").map(|_| ());
        for common in [
            "password1234",
            "Password2024!",
            "!!Sunshine!!2026",
            "123456789012",
            "qwertyuiopas",
            "aaaaaaaaaaaaaaaa",
            "abcdefghijklmn",
            "1qaz2wsx3edc",
            "ILOVEYOU12345",
        ] {
            assert_eq!(p(common), Err(PasswordProblem::Common), "{common}");
        }
        for fine in [
            "correct horse battery",
            "a-new-password-1",
            "tea at 4 in Hangzhou",
        ] {
            assert_eq!(p(fine), Ok(()), "{fine}");
        }
    }

    #[test]
    fn the_email_is_not_a_password() {
        let p = |s: &str| NewPassword::parse(s, "Wei.Wang@bank.example").map(|_| ());
        assert_eq!(
            p("wei.wang@bank.example"),
            Err(PasswordProblem::ContainsEmail)
        );
        assert_eq!(
            p("WEI.WANG@BANK.EXAMPLE1"),
            Err(PasswordProblem::ContainsEmail)
        );
        assert_eq!(p("my wei.wang secret"), Err(PasswordProblem::ContainsEmail));
        assert_eq!(p("bank.example is great"), Ok(()));
    }
}
