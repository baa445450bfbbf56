// Sign-in, sessions and their limits: renewal, lockout, per-address throttling,
// idle and absolute timeouts, deactivation, cookie flags.

use chrono::Duration;

use crate::common::{TestApp, location};

#[test]
fn sign_in_and_out() {
    let app = TestApp::spawn();
    let pw = app.create_user("li.na@bank.example", "agent");
    let b = app.browser();
    // Anonymous visitors are sent to sign in, and come back where they were going.
    let res = b.get("/profile");
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/login?next=%2Fprofile");
    let res = b.submit(
        "/login?next=/profile",
        "/login",
        &[
            ("email", "Li.Na@Bank.Example"),
            ("password", &pw),
            ("next", "/profile"),
        ],
    );
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/profile");
    let home = b.get("/").text().unwrap();
    assert!(home.contains("Welcome, Test agent"), "{home}");
    assert_eq!(b.logout().status(), 303);
    assert_eq!(b.get("/").status(), 303, "signed out");
    let kinds = app.audit_kinds();
    assert!(
        kinds.ends_with(&["login.succeeded".into(), "logout".into()]),
        "{kinds:?}"
    );
}

#[test]
fn wrong_password_and_unknown_email_get_the_same_answer() {
    let app = TestApp::spawn();
    let pw = app.create_user("a@bank.example", "agent");
    let b = app.browser();
    let wrong = b.login("a@bank.example", "not-the-password");
    assert_eq!(wrong.status(), 401);
    let wrong = wrong.text().unwrap();
    let unknown = b.login("nobody@bank.example", &pw);
    assert_eq!(unknown.status(), 401);
    let unknown = unknown.text().unwrap();
    let msg = "The e-mail or password is wrong";
    assert!(wrong.contains(msg) && unknown.contains(msg));
    // The pages differ only in the e-mail echoed back and the token.
    let strip = |s: &str| {
        s.replace("a@bank.example", "")
            .replace("nobody@bank.example", "")
    };
    assert_eq!(strip(&wrong).len(), strip(&unknown).len());
    let kinds = app.audit_kinds();
    assert_eq!(kinds.iter().filter(|k| *k == "login.failed").count(), 2);
}

#[test]
fn the_session_is_renewed_at_sign_in() {
    let app = TestApp::spawn();
    let pw = app.create_user("renew@bank.example", "agent");
    let b = app.browser();
    assert_eq!(b.login("renew@bank.example", &pw).status(), 303);
    let first = b.cookie("riskdesk_session").expect("a session cookie");
    // Signing in again from a signed-in browser gives a new session id.
    let res = b.submit(
        "/profile",
        "/login",
        &[("email", "renew@bank.example"), ("password", &pw)],
    );
    assert_eq!(res.status(), 303);
    let second = b.cookie("riskdesk_session").unwrap();
    assert_ne!(first, second);
    // The old session id is dead, the new one works.
    assert_eq!(with_session(&app, &first).status(), 303);
    assert_eq!(with_session(&app, &second).status(), 200);
}

fn with_session(app: &TestApp, session: &str) -> reqwest::blocking::Response {
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(app.url("/profile"))
        .header("Cookie", format!("riskdesk_session={session}"))
        .send()
        .unwrap()
}

#[test]
fn cookies_are_httponly_and_samesite_and_secure_over_https() {
    let app = TestApp::spawn();
    let pw = app.create_user("c@bank.example", "agent");
    let b = app.browser();
    let res = b.login("c@bank.example", &pw);
    let set = res
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(set.starts_with("riskdesk_session="), "{set}");
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax"),
        "{set}"
    );
    assert!(!set.contains("Secure"), "plain http: {set}");

    let https = TestApp::spawn_with(|s| s.public_url = "https://desk.bank.example".into());
    let pw = https.create_user("c@bank.example", "agent");
    let b = https.browser();
    let token = b.csrf_from("/login");
    let res = b.post_raw(
        "/login",
        &[
            ("email", "c@bank.example"),
            ("password", &pw),
            ("csrf_token", &token),
        ],
    );
    let set = res.headers().get("set-cookie").unwrap().to_str().unwrap();
    assert!(set.contains("Secure") && set.contains("HttpOnly"), "{set}");
    // Over https the cookie is host-only: __Host- prefixed, for the whole site.
    assert!(set.starts_with("__Host-riskdesk_session="), "{set}");
    assert!(set.contains("Path=/") && !set.contains("Domain"), "{set}");
}

#[test]
fn ten_failures_lock_the_account_for_fifteen_minutes() {
    let app = TestApp::spawn();
    let pw = app.create_user("lock@bank.example", "agent");
    let b = app.browser();
    for _ in 0..10 {
        assert_eq!(
            b.login("lock@bank.example", "wrong-password!").status(),
            401
        );
    }
    // Locked: even the right password is refused, with the same answer.
    let res = b.login("lock@bank.example", &pw);
    assert_eq!(res.status(), 401);
    let kinds = app.audit_kinds();
    assert_eq!(kinds.iter().filter(|k| *k == "account.locked").count(), 1);
    app.clock.advance(Duration::minutes(14));
    assert_eq!(b.login("lock@bank.example", &pw).status(), 401);
    app.clock.advance(Duration::minutes(1));
    assert_eq!(b.login("lock@bank.example", &pw).status(), 303);
    // The admin page no longer shows the account as locked.
    let admin = app.signed_in("admin");
    let list = admin.get("/admin/users").text().unwrap();
    assert!(!list.contains(">Locked<"), "{list}");
}

#[test]
fn many_failures_from_one_address_are_slowed_down() {
    let app = TestApp::spawn();
    let pw = app.create_user("real@bank.example", "agent");
    let b = app.browser();
    // Guessing across many accounts: no single account reaches its lock.
    for i in 0..20 {
        let res = b.login(&format!("guess{i}@bank.example"), "password123456");
        assert_eq!(res.status(), 401, "attempt {i}");
    }
    let res = b.login("real@bank.example", &pw);
    assert_eq!(res.status(), 429);
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0 && retry <= 900);
    assert!(res.text().unwrap().contains("Too many attempts"));
    app.clock.advance(Duration::minutes(16));
    assert_eq!(b.login("real@bank.example", &pw).status(), 303);
}

#[test]
fn sessions_end_when_idle_and_after_twelve_hours() {
    let app = TestApp::spawn();
    let b = app.signed_in("agent");
    app.clock.advance(Duration::minutes(29));
    assert_eq!(b.get("/profile").status(), 200);
    app.clock.advance(Duration::minutes(29));
    assert_eq!(b.get("/profile").status(), 200, "activity keeps it alive");
    app.clock.advance(Duration::minutes(31));
    let res = b.get("/profile");
    assert_eq!(res.status(), 303, "idle for 31 minutes");
    assert!(location(&res).starts_with("/login"));

    // However active, a session ends 12 hours after sign-in.
    let b = app.signed_in("agent");
    for _ in 0..(12 * 4 - 1) {
        app.clock.advance(Duration::minutes(15));
        assert_eq!(b.get("/profile").status(), 200);
    }
    app.clock.advance(Duration::minutes(15));
    assert_eq!(b.get("/profile").status(), 303);
}

#[test]
fn timeouts_are_settings() {
    let app = TestApp::spawn_with(|s| s.session_idle = Duration::minutes(5));
    let b = app.signed_in("agent");
    app.clock.advance(Duration::minutes(6));
    assert_eq!(b.get("/profile").status(), 303);
}

#[test]
fn deactivating_a_user_ends_their_sessions_at_once() {
    let app = TestApp::spawn();
    let pw = app.create_user("gone@bank.example", "agent");
    let agent = app.browser();
    assert_eq!(agent.login("gone@bank.example", &pw).status(), 303);
    assert_eq!(agent.get("/").status(), 200);
    let admin = app.signed_in("admin");
    let id = user_id(&app, "gone@bank.example");
    let res = admin.submit(
        &format!("/admin/users/{id}"),
        &format!("/admin/users/{id}/deactivate"),
        &[],
    );
    assert_eq!(res.status(), 303);
    assert_eq!(agent.get("/").status(), 303, "signed out at once");
    assert_eq!(agent.login("gone@bank.example", &pw).status(), 401);
    let res = admin.submit(
        &format!("/admin/users/{id}"),
        &format!("/admin/users/{id}/reactivate"),
        &[],
    );
    assert_eq!(res.status(), 303);
    assert_eq!(agent.login("gone@bank.example", &pw).status(), 303);
}

pub fn user_id(app: &TestApp, address: &str) -> i64 {
    use diesel::prelude::*;
    use riskdesk::db::schema::users::dsl::*;
    users
        .filter(email.eq(address))
        .select(id)
        .first(&mut *app.conn())
        .unwrap()
}

#[test]
fn passwords_are_stored_as_argon2id() {
    let app = TestApp::spawn();
    app.create_user("hash@bank.example", "agent");
    use diesel::prelude::*;
    use riskdesk::db::schema::users::dsl::*;
    let hash: String = users
        .filter(email.eq("hash@bank.example"))
        .select(password_hash)
        .first(&mut *app.conn())
        .unwrap();
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
}
