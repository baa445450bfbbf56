// What a search box's text can be: a case reference, or a value that finds
// customers and cases by one of the search keys (customer id, phone, e-mail,
// transaction reference, device id, IP address). Parsing only; the store looks.

use super::masking;

/// The longest search accepted, in characters.
pub const MAX_LEN: usize = 200;

/// Why a search text is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchError {
    /// Nothing but spaces.
    Empty,
    /// Longer than [`MAX_LEN`] characters.
    TooLong,
    /// Control characters, or wildcards (`*`, `%`): a masked value cannot be searched.
    Malformed,
}

impl SearchError {
    /// The message's translation key.
    pub fn key(self) -> &'static str {
        match self {
            SearchError::Empty => "search.error_empty",
            SearchError::TooLong => "search.error_too_long",
            SearchError::Malformed => "search.error_malformed",
        }
    }
}

/// A search text, checked and read every way it can be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terms {
    /// The text, trimmed: compared whole with customer ids and transaction references,
    /// and digested as a device id and as an IP address.
    pub text: String,
    /// The case it names, when it has a case reference's shape (`RC-000417`, any case).
    pub case_id: Option<i64>,
    /// The e-mail address it is, lower-cased, when it has an address's shape.
    pub email: Option<String>,
    /// The phone numbers it may be, as digits (see [`phone_candidates`]); empty when
    /// it is not a phone number's shape.
    pub phones: Vec<String>,
}

impl Terms {
    /// Checks and reads `raw`.
    pub fn parse(raw: &str) -> Result<Terms, SearchError> {
        let text = raw.trim();
        if text.is_empty() {
            return Err(SearchError::Empty);
        }
        if text.chars().count() > MAX_LEN {
            return Err(SearchError::TooLong);
        }
        if text.chars().any(|c| c.is_control() || c == '*' || c == '%') {
            return Err(SearchError::Malformed);
        }
        let upper = text.to_ascii_uppercase();
        let case_id = super::reference::parse_case_ref(&upper);
        let email = is_email(text).then(|| text.to_lowercase());
        Ok(Terms {
            text: text.to_string(),
            case_id,
            email,
            phones: phone_candidates(text),
        })
    }

    /// The text as the audit trail keeps it: masked as personal data is everywhere.
    pub fn masked(&self) -> String {
        if self.email.is_some() {
            masking::email(&self.text)
        } else if self.text.parse::<std::net::IpAddr>().is_ok() {
            masking::ip(&self.text)
        } else if !self.phones.is_empty() {
            masking::phone(&self.text)
        } else {
            self.text.clone()
        }
    }
}

/// `local@domain.tld`, without spaces.
fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !s.chars().any(char::is_whitespace)
}

/// The digits a phone number may have been recorded with, for a text that has a
/// phone number's shape (digits with spaces, `+`, `-`, `.`, brackets; 5 to 15
/// digits), else none. Numbers are recorded with their digits only, as the risk
/// engine sent them, with or without the country code, so a search tries both forms
/// for mainland China (`+86 139 0000 0003`, `13900000003`, `0086…`) and drops an
/// international `00` prefix.
pub fn phone_candidates(s: &str) -> Vec<String> {
    if !s
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '.' | '(' | ')'))
    {
        return Vec::new();
    }
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    if !(5..=15).contains(&digits.len()) {
        return Vec::new();
    }
    let mut out = vec![digits.clone()];
    let mut push = |d: String| {
        if !out.contains(&d) {
            out.push(d);
        }
    };
    let international = digits.strip_prefix("00").map(str::to_string);
    if let Some(d) = &international {
        push(d.clone());
    }
    let full = international.unwrap_or(digits);
    if let Some(national) = full.strip_prefix("86").filter(|n| n.len() == 11) {
        push(national.to_string());
    }
    if full.len() == 11 && full.starts_with('1') {
        push(format!("86{full}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_empty_long_and_malformed_text() {
        assert_eq!(Terms::parse("   "), Err(SearchError::Empty));
        assert_eq!(Terms::parse(&"a".repeat(201)), Err(SearchError::TooLong));
        assert!(Terms::parse(&"好".repeat(200)).is_ok());
        assert_eq!(Terms::parse("138****8000"), Err(SearchError::Malformed));
        assert_eq!(Terms::parse("a%b"), Err(SearchError::Malformed));
        assert_eq!(Terms::parse("a\u{0}b"), Err(SearchError::Malformed));
    }

    #[test]
    fn reads_case_references_in_any_case() {
        assert_eq!(Terms::parse(" RC-000417 ").unwrap().case_id, Some(417));
        assert_eq!(Terms::parse("rc-000417").unwrap().case_id, Some(417));
        assert_eq!(Terms::parse("RC-41").unwrap().case_id, None);
    }

    #[test]
    fn reads_email_addresses() {
        let t = Terms::parse("Wei.Wang@Example.COM").unwrap();
        assert_eq!(t.email.as_deref(), Some("wei.wang@example.com"));
        assert_eq!(t.masked(), "W***@Example.COM");
        assert_eq!(Terms::parse("wei@localhost").unwrap().email, None);
        assert_eq!(Terms::parse("a b@example.com").unwrap().email, None);
    }

    #[test]
    fn phones_are_tried_with_and_without_the_country_code() {
        let both = ["8613900000003", "13900000003"];
        for typed in [
            "+86 139 0000 0003",
            "13900000003",
            "139-0000-0003",
            "0086 13900000003",
        ] {
            let c = phone_candidates(typed);
            for d in both {
                assert!(c.contains(&d.to_string()), "{typed}: {c:?}");
            }
        }
        assert_eq!(phone_candidates("+44 20 7946 0958"), vec!["442079460958"]);
        assert!(phone_candidates("1234").is_empty());
        assert!(phone_candidates("TX-000001").is_empty());
        assert!(
            phone_candidates("10.0.0.1").len() == 1,
            "an address has a phone's shape"
        );
        assert_eq!(
            Terms::parse("+86 139 0000 0003").unwrap().masked(),
            "+86 139****0003"
        );
    }

    #[test]
    fn addresses_are_masked_in_the_audit() {
        assert_eq!(
            Terms::parse("203.0.113.7").unwrap().masked(),
            masking::ip("203.0.113.7")
        );
        assert_eq!(Terms::parse("C-00000042").unwrap().masked(), "C-00000042");
    }
}
