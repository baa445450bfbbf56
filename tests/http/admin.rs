// Admin pages for users and API keys, the profile page, and the audit trail they
// leave behind.

use crate::auth::user_id;
use crate::common::{TestApp, location};

fn one_time_password(html: &str) -> String {
    let i = html
        .find("class=\"secret\"><code>")
        .expect("a password on the page");
    let rest = &html[i + "class=\"secret\"><code>".len()..];
    rest[..rest.find('<').unwrap()].to_string()
}

#[test]
fn an_admin_creates_a_user_who_can_then_sign_in() {
    let app = TestApp::spawn();
    let admin = app.signed_in("admin");
    let res = admin.submit(
        "/admin/users",
        "/admin/users",
        &[
            ("email", "New.Agent@Bank.Example"),
            ("name", "新坐席"),
            ("role", "agent"),
            ("language", "zh-CN"),
        ],
    );
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let html = res.text().unwrap();
    let pw = one_time_password(&html);
    assert_eq!(pw.len(), 20);
    let list = admin.get("/admin/users").text().unwrap();
    assert!(list.contains("new.agent@bank.example") && list.contains("新坐席"));
    assert!(!list.contains(&pw), "the password is shown only once");

    let agent = app.browser();
    assert_eq!(agent.login("new.agent@bank.example", &pw).status(), 303);
    let home = agent.get("/").text().unwrap();
    assert!(
        home.contains("欢迎，新坐席"),
        "the user's language is Chinese: {home}"
    );
    assert!(app.audit_kinds().contains(&"user.created".to_string()));
}

#[test]
fn bad_input_is_named_and_changes_nothing() {
    let app = TestApp::spawn();
    let admin = app.signed_in("admin");
    let count = |app: &TestApp| -> i64 {
        use diesel::prelude::*;
        riskdesk::db::schema::users::table
            .count()
            .get_result(&mut *app.conn())
            .unwrap()
    };
    let before = count(&app);
    for (fields, message) in [
        (
            [
                ("email", "not-an-address"),
                ("name", "X"),
                ("role", "agent"),
            ],
            "That is not a valid e-mail address.",
        ),
        (
            [
                ("email", "ok@bank.example"),
                ("name", " "),
                ("role", "agent"),
            ],
            "The name must have 1 to 100 characters.",
        ),
        (
            [
                ("email", "ok@bank.example"),
                ("name", "X"),
                ("role", "root"),
            ],
            "Choose agent, supervisor or admin.",
        ),
    ] {
        let res = admin.submit("/admin/users", "/admin/users", &fields);
        assert_eq!(res.status(), 422);
        let html = res.text().unwrap();
        assert!(html.contains(message), "{message}");
        // The form keeps what was typed.
        assert!(html.contains(&format!("value=\"{}\"", fields[0].1)));
    }
    app.create_user("dup@bank.example", "agent");
    let res = admin.submit(
        "/admin/users",
        "/admin/users",
        &[
            ("email", "DUP@bank.example"),
            ("name", "Dup"),
            ("role", "agent"),
        ],
    );
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .unwrap()
            .contains("A user with that e-mail exists already.")
    );
    assert_eq!(count(&app), before + 1);
}

#[test]
fn roles_change_and_the_last_admin_stays() {
    let app = TestApp::spawn();
    let pw = app.create_user("boss@bank.example", "admin");
    let admin = app.browser();
    assert_eq!(admin.login("boss@bank.example", &pw).status(), 303);
    let me = user_id(&app, "boss@bank.example");
    app.create_user("sup@bank.example", "agent");
    let sup = user_id(&app, "sup@bank.example");

    let page = format!("/admin/users/{sup}");
    let res = admin.submit(
        &page,
        &page,
        &[("name", "Chen Jing"), ("role", "supervisor")],
    );
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), page);
    let html = admin.get(&page).text().unwrap();
    assert!(html.contains("The user is saved.") && html.contains("Chen Jing"));
    assert!(app.audit_kinds().contains(&"user.role_changed".to_string()));

    // An admin cannot deactivate or demote themselves.
    let mine = format!("/admin/users/{me}");
    let res = admin.submit(&mine, &format!("{mine}/deactivate"), &[]);
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .unwrap()
            .contains("You cannot do that to your own account.")
    );
    let res = admin.submit(&mine, &mine, &[("name", "Boss"), ("role", "agent")]);
    assert_eq!(res.status(), 422);

    // With a second admin, the first may be demoted by the second — but the last
    // active admin may not be.
    let pw2 = app.create_user("second@bank.example", "admin");
    let second = app.browser();
    assert_eq!(second.login("second@bank.example", &pw2).status(), 303);
    let res = second.submit(&mine, &mine, &[("name", "Boss"), ("role", "supervisor")]);
    assert_eq!(res.status(), 303);
    let second_id = user_id(&app, "second@bank.example");
    let other = format!("/admin/users/{second_id}");
    // boss is a supervisor now and cannot reach the admin pages any more.
    assert_eq!(admin.get(&other).status(), 403);
    let third_pw = app.create_user("third@bank.example", "admin");
    let third = app.browser();
    assert_eq!(third.login("third@bank.example", &third_pw).status(), 303);
    let res = third.submit(&other, &format!("{other}/deactivate"), &[]);
    assert_eq!(res.status(), 303, "two admins: one may go");
    let third_id = user_id(&app, "third@bank.example");
    let mut conn = app.conn();
    let err = riskdesk::accounts::set_active(
        &mut conn,
        app.clock.now(),
        &riskdesk::accounts::Actor::cli(),
        third_id,
        false,
        |_| Ok(()),
    )
    .unwrap_err();
    assert!(matches!(err, riskdesk::accounts::AccountError::LastAdmin));
}

#[test]
fn a_password_reset_shows_a_new_password_once_and_ends_sessions() {
    let app = TestApp::spawn();
    let old = app.create_user("forgot@bank.example", "agent");
    let agent = app.browser();
    assert_eq!(agent.login("forgot@bank.example", &old).status(), 303);
    let admin = app.signed_in("admin");
    let id = user_id(&app, "forgot@bank.example");
    let res = admin.submit(
        &format!("/admin/users/{id}"),
        &format!("/admin/users/{id}/reset-password"),
        &[],
    );
    assert_eq!(res.status(), 200);
    let new = one_time_password(&res.text().unwrap());
    assert_eq!(agent.get("/").status(), 303, "the old session ended");
    assert_eq!(agent.login("forgot@bank.example", &old).status(), 401);
    assert_eq!(agent.login("forgot@bank.example", &new).status(), 303);
    assert!(
        app.audit_kinds()
            .contains(&"user.password_reset".to_string())
    );
}

#[test]
fn users_set_their_language_time_zone_and_password() {
    let app = TestApp::spawn();
    let pw = app.create_user("me@bank.example", "agent");
    let b = app.browser();
    assert_eq!(b.login("me@bank.example", &pw).status(), 303);
    let res = b.submit(
        "/profile",
        "/profile",
        &[("language", "zh-CN"), ("timezone", "Asia/Shanghai")],
    );
    assert_eq!(res.status(), 303);
    let html = b.get("/profile").text().unwrap();
    assert!(html.contains("<html lang=\"zh-CN\">"));
    assert!(html.contains("偏好设置已保存。"));
    assert!(html.contains("value=\"Asia/Shanghai\""));
    // The browser's language no longer matters once the user chose one.
    let html = b.get_lang("/", "en-US").text().unwrap();
    assert!(html.contains("首页"));

    let res = b.submit(
        "/profile",
        "/profile",
        &[("language", "zh-CN"), ("timezone", "Mars/Base")],
    );
    assert_eq!(res.status(), 422);
    assert!(res.text().unwrap().contains("无法识别该时区"));

    // Password change: wrong current password, mismatch, then success.
    let res = b.submit(
        "/profile",
        "/profile/password",
        &[
            ("current_password", "nope-nope-nope"),
            ("new_password", "a-new-password-1"),
            ("confirm_password", "a-new-password-1"),
        ],
    );
    assert_eq!(res.status(), 422);
    let res = b.submit(
        "/profile",
        "/profile/password",
        &[
            ("current_password", &pw),
            ("new_password", "a-new-password-1"),
            ("confirm_password", "a-new-password-2"),
        ],
    );
    assert_eq!(res.status(), 422);
    let other = app.browser();
    assert_eq!(other.login("me@bank.example", &pw).status(), 303);
    let res = b.submit(
        "/profile",
        "/profile/password",
        &[
            ("current_password", &pw),
            ("new_password", "a-new-password-1"),
            ("confirm_password", "a-new-password-1"),
        ],
    );
    assert_eq!(res.status(), 303);
    assert_eq!(b.get("/profile").status(), 200, "this session stays");
    assert_eq!(
        other.get("/profile").status(),
        303,
        "the other session ended"
    );
    assert_eq!(
        other.login("me@bank.example", "a-new-password-1").status(),
        303
    );
}

#[test]
fn api_keys_are_shown_once_and_can_be_revoked() {
    let app = TestApp::spawn();
    let admin = app.signed_in("admin");
    let res = admin.submit(
        "/admin/api-keys",
        "/admin/api-keys",
        &[
            ("name", "risk-engine-prod"),
            ("scopes", "alerts:write"),
            ("rate_limit", "600"),
        ],
    );
    assert_eq!(res.status(), 200);
    let html = res.text().unwrap();
    let key = one_time_password(&html);
    assert!(key.starts_with("rdk_"), "{key}");
    let list = admin.get("/admin/api-keys").text().unwrap();
    assert!(list.contains("risk-engine-prod") && !list.contains(&key));
    use diesel::prelude::*;
    use riskdesk::db::schema::api_keys::dsl::*;
    let (kid, stored): (i64, String) = api_keys
        .select((id, key_hash))
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(stored, riskdesk::domain::tokens::digest(&key));
    let res = admin.submit(
        "/admin/api-keys",
        &format!("/admin/api-keys/{kid}/revoke"),
        &[],
    );
    assert_eq!(res.status(), 303);
    let revoked: Option<chrono::NaiveDateTime> = api_keys
        .find(kid)
        .select(revoked_at)
        .first(&mut *app.conn())
        .unwrap();
    assert!(revoked.is_some());
    let res = admin.submit("/admin/api-keys", "/admin/api-keys", &[("name", "  ")]);
    assert_eq!(res.status(), 422);
    let kinds = app.audit_kinds();
    assert!(kinds.contains(&"apikey.created".into()) && kinds.contains(&"apikey.revoked".into()));
    let audit = admin.get("/admin/audit").text().unwrap();
    assert!(audit.contains("API key revoked") && audit.contains("risk-engine-prod"));
}

#[test]
fn the_audit_trail_is_append_only() {
    use diesel::connection::SimpleConnection;
    let app = TestApp::spawn();
    app.create_user("x@bank.example", "agent");
    let mut conn = app.conn();
    assert!(
        conn.batch_execute("UPDATE audit_events SET kind = 'forged'")
            .is_err()
    );
    assert!(conn.batch_execute("DELETE FROM audit_events").is_err());
    drop(conn);
    assert_eq!(app.audit_kinds(), vec!["user.created".to_string()]);
}
