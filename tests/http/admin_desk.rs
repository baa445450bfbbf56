// The admin pages of the desk's configuration: calendars (with the deadline preview),
// SLA policies, queues, rules, routes, campaign rules and the triage queue, checked
// via config export.

use riskdesk::accounts::Actor;
use riskdesk::domain::deskconfig::DeskConfig;

use crate::common::{Browser, TestApp, location};

/// The targets of a policy, as the file writes them.
pub const TARGETS: &str = r#"[sla_policies.targets]
critical = { first_response = 15, resolution = 120 }
high = { first_response = 30, resolution = 240 }
medium = { first_response = 120, resolution = 1440 }
low = { first_response = 480, resolution = 4320 }
"#;

/// A small desk: two queues, three rules, three routes.
fn sample_desk() -> String {
    format!(
        r#"triage_queue = "Triage"

[[calendars]]
name = "cn-business"
timezone = "Asia/Shanghai"
[calendars.hours]
mon = [["09:00", "21:00"]]
tue = [["09:00", "21:00"]]

[[sla_policies]]
name = "default"
calendar = "24/7"
{TARGETS}
[[sla_policies]]
name = "business"
calendar = "cn-business"
{TARGETS}
[[queues]]
name = "Triage"
sla_policy = "default"

[[queues]]
name = "Transfers"
sla_policy = "default"

[[rules]]
code = "LARGE_TRANSFER"
name = "Large transfer"
category = "fraud"
default_severity = "high"

[[rules]]
code = "NEW_ACCOUNT_BURST"
name = "Burst of new accounts"
category = "fraud"
default_severity = "medium"

[[rules]]
code = "AML_WATCHLIST"
name = "AML watch-list hit"
category = "aml"
default_severity = "critical"

[[routes]]
rule = "LARGE_TRANSFER"
queue = "Transfers"

[[routes]]
rule = "NEW_ACCOUNT_BURST"
queue = "Transfers"

[[routes]]
rule = "AML_WATCHLIST"
queue = "Triage"
"#
    )
}

/// Makes the desk's configuration `text`, as `riskdesk config apply` does.
pub fn apply_config(app: &TestApp, text: &str) {
    riskdesk::desk::apply_text(&mut app.conn(), app.clock.now(), &Actor::cli(), text, false)
        .unwrap_or_else(|e| panic!("{e}: {e:?}"));
}

/// The configuration as `riskdesk config export` prints it.
fn export(app: &TestApp) -> String {
    riskdesk::desk::export(&mut app.conn()).unwrap()
}

fn config(app: &TestApp) -> DeskConfig {
    DeskConfig::parse(&export(app)).unwrap()
}

fn route_rules(app: &TestApp) -> Vec<Option<String>> {
    config(app).routes.into_iter().map(|r| r.rule).collect()
}

/// An admin who reads times in `timezone`.
fn admin_in(app: &TestApp, timezone: &str) -> Browser {
    let admin = app.signed_in("admin");
    let res = admin.submit(
        "/profile",
        "/profile",
        &[("language", "en"), ("timezone", timezone)],
    );
    assert_eq!(res.status(), 303);
    admin
}

const WORKDAYS: [(&str, &str); 5] = [
    ("hours_mon", "09:00-12:00, 13:00-18:00"),
    ("hours_tue", "09:00-12:00, 13:00-18:00"),
    ("hours_wed", "09:00-12:00, 13:00-18:00"),
    ("hours_thu", "09:00-12:00, 13:00-18:00"),
    ("hours_fri", "09:00-12:00, 13:00-18:00"),
];

fn calendar_fields<'a>(
    name: &'a str,
    timezone: &'a str,
    changes: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut fields = vec![("name", name), ("timezone", timezone)];
    fields.extend(WORKDAYS);
    fields.push(("holidays", "2026-10-01\n2026-10-02"));
    for (k, v) in changes {
        fields.retain(|(f, _)| f != k);
        fields.push((k, v));
    }
    fields
}

fn policy_fields<'a>(name: &'a str, calendar: &'a str, warn: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("name", name),
        ("calendar", calendar),
        ("warn_at_percent", warn),
        ("max_pause_minutes", "1440"),
        ("critical_first_response", "15"),
        ("critical_resolution", "120"),
        ("high_first_response", "30"),
        ("high_resolution", "240"),
        ("medium_first_response", "120"),
        ("medium_resolution", "1440"),
        ("low_first_response", "480"),
        ("low_resolution", "4320"),
    ]
}

#[test]
fn calendars_are_created_listed_edited_and_previewed() {
    let app = TestApp::spawn();
    let admin = admin_in(&app, "America/New_York");
    let res = admin.submit(
        "/admin/calendars",
        "/admin/calendars",
        &calendar_fields("cn-business", "Asia/Shanghai", &[]),
    );
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/admin/calendars");
    let list = admin.get("/admin/calendars").text().unwrap();
    assert!(list.contains("The calendar is created."), "{list}");
    assert!(list.contains("href=\"/admin/calendars/cn-business\""));
    assert!(list.contains("Asia/Shanghai") && list.contains("09:00-12:00, 13:00-18:00"));
    let text = export(&app);
    assert!(text.contains("name = \"cn-business\""), "{text}");
    assert!(text.contains(r#"tue = [["09:00", "12:00"], ["13:00", "18:00"]]"#));
    assert!(text.contains(r#"holidays = ["2026-10-01", "2026-10-02"]"#));

    // Tuesdays stay open until 21:00.
    let page = "/admin/calendars/cn-business";
    let edit = admin.get(page).text().unwrap();
    assert!(edit.contains("value=\"09:00-12:00, 13:00-18:00\""));
    let res = admin.submit(
        page,
        page,
        &calendar_fields(
            "cn-business",
            "Asia/Shanghai",
            &[("hours_tue", "9:00-12:00, 13:00-21:00")],
        ),
    );
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), page);
    assert!(
        admin
            .get(page)
            .text()
            .unwrap()
            .contains("The calendar is saved.")
    );
    assert!(export(&app).contains(r#"tue = [["09:00", "12:00"], ["13:00", "21:00"]]"#));

    // Opened Tuesday 11:00 in Shanghai with 240 business minutes: one hour before
    // lunch, three after, due 16:00 there — 03:00 in the admin's New York.
    let html = admin
        .get(&format!(
            "{page}?preview_minutes=240&preview_start=2026-11-24T11:00:00%2B08:00"
        ))
        .text()
        .unwrap();
    assert!(
        html.contains(
            "A case opened at 2026-11-23 22:00 with a target of 240 business minutes would be \
             due at 2026-11-24 03:00 (your time zone, America/New_York)."
        ),
        "{html}"
    );
    assert!(html.contains(
        "In the calendar&#39;s time zone (Asia/Shanghai): opened 2026-11-24 11:00, due 2026-11-24 16:00."
    ));
    // The start is shown again as the admin's local time.
    assert!(html.contains("name=\"preview_start\" value=\"2026-11-23T22:00\""));
    // The same start typed as the admin's local time; the evening runs into Wednesday.
    let html = admin
        .get(&format!(
            "{page}?preview_minutes=120&preview_start=2026-11-24T07:00"
        ))
        .text()
        .unwrap();
    assert!(
        html.contains("opened 2026-11-24 20:00, due 2026-11-25 10:00."),
        "{html}"
    );
    assert!(html.contains("value=\"2026-11-24T07:00\""));
    // Without a start the case opens now (09:00 Tuesday in Shanghai).
    let html = admin.get(page).text().unwrap();
    assert!(
        html.contains("opened 2026-11-24 09:00, due 2026-11-24 14:00."),
        "{html}"
    );
    assert!(html.contains("name=\"preview_start\" value=\"\""));
    let html = admin
        .get(&format!("{page}?preview_minutes=lots"))
        .text()
        .unwrap();
    assert!(html.contains("The target must be a whole number of minutes"));

    assert!(app.audit_kinds().contains(&"config.applied".to_string()));
    let audit = admin.get("/admin/audit").text().unwrap();
    assert!(audit.contains("Configuration applied") && audit.contains("calendar cn-business"));
}

#[test]
fn a_bad_calendar_is_refused_with_its_problems_and_changes_nothing() {
    let app = TestApp::spawn();
    apply_config(&app, &sample_desk());
    let admin = app.signed_in("admin");
    let before = export(&app);
    let applied = app.audit_kinds().len();

    let res = admin.submit(
        "/admin/calendars",
        "/admin/calendars",
        &calendar_fields(
            "mars",
            "Mars/Base",
            &[
                ("hours_mon", "09:00-12:00, 11:00-13:00"),
                ("hours_tue", "all day"),
            ],
        ),
    );
    assert_eq!(res.status(), 422);
    let html = res.text().unwrap();
    assert!(html.contains("The configuration was not saved:"), "{html}");
    assert!(html.contains("Mars/Base&#39; is not an IANA time zone"));
    assert!(html.contains("<code>calendars[1].hours.mon[1]</code>"));
    assert!(html.contains("overlaps"));
    assert!(html.contains("“all day” is not an interval such as 09:00-12:00"));
    // What was typed is kept.
    assert!(html.contains("value=\"mars\"") && html.contains("value=\"Mars/Base\""));
    assert!(html.contains("value=\"09:00-12:00, 11:00-13:00\""));

    // The same on the edit page of a calendar that exists.
    let page = "/admin/calendars/cn-business";
    let res = admin.submit(
        page,
        page,
        &calendar_fields(
            "cn-business",
            "Asia/Shanghai",
            &[("hours_mon", "09:00-12:00, 11:00-13:00")],
        ),
    );
    assert_eq!(res.status(), 422);
    let html = res.text().unwrap();
    assert!(html.contains("overlaps") && html.contains("value=\"09:00-12:00, 11:00-13:00\""));

    // A second calendar of the same name, and deleting one a policy uses.
    let res = admin.submit(
        "/admin/calendars",
        "/admin/calendars",
        &calendar_fields("cn-business", "Asia/Shanghai", &[]),
    );
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .unwrap()
            .contains("calendar &#39;cn-business&#39; is defined twice")
    );
    let res = admin.submit(page, &format!("{page}/delete"), &[]);
    assert_eq!(res.status(), 422);
    let html = res.text().unwrap();
    assert!(
        html.contains("no calendar is named &#39;cn-business&#39;"),
        "{html}"
    );

    assert_eq!(export(&app), before, "nothing changed");
    assert_eq!(app.audit_kinds().len(), applied, "nothing was recorded");
    assert_eq!(admin.get("/admin/calendars/nowhere").status(), 404);
}

#[test]
fn policies_queues_rules_and_routes_are_created_on_their_pages() {
    let app = TestApp::spawn();
    apply_config(&app, &sample_desk());
    let admin = app.signed_in("admin");

    let res = admin.submit(
        "/admin/sla-policies",
        "/admin/sla-policies",
        &policy_fields("fraud-fast", "cn-business", "75, 90"),
    );
    assert_eq!(res.status(), 303);
    let text = export(&app);
    assert!(
        text.contains(
            "name = \"fraud-fast\"\ncalendar = \"cn-business\"\nwarn_at_percent = [75, 90]\nmax_pause_minutes = 1440"
        ),
        "{text}"
    );
    assert!(
        admin
            .get("/admin/sla-policies")
            .text()
            .unwrap()
            .contains("The SLA policy is created.")
    );
    // Falling thresholds and a target that is not a number are refused.
    let mut fields = policy_fields("slow", "24/7", "90, 75");
    fields.push(("high_resolution", "abc"));
    fields.retain(|&(k, v)| k != "high_resolution" || v == "abc");
    let res = admin.submit("/admin/sla-policies", "/admin/sla-policies", &fields);
    assert_eq!(res.status(), 422);
    let html = res.text().unwrap();
    assert!(html.contains("“abc” is not a whole number"), "{html}");
    assert!(html.contains("value=\"90, 75\""));
    let res = admin.submit(
        "/admin/sla-policies",
        "/admin/sla-policies",
        &policy_fields("slow", "24/7", "90, 75"),
    );
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .unwrap()
            .contains("must be in rising order without repeats")
    );
    // An edit: a longer first response for low priority.
    let mut fields = policy_fields("fraud-fast", "cn-business", "50, 75, 90");
    fields.retain(|&(k, _)| k != "low_first_response");
    fields.push(("low_first_response", "600"));
    let res = admin.submit(
        "/admin/sla-policies/fraud-fast",
        "/admin/sla-policies/fraud-fast",
        &fields,
    );
    assert_eq!(res.status(), 303);
    let p = config(&app)
        .sla_policies
        .into_iter()
        .find(|p| p.name == "fraud-fast")
        .unwrap();
    assert_eq!(p.warn_at_percent, vec![50, 75, 90]);
    assert_eq!(
        p.targets[&riskdesk::domain::Severity::Low].first_response,
        600
    );

    // A queue whose name has a space in it.
    let res = admin.submit(
        "/admin/queues",
        "/admin/queues",
        &[
            ("name", "Account security"),
            ("sla_policy", "fraud-fast"),
            ("skills", "ato，fraud"),
        ],
    );
    assert_eq!(res.status(), 303);
    let list = admin.get("/admin/queues").text().unwrap();
    assert!(
        list.contains("href=\"/admin/queues/Account%20security\""),
        "{list}"
    );
    let page = "/admin/queues/Account%20security";
    assert_eq!(admin.get(page).status(), 200);
    let res = admin.submit(
        page,
        page,
        &[("sla_policy", "fraud-fast"), ("skills", "ato, fraud, kyc")],
    );
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), page);
    let text = export(&app);
    assert!(
        text.contains(
            "name = \"Account security\"\nsla_policy = \"fraud-fast\"\nskills = [\"ato\", \"fraud\", \"kyc\"]"
        ),
        "{text}"
    );
    // A queue naming a policy that does not exist.
    let res = admin.submit(
        "/admin/queues",
        "/admin/queues",
        &[("name", "Ghost"), ("sla_policy", "nope")],
    );
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .unwrap()
            .contains("no SLA policy is named &#39;nope&#39;")
    );

    // A rule, then a bad code.
    let res = admin.submit(
        "/admin/rules",
        "/admin/rules",
        &[
            ("code", "ACCOUNT_TAKEOVER"),
            ("name", "Suspected account takeover"),
            ("category", "ato"),
            ("default_severity", "high"),
            ("weight", "2"),
        ],
    );
    assert_eq!(res.status(), 303);
    assert!(export(&app).contains(
        "code = \"ACCOUNT_TAKEOVER\"\nname = \"Suspected account takeover\"\ncategory = \"ato\"\ndefault_severity = \"high\"\nweight = 2"
    ));
    let res = admin.submit(
        "/admin/rules",
        "/admin/rules",
        &[
            ("code", "BAD CODE"),
            ("category", "ato"),
            ("default_severity", "low"),
            ("weight", "200"),
        ],
    );
    assert_eq!(res.status(), 422);
    let html = res.text().unwrap();
    assert!(html.contains("may hold only letters, digits"), "{html}");
    assert!(html.contains("200 is out of range 1..=100"));
    let res = admin.submit(
        "/admin/rules/ACCOUNT_TAKEOVER",
        "/admin/rules/ACCOUNT_TAKEOVER",
        &[
            ("name", "Account takeover"),
            ("category", "ato"),
            ("default_severity", "critical"),
            ("weight", "3"),
        ],
    );
    assert_eq!(res.status(), 303);
    let rule = config(&app)
        .rules
        .into_iter()
        .find(|r| r.code == "ACCOUNT_TAKEOVER")
        .unwrap();
    assert_eq!((rule.name.as_str(), rule.weight), ("Account takeover", 3));

    // A route for it, added at the end.
    let res = admin.submit(
        "/admin/routes",
        "/admin/routes",
        &[
            ("rule", "ACCOUNT_TAKEOVER"),
            ("category", ""),
            ("min_severity", ""),
            ("min_amount", ""),
            ("currency", ""),
            ("queue", "Account security"),
            ("priority", "critical"),
            ("valid_from", ""),
            ("valid_until", ""),
        ],
    );
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/admin/routes");
    assert!(export(&app).ends_with(
        "[[routes]]\nrule = \"ACCOUNT_TAKEOVER\"\nqueue = \"Account security\"\npriority = \"critical\"\n"
    ));
    let list = admin.get("/admin/routes").text().unwrap();
    assert!(list.contains("The route is added at the end of the list."));
    assert!(list.contains("<code>ACCOUNT_TAKEOVER</code> (Account takeover)"));
}

#[test]
fn routes_are_reordered_edited_and_deleted() {
    let app = TestApp::spawn();
    apply_config(&app, &sample_desk());
    let admin = app.signed_in("admin");
    let rules = |app: &TestApp| -> Vec<String> {
        route_rules(app)
            .into_iter()
            .map(|r| r.unwrap_or_default())
            .collect()
    };
    assert_eq!(
        rules(&app),
        ["LARGE_TRANSFER", "NEW_ACCOUNT_BURST", "AML_WATCHLIST"]
    );

    let res = admin.submit(
        "/admin/routes",
        "/admin/routes/3/move",
        &[("direction", "up")],
    );
    assert_eq!(res.status(), 303);
    assert_eq!(
        rules(&app),
        ["LARGE_TRANSFER", "AML_WATCHLIST", "NEW_ACCOUNT_BURST"]
    );
    let res = admin.submit(
        "/admin/routes",
        "/admin/routes/1/move",
        &[("direction", "down")],
    );
    assert_eq!(res.status(), 303);
    assert_eq!(
        rules(&app),
        ["AML_WATCHLIST", "LARGE_TRANSFER", "NEW_ACCOUNT_BURST"]
    );
    // The first cannot go further up.
    let res = admin.submit(
        "/admin/routes",
        "/admin/routes/1/move",
        &[("direction", "up")],
    );
    assert_eq!(res.status(), 303);
    assert!(
        admin
            .get("/admin/routes")
            .text()
            .unwrap()
            .contains("Nothing changed")
    );

    // Route 2 (large transfers) only from 50 000 CNY, at critical priority.
    let page = "/admin/routes/2";
    let form = admin.get(page).text().unwrap();
    assert!(
        form.contains("<option value=\"LARGE_TRANSFER\" selected>"),
        "{form}"
    );
    let fields = [
        ("rule", "LARGE_TRANSFER"),
        ("category", "fraud"),
        ("min_severity", "high"),
        ("min_amount", "50000"),
        ("currency", "CNY"),
        ("queue", "Transfers"),
        ("priority", "critical"),
        ("valid_from", ""),
        ("valid_until", ""),
    ];
    let res = admin.submit(page, page, &fields);
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), page);
    let route = config(&app).routes.remove(1);
    assert_eq!(route.min_amount.unwrap().to_string(), "50000.00");
    assert_eq!(route.currency.as_deref(), Some("CNY"));
    assert_eq!(route.category.as_deref(), Some("fraud"));
    assert_eq!(route.priority, Some(riskdesk::domain::Severity::Critical));
    let list = admin.get("/admin/routes").text().unwrap();
    assert!(list.contains("Amount at least: 50000.00 CNY"), "{list}");

    // Bad values are named and kept; nothing changes.
    let before = export(&app);
    let mut bad = fields;
    bad[3] = ("min_amount", "lots");
    bad[1] = ("category", "gambling");
    let res = admin.submit(page, page, &bad);
    assert_eq!(res.status(), 422);
    let html = res.text().unwrap();
    assert!(
        html.contains("&#39;lots&#39; is not a decimal number"),
        "{html}"
    );
    assert!(html.contains("value=\"lots\""));
    bad[3] = ("min_amount", "1");
    let res = admin.submit(page, page, &bad);
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .unwrap()
            .contains("no rule has the category &#39;gambling&#39;")
    );
    assert_eq!(export(&app), before);

    let res = admin.submit("/admin/routes", "/admin/routes/1/delete", &[]);
    assert_eq!(res.status(), 303);
    assert_eq!(rules(&app), ["LARGE_TRANSFER", "NEW_ACCOUNT_BURST"]);
    assert_eq!(admin.get("/admin/routes/3").status(), 404);
    assert_eq!(admin.get("/admin/routes/0").status(), 404);
    assert_eq!(
        admin
            .submit("/admin/routes", "/admin/routes/7/delete", &[])
            .status(),
        404
    );
}

#[test]
fn a_time_boxed_route_is_read_in_the_admins_time_zone_and_marked() {
    let app = TestApp::spawn();
    apply_config(&app, &sample_desk());
    let admin = admin_in(&app, "Asia/Shanghai");
    let route = |from: &'static str, until: &'static str| {
        [
            ("rule", "LARGE_TRANSFER"),
            ("queue", "Transfers"),
            ("priority", "critical"),
            ("valid_from", from),
            ("valid_until", until),
        ]
    };
    // Singles' Day, midnight to midnight in Shanghai (over by the test clock's now).
    let res = admin.submit(
        "/admin/routes",
        "/admin/routes",
        &route("2026-11-11T00:00", "2026-11-12T00:00"),
    );
    assert_eq!(res.status(), 303);
    let text = export(&app);
    assert!(
        text.contains(
            "valid_from = \"2026-11-10T16:00:00+00:00\"\nvalid_until = \"2026-11-11T16:00:00+00:00\""
        ),
        "{text}"
    );
    // One running now, one still to come (RFC 3339 works too).
    for (from, until) in [
        ("2026-11-20T00:00", "2026-12-01T00:00"),
        ("2026-12-12T00:00:00+08:00", ""),
    ] {
        let res = admin.submit("/admin/routes", "/admin/routes", &route(from, until));
        assert_eq!(res.status(), 303);
    }
    let list = admin.get("/admin/routes").text().unwrap();
    assert_eq!(list.matches("class=\"time-boxed\"").count(), 3, "{list}");
    assert_eq!(list.matches(">Time-boxed<").count(), 3);
    assert!(list.contains(">ended<") && list.contains(">in effect now<"));
    assert!(list.contains(">not yet in effect<"));
    assert!(list.contains("From: 2026-11-11 00:00") && list.contains("Until: 2026-11-12 00:00"));
    // The edit page shows the admin's local time.
    let form = admin.get("/admin/routes/4").text().unwrap();
    assert!(
        form.contains("name=\"valid_from\" value=\"2026-11-11T00:00\""),
        "{form}"
    );

    let before = export(&app);
    let res = admin.submit(
        "/admin/routes",
        "/admin/routes",
        &route("2026-11-12T00:00", "2026-11-11T00:00"),
    );
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .unwrap()
            .contains("<code>routes[6].valid_until</code>: must be later than valid_from")
    );
    let res = admin.submit(
        "/admin/routes",
        "/admin/routes",
        &route("11/11 midnight", ""),
    );
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .unwrap()
            .contains("“11/11 midnight” is not a date and time")
    );
    assert_eq!(export(&app), before);
}

#[test]
fn the_triage_queue_changes_on_the_overview() {
    let app = TestApp::spawn();
    apply_config(&app, &sample_desk());
    let admin = app.signed_in("admin");
    let html = admin.get("/admin/desk").text().unwrap();
    assert!(html.contains("<a href=\"/admin/desk\" aria-current=\"page\">Desk</a>"));
    assert!(html.contains("<option value=\"Triage\" selected>"));
    assert!(html.contains("<pre class=\"export\" tabindex=\"0\">"));
    assert!(html.contains("triage_queue = &#34;Triage&#34;"));
    for href in [
        "/admin/calendars",
        "/admin/sla-policies",
        "/admin/queues",
        "/admin/rules",
        "/admin/routes",
    ] {
        assert!(html.contains(&format!("href=\"{href}\"")), "{href}");
    }

    let res = admin.submit(
        "/admin/desk",
        "/admin/desk/triage",
        &[("triage_queue", "Transfers")],
    );
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/admin/desk");
    assert_eq!(config(&app).triage_queue, "Transfers");
    let html = admin.get("/admin/desk").text().unwrap();
    assert!(html.contains("The triage queue is saved."));
    assert!(html.contains("triage_queue = &#34;Transfers&#34;"));

    let res = admin.submit(
        "/admin/desk",
        "/admin/desk/triage",
        &[("triage_queue", "Nowhere")],
    );
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .unwrap()
            .contains("<code>triage_queue</code>: no queue is named &#39;Nowhere&#39;")
    );
    assert_eq!(config(&app).triage_queue, "Transfers");
}

fn post_alert(app: &TestApp, key: &str, external_id: &str) -> serde_json::Value {
    let res = reqwest::blocking::Client::new()
        .post(app.url("/api/v1/alerts"))
        .bearer_auth(key)
        .json(&serde_json::json!({
            "external_id": external_id,
            "rule": "LARGE_TRANSFER",
            "customer": {"external_id": "C-100234"},
            "amount": {"value": "125000.00", "currency": "CNY"}
        }))
        .send()
        .unwrap();
    assert_eq!(res.status(), 201);
    res.json().unwrap()
}

#[test]
fn a_queue_in_use_cannot_be_deleted() {
    let app = TestApp::spawn();
    apply_config(&app, &sample_desk());
    let admin = app.signed_in("admin");
    let before = export(&app);

    // Routes 1 and 2 send cases to Transfers.
    let page = "/admin/queues/Transfers";
    let res = admin.submit(page, &format!("{page}/delete"), &[]);
    assert_eq!(res.status(), 422);
    let html = res.text().unwrap();
    assert!(html.contains("The configuration was not saved:"));
    assert!(
        html.contains("<code>routes[0].queue</code>: no queue is named &#39;Transfers&#39;"),
        "{html}"
    );
    // The triage queue.
    let res = admin.submit("/admin/queues/Triage", "/admin/queues/Triage/delete", &[]);
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .unwrap()
            .contains("<code>triage_queue</code>: no queue is named &#39;Triage&#39;")
    );
    assert_eq!(export(&app), before);

    // A queue that holds a case, even with no route left to it.
    let (_, key) = riskdesk::accounts::create_api_key(
        &mut app.conn(),
        app.clock.now(),
        &Actor::cli(),
        "engine",
    )
    .unwrap();
    let answer = post_alert(&app, &key, "eng-1");
    assert_eq!(answer["queue"], "Transfers");
    for _ in 0..2 {
        let res = admin.submit("/admin/routes", "/admin/routes/1/delete", &[]);
        assert_eq!(res.status(), 303);
    }
    assert_eq!(route_rules(&app), [Some("AML_WATCHLIST".to_string())]);
    let res = admin.submit(page, &format!("{page}/delete"), &[]);
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .unwrap()
            .contains("queue &#39;Transfers&#39; still holds cases (1) and cannot be removed")
    );
    assert!(config(&app).queues.iter().any(|q| q.name == "Transfers"));

    // An empty, unused queue goes.
    let res = admin.submit(
        "/admin/queues",
        "/admin/queues",
        &[("name", "Spare"), ("sla_policy", "default")],
    );
    assert_eq!(res.status(), 303);
    let res = admin.submit("/admin/queues/Spare", "/admin/queues/Spare/delete", &[]);
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/admin/queues");
    assert!(!config(&app).queues.iter().any(|q| q.name == "Spare"));
}

#[test]
fn the_desk_pages_speak_chinese() {
    let app = TestApp::spawn();
    apply_config(&app, &sample_desk());
    let admin = app.signed_in("admin");
    let res = admin.submit(
        "/profile",
        "/profile",
        &[("language", "zh-CN"), ("timezone", "Asia/Shanghai")],
    );
    assert_eq!(res.status(), 303);
    let html = admin.get("/admin/desk").text().unwrap();
    assert!(
        html.contains(">工作台配置</a>") && html.contains("兜底队列"),
        "{html}"
    );
    let html = admin.get("/admin/routes").text().unwrap();
    assert!(html.contains("第一条匹配的路由生效") && html.contains("上移"));
    let html = admin.get("/admin/calendars/cn-business").text().unwrap();
    assert!(html.contains("星期二") && html.contains("试算截止时间"));
    assert!(html.contains("将于 2026-11-24 13:00 到期"), "{html}");
    let res = admin.submit(
        "/admin/desk",
        "/admin/desk/triage",
        &[("triage_queue", "Nowhere")],
    );
    assert_eq!(res.status(), 422);
    assert!(res.text().unwrap().contains("配置未保存："));
    let res = admin.submit(
        "/admin/routes",
        "/admin/routes/1/move",
        &[("direction", "down")],
    );
    assert_eq!(res.status(), 303);
    assert!(
        admin
            .get("/admin/routes")
            .text()
            .unwrap()
            .contains("路由顺序已调整。")
    );
    // A service level typed in words is named in the reader's language, and the
    // queue is left as it was.
    let page = "/admin/queues/Transfers";
    let res = admin.submit(
        page,
        page,
        &[("sla_policy", "default"), ("service_level", "八十")],
    );
    assert_eq!(res.status(), 422);
    let html = res.text().unwrap();
    assert!(html.contains("queues[1].service_level"), "{html}");
    assert!(html.contains("“八十”不是整数"), "{html}");
    assert_eq!(config(&app).queues[1].service_level, None);
}

#[test]
fn names_are_encoded_in_addresses() {
    let app = TestApp::spawn();
    let odd = "A/B 50% +x";
    apply_config(
        &app,
        &sample_desk().replace("\"Transfers\"", &format!("\"{odd}\"")),
    );
    let admin = app.signed_in("admin");
    let page = "/admin/queues/A%2FB%2050%25%20%2Bx";
    let list = admin.get("/admin/queues").text().unwrap();
    assert!(list.contains(&format!("href=\"{page}\"")), "{list}");
    assert!(admin.get(page).text().unwrap().contains("<h1>A/B 50% +x"));
    let res = admin.submit(page, page, &[("sla_policy", "business"), ("skills", "x")]);
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), page);
    let q = config(&app)
        .queues
        .into_iter()
        .find(|q| q.name == odd)
        .unwrap();
    assert_eq!((q.sla_policy.as_str(), q.skills.len()), ("business", 1));
}

/// The fields of a campaign rule's form; `link_by` and `rules` repeat, one per box
/// checked.
fn campaign_fields<'a>(
    link_by: &[&'a str],
    min_customers: &'a str,
    window_minutes: &'a str,
    rules: &[&'a str],
    queue: &'a str,
) -> Vec<(&'a str, &'a str)> {
    let mut fields: Vec<(&str, &str)> = link_by.iter().map(|k| ("link_by", *k)).collect();
    fields.push(("min_customers", min_customers));
    fields.push(("window_minutes", window_minutes));
    fields.extend(rules.iter().map(|r| ("rules", *r)));
    fields.push(("queue", queue));
    fields
}

/// How many `config.applied` events the audit log holds.
fn applied(app: &TestApp) -> usize {
    app.audit_kinds()
        .iter()
        .filter(|k| *k == "config.applied")
        .count()
}

#[test]
fn campaign_rules_are_created_edited_and_deleted_on_their_page() {
    let app = TestApp::spawn();
    apply_config(&app, &sample_desk());
    let admin = app.signed_in("admin");
    let list = admin.get("/admin/campaigns").text().unwrap();
    assert!(
        list.contains("<a href=\"/admin/campaigns\" aria-current=\"page\">Campaign rules</a>"),
        "{list}"
    );
    assert!(list.contains("No campaign rules yet"));
    assert!(list.contains("name=\"link_by\" value=\"device_id\"> Device id"));
    assert!(
        list.contains("name=\"rules\" value=\"AML_WATCHLIST\"> AML_WATCHLIST — AML watch-list hit")
    );
    assert!(list.contains("<option value=\"Transfers\">Transfers</option>"));
    assert!(
        list.contains("name=\"min_customers\" type=\"number\" min=\"2\" max=\"10000\" value=\"5\"")
    );
    let before = applied(&app);

    let mut fields = vec![("name", "shared-device")];
    fields.extend(campaign_fields(
        &["device_id", "ip", "phone"],
        "5",
        "60",
        &["NEW_ACCOUNT_BURST"],
        "Transfers",
    ));
    let res = admin.submit("/admin/campaigns", "/admin/campaigns", &fields);
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/admin/campaigns");
    let text = export(&app);
    assert!(
        text.ends_with(
            "[[campaigns]]\nname = \"shared-device\"\nlink_by = [\"device_id\", \"ip\", \"phone\"]\nmin_customers = 5\nwindow_minutes = 60\nrules = [\"NEW_ACCOUNT_BURST\"]\nqueue = \"Transfers\"\n"
        ),
        "{text}"
    );
    let list = admin.get("/admin/campaigns").text().unwrap();
    assert!(list.contains("The campaign rule is created."), "{list}");
    assert!(list.contains("href=\"/admin/campaigns/shared-device\""));
    assert!(list.contains("<span class=\"tag muted\">Device id</span> <span class=\"tag muted\">IP</span> <span class=\"tag muted\">Phone</span>"));
    assert!(list.contains("5 customers within 60 minutes"));
    assert!(
        list.contains(
            "<a href=\"/admin/rules/NEW_ACCOUNT_BURST\"><code>NEW_ACCOUNT_BURST</code></a>"
        )
    );
    assert!(list.contains("<a href=\"/admin/queues/Transfers\">Transfers</a>"));
    // The overview counts it and shows it in the file.
    let overview = admin.get("/admin/desk").text().unwrap();
    assert!(
        overview.contains(
            "<a href=\"/admin/campaigns\">Campaign rules</a> <span class=\"muted\">(1)</span>"
        ),
        "{overview}"
    );
    assert!(overview.contains("[[campaigns]]\nname = &#34;shared-device&#34;"));
    // Recorded as any change of the configuration is.
    assert_eq!(applied(&app), before + 1);
    let audit = admin.get("/admin/audit").text().unwrap();
    assert!(audit.contains("Configuration applied") && audit.contains("campaign shared-device"));

    // The edit page holds the rule as stored; phone only, 3 customers in 30 minutes,
    // every rule, into triage.
    let page = "/admin/campaigns/shared-device";
    let form = admin.get(page).text().unwrap();
    assert!(form.contains("<h1>shared-device</h1>"), "{form}");
    assert!(form.contains("name=\"link_by\" value=\"ip\" checked>"));
    assert!(form.contains("name=\"rules\" value=\"NEW_ACCOUNT_BURST\" checked>"));
    assert!(form.contains("name=\"rules\" value=\"LARGE_TRANSFER\">"));
    assert!(form.contains("<option value=\"Transfers\" selected>"));
    let res = admin.submit(
        page,
        page,
        &campaign_fields(&["phone"], "3", "30", &[], "Triage"),
    );
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), page);
    assert!(
        admin
            .get(page)
            .text()
            .unwrap()
            .contains("The campaign rule is saved.")
    );
    let saved = config(&app).campaigns;
    assert_eq!(saved.len(), 1);
    assert_eq!(saved[0].name, "shared-device");
    assert_eq!(saved[0].link_by, ["phone"]);
    assert_eq!((saved[0].min_customers, saved[0].window_minutes), (3, 30));
    assert!(saved[0].rules.is_empty());
    assert_eq!(saved[0].queue, "Triage");
    let list = admin.get("/admin/campaigns").text().unwrap();
    assert!(list.contains("3 customers within 30 minutes") && list.contains("Every rule"));
    assert_eq!(applied(&app), before + 2);

    // No kind, a threshold out of range and a queue that does not exist: each named,
    // what was typed kept, nothing changed or recorded.
    let stored = export(&app);
    let res = admin.submit(
        page,
        page,
        &campaign_fields(&[], "1", "30", &["LARGE_TRANSFER"], "Nowhere"),
    );
    assert_eq!(res.status(), 422);
    let html = res.text().unwrap();
    assert!(html.contains("The configuration was not saved:"), "{html}");
    assert!(html.contains(
        "<code>campaigns[0].link_by</code>: must name at least one of device_id, ip, phone"
    ));
    assert!(html.contains("<code>campaigns[0].min_customers</code>: 1 is out of range 2..=10000"));
    assert!(html.contains("<code>campaigns[0].queue</code>: no queue is named &#39;Nowhere&#39;"));
    assert!(
        html.contains("name=\"min_customers\" type=\"number\" min=\"2\" max=\"10000\" value=\"1\"")
    );
    assert!(html.contains("name=\"rules\" value=\"LARGE_TRANSFER\" checked>"));
    assert!(!html.contains("name=\"link_by\" value=\"phone\" checked>"));
    // The same on the list page's form, with a window too long, a number in words
    // and a name taken already.
    let mut fields = vec![("name", "shared-device")];
    fields.extend(campaign_fields(&["ip"], "5", "50000", &[], "Transfers"));
    let res = admin.submit("/admin/campaigns", "/admin/campaigns", &fields);
    assert_eq!(res.status(), 422);
    let html = res.text().unwrap();
    assert!(
        html.contains("<code>campaigns[1].window_minutes</code>: 50000 is out of range 1..=43200"),
        "{html}"
    );
    assert!(html.contains(
        "<code>campaigns[1].name</code>: campaign &#39;shared-device&#39; is defined twice"
    ));
    assert!(html.contains("value=\"shared-device\"") && html.contains("value=\"50000\""));
    let mut fields = vec![("name", "ring")];
    fields.extend(campaign_fields(&["ip"], "five", "60", &[], "Transfers"));
    let res = admin.submit("/admin/campaigns", "/admin/campaigns", &fields);
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .unwrap()
            .contains("<code>campaigns[1].min_customers</code>: “five” is not a whole number")
    );
    assert_eq!(export(&app), stored, "nothing changed");
    assert_eq!(applied(&app), before + 2, "nothing was recorded");

    // Deleted; then it is gone.
    let res = admin.submit(page, &format!("{page}/delete"), &[]);
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/admin/campaigns");
    assert!(config(&app).campaigns.is_empty());
    assert!(!export(&app).contains("[[campaigns]]"));
    let list = admin.get("/admin/campaigns").text().unwrap();
    assert!(
        list.contains("The campaign rule is deleted.") && list.contains("No campaign rules yet")
    );
    assert_eq!(applied(&app), before + 3);
    assert_eq!(admin.get(page).status(), 404);
    assert_eq!(
        admin
            .submit("/admin/campaigns", &format!("{page}/delete"), &[])
            .status(),
        404
    );

    // In Chinese.
    let res = admin.submit(
        "/profile",
        "/profile",
        &[("language", "zh-CN"), ("timezone", "Asia/Shanghai")],
    );
    assert_eq!(res.status(), 303);
    let html = admin.get("/admin/campaigns").text().unwrap();
    assert!(
        html.contains("<h1>团伙规则</h1>") && html.contains("还没有团伙规则"),
        "{html}"
    );
    assert!(html.contains("> 设备号</label>") && html.contains("创建团伙规则"));
}

#[test]
fn only_admins_reach_the_campaign_pages() {
    let app = TestApp::spawn();
    apply_config(
        &app,
        &format!(
            "{}\n[[campaigns]]\nname = \"shared-device\"\nlink_by = [\"device_id\"]\nmin_customers = 5\nwindow_minutes = 60\nqueue = \"Transfers\"\n",
            sample_desk()
        ),
    );
    let before = export(&app);
    let page = "/admin/campaigns/shared-device";
    let mut create = vec![("name", "ring")];
    create.extend(campaign_fields(&["ip"], "5", "60", &[], "Triage"));
    let update = campaign_fields(&["phone"], "3", "30", &[], "Triage");
    for role in ["agent", "supervisor"] {
        let b = app.signed_in(role);
        assert_eq!(b.get("/admin/campaigns").status(), 403, "{role}");
        assert_eq!(b.get(page).status(), 403, "{role}");
        assert_eq!(
            b.submit("/profile", "/admin/campaigns", &create).status(),
            403
        );
        assert_eq!(b.submit("/profile", page, &update).status(), 403);
        assert_eq!(
            b.submit("/profile", &format!("{page}/delete"), &[])
                .status(),
            403
        );
    }
    assert_eq!(export(&app), before);
    assert_eq!(applied(&app), 1, "only the first apply");
}
