// Benchmark: alerts posted at full speed from many keep-alive connections to a real
// riskdesk (durable SQLite by default, PostgreSQL with RISKDESK_BENCH_DATABASE_URL);
// prints alerts/s and latency percentiles.
//
//   cargo bench --bench intake                     # 32 connections, 20 s
//   RISKDESK_BENCH_CONNECTIONS=64 RISKDESK_BENCH_SECONDS=30 cargo bench --bench intake
//   RISKDESK_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1/riskdesk_bench cargo bench --bench intake
//   RISKDESK_BENCH_CAMPAIGNS=1 cargo bench --bench intake   # with a campaign rule on every alert
//   RISKDESK_BENCH_RING=0 …        # each customer with a phone, device and address of their own
//   RISKDESK_BENCH_WEBHOOKS=2 …    # two webhooks of every event, delivered to a local receiver
//                                  # by the delivery worker while alerts pour in
//   RISKDESK_BENCH_DELIVER=0 …     # … delivered only after the run
//
// Exits non-zero when any alert was refused (an answer of 400 or more).

mod loadgen;

use std::time::Duration;

use riskdesk::accounts::Actor;
use riskdesk::app::AppState;
use riskdesk::clock::Clock;
use riskdesk::config::Settings;
use riskdesk::db::DatabaseUrl;

/// The people the demo desk's on-call rotas name, and their roles.
const ONCALL_PEOPLE: [(&str, &str); 4] = [
    ("li.na@riskdesk.demo", "agent"),
    ("wang.lei@riskdesk.demo", "agent"),
    ("zhou.jie@riskdesk.demo", "agent"),
    ("supervisor@riskdesk.demo", "supervisor"),
];

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let connections = env("RISKDESK_BENCH_CONNECTIONS", 32) as usize;
    let seconds = env("RISKDESK_BENCH_SECONDS", 20);
    let dir = tempfile::tempdir().unwrap();
    let database = match std::env::var("RISKDESK_BENCH_DATABASE_URL") {
        Ok(u) => DatabaseUrl::parse(&u).expect("database URL"),
        Err(_) => DatabaseUrl::Sqlite(dir.path().join("bench.db")),
    };
    println!(
        "riskdesk intake benchmark: {} on {} cores, {connections} connections, {seconds} s, database {}",
        std::env::consts::ARCH,
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        database.redacted()
    );
    let mut settings = Settings::for_data_dir(dir.path().join("data"), database);
    settings.workers = None;
    settings.pool_size = 16;
    // RISKDESK_INTAKE_WRITERS: the writers on PostgreSQL (default: from the pool).
    settings.intake_writers = std::env::var("RISKDESK_INTAKE_WRITERS")
        .ok()
        .and_then(|v| v.parse().ok());
    let state = AppState::open(settings, Clock::System).expect("open");
    // With campaigns on, a rule that links by every identifier, for every alert: the
    // mix below shares one address and one phone among all its customers, so every
    // alert after the fifth joins the one campaign (the heaviest path detection has).
    let campaigns = env("RISKDESK_BENCH_CAMPAIGNS", 0) == 1;
    let desk = if campaigns {
        format!(
            "{}\n[[campaigns]]\nname = \"bench-ring\"\nlink_by = [\"device_id\", \"ip\", \"phone\"]\nmin_customers = 5\nwindow_minutes = 60\nqueue = \"New accounts\"\n",
            riskdesk::demo::desk_without_rotas().expect("demo configuration")
        )
    } else {
        riskdesk::demo::desk_without_rotas().expect("demo configuration")
    };
    println!(
        "campaign detection: {}",
        if campaigns { "on" } else { "off" }
    );
    {
        let mut conn = state.pool.get().unwrap();
        // The demo desk's on-call rotas name these people (offline: no case goes to
        // them at intake).
        for (email, role) in ONCALL_PEOPLE {
            riskdesk::accounts::create_user(
                &mut conn,
                state.now(),
                &Actor::cli(),
                &riskdesk::accounts::NewUserInput {
                    email,
                    name: email,
                    role,
                    language: None,
                },
                &riskdesk::domain::password::NewPassword::generate(),
            )
            .expect("on-call people");
        }
        riskdesk::desk::apply_text(&mut conn, state.now(), &Actor::cli(), &desk, false)
            .expect("demo configuration");
    }
    let key = {
        let mut conn = state.pool.get().unwrap();
        // Every scope, and the highest rate limit: the benchmark measures intake,
        // not the limit.
        riskdesk::apikeys::create(
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
        .1
    };
    // Webhooks of every event, delivered as the worker does (pass after pass) to a
    // receiver on loopback that answers at once.
    let webhooks = env("RISKDESK_BENCH_WEBHOOKS", 0);
    println!("webhooks: {webhooks}");
    let delivering = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(webhooks > 0));
    let delivered = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let worker = if webhooks > 0 {
        let url = receiver();
        let mut conn = state.pool.get().unwrap();
        for i in 0..webhooks {
            riskdesk::webhooks::add(
                &mut conn,
                state.now(),
                &Actor::cli(),
                &format!("bench-{i}"),
                &url,
                "",
            )
            .unwrap();
        }
        // RISKDESK_BENCH_DELIVER=0: nothing is sent during the run (the cost of
        // writing the deliveries alone), only after it. Either way the worker runs as
        // the server's job does, every two seconds.
        let deliver_during = env("RISKDESK_BENCH_DELIVER", 1) == 1;
        let loaded = std::time::Instant::now() + Duration::from_secs(2 + seconds);
        let (st, on, n) = (state.clone(), delivering.clone(), delivered.clone());
        Some(std::thread::spawn(move || {
            while on.load(std::sync::atomic::Ordering::Relaxed) {
                if !deliver_during && std::time::Instant::now() < loaded {
                    std::thread::sleep(Duration::from_millis(100));
                    continue;
                }
                // As the server's job runs it: every two seconds, pass after pass
                // while a pass finds a full batch.
                let pass = riskdesk::jobs::send_webhooks(&st).unwrap();
                n.fetch_add(pass.delivered, std::sync::atomic::Ordering::Relaxed);
                std::thread::sleep(Duration::from_secs(2));
            }
        }))
    } else {
        None
    };
    let addr = loadgen::serve(&state);

    // By default every customer shares one address and one phone (with the rule on,
    // every alert after the fifth joins the ring's campaign); RISKDESK_BENCH_RING=0
    // gives each customer their own, so detection looks on every alert and finds no
    // ring: what it costs a desk most of whose alerts are not part of one.
    let ring = env("RISKDESK_BENCH_RING", 1) == 1;
    println!(
        "identifiers: {}",
        if ring {
            "one ring (shared address and phone)"
        } else {
            "each customer their own"
        }
    );
    let run_id = std::process::id();
    let make = move |c: usize, seq: usize| {
        let customer = (c * 7919 + seq) % 50_000;
        let (phone, device, ip) = if ring {
            (
                "+8613800138000".to_string(),
                format!("d-{}", seq % 500),
                "203.0.113.7".to_string(),
            )
        } else {
            (
                format!("+86139{customer:08}"),
                format!("d-c{customer}"),
                format!(
                    "10.{}.{}.{}",
                    customer >> 16,
                    (customer >> 8) & 255,
                    customer & 255
                ),
            )
        };
        // A realistic mix: new customers, repeat customers (grouping), several rules.
        let rules = [
            "LARGE_TRANSFER",
            "ACCOUNT_TAKEOVER",
            "NEW_ACCOUNT_BURST",
            "PROMOTION_ABUSE",
            "AML_WATCHLIST",
        ];
        let body = serde_json::json!({
            "external_id": format!("bench-{run_id}-{c}-{seq}"),
            "rule": rules[(c + seq) % rules.len()],
            "customer": {
                "external_id": format!("C-{customer}"),
                "name": "王伟", "email": "wei@example.com", "phone": phone,
                "locale": "zh-CN", "timezone": "Asia/Shanghai"
            },
            "amount": {"value": format!("{}.00", 1000 + (seq * 37) % 400_000), "currency": "CNY"},
            "transaction_ref": format!("TX-{seq}"),
            "attributes": {"device_id": device, "ip": ip, "channel": "app"}
        });
        (
            "POST".to_string(),
            "/api/v1/alerts".to_string(),
            vec![
                ("Authorization".to_string(), format!("Bearer {key}")),
                ("Content-Type".to_string(), "application/json".to_string()),
            ],
            serde_json::to_vec(&body).unwrap(),
        )
    };
    // Warm up, then measure.
    let warm = loadgen::run(&addr, connections, Duration::from_secs(2), make.clone());
    warm.print("warm-up");
    let delivered_rows = |state: &AppState| {
        let mut conn = state.pool.get().unwrap();
        riskdesk::store::webhooks::counts(&mut conn).unwrap().2
    };
    let before = delivered_rows(&state);
    let report = loadgen::run(&addr, connections, Duration::from_secs(seconds), make);
    report.print("POST /api/v1/alerts");
    if let Some(worker) = worker {
        let during = delivered_rows(&state) - before;
        println!(
            "webhook deliveries during the run: {during} ({:.0}/s)",
            during as f64 / seconds as f64
        );
        // Then the backlog alone: how fast the worker empties it.
        let mut conn = state.pool.get().unwrap();
        let (waiting, _, _) = riskdesk::store::webhooks::counts(&mut conn).unwrap();
        drop(conn);
        let t = std::time::Instant::now();
        let start = delivered.load(std::sync::atomic::Ordering::Relaxed);
        loop {
            let mut conn = state.pool.get().unwrap();
            let (left, _, _) = riskdesk::store::webhooks::counts(&mut conn).unwrap();
            if left == 0 || t.elapsed() > Duration::from_secs(120) {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let done = delivered.load(std::sync::atomic::Ordering::Relaxed) - start;
        println!(
            "then {waiting} waiting, {done} delivered in {:.1} s: {:.0} deliveries/s",
            t.elapsed().as_secs_f64(),
            done as f64 / t.elapsed().as_secs_f64().max(1e-9)
        );
        delivering.store(false, std::sync::atomic::Ordering::Relaxed);
        worker.join().unwrap();
    }
    let target_ok =
        report.per_second() >= 2000.0 && report.percentile(0.99) < Duration::from_millis(50);
    if std::env::var("RISKDESK_BENCH_DATABASE_URL").is_err() {
        println!(
            "target (SQLite, durable): >= 2000 alerts/s with p99 < 50 ms: {}",
            if target_ok { "met" } else { "NOT met" }
        );
    }
    // Speed is reported; a refused alert fails the run (CI's short PostgreSQL run
    // relies on it). RISKDESK_BENCH_DEBUG=1 prints the first refusal of each connection.
    if warm.errors + report.errors > 0 {
        eprintln!(
            "FAILED: {} alerts refused (status 400 or more)",
            warm.errors + report.errors
        );
        std::process::exit(1);
    }
}

/// A receiver on loopback that reads each request and answers 200 at once (one
/// thread per connection, keep-alive); returns its URL.
fn receiver() -> String {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut out = stream;
                loop {
                    let mut len = 0usize;
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        let l = line.trim_end();
                        if l.is_empty() {
                            break;
                        }
                        if let Some((k, v)) = l.split_once(':')
                            && k.eq_ignore_ascii_case("content-length")
                        {
                            len = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; len];
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    if out
                        .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    url
}
