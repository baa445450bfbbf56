// The parts of the million-case generators that the page and report benchmarks
// share: settings from the environment, the database the desk is built in (a SQLite
// file, or a PostgreSQL database of its own with `RISKDESK_BENCH_DATABASE_URL`), the
// demo desk's mix of rules and queues, a deterministic random generator and batched
// multi-row INSERTs straight into the database.

#![allow(dead_code)]

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use riskdesk::db::{DatabaseUrl, DbConn};

/// A number from the environment variable `name`, else `default`.
pub fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Where a benchmark builds its desk: a SQLite file (the default), or, when
/// `RISKDESK_BENCH_DATABASE_URL=postgres://…/<name>` is set, a PostgreSQL database of
/// that name which the benchmark drops and creates (so it must be one of its own).
#[derive(Clone, Debug)]
pub enum BenchDb {
    Sqlite(PathBuf),
    Postgres(String),
}

impl BenchDb {
    /// The database of `RISKDESK_BENCH_DATABASE_URL`, else the SQLite file `file`.
    pub fn from_env(file: PathBuf) -> BenchDb {
        match std::env::var("RISKDESK_BENCH_DATABASE_URL") {
            Ok(u) if !u.trim().is_empty() => match DatabaseUrl::parse(&u).expect("database URL") {
                DatabaseUrl::Postgres(u) => BenchDb::Postgres(u),
                DatabaseUrl::Sqlite(p) => BenchDb::Sqlite(p),
            },
            _ => BenchDb::Sqlite(file),
        }
    }

    /// True when `RISKDESK_BENCH_DATABASE_URL` names a PostgreSQL database.
    pub fn postgres_from_env() -> bool {
        matches!(BenchDb::from_env(PathBuf::new()), BenchDb::Postgres(_))
    }

    pub fn backend(&self) -> &'static str {
        match self {
            BenchDb::Sqlite(_) => "SQLite",
            BenchDb::Postgres(_) => "PostgreSQL",
        }
    }

    pub fn url(&self) -> DatabaseUrl {
        match self {
            BenchDb::Sqlite(p) => DatabaseUrl::Sqlite(p.clone()),
            BenchDb::Postgres(u) => DatabaseUrl::Postgres(u.clone()),
        }
    }

    /// The same server's database `name` (PostgreSQL); a sibling file for SQLite.
    pub fn sibling(&self, name: &str) -> BenchDb {
        match self {
            BenchDb::Sqlite(p) => BenchDb::Sqlite(p.with_file_name(format!("{name}.db"))),
            BenchDb::Postgres(u) => {
                let (base, _) = split_pg(u);
                BenchDb::Postgres(format!("{base}/{name}"))
            }
        }
    }

    /// The database's name (PostgreSQL) or file name.
    pub fn name(&self) -> String {
        match self {
            BenchDb::Sqlite(p) => p.file_name().unwrap().to_string_lossy().into_owned(),
            BenchDb::Postgres(u) => split_pg(u).1,
        }
    }

    /// Removes the database: the file and its WAL, or `DROP DATABASE … WITH (FORCE)`.
    pub fn remove(&self) {
        match self {
            BenchDb::Sqlite(p) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut f = p.clone().into_os_string();
                    f.push(suffix);
                    let _ = std::fs::remove_file(f);
                }
            }
            BenchDb::Postgres(u) => {
                let (base, name) = split_pg(u);
                let mut admin = PgConnection::establish(&format!("{base}/postgres"))
                    .expect("connect to the server's postgres database");
                admin
                    .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .expect("drop the benchmark database");
            }
        }
    }

    /// A new, empty database (dropped first if it was there); the application's
    /// migrations create its tables when it opens.
    pub fn recreate(&self) {
        self.remove();
        match self {
            BenchDb::Sqlite(p) => assert!(!p.exists(), "{} exists already", p.display()),
            BenchDb::Postgres(u) => {
                let (base, name) = split_pg(u);
                let mut admin = PgConnection::establish(&format!("{base}/postgres")).unwrap();
                admin
                    .batch_execute(&format!(
                        "CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0"
                    ))
                    .expect("create the benchmark database");
            }
        }
    }

    /// True when the database is there (for reuse of a kept desk).
    pub fn exists(&self) -> bool {
        match self {
            BenchDb::Sqlite(p) => p.exists(),
            BenchDb::Postgres(u) => PgConnection::establish(u).is_ok(),
        }
    }

    /// A connection for filling: no waiting for the disk and no foreign key checks
    /// (rows go in before the rows they point to are flushed).
    pub fn open_fill(&self) -> DbConn {
        match self {
            BenchDb::Sqlite(p) => {
                let mut c = SqliteConnection::establish(p.to_str().unwrap()).unwrap();
                c.batch_execute("PRAGMA synchronous = OFF; PRAGMA foreign_keys = OFF; PRAGMA cache_size = -200000; PRAGMA temp_store = MEMORY;")
                    .unwrap();
                DbConn::Sqlite(c)
            }
            BenchDb::Postgres(u) => {
                let mut c = PgConnection::establish(u).unwrap();
                c.batch_execute(
                    "SET synchronous_commit = off; SET session_replication_role = replica;",
                )
                .unwrap();
                DbConn::Postgresql(c)
            }
        }
    }
}

/// `postgres://user@host:port/name?…` as (`postgres://user@host:port`, `name`).
fn split_pg(url: &str) -> (String, String) {
    let (head, _query) = url.split_once('?').unwrap_or((url, ""));
    let (base, name) = head.rsplit_once('/').expect("a database name in the URL");
    assert!(
        !name.is_empty() && !base.ends_with('/'),
        "a database name in the URL"
    );
    (base.to_string(), name.to_string())
}

/// Ends a fill: commits, moves PostgreSQL's id sequences past the ids written, and
/// gathers the planner's statistics ([`analyze`]), checkpointing SQLite's WAL.
pub fn finish_fill(db: &mut DbConn) {
    db.batch_execute("COMMIT").unwrap();
    if let DbConn::Postgresql(c) = db {
        for t in ["customers", "cases", "alerts"] {
            c.batch_execute(&format!(
                "SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT max(id) FROM {t}))"
            ))
            .unwrap();
        }
    }
    analyze(db);
    if let DbConn::Sqlite(c) = db {
        c.batch_execute("PRAGMA wal_checkpoint(TRUNCATE);").unwrap();
    }
}

/// Gathers the planner's statistics after a bulk write: `ANALYZE` on SQLite;
/// `VACUUM ANALYZE` on PostgreSQL, which also marks the freshly written pages all
/// visible, as autovacuum does on a desk in service, so that covering indexes are
/// read alone (an index-only scan) instead of visiting the table for every row.
pub fn analyze(db: &mut DbConn) {
    match db {
        DbConn::Sqlite(c) => c.batch_execute("ANALYZE").unwrap(),
        DbConn::Postgresql(c) => c.batch_execute("VACUUM ANALYZE").unwrap(),
    }
}

/// The SQL literal of a boolean, understood by both databases.
pub fn b(v: bool) -> &'static str {
    if v { "TRUE" } else { "FALSE" }
}

/// The resident memory of this process in KiB, from /proc/self/status: `VmRSS`,
/// `VmHWM` (its peak), `RssAnon` (its own pages) and `RssFile` (mapped files).
pub fn memory_kib() -> [(&'static str, u64); 4] {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    [
        ("VmRSS", field("VmRSS:")),
        ("VmHWM", field("VmHWM:")),
        ("RssAnon", field("RssAnon:")),
        ("RssFile", field("RssFile:")),
    ]
}

/// Sets this process's peak resident memory (`VmHWM`) back to what it holds now
/// (Linux ≥ 4.0), so that a later peak is the peak of what follows.
pub fn reset_peak_memory() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// (rule, queue, share of cases in per cent).
pub const MIX: &[(&str, &str, u64)] = &[
    ("LARGE_TRANSFER", "Transfers", 30),
    ("ACCOUNT_TAKEOVER", "Account security", 15),
    ("NEW_ACCOUNT_BURST", "New accounts", 12),
    ("BULK_REGISTRATION", "New accounts", 8),
    ("PROMOTION_ABUSE", "Promotions", 15),
    ("AML_WATCHLIST", "AML review", 5),
    ("FROZEN_FUNDS_COMPLAINT", "Complaints", 10),
    ("LARGE_TRANSFER", "Triage", 5),
];

/// A small deterministic generator (xorshift64*), so runs are comparable.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

pub fn ts(t: DateTime<Utc>) -> String {
    format!("'{}'", t.naive_utc().format("%Y-%m-%d %H:%M:%S"))
}

pub fn opt_ts(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(|| "NULL".to_string(), ts)
}

/// Batched multi-row INSERTs, flushed every `rows` rows.
pub struct Inserter {
    head: &'static str,
    sql: String,
    rows: usize,
    pub total: usize,
}

impl Inserter {
    pub fn new(head: &'static str) -> Self {
        Inserter {
            head,
            sql: String::new(),
            rows: 0,
            total: 0,
        }
    }
    pub fn push(&mut self, conn: &mut DbConn, values: String) {
        self.sql
            .push_str(if self.rows == 0 { self.head } else { "," });
        self.sql.push('(');
        self.sql.push_str(&values);
        self.sql.push(')');
        self.rows += 1;
        if self.rows == 500 {
            self.flush(conn);
        }
    }
    pub fn flush(&mut self, conn: &mut DbConn) {
        if self.rows > 0 {
            conn.batch_execute(&self.sql).expect("insert");
            self.total += self.rows;
            self.sql.clear();
            self.rows = 0;
        }
    }
}

/// One row of `case_events` (case_id, at, kind, actor_user_id, data) holding `event`
/// exactly as the application stores it, so the pages read what they would read.
pub fn event_row(
    case_id: u64,
    at: DateTime<Utc>,
    actor: Option<i64>,
    event: &riskdesk::domain::CaseEvent,
) -> String {
    let (kind, data) = event.to_parts();
    format!(
        "{case_id},{},'{kind}',{},'{}'",
        ts(at),
        actor.map_or_else(|| "NULL".to_string(), |a| a.to_string()),
        data.replace('\'', "''")
    )
}
