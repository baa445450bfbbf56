// The desk's own small SMTP listener (`--inbound-smtp ADDR`): the mail server in
// front of the desk delivers the customers' replies here. It speaks enough SMTP for
// that (EHLO/HELO, MAIL, RCPT, DATA with dot-unstuffing, RSET, NOOP, QUIT), takes
// mail only for the desk's reply domain and up to a size, and answers 250 to DATA
// only once the raw mail is committed to the database: a mail it acknowledged is
// never lost, and one delivered again is stored once.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use super::MAX_MAIL_BYTES;
use crate::state::AppState;

/// The longest command line taken (RFC 5321 says 512; extensions make it longer).
const MAX_LINE: u64 = 4096;
/// Recipients of one mail at most.
const MAX_RECIPIENTS: usize = 100;
/// How long the listener waits for the client's next line.
const IDLE: Duration = Duration::from_secs(300);

/// Serves SMTP on `listener` until the runtime stops: each connection in a task of
/// its own.
pub async fn serve(state: AppState, listener: TcpListener) {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "inbound SMTP listening");
    }
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let st = state.clone();
                actix_web::rt::spawn(async move {
                    if let Err(e) = session(st, stream).await {
                        tracing::debug!(%peer, error = %e, "inbound SMTP session ended");
                    }
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, "inbound SMTP cannot accept a connection");
                actix_web::rt::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

/// One line from the client, without its line break; `None` at the end of the
/// connection; an error for a line too long or a client that went quiet.
async fn line<R: AsyncRead + Unpin>(r: &mut BufReader<R>) -> std::io::Result<Option<Vec<u8>>> {
    let mut buf = Vec::new();
    let n = tokio::time::timeout(IDLE, (&mut *r).take(MAX_LINE).read_until(b'\n', &mut buf))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "idle"))??;
    if n == 0 {
        return Ok(None);
    }
    if !buf.ends_with(b"\n") {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "line too long",
        ));
    }
    while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        buf.pop();
    }
    Ok(Some(buf))
}

/// The address in `FROM:<a@b> SIZE=…` or `TO:<a@b>`, and the rest of the line.
fn path_arg<'a>(rest: &'a str, prefix: &str) -> Option<(&'a str, &'a str)> {
    let head = rest.get(..prefix.len())?;
    if !head.eq_ignore_ascii_case(prefix) {
        return None;
    }
    let rest = rest[prefix.len()..].trim_start();
    let rest = rest.strip_prefix('<')?;
    let end = rest.find('>')?;
    Some((&rest[..end], &rest[end + 1..]))
}

/// The `SIZE=` a MAIL command declares.
fn declared_size(params: &str) -> Option<usize> {
    params.split_whitespace().find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.eq_ignore_ascii_case("SIZE")
            .then(|| v.parse().ok())
            .flatten()
    })
}

/// Reads the mail after DATA up to the lone ".", dot-unstuffed; `None` when it
/// was over the size limit (read to its end all the same).
async fn data<R: AsyncRead + Unpin>(r: &mut BufReader<R>) -> std::io::Result<Option<Vec<u8>>> {
    let mut mail = Vec::new();
    let mut over = false;
    loop {
        let mut buf = Vec::new();
        let n = tokio::time::timeout(
            IDLE,
            (&mut *r)
                .take(MAX_MAIL_BYTES as u64 + 2)
                .read_until(b'\n', &mut buf),
        )
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "idle"))??;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the connection closed in DATA",
            ));
        }
        if buf == b".\r\n" || buf == b".\n" {
            return Ok((!over).then_some(mail));
        }
        let line: &[u8] = if buf.starts_with(b"..") {
            &buf[1..]
        } else {
            &buf
        };
        if mail.len() + line.len() > MAX_MAIL_BYTES {
            over = true;
            mail.clear();
        }
        if !over {
            mail.extend_from_slice(line);
        }
    }
}

async fn session(state: AppState, stream: TcpStream) -> std::io::Result<()> {
    let domain = state.settings.reply_address.domain.clone();
    let (read, mut w) = stream.into_split();
    let mut r = BufReader::new(read);
    macro_rules! reply {
        ($($arg:tt)*) => {
            w.write_all(format!("{}\r\n", format!($($arg)*)).as_bytes()).await?
        };
    }
    reply!("220 {domain} riskdesk ESMTP");
    let mut greeted = false;
    let mut from: Option<String> = None;
    let mut rcpts: Vec<String> = Vec::new();
    loop {
        let Some(raw) = line(&mut r).await? else {
            return Ok(());
        };
        let text = String::from_utf8_lossy(&raw).into_owned();
        let (verb, rest) = match text.split_once(' ') {
            Some((v, rest)) => (v.to_ascii_uppercase(), rest.trim()),
            None => (text.trim().to_ascii_uppercase(), ""),
        };
        match verb.as_str() {
            "EHLO" => {
                greeted = true;
                from = None;
                rcpts.clear();
                reply!("250-{domain}");
                reply!("250-SIZE {MAX_MAIL_BYTES}");
                reply!("250-8BITMIME");
                reply!("250 SMTPUTF8");
            }
            "HELO" => {
                greeted = true;
                from = None;
                rcpts.clear();
                reply!("250 {domain}");
            }
            "MAIL" => {
                if !greeted {
                    reply!("503 5.5.1 say EHLO first");
                } else if from.is_some() {
                    reply!("503 5.5.1 a mail is already under way");
                } else {
                    match path_arg(rest, "FROM:") {
                        None => reply!("501 5.5.4 syntax: MAIL FROM:<address>"),
                        Some((_, params))
                            if declared_size(params).is_some_and(|s| s > MAX_MAIL_BYTES) =>
                        {
                            reply!("552 5.3.4 the mail is larger than {MAX_MAIL_BYTES} bytes")
                        }
                        Some((addr, _)) => {
                            from = Some(addr.to_string());
                            reply!("250 2.1.0 OK");
                        }
                    }
                }
            }
            "RCPT" => {
                if from.is_none() {
                    reply!("503 5.5.1 MAIL first");
                } else {
                    match path_arg(rest, "TO:") {
                        None => reply!("501 5.5.4 syntax: RCPT TO:<address>"),
                        Some(_) if rcpts.len() >= MAX_RECIPIENTS => {
                            reply!("452 4.5.3 too many recipients")
                        }
                        Some((addr, _)) if state.settings.reply_address.same_domain(addr) => {
                            rcpts.push(addr.to_ascii_lowercase());
                            reply!("250 2.1.5 OK");
                        }
                        Some(_) => reply!("550 5.1.1 not a mailbox of this desk"),
                    }
                }
            }
            "DATA" => {
                if from.is_none() || rcpts.is_empty() {
                    reply!("503 5.5.1 MAIL and RCPT first");
                    continue;
                }
                reply!("354 end with <CRLF>.<CRLF>");
                let Some(mail) = data(&mut r).await? else {
                    from = None;
                    rcpts.clear();
                    reply!("552 5.3.4 the mail is larger than {MAX_MAIL_BYTES} bytes");
                    continue;
                };
                let (st, to) = (state.clone(), std::mem::take(&mut rcpts));
                from = None;
                let stored = actix_web::web::block(move || {
                    let now = st.now();
                    let mut conn = st.pool.get().map_err(|e| e.to_string())?;
                    super::accept(&mut conn, now, "smtp", &mail, &to).map_err(|e| e.to_string())
                })
                .await;
                match stored {
                    Ok(Ok(accepted)) => {
                        // Committed: only now is the mail acknowledged.
                        reply!("250 2.0.0 stored as {}", accepted.id);
                        let st = state.clone();
                        actix_web::rt::spawn(async move {
                            let _ = actix_web::web::block(move || {
                                let now = st.now();
                                let key =
                                    crate::domain::conversation::ReplyKey::derive(&st.secret_key);
                                let mut conn = st.pool.get().map_err(|e| e.to_string())?;
                                super::process(&mut conn, &st.settings, &key, now, accepted.id)
                                    .map_err(|e| e.to_string())
                            })
                            .await
                            .map(|r| {
                                if let Err(e) = r {
                                    tracing::warn!(inbound_mail = accepted.id, error = %e, "inbound mail stored, not yet processed");
                                }
                            });
                        });
                    }
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, "inbound mail could not be stored; the sender will retry");
                        reply!("451 4.3.0 cannot store the mail now, try again later");
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "inbound mail could not be stored; the sender will retry");
                        reply!("451 4.3.0 cannot store the mail now, try again later");
                    }
                }
            }
            "RSET" => {
                from = None;
                rcpts.clear();
                reply!("250 2.0.0 OK");
            }
            "NOOP" => reply!("250 2.0.0 OK"),
            "VRFY" => reply!("252 2.1.5 send some mail, it will be tried"),
            "QUIT" => {
                reply!("221 2.0.0 bye");
                return Ok(());
            }
            _ => reply!("502 5.5.2 command not implemented"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_paths_and_sizes() {
        assert_eq!(
            path_arg("FROM:<a@b.example> SIZE=10", "FROM:"),
            Some(("a@b.example", " SIZE=10"))
        );
        assert_eq!(path_arg("to: <x@y>", "TO:"), Some(("x@y", "")));
        assert_eq!(path_arg("FROM:<>", "FROM:"), Some(("", "")));
        assert_eq!(path_arg("FROM:a@b", "FROM:"), None);
        assert_eq!(declared_size(" SIZE=1234 BODY=8BITMIME"), Some(1234));
        assert_eq!(declared_size(" BODY=8BITMIME"), None);
    }
}
