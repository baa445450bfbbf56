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

/// Masks an alert attribute by what its key says it holds; other values pass.
pub fn attribute(key: &str, value: &str) -> String {
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
        || k.contains("account_no")
        || k.contains("iban")
    {
        number(value)
    } else if k.contains("name") {
        name(value)
    } else {
        value.to_string()
    }
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
        assert_eq!(attribute("device_id", "d-91ab"), "d-91ab");
        assert_eq!(attribute("ip", "203.0.113.7"), "203.0.113.*");
        assert_eq!(
            attribute("card_number", "6222021234567890123"),
            "622202*********0123"
        );
    }
}
