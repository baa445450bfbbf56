// Snoozes: after a customer confirmed a false positive, the agent snoozes the rule
// for that customer; the customer's next alerts of the rule are stored without a
// case (answered "suppressed"), except critical ones and amounts over the release
// limit; supervisors list and end snoozes; snoozes expire; the engine reads them and
// is told through webhooks; bad input changes nothing.

use chrono::Duration;
use serde_json::{Value, json};

use crate::assignment::Desk;
use crate::common::Browser;
use crate::resolution::{desk_with_case, resolve};
use crate::webhooks::{Receiver, drain, subscribe};

/// A case of C-1 closed as a false positive the customer confirmed on the phone.
fn confirmed_false_positive() -> (Desk, Browser, String) {
    let (d, li, _, r) = desk_with_case("LARGE_TRANSFER", "1500.00");
    let page = format!("/cases/{r}");
    let res = li.submit(
        &page,
        &format!("{page}/calls"),
        &[
            ("number", "phone"),
            ("direction", "outbound"),
            ("outcome", "verified"),
        ],
    );
    assert_eq!(res.status(), 303);
    let res = resolve(
        &li,
        &r,
        &[
            ("disposition", "false_positive"),
            ("action", "released"),
            ("note", "The customer made the transfer."),
        ],
    );
    assert_eq!(res.status(), 303);
    (d, li, r)
}

fn post(d: &Desk, id: &str, amount: &str, severity: Option<&str>) -> (u16, Value) {
    let mut a = crate::intake::alert(id, "LARGE_TRANSFER", "C-1");
    a["amount"] = json!({"value": amount, "currency": "CNY"});
    if let Some(s) = severity {
        a["severity"] = json!(s);
    }
    d.app.post_api(&d.key, "/api/v1/alerts", &a)
}

fn flash(b: &Browser, page: &str) -> String {
    b.get(page).text().unwrap()
}

#[test]
fn a_snoozed_rule_holds_the_customers_alerts_back_until_it_ends() {
    let (d, li, r) = confirmed_false_positive();
    let receiver = Receiver::start();
    subscribe(
        &d.app,
        "engine",
        &receiver.url,
        "snooze.created,snooze.ended",
    );
    let page = format!("/cases/{r}");
    assert!(
        flash(&li, &page).contains("/snooze\""),
        "the case page offers it"
    );

    // Bad input is named and changes nothing.
    for (days, reason, needle) in [
        ("0", "Salary day.", "A snooze lasts 1 to 365 days."),
        ("366", "Salary day.", "A snooze lasts 1 to 365 days."),
        ("30", " ", "A reason of 1 to 500 characters is required."),
    ] {
        li.submit(
            &page,
            &format!("{page}/snooze"),
            &[("days", days), ("reason", reason)],
        );
        assert!(flash(&li, &page).contains(needle), "{days} {reason}");
    }
    assert_eq!(d.app.count("snoozes"), 0);

    let res = li.submit(
        &page,
        &format!("{page}/snooze"),
        &[("days", "30"), ("reason", "Pays rent abroad every month.")],
    );
    assert_eq!(res.status(), 303);
    assert_eq!(d.app.count("snoozes"), 1);
    let text = flash(&li, &page);
    assert!(text.contains("Snoozed until"), "{text}");
    // Twice is refused.
    li.submit(
        &page,
        &format!("{page}/snooze"),
        &[("days", "10"), ("reason", "Again.")],
    );
    assert!(flash(&li, &page).contains("snoozed for this customer already"));
    assert_eq!(d.app.count("snoozes"), 1);

    // The next alert of the rule is stored without a case.
    let cases_before = d.app.count("cases");
    let (s, v) = post(&d, "r-2", "900.00", None);
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["suppressed"], true);
    assert!(v["case_ref"].is_null());
    assert!(v["snoozed_until"].as_str().is_some());
    assert_eq!(d.app.count("cases"), cases_before);
    // Sent again, the same answer.
    let (s, again) = post(&d, "r-2", "900.00", None);
    assert_eq!(s, 200);
    assert_eq!(again["suppressed"], true);
    assert_eq!(again["deduplicated"], true);

    // A critical alert and an amount over the release limit open cases anyway,
    // saying why.
    let (_, critical) = post(&d, "r-3", "900.00", Some("critical"));
    let (_, large) = post(&d, "r-4", "90000.00", None);
    let mut whys = Vec::new();
    for v in [&critical, &large] {
        let reference = v["case_ref"].as_str().expect("a case").to_string();
        for e in d.events(&reference) {
            if e["kind"] == "snooze.overridden" {
                whys.push(e["data"]["why"].as_str().unwrap().to_string());
            }
        }
    }
    whys.sort();
    whys.dedup();
    assert_eq!(whys, ["above_limit", "critical"]);

    // The engine reads it, and was told.
    let (_, list) = d.app.get_api(&d.key, "/api/v1/snoozes");
    let snoozes = list["snoozes"].as_array().unwrap();
    assert_eq!(snoozes.len(), 1);
    assert_eq!(snoozes[0]["customer_external_id"], "C-1");
    assert_eq!(snoozes[0]["rule"], "LARGE_TRANSFER");
    assert_eq!(snoozes[0]["case"], r.as_str());
    drain(&d.app);
    let told = receiver.delivered();
    assert_eq!(told.len(), 1);
    assert_eq!(told[0]["type"], "snooze.created");
    assert_eq!(told[0]["data"]["customer_external_id"], "C-1");

    // A supervisor sees and ends it; the next alert opens a case again.
    let sup = d.app.signed_in("supervisor");
    let listed = sup.get("/snoozes").text().unwrap();
    assert!(listed.contains("Pays rent abroad every month."), "{listed}");
    assert_eq!(li.get("/snoozes").status(), 403);
    let id: i64 = snoozes[0]["id"].as_i64().unwrap();
    let res = sup.submit("/snoozes", &format!("/snoozes/{id}/end"), &[]);
    assert_eq!(res.status(), 303);
    assert!(
        sup.get("/snoozes")
            .text()
            .unwrap()
            .contains("No active snoozes.")
    );
    let zh = sup.get_lang("/snoozes", "zh-CN").text().unwrap();
    assert!(zh.contains("没有生效中的暂停。"), "{zh}");
    d.app.clock.advance(Duration::minutes(1));
    let (_, after) = post(&d, "r-5", "800.00", None);
    assert!(after.get("suppressed").is_none(), "{after}");
    assert!(after["case_ref"].is_string());
    drain(&d.app);
    let told = receiver.delivered();
    assert_eq!(told.len(), 2);
    assert_eq!(told[1]["type"], "snooze.ended");
    assert_eq!(told[1]["data"]["how"], "ended");
    let events = d.events(&r);
    assert!(events.iter().any(|e| e["kind"] == "snooze.created"));
    assert!(events.iter().any(|e| e["kind"] == "snooze.ended"));
}

#[test]
fn a_snooze_expires_by_itself_and_only_confirmed_false_positives_may_be_snoozed() {
    let (d, li, r) = confirmed_false_positive();
    let page = format!("/cases/{r}");
    li.submit(
        &page,
        &format!("{page}/snooze"),
        &[("days", "2"), ("reason", "Travelling.")],
    );
    assert_eq!(d.app.count("snoozes"), 1);
    let (_, held) = post(&d, "e-1", "100.00", None);
    assert_eq!(held["suppressed"], true);
    d.app
        .clock
        .advance(Duration::days(2) + Duration::minutes(1));
    // Past its time it holds nothing back, even before the job ends it.
    let (_, open) = post(&d, "e-2", "100.00", None);
    assert!(open["case_ref"].is_string(), "{open}");
    assert_eq!(riskdesk::jobs::expire_snoozes(&d.app.state).unwrap(), 1);
    assert_eq!(riskdesk::jobs::expire_snoozes(&d.app.state).unwrap(), 0);
    let ended = d
        .events(&r)
        .into_iter()
        .find(|e| e["kind"] == "snooze.ended")
        .unwrap();
    assert_eq!(ended["data"]["how"], "expired");

    // A case closed as fraud offers no snooze, and asking anyway is refused.
    let fraud = open["case_ref"].as_str().unwrap().to_string();
    let fpage = format!("/cases/{fraud}");
    let sup = d.app.signed_in("supervisor");
    resolve(
        &sup,
        &fraud,
        &[
            ("disposition", "confirmed_fraud"),
            ("action", "blocked"),
            ("note", "Not the customer."),
        ],
    );
    assert!(!sup.get(&fpage).text().unwrap().contains("/snooze\""));
    sup.submit(
        &fpage,
        &format!("{fpage}/snooze"),
        &[("days", "5"), ("reason", "Try.")],
    );
    assert!(
        flash(&sup, &fpage)
            .contains("Only a false positive the customer confirmed can be snoozed.")
    );
    assert_eq!(d.app.count("snoozes"), 1);
}
