// Pages that read at a glance, in a real browser (headless Chromium): the case page of
// a customer sharing an address with 300 others stays within two screens before its
// timeline, the board draws its chart, axe-core finds no serious or critical problem
// on the main pages, and screenshots of the case page, the board and a report are kept
// in both languages at 1440 and 390 pixels wide (under target/tmp/browser/glance/).

use serde_json::{Value, json};

use crate::campaigns::{Ring, signup};
use crate::chromium::Chromium;

/// How many other customers share the subject's address.
pub const SHARING: usize = 300;

/// A desk where customer C-SUBJECT shares an IP with [`SHARING`] others and a device
/// with three; returns the desk and the subject's case.
pub fn crowded_desk() -> (Ring, String) {
    let ring = Ring::new();
    let crowd: Vec<Value> = (0..SHARING)
        .map(|i| {
            let device = if i < 3 {
                "dev-subject".to_string()
            } else {
                format!("dev-crowd-{i}")
            };
            let mut a = signup(
                &format!("crowd-{i}"),
                &format!("CROWD-{i}"),
                &device,
                "203.0.113.7",
            );
            // A rule no campaign rule counts: linked, not a campaign.
            a["rule"] = json!("LARGE_TRANSFER");
            a
        })
        .collect();
    let (s, r) = ring.app.post_api(
        &ring.key,
        "/api/v1/alerts/batch",
        &json!({ "alerts": crowd }),
    );
    assert_eq!(s, 200, "{r}");
    // An earlier case of the subject in another queue, then the case under review.
    let mut earlier = signup("subject-0", "C-SUBJECT", "dev-subject", "203.0.113.7");
    earlier["customer"]["phone"] = json!("+8613800138000");
    ring.post(earlier);
    let mut a = signup("subject-1", "C-SUBJECT", "dev-subject", "203.0.113.7");
    a["rule"] = json!("LARGE_TRANSFER");
    a["amount"] = json!({"value": "125000.00", "currency": "CNY"});
    a["transaction_ref"] = json!("TX-20261124-88812");
    a["customer"]["phone"] = json!("+8613800138000");
    let reference = ring.post(a);
    (ring, reference)
}

/// The part of `html` from `start` to the end of its section.
fn section<'a>(html: &'a str, start: &str) -> &'a str {
    let from = &html[html.find(start).unwrap_or_else(|| panic!("no {start}"))..];
    &from[..from.find("</section>").unwrap()]
}

/// Every `href="…"` in `html` that starts with `prefix`.
fn hrefs(html: &str, prefix: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|h| h.starts_with(prefix))
        .map(|h| h.replace("&#38;", "&").replace("&amp;", "&"))
        .collect()
}

#[test]
fn a_customer_sharing_an_address_with_300_shows_counts_a_few_cases_and_a_link_to_the_rest() {
    let (ring, reference) = crowded_desk();
    let sup = ring.app.signed_in("supervisor");
    let res = sup.get(&format!("/cases/{reference}"));
    assert_eq!(res.status(), 200);
    let html = res.text().unwrap();
    // Two columns: the case, then the next actions; the timeline after both.
    let main = html.find("class=\"case-main\"").unwrap();
    let actions = html.find("class=\"case-actions\"").unwrap();
    let timeline = html.find("id=\"timeline\"").unwrap();
    assert!(main < actions && actions < timeline);
    for form in ["/calls\"", "/resolve\"", "/verify-email\""] {
        let at = html.find(form).unwrap_or_else(|| panic!("no {form}"));
        assert!(
            actions < at && at < timeline,
            "{form} among the next actions"
        );
    }

    // One line per identifier shared, the most shared first, with its count.
    let linked = section(&html, "id=\"linked\"");
    assert_eq!(
        linked.matches("class=\"linked-group\"").count(),
        2,
        "{linked}"
    );
    let ip = linked.find("IP 203.0.113.*").expect("the address, masked");
    let device = linked.find("Device id").unwrap();
    assert!(ip < device);
    assert!(linked.contains(&format!("{SHARING} other customers")));
    assert!(linked.contains("3 other customers"));
    assert!(!linked.contains("203.0.113.7") && !linked.contains("dev-subject"));
    // A few cases each, whatever the count.
    let links = hrefs(linked, "/cases/RC-");
    let (rest, cases): (Vec<&String>, Vec<&String>) =
        links.iter().partition(|h| h.contains("/linked?"));
    assert!(cases.len() <= 6, "{linked}");
    assert_eq!(rest.len(), 2);

    // The rest: every one of the 300, fifty a page, the newest first.
    let mut next = Some(rest[0].clone());
    let mut seen = std::collections::HashSet::new();
    let mut pages = 0;
    while let Some(path) = next {
        let res = sup.get(&path);
        assert_eq!(res.status(), 200, "{path}");
        let page = res.text().unwrap();
        let list = section(&page, "id=\"linked-all\"");
        if pages == 0 {
            assert!(
                list.contains(&format!("{SHARING} other customers share")),
                "{list}"
            );
        }
        let on_page: Vec<&str> = list
            .split("<code>CROWD-")
            .skip(1)
            .map(|r| r.split('<').next().unwrap())
            .collect();
        assert!(
            !on_page.is_empty() && on_page.len() <= 50,
            "{}",
            on_page.len()
        );
        for c in on_page {
            assert!(seen.insert(c.to_string()), "CROWD-{c} twice");
        }
        next = hrefs(list, &format!("/cases/{reference}/linked?"))
            .into_iter()
            .find(|h| h.contains("before="));
        pages += 1;
        assert!(pages <= 7);
    }
    assert_eq!(seen.len(), SHARING);
    assert_eq!(pages, SHARING / 50);
    // A digest this customer does not hold names nothing.
    let forged = format!("/cases/{reference}/linked?shared={}", "0".repeat(64));
    assert_eq!(sup.get(&forged).status(), 404);
    // An agent of another queue can open neither the case nor its links.
    let (stranger, _) = ring.app.agent("s@bank.example", &["New accounts"], &[], 5);
    assert_eq!(stranger.get(rest[0]).status(), 404);
}

#[test]
fn the_timeline_filter_shows_only_its_kind_without_javascript() {
    let (ring, reference) = crowded_desk();
    let sup = ring.app.signed_in("supervisor");
    let path = format!("/cases/{reference}");
    let res = sup.submit(
        &path,
        &format!("{path}/calls"),
        &[
            ("number", "phone"),
            ("direction", "outbound"),
            ("outcome", "no_answer"),
            ("duration", "20"),
            ("notes", "Rang once."),
        ],
    );
    assert_eq!(res.status(), 303);
    let kinds = |filter: &str| -> Vec<String> {
        let res = sup.get(&format!("{path}?timeline={filter}"));
        assert_eq!(res.status(), 200);
        let html = res.text().unwrap();
        let timeline = section(&html, "id=\"timeline\"").to_string();
        let current = timeline.split("aria-current=\"true\"").count();
        assert_eq!(current, 2, "one filter is current");
        timeline
            .split("data-kind=\"")
            .skip(1)
            .map(|r| r.split('"').next().unwrap().to_string())
            .collect()
    };
    let all = kinds("all");
    let contacts = kinds("contacts");
    let assignment = kinds("assignment");
    let sla = kinds("sla");
    assert_eq!(contacts, vec!["call.logged".to_string()]);
    assert!(!assignment.is_empty());
    assert!(assignment.iter().all(|k| k.starts_with("assignment.")
        || k.starts_with("routing.")
        || k == "case.started"
        || k == "case.handed_off"));
    assert!(
        !sla.is_empty() && sla.iter().all(|k| k.starts_with("sla.")),
        "{sla:?}"
    );
    assert!(all.len() >= contacts.len() + assignment.len() + sla.len());
    assert!(all.contains(&"case.opened".to_string()));
    // Anything else is the whole timeline.
    assert_eq!(kinds("everything").len(), all.len());
}

fn sign_in(b: &mut Chromium, base: &str, email: &str, password: &str) {
    b.goto(&format!("{base}/login"));
    b.fill("input[name=email]", email);
    b.fill("input[name=password]", password);
    b.click_and_wait("form[action='/login'] button[type=submit]");
}

fn set_language(b: &mut Chromium, base: &str, lang: &str) {
    b.goto(&format!("{base}/profile"));
    b.fill("form[action='/profile'] select[name=language]", lang);
    b.click_and_wait("form[action='/profile'] button[type=submit]");
}

fn assert_accessible(b: &mut Chromium, what: &str) {
    let found = b.axe();
    assert!(
        found.is_empty(),
        "axe-core on {what}:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_main_pages_read_at_a_glance_and_pass_axe_in_both_languages() {
    let (ring, reference) = crowded_desk();
    let app = &ring.app;
    riskdesk::jobs::refresh_report_facts(&app.state, "glance").unwrap();
    let sup = app.create_user("olga@bank.example", "supervisor");
    let admin = app.create_user("root@bank.example", "admin");
    let base = app.base.clone();
    let mut b = Chromium::launch("glance");
    b.screen(1440, 900, false);

    b.goto(&format!("{base}/login"));
    assert_accessible(&mut b, "/login");
    sign_in(&mut b, &base, "olga@bank.example", &sup);

    // The case page: two screens at most before the timeline.
    b.goto(&format!("{base}/cases/{reference}"));
    let (height, timeline) = b.heights("#timeline");
    println!(
        "case page of a customer sharing an IP with {SHARING}: {height} px tall, timeline at {timeline} px (1440 × 900)"
    );
    b.screenshot("case-crowded-1440");
    assert!(
        timeline > 0.0 && timeline <= 2.0 * 900.0,
        "timeline at {timeline}"
    );
    // The actions panel stays in view as the page scrolls.
    let stays = b.eval(
        "(() => { window.scrollTo(0, 400); const r = document.querySelector('.case-actions') \
         .getBoundingClientRect(); window.scrollTo(0, 0); return r.top >= 0 && r.top < 100; })()",
    );
    assert_eq!(stays, json!(true), "the actions panel stays in view");
    assert_accessible(&mut b, "the case page");

    // The board draws today by hour and the backlog against capacity.
    b.goto(&format!("{base}/board"));
    let series = b.eval(
        "[...document.querySelectorAll('svg.board-chart [data-series]')].map(e => e.dataset.series)",
    );
    for s in ["arrived", "resolved", "breached", "backlog", "capacity"] {
        assert!(
            series.as_array().unwrap().contains(&Value::from(s)),
            "{s} in {series}"
        );
    }
    assert_accessible(&mut b, "the board");
    for path in ["/queues", "/reports", "/oncall"] {
        b.goto(&format!("{base}{path}"));
        assert_accessible(&mut b, path);
    }

    // Every action of the case page is reached from the keyboard, focus visible.
    b.goto(&format!("{base}/cases/{reference}"));
    let reached = b.eval(
        "(() => { const want = ['#resolve button[type=submit]', 'form.call-form button[type=submit]']; \
         return want.map(s => { const e = document.querySelector(s); return !!e && e.tabIndex >= 0; }); })()",
    );
    assert_eq!(reached, json!([true, true]));

    // Screenshots in both languages and both widths.
    for lang in ["en", "zh-CN"] {
        set_language(&mut b, &base, lang);
        for (width, height, mobile) in [(1440, 900, false), (390, 844, true)] {
            b.screen(width, height, mobile);
            for (path, name) in [
                (format!("/cases/{reference}"), "case"),
                ("/board".to_string(), "board"),
                ("/reports".to_string(), "report"),
            ] {
                b.goto(&format!("{base}{path}"));
                b.screenshot(&format!("{name}-{lang}-{width}"));
                if mobile && name == "case" {
                    let (_, timeline) = b.heights("#timeline");
                    println!("{lang} case page at {width}: timeline at {timeline} px");
                }
            }
        }
        b.screen(1440, 900, false);
    }

    // The admin's desk configuration.
    b.click_and_wait("form[action='/logout'] button[type=submit]");
    sign_in(&mut b, &base, "root@bank.example", &admin);
    b.goto(&format!("{base}/admin/desk"));
    assert_accessible(&mut b, "/admin/desk");
}
