// Pure rules of the desk, no I/O: validated input types, roles, languages, tokens,
// password hashing, money, masking, business calendars, SLA clocks, routing, and
// the case lifecycle (statuses, commands, timeline events).

pub mod alert;
pub mod aml_report;
pub mod assignment;
pub mod calendar;
pub mod calls;
pub mod campaign;
pub mod deskconfig;
pub mod events;
pub mod identity;
pub mod lifecycle;
pub mod masking;
pub mod money;
pub mod network;
pub mod password;
pub mod qa;
pub mod reference;
pub mod resolution;
pub mod retry;
pub mod routing;
pub mod search;
pub mod severity;
pub mod sla;
pub mod snooze;
pub mod tokens;
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
    pub message: String,
}

impl FieldProblem {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldProblem {
            field: field.into(),
            message: message.into(),
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
