// Benchmark: the supervisor's reports over a desk holding many cases. A generator
// fills a SQLite database (or, with RISKDESK_BENCH_DATABASE_URL, a PostgreSQL
// database of its own, dropped and created) straight through SQL: cases spread over six months in the
// demo desk's queues, each with its alert, timeline (assignment, first response,
// some pauses, resolution), closing, calls, verification e-mails and surveys. The
// per-case facts are then counted in full (timed), and each report page is loaded
// for the last 30 days, one request at a time, and its server time printed; last,
// a CSV list of 100,000 cases is downloaded and the process's peak RSS growth
// during it printed (the export streams, so it should stay flat).
//
//   cargo bench --bench reports                               # 1,000,000 cases
//   RISKDESK_BENCH_CASES=50000 cargo bench --bench reports     # a quick look
//   RISKDESK_BENCH_KEEP=/tmp/reports-bench cargo bench --bench reports  # fill once, reuse
//   ONLY=reports FLOOR=… bash benches/served.sh /tmp/reports-bench     # then as served
//   RISKDESK_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/riskdesk_bench_reports cargo bench --bench reports
//
// On PostgreSQL the database is dropped at the end unless RISKDESK_BENCH_KEEP is set
// (then it is kept and reused, like the SQLite file).

#[path = "support/fill.rs"]
mod fill;
mod loadgen;

use fill::{BenchDb, Inserter, MIX, Rng, b, env, event_row, opt_ts, ts};

use std::io::Write;
use std::time::{Duration, Instant};

use chrono::Utc;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use riskdesk::accounts::{self, Actor, NewUserInput};
use riskdesk::app::AppState;
use riskdesk::clock::Clock;
use riskdesk::config::Settings;
use riskdesk::domain::events as ev;
use riskdesk::domain::password::NewPassword;
use riskdesk::domain::{CaseEvent, Severity};

const AGENTS: usize = 50;
const HISTORY_DAYS: u64 = 180;
/// (disposition, action).
const CLOSINGS: &[(&str, &str)] = &[
    ("false_positive", "released"),
    ("false_positive", "released"),
    ("false_positive", "released"),
    ("confirmed_fraud", "blocked"),
    ("unreachable", "frozen"),
    ("duplicate", "no_action"),
];
const OUTCOMES: &[&str] = &["verified", "denied", "no_answer", "voicemail"];

/// The process's own memory in KiB: its anonymous resident pages (`RssAnon`). The
/// pages of the database file SQLite maps are left out: they are the file's page
/// cache, shared and given back under pressure, and touching a month of them is no
/// growth of the process.
fn anon_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("RssAnon:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Runs `f` while a thread samples [`anon_kib`] every 2 ms; returns what `f` returned
/// and the highest sample.
fn peak_anon_during<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let done = done.clone();
        std::thread::spawn(move || {
            let mut peak = anon_kib();
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(anon_kib());
                std::thread::sleep(Duration::from_millis(2));
            }
            peak.max(anon_kib())
        })
    };
    let out = f();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    (out, sampler.join().unwrap())
}

struct Desk {
    state: AppState,
    addr: String,
    cookie: String,
    agent_id: i64,
    db: BenchDb,
    place: Place,
}

/// Where the database lives: a fresh temporary directory, or with
/// `RISKDESK_BENCH_KEEP=<dir>` a kept one, filled on the first run and reused after
/// (the fill and the full recount are then skipped).
enum Place {
    Temp(tempfile::TempDir),
    Kept(std::path::PathBuf),
}

impl Place {
    fn path(&self) -> &std::path::Path {
        match self {
            Place::Temp(d) => d.path(),
            Place::Kept(p) => p,
        }
    }
}

fn build(n: u64) -> Desk {
    let place = match std::env::var("RISKDESK_BENCH_KEEP") {
        Ok(d) => {
            std::fs::create_dir_all(&d).unwrap();
            Place::Kept(d.into())
        }
        Err(_) => Place::Temp(tempfile::tempdir().unwrap()),
    };
    let db = BenchDb::from_env(place.path().join("bench.db"));
    let marker = place.path().join(match &db {
        BenchDb::Sqlite(_) => format!("filled-{n}"),
        BenchDb::Postgres(_) => format!("filled-{n}-{}", db.name()),
    });
    let reuse = matches!(place, Place::Kept(_)) && marker.exists() && db.exists();
    if !reuse {
        let _ = std::fs::remove_file(&marker);
        db.recreate();
    }
    let mut settings = Settings::for_data_dir(place.path().join("data"), db.url());
    settings.workers = None;
    settings.pool_size = 8;
    let now = Utc::now();
    let state = AppState::open(settings, Clock::System).expect("open");
    let mut conn = state.pool.get().unwrap();
    if reuse {
        use riskdesk::db::schema::users;
        let boss: i64 = users::table
            .filter(users::email.eq("boss@bench.example"))
            .select(users::id)
            .first(&mut conn)
            .unwrap();
        let agent_id: i64 = users::table
            .filter(users::email.eq("agent0@bench.example"))
            .select(users::id)
            .first(&mut conn)
            .unwrap();
        let cookie = loadgen::session_cookie(&mut conn, boss);
        drop(conn);
        println!(
            "  reusing the database filled before: {}",
            db.url().redacted()
        );
        return serve(state, cookie, agent_id, db, place);
    }
    riskdesk::desk::apply_text(
        &mut conn,
        now,
        &Actor::cli(),
        &riskdesk::demo::desk_without_rotas().unwrap(),
        false,
    )
    .expect("demo configuration");
    let snap = state.desk.get(&mut conn).unwrap();
    let mut agents = Vec::new();
    for i in 0..AGENTS {
        let u = accounts::create_user(
            &mut conn,
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
        agents.push(u.id);
    }
    let boss = accounts::create_user(
        &mut conn,
        now,
        &Actor::cli(),
        &NewUserInput {
            email: "boss@bench.example",
            name: "Boss",
            role: "supervisor",
            language: None,
        },
        &NewPassword::generate(),
    )
    .unwrap();
    diesel::update(riskdesk::db::schema::users::table.find(boss.id))
        .set(riskdesk::db::schema::users::timezone.eq(Some("Asia/Shanghai")))
        .execute(&mut conn)
        .unwrap();
    let cookie = loadgen::session_cookie(&mut conn, boss.id);
    drop(conn);

    let t = Instant::now();
    let bench_db = db;
    let mut db = bench_db.open_fill();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let customers = (n / 2).max(1);
    let open_from = n - 2000.min(n / 5);
    let history = chrono::Duration::days(HISTORY_DAYS as i64);
    let mut total_weight = 0;
    let weights: Vec<u64> = MIX
        .iter()
        .map(|m| {
            total_weight += m.2;
            total_weight
        })
        .collect();
    db.batch_execute("BEGIN").unwrap();
    let mut cust = Inserter::new(
        "INSERT INTO customers (id, external_id, name, email, phone, locale, timezone, attributes, created_at, updated_at) VALUES ",
    );
    let created = ts(now - history - chrono::Duration::days(30));
    for c in 1..=customers {
        cust.push(
            &mut db,
            format!(
                "{c},'C-{c:08}','王伟{c}','c{c}@example.com','+86138{:08}','zh-CN','Asia/Shanghai','{{}}',{created},{created}",
                c % 100_000_000
            ),
        );
    }
    cust.flush(&mut db);
    let mut cases = Inserter::new(
        "INSERT INTO cases (id, customer_id, queue_id, priority, status, rule_code, open_key, opened_at, updated_at, first_response_due, resolution_due, first_responded_at, resolved_at, paused_minutes, breached, assignee_id, disposition, alert_count, weight, assigned_at, started_at, next_due, next_alarm_at, resolved_by, reopen_count) VALUES ",
    );
    let mut alerts = Inserter::new(
        "INSERT INTO alerts (id, external_id, rule_code, severity, occurred_at, received_at, customer_id, case_id, amount, currency, attributes, result) VALUES ",
    );
    let mut events =
        Inserter::new("INSERT INTO case_events (case_id, at, kind, actor_user_id, data) VALUES ");
    let mut closings = Inserter::new(
        "INSERT INTO resolutions (case_id, disposition, action, amount_protected, currency, note, customer_confirmed, resolver_id, created_at, state) VALUES ",
    );
    let mut calls = Inserter::new(
        "INSERT INTO calls (case_id, agent_id, at, number_masked, direction, outcome) VALUES ",
    );
    let mut links = Inserter::new(
        "INSERT INTO customer_tokens (token_hash, purpose, case_id, created_at, expires_at, used_at) VALUES ",
    );
    let mut surveys = Inserter::new(
        "INSERT INTO satisfaction (case_id, score, agent_id, queue_id, rule_code, answered_at) VALUES ",
    );
    let minutes = |m: u64| chrono::Duration::minutes(m as i64);
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
            now - chrono::Duration::seconds(((n - i) * 8 * 3600 / (n - open_from).max(1)) as i64)
        } else {
            now - history + chrono::Duration::seconds((i * HISTORY_DAYS * 86_400 / n) as i64)
                - chrono::Duration::hours(8)
        };
        let customer = if open {
            (i * 7919) % customers + 1
        } else {
            rng.below(customers) + 1
        };
        let agent = agents[rng.below(AGENTS as u64) as usize];
        let assigned = opened + minutes(rng.below(30));
        let responded = assigned + minutes(1 + rng.below(40));
        let pause = (!open && rng.below(10) == 0).then(|| {
            let from = responded + minutes(5);
            (from, from + minutes(10 + rng.below(110)))
        });
        let counted = pause.map_or(0, |(a, b)| {
            ((b - a).num_minutes()).min(queue.policy.max_pause_minutes)
        });
        let dues = queue.policy.dues(opened, priority, counted);
        let resolved = (!open)
            .then(|| pause.map_or(responded, |(_, b)| b) + minutes(5 + rng.below(3 * 24 * 60)));
        let responded = if open && rng.below(2) == 0 {
            None
        } else {
            Some(responded)
        };
        let closing = CLOSINGS[rng.below(CLOSINGS.len() as u64) as usize];
        let reopened = !open && rng.below(50) == 0;
        let updated = resolved.or(responded).unwrap_or(assigned);
        let breached = resolved.is_some_and(|r| r > dues.resolution);
        cases.push(
            &mut db,
            format!(
                "{i},{customer},{},'{}','{}','{rule}',{},{},{},{},{},{},{},{counted},{},{agent},{},1,{},{},{},{},{},{},{}",
                queue.id,
                priority.as_str(),
                if open { "assigned" } else { "resolved" },
                if open {
                    format!("'{customer}:{}'", queue.id)
                } else {
                    "NULL".into()
                },
                ts(opened),
                ts(updated),
                ts(dues.first_response),
                ts(dues.resolution),
                opt_ts(responded),
                opt_ts(resolved),
                b(breached),
                if open {
                    "NULL".to_string()
                } else {
                    format!("'{}'", closing.0)
                },
                def.weight,
                ts(assigned),
                opt_ts(responded),
                if open { ts(dues.resolution) } else { "NULL".into() },
                if open { ts(now) } else { "NULL".into() },
                if open { "NULL".to_string() } else { agent.to_string() },
                i32::from(reopened),
            ),
        );
        let amount = 1000 + rng.below(200_000);
        alerts.push(
            &mut db,
            format!(
                "{i},'bench-{i}','{rule}','{}',{},{},{customer},{i},'{amount}.00','CNY','{{}}','filed'",
                priority.as_str(),
                ts(opened),
                ts(opened),
            ),
        );
        let opened_event = CaseEvent::Opened(ev::Opened {
            rule: rule.to_string(),
            queue: queue_name.to_string(),
            priority,
        });
        events.push(&mut db, event_row(i, opened, None, &opened_event));
        let assigned_event = CaseEvent::Assigned(ev::Assigned {
            to: "agent@bench.example".into(),
            how: ev::How::Auto,
            reason: "least_loaded".into(),
            eligible: None,
            load: None,
            capacity: None,
            weight: def.weight,
        });
        events.push(&mut db, event_row(i, assigned, None, &assigned_event));
        if let Some(r) = responded {
            let first = CaseEvent::FirstResponse(ev::FirstResponse {
                how: "call".into(),
                late: r > dues.first_response,
            });
            events.push(&mut db, event_row(i, r, Some(agent), &first));
            if rng.below(10) < 6 {
                let outcome = OUTCOMES[rng.below(OUTCOMES.len() as u64) as usize];
                calls.push(
                    &mut db,
                    format!(
                        "{i},{agent},{},'+86 138****0000','outbound','{outcome}'",
                        ts(r)
                    ),
                );
            }
            if rng.below(10) == 0 {
                let used = if rng.below(2) == 0 {
                    ts(r + minutes(30))
                } else {
                    "NULL".into()
                };
                links.push(
                    &mut db,
                    format!(
                        "'bench-v-{i}','verify',{i},{},{},{used}",
                        ts(r),
                        ts(r + chrono::Duration::days(3))
                    ),
                );
            }
        }
        if let Some((a, b)) = pause {
            let paused = CaseEvent::Paused(ev::Paused {
                reason: "documents".into(),
                allowance_minutes: queue.policy.max_pause_minutes,
            });
            events.push(&mut db, event_row(i, a, Some(agent), &paused));
            let resumed = CaseEvent::Resumed(ev::Resumed {
                paused_minutes: (b - a).num_minutes(),
                counted_minutes: counted,
                limit_reached: false,
                first_response_due: dues.first_response,
                resolution_due: dues.resolution,
                cause: ev::ResumeCause::Answered,
            });
            events.push(&mut db, event_row(i, b, None, &resumed));
        }
        if let Some(r) = resolved {
            let resolved_event = CaseEvent::Resolved(ev::Resolved {
                disposition: closing.0.to_string(),
                details: ev::ClosingDetails::default(),
                approved_by: None,
                paused_minutes: None,
                by_customer: false,
            });
            events.push(&mut db, event_row(i, r, Some(agent), &resolved_event));
            let protected = matches!(closing.0, "confirmed_fraud" | "false_positive");
            closings.push(
                &mut db,
                format!(
                    "{i},'{}','{}',{},'CNY','bench',{},{agent},{},'final'",
                    closing.0,
                    closing.1,
                    if protected {
                        format!("'{amount}.00'")
                    } else {
                        "NULL".into()
                    },
                    b(closing.0 == "false_positive" && rng.below(2) == 0),
                    ts(r)
                ),
            );
            if closing.0 == "false_positive" {
                links.push(
                    &mut db,
                    format!(
                        "'bench-s-{i}','survey',{i},{},{},NULL",
                        ts(r),
                        ts(r + chrono::Duration::days(14))
                    ),
                );
                if rng.below(10) < 3 {
                    surveys.push(
                        &mut db,
                        format!(
                            "{i},{},{agent},{},'{rule}',{}",
                            1 + rng.below(5),
                            queue.id,
                            ts(r + minutes(60))
                        ),
                    );
                }
            }
        }
        if i % 100_000 == 0 {
            for ins in [
                &mut cases,
                &mut alerts,
                &mut events,
                &mut closings,
                &mut calls,
                &mut links,
                &mut surveys,
            ] {
                ins.flush(&mut db);
            }
            db.batch_execute("COMMIT; BEGIN").unwrap();
        }
    }
    for ins in [
        &mut cases,
        &mut alerts,
        &mut events,
        &mut closings,
        &mut calls,
        &mut links,
        &mut surveys,
    ] {
        ins.flush(&mut db);
    }
    fill::finish_fill(&mut db);
    println!(
        "  filled {} cases, {} customers, {} timeline events, {} closings, {} calls, {} links, {} survey answers in {:.1} s",
        cases.total,
        cust.total,
        events.total,
        closings.total,
        calls.total,
        links.total,
        surveys.total,
        t.elapsed().as_secs_f64()
    );
    drop(db);

    // The facts, counted in full as `refresh_all` does.
    let t = Instant::now();
    let mut conn = state.pool.get().unwrap();
    let written = riskdesk::reports::store::refresh_all(&mut conn, &snap, Utc::now()).unwrap();
    fill::analyze(&mut conn);
    println!(
        "  counted the facts of {written} cases in {:.1} s ({:.0} cases/s)",
        t.elapsed().as_secs_f64(),
        written as f64 / t.elapsed().as_secs_f64().max(1e-9)
    );
    drop(conn);
    if matches!(place, Place::Kept(_)) {
        std::fs::write(&marker, b"").unwrap();
    }
    serve(state, cookie, agents[0], bench_db, place)
}

fn serve(state: AppState, cookie: String, agent_id: i64, db: BenchDb, place: Place) -> Desk {
    if let Place::Kept(root) = &place {
        // What to ask `riskdesk serve` for from outside (benches/served.sh, ONLY=reports):
        // the supervisor's session and each report over the last 30 days.
        let mut t = String::new();
        if let BenchDb::Postgres(u) = &db {
            t.push_str(&format!("database_url {u}\n"));
        }
        t.push_str(&format!("supervisor_cookie {cookie}\n"));
        t.push_str("compliance /reports?period=30d\n");
        t.push_str("outcomes /reports/outcomes?period=30d\n");
        t.push_str(&format!(
            "agent_report /reports/agents/{agent_id}?period=30d\n"
        ));
        t.push_str("figure_cases /reports/cases?period=30d&measure=res_missed\n");
        std::fs::write(root.join("targets.txt"), t).unwrap();
    }
    let addr = loadgen::serve(&state);
    Desk {
        state,
        addr,
        cookie,
        agent_id,
        db,
        place,
    }
}

/// Loads `path` `times` times, one request at a time; prints and returns the times.
fn measure(desk: &Desk, what: &str, path: &str, times: usize) -> Vec<Duration> {
    let mut conn = loadgen::Conn::open(&desk.addr);
    let headers = [("Cookie", desk.cookie.as_str())];
    let (status, body) = conn.request("GET", path, &headers, b"");
    assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&body));
    let mut times_taken: Vec<Duration> = (0..times)
        .map(|_| {
            let t = Instant::now();
            let (status, _) = conn.request("GET", path, &headers, b"");
            assert_eq!(status, 200);
            t.elapsed()
        })
        .collect();
    times_taken.sort();
    let at = |p: f64| {
        times_taken
            [((times_taken.len() as f64 * p).ceil() as usize).clamp(1, times_taken.len()) - 1]
    };
    println!(
        "  {what}: median {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({times} requests, {} KiB page)",
        loadgen::ms(at(0.5)),
        loadgen::ms(at(0.9)),
        loadgen::ms(at(0.99)),
        loadgen::ms(*times_taken.last().unwrap()),
        body.len() / 1024
    );
    times_taken
}

/// A CSV download read as it streams (nothing kept): bytes, lines, time.
fn download(desk: &Desk, path: &str) -> (u64, u64, Duration) {
    let t = Instant::now();
    let mut res = reqwest::blocking::Client::new()
        .get(format!("http://{}{path}", desk.addr))
        .header("Cookie", &desk.cookie)
        .timeout(Duration::from_secs(600))
        .send()
        .expect("download");
    assert_eq!(res.status(), 200);
    struct Count(u64, u64);
    impl Write for Count {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0 += b.len() as u64;
            self.1 += b.iter().filter(|c| **c == b'\n').count() as u64;
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut sink = Count(0, 0);
    std::io::copy(&mut res, &mut sink).expect("read");
    (sink.0, sink.1, t.elapsed())
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let n = env("RISKDESK_BENCH_CASES", 1_000_000);
    let times = env("RISKDESK_BENCH_REQUESTS", 20) as usize;
    println!(
        "riskdesk reports benchmark: {} cores, {n} cases over {HISTORY_DAYS} days, {}",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        if BenchDb::postgres_from_env() {
            "PostgreSQL"
        } else {
            "SQLite"
        },
    );
    let desk = build(n);

    // The CSV list of (about) 100,000 resolved cases, first, while the process is
    // fresh: the days that hold them, from the newest back.
    let rows = env("RISKDESK_BENCH_CSV_ROWS", 100_000).min(n);
    let days = (rows * HISTORY_DAYS).div_ceil(n).max(1) as i64;
    let today = Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive();
    let from = today - chrono::Duration::days(days);
    let path = format!("/reports/export/cases.csv?from={from}&to={today}&measure=resolved");
    let before = anon_kib();
    let ((bytes, lines, took), peak) = peak_anon_during(|| download(&desk, &path));
    println!(
        "  CSV export ({path}): {} rows, {:.1} MiB in {:.2} s; process memory (anonymous RSS) before {:.1} MiB, peak during {:.1} MiB (growth {:.1} MiB)",
        lines.saturating_sub(1),
        bytes as f64 / 1_048_576.0,
        took.as_secs_f64(),
        before as f64 / 1024.0,
        peak as f64 / 1024.0,
        peak.saturating_sub(before) as f64 / 1024.0,
    );

    measure(
        &desk,
        "compliance, 30 days (/reports?period=30d)",
        "/reports?period=30d",
        times,
    );
    measure(
        &desk,
        "outcomes, 30 days (/reports/outcomes?period=30d)",
        "/reports/outcomes?period=30d",
        times,
    );
    measure(
        &desk,
        "one agent, 30 days (/reports/agents/{id}?period=30d)",
        &format!("/reports/agents/{}?period=30d", desk.agent_id),
        times,
    );
    measure(
        &desk,
        "cases behind a figure, 30 days (/reports/cases?period=30d&measure=res_missed)",
        "/reports/cases?period=30d&measure=res_missed",
        times,
    );
    measure(
        &desk,
        "a table as CSV, 30 days (/reports/export/compliance_agent.csv?period=30d)",
        "/reports/export/compliance_agent.csv?period=30d",
        times,
    );
    drop(desk.state);
    if matches!(desk.place, Place::Temp(_)) {
        desk.db.remove();
    }
}
