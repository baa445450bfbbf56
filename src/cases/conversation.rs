// A conversation per case: the agent writes to the customer by e-mail (the text,
// with a signed reply address that brings the answer back) or as a secure message
// read behind a link (`/m/{token}`, announced by an e-mail without the text), and the
// customer writes back on that page or by replying to the e-mail. Each message is a
// row of `messages` and an event of the timeline, written in one transaction.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::cases::verify::{self, LinkError};
use crate::cases::{CaseError, allowed, clock, load, run};
use crate::config::Settings;
use crate::db::DbConn;
use crate::db::schema::cases;
use crate::domain::conversation::{
    self as conv, Attachment, Channel, Direction, MAX_BODY, MESSAGE_PLACEHOLDERS, ReplyKey,
};
use crate::domain::events::{self as ev, CaseEvent, ResumeCause};
use crate::domain::{Command, Lang, Role, masking};
use crate::i18n::{Tr, tkey};
use crate::mail::outbox::{self, NewMail};
use crate::mail::templates;
use crate::store::cases::{self as case_store, Case, Customer, case_ref};
use crate::store::messages::{self as store, NewMessage};
use crate::store::{self as st};

/// The purpose of a secure-message link in `customer_tokens`.
pub const MESSAGE_LINK: &str = "message";
/// The purpose of the reply templates an agent picks from.
pub const REPLY_PURPOSE: &str = "reply";
/// The template of the e-mail that announces a secure message (purpose and name).
pub const NOTICE_TEMPLATE: &str = "secure_message";
/// The outbox kind of a conversation's e-mails.
pub const MAIL_KIND: &str = "message";

/// What the agent wrote: the channel, the text (may be empty when a template is
/// chosen), the template, and whether the SLA clock waits for the answer.
#[derive(Debug, Clone)]
pub struct Compose {
    pub channel: Channel,
    pub body: String,
    pub template: Option<String>,
    pub wait: bool,
}

/// What is wrong with a message as written: a catalog key and its values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub key: &'static str,
    pub values: Vec<(&'static str, String)>,
}

impl Problem {
    fn new(key: &'static str) -> Self {
        Problem {
            key,
            values: Vec::new(),
        }
    }

    /// The problem in the reader's words.
    pub fn text(&self, tr: &Tr) -> String {
        let values: Vec<(&str, &str)> = self.values.iter().map(|(k, v)| (*k, v.as_str())).collect();
        tr.tf(self.key, &values)
    }
}

/// Why a message was not sent.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The text or the template is wrong; nothing was read from the case's state.
    #[error("the message is not valid: {0:?}")]
    Invalid(Problem),
    #[error(transparent)]
    Case(#[from] CaseError),
}

impl From<diesel::result::Error> for SendError {
    fn from(e: diesel::result::Error) -> Self {
        SendError::Case(CaseError::Db(e))
    }
}

/// Who sends: the case's agent, or a supervisor or admin.
#[derive(Debug, Clone, Copy)]
pub struct Sender {
    pub user: i64,
    pub role: Role,
}

impl Sender {
    fn may_write(&self, case: &Case) -> bool {
        self.role.is_supervisor_or_admin() || case.assignee_id == Some(self.user)
    }
}

/// The subject and text of reply template `name` in `lang`, with its placeholders
/// still in. An unknown template and one that is not a reply template are refused
/// by name. (The one place a message reads templates.)
pub fn reply_template(
    conn: &mut DbConn,
    name: &str,
    lang: Lang,
) -> Result<(String, String), SendError> {
    let Some(t) = templates::pick(conn, name, lang.code())? else {
        return Err(SendError::Invalid(Problem {
            key: tkey("conversations.refused.unknown_template"),
            values: vec![("name", name.to_string())],
        }));
    };
    if t.purpose != REPLY_PURPOSE {
        return Err(SendError::Invalid(Problem {
            key: tkey("conversations.refused.not_a_reply_template"),
            values: vec![("name", name.to_string())],
        }));
    }
    Ok((t.subject, t.body))
}

/// The reply templates, each with its subject in `lang`: what the compose form
/// offers for `case`. Those written for the case (its rule, its state) come first,
/// best fit first, as the library of replies suggests them
/// (`domain::replies::rank`); the others follow by name.
pub fn reply_templates(
    conn: &mut DbConn,
    case: &Case,
    lang: Lang,
) -> QueryResult<Vec<(String, String)>> {
    let names = templates::names_for(conn, REPLY_PURPOSE)?;
    let scopes = templates::scopes(conn)?;
    let none = crate::domain::replies::Scope::default();
    let ranked = crate::domain::replies::rank(
        names
            .iter()
            .map(|n| (n.as_str(), scopes.get(n).unwrap_or(&none))),
        &crate::mail::replies::facts(case),
    );
    let mut ordered: Vec<&str> = ranked.iter().map(|(n, _)| *n).collect();
    let mut rest: Vec<&str> = names
        .iter()
        .map(String::as_str)
        .filter(|n| !ordered.contains(n))
        .collect();
    rest.sort_unstable();
    ordered.extend(rest);
    let mut out = Vec::new();
    for name in ordered {
        if let Some(t) = templates::pick(conn, name, lang.code())? {
            out.push((name.to_string(), t.subject));
        }
    }
    Ok(out)
}

/// A message ready to store: its text and subject with the placeholders filled.
struct Prepared {
    subject: String,
    body: String,
    /// The e-mail's text: the body, then the security tips of the case's rule.
    text: String,
    template: Option<String>,
}

/// `text` filled for the customer of `case` as the library of replies fills a reply
/// (`mail::replies::render_text`, the preview's own path): the placeholders of
/// [`MESSAGE_PLACEHOLDERS`] and the link. Returns the filled subject and body and the
/// e-mail's text (the body, then the security tips of the case's rule).
#[allow(clippy::too_many_arguments)]
fn fill(
    conn: &mut DbConn,
    settings: &Settings,
    case: &Case,
    customer: &Customer,
    agent: &str,
    link: &str,
    subject: &str,
    body: &str,
) -> QueryResult<crate::mail::replies::Rendered> {
    crate::mail::replies::render_text(
        conn,
        settings,
        case,
        customer,
        verify::customer_lang(customer),
        subject,
        body,
        agent,
        link,
        crate::mail::replies::Reader::Customer,
    )
}

/// Checks and fills what the agent wrote, before anything is stored.
fn prepare(
    conn: &mut DbConn,
    settings: &Settings,
    case: &Case,
    customer: &Customer,
    agent: &str,
    compose: &Compose,
) -> Result<Prepared, SendError> {
    let lang = verify::customer_lang(customer);
    let template = compose
        .template
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let from_template = match template {
        Some(name) => Some(reply_template(conn, name, lang)?),
        None => None,
    };
    let typed = compose.body.trim();
    let raw = if !typed.is_empty() {
        typed.to_string()
    } else if let Some((_, body)) = &from_template {
        body.clone()
    } else {
        return Err(SendError::Invalid(Problem::new(tkey(
            "conversations.refused.empty",
        ))));
    };
    let unknown = conv::unknown_placeholders(templates::placeholders_in(&raw));
    if !unknown.is_empty() {
        return Err(SendError::Invalid(Problem {
            key: tkey("conversations.refused.unknown_placeholders"),
            values: vec![
                (
                    "names",
                    unknown
                        .iter()
                        .map(|n| format!("{{{n}}}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
                (
                    "known",
                    MESSAGE_PLACEHOLDERS
                        .iter()
                        .map(|n| format!("{{{n}}}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
            ],
        }));
    }
    let tr = Tr::new(lang);
    let subject = match &from_template {
        Some((subject, _)) => subject.clone(),
        None => tr.tf(
            "conversations.mail.subject",
            &[("case_ref", &case_ref(case.id))],
        ),
    };
    let filled = fill(conn, settings, case, customer, agent, "", &subject, &raw)?;
    let body = filled.body;
    if body.chars().count() > MAX_BODY {
        return Err(SendError::Invalid(Problem {
            key: tkey("conversations.refused.too_long"),
            values: vec![("max", MAX_BODY.to_string())],
        }));
    }
    Ok(Prepared {
        subject: filled.subject,
        body,
        text: filled.body_text,
        template: template.map(str::to_string),
    })
}

/// What a sent message left.
#[derive(Debug, Clone)]
pub struct Sent {
    pub message: i64,
    /// The outbox row of its e-mail.
    pub outbox_id: i64,
}

/// Sends the customer of case `case_id` a message (the command `send_message`): the
/// case's agent, or a supervisor or admin, writes by e-mail or as a secure message.
/// Refused for a resolved case and a customer who may not be e-mailed (none on file,
/// do-not-contact, AML — whatever the template); an empty, too long or unknown-
/// placeholder text is refused before anything is read of the case's state. In one
/// transaction: the message, its e-mail in the outbox (the text with the reply
/// address, or the notice with a fresh link), the `message.sent` event, the first
/// response, and the clock's pause when the agent waits for the answer.
pub fn send_message(
    conn: &mut DbConn,
    settings: &Settings,
    key: &ReplyKey,
    now: DateTime<Utc>,
    sender: Sender,
    case_id: i64,
    compose: &Compose,
) -> Result<Sent, SendError> {
    let case = case_store::find(conn, case_id)?.ok_or(CaseError::NotFound)?;
    if !sender.may_write(&case) {
        return Err(CaseError::Forbidden.into());
    }
    let customer = case_store::customer(conn, case.customer_id)?;
    let agent = verify::user_name(conn, Some(sender.user))?;
    let prepared = prepare(conn, settings, &case, &customer, &agent, compose)?;
    Ok(run(conn, |c| {
        send_in(c, settings, key, now, sender, case_id, compose, &prepared)
    })?)
}

#[allow(clippy::too_many_arguments)]
fn send_in(
    conn: &mut DbConn,
    settings: &Settings,
    key: &ReplyKey,
    now: DateTime<Utc>,
    sender: Sender,
    case_id: i64,
    compose: &Compose,
    prepared: &Prepared,
) -> Result<Sent, CaseError> {
    let case = load(conn, case_id)?;
    allowed(Command::SendMessage, &case)?;
    if !sender.may_write(&case) {
        return Err(CaseError::Forbidden);
    }
    let customer = case_store::customer(conn, case.customer_id)?;
    if let Some(why) = verify::contact_refusal(conn, &case, &customer)? {
        return Err(CaseError::Conversation(why));
    }
    let to = customer.email.clone().unwrap_or_default();
    let lang = verify::customer_lang(&customer);
    let tr = Tr::new(lang);
    let reference = case_ref(case.id);
    let reply_to = settings.reply_address.for_case(key, case.id);
    let answers = store::last_inbound_email_id(conn, case.id)?;
    let (subject, text) = match compose.channel {
        Channel::Email => (
            prepared.subject.clone(),
            format!(
                "{}\n\n-- \n{}",
                prepared.text,
                tr.tf("conversations.mail.footer", &[("case_ref", &reference)])
            ),
        ),
        Channel::Portal => {
            let Some(notice) = templates::pick(conn, NOTICE_TEMPLATE, lang.code())? else {
                return Err(CaseError::Conversation(tkey(
                    "conversations.refused.no_notice_template",
                )));
            };
            let secret = verify::issue(conn, MESSAGE_LINK, case.id, now, settings.message_link)?;
            let link = format!("{}/m/{secret}", settings.public_url);
            let filled = fill(
                conn,
                settings,
                &case,
                &customer,
                "",
                &link,
                &notice.subject,
                &notice.body,
            )?;
            (filled.subject, filled.body_text)
        }
    };
    let (outbox_id, message_id) = outbox::enqueue_reply(
        conn,
        now,
        &NewMail {
            kind: MAIL_KIND,
            case_id: Some(case.id),
            to: &to,
            subject: &subject,
            text: &text,
            html: None,
        },
        &reply_to,
        answers.as_deref(),
    )?;
    let at = st::to_db(now);
    let message = store::insert(
        conn,
        &NewMessage {
            case_id: case.id,
            direction: Direction::Out,
            channel: compose.channel,
            body: &prepared.body,
            author_id: Some(sender.user),
            template: prepared.template.as_deref(),
            email_message_id: Some(&message_id),
            outbox_id: Some(outbox_id),
            created_at: at,
        },
        &[],
    )?;
    case_store::add_event(
        conn,
        case.id,
        at,
        Some(sender.user),
        &CaseEvent::MessageSent(ev::MessageSent {
            message,
            channel: compose.channel,
            to: masking::email(&to),
            template: prepared.template.clone(),
            body: prepared.body.clone(),
            lang: lang.code().to_string(),
        }),
    )?;
    clock::record_first_response(conn, &case, now, Some(sender.user), "message")?;
    if compose.wait && case.paused_since.is_none() {
        clock::pause_in(
            conn,
            &case,
            now,
            Some(sender.user),
            "waiting for the customer's reply",
        )?;
    }
    diesel::update(cases::table.find(case.id))
        .set(cases::updated_at.eq(at))
        .execute(conn)?;
    Ok(Sent { message, outbox_id })
}

/// A message from the customer, as it came.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub channel: Channel,
    pub body: String,
    pub attachments: Vec<Attachment>,
    /// An e-mail's Message-ID.
    pub email_message_id: Option<String>,
    /// An e-mail's sender.
    pub from: Option<String>,
    /// Files of an e-mail the desk did not take, each with why.
    pub refused: Vec<String>,
    /// A supervisor attached it from Triage (their id and e-mail).
    pub attached_by: Option<(i64, String)>,
}

/// Records the customer's message on case `case_id` (the command
/// `receive_message`), in the caller's transaction: the message and its files, the
/// `message.received` event, the assignee told (in the app and by e-mail, as they
/// chose), and a paused clock resumed. Refused for a resolved case.
pub fn receive_message(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    case_id: i64,
    incoming: &Incoming,
) -> Result<i64, CaseError> {
    let case = load(conn, case_id)?;
    allowed(Command::ReceiveMessage, &case)?;
    if incoming.body.trim().is_empty() && incoming.attachments.is_empty() {
        return Err(CaseError::Conversation(tkey("conversations.refused.empty")));
    }
    if incoming.body.chars().count() > MAX_BODY {
        return Err(CaseError::Conversation(tkey(
            "conversations.refused.customer_too_long",
        )));
    }
    let at = st::to_db(now);
    let message = store::insert(
        conn,
        &NewMessage {
            case_id: case.id,
            direction: Direction::In,
            channel: incoming.channel,
            body: &incoming.body,
            author_id: None,
            template: None,
            email_message_id: incoming.email_message_id.as_deref(),
            outbox_id: None,
            created_at: at,
        },
        &incoming.attachments,
    )?;
    let event = ev::MessageReceived {
        message,
        channel: incoming.channel,
        from: incoming.from.as_deref().map(masking::email),
        body: incoming.body.clone(),
        attachments: incoming
            .attachments
            .iter()
            .map(|a| a.name.clone())
            .collect(),
        refused: incoming.refused.clone(),
        attached_by: incoming.attached_by.as_ref().map(|(_, e)| e.clone()),
    };
    let actor = incoming.attached_by.as_ref().map(|(id, _)| *id);
    let event = CaseEvent::MessageReceived(event);
    case_store::add_event(conn, case.id, at, actor, &event)?;
    diesel::update(cases::table.find(case.id))
        .set(cases::updated_at.eq(at))
        .execute(conn)?;
    let to: Vec<i64> = case.assignee_id.into_iter().collect();
    let data = serde_json::to_value(&event)
        .ok()
        .and_then(|v| v.get("data").cloned())
        .unwrap_or(serde_json::Value::Null);
    crate::cases::notices::notify(conn, &to, now, "message.received", case.id, &data)?;
    if case.paused_since.is_some() {
        clock::resume_in(conn, &case, now, None, ResumeCause::Answered)?;
    }
    Ok(message)
}

/// A secure-message link that works, or why not (it serves the whole conversation
/// until it expires: it is never used up).
pub fn find_link(
    conn: &mut DbConn,
    secret: &str,
    now: DateTime<Utc>,
) -> Result<verify::Link, LinkError> {
    verify::find(conn, MESSAGE_LINK, secret, now)
}

/// The customer's message from the secure-message page behind `secret`.
pub fn reply_on_page(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    secret: &str,
    body: &str,
    attachments: Vec<Attachment>,
) -> Result<i64, LinkError> {
    let link = find_link(conn, secret, now)?;
    let incoming = Incoming {
        channel: Channel::Portal,
        body: body.trim().to_string(),
        attachments,
        email_message_id: None,
        from: None,
        refused: Vec::new(),
        attached_by: None,
    };
    run(conn, |c| receive_message(c, now, link.case_id, &incoming)).map_err(|e| match e {
        CaseError::Db(e) => LinkError::Db(e),
        CaseError::Refused(crate::domain::Refusal::Resolved) => {
            LinkError::Refused(tkey("conversations.portal.closed"))
        }
        other => LinkError::Refused(other.key().unwrap_or("lifecycle.conflict")),
    })
}

/// One message as the customer's page shows it.
#[derive(Debug, Clone)]
pub struct ThreadItem {
    /// The customer wrote it.
    pub mine: bool,
    /// Who wrote it for the desk: a first name, else nothing ("the desk").
    pub from: Option<String>,
    pub at: chrono::NaiveDateTime,
    pub body: String,
    pub files: Vec<String>,
}

/// What the secure-message page shows: the case, the thread, whether the customer
/// may still write, in the customer's language and time zone.
#[derive(Debug, Clone)]
pub struct Thread {
    pub reference: String,
    pub lang: Lang,
    pub tz: chrono_tz::Tz,
    pub open: bool,
    pub items: Vec<ThreadItem>,
}

pub fn thread(conn: &mut DbConn, case_id: i64) -> QueryResult<Thread> {
    let case = case_store::find(conn, case_id)?.ok_or(diesel::result::Error::NotFound)?;
    let customer = case_store::customer(conn, case.customer_id)?;
    let items = store::of_case(conn, case_id)?
        .into_iter()
        .map(|(m, author, files)| ThreadItem {
            mine: m.direction() == Direction::In,
            from: author.as_deref().and_then(conv::first_name),
            at: m.created_at,
            body: masking::numbers_in(&m.body),
            files: files.into_iter().map(|f| f.file_name).collect(),
        })
        .collect();
    Ok(Thread {
        reference: case_ref(case_id),
        lang: verify::customer_lang(&customer),
        tz: customer
            .timezone
            .as_deref()
            .and_then(|t| t.parse().ok())
            .unwrap_or(chrono_tz::UTC),
        open: case.resolved_at.is_none(),
        items,
    })
}
