// A `multipart/form-data` body (RFC 7578) read whole: the customer's message form with
// its files. The body is already in memory (the CSRF check reads it, within a size
// limit), so the parts are cut out of it in one pass.

/// One part of the form: a field, or a file with its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub name: String,
    /// Set for a file input (possibly empty: no file was chosen).
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub data: Vec<u8>,
}

impl Part {
    /// The part as text (a form field).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }
}

/// Why a body could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MultipartError {
    #[error("the content type names no boundary")]
    NoBoundary,
    #[error("the body is not a multipart form")]
    Malformed,
    #[error("the form has too many parts")]
    TooManyParts,
}

/// The boundary a `multipart/form-data` content type names.
pub fn boundary(content_type: &str) -> Option<String> {
    let (mime, params) = content_type.split_once(';')?;
    if !mime.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params_of(params)
        .into_iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v)
        .filter(|b| !b.is_empty() && b.len() <= 70)
}

/// `; a=b; c="d e"` as pairs, quoted values unquoted.
fn params_of(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = s;
    loop {
        rest = rest.trim_start_matches([';', ' ', '\t']);
        let Some(eq) = rest.find('=') else {
            break;
        };
        let key = rest[..eq].trim().to_string();
        rest = &rest[eq + 1..];
        let value;
        if let Some(quoted) = rest.strip_prefix('"') {
            let mut v = String::new();
            let mut chars = quoted.char_indices();
            let mut end = quoted.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            v.push(n);
                        }
                    }
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    c => v.push(c),
                }
            }
            value = v;
            rest = &quoted[end.min(quoted.len())..];
        } else {
            let end = rest.find(';').unwrap_or(rest.len());
            value = rest[..end].trim().to_string();
            rest = &rest[end..];
        }
        out.push((key, value));
    }
    out
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    let first = needle[0];
    let mut i = from;
    while i + needle.len() <= hay.len() {
        match hay[i..=hay.len() - needle.len()]
            .iter()
            .position(|b| *b == first)
        {
            None => return None,
            Some(p) => {
                let at = i + p;
                if &hay[at..at + needle.len()] == needle {
                    return Some(at);
                }
                i = at + 1;
            }
        }
    }
    None
}

/// The parts of `body`, at most `max_parts` of them.
pub fn parse(body: &[u8], boundary: &str, max_parts: usize) -> Result<Vec<Part>, MultipartError> {
    let delimiter = format!("--{boundary}");
    let next_delimiter = format!("\r\n--{boundary}");
    let mut at = find(body, delimiter.as_bytes(), 0).ok_or(MultipartError::Malformed)?;
    at += delimiter.len();
    let mut parts = Vec::new();
    loop {
        if body[at..].starts_with(b"--") {
            return Ok(parts);
        }
        // Transport padding, then the line break after the delimiter.
        while at < body.len() && matches!(body[at], b' ' | b'\t') {
            at += 1;
        }
        if !body[at..].starts_with(b"\r\n") {
            return Err(MultipartError::Malformed);
        }
        at += 2;
        let head_end = find(body, b"\r\n\r\n", at).ok_or(MultipartError::Malformed)?;
        let head = String::from_utf8_lossy(&body[at..head_end]).into_owned();
        let data_start = head_end + 4;
        let data_end =
            find(body, next_delimiter.as_bytes(), data_start).ok_or(MultipartError::Malformed)?;
        if parts.len() == max_parts {
            return Err(MultipartError::TooManyParts);
        }
        let mut name = None;
        let mut filename = None;
        let mut content_type = None;
        for line in head.split("\r\n") {
            let Some((h, v)) = line.split_once(':') else {
                continue;
            };
            if h.trim().eq_ignore_ascii_case("content-disposition") {
                let (kind, params) = v.split_once(';').unwrap_or((v, ""));
                if !kind.trim().eq_ignore_ascii_case("form-data") {
                    return Err(MultipartError::Malformed);
                }
                for (k, v) in params_of(params) {
                    if k.eq_ignore_ascii_case("name") {
                        name = Some(v);
                    } else if k.eq_ignore_ascii_case("filename") {
                        filename = Some(v);
                    }
                }
            } else if h.trim().eq_ignore_ascii_case("content-type") {
                content_type = Some(v.trim().to_string());
            }
        }
        parts.push(Part {
            name: name.ok_or(MultipartError::Malformed)?,
            filename,
            content_type,
            data: body[data_start..data_end].to_vec(),
        });
        at = data_end + next_delimiter.len();
    }
}

/// The text of field `name`, when the body holds it.
pub fn field(body: &[u8], content_type: &str, name: &str) -> Option<String> {
    let b = boundary(content_type)?;
    parse(body, &b, 64)
        .ok()?
        .into_iter()
        .find(|p| p.name == name && p.filename.is_none())
        .map(|p| p.text())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = "--XyZ\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\ntok123\r\n--XyZ\r\nContent-Disposition: form-data; name=\"message\"\r\n\r\nHello\r\nthere\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a \\\"b\\\".png\"\r\nContent-Type: image/png\r\n\r\n\x01\x02\r\n--X\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\"\r\nContent-Type: application/octet-stream\r\n\r\n\r\n--XyZ--\r\n";

    #[test]
    fn reads_fields_and_files() {
        let ct = "multipart/form-data; boundary=XyZ";
        assert_eq!(boundary(ct).as_deref(), Some("XyZ"));
        assert_eq!(
            boundary("multipart/form-data; boundary=\"a b\"").as_deref(),
            Some("a b")
        );
        assert_eq!(boundary("application/x-www-form-urlencoded"), None);
        let parts = parse(BODY.as_bytes(), "XyZ", 10).unwrap();
        assert_eq!(parts.len(), 4);
        assert_eq!(parts[0].text(), "tok123");
        assert_eq!(parts[1].text(), "Hello\r\nthere");
        assert_eq!(parts[2].filename.as_deref(), Some("a \"b\".png"));
        assert_eq!(parts[2].content_type.as_deref(), Some("image/png"));
        assert_eq!(parts[2].data, b"\x01\x02\r\n--X");
        assert_eq!(parts[3].filename.as_deref(), Some(""));
        assert!(parts[3].data.is_empty());
        assert_eq!(
            field(BODY.as_bytes(), ct, "csrf_token").as_deref(),
            Some("tok123")
        );
        assert_eq!(field(BODY.as_bytes(), ct, "file"), None);
        assert_eq!(
            parse(BODY.as_bytes(), "XyZ", 2).unwrap_err(),
            MultipartError::TooManyParts
        );
        assert_eq!(
            parse(b"--XyZ\r\nno end", "XyZ", 10).unwrap_err(),
            MultipartError::Malformed
        );
        assert_eq!(
            parse(b"junk", "XyZ", 10).unwrap_err(),
            MultipartError::Malformed
        );
    }
}
