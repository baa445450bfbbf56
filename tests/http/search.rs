// Search: a case reference opens the case; every other key (customer id, phone in
// any format, e-mail, transaction reference, device id, IP address) lists the
// customers and cases it finds, masked, and only what the searcher may see; bad
// text is refused by name; every search is on the audit trail, masked.

use serde_json::json;

use crate::common::{Browser, TestApp, query_value};
use crate::intake::DESK;

struct Desk {
    app: TestApp,
    /// C-1's large transfer (Transfers), C-2's sign-up (New accounts), both on one
    /// device.
    transfer: String,
    signup: String,
}

fn desk() -> Desk {
    let app = TestApp::spawn();
    app.apply_config(DESK);
    let key = app.api_key();
    let post = |alert: serde_json::Value| {
        let (s, r) = app.post_api(&key, "/api/v1/alerts", &alert);
        assert_eq!(s, 201, "{r}");
        r["case_ref"].as_str().unwrap().to_string()
    };
    let transfer = post(json!({
        "external_id": "a-1",
        "rule": "LARGE_TRANSFER",
        "customer": {"external_id": "C-1", "name": "王伟", "email": "Wei.Wang@Example.com", "phone": "+8613900000003"},
        "amount": {"value": "60000.00", "currency": "CNY"},
        "transaction_ref": "TX-20261205-0001",
        "attributes": {"device_id": "dev-A7", "ip": "198.51.100.7"}
    }));
    let signup = post(json!({
        "external_id": "a-2",
        "rule": "NEW_ACCOUNT_BURST",
        "customer": {"external_id": "C-2", "name": "李娜", "email": "na@example.org", "phone": "+8613700000009"},
        "attributes": {"device_id": "DEV-a7", "ip": "198.51.100.8"}
    }));
    Desk {
        app,
        transfer,
        signup,
    }
}

fn search(b: &Browser, text: &str) -> (u16, String) {
    let res = b.get(&format!("/search?q={}", query_value(text)));
    let status = res.status().as_u16();
    let location = crate::common::location(&res);
    let body = res.text().unwrap();
    if status == 303 {
        return (status, location);
    }
    (status, body)
}

/// The references of the cases a results page lists.
fn cases_listed(body: &str) -> Vec<String> {
    let Some(i) = body.find("id=\"search-cases\"") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut rest = &body[i..];
    while let Some(j) = rest.find("<a href=\"/cases/") {
        rest = &rest[j + "<a href=\"/cases/".len()..];
        out.push(rest[..rest.find('"').unwrap()].to_string());
    }
    out
}

/// The customer ids a results page lists.
fn customers_listed(body: &str) -> Vec<String> {
    let Some(i) = body.find("id=\"search-customers\"") else {
        return Vec::new();
    };
    let end = body.find("id=\"search-cases\"").unwrap_or(body.len());
    body[i..end]
        .split("<td><code>")
        .skip(1)
        .map(|s| s[..s.find('<').unwrap()].to_string())
        .collect()
}

#[test]
fn every_key_finds_its_customer_and_cases_masked() {
    let d = desk();
    let sup = d.app.signed_in("supervisor");

    // A reference opens the case, in any letter case.
    assert_eq!(
        search(&sup, &d.transfer),
        (303, format!("/cases/{}", d.transfer))
    );
    assert_eq!(
        search(&sup, &format!(" {} ", d.signup.to_lowercase())),
        (303, format!("/cases/{}", d.signup))
    );

    let found = |text: &str| {
        let (s, body) = search(&sup, text);
        assert_eq!(s, 200, "{text}: {body}");
        (customers_listed(&body), cases_listed(&body), body)
    };
    let one = (vec!["C-1".to_string()], vec![d.transfer.clone()]);
    for (text, by) in [
        ("C-1", "customer id"),
        ("+86 139 0000 0003", "phone"),
        ("13900000003", "phone"),
        ("139-0000-0003", "phone"),
        ("wei.wang@EXAMPLE.com", "e-mail"),
        ("198.51.100.7", "IP address"),
    ] {
        let (customers, cases, body) = found(text);
        assert_eq!((customers, cases), one.clone(), "{text}");
        assert!(body.contains(by), "{text} is found by {by}");
    }
    // A transaction reference lists its case (its customer is not "named" by it).
    let (customers, cases, _) = found("TX-20261205-0001");
    assert_eq!((customers.len(), cases), (0, vec![d.transfer.clone()]));
    // A device id, in any letter case, ties both customers.
    let (mut customers, cases, _) = found("dev-a7");
    customers.sort();
    assert_eq!(customers, vec!["C-1", "C-2"]);
    assert_eq!(
        cases,
        vec![d.signup.clone(), d.transfer.clone()],
        "newest first"
    );

    // Personal data is masked in the results.
    let (_, _, body) = found("C-1");
    for plain in ["13900000003", "Wei.Wang@", "王伟"] {
        assert!(!body.contains(plain), "{plain} is shown unmasked");
    }
    assert!(body.contains("+86 139****0003"));
    assert!(body.contains("W***@Example.com"));

    // Nothing found says so.
    let (customers, cases, body) = found("C-404");
    assert!(customers.is_empty() && cases.is_empty());
    assert!(body.contains("id=\"search-none\""));

    // Each search is on the audit trail with its text masked.
    let searched: Vec<(String, String)> = {
        use diesel::prelude::*;
        use riskdesk::db::schema::audit_events::dsl::*;
        audit_events
            .filter(kind.eq("customer.searched"))
            .select((kind, detail))
            .load(&mut *d.app.conn())
            .unwrap()
    };
    assert_eq!(
        searched.len(),
        10,
        "references open cases without a search record"
    );
    assert!(
        searched
            .iter()
            .all(|(_, detail)| !detail.contains("13900000003")
                && !detail.contains("Wei.Wang")
                && !detail.contains("198.51.100.7"))
    );
    assert!(
        searched
            .iter()
            .any(|(_, detail)| detail.contains("+86 139****0003"))
    );
}

#[test]
fn an_agent_finds_only_what_their_queues_hold() {
    let d = desk();
    let (agent, _) = d.app.agent("na@bank.example", &["New accounts"], &[], 5);

    // The shared device: C-2's case only; C-1 is not even listed.
    let (s, body) = search(&agent, "DEV-A7");
    assert_eq!(s, 200);
    assert_eq!(customers_listed(&body), vec!["C-2"]);
    assert_eq!(cases_listed(&body), vec![d.signup.clone()]);
    assert!(!body.contains("C-1"), "another queue's customer leaks");

    // Every key of the other queue's case finds nothing, and says nothing more.
    let blank = |body: String, text: &str| {
        body.replace(
            &format!("name=\"q\" value=\"{text}\""),
            "name=\"q\" value=\"\"",
        )
    };
    let nothing = blank(search(&agent, "C-404").1, "C-404");
    for text in [
        "C-1",
        "13900000003",
        "wei.wang@example.com",
        "TX-20261205-0001",
        "198.51.100.7",
    ] {
        let (s, body) = search(&agent, text);
        assert_eq!(s, 200, "{text}");
        assert!(cases_listed(&body).is_empty() && customers_listed(&body).is_empty());
        assert_eq!(
            blank(body, text),
            nothing,
            "{text}: the page differs from one that matches nothing"
        );
    }
    // A reference of a case the agent may not see does not open it.
    let (s, body) = search(&agent, &d.transfer);
    assert_eq!(s, 200);
    assert!(body.contains("id=\"search-none\""));
    // Their own queue's reference does.
    assert_eq!(
        search(&agent, &d.signup),
        (303, format!("/cases/{}", d.signup))
    );
}

#[test]
fn bad_searches_are_named_and_recorded_nowhere() {
    let d = desk();
    let sup = d.app.signed_in("supervisor");
    // The page without a question is the empty box.
    let (s, body) = search_page(&sup, "/search");
    assert_eq!(s, 200);
    assert!(!body.contains("role=\"alert\""));
    for (text, says) in [
        ("", "Type something to search for."),
        ("   ", "Type something to search for."),
        (
            &"8".repeat(201) as &str,
            "at most 200 characters; this one has 201",
        ),
        ("+86 139****0003", "wildcards"),
        ("C-1%", "wildcards"),
    ] {
        let (s, body) = search(&sup, text);
        assert_eq!(s, 400, "{text:?}");
        assert!(body.contains(says), "{text:?}: {body}");
    }
    // In Chinese too.
    let res = sup.get_lang(&format!("/search?q={}", query_value(" ")), "zh-CN");
    assert_eq!(res.status(), 400);
    assert!(res.text().unwrap().contains("请输入要搜索的内容"));
    assert!(
        !d.app.audit_kinds().iter().any(|k| k == "customer.searched"),
        "refused searches are not searches"
    );
}

fn search_page(b: &Browser, path: &str) -> (u16, String) {
    let res = b.get(path);
    (res.status().as_u16(), res.text().unwrap())
}

#[test]
fn the_header_has_the_search_box_for_everyone() {
    let d = desk();
    for role in ["agent", "supervisor", "admin"] {
        let b = d.app.signed_in(role);
        let body = b.get("/").text().unwrap();
        assert!(
            body.contains("action=\"/search\""),
            "{role} has no search box"
        );
    }
}
