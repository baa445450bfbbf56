// The library of replies, as pure rules: which case states a template may be scoped
// to, how a template's scope (rules, states) matches a case, and how the matching
// templates are ranked for the case page and the compose form.

use super::CaseStatus;
use super::resolution::Disposition;

/// A case is `paused` while its SLA clock waits (for the customer, mostly).
pub const PAUSED: &str = "paused";

/// The states a template may be scoped to, in the order the editor lists them: each
/// status, `paused`, and each disposition of a resolved case (but `escalated_aml`:
/// nobody writes to a customer under an AML case).
pub fn states() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = CaseStatus::ALL.iter().map(|s| s.as_str()).collect();
    out.push(PAUSED);
    out.extend(
        Disposition::ALL
            .iter()
            .filter(|d| **d != Disposition::EscalatedAml)
            .map(|d| d.as_str()),
    );
    out
}

/// Whether `state` names a state a template may be scoped to.
pub fn is_state(state: &str) -> bool {
    states().contains(&state)
}

/// What a suggestion looks at in a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseFacts {
    pub rule_code: String,
    pub status: CaseStatus,
    /// Its SLA clock is paused.
    pub paused: bool,
    /// The disposition of a resolved case.
    pub disposition: Option<String>,
}

impl CaseFacts {
    /// The states the case is in: its status, `paused` while its clock is, and its
    /// disposition once resolved.
    pub fn states(&self) -> Vec<&str> {
        let mut out = vec![self.status.as_str()];
        if self.paused && self.status.is_open() {
            out.push(PAUSED);
        }
        if self.status == CaseStatus::Resolved
            && let Some(d) = self.disposition.as_deref()
        {
            out.push(d);
        }
        out
    }
}

/// Which cases a template is written for: rule codes and states, each empty for
/// any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    pub rules: Vec<String>,
    pub states: Vec<String>,
}

impl Scope {
    /// A scope from its stored form: comma-separated rule codes and states.
    pub fn parse(rules: &str, states: &str) -> Scope {
        Scope {
            rules: list(rules),
            states: list(states),
        }
    }

    /// The stored form of the rules (comma-separated, sorted, each once).
    pub fn rules_text(&self) -> String {
        join(&self.rules)
    }

    /// The stored form of the states, in the editor's order.
    pub fn states_text(&self) -> String {
        let all = states();
        let mut s: Vec<&String> = self.states.iter().collect();
        s.sort_by_key(|x| all.iter().position(|a| a == x).unwrap_or(usize::MAX));
        s.dedup();
        s.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(",")
    }

    /// The scope made canonical: rules sorted, states in the editor's order, each
    /// once.
    pub fn normalised(&self) -> Scope {
        Scope::parse(&self.rules_text(), &self.states_text())
    }
}

fn list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

fn join(items: &[String]) -> String {
    let mut v: Vec<&str> = items.iter().map(String::as_str).collect();
    v.sort_unstable();
    v.dedup();
    v.join(",")
}

/// How well a template fits a case, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fit {
    /// Written for the case's rule and for its state.
    RuleAndState,
    /// Written for the case's rule, any state.
    Rule,
    /// Written for the case's state, any rule.
    State,
    /// Written for any case.
    Generic,
}

impl Fit {
    pub fn as_str(self) -> &'static str {
        match self {
            Fit::RuleAndState => "rule_and_state",
            Fit::Rule => "rule",
            Fit::State => "state",
            Fit::Generic => "generic",
        }
    }
}

/// How `scope` fits the case, or `None` when it is written for other rules or
/// other states.
pub fn fit(scope: &Scope, case: &CaseFacts) -> Option<Fit> {
    let rule = if scope.rules.is_empty() {
        false
    } else if scope.rules.contains(&case.rule_code) {
        true
    } else {
        return None;
    };
    let here = case.states();
    let state = if scope.states.is_empty() {
        false
    } else if scope.states.iter().any(|s| here.contains(&s.as_str())) {
        true
    } else {
        return None;
    };
    Some(match (rule, state) {
        (true, true) => Fit::RuleAndState,
        (true, false) => Fit::Rule,
        (false, true) => Fit::State,
        (false, false) => Fit::Generic,
    })
}

/// The templates (name, scope) that fit the case, best fit first, then by name.
pub fn rank<'a>(
    templates: impl IntoIterator<Item = (&'a str, &'a Scope)>,
    case: &CaseFacts,
) -> Vec<(&'a str, Fit)> {
    let mut out: Vec<(&str, Fit)> = templates
        .into_iter()
        .filter_map(|(name, scope)| fit(scope, case).map(|f| (name, f)))
        .collect();
    out.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(b.0)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(rule: &str, status: CaseStatus, paused: bool, disposition: Option<&str>) -> CaseFacts {
        CaseFacts {
            rule_code: rule.into(),
            status,
            paused,
            disposition: disposition.map(String::from),
        }
    }

    fn scope(rules: &str, states: &str) -> Scope {
        Scope::parse(rules, states)
    }

    #[test]
    fn a_case_is_in_its_status_its_pause_and_its_disposition() {
        assert_eq!(
            case("X", CaseStatus::InProgress, true, None).states(),
            vec!["in_progress", "paused"]
        );
        assert_eq!(
            case("X", CaseStatus::Resolved, false, Some("false_positive")).states(),
            vec!["resolved", "false_positive"]
        );
        // A resolved case's clock does not wait on anyone.
        assert_eq!(
            case("X", CaseStatus::Resolved, true, Some("duplicate")).states(),
            vec!["resolved", "duplicate"]
        );
    }

    #[test]
    fn exact_rule_and_state_first_then_rule_then_state_then_generic() {
        let c = case("LARGE_TRANSFER", CaseStatus::InProgress, true, None);
        let all = [
            ("generic", scope("", "")),
            ("other_rule", scope("ACCOUNT_TAKEOVER", "")),
            (
                "rule_waiting",
                scope("LARGE_TRANSFER,ACCOUNT_TAKEOVER", "paused"),
            ),
            ("rule_only", scope("LARGE_TRANSFER", "")),
            ("rule_resolved", scope("LARGE_TRANSFER", "false_positive")),
            ("waiting", scope("", "paused,new")),
            ("another_generic", scope("", "")),
        ];
        let ranked = rank(all.iter().map(|(n, s)| (*n, s)), &c);
        assert_eq!(
            ranked,
            vec![
                ("rule_waiting", Fit::RuleAndState),
                ("rule_only", Fit::Rule),
                ("waiting", Fit::State),
                ("another_generic", Fit::Generic),
                ("generic", Fit::Generic),
            ]
        );
    }

    #[test]
    fn a_resolved_case_gets_the_replies_of_its_disposition() {
        let c = case(
            "LARGE_TRANSFER",
            CaseStatus::Resolved,
            false,
            Some("false_positive"),
        );
        assert_eq!(fit(&scope("", "false_positive"), &c), Some(Fit::State));
        assert_eq!(fit(&scope("", "confirmed_fraud"), &c), None);
        assert_eq!(fit(&scope("", "resolved"), &c), Some(Fit::State));
        assert_eq!(fit(&scope("", "paused"), &c), None);
    }

    #[test]
    fn scopes_are_stored_canonically() {
        let s = scope(" B ,A,,B", "false_positive,paused,new,paused");
        assert_eq!(s.rules_text(), "A,B");
        assert_eq!(s.states_text(), "new,paused,false_positive");
        assert_eq!(s.normalised(), scope("A,B", "new,paused,false_positive"));
        assert!(states().contains(&"pending_approval"));
        assert!(!is_state("escalated_aml"));
        assert!(!is_state("sleeping"));
    }
}
