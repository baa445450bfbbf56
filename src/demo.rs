// The demo desk: seeded by `serve --demo` into an empty database, so a newcomer has
// a working desk to look at: people, queues, rules, SLA policies, calendars, on-call
// rotas, days of history played through the real commands, and a live desk (sample
// alerts and simulated agents) afterwards (only on a desk seeded so).

pub mod history;

use chrono::Weekday;

use crate::accounts::{self, Actor, NewUserInput};
use crate::domain::alert::{Amount, CustomerInput, NewAlert};
use crate::domain::password::NewPassword;
use crate::domain::severity::Severity;
use crate::state::AppState;
use crate::store::{settings, users};

/// The demo desk's configuration, in the file format.
pub const DESK: &str = include_str!("demo_desk.toml");

/// The demo's playbooks, per rule code: steps and call script in both languages.
const PLAYBOOKS: &str = include_str!("demo_playbooks.toml");

/// The demo's replies written for its rules, and a tip for one rule.
const REPLIES: &str = include_str!("demo_replies.toml");

/// The demo's replies and tips as drafts and tip inputs.
fn demo_replies() -> Result<
    (
        Vec<crate::mail::templates::Draft>,
        Vec<crate::mail::tips::TipInput>,
    ),
    String,
> {
    use crate::mail::templates::{Draft, REPLY, Text};
    let table: toml::Table = REPLIES.parse().map_err(|e| format!("demo replies: {e}"))?;
    let text = |t: &toml::Value, k: &str| {
        t.get(k)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .trim()
            .to_string()
    };
    let list = |t: &toml::Value, k: &str| -> Vec<String> {
        t.get(k)
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let empty = Vec::new();
    let of = |k: &str| table.get(k).and_then(|v| v.as_array()).unwrap_or(&empty);
    let drafts = of("replies")
        .iter()
        .map(|r| Draft {
            name: text(r, "name"),
            purpose: REPLY.into(),
            scope: crate::domain::replies::Scope {
                rules: list(r, "rules"),
                states: list(r, "states"),
            },
            texts: vec![
                Text {
                    lang: "en".into(),
                    subject: text(r, "subject_en"),
                    body: text(r, "body_en"),
                },
                Text {
                    lang: "zh-CN".into(),
                    subject: text(r, "subject_zh"),
                    body: text(r, "body_zh"),
                },
            ],
        })
        .collect();
    let tips = of("tips")
        .iter()
        .enumerate()
        .map(|(i, t)| crate::mail::tips::TipInput {
            label: text(t, "label"),
            text_en: text(t, "text_en"),
            text_zh: text(t, "text_zh"),
            rules: list(t, "rules"),
            active: true,
            position: 10 + i as i32,
        })
        .collect();
    Ok((drafts, tips))
}

/// Writes the demo's replies and tips.
fn seed_replies(
    conn: &mut crate::db::DbConn,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), String> {
    let (drafts, tips) = demo_replies()?;
    for d in &drafts {
        crate::mail::templates::create(conn, d, None, now).map_err(|e| e.to_string())?;
    }
    for t in &tips {
        crate::mail::tips::create(conn, t, None, now).map_err(|e| e.to_string())?;
    }
    Ok(())
}

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

/// The demo's knowledge base: articles on fraud patterns in both languages.
const ARTICLES: &str = include_str!("demo_articles.toml");

/// Writes the demo's articles through the knowledge base's commands, each at its
/// own time before `end` (the end of a history of `days` days; a shorter history
/// brings the older ones forward to its start, in order): published, read by some
/// agents, one edited since with its readers notified, one written from a resolved
/// case, one a draft. Returns how many.
fn seed_articles(
    conn: &mut crate::db::DbConn,
    snap: &crate::store::deskconfig::Snapshot,
    end: chrono::DateTime<chrono::Utc>,
    days: u32,
) -> Result<usize, String> {
    use crate::knowledge::{self, Submitted};
    let table: toml::Table = ARTICLES
        .parse()
        .map_err(|e| format!("demo articles: {e}"))?;
    let articles = table
        .get("article")
        .and_then(|a| a.as_array())
        .ok_or("demo articles: no [[article]]")?;
    let supervisor = history::user_ids(conn, &[SUPERVISOR])?[0];
    let actor = Actor::user(supervisor, None);
    let text = |t: &toml::Value, k: &str| -> String {
        t.get(k)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .trim()
            .to_string()
    };
    let days_of = |t: &toml::Value, k: &str| t.get(k).and_then(|v| v.as_integer());
    let list = |t: &toml::Value, k: &str| -> Vec<String> {
        t.get(k)
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let err = |e: knowledge::KnowledgeError| format!("demo article: {e}");
    let back = |d: i64| end - chrono::Duration::days(d.clamp(0, i64::from(days)));
    for (n, a) in articles.iter().enumerate() {
        let mut input = Submitted {
            title_en: text(a, "title_en"),
            title_zh: text(a, "title_zh"),
            body_en: text(a, "body_en"),
            body_zh: text(a, "body_zh"),
            rules: list(a, "rules"),
        };
        let published = days_of(a, "published");
        let at = back(published.or(days_of(a, "written")).unwrap_or(1))
            + chrono::Duration::minutes(10 * n as i64 + 10);
        let source = match a.get("from_case_rule").and_then(|v| v.as_str()) {
            Some(rule) => latest_resolved(conn, rule, at)?,
            None => None,
        };
        let article =
            knowledge::create(conn, at, &actor, snap, &input, source, published.is_some())
                .map_err(err)?;
        let read_at = at + chrono::Duration::hours(20);
        let read_all = |conn: &mut crate::db::DbConn,
                        who: &[String],
                        when: chrono::DateTime<chrono::Utc>|
         -> Result<(), String> {
            let current = crate::store::knowledge::find(conn, article.id)
                .map_err(|e| e.to_string())?
                .ok_or("demo article vanished")?;
            let emails: Vec<&str> = who.iter().map(String::as_str).collect();
            for id in history::user_ids(conn, &emails)? {
                knowledge::record_read(conn, when, id, &current).map_err(|e| e.to_string())?;
            }
            Ok(())
        };
        read_all(conn, &list(a, "read_by"), read_at)?;
        if let Some(edit) = a.get("edit") {
            let edit_at =
                back(days_of(edit, "days").unwrap_or(1)).max(read_at + chrono::Duration::hours(1));
            input.body_en = format!("{}\n\n{}", input.body_en, text(edit, "add_en"));
            input.body_zh = format!("{}\n\n{}", input.body_zh, text(edit, "add_zh"));
            let notify = edit
                .get("notify")
                .and_then(|v| v.as_bool())
                .unwrap_or(false);
            knowledge::edit(
                conn,
                edit_at,
                &actor,
                snap,
                article.id,
                article.version,
                &input,
                notify,
            )
            .map_err(err)?;
            read_all(
                conn,
                &list(edit, "read_by"),
                edit_at + chrono::Duration::hours(5),
            )?;
        }
    }
    Ok(articles.len())
}

/// The latest case of `rule` resolved before `at` as confirmed fraud (else the
/// latest resolved at all), to write "what we learned" from.
fn latest_resolved(
    conn: &mut crate::db::DbConn,
    rule: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<Option<i64>, String> {
    use crate::db::schema::cases;
    use diesel::prelude::*;
    let latest = |conn: &mut crate::db::DbConn, fraud: bool| {
        let mut q = cases::table
            .filter(cases::rule_code.eq(rule))
            .filter(cases::resolved_at.le(crate::store::to_db(at)))
            .select(cases::id)
            .order(cases::resolved_at.desc())
            .into_boxed();
        if fraud {
            q = q.filter(cases::disposition.eq("confirmed_fraud"));
        }
        q.first::<i64>(conn).optional().map_err(|e| e.to_string())
    };
    match latest(conn, true)? {
        Some(id) => Ok(Some(id)),
        None => latest(conn, false),
    }
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
    (
        "zhou.jie@riskdesk.demo",
        "周杰 (Zhou Jie)",
        "agent",
        "zh-CN",
    ),
    (
        "lin.xiao@riskdesk.demo",
        "林晓 (Lin Xiao)",
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
        &["AML review", "Transfers", "Account security"],
        &["aml", "fraud", "security"],
        6,
    ),
    (
        "zhou.jie@riskdesk.demo",
        &["Transfers", "Account security", "AML review"],
        &["fraud", "security", "aml"],
        5,
    ),
    (
        "lin.xiao@riskdesk.demo",
        &[
            "New accounts",
            "Promotions",
            "Complaints",
            "Triage",
            "Transfers",
        ],
        &["onboarding", "complaints", "fraud"],
        5,
    ),
];

/// The demo agents' hours in the desk's time zone, in the order the live desk
/// brings them online (`--demo-agents=N` takes the first N): early, day, late and
/// night shifts, so the fraud queues are covered around the clock.
pub const SHIFTS: &[(&str, history::Shift)] = &[
    (
        "li.na@riskdesk.demo",
        history::Shift {
            start: 8,
            end: 16,
            off: Weekday::Sun,
        },
    ),
    (
        "sam.taylor@riskdesk.demo",
        history::Shift {
            start: 9,
            end: 18,
            off: Weekday::Sun,
        },
    ),
    (
        "wang.lei@riskdesk.demo",
        history::Shift {
            start: 13,
            end: 22,
            off: Weekday::Mon,
        },
    ),
    (
        "lin.xiao@riskdesk.demo",
        history::Shift {
            start: 12,
            end: 21,
            off: Weekday::Wed,
        },
    ),
    (
        "zhou.jie@riskdesk.demo",
        history::Shift {
            start: 21,
            end: 8,
            off: Weekday::Sat,
        },
    ),
];

/// The supervisor who approves, reviews and reopens in the simulation.
const SUPERVISOR: &str = "supervisor@riskdesk.demo";

/// Days of history `serve --demo` plays by default (`--demo-days`).
pub const DEFAULT_DAYS: u32 = 30;

/// The demo desk's configuration without its on-call rotas, which name users: it is
/// applied before the people exist, the whole file after (and by the benchmarks,
/// whose desks have other people).
pub fn desk_without_rotas() -> Result<String, String> {
    let mut table: toml::Table = DESK.parse().map_err(|e| format!("demo desk: {e}"))?;
    table.remove("oncall");
    if let Some(toml::Value::Array(queues)) = table.get_mut("queues") {
        for q in queues.iter_mut().filter_map(toml::Value::as_table_mut) {
            q.remove("oncall");
        }
    }
    toml::to_string(&table).map_err(|e| format!("demo desk: {e}"))
}

/// The simulated people of the demo desk (the agents in [`SHIFTS`] order), working
/// at `pace`.
pub fn simulated_desk(
    conn: &mut crate::db::DbConn,
    pace: history::Pace,
    back_office: bool,
) -> Result<history::Sim, String> {
    let emails: Vec<&str> = SHIFTS.iter().map(|(e, _)| *e).collect();
    let ids = history::user_ids(conn, &emails)?;
    let agents = ids
        .into_iter()
        .zip(SHIFTS)
        .map(|(id, (_, shift))| history::Agent { id, shift: *shift })
        .collect();
    let supervisor = history::user_ids(conn, &[SUPERVISOR])?[0];
    Ok(history::Sim::new(agents, supervisor, pace, back_office))
}

/// The `app_settings` entry that marks a desk seeded as a demo desk (its value is
/// when): only such a desk gets the sample alert stream.
pub const SEEDED_SETTING: &str = "demo_seeded_at";

/// Seeds the demo desk if the database holds no users and no alerts yet, with `days`
/// days of history ending now, and marks it as a demo desk; returns whether it did.
pub fn seed_if_empty(state: &AppState, days: u32) -> Result<bool, String> {
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
    // The history begins `days` ago: the desk, its people and its webhook exist from
    // then on, and everything after happens at its own time.
    let end = now;
    let now = end - chrono::Duration::days(i64::from(days));
    crate::desk::apply_text(&mut conn, now, &Actor::cli(), &desk_without_rotas()?, false)
        .map_err(|e| format!("demo configuration: {e}"))?;
    seed_playbooks(&mut conn, now)?;
    seed_replies(&mut conn, now)?;
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
    crate::desk::apply_text(&mut conn, now, &Actor::cli(), DESK, false)
        .map_err(|e| format!("demo on-call rotas: {e}"))?;
    let receiver = history::start_receiver().map_err(|e| format!("demo webhook receiver: {e}"))?;
    crate::webhooks::add(
        &mut conn,
        now,
        &Actor::cli(),
        "demo-risk-engine",
        &receiver,
        "case.resolved,case.reopened,verification.answered,transaction.decided,snooze.created,campaign.opened,oncall.paged",
    )
    .map_err(|e| format!("demo webhook: {e}"))?;
    let mut sim = simulated_desk(&mut conn, history::Pace(1), true)?;
    drop(conn);
    let started = std::time::Instant::now();
    let tally = history::play(state, &mut sim, days, end)?;
    // The reports read per-case facts: bring them up to date before anyone looks.
    crate::jobs::refresh_report_facts(state, "demo-seed")?;
    let mut conn = state.pool.get().map_err(|e| e.to_string())?;
    let snap = crate::store::deskconfig::snapshot(&mut conn).map_err(|e| e.to_string())?;
    let articles = seed_articles(&mut conn, &snap, end, days)?;
    let (open, resolved) = case_counts(&mut conn)?;
    tracing::info!(
        days,
        alerts = tally.alerts,
        commands = tally.commands,
        refused = tally.refused,
        seconds = started.elapsed().as_secs_f64(),
        articles,
        "demo history played"
    );
    println!(
        "demo desk seeded with {days} days of history: {} alerts, {} cases resolved, {} open; sign in with:",
        tally.alerts, resolved, open
    );
    for (role, email, password) in &logins {
        println!("  {role:<10} {email:<28} {}", password.expose());
    }
    println!("(these passwords are shown only now; delete the data directory to seed again)");
    Ok(true)
}

/// The cases open and resolved.
fn case_counts(conn: &mut crate::db::DbConn) -> Result<(i64, i64), String> {
    use crate::db::schema::cases;
    use diesel::prelude::*;
    let open: i64 = cases::table
        .filter(cases::resolved_at.is_null())
        .count()
        .get_result(conn)
        .map_err(|e| e.to_string())?;
    let all: i64 = cases::table
        .count()
        .get_result(conn)
        .map_err(|e| e.to_string())?;
    Ok((open, all - open))
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

/// How many times faster than the history the live desk's agents work.
pub const LIVE_PACE: i64 = 6;

/// How many simulated agents work the live desk: `wanted` (at most the demo's
/// agents), and none on a desk not seeded as a demo desk. Says what was decided.
pub fn agents_for(state: &AppState, wanted: u32) -> Result<usize, String> {
    let mut conn = state.pool.get().map_err(|e| e.to_string())?;
    let seeded = settings::get(&mut conn, SEEDED_SETTING).map_err(|e| e.to_string())?;
    let n = if seeded.is_some() {
        (wanted as usize).min(SHIFTS.len())
    } else {
        0
    };
    if seeded.is_none() {
        println!("demo: no simulated agents on a desk not seeded as a demo desk");
    } else if n == 0 {
        println!("demo: no simulated agents work the cases (--demo-agents=0)");
    } else {
        println!(
            "demo: {n} simulated agents take, call and resolve the cases (--demo-agents=0 stops them)"
        );
    }
    Ok(n)
}

/// The live desk's simulated agents: the first `n` of [`SHIFTS`] come online and,
/// every ten seconds, each takes a step on their most urgent case (taking, calling,
/// e-mailing, resolving) while the supervisor decides the closings that wait.
pub async fn agents_live(state: AppState, n: usize) {
    let st = state.clone();
    let made = actix_web::web::block(move || {
        let mut conn = st.pool.get().map_err(|e| e.to_string())?;
        simulated_desk(&mut conn, history::Pace(LIVE_PACE), false)
    })
    .await;
    let mut sim = match made {
        Ok(Ok(sim)) => sim,
        Ok(Err(e)) => return tracing::warn!(error = %e, "demo agents not started"),
        Err(e) => return tracing::warn!(error = %e, "demo agents not started"),
    };
    sim.agents.truncate(n);
    loop {
        let st = state.clone();
        let done = actix_web::web::block(move || {
            let r = history::live_tick(&st, &mut sim);
            (sim, r)
        })
        .await;
        match done {
            Ok((s, r)) => {
                sim = s;
                if let Err(e) = r {
                    tracing::warn!(error = %e, "demo agents: a step failed");
                }
            }
            Err(e) => return tracing::warn!(error = %e, "demo agents stopped"),
        }
        actix_web::rt::time::sleep(std::time::Duration::from_secs(10)).await;
    }
}

/// A deterministic generator of plausible alerts (a small xorshift; no dependency).
pub struct SampleAlerts {
    state: u64,
    serial: u64,
    prefix: &'static str,
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
    ("LARGE_TRANSFER", 30, Some((50_000, 260_000))),
    ("ACCOUNT_TAKEOVER", 12, None),
    ("NEW_ACCOUNT_BURST", 15, None),
    ("BULK_REGISTRATION", 8, None),
    ("PROMOTION_ABUSE", 10, Some((50, 2_000))),
    ("AML_WATCHLIST", 6, Some((10_000, 2_000_000))),
    ("FROZEN_FUNDS_COMPLAINT", 5, Some((1_000, 80_000))),
    ("VELOCITY_SPIKE", 4, Some((500, 20_000))),
];

/// Customers beyond the named ones: family and given names that make up the rest of
/// the sample's customers (zh-CN), and a few English-speaking ones.
const FAMILY: &[(&str, &str)] = &[
    ("王", "wang"),
    ("李", "li"),
    ("张", "zhang"),
    ("刘", "liu"),
    ("陈", "chen"),
    ("杨", "yang"),
    ("黄", "huang"),
    ("赵", "zhao"),
    ("吴", "wu"),
    ("周", "zhou"),
    ("徐", "xu"),
    ("孙", "sun"),
    ("马", "ma"),
    ("朱", "zhu"),
    ("胡", "hu"),
    ("郭", "guo"),
];
const GIVEN: &[(&str, &str)] = &[
    ("伟", "wei"),
    ("芳", "fang"),
    ("娜", "na"),
    ("敏", "min"),
    ("静", "jing"),
    ("丽", "li"),
    ("强", "qiang"),
    ("磊", "lei"),
    ("军", "jun"),
    ("洋", "yang"),
    ("勇", "yong"),
    ("艳", "yan"),
    ("杰", "jie"),
    ("涛", "tao"),
];
const ENGLISH: &[&str] = &[
    "Olivia Brown",
    "James Miller",
    "Sophia Davis",
    "Lucas Martin",
    "Chloe Wilson",
    "Noah Thompson",
];

/// Customers in the sample: the named ones, then made-up ones.
const POOL: u64 = 180;

impl SampleAlerts {
    pub fn new(seed: u64) -> Self {
        Self::with_prefix(seed, "demo")
    }

    /// A generator whose alerts' external ids begin with `prefix` (the history's and
    /// the live stream's never collide).
    pub fn with_prefix(seed: u64, prefix: &'static str) -> Self {
        SampleAlerts {
            state: seed | 1,
            serial: seed % 1_000_000,
            prefix,
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

    /// An alert of a rule picked by the sample mix.
    pub fn next_alert(&mut self) -> NewAlert {
        let total: u64 = RULES.iter().map(|r| r.1).sum();
        let mut pick = self.below(total);
        let rule = RULES
            .iter()
            .find(|r| {
                if pick < r.1 {
                    true
                } else {
                    pick -= r.1;
                    false
                }
            })
            .map_or(RULES[0].0, |r| r.0);
        self.alert_of(rule)
    }

    /// The sample customer number `n`: (external id, name, e-mail, phone, language).
    fn customer(n: u64) -> (String, String, String, String, String) {
        if let Some((cid, name, email, phone, locale)) = CUSTOMERS.get(n as usize) {
            return (
                cid.to_string(),
                name.to_string(),
                email.to_string(),
                phone.to_string(),
                locale.to_string(),
            );
        }
        let id = format!("C-{}", 110_000 + n * 37);
        if n.is_multiple_of(9) {
            let name = ENGLISH[(n / 9) as usize % ENGLISH.len()];
            let email = format!(
                "{}.{n}@example.com",
                name.to_ascii_lowercase().replace(' ', ".")
            );
            let phone = format!("+1415555{:04}", n);
            return (id, name.to_string(), email, phone, "en".to_string());
        }
        let (fam, fam_py) = FAMILY[n as usize % FAMILY.len()];
        let (giv, giv_py) = GIVEN[(n as usize / FAMILY.len()) % GIVEN.len()];
        let email = format!("{giv_py}.{fam_py}{n}@example.com");
        let phone = format!("+86139{:08}", 10_000_000 + n * 7_919);
        (id, format!("{fam}{giv}"), email, phone, "zh-CN".to_string())
    }

    /// An alert of `rule` for one of the sample customers.
    pub fn alert_of(&mut self, rule: &str) -> NewAlert {
        self.serial += 1;
        let amount = RULES.iter().find(|r| r.0 == rule).and_then(|r| r.2);
        // The named customers come back more often than the others.
        let n = if self.below(3) == 0 {
            self.below(CUSTOMERS.len() as u64)
        } else {
            self.below(POOL)
        };
        let (cid, name, email, phone, locale) = Self::customer(n);
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
            external_id: format!("{}-{:08}", self.prefix, self.serial),
            rule: rule.to_string(),
            severity,
            occurred_at: None,
            customer: CustomerInput {
                external_id: cid,
                name: Some(name),
                email: Some(email),
                phone: Some(phone),
                locale: Some(locale),
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

    /// The `i`th account of the ring: new customers registering in bulk on one
    /// device and one address, which the campaign rule `shared-device` catches.
    pub fn ring_alert(&mut self, i: u32) -> NewAlert {
        let mut alert = self.alert_of("BULK_REGISTRATION");
        alert.customer = CustomerInput {
            external_id: format!("R-{}", 900_100 + i),
            name: Some(format!(
                "{}{}",
                FAMILY[(i as usize * 5) % FAMILY.len()].0,
                GIVEN[i as usize % GIVEN.len()].0
            )),
            email: Some(format!("reg{}@mail-drop.example", 7_301 + i)),
            phone: Some(format!("+86170{:08}", 55_500_000 + i)),
            locale: Some("zh-CN".to_string()),
            timezone: Some("Asia/Shanghai".to_string()),
            do_not_contact: None,
        };
        alert.severity = Some(Severity::High);
        alert
            .attributes
            .insert("device_id".to_string(), "d-7c0e-ring".to_string());
        alert
            .attributes
            .insert("ip".to_string(), "198.51.100.23".to_string());
        alert
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
    fn every_demo_article_is_valid_in_both_languages_on_the_desks_rules() {
        let table: toml::Table = ARTICLES.parse().unwrap();
        let desk: toml::Table = DESK.parse().unwrap();
        let codes: Vec<&str> = desk["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["code"].as_str().unwrap())
            .collect();
        let articles = table["article"].as_array().unwrap();
        assert!(articles.len() >= 4);
        let text = |a: &toml::Value, k: &str| a[k].as_str().unwrap().trim().to_string();
        for a in articles {
            let rules: Vec<String> = a["rules"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r.as_str().unwrap().to_string())
                .collect();
            crate::domain::knowledge::check(
                &text(a, "title_en"),
                &text(a, "title_zh"),
                &text(a, "body_en"),
                &text(a, "body_zh"),
                &rules,
                |c| codes.contains(&c),
            )
            .unwrap_or_else(|p| panic!("{}: {p:?}", text(a, "title_en")));
        }
        // One is published this week, the rest earlier; one is a draft.
        let published: Vec<i64> = articles
            .iter()
            .filter_map(|a| a.get("published").and_then(|v| v.as_integer()))
            .collect();
        assert!(published.iter().any(|d| *d < 7) && published.iter().any(|d| *d >= 7));
        assert!(articles.iter().any(|a| a.get("published").is_none()));
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
    fn the_demo_replies_and_tips_are_valid_for_the_demo_rules() {
        let desk: toml::Table = DESK.parse().unwrap();
        let codes: Vec<&str> = desk["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["code"].as_str().unwrap())
            .collect();
        let (drafts, tips) = demo_replies().unwrap();
        assert!(!drafts.is_empty() && !tips.is_empty());
        for d in &drafts {
            assert!(
                crate::mail::templates::check_name(&d.name).is_none(),
                "{}",
                d.name
            );
            let mut p = crate::mail::templates::check_draft(d);
            p.extend(crate::mail::templates::check_scope(&d.scope, |r| {
                codes.contains(&r)
            }));
            assert!(p.is_empty(), "{}: {p:?}", d.name);
        }
        for t in &tips {
            let p = crate::mail::tips::check(t, |r| codes.contains(&r));
            assert!(p.is_empty(), "{}: {p:?}", t.label);
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
