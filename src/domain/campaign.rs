// Campaigns: many customers tied together by one identifier (a device, an address, a
// phone) within a short time are one attack, worked as one campaign case with the
// customers' cases as its children. The rule that says when, and the pure part of
// deciding it.

use serde::{Deserialize, Serialize};

/// The kinds of identifier a campaign rule may link customers by.
pub const LINK_KINDS: [&str; 3] = ["device_id", "ip", "phone"];

/// The smallest and largest threshold of customers a rule may set.
pub const MIN_CUSTOMERS: std::ops::RangeInclusive<i64> = 2..=10_000;
/// The window a rule may look back over, in minutes (up to 30 days).
pub const WINDOW_MINUTES: std::ops::RangeInclusive<i64> = 1..=43_200;

/// A campaign rule of the desk's configuration (`[[campaigns]]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignDef {
    pub name: String,
    /// Identifier kinds that tie customers together (of [`LINK_KINDS`]).
    pub link_by: Vec<String>,
    /// This many customers sharing one identifier…
    pub min_customers: i64,
    /// …within this many minutes make a campaign.
    pub window_minutes: i64,
    /// Only alerts of these rules count and join; empty: every rule.
    #[serde(default)]
    pub rules: Vec<String>,
    /// The queue of the campaign's own case.
    pub queue: String,
}

impl CampaignDef {
    /// Whether an alert of `rule` counts toward this campaign rule.
    pub fn applies_to(&self, rule: &str) -> bool {
        self.rules.is_empty() || self.rules.iter().any(|r| r == rule)
    }

    /// Whether the rule links customers by identifiers of `kind`.
    pub fn links_by(&self, kind: &str) -> bool {
        self.link_by.iter().any(|k| k == kind)
    }

    /// The key that keeps one open campaign per rule and identifier: the open case's
    /// `open_key`, unique among open cases, so racing alerts open one campaign.
    pub fn open_key(&self, value_hash: &str) -> String {
        format!("campaign:{}:{value_hash}", self.name)
    }
}

/// Whether `customers` distinct customers seen with one identifier within the window
/// reach the rule's threshold.
pub fn crosses(def: &CampaignDef, customers: i64) -> bool {
    customers >= def.min_customers
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(rules: &[&str]) -> CampaignDef {
        CampaignDef {
            name: "shared-device".into(),
            link_by: vec!["device_id".into(), "ip".into()],
            min_customers: 5,
            window_minutes: 60,
            rules: rules.iter().map(|r| r.to_string()).collect(),
            queue: "New accounts".into(),
        }
    }

    #[test]
    fn a_rule_list_narrows_what_counts() {
        assert!(def(&[]).applies_to("ANY_RULE"));
        let d = def(&["BULK_REGISTRATION"]);
        assert!(d.applies_to("BULK_REGISTRATION"));
        assert!(!d.applies_to("LARGE_TRANSFER"));
        assert!(d.links_by("ip"));
        assert!(!d.links_by("phone"));
    }

    #[test]
    fn the_threshold_is_reached_at_min_customers() {
        let d = def(&[]);
        assert!(!crosses(&d, 4));
        assert!(crosses(&d, 5));
        assert_eq!(d.open_key("ab12"), "campaign:shared-device:ab12");
    }
}
