// Two-factor sign-in as users and admins meet it: enrolling an authenticator (the
// codes computed here from the secret the page shows, RFC 6238), the code step of
// sign-in, drift, replay, lockout, recovery codes, --require-mfa, resets.

use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, KeyInit, Mac};
use reqwest::blocking::Response;
use serde_json::Value;

use crate::auth::user_id;
use crate::common::{Browser, TestApp, location};
use riskdesk::domain::Role;

/// RFC 6238 with SHA-1, 30-second steps, 6 digits, written out here on its own so
/// that the test does not take the desk's word for it.
fn totp(secret_b32: &str, at: DateTime<Utc>) -> String {
    let key = data_encoding::BASE32_NOPAD
        .decode(secret_b32.as_bytes())
        .expect("the page shows base 32");
    let counter = (at.timestamp() / 30) as u64;
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(&key).unwrap();
    mac.update(&counter.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let o = (h[19] & 0x0f) as usize;
    let bin = ((h[o] as u32 & 0x7f) << 24)
        | ((h[o + 1] as u32) << 16)
        | ((h[o + 2] as u32) << 8)
        | h[o + 3] as u32;
    format!("{:06}", bin % 1_000_000)
}

/// The code of the step `steps` away from the app's clock.
fn code(app: &TestApp, secret: &str, steps: i64) -> String {
    totp(secret, app.clock.now() + Duration::seconds(30 * steps))
}

/// A six-digit code that no step within the drift of now has.
fn wrong_code(app: &TestApp, secret: &str) -> String {
    let valid: Vec<String> = (-1..=1).map(|d| code(app, secret, d)).collect();
    ["000000", "111111", "222222", "333333"]
        .into_iter()
        .find(|c| !valid.iter().any(|v| v == c))
        .unwrap()
        .to_string()
}

/// The text between `start` and the next `end` in `html`.
fn between<'a>(html: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let i = html.find(start)? + start.len();
    Some(&html[i..i + html[i..].find(end)?])
}

/// The audit events of `kind`, their details parsed, oldest first.
fn audited(app: &TestApp, of_kind: &str) -> Vec<Value> {
    use diesel::prelude::*;
    use riskdesk::db::schema::audit_events::dsl::*;
    audit_events
        .filter(kind.eq(of_kind))
        .order(id.asc())
        .select(detail)
        .load::<String>(&mut *app.conn())
        .unwrap()
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect()
}

fn failed_logins(app: &TestApp, email: &str) -> i32 {
    use diesel::prelude::*;
    use riskdesk::db::schema::users::dsl;
    dsl::users
        .filter(dsl::email.eq(email))
        .select(dsl::failed_logins)
        .first(&mut *app.conn())
        .unwrap()
}

/// Enrols the signed-in browser's user: starts, reads the secret off the page,
/// confirms with the code of now. Returns the secret and the recovery codes shown.
fn enrol(app: &TestApp, b: &Browser) -> (String, Vec<String>) {
    let res = b.submit("/profile/mfa", "/profile/mfa/start", &[]);
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/profile/mfa");
    let page = b.get("/profile/mfa").text().unwrap();
    let shown = between(&page, "<code id=\"mfa-secret\">", "</code>").expect("the secret");
    // Groups of four for typing by hand.
    assert!(
        shown.split(' ').all(|g| g.len() <= 4) && shown.contains(' '),
        "{shown}"
    );
    let secret = shown.replace(' ', "");
    let res = b.submit(
        "/profile/mfa",
        "/profile/mfa/confirm",
        &[("code", &code(app, &secret, 0))],
    );
    assert_eq!(res.status(), 200);
    let page = res.text().unwrap();
    let list = between(&page, "id=\"recovery-codes\">", "</ol>").expect("the codes");
    let codes: Vec<String> = list
        .split("<code>")
        .skip(1)
        .map(|c| c[..c.find("</code>").unwrap()].to_string())
        .collect();
    assert_eq!(codes.len(), 10, "{page}");
    (secret, codes)
}

/// A new user of `role` with a second factor, signed out. Returns their e-mail,
/// password, secret and recovery codes; the clock stands one step after the code
/// that confirmed the enrolment.
fn enrolled_user(app: &TestApp, role: &str) -> (String, String, String, Vec<String>) {
    let email = format!("{role}.mfa@bank.example");
    let password = app.create_user(&email, role);
    let b = app.browser();
    assert_eq!(b.login(&email, &password).status(), 303);
    let (secret, codes) = enrol(app, &b);
    assert_eq!(b.logout().status(), 303);
    app.clock.advance(Duration::seconds(30));
    (email, password, secret, codes)
}

/// Signs in with the password; asserts that the code is asked for next.
fn password_step(b: &Browser, email: &str, password: &str) {
    let res = b.login(email, password);
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/login/code");
    assert!(b.cookie("riskdesk_session").is_none());
}

fn code_step(b: &Browser, code: &str) -> Response {
    b.submit("/login/code", "/login/code", &[("code", code)])
}

#[test]
fn enrol_with_the_qr_code_then_sign_in_with_a_code_from_the_app() {
    let app = TestApp::spawn();
    let password = app.create_user("li.na@bank.example", "agent");
    let b = app.browser();
    assert_eq!(b.login("li.na@bank.example", &password).status(), 303);
    let profile = b.get("/profile").text().unwrap();
    assert!(profile.contains("href=\"/profile/mfa\""), "{profile}");

    b.submit("/profile/mfa", "/profile/mfa/start", &[]);
    let page = b.get("/profile/mfa").text().unwrap();
    // The QR code is an SVG drawn by the desk, in a data: address the CSP admits.
    let qr = between(&page, "src=\"data:image/svg+xml;base64,", "\"").expect("QR image");
    use base64::Engine;
    let svg = base64::engine::general_purpose::STANDARD
        .decode(qr)
        .map(|b| String::from_utf8(b).unwrap())
        .unwrap();
    assert!(svg.contains("<svg") && svg.contains("<path"), "{svg}");
    let secret = between(&page, "<code id=\"mfa-secret\">", "</code>")
        .unwrap()
        .replace(' ', "");
    // Until confirmed, signing in takes the password only.
    assert!(app.audit_kinds().iter().all(|k| k != "mfa.enrolled"));
    let res = b.submit(
        "/profile/mfa",
        "/profile/mfa/confirm",
        &[("code", &code(&app, &secret, 0))],
    );
    assert_eq!(res.status(), 200);
    let shown = res.text().unwrap();
    assert!(shown.contains("shown only now"), "{shown}");
    assert_eq!(audited(&app, "mfa.enrolled")[0]["recovery_codes"], 10);
    // Once confirmed, the secret is never shown again.
    let page = b.get("/profile/mfa").text().unwrap();
    assert!(!page.contains("mfa-secret") && !page.contains(&secret));
    assert!(page.contains("Recovery codes left: 10"), "{page}");
    b.logout();

    // The password alone opens no session: the code step comes first.
    app.clock.advance(Duration::seconds(30));
    let res = b.submit(
        "/login",
        "/login",
        &[
            ("email", "li.na@bank.example"),
            ("password", &password),
            ("next", "/profile"),
        ],
    );
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/login/code?next=%2Fprofile");
    assert!(b.cookie("riskdesk_session").is_none());
    assert_eq!(location(&b.get("/")), "/login");
    let form = b.get("/login/code?next=%2Fprofile").text().unwrap();
    assert!(form.contains("li.na@bank.example") && form.contains("name=\"code\""));
    let token = crate::common::extract_csrf(&form).unwrap();
    let res = b.post_raw(
        "/login/code",
        &[
            ("code", &code(&app, &secret, 0)),
            ("next", "/profile"),
            ("csrf_token", &token),
        ],
    );
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/profile");
    assert!(b.cookie("riskdesk_session").is_some());
    assert!(b.cookie("riskdesk_mfa").is_none());
    assert_eq!(b.get("/").status(), 200);
    let ok = audited(&app, "login.succeeded");
    let last = ok.last().unwrap();
    assert_eq!(last["mfa"], true);
    assert_eq!(last["method"], "totp");
    b.logout();

    // The same code, a second time: refused, and counted.
    password_step(&b, "li.na@bank.example", &password);
    let res = code_step(&b, &code(&app, &secret, 0));
    assert_eq!(res.status(), 401);
    assert!(res.text().unwrap().contains("used already"));
    let failed = audited(&app, "login.failed");
    assert_eq!(failed.last().unwrap()["reason"], "reused_code");
    assert_eq!(failed_logins(&app, "li.na@bank.example"), 1);
    // The next step's code signs in, and clears the count.
    app.clock.advance(Duration::seconds(30));
    assert_eq!(code_step(&b, &code(&app, &secret, 0)).status(), 303);
    assert_eq!(failed_logins(&app, "li.na@bank.example"), 0);
}

#[test]
fn one_step_of_drift_is_accepted_two_are_not() {
    let app = TestApp::spawn();
    let (email, password, secret, _) = enrolled_user(&app, "agent");
    // Far enough from the step that confirmed the enrolment.
    app.clock.advance(Duration::seconds(60));
    let b = app.browser();
    password_step(&b, &email, &password);
    for steps in [-2, 2, 3, -3] {
        let res = code_step(&b, &code(&app, &secret, steps));
        assert_eq!(res.status(), 401, "{steps} steps away");
        assert!(res.text().unwrap().contains("That code is wrong"));
    }
    assert_eq!(code_step(&b, &code(&app, &secret, -1)).status(), 303);
    b.logout();
    // The one before was taken: only later steps from now on.
    password_step(&b, &email, &password);
    assert_eq!(code_step(&b, &code(&app, &secret, -1)).status(), 401);
    assert_eq!(code_step(&b, &code(&app, &secret, 1)).status(), 303);
    b.logout();
    password_step(&b, &email, &password);
    assert_eq!(code_step(&b, &code(&app, &secret, 0)).status(), 401);
    let reasons: Vec<Value> = audited(&app, "login.failed")
        .iter()
        .map(|d| d["reason"].clone())
        .collect();
    assert_eq!(
        reasons,
        [
            "wrong_code",
            "wrong_code",
            "wrong_code",
            "wrong_code",
            "reused_code",
            "reused_code"
        ]
    );
}

#[test]
fn a_code_used_on_one_instance_is_refused_on_another() {
    let app = TestApp::spawn();
    let (email, password, secret, _) = enrolled_user(&app, "agent");
    let other = app.second_instance();
    let a = app.browser();
    let b = other.browser();
    password_step(&a, &email, &password);
    password_step(&b, &email, &password);
    let c = code(&app, &secret, 0);
    assert_eq!(code_step(&a, &c).status(), 303);
    assert_eq!(code_step(&b, &c).status(), 401);
}

#[test]
fn wrong_codes_count_toward_the_lockout_with_wrong_passwords() {
    let app = TestApp::spawn();
    let (email, password, secret, _) = enrolled_user(&app, "agent");
    let b = app.browser();
    for _ in 0..4 {
        assert_eq!(b.login(&email, "a wrong password!").status(), 401);
    }
    // The right password does not clear the count: only a completed sign-in does.
    password_step(&b, &email, &password);
    assert_eq!(failed_logins(&app, &email), 4);
    let wrong = wrong_code(&app, &secret);
    for i in 0..5 {
        let res = code_step(&b, &wrong);
        assert_eq!(res.status(), 401, "attempt {i}");
    }
    // The tenth failure in a row locks the account and ends the waiting sign-in.
    let res = code_step(&b, &wrong);
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/login");
    let page = b.get("/login").text().unwrap();
    assert!(page.contains("Too many wrong codes"), "{page}");
    let codes = audited(&app, "login.failed");
    assert_eq!(
        codes.iter().filter(|d| d["reason"] == "wrong_code").count(),
        6
    );
    assert_eq!(codes.last().unwrap()["failures"], 10);
    assert_eq!(audited(&app, "account.locked").len(), 1);
    assert_eq!(app.count("mfa_challenges"), 0);
    // Locked: the right password is refused as any other.
    assert_eq!(b.login(&email, &password).status(), 401);
    app.clock.advance(Duration::minutes(15));
    password_step(&b, &email, &password);
    assert_eq!(code_step(&b, &code(&app, &secret, 0)).status(), 303);
    assert_eq!(failed_logins(&app, &email), 0);
}

#[test]
fn a_recovery_code_signs_in_once() {
    let app = TestApp::spawn();
    let (email, password, secret, codes) = enrolled_user(&app, "agent");
    let b = app.browser();
    password_step(&b, &email, &password);
    // Any case, with or without dashes.
    let typed = codes[3].to_uppercase().replace('-', " ");
    let res = code_step(&b, &typed);
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/");
    let home = b.get("/").text().unwrap();
    assert!(home.contains("will not work again"), "{home}");
    assert_eq!(audited(&app, "mfa.recovery_code_used")[0]["left"], 9);
    assert_eq!(
        audited(&app, "login.succeeded").last().unwrap()["method"],
        "recovery_code"
    );
    assert!(
        b.get("/profile/mfa")
            .text()
            .unwrap()
            .contains("Recovery codes left: 9")
    );
    b.logout();
    password_step(&b, &email, &password);
    let res = code_step(&b, &codes[3]);
    assert_eq!(res.status(), 401);
    assert_eq!(
        audited(&app, "login.failed").last().unwrap()["reason"],
        "wrong_code"
    );
    // Another user's code is no code of this one's.
    let (_, _, _, others) = enrolled_user(&app, "supervisor");
    assert_eq!(code_step(&b, &others[0]).status(), 401);
    assert_eq!(code_step(&b, &codes[4]).status(), 303);

    // New codes (after a current code) replace the old ones, used or not.
    let res = b.submit(
        "/profile/mfa",
        "/profile/mfa/recovery-codes",
        &[("code", &code(&app, &secret, 0))],
    );
    assert_eq!(res.status(), 200);
    let page = res.text().unwrap();
    let fresh: Vec<String> = between(&page, "id=\"recovery-codes\">", "</ol>")
        .unwrap()
        .split("<code>")
        .skip(1)
        .map(|c| c[..c.find("</code>").unwrap()].to_string())
        .collect();
    assert_eq!(fresh.len(), 10);
    assert_eq!(audited(&app, "mfa.recovery_codes_regenerated").len(), 1);
    b.logout();
    password_step(&b, &email, &password);
    assert_eq!(code_step(&b, &codes[5]).status(), 401);
    assert_eq!(code_step(&b, &fresh[0]).status(), 303);
}

#[test]
fn bad_input_is_refused_with_a_clear_message_and_not_counted() {
    let app = TestApp::spawn();
    let (email, password, _, _) = enrolled_user(&app, "agent");
    let b = app.browser();
    password_step(&b, &email, &password);
    for (typed, says) in [
        ("12345", "exactly 6 digits; this one has 5"),
        ("1234567", "exactly 6 digits; this one has 7"),
        ("12a456", "That is not a code"),
        ("", "Type the code."),
        ("<script>", "That is not a code"),
    ] {
        let res = code_step(&b, typed);
        assert_eq!(res.status(), 422, "{typed}");
        let page = res.text().unwrap();
        assert!(page.contains(says), "{typed}: {page}");
        assert!(!page.contains("<script>"));
    }
    assert_eq!(failed_logins(&app, &email), 0);
    assert!(audited(&app, "login.failed").is_empty());

    // At enrolment: only six digits will do, and a wrong code changes nothing.
    let password = app.create_user("new@bank.example", "agent");
    let n = app.browser();
    assert_eq!(n.login("new@bank.example", &password).status(), 303);
    n.submit("/profile/mfa", "/profile/mfa/start", &[]);
    let page = n.get("/profile/mfa").text().unwrap();
    let secret = between(&page, "<code id=\"mfa-secret\">", "</code>")
        .unwrap()
        .replace(' ', "");
    for (typed, says) in [
        ("abcdef", "digits only"),
        ("123", "this one has 3"),
        ("aaaa-bbbb-cccc-dddd", "digits only"),
    ] {
        let res = n.submit("/profile/mfa", "/profile/mfa/confirm", &[("code", typed)]);
        assert_eq!(res.status(), 422, "{typed}");
        assert!(res.text().unwrap().contains(says), "{typed}");
    }
    let wrong = wrong_code(&app, &secret);
    let res = n.submit("/profile/mfa", "/profile/mfa/confirm", &[("code", &wrong)]);
    assert_eq!(res.status(), 422);
    assert!(res.text().unwrap().contains("That code is wrong"));
    // Still waiting for its code, with the same secret.
    let page = n.get("/profile/mfa").text().unwrap();
    assert_eq!(
        between(&page, "<code id=\"mfa-secret\">", "</code>")
            .unwrap()
            .replace(' ', ""),
        secret
    );
    assert_eq!(audited(&app, "mfa.enrolled").len(), 1);
    // A form without its CSRF token is refused.
    let res = n.post_raw("/profile/mfa/confirm", &[("code", &code(&app, &secret, 0))]);
    assert_eq!(res.status(), 403);
}

#[test]
fn the_code_step_is_bound_to_the_browser_and_expires() {
    let app = TestApp::spawn();
    let (email, password, secret, _) = enrolled_user(&app, "agent");
    let b = app.browser();
    password_step(&b, &email, &password);
    // Another browser has no waiting sign-in.
    let other = app.browser();
    let res = other.get("/login/code");
    assert_eq!(location(&res), "/login");
    let res = other.submit(
        "/login",
        "/login/code",
        &[("code", &code(&app, &secret, 0))],
    );
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/login");
    assert!(other.cookie("riskdesk_session").is_none());
    // Five minutes later the waiting sign-in is gone.
    app.clock.advance(Duration::minutes(5));
    let res = b.get("/login/code");
    assert_eq!(location(&res), "/login");
    let page = b.get("/login").text().unwrap();
    assert!(page.contains("waited too long"), "{page}");
    let token = crate::common::extract_csrf(&page).unwrap();
    let res = b.post_raw(
        "/login/code",
        &[("code", &code(&app, &secret, 0)), ("csrf_token", &token)],
    );
    assert_eq!(location(&res), "/login");
    assert!(b.cookie("riskdesk_session").is_none());
}

#[test]
fn turning_it_off_takes_a_current_code() {
    let app = TestApp::spawn();
    let (email, password, secret, _) = enrolled_user(&app, "agent");
    let b = app.browser();
    password_step(&b, &email, &password);
    assert_eq!(code_step(&b, &code(&app, &secret, 0)).status(), 303);
    app.clock.advance(Duration::seconds(30));
    let wrong = wrong_code(&app, &secret);
    let res = b.submit("/profile/mfa", "/profile/mfa/disable", &[("code", &wrong)]);
    assert_eq!(res.status(), 422);
    assert_eq!(audited(&app, "mfa.code_refused")[0]["reason"], "wrong_code");
    assert_eq!(failed_logins(&app, &email), 1);
    let res = b.submit(
        "/profile/mfa",
        "/profile/mfa/disable",
        &[("code", &code(&app, &secret, 0))],
    );
    assert_eq!(res.status(), 303);
    assert_eq!(audited(&app, "mfa.disabled").len(), 1);
    assert_eq!(app.count("mfa_factors"), 0);
    assert_eq!(app.count("mfa_recovery_codes"), 0);
    b.logout();
    let res = b.login(&email, &password);
    assert_eq!(location(&res), "/");
}

#[test]
fn require_mfa_sends_users_to_enrolment_before_anything_else() {
    let app = TestApp::spawn_with(|s| s.require_mfa = vec![Role::Supervisor, Role::Admin]);
    let password = app.create_user("boss@bank.example", "supervisor");
    let b = app.browser();
    let res = b.login("boss@bank.example", &password);
    assert_eq!(res.status(), 303);
    for path in ["/", "/board", "/profile", "/queues", "/admin/playbooks"] {
        let res = b.get(path);
        assert_eq!(res.status(), 303, "{path}");
        assert_eq!(location(&res), "/profile/mfa", "{path}");
    }
    let page = b.get("/profile/mfa").text().unwrap();
    assert!(
        page.contains("Your role requires two-factor sign-in"),
        "{page}"
    );
    // Forms are not carried out either.
    let token = crate::common::extract_csrf(&page).unwrap();
    let res = b.post_raw(
        "/profile",
        &[
            ("language", "zh-CN"),
            ("timezone", "Asia/Shanghai"),
            ("csrf_token", &token),
        ],
    );
    assert_eq!(location(&res), "/profile/mfa");
    let language: Option<String> = {
        use diesel::prelude::*;
        use riskdesk::db::schema::users::dsl;
        dsl::users
            .filter(dsl::email.eq("boss@bank.example"))
            .select(dsl::language)
            .first(&mut *app.conn())
            .unwrap()
    };
    assert_eq!(language, None);
    let style = b.get(&riskdesk::web::assets::url("app.css"));
    assert_eq!(style.status(), 200);
    // Agents are not asked.
    let agent = app.signed_in("agent");
    assert_eq!(agent.get("/").status(), 200);

    let (secret, _) = enrol(&app, &b);
    assert_eq!(b.get("/board").status(), 200);
    assert_eq!(b.get("/profile").status(), 200);
    // Required: it cannot be turned off.
    app.clock.advance(Duration::seconds(30));
    let res = b.submit(
        "/profile/mfa",
        "/profile/mfa/disable",
        &[("code", &code(&app, &secret, 0))],
    );
    assert_eq!(res.status(), 403);
    assert!(res.text().unwrap().contains("cannot be turned off"));
    assert_eq!(app.count("mfa_factors"), 1);
    // Signing out still works for whoever has not enrolled.
    let other = app.create_user("admin2@bank.example", "admin");
    let c = app.browser();
    c.login("admin2@bank.example", &other);
    assert_eq!(location(&c.get("/admin/users")), "/profile/mfa");
    assert_eq!(c.submit("/profile/mfa", "/logout", &[]).status(), 303);
    assert_eq!(
        location(&c.get("/profile/mfa")),
        "/login?next=%2Fprofile%2Fmfa"
    );
}

#[test]
fn admins_reset_a_second_factor_which_ends_the_users_sessions() {
    let app = TestApp::spawn();
    let (email, password, secret, _) = enrolled_user(&app, "agent");
    let agent = app.browser();
    password_step(&agent, &email, &password);
    assert_eq!(code_step(&agent, &code(&app, &secret, 0)).status(), 303);
    let id = user_id(&app, &email);

    let admin_pw = app.create_user("root@bank.example", "admin");
    let admin = app.browser();
    assert_eq!(admin.login("root@bank.example", &admin_pw).status(), 303);
    let page = admin.get(&format!("/admin/users/{id}")).text().unwrap();
    assert!(
        page.contains(&format!("/admin/users/{id}/reset-mfa")),
        "{page}"
    );
    let res = admin.submit(
        &format!("/admin/users/{id}"),
        &format!("/admin/users/{id}/reset-mfa"),
        &[],
    );
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), format!("/admin/users/{id}"));
    let reset = audited(&app, "mfa.reset");
    assert_eq!(reset.len(), 1);
    assert_eq!(reset[0]["sessions_ended"], 1);
    assert_eq!(location(&agent.get("/")), "/login");
    assert_eq!(app.count("mfa_factors"), 0);
    // The password alone signs in now.
    assert_eq!(location(&agent.login(&email, &password)), "/");
    // Nothing more to reset.
    let res = admin.submit(
        &format!("/admin/users/{id}"),
        &format!("/admin/users/{id}/reset-mfa"),
        &[],
    );
    assert_eq!(res.status(), 303);
    assert!(
        admin
            .get(&format!("/admin/users/{id}"))
            .text()
            .unwrap()
            .contains("no two-factor sign-in to reset")
    );

    // Not one's own, this way.
    enrol(&app, &admin);
    let own = user_id(&app, "root@bank.example");
    let page = admin.get(&format!("/admin/users/{own}")).text().unwrap();
    assert!(!page.contains("reset-mfa"), "{page}");
    let res = admin.submit("/profile", &format!("/admin/users/{own}/reset-mfa"), &[]);
    assert_eq!(res.status(), 303);
    assert_eq!(audited(&app, "mfa.reset").len(), 1);
    assert_eq!(app.count("mfa_factors"), 1);
    // Agents may not reset anyone.
    let other = app.signed_in("agent");
    let res = other.submit("/profile", &format!("/admin/users/{own}/reset-mfa"), &[]);
    assert_eq!(res.status(), 403);
    assert_eq!(app.count("mfa_factors"), 1);
}

#[test]
fn the_command_line_resets_a_second_factor_and_checks_the_roles_setting() {
    use diesel::prelude::*;
    let d = crate::cli::desk();
    let (code, _, err) = d.run(
        &[
            "user",
            "add",
            "--email",
            "lost@bank.example",
            "--name",
            "Lost Phone",
            "--role",
            "agent",
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    {
        let db = riskdesk::db::DatabaseUrl::parse(&d.url).unwrap();
        let pool = riskdesk::db::connect(&db, 1).unwrap();
        let mut conn = pool.get().unwrap();
        let id: i64 = {
            use riskdesk::db::schema::users::dsl::*;
            users
                .filter(email.eq("lost@bank.example"))
                .select(id)
                .first(&mut *conn)
                .unwrap()
        };
        use riskdesk::db::schema::mfa_factors::dsl::*;
        diesel::insert_into(mfa_factors)
            .values((
                user_id.eq(id),
                secret_sealed.eq("v1:sealed elsewhere"),
                created_at.eq(Utc::now().naive_utc()),
                confirmed_at.eq(Some(Utc::now().naive_utc())),
            ))
            .execute(&mut *conn)
            .unwrap();
    }
    let (code, out, err) = d.run(&["user", "reset-mfa", "--email", "lost@bank.example"], None);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("removed the second factor of lost@bank.example"),
        "{out}"
    );
    let (code, _, err) = d.run(&["user", "reset-mfa", "--email", "lost@bank.example"], None);
    assert_eq!(code, 1);
    assert!(err.contains("has no second factor"), "{err}");
    let (code, _, err) = d.run(
        &["user", "reset-mfa", "--email", "nobody@bank.example"],
        None,
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("no user has the e-mail nobody@bank.example"),
        "{err}"
    );
    // An unknown role in --require-mfa stops the desk before it starts.
    let out = d
        .cmd(&["migrate"])
        .env("RISKDESK_REQUIRE_MFA", "supervisor,boss")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--require-mfa names the unknown role 'boss'"),
        "{err}"
    );
}

#[test]
fn the_pages_speak_chinese_too() {
    let app = TestApp::spawn();
    let (email, password, _, _) = enrolled_user(&app, "agent");
    let b = app.browser();
    let token =
        crate::common::extract_csrf(&b.get_lang("/login", "zh-CN").text().unwrap()).unwrap();
    let res = b
        .client
        .post(app.url("/login"))
        .header("Accept-Language", "zh-CN")
        .form(&[
            ("email", email.as_str()),
            ("password", &password),
            ("csrf_token", &token),
        ])
        .send()
        .unwrap();
    assert_eq!(location(&res), "/login/code");
    let page = b.get_lang("/login/code", "zh-CN").text().unwrap();
    assert!(page.contains("输入验证码"), "{page}");
}

#[test]
fn enrolling_and_the_code_step_in_a_browser() {
    use crate::chromium::Chromium;
    let app = TestApp::spawn();
    let password = app.create_user("wang@bank.example", "supervisor");
    let mut b = Chromium::launch("mfa");
    let base = app.base.clone();
    b.goto(&format!("{base}/login"));
    b.fill("input[name=email]", "wang@bank.example");
    b.fill("input[name=password]", &password);
    b.click_and_wait("form[action='/login'] button[type=submit]");
    b.goto(&format!("{base}/profile/mfa"));
    b.click_and_wait("form[action='/profile/mfa/start'] button[type=submit]");
    // The QR code, drawn by the desk, loads under its Content-Security-Policy.
    b.wait_for("document.querySelector('img.qr') && document.querySelector('img.qr').complete");
    let width = b.eval("document.querySelector('img.qr').naturalWidth");
    assert!(width.as_f64().unwrap() >= 100.0, "{width}");
    b.screenshot("enrol");
    let found = b.axe();
    assert!(found.is_empty(), "axe-core:\n{}", found.join("\n"));
    let secret = b
        .eval("document.querySelector('#mfa-secret').textContent")
        .as_str()
        .unwrap()
        .replace(' ', "");
    b.fill(
        "form[action='/profile/mfa/confirm'] input[name=code]",
        &code(&app, &secret, 0),
    );
    b.click_and_wait("form[action='/profile/mfa/confirm'] button[type=submit]");
    let text = b.text();
    assert!(text.contains("Two-factor sign-in is on"), "{text}");
    b.screenshot("recovery-codes");

    // Signing in again asks for the code.
    app.clock.advance(Duration::seconds(30));
    b.goto(&format!("{base}/profile/mfa"));
    b.click_and_wait("form[action='/logout'] button[type=submit]");
    assert_eq!(b.path(), "/login");
    b.fill("input[name=email]", "wang@bank.example");
    b.fill("input[name=password]", &password);
    b.click_and_wait("form[action='/login'] button[type=submit]");
    assert_eq!(b.path(), "/login/code");
    b.screenshot("code-step");
    let found = b.axe();
    assert!(found.is_empty(), "axe-core:\n{}", found.join("\n"));
    b.fill("input[name=code]", &code(&app, &secret, 0));
    b.click_and_wait("form[action='/login/code'] button[type=submit]");
    assert_eq!(b.path(), "/");
}
