// On-call rotas: `[[oncall]]` in the desk's configuration (every problem listed,
// nothing changed; exported back as written), the rotas' admin pages, the /oncall
// page as the test clock moves, overrides added and removed, and who may do what.

use chrono::{DateTime, Duration, Utc};
use riskdesk::accounts::Actor;
use riskdesk::desk::{self, ConfigError};

use crate::admin_desk::{TARGETS, apply_config};
use crate::common::{Browser, TestApp, location};

/// A desk with one queue paging `fraud-duty`, a weekly Shanghai rota whose first
/// turn began on Monday 23 November 2026 at 09:00 (the test clock starts on the
/// Tuesday at 09:00 Shanghai), and `managers` after it.
fn oncall_desk() -> String {
    format!(
        r#"triage_queue = "Transfers"

[[sla_policies]]
name = "default"
{TARGETS}
[[queues]]
name = "Transfers"
sla_policy = "default"
oncall = "fraud-duty"

[[queues]]
name = "Cards"
sla_policy = "default"

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
    )
}

/// The desk's members as users, and the desk applied.
fn desk_app() -> TestApp {
    let app = TestApp::spawn();
    for (who, role) in [
        ("olga", "agent"),
        ("otto", "agent"),
        ("mia", "supervisor"),
        ("ida", "agent"),
    ] {
        app.create_user(&format!("{who}@bank.example"), role);
    }
    apply_config(&app, &oncall_desk());
    app
}

fn export(app: &TestApp) -> String {
    desk::export(&mut app.conn()).unwrap()
}

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

/// The "on call now" line of the rota `name` on the page.
fn now_line(html: &str, name: &str) -> String {
    let at = html
        .find(&format!("<h2>{name} "))
        .unwrap_or_else(|| panic!("no rota {name} on the page: {html}"));
    let rest = &html[at..];
    let start = rest.find("oncall-now").unwrap();
    let end = rest[start..].find("</p>").unwrap();
    rest[start..start + end].to_string()
}

#[test]
fn config_apply_lists_every_rota_problem_and_changes_nothing() {
    let app = desk_app();
    let before = export(&app);
    let bad = oncall_desk()
        .replace(
            r#"members = ["olga@bank.example", "otto@bank.example"]"#,
            r#"members = ["olga@bank.example", "nobody@bank.example"]"#,
        )
        .replace(r#"members = ["mia@bank.example"]"#, "members = []")
        .replace(
            r#"timezone = "Europe/Berlin""#,
            r#"timezone = "Europe/Atlantis""#,
        )
        .replace("rotation_hours = 24", "rotation_hours = 0")
        .replace(
            r#"handover = "2026-11-01T09:00:00+01:00""#,
            r#"handover = "1 November, 9am""#,
        )
        .replace(
            r#"name = "Cards"
sla_policy = "default""#,
            r#"name = "Cards"
sla_policy = "default"
oncall = "weekend-duty""#,
        )
        + r#"
[[oncall]]
name = "loop-a"
timezone = "UTC"
members = ["ida@bank.example"]
rotation_hours = 12
handover = "2026-11-01T00:00:00Z"
next = "loop-b"

[[oncall]]
name = "loop-b"
timezone = "UTC"
members = ["ida@bank.example"]
rotation_hours = 12
handover = "2026-11-01T00:00:00Z"
next = "loop-a"

[[oncall]]
name = "dangling"
timezone = "UTC"
members = ["ida@bank.example"]
rotation_hours = -1
handover = "2026-11-01T00:00:00Z"
next = "nowhere"
"#;
    let err =
        desk::apply_text(&mut app.conn(), app.clock.now(), &Actor::cli(), &bad, false).unwrap_err();
    let ConfigError::Invalid(problems) = err else {
        panic!("refused as invalid: {err:?}")
    };
    let listed: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    for (field, words) in [
        (
            "oncall[0].members[1]",
            "no user has the e-mail address nobody@bank.example",
        ),
        ("oncall[1].members", "at least one member"),
        ("oncall[1].timezone", "Europe/Atlantis"),
        ("oncall[1].rotation_hours", "not 0"),
        ("oncall[1].handover", "1 November, 9am"),
        ("oncall[2].next", "loop-a → loop-b → loop-a"),
        ("oncall[3].next", "loop-b → loop-a → loop-b"),
        ("oncall[4].rotation_hours", "not -1"),
        ("oncall[4].next", "no on-call rota is named nowhere"),
        ("queues[1].oncall", "no on-call rota is named weekend-duty"),
    ] {
        assert!(
            listed
                .iter()
                .any(|l| l.starts_with(&format!("{field}: ")) && l.contains(words)),
            "{field}: {words} not in {listed:#?}"
        );
    }
    assert_eq!(export(&app), before, "nothing changed");
    assert_eq!(app.count("oncall_rotas"), 2);
}

#[test]
fn rotas_export_as_written_and_reproduce_the_desk() {
    let app = desk_app();
    let exported = export(&app);
    let rota = r#"[[oncall]]
name = "fraud-duty"
timezone = "Asia/Shanghai"
members = ["olga@bank.example", "otto@bank.example"]
rotation_hours = 168
handover = "2026-11-23T09:00:00+08:00"
ack_minutes = 5
next = "managers"
"#;
    assert!(exported.contains(rota), "{exported}");
    assert!(exported.contains("oncall = \"fraud-duty\""), "{exported}");
    assert!(exported.contains("handover = \"2026-11-01T09:00:00+01:00\""));
    // Applying the export again changes nothing; on an empty desk with the same
    // users it reproduces the desk.
    let changes = desk::apply_text(
        &mut app.conn(),
        app.clock.now(),
        &Actor::cli(),
        &exported,
        false,
    )
    .unwrap();
    assert!(changes.is_empty(), "{changes:?}");
    let fresh = TestApp::spawn();
    for who in ["olga", "otto", "mia"] {
        fresh.create_user(&format!("{who}@bank.example"), "agent");
    }
    apply_config(&fresh, &exported);
    assert_eq!(export(&fresh), exported);
}

#[test]
fn the_page_shows_who_is_on_call_now_and_next_as_the_clock_moves() {
    let app = desk_app();
    let agent = app.signed_in("agent");
    let res = agent.get("/oncall");
    assert_eq!(res.status(), 200, "{:?}", res.headers());
    let html = res.text().unwrap();
    let now = now_line(&html, "fraud-duty");
    assert!(now.contains("olga@bank.example"), "{now}");
    assert!(
        now.contains("2026-11-30 09:00"),
        "until the next handover: {now}"
    );
    assert!(html.contains("times in Asia/Shanghai"));
    // The next turns: otto from Monday the 30th, olga again a week later.
    let next = &html[html.find("Next turns").unwrap()..];
    let otto = next.find("otto@bank.example").unwrap();
    assert!(next[otto..].contains("2026-11-30 09:00"));
    assert!(next[otto..].find("olga@bank.example").is_some());
    // The queue that pages it, and the rota after it.
    assert!(html.contains("Transfers"));
    assert!(html.contains("then the rota managers is paged"));
    // Agents read it only.
    assert!(!html.contains("action=\"/oncall/overrides\""));

    // Monday 30 November, 10:00 in Shanghai: otto's week (signed in afresh: the
    // session has long gone idle).
    app.clock.advance(Duration::days(6) + Duration::hours(1));
    let agent = app.signed_in("agent");
    let html = agent.get("/oncall").text().unwrap();
    let now = now_line(&html, "fraud-duty");
    assert!(now.contains("otto@bank.example"), "{now}");
    assert!(now.contains("2026-12-07 09:00"), "{now}");

    // The same answer for the emergencies: by queue, and the next rota by name.
    let snapshot = app.state.desk.get(&mut app.conn()).unwrap();
    let mut conn = app.conn();
    let on =
        riskdesk::oncall::on_call_for_queue(&mut conn, &snapshot, "Transfers", app.clock.now())
            .unwrap()
            .expect("Transfers pages fraud-duty");
    assert_eq!(on.rota, "fraud-duty");
    assert_eq!(on.ack_minutes, 5);
    assert_eq!(on.next.as_deref(), Some("managers"));
    let duty = on.duty.unwrap();
    assert_eq!(duty.person.email, "otto@bank.example");
    assert!(duty.person.user_id.is_some() && !duty.by_override);
    assert_eq!(duty.until, utc("2026-12-07T09:00:00+08:00"));
    let next =
        riskdesk::oncall::on_call_for_rota(&mut conn, &snapshot, "managers", app.clock.now())
            .unwrap()
            .unwrap();
    assert_eq!(next.duty.unwrap().person.email, "mia@bank.example");
    assert_eq!(next.next, None);
    assert!(
        riskdesk::oncall::on_call_for_queue(&mut conn, &snapshot, "Cards", app.clock.now())
            .unwrap()
            .is_none(),
        "Cards names no rota"
    );

    // In Chinese.
    let html = agent.get_lang("/oncall", "zh-CN").text().unwrap();
    assert!(html.contains("当前值班"), "{html}");
}

fn add_override(b: &Browser, fields: &[(&str, &str)]) -> reqwest::blocking::Response {
    b.submit("/oncall", "/oncall/overrides", fields)
}

#[test]
fn supervisors_add_and_remove_overrides_and_bad_ones_change_nothing() {
    let app = desk_app();
    let sup = app.signed_in("supervisor");
    let good = [
        ("rota", "fraud-duty"),
        ("email", "ida@bank.example"),
        ("from", "2026-11-25T09:00"),
        ("to", "2026-11-26T09:00"),
        ("reason", "Olga is at the dentist"),
    ];
    // Refusals, each named, nothing stored.
    for (field, value, words) in [
        ("to", "2026-11-25T08:00", "must be later than the start"),
        (
            "email",
            "nobody@bank.example",
            "no user has the e-mail address",
        ),
        (
            "rota",
            "weekend-duty",
            "no on-call rota is named weekend-duty",
        ),
        ("reason", "  ", "give a reason"),
        ("from", "Wednesday", "is not a date and time"),
    ] {
        let fields: Vec<(&str, &str)> = good
            .iter()
            .map(|(k, v)| if *k == field { (*k, value) } else { (*k, *v) })
            .collect();
        let res = add_override(&sup, &fields);
        assert_eq!(res.status(), 422, "{field}");
        let html = res.text().unwrap();
        assert!(html.contains(words), "{words} not on the page for {field}");
        assert!(html.contains(value.trim()), "the form keeps what was typed");
    }
    assert_eq!(app.count("oncall_overrides"), 0);

    let res = add_override(&sup, &good);
    assert_eq!(location(&res), "/oncall");
    assert_eq!(app.count("oncall_overrides"), 1);
    assert!(
        app.audit_kinds()
            .contains(&"oncall.override_added".to_string())
    );
    let html = sup.get("/oncall").text().unwrap();
    assert!(html.contains("Olga is at the dentist"));
    assert!(html.contains("2026-11-25 09:00"));
    // Still olga now; ida from Wednesday 09:00 Shanghai, then olga again.
    assert!(now_line(&html, "fraud-duty").contains("olga@bank.example"));
    assert!(now_line(&html, "fraud-duty").contains("2026-11-25 09:00"));
    app.clock.advance(Duration::days(1) + Duration::hours(2));
    let sup = app.signed_in("supervisor");
    let html = sup.get("/oncall").text().unwrap();
    let now = now_line(&html, "fraud-duty");
    assert!(
        now.contains("ida@bank.example") && now.contains("override"),
        "{now}"
    );
    assert!(now.contains("2026-11-26 09:00"), "{now}");

    // Removed: olga again, and audited.
    let id: i64 = {
        use diesel::prelude::*;
        use riskdesk::db::schema::oncall_overrides::dsl::*;
        oncall_overrides.select(id).first(&mut *app.conn()).unwrap()
    };
    let res = sup.submit("/oncall", &format!("/oncall/overrides/{id}/delete"), &[]);
    assert_eq!(location(&res), "/oncall");
    assert_eq!(app.count("oncall_overrides"), 0);
    assert!(
        app.audit_kinds()
            .contains(&"oncall.override_removed".to_string())
    );
    let html = sup.get("/oncall").text().unwrap();
    assert!(now_line(&html, "fraud-duty").contains("olga@bank.example"));
    // Twice: there is none any more.
    let res = sup.submit("/oncall", &format!("/oncall/overrides/{id}/delete"), &[]);
    assert_eq!(res.status(), 404);
}

#[test]
fn agents_cannot_add_or_remove_overrides() {
    let app = desk_app();
    let sup = app.signed_in("supervisor");
    let fields = [
        ("rota", "fraud-duty"),
        ("email", "ida@bank.example"),
        ("from", "2026-11-25T09:00"),
        ("to", "2026-11-26T09:00"),
        ("reason", "Swap"),
    ];
    assert_eq!(location(&add_override(&sup, &fields)), "/oncall");
    let agent = app.signed_in("agent");
    assert_eq!(agent.get("/oncall").status(), 200);
    let res = add_override(&agent, &fields);
    assert_eq!(res.status(), 403);
    let res = agent.submit("/oncall", "/oncall/overrides/1/delete", &[]);
    assert_eq!(res.status(), 403);
    assert_eq!(app.count("oncall_overrides"), 1);
    assert_eq!(agent.get("/admin/oncall").status(), 403);
    assert_eq!(sup.get("/admin/oncall").status(), 403);
}

#[test]
fn admins_edit_rotas_on_their_pages() {
    let app = desk_app();
    let admin = app.signed_in("admin");
    let page = admin.get("/admin/oncall").text().unwrap();
    assert!(page.contains("fraud-duty") && page.contains("Transfers"));
    let fields = |name: &'static str, members: &'static str| {
        vec![
            ("name", name),
            ("timezone", "America/New_York"),
            ("members", members),
            ("rotation_hours", "12"),
            ("handover", "2026-11-02T08:00"),
            ("ack_minutes", "3"),
            ("next", "fraud-duty"),
        ]
    };
    // An unknown member is named, in Chinese for a Chinese reader; nothing changes.
    let before = export(&app);
    let token = admin.csrf_from("/admin/oncall");
    let mut bad = fields("night-desk", "ida@bank.example\nghost@bank.example");
    bad.push(("csrf_token", &token));
    let res = admin
        .client
        .post(app.url("/admin/oncall"))
        .header("Accept-Language", "zh-CN")
        .form(&bad)
        .send()
        .unwrap();
    assert_eq!(res.status(), 422);
    let html = res.text().unwrap();
    assert!(html.contains("oncall[2].members[1]"), "{html}");
    assert!(html.contains("没有电子邮件地址为 ghost@bank.example 的用户"));
    assert_eq!(export(&app), before);

    let res = admin.submit(
        "/admin/oncall",
        "/admin/oncall",
        &fields("night-desk", "IDA@bank.example\nolga@bank.example"),
    );
    assert_eq!(location(&res), "/admin/oncall");
    let out = export(&app);
    assert!(
        out.contains(
            "name = \"night-desk\"\ntimezone = \"America/New_York\"\nmembers = [\"ida@bank.example\", \"olga@bank.example\"]\nrotation_hours = 12\nhandover = \"2026-11-02T08:00:00-05:00\"\nack_minutes = 3\nnext = \"fraud-duty\"\n"
        ),
        "{out}"
    );
    assert!(app.audit_kinds().contains(&"config.applied".to_string()));
    // A loop through the edit page is refused and named.
    let res = admin.submit(
        "/admin/oncall/managers",
        "/admin/oncall/managers",
        &[
            ("timezone", "Europe/Berlin"),
            ("members", "mia@bank.example"),
            ("rotation_hours", "24"),
            ("handover", "2026-11-01T09:00"),
            ("next", "night-desk"),
        ],
    );
    assert_eq!(res.status(), 422);
    let html = res.text().unwrap();
    assert!(html.contains("loops back"), "{html}");
    // A rota a queue names cannot be deleted.
    let res = admin.submit(
        "/admin/oncall/fraud-duty",
        "/admin/oncall/fraud-duty/delete",
        &[],
    );
    assert_eq!(res.status(), 422);
    assert!(res.text().unwrap().contains("queues[0].oncall"));
    // One nobody names goes, with its overrides.
    let res = admin.submit(
        "/admin/oncall/night-desk",
        "/admin/oncall/night-desk/delete",
        &[],
    );
    assert_eq!(location(&res), "/admin/oncall");
    assert!(!export(&app).contains("night-desk"));
}
