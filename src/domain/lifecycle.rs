// The life of a case as types: its status, the commands that change it, and the one
// pure function that says which command may move a case from which status to which.

use std::fmt;
use std::str::FromStr;

/// Where a case stands in its life. The SLA clock's pause is a separate dimension
/// (`paused_since` on the case), so a paused case keeps its status.
///
/// Stored as its text name (the column mapping is in `store::types`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    diesel::AsExpression,
    diesel::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    /// Waiting for an agent.
    New,
    /// Given to an agent who has not opened it yet.
    Assigned,
    /// Its agent is working it.
    InProgress,
    /// A closing waits for a supervisor's approval.
    PendingApproval,
    /// Closed with a disposition.
    Resolved,
}

impl CaseStatus {
    pub const ALL: [CaseStatus; 5] = [
        CaseStatus::New,
        CaseStatus::Assigned,
        CaseStatus::InProgress,
        CaseStatus::PendingApproval,
        CaseStatus::Resolved,
    ];

    /// The statuses of an open case.
    pub const OPEN: [CaseStatus; 4] = [
        CaseStatus::New,
        CaseStatus::Assigned,
        CaseStatus::InProgress,
        CaseStatus::PendingApproval,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            CaseStatus::New => "new",
            CaseStatus::Assigned => "assigned",
            CaseStatus::InProgress => "in_progress",
            CaseStatus::PendingApproval => "pending_approval",
            CaseStatus::Resolved => "resolved",
        }
    }

    pub fn is_open(self) -> bool {
        self != CaseStatus::Resolved
    }

    /// Whether a case in this status has an agent (or, awaiting approval, may have).
    pub fn is_owned(self) -> bool {
        matches!(self, CaseStatus::Assigned | CaseStatus::InProgress)
    }
}

impl FromStr for CaseStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        CaseStatus::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "'{s}' is not one of new, assigned, in_progress, pending_approval, resolved"
                )
            })
    }
}

impl fmt::Display for CaseStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a case stands for: one customer's alerts, or a campaign holding the cases of
/// many customers tied together as its children. A campaign is a case with a row in
/// `campaigns`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum CaseKind {
    #[default]
    Case,
    Campaign,
}

impl CaseKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            CaseKind::Case => "case",
            CaseKind::Campaign => "campaign",
        }
    }
}

impl FromStr for CaseKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "case" => Ok(CaseKind::Case),
            "campaign" => Ok(CaseKind::Campaign),
            _ => Err(format!("'{s}' is not one of case, campaign")),
        }
    }
}

/// Every command that changes a case. Each has one function in `crate::cases`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    /// An alert opens a case (it has no status before).
    OpenFromAlert,
    /// An alert joins an open case (its weight and priority may rise).
    JoinAlert,
    /// Auto-assignment or "take next" gives a waiting case to an agent.
    Assign,
    /// Its agent opens the case and starts working it.
    Start,
    /// The agent went away or offline (or was deactivated): the case waits again.
    GiveBack,
    /// The agent hands one case back to the queue, with a reason.
    Release,
    /// A supervisor gives the case to another agent.
    Reassign,
    /// The SLA clock stops while the case waits on the customer.
    Pause,
    /// The clock runs again: the customer answered, an agent resumed it by hand, or
    /// the pause allowance was used up.
    Resume,
    /// A call attempt with its outcome.
    LogCall,
    /// A verification e-mail to the customer (it pauses the clock).
    SendVerification,
    /// The customer's answer to a verification e-mail.
    RecordAnswer,
    /// A message to the customer, by e-mail or as a secure message.
    SendMessage,
    /// The customer's message, from the secure message page or by e-mail.
    ReceiveMessage,
    /// A risky closing waits for a supervisor's approval.
    RequestClosing,
    /// A supervisor approves the closing that waits: the case is resolved.
    Approve,
    /// A supervisor rejects it: the case goes back to work.
    Reject,
    /// A closing that takes effect at once.
    Resolve,
    /// A complaint reopens a resolved case with a fresh SLA.
    Reopen,
    /// The case moves to another department's queue.
    HandOff,
    /// The SLA watch at breach: mark, raise the priority, move to the escalation
    /// queue or hand the case on.
    Escalate,
}

impl Command {
    pub const ALL: [Command; 21] = [
        Command::OpenFromAlert,
        Command::JoinAlert,
        Command::Assign,
        Command::Start,
        Command::GiveBack,
        Command::Release,
        Command::Reassign,
        Command::Pause,
        Command::Resume,
        Command::LogCall,
        Command::SendVerification,
        Command::RecordAnswer,
        Command::SendMessage,
        Command::ReceiveMessage,
        Command::RequestClosing,
        Command::Approve,
        Command::Reject,
        Command::Resolve,
        Command::Reopen,
        Command::HandOff,
        Command::Escalate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Command::OpenFromAlert => "open_from_alert",
            Command::JoinAlert => "join_alert",
            Command::Assign => "assign",
            Command::Start => "start",
            Command::GiveBack => "give_back",
            Command::Release => "release",
            Command::Reassign => "reassign",
            Command::Pause => "pause",
            Command::Resume => "resume",
            Command::LogCall => "log_call",
            Command::SendVerification => "send_verification",
            Command::RecordAnswer => "record_answer",
            Command::SendMessage => "send_message",
            Command::ReceiveMessage => "receive_message",
            Command::RequestClosing => "request_closing",
            Command::Approve => "approve",
            Command::Reject => "reject",
            Command::Resolve => "resolve",
            Command::Reopen => "reopen",
            Command::HandOff => "hand_off",
            Command::Escalate => "escalate",
        }
    }
}

/// What the transition function needs to know of a case besides its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Facts {
    /// An agent holds the case.
    pub owned: bool,
    /// Its agent has started it.
    pub started: bool,
    /// The SLA clock is paused.
    pub paused: bool,
}

/// Why a command may not move a case: each one is a clear refusal the user reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the case is resolved")]
    Resolved,
    #[error("the case is not resolved")]
    NotResolved,
    #[error("a closing of this case waits for approval")]
    AwaitingApproval,
    #[error("no closing of this case waits for approval")]
    NothingPending,
    #[error("the case has an agent already")]
    AlreadyAssigned,
    #[error("the case has no agent")]
    NotAssigned,
    #[error("the case is started already")]
    AlreadyStarted,
    #[error("the case's clock is paused already")]
    AlreadyPaused,
    #[error("the case's clock is not paused")]
    NotPaused,
    #[error("a case is opened only from an alert")]
    AlreadyOpen,
}

impl Refusal {
    /// The translation key of the refusal's message.
    pub fn key(self) -> &'static str {
        match self {
            Refusal::Resolved => "lifecycle.resolved",
            Refusal::NotResolved => "lifecycle.not_resolved",
            Refusal::AwaitingApproval => "lifecycle.awaiting_approval",
            Refusal::NothingPending => "lifecycle.nothing_pending",
            Refusal::AlreadyAssigned => "lifecycle.already_assigned",
            Refusal::NotAssigned => "lifecycle.not_assigned",
            Refusal::AlreadyStarted => "lifecycle.already_started",
            Refusal::AlreadyPaused => "lifecycle.already_paused",
            Refusal::NotPaused => "lifecycle.not_paused",
            Refusal::AlreadyOpen => "lifecycle.already_open",
        }
    }
}

/// The status a command moves a case to from `from`, or why it may not.
///
/// This is the whole table of the case's life; `docs/lifecycle.md` prints it and a
/// test holds the two together. Commands that do not change the status (a call, a
/// pause, an escalation) still say from which statuses they are allowed.
pub fn transition(cmd: Command, from: CaseStatus, facts: Facts) -> Result<CaseStatus, Refusal> {
    use CaseStatus::*;
    use Command::*;
    // After rejection or resumption the case goes back to whoever holds it.
    let back_to_work = if !facts.owned {
        New
    } else if facts.started {
        InProgress
    } else {
        Assigned
    };
    match (cmd, from) {
        (_, Resolved) if cmd != Reopen => Err(Refusal::Resolved),
        (OpenFromAlert, _) => Err(Refusal::AlreadyOpen),
        (Reopen, Resolved) => Ok(New),
        (Reopen, _) => Err(Refusal::NotResolved),

        (JoinAlert | LogCall | Escalate | SendMessage | ReceiveMessage, s) => Ok(s),

        (Assign, New) => Ok(Assigned),
        (Assign, _) => Err(Refusal::AlreadyAssigned),

        (Start, Assigned) => Ok(InProgress),
        (Start, InProgress) => Err(Refusal::AlreadyStarted),
        (Start, New) => Err(Refusal::NotAssigned),
        (Start, PendingApproval) => Err(Refusal::AwaitingApproval),

        // A closing that waits keeps its agent and its approval: it is not given
        // back, released or handed off until the supervisor decides.
        (GiveBack | Release, Assigned | InProgress) => Ok(New),
        (GiveBack | Release, New) => Err(Refusal::NotAssigned),
        (GiveBack | Release | HandOff, PendingApproval) => Err(Refusal::AwaitingApproval),
        (HandOff, New | Assigned | InProgress) => Ok(New),

        // A case whose closing waits for approval stays with the agent who asked
        // until the supervisor decides.
        (Reassign, New | Assigned | InProgress) => Ok(Assigned),
        (Reassign, PendingApproval) => Err(Refusal::AwaitingApproval),

        (Pause | SendVerification, _) if facts.paused => Err(Refusal::AlreadyPaused),
        (Pause | SendVerification, s) => Ok(s),
        (Resume, s) if facts.paused => Ok(s),
        (Resume, _) => Err(Refusal::NotPaused),
        // An answer resumes the clock when it stands; a late answer is still recorded.
        (RecordAnswer, s) => Ok(s),

        (RequestClosing, New | Assigned | InProgress) => Ok(PendingApproval),
        (Resolve, New | Assigned | InProgress) => Ok(Resolved),
        (RequestClosing | Resolve, PendingApproval) => Err(Refusal::AwaitingApproval),

        (Approve, PendingApproval) => Ok(Resolved),
        (Reject, PendingApproval) => Ok(back_to_work),
        (Approve | Reject, _) => Err(Refusal::NothingPending),

        (_, Resolved) => Err(Refusal::Resolved),
    }
}

/// The status a case must have for its facts, when it is open and not awaiting
/// approval: the invariant the model test and the fold of events check.
pub fn settled_status(facts: Facts) -> CaseStatus {
    match (facts.owned, facts.started) {
        (false, _) => CaseStatus::New,
        (true, false) => CaseStatus::Assigned,
        (true, true) => CaseStatus::InProgress,
    }
}

/// The lifecycle as a Markdown table: one row a command, one column a status, each
/// cell the status it moves to or the refusal's message. `docs/lifecycle.md` holds
/// this table; a test keeps them the same.
pub fn table_markdown() -> String {
    let facts = Facts {
        owned: true,
        started: true,
        paused: false,
    };
    let mut out = String::from("| command |");
    for s in CaseStatus::ALL {
        out.push_str(&format!(" `{s}` |"));
    }
    out.push_str("\n|---|");
    for _ in CaseStatus::ALL {
        out.push_str("---|");
    }
    out.push('\n');
    for cmd in Command::ALL {
        out.push_str(&format!("| {} |", cmd.as_str()));
        for s in CaseStatus::ALL {
            let cell = match transition(cmd, s, facts) {
                Ok(to) if to == s => "= (stays)".to_string(),
                Ok(to) => format!("→ `{to}`"),
                Err(r) => format!("✗ {r}"),
            };
            out.push_str(&format!(" {cell} |"));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWNED: Facts = Facts {
        owned: true,
        started: false,
        paused: false,
    };

    #[test]
    fn statuses_round_trip_as_text() {
        for s in CaseStatus::ALL {
            assert_eq!(s.as_str().parse::<CaseStatus>(), Ok(s));
        }
        let err = "waiting".parse::<CaseStatus>().unwrap_err();
        assert!(err.contains("'waiting'"), "{err}");
    }

    #[test]
    fn a_resolved_case_only_reopens() {
        for cmd in Command::ALL {
            let r = transition(cmd, CaseStatus::Resolved, OWNED);
            if cmd == Command::Reopen {
                assert_eq!(r, Ok(CaseStatus::New));
            } else {
                assert_eq!(r, Err(Refusal::Resolved), "{cmd:?}");
            }
        }
    }

    #[test]
    fn a_closing_that_waits_survives_give_back_and_hand_off() {
        let s = CaseStatus::PendingApproval;
        assert_eq!(
            transition(Command::GiveBack, s, OWNED),
            Err(Refusal::AwaitingApproval)
        );
        assert_eq!(
            transition(Command::HandOff, s, OWNED),
            Err(Refusal::AwaitingApproval)
        );
        assert_eq!(
            transition(Command::Reassign, s, OWNED),
            Err(Refusal::AwaitingApproval)
        );
        assert_eq!(transition(Command::Escalate, s, OWNED), Ok(s));
        assert_eq!(
            transition(Command::Resolve, s, OWNED),
            Err(Refusal::AwaitingApproval)
        );
        assert_eq!(
            transition(Command::Approve, s, OWNED),
            Ok(CaseStatus::Resolved)
        );
    }

    #[test]
    fn rejection_returns_the_case_to_whoever_holds_it() {
        let s = CaseStatus::PendingApproval;
        let f = |owned, started| Facts {
            owned,
            started,
            paused: false,
        };
        assert_eq!(
            transition(Command::Reject, s, f(false, false)),
            Ok(CaseStatus::New)
        );
        assert_eq!(
            transition(Command::Reject, s, f(true, false)),
            Ok(CaseStatus::Assigned)
        );
        assert_eq!(
            transition(Command::Reject, s, f(true, true)),
            Ok(CaseStatus::InProgress)
        );
        assert_eq!(
            transition(Command::Reject, CaseStatus::InProgress, OWNED),
            Err(Refusal::NothingPending)
        );
    }

    #[test]
    fn pause_and_resume_follow_the_clock() {
        let paused = Facts {
            paused: true,
            ..OWNED
        };
        for s in CaseStatus::OPEN {
            assert_eq!(transition(Command::Pause, s, OWNED), Ok(s));
            assert_eq!(
                transition(Command::Pause, s, paused),
                Err(Refusal::AlreadyPaused)
            );
            assert_eq!(
                transition(Command::SendVerification, s, paused),
                Err(Refusal::AlreadyPaused)
            );
            assert_eq!(transition(Command::Resume, s, paused), Ok(s));
            assert_eq!(
                transition(Command::Resume, s, OWNED),
                Err(Refusal::NotPaused)
            );
        }
    }

    #[test]
    fn assignment_and_start() {
        assert_eq!(
            transition(Command::Assign, CaseStatus::New, Facts::default()),
            Ok(CaseStatus::Assigned)
        );
        assert_eq!(
            transition(Command::Assign, CaseStatus::Assigned, OWNED),
            Err(Refusal::AlreadyAssigned)
        );
        assert_eq!(
            transition(Command::Start, CaseStatus::Assigned, OWNED),
            Ok(CaseStatus::InProgress)
        );
        assert_eq!(
            transition(Command::Start, CaseStatus::New, Facts::default()),
            Err(Refusal::NotAssigned)
        );
        assert_eq!(
            transition(Command::Release, CaseStatus::InProgress, OWNED),
            Ok(CaseStatus::New)
        );
    }

    #[test]
    fn the_docs_show_the_table_of_the_code() {
        let doc = include_str!("../../docs/lifecycle.md");
        let table = table_markdown();
        assert!(
            doc.contains(&table),
            "docs/lifecycle.md does not hold the lifecycle table; it should read:\n{table}"
        );
    }

    #[test]
    fn every_refusal_has_a_translation_key() {
        let mut keys: Vec<&str> = Command::ALL
            .iter()
            .flat_map(|c| {
                CaseStatus::ALL.iter().flat_map(move |s| {
                    [false, true].into_iter().filter_map(move |paused| {
                        transition(*c, *s, Facts { paused, ..OWNED }).err()
                    })
                })
            })
            .map(Refusal::key)
            .collect();
        keys.sort_unstable();
        keys.dedup();
        assert!(keys.iter().all(|k| k.starts_with("lifecycle.")));
        assert!(keys.len() >= 8, "{keys:?}");
    }
}
