// The second factor's arithmetic: time-based one-time passwords (RFC 6238 over
// RFC 4226, HMAC-SHA-1, 30-second steps, 6 digits), the codes people type, recovery codes.

use chrono::{DateTime, Utc};
use data_encoding::BASE32_NOPAD;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

/// Seconds of one time step.
pub const STEP_SECONDS: i64 = 30;
/// Digits of a code.
pub const DIGITS: u32 = 6;
/// Bytes of a new shared secret (160 bits, RFC 4226's recommendation).
pub const SECRET_BYTES: usize = 20;
/// Steps either side of now whose code is accepted (the phone's clock may drift).
pub const DRIFT_STEPS: i64 = 1;
/// Recovery codes a user gets at once.
pub const RECOVERY_CODES: usize = 10;
/// The issuer authenticator apps show beside the account.
pub const ISSUER: &str = "riskdesk";

/// Characters of recovery codes: Crockford's base 32 in lower case (no i, l, o, u).
const RECOVERY_ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
/// Characters of one recovery code (80 random bits), shown in groups of 4.
const RECOVERY_LEN: usize = 16;

/// HOTP (RFC 4226): the `digits`-digit code of `counter` under `secret`.
pub fn hotp(secret: &[u8], counter: u64, digits: u32) -> u32 {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(&counter.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let offset = usize::from(h[h.len() - 1] & 0x0f);
    let bin = u32::from_be_bytes([
        h[offset] & 0x7f,
        h[offset + 1],
        h[offset + 2],
        h[offset + 3],
    ]);
    bin % 10u32.pow(digits)
}

/// The time step (RFC 6238's T, from the Unix epoch) that `t` falls in.
pub fn step_of(t: DateTime<Utc>) -> i64 {
    t.timestamp().div_euclid(STEP_SECONDS)
}

/// The 6-digit code of `step`, with its leading zeros.
pub fn code_at_step(secret: &[u8], step: i64) -> String {
    format!(
        "{:0width$}",
        hotp(secret, step.max(0) as u64, DIGITS),
        width = DIGITS as usize
    )
}

/// How a typed code compares with the codes around now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    /// The code of this step, later than any accepted before.
    Accepted(i64),
    /// The code of a step at or before the last accepted one: used already.
    Reused,
    /// No step within the drift has this code.
    Wrong,
}

/// Checks `code` against the steps within [`DRIFT_STEPS`] of `now`; a step at or
/// before `last` (the last step accepted) counts as used. Every step is compared,
/// each in constant time.
pub fn check(secret: &[u8], code: &str, now: DateTime<Utc>, last: Option<i64>) -> CodeCheck {
    let current = step_of(now);
    let mut found = None;
    for step in current - DRIFT_STEPS..=current + DRIFT_STEPS {
        let expected = code_at_step(secret, step);
        if super::tokens::secrets_equal(&expected, code) && found.is_none() {
            found = Some(step);
        }
    }
    match found {
        None => CodeCheck::Wrong,
        Some(step) if last.is_some_and(|l| step <= l) => CodeCheck::Reused,
        Some(step) => CodeCheck::Accepted(step),
    }
}

/// A new random shared secret.
pub fn new_secret() -> Vec<u8> {
    let mut bytes = vec![0u8; SECRET_BYTES];
    getrandom::fill(&mut bytes).expect("the operating system's random source");
    bytes
}

/// The secret as authenticator apps take it: base 32 without padding.
pub fn secret_base32(secret: &[u8]) -> String {
    BASE32_NOPAD.encode(secret)
}

/// The secret in base 32, in groups of four for typing it by hand.
pub fn secret_grouped(secret: &[u8]) -> String {
    group(&secret_base32(secret), 4)
}

fn group(s: &str, n: usize) -> String {
    s.as_bytes()
        .chunks(n)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}

/// The `otpauth://` address of the QR code: issuer "riskdesk", the user's e-mail.
pub fn otpauth_uri(secret: &[u8], email: &str) -> String {
    format!(
        "otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        issuer = percent(ISSUER),
        account = percent(email),
        secret = secret_base32(secret),
    )
}

/// What a person typed in the code field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeInput {
    /// Six digits from the authenticator app.
    Totp(String),
    /// A recovery code, in its normal form (16 characters, no dashes).
    Recovery(String),
}

/// Why a typed code is not one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeError {
    /// Nothing typed.
    Empty,
    /// Digits, but not six of them (how many there were).
    Length(usize),
    /// Neither six digits nor a recovery code.
    NotACode,
}

/// Reads the code field: six digits (spaces allowed between them), or a recovery
/// code (dashes and spaces ignored, any case, `o` read as 0 and `i`/`l` as 1).
pub fn parse_code(input: &str) -> Result<CodeInput, CodeError> {
    let compact: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if compact.is_empty() {
        return Err(CodeError::Empty);
    }
    if compact.chars().all(|c| c.is_ascii_digit()) && !input.contains('-') {
        return if compact.len() == DIGITS as usize {
            Ok(CodeInput::Totp(compact))
        } else {
            Err(CodeError::Length(compact.chars().count()))
        };
    }
    normalise_recovery(&compact)
        .map(CodeInput::Recovery)
        .ok_or(CodeError::NotACode)
}

fn normalise_recovery(compact: &str) -> Option<String> {
    let normal: String = compact
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            'o' => '0',
            'i' | 'l' => '1',
            c => c,
        })
        .collect();
    (normal.len() == RECOVERY_LEN && normal.bytes().all(|b| RECOVERY_ALPHABET.contains(&b)))
        .then_some(normal)
}

/// A new recovery code in its normal form (never all digits, so that it cannot be
/// taken for an app's code).
pub fn new_recovery_code() -> String {
    loop {
        let mut bytes = [0u8; RECOVERY_LEN];
        getrandom::fill(&mut bytes).expect("the operating system's random source");
        let code: String = bytes
            .iter()
            .map(|b| RECOVERY_ALPHABET[usize::from(b & 31)] as char)
            .collect();
        if !code.chars().all(|c| c.is_ascii_digit()) {
            return code;
        }
    }
}

/// A recovery code as it is shown: groups of four joined by dashes.
pub fn recovery_display(normal: &str) -> String {
    group(normal, 4).replace(' ', "-")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// RFC 6238, appendix B: the SHA-1 seed and the 8-digit codes at each time.
    #[test]
    fn rfc_6238_test_vectors_sha1() {
        let seed = b"12345678901234567890";
        let vectors: [(i64, u32); 6] = [
            (59, 94287082),
            (1111111109, 7081804),
            (1111111111, 14050471),
            (1234567890, 89005924),
            (2000000000, 69279037),
            (20000000000, 65353130),
        ];
        for (t, code) in vectors {
            let at = Utc.timestamp_opt(t, 0).unwrap();
            assert_eq!(hotp(seed, step_of(at) as u64, 8), code, "T = {t}");
        }
    }

    /// RFC 4226, appendix D: the 6-digit HOTP values of counters 0 to 9.
    #[test]
    fn rfc_4226_test_vectors() {
        let seed = b"12345678901234567890";
        let expected = [
            755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489,
        ];
        for (counter, code) in expected.iter().enumerate() {
            assert_eq!(hotp(seed, counter as u64, 6), *code, "counter {counter}");
        }
    }

    #[test]
    fn one_step_of_drift_either_way_and_never_twice() {
        let seed = b"12345678901234567890";
        let now = Utc.timestamp_opt(1111111111, 0).unwrap();
        let step = step_of(now);
        let at = |d: i64| code_at_step(seed, step + d);
        assert_eq!(check(seed, &at(0), now, None), CodeCheck::Accepted(step));
        assert_eq!(
            check(seed, &at(-1), now, None),
            CodeCheck::Accepted(step - 1)
        );
        assert_eq!(
            check(seed, &at(1), now, None),
            CodeCheck::Accepted(step + 1)
        );
        assert_eq!(check(seed, &at(2), now, None), CodeCheck::Wrong);
        assert_eq!(check(seed, &at(-2), now, None), CodeCheck::Wrong);
        assert_eq!(check(seed, &at(0), now, Some(step)), CodeCheck::Reused);
        assert_eq!(check(seed, &at(-1), now, Some(step - 1)), CodeCheck::Reused);
        assert_eq!(
            check(seed, &at(1), now, Some(step)),
            CodeCheck::Accepted(step + 1)
        );
    }

    #[test]
    fn codes_keep_their_leading_zeros() {
        // Counter 1 of RFC 4226's seed in 8 digits is 94287082; find a step whose
        // 6-digit code starts with 0 and check its width.
        let seed = b"12345678901234567890";
        let step = (0..1000)
            .find(|s| hotp(seed, *s as u64, 6) < 100_000)
            .unwrap();
        let code = code_at_step(seed, step);
        assert_eq!(code.len(), 6);
        assert!(code.starts_with('0'));
    }

    #[test]
    fn typed_codes() {
        assert_eq!(
            parse_code(" 123 456 "),
            Ok(CodeInput::Totp("123456".into()))
        );
        assert_eq!(parse_code(""), Err(CodeError::Empty));
        assert_eq!(parse_code("   "), Err(CodeError::Empty));
        assert_eq!(parse_code("12345"), Err(CodeError::Length(5)));
        assert_eq!(parse_code("1234567"), Err(CodeError::Length(7)));
        assert_eq!(parse_code("12a456"), Err(CodeError::NotACode));
        assert_eq!(parse_code("abcdef"), Err(CodeError::NotACode));
        let code = new_recovery_code();
        let shown = recovery_display(&code);
        assert_eq!(shown.len(), 19);
        assert_eq!(parse_code(&shown), Ok(CodeInput::Recovery(code.clone())));
        assert_eq!(
            parse_code(&shown.to_uppercase()),
            Ok(CodeInput::Recovery(code))
        );
        assert_eq!(
            parse_code("OIL0-abcd-efgh-jkmn"),
            Ok(CodeInput::Recovery("0110abcdefghjkmn".into()))
        );
        assert_eq!(parse_code("uuuu-abcd-efgh-jkmn"), Err(CodeError::NotACode));
    }

    #[test]
    fn secrets_and_addresses() {
        let secret = b"12345678901234567890";
        assert_eq!(secret_base32(secret), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(
            secret_grouped(secret),
            "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ"
        );
        assert_eq!(
            otpauth_uri(secret, "li.na+desk@bank.example"),
            "otpauth://totp/riskdesk:li.na%2Bdesk%40bank.example?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=riskdesk&algorithm=SHA1&digits=6&period=30"
        );
        assert_eq!(new_secret().len(), SECRET_BYTES);
        assert_ne!(new_secret(), new_secret());
        assert_ne!(new_recovery_code(), new_recovery_code());
    }
}
