// How a case's timeline events and the notifications about cases read in the
// reader's language: one exhaustive match, so an event nobody renders cannot compile.

use serde_json::Value;

use super::Tr;
use crate::domain::Priority;
use crate::domain::assignment::Waiting;
use crate::domain::conversation::Channel;
use crate::domain::events::{self as ev, CaseEvent, How, RouteReason};

fn priority(tr: &Tr, p: Priority) -> String {
    tr.t(&format!("priority.{}", p.as_str())).to_string()
}

fn clock(tr: &Tr, c: ev::Clock) -> String {
    tr.t(&format!("clock.{}", c.as_str())).to_string()
}

/// A call outcome's label.
pub fn outcome_label(tr: &Tr, outcome: &str) -> String {
    match outcome {
        "verified" => tr.t("calls.outcome_verified").to_string(),
        "denied" => tr.t("calls.outcome_denied").to_string(),
        "no_answer" => tr.t("calls.outcome_no_answer").to_string(),
        "voicemail" => tr.t("calls.outcome_voicemail").to_string(),
        "wrong_number" => tr.t("calls.outcome_wrong_number").to_string(),
        "callback_requested" => tr.t("calls.outcome_callback_requested").to_string(),
        other => other.to_string(),
    }
}

/// The label of a customer field that can be revealed.
pub fn field_label(tr: &Tr, field: &str) -> String {
    match field {
        "name" => tr.t("case.customer_name").to_string(),
        "email" => tr.t("case.customer_email").to_string(),
        "transactions" => tr.t("masking.transactions").to_string(),
        "attributes" => tr.t("masking.attributes").to_string(),
        _ => tr.t("case.customer_phone").to_string(),
    }
}

/// A call direction's label.
pub fn direction_label(tr: &Tr, direction: &str) -> String {
    match direction {
        "outbound" => tr.t("calls.direction_outbound").to_string(),
        "inbound" => tr.t("calls.direction_inbound").to_string(),
        other => other.to_string(),
    }
}

/// A QA review as one line.
pub fn qa_review(tr: &Tr, r: &ev::QaReviewed) -> String {
    let failed: Vec<&str> = r
        .failed
        .iter()
        .map(|item| tr.get(&format!("qa.item.{item}")).unwrap_or(item))
        .collect();
    let text = if r.passed {
        tr.t("qa.event_passed").to_string()
    } else {
        tr.tf("qa.event_failed", &[("items", &failed.join(", "))])
    };
    match &r.comment {
        Some(c) => tr.tf("qa.event_comment", &[("review", &text), ("comment", c)]),
        None => text,
    }
}

fn waiting(tr: &Tr, w: &Waiting) -> String {
    match w {
        Waiting::NoMembers => tr.t("event.waiting_no_members").to_string(),
        Waiting::NoSkill { skills } => {
            tr.tf("event.waiting_no_skill", &[("skills", &skills.join(", "))])
        }
        Waiting::NoOneOnline { skills } if skills.is_empty() => {
            tr.t("event.waiting_no_one_online").to_string()
        }
        Waiting::NoOneOnline { skills } => tr.tf(
            "event.waiting_no_one_online_skill",
            &[("skills", &skills.join(", "))],
        ),
        Waiting::OutsideShift => tr.t("event.waiting_outside_shift").to_string(),
        Waiting::NoCapacity { eligible, .. } => tr.tf(
            "event.waiting_no_capacity",
            &[("eligible", &eligible.to_string())],
        ),
    }
}

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(ToString::to_string).unwrap_or_default()
}

/// Describes a timeline event in the reader's language. Free text people typed
/// (notes, reasons) is shown with any account or card number in it cut to its first
/// six and last four digits.
pub fn describe(tr: &Tr, event: &CaseEvent) -> String {
    crate::domain::masking::numbers_in(&describe_whole(tr, event))
}

fn describe_whole(tr: &Tr, event: &CaseEvent) -> String {
    match event {
        CaseEvent::Opened(e) => tr.tf(
            "event.case_opened",
            &[
                ("rule", &e.rule),
                ("queue", &e.queue),
                ("priority", &priority(tr, e.priority)),
            ],
        ),
        CaseEvent::RoutingDecided(e) => match e.reason {
            RouteReason::Route => tr.tf(
                "event.routed",
                &[
                    ("route", &opt(&e.route)),
                    ("queue", &e.queue),
                    ("priority", &priority(tr, e.priority)),
                ],
            ),
            RouteReason::UnknownRule => tr.tf(
                "event.routed_unknown_rule",
                &[("rule", &e.rule), ("queue", &e.queue)],
            ),
            RouteReason::NoRoute => tr.tf(
                "event.routed_no_route",
                &[("rule", &e.rule), ("queue", &e.queue)],
            ),
        },
        CaseEvent::SlaSet(e) => tr.tf(
            "event.sla_set",
            &[("policy", &e.policy), ("calendar", &opt(&e.calendar))],
        ),
        CaseEvent::AlertReceived(e) => tr.tf(
            "event.alert_received",
            &[("rule", &e.rule), ("external_id", &e.external_id)],
        ),
        CaseEvent::PriorityRaised(e) => tr.tf(
            "event.priority_raised",
            &[("from", &priority(tr, e.from)), ("to", &priority(tr, e.to))],
        ),
        CaseEvent::Paused(e) => tr.tf("event.sla_paused", &[("reason", &e.reason)]),
        CaseEvent::Resumed(e) => {
            let minutes = e.counted_minutes.to_string();
            match e.cause {
                ev::ResumeCause::Answered | ev::ResumeCause::Closed => {
                    tr.tf("event.sla_resumed", &[("minutes", &minutes)])
                }
                ev::ResumeCause::Manual => {
                    tr.tf("event.clock.sla_resumed_manual", &[("minutes", &minutes)])
                }
                ev::ResumeCause::AllowanceUsed => tr.tf(
                    "event.clock.sla_resumed_allowance",
                    &[("minutes", &minutes)],
                ),
                ev::ResumeCause::LinkExpired => {
                    tr.tf("event.clock.sla_resumed_expired", &[("minutes", &minutes)])
                }
            }
        }
        CaseEvent::Resolved(e) if e.by_customer => tr.t("event.released_by_customer").to_string(),
        CaseEvent::Resolved(e) => tr.tf(
            "event.resolved",
            &[
                (
                    "disposition",
                    tr.get(&format!("disposition.{}", e.disposition))
                        .unwrap_or(&e.disposition),
                ),
                (
                    "action",
                    &e.details
                        .action
                        .as_deref()
                        .map(|a| tr.get(&format!("action.{a}")).unwrap_or(a).to_string())
                        .unwrap_or_default(),
                ),
                ("note", &opt(&e.details.note)),
            ],
        ),
        CaseEvent::ClosingRequested(e) => tr.tf(
            "event.resolution_requested",
            &[(
                "reason",
                tr.get(&format!("approval_reason.{}", e.reason))
                    .unwrap_or(&e.reason),
            )],
        ),
        CaseEvent::ClosingApproved(_) => tr.t("event.resolution_approved").to_string(),
        CaseEvent::ClosingRejected(e) => {
            tr.tf("event.resolution_rejected", &[("note", &opt(&e.note))])
        }
        CaseEvent::Reopened(e) => tr.tf("event.reopened", &[("reason", &e.reason)]),
        CaseEvent::HandedOff(e) => tr.tf(
            "event.handed_off",
            &[("from", &e.from), ("to", &e.to), ("note", &e.note)],
        ),
        CaseEvent::FirstResponse(e) => {
            if e.late {
                tr.t("event.first_response_late").to_string()
            } else {
                tr.t("event.first_response").to_string()
            }
        }
        CaseEvent::Warning(e) => tr.tf(
            "event.sla_warning",
            &[
                ("percent", &e.percent.to_string()),
                ("clock", &clock(tr, e.clock)),
            ],
        ),
        CaseEvent::Breached(e) => tr.tf("event.sla_breached", &[("clock", &clock(tr, e.clock))]),
        CaseEvent::Assigned(e) => match e.how {
            How::TakeNext => tr.tf("event.assigned_take_next", &[("to", &e.to)]),
            How::Reassigned => tr.tf(
                "event.assigned_reassigned",
                &[("to", &e.to), ("reason", &e.reason)],
            ),
            How::Auto if e.reason == "most_urgent_waiting" => tr.tf(
                "event.assigned_most_urgent",
                &[
                    ("to", &e.to),
                    ("load", &opt(&e.load)),
                    ("capacity", &opt(&e.capacity)),
                ],
            ),
            How::Auto => tr.tf(
                "event.assigned_least_loaded",
                &[
                    ("to", &e.to),
                    ("eligible", &opt(&e.eligible)),
                    ("load", &opt(&e.load)),
                    ("capacity", &opt(&e.capacity)),
                ],
            ),
        },
        CaseEvent::Waiting(w) => waiting(tr, w),
        CaseEvent::Returned(e) => tr.tf(
            "event.returned",
            &[
                ("from", &e.from),
                (
                    "reason",
                    tr.t(&format!("return_reason.{}", e.reason.as_str())),
                ),
            ],
        ),
        CaseEvent::Released(e) => {
            tr.tf("event.released", &[("from", &e.from), ("reason", &e.note)])
        }
        CaseEvent::WaitingTooLong(e) => tr.tf(
            "event.waiting_too_long",
            &[("minutes", &e.minutes.to_string())],
        ),
        CaseEvent::Started(_) => tr.t("event.started").to_string(),
        CaseEvent::VerificationSent(e) => tr.tf(
            "mail.event.verification_sent",
            &[("to", &e.to), ("template", &e.template)],
        ),
        CaseEvent::VerificationAnswered(e) => {
            let text = match e.answer {
                ev::Answer::Deny => tr.t("mail.event.answered_deny"),
                ev::Answer::Confirm => tr.t("mail.event.answered_confirm"),
            };
            match &e.message {
                Some(m) => tr.tf(
                    "mail.event.answered_message",
                    &[("answer", text), ("message", m)],
                ),
                None => text.to_string(),
            }
        }
        CaseEvent::SurveySent(e) => tr.tf("mail.event.survey_sent", &[("to", &e.to)]),
        CaseEvent::SurveyAnswered(e) => tr.tf(
            "mail.event.survey_answered",
            &[("score", &e.score.to_string())],
        ),
        CaseEvent::CallLogged(e) => {
            let text = tr.tf(
                "event.call_logged",
                &[
                    ("direction", &direction_label(tr, &e.direction)),
                    ("outcome", &outcome_label(tr, &e.outcome)),
                    ("number", &e.number),
                ],
            );
            match e.warning.as_deref() {
                Some("warn_aml") => format!("{text} ({})", tr.t("calls.warned_aml")),
                Some("warn_do_not_contact") => {
                    format!("{text} ({})", tr.t("calls.warned_do_not_contact"))
                }
                _ => text,
            }
        }
        CaseEvent::CallbackDue(e) => tr.tf(
            "event.callback_due",
            &[("number", &e.number), ("case", &e.case_ref)],
        ),
        CaseEvent::PiiRevealed(e) => tr.tf(
            "event.pii_revealed",
            &[("field", &field_label(tr, &e.field)), ("reason", &e.reason)],
        ),
        CaseEvent::QaReviewed(e) => qa_review(tr, e),
        CaseEvent::CampaignOpened(e) => {
            let counts = [
                ("customers", e.customers.to_string()),
                ("children", e.children.to_string()),
            ];
            match (&e.rule, &e.kind, &e.masked) {
                (Some(rule), Some(kind), Some(masked)) => tr.tf(
                    "event.campaign_detected",
                    &[
                        ("rule", rule.as_str()),
                        ("identifier", &format!("{} {masked}", id_kind(tr, kind))),
                        ("customers", &counts[0].1),
                        ("children", &counts[1].1),
                    ],
                ),
                _ => tr.tf(
                    "event.campaign_made",
                    &[
                        ("children", &counts[1].1),
                        ("reason", e.reason.as_deref().unwrap_or_default()),
                    ],
                ),
            }
        }
        CaseEvent::CampaignJoined(e) => tr.tf(
            match e.how {
                ev::JoinHow::Detected => "event.campaign_joined_detected",
                ev::JoinHow::Supervisor => "event.campaign_joined_supervisor",
                ev::JoinHow::Merged => "event.campaign_joined_merged",
            },
            &[
                ("campaign", e.campaign.as_str()),
                ("reason", e.reason.as_deref().unwrap_or_default()),
            ],
        ),
        CaseEvent::CampaignGrew(e) => tr.tf(
            "event.campaign_grew",
            &[
                ("count", &e.cases.len().to_string()),
                ("cases", &e.cases.join(", ")),
            ],
        ),
        CaseEvent::Snoozed(e) => tr.tf(
            "event.snoozed",
            &[
                ("rule", e.rule.as_str()),
                ("days", &e.days.to_string()),
                ("reason", e.reason.as_str()),
            ],
        ),
        CaseEvent::SnoozeEnded(e) => tr.tf(
            match e.how {
                ev::SnoozeEnd::Ended => "event.snooze_ended",
                ev::SnoozeEnd::Expired => "event.snooze_expired",
            },
            &[("rule", e.rule.as_str())],
        ),
        CaseEvent::AmlReportDue(e) => tr.tf(
            "event.aml_report_due",
            &[
                ("due", &e.due.format("%Y-%m-%d %H:%M UTC").to_string()),
                ("days", &e.days.to_string()),
                ("calendar", e.calendar.as_str()),
            ],
        ),
        CaseEvent::AmlReportWarning(e) => tr.tf(
            "event.aml_report_warning",
            &[("due", &e.due.format("%Y-%m-%d %H:%M UTC").to_string())],
        ),
        CaseEvent::AmlReportBreached(e) => tr.tf(
            "event.aml_report_breached",
            &[("due", &e.due.format("%Y-%m-%d %H:%M UTC").to_string())],
        ),
        CaseEvent::EmergencyDeclared(e) => tr.tf(
            "event.emergency_declared",
            &[("why", &emergency_reason(tr, e.cause.as_str(), &e.reason))],
        ),
        CaseEvent::Paged(e) => {
            let to = e.to.join(", ");
            match (&e.handed_by, &e.rota, e.unanswered_minutes) {
                (Some(by), _, _) => tr.tf("event.paged_handed", &[("by", by), ("to", &to)]),
                (None, Some(rota), None) => {
                    tr.tf("event.paged_rota", &[("to", &to), ("rota", rota)])
                }
                (None, Some(rota), Some(m)) => tr.tf(
                    "event.paged_rota_unanswered",
                    &[("to", &to), ("rota", rota), ("minutes", &m.to_string())],
                ),
                (None, None, None) => tr.tf("event.paged_supervisors", &[("to", &to)]),
                (None, None, Some(m)) => tr.tf(
                    "event.paged_supervisors_unanswered",
                    &[("to", &to), ("minutes", &m.to_string())],
                ),
            }
        }
        CaseEvent::EmergencyAcknowledged(e) => tr.tf(
            "event.emergency_acknowledged",
            &[("by", &e.by), ("minutes", &e.minutes.to_string())],
        ),
        CaseEvent::EmergencyEnded(e) => match e.how {
            crate::domain::emergency::Ending::Resolved => {
                tr.t("event.emergency_resolved").to_string()
            }
            crate::domain::emergency::Ending::StoodDown => tr.tf(
                "event.emergency_stood_down",
                &[("reason", e.reason.as_deref().unwrap_or_default())],
            ),
        },
        CaseEvent::AmlReportFiled(e) => tr.tf(
            if e.late {
                "event.aml_report_filed_late"
            } else {
                "event.aml_report_filed"
            },
            &[("reference", e.reference.as_str())],
        ),
        CaseEvent::SnoozeOverridden(e) => tr
            .t(if e.why == "critical" {
                "event.snooze_overridden_critical"
            } else {
                "event.snooze_overridden_amount"
            })
            .to_string(),
        CaseEvent::MessageSent(e) => {
            let key = match (e.channel, e.template.is_some()) {
                (Channel::Email, false) => "conversations.event.sent_email",
                (Channel::Email, true) => "conversations.event.sent_email_template",
                (Channel::Portal, false) => "conversations.event.sent_portal",
                (Channel::Portal, true) => "conversations.event.sent_portal_template",
            };
            tr.tf(
                key,
                &[
                    ("to", e.to.as_str()),
                    ("template", e.template.as_deref().unwrap_or_default()),
                    ("body", e.body.as_str()),
                ],
            )
        }
        CaseEvent::MessageReceived(e) => {
            let key = match e.channel {
                Channel::Email => "conversations.event.received_email",
                Channel::Portal => "conversations.event.received_portal",
            };
            let mut text = tr.tf(
                key,
                &[
                    ("from", e.from.as_deref().unwrap_or_default()),
                    ("body", e.body.as_str()),
                ],
            );
            if !e.attachments.is_empty() {
                text.push(' ');
                text.push_str(&tr.tf(
                    "conversations.event.attachments",
                    &[
                        ("count", &e.attachments.len().to_string()),
                        ("names", &e.attachments.join(", ")),
                    ],
                ));
            }
            if !e.refused.is_empty() {
                text.push(' ');
                text.push_str(&tr.tf(
                    "conversations.event.refused_files",
                    &[("files", &e.refused.join("; "))],
                ));
            }
            if let Some(by) = &e.attached_by {
                text.push(' ');
                text.push_str(&tr.tf("conversations.event.attached_by", &[("by", by)]));
            }
            text
        }
    }
}

/// An identifier kind in the reader's words.
pub fn id_kind(tr: &Tr, kind: &str) -> String {
    match kind {
        "device_id" => tr.t("casepage.kind_device_id").to_string(),
        "ip" => tr.t("casepage.kind_ip").to_string(),
        "phone" => tr.t("casepage.kind_phone").to_string(),
        other => other.to_string(),
    }
}

/// Describes a stored event; a row that no longer reads (it should not happen) is
/// shown by its kind rather than hiding the rest of the timeline.
pub fn describe_stored(tr: &Tr, kind: &str, data: &str) -> String {
    match CaseEvent::from_parts(kind, data) {
        Ok(e) => describe(tr, &e),
        Err(e) => {
            tracing::warn!(error = %e, "timeline event not readable");
            kind.to_string()
        }
    }
}

/// Describes a notification about a case: the approvals' own kinds, or the case
/// event it tells of.
pub fn describe_notice(tr: &Tr, kind: &str, data: &Value) -> String {
    let s = |k: &str| data.get(k).and_then(Value::as_str).unwrap_or_default();
    match kind {
        "approval.requested" => tr.tf("event.approval_requested", &[("case", s("case_ref"))]),
        "approval.approved" => tr.tf("event.approval_approved", &[("case", s("case_ref"))]),
        "approval.rejected" => tr.tf(
            "event.approval_rejected",
            &[("case", s("case_ref")), ("note", s("note"))],
        ),
        crate::domain::notifications::PAGED => {
            let why = emergency_reason(tr, s("cause"), s("reason"));
            let text = if why.is_empty() {
                tr.tf("notifications.paged", &[("case", s("case_ref"))])
            } else {
                tr.tf(
                    "notifications.paged_reason",
                    &[("case", s("case_ref")), ("reason", &why)],
                )
            };
            match s("link") {
                "" => text,
                link => tr.tf("emergency.notice_link", &[("text", &text), ("link", link)]),
            }
        }
        _ => describe_stored(tr, kind, &data.to_string()),
    }
}

/// Describes a supervisor's group notification: `count` cases of `kind` in
/// `queue` since `since` (already in the reader's time).
pub fn describe_group(tr: &Tr, kind: &str, count: i32, queue: &str, since: &str) -> String {
    let key = match kind {
        "sla.warning" => "notifications.group.sla_warning",
        "sla.breached" => "notifications.group.sla_breached",
        "assignment.waiting_too_long" => "notifications.group.assignment_waiting_too_long",
        "aml_report.warning" => "notifications.group.aml_report_warning",
        "aml_report.breached" => "notifications.group.aml_report_breached",
        _ => "notifications.group.other",
    };
    tr.tf(
        key,
        &[
            ("queue", queue),
            ("since", since),
            ("count", &count.to_string()),
        ],
    )
}

/// A notification kind's name, as the profile's choices list it.
pub fn notice_kind(tr: &Tr, kind: &str) -> String {
    match kind {
        "sla.warning" => tr.t("notifications.kind.sla_warning"),
        "sla.breached" => tr.t("notifications.kind.sla_breached"),
        "assignment.waiting_too_long" => tr.t("notifications.kind.assignment_waiting_too_long"),
        "call.callback_due" => tr.t("notifications.kind.call_callback_due"),
        "verification.answered" => tr.t("notifications.kind.verification_answered"),
        "message.received" => tr.t("notifications.kind.message_received"),
        "approval.requested" => tr.t("notifications.kind.approval_requested"),
        "approval.approved" => tr.t("notifications.kind.approval_approved"),
        "approval.rejected" => tr.t("notifications.kind.approval_rejected"),
        "aml_report.warning" => tr.t("notifications.kind.aml_report_warning"),
        "aml_report.breached" => tr.t("notifications.kind.aml_report_breached"),
        other => other,
    }
    .to_string()
}

/// Why an emergency was declared, in the reader's language: the person's reason, or
/// what made the desk declare it.
pub fn emergency_reason(tr: &Tr, cause: &str, reason: &str) -> String {
    match cause {
        "breach" => tr.t("emergency.cause.breach").to_string(),
        "amount" => tr.tf("emergency.cause.amount", &[("amount", reason)]),
        _ => reason.to_string(),
    }
}
