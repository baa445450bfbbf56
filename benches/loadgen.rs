// A small closed-loop HTTP/1.1 load generator over keep-alive connections, shared by
// the benchmark programs: each connection sends a request, reads the answer, repeats.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// One keep-alive connection.
pub struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    host: String,
}

impl Conn {
    pub fn open(addr: &str) -> Conn {
        let s = TcpStream::connect(addr).expect("connect");
        s.set_nodelay(true).unwrap();
        Conn {
            reader: BufReader::new(s.try_clone().unwrap()),
            writer: s,
            host: addr.to_string(),
        }
    }

    /// Sends one request and returns the status and body.
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, Vec<u8>) {
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n",
            self.host,
            body.len()
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        let mut out = req.into_bytes();
        out.extend_from_slice(body);
        self.writer.write_all(&out).expect("send");
        let mut line = String::new();
        self.reader.read_line(&mut line).expect("status line");
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("status");
        let mut len = 0usize;
        let mut chunked = false;
        loop {
            line.clear();
            self.reader.read_line(&mut line).expect("header");
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            let lower = l.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-length:") {
                len = v.trim().parse().unwrap_or(0);
            }
            if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
                chunked = true;
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                line.clear();
                self.reader.read_line(&mut line).expect("chunk size");
                let size = usize::from_str_radix(line.trim(), 16).unwrap_or(0);
                let mut chunk = vec![0; size + 2];
                self.reader.read_exact(&mut chunk).expect("chunk");
                if size == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..size]);
            }
        } else {
            body.resize(len, 0);
            self.reader.read_exact(&mut body).expect("body");
        }
        (status, body)
    }
}

/// Latency figures of one run.
pub struct Report {
    pub requests: usize,
    pub errors: usize,
    pub elapsed: Duration,
    pub latencies: Vec<Duration>,
}

impl Report {
    pub fn per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    pub fn percentile(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let i = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[i]
    }

    pub fn print(&self, what: &str) {
        println!(
            "{what}: {} requests in {:.1} s = {:.0}/s; latency p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms; {} errors",
            self.requests,
            self.elapsed.as_secs_f64(),
            self.per_second(),
            ms(self.percentile(0.50)),
            ms(self.percentile(0.90)),
            ms(self.percentile(0.99)),
            ms(self.latencies.last().copied().unwrap_or_default()),
            self.errors,
        );
    }
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Runs `connections` closed loops for `duration`; `make` builds each request from
/// (connection, sequence) and `ok` judges the status.
pub fn run<F>(addr: &str, connections: usize, duration: Duration, make: F) -> Report
where
    F: Fn(usize, usize) -> (String, String, Vec<(String, String)>, Vec<u8>) + Send + Sync + 'static,
{
    let make = Arc::new(make);
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let threads: Vec<_> = (0..connections)
        .map(|c| {
            let (make, stop, addr) = (make.clone(), stop.clone(), addr.to_string());
            std::thread::spawn(move || {
                let mut conn = Conn::open(&addr);
                let mut lat = Vec::new();
                let mut errors = 0;
                let mut seq = 0;
                while !stop.load(Ordering::Relaxed) {
                    let (method, path, headers, body) = make(c, seq);
                    seq += 1;
                    let h: Vec<(&str, &str)> = headers
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str()))
                        .collect();
                    let t = Instant::now();
                    let (status, _) = conn.request(&method, &path, &h, &body);
                    lat.push(t.elapsed());
                    if status >= 400 {
                        if errors == 0 && std::env::var_os("RISKDESK_BENCH_DEBUG").is_some() {
                            eprintln!("{status} {method} {path}");
                        }
                        errors += 1;
                    }
                }
                (lat, errors)
            })
        })
        .collect();
    std::thread::sleep(duration);
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    let mut errors = 0;
    for t in threads {
        let (l, e) = t.join().unwrap();
        latencies.extend(l);
        errors += e;
    }
    let elapsed = start.elapsed();
    latencies.sort_unstable();
    Report {
        requests: latencies.len(),
        errors,
        elapsed,
        latencies,
    }
}

/// Processor time used so far by this process's threads named `name` (user and
/// system, from /proc; Linux counts it in hundredths of a second). Unlike a clock
/// on the wall, it does not grow while a thread waits for a lock or for the other
/// programs on the machine.
#[allow(dead_code)]
pub fn thread_cpu(name: &str) -> Duration {
    let mut total = Duration::ZERO;
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return total;
    };
    for task in tasks.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.trim_end() != name {
            continue;
        }
        total += stat_cpu(&task.path().join("stat"));
    }
    total
}

/// Processor time used so far by the calling thread.
#[allow(dead_code)]
pub fn own_cpu() -> Duration {
    stat_cpu(std::path::Path::new("/proc/thread-self/stat"))
}

fn stat_cpu(path: &std::path::Path) -> Duration {
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at its ")".
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are the 14th and 15th fields of the line, 12th and 13th here.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

/// Starts the application in-process on a free loopback port, as `riskdesk serve`
/// would, and returns its address once it accepts connections.
pub fn serve(state: &riskdesk::app::AppState) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let st = state.clone();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let app = riskdesk::app::Application::build(st, listener).expect("build");
            let _ = app.server.await;
        })
    });
    std::thread::sleep(Duration::from_millis(300));
    addr
}

/// A signed-in session for `user_id`, as a sign-in makes it; returns the cookie.
pub fn session_cookie(conn: &mut riskdesk::db::DbConn, user_id: i64) -> String {
    use riskdesk::domain::tokens;
    let token = tokens::random_token(32);
    let at = riskdesk::store::to_db(chrono::Utc::now());
    riskdesk::store::sessions::insert(
        conn,
        &riskdesk::store::sessions::NewSession {
            token_hash: &tokens::digest(&token),
            user_id,
            csrf_token: &tokens::random_token(32),
            created_at: at,
            last_seen_at: at,
            ip: None,
        },
    )
    .unwrap();
    format!("riskdesk_session={token}")
}
