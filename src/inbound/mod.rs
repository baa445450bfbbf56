// Inbound e-mail: the customers' replies come back to their cases. A mail is first
// stored raw and durably, once (`accept`); then it is processed (`process`, right
// away and again by the background job for anything a crash left): matched to its
// case by the signed tag of the reply address it was sent to, else by the
// Message-IDs it answers; checked to come from the customer's own address; cut of
// its quoted history; and stored on the case through the `receive_message` command.
// What matches nothing, or is refused, waits in Triage with the reason, where a
// supervisor attaches it to a case or discards it (both audited).

pub mod imap;
pub mod read;
pub mod smtp;

use chrono::{DateTime, Utc};

use crate::accounts::{self, Actor};
use crate::cases::conversation::{self as conv, Incoming};
use crate::cases::{CaseError, run};
use crate::config::Settings;
use crate::db::DbConn;
use crate::domain::Refusal;
use crate::domain::conversation::{Channel, ReplyKey, check_files};
use crate::i18n::tkey;
use crate::store::cases::{self as case_store, case_ref};
use crate::store::inbound::{self as store, ATTACHED, DISCARDED, Outcome, TRIAGE};
use crate::store::messages;
use crate::store::{self as st};

pub use read::Read;

/// The largest mail the desk takes (the SMTP listener's `SIZE`).
pub const MAX_MAIL_BYTES: usize = 25 * 1024 * 1024;

/// Why a mail waits in Triage: the last part of its catalog key
/// (`conversations.triage.reason.*`).
pub mod reason {
    pub const NO_MATCH: &str = "no_match";
    pub const FORGED_TAG: &str = "forged_tag";
    pub const NOT_CUSTOMER: &str = "not_customer";
    pub const CASE_RESOLVED: &str = "case_resolved";
    pub const EMPTY: &str = "empty";
    pub const TOO_LONG: &str = "too_long";
    pub const UNREADABLE: &str = "unreadable";
    pub const ALL: [&str; 7] = [
        NO_MATCH,
        FORGED_TAG,
        NOT_CUSTOMER,
        CASE_RESOLVED,
        EMPTY,
        TOO_LONG,
        UNREADABLE,
    ];
}

/// The catalog key of a Triage reason.
pub fn reason_key(reason: &str) -> &'static str {
    match reason {
        reason::NO_MATCH => "conversations.triage.reason.no_match",
        reason::FORGED_TAG => "conversations.triage.reason.forged_tag",
        reason::NOT_CUSTOMER => "conversations.triage.reason.not_customer",
        reason::CASE_RESOLVED => "conversations.triage.reason.case_resolved",
        reason::EMPTY => "conversations.triage.reason.empty",
        reason::TOO_LONG => "conversations.triage.reason.too_long",
        reason::UNREADABLE => "conversations.triage.reason.unreadable",
        _ => "conversations.triage.reason.other",
    }
}

/// A mail accepted: its row, and whether it was new (a mail delivered again is
/// stored once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    pub id: i64,
    pub new: bool,
}

/// Stores a raw mail durably, once: when this returns, the mail is committed (a
/// transport acknowledges it only then). `source` is `smtp` or `imap`;
/// `envelope_to` the SMTP recipients, when known.
pub fn accept(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    source: &str,
    raw: &[u8],
    envelope_to: &[String],
) -> diesel::QueryResult<Accepted> {
    let key = read::dedup_key(raw);
    let envelope = (!envelope_to.is_empty()).then(|| envelope_to.join(","));
    crate::db::write_tx(conn, |c| {
        match store::insert(c, &key, source, envelope.as_deref(), raw, st::to_db(now))? {
            Some(id) => Ok(Accepted { id, new: true }),
            None => {
                let found = store::by_key(c, &key)?.ok_or(diesel::result::Error::NotFound)?;
                Ok(Accepted {
                    id: found.id,
                    new: false,
                })
            }
        }
    })
}

/// Takes one mail from a transport: stores it (committed when this returns `Ok`,
/// so the transport may acknowledge it), then processes it at once. A failure to
/// process is logged and left to the background job; only a failure to store is
/// an error.
pub fn receive(
    state: &crate::state::AppState,
    source: &str,
    raw: &[u8],
    envelope_to: &[String],
) -> Result<(Accepted, Option<Processed>), String> {
    let now = state.now();
    let mut conn = state.pool.get().map_err(|e| e.to_string())?;
    let accepted = accept(&mut conn, now, source, raw, envelope_to).map_err(|e| e.to_string())?;
    let key = ReplyKey::derive(&state.secret_key);
    let processed = match process(&mut conn, &state.settings, &key, now, accepted.id) {
        Ok(p) => Some(p),
        Err(e) => {
            tracing::warn!(inbound_mail = accepted.id, error = %e, "inbound mail stored, not yet processed");
            None
        }
    };
    Ok((accepted, processed))
}

/// What processing did with a mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Processed {
    /// On the case's timeline.
    Attached { case_id: i64, message: i64 },
    /// In Triage, with the reason.
    Triage {
        reason: &'static str,
        case_id: Option<i64>,
    },
    /// Processed before (by another instance, or earlier).
    Already,
}

/// The case a mail belongs to, by the tag of the reply address it was sent to (its
/// signature checked), else by the e-mails it answers. `Err` names why none.
fn match_case(
    conn: &mut DbConn,
    settings: &Settings,
    key: &ReplyKey,
    mail: &Read,
    envelope: &[String],
) -> diesel::QueryResult<Result<i64, &'static str>> {
    let mut forged = false;
    for addr in envelope.iter().chain(mail.recipients.iter()) {
        if let Some(tag) = settings.reply_address.tag_of(addr) {
            match key.case_of_tag(tag) {
                Some(case_id) if case_store::find(conn, case_id)?.is_some() => {
                    return Ok(Ok(case_id));
                }
                _ => forged = true,
            }
        }
    }
    if let Some(case_id) = messages::case_of_sent_mail(conn, &mail.answers)? {
        return Ok(Ok(case_id));
    }
    Ok(Err(if forged {
        reason::FORGED_TAG
    } else {
        reason::NO_MATCH
    }))
}

/// The files of a mail the desk takes (pictures and PDFs, by their bytes, within
/// the limits), and those it does not with why.
fn files_of(mail: &Read) -> (Vec<crate::domain::conversation::Attachment>, Vec<String>) {
    let mut kept = Vec::new();
    let mut refused = Vec::new();
    for f in &mail.files {
        if kept.len() == crate::domain::conversation::MAX_FILES {
            refused.push(format!("{}: too many files", f.name));
            continue;
        }
        let total: usize = kept
            .iter()
            .map(|a: &crate::domain::conversation::Attachment| a.bytes.len())
            .sum();
        match check_files(vec![f.clone()]) {
            Ok(mut one)
                if total + one[0].bytes.len() <= crate::domain::conversation::MAX_TOTAL_BYTES =>
            {
                kept.append(&mut one)
            }
            Ok(_) => refused.push(format!("{}: over the total size", f.name)),
            Err(p) => refused.push(format!(
                "{}: {}",
                f.name,
                match p {
                    crate::domain::conversation::FileProblem::TooLarge(_) => "too large",
                    crate::domain::conversation::FileProblem::Empty(_) => "empty",
                    _ => "not a picture or a PDF",
                }
            )),
        }
    }
    (kept, refused)
}

/// The message a mail makes on a case.
fn incoming(mail: &Read, attached_by: Option<(i64, String)>) -> Incoming {
    let (attachments, refused) = files_of(mail);
    Incoming {
        channel: Channel::Email,
        body: mail.text.clone(),
        attachments,
        email_message_id: mail.message_id.clone(),
        from: mail.from.clone(),
        refused,
        attached_by,
    }
}

/// Processes stored mail `id` in one transaction, once: claims it, reads it,
/// matches it, and attaches it to its case or puts it in Triage with the reason. A
/// crash before the commit leaves it unprocessed, to be processed again.
pub fn process(
    conn: &mut DbConn,
    settings: &Settings,
    key: &ReplyKey,
    now: DateTime<Utc>,
    id: i64,
) -> Result<Processed, CaseError> {
    run(conn, |c| process_in(c, settings, key, now, id))
}

fn process_in(
    conn: &mut DbConn,
    settings: &Settings,
    key: &ReplyKey,
    now: DateTime<Utc>,
    id: i64,
) -> Result<Processed, CaseError> {
    let at = st::to_db(now);
    if !store::claim(conn, id, at)? {
        return Ok(Processed::Already);
    }
    let row = store::find(conn, id)?.ok_or(CaseError::NotFound)?;
    let raw = store::raw(conn, id)?;
    let envelope: Vec<String> = row
        .envelope_to
        .as_deref()
        .map(|e| {
            e.split(',')
                .map(|s| s.trim().to_ascii_lowercase())
                .collect()
        })
        .unwrap_or_default();
    let Some(mail) = read::read(&raw) else {
        return triage(conn, id, reason::UNREADABLE, None, None, None);
    };
    let subject = Some(mail.subject.as_str());
    let from = mail.from.as_deref();
    let case_id = match match_case(conn, settings, key, &mail, &envelope)? {
        Ok(c) => c,
        Err(why) => return triage(conn, id, why, None, from, subject),
    };
    let case = case_store::find(conn, case_id)?.ok_or(CaseError::NotFound)?;
    let customer = case_store::customer(conn, case.customer_id)?;
    let theirs = match (&customer.email, from) {
        (Some(e), Some(f)) => e.trim().eq_ignore_ascii_case(f),
        _ => false,
    };
    if !theirs {
        return triage(conn, id, reason::NOT_CUSTOMER, Some(case_id), from, subject);
    }
    match conv::receive_message(conn, now, case_id, &incoming(&mail, None)) {
        Ok(message) => {
            store::set_outcome(
                conn,
                id,
                &Outcome {
                    outcome: ATTACHED,
                    reason: None,
                    case_id: Some(case_id),
                    message_row: Some(message),
                    from_addr: from,
                    subject,
                },
            )?;
            Ok(Processed::Attached { case_id, message })
        }
        Err(CaseError::Refused(Refusal::Resolved)) => triage(
            conn,
            id,
            reason::CASE_RESOLVED,
            Some(case_id),
            from,
            subject,
        ),
        Err(CaseError::Conversation(_)) => {
            let why = if mail.text.trim().is_empty() {
                reason::EMPTY
            } else {
                reason::TOO_LONG
            };
            triage(conn, id, why, Some(case_id), from, subject)
        }
        Err(e) => Err(e),
    }
}

fn triage(
    conn: &mut DbConn,
    id: i64,
    why: &'static str,
    case_id: Option<i64>,
    from: Option<&str>,
    subject: Option<&str>,
) -> Result<Processed, CaseError> {
    store::set_outcome(
        conn,
        id,
        &Outcome {
            outcome: TRIAGE,
            reason: Some(why),
            case_id,
            message_row: None,
            from_addr: from,
            subject,
        },
    )?;
    tracing::info!(
        inbound_mail = id,
        reason = why,
        "inbound mail put in Triage"
    );
    Ok(Processed::Triage {
        reason: why,
        case_id,
    })
}

/// Processes every mail not processed yet (what a crash left, or a mail another
/// instance stored), oldest first; how many were processed.
pub fn process_pending(
    conn: &mut DbConn,
    settings: &Settings,
    key: &ReplyKey,
    now: DateTime<Utc>,
) -> Result<usize, CaseError> {
    let mut done = 0;
    for id in store::unprocessed(conn, 100)? {
        if process(conn, settings, key, now, id)? != Processed::Already {
            done += 1;
        }
    }
    Ok(done)
}

/// A mail in Triage as its page shows it.
pub struct Detail {
    pub row: store::InboundMail,
    /// The new text, without quoted history.
    pub text: String,
    /// The names of its files.
    pub files: Vec<String>,
}

/// A mail as Triage shows it.
pub fn detail(conn: &mut DbConn, id: i64) -> diesel::QueryResult<Option<Detail>> {
    let Some(row) = store::find(conn, id)? else {
        return Ok(None);
    };
    let raw = store::raw(conn, id)?;
    let mail = read::read(&raw).unwrap_or_default();
    Ok(Some(Detail {
        row,
        text: mail.text,
        files: mail.files.into_iter().map(|f| f.name).collect(),
    }))
}

/// A supervisor attaches a mail waiting in Triage to case `case_id`, through the
/// `receive_message` command, in one transaction with its audit event
/// (`mail.attached`). Refused when the mail is no longer in Triage or the case is
/// resolved.
pub fn attach(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    actor: &Actor,
    actor_email: &str,
    id: i64,
    case_id: i64,
) -> Result<i64, CaseError> {
    let by = actor.user_id.ok_or(CaseError::Forbidden)?;
    run(conn, |c| {
        let row = store::find(c, id)?.ok_or(CaseError::NotFound)?;
        if row.outcome.as_deref() != Some(TRIAGE) {
            return Err(CaseError::Conversation(tkey(
                "conversations.triage.already_decided",
            )));
        }
        let raw = store::raw(c, id)?;
        let mail = read::read(&raw).unwrap_or_default();
        let message = conv::receive_message(
            c,
            now,
            case_id,
            &incoming(&mail, Some((by, actor_email.to_string()))),
        )?;
        if !store::decide(
            c,
            id,
            ATTACHED,
            Some(case_id),
            Some(message),
            by,
            st::to_db(now),
        )? {
            return Err(CaseError::Conflict);
        }
        accounts::record(
            c,
            now,
            actor,
            "mail.attached",
            Some(&case_ref(case_id)),
            serde_json::json!({"inbound_mail": id, "reason": row.reason}),
        )?;
        Ok(message)
    })
}

/// A supervisor discards a mail waiting in Triage, with a reason, audited
/// (`mail.discarded`); the raw mail stays stored.
pub fn discard(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    actor: &Actor,
    id: i64,
    why: &str,
) -> Result<(), CaseError> {
    let by = actor.user_id.ok_or(CaseError::Forbidden)?;
    let why = why.trim();
    if why.is_empty() {
        return Err(CaseError::ReasonRequired);
    }
    run(conn, |c| {
        let row = store::find(c, id)?.ok_or(CaseError::NotFound)?;
        if !store::decide(c, id, DISCARDED, row.case_id, None, by, st::to_db(now))? {
            return Err(CaseError::Conversation(tkey(
                "conversations.triage.already_decided",
            )));
        }
        accounts::record(
            c,
            now,
            actor,
            "mail.discarded",
            None,
            serde_json::json!({"inbound_mail": id, "reason": why}),
        )?;
        Ok(())
    })
}
