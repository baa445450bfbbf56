// Random secrets and their digests: session ids, CSRF tokens, API keys. Only digests
// are stored; comparisons of secrets are constant-time.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// `n` random bytes from the operating system, URL-safe base64 without padding.
pub fn random_token(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).expect("the operating system's random source");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Lower-case hex SHA-256 of a secret, as it is stored.
pub fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Compares two secrets in time independent of where they differ.
pub fn secrets_equal(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// A new API key: the whole key (shown once), its public prefix, and its digest.
pub struct NewApiKey {
    pub key: String,
    pub prefix: String,
    pub digest: String,
}

pub fn new_api_key() -> NewApiKey {
    let prefix = random_token(6).replace(['-', '_'], "x");
    let secret = random_token(32);
    let key = format!("rdk_{prefix}_{secret}");
    NewApiKey {
        digest: digest(&key),
        prefix,
        key,
    }
}

/// The prefix of a presented API key, if it has the key's shape.
pub fn api_key_prefix(key: &str) -> Option<&str> {
    let rest = key.strip_prefix("rdk_")?;
    let (prefix, secret) = rest.split_once('_')?;
    (prefix.len() == 8 && !secret.is_empty()).then_some(prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_urlsafe() {
        let a = random_token(32);
        let b = random_token(32);
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
    }

    #[test]
    fn api_keys_have_a_findable_prefix() {
        let k = new_api_key();
        assert_eq!(api_key_prefix(&k.key), Some(k.prefix.as_str()));
        assert_eq!(digest(&k.key), k.digest);
        assert_eq!(api_key_prefix("Bearer nope"), None);
    }

    #[test]
    fn equality() {
        assert!(secrets_equal("abc", "abc"));
        assert!(!secrets_equal("abc", "abd"));
        assert!(!secrets_equal("abc", "abcd"));
    }
}
