// Request counts and latencies by route, kept in memory and served in the
// Prometheus text format at /metrics together with the database pool's use.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Debug, Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<(String, String), Histogram>>,
}

impl Metrics {
    pub fn observe(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        *self
            .requests
            .lock()
            .expect("metrics lock")
            .entry((method.to_string(), route.to_string(), status))
            .or_default() += 1;
        let secs = elapsed.as_secs_f64();
        let mut lat = self.latency.lock().expect("metrics lock");
        let h = lat
            .entry((method.to_string(), route.to_string()))
            .or_default();
        h.count += 1;
        h.sum += secs;
        for (i, le) in BUCKETS.iter().enumerate() {
            if secs <= *le {
                h.counts[i] += 1;
            }
        }
    }

    /// The Prometheus exposition of everything observed, plus the pool's state.
    pub fn render(&self, pool: &diesel::r2d2::State, pool_max: u32, backend: &str) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP riskdesk_build_info Version and database backend."
        );
        let _ = writeln!(out, "# TYPE riskdesk_build_info gauge");
        let _ = writeln!(
            out,
            "riskdesk_build_info{{version=\"{}\",backend=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION"),
            backend
        );
        let _ = writeln!(
            out,
            "# HELP riskdesk_http_requests_total HTTP requests by route and status."
        );
        let _ = writeln!(out, "# TYPE riskdesk_http_requests_total counter");
        for ((m, r, s), n) in self.requests.lock().expect("metrics lock").iter() {
            let _ = writeln!(
                out,
                "riskdesk_http_requests_total{{method=\"{m}\",route=\"{}\",status=\"{s}\"}} {n}",
                escape(r)
            );
        }
        let _ = writeln!(
            out,
            "# HELP riskdesk_http_request_duration_seconds Time to answer, by route."
        );
        let _ = writeln!(
            out,
            "# TYPE riskdesk_http_request_duration_seconds histogram"
        );
        for ((m, r), h) in self.latency.lock().expect("metrics lock").iter() {
            let r = escape(r);
            for (i, le) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "riskdesk_http_request_duration_seconds_bucket{{method=\"{m}\",route=\"{r}\",le=\"{le}\"}} {}",
                    h.counts[i]
                );
            }
            let _ = writeln!(
                out,
                "riskdesk_http_request_duration_seconds_bucket{{method=\"{m}\",route=\"{r}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "riskdesk_http_request_duration_seconds_sum{{method=\"{m}\",route=\"{r}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "riskdesk_http_request_duration_seconds_count{{method=\"{m}\",route=\"{r}\"}} {}",
                h.count
            );
        }
        let _ = writeln!(
            out,
            "# HELP riskdesk_db_pool_connections Database connections by state."
        );
        let _ = writeln!(out, "# TYPE riskdesk_db_pool_connections gauge");
        let idle = pool.idle_connections;
        let busy = pool.connections.saturating_sub(idle);
        let _ = writeln!(out, "riskdesk_db_pool_connections{{state=\"idle\"}} {idle}");
        let _ = writeln!(
            out,
            "riskdesk_db_pool_connections{{state=\"in_use\"}} {busy}"
        );
        let _ = writeln!(
            out,
            "# HELP riskdesk_db_pool_max_connections The pool's size."
        );
        let _ = writeln!(out, "# TYPE riskdesk_db_pool_max_connections gauge");
        let _ = writeln!(out, "riskdesk_db_pool_max_connections {pool_max}");
        out
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
