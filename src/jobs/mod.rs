// Background workers that run beside the HTTP server in every instance: the SLA
// watch, the presence, session and assignment sweeps, the mail outbox, callback
// reminders, webhook deliveries, emergency escalation, the weekly brief, notification digests and the
// reports' per-case facts. Each is safe to run in several instances at once
// (alarms, reminders, briefs and digests fire once; assignment uses conditional
// updates; outbox messages are claimed; the facts are upserted under a lease).

use std::time::Duration;

use diesel::prelude::*;

use crate::db::schema::users;
use crate::state::AppState;
use crate::store::{self, sessions};

/// Starts the workers on the current actix runtime; they stop with it.
pub fn spawn(state: AppState) {
    actix_web::rt::spawn(every(
        state.clone(),
        secs(300),
        "session sweep",
        sweep_sessions,
    ));
    actix_web::rt::spawn(draining(
        state.clone(),
        SLA_WATCH_SECONDS,
        "SLA watch",
        |s| watch_sla_for(s, Some(RUN_BUDGET)).map(|d| d.more),
    ));
    actix_web::rt::spawn(every(state.clone(), secs(30), "presence sweep", |s| {
        sweep_presence(s).map(|_| ())
    }));
    actix_web::rt::spawn(every(state.clone(), secs(30), "callback reminders", |s| {
        remind_callbacks(s).map(|_| ())
    }));
    actix_web::rt::spawn(draining(state.clone(), 10, "assignment sweep", |s| {
        sweep_assignment_for(s, Some(RUN_BUDGET)).map(|(_, more)| more)
    }));
    actix_web::rt::spawn(every(state.clone(), secs(60), "weekly brief", |s| {
        weekly_brief(s).map(|_| ())
    }));
    actix_web::rt::spawn(every(
        state.clone(),
        secs(60),
        "notification digests",
        |s| send_digests(s).map(|_| ()),
    ));
    actix_web::rt::spawn(every(state.clone(), secs(5), "mail outbox", |s| {
        send_outbox(s).map(|_| ())
    }));
    actix_web::rt::spawn(every(state.clone(), secs(10), "inbound mail", |s| {
        process_inbound(s).map(|_| ())
    }));
    actix_web::rt::spawn(every(
        state.clone(),
        secs(30),
        "AML report deadlines",
        |s| watch_aml_reports(s).map(|_| ()),
    ));
    actix_web::rt::spawn(every(state.clone(), secs(30), "snooze expiry", |s| {
        expire_snoozes(s).map(|_| ())
    }));
    actix_web::rt::spawn(every(state.clone(), secs(10), "emergencies", |s| {
        watch_emergencies(s).map(|_| ())
    }));
    actix_web::rt::spawn(every(state.clone(), secs(2), "webhooks", |s| {
        send_webhooks(s).map(|_| ())
    }));
    actix_web::rt::spawn(report_facts(state.clone()));
    if matches!(state.settings.database, crate::db::DatabaseUrl::Sqlite(_)) {
        actix_web::rt::spawn(every(state, CHECKPOINT_EVERY, "checkpoints", checkpoint));
    }
}

/// Starts the `--audit-log` writer when the setting is given. The application
/// starts it with the server (not with the other workers), so that every instance
/// that serves requests writes its sink.
pub fn spawn_audit_log(state: &AppState) {
    if let Some(sink) = state.settings.audit_log.clone() {
        // Opened now, before any request: a new file or syslog starts with the
        // events of this start.
        let opened = state
            .pool
            .get()
            .map_err(|e| e.to_string())
            .and_then(|mut c| crate::audit_stream::AuditStream::open(&mut c, sink.clone()));
        let opened = match opened {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::error!(error = %e, "cannot open the audit log yet; trying again");
                None
            }
        };
        actix_web::rt::spawn(stream_audit(state.clone(), sink, opened));
    }
}

/// `--audit-log`: writes the audit events to their sink about once a second (see
/// `audit_stream`); a sink that fails is tried again, its events kept.
async fn stream_audit(
    state: AppState,
    sink: crate::config::AuditSink,
    opened: Option<crate::audit_stream::AuditStream>,
) {
    let mut tick = actix_web::rt::time::interval(Duration::from_secs(1));
    let mut stream = opened;
    let mut failing = false;
    loop {
        tick.tick().await;
        let (st, sink, current) = (state.clone(), sink.clone(), stream.take());
        let result = actix_web::web::block(move || {
            let mut conn = match st.pool.get() {
                Ok(c) => c,
                Err(e) => return Err((current, e.to_string())),
            };
            let mut s = match current {
                Some(s) => s,
                None => crate::audit_stream::AuditStream::open(&mut conn, sink)
                    .map_err(|e| (None, e))?,
            };
            match s.pass(&mut conn, st.now()) {
                Ok(n) => Ok((s, n)),
                Err(e) => Err((Some(s), e)),
            }
        })
        .await;
        match result {
            Ok(Ok((s, _))) => {
                stream = Some(s);
                if failing {
                    tracing::info!("the audit log is written again");
                    failing = false;
                }
            }
            Ok(Err((s, e))) => {
                stream = s;
                if !failing {
                    tracing::error!(error = %e, "cannot write the audit log; its events wait");
                    failing = true;
                }
            }
            Err(e) => tracing::warn!(worker = "audit log", error = %e, "background work failed"),
        }
    }
}

/// Keeps the reports' per-case facts up to date every few seconds, under a lease
/// named after this worker, so that one instance at a time does the work. A run
/// that leaves the facts behind (more changed than one run looks at, after a
/// burst) is followed by the next at once, until they have caught up.
async fn report_facts(state: AppState) {
    let owner = crate::domain::tokens::random_token(12);
    let mut tick = actix_web::rt::time::interval(Duration::from_secs(REPORT_FACTS_SECONDS));
    loop {
        tick.tick().await;
        loop {
            let (st, me) = (state.clone(), owner.clone());
            let run = actix_web::web::block(move || {
                let done = refresh_report_facts(&st, &me)?;
                Ok::<_, String>(done.is_some() && report_facts_behind(&st)?)
            })
            .await;
            match run {
                Ok(Ok(true)) => continue,
                Ok(Ok(false)) => {}
                Ok(Err(e)) => {
                    tracing::warn!(worker = "report facts", error = %e, "background work failed")
                }
                Err(e) => {
                    tracing::warn!(worker = "report facts", error = %e, "background work failed")
                }
            }
            break;
        }
    }
}

/// True when the reports' facts are behind the cases: a case changed more than the
/// job's overlap after the newest change its last run saw.
pub fn report_facts_behind(state: &AppState) -> Result<bool, String> {
    use crate::db::schema::{cases, jobs};
    let mut conn = state.pool.get().map_err(|e| e.to_string())?;
    let watermark: Option<chrono::NaiveDateTime> = jobs::table
        .filter(jobs::name.eq(crate::reports::store::JOB))
        .select(jobs::watermark)
        .first::<Option<chrono::NaiveDateTime>>(&mut conn)
        .optional()
        .map_err(|e| e.to_string())?
        .flatten();
    let newest: Option<chrono::NaiveDateTime> = cases::table
        .select(diesel::dsl::max(cases::updated_at))
        .first(&mut conn)
        .map_err(|e| e.to_string())?;
    let overlap = chrono::Duration::seconds(crate::reports::store::OVERLAP_SECONDS);
    Ok(matches!((watermark, newest), (Some(w), Some(n)) if n > w + overlap))
}

/// How often the reports' facts catch up with the cases, in seconds.
pub const REPORT_FACTS_SECONDS: u64 = 5;

/// Computes the facts of the cases changed since the last run, as `owner` of the
/// job's lease; `None` when another instance holds it, else how many were written.
pub fn refresh_report_facts(state: &AppState, owner: &str) -> Result<Option<usize>, String> {
    let now = state.now();
    let mut conn = state.pool.get().map_err(|e| e.to_string())?;
    let snap = state.desk.get(&mut conn).map_err(|e| e.to_string())?;
    crate::reports::store::refresh_changed(&mut conn, &snap, now, owner).map_err(|e| e.to_string())
}

/// How often the SLA watch looks for due alarms, in seconds (a run drains all that
/// is due, so this is only the delay before an alarm is seen).
pub const SLA_WATCH_SECONDS: u64 = 5;

/// How long one run of a draining worker goes on before it lets the others' turn
/// come (it runs again at once when work is left).
pub const RUN_BUDGET: Duration = Duration::from_secs(10);

/// [`every`] for workers that drain a backlog: a run that stopped at its budget with
/// work left (`f` returned true) is followed by the next at once, not after the tick.
async fn draining(
    state: AppState,
    seconds: u64,
    name: &'static str,
    f: fn(&AppState) -> Result<bool, String>,
) {
    let mut tick = actix_web::rt::time::interval(Duration::from_secs(seconds));
    loop {
        tick.tick().await;
        loop {
            let st = state.clone();
            match actix_web::web::block(move || f(&st)).await {
                Ok(Ok(true)) => continue,
                Ok(Ok(false)) => {}
                Ok(Err(e)) => tracing::warn!(worker = name, error = %e, "background work failed"),
                Err(e) => tracing::warn!(worker = name, error = %e, "background work failed"),
            }
            break;
        }
    }
}

/// `n` seconds, as the workers' periods are written.
const fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

async fn every(
    state: AppState,
    period: Duration,
    name: &'static str,
    f: fn(&AppState) -> Result<(), String>,
) {
    let mut tick = actix_web::rt::time::interval(period);
    loop {
        tick.tick().await;
        let st = state.clone();
        match actix_web::web::block(move || f(&st)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(worker = name, error = %e, "background work failed"),
            Err(e) => tracing::warn!(worker = name, error = %e, "background work failed"),
        }
    }
}

/// How often the SQLite write-ahead log is copied back into the database file.
pub const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// Copies the SQLite write-ahead log back into the database file (see
/// [`crate::db::checkpoint`]): done here, beside the writers, so that no write's
/// commit has to do it.
fn checkpoint(state: &AppState) -> Result<(), String> {
    let mut conn = state.pool.get().map_err(|e| e.to_string())?;
    crate::db::checkpoint(&mut conn).map_err(|e| e.to_string())
}

fn sweep_sessions(state: &AppState) -> Result<(), String> {
    let now = state.now();
    let mut conn = state.pool.get().map_err(|e| e.to_string())?;
    let n = sessions::purge(
        &mut conn,
        store::to_db(now - state.settings.session_idle),
        store::to_db(now - state.settings.session_max),
    )
    .map_err(|e| e.to_string())?;
    if n > 0 {
        tracing::info!(removed = n, "expired sessions removed");
    }
    Ok(())
}

/// Fires the SLA alarms that are due, all of them; returns how many fired.
pub fn watch_sla(state: &AppState) -> Result<usize, String> {
    watch_sla_for(state, None).map(|d| d.fired)
}

/// Fires the SLA alarms that are due, batch after batch, until none is due or the
/// `budget` is spent (see `escalate::drain_due`).
pub fn watch_sla_for(
    state: &AppState,
    budget: Option<Duration>,
) -> Result<crate::cases::escalate::Drain, String> {
    let mut conn = state.pool.get().map_err(|e| e.to_string())?;
    let snap = state.desk.get(&mut conn).map_err(|e| e.to_string())?;
    crate::cases::escalate::drain_due(
        &mut conn,
        &snap,
        || state.now(),
        state.settings.unassigned_alert_after,
        &state.settings.public_url,
        budget,
    )
    .map_err(|e| e.to_string())
}

/// Turns idle online agents away (handing back their unstarted cases) and, when set,
/// hands on the started cases of agents away or offline for too long.
pub fn sweep_presence(state: &AppState) -> Result<usize, String> {
    let now = state.now();
    let mut conn = state.pool.get().map_err(|e| e.to_string())?;
    let snap = state.desk.get(&mut conn).map_err(|e| e.to_string())?;
    let idle_since = store::to_db(now - state.settings.away_after);
    let idle: Vec<i64> = users::table
        .filter(users::presence.eq("online"))
        .filter(users::last_active_at.lt(idle_since))
        .select(users::id)
        .load(&mut conn)
        .map_err(|e| e.to_string())?;
    let mut changed = 0;
    for id in idle {
        crate::db::write_tx_retry(&mut conn, |c| {
            crate::cases::assign::set_presence(c, &snap, id, "away", now)
        })
        .map_err(|e| e.to_string())?;
        changed += 1;
    }
    if let Some(after) = state.settings.reassign_started_after {
        let since = store::to_db(now - after);
        let gone: Vec<i64> = users::table
            .filter(users::presence.ne("online"))
            .filter(users::presence_since.lt(since))
            .filter(users::current_load.gt(0))
            .select(users::id)
            .load(&mut conn)
            .map_err(|e| e.to_string())?;
        for id in gone {
            crate::db::write_tx_retry(&mut conn, |c| {
                crate::cases::assign::give_back(
                    c,
                    &snap,
                    id,
                    now,
                    true,
                    crate::domain::events::ReturnReason::OfflineTooLong,
                )
            })
            .map_err(|e| e.to_string())?;
            changed += 1;
        }
    }
    Ok(changed)
}

/// Gives waiting cases to online agents with room until none has room or nothing
/// they may take waits; returns how many.
pub fn sweep_assignment(state: &AppState) -> Result<usize, String> {
    sweep_assignment_for(state, None).map(|(given, _)| given)
}

/// The assignment sweep, pass after pass (each fills every agent with room, see
/// `assign::sweep`) while a pass gives cases — agents may have gained room
/// meanwhile — until `budget` is spent; returns how many were given and whether
/// it stopped at the budget with cases still being given.
pub fn sweep_assignment_for(
    state: &AppState,
    budget: Option<Duration>,
) -> Result<(usize, bool), String> {
    let started = std::time::Instant::now();
    let mut conn = state.pool.get().map_err(|e| e.to_string())?;
    let snap = state.desk.get(&mut conn).map_err(|e| e.to_string())?;
    let mut given = 0;
    loop {
        let pass = crate::cases::assign::sweep(&mut conn, &snap, state.now())
            .map_err(|e| e.to_string())?;
        given += pass;
        if pass == 0 {
            return Ok((given, false));
        }
        if budget.is_some_and(|b| started.elapsed() >= b) {
            return Ok((given, true));
        }
    }
}

/// Sends the outbox's due messages (SMTP or .eml files, as the settings say).
pub fn send_outbox(state: &AppState) -> Result<crate::mail::outbox::Pass, String> {
    let now = state.now();
    let transport = crate::mail::transport::Transport::from_settings(
        state.settings.smtp_url.as_deref(),
        &state.settings.data_dir,
    )?;
    let mut conn = state.pool.get().map_err(|e| e.to_string())?;
    crate::mail::outbox::deliver_due(&mut conn, &transport, &state.settings.mail_from, now)
        .map_err(|e| e.to_string())
}

/// Processes the inbound mails stored but not processed yet (a crash between
/// storing and processing, or a mail another instance stored); returns how many.
pub fn process_inbound(state: &AppState) -> Result<usize, String> {
    let now = state.now();
    let key = crate::domain::conversation::ReplyKey::derive(&state.secret_key);
    let mut conn = state.pool.get().map_err(|e| e.to_string())?;
    crate::inbound::process_pending(&mut conn, &state.settings, &key, now)
        .map_err(|e| e.to_string())
}

/// Queues the notification e-mail digests that are due (hourly and daily, as each
/// reader chose), each once across instances; returns how many.
pub fn send_digests(state: &AppState) -> Result<usize, String> {
    let now = state.now();
    let mut conn = state.pool.get().map_err(|e| e.to_string())?;
    crate::cases::notices::send_due_digests(&mut conn, now, &state.settings.public_url)
        .map_err(|e| e.to_string())
}

/// Sends the webhook deliveries that are due, pass after pass while each finds a
/// full batch; returns what was done.
pub fn send_webhooks(state: &AppState) -> Result<crate::webhooks::Pass, String> {
    let agent = crate::webhooks::shared_client(state.settings.webhook_timeout);
    let mut conn = state.pool.get().map_err(|e| e.to_string())?;
    let mut total = crate::webhooks::Pass::default();
    loop {
        let pass = crate::webhooks::deliver_due(&mut conn, &agent, || state.now())
            .map_err(|e| e.to_string())?;
        total.delivered += pass.delivered;
        total.retrying += pass.retrying;
        if !pass.more {
            return Ok(total);
        }
    }
}

/// Warns of AML report deadlines on their last working day and marks the passed
/// ones; returns how many steps it took.
pub fn watch_aml_reports(state: &AppState) -> Result<usize, String> {
    let now = state.now();
    let mut conn = state.pool.get().map_err(|e| e.to_string())?;
    crate::cases::aml_report::watch(&mut conn, now).map_err(|e| e.to_string())
}

/// Pages the next group for the emergencies nobody acknowledged in time; returns
/// how many steps it took.
pub fn watch_emergencies(state: &AppState) -> Result<usize, String> {
    let now = state.now();
    let mut conn = state.pool.get().map_err(|e| e.to_string())?;
    let snap = state.desk.get(&mut conn).map_err(|e| e.to_string())?;
    let pager = crate::cases::emergency::Pager {
        snap: &snap,
        base: &state.settings.public_url,
    };
    crate::cases::emergency::watch(&mut conn, pager, now).map_err(|e| e.to_string())
}

/// Ends the snoozes whose time is up; returns how many.
pub fn expire_snoozes(state: &AppState) -> Result<usize, String> {
    let now = state.now();
    let mut conn = state.pool.get().map_err(|e| e.to_string())?;
    crate::cases::snooze::expire_due(&mut conn, now).map_err(|e| e.to_string())
}

/// Reminds agents of the requested callbacks that are due; returns how many.
pub fn remind_callbacks(state: &AppState) -> Result<usize, String> {
    let now = state.now();
    let mut conn = state.pool.get().map_err(|e| e.to_string())?;
    crate::cases::calls::remind_due(&mut conn, now).map_err(|e| e.to_string())
}

/// Stores last week's brief and mails it to the supervisors once it is due (Monday
/// 06:00 in the desk's time zone), once across instances; returns the week and the
/// number of e-mails queued when it fired.
pub fn weekly_brief(
    state: &AppState,
) -> Result<Option<(crate::domain::week::IsoWeek, usize)>, String> {
    let now = state.now();
    let mut conn = state.pool.get().map_err(|e| e.to_string())?;
    let fired =
        crate::briefs::run_due(&mut conn, &state.settings, now).map_err(|e| e.to_string())?;
    if let Some((week, mails)) = fired {
        tracing::info!(week = %week, mails, "weekly brief stored and mailed");
    }
    Ok(fired)
}
