// Report periods in the reader's time zone: today, the last 7 or 30 days, or a
// chosen range of local dates, turned into a half-open UTC interval and its days.

use chrono::{DateTime, Days, LocalResult, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use crate::i18n::tkey;

/// The longest range a report covers, in days.
pub const MAX_DAYS: i64 = 366;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Today,
    Last7,
    Last30,
    Range,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Today => "today",
            Kind::Last7 => "7d",
            Kind::Last30 => "30d",
            Kind::Range => "range",
        }
    }

    pub const ALL: [Kind; 4] = [Kind::Today, Kind::Last7, Kind::Last30, Kind::Range];
}

/// A period: whole local days `from..=to` in `tz`, which are the UTC instants
/// `[start, end)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    pub kind: Kind,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub tz: Tz,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// A query parameter that was not understood: the parameter, its value, and why
/// (a catalog key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadParam {
    pub param: &'static str,
    pub value: String,
    pub why: &'static str,
}

impl BadParam {
    pub fn new(param: &'static str, value: &str, why: &'static str) -> Self {
        BadParam {
            param,
            value: value.to_string(),
            why,
        }
    }
}

impl std::fmt::Display for BadParam {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} '{}': {}", self.param, self.value, self.why)
    }
}

/// The first instant of local date `date` in `tz`: local midnight, or where a zone
/// skips midnight (a DST change at 00:00), the first local time that exists.
pub fn day_start(tz: Tz, date: NaiveDate) -> DateTime<Utc> {
    let midnight = date.and_hms_opt(0, 0, 0).expect("midnight");
    let mut local = midnight;
    // A gap lasts at most a few hours; walk it in minutes.
    for _ in 0..(24 * 60) {
        match tz.from_local_datetime(&local) {
            LocalResult::Single(t) => return t.with_timezone(&Utc),
            LocalResult::Ambiguous(earliest, _) => return earliest.with_timezone(&Utc),
            LocalResult::None => local += chrono::Duration::minutes(1),
        }
    }
    midnight.and_utc()
}

fn parse_date(param: &'static str, text: &str) -> Result<NaiveDate, BadParam> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| BadParam::new(param, text, tkey("reports.why.date")))
}

fn non_empty(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|s| !s.is_empty())
}

impl Period {
    /// The period of `period` (`today`, `7d`, `30d`, `range`; default `7d`, or
    /// `range` when dates are given) with `from`/`to` local dates for a range, as
    /// seen at `now` in `tz`.
    pub fn parse(
        period: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
        tz: Tz,
        now: DateTime<Utc>,
    ) -> Result<Period, BadParam> {
        let (from, to) = (non_empty(from), non_empty(to));
        let kind = match non_empty(period) {
            None if from.is_some() || to.is_some() => Kind::Range,
            None => Kind::Last7,
            Some(p) => *Kind::ALL
                .iter()
                .find(|k| k.as_str() == p)
                .ok_or_else(|| BadParam::new("period", p, tkey("reports.why.period")))?,
        };
        let today = now.with_timezone(&tz).date_naive();
        let (first, last) = match kind {
            Kind::Today => (today, today),
            Kind::Last7 => (today - Days::new(6), today),
            Kind::Last30 => (today - Days::new(29), today),
            Kind::Range => {
                let f = parse_date(
                    "from",
                    from.ok_or_else(|| {
                        BadParam::new("from", "", tkey("reports.why.from_missing"))
                    })?,
                )?;
                let t = parse_date(
                    "to",
                    to.ok_or_else(|| BadParam::new("to", "", tkey("reports.why.to_missing")))?,
                )?;
                if t < f {
                    return Err(BadParam::new(
                        "to",
                        to.unwrap_or_default(),
                        tkey("reports.why.before"),
                    ));
                }
                if (t - f).num_days() >= MAX_DAYS {
                    return Err(BadParam::new(
                        "to",
                        to.unwrap_or_default(),
                        tkey("reports.why.too_long"),
                    ));
                }
                (f, t)
            }
        };
        Ok(Period::of_days(kind, first, last, tz))
    }

    /// The local days `from..=to` in `tz`.
    pub fn of_days(kind: Kind, from: NaiveDate, to: NaiveDate, tz: Tz) -> Period {
        let next = to.succ_opt().unwrap_or(to);
        Period {
            kind,
            from,
            to,
            tz,
            start: day_start(tz, from),
            end: day_start(tz, next),
        }
    }

    /// Every local day of the period, in order.
    pub fn days(&self) -> Vec<NaiveDate> {
        self.from
            .iter_days()
            .take_while(|d| *d <= self.to)
            .collect()
    }

    /// Each local day of the period as the UTC instants `[start, end)` it covers, in
    /// order (a day of a clock change is 23 or 25 hours long).
    pub fn day_bounds(&self) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        self.days()
            .into_iter()
            .map(|d| {
                let end = d.succ_opt().map_or(self.end, |n| day_start(self.tz, n));
                (day_start(self.tz, d), end.min(self.end))
            })
            .collect()
    }

    /// The local date of an instant.
    pub fn day_of(&self, t: DateTime<Utc>) -> NaiveDate {
        t.with_timezone(&self.tz).date_naive()
    }

    /// The index of an instant's local day in [`Period::days`], if inside.
    pub fn day_index(&self, t: DateTime<Utc>) -> Option<usize> {
        if t < self.start || t >= self.end {
            return None;
        }
        usize::try_from((self.day_of(t) - self.from).num_days()).ok()
    }

    /// The query-string pairs that select this period again.
    pub fn query_pairs(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![("period", self.kind.as_str().to_string())];
        if self.kind == Kind::Range {
            out.push(("from", self.from.to_string()));
            out.push(("to", self.to.to_string()));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn today_and_last_days_in_the_readers_zone() {
        let shanghai: Tz = "Asia/Shanghai".parse().unwrap();
        // 2026-11-24T17:00Z is already the 25th in Shanghai.
        let now = t("2026-11-24T17:00:00Z");
        let p = Period::parse(Some("today"), None, None, shanghai, now).unwrap();
        assert_eq!(p.from.to_string(), "2026-11-25");
        assert_eq!(p.start, t("2026-11-24T16:00:00Z"));
        assert_eq!(p.end, t("2026-11-25T16:00:00Z"));
        let p = Period::parse(None, None, None, shanghai, now).unwrap();
        assert_eq!(p.kind, Kind::Last7);
        assert_eq!(p.from.to_string(), "2026-11-19");
        assert_eq!(p.days().len(), 7);
        let p = Period::parse(Some("30d"), None, None, chrono_tz::UTC, now).unwrap();
        assert_eq!(p.from.to_string(), "2026-10-26");
        assert_eq!(p.to.to_string(), "2026-11-24");
        assert_eq!(p.days().len(), 30);
        assert_eq!(p.day_index(t("2026-10-26T00:00:00Z")), Some(0));
        assert_eq!(p.day_index(t("2026-11-24T23:59:59Z")), Some(29));
        assert_eq!(p.day_index(t("2026-11-25T00:00:00Z")), None);
    }

    #[test]
    fn a_dst_day_has_23_or_25_hours() {
        let ny: Tz = "America/New_York".parse().unwrap();
        let now = t("2026-11-30T12:00:00Z");
        // Sunday 1 November 2026: clocks fall back, the day lasts 25 hours.
        let p = Period::parse(None, Some("2026-11-01"), Some("2026-11-01"), ny, now).unwrap();
        assert_eq!(p.kind, Kind::Range);
        assert_eq!(p.start, t("2026-11-01T04:00:00Z"));
        assert_eq!(p.end, t("2026-11-02T05:00:00Z"));
        assert_eq!((p.end - p.start).num_hours(), 25);
        // 01:30 local happens twice; both belong to the 1st.
        assert_eq!(p.day_index(t("2026-11-01T05:30:00Z")), Some(0));
        assert_eq!(p.day_index(t("2026-11-01T06:30:00Z")), Some(0));
        // Sunday 8 March 2026: clocks spring forward, 23 hours.
        let p = Period::parse(
            Some("range"),
            Some("2026-03-08"),
            Some("2026-03-08"),
            ny,
            now,
        )
        .unwrap();
        assert_eq!((p.end - p.start).num_hours(), 23);
        assert_eq!(p.start, t("2026-03-08T05:00:00Z"));
        // A week across the fall-back day: its days meet end to end, the 1st is 25 h.
        let p = Period::parse(None, Some("2026-10-31"), Some("2026-11-02"), ny, now).unwrap();
        let b = p.day_bounds();
        assert_eq!(b.len(), 3);
        assert_eq!(b[0], (t("2026-10-31T04:00:00Z"), t("2026-11-01T04:00:00Z")));
        assert_eq!(b[1], (t("2026-11-01T04:00:00Z"), t("2026-11-02T05:00:00Z")));
        assert_eq!(b[2], (t("2026-11-02T05:00:00Z"), p.end));
        assert_eq!(p.end, t("2026-11-03T05:00:00Z"));
    }

    #[test]
    fn a_zone_that_skips_midnight() {
        // America/Santiago springs forward at 00:00 (to 01:00) on 6 September 2026.
        let santiago: Tz = "America/Santiago".parse().unwrap();
        let start = day_start(santiago, NaiveDate::from_ymd_opt(2026, 9, 6).unwrap());
        assert_eq!(
            start.with_timezone(&santiago).format("%H:%M").to_string(),
            "01:00"
        );
    }

    #[test]
    fn bad_parameters_are_named() {
        let now = t("2026-11-24T12:00:00Z");
        let utc = chrono_tz::UTC;
        let e = Period::parse(Some("week"), None, None, utc, now).unwrap_err();
        assert_eq!(e.param, "period");
        let e = Period::parse(Some("range"), Some("2026-11-01"), None, utc, now).unwrap_err();
        assert_eq!(e.param, "to");
        let e = Period::parse(None, Some("1 Nov"), Some("2026-11-02"), utc, now).unwrap_err();
        assert_eq!(e.param, "from");
        let e = Period::parse(None, Some("2026-11-03"), Some("2026-11-02"), utc, now).unwrap_err();
        assert_eq!((e.param, e.why), ("to", "reports.why.before"));
        let e = Period::parse(None, Some("2024-01-01"), Some("2026-11-02"), utc, now).unwrap_err();
        assert_eq!(e.param, "to");
        let p = Period::parse(None, Some("2025-11-24"), Some("2026-11-24"), utc, now).unwrap();
        assert_eq!(p.days().len(), 366);
    }
}
