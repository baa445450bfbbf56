// Emergencies: declared on a case by a person or by the desk (a critical breach, an
// amount over the rule's emergency amount); the queue's on-call person paged in the
// app, by e-mail and through the `oncall.paged` webhook; nobody acknowledging pages
// the next rota's person, then every supervisor (the clock advanced, never slept),
// each step once across two instances; acknowledged from the banner, handed to a
// colleague, stood down, ended by resolving; refusals that change nothing.

use chrono::Duration;
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::assignment::kinds;
use crate::common::{Browser, TestApp, location};
use crate::webhooks::{Receiver, drain, subscribe};

/// The intake desk with Transfers paging `fraud-duty` (Olga this week, then Otto),
/// `managers` (Mia) after it, and large transfers declaring an emergency over
/// 1,000,000 CNY. The test clock starts on Tuesday 24 November 2026, 09:00 Shanghai.
fn desk_toml() -> String {
    crate::intake::DESK
        .replace(
            "name = \"Transfers\"\nsla_policy = \"fraud-fast\"\nskills = [\"fraud\"]",
            "name = \"Transfers\"\nsla_policy = \"fraud-fast\"\nskills = [\"fraud\"]\noncall = \"fraud-duty\"",
        )
        .replace(
            "default_severity = \"high\"\n",
            "default_severity = \"high\"\nemergency_amount = \"1000000.00 CNY\"\n",
        )
        + r#"
[[oncall]]
name = "fraud-duty"
timezone = "Asia/Shanghai"
members = ["olga@bank.example", "otto@bank.example"]
rotation_hours = 168
handover = "2026-11-23T09:00:00+08:00"
ack_minutes = 5
next = "managers"

[[oncall]]
name = "managers"
timezone = "Europe/Berlin"
members = ["mia@bank.example"]
rotation_hours = 24
handover = "2026-11-01T09:00:00+01:00"
ack_minutes = 10
"#
}

struct Desk {
    app: TestApp,
    key: String,
    /// A supervisor outside the rotas.
    sam: Browser,
    olga: Browser,
    otto: Browser,
    mia: Browser,
    ida: Browser,
    olga_password: String,
}

fn person(app: &TestApp, email: &str, role: &str) -> (Browser, String) {
    let password = app.create_user(email, role);
    let b = app.browser();
    assert_eq!(b.login(email, &password).status(), 303);
    (b, password)
}

impl Desk {
    fn new() -> Desk {
        // The clock moves by hours here: sessions outlast it.
        let app = TestApp::spawn_with(|s| {
            s.session_idle = Duration::days(1);
            s.session_max = Duration::days(2);
        });
        let (olga, olga_password) = person(&app, "olga@bank.example", "agent");
        let (otto, _) = person(&app, "otto@bank.example", "agent");
        let (mia, _) = person(&app, "mia@bank.example", "supervisor");
        let (ida, _) = person(&app, "ida@bank.example", "agent");
        let (sam, _) = person(&app, "sam@bank.example", "supervisor");
        app.apply_config(&desk_toml());
        let key = app.api_key();
        Desk {
            app,
            key,
            sam,
            olga,
            otto,
            mia,
            ida,
            olga_password,
        }
    }

    /// A large transfer of `amount` CNY; returns its case's reference.
    fn case(&self, id: &str, amount: &str) -> String {
        let mut a = crate::intake::alert(id, "LARGE_TRANSFER", &format!("C-{id}"));
        a["amount"] = json!({"value": amount, "currency": "CNY"});
        let (s, r) = self.app.post_api(&self.key, "/api/v1/alerts", &a);
        assert_eq!(s, 201, "{r}");
        r["case_ref"].as_str().unwrap().to_string()
    }

    fn declare(&self, who: &Browser, reference: &str, reason: &str) -> reqwest::blocking::Response {
        let page = format!("/cases/{reference}");
        who.submit(&page, &format!("{page}/emergency"), &[("reason", reason)])
    }

    fn events(&self, reference: &str) -> Vec<Value> {
        self.app
            .get_api(&self.key, &format!("/api/v1/cases/{reference}/events"))
            .1["events"]
            .as_array()
            .unwrap()
            .clone()
    }

    fn emergency_id(&self, reference: &str) -> i64 {
        self.events(reference)
            .iter()
            .find(|e| e["kind"] == "emergency.declared")
            .map(|e| e["data"]["emergency"].as_i64().unwrap())
            .expect("an emergency was declared")
    }

    /// Whom each page went to, in order.
    fn paged(&self, reference: &str) -> Vec<Vec<String>> {
        self.events(reference)
            .iter()
            .filter(|e| e["kind"] == "oncall.paged")
            .map(|e| {
                e["data"]["to"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap().to_string())
                    .collect()
            })
            .collect()
    }

    fn watch(&self) -> usize {
        riskdesk::jobs::watch_emergencies(&self.app.state).unwrap()
    }

    /// The page e-mails queued for `to`.
    fn page_mails(&self, to: &str) -> Vec<String> {
        use riskdesk::db::schema::outbox;
        outbox::table
            .filter(outbox::to_addr.eq(to))
            .select(outbox::body_text)
            .load::<String>(&mut *self.app.conn())
            .unwrap()
            .into_iter()
            .filter(|b| b.contains("/emergencies/"))
            .collect()
    }
}

fn home(b: &Browser) -> String {
    b.get("/").text().unwrap()
}

/// The flash message a refused or accepted step redirects to.
fn flash_after(b: &Browser, res: reqwest::blocking::Response) -> String {
    assert_eq!(res.status(), 303);
    b.get(&location(&res)).text().unwrap()
}

#[test]
fn the_on_call_person_is_paged_everywhere_and_acknowledges_from_the_banner() {
    let d = Desk::new();
    let receiver = Receiver::start();
    subscribe(&d.app, "pager", &receiver.url, "oncall.paged");
    let reference = d.case("e-1", "60000.00");
    assert!(
        !home(&d.olga).contains("page-banner"),
        "no banner before a page"
    );

    let page = flash_after(
        &d.sam,
        d.declare(&d.sam, &reference, "Ring draining accounts right now"),
    );
    assert!(page.contains("Emergency declared"), "{page}");
    let id = d.emergency_id(&reference);
    assert_eq!(
        d.paged(&reference),
        vec![vec!["olga@bank.example".to_string()]]
    );

    // In the app: a banner on every page, and a notification.
    let olga_home = home(&d.olga);
    assert!(olga_home.contains("page-banner"), "{olga_home}");
    assert!(olga_home.contains(&reference));
    assert!(olga_home.contains("Ring draining accounts right now"));
    assert!(
        d.olga
            .get("/queues")
            .text()
            .unwrap()
            .contains("page-banner")
    );
    assert!(!home(&d.otto).contains("page-banner"), "only the one paged");
    // By e-mail, with the link to the emergency.
    let mails = d.page_mails("olga@bank.example");
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(
        mails[0].contains(&format!("/emergencies/{id}")),
        "{}",
        mails[0]
    );
    // Through the webhook, for SMS and phone gateways.
    drain(&d.app);
    let sent = receiver.delivered();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["type"], "oncall.paged");
    assert_eq!(sent[0]["data"]["case"], reference.as_str());
    assert_eq!(sent[0]["data"]["to"], json!(["olga@bank.example"]));
    assert_eq!(sent[0]["data"]["rota"], "fraud-duty");

    // Someone not paged cannot acknowledge it; an agent who cannot see the case
    // does not even find it.
    let refused = flash_after(
        &d.mia,
        d.mia
            .submit("/oncall", &format!("/emergencies/{id}/ack"), &[]),
    );
    assert!(refused.contains("You were not paged"), "{refused}");

    // Olga acknowledges from the banner's form.
    let done = flash_after(
        &d.olga,
        d.olga.submit("/", &format!("/emergencies/{id}/ack"), &[]),
    );
    assert!(done.contains("Acknowledged"), "{done}");
    assert!(!home(&d.olga).contains("page-banner"), "the banner goes");
    let again = flash_after(
        &d.olga,
        d.olga.submit("/", &format!("/emergencies/{id}/ack"), &[]),
    );
    assert!(again.contains("acknowledged already"), "{again}");

    // Nothing more is paged once acknowledged.
    d.app.clock.advance(Duration::minutes(30));
    assert_eq!(d.watch(), 0);
    let k = kinds(&d.events(&reference));
    for kind in [
        "emergency.declared",
        "oncall.paged",
        "emergency.acknowledged",
    ] {
        assert_eq!(k.iter().filter(|x| *x == kind).count(), 1, "{kind}: {k:?}");
    }
    // The case page and /oncall tell the story.
    let case_page = d.sam.get(&format!("/cases/{reference}")).text().unwrap();
    assert!(
        case_page.contains("Acknowledged by olga@bank.example"),
        "{case_page}"
    );
    let oncall = d.sam.get("/oncall").text().unwrap();
    assert!(oncall.contains(&format!("/emergencies/{id}")), "{oncall}");
}

#[test]
fn nobody_acknowledging_pages_the_next_rota_then_every_supervisor_once_across_instances() {
    let d = Desk::new();
    let second = d.app.second_instance_with(|s| {
        s.session_idle = Duration::days(1);
        s.session_max = Duration::days(2);
    });
    let reference = d.case("e-2", "60000.00");
    d.declare(&d.sam, &reference, "Account takeover in progress");
    assert_eq!(d.watch(), 0, "not before the five minutes");
    d.app.clock.advance(Duration::minutes(5));

    // Both instances watch at once: the step is taken once.
    let steps: usize = [d.app.state.clone(), second.state.clone()]
        .into_iter()
        .map(|st| std::thread::spawn(move || riskdesk::jobs::watch_emergencies(&st).unwrap()))
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().unwrap())
        .sum();
    assert_eq!(steps, 1);
    assert_eq!(
        d.paged(&reference),
        vec![
            vec!["olga@bank.example".to_string()],
            vec!["mia@bank.example".to_string()]
        ]
    );
    let events = d.events(&reference);
    let second_page = events
        .iter()
        .filter(|e| e["kind"] == "oncall.paged")
        .nth(1)
        .unwrap();
    assert_eq!(second_page["data"]["rota"], "managers");
    assert_eq!(second_page["data"]["unanswered_minutes"], 5);
    assert!(home(&d.mia).contains("page-banner"));
    assert!(home(&d.olga).contains("page-banner"), "still paged too");

    // Managers give ten minutes; then every supervisor.
    d.app.clock.advance(Duration::minutes(9));
    assert_eq!(d.watch(), 0);
    d.app.clock.advance(Duration::minutes(1));
    assert_eq!(riskdesk::jobs::watch_emergencies(&second.state).unwrap(), 1);
    assert_eq!(d.watch(), 0);
    let pages = d.paged(&reference);
    assert_eq!(pages.len(), 3);
    let mut last = pages[2].clone();
    last.sort();
    assert_eq!(last, ["mia@bank.example", "sam@bank.example"]);
    // Nothing after the supervisors.
    d.app.clock.advance(Duration::hours(2));
    assert_eq!(d.watch(), 0);

    // Any of them acknowledges; every banner goes.
    let id = d.emergency_id(&reference);
    d.sam
        .submit("/oncall", &format!("/emergencies/{id}/ack"), &[]);
    for b in [&d.olga, &d.mia, &d.sam] {
        assert!(!home(b).contains("page-banner"));
    }
}

#[test]
fn a_page_handed_to_a_colleague_pages_them_and_answers_the_first() {
    let d = Desk::new();
    let reference = d.case("e-3", "60000.00");
    d.declare(&d.sam, &reference, "Mule account cashing out");
    let id = d.emergency_id(&reference);
    let from = format!("/emergencies/{id}");
    let page = d.olga.get(&from).text().unwrap();
    assert!(page.contains("Hand over"), "{page}");

    for (to, needle) in [
        ("nobody@bank.example", "Name an active agent or supervisor"),
        ("olga@bank.example", "Name an active agent or supervisor"),
    ] {
        let refused = flash_after(
            &d.olga,
            d.olga
                .submit(&from, &format!("{from}/hand-over"), &[("to", to)]),
        );
        assert!(refused.contains(needle), "{to}: {refused}");
    }
    assert_eq!(d.paged(&reference).len(), 1, "refusals change nothing");

    let done = flash_after(
        &d.olga,
        d.olga.submit(
            &from,
            &format!("{from}/hand-over"),
            &[("to", "ida@bank.example")],
        ),
    );
    assert!(done.contains("Handed over"), "{done}");
    assert!(!home(&d.olga).contains("page-banner"));
    assert!(home(&d.ida).contains("page-banner"));
    let handed = d
        .events(&reference)
        .into_iter()
        .rfind(|e| e["kind"] == "oncall.paged")
        .unwrap();
    assert_eq!(handed["data"]["handed_by"], "olga@bank.example");
    assert_eq!(handed["data"]["to"], json!(["ida@bank.example"]));
    // Olga has answered: she cannot acknowledge any more; Ida can.
    let refused = flash_after(&d.olga, d.olga.submit(&from, &format!("{from}/ack"), &[]));
    assert!(refused.contains("You were not paged"), "{refused}");
    flash_after(&d.ida, d.ida.submit(&from, &format!("{from}/ack"), &[]));
    let k = kinds(&d.events(&reference));
    assert!(k.contains(&"emergency.acknowledged".to_string()));
}

#[test]
fn a_supervisor_stands_it_down_and_resolving_the_case_ends_it() {
    let d = Desk::new();
    let reference = d.case("e-4", "60000.00");
    let empty = flash_after(&d.sam, d.declare(&d.sam, &reference, "   "));
    assert!(empty.contains("Give a reason"), "{empty}");
    assert!(d.paged(&reference).is_empty(), "nothing declared");
    d.declare(&d.sam, &reference, "Suspected insider");
    let twice = flash_after(&d.sam, d.declare(&d.sam, &reference, "Again"));
    assert!(twice.contains("has an emergency already"), "{twice}");

    // Agents may not stand it down.
    let page = format!("/cases/{reference}");
    let res = d.olga.submit(
        "/",
        &format!("{page}/emergency/stand-down"),
        &[("reason", "no")],
    );
    assert_eq!(res.status(), 403);
    let done = flash_after(
        &d.sam,
        d.sam.submit(
            &page,
            &format!("{page}/emergency/stand-down"),
            &[("reason", "False alarm: the customer travels")],
        ),
    );
    assert!(done.contains("stood down"), "{done}");
    assert!(!home(&d.olga).contains("page-banner"));
    d.app.clock.advance(Duration::minutes(30));
    assert_eq!(d.watch(), 0, "a stood-down emergency pages nobody");
    let ended: Vec<Value> = d
        .events(&reference)
        .into_iter()
        .filter(|e| e["kind"] == "emergency.ended")
        .collect();
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0]["data"]["how"], "stood_down");

    // A new one, ended by resolving the case.
    d.declare(&d.sam, &reference, "It is back");
    let res = crate::resolution::resolve(
        &d.sam,
        &reference,
        &[
            ("disposition", "confirmed_fraud"),
            ("action", "blocked"),
            ("note", "Blocked the card and called the customer."),
        ],
    );
    assert_eq!(res.status(), 303);
    let ended: Vec<Value> = d
        .events(&reference)
        .into_iter()
        .filter(|e| e["kind"] == "emergency.ended")
        .collect();
    assert_eq!(ended.len(), 2);
    assert_eq!(ended[1]["data"]["how"], "resolved");
    let refused = flash_after(&d.sam, d.declare(&d.sam, &reference, "Too late"));
    assert!(refused.contains("resolved"), "{refused}");
}

#[test]
fn the_desk_declares_one_for_a_large_amount_and_for_a_critical_breach() {
    let d = Desk::new();
    // Over the rule's emergency amount: declared as the alert arrives.
    let large = d.case("e-5", "2500000.00");
    let declared = d
        .events(&large)
        .into_iter()
        .find(|e| e["kind"] == "emergency.declared")
        .expect("declared by the desk");
    assert_eq!(declared["data"]["cause"], "amount");
    assert_eq!(d.paged(&large), vec![vec!["olga@bank.example".to_string()]]);
    let banner = home(&d.olga);
    assert!(
        banner.contains("an alert of 2500000.00 CNY, over its rule"),
        "{banner}"
    );

    // Critical (over 50,000 CNY) but under it: declared when the case breaches.
    let critical = d.case("e-6", "60000.00");
    assert!(d.paged(&critical).is_empty());
    d.app.clock.advance(Duration::minutes(16));
    riskdesk::jobs::watch_sla(&d.app.state).unwrap();
    let declared = d
        .events(&critical)
        .into_iter()
        .find(|e| e["kind"] == "emergency.declared")
        .expect("declared at the breach");
    assert_eq!(declared["data"]["cause"], "breach");
    // A high case breaching is not an emergency.
    let mut a = crate::intake::alert("e-7", "LARGE_TRANSFER", "C-e-7");
    a["amount"] = json!({"value": "900.00", "currency": "CNY"});
    let (_, r) = d.app.post_api(&d.key, "/api/v1/alerts", &a);
    let high = r["case_ref"].as_str().unwrap().to_string();
    d.app.clock.advance(Duration::minutes(31));
    riskdesk::jobs::watch_sla(&d.app.state).unwrap();
    assert!(d.paged(&high).is_empty());
}

/// In a real browser: the banner is on whatever page the one paged has open, and
/// acknowledging from it takes it away.
#[test]
fn the_banner_follows_the_one_paged_and_acknowledging_from_it_clears_it() {
    let d = Desk::new();
    let reference = d.case("e-8", "60000.00");
    let mut b = crate::chromium::Chromium::launch("emergency");
    let base = d.app.base.clone();
    b.goto(&format!("{base}/login"));
    b.fill("input[name=email]", "olga@bank.example");
    b.fill("input[name=password]", &d.olga_password);
    b.click_and_wait("form[action='/login'] button[type=submit]");
    b.goto(&format!("{base}/oncall"));
    assert_eq!(
        b.eval("document.querySelectorAll('.page-banner').length"),
        json!(0)
    );

    d.declare(&d.sam, &reference, "Card testing burst from one device");
    b.goto(&format!("{base}/queues"));
    let banner = b.eval("document.querySelector('.page-banner').textContent");
    let banner = banner.as_str().unwrap_or_default().to_string();
    assert!(banner.contains(&reference), "{banner}");
    assert!(banner.contains("Card testing burst"), "{banner}");
    b.screenshot("emergency-banner");

    b.click_and_wait(".page-banner form button[type=submit]");
    assert!(b.path().starts_with("/emergencies/"), "{}", b.path());
    assert!(b.text().contains("Acknowledged by olga@bank.example"));
    assert_eq!(
        b.eval("document.querySelectorAll('.page-banner').length"),
        json!(0)
    );
    assert!(kinds(&d.events(&reference)).contains(&"emergency.acknowledged".to_string()));
}

#[test]
fn many_pages_show_three_banners_and_a_count_of_the_rest() {
    let d = Desk::new();
    for i in 0..5 {
        let reference = d.case(&format!("m-{i}"), "60000.00");
        d.declare(&d.sam, &reference, "Burst");
    }
    let page = home(&d.olga);
    assert_eq!(page.matches("class=\"page-banner\"").count(), 4, "{page}");
    assert!(
        page.contains("And 2 more emergencies you are paged for."),
        "{page}"
    );
}
