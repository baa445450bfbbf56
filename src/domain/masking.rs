// Masking of customers' personal data: what pages, logs, exports and the API show
// unless someone reveals it with a reason.

/// `+8613800138000` → `+86 138****8000`; other numbers keep the first 3 and last 4
/// digits at most.
pub fn phone(p: &str) -> String {
    let digits: String = p.chars().filter(|c| c.is_ascii_digit()).collect();
    if let Some(rest) = digits.strip_prefix("86")
        && p.trim_start().starts_with('+')
        && rest.len() == 11
    {
        return format!("+86 {}****{}", &rest[..3], &rest[7..]);
    }
    let plus = if p.trim_start().starts_with('+') {
        "+"
    } else {
        ""
    };
    let n = digits.len();
    if n <= 4 {
        return format!("{plus}{}", "*".repeat(n));
    }
    let keep_head = if n >= 10 { 3 } else { 0 };
    format!(
        "{plus}{}{}{}",
        &digits[..keep_head],
        "*".repeat(n - keep_head - 4),
        &digits[n - 4..]
    )
}

/// `wei@example.com` → `w***@example.com`.
pub fn email(e: &str) -> String {
    match e.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".into(),
    }
}

/// `王伟` → `王*`, `Wei Wang` → `W*** W***`: the first letter of each word.
pub fn name(n: &str) -> String {
    let words: Vec<&str> = n.split_whitespace().collect();
    if words.len() <= 1 {
        let mut chars = n.trim().chars();
        return match chars.next() {
            Some(c) => format!("{c}{}", "*".repeat(chars.count().clamp(1, 3))),
            None => String::new(),
        };
    }
    words
        .iter()
        .map(|w| {
            let c: String = w.chars().take(1).collect();
            format!("{c}***")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// ID and card numbers: the first 6 and last 4 characters at most, the rest starred;
/// short values keep less.
pub fn number(v: &str) -> String {
    let chars: Vec<char> = v.chars().filter(|c| !c.is_whitespace()).collect();
    let n = chars.len();
    if n >= 14 {
        let head: String = chars[..6].iter().collect();
        let tail: String = chars[n - 4..].iter().collect();
        format!("{head}{}{tail}", "*".repeat(n - 10))
    } else if n > 4 {
        let tail: String = chars[n - 4..].iter().collect();
        format!("{}{tail}", "*".repeat(n - 4))
    } else {
        "*".repeat(n)
    }
}

/// An IP address with its host part hidden: `203.0.113.7` → `203.0.113.*`.
pub fn ip(v: &str) -> String {
    if v.contains(':') {
        let parts: Vec<&str> = v.split(':').collect();
        let keep = parts.len().min(3);
        return format!("{}:*", parts[..keep].join(":"));
    }
    match v.rsplit_once('.') {
        Some((net, _)) => format!("{net}.*"),
        None => "*".into(),
    }
}

/// Whether `key` can name an alert attribute: 1 to 64 ASCII letters, digits, `_`,
/// `-` or `.`.
pub fn is_attribute_key(key: &str) -> bool {
    (1..=64).contains(&key.len())
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Masks an alert attribute. A key the desk declared public (`public_attributes` in
/// the desk configuration) shows its value, with any account or card number in it
/// cut to its first six and last four digits; every other key is masked by what its
/// name says it holds, and a key that says nothing known is masked whole but for its
/// ends: masking fails closed.
pub fn attribute(key: &str, value: &str, public: bool) -> String {
    if public {
        return numbers_in(value);
    }
    let k = key.to_ascii_lowercase();
    if k.contains("phone") || k.contains("mobile") {
        phone(value)
    } else if k.contains("email") {
        email(value)
    } else if k == "ip" || k.ends_with("_ip") || k.starts_with("ip_") {
        ip(value)
    } else if k.contains("card")
        || k.contains("id_number")
        || k.contains("idcard")
        || k.contains("id_card")
        || k.contains("passport")
        || k.contains("account")
        || k.contains("iban")
    {
        number(value)
    } else if k.contains("name") {
        name(value)
    } else {
        other(value)
    }
}

/// A value nothing is known of: its first and last characters at most, the rest
/// starred (`Taobao Mall` → `T*********l`); four characters or fewer, all starred.
pub fn other(v: &str) -> String {
    let chars: Vec<char> = v.trim().chars().collect();
    let n = chars.len();
    if n <= 4 {
        return "*".repeat(n.max(1));
    }
    format!("{}{}{}", chars[0], "*".repeat(n - 2), chars[n - 1])
}

/// Any run of 12 or more digits in a text (spaces or dashes between groups allowed,
/// as card and account numbers are written) shows its first six and last four
/// digits only; the rest of the text is untouched.
pub fn numbers_in(text: &str) -> String {
    digit_runs(text, 12)
}

/// Runs of `min_digits` or more digits (spaces or dashes between groups allowed)
/// keep their last four digits, and from twelve digits on their first six too;
/// shorter runs (amounts, times, references' numbers) and the rest of the text stay.
pub fn digit_runs(text: &str, min_digits: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        // The longest run of digits with single spaces or dashes between them.
        let mut j = i;
        let mut end = i;
        let mut digits = 0;
        while j < chars.len() {
            if chars[j].is_ascii_digit() {
                digits += 1;
                j += 1;
                end = j;
            } else if matches!(chars[j], ' ' | '-')
                && j + 1 < chars.len()
                && chars[j + 1].is_ascii_digit()
            {
                j += 1;
            } else {
                break;
            }
        }
        let run = &chars[i..end];
        // Five at least, so that four stay and one is hidden.
        if digits >= min_digits.max(5) {
            let head = if digits >= 12 { 6 } else { 0 };
            let mut seen = 0;
            for c in run {
                if c.is_ascii_digit() {
                    seen += 1;
                    out.push(if seen <= head || seen > digits - 4 {
                        *c
                    } else {
                        '*'
                    });
                } else {
                    out.push(*c);
                }
            }
        } else {
            out.extend(run);
        }
        i = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_briefs_examples() {
        assert_eq!(phone("+8613800138000"), "+86 138****8000");
        assert_eq!(email("wei@example.com"), "w***@example.com");
        assert_eq!(number("6222021234567890123"), "622202*********0123");
        assert_eq!(number("110101199003071234"), "110101********1234");
    }

    #[test]
    fn nothing_whole_survives() {
        assert_eq!(phone("+1 (415) 555-0100"), "+141****0100");
        assert_eq!(phone("5550100"), "***0100");
        assert_eq!(name("王伟"), "王*");
        assert_eq!(name("Wei Wang"), "W*** W***");
        assert_eq!(ip("203.0.113.7"), "203.0.113.*");
        assert_eq!(ip("2001:db8:85a3::8a2e:370:7334"), "2001:db8:85a3:*");
        assert_eq!(attribute("ip", "203.0.113.7", false), "203.0.113.*");
        assert_eq!(
            attribute("card_number", "6222021234567890123", false),
            "622202*********0123"
        );
    }

    #[test]
    fn masking_fails_closed() {
        // A key nobody declared public is masked, whatever it is called.
        assert_eq!(attribute("device_id", "d-91ab", false), "d****b");
        assert_eq!(attribute("merchant", "Taobao Mall", false), "T*********l");
        assert_eq!(attribute("x", "abc", false), "***");
        assert_eq!(
            attribute("beneficiary_account", "6222021234567890", false),
            "622202******7890"
        );
        // Declared public: shown, but a card number inside is still cut.
        assert_eq!(attribute("channel", "mobile_app", true), "mobile_app");
        assert_eq!(
            attribute("memo", "paid with 6222 0212 3456 7890 today", true),
            "paid with 6222 02** **** 7890 today"
        );
    }

    #[test]
    fn numbers_anywhere_keep_six_and_four() {
        assert_eq!(
            numbers_in("card 6222021234567890123"),
            "card 622202*********0123"
        );
        assert_eq!(numbers_in("6222-0212-3456-7890"), "6222-02**-****-7890");
        // Shorter numbers (amounts, dates, order lines) pass.
        assert_eq!(
            numbers_in("CNY 12000.50 on 2026-11-24"),
            "CNY 12000.50 on 2026-11-24"
        );
        assert_eq!(numbers_in("12345678901"), "12345678901");
        assert_eq!(numbers_in("123456789012"), "123456**9012");
        assert_eq!(numbers_in("王伟 6222021234567890"), "王伟 622202******7890");
        assert_eq!(numbers_in(""), "");
    }
}
