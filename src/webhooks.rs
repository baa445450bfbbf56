// Webhooks: the commands on receivers (shared by the command line and the admin
// pages, each in one transaction with its audit event) and the delivery worker that
// sends what the outbox holds, signed, retried with backoff while the receiver fails.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use crate::accounts::{Actor, record};
use crate::db::{DbConn, write_tx};
use crate::domain::tokens;
use crate::domain::webhooks::{self as hooks, WebhookInputError};
use crate::store::{self, webhooks as hook_store, webhooks::Webhook};

/// How long an instance holds a delivery it is sending; past it, another may.
pub const LEASE: Duration = Duration::minutes(2);
/// The first retry waits this long; each further one twice as long, up to an hour.
pub const FIRST_RETRY: Duration = Duration::seconds(10);
pub const MAX_RETRY: Duration = Duration::hours(1);
/// The most of a receiver's answer kept as its last error.
const ERROR_CHARS: usize = 300;

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("{field}: {error}", field = .0.field(), error = .0)]
    Invalid(WebhookInputError),
    #[error("name: a webhook named '{0}' exists already")]
    NameTaken(String),
    #[error("no such webhook")]
    NotFound,
    #[error("database error: {0}")]
    Db(#[from] diesel::result::Error),
}

impl From<WebhookInputError> for WebhookError {
    fn from(e: WebhookInputError) -> Self {
        WebhookError::Invalid(e)
    }
}

/// Adds a receiver of `events` (a comma-separated list; empty is every type) and
/// returns it with its signing secret, to show once.
pub fn add(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    actor: &Actor,
    name: &str,
    url: &str,
    events: &str,
) -> Result<(Webhook, String), WebhookError> {
    let name = hooks::parse_name(name)?;
    let url = hooks::parse_url(url)?;
    let types = hooks::parse_events(events)?;
    let stored = hooks::stored_events(&types);
    let secret = hook_store::new_secret();
    write_tx(conn, |conn| {
        if hook_store::find_by_name(conn, name)?.is_some() {
            return Err(WebhookError::NameTaken(name.to_string()));
        }
        let hook = hook_store::insert(conn, name, url, &stored, &secret, store::to_db(now))?;
        record(
            conn,
            now,
            actor,
            "webhook.added",
            Some(name),
            json!({"url": url, "events": stored.trim_matches(',')}),
        )?;
        Ok((hook, secret.clone()))
    })
}

/// Finds a receiver by its id or, failing that, its name.
pub fn find(conn: &mut DbConn, key: &str) -> Result<Webhook, WebhookError> {
    if let Ok(id) = key.parse::<i64>()
        && let Some(h) = hook_store::find(conn, id)?
    {
        return Ok(h);
    }
    hook_store::find_by_name(conn, key)?.ok_or(WebhookError::NotFound)
}

/// Turns a receiver on or off; what it missed while off waits for it.
pub fn set_enabled(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    actor: &Actor,
    id: i64,
    enabled: bool,
) -> Result<Webhook, WebhookError> {
    write_tx(conn, |conn| {
        let hook = hook_store::find(conn, id)?.ok_or(WebhookError::NotFound)?;
        if hook_store::set_enabled(conn, id, enabled)? > 0 {
            let kind = if enabled {
                "webhook.enabled"
            } else {
                "webhook.disabled"
            };
            record(conn, now, actor, kind, Some(&hook.name), json!({}))?;
        }
        Ok(hook)
    })
}

/// Gives a receiver a new signing secret, returned to show once.
pub fn rotate(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    actor: &Actor,
    id: i64,
) -> Result<(Webhook, String), WebhookError> {
    let secret = hook_store::new_secret();
    write_tx(conn, |conn| {
        let hook = hook_store::find(conn, id)?.ok_or(WebhookError::NotFound)?;
        hook_store::set_secret(conn, id, &secret, store::to_db(now))?;
        record(
            conn,
            now,
            actor,
            "webhook.secret_rotated",
            Some(&hook.name),
            json!({}),
        )?;
        Ok((hook, secret.clone()))
    })
}

/// Deletes a receiver and what was waiting for it.
pub fn delete(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    actor: &Actor,
    id: i64,
) -> Result<Webhook, WebhookError> {
    write_tx(conn, |conn| {
        let hook = hook_store::find(conn, id)?.ok_or(WebhookError::NotFound)?;
        hook_store::delete(conn, id)?;
        record(
            conn,
            now,
            actor,
            "webhook.deleted",
            Some(&hook.name),
            json!({"url": hook.url}),
        )?;
        Ok(hook)
    })
}

/// Puts a delivery back in line at once, with its event id unchanged.
pub fn resend(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    actor: &Actor,
    delivery_id: i64,
) -> Result<Webhook, WebhookError> {
    write_tx(conn, |conn| {
        let d = hook_store::find_delivery(conn, delivery_id)?.ok_or(WebhookError::NotFound)?;
        let hook = hook_store::find(conn, d.webhook_id)?.ok_or(WebhookError::NotFound)?;
        hook_store::resend(conn, delivery_id, store::to_db(now))?;
        record(
            conn,
            now,
            actor,
            "webhook.resent",
            Some(&hook.name),
            json!({"event_id": d.event_id, "type": d.event_type}),
        )?;
        Ok(hook)
    })
}

/// The wait before attempt `attempts + 1`, after `attempts` failed ones.
pub fn backoff(attempts: i32) -> Duration {
    crate::domain::retry::backoff(FIRST_RETRY, MAX_RETRY, attempts)
}

/// The HTTP client of the delivery worker: answers of any status are read (not
/// errors), redirects are not followed, and an attempt ends after `timeout`.
pub fn client(timeout: StdDuration) -> ureq::Agent {
    let tls = ureq::tls::TlsConfig::builder()
        .provider(ureq::tls::TlsProvider::NativeTls)
        .build();
    ureq::Agent::config_builder()
        .tls_config(tls)
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(timeout))
        .user_agent("riskdesk-webhooks")
        .build()
        .into()
}

/// The client for `timeout`, made once per process and reused (its connections and
/// TLS setup with it).
pub fn shared_client(timeout: StdDuration) -> ureq::Agent {
    static CLIENTS: std::sync::Mutex<Vec<(StdDuration, ureq::Agent)>> =
        std::sync::Mutex::new(Vec::new());
    let mut clients = CLIENTS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, agent)) = clients.iter().find(|(t, _)| *t == timeout) {
        return agent.clone();
    }
    let agent = client(timeout);
    clients.push((timeout, agent.clone()));
    agent
}

/// What one pass of the worker did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub delivered: usize,
    pub retrying: usize,
}

/// Deliveries sent at once by one pass (each on its own thread).
const PARALLEL: usize = 8;

/// Sends the deliveries that are due and first in line for their case, once each
/// across instances: the pass claims them together under a lease (one write), sends
/// them side by side (at most one per case and receiver, so order holds), and records
/// every attempt together (one write).
pub fn deliver_due(
    conn: &mut DbConn,
    agent: &ureq::Agent,
    now: impl Fn() -> DateTime<Utc> + Sync,
) -> diesel::QueryResult<Pass> {
    let t = now();
    let due = hook_store::due(conn, store::to_db(t))?;
    if due.is_empty() {
        return Ok(Pass::default());
    }
    let claim = tokens::random_token(12);
    let taken = write_tx(conn, |c| {
        hook_store::claim_all(c, &due, &claim, store::to_db(t), store::to_db(t + LEASE))
    })?;
    let chunk = taken.len().div_ceil(PARALLEL).max(1);
    let outcomes: Vec<(i64, i32, hook_store::Attempt)> = std::thread::scope(|s| {
        let handles: Vec<_> = taken
            .chunks(chunk)
            .map(|part| {
                let now = &now;
                s.spawn(move || {
                    part.iter()
                        .map(|(d, url, secret)| {
                            (d.id, d.attempts + 1, send(agent, d, url, secret, now))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let done = store::to_db(now());
    let mut per_receiver: std::collections::BTreeMap<i64, i64> = Default::default();
    for (id, _, outcome) in &outcomes {
        if matches!(outcome, hook_store::Attempt::Delivered { .. })
            && let Some((d, _, _)) = taken.iter().find(|(d, _, _)| d.id == *id)
        {
            *per_receiver.entry(d.webhook_id).or_default() += 1;
        }
    }
    write_tx(conn, |c| {
        for (id, attempts, outcome) in &outcomes {
            hook_store::record_attempt(c, *id, &claim, *attempts, done, outcome)?;
        }
        for (webhook, n) in &per_receiver {
            hook_store::count_delivered(c, *webhook, *n)?;
        }
        Ok::<_, diesel::result::Error>(())
    })?;
    let mut pass = Pass::default();
    for (id, attempts, outcome) in &outcomes {
        match outcome {
            hook_store::Attempt::Delivered { .. } => {
                tracing::debug!(delivery = id, attempts, "webhook delivered");
                pass.delivered += 1;
            }
            hook_store::Attempt::Failed {
                error, retry_at, ..
            } => {
                tracing::warn!(delivery = id, attempts, error, retry_at = %retry_at, "webhook not delivered; will retry");
                pass.retrying += 1;
            }
        }
    }
    Ok(pass)
}

/// One attempt: the signed POST, and what came of it.
fn send(
    agent: &ureq::Agent,
    d: &hook_store::Delivery,
    url: &str,
    secret: &str,
    now: &(impl Fn() -> DateTime<Utc> + Sync),
) -> hook_store::Attempt {
    let t = now();
    let signature = hooks::signature(secret, t.timestamp(), d.body.as_bytes());
    let sent = agent
        .post(url)
        .header("Content-Type", "application/json")
        .header("Riskdesk-Signature", &signature)
        .header("Riskdesk-Event-Id", &d.event_id)
        .send(d.body.as_bytes());
    let failed = |status: Option<i32>, error: String| hook_store::Attempt::Failed {
        status,
        error: error.chars().take(ERROR_CHARS).collect(),
        retry_at: store::to_db(now() + backoff(d.attempts + 1)),
    };
    match sent {
        Ok(r) if r.status().is_success() => hook_store::Attempt::Delivered {
            status: i32::from(r.status().as_u16()),
        },
        Ok(r) => {
            let status = r.status().as_u16();
            let said = r
                .into_body()
                .with_config()
                .limit(4096)
                .read_to_string()
                .unwrap_or_default();
            failed(Some(i32::from(status)), format!("HTTP {status}: {said}"))
        }
        Err(e) => failed(None, e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_ten_seconds_to_an_hour() {
        let secs: Vec<i64> = (1..=11).map(|a| backoff(a).num_seconds()).collect();
        assert_eq!(
            secs,
            vec![10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600]
        );
        assert_eq!(backoff(0).num_seconds(), 10);
    }
}
