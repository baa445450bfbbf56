// The command line: serve (optionally seeding a demo desk), migrate, user add and
// reset-mfa, apikey create|list|revoke, webhook add|list|disable|enable|rotate|delete,
// config apply|export.
// Exit status 0 done, 2 bad usage, 1 failure with a one-line reason.

use std::io::{BufRead, Write};
use std::net::TcpListener;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::accounts::{self, Actor, NewUserInput};
use crate::app::{AppState, Application};
use crate::clock::Clock;
use crate::config::{LogFormat, Settings, SettingsArgs};
use crate::db;
use crate::domain::Role;
use crate::domain::password::NewPassword;

#[derive(Debug, Parser)]
#[command(
    name = "riskdesk",
    version,
    about = "The case desk for risk-control customer service"
)]
struct Cli {
    #[command(flatten)]
    settings: SettingsArgs,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server and its background workers (the default).
    Serve {
        /// Seed a demo desk first if the database holds no users and no alerts.
        #[arg(long)]
        demo: bool,
        /// With --demo: file a sample alert every 20 to 60 seconds. Only a desk
        /// seeded as a demo desk gets them, whatever this says.
        #[arg(
            long,
            env = "RISKDESK_DEMO_STREAM",
            value_name = "BOOL",
            default_value_t = true,
            default_missing_value = "true",
            num_args = 0..=1,
            action = clap::ArgAction::Set
        )]
        demo_stream: bool,
        /// With --demo: how many simulated agents work the live desk's cases (taking,
        /// calling, e-mailing, resolving); 0 starts none. Only on a desk seeded as a
        /// demo desk.
        #[arg(
            long,
            env = "RISKDESK_DEMO_AGENTS",
            value_name = "N",
            default_value_t = 5
        )]
        demo_agents: u32,
        /// With --demo, when it seeds: days of history to play before now (1 to 90).
        #[arg(
            long,
            env = "RISKDESK_DEMO_DAYS",
            value_name = "DAYS",
            default_value_t = crate::demo::DEFAULT_DAYS,
            value_parser = clap::value_parser!(u32).range(1..=90)
        )]
        demo_days: u32,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API keys for the JSON API.
    #[command(subcommand)]
    Apikey(ApikeyCommand),
    /// Manage the webhooks that tell the risk engine of cases and decisions.
    #[command(subcommand)]
    Webhook(WebhookCommand),
    /// The desk's configuration as a file: queues, rules, routes, SLA policies, calendars.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Make the configuration what FILE says; all of it is checked first, and nothing
    /// changes if any part is wrong.
    Apply {
        file: std::path::PathBuf,
        /// Print what would change, change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Print the current configuration in the same format.
    Export,
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create a user; prints a generated password unless --password-stdin is given.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// agent, supervisor or admin
        #[arg(long)]
        role: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Interface language (en or zh-CN); default: the browser's.
        #[arg(long)]
        language: Option<String>,
        /// Queues the agent works, by name, comma-separated.
        #[arg(long, value_delimiter = ',')]
        queues: Vec<String>,
        /// The agent's skills, comma-separated.
        #[arg(long, value_delimiter = ',')]
        skills: Vec<String>,
        /// Weight units of cases the agent may hold at once.
        #[arg(long, default_value_t = 5)]
        capacity: i32,
    },
    /// Remove a user's second factor (a lost phone with no recovery code left, or an
    /// admin locked out): they sign in with their password again and their sessions end.
    ResetMfa {
        #[arg(long)]
        email: String,
    },
}

#[derive(Debug, Subcommand)]
enum ApikeyCommand {
    /// Create an API key and print it once (only its hash is stored).
    Create {
        #[arg(long)]
        name: String,
        /// What the key may do, comma-separated: alerts:write, cases:read,
        /// labels:read, webhooks:manage. Default: alerts:write.
        #[arg(long, value_name = "SCOPES")]
        scopes: Option<String>,
        /// Days until the key stops working (1 to 3650); default: it does not expire.
        #[arg(long, value_name = "DAYS")]
        expires_in_days: Option<u32>,
        /// Requests a minute the key may make, per instance (1 to 1000000; default
        /// 300000).
        #[arg(long, value_name = "N")]
        rate_limit: Option<u32>,
    },
    /// List the API keys: prefix, name, status, scopes, expiry, rate limit, last use.
    List,
    /// Revoke an API key: requests with it are refused from now on.
    Revoke {
        /// The key's prefix as `apikey list` and the admin page show it
        /// (`rdk_abcd1234` or `abcd1234`).
        #[arg(long)]
        prefix: String,
    },
}

#[derive(Debug, Subcommand)]
enum WebhookCommand {
    /// Add a receiver and print its signing secret once.
    Add {
        #[arg(long)]
        name: String,
        /// http:// or https:// address the deliveries are POSTed to.
        #[arg(long)]
        url: String,
        /// Event types, comma-separated; default: every type.
        #[arg(long, default_value = "")]
        events: String,
    },
    /// List the receivers with what waits for each.
    List,
    /// Stop sending to a receiver (what it misses waits for it).
    Disable { webhook: String },
    /// Send to a receiver again.
    Enable { webhook: String },
    /// Give a receiver a new signing secret and print it once.
    Rotate { webhook: String },
    /// Delete a receiver and what waits for it.
    Delete { webhook: String },
}

type Failure = String;

/// Parses the command line and runs the command.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let settings = match cli.settings.resolve() {
        Ok(s) => s,
        Err(e) => return fail(&e.to_string()),
    };
    init_logging(settings.log_format);
    let default = Command::Serve {
        demo: false,
        demo_stream: true,
        demo_agents: 0,
        demo_days: crate::demo::DEFAULT_DAYS,
    };
    let result = match cli.command.unwrap_or(default) {
        Command::Serve {
            demo,
            demo_stream,
            demo_agents,
            demo_days,
        } => serve(
            settings,
            Demo {
                on: demo,
                stream: demo_stream,
                agents: demo_agents,
                days: demo_days,
            },
        ),
        Command::Migrate => migrate(&settings),
        Command::User(UserCommand::Add {
            email,
            name,
            role,
            password_stdin,
            language,
            queues,
            skills,
            capacity,
        }) => user_add(
            &settings,
            &email,
            &name,
            &role,
            password_stdin,
            language,
            accounts::RoutingInput {
                queues,
                skills,
                capacity,
                shift_calendar: None,
                auto_assign: true,
            },
        ),
        Command::User(UserCommand::ResetMfa { email }) => user_reset_mfa(&settings, &email),
        Command::Apikey(cmd) => apikey(&settings, cmd),
        Command::Webhook(cmd) => webhook(&settings, cmd),
        Command::Config(ConfigCommand::Apply { file, dry_run }) => {
            config_apply(&settings, &file, dry_run)
        }
        Command::Config(ConfigCommand::Export) => config_export(&settings),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(reason) => fail(&reason),
    }
}

fn fail(reason: &str) -> ExitCode {
    let line = reason.lines().next().unwrap_or("failed");
    eprintln!("riskdesk: error: {line}");
    ExitCode::from(1)
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

fn open(settings: &Settings) -> Result<AppState, Failure> {
    AppState::open(settings.clone(), Clock::System).map_err(|e| e.to_string())
}

/// What `serve` does for the demo: `--demo`, `--demo-stream`, `--demo-agents` and
/// `--demo-days`.
struct Demo {
    on: bool,
    stream: bool,
    agents: u32,
    days: u32,
}

fn serve(settings: Settings, demo: Demo) -> Result<(), Failure> {
    let listener = TcpListener::bind(&settings.bind)
        .map_err(|e| format!("cannot listen on {}: {e}", settings.bind))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let database = settings.database.redacted();
    let state = open(&settings)?;
    let mut stream = false;
    let mut agents = 0;
    if demo.on {
        crate::demo::seed_if_empty(&state, demo.days)
            .map_err(|e| format!("demo seeding failed: {e}"))?;
        stream = crate::demo::stream_for(&state, demo.stream)? == crate::demo::Stream::Runs;
        agents = crate::demo::agents_for(&state, demo.agents)?;
    }
    // A desk without users gets a fresh one-time setup link (any earlier one stops
    // working). The default public URL names the port actually bound.
    let public_url = if settings.public_url == format!("http://{}", settings.bind) {
        format!("http://{addr}")
    } else {
        settings.public_url.clone()
    };
    let setup_link = {
        let mut conn = state.pool.get().map_err(|e| e.to_string())?;
        crate::setup::issue(&mut conn, state.now())
            .map_err(|e| format!("cannot issue the setup link: {e}"))?
            .map(|token| crate::setup::link(&public_url, &token))
    };
    if let Some(link) = &setup_link {
        println!("this desk has no users yet: create the first admin at {link}");
        println!(
            "(the link works once, for {} minutes; starting again prints a fresh one)",
            crate::setup::VALID_MINUTES
        );
        tracing::info!(link = %link, "the desk has no users: first-run setup link issued");
    }
    // The desk's own SMTP listener for inbound mail, bound before anything runs, so
    // a taken port stops the start with one line.
    let inbound_smtp = match settings.inbound_smtp {
        Some(addr) => {
            let l = TcpListener::bind(addr)
                .map_err(|e| format!("--inbound-smtp: cannot listen on {addr}: {e}"))?;
            l.set_nonblocking(true).map_err(|e| e.to_string())?;
            Some(l)
        }
        None => None,
    };
    let imap = settings.imap.clone();
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(state.clone(), listener).map_err(|e| e.to_string())?;
        if let Some(l) = inbound_smtp {
            let l = tokio::net::TcpListener::from_std(l).map_err(|e| e.to_string())?;
            actix_web::rt::spawn(crate::inbound::smtp::serve(state.clone(), l));
        }
        if let Some(url) = imap {
            tracing::info!(mailbox = %url.redacted(), "polling the IMAP mailbox for inbound mail");
            actix_web::rt::spawn(crate::inbound::imap::run(state.clone(), url));
        }
        if stream {
            actix_web::rt::spawn(crate::demo::alert_stream(state.clone()));
        }
        if agents > 0 {
            actix_web::rt::spawn(crate::demo::agents_live(state.clone(), agents));
        }
        crate::jobs::spawn(state);
        println!("riskdesk listening on http://{addr} (database: {database})");
        let _ = std::io::stdout().flush();
        app.server.await.map_err(|e| e.to_string())?;
        tracing::info!("riskdesk stopped");
        Ok(())
    })
}

fn migrate(settings: &Settings) -> Result<(), Failure> {
    // Opening the pool applies pending migrations.
    db::connect(&settings.database, 1).map_err(|e| e.to_string())?;
    println!("database is up to date ({})", settings.database.redacted());
    Ok(())
}

fn user_add(
    settings: &Settings,
    email: &str,
    name: &str,
    role: &str,
    password_stdin: bool,
    language: Option<String>,
    routing: accounts::RoutingInput,
) -> Result<(), Failure> {
    // Check what can be checked before asking for a password.
    role.parse::<Role>()?;
    if !(0..=100).contains(&routing.capacity) {
        return Err("--capacity must be from 0 to 100 weight units".into());
    }
    for s in &routing.skills {
        accounts::parse_skill(s)?;
    }
    crate::domain::Email::parse(email)?;
    crate::domain::UserName::parse(name)?;
    let (password, generated) = if password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
        let line = line.trim_end_matches(['\r', '\n']);
        (
            NewPassword::parse(line, email).map_err(|p| format!("--password-stdin: {p}"))?,
            false,
        )
    } else {
        (NewPassword::generate(), true)
    };
    let state = open(settings)?;
    let mut conn = state.pool.get().map_err(|e| e.to_string())?;
    // Queues must exist before anything is created.
    for q in &routing.queues {
        use crate::db::schema::queues;
        use diesel::prelude::*;
        let found: i64 = queues::table
            .filter(queues::name.eq(q.trim()))
            .count()
            .get_result(&mut conn)
            .map_err(|e| e.to_string())?;
        if found == 0 {
            return Err(format!("no queue is named '{}'", q.trim()));
        }
    }
    let user = accounts::create_user(
        &mut conn,
        state.now(),
        &Actor::cli(),
        &NewUserInput {
            email,
            name,
            role,
            language: language.as_deref(),
        },
        &password,
    )
    .map_err(|e| e.to_string())?;
    accounts::set_routing(
        &mut conn,
        state.now(),
        &Actor::cli(),
        user.id,
        &routing,
        |_| Ok(()), // a new account is offline: nothing to give it yet
    )
    .map_err(|e| e.to_string())?;
    println!("created {} {} ({})", user.role, user.email, user.name);
    if !routing.queues.is_empty() {
        println!(
            "queues: {}; skills: {}; capacity: {}",
            routing.queues.join(", "),
            routing.skills.join(", "),
            routing.capacity
        );
    }
    if generated {
        println!("password: {}", password.expose());
        println!("(shown once: it is stored only as an argon2id hash)");
    }
    Ok(())
}

fn user_reset_mfa(settings: &Settings, email: &str) -> Result<(), Failure> {
    let email = crate::domain::Email::parse(email)?;
    let state = open(settings)?;
    let mut conn = state.pool.get().map_err(|e| e.to_string())?;
    let user = crate::store::users::find_by_email(&mut conn, email.as_str())
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no user has the e-mail {email}"))?;
    match crate::mfa::reset(&mut conn, state.now(), &Actor::cli(), user.id) {
        Ok((user, ended)) => {
            println!(
                "removed the second factor of {} ({ended} sessions ended); they sign in with their password and may set it up again",
                user.email
            );
            Ok(())
        }
        Err(crate::mfa::MfaError::NotEnrolled) => {
            Err(format!("{} has no second factor to remove", user.email))
        }
        Err(e) => Err(e.to_string()),
    }
}

fn apikey(settings: &Settings, cmd: ApikeyCommand) -> Result<(), Failure> {
    use crate::apikeys::{self, KeyError};
    use crate::domain::apikey::{KeyRequest, Scopes};
    // A refusal names the flag it is about.
    let refused = |e: KeyError| match e {
        KeyError::Invalid(e) => format!("--{}: {e}", e.field().replace('_', "-")),
        other => other.to_string(),
    };
    match cmd {
        ApikeyCommand::Create {
            name,
            scopes,
            expires_in_days,
            rate_limit,
        } => {
            let scopes = match scopes {
                Some(list) => Scopes::parse_list(&list).map_err(|e| refused(e.into()))?,
                None => Scopes::DEFAULT,
            };
            let request = KeyRequest {
                name: &name,
                scopes,
                expires_in_days,
                rate_limit,
            };
            // Checked before the database is opened: a wrong flag creates nothing.
            request
                .check(chrono::Utc::now())
                .map_err(|e| refused(e.into()))?;
            let state = open(settings)?;
            let mut conn = state.pool.get().map_err(|e| e.to_string())?;
            let (key, secret) = apikeys::create(&mut conn, state.now(), &Actor::cli(), &request)
                .map_err(refused)?;
            println!("created API key '{}' (id {})", key.name, key.id);
            println!("scopes: {}", key.scopes().to_stored().replace(',', ", "));
            match key.expires_at() {
                Some(t) => println!("expires: {}", t.to_rfc3339()),
                None => println!("expires: never"),
            }
            println!(
                "rate limit: {} requests a minute (per instance)",
                key.rate_limit()
            );
            println!("{secret}");
            println!("(shown once: only its hash is stored)");
        }
        ApikeyCommand::List => {
            let state = open(settings)?;
            let mut conn = state.pool.get().map_err(|e| e.to_string())?;
            let now = state.now();
            let keys = crate::store::apikeys::list(&mut conn).map_err(|e| e.to_string())?;
            if keys.is_empty() {
                println!("no API keys");
            }
            for k in keys {
                let status = if k.revoked_at.is_some() {
                    "revoked"
                } else if k.expired(now) {
                    "expired"
                } else {
                    "active"
                };
                let when = |t: Option<chrono::DateTime<chrono::Utc>>, none: &str| {
                    t.map_or(none.to_string(), |t| t.to_rfc3339())
                };
                println!(
                    "rdk_{}\t{}\t{}\t{}\texpires {}\t{}/min\tlast used {}",
                    k.prefix,
                    k.name,
                    status,
                    k.scopes().to_stored(),
                    when(k.expires_at(), "never"),
                    k.rate_limit(),
                    when(k.last_used_at.map(crate::store::from_db), "never"),
                );
            }
        }
        ApikeyCommand::Revoke { prefix } => {
            let state = open(settings)?;
            let mut conn = state.pool.get().map_err(|e| e.to_string())?;
            let key = apikeys::find_by_prefix(&mut conn, &prefix).map_err(refused)?;
            if key.revoked_at.is_some() {
                println!(
                    "API key '{}' (rdk_{}) was revoked already",
                    key.name, key.prefix
                );
                return Ok(());
            }
            apikeys::revoke(&mut conn, state.now(), &Actor::cli(), key.id).map_err(refused)?;
            println!("revoked API key '{}' (rdk_{})", key.name, key.prefix);
        }
    }
    Ok(())
}

fn webhook(settings: &Settings, cmd: WebhookCommand) -> Result<(), Failure> {
    use crate::webhooks as hooks;
    let state = open(settings)?;
    let mut conn = state.pool.get().map_err(|e| e.to_string())?;
    let (now, actor) = (state.now(), Actor::cli());
    let err = |e: hooks::WebhookError| e.to_string();
    match cmd {
        WebhookCommand::Add { name, url, events } => {
            let (hook, secret) =
                hooks::add(&mut conn, now, &actor, &name, &url, &events).map_err(err)?;
            println!(
                "added webhook '{}' (id {}) -> {}",
                hook.name, hook.id, hook.url
            );
            println!(
                "events: {}",
                hook.events.trim_matches(',').replace(',', ", ")
            );
            println!("signing secret: {secret}");
            println!("(shown once: sign-check each delivery's Riskdesk-Signature with it)");
        }
        WebhookCommand::List => {
            let waiting = crate::store::webhooks::waiting(&mut conn).map_err(|e| e.to_string())?;
            let list = crate::store::webhooks::list(&mut conn).map_err(|e| e.to_string())?;
            if list.is_empty() {
                println!("no webhooks");
            }
            for h in list {
                let (w, f) = waiting
                    .iter()
                    .find(|(id, _, _)| *id == h.id)
                    .map_or((0, 0), |(_, w, f)| (*w, *f));
                println!(
                    "{}\t{}\t{}\t{}\t{} waiting, {} failing\t{}",
                    h.id,
                    h.name,
                    if h.enabled { "enabled" } else { "disabled" },
                    h.url,
                    w,
                    f,
                    h.events.trim_matches(',')
                );
            }
        }
        WebhookCommand::Disable { webhook } => {
            let id = hooks::find(&mut conn, &webhook).map_err(err)?.id;
            let h = hooks::set_enabled(&mut conn, now, &actor, id, false).map_err(err)?;
            println!("disabled webhook '{}'", h.name);
        }
        WebhookCommand::Enable { webhook } => {
            let id = hooks::find(&mut conn, &webhook).map_err(err)?.id;
            let h = hooks::set_enabled(&mut conn, now, &actor, id, true).map_err(err)?;
            println!("enabled webhook '{}'", h.name);
        }
        WebhookCommand::Rotate { webhook } => {
            let id = hooks::find(&mut conn, &webhook).map_err(err)?.id;
            let (h, secret) = hooks::rotate(&mut conn, now, &actor, id).map_err(err)?;
            println!("new signing secret of webhook '{}': {secret}", h.name);
            println!("(shown once; deliveries are signed with it from now on)");
        }
        WebhookCommand::Delete { webhook } => {
            let id = hooks::find(&mut conn, &webhook).map_err(err)?.id;
            let h = hooks::delete(&mut conn, now, &actor, id).map_err(err)?;
            println!("deleted webhook '{}'", h.name);
        }
    }
    Ok(())
}

fn config_apply(settings: &Settings, file: &std::path::Path, dry_run: bool) -> Result<(), Failure> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let state = open(settings)?;
    let mut conn = state.pool.get().map_err(|e| e.to_string())?;
    match crate::desk::apply_text(&mut conn, state.now(), &Actor::cli(), &text, dry_run) {
        Ok(changes) => {
            if changes.is_empty() {
                println!("no changes: the desk already has this configuration");
            }
            for c in &changes {
                println!("{c}");
            }
            if dry_run && !changes.is_empty() {
                println!("(dry run: nothing was changed)");
            }
            Ok(())
        }
        Err(crate::desk::ConfigError::Invalid(problems)) => {
            for p in &problems {
                eprintln!("{}: {p}", file.display());
            }
            Err(format!(
                "{} has {} problem(s); nothing was changed",
                file.display(),
                problems.len()
            ))
        }
        Err(e) => Err(e.to_string()),
    }
}

fn config_export(settings: &Settings) -> Result<(), Failure> {
    let state = open(settings)?;
    let mut conn = state.pool.get().map_err(|e| e.to_string())?;
    let text = crate::desk::export(&mut conn).map_err(|e| e.to_string())?;
    accounts::record(
        &mut conn,
        state.now(),
        &accounts::Actor::cli(),
        "config.exported",
        None,
        serde_json::json!({"by": "command line"}),
    )
    .map_err(|e| e.to_string())?;
    print!("{text}");
    Ok(())
}
