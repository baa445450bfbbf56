// The case lifecycle at its seams: an approval that survives its agent leaving, a
// pause that ends by itself or by hand, a pause counted at closing, a priority raise
// whose deadlines follow, "waiting too long" counted from the wait, and weights that
// follow the heaviest alert.

use crate::assignment::{Desk, kinds, presence};
use crate::intake::alert;
use crate::resolution::{desk_with_case, load_of, resolve};
use chrono::Duration;

fn id_of(reference: &str) -> i64 {
    riskdesk::store::cases::parse_case_ref(reference).unwrap()
}

#[test]
fn a_waiting_approval_survives_its_agent_going_offline() {
    let (d, li, li_id, r) = desk_with_case("LARGE_TRANSFER", "80000.00");
    let res = resolve(
        &li,
        &r,
        &[
            ("disposition", "false_positive"),
            ("action", "released"),
            ("note", "Customer confirmed on the phone."),
        ],
    );
    assert_eq!(res.status(), 303);
    assert_eq!(d.case(&r)["status"], "pending_approval");
    // Going offline gives back every other case, but not this one.
    presence(&li, "offline");
    let case = d.case(&r);
    assert_eq!(case["status"], "pending_approval", "{case}");
    assert_eq!(case["assignee"], "li@bank.example", "{case}");
    assert_eq!(load_of(&d, li_id), 1);
    // A second closing cannot be filed beside the waiting one.
    let res = resolve(
        &li,
        &r,
        &[
            ("disposition", "duplicate"),
            ("action", "no_action"),
            ("note", "n"),
        ],
    );
    assert_eq!(res.status(), 303);
    assert_eq!(d.app.count("resolutions"), 1);
    // The supervisor's approval closes it, and the agent's load drops once.
    let sup = d.app.signed_in("supervisor");
    let res = sup.submit(
        &format!("/cases/{r}"),
        &format!("/cases/{r}/approval"),
        &[("decision", "approve"), ("note", "ok")],
    );
    assert_eq!(res.status(), 303);
    assert_eq!(d.case(&r)["status"], "resolved");
    assert_eq!(load_of(&d, li_id), 0);
}

#[test]
fn a_pause_ends_when_its_allowance_is_used() {
    let (d, _li, _li_id, r) = desk_with_case("LARGE_TRANSFER", "100.00");
    let now = d.app.clock.now();
    riskdesk::cases::clock::pause(
        &mut d.app.conn(),
        now,
        None,
        id_of(&r),
        "waiting on the customer",
    )
    .unwrap();
    assert_eq!(d.case(&r)["sla"]["paused"], true);
    // The policy allows 60 minutes of pause; nothing happens before.
    d.app.clock.advance(Duration::minutes(59));
    d.watch();
    assert_eq!(d.case(&r)["sla"]["paused"], true);
    d.app.clock.advance(Duration::minutes(2));
    d.watch();
    let case = d.case(&r);
    assert_eq!(case["sla"]["paused"], false, "{case}");
    let events = d.events(&r);
    let resumed = events.iter().find(|e| e["kind"] == "sla.resumed").unwrap();
    assert_eq!(resumed["data"]["cause"], "allowance_used", "{resumed}");
    assert_eq!(resumed["data"]["counted_minutes"], 60, "{resumed}");
}

#[test]
fn an_agent_resumes_a_pause_by_hand_and_a_second_resume_is_refused() {
    let (d, li, _li_id, r) = desk_with_case("LARGE_TRANSFER", "100.00");
    let (wang, _) = d.agent("wang@bank.example", &["Transfers"], &["fraud"], 5);
    let id = id_of(&r);
    let now = d.app.clock.now();
    riskdesk::cases::clock::pause(&mut d.app.conn(), now, None, id, "waiting").unwrap();
    d.app.clock.advance(Duration::minutes(10));
    let page = format!("/cases/{r}");
    let resume = format!("{page}/resume");
    // The case page offers the button to its agent.
    let html = li.get(&page).text().unwrap();
    assert!(html.contains(&format!("action=\"{resume}\"")), "{html}");
    // Another agent of the queue sees the case but may not resume its clock.
    let res = wang.submit(&page, &resume, &[]);
    assert_eq!(res.status(), 303);
    assert_eq!(d.case(&r)["sla"]["paused"], true);
    let flash = wang.get(&page).text().unwrap();
    assert!(flash.contains("Only the case"), "{flash}");
    // Its agent may.
    let res = li.submit(&page, &resume, &[]);
    assert_eq!(res.status(), 303);
    let case = d.case(&r);
    assert_eq!(case["sla"]["paused"], false, "{case}");
    let events = d.events(&r);
    let resumed = events.iter().find(|e| e["kind"] == "sla.resumed").unwrap();
    assert_eq!(resumed["data"]["cause"], "manual", "{resumed}");
    assert_eq!(resumed["data"]["counted_minutes"], 10, "{resumed}");
    assert_eq!(resumed["actor"], "li@bank.example", "{resumed}");
    // A second press is refused by name and changes nothing.
    let res = li.submit(&page, &resume, &[]);
    assert_eq!(res.status(), 303);
    let html = li.get(&page).text().unwrap();
    assert!(html.contains("not paused"), "{html}");
    assert_eq!(
        kinds(&d.events(&r))
            .iter()
            .filter(|k| *k == "sla.resumed")
            .count(),
        1
    );
}

#[test]
fn a_case_resolved_while_paused_counts_the_pause() {
    let (d, li, _li_id, r) = desk_with_case("LARGE_TRANSFER", "100.00");
    let before = d.case(&r)["sla"]["resolution_due"].clone();
    let now = d.app.clock.now();
    riskdesk::cases::clock::pause(&mut d.app.conn(), now, None, id_of(&r), "waiting").unwrap();
    d.app.clock.advance(Duration::minutes(20));
    let res = resolve(
        &li,
        &r,
        &[
            ("disposition", "confirmed_fraud"),
            ("action", "blocked"),
            ("note", "n"),
        ],
    );
    assert_eq!(res.status(), 303);
    let case = d.case(&r);
    assert_eq!(case["status"], "resolved");
    assert_ne!(
        case["sla"]["resolution_due"], before,
        "the deadline moved by the pause"
    );
    let events = d.events(&r);
    let k = kinds(&events);
    let resumed = k.iter().position(|k| k == "sla.resumed").expect("resumed");
    let resolved = k.iter().position(|k| k == "case.resolved").unwrap();
    assert!(resumed < resolved, "{k:?}");
    assert_eq!(events[resumed]["data"]["cause"], "closed");
    assert_eq!(events[resolved]["data"]["paused_minutes"], 20);
}

#[test]
fn a_heavier_alert_makes_the_case_weigh_more_within_capacity() {
    let d = Desk::new();
    let mut config = crate::assignment::desk_config();
    for (code, weight) in [("HEAVY_TWO", 2), ("HEAVY_THREE", 3)] {
        config.push_str(&format!(
            "\n[[rules]]\ncode = \"{code}\"\nname = \"{code}\"\ncategory = \"fraud\"\ndefault_severity = \"medium\"\nweight = {weight}\n\n[[routes]]\nrule = \"{code}\"\nqueue = \"Transfers\"\n"
        ));
    }
    d.app.apply_config(&config);
    let (li, li_id) = d.agent("li@bank.example", &["Transfers"], &["fraud"], 2);
    presence(&li, "online");
    let (s, r) = d.app.post_api(
        &d.key,
        "/api/v1/alerts",
        &alert("w-1", "LARGE_TRANSFER", "C-9"),
    );
    assert_eq!(s, 201, "{r}");
    assert_eq!(load_of(&d, li_id), 1);
    let reference = r["case_ref"].as_str().unwrap().to_string();
    // A weight-2 alert joins: the case weighs 2 and the agent's load follows.
    let (s, r2) = d
        .app
        .post_api(&d.key, "/api/v1/alerts", &alert("w-2", "HEAVY_TWO", "C-9"));
    assert_eq!(s, 201, "{r2}");
    assert_eq!(r2["case_ref"], reference.as_str());
    assert_eq!(load_of(&d, li_id), 2);
    // A weight-3 alert joins: the agent (capacity 2) has no room for it, so the case
    // goes back and waits; the agent is never over capacity.
    let (s, r3) = d.app.post_api(
        &d.key,
        "/api/v1/alerts",
        &alert("w-3", "HEAVY_THREE", "C-9"),
    );
    assert_eq!(s, 201, "{r3}");
    assert_eq!(r3["case_ref"], reference.as_str());
    assert_eq!(load_of(&d, li_id), 0);
    let case = d.case(&reference);
    assert!(case["assignee"].is_null(), "{case}");
    let events = d.events(&reference);
    let back = events
        .iter()
        .find(|e| e["kind"] == "assignment.returned")
        .expect("given back");
    assert_eq!(back["data"]["reason"], "over_capacity");
}

#[test]
fn the_release_threshold_follows_the_currency() {
    let d = Desk::new();
    let (li, _) = d.agent("li@bank.example", &["Transfers"], &["fraud"], 5);
    presence(&li, "online");
    let release = [
        ("disposition", "false_positive"),
        ("action", "released"),
        ("note", "Customer confirmed on the phone."),
    ];
    // 8,000: small in yuan, large in dollars (the default thresholds are 50,000 CNY
    // and 7,000 USD).
    let mut out = Vec::new();
    for (id, currency) in [("cur-1", "CNY"), ("cur-2", "USD")] {
        let mut a = alert(id, "LARGE_TRANSFER", &format!("C-{id}"));
        a["amount"] = serde_json::json!({"value": "8000.00", "currency": currency});
        let (s, r) = d.app.post_api(&d.key, "/api/v1/alerts", &a);
        assert_eq!(s, 201, "{r}");
        let reference = r["case_ref"].as_str().unwrap().to_string();
        assert_eq!(resolve(&li, &reference, &release).status(), 303);
        out.push(d.case(&reference)["status"].clone());
    }
    assert_eq!(out, ["resolved", "pending_approval"]);
}
