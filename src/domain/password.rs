// Password policy and hashing: argon2id with m = 19 MiB, t = 2, p = 1, stored as
// PHC strings. Verification takes the same time whether or not the user exists.

use std::sync::OnceLock;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

pub const MIN_LEN: usize = 10;
pub const MAX_LEN: usize = 1024;

/// A password that meets the policy (10 to 1024 characters, not only spaces).
#[derive(Clone)]
pub struct NewPassword(String);

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(***)")
    }
}

impl NewPassword {
    pub fn parse(input: &str) -> Result<Self, String> {
        let n = input.chars().count();
        if n < MIN_LEN {
            return Err(format!("the password is shorter than {MIN_LEN} characters"));
        }
        if n > MAX_LEN {
            return Err(format!("the password is longer than {MAX_LEN} characters"));
        }
        if input.trim().is_empty() {
            return Err("the password is only spaces".into());
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
        let p = NewPassword::parse("correct horse battery").unwrap();
        let h = hash(&p);
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify("correct horse battery", &h));
        assert!(!verify("correct horse batterY", &h));
        assert!(!verify("x", "not a phc string"));
    }

    #[test]
    fn policy() {
        assert!(NewPassword::parse("short").is_err());
        assert!(NewPassword::parse("          ").is_err());
        assert!(NewPassword::parse("long enough pass").is_ok());
        let g = NewPassword::generate();
        assert_eq!(g.expose().len(), 20);
        assert!(NewPassword::parse(g.expose()).is_ok());
    }
}
