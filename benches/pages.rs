// Benchmark: the queue page, the case page (also of a customer tied to 500 others),
// search and the supervisor's board under load over a desk holding many cases. A
// generator fills a SQLite database (or, with RISKDESK_BENCH_DATABASE_URL, a
// PostgreSQL database of its own, dropped and created) straight through SQL (batched inserts in large
// transactions): cases spread over six months in the demo desk's queues, most
// resolved, the newest 2,000 open (waiting, assigned, in progress, paused, breached),
// each with its customer (phone, device and address recorded as identifiers; the first
// 501 customers share one device), alert and timeline events. Agents get sessions; then each
// page is loaded at 32 connections (closed loop) and its pages/s and latencies are
// printed, at 10,000 cases and at the full size, and the two are compared. Last,
// 200 agents (RISKDESK_BENCH_USERS) signed in refresh their queue pages and homes,
// and the process's resident memory (VmRSS, its peak VmHWM) is printed.
//
//   cargo bench --bench pages                                   # 1,000,000 cases, 10 s per page
//   RISKDESK_BENCH_CASES=200000 RISKDESK_BENCH_SECONDS=5 RISKDESK_BENCH_CONNECTIONS=8 cargo bench --bench pages
//   RISKDESK_BENCH_KEEP=/tmp/pages cargo bench --bench pages    # keep the full-size desk
//   RISKDESK_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/riskdesk_bench_pages cargo bench --bench pages
//
// On PostgreSQL the full-size desk is built in the named database and the 10,000-case
// one in `<name>_10k`, each dropped when measured (the full one kept with
// RISKDESK_BENCH_KEEP, its URL written in `targets.txt`).
//
// With RISKDESK_BENCH_KEEP the full-size desk is built in that directory and kept, with
// `targets.txt` (sessions, case, ring and search paths) for benches/served.sh, which
// measures the same pages from outside against `riskdesk serve`, beside the floor.

#[path = "support/fill.rs"]
mod fill;
mod loadgen;

use fill::{BenchDb, Inserter, MIX, Rng, b, env, event_row, opt_ts, ts};

use std::time::{Duration, Instant};

use chrono::Utc;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use riskdesk::accounts::{self, Actor, NewUserInput, RoutingInput};
use riskdesk::app::AppState;
use riskdesk::clock::Clock;
use riskdesk::config::Settings;
use riskdesk::domain::events as ev;
use riskdesk::domain::password::NewPassword;
use riskdesk::domain::{CaseEvent, Severity};
use riskdesk::store::identifiers;

/// Agents the cases are assigned to.
const AGENTS: usize = 50;

/// Agents signed in for the memory measure (`RISKDESK_BENCH_USERS`, default 200): the
/// [`AGENTS`] and as many more, all in every queue.
fn users() -> usize {
    (env("RISKDESK_BENCH_USERS", 200) as usize).max(AGENTS)
}
/// Customers tied to customer 1 by one device.
const RING: u64 = 500;
const DISPOSITIONS: &[&str] = &[
    "false_positive",
    "false_positive",
    "false_positive",
    "confirmed_fraud",
    "unreachable",
    "duplicate",
];
const SURNAMES: &[&str] = &["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴"];
const GIVEN: &[&str] = &["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋"];

/// Connections of the load generator (`RISKDESK_BENCH_CONNECTIONS`, default 32).
fn connections() -> usize {
    env("RISKDESK_BENCH_CONNECTIONS", 32) as usize
}

struct Desk {
    state: AppState,
    addr: String,
    /// Session cookies of the agents, one per agent.
    cookies: Vec<String>,
    /// The directory kept with RISKDESK_BENCH_KEEP.
    kept: Option<std::path::PathBuf>,
    /// The session cookie of a supervisor, for the board.
    supervisor: Vec<String>,
    /// Some case references to open on the case page.
    sample_cases: Vec<String>,
    /// Cases of the ring's customers (each tied to 500 others).
    ring_cases: Vec<String>,
    /// Searches, every key in turn: customer id, phone, e-mail, transaction
    /// reference, device id, IP address.
    searches: Vec<String>,
    db: BenchDb,
    _dir: Option<tempfile::TempDir>,
}

/// Creates agent `i` (`agent{i}@bench.example`), in every queue of `queues` with
/// every skill; returns its id.
fn add_agent(conn: &mut riskdesk::db::DbConn, i: usize, queues: &[String]) -> i64 {
    let now = Utc::now();
    let u = accounts::create_user(
        conn,
        now,
        &Actor::cli(),
        &NewUserInput {
            email: &format!("agent{i}@bench.example"),
            name: &format!("Agent {i}"),
            role: "agent",
            language: None,
        },
        &NewPassword::generate(),
    )
    .unwrap();
    accounts::set_routing(
        conn,
        now,
        &Actor::cli(),
        u.id,
        &RoutingInput {
            queues: queues.to_vec(),
            skills: vec![
                "fraud".into(),
                "security".into(),
                "onboarding".into(),
                "aml".into(),
                "complaints".into(),
            ],
            capacity: 100,
            shift_calendar: None,
            auto_assign: false,
        },
        |_| Ok(()),
    )
    .unwrap();
    u.id
}

/// Creates a desk of `n` cases and starts the application on it; in `keep` when
/// given (kept afterwards, with `targets.txt` listing what to measure from outside),
/// otherwise in a temporary directory. On PostgreSQL, `small` builds it in the
/// database `<name>_10k` instead of the one named.
fn build(n: u64, keep: Option<&std::path::Path>, small: bool) -> Desk {
    let temp = match keep {
        Some(_) => None,
        None => Some(tempfile::tempdir().unwrap()),
    };
    let root = keep.map_or_else(
        || temp.as_ref().unwrap().path().to_path_buf(),
        |k| {
            std::fs::create_dir_all(k).unwrap();
            k.to_path_buf()
        },
    );
    let bench_db = match BenchDb::from_env(root.join("bench.db")) {
        BenchDb::Sqlite(path) => {
            assert!(!path.exists(), "{} exists already", path.display());
            BenchDb::Sqlite(path)
        }
        pg if small => {
            let small = pg.sibling(&format!("{}_10k", pg.name()));
            small.recreate();
            small
        }
        pg => {
            pg.recreate();
            pg
        }
    };
    if std::env::var("RISKDESK_BENCH_SHOW_DB").is_ok() {
        println!("  database: {}", bench_db.url().redacted());
    }
    let mut settings = Settings::for_data_dir(root.join("data"), bench_db.url());
    settings.workers = None;
    settings.pool_size = env("RISKDESK_BENCH_POOL", 8) as u32;
    // As served by `riskdesk serve` (its default).
    settings.session_cache = chrono::Duration::seconds(2);
    let now = Utc::now();
    let state = AppState::open(settings, Clock::System).expect("open");
    let mut conn = state.pool.get().unwrap();
    riskdesk::desk::apply_text(
        &mut conn,
        now,
        &Actor::cli(),
        &riskdesk::demo::desk_without_rotas().unwrap(),
        false,
    )
    .expect("demo configuration");
    let snap = state.desk.get(&mut conn).unwrap();
    let all_queues: Vec<String> = snap.queues_by_name.keys().cloned().collect();
    let agents: Vec<i64> = (0..AGENTS)
        .map(|i| add_agent(&mut conn, i, &all_queues))
        .collect();
    let cookies: Vec<String> = agents
        .iter()
        .map(|id| loadgen::session_cookie(&mut conn, *id))
        .collect();
    let sup = accounts::create_user(
        &mut conn,
        now,
        &Actor::cli(),
        &NewUserInput {
            email: "supervisor@bench.example",
            name: "Supervisor",
            role: "supervisor",
            language: None,
        },
        &NewPassword::generate(),
    )
    .unwrap();
    let supervisor = vec![loadgen::session_cookie(&mut conn, sup.id)];
    drop(conn);

    // The cases, straight into the file.
    let t = Instant::now();
    let mut db = bench_db.open_fill();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let customers = (n / 2).max(1);
    // The newest cases are open: as many at every size (a desk's open work does not
    // grow with its history), so that sizes differ by history alone.
    let open_from = n - env("RISKDESK_BENCH_OPEN", 2000).min(n / 5);
    let history = chrono::Duration::days(180);
    let mut total_weight = 0;
    let weights: Vec<u64> = MIX
        .iter()
        .map(|m| {
            total_weight += m.2;
            total_weight
        })
        .collect();
    // Each customer's device and address: most their own, the first RING + 1 on one
    // device (a ring: customer 1 is tied to RING others).
    let device = |c: u64| {
        if c <= RING + 1 {
            "d-ring".to_string()
        } else {
            format!("d-{:x}", c.wrapping_mul(0x9E37_79B9) & 0xff_ffff)
        }
    };
    let address = |c: u64| format!("10.{}.{}.{}", (c >> 16) & 255, (c >> 8) & 255, c & 255);
    db.batch_execute("BEGIN").unwrap();
    let key = state.identifier_key.clone();
    let mut ids = Inserter::new(
        "INSERT INTO customer_identifiers (kind, value_hash, customer_id, masked, last_seen_at) VALUES ",
    );
    let mut cust = Inserter::new(
        "INSERT INTO customers (id, external_id, name, email, phone, locale, timezone, attributes, created_at, updated_at) VALUES ",
    );
    for c in 1..=customers {
        let name = format!(
            "{}{}",
            SURNAMES[(c % 10) as usize],
            GIVEN[((c / 10) % 10) as usize]
        );
        let created = ts(now - history - chrono::Duration::days(30));
        let phone = format!("+86138{:08}", c % 100_000_000);
        let (dev, ip) = (device(c), address(c));
        for r in identifiers::digests(&key, &[("phone", &phone), ("device_id", &dev), ("ip", &ip)])
        {
            ids.push(
                &mut db,
                format!(
                    "'{}','{}',{c},'{}',{created}",
                    r.kind, r.value_hash, r.masked
                ),
            );
        }
        cust.push(
            &mut db,
            format!(
                "{c},'C-{c:08}','{name}','c{c}@example.com','{phone}','zh-CN','Asia/Shanghai','{{}}',{created},{created}",
            ),
        );
    }
    cust.flush(&mut db);
    ids.flush(&mut db);
    let mut cases = Inserter::new(
        "INSERT INTO cases (id, customer_id, queue_id, priority, status, rule_code, open_key, opened_at, updated_at, first_response_due, resolution_due, first_responded_at, resolved_at, paused_since, pause_reason, paused_minutes, breached, assignee_id, disposition, alert_count, weight, assigned_at, started_at, next_due, next_alarm_at) VALUES ",
    );
    let mut alerts = Inserter::new(
        "INSERT INTO alerts (id, external_id, rule_code, severity, occurred_at, received_at, customer_id, case_id, amount, currency, transaction_ref, attributes, api_key_id, result) VALUES ",
    );
    let mut events =
        Inserter::new("INSERT INTO case_events (case_id, at, kind, actor_user_id, data) VALUES ");
    for i in 1..=n {
        let pick = rng.below(total_weight);
        let (rule, queue_name, _) = MIX[weights.iter().position(|w| pick < *w).unwrap()];
        let queue = &snap.queues_by_name[queue_name];
        let def = &snap.rules[rule];
        let priority: Severity = match rng.below(10) {
            0 => def.default_severity.raised(),
            _ => def.default_severity,
        };
        let open = i > open_from;
        let opened = if open {
            // The open ones: the last eight hours.
            now - chrono::Duration::seconds(((n - i) * 8 * 3600 / (n - open_from).max(1)) as i64)
        } else {
            now - history + chrono::Duration::seconds((i * 180 * 86_400 / n) as i64)
                - chrono::Duration::hours(8)
        };
        let dues = queue.policy.dues(opened, priority, 0);
        let customer = if open {
            (i * 7919) % customers + 1
        } else {
            rng.below(customers) + 1
        };
        let agent = agents[rng.below(AGENTS as u64) as usize];
        let minutes = |m: u64| chrono::Duration::minutes(m as i64);
        let (status, assignee, assigned, started, responded, resolved, paused, breached) = if !open
        {
            let responded = opened + minutes(1 + rng.below(20));
            let resolved = responded + minutes(5 + rng.below(3 * 24 * 60));
            (
                "resolved",
                Some(agent),
                Some(opened),
                Some(opened),
                Some(responded),
                Some(resolved),
                None,
                rng.below(20) == 0,
            )
        } else {
            match rng.below(20) {
                0..=4 => ("new", None, None, None, None, None, None, false),
                5..=9 => (
                    "assigned",
                    Some(agent),
                    Some(opened),
                    None,
                    None,
                    None,
                    None,
                    false,
                ),
                10..=14 => {
                    let responded = opened + minutes(1 + rng.below(10));
                    (
                        "in_progress",
                        Some(agent),
                        Some(opened),
                        Some(opened),
                        Some(responded),
                        None,
                        None,
                        false,
                    )
                }
                15..=17 => {
                    let responded = opened + minutes(1 + rng.below(10));
                    (
                        "in_progress", // waiting for the customer: the clock is paused
                        Some(agent),
                        Some(opened),
                        Some(opened),
                        Some(responded),
                        None,
                        Some(responded + minutes(1)),
                        false,
                    )
                }
                _ => (
                    "assigned",
                    Some(agent),
                    Some(opened),
                    None,
                    None,
                    None,
                    None,
                    true,
                ),
            }
        };
        let next_due = if resolved.is_some() {
            None
        } else if responded.is_some() {
            Some(dues.resolution)
        } else {
            Some(dues.first_response.min(dues.resolution))
        };
        let breached = breached || next_due.is_some_and(|d| d < now);
        let updated = resolved.or(paused).or(responded).unwrap_or(opened);
        let open_key = if open {
            format!("'{customer}:{}'", queue.id)
        } else {
            "NULL".into()
        };
        cases.push(
            &mut db,
            format!(
                "{i},{customer},{},'{}','{status}','{rule}',{open_key},{},{},{},{},{},{},{},{},0,{},{},{},1,{},{},{},{},{}",
                queue.id,
                priority.as_str(),
                ts(opened),
                ts(updated),
                ts(dues.first_response),
                ts(dues.resolution),
                opt_ts(responded),
                opt_ts(resolved),
                opt_ts(paused),
                if paused.is_some() { "'awaiting the customer'" } else { "NULL" },
                b(breached),
                assignee.map_or("NULL".into(), |a| a.to_string()),
                if resolved.is_some() {
                    format!("'{}'", DISPOSITIONS[rng.below(DISPOSITIONS.len() as u64) as usize])
                } else {
                    "NULL".into()
                },
                def.weight,
                opt_ts(assigned),
                opt_ts(started),
                opt_ts(next_due),
                opt_ts(if resolved.is_some() { None } else { Some(opened) }),
            ),
        );
        let amount = 1000 + rng.below(200_000);
        alerts.push(
            &mut db,
            format!(
                "{i},'bench-{i}','{rule}','{}',{},{},{customer},{i},'{amount}.00','CNY','TX-{i:09}','{{\"device_id\":\"{}\",\"ip\":\"{}\",\"channel\":\"app\"}}',NULL,'filed'",
                priority.as_str(),
                ts(opened),
                ts(opened),
                device(customer),
                address(customer),
            ),
        );
        let opened_event = CaseEvent::Opened(ev::Opened {
            rule: rule.to_string(),
            queue: queue_name.to_string(),
            priority,
        });
        events.push(&mut db, event_row(i, opened, None, &opened_event));
        let alert_event = CaseEvent::AlertReceived(ev::AlertReceived {
            alert_id: i as i64,
            external_id: format!("bench-{i}"),
            rule: rule.to_string(),
            severity: priority,
            grouped: false,
            amount: Some(format!("{amount}.00")),
            currency: Some("CNY".into()),
            weight: None,
        });
        events.push(&mut db, event_row(i, opened, None, &alert_event));
        if let Some(a) = assignee {
            let assigned = CaseEvent::Assigned(ev::Assigned {
                to: format!("agent{a}@bench.example"),
                how: ev::How::Auto,
                reason: "least_loaded".into(),
                eligible: Some(AGENTS),
                load: Some(1),
                capacity: Some(5),
                weight: 1,
            });
            events.push(&mut db, event_row(i, opened, None, &assigned));
        }
        if let Some(r) = resolved {
            let resolved_event = CaseEvent::Resolved(ev::Resolved {
                disposition: "false_positive".into(),
                details: ev::ClosingDetails::default(),
                approved_by: None,
                paused_minutes: None,
                by_customer: false,
            });
            events.push(&mut db, event_row(i, r, assignee, &resolved_event));
        }
        if i % 100_000 == 0 {
            cases.flush(&mut db);
            alerts.flush(&mut db);
            events.flush(&mut db);
            db.batch_execute("COMMIT; BEGIN").unwrap();
        }
    }
    cases.flush(&mut db);
    alerts.flush(&mut db);
    events.flush(&mut db);
    fill::finish_fill(&mut db);
    let open: i64 = riskdesk::db::schema::cases::table
        .filter(riskdesk::db::schema::cases::resolved_at.is_null())
        .count()
        .get_result(&mut db)
        .unwrap();
    println!(
        "  filled {} cases ({open} open), {} customers, {} alerts, {} timeline events in {:.1} s",
        cases.total,
        cust.total,
        alerts.total,
        events.total,
        t.elapsed().as_secs_f64()
    );
    let ring_cases: Vec<String> = {
        use riskdesk::db::schema::cases::dsl as c;
        c::cases
            .filter(c::customer_id.le((RING + 1) as i64))
            .select(c::id)
            .limit(500)
            .load::<i64>(&mut db)
            .unwrap()
            .into_iter()
            .map(riskdesk::store::cases::case_ref)
            .collect()
    };
    println!(
        "  {} customer identifiers; {} cases of the ring's {} customers",
        ids.total,
        ring_cases.len(),
        RING + 1
    );
    drop(db);
    let sample_cases: Vec<String> = (0..1000)
        .map(|_| riskdesk::store::cases::case_ref(rng.below(n) as i64 + 1))
        .collect();
    let searches: Vec<String> = (0..600u64)
        .map(|k| {
            let c = rng.below(customers) + 1;
            let phone = format!("{:08}", c % 100_000_000);
            match k % 6 {
                0 => format!("C-{c:08}"),
                1 => format!("+86 138 {} {}", &phone[..4], &phone[4..]),
                2 => format!("c{c}@example.com"),
                3 => format!("TX-{:09}", rng.below(n) + 1),
                4 => device(c),
                _ => address(c),
            }
        })
        .collect();

    if keep.is_some() {
        // What to ask `riskdesk serve` for from outside (benches/served.sh): the
        // sessions are valid for as long as they are used at least every 30 minutes.
        let mut t = String::new();
        if let BenchDb::Postgres(u) = &bench_db {
            t.push_str(&format!("database_url {u}\n"));
        }
        t.push_str(&format!(
            "agent_cookie {}\nsupervisor_cookie {}\n",
            cookies[0], supervisor[0]
        ));

        for r in &sample_cases {
            t.push_str(&format!("case /cases/{r}\n"));
        }
        for r in &ring_cases {
            t.push_str(&format!("ring /cases/{r}\n"));
        }
        for q in &searches {
            t.push_str(&format!("search /search?q={}\n", query(q)));
        }
        std::fs::write(root.join("targets.txt"), t).unwrap();
        println!("  kept in {}", root.display());
    }
    let addr = loadgen::serve(&state);
    Desk {
        state,
        addr,
        cookies,
        kept: keep.map(|_| root.clone()),
        supervisor,
        sample_cases,
        ring_cases,
        searches,
        db: bench_db,
        _dir: temp,
    }
}

/// Loads `path_of(connection, sequence)` as the connection's agent; warms up first.
fn measure(
    desk: &Desk,
    what: &str,
    seconds: u64,
    path_of: impl Fn(usize, usize) -> String + Send + Sync + Clone + 'static,
) -> loadgen::Report {
    measure_as(desk.cookies.clone(), desk, what, seconds, path_of)
}

/// [`measure`] with the sessions `cookies` (one per connection, in turn).
fn measure_as(
    cookies: Vec<String>,
    desk: &Desk,
    what: &str,
    seconds: u64,
    path_of: impl Fn(usize, usize) -> String + Send + Sync + Clone + 'static,
) -> loadgen::Report {
    let make = move |c: usize, s: usize| {
        (
            "GET".to_string(),
            path_of(c, s),
            vec![("Cookie".to_string(), cookies[c % cookies.len()].clone())],
            Vec::new(),
        )
    };
    let _ = loadgen::run(
        &desk.addr,
        connections(),
        Duration::from_secs(2),
        make.clone(),
    );
    let report = loadgen::run(
        &desk.addr,
        connections(),
        Duration::from_secs(seconds),
        make,
    );
    report.print(&format!("  {what}"));
    report
}

/// `text` as a query string's value.
fn query(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            b => format!("%{b:02X}"),
        })
        .collect()
}

/// Signs in [`users`] agents in all (the desk's [`AGENTS`] and as many more as it
/// takes; their sessions listed as `crowd_cookie` in a kept desk's `targets.txt`),
/// then has every one refresh the queue page of one of the desk's queues and their
/// home in turn, spread over the sessions; prints the process's resident memory
/// before and its peak during (the peak is reset first, so the fill before does not
/// count). The load generator runs in the same process: its threads and buffers are
/// part of the figure.
fn crowd_memory(desk: &Desk, seconds: u64) {
    let mut conn = desk.state.pool.get().unwrap();
    let all_queues: Vec<String> = desk
        .state
        .desk
        .get(&mut conn)
        .unwrap()
        .queues_by_name
        .keys()
        .cloned()
        .collect();
    let mut crowd = desk.cookies.clone();
    for i in AGENTS..users() {
        let id = add_agent(&mut conn, i, &all_queues);
        crowd.push(loadgen::session_cookie(&mut conn, id));
    }
    drop(conn);
    if let Some(root) = &desk.kept {
        let mut t = std::fs::read_to_string(root.join("targets.txt")).unwrap();
        for c in &crowd {
            t.push_str(&format!("crowd_cookie {c}\n"));
        }
        std::fs::write(root.join("targets.txt"), t).unwrap();
    }
    let mib = |k: u64| k as f64 / 1024.0;
    let show = |m: [(&str, u64); 4]| {
        m.iter()
            .map(|(k, v)| format!("{k} {:.1} MiB", mib(*v)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    fill::reset_peak_memory();
    let before = fill::memory_kib();
    let signed_in = crowd.len();
    let queues: Vec<String> = MIX
        .iter()
        .map(|m| format!("/queues?view=queue&queue={}", query(m.1)))
        .collect();
    let n = connections();
    let make = move |c: usize, s: usize| {
        let who = (c + s * n) % crowd.len();
        let path = if s.is_multiple_of(2) {
            queues[who % queues.len()].clone()
        } else {
            "/".to_string()
        };
        (
            "GET".to_string(),
            path,
            vec![("Cookie".to_string(), crowd[who].clone())],
            Vec::new(),
        )
    };
    let report = loadgen::run(&desk.addr, n, Duration::from_secs(seconds), make);
    report.print(&format!(
        "  {signed_in} agents signed in, refreshing their queue pages and homes"
    ));
    let after = fill::memory_kib();
    println!("  memory before: {}", show(before));
    println!(
        "  memory after: {}; peak resident (VmHWM) {:.1} MiB",
        show(after),
        mib(after[1].1)
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    if std::env::var_os("RISKDESK_BENCH_DEBUG").is_some() {
        tracing_subscriber::fmt().with_env_filter("error").init();
    }
    let n = env("RISKDESK_BENCH_CASES", 1_000_000);
    let seconds = env("RISKDESK_BENCH_SECONDS", 10);
    println!(
        "riskdesk pages benchmark: {} cores, {} connections, {seconds} s per page, {}",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        connections(),
        if BenchDb::postgres_from_env() {
            "PostgreSQL"
        } else {
            "SQLite"
        },
    );
    let mut results = Vec::new();
    for size in [10_000.min(n), n] {
        println!("{size} cases:");
        let keep = std::env::var_os("RISKDESK_BENCH_KEEP").filter(|_| size == n);
        let desk = build(size, keep.as_deref().map(std::path::Path::new), size != n);
        let queue = measure(
            &desk,
            "queue page (/queues?view=queue&queue=Transfers)",
            seconds,
            |_, _| "/queues?view=queue&queue=Transfers".to_string(),
        );
        let home = measure(&desk, "agent's home (/, my cases)", seconds, |_, _| {
            "/".to_string()
        });
        let refs = desk.sample_cases.clone();
        let case = measure(&desk, "case page (/cases/{ref})", seconds, move |c, s| {
            format!("/cases/{}", refs[(c * 31 + s) % refs.len()])
        });
        let ring = desk.ring_cases.clone();
        let ring_case = measure(
            &desk,
            "case page of a customer tied to 500 others",
            seconds,
            move |c, s| format!("/cases/{}", ring[(c * 31 + s) % ring.len()]),
        );
        let terms: Vec<String> = desk
            .searches
            .iter()
            .map(|t| format!("/search?q={}", query(t)))
            .collect();
        let search = measure_as(
            desk.supervisor.clone(),
            &desk,
            "search as a supervisor (/search?q=…, six keys in turn)",
            seconds,
            move |c, s| terms[(c * 7 + s) % terms.len()].clone(),
        );
        let board = measure_as(
            desk.supervisor.clone(),
            &desk,
            "supervisor's board (/)",
            seconds,
            |_, _| "/".to_string(),
        );
        if size == n {
            crowd_memory(&desk, seconds);
        }
        results.push((size, [queue, home, case, ring_case, search, board]));
        drop(desk.state);
        if keep.is_none() {
            desk.db.remove();
        }
        if size == n {
            break;
        }
    }
    if results.len() == 2 {
        println!("at {} cases against 10,000 (p99, mean):", results[1].0);
        for (i, what) in [
            "queue page",
            "agent's home",
            "case page",
            "case page, customer tied to 500",
            "search",
            "supervisor's board",
        ]
        .iter()
        .enumerate()
        {
            let (a, b) = (&results[0].1[i], &results[1].1[i]);
            let mean = |r: &loadgen::Report| {
                r.latencies.iter().sum::<Duration>().as_secs_f64() * 1000.0
                    / r.latencies.len().max(1) as f64
            };
            println!(
                "  {what}: p99 {:.2} ms → {:.2} ms ({:.2}×), mean {:.2} ms → {:.2} ms ({:.2}×)",
                loadgen::ms(a.percentile(0.99)),
                loadgen::ms(b.percentile(0.99)),
                b.percentile(0.99).as_secs_f64() / a.percentile(0.99).as_secs_f64().max(1e-9),
                mean(a),
                mean(b),
                mean(b) / mean(a).max(1e-9),
            );
        }
    }
}
