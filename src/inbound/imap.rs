// The desk's IMAP mailbox (`--imap-url imap://user:pass@host:port/INBOX`, or
// `imaps://` for TLS from the first byte): a poller fetches the unseen messages by
// UID with the `async-imap` crate, stores each raw mail in the database first and
// only then flags it \Seen, so a crash in between fetches it again and stores
// nothing twice (the store keeps one row per Message-ID). A server that is down is
// logged and tried again with a growing wait, never a crash.

use std::fmt;
use std::time::Duration;

use async_imap::Client;
use futures_util::TryStreamExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::state::AppState;

/// How often the mailbox is looked at while it answers.
pub const POLL: Duration = Duration::from_secs(30);
/// Messages fetched in one pass at most.
const BATCH: usize = 50;
/// How long connecting and each command may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Where the mailbox is and how to sign in.
#[derive(Clone, PartialEq, Eq)]
pub struct ImapUrl {
    pub tls: bool,
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
    pub mailbox: String,
}

impl fmt::Debug for ImapUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.redacted())
    }
}

fn percent_decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| "a bad %-escape".to_string())?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "not UTF-8 after %-decoding".to_string())
}

impl ImapUrl {
    /// Reads `imap://user:pass@host[:port][/MAILBOX]` or `imaps://…` (the user and
    /// password %-encoded; the mailbox `INBOX` when none is given).
    pub fn parse(s: &str) -> Result<ImapUrl, String> {
        let s = s.trim();
        let (tls, rest) = if let Some(r) = s.strip_prefix("imaps://") {
            (true, r)
        } else if let Some(r) = s.strip_prefix("imap://") {
            (false, r)
        } else {
            let scheme = s.split_once("://").map(|(s, _)| s).unwrap_or(s);
            return Err(format!(
                "must start with imap:// or imaps://, not '{scheme}://…'"
            ));
        };
        let (auth, hostpart) = rest
            .rsplit_once('@')
            .ok_or("must name the user and password: imap://user:pass@host/INBOX")?;
        let (user, password) = auth
            .split_once(':')
            .ok_or("must name the user and password: imap://user:pass@host/INBOX")?;
        let (hostport, mailbox) = match hostpart.split_once('/') {
            Some((h, m)) if !m.is_empty() => (h, percent_decode(m)?),
            Some((h, _)) => (h, "INBOX".to_string()),
            None => (hostpart, "INBOX".to_string()),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => (
                h,
                p.parse::<u16>()
                    .map_err(|_| format!("'{p}' is not a port"))?,
            ),
            None => (hostport, if tls { 993 } else { 143 }),
        };
        if host.is_empty() {
            return Err("names no host".into());
        }
        Ok(ImapUrl {
            tls,
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
            port,
            user: percent_decode(user)?,
            password: percent_decode(password)?,
            mailbox,
        })
    }

    /// The URL without its password, for logs.
    pub fn redacted(&self) -> String {
        format!(
            "{}://{}:***@{}:{}/{}",
            if self.tls { "imaps" } else { "imap" },
            self.user,
            self.host,
            self.port,
            self.mailbox
        )
    }
}

/// A connection, plain or TLS.
trait Io: AsyncRead + AsyncWrite + Unpin + Send + fmt::Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + fmt::Debug> Io for T {}

async fn timed<T, E: fmt::Display>(
    what: &str,
    f: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, String> {
    match tokio::time::timeout(TIMEOUT, f).await {
        Ok(Ok(t)) => Ok(t),
        Ok(Err(e)) => Err(format!("{what}: {e}")),
        Err(_) => Err(format!("{what}: no answer within {} s", TIMEOUT.as_secs())),
    }
}

async fn connect(url: &ImapUrl) -> Result<Box<dyn Io>, String> {
    let tcp = timed("connect", TcpStream::connect((url.host.as_str(), url.port))).await?;
    if !url.tls {
        return Ok(Box::new(tcp));
    }
    let connector = native_tls_connector()?;
    let tls = timed("TLS", connector.connect(&url.host, tcp)).await?;
    Ok(Box::new(tls))
}

fn native_tls_connector() -> Result<tokio_native_tls::TlsConnector, String> {
    let c = tokio_native_tls::native_tls::TlsConnector::new().map_err(|e| e.to_string())?;
    Ok(tokio_native_tls::TlsConnector::from(c))
}

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    /// Messages fetched from the mailbox.
    pub fetched: usize,
    /// Of them, new to the desk (the others were stored before).
    pub stored: usize,
}

/// One pass over the mailbox: signs in, fetches the unseen messages (at most a
/// batch) by UID, stores each and then flags it \Seen, processes what was stored,
/// and signs out.
pub async fn poll_once(state: &AppState, url: &ImapUrl) -> Result<Pass, String> {
    let stream = connect(url).await?;
    let mut client = Client::new(stream);
    timed("greeting", async {
        client
            .read_response()
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| "the server closed the connection".to_string())
    })
    .await?;
    let mut session = timed("login", async {
        client
            .login(&url.user, &url.password)
            .await
            .map_err(|(e, _)| e)
    })
    .await?;
    timed("select", session.select(&url.mailbox)).await?;
    let mut uids: Vec<u32> = timed("search", session.uid_search("UNSEEN"))
        .await?
        .into_iter()
        .collect();
    uids.sort_unstable();
    uids.truncate(BATCH);
    let mut pass = Pass::default();
    let mut stored_ids = Vec::new();
    for uid in uids {
        let fetches: Vec<async_imap::types::Fetch> = timed("fetch", async {
            session
                .uid_fetch(uid.to_string(), "BODY.PEEK[]")
                .await?
                .try_collect::<Vec<_>>()
                .await
        })
        .await?;
        let Some(raw) = fetches.iter().find_map(|f| f.body().map(<[u8]>::to_vec)) else {
            continue;
        };
        pass.fetched += 1;
        let st = state.clone();
        let accepted = actix_web::web::block(move || {
            let now = st.now();
            let mut conn = st.pool.get().map_err(|e| e.to_string())?;
            super::accept(&mut conn, now, "imap", &raw, &[]).map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| e.to_string())??;
        // Stored (committed): only now is it marked seen on the server.
        timed("store", async {
            session
                .uid_store(uid.to_string(), "+FLAGS.SILENT (\\Seen)")
                .await?
                .try_collect::<Vec<_>>()
                .await
        })
        .await?;
        if accepted.new {
            pass.stored += 1;
        }
        stored_ids.push(accepted.id);
    }
    let _ = timed("logout", session.logout()).await;
    if !stored_ids.is_empty() {
        let st = state.clone();
        actix_web::web::block(move || {
            let now = st.now();
            let key = crate::domain::conversation::ReplyKey::derive(&st.secret_key);
            let mut conn = st.pool.get().map_err(|e| e.to_string())?;
            for id in stored_ids {
                if let Err(e) = super::process(&mut conn, &st.settings, &key, now, id) {
                    tracing::warn!(inbound_mail = id, error = %e, "inbound mail stored, not yet processed");
                }
            }
            Ok::<_, String>(())
        })
        .await
        .map_err(|e| e.to_string())??;
    }
    Ok(pass)
}

/// The wait before the next try after `failures` failed passes in a row: 5 s,
/// doubling, at most 5 minutes.
pub fn backoff(failures: u32) -> Duration {
    let secs = 5u64.saturating_mul(1 << failures.clamp(1, 7).saturating_sub(1));
    Duration::from_secs(secs.min(300))
}

/// Polls the mailbox until the runtime stops: every [`POLL`] while it answers,
/// with a growing wait while it does not (logged once when it goes down, once when
/// it is back).
pub async fn run(state: AppState, url: ImapUrl) {
    let mut failures: u32 = 0;
    loop {
        match poll_once(&state, &url).await {
            Ok(pass) => {
                if failures > 0 {
                    tracing::info!(mailbox = %url.redacted(), "the IMAP mailbox answers again");
                }
                failures = 0;
                if pass.fetched > 0 {
                    tracing::info!(
                        fetched = pass.fetched,
                        stored = pass.stored,
                        "inbound mail fetched over IMAP"
                    );
                }
                if pass.fetched == BATCH {
                    continue;
                }
                actix_web::rt::time::sleep(POLL).await;
            }
            Err(e) => {
                failures += 1;
                let wait = backoff(failures);
                if failures == 1 {
                    tracing::error!(mailbox = %url.redacted(), error = %e, retry_in = ?wait, "the IMAP mailbox cannot be read; will retry");
                } else {
                    tracing::warn!(mailbox = %url.redacted(), error = %e, failures, retry_in = ?wait, "the IMAP mailbox still cannot be read");
                }
                actix_web::rt::time::sleep(wait).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_url() {
        let u = ImapUrl::parse("imap://desk%40bank:p%3Ass@127.0.0.1:1143/Replies").unwrap();
        assert!(!u.tls);
        assert_eq!(u.user, "desk@bank");
        assert_eq!(u.password, "p:ss");
        assert_eq!(u.port, 1143);
        assert_eq!(u.mailbox, "Replies");
        assert_eq!(u.redacted(), "imap://desk@bank:***@127.0.0.1:1143/Replies");
        let u = ImapUrl::parse("imaps://u:p@mail.bank.example").unwrap();
        assert!(u.tls);
        assert_eq!(u.port, 993);
        assert_eq!(u.mailbox, "INBOX");
        for bad in [
            "pop3://u:p@h",
            "imap://h/INBOX",
            "imap://u@h",
            "imap://u:p@h:port",
            "imap://u:p@/INBOX",
        ] {
            assert!(ImapUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let secs: Vec<u64> = (1..=8).map(|f| backoff(f).as_secs()).collect();
        assert_eq!(secs, vec![5, 10, 20, 40, 80, 160, 300, 300]);
    }
}
