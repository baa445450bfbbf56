// The conversation with a customer, its pure rules: the channels, the limits of a
// message and its attachments, what a file is (from its bytes, not its name), the
// reply address that brings a customer's e-mail back to its case (signed so it
// cannot be forged), and how the quoted history of a reply is cut off.

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How a message reaches the customer, or came from them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// The text itself by e-mail; the customer answers by replying.
    Email,
    /// A secure message read on the desk's page behind a link (`/m/{token}`); the
    /// e-mail only says that it waits.
    Portal,
}

impl Channel {
    pub const ALL: [Channel; 2] = [Channel::Email, Channel::Portal];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Portal => "portal",
        }
    }

    pub fn parse(s: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// Which way a message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From the desk to the customer.
    Out,
    /// From the customer to the desk.
    In,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Out => "out",
            Direction::In => "in",
        }
    }

    pub fn parse(s: &str) -> Option<Direction> {
        match s {
            "out" => Some(Direction::Out),
            "in" => Some(Direction::In),
            _ => None,
        }
    }
}

/// The longest message, either way, in characters.
pub const MAX_BODY: usize = 10_000;
/// Files a customer may attach to one message.
pub const MAX_FILES: usize = 3;
/// The largest file.
pub const MAX_FILE_BYTES: usize = 5 * 1024 * 1024;
/// The largest total of one message's files.
pub const MAX_TOTAL_BYTES: usize = 10 * 1024 * 1024;
/// The longest file name kept.
const MAX_FILE_NAME: usize = 100;

/// The placeholders a message to a customer may use. `{link}` is not one: a message
/// has no link of its own (a secure message's link is in the e-mail that announces it).
pub const MESSAGE_PLACEHOLDERS: [&str; 6] = [
    "customer_name",
    "case_ref",
    "amount",
    "masked_account",
    "deadline",
    "agent_name",
];

/// Of the placeholders `found` in a text (in order, as
/// `mail::templates::placeholders_in` finds them), those a message may not use,
/// each once.
pub fn unknown_placeholders(found: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in found {
        if !MESSAGE_PLACEHOLDERS.contains(&p.as_str()) && !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

/// The kinds of file a message may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Png,
    Jpeg,
    Pdf,
}

impl FileKind {
    pub fn content_type(self) -> &'static str {
        match self {
            FileKind::Png => "image/png",
            FileKind::Jpeg => "image/jpeg",
            FileKind::Pdf => "application/pdf",
        }
    }

    pub fn from_content_type(s: &str) -> Option<FileKind> {
        match s {
            "image/png" => Some(FileKind::Png),
            "image/jpeg" => Some(FileKind::Jpeg),
            "application/pdf" => Some(FileKind::Pdf),
            _ => None,
        }
    }

    fn extension(self) -> &'static str {
        match self {
            FileKind::Png => "png",
            FileKind::Jpeg => "jpg",
            FileKind::Pdf => "pdf",
        }
    }
}

/// What a file is, from its first bytes (its name and the sender's content type
/// are not believed): a PNG, a JPEG or a PDF, else nothing the desk takes.
pub fn sniff(bytes: &[u8]) -> Option<FileKind> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(FileKind::Png)
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(FileKind::Jpeg)
    } else if bytes.starts_with(b"%PDF-") {
        Some(FileKind::Pdf)
    } else {
        None
    }
}

/// A file as it was sent.
#[derive(Debug, Clone)]
pub struct Upload {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// A file the desk took: its kind from its bytes, a safe name, its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub name: String,
    pub kind: FileKind,
    pub bytes: Vec<u8>,
    /// Lower-case hex SHA-256 of the bytes.
    pub sha256: String,
}

/// Why a message's files were refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileProblem {
    TooMany,
    /// The file (by its name) is larger than [`MAX_FILE_BYTES`].
    TooLarge(String),
    TotalTooLarge,
    /// The file is not a PNG, a JPEG or a PDF.
    NotAllowed(String),
    Empty(String),
}

impl FileProblem {
    /// The catalog key of the refusal; its `{name}` is [`FileProblem::name`].
    pub fn key(&self) -> &'static str {
        match self {
            FileProblem::TooMany => "conversations.file.too_many",
            FileProblem::TooLarge(_) => "conversations.file.too_large",
            FileProblem::TotalTooLarge => "conversations.file.total_too_large",
            FileProblem::NotAllowed(_) => "conversations.file.not_allowed",
            FileProblem::Empty(_) => "conversations.file.empty",
        }
    }

    pub fn name(&self) -> &str {
        match self {
            FileProblem::TooLarge(n) | FileProblem::NotAllowed(n) | FileProblem::Empty(n) => n,
            FileProblem::TooMany | FileProblem::TotalTooLarge => "",
        }
    }
}

/// A file name safe to keep and to offer back: its last path segment, without
/// control characters, quotes or separators, at most 100 characters, with the
/// extension of what the file really is.
pub fn safe_name(name: &str, kind: FileKind) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let mut clean: String = last
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '\'' | ';' | '<' | '>' | '`'))
        .collect::<String>()
        .trim()
        .trim_start_matches('.')
        .chars()
        .take(MAX_FILE_NAME)
        .collect();
    let stem_ok = !clean.is_empty();
    let ext = kind.extension();
    let has_ext = clean.rsplit_once('.').is_some_and(|(_, e)| {
        e.eq_ignore_ascii_case(ext) || (ext == "jpg" && e.eq_ignore_ascii_case("jpeg"))
    });
    if !stem_ok {
        clean = "attachment".to_string();
    }
    if !has_ext {
        clean.push('.');
        clean.push_str(ext);
    }
    clean
}

/// Checks a message's files against the limits and what they are; the files the
/// desk takes, or the first problem.
pub fn check_files(files: Vec<Upload>) -> Result<Vec<Attachment>, FileProblem> {
    if files.len() > MAX_FILES {
        return Err(FileProblem::TooMany);
    }
    let mut total = 0usize;
    let mut out = Vec::with_capacity(files.len());
    for f in files {
        if f.bytes.is_empty() {
            return Err(FileProblem::Empty(display_name(&f.name)));
        }
        if f.bytes.len() > MAX_FILE_BYTES {
            return Err(FileProblem::TooLarge(display_name(&f.name)));
        }
        total += f.bytes.len();
        if total > MAX_TOTAL_BYTES {
            return Err(FileProblem::TotalTooLarge);
        }
        let Some(kind) = sniff(&f.bytes) else {
            return Err(FileProblem::NotAllowed(display_name(&f.name)));
        };
        out.push(Attachment {
            name: safe_name(&f.name, kind),
            kind,
            sha256: hex::encode(Sha256::digest(&f.bytes)),
            bytes: f.bytes,
        });
    }
    Ok(out)
}

/// A sent file's name as a refusal names it.
fn display_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = last
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_FILE_NAME)
        .collect();
    if clean.trim().is_empty() {
        "?".to_string()
    } else {
        clean
    }
}

/// How a customer reads a staff member's name: the first word of it ("Li" of "Li
/// Na"), or nothing (the page then says "the desk") for a name of one word.
pub fn first_name(full: &str) -> Option<String> {
    let mut words = full.split_whitespace();
    let first = words.next()?;
    words.next().map(|_| first.to_string())
}

type HmacSha256 = Hmac<Sha256>;

/// The key that signs reply addresses, derived from the desk's secret key with a
/// label of its own.
#[derive(Clone)]
pub struct ReplyKey(HmacSha256);

impl std::fmt::Debug for ReplyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReplyKey(…)")
    }
}

/// Hex digits of the signature in a reply address (64 bits).
const TAG_MAC_HEX: usize = 16;

impl ReplyKey {
    pub fn derive(secret_key: &str) -> Self {
        let key = Sha256::digest(format!("reply-addresses:{secret_key}").as_bytes());
        ReplyKey(HmacSha256::new_from_slice(&key).expect("HMAC takes a key of any length"))
    }

    fn mac(&self, case_id: i64) -> String {
        let mut m = self.0.clone();
        m.update(format!("case:{case_id}").as_bytes());
        hex::encode(m.finalize().into_bytes())[..TAG_MAC_HEX].to_string()
    }

    /// The tag of case `case_id`'s reply address: `c417-9f86d081884c7d65`.
    pub fn tag(&self, case_id: i64) -> String {
        format!("c{case_id}-{}", self.mac(case_id))
    }

    /// The case a tag names, when its signature is right.
    pub fn case_of_tag(&self, tag: &str) -> Option<i64> {
        let (id, mac) = tag
            .to_ascii_lowercase()
            .strip_prefix('c')?
            .split_once('-')
            .map(|(a, b)| (a.to_string(), b.to_string()))?;
        let case_id: i64 = id.parse().ok().filter(|n| *n > 0)?;
        crate::domain::tokens::secrets_equal(&self.mac(case_id), &mac).then_some(case_id)
    }
}

/// The desk's reply address, as `--reply-address` (or the sender) gives it: the
/// local part and the domain, lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyAddress {
    pub local: String,
    pub domain: String,
}

impl ReplyAddress {
    /// Reads `addr@domain` or `Name <addr@domain>`; the local part may not hold a `+`
    /// (the tag goes there).
    pub fn parse(s: &str) -> Result<ReplyAddress, String> {
        let inner = match (s.find('<'), s.rfind('>')) {
            (Some(a), Some(b)) if a < b => &s[a + 1..b],
            _ => s,
        };
        let inner = inner.trim();
        let (local, domain) = inner
            .rsplit_once('@')
            .ok_or_else(|| format!("'{inner}' is not an e-mail address"))?;
        let ok_local = !local.is_empty()
            && local
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        let ok_domain = !domain.is_empty()
            && domain
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'));
        if !ok_local || !ok_domain {
            return Err(format!(
                "'{inner}' must be a plain address (letters, digits, dots, dashes; no '+')"
            ));
        }
        Ok(ReplyAddress {
            local: local.to_ascii_lowercase(),
            domain: domain.to_ascii_lowercase(),
        })
    }

    /// The address replies about case `case_id` go to.
    pub fn for_case(&self, key: &ReplyKey, case_id: i64) -> String {
        format!("{}+{}@{}", self.local, key.tag(case_id), self.domain)
    }

    /// Whether `addr` is at the desk's reply domain (the SMTP listener takes mail
    /// for nothing else).
    pub fn same_domain(&self, addr: &str) -> bool {
        addr.trim()
            .trim_matches(['<', '>'])
            .rsplit_once('@')
            .is_some_and(|(_, d)| d.eq_ignore_ascii_case(&self.domain))
    }

    /// The tag of `addr` when it is one of the desk's reply addresses
    /// (`local+tag@domain`).
    pub fn tag_of<'a>(&self, addr: &'a str) -> Option<&'a str> {
        let addr = addr.trim().trim_matches(['<', '>']);
        let (local, domain) = addr.rsplit_once('@')?;
        if !domain.eq_ignore_ascii_case(&self.domain) {
            return None;
        }
        let (base, tag) = local.split_once('+')?;
        base.eq_ignore_ascii_case(&self.local).then_some(tag)
    }
}

/// The new text of a reply: everything before its quoted history. Cut at the first
/// line that opens a quote — "On … wrote:" (also across two lines), "-----Original
/// Message-----", an Outlook header block ("From:" after a rule of underscores), a
/// Chinese client's "在 … 写道：", or the signature separator "-- " — and lines
/// quoted with ">" are left out; trailing blank lines go.
pub fn strip_quoted(text: &str) -> String {
    let text = text.replace("\r\n", "\n");
    let lines: Vec<&str> = text.split('\n').collect();
    let mut kept: Vec<&str> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let t = line.trim();
        if line == "-- " {
            break;
        }
        if is_quote_header(t) {
            break;
        }
        // "On Tue, 24 Nov 2026 at 09:00, Desk <desk@bank.example>" / "wrote:"
        if (t.starts_with("On ") || t.starts_with("在")) && i + 1 < lines.len() {
            let joined = format!("{t} {}", lines[i + 1].trim());
            if is_quote_header(&joined) {
                break;
            }
        }
        if t.starts_with("________________")
            && lines[i + 1..]
                .iter()
                .find(|l| !l.trim().is_empty())
                .is_some_and(|l| {
                    l.trim_start().starts_with("From:") || l.trim_start().starts_with("发件人")
                })
        {
            break;
        }
        if t.starts_with('>') {
            i += 1;
            continue;
        }
        kept.push(line);
        i += 1;
    }
    while kept.last().is_some_and(|l| l.trim().is_empty()) {
        kept.pop();
    }
    while kept.first().is_some_and(|l| l.trim().is_empty()) {
        kept.remove(0);
    }
    kept.iter()
        .map(|l| l.trim_end())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether one (trimmed) line opens a quoted reply.
fn is_quote_header(t: &str) -> bool {
    let lower = t.to_ascii_lowercase();
    (lower.starts_with("on ") && lower.ends_with("wrote:"))
        || lower.contains("-----original message-----")
        || lower.starts_with("-----原始邮件-----")
        || (t.starts_with('在') && (t.ends_with("写道：") || t.ends_with("写道:")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_what_their_bytes_say() {
        let png = b"\x89PNG\r\n\x1a\n....".to_vec();
        let html = b"<html><script>alert(1)</script></html>".to_vec();
        let ok = check_files(vec![Upload {
            name: "C:\\Users\\wei\\receipt.PNG".into(),
            bytes: png.clone(),
        }])
        .unwrap();
        assert_eq!(ok[0].kind, FileKind::Png);
        assert_eq!(ok[0].name, "receipt.PNG");
        assert_eq!(ok[0].sha256.len(), 64);
        let bad = check_files(vec![Upload {
            name: "photo.png".into(),
            bytes: html,
        }])
        .unwrap_err();
        assert_eq!(bad, FileProblem::NotAllowed("photo.png".into()));
        let big = check_files(vec![Upload {
            name: "big.pdf".into(),
            bytes: [b"%PDF-1.7".to_vec(), vec![0; MAX_FILE_BYTES]].concat(),
        }])
        .unwrap_err();
        assert_eq!(big, FileProblem::TooLarge("big.pdf".into()));
        let four = (0..4)
            .map(|i| Upload {
                name: format!("{i}.png"),
                bytes: png.clone(),
            })
            .collect();
        assert_eq!(check_files(four).unwrap_err(), FileProblem::TooMany);
        let three_big = (0..3)
            .map(|i| Upload {
                name: format!("{i}.pdf"),
                bytes: [b"%PDF-".to_vec(), vec![0; 4 * 1024 * 1024]].concat(),
            })
            .collect();
        assert_eq!(
            check_files(three_big).unwrap_err(),
            FileProblem::TotalTooLarge
        );
    }

    #[test]
    fn names_are_made_safe() {
        assert_eq!(safe_name("../../etc/passwd", FileKind::Pdf), "passwd.pdf");
        assert_eq!(safe_name("", FileKind::Jpeg), "attachment.jpg");
        assert_eq!(safe_name("scan.jpeg", FileKind::Jpeg), "scan.jpeg");
        assert_eq!(safe_name("a\"b;c.png", FileKind::Png), "abc.png");
        assert_eq!(safe_name(".hidden", FileKind::Png), "hidden.png");
    }

    #[test]
    fn reply_addresses_are_signed() {
        let key = ReplyKey::derive("a secret key of the desk, long enough to use");
        let other = ReplyKey::derive("another desk's secret key, just as long as it");
        let addr = ReplyAddress::parse("Risk Desk <Replies@Desk.Bank.Example>").unwrap();
        let to = addr.for_case(&key, 417);
        assert!(
            to.starts_with("replies+c417-") && to.ends_with("@desk.bank.example"),
            "{to}"
        );
        let tag = addr.tag_of(&to).unwrap();
        assert_eq!(key.case_of_tag(tag), Some(417));
        assert_eq!(key.case_of_tag(&tag.to_ascii_uppercase()), Some(417));
        assert_eq!(other.case_of_tag(tag), None, "another key");
        // The signature of one case does not open another.
        let forged = tag.replace("c417", "c418");
        assert_eq!(key.case_of_tag(&forged), None);
        assert_eq!(key.case_of_tag("c417"), None);
        assert_eq!(key.case_of_tag("nonsense"), None);
        assert_eq!(addr.tag_of("someone+c1-00@elsewhere.example"), None);
        assert_eq!(addr.tag_of("other+c1-00@desk.bank.example"), None);
        assert!(addr.same_domain("<anything@DESK.bank.example>"));
        assert!(!addr.same_domain("anything@bank.example"));
        assert!(ReplyAddress::parse("a+b@x.example").is_err());
        assert!(ReplyAddress::parse("no-at-sign").is_err());
    }

    #[test]
    fn quoted_history_is_cut() {
        let gmail = "Yes it was me.\r\nThanks\r\n\r\nOn Tue, 24 Nov 2026 at 09:00, Risk Desk <desk@bank.example>\r\nwrote:\r\n> Did you make it?\r\n";
        assert_eq!(strip_quoted(gmail), "Yes it was me.\nThanks");
        let one_line = "Fine.\nOn Tue, Nov 24, 2026 Desk wrote:\n> old";
        assert_eq!(strip_quoted(one_line), "Fine.");
        let outlook = "See attached.\n\n-----Original Message-----\nFrom: desk\nSubject: x";
        assert_eq!(strip_quoted(outlook), "See attached.");
        let chinese = "是我本人操作的。\n\n在 2026年11月24日 09:00，风控中心 写道：\n> 请确认";
        assert_eq!(strip_quoted(chinese), "是我本人操作的。");
        let signature = "Call me later.\n-- \nWei Wang\nAcme Ltd";
        assert_eq!(strip_quoted(signature), "Call me later.");
        let inline = "> quoted\nmy answer\n> more quoted\nsecond line";
        assert_eq!(strip_quoted(inline), "my answer\nsecond line");
        let rule = "Ok\n\n________________________________\nFrom: Risk Desk\nSent: today";
        assert_eq!(strip_quoted(rule), "Ok");
        // A dash line that is not the separator stays.
        assert_eq!(strip_quoted("a -- b\n--\nc"), "a -- b\n--\nc");
    }

    #[test]
    fn placeholders_of_a_message() {
        let found = |t: &str| crate::mail::templates::placeholders_in(t);
        assert_eq!(
            unknown_placeholders(found(
                "Dear {customer_name}, see {link} and {password} {link}"
            )),
            vec!["link", "password"]
        );
        assert!(unknown_placeholders(found("{case_ref} {amount} {agent_name}")).is_empty());
    }

    #[test]
    fn first_names() {
        assert_eq!(first_name("Li Na").as_deref(), Some("Li"));
        assert_eq!(first_name("王伟"), None);
        assert_eq!(first_name("  "), None);
    }
}
