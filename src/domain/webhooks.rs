// Webhooks: the event types a receiver may subscribe to, what each timeline event
// tells the risk engine, the checks on a receiver's URL and name, and the signature
// of a delivery. Pure rules, no I/O.

use std::fmt;
use std::str::FromStr;

use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::events::CaseEvent;
use super::resolution::{Action, Disposition, Label};

/// What a webhook can be told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    CaseOpened,
    CaseAssigned,
    CaseResolved,
    CaseReopened,
    VerificationAnswered,
    TransactionDecided,
    SnoozeCreated,
    SnoozeEnded,
    CampaignOpened,
    OncallPaged,
}

impl EventType {
    pub const ALL: [EventType; 10] = [
        EventType::CaseOpened,
        EventType::CaseAssigned,
        EventType::CaseResolved,
        EventType::CaseReopened,
        EventType::VerificationAnswered,
        EventType::TransactionDecided,
        EventType::SnoozeCreated,
        EventType::SnoozeEnded,
        EventType::CampaignOpened,
        EventType::OncallPaged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::CaseOpened => "case.opened",
            EventType::CaseAssigned => "case.assigned",
            EventType::CaseResolved => "case.resolved",
            EventType::CaseReopened => "case.reopened",
            EventType::VerificationAnswered => "verification.answered",
            EventType::TransactionDecided => "transaction.decided",
            EventType::SnoozeCreated => "snooze.created",
            EventType::SnoozeEnded => "snooze.ended",
            EventType::CampaignOpened => "campaign.opened",
            EventType::OncallPaged => "oncall.paged",
        }
    }
}

impl FromStr for EventType {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        EventType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or(())
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a webhook's settings were refused; each names its field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookInputError {
    /// The name is empty or longer than 100 characters.
    Name,
    /// The URL is not an absolute http(s) URL with a host.
    Url,
    /// An event name nobody knows (the first such).
    UnknownEvent(String),
}

impl WebhookInputError {
    /// The form field the error is about.
    pub fn field(&self) -> &'static str {
        match self {
            WebhookInputError::Name => "name",
            WebhookInputError::Url => "url",
            WebhookInputError::UnknownEvent(_) => "events",
        }
    }
}

impl fmt::Display for WebhookInputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WebhookInputError::Name => f.write_str("the name must have 1 to 100 characters"),
            WebhookInputError::Url => {
                f.write_str("the URL must be an absolute http:// or https:// address")
            }
            WebhookInputError::UnknownEvent(e) => write!(f, "unknown event '{e}'"),
        }
    }
}

/// The name, trimmed, when it has 1 to 100 characters.
pub fn parse_name(name: &str) -> Result<&str, WebhookInputError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(WebhookInputError::Name);
    }
    Ok(name)
}

/// The URL, trimmed, when it is an absolute http(s) URL with a host and no spaces
/// or control characters (at most 2,000 characters).
pub fn parse_url(url: &str) -> Result<&str, WebhookInputError> {
    let url = url.trim();
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or(WebhookInputError::Url)?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit('@').next().unwrap_or("");
    let bad = |c: char| c.is_whitespace() || c.is_control();
    if host.is_empty() || host.starts_with(':') || url.len() > 2000 || url.chars().any(bad) {
        return Err(WebhookInputError::Url);
    }
    Ok(url)
}

/// The event types of a comma-separated list; an empty list is every type.
pub fn parse_events(list: &str) -> Result<Vec<EventType>, WebhookInputError> {
    let mut out: Vec<EventType> = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let t = name
            .parse::<EventType>()
            .map_err(|()| WebhookInputError::UnknownEvent(name.to_string()))?;
        if !out.contains(&t) {
            out.push(t);
        }
    }
    if out.is_empty() {
        out = EventType::ALL.to_vec();
    }
    out.sort();
    Ok(out)
}

/// The stored form of a subscription: the names between commas, so that
/// `events LIKE '%,case.opened,%'` finds the subscribers of one type.
pub fn stored_events(types: &[EventType]) -> String {
    let mut s = String::from(",");
    for t in types {
        s.push_str(t.as_str());
        s.push(',');
    }
    s
}

/// The types of a stored subscription.
pub fn events_of(stored: &str) -> Vec<EventType> {
    stored
        .split(',')
        .filter_map(|n| n.parse::<EventType>().ok())
        .collect()
}

/// Whether a stored subscription receives `t`.
pub fn subscribes(stored: &str, t: EventType) -> bool {
    stored.split(',').any(|n| n == t.as_str())
}

/// The header of a delivery made at unix time `t`:
/// `t=<t>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>`.
pub fn signature(secret: &str, t: i64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// What the engine learns from a timeline event of the case `case_ref`: its type and
/// data, or nothing when the event is the desk's own business. A closing's note is
/// the agent's words and stays on the desk.
pub fn from_case_event(case_ref: &str, event: &CaseEvent) -> Option<(EventType, Value)> {
    Some(match event {
        CaseEvent::Opened(o) => (
            EventType::CaseOpened,
            json!({"case": case_ref, "rule": o.rule, "queue": o.queue, "priority": o.priority.as_str()}),
        ),
        CaseEvent::Assigned(a) => (
            EventType::CaseAssigned,
            json!({"case": case_ref, "assignee": a.to, "how": a.how}),
        ),
        CaseEvent::Resolved(r) => {
            let label = r.disposition.parse::<Disposition>().ok().map(label_of);
            (
                EventType::CaseResolved,
                json!({
                    "case": case_ref,
                    "disposition": r.disposition,
                    "label": label.unwrap_or("unknown"),
                    "action": r.details.action,
                    "customer_confirmed": r.details.customer_confirmed,
                    "by_customer": r.by_customer,
                }),
            )
        }
        CaseEvent::Reopened(r) => (
            EventType::CaseReopened,
            json!({"case": case_ref, "reason": r.reason}),
        ),
        CaseEvent::VerificationAnswered(a) => (
            EventType::VerificationAnswered,
            json!({"case": case_ref, "answer": a.answer}),
        ),
        CaseEvent::CampaignOpened(c) => (
            EventType::CampaignOpened,
            json!({
                "case": case_ref,
                "rule": c.rule,
                "kind": c.kind,
                "customers": c.customers,
                "children": c.children,
            }),
        ),
        CaseEvent::Snoozed(e) => (
            EventType::SnoozeCreated,
            json!({
                "case": case_ref,
                "snooze": e.snooze,
                "rule": e.rule,
                "customer_external_id": e.customer,
                "until": e.until.to_rfc3339(),
                "reason": e.reason,
            }),
        ),
        CaseEvent::SnoozeEnded(e) => (
            EventType::SnoozeEnded,
            json!({
                "case": case_ref,
                "snooze": e.snooze,
                "rule": e.rule,
                "customer_external_id": e.customer,
                "how": e.how.as_str(),
            }),
        ),
        CaseEvent::Paged(p) => (
            EventType::OncallPaged,
            json!({
                "case": case_ref,
                "emergency": p.emergency,
                "to": p.to,
                "rota": p.rota,
                "level": p.level,
                "unanswered_minutes": p.unanswered_minutes,
                "handed_by": p.handed_by,
            }),
        ),
        _ => return None,
    })
}

/// The label the engine learns from, as its API names it.
pub fn label_of(d: Disposition) -> &'static str {
    match d.label() {
        Label::TruePositive => "true_positive",
        Label::FalsePositive => "false_positive",
        Label::Unknown | Label::NotCounted => "unknown",
    }
}

/// What a closing's action did to the transaction, as `transaction.decided` says it;
/// none when it did nothing to it.
pub fn decision_of(action: Action) -> Option<&'static str> {
    match action {
        Action::Released => Some("release"),
        Action::Blocked => Some("block"),
        Action::Frozen => Some("freeze"),
        Action::Refunded => Some("refund"),
        Action::NoAction => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_lists_parse_and_refuse_unknown_names() {
        assert_eq!(parse_events("").unwrap(), EventType::ALL.to_vec());
        assert_eq!(
            parse_events(" case.resolved ,case.opened,case.resolved").unwrap(),
            vec![EventType::CaseOpened, EventType::CaseResolved]
        );
        assert_eq!(
            parse_events("case.opened,case.closed"),
            Err(WebhookInputError::UnknownEvent("case.closed".into()))
        );
        let stored = stored_events(&[EventType::CaseOpened, EventType::TransactionDecided]);
        assert_eq!(stored, ",case.opened,transaction.decided,");
        assert!(subscribes(&stored, EventType::TransactionDecided));
        assert!(!subscribes(&stored, EventType::CaseResolved));
        assert_eq!(events_of(&stored).len(), 2);
    }

    #[test]
    fn urls_must_be_absolute_http() {
        for ok in [
            "https://engine.bank.example/hooks",
            "http://127.0.0.1:8080/",
            " https://h.example?x=1 ",
        ] {
            assert!(parse_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ftp://h.example/",
            "https://",
            "https:///path",
            "engine.bank.example",
            "https://h.example/a b",
            "https://:80/",
            "javascript:alert(1)",
        ] {
            assert_eq!(parse_url(bad), Err(WebhookInputError::Url), "{bad}");
        }
        assert_eq!(parse_name("  "), Err(WebhookInputError::Name));
        assert_eq!(parse_name(" engine "), Ok("engine"));
    }

    #[test]
    fn the_signature_is_hmac_of_time_dot_body() {
        // Checked against an independent HMAC-SHA256 (Python's hmac module):
        // hmac.new(b"whsec", b"1700000000.{}", sha256).hexdigest()
        assert_eq!(
            signature("whsec", 1_700_000_000, b"{}"),
            "t=1700000000,v1=7d44587dddbaf4c7f70fef20f48cd594834ffea1641e3ac227b84408298738af"
        );
    }

    #[test]
    fn labels_and_decisions() {
        assert_eq!(label_of(Disposition::ConfirmedFraud), "true_positive");
        assert_eq!(label_of(Disposition::EscalatedAml), "true_positive");
        assert_eq!(label_of(Disposition::FalsePositive), "false_positive");
        assert_eq!(label_of(Disposition::Unreachable), "unknown");
        assert_eq!(decision_of(Action::Released), Some("release"));
        assert_eq!(decision_of(Action::NoAction), None);
    }
}
