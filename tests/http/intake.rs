// Alert intake through the JSON API: errors, idempotency, grouping, routing, SLA
// clocks, batches, racing duplicates, reading cases back, the calendar preview and
// the OpenAPI description.

use std::collections::HashSet;

use chrono::{Duration, TimeZone, Utc};
use serde_json::{Value, json};

use crate::common::TestApp;

pub const DESK: &str = r#"
triage_queue = "Triage"

[[calendars]]
name = "cn-business"
timezone = "Asia/Shanghai"
holidays = ["2026-12-01"]
[calendars.hours]
mon = [["09:00", "12:00"], ["13:00", "21:00"]]
tue = [["09:00", "12:00"], ["13:00", "21:00"]]
wed = [["09:00", "12:00"], ["13:00", "21:00"]]
thu = [["09:00", "12:00"], ["13:00", "21:00"]]
fri = [["09:00", "12:00"], ["13:00", "21:00"]]

[[sla_policies]]
name = "fraud-fast"
calendar = "24/7"
warn_at_percent = [75, 90]
max_pause_minutes = 60
[sla_policies.targets]
critical = { first_response = 15, resolution = 120 }
high = { first_response = 30, resolution = 240 }
medium = { first_response = 120, resolution = 1440 }
low = { first_response = 480, resolution = 4320 }

[[sla_policies]]
name = "office"
calendar = "cn-business"
warn_at_percent = [75, 90]
max_pause_minutes = 1440
[sla_policies.targets]
critical = { first_response = 30, resolution = 240 }
high = { first_response = 60, resolution = 480 }
medium = { first_response = 240, resolution = 1440 }
low = { first_response = 480, resolution = 2880 }

[[queues]]
name = "Transfers"
sla_policy = "fraud-fast"
skills = ["fraud"]

[[queues]]
name = "New accounts"
sla_policy = "office"

[[queues]]
name = "Triage"
sla_policy = "fraud-fast"

[[rules]]
code = "LARGE_TRANSFER"
name = "Large transfer"
category = "fraud"
default_severity = "high"

[[rules]]
code = "NEW_ACCOUNT_BURST"
name = "New accounts"
category = "registration"
default_severity = "medium"

[[routes]]
rule = "LARGE_TRANSFER"
min_amount = "50000.00"
currency = "CNY"
queue = "Transfers"
priority = "critical"

[[routes]]
category = "fraud"
queue = "Transfers"

[[routes]]
rule = "NEW_ACCOUNT_BURST"
queue = "New accounts"
"#;

pub fn alert(id: &str, rule: &str, customer: &str) -> Value {
    json!({
        "external_id": id,
        "rule": rule,
        "customer": {"external_id": customer, "name": "王伟", "email": "wei@example.com", "phone": "+8613800138000"},
        "attributes": {"device_id": "d-91ab", "ip": "203.0.113.7"}
    })
}

/// Posts `alerts` as one batch and returns its answer (200).
fn batch(app: &TestApp, key: &str, alerts: Value) -> Value {
    let (s, r) = app.post_api(key, "/api/v1/alerts/batch", &json!({ "alerts": alerts }));
    assert_eq!(s, 200, "{r}");
    r
}

fn desk() -> (TestApp, String) {
    let app = TestApp::spawn();
    app.apply_config(DESK);
    let key = app.api_key();
    (app, key)
}

#[test]
fn bad_requests_are_named_and_store_nothing() {
    let (app, key) = desk();
    let client = reqwest::blocking::Client::new();
    // No key, a wrong key, a revoked key.
    let res = client
        .post(app.url("/api/v1/alerts"))
        .json(&alert("a", "R", "c"))
        .send()
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    assert_eq!(res.headers()["www-authenticate"], "Bearer");
    let (s, _) = app.post_api("rdk_wrongwro_nope", "/api/v1/alerts", &alert("a", "R", "c"));
    assert_eq!(s, 401);
    let revoked = app.api_key();
    {
        use diesel::prelude::*;
        use riskdesk::db::schema::api_keys::dsl::*;
        let prefix_of = riskdesk::domain::tokens::api_key_prefix(&revoked)
            .unwrap()
            .to_string();
        diesel::update(api_keys.filter(prefix.eq(prefix_of)))
            .set(revoked_at.eq(Some(app.clock.now().naive_utc())))
            .execute(&mut *app.conn())
            .unwrap();
    }
    let (s, _) = app.post_api(&revoked, "/api/v1/alerts", &alert("a", "R", "c"));
    assert_eq!(s, 401);
    // Malformed JSON.
    let res = client
        .post(app.url("/api/v1/alerts"))
        .bearer_auth(&key)
        .body("{\"external_id\": ")
        .send()
        .unwrap();
    assert_eq!(res.status(), 400);
    let p: Value = res.json().unwrap();
    assert!(p["detail"].as_str().unwrap().contains("not valid JSON"));
    // Too large.
    let res = client
        .post(app.url("/api/v1/alerts"))
        .bearer_auth(&key)
        .body(vec![b' '; (1 << 20) + 10])
        .send()
        .unwrap();
    assert_eq!(res.status(), 413);
    // Valid JSON that breaks the rules: every field named.
    let (s, p) = app.post_api(
        &key,
        "/api/v1/alerts",
        &json!({"rule": "LARGE_TRANSFER", "severity": "urgent", "customer": {"email": "x"},
                "amount": {"value": "12,5", "currency": "CNY"}, "attributes": {"n": 1}}),
    );
    assert_eq!(s, 422);
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for f in [
        "external_id",
        "severity",
        "customer.external_id",
        "customer.email",
        "amount.value",
        "attributes.n",
    ] {
        assert!(fields.contains(&f), "{f} in {fields:?}");
    }
    assert_eq!(app.count("alerts"), 0);
    assert_eq!(app.count("cases"), 0);
    assert_eq!(app.count("customers"), 0);
}

#[test]
fn an_alert_becomes_a_case_once_and_joins_the_open_one() {
    let (app, key) = desk();
    let mut a = alert("eng-1", "LARGE_TRANSFER", "C-1");
    a["amount"] = json!({"value": "125000.00", "currency": "CNY"});
    let (s, first) = app.post_api(&key, "/api/v1/alerts", &a);
    assert_eq!(s, 201, "{first}");
    assert_eq!(first["queue"], "Transfers");
    assert_eq!(first["priority"], "critical");
    assert_eq!(first["status"], "new");
    assert_eq!(first["deduplicated"], false);
    assert_eq!(first["grouped"], false);
    assert!(first["assignee"].is_null());
    assert!(first["case_ref"].as_str().unwrap().starts_with("RC-"));

    // A retry returns the first answer, marked as a duplicate; nothing is doubled.
    let (s, again) = app.post_api(&key, "/api/v1/alerts", &a);
    assert_eq!(s, 200);
    assert_eq!(again["deduplicated"], true);
    assert_eq!(again["alert_id"], first["alert_id"]);
    assert_eq!(again["case_ref"], first["case_ref"]);
    assert_eq!(app.count("alerts"), 1);

    // Another alert for the same customer in the same queue joins the case.
    let (s, second) = app.post_api(
        &key,
        "/api/v1/alerts",
        &alert("eng-2", "LARGE_TRANSFER", "C-1"),
    );
    assert_eq!(s, 201);
    assert_eq!(second["grouped"], true);
    assert_eq!(second["case_ref"], first["case_ref"]);
    assert_eq!(app.count("cases"), 1);

    // A different customer gets a case of their own.
    let (_, other) = app.post_api(
        &key,
        "/api/v1/alerts",
        &alert("eng-3", "LARGE_TRANSFER", "C-2"),
    );
    assert_ne!(other["case_ref"], first["case_ref"]);

    let (s, case) = app.get_api(
        &key,
        &format!("/api/v1/cases/{}", first["case_ref"].as_str().unwrap()),
    );
    assert_eq!(s, 200);
    assert_eq!(case["alerts"].as_array().unwrap().len(), 2);
    assert_eq!(case["alert_count"], 2);
    // Personal data is masked.
    assert_eq!(case["customer"]["phone"], "+86 138****8000");
    assert_eq!(case["customer"]["email"], "w***@example.com");
    assert_eq!(case["customer"]["name"], "王*");
    assert_eq!(case["alerts"][0]["attributes"]["ip"], "203.0.113.*");
    // Masking fails closed: a key the desk did not declare public is masked.
    assert_eq!(case["alerts"][0]["attributes"]["device_id"], "d****b");
    let text = case.to_string();
    assert!(
        !text.contains("13800138000")
            && !text.contains("wei@example.com")
            && !text.contains("王伟")
    );
}

#[test]
fn a_higher_severity_raises_the_priority_and_moves_the_deadlines() {
    let (app, key) = desk();
    let (_, first) = app.post_api(
        &key,
        "/api/v1/alerts",
        &alert("x-1", "LARGE_TRANSFER", "C-9"),
    );
    assert_eq!(first["priority"], "high");
    let r = first["case_ref"].as_str().unwrap().to_string();
    let (_, before) = app.get_api(&key, &format!("/api/v1/cases/{r}"));
    let mut crit = alert("x-2", "LARGE_TRANSFER", "C-9");
    crit["severity"] = json!("critical");
    let (_, second) = app.post_api(&key, "/api/v1/alerts", &crit);
    assert_eq!(second["priority"], "critical");
    assert_eq!(second["grouped"], true);
    let (_, after) = app.get_api(&key, &format!("/api/v1/cases/{r}"));
    let t0 = riskdesk_time(&before["opened_at"]);
    assert_eq!(
        riskdesk_time(&before["sla"]["resolution_due"]) - t0,
        Duration::minutes(240)
    );
    assert_eq!(
        riskdesk_time(&after["sla"]["resolution_due"]) - t0,
        Duration::minutes(120)
    );
    assert_eq!(
        riskdesk_time(&after["sla"]["first_response_due"]) - t0,
        Duration::minutes(15)
    );
    let (_, events) = app.get_api(&key, &format!("/api/v1/cases/{r}/events"));
    let kinds: Vec<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "case.opened",
            "routing.decided",
            "sla.set",
            "alert.received",
            "assignment.waiting",
            "priority.raised",
            "alert.received"
        ]
    );
}

fn riskdesk_time(v: &Value) -> chrono::DateTime<Utc> {
    chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

#[test]
fn unknown_rules_go_to_triage_with_the_reason_on_the_timeline() {
    let (app, key) = desk();
    let mut a = alert("u-1", "BRAND_NEW_RULE", "C-5");
    a["severity"] = json!("low");
    let (s, r) = app.post_api(&key, "/api/v1/alerts", &a);
    assert_eq!(s, 201);
    assert_eq!(r["queue"], "Triage");
    assert_eq!(r["priority"], "low");
    let (_, events) = app.get_api(
        &key,
        &format!("/api/v1/cases/{}/events", r["case_ref"].as_str().unwrap()),
    );
    let routing = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "routing.decided")
        .unwrap();
    assert_eq!(routing["data"]["reason"], "unknown_rule");
    assert_eq!(routing["data"]["queue"], "Triage");
}

#[test]
fn a_fresh_desk_still_has_a_triage_queue() {
    let app = TestApp::spawn();
    let key = app.api_key();
    let (s, r) = app.post_api(&key, "/api/v1/alerts", &alert("f-1", "ANY", "C-1"));
    assert_eq!(s, 201, "{r}");
    assert_eq!(r["queue"], "Triage");
    assert_eq!(r["priority"], "medium");
}

#[test]
fn deadlines_count_business_minutes_in_the_queues_calendar() {
    let (app, key) = desk();
    // Friday 2026-11-27 20:30 in Shanghai (12:30 UTC): 30 minutes left that day.
    *match &app.clock {
        riskdesk::clock::Clock::Manual(t) => t,
        _ => unreachable!(),
    }
    .lock()
    .unwrap() = Utc.with_ymd_and_hms(2026, 11, 27, 12, 30, 0).unwrap();
    let (_, r) = app.post_api(
        &key,
        "/api/v1/alerts",
        &alert("b-1", "NEW_ACCOUNT_BURST", "C-7"),
    );
    assert_eq!(r["queue"], "New accounts");
    let (_, case) = app.get_api(
        &key,
        &format!("/api/v1/cases/{}", r["case_ref"].as_str().unwrap()),
    );
    // Medium: first response 240 business minutes: 30 on Friday, then Monday 30 Nov
    // 09:00-12:00 (180) and 13:00-13:30 (30) → Monday 13:30 Shanghai = 05:30 UTC.
    assert_eq!(case["sla"]["first_response_due"], "2026-11-30T05:30:00Z");
    // Resolution 1440 minutes: Fri 30 + Mon 660 + (Tue 1 Dec is a holiday) + Wed 660
    // = 1350, then 90 more on Thu 3 Dec → 10:30 Shanghai = 02:30 UTC.
    assert_eq!(case["sla"]["resolution_due"], "2026-12-03T02:30:00Z");
}

#[test]
fn pauses_stop_the_clock_within_the_policys_limit() {
    let (app, key) = desk();
    let (_, r) = app.post_api(
        &key,
        "/api/v1/alerts",
        &alert("p-1", "LARGE_TRANSFER", "C-3"),
    );
    let id = riskdesk::store::cases::parse_case_ref(r["case_ref"].as_str().unwrap()).unwrap();
    let t0 = app.clock.now();
    let mut conn = app.conn();
    riskdesk::cases::clock::pause(
        &mut conn,
        t0 + Duration::minutes(10),
        None,
        id,
        "verification e-mail sent",
    )
    .unwrap();
    assert!(matches!(
        riskdesk::cases::clock::pause(&mut conn, t0 + Duration::minutes(11), None, id, "again"),
        Err(riskdesk::cases::CaseError::Refused(
            riskdesk::domain::Refusal::AlreadyPaused
        ))
    ));
    let c = riskdesk::cases::clock::resume(
        &mut conn,
        t0 + Duration::minutes(50),
        None,
        id,
        riskdesk::domain::events::ResumeCause::Manual,
    )
    .unwrap();
    // 40 minutes paused: the 240-minute resolution target ends 280 minutes after opening.
    assert_eq!(c.resolution_due.and_utc() - t0, Duration::minutes(280));
    assert_eq!(c.paused_minutes, 40);
    // The policy allows 60 minutes of pause in all: 20 more count, not 100.
    riskdesk::cases::clock::pause(
        &mut conn,
        t0 + Duration::minutes(60),
        None,
        id,
        "callback requested",
    )
    .unwrap();
    let c = riskdesk::cases::clock::resume(
        &mut conn,
        t0 + Duration::minutes(160),
        None,
        id,
        riskdesk::domain::events::ResumeCause::Manual,
    )
    .unwrap();
    assert_eq!(c.paused_minutes, 60);
    assert_eq!(c.resolution_due.and_utc() - t0, Duration::minutes(300));
    drop(conn);
    let (_, events) = app.get_api(
        &key,
        &format!("/api/v1/cases/{}/events", r["case_ref"].as_str().unwrap()),
    );
    let resumed: Vec<&Value> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "sla.resumed")
        .collect();
    assert_eq!(resumed.len(), 2);
    assert_eq!(resumed[1]["data"]["limit_reached"], true);
    assert_eq!(resumed[1]["data"]["counted_minutes"], 20);
}

#[test]
fn batches_answer_each_alert_in_order() {
    let (app, key) = desk();
    let r = batch(
        &app,
        &key,
        json!([
            alert("b-1", "LARGE_TRANSFER", "C-1"),
            {"external_id": "b-2"},
            alert("b-3", "NEW_ACCOUNT_BURST", "C-1"),
            alert("b-1", "LARGE_TRANSFER", "C-1"),
        ]),
    );
    let results = r["results"].as_array().unwrap();
    assert_eq!(results.len(), 4);
    assert_eq!(results[0]["queue"], "Transfers");
    assert_eq!(results[1]["status"], 422);
    assert!(
        results[1]["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["field"] == "alerts[1].rule")
    );
    assert_eq!(results[2]["queue"], "New accounts");
    assert_eq!(results[3]["deduplicated"], true);
    assert_eq!(results[3]["alert_id"], results[0]["alert_id"]);
    assert_eq!(app.count("alerts"), 2);
    let too_many: Vec<Value> = (0..1001)
        .map(|i| alert(&format!("m-{i}"), "R", "C"))
        .collect();
    let (s, p) = app.post_api(&key, "/api/v1/alerts/batch", &json!({ "alerts": too_many }));
    assert_eq!(s, 422);
    assert_eq!(p["errors"][0]["field"], "alerts");
    assert_eq!(app.count("alerts"), 2);
}

/// A batch opens a customer's case once, with its first alerts joining it in the same
/// batch, counts every alert, and writes the opening events once; the new case's first
/// SLA alarm is set when it opens, so the watch first looks at it then.
#[test]
fn a_batch_opens_each_case_once_and_counts_its_alerts() {
    use diesel::prelude::*;
    use riskdesk::db::schema::cases;
    let (app, key) = desk();
    let r = batch(
        &app,
        &key,
        json!([
            alert("o-1", "LARGE_TRANSFER", "C-70"),
            alert("o-2", "LARGE_TRANSFER", "C-71"),
            alert("o-3", "LARGE_TRANSFER", "C-70"),
            alert("o-4", "LARGE_TRANSFER", "C-70"),
        ]),
    );
    let results = r["results"].as_array().unwrap();
    let seventy = results[0]["case_ref"].as_str().unwrap();
    assert_eq!(results[0]["grouped"], false);
    assert_eq!(results[1]["grouped"], false);
    assert_ne!(results[1]["case_ref"], seventy);
    for later in &results[2..] {
        assert_eq!(later["case_ref"], seventy, "{later}");
        assert_eq!(later["grouped"], true);
    }
    assert_eq!(app.count("cases"), 2);
    let (_, case) = app.get_api(&key, &format!("/api/v1/cases/{seventy}"));
    assert_eq!(case["alert_count"], 3, "{case}");
    let (_, events) = app.get_api(&key, &format!("/api/v1/cases/{seventy}/events"));
    let kinds: Vec<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "case.opened").count(),
        1,
        "{kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == "alert.received").count(),
        3,
        "{kinds:?}"
    );

    // The first alarm is ahead (the policy's first warning or the unassigned alarm),
    // not at the opening: nothing is due for the watch yet, and it fires nothing.
    let now = riskdesk::store::to_db(app.clock.now());
    let alarms: Vec<Option<chrono::NaiveDateTime>> = cases::table
        .select(cases::next_alarm_at)
        .load(&mut *app.conn())
        .unwrap();
    assert_eq!(alarms.len(), 2);
    for at in alarms {
        assert!(at.is_some_and(|at| at > now), "{at:?} after {now}");
    }
    assert_eq!(riskdesk::jobs::watch_sla(&app.state).unwrap(), 0);
}

/// An alert that fails inside the database (here a trigger refuses it) fails alone:
/// the alerts of the same batch before and after it are stored and answered.
#[test]
fn a_failing_alert_does_not_undo_its_batch() {
    use diesel::RunQueryDsl;
    let (app, key) = desk();
    let mut conn = app.conn();
    let statements: &[&str] = if crate::common::on_postgres() {
        &[
            "CREATE FUNCTION refuse_boom() RETURNS trigger AS $$ BEGIN \
             RAISE EXCEPTION 'refused by the test'; END; $$ LANGUAGE plpgsql",
            "CREATE TRIGGER refuse_boom BEFORE INSERT ON alerts FOR EACH ROW \
             WHEN (NEW.external_id = 'boom') EXECUTE FUNCTION refuse_boom()",
        ]
    } else {
        &["CREATE TRIGGER refuse_boom BEFORE INSERT ON alerts \
           WHEN NEW.external_id = 'boom' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"]
    };
    for sql in statements {
        diesel::sql_query(*sql).execute(&mut *conn).unwrap();
    }
    let (s, r) = app.post_api(
        &key,
        "/api/v1/alerts/batch",
        &json!({"alerts": [
            alert("ok-1", "LARGE_TRANSFER", "C-1"),
            alert("boom", "LARGE_TRANSFER", "C-2"),
            alert("ok-2", "NEW_ACCOUNT_BURST", "C-3"),
        ]}),
    );
    assert_eq!(s, 200, "{r}");
    let results = r["results"].as_array().unwrap();
    assert_eq!(results[0]["queue"], "Transfers", "{r}");
    assert_eq!(results[1]["status"], 500, "{r}");
    assert_eq!(results[2]["queue"], "New accounts", "{r}");
    assert_eq!(app.count("alerts"), 2);
    assert_eq!(app.count("cases"), 2);
    assert_eq!(
        app.count("customers"),
        2,
        "the refused alert's customer is not kept"
    );
}

#[test]
fn racing_duplicates_create_one_alert_and_one_case() {
    let (app, key) = desk();
    let threads: Vec<_> = (0..16)
        .map(|i| {
            let (url, key) = (app.url("/api/v1/alerts"), key.clone());
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::new();
                // Half send the same alert; half send other alerts of the same customer.
                let body = if i % 2 == 0 {
                    alert("race-1", "LARGE_TRANSFER", "C-RACE")
                } else {
                    alert(&format!("race-other-{i}"), "LARGE_TRANSFER", "C-RACE")
                };
                let res = client
                    .post(url)
                    .bearer_auth(key)
                    .json(&body)
                    .send()
                    .unwrap();
                (i, res.status().as_u16(), res.json::<Value>().unwrap())
            })
        })
        .collect();
    let results: Vec<(i32, u16, Value)> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let same: Vec<&(i32, u16, Value)> = results.iter().filter(|r| r.0 % 2 == 0).collect();
    assert_eq!(same.iter().filter(|r| r.1 == 201).count(), 1, "{results:?}");
    assert_eq!(same.iter().filter(|r| r.1 == 200).count(), 7);
    let ids: HashSet<String> = same.iter().map(|r| r.2["alert_id"].to_string()).collect();
    assert_eq!(ids.len(), 1);
    let cases: HashSet<String> = results
        .iter()
        .map(|r| r.2["case_ref"].to_string())
        .collect();
    assert_eq!(cases.len(), 1, "one open case per customer per queue");
    assert_eq!(app.count("alerts"), 9);
    assert_eq!(app.count("cases"), 1);
}

/// Two instances of the desk take overlapping alerts at once — the same customers and
/// the same external ids, in batches whose alerts come in orders of their own, and one
/// by one — with agents online so that new cases are assigned as they open. Nobody is
/// refused (a deadlock between writers is run again whole, never answered), each alert
/// is stored once with one answer, and each customer has one open case per queue.
#[test]
fn two_instances_filing_the_same_customers_at_once_refuse_nothing() {
    use diesel::RunQueryDsl;
    let (app, key) = desk();
    let second = app.second_instance();
    for n in 0..3 {
        let (b, _) = app.agent(
            &format!("agent{n}@example.com"),
            &["Transfers", "New accounts"],
            &[],
            4,
        );
        crate::assignment::presence(&b, "online");
    }
    const ROUNDS: usize = 6;
    const PER: usize = 24;
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let base = if t % 2 == 0 {
                app.url("")
            } else {
                second.url("")
            };
            let key = key.clone();
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::new();
                let mut seen: Vec<(u16, Value)> = Vec::new();
                for round in 0..ROUNDS {
                    let alerts: Vec<Value> = (0..PER)
                        .map(|k| {
                            let n = (k * 7 + t * 5 + round) % PER;
                            let rule = if n.is_multiple_of(3) {
                                "NEW_ACCOUNT_BURST"
                            } else {
                                "LARGE_TRANSFER"
                            };
                            alert(&format!("two-{round}-{n}"), rule, &format!("C-{}", n % 8))
                        })
                        .collect();
                    if t % 4 == 3 {
                        // One by one.
                        for a in alerts.iter().take(8) {
                            let res = client
                                .post(format!("{base}/api/v1/alerts"))
                                .bearer_auth(&key)
                                .json(a)
                                .send()
                                .unwrap();
                            let status = res.status().as_u16();
                            seen.push((status, res.json().unwrap_or(Value::Null)));
                        }
                    } else {
                        let res = client
                            .post(format!("{base}/api/v1/alerts/batch"))
                            .bearer_auth(&key)
                            .json(&json!({ "alerts": alerts }))
                            .send()
                            .unwrap();
                        let status = res.status().as_u16();
                        let body: Value = res.json().unwrap_or(Value::Null);
                        assert_eq!(status, 200, "{body}");
                        for r in body["results"].as_array().expect("results") {
                            seen.push((r["status"].as_u64().unwrap_or(200) as u16, r.clone()));
                        }
                    }
                }
                seen
            })
        })
        .collect();
    let answers: Vec<(u16, Value)> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    let refused: Vec<&(u16, Value)> = answers.iter().filter(|(s, _)| *s >= 300).collect();
    assert!(refused.is_empty(), "refused: {refused:?}");
    // Each external id has one alert, answered with one case every time.
    let mut case_of: std::collections::HashMap<String, Value> = Default::default();
    for (_, a) in &answers {
        assert!(a["case_ref"].is_string(), "{a}");
        let case = case_of
            .entry(a["alert_id"].to_string())
            .or_insert(a["case_ref"].clone());
        assert_eq!(*case, a["case_ref"], "one case for an alert: {a}");
    }
    assert_eq!(app.count("alerts"), (ROUNDS * PER) as i64);
    assert_eq!(case_of.len(), ROUNDS * PER);
    #[derive(diesel::QueryableByName)]
    struct Twice {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        customer_id: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        queue_id: i64,
    }
    let twice: Vec<(i64, i64)> = diesel::sql_query(
        "SELECT customer_id, queue_id FROM cases WHERE resolved_at IS NULL \
         GROUP BY customer_id, queue_id HAVING COUNT(*) > 1",
    )
    .load::<Twice>(&mut *app.conn())
    .unwrap()
    .into_iter()
    .map(|t| (t.customer_id, t.queue_id))
    .collect();
    assert!(twice.is_empty(), "two open cases: {twice:?}");
    // 8 customers, two queues: at most 16 cases, every alert in one of them.
    assert!(app.count("cases") <= 16);
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let counted: N = diesel::sql_query("SELECT COALESCE(SUM(alert_count), 0) AS n FROM cases")
        .get_result(&mut *app.conn())
        .unwrap();
    assert_eq!(
        counted.n,
        (ROUNDS * PER) as i64,
        "each alert counted once by its case"
    );
    let unfiled: N = diesel::sql_query("SELECT COUNT(*) AS n FROM alerts WHERE case_id IS NULL")
        .get_result(&mut *app.conn())
        .unwrap();
    assert_eq!(unfiled.n, 0);
}

#[test]
fn the_case_list_pages_with_a_cursor_and_filters() {
    let (app, key) = desk();
    for i in 0..25 {
        app.clock.advance(Duration::seconds(1));
        let rule = if i % 5 == 0 {
            "NEW_ACCOUNT_BURST"
        } else {
            "LARGE_TRANSFER"
        };
        let (s, _) = app.post_api(
            &key,
            "/api/v1/alerts",
            &alert(&format!("l-{i}"), rule, &format!("C-{i}")),
        );
        assert_eq!(s, 201);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/cases?limit=10&cursor={c}"),
            None => "/api/v1/cases?limit=10".to_string(),
        };
        let (s, page) = app.get_api(&key, &path);
        assert_eq!(s, 200, "{page}");
        for c in page["cases"].as_array().unwrap() {
            assert!(c.get("alerts").is_none());
            assert_eq!(c["customer"]["phone"], "+86 138****8000");
            seen.push(c["case_ref"].as_str().unwrap().to_string());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 25);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 25);
    let (_, q) = app.get_api(&key, "/api/v1/cases?queue=New%20accounts");
    assert_eq!(q["cases"].as_array().unwrap().len(), 5);
    let (_, st) = app.get_api(&key, "/api/v1/cases?status=resolved");
    assert!(st["cases"].as_array().unwrap().is_empty());
    let since = (app.clock.now() - Duration::seconds(2)).to_rfc3339();
    let (_, recent) = app.get_api(
        &key,
        &format!("/api/v1/cases?updated_since={}", since.replace('+', "%2B")),
    );
    assert_eq!(recent["cases"].as_array().unwrap().len(), 3);
    let (s, p) = app.get_api(
        &key,
        "/api/v1/cases?cursor=nonsense&limit=0&status=odd&queue=Nope",
    );
    assert_eq!(s, 400);
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"cursor") && fields.contains(&"limit") && fields.contains(&"status"),
        "{fields:?}"
    );
    // A name that is well formed but names no queue breaks a rule: 422.
    let (s, p) = app.get_api(&key, "/api/v1/cases?queue=Nope");
    assert_eq!(s, 422);
    assert_eq!(p["errors"][0]["field"], "queue");
    let (s, _) = app.get_api(&key, "/api/v1/cases/RC-999999");
    assert_eq!(s, 404);
    let (s, _) = app.get_api(&key, "/api/v1/cases/nonsense/events");
    assert_eq!(s, 404);
}

#[test]
fn the_calendar_preview_answers_as_the_contract_says() {
    let (app, key) = desk();
    let cal = json!({"timezone": "America/New_York",
        "hours": {"mon": [["09:00","17:00"]], "tue": [["09:00","12:00"],["13:00","17:00"]]},
        "holidays": ["2026-12-25"]});
    let (s, r) = app.post_api(
        &key,
        "/api/v1/calendars/preview",
        &json!({"calendar": cal, "start": "2026-11-24T15:30:00Z", "minutes": 480}),
    );
    assert_eq!(s, 200, "{r}");
    assert_eq!(r, json!({"due": "2026-11-30T16:30:00Z"}));
    let (_, r) = app.post_api(
        &key,
        "/api/v1/calendars/preview",
        &json!({"calendar": cal, "start": "2026-11-24T15:30:00Z", "end": "2026-11-30T16:30:00Z"}),
    );
    assert_eq!(r, json!({"business_minutes": 480}));
    let (_, r) = app.post_api(
        &key,
        "/api/v1/calendars/preview",
        &json!({"calendar": "24/7", "start": "2026-11-24T15:30:00Z", "minutes": 90}),
    );
    assert_eq!(r, json!({"due": "2026-11-24T17:00:00Z"}));
    let (s, p) = app.post_api(&key, "/api/v1/calendars/preview",
        &json!({"calendar": {"timezone": "Mars/Base", "hours": {"mon": [["09:00","12:00"],["11:00","13:00"]]}}, "start": "soon"}));
    assert_eq!(s, 422);
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"calendar.timezone"), "{fields:?}");
    assert!(
        fields.contains(&"start") && fields.contains(&"minutes"),
        "{fields:?}"
    );
}

#[test]
fn the_openapi_document_describes_every_api_route() {
    let app = TestApp::spawn();
    let doc: Value = reqwest::blocking::get(app.url("/api/openapi.json"))
        .unwrap()
        .json()
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for (path, method) in [
        ("/api/v1/alerts", "post"),
        ("/api/v1/alerts/batch", "post"),
        ("/api/v1/cases", "get"),
        ("/api/v1/cases/{case_ref}", "get"),
        ("/api/v1/cases/{case_ref}/events", "get"),
        ("/api/v1/calendars/preview", "post"),
        ("/api/v1/labels", "get"),
        ("/api/v1/snoozes", "get"),
        ("/api/v1/webhooks", "get"),
        ("/api/v1/webhooks", "post"),
        ("/api/v1/webhooks/{id}", "delete"),
        ("/api/v1/webhooks/{id}/disable", "post"),
        ("/api/v1/webhooks/{id}/enable", "post"),
        ("/api/v1/webhooks/{id}/rotate", "post"),
    ] {
        let op = &paths[path][method];
        assert!(op.is_object(), "{method} {path} is not described");
        assert!(op["responses"]["401"].is_object(), "{path} documents 401");
    }
    assert_eq!(
        paths.len(),
        13,
        "a described route that does not exist, or the reverse"
    );
    assert!(doc["components"]["schemas"]["Problem"].is_object());
    assert!(doc["components"]["securitySchemes"]["api_key"].is_object());
}
