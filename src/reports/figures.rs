// The period figures, computed in one pass over the facts of a period: SLA
// compliance by queue, agent, rule and priority, where breached time went, and the
// outcomes (volume, false positives, fraud, money protected, reach, satisfaction).

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::period::Period;
use super::stats::{median_p90, per_mille};
use crate::db::schema::case_facts;
use crate::domain::money::Decimal;
use crate::domain::resolution::{Disposition, Label, Tally};

/// The facts of one case as the period figures read them.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = case_facts)]
pub struct PeriodFact {
    pub case_id: i64,
    pub queue_id: i64,
    pub agent_id: Option<i64>,
    pub rule_code: String,
    pub priority: String,
    pub opened_at: NaiveDateTime,
    pub resolved_at: Option<NaiveDateTime>,
    pub first_response_secs: Option<i64>,
    pub resolution_secs: Option<i64>,
    pub first_response_met: Option<bool>,
    pub resolution_met: Option<bool>,
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
}

/// What a line of a table is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Key {
    All,
    Queue(i64),
    /// `None`: cases that never had an agent.
    Agent(Option<i64>),
    Rule(String),
    Priority(String),
}

/// The priorities in their order of urgency.
pub const PRIORITIES: [&str; 4] = ["critical", "high", "medium", "low"];

/// SLA compliance of a set of resolved cases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub key: Key,
    pub cases: u64,
    pub fr_met: u64,
    pub fr_missed: u64,
    pub res_met: u64,
    pub res_missed: u64,
    /// Business seconds: median and 90th percentile (nearest rank).
    pub fr_p50: Option<i64>,
    pub fr_p90: Option<i64>,
    pub res_p50: Option<i64>,
    pub res_p90: Option<i64>,
    /// Cases that missed a target, and the business seconds after their first missed
    /// deadline: waiting unassigned, with the agent, waiting on the customer.
    pub breached: u64,
    pub breach_secs: [i64; 3],
}

impl Line {
    pub fn fr_rate(&self) -> Option<u64> {
        per_mille(self.fr_met, self.fr_met + self.fr_missed)
    }
    pub fn res_rate(&self) -> Option<u64> {
        per_mille(self.res_met, self.res_met + self.res_missed)
    }
    pub fn breach_total(&self) -> i64 {
        self.breach_secs.iter().sum()
    }
    /// The share of breached time each holder had, per mille.
    pub fn breach_shares(&self) -> [Option<u64>; 3] {
        let total = self.breach_total().max(0) as u64;
        self.breach_secs.map(|s| per_mille(s.max(0) as u64, total))
    }
}

#[derive(Default)]
struct LineAcc {
    cases: u64,
    fr_met: u64,
    fr_missed: u64,
    res_met: u64,
    res_missed: u64,
    fr: Vec<i64>,
    res: Vec<i64>,
    breached: u64,
    breach_secs: [i64; 3],
}

impl LineAcc {
    fn add(&mut self, f: &PeriodFact) {
        self.cases += 1;
        match f.first_response_met {
            Some(true) => self.fr_met += 1,
            Some(false) => self.fr_missed += 1,
            None => {}
        }
        match f.resolution_met {
            Some(true) => self.res_met += 1,
            Some(false) => self.res_missed += 1,
            None => {}
        }
        self.fr.extend(f.first_response_secs);
        self.res.extend(f.resolution_secs);
        if f.first_response_met == Some(false) || f.resolution_met == Some(false) {
            self.breached += 1;
            self.breach_secs[0] += f.breach_unassigned_secs;
            self.breach_secs[1] += f.breach_agent_secs;
            self.breach_secs[2] += f.breach_customer_secs;
        }
    }

    fn finish(mut self, key: Key) -> Line {
        let (fr_p50, fr_p90) = median_p90(&mut self.fr);
        let (res_p50, res_p90) = median_p90(&mut self.res);
        Line {
            key,
            cases: self.cases,
            fr_met: self.fr_met,
            fr_missed: self.fr_missed,
            res_met: self.res_met,
            res_missed: self.res_missed,
            fr_p50,
            fr_p90,
            res_p50,
            res_p90,
            breached: self.breached,
            breach_secs: self.breach_secs,
        }
    }
}

/// The compliance report: cases resolved in the period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compliance {
    pub overall: Line,
    pub by_queue: Vec<Line>,
    pub by_agent: Vec<Line>,
    pub by_rule: Vec<Line>,
    pub by_priority: Vec<Line>,
}

fn finish_all(map: BTreeMap<Key, LineAcc>) -> Vec<Line> {
    map.into_iter().map(|(k, a)| a.finish(k)).collect()
}

/// Compliance of `facts` (the cases resolved in the period), in one pass.
pub fn compliance<'a>(facts: impl IntoIterator<Item = &'a PeriodFact>) -> Compliance {
    let mut all = LineAcc::default();
    let mut q: BTreeMap<Key, LineAcc> = BTreeMap::new();
    let mut a: BTreeMap<Key, LineAcc> = BTreeMap::new();
    // Rules and priorities by reference: no allocation per case.
    let mut r: BTreeMap<&str, LineAcc> = BTreeMap::new();
    let mut p: BTreeMap<&str, LineAcc> = BTreeMap::new();
    for f in facts {
        all.add(f);
        q.entry(Key::Queue(f.queue_id)).or_default().add(f);
        a.entry(Key::Agent(f.agent_id)).or_default().add(f);
        r.entry(f.rule_code.as_str()).or_default().add(f);
        p.entry(f.priority.as_str()).or_default().add(f);
    }
    let by_rule = r
        .into_iter()
        .map(|(k, acc)| acc.finish(Key::Rule(k.to_string())))
        .collect();
    let mut by_priority: Vec<Line> = p
        .into_iter()
        .map(|(k, acc)| acc.finish(Key::Priority(k.to_string())))
        .collect();
    by_priority.sort_by_key(|l| match &l.key {
        Key::Priority(p) => PRIORITIES.iter().position(|x| x == p).unwrap_or(9),
        _ => 9,
    });
    Compliance {
        overall: all.finish(Key::All),
        by_queue: finish_all(q),
        by_agent: finish_all(a),
        by_rule,
        by_priority,
    }
}

/// Whether a queue met its service level: the share resolved within target
/// against the queue's target share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceLevel {
    /// Per cent.
    pub target: i64,
    /// Per mille, `None` with nothing resolved.
    pub actual: Option<u64>,
}

impl ServiceLevel {
    pub fn of(line: &Line, target: i64) -> Self {
        ServiceLevel {
            target,
            actual: line.res_rate(),
        }
    }
    pub fn met(&self) -> Option<bool> {
        self.actual.map(|a| a >= (self.target.max(0) as u64) * 10)
    }
}

/// Cases and alerts per rule per local day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleVolume {
    pub rule: String,
    pub cases: Vec<u64>,
    pub alerts: Vec<u64>,
}

impl RuleVolume {
    pub fn total_cases(&self) -> u64 {
        self.cases.iter().sum()
    }
    pub fn total_alerts(&self) -> u64 {
        self.alerts.iter().sum()
    }
}

/// The cases of one rule opened in one local day of a period, and their alerts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayCount {
    /// The index of the day in [`Period::days`].
    pub day: usize,
    pub rule: String,
    pub cases: u64,
    pub alerts: u64,
}

/// Volume: the cases opened in the period by the local day they opened, one line per
/// rule, from the counts the database made per day and rule.
pub fn volume(period: &Period, counts: &[DayCount]) -> Vec<RuleVolume> {
    let n = period.days().len();
    let mut by_rule: BTreeMap<&str, RuleVolume> = BTreeMap::new();
    for c in counts.iter().filter(|c| c.day < n) {
        let v = by_rule.entry(&c.rule).or_insert_with(|| RuleVolume {
            rule: c.rule.clone(),
            cases: vec![0; n],
            alerts: vec![0; n],
        });
        v.cases[c.day] += c.cases;
        v.alerts[c.day] += c.alerts;
    }
    by_rule.into_values().collect()
}

/// Outcomes of a rule's resolved cases.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleOutcome {
    pub rule: String,
    pub resolved: u64,
    /// The closings by label (the false positives, the unknowns, …).
    pub labels: Tally,
    /// False positives the customer confirmed ("it was me", a verified call).
    pub fp_confirmed: u64,
    /// Closings of these dispositions.
    pub confirmed_fraud: u64,
    pub escalated_aml: u64,
    pub duplicate: u64,
}

impl RuleOutcome {
    /// The false-positive rate, per mille: false positives ÷ (true + false
    /// positives); `None` when no closing tells whether the rule was right.
    pub fn fp_rate(&self) -> Option<u64> {
        let (n, of) = self.labels.fp_fraction()?;
        per_mille(n, of)
    }
    /// Customer-confirmed false positives on the same basis, per mille.
    pub fn fp_confirmed_rate(&self) -> Option<u64> {
        per_mille(self.fp_confirmed, self.labels.decided())
    }
}

/// Amounts protected in one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Money {
    pub currency: String,
    /// On every resolved case.
    pub protected: Decimal,
    /// On the confirmed-fraud cases.
    pub on_fraud: Decimal,
    pub cases: u64,
}

/// Verification reach.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reach {
    /// Resolved cases with at least one call or e-mail, and those where the customer
    /// answered one.
    pub attempted: u64,
    pub reached: u64,
    pub calls: u64,
    pub calls_reached: u64,
    pub emails: u64,
    pub emails_answered: u64,
}

/// Satisfaction of a set of resolved cases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Satisfaction {
    pub key: Key,
    pub sent: u64,
    pub answered: u64,
    pub score_sum: u64,
}

impl Satisfaction {
    /// The response rate, per mille of the surveys sent.
    pub fn response_rate(&self) -> Option<u64> {
        per_mille(self.answered, self.sent)
    }
    /// The average score in hundredths (4.25 → 425).
    pub fn average_centi(&self) -> Option<u64> {
        (self.answered > 0).then(|| (self.score_sum * 200 + self.answered) / (2 * self.answered))
    }
}

/// The outcomes report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcomes {
    pub resolved: u64,
    pub reopened: u64,
    pub rules: Vec<RuleOutcome>,
    pub confirmed_fraud: u64,
    pub money: Vec<Money>,
    pub reach: Reach,
    pub satisfaction: Satisfaction,
    pub sat_by_agent: Vec<Satisfaction>,
    pub sat_by_queue: Vec<Satisfaction>,
    pub sat_by_rule: Vec<Satisfaction>,
}

impl Outcomes {
    pub fn reopen_rate(&self) -> Option<u64> {
        per_mille(self.reopened, self.resolved)
    }
}

/// Surveys of a set of resolved cases: sent, answered, and the answers' scores.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Surveys {
    pub sent: u64,
    pub answered: u64,
    pub score_sum: u64,
}

impl Surveys {
    fn of(f: &PeriodFact) -> Self {
        Surveys {
            sent: u64::from(f.survey_sent),
            answered: u64::from(f.survey_score.is_some()),
            score_sum: f.survey_score.map_or(0, |s| s.max(0) as u64),
        }
    }
}

fn sat_add<K: Ord>(
    map: &mut BTreeMap<K, Satisfaction>,
    k: K,
    key: impl FnOnce() -> Key,
    s: Surveys,
) {
    let line = map.entry(k).or_insert_with(|| Satisfaction {
        key: key(),
        sent: 0,
        answered: 0,
        score_sum: 0,
    });
    line.add(s);
}

impl Satisfaction {
    fn add(&mut self, s: Surveys) {
        self.sent += s.sent;
        self.answered += s.answered;
        self.score_sum += s.score_sum;
    }
}

/// The outcomes report put together from counts: one resolved case at a time
/// ([`outcomes`]), or the counts PostgreSQL makes of a period's cases grouped by
/// rule and disposition, currency, agent, queue (`reports::store::outcomes_counted`).
/// Either way every count goes through the same steps.
#[derive(Debug, Default)]
pub struct OutcomeTally {
    resolved: u64,
    reopened: u64,
    rules: BTreeMap<String, RuleOutcome>,
    confirmed_fraud: u64,
    money: BTreeMap<String, Money>,
    reach: Reach,
    overall: Surveys,
    by_agent: BTreeMap<Option<i64>, Satisfaction>,
    by_queue: BTreeMap<i64, Satisfaction>,
    by_rule: BTreeMap<String, Satisfaction>,
}

impl OutcomeTally {
    /// `n` resolved cases, `reopened` of them reopened since, and what verification
    /// reached on them.
    pub fn resolved(&mut self, n: u64, reopened: u64, reach: &Reach) {
        self.resolved += n;
        self.reopened += reopened;
        self.reach.attempted += reach.attempted;
        self.reach.reached += reach.reached;
        self.reach.calls += reach.calls;
        self.reach.calls_reached += reach.calls_reached;
        self.reach.emails += reach.emails;
        self.reach.emails_answered += reach.emails_answered;
    }

    /// `n` closings of rule `rule` with `disposition` as the facts keep it (text;
    /// one the desk does not know counts in no outcome), `confirmed` by the customer
    /// or not.
    pub fn closings(&mut self, rule: &str, disposition: Option<&str>, confirmed: bool, n: u64) {
        if !self.rules.contains_key(rule) {
            let fresh = RuleOutcome {
                rule: rule.to_string(),
                ..Default::default()
            };
            self.rules.insert(rule.to_string(), fresh);
        }
        let r = self.rules.get_mut(rule).expect("inserted");
        r.resolved += n;
        let disposition = disposition.and_then(|d| d.parse::<Disposition>().ok());
        if let Some(d) = disposition {
            r.labels.add_many(Disposition::label(d), n);
        }
        if confirmed && disposition.map(Disposition::label) == Some(Label::FalsePositive) {
            r.fp_confirmed += n;
        }
        match disposition {
            Some(Disposition::ConfirmedFraud) => {
                r.confirmed_fraud += n;
                self.confirmed_fraud += n;
            }
            Some(Disposition::EscalatedAml) => r.escalated_aml += n,
            Some(Disposition::Duplicate) => r.duplicate += n,
            Some(Disposition::FalsePositive | Disposition::Unreachable) | None => {}
        }
    }

    /// `cases` resolved cases that protected `amount` in all in `currency`, closed
    /// with `disposition` (text, as in [`OutcomeTally::closings`]).
    pub fn money(
        &mut self,
        currency: &str,
        disposition: Option<&str>,
        amount: Decimal,
        cases: u64,
    ) {
        if !self.money.contains_key(currency) {
            let fresh = Money {
                currency: currency.to_string(),
                protected: Decimal::ZERO,
                on_fraud: Decimal::ZERO,
                cases: 0,
            };
            self.money.insert(currency.to_string(), fresh);
        }
        let m = self.money.get_mut(currency).expect("inserted");
        m.cases += cases;
        m.protected = m.protected.checked_add(amount).unwrap_or(m.protected);
        if disposition.and_then(|d| d.parse().ok()) == Some(Disposition::ConfirmedFraud) {
            m.on_fraud = m.on_fraud.checked_add(amount).unwrap_or(m.on_fraud);
        }
    }

    /// Surveys of all the period's resolved cases.
    pub fn surveys(&mut self, s: Surveys) {
        self.overall.sent += s.sent;
        self.overall.answered += s.answered;
        self.overall.score_sum += s.score_sum;
    }

    /// Surveys of the cases an agent resolved (`None`: cases that never had one).
    pub fn agent_surveys(&mut self, agent: Option<i64>, s: Surveys) {
        sat_add(&mut self.by_agent, agent, || Key::Agent(agent), s);
    }

    /// Surveys of a queue's resolved cases.
    pub fn queue_surveys(&mut self, queue: i64, s: Surveys) {
        sat_add(&mut self.by_queue, queue, || Key::Queue(queue), s);
    }

    /// Surveys of a rule's resolved cases.
    pub fn rule_surveys(&mut self, rule: &str, s: Surveys) {
        if let Some(line) = self.by_rule.get_mut(rule) {
            line.add(s);
        } else {
            sat_add(
                &mut self.by_rule,
                rule.to_string(),
                || Key::Rule(rule.to_string()),
                s,
            );
        }
    }

    pub fn finish(self) -> Outcomes {
        Outcomes {
            resolved: self.resolved,
            reopened: self.reopened,
            rules: self.rules.into_values().collect(),
            confirmed_fraud: self.confirmed_fraud,
            money: self.money.into_values().collect(),
            reach: self.reach,
            satisfaction: Satisfaction {
                key: Key::All,
                sent: self.overall.sent,
                answered: self.overall.answered,
                score_sum: self.overall.score_sum,
            },
            sat_by_agent: self.by_agent.into_values().collect(),
            sat_by_queue: self.by_queue.into_values().collect(),
            sat_by_rule: self.by_rule.into_values().collect(),
        }
    }
}

/// Outcomes of `facts` (the cases resolved in the period), in one pass.
pub fn outcomes<'a>(facts: impl IntoIterator<Item = &'a PeriodFact>) -> Outcomes {
    let mut tally = OutcomeTally::default();
    for f in facts {
        let contacted = f.calls > 0 || f.emails > 0;
        let reach = Reach {
            attempted: u64::from(contacted),
            reached: u64::from(contacted && (f.calls_reached > 0 || f.emails_answered > 0)),
            calls: f.calls.max(0) as u64,
            calls_reached: f.calls_reached.max(0) as u64,
            emails: f.emails.max(0) as u64,
            emails_answered: f.emails_answered.max(0) as u64,
        };
        tally.resolved(1, u64::from(f.reopen_count > 0), &reach);
        let disposition = f.disposition.as_deref();
        tally.closings(&f.rule_code, disposition, f.customer_confirmed, 1);
        if let (Some(amount), Some(currency)) = (&f.amount_protected, &f.currency)
            && let Ok(value) = Decimal::from_str(amount)
        {
            tally.money(currency, disposition, value, 1);
        }
        let s = Surveys::of(f);
        tally.surveys(s);
        tally.agent_surveys(f.agent_id, s);
        tally.queue_surveys(f.queue_id, s);
        tally.rule_surveys(&f.rule_code, s);
    }
    tally.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::period::Kind;
    use chrono::NaiveDate;

    fn fact(id: i64) -> PeriodFact {
        PeriodFact {
            case_id: id,
            queue_id: 1,
            agent_id: Some(10),
            rule_code: "LARGE_TRANSFER".into(),
            priority: "high".into(),
            opened_at: NaiveDate::from_ymd_opt(2026, 11, 24)
                .unwrap()
                .and_hms_opt(1, 0, 0)
                .unwrap(),
            resolved_at: None,
            first_response_secs: Some(60),
            resolution_secs: Some(600),
            first_response_met: Some(true),
            resolution_met: Some(true),
            breach_unassigned_secs: 0,
            breach_agent_secs: 0,
            breach_customer_secs: 0,
            disposition: Some("false_positive".into()),
            customer_confirmed: false,
            amount_protected: None,
            currency: None,
            reopen_count: 0,
            alert_count: 1,
            calls: 0,
            calls_reached: 0,
            emails: 0,
            emails_answered: 0,
            survey_sent: false,
            survey_score: None,
        }
    }

    #[test]
    fn compliance_by_every_dimension() {
        let mut facts: Vec<PeriodFact> = (1..=10).map(fact).collect();
        for (i, f) in facts.iter_mut().enumerate() {
            f.resolution_secs = Some(100 * (i as i64 + 1));
        }
        facts[9].resolution_met = Some(false);
        facts[9].breach_agent_secs = 300;
        facts[9].breach_customer_secs = 100;
        facts[8].first_response_met = Some(false);
        facts[8].breach_unassigned_secs = 100;
        facts[7].queue_id = 2;
        facts[7].agent_id = None;
        facts[7].priority = "critical".into();
        let c = compliance(&facts);
        assert_eq!(c.overall.cases, 10);
        assert_eq!(c.overall.fr_rate(), Some(900));
        assert_eq!(c.overall.res_rate(), Some(900));
        assert_eq!(c.overall.res_p50, Some(500));
        assert_eq!(c.overall.res_p90, Some(900));
        assert_eq!(c.overall.breached, 2);
        assert_eq!(c.overall.breach_secs, [100, 300, 100]);
        assert_eq!(c.overall.breach_shares(), [Some(200), Some(600), Some(200)]);
        assert_eq!(c.by_queue.len(), 2);
        assert_eq!(c.by_queue[1].key, Key::Queue(2));
        assert_eq!(c.by_agent[0].key, Key::Agent(None));
        assert_eq!(c.by_priority[0].key, Key::Priority("critical".into()));
        let sl = ServiceLevel::of(&c.by_queue[0], 90);
        // Queue 1: 9 cases, 8 resolved within target: 88.9 % < 90 %.
        assert_eq!(sl.actual, Some(889));
        assert_eq!(sl.met(), Some(false));
        assert_eq!(ServiceLevel::of(&c.by_queue[0], 85).met(), Some(true));
    }

    #[test]
    fn outcomes_count_confirmed_false_positives_apart() {
        let mut facts: Vec<PeriodFact> = (1..=4).map(fact).collect();
        facts[0].customer_confirmed = true;
        facts[1].disposition = Some("confirmed_fraud".into());
        facts[1].amount_protected = Some("100.50".into());
        facts[1].currency = Some("CNY".into());
        facts[2].amount_protected = Some("20.00".into());
        facts[2].currency = Some("CNY".into());
        facts[3].amount_protected = Some("5.00".into());
        facts[3].currency = Some("USD".into());
        facts[3].reopen_count = 2;
        facts[0].calls = 2;
        facts[0].calls_reached = 1;
        facts[1].emails = 1;
        facts[2].survey_sent = true;
        facts[2].survey_score = Some(5);
        facts[3].survey_sent = true;
        facts[0].survey_sent = true;
        facts[0].survey_score = Some(4);
        let o = outcomes(&facts);
        assert_eq!(o.rules[0].resolved, 4);
        assert_eq!(o.rules[0].labels.false_positive, 3);
        assert_eq!(o.rules[0].labels.true_positive, 1);
        assert_eq!(o.rules[0].fp_confirmed, 1);
        // 3 false positives of the 4 cases that tell.
        assert_eq!(o.rules[0].fp_rate(), Some(750));
        assert_eq!(o.rules[0].fp_confirmed_rate(), Some(250));
        assert_eq!(o.confirmed_fraud, 1);
        assert_eq!(o.money.len(), 2);
        assert_eq!(o.money[0].currency, "CNY");
        assert_eq!(o.money[0].protected.to_string(), "120.50");
        assert_eq!(o.money[0].on_fraud.to_string(), "100.50");
        assert_eq!(o.reach.attempted, 2);
        assert_eq!(o.reach.reached, 1);
        assert_eq!(o.satisfaction.sent, 3);
        assert_eq!(o.satisfaction.answered, 2);
        assert_eq!(o.satisfaction.response_rate(), Some(667));
        assert_eq!(o.satisfaction.average_centi(), Some(450));
        assert_eq!(o.reopen_rate(), Some(250));
    }

    #[test]
    fn the_false_positive_rate_leaves_out_what_does_not_tell() {
        let mut facts: Vec<PeriodFact> = (1..=6).map(fact).collect();
        facts[1].disposition = Some("confirmed_fraud".into());
        facts[2].disposition = Some("duplicate".into());
        facts[3].disposition = Some("unreachable".into());
        for f in &mut facts[4..] {
            f.rule_code = "NEW_ACCOUNT_BURST".into();
        }
        facts[4].disposition = Some("unreachable".into());
        // A disposition the desk does not know counts in no outcome.
        facts[5].disposition = Some("maybe".into());
        let o = outcomes(&facts);
        let lt = &o.rules[0];
        assert_eq!(lt.rule, "LARGE_TRANSFER");
        assert_eq!(lt.resolved, 4);
        assert_eq!(
            lt.labels,
            Tally {
                true_positive: 1,
                false_positive: 1,
                unknown: 1,
                not_counted: 1,
            }
        );
        // Wrong in 1 of the 2 that tell: 50 %, not 1 in 4.
        assert_eq!(lt.fp_rate(), Some(500));
        assert_eq!(lt.fp_confirmed_rate(), Some(0));
        assert_eq!((lt.confirmed_fraud, lt.duplicate), (1, 1));
        let burst = &o.rules[1];
        assert_eq!(burst.resolved, 2);
        assert_eq!(burst.labels.unknown, 1);
        assert_eq!(burst.labels.decided(), 0);
        assert_eq!(burst.fp_rate(), None);
        assert_eq!(burst.fp_confirmed_rate(), None);
    }

    #[test]
    fn volume_lines_up_rules_by_day() {
        let tz: chrono_tz::Tz = "Asia/Shanghai".parse().unwrap();
        let from = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let to = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        let p = Period::of_days(Kind::Range, from, to, tz);
        let count = |day, rule: &str, cases, alerts| DayCount {
            day,
            rule: rule.to_string(),
            cases,
            alerts,
        };
        let v = volume(
            &p,
            &[
                count(1, "LARGE_TRANSFER", 1, 3),
                count(0, "LARGE_TRANSFER", 1, 1),
                count(1, "AML_WATCHLIST", 2, 2),
                // Outside the period's days: ignored.
                count(2, "AML_WATCHLIST", 5, 5),
            ],
        );
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].rule, "AML_WATCHLIST");
        assert_eq!(v[0].cases, vec![0, 2]);
        assert_eq!(v[1].cases, vec![1, 1]);
        assert_eq!(v[1].alerts, vec![1, 3]);
        assert_eq!(v[1].total_alerts(), 4);
    }
}
