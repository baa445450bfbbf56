// How a stored message leaves: through SMTP when `--smtp-url` is set, else as an
// `.eml` file under `<data-dir>/outbox/` named by the message's id.

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::{Message, SmtpTransport, Transport as _};

use crate::store::{self, outbox::OutboxMessage};

/// Why a message was not delivered: a transient failure is retried, a permanent one
/// (the server refused the address for good, or the message cannot be built) is not.
#[derive(Debug)]
pub enum SendError {
    Transient(String),
    Permanent(String),
}

impl SendError {
    pub fn text(&self) -> &str {
        match self {
            SendError::Transient(s) | SendError::Permanent(s) => s,
        }
    }
}

/// Where messages go.
pub enum Transport {
    Smtp(Box<SmtpTransport>),
    Files(PathBuf),
}

impl Transport {
    /// The transport the settings name; an SMTP URL lettre cannot read is an error.
    pub fn from_settings(
        smtp_url: Option<&str>,
        data_dir: &std::path::Path,
    ) -> Result<Self, String> {
        match smtp_url {
            Some(url) => {
                let t = SmtpTransport::from_url(url)
                    .map_err(|e| format!("bad SMTP URL: {e}"))?
                    .timeout(Some(Duration::from_secs(15)))
                    .build();
                Ok(Transport::Smtp(Box::new(t)))
            }
            None => Ok(Transport::Files(data_dir.join("outbox"))),
        }
    }

    /// Delivers one message.
    pub fn send(&self, from: &str, m: &OutboxMessage) -> Result<(), SendError> {
        let email = build(from, m).map_err(SendError::Permanent)?;
        match self {
            Transport::Smtp(t) => t.send(&email).map(|_| ()).map_err(|e| {
                if e.is_permanent() {
                    SendError::Permanent(e.to_string())
                } else {
                    SendError::Transient(e.to_string())
                }
            }),
            Transport::Files(dir) => {
                let io = |e: std::io::Error| SendError::Transient(e.to_string());
                std::fs::create_dir_all(dir).map_err(io)?;
                // Written aside and renamed: a reader never sees half a message, and
                // a second delivery of the same message replaces the same file.
                let path = dir.join(format!("{}.eml", m.id));
                let tmp = dir.join(format!(".{}.eml.tmp", m.id));
                std::fs::write(&tmp, email.formatted()).map_err(io)?;
                std::fs::rename(&tmp, &path).map_err(io)
            }
        }
    }
}

/// The message as it goes out; its Message-ID and Date are the stored ones, so a
/// retried message is the same message.
pub fn build(from: &str, m: &OutboxMessage) -> Result<Message, String> {
    let from: Mailbox = from
        .parse()
        .map_err(|e| format!("bad sender address: {e}"))?;
    let to: Mailbox = m
        .to_addr
        .parse()
        .map_err(|e| format!("bad recipient address: {e}"))?;
    let mut builder = Message::builder()
        .from(from)
        .to(to)
        .subject(m.subject.clone())
        .message_id(Some(m.message_id.clone()))
        .date(std::time::SystemTime::from(store::from_db(m.created_at)));
    if let Some(reply_to) = &m.reply_to {
        let reply_to: Mailbox = reply_to
            .parse()
            .map_err(|e| format!("bad reply address: {e}"))?;
        builder = builder.reply_to(reply_to);
    }
    if let Some(answered) = &m.in_reply_to {
        builder = builder
            .in_reply_to(answered.clone())
            .references(answered.clone());
    }
    let text = SinglePart::builder()
        .header(ContentType::TEXT_PLAIN)
        .body(m.body_text.clone());
    let built = match &m.body_html {
        Some(html) => builder.multipart(
            MultiPart::alternative().singlepart(text).singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_HTML)
                    .body(html.clone()),
            ),
        ),
        None => builder.singlepart(text),
    };
    built.map_err(|e| format!("cannot build the message: {e}"))
}
