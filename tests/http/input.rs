// The JSON API's input rules through HTTP: query parameters that cannot be read,
// bodies that are not objects, methods a path does not take, text that is empty,
// holds control or look-alike characters, amounts that are not canonical, times out
// of their window, and the description that states the same rules.

use chrono::Duration;
use reqwest::blocking::Client;
use serde_json::{Value, json};

use crate::common::TestApp;
use crate::intake::{DESK, alert};

fn desk() -> (TestApp, String) {
    let app = TestApp::spawn();
    app.apply_config(DESK);
    let key = app.api_key();
    (app, key)
}

fn fields(p: &Value) -> Vec<String> {
    p["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors in {p}"))
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_string())
        .collect()
}

fn nothing_stored(app: &TestApp) {
    assert_eq!(app.count("alerts"), 0);
    assert_eq!(app.count("cases"), 0);
    assert_eq!(app.count("customers"), 0);
}

#[test]
fn query_parameters_that_cannot_be_read_are_400s_naming_them() {
    let (app, key) = desk();
    for (query, field) in [
        ("limit=abc", "limit"),
        ("limit=-1", "limit"),
        ("limit=100000", "limit"),
        ("limit=0", "limit"),
        ("limit=1.5", "limit"),
        ("limit=", "limit"),
        ("limit=5&limit=6", "limit"),
        ("cursor=bm90LWEtY3Vyc29y", "cursor"),
        ("cursor=%00", "cursor"),
        ("updated_since=yesterday", "updated_since"),
        ("updated_since=2026-11-24", "updated_since"),
        ("updated_since=2026-02-30T00:00:00Z", "updated_since"),
        ("status=odd", "status"),
        ("queue=%E2%80%AETransfers", "queue"),
    ] {
        let (s, p) = app.get_api(&key, &format!("/api/v1/cases?{query}"));
        assert_eq!(s, 400, "{query}: {p}");
        assert_eq!(fields(&p), [field], "{query}");
        assert!(!p["detail"].as_str().unwrap().is_empty());
    }
    // Several at once: each named.
    let (s, p) = app.get_api(&key, "/api/v1/cases?limit=x&status=odd&cursor=!");
    assert_eq!(s, 400);
    let mut f = fields(&p);
    f.sort();
    assert_eq!(f, ["cursor", "limit", "status"]);
    // The same parameters read well still work, and unknown ones are ignored.
    let (s, p) = app.get_api(&key, "/api/v1/cases?limit=500&status=new&other=1");
    assert_eq!(s, 200, "{p}");
}

#[test]
fn a_body_that_is_not_an_object_is_named_as_the_body() {
    let (app, key) = desk();
    for body in [
        json!([alert("a", "R", "c")]),
        json!("alert"),
        json!(null),
        json!(7),
    ] {
        let (s, p) = app.post_api(&key, "/api/v1/alerts", &body);
        assert_eq!(s, 422, "{body}: {p}");
        assert_eq!(fields(&p), ["(body)"], "{body}");
        let (s, p) = app.post_api(&key, "/api/v1/alerts/batch", &body);
        assert_eq!(s, 422, "{body}: {p}");
        assert_eq!(fields(&p), ["(body)"], "{body}");
        let (s, p) = app.post_api(&key, "/api/v1/calendars/preview", &body);
        assert_eq!(s, 422, "{body}: {p}");
        assert_eq!(fields(&p), ["(body)"], "{body}");
    }
    // Not JSON at all: a 400 that names the body too.
    let res = Client::new()
        .post(app.url("/api/v1/alerts"))
        .bearer_auth(&key)
        .body("{\"external_id\": ")
        .send()
        .unwrap();
    assert_eq!(res.status(), 400);
    let p: Value = res.json().unwrap();
    assert_eq!(fields(&p), ["(body)"]);
    // In a batch each item is named by its place.
    let mut bad = alert("b", "LARGE_TRANSFER", "");
    bad["attributes"] = json!({"device_id": "d\u{200b}1"});
    let (s, r) = app.post_api(
        &key,
        "/api/v1/alerts/batch",
        &json!({"alerts": [alert("a", "LARGE_TRANSFER", "C-1"), bad, "x"]}),
    );
    assert_eq!(s, 200, "{r}");
    let results = r["results"].as_array().unwrap();
    assert_eq!(results[0]["deduplicated"], false);
    let mut f = fields(&results[1]);
    f.sort();
    assert_eq!(
        f,
        [
            "alerts[1].attributes.device_id",
            "alerts[1].customer.external_id"
        ]
    );
    assert_eq!(fields(&results[2]), ["alerts[2]"]);
    assert_eq!(app.count("alerts"), 1);
}

#[test]
fn methods_a_path_does_not_take_are_405s_with_allow() {
    let (app, key) = desk();
    let client = Client::new();
    let trace = reqwest::Method::from_bytes(b"TRACE").unwrap();
    for (method, path, allow) in [
        (trace.clone(), "/api/v1/alerts", "POST"),
        (reqwest::Method::PUT, "/api/v1/alerts", "POST"),
        (reqwest::Method::DELETE, "/api/v1/cases/RC-000001", "GET"),
        (reqwest::Method::POST, "/api/v1/cases", "GET"),
        (
            reqwest::Method::OPTIONS,
            "/api/v1/calendars/preview",
            "POST",
        ),
        (trace.clone(), "/api/openapi.json", "GET"),
    ] {
        let res = client
            .request(method.clone(), app.url(path))
            .bearer_auth(&key)
            .send()
            .unwrap();
        assert_eq!(res.status(), 405, "{method} {path}");
        assert_eq!(res.headers()["allow"], allow, "{method} {path}");
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        let p: Value = res.json().unwrap();
        assert_eq!(p["status"], 405);
    }
    // A browser page: the same, in the page layout, and no CSRF token is asked for.
    let res = client
        .request(trace.clone(), app.url("/login"))
        .send()
        .unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers()["allow"], "GET, POST");
    // A path nobody serves is still a 404, whatever the method.
    for method in [trace, reqwest::Method::GET, reqwest::Method::POST] {
        let res = client
            .request(method.clone(), app.url("/api/v1/nothing"))
            .bearer_auth(&key)
            .send()
            .unwrap();
        assert_eq!(res.status(), 404, "{method}");
        assert!(res.headers().get("allow").is_none());
    }
}

#[test]
fn text_that_is_empty_or_holds_control_or_look_alike_characters_is_refused() {
    let (app, key) = desk();
    let set = |v: &mut Value, path: &str, to: Value| {
        let mut at = v;
        for part in path.split('.') {
            at = &mut at[part];
        }
        *at = to;
    };
    for (path, bad) in [
        ("rule", json!("")),
        ("customer.external_id", json!("")),
        ("external_id", json!("")),
        ("customer.name", json!(" ")),
        ("external_id", json!("eng-\u{202e}1")),
        ("customer.external_id", json!("C-1\u{200b}")),
        ("customer.external_id", json!("C-\u{2066}1")),
        ("transaction_ref", json!("TX\u{feff}1")),
        ("customer.name", json!("Wang\u{202d}Wei")),
        ("attributes.device_id", json!("d-91ab\u{200d}")),
        ("attributes.channel", json!("app\u{0}")),
        ("attributes.channel", json!("app\u{85}")),
        ("attributes.channel", json!("app\u{9b}")),
        ("customer.name", json!("Wang\nWei")),
        ("external_id", json!("a b")),
        ("amount.value", json!("  1")),
        ("amount.value", json!("+1")),
        ("amount.value", json!("1e3")),
        ("amount.value", json!(0.5)),
        ("occurred_at", json!("0001-01-01T00:00:00Z")),
        ("occurred_at", json!("9999-12-31T23:59:59Z")),
        ("occurred_at", json!("2026-11-24 09:15:00Z")),
    ] {
        let mut v = alert("a-1", "LARGE_TRANSFER", "C-1");
        v["amount"] = json!({"value": "100.00", "currency": "CNY"});
        set(&mut v, path, bad.clone());
        let (s, p) = app.post_api(&key, "/api/v1/alerts", &v);
        assert_eq!(s, 422, "{path} = {bad}: {p}");
        assert_eq!(fields(&p), [path], "{path} = {bad}");
    }
    // Attribute names: control characters are refused, named by the JSON path.
    let mut v = alert("a-1", "LARGE_TRANSFER", "C-1");
    v["attributes"] = json!({"dev\u{0}ice": "x"});
    let (s, p) = app.post_api(&key, "/api/v1/alerts", &v);
    assert_eq!(s, 422);
    assert_eq!(fields(&p), ["attributes[\"dev\\u0000ice\"]"]);
    nothing_stored(&app);
}

#[test]
fn occurred_at_is_bounded_by_the_desks_own_clock() {
    let (app, key) = desk();
    let now = app.clock.now();
    let mut v = alert("late", "LARGE_TRANSFER", "C-1");
    v["occurred_at"] = json!((now + Duration::hours(25)).to_rfc3339());
    let (s, p) = app.post_api(&key, "/api/v1/alerts", &v);
    assert_eq!(s, 422, "{p}");
    assert_eq!(fields(&p), ["occurred_at"]);
    nothing_stored(&app);
    // A day ahead of the clock (clocks drift) is taken; so is a whole-number amount.
    v["occurred_at"] = json!((now + Duration::hours(23)).to_rfc3339());
    v["amount"] = json!({"value": 125000, "currency": "CNY"});
    let (s, r) = app.post_api(&key, "/api/v1/alerts", &v);
    assert_eq!(s, 201, "{r}");
    // When the clock moves on, so does the window.
    app.clock.advance(Duration::days(3));
    v["external_id"] = json!("later");
    v["occurred_at"] = json!((now + Duration::days(3)).to_rfc3339());
    let (s, r) = app.post_api(&key, "/api/v1/alerts", &v);
    assert_eq!(s, 201, "{r}");
}

#[test]
fn the_calendar_preview_takes_exactly_one_of_minutes_and_end() {
    let (app, key) = desk();
    let cal = json!({"timezone": "Asia/Shanghai", "hours": {"mon": [["09:00", "17:00"]]}});
    for (body, field) in [
        (
            json!({"calendar": "24/7", "start": "2026-11-24T00:00:00Z", "end": null}),
            "end",
        ),
        (
            json!({"calendar": "24/7", "start": "2026-11-24T00:00:00Z", "minutes": null}),
            "minutes",
        ),
        (
            json!({"calendar": "24/7", "start": "2026-11-24T00:00:00Z"}),
            "minutes",
        ),
        (
            json!({"calendar": "24/7", "start": "2026-11-24T00:00:00Z", "minutes": 5,
                   "end": "2026-11-25T00:00:00Z"}),
            "end",
        ),
        (
            json!({"calendar": cal, "start": "2026-11-24T00:00:00Z",
                   "end": "2040-01-01T00:00:00Z"}),
            "end",
        ),
        (
            json!({"calendar": cal, "start": null, "minutes": 5}),
            "start",
        ),
        (
            json!({"calendar": cal, "start": "2026-11-24T00:00:00Z", "minutes": -1}),
            "minutes",
        ),
        (
            json!({"calendar": {"timezone": "Asia/Shanghai", "hours": {"mon": []}},
                   "start": "2026-11-24T00:00:00Z", "minutes": 5}),
            "calendar.hours.mon",
        ),
        (
            json!({"calendar": {"timezone": "asia/shanghai", "hours": {"mon": [["09:00", "17:00"]]}},
                   "start": "2026-11-24T00:00:00Z", "minutes": 5}),
            "calendar.timezone",
        ),
        (
            json!({"calendar": {"timezone": "Asia/Shanghai", "hours": {"funday": [["09:00", "17:00"]]}},
                   "start": "2026-11-24T00:00:00Z", "minutes": 5}),
            "calendar.hours.funday",
        ),
    ] {
        let (s, p) = app.post_api(&key, "/api/v1/calendars/preview", &body);
        assert_eq!(s, 422, "{body}: {p}");
        assert_eq!(fields(&p), [field], "{body}");
    }
    let (s, r) = app.post_api(
        &key,
        "/api/v1/calendars/preview",
        &json!({"calendar": cal, "start": "2026-11-24T00:00:00Z", "minutes": 60.0}),
    );
    assert_eq!(s, 200, "{r}");
    assert_eq!(r, json!({"due": "2026-11-30T02:00:00Z"}));
}

#[test]
fn the_description_states_the_same_rules() {
    let app = TestApp::spawn();
    let doc: Value = reqwest::blocking::get(app.url("/api/openapi.json"))
        .unwrap()
        .json()
        .unwrap();
    let schemas = &doc["components"]["schemas"];
    let resolve = |v: &Value| -> Value {
        match v["$ref"].as_str() {
            Some(r) => schemas[r.rsplit('/').next().unwrap()].clone(),
            None => v.clone(),
        }
    };
    let alert = &schemas["AlertBody"];
    assert_eq!(
        alert["required"],
        json!(["external_id", "rule", "customer"])
    );
    let rule = resolve(&alert["properties"]["rule"]);
    assert_eq!(rule["minLength"], 1);
    assert_eq!(rule["pattern"], "^[A-Za-z0-9_.-]+$");
    let customer = &schemas["CustomerBody"];
    let cid = resolve(&customer["properties"]["external_id"]);
    assert_eq!(cid["minLength"], 1);
    assert!(cid["pattern"].as_str().unwrap().contains("\\u202a-\\u202e"));
    let amount = &schemas["AmountValue"];
    assert!(amount["oneOf"][0]["pattern"].is_string());
    // The preview's `end` is not nullable, and exactly one of minutes and end is asked.
    let preview = &schemas["PreviewBody"];
    let body = &preview["allOf"][0];
    assert_eq!(body["properties"]["end"]["type"], "string");
    assert_eq!(
        preview["allOf"][1]["oneOf"],
        json!([{"type": "object", "required": ["minutes"]}, {"type": "object", "required": ["end"]}])
    );
    // Every answer code an operation gives is described with the Problem schema.
    let problem = json!({"$ref": "#/components/schemas/Problem"});
    for (path, method, codes) in [
        ("/api/v1/alerts", "post", &["400", "401", "413", "422"][..]),
        (
            "/api/v1/alerts/batch",
            "post",
            &["400", "401", "413", "422"],
        ),
        ("/api/v1/cases", "get", &["400", "401", "422"]),
        ("/api/v1/cases/{case_ref}", "get", &["401", "404"]),
        ("/api/v1/cases/{case_ref}/events", "get", &["401", "404"]),
        ("/api/v1/labels", "get", &["400", "401"]),
        ("/api/v1/snoozes", "get", &["401"]),
        (
            "/api/v1/calendars/preview",
            "post",
            &["400", "401", "413", "422"],
        ),
    ] {
        let op = &doc["paths"][path][method];
        for code in codes {
            assert_eq!(
                op["responses"][code]["content"]["application/problem+json"]["schema"], problem,
                "{method} {path} {code}"
            );
        }
    }
    let params = doc["paths"]["/api/v1/cases"]["get"]["parameters"]
        .as_array()
        .unwrap();
    let limit = params.iter().find(|p| p["name"] == "limit").unwrap();
    assert_eq!(limit["schema"]["minimum"], 1);
    assert_eq!(limit["schema"]["maximum"], 500);
}
