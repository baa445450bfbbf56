// The regulator's clock: a case closed as escalated to AML gets a report deadline of
// working days of the named calendar, shown on the case and the board, warned on its
// last working day and marked overdue once each (with notices to supervisors), and
// stopped when the report is recorded as filed.

use chrono::Duration;
use serde_json::Value;

use crate::resolution::{desk_with_case, resolve};

fn events(d: &crate::assignment::Desk, r: &str) -> Vec<Value> {
    d.events(r)
}

#[test]
fn an_escalation_to_aml_starts_the_report_clock_which_warns_breaches_and_stops() {
    let (d, li, _, r) = desk_with_case("LARGE_TRANSFER", "1500.00");
    let res = resolve(
        &li,
        &r,
        &[
            ("disposition", "escalated_aml"),
            ("action", "frozen"),
            ("note", "Structuring across three accounts."),
        ],
    );
    assert_eq!(res.status(), 303);
    // Five working days; with no calendar named, every day counts: the test clock
    // starts 2026-11-24 01:00 UTC, so the report is due when 2026-11-29 ends (UTC,
    // the desk's zone by default).
    let due = events(&d, &r)
        .into_iter()
        .find(|e| e["kind"] == "aml_report.due")
        .expect("the clock started with the closing");
    assert_eq!(due["data"]["due"], "2026-11-30T00:00:00+00:00");
    assert_eq!(due["data"]["days"], 5);
    let page = li.get(&format!("/cases/{r}")).text().unwrap();
    assert!(page.contains("Report to the regulator"), "{page}");
    let sup = d.app.signed_in("supervisor");
    let board = sup.get("/board").text().unwrap();
    assert!(board.contains("AML reports due"), "{board}");
    assert!(board.contains(&r), "{board}");

    // Nothing fires before the last working day. (The watch is asked at later
    // times rather than the clock moved, so that the sessions stay valid.)
    let watch_at = |days: i64| {
        let mut conn = d.app.conn();
        riskdesk::cases::aml_report::watch(&mut conn, d.app.clock.now() + Duration::days(days))
            .unwrap()
    };
    assert_eq!(riskdesk::jobs::watch_aml_reports(&d.app.state).unwrap(), 0);
    assert_eq!(watch_at(4), 0);
    assert_eq!(watch_at(5), 1);
    assert_eq!(watch_at(5), 0);
    assert_eq!(watch_at(6), 1);
    assert_eq!(watch_at(6), 0);
    let kinds: Vec<String> = events(&d, &r)
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect();
    assert!(kinds.contains(&"aml_report.warning".to_string()));
    assert!(kinds.contains(&"aml_report.breached".to_string()));
    let notices = sup.get("/notifications").text().unwrap();
    assert!(notices.contains("overdue"), "{notices}");
    let board = sup.get("/board").text().unwrap();
    assert!(board.contains("Overdue"), "{board}");

    // A bad reference is named and changes nothing; then it is filed.
    let page = format!("/cases/{r}");
    li.submit(&page, &format!("{page}/aml-report"), &[("reference", " ")]);
    let text = li.get(&page).text().unwrap();
    assert!(text.contains("Give the regulator"), "{text}");
    assert!(
        !events(&d, &r)
            .iter()
            .any(|e| e["kind"] == "aml_report.filed"),
        "a refused filing records nothing"
    );
    let res = li.submit(
        &page,
        &format!("{page}/aml-report"),
        &[("reference", "STR-2026-000123")],
    );
    assert_eq!(res.status(), 303);
    let filed = events(&d, &r)
        .into_iter()
        .find(|e| e["kind"] == "aml_report.filed")
        .unwrap();
    assert_eq!(filed["data"]["reference"], "STR-2026-000123");
    // Filed now (the overdue mark was the watch's, asked a week ahead): on time.
    assert_eq!(filed["data"]["late"], false);
    assert!(
        !sup.get("/board")
            .text()
            .unwrap()
            .contains("AML reports due")
    );
    // Twice is refused.
    li.submit(
        &page,
        &format!("{page}/aml-report"),
        &[("reference", "again")],
    );
    assert!(
        li.get(&page)
            .text()
            .unwrap()
            .contains("recorded as filed already")
    );
    let zh = li.get_lang(&page, "zh-CN").text().unwrap();
    assert!(zh.contains("已向监管机构报送"), "{zh}");
}

#[test]
fn working_days_come_from_the_named_calendar() {
    let app = crate::common::TestApp::spawn_with(|s| {
        s.aml_report_days = 2;
        s.aml_report_calendar = Some("cn-business".into());
    });
    // The test desk's "cn-business" calendar: Monday to Friday in Shanghai.
    let desk = crate::assignment::desk_config();
    app.apply_config(&desk);
    let key = app.api_key();
    let (li, _) = app.agent("li@bank.example", &["Transfers"], &["fraud"], 5);
    crate::assignment::presence(&li, "online");
    let (s, v) = app.post_api(
        &key,
        "/api/v1/alerts",
        &crate::intake::alert("a-1", "LARGE_TRANSFER", "C-1"),
    );
    assert_eq!(s, 201, "{v}");
    let r = v["case_ref"].as_str().unwrap().to_string();
    // Closed on Tuesday 2026-11-24 09:00 in Shanghai: Wednesday and Thursday are the
    // two working days; due at Friday's midnight in Shanghai.
    resolve(
        &li,
        &r,
        &[
            ("disposition", "escalated_aml"),
            ("action", "frozen"),
            ("note", "Escalated."),
        ],
    );
    let evs = app.get_api(&key, &format!("/api/v1/cases/{r}/events")).1["events"]
        .as_array()
        .unwrap()
        .clone();
    let due = evs.iter().find(|e| e["kind"] == "aml_report.due").unwrap();
    assert_eq!(due["data"]["due"], "2026-11-26T16:00:00+00:00");
    assert_eq!(due["data"]["calendar"], "cn-business");
}
