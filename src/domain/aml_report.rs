// The regulator's clock: a case closed as escalated to AML must be reported within a
// number of working days of a named calendar. When that deadline falls and when it
// warns. Pure, no I/O.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use super::calendar::Calendar;

/// The days a report may take (1 to 60 working days).
pub const DAYS: std::ops::RangeInclusive<u32> = 1..=60;

/// When a report is due, and when the desk warns that it soon will be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    /// The start of the last working day.
    pub warn_at: DateTime<Utc>,
    /// The end of the last working day (midnight after it, in the calendar's zone).
    pub due_at: DateTime<Utc>,
}

/// Midnight at the start of `date` in `tz` (the first instant of the day when a
/// change of clocks skips midnight).
fn midnight(tz: Tz, date: NaiveDate) -> DateTime<Utc> {
    let naive = date.and_hms_opt(0, 0, 0).expect("midnight");
    match tz.from_local_datetime(&naive).earliest() {
        Some(t) => t.with_timezone(&Utc),
        None => {
            let later = naive + chrono::Duration::hours(1);
            tz.from_local_datetime(&later)
                .earliest()
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_else(|| Utc.from_utc_datetime(&naive))
        }
    }
}

/// The deadline of a report `days` working days after `start`: the working days are
/// the dates (in `tz`) on which `calendar` has any business time, counted from the
/// day after the start's own; the report is due when the last of them ends.
pub fn deadline(calendar: &Calendar, tz: Tz, start: DateTime<Utc>, days: u32) -> Deadline {
    let mut date = start.with_timezone(&tz).date_naive();
    let mut counted = 0;
    // Ten years of days at most: a calendar that never opens ends the search.
    for _ in 0..3660 {
        date = date.succ_opt().expect("a date after");
        let (from, to) = (
            midnight(tz, date),
            midnight(tz, date.succ_opt().expect("a date")),
        );
        if calendar.business_minutes_between(from, to) > 0 {
            counted += 1;
            if counted >= days.max(1) {
                return Deadline {
                    warn_at: from,
                    due_at: to,
                };
            }
        }
    }
    let end = midnight(tz, date);
    Deadline {
        warn_at: end,
        due_at: end,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::calendar::{BusinessCalendar, CalendarInput};

    fn weekdays() -> Calendar {
        let hours: std::collections::BTreeMap<String, Vec<[String; 2]>> =
            ["mon", "tue", "wed", "thu", "fri"]
                .into_iter()
                .map(|d| {
                    (
                        d.to_string(),
                        vec![["09:00".to_string(), "18:00".to_string()]],
                    )
                })
                .collect();
        Calendar::Business(
            BusinessCalendar::parse(&CalendarInput {
                timezone: "Asia/Shanghai",
                hours: &hours,
                holidays: &["2026-12-25".to_string()],
            })
            .unwrap(),
        )
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn working_days_skip_weekends_and_holidays_and_end_at_midnight() {
        let tz: Tz = "Asia/Shanghai".parse().unwrap();
        // Escalated on Monday 2026-12-21 at 15:00 in Shanghai: Tue 22, Wed 23, Thu 24,
        // (Fri 25 a holiday, the weekend), Mon 28, Tue 29 — due when Tuesday ends.
        let d = deadline(&weekdays(), tz, at("2026-12-21T15:00:00+08:00"), 5);
        assert_eq!(d.due_at, at("2026-12-30T00:00:00+08:00"));
        assert_eq!(d.warn_at, at("2026-12-29T00:00:00+08:00"));
        // Escalated on a Saturday: Monday is the first working day.
        let d = deadline(&weekdays(), tz, at("2026-12-26T10:00:00+08:00"), 1);
        assert_eq!(d.due_at, at("2026-12-29T00:00:00+08:00"));
    }

    #[test]
    fn an_always_open_calendar_counts_every_day() {
        let tz: Tz = "UTC".parse().unwrap();
        let d = deadline(&Calendar::AlwaysOpen, tz, at("2026-12-21T23:59:00Z"), 3);
        assert_eq!(d.due_at, at("2026-12-25T00:00:00Z"));
        assert_eq!(d.warn_at, at("2026-12-24T00:00:00Z"));
    }
}
