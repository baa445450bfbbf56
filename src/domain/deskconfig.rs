// The desk's configuration as a whole (calendars, SLA policies, queues, rules,
// routes, campaign rules, on-call rotas): parsed from the TOML file format with every problem listed, and written
// back in the same format.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use chrono::{DateTime, Utc};
use toml::Value;

use super::calendar::{BusinessCalendar, CalendarInput};
use super::campaign::{self, CampaignDef};
use super::money::{Decimal, check_currency};
use super::oncall::{self, Rota};
use super::routing::{RouteDef, RuleDef};
use super::severity::{Priority, Severity};
use super::sla::Targets;
use super::{FieldProblem, ProblemText};
use crate::i18n::tkey;

pub const ALWAYS_OPEN: &str = "24/7";

#[derive(Debug, Clone, PartialEq)]
pub struct CalendarDef {
    pub name: String,
    pub calendar: BusinessCalendar,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PolicyDef {
    pub name: String,
    /// A calendar's name or "24/7".
    pub calendar: String,
    pub warn_at_percent: Vec<i32>,
    pub max_pause_minutes: i64,
    pub targets: BTreeMap<Priority, Targets>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct QueueDef {
    pub name: String,
    pub sla_policy: String,
    pub skills: Vec<String>,
    /// Where the queue's cases go when they breach their SLA.
    pub escalation_queue: Option<String>,
    /// The share of cases (per cent) that should be resolved within the resolution
    /// target; the reports compare what happened against it (unset: 90).
    pub service_level: Option<i64>,
    /// The on-call rota paged for the queue's emergencies.
    pub oncall: Option<String>,
}

/// A whole, valid configuration: every reference resolves.
#[derive(Debug, Clone, PartialEq)]
pub struct DeskConfig {
    pub triage_queue: String,
    pub calendars: Vec<CalendarDef>,
    pub sla_policies: Vec<PolicyDef>,
    pub queues: Vec<QueueDef>,
    pub rules: Vec<RuleDef>,
    pub routes: Vec<RouteDef>,
    /// When many customers tied by one identifier make one campaign.
    pub campaigns: Vec<CampaignDef>,
    /// The on-call rotas (`[[oncall]]`), in the file's order.
    pub oncall: Vec<Rota>,
    /// Alert attribute keys shown unmasked (`public_attributes`); every other key is
    /// masked. Sorted, without doubles.
    pub public_attributes: Vec<String>,
}

struct Checker {
    problems: Vec<FieldProblem>,
}

impl Checker {
    /// A problem whose message is the catalog's `key` with `args`.
    fn problem(
        &mut self,
        field: impl Into<String>,
        key: &'static str,
        args: &[(&'static str, &str)],
    ) {
        self.problems.push(FieldProblem::keyed(field, key, args));
    }

    /// A problem whose message another parser gave as a catalog text.
    fn text(&mut self, field: impl Into<String>, text: ProblemText) {
        self.problems.push(FieldProblem::text(field, text));
    }

    fn keys(&mut self, path: &str, table: &toml::Table, allowed: &[&str]) {
        for k in table.keys() {
            if !allowed.contains(&k.as_str()) {
                self.problem(join(path, k), tkey("config.error.unknown_key"), &[]);
            }
        }
    }

    fn string(
        &mut self,
        path: &str,
        table: &toml::Table,
        key: &str,
        required: bool,
    ) -> Option<String> {
        match table.get(key) {
            None => {
                if required {
                    self.problem(join(path, key), tkey("config.error.required"), &[]);
                }
                None
            }
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Some(Value::String(_)) => {
                self.problem(join(path, key), tkey("config.error.empty"), &[]);
                None
            }
            Some(_) => {
                self.problem(join(path, key), tkey("config.error.string"), &[]);
                None
            }
        }
    }

    fn integer(
        &mut self,
        path: &str,
        table: &toml::Table,
        key: &str,
        range: std::ops::RangeInclusive<i64>,
    ) -> Option<i64> {
        match table.get(key) {
            None => None,
            Some(Value::Integer(i)) if range.contains(i) => Some(*i),
            Some(Value::Integer(i)) => {
                self.problem(
                    join(path, key),
                    tkey("config.error.out_of_range"),
                    &[
                        ("value", &i.to_string()),
                        ("min", &range.start().to_string()),
                        ("max", &range.end().to_string()),
                    ],
                );
                None
            }
            Some(_) => {
                self.problem(join(path, key), tkey("config.error.whole_number"), &[]);
                None
            }
        }
    }

    fn strings(&mut self, path: &str, table: &toml::Table, key: &str) -> Vec<String> {
        match table.get(key) {
            None => Vec::new(),
            Some(Value::Array(items)) => {
                let mut out = Vec::new();
                for (i, v) in items.iter().enumerate() {
                    match v {
                        Value::String(s) if !s.trim().is_empty() => out.push(s.trim().to_string()),
                        _ => self.problem(
                            format!("{}[{i}]", join(path, key)),
                            tkey("config.error.non_empty_string"),
                            &[],
                        ),
                    }
                }
                out
            }
            Some(_) => {
                self.problem(join(path, key), tkey("config.error.string_list"), &[]);
                Vec::new()
            }
        }
    }

    fn time(&mut self, path: &str, table: &toml::Table, key: &str) -> Option<DateTime<Utc>> {
        let text = match table.get(key)? {
            Value::String(s) => s.clone(),
            Value::Datetime(d) => d.to_string(),
            _ => {
                self.problem(join(path, key), tkey("config.error.datetime_shape"), &[]);
                return None;
            }
        };
        match DateTime::parse_from_rfc3339(&text) {
            Ok(t) => Some(t.with_timezone(&Utc)),
            Err(_) => {
                self.problem(
                    join(path, key),
                    tkey("config.error.datetime"),
                    &[("text", &text)],
                );
                None
            }
        }
    }

    fn severity(&mut self, path: &str, table: &toml::Table, key: &str) -> Option<Severity> {
        let s = self.string(path, table, key, false)?;
        match Severity::check(&s) {
            Ok(v) => Some(v),
            Err(e) => {
                self.text(join(path, key), e);
                None
            }
        }
    }
}

/// A rule's amount limit (`release_on_confirm_up_to`, `emergency_amount`): an amount
/// (`"5000.00"`, any currency), a list (`"5000.00 CNY, 700 USD"`), or a table of
/// amounts by currency (`{ CNY = "5000.00", USD = "700.00" }`).
fn amount_limit(
    c: &mut Checker,
    path: &str,
    t: &toml::Table,
    key: &str,
) -> Option<crate::domain::resolution::ReleaseThresholds> {
    use crate::domain::resolution::ReleaseThresholds;
    let text = match t.get(key)? {
        Value::String(s) => s.clone(),
        Value::Table(by) => {
            let mut parts = Vec::new();
            for (currency, amount) in by {
                match amount {
                    Value::String(a) => parts.push(format!("{a} {currency}")),
                    _ => {
                        c.problem(
                            join(&join(path, key), currency),
                            tkey("config.error.amount_string"),
                            &[],
                        );
                        return None;
                    }
                }
            }
            parts.join(", ")
        }
        _ => {
            c.problem(join(path, key), tkey("config.error.amount_shape"), &[]);
            return None;
        }
    };
    match ReleaseThresholds::check(&text) {
        Ok(limit) => Some(limit),
        Err(e) => {
            c.text(join(path, key), e);
            None
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn tables<'a>(c: &mut Checker, root: &'a toml::Table, key: &str) -> Vec<(String, &'a toml::Table)> {
    match root.get(key) {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .filter_map(|(i, v)| match v {
                Value::Table(t) => Some((format!("{key}[{i}]"), t)),
                _ => {
                    c.problem(format!("{key}[{i}]"), tkey("config.error.table"), &[]);
                    None
                }
            })
            .collect(),
        Some(_) => {
            c.problem(key, tkey("config.error.tables"), &[("key", key)]);
            Vec::new()
        }
    }
}

/// The `[[oncall]]` rotas: each problem named by its path, with a translatable
/// message. Members are checked against `users` when given.
fn parse_rotas(c: &mut Checker, root: &toml::Table, users: Option<&HashSet<String>>) -> Vec<Rota> {
    let mut rotas = Vec::new();
    let mut names = HashSet::new();
    let mut nexts = Vec::new();
    for (path, t) in tables(c, root, "oncall") {
        c.keys(
            &path,
            t,
            &[
                "name",
                "timezone",
                "members",
                "rotation_hours",
                "handover",
                "ack_minutes",
                "next",
            ],
        );
        let name = c.string(&path, t, "name", true);
        if let Some(n) = &name {
            unique(
                c,
                &join(&path, "name"),
                &mut names,
                n,
                tkey("config.error.twice.rota"),
            );
        }
        let timezone =
            c.string(&path, t, "timezone", true)
                .and_then(|tz| match tz.parse::<chrono_tz::Tz>() {
                    Ok(tz) => Some(tz),
                    Err(_) => {
                        c.problems.push(FieldProblem::keyed(
                            join(&path, "timezone"),
                            tkey("oncall.problem.timezone"),
                            &[("text", &tz)],
                        ));
                        None
                    }
                });
        let members: Vec<String> = c
            .strings(&path, t, "members")
            .into_iter()
            .map(|m| m.to_lowercase())
            .collect();
        if members.is_empty() && !matches!(t.get("members"), Some(v) if !v.is_array()) {
            c.problems.push(FieldProblem::keyed(
                join(&path, "members"),
                tkey("oncall.problem.no_members"),
                &[],
            ));
        }
        let mut seen = HashSet::new();
        for (i, m) in members.iter().enumerate() {
            let at = format!("{path}.members[{i}]");
            if !seen.insert(m.as_str()) {
                c.problems.push(FieldProblem::keyed(
                    at,
                    tkey("oncall.problem.member_twice"),
                    &[("email", m)],
                ));
            } else if let Some(users) = users
                && !users.contains(m)
            {
                c.problems.push(FieldProblem::keyed(
                    at,
                    tkey("oncall.problem.unknown_user"),
                    &[("email", m)],
                ));
            }
        }
        let rotation_hours = match t.get("rotation_hours") {
            None => {
                c.problem(
                    join(&path, "rotation_hours"),
                    tkey("config.error.required"),
                    &[],
                );
                None
            }
            Some(Value::Integer(h)) if oncall::ROTATION_HOURS.contains(h) => Some(*h),
            Some(Value::Integer(h)) => {
                c.problems.push(FieldProblem::keyed(
                    join(&path, "rotation_hours"),
                    tkey("oncall.problem.rotation_hours"),
                    &[
                        ("hours", &h.to_string()),
                        ("max", &oncall::ROTATION_HOURS.end().to_string()),
                    ],
                ));
                None
            }
            Some(_) => {
                c.problem(
                    join(&path, "rotation_hours"),
                    tkey("config.error.whole_number"),
                    &[],
                );
                None
            }
        };
        let handover = match t.get("handover") {
            None => {
                c.problem(join(&path, "handover"), tkey("config.error.required"), &[]);
                None
            }
            Some(v) => {
                let text = match v {
                    Value::String(s) => s.trim().to_string(),
                    Value::Datetime(d) => d.to_string(),
                    other => other.to_string(),
                };
                match DateTime::parse_from_rfc3339(&text) {
                    Ok(at) => Some(at.with_timezone(&Utc)),
                    Err(_) => {
                        c.problems.push(FieldProblem::keyed(
                            join(&path, "handover"),
                            tkey("oncall.problem.handover"),
                            &[("text", &text)],
                        ));
                        None
                    }
                }
            }
        };
        let ack_minutes = c
            .integer(&path, t, "ack_minutes", oncall::ACK_MINUTES)
            .unwrap_or(oncall::DEFAULT_ACK_MINUTES);
        let next = c.string(&path, t, "next", false);
        if let Some(n) = &name {
            nexts.push((path.clone(), n.clone(), next.clone()));
        }
        if let (Some(name), Some(timezone), Some(rotation_hours), Some(handover)) =
            (name, timezone, rotation_hours, handover)
            && !members.is_empty()
        {
            rotas.push(Rota {
                name,
                timezone,
                members,
                rotation_hours,
                handover,
                ack_minutes,
                next,
            });
        }
    }
    for (path, _, next) in &nexts {
        if let Some(n) = next
            && !names.contains(n)
        {
            c.problems.push(FieldProblem::keyed(
                join(path, "next"),
                tkey("oncall.problem.unknown_next"),
                &[("name", n)],
            ));
        }
    }
    let chain: Vec<(String, Option<String>)> = nexts
        .iter()
        .map(|(_, name, next)| (name.clone(), next.clone()))
        .collect();
    for (i, names) in oncall::looping(&chain) {
        c.problems.push(FieldProblem::keyed(
            join(&nexts[i].0, "next"),
            tkey("oncall.problem.next_loops"),
            &[("chain", &names.join(" → "))],
        ));
    }
    rotas
}

/// Refuses a name met before; `key` says what it names ("calendar '{name}' is
/// defined twice").
fn unique(c: &mut Checker, path: &str, seen: &mut HashSet<String>, name: &str, key: &'static str) {
    if !seen.insert(name.to_string()) {
        c.problem(path, key, &[("name", name)]);
    }
}

impl DeskConfig {
    /// Parses and validates a configuration file; on any problem, returns them all.
    /// Whether the users a rota names exist is not checked (see [`Self::parse_knowing`]).
    pub fn parse(text: &str) -> Result<DeskConfig, Vec<FieldProblem>> {
        Self::parse_knowing(text, None)
    }

    /// [`Self::parse`], also checking that every member of an on-call rota is one of
    /// `users` (lower-case e-mail addresses) when given.
    pub fn parse_knowing(
        text: &str,
        users: Option<&HashSet<String>>,
    ) -> Result<DeskConfig, Vec<FieldProblem>> {
        let root: toml::Table = match text.parse() {
            Ok(t) => t,
            Err(e) => {
                let msg = e.message().to_string();
                let line = e
                    .span()
                    .map(|s| text[..s.start.min(text.len())].lines().count().max(1));
                let field = line.map(|l| format!("line {l}")).unwrap_or_default();
                return Err(vec![FieldProblem::keyed(
                    field,
                    tkey("config.error.toml"),
                    &[("detail", &msg)],
                )]);
            }
        };
        let mut c = Checker {
            problems: Vec::new(),
        };
        c.keys(
            "",
            &root,
            &[
                "triage_queue",
                "public_attributes",
                "calendars",
                "sla_policies",
                "queues",
                "rules",
                "routes",
                "campaigns",
                "oncall",
            ],
        );

        // calendars
        let mut calendars = Vec::new();
        let mut calendar_names = HashSet::new();
        for (path, t) in tables(&mut c, &root, "calendars") {
            c.keys(&path, t, &["name", "timezone", "holidays", "hours"]);
            let name = c.string(&path, t, "name", true);
            if let Some(n) = &name {
                if n == ALWAYS_OPEN {
                    c.problem(
                        join(&path, "name"),
                        tkey("config.error.reserved_calendar"),
                        &[],
                    );
                }
                unique(
                    &mut c,
                    &join(&path, "name"),
                    &mut calendar_names,
                    n,
                    tkey("config.error.twice.calendar"),
                );
            }
            let timezone = c.string(&path, t, "timezone", true).unwrap_or_default();
            let holidays = c.strings(&path, t, "holidays");
            let mut hours: BTreeMap<String, Vec<[String; 2]>> = BTreeMap::new();
            match t.get("hours") {
                None => {}
                Some(Value::Table(h)) => {
                    for (day, v) in h {
                        let Value::Array(list) = v else {
                            c.problem(
                                format!("{path}.hours.{day}"),
                                tkey("config.error.hours_list"),
                                &[],
                            );
                            continue;
                        };
                        let mut pairs = Vec::new();
                        for (i, pair) in list.iter().enumerate() {
                            match pair.as_array().map(|a| a.as_slice()) {
                                Some([Value::String(a), Value::String(b)]) => {
                                    pairs.push([a.clone(), b.clone()])
                                }
                                _ => c.problem(
                                    format!("{path}.hours.{day}[{i}]"),
                                    tkey("config.error.hours_pair"),
                                    &[],
                                ),
                            }
                        }
                        hours.insert(day.clone(), pairs);
                    }
                }
                Some(_) => c.problem(join(&path, "hours"), tkey("config.error.hours_table"), &[]),
            }
            if timezone.is_empty() {
                continue;
            }
            match BusinessCalendar::parse(&CalendarInput {
                timezone: &timezone,
                hours: &hours,
                holidays: &holidays,
            }) {
                Ok(calendar) => {
                    if let Some(name) = name {
                        calendars.push(CalendarDef { name, calendar });
                    }
                }
                Err(problems) => {
                    for p in problems {
                        c.text(join(&path, &p.field), p.text);
                    }
                }
            }
        }

        // SLA policies
        let mut policies = Vec::new();
        let mut policy_names = HashSet::new();
        for (path, t) in tables(&mut c, &root, "sla_policies") {
            c.keys(
                &path,
                t,
                &[
                    "name",
                    "calendar",
                    "warn_at_percent",
                    "max_pause_minutes",
                    "targets",
                ],
            );
            let name = c.string(&path, t, "name", true);
            if let Some(n) = &name {
                unique(
                    &mut c,
                    &join(&path, "name"),
                    &mut policy_names,
                    n,
                    tkey("config.error.twice.policy"),
                );
            }
            let calendar = c
                .string(&path, t, "calendar", false)
                .unwrap_or_else(|| ALWAYS_OPEN.into());
            if calendar != ALWAYS_OPEN && !calendar_names.contains(&calendar) {
                c.problem(
                    join(&path, "calendar"),
                    tkey("config.error.no_calendar"),
                    &[("name", &calendar)],
                );
            }
            let mut warn = Vec::new();
            match t.get("warn_at_percent") {
                None => {}
                Some(Value::Array(items)) => {
                    for (i, v) in items.iter().enumerate() {
                        match v {
                            Value::Integer(p) if (1..=99).contains(p) => warn.push(*p as i32),
                            _ => c.problem(
                                format!("{path}.warn_at_percent[{i}]"),
                                tkey("config.error.warn_percent"),
                                &[],
                            ),
                        }
                    }
                    if warn.windows(2).any(|w| w[0] >= w[1]) {
                        c.problem(
                            join(&path, "warn_at_percent"),
                            tkey("config.error.warn_order"),
                            &[],
                        );
                    }
                }
                Some(_) => c.problem(
                    join(&path, "warn_at_percent"),
                    tkey("config.error.warn_list"),
                    &[],
                ),
            }
            let max_pause = c
                .integer(&path, t, "max_pause_minutes", 0..=525_600)
                .unwrap_or(0);
            let mut targets = BTreeMap::new();
            match t.get("targets") {
                Some(Value::Table(tt)) => {
                    let tpath = join(&path, "targets");
                    c.keys(&tpath, tt, &["critical", "high", "medium", "low"]);
                    for sev in Severity::ALL {
                        let spath = join(&tpath, sev.as_str());
                        match tt.get(sev.as_str()) {
                            Some(Value::Table(st)) => {
                                c.keys(&spath, st, &["first_response", "resolution"]);
                                let fr = c.integer(&spath, st, "first_response", 1..=525_600);
                                let res = c.integer(&spath, st, "resolution", 1..=5_256_000);
                                if !st.contains_key("first_response") {
                                    c.problem(
                                        join(&spath, "first_response"),
                                        tkey("config.error.required"),
                                        &[],
                                    );
                                }
                                if !st.contains_key("resolution") {
                                    c.problem(
                                        join(&spath, "resolution"),
                                        tkey("config.error.required"),
                                        &[],
                                    );
                                }
                                if let (Some(fr), Some(res)) = (fr, res) {
                                    if fr > res {
                                        c.problem(&spath, tkey("config.error.targets_order"), &[]);
                                    }
                                    targets.insert(
                                        sev,
                                        Targets {
                                            first_response: fr,
                                            resolution: res,
                                        },
                                    );
                                }
                            }
                            Some(_) => c.problem(spath, tkey("config.error.target_shape"), &[]),
                            None => c.problem(spath, tkey("config.error.target_missing"), &[]),
                        }
                    }
                }
                Some(_) => c.problem(join(&path, "targets"), tkey("config.error.table"), &[]),
                None => c.problem(join(&path, "targets"), tkey("config.error.required"), &[]),
            }
            if let Some(name) = name {
                policies.push(PolicyDef {
                    name,
                    calendar,
                    warn_at_percent: warn,
                    max_pause_minutes: max_pause,
                    targets,
                });
            }
        }

        // on-call rotas (before the queues, which name them)
        let rotas = parse_rotas(&mut c, &root, users);
        let rota_names: HashSet<String> = rotas.iter().map(|r| r.name.clone()).collect();

        // queues
        let mut queues = Vec::new();
        let mut queue_names = HashSet::new();
        for (path, t) in tables(&mut c, &root, "queues") {
            c.keys(
                &path,
                t,
                &[
                    "name",
                    "sla_policy",
                    "skills",
                    "escalation_queue",
                    "service_level",
                    "oncall",
                ],
            );
            let name = c.string(&path, t, "name", true);
            if let Some(n) = &name {
                unique(
                    &mut c,
                    &join(&path, "name"),
                    &mut queue_names,
                    n,
                    tkey("config.error.twice.queue"),
                );
            }
            let policy = c.string(&path, t, "sla_policy", true);
            if let Some(p) = &policy
                && !policy_names.contains(p)
            {
                c.problem(
                    join(&path, "sla_policy"),
                    tkey("config.error.no_policy"),
                    &[("name", p)],
                );
            }
            let skills = c.strings(&path, t, "skills");
            let escalation_queue = c.string(&path, t, "escalation_queue", false);
            let service_level = c.integer(&path, t, "service_level", 1..=100);
            let rota = c.string(&path, t, "oncall", false);
            if let Some(r) = &rota
                && !rota_names.contains(r)
            {
                c.problems.push(FieldProblem::keyed(
                    join(&path, "oncall"),
                    tkey("oncall.problem.unknown_rota"),
                    &[("name", r)],
                ));
            }
            if let (Some(name), Some(sla_policy)) = (name, policy) {
                queues.push(QueueDef {
                    name,
                    sla_policy,
                    skills,
                    escalation_queue,
                    service_level,
                    oncall: rota,
                });
            }
        }
        for (i, q) in queues.iter().enumerate() {
            if let Some(e) = &q.escalation_queue {
                if !queue_names.contains(e) {
                    c.problem(
                        format!("queues[{i}].escalation_queue"),
                        tkey("config.error.no_queue"),
                        &[("name", e)],
                    );
                } else if e == &q.name {
                    c.problem(
                        format!("queues[{i}].escalation_queue"),
                        tkey("config.error.self_escalation"),
                        &[],
                    );
                }
            }
        }

        // rules
        let mut rules = Vec::new();
        let mut rule_codes = HashSet::new();
        let mut categories = BTreeSet::new();
        for (path, t) in tables(&mut c, &root, "rules") {
            c.keys(
                &path,
                t,
                &[
                    "code",
                    "name",
                    "category",
                    "default_severity",
                    "weight",
                    "verify_by_email",
                    "release_on_confirm_up_to",
                    "emergency_amount",
                ],
            );
            let code = c.string(&path, t, "code", true);
            if let Some(code) = &code {
                if !code
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '_' | '-' | '.'))
                {
                    c.problem(
                        join(&path, "code"),
                        tkey("config.error.rule_code"),
                        &[("code", code)],
                    );
                }
                unique(
                    &mut c,
                    &join(&path, "code"),
                    &mut rule_codes,
                    code,
                    tkey("config.error.twice.rule"),
                );
            }
            let name = c.string(&path, t, "name", false);
            let category = c.string(&path, t, "category", true);
            if let Some(cat) = &category {
                categories.insert(cat.clone());
            }
            let severity = c.severity(&path, t, "default_severity");
            if !t.contains_key("default_severity") {
                c.problem(
                    join(&path, "default_severity"),
                    tkey("config.error.required"),
                    &[],
                );
            }
            let weight = c.integer(&path, t, "weight", 1..=100).unwrap_or(1);
            let verify_by_email = match c.string(&path, t, "verify_by_email", false).as_deref() {
                None | Some("manual") => false,
                Some("auto") => true,
                Some(other) => {
                    c.problem(
                        join(&path, "verify_by_email"),
                        tkey("config.error.verify_by_email"),
                        &[("text", other)],
                    );
                    false
                }
            };
            let release_on_confirm_up_to =
                amount_limit(&mut c, &path, t, "release_on_confirm_up_to");
            let emergency_amount = amount_limit(&mut c, &path, t, "emergency_amount");
            if let (Some(code), Some(category), Some(default_severity)) = (code, category, severity)
            {
                rules.push(RuleDef {
                    name: name.unwrap_or_else(|| code.clone()),
                    code,
                    category,
                    default_severity,
                    weight: weight as i32,
                    verify_by_email,
                    release_on_confirm_up_to,
                    emergency_amount,
                });
            }
        }

        // routes
        let mut routes = Vec::new();
        for (path, t) in tables(&mut c, &root, "routes") {
            c.keys(
                &path,
                t,
                &[
                    "rule",
                    "category",
                    "min_severity",
                    "min_amount",
                    "currency",
                    "queue",
                    "priority",
                    "valid_from",
                    "valid_until",
                ],
            );
            let rule = c.string(&path, t, "rule", false);
            if let Some(r) = &rule
                && !rule_codes.contains(r)
            {
                c.problem(
                    join(&path, "rule"),
                    tkey("config.error.no_rule"),
                    &[("code", r)],
                );
            }
            let category = c.string(&path, t, "category", false);
            if let Some(cat) = &category
                && !categories.contains(cat)
            {
                c.problem(
                    join(&path, "category"),
                    tkey("config.error.no_category"),
                    &[("name", cat)],
                );
            }
            let min_severity = c.severity(&path, t, "min_severity");
            let min_amount =
                c.string(&path, t, "min_amount", false)
                    .and_then(|s| match Decimal::check(&s) {
                        Ok(d) => Some(d),
                        Err(e) => {
                            c.text(join(&path, "min_amount"), e);
                            None
                        }
                    });
            let currency =
                c.string(&path, t, "currency", false)
                    .and_then(|s| match check_currency(&s) {
                        Ok(cur) => Some(cur),
                        Err(e) => {
                            c.text(join(&path, "currency"), e);
                            None
                        }
                    });
            let queue = c.string(&path, t, "queue", true);
            if let Some(q) = &queue
                && !queue_names.contains(q)
            {
                c.problem(
                    join(&path, "queue"),
                    tkey("config.error.no_queue"),
                    &[("name", q)],
                );
            }
            let priority = c.severity(&path, t, "priority");
            let valid_from = c.time(&path, t, "valid_from");
            let valid_until = c.time(&path, t, "valid_until");
            if let (Some(f), Some(u)) = (valid_from, valid_until)
                && f >= u
            {
                c.problem(
                    join(&path, "valid_until"),
                    tkey("config.error.valid_until"),
                    &[],
                );
            }
            if let Some(queue) = queue {
                routes.push(RouteDef {
                    rule,
                    category,
                    min_severity,
                    min_amount,
                    currency,
                    queue,
                    priority,
                    valid_from,
                    valid_until,
                });
            }
        }

        // campaigns
        let mut campaigns = Vec::new();
        let mut campaign_names = HashSet::new();
        for (path, t) in tables(&mut c, &root, "campaigns") {
            c.keys(
                &path,
                t,
                &[
                    "name",
                    "link_by",
                    "min_customers",
                    "window_minutes",
                    "rules",
                    "queue",
                ],
            );
            let name = c.string(&path, t, "name", true);
            if let Some(n) = &name {
                unique(
                    &mut c,
                    &join(&path, "name"),
                    &mut campaign_names,
                    n,
                    tkey("config.error.twice.campaign"),
                );
            }
            let link_by = c.strings(&path, t, "link_by");
            if !t.contains_key("link_by") {
                c.problem(join(&path, "link_by"), tkey("config.error.required"), &[]);
            } else if link_by.is_empty() {
                c.problem(
                    join(&path, "link_by"),
                    tkey("config.error.link_by_empty"),
                    &[],
                );
            }
            for (i, kind) in link_by.iter().enumerate() {
                if !campaign::LINK_KINDS.contains(&kind.as_str()) {
                    c.problem(
                        format!("{path}.link_by[{i}]"),
                        tkey("config.error.link_kind"),
                        &[("text", kind)],
                    );
                }
            }
            let min_customers = c
                .integer(&path, t, "min_customers", campaign::MIN_CUSTOMERS)
                .unwrap_or(5);
            let window_minutes = c
                .integer(&path, t, "window_minutes", campaign::WINDOW_MINUTES)
                .unwrap_or(60);
            let rules_of = c.strings(&path, t, "rules");
            for (i, r) in rules_of.iter().enumerate() {
                if !rule_codes.contains(r) {
                    c.problem(
                        format!("{path}.rules[{i}]"),
                        tkey("config.error.no_rule"),
                        &[("code", r)],
                    );
                }
            }
            let queue = c.string(&path, t, "queue", true);
            if let Some(q) = &queue
                && !queue_names.contains(q)
            {
                c.problem(
                    join(&path, "queue"),
                    tkey("config.error.no_queue"),
                    &[("name", q)],
                );
            }
            if let (Some(name), Some(queue)) = (name, queue) {
                campaigns.push(CampaignDef {
                    name,
                    link_by,
                    min_customers,
                    window_minutes,
                    rules: rules_of,
                    queue,
                });
            }
        }

        let triage_queue = c.string("", &root, "triage_queue", true);
        if let Some(q) = &triage_queue
            && !queue_names.contains(q)
        {
            c.problem(
                "triage_queue",
                tkey("config.error.no_queue"),
                &[("name", q)],
            );
        }

        let mut public_attributes = c.strings("", &root, "public_attributes");
        for (i, key) in public_attributes.iter().enumerate() {
            if !crate::domain::masking::is_attribute_key(key) {
                c.problem(
                    format!("public_attributes[{i}]"),
                    tkey("config.error.attribute_key"),
                    &[("text", key)],
                );
            }
        }
        public_attributes.sort();
        public_attributes.dedup();

        if !c.problems.is_empty() {
            return Err(c.problems);
        }
        Ok(DeskConfig {
            public_attributes,
            triage_queue: triage_queue.expect("checked"),
            calendars,
            sla_policies: policies,
            queues,
            rules,
            routes,
            campaigns,
            oncall: rotas,
        })
    }

    /// The configuration in the file format; parsing it gives the same configuration.
    pub fn to_toml(&self) -> String {
        let q = |s: &str| Value::String(s.to_string()).to_string();
        let list = |items: &[String]| {
            format!(
                "[{}]",
                items.iter().map(|s| q(s)).collect::<Vec<_>>().join(", ")
            )
        };
        let mut out = String::new();
        out.push_str("# riskdesk desk configuration (riskdesk config export)\n");
        out.push_str(&format!("triage_queue = {}\n", q(&self.triage_queue)));
        out.push_str("# Alert attributes shown unmasked; every other attribute is masked.\n");
        out.push_str(&format!(
            "public_attributes = {}\n",
            list(&self.public_attributes)
        ));
        for cal in &self.calendars {
            out.push_str("\n[[calendars]]\n");
            out.push_str(&format!("name = {}\n", q(&cal.name)));
            out.push_str(&format!("timezone = {}\n", q(cal.calendar.timezone_name())));
            out.push_str(&format!(
                "holidays = {}\n",
                list(&cal.calendar.holiday_strings())
            ));
            out.push_str("[calendars.hours]\n");
            let hours = cal.calendar.hours_map();
            for day in ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] {
                if let Some(intervals) = hours.get(day) {
                    let pairs: Vec<String> = intervals
                        .iter()
                        .map(|[a, b]| format!("[{}, {}]", q(a), q(b)))
                        .collect();
                    out.push_str(&format!("{day} = [{}]\n", pairs.join(", ")));
                }
            }
        }
        for p in &self.sla_policies {
            out.push_str("\n[[sla_policies]]\n");
            out.push_str(&format!("name = {}\n", q(&p.name)));
            out.push_str(&format!("calendar = {}\n", q(&p.calendar)));
            let warn: Vec<String> = p.warn_at_percent.iter().map(|w| w.to_string()).collect();
            out.push_str(&format!("warn_at_percent = [{}]\n", warn.join(", ")));
            out.push_str(&format!("max_pause_minutes = {}\n", p.max_pause_minutes));
            out.push_str("[sla_policies.targets]\n");
            for sev in Severity::ALL.iter().rev() {
                if let Some(t) = p.targets.get(sev) {
                    out.push_str(&format!(
                        "{} = {{ first_response = {}, resolution = {} }}\n",
                        sev.as_str(),
                        t.first_response,
                        t.resolution
                    ));
                }
            }
        }
        for qd in &self.queues {
            out.push_str("\n[[queues]]\n");
            out.push_str(&format!("name = {}\n", q(&qd.name)));
            out.push_str(&format!("sla_policy = {}\n", q(&qd.sla_policy)));
            out.push_str(&format!("skills = {}\n", list(&qd.skills)));
            if let Some(e) = &qd.escalation_queue {
                out.push_str(&format!("escalation_queue = {}\n", q(e)));
            }
            if let Some(p) = qd.service_level {
                out.push_str(&format!("service_level = {p}\n"));
            }
            if let Some(r) = &qd.oncall {
                out.push_str(&format!("oncall = {}\n", q(r)));
            }
        }
        for r in &self.rules {
            out.push_str("\n[[rules]]\n");
            out.push_str(&format!("code = {}\n", q(&r.code)));
            out.push_str(&format!("name = {}\n", q(&r.name)));
            out.push_str(&format!("category = {}\n", q(&r.category)));
            out.push_str(&format!(
                "default_severity = {}\n",
                q(r.default_severity.as_str())
            ));
            out.push_str(&format!("weight = {}\n", r.weight));
            if r.verify_by_email {
                out.push_str("verify_by_email = \"auto\"\n");
            }
            if let Some(limit) = &r.release_on_confirm_up_to {
                out.push_str(&format!(
                    "release_on_confirm_up_to = {}\n",
                    q(&limit.to_string())
                ));
            }
            if let Some(limit) = &r.emergency_amount {
                out.push_str(&format!("emergency_amount = {}\n", q(&limit.to_string())));
            }
        }
        for r in &self.routes {
            out.push_str("\n[[routes]]\n");
            if let Some(v) = &r.rule {
                out.push_str(&format!("rule = {}\n", q(v)));
            }
            if let Some(v) = &r.category {
                out.push_str(&format!("category = {}\n", q(v)));
            }
            if let Some(v) = r.min_severity {
                out.push_str(&format!("min_severity = {}\n", q(v.as_str())));
            }
            if let Some(v) = r.min_amount {
                out.push_str(&format!("min_amount = {}\n", q(&v.to_string())));
            }
            if let Some(v) = &r.currency {
                out.push_str(&format!("currency = {}\n", q(v)));
            }
            out.push_str(&format!("queue = {}\n", q(&r.queue)));
            if let Some(v) = r.priority {
                out.push_str(&format!("priority = {}\n", q(v.as_str())));
            }
            if let Some(v) = r.valid_from {
                out.push_str(&format!("valid_from = {}\n", q(&v.to_rfc3339())));
            }
            if let Some(v) = r.valid_until {
                out.push_str(&format!("valid_until = {}\n", q(&v.to_rfc3339())));
            }
        }
        for cd in &self.campaigns {
            out.push_str("\n[[campaigns]]\n");
            out.push_str(&format!("name = {}\n", q(&cd.name)));
            out.push_str(&format!("link_by = {}\n", list(&cd.link_by)));
            out.push_str(&format!("min_customers = {}\n", cd.min_customers));
            out.push_str(&format!("window_minutes = {}\n", cd.window_minutes));
            if !cd.rules.is_empty() {
                out.push_str(&format!("rules = {}\n", list(&cd.rules)));
            }
            out.push_str(&format!("queue = {}\n", q(&cd.queue)));
        }
        for r in &self.oncall {
            out.push_str("\n[[oncall]]\n");
            out.push_str(&format!("name = {}\n", q(&r.name)));
            out.push_str(&format!("timezone = {}\n", q(r.timezone.name())));
            out.push_str(&format!("members = {}\n", list(&r.members)));
            out.push_str(&format!("rotation_hours = {}\n", r.rotation_hours));
            // In the rota's own offset, as people write it.
            let handover = r.handover.with_timezone(&r.timezone).to_rfc3339();
            out.push_str(&format!("handover = {}\n", q(&handover)));
            out.push_str(&format!("ack_minutes = {}\n", r.ack_minutes));
            if let Some(n) = &r.next {
                out.push_str(&format!("next = {}\n", q(n)));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub const EXAMPLE: &str = r#"
triage_queue = "Triage"

[[calendars]]
name = "cn-business"
timezone = "Asia/Shanghai"
holidays = ["2026-10-01", "2026-10-02"]
[calendars.hours]
mon = [["09:00", "21:00"]]
tue = [["09:00", "12:00"], ["13:00", "21:00"]]

[[sla_policies]]
name = "fraud-fast"
calendar = "24/7"
warn_at_percent = [75, 90]
max_pause_minutes = 1440
[sla_policies.targets]
critical = { first_response = 15,  resolution = 120 }
high     = { first_response = 30,  resolution = 240 }
medium   = { first_response = 120, resolution = 1440 }
low      = { first_response = 480, resolution = 4320 }

[[queues]]
name = "Transfers"
sla_policy = "fraud-fast"
skills = ["fraud"]

[[queues]]
name = "Triage"
sla_policy = "fraud-fast"

[[rules]]
code = "LARGE_TRANSFER"
name = "Large transfer"
category = "fraud"
default_severity = "high"
weight = 1

[[routes]]
rule = "LARGE_TRANSFER"
min_amount = "50000.00"
queue = "Transfers"
priority = "critical"

[[routes]]
rule = "LARGE_TRANSFER"
queue = "Transfers"
valid_from = "2026-11-10T00:00:00+08:00"
valid_until = 2026-11-12T00:00:00+08:00
"#;

    #[test]
    fn the_contract_example_parses_and_round_trips() {
        let cfg = DeskConfig::parse(EXAMPLE).unwrap();
        assert_eq!(cfg.triage_queue, "Triage");
        assert_eq!(cfg.calendars.len(), 1);
        assert_eq!(cfg.sla_policies[0].targets.len(), 4);
        assert_eq!(cfg.routes[0].priority, Some(Severity::Critical));
        assert_eq!(
            cfg.routes[1].valid_until.unwrap().to_rfc3339(),
            "2026-11-11T16:00:00+00:00"
        );
        let text = cfg.to_toml();
        let again = DeskConfig::parse(&text).unwrap_or_else(|p| panic!("{p:?}\n{text}"));
        assert_eq!(again, cfg);
    }

    #[test]
    fn escalation_and_service_level_round_trip() {
        let text = EXAMPLE.replace(
            "skills = [\"fraud\"]\n",
            "skills = [\"fraud\"]\nescalation_queue = \"Triage\"\nservice_level = 95\n",
        );
        let cfg = DeskConfig::parse(&text).unwrap();
        assert_eq!(cfg.queues[0].service_level, Some(95));
        assert_eq!(cfg.queues[1].service_level, None);
        let out = cfg.to_toml();
        assert_eq!(out.matches("escalation_queue").count(), 1, "{out}");
        assert_eq!(DeskConfig::parse(&out).unwrap(), cfg);
        let bad = EXAMPLE.replace(
            "skills = [\"fraud\"]\n",
            "skills = [\"fraud\"]\nservice_level = 101\n",
        );
        let problems = DeskConfig::parse(&bad).unwrap_err();
        assert!(
            problems
                .iter()
                .any(|p| p.field == "queues[0].service_level"),
            "{problems:?}"
        );
    }

    #[test]
    fn campaign_rules_round_trip_and_name_every_problem() {
        let text = format!(
            "{EXAMPLE}\n[[campaigns]]\nname = \"shared-device\"\nlink_by = [\"device_id\", \"ip\", \"phone\"]\nmin_customers = 5\nwindow_minutes = 60\nrules = [\"LARGE_TRANSFER\"]\nqueue = \"Transfers\"\n"
        );
        let cfg = DeskConfig::parse(&text).unwrap();
        assert_eq!(cfg.campaigns.len(), 1);
        assert_eq!(cfg.campaigns[0].link_by, ["device_id", "ip", "phone"]);
        assert_eq!(cfg.campaigns[0].rules, ["LARGE_TRANSFER"]);
        let out = cfg.to_toml();
        assert_eq!(DeskConfig::parse(&out).unwrap(), cfg, "{out}");
        // Without rules and with the defaults, it still round-trips.
        let plain = format!(
            "{EXAMPLE}\n[[campaigns]]\nname = \"ring\"\nlink_by = [\"phone\"]\nqueue = \"Triage\"\n"
        );
        let cfg = DeskConfig::parse(&plain).unwrap();
        assert_eq!(
            (
                cfg.campaigns[0].min_customers,
                cfg.campaigns[0].window_minutes
            ),
            (5, 60)
        );
        assert!(cfg.campaigns[0].rules.is_empty());
        assert_eq!(DeskConfig::parse(&cfg.to_toml()).unwrap(), cfg);

        let bad = format!(
            "{EXAMPLE}\n[[campaigns]]\nname = \"x\"\nlink_by = [\"email\"]\nmin_customers = 1\nwindow_minutes = 0\nrules = [\"NOPE\"]\nqueue = \"Nowhere\"\ncolour = 1\n\n[[campaigns]]\nname = \"x\"\nqueue = \"Triage\"\n"
        );
        let problems = DeskConfig::parse(&bad).unwrap_err();
        let fields: Vec<String> = problems.iter().map(|p| p.field.clone()).collect();
        for f in [
            "campaigns[0].link_by[0]",
            "campaigns[0].min_customers",
            "campaigns[0].window_minutes",
            "campaigns[0].rules[0]",
            "campaigns[0].queue",
            "campaigns[0].colour",
            "campaigns[1].name",
            "campaigns[1].link_by",
        ] {
            assert!(fields.iter().any(|x| x == f), "{f} missing from {fields:?}");
        }
    }

    const ROTAS: &str = r#"
[[oncall]]
name = "fraud-duty"
timezone = "Asia/Shanghai"
members = ["olga@bank.example", "Otto@Bank.example"]  # take turns in this order
rotation_hours = 168
handover = "2026-11-30T09:00:00+08:00"
ack_minutes = 5
next = "managers"

[[oncall]]
name = "managers"
timezone = "Europe/Berlin"
members = ["mia@bank.example"]
rotation_hours = 24
handover = 2026-11-30T09:00:00+01:00
"#;

    #[test]
    fn rotas_round_trip_and_queues_name_them() {
        let text = format!("{EXAMPLE}{ROTAS}").replace(
            "skills = [\"fraud\"]\n",
            "skills = [\"fraud\"]\noncall = \"fraud-duty\"\n",
        );
        let cfg = DeskConfig::parse(&text).unwrap();
        assert_eq!(cfg.oncall.len(), 2);
        let r = &cfg.oncall[0];
        assert_eq!(r.members, ["olga@bank.example", "otto@bank.example"]);
        assert_eq!(r.handover.to_rfc3339(), "2026-11-30T01:00:00+00:00");
        assert_eq!((r.rotation_hours, r.ack_minutes), (168, 5));
        assert_eq!(r.next.as_deref(), Some("managers"));
        assert_eq!(cfg.oncall[1].ack_minutes, oncall::DEFAULT_ACK_MINUTES);
        assert_eq!(cfg.queues[0].oncall.as_deref(), Some("fraud-duty"));
        let out = cfg.to_toml();
        assert!(
            out.contains("handover = \"2026-11-30T09:00:00+08:00\""),
            "{out}"
        );
        assert!(out.contains("oncall = \"fraud-duty\""), "{out}");
        assert_eq!(DeskConfig::parse(&out).unwrap(), cfg);
        assert_eq!(DeskConfig::parse(&out).unwrap().to_toml(), out);
    }

    #[test]
    fn every_rota_problem_is_named_by_its_path() {
        let bad = format!(
            "{EXAMPLE}{}",
            r#"
[[oncall]]
name = "a"
timezone = "Mars/Base"
members = ["olga@bank.example", "nobody@bank.example"]
rotation_hours = 0
handover = "next monday"
next = "b"

[[oncall]]
name = "b"
timezone = "UTC"
members = []
rotation_hours = 24
handover = "2026-11-30T09:00:00Z"
next = "a"

[[oncall]]
name = "c"
timezone = "UTC"
members = ["olga@bank.example"]
rotation_hours = -5
handover = "2026-11-30T09:00:00Z"
next = "ghost"
"#
        )
        .replace(
            "skills = [\"fraud\"]\n",
            "skills = [\"fraud\"]\noncall = \"nope\"\n",
        );
        let users: HashSet<String> = ["olga@bank.example".to_string()].into();
        let problems = DeskConfig::parse_knowing(&bad, Some(&users)).unwrap_err();
        let fields: Vec<String> = problems.iter().map(|p| p.field.clone()).collect();
        for f in [
            "oncall[0].timezone",
            "oncall[0].members[1]",
            "oncall[0].rotation_hours",
            "oncall[0].handover",
            "oncall[0].next",
            "oncall[1].members",
            "oncall[1].next",
            "oncall[2].rotation_hours",
            "oncall[2].next",
            "queues[0].oncall",
        ] {
            assert!(fields.iter().any(|x| x == f), "{f} missing from {fields:?}");
        }
        let text = |field: &str| {
            problems
                .iter()
                .filter(|p| p.field == field)
                .map(|p| p.message.clone())
                .collect::<Vec<_>>()
                .join("; ")
        };
        assert!(text("oncall[0].members[1]").contains("nobody@bank.example"));
        assert!(text("oncall[0].next").contains("a → b → a"), "{problems:?}");
        assert!(text("oncall[2].next").contains("ghost"));
        // Without the users, their check is left to the apply.
        let problems = DeskConfig::parse(&bad).unwrap_err();
        assert!(!problems.iter().any(|p| p.field == "oncall[0].members[1]"));
        // Each rota problem can be shown in Chinese.
        let zh = crate::i18n::Tr::new(crate::domain::Lang::ZhCn);
        let p = problems
            .iter()
            .find(|p| p.field == "oncall[1].members")
            .unwrap();
        assert_eq!(p.message_in(&zh), "值班表至少需要一名成员");
    }

    #[test]
    fn every_problem_is_listed() {
        let bad = r#"
triage_queue = "Nowhere"
colour = "blue"

[[calendars]]
name = "cal"
timezone = "Mars/Base"
[calendars.hours]
mon = [["09:00", "12:00"], ["11:00", "13:00"]]

[[sla_policies]]
name = "p"
calendar = "missing-cal"
warn_at_percent = [90, 75]
[sla_policies.targets]
high = { first_response = 30, resolution = 20 }

[[queues]]
name = "Q"
sla_policy = "nope"
extra = 1

[[rules]]
code = "R"
category = "fraud"
default_severity = "severe"

[[routes]]
rule = "UNKNOWN"
queue = "Q2"
"#;
        let problems = DeskConfig::parse(bad).unwrap_err();
        let fields: Vec<String> = problems.iter().map(|p| p.field.clone()).collect();
        for f in [
            "colour",
            "calendars[0].timezone",
            "sla_policies[0].calendar",
            "sla_policies[0].warn_at_percent",
            "sla_policies[0].targets.high",
            "sla_policies[0].targets.critical",
            "queues[0].sla_policy",
            "queues[0].extra",
            "rules[0].default_severity",
            "routes[0].rule",
            "routes[0].queue",
            "triage_queue",
        ] {
            assert!(fields.iter().any(|x| x == f), "{f} missing from {fields:?}");
        }
    }

    #[test]
    fn overlapping_intervals_are_named() {
        let text = EXAMPLE.replace(
            r#"tue = [["09:00", "12:00"], ["13:00", "21:00"]]"#,
            r#"tue = [["09:00", "12:00"], ["11:00", "21:00"]]"#,
        );
        let problems = DeskConfig::parse(&text).unwrap_err();
        assert!(
            problems
                .iter()
                .any(|p| p.field.starts_with("calendars[0].hours.tue")),
            "{problems:?}"
        );
    }

    #[test]
    fn bad_toml_names_the_line() {
        let problems = DeskConfig::parse("triage_queue = \n").unwrap_err();
        assert_eq!(problems.len(), 1);
        assert!(problems[0].field.starts_with("line "), "{problems:?}");
    }
}
