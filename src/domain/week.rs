// ISO weeks in the desk's time zone, for the weekly brief: parsing `2026-W47`, the
// UTC instants a week starts and ends at, and when a finished week's brief is due.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};
use chrono_tz::Tz;

/// The hour (desk time, on the Monday after a week) at which its brief is due.
pub const BRIEF_HOUR: u32 = 6;

/// An ISO week: year and week number (1 to 53).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IsoWeek {
    pub year: i32,
    pub week: u32,
}

impl IsoWeek {
    /// Parses `2026-W47` (also `2026-w47`); None for anything else or a week the
    /// year does not have.
    pub fn parse(s: &str) -> Option<IsoWeek> {
        let (y, w) = s.trim().split_once(['W', 'w'])?;
        let y = y.strip_suffix('-')?;
        if y.len() != 4 || w.len() != 2 || !y.bytes().chain(w.bytes()).all(|b| b.is_ascii_digit()) {
            return None;
        }
        let week = IsoWeek {
            year: y.parse().ok()?,
            week: w.parse().ok()?,
        };
        week.monday().map(|_| week)
    }

    /// The week holding local date `d`.
    pub fn of_date(d: NaiveDate) -> IsoWeek {
        let w = d.iso_week();
        IsoWeek {
            year: w.year(),
            week: w.week(),
        }
    }

    /// The week holding instant `t` in `tz`.
    pub fn of(t: DateTime<Utc>, tz: Tz) -> IsoWeek {
        IsoWeek::of_date(t.with_timezone(&tz).date_naive())
    }

    /// Its Monday (a local date).
    pub fn monday(self) -> Option<NaiveDate> {
        NaiveDate::from_isoywd_opt(self.year, self.week, Weekday::Mon)
    }

    pub fn previous(self) -> IsoWeek {
        let monday = self.monday().expect("a valid week");
        IsoWeek::of_date(monday - Duration::days(7))
    }

    pub fn next(self) -> IsoWeek {
        let monday = self.monday().expect("a valid week");
        IsoWeek::of_date(monday + Duration::days(7))
    }

    /// `[start, end)` in UTC: local Monday 00:00 to the next Monday 00:00 in `tz`.
    pub fn range(self, tz: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
        let monday = self.monday().expect("a valid week");
        (
            local_midnight(monday, tz),
            local_midnight(monday + Duration::days(7), tz),
        )
    }

    /// When this week's brief is due: the next Monday at [`BRIEF_HOUR`] in `tz`.
    pub fn brief_due(self, tz: Tz) -> DateTime<Utc> {
        let (_, end) = self.range(tz);
        let local = end.with_timezone(&tz).naive_local() + Duration::hours(BRIEF_HOUR.into());
        instant(local, tz)
    }
}

impl std::fmt::Display for IsoWeek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-W{:02}", self.year, self.week)
    }
}

/// The instant of local wall time `t` in `tz`: the earlier one when the clocks go
/// back; when they jump forward over it, the first instant after the gap.
fn instant(t: chrono::NaiveDateTime, tz: Tz) -> DateTime<Utc> {
    let mut probe = t;
    for _ in 0..180 {
        if let Some(x) = tz.from_local_datetime(&probe).earliest() {
            return x.with_timezone(&Utc);
        }
        probe += Duration::minutes(1);
    }
    Utc.from_utc_datetime(&t)
}

fn local_midnight(d: NaiveDate, tz: Tz) -> DateTime<Utc> {
    instant(d.and_hms_opt(0, 0, 0).expect("midnight"), tz)
}

/// The finished week whose brief is due at `now`, if one is: the week before the
/// current one, from its Monday 06:00 on.
pub fn due_brief(now: DateTime<Utc>, tz: Tz) -> Option<IsoWeek> {
    let last = IsoWeek::of(now, tz).previous();
    (now >= last.brief_due(tz)).then_some(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_weeks() {
        let w = IsoWeek::parse("2026-W47").unwrap();
        assert_eq!(
            w,
            IsoWeek {
                year: 2026,
                week: 47
            }
        );
        assert_eq!(w.to_string(), "2026-W47");
        assert_eq!(w.monday(), NaiveDate::from_ymd_opt(2026, 11, 16));
        assert_eq!(IsoWeek::parse("2026-w01").unwrap().to_string(), "2026-W01");
        // 2026 begins on a Thursday, so it has 53 weeks; 2025 has 52.
        assert!(IsoWeek::parse("2026-W53").is_some());
        assert_eq!(IsoWeek::parse("2025-W53"), None);
        for bad in [
            "", "2026W47", "2026-W7", "2026-W00", "26-W47", "2026-W4x", "x",
        ] {
            assert_eq!(IsoWeek::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn weeks_run_monday_to_monday_in_the_zone() {
        let sh: Tz = "Asia/Shanghai".parse().unwrap();
        let w = IsoWeek::parse("2026-W48").unwrap();
        let (s, e) = w.range(sh);
        assert_eq!(s, Utc.with_ymd_and_hms(2026, 11, 22, 16, 0, 0).unwrap());
        assert_eq!(e, Utc.with_ymd_and_hms(2026, 11, 29, 16, 0, 0).unwrap());
        assert_eq!(
            w.brief_due(sh),
            Utc.with_ymd_and_hms(2026, 11, 29, 22, 0, 0).unwrap()
        );
        assert_eq!(w.previous().to_string(), "2026-W47");
        assert_eq!(w.next().to_string(), "2026-W49");
        // Across a year's end.
        let first = IsoWeek::parse("2027-W01").unwrap();
        assert_eq!(first.previous().to_string(), "2026-W53");
        // Monday 00:30 Shanghai is Sunday in UTC but the new week at the desk.
        let t = Utc.with_ymd_and_hms(2026, 11, 22, 16, 30, 0).unwrap();
        assert_eq!(IsoWeek::of(t, sh), w);
        assert_eq!(IsoWeek::of(t, chrono_tz::UTC).to_string(), "2026-W47");
    }

    #[test]
    fn a_week_spanning_a_clock_change_has_its_real_length() {
        let ny: Tz = "America/New_York".parse().unwrap();
        // 2026-11-01: clocks go back an hour; the week holding it lasts 169 hours.
        let w = IsoWeek::of_date(NaiveDate::from_ymd_opt(2026, 11, 1).unwrap());
        let (s, e) = w.range(ny);
        assert_eq!((e - s).num_hours(), 169);
    }

    #[test]
    fn the_brief_is_due_from_monday_six() {
        let sh: Tz = "Asia/Shanghai".parse().unwrap();
        // Monday 2026-11-30 05:59 Shanghai: not yet; 06:00: W48.
        let before = Utc.with_ymd_and_hms(2026, 11, 29, 21, 59, 0).unwrap();
        let at = Utc.with_ymd_and_hms(2026, 11, 29, 22, 0, 0).unwrap();
        assert_eq!(due_brief(before, sh), None);
        assert_eq!(due_brief(at, sh).unwrap().to_string(), "2026-W48");
    }
}
