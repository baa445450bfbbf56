// The test harness: starts the real application on port 0 over a fresh database of
// its own (a temporary SQLite file, or a new PostgreSQL database when
// RISKDESK_TEST_DATABASE_URL names a server), and a cookie-keeping browser.

#![allow(dead_code)]

pub mod dovecot;
pub mod slapd;

use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use diesel::Connection;
use diesel::connection::SimpleConnection;
use reqwest::blocking::{Client, Response};
use riskdesk::accounts::{self, Actor, NewUserInput, RoutingInput};
use riskdesk::app::{AppState, Application};
use riskdesk::clock::Clock;
use riskdesk::config::Settings;
use riskdesk::db::DatabaseUrl;
use riskdesk::domain::password::NewPassword;
use riskdesk::domain::tokens;

/// A PostgreSQL database made for one test and dropped after it.
pub struct PgTestDb {
    admin_url: String,
    pub name: String,
    pub url: String,
}

impl PgTestDb {
    pub fn create(admin_url: &str) -> Self {
        let name = format!(
            "rd_test_{}",
            tokens::random_token(9)
                .to_lowercase()
                .replace(['-', '_'], "x")
        );
        let mut conn = diesel::PgConnection::establish(admin_url)
            .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {admin_url}: {e}"));
        conn.batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create test database");
        let base = admin_url
            .rsplit_once('/')
            .map(|(b, _)| b.to_string())
            .expect("a database URL with a path");
        PgTestDb {
            admin_url: admin_url.to_string(),
            url: format!("{base}/{name}"),
            name,
        }
    }
}

impl Drop for PgTestDb {
    fn drop(&mut self) {
        if let Ok(mut conn) = diesel::PgConnection::establish(&self.admin_url) {
            let _ = conn.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// A fresh database: (URL, temp dir holding the data dir, PostgreSQL guard).
pub fn fresh_database() -> (DatabaseUrl, tempfile::TempDir, Option<PgTestDb>) {
    let dir = tempfile::tempdir().expect("temp dir");
    match std::env::var("RISKDESK_TEST_DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => {
            let db = PgTestDb::create(url.trim());
            (DatabaseUrl::parse(&db.url).unwrap(), dir, Some(db))
        }
        _ => {
            let path = dir.path().join("riskdesk.db");
            (DatabaseUrl::Sqlite(path), dir, None)
        }
    }
}

pub fn on_postgres() -> bool {
    std::env::var("RISKDESK_TEST_DATABASE_URL").is_ok_and(|u| !u.trim().is_empty())
}

/// The start of every test clock: a Tuesday morning in Shanghai.
pub fn test_epoch() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 1, 0, 0).unwrap()
}

pub struct TestApp {
    pub base: String,
    pub state: AppState,
    pub clock: Clock,
    pub database_url: String,
    handle: actix_web::dev::ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
    pub dir: tempfile::TempDir,
    _pg: Option<PgTestDb>,
}

impl TestApp {
    pub fn spawn() -> TestApp {
        Self::spawn_with(|_| {})
    }

    /// Starts the application after `tweak` has adjusted its settings.
    pub fn spawn_with(tweak: impl FnOnce(&mut Settings)) -> TestApp {
        // RUST_LOG=riskdesk=debug shows the application's log in a failing test.
        if let Ok(filter) = std::env::var("RUST_LOG") {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
                .with_test_writer()
                .try_init();
        }
        let (database, dir, pg) = fresh_database();
        Self::start(database, dir, pg, Clock::manual(test_epoch()), tweak)
    }

    /// A second instance of the desk on the same database and clock, as a team
    /// running several instances would have.
    pub fn second_instance(&self) -> TestApp {
        self.second_instance_with(|_| {})
    }

    /// [`TestApp::second_instance`] after `tweak` has adjusted its settings.
    pub fn second_instance_with(&self, tweak: impl FnOnce(&mut Settings)) -> TestApp {
        let database = DatabaseUrl::parse(&self.database_url).unwrap();
        let dir = tempfile::tempdir().unwrap();
        Self::start(database, dir, None, self.clock.clone(), tweak)
    }

    /// Stops this instance and starts the desk again on the same database, data
    /// directory and clock, as after a restart.
    pub fn restart(self) -> TestApp {
        self.restart_with(|_| {})
    }

    /// [`TestApp::restart`] after `tweak` has adjusted the settings.
    pub fn restart_with(mut self, tweak: impl FnOnce(&mut Settings)) -> TestApp {
        let database = DatabaseUrl::parse(&self.database_url).unwrap();
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
        let pg = self._pg.take();
        let clock = self.clock.clone();
        drop(self);
        Self::start(database, dir, pg, clock, tweak)
    }

    fn start(
        database: DatabaseUrl,
        dir: tempfile::TempDir,
        pg: Option<PgTestDb>,
        clock: Clock,
        tweak: impl FnOnce(&mut Settings),
    ) -> TestApp {
        let database_url = match &database {
            DatabaseUrl::Sqlite(p) => format!("sqlite://{}", p.display()),
            DatabaseUrl::Postgres(u) => u.clone(),
        };
        let mut settings = Settings::for_data_dir(dir.path().join("data"), database);
        // Room for the intake writers beside the requests of a busy test.
        settings.pool_size = 8;
        tweak(&mut settings);
        let state = AppState::open(settings, clock.clone()).expect("open the app");
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, rx) = mpsc::channel();
        let st = state.clone();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let app = Application::build(st, listener).expect("build");
                tx.send(app.server.handle()).unwrap();
                let _ = app.server.await;
            })
        });
        let handle = rx.recv_timeout(Duration::from_secs(30)).expect("server up");
        TestApp {
            base: format!("http://127.0.0.1:{port}"),
            state,
            clock,
            database_url,
            handle,
            thread: Some(thread),
            dir,
            _pg: pg,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn browser(&self) -> Browser {
        Browser::new(&self.base)
    }

    /// Creates a user straight through the accounts service; returns the password.
    pub fn create_user(&self, email: &str, role: &str) -> String {
        let password = NewPassword::generate();
        let mut conn = self.state.pool.get().unwrap();
        accounts::create_user(
            &mut conn,
            self.clock.now(),
            &Actor::cli(),
            &NewUserInput {
                email,
                name: &format!("Test {role}"),
                role,
                language: None,
            },
            &password,
        )
        .expect("create user");
        password.expose().to_string()
    }

    /// Creates an agent (offline) with queue memberships, skills and capacity,
    /// straight through the accounts service; returns their id and password.
    pub fn create_agent(
        &self,
        email: &str,
        queues: &[&str],
        skills: &[&str],
        capacity: i32,
    ) -> (i64, String) {
        let password = NewPassword::generate();
        let mut conn = self.conn();
        let user = accounts::create_user(
            &mut conn,
            self.clock.now(),
            &Actor::cli(),
            &NewUserInput {
                email,
                name: email,
                role: "agent",
                language: None,
            },
            &password,
        )
        .expect("create agent");
        accounts::set_routing(
            &mut conn,
            self.clock.now(),
            &Actor::cli(),
            user.id,
            &RoutingInput {
                queues: queues.iter().map(|s| s.to_string()).collect(),
                skills: skills.iter().map(|s| s.to_string()).collect(),
                capacity,
                shift_calendar: None,
                auto_assign: true,
            },
            |_| Ok(()),
        )
        .expect("agent routing");
        (user.id, password.expose().to_string())
    }

    /// [`TestApp::create_agent`], signed in (still offline).
    pub fn agent(
        &self,
        email: &str,
        queues: &[&str],
        skills: &[&str],
        capacity: i32,
    ) -> (Browser, i64) {
        let (id, password) = self.create_agent(email, queues, skills, capacity);
        let b = self.browser();
        assert_eq!(b.login(email, &password).status(), 303);
        (b, id)
    }

    /// A browser signed in as a new user of `role`.
    pub fn signed_in(&self, role: &str) -> Browser {
        let email = format!(
            "{role}.{}@bank.example",
            tokens::random_token(4)
                .to_lowercase()
                .replace(['-', '_'], "x")
        );
        let password = self.create_user(&email, role);
        let b = self.browser();
        let res = b.login(&email, &password);
        assert_eq!(res.status(), 303, "sign-in as {role} failed");
        b
    }

    pub fn conn(&self) -> riskdesk::db::PooledConn {
        self.state.pool.get().unwrap()
    }

    /// A new API key for the JSON API with every scope (the tests of scopes make
    /// their own with [`TestApp::api_key_with`]).
    pub fn api_key(&self) -> String {
        self.api_key_with(riskdesk::domain::apikey::Scopes::all(), None, None)
    }

    /// A new API key with these scopes, days to live and rate limit (`None`: no
    /// expiry, the default limit).
    pub fn api_key_with(
        &self,
        scopes: riskdesk::domain::apikey::Scopes,
        expires_in_days: Option<u32>,
        rate_limit: Option<u32>,
    ) -> String {
        let mut conn = self.conn();
        riskdesk::apikeys::create(
            &mut conn,
            self.clock.now(),
            &Actor::cli(),
            &riskdesk::domain::apikey::KeyRequest {
                name: "test",
                scopes,
                expires_in_days,
                rate_limit,
            },
        )
        .unwrap()
        .1
    }

    /// Applies a desk configuration (TOML) through the same path as the command line.
    pub fn apply_config(&self, toml: &str) {
        let mut conn = self.conn();
        riskdesk::desk::apply_text(&mut conn, self.clock.now(), &Actor::cli(), toml, false)
            .unwrap_or_else(|e| panic!("config: {e:?}"));
    }

    /// Posts JSON to the API with `key`; returns the status and the parsed answer.
    pub fn post_api(
        &self,
        key: &str,
        path: &str,
        body: &serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let res = Client::new()
            .post(self.url(path))
            .bearer_auth(key)
            .json(body)
            .send()
            .unwrap();
        let status = res.status().as_u16();
        (status, res.json().unwrap_or(serde_json::Value::Null))
    }

    pub fn get_api(&self, key: &str, path: &str) -> (u16, serde_json::Value) {
        let res = Client::new()
            .get(self.url(path))
            .bearer_auth(key)
            .send()
            .unwrap();
        let status = res.status().as_u16();
        (status, res.json().unwrap_or(serde_json::Value::Null))
    }

    /// Counts the rows of a table.
    pub fn count(&self, table: &str) -> i64 {
        use diesel::prelude::*;
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}"))
            .get_result::<N>(&mut *self.conn())
            .unwrap()
            .n
    }

    /// The kinds of the audit events recorded so far, oldest first.
    pub fn audit_kinds(&self) -> Vec<String> {
        use diesel::prelude::*;
        use riskdesk::db::schema::audit_events::dsl::*;
        let mut conn = self.conn();
        audit_events
            .order(id.asc())
            .select(kind)
            .load::<String>(&mut *conn)
            .unwrap()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        let _ = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(handle.stop(false));
        })
        .join();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The browser's cookies. The desk under test listens on plain http on loopback
/// while its public URL may be https (as behind a TLS-terminating proxy), so this
/// jar keeps `Secure` and `__Host-` cookies as a browser on the https site would,
/// and sends every cookie back whatever the path.
#[derive(Default)]
pub struct LoopbackJar(std::sync::Mutex<std::collections::BTreeMap<String, String>>);

impl reqwest::cookie::CookieStore for LoopbackJar {
    fn set_cookies(
        &self,
        headers: &mut dyn Iterator<Item = &reqwest::header::HeaderValue>,
        _url: &reqwest::Url,
    ) {
        let mut jar = self.0.lock().unwrap();
        for h in headers {
            let Ok(text) = h.to_str() else { continue };
            let mut parts = text.split(';');
            let Some((name, value)) = parts.next().and_then(|kv| kv.trim().split_once('=')) else {
                continue;
            };
            let removed = parts.any(|a| {
                let a = a.trim().to_ascii_lowercase();
                a == "max-age=0" || a.starts_with("expires=thu, 01 jan 1970")
            });
            if removed || value.is_empty() {
                jar.remove(name);
            } else {
                jar.insert(name.to_string(), value.to_string());
            }
        }
    }

    fn cookies(&self, _url: &reqwest::Url) -> Option<reqwest::header::HeaderValue> {
        let jar = self.0.lock().unwrap();
        if jar.is_empty() {
            return None;
        }
        let text = jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        reqwest::header::HeaderValue::from_str(&text).ok()
    }
}

/// A browser: keeps cookies, does not follow redirects, reads CSRF tokens from pages.
pub struct Browser {
    base: String,
    pub client: Client,
    jar: std::sync::Arc<LoopbackJar>,
}

impl Browser {
    pub fn new(base: &str) -> Self {
        let jar = std::sync::Arc::new(LoopbackJar::default());
        Browser {
            base: base.to_string(),
            client: Client::builder()
                .cookie_provider(jar.clone())
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            jar,
        }
    }

    /// The address of the site, e.g. `http://127.0.0.1:4321`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The value of a cookie the browser holds for the site; a name without its
    /// `__Host-` prefix finds the prefixed cookie too (an https desk's).
    pub fn cookie(&self, name: &str) -> Option<String> {
        let jar = self.jar.0.lock().unwrap();
        jar.get(name)
            .or_else(|| jar.get(&format!("__Host-{name}")))
            .cloned()
    }

    pub fn get(&self, path: &str) -> Response {
        self.client
            .get(format!("{}{}", self.base, path))
            .send()
            .unwrap()
    }

    pub fn get_lang(&self, path: &str, accept_language: &str) -> Response {
        self.client
            .get(format!("{}{}", self.base, path))
            .header("Accept-Language", accept_language)
            .send()
            .unwrap()
    }

    /// The CSRF token of the first form on the page at `path`.
    pub fn csrf_from(&self, path: &str) -> String {
        let body = self.get(path).text().unwrap();
        extract_csrf(&body).unwrap_or_else(|| panic!("no csrf_token on {path}"))
    }

    /// Posts a form exactly as given (no token added).
    pub fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        self.client
            .post(format!("{}{}", self.base, path))
            .form(fields)
            .send()
            .unwrap()
    }

    /// Posts a form with the CSRF token taken from the page at `from`, as a browser
    /// submitting that page's form would.
    pub fn submit(&self, from: &str, path: &str, fields: &[(&str, &str)]) -> Response {
        let token = self.csrf_from(from);
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("csrf_token", &token));
        self.post_raw(path, &all)
    }

    pub fn login(&self, email: &str, password: &str) -> Response {
        self.submit(
            "/login",
            "/login",
            &[("email", email), ("password", password)],
        )
    }

    pub fn logout(&self) -> Response {
        self.submit("/profile", "/logout", &[])
    }
}

pub fn extract_csrf(html: &str) -> Option<String> {
    let i = html.find("name=\"csrf_token\" value=\"")?;
    let rest = &html[i + "name=\"csrf_token\" value=\"".len()..];
    Some(rest[..rest.find('"')?].to_string())
}

/// `text` as a value in an `application/x-www-form-urlencoded` query, as the desk
/// writes the `next` of its sign-in redirects.
pub fn query_value(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                (b as char).to_string()
            }
            b' ' => "+".to_string(),
            b => format!("%{b:02X}"),
        })
        .collect()
}

pub fn location(res: &Response) -> String {
    res.headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}
