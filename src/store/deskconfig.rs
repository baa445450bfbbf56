// The desk's configuration in the database: loading it whole, applying a new one
// (with the list of changes, all or nothing), and the snapshot intake routes by.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde_json::json;

use crate::db::DbConn;
use crate::db::schema::{
    app_settings, calendars, cases, oncall_overrides, oncall_rotas, queues, routes, rules,
    sla_policies,
};
use crate::domain::FieldProblem;
use crate::domain::calendar::{BusinessCalendar, Calendar, CalendarInput};
use crate::domain::deskconfig::{ALWAYS_OPEN, CalendarDef, DeskConfig, PolicyDef, QueueDef};
use crate::domain::oncall::Rota;
use crate::domain::routing::{RouteDef, RuleDef};
use crate::domain::severity::Severity;
use crate::domain::sla::{SlaPolicy, Targets};
use crate::i18n::tkey;
use crate::store::oncall::{self as oncall_store, RotaRow};
use crate::store::{self, settings};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = calendars)]
pub struct CalendarRow {
    pub id: i64,
    pub name: String,
    pub timezone: String,
    pub hours: String,
    pub holidays: String,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sla_policies)]
pub struct PolicyRow {
    pub id: i64,
    pub name: String,
    pub calendar_id: Option<i64>,
    pub warn_at_percent: String,
    pub max_pause_minutes: i32,
    pub targets: String,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = queues)]
pub struct QueueRow {
    pub id: i64,
    pub name: String,
    pub sla_policy_id: i64,
    pub skills: String,
    pub updated_at: NaiveDateTime,
    pub escalation_queue_id: Option<i64>,
    pub service_level: Option<i32>,
    pub oncall_rota_id: Option<i64>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = rules)]
pub struct RuleRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub category: String,
    pub default_severity: String,
    pub weight: i32,
    pub updated_at: NaiveDateTime,
    pub verify_by_email: bool,
    pub release_on_confirm_up_to: Option<String>,
    pub emergency_amount: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = routes)]
pub struct RouteRow {
    pub id: i64,
    pub position: i32,
    pub rule_code: Option<String>,
    pub category: Option<String>,
    pub min_severity: Option<String>,
    pub min_amount: Option<String>,
    pub currency: Option<String>,
    pub queue_id: i64,
    pub priority: Option<String>,
    pub valid_from: Option<NaiveDateTime>,
    pub valid_until: Option<NaiveDateTime>,
}

fn corrupt(what: &str, e: impl fmt::Display) -> diesel::result::Error {
    diesel::result::Error::DeserializationError(format!("stored {what} is invalid: {e}").into())
}

fn targets_json(t: &BTreeMap<Severity, Targets>) -> String {
    let m: serde_json::Map<String, serde_json::Value> = t
        .iter()
        .map(|(s, t)| {
            (
                s.as_str().to_string(),
                json!({"first_response": t.first_response, "resolution": t.resolution}),
            )
        })
        .collect();
    serde_json::Value::Object(m).to_string()
}

fn parse_targets(s: &str) -> Result<BTreeMap<Severity, Targets>, diesel::result::Error> {
    let v: BTreeMap<String, BTreeMap<String, i64>> =
        serde_json::from_str(s).map_err(|e| corrupt("targets", e))?;
    let mut out = BTreeMap::new();
    for (k, m) in v {
        let sev: Severity = k.parse().map_err(|e| corrupt("targets", e))?;
        out.insert(
            sev,
            Targets {
                first_response: *m.get("first_response").unwrap_or(&60),
                resolution: *m.get("resolution").unwrap_or(&1440),
            },
        );
    }
    Ok(out)
}

fn parse_calendar(row: &CalendarRow) -> Result<BusinessCalendar, diesel::result::Error> {
    let hours: BTreeMap<String, Vec<[String; 2]>> =
        serde_json::from_str(&row.hours).map_err(|e| corrupt("calendar hours", e))?;
    let holidays: Vec<String> =
        serde_json::from_str(&row.holidays).map_err(|e| corrupt("calendar holidays", e))?;
    BusinessCalendar::parse(&CalendarInput {
        timezone: &row.timezone,
        hours: &hours,
        holidays: &holidays,
    })
    .map_err(|p| corrupt("calendar", format!("{p:?}")))
}

fn opt_time(t: Option<NaiveDateTime>) -> Option<DateTime<Utc>> {
    t.map(store::from_db)
}

/// Everything of the configuration as rows.
struct Rows {
    calendars: Vec<CalendarRow>,
    policies: Vec<PolicyRow>,
    queues: Vec<QueueRow>,
    rules: Vec<RuleRow>,
    routes: Vec<RouteRow>,
    triage: Option<String>,
    campaigns: Option<String>,
    rotas: Vec<RotaRow>,
    public_attributes: Option<String>,
}

/// The `app_settings` entry holding the campaign rules (a JSON list): they refer to
/// queues and rules by name and change only with the whole configuration.
const CAMPAIGNS: &str = "campaigns";

/// The `app_settings` entry holding the public alert attributes (a JSON list).
const PUBLIC_ATTRIBUTES: &str = "public_attributes";

fn rows(conn: &mut DbConn) -> QueryResult<Rows> {
    Ok(Rows {
        calendars: calendars::table
            .select(CalendarRow::as_select())
            .order(calendars::id)
            .load(conn)?,
        policies: sla_policies::table
            .select(PolicyRow::as_select())
            .order(sla_policies::id)
            .load(conn)?,
        queues: queues::table
            .select(QueueRow::as_select())
            .order(queues::id)
            .load(conn)?,
        rules: rules::table
            .select(RuleRow::as_select())
            .order(rules::id)
            .load(conn)?,
        routes: routes::table
            .select(RouteRow::as_select())
            .order(routes::position)
            .load(conn)?,
        triage: settings::get(conn, "triage_queue")?,
        campaigns: settings::get(conn, CAMPAIGNS)?,
        rotas: oncall_store::rota_rows(conn)?,
        public_attributes: settings::get(conn, PUBLIC_ATTRIBUTES)?,
    })
}

/// The configuration as it stands, in the file's terms.
pub fn load(conn: &mut DbConn) -> QueryResult<DeskConfig> {
    let r = rows(conn)?;
    let cal_names: HashMap<i64, String> =
        r.calendars.iter().map(|c| (c.id, c.name.clone())).collect();
    let policy_names: HashMap<i64, String> =
        r.policies.iter().map(|p| (p.id, p.name.clone())).collect();
    let queue_names: HashMap<i64, String> =
        r.queues.iter().map(|q| (q.id, q.name.clone())).collect();
    let rota_names: HashMap<i64, String> = r.rotas.iter().map(|q| (q.id, q.name.clone())).collect();
    let mut out = DeskConfig {
        public_attributes: match &r.public_attributes {
            Some(text) => {
                serde_json::from_str(text).map_err(|e| corrupt("public_attributes", e))?
            }
            None => Vec::new(),
        },
        triage_queue: r.triage.unwrap_or_default(),
        calendars: Vec::new(),
        sla_policies: Vec::new(),
        queues: Vec::new(),
        rules: Vec::new(),
        routes: Vec::new(),
        campaigns: match &r.campaigns {
            Some(text) => serde_json::from_str(text).map_err(|e| corrupt("campaigns", e))?,
            None => Vec::new(),
        },
        oncall: r
            .rotas
            .iter()
            .map(RotaRow::to_rota)
            .collect::<Result<_, _>>()
            .map_err(|e| corrupt("on-call rota", e))?,
    };
    for c in &r.calendars {
        out.calendars.push(CalendarDef {
            name: c.name.clone(),
            calendar: parse_calendar(c)?,
        });
    }
    for p in &r.policies {
        out.sla_policies.push(PolicyDef {
            name: p.name.clone(),
            calendar: p
                .calendar_id
                .and_then(|id| cal_names.get(&id).cloned())
                .unwrap_or_else(|| ALWAYS_OPEN.to_string()),
            warn_at_percent: serde_json::from_str(&p.warn_at_percent)
                .map_err(|e| corrupt("warn_at_percent", e))?,
            max_pause_minutes: p.max_pause_minutes.into(),
            targets: parse_targets(&p.targets)?,
        });
    }
    for q in &r.queues {
        out.queues.push(QueueDef {
            name: q.name.clone(),
            sla_policy: policy_names
                .get(&q.sla_policy_id)
                .cloned()
                .unwrap_or_default(),
            skills: serde_json::from_str(&q.skills).map_err(|e| corrupt("skills", e))?,
            escalation_queue: q
                .escalation_queue_id
                .and_then(|id| queue_names.get(&id).cloned()),
            service_level: q.service_level.map(i64::from),
            oncall: q.oncall_rota_id.and_then(|id| rota_names.get(&id).cloned()),
        });
    }
    for rule in &r.rules {
        out.rules.push(RuleDef {
            code: rule.code.clone(),
            name: rule.name.clone(),
            category: rule.category.clone(),
            default_severity: rule
                .default_severity
                .parse()
                .map_err(|e| corrupt("severity", e))?,
            weight: rule.weight,
            verify_by_email: rule.verify_by_email,
            release_on_confirm_up_to: rule
                .release_on_confirm_up_to
                .as_deref()
                .map(crate::domain::resolution::ReleaseThresholds::parse)
                .transpose()
                .map_err(|e| corrupt("release_on_confirm_up_to", e))?,
            emergency_amount: rule
                .emergency_amount
                .as_deref()
                .map(crate::domain::resolution::ReleaseThresholds::parse)
                .transpose()
                .map_err(|e| corrupt("emergency_amount", e))?,
        });
    }
    for route in &r.routes {
        out.routes.push(RouteDef {
            rule: route.rule_code.clone(),
            category: route.category.clone(),
            min_severity: route
                .min_severity
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(|e| corrupt("severity", e))?,
            min_amount: route
                .min_amount
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(|e| corrupt("amount", e))?,
            currency: route.currency.clone(),
            queue: queue_names
                .get(&route.queue_id)
                .cloned()
                .unwrap_or_default(),
            priority: route
                .priority
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(|e| corrupt("priority", e))?,
            valid_from: opt_time(route.valid_from),
            valid_until: opt_time(route.valid_until),
        });
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Create,
    Update,
    Remove,
}

/// One change `apply` makes (or would make).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub op: Op,
    pub kind: &'static str,
    pub name: String,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = match self.op {
            Op::Create => "+",
            Op::Update => "~",
            Op::Remove => "-",
        };
        write!(f, "{sign} {} {}", self.kind, self.name)
    }
}

fn diff<T: PartialEq>(
    kind: &'static str,
    old: &[T],
    new: &[T],
    name: impl Fn(&T) -> &str,
    out: &mut Vec<Change>,
) {
    for n in new {
        match old.iter().find(|o| name(o) == name(n)) {
            None => out.push(Change {
                op: Op::Create,
                kind,
                name: name(n).to_string(),
            }),
            Some(o) if o != n => out.push(Change {
                op: Op::Update,
                kind,
                name: name(n).to_string(),
            }),
            Some(_) => {}
        }
    }
    for o in old {
        if !new.iter().any(|n| name(n) == name(o)) {
            out.push(Change {
                op: Op::Remove,
                kind,
                name: name(o).to_string(),
            });
        }
    }
}

/// The changes that would make `current` into `new`.
pub fn changes(current: &DeskConfig, new: &DeskConfig) -> Vec<Change> {
    let mut out = Vec::new();
    if current.triage_queue != new.triage_queue {
        out.push(Change {
            op: Op::Update,
            kind: "triage_queue",
            name: new.triage_queue.clone(),
        });
    }
    if current.public_attributes != new.public_attributes {
        out.push(Change {
            op: Op::Update,
            kind: "public_attributes",
            name: new.public_attributes.join(", "),
        });
    }
    diff(
        "calendar",
        &current.calendars,
        &new.calendars,
        |c| &c.name,
        &mut out,
    );
    diff(
        "sla_policy",
        &current.sla_policies,
        &new.sla_policies,
        |p| &p.name,
        &mut out,
    );
    diff("queue", &current.queues, &new.queues, |q| &q.name, &mut out);
    diff("rule", &current.rules, &new.rules, |r| &r.code, &mut out);
    diff(
        "campaign",
        &current.campaigns,
        &new.campaigns,
        |c| &c.name,
        &mut out,
    );
    diff(
        "oncall",
        &current.oncall,
        &new.oncall,
        |r| &r.name,
        &mut out,
    );
    if current.routes != new.routes {
        out.push(Change {
            op: Op::Update,
            kind: "routes",
            name: format!("({} in order)", new.routes.len()),
        });
    }
    out
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("the configuration was refused")]
    Refused(Vec<FieldProblem>),
    #[error("database error: {0}")]
    Db(#[from] diesel::result::Error),
}

/// Makes the stored configuration `new`, in the caller's transaction. Queues that
/// still hold cases cannot be removed; the whole apply is refused then.
pub fn apply(
    conn: &mut DbConn,
    new: &DeskConfig,
    now: DateTime<Utc>,
) -> Result<Vec<Change>, ApplyError> {
    let current = load(conn)?;
    let changes = changes(&current, new);
    let at = store::to_db(now);
    let old_rows = rows(conn)?;

    // Refuse removals that would orphan cases.
    let mut problems = Vec::new();
    for q in &old_rows.queues {
        if !new.queues.iter().any(|n| n.name == q.name) {
            let held: i64 = cases::table
                .filter(cases::queue_id.eq(q.id))
                .count()
                .get_result(conn)?;
            if held > 0 {
                problems.push(FieldProblem::keyed(
                    "queues",
                    tkey("config.error.queue_holds_cases"),
                    &[("name", &q.name), ("count", &held.to_string())],
                ));
            }
        }
    }
    // Every member of a rota must be a user.
    let known = oncall_store::user_emails(conn)?;
    for (i, r) in new.oncall.iter().enumerate() {
        for (j, m) in r.members.iter().enumerate() {
            if !known.contains(m) {
                problems.push(FieldProblem::keyed(
                    format!("oncall[{i}].members[{j}]"),
                    tkey("oncall.problem.unknown_user"),
                    &[("email", m)],
                ));
            }
        }
    }
    if !problems.is_empty() {
        return Err(ApplyError::Refused(problems));
    }
    if changes.is_empty() {
        return Ok(changes);
    }

    // On-call rotas, in the file's order (before the queues, which name them).
    let mut rota_ids: HashMap<String, i64> = HashMap::new();
    for (i, r) in new.oncall.iter().enumerate() {
        let id = oncall_store::save_rota(
            conn,
            old_rows
                .rotas
                .iter()
                .find(|o| o.name == r.name)
                .map(|o| o.id),
            r,
            i as i32 + 1,
            at,
        )?;
        rota_ids.insert(r.name.clone(), id);
    }

    // Calendars.
    let mut cal_ids: HashMap<String, i64> = HashMap::new();
    for c in &new.calendars {
        let hours = serde_json::to_string(&c.calendar.hours_map()).expect("json");
        let holidays = serde_json::to_string(&c.calendar.holiday_strings()).expect("json");
        let id = match old_rows.calendars.iter().find(|o| o.name == c.name) {
            Some(o) => {
                diesel::update(calendars::table.find(o.id))
                    .set((
                        calendars::timezone.eq(c.calendar.timezone_name()),
                        calendars::hours.eq(&hours),
                        calendars::holidays.eq(&holidays),
                        calendars::updated_at.eq(at),
                    ))
                    .execute(conn)?;
                o.id
            }
            None => diesel::insert_into(calendars::table)
                .values((
                    calendars::name.eq(&c.name),
                    calendars::timezone.eq(c.calendar.timezone_name()),
                    calendars::hours.eq(&hours),
                    calendars::holidays.eq(&holidays),
                    calendars::updated_at.eq(at),
                ))
                .returning(calendars::id)
                .get_result(conn)?,
        };
        cal_ids.insert(c.name.clone(), id);
    }
    // SLA policies.
    let mut policy_ids: HashMap<String, i64> = HashMap::new();
    for p in &new.sla_policies {
        let calendar_id = cal_ids.get(&p.calendar).copied();
        let warn = serde_json::to_string(&p.warn_at_percent).expect("json");
        let targets = targets_json(&p.targets);
        let max_pause = p.max_pause_minutes as i32;
        let id = match old_rows.policies.iter().find(|o| o.name == p.name) {
            Some(o) => {
                diesel::update(sla_policies::table.find(o.id))
                    .set((
                        sla_policies::calendar_id.eq(calendar_id),
                        sla_policies::warn_at_percent.eq(&warn),
                        sla_policies::max_pause_minutes.eq(max_pause),
                        sla_policies::targets.eq(&targets),
                        sla_policies::updated_at.eq(at),
                    ))
                    .execute(conn)?;
                o.id
            }
            None => diesel::insert_into(sla_policies::table)
                .values((
                    sla_policies::name.eq(&p.name),
                    sla_policies::calendar_id.eq(calendar_id),
                    sla_policies::warn_at_percent.eq(&warn),
                    sla_policies::max_pause_minutes.eq(max_pause),
                    sla_policies::targets.eq(&targets),
                    sla_policies::updated_at.eq(at),
                ))
                .returning(sla_policies::id)
                .get_result(conn)?,
        };
        policy_ids.insert(p.name.clone(), id);
    }
    // Queues.
    let mut queue_ids: HashMap<String, i64> = HashMap::new();
    for q in &new.queues {
        let policy = policy_ids[&q.sla_policy];
        let skills = serde_json::to_string(&q.skills).expect("json");
        let service_level = q.service_level.map(|p| p as i32);
        let rota = q.oncall.as_ref().map(|r| rota_ids[r]);
        let id = match old_rows.queues.iter().find(|o| o.name == q.name) {
            Some(o) => {
                diesel::update(queues::table.find(o.id))
                    .set((
                        queues::sla_policy_id.eq(policy),
                        queues::skills.eq(&skills),
                        queues::service_level.eq(service_level),
                        queues::oncall_rota_id.eq(rota),
                        queues::updated_at.eq(at),
                    ))
                    .execute(conn)?;
                o.id
            }
            None => diesel::insert_into(queues::table)
                .values((
                    queues::name.eq(&q.name),
                    queues::sla_policy_id.eq(policy),
                    queues::skills.eq(&skills),
                    queues::service_level.eq(service_level),
                    queues::oncall_rota_id.eq(rota),
                    queues::updated_at.eq(at),
                ))
                .returning(queues::id)
                .get_result(conn)?,
        };
        queue_ids.insert(q.name.clone(), id);
    }
    for q in &new.queues {
        let escalation = q.escalation_queue.as_ref().map(|e| queue_ids[e]);
        diesel::update(queues::table.find(queue_ids[&q.name]))
            .set(queues::escalation_queue_id.eq(escalation))
            .execute(conn)?;
    }
    // Rules.
    for r in &new.rules {
        match old_rows.rules.iter().find(|o| o.code == r.code) {
            Some(o) => {
                diesel::update(rules::table.find(o.id))
                    .set((
                        rules::name.eq(&r.name),
                        rules::category.eq(&r.category),
                        rules::default_severity.eq(r.default_severity.as_str()),
                        rules::weight.eq(r.weight),
                        rules::verify_by_email.eq(r.verify_by_email),
                        rules::release_on_confirm_up_to
                            .eq(r.release_on_confirm_up_to.as_ref().map(ToString::to_string)),
                        rules::emergency_amount
                            .eq(r.emergency_amount.as_ref().map(ToString::to_string)),
                        rules::updated_at.eq(at),
                    ))
                    .execute(conn)?;
            }
            None => {
                diesel::insert_into(rules::table)
                    .values((
                        rules::code.eq(&r.code),
                        rules::name.eq(&r.name),
                        rules::category.eq(&r.category),
                        rules::default_severity.eq(r.default_severity.as_str()),
                        rules::weight.eq(r.weight),
                        rules::verify_by_email.eq(r.verify_by_email),
                        rules::release_on_confirm_up_to
                            .eq(r.release_on_confirm_up_to.as_ref().map(ToString::to_string)),
                        rules::emergency_amount
                            .eq(r.emergency_amount.as_ref().map(ToString::to_string)),
                        rules::updated_at.eq(at),
                    ))
                    .execute(conn)?;
            }
        }
    }
    // Routes are an ordered list: replaced whole.
    diesel::delete(routes::table).execute(conn)?;
    for (i, r) in new.routes.iter().enumerate() {
        diesel::insert_into(routes::table)
            .values((
                routes::position.eq(i as i32 + 1),
                routes::rule_code.eq(&r.rule),
                routes::category.eq(&r.category),
                routes::min_severity.eq(r.min_severity.map(Severity::as_str)),
                routes::min_amount.eq(r.min_amount.map(|a| a.to_string())),
                routes::currency.eq(&r.currency),
                routes::queue_id.eq(queue_ids[&r.queue]),
                routes::priority.eq(r.priority.map(Severity::as_str)),
                routes::valid_from.eq(r.valid_from.map(store::to_db)),
                routes::valid_until.eq(r.valid_until.map(store::to_db)),
            ))
            .execute(conn)?;
    }
    // Removals, dependents first.
    for r in &old_rows.rules {
        if !new.rules.iter().any(|n| n.code == r.code) {
            diesel::delete(rules::table.find(r.id)).execute(conn)?;
        }
    }
    for q in &old_rows.queues {
        if !queue_ids.contains_key(&q.name) {
            diesel::update(queues::table.find(q.id))
                .set(queues::escalation_queue_id.eq(None::<i64>))
                .execute(conn)?;
        }
    }
    for q in &old_rows.queues {
        if !queue_ids.contains_key(&q.name) {
            diesel::delete(queues::table.find(q.id)).execute(conn)?;
        }
    }
    for p in &old_rows.policies {
        if !policy_ids.contains_key(&p.name) {
            diesel::delete(sla_policies::table.find(p.id)).execute(conn)?;
        }
    }
    for c in &old_rows.calendars {
        if !cal_ids.contains_key(&c.name) {
            diesel::delete(calendars::table.find(c.id)).execute(conn)?;
        }
    }
    // A removed rota takes its overrides with it (queues no longer name it).
    for r in &old_rows.rotas {
        if !rota_ids.contains_key(&r.name) {
            diesel::delete(oncall_overrides::table.filter(oncall_overrides::rota_id.eq(r.id)))
                .execute(conn)?;
            diesel::delete(oncall_rotas::table.find(r.id)).execute(conn)?;
        }
    }
    set_setting(conn, "triage_queue", &new.triage_queue)?;
    set_setting(
        conn,
        PUBLIC_ATTRIBUTES,
        &serde_json::to_string(&new.public_attributes).expect("json"),
    )?;
    set_setting(
        conn,
        CAMPAIGNS,
        &serde_json::to_string(&new.campaigns).expect("json"),
    )?;
    let version = config_version(conn)? + 1;
    set_setting(conn, "config_version", &version.to_string())?;
    WRITES.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    Ok(changes)
}

fn set_setting(conn: &mut DbConn, key: &str, value: &str) -> QueryResult<()> {
    let n = diesel::update(app_settings::table.find(key))
        .set(app_settings::value.eq(value))
        .execute(conn)?;
    if n == 0 {
        diesel::insert_into(app_settings::table)
            .values((app_settings::key.eq(key), app_settings::value.eq(value)))
            .execute(conn)?;
    }
    Ok(())
}

/// Every queue's (id, name), by name.
pub fn queue_names(conn: &mut DbConn) -> QueryResult<Vec<(i64, String)>> {
    queues::table
        .select((queues::id, queues::name))
        .order(queues::name.asc())
        .load(conn)
}

/// Every calendar's (id, name), by name.
pub fn calendar_names(conn: &mut DbConn) -> QueryResult<Vec<(i64, String)>> {
    calendars::table
        .select((calendars::id, calendars::name))
        .order(calendars::name.asc())
        .load(conn)
}

/// A number that grows with every change of the configuration.
pub fn config_version(conn: &mut DbConn) -> QueryResult<i64> {
    Ok(settings::get(conn, "config_version")?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0))
}

/// The service level of a queue that sets none: 90 % resolved within target.
pub const DEFAULT_SERVICE_LEVEL: i64 = 90;

/// A queue as intake sees it.
#[derive(Debug, Clone)]
pub struct QueueInfo {
    pub id: i64,
    pub name: String,
    pub policy: Arc<SlaPolicy>,
    pub skills: Vec<String>,
    pub escalation_queue_id: Option<i64>,
    /// Per cent of cases to resolve within the resolution target (default 90).
    pub service_level: i64,
    /// The on-call rota paged for the queue's emergencies.
    pub oncall: Option<String>,
}

/// The configuration ready for routing, loaded once per change of `version`.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub version: i64,
    pub rules: HashMap<String, RuleDef>,
    pub routes: Vec<RouteDef>,
    pub triage_queue: String,
    pub queues_by_name: HashMap<String, QueueInfo>,
    pub queues_by_id: HashMap<i64, QueueInfo>,
    /// Calendars by id, for agents' shifts.
    pub calendars_by_id: HashMap<i64, Calendar>,
    /// Calendars by name (the business calendars of the configuration).
    pub calendars_by_name: HashMap<String, Calendar>,
    /// The campaign rules, in the file's order.
    pub campaigns: Vec<crate::domain::campaign::CampaignDef>,
    /// The on-call rotas, in the file's order.
    pub rotas: Vec<Rota>,
    /// Alert attribute keys shown unmasked.
    pub public_attributes: std::collections::HashSet<String>,
}

impl Snapshot {
    /// The on-call rota named `name`.
    pub fn rota(&self, name: &str) -> Option<&Rota> {
        self.rotas.iter().find(|r| r.name == name)
    }
}

pub fn snapshot(conn: &mut DbConn) -> QueryResult<Snapshot> {
    let version = config_version(conn)?;
    let cfg = load(conn)?;
    let r = rows(conn)?;
    let calendars: HashMap<&str, &BusinessCalendar> = cfg
        .calendars
        .iter()
        .map(|c| (c.name.as_str(), &c.calendar))
        .collect();
    let mut policies: HashMap<String, Arc<SlaPolicy>> = HashMap::new();
    for p in &cfg.sla_policies {
        let calendar = match calendars.get(p.calendar.as_str()) {
            Some(c) => Calendar::Business((*c).clone()),
            None => Calendar::AlwaysOpen,
        };
        policies.insert(
            p.name.clone(),
            Arc::new(SlaPolicy {
                name: p.name.clone(),
                calendar,
                calendar_name: p.calendar.clone(),
                warn_at_percent: p.warn_at_percent.clone(),
                max_pause_minutes: p.max_pause_minutes,
                targets: p.targets.clone(),
            }),
        );
    }
    let mut by_name = HashMap::new();
    let mut by_id = HashMap::new();
    for (row, def) in r.queues.iter().zip(cfg.queues.iter()) {
        let info = QueueInfo {
            id: row.id,
            name: row.name.clone(),
            policy: policies
                .get(&def.sla_policy)
                .cloned()
                .ok_or_else(|| corrupt("queue", format!("{} has no SLA policy", row.name)))?,
            skills: def.skills.clone(),
            escalation_queue_id: row.escalation_queue_id,
            service_level: def.service_level.unwrap_or(DEFAULT_SERVICE_LEVEL),
            oncall: def.oncall.clone(),
        };
        by_name.insert(info.name.clone(), info.clone());
        by_id.insert(info.id, info);
    }
    let calendars_by_id = r
        .calendars
        .iter()
        .filter_map(|row| {
            cfg.calendars
                .iter()
                .find(|c| c.name == row.name)
                .map(|c| (row.id, Calendar::Business(c.calendar.clone())))
        })
        .collect();
    let calendars_by_name = cfg
        .calendars
        .iter()
        .map(|c| (c.name.clone(), Calendar::Business(c.calendar.clone())))
        .collect();
    Ok(Snapshot {
        calendars_by_id,
        calendars_by_name,
        version,
        rules: cfg.rules.into_iter().map(|r| (r.code.clone(), r)).collect(),
        routes: cfg.routes,
        campaigns: cfg.campaigns,
        rotas: cfg.oncall,
        public_attributes: cfg.public_attributes.into_iter().collect(),
        triage_queue: cfg.triage_queue,
        queues_by_name: by_name,
        queues_by_id: by_id,
    })
}

/// Changes of the configuration written by this process: a snapshot checked before
/// the last of them is checked again, however recently.
static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The snapshot shared by an instance's handlers and workers, reloaded when the
/// configuration's version moves. The version (one small query) is asked for at most
/// once per `reuse` (`--session-cache-seconds`, as the session memory; zero: on every
/// use): a change written by this process is seen at once, one written by another
/// instance or the command line within that time.
pub struct SnapshotCache {
    reuse: chrono::Duration,
    clock: crate::clock::Clock,
    held: std::sync::Mutex<Option<Held>>,
}

struct Held {
    snapshot: Arc<Snapshot>,
    /// When its version was last confirmed, and this process's writes by then; none
    /// once forgotten.
    checked: Option<(DateTime<Utc>, u64)>,
}

/// A cache that asks for the version on every use.
impl Default for SnapshotCache {
    fn default() -> Self {
        SnapshotCache::new(chrono::Duration::zero(), crate::clock::Clock::System)
    }
}

impl SnapshotCache {
    /// A cache that trusts a version it confirmed for `reuse` by `clock`.
    pub fn new(reuse: chrono::Duration, clock: crate::clock::Clock) -> Self {
        SnapshotCache {
            reuse,
            clock,
            held: Default::default(),
        }
    }

    pub fn get(&self, conn: &mut DbConn) -> QueryResult<Arc<Snapshot>> {
        use std::sync::atomic::Ordering;
        let writes = WRITES.load(Ordering::Acquire);
        let now = self.clock.now();
        if let Some(h) = self.held.lock().expect("snapshot lock").as_ref()
            && let Some((at, seen)) = h.checked
            && seen == writes
            && now >= at
            && now - at < self.reuse
        {
            return Ok(h.snapshot.clone());
        }
        let checked = Some((now, writes));
        let version = config_version(conn)?;
        if let Some(h) = self.held.lock().expect("snapshot lock").as_mut()
            && h.snapshot.version == version
        {
            h.checked = checked;
            return Ok(h.snapshot.clone());
        }
        let fresh = Arc::new(snapshot(conn)?);
        *self.held.lock().expect("snapshot lock") = Some(Held {
            snapshot: fresh.clone(),
            checked,
        });
        Ok(fresh)
    }

    /// The next use asks for the version again (after a request that may have
    /// changed the configuration).
    pub fn forget(&self) {
        if let Some(h) = self.held.lock().expect("snapshot lock").as_mut() {
            h.checked = None;
        }
    }
}
