// `--audit-log`: every audit event, as it happens, appended as a JSON line to a file
// or sent to syslog. The events are read back from the audit table after they
// commit (a rolled-back change leaves no line), about once a second, by each
// instance for its own sink. Nothing is lost: a sink that fails keeps its events for
// the next pass; a file sink resumes after a restart where its last lines end.
// Nothing is doubled: ids already written are remembered until no transaction that
// could still commit a lower id is plausible.

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};

use crate::config::AuditSink;
use crate::db::DbConn;
use crate::store::audit::{self, AuditFilter, Record};

/// Events read per pass at most.
const BATCH: i64 = 1000;
/// How long a transaction may hold an event id before it commits: ids below the
/// newest written one are looked for again until their events are this old.
const SETTLE_SECONDS: i64 = 60;
/// How much of a file's end is read at start to learn what it holds.
const TAIL_BYTES: u64 = 256 * 1024;

/// The position of one sink in the audit table.
#[derive(Debug)]
pub struct AuditStream {
    sink: AuditSink,
    /// Every event with an id up to this one has been written (or never will be).
    low: i64,
    /// Ids above `low` written already, with their events' times.
    written: BTreeMap<i64, chrono::NaiveDateTime>,
}

impl AuditStream {
    /// Opens the sink's position: after the last event a file holds, or, for a new
    /// file or syslog, after the newest event now (the history is in the exports).
    pub fn open(conn: &mut DbConn, sink: AuditSink) -> Result<AuditStream, String> {
        let mut stream = AuditStream {
            low: 0,
            written: BTreeMap::new(),
            sink,
        };
        let seen = match &stream.sink {
            AuditSink::File(path) => ids_at_end(path)?,
            AuditSink::Syslog(_) => Vec::new(),
        };
        match seen.iter().map(|(id, _)| *id).min() {
            Some(min) => {
                stream.low = min - 1;
                stream.written = seen.into_iter().collect();
            }
            None => stream.low = audit::max_id(conn).map_err(|e| e.to_string())?,
        }
        Ok(stream)
    }

    /// Writes the events committed since the last pass; returns how many.
    pub fn pass(&mut self, conn: &mut DbConn, now: DateTime<Utc>) -> Result<usize, String> {
        let rows = audit::after(conn, &AuditFilter::default(), self.low, BATCH)
            .map_err(|e| e.to_string())?;
        let mut lines = Vec::new();
        let mut new = Vec::new();
        for (e, actor) in &rows {
            if self.written.contains_key(&e.id) {
                continue;
            }
            lines.push(Record::of(e, actor.as_deref()).json_line());
            new.push((e.id, e.at));
        }
        let (sent, failure) = self.write(&lines);
        self.written.extend(new.iter().take(sent).copied());
        if let Some(f) = failure {
            return Err(f);
        }
        self.settle(now, rows.len() as i64 >= BATCH);
        Ok(sent)
    }

    /// Moves `low` past written ids whose events are old enough that no lower id can
    /// still commit.
    fn settle(&mut self, now: DateTime<Utc>, more_waiting: bool) {
        let settled = crate::store::to_db(now - Duration::seconds(SETTLE_SECONDS));
        while let Some((id, at)) = self.written.first_key_value().map(|(i, a)| (*i, *a)) {
            // A full batch means more events wait: move on past what was written
            // rather than read the same batch again.
            if at <= settled || more_waiting {
                self.low = id;
                self.written.remove(&id);
            } else {
                break;
            }
        }
    }

    /// Writes the lines: how many went out, and why the rest did not.
    fn write(&self, lines: &[String]) -> (usize, Option<String>) {
        if lines.is_empty() {
            return (0, None);
        }
        match &self.sink {
            AuditSink::File(path) => match append(path, lines) {
                Ok(()) => (lines.len(), None),
                Err(e) => (0, Some(e)),
            },
            AuditSink::Syslog(socket) => send_syslog(socket, lines),
        }
    }
}

/// Appends the lines to the file and waits until they are on disk.
fn append(path: &Path, lines: &[String]) -> Result<(), String> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let mut text = String::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
    for l in lines {
        text.push_str(l);
        text.push('\n');
    }
    f.write_all(text.as_bytes())
        .and_then(|()| f.sync_data())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The ids (and times) of the events in the last lines of a file; none when it
/// does not exist or is empty. A last line cut short (a crash mid-write) is
/// ignored: its event is written again, whole.
fn ids_at_end(path: &Path) -> Result<Vec<(i64, chrono::NaiveDateTime)>, String> {
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let len = f.metadata().map_err(|e| e.to_string())?.len();
    let start = len.saturating_sub(TAIL_BYTES);
    f.seek(SeekFrom::Start(start)).map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    f.read_to_end(&mut buf).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&buf);
    let mut out = Vec::new();
    for line in text.lines() {
        #[derive(serde::Deserialize)]
        struct Line {
            id: i64,
            at: DateTime<Utc>,
        }
        if let Ok(l) = serde_json::from_str::<Line>(line) {
            out.push((l.id, crate::store::to_db(l.at)));
        }
    }
    Ok(out)
}

/// Sends each line as an RFC 5424 message (facility authpriv, severity notice) to a
/// Unix datagram socket such as /dev/log.
fn send_syslog(socket: &PathBuf, lines: &[String]) -> (usize, Option<String>) {
    use std::os::unix::net::UnixDatagram;
    let sock = match UnixDatagram::unbound() {
        Ok(s) => s,
        Err(e) => return (0, Some(e.to_string())),
    };
    let host = hostname();
    let pid = std::process::id();
    for (sent, line) in lines.iter().enumerate() {
        // <85>: facility authpriv (10) × 8 + severity notice (5).
        let stamp = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let msg = format!("<85>1 {stamp} {host} riskdesk {pid} audit - {line}");
        if let Err(e) = sock.send_to(msg.as_bytes(), socket) {
            return (
                sent,
                Some(format!(
                    "cannot send to syslog at {}: {e}",
                    socket.display()
                )),
            );
        }
    }
    (lines.len(), None)
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty() && h.is_ascii() && !h.contains(' '))
        .unwrap_or_else(|| "-".into())
}
