// The human reference of a case, as pages, mail and the API show it.

/// The human reference of a case: `RC-000417`.
pub fn case_ref(id: i64) -> String {
    format!("RC-{id:06}")
}

/// The id behind a case reference, if it has the reference's shape.
pub fn parse_case_ref(r: &str) -> Option<i64> {
    let digits = r.strip_prefix("RC-")?;
    if digits.len() < 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|id| *id > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references() {
        assert_eq!(case_ref(417), "RC-000417");
        assert_eq!(case_ref(1_234_567), "RC-1234567");
        assert_eq!(parse_case_ref("RC-000417"), Some(417));
        assert_eq!(parse_case_ref("RC-1234567"), Some(1_234_567));
        assert_eq!(parse_case_ref("RC-417"), None);
        assert_eq!(parse_case_ref("RC-000000"), None);
        assert_eq!(parse_case_ref("XX-000417"), None);
    }
}
