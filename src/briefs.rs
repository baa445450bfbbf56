// The weekly risk-trend brief: a week's figures (rule volumes against the week
// before, false positives per rule, breaches by queue, notable cases, masked) read
// with indexed range queries; finished weeks kept as rows, and the Monday job that
// stores last week's brief and mails it to every active supervisor, once.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use chrono_tz::Tz;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::config::Settings;
use crate::db::schema::{
    alerts, case_events, cases, customers, queues, resolutions, users, weekly_briefs,
};
use crate::db::{DbConn, write_tx};
use crate::dispatch;
use crate::domain::Lang;
use crate::domain::masking;
use crate::domain::money::Decimal;
use crate::domain::resolution::{Disposition, Label, Tally};
use crate::domain::week::IsoWeek;
use crate::i18n::Tr;
use crate::store::{self, cases::case_ref};

/// How many notable cases of each kind a brief names.
pub const NOTABLE: usize = 5;
/// An approved closing counts in the week of its approval; approvals are looked for
/// among requests made up to this long before the week.
const APPROVAL_LOOKBACK: Duration = Duration::days(30);

/// One rule's figures for the week.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleFigures {
    pub rule: String,
    pub alerts: i64,
    pub alerts_previous: i64,
    pub cases: i64,
    pub cases_previous: i64,
    /// Closings that took effect in the week.
    pub resolved: i64,
    /// False positives among them, of which the customer confirmed …
    pub false_positives: i64,
    /// … this many (the verification answer "it was me" or a verified call).
    pub fp_customer_confirmed: i64,
    pub confirmed_fraud: i64,
    /// Closings that proved the rule right (confirmed fraud, escalated to AML), and
    /// those that cannot tell (the customer was unreachable): the false-positive
    /// rate's other term and what stands beside it. `None` in a brief kept before
    /// they were counted.
    #[serde(default)]
    pub true_positives: Option<i64>,
    #[serde(default)]
    pub unknown: Option<i64>,
}

/// A case the brief names, personal data masked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotableCase {
    pub reference: String,
    pub rule: String,
    pub queue: String,
    pub customer: String,
    pub amount: Option<String>,
    pub currency: Option<String>,
    pub at: DateTime<Utc>,
}

/// Breaches of one queue.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueBreaches {
    pub queue: String,
    pub breaches: i64,
}

/// An amount protected in one currency.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Protected {
    pub currency: String,
    pub amount: String,
}

/// Everything a brief says about one week.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    pub week: String,
    pub timezone: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// When the figures were read; for a week still running, they stop there.
    pub computed_at: DateTime<Utc>,
    pub alerts: i64,
    pub alerts_previous: i64,
    pub cases: i64,
    pub cases_previous: i64,
    pub resolved: i64,
    pub false_positives: i64,
    pub fp_customer_confirmed: i64,
    /// As in [`RuleFigures`], over every rule.
    #[serde(default)]
    pub true_positives: Option<i64>,
    #[serde(default)]
    pub unknown: Option<i64>,
    pub rules: Vec<RuleFigures>,
    pub breaches: i64,
    pub breached_cases: i64,
    pub breaches_by_queue: Vec<QueueBreaches>,
    pub protected: Vec<Protected>,
    pub top_protected: Vec<NotableCase>,
    pub reopened: i64,
    pub reopened_cases: Vec<NotableCase>,
    pub denied: i64,
    pub denied_cases: Vec<NotableCase>,
}

/// `(rule, count)` of the alerts received in `[s, e)` (index `alerts_received`).
fn alerts_by_rule(
    conn: &mut DbConn,
    s: NaiveDateTime,
    e: NaiveDateTime,
) -> QueryResult<Vec<(String, i64)>> {
    alerts::table
        .filter(alerts::received_at.ge(s))
        .filter(alerts::received_at.lt(e))
        .group_by(alerts::rule_code)
        .select((alerts::rule_code, diesel::dsl::count_star()))
        .load(conn)
}

/// `(rule, count)` of the cases opened in `[s, e)` (index `cases_opened`).
fn cases_by_rule(
    conn: &mut DbConn,
    s: NaiveDateTime,
    e: NaiveDateTime,
) -> QueryResult<Vec<(String, i64)>> {
    cases::table
        .filter(cases::opened_at.ge(s))
        .filter(cases::opened_at.lt(e))
        .group_by(cases::rule_code)
        .select((cases::rule_code, diesel::dsl::count_star()))
        .load(conn)
}

/// A closing that took effect in the week.
struct Closing {
    case_id: i64,
    at: NaiveDateTime,
    rule: String,
    disposition: String,
    confirmed: bool,
    amount: Option<String>,
    currency: Option<String>,
}

type ClosingRow = (
    i64,
    NaiveDateTime,
    Option<NaiveDateTime>,
    String,
    String,
    bool,
    Option<String>,
    Option<String>,
);

/// Closings that took effect in `[s, e)`: final ones made then, approved ones
/// approved then (both through the index on `(state, created_at)`).
fn closings(conn: &mut DbConn, s: NaiveDateTime, e: NaiveDateTime) -> QueryResult<Vec<Closing>> {
    macro_rules! closing_rows {
        () => {
            resolutions::table.inner_join(cases::table).select((
                resolutions::case_id,
                resolutions::created_at,
                resolutions::decided_at,
                cases::rule_code,
                resolutions::disposition,
                resolutions::customer_confirmed,
                resolutions::amount_protected,
                resolutions::currency,
            ))
        };
    }
    let mut rows: Vec<ClosingRow> = closing_rows!()
        .filter(resolutions::state.eq("final"))
        .filter(resolutions::created_at.ge(s))
        .filter(resolutions::created_at.lt(e))
        .load(conn)?;
    let approved: Vec<ClosingRow> = closing_rows!()
        .filter(resolutions::state.eq("approved"))
        .filter(resolutions::created_at.ge(s - APPROVAL_LOOKBACK))
        .filter(resolutions::created_at.lt(e))
        .filter(resolutions::decided_at.ge(s))
        .filter(resolutions::decided_at.lt(e))
        .load(conn)?;
    rows.extend(approved);
    Ok(rows
        .into_iter()
        .map(
            |(case_id, created, decided, rule, disposition, confirmed, amount, currency)| Closing {
                case_id,
                at: decided.unwrap_or(created),
                rule,
                disposition,
                confirmed,
                amount,
                currency,
            },
        )
        .collect())
}

/// `(case, at, data)` of the timeline events of one kind in `[s, e)`. The kind is
/// written into the statement, not bound, so that the partial index of that kind
/// (`case_events_breached`, `…_reopened`, `…_answered`) is the one used.
fn events(
    conn: &mut DbConn,
    kind: &'static str,
    s: NaiveDateTime,
    e: NaiveDateTime,
) -> QueryResult<Vec<(i64, NaiveDateTime, String)>> {
    let literal = match kind {
        "sla.breached" => "case_events.kind = 'sla.breached'",
        "case.reopened" => "case_events.kind = 'case.reopened'",
        _ => "case_events.kind = 'verification.answered'",
    };
    case_events::table
        .filter(crate::db::fixed::fixed::<diesel::sql_types::Bool>(literal))
        .filter(case_events::at.ge(s))
        .filter(case_events::at.lt(e))
        .order((case_events::at.asc(), case_events::id.asc()))
        .select((case_events::case_id, case_events::at, case_events::data))
        .load(conn)
}

/// (rule, queue, customer name) of cases, by id.
type CaseInfo = HashMap<i64, (String, String, Option<String>)>;

/// [`CaseInfo`] of each of `ids`.
fn case_info(conn: &mut DbConn, ids: &[i64]) -> QueryResult<CaseInfo> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(500) {
        let rows: Vec<(i64, String, String, Option<String>)> = cases::table
            .inner_join(queues::table)
            .inner_join(customers::table)
            .filter(cases::id.eq_any(chunk.to_vec()))
            .select((cases::id, cases::rule_code, queues::name, customers::name))
            .load(conn)?;
        for (id, rule, queue, name) in rows {
            out.insert(id, (rule, queue, name));
        }
    }
    Ok(out)
}

fn notable(
    info: &CaseInfo,
    id: i64,
    at: NaiveDateTime,
    amount: Option<(String, Option<String>)>,
) -> NotableCase {
    let (rule, queue, name) = info.get(&id).cloned().unwrap_or_default();
    let (amount, currency) = amount.map_or((None, None), |(a, c)| (Some(a), c));
    NotableCase {
        reference: case_ref(id),
        rule,
        queue,
        customer: name.as_deref().map(masking::name).unwrap_or_default(),
        amount,
        currency,
        at: store::from_db(at),
    }
}

/// Reads the figures of `week` in `tz` as they stand at `now` (a week still running
/// is read up to `now`).
pub fn compute(
    conn: &mut DbConn,
    week: IsoWeek,
    tz: Tz,
    now: DateTime<Utc>,
) -> QueryResult<Figures> {
    let (start, end) = week.range(tz);
    let (pstart, pend) = week.previous().range(tz);
    // A running week is read up to and including `now`.
    let until = end.min(now + Duration::microseconds(1)).max(start);
    let (s, e) = (store::to_db(start), store::to_db(until));
    let (ps, pe) = (store::to_db(pstart), store::to_db(pend));

    let mut rules: BTreeMap<String, RuleFigures> = BTreeMap::new();
    let rule = |code: &str| -> RuleFigures {
        RuleFigures {
            rule: code.to_string(),
            true_positives: Some(0),
            unknown: Some(0),
            ..Default::default()
        }
    };
    for (code, n) in alerts_by_rule(conn, s, e)? {
        rules
            .entry(code.clone())
            .or_insert_with(|| rule(&code))
            .alerts = n;
    }
    for (code, n) in alerts_by_rule(conn, ps, pe)? {
        rules
            .entry(code.clone())
            .or_insert_with(|| rule(&code))
            .alerts_previous = n;
    }
    for (code, n) in cases_by_rule(conn, s, e)? {
        rules
            .entry(code.clone())
            .or_insert_with(|| rule(&code))
            .cases = n;
    }
    for (code, n) in cases_by_rule(conn, ps, pe)? {
        rules
            .entry(code.clone())
            .or_insert_with(|| rule(&code))
            .cases_previous = n;
    }

    let closed = closings(conn, s, e)?;
    let mut totals: BTreeMap<String, Decimal> = BTreeMap::new();
    let mut amounts: Vec<(Decimal, &Closing)> = Vec::new();
    for c in &closed {
        let r = rules.entry(c.rule.clone()).or_insert_with(|| rule(&c.rule));
        r.resolved += 1;
        let disposition = c.disposition.parse::<Disposition>().ok();
        let count = |n: &mut Option<i64>| *n.get_or_insert(0) += 1;
        match disposition.map(Disposition::label) {
            Some(Label::TruePositive) => count(&mut r.true_positives),
            Some(Label::FalsePositive) => {
                r.false_positives += 1;
                if c.confirmed {
                    r.fp_customer_confirmed += 1;
                }
            }
            Some(Label::Unknown) => count(&mut r.unknown),
            Some(Label::NotCounted) | None => {}
        }
        if disposition == Some(Disposition::ConfirmedFraud) {
            r.confirmed_fraud += 1;
        }
        if let Some(a) = c.amount.as_deref().and_then(|a| a.parse::<Decimal>().ok())
            && a > Decimal::ZERO
        {
            let currency = c.currency.clone().unwrap_or_default();
            let t = totals.entry(currency).or_default();
            *t = t.checked_add(a).unwrap_or(*t);
            amounts.push((a, c));
        }
    }
    amounts.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.case_id.cmp(&b.1.case_id)));
    amounts.truncate(NOTABLE);

    let breach_events = events(conn, "sla.breached", s, e)?;
    let reopen_events = events(conn, "case.reopened", s, e)?;
    let denied_events: Vec<(i64, NaiveDateTime, String)> =
        events(conn, "verification.answered", s, e)?
            .into_iter()
            .filter(|(_, _, data)| {
                serde_json::from_str::<serde_json::Value>(data).is_ok_and(|v| v["answer"] == "deny")
            })
            .collect();

    // The cases the brief needs to name or place in a queue.
    let mut ids: Vec<i64> = breach_events.iter().map(|e| e.0).collect();
    ids.extend(amounts.iter().map(|(_, c)| c.case_id));
    ids.extend(reopen_events.iter().rev().take(NOTABLE).map(|e| e.0));
    ids.extend(denied_events.iter().rev().take(NOTABLE).map(|e| e.0));
    ids.sort_unstable();
    ids.dedup();
    let info = case_info(conn, &ids)?;

    let mut by_queue: BTreeMap<String, i64> = BTreeMap::new();
    for (id, _, data) in &breach_events {
        let v: serde_json::Value = serde_json::from_str(data).unwrap_or_default();
        // The queue it breached in (recorded since the board came); else its queue now.
        let queue = v["queue"]
            .as_str()
            .map(String::from)
            .or_else(|| info.get(id).map(|i| i.1.clone()))
            .unwrap_or_default();
        *by_queue.entry(queue).or_default() += 1;
    }
    let mut breaches_by_queue: Vec<QueueBreaches> = by_queue
        .into_iter()
        .map(|(queue, breaches)| QueueBreaches { queue, breaches })
        .collect();
    breaches_by_queue.sort_by(|a, b| b.breaches.cmp(&a.breaches).then(a.queue.cmp(&b.queue)));
    let mut breached_ids: Vec<i64> = breach_events.iter().map(|e| e.0).collect();
    breached_ids.sort_unstable();
    breached_ids.dedup();

    let mut rules: Vec<RuleFigures> = rules.into_values().collect();
    rules.sort_by(|a, b| {
        (b.alerts, b.cases, b.resolved)
            .cmp(&(a.alerts, a.cases, a.resolved))
            .then(a.rule.cmp(&b.rule))
    });
    let sum = |f: fn(&RuleFigures) -> i64| rules.iter().map(f).sum::<i64>();
    Ok(Figures {
        week: week.to_string(),
        timezone: tz.name().to_string(),
        starts_at: start,
        ends_at: end,
        computed_at: now,
        alerts: sum(|r| r.alerts),
        alerts_previous: sum(|r| r.alerts_previous),
        cases: sum(|r| r.cases),
        cases_previous: sum(|r| r.cases_previous),
        resolved: sum(|r| r.resolved),
        false_positives: sum(|r| r.false_positives),
        fp_customer_confirmed: sum(|r| r.fp_customer_confirmed),
        true_positives: rules.iter().map(|r| r.true_positives).sum(),
        unknown: rules.iter().map(|r| r.unknown).sum(),
        breaches: breach_events.len() as i64,
        breached_cases: breached_ids.len() as i64,
        breaches_by_queue,
        protected: totals
            .into_iter()
            .map(|(currency, amount)| Protected {
                currency,
                amount: amount.to_string(),
            })
            .collect(),
        top_protected: amounts
            .iter()
            .map(|(a, c)| {
                notable(
                    &info,
                    c.case_id,
                    c.at,
                    Some((a.to_string(), c.currency.clone())),
                )
            })
            .collect(),
        reopened: reopen_events.len() as i64,
        reopened_cases: reopen_events
            .iter()
            .rev()
            .take(NOTABLE)
            .map(|(id, at, _)| notable(&info, *id, *at, None))
            .collect(),
        denied: denied_events.len() as i64,
        denied_cases: denied_events
            .iter()
            .rev()
            .take(NOTABLE)
            .map(|(id, at, _)| notable(&info, *id, *at, None))
            .collect(),
        rules,
    })
}

/// A stored brief: its figures and when it was mailed.
#[derive(Debug, Clone)]
pub struct Stored {
    pub figures: Figures,
    pub mailed_at: Option<NaiveDateTime>,
}

/// The stored brief of `week`, if there is one.
pub fn stored(conn: &mut DbConn, week: IsoWeek) -> QueryResult<Option<Stored>> {
    let row: Option<(String, Option<NaiveDateTime>)> = weekly_briefs::table
        .find(week.to_string())
        .select((weekly_briefs::figures, weekly_briefs::mailed_at))
        .first(conn)
        .optional()?;
    Ok(row.and_then(|(json, mailed_at)| {
        serde_json::from_str(&json)
            .ok()
            .map(|figures| Stored { figures, mailed_at })
    }))
}

/// The weeks with a stored brief, newest first: (week, mailed at).
pub fn stored_weeks(conn: &mut DbConn) -> QueryResult<Vec<(String, Option<NaiveDateTime>)>> {
    weekly_briefs::table
        .select((weekly_briefs::week, weekly_briefs::mailed_at))
        .order(weekly_briefs::starts_at.desc())
        .limit(520)
        .load(conn)
}

/// Keeps a finished week's figures, unless a row for the week exists already (the
/// first one stays). Returns whether this call stored it.
pub fn keep(conn: &mut DbConn, figures: &Figures, now: DateTime<Utc>) -> QueryResult<bool> {
    let json = serde_json::to_string(figures).expect("figures serialize");
    let n = dispatch!(conn, |c| diesel::insert_into(weekly_briefs::table)
        .values((
            weekly_briefs::week.eq(&figures.week),
            weekly_briefs::starts_at.eq(store::to_db(figures.starts_at)),
            weekly_briefs::ends_at.eq(store::to_db(figures.ends_at)),
            weekly_briefs::timezone.eq(&figures.timezone),
            weekly_briefs::figures.eq(&json),
            weekly_briefs::built_at.eq(store::to_db(now)),
        ))
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(n > 0)
}

/// The brief of `week` as of `now`: stored if it is; else, for a finished week,
/// read and stored now; for the running week, read live (never stored).
pub fn get(
    conn: &mut DbConn,
    week: IsoWeek,
    tz: Tz,
    now: DateTime<Utc>,
) -> QueryResult<(Figures, bool)> {
    if let Some(s) = stored(conn, week)? {
        return Ok((s.figures, true));
    }
    let figures = compute(conn, week, tz, now)?;
    if week.range(tz).1 <= now {
        write_tx(conn, |c| keep(c, &figures, now))?;
        return Ok((figures, true));
    }
    Ok((figures, false))
}

/// The Monday job: when last week's brief is due (Monday 06:00 in the desk's zone)
/// and not yet mailed, stores it and queues one e-mail per active supervisor, in
/// their language, through the outbox, all in one transaction. Several instances may
/// run it at once: only the one whose conditional update marks the week mailed
/// sends. Returns the week and the number of e-mails queued when it fired.
pub fn run_due(
    conn: &mut DbConn,
    settings: &Settings,
    now: DateTime<Utc>,
) -> QueryResult<Option<(IsoWeek, usize)>> {
    let tz = settings.desk_timezone;
    let Some(week) = crate::domain::week::due_brief(now, tz) else {
        return Ok(None);
    };
    let existing = stored(conn, week)?;
    if existing.as_ref().is_some_and(|s| s.mailed_at.is_some()) {
        return Ok(None);
    }
    // Read outside the write transaction, so writers wait only for the few writes.
    let fresh = match existing {
        Some(_) => None,
        None => Some(compute(conn, week, tz, now)?),
    };
    write_tx(conn, |conn| {
        if let Some(f) = &fresh {
            keep(conn, f, now)?;
        }
        let won = diesel::update(
            weekly_briefs::table
                .find(week.to_string())
                .filter(weekly_briefs::mailed_at.is_null()),
        )
        .set(weekly_briefs::mailed_at.eq(Some(store::to_db(now))))
        .execute(conn)?;
        if won == 0 {
            return Ok(None);
        }
        let Some(brief) = stored(conn, week)? else {
            return Ok(None);
        };
        let people: Vec<(String, Option<String>)> = users::table
            .filter(users::role.eq("supervisor"))
            .filter(users::active.eq(true))
            .select((users::email, users::language))
            .order(users::id.asc())
            .load(conn)?;
        for (email, language) in &people {
            let tr = Tr::new(
                language
                    .as_deref()
                    .and_then(Lang::parse)
                    .unwrap_or_default(),
            );
            let (subject, text) = mail_text(&tr, &brief.figures, &settings.public_url);
            crate::mail::outbox::enqueue(
                conn,
                now,
                &crate::mail::outbox::NewMail {
                    kind: "weekly_brief",
                    case_id: None,
                    to: email,
                    subject: &subject,
                    text: &text,
                    html: None,
                },
            )?;
        }
        Ok(Some((week, people.len())))
    })
}

/// A share in whole per cent of `n` in `of`, or "–" when `of` is zero.
pub fn percent(n: i64, of: i64) -> String {
    if of == 0 {
        "–".to_string()
    } else {
        format!("{}%", (n * 100 + of / 2) / of)
    }
}

/// The false-positive rate in whole per cent: false positives ÷ (true + false
/// positives), as the closings' labels count them ([`Tally::fp_fraction`]); "–" when
/// no closing tells, or for a brief kept before true positives were counted.
pub fn fp_rate(false_positives: i64, true_positives: Option<i64>) -> String {
    let tally = true_positives.map(|tp| Tally {
        true_positive: tp.max(0) as u64,
        false_positive: false_positives.max(0) as u64,
        ..Tally::default()
    });
    match tally.and_then(|t| t.fp_fraction()) {
        Some((n, of)) => percent(n as i64, of as i64),
        None => "–".to_string(),
    }
}

/// A count kept in a brief, or "–" for one kept before it was counted.
pub fn count_text(n: Option<i64>) -> String {
    n.map_or_else(|| "–".to_string(), |n| n.to_string())
}

/// The change from `before` to `now` as `+12 (+40%)`, `−3 (−10%)` or `+5 (new)`.
pub fn change(now: i64, before: i64) -> String {
    let d = now - before;
    let sign = if d > 0 {
        "+"
    } else if d < 0 {
        "−"
    } else {
        "±"
    };
    if before == 0 {
        return if d == 0 {
            "±0".to_string()
        } else {
            format!("{sign}{}", d.abs())
        };
    }
    let p = (d.abs() * 100 + before / 2) / before;
    format!("{sign}{} ({sign}{p}%)", d.abs())
}

/// The subject and text of the brief's e-mail in `tr`'s language: the headline
/// figures and the link to the page (no personal data).
pub fn mail_text(tr: &Tr, f: &Figures, public_url: &str) -> (String, String) {
    let link = format!("{public_url}/briefs/{}", f.week);
    let subject = tr.tf("brief.mail.subject", &[("week", &f.week)]);
    let mut text = tr.tf(
        "brief.mail.intro",
        &[("week", &f.week), ("timezone", &f.timezone)],
    );
    text.push_str("\n\n");
    for (key, now, before) in [
        ("brief.mail.alerts", f.alerts, f.alerts_previous),
        ("brief.mail.cases", f.cases, f.cases_previous),
    ] {
        text.push_str(&tr.tf(
            key,
            &[("n", &now.to_string()), ("change", &change(now, before))],
        ));
        text.push('\n');
    }
    let (n, confirmed) = (
        f.false_positives.to_string(),
        f.fp_customer_confirmed.to_string(),
    );
    text.push_str(&match (f.true_positives, f.unknown) {
        (Some(tp), Some(unknown)) => tr.tf(
            "brief.mail.false_positives",
            &[
                ("n", &n),
                ("decided", &(tp + f.false_positives).to_string()),
                ("rate", &fp_rate(f.false_positives, Some(tp))),
                ("confirmed", &confirmed),
                ("unknown", &unknown.to_string()),
            ],
        ),
        // A brief kept before the labels were counted: no rate to give.
        _ => tr.tf(
            "brief.mail.false_positives_unlabelled",
            &[
                ("n", &n),
                ("resolved", &f.resolved.to_string()),
                ("confirmed", &confirmed),
            ],
        ),
    });
    text.push('\n');
    text.push_str(&tr.tf(
        "brief.mail.breaches",
        &[
            ("n", &f.breaches.to_string()),
            ("cases", &f.breached_cases.to_string()),
        ],
    ));
    text.push('\n');
    text.push_str(&tr.tf(
        "brief.mail.reopened_denied",
        &[
            ("reopened", &f.reopened.to_string()),
            ("denied", &f.denied.to_string()),
        ],
    ));
    text.push_str("\n\n");
    text.push_str(&tr.tf("brief.mail.link", &[("link", &link)]));
    text.push('\n');
    (subject, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_and_shares_read_well() {
        assert_eq!(change(14, 10), "+4 (+40%)");
        assert_eq!(change(9, 10), "−1 (−10%)");
        assert_eq!(change(10, 10), "±0 (±0%)");
        assert_eq!(change(5, 0), "+5");
        assert_eq!(change(0, 0), "±0");
        assert_eq!(percent(1, 3), "33%");
        assert_eq!(percent(2, 3), "67%");
        assert_eq!(percent(0, 0), "–");
        // One false positive and one true positive: 50 %, whatever else was closed.
        assert_eq!(fp_rate(1, Some(1)), "50%");
        assert_eq!(fp_rate(2, Some(1)), "67%");
        assert_eq!(fp_rate(0, Some(3)), "0%");
        // Nothing that tells, or a brief kept before true positives were counted.
        assert_eq!(fp_rate(0, Some(0)), "–");
        assert_eq!(fp_rate(4, None), "–");
        assert_eq!(count_text(Some(0)), "0");
        assert_eq!(count_text(None), "–");
    }
}
