// Campaigns: a ring of customers tied by one identifier within a window becomes one
// campaign case with their open cases as its children; later cases join it; racing
// alerts open one campaign; the rule narrows what counts; bad rules are refused.

use chrono::Duration;
use serde_json::{Value, json};

use crate::common::TestApp;
use crate::intake::DESK;

/// The test desk with a campaign rule: 3 customers on one device within 60 minutes,
/// alerts of NEW_ACCOUNT_BURST only.
pub fn campaign_desk() -> String {
    format!(
        "{DESK}\n[[campaigns]]\nname = \"shared-device\"\nlink_by = [\"device_id\", \"ip\"]\nmin_customers = 3\nwindow_minutes = 60\nrules = [\"NEW_ACCOUNT_BURST\"]\nqueue = \"Triage\"\n"
    )
}

pub fn signup(id: &str, customer: &str, device: &str, ip: &str) -> Value {
    json!({
        "external_id": id,
        "rule": "NEW_ACCOUNT_BURST",
        "customer": {"external_id": customer, "name": "王伟"},
        "attributes": {"device_id": device, "ip": ip}
    })
}

pub struct Ring {
    pub app: TestApp,
    pub key: String,
}

impl Ring {
    pub fn new() -> Ring {
        let app = TestApp::spawn();
        app.apply_config(&campaign_desk());
        let key = app.api_key();
        Ring { app, key }
    }

    pub fn post(&self, alert: Value) -> String {
        let (s, r) = self.app.post_api(&self.key, "/api/v1/alerts", &alert);
        assert_eq!(s, 201, "{r}");
        r["case_ref"].as_str().unwrap().to_string()
    }

    pub fn case(&self, reference: &str) -> Value {
        let (s, v) = self
            .app
            .get_api(&self.key, &format!("/api/v1/cases/{reference}"));
        assert_eq!(s, 200, "{v}");
        v
    }

    pub fn kinds(&self, reference: &str) -> Vec<String> {
        self.app
            .get_api(&self.key, &format!("/api/v1/cases/{reference}/events"))
            .1["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap().to_string())
            .collect()
    }

    fn campaigns(&self) -> i64 {
        self.app.count("campaigns")
    }
}

#[test]
fn a_ring_on_one_device_becomes_one_campaign_and_later_cases_join_it() {
    let ring = Ring::new();
    let a = ring.post(signup("s-1", "C-1", "dev-ring", "198.51.100.1"));
    let b = ring.post(signup("s-2", "C-2", "dev-ring", "198.51.100.2"));
    assert_eq!(ring.campaigns(), 0, "two customers are not a ring yet");
    assert!(ring.case(&a)["campaign"].is_null());
    assert_eq!(ring.case(&a)["kind"], "case");

    // The third customer on the device crosses the threshold.
    let c = ring.post(signup("s-3", "C-3", "dev-ring", "198.51.100.3"));
    assert_eq!(ring.campaigns(), 1);
    let campaign = ring.case(&c)["campaign"].as_str().unwrap().to_string();
    for child in [&a, &b, &c] {
        assert_eq!(ring.case(child)["campaign"], campaign.as_str(), "{child}");
        assert!(ring.kinds(child).contains(&"campaign.joined".to_string()));
    }
    let parent = ring.case(&campaign);
    assert_eq!(parent["kind"], "campaign");
    assert_eq!(parent["queue"], "Triage");
    assert!(parent["campaign"].is_null());
    let children: Vec<&str> = parent["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["case_ref"].as_str().unwrap())
        .collect();
    assert_eq!(children, [a.as_str(), b.as_str(), c.as_str()]);
    let kinds = ring.kinds(&campaign);
    assert!(kinds.contains(&"campaign.opened".to_string()), "{kinds:?}");
    assert!(kinds.contains(&"sla.set".to_string()), "{kinds:?}");

    // A fourth customer on the device joins the open campaign; none is opened again.
    let d = ring.post(signup("s-4", "C-4", "dev-ring", "198.51.100.4"));
    assert_eq!(ring.case(&d)["campaign"], campaign.as_str());
    assert_eq!(ring.campaigns(), 1);
    assert!(ring.kinds(&campaign).contains(&"campaign.grew".to_string()));
    assert_eq!(
        ring.case(&campaign)["children"].as_array().unwrap().len(),
        4
    );

    // The campaign's customer stands for the ring: it may not be contacted.
    let customer = &ring.case(&campaign)["customer"]["external_id"];
    assert!(
        customer
            .as_str()
            .unwrap()
            .starts_with("ring:shared-device:"),
        "{customer}"
    );
}

#[test]
fn the_window_and_the_rules_narrow_what_makes_a_ring() {
    let ring = Ring::new();
    // Other rules do not count, though they share the device.
    for i in 0..3 {
        let mut a = signup(&format!("t-{i}"), &format!("T-{i}"), "dev-x", "203.0.113.9");
        a["rule"] = json!("LARGE_TRANSFER");
        ring.post(a);
    }
    assert_eq!(ring.campaigns(), 0);
    // Two customers, then the third after the window: no ring.
    ring.post(signup("w-1", "W-1", "dev-w", "192.0.2.1"));
    ring.post(signup("w-2", "W-2", "dev-w", "192.0.2.2"));
    ring.app.clock.advance(Duration::minutes(61));
    ring.post(signup("w-3", "W-3", "dev-w", "192.0.2.3"));
    assert_eq!(
        ring.campaigns(),
        0,
        "the first two came more than 60 minutes before"
    );
    // Two more within the window make three again: a ring.
    ring.post(signup("w-4", "W-4", "dev-w", "192.0.2.4"));
    assert_eq!(ring.campaigns(), 0);
    let last = ring.post(signup("w-5", "W-5", "dev-w", "192.0.2.5"));
    assert_eq!(ring.campaigns(), 1);
    let campaign = ring.case(&last)["campaign"].as_str().unwrap().to_string();
    assert_eq!(
        ring.case(&campaign)["children"].as_array().unwrap().len(),
        3,
        "only the customers seen within the window"
    );
}

#[test]
fn racing_alerts_open_one_campaign() {
    let ring = Ring::new();
    let app2 = ring.app.second_instance();
    let key = ring.key.clone();
    // Two customers first, then many at once from two instances.
    ring.post(signup("r-0", "R-0", "dev-race", "192.0.2.10"));
    ring.post(signup("r-1", "R-1", "dev-race", "192.0.2.11"));
    std::thread::scope(|s| {
        for i in 2..12 {
            let (app, key) = (if i % 2 == 0 { &ring.app } else { &app2 }, &key);
            s.spawn(move || {
                let (status, r) = app.post_api(
                    key,
                    "/api/v1/alerts",
                    &signup(
                        &format!("r-{i}"),
                        &format!("R-{i}"),
                        "dev-race",
                        "192.0.2.12",
                    ),
                );
                assert_eq!(status, 201, "{r}");
            });
        }
    });
    assert_eq!(ring.campaigns(), 1);
    let (_, list) = ring.app.get_api(&ring.key, "/api/v1/cases?limit=100");
    let cases = list["cases"].as_array().unwrap();
    let campaign = cases
        .iter()
        .find(|c| c["kind"] == "campaign")
        .expect("a campaign case")["case_ref"]
        .as_str()
        .unwrap()
        .to_string();
    let in_campaign = cases
        .iter()
        .filter(|c| c["campaign"] == campaign.as_str())
        .count();
    let events = |r: &str| ring.kinds(r);
    let left_out: Vec<(String, Vec<String>)> = cases
        .iter()
        .filter(|c| c["kind"] == "case" && c["campaign"].is_null())
        .map(|c| {
            let r = c["case_ref"].as_str().unwrap();
            (r.to_string(), events(r))
        })
        .collect();
    assert_eq!(
        in_campaign,
        12,
        "every customer's case joined the one campaign; left out: {left_out:?}; campaign: {:?}",
        events(&campaign)
    );
}

#[test]
fn campaign_rules_naming_unknown_things_are_refused_with_their_path() {
    let d = crate::cli::desk();
    let file = d.dir.path().join("desk.toml");
    let path = file.to_str().unwrap();
    let bad = format!(
        "{DESK}\n[[campaigns]]\nname = \"x\"\nlink_by = [\"email\"]\nrules = [\"NOPE\"]\nqueue = \"Nowhere\"\n"
    );
    std::fs::write(&file, bad).unwrap();
    let (code, out, err) = d.run(&["config", "apply", path], None);
    assert_ne!(code, 0);
    let text = format!("{out}{err}");
    for f in [
        "campaigns[0].link_by[0]",
        "campaigns[0].rules[0]",
        "campaigns[0].queue",
    ] {
        assert!(text.contains(f), "{f} not named in {text}");
    }
    let (_, exported, _) = d.run(&["config", "export"], None);
    assert!(!exported.contains("Transfers"), "nothing was applied");
    // A good one is applied, listed as a change, and exported.
    std::fs::write(&file, campaign_desk()).unwrap();
    let (code, out, err) = d.run(&["config", "apply", path], None);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("+ campaign shared-device"), "{out}");
    let (_, exported, _) = d.run(&["config", "export"], None);
    assert!(
        exported.contains("[[campaigns]]") && exported.contains("name = \"shared-device\""),
        "{exported}"
    );
}

#[test]
fn the_campaign_page_shows_what_ties_the_ring_its_children_and_the_network() {
    let ring = Ring::new();
    let mut refs = Vec::new();
    for i in 1..=3 {
        let mut a = signup(
            &format!("p-{i}"),
            &format!("C-{i}"),
            "dev-9f3a",
            &format!("198.51.100.{i}"),
        );
        a["amount"] = json!({"value": format!("{i}00.00"), "currency": "CNY"});
        a["customer"]["phone"] = json!("+8613800138000");
        refs.push(ring.post(a));
    }
    let campaign = ring.case(&refs[0])["campaign"]
        .as_str()
        .unwrap()
        .to_string();
    let sup = ring.app.signed_in("supervisor");
    let page = sup.get(&format!("/cases/{campaign}")).text().unwrap();
    assert!(page.contains("Campaign"), "{page}");
    assert!(page.contains("shared-device"), "the rule that found it");
    assert!(page.contains("Shared identifiers"));
    for r in &refs {
        assert!(page.contains(&format!("href=\"/cases/{r}\"")), "{r} linked");
    }
    assert!(page.contains("300.00 CNY"), "amounts shown");
    // The network: one device and one phone tie all three (one node of three).
    assert!(page.contains("<svg"), "{page}");
    assert!(page.contains("×3"), "the three customers drawn as one node");
    // Masked as everywhere: the phone and the device are never whole.
    assert!(!page.contains("13800138000"));
    assert!(!page.contains("dev-9f3a"));
    // No customer panels on a campaign: nobody calls or e-mails a ring.
    assert!(!page.contains("/calls\""), "no call form");
    assert!(!page.contains("verify-email"), "no e-mail form");
    // A child says where it belongs.
    let child = sup.get(&format!("/cases/{}", refs[1])).text().unwrap();
    assert!(
        child.contains(&format!("href=\"/cases/{campaign}\"")),
        "{child}"
    );

    // An agent of another queue cannot open the campaign; one of its queue sees the
    // children of queues it does not hold without their links.
    let (other, _) = ring.app.agent("o@bank.example", &["Transfers"], &[], 5);
    assert_eq!(other.get(&format!("/cases/{campaign}")).status(), 404);
    let (triage, _) = ring.app.agent("t@bank.example", &["Triage"], &[], 5);
    let page = triage.get(&format!("/cases/{campaign}")).text().unwrap();
    assert!(
        !page.contains(&format!("href=\"/cases/{}\"", refs[0])),
        "{page}"
    );
    assert!(page.contains(&refs[0]));
}

#[test]
fn linked_cases_are_grouped_by_what_is_shared_a_screenful_however_many() {
    let ring = Ring::new();
    // 40 customers on one device (alerts of a rule no campaign rule counts).
    let mut last = String::new();
    for i in 0..40 {
        let mut a = signup(
            &format!("l-{i}"),
            &format!("L-{i}"),
            "dev-many",
            &format!("192.0.2.{i}"),
        );
        a["rule"] = json!("LARGE_TRANSFER");
        last = ring.post(a);
    }
    assert_eq!(ring.campaigns(), 0);
    let sup = ring.app.signed_in("supervisor");
    let page = sup.get(&format!("/cases/{last}")).text().unwrap();
    let linked = &page[page.find("id=\"linked\"").unwrap()..];
    let linked = &linked[..linked.find("</section>").unwrap()];
    assert!(linked.contains("39 other customers"), "{linked}");
    // The newest three cases, and the link to all of them.
    let all = linked.matches("/linked?shared=").count();
    assert_eq!(all, 1, "{linked}");
    assert_eq!(
        linked.matches("href=\"/cases/RC-").count() - all,
        3,
        "{linked}"
    );
    assert!(linked.contains("All 39"), "{linked}");
    assert!(!linked.contains("dev-many"), "masked");
}

#[test]
fn a_supervisor_makes_a_campaign_of_chosen_cases_and_merges_two() {
    let ring = Ring::new();
    let transfer = |id: &str, customer: &str| {
        let mut a = signup(id, customer, &format!("dev-{id}"), "192.0.2.200");
        a["rule"] = json!("LARGE_TRANSFER");
        ring.post(a)
    };
    let a = transfer("m-1", "M-1");
    let b = transfer("m-2", "M-2");
    let c = transfer("m-3", "M-3");
    let sup = ring.app.signed_in("supervisor");
    let before = ring.kinds(&a).len();

    // A missing reason and too few cases are refused, and nothing changes.
    let res = sup.submit(
        "/queues",
        "/campaigns",
        &[
            ("cases", &format!("{a} {b}")),
            ("queue", "Triage"),
            ("reason", " "),
        ],
    );
    assert_eq!(res.status(), 400);
    assert!(
        res.text().unwrap().contains("reason"),
        "names what is wrong"
    );
    let res = sup.submit(
        "/queues",
        "/campaigns",
        &[
            ("cases", &format!("{a} RC-999999")),
            ("queue", "Triage"),
            ("reason", "same IP"),
        ],
    );
    assert_eq!(res.status(), 400);
    assert_eq!(ring.campaigns(), 0);
    assert_eq!(ring.kinds(&a).len(), before);

    // Two good cases and a bad reference: the campaign is made, the bad one listed.
    let res = sup.submit(
        "/queues",
        "/campaigns",
        &[
            ("cases", &format!("{a}, {b}\nRC-999999")),
            ("queue", "Triage"),
            ("reason", "same IP, same hour"),
        ],
    );
    assert_eq!(res.status(), 200);
    let page = res.text().unwrap();
    assert!(
        page.contains("RC-999999 — No case has this reference."),
        "{page}"
    );
    let first = ring.case(&a)["campaign"].as_str().unwrap().to_string();
    assert_eq!(ring.case(&b)["campaign"], first.as_str());
    assert!(ring.case(&c)["campaign"].is_null());
    assert_eq!(ring.case(&first)["kind"], "campaign");
    let events = ring
        .app
        .get_api(&ring.key, &format!("/api/v1/cases/{a}/events"))
        .1;
    let joined = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "campaign.joined")
        .unwrap()
        .clone();
    assert_eq!(joined["data"]["how"], "supervisor", "{joined}");
    assert_eq!(joined["data"]["reason"], "same IP, same hour");

    // A case already in a campaign is refused by reference when made into another.
    let d = transfer("m-4", "M-4");
    let res = sup.submit(
        "/queues",
        "/campaigns",
        &[
            ("cases", &format!("{a} {c} {d}")),
            ("queue", "Triage"),
            ("reason", "second ring"),
        ],
    );
    assert_eq!(res.status(), 200);
    let page = res.text().unwrap();
    assert!(
        page.contains(&format!("{a} — It belongs to a campaign already.")),
        "{page}"
    );
    let second = ring.case(&c)["campaign"].as_str().unwrap().to_string();
    assert_ne!(first, second);

    // Merging the second into the first moves its children and closes it.
    let res = sup.submit(
        &format!("/cases/{second}"),
        &format!("/cases/{second}/merge"),
        &[("into", &first), ("reason", "one ring")],
    );
    assert_eq!(res.status(), 303);
    for child in [&a, &b, &c, &d] {
        assert_eq!(ring.case(child)["campaign"], first.as_str(), "{child}");
    }
    let closed = ring.case(&second);
    assert_eq!(closed["status"], "resolved");
    assert_eq!(closed["disposition"], "duplicate");
    assert_eq!(ring.case(&first)["children"].as_array().unwrap().len(), 4);
    // Merging into a closed or unknown campaign is refused, nothing changed.
    let res = sup.submit(
        &format!("/cases/{first}"),
        &format!("/cases/{first}/merge"),
        &[("into", &second), ("reason", "back")],
    );
    assert_eq!(res.status(), 303);
    assert_eq!(ring.case(&first)["status"], "new");
    assert_eq!(ring.case(&first)["children"].as_array().unwrap().len(), 4);

    // Agents may not make or merge campaigns.
    let (agent, _) = ring.app.agent("a@bank.example", &["Triage"], &[], 5);
    let csrf = agent.csrf_from("/profile");
    let res = agent.post_raw(
        "/campaigns",
        &[
            ("cases", &format!("{c} {d}")),
            ("queue", "Triage"),
            ("reason", "x"),
            ("csrf_token", &csrf),
        ],
    );
    assert_eq!(res.status(), 403);
}

#[test]
fn a_campaigns_children_are_closed_at_once_each_with_its_event_and_refusals_named() {
    let ring = Ring::new();
    let refs: Vec<String> = (1..=4)
        .map(|i| {
            ring.post(signup(
                &format!("b-{i}"),
                &format!("B-{i}"),
                "dev-bulk",
                &format!("192.0.2.{i}"),
            ))
        })
        .collect();
    let campaign = ring.case(&refs[0])["campaign"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        ring.case(&campaign)["children"].as_array().unwrap().len(),
        4
    );
    let outsider = {
        let mut a = signup("x-1", "X-1", "dev-other", "203.0.113.50");
        a["rule"] = json!("LARGE_TRANSFER");
        ring.post(a)
    };
    let sup = ring.app.signed_in("supervisor");
    // The page offers each open child to tick.
    let page = sup.get(&format!("/cases/{campaign}")).text().unwrap();
    assert!(
        page.contains(&format!("name=\"refs\" value=\"{}\"", refs[0])),
        "{page}"
    );
    // Close three children and name a case of no campaign: it is refused, untouched.
    let csrf = sup.csrf_from(&format!("/cases/{campaign}"));
    let res = sup.post_raw(
        &format!("/cases/{campaign}/bulk"),
        &[
            ("refs", &refs[0]),
            ("refs", &refs[1]),
            ("refs", &refs[2]),
            ("refs", &outsider),
            ("disposition", "confirmed_fraud"),
            ("action", "frozen"),
            ("note", "One ring on one device: frozen together"),
            ("csrf_token", &csrf),
        ],
    );
    assert_eq!(res.status(), 200);
    let page = res.text().unwrap();
    assert!(
        page.contains("It is not a case of this campaign."),
        "{page}"
    );
    for r in &refs[..3] {
        let c = ring.case(r);
        assert_eq!(c["status"], "resolved", "{r}");
        assert_eq!(c["disposition"], "confirmed_fraud");
        assert!(ring.kinds(r).contains(&"case.resolved".to_string()));
    }
    assert_eq!(
        ring.case(&refs[3])["status"],
        "new",
        "not chosen, not closed"
    );
    assert_eq!(ring.case(&outsider)["status"], "new");
    // Closed ones cannot be closed again: refused by reference.
    let res = sup.post_raw(
        &format!("/cases/{campaign}/bulk"),
        &[
            ("refs", &refs[0]),
            ("refs", &refs[3]),
            ("disposition", "duplicate"),
            ("action", "no_action"),
            ("note", "Same ring"),
            ("csrf_token", &csrf),
        ],
    );
    let page = res.text().unwrap();
    assert!(page.contains(&refs[0]) && page.contains(&refs[3]), "{page}");
    assert_eq!(ring.case(&refs[3])["disposition"], "duplicate");
    assert_eq!(
        ring.case(&refs[0])["disposition"],
        "confirmed_fraud",
        "unchanged"
    );
    // One audit entry per bulk action.
    assert!(
        ring.app
            .audit_kinds()
            .iter()
            .filter(|k| *k == "cases.bulk")
            .count()
            >= 2
    );
}

#[test]
fn supervisors_add_cases_of_a_queue_list_to_a_campaign() {
    let ring = Ring::new();
    let refs: Vec<String> = (1..=3)
        .map(|i| {
            ring.post(signup(
                &format!("q-{i}"),
                &format!("Q-{i}"),
                "dev-q",
                &format!("192.0.2.{i}"),
            ))
        })
        .collect();
    let campaign = ring.case(&refs[0])["campaign"]
        .as_str()
        .unwrap()
        .to_string();
    let mut a = signup("y-1", "Y-1", "dev-y", "203.0.113.60");
    a["rule"] = json!("LARGE_TRANSFER");
    let loose = ring.post(a);
    let sup = ring.app.signed_in("supervisor");
    let csrf = sup.csrf_from("/queues");
    let res = sup.post_raw(
        "/queues/bulk",
        &[
            ("op", "add_to_campaign"),
            ("campaign", &campaign.to_lowercase()),
            ("refs", &loose),
            ("refs", &refs[1]),
            ("reason", "Same mule account"),
            ("csrf_token", &csrf),
        ],
    );
    assert_eq!(res.status(), 200);
    let page = res.text().unwrap();
    assert!(page.contains("It belongs to a campaign already."), "{page}");
    assert_eq!(ring.case(&loose)["campaign"], campaign.as_str());
    assert_eq!(
        ring.case(&campaign)["children"].as_array().unwrap().len(),
        4
    );
    // An unknown campaign refuses the whole action.
    let res = sup.post_raw(
        "/queues/bulk",
        &[
            ("op", "add_to_campaign"),
            ("campaign", "RC-999999"),
            ("refs", &loose),
            ("reason", "x"),
            ("csrf_token", &csrf),
        ],
    );
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .unwrap()
            .contains("No open campaign has that reference.")
    );
}
