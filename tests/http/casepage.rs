// The case page's content as agents and supervisors use it: why the rule fired with
// personal values masked, the customer's history and cases linked by a shared device,
// address or phone, playbooks in both languages, revealing personal data with a
// reason, and verification calls with their refusals, first response and callbacks.

use chrono::Duration;
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::common::{Browser, TestApp, location};
use crate::intake::DESK;

struct Desk {
    app: TestApp,
    key: String,
}

impl Desk {
    fn new() -> Desk {
        Self::with(|_| {})
    }

    fn with(tweak: impl FnOnce(&mut riskdesk::config::Settings)) -> Desk {
        let app = TestApp::spawn_with(tweak);
        app.apply_config(DESK);
        let key = app.api_key();
        Desk { app, key }
    }

    /// An agent of `queues`, signed in; no language set, so Accept-Language decides.
    fn agent(&self, email: &str, queues: &[&str]) -> (Browser, i64) {
        self.app.agent(email, queues, &["fraud"], 5)
    }

    fn post(&self, alert: Value) -> String {
        let (s, r) = self.app.post_api(&self.key, "/api/v1/alerts", &alert);
        assert!(s == 201, "{s} {r}");
        r["case_ref"].as_str().unwrap().to_string()
    }

    fn events(&self, reference: &str) -> Vec<Value> {
        let (s, v) = self
            .app
            .get_api(&self.key, &format!("/api/v1/cases/{reference}/events"));
        assert_eq!(s, 200);
        v["events"].as_array().cloned().unwrap_or_default()
    }

    fn kinds(&self, reference: &str) -> Vec<String> {
        self.events(reference)
            .iter()
            .map(|e| e["kind"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    fn calls(&self) -> i64 {
        self.app.count("calls")
    }
}

fn alert(id: &str, rule: &str, customer: &str, phone: &str, device: &str, ip: &str) -> Value {
    json!({
        "external_id": id,
        "rule": rule,
        "customer": {"external_id": customer, "name": "王伟", "email": "wei@example.com", "phone": phone, "locale": "zh-CN"},
        "attributes": {"device_id": device, "ip": ip}
    })
}

fn page(b: &Browser, path: &str) -> String {
    let res = b.get(path);
    assert_eq!(res.status(), 200, "GET {path}");
    res.text().unwrap()
}

#[test]
fn why_it_fired_lists_every_alert_newest_first_with_personal_values_masked() {
    let d = Desk::new();
    let (agent, _) = d.agent("li.na@bank.example", &["Transfers"]);
    let mut first = alert(
        "w-1",
        "LARGE_TRANSFER",
        "C-1",
        "+8613800138000",
        "d-91ab",
        "203.0.113.7",
    );
    first["amount"] = json!({"value": "125000.00", "currency": "CNY"});
    first["transaction_ref"] = json!("TX-FIRST-1");
    first["attributes"]["payee_card_number"] = json!("6222021234567890123");
    first["attributes"]["contact_email"] = json!("zhang@example.org");
    first["attributes"]["channel"] = json!("app");
    let reference = d.post(first);
    let mut second = alert(
        "w-2",
        "LARGE_TRANSFER",
        "C-1",
        "+8613800138000",
        "d-91ab",
        "203.0.113.7",
    );
    second["amount"] = json!({"value": "99.5", "currency": "USD"});
    second["transaction_ref"] = json!("TX-SECOND-2");
    assert_eq!(d.post(second), reference);

    let html = page(&agent, &format!("/cases/{reference}"));
    assert!(html.contains("Why it fired"));
    assert!(html.contains("Large transfer") && html.contains("fraud"));
    assert!(html.contains("125000.00 CNY") && html.contains("99.50 USD"));
    // Newest first.
    let (a, b) = (
        html.find("99.50 USD").unwrap(),
        html.find("125000.00 CNY").unwrap(),
    );
    assert!(a < b, "the newest alert comes first");
    // The transaction reference is an identifier: masked here, revealable.
    assert!(html.contains("*******ND-2") && html.contains("******ST-1"));
    assert!(!html.contains("TX-SECOND-2") && !html.contains("TX-FIRST-1"));
    // Attributes as a key/value list, personal values masked.
    assert!(html.contains("payee_card_number") && html.contains("622202*********0123"));
    assert!(html.contains("z***@example.org"));
    assert!(html.contains("203.0.113.*"));
    assert!(html.contains("+86 138****8000"));
    // Masking fails closed: an attribute nobody declared public is masked…
    assert!(html.contains("<dd>***</dd>") && !html.contains("<dd>app</dd>"));
    // …until the desk declares it public.
    d.app
        .apply_config(&format!("public_attributes = [\"channel\"]\n{DESK}"));
    let html = page(&agent, &format!("/cases/{reference}"));
    assert!(html.contains("<dd>app</dd>"));
    for plain in [
        "6222021234567890123",
        "zhang@example.org",
        "203.0.113.7",
        "13800138000",
        "wei@example.com",
        "王伟",
    ] {
        assert!(!html.contains(plain), "{plain} shown unmasked");
    }
    // SLA clocks with the time left, and the customer's language.
    assert!(html.contains("left"), "time left on the clocks");
    assert!(html.contains("zh-CN"));
}

#[test]
fn history_and_cases_linked_by_device_address_or_phone() {
    let d = Desk::new();
    let (agent, _) = d.agent("li.na@bank.example", &["Transfers"]);
    let boss = d.app.signed_in("supervisor");
    // The customer: a transfer case, and an earlier case in another queue.
    let earlier = d.post(alert(
        "h-0",
        "NEW_ACCOUNT_BURST",
        "C-A",
        "+8613800000001",
        "dev-a",
        "198.51.100.1",
    ));
    let mine = d.post(alert(
        "h-1",
        "LARGE_TRANSFER",
        "C-A",
        "+8613800000001",
        "dev-shared",
        "198.51.100.1",
    ));
    // B shares the device (a Transfers case); C shares the phone (New accounts);
    // E shares the address; D shares nothing.
    let b_case = d.post(alert(
        "h-2",
        "LARGE_TRANSFER",
        "C-B",
        "+8613800000002",
        "dev-shared",
        "192.0.2.2",
    ));
    let c_case = d.post(alert(
        "h-3",
        "NEW_ACCOUNT_BURST",
        "C-C",
        "+86 138-0000-0001",
        "dev-c",
        "192.0.2.3",
    ));
    let e_case = d.post(alert(
        "h-5",
        "LARGE_TRANSFER",
        "C-E",
        "+8613800000005",
        "dev-e",
        "198.51.100.1",
    ));
    let d_case = d.post(alert(
        "h-4",
        "LARGE_TRANSFER",
        "C-D",
        "+8613800000004",
        "dev-d",
        "192.0.2.4",
    ));

    let html = page(&agent, &format!("/cases/{mine}"));
    // History: the earlier case in a queue the agent does not work, without a link.
    assert!(html.contains(&earlier));
    assert!(!html.contains(&format!("href=\"/cases/{earlier}\"")));
    assert!(html.contains("NEW_ACCOUNT_BURST"));
    // Linked: B by device and E by address, with links; C by phone, masked, no link.
    assert!(html.contains(&format!("href=\"/cases/{b_case}\"")));
    assert!(html.contains("Device id ******ared"));
    assert!(html.contains(&format!("href=\"/cases/{e_case}\"")));
    assert!(html.contains("IP 198.51.100.*"));
    assert!(html.contains("Phone +86 138****0001"));
    assert!(
        !html.contains(&c_case),
        "a case of another queue is not named"
    );
    assert!(html.contains("A case in a queue you do not work"));
    assert!(!html.contains(&d_case));
    // The agent cannot open the other queue's linked case.
    assert_eq!(agent.get(&format!("/cases/{c_case}")).status(), 404);
    // A supervisor sees every link.
    let html = page(&boss, &format!("/cases/{mine}"));
    assert!(html.contains(&format!("href=\"/cases/{c_case}\"")));
    assert!(html.contains(&format!("href=\"/cases/{earlier}\"")));
    // The link table holds digests and masked values only.
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        value_hash: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        masked: String,
    }
    let rows: Vec<Row> = diesel::sql_query("SELECT value_hash, masked FROM customer_identifiers")
        .load(&mut *d.app.conn())
        .unwrap();
    assert!(rows.len() >= 15, "three identifiers per customer");
    for r in rows {
        assert_eq!(r.value_hash.len(), 64);
        for plain in ["dev-shared", "198.51.100.1", "8613800000001"] {
            assert!(!r.masked.contains(plain) && r.masked != plain);
        }
    }
}

const STEPS_EN: &str = "Call the customer on the number on file\nConfirm the transfer's payee";
const SCRIPT_ZH: &str = "您好，这里是银行风控中心。";

#[test]
fn playbooks_are_edited_by_supervisors_and_shown_in_the_readers_language() {
    let d = Desk::new();
    let (agent, _) = d.agent("li.na@bank.example", &["Transfers"]);
    let boss = d.app.signed_in("supervisor");
    let reference = d.post(alert(
        "p-1",
        "LARGE_TRANSFER",
        "C-1",
        "+8613800138000",
        "d-1",
        "203.0.113.7",
    ));
    assert!(
        page(&agent, &format!("/cases/{reference}")).contains("No playbook for this rule yet.")
    );

    // Agents may not read or change playbooks.
    assert_eq!(agent.get("/admin/playbooks").status(), 403);
    assert_eq!(agent.get("/admin/playbooks/LARGE_TRANSFER").status(), 403);
    let res = agent.submit(
        "/profile",
        "/admin/playbooks/LARGE_TRANSFER",
        &[("steps_en", "mine")],
    );
    assert_eq!(res.status(), 403);
    assert_eq!(d.app.count("playbooks"), 0);

    // A supervisor writes both languages.
    let list = page(&boss, "/admin/playbooks");
    assert!(list.contains("LARGE_TRANSFER") && list.contains("NEW_ACCOUNT_BURST"));
    let res = boss.submit(
        "/admin/playbooks/LARGE_TRANSFER",
        "/admin/playbooks/LARGE_TRANSFER",
        &[
            ("steps_en", STEPS_EN),
            ("script_en", "Hello, this is the bank's risk desk."),
            ("steps_zh", "致电客户\n确认收款人"),
            ("script_zh", SCRIPT_ZH),
        ],
    );
    assert_eq!(res.status(), 303);
    assert_eq!(d.app.count("playbooks"), 2);
    assert!(d.app.audit_kinds().contains(&"playbook.saved".to_string()));
    assert!(
        page(&boss, "/admin/playbooks/LARGE_TRANSFER").contains("The playbook has been saved.")
    );
    // An unknown rule is not found; an over-long text changes nothing.
    let res = boss.submit(
        "/admin/playbooks/LARGE_TRANSFER",
        "/admin/playbooks/NO_SUCH_RULE",
        &[("steps_en", "x")],
    );
    assert_eq!(res.status(), 404);
    let long = "x".repeat(10_001);
    let res = boss.submit(
        "/admin/playbooks/LARGE_TRANSFER",
        "/admin/playbooks/LARGE_TRANSFER",
        &[("steps_en", &long), ("steps_zh", "改")],
    );
    assert_eq!(res.status(), 303);
    assert!(page(&boss, "/admin/playbooks/LARGE_TRANSFER").contains("at most 10000 characters"));
    let saved = d
        .app
        .audit_kinds()
        .iter()
        .filter(|k| *k == "playbook.saved")
        .count();
    assert_eq!(saved, 1);

    // The case page shows the reader's language.
    let en = page(&agent, &format!("/cases/{reference}"));
    assert!(en.contains("Confirm the transfer&#39;s payee"), "{en}");
    assert!(!en.contains(SCRIPT_ZH));
    let zh = agent
        .get_lang(&format!("/cases/{reference}"), "zh-CN")
        .text()
        .unwrap();
    assert!(zh.contains(SCRIPT_ZH) && zh.contains("确认收款人"));
    assert!(!zh.contains("Hello, this is the bank"));

    // With the Chinese playbook removed, a Chinese reader gets the English one.
    let res = boss.submit(
        "/admin/playbooks/LARGE_TRANSFER",
        "/admin/playbooks/LARGE_TRANSFER",
        &[
            ("steps_en", STEPS_EN),
            ("script_en", "Hello, this is the bank's risk desk."),
            ("steps_zh", ""),
            ("script_zh", ""),
        ],
    );
    assert_eq!(res.status(), 303);
    assert_eq!(d.app.count("playbooks"), 1);
    let zh = agent
        .get_lang(&format!("/cases/{reference}"), "zh-CN")
        .text()
        .unwrap();
    assert!(zh.contains("Hello, this is the bank"));
    assert!(zh.contains("暂无您所用语言的处置手册"));
}

#[test]
fn revealing_needs_a_reason_is_audited_and_shows_the_value_once() {
    let d = Desk::new();
    let (agent, agent_id) = d.agent("li.na@bank.example", &["Transfers"]);
    let (stranger, _) = d.agent("sam@bank.example", &["New accounts"]);
    let reference = d.post(alert(
        "r-1",
        "LARGE_TRANSFER",
        "C-1",
        "+8613800138000",
        "d-1",
        "203.0.113.7",
    ));
    let case_path = format!("/cases/{reference}");
    let reveal = format!("/cases/{reference}/reveal");
    let audits = |d: &Desk| {
        d.app
            .audit_kinds()
            .iter()
            .filter(|k| *k == "pii.revealed")
            .count()
    };

    // No reason: refused with a message, nothing recorded.
    let res = agent.submit(&case_path, &reveal, &[("field", "phone"), ("reason", "  ")]);
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), case_path);
    let html = page(&agent, &case_path);
    assert!(html.contains("A reason is required to reveal personal data."));
    assert!(!html.contains("+8613800138000"));
    // An unknown field is refused too.
    let res = agent.submit(
        &case_path,
        &reveal,
        &[("field", "password"), ("reason", "x")],
    );
    assert_eq!(res.status(), 303);
    assert!(page(&agent, &case_path).contains("Choose what to reveal"));
    assert_eq!(audits(&d), 0);
    assert!(!d.kinds(&reference).contains(&"pii.revealed".to_string()));
    // Someone who may not see the case gets "not found", and nothing is recorded.
    let res = stranger.submit(
        "/profile",
        &reveal,
        &[("field", "phone"), ("reason", "curious")],
    );
    assert_eq!(res.status(), 404);
    assert_eq!(audits(&d), 0);

    // With a reason: the value in this response only, on the record without it.
    let res = agent.submit(
        &case_path,
        &reveal,
        &[
            ("field", "phone"),
            ("reason", "Customer disputes the number"),
        ],
    );
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let body = res.text().unwrap();
    assert!(body.contains("+8613800138000"));
    assert!(!body.contains("wei@example.com") && !body.contains("王伟"));
    assert_eq!(audits(&d), 1);
    let (who, detail): (Option<i64>, String) = {
        use riskdesk::db::schema::audit_events as a;
        a::table
            .filter(a::kind.eq("pii.revealed"))
            .select((a::actor_user_id, a::detail))
            .first(&mut *d.app.conn())
            .unwrap()
    };
    assert_eq!(who, Some(agent_id));
    let detail: Value = serde_json::from_str(&detail).unwrap();
    assert_eq!(detail["case"], json!(reference));
    assert_eq!(detail["field"], json!("phone"));
    assert_eq!(detail["reason"], json!("Customer disputes the number"));
    let events = d.events(&reference);
    let ev = events.iter().find(|e| e["kind"] == "pii.revealed").unwrap();
    assert_eq!(ev["data"]["field"], json!("phone"));
    assert!(
        !serde_json::to_string(&events)
            .unwrap()
            .contains("13800138000")
    );
    // The page afterwards is masked again, and names the reveal on the timeline.
    let html = page(&agent, &case_path);
    assert!(!html.contains("+8613800138000"));
    assert!(html.contains("Revealed the customer&#39;s Phone"), "{html}");
    let (_, api) = d.app.get_api(&d.key, &format!("/api/v1/cases/{reference}"));
    assert!(!api.to_string().contains("13800138000"));
}

#[test]
fn calls_are_logged_with_each_outcome_and_bad_ones_refused() {
    let d = Desk::new();
    let (agent, _) = d.agent("li.na@bank.example", &["Transfers"]);
    let (stranger, _) = d.agent("sam@bank.example", &["New accounts"]);
    let reference = d.post(alert(
        "c-1",
        "LARGE_TRANSFER",
        "C-1",
        "+8613800138000",
        "d-1",
        "203.0.113.7",
    ));
    let case_path = format!("/cases/{reference}");
    let calls = format!("/cases/{reference}/calls");
    // The form offers the customer's number, masked.
    let html = page(&agent, &case_path);
    assert!(html.contains("<option value=\"phone\">+86 138****8000</option>"));

    // Refusals: each named, nothing stored.
    let refusals: [(&[(&str, &str)], &str); 6] = [
        (&[("outcome", "hung_up")], "Unknown call outcome"),
        (
            &[("outcome", "verified"), ("duration", "-5")],
            "The duration must be a whole number of seconds",
        ),
        (
            &[("outcome", "callback_requested")],
            "A requested callback needs the time to call back.",
        ),
        (
            &[
                ("outcome", "callback_requested"),
                ("callback_at", "2026-11-24T00:30"),
            ],
            "The callback time must be in the future.",
        ),
        (
            &[("outcome", "callback_requested"), ("callback_at", "soon")],
            "The callback time is not a valid date and time.",
        ),
        (
            &[("outcome", "verified"), ("number", "attr:other")],
            "Choose one of the customer&#39;s numbers.",
        ),
    ];
    for (fields, message) in refusals {
        let mut all: Vec<(&str, &str)> = vec![("direction", "outbound")];
        if !fields.iter().any(|(k, _)| *k == "number") {
            all.push(("number", "phone"));
        }
        all.extend_from_slice(fields);
        let res = agent.submit(&case_path, &calls, &all);
        assert_eq!(res.status(), 303, "{fields:?}");
        let html = page(&agent, &case_path);
        assert!(html.contains(message), "{fields:?}: no '{message}'");
    }
    assert_eq!(d.calls(), 0);
    assert!(!d.kinds(&reference).contains(&"call.logged".to_string()));
    let first_responded = |d: &Desk| -> Option<chrono::NaiveDateTime> {
        use riskdesk::db::schema::cases::dsl::*;
        cases
            .select(first_responded_at)
            .first(&mut *d.app.conn())
            .unwrap()
    };
    assert_eq!(first_responded(&d), None);
    // Someone who may not see the case gets "not found".
    let res = stranger.submit(
        "/profile",
        &calls,
        &[
            ("number", "phone"),
            ("direction", "outbound"),
            ("outcome", "verified"),
        ],
    );
    assert_eq!(res.status(), 404);
    assert_eq!(d.calls(), 0);

    // Each outcome is logged; the first call is the case's first response.
    d.app.clock.advance(Duration::minutes(5));
    for (outcome, extra) in [
        ("no_answer", None),
        ("voicemail", None),
        ("wrong_number", None),
        ("callback_requested", Some("2026-11-24T03:00")),
        ("denied", None),
        ("verified", None),
    ] {
        let mut fields = vec![
            ("number", "phone"),
            (
                "direction",
                if outcome == "denied" {
                    "inbound"
                } else {
                    "outbound"
                },
            ),
            ("outcome", outcome),
            ("duration", "42"),
            ("notes", "Spoke about the transfer"),
        ];
        if let Some(at) = extra {
            fields.push(("callback_at", at));
        }
        let res = agent.submit(&case_path, &calls, &fields);
        assert_eq!(res.status(), 303);
        assert_eq!(location(&res), case_path);
    }
    assert_eq!(d.calls(), 6);
    assert_eq!(
        first_responded(&d),
        Some((crate::common::test_epoch() + Duration::minutes(5)).naive_utc())
    );
    let kinds = d.kinds(&reference);
    assert_eq!(kinds.iter().filter(|k| *k == "call.logged").count(), 6);
    assert_eq!(
        kinds.iter().filter(|k| *k == "sla.first_response").count(),
        1
    );
    let events = d.events(&reference);
    let logged: Vec<&Value> = events
        .iter()
        .filter(|e| e["kind"] == "call.logged")
        .collect();
    assert_eq!(logged[0]["data"]["number"], json!("+86 138****8000"));
    assert_eq!(logged[0]["data"]["outcome"], json!("no_answer"));
    assert_eq!(
        logged[3]["data"]["callback_at"],
        json!("2026-11-24T03:00:00+00:00")
    );
    let html = page(&agent, &case_path);
    assert!(html.contains("The call has been logged."));
    for label in [
        "No answer",
        "Voicemail",
        "Wrong number",
        "Callback requested",
        "Denied by the customer",
        "Verified",
    ] {
        assert!(html.contains(label), "{label}");
    }
    assert!(html.contains("Outbound call to +86 138****8000: No answer"));
    assert!(html.contains("Spoke about the transfer"));
    assert!(!html.contains("+8613800138000"));
    // The customer was reached: no suggestion to switch route.
    assert!(!html.contains("Consider sending the verification e-mail"));
}

#[test]
fn a_requested_callback_reminds_the_agent_once_at_its_time() {
    // Sessions outlive the test's clock jumps.
    let d = Desk::with(|s| s.session_idle = Duration::hours(12));
    let (agent, agent_id) = d.agent("li.na@bank.example", &["Transfers"]);
    let reference = d.post(alert(
        "cb-1",
        "LARGE_TRANSFER",
        "C-1",
        "+8613800138000",
        "d-1",
        "203.0.113.7",
    ));
    let case_path = format!("/cases/{reference}");
    // The test clock starts at 01:00 UTC; the agent's zone is UTC.
    let res = agent.submit(
        &case_path,
        &format!("/cases/{reference}/calls"),
        &[
            ("number", "phone"),
            ("direction", "outbound"),
            ("outcome", "callback_requested"),
            ("callback_at", "2026-11-24T02:30"),
            ("notes", "Asked to call back after the meeting"),
        ],
    );
    assert_eq!(res.status(), 303);
    let reminders = |d: &Desk| -> i64 {
        use riskdesk::db::schema::notifications::dsl::*;
        notifications
            .filter(user_id.eq(agent_id))
            .filter(kind.eq("call.callback_due"))
            .count()
            .get_result(&mut *d.app.conn())
            .unwrap()
    };
    assert_eq!(riskdesk::jobs::remind_callbacks(&d.app.state).unwrap(), 0);
    d.app.clock.advance(Duration::minutes(89));
    assert_eq!(riskdesk::jobs::remind_callbacks(&d.app.state).unwrap(), 0);
    assert_eq!(reminders(&d), 0);
    d.app.clock.advance(Duration::minutes(1));
    // Two instances watch; the reminder goes out once.
    let other = d.app.second_instance();
    assert_eq!(riskdesk::jobs::remind_callbacks(&d.app.state).unwrap(), 1);
    assert_eq!(riskdesk::jobs::remind_callbacks(&other.state).unwrap(), 0);
    d.app.clock.advance(Duration::minutes(10));
    assert_eq!(riskdesk::jobs::remind_callbacks(&d.app.state).unwrap(), 0);
    assert_eq!(reminders(&d), 1);
    let kinds = d.kinds(&reference);
    assert_eq!(
        kinds.iter().filter(|k| *k == "call.callback_due").count(),
        1
    );
    let html = page(&agent, "/notifications");
    assert!(html.contains("Callback due now: +86 138****8000"));
    assert!(html.contains(&reference));
}

#[test]
fn after_enough_failed_attempts_the_page_suggests_email_or_escalation() {
    let d = Desk::with(|s| s.call_attempts_before_email = 2);
    let (agent, _) = d.agent("li.na@bank.example", &["Transfers"]);
    let reference = d.post(alert(
        "n-1",
        "LARGE_TRANSFER",
        "C-1",
        "+8613800138000",
        "d-1",
        "203.0.113.7",
    ));
    let case_path = format!("/cases/{reference}");
    let calls = format!("/cases/{reference}/calls");
    let log = |outcome: &str| {
        let res = agent.submit(
            &case_path,
            &calls,
            &[
                ("number", "phone"),
                ("direction", "outbound"),
                ("outcome", outcome),
            ],
        );
        assert_eq!(res.status(), 303);
    };
    let suggestion = "Consider sending the verification e-mail or escalating the case.";
    log("no_answer");
    assert!(!page(&agent, &case_path).contains(suggestion));
    // A refused entry is no attempt.
    log("hung_up");
    log("voicemail");
    let html = page(&agent, &case_path);
    assert!(html.contains(suggestion));
    assert_eq!(d.calls(), 2);
    log("wrong_number");
    assert!(page(&agent, &case_path).contains(suggestion));
    assert_eq!(d.calls(), 3);

    // A resolved case takes no more calls and suggests nothing.
    {
        let mut conn = d.app.conn();
        let snap = riskdesk::store::deskconfig::snapshot(&mut conn).unwrap();
        let id = riskdesk::store::cases::parse_case_ref(&reference).unwrap();
        riskdesk::cases::clock::resolve(
            &mut conn,
            &d.app.state.settings,
            &snap,
            d.app.clock.now(),
            id,
            riskdesk::cases::clock::Outcome {
                resolver: None,
                disposition: "duplicate",
                details: Default::default(),
                approved_by: None,
                by_customer: false,
            },
        )
        .unwrap();
    }
    log("verified");
    let html = page(&agent, &case_path);
    assert!(html.contains("The case is resolved; calls can no longer be logged on it."));
    assert!(!html.contains(suggestion));
    assert!(!html.contains(&format!("action=\"{calls}\"")));
    assert_eq!(d.calls(), 3);
}
