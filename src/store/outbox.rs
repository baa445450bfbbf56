// The mail outbox's rows: what the outbox worker reads and the transport sends.

use diesel::prelude::*;

use crate::db::schema::outbox;

/// A stored message: written in the transaction that made it, sent by the worker.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox)]
pub struct OutboxMessage {
    pub id: i64,
    pub message_id: String,
    pub kind: String,
    pub case_id: Option<i64>,
    pub to_addr: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: Option<String>,
    pub created_at: chrono::NaiveDateTime,
    pub attempts: i32,
    pub next_attempt_at: Option<chrono::NaiveDateTime>,
    pub last_error: Option<String>,
    pub sent_at: Option<chrono::NaiveDateTime>,
    pub failed_at: Option<chrono::NaiveDateTime>,
    /// Where the customer's reply goes (a conversation's signed reply address).
    pub reply_to: Option<String>,
    /// The Message-ID of the customer's e-mail this one answers.
    pub in_reply_to: Option<String>,
}
