// The parts of the million-case generators that the page and report benchmarks
// share: settings from the environment, the demo desk's mix of rules and queues, a
// deterministic random generator and batched multi-row INSERTs straight into SQLite.

#![allow(dead_code)]

use chrono::{DateTime, Utc};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;

/// A number from the environment variable `name`, else `default`.
pub fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
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
    pub fn push(&mut self, conn: &mut SqliteConnection, values: String) {
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
    pub fn flush(&mut self, conn: &mut SqliteConnection) {
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
