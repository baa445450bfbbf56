// Closing cases: dispositions and actions, refusals that change nothing, risky
// closings that wait for a second supervisor, reopening on a complaint with a fresh
// SLA, and hand-off to another department's queue.

use chrono::Duration;
use serde_json::{Value, json};

use crate::assignment::{Desk, kinds, presence};
use crate::common::{Browser, location};
use crate::intake::alert;

fn case_ref(r: &Value) -> String {
    r["case_ref"].as_str().unwrap().to_string()
}

/// An online agent of Transfers and AML review with a case of `rule` and `amount`.
pub fn desk_with_case(rule: &str, amount: &str) -> (Desk, Browser, i64, String) {
    let d = Desk::new();
    let (li, li_id) = d.agent(
        "li@bank.example",
        &["Transfers", "AML review"],
        &["fraud", "aml"],
        5,
    );
    presence(&li, "online");
    let mut a = alert("r-1", rule, "C-1");
    a["amount"] = json!({"value": amount, "currency": "CNY"});
    let (s, r) = d.app.post_api(&d.key, "/api/v1/alerts", &a);
    assert_eq!(s, 201, "{r}");
    assert_eq!(r["assignee"], "li@bank.example");
    (d, li, li_id, case_ref(&r))
}

pub fn resolve(
    b: &Browser,
    reference: &str,
    fields: &[(&str, &str)],
) -> reqwest::blocking::Response {
    let page = format!("/cases/{reference}");
    b.submit(&page, &format!("{page}/resolve"), fields)
}

pub fn load_of(d: &Desk, user: i64) -> i32 {
    use diesel::prelude::*;
    use riskdesk::db::schema::users::dsl::*;
    users
        .find(user)
        .select(current_load)
        .first(&mut *d.app.conn())
        .unwrap()
}

#[test]
fn an_agent_resolves_with_disposition_action_and_note() {
    let (d, li, li_id, r) = desk_with_case("LARGE_TRANSFER", "1500.00");
    assert_eq!(load_of(&d, li_id), 1);
    let res = resolve(
        &li,
        &r,
        &[
            ("disposition", "confirmed_fraud"),
            ("action", "blocked"),
            ("amount_protected", "1500.00"),
            ("note", "Customer denied the transfer on the phone."),
        ],
    );
    assert_eq!(res.status(), 303);
    let case = d.case(&r);
    assert_eq!(case["status"], "resolved");
    assert_eq!(case["disposition"], "confirmed_fraud");
    assert_eq!(load_of(&d, li_id), 0);
    let events = d.events(&r);
    let resolved = events
        .iter()
        .find(|e| e["kind"] == "case.resolved")
        .unwrap();
    assert_eq!(resolved["data"]["action"], "blocked");
    assert_eq!(resolved["data"]["amount_protected"], "1500.00");
    assert_eq!(resolved["data"]["currency"], "CNY");
    // The page shows the outcome, translated, and offers reopening.
    let page = li.get(&format!("/cases/{r}")).text().unwrap();
    assert!(page.contains("Confirmed fraud"), "{page}");
    assert!(page.contains("Customer denied the transfer"), "{page}");
    assert!(page.contains(&format!("/cases/{r}/reopen")), "{page}");
    let zh = li.get_lang(&format!("/cases/{r}"), "zh-CN").text().unwrap();
    assert!(zh.contains("确认欺诈"), "{zh}");
    assert!(!zh.contains("Confirmed fraud"), "{zh}");
    // Resolving twice is refused.
    let again = resolve(
        &li,
        &r,
        &[
            ("disposition", "duplicate"),
            ("action", "no_action"),
            ("note", "x"),
        ],
    );
    assert_eq!(location(&again), format!("/cases/{r}"));
    assert_eq!(d.app.count("resolutions"), 1);
}

#[test]
fn a_bad_closing_is_named_and_changes_nothing() {
    let (d, li, _, r) = desk_with_case("LARGE_TRANSFER", "1500.00");
    for (fields, message) in [
        (
            vec![("disposition", "confirmed_fraud"), ("action", "blocked")],
            "A note is required.",
        ),
        (
            vec![
                ("disposition", "maybe"),
                ("action", "blocked"),
                ("note", "n"),
            ],
            "Choose a disposition.",
        ),
        (
            vec![
                ("disposition", "confirmed_fraud"),
                ("action", "released"),
                ("note", "n"),
            ],
            "Money is not released on confirmed fraud",
        ),
        (
            vec![
                ("disposition", "false_positive"),
                ("action", "released"),
                ("amount_protected", "-3"),
                ("note", "n"),
            ],
            "The amount protected must be a number",
        ),
    ] {
        let res = resolve(&li, &r, &fields);
        assert_eq!(res.status(), 303);
        let page = li.get(&format!("/cases/{r}")).text().unwrap();
        assert!(page.contains(message), "{message}: {page}");
        assert_ne!(d.case(&r)["status"], "resolved");
    }
    assert_eq!(d.app.count("resolutions"), 0);
    assert!(!kinds(&d.events(&r)).contains(&"case.resolved".to_string()));
}

#[test]
fn only_the_assignee_or_a_supervisor_may_close() {
    let (d, _li, _, r) = desk_with_case("LARGE_TRANSFER", "1500.00");
    // A colleague of the same queue sees the case but may not close it.
    let (wang, _) = d.agent("wang@bank.example", &["Transfers"], &["fraud"], 5);
    let res = resolve(
        &wang,
        &r,
        &[
            ("disposition", "duplicate"),
            ("action", "no_action"),
            ("note", "n"),
        ],
    );
    assert_eq!(
        res.status(),
        303,
        "refused on the page, as other refusals are"
    );
    let page = wang.get(&location(&res)).text().unwrap();
    assert!(
        page.contains("Only the case&#39;s agent or a supervisor may do this."),
        "the refusal names who may close"
    );
    assert_eq!(d.app.count("resolutions"), 0, "nothing was written");
    // An agent of another queue does not even see it.
    let (other, _) = d.agent("zhao@bank.example", &["New accounts"], &[], 5);
    let res = other.post_raw(
        &format!("/cases/{r}/resolve"),
        &[("disposition", "duplicate")],
    );
    assert_eq!(res.status(), 403, "no CSRF token: refused before anything");
    let token = other.csrf_from("/profile");
    let res = other.post_raw(
        &format!("/cases/{r}/resolve"),
        &[
            ("disposition", "duplicate"),
            ("action", "no_action"),
            ("note", "n"),
            ("csrf_token", &token),
        ],
    );
    assert_eq!(res.status(), 404);
    // A supervisor may.
    let sup = d.app.signed_in("supervisor");
    let res = resolve(
        &sup,
        &r,
        &[
            ("disposition", "duplicate"),
            ("action", "no_action"),
            ("note", "dup of RC-1"),
        ],
    );
    assert_eq!(res.status(), 303);
    assert_eq!(d.case(&r)["status"], "resolved");
}

#[test]
fn releasing_a_large_amount_waits_for_another_supervisor() {
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
    let case = d.case(&r);
    assert_eq!(case["status"], "pending_approval");
    assert!(case["disposition"].is_null());
    // Still the agent's work until decided.
    assert_eq!(load_of(&d, li_id), 1);
    let ev = d.events(&r);
    let asked = ev
        .iter()
        .find(|e| e["kind"] == "resolution.requested")
        .unwrap();
    assert_eq!(asked["data"]["reason"], "release_over_threshold");
    assert_eq!(asked["data"]["held"], "80000.00");
    // Asking twice is refused.
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
    // The agent cannot decide; a supervisor sees it in the list and on the page.
    let res = li.submit(
        &format!("/cases/{r}"),
        &format!("/cases/{r}/approval"),
        &[("decision", "approve")],
    );
    assert_eq!(res.status(), 403);
    assert_eq!(li.get("/approvals").status(), 403);
    let sup = d.app.signed_in("supervisor");
    let list = sup.get("/approvals").text().unwrap();
    assert!(list.contains(&r), "{list}");
    assert!(list.contains("release of a held amount over the threshold"));
    // Rejecting needs a note.
    let res = sup.submit(
        &format!("/cases/{r}"),
        &format!("/cases/{r}/approval"),
        &[("decision", "reject")],
    );
    assert_eq!(res.status(), 303);
    assert_eq!(d.case(&r)["status"], "pending_approval");
    let res = sup.submit(
        &format!("/cases/{r}"),
        &format!("/cases/{r}/approval"),
        &[
            ("decision", "reject"),
            ("note", "Call the customer back first."),
        ],
    );
    assert_eq!(res.status(), 303);
    assert_ne!(d.case(&r)["status"], "pending_approval");
    assert_ne!(d.case(&r)["status"], "resolved");
    // The agent asks again; the supervisor approves.
    resolve(
        &li,
        &r,
        &[
            ("disposition", "false_positive"),
            ("action", "released"),
            ("note", "Called back: confirmed."),
        ],
    );
    assert_eq!(d.case(&r)["status"], "pending_approval");
    let res = sup.submit(
        &format!("/cases/{r}"),
        &format!("/cases/{r}/approval"),
        &[("decision", "approve")],
    );
    assert_eq!(res.status(), 303);
    let case = d.case(&r);
    assert_eq!(case["status"], "resolved");
    assert_eq!(case["disposition"], "false_positive");
    assert_eq!(load_of(&d, li_id), 0);
    let k = kinds(&d.events(&r));
    for kind in [
        "resolution.requested",
        "resolution.rejected",
        "resolution.approved",
        "case.resolved",
    ] {
        assert!(k.contains(&kind.to_string()), "{kind}: {k:?}");
    }
    let audit = d.app.audit_kinds();
    assert!(audit.contains(&"resolution.rejected".to_string()));
    assert!(audit.contains(&"resolution.approved".to_string()));
    // The resolver is the agent, the approver the supervisor.
    let resolved = d
        .events(&r)
        .into_iter()
        .find(|e| e["kind"] == "case.resolved")
        .unwrap();
    assert_eq!(resolved["actor"], "li@bank.example");
    // The agent heard of both decisions.
    let notes = li.get("/notifications").text().unwrap();
    assert!(notes.contains("your closing was rejected"), "{notes}");
    assert!(notes.contains("your closing was approved"), "{notes}");
}

#[test]
fn a_supervisor_cannot_approve_their_own_closing() {
    let (d, _li, _, r) = desk_with_case("LARGE_TRANSFER", "120000.00");
    let sup = d.app.signed_in("supervisor");
    resolve(
        &sup,
        &r,
        &[
            ("disposition", "false_positive"),
            ("action", "released"),
            ("note", "Confirmed by e-mail."),
        ],
    );
    assert_eq!(d.case(&r)["status"], "pending_approval");
    let res = sup.submit(
        &format!("/cases/{r}"),
        &format!("/cases/{r}/approval"),
        &[("decision", "approve")],
    );
    assert_eq!(res.status(), 303);
    let page = sup.get(&format!("/cases/{r}")).text().unwrap();
    assert!(
        page.contains("You cannot approve or reject a closing you asked for."),
        "{page}"
    );
    assert_eq!(d.case(&r)["status"], "pending_approval");
    let admin = d.app.signed_in("admin");
    let res = admin.submit(
        &format!("/cases/{r}"),
        &format!("/cases/{r}/approval"),
        &[("decision", "approve")],
    );
    assert_eq!(res.status(), 303);
    assert_eq!(d.case(&r)["status"], "resolved");
}

#[test]
fn an_aml_case_closed_as_false_positive_needs_approval() {
    let (d, li, _, r) = desk_with_case("AML_WATCHLIST", "10.00");
    resolve(
        &li,
        &r,
        &[
            ("disposition", "false_positive"),
            ("action", "released"),
            ("note", "Name match only."),
        ],
    );
    assert_eq!(d.case(&r)["status"], "pending_approval");
    let asked = d
        .events(&r)
        .into_iter()
        .find(|e| e["kind"] == "resolution.requested")
        .unwrap();
    assert_eq!(asked["data"]["reason"], "aml_false_positive");
}

#[test]
fn a_complaint_reopens_the_case_with_a_fresh_sla() {
    let (d, li, li_id, r) = desk_with_case("LARGE_TRANSFER", "1500.00");
    resolve(
        &li,
        &r,
        &[
            ("disposition", "confirmed_fraud"),
            ("action", "frozen"),
            ("note", "Frozen."),
        ],
    );
    assert_eq!(d.case(&r)["status"], "resolved");
    // A while later (nothing of the first round fires on a resolved case), reopen.
    d.app.clock.advance(Duration::minutes(20));
    d.watch();
    let page = format!("/cases/{r}");
    let res = li.submit(&page, &format!("{page}/reopen"), &[("reason", " ")]);
    assert_eq!(res.status(), 303);
    assert_eq!(d.case(&r)["status"], "resolved");
    let res = li.submit(
        &page,
        &format!("{page}/reopen"),
        &[("reason", "Customer complains the account is still frozen.")],
    );
    assert_eq!(res.status(), 303);
    let case = d.case(&r);
    assert_ne!(case["status"], "resolved");
    assert!(case["disposition"].is_null());
    // Back with an agent (the only one online), the SLA counted from now: high
    // priority, 30 minutes to first response on the 24/7 policy.
    assert_eq!(case["assignee"], "li@bank.example");
    assert_eq!(load_of(&d, li_id), 1);
    let due: chrono::DateTime<chrono::Utc> = case["sla"]["first_response_due"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(due, d.app.clock.now() + Duration::minutes(30));
    assert_eq!(case["sla"]["breached"], false);
    let reopened = d
        .events(&r)
        .into_iter()
        .find(|e| e["kind"] == "case.reopened")
        .unwrap();
    assert_eq!(
        reopened["data"]["reason"],
        "Customer complains the account is still frozen."
    );
    // The new round's warnings fire again.
    d.app.clock.advance(Duration::minutes(23));
    d.watch();
    let warnings = kinds(&d.events(&r))
        .into_iter()
        .filter(|k| k == "sla.warning")
        .count();
    assert!(warnings >= 1, "{:?}", kinds(&d.events(&r)));
    // Reopening an open case is refused.
    let res = li.submit(&page, &format!("{page}/reopen"), &[("reason", "again")]);
    assert_eq!(res.status(), 303);
    assert_eq!(
        kinds(&d.events(&r))
            .iter()
            .filter(|k| *k == "case.reopened")
            .count(),
        1
    );
}

#[test]
fn a_case_is_handed_off_to_another_departments_queue() {
    let (d, li, li_id, r) = desk_with_case("LARGE_TRANSFER", "1500.00");
    let (legal, _) = d.agent("legal@bank.example", &["New accounts"], &[], 5);
    presence(&legal, "online");
    let page = format!("/cases/{r}");
    // Unknown queue, same queue, missing note: refused, nothing moves.
    for fields in [
        vec![("queue", "Nowhere"), ("note", "n")],
        vec![("queue", "Transfers"), ("note", "n")],
        vec![("queue", "New accounts"), ("note", "")],
    ] {
        let res = li.submit(&page, &format!("{page}/hand-off"), &fields);
        assert_eq!(res.status(), 303);
        assert_eq!(d.case(&r)["queue"], "Transfers");
    }
    d.app.clock.advance(Duration::minutes(10));
    let res = li.submit(
        &page,
        &format!("{page}/hand-off"),
        &[
            ("queue", "New accounts"),
            ("note", "Frozen funds complaint: legal review."),
        ],
    );
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/");
    let case = d.case(&r);
    assert_eq!(case["queue"], "New accounts");
    assert_eq!(case["assignee"], "legal@bank.example");
    assert_eq!(load_of(&d, li_id), 0);
    // The office policy's high target: 60 business minutes from the hand-off.
    let due: chrono::DateTime<chrono::Utc> = case["sla"]["first_response_due"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(due > d.app.clock.now(), "{due}");
    let handed = d
        .events(&r)
        .into_iter()
        .find(|e| e["kind"] == "case.handed_off")
        .unwrap();
    assert_eq!(handed["data"]["from"], "Transfers");
    assert_eq!(handed["data"]["to"], "New accounts");
    // The former agent no longer sees it; the new one does.
    assert_eq!(li.get(&page).status(), 404);
    let shown = legal.get(&page).text().unwrap();
    assert!(
        shown.contains("Handed off from Transfers to New accounts"),
        "{shown}"
    );
}
