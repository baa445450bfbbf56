// Routing: which queue and priority an alert's case gets. Routes are tried in order
// and the first that matches wins; an alert nobody routes goes to the triage queue.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::money::Decimal;
use super::severity::{Priority, Severity};

#[derive(Debug, Clone, PartialEq)]
pub struct RuleDef {
    pub code: String,
    pub name: String,
    pub category: String,
    pub default_severity: Severity,
    pub weight: i32,
    /// The desk e-mails the customer to verify as the alert arrives, before any agent.
    pub verify_by_email: bool,
    /// A customer who confirms "it was me" closes the case by themselves when every
    /// amount of it is at most this (per currency).
    pub release_on_confirm_up_to: Option<crate::domain::resolution::ReleaseThresholds>,
    /// An alert of the rule over this amount (per currency) declares an emergency.
    pub emergency_amount: Option<crate::domain::resolution::ReleaseThresholds>,
}

/// One route: each condition is optional; `queue` and `priority` say where to go.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RouteDef {
    pub rule: Option<String>,
    pub category: Option<String>,
    pub min_severity: Option<Severity>,
    pub min_amount: Option<Decimal>,
    pub currency: Option<String>,
    pub queue: String,
    pub priority: Option<Priority>,
    /// A time-boxed override applies from `valid_from` (inclusive) until
    /// `valid_until` (exclusive).
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_until: Option<DateTime<Utc>>,
}

impl RouteDef {
    pub fn is_valid_at(&self, now: DateTime<Utc>) -> bool {
        self.valid_from.is_none_or(|f| now >= f) && self.valid_until.is_none_or(|u| now < u)
    }
}

/// What routing needs to know of an alert.
#[derive(Debug, Clone, Copy)]
pub struct AlertFacts<'a> {
    pub rule: &'a str,
    pub severity: Option<Severity>,
    pub amount: Option<(Decimal, &'a str)>,
}

/// Why a case went where it went; stored on the timeline.
#[derive(Debug, Clone, PartialEq)]
pub enum Reason {
    /// Route number `position` (1-based, in configuration order) matched.
    Route { position: usize, time_boxed: bool },
    /// The alert's rule is not configured.
    UnknownRule,
    /// The rule is configured but no route matched.
    NoRouteMatched,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub queue: String,
    pub priority: Priority,
    /// The alert's severity, or its rule's default when it sent none.
    pub severity: Severity,
    pub reason: Reason,
}

fn matches(
    route: &RouteDef,
    rule: Option<&RuleDef>,
    facts: &AlertFacts,
    severity: Severity,
) -> bool {
    if let Some(r) = &route.rule
        && r != facts.rule
    {
        return false;
    }
    if let Some(c) = &route.category
        && rule.is_none_or(|rule| &rule.category != c)
    {
        return false;
    }
    if let Some(min) = route.min_severity
        && severity < min
    {
        return false;
    }
    if let Some(cur) = &route.currency
        && facts.amount.is_none_or(|(_, c)| c != cur)
    {
        return false;
    }
    if let Some(min) = route.min_amount
        && facts.amount.is_none_or(|(v, _)| v < min)
    {
        return false;
    }
    true
}

/// Decides the queue and priority of an alert at `now`.
pub fn decide(
    facts: &AlertFacts,
    rules: &HashMap<String, RuleDef>,
    routes: &[RouteDef],
    triage_queue: &str,
    now: DateTime<Utc>,
) -> Decision {
    let rule = rules.get(facts.rule);
    let severity = facts
        .severity
        .or(rule.map(|r| r.default_severity))
        .unwrap_or(Severity::Medium);
    if rule.is_none() {
        return Decision {
            queue: triage_queue.to_string(),
            priority: severity,
            severity,
            reason: Reason::UnknownRule,
        };
    }
    for (i, route) in routes.iter().enumerate() {
        if route.is_valid_at(now) && matches(route, rule, facts, severity) {
            return Decision {
                queue: route.queue.clone(),
                priority: route.priority.unwrap_or(severity),
                severity,
                reason: Reason::Route {
                    position: i + 1,
                    time_boxed: route.valid_from.is_some() || route.valid_until.is_some(),
                },
            };
        }
    }
    Decision {
        queue: triage_queue.to_string(),
        priority: severity,
        severity,
        reason: Reason::NoRouteMatched,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn rules() -> HashMap<String, RuleDef> {
        [
            ("LARGE_TRANSFER", "fraud", Severity::High),
            ("NEW_ACCOUNT_BURST", "registration", Severity::Medium),
            ("AML_WATCHLIST", "aml", Severity::Critical),
        ]
        .into_iter()
        .map(|(code, cat, sev)| {
            (
                code.to_string(),
                RuleDef {
                    code: code.into(),
                    name: code.into(),
                    category: cat.into(),
                    default_severity: sev,
                    weight: 1,
                    verify_by_email: false,
                    release_on_confirm_up_to: None,
                    emergency_amount: None,
                },
            )
        })
        .collect()
    }

    fn routes() -> Vec<RouteDef> {
        vec![
            RouteDef {
                rule: Some("NEW_ACCOUNT_BURST".into()),
                queue: "Promotions".into(),
                priority: Some(Severity::High),
                valid_from: Some(Utc.with_ymd_and_hms(2026, 11, 10, 16, 0, 0).unwrap()),
                valid_until: Some(Utc.with_ymd_and_hms(2026, 11, 11, 16, 0, 0).unwrap()),
                ..Default::default()
            },
            RouteDef {
                rule: Some("LARGE_TRANSFER".into()),
                min_amount: Some("50000.00".parse().unwrap()),
                currency: Some("CNY".into()),
                queue: "Transfers".into(),
                priority: Some(Severity::Critical),
                ..Default::default()
            },
            RouteDef {
                category: Some("fraud".into()),
                queue: "Transfers".into(),
                ..Default::default()
            },
            RouteDef {
                category: Some("registration".into()),
                queue: "New accounts".into(),
                ..Default::default()
            },
            RouteDef {
                min_severity: Some(Severity::Critical),
                queue: "AML review".into(),
                ..Default::default()
            },
        ]
    }

    fn at(d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, d, 3, 0, 0).unwrap()
    }

    fn go(
        rule: &str,
        sev: Option<Severity>,
        amount: Option<(&str, &str)>,
        now: DateTime<Utc>,
    ) -> Decision {
        let amount = amount.map(|(v, c)| (v.parse::<Decimal>().unwrap(), c));
        decide(
            &AlertFacts {
                rule,
                severity: sev,
                amount,
            },
            &rules(),
            &routes(),
            "Triage",
            now,
        )
    }

    #[test]
    fn the_first_matching_route_wins() {
        let d = go("LARGE_TRANSFER", None, Some(("125000.00", "CNY")), at(24));
        assert_eq!(
            (d.queue.as_str(), d.priority),
            ("Transfers", Severity::Critical)
        );
        assert_eq!(
            d.reason,
            Reason::Route {
                position: 2,
                time_boxed: false
            }
        );
        // Below the threshold, the category route applies with the alert's severity.
        let d = go(
            "LARGE_TRANSFER",
            Some(Severity::Low),
            Some(("100.00", "CNY")),
            at(24),
        );
        assert_eq!((d.queue.as_str(), d.priority), ("Transfers", Severity::Low));
        assert_eq!(
            d.reason,
            Reason::Route {
                position: 3,
                time_boxed: false
            }
        );
        // Another currency does not meet a CNY threshold.
        let d = go("LARGE_TRANSFER", None, Some(("125000.00", "USD")), at(24));
        assert_eq!(
            d.reason,
            Reason::Route {
                position: 3,
                time_boxed: false
            }
        );
        assert_eq!(d.priority, Severity::High, "the rule's default severity");
    }

    #[test]
    fn time_boxed_overrides_apply_only_in_their_window() {
        let during = Utc.with_ymd_and_hms(2026, 11, 11, 2, 0, 0).unwrap();
        let d = go("NEW_ACCOUNT_BURST", None, None, during);
        assert_eq!(
            (d.queue.as_str(), d.priority),
            ("Promotions", Severity::High)
        );
        let after = Utc.with_ymd_and_hms(2026, 11, 11, 16, 0, 0).unwrap();
        let d = go("NEW_ACCOUNT_BURST", None, None, after);
        assert_eq!(
            (d.queue.as_str(), d.priority),
            ("New accounts", Severity::Medium)
        );
    }

    #[test]
    fn nothing_goes_nowhere() {
        let d = go("SOMETHING_NEW", Some(Severity::High), None, at(24));
        assert_eq!(
            (d.queue.as_str(), d.reason.clone()),
            ("Triage", Reason::UnknownRule)
        );
        assert_eq!(d.priority, Severity::High);
        let mut only_fraud = routes();
        only_fraud.truncate(3);
        let d = decide(
            &AlertFacts {
                rule: "AML_WATCHLIST",
                severity: None,
                amount: None,
            },
            &rules(),
            &only_fraud,
            "Triage",
            at(24),
        );
        assert_eq!(
            (d.queue.as_str(), d.reason),
            ("Triage", Reason::NoRouteMatched)
        );
        assert_eq!(d.priority, Severity::Critical);
    }

    #[test]
    fn minimum_severity() {
        let d = go("AML_WATCHLIST", None, None, at(24));
        assert_eq!(d.queue, "AML review");
        let d = go("AML_WATCHLIST", Some(Severity::High), None, at(24));
        assert_eq!(d.reason, Reason::NoRouteMatched);
    }
}
