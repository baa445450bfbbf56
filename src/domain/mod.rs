// Pure rules of the desk, no I/O: validated input types, roles, languages, tokens,
// password hashing, money, masking, business calendars, SLA clocks, routing, and
// the case lifecycle (statuses, commands, timeline events).

pub mod alert;
pub mod aml_report;
pub mod apikey;
pub mod assignment;
pub mod calendar;
pub mod calls;
pub mod campaign;
pub mod cidr;
pub mod conversation;
pub mod deskconfig;
pub mod directory;
pub mod emergency;
pub mod events;
pub mod identity;
pub mod input;
pub mod knowledge;
pub mod lifecycle;
pub mod masking;
pub mod money;
pub mod multipart;
pub mod network;
pub mod notifications;
pub mod oncall;
pub mod password;
pub mod qa;
pub mod reference;
pub mod replies;
pub mod resolution;
pub mod retry;
pub mod routing;
pub mod search;
pub mod severity;
pub mod sla;
pub mod snooze;
pub mod text;
pub mod tokens;
pub mod totp;
pub mod webhooks;
pub mod week;
pub mod worklist;

pub use events::CaseEvent;
pub use identity::{Email, Lang, Role, UserName, parse_timezone};
pub use lifecycle::{CaseKind, CaseStatus, Command, Refusal};
pub use severity::{Priority, Severity};

/// One field's problem, named by its path (`customer.email`, `hours.tue[1]`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldProblem {
    pub field: String,
    /// What is wrong, in English (the command line's and the JSON API's words).
    pub message: String,
    /// The message's catalog key and its values, when it has one: pages show the
    /// problem in the reader's language from it.
    #[serde(skip)]
    pub text: Option<ProblemText>,
}

/// A problem's message as a catalog key and the values of its `{placeholders}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProblemText {
    pub key: &'static str,
    pub args: Vec<(&'static str, String)>,
}

impl ProblemText {
    /// The catalog's `key` (mark it with `tkey`) with `args` for its placeholders.
    pub fn new(key: &'static str, args: &[(&'static str, &str)]) -> Self {
        ProblemText {
            key,
            args: args.iter().map(|(k, v)| (*k, v.to_string())).collect(),
        }
    }

    /// The text in the language of `tr`.
    pub fn render(&self, tr: &crate::i18n::Tr) -> String {
        let args: Vec<(&str, &str)> = self.args.iter().map(|(k, v)| (*k, v.as_str())).collect();
        tr.tf(self.key, &args)
    }

    /// The text in English: the command line's, the JSON API's and the logs' words.
    pub fn english(&self) -> String {
        self.render(&crate::i18n::Tr::new(Lang::En))
    }
}

impl std::fmt::Display for ProblemText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.english())
    }
}

impl FieldProblem {
    /// A problem of `field` whose message is `text`.
    pub fn text(field: impl Into<String>, text: ProblemText) -> Self {
        FieldProblem {
            field: field.into(),
            message: text.english(),
            text: Some(text),
        }
    }

    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldProblem {
            field: field.into(),
            message: message.into(),
            text: None,
        }
    }

    /// A problem whose message is the catalog's `key` (mark it with `tkey`) with
    /// `args` filled in; `message` holds its English text.
    pub fn keyed(
        field: impl Into<String>,
        key: &'static str,
        args: &[(&'static str, &str)],
    ) -> Self {
        FieldProblem {
            field: field.into(),
            message: crate::i18n::Tr::new(Lang::En).tf(key, args),
            text: Some(ProblemText {
                key,
                args: args.iter().map(|(k, v)| (*k, v.to_string())).collect(),
            }),
        }
    }

    /// The message in the language of `tr` (English when it has no catalog key).
    pub fn message_in(&self, tr: &crate::i18n::Tr) -> String {
        match &self.text {
            Some(t) => t.render(tr),
            None => self.message.clone(),
        }
    }
}

impl std::fmt::Display for FieldProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.field.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.field, self.message)
        }
    }
}
