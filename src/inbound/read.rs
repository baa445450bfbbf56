// What the desk reads of an inbound e-mail (with the `mail-parser` crate): its
// Message-ID, sender, subject, the addresses it went to, the Message-IDs it answers,
// its new text without the quoted history, and its files.

use mail_parser::{Address, HeaderValue, MessageParser, MimeHeaders};
use sha2::{Digest, Sha256};

use crate::domain::conversation::{Upload, strip_quoted};

/// An inbound e-mail as the desk reads it.
#[derive(Debug, Clone, Default)]
pub struct Read {
    /// `<id@host>`, when it has one.
    pub message_id: Option<String>,
    /// The sender's address, lower-cased.
    pub from: Option<String>,
    pub subject: String,
    /// Every address it was sent to: To, Cc, Delivered-To, X-Original-To.
    pub recipients: Vec<String>,
    /// The Message-IDs it answers: its `In-Reply-To`, then its `References` newest
    /// first, each `<…>`.
    pub answers: Vec<String>,
    /// The new text, without the quoted history.
    pub text: String,
    /// Its attached files (pictures and documents, inline or not).
    pub files: Vec<Upload>,
}

/// `<id>` whatever brackets the header had.
pub fn bracketed(id: &str) -> String {
    format!(
        "<{}>",
        id.trim().trim_start_matches('<').trim_end_matches('>')
    )
}

fn addresses(a: Option<&Address>, out: &mut Vec<String>) {
    if let Some(a) = a {
        for addr in a.iter() {
            if let Some(s) = addr.address() {
                out.push(s.trim().to_ascii_lowercase());
            }
        }
    }
}

fn ids(v: &HeaderValue) -> Vec<String> {
    match v {
        HeaderValue::Text(t) => vec![bracketed(t)],
        HeaderValue::TextList(l) => l.iter().map(|t| bracketed(t)).collect(),
        _ => Vec::new(),
    }
}

/// The key that stores a mail once: its Message-ID, else the digest of its bytes.
pub fn dedup_key(raw: &[u8]) -> String {
    let id = MessageParser::default()
        .parse_headers(raw)
        .and_then(|m| m.message_id().map(bracketed));
    match id {
        Some(id) if id.len() > 2 && id.len() <= 500 => id,
        _ => format!("sha256:{}", hex::encode(Sha256::digest(raw))),
    }
}

/// Reads `raw`; `None` when it is not an e-mail at all.
pub fn read(raw: &[u8]) -> Option<Read> {
    let m = MessageParser::default().parse(raw)?;
    let mut recipients = Vec::new();
    addresses(m.to(), &mut recipients);
    addresses(m.cc(), &mut recipients);
    for name in ["Delivered-To", "X-Original-To"] {
        for v in m.header_values(name) {
            if let Some(t) = v.as_text() {
                recipients.push(t.trim().trim_matches(['<', '>']).to_ascii_lowercase());
            }
        }
    }
    let mut answers = ids(m.in_reply_to());
    let mut refs = ids(m.references());
    refs.reverse();
    for r in refs {
        if !answers.contains(&r) {
            answers.push(r);
        }
    }
    let text = m.body_text(0).map(|t| strip_quoted(&t)).unwrap_or_default();
    let files = m
        .attachments()
        .filter(|p| !p.is_message() && !p.is_multipart())
        .map(|p| Upload {
            name: p.attachment_name().unwrap_or("attachment").to_string(),
            bytes: p.contents().to_vec(),
        })
        .collect();
    let from = m
        .from()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .map(|a| a.trim().to_ascii_lowercase());
    Some(Read {
        message_id: m.message_id().map(bracketed),
        from,
        subject: m.subject().unwrap_or_default().to_string(),
        recipients,
        answers,
        text,
        files,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPLY: &str = "From: Wei Wang <Wei@Example.com>\r\nTo: Risk Desk <replies+c7-0011223344556677@desk.bank.example>\r\nCc: other@example.com\r\nSubject: Re: About your case RC-000007\r\nMessage-ID: <CAF123@mail.example.com>\r\nIn-Reply-To: <abc@riskdesk>\r\nReferences: <first@riskdesk> <abc@riskdesk>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nYes, it was me.\r\n\r\nOn Tue, 24 Nov 2026 at 09:00, Risk Desk wrote:\r\n> Was it you?\r\n--b1\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename=\"receipt.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--b1--\r\n";

    #[test]
    fn reads_a_reply() {
        let r = read(REPLY.as_bytes()).unwrap();
        assert_eq!(r.message_id.as_deref(), Some("<CAF123@mail.example.com>"));
        assert_eq!(r.from.as_deref(), Some("wei@example.com"));
        assert_eq!(r.subject, "Re: About your case RC-000007");
        assert_eq!(
            r.recipients,
            vec![
                "replies+c7-0011223344556677@desk.bank.example",
                "other@example.com"
            ]
        );
        assert_eq!(r.answers, vec!["<abc@riskdesk>", "<first@riskdesk>"]);
        assert_eq!(r.text, "Yes, it was me.");
        assert_eq!(r.files.len(), 1);
        assert_eq!(r.files[0].name, "receipt.png");
        assert_eq!(r.files[0].bytes, b"\x89PNG\r\n\x1a\n");
        assert_eq!(dedup_key(REPLY.as_bytes()), "<CAF123@mail.example.com>");
        let no_id = "From: a@b.example\r\nSubject: x\r\n\r\nhello\r\n";
        assert!(dedup_key(no_id.as_bytes()).starts_with("sha256:"));
    }
}
