// API keys with scopes, an expiry and a rate limit: what each scope lets a key call
// and the 403 naming the one it lacks, the 401 of an expired or revoked key, the 429
// with Retry-After and the recovery after it, the webhooks API, the audit events of a
// key's use and refusals, the admin page, the command line, and keys made before
// scopes existed.

use chrono::Duration;
use reqwest::blocking::{Client, Response};
use serde_json::{Value, json};

use crate::cli::desk;
use crate::common::TestApp;
use crate::intake::{DESK, alert};
use riskdesk::domain::apikey::{Scope, Scopes};
use riskdesk::store::audit::{self, AuditEvent};

fn app() -> TestApp {
    let app = TestApp::spawn();
    app.apply_config(DESK);
    app
}

fn only(s: Scope) -> Scopes {
    Scopes::NONE.with(s)
}

/// Sends `method path` with `key` (and a JSON body); the answer as it came.
fn call(app: &TestApp, key: &str, method: &str, path: &str, body: Option<&Value>) -> Response {
    let c = Client::new();
    let url = app.url(path);
    let req = match method {
        "GET" => c.get(url),
        "POST" => c.post(url),
        "DELETE" => c.delete(url),
        other => panic!("{other}"),
    };
    let req = req.bearer_auth(key);
    match body {
        Some(b) => req.json(b),
        None => req,
    }
    .send()
    .unwrap()
}

/// Asserts a problem+json answer of `status` whose detail holds `words`; returns it.
fn problem(res: Response, status: u16, words: &str) -> Value {
    assert_eq!(res.status().as_u16(), status);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let p: Value = res.json().unwrap();
    assert_eq!(p["status"], status);
    let detail = p["detail"].as_str().unwrap();
    assert!(detail.contains(words), "{detail:?} does not say {words:?}");
    p
}

fn events(app: &TestApp, kind: &str) -> Vec<AuditEvent> {
    audit::of_kind(&mut app.conn(), kind).unwrap()
}

fn detail(e: &AuditEvent) -> Value {
    serde_json::from_str(&e.detail).unwrap()
}

/// The route of every API call of the tests below but the webhooks', with a body
/// that works, by the scope it needs.
fn calls(case_ref: &str) -> Vec<(Scope, &'static str, String, Option<Value>)> {
    vec![
        (
            Scope::AlertsWrite,
            "POST",
            "/api/v1/alerts".into(),
            Some(alert("scoped-1", "LARGE_TRANSFER", "C-scoped")),
        ),
        (
            Scope::AlertsWrite,
            "POST",
            "/api/v1/alerts/batch".into(),
            Some(json!({"alerts": [alert("scoped-2", "LARGE_TRANSFER", "C-scoped")]})),
        ),
        (Scope::CasesRead, "GET", "/api/v1/cases".into(), None),
        (
            Scope::CasesRead,
            "GET",
            format!("/api/v1/cases/{case_ref}"),
            None,
        ),
        (
            Scope::CasesRead,
            "GET",
            format!("/api/v1/cases/{case_ref}/events"),
            None,
        ),
        (
            Scope::CasesRead,
            "POST",
            "/api/v1/calendars/preview".into(),
            Some(json!({"calendar": "24/7", "start": "2026-11-24T15:30:00Z", "minutes": 90})),
        ),
        (Scope::LabelsRead, "GET", "/api/v1/labels".into(), None),
        (Scope::LabelsRead, "GET", "/api/v1/snoozes".into(), None),
        (
            Scope::WebhooksManage,
            "GET",
            "/api/v1/webhooks".into(),
            None,
        ),
    ]
}

#[test]
fn each_scope_opens_its_routes_and_a_key_without_it_is_refused_by_name() {
    let app = app();
    let all = app.api_key();
    let (s, r) = app.post_api(
        &all,
        "/api/v1/alerts",
        &alert("a-1", "LARGE_TRANSFER", "C-1"),
    );
    assert_eq!(s, 201, "{r}");
    let case_ref = r["case_ref"].as_str().unwrap().to_string();

    for scope in Scope::ALL {
        let holding = app.api_key_with(only(scope), None, None);
        let lacking = app.api_key_with(Scopes::all().without(scope), None, None);
        for (needs, method, path, body) in calls(&case_ref) {
            let alerts = app.count("alerts");
            let res = call(&app, &holding, method, &path, body.as_ref());
            if needs == scope {
                assert!(
                    res.status().is_success(),
                    "{method} {path} with {scope}: {}",
                    res.status()
                );
            } else {
                let p = problem(
                    res,
                    403,
                    &format!("this key lacks the scope {needs} (it has {scope})"),
                );
                assert_eq!(p["title"], "Forbidden");
                assert_eq!(app.count("alerts"), alerts, "a refused call stores nothing");
            }
            if needs == scope {
                let res = call(&app, &lacking, method, &path, body.as_ref());
                problem(res, 403, &format!("this key lacks the scope {needs}"));
            }
        }
    }
}

#[test]
fn a_new_key_may_only_post_alerts_unless_given_more() {
    let app = app();
    let (key, secret) = riskdesk::accounts::create_api_key(
        &mut app.conn(),
        app.clock.now(),
        &riskdesk::accounts::Actor::cli(),
        "engine",
    )
    .unwrap();
    assert_eq!(key.scopes, "alerts:write");
    assert_eq!(key.rate_limit, 300_000);
    assert_eq!(key.expires_at, None);
    let (s, r) = app.post_api(
        &secret,
        "/api/v1/alerts",
        &alert("d-1", "LARGE_TRANSFER", "C-d"),
    );
    assert_eq!(s, 201);
    let case_ref = r["case_ref"].as_str().unwrap();
    problem(
        call(
            &app,
            &secret,
            "GET",
            &format!("/api/v1/cases/{case_ref}"),
            None,
        ),
        403,
        "Not allowed: this key lacks the scope cases:read (it has alerts:write).",
    );
    // The creation is on the record with the key's settings.
    let created = events(&app, "apikey.created");
    let d = detail(created.last().unwrap());
    assert_eq!(d["scopes"], "alerts:write");
    assert_eq!(d["rate_limit"], 300_000);
    assert_eq!(d["expires_at"], Value::Null);
}

#[test]
fn refusals_for_scope_are_audited_at_most_once_a_minute_with_their_count() {
    let app = app();
    let key = app.api_key_with(only(Scope::AlertsWrite), None, None);
    let labels = || {
        call(&app, &key, "GET", "/api/v1/labels", None)
            .status()
            .as_u16()
    };
    assert_eq!(labels(), 403);
    let refused = events(&app, "apikey.scope_refused");
    assert_eq!(refused.len(), 1, "on the record when the answer is read");
    let d = detail(&refused[0]);
    assert_eq!(refused[0].subject.as_deref(), Some("test"));
    assert_eq!(refused[0].actor_user_id, None);
    assert_eq!(refused[0].ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(d["scope"], "labels:read");
    assert_eq!(d["method"], "GET");
    assert_eq!(d["route"], "/api/v1/labels");
    assert_eq!(d["refusals"], 1);
    assert_eq!(
        d["prefix"],
        riskdesk::domain::tokens::api_key_prefix(&key).unwrap()
    );
    for _ in 0..4 {
        assert_eq!(labels(), 403);
    }
    assert_eq!(events(&app, "apikey.scope_refused").len(), 1);
    // Another scope is another line of the record.
    assert_eq!(call(&app, &key, "GET", "/api/v1/cases", None).status(), 403);
    let refused = events(&app, "apikey.scope_refused");
    assert_eq!(refused.len(), 2);
    assert_eq!(detail(&refused[1])["scope"], "cases:read");
    app.clock.advance(Duration::minutes(1));
    assert_eq!(labels(), 403);
    let refused = events(&app, "apikey.scope_refused");
    assert_eq!(refused.len(), 3);
    assert_eq!(
        detail(&refused[2])["refusals"],
        5,
        "the four in between and this one"
    );
    // The audit page names them in the reader's language.
    let admin = app.signed_in("admin");
    let page = admin.get("/admin/audit").text().unwrap();
    assert!(page.contains("API key refused: scope missing"), "{page}");
}

#[test]
fn an_expired_key_is_refused_with_401_and_shown_as_expired() {
    let app = app();
    let key = app.api_key_with(Scopes::all(), Some(1), None);
    let (s, _) = app.get_api(&key, "/api/v1/cases");
    assert_eq!(s, 200);
    app.clock
        .advance(Duration::hours(24) - Duration::seconds(1));
    assert_eq!(app.get_api(&key, "/api/v1/cases").0, 200);
    app.clock.advance(Duration::seconds(1));
    let res = call(&app, &key, "GET", "/api/v1/cases", None);
    assert_eq!(res.headers()["www-authenticate"], "Bearer");
    problem(
        res,
        401,
        "This API key expired at 2026-11-25T01:00:00+00:00",
    );
    let res = call(
        &app,
        &key,
        "POST",
        "/api/v1/alerts",
        Some(&alert("x-1", "LARGE_TRANSFER", "C-x")),
    );
    problem(res, 401, "expired");
    assert_eq!(app.count("alerts"), 0);
    let refused = events(&app, "apikey.expired_refused");
    assert_eq!(refused.len(), 1, "once a minute");
    let d = detail(&refused[0]);
    assert_eq!(d["expired_at"], "2026-11-25T01:00:00+00:00");
    assert_eq!(d["route"], "/api/v1/cases");

    let admin = app.signed_in("admin");
    let page = admin.get("/admin/api-keys").text().unwrap();
    assert!(
        page.contains("<span class=\"tag warn\">Expired</span>"),
        "{page}"
    );
    assert!(
        page.contains("2026-11-25 09:00") || page.contains("2026-11-25 01:00"),
        "{page}"
    );
}

#[test]
fn remembered_keys_are_refused_at_once_here_and_within_seconds_elsewhere() {
    let app = TestApp::spawn_with(|s| s.session_cache = Duration::seconds(2));
    app.apply_config(DESK);
    let (here, elsewhere) = (app.api_key(), app.api_key());
    for key in [&here, &elsewhere] {
        assert_eq!(
            app.get_api(key, "/api/v1/cases").0,
            200,
            "read and remembered"
        );
    }
    // The whole key is still compared with its digest: a remembered prefix with
    // another secret is refused.
    let k = riskdesk::apikeys::find_by_prefix(&mut app.conn(), &here).unwrap();
    let forged = format!("rdk_{}_{}", k.prefix, "x".repeat(43));
    problem(
        call(&app, &forged, "GET", "/api/v1/cases", None),
        401,
        "An API key is required",
    );

    // Revoked through this instance's admin page: refused at once.
    let admin = app.signed_in("admin");
    let res = admin.submit(
        "/admin/api-keys",
        &format!("/admin/api-keys/{}/revoke", k.id),
        &[],
    );
    assert_eq!(res.status(), 303);
    problem(
        call(&app, &here, "GET", "/api/v1/cases", None),
        401,
        "This API key was revoked",
    );

    // Revoked elsewhere (the command line, another instance): the remembered key
    // serves at most the two seconds more.
    assert_eq!(app.get_api(&elsewhere, "/api/v1/cases").0, 200);
    let e = riskdesk::apikeys::find_by_prefix(&mut app.conn(), &elsewhere).unwrap();
    riskdesk::apikeys::revoke(
        &mut app.conn(),
        app.clock.now(),
        &riskdesk::accounts::Actor::cli(),
        e.id,
    )
    .unwrap();
    assert_eq!(
        app.get_api(&elsewhere, "/api/v1/cases").0,
        200,
        "still remembered"
    );
    app.clock.advance(Duration::seconds(2));
    problem(
        call(&app, &elsewhere, "GET", "/api/v1/cases", None),
        401,
        "This API key was revoked",
    );
}

#[test]
fn a_revoked_key_is_refused_with_401_saying_so() {
    let app = app();
    let key = app.api_key();
    assert_eq!(app.get_api(&key, "/api/v1/cases").0, 200);
    let k = riskdesk::apikeys::find_by_prefix(&mut app.conn(), &key).unwrap();
    let admin = app.signed_in("admin");
    let res = admin.submit(
        "/admin/api-keys",
        &format!("/admin/api-keys/{}/revoke", k.id),
        &[],
    );
    assert_eq!(res.status(), 303);
    let res = call(&app, &key, "GET", "/api/v1/cases", None);
    assert_eq!(res.headers()["www-authenticate"], "Bearer");
    problem(res, 401, "This API key was revoked");
    assert_eq!(events(&app, "apikey.revoked_refused").len(), 1);
    // A key that is not one of the desk's says nothing of any key.
    let forged = format!("rdk_{}_{}", k.prefix, "x".repeat(43));
    problem(
        call(&app, &forged, "GET", "/api/v1/cases", None),
        401,
        "An API key is required",
    );
    assert_eq!(events(&app, "apikey.revoked_refused").len(), 1);
    // Revoking again changes nothing and records nothing.
    let res = admin.submit(
        "/admin/api-keys",
        &format!("/admin/api-keys/{}/revoke", k.id),
        &[],
    );
    assert_eq!(res.status(), 303);
    assert_eq!(events(&app, "apikey.revoked").len(), 1);
    let res = admin.submit("/admin/api-keys", "/admin/api-keys/999999/revoke", &[]);
    assert_eq!(res.status(), 404);
}

#[test]
fn a_key_over_its_rate_limit_gets_429_with_retry_after_until_its_allowance_refills() {
    let app = app();
    let key = app.api_key_with(Scopes::all(), None, Some(3));
    let other = app.api_key();
    for _ in 0..3 {
        assert_eq!(app.get_api(&key, "/api/v1/cases").0, 200);
    }
    let res = call(&app, &key, "GET", "/api/v1/cases", None);
    assert_eq!(res.headers()["retry-after"], "20");
    problem(
        res,
        429,
        "This key is over its rate limit of 3 requests a minute; retry after 20 s.",
    );
    // An alert over the limit is not stored.
    let res = call(
        &app,
        &key,
        "POST",
        "/api/v1/alerts",
        Some(&alert("r-1", "LARGE_TRANSFER", "C-r")),
    );
    assert_eq!(res.status(), 429);
    assert_eq!(app.count("alerts"), 0);
    // Other keys have their own allowance.
    assert_eq!(app.get_api(&other, "/api/v1/cases").0, 200);
    app.clock.advance(Duration::seconds(15));
    let res = call(&app, &key, "GET", "/api/v1/cases", None);
    assert_eq!(res.headers()["retry-after"], "5");
    assert_eq!(res.status(), 429);
    app.clock.advance(Duration::seconds(5));
    assert_eq!(app.get_api(&key, "/api/v1/cases").0, 200);
    assert_eq!(app.get_api(&key, "/api/v1/cases").0, 429);
    // A quiet minute refills the whole allowance, no more.
    app.clock.advance(Duration::minutes(5));
    for _ in 0..3 {
        assert_eq!(app.get_api(&key, "/api/v1/cases").0, 200);
    }
    assert_eq!(app.get_api(&key, "/api/v1/cases").0, 429);
    let limited = events(&app, "apikey.rate_limited");
    assert_eq!(limited.len(), 2, "{limited:?}");
    let d = detail(&limited[0]);
    assert_eq!(d["rate_limit"], 3);
    assert_eq!(d["refusals"], 1);
    // The alert, the one at 15 s, the one after the refill, and this one.
    assert_eq!(detail(&limited[1])["refusals"], 4);
}

#[test]
fn a_keys_use_is_written_once_a_minute_and_audited_once_an_hour() {
    let app = app();
    let key = app.api_key();
    let k = || riskdesk::apikeys::find_by_prefix(&mut app.conn(), &key).unwrap();
    assert_eq!(k().last_used_at, None);
    for _ in 0..10 {
        assert_eq!(app.get_api(&key, "/api/v1/cases").0, 200);
    }
    let used = events(&app, "apikey.used");
    assert_eq!(used.len(), 1);
    let d = detail(&used[0]);
    assert_eq!(d["requests"], 1);
    assert_eq!(d["since"], "2026-11-24T01:00:00+00:00");
    assert_eq!(used[0].subject.as_deref(), Some("test"));
    assert_eq!(k().last_used_at, Some(app.clock.now().naive_utc()));
    // The admin page shows it.
    let admin = app.signed_in("admin");
    let page = admin.get("/admin/api-keys").text().unwrap();
    assert!(page.contains("2026-11-24 "), "{page}");
    app.clock.advance(Duration::minutes(59));
    assert_eq!(app.get_api(&key, "/api/v1/cases").0, 200);
    assert_eq!(events(&app, "apikey.used").len(), 1);
    app.clock.advance(Duration::minutes(1));
    assert_eq!(app.get_api(&key, "/api/v1/cases").0, 200);
    let used = events(&app, "apikey.used");
    assert_eq!(used.len(), 2);
    assert_eq!(
        detail(&used[1])["requests"],
        11,
        "the ten after the first, and this one"
    );
    assert_eq!(k().last_used_at, Some(app.clock.now().naive_utc()));
}

#[test]
fn webhooks_are_managed_through_the_api_with_the_same_commands_and_record() {
    let app = app();
    let key = app.api_key_with(only(Scope::WebhooksManage), None, None);
    let prefix = riskdesk::domain::tokens::api_key_prefix(&key)
        .unwrap()
        .to_string();
    let res = call(
        &app,
        &key,
        "POST",
        "/api/v1/webhooks",
        Some(
            &json!({"name": "engine", "url": "https://engine.bank.example/hook",
                     "events": ["case.resolved", "transaction.decided"]}),
        ),
    );
    assert_eq!(res.status(), 201);
    let made: Value = res.json().unwrap();
    let id = made["id"].as_i64().unwrap();
    let secret = made["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"), "{made}");
    assert_eq!(
        made["events"],
        json!(["case.resolved", "transaction.decided"])
    );
    assert_eq!(made["enabled"], true);
    assert_eq!(made["rotated_at"], Value::Null);

    let (s, list) = app.get_api(&key, "/api/v1/webhooks");
    assert_eq!(s, 200);
    assert_eq!(list["webhooks"][0]["name"], "engine");
    assert_eq!(list["webhooks"][0]["waiting"], 0);
    assert!(
        !list.to_string().contains(&secret),
        "the secret is shown once"
    );

    let res = call(
        &app,
        &key,
        "POST",
        &format!("/api/v1/webhooks/{id}/disable"),
        None,
    );
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().unwrap()["enabled"], false);
    let res = call(
        &app,
        &key,
        "POST",
        &format!("/api/v1/webhooks/{id}/enable"),
        None,
    );
    assert_eq!(res.json::<Value>().unwrap()["enabled"], true);
    let res = call(
        &app,
        &key,
        "POST",
        &format!("/api/v1/webhooks/{id}/rotate"),
        None,
    );
    assert_eq!(res.status(), 200);
    let rotated: Value = res.json().unwrap();
    let new_secret = rotated["secret"].as_str().unwrap();
    assert!(new_secret.starts_with("whsec_") && new_secret != secret);
    assert_eq!(rotated["rotated_at"], "2026-11-24T01:00:00+00:00");
    // The admin page shows what the API did.
    let admin = app.signed_in("admin");
    assert!(
        admin
            .get("/admin/webhooks")
            .text()
            .unwrap()
            .contains("engine")
    );

    // Bad input is named field by field and adds nothing.
    let res = call(
        &app,
        &key,
        "POST",
        "/api/v1/webhooks",
        Some(
            &json!({"name": "engine", "url": "ftp://x", "events": ["case.closed", 3], "secret": "mine"}),
        ),
    );
    let p = problem(res, 422, "4 fields broke the rules");
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["url", "events[0]", "events[1]", "secret"]);
    let res = call(
        &app,
        &key,
        "POST",
        "/api/v1/webhooks",
        Some(&json!({"name": "engine", "url": "https://other.example/"})),
    );
    let p = problem(res, 422, "name");
    assert_eq!(
        p["errors"][0]["message"],
        "a webhook named 'engine' exists already"
    );
    let res = call(
        &app,
        &key,
        "POST",
        "/api/v1/webhooks",
        Some(&json!({"name": "all", "url": "https://other.example/", "events": []})),
    );
    problem(res, 422, "events");
    problem(
        call(&app, &key, "POST", "/api/v1/webhooks", None),
        400,
        "not valid JSON",
    );
    assert_eq!(app.count("webhooks"), 1);

    let res = call(
        &app,
        &key,
        "DELETE",
        &format!("/api/v1/webhooks/{id}"),
        None,
    );
    assert_eq!(res.status(), 204);
    assert_eq!(app.count("webhooks"), 0);
    problem(
        call(
            &app,
            &key,
            "DELETE",
            &format!("/api/v1/webhooks/{id}"),
            None,
        ),
        404,
        &format!("No webhook has the id {id}."),
    );
    problem(
        call(&app, &key, "POST", "/api/v1/webhooks/abc/disable", None),
        404,
        "No webhook has the id 'abc'.",
    );

    // Each change is on the record as from the admin page, with the key named.
    for kind in [
        "webhook.added",
        "webhook.disabled",
        "webhook.enabled",
        "webhook.secret_rotated",
        "webhook.deleted",
    ] {
        let e = events(&app, kind);
        assert_eq!(e.len(), 1, "{kind}");
        assert_eq!(e[0].subject.as_deref(), Some("engine"));
        assert_eq!(e[0].actor_user_id, None);
        assert_eq!(e[0].ip.as_deref(), Some("127.0.0.1"));
        let d = detail(&e[0]);
        assert_eq!(d["api_key"]["prefix"], prefix.as_str(), "{kind}: {d}");
        assert_eq!(d["api_key"]["name"], "test");
        assert!(!e[0].detail.contains("whsec_"), "no secret in the record");
    }
}

#[test]
fn the_openapi_document_names_each_routes_scope() {
    let app = TestApp::spawn();
    let doc: Value = reqwest::blocking::get(app.url("/api/openapi.json"))
        .unwrap()
        .json()
        .unwrap();
    let op = |path: &str, method: &str| doc["paths"][path][method].clone();
    for (path, method, scope) in [
        ("/api/v1/alerts", "post", "alerts:write"),
        ("/api/v1/cases/{case_ref}", "get", "cases:read"),
        ("/api/v1/calendars/preview", "post", "cases:read"),
        ("/api/v1/snoozes", "get", "labels:read"),
        ("/api/v1/webhooks", "get", "webhooks:manage"),
        ("/api/v1/webhooks", "post", "webhooks:manage"),
        ("/api/v1/webhooks/{id}", "delete", "webhooks:manage"),
        ("/api/v1/webhooks/{id}/disable", "post", "webhooks:manage"),
        ("/api/v1/webhooks/{id}/enable", "post", "webhooks:manage"),
        ("/api/v1/webhooks/{id}/rotate", "post", "webhooks:manage"),
    ] {
        let o = op(path, method);
        assert_eq!(
            o["security"],
            json!([{"api_key": [scope]}]),
            "{method} {path}"
        );
        assert!(
            o["description"]
                .as_str()
                .unwrap()
                .contains(&format!("the scope `{scope}`")),
            "{o}"
        );
        for status in ["401", "403", "429"] {
            assert!(
                o["responses"][status].is_object(),
                "{method} {path} {status}"
            );
        }
        assert!(o["responses"]["429"]["headers"]["Retry-After"].is_object());
    }
    assert!(
        op("/api/v1/webhooks", "post")["responses"]["201"]["content"]["application/json"]
            .is_object()
    );
    assert!(op("/api/openapi.json", "get").is_null());
}

#[test]
fn the_admin_page_creates_keys_with_scopes_expiry_and_rate_limit() {
    let app = TestApp::spawn();
    let admin = app.signed_in("admin");
    let page = admin.get("/admin/api-keys").text().unwrap();
    // The form offers every scope, alerts:write ticked, and the default limit.
    for s in Scope::ALL {
        assert!(
            page.contains(&format!("name=\"scopes\" value=\"{s}\"")),
            "{s}"
        );
    }
    assert!(page.contains("value=\"alerts:write\" checked"));
    assert!(page.contains("name=\"rate_limit\" type=\"number\" min=\"1\" max=\"1000000\" step=\"1\" required value=\"300000\""));
    let res = admin.submit(
        "/admin/api-keys",
        "/admin/api-keys",
        &[
            ("name", "reader"),
            ("scopes", "cases:read"),
            ("scopes", "labels:read"),
            ("expires_in_days", "30"),
            ("rate_limit", "120"),
        ],
    );
    assert_eq!(res.status(), 200);
    let html = res.text().unwrap();
    let i = html.find("class=\"secret\"><code>").unwrap() + "class=\"secret\"><code>".len();
    let key = html[i..i + html[i..].find('<').unwrap()].to_string();
    let k = riskdesk::apikeys::find_by_prefix(&mut app.conn(), &key).unwrap();
    assert_eq!(k.name, "reader");
    assert_eq!(k.scopes, "cases:read,labels:read");
    assert_eq!(k.rate_limit, 120);
    assert_eq!(
        k.expires_at,
        Some((app.clock.now() + Duration::days(30)).naive_utc())
    );
    assert!(
        html.contains("<code>cases:read</code> <code>labels:read</code>"),
        "{html}"
    );
    assert!(html.contains("120/min"));
    assert!(html.contains("2026-12-24 "), "the expiry is shown");
    assert_eq!(app.get_api(&key, "/api/v1/labels").0, 200);
    assert_eq!(
        app.post_api(&key, "/api/v1/alerts", &alert("p-1", "X", "C"))
            .0,
        403
    );

    // Each wrong field is named in the reader's language, the form kept, nothing made.
    let before = app.count("api_keys");
    for (fields, words) in [
        (
            vec![("name", "none ticked"), ("rate_limit", "10")],
            "Tick at least one scope.",
        ),
        (
            vec![
                ("name", "bad"),
                ("scopes", "cases:write"),
                ("rate_limit", "10"),
            ],
            "There is no scope named cases:write.",
        ),
        (
            vec![
                ("name", "bad"),
                ("scopes", "cases:read"),
                ("rate_limit", "0"),
            ],
            "The rate limit must be a whole number",
        ),
        (
            vec![
                ("name", "bad"),
                ("scopes", "cases:read"),
                ("rate_limit", "ten"),
            ],
            "The rate limit must be a whole number",
        ),
        (
            vec![
                ("name", "bad"),
                ("scopes", "cases:read"),
                ("rate_limit", "10"),
                ("expires_in_days", "0"),
            ],
            "A key expires in 1 to 3,650 days",
        ),
        (
            vec![
                ("name", " "),
                ("scopes", "cases:read"),
                ("rate_limit", "10"),
            ],
            "The key&#39;s name must have 1 to 100 characters.",
        ),
    ] {
        let res = admin.submit("/admin/api-keys", "/admin/api-keys", &fields);
        assert_eq!(res.status(), 422, "{fields:?}");
        let html = res.text().unwrap();
        assert!(html.contains(words), "{fields:?}: {html}");
    }
    assert_eq!(app.count("api_keys"), before);
    let res = admin.submit(
        "/admin/api-keys",
        "/admin/api-keys",
        &[
            ("name", "kept"),
            ("scopes", "webhooks:manage"),
            ("rate_limit", "x"),
        ],
    );
    let html = res.text().unwrap();
    assert!(html.contains("value=\"kept\""));
    assert!(html.contains("value=\"webhooks:manage\" checked"));
    assert!(!html.contains("value=\"alerts:write\" checked"));

    // In Chinese, too.
    let res = admin
        .client
        .get(app.url("/admin/api-keys"))
        .header("Accept-Language", "zh-CN")
        .send()
        .unwrap();
    let html = res.text().unwrap();
    assert!(html.contains("权限范围"), "{html}");
}

#[test]
fn the_command_line_creates_lists_and_revokes_keys_and_refuses_bad_flags() {
    let d = desk();
    // Unknown scopes and bad numbers: exit 1, one line naming the flag, nothing made.
    for (args, words) in [
        (
            vec!["--scopes", "cases:read,cases:write"],
            "--scopes: unknown scope 'cases:write'; the scopes are alerts:write, cases:read, labels:read, webhooks:manage",
        ),
        (
            vec!["--scopes", " , "],
            "--scopes: a key needs at least one scope of alerts:write, cases:read, labels:read, webhooks:manage",
        ),
        (
            vec!["--rate-limit", "0"],
            "--rate-limit: the rate limit must be from 1 to 1000000",
        ),
        (
            vec!["--expires-in-days", "0"],
            "--expires-in-days: a key expires in 1 to 3650 days",
        ),
    ] {
        let mut all = vec!["apikey", "create", "--name", "engine"];
        all.extend(args.iter());
        let (code, out, err) = d.run(&all, None);
        assert_eq!(code, 1, "{all:?}: {out}{err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(
            err.starts_with(&format!("riskdesk: error: {words}")),
            "{all:?}: {err}"
        );
        assert!(!out.contains("rdk_"));
    }
    let (code, _, err) = d.run(
        &["apikey", "create", "--name", "e", "--rate-limit", "many"],
        None,
    );
    assert_eq!(code, 2, "bad usage: {err}");
    let (code, out, _) = d.run(&["apikey", "list"], None);
    assert_eq!(code, 0);
    assert_eq!(out.trim(), "no API keys");

    let (code, out, err) = d.run(
        &[
            "apikey",
            "create",
            "--name",
            "reader",
            "--scopes",
            "labels:read, cases:read",
            "--expires-in-days",
            "90",
            "--rate-limit",
            "600",
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("scopes: cases:read, labels:read"), "{out}");
    assert!(out.contains("expires: 20"), "{out}");
    assert!(
        out.contains("rate limit: 600 requests a minute (per instance)"),
        "{out}"
    );
    let key = out
        .lines()
        .find(|l| l.starts_with("rdk_"))
        .unwrap()
        .to_string();
    let prefix = riskdesk::domain::tokens::api_key_prefix(&key)
        .unwrap()
        .to_string();
    let (code, out, _) = d.run(&["apikey", "create", "--name", "engine"], None);
    assert_eq!(code, 0);
    assert!(
        out.contains("scopes: alerts:write") && out.contains("expires: never"),
        "{out}"
    );
    assert!(
        out.contains("rate limit: 300000 requests a minute"),
        "{out}"
    );

    let (_, out, _) = d.run(&["apikey", "list"], None);
    let line = out.lines().find(|l| l.contains("reader")).unwrap();
    assert!(
        line.starts_with(&format!(
            "rdk_{prefix}\treader\tactive\tcases:read,labels:read\texpires 20"
        )),
        "{line}"
    );
    assert!(line.contains("\t600/min\tlast used never"), "{line}");

    let (code, out, _) = d.run(
        &["apikey", "revoke", "--prefix", &format!("rdk_{prefix}")],
        None,
    );
    assert_eq!(code, 0);
    assert_eq!(
        out.trim(),
        format!("revoked API key 'reader' (rdk_{prefix})")
    );
    let (code, out, _) = d.run(&["apikey", "revoke", "--prefix", &prefix], None);
    assert_eq!(code, 0);
    assert!(out.contains("revoked already"));
    let (_, out, _) = d.run(&["apikey", "list"], None);
    assert!(out.lines().any(|l| l.contains("reader\trevoked")), "{out}");
    let (code, _, err) = d.run(&["apikey", "revoke", "--prefix", "rdk_nothere"], None);
    assert_eq!(code, 1);
    assert_eq!(
        err.trim(),
        "riskdesk: error: no API key has the prefix 'rdk_nothere'"
    );
}

#[test]
fn keys_made_before_scopes_existed_keep_every_scope() {
    use diesel::migration::MigrationSource;
    use diesel::prelude::*;
    use diesel_migrations::MigrationHarness;
    use riskdesk::db::DbConn;

    let app = TestApp::spawn();
    let mut conn = app.conn();
    // Undo this change's migration, make a key as the desk did before it, and migrate
    // again.
    macro_rules! round_trip {
        ($c:expr, $source:expr) => {{
            let migrations = MigrationSource::migrations(&$source).unwrap();
            let m = migrations
                .iter()
                .find(|m| m.name().to_string().ends_with("_api_key_scopes"))
                .expect("the migration");
            $c.revert_migration(&**m).unwrap();
            diesel::sql_query(
                "INSERT INTO api_keys (name, prefix, key_hash, created_at) \
                 VALUES ('old', 'oldkey01', 'x', '2026-11-01 00:00:00')",
            )
            .execute($c)
            .unwrap();
            $c.run_migration(&**m).unwrap();
        }};
    }
    match &mut *conn {
        DbConn::Sqlite(c) => round_trip!(c, riskdesk::db::SQLITE_MIGRATIONS),
        DbConn::Postgresql(c) => round_trip!(c, riskdesk::db::POSTGRES_MIGRATIONS),
    }
    let k = riskdesk::store::apikeys::find_by_prefix(&mut conn, "oldkey01")
        .unwrap()
        .unwrap();
    assert_eq!(k.scopes(), Scopes::all());
    assert_eq!(
        k.rate_limit(),
        riskdesk::domain::apikey::DEFAULT_RATE_LIMIT,
        "the limit of new keys"
    );
    assert_eq!(k.expires_at, None);
}
