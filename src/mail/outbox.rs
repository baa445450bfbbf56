// The durable outbox: a message is stored in the transaction that asks for it and
// sent later by the outbox worker, retried with capped exponential backoff while
// the server is down. A lease keeps two instances from sending one message at once.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;

use super::transport::{SendError, Transport};
use crate::db::DbConn;
use crate::db::schema::outbox;
use crate::dispatch;
use crate::domain::tokens;
use crate::store;

/// How long an instance holds a message it is sending; past it, another may retry.
pub const LEASE: Duration = Duration::minutes(5);
/// The first retry waits this long; each further one twice as long …
pub const FIRST_RETRY: Duration = Duration::seconds(30);
/// … up to this.
pub const MAX_RETRY: Duration = Duration::hours(1);
/// Messages taken in one pass of the worker.
const BATCH: i64 = 50;

pub use crate::store::outbox::OutboxMessage;

/// A message to store.
pub struct NewMail<'a> {
    pub kind: &'a str,
    pub case_id: Option<i64>,
    pub to: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    pub html: Option<&'a str>,
}

/// The wait before attempt `attempts + 1`, after `attempts` failed ones.
pub fn backoff(attempts: i32) -> Duration {
    crate::domain::retry::backoff(FIRST_RETRY, MAX_RETRY, attempts)
}

/// A new Message-ID: 144 random bits, so it is unique without knowing the sender.
pub fn new_message_id() -> String {
    let id = tokens::random_token(18).replace(['-', '_'], "x");
    format!("<{id}@riskdesk>")
}

/// Stores a message in the caller's transaction, due at once; returns its id.
pub fn enqueue(conn: &mut DbConn, now: DateTime<Utc>, mail: &NewMail) -> QueryResult<i64> {
    let at = store::to_db(now);
    let message_id = new_message_id();
    dispatch!(conn, |c| diesel::insert_into(outbox::table)
        .values((
            outbox::message_id.eq(&message_id),
            outbox::kind.eq(mail.kind),
            outbox::case_id.eq(mail.case_id),
            outbox::to_addr.eq(mail.to),
            outbox::subject.eq(mail.subject),
            outbox::body_text.eq(mail.text),
            outbox::body_html.eq(mail.html),
            outbox::created_at.eq(at),
            outbox::attempts.eq(0),
            outbox::next_attempt_at.eq(Some(at)),
        ))
        .returning(outbox::id)
        .get_result(c))
}

/// A message to a customer in a conversation, stored as [`enqueue`] stores one,
/// with the address their reply goes to and the Message-ID of the e-mail of theirs
/// it answers; returns its id and Message-ID.
pub fn enqueue_reply(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    mail: &NewMail,
    reply_to: &str,
    in_reply_to: Option<&str>,
) -> QueryResult<(i64, String)> {
    let id = enqueue(conn, now, mail)?;
    diesel::update(outbox::table.find(id))
        .set((
            outbox::reply_to.eq(Some(reply_to)),
            outbox::in_reply_to.eq(in_reply_to),
        ))
        .execute(conn)?;
    let message_id = outbox::table
        .find(id)
        .select(outbox::message_id)
        .first(conn)?;
    Ok((id, message_id))
}

/// What one pass of the worker did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub sent: usize,
    pub retrying: usize,
    pub failed: usize,
}

/// Sends the messages that are due through `transport`.
pub fn deliver_due(
    conn: &mut DbConn,
    transport: &Transport,
    mail_from: &str,
    now: DateTime<Utc>,
) -> QueryResult<Pass> {
    let at = store::to_db(now);
    let due: Vec<i64> = outbox::table
        .filter(outbox::next_attempt_at.le(at))
        .filter(outbox::sent_at.is_null())
        .filter(outbox::failed_at.is_null())
        .filter(
            outbox::claimed_until
                .is_null()
                .or(outbox::claimed_until.lt(at)),
        )
        .order(outbox::next_attempt_at.asc())
        .select(outbox::id)
        .limit(BATCH)
        .load(conn)?;
    let mut pass = Pass::default();
    for id in due {
        let claim = tokens::random_token(12);
        let taken = diesel::update(
            outbox::table
                .find(id)
                .filter(outbox::sent_at.is_null())
                .filter(outbox::failed_at.is_null())
                .filter(
                    outbox::claimed_until
                        .is_null()
                        .or(outbox::claimed_until.lt(at)),
                ),
        )
        .set((
            outbox::claimed_until.eq(Some(store::to_db(now + LEASE))),
            outbox::claim.eq(Some(&claim)),
        ))
        .execute(conn)?;
        if taken == 0 {
            // Another instance has it.
            continue;
        }
        let m: OutboxMessage = outbox::table
            .find(id)
            .select(OutboxMessage::as_select())
            .first(conn)?;
        let attempts = m.attempts + 1;
        let mine = outbox::table.find(id).filter(outbox::claim.eq(claim));
        match transport.send(mail_from, &m) {
            Ok(()) => {
                diesel::update(mine)
                    .set((
                        outbox::sent_at.eq(Some(at)),
                        outbox::attempts.eq(attempts),
                        outbox::next_attempt_at.eq(None::<chrono::NaiveDateTime>),
                        outbox::claimed_until.eq(None::<chrono::NaiveDateTime>),
                        outbox::last_error.eq(None::<String>),
                    ))
                    .execute(conn)?;
                tracing::info!(outbox_id = id, kind = %m.kind, attempts, "mail sent");
                pass.sent += 1;
            }
            Err(SendError::Transient(e)) => {
                let next = now + backoff(attempts);
                diesel::update(mine)
                    .set((
                        outbox::attempts.eq(attempts),
                        outbox::next_attempt_at.eq(Some(store::to_db(next))),
                        outbox::claimed_until.eq(None::<chrono::NaiveDateTime>),
                        outbox::last_error.eq(Some(&e)),
                    ))
                    .execute(conn)?;
                tracing::warn!(outbox_id = id, attempts, error = %e, retry_at = %next, "mail not sent; will retry");
                pass.retrying += 1;
            }
            Err(SendError::Permanent(e)) => {
                diesel::update(mine)
                    .set((
                        outbox::attempts.eq(attempts),
                        outbox::failed_at.eq(Some(at)),
                        outbox::next_attempt_at.eq(None::<chrono::NaiveDateTime>),
                        outbox::claimed_until.eq(None::<chrono::NaiveDateTime>),
                        outbox::last_error.eq(Some(&e)),
                    ))
                    .execute(conn)?;
                tracing::warn!(outbox_id = id, attempts, error = %e, "mail refused for good");
                pass.failed += 1;
            }
        }
    }
    Ok(pass)
}

/// (waiting to be sent, sent, failed for good), for /metrics.
pub fn counts(conn: &mut DbConn) -> QueryResult<(i64, i64, i64)> {
    let pending = outbox::table
        .filter(outbox::sent_at.is_null())
        .filter(outbox::failed_at.is_null())
        .count()
        .get_result(conn)?;
    let sent = outbox::table
        .filter(outbox::sent_at.is_not_null())
        .count()
        .get_result(conn)?;
    let failed = outbox::table
        .filter(outbox::failed_at.is_not_null())
        .count()
        .get_result(conn)?;
    Ok((pending, sent, failed))
}

/// The messages stored about a case, oldest first.
pub fn of_case(conn: &mut DbConn, case_id: i64) -> QueryResult<Vec<OutboxMessage>> {
    outbox::table
        .filter(outbox::case_id.eq(case_id))
        .select(OutboxMessage::as_select())
        .order(outbox::id.asc())
        .load(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let secs: Vec<i64> = (1..=9).map(|a| backoff(a).num_seconds()).collect();
        assert_eq!(secs, vec![30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
        assert_eq!(backoff(0).num_seconds(), 30);
        assert_eq!(backoff(1000).num_seconds(), 3600);
    }

    #[test]
    fn message_ids_are_unique() {
        let a = new_message_id();
        let b = new_message_id();
        assert!(a.starts_with('<') && a.ends_with("@riskdesk>"), "{a}");
        assert_ne!(a, b);
    }
}
