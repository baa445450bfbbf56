// Webhooks against a real HTTP receiver on loopback that fails, times out and comes
// back: signed deliveries, retries with the same event id, order per case, one
// delivery per event across two instances, nothing lost over a restart; the
// command line and the admin pages, and bad input that changes nothing.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use chrono::Duration;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::assignment::{Desk, presence};
use crate::common::TestApp;
use crate::intake::alert;
use crate::resolution::resolve;

/// How the receiver answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Ok,
    Fail,
    /// Answers after this many milliseconds.
    Slow(u64),
}

/// One request the receiver was sent.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HashMap<String, String>,
    pub body: String,
    pub answered: u16,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// An HTTP receiver on loopback that records every request.
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    mode: Arc<Mutex<Mode>>,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    pub fn start() -> Receiver {
        Self::on(TcpListener::bind("127.0.0.1:0").unwrap())
    }

    /// A receiver on `listener` (to come back on a port it had before).
    pub fn on(listener: TcpListener) -> Receiver {
        let port = listener.local_addr().unwrap().port();
        let r = Receiver {
            url: format!("http://127.0.0.1:{port}/hooks/riskdesk"),
            mode: Arc::new(Mutex::new(Mode::Ok)),
            got: Arc::new(Mutex::new(Vec::new())),
        };
        let me = r.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let me = me.clone();
                std::thread::spawn(move || me.serve(stream));
            }
        });
        r
    }

    fn serve(&self, stream: TcpStream) {
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut headers = HashMap::new();
        loop {
            let mut h = String::new();
            reader.read_line(&mut h).unwrap();
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            let (k, v) = h.split_once(':').unwrap();
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
        let len: usize = headers
            .get("content-length")
            .map_or(0, |l| l.parse().unwrap());
        let mut body = vec![0; len];
        reader.read_exact(&mut body).unwrap();
        let mode = *self.mode.lock().unwrap();
        let status = match mode {
            Mode::Ok => 200,
            Mode::Fail => 503,
            Mode::Slow(ms) => {
                std::thread::sleep(StdDuration::from_millis(ms));
                200
            }
        };
        self.got.lock().unwrap().push(Received {
            headers,
            body: String::from_utf8(body).unwrap(),
            answered: status,
        });
        let said = if status == 200 {
            "ok"
        } else {
            "down for maintenance"
        };
        let mut out = stream;
        let _ = write!(
            out,
            "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{said}",
            said.len()
        );
    }

    pub fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    pub fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// The requests answered 200, as JSON.
    pub fn delivered(&self) -> Vec<Value> {
        self.got()
            .iter()
            .filter(|r| r.answered == 200)
            .map(Received::json)
            .collect()
    }
}

/// Checks a delivery's signature the way docs/webhooks.md tells a receiver to.
pub fn verify(secret: &str, r: &Received) -> bool {
    let header = &r.headers["riskdesk-signature"];
    let mut t = "";
    let mut v1 = "";
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", x)) => t = x,
            Some(("v1", x)) => v1 = x,
            _ => {}
        }
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{}", r.body).as_bytes());
    hex::encode(mac.finalize().into_bytes()) == v1
}

/// Adds a receiver by the command the CLI and the admin page share.
pub fn subscribe(app: &TestApp, name: &str, url: &str, events: &str) -> String {
    let mut conn = app.conn();
    let (_, secret) = riskdesk::webhooks::add(
        &mut conn,
        app.state.now(),
        &riskdesk::accounts::Actor::cli(),
        name,
        url,
        events,
    )
    .unwrap();
    secret
}

/// Runs the delivery worker until a pass finds nothing to do.
pub fn drain(app: &TestApp) -> (usize, usize) {
    let mut total = (0, 0);
    loop {
        let pass = riskdesk::jobs::send_webhooks(&app.state).unwrap();
        total.0 += pass.delivered;
        total.1 += pass.retrying;
        if pass.delivered + pass.retrying == 0 {
            return total;
        }
        if pass.retrying > 0 {
            return total;
        }
    }
}

/// Deliveries not yet made: in line for a retry, or events still in the outbox.
fn waiting(app: &TestApp) -> i64 {
    riskdesk::store::webhooks::counts(&mut app.conn())
        .unwrap()
        .0
}

#[test]
fn deliveries_are_signed_retried_with_one_id_and_in_order_for_each_case() {
    let d = Desk::new();
    let receiver = Receiver::start();
    let secret = subscribe(&d.app, "engine", &receiver.url, "");
    let (li, _) = d.agent("li@bank.example", &["Transfers"], &["fraud"], 5);
    presence(&li, "online");

    receiver.set(Mode::Fail);
    let mut a = alert("w-1", "LARGE_TRANSFER", "C-1");
    a["amount"] = json!({"value": "900.00", "currency": "CNY"});
    a["transaction_ref"] = json!("TX-77");
    let (s, r) = d.app.post_api(&d.key, "/api/v1/alerts", &a);
    assert_eq!(s, 201, "{r}");
    let reference = r["case_ref"].as_str().unwrap().to_string();

    // The receiver is down: the first event is tried, the later one of the same
    // case waits behind it.
    let (delivered, retrying) = drain(&d.app);
    assert_eq!((delivered, retrying), (0, 1));
    assert_eq!(receiver.got().len(), 1);
    assert_eq!(receiver.got()[0].answered, 503);
    // Not due again before its backoff.
    assert_eq!(drain(&d.app), (0, 0));

    // Closed while the receiver is still down: more waits, in line.
    let res = resolve(
        &li,
        &reference,
        &[
            ("disposition", "false_positive"),
            ("action", "released"),
            ("note", "Customer confirmed the transfer on the phone."),
            ("customer_confirmed", "true"),
        ],
    );
    assert_eq!(res.status(), 303);
    assert_eq!(waiting(&d.app), 4, "opened, assigned, resolved, decided");

    receiver.set(Mode::Ok);
    d.app.clock.advance(Duration::seconds(11));
    drain(&d.app);
    assert_eq!(waiting(&d.app), 0);

    let got = receiver.got();
    assert!(
        got.iter().all(|r| verify(&secret, r)),
        "every delivery is signed"
    );
    assert!(!verify("whsec_wrong", &got[0]));
    // The failed attempt and the one that arrived carry one id.
    assert_eq!(got[0].json()["id"], got[1].json()["id"]);
    assert_eq!(got[0].headers["content-type"], "application/json");

    let types: Vec<String> = receiver
        .delivered()
        .iter()
        .map(|v| v["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        types,
        [
            "case.opened",
            "case.assigned",
            "case.resolved",
            "transaction.decided"
        ]
    );
    let delivered = receiver.delivered();
    for v in &delivered {
        assert_eq!(v["data"]["case"], reference.as_str());
        assert!(v["id"].as_str().unwrap().starts_with("evt_"));
        assert!(chrono::DateTime::parse_from_rfc3339(v["created_at"].as_str().unwrap()).is_ok());
    }
    let resolved = &delivered[2]["data"];
    assert_eq!(resolved["label"], "false_positive");
    assert_eq!(resolved["disposition"], "false_positive");
    assert_eq!(resolved["action"], "released");
    assert!(
        resolved.get("note").is_none(),
        "the agent's note stays on the desk"
    );
    let decided = &delivered[3]["data"];
    assert_eq!(decided["transaction_ref"], "TX-77");
    assert_eq!(decided["decision"], "release");
}

#[test]
fn a_slow_receiver_times_out_and_never_holds_up_intake() {
    let app = TestApp::spawn_with(|s| s.webhook_timeout = StdDuration::from_secs(1));
    app.apply_config(crate::intake::DESK);
    let key = app.api_key();
    let receiver = Receiver::start();
    subscribe(&app, "slow", &receiver.url, "case.opened");
    receiver.set(Mode::Slow(3000));

    let (s, _) = app.post_api(
        &key,
        "/api/v1/alerts",
        &alert("s-1", "LARGE_TRANSFER", "C-1"),
    );
    assert_eq!(s, 201);
    // The worker gives up after the timeout; the attempt is recorded as failed.
    let worker = {
        let st = app.state.clone();
        std::thread::spawn(move || riskdesk::jobs::send_webhooks(&st).unwrap())
    };
    // Intake answers at once while the receiver keeps the worker waiting.
    std::thread::sleep(StdDuration::from_millis(200));
    let started = std::time::Instant::now();
    let (s, _) = app.post_api(
        &key,
        "/api/v1/alerts",
        &alert("s-2", "LARGE_TRANSFER", "C-2"),
    );
    assert_eq!(s, 201);
    assert!(started.elapsed() < StdDuration::from_millis(900));
    let pass = worker.join().unwrap();
    assert_eq!(pass.retrying, 1, "{pass:?}");
    let error: Option<String> = {
        use diesel::prelude::*;
        use riskdesk::db::schema::webhook_deliveries as wd;
        wd::table
            .filter(wd::attempts.eq(1))
            .select(wd::last_error)
            .first(&mut *app.conn())
            .unwrap()
    };
    assert!(error.unwrap().to_lowercase().contains("timeout"));

    receiver.set(Mode::Ok);
    app.clock.advance(Duration::seconds(11));
    drain(&app);
    assert_eq!(waiting(&app), 0);
    let ids: Vec<Value> = receiver
        .delivered()
        .iter()
        .map(|v| v["id"].clone())
        .collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
}

#[test]
fn two_instances_deliver_each_event_once() {
    let d = Desk::new();
    let second = d.app.second_instance();
    let receiver = Receiver::start();
    subscribe(&d.app, "engine", &receiver.url, "case.opened,case.reopened");
    for i in 0..30 {
        let app = if i % 2 == 0 { &d.app } else { &second };
        let (s, r) = app.post_api(
            &d.key,
            "/api/v1/alerts",
            &alert(&format!("t-{i}"), "LARGE_TRANSFER", &format!("C-{i}")),
        );
        assert_eq!(s, 201, "{r}");
    }
    let workers: Vec<_> = [d.app.state.clone(), second.state.clone()]
        .into_iter()
        .flat_map(|st| {
            (0..2).map(move |_| {
                let st = st.clone();
                std::thread::spawn(move || {
                    for _ in 0..5 {
                        riskdesk::jobs::send_webhooks(&st).unwrap();
                    }
                })
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    assert_eq!(waiting(&d.app), 0);
    let mut ids: Vec<String> = receiver
        .got()
        .iter()
        .map(|r| r.json()["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 30);
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 30, "no event was sent twice");
}

#[test]
fn nothing_is_lost_when_the_receiver_is_down_over_a_restart() {
    let app = TestApp::spawn();
    app.apply_config(crate::intake::DESK);
    let key = app.api_key();
    // A port with nothing listening: connections are refused.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let url = format!("http://127.0.0.1:{port}/hooks/riskdesk");
    let secret = subscribe(&app, "engine", &url, "case.opened");
    for i in 0..3 {
        let (s, _) = app.post_api(
            &key,
            "/api/v1/alerts",
            &alert(&format!("l-{i}"), "LARGE_TRANSFER", &format!("C-{i}")),
        );
        assert_eq!(s, 201);
    }
    let (_, retrying) = drain(&app);
    assert_eq!(retrying, 3);

    // The desk restarts; the receiver comes back on its port.
    let restarted = app.restart();
    let receiver = Receiver::on(TcpListener::bind(("127.0.0.1", port)).unwrap());
    restarted.clock.advance(Duration::seconds(11));
    drain(&restarted);
    assert_eq!(waiting(&restarted), 0);
    let got = receiver.got();
    assert_eq!(got.len(), 3);
    assert!(got.iter().all(|r| verify(&secret, r)));
}

#[test]
fn the_admin_page_adds_disables_rotates_resends_and_deletes() {
    let d = Desk::new();
    let receiver = Receiver::start();
    let admin = d.app.signed_in("admin");
    let page = admin.get("/admin/webhooks").text().unwrap();
    assert!(page.contains("No webhooks yet."), "{page}");

    // Bad input is named and stores nothing.
    for (fields, needle) in [
        (
            vec![("name", "engine"), ("url", "ftp://h.example/")],
            "The URL must be an absolute",
        ),
        (
            vec![("name", " "), ("url", receiver.url.as_str())],
            "The name must have 1 to 100 characters.",
        ),
        (
            vec![
                ("name", "engine"),
                ("url", receiver.url.as_str()),
                ("events", "case.closed"),
            ],
            "Unknown event “case.closed”.",
        ),
    ] {
        let res = admin.submit("/admin/webhooks", "/admin/webhooks", &fields);
        assert_eq!(res.status(), 422);
        let text = res.text().unwrap();
        assert!(text.contains(needle), "{text}");
    }
    assert_eq!(d.app.count("webhooks"), 0);

    let res = admin.submit(
        "/admin/webhooks",
        "/admin/webhooks",
        &[
            ("name", "engine"),
            ("url", receiver.url.as_str()),
            ("events", "case.opened"),
            ("events", "case.resolved"),
        ],
    );
    assert_eq!(res.status(), 200);
    let text = res.text().unwrap();
    let secret = text
        .split("<code>")
        .find_map(|p| p.strip_prefix("whsec_"))
        .map(|p| format!("whsec_{}", p.split('<').next().unwrap()))
        .expect("the secret is shown once");
    assert!(
        !admin
            .get("/admin/webhooks")
            .text()
            .unwrap()
            .contains(&secret)
    );
    // A second one of the same name is refused.
    let res = admin.submit(
        "/admin/webhooks",
        "/admin/webhooks",
        &[("name", "engine"), ("url", receiver.url.as_str())],
    );
    assert_eq!(res.status(), 422);
    assert!(res.text().unwrap().contains("exists already"));

    let id: i64 = {
        use diesel::prelude::*;
        use riskdesk::db::schema::webhooks;
        webhooks::table
            .select(webhooks::id)
            .first(&mut *d.app.conn())
            .unwrap()
    };
    // Disabled, it receives nothing; what it missed waits for it.
    admin.submit(
        "/admin/webhooks",
        &format!("/admin/webhooks/{id}/disable"),
        &[],
    );
    d.post("a-1", "LARGE_TRANSFER", "C-1");
    drain(&d.app);
    assert!(receiver.got().is_empty());
    admin.submit(
        "/admin/webhooks",
        &format!("/admin/webhooks/{id}/enable"),
        &[],
    );
    drain(&d.app);
    assert_eq!(receiver.got().len(), 1);
    assert!(verify(&secret, &receiver.got()[0]));

    // A new secret signs from now on; a delivery sent again keeps its id.
    let rotated = admin
        .submit(
            "/admin/webhooks",
            &format!("/admin/webhooks/{id}/rotate"),
            &[],
        )
        .text()
        .unwrap();
    assert!(!rotated.contains(&secret));
    let fresh = rotated
        .split("<code>")
        .find_map(|p| p.strip_prefix("whsec_"))
        .map(|p| format!("whsec_{}", p.split('<').next().unwrap()))
        .unwrap();
    let detail = admin.get(&format!("/admin/webhooks/{id}")).text().unwrap();
    assert!(detail.contains("case.opened"), "{detail}");
    assert!(detail.contains("Delivered"), "{detail}");
    let delivery: i64 = {
        use diesel::prelude::*;
        use riskdesk::db::schema::webhook_deliveries as wd;
        wd::table.select(wd::id).first(&mut *d.app.conn()).unwrap()
    };
    admin.submit(
        &format!("/admin/webhooks/{id}"),
        &format!("/admin/webhook-deliveries/{delivery}/resend"),
        &[],
    );
    drain(&d.app);
    let got = receiver.got();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].json()["id"], got[1].json()["id"]);
    assert!(verify(&fresh, &got[1]));
    assert!(!verify(&secret, &got[1]));

    // The page is in Chinese for a Chinese admin.
    let zh = admin.get_lang("/admin/webhooks", "zh-CN").text().unwrap();
    assert!(zh.contains("添加 Webhook"), "{zh}");

    admin.submit(
        "/admin/webhooks",
        &format!("/admin/webhooks/{id}/delete"),
        &[],
    );
    assert_eq!(d.app.count("webhooks"), 0);
    assert_eq!(d.app.count("webhook_deliveries"), 0);
    let kinds = d.app.audit_kinds();
    for k in [
        "webhook.added",
        "webhook.disabled",
        "webhook.enabled",
        "webhook.secret_rotated",
        "webhook.resent",
        "webhook.deleted",
    ] {
        assert!(kinds.iter().any(|x| x == k), "{k}: {kinds:?}");
    }
    // Agents and supervisors are refused.
    let sup = d.app.signed_in("supervisor");
    assert_eq!(sup.get("/admin/webhooks").status(), 403);
}

#[test]
fn metrics_count_deliveries_by_state() {
    let d = Desk::new();
    let receiver = Receiver::start();
    subscribe(&d.app, "engine", &receiver.url, "case.opened");
    receiver.set(Mode::Fail);
    d.post("m-1", "LARGE_TRANSFER", "C-1");
    d.post("m-2", "LARGE_TRANSFER", "C-2");
    drain(&d.app);
    receiver.set(Mode::Ok);
    d.post("m-3", "LARGE_TRANSFER", "C-3");
    let body = reqwest::blocking::get(d.app.url("/metrics"))
        .unwrap()
        .text()
        .unwrap();
    assert!(
        body.contains("riskdesk_webhook_deliveries{state=\"waiting\"} 3"),
        "{body}"
    );
    assert!(
        body.contains("riskdesk_webhook_deliveries{state=\"retrying\"} 2"),
        "{body}"
    );
    assert!(
        body.contains("riskdesk_webhook_deliveries{state=\"delivered\"} 0"),
        "{body}"
    );
    // The receiver is back: all three arrive and are counted.
    d.app.clock.advance(Duration::seconds(11));
    drain(&d.app);
    drain(&d.app);
    let body = reqwest::blocking::get(d.app.url("/metrics"))
        .unwrap()
        .text()
        .unwrap();
    assert!(
        body.contains("riskdesk_webhook_deliveries{state=\"delivered\"} 3"),
        "{body}"
    );
    assert!(
        body.contains("riskdesk_webhook_deliveries{state=\"waiting\"} 0"),
        "{body}"
    );
}

#[test]
fn the_command_line_adds_lists_and_refuses_bad_input_by_name() {
    let d = crate::cli::desk();
    for (args, needle) in [
        (
            vec!["--name", "e", "--url", "ftp://h.example/"],
            "url: the URL must be an absolute http:// or https:// address",
        ),
        (
            vec![
                "--name",
                "e",
                "--url",
                "https://h.example/",
                "--events",
                "case.opened,case.closed",
            ],
            "events: unknown event 'case.closed'",
        ),
        (
            vec!["--name", "", "--url", "https://h.example/"],
            "name: the name must have 1 to 100 characters",
        ),
    ] {
        let mut full = vec!["webhook", "add"];
        full.extend(args.iter().copied());
        let (code, _, err) = d.run(&full, None);
        assert_eq!(code, 1, "{full:?}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.contains(needle), "{err}");
    }
    let (code, out, _) = d.run(&["webhook", "list"], None);
    assert_eq!(code, 0);
    assert!(out.contains("no webhooks"), "{out}");

    let (code, out, err) = d.run(
        &[
            "webhook",
            "add",
            "--name",
            "engine",
            "--url",
            "https://engine.bank.example/riskdesk",
            "--events",
            "case.resolved,transaction.decided",
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("signing secret: whsec_"), "{out}");
    assert!(out.contains("case.resolved, transaction.decided"), "{out}");
    let (_, list, _) = d.run(&["webhook", "list"], None);
    assert!(
        list.contains("engine\tenabled\thttps://engine.bank.example/riskdesk"),
        "{list}"
    );
    assert!(!list.contains("whsec_"), "{list}");
    assert_eq!(d.run(&["webhook", "disable", "engine"], None).0, 0);
    let (_, list, _) = d.run(&["webhook", "list"], None);
    assert!(list.contains("engine\tdisabled"), "{list}");
    let (code, out, _) = d.run(&["webhook", "rotate", "engine"], None);
    assert_eq!(code, 0);
    assert!(out.contains("whsec_"), "{out}");
    let (code, _, err) = d.run(&["webhook", "delete", "nope"], None);
    assert_eq!(code, 1);
    assert!(err.contains("no such webhook"), "{err}");
    assert_eq!(d.run(&["webhook", "delete", "engine"], None).0, 0);
    let (_, list, _) = d.run(&["webhook", "list"], None);
    assert!(list.contains("no webhooks"), "{list}");
}

#[test]
fn a_receiver_that_is_down_is_tried_a_few_times_a_pass_not_once_per_event() {
    let app = TestApp::spawn();
    app.apply_config(crate::intake::DESK);
    let key = app.api_key();
    let receiver = Receiver::start();
    subscribe(&app, "engine", &receiver.url, "case.opened");
    receiver.set(Mode::Fail);
    for i in 0..12 {
        let (s, _) = app.post_api(
            &key,
            "/api/v1/alerts",
            &alert(&format!("d-{i}"), "LARGE_TRANSFER", &format!("C-{i}")),
        );
        assert_eq!(s, 201);
    }
    // Twelve cases, one event each: after three failures the pass stops trying and
    // the rest wait in line, not one attempt more.
    let pass = riskdesk::jobs::send_webhooks(&app.state).unwrap();
    assert_eq!(pass.delivered, 0);
    let tried = receiver.got().len();
    assert!(
        (3..3 + 8).contains(&tried),
        "tried {tried} times (three failures, and the attempts already under way)"
    );
    assert_eq!(waiting(&app), 12);

    // Back up: every event arrives once, the failed ones with their first id.
    receiver.set(Mode::Ok);
    app.clock.advance(Duration::seconds(11));
    drain(&app);
    assert_eq!(waiting(&app), 0);
    let mut ids: Vec<String> = receiver
        .delivered()
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 12);
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 12, "each event delivered once");
}

#[test]
fn events_an_instance_took_and_never_recorded_go_out_after_its_lease() {
    let app = TestApp::spawn();
    app.apply_config(crate::intake::DESK);
    let key = app.api_key();
    let receiver = Receiver::start();
    subscribe(&app, "engine", &receiver.url, "case.opened");
    let (s, _) = app.post_api(
        &key,
        "/api/v1/alerts",
        &alert("x-1", "LARGE_TRANSFER", "C-1"),
    );
    assert_eq!(s, 201);
    // Another instance takes the outbox's lease and dies before recording anything.
    let taken = riskdesk::store::jobs::take_lease(
        &mut app.conn(),
        "webhook_outbox",
        "an-instance-that-died",
        app.state.now(),
        riskdesk::webhooks::LEASE,
    )
    .unwrap();
    assert!(taken);
    assert_eq!(drain(&app), (0, 0), "held by the other instance");
    assert!(receiver.got().is_empty());
    assert_eq!(waiting(&app), 1, "still in the outbox");

    app.clock
        .advance(riskdesk::webhooks::LEASE + Duration::seconds(1));
    assert_eq!(drain(&app), (1, 0));
    assert_eq!(receiver.delivered().len(), 1);
    assert_eq!(waiting(&app), 0);
}

#[test]
fn a_disabled_receiver_gets_what_it_missed_once_enabled() {
    let app = TestApp::spawn();
    app.apply_config(crate::intake::DESK);
    let key = app.api_key();
    let receiver = Receiver::start();
    subscribe(&app, "engine", &receiver.url, "case.opened");
    let mut conn = app.conn();
    let hook = riskdesk::webhooks::find(&mut conn, "engine").unwrap();
    let cli = riskdesk::accounts::Actor::cli();
    riskdesk::webhooks::set_enabled(&mut conn, app.state.now(), &cli, hook.id, false).unwrap();
    drop(conn);
    for i in 0..2 {
        let (s, _) = app.post_api(
            &key,
            "/api/v1/alerts",
            &alert(&format!("o-{i}"), "LARGE_TRANSFER", &format!("C-{i}")),
        );
        assert_eq!(s, 201);
    }
    drain(&app);
    assert!(
        receiver.got().is_empty(),
        "nothing goes to a receiver that is off"
    );
    assert_eq!(waiting(&app), 2);

    let mut conn = app.conn();
    riskdesk::webhooks::set_enabled(&mut conn, app.state.now(), &cli, hook.id, true).unwrap();
    drop(conn);
    drain(&app);
    assert_eq!(receiver.delivered().len(), 2);
    assert_eq!(waiting(&app), 0);
}
