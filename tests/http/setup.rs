// The first run: a desk without users issues a one-time link that creates its first
// admin; the link works once, for an hour, and never once anyone has an account.

use chrono::Duration;

use crate::common::{TestApp, location};

/// A setup token as `riskdesk serve` issues it at start.
fn issue(app: &TestApp) -> Option<String> {
    riskdesk::setup::issue(&mut app.conn(), app.clock.now()).unwrap()
}

const PASSWORD: &str = "correct horse battery";

fn admin_form<'a>(email: &'a str, password: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("name", "First Admin"),
        ("email", email),
        ("password", password),
        ("confirm", password),
    ]
}

#[test]
fn the_link_creates_the_first_admin_once_and_signs_them_in() {
    let app = TestApp::spawn();
    let token = issue(&app).expect("a desk without users gets a link");
    let link = format!("/setup/{token}");

    // The sign-in page says where the link is.
    let b = app.browser();
    let login = b.get("/login").text().unwrap();
    assert!(login.contains("setup link"), "{login}");
    let zh = b.get_lang("/login", "zh-CN").text().unwrap();
    assert!(zh.contains("一次性设置链接"), "{zh}");

    let page = b.get(&link);
    assert_eq!(page.status(), 200);
    let page = page.text().unwrap();
    assert!(page.contains("name=\"password\""), "{page}");

    // Bad input is refused, naming the problem, and creates nothing.
    let res = b.submit(&link, &link, &admin_form("not an address", PASSWORD));
    assert_eq!(res.status(), 422);
    assert!(res.text().unwrap().contains("not a valid e-mail address"));
    let res = b.submit(&link, &link, &admin_form("first@bank.example", "short"));
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .unwrap()
            .contains("The password must have at least 12 characters.")
    );
    let mut mismatched = admin_form("first@bank.example", PASSWORD);
    mismatched[3] = ("confirm", "something else entirely");
    let res = b.submit(&link, &link, &mismatched);
    assert_eq!(res.status(), 422);
    assert!(res.text().unwrap().contains("passwords differ"));
    // Without the form's CSRF token: refused.
    let res = b.post_raw(&link, &admin_form("first@bank.example", PASSWORD));
    assert_eq!(res.status(), 403);
    assert_eq!(app.count("users"), 0);

    // The admin is made and signed in, and lands on the desk's configuration.
    let res = b.submit(&link, &link, &admin_form("First@Bank.Example", PASSWORD));
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/admin/desk");
    let desk = b.get("/admin/desk");
    assert_eq!(desk.status(), 200);
    let desk = desk.text().unwrap();
    assert!(desk.contains("Your admin account is ready"), "{desk}");
    assert!(desk.contains("action=\"/admin/desk/apply\""), "{desk}");
    assert_eq!(app.count("users"), 1);
    let kinds = app.audit_kinds();
    assert!(kinds.contains(&"user.created".to_string()), "{kinds:?}");
    assert!(kinds.contains(&"setup.completed".to_string()), "{kinds:?}");
    // The password works at the sign-in page.
    let other = app.browser();
    assert_eq!(other.login("first@bank.example", PASSWORD).status(), 303);

    // The link works once: a second use is refused and creates nothing.
    let again = app.browser();
    let res = again.get(&link);
    assert_eq!(res.status(), 403);
    assert!(res.text().unwrap().contains("set up already"));
    let token_page = again.csrf_from("/login");
    let mut fields = admin_form("second@bank.example", PASSWORD);
    fields.push(("csrf_token", &token_page));
    let res = again.post_raw(&link, &fields);
    assert_eq!(res.status(), 403);
    assert_eq!(app.count("users"), 1);
    // The sign-in page no longer speaks of a link, and no new link is issued.
    assert!(!again.get("/login").text().unwrap().contains("setup link"));
    assert_eq!(issue(&app), None);
}

#[test]
fn unknown_expired_and_replaced_links_are_refused_in_the_readers_language() {
    let app = TestApp::spawn();
    let b = app.browser();
    // Unknown: a clear page in the reader's language, nothing created.
    let res = b.get_lang("/setup/not-a-real-token", "zh-CN");
    assert_eq!(res.status(), 404);
    let body = res.text().unwrap();
    assert!(body.contains("此设置链接无效"), "{body}");
    assert!(body.contains("已过期"), "{body}");

    // A new start replaces the link: the old one stops working.
    let old = issue(&app).unwrap();
    let new = issue(&app).unwrap();
    assert_ne!(old, new);
    assert_eq!(b.get(&format!("/setup/{old}")).status(), 404);
    assert_eq!(b.get(&format!("/setup/{new}")).status(), 200);

    // Expired after an hour, on GET and on POST (with a token from before).
    let link = format!("/setup/{new}");
    let csrf = b.csrf_from(&link);
    app.clock.advance(Duration::minutes(59));
    assert_eq!(b.get(&link).status(), 200);
    app.clock.advance(Duration::minutes(1));
    let res = b.get(&link);
    assert_eq!(res.status(), 404);
    assert!(res.text().unwrap().contains("expired"));
    let mut fields = admin_form("late@bank.example", PASSWORD);
    fields.push(("csrf_token", &csrf));
    let res = b.post_raw(&link, &fields);
    assert_eq!(res.status(), 404);
    assert_eq!(app.count("users"), 0);

    // A fresh start gives a working link again.
    let fresh = issue(&app).unwrap();
    let link = format!("/setup/{fresh}");
    let res = b.submit(&link, &link, &admin_form("late@bank.example", PASSWORD));
    assert_eq!(location(&res), "/admin/desk");
    assert_eq!(app.count("users"), 1);
}

#[test]
fn a_link_is_refused_once_any_user_exists() {
    let app = TestApp::spawn();
    let token = issue(&app).unwrap();
    // Someone adds a user from the command line meanwhile.
    app.create_user("cli.admin@bank.example", "admin");
    let b = app.browser();
    let link = format!("/setup/{token}");
    let res = b.get(&link);
    assert_eq!(res.status(), 403);
    let csrf = b.csrf_from("/login");
    let mut fields = admin_form("intruder@bank.example", PASSWORD);
    fields.push(("csrf_token", &csrf));
    assert_eq!(b.post_raw(&link, &fields).status(), 403);
    assert_eq!(app.count("users"), 1);
    assert_eq!(issue(&app), None);
}

#[test]
fn serve_prints_a_working_link_on_a_desk_without_users() {
    let d = crate::cli::desk();
    let (_running, base, printed) = crate::cli::serve(&d, &[]);
    let line = printed
        .iter()
        .find(|l| l.contains("/setup/"))
        .unwrap_or_else(|| panic!("no setup link among {printed:?}"));
    let link = line
        .split_whitespace()
        .find(|w| w.starts_with("http"))
        .unwrap()
        .to_string();
    assert!(
        link.starts_with(&format!("{base}/setup/")),
        "{link} vs {base}"
    );
    let path = &link[base.len()..];
    let b = crate::common::Browser::new(&base);
    assert_eq!(b.get(path).status(), 200);
    let res = b.submit(path, path, &admin_form("first@bank.example", PASSWORD));
    assert_eq!(location(&res), "/admin/desk");
    drop(_running);
    // A second start of a desk with users prints no link.
    let (_again, _, printed) = crate::cli::serve(&d, &[]);
    assert!(
        !printed.iter().any(|l| l.contains("/setup/")),
        "{printed:?}"
    );
}
