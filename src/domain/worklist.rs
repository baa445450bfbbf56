// How urgent a case looks in the agent's lists: the share of its SLA target used and
// the colour that share gets, and the countdown to its next deadline.

use chrono::{DateTime, Utc};

/// A list row's colour by the share of its SLA target used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaColour {
    /// Less than 75 % used.
    Green,
    /// From 75 % up to the deadline.
    Amber,
    /// Past the deadline, or marked breached.
    Red,
}

impl SlaColour {
    pub fn css(self) -> &'static str {
        match self {
            SlaColour::Green => "sla-green",
            SlaColour::Amber => "sla-amber",
            SlaColour::Red => "sla-red",
        }
    }
}

/// The share (in per mille) at which a row turns amber.
pub const AMBER_FROM_PER_MILLE: i64 = 750;

/// The share of the SLA target used, in per mille: the time elapsed since `start`
/// (the case's opening) against the window from `start` to `due`. While the clock
/// is paused, time stands at `paused_since`. Deadlines already include earlier
/// pauses, so the share is that of the clock's own time. An empty or inverted
/// window counts as fully used once `due` has come.
pub fn share_used(
    start: DateTime<Utc>,
    due: DateTime<Utc>,
    now: DateTime<Utc>,
    paused_since: Option<DateTime<Utc>>,
) -> i64 {
    let at = paused_since.map_or(now, |p| p.min(now));
    let window = (due - start).num_milliseconds();
    let elapsed = (at - start).num_milliseconds().max(0);
    if window <= 0 {
        return if at >= due { 1000 } else { 0 };
    }
    (i128::from(elapsed) * 1000 / i128::from(window)) as i64
}

/// The colour of a share: green below 75 %, amber below 100 %, red from the
/// deadline on or when the case was marked breached.
pub fn colour(share_per_mille: i64, breached: bool) -> SlaColour {
    if breached || share_per_mille >= 1000 {
        SlaColour::Red
    } else if share_per_mille >= AMBER_FROM_PER_MILLE {
        SlaColour::Amber
    } else {
        SlaColour::Green
    }
}

/// A countdown as `H:MM:SS` (hours may exceed 24), with a leading `-` once the
/// deadline has passed. The same format as the one `static/app.js` ticks.
pub fn countdown(due: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (due - now).num_seconds();
    let (sign, s) = if secs < 0 { ("-", -secs) } else { ("", secs) };
    format!("{sign}{}:{:02}:{:02}", s / 3600, (s % 3600) / 60, s % 60)
}

/// The longest name of a saved view, in characters.
pub const VIEW_NAME_MAX: usize = 60;

/// A saved view's name, trimmed, or the catalog key of what is wrong with it.
pub fn view_name(name: &str) -> Result<String, &'static str> {
    let name = name.trim();
    if name.is_empty() {
        Err("views.error.name_required")
    } else if name.chars().count() > VIEW_NAME_MAX {
        Err("views.error.name_long")
    } else {
        Ok(name.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 24, 1, 0, 0).unwrap()
    }

    #[test]
    fn share_is_elapsed_over_window() {
        let due = t0() + Duration::minutes(100);
        assert_eq!(share_used(t0(), due, t0(), None), 0);
        assert_eq!(
            share_used(t0(), due, t0() + Duration::minutes(50), None),
            500
        );
        assert_eq!(
            share_used(t0(), due, t0() + Duration::minutes(100), None),
            1000
        );
        assert_eq!(
            share_used(t0(), due, t0() + Duration::minutes(150), None),
            1500
        );
        // Before the opening (clock skew) counts as nothing used.
        assert_eq!(share_used(t0(), due, t0() - Duration::minutes(5), None), 0);
    }

    #[test]
    fn a_paused_clock_stands_at_the_pause() {
        let due = t0() + Duration::minutes(100);
        let paused = Some(t0() + Duration::minutes(30));
        assert_eq!(
            share_used(t0(), due, t0() + Duration::hours(9), paused),
            300
        );
        // A pause recorded in the future of `now` does not run ahead.
        assert_eq!(
            share_used(
                t0(),
                due,
                t0() + Duration::minutes(10),
                Some(t0() + Duration::hours(1))
            ),
            100
        );
    }

    #[test]
    fn an_empty_window_is_used_up_at_its_deadline() {
        assert_eq!(share_used(t0(), t0(), t0(), None), 1000);
        assert_eq!(share_used(t0(), t0(), t0() - Duration::seconds(1), None), 0);
    }

    #[test]
    fn colours_follow_the_share() {
        assert_eq!(colour(0, false), SlaColour::Green);
        assert_eq!(colour(749, false), SlaColour::Green);
        assert_eq!(colour(750, false), SlaColour::Amber);
        assert_eq!(colour(999, false), SlaColour::Amber);
        assert_eq!(colour(1000, false), SlaColour::Red);
        assert_eq!(colour(10, true), SlaColour::Red, "a breached case is red");
        assert_eq!(SlaColour::Amber.css(), "sla-amber");
    }

    #[test]
    fn countdowns() {
        let due = t0() + Duration::seconds(3 * 3600 + 5 * 60 + 7);
        assert_eq!(countdown(due, t0()), "3:05:07");
        assert_eq!(countdown(t0(), t0() + Duration::seconds(61)), "-0:01:01");
        assert_eq!(countdown(t0() + Duration::hours(30), t0()), "30:00:00");
    }

    #[test]
    fn view_names_are_trimmed_and_bounded() {
        assert_eq!(
            view_name("  Big transfers  "),
            Ok("Big transfers".to_string())
        );
        assert_eq!(view_name("   "), Err("views.error.name_required"));
        assert_eq!(
            view_name(&"视".repeat(VIEW_NAME_MAX)).map(|n| n.chars().count()),
            Ok(VIEW_NAME_MAX)
        );
        assert_eq!(
            view_name(&"x".repeat(VIEW_NAME_MAX + 1)),
            Err("views.error.name_long")
        );
    }
}
