// Settings from flags and environment variables (each flag has a RISKDESK_*
// variable), resolved into the values the application runs with.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::db::{DatabaseUrl, DbSetupError};

/// The settings every command shares.
#[derive(Debug, Clone, Args)]
pub struct SettingsArgs {
    /// Address and port to listen on.
    #[arg(
        long,
        env = "RISKDESK_BIND",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub bind: String,

    /// Directory for the SQLite database and the mail outbox.
    #[arg(
        long,
        env = "RISKDESK_DATA_DIR",
        default_value = "./data",
        global = true
    )]
    pub data_dir: PathBuf,

    /// sqlite://PATH or postgres://USER@HOST/DB [default: sqlite://<data-dir>/riskdesk.db]
    #[arg(long, env = "RISKDESK_DATABASE_URL", global = true)]
    pub database_url: Option<String>,

    /// Base of links in e-mails [default: http://<bind>]
    #[arg(long, env = "RISKDESK_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,

    /// smtp://host:port or smtps://user:pass@host:port; unset writes .eml files under <data-dir>/outbox/
    #[arg(long, env = "RISKDESK_SMTP_URL", global = true)]
    pub smtp_url: Option<String>,

    /// Sender address of outgoing mail.
    #[arg(
        long,
        env = "RISKDESK_MAIL_FROM",
        default_value = "riskdesk@localhost",
        global = true
    )]
    pub mail_from: String,

    /// Working days a case closed as escalated to AML has until its report to the
    /// regulator is due (1 to 60).
    #[arg(
        long,
        env = "RISKDESK_AML_REPORT_DAYS",
        value_name = "DAYS",
        default_value_t = 5,
        global = true
    )]
    pub aml_report_days: u32,

    /// The desk calendar whose working days the AML report deadline counts; unset (or
    /// a name the desk has no calendar of): every day counts.
    #[arg(long, env = "RISKDESK_AML_REPORT_CALENDAR", global = true)]
    pub aml_report_calendar: Option<String>,

    /// Seconds a webhook receiver has to answer a delivery before the attempt counts
    /// as failed and is retried later (1 to 120).
    #[arg(
        long,
        env = "RISKDESK_WEBHOOK_TIMEOUT",
        value_name = "SECONDS",
        default_value_t = 10,
        global = true
    )]
    pub webhook_timeout: u64,

    /// Secret of the desk (the QA salt and the key of the customer identifiers'
    /// digests are derived from it); by default generated once and kept in the database.
    #[arg(
        long,
        env = "RISKDESK_SECRET_KEY",
        global = true,
        hide_env_values = true
    )]
    pub secret_key: Option<String>,

    /// Minutes without a request after which a session ends.
    #[arg(
        long,
        env = "RISKDESK_SESSION_IDLE_MINUTES",
        default_value_t = 30,
        global = true
    )]
    pub session_idle_minutes: u32,

    /// Hours after sign-in after which a session ends, however active.
    #[arg(
        long,
        env = "RISKDESK_SESSION_MAX_HOURS",
        default_value_t = 12,
        global = true
    )]
    pub session_max_hours: u32,

    /// Roles whose users must sign in with a second factor (an authenticator app),
    /// comma-separated: agent, supervisor, admin. Such a user without one is sent to
    /// enrol before anything else, and cannot turn it off.
    #[arg(
        long,
        env = "RISKDESK_REQUIRE_MFA",
        value_name = "ROLES",
        default_value = "",
        global = true
    )]
    pub require_mfa: String,

    /// Database connections in the pool.
    #[arg(long, env = "RISKDESK_POOL_SIZE", default_value_t = 16, global = true)]
    pub pool_size: u32,

    /// Intake writers (threads that file the waiting alerts, each batch in one
    /// transaction). SQLite always has one; PostgreSQL a quarter of the pool, at most
    /// one per core and 1 to 4, unless this says otherwise (1 to 16).
    #[arg(long, env = "RISKDESK_INTAKE_WRITERS", value_parser = clap::value_parser!(u32).range(1..=16), global = true)]
    pub intake_writers: Option<u32>,

    /// Seconds a session row, an API key, a user's queues and saved views (for the
    /// lists) and the desk configuration's version read from the database are reused
    /// by this instance (0: read them on every request). Sign-out, deactivation, a
    /// key's revocation and a configuration applied through this instance take effect
    /// at once; through another (or the command line), within this time.
    #[arg(
        long,
        env = "RISKDESK_SESSION_CACHE_SECONDS",
        default_value_t = 2,
        global = true
    )]
    pub session_cache_seconds: u32,

    /// HTTP worker threads [default: one per core]
    #[arg(long, env = "RISKDESK_WORKERS", global = true)]
    pub workers: Option<usize>,

    /// Minutes without activity after which an online agent becomes away.
    #[arg(
        long,
        env = "RISKDESK_AWAY_AFTER_MINUTES",
        default_value_t = 15,
        global = true
    )]
    pub away_after_minutes: u32,

    /// Minutes an agent may be away or offline before even the cases they started go
    /// to others [default: never]
    #[arg(long, env = "RISKDESK_REASSIGN_STARTED_AFTER_MINUTES", global = true)]
    pub reassign_started_after_minutes: Option<u32>,

    /// Minutes a case may wait unassigned before the supervisors are alerted.
    #[arg(
        long,
        env = "RISKDESK_UNASSIGNED_ALERT_MINUTES",
        default_value_t = 15,
        global = true
    )]
    pub unassigned_alert_minutes: u32,

    /// Releasing a held amount above its currency's threshold needs a supervisor's
    /// approval: `AMOUNT CUR` pairs separated by commas, and optionally one bare
    /// amount for every other currency; an amount in a currency not covered always
    /// needs approval.
    #[arg(
        long,
        env = "RISKDESK_APPROVAL_RELEASE_THRESHOLD",
        default_value = DEFAULT_RELEASE_THRESHOLDS,
        global = true
    )]
    pub approval_release_threshold: String,
    /// Hours a verification link in an e-mail to a customer stays valid.
    #[arg(
        long,
        env = "RISKDESK_VERIFY_LINK_HOURS",
        default_value_t = 72,
        global = true
    )]
    pub verify_link_hours: u32,

    /// Days a satisfaction-survey link stays valid.
    #[arg(
        long,
        env = "RISKDESK_SURVEY_LINK_DAYS",
        default_value_t = 14,
        global = true
    )]
    pub survey_link_days: u32,

    /// Days a secure-message link (`/m/…`) stays valid; it serves the whole
    /// conversation until then (1 to 90).
    #[arg(
        long,
        env = "RISKDESK_MESSAGE_LINK_DAYS",
        default_value_t = 14,
        global = true
    )]
    pub message_link_days: u32,

    /// The address customers' replies go to: each e-mail to a customer carries it
    /// with a signed tag of its case (local+tag@domain) [default: the --mail-from
    /// address]
    #[arg(long, env = "RISKDESK_REPLY_ADDRESS", global = true)]
    pub reply_address: Option<String>,

    /// Address and port of the desk's own SMTP listener for customers' replies
    /// (the mail server in front delivers them there), such as 0.0.0.0:2525; unset:
    /// no listener.
    #[arg(
        long,
        env = "RISKDESK_INBOUND_SMTP",
        value_name = "ADDR",
        global = true
    )]
    pub inbound_smtp: Option<String>,

    /// The IMAP mailbox customers' replies arrive in, polled for unseen mail:
    /// imap://user:pass@host:port/INBOX or imaps://… (user and password %-encoded);
    /// unset: no mailbox.
    #[arg(
        long,
        env = "RISKDESK_IMAP_URL",
        value_name = "URL",
        global = true,
        hide_env_values = true
    )]
    pub imap_url: Option<String>,
    /// Failed call attempts (no answer, voicemail, wrong number) after which the case
    /// page suggests the e-mail route or escalation.
    #[arg(
        long,
        env = "RISKDESK_CALL_ATTEMPTS_BEFORE_EMAIL",
        default_value_t = 3,
        global = true
    )]
    pub call_attempts_before_email: u32,

    /// Share of resolved cases (in per cent, 0 to 100) picked for QA review.
    #[arg(
        long,
        env = "RISKDESK_QA_SAMPLE_PERCENT",
        default_value_t = 5,
        global = true
    )]
    pub qa_sample_percent: u32,

    /// IANA time zone of the desk: the weekly brief's weeks run Monday 00:00 to
    /// Monday 00:00 there, and the brief is mailed on Monday at 06:00 there.
    #[arg(
        long,
        env = "RISKDESK_DESK_TIMEZONE",
        default_value = "UTC",
        global = true
    )]
    pub desk_timezone: String,

    /// Address ranges (CIDRs, comma-separated) of the proxies in front of the desk:
    /// a request from one of them is taken to come from the client address in its
    /// `X-Forwarded-For`, for the sign-in limit and the audit log.
    #[arg(long, env = "RISKDESK_TRUSTED_PROXIES", global = true)]
    pub trusted_proxies: Option<String>,

    /// Appends every audit event as a JSON line to this file as it happens, or sends
    /// it to syslog (`syslog` for /dev/log, `syslog:/path/to/socket`).
    #[arg(long, env = "RISKDESK_AUDIT_LOG", global = true)]
    pub audit_log: Option<String>,

    /// The LDAP directory (OpenLDAP, Active Directory) people sign in against:
    /// ldap://host[:port] or ldaps://host[:port]; unset: local accounts only.
    #[arg(long, env = "RISKDESK_LDAP_URL", global = true)]
    pub ldap_url: Option<String>,

    /// Distinguished name of the service account that searches the directory
    /// [default: search anonymously]
    #[arg(long, env = "RISKDESK_LDAP_BIND_DN", global = true)]
    pub ldap_bind_dn: Option<String>,

    /// Password of the service account of --ldap-bind-dn.
    #[arg(
        long,
        env = "RISKDESK_LDAP_BIND_PASSWORD",
        global = true,
        hide_env_values = true
    )]
    pub ldap_bind_password: Option<String>,

    /// Where users are searched in the directory (the whole subtree), such as
    /// ou=people,dc=bank,dc=example.
    #[arg(long, env = "RISKDESK_LDAP_USER_BASE", global = true)]
    pub ldap_user_base: Option<String>,

    /// The search for the user who signs in; {email} is the address typed, escaped
    /// [default: (mail={email})]
    #[arg(long, env = "RISKDESK_LDAP_USER_FILTER", global = true)]
    pub ldap_user_filter: Option<String>,

    /// The groups (groupOfNames; the user's DN among their `member`s) that give each
    /// role: admin=<group DN>;supervisor=<group DN>;agent=<group DN>. The highest
    /// wins; a user in none of them cannot sign in.
    #[arg(long, env = "RISKDESK_LDAP_ROLE_GROUPS", global = true)]
    pub ldap_role_groups: Option<String>,

    /// Log format: text for people, json for log collectors.
    #[arg(long, env = "RISKDESK_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// The resolved settings the application runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    pub bind: String,
    pub data_dir: PathBuf,
    pub database: DatabaseUrl,
    pub public_url: String,
    pub smtp_url: Option<String>,
    pub mail_from: String,
    /// How long a webhook receiver has to answer one delivery.
    pub webhook_timeout: std::time::Duration,
    /// Working days until an AML report is due, of the named calendar (every day
    /// when none).
    pub aml_report_days: u32,
    pub aml_report_calendar: Option<String>,
    pub secret_key: Option<String>,
    pub session_idle: chrono::Duration,
    pub session_max: chrono::Duration,
    /// Roles that must sign in with a second factor (`--require-mfa`).
    pub require_mfa: Vec<crate::domain::Role>,
    /// How long a session row read from the database is reused (zero: never).
    pub session_cache: chrono::Duration,
    pub pool_size: u32,
    /// Intake writers on PostgreSQL (`--intake-writers`); `None`: from the pool's size.
    pub intake_writers: Option<u32>,
    pub workers: Option<usize>,
    pub log_format: LogFormat,
    pub away_after: chrono::Duration,
    pub reassign_started_after: Option<chrono::Duration>,
    pub unassigned_alert_after: chrono::Duration,
    pub approval_release_thresholds: crate::domain::resolution::ReleaseThresholds,
    pub verify_link: chrono::Duration,
    pub survey_link: chrono::Duration,
    /// How long a secure-message link works (`--message-link-days`).
    pub message_link: chrono::Duration,
    /// Where customers' replies go (`--reply-address`, else the sender).
    pub reply_address: crate::domain::conversation::ReplyAddress,
    /// The desk's own SMTP listener for inbound mail (`--inbound-smtp`).
    pub inbound_smtp: Option<std::net::SocketAddr>,
    /// The IMAP mailbox polled for inbound mail (`--imap-url`).
    pub imap: Option<crate::inbound::imap::ImapUrl>,
    pub call_attempts_before_email: u32,
    /// Share of resolved cases picked for QA review, in per cent (0 to 100).
    pub qa_sample_percent: u8,
    /// The salt of the QA sample: derived from the secret key when the application
    /// opens, so every instance on one database picks the same cases and nobody can
    /// tell from a case's reference whether it will be reviewed.
    pub qa_salt: String,
    /// The desk's time zone: the weeks of the weekly brief.
    pub desk_timezone: chrono_tz::Tz,
    /// The LDAP directory people sign in against; None: local accounts only.
    pub ldap: Option<crate::domain::directory::DirectorySettings>,
    /// Proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<crate::domain::cidr::Cidr>,
    /// Where audit events are also written as they happen.
    pub audit_log: Option<AuditSink>,
}

/// Where `--audit-log` sends the audit events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditSink {
    /// JSON lines appended to a file.
    File(PathBuf),
    /// RFC 5424 messages to a syslog socket (a Unix datagram socket such as /dev/log).
    Syslog(PathBuf),
}

impl AuditSink {
    pub fn parse(s: &str) -> Result<AuditSink, String> {
        let s = s.trim();
        if s == "syslog" {
            return Ok(AuditSink::Syslog(PathBuf::from("/dev/log")));
        }
        if let Some(path) = s.strip_prefix("syslog:") {
            if path.is_empty() {
                return Err("syslog: must be followed by the socket's path".into());
            }
            return Ok(AuditSink::Syslog(PathBuf::from(path)));
        }
        if s.is_empty() {
            return Err("give a file path, syslog or syslog:/path/to/socket".into());
        }
        Ok(AuditSink::File(PathBuf::from(s)))
    }
}

/// The release thresholds when none is configured: about the same value in the
/// currencies a Chinese payment app most often holds.
pub const DEFAULT_RELEASE_THRESHOLDS: &str =
    "50000 CNY, 55000 HKD, 7000 USD, 6500 EUR, 5500 GBP, 1000000 JPY";

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error(transparent)]
    Database(#[from] DbSetupError),
    #[error(
        "--approval-release-threshold must list amounts such as '50000 CNY, 7000 USD', not '{0}': {1}"
    )]
    Threshold(String, String),
    #[error("--public-url must start with http:// or https://, not '{0}'")]
    PublicUrl(String),
    #[error("--session-idle-minutes and --session-max-hours must be at least 1")]
    SessionLimits,
    #[error("--secret-key must be at least 32 characters")]
    SecretKey,
    #[error("--smtp-url must start with smtp:// or smtps://, not '{0}'")]
    SmtpUrl(String),
    #[error("--qa-sample-percent must be a whole number from 0 to 100, not '{0}'")]
    QaSamplePercent(u32),
    #[error("--desk-timezone must be an IANA time zone such as Asia/Shanghai, not '{0}'")]
    DeskTimezone(String),
    #[error("{0}")]
    Directory(crate::domain::directory::SettingProblem),
    #[error("--trusted-proxies: {0}")]
    TrustedProxies(String),
    #[error("--audit-log: {0}")]
    AuditLog(String),
    #[error("--require-mfa names the unknown role '{0}': use agent, supervisor or admin")]
    RequireMfa(String),
    #[error("--message-link-days must be from 1 to 90, not {0}")]
    MessageLinkDays(u32),
    #[error("--reply-address: {0}")]
    ReplyAddress(String),
    #[error("--inbound-smtp must be an address and port such as 0.0.0.0:2525, not '{0}'")]
    InboundSmtp(String),
    #[error("--imap-url {0}")]
    ImapUrl(String),
}

/// Reads `--require-mfa`: roles separated by commas (blank entries ignored).
pub fn parse_roles(list: &str) -> Result<Vec<crate::domain::Role>, SettingsError> {
    let mut roles = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let role = name
            .parse()
            .map_err(|_| SettingsError::RequireMfa(name.to_string()))?;
        if !roles.contains(&role) {
            roles.push(role);
        }
    }
    Ok(roles)
}

impl SettingsArgs {
    pub fn resolve(&self) -> Result<Settings, SettingsError> {
        let database_url = match &self.database_url {
            Some(u) => u.clone(),
            None => format!("sqlite://{}", self.data_dir.join("riskdesk.db").display()),
        };
        let database = DatabaseUrl::parse(&database_url)?;
        let public_url = self
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.bind))
            .trim_end_matches('/')
            .to_string();
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            return Err(SettingsError::PublicUrl(public_url));
        }
        if self.session_idle_minutes == 0 || self.session_max_hours == 0 {
            return Err(SettingsError::SessionLimits);
        }
        if let Some(u) = self.smtp_url.as_deref().filter(|u| !u.trim().is_empty())
            && !(u.starts_with("smtp://") || u.starts_with("smtps://"))
        {
            let scheme = u.split_once("://").map(|(s, _)| s).unwrap_or(u);
            return Err(SettingsError::SmtpUrl(format!("{scheme}://…")));
        }
        if let Some(k) = &self.secret_key
            && k.len() < 32
        {
            return Err(SettingsError::SecretKey);
        }
        let qa_sample_percent = u8::try_from(self.qa_sample_percent)
            .ok()
            .filter(|p| *p <= 100)
            .ok_or(SettingsError::QaSamplePercent(self.qa_sample_percent))?;
        let desk_timezone: chrono_tz::Tz = self
            .desk_timezone
            .trim()
            .parse()
            .map_err(|_| SettingsError::DeskTimezone(self.desk_timezone.clone()))?;
        let ldap = crate::domain::directory::DirectoryInput {
            url: self.ldap_url.as_deref(),
            bind_dn: self.ldap_bind_dn.as_deref(),
            bind_password: self.ldap_bind_password.as_deref(),
            user_base: self.ldap_user_base.as_deref(),
            user_filter: self.ldap_user_filter.as_deref(),
            role_groups: self.ldap_role_groups.as_deref(),
        }
        .check()
        .map_err(SettingsError::Directory)?;
        let trusted_proxies =
            crate::domain::cidr::Cidr::parse_list(self.trusted_proxies.as_deref().unwrap_or(""))
                .map_err(SettingsError::TrustedProxies)?;
        let audit_log = match self.audit_log.as_deref().filter(|s| !s.trim().is_empty()) {
            Some(s) => Some(AuditSink::parse(s).map_err(SettingsError::AuditLog)?),
            None => None,
        };
        let require_mfa = parse_roles(&self.require_mfa)?;
        if !(1..=90).contains(&self.message_link_days) {
            return Err(SettingsError::MessageLinkDays(self.message_link_days));
        }
        let reply_address = match self
            .reply_address
            .as_deref()
            .filter(|s| !s.trim().is_empty())
        {
            Some(a) => crate::domain::conversation::ReplyAddress::parse(a),
            None => crate::domain::conversation::ReplyAddress::parse(&self.mail_from)
                .map_err(|e| format!("{e} (it is taken from --mail-from; set --reply-address)")),
        }
        .map_err(SettingsError::ReplyAddress)?;
        let inbound_smtp = match self
            .inbound_smtp
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(a) => Some(
                a.parse::<std::net::SocketAddr>()
                    .map_err(|_| SettingsError::InboundSmtp(a.to_string()))?,
            ),
            None => None,
        };
        let imap = match self
            .imap_url
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(u) => {
                Some(crate::inbound::imap::ImapUrl::parse(u).map_err(SettingsError::ImapUrl)?)
            }
            None => None,
        };
        Ok(Settings {
            inbound_smtp,
            imap,
            message_link: chrono::Duration::days(self.message_link_days.into()),
            reply_address,
            ldap,
            require_mfa,
            trusted_proxies,
            audit_log,
            qa_sample_percent,
            qa_salt: String::new(),
            desk_timezone,
            bind: self.bind.clone(),
            data_dir: self.data_dir.clone(),
            database,
            public_url,
            smtp_url: self.smtp_url.clone().filter(|s| !s.trim().is_empty()),
            mail_from: self.mail_from.clone(),
            webhook_timeout: std::time::Duration::from_secs(self.webhook_timeout.clamp(1, 120)),
            aml_report_days: self.aml_report_days.clamp(1, 60),
            aml_report_calendar: self
                .aml_report_calendar
                .clone()
                .filter(|c| !c.trim().is_empty()),
            secret_key: self.secret_key.clone(),
            session_idle: chrono::Duration::minutes(self.session_idle_minutes.into()),
            session_max: chrono::Duration::hours(self.session_max_hours.into()),
            session_cache: chrono::Duration::seconds(self.session_cache_seconds.min(60).into()),
            pool_size: self.pool_size,
            intake_writers: self.intake_writers,
            workers: self.workers,
            log_format: self.log_format,
            away_after: chrono::Duration::minutes(self.away_after_minutes.max(1).into()),
            reassign_started_after: self
                .reassign_started_after_minutes
                .map(|m| chrono::Duration::minutes(m.into())),
            unassigned_alert_after: chrono::Duration::minutes(
                self.unassigned_alert_minutes.max(1).into(),
            ),
            approval_release_thresholds: crate::domain::resolution::ReleaseThresholds::parse(
                &self.approval_release_threshold,
            )
            .map_err(|why| {
                SettingsError::Threshold(self.approval_release_threshold.clone(), why)
            })?,
            verify_link: chrono::Duration::hours(self.verify_link_hours.max(1).into()),
            survey_link: chrono::Duration::days(self.survey_link_days.max(1).into()),
            call_attempts_before_email: self.call_attempts_before_email.max(1),
        })
    }
}

impl Settings {
    /// Settings for a desk in `data_dir` on `database`, the defaults otherwise
    /// (used by tests and tools that build the application in-process).
    pub fn for_data_dir(data_dir: PathBuf, database: DatabaseUrl) -> Self {
        Settings {
            bind: "127.0.0.1:0".into(),
            data_dir,
            database,
            public_url: "http://127.0.0.1".into(),
            smtp_url: None,
            mail_from: "riskdesk@localhost".into(),
            webhook_timeout: std::time::Duration::from_secs(10),
            aml_report_days: 5,
            aml_report_calendar: None,
            secret_key: None,
            session_idle: chrono::Duration::minutes(30),
            session_max: chrono::Duration::hours(12),
            require_mfa: Vec::new(),
            session_cache: chrono::Duration::zero(),
            pool_size: 8,
            intake_writers: None,
            workers: Some(2),
            log_format: LogFormat::Text,
            away_after: chrono::Duration::minutes(15),
            reassign_started_after: None,
            unassigned_alert_after: chrono::Duration::minutes(15),
            approval_release_thresholds: crate::domain::resolution::ReleaseThresholds::parse(
                DEFAULT_RELEASE_THRESHOLDS,
            )
            .expect("default thresholds"),
            verify_link: chrono::Duration::hours(72),
            survey_link: chrono::Duration::days(14),
            message_link: chrono::Duration::days(14),
            reply_address: crate::domain::conversation::ReplyAddress::parse("riskdesk@localhost")
                .expect("the default reply address"),
            inbound_smtp: None,
            imap: None,
            call_attempts_before_email: 3,
            qa_sample_percent: 5,
            qa_salt: String::new(),
            desk_timezone: chrono_tz::UTC,
            trusted_proxies: Vec::new(),
            audit_log: None,
            ldap: None,
        }
    }

    /// Cookies are marked Secure when the desk is served over https.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        settings: SettingsArgs,
    }

    fn resolve(args: &[&str]) -> Result<Settings, SettingsError> {
        let mut all = vec!["riskdesk", "--data-dir", "/tmp/riskdesk-config-test"];
        all.extend_from_slice(args);
        Cli::try_parse_from(all).unwrap().settings.resolve()
    }

    #[test]
    fn qa_share_and_desk_zone_are_checked() {
        let s = resolve(&[]).unwrap();
        assert_eq!(s.qa_sample_percent, 5);
        assert_eq!(s.desk_timezone, chrono_tz::UTC);
        let s = resolve(&[
            "--qa-sample-percent",
            "100",
            "--desk-timezone",
            "Asia/Shanghai",
        ])
        .unwrap();
        assert_eq!(s.qa_sample_percent, 100);
        assert_eq!(s.desk_timezone.name(), "Asia/Shanghai");
        let e = resolve(&["--qa-sample-percent", "101"]).unwrap_err();
        assert!(e.to_string().contains("--qa-sample-percent"), "{e}");
        assert!(e.to_string().contains("'101'"), "{e}");
        let e = resolve(&["--desk-timezone", "Mars/Olympus"]).unwrap_err();
        assert!(e.to_string().contains("--desk-timezone"), "{e}");
        assert!(e.to_string().contains("Mars/Olympus"), "{e}");
    }

    #[test]
    fn conversation_settings_are_checked() {
        let s = resolve(&[]).unwrap();
        assert_eq!(s.message_link, chrono::Duration::days(14));
        assert_eq!(s.reply_address.local, "riskdesk");
        assert_eq!(s.reply_address.domain, "localhost");
        let s = resolve(&["--mail-from", "Risk Desk <desk@bank.example>"]).unwrap();
        assert_eq!(s.reply_address.domain, "bank.example");
        let s = resolve(&["--reply-address", "replies@desk.bank.example"]).unwrap();
        assert_eq!(s.reply_address.local, "replies");
        let e = resolve(&["--reply-address", "a+b@bank.example"]).unwrap_err();
        assert!(e.to_string().starts_with("--reply-address"), "{e}");
        let e = resolve(&["--message-link-days", "0"]).unwrap_err();
        assert!(e.to_string().starts_with("--message-link-days"), "{e}");
        let s = resolve(&[
            "--inbound-smtp",
            "127.0.0.1:2525",
            "--imap-url",
            "imaps://desk:secret@mail.bank.example/INBOX",
        ])
        .unwrap();
        assert_eq!(s.inbound_smtp.unwrap().port(), 2525);
        assert!(s.imap.unwrap().tls);
        let e = resolve(&["--inbound-smtp", "localhost"]).unwrap_err();
        assert!(e.to_string().starts_with("--inbound-smtp"), "{e}");
        let e = resolve(&["--imap-url", "pop3://desk:secret@mail.bank.example"]).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("--imap-url must start with imap://"),
            "{e}"
        );
        assert!(!e.to_string().contains("secret"), "{e}");
    }

    #[test]
    fn roles_that_require_a_second_factor() {
        use crate::domain::Role;
        assert!(resolve(&[]).unwrap().require_mfa.is_empty());
        let s = resolve(&["--require-mfa", " supervisor, admin ,,admin"]).unwrap();
        assert_eq!(s.require_mfa, vec![Role::Supervisor, Role::Admin]);
        let e = resolve(&["--require-mfa", "supervisor,boss"]).unwrap_err();
        assert!(e.to_string().contains("--require-mfa"), "{e}");
        assert!(e.to_string().contains("'boss'"), "{e}");
    }

    #[test]
    fn directory_settings_are_checked_at_start_up() {
        assert!(resolve(&[]).unwrap().ldap.is_none());
        let base = [
            "--ldap-url",
            "ldaps://ldap.bank.example",
            "--ldap-user-base",
            "ou=people,dc=bank,dc=example",
        ];
        let with = |more: &[&'static str]| {
            let mut all = base.to_vec();
            all.extend_from_slice(more);
            resolve(&all)
        };
        let s = with(&[
            "--ldap-role-groups",
            "agent=cn=agents,ou=groups,dc=bank,dc=example;admin=cn=admins,ou=groups,dc=bank,dc=example",
        ])
        .unwrap();
        let ldap = s.ldap.expect("a directory");
        assert_eq!(ldap.user_filter.as_str(), "(mail={email})");
        assert_eq!(ldap.role_groups.iter().next().unwrap().0.as_str(), "admin");
        for (args, setting) in [
            (
                &["--ldap-role-groups", "boss=cn=x,dc=b"][..],
                "--ldap-role-groups",
            ),
            (&["--ldap-role-groups", "agent"][..], "--ldap-role-groups"),
            (
                &[
                    "--ldap-role-groups",
                    "agent=cn=a,dc=b",
                    "--ldap-user-filter",
                    "(uid=x)",
                ][..],
                "--ldap-user-filter",
            ),
        ] {
            let e = with(args).unwrap_err();
            assert!(e.to_string().starts_with(setting), "{args:?}: {e}");
        }
        let e = resolve(&[
            "--ldap-url",
            "https://ldap.bank.example",
            "--ldap-user-base",
            "ou=people,dc=bank,dc=example",
            "--ldap-role-groups",
            "agent=cn=a,dc=b",
        ])
        .unwrap_err();
        assert!(e.to_string().starts_with("--ldap-url"), "{e}");
    }
}
