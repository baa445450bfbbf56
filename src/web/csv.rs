// CSV downloads: RFC 4180 cells with a guard against formula injection, and a
// streamed response whose rows are produced off the async threads in chunks, so a
// file of any length is sent in flat memory.

use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::HttpResponse;
use actix_web::body::{BodySize, MessageBody};
use actix_web::http::header;
use actix_web::web::Bytes;
use tokio::sync::mpsc;

/// The UTF-8 byte-order mark that tells spreadsheet programs the file's encoding.
pub const BOM: &str = "\u{feff}";
/// A chunk is sent once it holds this many bytes.
const CHUNK_BYTES: usize = 64 * 1024;
/// Chunks waiting to be sent, at most: the producer waits for a slow reader.
const CHANNEL_CHUNKS: usize = 4;

/// One cell: a value a spreadsheet would run as a formula (starting with `=`, `+`,
/// `-`, `@`, a tab or a carriage return) gets a leading `'`; a value holding a comma,
/// a quote or a line break is quoted, its quotes doubled.
pub fn cell(value: &str) -> std::borrow::Cow<'_, str> {
    let guarded = matches!(
        value.chars().next(),
        Some('=' | '+' | '-' | '@' | '\t' | '\r')
    );
    let quote = value.contains([',', '"', '\n', '\r']);
    if !guarded && !quote {
        return std::borrow::Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len() + 3);
    if quote {
        out.push('"');
    }
    if guarded {
        out.push('\'');
    }
    for c in value.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    if quote {
        out.push('"');
    }
    std::borrow::Cow::Owned(out)
}

/// Appends one record (cells separated by commas, ended by CRLF) to `out`.
pub fn push_record<S: AsRef<str>>(out: &mut String, cells: &[S]) {
    for (i, c) in cells.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&cell(c.as_ref()));
    }
    out.push_str("\r\n");
}

/// The producer's end of a streamed CSV file.
pub struct Writer {
    buf: String,
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
}

/// The reader went away: stop producing.
#[derive(Debug, thiserror::Error)]
#[error("the client closed the connection")]
pub struct Gone;

impl Writer {
    /// Writes one record, sending a chunk when enough has gathered.
    pub fn record<S: AsRef<str>>(&mut self, cells: &[S]) -> Result<(), Gone> {
        push_record(&mut self.buf, cells);
        if self.buf.len() >= CHUNK_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes one line of text as it is (JSON lines), then a line feed.
    pub fn line(&mut self, text: &str) -> Result<(), Gone> {
        self.buf.push_str(text);
        self.buf.push('\n');
        if self.buf.len() >= CHUNK_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), Gone> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::take(&mut self.buf).into_bytes());
        self.buf.reserve(CHUNK_BYTES + 1024);
        self.tx.blocking_send(Ok(chunk)).map_err(|_| Gone)
    }
}

/// The response body: chunks as the producer sends them.
struct Body {
    rx: mpsc::Receiver<Result<Bytes, std::io::Error>>,
}

impl MessageBody for Body {
    type Error = std::io::Error;

    fn size(&self) -> BodySize {
        BodySize::Stream
    }

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        self.rx.poll_recv(cx)
    }
}

/// A streamed CSV download named `filename`: `produce` runs on the blocking thread
/// pool and writes the records (the header first); the byte-order mark comes before
/// them. An error of `produce` ends the download abruptly (the client sees a
/// truncated transfer, never a file that looks complete) and is logged.
pub fn stream<F, E>(filename: &str, produce: F) -> HttpResponse
where
    F: FnOnce(&mut Writer) -> Result<(), E> + Send + 'static,
    E: std::fmt::Display + From<Gone> + Send + 'static,
{
    stream_with(filename, "text/csv; charset=utf-8", true, produce)
}

/// A streamed download of any text: `content_type`, and the byte-order mark first
/// when `bom` (CSV for spreadsheets); otherwise as [`stream`].
pub fn stream_with<F, E>(filename: &str, content_type: &str, bom: bool, produce: F) -> HttpResponse
where
    F: FnOnce(&mut Writer) -> Result<(), E> + Send + 'static,
    E: std::fmt::Display + From<Gone> + Send + 'static,
{
    let (tx, rx) = mpsc::channel(CHANNEL_CHUNKS);
    actix_web::rt::task::spawn_blocking(move || {
        let mut w = Writer {
            buf: String::with_capacity(CHUNK_BYTES + 1024),
            tx: tx.clone(),
        };
        if bom {
            w.buf.push_str(BOM);
        }
        let outcome = produce(&mut w).and_then(|()| w.flush().map_err(E::from));
        if let Err(e) = outcome {
            tracing::warn!(error = %e, "download stopped");
            let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
        }
    });
    HttpResponse::Ok()
        .content_type(content_type.to_string())
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(Body { rx })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_and_guarded() {
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("two\nlines"), "\"two\nlines\"");
        assert_eq!(cell("=SUM(A1:A2)"), "'=SUM(A1:A2)");
        assert_eq!(cell("+86 138"), "'+86 138");
        assert_eq!(cell("-3"), "'-3");
        assert_eq!(cell("@cmd"), "'@cmd");
        assert_eq!(cell("=1,2"), "\"'=1,2\"");
        assert_eq!(cell("王*"), "王*");
        let mut out = String::new();
        push_record(&mut out, &["a", "b,c", ""]);
        assert_eq!(out, "a,\"b,c\",\r\n");
    }
}
