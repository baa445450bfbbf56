// Changing the desk's configuration as a whole: validate, list the changes, apply
// them in one transaction with an audit event. The command line, the admin pages and
// the demo seed all come through here.

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::accounts::{Actor, record};
use crate::db::{DbConn, write_tx};
use crate::domain::FieldProblem;
use crate::domain::deskconfig::DeskConfig;
use crate::i18n::tkey;
use crate::store::deskconfig::{self, ApplyError, Change};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("the configuration has {} problem(s); nothing was changed", .0.len())]
    Invalid(Vec<FieldProblem>),
    #[error("database error: {0}")]
    Db(#[from] diesel::result::Error),
}

impl From<ApplyError> for ConfigError {
    fn from(e: ApplyError) -> Self {
        match e {
            ApplyError::Refused(p) => ConfigError::Invalid(p),
            ApplyError::Db(e) => ConfigError::Db(e),
        }
    }
}

/// Parses `text` and applies it (or, with `dry_run`, only lists what would change).
pub fn apply_text(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    actor: &Actor,
    text: &str,
    dry_run: bool,
) -> Result<Vec<Change>, ConfigError> {
    // The users a rota may name are known here, so their problems are listed with
    // all the others.
    let users = crate::store::oncall::user_emails(conn)?;
    let cfg = DeskConfig::parse_knowing(text, Some(&users)).map_err(ConfigError::Invalid)?;
    apply(conn, now, actor, &cfg, dry_run)
}

pub fn apply(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    actor: &Actor,
    cfg: &DeskConfig,
    dry_run: bool,
) -> Result<Vec<Change>, ConfigError> {
    apply_checked(conn, now, actor, cfg, dry_run, None)
}

/// [`apply`], refused when the configuration is no longer at `expected_version`
/// (someone else changed it since it was read), so no change is lost.
pub fn apply_checked(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    actor: &Actor,
    cfg: &DeskConfig,
    dry_run: bool,
    expected_version: Option<i64>,
) -> Result<Vec<Change>, ConfigError> {
    if dry_run {
        let current = deskconfig::load(conn)?;
        return Ok(deskconfig::changes(&current, cfg));
    }
    write_tx(conn, |conn| {
        if let Some(expected) = expected_version
            && deskconfig::config_version(conn)? != expected
        {
            return Err(ConfigError::Invalid(vec![FieldProblem::keyed(
                "",
                tkey("config.error.changed_meanwhile"),
                &[],
            )]));
        }
        let changes = deskconfig::apply(conn, cfg, now)?;
        if !changes.is_empty() {
            let list: Vec<String> = changes.iter().map(|c| c.to_string()).collect();
            record(
                conn,
                now,
                actor,
                "config.applied",
                None,
                json!({"changes": list}),
            )?;
        }
        Ok(changes)
    })
}

/// The configuration as it stands, in the file format.
pub fn export(conn: &mut DbConn) -> Result<String, ConfigError> {
    Ok(deskconfig::load(conn)?.to_toml())
}
