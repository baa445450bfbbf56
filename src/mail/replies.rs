// Replies for a case: the reply templates that fit it (by its rule and state, best
// first), and any template or edited text filled in for it exactly as its customer
// will read it — in their language, placeholders filled, the security tips after it.
// The verification and survey e-mails are made the same way, so what a preview shows
// is what is sent, but for two things: the desk's own pages show the customer's name
// masked, as everywhere, and a one-time link is made only when a message is sent. A
// customer who may not be written to (do-not-contact, under an AML case) gets
// nothing, whatever the template: no suggestion, no preview.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::templates::{self, REPLY};
use super::tips;
use crate::cases::verify::{customer_lang, is_aml};
use crate::config::Settings;
use crate::db::DbConn;
use crate::domain::replies::{self, CaseFacts, Fit};
use crate::domain::{FieldProblem, Lang, masking};
use crate::i18n::{Tr, tkey};
use crate::store::cases::{self as case_store, Alert, Case, Customer, case_ref};

/// Where a message reaches the customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// An e-mail to the customer's address.
    Email,
    /// A message on the customer's secure portal.
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

/// A message filled in for one case's customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The customer's language, which the message is written in.
    pub lang: Lang,
    pub subject: String,
    /// The message itself, placeholders filled: what an editable body starts from,
    /// and what the portal shows.
    pub body: String,
    /// The security tips that go with it, in the customer's language.
    pub tips: Vec<String>,
    /// The e-mail's text: the body, then the tips.
    pub body_text: String,
    /// The e-mail's HTML part; the desk sends text only.
    pub body_html: Option<String>,
}

/// Whose eyes a text is filled in for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    /// The customer's: what is sent.
    Customer,
    /// The desk's (a preview, a suggestion): the customer's name masked, as on every
    /// page of the desk.
    Staff,
}

/// The placeholders an editable text keeps, to be filled when the message is sent:
/// the customer's name (the desk shows it masked) and the one-time link (made then).
pub const FILLED_WHEN_SENT: [&str; 2] = ["customer_name", "link"];

/// The values of a case's placeholders.
#[derive(Debug, Clone)]
pub struct Values {
    pub customer_name: String,
    pub case_ref: String,
    pub amount: String,
    pub masked_account: String,
    pub deadline: String,
    pub link: String,
    pub agent_name: String,
}

impl Values {
    /// The values as `reader` may see them.
    pub fn for_reader(&self, reader: Reader) -> Values {
        match reader {
            Reader::Customer => self.clone(),
            Reader::Staff => Values {
                customer_name: masking::name(&self.customer_name),
                ..self.clone()
            },
        }
    }

    /// The pairs of an editable text: every value but those filled when the message
    /// is sent ([`FILLED_WHEN_SENT`]), which stay placeholders.
    pub fn draft_pairs(&self) -> Vec<(&'static str, &str)> {
        self.pairs()
            .into_iter()
            .filter(|(k, _)| !FILLED_WHEN_SENT.contains(k))
            .collect()
    }

    pub fn pairs(&self) -> [(&'static str, &str); 7] {
        [
            ("customer_name", &self.customer_name),
            ("case_ref", &self.case_ref),
            ("amount", &self.amount),
            ("masked_account", &self.masked_account),
            ("deadline", &self.deadline),
            ("link", &self.link),
            ("agent_name", &self.agent_name),
        ]
    }
}

/// The attribute keys that hold the customer's own account or card, most telling
/// first.
const ACCOUNT_KEYS: [&str; 6] = [
    "account",
    "account_number",
    "account_no",
    "card_number",
    "card_no",
    "card",
];

/// The alert a message speaks of: the latest with an amount, else the latest.
fn latest(alerts: &[Alert]) -> Option<&Alert> {
    alerts
        .iter()
        .rev()
        .find(|a| a.amount.is_some())
        .or(alerts.last())
}

/// "125000.00 CNY" from the latest alert with an amount.
pub fn amount_of(alerts: &[Alert]) -> String {
    alerts
        .iter()
        .rev()
        .find_map(|a| {
            a.amount.as_ref().map(|v| {
                format!("{v} {}", a.currency.clone().unwrap_or_default())
                    .trim()
                    .to_string()
            })
        })
        .unwrap_or_default()
}

/// The customer's account as the desk masks it: the account or card the latest
/// alert names, else its transaction reference, first six and last four characters
/// at most (`TX-202*******8812`); empty when the alert names neither.
pub fn masked_account(alerts: &[Alert]) -> String {
    let Some(a) = latest(alerts) else {
        return String::new();
    };
    let attrs: BTreeMap<String, serde_json::Value> =
        serde_json::from_str(&a.attributes).unwrap_or_default();
    let account = ACCOUNT_KEYS.iter().find_map(|k| match attrs.get(*k) {
        Some(serde_json::Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    });
    account
        .or_else(|| a.transaction_ref.clone())
        .map(|v| masking::number(&v))
        .unwrap_or_default()
}

/// A deadline as a customer reads it: in their language, in the desk's time zone,
/// named (`25 November 2026, 18:00 (Asia/Shanghai)`, `2026年11月25日 18:00（Asia/Shanghai）`).
pub fn deadline_text(at: DateTime<Utc>, tz: chrono_tz::Tz, lang: Lang) -> String {
    let local = at.with_timezone(&tz);
    let date = match lang {
        Lang::En => local.format("%-d %B %Y").to_string(),
        Lang::ZhCn => local.format("%Y年%-m月%-d日").to_string(),
    };
    Tr::new(lang).tf(
        "replies.deadline",
        &[
            ("date", &date),
            ("time", &local.format("%H:%M").to_string()),
            ("zone", tz.name()),
        ],
    )
}

/// What stands for the customer's one-time link where no link is made (a preview, a
/// suggestion): the link is made when the message is sent.
pub fn link_marker(lang: Lang) -> String {
    Tr::new(lang).t("replies.link_marker").to_string()
}

/// The values of the placeholders for `case`, in the customer's language `lang`.
pub fn values(
    settings: &Settings,
    case: &Case,
    customer: &Customer,
    alerts: &[Alert],
    lang: Lang,
    agent_name: &str,
    link: &str,
) -> Values {
    Values {
        customer_name: customer.name.clone().unwrap_or_default(),
        case_ref: case_ref(case.id),
        amount: amount_of(alerts),
        masked_account: masked_account(alerts),
        deadline: deadline_text(
            crate::store::from_db(case.resolution_due),
            settings.desk_timezone,
            lang,
        ),
        link: link.to_string(),
        agent_name: agent_name.to_string(),
    }
}

/// A subject and body (a template's, or an agent's edit of one) filled in with
/// `values`, the tips after it.
pub fn fill(subject: &str, body: &str, values: &Values, tips: Vec<String>, lang: Lang) -> Rendered {
    let pairs = values.pairs();
    let subject = templates::fill(subject, &pairs);
    let body = templates::fill(body, &pairs);
    Rendered {
        lang,
        body_text: tips::append_to_text(&body, &tips, lang),
        body_html: None,
        subject,
        body,
        tips,
    }
}

/// `subject` and `body` filled in for the customer of `case` in `lang`, with the
/// tips of the case's rule: what is sent (for [`Reader::Customer`]), or what the desk
/// shows of it (for [`Reader::Staff`]). The text must have passed
/// [`templates::check_text`].
#[allow(clippy::too_many_arguments)]
pub fn render_text(
    conn: &mut DbConn,
    settings: &Settings,
    case: &Case,
    customer: &Customer,
    lang: Lang,
    subject: &str,
    body: &str,
    agent_name: &str,
    link: &str,
    reader: Reader,
) -> QueryResult<Rendered> {
    let alerts = case_store::alerts_of(conn, case.id)?;
    let values =
        values(settings, case, customer, &alerts, lang, agent_name, link).for_reader(reader);
    let tips = tips::for_rule(conn, &case.rule_code, lang)?;
    Ok(fill(subject, body, &values, tips, lang))
}

/// A template's text as an agent edits it before sending: every placeholder filled
/// for the case but the customer's name and the link, which are filled when the
/// message is sent ([`FILLED_WHEN_SENT`]). Returns (subject, body).
pub fn draft(subject: &str, body: &str, values: &Values) -> (String, String) {
    let pairs = values.draft_pairs();
    (
        templates::fill(subject, &pairs),
        templates::fill(body, &pairs),
    )
}

/// [`draft`] of a template's text for the customer of `case`.
#[allow(clippy::too_many_arguments)]
pub fn draft_for_case(
    conn: &mut DbConn,
    settings: &Settings,
    case: &Case,
    customer: &Customer,
    lang: Lang,
    subject: &str,
    body: &str,
    agent_name: &str,
) -> QueryResult<(String, String)> {
    let alerts = case_store::alerts_of(conn, case.id)?;
    let values = values(settings, case, customer, &alerts, lang, agent_name, "");
    Ok(draft(subject, body, &values))
}

/// An agent's text (a template's, perhaps edited) for the customer of `case`:
/// checked first — an empty or too long subject or body, or a placeholder that is
/// not known, is refused naming each problem — then filled in for the customer in
/// their language with the tips after it, as [`render_text`]. A preview
/// ([`Reader::Staff`]) and the sending of a reply ([`Reader::Customer`]) share it, so
/// that the preview is what is sent.
#[allow(clippy::too_many_arguments)]
pub fn render_edited(
    conn: &mut DbConn,
    settings: &Settings,
    case: &Case,
    customer: &Customer,
    subject: &str,
    body: &str,
    agent_name: &str,
    link: &str,
    reader: Reader,
) -> QueryResult<Result<Rendered, Vec<FieldProblem>>> {
    let lang = customer_lang(customer);
    let problems = templates::check_text(subject, body, lang.code());
    if !problems.is_empty() {
        return Ok(Err(problems));
    }
    render_text(
        conn, settings, case, customer, lang, subject, body, agent_name, link, reader,
    )
    .map(Ok)
}

/// The template `template` filled in for the customer of `case`, in their language
/// (the template's English when it lacks theirs): what is sent ([`Reader::Customer`])
/// or what the desk shows of it ([`Reader::Staff`]). `None` when there is no such
/// template.
pub fn render_for_case(
    conn: &mut DbConn,
    settings: &Settings,
    template: &str,
    case: &Case,
    agent_name: &str,
    link: &str,
    reader: Reader,
) -> QueryResult<Option<Rendered>> {
    let customer = case_store::customer(conn, case.customer_id)?;
    let lang = customer_lang(&customer);
    let Some(t) = templates::pick(conn, template, lang.code())? else {
        return Ok(None);
    };
    render_text(
        conn, settings, case, &customer, lang, &t.subject, &t.body, agent_name, link, reader,
    )
    .map(Some)
}

/// Why nothing may be sent to the customer of a case on `channel`, if so: they
/// asked not to be contacted, or they are under an AML case (`aml`, see
/// [`is_aml`]: no tipping off), or an e-mail has no address to go to.
pub fn refusal_for(
    customer: &Customer,
    aml: bool,
    channel: Option<Channel>,
) -> Option<&'static str> {
    if customer.do_not_contact {
        Some(tkey("replies.refused.do_not_contact"))
    } else if aml {
        Some(tkey("replies.refused.aml"))
    } else if channel == Some(Channel::Email) && customer.email.is_none() {
        Some(tkey("replies.refused.no_email"))
    } else {
        None
    }
}

/// [`refusal_for`] the customer of `case`, asking the database whether they are
/// under AML.
pub fn refusal(
    conn: &mut DbConn,
    case: &Case,
    customer: &Customer,
    channel: Option<Channel>,
) -> QueryResult<Option<&'static str>> {
    let aml = is_aml(conn, case)?;
    Ok(refusal_for(customer, aml, channel))
}

/// One reply template suggested for a case, filled in for its customer.
#[derive(Debug, Clone)]
pub struct Suggestion {
    pub name: String,
    pub fit: Fit,
    /// As the customer will see it, their name masked ([`Reader::Staff`]).
    pub rendered: Rendered,
    /// The text to edit or copy: (subject, body) with the customer's name and the
    /// link left as placeholders, filled when the message is sent.
    pub draft: (String, String),
}

/// The replies suggested for a case: none, and why, when its customer may not be
/// written to.
#[derive(Debug, Clone)]
pub struct Suggestions {
    /// The customer's language, which the suggestions are written in.
    pub lang: Lang,
    pub refusal: Option<&'static str>,
    pub items: Vec<Suggestion>,
}

/// The most replies suggested at once.
pub const MAX_SUGGESTIONS: usize = 8;

/// What a suggestion looks at in `case`.
pub fn facts(case: &Case) -> CaseFacts {
    CaseFacts {
        rule_code: case.rule_code.clone(),
        status: case.status,
        paused: case.paused_since.is_some(),
        disposition: case.disposition.clone(),
    }
}

/// The reply templates that fit `case`, best first (its rule and state, its rule,
/// its state, any case), each filled in for its customer as `agent_name` would send
/// it; nothing, and why, when the customer may not be written to.
pub fn suggest(
    conn: &mut DbConn,
    settings: &Settings,
    case: &Case,
    agent_name: &str,
) -> QueryResult<Suggestions> {
    let customer = case_store::customer(conn, case.customer_id)?;
    let aml = is_aml(conn, case)?;
    let alerts = case_store::alerts_of(conn, case.id)?;
    suggest_with(conn, settings, case, &customer, &alerts, aml, agent_name)
}

/// [`suggest`] with the case's customer, alerts and AML standing already at hand
/// (the case page has them).
pub fn suggest_with(
    conn: &mut DbConn,
    settings: &Settings,
    case: &Case,
    customer: &Customer,
    alerts: &[Alert],
    aml: bool,
    agent_name: &str,
) -> QueryResult<Suggestions> {
    let lang = customer_lang(customer);
    if let Some(why) = refusal_for(customer, aml, None) {
        return Ok(Suggestions {
            lang,
            refusal: Some(why),
            items: Vec::new(),
        });
    }
    let rows = templates::of_purpose(conn, REPLY)?;
    let scopes = templates::scopes(conn)?;
    let mut names: Vec<&str> = rows.iter().map(|t| t.name.as_str()).collect();
    names.dedup();
    let none = replies::Scope::default();
    let ranked = replies::rank(
        names.iter().map(|n| (*n, scopes.get(*n).unwrap_or(&none))),
        &facts(case),
    );
    let values = values(
        settings,
        case,
        customer,
        alerts,
        lang,
        agent_name,
        &link_marker(lang),
    );
    let shown = values.for_reader(Reader::Staff);
    let tips = tips::for_rule(conn, &case.rule_code, lang)?;
    let items = ranked
        .into_iter()
        .take(MAX_SUGGESTIONS)
        .filter_map(|(name, fit)| {
            let of_name = rows.iter().filter(|t| t.name == name);
            let t = of_name
                .clone()
                .find(|t| t.lang == lang.code())
                .or_else(|| of_name.clone().find(|t| t.lang == "en"))?;
            Some(Suggestion {
                name: name.to_string(),
                fit,
                rendered: fill(&t.subject, &t.body, &shown, tips.clone(), lang),
                draft: draft(&t.subject, &t.body, &values),
            })
        })
        .collect();
    Ok(Suggestions {
        lang,
        refusal: None,
        items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(amount: Option<&str>, tx: Option<&str>, attrs: &str) -> Alert {
        Alert {
            id: 1,
            external_id: "a".into(),
            rule_code: "R".into(),
            severity: "high".into(),
            occurred_at: None,
            received_at: chrono::NaiveDateTime::default(),
            customer_id: 1,
            case_id: Some(1),
            amount: amount.map(String::from),
            currency: amount.map(|_| "CNY".to_string()),
            transaction_ref: tx.map(String::from),
            attributes: attrs.into(),
            api_key_id: None,
            result: None,
        }
    }

    #[test]
    fn the_account_is_masked_as_the_desk_masks_it() {
        let by_ref = [alert(Some("10.00"), Some("TX-20261124-88812"), "{}")];
        assert_eq!(masked_account(&by_ref), "TX-202*******8812");
        assert_eq!(amount_of(&by_ref), "10.00 CNY");
        let by_account = [
            alert(
                Some("10.00"),
                Some("TX-1"),
                r#"{"account":"6222021234567890123"}"#,
            ),
            alert(None, None, r#"{"account":"999"}"#),
        ];
        // The alert with the amount speaks for the case.
        assert_eq!(masked_account(&by_account), "622202*********0123");
        assert_eq!(masked_account(&[]), "");
    }

    #[test]
    fn deadlines_read_in_the_customers_language_and_the_desks_zone() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-25T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let tz: chrono_tz::Tz = "Asia/Shanghai".parse().unwrap();
        assert_eq!(
            deadline_text(at, tz, Lang::En),
            "25 November 2026, 18:00 (Asia/Shanghai)"
        );
        assert_eq!(
            deadline_text(at, tz, Lang::ZhCn),
            "2026年11月25日 18:00（Asia/Shanghai）"
        );
    }
}
