// The case's timeline events as one enum: every change of a case writes one of these,
// every renderer and report matches all of them. Stored as a kind and a JSON object.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::assignment::Waiting;
use super::lifecycle::{CaseStatus, Facts, settled_status};
use super::severity::Priority;

/// One event of a case's timeline. The serde form (`kind` + `data`) is what the
/// `case_events` table stores, one column each; the names are the stored kinds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "data")]
pub enum CaseEvent {
    #[serde(rename = "case.opened")]
    Opened(Opened),
    #[serde(rename = "routing.decided")]
    RoutingDecided(RoutingDecided),
    #[serde(rename = "sla.set")]
    SlaSet(Dues),
    #[serde(rename = "alert.received")]
    AlertReceived(AlertReceived),
    #[serde(rename = "priority.raised")]
    PriorityRaised(PriorityRaised),
    #[serde(rename = "sla.paused")]
    Paused(Paused),
    #[serde(rename = "sla.resumed")]
    Resumed(Resumed),
    #[serde(rename = "sla.first_response")]
    FirstResponse(FirstResponse),
    #[serde(rename = "sla.warning")]
    Warning(Warning),
    #[serde(rename = "sla.breached")]
    Breached(Breached),
    #[serde(rename = "assignment.assigned")]
    Assigned(Assigned),
    #[serde(rename = "assignment.waiting")]
    Waiting(Waiting),
    #[serde(rename = "assignment.returned")]
    Returned(Returned),
    #[serde(rename = "assignment.released")]
    Released(Released),
    #[serde(rename = "assignment.waiting_too_long")]
    WaitingTooLong(WaitingTooLong),
    #[serde(rename = "case.started")]
    Started(Empty),
    #[serde(rename = "verification.email_sent")]
    VerificationSent(EmailSent),
    #[serde(rename = "verification.answered")]
    VerificationAnswered(Answered),
    #[serde(rename = "satisfaction.email_sent")]
    SurveySent(EmailSent),
    #[serde(rename = "satisfaction.answered")]
    SurveyAnswered(SurveyAnswered),
    #[serde(rename = "call.logged")]
    CallLogged(CallLogged),
    #[serde(rename = "call.callback_due")]
    CallbackDue(CallbackDue),
    #[serde(rename = "resolution.requested")]
    ClosingRequested(ClosingRequested),
    #[serde(rename = "resolution.approved")]
    ClosingApproved(Decision),
    #[serde(rename = "resolution.rejected")]
    ClosingRejected(Decision),
    #[serde(rename = "case.resolved")]
    Resolved(Resolved),
    #[serde(rename = "case.reopened")]
    Reopened(Reopened),
    #[serde(rename = "case.handed_off")]
    HandedOff(HandedOff),
    #[serde(rename = "pii.revealed")]
    PiiRevealed(PiiRevealed),
    #[serde(rename = "qa.reviewed")]
    QaReviewed(QaReviewed),
    #[serde(rename = "campaign.opened")]
    CampaignOpened(CampaignOpened),
    #[serde(rename = "campaign.joined")]
    CampaignJoined(CampaignJoined),
    #[serde(rename = "campaign.grew")]
    CampaignGrew(CampaignGrew),
    #[serde(rename = "snooze.created")]
    Snoozed(Snoozed),
    #[serde(rename = "snooze.ended")]
    SnoozeEnded(SnoozeEnded),
    #[serde(rename = "snooze.overridden")]
    SnoozeOverridden(SnoozeOverridden),
    #[serde(rename = "aml_report.due")]
    AmlReportDue(AmlReportDue),
    #[serde(rename = "aml_report.warning")]
    AmlReportWarning(AmlReportClock),
    #[serde(rename = "aml_report.breached")]
    AmlReportBreached(AmlReportClock),
    #[serde(rename = "aml_report.filed")]
    AmlReportFiled(AmlReportFiled),
    #[serde(rename = "emergency.declared")]
    EmergencyDeclared(EmergencyDeclared),
    #[serde(rename = "oncall.paged")]
    Paged(Paged),
    #[serde(rename = "emergency.acknowledged")]
    EmergencyAcknowledged(EmergencyAcknowledged),
    #[serde(rename = "emergency.ended")]
    EmergencyEnded(EmergencyEnded),
    #[serde(rename = "message.sent")]
    MessageSent(MessageSent),
    #[serde(rename = "message.received")]
    MessageReceived(MessageReceived),
}

/// The kinds, in the order of the enum: what the timeline table may hold.
pub const KINDS: [&str; 46] = [
    "case.opened",
    "routing.decided",
    "sla.set",
    "alert.received",
    "priority.raised",
    "sla.paused",
    "sla.resumed",
    "sla.first_response",
    "sla.warning",
    "sla.breached",
    "assignment.assigned",
    "assignment.waiting",
    "assignment.returned",
    "assignment.released",
    "assignment.waiting_too_long",
    "case.started",
    "verification.email_sent",
    "verification.answered",
    "satisfaction.email_sent",
    "satisfaction.answered",
    "call.logged",
    "call.callback_due",
    "resolution.requested",
    "resolution.approved",
    "resolution.rejected",
    "case.resolved",
    "case.reopened",
    "case.handed_off",
    "pii.revealed",
    "qa.reviewed",
    "campaign.opened",
    "campaign.joined",
    "campaign.grew",
    "snooze.created",
    "snooze.ended",
    "snooze.overridden",
    "aml_report.due",
    "aml_report.warning",
    "aml_report.breached",
    "aml_report.filed",
    "emergency.declared",
    "oncall.paged",
    "emergency.acknowledged",
    "emergency.ended",
    "message.sent",
    "message.received",
];

#[derive(Debug, thiserror::Error)]
#[error("timeline event '{kind}' cannot be read: {message}")]
pub struct EventError {
    pub kind: String,
    pub message: String,
}

impl CaseEvent {
    /// The stored kind and data of the event.
    pub fn to_parts(&self) -> (&'static str, String) {
        let kind = self.kind();
        let value = serde_json::to_value(self).expect("events serialize");
        let data = value
            .get("data")
            .map(|d| d.to_string())
            .unwrap_or_else(|| "{}".to_string());
        (kind, data)
    }

    /// An event from its stored kind and data.
    pub fn from_parts(kind: &str, data: &str) -> Result<CaseEvent, EventError> {
        // The tag first, then the stored data as it is: serde reads the data straight
        // into the event's type, with no JSON tree in between.
        let tagged = format!(
            "{{\"kind\":{},\"data\":{data}}}",
            serde_json::Value::from(kind)
        );
        serde_json::from_str(&tagged).map_err(|e| EventError {
            kind: kind.to_string(),
            message: e.to_string(),
        })
    }

    /// The stored kind.
    pub fn kind(&self) -> &'static str {
        match self {
            CaseEvent::Opened(_) => "case.opened",
            CaseEvent::RoutingDecided(_) => "routing.decided",
            CaseEvent::SlaSet(_) => "sla.set",
            CaseEvent::AlertReceived(_) => "alert.received",
            CaseEvent::PriorityRaised(_) => "priority.raised",
            CaseEvent::Paused(_) => "sla.paused",
            CaseEvent::Resumed(_) => "sla.resumed",
            CaseEvent::FirstResponse(_) => "sla.first_response",
            CaseEvent::Warning(_) => "sla.warning",
            CaseEvent::Breached(_) => "sla.breached",
            CaseEvent::Assigned(_) => "assignment.assigned",
            CaseEvent::Waiting(_) => "assignment.waiting",
            CaseEvent::Returned(_) => "assignment.returned",
            CaseEvent::Released(_) => "assignment.released",
            CaseEvent::WaitingTooLong(_) => "assignment.waiting_too_long",
            CaseEvent::Started(_) => "case.started",
            CaseEvent::VerificationSent(_) => "verification.email_sent",
            CaseEvent::VerificationAnswered(_) => "verification.answered",
            CaseEvent::SurveySent(_) => "satisfaction.email_sent",
            CaseEvent::SurveyAnswered(_) => "satisfaction.answered",
            CaseEvent::CallLogged(_) => "call.logged",
            CaseEvent::CallbackDue(_) => "call.callback_due",
            CaseEvent::ClosingRequested(_) => "resolution.requested",
            CaseEvent::ClosingApproved(_) => "resolution.approved",
            CaseEvent::ClosingRejected(_) => "resolution.rejected",
            CaseEvent::Resolved(_) => "case.resolved",
            CaseEvent::Reopened(_) => "case.reopened",
            CaseEvent::HandedOff(_) => "case.handed_off",
            CaseEvent::PiiRevealed(_) => "pii.revealed",
            CaseEvent::QaReviewed(_) => "qa.reviewed",
            CaseEvent::CampaignOpened(_) => "campaign.opened",
            CaseEvent::CampaignJoined(_) => "campaign.joined",
            CaseEvent::CampaignGrew(_) => "campaign.grew",
            CaseEvent::Snoozed(_) => "snooze.created",
            CaseEvent::SnoozeEnded(_) => "snooze.ended",
            CaseEvent::SnoozeOverridden(_) => "snooze.overridden",
            CaseEvent::AmlReportDue(_) => "aml_report.due",
            CaseEvent::AmlReportWarning(_) => "aml_report.warning",
            CaseEvent::AmlReportBreached(_) => "aml_report.breached",
            CaseEvent::AmlReportFiled(_) => "aml_report.filed",
            CaseEvent::EmergencyDeclared(_) => "emergency.declared",
            CaseEvent::Paged(_) => "oncall.paged",
            CaseEvent::EmergencyAcknowledged(_) => "emergency.acknowledged",
            CaseEvent::EmergencyEnded(_) => "emergency.ended",
            CaseEvent::MessageSent(_) => "message.sent",
            CaseEvent::MessageReceived(_) => "message.received",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Empty {}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Opened {
    pub rule: String,
    pub queue: String,
    pub priority: Priority,
}

/// Why routing chose the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteReason {
    Route,
    UnknownRule,
    NoRoute,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutingDecided {
    pub reason: RouteReason,
    pub route: Option<i64>,
    #[serde(default)]
    pub time_boxed: bool,
    pub rule: String,
    pub queue: String,
    pub priority: Priority,
}

/// The SLA a case was given when it opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dues {
    pub policy: String,
    #[serde(default)]
    pub calendar: Option<String>,
    #[serde(with = "rfc3339")]
    pub first_response_due: DateTime<Utc>,
    #[serde(with = "rfc3339")]
    pub resolution_due: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertReceived {
    pub alert_id: i64,
    pub external_id: String,
    pub rule: String,
    pub severity: Priority,
    #[serde(default)]
    pub grouped: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// The case's weight after the alert joined (a heavier rule raises it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<i32>,
}

/// What raised a case's priority.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriorityRaised {
    pub from: Priority,
    pub to: Priority,
    #[serde(with = "rfc3339")]
    pub first_response_due: DateTime<Utc>,
    #[serde(with = "rfc3339")]
    pub resolution_due: DateTime<Utc>,
    /// An alert of higher severity joined the case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_id: Option<i64>,
    /// `customer_denied` (a "no, it wasn't me") or `breach`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Paused {
    pub reason: String,
    pub allowance_minutes: i64,
}

/// Why the clock ran again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ResumeCause {
    /// The customer answered.
    #[default]
    Answered,
    /// An agent resumed it by hand.
    Manual,
    /// The pause allowance (`max_pause_minutes`) was used up.
    AllowanceUsed,
    /// The verification link expired unanswered.
    LinkExpired,
    /// The case was closed or moved while paused.
    Closed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resumed {
    pub paused_minutes: i64,
    pub counted_minutes: i64,
    #[serde(default)]
    pub limit_reached: bool,
    #[serde(with = "rfc3339")]
    pub first_response_due: DateTime<Utc>,
    #[serde(with = "rfc3339")]
    pub resolution_due: DateTime<Utc>,
    #[serde(default)]
    pub cause: ResumeCause,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirstResponse {
    pub how: String,
    pub late: bool,
}

/// Which SLA clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Clock {
    FirstResponse,
    Resolution,
}

impl Clock {
    pub fn as_str(self) -> &'static str {
        match self {
            Clock::FirstResponse => "first_response",
            Clock::Resolution => "resolution",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warning {
    pub clock: Clock,
    pub percent: i64,
    pub case_ref: String,
}

/// What the breach did to the case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum BreachAction {
    #[default]
    None,
    Moved,
    Reassigned,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Breached {
    pub clock: Clock,
    pub case_ref: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_from: Option<Priority>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_to: Option<Priority>,
    /// The queue it breached in (the case may move on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moved_to: Option<String>,
    #[serde(default)]
    pub action: BreachAction,
    /// The deadlines under the escalation queue's policy, when the case moved there.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "rfc3339_opt")]
    pub first_response_due: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "rfc3339_opt")]
    pub resolution_due: Option<DateTime<Utc>>,
}

/// How a case came to its agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum How {
    Auto,
    TakeNext,
    Reassigned,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assigned {
    /// The agent's e-mail.
    pub to: String,
    pub how: How,
    /// `least_loaded`, `most_urgent_waiting`, `took_next`, or a supervisor's words.
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eligible: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<i32>,
    #[serde(default)]
    pub weight: i32,
}

/// Why a case went back to its queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReturnReason {
    Away,
    Offline,
    Escalated,
    Deactivated,
    OfflineTooLong,
    BreachAgentNotOnline,
    HandedOff,
    Reassigned,
    /// A heavier alert joined and the agent had no room for it.
    OverCapacity,
}

impl ReturnReason {
    pub fn as_str(self) -> &'static str {
        match self {
            ReturnReason::Away => "away",
            ReturnReason::Offline => "offline",
            ReturnReason::Escalated => "escalated",
            ReturnReason::Deactivated => "deactivated",
            ReturnReason::OfflineTooLong => "offline_too_long",
            ReturnReason::BreachAgentNotOnline => "breach_agent_not_online",
            ReturnReason::HandedOff => "handed_off",
            ReturnReason::Reassigned => "reassigned",
            ReturnReason::OverCapacity => "over_capacity",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Returned {
    pub reason: ReturnReason,
    /// The agent's e-mail.
    pub from: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Released {
    pub note: String,
    pub from: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitingTooLong {
    pub minutes: i64,
    pub case_ref: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailSent {
    /// The masked address.
    pub to: String,
    pub template: String,
    pub lang: String,
}

/// The customer's answer to a verification e-mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    /// "Yes, it was me."
    Confirm,
    /// "No, it wasn't me."
    Deny,
}

impl Answer {
    /// The answer a form field names, if it names one.
    pub fn parse(s: &str) -> Option<Answer> {
        match s {
            "confirm" => Some(Answer::Confirm),
            "deny" => Some(Answer::Deny),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Answer::Confirm => "confirm",
            Answer::Deny => "deny",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answered {
    pub answer: Answer,
    pub case_ref: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SurveyAnswered {
    pub score: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallLogged {
    pub call_id: i64,
    pub direction: String,
    pub outcome: String,
    /// The masked number.
    pub number: String,
    #[serde(default)]
    pub duration_seconds: Option<i32>,
    #[serde(default, with = "rfc3339_opt")]
    pub callback_at: Option<DateTime<Utc>>,
    /// The customer is under an AML case or asked not to be contacted: the agent
    /// was warned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackDue {
    pub case_ref: String,
    pub call_id: i64,
    pub number: String,
    #[serde(default, with = "rfc3339_opt")]
    pub callback_at: Option<DateTime<Utc>>,
}

/// A closing's details, as the request and the resolution carry them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ClosingDetails {
    #[serde(default)]
    pub action: Option<String>,
    #[serde(default)]
    pub amount_protected: Option<String>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub customer_confirmed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClosingRequested {
    pub disposition: String,
    #[serde(flatten)]
    pub details: ClosingDetails,
    pub reason: String,
    #[serde(default)]
    pub held: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    #[serde(default)]
    pub note: Option<String>,
    pub disposition: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolved {
    pub disposition: String,
    #[serde(flatten)]
    pub details: ClosingDetails,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<i64>,
    /// The minutes of a pause that stood when the case was closed, counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused_minutes: Option<i64>,
    /// The customer closed it, confirming "it was me" on a small amount.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub by_customer: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reopened {
    pub reason: String,
    #[serde(with = "rfc3339")]
    pub first_response_due: DateTime<Utc>,
    #[serde(with = "rfc3339")]
    pub resolution_due: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandedOff {
    pub from: String,
    pub to: String,
    pub note: String,
    #[serde(with = "rfc3339")]
    pub first_response_due: DateTime<Utc>,
    #[serde(with = "rfc3339")]
    pub resolution_due: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PiiRevealed {
    pub field: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QaReviewed {
    pub passed: bool,
    #[serde(default)]
    pub failed: Vec<String>,
    #[serde(default)]
    pub comment: Option<String>,
}

/// How a case came to a campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JoinHow {
    /// A campaign rule found its customer among the ring at intake.
    Detected,
    /// A supervisor put it there (a selection, a bulk action).
    Supervisor,
    /// Its campaign was merged into this one.
    Merged,
}

/// A campaign case was opened (on the campaign's own timeline).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignOpened {
    /// The campaign rule that found it; none when a supervisor made it.
    #[serde(default)]
    pub rule: Option<String>,
    /// The identifier that ties the customers (its kind and masked value).
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub masked: Option<String>,
    /// Customers tied, and their open cases that became children.
    pub customers: i64,
    pub children: i64,
    /// The supervisor's reason, when one made it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The case joined a campaign (on the child's timeline).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignJoined {
    /// The campaign's reference.
    pub campaign: String,
    pub how: JoinHow,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A case joined the campaign after it was opened (on the campaign's timeline).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignGrew {
    /// The references of the cases that joined.
    pub cases: Vec<String>,
    pub how: JoinHow,
}

/// The case's rule was snoozed for its customer (on the case it was made on).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snoozed {
    pub snooze: i64,
    pub rule: String,
    /// The customer's external id (the engine's own).
    pub customer: String,
    pub days: i64,
    #[serde(with = "rfc3339")]
    pub until: DateTime<Utc>,
    pub reason: String,
}

/// How a snooze ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SnoozeEnd {
    /// A supervisor ended it early.
    Ended,
    /// Its time was up.
    Expired,
}

impl SnoozeEnd {
    pub fn as_str(self) -> &'static str {
        match self {
            SnoozeEnd::Ended => "ended",
            SnoozeEnd::Expired => "expired",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnoozeEnded {
    pub snooze: i64,
    pub rule: String,
    pub customer: String,
    pub how: SnoozeEnd,
}

/// An alert opened this case although its rule is snoozed for the customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnoozeOverridden {
    pub snooze: i64,
    #[serde(with = "rfc3339")]
    pub until: DateTime<Utc>,
    /// `critical` or `above_limit`.
    pub why: String,
}

/// A case closed as escalated to AML must be reported by `due`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AmlReportDue {
    #[serde(with = "rfc3339")]
    pub due: DateTime<Utc>,
    /// Working days of `calendar`.
    pub days: i64,
    pub calendar: String,
}

/// The report deadline warned of (its last working day) or passed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AmlReportClock {
    #[serde(with = "rfc3339")]
    pub due: DateTime<Utc>,
}

/// The report was filed with the regulator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AmlReportFiled {
    pub reference: String,
    /// Filed after its deadline.
    #[serde(default)]
    pub late: bool,
}

/// An emergency was declared on the case: by a person with a reason, or by the
/// desk (`cause` breach or amount).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmergencyDeclared {
    pub emergency: i64,
    pub cause: crate::domain::emergency::Cause,
    pub reason: String,
}

/// People were paged for the case's emergency: the on-call person of `rota`, every
/// supervisor (`rota` none), or a colleague it was handed to (`handed_by`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Paged {
    pub emergency: i64,
    /// The e-mail addresses of those paged.
    pub to: Vec<String>,
    #[serde(default)]
    pub rota: Option<String>,
    /// The step of escalation: 0 the first page.
    pub level: i32,
    /// Paged because nobody acknowledged the last page within this many minutes.
    #[serde(default)]
    pub unanswered_minutes: Option<i64>,
    /// Paged because this person handed the emergency on.
    #[serde(default)]
    pub handed_by: Option<String>,
}

/// Someone paged acknowledged the emergency: escalation stops.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmergencyAcknowledged {
    pub emergency: i64,
    pub by: String,
    /// Minutes from the declaration.
    pub minutes: i64,
}

/// The emergency ended: its case was resolved, or a supervisor stood it down.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmergencyEnded {
    pub emergency: i64,
    pub how: crate::domain::emergency::Ending,
    #[serde(default)]
    pub reason: Option<String>,
}

/// The desk wrote to the customer: the text by e-mail, or a secure message behind a
/// link that an e-mail announced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageSent {
    /// The message's row.
    pub message: i64,
    pub channel: crate::domain::conversation::Channel,
    /// The masked address the e-mail went to.
    pub to: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    pub body: String,
    /// The customer's language it was written for.
    pub lang: String,
}

/// The customer wrote to the desk: on the secure message page, or by e-mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageReceived {
    pub message: i64,
    pub channel: crate::domain::conversation::Channel,
    /// The masked address an e-mail came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    pub body: String,
    /// The names of the files kept with it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<String>,
    /// Files of an e-mail the desk did not take, each with why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<String>,
    /// It came to the case from Triage, attached by this supervisor (their e-mail).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attached_by: Option<String>,
}

/// What a case's timeline says of it: the fold of its events, oldest first. The
/// timeline is the truth: this equals the case's row (a test holds them together).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Folded {
    /// `None` before the case was opened.
    pub status: Option<CaseStatus>,
    /// The e-mail of the agent who holds the case.
    pub owner: Option<String>,
    pub started: bool,
    pub priority: Option<Priority>,
    pub queue: Option<String>,
    pub first_response_due: Option<DateTime<Utc>>,
    pub resolution_due: Option<DateTime<Utc>>,
    /// When the clock stopped, while it stands.
    pub paused_since: Option<DateTime<Utc>>,
    /// The pause minutes counted so far.
    pub paused_minutes: i64,
    pending: bool,
    resolved: bool,
}

impl Folded {
    /// The case after `event`, written at `at`.
    pub fn apply(&mut self, at: DateTime<Utc>, event: &CaseEvent) {
        let mut dues = |f: DateTime<Utc>, r: DateTime<Utc>| {
            self.first_response_due = Some(f);
            self.resolution_due = Some(r);
        };
        match event {
            CaseEvent::Opened(o) => {
                self.priority = Some(o.priority);
                self.queue = Some(o.queue.clone());
            }
            CaseEvent::RoutingDecided(r) => {
                self.priority = Some(r.priority);
                self.queue = Some(r.queue.clone());
            }
            CaseEvent::SlaSet(d) => dues(d.first_response_due, d.resolution_due),
            CaseEvent::PriorityRaised(p) => {
                dues(p.first_response_due, p.resolution_due);
                self.priority = Some(p.to);
            }
            CaseEvent::Paused(_) => self.paused_since = Some(at),
            CaseEvent::Resumed(r) => {
                dues(r.first_response_due, r.resolution_due);
                self.paused_since = None;
                self.paused_minutes += r.counted_minutes;
            }
            CaseEvent::Breached(b) => {
                if let (Some(f), Some(r)) = (b.first_response_due, b.resolution_due) {
                    dues(f, r);
                }
                if let Some(p) = b.priority_to {
                    self.priority = Some(p);
                }
                if let Some(q) = &b.moved_to {
                    self.queue = Some(q.clone());
                }
            }
            CaseEvent::Assigned(a) => {
                self.owner = Some(a.to.clone());
                self.started = false;
            }
            CaseEvent::Returned(_) | CaseEvent::Released(_) => {
                self.owner = None;
                self.started = false;
            }
            CaseEvent::Started(_) => self.started = true,
            CaseEvent::ClosingRequested(_) => self.pending = true,
            CaseEvent::ClosingApproved(_) | CaseEvent::ClosingRejected(_) => self.pending = false,
            CaseEvent::Resolved(_) => {
                self.resolved = true;
                self.pending = false;
                self.paused_since = None;
            }
            CaseEvent::Reopened(r) => {
                dues(r.first_response_due, r.resolution_due);
                self.resolved = false;
                self.owner = None;
                self.started = false;
                self.paused_since = None;
                self.paused_minutes = 0;
            }
            CaseEvent::HandedOff(h) => {
                dues(h.first_response_due, h.resolution_due);
                self.queue = Some(h.to.clone());
                self.owner = None;
                self.started = false;
                self.paused_since = None;
                self.paused_minutes = 0;
            }
            CaseEvent::AlertReceived(_)
            | CaseEvent::FirstResponse(_)
            | CaseEvent::Warning(_)
            | CaseEvent::Waiting(_)
            | CaseEvent::WaitingTooLong(_)
            | CaseEvent::VerificationSent(_)
            | CaseEvent::VerificationAnswered(_)
            | CaseEvent::SurveySent(_)
            | CaseEvent::SurveyAnswered(_)
            | CaseEvent::CallLogged(_)
            | CaseEvent::CallbackDue(_)
            | CaseEvent::PiiRevealed(_)
            | CaseEvent::QaReviewed(_)
            | CaseEvent::CampaignOpened(_)
            | CaseEvent::CampaignJoined(_)
            | CaseEvent::CampaignGrew(_)
            | CaseEvent::Snoozed(_)
            | CaseEvent::SnoozeEnded(_)
            | CaseEvent::SnoozeOverridden(_)
            | CaseEvent::AmlReportDue(_)
            | CaseEvent::AmlReportWarning(_)
            | CaseEvent::AmlReportBreached(_)
            | CaseEvent::AmlReportFiled(_)
            | CaseEvent::EmergencyDeclared(_)
            | CaseEvent::Paged(_)
            | CaseEvent::EmergencyAcknowledged(_)
            | CaseEvent::EmergencyEnded(_)
            | CaseEvent::MessageSent(_)
            | CaseEvent::MessageReceived(_) => {}
        }
        self.status = self.priority.map(|_| {
            if self.resolved {
                CaseStatus::Resolved
            } else if self.pending {
                CaseStatus::PendingApproval
            } else {
                settled_status(Facts {
                    owned: self.owner.is_some(),
                    started: self.started,
                    paused: self.paused_since.is_some(),
                })
            }
        });
    }
}

/// The fold of a timeline, oldest event first.
pub fn fold<'a>(events: impl IntoIterator<Item = (DateTime<Utc>, &'a CaseEvent)>) -> Folded {
    let mut folded = Folded::default();
    for (at, event) in events {
        folded.apply(at, event);
    }
    folded
}

/// Times as the timeline has always stored them: RFC 3339 with an offset
/// (`2026-11-24T03:00:00+00:00`).
mod rfc3339 {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    }
}

mod rfc3339_opt {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&t.to_rfc3339()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        let text = Option::<String>::deserialize(d)?;
        text.map(|t| {
            DateTime::parse_from_rfc3339(&t)
                .map(|t| t.with_timezone(&Utc))
                .map_err(serde::de::Error::custom)
        })
        .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_names_a_variant() {
        let mut kinds = KINDS.to_vec();
        kinds.sort_unstable();
        kinds.dedup();
        assert_eq!(kinds.len(), KINDS.len(), "a kind is listed twice");
        for kind in KINDS {
            // Empty data is either a whole event or one missing fields: never an
            // unknown kind.
            match CaseEvent::from_parts(kind, "{}") {
                Ok(e) => assert_eq!(e.kind(), kind),
                Err(e) => assert!(!e.message.contains("unknown variant"), "{kind}: {e}"),
            }
        }
        let started = CaseEvent::Started(Empty {});
        assert_eq!(started.to_parts(), ("case.started", "{}".to_string()));
        let unknown = CaseEvent::from_parts("case.vanished", "{}").unwrap_err();
        assert!(unknown.message.contains("unknown variant"), "{unknown}");
    }

    #[test]
    fn stored_json_keeps_its_shape() {
        let e = CaseEvent::Returned(Returned {
            reason: ReturnReason::Offline,
            from: "a@example.com".into(),
        });
        let (kind, data) = e.to_parts();
        assert_eq!(kind, "assignment.returned");
        let v: serde_json::Value = serde_json::from_str(&data).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"reason": "offline", "from": "a@example.com"})
        );
        assert_eq!(CaseEvent::from_parts(kind, &data).unwrap(), e);
    }

    #[test]
    fn old_rows_still_read() {
        // As written before the enum: RFC 3339 with an offset, extra fields.
        let e = CaseEvent::from_parts(
            "sla.resumed",
            r#"{"paused_minutes":30,"counted_minutes":20,"limit_reached":true,
                "first_response_due":"2026-01-05T09:00:00+00:00",
                "resolution_due":"2026-01-05T17:00:00+00:00"}"#,
        )
        .unwrap();
        match e {
            CaseEvent::Resumed(r) => {
                assert_eq!(r.counted_minutes, 20);
                assert!(r.limit_reached);
                assert_eq!(r.cause, ResumeCause::Answered);
            }
            other => panic!("{other:?}"),
        }
        let waiting =
            CaseEvent::from_parts("assignment.waiting", r#"{"reason":"no_members"}"#).unwrap();
        assert_eq!(waiting, CaseEvent::Waiting(Waiting::NoMembers));
        let bad = CaseEvent::from_parts("case.opened", r#"{"rule":1}"#).unwrap_err();
        assert!(bad.to_string().contains("case.opened"), "{bad}");
    }
}
