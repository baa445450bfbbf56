// Customers who release their own payments: a rule that verifies by e-mail by itself
// sends the customer the link as the alert arrives; "it was me" on a small amount
// closes the case as a released false positive by the customer (and the engine is
// told); over the limit, on a case with more alerts, for AML or do-not-contact
// customers it does not; "it wasn't me" raises the case to critical.

use serde_json::json;

use crate::common::{Browser, TestApp};
use crate::intake::{DESK, alert};
use crate::webhooks::{Receiver, drain, subscribe};

const RULE: &str = "code = \"LARGE_TRANSFER\"\nname = \"Large transfer\"\ncategory = \"fraud\"\ndefault_severity = \"high\"\n";

/// The test desk with LARGE_TRANSFER verifying by itself, customers releasing up to
/// 5,000 CNY.
pub fn self_release_desk() -> String {
    assert!(DESK.contains(RULE));
    DESK.replace(
        RULE,
        &format!(
            "{RULE}verify_by_email = \"auto\"\nrelease_on_confirm_up_to = {{ CNY = \"5000.00\" }}\n"
        ),
    )
}

/// The assignment tests' desk, on the self-release configuration.
pub struct Desk(pub crate::assignment::Desk);

impl std::ops::Deref for Desk {
    type Target = crate::assignment::Desk;
    fn deref(&self) -> &crate::assignment::Desk {
        &self.0
    }
}

impl Desk {
    pub fn new() -> Desk {
        let app = TestApp::spawn();
        app.apply_config(&self_release_desk());
        let key = app.api_key();
        Desk(crate::assignment::Desk { app, key })
    }

    /// Files a transfer of `amount` CNY for `customer` (with an e-mail address).
    pub fn transfer(&self, id: &str, customer: &str, amount: &str) -> String {
        let mut a = alert(id, "LARGE_TRANSFER", customer);
        a["customer"]["email"] = json!(format!("{}@example.com", customer.to_lowercase()));
        a["amount"] = json!({"value": amount, "currency": "CNY"});
        a["transaction_ref"] = json!(format!("TX-{id}"));
        let (s, r) = self.app.post_api(&self.key, "/api/v1/alerts", &a);
        assert_eq!(s, 201, "{r}");
        r["case_ref"].as_str().unwrap().to_string()
    }

    /// The verification link the desk e-mailed for the case.
    pub fn link(&self, reference: &str) -> String {
        let id = riskdesk::store::cases::parse_case_ref(reference).unwrap();
        crate::browser::link_in_mail(&self.app, id, "/v/")
    }

    /// The customer answers on their page.
    pub fn answer(&self, reference: &str, answer: &str) -> String {
        let link = self.link(reference);
        let customer = Browser::new(&self.app.base);
        let res = customer.submit(&link, &link, &[("answer", answer)]);
        assert_eq!(res.status(), 200);
        res.text().unwrap()
    }
}

#[test]
fn a_customer_who_confirms_a_small_amount_releases_it_and_the_engine_hears() {
    let d = Desk::new();
    let receiver = Receiver::start();
    subscribe(
        &d.app,
        "engine",
        &receiver.url,
        "case.resolved,transaction.decided,verification.answered",
    );
    let r = d.transfer("s-1", "C-1", "1500.00");
    // The desk e-mailed the customer by itself, before any agent: no actor.
    let sent = d
        .events(&r)
        .into_iter()
        .find(|e| e["kind"] == "verification.email_sent")
        .expect("the e-mail went out with the alert");
    assert!(sent["actor"].is_null(), "{sent}");
    assert_eq!(d.case(&r)["sla"]["paused"], true);

    let page = d.answer(&r, "confirm");
    assert!(page.contains("The payment is released."), "{page}");
    let case = d.case(&r);
    assert_eq!(case["status"], "resolved");
    assert_eq!(case["disposition"], "false_positive");
    let resolved = d
        .events(&r)
        .into_iter()
        .find(|e| e["kind"] == "case.resolved")
        .unwrap();
    assert!(resolved["actor"].is_null());
    assert_eq!(resolved["data"]["by_customer"], true);
    assert_eq!(resolved["data"]["action"], "released");
    assert_eq!(resolved["data"]["customer_confirmed"], true);

    drain(&d.app);
    let told: Vec<String> = receiver
        .delivered()
        .iter()
        .map(|v| v["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        told,
        [
            "verification.answered",
            "case.resolved",
            "transaction.decided"
        ]
    );
    let decided = &receiver.delivered()[2]["data"];
    assert_eq!(decided["transaction_ref"], "TX-s-1");
    assert_eq!(decided["decision"], "release");
    assert_eq!(receiver.delivered()[1]["data"]["by_customer"], true);

    // The case page says who closed it, in both languages.
    let sup = d.app.signed_in("supervisor");
    let text = sup.get(&format!("/cases/{r}")).text().unwrap();
    assert!(text.contains("Closed by the customer"), "{text}");
    let zh = sup
        .get_lang(&format!("/cases/{r}"), "zh-CN")
        .text()
        .unwrap();
    assert!(zh.contains("由客户关闭"), "{zh}");
}

#[test]
fn over_the_limit_more_alerts_or_a_denial_leave_it_to_an_agent() {
    let d = Desk::new();
    // Over the limit: the answer is recorded, the case stays open.
    let big = d.transfer("b-1", "C-1", "9000.00");
    let page = d.answer(&big, "confirm");
    assert!(!page.contains("The payment is released."), "{page}");
    assert_ne!(d.case(&big)["status"], "resolved");
    assert_eq!(d.case(&big)["sla"]["paused"], false);

    // Two alerts on one case: not released by the customer.
    let two = d.transfer("t-1", "C-2", "100.00");
    assert_eq!(d.transfer("t-2", "C-2", "200.00"), two);
    d.answer(&two, "confirm");
    assert_ne!(d.case(&two)["status"], "resolved");

    // "It wasn't me": critical, and an agent takes over.
    let denied = d.transfer("d-1", "C-3", "100.00");
    let page = d.answer(&denied, "deny");
    assert!(!page.contains("The payment is released."));
    let case = d.case(&denied);
    assert_eq!(case["priority"], "critical");
    assert_ne!(case["status"], "resolved");

    // A do-not-contact customer is not e-mailed at all.
    let mut a = alert("n-1", "LARGE_TRANSFER", "C-4");
    a["customer"]["email"] = json!("c4@example.com");
    a["customer"]["do_not_contact"] = json!(true);
    a["amount"] = json!({"value": "100.00", "currency": "CNY"});
    let (s, v) = d.app.post_api(&d.key, "/api/v1/alerts", &a);
    assert_eq!(s, 201, "{v}");
    let quiet = v["case_ref"].as_str().unwrap();
    assert!(
        !d.events(quiet)
            .iter()
            .any(|e| e["kind"] == "verification.email_sent")
    );
}

#[test]
fn the_rule_settings_are_checked_and_exported() {
    let app = TestApp::spawn();
    let bad = DESK.replace(
        RULE,
        &format!("{RULE}verify_by_email = \"sometimes\"\nrelease_on_confirm_up_to = \"lots\"\n"),
    );
    app.apply_config(&self_release_desk());
    let mut conn = app.conn();
    let problems = match riskdesk::desk::apply_text(
        &mut conn,
        app.state.now(),
        &riskdesk::accounts::Actor::cli(),
        &bad,
        false,
    ) {
        Err(riskdesk::desk::ConfigError::Invalid(p)) => p
            .iter()
            .map(|p| format!("{}: {}", p.field, p.message))
            .collect::<Vec<_>>()
            .join("\n"),
        other => panic!("{other:?}"),
    };
    assert!(problems.contains("verify_by_email"), "{problems}");
    assert!(problems.contains("release_on_confirm_up_to"), "{problems}");
    let exported = riskdesk::desk::export(&mut conn).unwrap();
    assert!(
        exported.contains("verify_by_email = \"auto\""),
        "{exported}"
    );
    assert!(
        exported.contains("release_on_confirm_up_to = \"5000.00 CNY\""),
        "{exported}"
    );
}
