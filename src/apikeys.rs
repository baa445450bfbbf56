// API keys: the commands on them (create, revoke; shared by the command line and the
// admin pages, each in one transaction with its audit event), and what an instance
// keeps in memory of each key's use: its rate-limit bucket and when its use and its
// refusals were last written down.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::accounts::{Actor, record};
use crate::db::{DbConn, write_tx};
use crate::domain::apikey::{Bucket, KeyInputError, KeyRequest, Scope};
use crate::domain::tokens;
use crate::store::{self, apikeys, apikeys::ApiKey};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{field}: {error}", field = .0.field(), error = .0)]
    Invalid(KeyInputError),
    #[error("no API key has the prefix '{0}'")]
    NotFound(String),
    #[error("database error: {0}")]
    Db(#[from] diesel::result::Error),
}

impl From<KeyInputError> for KeyError {
    fn from(e: KeyInputError) -> Self {
        KeyError::Invalid(e)
    }
}

/// Creates a key with the settings asked for and returns it with the whole key, to
/// show once (only its digest is stored).
pub fn create(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    actor: &Actor,
    request: &KeyRequest<'_>,
) -> Result<(ApiKey, String), KeyError> {
    let settings = request.check(now)?;
    let new = tokens::new_api_key();
    let scopes = settings.scopes.to_stored();
    let rate_limit = i32::try_from(settings.rate_limit).map_err(|_| KeyInputError::RateLimit)?;
    write_tx(conn, |conn| {
        let key = apikeys::insert(
            conn,
            &apikeys::NewApiKey {
                name: &settings.name,
                prefix: &new.prefix,
                key_hash: &new.digest,
                created_at: store::to_db(now),
                scopes: &scopes,
                expires_at: settings.expires_at.map(store::to_db),
                rate_limit,
            },
        )?;
        record(
            conn,
            now,
            actor,
            "apikey.created",
            Some(&settings.name),
            json!({
                "prefix": new.prefix,
                "scopes": scopes,
                "expires_at": settings.expires_at.map(|t| t.to_rfc3339()),
                "rate_limit": settings.rate_limit,
            }),
        )?;
        Ok((key, new.key.clone()))
    })
}

/// Revokes a key: requests with it are refused from now on. Revoking a revoked key
/// changes nothing and records nothing.
pub fn revoke(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    actor: &Actor,
    id: i64,
) -> Result<Option<ApiKey>, KeyError> {
    write_tx(conn, |conn| {
        let Some(key) = apikeys::find(conn, id)? else {
            return Ok(None);
        };
        if apikeys::revoke(conn, id, store::to_db(now))? > 0 {
            record(
                conn,
                now,
                actor,
                "apikey.revoked",
                Some(&key.name),
                json!({"prefix": key.prefix}),
            )?;
        }
        Ok(Some(key))
    })
}

/// The key named by its prefix as an operator may type it: `abcd1234`,
/// `rdk_abcd1234`, `rdk_abcd1234_…` as the admin page shows it, or the whole key.
pub fn find_by_prefix(conn: &mut DbConn, typed: &str) -> Result<ApiKey, KeyError> {
    let typed = typed.trim();
    let rest = typed.strip_prefix("rdk_").unwrap_or(typed);
    let prefix = rest.split('_').next().unwrap_or_default();
    apikeys::find_by_prefix(conn, prefix)?.ok_or_else(|| KeyError::NotFound(typed.to_string()))
}

/// Who asks for a change: the actor of its audit event and, for a request to the
/// JSON API, the key it came with (named in the event's detail). An `&Actor` is an
/// origin without a key, so commands that take an origin take an actor as well.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    pub actor: &'a Actor,
    pub api_key: Option<&'a KeyRef>,
}

/// A key as audit events name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRef {
    pub id: i64,
    pub name: String,
    pub prefix: String,
}

impl<'a> From<&'a Actor> for Origin<'a> {
    fn from(actor: &'a Actor) -> Self {
        Origin {
            actor,
            api_key: None,
        }
    }
}

impl Origin<'_> {
    /// Writes one audit event, with the key (if any) added to its detail as
    /// `"api_key": {"name", "prefix"}`.
    pub fn record(
        &self,
        conn: &mut DbConn,
        now: DateTime<Utc>,
        kind: &str,
        subject: Option<&str>,
        mut detail: Value,
    ) -> diesel::QueryResult<()> {
        if let (Some(key), Value::Object(map)) = (self.api_key, &mut detail) {
            map.insert(
                "api_key".into(),
                json!({"name": key.name, "prefix": key.prefix}),
            );
        }
        record(conn, now, self.actor, kind, subject, detail)
    }
}

/// How often an instance writes a key's `last_used_at`.
pub const LAST_USE_EVERY: Duration = Duration::minutes(1);
/// How often an instance records `apikey.used` for a key in use.
pub const USE_AUDIT_EVERY: Duration = Duration::hours(1);
/// How often an instance records one kind of refusal of one key.
pub const REFUSAL_AUDIT_EVERY: Duration = Duration::minutes(1);

/// Why a request with a genuine key was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Refusal {
    Revoked,
    Expired,
    RateLimited,
    /// The key lacks the route's scope.
    Scope(Scope),
}

impl Refusal {
    /// The kind of its audit event.
    pub fn kind(self) -> &'static str {
        match self {
            Refusal::Revoked => "apikey.revoked_refused",
            Refusal::Expired => "apikey.expired_refused",
            Refusal::RateLimited => "apikey.rate_limited",
            Refusal::Scope(_) => "apikey.scope_refused",
        }
    }
}

/// An audit event a request owes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyEvent {
    /// The key is in use: `requests` admitted on this instance since `since`.
    Used { requests: u64, since: DateTime<Utc> },
    /// A refusal, and how many of its kind this instance made since it last
    /// recorded one (this one included).
    Refused { refusal: Refusal, refusals: u64 },
}

/// The writes a request with a key owes: its last use, and audit events.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Chores {
    pub last_use: bool,
    pub events: Vec<KeyEvent>,
}

impl Chores {
    pub fn is_empty(&self) -> bool {
        !self.last_use && self.events.is_empty()
    }
}

/// What the gate says of a request with a genuine, working key.
#[derive(Debug, PartialEq, Eq)]
pub enum Admission {
    Admitted(Chores),
    /// Over the key's rate limit: there is room again after `wait`.
    Limited {
        wait: Duration,
        chores: Chores,
    },
}

/// What an instance remembers of one key.
struct KeyUse {
    bucket: Bucket,
    last_use_written: Option<DateTime<Utc>>,
    used_recorded: Option<DateTime<Utc>>,
    /// Requests admitted since the last `apikey.used`, and since when.
    requests: u64,
    counting_since: DateTime<Utc>,
    refusals: HashMap<Refusal, Tally>,
}

#[derive(Default)]
struct Tally {
    count: u64,
    recorded: Option<DateTime<Utc>>,
}

/// Whether something last done at `last` is due again at `now`, `every` apart (a
/// clock set back makes it due).
fn due(last: Option<DateTime<Utc>>, now: DateTime<Utc>, every: Duration) -> bool {
    last.is_none_or(|t| now < t || now - t >= every)
}

/// Each key's use on this instance: the rate limit's buckets and when the key's use
/// and refusals were last written. One short lock per request, no allocation once a
/// key has been seen.
#[derive(Default)]
pub struct KeyGate {
    keys: Mutex<HashMap<i64, KeyUse>>,
}

impl KeyGate {
    fn with<T>(&self, key: &ApiKey, now: DateTime<Utc>, f: impl FnOnce(&mut KeyUse) -> T) -> T {
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        let entry = keys.entry(key.id).or_insert_with(|| KeyUse {
            bucket: Bucket::full(key.rate_limit(), now),
            last_use_written: key.last_used_at.map(store::from_db),
            used_recorded: None,
            requests: 0,
            counting_since: now,
            refusals: HashMap::new(),
        });
        f(entry)
    }

    /// Takes a request with `key` (genuine, not revoked, not expired) at `now`:
    /// admitted while its bucket has room, else limited.
    pub fn admit(&self, key: &ApiKey, now: DateTime<Utc>) -> Admission {
        let limit = key.rate_limit();
        self.with(key, now, |u| match u.bucket.take(limit, now) {
            Ok(()) => {
                u.requests += 1;
                let mut chores = Chores::default();
                if due(u.last_use_written, now, LAST_USE_EVERY) {
                    u.last_use_written = Some(now);
                    chores.last_use = true;
                }
                if due(u.used_recorded, now, USE_AUDIT_EVERY) {
                    chores.events.push(KeyEvent::Used {
                        requests: u.requests,
                        since: u.counting_since,
                    });
                    u.used_recorded = Some(now);
                    u.requests = 0;
                    u.counting_since = now;
                }
                Admission::Admitted(chores)
            }
            Err(wait) => Admission::Limited {
                wait,
                chores: Chores {
                    last_use: false,
                    events: tally(u, Refusal::RateLimited, now).into_iter().collect(),
                },
            },
        })
    }

    /// Counts a refusal of `key` at `now`; the event to record when one is due.
    pub fn refuse(&self, key: &ApiKey, refusal: Refusal, now: DateTime<Utc>) -> Option<KeyEvent> {
        self.with(key, now, |u| tally(u, refusal, now))
    }
}

fn tally(u: &mut KeyUse, refusal: Refusal, now: DateTime<Utc>) -> Option<KeyEvent> {
    let t = u.refusals.entry(refusal).or_default();
    t.count += 1;
    if !due(t.recorded, now, REFUSAL_AUDIT_EVERY) {
        return None;
    }
    let refusals = std::mem::take(&mut t.count);
    t.recorded = Some(now);
    Some(KeyEvent::Refused { refusal, refusals })
}

/// The request an event is about: its method and the route's pattern.
#[derive(Debug, Clone)]
pub struct RequestLine {
    pub method: String,
    pub route: String,
}

/// Writes a request's chores in one transaction: the key's last use, and its audit
/// events (subject: the key's name; actor: none, from the request's address).
pub fn write_chores(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    key: &ApiKey,
    ip: Option<String>,
    request: &RequestLine,
    chores: &Chores,
) -> diesel::QueryResult<()> {
    let actor = Actor {
        ip,
        ..Actor::default()
    };
    write_tx(conn, |conn| {
        if chores.last_use {
            apikeys::mark_used(conn, key.id, store::to_db(now))?;
        }
        for event in &chores.events {
            let (kind, detail) = event_detail(key, request, event);
            record(conn, now, &actor, kind, Some(&key.name), detail)?;
        }
        Ok(())
    })
}

fn event_detail(key: &ApiKey, request: &RequestLine, event: &KeyEvent) -> (&'static str, Value) {
    match event {
        KeyEvent::Used { requests, since } => (
            "apikey.used",
            json!({
                "prefix": key.prefix,
                "requests": requests,
                "since": since.to_rfc3339(),
            }),
        ),
        KeyEvent::Refused { refusal, refusals } => {
            let mut detail = json!({
                "prefix": key.prefix,
                "method": request.method,
                "route": request.route,
                "refusals": refusals,
            });
            let extra = match refusal {
                Refusal::Scope(s) => ("scope", json!(s.as_str())),
                Refusal::Expired => (
                    "expired_at",
                    json!(key.expires_at().map(|t| t.to_rfc3339())),
                ),
                Refusal::Revoked => (
                    "revoked_at",
                    json!(key.revoked_at.map(|t| store::from_db(t).to_rfc3339())),
                ),
                Refusal::RateLimited => ("rate_limit", json!(key.rate_limit())),
            };
            detail[extra.0] = extra.1;
            (refusal.kind(), detail)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 24, 1, 0, 0).unwrap()
    }

    fn key(rate_limit: i32) -> ApiKey {
        ApiKey {
            id: 7,
            name: "engine".into(),
            prefix: "abcd1234".into(),
            key_hash: String::new(),
            created_at: t0().naive_utc(),
            revoked_at: None,
            last_used_at: None,
            scopes: "alerts:write".into(),
            expires_at: None,
            rate_limit,
        }
    }

    fn admitted(a: Admission) -> Chores {
        match a {
            Admission::Admitted(c) => c,
            other => panic!("not admitted: {other:?}"),
        }
    }

    #[test]
    fn use_is_written_once_a_minute_and_recorded_once_an_hour() {
        let gate = KeyGate::default();
        let k = key(1000);
        let first = admitted(gate.admit(&k, t0()));
        assert!(first.last_use);
        assert_eq!(
            first.events,
            [KeyEvent::Used {
                requests: 1,
                since: t0()
            }]
        );
        for s in 1..59 {
            assert!(admitted(gate.admit(&k, t0() + Duration::seconds(s))).is_empty());
        }
        let minute = admitted(gate.admit(&k, t0() + Duration::seconds(60)));
        assert!(minute.last_use && minute.events.is_empty());
        let hour = t0() + Duration::minutes(60);
        let c = admitted(gate.admit(&k, hour));
        assert_eq!(
            c.events,
            [KeyEvent::Used {
                requests: 60,
                since: t0()
            }]
        );
        // A key written recently by another instance is not written again at once.
        let mut other = key(1000);
        other.id = 8;
        other.last_used_at = Some((t0() - Duration::seconds(30)).naive_utc());
        assert!(!admitted(gate.admit(&other, t0())).last_use);
        assert!(admitted(gate.admit(&other, t0() + Duration::seconds(30))).last_use);
    }

    #[test]
    fn refusals_are_counted_and_recorded_at_most_once_a_minute_per_kind() {
        let gate = KeyGate::default();
        let k = key(2);
        admitted(gate.admit(&k, t0()));
        admitted(gate.admit(&k, t0()));
        let Admission::Limited { wait, chores } = gate.admit(&k, t0()) else {
            panic!("not limited")
        };
        assert_eq!(wait, Duration::seconds(30));
        assert_eq!(
            chores.events,
            [KeyEvent::Refused {
                refusal: Refusal::RateLimited,
                refusals: 1
            }]
        );
        for _ in 0..5 {
            let Admission::Limited { chores, .. } = gate.admit(&k, t0()) else {
                panic!("not limited")
            };
            assert!(chores.is_empty());
        }
        let scope = Refusal::Scope(Scope::CasesRead);
        assert_eq!(
            gate.refuse(&k, scope, t0()),
            Some(KeyEvent::Refused {
                refusal: scope,
                refusals: 1
            })
        );
        assert_eq!(gate.refuse(&k, scope, t0()), None);
        assert_eq!(
            gate.refuse(&k, Refusal::Scope(Scope::LabelsRead), t0()),
            Some(KeyEvent::Refused {
                refusal: Refusal::Scope(Scope::LabelsRead),
                refusals: 1
            })
        );
        let later = t0() + Duration::minutes(1);
        assert_eq!(
            gate.refuse(&k, scope, later),
            Some(KeyEvent::Refused {
                refusal: scope,
                refusals: 2
            })
        );
        let Admission::Limited { chores, .. } = gate.admit(&k, t0() + Duration::seconds(29)) else {
            panic!("not limited")
        };
        assert!(chores.is_empty());
        // The refill at 30 s admits one again.
        assert!(matches!(
            gate.admit(&k, t0() + Duration::seconds(30)),
            Admission::Admitted(_)
        ));
        // A minute on, the bucket holds one again; the next is refused and recorded
        // with the six refused in between.
        assert!(matches!(gate.admit(&k, later), Admission::Admitted(_)));
        let Admission::Limited { chores, .. } = gate.admit(&k, later) else {
            panic!("not limited")
        };
        assert_eq!(
            chores.events,
            [KeyEvent::Refused {
                refusal: Refusal::RateLimited,
                refusals: 7
            }]
        );
    }
}
