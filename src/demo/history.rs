// The demo desk's past and present: days of a desk's life played through the real
// commands on a clock set back (alerts, agents, customers, supervisors), then the same
// simulated people working the live cases so that the board moves.

use std::collections::HashMap;
use std::io::{Read, Write};

use chrono::{DateTime, Datelike, Duration, TimeZone, Timelike, Utc, Weekday};
use chrono_tz::Asia::Shanghai;
use diesel::prelude::*;

use super::SampleAlerts;
use crate::cases::CaseError;
use crate::cases::closing::{self, Closed, Closer, Decision};
use crate::clock::Clock;
use crate::db::DbConn;
use crate::db::schema::{cases as cases_t, outbox, users};
use crate::domain::CaseStatus;
use crate::domain::calls::CallInput;
use crate::domain::events::Answer;
use crate::domain::resolution::{Action, Closing, Disposition};
use crate::state::AppState;
use crate::store::cases::Case;
use crate::store::{self, deskconfig::Snapshot};

/// A simulated agent's working hours, in the desk's time zone (Asia/Shanghai): from
/// `start` to `end` o'clock (through midnight when `end` is earlier), every day but
/// `off`.
#[derive(Debug, Clone, Copy)]
pub struct Shift {
    pub start: u32,
    pub end: u32,
    pub off: Weekday,
}

impl Shift {
    /// Whether the shift covers `at`.
    pub fn covers(&self, at: DateTime<Utc>) -> bool {
        let local = at.with_timezone(&Shanghai);
        let h = local.hour();
        let (inside, day) = if self.start < self.end {
            (h >= self.start && h < self.end, local.weekday())
        } else if h >= self.start {
            (true, local.weekday())
        } else {
            // The small hours belong to the shift that began the evening before.
            (h < self.end, local.weekday().pred())
        };
        inside && day != self.off
    }
}

/// How fast the simulated people work: 1 in the history (minutes are minutes), more
/// in the live desk so that a newcomer sees cases move within minutes.
#[derive(Debug, Clone, Copy)]
pub struct Pace(pub i64);

impl Pace {
    fn minutes(self, m: i64) -> Duration {
        Duration::seconds(m * 60 / self.0.max(1))
    }
}

/// A small deterministic generator (xorshift), so a case's plan is the same whenever
/// it is worked out.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        let mut r = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        r.next();
        r
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// A number in `lo..=hi`.
    pub fn between(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    /// A uniform fraction in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A Poisson-distributed count with mean `mean` (Knuth's method; small means).
    fn poisson(&mut self, mean: f64) -> u32 {
        let limit = (-mean).exp();
        let (mut k, mut p) = (0, 1.0);
        loop {
            p *= self.unit();
            if p <= limit {
                return k;
            }
            k += 1;
        }
    }
}

/// How the customer is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Channel {
    Call(&'static str),
    /// A verification e-mail; the customer answers (confirm or deny) or not at all.
    Email(Option<Answer>),
    /// Nobody to contact (a duplicate, a ring's own case).
    None,
}

/// What the agent of a case will do with it, worked out from the case alone.
#[derive(Debug, Clone)]
struct Plan {
    pickup: i64,
    contact: i64,
    channel: Channel,
    disposition: Disposition,
    action: Action,
    close: i64,
    snooze: bool,
}

/// The plan of a case: mostly false positives, some confirmed fraud, AML
/// escalations, duplicates and customers who cannot be reached.
fn plan_for(case: &Case, customer: &str, has_email: bool) -> Plan {
    let mut r = Rng::new(case.id as u64 * 7919 + case.reopen_count as u64 * 104_729 + 3);
    let roll = r.below(100);
    let rule = case.rule_code.as_str();
    let ring = customer.starts_with("R-");
    let campaign = customer.starts_with("ring:");
    use Action::*;
    use Disposition::*;
    let (disposition, action) = if ring || campaign {
        (ConfirmedFraud, Blocked)
    } else if case.reopen_count > 0 {
        (FalsePositive, Refunded)
    } else {
        match rule {
            "AML_WATCHLIST" if roll < 70 => (EscalatedAml, Frozen),
            "AML_WATCHLIST" => (FalsePositive, Released),
            "FROZEN_FUNDS_COMPLAINT" if roll < 60 => (FalsePositive, Released),
            "FROZEN_FUNDS_COMPLAINT" if roll < 85 => (FalsePositive, Refunded),
            "FROZEN_FUNDS_COMPLAINT" => (Duplicate, NoAction),
            _ => match roll {
                0..=63 => (FalsePositive, Released),
                64..=77 if rule == "ACCOUNT_TAKEOVER" => (ConfirmedFraud, Frozen),
                64..=77 => (ConfirmedFraud, Blocked),
                78..=85 => (Unreachable, Frozen),
                86..=93 => (Duplicate, NoAction),
                _ if rule == "LARGE_TRANSFER" => (EscalatedAml, Frozen),
                _ => (FalsePositive, Released),
            },
        }
    };
    let by_mail = has_email && rule != "AML_WATCHLIST" && r.below(100) < 40;
    let channel = match disposition {
        _ if campaign => Channel::None,
        _ if ring => Channel::Call("wrong_number"),
        Duplicate => Channel::None,
        FalsePositive if by_mail => Channel::Email(Some(Answer::Confirm)),
        ConfirmedFraud if by_mail => Channel::Email(Some(Answer::Deny)),
        Unreachable if by_mail => Channel::Email(None),
        ConfirmedFraud => Channel::Call("denied"),
        Unreachable => Channel::Call("no_answer"),
        FalsePositive | EscalatedAml => Channel::Call("verified"),
    };
    // Critical cases are taken and called at once; the rest as the queue allows.
    let urgent = case.priority == crate::domain::Priority::Critical;
    Plan {
        pickup: if urgent {
            r.between(1, 3)
        } else {
            r.between(1, 12)
        },
        contact: if urgent {
            r.between(1, 4)
        } else {
            r.between(2, 10)
        },
        channel,
        disposition,
        action,
        close: r.between(4, 22),
        snooze: disposition == FalsePositive && case.reopen_count == 0 && r.below(100) < 15,
    }
}

fn note_for(d: Disposition, a: Action) -> &'static str {
    match (d, a) {
        (Disposition::FalsePositive, Action::Refunded) => {
            "Customer's complaint upheld after review with operations; fee refunded."
        }
        (Disposition::FalsePositive, _) => {
            "Customer confirmed the activity was theirs; hold released."
        }
        (Disposition::ConfirmedFraud, _) => {
            "Customer did not make this; account secured and transaction stopped."
        }
        (Disposition::EscalatedAml, _) => {
            "Pattern matches the watch-list profile; funds frozen, escalated to AML."
        }
        (Disposition::Unreachable, _) => {
            "Customer could not be reached after several attempts; funds kept frozen."
        }
        (Disposition::Duplicate, _) => "Same transaction as a case already handled.",
    }
}

/// Something a person does at a set time that no case row tells: customers
/// answering e-mails and surveys, a supervisor reopening a case on a complaint, the
/// on-call person acknowledging a page.
#[derive(Debug, Clone)]
enum Due {
    AnswerVerification(i64, Answer),
    AnswerSurvey(i64, i32),
    Reopen(i64, i32),
}

/// A demo agent: the account and the hours.
#[derive(Debug, Clone)]
pub struct Agent {
    pub id: i64,
    pub shift: Shift,
}

/// What the simulation counted as it went.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    pub alerts: usize,
    pub commands: usize,
    pub refused: usize,
}

/// The simulated desk: its people, what waits to happen, and how fast they work.
pub struct Sim {
    pub agents: Vec<Agent>,
    pub supervisor: i64,
    pace: Pace,
    due: Vec<(DateTime<Utc>, Due)>,
    online: HashMap<i64, bool>,
    template: Option<String>,
    pub tally: Tally,
    /// The history only: supervisors review QA samples and file AML reports.
    back_office: bool,
}

fn db_err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

impl Sim {
    pub fn new(agents: Vec<Agent>, supervisor: i64, pace: Pace, back_office: bool) -> Sim {
        Sim {
            online: agents.iter().map(|a| (a.id, false)).collect(),
            agents,
            supervisor,
            pace,
            due: Vec::new(),
            template: None,
            tally: Tally::default(),
            back_office,
        }
    }

    fn schedule(&mut self, at: DateTime<Utc>, what: Due) {
        self.due.push((at, what));
    }

    /// A refused or lost command is part of a desk's life; a database failure is not.
    fn outcome<T>(&mut self, r: Result<T, CaseError>) -> Result<Option<T>, String> {
        match r {
            Ok(v) => {
                self.tally.commands += 1;
                Ok(Some(v))
            }
            Err(CaseError::Db(e)) => Err(e.to_string()),
            Err(e) => {
                tracing::debug!(error = %e, "demo: a simulated command was refused");
                self.tally.refused += 1;
                Ok(None)
            }
        }
    }

    /// Sets an agent's presence when it is not what `want` says.
    pub fn presence(
        &mut self,
        conn: &mut DbConn,
        snap: &Snapshot,
        agent: i64,
        want: bool,
        now: DateTime<Utc>,
    ) -> Result<(), String> {
        if self.online.get(&agent) == Some(&want) {
            return Ok(());
        }
        let status = if want { "online" } else { "offline" };
        let r = crate::cases::assign::change_presence(conn, snap, agent, status, now);
        self.outcome(r)?;
        self.online.insert(agent, want);
        Ok(())
    }

    /// Who should be online at `now` by the shifts: on shift, or past its end but
    /// still finishing a started case (for an hour at most).
    pub fn shift_presence(
        &mut self,
        conn: &mut DbConn,
        snap: &Snapshot,
        now: DateTime<Utc>,
    ) -> Result<(), String> {
        for a in self.agents.clone() {
            let mut want = a.shift.covers(now);
            if !want
                && self.online.get(&a.id) == Some(&true)
                && a.shift.covers(now - Duration::hours(1))
            {
                let started: i64 = cases_t::table
                    .filter(cases_t::assignee_id.eq(a.id))
                    .filter(cases_t::resolved_at.is_null())
                    .filter(cases_t::started_at.is_not_null())
                    .count()
                    .get_result(conn)
                    .map_err(db_err)?;
                want = started > 0;
            }
            self.presence(conn, snap, a.id, want, now)?;
        }
        Ok(())
    }

    /// Each online agent takes up to `actions` steps on their most urgent cases, each
    /// step at the time it falls due within (`since`, `now`], so that a case can be
    /// taken, called and closed within one pass when its plan says so.
    #[allow(clippy::too_many_arguments)]
    pub fn agents_work(
        &mut self,
        state: &AppState,
        conn: &mut DbConn,
        snap: &Snapshot,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
        actions: usize,
    ) -> Result<(), String> {
        for a in self.agents.clone() {
            if self.online.get(&a.id) != Some(&true) {
                continue;
            }
            let mut mine: Vec<Case> = cases_t::table
                .filter(cases_t::assignee_id.eq(a.id))
                .filter(cases_t::resolved_at.is_null())
                .select(Case::as_select())
                .load(conn)
                .map_err(db_err)?;
            mine.sort_by_key(|c| (c.next_due, c.id));
            let mut done = 0;
            // The agent's own clock: one step after the other.
            let mut floor = since;
            'cases: for case in mine {
                let mut case = case;
                loop {
                    if done >= actions {
                        break 'cases;
                    }
                    let Some(at) = self.work_case(state, conn, snap, &a, &case, floor, now)? else {
                        break;
                    };
                    done += 1;
                    floor = at + Duration::seconds(20);
                    match store::cases::find(conn, case.id).map_err(db_err)? {
                        Some(c) if c.resolved_at.is_none() && c.assignee_id == Some(a.id) => {
                            case = c
                        }
                        _ => break,
                    }
                }
            }
        }
        Ok(())
    }

    /// The agent's next step on `case`, if one falls due by `now`: taken at its time
    /// (not before `floor`), which is returned.
    #[allow(clippy::too_many_arguments)]
    fn work_case(
        &mut self,
        state: &AppState,
        conn: &mut DbConn,
        snap: &Snapshot,
        agent: &Agent,
        case: &Case,
        floor: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, String> {
        let customer = store::cases::customer(conn, case.customer_id).map_err(db_err)?;
        let plan = plan_for(case, &customer.external_id, customer.email.is_some());
        let p = self.pace;
        let db_at = store::from_db;
        let when = |due: DateTime<Utc>| (due <= now).then(|| due.max(floor).min(now));
        match case.status {
            CaseStatus::Assigned => {
                let since = case.assigned_at.map(db_at).unwrap_or(now);
                let Some(at) = when(since + p.minutes(plan.pickup)) else {
                    return Ok(None);
                };
                let r = crate::cases::assign::start(conn, case.id, agent.id, at);
                Ok(self.outcome(r)?.filter(|s| *s).map(|_| at))
            }
            CaseStatus::InProgress => {
                let started = case.started_at.map(db_at).unwrap_or(now);
                if case.first_responded_at.is_none() && plan.channel != Channel::None {
                    let Some(at) = when(started + p.minutes(plan.contact)) else {
                        return Ok(None);
                    };
                    self.contact(state, conn, case, agent, &plan, at)?;
                    return Ok(Some(at));
                }
                // Waiting for the customer's answer: after a working day without one,
                // the agent acts on what they have.
                let due = match case.paused_since.map(db_at) {
                    Some(paused) => paused + p.minutes(8 * 60),
                    None => db_at(case.updated_at).max(started) + p.minutes(plan.close),
                };
                let Some(at) = when(due) else {
                    return Ok(None);
                };
                self.close(state, conn, snap, agent.id, case, &plan, at)?;
                Ok(Some(at))
            }
            _ => Ok(None),
        }
    }

    fn call(
        &mut self,
        conn: &mut DbConn,
        case: &Case,
        agent: i64,
        outcome: &str,
        now: DateTime<Utc>,
    ) -> Result<(), String> {
        let customer = store::cases::customer(conn, case.customer_id).map_err(db_err)?;
        let number = crate::cases::calls::masked_number(&customer, "phone").unwrap_or_default();
        let input = CallInput {
            direction: "outbound".into(),
            outcome: outcome.into(),
            duration_seconds: (outcome != "no_answer").then_some(60 + (case.id % 240) as i32),
            notes: String::new(),
            callback_at: None,
        };
        let r = crate::cases::calls::log_call(conn, case.id, agent, &number, &input, now);
        self.outcome(r)?;
        Ok(())
    }

    fn contact(
        &mut self,
        state: &AppState,
        conn: &mut DbConn,
        case: &Case,
        agent: &Agent,
        plan: &Plan,
        now: DateTime<Utc>,
    ) -> Result<(), String> {
        match plan.channel {
            Channel::Call(outcome) => self.call(conn, case, agent.id, outcome, now),
            Channel::None => Ok(()),
            Channel::Email(answer) => {
                if self.template.is_none() {
                    self.template = crate::mail::templates::names_for(conn, "verification")
                        .map_err(db_err)?
                        .into_iter()
                        .next();
                }
                let Some(template) = self.template.clone() else {
                    return self.call(conn, case, agent.id, "verified", now);
                };
                let sent = crate::db::write_tx(conn, |c| {
                    crate::cases::verify::send_verification(
                        c,
                        &state.settings,
                        now,
                        Some(agent.id),
                        case.id,
                        &template,
                    )
                });
                match sent {
                    Ok(()) => {
                        self.tally.commands += 1;
                        if let Some(answer) = answer {
                            let mut r = Rng::new(case.id as u64 + 77);
                            let after = self.pace.minutes(r.between(8, 300));
                            self.schedule(now + after, Due::AnswerVerification(case.id, answer));
                        }
                        Ok(())
                    }
                    Err(crate::cases::verify::LinkError::Db(e)) => Err(e.to_string()),
                    // Not to be e-mailed after all (the customer is under AML review):
                    // a phone call instead.
                    Err(_) => {
                        let outcome = match answer {
                            Some(Answer::Deny) => "denied",
                            Some(_) => "verified",
                            None => "no_answer",
                        };
                        self.call(conn, case, agent.id, outcome, now)
                    }
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn close(
        &mut self,
        state: &AppState,
        conn: &mut DbConn,
        snap: &Snapshot,
        agent: i64,
        case: &Case,
        plan: &Plan,
        now: DateTime<Utc>,
    ) -> Result<(), String> {
        let held = crate::store::cases::alerts_of(conn, case.id)
            .map_err(db_err)?
            .into_iter()
            .filter_map(|a| a.amount?.parse::<crate::domain::money::Decimal>().ok())
            .max();
        let protected = match plan.disposition {
            Disposition::ConfirmedFraud | Disposition::EscalatedAml | Disposition::Unreachable => {
                held.map(|h| h.to_string()).unwrap_or_default()
            }
            _ => String::new(),
        };
        let closing = Closing::parse(
            plan.disposition.as_str(),
            plan.action.as_str(),
            &protected,
            note_for(plan.disposition, plan.action),
        )
        .map_err(|p| format!("demo closing: {p:?}"))?;
        let who = Closer {
            user_id: agent,
            supervisor: false,
            ip: None,
        };
        let r = closing::close(conn, &state.settings, snap, now, &who, case.id, &closing);
        if let Some(Closed::Resolved) = self.outcome(r)? {
            self.after_resolved(conn, case.id, Some(agent), plan.snooze, now)?;
        }
        Ok(())
    }

    /// What follows a closing: the customer may answer the survey, and a confirmed
    /// false positive may be snoozed for the customer.
    fn after_resolved(
        &mut self,
        conn: &mut DbConn,
        case_id: i64,
        resolver: Option<i64>,
        snooze: bool,
        now: DateTime<Utc>,
    ) -> Result<(), String> {
        let reopened: i32 = cases_t::table
            .find(case_id)
            .select(cases_t::reopen_count)
            .first(conn)
            .map_err(db_err)?;
        let mut r = Rng::new(case_id as u64 * 31 + reopened as u64 * 1_009 + 5);
        let surveyed: i64 = outbox::table
            .filter(outbox::case_id.eq(case_id))
            .filter(outbox::kind.eq("satisfaction"))
            .filter(outbox::created_at.eq(store::to_db(now)))
            .count()
            .get_result(conn)
            .map_err(db_err)?;
        if surveyed > 0 && r.below(100) < 45 {
            let disposition: Option<String> = cases_t::table
                .find(case_id)
                .select(cases_t::disposition)
                .first(conn)
                .map_err(db_err)?;
            let unhappy = disposition.as_deref() == Some("unreachable");
            let score = match (unhappy, r.below(100)) {
                (false, 0..=49) => 5,
                (false, 50..=79) => 4,
                (false, 80..=91) => 3,
                (false, 92..=96) => 2,
                (false, _) => 1,
                (true, 0..=29) => 1,
                (true, 30..=59) => 2,
                (true, _) => 3,
            };
            let after = self.pace.minutes(r.between(30, 36 * 60));
            self.schedule(now + after, Due::AnswerSurvey(case_id, score));
        }
        if snooze && let Some(by) = resolver {
            let r = crate::cases::snooze::create(
                conn,
                now,
                crate::cases::snooze::By {
                    user_id: by,
                    supervisor: false,
                },
                case_id,
                "30",
                "Customer confirmed a regular payment pattern; no need to stop it again this month.",
            );
            // Only a false positive the customer confirmed may be snoozed.
            let _ = self.outcome(r)?;
        }
        Ok(())
    }

    /// The supervisor on duty: decides waiting closings; in the history also reviews
    /// the QA sample and files the AML reports.
    pub fn supervise(
        &mut self,
        state: &AppState,
        conn: &mut DbConn,
        snap: &Snapshot,
        now: DateTime<Utc>,
    ) -> Result<(), String> {
        let waiting = closing::waiting_approval(conn, 100).map_err(db_err)?;
        let me = Closer {
            user_id: self.supervisor,
            supervisor: true,
            ip: None,
        };
        for (request, _, _) in waiting {
            let mut r = Rng::new(request.id as u64 * 13 + 1);
            if now < store::from_db(request.created_at) + self.pace.minutes(r.between(3, 20)) {
                continue;
            }
            let rejected_before = closing::history(conn, request.case_id)
                .map_err(db_err)?
                .iter()
                .any(|c| c.state == "rejected");
            let decision = if !rejected_before && r.below(100) < 6 {
                Decision::Reject("Please attach the customer's confirmation before releasing.")
            } else {
                Decision::Approve("Checked the call log and the amount.")
            };
            let approve = matches!(decision, Decision::Approve(_));
            let done = closing::decide(
                conn,
                &state.settings,
                snap,
                now,
                &me,
                request.case_id,
                decision,
            );
            if self.outcome(done)?.is_some() && approve {
                self.after_resolved(conn, request.case_id, request.resolver_id, false, now)?;
            }
        }
        if self.back_office {
            let local = now.with_timezone(&Shanghai);
            if local.hour() == 16 && local.minute() < 10 && local.weekday() != Weekday::Sun {
                self.review_qa(conn, now)?;
                self.file_aml_reports(conn, now)?;
            }
        }
        Ok(())
    }

    fn review_qa(&mut self, conn: &mut DbConn, now: DateTime<Utc>) -> Result<(), String> {
        let (waiting, _) = crate::qa::waiting(conn, None, 200).map_err(db_err)?;
        for w in waiting {
            // Yesterday's and today's closings wait for tomorrow's round.
            if w.resolved_at
                .map(store::from_db)
                .is_none_or(|r| now - r < Duration::days(2))
            {
                continue;
            }
            let mut r = Rng::new(w.id as u64 * 17 + 9);
            let miss = r.below(100);
            let card = crate::domain::qa::Scorecard {
                identity_verified: miss >= 8,
                disposition_supported: !(8..14).contains(&miss),
                communication_appropriate: !(14..18).contains(&miss),
                timeline_complete: true,
                comment: (miss < 18)
                    .then(|| "Discussed in the weekly coaching session.".to_string()),
            };
            match crate::qa::review(conn, now, self.supervisor, w.id, &card) {
                Ok(_) => self.tally.commands += 1,
                Err(crate::qa::QaError::Db(e)) => return Err(e.to_string()),
                Err(_) => self.tally.refused += 1,
            }
        }
        Ok(())
    }

    fn file_aml_reports(&mut self, conn: &mut DbConn, now: DateTime<Utc>) -> Result<(), String> {
        let (open, _, _, _) = crate::cases::aml_report::open(conn, 100).map_err(db_err)?;
        for report in open {
            if now - store::from_db(report.started_at) < Duration::hours(20) {
                continue;
            }
            let reference = format!("STR-{}-{:05}", now.format("%Y%m%d"), report.case_id);
            let r = crate::cases::aml_report::file(
                conn,
                now,
                self.supervisor,
                true,
                report.case_id,
                &reference,
            );
            self.outcome(r)?;
        }
        Ok(())
    }

    /// The supervisor declares an emergency on the newest open case of a queue with
    /// an on-call rota; the person paged acknowledges a few minutes later.
    pub fn emergency(
        &mut self,
        conn: &mut DbConn,
        state: &AppState,
        snap: &Snapshot,
        now: DateTime<Utc>,
    ) -> Result<bool, String> {
        let queues: Vec<i64> = snap
            .queues_by_id
            .iter()
            .filter(|(_, q)| q.name == "Transfers" || q.name == "Account security")
            .map(|(id, _)| *id)
            .collect();
        let open: Option<i64> = cases_t::table
            .filter(cases_t::resolved_at.is_null())
            .filter(cases_t::queue_id.eq_any(&queues))
            .order(cases_t::opened_at.desc())
            .select(cases_t::id)
            .first(conn)
            .optional()
            .map_err(db_err)?;
        let Some(case_id) = open else {
            return Ok(false);
        };
        let pager = crate::cases::emergency::Pager {
            snap,
            base: &state.settings.public_url,
        };
        let r = crate::cases::emergency::declare(
            conn,
            pager,
            now,
            self.supervisor,
            case_id,
            "Several customers report the same merchant draining their accounts; the ring may still be active.",
        );
        Ok(self.outcome(r)?.is_some())
    }

    /// The person paged for an emergency acknowledges it a few minutes after their
    /// page (whoever the desk paged: the queue's on-call agent, the next rota, a
    /// supervisor).
    pub fn answer_pages(
        &mut self,
        conn: &mut DbConn,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), String> {
        let (open, _) = crate::cases::emergency::open(conn, 50).map_err(db_err)?;
        for em in open.iter().filter(|e| e.acknowledged_at.is_none()) {
            let pages = crate::cases::emergency::pages_of(conn, em.id).map_err(db_err)?;
            let Some((page, _, _)) = pages.iter().find(|(p, _, _)| p.answered_at.is_none()) else {
                continue;
            };
            let due = store::from_db(page.paged_at) + self.pace.minutes(2 + em.id % 5);
            if due > now {
                continue;
            }
            let at = due.max(since).min(now);
            let r = crate::cases::emergency::acknowledge(conn, at, page.user_id, em.id);
            self.outcome(r)?;
        }
        Ok(())
    }

    /// Runs what is due by `until`, each at its own time.
    pub fn run_due(
        &mut self,
        state: &AppState,
        conn: &mut DbConn,
        snap: &Snapshot,
        until: DateTime<Utc>,
    ) -> Result<(), String> {
        self.due.sort_by_key(|(at, _)| *at);
        let n = self.due.partition_point(|(at, _)| *at <= until);
        let now_due: Vec<_> = self.due.drain(..n).collect();
        for (at, what) in now_due {
            self.happen(state, conn, snap, at, what)?;
        }
        Ok(())
    }

    fn happen(
        &mut self,
        state: &AppState,
        conn: &mut DbConn,
        snap: &Snapshot,
        at: DateTime<Utc>,
        what: Due,
    ) -> Result<(), String> {
        use crate::cases::verify::{self, LinkError};
        match what {
            Due::AnswerVerification(case_id, answer) => {
                // The customer opens the e-mail and follows its link.
                let Some(secret) = secret_in_mail(conn, case_id, "verification", "/v/")? else {
                    return Ok(());
                };
                let message = (answer == Answer::Deny)
                    .then_some("I did not make this payment. Please block it.");
                match crate::db::write_tx(conn, |c| {
                    verify::answer_verification(
                        c,
                        &state.settings,
                        snap,
                        at,
                        &secret,
                        answer,
                        message,
                    )
                }) {
                    Ok(_) => self.tally.commands += 1,
                    Err(LinkError::Db(e)) => return Err(e.to_string()),
                    Err(_) => self.tally.refused += 1,
                }
            }
            Due::AnswerSurvey(case_id, score) => {
                let Some(secret) = secret_in_mail(conn, case_id, "satisfaction", "/s/")? else {
                    return Ok(());
                };
                let comment = match score {
                    5 => Some("Quick and polite, thank you."),
                    1 | 2 => Some("My money was held for too long and nobody explained why."),
                    _ => None,
                };
                match crate::db::write_tx(conn, |c| {
                    verify::answer_survey(c, at, &secret, score, comment)
                }) {
                    Ok(_) => {
                        self.tally.commands += 1;
                        // A complaint behind a poor score reopens about half of them
                        // (once: a reopened case's second answer is final).
                        let reopened: i32 = cases_t::table
                            .find(case_id)
                            .select(cases_t::reopen_count)
                            .first(conn)
                            .map_err(db_err)?;
                        if score <= 2 && case_id % 2 == 0 && reopened == 0 {
                            let after = self.pace.minutes(60 + case_id % 600);
                            self.schedule(at + after, Due::Reopen(case_id, score));
                        }
                    }
                    Err(LinkError::Db(e)) => return Err(e.to_string()),
                    Err(_) => self.tally.refused += 1,
                }
            }
            Due::Reopen(case_id, score) => {
                let me = Closer {
                    user_id: self.supervisor,
                    supervisor: true,
                    ip: None,
                };
                let reason = format!(
                    "Customer complaint after the survey (score {score}): the hold is disputed."
                );
                let r = closing::reopen(conn, snap, at, &me, case_id, &reason);
                self.outcome(r)?;
            }
        }
        Ok(())
    }
}

/// The secret of the newest link of `kind` e-mailed for a case, as the customer
/// reads it in the message (only its digest is stored).
fn secret_in_mail(
    conn: &mut DbConn,
    case_id: i64,
    kind: &str,
    marker: &str,
) -> Result<Option<String>, String> {
    let body: Option<String> = outbox::table
        .filter(outbox::case_id.eq(case_id))
        .filter(outbox::kind.eq(kind))
        .order(outbox::id.desc())
        .select(outbox::body_text)
        .first(conn)
        .optional()
        .map_err(db_err)?;
    Ok(body.and_then(|b| {
        let i = b.find(marker)?;
        let secret: String = b[i + marker.len()..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        (!secret.is_empty()).then_some(secret)
    }))
}

/// Alerts per hour of the day (Shanghai) on an ordinary weekday: quiet nights, a
/// morning peak, a lunch dip, a long afternoon and an evening of online shopping.
const HOURLY: [f64; 24] = [
    0.3, 0.2, 0.1, 0.1, 0.1, 0.2, 0.4, 0.8, 1.4, 2.4, 2.8, 2.6, 1.8, 1.6, 2.2, 2.4, 2.2, 1.9, 1.8,
    2.1, 2.3, 1.6, 0.9, 0.5,
];

fn day_factor(day: Weekday) -> f64 {
    match day {
        Weekday::Mon => 1.35,
        Weekday::Sat => 0.7,
        Weekday::Sun => 0.45,
        _ => 1.0,
    }
}

/// The alerts of the history, in time order: the daily rhythm, the Double-11
/// promotion's rush of registrations and promotion abuse, and one afternoon when a
/// ring of new accounts on one device arrives.
fn arrivals(
    samples: &mut SampleAlerts,
    rng: &mut Rng,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, crate::domain::alert::NewAlert)> {
    let mut out = Vec::new();
    let mut hour = start;
    while hour < end {
        let local = hour.with_timezone(&Shanghai);
        let mut mean = HOURLY[local.hour() as usize] * day_factor(local.weekday());
        let promotion = local.month() == 11 && (local.day() == 10 || local.day() == 11);
        if promotion && (9..23).contains(&local.hour()) {
            mean += 1.5;
        }
        for _ in 0..rng.poisson(mean) {
            let at = hour + Duration::seconds(rng.below(3600) as i64);
            if at >= end {
                continue;
            }
            let alert = if promotion && rng.below(100) < 50 {
                samples.alert_of(if rng.below(2) == 0 {
                    "NEW_ACCOUNT_BURST"
                } else {
                    "PROMOTION_ABUSE"
                })
            } else {
                samples.next_alert()
            };
            out.push((at, alert));
        }
        hour += Duration::hours(1);
    }
    // The ring: six new accounts on one device within forty minutes, three fifths
    // of the way through the history, at two in the afternoon.
    let span = end - start;
    let day = (start + span * 3 / 5).with_timezone(&Shanghai).date_naive();
    if let Some(two) = Shanghai
        .from_local_datetime(&day.and_hms_opt(14, 0, 0).expect("a time"))
        .single()
    {
        let two = two.with_timezone(&Utc);
        if two > start && two + Duration::hours(1) < end {
            for i in 0..6 {
                out.push((two + Duration::minutes(7 * i), samples.ring_alert(i as u32)));
            }
        }
    }
    out.sort_by_key(|(at, _)| *at);
    out
}

/// A stand-in for the risk engine on a local port: it takes the desk's webhook
/// deliveries (and turns one in seventeen away, so retries show). Returns its URL;
/// it answers for as long as the process runs.
pub fn start_receiver() -> std::io::Result<String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    std::thread::Builder::new()
        .name("demo-webhook-receiver".into())
        .spawn(move || {
            for (n, stream) in listener.incoming().enumerate() {
                if let Ok(mut s) = stream {
                    let _ = receive(&mut s, n % 17 == 16);
                }
            }
        })?;
    Ok(format!("http://{addr}/risk-engine/events"))
}

fn receive(s: &mut std::net::TcpStream, refuse: bool) -> std::io::Result<()> {
    s.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let (head, length) = loop {
        let n = s.read(&mut chunk)?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let text = String::from_utf8_lossy(&buf[..i]).to_ascii_lowercase();
            let length = text
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            break (i + 4, length);
        }
    };
    while buf.len() < head + length {
        let n = s.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let status = if refuse {
        "503 Service Unavailable"
    } else {
        "204 No Content"
    };
    write!(
        s,
        "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    s.flush()
}

/// Sets a manual clock to `at`.
fn set_clock(clock: &Clock, at: DateTime<Utc>) {
    clock.advance(at - clock.now());
}

/// Plays `days` days of the desk's life, ending at `end`, through the real commands
/// and the real background jobs on a clock set back. Returns what it counted.
pub fn play(
    state: &AppState,
    sim: &mut Sim,
    days: u32,
    end: DateTime<Utc>,
) -> Result<Tally, String> {
    let start = end - Duration::days(i64::from(days));
    let clock = Clock::manual(start);
    let past = AppState {
        clock: clock.clone(),
        ..state.clone()
    };
    let mut conn = past.pool.get().map_err(db_err)?;
    let keys = state.intake_keys();
    let mut rng = Rng::new(end.timestamp() as u64);
    let mut samples = SampleAlerts::with_prefix(end.timestamp() as u64 ^ 0xD5, "hist");
    let mut alerts = arrivals(&mut samples, &mut rng, start, end)
        .into_iter()
        .peekable();
    // Two emergencies, on two afternoons of the history.
    let mut emergencies: Vec<DateTime<Utc>> = [2, 4]
        .iter()
        .map(|k| start + (end - start) * *k / 5)
        .filter_map(|d| {
            let day = d.with_timezone(&Shanghai).date_naive();
            Shanghai
                .from_local_datetime(&day.and_hms_opt(15, 30, 0)?)
                .single()
                .map(|t| t.with_timezone(&Utc))
        })
        .filter(|t| *t > start && *t < end)
        .collect();
    let mut t = start;
    let mut last_day = None;
    while t < end {
        let local = t.with_timezone(&Shanghai);
        let step = if (7..23).contains(&local.hour()) {
            Duration::minutes(10)
        } else {
            Duration::minutes(30)
        };
        let next = (t + step).min(end);
        let snap = past.desk.get(&mut conn).map_err(db_err)?;
        while let Some((at, _)) = alerts.peek() {
            if *at > next {
                break;
            }
            let (at, alert) = alerts.next().expect("peeked");
            set_clock(&clock, at);
            crate::db::write_tx(&mut conn, |c| {
                crate::intake::ingest_one(c, &snap, &keys, &alert, None, at)
            })
            .map_err(|e| format!("demo alert: {e}"))?;
            sim.tally.alerts += 1;
        }
        sim.run_due(&past, &mut conn, &snap, next)?;
        set_clock(&clock, next);
        sim.shift_presence(&mut conn, &snap, next)?;
        sim.agents_work(&past, &mut conn, &snap, t + Duration::minutes(1), next, 4)?;
        sim.answer_pages(&mut conn, t + Duration::minutes(1), next)?;
        // Closings wait for a supervisor by day, for the duty manager at night.
        sim.supervise(&past, &mut conn, &snap, next)?;
        let local = next.with_timezone(&Shanghai);
        if emergencies.first().is_some_and(|e| *e <= next)
            && sim.emergency(&mut conn, &past, &snap, next)?
        {
            emergencies.remove(0);
        }
        set_clock(&clock, next + Duration::minutes(1));
        crate::jobs::sweep_assignment(&past)?;
        crate::jobs::watch_sla(&past)?;
        crate::jobs::expire_snoozes(&past)?;
        crate::jobs::watch_emergencies(&past)?;
        if next.hour() != t.hour() {
            crate::jobs::send_webhooks(&past)?;
        }
        if last_day != Some(local.date_naive()) && local.hour() >= 6 {
            last_day = Some(local.date_naive());
            crate::jobs::weekly_brief(&past)?;
            crate::jobs::watch_aml_reports(&past)?;
            crate::jobs::send_outbox(&past)?;
        }
        t = next;
    }
    // What waits to happen after `end` is for the live desk, if any; the agents on
    // shift have just been busy.
    sim.due.retain(|(at, _)| *at > end);
    for a in &sim.agents {
        if sim.online.get(&a.id) == Some(&true) {
            store::users::touch_active(&mut conn, a.id, store::to_db(end)).map_err(db_err)?;
        }
    }
    Ok(sim.tally.clone())
}

/// The live desk's agents: the first `n` demo agents come online and stay, each
/// taking a step every tick (a fifth of the history's pace in minutes).
pub fn live_tick(state: &AppState, sim: &mut Sim) -> Result<(), String> {
    let now = state.now();
    let mut conn = state.pool.get().map_err(db_err)?;
    let snap = state.desk.get(&mut conn).map_err(db_err)?;
    sim.run_due(state, &mut conn, &snap, now)?;
    for a in sim.agents.clone() {
        sim.presence(&mut conn, &snap, a.id, true, now)?;
        store::users::touch_active(&mut conn, a.id, store::to_db(now)).map_err(db_err)?;
    }
    sim.agents_work(state, &mut conn, &snap, now, now, 1)?;
    sim.answer_pages(&mut conn, now, now)?;
    sim.supervise(state, &mut conn, &snap, now)?;
    Ok(())
}

/// The agents' ids by e-mail, in the order given.
pub fn user_ids(conn: &mut DbConn, emails: &[&str]) -> Result<Vec<i64>, String> {
    let mut out = Vec::new();
    for e in emails {
        let id: i64 = users::table
            .filter(users::email.eq(*e))
            .select(users::id)
            .first(conn)
            .map_err(|err| format!("demo user {e}: {err}"))?;
        out.push(id);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_night_shift_covers_the_small_hours_of_the_next_day() {
        let night = Shift {
            start: 21,
            end: 8,
            off: Weekday::Sat,
        };
        let at = |d: u32, h: u32| {
            Shanghai
                .with_ymd_and_hms(2026, 12, d, h, 0, 0)
                .unwrap()
                .with_timezone(&Utc)
        };
        // 2026-12-04 is a Friday.
        assert!(night.covers(at(4, 22)));
        assert!(
            night.covers(at(5, 3)),
            "Friday night's shift runs into Saturday"
        );
        assert!(!night.covers(at(5, 22)), "Saturday night is off");
        assert!(!night.covers(at(6, 3)), "so are the small hours of Sunday");
        assert!(!night.covers(at(4, 12)));
    }

    #[test]
    fn plans_are_stable_and_mostly_false_positives() {
        let mut fp = 0;
        for id in 1..=400 {
            let case = Case {
                id,
                customer_id: 1,
                queue_id: 1,
                priority: crate::domain::Priority::High,
                status: CaseStatus::Assigned,
                rule_code: "LARGE_TRANSFER".into(),
                open_key: None,
                opened_at: Utc::now().naive_utc(),
                updated_at: Utc::now().naive_utc(),
                first_response_due: Utc::now().naive_utc(),
                resolution_due: Utc::now().naive_utc(),
                first_responded_at: None,
                resolved_at: None,
                paused_since: None,
                pause_reason: None,
                paused_minutes: 0,
                breached: false,
                assignee_id: None,
                disposition: None,
                alert_count: 1,
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
            };
            let a = plan_for(&case, "C-1", true);
            let b = plan_for(&case, "C-1", true);
            assert_eq!((a.disposition, a.channel), (b.disposition, b.channel));
            // Every plan is a closing the desk accepts.
            assert!(
                Closing::parse(a.disposition.as_str(), a.action.as_str(), "", "n").is_ok(),
                "{a:?}"
            );
            if a.disposition == Disposition::FalsePositive {
                fp += 1;
            }
        }
        assert!((200..320).contains(&fp), "{fp} false positives of 400");
    }
}
