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

/// Sends the deliveries that are due and first in line for their case, once each
/// across instances (a claim with a lease), and records every attempt.
pub fn deliver_due(
    conn: &mut DbConn,
    agent: &ureq::Agent,
    now: impl Fn() -> DateTime<Utc>,
) -> diesel::QueryResult<Pass> {
    let mut pass = Pass::default();
    let started = now();
    let due = hook_store::due(conn, store::to_db(started))?;
    for id in due {
        let t = now();
        let claim = tokens::random_token(12);
        if !hook_store::claim(conn, id, &claim, store::to_db(t), store::to_db(t + LEASE))? {
            continue;
        }
        let (d, url, secret) = hook_store::claimed(conn, id)?;
        let attempts = d.attempts + 1;
        let signature = hooks::signature(&secret, t.timestamp(), d.body.as_bytes());
        let sent = agent
            .post(&url)
            .header("Content-Type", "application/json")
            .header("Riskdesk-Signature", &signature)
            .header("Riskdesk-Event-Id", &d.event_id)
            .send(d.body.as_bytes());
        let done = now();
        let outcome = match sent {
            Ok(r) if r.status().is_success() => hook_store::Attempt::Delivered {
                status: i32::from(r.status().as_u16()),
            },
            Ok(r) => {
                let status = r.status().as_u16();
                let mut text = r.into_body();
                let said = text
                    .with_config()
                    .limit(4096)
                    .read_to_string()
                    .unwrap_or_default();
                let error: String = format!("HTTP {status}: {said}")
                    .chars()
                    .take(ERROR_CHARS)
                    .collect();
                return_failed(
                    conn,
                    &d,
                    &claim,
                    attempts,
                    done,
                    Some(i32::from(status)),
                    &error,
                    &mut pass,
                )?;
                continue;
            }
            Err(e) => {
                let error: String = e.to_string().chars().take(ERROR_CHARS).collect();
                return_failed(conn, &d, &claim, attempts, done, None, &error, &mut pass)?;
                continue;
            }
        };
        hook_store::record_attempt(conn, id, &claim, attempts, store::to_db(done), outcome)?;
        tracing::debug!(delivery = id, event = %d.event_id, attempts, "webhook delivered");
        pass.delivered += 1;
    }
    Ok(pass)
}

#[allow(clippy::too_many_arguments)]
fn return_failed(
    conn: &mut DbConn,
    d: &hook_store::Delivery,
    claim: &str,
    attempts: i32,
    at: DateTime<Utc>,
    status: Option<i32>,
    error: &str,
    pass: &mut Pass,
) -> diesel::QueryResult<()> {
    let retry_at = at + backoff(attempts);
    hook_store::record_attempt(
        conn,
        d.id,
        claim,
        attempts,
        store::to_db(at),
        hook_store::Attempt::Failed {
            status,
            error,
            retry_at: store::to_db(retry_at),
        },
    )?;
    tracing::warn!(delivery = d.id, event = %d.event_id, attempts, error, retry_at = %retry_at, "webhook not delivered; will retry");
    pass.retrying += 1;
    Ok(())
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
