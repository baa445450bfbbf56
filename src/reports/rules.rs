// The rule quality figures of one rule over a period, computed from its recorded
// alerts and the facts of its resolved cases: pure, no I/O (`store` reads them).
// Weekly volumes and outcomes in the desk's time zone, suppressed alerts, handling
// time, outcomes by amount band and the what-if of an amount threshold.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

use chrono::{NaiveDate, NaiveDateTime};
use chrono_tz::Tz;
use diesel::Queryable;

use super::figures::PeriodFact;
use super::period::Period;
use super::stats::{median_p90, per_mille};
use crate::domain::money::Decimal;
use crate::domain::resolution::{Disposition, Label, Tally};
use crate::domain::week::IsoWeek;

/// The lower bounds of the amount bands after the first (whole units of the
/// currency): under 1,000; 1,000 to under 5,000; … ; 100,000 and over.
pub const BAND_BOUNDS: [u64; 4] = [1_000, 5_000, 20_000, 100_000];

/// One alert of the rule, with what became of its case.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct RuleAlert {
    pub received_at: NaiveDateTime,
    /// `None`: suppressed (stored without opening a case).
    pub case_id: Option<i64>,
    pub amount: Option<String>,
    pub currency: Option<String>,
    /// The case's resolution, if it is resolved now.
    pub resolved_at: Option<NaiveDateTime>,
    pub disposition: Option<String>,
}

impl RuleAlert {
    /// The label of the closing of the alert's case; `None` while it is open, for a
    /// suppressed alert, or for a disposition the desk does not know.
    pub fn label(&self) -> Option<Label> {
        self.resolved_at?;
        label_of(self.disposition.as_deref())
    }
}

fn label_of(disposition: Option<&str>) -> Option<Label> {
    disposition
        .and_then(|d| d.parse::<Disposition>().ok())
        .map(Disposition::label)
}

/// One week of the period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Week {
    pub week: IsoWeek,
    /// Its Monday.
    pub monday: NaiveDate,
    /// Alerts received in the week (suppressed ones included), and those suppressed.
    pub alerts: u64,
    pub suppressed: u64,
    /// The rule's cases resolved in the week, by label.
    pub labels: Tally,
}

impl Week {
    /// False positives ÷ (true + false positives), per mille.
    pub fn fp_rate(&self) -> Option<u64> {
        let (n, of) = self.labels.fp_fraction()?;
        per_mille(n, of)
    }
}

/// The ISO weeks in `tz` that the period touches, in order.
pub fn weeks_of(p: &Period, tz: Tz) -> Vec<IsoWeek> {
    let first = IsoWeek::of(p.start, tz);
    let last = IsoWeek::of(p.end - chrono::Duration::microseconds(1), tz);
    let mut out = vec![first];
    let mut w = first;
    while w < last {
        w = w.next();
        out.push(w);
    }
    out
}

/// The weekly series: alerts and suppressed alerts by the week they were received,
/// the resolved cases' labels by the week they were resolved (weeks in `tz`; the
/// first and last are cut to the period).
pub fn weekly(p: &Period, tz: Tz, alerts: &[RuleAlert], resolved: &[PeriodFact]) -> Vec<Week> {
    let mut weeks: Vec<Week> = weeks_of(p, tz)
        .into_iter()
        .map(|week| Week {
            week,
            monday: week.monday().unwrap_or(p.from),
            alerts: 0,
            suppressed: 0,
            labels: Tally::default(),
        })
        .collect();
    let index: HashMap<IsoWeek, usize> =
        weeks.iter().enumerate().map(|(i, w)| (w.week, i)).collect();
    let at = |t: NaiveDateTime| index.get(&IsoWeek::of(t.and_utc(), tz)).copied();
    for a in alerts {
        if let Some(i) = at(a.received_at) {
            weeks[i].alerts += 1;
            if a.case_id.is_none() {
                weeks[i].suppressed += 1;
            }
        }
    }
    for f in resolved {
        let label = label_of(f.disposition.as_deref());
        if let (Some(r), Some(label)) = (f.resolved_at, label)
            && let Some(i) = at(r)
        {
            weeks[i].labels.add(label);
        }
    }
    weeks
}

/// Handling time of the resolved cases, opening to resolution in whole minutes:
/// the median and the 90th percentile (nearest rank).
pub fn handling_minutes(resolved: &[PeriodFact]) -> (Option<i64>, Option<i64>) {
    let mut sample: Vec<i64> = resolved
        .iter()
        .filter_map(|f| {
            let r = f.resolved_at?;
            Some((r - f.opened_at).num_minutes().max(0))
        })
        .collect();
    median_p90(&mut sample)
}

/// One amount band: `[low, high)` in the chosen currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Band {
    pub low: Option<u64>,
    pub high: Option<u64>,
    /// The alerts whose amount is in the band, and those suppressed.
    pub alerts: u64,
    pub suppressed: u64,
    /// The resolved cases whose largest alert is in the band, by label.
    pub labels: Tally,
}

impl Band {
    pub fn fp_rate(&self) -> Option<u64> {
        let (n, of) = self.labels.fp_fraction()?;
        per_mille(n, of)
    }
}

/// What a threshold would have changed: the resolved cases whose every alert of the
/// period was below it would not have been opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhatIf {
    pub threshold: Decimal,
    /// Resolved cases below the threshold, by label.
    pub labels: Tally,
    /// Alerts below the threshold, of all the alerts in the currency.
    pub alerts: u64,
    pub of_alerts: u64,
}

/// The amounts side of the report: only for a rule whose alerts carry amounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Amounts {
    /// The currency counted.
    pub currency: String,
    /// Every currency of the period's alerts with its count, most common first.
    pub currencies: Vec<(String, u64)>,
    /// Alerts with an amount in another currency (left out), and alerts without one.
    pub other_currency: u64,
    pub no_amount: u64,
    pub bands: Vec<Band>,
    pub what_if: Option<WhatIf>,
}

fn whole(v: u64) -> Decimal {
    Decimal::from_str(&v.to_string()).expect("a whole number")
}

/// The index of the band of `amount`.
pub fn band_of(amount: Decimal) -> usize {
    BAND_BOUNDS
        .iter()
        .take_while(|b| amount >= whole(**b))
        .count()
}

/// The currencies of the alerts with an amount, most common first (ties by code).
fn currencies(alerts: &[RuleAlert]) -> Vec<(String, u64)> {
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    for a in alerts {
        if let (Some(_), Some(c)) = (&a.amount, &a.currency) {
            *counts.entry(c).or_default() += 1;
        }
    }
    let mut out: Vec<(String, u64)> = counts
        .into_iter()
        .map(|(c, n)| (c.to_string(), n))
        .collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out
}

/// Outcomes by amount band in `currency` (default: the most common one), and the
/// what-if of `threshold`. `None` when no alert of the period has an amount.
pub fn amounts(
    alerts: &[RuleAlert],
    currency: Option<&str>,
    threshold: Option<Decimal>,
) -> Option<Amounts> {
    let currencies = currencies(alerts);
    let currency = match currency {
        Some(c) => c.to_string(),
        None => currencies.first()?.0.clone(),
    };
    if currencies.is_empty() {
        return None;
    }
    let mut bands: Vec<Band> = (0..=BAND_BOUNDS.len())
        .map(|i| Band {
            low: i.checked_sub(1).map(|j| BAND_BOUNDS[j]),
            high: BAND_BOUNDS.get(i).copied(),
            alerts: 0,
            suppressed: 0,
            labels: Tally::default(),
        })
        .collect();
    let (mut other_currency, mut no_amount) = (0, 0);
    let mut what_if = threshold.map(|threshold| WhatIf {
        threshold,
        labels: Tally::default(),
        alerts: 0,
        of_alerts: 0,
    });
    // The largest alert of each resolved case, and its label.
    let mut cases: HashMap<i64, (Decimal, Label)> = HashMap::new();
    for a in alerts {
        let Some(text) = &a.amount else {
            no_amount += 1;
            continue;
        };
        if a.currency.as_deref() != Some(currency.as_str()) {
            other_currency += 1;
            continue;
        }
        let Ok(amount) = Decimal::from_str(text) else {
            no_amount += 1;
            continue;
        };
        let band = &mut bands[band_of(amount)];
        band.alerts += 1;
        if a.case_id.is_none() {
            band.suppressed += 1;
        }
        if let Some(w) = &mut what_if {
            w.of_alerts += 1;
            if amount < w.threshold {
                w.alerts += 1;
            }
        }
        if let (Some(id), Some(label)) = (a.case_id, a.label()) {
            let e = cases.entry(id).or_insert((amount, label));
            e.0 = e.0.max(amount);
        }
    }
    for (largest, label) in cases.into_values() {
        bands[band_of(largest)].labels.add(label);
        if let Some(w) = &mut what_if
            && largest < w.threshold
        {
            w.labels.add(label);
        }
    }
    Some(Amounts {
        currency,
        currencies,
        other_currency,
        no_amount,
        bands,
        what_if,
    })
}

/// Everything the rule quality page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleQuality {
    pub weeks: Vec<Week>,
    pub alerts: u64,
    pub suppressed: u64,
    /// The rule's cases resolved in the period, by label.
    pub labels: Tally,
    pub resolved: u64,
    /// Handling time in minutes: median and 90th percentile.
    pub handling: (Option<i64>, Option<i64>),
    pub amounts: Option<Amounts>,
}

impl RuleQuality {
    pub fn fp_rate(&self) -> Option<u64> {
        let (n, of) = self.labels.fp_fraction()?;
        per_mille(n, of)
    }
}

/// The rule quality figures of the period `p` (weeks in `tz`).
pub fn quality(
    p: &Period,
    tz: Tz,
    alerts: &[RuleAlert],
    resolved: &[PeriodFact],
    currency: Option<&str>,
    threshold: Option<Decimal>,
) -> RuleQuality {
    let weeks = weekly(p, tz, alerts, resolved);
    let mut labels = Tally::default();
    for l in resolved
        .iter()
        .filter_map(|f| label_of(f.disposition.as_deref()))
    {
        labels.add(l);
    }
    RuleQuality {
        alerts: alerts.len() as u64,
        suppressed: alerts.iter().filter(|a| a.case_id.is_none()).count() as u64,
        labels,
        resolved: resolved.len() as u64,
        handling: handling_minutes(resolved),
        amounts: amounts(alerts, currency, threshold),
        weeks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::period::Kind;
    use chrono::DateTime;

    fn t(s: &str) -> NaiveDateTime {
        DateTime::parse_from_rfc3339(s).unwrap().naive_utc()
    }

    fn alert(at: &str, case: Option<i64>, amount: Option<&str>, disp: Option<&str>) -> RuleAlert {
        RuleAlert {
            received_at: t(at),
            case_id: case,
            amount: amount.map(String::from),
            currency: amount.map(|_| "CNY".to_string()),
            resolved_at: disp.map(|_| t(at)),
            disposition: disp.map(String::from),
        }
    }

    #[test]
    fn bands_and_the_what_if_count_each_case_once_by_its_largest_alert() {
        let mut alerts = vec![
            alert(
                "2026-11-24T01:00:00Z",
                Some(1),
                Some("500.00"),
                Some("false_positive"),
            ),
            alert(
                "2026-11-24T01:00:00Z",
                Some(2),
                Some("3000"),
                Some("false_positive"),
            ),
            // Case 3 has two alerts: its largest (25,000) places it.
            alert(
                "2026-11-24T01:00:00Z",
                Some(3),
                Some("900"),
                Some("confirmed_fraud"),
            ),
            alert(
                "2026-11-24T02:00:00Z",
                Some(3),
                Some("25000"),
                Some("confirmed_fraud"),
            ),
            alert(
                "2026-11-24T01:00:00Z",
                Some(4),
                Some("4999.99"),
                Some("escalated_aml"),
            ),
            alert(
                "2026-11-24T01:00:00Z",
                Some(5),
                Some("100000"),
                Some("unreachable"),
            ),
            alert("2026-11-24T01:00:00Z", None, Some("10"), None),
            alert("2026-11-24T01:00:00Z", Some(6), Some("1000"), None),
            alert(
                "2026-11-24T01:00:00Z",
                Some(7),
                None,
                Some("false_positive"),
            ),
        ];
        let mut usd = alert(
            "2026-11-24T01:00:00Z",
            Some(8),
            Some("50"),
            Some("false_positive"),
        );
        usd.currency = Some("USD".into());
        alerts.push(usd);
        let a = amounts(&alerts, None, Some("5000".parse().unwrap())).unwrap();
        assert_eq!(a.currency, "CNY");
        assert_eq!(a.currencies, vec![("CNY".into(), 8), ("USD".into(), 1)]);
        assert_eq!((a.other_currency, a.no_amount), (1, 1));
        let alerts_by_band: Vec<u64> = a.bands.iter().map(|b| b.alerts).collect();
        assert_eq!(alerts_by_band, [3, 3, 0, 1, 1]);
        assert_eq!(a.bands[0].suppressed, 1);
        assert_eq!(a.bands[0].labels.false_positive, 1);
        assert_eq!(a.bands[0].labels.true_positive, 0);
        assert_eq!(a.bands[1].labels.false_positive, 1);
        assert_eq!(a.bands[1].labels.true_positive, 1);
        assert_eq!(a.bands[1].fp_rate(), Some(500));
        assert_eq!(a.bands[3].labels.true_positive, 1);
        assert_eq!(a.bands[4].labels.unknown, 1);
        assert_eq!(a.bands[4].fp_rate(), None);
        let w = a.what_if.unwrap();
        // Cases 1, 2 (false positives) and 4 (AML) are wholly below 5,000; case 3
        // is not (its largest alert is 25,000).
        assert_eq!((w.labels.false_positive, w.labels.true_positive), (2, 1));
        assert_eq!((w.alerts, w.of_alerts), (6, 8));
        // Another currency asked for: the rest left out.
        let a = amounts(&alerts, Some("USD"), None).unwrap();
        assert_eq!((a.other_currency, a.bands[0].alerts), (8, 1));
        assert!(a.what_if.is_none());
        // No amounts at all: no amounts side.
        assert_eq!(amounts(&alerts[8..9], None, None), None);
        assert_eq!(band_of("999.99".parse().unwrap()), 0);
        assert_eq!(band_of("1000".parse().unwrap()), 1);
        assert_eq!(band_of("100000.00".parse().unwrap()), 4);
    }

    #[test]
    fn weeks_are_cut_in_the_desks_zone() {
        let sh: Tz = "Asia/Shanghai".parse().unwrap();
        let from = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
        let to = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let p = Period::of_days(Kind::Range, from, to, chrono_tz::UTC);
        let w = weeks_of(&p, sh);
        let names: Vec<String> = w.iter().map(|w| w.to_string()).collect();
        assert_eq!(names, ["2026-W47", "2026-W48", "2026-W49"]);
        // Sunday 22 November 17:00 UTC is Monday in Shanghai: week 48.
        let alerts = vec![
            alert("2026-11-22T15:00:00Z", Some(1), None, None),
            alert("2026-11-22T17:00:00Z", None, None, None),
        ];
        let weeks = weekly(&p, sh, &alerts, &[]);
        assert_eq!((weeks[0].alerts, weeks[0].suppressed), (1, 0));
        assert_eq!((weeks[1].alerts, weeks[1].suppressed), (1, 1));
        assert_eq!(
            weeks[1].monday,
            NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
        );
    }
}
