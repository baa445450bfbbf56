// Operations: liveness, readiness, Prometheus metrics and request ids.

use std::time::Duration;

use crate::common::TestApp;

#[test]
fn health_and_readiness() {
    let app = TestApp::spawn();
    let b = app.browser();
    assert_eq!(b.get("/healthz").text().unwrap(), "ok\n");
    let res = b.get("/readyz");
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().unwrap(), "ready\n");
}

#[test]
fn readiness_fails_while_the_database_does_not_answer() {
    let app = TestApp::spawn_with(|s| s.pool_size = 2);
    // Hold every connection: to the app the database no longer answers.
    let held: Vec<_> = (0..2)
        .map(|_| app.state.pool.get_timeout(Duration::from_secs(5)).unwrap())
        .collect();
    let b = app.browser();
    let res = b.get("/readyz");
    assert_eq!(res.status(), 503);
    let text = res.text().unwrap();
    assert!(text.starts_with("database unavailable"), "{text}");
    assert_eq!(b.get("/healthz").status(), 200, "alive all the same");
    drop(held);
    assert_eq!(b.get("/readyz").status(), 200);
}

#[test]
fn metrics_count_requests_by_route_and_show_the_pool() {
    let app = TestApp::spawn();
    let b = app.browser();
    for _ in 0..3 {
        b.get("/login");
    }
    b.get("/static/nothing.css");
    let text = b.get("/metrics").text().unwrap();
    assert!(
        text.contains(
            "riskdesk_http_requests_total{method=\"GET\",route=\"/login\",status=\"200\"} 3"
        ),
        "{text}"
    );
    assert!(text.contains("route=\"/static/{file}\",status=\"404\"} 1"));
    assert!(text.contains("riskdesk_http_request_duration_seconds_bucket{method=\"GET\",route=\"/login\",le=\"+Inf\"} 3"));
    assert!(text.contains("riskdesk_db_pool_connections{state=\"idle\"}"));
    assert!(text.contains("riskdesk_db_pool_max_connections 8"));
    let backend = if crate::common::on_postgres() {
        "postgres"
    } else {
        "sqlite"
    };
    assert!(text.contains(&format!("backend=\"{backend}\"")));
}

#[test]
fn request_ids_are_given_or_kept() {
    let app = TestApp::spawn();
    let b = app.browser();
    let res = b
        .client
        .get(app.url("/healthz"))
        .header("X-Request-Id", "trace-abc-123")
        .send()
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "trace-abc-123");
    let res = b
        .client
        .get(app.url("/healthz"))
        .header("X-Request-Id", "bad id with spaces")
        .send()
        .unwrap();
    let id = res.headers()["x-request-id"].to_str().unwrap();
    assert!(!id.contains(' ') && !id.is_empty());
}
