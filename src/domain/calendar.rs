// Business calendar for SLA deadlines: weekly business hours in an IANA time zone plus holidays,
// with DST-correct arithmetic on business minutes between UTC instants.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Offset, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

use super::ProblemText;
use crate::i18n::tkey;

/// Lower-case weekday keys used in the raw configuration, Monday first.
pub const DAY_KEYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

const SECS_PER_DAY: i64 = 86_400;

/// `add_business_minutes` never returns an instant later than this many days after its start.
pub const MAX_SEARCH_DAYS: i64 = 3_700;

/// Largest spacing of the offset samples used to detect time zone transitions. A transition is
/// found whenever the offset differs between two consecutive samples; only two transitions that
/// return to the same offset within this span could go unnoticed. The shortest such round trip
/// in the IANA database lasts about four days (Africa/Freetown, 1939); common ones last months.
const OFFSET_SAMPLE_STEP: i64 = 12 * 3_600;

/// When business time is counted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Calendar {
    /// Every minute counts.
    AlwaysOpen,
    /// Only the business hours of the calendar count.
    Business(BusinessCalendar),
}

/// Weekly business hours in a time zone, minus holidays.
///
/// An instant is business time iff its local wall-clock time falls within `[start, end)` of one of
/// the intervals of its local date's weekday, and that local date is not a holiday. So local
/// times skipped by a DST spring-forward never count, and local times repeated by a fall-back
/// count each time they occur (01:00-01:45 on a fall-back day can be two stretches of 45 minutes).
///
/// The arithmetic walks local date by local date: for each date it maps every interval through
/// each UTC offset in effect around that date (transitions are found by sampling the offset and
/// bisecting to the second) and keeps the parts that really have that offset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BusinessCalendar {
    tz: Tz,
    /// Intervals per weekday (Monday first) in seconds since local midnight: sorted,
    /// non-overlapping, `start < end <= 86_400`.
    week: [Vec<(u32, u32)>; 7],
    holidays: BTreeSet<NaiveDate>,
}

/// The raw shape of a calendar as it appears in the configuration file and the API.
#[derive(Clone, Copy, Debug)]
pub struct CalendarInput<'a> {
    /// IANA time zone name, e.g. `Europe/London`.
    pub timezone: &'a str,
    /// Weekday key (`mon` .. `sun`) to `["HH:MM", "HH:MM"]` intervals of local time.
    pub hours: &'a BTreeMap<String, Vec<[String; 2]>>,
    /// Local dates (`YYYY-MM-DD`) without business hours.
    pub holidays: &'a [String],
}

/// One problem found while validating a [`CalendarInput`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct CalendarProblem {
    /// Path of the offending field, e.g. `hours.mon[1]` or `holidays[0]`.
    pub field: String,
    /// What is wrong, in English.
    pub message: String,
    /// The same as a catalog key with its values, for the reader's language.
    pub text: ProblemText,
}

impl CalendarProblem {
    fn new(field: impl Into<String>, text: ProblemText) -> Self {
        Self {
            field: field.into(),
            message: text.english(),
            text,
        }
    }
}

impl Calendar {
    /// The calendar's own time zone; none for the always-open calendar.
    pub fn timezone(&self) -> Option<chrono_tz::Tz> {
        match self {
            Calendar::AlwaysOpen => None,
            Calendar::Business(c) => c.timezone_name().parse().ok(),
        }
    }

    /// The earliest instant at which `minutes` business minutes have passed since `start`.
    ///
    /// A start outside business hours counts from the next opening. A deadline that uses up an
    /// interval exactly is that interval's closing instant. For `minutes <= 0` the result is
    /// `start` if it is business time, else the next opening. For a business calendar the
    /// result is never later than `start` + [`MAX_SEARCH_DAYS`] days: that instant is returned
    /// when the deadline would fall later (e.g. when holidays cover everything).
    pub fn add_business_minutes(&self, start: DateTime<Utc>, minutes: i64) -> DateTime<Utc> {
        match self {
            Calendar::AlwaysOpen => TimeDelta::try_minutes(minutes.max(0))
                .and_then(|delta| start.checked_add_signed(delta))
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
            Calendar::Business(calendar) => calendar.add_business_minutes(start, minutes),
        }
    }

    /// Business minutes (whole minutes, rounded down) in `[start, end)`; 0 if `end <= start`.
    pub fn business_minutes_between(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> i64 {
        match self {
            Calendar::AlwaysOpen if end > start => (end - start).num_minutes(),
            Calendar::AlwaysOpen => 0,
            Calendar::Business(calendar) => calendar.business_minutes_between(start, end),
        }
    }

    /// Business seconds (whole seconds, rounded down) in `[start, end)`; 0 if
    /// `end <= start`. The reports measure times to respond and resolve with it.
    pub fn business_seconds_between(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> i64 {
        match self {
            Calendar::AlwaysOpen if end > start => (end - start).num_seconds(),
            Calendar::AlwaysOpen => 0,
            Calendar::Business(calendar) => calendar.business_seconds_between(start, end),
        }
    }

    /// Whether the instant `t` is business time.
    pub fn is_business_time(&self, t: DateTime<Utc>) -> bool {
        match self {
            Calendar::AlwaysOpen => true,
            Calendar::Business(calendar) => calendar.is_business_time(t),
        }
    }
}

impl BusinessCalendar {
    /// Validates the raw shape, collecting every problem found.
    pub fn parse(input: &CalendarInput<'_>) -> Result<BusinessCalendar, Vec<CalendarProblem>> {
        let mut problems = Vec::new();

        let tz = input.timezone.parse::<Tz>().ok();
        if tz.is_none() {
            problems.push(CalendarProblem::new(
                "timezone",
                ProblemText::new(tkey("config.error.timezone"), &[("text", input.timezone)]),
            ));
        }

        let mut week: [Vec<(u32, u32)>; 7] = Default::default();
        let mut listed_intervals = 0;
        for (key, intervals) in input.hours {
            let Some(day) = DAY_KEYS.iter().position(|k| k == key) else {
                problems.push(CalendarProblem::new(
                    format!("hours.{key}"),
                    ProblemText::new(
                        tkey("config.error.day"),
                        &[("day", key), ("days", &DAY_KEYS.join(", "))],
                    ),
                ));
                continue;
            };
            listed_intervals += intervals.len();
            // Successfully parsed intervals with their index in the input.
            let mut parsed: Vec<(usize, u32, u32)> = Vec::new();
            for (i, [start, end]) in intervals.iter().enumerate() {
                let field = format!("hours.{key}[{i}]");
                match parse_interval(start, end) {
                    Ok((open, close)) => {
                        let overlapped = parsed.iter().find(|&&(_, o, c)| open < c && o < close);
                        if let Some(&(j, o, c)) = overlapped {
                            problems.push(CalendarProblem::new(
                                field,
                                ProblemText::new(
                                    tkey("config.error.overlap"),
                                    &[
                                        ("start", start),
                                        ("end", end),
                                        ("open", &format_hhmm(o)),
                                        ("close", &format_hhmm(c)),
                                        ("other", &format!("hours.{key}[{j}]")),
                                    ],
                                ),
                            ));
                        }
                        parsed.push((i, open, close));
                    }
                    Err(message) => problems.push(CalendarProblem::new(field, message)),
                }
            }
            let mut day_intervals: Vec<(u32, u32)> =
                parsed.into_iter().map(|(_, o, c)| (o, c)).collect();
            day_intervals.sort_unstable();
            week[day] = day_intervals;
        }
        // Counting listed rather than valid intervals avoids a follow-up complaint about every
        // typo in an interval.
        if listed_intervals == 0 {
            problems.push(CalendarProblem::new(
                "hours",
                ProblemText::new(tkey("config.error.no_hours"), &[]),
            ));
        }

        let mut holidays = BTreeSet::new();
        for (i, text) in input.holidays.iter().enumerate() {
            match parse_date(text) {
                Some(date) => {
                    holidays.insert(date);
                }
                None => problems.push(CalendarProblem::new(
                    format!("holidays[{i}]"),
                    ProblemText::new(tkey("config.error.date"), &[("text", text)]),
                )),
            }
        }

        match tz {
            Some(tz) if problems.is_empty() => Ok(BusinessCalendar { tz, week, holidays }),
            _ => Err(problems),
        }
    }

    /// The IANA name of the calendar's time zone.
    pub fn timezone_name(&self) -> &str {
        self.tz.name()
    }

    /// The weekly hours in their raw shape: only days with hours, sorted `"HH:MM"` intervals,
    /// `"24:00"` for the end of the day.
    pub fn hours_map(&self) -> BTreeMap<String, Vec<[String; 2]>> {
        DAY_KEYS
            .iter()
            .zip(&self.week)
            .filter(|(_, intervals)| !intervals.is_empty())
            .map(|(key, intervals)| {
                let raw = intervals
                    .iter()
                    .map(|&(open, close)| [format_hhmm(open), format_hhmm(close)])
                    .collect();
                (key.to_string(), raw)
            })
            .collect()
    }

    /// The holidays as sorted `YYYY-MM-DD` strings.
    pub fn holiday_strings(&self) -> Vec<String> {
        self.holidays
            .iter()
            .map(|d| d.format("%Y-%m-%d").to_string())
            .collect()
    }

    /// See [`Calendar::add_business_minutes`].
    pub fn add_business_minutes(&self, start: DateTime<Utc>, minutes: i64) -> DateTime<Utc> {
        let cap = start
            .checked_add_signed(TimeDelta::days(MAX_SEARCH_DAYS))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        let need = minutes.max(0).saturating_mul(60);
        let secs = start.timestamp();
        let nanos = start.timestamp_subsec_nanos();
        // Business time is made of whole seconds, so work on whole seconds. One more second
        // than the ranges found guarantees that every deadline up to `cap` is found.
        let until = cap.timestamp().saturating_add(1);
        let found = if nanos != 0 && self.is_business_second(secs) {
            // The start is inside business second `secs`: the deadline lies at the same
            // fraction inside the business second that completes `need + 1` seconds from
            // `secs`.
            self.add_seconds(secs, need.saturating_add(1), until)
                .and_then(|end| DateTime::from_timestamp(end - 1, nanos))
        } else {
            // Either a whole second, or the rest of a non-business second (which adds nothing).
            self.add_seconds(secs, need, until)
                .and_then(|end| DateTime::from_timestamp(end, 0))
        };
        match found {
            Some(deadline) if deadline <= cap => deadline,
            _ => cap,
        }
    }

    /// See [`Calendar::business_minutes_between`].
    ///
    /// Takes time proportional to the number of days between `start` and `end`.
    pub fn business_minutes_between(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> i64 {
        i64::try_from(self.business_nanos_between(start, end) / 60_000_000_000).unwrap_or(i64::MAX)
    }

    /// See [`Calendar::business_seconds_between`].
    pub fn business_seconds_between(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> i64 {
        i64::try_from(self.business_nanos_between(start, end) / 1_000_000_000).unwrap_or(i64::MAX)
    }

    fn business_nanos_between(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> i128 {
        if end <= start {
            return 0;
        }
        let (s, e) = (start.timestamp(), end.timestamp());
        let whole: i64 = Ranges::new(self, s, e).map(|(a, b)| b - a).sum();
        let mut nanos = i128::from(whole) * 1_000_000_000;
        // Correct for the fractions of the seconds `s` and `e`; when `s == e` the two
        // corrections apply to the same second and add up to a non-negative amount.
        if start.timestamp_subsec_nanos() != 0 && self.is_business_second(s) {
            nanos -= i128::from(start.timestamp_subsec_nanos());
        }
        if end.timestamp_subsec_nanos() != 0 && self.is_business_second(e) {
            nanos += i128::from(end.timestamp_subsec_nanos());
        }
        nanos
    }

    /// Whether the instant `t` is business time.
    pub fn is_business_time(&self, t: DateTime<Utc>) -> bool {
        self.is_business_second(t.timestamp())
    }

    /// Whether the second starting at Unix time `t` is business time (business time always
    /// consists of whole seconds).
    fn is_business_second(&self, t: i64) -> bool {
        let local = t.saturating_add(i64::from(offset_at(self.tz, t)));
        let Some(date) = date_of(local) else {
            return false;
        };
        let second_of_day = local.rem_euclid(SECS_PER_DAY);
        !self.holidays.contains(&date)
            && self.intervals_on(date).iter().any(|&(open, close)| {
                i64::from(open) <= second_of_day && second_of_day < i64::from(close)
            })
    }

    fn intervals_on(&self, date: NaiveDate) -> &[(u32, u32)] {
        &self.week[date.weekday().num_days_from_monday() as usize]
    }

    /// The earliest Unix time at which `need` business seconds have passed since `from`
    /// (for `need == 0`: `from` if it is business time, else the next opening), looking only at
    /// business time before `until`.
    fn add_seconds(&self, from: i64, need: i64, until: i64) -> Option<i64> {
        let mut remaining = need;
        for (open, close) in Ranges::new(self, from, until) {
            if remaining == 0 {
                return Some(open);
            }
            if remaining <= close - open {
                return Some(open + remaining);
            }
            remaining -= close - open;
        }
        None
    }
}

/// Yields the business time in `[from, until)` as sorted, disjoint `[open, close)` ranges of
/// Unix seconds, walking local date by local date.
///
/// Local dates need not increase with real time (a clock set back across midnight repeats part of
/// the previous date), so ranges are buffered until no later date can produce an earlier range:
/// every instant of local date `d` lies strictly after `midnight(d) - 1 day`, because offsets are
/// shorter than a day.
struct Ranges<'a> {
    calendar: &'a BusinessCalendar,
    offsets: OffsetTimeline,
    /// Next local date to generate; `None` once no further date matters.
    next_date: Option<NaiveDate>,
    pending: VecDeque<(i64, i64)>,
    scratch: Vec<(i64, i64)>,
    from: i64,
    until: i64,
}

impl<'a> Ranges<'a> {
    fn new(calendar: &'a BusinessCalendar, from: i64, until: i64) -> Self {
        let until = until.min(max_timestamp());
        // Instants of local date `d` lie before `midnight(d) + 2 days`.
        let first_date = date_of(from.saturating_sub(2 * SECS_PER_DAY)).unwrap_or(NaiveDate::MIN);
        Ranges {
            calendar,
            offsets: OffsetTimeline::new(calendar.tz),
            next_date: (from < until).then_some(first_date),
            pending: VecDeque::new(),
            scratch: Vec::new(),
            from,
            until,
        }
    }

    /// Adds the business ranges of local date `date` to `pending`.
    fn generate(&mut self, date: NaiveDate) {
        let calendar = self.calendar;
        let intervals = calendar.intervals_on(date);
        let (Some(first), Some(last)) = (intervals.first(), intervals.last()) else {
            return;
        };
        if calendar.holidays.contains(&date) {
            return;
        }
        let midnight = midnight(date);
        // Instants whose local time lies in [first open, last close) of this date.
        let window_start = midnight + i64::from(first.0) - SECS_PER_DAY + 1;
        let window_end = midnight + i64::from(last.1) + SECS_PER_DAY;
        self.offsets.cover(window_start, window_end);

        self.scratch.clear();
        for (seg_start, seg_end, offset) in self.offsets.segments() {
            if seg_end <= window_start || seg_start >= window_end {
                continue;
            }
            let offset = i64::from(offset);
            for &(open, close) in intervals {
                let lo = (midnight + i64::from(open) - offset).max(seg_start);
                let hi = (midnight + i64::from(close) - offset).min(seg_end);
                if lo < hi {
                    self.scratch.push((lo, hi));
                }
            }
        }
        self.scratch.sort_unstable();
        for &(lo, hi) in &self.scratch {
            // Keep `pending` sorted; new ranges nearly always go at the end.
            let at = self.pending.partition_point(|&(a, _)| a < lo);
            if at > 0 && self.pending[at - 1].1 == lo {
                self.pending[at - 1].1 = hi;
            } else {
                self.pending.insert(at, (lo, hi));
            }
        }
    }
}

impl Iterator for Ranges<'_> {
    type Item = (i64, i64);

    fn next(&mut self) -> Option<(i64, i64)> {
        loop {
            // Every range of `next_date` and later dates starts after `horizon`.
            let horizon = self
                .next_date
                .map_or(i64::MAX, |d| midnight(d) - SECS_PER_DAY);
            if let Some(&(open, close)) = self.pending.front()
                && open <= horizon
            {
                self.pending.pop_front();
                let (open, close) = (open.max(self.from), close.min(self.until));
                if open >= self.until {
                    self.pending.clear();
                    self.next_date = None;
                    return None;
                }
                if open < close {
                    return Some((open, close));
                }
                continue;
            }
            let date = self.next_date?;
            if midnight(date) - SECS_PER_DAY >= self.until {
                self.next_date = None;
                continue;
            }
            self.next_date = date.succ_opt();
            self.generate(date);
        }
    }
}

/// The UTC offsets of a time zone over a stretch of real time, as contiguous segments
/// `[start, end)` of constant offset, extended forward on demand.
struct OffsetTimeline {
    tz: Tz,
    /// Segments that ended, oldest first, followed by the open segment.
    closed: VecDeque<(i64, i64, i32)>,
    /// The offset is `open_offset` on `[open_start, cursor]`; `cursor` is the last sample.
    open_start: i64,
    open_offset: i32,
    cursor: i64,
    started: bool,
}

impl OffsetTimeline {
    fn new(tz: Tz) -> Self {
        OffsetTimeline {
            tz,
            closed: VecDeque::new(),
            open_start: 0,
            open_offset: 0,
            cursor: 0,
            started: false,
        }
    }

    /// Makes the segments cover `[from, to)` (clamped to the representable range). Calls must
    /// not move `from` backwards.
    fn cover(&mut self, from: i64, to: i64) {
        let from = from.clamp(min_timestamp(), max_timestamp());
        let to = to.min(max_timestamp());
        if !self.started || from > self.cursor {
            self.started = true;
            self.closed.clear();
            self.open_start = from;
            self.open_offset = offset_at(self.tz, from);
            self.cursor = from;
        }
        while self.closed.front().is_some_and(|&(_, end, _)| end <= from) {
            self.closed.pop_front();
        }
        while self.cursor < to {
            let sample = self.cursor.saturating_add(OFFSET_SAMPLE_STEP).min(to);
            if offset_at(self.tz, sample) == self.open_offset {
                self.cursor = sample;
                continue;
            }
            // Binary search for the first second in (cursor, sample] with another offset.
            let (mut lo, mut hi) = (self.cursor, sample);
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if offset_at(self.tz, mid) == self.open_offset {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            self.closed
                .push_back((self.open_start, hi, self.open_offset));
            self.open_start = hi;
            self.open_offset = offset_at(self.tz, hi);
            self.cursor = hi;
        }
    }

    /// The segments as `(start, end, offset)`; the open one ends at the last sample.
    fn segments(&self) -> impl Iterator<Item = (i64, i64, i32)> + '_ {
        self.closed.iter().copied().chain(std::iter::once((
            self.open_start,
            self.cursor,
            self.open_offset,
        )))
    }
}

/// The UTC offset in seconds of `tz` at Unix time `t` (clamped to the representable range).
fn offset_at(tz: Tz, t: i64) -> i32 {
    let t = t.clamp(min_timestamp(), max_timestamp());
    DateTime::from_timestamp(t, 0).map_or(0, |dt| {
        tz.offset_from_utc_datetime(&dt.naive_utc())
            .fix()
            .local_minus_utc()
    })
}

fn min_timestamp() -> i64 {
    DateTime::<Utc>::MIN_UTC.timestamp()
}

fn max_timestamp() -> i64 {
    DateTime::<Utc>::MAX_UTC.timestamp()
}

/// The date of a wall-clock time given as seconds since 1970-01-01 00:00.
fn date_of(wall: i64) -> Option<NaiveDate> {
    DateTime::from_timestamp(wall, 0).map(|dt| dt.date_naive())
}

/// Seconds since 1970-01-01 00:00 of the wall-clock start of `date`.
fn midnight(date: NaiveDate) -> i64 {
    date.and_time(NaiveTime::MIN).and_utc().timestamp()
}

/// Parses one `["HH:MM", "HH:MM"]` interval into seconds since midnight.
fn parse_interval(start: &str, end: &str) -> Result<(u32, u32), ProblemText> {
    let open = parse_hhmm(start).and_then(|open| {
        if open == SECS_PER_DAY as u32 {
            Err(TimeProblem::OnlyEnd)
        } else {
            Ok(open)
        }
    });
    let key = match (open, parse_hhmm(end)) {
        (Ok(open), Ok(close)) if open >= close => tkey("config.error.interval_order"),
        (Ok(open), Ok(close)) => return Ok((open, close)),
        (Err(TimeProblem::Invalid), Ok(_)) => tkey("config.error.start_time"),
        (Err(TimeProblem::OnlyEnd), Ok(_)) => tkey("config.error.start_only_end"),
        (Ok(_), Err(_)) => tkey("config.error.end_time"),
        (Err(TimeProblem::Invalid), Err(_)) => tkey("config.error.both_times"),
        (Err(TimeProblem::OnlyEnd), Err(_)) => tkey("config.error.both_only_end"),
    };
    Err(ProblemText::new(key, &[("start", start), ("end", end)]))
}

/// What is wrong with one time of an interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TimeProblem {
    /// Not `HH:MM` between 00:00 and 24:00.
    Invalid,
    /// 24:00 as a start.
    OnlyEnd,
}

/// Parses `HH:MM` (00:00 to 24:00) into seconds since midnight.
fn parse_hhmm(text: &str) -> Result<u32, TimeProblem> {
    let bytes = text.as_bytes();
    let digit = |i: usize| {
        bytes
            .get(i)
            .filter(|b| b.is_ascii_digit())
            .map(|b| u32::from(b - b'0'))
    };
    let parsed = match (
        bytes.len(),
        digit(0),
        digit(1),
        bytes.get(2),
        digit(3),
        digit(4),
    ) {
        (5, Some(h1), Some(h2), Some(b':'), Some(m1), Some(m2)) => {
            Some((h1 * 10 + h2, m1 * 10 + m2))
        }
        _ => None,
    };
    match parsed {
        Some((hour, minute)) if (hour < 24 && minute < 60) || (hour == 24 && minute == 0) => {
            Ok((hour * 60 + minute) * 60)
        }
        _ => Err(TimeProblem::Invalid),
    }
}

/// Formats seconds since midnight (whole minutes) as `HH:MM`; 86 400 is `24:00`.
fn format_hhmm(secs: u32) -> String {
    format!("{:02}:{:02}", secs / 3_600, secs / 60 % 60)
}

/// Parses a strict `YYYY-MM-DD` date.
fn parse_date(text: &str) -> Option<NaiveDate> {
    let bytes = text.as_bytes();
    let shape_ok = bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            _ => b.is_ascii_digit(),
        });
    if !shape_ok {
        return None;
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Timelike;
    use proptest::prelude::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("valid RFC 3339 instant")
            .with_timezone(&Utc)
    }

    fn hours_of(hours: &[(&str, &[(&str, &str)])]) -> BTreeMap<String, Vec<[String; 2]>> {
        hours
            .iter()
            .map(|(day, intervals)| {
                let raw = intervals
                    .iter()
                    .map(|(a, b)| [a.to_string(), b.to_string()])
                    .collect();
                (day.to_string(), raw)
            })
            .collect()
    }

    fn try_parse(
        timezone: &str,
        hours: &[(&str, &[(&str, &str)])],
        holidays: &[&str],
    ) -> Result<BusinessCalendar, Vec<CalendarProblem>> {
        let hours = hours_of(hours);
        let holidays: Vec<String> = holidays.iter().map(|h| h.to_string()).collect();
        BusinessCalendar::parse(&CalendarInput {
            timezone,
            hours: &hours,
            holidays: &holidays,
        })
    }

    fn business(timezone: &str, hours: &[(&str, &[(&str, &str)])], holidays: &[&str]) -> Calendar {
        Calendar::Business(try_parse(timezone, hours, holidays).expect("valid calendar"))
    }

    fn problems(
        timezone: &str,
        hours: &[(&str, &[(&str, &str)])],
        holidays: &[&str],
    ) -> Vec<CalendarProblem> {
        try_parse(timezone, hours, holidays).expect_err("invalid calendar")
    }

    const WEEKDAYS: [&str; 5] = ["mon", "tue", "wed", "thu", "fri"];

    fn weekdays<'a>(
        intervals: &'a [(&'a str, &'a str)],
    ) -> Vec<(&'a str, &'a [(&'a str, &'a str)])> {
        WEEKDAYS.iter().map(|day| (*day, intervals)).collect()
    }

    /// Asia/Shanghai (UTC+8, no DST), 09:00-12:00 and 13:00-21:00 on weekdays, Wednesday
    /// 2026-03-04 off. 2026-03-02 is a Monday.
    fn shanghai() -> Calendar {
        business(
            "Asia/Shanghai",
            &weekdays(&[("13:00", "21:00"), ("09:00", "12:00")]),
            &["2026-03-04"],
        )
    }

    #[test]
    fn shanghai_examples() {
        let cal = shanghai();
        let add = |start: &str, minutes| cal.add_business_minutes(utc(start), minutes);
        // Monday 10:00 local.
        assert_eq!(add("2026-03-02T02:00:00Z", 60), utc("2026-03-02T03:00:00Z"));
        // Using up the morning exactly ends at 12:00, not at 13:00.
        assert_eq!(
            add("2026-03-02T02:00:00Z", 120),
            utc("2026-03-02T04:00:00Z")
        );
        assert_eq!(
            add("2026-03-02T02:00:00Z", 121),
            utc("2026-03-02T05:01:00Z")
        );
        // Inside the lunch gap (12:30): counting starts at 13:00.
        assert_eq!(add("2026-03-02T04:30:00Z", 30), utc("2026-03-02T05:30:00Z"));
        assert_eq!(add("2026-03-02T04:30:00Z", 0), utc("2026-03-02T05:00:00Z"));
        // 12:00 itself is closed, 13:00 itself is open.
        assert_eq!(add("2026-03-02T04:00:00Z", 0), utc("2026-03-02T05:00:00Z"));
        assert_eq!(add("2026-03-02T05:00:00Z", 0), utc("2026-03-02T05:00:00Z"));
        // Inside business hours, zero minutes is the start itself; negative counts as zero.
        assert_eq!(add("2026-03-02T02:10:00Z", 0), utc("2026-03-02T02:10:00Z"));
        assert_eq!(add("2026-03-02T02:10:00Z", -5), utc("2026-03-02T02:10:00Z"));
        // Saturday 10:00 local: Monday 09:00 + 60 minutes.
        assert_eq!(add("2026-03-07T02:00:00Z", 60), utc("2026-03-09T02:00:00Z"));
        // Before dawn on Monday local (Sunday in UTC).
        assert_eq!(add("2026-03-01T20:00:00Z", 1), utc("2026-03-02T01:01:00Z"));
        // Tuesday 20:00: one hour on Tuesday, Wednesday is a holiday, one hour on Thursday.
        assert_eq!(
            add("2026-03-03T12:00:00Z", 120),
            utc("2026-03-05T02:00:00Z")
        );
        // Closing time on Tuesday: the next opening is Thursday 09:00.
        assert_eq!(add("2026-03-03T13:00:00Z", 0), utc("2026-03-05T01:00:00Z"));
        // A full day is 660 minutes; Friday 20:00 + 61 minutes is Monday 09:01.
        assert_eq!(add("2026-03-06T12:00:00Z", 61), utc("2026-03-09T01:01:00Z"));

        let between = |a: &str, b: &str| cal.business_minutes_between(utc(a), utc(b));
        // Monday to Saturday minus the Wednesday holiday.
        assert_eq!(
            between("2026-03-01T16:00:00Z", "2026-03-07T16:00:00Z"),
            4 * 660
        );
        assert_eq!(between("2026-03-02T02:00:00Z", "2026-03-02T05:30:00Z"), 150);
        assert_eq!(between("2026-03-02T04:10:00Z", "2026-03-02T04:50:00Z"), 0);
        assert_eq!(between("2026-03-02T05:30:00Z", "2026-03-02T02:00:00Z"), 0);
        assert_eq!(between("2026-03-02T02:00:00Z", "2026-03-02T02:00:00Z"), 0);
        assert_eq!(between("2026-03-04T00:00:00Z", "2026-03-04T23:00:00Z"), 0);
    }

    #[test]
    fn contract_example_new_york() {
        let hours = BTreeMap::from([
            (
                "mon".to_string(),
                vec![["09:00".to_string(), "17:00".to_string()]],
            ),
            (
                "tue".to_string(),
                vec![
                    ["09:00".to_string(), "12:00".to_string()],
                    ["13:00".to_string(), "17:00".to_string()],
                ],
            ),
        ]);
        let holidays = vec!["2026-12-25".to_string()];
        let cal = Calendar::Business(
            BusinessCalendar::parse(&CalendarInput {
                timezone: "America/New_York",
                hours: &hours,
                holidays: &holidays,
            })
            .unwrap(),
        );
        // Tue 10:30 EST: 90 + 240 minutes on Tuesday, closed Wednesday to Sunday, the
        // remaining 150 minutes from Monday 09:00 EST end at 11:30 EST.
        let start = utc("2026-11-24T15:30:00Z");
        let deadline = cal.add_business_minutes(start, 480);
        assert_eq!(deadline, utc("2026-11-30T16:30:00Z"));
        assert_eq!(cal.business_minutes_between(start, deadline), 480);
        assert_eq!(
            cal.business_minutes_between(start, utc("2026-11-30T00:00:00Z")),
            330
        );
    }

    #[test]
    fn new_york_spring_forward() {
        // Sunday 2026-03-08: 02:00 EST (07:00Z) becomes 03:00 EDT.
        let cal = business("America/New_York", &[("sun", &[("00:00", "04:00")])], &[]);
        // 00:00-02:00 EST is 05:00Z-07:00Z, 03:00-04:00 EDT is 07:00Z-08:00Z.
        let day = |a: &str, b: &str| cal.business_minutes_between(utc(a), utc(b));
        assert_eq!(day("2026-03-07T12:00:00Z", "2026-03-09T12:00:00Z"), 180);
        let add = |minutes| cal.add_business_minutes(utc("2026-03-08T05:00:00Z"), minutes);
        assert_eq!(add(119), utc("2026-03-08T06:59:00Z"));
        assert_eq!(add(120), utc("2026-03-08T07:00:00Z"));
        assert_eq!(add(150), utc("2026-03-08T07:30:00Z"));
        assert_eq!(add(180), utc("2026-03-08T08:00:00Z"));
        // Next Sunday opens at 00:00 EDT = 04:00Z.
        assert_eq!(add(181), utc("2026-03-15T04:01:00Z"));
        // Hours inside the gap never occur.
        let gap = business("America/New_York", &[("sun", &[("02:00", "03:00")])], &[]);
        assert_eq!(
            gap.business_minutes_between(utc("2026-03-08T00:00:00Z"), utc("2026-03-09T00:00:00Z")),
            0
        );
        assert_eq!(
            gap.add_business_minutes(utc("2026-03-08T00:00:00Z"), 0),
            utc("2026-03-15T06:00:00Z")
        );
    }

    #[test]
    fn new_york_fall_back() {
        // Sunday 2026-11-01: 02:00 EDT (06:00Z) becomes 01:00 EST.
        let cal = business("America/New_York", &[("sun", &[("00:00", "04:00")])], &[]);
        // 00:00 EDT (04:00Z) to 04:00 EST (09:00Z) is five real hours.
        assert_eq!(
            cal.business_minutes_between(utc("2026-10-31T12:00:00Z"), utc("2026-11-02T12:00:00Z")),
            300
        );
        assert_eq!(
            cal.add_business_minutes(utc("2026-11-01T04:00:00Z"), 300),
            utc("2026-11-01T09:00:00Z")
        );

        // 01:00-01:45 occurs twice: 05:00Z-05:45Z (EDT) and 06:00Z-06:45Z (EST).
        let twice = business("America/New_York", &[("sun", &[("01:00", "01:45")])], &[]);
        let add = |start: &str, minutes| twice.add_business_minutes(utc(start), minutes);
        assert_eq!(add("2026-11-01T05:00:00Z", 45), utc("2026-11-01T05:45:00Z"));
        assert_eq!(add("2026-11-01T05:00:00Z", 46), utc("2026-11-01T06:01:00Z"));
        assert_eq!(add("2026-11-01T05:50:00Z", 0), utc("2026-11-01T06:00:00Z"));
        assert_eq!(add("2026-11-01T05:30:00Z", 60), utc("2026-11-01T06:45:00Z"));
        assert_eq!(add("2026-11-01T05:30:00Z", 61), utc("2026-11-08T06:01:00Z"));
        assert_eq!(
            twice
                .business_minutes_between(utc("2026-11-01T00:00:00Z"), utc("2026-11-01T12:00:00Z")),
            90
        );
        assert!(!twice.is_business_time(utc("2026-11-01T05:50:00Z")));
        assert!(twice.is_business_time(utc("2026-11-01T06:44:59Z")));
    }

    #[test]
    fn london_transitions() {
        let wide = business("Europe/London", &[("sun", &[("00:00", "04:00")])], &[]);
        let narrow = business("Europe/London", &[("sun", &[("01:00", "01:45")])], &[]);
        let day = |cal: &Calendar, a: &str, b: &str| cal.business_minutes_between(utc(a), utc(b));
        // Sunday 2026-03-29: 01:00 GMT becomes 02:00 BST at 01:00Z.
        assert_eq!(
            day(&wide, "2026-03-28T12:00:00Z", "2026-03-30T00:00:00Z"),
            180
        );
        assert_eq!(
            wide.add_business_minutes(utc("2026-03-29T00:00:00Z"), 90),
            utc("2026-03-29T01:30:00Z")
        );
        // 01:00-01:45 does not exist that day.
        assert_eq!(
            day(&narrow, "2026-03-28T12:00:00Z", "2026-03-30T00:00:00Z"),
            0
        );
        assert_eq!(
            narrow.add_business_minutes(utc("2026-03-28T12:00:00Z"), 0),
            utc("2026-04-05T00:00:00Z")
        );
        // Sunday 2026-10-25: 02:00 BST becomes 01:00 GMT at 01:00Z; the day runs from
        // 23:00Z on Saturday.
        assert_eq!(
            day(&wide, "2026-10-24T12:00:00Z", "2026-10-26T00:00:00Z"),
            300
        );
        assert_eq!(
            wide.add_business_minutes(utc("2026-10-24T20:00:00Z"), 0),
            utc("2026-10-24T23:00:00Z")
        );
        assert_eq!(
            day(&narrow, "2026-10-24T12:00:00Z", "2026-10-26T00:00:00Z"),
            90
        );
        assert_eq!(
            narrow.add_business_minutes(utc("2026-10-25T00:30:00Z"), 30),
            utc("2026-10-25T01:15:00Z")
        );
    }

    #[test]
    fn clock_set_back_across_midnight() {
        // America/Moncton, Sunday 2006-10-29: at 00:01 ADT (03:01Z) clocks went back to
        // 23:01 AST on Saturday, so Saturday evening happens twice and local dates do not
        // increase with real time.
        let spec = Spec {
            tz: "America/Moncton".parse().unwrap(),
            week: [
                vec![],
                vec![],
                vec![],
                vec![],
                vec![],
                vec![(23 * 60 + 30, 1_440)],
                vec![(0, 60)],
            ],
            holidays: BTreeSet::new(),
        };
        let cal = Calendar::Business(spec.calendar());
        // Saturday 23:30-24:00 ADT (02:30Z-03:00Z), Sunday 00:00-00:01 ADT (03:00Z-03:01Z),
        // Saturday 23:30-24:00 AST (03:30Z-04:00Z), Sunday 00:00-01:00 AST (04:00Z-05:00Z).
        let start = utc("2006-10-29T02:00:00Z");
        assert_eq!(
            cal.business_minutes_between(start, utc("2006-10-29T06:00:00Z")),
            121
        );
        assert_eq!(
            cal.business_minutes_between(start, utc("2006-10-29T03:30:00Z")),
            31
        );
        assert_eq!(
            cal.add_business_minutes(start, 30),
            utc("2006-10-29T03:00:00Z")
        );
        assert_eq!(
            cal.add_business_minutes(start, 31),
            utc("2006-10-29T03:01:00Z")
        );
        assert_eq!(
            cal.add_business_minutes(start, 32),
            utc("2006-10-29T03:31:00Z")
        );
        assert_eq!(
            cal.add_business_minutes(utc("2006-10-29T03:01:00Z"), 0),
            utc("2006-10-29T03:30:00Z")
        );
        for minutes in [0, 1, 29, 30, 31, 32, 60, 61, 62, 100, 121, 122] {
            assert_eq!(
                cal.add_business_minutes(start, minutes),
                spec.brute_add(start, minutes),
                "{minutes}"
            );
        }
    }

    #[test]
    fn end_of_day_intervals() {
        // 2026-03-02 is a Monday.
        let cal = business(
            "UTC",
            &[
                ("mon", &[("22:00", "24:00")]),
                ("tue", &[("00:00", "02:00")]),
            ],
            &[],
        );
        let add = |minutes| cal.add_business_minutes(utc("2026-03-02T23:00:00Z"), minutes);
        assert_eq!(add(60), utc("2026-03-03T00:00:00Z"));
        assert_eq!(add(120), utc("2026-03-03T01:00:00Z"));
        assert_eq!(add(180), utc("2026-03-03T02:00:00Z"));
        assert_eq!(add(181), utc("2026-03-09T22:01:00Z"));
        assert_eq!(
            cal.business_minutes_between(utc("2026-03-02T00:00:00Z"), utc("2026-03-04T00:00:00Z")),
            240
        );
        // "24:00" in a zone with DST: Saturday night before the New York spring-forward.
        let ny = business("America/New_York", &[("sat", &[("20:00", "24:00")])], &[]);
        assert_eq!(
            ny.add_business_minutes(utc("2026-03-08T01:00:00Z"), 240),
            utc("2026-03-08T05:00:00Z")
        );
    }

    #[test]
    fn always_open_and_twenty_four_seven() {
        let start = utc("2026-03-28T10:15:30Z");
        let open = Calendar::AlwaysOpen;
        assert_eq!(
            open.add_business_minutes(start, 90),
            utc("2026-03-28T11:45:30Z")
        );
        assert_eq!(open.add_business_minutes(start, -3), start);
        assert_eq!(
            open.business_minutes_between(start, utc("2026-03-28T11:45:29Z")),
            89
        );
        assert_eq!(open.business_minutes_between(start, start), 0);
        assert_eq!(
            open.business_minutes_between(start, utc("2026-03-27T00:00:00Z")),
            0
        );
        assert_eq!(
            open.add_business_minutes(DateTime::<Utc>::MAX_UTC, i64::MAX),
            DateTime::<Utc>::MAX_UTC
        );

        // Every day 00:00-24:00 in London, across the spring-forward: every real minute counts.
        let all_day: Vec<(&str, &[(&str, &str)])> = DAY_KEYS
            .iter()
            .map(|day| (*day, &[("00:00", "24:00")][..]))
            .collect();
        let cal = business("Europe/London", &all_day, &[]);
        for minutes in [0, 1, 59, 1_440, 2_000, 10_000] {
            assert_eq!(
                cal.add_business_minutes(start, minutes),
                open.add_business_minutes(start, minutes)
            );
        }
        assert_eq!(
            cal.business_minutes_between(utc("2026-03-28T00:00:00Z"), utc("2026-03-30T00:00:00Z")),
            2_880
        );
    }

    #[test]
    fn sub_second_starts() {
        let cal = shanghai();
        let add = |start: &str, minutes| cal.add_business_minutes(utc(start), minutes);
        // 10:00:30.5 local, inside the morning interval.
        assert_eq!(
            add("2026-03-02T02:00:30.5Z", 1),
            utc("2026-03-02T02:01:30.5Z")
        );
        // 11:59:30.25: 29.75 s before lunch, the remaining 30.25 s after 13:00.
        assert_eq!(
            add("2026-03-02T03:59:30.25Z", 1),
            utc("2026-03-02T05:00:30.25Z")
        );
        assert_eq!(
            add("2026-03-02T03:59:30.25Z", 0),
            utc("2026-03-02T03:59:30.25Z")
        );
        assert_eq!(
            add("2026-03-02T03:59:59.999Z", 0),
            utc("2026-03-02T03:59:59.999Z")
        );
        // 12:30:15.7 is outside: count from 13:00.
        assert_eq!(
            add("2026-03-02T04:30:15.7Z", 1),
            utc("2026-03-02T05:01:00Z")
        );
        assert_eq!(
            add("2026-03-02T04:30:15.7Z", 0),
            utc("2026-03-02T05:00:00Z")
        );
        // Friday 20:59:59.5: half a second on Friday, the rest on Monday.
        assert_eq!(
            add("2026-03-06T12:59:59.5Z", 2),
            utc("2026-03-09T01:01:59.5Z")
        );

        let between = |a: &str, b: &str| cal.business_minutes_between(utc(a), utc(b));
        assert_eq!(
            between("2026-03-02T03:59:30.25Z", "2026-03-02T05:00:30.25Z"),
            1
        );
        assert_eq!(
            between("2026-03-02T03:59:30.25Z", "2026-03-02T05:00:30.24Z"),
            0
        );
        assert_eq!(
            between("2026-03-02T02:00:00.5Z", "2026-03-02T02:01:00.5Z"),
            1
        );
        assert_eq!(
            between("2026-03-02T02:00:00.5Z", "2026-03-02T02:01:00.4Z"),
            0
        );
        assert_eq!(
            between("2026-03-02T02:00:00.4Z", "2026-03-02T02:00:00.6Z"),
            0
        );
        assert!(cal.is_business_time(utc("2026-03-02T03:59:59.999Z")));
        assert!(!cal.is_business_time(utc("2026-03-02T04:00:00Z")));
    }

    #[test]
    fn search_is_capped() {
        // Only Mondays have hours, and every Monday for more than 3,700 days is a holiday.
        let mondays: Vec<String> = (0..600)
            .map(|week| {
                (NaiveDate::from_ymd_opt(2026, 3, 2).unwrap() + TimeDelta::weeks(week))
                    .format("%Y-%m-%d")
                    .to_string()
            })
            .collect();
        let mondays: Vec<&str> = mondays.iter().map(String::as_str).collect();
        let cal = business("Europe/Berlin", &[("mon", &[("09:00", "17:00")])], &mondays);
        let start = utc("2026-03-01T12:00:00.25Z");
        let cap = start + TimeDelta::days(MAX_SEARCH_DAYS);
        assert_eq!(cal.add_business_minutes(start, 0), cap);
        assert_eq!(cal.add_business_minutes(start, 10), cap);
        assert_eq!(cal.business_minutes_between(start, cap), 0);

        // Deadlines further away than the cap, and absurd minute counts.
        let cal = shanghai();
        let start = utc("2026-03-02T02:00:00Z");
        let cap = start + TimeDelta::days(MAX_SEARCH_DAYS);
        assert_eq!(cal.add_business_minutes(start, 100_000_000), cap);
        assert_eq!(cal.add_business_minutes(start, i64::MAX), cap);
    }

    #[test]
    fn extreme_instants_do_not_panic() {
        let all_day: Vec<(&str, &[(&str, &str)])> = DAY_KEYS
            .iter()
            .map(|day| (*day, &[("00:00", "24:00")][..]))
            .collect();
        for cal in [shanghai(), business("UTC", &all_day, &[])] {
            for start in [
                DateTime::<Utc>::MIN_UTC,
                DateTime::<Utc>::MAX_UTC - TimeDelta::days(10),
                DateTime::<Utc>::MAX_UTC,
            ] {
                let deadline = cal.add_business_minutes(start, 1_000);
                assert!(deadline >= start);
                let _ = cal.add_business_minutes(start, i64::MAX);
                let _ = cal.business_minutes_between(start, deadline);
                let _ = cal.is_business_time(start);
            }
        }
        let cal = business("UTC", &all_day, &[]);
        let start = DateTime::<Utc>::MIN_UTC;
        assert_eq!(
            cal.add_business_minutes(start, 100),
            start + TimeDelta::minutes(100)
        );
        assert_eq!(
            cal.business_minutes_between(start, start + TimeDelta::days(1)),
            1_440
        );
    }

    #[test]
    fn ten_thousand_minutes_on_a_nine_to_five_calendar() {
        let cal = business("America/New_York", &weekdays(&[("09:00", "17:00")]), &[]);
        // Monday 2026-03-02 09:00 EST; 10,000 minutes = 20 days of 480 + 400 minutes, so the
        // deadline is on the 21st business day (Monday 2026-03-30) at 15:40 EDT.
        let start = utc("2026-03-02T14:00:00Z");
        assert_eq!(
            cal.add_business_minutes(start, 10_000),
            utc("2026-03-30T19:40:00Z")
        );
    }

    #[test]
    fn business_seconds_between() {
        let cal = shanghai();
        // Tuesday 11:59:30 to 13:00:45 Shanghai: 30 s before lunch, 45 s after.
        let start = utc("2026-11-24T03:59:30Z");
        let end = utc("2026-11-24T05:00:45Z");
        assert_eq!(cal.business_seconds_between(start, end), 75);
        assert_eq!(cal.business_minutes_between(start, end), 1);
        assert_eq!(cal.business_seconds_between(end, start), 0);
        let always = Calendar::AlwaysOpen;
        assert_eq!(always.business_seconds_between(start, end), 3675);
    }

    // ----- validation -----

    fn fields(problems: &[CalendarProblem]) -> Vec<&str> {
        problems.iter().map(|p| p.field.as_str()).collect()
    }

    #[test]
    fn unknown_time_zone() {
        let found = problems("Mars/Base", &weekdays(&[("09:00", "17:00")]), &[]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].field, "timezone");
        assert_eq!(found[0].message, "'Mars/Base' is not an IANA time zone");
        assert_eq!(found[0].text.key, "config.error.timezone");
        assert_eq!(
            found[0].to_string(),
            "timezone: 'Mars/Base' is not an IANA time zone"
        );
        // Names are case-sensitive.
        assert_eq!(
            fields(&problems(
                "europe/london",
                &weekdays(&[("09:00", "17:00")]),
                &[]
            )),
            ["timezone"]
        );
    }

    #[test]
    fn unknown_day() {
        let found = problems(
            "UTC",
            &[
                ("mon", &[("09:00", "17:00")]),
                ("Tue", &[("09:00", "17:00")]),
            ],
            &[],
        );
        assert_eq!(fields(&found), ["hours.Tue"]);
        assert!(found[0].message.contains("'Tue'"), "{found:?}");
    }

    #[test]
    fn bad_times() {
        let cases: [(&str, &str, &str); 9] = [
            ("9:00", "17:00", "'9:00'"),
            ("09:00", "17:0", "'17:0'"),
            ("09:60", "17:00", "'09:60'"),
            ("09:00", "24:30", "'24:30'"),
            ("09:00", "25:00", "'25:00'"),
            ("24:00", "24:00", "'24:00' is only allowed as an end time"),
            ("09:00 ", "17:00", "'09:00 '"),
            ("17:00", "09:00", "start '17:00' must be before end '09:00'"),
            ("09:00", "09:00", "start '09:00' must be before end '09:00'"),
        ];
        for (start, end, expected) in cases {
            let found = problems("UTC", &[("mon", &[("08:00", "08:30"), (start, end)])], &[]);
            assert_eq!(fields(&found), ["hours.mon[1]"], "{start}-{end}");
            assert!(found[0].message.contains(expected), "{found:?}");
        }
        let found = problems("UTC", &[("mon", &[("x", "y")])], &[]);
        assert_eq!(
            found[0].message,
            "start 'x' is not a valid time (expected HH:MM between 00:00 and 24:00); \
             end 'y' is not a valid time (expected HH:MM between 00:00 and 24:00)"
        );
    }

    #[test]
    fn overlapping_intervals() {
        let found = problems(
            "UTC",
            &[(
                "wed",
                &[("09:00", "12:00"), ("13:00", "17:00"), ("11:00", "13:30")],
            )],
            &[],
        );
        assert_eq!(fields(&found), ["hours.wed[2]"]);
        assert_eq!(
            found[0].message,
            "'11:00'-'13:30' overlaps '09:00'-'12:00' (hours.wed[0])"
        );
        // Touching intervals are fine, in any order; they are stored sorted.
        let cal = try_parse(
            "UTC",
            &[(
                "wed",
                &[("12:00", "13:00"), ("09:00", "12:00"), ("13:00", "24:00")],
            )],
            &[],
        )
        .unwrap();
        assert_eq!(
            cal.hours_map(),
            hours_of(&[(
                "wed",
                &[("09:00", "12:00"), ("12:00", "13:00"), ("13:00", "24:00")]
            )])
        );
        // An identical duplicate overlaps too.
        let found = problems(
            "UTC",
            &[("fri", &[("09:00", "10:00"), ("09:00", "10:00")])],
            &[],
        );
        assert_eq!(fields(&found), ["hours.fri[1]"]);
    }

    #[test]
    fn bad_holidays() {
        let found = problems(
            "UTC",
            &weekdays(&[("09:00", "17:00")]),
            &[
                "2026-12-25",
                "2026-02-30",
                "2026-1-05",
                "26-01-05",
                "2026/01/05",
                "",
                "x",
            ],
        );
        assert_eq!(
            fields(&found),
            [
                "holidays[1]",
                "holidays[2]",
                "holidays[3]",
                "holidays[4]",
                "holidays[5]",
                "holidays[6]"
            ]
        );
        assert_eq!(
            found[0].message,
            "'2026-02-30' is not a valid date (expected YYYY-MM-DD)"
        );
    }

    #[test]
    fn no_business_hours() {
        let found = problems("UTC", &[], &[]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].field, "hours");
        assert_eq!(found[0].message, "the calendar has no business hours");
        assert_eq!(
            fields(&problems("UTC", &[("sat", &[]), ("sun", &[])], &[])),
            ["hours"]
        );
    }

    #[test]
    fn all_problems_are_reported() {
        let found = problems(
            "Mars/Base",
            &[
                (
                    "mon",
                    &[("09:00", "17:00"), ("16:00", "18:00"), ("7:00", "8:00")],
                ),
                ("holiday", &[("09:00", "17:00")]),
                ("tue", &[("10:00", "09:00")]),
            ],
            &["2026-12-25", "Christmas"],
        );
        assert_eq!(
            fields(&found),
            [
                "timezone",
                "hours.holiday",
                "hours.mon[1]",
                "hours.mon[2]",
                "hours.tue[0]",
                "holidays[1]"
            ]
        );
        // Only unknown days: both the unknown day and the missing hours are reported.
        assert_eq!(
            fields(&problems("UTC", &[("monday", &[("09:00", "17:00")])], &[])),
            ["hours.monday", "hours"]
        );
    }

    #[test]
    fn export_round_trip() {
        let cal = try_parse(
            "America/Sao_Paulo",
            &[
                ("mon", &[("13:00", "18:30"), ("08:00", "12:00")]),
                ("sat", &[("22:15", "24:00")]),
                ("sun", &[]),
            ],
            &["2026-12-25", "2026-01-01", "2026-01-01"],
        )
        .unwrap();
        assert_eq!(cal.timezone_name(), "America/Sao_Paulo");
        assert_eq!(
            cal.hours_map(),
            hours_of(&[
                ("mon", &[("08:00", "12:00"), ("13:00", "18:30")]),
                ("sat", &[("22:15", "24:00")]),
            ])
        );
        assert_eq!(cal.holiday_strings(), ["2026-01-01", "2026-12-25"]);
        assert_eq!(reparse(&cal), cal);
    }

    fn reparse(cal: &BusinessCalendar) -> BusinessCalendar {
        let hours = cal.hours_map();
        let holidays = cal.holiday_strings();
        BusinessCalendar::parse(&CalendarInput {
            timezone: cal.timezone_name(),
            hours: &hours,
            holidays: &holidays,
        })
        .expect("exported calendar parses")
    }

    // ----- property tests against a brute-force walk over real minutes -----

    const ZONES: [&str; 8] = [
        "Asia/Shanghai",
        "America/New_York",
        "Europe/London",
        "Australia/Sydney",
        "America/Sao_Paulo",
        "Asia/Kolkata",
        "Pacific/Chatham",
        "UTC",
    ];

    /// A calendar as generated, independent of the parsed representation.
    #[derive(Debug, Clone)]
    struct Spec {
        tz: Tz,
        /// Minutes since local midnight, Monday first.
        week: [Vec<(u32, u32)>; 7],
        holidays: BTreeSet<NaiveDate>,
    }

    impl Spec {
        fn calendar(&self) -> BusinessCalendar {
            let hours: BTreeMap<String, Vec<[String; 2]>> = DAY_KEYS
                .iter()
                .zip(&self.week)
                .map(|(day, intervals)| {
                    let raw = intervals
                        .iter()
                        .map(|&(a, b)| [format_hhmm(a * 60), format_hhmm(b * 60)])
                        .collect();
                    (day.to_string(), raw)
                })
                .collect();
            let holidays: Vec<String> = self.holidays.iter().map(|d| d.to_string()).collect();
            BusinessCalendar::parse(&CalendarInput {
                timezone: self.tz.name(),
                hours: &hours,
                holidays: &holidays,
            })
            .expect("generated calendar is valid")
        }

        fn weekly_minutes(&self) -> i64 {
            self.week
                .iter()
                .flatten()
                .map(|&(a, b)| i64::from(b - a))
                .sum()
        }

        /// The definition, applied literally to the real minute starting at `minute`.
        fn minute_is_business(&self, minute: i64) -> bool {
            let t = DateTime::from_timestamp(minute, 0).unwrap();
            let local = self.tz.from_utc_datetime(&t.naive_utc()).naive_local();
            assert_eq!(local.second(), 0, "offsets are whole minutes");
            let date = local.date();
            let minute_of_day = local.hour() * 60 + local.minute();
            !self.holidays.contains(&date)
                && self.week[date.weekday().num_days_from_monday() as usize]
                    .iter()
                    .any(|&(a, b)| a <= minute_of_day && minute_of_day < b)
        }

        /// Walks real minutes from `start`; the first one may be partial.
        fn brute_add(&self, start: DateTime<Utc>, minutes: i64) -> DateTime<Utc> {
            let start_ns = nanos_of(start);
            let mut remaining = i128::from(minutes) * 60_000_000_000;
            let mut minute = start.timestamp().div_euclid(60) * 60;
            for _ in 0..400 * 1_440 {
                if self.minute_is_business(minute) {
                    let from = (i128::from(minute) * 1_000_000_000).max(start_ns);
                    let available = i128::from(minute + 60) * 1_000_000_000 - from;
                    if available > 0 {
                        if remaining == 0 {
                            return from_nanos(from);
                        }
                        if remaining <= available {
                            return from_nanos(from + remaining);
                        }
                        remaining -= available;
                    }
                }
                minute += 60;
            }
            panic!("brute force walked too far");
        }

        fn brute_between(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> i64 {
            let (start_ns, end_ns) = (nanos_of(start), nanos_of(end));
            let mut total = 0;
            let mut minute = start.timestamp().div_euclid(60) * 60;
            while i128::from(minute) * 1_000_000_000 < end_ns {
                if self.minute_is_business(minute) {
                    let lo = (i128::from(minute) * 1_000_000_000).max(start_ns);
                    let hi = (i128::from(minute + 60) * 1_000_000_000).min(end_ns);
                    total += (hi - lo).max(0);
                }
                minute += 60;
            }
            i64::try_from(total / 60_000_000_000).unwrap()
        }
    }

    fn nanos_of(t: DateTime<Utc>) -> i128 {
        i128::from(t.timestamp()) * 1_000_000_000 + i128::from(t.timestamp_subsec_nanos())
    }

    fn from_nanos(ns: i128) -> DateTime<Utc> {
        let secs = i64::try_from(ns.div_euclid(1_000_000_000)).unwrap();
        let nanos = u32::try_from(ns.rem_euclid(1_000_000_000)).unwrap();
        DateTime::from_timestamp(secs, nanos).unwrap()
    }

    /// The first offset change of `tz` after `t` within a year (hourly scan + bisection).
    fn next_transition(tz: Tz, t: i64) -> Option<i64> {
        let offset = |t: i64| {
            tz.offset_from_utc_datetime(&DateTime::from_timestamp(t, 0).unwrap().naive_utc())
                .fix()
        };
        let base = offset(t);
        let mut hi = (1..=366 * 24)
            .map(|h| t + h * 3_600)
            .find(|&u| offset(u) != base)?;
        let mut lo = hi - 3_600;
        while hi - lo > 1 {
            let mid = (lo + hi) / 2;
            if offset(mid) == base {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        Some(hi)
    }

    fn day_strategy() -> impl Strategy<Value = Vec<(u32, u32)>> {
        (0usize..=3)
            .prop_flat_map(|count| {
                (
                    prop::collection::btree_set(0u32..=1_440, 2 * count),
                    prop::bool::weighted(0.25),
                )
            })
            .prop_map(|(cuts, to_midnight)| {
                let cuts: Vec<u32> = cuts.into_iter().collect();
                let mut intervals: Vec<(u32, u32)> =
                    cuts.chunks(2).map(|pair| (pair[0], pair[1])).collect();
                if to_midnight && let Some(last) = intervals.last_mut() {
                    last.1 = 1_440;
                }
                intervals
            })
    }

    const START_2024: i64 = 1_704_067_200; // 2024-01-01T00:00:00Z
    const END_2027: i64 = 1_830_297_600; // 2028-01-01T00:00:00Z

    /// A calendar and a start instant. `fractional` allows starts with seconds and nanoseconds.
    fn case_strategy(fractional: bool) -> impl Strategy<Value = (Spec, DateTime<Utc>)> {
        let sub_minute = if fractional {
            (0i64..60, 0u32..1_000_000_000).boxed()
        } else {
            Just((0i64, 0u32)).boxed()
        };
        (
            0..ZONES.len(),
            prop::array::uniform7(day_strategy()),
            prop::collection::vec(-2i64..30, 0..=5),
            START_2024 / 60..END_2027 / 60,
            prop::bool::weighted(0.5),
            -2_880i64..1_440,
            sub_minute,
        )
            .prop_map(
                move |(zone, mut week, holiday_days, minute, near_dst, shift, (secs, nanos))| {
                    let tz: Tz = ZONES[zone].parse().unwrap();
                    if week.iter().all(Vec::is_empty) {
                        week[0] = vec![(540, 1_020)];
                    }
                    let mut start = minute * 60;
                    if near_dst && let Some(change) = next_transition(tz, start) {
                        start = change + shift * 60;
                    }
                    let start = DateTime::from_timestamp(start + secs, nanos).unwrap();
                    let local_date = start.with_timezone(&tz).date_naive();
                    let holidays = holiday_days
                        .into_iter()
                        .map(|d| local_date + TimeDelta::days(d))
                        .collect();
                    (Spec { tz, week, holidays }, start)
                },
            )
    }

    fn check_against_brute_force(
        spec: &Spec,
        start: DateTime<Utc>,
        minutes: i64,
        span: TimeDelta,
    ) -> Result<(), TestCaseError> {
        let cal = Calendar::Business(spec.calendar());
        // Keep the walk short: at most about three weeks of business time.
        let minutes = minutes.min(3 * spec.weekly_minutes());
        let deadline = cal.add_business_minutes(start, minutes);
        prop_assert_eq!(deadline, spec.brute_add(start, minutes), "add {}", minutes);
        prop_assert_eq!(cal.business_minutes_between(start, deadline), minutes);
        let end = start + span;
        prop_assert_eq!(
            cal.business_minutes_between(start, end),
            spec.brute_between(start, end),
            "between until {}",
            end
        );
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn matches_brute_force_on_whole_minutes(
            (spec, start) in case_strategy(false),
            minutes in 0i64..3_000,
            span_minutes in 0i64..20_000,
        ) {
            check_against_brute_force(&spec, start, minutes, TimeDelta::minutes(span_minutes))?;
        }

        #[test]
        fn matches_brute_force_with_fractional_starts(
            (spec, start) in case_strategy(true),
            minutes in 0i64..3_000,
            span_secs in 0i64..1_200_000,
            span_nanos in 0i64..1_000_000_000,
        ) {
            let span = TimeDelta::seconds(span_secs) + TimeDelta::nanoseconds(span_nanos);
            check_against_brute_force(&spec, start, minutes, span)?;
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn add_and_between_agree((spec, start) in case_strategy(true), minutes in 0i64..5_000) {
            let cal = Calendar::Business(spec.calendar());
            let deadline = cal.add_business_minutes(start, minutes);
            prop_assert!(deadline >= start);
            prop_assert_eq!(cal.business_minutes_between(start, deadline), minutes);
            let later = cal.add_business_minutes(start, minutes + 1);
            prop_assert!(later >= deadline + TimeDelta::minutes(1));
            prop_assert_eq!(cal.business_minutes_between(deadline, later), 1);
        }

        #[test]
        fn export_round_trips((spec, _start) in case_strategy(false)) {
            let cal = spec.calendar();
            prop_assert_eq!(reparse(&cal), cal);
        }
    }
}
