// Personal data never leaks: a whole run of the real binary — alerts carrying a
// customer's name, e-mail, phone, ID and card numbers; agents and supervisors working
// the case on every page; the JSON API; the configuration export; the server's debug
// logs — is searched for those values. Only the one response of an audited reveal may
// carry one, and the customer's own e-mails are addressed to them.

use std::io::{BufRead, BufReader, Read};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::cli::{Running, desk};
use crate::common::{Browser, extract_csrf, location};

const NAME: &str = "王伟";
const EMAIL: &str = "wei.wang@example.com";
const PHONE: &str = "13800138000";
const ID_NUMBER: &str = "110101199003074512";
const CARD: &str = "6222021234567890123";

#[test]
fn no_page_log_line_or_export_carries_unmasked_personal_data() {
    let d = desk();
    let dir = d.dir.path().to_path_buf();
    // The desk, an API key and three users, through the command line.
    let config = dir.join("desk.toml");
    std::fs::write(&config, crate::assignment::desk_config()).unwrap();
    let (code, _, err) = d.run(&["config", "apply", config.to_str().unwrap()], None);
    assert_eq!(code, 0, "{err}");
    let (_, out, _) = d.run(
        &[
            "apikey",
            "create",
            "--name",
            "engine",
            "--scopes",
            "alerts:write,cases:read",
        ],
        None,
    );
    let key = out
        .lines()
        .find(|l| l.starts_with("rdk_"))
        .unwrap()
        .trim()
        .to_string();
    for (email, role, extra) in [
        (
            "li@bank.example",
            "agent",
            vec!["--queues", "Transfers", "--skills", "fraud"],
        ),
        ("sup@bank.example", "supervisor", vec![]),
        ("admin@bank.example", "admin", vec![]),
    ] {
        let mut args = vec![
            "user",
            "add",
            "--email",
            email,
            "--name",
            email,
            "--role",
            role,
            "--password-stdin",
        ];
        args.extend(extra);
        let (code, _, err) = d.run(&args, Some("a-long-password-1\n"));
        assert_eq!(code, 0, "{err}");
    }

    // The server, logging everything at debug level; all it writes is kept.
    let logs = Arc::new(Mutex::new(String::new()));
    let mut child = Running(
        d.cmd(&["serve", "--bind", "127.0.0.1:0"])
            .env("RUST_LOG", "debug")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut stderr = child.0.stderr.take().unwrap();
    let err_logs = logs.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = stderr.read(&mut buf) {
            if n == 0 {
                break;
            }
            err_logs
                .lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    let mut lines = BufReader::new(child.0.stdout.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(60);
    let base = loop {
        assert!(Instant::now() < deadline, "the server did not start");
        let line = lines.next().expect("server output").unwrap();
        logs.lock().unwrap().push_str(&line);
        if let Some(rest) = line.strip_prefix("riskdesk listening on ") {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    let out_logs = logs.clone();
    std::thread::spawn(move || {
        for l in lines.map_while(Result::ok) {
            out_logs.lock().unwrap().push_str(&l);
        }
    });

    // Everything the run shows anyone is collected here.
    let mut seen: Vec<(String, String)> = Vec::new();
    let client = reqwest::blocking::Client::new();
    let alert = |id: &str, customer: &str| {
        json!({
            "external_id": id,
            "rule": "LARGE_TRANSFER",
            "customer": {"external_id": customer, "name": NAME, "email": EMAIL,
                         "phone": format!("+86{PHONE}")},
            "amount": {"value": "1500.00", "currency": "CNY"},
            "transaction_ref": "TX-1",
            "attributes": {"device_id": "d-1", "ip": "203.0.113.7",
                           "id_number": ID_NUMBER, "card_number": CARD,
                           "contact_phone": format!("+86{PHONE}"), "payer_email": EMAIL}
        })
    };
    let mut refs = Vec::new();
    for (id, customer) in [("p-1", "C-1"), ("p-2", "C-2")] {
        let res = client
            .post(format!("{base}/api/v1/alerts"))
            .bearer_auth(&key)
            .json(&alert(id, customer))
            .send()
            .unwrap();
        let text = res.text().unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        refs.push(v["case_ref"].as_str().unwrap().to_string());
        seen.push((format!("POST /api/v1/alerts {id}"), text));
    }
    // A malformed alert: the error must not echo the data either.
    let mut bad = alert("p-3", "C-3");
    bad["customer"]["email"] = json!(format!("{EMAIL}@@"));
    let res = client
        .post(format!("{base}/api/v1/alerts"))
        .bearer_auth(&key)
        .json(&bad)
        .send()
        .unwrap();
    seen.push(("POST bad alert".into(), res.text().unwrap()));

    let agent = Browser::new(&base);
    assert_eq!(
        agent.login("li@bank.example", "a-long-password-1").status(),
        303
    );
    assert_eq!(
        agent
            .submit("/", "/presence", &[("status", "online")])
            .status(),
        303
    );
    let case = format!("/cases/{}", refs[0]);
    // Work the case: a call, a verification e-mail, a reveal (its one response is
    // the only place the value may appear).
    let r = agent.submit(
        &case,
        &format!("{case}/calls"),
        &[
            ("number", "phone"),
            ("direction", "outbound"),
            ("outcome", "no_answer"),
            ("notes", "no answer"),
        ],
    );
    assert_eq!(r.status(), 303);
    let page = agent.get(&format!("{case}/verify-email")).text().unwrap();
    let token = extract_csrf(&page).unwrap();
    let r = agent.post_raw(
        &format!("{case}/verify-email"),
        &[("template", "verification"), ("csrf_token", &token)],
    );
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), case);
    let revealed = agent
        .submit(
            &case,
            &format!("{case}/reveal"),
            &[("field", "phone"), ("reason", "calling the customer")],
        )
        .text()
        .unwrap();
    assert!(revealed.contains(PHONE), "the reveal shows the value once");
    // The replies filled in for the customer, as the preview shows them.
    let email_preview = format!("{case}/messages/preview?template=reply_case_update&channel=email");
    let portal_preview =
        format!("{case}/messages/preview?template=reply_case_update&channel=portal");
    for path in [
        "/",
        "/profile",
        "/notifications",
        case.as_str(),
        &email_preview,
        &portal_preview,
    ] {
        seen.push((format!("agent GET {path}"), agent.get(path).text().unwrap()));
    }
    let sup = Browser::new(&base);
    assert_eq!(
        sup.login("sup@bank.example", "a-long-password-1").status(),
        303
    );
    for path in [
        "/",
        "/approvals",
        "/admin/playbooks",
        "/admin/templates",
        "/admin/tips",
        case.as_str(),
        &format!("/cases/{}", refs[1]),
    ] {
        seen.push((
            format!("supervisor GET {path}"),
            sup.get(path).text().unwrap(),
        ));
    }
    let admin = Browser::new(&base);
    assert_eq!(
        admin
            .login("admin@bank.example", "a-long-password-1")
            .status(),
        303
    );
    for path in ["/admin/audit", "/admin/users", "/admin/desk"] {
        seen.push((format!("admin GET {path}"), admin.get(path).text().unwrap()));
    }
    for path in [
        "/api/v1/cases".to_string(),
        format!("/api/v1/cases/{}", refs[0]),
        format!("/api/v1/cases/{}/events", refs[0]),
        format!("/api/v1/cases/{}", refs[1]),
        "/metrics".to_string(),
    ] {
        let text = client
            .get(format!("{base}{path}"))
            .bearer_auth(&key)
            .send()
            .unwrap()
            .text()
            .unwrap();
        seen.push((format!("GET {path}"), text));
    }
    let (_, export, _) = d.run(&["config", "export"], None);
    seen.push(("config export".into(), export));
    // Let the outbox and the watchers run, then stop and read the logs.
    std::thread::sleep(Duration::from_secs(6));
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status();
    let _ = child.0.wait();
    seen.push(("server logs".into(), logs.lock().unwrap().clone()));
    assert!(
        seen.last().unwrap().1.contains("/api/v1/alerts"),
        "the logs were captured"
    );

    let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
    for (what, text) in &seen {
        for value in [NAME, EMAIL, PHONE, ID_NUMBER, CARD] {
            assert!(
                !text.contains(value),
                "{what} carries unmasked personal data ({value})"
            );
        }
        // Digits split by markup or spaces count too.
        let all = digits(text);
        for value in [PHONE, ID_NUMBER, CARD] {
            assert!(!all.contains(value), "{what} carries {value} in pieces");
        }
    }
}
