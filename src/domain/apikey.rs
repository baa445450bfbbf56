// API keys' rules, no I/O: the scopes a key may hold (each a set of routes of the JSON
// API), the checks on a new key's settings, and the token bucket of its rate limit.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};

/// What a key may do. Each route of the JSON API needs exactly one scope (the route
/// table in `web/mod.rs` says which).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// Post alerts, one or in batches.
    AlertsWrite,
    /// Read cases and their timelines; preview a business calendar.
    CasesRead,
    /// Read the labels feed and the active snoozes.
    LabelsRead,
    /// List, add, disable, enable, rotate and delete webhooks.
    WebhooksManage,
}

impl Scope {
    pub const ALL: [Scope; 4] = [
        Scope::AlertsWrite,
        Scope::CasesRead,
        Scope::LabelsRead,
        Scope::WebhooksManage,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::AlertsWrite => "alerts:write",
            Scope::CasesRead => "cases:read",
            Scope::LabelsRead => "labels:read",
            Scope::WebhooksManage => "webhooks:manage",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }

    /// The scopes' names, comma-separated, for messages.
    pub fn names() -> String {
        Scope::ALL.map(Scope::as_str).join(", ")
    }
}

impl FromStr for Scope {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Scope::ALL.into_iter().find(|x| x.as_str() == s).ok_or(())
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of scopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Scopes(u8);

impl Scopes {
    /// No scope: a key that may call nothing.
    pub const NONE: Scopes = Scopes(0);

    /// What a new key gets when its scopes are not named: posting alerts.
    pub const DEFAULT: Scopes = Scopes(1 << Scope::AlertsWrite as u8);

    /// Every scope (what keys made before scopes existed were given).
    pub fn all() -> Scopes {
        Scope::ALL.into_iter().collect()
    }

    pub fn contains(self, s: Scope) -> bool {
        self.0 & s.bit() != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn with(self, s: Scope) -> Scopes {
        Scopes(self.0 | s.bit())
    }

    pub fn without(self, s: Scope) -> Scopes {
        Scopes(self.0 & !s.bit())
    }

    /// Its scopes in the order of [`Scope::ALL`].
    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL.into_iter().filter(move |s| self.contains(*s))
    }

    /// A list as typed: names separated by commas (spaces around them ignored, each
    /// name at most once counted). Empty is no scope; an unknown name is refused.
    pub fn parse_list(text: &str) -> Result<Scopes, KeyInputError> {
        text.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<Scope>()
                    .map_err(|()| KeyInputError::UnknownScope(s.to_string()))
            })
            .collect()
    }

    /// The scopes of a stored key. A name this version does not know (written by a
    /// later one) gives nothing.
    pub fn from_stored(text: &str) -> Scopes {
        text.split(',').filter_map(|s| s.parse().ok()).collect()
    }

    /// How it is stored: the names comma-separated, in the order of [`Scope::ALL`].
    pub fn to_stored(self) -> String {
        self.iter().map(Scope::as_str).collect::<Vec<_>>().join(",")
    }
}

impl FromIterator<Scope> for Scopes {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        iter.into_iter().fold(Scopes::NONE, Scopes::with)
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_stored())
    }
}

/// Requests a minute a key may make when its creator does not say (per instance):
/// 5,000 a second, above what one instance takes in when a risk engine posts its
/// alerts one by one at full speed (about 4,300 a second measured), so the default
/// never slows intake; and a batch of up to 1,000 alerts is one request.
pub const DEFAULT_RATE_LIMIT: u32 = 300_000;
/// The highest rate limit a key may be given, in requests a minute.
pub const MAX_RATE_LIMIT: u32 = 1_000_000;
/// The longest a key may be made to last, in days (ten years).
pub const MAX_EXPIRES_IN_DAYS: u32 = 3_650;
/// The longest name of a key, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// Why a new key's settings were refused; each names its field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyInputError {
    /// The name is empty or longer than 100 characters.
    Name,
    /// A scope nobody knows (the first such).
    UnknownScope(String),
    /// No scope at all.
    NoScope,
    /// A lifetime outside 1 to 3,650 days.
    ExpiresInDays,
    /// A rate limit outside 1 to 1,000,000 requests a minute.
    RateLimit,
}

impl KeyInputError {
    /// The field (or the command line's flag, without `--`) the error is about.
    pub fn field(&self) -> &'static str {
        match self {
            KeyInputError::Name => "name",
            KeyInputError::UnknownScope(_) | KeyInputError::NoScope => "scopes",
            KeyInputError::ExpiresInDays => "expires_in_days",
            KeyInputError::RateLimit => "rate_limit",
        }
    }
}

impl fmt::Display for KeyInputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyInputError::Name => write!(
                f,
                "the key's name must have 1 to {MAX_NAME_CHARS} characters"
            ),
            KeyInputError::UnknownScope(s) => {
                write!(f, "unknown scope '{s}'; the scopes are {}", Scope::names())
            }
            KeyInputError::NoScope => {
                write!(f, "a key needs at least one scope of {}", Scope::names())
            }
            KeyInputError::ExpiresInDays => write!(
                f,
                "a key expires in 1 to {MAX_EXPIRES_IN_DAYS} days (leave it out for a key that does not expire)"
            ),
            KeyInputError::RateLimit => write!(
                f,
                "the rate limit must be from 1 to {MAX_RATE_LIMIT} requests a minute"
            ),
        }
    }
}

/// A new key's settings, as asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRequest<'a> {
    pub name: &'a str,
    pub scopes: Scopes,
    /// Days until it stops working; `None` for a key that does not expire.
    pub expires_in_days: Option<u32>,
    /// Requests a minute; `None` for [`DEFAULT_RATE_LIMIT`].
    pub rate_limit: Option<u32>,
}

/// A new key's settings, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySettings {
    pub name: String,
    pub scopes: Scopes,
    pub expires_at: Option<DateTime<Utc>>,
    pub rate_limit: u32,
}

impl KeyRequest<'_> {
    /// The settings of a key made at `now`, or the first thing wrong with them.
    pub fn check(&self, now: DateTime<Utc>) -> Result<KeySettings, KeyInputError> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
            return Err(KeyInputError::Name);
        }
        if self.scopes.is_empty() {
            return Err(KeyInputError::NoScope);
        }
        let expires_at = match self.expires_in_days {
            None => None,
            Some(d) if (1..=MAX_EXPIRES_IN_DAYS).contains(&d) => {
                Some(now + Duration::days(i64::from(d)))
            }
            Some(_) => return Err(KeyInputError::ExpiresInDays),
        };
        let rate_limit = self.rate_limit.unwrap_or(DEFAULT_RATE_LIMIT);
        if !(1..=MAX_RATE_LIMIT).contains(&rate_limit) {
            return Err(KeyInputError::RateLimit);
        }
        Ok(KeySettings {
            name: name.to_string(),
            scopes: self.scopes,
            expires_at,
            rate_limit,
        })
    }
}

/// Whether a key with this expiry no longer works at `now` (it stops at the instant
/// it expires).
pub fn expired(expires_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    expires_at.is_some_and(|t| now >= t)
}

/// One request's share of a bucket: the bucket counts in thousandths of a second of
/// a minute's allowance, so that a limit of N a minute refills N units a
/// millisecond and a request costs 60,000 of them, with whole numbers only.
const REQUEST: u64 = 60_000;

/// A token bucket for a limit of N requests a minute: it holds up to N requests, is
/// full at first, and refills at N a minute, so a key may send N at once and then
/// one every 60/N seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    units: u64,
    at: DateTime<Utc>,
}

impl Bucket {
    pub fn full(limit: u32, now: DateTime<Utc>) -> Bucket {
        Bucket {
            units: u64::from(limit) * REQUEST,
            at: now,
        }
    }

    /// Takes one request at `now` under a limit of `limit` a minute: `Ok` when there
    /// was room, else how long until there will be (at least a millisecond). A clock
    /// that went back refills nothing.
    pub fn take(&mut self, limit: u32, now: DateTime<Utc>) -> Result<(), Duration> {
        let limit = u64::from(limit.max(1));
        let capacity = limit * REQUEST;
        let elapsed = (now - self.at).num_milliseconds();
        if elapsed > 0 {
            self.units = self
                .units
                .saturating_add((elapsed as u64).saturating_mul(limit));
            self.at = now;
        } else if elapsed < 0 {
            self.at = now;
        }
        self.units = self.units.min(capacity);
        if self.units >= REQUEST {
            self.units -= REQUEST;
            Ok(())
        } else {
            let wait_ms = (REQUEST - self.units).div_ceil(limit);
            Err(Duration::milliseconds(wait_ms.max(1) as i64))
        }
    }
}

/// A wait as the whole seconds of a `Retry-After` header (rounded up, at least 1).
pub fn retry_after_secs(wait: Duration) -> u64 {
    (wait.num_milliseconds().max(1) as u64).div_ceil(1000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 24, 1, 0, 0).unwrap()
    }

    #[test]
    fn scope_names_round_trip_and_unknown_ones_are_named() {
        for s in Scope::ALL {
            assert_eq!(s.as_str().parse::<Scope>(), Ok(s));
        }
        let all =
            Scopes::parse_list(" alerts:write, cases:read,labels:read,webhooks:manage ").unwrap();
        assert_eq!(all, Scopes::all());
        assert_eq!(
            all.to_stored(),
            "alerts:write,cases:read,labels:read,webhooks:manage"
        );
        assert_eq!(Scopes::from_stored(&all.to_stored()), all);
        assert_eq!(
            Scopes::parse_list("cases:read,alerts:write,cases:read")
                .unwrap()
                .to_stored(),
            "alerts:write,cases:read"
        );
        assert_eq!(Scopes::parse_list(""), Ok(Scopes::NONE));
        let e = Scopes::parse_list("cases:read,cases:write").unwrap_err();
        assert_eq!(e, KeyInputError::UnknownScope("cases:write".into()));
        assert_eq!(e.field(), "scopes");
        assert_eq!(
            e.to_string(),
            "unknown scope 'cases:write'; the scopes are alerts:write, cases:read, labels:read, webhooks:manage"
        );
        // A name a later version wrote is no scope here.
        assert_eq!(
            Scopes::from_stored("cases:read,reports:read"),
            Scopes::NONE.with(Scope::CasesRead)
        );
        assert_eq!(Scopes::DEFAULT.to_stored(), "alerts:write");
        assert!(
            !Scopes::all()
                .without(Scope::LabelsRead)
                .contains(Scope::LabelsRead)
        );
    }

    #[test]
    fn a_new_keys_settings_are_checked() {
        let ok = KeyRequest {
            name: "  engine ",
            scopes: Scopes::DEFAULT,
            expires_in_days: Some(30),
            rate_limit: None,
        };
        let s = ok.check(t0()).unwrap();
        assert_eq!(s.name, "engine");
        assert_eq!(s.expires_at, Some(t0() + Duration::days(30)));
        assert_eq!(s.rate_limit, DEFAULT_RATE_LIMIT);
        let bad = |r: KeyRequest<'_>| r.check(t0()).unwrap_err();
        assert_eq!(
            bad(KeyRequest {
                name: " ",
                ..ok.clone()
            }),
            KeyInputError::Name
        );
        assert_eq!(
            bad(KeyRequest {
                scopes: Scopes::NONE,
                ..ok.clone()
            }),
            KeyInputError::NoScope
        );
        for days in [0, MAX_EXPIRES_IN_DAYS + 1] {
            assert_eq!(
                bad(KeyRequest {
                    expires_in_days: Some(days),
                    ..ok.clone()
                }),
                KeyInputError::ExpiresInDays
            );
        }
        for limit in [0, MAX_RATE_LIMIT + 1] {
            assert_eq!(
                bad(KeyRequest {
                    rate_limit: Some(limit),
                    ..ok.clone()
                }),
                KeyInputError::RateLimit
            );
        }
        assert!(!expired(None, t0()));
        assert!(!expired(Some(t0()), t0() - Duration::milliseconds(1)));
        assert!(expired(Some(t0()), t0()));
    }

    #[test]
    fn the_bucket_lets_a_minutes_worth_through_then_one_per_share_of_the_minute() {
        let mut b = Bucket::full(3, t0());
        for _ in 0..3 {
            assert_eq!(b.take(3, t0()), Ok(()));
        }
        let wait = b.take(3, t0()).unwrap_err();
        assert_eq!(wait, Duration::seconds(20));
        assert_eq!(retry_after_secs(wait), 20);
        // Half-way, still no room, and the wait is what is left.
        let later = t0() + Duration::seconds(10);
        assert_eq!(b.take(3, later), Err(Duration::seconds(10)));
        // At the refill, one request; then none again.
        let refilled = t0() + Duration::seconds(20);
        assert_eq!(b.take(3, refilled), Ok(()));
        assert!(b.take(3, refilled).is_err());
        // A long pause fills it to the limit, not beyond.
        let rested = refilled + Duration::hours(5);
        for _ in 0..3 {
            assert_eq!(b.take(3, rested), Ok(()));
        }
        assert!(b.take(3, rested).is_err());
        // A clock set back refills nothing and does not stick.
        let back = rested - Duration::days(1);
        assert!(b.take(3, back).is_err());
        assert_eq!(b.take(3, back + Duration::seconds(20)), Ok(()));
    }

    #[test]
    fn the_bucket_counts_exactly_at_high_limits() {
        let limit = MAX_RATE_LIMIT;
        let mut b = Bucket::full(limit, t0());
        for _ in 0..limit {
            assert!(b.take(limit, t0()).is_ok());
        }
        let wait = b.take(limit, t0()).unwrap_err();
        assert_eq!(wait, Duration::milliseconds(1));
        assert_eq!(retry_after_secs(wait), 1);
        // A millisecond refills 1,000,000/60,000 = 16 requests and a bit.
        let t = t0() + Duration::milliseconds(1);
        for _ in 0..16 {
            assert!(b.take(limit, t).is_ok());
        }
        assert!(b.take(limit, t).is_err());
    }
}
