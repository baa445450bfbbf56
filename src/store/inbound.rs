// Inbound e-mail: every mail the desk received, raw, stored once (by its
// Message-ID, else the digest of its bytes) before anything is done with it, and
// what became of it: attached to a case, in Triage with the reason, or discarded.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::inbound_mail;
use crate::dispatch;

/// What became of a mail.
pub const ATTACHED: &str = "attached";
pub const TRIAGE: &str = "triage";
pub const DISCARDED: &str = "discarded";

/// A stored mail without its bytes.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = inbound_mail)]
pub struct InboundMail {
    pub id: i64,
    pub dedup_key: String,
    pub source: String,
    pub envelope_to: Option<String>,
    pub size: i64,
    pub received_at: NaiveDateTime,
    pub processed_at: Option<NaiveDateTime>,
    pub outcome: Option<String>,
    pub reason: Option<String>,
    pub case_id: Option<i64>,
    pub message_row: Option<i64>,
    pub from_addr: Option<String>,
    pub subject: Option<String>,
    pub decided_by: Option<i64>,
    pub decided_at: Option<NaiveDateTime>,
}

/// Stores a raw mail unless one with its key is stored already; the id of the new
/// row, or `None` for a mail stored before.
pub fn insert(
    conn: &mut DbConn,
    key: &str,
    source: &str,
    envelope_to: Option<&str>,
    raw: &[u8],
    at: NaiveDateTime,
) -> QueryResult<Option<i64>> {
    dispatch!(conn, |c| diesel::insert_into(inbound_mail::table)
        .values((
            inbound_mail::dedup_key.eq(key),
            inbound_mail::source.eq(source),
            inbound_mail::envelope_to.eq(envelope_to),
            inbound_mail::raw.eq(raw),
            inbound_mail::size.eq(raw.len() as i64),
            inbound_mail::received_at.eq(at),
        ))
        .on_conflict_do_nothing()
        .returning(inbound_mail::id)
        .get_result::<i64>(c)
        .optional())
}

/// The mail stored under `key`.
pub fn by_key(conn: &mut DbConn, key: &str) -> QueryResult<Option<InboundMail>> {
    inbound_mail::table
        .filter(inbound_mail::dedup_key.eq(key))
        .select(InboundMail::as_select())
        .first(conn)
        .optional()
}

pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<InboundMail>> {
    inbound_mail::table
        .find(id)
        .select(InboundMail::as_select())
        .first(conn)
        .optional()
}

/// The bytes of a stored mail.
pub fn raw(conn: &mut DbConn, id: i64) -> QueryResult<Vec<u8>> {
    inbound_mail::table
        .find(id)
        .select(inbound_mail::raw)
        .first(conn)
}

/// Takes an unprocessed mail for processing, in the caller's transaction: false
/// when it was processed already (by another instance, or before a crash's
/// restart).
pub fn claim(conn: &mut DbConn, id: i64, at: NaiveDateTime) -> QueryResult<bool> {
    let n = diesel::update(
        inbound_mail::table
            .find(id)
            .filter(inbound_mail::processed_at.is_null()),
    )
    .set(inbound_mail::processed_at.eq(Some(at)))
    .execute(conn)?;
    Ok(n == 1)
}

/// What processing found.
pub struct Outcome<'a> {
    pub outcome: &'a str,
    pub reason: Option<&'a str>,
    pub case_id: Option<i64>,
    pub message_row: Option<i64>,
    pub from_addr: Option<&'a str>,
    pub subject: Option<&'a str>,
}

pub fn set_outcome(conn: &mut DbConn, id: i64, o: &Outcome) -> QueryResult<()> {
    diesel::update(inbound_mail::table.find(id))
        .set((
            inbound_mail::outcome.eq(Some(o.outcome)),
            inbound_mail::reason.eq(o.reason),
            inbound_mail::case_id.eq(o.case_id),
            inbound_mail::message_row.eq(o.message_row),
            inbound_mail::from_addr.eq(o.from_addr),
            inbound_mail::subject.eq(o.subject),
        ))
        .execute(conn)
        .map(|_| ())
}

/// A supervisor's decision on a mail in Triage, in the caller's transaction (the
/// reason it came to Triage stays): false when it is no longer in Triage (decided
/// meanwhile).
pub fn decide(
    conn: &mut DbConn,
    id: i64,
    outcome: &str,
    case_id: Option<i64>,
    message_row: Option<i64>,
    by: i64,
    at: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        inbound_mail::table
            .find(id)
            .filter(inbound_mail::outcome.eq(TRIAGE)),
    )
    .set((
        inbound_mail::outcome.eq(Some(outcome)),
        inbound_mail::case_id.eq(case_id),
        inbound_mail::message_row.eq(message_row),
        inbound_mail::decided_by.eq(Some(by)),
        inbound_mail::decided_at.eq(Some(at)),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// The ids of mails not processed yet, oldest first.
pub fn unprocessed(conn: &mut DbConn, limit: i64) -> QueryResult<Vec<i64>> {
    inbound_mail::table
        .filter(inbound_mail::processed_at.is_null())
        .order(inbound_mail::id.asc())
        .select(inbound_mail::id)
        .limit(limit)
        .load(conn)
}

/// The mails waiting in Triage, newest first.
pub fn in_triage(conn: &mut DbConn, limit: i64) -> QueryResult<Vec<InboundMail>> {
    inbound_mail::table
        .filter(inbound_mail::outcome.eq(TRIAGE))
        .order(inbound_mail::id.desc())
        .select(InboundMail::as_select())
        .limit(limit)
        .load(conn)
}

/// How many mails wait in Triage.
pub fn triage_count(conn: &mut DbConn) -> QueryResult<i64> {
    inbound_mail::table
        .filter(inbound_mail::outcome.eq(TRIAGE))
        .count()
        .get_result(conn)
}
