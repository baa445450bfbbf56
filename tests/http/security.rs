// Least privilege at the seams a security review reads first: passwords, sessions
// that end on request, the sign-in limit behind a balancer and across instances,
// masking that fails closed with reveals on record, and an audit trail that can be
// filtered, exported and streamed to a file or syslog as it happens.

use std::time::Duration as StdDuration;

use chrono::Duration;
use serde_json::{Value, json};

use crate::auth::user_id;
use crate::common::{Browser, TestApp, location};
use crate::intake::{DESK, alert};

const GOOD: &str = "tea at four in Hangzhou";

fn page(b: &Browser, path: &str) -> String {
    let res = b.get(path);
    assert_eq!(res.status(), 200, "{path}");
    res.text().unwrap()
}

#[test]
fn passwords_must_be_long_uncommon_and_not_the_email() {
    let app = TestApp::spawn();
    let pw = app.create_user("wei.wang@bank.example", "agent");
    let b = app.browser();
    assert_eq!(b.login("wei.wang@bank.example", &pw).status(), 303);
    let change = |new: &str| {
        b.submit(
            "/profile",
            "/profile/password",
            &[
                ("current_password", pw.as_str()),
                ("new_password", new),
                ("confirm_password", new),
            ],
        )
    };
    for (bad, says) in [
        ("elevenchars", "at least 12 characters"),
        ("Password2024!", "most common passwords"),
        ("qwertyuiopasdf", "most common passwords"),
        ("wei.wang@bank.example", "cannot contain your e-mail"),
        ("i am wei.wang really", "cannot contain your e-mail"),
    ] {
        let res = change(bad);
        assert_eq!(res.status(), 422, "{bad}");
        assert!(res.text().unwrap().contains(says), "{bad}: {says}");
    }
    // Nothing changed: the old password still signs in elsewhere.
    let other = app.browser();
    assert_eq!(other.login("wei.wang@bank.example", &pw).status(), 303);
    // A good one is taken, and the user's other sessions end.
    assert_eq!(change(GOOD).status(), 303);
    assert_eq!(
        other.get("/profile").status(),
        303,
        "the other session ended"
    );
    assert_eq!(b.get("/profile").status(), 200, "this one stays");
    let zh = b.get_lang("/profile", "zh-CN").text().unwrap();
    assert!(zh.contains("至少 12 个字符"), "the rule in Chinese too");
}

#[test]
fn signing_out_everywhere_and_an_admin_ending_sessions() {
    let app = TestApp::spawn();
    let pw = app.create_user("li.na@bank.example", "agent");
    let (laptop, phone) = (app.browser(), app.browser());
    assert_eq!(laptop.login("li.na@bank.example", &pw).status(), 303);
    assert_eq!(phone.login("li.na@bank.example", &pw).status(), 303);
    // The profile lists both sessions, this one marked.
    let profile = page(&laptop, "/profile");
    assert!(profile.contains("Your sessions") && profile.contains("this browser"));
    assert_eq!(
        profile.matches("<td class=\"nowrap\">").count(),
        4,
        "two rows"
    );
    let res = laptop.submit("/profile", "/logout/everywhere", &[]);
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/login");
    assert_eq!(laptop.get("/profile").status(), 303);
    assert_eq!(phone.get("/profile").status(), 303);
    assert!(app.audit_kinds().contains(&"sessions.ended".to_string()));

    // An admin ends a user's sessions from the users page (a lost laptop).
    assert_eq!(laptop.login("li.na@bank.example", &pw).status(), 303);
    let admin_pw = app.create_user("boss@bank.example", "admin");
    let admin = app.browser();
    assert_eq!(admin.login("boss@bank.example", &admin_pw).status(), 303);
    let id = user_id(&app, "li.na@bank.example");
    let user_page = format!("/admin/users/{id}");
    assert!(page(&admin, &user_page).contains("Open sessions: 1."));
    let res = admin.submit(&user_page, &format!("{user_page}/sessions/end"), &[]);
    assert_eq!(res.status(), 303);
    assert_eq!(laptop.get("/profile").status(), 303, "ended at once");
    assert!(page(&admin, &user_page).contains("Open sessions: 0."));
    let ended = audit_rows(&app, "sessions.ended");
    assert_eq!(ended.len(), 2);
    assert_eq!(ended[0]["detail"]["by"], "self");
    assert_eq!(ended[1]["detail"]["by"], "admin");
    assert_eq!(ended[1]["subject"], "li.na@bank.example");
    // Not one's own account through that door: sign out everywhere instead.
    let own = format!("/admin/users/{}", user_id(&app, "boss@bank.example"));
    let res = admin.submit(&own, &format!("{own}/sessions/end"), &[]);
    assert_eq!(res.status(), 422);
    assert_eq!(admin.get("/profile").status(), 200);
}

/// The audit events of one kind, oldest first, as the JSON lines export has them.
fn audit_rows(app: &TestApp, kind: &str) -> Vec<Value> {
    let admin = app.signed_in("admin");
    let res = admin.get(&format!("/admin/audit/export.jsonl?kind={kind}"));
    assert_eq!(res.status(), 200);
    res.text()
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn login_from(app: &TestApp, client_addr: &str, email: &str, password: &str) -> u16 {
    let b = app.browser();
    let token = b.csrf_from("/login");
    b.client
        .post(app.url("/login"))
        .header("X-Forwarded-For", client_addr)
        .form(&[
            ("email", email),
            ("password", password),
            ("csrf_token", &token),
        ])
        .send()
        .unwrap()
        .status()
        .as_u16()
}

#[test]
fn behind_a_trusted_balancer_the_limit_is_per_client_and_shared_by_instances() {
    let trusted = |s: &mut riskdesk::config::Settings| {
        s.trusted_proxies = riskdesk::domain::cidr::Cidr::parse_list("127.0.0.1/32").unwrap();
    };
    let app = TestApp::spawn_with(trusted);
    let other = app.second_instance_with(trusted);
    let pw = app.create_user("real@bank.example", "agent");
    // Twenty failures from one client, spread over two instances.
    for i in 0..20 {
        let node = if i % 2 == 0 { &app } else { &other };
        let status = login_from(
            node,
            "198.51.100.7",
            &format!("g{i}@bank.example"),
            "wrong-guess-1",
        );
        assert_eq!(status, 401, "attempt {i}");
    }
    // That client is refused on both, even with the right password…
    assert_eq!(
        login_from(&app, "198.51.100.7", "real@bank.example", &pw),
        429
    );
    assert_eq!(
        login_from(&other, "198.51.100.7", "real@bank.example", &pw),
        429
    );
    // …while another client behind the same balancer signs in.
    assert_eq!(
        login_from(&app, "198.51.100.8", "real@bank.example", &pw),
        303
    );
    // The audit trail names the client, not the balancer.
    let ok = audit_rows(&app, "login.succeeded");
    assert!(ok.iter().any(|e| e["ip"] == "198.51.100.8"), "{ok:?}");
    let failed = audit_rows(&app, "login.failed");
    assert!(
        failed.iter().all(|e| e["ip"] == "198.51.100.7"),
        "{failed:?}"
    );
    app.clock.advance(Duration::minutes(16));
    assert_eq!(
        login_from(&other, "198.51.100.7", "real@bank.example", &pw),
        303
    );
}

#[test]
fn an_untrusted_peer_cannot_choose_its_address() {
    let app = TestApp::spawn();
    let pw = app.create_user("real@bank.example", "agent");
    // Without --trusted-proxies, a forged header changes nothing: every attempt
    // counts against the real peer.
    for i in 0..20 {
        let forged = format!("203.0.113.{i}");
        assert_eq!(
            login_from(&app, &forged, "nobody@bank.example", "wrong-guess-1"),
            401
        );
    }
    assert_eq!(
        login_from(&app, "203.0.113.99", "real@bank.example", &pw),
        429
    );
    let failed = audit_rows_after_wait(&app);
    assert!(failed.iter().all(|e| e["ip"] == "127.0.0.1"), "{failed:?}");
}

fn audit_rows_after_wait(app: &TestApp) -> Vec<Value> {
    app.clock.advance(Duration::minutes(16));
    audit_rows(app, "login.failed")
}

#[test]
fn a_storm_of_sign_ins_is_answered_without_errors() {
    let app = TestApp::spawn();
    let pw = app.create_user("storm@bank.example", "agent");
    let base = app.base.clone();
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..24)
            .map(|i| {
                let (base, pw) = (base.clone(), pw.clone());
                s.spawn(move || {
                    let b = Browser::new(&base);
                    // The wrong ones try unknown accounts, so that none locks.
                    let (email, password) = if i % 2 == 0 {
                        ("storm@bank.example", pw.as_str())
                    } else {
                        ("nobody@bank.example", "wrong-guess-1")
                    };
                    b.login(email, password).status().as_u16()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    // Each one is signed in, refused, or told to come back: never an error.
    assert!(
        statuses.iter().all(|s| matches!(s, 303 | 401 | 429)),
        "{statuses:?}"
    );
    assert!(statuses.contains(&303), "{statuses:?}");
}

fn masked_desk(extra: &str) -> (TestApp, String) {
    let app = TestApp::spawn();
    app.apply_config(&format!("{extra}{DESK}"));
    let key = app.api_key();
    (app, key)
}

#[test]
fn masking_fails_closed_and_reveals_are_on_record() {
    let (app, key) = masked_desk("public_attributes = [\"channel\", \"memo\"]\n");
    let mut a = alert("m-1", "LARGE_TRANSFER", "C-1");
    a["transaction_ref"] = json!("TX-20261124-88812");
    a["attributes"]["channel"] = json!("mobile_app");
    a["attributes"]["merchant"] = json!("Taobao Mall");
    a["attributes"]["memo"] = json!("paid from 6222 0212 3456 7890");
    a["attributes"]["beneficiary_account"] = json!("6222021234567890");
    let (s, r) = app.post_api(&key, "/api/v1/alerts", &a);
    assert_eq!(s, 201, "{r}");
    let reference = r["case_ref"].as_str().unwrap().to_string();

    // The API: public keys shown, card numbers cut, everything else masked.
    let (_, case) = app.get_api(&key, &format!("/api/v1/cases/{reference}"));
    let attrs = &case["alerts"][0]["attributes"];
    assert_eq!(attrs["channel"], "mobile_app");
    assert_eq!(attrs["memo"], "paid from 6222 02** **** 7890");
    assert_eq!(attrs["merchant"], "T*********l");
    assert_eq!(attrs["beneficiary_account"], "622202******7890");
    assert_eq!(attrs["device_id"], "d****b");

    // The case page: the same, and the transaction reference masked.
    let boss = app.signed_in("supervisor");
    let path = format!("/cases/{reference}");
    let html = page(&boss, &path);
    for hidden in [
        "Taobao Mall",
        "6222 0212 3456 7890",
        "6222021234567890",
        "TX-20261124-88812",
    ] {
        assert!(!html.contains(hidden), "{hidden} shown");
    }
    assert!(html.contains("TX-202*******8812") && html.contains("mobile_app"));

    // Revealed with a reason: shown once, on record with the reason.
    let res = boss.submit(
        &path,
        &format!("{path}/reveal"),
        &[
            ("field", "transactions"),
            ("reason", "the customer asks which payment"),
        ],
    );
    assert_eq!(res.status(), 200);
    let shown = res.text().unwrap();
    assert!(shown.contains("TX-20261124-88812") && shown.contains("m-1"));
    let res = boss.submit(
        &path,
        &format!("{path}/reveal"),
        &[("field", "attributes"), ("reason", "confirm the merchant")],
    );
    let shown = res.text().unwrap();
    assert!(shown.contains("Taobao Mall") && shown.contains("m-1 · merchant"));
    assert!(
        !shown.contains("mobile_app"),
        "public values need no reveal"
    );
    let reveals = audit_rows(&app, "pii.revealed");
    assert_eq!(reveals.len(), 2);
    assert_eq!(reveals[0]["detail"]["field"], "transactions");
    assert_eq!(reveals[1]["detail"]["reason"], "confirm the merchant");
    assert!(
        !reveals[0].to_string().contains("TX-20261124-88812"),
        "no value on record"
    );

    // A key that cannot be an attribute's is refused by the configuration.
    let admin = app.signed_in("admin");
    let res = admin.submit(
        "/admin/desk",
        "/admin/desk/public-attributes",
        &[("public_attributes", "channel, card number!")],
    );
    assert_eq!(res.status(), 422);
    let text = res.text().unwrap();
    assert!(text.contains("public_attributes[1]") && text.contains("is not an attribute key"));
    let res = admin.submit(
        "/admin/desk",
        "/admin/desk/public-attributes",
        &[("public_attributes", "merchant")],
    );
    assert_eq!(res.status(), 303);
    let html = page(&boss, &path);
    assert!(html.contains("Taobao Mall") && !html.contains("mobile_app"));
}

#[test]
fn the_audit_log_filters_and_exports_and_every_export_is_recorded() {
    let app = TestApp::spawn();
    let pw = app.create_user("wei@bank.example", "agent");
    let b = app.browser();
    assert_eq!(
        b.login("wei@bank.example", "wrong-password-1").status(),
        401
    );
    app.clock.advance(Duration::days(2));
    assert_eq!(b.login("wei@bank.example", &pw).status(), 303);
    let admin = app.signed_in("admin");

    // By user: their events and those about them.
    let html = page(&admin, "/admin/audit?user=wei@bank.example");
    assert!(html.contains("<td>Sign-in failed</td>") && html.contains("<td>Signed in</td>"));
    assert_eq!(
        html.matches("<td>Signed in</td>").count(),
        1,
        "not the admin's"
    );
    // By family of kinds.
    let html = page(&admin, "/admin/audit?kind=login.*");
    assert!(html.contains("<td>Sign-in failed</td>") && !html.contains("<td>User created</td>"));
    // By date (days in the desk's time zone, both ends included).
    let day = (app.clock.now() - Duration::days(2))
        .format("%Y-%m-%d")
        .to_string();
    let res = admin.get(&format!(
        "/admin/audit/export.jsonl?user=wei@bank.example&from={day}&to={day}"
    ));
    let lines: Vec<Value> = res
        .text()
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kinds: Vec<&str> = lines.iter().map(|l| l["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["user.created", "login.failed"], "{lines:?}");
    assert_eq!(lines[1]["detail"]["reason"], "wrong_password");

    // CSV, with the filter, for a spreadsheet.
    let res = admin.get("/admin/audit/export.csv?kind=login.succeeded");
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("audit-")
    );
    let csv = res.text().unwrap();
    let rows: Vec<&str> = csv.trim_end().split("\r\n").collect();
    assert!(rows[0].contains("Kind (code)"));
    assert!(
        rows[1..].iter().all(|r| r.contains("login.succeeded")),
        "{csv}"
    );
    assert_eq!(rows.len(), 3, "wei's and the admin's sign-ins: {csv}");

    // Bad filters name the parameter and show nothing.
    for (query, param) in [
        ("user=ghost@bank.example", "user"),
        ("kind=made.up", "kind"),
        ("from=yesterday", "from"),
        ("from=2026-11-30&to=2026-11-01", "to"),
    ] {
        let res = admin.get(&format!("/admin/audit?{query}"));
        assert_eq!(res.status(), 400, "{query}");
        let text = res.text().unwrap();
        assert!(
            text.contains(&format!("The filter&#39;s {param} cannot be")),
            "{query}: {text}"
        );
        let res = admin.get(&format!("/admin/audit/export.csv?{query}"));
        assert_eq!(res.status(), 400, "{query}");
    }
    // Each export is itself on the trail, with its filter; the refused ones are not.
    let exports = audit_rows(&app, "audit.exported");
    assert_eq!(exports.len(), 3, "{exports:?}");
    assert_eq!(exports[1]["detail"]["format"], "csv");
    assert_eq!(exports[1]["detail"]["filter"], "kind=login.succeeded");
    // Agents and supervisors cannot read it.
    let boss = app.signed_in("supervisor");
    assert_eq!(boss.get("/admin/audit/export.jsonl").status(), 403);
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..100 {
        if done() {
            return;
        }
        std::thread::sleep(StdDuration::from_millis(100));
    }
    panic!("waited 10 s for {what}");
}

fn file_lines(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn the_audit_log_is_appended_to_a_file_as_it_happens_once_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let sink = path.clone();
    let app = TestApp::spawn_with(move |s| {
        s.audit_log = Some(riskdesk::config::AuditSink::File(sink));
    });
    let pw = app.create_user("wei@bank.example", "agent");
    let b = app.browser();
    assert_eq!(
        b.login("wei@bank.example", "wrong-password-1").status(),
        401
    );
    assert_eq!(b.login("wei@bank.example", &pw).status(), 303);
    wait_for("the sign-ins in the file", || {
        file_lines(&path)
            .iter()
            .any(|l| l["kind"] == "login.succeeded")
    });
    let lines = file_lines(&path);
    let kinds: Vec<&str> = lines.iter().map(|l| l["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["user.created", "login.failed", "login.succeeded"]);
    assert_eq!(lines[1]["subject"], "wei@bank.example");
    assert_eq!(lines[2]["actor"], "wei@bank.example");

    // After a restart the file goes on where it stopped: nothing twice, nothing lost.
    let sink = path.clone();
    let app2 = app.restart_with(move |s| {
        s.audit_log = Some(riskdesk::config::AuditSink::File(sink));
    });
    assert_eq!(app2.browser().login("wei@bank.example", &pw).status(), 303);
    wait_for("the next sign-in in the file", || {
        file_lines(&path)
            .iter()
            .filter(|l| l["kind"] == "login.succeeded")
            .count()
            == 2
    });
    std::thread::sleep(StdDuration::from_millis(1500));
    let ids: Vec<i64> = file_lines(&path)
        .iter()
        .map(|l| l["id"].as_i64().unwrap())
        .collect();
    let mut unique = ids.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(ids, unique, "no event twice");
    assert_eq!(ids.len(), 4);
}

#[test]
fn the_audit_log_goes_to_syslog() {
    use std::os::unix::net::UnixDatagram;
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("log.sock");
    let syslog = UnixDatagram::bind(&socket).unwrap();
    syslog
        .set_read_timeout(Some(StdDuration::from_secs(10)))
        .unwrap();
    let sink = socket.clone();
    let app = TestApp::spawn_with(move |s| {
        s.audit_log = Some(riskdesk::config::AuditSink::Syslog(sink));
    });
    let pw = app.create_user("wei@bank.example", "agent");
    assert_eq!(app.browser().login("wei@bank.example", &pw).status(), 303);
    let mut got = Vec::new();
    let mut buf = vec![0u8; 65536];
    while !got.iter().any(|m: &String| m.contains("login.succeeded")) {
        let n = syslog.recv(&mut buf).expect("a syslog message within 10 s");
        got.push(String::from_utf8_lossy(&buf[..n]).to_string());
    }
    let msg = got.iter().find(|m| m.contains("login.succeeded")).unwrap();
    // RFC 5424: priority (authpriv.notice), version, app name, then the event.
    assert!(msg.starts_with("<85>1 "), "{msg}");
    assert!(
        msg.contains(" riskdesk ") && msg.contains(" audit - {"),
        "{msg}"
    );
    let json: Value = serde_json::from_str(&msg[msg.find('{').unwrap()..]).unwrap();
    assert_eq!(json["actor"], "wei@bank.example");
}
