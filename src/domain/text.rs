// The text rules of input, in one place: which characters a field may hold (never
// control characters; never invisible or direction-changing ones), its length, and
// the same rules as a regular expression for the OpenAPI description.

use super::ProblemText;
use crate::i18n::tkey;

/// Control characters: C0 (U+0000–U+001F, NUL, tab and newlines included), DEL and C1
/// (U+007F–U+009F). No field of the desk's input holds one.
pub const CONTROL: &[(char, char)] = &[('\u{0}', '\u{1f}'), ('\u{7f}', '\u{9f}')];

/// Characters that print as nothing or turn the text's direction, so that two
/// different identifiers look alike: the soft hyphen, the Arabic letter mark, the
/// Mongolian vowel separator, zero-width space, non-joiner and joiner, the
/// left-to-right and right-to-left marks, the bidi embeddings and overrides
/// (U+202A–U+202E), the word joiner and invisible operators (U+2060–U+2064), the
/// bidi isolates (U+2066–U+2069) and the byte-order mark / zero-width no-break space.
/// No field of the desk's input holds one.
pub const INVISIBLE: &[(char, char)] = &[
    ('\u{ad}', '\u{ad}'),
    ('\u{61c}', '\u{61c}'),
    ('\u{180e}', '\u{180e}'),
    ('\u{200b}', '\u{200f}'),
    ('\u{202a}', '\u{202e}'),
    ('\u{2060}', '\u{2064}'),
    ('\u{2066}', '\u{2069}'),
    ('\u{feff}', '\u{feff}'),
];

/// White space that is not a control character: the space, the no-break spaces, the
/// typographic spaces, the line and paragraph separators and the ideographic space
/// (with the whitespace among [`CONTROL`], Unicode's White_Space).
pub const SPACE: &[(char, char)] = &[
    (' ', ' '),
    ('\u{a0}', '\u{a0}'),
    ('\u{1680}', '\u{1680}'),
    ('\u{2000}', '\u{200a}'),
    ('\u{2028}', '\u{2029}'),
    ('\u{202f}', '\u{202f}'),
    ('\u{205f}', '\u{205f}'),
    ('\u{3000}', '\u{3000}'),
];

fn within(table: &[(char, char)], c: char) -> bool {
    table.iter().any(|&(lo, hi)| (lo..=hi).contains(&c))
}

pub fn is_control(c: char) -> bool {
    within(CONTROL, c)
}

pub fn is_invisible(c: char) -> bool {
    within(INVISIBLE, c)
}

pub fn is_space(c: char) -> bool {
    within(SPACE, c)
}

/// Where spaces may stand in a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spaces {
    /// Nowhere: identifiers, codes, references.
    Never,
    /// Between other characters, never first or last: names, free text.
    Inside,
}

/// What a text field may hold: its length in characters (Unicode code points, as JSON
/// Schema counts them) and where spaces may stand. Control and invisible characters
/// are never allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextRule {
    pub min: usize,
    pub max: usize,
    pub spaces: Spaces,
}

impl TextRule {
    /// An identifier: 1 to `max` characters, no spaces (external ids, customer ids,
    /// device ids, references, attribute names).
    pub const fn identifier(max: usize) -> Self {
        TextRule {
            min: 1,
            max,
            spaces: Spaces::Never,
        }
    }

    /// A name: 1 to `max` characters, spaces only between other characters.
    pub const fn name(max: usize) -> Self {
        TextRule {
            min: 1,
            max,
            spaces: Spaces::Inside,
        }
    }

    /// Free text that may be empty: 0 to `max` characters, spaces only between
    /// other characters.
    pub const fn text(max: usize) -> Self {
        TextRule {
            min: 0,
            max,
            spaces: Spaces::Inside,
        }
    }

    /// Checks `s` against the rule; the first thing wrong, as a catalog key.
    pub fn check(&self, s: &str) -> Result<(), ProblemText> {
        let len = s.chars().count();
        if len == 0 && self.min > 0 {
            return Err(ProblemText::new(tkey("input.error.empty"), &[]));
        }
        if len < self.min {
            return Err(ProblemText::new(
                tkey("input.error.too_short"),
                &[("min", &self.min.to_string()), ("len", &len.to_string())],
            ));
        }
        if len > self.max {
            return Err(ProblemText::new(
                tkey("input.error.too_long"),
                &[("max", &self.max.to_string()), ("len", &len.to_string())],
            ));
        }
        for (i, c) in s.chars().enumerate() {
            let at = (i + 1).to_string();
            let code = code_point(c);
            if is_control(c) {
                return Err(ProblemText::new(
                    tkey("input.error.control"),
                    &[("code", &code), ("at", &at)],
                ));
            }
            if is_invisible(c) {
                return Err(ProblemText::new(
                    tkey("input.error.invisible"),
                    &[("code", &code), ("at", &at)],
                ));
            }
            if is_space(c) {
                match self.spaces {
                    Spaces::Never => {
                        return Err(ProblemText::new(
                            tkey("input.error.space"),
                            &[("code", &code), ("at", &at)],
                        ));
                    }
                    Spaces::Inside if i == 0 || i + 1 == len => {
                        return Err(ProblemText::new(tkey("input.error.edge_space"), &[]));
                    }
                    Spaces::Inside => {}
                }
            }
        }
        Ok(())
    }

    /// The rule's characters as an ECMA-262 regular expression (JSON Schema's
    /// `pattern`; Python's `re` and Rust's regex read it the same way). The length is
    /// left to `minLength` and `maxLength`.
    pub fn pattern(&self) -> String {
        let never = class(&[CONTROL, INVISIBLE]);
        let never_or_space = class(&[CONTROL, INVISIBLE, SPACE]);
        match (self.spaces, self.min) {
            (Spaces::Never, 0) => format!("^[^{never_or_space}]*$"),
            (Spaces::Never, _) => format!("^[^{never_or_space}]+$"),
            (Spaces::Inside, min) => {
                let one = format!("[^{never_or_space}](?:[^{never}]*[^{never_or_space}])?");
                if min == 0 {
                    format!("^(?:{one})?$")
                } else {
                    format!("^{one}$")
                }
            }
        }
    }
}

/// `U+202E` for the character.
pub fn code_point(c: char) -> String {
    format!("U+{:04X}", c as u32)
}

/// The ranges of `tables` as the inside of a regular-expression character class.
fn class(tables: &[&[(char, char)]]) -> String {
    let mut out = String::new();
    for &(lo, hi) in tables.iter().flat_map(|t| t.iter()) {
        out.push_str(&escape(lo));
        if hi != lo {
            out.push('-');
            out.push_str(&escape(hi));
        }
    }
    out
}

fn escape(c: char) -> String {
    format!("\\u{:04x}", c as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ID: TextRule = TextRule::identifier(20);
    const NAME: TextRule = TextRule::name(20);
    const FREE: TextRule = TextRule::text(20);

    fn key(r: Result<(), ProblemText>) -> &'static str {
        r.err().map_or("ok", |p| p.key)
    }

    #[test]
    fn identifiers_hold_no_spaces_controls_or_invisible_characters() {
        assert_eq!(key(ID.check("eng-7f3a-000123")), "ok");
        assert_eq!(key(ID.check("王伟-1")), "ok");
        assert_eq!(key(ID.check("")), "input.error.empty");
        assert_eq!(key(ID.check(&"x".repeat(21))), "input.error.too_long");
        assert_eq!(key(ID.check(&"界".repeat(20))), "ok");
        for bad in ["a\u{0}b", "a\tb", "a\nb", "a\u{7f}", "\u{85}a", "a\u{9f}"] {
            assert_eq!(key(ID.check(bad)), "input.error.control", "{bad:?}");
        }
        for bad in [
            "C-1\u{202e}00",
            "C\u{2066}1",
            "C\u{200b}1",
            "C\u{200d}1",
            "\u{feff}C1",
            "C\u{2060}1",
            "C\u{200f}1",
            "C\u{ad}1",
        ] {
            assert_eq!(key(ID.check(bad)), "input.error.invisible", "{bad:?}");
        }
        for bad in ["a b", " ab", "ab\u{a0}", "a\u{3000}b"] {
            assert_eq!(key(ID.check(bad)), "input.error.space", "{bad:?}");
        }
    }

    #[test]
    fn names_hold_spaces_only_between_other_characters() {
        assert_eq!(key(NAME.check("Wang Wei")), "ok");
        assert_eq!(key(NAME.check("王伟")), "ok");
        assert_eq!(key(NAME.check(" Wang")), "input.error.edge_space");
        assert_eq!(key(NAME.check("Wang ")), "input.error.edge_space");
        assert_eq!(key(NAME.check(" ")), "input.error.edge_space");
        assert_eq!(key(NAME.check("")), "input.error.empty");
        assert_eq!(key(NAME.check("Wang\u{202e}Wei")), "input.error.invisible");
        assert_eq!(key(FREE.check("")), "ok");
        assert_eq!(key(FREE.check("a b")), "ok");
    }

    #[test]
    fn the_message_names_the_character_and_where_it_stands() {
        let p = ID.check("ab\u{202e}c").unwrap_err();
        let text = p.english();
        assert!(text.contains("U+202E") && text.contains('3'), "{text}");
    }

    #[test]
    fn the_space_table_is_unicode_white_space_outside_the_controls() {
        for c in (0..=0x10ffffu32).filter_map(char::from_u32) {
            assert_eq!(
                c.is_whitespace() && !is_control(c),
                is_space(c),
                "{}",
                code_point(c)
            );
        }
    }

    #[test]
    fn the_control_table_is_unicode_cc() {
        for c in (0..=0x10ffffu32).filter_map(char::from_u32) {
            assert_eq!(c.is_control(), is_control(c), "{}", code_point(c));
        }
    }

    /// Characters near every edge of the tables, and a few ordinary ones.
    fn interesting() -> impl Strategy<Value = char> {
        let mut edges: Vec<char> = vec!['a', 'Z', '0', '-', '_', '.', '王', '😀', '\u{e9}'];
        for &(lo, hi) in CONTROL.iter().chain(INVISIBLE).chain(SPACE) {
            let (lo, hi) = (lo as u32, hi as u32);
            edges.extend(
                [lo, hi, lo.saturating_sub(1), hi + 1]
                    .into_iter()
                    .filter_map(char::from_u32),
            );
        }
        prop_oneof![proptest::sample::select(edges), any::<char>()]
    }

    proptest! {
        /// The pattern in the description accepts exactly what the check accepts
        /// (within the length, which the description states apart).
        #[test]
        fn the_pattern_says_what_the_check_does(
            chars in proptest::collection::vec(interesting(), 0..8)
        ) {
            let s: String = chars.into_iter().collect();
            for rule in [
                TextRule::identifier(100),
                TextRule::name(100),
                TextRule::text(100),
            ] {
                let re = regex_lite::Regex::new(&rule.pattern()).unwrap();
                prop_assert_eq!(
                    re.is_match(&s),
                    rule.check(&s).is_ok(),
                    "{:?} {:?} {}",
                    rule,
                    s,
                    rule.pattern()
                );
            }
        }
    }
}
