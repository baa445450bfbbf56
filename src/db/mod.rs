// The database layer: one connection type for SQLite and PostgreSQL, the pool,
// the embedded migrations, and the few helpers where the two backends differ.

pub mod fixed;
pub mod schema;
pub mod ts;

use std::path::PathBuf;
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{CustomizeConnection, ManageConnection, Pool, PooledConnection, R2D2Connection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// One connection to either backend. Most queries are written once against this
/// type; where SQL really differs, `match` on the variant (see [`dispatch!`]).
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Postgresql(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

pub type DbPool = Pool<Manager>;
pub type PooledConn = PooledConnection<Manager>;

/// The pool's connection factory: the URL's scheme, not trial and error, picks the
/// backend of every connection.
#[derive(Debug, Clone)]
pub struct Manager {
    url: DatabaseUrl,
}

impl Manager {
    fn establish(&self) -> Result<DbConn, diesel::ConnectionError> {
        Ok(match &self.url {
            DatabaseUrl::Sqlite(path) => DbConn::Sqlite(diesel::SqliteConnection::establish(
                &path.display().to_string(),
            )?),
            DatabaseUrl::Postgres(u) => DbConn::Postgresql(diesel::PgConnection::establish(u)?),
        })
    }
}

impl ManageConnection for Manager {
    type Connection = DbConn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConn, Self::Error> {
        self.establish()
            .map_err(diesel::r2d2::Error::ConnectionError)
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), Self::Error> {
        conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        std::thread::panicking() || conn.is_broken()
    }
}

/// Runs the same block against the concrete connection of either backend, for the
/// queries `DbConn` cannot express (upserts, `ON CONFLICT`, backend functions).
#[macro_export]
macro_rules! dispatch {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConn::Sqlite($c) => $body,
            $crate::db::DbConn::Postgresql($c) => $body,
        }
    };
}

/// Inserts `rows` (a `Vec` of insertable tuples or structs) into `table`, giving how
/// many were written: on SQLite with one cached single-row statement per row, since a
/// multi-row statement's text depends on how many rows it holds and SQLite would parse
/// and plan it afresh each time (costlier than the in-process rows themselves); on
/// PostgreSQL with one multi-row statement, one round trip.
#[macro_export]
macro_rules! insert_rows {
    ($conn:expr, $table:expr, $rows:expr) => {
        match $conn {
            $crate::db::DbConn::Sqlite(c) => $rows.into_iter().try_fold(0usize, |n, row| {
                diesel::insert_into($table)
                    .values(row)
                    .execute(c)
                    .map(|k| n + k)
            }),
            $crate::db::DbConn::Postgresql(c) => {
                diesel::insert_into($table).values($rows).execute(c)
            }
        }
    };
}

/// Which backend a database URL selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

#[derive(Debug, thiserror::Error)]
pub enum DbSetupError {
    #[error("unsupported database URL scheme '{0}': use sqlite://PATH or postgres://USER@HOST/DB")]
    UnknownScheme(String),
    #[error("the database URL is empty")]
    Empty,
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot open the database: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error("cannot prepare a database connection: {0}")]
    Setup(#[from] diesel::r2d2::Error),
    #[error("cannot connect to the database: {0}")]
    Connect(#[from] diesel::ConnectionError),
    #[error("database migration failed: {0}")]
    Migration(String),
    #[error("database error: {0}")]
    Query(#[from] diesel::result::Error),
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> Result<Self, DbSetupError> {
        let url = url.trim();
        if url.is_empty() {
            return Err(DbSetupError::Empty);
        }
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(DbSetupError::Empty);
            }
            return Ok(DatabaseUrl::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(url.to_string()));
        }
        let scheme = url.split_once(':').map(|(s, _)| s).unwrap_or(url);
        Err(DbSetupError::UnknownScheme(scheme.to_string()))
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            DatabaseUrl::Sqlite(_) => "sqlite",
            DatabaseUrl::Postgres(_) => "postgres",
        }
    }

    /// The URL with any password hidden, for logs.
    pub fn redacted(&self) -> String {
        match self {
            DatabaseUrl::Sqlite(p) => format!("sqlite://{}", p.display()),
            DatabaseUrl::Postgres(u) => redact_password(u),
        }
    }
}

fn redact_password(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://")
        && let Some((userinfo, host)) = rest.split_once('@')
        && let Some((user, _)) = userinfo.split_once(':')
    {
        return format!("{scheme}://{user}:***@{host}");
    }
    url.to_string()
}

/// SQLite settings applied to every connection the pool hands out.
#[derive(Debug, Clone, Copy)]
struct SqlitePragmas;

impl CustomizeConnection<DbConn, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut DbConn) -> Result<(), diesel::r2d2::Error> {
        if let DbConn::Sqlite(c) = conn {
            // WAL lets readers run beside the writer; synchronous=FULL syncs the WAL on
            // every commit, so an acknowledged write survives a power loss. Reads go
            // through a memory map of the whole file (up to 1 TiB; the ceiling is set
            // where SQLite is compiled, `.cargo/config.toml`), shared by every
            // connection, instead of a read call and a copy per page missing from
            // each connection's own small cache.
            // A server copies the WAL back into the file every 100 ms from a worker of
            // its own (`crate::jobs`, [`checkpoint`]); a commit does it only when the
            // WAL has grown past 4,000 pages (16 MiB), so that a write, such as an intake
            // batch, does not wait for a checkpoint's writes and syncs in its commit.
            // The busy timeout comes first: asking for WAL takes a lock, and a
            // connection opened while another writes must wait for it, not fail.
            c.batch_execute(
                "PRAGMA busy_timeout = 10000;
                 PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = FULL;
                 PRAGMA foreign_keys = ON;
                 PRAGMA temp_store = MEMORY;
                 PRAGMA wal_autocheckpoint = 4000;
                 PRAGMA mmap_size = 1099511627776;",
            )
            .map_err(diesel::r2d2::Error::QueryError)?;
        }
        Ok(())
    }
}

/// Opens the pool for `url`, creating the SQLite file's directory, and applies
/// pending migrations before the pool is handed out.
pub fn connect(url: &DatabaseUrl, pool_size: u32) -> Result<DbPool, DbSetupError> {
    if let DatabaseUrl::Sqlite(path) = url
        && let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(|source| DbSetupError::DataDir {
            path: dir.display().to_string(),
            source,
        })?;
    }
    let manager = Manager { url: url.clone() };
    // The first connection is made by hand so that a bad URL or an unreachable
    // server is reported as such, and migrations run before the pool serves.
    let mut first = manager.establish()?;
    SqlitePragmas.on_acquire(&mut first)?;
    run_migrations(&mut first)?;
    drop(first);

    let pool = Pool::builder()
        .max_size(pool_size.max(1))
        .connection_timeout(Duration::from_secs(10))
        .connection_customizer(Box::new(SqlitePragmas))
        .build(manager)?;
    Ok(pool)
}

/// Applies every pending migration of the connection's backend. On PostgreSQL an
/// advisory lock keeps several instances starting at once from racing.
pub fn run_migrations(conn: &mut DbConn) -> Result<(), DbSetupError> {
    let mig = |e: Box<dyn std::error::Error + Send + Sync>| DbSetupError::Migration(e.to_string());
    match conn {
        DbConn::Sqlite(c) => {
            c.run_pending_migrations(SQLITE_MIGRATIONS).map_err(mig)?;
        }
        DbConn::Postgresql(c) => {
            c.batch_execute("SELECT pg_advisory_lock(7211964)")?;
            let result = c.run_pending_migrations(POSTGRES_MIGRATIONS).map(|_| ());
            c.batch_execute("SELECT pg_advisory_unlock(7211964)")?;
            result.map_err(mig)?;
        }
    }
    Ok(())
}

/// True when the connection's database has every migration this binary knows.
pub fn is_migrated(conn: &mut DbConn) -> Result<bool, DbSetupError> {
    let mig = |e: Box<dyn std::error::Error + Send + Sync>| DbSetupError::Migration(e.to_string());
    let pending = match conn {
        DbConn::Sqlite(c) => c.has_pending_migration(SQLITE_MIGRATIONS).map_err(mig)?,
        DbConn::Postgresql(c) => c.has_pending_migration(POSTGRES_MIGRATIONS).map_err(mig)?,
    };
    Ok(!pending)
}

static SQLITE_WRITER: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs `f` in a write transaction. On SQLite it is `BEGIN IMMEDIATE`, so the write
/// lock is taken up front and a transaction that reads before it writes never fails
/// on upgrade; on PostgreSQL it is an ordinary transaction.
pub fn write_tx<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    // SQLite lets one writer in at a time. This process's writers queue on a mutex,
    // each woken the moment the one before commits, rather than on SQLite's busy
    // handler, which polls with sleeps of up to 100 ms and leaves the database idle
    // in between. (Other processes, such as the command line, still meet the busy
    // timeout.) One lock serves every SQLite database the process opens: in
    // production that is one; tests that open several merely take turns.
    let _turn = match conn {
        DbConn::Sqlite(c) => {
            let turn = SQLITE_WRITER
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?;
            Some(turn)
        }
        DbConn::Postgresql(c) => {
            AnsiTransactionManager::begin_transaction(c)?;
            None
        }
    };
    match f(conn) {
        Ok(value) => {
            <DbConn as Connection>::TransactionManager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(e) => {
            let _ = <DbConn as Connection>::TransactionManager::rollback_transaction(conn);
            Err(e)
        }
    }
}

/// Copies what the SQLite write-ahead log holds back into the database file, as far
/// as readers allow (`PRAGMA wal_checkpoint(PASSIVE)`: it waits for no one, and
/// writers go on meanwhile); nothing on PostgreSQL.
pub fn checkpoint(conn: &mut DbConn) -> QueryResult<()> {
    if let DbConn::Sqlite(c) = conn {
        c.batch_execute("PRAGMA wal_checkpoint(PASSIVE)")?;
    }
    Ok(())
}

/// Deadlocks and serialization failures: the transaction may simply be run again.
pub fn is_retryable(e: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match e {
        Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => true,
        Error::DatabaseError(_, info) => {
            let m = info.message();
            m.contains("deadlock") || m.contains("database is locked")
        }
        _ => false,
    }
}

/// A write transaction that is run again (up to five times) when the database
/// chose it as a deadlock's victim: work that touches several agents and cases at
/// once, on PostgreSQL with several writers.
pub fn write_tx_retry<T, F>(conn: &mut DbConn, mut f: F) -> Result<T, diesel::result::Error>
where
    F: FnMut(&mut DbConn) -> Result<T, diesel::result::Error>,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        match write_tx(conn, &mut f) {
            Err(e) if attempt < 5 && is_retryable(&e) => {
                tracing::debug!(error = %e, attempt, "transaction retried");
                std::thread::sleep(std::time::Duration::from_millis(5 * attempt));
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls_by_scheme() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://./data/riskdesk.db").unwrap(),
            DatabaseUrl::Sqlite(PathBuf::from("./data/riskdesk.db"))
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:///var/lib/rd.db").unwrap(),
            DatabaseUrl::Sqlite(PathBuf::from("/var/lib/rd.db"))
        );
        assert!(matches!(
            DatabaseUrl::parse("postgresql://u@h/db").unwrap(),
            DatabaseUrl::Postgres(_)
        ));
        let err = DatabaseUrl::parse("mysql://root@localhost/db").unwrap_err();
        assert!(err.to_string().contains("'mysql'"), "{err}");
        assert!(DatabaseUrl::parse("").is_err());
        assert!(DatabaseUrl::parse("sqlite://").is_err());
    }

    #[test]
    fn redacts_passwords() {
        let u = DatabaseUrl::parse("postgres://rd:secret@db:5432/rd").unwrap();
        assert_eq!(u.redacted(), "postgres://rd:***@db:5432/rd");
    }
}
