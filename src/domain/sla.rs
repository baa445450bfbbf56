// SLA policies: per priority a first-response and a resolution target in business
// minutes of the policy's calendar, warning thresholds, and a bounded pause.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::calendar::Calendar;
use super::severity::Priority;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Targets {
    pub first_response: i64,
    pub resolution: i64,
}

#[derive(Debug, Clone)]
pub struct SlaPolicy {
    pub name: String,
    pub calendar: Calendar,
    /// The calendar's name, or "24/7".
    pub calendar_name: String,
    pub warn_at_percent: Vec<i32>,
    pub max_pause_minutes: i64,
    pub targets: BTreeMap<Priority, Targets>,
}

/// A case's two deadlines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dues {
    pub first_response: DateTime<Utc>,
    pub resolution: DateTime<Utc>,
}

impl SlaPolicy {
    pub fn targets_for(&self, priority: Priority) -> Targets {
        self.targets.get(&priority).copied().unwrap_or(Targets {
            first_response: 60,
            resolution: 1440,
        })
    }

    /// The deadlines of a case opened at `opened_at`, its clock having stood for
    /// `paused_minutes` business minutes in all.
    pub fn dues(&self, opened_at: DateTime<Utc>, priority: Priority, paused_minutes: i64) -> Dues {
        let t = self.targets_for(priority);
        Dues {
            first_response: self
                .calendar
                .add_business_minutes(opened_at, t.first_response + paused_minutes),
            resolution: self
                .calendar
                .add_business_minutes(opened_at, t.resolution + paused_minutes),
        }
    }

    /// How many business minutes of a pause from `since` to `until` count, given that
    /// `used` minutes of the allowance went to earlier pauses.
    pub fn countable_pause(&self, since: DateTime<Utc>, until: DateTime<Utc>, used: i64) -> Pause {
        let elapsed = self.calendar.business_minutes_between(since, until);
        let allowance = (self.max_pause_minutes - used).max(0);
        Pause {
            elapsed,
            counted: elapsed.min(allowance),
            limited: elapsed > allowance,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pause {
    /// Business minutes the pause lasted.
    pub elapsed: i64,
    /// Business minutes the clock stood (at most the remaining allowance).
    pub counted: i64,
    /// True when the allowance ran out before the pause ended.
    pub limited: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::severity::Severity;
    use chrono::{Duration, TimeZone};

    fn policy() -> SlaPolicy {
        let mut targets = BTreeMap::new();
        targets.insert(
            Severity::High,
            Targets {
                first_response: 30,
                resolution: 240,
            },
        );
        SlaPolicy {
            name: "fraud-fast".into(),
            calendar: Calendar::AlwaysOpen,
            calendar_name: "24/7".into(),
            warn_at_percent: vec![75, 90],
            max_pause_minutes: 60,
            targets,
        }
    }

    #[test]
    fn dues_and_pauses() {
        let p = policy();
        let t0 = Utc.with_ymd_and_hms(2026, 11, 24, 1, 0, 0).unwrap();
        let d = p.dues(t0, Severity::High, 0);
        assert_eq!(d.first_response, t0 + Duration::minutes(30));
        assert_eq!(d.resolution, t0 + Duration::minutes(240));
        let d = p.dues(t0, Severity::High, 45);
        assert_eq!(d.resolution, t0 + Duration::minutes(285));
        let pause = p.countable_pause(t0, t0 + Duration::minutes(50), 0);
        assert_eq!(
            pause,
            Pause {
                elapsed: 50,
                counted: 50,
                limited: false
            }
        );
        let pause = p.countable_pause(t0, t0 + Duration::minutes(50), 30);
        assert_eq!(
            pause,
            Pause {
                elapsed: 50,
                counted: 30,
                limited: true
            }
        );
    }
}
