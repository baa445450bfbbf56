// Emergencies: why one was declared, how it ended, and the order in which groups are
// paged — the queue's rota, the rotas it names as `next` one after another, then every
// supervisor — skipping a rota with nobody on call.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The longest reason kept, in characters.
pub const REASON_MAX: usize = 500;

/// Why an emergency was declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    /// By an agent or supervisor, with a reason.
    Declared,
    /// A critical case breached its SLA.
    Breach,
    /// An alert over its rule's `emergency_amount`.
    Amount,
}

impl Cause {
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::Declared => "declared",
            Cause::Breach => "breach",
            Cause::Amount => "amount",
        }
    }
}

impl FromStr for Cause {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "declared" => Ok(Cause::Declared),
            "breach" => Ok(Cause::Breach),
            "amount" => Ok(Cause::Amount),
            _ => Err(format!("unknown emergency cause '{s}'")),
        }
    }
}

/// How an emergency ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ending {
    /// Its case was resolved.
    Resolved,
    /// A supervisor stood it down.
    StoodDown,
}

impl Ending {
    pub fn as_str(self) -> &'static str {
        match self {
            Ending::Resolved => "resolved",
            Ending::StoodDown => "stood_down",
        }
    }
}

impl fmt::Display for Ending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A reason as given: trimmed, 1 to [`REASON_MAX`] characters.
pub fn parse_reason(s: &str) -> Option<&str> {
    let s = s.trim();
    (!s.is_empty() && s.chars().count() <= REASON_MAX).then_some(s)
}

/// Who a page goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The on-call person of the rota of this name.
    Rota(String),
    /// Every supervisor: the last group.
    Supervisors,
}

/// What a rota answers when asked who is on call: the person (none when nobody is
/// on call, or they cannot answer), the minutes they have to acknowledge, and the
/// rota after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer<P> {
    pub person: Option<P>,
    pub ack_minutes: i64,
    pub next: Option<String>,
}

/// Whom to page, starting at `start`: the first rota of the chain with someone on
/// call, with the minutes they have to acknowledge — or every supervisor (`None`)
/// when the chain ends (or names a rota that does not exist) without one. `ask` says
/// what a rota answers (`None`: no such rota). The configuration keeps chains free of
/// loops; a loop here still ends, at the supervisors.
pub fn whom<P>(
    start: Target,
    mut ask: impl FnMut(&str) -> Option<Answer<P>>,
) -> Option<(String, P, i64)> {
    let mut seen: Vec<String> = Vec::new();
    let mut at = start;
    while let Target::Rota(name) = at {
        if seen.contains(&name) {
            return None;
        }
        let answer = ask(&name)?;
        if let Some(p) = answer.person {
            return Some((name, p, answer.ack_minutes));
        }
        seen.push(name);
        at = answer.next.map_or(Target::Supervisors, Target::Rota);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(
        rotas: &[(&str, Option<&str>, Option<&str>)],
    ) -> impl FnMut(&str) -> Option<Answer<String>> {
        let rotas: Vec<(String, Option<String>, Option<String>)> = rotas
            .iter()
            .map(|(n, p, x)| (n.to_string(), p.map(String::from), x.map(String::from)))
            .collect();
        move |name| {
            rotas.iter().find(|r| r.0 == name).map(|r| Answer {
                person: r.1.clone(),
                ack_minutes: 5,
                next: r.2.clone(),
            })
        }
    }

    #[test]
    fn the_first_rota_with_someone_on_call_is_paged() {
        let ask = chain(&[("duty", Some("olga"), Some("managers"))]);
        assert_eq!(
            whom(Target::Rota("duty".into()), ask),
            Some(("duty".to_string(), "olga".to_string(), 5))
        );
    }

    #[test]
    fn a_rota_with_nobody_on_call_passes_to_its_next() {
        let ask = chain(&[
            ("duty", None, Some("managers")),
            ("managers", Some("mia"), None),
        ]);
        assert_eq!(
            whom(Target::Rota("duty".into()), ask),
            Some(("managers".to_string(), "mia".to_string(), 5))
        );
    }

    #[test]
    fn the_end_of_the_chain_is_every_supervisor() {
        let ask = chain(&[("duty", None, Some("managers")), ("managers", None, None)]);
        assert_eq!(whom(Target::Rota("duty".into()), ask), None);
        let ask = chain(&[("duty", None, Some("gone"))]);
        assert_eq!(whom(Target::Rota("duty".into()), ask), None, "unknown rota");
        let ask = chain(&[]);
        assert_eq!(whom(Target::Supervisors, ask), None);
    }

    #[test]
    fn a_loop_ends_at_the_supervisors() {
        let ask = chain(&[("a", None, Some("b")), ("b", None, Some("a"))]);
        assert_eq!(whom(Target::Rota("a".into()), ask), None);
    }

    #[test]
    fn reasons_are_trimmed_and_bounded() {
        assert_eq!(
            parse_reason("  card skimmer ring "),
            Some("card skimmer ring")
        );
        assert_eq!(parse_reason("   "), None);
        assert_eq!(parse_reason(&"x".repeat(REASON_MAX + 1)), None);
        assert!(parse_reason(&"字".repeat(REASON_MAX)).is_some());
    }

    #[test]
    fn causes_and_endings_round_trip() {
        for c in [Cause::Declared, Cause::Breach, Cause::Amount] {
            assert_eq!(c.as_str().parse::<Cause>(), Ok(c));
        }
        assert_eq!(
            serde_json::to_string(&Ending::StoodDown).unwrap(),
            "\"stood_down\""
        );
    }
}
