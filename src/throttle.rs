// Per-address limit on failed sign-ins, so that guessing across many accounts from
// one address slows down even before any single account locks.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

/// Failed attempts from one address allowed in the window before it is refused.
pub const MAX_FAILURES_PER_ADDRESS: usize = 20;
/// The window over which failures count.
pub const WINDOW_MINUTES: i64 = 15;

#[derive(Debug, Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<String, VecDeque<DateTime<Utc>>>>,
}

impl LoginThrottle {
    /// Seconds until `addr` may try again, if it is over the limit now.
    pub fn retry_after(&self, addr: &str, now: DateTime<Utc>) -> Option<u64> {
        let mut map = self.failures.lock().expect("throttle lock");
        let q = map.get_mut(addr)?;
        let window = Duration::minutes(WINDOW_MINUTES);
        while q.front().is_some_and(|t| *t + window <= now) {
            q.pop_front();
        }
        if q.len() >= MAX_FAILURES_PER_ADDRESS {
            let oldest = *q.front()?;
            Some(((oldest + window - now).num_seconds().max(1)) as u64)
        } else {
            None
        }
    }

    pub fn record_failure(&self, addr: &str, now: DateTime<Utc>) {
        let mut map = self.failures.lock().expect("throttle lock");
        // Keep the map from growing without bound under a spray of addresses.
        if map.len() > 100_000 {
            let window = Duration::minutes(WINDOW_MINUTES);
            map.retain(|_, q| q.back().is_some_and(|t| *t + window > now));
        }
        map.entry(addr.to_string()).or_default().push_back(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_forgets() {
        let t = LoginThrottle::default();
        let start = Utc::now();
        for i in 0..MAX_FAILURES_PER_ADDRESS {
            assert_eq!(t.retry_after("1.2.3.4", start), None);
            t.record_failure("1.2.3.4", start + Duration::seconds(i as i64));
        }
        let wait = t
            .retry_after("1.2.3.4", start + Duration::seconds(30))
            .unwrap();
        assert!(wait > 800 && wait <= 900, "{wait}");
        assert_eq!(t.retry_after("5.6.7.8", start), None);
        let later = start + Duration::minutes(WINDOW_MINUTES) + Duration::seconds(1);
        assert_eq!(t.retry_after("1.2.3.4", later), None);
    }
}
