// The demo desk: seeded by `serve --demo` into an empty database, so a newcomer has
// a working desk to look at: people, queues, rules, SLA policies, calendars, and a
// stream of sample alerts through the real intake (only into a desk seeded so).

use chrono::Duration;

use crate::accounts::{self, Actor, NewUserInput};
use crate::db::write_tx;
use crate::domain::alert::{Amount, CustomerInput, NewAlert};
use crate::domain::password::NewPassword;
use crate::domain::severity::Severity;
use crate::intake;
use crate::state::AppState;
use crate::store::{deskconfig, settings, users};

/// The demo desk's configuration, in the file format.
pub const DESK: &str = include_str!("demo_desk.toml");

/// The demo's playbooks, per rule code: steps and call script in both languages.
const PLAYBOOKS: &str = include_str!("demo_playbooks.toml");

/// Writes the demo playbooks.
fn seed_playbooks(
    conn: &mut crate::db::DbConn,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), String> {
    let table: toml::Table = PLAYBOOKS
        .parse()
        .map_err(|e| format!("demo playbooks: {e}"))?;
    let at = crate::store::to_db(now);
    for (code, book) in &table {
        let text = |k: &str| {
            book.get(k)
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .trim()
                .to_string()
        };
        for (lang, steps, script) in [
            ("en", text("steps_en"), text("script_en")),
            ("zh-CN", text("steps_zh"), text("script_zh")),
        ] {
            crate::store::playbooks::save(conn, code, lang, &steps, &script, at, None)
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

/// The demo's people: e-mail, name, role, language.
const PEOPLE: &[(&str, &str, &str, &str)] = &[
    ("admin@riskdesk.demo", "Alex Admin", "admin", "en"),
    (
        "supervisor@riskdesk.demo",
        "陈静 (Chen Jing)",
        "supervisor",
        "zh-CN",
    ),
    ("li.na@riskdesk.demo", "李娜 (Li Na)", "agent", "zh-CN"),
    ("sam.taylor@riskdesk.demo", "Sam Taylor", "agent", "en"),
    (
        "wang.lei@riskdesk.demo",
        "王磊 (Wang Lei)",
        "agent",
        "zh-CN",
    ),
];

/// The demo agents' queues, skills and capacity.
const ROUTING: &[(&str, &[&str], &[&str], i32)] = &[
    (
        "li.na@riskdesk.demo",
        &["Transfers", "Account security"],
        &["fraud", "security"],
        5,
    ),
    (
        "sam.taylor@riskdesk.demo",
        &["New accounts", "Promotions", "Complaints", "Triage"],
        &["onboarding", "complaints"],
        5,
    ),
    (
        "wang.lei@riskdesk.demo",
        &["AML review", "Transfers"],
        &["aml", "fraud"],
        6,
    ),
];

/// Sample alerts filed when the demo is seeded, spread over the past hours.
const BACKLOG: usize = 80;

/// The `app_settings` entry that marks a desk seeded as a demo desk (its value is
/// when): only such a desk gets the sample alert stream.
pub const SEEDED_SETTING: &str = "demo_seeded_at";

/// Seeds the demo desk if the database holds no users and no alerts yet, and marks it
/// as a demo desk; returns whether it did.
pub fn seed_if_empty(state: &AppState) -> Result<bool, String> {
    let mut conn = state.pool.get().map_err(|e| e.to_string())?;
    if users::count(&mut conn).map_err(|e| e.to_string())? > 0 {
        println!("demo: the database has users already; nothing seeded");
        return Ok(false);
    }
    let alerts: i64 = {
        use crate::db::schema::alerts;
        use diesel::prelude::*;
        alerts::table
            .count()
            .get_result(&mut conn)
            .map_err(|e| e.to_string())?
    };
    if alerts > 0 {
        println!("demo: the database holds alerts already; nothing seeded");
        return Ok(false);
    }
    let now = state.now();
    // Marked first: whatever demo data lands in this database, it is a demo desk.
    settings::get_or_insert(&mut conn, SEEDED_SETTING, &now.to_rfc3339())
        .map_err(|e| e.to_string())?;
    crate::desk::apply_text(&mut conn, now, &Actor::cli(), DESK, false)
        .map_err(|e| format!("demo configuration: {e}"))?;
    seed_playbooks(&mut conn, now)?;
    let mut logins = Vec::new();
    for (email, name, role, language) in PEOPLE {
        let password = NewPassword::generate();
        let user = accounts::create_user(
            &mut conn,
            now,
            &Actor::cli(),
            &NewUserInput {
                email,
                name,
                role,
                language: Some(language),
            },
            &password,
        )
        .map_err(|e| e.to_string())?;
        if let Some((_, queues, skills, capacity)) = ROUTING.iter().find(|r| r.0 == *email) {
            accounts::set_routing(
                &mut conn,
                now,
                &Actor::cli(),
                user.id,
                &accounts::RoutingInput {
                    queues: queues.iter().map(|q| q.to_string()).collect(),
                    skills: skills.iter().map(|q| q.to_string()).collect(),
                    capacity: *capacity,
                    shift_calendar: None,
                    auto_assign: true,
                },
                |_| Ok(()),
            )
            .map_err(|e| e.to_string())?;
        }
        logins.push((*role, *email, password));
    }
    let snap = deskconfig::snapshot(&mut conn).map_err(|e| e.to_string())?;
    let mut samples = SampleAlerts::new(now.timestamp() as u64);
    for i in 0..BACKLOG {
        let at = now - Duration::minutes(((BACKLOG - i) * 4) as i64);
        let alert = samples.next_alert();
        write_tx(&mut conn, |c| {
            intake::ingest_one(c, &snap, &state.intake_keys(), &alert, None, at)
        })
        .map_err(|e| format!("demo alert: {e}"))?;
    }
    println!("demo desk seeded with {BACKLOG} sample alerts; sign in with:");
    for (role, email, password) in &logins {
        println!("  {role:<10} {email:<28} {}", password.expose());
    }
    println!("(these passwords are shown only now; delete the data directory to seed again)");
    Ok(true)
}

/// Whether `serve --demo` files sample alerts, and if not, why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// A sample alert every 20 to 60 seconds.
    Runs,
    /// `--demo-stream=false` (or `RISKDESK_DEMO_STREAM=false`).
    SwitchedOff,
    /// The database was not seeded as a demo desk: its alerts are not samples, and
    /// none are added to them.
    NotADemoDesk,
}

/// The decision: the stream runs only when it is wanted and the desk was seeded as a
/// demo desk.
pub fn stream_decision(wanted: bool, seeded_as_demo: bool) -> Stream {
    match (wanted, seeded_as_demo) {
        (false, _) => Stream::SwitchedOff,
        (true, false) => Stream::NotADemoDesk,
        (true, true) => Stream::Runs,
    }
}

/// Decides for this database (after [`seed_if_empty`]) and says what was decided.
pub fn stream_for(state: &AppState, wanted: bool) -> Result<Stream, String> {
    let mut conn = state.pool.get().map_err(|e| e.to_string())?;
    let seeded = settings::get(&mut conn, SEEDED_SETTING).map_err(|e| e.to_string())?;
    let decision = stream_decision(wanted, seeded.is_some());
    match decision {
        Stream::Runs => {
            println!(
                "demo: a sample alert arrives every 20 to 60 seconds (--demo-stream=false stops them)"
            );
        }
        Stream::SwitchedOff => {
            println!("demo: the sample alert stream is switched off (--demo-stream=false)");
        }
        Stream::NotADemoDesk => {
            println!(
                "demo: this database was not seeded as a demo desk; no sample alerts are filed into it"
            );
            tracing::warn!(
                "serve --demo on a database not seeded as a demo desk: the sample alert stream does not run"
            );
        }
    }
    Ok(decision)
}

/// While the demo runs, a new sample alert arrives every 20 to 60 seconds.
pub async fn alert_stream(state: AppState) {
    let mut samples = SampleAlerts::new(state.now().timestamp() as u64 ^ 0x5eed);
    loop {
        let wait = 20 + samples.below(41);
        actix_web::rt::time::sleep(std::time::Duration::from_secs(wait)).await;
        let alert = samples.next_alert();
        if let Err(e) = state.intake.submit(vec![alert], None).await {
            tracing::warn!(error = %e, "demo alert not filed");
        }
    }
}

/// A deterministic generator of plausible alerts (a small xorshift; no dependency).
pub struct SampleAlerts {
    state: u64,
    serial: u64,
}

const CUSTOMERS: &[(&str, &str, &str, &str, &str)] = &[
    (
        "C-100234",
        "王伟",
        "wei.wang@example.com",
        "+8613800138000",
        "zh-CN",
    ),
    (
        "C-100871",
        "李娟",
        "juan.li@example.com",
        "+8613912345678",
        "zh-CN",
    ),
    (
        "C-101552",
        "张强",
        "qiang.zhang@example.com",
        "+8613600001111",
        "zh-CN",
    ),
    (
        "C-102210",
        "刘洋",
        "yang.liu@example.com",
        "+8615011112222",
        "zh-CN",
    ),
    (
        "C-103377",
        "陈晨",
        "chen.chen@example.com",
        "+8618622223333",
        "zh-CN",
    ),
    (
        "C-104098",
        "Emily Carter",
        "emily.carter@example.com",
        "+14155550100",
        "en",
    ),
    (
        "C-104512",
        "赵敏",
        "min.zhao@example.com",
        "+8613755554444",
        "zh-CN",
    ),
    (
        "C-105006",
        "黄磊",
        "lei.huang@example.com",
        "+8613366667777",
        "zh-CN",
    ),
    (
        "C-105733",
        "Daniel Kim",
        "daniel.kim@example.com",
        "+8613288889999",
        "en",
    ),
    (
        "C-106120",
        "周杰",
        "jie.zhou@example.com",
        "+8615900001234",
        "zh-CN",
    ),
    (
        "C-106845",
        "吴芳",
        "fang.wu@example.com",
        "+8613512340000",
        "zh-CN",
    ),
    (
        "C-107301",
        "孙浩",
        "hao.sun@example.com",
        "+8617743215678",
        "zh-CN",
    ),
];

/// A rule of the sample mix: its code, its weight in the mix, and the range of its
/// amounts in CNY (if it carries one).
type SampleRule = (&'static str, u64, Option<(u64, u64)>);

const RULES: &[SampleRule] = &[
    ("LARGE_TRANSFER", 30, Some((50_000, 600_000))),
    ("ACCOUNT_TAKEOVER", 12, None),
    ("NEW_ACCOUNT_BURST", 15, None),
    ("BULK_REGISTRATION", 8, None),
    ("PROMOTION_ABUSE", 10, Some((50, 2_000))),
    ("AML_WATCHLIST", 6, Some((10_000, 2_000_000))),
    ("FROZEN_FUNDS_COMPLAINT", 5, Some((1_000, 80_000))),
    ("VELOCITY_SPIKE", 4, Some((500, 20_000))),
];

impl SampleAlerts {
    pub fn new(seed: u64) -> Self {
        SampleAlerts {
            state: seed | 1,
            serial: seed % 1_000_000,
        }
    }

    fn next(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.state = x;
        x
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    pub fn next_alert(&mut self) -> NewAlert {
        self.serial += 1;
        let total: u64 = RULES.iter().map(|r| r.1).sum();
        let mut pick = self.below(total);
        let (rule, _, amount) = RULES
            .iter()
            .find(|r| {
                if pick < r.1 {
                    true
                } else {
                    pick -= r.1;
                    false
                }
            })
            .copied()
            .unwrap_or(RULES[0]);
        let (cid, name, email, phone, locale) =
            CUSTOMERS[self.below(CUSTOMERS.len() as u64) as usize];
        // A few devices and addresses recur across customers, as a gang's would.
        let device = format!("d-{:04x}", 0x91a0 + self.below(24));
        let ip = format!("203.0.113.{}", 2 + self.below(40));
        let mut attributes = std::collections::BTreeMap::new();
        attributes.insert("device_id".to_string(), device);
        attributes.insert("ip".to_string(), ip);
        attributes.insert(
            "channel".to_string(),
            ["app", "web", "mini-program"][self.below(3) as usize].to_string(),
        );
        let severity = match self.below(10) {
            0 => Some(Severity::Critical),
            1..=3 => Some(Severity::High),
            _ => None,
        };
        NewAlert {
            external_id: format!("demo-{:08}", self.serial),
            rule: rule.to_string(),
            severity,
            occurred_at: None,
            customer: CustomerInput {
                external_id: cid.to_string(),
                name: Some(name.to_string()),
                email: Some(email.to_string()),
                phone: Some(phone.to_string()),
                locale: Some(locale.to_string()),
                timezone: Some("Asia/Shanghai".to_string()),
                do_not_contact: None,
            },
            amount: amount.map(|(lo, hi)| Amount {
                value: format!("{}.{:02}", lo + self.below(hi - lo), self.below(100))
                    .parse()
                    .expect("a decimal"),
                currency: "CNY".to_string(),
            }),
            transaction_ref: Some(format!("TX-{}", 20_000_000 + self.serial)),
            attributes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stream_runs_only_on_a_demo_desk_and_can_be_switched_off() {
        assert_eq!(stream_decision(true, true), Stream::Runs);
        assert_eq!(stream_decision(true, false), Stream::NotADemoDesk);
        assert_eq!(stream_decision(false, true), Stream::SwitchedOff);
        assert_eq!(stream_decision(false, false), Stream::SwitchedOff);
    }

    #[test]
    fn the_demo_desk_is_a_valid_configuration() {
        let cfg = crate::domain::deskconfig::DeskConfig::parse(DESK).unwrap();
        for q in [
            "Transfers",
            "Account security",
            "New accounts",
            "AML review",
            "Complaints",
            "Triage",
        ] {
            assert!(cfg.queues.iter().any(|x| x.name == q), "{q}");
        }
        assert!(
            cfg.calendars
                .iter()
                .any(|c| c.calendar.timezone_name() == "Asia/Shanghai")
        );
    }

    #[test]
    fn every_demo_rule_has_a_playbook_in_both_languages() {
        let table: toml::Table = PLAYBOOKS.parse().unwrap();
        let desk: toml::Table = DESK.parse().unwrap();
        let rules = desk["rules"].as_array().unwrap();
        for rule in rules {
            let code = rule["code"].as_str().unwrap();
            let book = table
                .get(code)
                .unwrap_or_else(|| panic!("no playbook for {code}"));
            for k in ["steps_en", "script_en", "steps_zh", "script_zh"] {
                assert!(!book[k].as_str().unwrap().trim().is_empty(), "{code}.{k}");
            }
        }
    }

    #[test]
    fn sample_alerts_are_varied_and_valid() {
        let mut g = SampleAlerts::new(7);
        let alerts: Vec<NewAlert> = (0..200).map(|_| g.next_alert()).collect();
        let rules: std::collections::BTreeSet<_> = alerts.iter().map(|a| a.rule.clone()).collect();
        assert!(rules.len() >= 6, "{rules:?}");
        let ids: std::collections::BTreeSet<_> =
            alerts.iter().map(|a| a.external_id.clone()).collect();
        assert_eq!(ids.len(), 200);
    }
}
