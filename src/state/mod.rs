// What every request handler and worker shares: the pool, the settings, the clock,
// the keys, the intake and the short-lived caches. It knows nothing of HTTP routes.

pub mod session_cache;

use std::sync::Arc;

use crate::clock::Clock;
use crate::config::Settings;
use crate::db::{self, DbPool};
use crate::domain::tokens;
use crate::intake::Intake;
use crate::metrics::Metrics;
use crate::store;
use crate::throttle::PasswordGate;

/// What every request handler and worker shares.
#[derive(Clone)]
pub struct AppState {
    pub pool: DbPool,
    pub settings: Arc<Settings>,
    pub clock: Clock,
    pub secret_key: Arc<String>,
    /// The key of the customer identifiers' digests, derived from the secret key.
    pub identifier_key: crate::store::identifiers::IdentifierKey,
    pub metrics: Arc<Metrics>,
    /// Bounds the password hashes computed at once.
    pub password_gate: Arc<PasswordGate>,
    pub intake: Intake,
    pub desk: Arc<crate::store::deskconfig::SnapshotCache>,
    /// Each API key's use on this instance: its rate limit's bucket, and when its
    /// last use and its audit events were last written.
    pub key_gate: Arc<crate::apikeys::KeyGate>,
    /// Session rows read recently, reused for `settings.session_cache`.
    pub session_cache: Arc<session_cache::SessionCache>,
    /// API keys read recently, reused for `settings.session_cache`.
    pub key_cache: Arc<session_cache::KeyCache>,
    /// Each user's queues and saved views as the lists read them, reused for
    /// `settings.session_cache`.
    pub lists_cache: Arc<session_cache::ListsCache>,
    /// The LDAP directory people sign in against, when one is configured.
    pub directory: Option<crate::directory::Directory>,
}

impl AppState {
    /// Opens the database (migrating it) and resolves the secret key.
    pub fn open(mut settings: Settings, clock: Clock) -> anyhow_lite::Result<Self> {
        let pool = db::connect(&settings.database, settings.pool_size)?;
        let secret_key = match &settings.secret_key {
            Some(k) => k.clone(),
            None => {
                let mut conn = pool.get()?;
                store::settings::get_or_insert(&mut conn, "secret_key", &tokens::random_token(48))?
            }
        };
        settings.qa_salt = crate::domain::qa::salt(&secret_key);
        let identifier_key = store::identifiers::IdentifierKey::derive(&secret_key);
        {
            let mut conn = pool.get()?;
            if let Some(done) = store::identifiers::rekey(&mut conn, &identifier_key)?
                && done.before > 0
            {
                tracing::info!(
                    from_unkeyed = done.from_unkeyed,
                    before = done.before,
                    after = done.after,
                    "customer identifiers re-derived under the desk's identifier key"
                );
            }
        }
        let writers = match settings.database {
            db::DatabaseUrl::Sqlite(_) => 1,
            db::DatabaseUrl::Postgres(_) => match settings.intake_writers {
                Some(n) => n as usize,
                // Each writer keeps a database backend busy: more than the cores
                // only contend (on two cores, two file 35 % more than four).
                None => (settings.pool_size as usize / 4)
                    .min(std::thread::available_parallelism().map_or(1, |n| n.get()))
                    .clamp(1, 4),
            },
        };
        let session_cache = Arc::new(session_cache::SessionCache::new(settings.session_cache));
        let desk = Arc::new(crate::store::deskconfig::SnapshotCache::new(
            settings.session_cache,
            clock.clone(),
        ));
        let directory = settings
            .ldap
            .clone()
            .map(|d| crate::directory::Directory::new(d, desk.clone()));
        let settings = Arc::new(settings);
        Ok(AppState {
            session_cache,
            key_cache: Arc::new(session_cache::KeyCache::new(settings.session_cache)),
            lists_cache: Arc::new(session_cache::ListsCache::new(settings.session_cache)),
            pool: pool.clone(),
            settings: settings.clone(),
            clock: clock.clone(),
            secret_key: Arc::new(secret_key),
            metrics: Arc::new(Metrics::default()),
            password_gate: Arc::new(PasswordGate::for_this_machine()),
            intake: Intake::start(
                pool.clone(),
                clock.clone(),
                crate::intake::Keys {
                    identifiers: identifier_key.clone(),
                    settings: settings.clone(),
                },
                writers,
            ),
            identifier_key,
            key_gate: Arc::new(Default::default()),
            desk,
            directory,
        })
    }

    /// What intake needs beside the desk's configuration.
    pub fn intake_keys(&self) -> crate::intake::Keys {
        crate::intake::Keys {
            identifiers: self.identifier_key.clone(),
            settings: self.settings.clone(),
        }
    }

    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }
}

/// A small boxed error for start-up paths, where the message is all that matters.
pub mod anyhow_lite {
    pub type Error = Box<dyn std::error::Error + Send + Sync>;
    pub type Result<T> = std::result::Result<T, Error>;
}
