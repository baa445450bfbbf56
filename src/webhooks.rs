// Webhooks: the commands on receivers (shared by the command line, the admin pages
// and the JSON API, each in one transaction with its audit event) and the delivery
// worker that sends what the outbox holds, signed, retried with backoff while the
// receiver fails.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use crate::accounts::{Actor, record};
use crate::apikeys::Origin;
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
/// returns it with its signing secret, to show once. `by` is an actor (the command
/// line, an admin) or an actor with the API key it came with.
pub fn add<'a>(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    by: impl Into<Origin<'a>>,
    name: &str,
    url: &str,
    events: &str,
) -> Result<(Webhook, String), WebhookError> {
    let name = hooks::parse_name(name)?;
    let url = hooks::parse_url(url)?;
    let types = hooks::parse_events(events)?;
    let stored = hooks::stored_events(&types);
    let secret = hook_store::new_secret();
    let by = by.into();
    write_tx(conn, |conn| {
        if hook_store::find_by_name(conn, name)?.is_some() {
            return Err(WebhookError::NameTaken(name.to_string()));
        }
        let hook = hook_store::insert(conn, name, url, &stored, &secret, store::to_db(now))?;
        by.record(
            conn,
            now,
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
pub fn set_enabled<'a>(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    by: impl Into<Origin<'a>>,
    id: i64,
    enabled: bool,
) -> Result<Webhook, WebhookError> {
    let by = by.into();
    write_tx(conn, |conn| {
        let hook = hook_store::find(conn, id)?.ok_or(WebhookError::NotFound)?;
        if hook_store::set_enabled(conn, id, enabled)? > 0 {
            let kind = if enabled {
                "webhook.enabled"
            } else {
                "webhook.disabled"
            };
            by.record(conn, now, kind, Some(&hook.name), json!({}))?;
        }
        Ok(Webhook { enabled, ..hook })
    })
}

/// Gives a receiver a new signing secret, returned to show once.
pub fn rotate<'a>(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    by: impl Into<Origin<'a>>,
    id: i64,
) -> Result<(Webhook, String), WebhookError> {
    let secret = hook_store::new_secret();
    let by = by.into();
    write_tx(conn, |conn| {
        let hook = hook_store::find(conn, id)?.ok_or(WebhookError::NotFound)?;
        hook_store::set_secret(conn, id, &secret, store::to_db(now))?;
        by.record(
            conn,
            now,
            "webhook.secret_rotated",
            Some(&hook.name),
            json!({}),
        )?;
        Ok((
            Webhook {
                rotated_at: Some(store::to_db(now)),
                ..hook
            },
            secret.clone(),
        ))
    })
}

/// Deletes a receiver and what was waiting for it.
pub fn delete<'a>(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    by: impl Into<Origin<'a>>,
    id: i64,
) -> Result<Webhook, WebhookError> {
    let by = by.into();
    write_tx(conn, |conn| {
        let hook = hook_store::find(conn, id)?.ok_or(WebhookError::NotFound)?;
        hook_store::delete(conn, id)?;
        by.record(
            conn,
            now,
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
    /// A lane took a full batch: more may be waiting.
    pub more: bool,
}

impl Pass {
    fn add(&mut self, other: Pass) {
        self.delivered += other.delivered;
        self.retrying += other.retrying;
        self.more |= other.more;
    }
}

/// Deliveries sent at once by one pass (each on its own thread).
const PARALLEL: usize = 8;
/// The job under whose lease one instance at a time empties the outbox.
const OUTBOX_JOB: &str = "webhook_outbox";
/// Outbox events recorded per write.
const RECORD_CHUNK: usize = 100;
/// Failed attempts on one receiver in one pass after which its other deliveries of
/// the pass are not tried but wait for a later one: a receiver that is down is not
/// hammered, and a pass with a receiver that times out stays short.
const GIVE_UP_AFTER: usize = 3;

/// One pass of the worker: the outbox's new events sent to their receivers, then the
/// deliveries due for a retry.
pub fn deliver_due(
    conn: &mut DbConn,
    agent: &ureq::Agent,
    now: impl Fn() -> DateTime<Utc> + Sync,
) -> diesel::QueryResult<Pass> {
    let mut pass = dispatch_outbox(conn, agent, &now)?;
    pass.add(send_retries(conn, agent, &now)?);
    Ok(pass)
}

/// Failed attempts per receiver within a pass, shared by its sending threads.
struct Failures(std::collections::HashMap<i64, std::sync::atomic::AtomicUsize>);

impl Failures {
    fn new(receivers: impl Iterator<Item = i64>) -> Self {
        Failures(receivers.map(|id| (id, Default::default())).collect())
    }

    fn given_up(&self, webhook: i64) -> bool {
        self.0
            .get(&webhook)
            .is_some_and(|n| n.load(std::sync::atomic::Ordering::Relaxed) >= GIVE_UP_AFTER)
    }

    fn note(&self, webhook: i64, attempt: &hook_store::Attempt) {
        if matches!(attempt, hook_store::Attempt::Failed { .. })
            && let Some(n) = self.0.get(&webhook)
        {
            n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

/// Runs `work` on each of `items`, spread over at most [`PARALLEL`] threads (the
/// items given to one thread run in their order), and returns every result.
fn side_by_side<T: Sync, R: Send>(items: &[T], work: impl Fn(&T) -> Vec<R> + Sync) -> Vec<R> {
    let threads = items.len().clamp(1, PARALLEL);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|k| {
                let work = &work;
                s.spawn(move || {
                    items
                        .iter()
                        .skip(k)
                        .step_by(threads)
                        .flat_map(work)
                        .collect::<Vec<R>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

/// Sends the outbox's oldest events to every receiver that subscribes to them, once
/// across instances (one at a time holds the job's lease; one that dies mid-pass
/// leaves the events in the outbox for the next, so an event may come twice, with
/// its id, never not at all). The events of one case go to a receiver one after the
/// other, after any of that case's deliveries still waiting for it; when one fails,
/// the case's later ones wait in line behind it. One write takes the lease; short
/// writes of [`RECORD_CHUNK`] events each record their deliveries and empty the
/// outbox of them.
pub fn dispatch_outbox(
    conn: &mut DbConn,
    agent: &ureq::Agent,
    now: &(impl Fn() -> DateTime<Utc> + Sync),
) -> diesel::QueryResult<Pass> {
    if hook_store::outbox_head(conn, 1)?.is_empty() {
        return Ok(Pass::default());
    }
    let owner = tokens::random_token(12);
    let t = now();
    if !write_tx(conn, |c| {
        store::jobs::take_lease(c, OUTBOX_JOB, &owner, t, LEASE)
    })? {
        return Ok(Pass::default());
    }
    let result = dispatch_leased(conn, agent, now, &owner);
    if result.is_err() {
        write_tx(conn, |c| store::jobs::release_lease(c, OUTBOX_JOB, &owner))?;
    }
    result
}

/// One receiver's share of the pass: the events of one case, in order.
struct Line<'a> {
    hook: &'a Webhook,
    events: Vec<usize>,
    /// Held from the start: the receiver is off, or an earlier delivery of the
    /// case waits for it.
    held: bool,
}

fn dispatch_leased(
    conn: &mut DbConn,
    agent: &ureq::Agent,
    now: &(impl Fn() -> DateTime<Utc> + Sync),
    owner: &str,
) -> diesel::QueryResult<Pass> {
    let events = hook_store::outbox_head(conn, hook_store::BATCH)?;
    let hooks_all = hook_store::receivers(conn)?;
    let case_ids: Vec<i64> = {
        let mut ids: Vec<i64> = events.iter().map(|e| e.case_id).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    };
    let mut lines: Vec<Line> = Vec::new();
    for hook in &hooks_all {
        let waiting = hook_store::waiting_cases(conn, hook.id, &case_ids)?;
        let mut by_case: std::collections::HashMap<i64, usize> = Default::default();
        for (i, e) in events.iter().enumerate() {
            let Ok(kind) = e.event_type.parse::<hooks::EventType>() else {
                continue;
            };
            if !hooks::subscribes(&hook.events, kind) {
                continue;
            }
            let line = *by_case.entry(e.case_id).or_insert_with(|| {
                lines.push(Line {
                    hook,
                    events: Vec::new(),
                    held: !hook.enabled || waiting.contains(&e.case_id),
                });
                lines.len() - 1
            });
            lines[line].events.push(i);
        }
    }
    let failures = Failures::new(hooks_all.iter().map(|h| h.id));
    let fates = side_by_side(&lines, |line| {
        let mut out = Vec::with_capacity(line.events.len());
        let mut behind: Option<chrono::NaiveDateTime> = line.held.then(|| store::to_db(now()));
        for &i in &line.events {
            if behind.is_none() && failures.given_up(line.hook.id) {
                behind = Some(store::to_db(now() + FIRST_RETRY));
            }
            if let Some(at) = behind {
                out.push((i, line.hook.id, hook_store::Fate::Held { at }));
                continue;
            }
            let e = &events[i];
            let attempt = send(
                agent,
                &e.event_id,
                &e.body,
                0,
                &line.hook.url,
                &line.hook.secret,
                now,
            );
            failures.note(line.hook.id, &attempt);
            if let hook_store::Attempt::Failed { retry_at, .. } = &attempt {
                behind = Some(*retry_at);
            }
            out.push((i, line.hook.id, hook_store::Fate::Sent(attempt)));
        }
        out
    });
    let done = store::to_db(now());
    // Recorded in short writes (each its events' deliveries and their leaving the
    // outbox together), so that intake never waits long behind the worker. An
    // instance that stops between two sends the rest again (same ids).
    let mut delivered = 0;
    for (k, part) in events.chunks(RECORD_CHUNK).enumerate() {
        let start = k * RECORD_CHUNK;
        let mine: Vec<(usize, i64, hook_store::Fate)> = fates
            .iter()
            .filter(|(i, _, _)| (start..start + part.len()).contains(i))
            .map(|(i, h, f)| (i - start, *h, f.clone()))
            .collect();
        delivered += write_tx(conn, |c| hook_store::record_dispatch(c, done, part, &mine))?;
    }
    write_tx(conn, |c| store::jobs::release_lease(c, OUTBOX_JOB, owner))?;
    let retrying = fates
        .iter()
        .filter(|(_, _, f)| {
            matches!(
                f,
                hook_store::Fate::Sent(hook_store::Attempt::Failed { .. })
            )
        })
        .count();
    for (i, hook, fate) in &fates {
        if let hook_store::Fate::Sent(hook_store::Attempt::Failed {
            error, retry_at, ..
        }) = fate
        {
            tracing::warn!(event = events[*i].event_id, webhook = hook, error, retry_at = %retry_at, "webhook not delivered; will retry");
        }
    }
    Ok(Pass {
        delivered,
        retrying,
        more: events.len() as i64 == hook_store::BATCH,
    })
}

/// Sends the deliveries that are due for a retry (or sent again by hand) and first in
/// line for their case, once each across instances: the pass claims them together
/// under a lease (one write), sends them side by side (at most one per case and
/// receiver, so order holds), and records every attempt together (one write).
pub fn send_retries(
    conn: &mut DbConn,
    agent: &ureq::Agent,
    now: &(impl Fn() -> DateTime<Utc> + Sync),
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
    let failures = Failures::new(taken.iter().map(|(d, _, _)| d.webhook_id));
    let outcomes: Vec<(i64, i32, Option<hook_store::Attempt>)> =
        side_by_side(&taken, |(d, url, secret)| {
            if failures.given_up(d.webhook_id) {
                return vec![(d.id, d.attempts, None)];
            }
            let attempt = send(agent, &d.event_id, &d.body, d.attempts, url, secret, now);
            failures.note(d.webhook_id, &attempt);
            vec![(d.id, d.attempts + 1, Some(attempt))]
        });
    let done = store::to_db(now());
    let later = store::to_db(now() + FIRST_RETRY);
    let mut per_receiver: std::collections::BTreeMap<i64, i64> = Default::default();
    for (id, _, outcome) in &outcomes {
        if matches!(outcome, Some(hook_store::Attempt::Delivered { .. }))
            && let Some((d, _, _)) = taken.iter().find(|(d, _, _)| d.id == *id)
        {
            *per_receiver.entry(d.webhook_id).or_default() += 1;
        }
    }
    write_tx(conn, |c| {
        for (id, attempts, outcome) in &outcomes {
            match outcome {
                Some(o) => hook_store::record_attempt(c, *id, &claim, *attempts, done, o)?,
                None => hook_store::postpone(c, *id, &claim, later)?,
            };
        }
        for (webhook, n) in &per_receiver {
            hook_store::count_delivered(c, *webhook, *n)?;
        }
        Ok::<_, diesel::result::Error>(())
    })?;
    let mut pass = Pass {
        more: due.len() as i64 == hook_store::BATCH,
        ..Pass::default()
    };
    for (id, attempts, outcome) in &outcomes {
        match outcome {
            Some(hook_store::Attempt::Delivered { .. }) => {
                tracing::debug!(delivery = id, attempts, "webhook delivered");
                pass.delivered += 1;
            }
            Some(hook_store::Attempt::Failed {
                error, retry_at, ..
            }) => {
                tracing::warn!(delivery = id, attempts, error, retry_at = %retry_at, "webhook not delivered; will retry");
                pass.retrying += 1;
            }
            None => pass.retrying += 1,
        }
    }
    Ok(pass)
}

/// One attempt, after `attempts` earlier ones: the signed POST of `body`, and what
/// came of it.
fn send(
    agent: &ureq::Agent,
    event_id: &str,
    body: &str,
    attempts: i32,
    url: &str,
    secret: &str,
    now: &(impl Fn() -> DateTime<Utc> + Sync),
) -> hook_store::Attempt {
    let t = now();
    let signature = hooks::signature(secret, t.timestamp(), body.as_bytes());
    let sent = agent
        .post(url)
        .header("Content-Type", "application/json")
        .header("Riskdesk-Signature", &signature)
        .header("Riskdesk-Event-Id", event_id)
        .send(body.as_bytes());
    let failed = |status: Option<i32>, error: String| hook_store::Attempt::Failed {
        status,
        error: error.chars().take(ERROR_CHARS).collect(),
        retry_at: store::to_db(now() + backoff(attempts + 1)),
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
