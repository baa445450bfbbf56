// A case's conversation: the messages to and from the customer and the files sent
// with them.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{message_attachments, messages, outbox, users};
use crate::dispatch;
use crate::domain::conversation::{Attachment, Channel, Direction};

/// One message of a conversation.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = messages)]
pub struct Message {
    pub id: i64,
    pub case_id: i64,
    pub direction: String,
    pub channel: String,
    pub body: String,
    pub author_id: Option<i64>,
    pub template: Option<String>,
    pub email_message_id: Option<String>,
    pub outbox_id: Option<i64>,
    pub created_at: NaiveDateTime,
}

impl Message {
    pub fn direction(&self) -> Direction {
        Direction::parse(&self.direction).unwrap_or(Direction::In)
    }

    pub fn channel(&self) -> Channel {
        Channel::parse(&self.channel).unwrap_or(Channel::Email)
    }
}

/// A stored file, without its bytes.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = message_attachments)]
pub struct AttachmentInfo {
    pub id: i64,
    pub message_id: i64,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
}

/// What a new message holds.
pub struct NewMessage<'a> {
    pub case_id: i64,
    pub direction: Direction,
    pub channel: Channel,
    pub body: &'a str,
    pub author_id: Option<i64>,
    pub template: Option<&'a str>,
    pub email_message_id: Option<&'a str>,
    pub outbox_id: Option<i64>,
    pub created_at: NaiveDateTime,
}

/// Stores a message and its files in the caller's transaction; returns its id.
pub fn insert(conn: &mut DbConn, m: &NewMessage, files: &[Attachment]) -> QueryResult<i64> {
    let id: i64 = dispatch!(conn, |c| diesel::insert_into(messages::table)
        .values((
            messages::case_id.eq(m.case_id),
            messages::direction.eq(m.direction.as_str()),
            messages::channel.eq(m.channel.as_str()),
            messages::body.eq(m.body),
            messages::author_id.eq(m.author_id),
            messages::template.eq(m.template),
            messages::email_message_id.eq(m.email_message_id),
            messages::outbox_id.eq(m.outbox_id),
            messages::created_at.eq(m.created_at),
        ))
        .returning(messages::id)
        .get_result(c))?;
    for f in files {
        diesel::insert_into(message_attachments::table)
            .values((
                message_attachments::message_id.eq(id),
                message_attachments::file_name.eq(&f.name),
                message_attachments::content_type.eq(f.kind.content_type()),
                message_attachments::size.eq(f.bytes.len() as i64),
                message_attachments::sha256.eq(&f.sha256),
                message_attachments::bytes.eq(&f.bytes),
            ))
            .execute(conn)?;
    }
    Ok(id)
}

/// A message with its author's name (staff) and its files.
pub type ThreadRow = (Message, Option<String>, Vec<AttachmentInfo>);

/// The messages of a case, oldest first, each with its author's name (staff) and
/// its files.
pub fn of_case(conn: &mut DbConn, case_id: i64) -> QueryResult<Vec<ThreadRow>> {
    let rows: Vec<(Message, Option<String>)> = messages::table
        .left_join(users::table.on(users::id.nullable().eq(messages::author_id)))
        .filter(messages::case_id.eq(case_id))
        .order(messages::id.asc())
        .select((Message::as_select(), users::name.nullable()))
        .load(conn)?;
    let ids: Vec<i64> = rows.iter().map(|(m, _)| m.id).collect();
    let files: Vec<AttachmentInfo> = message_attachments::table
        .filter(message_attachments::message_id.eq_any(&ids))
        .order(message_attachments::id.asc())
        .select(AttachmentInfo::as_select())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(m, author)| {
            let mine = files
                .iter()
                .filter(|f| f.message_id == m.id)
                .cloned()
                .collect();
            (m, author, mine)
        })
        .collect())
}

/// A file of a case, with its bytes: `None` when the case has no such file.
pub fn attachment(
    conn: &mut DbConn,
    case_id: i64,
    id: i64,
) -> QueryResult<Option<(AttachmentInfo, Vec<u8>)>> {
    message_attachments::table
        .inner_join(messages::table)
        .filter(message_attachments::id.eq(id))
        .filter(messages::case_id.eq(case_id))
        .select((AttachmentInfo::as_select(), message_attachments::bytes))
        .first(conn)
        .optional()
}

/// The Message-ID of the customer's latest e-mail in the case, which the desk's
/// next e-mail answers.
pub fn last_inbound_email_id(conn: &mut DbConn, case_id: i64) -> QueryResult<Option<String>> {
    Ok(messages::table
        .filter(messages::case_id.eq(case_id))
        .filter(messages::direction.eq(Direction::In.as_str()))
        .filter(messages::channel.eq(Channel::Email.as_str()))
        .filter(messages::email_message_id.is_not_null())
        .order(messages::id.desc())
        .select(messages::email_message_id)
        .first::<Option<String>>(conn)
        .optional()?
        .flatten())
}

/// The outbox kinds of e-mails to customers that a reply may answer.
pub const CUSTOMER_MAIL_KINDS: [&str; 3] = ["verification", "satisfaction", "message"];

/// The case of an e-mail the desk sent a customer, by any of the Message-IDs a
/// reply names (its `In-Reply-To`, then its `References`, newest first).
pub fn case_of_sent_mail(conn: &mut DbConn, ids: &[String]) -> QueryResult<Option<i64>> {
    if ids.is_empty() {
        return Ok(None);
    }
    let found: Vec<(String, Option<i64>)> = outbox::table
        .filter(outbox::message_id.eq_any(ids))
        .filter(outbox::kind.eq_any(CUSTOMER_MAIL_KINDS))
        .select((outbox::message_id, outbox::case_id))
        .load(conn)?;
    Ok(ids
        .iter()
        .find_map(|id| found.iter().find(|(m, _)| m == id).and_then(|(_, c)| *c)))
}
