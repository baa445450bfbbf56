// The layout and its guarantees: two languages, error pages inside the layout,
// security headers, static assets with long cache lifetimes and hashed names.

use crate::common::TestApp;

#[test]
fn the_interface_speaks_the_browsers_language() {
    let app = TestApp::spawn();
    let b = app.browser();
    let zh = b
        .get_lang("/login", "zh-CN,zh;q=0.9,en;q=0.8")
        .text()
        .unwrap();
    assert!(
        zh.contains("<html lang=\"zh-CN\">") && zh.contains("登录"),
        "{zh}"
    );
    let en = b.get_lang("/login", "de-DE,en;q=0.5").text().unwrap();
    assert!(en.contains("<html lang=\"en\">") && en.contains("Sign in"));
    let default = b.get_lang("/login", "fr").text().unwrap();
    assert!(default.contains("<html lang=\"en\">"));
}

#[test]
fn error_pages_sit_in_the_layout_and_the_api_answers_problems() {
    let app = TestApp::spawn();
    let b = app.signed_in("agent");
    let res = b.get("/no/such/page");
    assert_eq!(res.status(), 404);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = res.text().unwrap();
    assert!(
        html.contains("Not found")
            && html.contains("class=\"topbar\"")
            && html.contains("Sign out")
    );
    let res = b.get("/admin/users");
    assert_eq!(res.status(), 403);
    assert!(res.text().unwrap().contains("Not allowed"));
    let zh = b.get_lang("/nothing", "zh-CN");
    assert!(zh.text().unwrap().contains("未找到"));

    let res = b.get("/api/v1/nothing");
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let p: serde_json::Value = res.json().unwrap();
    assert_eq!(p["status"], 404);
    assert_eq!(p["title"], "Not Found");
    assert!(p["errors"].as_array().unwrap().is_empty());
}

#[test]
fn every_answer_carries_the_security_headers() {
    let app = TestApp::spawn();
    let b = app.browser();
    for path in ["/login", "/nothing", "/healthz"] {
        let res = b.get(path);
        let h = res.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"));
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert!(h.contains_key("x-request-id"));
    }
    // No inline script anywhere on a page.
    let html = b.get("/login").text().unwrap();
    assert!(!html.contains("<script>") && !html.contains("onclick"));
}

#[test]
fn static_assets_have_hashed_names_and_long_cache_lifetimes() {
    let app = TestApp::spawn();
    let b = app.browser();
    let html = b.get("/login").text().unwrap();
    let i = html.find("/static/app.").unwrap();
    let href = &html[i..i + html[i..].find('"').unwrap()];
    assert!(href.ends_with(".css"));
    let res = b.get(href);
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    assert!(res.text().unwrap().contains("--brand"));
    assert_eq!(
        b.get("/static/app.css").status(),
        404,
        "only hashed names are served"
    );
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "nothing from elsewhere"
    );
}

#[test]
fn output_is_escaped() {
    let app = TestApp::spawn();
    let admin = app.signed_in("admin");
    let res = admin.submit(
        "/admin/users",
        "/admin/users",
        &[
            ("email", "xss@bank.example"),
            ("name", "<script>alert(1)</script>"),
            ("role", "agent"),
        ],
    );
    assert_eq!(res.status(), 200);
    let list = admin.get("/admin/users").text().unwrap();
    assert!(!list.contains("<script>alert(1)</script>"));
    assert!(list.contains("&#60;script&#62;alert(1)&#60;/script&#62;"));
}
