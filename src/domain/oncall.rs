// On-call rotas as pure arithmetic: whose turn it is at an instant, when turns
// begin and end (keeping the handover's local wall-clock time across DST), and
// overrides, where one person covers a period in place of whoever is scheduled.
//
// How local times that the clocks skip or repeat are read:
//
// - Turn `k` begins at the handover's local date and time plus `k × rotation_hours`
//   counted on the wall clock of the rota's time zone, so a weekly 09:00 handover
//   stays at 09:00 in summer and in winter (the turn across a change is an hour
//   shorter or longer).
// - A start the clocks skip (spring forward: 02:30 in Berlin on the last Sunday of
//   March) begins at the first minute that exists after the gap (03:00). A turn whose
//   whole wall-clock time is skipped (an hourly rota's 02:00–03:00 turn) gets no time
//   and is passed over.
// - A start the clocks show twice (autumn: 02:30 in Berlin on the last Sunday of
//   October) begins at its first occurrence. The first turn begins at the handover
//   instant exactly, whichever occurrence it names.
// - Before the handover the rota has not begun: nobody is on call from it (an
//   override still counts there).

use std::collections::HashSet;
use std::ops::RangeInclusive;

use chrono::{DateTime, NaiveDateTime, TimeDelta, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

/// The turn lengths a rota may have, in hours (up to a leap year).
pub const ROTATION_HOURS: RangeInclusive<i64> = 1..=8_784;
/// How long the one paged has to acknowledge before the next rota is paged, in
/// minutes (up to a day).
pub const ACK_MINUTES: RangeInclusive<i64> = 1..=1_440;
/// `ack_minutes` of a rota that sets none.
pub const DEFAULT_ACK_MINUTES: i64 = 15;

/// An on-call rota of the desk's configuration (`[[oncall]]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Rota {
    pub name: String,
    /// The zone whose wall clock the turns keep.
    pub timezone: Tz,
    /// Users' e-mail addresses (lower case), taking turns in this order.
    pub members: Vec<String>,
    /// Each turn's length on the wall clock, in hours.
    pub rotation_hours: i64,
    /// When the first turn (of the first member) began.
    pub handover: DateTime<Utc>,
    /// Minutes the one paged has to acknowledge before `next` is paged.
    pub ack_minutes: i64,
    /// The rota paged when nobody of this one acknowledges in time.
    pub next: Option<String>,
}

/// An override: `person` covers the rota over `[from, to)` in place of whoever is
/// scheduled. When overrides overlap, the one added last (the larger `id`) counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cover {
    pub id: i64,
    /// The covering user's e-mail address.
    pub person: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// One turn of the schedule, overrides left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    /// 0 for the turn that began at the handover.
    pub index: i64,
    /// The member whose turn it is.
    pub person: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// Why someone is on call over a stretch of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Their turn (its index).
    Turn(i64),
    /// An override (its id).
    Cover(i64),
}

/// A stretch of time one person is on call, overrides applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shift {
    pub person: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub source: Source,
}

impl Shift {
    pub fn is_cover(&self) -> bool {
        matches!(self.source, Source::Cover(_))
    }
}

/// The instant a local date and time of `tz` names, read as the module's comment
/// says: its first occurrence when the clocks show it twice, the first minute after
/// the gap when they skip it.
pub fn resolve_local(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    if let Some(at) = tz.from_local_datetime(&local).earliest() {
        return at.with_timezone(&Utc);
    }
    let mut probe = local
        .with_second(0)
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(local);
    // Gaps last an hour or two (once a whole day, Samoa 2011): look two days on.
    for _ in 0..(2 * 24 * 60) {
        probe += TimeDelta::minutes(1);
        if let Some(at) = tz.from_local_datetime(&probe).earliest() {
            return at.with_timezone(&Utc);
        }
    }
    Utc.from_utc_datetime(&local)
}

impl Rota {
    fn local_handover(&self) -> NaiveDateTime {
        self.handover.with_timezone(&self.timezone).naive_local()
    }

    /// When turn `k` (≥ 0) begins.
    pub fn turn_start(&self, k: i64) -> DateTime<Utc> {
        if k <= 0 {
            return self.handover;
        }
        let local = self
            .local_handover()
            .checked_add_signed(TimeDelta::hours(k.saturating_mul(self.rotation_hours)))
            .unwrap_or(NaiveDateTime::MAX);
        resolve_local(self.timezone, local)
    }

    /// Turn `k` (≥ 0): whose it is, when it begins and ends.
    pub fn turn(&self, k: i64) -> Turn {
        let k = k.max(0);
        let person = if self.members.is_empty() {
            String::new()
        } else {
            self.members[(k % self.members.len() as i64) as usize].clone()
        };
        Turn {
            index: k,
            person,
            start: self.turn_start(k),
            end: self.turn_start(k + 1),
        }
    }

    /// The turn under way at `at`; none before the handover.
    pub fn turn_at(&self, at: DateTime<Utc>) -> Option<Turn> {
        if at < self.handover || self.rotation_hours <= 0 || self.members.is_empty() {
            return None;
        }
        // The wall clock and real time part by at most the zone's offsets apart, so
        // the estimate is a few turns off at most.
        let length = self.rotation_hours * 3_600;
        let mut k = (at - self.handover).num_seconds() / length;
        while k > 0 && self.turn_start(k) > at {
            k -= 1;
        }
        while self.turn_start(k + 1) <= at {
            k += 1;
        }
        Some(self.turn(k))
    }

    /// The turns that begin after turn `k`, `count` of them, in order (turns the
    /// clocks skip entirely left out).
    pub fn turns_after(&self, k: i64, count: usize) -> Vec<Turn> {
        let mut out = Vec::with_capacity(count);
        let mut i = k + 1;
        while out.len() < count {
            let t = self.turn(i);
            if t.end > t.start {
                out.push(t);
            }
            i += 1;
        }
        out
    }
}

/// The override that counts at `at`, if any: the last added of those covering it.
fn cover_at(covers: &[Cover], at: DateTime<Utc>) -> Option<&Cover> {
    covers
        .iter()
        .filter(|c| c.from <= at && at < c.to)
        .max_by_key(|c| c.id)
}

/// Who is on call at `at` and why: an override first, else the turn's member.
fn who(rota: &Rota, covers: &[Cover], at: DateTime<Utc>) -> Option<(String, Source)> {
    if let Some(c) = cover_at(covers, at) {
        return Some((c.person.clone(), Source::Cover(c.id)));
    }
    rota.turn_at(at).map(|t| (t.person, Source::Turn(t.index)))
}

/// Who is on call over `[from, to)`, overrides applied, as shifts in order. Times
/// when nobody is (before the handover, without an override) have no shift.
pub fn schedule(
    rota: &Rota,
    covers: &[Cover],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<Shift> {
    if from >= to {
        return Vec::new();
    }
    let mut cuts = vec![from, to];
    if from < rota.handover && rota.handover < to {
        cuts.push(rota.handover);
    }
    if rota.rotation_hours > 0 && !rota.members.is_empty() {
        let mut k = rota.turn_at(from).map_or(1, |t| t.index + 1);
        loop {
            let start = rota.turn_start(k);
            if start >= to {
                break;
            }
            if start > from {
                cuts.push(start);
            }
            k += 1;
        }
    }
    for c in covers {
        for at in [c.from, c.to] {
            if from < at && at < to {
                cuts.push(at);
            }
        }
    }
    cuts.sort_unstable();
    cuts.dedup();
    let mut out: Vec<Shift> = Vec::new();
    for w in cuts.windows(2) {
        let (start, end) = (w[0], w[1]);
        let Some((person, source)) = who(rota, covers, start) else {
            continue;
        };
        match out.last_mut() {
            Some(last) if last.end == start && last.source == source => last.end = end,
            _ => out.push(Shift {
                person,
                start,
                end,
                source,
            }),
        }
    }
    out
}

/// Who is on call at `at`, and until when (the end of their turn or override, or
/// earlier when an override begins); none before the handover without an override.
pub fn on_call(rota: &Rota, covers: &[Cover], at: DateTime<Utc>) -> Option<Shift> {
    let (_, source) = who(rota, covers, at)?;
    let bound = match source {
        Source::Turn(k) => rota.turn(k).end,
        Source::Cover(id) => covers.iter().find(|c| c.id == id).map_or(at, |c| c.to),
    };
    schedule(rota, covers, at, bound.max(at + TimeDelta::seconds(1)))
        .into_iter()
        .next()
}

/// The shift under way at `at` and the ones after it, through the end of the
/// `turns`-th turn after the current one, overrides applied and marked. Before the
/// handover, through the end of turn `turns - 1`.
pub fn upcoming(rota: &Rota, covers: &[Cover], at: DateTime<Utc>, turns: usize) -> Vec<Shift> {
    if rota.rotation_hours <= 0 || rota.members.is_empty() {
        return Vec::new();
    }
    let last = match rota.turn_at(at) {
        Some(t) => rota.turns_after(t.index, turns.max(1)),
        None => {
            let mut first = vec![rota.turn(0)];
            first.extend(rota.turns_after(0, turns.saturating_sub(1)));
            first
        }
    };
    let end = last.last().map_or(at, |t| t.end);
    schedule(rota, covers, at, end)
}

/// The rotas whose chain of `next` rotas comes back to themselves, each with the
/// loop as names (`a → b → a`). `next` names that name no rota end a chain.
pub fn looping(rotas: &[(String, Option<String>)]) -> Vec<(usize, Vec<String>)> {
    let next_of = |name: &str| -> Option<&str> {
        rotas
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, next)| next.as_deref())
    };
    let mut out = Vec::new();
    for (i, (name, _)) in rotas.iter().enumerate() {
        let mut chain = vec![name.clone()];
        let mut seen = HashSet::from([name.as_str()]);
        let mut at = name.as_str();
        while let Some(next) = next_of(at) {
            chain.push(next.to_string());
            if next == name {
                out.push((i, chain));
                break;
            }
            if !seen.insert(next) {
                // A loop further on, which its own rotas report.
                break;
            }
            at = next;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn rota(tz: &str, hours: i64, handover: &str, members: &[&str]) -> Rota {
        Rota {
            name: "duty".into(),
            timezone: tz.parse().unwrap(),
            members: members.iter().map(|m| m.to_string()).collect(),
            rotation_hours: hours,
            handover: utc(handover),
            ack_minutes: 5,
            next: None,
        }
    }

    fn local(at: DateTime<Utc>, tz: &str) -> String {
        let tz: Tz = tz.parse().unwrap();
        at.with_timezone(&tz)
            .format("%Y-%m-%d %H:%M %:z")
            .to_string()
    }

    #[test]
    fn weekly_turns_take_members_in_order() {
        let r = rota(
            "Asia/Shanghai",
            168,
            "2026-11-30T09:00:00+08:00",
            &["olga@x", "otto@x"],
        );
        assert_eq!(r.turn_at(utc("2026-11-30T00:59:59Z")), None, "before");
        let t = r.turn_at(utc("2026-11-30T09:00:00+08:00")).unwrap();
        assert_eq!((t.index, t.person.as_str()), (0, "olga@x"));
        assert_eq!(t.end, utc("2026-12-07T09:00:00+08:00"));
        let t = r.turn_at(utc("2026-12-07T08:59:59+08:00")).unwrap();
        assert_eq!(t.person, "olga@x");
        let t = r.turn_at(utc("2026-12-07T09:00:00+08:00")).unwrap();
        assert_eq!((t.index, t.person.as_str()), (1, "otto@x"));
        let t = r.turn_at(utc("2026-12-15T12:00:00+08:00")).unwrap();
        assert_eq!((t.index, t.person.as_str()), (2, "olga@x"));
        let next = r.turns_after(2, 2);
        assert_eq!(next[0].person, "otto@x");
        assert_eq!(next[1].start, utc("2026-12-28T09:00:00+08:00"));
    }

    #[test]
    fn a_weekly_handover_keeps_nine_in_the_morning_across_dst() {
        for (tz, spring, autumn) in [
            ("Europe/Berlin", "2026-03-29", "2026-10-25"),
            ("America/New_York", "2026-03-08", "2026-11-01"),
        ] {
            let r = rota(tz, 168, "2026-01-05T09:00:00Z", &["a", "b", "c"]);
            let r = Rota {
                handover: resolve_local(
                    r.timezone,
                    "2026-01-05T09:00:00".parse::<NaiveDateTime>().unwrap(),
                ),
                ..r
            };
            let mut lengths = HashSet::new();
            for k in 0..60 {
                let t = r.turn(k);
                assert!(local(t.start, tz).contains(" 09:00 "), "{tz} {k}");
                lengths.insert((t.end - t.start).num_hours());
            }
            // One turn an hour short (spring), one an hour long (autumn).
            assert_eq!(lengths, HashSet::from([167, 168, 169]), "{tz}");
            let across = r.turn_at(utc(&format!("{spring}T12:00:00Z"))).unwrap();
            assert_eq!((across.end - across.start).num_hours(), 167, "{tz}");
            let across = r.turn_at(utc(&format!("{autumn}T12:00:00Z"))).unwrap();
            assert_eq!((across.end - across.start).num_hours(), 169, "{tz}");
        }
    }

    #[test]
    fn skipped_and_repeated_starts_are_read_as_documented() {
        // Berlin springs from 02:00 to 03:00 on 2026-03-29 and falls back from 03:00
        // to 02:00 on 2026-10-25. A daily 02:30 handover:
        let r = rota(
            "Europe/Berlin",
            24,
            "2026-03-27T02:30:00+01:00",
            &["a", "b"],
        );
        assert_eq!(
            local(r.turn_start(1), "Europe/Berlin"),
            "2026-03-28 02:30 +01:00"
        );
        // 02:30 does not exist on the 29th: the turn begins at 03:00.
        assert_eq!(
            local(r.turn_start(2), "Europe/Berlin"),
            "2026-03-29 03:00 +02:00"
        );
        assert_eq!(
            local(r.turn_start(3), "Europe/Berlin"),
            "2026-03-30 02:30 +02:00"
        );
        // 02:30 comes twice on 25 October: the first.
        let k = (utc("2026-10-25T00:00:00Z") - r.handover).num_days() + 1;
        assert_eq!(
            local(r.turn_start(k), "Europe/Berlin"),
            "2026-10-25 02:30 +02:00"
        );
        // An hourly rota has no 02:00–03:00 turn that night.
        let h = rota("Europe/Berlin", 1, "2026-03-29T00:00:00+01:00", &["a", "b"]);
        let t = h.turn(2);
        assert_eq!(t.start, t.end, "the skipped hour gets no time");
        let at = h.turn_at(utc("2026-03-29T03:00:00+02:00")).unwrap();
        assert_eq!(at.index, 3);
        assert!(h.turns_after(1, 1)[0].index == 3);
        // A handover at the second 02:30 of 25 October begins exactly then.
        let second = utc("2026-10-25T02:30:00+01:00");
        let r = Rota {
            handover: second,
            ..r
        };
        assert_eq!(r.turn_start(0), second);
        assert_eq!(r.turn_at(second).unwrap().index, 0);
    }

    #[test]
    fn overrides_come_first_and_split_the_turn() {
        let r = rota(
            "Asia/Shanghai",
            168,
            "2026-11-30T09:00:00+08:00",
            &["olga@x", "otto@x"],
        );
        let covers = [Cover {
            id: 1,
            person: "ida@x".into(),
            from: utc("2026-12-02T09:00:00+08:00"),
            to: utc("2026-12-03T09:00:00+08:00"),
        }];
        let now = utc("2026-12-01T10:00:00+08:00");
        let s = on_call(&r, &covers, now).unwrap();
        assert_eq!(s.person, "olga@x");
        assert_eq!(s.end, covers[0].from, "until the override begins");
        let s = on_call(&r, &covers, utc("2026-12-02T10:00:00+08:00")).unwrap();
        assert_eq!((s.person.as_str(), s.source), ("ida@x", Source::Cover(1)));
        assert_eq!(s.end, covers[0].to);
        let list = upcoming(&r, &covers, now, 2);
        let who: Vec<&str> = list.iter().map(|s| s.person.as_str()).collect();
        assert_eq!(who, ["olga@x", "ida@x", "olga@x", "otto@x", "olga@x"]);
        assert_eq!(list.last().unwrap().end, utc("2026-12-21T09:00:00+08:00"));
        // Before the handover: nobody, unless an override says so.
        let early = utc("2026-11-29T09:00:00+08:00");
        assert_eq!(on_call(&r, &covers, early), None);
        let before = [Cover {
            id: 2,
            person: "ida@x".into(),
            from: utc("2026-11-29T00:00:00+08:00"),
            to: utc("2026-12-01T00:00:00+08:00"),
        }];
        let s = on_call(&r, &before, early).unwrap();
        assert_eq!(s.person, "ida@x");
        // The override runs on across the handover, then the first turn's member.
        let list = upcoming(&r, &before, early, 1);
        assert_eq!(list.len(), 2);
        assert_eq!(
            (list[0].person.as_str(), list[0].end),
            ("ida@x", before[0].to)
        );
        assert_eq!(
            (list[1].person.as_str(), list[1].start),
            ("olga@x", before[0].to)
        );
        assert_eq!(list[1].end, r.turn(0).end);
    }

    #[test]
    fn the_last_override_added_counts_where_they_overlap() {
        let r = rota("UTC", 24, "2026-01-01T00:00:00Z", &["a"]);
        let covers = [
            Cover {
                id: 7,
                person: "late".into(),
                from: utc("2026-01-02T06:00:00Z"),
                to: utc("2026-01-02T12:00:00Z"),
            },
            Cover {
                id: 3,
                person: "early".into(),
                from: utc("2026-01-02T00:00:00Z"),
                to: utc("2026-01-02T18:00:00Z"),
            },
        ];
        let s = schedule(
            &r,
            &covers,
            utc("2026-01-02T00:00:00Z"),
            utc("2026-01-03T00:00:00Z"),
        );
        let who: Vec<&str> = s.iter().map(|s| s.person.as_str()).collect();
        assert_eq!(who, ["early", "late", "early", "a"]);
    }

    #[test]
    fn loops_of_next_are_found() {
        let rotas = |pairs: &[(&str, Option<&str>)]| -> Vec<(String, Option<String>)> {
            pairs
                .iter()
                .map(|(a, b)| (a.to_string(), b.map(String::from)))
                .collect()
        };
        let ok = rotas(&[("a", Some("b")), ("b", Some("c")), ("c", None)]);
        assert!(looping(&ok).is_empty());
        let bad = rotas(&[
            ("a", Some("b")),
            ("b", Some("a")),
            ("c", Some("a")),
            ("d", Some("d")),
        ]);
        let found = looping(&bad);
        assert_eq!(
            found,
            vec![
                (0, vec!["a".into(), "b".into(), "a".into()]),
                (1, vec!["b".into(), "a".into(), "b".into()]),
                (3, vec!["d".into(), "d".into()]),
            ]
        );
    }

    fn zones() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "Europe/Berlin",
            "America/New_York",
            "Asia/Shanghai",
            "Australia/Lord_Howe",
            "UTC",
        ])
    }

    fn rotas() -> impl Strategy<Value = Rota> {
        (
            zones(),
            prop_oneof![
                Just(1i64),
                Just(8),
                Just(12),
                Just(24),
                Just(168),
                1i64..400
            ],
            // 2020-01-01 to 2030-01-01, in minutes
            0i64..5_260_000,
            1usize..5,
        )
            .prop_map(|(tz, hours, minute, n)| Rota {
                name: "p".into(),
                timezone: tz.parse().unwrap(),
                members: (0..n).map(|i| format!("m{i}")).collect(),
                rotation_hours: hours,
                handover: utc("2020-01-01T00:00:00Z") + TimeDelta::minutes(minute),
                ack_minutes: 5,
                next: None,
            })
    }

    fn covers(r: &Rota) -> impl Strategy<Value = Vec<Cover>> + use<> {
        let base = r.handover;
        prop::collection::vec((-2_000i64..40_000, 1i64..10_000), 0..4).prop_map(move |spans| {
            spans
                .into_iter()
                .enumerate()
                .map(|(i, (start, len))| Cover {
                    id: i as i64 + 1,
                    person: format!("cover{i}"),
                    from: base + TimeDelta::minutes(start),
                    to: base + TimeDelta::minutes(start + len),
                })
                .collect()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn turns_tile_time_without_gaps_or_overlaps(r in rotas(), k0 in 0i64..3_000) {
            let mut prev = r.turn(k0);
            prop_assert!(prev.start <= prev.end);
            for k in k0 + 1..k0 + 40 {
                let t = r.turn(k);
                prop_assert_eq!(t.start, prev.end, "turn {} begins where {} ends", k, k - 1);
                prop_assert!(t.start <= t.end);
                // A turn loses at most the skipped hours; real lengths stay close.
                let real = (t.end - t.start).num_minutes();
                prop_assert!((real - r.rotation_hours * 60).abs() <= 120 || t.start == t.end);
                prev = t;
            }
        }

        #[test]
        fn the_turn_at_an_instant_holds_it(r in rotas(), offset in 0i64..20_000_000) {
            let at = r.handover + TimeDelta::minutes(offset);
            let t = r.turn_at(at).expect("after the handover");
            prop_assert!(t.start <= at && at < t.end);
            prop_assert_eq!(&t.person, &r.members[(t.index % r.members.len() as i64) as usize]);
            prop_assert_eq!(r.turn_at(r.handover - TimeDelta::seconds(1)), None);
        }

        #[test]
        fn daily_turns_keep_the_wall_clock(r in rotas(), k in 0i64..2_000) {
            prop_assume!(r.rotation_hours % 24 == 0);
            let wall = r.handover.with_timezone(&r.timezone).time();
            let t = r.turn(k);
            let local = t.start.with_timezone(&r.timezone).time();
            // Equal, unless that wall-clock time did not exist that day.
            let date = t.start.with_timezone(&r.timezone).date_naive();
            let exists = r.timezone.from_local_datetime(&date.and_time(wall)).earliest().is_some();
            prop_assert!(local == wall || !exists || k == 0, "{} vs {}", local, wall);
        }

        #[test]
        fn the_one_on_call_is_a_member_or_covers(
            (r, cs) in rotas().prop_flat_map(|r| { let c = covers(&r); (Just(r), c) }),
            offset in -3_000i64..50_000,
        ) {
            let at = r.handover + TimeDelta::minutes(offset);
            match on_call(&r, &cs, at) {
                Some(s) => {
                    prop_assert!(s.start <= at && at < s.end);
                    let covering: Vec<&Cover> = cs.iter().filter(|c| c.from <= at && at < c.to).collect();
                    if covering.is_empty() {
                        prop_assert!(r.members.contains(&s.person));
                    } else {
                        let last = covering.iter().max_by_key(|c| c.id).unwrap();
                        prop_assert_eq!(&s.person, &last.person);
                    }
                }
                None => {
                    prop_assert!(at < r.handover);
                    prop_assert!(!cs.iter().any(|c| c.from <= at && at < c.to));
                }
            }
        }

        #[test]
        fn an_override_changes_only_its_period(
            (r, cs) in rotas().prop_flat_map(|r| { let c = covers(&r); (Just(r), c) }),
            offset in -3_000i64..50_000,
        ) {
            prop_assume!(!cs.is_empty());
            let at = r.handover + TimeDelta::minutes(offset);
            let without = on_call(&r, &[], at).map(|s| s.person);
            let with = on_call(&r, &cs, at).map(|s| s.person);
            if cs.iter().any(|c| c.from <= at && at < c.to) {
                prop_assert!(with.is_some_and(|p| p.starts_with("cover")));
            } else {
                prop_assert_eq!(with, without);
            }
        }

        #[test]
        fn upcoming_shifts_are_in_order_and_tile(
            (r, cs) in rotas().prop_flat_map(|r| { let c = covers(&r); (Just(r), c) }),
            offset in 0i64..50_000,
            n in 1usize..6,
        ) {
            let at = r.handover + TimeDelta::minutes(offset);
            let list = upcoming(&r, &cs, at, n);
            prop_assert!(!list.is_empty());
            prop_assert_eq!(list[0].start, at);
            for w in list.windows(2) {
                prop_assert_eq!(w[0].end, w[1].start);
                prop_assert!(w[0].start < w[0].end);
                prop_assert!(w[0].source != w[1].source);
            }
            let current = r.turn_at(at).unwrap();
            let last = r.turns_after(current.index, n).pop().unwrap();
            prop_assert_eq!(list.last().unwrap().end, last.end);
            for s in &list {
                let mid = s.start + (s.end - s.start) / 2;
                let there = on_call(&r, &cs, mid).map(|x| x.person);
                prop_assert_eq!(Some(&s.person), there.as_ref());
            }
        }
    }
}
