// Bulk work from the queue lists: close as duplicate, reassign and hand off many
// cases at once, each through its own command with its own timeline event, refusals
// by reference that leave the case as it was, one audit entry, "select all
// matching" honouring the filters, agents refused, bad input refused whole.

use serde_json::{Value, json};

use crate::assignment::{Desk, kinds, presence};
use crate::common::Browser;
use crate::intake::alert;
use crate::resolution::resolve;
use riskdesk::cases::bulk::{self, BulkAction};
use riskdesk::cases::closing::Closer;
use riskdesk::domain::resolution::{Action, Disposition};

/// Files an alert of `rule` for `customer` with an amount in CNY; the case's reference.
fn case_of(d: &Desk, id: &str, rule: &str, customer: &str, amount: &str) -> String {
    let mut a = alert(id, rule, customer);
    a["amount"] = json!({"value": amount, "currency": "CNY"});
    let (s, r) = d.app.post_api(&d.key, "/api/v1/alerts", &a);
    assert_eq!(s, 201, "{r}");
    r["case_ref"].as_str().unwrap().to_string()
}

/// Posts the bulk form from the queue list, as the supervisor's browser would.
fn bulk_post(b: &Browser, fields: &[(&str, &str)]) -> reqwest::blocking::Response {
    b.submit("/queues", "/queues/bulk", fields)
}

/// The `cases.bulk` audit entries' details, oldest first.
fn bulk_audits(d: &Desk) -> Vec<Value> {
    let mut conn = d.app.conn();
    riskdesk::store::audit::of_kind(&mut conn, "cases.bulk")
        .unwrap()
        .into_iter()
        .map(|e| serde_json::from_str(&e.detail).unwrap())
        .collect()
}

/// The refused row of `reference` on a result page holds `why`.
fn refused_with(page: &str, reference: &str, why: &str) -> bool {
    let Some(i) = page.find(&format!("class=\"refused-row\" data-ref=\"{reference}\"")) else {
        return false;
    };
    let row = &page[i..i + page[i..].find("</tr>").unwrap()];
    row.contains(why)
}

/// A desk with an online agent of Transfers and AML review who has room for many.
fn desk() -> (Desk, Browser, i64) {
    let d = Desk::new();
    let (li, li_id) = d.agent(
        "li@bank.example",
        &["Transfers", "AML review"],
        &["fraud", "aml"],
        20,
    );
    presence(&li, "online");
    (d, li, li_id)
}

#[test]
fn closing_as_duplicate_closes_each_case_and_refuses_the_others_by_reference() {
    let (d, li, _) = desk();
    let a = case_of(&d, "b-1", "LARGE_TRANSFER", "C-1", "1500.00");
    let b = case_of(&d, "b-2", "LARGE_TRANSFER", "C-2", "900.00");
    let resolved = case_of(&d, "b-3", "LARGE_TRANSFER", "C-3", "1200.00");
    let large = case_of(&d, "b-4", "LARGE_TRANSFER", "C-4", "80000.00");
    resolve(
        &li,
        &resolved,
        &[
            ("disposition", "confirmed_fraud"),
            ("action", "blocked"),
            ("note", "Closed before."),
        ],
    );
    assert_eq!(d.case(&resolved)["status"], "resolved");
    let resolved_events = d.events(&resolved).len();
    let password = d.app.create_user("boss@bank.example", "supervisor");
    let sup = d.app.browser();
    assert_eq!(sup.login("boss@bank.example", &password).status(), 303);
    let res = bulk_post(
        &sup,
        &[
            ("op", "close"),
            ("disposition", "duplicate"),
            ("action", "released"),
            ("note", "Same transfer as the morning's case."),
            ("reason", "Duplicates of one burst"),
            ("refs", &a),
            ("refs", &b),
            ("refs", &resolved),
            ("refs", &large),
            ("refs", "RC-999999"),
        ],
    );
    assert_eq!(res.status(), 200);
    let page = res.text().unwrap();
    assert!(page.contains("2 done, 3 refused"), "{page}");
    assert!(page.contains("Close as duplicate"), "{page}");
    assert!(
        refused_with(&page, &resolved, "The case is resolved."),
        "{page}"
    );
    assert!(
        refused_with(
            &page,
            &large,
            "Not closed: the closing needs a supervisor&#39;s approval"
        ),
        "{page}"
    );
    assert!(refused_with(&page, "RC-999999", "No such case."), "{page}");
    // Each case closed through its own command, with its own event carrying the
    // note and the reason.
    for r in [&a, &b] {
        let case = d.case(r);
        assert_eq!(case["status"], "resolved", "{r}");
        assert_eq!(case["disposition"], "duplicate", "{r}");
        let events = d.events(r);
        let closed: Vec<&Value> = events
            .iter()
            .filter(|e| e["kind"] == "case.resolved")
            .collect();
        assert_eq!(closed.len(), 1, "{r}");
        let note = closed[0]["data"]["note"].as_str().unwrap();
        assert!(
            note.contains("Same transfer as the morning's case."),
            "{note}"
        );
        assert!(note.contains("Duplicates of one burst"), "{note}");
        assert_eq!(closed[0]["actor"], "boss@bank.example");
    }
    // The resolved case is untouched: same status, disposition and timeline.
    assert_eq!(d.case(&resolved)["disposition"], "confirmed_fraud");
    assert_eq!(d.events(&resolved).len(), resolved_events);
    // The large release waits for a second supervisor, as a single closing does.
    assert_eq!(d.case(&large)["status"], "pending_approval");
    assert!(kinds(&d.events(&large)).contains(&"resolution.requested".to_string()));
    assert!(!kinds(&d.events(&large)).contains(&"case.resolved".to_string()));
    // One audit entry for the whole action.
    let audits = bulk_audits(&d);
    assert_eq!(audits.len(), 1);
    assert_eq!(audits[0]["action"], "close");
    assert_eq!(audits[0]["count"], 5);
    assert_eq!(audits[0]["reason"], "Duplicates of one burst");
    assert_eq!(audits[0]["params"]["disposition"], "duplicate");
    assert_eq!(audits[0]["done"], json!([a, b]));
    assert_eq!(audits[0]["refused"].as_array().unwrap().len(), 3);
    // The admin's audit log names it.
    let admin = d.app.signed_in("admin");
    let log = admin.get("/admin/audit").text().unwrap();
    assert!(log.contains("Bulk action on cases"), "{log}");
}

#[test]
fn reassigning_gives_each_case_to_the_agent_and_names_what_it_cannot() {
    let (d, li, li_id) = desk();
    let (_wang, wang_id) = d.agent("wang@bank.example", &["Transfers"], &["fraud"], 5);
    let a = case_of(&d, "r-1", "LARGE_TRANSFER", "C-1", "1500.00");
    let b = case_of(&d, "r-2", "LARGE_TRANSFER", "C-2", "1500.00");
    let waiting = case_of(&d, "r-3", "LARGE_TRANSFER", "C-3", "80000.00");
    let aml = case_of(&d, "r-4", "AML_WATCHLIST", "C-4", "10.00");
    resolve(
        &li,
        &waiting,
        &[
            ("disposition", "false_positive"),
            ("action", "released"),
            ("note", "Customer confirmed."),
        ],
    );
    assert_eq!(d.case(&waiting)["status"], "pending_approval");
    let before_waiting = d.events(&waiting).len();
    let before_aml = d.events(&aml).len();
    let sup = d.app.signed_in("supervisor");
    let to = wang_id.to_string();
    let res = bulk_post(
        &sup,
        &[
            ("op", "reassign"),
            ("to", &to),
            ("reason", "Li is on training this afternoon"),
            ("refs", &a),
            ("refs", &b),
            ("refs", &waiting),
            ("refs", &aml),
        ],
    );
    assert_eq!(res.status(), 200);
    let page = res.text().unwrap();
    assert!(page.contains("2 done, 2 refused"), "{page}");
    assert!(
        refused_with(
            &page,
            &waiting,
            "A closing of this case waits for a supervisor&#39;s approval."
        ),
        "{page}"
    );
    assert!(
        refused_with(
            &page,
            &aml,
            "That agent is not a member of the case&#39;s queue."
        ),
        "{page}"
    );
    for r in [&a, &b] {
        assert_eq!(d.case(r)["assignee"], "wang@bank.example", "{r}");
        let given = d
            .events(r)
            .into_iter()
            .rfind(|e| e["kind"] == "assignment.assigned")
            .unwrap();
        assert_eq!(given["data"]["how"], "reassigned");
        assert_eq!(given["data"]["reason"], "Li is on training this afternoon");
    }
    assert_eq!(d.case(&waiting)["assignee"], "li@bank.example");
    assert_eq!(d.events(&waiting).len(), before_waiting);
    assert_eq!(d.case(&aml)["assignee"], "li@bank.example");
    assert_eq!(d.events(&aml).len(), before_aml);
    assert_eq!(crate::resolution::load_of(&d, wang_id), 2);
    assert_eq!(crate::resolution::load_of(&d, li_id), 1 + 3);
    // Again: they are Wang's already.
    let res = bulk_post(
        &sup,
        &[
            ("op", "reassign"),
            ("to", &to),
            ("reason", "Again"),
            ("refs", &a),
        ],
    );
    let page = res.text().unwrap();
    assert!(
        refused_with(&page, &a, "The case is with that agent already."),
        "{page}"
    );
    assert_eq!(bulk_audits(&d).len(), 2);
}

#[test]
fn handing_off_moves_each_case_with_the_reason_as_its_note() {
    let (d, _li, li_id) = desk();
    let a = case_of(&d, "h-1", "LARGE_TRANSFER", "C-1", "1500.00");
    let b = case_of(&d, "h-2", "LARGE_TRANSFER", "C-2", "1500.00");
    let there = d.post("h-3", "NEW_ACCOUNT_BURST", "C-3")["case_ref"]
        .as_str()
        .unwrap()
        .to_string();
    let before = d.events(&there).len();
    let sup = d.app.signed_in("supervisor");
    let res = bulk_post(
        &sup,
        &[
            ("op", "hand_off"),
            ("to_queue", "New accounts"),
            ("reason", "Frozen-funds complaints go to operations"),
            ("refs", &a),
            ("refs", &b),
            ("refs", &there),
        ],
    );
    assert_eq!(res.status(), 200);
    let page = res.text().unwrap();
    assert!(page.contains("2 done, 1 refused"), "{page}");
    assert!(
        refused_with(&page, &there, "The case is in that queue already."),
        "{page}"
    );
    for r in [&a, &b] {
        assert_eq!(d.case(r)["queue"], "New accounts", "{r}");
        let handed = d
            .events(r)
            .into_iter()
            .find(|e| e["kind"] == "case.handed_off")
            .unwrap();
        assert_eq!(handed["data"]["from"], "Transfers");
        assert_eq!(
            handed["data"]["note"],
            "Frozen-funds complaints go to operations"
        );
    }
    assert_eq!(d.events(&there).len(), before);
    assert_eq!(crate::resolution::load_of(&d, li_id), 0);
}

#[test]
fn select_all_matching_acts_on_every_case_the_filters_match_and_no_other() {
    let d = Desk::new();
    // Twelve high-priority transfers (more than a page of ten), a critical one, and
    // a case of another queue.
    let high: Vec<String> = (0..12)
        .map(|i| {
            case_of(
                &d,
                &format!("s-{i}"),
                "LARGE_TRANSFER",
                &format!("C-{i}"),
                "1000.00",
            )
        })
        .collect();
    let critical = case_of(&d, "s-crit", "LARGE_TRANSFER", "C-crit", "90000.00");
    assert_eq!(d.case(&critical)["priority"], "critical");
    let other = d.post("s-other", "NEW_ACCOUNT_BURST", "C-other")["case_ref"]
        .as_str()
        .unwrap()
        .to_string();
    let sup = d.app.signed_in("supervisor");
    let list = "/queues?view=queue&queue=Transfers&priority=high&limit=10";
    let page = sup.get(list).text().unwrap();
    assert_eq!(page.matches("name=\"refs\"").count(), 10, "one page shown");
    assert!(
        page.contains("Act on all 12 cases these filters match"),
        "{page}"
    );
    let token = sup.csrf_from(list);
    let res = sup.post_raw(
        "/queues/bulk",
        &[
            ("csrf_token", &token),
            ("view", "queue"),
            ("queue", "Transfers"),
            ("priority", "high"),
            ("all", "1"),
            ("op", "close"),
            ("disposition", "duplicate"),
            ("action", "no_action"),
            ("reason", "Test burst from the risk engine"),
        ],
    );
    assert_eq!(res.status(), 200);
    let page = res.text().unwrap();
    assert!(page.contains("12 done, 0 refused"), "{page}");
    for r in &high {
        assert_eq!(d.case(r)["status"], "resolved", "{r}");
    }
    assert_ne!(d.case(&critical)["status"], "resolved");
    assert_ne!(d.case(&other)["status"], "resolved");
    assert_eq!(bulk_audits(&d)[0]["count"], 12);
    // A filter the list does not know is named, and nothing is done.
    let res = sup.post_raw(
        "/queues/bulk",
        &[
            ("csrf_token", &token),
            ("view", "queue"),
            ("queue", "Transfers"),
            ("priority", "urgent"),
            ("all", "1"),
            ("op", "close"),
            ("reason", "x"),
        ],
    );
    assert_eq!(res.status(), 422);
    assert!(res.text().unwrap().contains("“urgent” is not known"));
    assert_eq!(bulk_audits(&d).len(), 1);
}

/// A list holding more cases than a bulk action takes says so without counting its
/// whole backlog, offers no "act on all", and a forged "all" is refused whole.
#[test]
fn a_list_over_the_bulk_limit_says_more_than_the_limit_and_refuses_all() {
    use diesel::connection::SimpleConnection;
    let d = Desk::new();
    let first = case_of(&d, "o-1", "LARGE_TRANSFER", "C-1", "1000.00");
    let id: i64 = first.trim_start_matches("RC-").parse().unwrap();
    // A thousand more open transfers like it, straight into the table.
    let columns = "customer_id, queue_id, priority, status, rule_code, opened_at, updated_at, \
        first_response_due, resolution_due, paused_minutes, breached, alert_count, weight, \
        next_due, next_alarm_at, sla_started_at, reopen_count, qa_pending, waiting_since";
    let copy =
        format!("INSERT INTO cases ({columns}) SELECT {columns} FROM cases WHERE id = {id};");
    d.app.conn().batch_execute(&copy.repeat(1000)).unwrap();
    let sup = d.app.signed_in("supervisor");
    let list = "/queues?view=queue&queue=Transfers";
    let page = sup.get(list).text().unwrap();
    assert!(
        page.contains("More than 1000 cases match these filters"),
        "{page}"
    );
    assert!(!page.contains("name=\"all\""), "no act-on-all offered");
    // Below the limit again, the count is exact.
    let narrow = sup
        .get("/queues?view=queue&queue=Transfers&priority=critical")
        .text()
        .unwrap();
    assert!(!narrow.contains("More than 1000"), "{narrow}");
    let token = sup.csrf_from(list);
    let res = sup.post_raw(
        "/queues/bulk",
        &[
            ("csrf_token", &token),
            ("view", "queue"),
            ("queue", "Transfers"),
            ("all", "1"),
            ("op", "hand_off"),
            ("to_queue", "Triage"),
            ("reason", "too many"),
        ],
    );
    let body = res.text().unwrap();
    assert!(
        body.contains("1001 cases were chosen; a bulk action takes at most 1000 at once."),
        "{body}"
    );
    assert!(bulk_audits(&d).is_empty(), "nothing was done");
}

#[test]
fn agents_see_no_checkboxes_and_are_refused_the_bulk_action() {
    let (d, li, _) = desk();
    let a = case_of(&d, "g-1", "LARGE_TRANSFER", "C-1", "1500.00");
    let page = li.get("/queues?view=queue&queue=Transfers").text().unwrap();
    assert!(page.contains(&a), "{page}");
    assert!(!page.contains("name=\"refs\""), "{page}");
    assert!(!page.contains("/queues/bulk"), "{page}");
    let fragment = li
        .get("/queues/fragment?view=queue&queue=Transfers")
        .text()
        .unwrap();
    assert!(!fragment.contains("name=\"refs\""));
    let res = bulk_post(
        &li,
        &[
            ("op", "close"),
            ("action", "no_action"),
            ("reason", "Mine"),
            ("refs", &a),
        ],
    );
    assert_eq!(res.status(), 403);
    assert_ne!(d.case(&a)["status"], "resolved");
    assert!(bulk_audits(&d).is_empty());
    // A supervisor's list has them, in the page and in its refreshed body.
    let sup = d.app.signed_in("supervisor");
    let page = sup
        .get("/queues?view=queue&queue=Transfers")
        .text()
        .unwrap();
    assert!(
        page.contains(&format!("name=\"refs\" value=\"{a}\"")),
        "{page}"
    );
    assert!(page.contains("action=\"/queues/bulk\""));
    let fragment = sup
        .get("/queues/fragment?view=queue&queue=Transfers")
        .text()
        .unwrap();
    assert!(fragment.contains(&format!("name=\"refs\" value=\"{a}\"")));
}

#[test]
fn bad_input_is_refused_whole_with_a_message_and_changes_nothing() {
    let (d, li, _) = desk();
    let a = case_of(&d, "x-1", "LARGE_TRANSFER", "C-1", "1500.00");
    let before = d.events(&a).len();
    let sup = d.app.signed_in("supervisor");
    let too_many: Vec<String> = (1..=1001).map(|i| format!("RC-{i:06}")).collect();
    let mut many: Vec<(&str, &str)> = vec![("op", "close"), ("reason", "Many")];
    many.extend(too_many.iter().map(|r| ("refs", r.as_str())));
    let li_id = crate::auth::user_id(&d.app, "li@bank.example").to_string();
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![("op", "close"), ("action", "no_action"), ("refs", &a)],
            "Give a reason for the bulk action.",
        ),
        (
            vec![
                ("op", "close"),
                ("reason", "   "),
                ("action", "no_action"),
                ("refs", &a),
            ],
            "Give a reason for the bulk action.",
        ),
        (
            vec![("op", "close"), ("reason", "Dup")],
            "Choose at least one case",
        ),
        (
            vec![("op", "close"), ("reason", "Dup"), ("refs", "RC-12")],
            "“RC-12” is not a case reference",
        ),
        (
            vec![("reason", "Dup"), ("refs", &a)],
            "Choose an action: reassign, close as duplicate or hand off.",
        ),
        (
            vec![("op", "delete"), ("reason", "Dup"), ("refs", &a)],
            "The action “delete” is not known.",
        ),
        (
            vec![("op", "reassign"), ("reason", "Dup"), ("refs", &a)],
            "Choose the agent to give the cases to.",
        ),
        (
            vec![
                ("op", "reassign"),
                ("to", "999999"),
                ("reason", "Dup"),
                ("refs", &a),
            ],
            "That agent does not exist or is not active.",
        ),
        (
            vec![("op", "hand_off"), ("reason", "Dup"), ("refs", &a)],
            "Choose the queue to hand the cases off to.",
        ),
        (
            vec![
                ("op", "close"),
                ("disposition", "confirmed_fraud"),
                ("action", "released"),
                ("reason", "Dup"),
                ("refs", &a),
            ],
            "Money is not released on confirmed fraud",
        ),
        (
            many,
            "1001 cases were chosen; a bulk action takes at most 1000 at once.",
        ),
    ];
    for (fields, message) in cases {
        let res = bulk_post(&sup, &fields);
        assert_eq!(res.status(), 422, "{message}");
        let page = res.text().unwrap();
        assert!(page.contains(message), "{message}: {page}");
        assert!(page.contains("Nothing was changed."), "{page}");
    }
    // In the reader's language too.
    let token = sup.csrf_from("/queues");
    let res = sup
        .client
        .post(d.app.url("/queues/bulk"))
        .header("Accept-Language", "zh-CN")
        .form(&[
            ("csrf_token", token.as_str()),
            ("op", "reassign"),
            ("to", li_id.as_str()),
            ("refs", a.as_str()),
        ])
        .send()
        .unwrap();
    assert_eq!(res.status(), 422);
    let zh = res.text().unwrap();
    assert!(zh.contains("请填写批量操作的原因。"), "{zh}");
    assert!(!zh.contains("Give a reason"), "{zh}");
    let case = d.case(&a);
    assert_eq!(case["status"], "assigned");
    assert_eq!(case["assignee"], "li@bank.example");
    assert_eq!(d.events(&a).len(), before);
    assert!(bulk_audits(&d).is_empty());
    drop(li);
}

#[test]
fn refusals_are_translated_on_the_result_page() {
    let (d, li, _) = desk();
    let a = case_of(&d, "t-1", "LARGE_TRANSFER", "C-1", "1500.00");
    resolve(
        &li,
        &a,
        &[
            ("disposition", "confirmed_fraud"),
            ("action", "blocked"),
            ("note", "Done."),
        ],
    );
    let sup = d.app.signed_in("supervisor");
    let token = sup.csrf_from("/queues");
    let res = sup
        .client
        .post(d.app.url("/queues/bulk"))
        .header("Accept-Language", "zh-CN")
        .form(&[
            ("csrf_token", token.as_str()),
            ("op", "hand_off"),
            ("to_queue", "New accounts"),
            ("reason", "移交运营"),
            ("refs", a.as_str()),
            ("refs", "RC-999999"),
        ])
        .send()
        .unwrap();
    assert_eq!(res.status(), 200);
    let zh = res.text().unwrap();
    assert!(zh.contains("已完成 0 个，拒绝 2 个"), "{zh}");
    assert!(zh.contains("案件不存在。"), "{zh}");
    assert!(!zh.contains("No such case"), "{zh}");
}

/// The library entry the campaign work calls: an agent may act on their own cases
/// only; the others are refused by reference and left exactly as they were.
#[test]
fn an_agent_acting_in_bulk_touches_only_their_own_cases() {
    let (d, _li, li_id) = desk();
    let (_wang, wang_id) = d.agent("wang@bank.example", &["Transfers"], &["fraud"], 5);
    let mine = case_of(&d, "o-1", "LARGE_TRANSFER", "C-1", "1500.00");
    let theirs = case_of(&d, "o-2", "LARGE_TRANSFER", "C-2", "1500.00");
    // The second case goes to Wang.
    let sup = d.app.signed_in("supervisor");
    let res = bulk_post(
        &sup,
        &[
            ("op", "reassign"),
            ("to", &wang_id.to_string()),
            ("reason", "Balance"),
            ("refs", &theirs),
        ],
    );
    assert!(res.text().unwrap().contains("1 done, 0 refused"));
    let before = d.events(&theirs).len();
    let id = |r: &str| riskdesk::store::cases::parse_case_ref(r).unwrap();
    let mut conn = d.app.conn();
    let snap = d.app.state.desk.get(&mut conn).unwrap();
    let agent = Closer {
        user_id: li_id,
        supervisor: false,
        ip: None,
    };
    let outcome = bulk::run(
        &mut conn,
        &d.app.state.settings,
        &snap,
        &agent,
        &[id(&mine), id(&theirs), id(&mine)],
        &BulkAction::Close {
            disposition: Disposition::Duplicate,
            action: Action::NoAction,
            note: String::new(),
        },
        "Children of one campaign",
        d.app.clock.now(),
    )
    .unwrap();
    assert_eq!(outcome.done, vec![mine.clone()], "each case once");
    assert_eq!(
        outcome.refused,
        vec![(theirs.clone(), "lifecycle.not_yours")]
    );
    // Reassigning is for supervisors: every case refused, none changed.
    let outcome = bulk::run(
        &mut conn,
        &d.app.state.settings,
        &snap,
        &agent,
        &[id(&theirs)],
        &BulkAction::Reassign { to: li_id },
        "Mine now",
        d.app.clock.now(),
    )
    .unwrap();
    assert!(outcome.done.is_empty());
    assert_eq!(outcome.refused.len(), 1);
    drop(conn);
    assert_eq!(d.case(&mine)["status"], "resolved");
    assert_eq!(d.case(&mine)["disposition"], "duplicate");
    let case = d.case(&theirs);
    assert_eq!(case["assignee"], "wang@bank.example");
    assert_ne!(case["status"], "resolved");
    assert_eq!(d.events(&theirs).len(), before);
    assert_eq!(bulk_audits(&d).len(), 3);
}
