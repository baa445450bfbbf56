// The facts the reports need about one case, computed from the case row and its
// timeline with the queue's SLA calendar: pure, no I/O (the job in `store` feeds it).

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::db::schema::case_facts;
use crate::domain::calendar::Calendar;
use crate::domain::resolution::{Disposition, Label};
use crate::store::cases::Case;
use crate::store::{from_db, to_db};

/// One row of `case_facts`.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = case_facts)]
#[diesel(treat_none_as_null = true)]
pub struct FactRow {
    pub case_id: i64,
    pub queue_id: i64,
    pub rule_code: String,
    pub agent_id: Option<i64>,
    pub priority: String,
    pub opened_at: NaiveDateTime,
    pub resolved_at: Option<NaiveDateTime>,
    pub first_response_secs: Option<i64>,
    pub resolution_secs: Option<i64>,
    pub first_response_met: Option<bool>,
    pub resolution_met: Option<bool>,
    pub unassigned_secs: i64,
    pub agent_secs: i64,
    pub customer_secs: i64,
    pub breach_unassigned_secs: i64,
    pub breach_agent_secs: i64,
    pub breach_customer_secs: i64,
    pub disposition: Option<String>,
    pub customer_confirmed: bool,
    pub amount_protected: Option<String>,
    pub currency: Option<String>,
    pub reopen_count: i32,
    pub alert_count: i32,
    pub calls: i32,
    pub calls_reached: i32,
    pub emails: i32,
    pub emails_answered: i32,
    pub survey_sent: bool,
    pub survey_score: Option<i32>,
    pub case_updated_at: NaiveDateTime,
    pub computed_at: NaiveDateTime,
}

/// A timeline event as the facts need it.
#[derive(Debug, Clone)]
pub struct Event {
    pub at: DateTime<Utc>,
    pub kind: String,
    pub data: serde_json::Value,
}

/// The closing that stands (the latest final or approved one).
#[derive(Debug, Clone, Default)]
pub struct Closing {
    pub customer_confirmed: bool,
    pub amount_protected: Option<String>,
    pub currency: Option<String>,
}

/// Everything read about one case.
pub struct Input<'a> {
    pub case: &'a Case,
    /// Oldest first.
    pub events: &'a [Event],
    pub closing: Option<Closing>,
    /// Outcomes of the logged calls.
    pub call_outcomes: &'a [String],
    /// Verification links sent, and how many the customer answered.
    pub emails: (i32, i32),
    pub survey_sent: bool,
    pub survey_score: Option<i32>,
    /// The calendar of the case's queue's SLA policy, and its pause allowance.
    pub calendar: &'a Calendar,
    pub max_pause_minutes: i64,
    /// When the facts are computed (kept with them; the figures do not depend on it).
    pub now: DateTime<Utc>,
}

/// Call outcomes that mean the customer was reached and answered the question.
pub const REACHED_CALL_OUTCOMES: [&str; 2] = ["verified", "denied"];

/// Who held the case during a stretch of its SLA round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Holder {
    Unassigned,
    Agent,
    Customer,
}

/// A stretch of the round, `[from, to)`.
struct Stretch {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    holder: Holder,
}

/// The events of the case's current SLA round: a reopening or a hand-off starts the
/// clock anew, so only what follows the last of them counts.
fn current_round(events: &[Event]) -> &[Event] {
    let start = events
        .iter()
        .rposition(|e| e.kind == "case.reopened" || e.kind == "case.handed_off")
        .map_or(0, |i| i + 1);
    &events[start..]
}

/// The round cut into stretches by holder: paused (waiting on the customer) wins over
/// assigned, assigned over unassigned. A round starts unassigned and running.
fn stretches(round: &[Event], start: DateTime<Utc>, end: DateTime<Utc>) -> Vec<Stretch> {
    let mut out = Vec::new();
    let (mut assigned, mut paused) = (false, false);
    let mut cursor = start;
    let holder = |assigned: bool, paused: bool| {
        if paused {
            Holder::Customer
        } else if assigned {
            Holder::Agent
        } else {
            Holder::Unassigned
        }
    };
    for e in round {
        let at = e.at.clamp(start, end);
        if at > cursor {
            out.push(Stretch {
                from: cursor,
                to: at,
                holder: holder(assigned, paused),
            });
            cursor = at;
        }
        match e.kind.as_str() {
            "assignment.assigned" => assigned = true,
            "assignment.returned" | "assignment.released" => assigned = false,
            "sla.paused" => paused = true,
            "sla.resumed" => paused = false,
            _ => {}
        }
    }
    if end > cursor {
        out.push(Stretch {
            from: cursor,
            to: end,
            holder: holder(assigned, paused),
        });
    }
    out
}

/// Business seconds of the pauses before `until` that the clock stood for: each pause
/// counts up to what is left of the policy's allowance, as the SLA clock counts.
fn counted_pause_secs(
    stretches: &[Stretch],
    calendar: &Calendar,
    allowance_secs: i64,
    until: DateTime<Utc>,
) -> i64 {
    let mut used = 0;
    for s in stretches.iter().filter(|s| s.holder == Holder::Customer) {
        if s.from >= until {
            break;
        }
        let elapsed = calendar.business_seconds_between(s.from, s.to.min(until));
        used += elapsed.min((allowance_secs - used).max(0));
    }
    used
}

/// Whether a clock's breach was marked in the round.
fn breached(round: &[Event], clock: &str) -> bool {
    round
        .iter()
        .any(|e| e.kind == "sla.breached" && e.data["clock"] == clock)
}

/// Computes one case's facts.
pub fn compute(input: &Input<'_>) -> FactRow {
    let case = input.case;
    let cal = input.calendar;
    let start = case.sla_start();
    let resolved = case.resolved_at.map(from_db);
    // An open case's time is counted up to its last change, so the facts depend on
    // what the database holds only, not on when they were computed.
    let end = resolved.unwrap_or(from_db(case.updated_at)).max(start);
    let round = current_round(input.events);
    let parts = stretches(round, start, end);
    let allowance = input.max_pause_minutes.max(0) * 60;
    let net = |until: DateTime<Utc>| {
        cal.business_seconds_between(start, until)
            - counted_pause_secs(&parts, cal, allowance, until)
    };

    // First response: a recorded one, else the resolution itself (a case closed
    // without a recorded contact answered the customer by closing).
    let fr_due = from_db(case.first_response_due);
    let responded = case.first_responded_at.map(from_db).or(resolved);
    let (first_response_secs, first_response_met) = match responded {
        Some(at) if at <= start => (Some(0), Some(true)),
        Some(at) => {
            let late = round
                .iter()
                .find(|e| e.kind == "sla.first_response")
                .and_then(|e| e.data["late"].as_bool())
                .unwrap_or(at > fr_due);
            (Some(net(at).max(0)), Some(!late))
        }
        None if breached(round, "first_response") => (None, Some(false)),
        None => (None, None),
    };
    let res_due = from_db(case.resolution_due);
    let (resolution_secs, resolution_met) = match resolved {
        Some(at) => (Some(net(at).max(0)), Some(at <= res_due)),
        None if breached(round, "resolution") => (None, Some(false)),
        None => (None, None),
    };

    // Where the time went, over the whole round and after the first missed deadline.
    // A late first response missed the deadline in force when it was made: pauses
    // resumed after it moved the stored deadline on, so they are taken off again.
    let fr_missed_at = match (first_response_met, case.first_responded_at) {
        (Some(false), Some(at)) => {
            let later: i64 = round
                .iter()
                .filter(|e| e.kind == "sla.resumed" && e.at > from_db(at))
                .filter_map(|e| e.data["counted_minutes"].as_i64())
                .sum();
            let minutes = cal.business_minutes_between(start, fr_due) - later;
            cal.add_business_minutes(start, minutes.max(0))
        }
        _ => fr_due,
    };
    let breach_from = [
        (first_response_met == Some(false)).then_some(fr_missed_at),
        (resolution_met == Some(false)).then_some(res_due),
    ]
    .into_iter()
    .flatten()
    .min();
    let mut split = [0i64; 3];
    let mut after = [0i64; 3];
    for s in &parts {
        let i = s.holder as usize;
        split[i] += cal.business_seconds_between(s.from, s.to);
        if let Some(b) = breach_from
            && s.to > b
        {
            after[i] += cal.business_seconds_between(s.from.max(b), s.to);
        }
    }

    let closing = input.closing.clone().unwrap_or_default();
    let closed = case.resolved_at.is_some();
    let calls_reached = input
        .call_outcomes
        .iter()
        .filter(|o| REACHED_CALL_OUTCOMES.contains(&o.as_str()))
        .count();
    FactRow {
        case_id: case.id,
        queue_id: case.queue_id,
        rule_code: case.rule_code.clone(),
        agent_id: case.resolved_by.or(case.assignee_id),
        priority: case.priority.to_string(),
        opened_at: case.opened_at,
        resolved_at: case.resolved_at,
        first_response_secs,
        resolution_secs,
        first_response_met,
        resolution_met,
        unassigned_secs: split[Holder::Unassigned as usize],
        agent_secs: split[Holder::Agent as usize],
        customer_secs: split[Holder::Customer as usize],
        breach_unassigned_secs: after[Holder::Unassigned as usize],
        breach_agent_secs: after[Holder::Agent as usize],
        breach_customer_secs: after[Holder::Customer as usize],
        disposition: case.disposition.clone(),
        // Confirmed by the customer: only a false positive can be.
        customer_confirmed: closed
            && case
                .disposition
                .as_deref()
                .and_then(|d| d.parse().ok())
                .map(Disposition::label)
                == Some(Label::FalsePositive)
            && closing.customer_confirmed,
        // Kept as an exact decimal writes itself (`1200.00`), or not at all: the
        // reports sum the facts' amounts in SQL as they are.
        amount_protected: closing
            .amount_protected
            .filter(|_| closed)
            .and_then(|a| a.parse::<crate::domain::money::Decimal>().ok())
            .map(|d| d.to_string()),
        currency: closing.currency.filter(|_| closed),
        reopen_count: case.reopen_count,
        alert_count: case.alert_count,
        calls: input.call_outcomes.len() as i32,
        calls_reached: calls_reached as i32,
        emails: input.emails.0,
        emails_answered: input.emails.1,
        survey_sent: input.survey_sent,
        survey_score: input.survey_score,
        case_updated_at: case.updated_at,
        computed_at: to_db(input.now),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::calendar::{BusinessCalendar, CalendarInput};
    use chrono::Duration;
    use serde_json::json;
    use std::collections::BTreeMap;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn case(opened: DateTime<Utc>, fr_due: DateTime<Utc>, res_due: DateTime<Utc>) -> Case {
        Case {
            id: 7,
            customer_id: 3,
            queue_id: 1,
            priority: crate::domain::Priority::High,
            status: crate::domain::CaseStatus::Resolved,
            rule_code: "LARGE_TRANSFER".into(),
            open_key: None,
            opened_at: to_db(opened),
            updated_at: to_db(opened),
            first_response_due: to_db(fr_due),
            resolution_due: to_db(res_due),
            first_responded_at: None,
            resolved_at: None,
            paused_since: None,
            pause_reason: None,
            paused_minutes: 0,
            breached: false,
            assignee_id: Some(11),
            disposition: None,
            alert_count: 2,
            weight: 1,
            assigned_at: None,
            started_at: None,
            next_due: None,
            next_alarm_at: None,
            sla_started_at: None,
            resolved_by: None,
            reopen_count: 0,
            waiting_since: None,
            campaign_id: None,
        }
    }

    fn ev(at: DateTime<Utc>, kind: &str, data: serde_json::Value) -> Event {
        Event {
            at,
            kind: kind.into(),
            data,
        }
    }

    fn office() -> Calendar {
        let mut hours = BTreeMap::new();
        for d in ["mon", "tue", "wed", "thu", "fri"] {
            hours.insert(
                d.to_string(),
                vec![
                    ["09:00".to_string(), "12:00".to_string()],
                    ["13:00".to_string(), "21:00".to_string()],
                ],
            );
        }
        Calendar::Business(
            BusinessCalendar::parse(&CalendarInput {
                timezone: "Asia/Shanghai",
                hours: &hours,
                holidays: &[],
            })
            .unwrap(),
        )
    }

    fn input<'a>(
        c: &'a Case,
        events: &'a [Event],
        cal: &'a Calendar,
        now: DateTime<Utc>,
    ) -> Input<'a> {
        Input {
            case: c,
            events,
            closing: None,
            call_outcomes: &[],
            emails: (0, 0),
            survey_sent: false,
            survey_score: None,
            calendar: cal,
            max_pause_minutes: 60,
            now,
        }
    }

    #[test]
    fn business_time_net_of_pauses_and_who_held_it() {
        // Opened Tuesday 11:00 Shanghai (03:00Z) on the office calendar; assigned at
        // 11:30, responded 11:40, paused 11:45 to 13:30 (lunch does not count: 15 + 30
        // business minutes), resolved 14:00.
        let cal = office();
        let opened = t("2026-11-24T03:00:00Z");
        let mut c = case(opened, t("2026-11-24T04:00:00Z"), t("2026-11-24T09:00:00Z"));
        c.first_responded_at = Some(to_db(t("2026-11-24T03:40:00Z")));
        c.resolved_at = Some(to_db(t("2026-11-24T06:00:00Z")));
        c.resolved_by = Some(11);
        c.disposition = Some("false_positive".into());
        let events = vec![
            ev(opened, "case.opened", json!({})),
            ev(t("2026-11-24T03:30:00Z"), "assignment.assigned", json!({})),
            ev(
                t("2026-11-24T03:40:00Z"),
                "sla.first_response",
                json!({"late": false}),
            ),
            ev(t("2026-11-24T03:45:00Z"), "sla.paused", json!({})),
            ev(t("2026-11-24T05:30:00Z"), "sla.resumed", json!({})),
            ev(t("2026-11-24T06:00:00Z"), "case.resolved", json!({})),
        ];
        let f = compute(&input(&c, &events, &cal, t("2026-11-24T07:00:00Z")));
        assert_eq!(f.first_response_secs, Some(40 * 60));
        assert_eq!(f.first_response_met, Some(true));
        // 11:00-14:00 is 120 business minutes; the pause stood for 45 of them.
        assert_eq!(f.resolution_secs, Some(75 * 60));
        assert_eq!(f.resolution_met, Some(true));
        assert_eq!(f.unassigned_secs, 30 * 60);
        assert_eq!(f.agent_secs, (15 + 30) * 60);
        assert_eq!(f.customer_secs, 45 * 60);
        assert_eq!(
            (
                f.breach_unassigned_secs,
                f.breach_agent_secs,
                f.breach_customer_secs
            ),
            (0, 0, 0)
        );
        assert_eq!(f.agent_id, Some(11));
    }

    #[test]
    fn the_pause_allowance_bounds_what_stands_still() {
        // 24/7, allowance 60 minutes; a 90-minute pause stands the clock for 60.
        let cal = Calendar::AlwaysOpen;
        let opened = t("2026-11-24T01:00:00Z");
        let mut c = case(
            opened,
            opened + Duration::minutes(30),
            opened + Duration::minutes(240),
        );
        c.first_responded_at = Some(to_db(opened + Duration::minutes(10)));
        c.resolved_at = Some(to_db(opened + Duration::minutes(300)));
        let events = vec![
            ev(opened, "assignment.assigned", json!({})),
            ev(opened + Duration::minutes(20), "sla.paused", json!({})),
            ev(opened + Duration::minutes(110), "sla.resumed", json!({})),
        ];
        let f = compute(&input(&c, &events, &cal, opened + Duration::days(1)));
        assert_eq!(f.resolution_secs, Some(240 * 60));
        // Resolved after the stored deadline: missed, and the hour past it was the
        // agent's.
        assert_eq!(f.resolution_met, Some(false));
        assert_eq!(f.breach_agent_secs, 60 * 60);
        assert_eq!(f.customer_secs, 90 * 60);
    }

    #[test]
    fn a_reopened_case_counts_its_new_round_only() {
        let cal = Calendar::AlwaysOpen;
        let opened = t("2026-11-24T01:00:00Z");
        let again = opened + Duration::hours(5);
        let mut c = case(
            opened,
            again + Duration::minutes(30),
            again + Duration::minutes(240),
        );
        c.sla_started_at = Some(to_db(again));
        c.updated_at = to_db(again + Duration::minutes(40));
        c.reopen_count = 1;
        c.resolved_at = None;
        c.resolved_by = None;
        c.assignee_id = None;
        c.status = crate::domain::CaseStatus::New;
        let events = vec![
            ev(opened, "assignment.assigned", json!({})),
            ev(opened + Duration::hours(1), "case.resolved", json!({})),
            ev(again, "case.reopened", json!({})),
            ev(
                again + Duration::minutes(31),
                "sla.breached",
                json!({"clock": "first_response"}),
            ),
        ];
        let f = compute(&input(&c, &events, &cal, again + Duration::minutes(40)));
        assert_eq!(f.first_response_met, Some(false));
        assert_eq!(f.resolution_met, None);
        assert_eq!(f.unassigned_secs, 40 * 60);
        assert_eq!(f.breach_unassigned_secs, 10 * 60);
        assert_eq!(f.reopen_count, 1);
    }

    #[test]
    fn verification_and_closing() {
        let cal = Calendar::AlwaysOpen;
        let opened = t("2026-11-24T01:00:00Z");
        let mut c = case(
            opened,
            opened + Duration::minutes(30),
            opened + Duration::minutes(240),
        );
        c.resolved_at = Some(to_db(opened + Duration::minutes(20)));
        c.disposition = Some("false_positive".into());
        let outcomes = vec![
            "no_answer".to_string(),
            "verified".to_string(),
            "voicemail".to_string(),
        ];
        let mut i = input(&c, &[], &cal, opened + Duration::hours(1));
        i.call_outcomes = &outcomes;
        i.emails = (2, 1);
        i.survey_sent = true;
        i.survey_score = Some(4);
        i.closing = Some(Closing {
            customer_confirmed: true,
            amount_protected: Some("10.00".into()),
            currency: Some("CNY".into()),
        });
        let f = compute(&i);
        // Closed without a recorded contact: the closing answered the customer.
        assert_eq!(f.first_response_secs, Some(20 * 60));
        assert_eq!(f.first_response_met, Some(true));
        assert_eq!((f.calls, f.calls_reached), (3, 1));
        assert_eq!((f.emails, f.emails_answered), (2, 1));
        assert!(f.customer_confirmed && f.survey_sent);
        assert_eq!(f.survey_score, Some(4));
        assert_eq!(f.amount_protected.as_deref(), Some("10.00"));
    }
}
