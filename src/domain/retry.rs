// Retries of work that talks to another system (mail, webhooks): how long to wait
// before the next attempt. Pure, no I/O.

use chrono::Duration;

/// The wait before attempt `attempts + 1`, after `attempts` failed ones: `first`,
/// then twice as long each time, never more than `max`.
pub fn backoff(first: Duration, max: Duration, attempts: i32) -> Duration {
    let doublings = attempts.saturating_sub(1).clamp(0, 20) as u32;
    let wait = first.num_seconds().saturating_mul(1i64 << doublings);
    Duration::seconds(wait.min(max.num_seconds()))
}
