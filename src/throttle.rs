// Limits on sign-in work. The per-address limit on failed sign-ins slows guessing
// across many accounts from one address even before any single account locks; it is
// kept in the database, so every instance behind a balancer shares it. The password
// gate bounds how many argon2 computations (19 MiB each) run at once, so a storm of
// sign-ins costs a few hashes' memory and the rest wait briefly or are told to retry.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::db::DbConn;
use crate::db::schema::login_failures;
use crate::store;

/// Failed attempts from one address allowed in the window before it is refused.
pub const MAX_FAILURES_PER_ADDRESS: i64 = 20;
/// The window over which failures count.
pub const WINDOW_MINUTES: i64 = 15;

/// Seconds until `addr` may try again, if it is over the limit now.
pub fn retry_after(conn: &mut DbConn, addr: &str, now: DateTime<Utc>) -> QueryResult<Option<u64>> {
    let window = Duration::minutes(WINDOW_MINUTES);
    let since = store::to_db(now - window);
    // The failure that must leave the window before one more attempt is allowed.
    let oldest_that_counts: Option<chrono::NaiveDateTime> = login_failures::table
        .filter(login_failures::addr.eq(addr))
        .filter(login_failures::at.gt(since))
        .select(login_failures::at)
        .order(login_failures::at.desc())
        .offset(MAX_FAILURES_PER_ADDRESS - 1)
        .first(conn)
        .optional()?;
    Ok(oldest_that_counts.map(|at| {
        let wait = store::from_db(at) + window - now;
        wait.num_seconds().max(1) as u64
    }))
}

/// Records a failed sign-in from `addr`, and forgets failures older than the window.
pub fn record_failure(conn: &mut DbConn, addr: &str, now: DateTime<Utc>) -> QueryResult<()> {
    let before = store::to_db(now - Duration::minutes(WINDOW_MINUTES));
    diesel::delete(login_failures::table.filter(login_failures::at.le(before))).execute(conn)?;
    diesel::insert_into(login_failures::table)
        .values((
            login_failures::addr.eq(addr),
            login_failures::at.eq(store::to_db(now)),
        ))
        .execute(conn)?;
    Ok(())
}

/// How long a sign-in waits for its turn to hash before it is told to retry.
const GATE_WAIT: StdDuration = StdDuration::from_secs(3);

/// Bounds the password hashes computed at once to the processor's cores; a few
/// more requests per core may wait their turn, the rest are refused at once.
#[derive(Debug)]
pub struct PasswordGate {
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    max_waiting: usize,
}

/// No turn came: the caller answers 429 with `Retry-After` of this many seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GateBusy(pub u64);

impl PasswordGate {
    /// A gate of `at_once` hashes at a time and `per_turn` waiting per permit.
    pub fn new(at_once: usize, per_turn: usize) -> Self {
        let at_once = at_once.max(1);
        PasswordGate {
            permits: Arc::new(Semaphore::new(at_once)),
            waiting: AtomicUsize::new(0),
            max_waiting: at_once * per_turn.max(1),
        }
    }

    /// Sized to this machine's cores, with eight waiting per core.
    pub fn for_this_machine() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        PasswordGate::new(cores, 8)
    }

    /// Waits for a turn to hash (at most a few seconds); the permit is the turn.
    pub async fn turn(&self) -> Result<OwnedSemaphorePermit, GateBusy> {
        if let Ok(p) = self.permits.clone().try_acquire_owned() {
            return Ok(p);
        }
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(GateBusy(1));
        }
        let got =
            actix_web::rt::time::timeout(GATE_WAIT, self.permits.clone().acquire_owned()).await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        match got {
            Ok(Ok(p)) => Ok(p),
            _ => Err(GateBusy(GATE_WAIT.as_secs())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{self, DatabaseUrl};

    #[test]
    fn limits_and_forgets() {
        let dir = tempfile::tempdir().unwrap();
        let pool = db::connect(&DatabaseUrl::Sqlite(dir.path().join("t.db")), 1).unwrap();
        let mut conn = pool.get().unwrap();
        let start = Utc::now();
        for i in 0..MAX_FAILURES_PER_ADDRESS {
            assert_eq!(retry_after(&mut conn, "1.2.3.4", start).unwrap(), None);
            record_failure(&mut conn, "1.2.3.4", start + Duration::seconds(i)).unwrap();
        }
        let wait = retry_after(&mut conn, "1.2.3.4", start + Duration::seconds(30))
            .unwrap()
            .unwrap();
        assert!(wait > 800 && wait <= 900, "{wait}");
        assert_eq!(retry_after(&mut conn, "5.6.7.8", start).unwrap(), None);
        let later = start + Duration::minutes(WINDOW_MINUTES) + Duration::seconds(1);
        assert_eq!(retry_after(&mut conn, "1.2.3.4", later).unwrap(), None);
    }

    #[actix_web::test]
    async fn the_gate_lets_a_few_through_and_refuses_a_crowd() {
        let gate = Arc::new(PasswordGate::new(1, 1));
        let first = gate.turn().await.unwrap();
        // One may wait; a second waiter is refused at once.
        let g = gate.clone();
        let waiter = actix_web::rt::spawn(async move { g.turn().await.map(|_| ()) });
        actix_web::rt::time::sleep(StdDuration::from_millis(50)).await;
        assert_eq!(gate.turn().await.map(|_| ()), Err(GateBusy(1)));
        drop(first);
        assert_eq!(waiter.await.unwrap(), Ok(()));
        assert!(gate.turn().await.is_ok());
    }
}
