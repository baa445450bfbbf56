// A short-lived, per-instance memory of session rows, so that a page does not cost a
// trip to the database just to learn who asks. An entry lives `ttl` at most (a few
// seconds): a session ended or a user deactivated on another instance stops working
// within that time. Every state-changing request through this instance (sign-out,
// deactivation, a role or language change, presence) empties the memory when it has
// been handled, so such changes made here take effect at once. A session that is due
// for its last-seen update or past its limits always goes to the database.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

use crate::store::sessions::Session;
use crate::store::users::User;

/// Entries kept at most; beyond that the memory starts afresh.
const MAX_ENTRIES: usize = 10_000;

/// What the session middleware read for one session.
#[derive(Debug, Clone)]
pub struct Cached {
    pub session: Session,
    pub user: User,
    pub unread: i64,
    /// Emergencies the user is paged for and has not answered.
    pub paged: Vec<crate::cases::emergency::Banner>,
    pub fetched: DateTime<Utc>,
}

#[derive(Debug)]
pub struct SessionCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, Cached>>,
}

impl SessionCache {
    /// A memory whose entries live `ttl`; zero or less keeps nothing.
    pub fn new(ttl: Duration) -> Self {
        SessionCache {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The entry for the session with this digest, if read less than `ttl` ago.
    pub fn get(&self, digest: &str, now: DateTime<Utc>) -> Option<Cached> {
        if self.ttl <= Duration::zero() {
            return None;
        }
        let entries = self.entries.lock().expect("session cache lock");
        entries
            .get(digest)
            .filter(|c| now >= c.fetched && now - c.fetched < self.ttl)
            .cloned()
    }

    pub fn put(&self, digest: String, entry: Cached) {
        if self.ttl <= Duration::zero() {
            return;
        }
        let mut entries = self.entries.lock().expect("session cache lock");
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(digest, entry);
    }

    /// Forgets everything (after any change made through this instance).
    pub fn clear(&self) {
        self.entries.lock().expect("session cache lock").clear();
    }
}
