// The command line as an operator uses it: migrate, user add, apikey create, serve
// (with --demo and its sample alert stream), exit codes and messages, and a graceful
// stop on SIGTERM.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Browser, fresh_database};
use riskdesk::db::DatabaseUrl;

pub struct Desk {
    pub url: String,
    pub dir: tempfile::TempDir,
    _pg: Option<crate::common::PgTestDb>,
}

pub fn desk() -> Desk {
    let (db, dir, pg) = fresh_database();
    let url = match db {
        DatabaseUrl::Sqlite(p) => format!("sqlite://{}", p.display()),
        DatabaseUrl::Postgres(u) => u,
    };
    Desk { url, dir, _pg: pg }
}

impl Desk {
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_riskdesk"));
        c.args(args)
            .arg("--data-dir")
            .arg(self.dir.path().join("data"))
            .env("RISKDESK_DATABASE_URL", &self.url)
            .env_remove("RISKDESK_BIND")
            .env("RUST_LOG", "warn");
        c
    }

    pub fn run(&self, args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
        let mut child = self
            .cmd(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        if let Some(input) = stdin {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
        } else {
            drop(child.stdin.take());
        }
        let out = child.wait_with_output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

#[test]
fn migrate_user_add_and_apikey_create() {
    let d = desk();
    let (code, out, _) = d.run(&["migrate"], None);
    assert_eq!(code, 0);
    assert!(out.contains("up to date"));

    let (code, out, err) = d.run(
        &[
            "user",
            "add",
            "--email",
            "Li.Na@Bank.Example",
            "--name",
            "李娜",
            "--role",
            "agent",
            "--password-stdin",
        ],
        Some("a-long-password-1\n"),
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("created agent li.na@bank.example"));
    assert!(!out.contains("password:"));

    let (code, out, _) = d.run(
        &[
            "user",
            "add",
            "--email",
            "boss@bank.example",
            "--name",
            "Boss",
            "--role",
            "admin",
        ],
        None,
    );
    assert_eq!(code, 0);
    let pw = out
        .lines()
        .find_map(|l| l.strip_prefix("password: "))
        .expect("a generated password");
    assert_eq!(pw.len(), 20);

    // Routing flags: the queue must exist (a fresh desk has Triage only).
    let (code, _, err) = d.run(
        &[
            "user",
            "add",
            "--email",
            "q@bank.example",
            "--name",
            "Q",
            "--role",
            "agent",
            "--queues",
            "Nowhere",
        ],
        None,
    );
    assert_eq!(code, 1);
    assert!(err.contains("no queue is named 'Nowhere'"), "{err}");
    let (code, out, err) = d.run(
        &[
            "user",
            "add",
            "--email",
            "q@bank.example",
            "--name",
            "Q",
            "--role",
            "agent",
            "--queues",
            "Triage",
            "--skills",
            "fraud,aml",
            "--capacity",
            "7",
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("queues: Triage; skills: fraud, aml; capacity: 7"),
        "{out}"
    );
    let (code, _, err) = d.run(
        &[
            "user",
            "add",
            "--email",
            "r@bank.example",
            "--name",
            "R",
            "--role",
            "agent",
            "--capacity",
            "500",
        ],
        None,
    );
    assert_eq!(code, 1);
    assert!(err.contains("--capacity"), "{err}");

    let (code, out, _) = d.run(&["apikey", "create", "--name", "engine"], None);
    assert_eq!(code, 0);
    assert!(out.lines().any(|l| l.starts_with("rdk_")), "{out}");
}

#[test]
fn bad_input_exits_1_with_one_clear_line() {
    let d = desk();
    let cases: [(&[&str], Option<&str>, &str); 5] = [
        (
            &[
                "user",
                "add",
                "--email",
                "x@bank.example",
                "--name",
                "X",
                "--role",
                "boss",
            ],
            None,
            "unknown role 'boss'",
        ),
        (
            &[
                "user",
                "add",
                "--email",
                "not-an-email",
                "--name",
                "X",
                "--role",
                "agent",
            ],
            None,
            "not an e-mail address",
        ),
        (
            &[
                "user",
                "add",
                "--email",
                "x@bank.example",
                "--name",
                "X",
                "--role",
                "agent",
                "--password-stdin",
            ],
            Some("short\n"),
            "shorter than 12",
        ),
        (
            &["apikey", "create", "--name", " "],
            None,
            "1 to 100 characters",
        ),
        (
            &[
                "user",
                "add",
                "--email",
                "x@bank.example",
                "--name",
                " ",
                "--role",
                "agent",
            ],
            None,
            "name is empty",
        ),
    ];
    for (args, stdin, needle) in cases {
        let (code, _, err) = d.run(args, stdin);
        assert_eq!(code, 1, "{args:?}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    let add = [
        "user",
        "add",
        "--email",
        "dup@bank.example",
        "--name",
        "D",
        "--role",
        "agent",
    ];
    assert_eq!(d.run(&add, None).0, 0);
    let (code, _, err) = d.run(&add, None);
    assert_eq!(code, 1);
    assert!(err.contains("exists already"), "{err}");

    // Bad usage is exit 2.
    let (code, _, _) = d.run(&["user", "add", "--email", "x@bank.example"], None);
    assert_eq!(code, 2);
    let (code, _, _) = d.run(&["frobnicate"], None);
    assert_eq!(code, 2);
}

#[test]
fn an_unknown_database_scheme_is_an_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_riskdesk"))
        .args(["migrate", "--database-url", "mysql://root@localhost/rd"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unsupported database URL scheme 'mysql'"),
        "{err}"
    );
}

/// A running `riskdesk serve`; killed if a test fails before it stops it.
pub struct Running(pub std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Starts `serve` on a free port and returns the process, its address, and what it
/// printed before listening.
pub fn serve(d: &Desk, extra: &[&str]) -> (Running, String, Vec<String>) {
    serve_with_env(d, extra, &[])
}

/// [`serve`] with environment variables set.
pub fn serve_with_env(
    d: &Desk,
    extra: &[&str],
    env: &[(&str, &str)],
) -> (Running, String, Vec<String>) {
    let mut args = vec!["serve", "--bind", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    let mut child = Running(
        d.cmd(&args)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(child.0.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "the server did not start");
        let line = lines.next().expect("server output").unwrap();
        if let Some(rest) = line.strip_prefix("riskdesk listening on ") {
            let base = rest.split_whitespace().next().unwrap().to_string();
            // Keep draining stdout so the server never blocks on it.
            std::thread::spawn(move || for _ in lines {});
            return (child, base, printed);
        }
        printed.push(line);
    }
}

fn terminate(running: &mut Running) -> std::process::ExitStatus {
    let child = &mut running.0;
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        assert!(Instant::now() < deadline, "no graceful stop");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn serve_demo_seeds_logins_that_work_and_stops_on_sigterm() {
    let d = desk();
    // A day of history is enough here (tests/http/demo.rs looks at the history).
    let (mut child, base, printed) = serve(&d, &["--demo", "--demo-days=1"]);
    let admin = printed
        .iter()
        .find(|l| l.contains("admin@riskdesk.demo"))
        .expect("the demo admin's login is printed");
    let password = admin.split_whitespace().last().unwrap();
    let b = Browser::new(&base);
    assert_eq!(b.get("/readyz").status(), 200);
    let res = b.login("admin@riskdesk.demo", password);
    assert_eq!(res.status(), 303);
    let home = b.get("/").text().unwrap();
    assert!(home.contains("Alex Admin"));
    // The desk was seeded as a demo desk: the sample alerts flow.
    assert!(
        printed.iter().any(|l| l.contains(STREAM_RUNS)),
        "{printed:?}"
    );
    assert!(
        printed.iter().any(|l| l.contains(AGENTS_RUN)),
        "{printed:?}"
    );
    let status = terminate(&mut child);
    assert!(status.success(), "graceful stop exits 0: {status:?}");

    // A second start with --demo seeds nothing and keeps the data; the stream and
    // the simulated agents can be switched off.
    let (mut child, base, printed) =
        serve(&d, &["--demo", "--demo-stream=false", "--demo-agents=0"]);
    assert!(
        printed.iter().any(|l| l.contains("nothing seeded")),
        "{printed:?}"
    );
    assert!(
        printed.iter().any(|l| l.contains(STREAM_OFF)),
        "{printed:?}"
    );
    assert!(
        !printed.iter().any(|l| l.contains(STREAM_RUNS)),
        "{printed:?}"
    );
    assert!(
        printed.iter().any(|l| l.contains(AGENTS_OFF)),
        "{printed:?}"
    );
    assert!(
        !printed.iter().any(|l| l.contains(AGENTS_RUN)),
        "{printed:?}"
    );
    let b = Browser::new(&base);
    assert_eq!(b.login("admin@riskdesk.demo", password).status(), 303);
    assert!(terminate(&mut child).success());

    // Also through the environment.
    let (mut child, base, printed) = serve_with_env(
        &d,
        &["--demo"],
        &[
            ("RISKDESK_DEMO_STREAM", "false"),
            ("RISKDESK_DEMO_AGENTS", "0"),
        ],
    );
    // Up and running (its signal handlers too) before it is stopped.
    assert_eq!(Browser::new(&base).get("/readyz").status(), 200);
    assert!(
        printed.iter().any(|l| l.contains(STREAM_OFF)),
        "{printed:?}"
    );
    assert!(
        !printed.iter().any(|l| l.contains(STREAM_RUNS)),
        "{printed:?}"
    );
    assert!(
        printed.iter().any(|l| l.contains(AGENTS_OFF)),
        "{printed:?}"
    );
    assert!(terminate(&mut child).success());
}

const AGENTS_RUN: &str = "demo: 5 simulated agents take, call and resolve the cases";
const AGENTS_OFF: &str = "demo: no simulated agents work the cases (--demo-agents=0)";
const STREAM_RUNS: &str = "demo: a sample alert arrives every 20 to 60 seconds";
const STREAM_OFF: &str = "demo: the sample alert stream is switched off";

#[test]
fn serve_demo_files_no_sample_alerts_into_a_desk_not_seeded_as_demo() {
    let d = desk();
    let (code, _, err) = d.run(
        &[
            "user",
            "add",
            "--email",
            "boss@bank.example",
            "--name",
            "Boss",
            "--role",
            "admin",
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let (mut child, base, printed) = serve(&d, &["--demo"]);
    assert_eq!(Browser::new(&base).get("/readyz").status(), 200);
    assert!(
        printed.iter().any(|l| l.contains("nothing seeded")),
        "{printed:?}"
    );
    assert!(
        printed
            .iter()
            .any(|l| l.contains("not seeded as a demo desk; no sample alerts are filed into it")),
        "{printed:?}"
    );
    assert!(
        printed
            .iter()
            .any(|l| l.contains("no simulated agents on a desk not seeded as a demo desk")),
        "{printed:?}"
    );
    assert!(
        !printed.iter().any(|l| l.contains(STREAM_RUNS)),
        "{printed:?}"
    );
    assert!(terminate(&mut child).success());
}
