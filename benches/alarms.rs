// Benchmark: the background work after a burst, with the workers running as the
// server runs them (`jobs::spawn`). A burst of alerts opens cases while nobody is
// online; the program prints how long until the reports' facts hold every case and
// the SLA watch has looked at every new case; then the clock jumps past every
// case's first-response deadline at once and it prints how long until every case
// is breached and none is due; then agents come online (without their sign-in's own
// fill, as after a race or a restart) and it prints how long until the assignment
// sweep has filled them. Durable SQLite by default.
//
//   cargo bench --bench alarms                                   # 20,000 alerts
//   RISKDESK_BENCH_ALERTS=50000 cargo bench --bench alarms
//   RISKDESK_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1/riskdesk_bench cargo bench --bench alarms
//
// The desk's clock runs with real time and can jump ahead; the measures are wall
// time from the moment (the burst's end, the jump), so they include the wait for the
// worker's next tick (the SLA watch every 5 s, the sweep every 10 s, the facts every
// 5 s).

mod loadgen;

use std::time::{Duration, Instant};

use diesel::prelude::*;
use riskdesk::accounts::{self, Actor, NewUserInput, RoutingInput};
use riskdesk::app::AppState;
use riskdesk::clock::Clock;
use riskdesk::config::Settings;
use riskdesk::db::DatabaseUrl;
use riskdesk::db::schema::{case_facts, cases, users};
use riskdesk::domain::password::NewPassword;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

const QUEUES: &[&str] = &[
    "Transfers",
    "Account security",
    "New accounts",
    "Promotions",
    "AML review",
    "Complaints",
    "Triage",
];
const SKILLS: &[&str] = &["fraud", "security", "onboarding", "aml", "complaints"];
const RULES: &[&str] = &[
    "LARGE_TRANSFER",
    "ACCOUNT_TAKEOVER",
    "NEW_ACCOUNT_BURST",
    "PROMOTION_ABUSE",
    "AML_WATCHLIST",
];
/// How long to wait for one measure before giving up on it.
const PATIENCE: Duration = Duration::from_secs(600);

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let alerts = env("RISKDESK_BENCH_ALERTS", 20_000) as usize;
    let agents = env("RISKDESK_BENCH_AGENTS", 100) as usize;
    let capacity = env("RISKDESK_BENCH_CAPACITY", 20) as i32;
    let dir = tempfile::tempdir().unwrap();
    let database = match std::env::var("RISKDESK_BENCH_DATABASE_URL") {
        Ok(u) => DatabaseUrl::parse(&u).expect("database URL"),
        Err(_) => DatabaseUrl::Sqlite(dir.path().join("bench.db")),
    };
    println!(
        "riskdesk background-work benchmark: {} cores, a burst of {alerts} alerts, then {agents} agents (capacity {capacity}) online, database {}",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        database.redacted()
    );
    let mut settings = Settings::for_data_dir(dir.path().join("data"), database);
    settings.workers = None;
    settings.pool_size = 16;
    // A clock that runs with real time and can be moved ahead.
    let clock = Clock::manual(chrono::Utc::now());
    {
        let clock = clock.clone();
        std::thread::spawn(move || {
            let mut last = Instant::now();
            loop {
                std::thread::sleep(Duration::from_millis(10));
                let now = Instant::now();
                clock.advance(chrono::Duration::from_std(now - last).unwrap());
                last = now;
            }
        });
    }
    let state = AppState::open(settings, clock.clone()).expect("open");
    let (key, agent_ids) = {
        let mut conn = state.pool.get().unwrap();
        riskdesk::desk::apply_text(
            &mut conn,
            state.now(),
            &Actor::cli(),
            &riskdesk::demo::desk_without_rotas().expect("demo configuration"),
            false,
        )
        .expect("demo configuration");
        // Offline for now: they come online after the alarms.
        let mut ids = Vec::new();
        for i in 0..agents {
            let u = accounts::create_user(
                &mut conn,
                state.now(),
                &Actor::cli(),
                &NewUserInput {
                    email: &format!("agent{i}@bench.example"),
                    name: "Agent",
                    role: "agent",
                    language: None,
                },
                &NewPassword::generate(),
            )
            .unwrap();
            accounts::set_routing(
                &mut conn,
                state.now(),
                &Actor::cli(),
                u.id,
                &RoutingInput {
                    queues: QUEUES.iter().map(|q| q.to_string()).collect(),
                    skills: SKILLS.iter().map(|q| q.to_string()).collect(),
                    capacity,
                    shift_calendar: None,
                    auto_assign: true,
                },
                |_| Ok(()),
            )
            .unwrap();
            ids.push(u.id);
        }
        let key = riskdesk::apikeys::create(
            &mut conn,
            state.now(),
            &Actor::cli(),
            &riskdesk::domain::apikey::KeyRequest {
                name: "bench",
                scopes: riskdesk::domain::apikey::Scopes::all(),
                expires_in_days: None,
                rate_limit: Some(riskdesk::domain::apikey::MAX_RATE_LIMIT),
            },
        )
        .unwrap()
        .1;
        (key, ids)
    };
    let addr = loadgen::serve(&state);
    // The background workers, as `riskdesk serve` starts them.
    {
        let st = state.clone();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                riskdesk::jobs::spawn(st);
                std::future::pending::<()>().await
            })
        });
    }

    // The burst: batches of 1000, each alert its own customer (so its own case).
    let client = reqwest::blocking::Client::new();
    let run = std::process::id();
    let t = Instant::now();
    let items: Vec<serde_json::Value> = (0..alerts)
        .map(|i| {
            serde_json::json!({
                "external_id": format!("alarms-{run}-{i}"),
                "rule": RULES[i % RULES.len()],
                "customer": {
                    "external_id": format!("C-{i}"),
                    "name": "王伟", "email": "wei@example.com",
                    "phone": format!("+86139{i:08}"),
                    "locale": "zh-CN", "timezone": "Asia/Shanghai"
                },
                "amount": {"value": format!("{}.00", 1000 + (i * 37) % 400_000), "currency": "CNY"},
                "attributes": {"device_id": format!("d-{i}"), "ip": format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255)}
            })
        })
        .collect();
    for chunk in items.chunks(1000) {
        let res = client
            .post(format!("http://{addr}/api/v1/alerts/batch"))
            .bearer_auth(&key)
            .json(&serde_json::json!({ "alerts": chunk }))
            .send()
            .unwrap();
        assert!(res.status().is_success(), "{}", res.text().unwrap());
    }
    let burst = t.elapsed();
    let mut conn = state.pool.get().unwrap();
    let opened: i64 = cases::table.count().get_result(&mut conn).unwrap();
    println!(
        "burst: {alerts} alerts in {:.1} s ({:.0}/s), {opened} cases",
        burst.as_secs_f64(),
        alerts as f64 / burst.as_secs_f64()
    );
    let done = Instant::now();

    // Every new case is due at once (the watch works out its alarms), and every
    // case's facts are to be computed.
    let mut facts_at = None;
    let mut settled_at = None;
    while (facts_at.is_none() || settled_at.is_none()) && done.elapsed() < PATIENCE {
        if facts_at.is_none() {
            let facts: i64 = case_facts::table.count().get_result(&mut conn).unwrap();
            if facts >= opened {
                facts_at = Some(done.elapsed());
            }
        }
        if settled_at.is_none() && due(&mut conn, &state) == 0 {
            settled_at = Some(done.elapsed());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    report("report facts of every case", facts_at);
    report("SLA watch: every new case looked at", settled_at);

    // The jump: one minute past the latest first-response deadline.
    let latest: chrono::NaiveDateTime = cases::table
        .select(diesel::dsl::max(cases::first_response_due))
        .first::<Option<chrono::NaiveDateTime>>(&mut conn)
        .unwrap()
        .unwrap();
    let ahead = riskdesk::store::from_db(latest) - state.now() + chrono::Duration::minutes(1);
    clock.advance(ahead);
    let moment = Instant::now();
    let mut breached_at = None;
    let mut due_at = None;
    while (breached_at.is_none() || due_at.is_none()) && moment.elapsed() < PATIENCE {
        if breached_at.is_none() {
            let open: i64 = cases::table
                .filter(cases::breached.eq(false))
                .count()
                .get_result(&mut conn)
                .unwrap();
            if open == 0 {
                breached_at = Some(moment.elapsed());
            }
        }
        if breached_at.is_some() && due(&mut conn, &state) == 0 {
            due_at = Some(moment.elapsed());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    println!(
        "the clock jumps {} min ahead: every case past its first-response deadline",
        ahead.num_minutes()
    );
    report("SLA watch: every case breached", breached_at);
    report("SLA watch: no case due", due_at);
    if let Some(d) = breached_at {
        println!(
            "  {:.0} breaches/s; target {opened} within 60 s of the moment: {}",
            opened as f64 / d.as_secs_f64(),
            if d <= Duration::from_secs(60) {
                "met"
            } else {
                "NOT met"
            }
        );
    }
    let facts_behind = Instant::now();
    let mut caught_up = None;
    while caught_up.is_none() && facts_behind.elapsed() < PATIENCE {
        if !riskdesk::jobs::report_facts_behind(&state).unwrap() {
            caught_up = Some(facts_behind.elapsed());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    report(
        "report facts caught up with the breaches (after the watch)",
        caught_up,
    );

    // The agents come online by the row alone: only the sweep gives them cases.
    diesel::update(users::table.filter(users::id.eq_any(&agent_ids)))
        .set((
            users::presence.eq("online"),
            users::last_active_at.eq(riskdesk::store::to_db(state.now())),
        ))
        .execute(&mut conn)
        .unwrap();
    let online = Instant::now();
    let mut filled_at = None;
    let mut given = 0;
    while filled_at.is_none() && online.elapsed() < PATIENCE {
        let room: i64 = users::table
            .filter(users::id.eq_any(&agent_ids))
            .filter(users::current_load.lt(users::capacity))
            .count()
            .get_result(&mut conn)
            .unwrap();
        if room == 0 {
            filled_at = Some(online.elapsed());
            given = cases::table
                .filter(cases::assignee_id.is_not_null())
                .count()
                .get_result::<i64>(&mut conn)
                .unwrap();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    report(
        &format!("assignment sweep: {agents} agents filled"),
        filled_at,
    );
    if filled_at.is_some() {
        println!("  {given} cases given");
    }
}

/// Open cases whose next alarm is due now.
fn due(conn: &mut riskdesk::db::PooledConn, state: &AppState) -> i64 {
    cases::table
        .filter(cases::next_alarm_at.le(riskdesk::store::to_db(state.now())))
        .filter(cases::resolved_at.is_null())
        .count()
        .get_result(conn)
        .unwrap()
}

fn report(what: &str, took: Option<Duration>) {
    match took {
        Some(d) => println!("{what}: {:.1} s", d.as_secs_f64()),
        None => println!("{what}: not within {} s", PATIENCE.as_secs()),
    }
}
