// Who gets in where: every route walked as anonymous, agent, supervisor and admin.

use crate::admin_desk::{TARGETS, apply_config};
use crate::common::{Browser, TestApp, location};

/// What the desk pages of the walk work on; the `-2` objects are there to be deleted.
fn walk_desk() -> String {
    format!(
        r#"triage_queue = "Triage"

[[calendars]]
name = "walk-cal"
timezone = "UTC"
[calendars.hours]
mon = [["09:00", "17:00"]]

[[calendars]]
name = "walk-cal-2"
timezone = "UTC"
[calendars.hours]
tue = [["09:00", "17:00"]]

[[sla_policies]]
name = "default"
{TARGETS}
[[sla_policies]]
name = "walk-policy"
calendar = "walk-cal"
{TARGETS}
[[sla_policies]]
name = "walk-policy-2"
{TARGETS}
[[queues]]
name = "Triage"
sla_policy = "default"

[[queues]]
name = "Walk queue"
sla_policy = "walk-policy"

[[queues]]
name = "Walk queue 2"
sla_policy = "walk-policy"

[[rules]]
code = "WALK"
category = "walk"
default_severity = "high"

[[rules]]
code = "WALK2"
category = "walk"
default_severity = "low"

[[routes]]
rule = "WALK"
queue = "Walk queue"

[[routes]]
queue = "Walk queue"
"#
    )
}

const POLICY_TARGETS: [(&str, &str); 8] = [
    ("critical_first_response", "15"),
    ("critical_resolution", "120"),
    ("high_first_response", "30"),
    ("high_resolution", "240"),
    ("medium_first_response", "120"),
    ("medium_resolution", "1440"),
    ("low_first_response", "480"),
    ("low_resolution", "4320"),
];

#[derive(Clone, Copy)]
enum Who {
    Anon,
    Agent,
    Supervisor,
    Admin,
}

/// Expected outcome: Ok(status) or a redirect to sign-in.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Expect {
    Status(u16),
    ToLogin,
}

use Expect::{Status, ToLogin};

fn check(b: &Browser, who: &str, method: &str, path: &str, token_page: &str, expect: Expect) {
    let res = match method {
        "GET" => b.get(path),
        _ => {
            let fields: &[(&str, &str)] = match path {
                "/admin/users" => &[
                    ("email", "walk.new@bank.example"),
                    ("name", "Walk"),
                    ("role", "agent"),
                ],
                p if p.starts_with("/admin/users/") && p.matches('/').count() == 3 => {
                    &[("name", "Target Renamed"), ("role", "agent")]
                }
                "/admin/api-keys" => &[("name", "walk key")],
                "/admin/desk/triage" => &[("triage_queue", "Triage")],
                "/admin/calendars" => &[
                    ("name", "walk-new"),
                    ("timezone", "UTC"),
                    ("hours_mon", "09:00-17:00"),
                ],
                "/admin/calendars/walk-cal" => &[("timezone", "UTC"), ("hours_mon", "08:00-18:00")],
                "/admin/sla-policies" => &[
                    ("name", "walk-new"),
                    ("calendar", "24/7"),
                    POLICY_TARGETS[0],
                    POLICY_TARGETS[1],
                    POLICY_TARGETS[2],
                    POLICY_TARGETS[3],
                    POLICY_TARGETS[4],
                    POLICY_TARGETS[5],
                    POLICY_TARGETS[6],
                    POLICY_TARGETS[7],
                ],
                "/admin/sla-policies/walk-policy" => &POLICY_TARGETS,
                "/admin/queues" => &[("name", "Walk new"), ("sla_policy", "walk-policy")],
                "/admin/queues/Walk%20queue" => &[("sla_policy", "walk-policy"), ("skills", "x")],
                "/admin/rules" => &[
                    ("code", "WALK_NEW"),
                    ("category", "walk"),
                    ("default_severity", "low"),
                ],
                "/admin/rules/WALK" => &[
                    ("name", "Walk"),
                    ("category", "walk"),
                    ("default_severity", "medium"),
                ],
                "/admin/routes" => &[("queue", "Walk queue")],
                "/admin/routes/1" => &[("rule", "WALK"), ("queue", "Walk queue")],
                "/admin/routes/1/move" => &[("direction", "down")],
                "/profile" => &[("language", "en"), ("timezone", "Asia/Shanghai")],
                "/profile/password" => &[
                    ("current_password", "wrong-wrong-wrong"),
                    ("new_password", "another-long-password"),
                    ("confirm_password", "another-long-password"),
                ],
                _ => &[],
            };
            b.submit(token_page, path, fields)
        }
    };
    let got = if res.status() == 303 && location(&res).starts_with("/login") {
        ToLogin
    } else {
        Status(res.status().as_u16())
    };
    // A created user answers 200 with the one-time password; duplicates are 422.
    let got = match (expect, got) {
        (Status(200), Status(422)) if path == "/admin/users" => Status(200),
        _ => got,
    };
    assert_eq!(got, expect, "{who} {method} {path}");
}

#[test]
fn every_route_checks_who_may_use_it() {
    let app = TestApp::spawn();
    let target_pw = app.create_user("target@bank.example", "agent");
    assert!(!target_pw.is_empty());
    let target_id: i64 = {
        use diesel::prelude::*;
        use riskdesk::db::schema::users::dsl::*;
        users
            .filter(email.eq("target@bank.example"))
            .select(id)
            .first(&mut *app.conn())
            .unwrap()
    };
    let key_id: i64 = {
        let mut conn = app.conn();
        riskdesk::accounts::create_api_key(
            &mut conn,
            app.clock.now(),
            &riskdesk::accounts::Actor::cli(),
            "walk",
        )
        .unwrap()
        .0
        .id
    };
    apply_config(&app, &walk_desk());
    let user_page = format!("/admin/users/{target_id}");
    let deactivate = format!("/admin/users/{target_id}/deactivate");
    let reactivate = format!("/admin/users/{target_id}/reactivate");
    let reset = format!("/admin/users/{target_id}/reset-password");
    let revoke = format!("/admin/api-keys/{key_id}/revoke");

    // (method, path, anonymous, agent, supervisor, admin)
    let admin_only_get = [ToLogin, Status(403), Status(403), Status(200)];
    let admin_only_post = [ToLogin, Status(403), Status(403), Status(303)];
    let supervisors_get = [ToLogin, Status(403), Status(200), Status(200)];
    let table: Vec<(&str, &str, [Expect; 4])> = vec![
        ("GET", "/healthz", [Status(200); 4]),
        ("GET", "/readyz", [Status(200); 4]),
        ("GET", "/metrics", [Status(200); 4]),
        (
            "GET",
            "/login",
            [Status(200), Status(303), Status(303), Status(303)],
        ),
        ("GET", "/", [ToLogin, Status(200), Status(200), Status(200)]),
        (
            "GET",
            "/profile",
            [ToLogin, Status(200), Status(200), Status(200)],
        ),
        (
            "POST",
            "/profile",
            [ToLogin, Status(303), Status(303), Status(303)],
        ),
        (
            "POST",
            "/profile/password",
            [ToLogin, Status(422), Status(422), Status(422)],
        ),
        ("GET", "/admin/users", admin_only_get),
        (
            "POST",
            "/admin/users",
            [ToLogin, Status(403), Status(403), Status(200)],
        ),
        ("GET", &user_page, admin_only_get),
        ("POST", &user_page, admin_only_post),
        ("POST", &deactivate, admin_only_post),
        ("POST", &reactivate, admin_only_post),
        (
            "POST",
            &reset,
            [ToLogin, Status(403), Status(403), Status(200)],
        ),
        ("GET", "/admin/api-keys", admin_only_get),
        (
            "POST",
            "/admin/api-keys",
            [ToLogin, Status(403), Status(403), Status(200)],
        ),
        ("POST", &revoke, admin_only_post),
        ("GET", "/admin/audit", admin_only_get),
        ("GET", "/board", supervisors_get),
        ("GET", "/board/fragment", supervisors_get),
        ("GET", "/qa", supervisors_get),
        (
            "GET",
            "/qa/RC-000001",
            [ToLogin, Status(403), Status(404), Status(404)],
        ),
        ("GET", "/briefs", supervisors_get),
        ("GET", "/briefs/2026-W47", supervisors_get),
        ("GET", "/admin/desk", admin_only_get),
        ("POST", "/admin/desk/triage", admin_only_post),
        ("GET", "/admin/calendars", admin_only_get),
        ("POST", "/admin/calendars", admin_only_post),
        ("GET", "/admin/calendars/walk-cal", admin_only_get),
        ("POST", "/admin/calendars/walk-cal", admin_only_post),
        (
            "POST",
            "/admin/calendars/walk-cal-2/delete",
            admin_only_post,
        ),
        (
            "GET",
            "/admin/calendars/no-such-calendar",
            [ToLogin, Status(403), Status(403), Status(404)],
        ),
        ("GET", "/admin/sla-policies", admin_only_get),
        ("POST", "/admin/sla-policies", admin_only_post),
        ("GET", "/admin/sla-policies/walk-policy", admin_only_get),
        ("POST", "/admin/sla-policies/walk-policy", admin_only_post),
        (
            "POST",
            "/admin/sla-policies/walk-policy-2/delete",
            admin_only_post,
        ),
        ("GET", "/admin/queues", admin_only_get),
        ("POST", "/admin/queues", admin_only_post),
        ("GET", "/admin/queues/Walk%20queue", admin_only_get),
        ("POST", "/admin/queues/Walk%20queue", admin_only_post),
        (
            "POST",
            "/admin/queues/Walk%20queue%202/delete",
            admin_only_post,
        ),
        ("GET", "/admin/rules", admin_only_get),
        ("POST", "/admin/rules", admin_only_post),
        ("GET", "/admin/rules/WALK", admin_only_get),
        ("POST", "/admin/rules/WALK", admin_only_post),
        ("POST", "/admin/rules/WALK2/delete", admin_only_post),
        ("GET", "/admin/routes", admin_only_get),
        ("POST", "/admin/routes", admin_only_post),
        ("GET", "/admin/routes/1", admin_only_get),
        ("POST", "/admin/routes/1", admin_only_post),
        ("POST", "/admin/routes/1/move", admin_only_post),
        ("POST", "/admin/routes/2/delete", admin_only_post),
        ("GET", "/no/such/page", [Status(404); 4]),
        ("POST", "/logout", [ToLogin; 4]),
    ];

    for (i, who) in [Who::Anon, Who::Agent, Who::Supervisor, Who::Admin]
        .into_iter()
        .enumerate()
    {
        let (b, name, token_page) = match who {
            Who::Anon => (app.browser(), "anonymous", "/login"),
            Who::Agent => (app.signed_in("agent"), "agent", "/profile"),
            Who::Supervisor => (app.signed_in("supervisor"), "supervisor", "/profile"),
            Who::Admin => (app.signed_in("admin"), "admin", "/profile"),
        };
        for (method, path, expect) in &table {
            if *path == "/logout" {
                continue;
            }
            check(&b, name, method, path, token_page, expect[i]);
        }
        // Sign out last, so the walk above ran signed in.
        let (_, _, expect) = table.iter().find(|(_, p, _)| *p == "/logout").unwrap();
        check(&b, name, "POST", "/logout", token_page, expect[i]);
        assert_eq!(location(&b.get("/")), "/login", "{name} is signed out");
    }
}

#[test]
fn a_post_without_a_valid_csrf_token_is_refused_and_changes_nothing() {
    let app = TestApp::spawn();
    let admin = app.signed_in("admin");
    let other = app.signed_in("admin");
    let foreign = other.csrf_from("/profile");
    let before = app.audit_kinds().len();
    // No token at all.
    let res = admin.post_raw(
        "/admin/users",
        &[
            ("email", "csrf@bank.example"),
            ("name", "C"),
            ("role", "agent"),
        ],
    );
    assert_eq!(res.status(), 403);
    assert!(res.text().unwrap().contains("did not come from this site"));
    // A wrong token.
    let res = admin.post_raw(
        "/admin/users",
        &[
            ("email", "csrf@bank.example"),
            ("name", "C"),
            ("role", "agent"),
            ("csrf_token", "forged-token-forged-token-forged-token"),
        ],
    );
    assert_eq!(res.status(), 403);
    // Another session's token does not work either.
    let res = admin.post_raw(
        "/admin/users",
        &[
            ("email", "csrf@bank.example"),
            ("name", "C"),
            ("role", "agent"),
            ("csrf_token", &foreign),
        ],
    );
    assert_eq!(res.status(), 403);
    // Sign-in without the cookie's token is refused too.
    let anon = app.browser();
    let res = anon.post_raw("/login", &[("email", "a@b.example"), ("password", "x")]);
    assert_eq!(res.status(), 403);
    let kinds = app.audit_kinds();
    assert_eq!(kinds.len(), before, "nothing was recorded: {kinds:?}");
    let created: i64 = {
        use diesel::prelude::*;
        use riskdesk::db::schema::users::dsl::*;
        users
            .filter(email.eq("csrf@bank.example"))
            .count()
            .get_result(&mut *app.conn())
            .unwrap()
    };
    assert_eq!(created, 0);
}
