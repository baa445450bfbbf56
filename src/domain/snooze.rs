// Snoozes: how long one may last, what a reason must be, and which alerts a snooze
// does not hold back. Pure rules, no I/O.

use std::fmt;

use super::money::Decimal;
use super::resolution::ReleaseThresholds;
use super::severity::Severity;

/// A snooze lasts 1 to 365 days.
pub const DAYS: std::ops::RangeInclusive<i64> = 1..=365;
/// The most characters a reason may have.
pub const REASON_CHARS: usize = 500;

/// Why a snooze was refused; each names its field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnoozeInputError {
    Days,
    Reason,
}

impl SnoozeInputError {
    pub fn field(&self) -> &'static str {
        match self {
            SnoozeInputError::Days => "days",
            SnoozeInputError::Reason => "reason",
        }
    }
}

impl fmt::Display for SnoozeInputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SnoozeInputError::Days => f.write_str("a snooze lasts 1 to 365 days"),
            SnoozeInputError::Reason => f.write_str("a reason of 1 to 500 characters is required"),
        }
    }
}

/// The days of a snooze as typed.
pub fn parse_days(s: &str) -> Result<i64, SnoozeInputError> {
    s.trim()
        .parse::<i64>()
        .ok()
        .filter(|d| DAYS.contains(d))
        .ok_or(SnoozeInputError::Days)
}

/// The reason, trimmed, when it has 1 to 500 characters.
pub fn parse_reason(s: &str) -> Result<&str, SnoozeInputError> {
    let s = s.trim();
    if s.is_empty() || s.chars().count() > REASON_CHARS {
        return Err(SnoozeInputError::Reason);
    }
    Ok(s)
}

/// Why an alert opens a case although its customer's rule is snoozed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Override {
    /// A critical alert always reaches a person.
    Critical,
    /// The amount is over the rule's release limit.
    AboveLimit,
}

impl Override {
    pub fn as_str(self) -> &'static str {
        match self {
            Override::Critical => "critical",
            Override::AboveLimit => "above_limit",
        }
    }
}

/// Whether an alert of `severity` for `amount` gets past a snooze: critical alerts
/// and amounts over `limit` (the rule's release limit) always open a case.
pub fn overridden(
    severity: Severity,
    amount: Option<(Decimal, &str)>,
    limit: &ReleaseThresholds,
) -> Option<Override> {
    if severity == Severity::Critical {
        return Some(Override::Critical);
    }
    match amount {
        Some((value, currency)) if limit.exceeded(value, Some(currency)) => {
            Some(Override::AboveLimit)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_reasons_are_checked() {
        assert_eq!(parse_days("30"), Ok(30));
        assert_eq!(parse_days(" 365 "), Ok(365));
        for bad in ["0", "366", "-1", "", "a week"] {
            assert_eq!(parse_days(bad), Err(SnoozeInputError::Days), "{bad}");
        }
        assert_eq!(parse_reason("  "), Err(SnoozeInputError::Reason));
        assert_eq!(
            parse_reason(&"x".repeat(501)),
            Err(SnoozeInputError::Reason)
        );
        assert_eq!(parse_reason(" Salary day. "), Ok("Salary day."));
    }

    #[test]
    fn critical_alerts_and_large_amounts_get_past() {
        let limit = ReleaseThresholds::parse("5000 CNY").unwrap();
        let amount = |v: &str| Some((v.parse::<Decimal>().unwrap(), "CNY"));
        assert_eq!(overridden(Severity::High, amount("4999.99"), &limit), None);
        assert_eq!(overridden(Severity::High, amount("5000.00"), &limit), None);
        assert_eq!(
            overridden(Severity::High, amount("5000.01"), &limit),
            Some(Override::AboveLimit)
        );
        assert_eq!(
            overridden(Severity::Critical, None, &limit),
            Some(Override::Critical)
        );
        assert_eq!(overridden(Severity::Low, None, &limit), None);
        // A currency the limit does not name is always over it.
        assert_eq!(
            overridden(Severity::Low, Some(("1".parse().unwrap(), "USD")), &limit),
            Some(Override::AboveLimit)
        );
    }
}
