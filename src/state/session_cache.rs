// Short-lived, per-instance memories of rows that nearly every request reads, so that
// a request does not cost a trip to the database just to learn who asks: the session
// rows of pages, the API keys of the JSON API, and the queues and saved views of a
// user's lists. An entry lives `ttl` at most (a few seconds): a session ended, a user
// deactivated, a key revoked or a membership changed on another instance (or from the
// command line) takes effect within that time. Every state-changing page request
// through this instance (sign-out, deactivation, a role or language change, presence,
// a key revoked, a view saved) empties every memory when it has been handled, so such
// changes made here take effect at once. A session that is due for
// its last-seen update or past its limits always goes to the database.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

use crate::store::sessions::Session;
use crate::store::users::User;

/// Entries kept at most; beyond that a memory starts afresh.
const MAX_ENTRIES: usize = 10_000;

/// What the session middleware read for one session.
#[derive(Debug, Clone)]
pub struct Cached {
    pub session: Session,
    pub user: User,
    pub unread: i64,
    /// Emergencies the user is paged for and has not answered.
    pub paged: Vec<crate::cases::emergency::Banner>,
}

/// The session rows read recently, by the digest of their token.
pub type SessionCache = Memory<Cached>;

/// The API keys read recently, by their prefix.
pub type KeyCache = Memory<crate::store::apikeys::ApiKey>;

/// What a user's lists read on every load besides the list itself: the queues they
/// are a member of and the saved views they see (with their owners' names).
#[derive(Debug, Clone)]
pub struct Lists {
    pub queue_ids: Vec<i64>,
    pub views: Vec<(crate::saved_views::SavedView, String)>,
}

/// The lists' reads, by user id. Only the lists (pages that change nothing) use it:
/// an action checks membership afresh.
pub type ListsCache = Memory<Lists>;

/// Values by key, each kept `ttl` from when it was read.
#[derive(Debug)]
pub struct Memory<V> {
    ttl: Duration,
    entries: Mutex<HashMap<String, (DateTime<Utc>, V)>>,
}

impl<V: Clone> Memory<V> {
    /// A memory whose entries live `ttl`; zero or less keeps nothing.
    pub fn new(ttl: Duration) -> Self {
        Memory {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The entry for this key, if read less than `ttl` ago.
    pub fn get(&self, key: &str, now: DateTime<Utc>) -> Option<V> {
        if self.ttl <= Duration::zero() {
            return None;
        }
        let entries = self.entries.lock().expect("memory lock");
        entries
            .get(key)
            .filter(|(fetched, _)| now >= *fetched && now - *fetched < self.ttl)
            .map(|(_, v)| v.clone())
    }

    /// Remembers what was read at `fetched`.
    pub fn put(&self, key: String, value: V, fetched: DateTime<Utc>) {
        if self.ttl <= Duration::zero() {
            return;
        }
        let mut entries = self.entries.lock().expect("memory lock");
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key, (fetched, value));
    }

    /// Forgets everything (after any change made through this instance).
    pub fn clear(&self) {
        self.entries.lock().expect("memory lock").clear();
    }
}
