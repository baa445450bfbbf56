// Background workers that run beside the HTTP server in every instance. Each is
// safe to run in several instances at once.

use std::time::Duration;

use crate::app::AppState;
use crate::store::{self, sessions};

/// Starts the workers on the current actix runtime; they stop with it.
pub fn spawn(state: AppState) {
    actix_web::rt::spawn(session_sweeper(state));
}

/// Deletes sessions that have expired, every five minutes.
async fn session_sweeper(state: AppState) {
    let mut tick = actix_web::rt::time::interval(Duration::from_secs(300));
    loop {
        tick.tick().await;
        let now = state.now();
        let idle_before = store::to_db(now - state.settings.session_idle);
        let created_before = store::to_db(now - state.settings.session_max);
        let pool = state.pool.clone();
        let result = actix_web::web::block(move || -> Result<usize, String> {
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            sessions::purge(&mut conn, idle_before, created_before).map_err(|e| e.to_string())
        })
        .await;
        match result {
            Ok(Ok(n)) if n > 0 => tracing::info!(removed = n, "expired sessions removed"),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "session sweep failed"),
            Err(e) => tracing::warn!(error = %e, "session sweep failed"),
        }
    }
}
