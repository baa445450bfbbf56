// Quality review of resolved cases: which cases the sample picks (a deterministic
// choice from the case id and a secret salt, no database work) and the checklist a
// supervisor scores a case with.

use sha2::{Digest, Sha256};

/// The sample's salt, derived from the desk's secret key (never the key itself).
pub fn salt(secret_key: &str) -> String {
    hex::encode(Sha256::digest(format!("qa-sample:{secret_key}").as_bytes()))
}

/// Whether case `case_id` is in the QA sample of `percent` per cent: the first
/// eight bytes of SHA-256(`salt`:`case_id`), taken modulo 10,000, fall below
/// `percent` × 100. The same case always gets the same answer under one salt; over
/// many cases the share picked is `percent` per cent.
pub fn sampled(salt: &str, case_id: i64, percent: u8) -> bool {
    if percent == 0 {
        return false;
    }
    if percent >= 100 {
        return true;
    }
    let h = Sha256::digest(format!("{salt}:{case_id}").as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&h[..8]);
    u64::from_be_bytes(first) % 10_000 < u64::from(percent) * 100
}

/// The checklist items, in the order the form shows them.
pub const ITEMS: [&str; 4] = [
    "identity_verified",
    "disposition_supported",
    "communication_appropriate",
    "timeline_complete",
];

/// The longest comment kept, in characters.
pub const MAX_COMMENT: usize = 2000;

/// A scored checklist: each item passed or failed, and an optional comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scorecard {
    pub identity_verified: bool,
    pub disposition_supported: bool,
    pub communication_appropriate: bool,
    pub timeline_complete: bool,
    pub comment: Option<String>,
}

impl Scorecard {
    /// A review passes when every item passes.
    pub fn passed(&self) -> bool {
        self.identity_verified
            && self.disposition_supported
            && self.communication_appropriate
            && self.timeline_complete
    }

    /// The items that failed, by name.
    pub fn failed_items(&self) -> Vec<&'static str> {
        ITEMS
            .iter()
            .zip([
                self.identity_verified,
                self.disposition_supported,
                self.communication_appropriate,
                self.timeline_complete,
            ])
            .filter(|(_, ok)| !ok)
            .map(|(name, _)| *name)
            .collect()
    }

    /// Parses the form: each item `pass` or `fail` (else that item is named as the
    /// problem), the comment trimmed, empty meaning none, at most [`MAX_COMMENT`].
    pub fn parse(items: [&str; 4], comment: &str) -> Result<Scorecard, Vec<super::FieldProblem>> {
        let mut problems = Vec::new();
        let mut values = [false; 4];
        for (i, (name, value)) in ITEMS.iter().zip(items).enumerate() {
            match value.trim() {
                "pass" => values[i] = true,
                "fail" => values[i] = false,
                _ => problems.push(super::FieldProblem::keyed(
                    *name,
                    crate::i18n::tkey("form.error.pass_or_fail"),
                    &[],
                )),
            }
        }
        let comment = comment.trim();
        if comment.chars().count() > MAX_COMMENT {
            problems.push(super::FieldProblem::keyed(
                "comment",
                crate::i18n::tkey("form.error.too_long"),
                &[("max", &MAX_COMMENT.to_string())],
            ));
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Scorecard {
            identity_verified: values[0],
            disposition_supported: values[1],
            communication_appropriate: values[2],
            timeline_complete: values[3],
            comment: (!comment.is_empty()).then(|| comment.to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_is_deterministic_and_takes_the_share() {
        let s = salt("a secret key of the desk, at least 32 chars");
        for id in 1..200 {
            assert_eq!(sampled(&s, id, 5), sampled(&s, id, 5));
        }
        for percent in [1u8, 5, 20, 50] {
            let n = 20_000;
            let picked = (1..=n).filter(|id| sampled(&s, *id, percent)).count() as f64;
            let share = picked / n as f64 * 100.0;
            assert!(
                (share - f64::from(percent)).abs() < 1.0,
                "{percent}%: {share}"
            );
        }
        assert!((1..1000).all(|id| sampled(&s, id, 100)));
        assert!((1..1000).all(|id| !sampled(&s, id, 0)));
        // Another salt picks other cases.
        let other = salt("another desk's secret key, also 32 chars");
        let differ = (1..2000).filter(|id| sampled(&s, *id, 50) != sampled(&other, *id, 50));
        assert!(differ.count() > 500);
    }

    #[test]
    fn a_sample_only_grows_with_the_percent() {
        let s = salt("k");
        for id in 1..2000 {
            if sampled(&s, id, 5) {
                assert!(sampled(&s, id, 10));
            }
        }
    }

    #[test]
    fn scorecards_parse_and_name_bad_items() {
        let c = Scorecard::parse(["pass", "pass", "fail", "pass"], "  tone was curt ").unwrap();
        assert!(!c.passed());
        assert_eq!(c.failed_items(), vec!["communication_appropriate"]);
        assert_eq!(c.comment.as_deref(), Some("tone was curt"));
        let ok = Scorecard::parse(["pass"; 4], " ").unwrap();
        assert!(ok.passed() && ok.comment.is_none());
        let bad = Scorecard::parse(["pass", "", "maybe", "fail"], &"x".repeat(2001)).unwrap_err();
        let fields: Vec<_> = bad.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "disposition_supported",
                "communication_appropriate",
                "comment"
            ]
        );
    }
}
