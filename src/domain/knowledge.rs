// The knowledge base's rules, without I/O: an article's statuses, what a valid
// article is (a title and a body in both languages, known rules), the text a search
// matches and how a search is read, the body's small Markdown subset rendered to
// escaped HTML, and the masking of free text quoted from a case.

use super::ProblemText;
use super::masking;
use super::text::{is_control, is_invisible};
use crate::i18n::tkey;

/// The longest title, in characters.
pub const TITLE_MAX: usize = 200;
/// The longest body, in characters.
pub const BODY_MAX: usize = 10_000;
/// The most rules one article is linked to.
pub const MAX_RULES: usize = 20;
/// The longest search, in characters, and the most words it may hold.
pub const QUERY_MAX: usize = 100;
pub const QUERY_TERMS: usize = 5;
/// How long a published (or re-notified) article counts as new: a week.
pub const NEW_FOR_DAYS: i64 = 7;
/// The longest quote of a case's note in a "what we learned" draft, in characters.
pub const SUMMARY_NOTE_MAX: usize = 600;

/// Where an article stands: written but not shown to agents, published, or retired
/// (kept, with its history, but no longer shown to agents).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Draft,
    Published,
    Retired,
}

impl Status {
    pub const ALL: [Status; 3] = [Status::Draft, Status::Published, Status::Retired];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Published => "published",
            Status::Retired => "retired",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Whether an article in this status may be published: a draft, or a retired
    /// article brought back.
    pub fn may_publish(self) -> bool {
        matches!(self, Status::Draft | Status::Retired)
    }

    /// Whether an article in this status may be retired.
    pub fn may_retire(self) -> bool {
        matches!(self, Status::Draft | Status::Published)
    }
}

/// An article's text and rules as a writer submitted them, checked: titles and
/// bodies trimmed, line ends made `\n`, rules sorted without repeats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArticleText {
    pub title_en: String,
    pub title_zh: String,
    pub body_en: String,
    pub body_zh: String,
    pub rules: Vec<String>,
}

/// One problem of a submitted article: the form field and the message.
pub type Problem = (&'static str, ProblemText);

/// The four texts of an article: field name and the keys of its problems (missing,
/// too long, bad characters).
struct Field {
    name: &'static str,
    missing: &'static str,
    too_long: &'static str,
    bad: &'static str,
    max: usize,
    multiline: bool,
}

const FIELDS: [Field; 4] = [
    Field {
        name: "title_en",
        missing: tkey("knowledge.error.title_en_missing"),
        too_long: tkey("knowledge.error.title_en_too_long"),
        bad: tkey("knowledge.error.title_en_characters"),
        max: TITLE_MAX,
        multiline: false,
    },
    Field {
        name: "title_zh",
        missing: tkey("knowledge.error.title_zh_missing"),
        too_long: tkey("knowledge.error.title_zh_too_long"),
        bad: tkey("knowledge.error.title_zh_characters"),
        max: TITLE_MAX,
        multiline: false,
    },
    Field {
        name: "body_en",
        missing: tkey("knowledge.error.body_en_missing"),
        too_long: tkey("knowledge.error.body_en_too_long"),
        bad: tkey("knowledge.error.body_en_characters"),
        max: BODY_MAX,
        multiline: true,
    },
    Field {
        name: "body_zh",
        missing: tkey("knowledge.error.body_zh_missing"),
        too_long: tkey("knowledge.error.body_zh_too_long"),
        bad: tkey("knowledge.error.body_zh_characters"),
        max: BODY_MAX,
        multiline: true,
    },
];

fn clean(field: &Field, raw: &str, problems: &mut Vec<Problem>) -> String {
    let text = raw.replace("\r\n", "\n").replace('\r', "\n");
    let text = if field.multiline {
        // Trailing spaces of each line go; the lines and blank lines stay.
        text.lines()
            .map(str::trim_end)
            .collect::<Vec<_>>()
            .join("\n")
            .trim()
            .to_string()
    } else {
        text.trim().to_string()
    };
    if text.is_empty() {
        problems.push((field.name, ProblemText::new(field.missing, &[])));
        return text;
    }
    let length = text.chars().count();
    if length > field.max {
        problems.push((
            field.name,
            ProblemText::new(
                field.too_long,
                &[
                    ("max", &field.max.to_string()),
                    ("length", &length.to_string()),
                ],
            ),
        ));
    }
    let allowed = |c: char| field.multiline && (c == '\n' || c == '\t');
    if text
        .chars()
        .any(|c| (is_control(c) && !allowed(c)) || is_invisible(c))
    {
        problems.push((field.name, ProblemText::new(field.bad, &[])));
    }
    text
}

/// Checks an article as submitted: both titles and both bodies are required (each
/// missing one named), within their lengths and without control or invisible
/// characters; every rule must be one of the desk's (`known`).
pub fn check(
    title_en: &str,
    title_zh: &str,
    body_en: &str,
    body_zh: &str,
    rules: &[String],
    known: impl Fn(&str) -> bool,
) -> Result<ArticleText, Vec<Problem>> {
    let mut problems = Vec::new();
    let [title_en, title_zh, body_en, body_zh] = [
        (&FIELDS[0], title_en),
        (&FIELDS[1], title_zh),
        (&FIELDS[2], body_en),
        (&FIELDS[3], body_zh),
    ]
    .map(|(f, raw)| clean(f, raw, &mut problems));
    let mut codes: Vec<String> = rules
        .iter()
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty())
        .collect();
    codes.sort();
    codes.dedup();
    for code in &codes {
        if !known(code) {
            problems.push((
                "rules",
                ProblemText::new(tkey("knowledge.error.unknown_rule"), &[("code", code)]),
            ));
        }
    }
    if codes.len() > MAX_RULES {
        problems.push((
            "rules",
            ProblemText::new(
                tkey("knowledge.error.too_many_rules"),
                &[("max", &MAX_RULES.to_string())],
            ),
        ));
    }
    if problems.is_empty() {
        Ok(ArticleText {
            title_en,
            title_zh,
            body_en,
            body_zh,
            rules: codes,
        })
    } else {
        Err(problems)
    }
}

/// Lower-cased with every run of white space (the ideographic space included) made
/// one space: how both the stored text and a search are compared.
pub fn normalize(text: &str) -> String {
    text.to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// What a search matches substrings in: both titles, both bodies and the rule
/// codes, each normalized, one per line (a search word never holds a line end, so
/// no match runs from one into the next).
pub fn search_text(a: &ArticleText) -> String {
    [
        normalize(&a.title_en),
        normalize(&a.title_zh),
        normalize(&a.body_en),
        normalize(&a.body_zh),
        normalize(&a.rules.join(" ")),
    ]
    .join("\n")
}

/// Reads a search: its words (split at white space, normalized), each of which an
/// article must contain. An empty search is no search. Too long a search, too many
/// words, or control characters are refused with the reason.
pub fn parse_query(q: &str) -> Result<Vec<String>, ProblemText> {
    let q = q.trim();
    let length = q.chars().count();
    if length > QUERY_MAX {
        return Err(ProblemText::new(
            tkey("knowledge.error.query_too_long"),
            &[
                ("max", &QUERY_MAX.to_string()),
                ("length", &length.to_string()),
            ],
        ));
    }
    if q.chars().any(|c| is_control(c) || is_invisible(c)) {
        return Err(ProblemText::new(
            tkey("knowledge.error.query_characters"),
            &[],
        ));
    }
    let mut terms: Vec<String> = Vec::new();
    for t in normalize(q).split(' ').filter(|t| !t.is_empty()) {
        if !terms.iter().any(|x| x == t) {
            terms.push(t.to_string());
        }
    }
    if terms.len() > QUERY_TERMS {
        return Err(ProblemText::new(
            tkey("knowledge.error.query_terms"),
            &[("max", &QUERY_TERMS.to_string())],
        ));
    }
    Ok(terms)
}

/// A `LIKE` pattern (escape character `\`) matching `term` anywhere, its own `%`, `_`
/// and `\` taken literally.
pub fn like_pattern(term: &str) -> String {
    let mut p = String::with_capacity(term.len() + 2);
    p.push('%');
    for c in term.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// Inline marks within a line: `` `code` `` and `**bold**`, every character of the
/// text escaped. An unclosed mark is text.
fn inline(out: &mut String, text: &str) {
    let mut rest = text;
    while !rest.is_empty() {
        let code = rest.find('`');
        let bold = rest.find("**");
        match (code, bold) {
            (Some(c), b) if b.is_none_or(|b| c < b) => {
                if let Some(end) = rest[c + 1..].find('`') {
                    escape_into(out, &rest[..c]);
                    out.push_str("<code>");
                    escape_into(out, &rest[c + 1..c + 1 + end]);
                    out.push_str("</code>");
                    rest = &rest[c + 1 + end + 1..];
                } else {
                    escape_into(out, rest);
                    return;
                }
            }
            (_, Some(b)) => {
                if let Some(end) = rest[b + 2..].find("**").filter(|e| *e > 0) {
                    escape_into(out, &rest[..b]);
                    out.push_str("<strong>");
                    inline(out, &rest[b + 2..b + 2 + end]);
                    out.push_str("</strong>");
                    rest = &rest[b + 2 + end + 2..];
                } else {
                    escape_into(out, &rest[..b + 2]);
                    rest = &rest[b + 2..];
                }
            }
            _ => {
                escape_into(out, rest);
                return;
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ListKind {
    Bullets,
    Numbered,
}

/// A list item's kind and text: `- `, `* ` or `• ` for bullets; `1. ` or `1、` for
/// numbered steps.
fn list_item(line: &str) -> Option<(ListKind, &str)> {
    let t = line.trim_start();
    for mark in ["- ", "* ", "• "] {
        if let Some(rest) = t.strip_prefix(mark) {
            return Some((ListKind::Bullets, rest.trim()));
        }
    }
    let digits = t.chars().take_while(char::is_ascii_digit).count();
    if (1..=3).contains(&digits) {
        let rest = &t[digits..];
        for mark in [". ", "、"] {
            if let Some(item) = rest.strip_prefix(mark) {
                return Some((ListKind::Numbered, item.trim()));
            }
        }
    }
    None
}

/// A heading line: `# `, `## ` or `### ` (the article's title is the page's first
/// heading, so they start one level below it).
fn heading(line: &str) -> Option<(u8, &str)> {
    let t = line.trim_start();
    for (mark, level) in [("### ", 4), ("## ", 3), ("# ", 2)] {
        if let Some(rest) = t.strip_prefix(mark) {
            return Some((level, rest.trim()));
        }
    }
    None
}

/// Renders an article's body to HTML: paragraphs (blank lines between them, single
/// line ends kept), headings, bulleted and numbered lists, bold and code. Nothing of
/// the text becomes markup by itself: every character is escaped, and the only tags
/// are the ones this function writes.
pub fn render_body(text: &str) -> String {
    let mut out = String::new();
    let mut para: Vec<&str> = Vec::new();
    let mut list: Option<(ListKind, Vec<String>)> = None;
    fn flush_para(out: &mut String, para: &mut Vec<&str>) {
        if para.is_empty() {
            return;
        }
        out.push_str("<p>");
        for (i, line) in para.iter().enumerate() {
            if i > 0 {
                out.push_str("<br>");
            }
            inline(out, line);
        }
        out.push_str("</p>\n");
        para.clear();
    }
    fn flush_list(out: &mut String, list: &mut Option<(ListKind, Vec<String>)>) {
        let Some((kind, items)) = list.take() else {
            return;
        };
        let tag = match kind {
            ListKind::Bullets => "ul",
            ListKind::Numbered => "ol",
        };
        out.push_str(&format!("<{tag}>"));
        for item in items {
            out.push_str("<li>");
            inline(out, &item);
            out.push_str("</li>");
        }
        out.push_str(&format!("</{tag}>\n"));
    }
    let normalized = text.replace("\r\n", "\n");
    for line in normalized.lines() {
        if line.trim().is_empty() {
            flush_para(&mut out, &mut para);
            flush_list(&mut out, &mut list);
            continue;
        }
        if let Some((level, h)) = heading(line) {
            flush_para(&mut out, &mut para);
            flush_list(&mut out, &mut list);
            out.push_str(&format!("<h{level}>"));
            inline(&mut out, h);
            out.push_str(&format!("</h{level}>\n"));
            continue;
        }
        if let Some((kind, item)) = list_item(line) {
            flush_para(&mut out, &mut para);
            if list.as_ref().is_some_and(|(k, _)| *k != kind) {
                flush_list(&mut out, &mut list);
            }
            list.get_or_insert_with(|| (kind, Vec::new()))
                .1
                .push(item.to_string());
            continue;
        }
        // An indented line under a list item continues it.
        if line.starts_with([' ', '\t'])
            && let Some((_, items)) = list.as_mut()
            && let Some(last) = items.last_mut()
        {
            last.push(' ');
            last.push_str(line.trim());
            continue;
        }
        flush_list(&mut out, &mut list);
        para.push(line.trim());
    }
    flush_para(&mut out, &mut para);
    flush_list(&mut out, &mut list);
    out
}

/// The first paragraph of a body as plain text, cut to about `max` characters: the
/// excerpt under a title in lists.
pub fn excerpt(body: &str, max: usize) -> String {
    let first = body
        .replace("\r\n", "\n")
        .split("\n\n")
        .map(str::trim)
        .find(|p| !p.is_empty() && heading(p).is_none())
        .unwrap_or("")
        .to_string();
    let plain: String = normalize_spaces(&first.replace("**", "").replace('`', ""));
    if plain.chars().count() <= max {
        plain
    } else {
        let cut: String = plain.chars().take(max).collect();
        format!("{}…", cut.trim_end())
    }
}

fn normalize_spaces(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Masks personal data in free text quoted from a case (a closing's note) before it
/// goes into an article every agent reads: each of `known` (a value and its masked
/// form: the customer's name, e-mail, phone) wherever it stands, any e-mail address
/// and IPv4 address, and every run of seven or more digits (spaces or dashes between
/// groups allowed) but its last four — its first six too from twelve digits on, as
/// account and card numbers are shown. The result is cut to `max` characters.
pub fn mask_free_text(text: &str, known: &[(String, String)], max: usize) -> String {
    let mut s = text.to_string();
    for (value, masked) in known {
        let value = value.trim();
        if value.chars().count() >= 2 {
            s = s.replace(value, masked);
        }
    }
    // Word by word: e-mail and IP addresses.
    let mut words = String::with_capacity(s.len());
    let mut token = String::new();
    let flush = |token: &mut String, out: &mut String| {
        if token.is_empty() {
            return;
        }
        let core = token.trim_matches(|c: char| !c.is_alphanumeric());
        let masked =
            if core.contains('@') && core.rsplit('@').next().is_some_and(|d| d.contains('.')) {
                Some(masking::email(core))
            } else if is_ipv4(core) {
                Some(masking::ip(core))
            } else {
                None
            };
        match masked {
            Some(m) => out.push_str(&token.replacen(core, &m, 1)),
            None => out.push_str(token),
        }
        token.clear();
    };
    for c in s.chars() {
        if c.is_whitespace() || matches!(c, '，' | '。' | '；' | '：' | '（' | '）') {
            flush(&mut token, &mut words);
            words.push(c);
        } else {
            token.push(c);
        }
    }
    flush(&mut token, &mut words);
    let masked = crate::domain::masking::digit_runs(&words, 7);
    if masked.chars().count() <= max {
        masked
    } else {
        let cut: String = masked.chars().take(max).collect();
        format!("{}…", cut.trim_end())
    }
}

fn is_ipv4(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 4
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 3 && p.chars().all(|c| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(code: &str) -> bool {
        matches!(code, "SIM_SWAP" | "ACCOUNT_TAKEOVER")
    }

    #[test]
    fn both_languages_are_required_and_each_missing_one_is_named() {
        let err = check("Safe account scam", "", "Body", "  ", &[], known).unwrap_err();
        let keys: Vec<_> = err.iter().map(|(f, p)| (*f, p.key)).collect();
        assert_eq!(
            keys,
            vec![
                ("title_zh", "knowledge.error.title_zh_missing"),
                ("body_zh", "knowledge.error.body_zh_missing"),
            ]
        );
        let ok = check(
            " Safe account scam ",
            "安全账户诈骗",
            "Line one\r\n\r\nLine two  ",
            "正文",
            &[
                "SIM_SWAP".into(),
                "ACCOUNT_TAKEOVER".into(),
                "SIM_SWAP".into(),
            ],
            known,
        )
        .unwrap();
        assert_eq!(ok.title_en, "Safe account scam");
        assert_eq!(ok.body_en, "Line one\n\nLine two");
        assert_eq!(ok.rules, vec!["ACCOUNT_TAKEOVER", "SIM_SWAP"]);
    }

    #[test]
    fn unknown_rules_long_texts_and_control_characters_are_refused() {
        let long = "x".repeat(TITLE_MAX + 1);
        let err = check(
            &long,
            "标题\u{202e}",
            "a\u{0}b",
            "正文\t缩进",
            &["NOPE".into()],
            known,
        )
        .unwrap_err();
        let keys: Vec<_> = err.iter().map(|(_, p)| p.key).collect();
        assert_eq!(
            keys,
            vec![
                "knowledge.error.title_en_too_long",
                "knowledge.error.title_zh_characters",
                "knowledge.error.body_en_characters",
                "knowledge.error.unknown_rule",
            ]
        );
        assert_eq!(err[0].1.args[1], ("length", (TITLE_MAX + 1).to_string()));
        assert_eq!(err[3].1.args, vec![("code", "NOPE".to_string())]);
    }

    #[test]
    fn searches_are_words_matched_anywhere_in_lower_case() {
        assert_eq!(parse_query("  ").unwrap(), Vec::<String>::new());
        assert_eq!(
            parse_query("Safe  ACCOUNT\u{3000}安全账户 safe").unwrap(),
            vec!["safe", "account", "安全账户"]
        );
        assert_eq!(
            parse_query("a b c d e f").unwrap_err().key,
            "knowledge.error.query_terms"
        );
        assert_eq!(
            parse_query(&"字".repeat(QUERY_MAX + 1)).unwrap_err().key,
            "knowledge.error.query_too_long"
        );
        assert_eq!(
            parse_query("a\u{7}").unwrap_err().key,
            "knowledge.error.query_characters"
        );
        assert_eq!(like_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
        let a = ArticleText {
            title_en: "SIM  Swap".into(),
            title_zh: "换卡".into(),
            body_en: "Line\n\nTwo".into(),
            body_zh: "正文".into(),
            rules: vec!["SIM_SWAP".into()],
        };
        assert_eq!(search_text(&a), "sim swap\n换卡\nline two\n正文\nsim_swap");
    }

    #[test]
    fn the_body_renders_a_small_markdown_subset_and_escapes_everything_else() {
        let html = render_body(
            "## Signs\n\n- The caller says **police**\n- A `safe account`\n  is named\n\n1. Stop\n2. Call back\n\nPlain <b>text</b>\nnext line & more",
        );
        assert_eq!(
            html,
            "<h3>Signs</h3>\n<ul><li>The caller says <strong>police</strong></li><li>A <code>safe account</code> is named</li></ul>\n<ol><li>Stop</li><li>Call back</li></ol>\n<p>Plain &lt;b&gt;text&lt;/b&gt;<br>next line &amp; more</p>\n"
        );
        let xss = render_body(
            "<script>alert(1)</script>\n**<img src=x onerror=alert(1)>**\n`</code><script>`\n\"quoted\" 'single'",
        );
        assert!(!xss.contains("<script"), "{xss}");
        assert!(!xss.contains("<img"), "{xss}");
        assert!(xss.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(xss.contains("<strong>&lt;img src=x onerror=alert(1)&gt;</strong>"));
        assert!(xss.contains("<code>&lt;/code&gt;&lt;script&gt;</code>"));
        assert!(xss.contains("&quot;quoted&quot; &#39;single&#39;"));
        // Unclosed marks are text.
        assert_eq!(render_body("a ** b ` c"), "<p>a ** b ` c</p>\n");
        assert_eq!(
            render_body("1、先核实身份\n2、再处理"),
            "<ol><li>先核实身份</li><li>再处理</li></ol>\n"
        );
    }

    #[test]
    fn excerpts_are_the_first_paragraph_in_plain_text() {
        assert_eq!(
            excerpt(
                "## Heading\n\nThe **first** paragraph\nruns on.\n\nSecond.",
                100
            ),
            "The first paragraph runs on."
        );
        assert_eq!(excerpt("一二三四五六", 3), "一二三…");
    }

    #[test]
    fn free_text_from_a_case_is_masked() {
        let known = vec![
            ("王伟".to_string(), masking::name("王伟")),
            ("Wei Wang".to_string(), masking::name("Wei Wang")),
        ];
        let masked = mask_free_text(
            "王伟 (Wei Wang) called from 13800138000, mail wei@example.com, IP 203.0.113.7; card 6222 0212 3456 7890 123; paid 12000.00 at 14:05.",
            &known,
            SUMMARY_NOTE_MAX,
        );
        assert!(!masked.contains("王伟"), "{masked}");
        assert!(!masked.contains("Wei Wang"), "{masked}");
        assert!(!masked.contains("13800138000"), "{masked}");
        assert!(masked.contains("*******8000"), "{masked}");
        assert!(masked.contains("w***@example.com"), "{masked}");
        assert!(masked.contains("203.0.113.*"), "{masked}");
        assert!(masked.contains("6222 02** **** ***0 123"), "{masked}");
        assert!(masked.contains("12000.00 at 14:05"), "{masked}");
        assert_eq!(mask_free_text("一二三四", &[], 2), "一二…");
    }
}
