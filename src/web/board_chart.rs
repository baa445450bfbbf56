// The board's charts, drawn on the server as SVG: today by hour (arrived, resolved,
// breached) and each queue's open work against its capacity. Geometry is pure.

use chrono::{DateTime, NaiveDateTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

/// The hourly chart's box and the plot inside it.
pub const HOURS_W: f64 = 520.0;
pub const HOURS_H: f64 = 190.0;
const PAD_L: f64 = 34.0;
const PAD_R: f64 = 8.0;
const PAD_T: f64 = 10.0;
const PAD_B: f64 = 26.0;

/// One bar of the hourly chart.
pub struct HourBar {
    pub x: f64,
    pub y: f64,
    pub height: f64,
    /// "02:00 – Arrived: 4", for the bar's tooltip.
    pub title: String,
}

/// One series of the hourly chart.
pub struct HourSeries {
    /// `arrived`, `resolved` or `breached` (the CSS class and `data-series`).
    pub key: &'static str,
    pub name: String,
    pub total: usize,
    pub bars: Vec<HourBar>,
}

pub struct HoursChart {
    pub width: f64,
    pub height: f64,
    pub bar_width: f64,
    /// The top of the value axis, and its y.
    pub max: usize,
    pub top: f64,
    pub baseline: f64,
    pub left: f64,
    pub right: f64,
    pub series: Vec<HourSeries>,
    /// (x, label) of every third hour under the axis.
    pub ticks: Vec<(f64, String)>,
    /// Where the current hour starts, for the "now" line.
    pub now_x: f64,
}

/// The local hour (0–23) of a stored UTC moment in `tz`.
pub fn local_hour(tz: Tz, at: NaiveDateTime) -> usize {
    Utc.from_utc_datetime(&at).with_timezone(&tz).hour() as usize
}

/// The start and end (UTC, as stored) of the local day of `now` in `tz`.
pub fn today(tz: Tz, now: DateTime<Utc>) -> (NaiveDateTime, NaiveDateTime) {
    let date = now.with_timezone(&tz).date_naive();
    let start = |d: chrono::NaiveDate| {
        let midnight = d.and_hms_opt(0, 0, 0).expect("midnight");
        tz.from_local_datetime(&midnight)
            .earliest()
            // A day starting in a gap (no midnight): its first hour.
            .or_else(|| {
                tz.from_local_datetime(&(midnight + chrono::Duration::hours(1)))
                    .earliest()
            })
            .map(|t| t.naive_utc())
            .unwrap_or(midnight)
    };
    (start(date), start(date + chrono::Duration::days(1)))
}

/// Counts moments by local hour.
pub fn per_hour(tz: Tz, moments: &[NaiveDateTime]) -> [usize; 24] {
    let mut out = [0usize; 24];
    for m in moments {
        out[local_hour(tz, *m)] += 1;
    }
    out
}

/// Lays out the hourly chart: three bars an hour, side by side, on one scale.
pub fn hours(series: Vec<(&'static str, String, [usize; 24])>, now_hour: usize) -> HoursChart {
    let max = series
        .iter()
        .flat_map(|(_, _, v)| v.iter().copied())
        .max()
        .unwrap_or(0)
        .max(1);
    let plot_w = HOURS_W - PAD_L - PAD_R;
    let plot_h = HOURS_H - PAD_T - PAD_B;
    let slot = plot_w / 24.0;
    let n = series.len().max(1) as f64;
    let bar_width = (slot - 2.0) / n;
    let baseline = PAD_T + plot_h;
    let series = series
        .into_iter()
        .enumerate()
        .map(|(i, (key, name, values))| HourSeries {
            key,
            total: values.iter().sum(),
            bars: values
                .iter()
                .enumerate()
                .map(|(h, v)| {
                    let height = *v as f64 / max as f64 * plot_h;
                    HourBar {
                        x: PAD_L + h as f64 * slot + 1.0 + i as f64 * bar_width,
                        y: baseline - height,
                        height,
                        title: format!("{h:02}:00 – {name}: {v}"),
                    }
                })
                .collect(),
            name,
        })
        .collect();
    HoursChart {
        width: HOURS_W,
        height: HOURS_H,
        bar_width,
        max,
        top: PAD_T,
        baseline,
        left: PAD_L,
        right: HOURS_W - PAD_R,
        series,
        ticks: (0..24)
            .step_by(3)
            .map(|h| (PAD_L + (h as f64 + 0.5) * slot, format!("{h:02}")))
            .collect(),
        now_x: PAD_L + now_hour.min(23) as f64 * slot,
    }
}

/// The capacity chart's box: a row per queue.
pub const LOAD_W: f64 = 520.0;
const ROW_H: f64 = 26.0;
const LABEL_W: f64 = 130.0;
const VALUE_W: f64 = 70.0;

/// One queue's row: open work as a bar, its capacity as a mark across it.
pub struct LoadRow {
    pub queue: String,
    pub y: f64,
    pub backlog: i64,
    pub capacity: i64,
    pub bar: f64,
    pub mark: f64,
    /// The work is more than the capacity.
    pub over: bool,
    pub text: String,
}

pub struct LoadChart {
    pub width: f64,
    pub height: f64,
    pub left: f64,
    pub plot: f64,
    pub value_x: f64,
    pub rows: Vec<LoadRow>,
}

/// Lays out the capacity chart from (queue, open work, capacity, sentence).
pub fn load(queues: Vec<(String, i64, i64, String)>) -> LoadChart {
    let max = queues
        .iter()
        .map(|(_, b, c, _)| (*b).max(*c))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let plot = LOAD_W - LABEL_W - VALUE_W;
    let rows: Vec<LoadRow> = queues
        .into_iter()
        .enumerate()
        .map(|(i, (queue, backlog, capacity, text))| LoadRow {
            y: 6.0 + i as f64 * ROW_H,
            bar: backlog.max(0) as f64 / max * plot,
            mark: LABEL_W + capacity.max(0) as f64 / max * plot,
            over: backlog > capacity,
            queue,
            backlog,
            capacity,
            text,
        })
        .collect();
    LoadChart {
        width: LOAD_W,
        height: 12.0 + rows.len().max(1) as f64 * ROW_H,
        left: LABEL_W,
        plot,
        value_x: LABEL_W + plot + 6.0,
        rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_are_local_and_the_day_is_the_viewers() {
        let tz: Tz = "Asia/Shanghai".parse().unwrap();
        let now = Utc.with_ymd_and_hms(2026, 11, 24, 20, 30, 0).unwrap();
        // 04:30 on the 25th in Shanghai: the day began at 16:00 UTC on the 24th.
        let (from, until) = today(tz, now);
        assert_eq!(from.to_string(), "2026-11-24 16:00:00");
        assert_eq!(until.to_string(), "2026-11-25 16:00:00");
        let at = |h, m| {
            chrono::NaiveDate::from_ymd_opt(2026, 11, 24)
                .unwrap()
                .and_hms_opt(h, m, 0)
                .unwrap()
        };
        let counts = per_hour(tz, &[at(16, 5), at(16, 59), at(20, 0)]);
        assert_eq!(counts[0], 2);
        assert_eq!(counts[4], 1);
        assert_eq!(counts.iter().sum::<usize>(), 3);
    }

    #[test]
    fn bars_share_one_scale_and_stay_in_the_box() {
        let mut a = [0usize; 24];
        a[9] = 8;
        let mut r = [0usize; 24];
        r[9] = 4;
        let c = hours(
            vec![
                ("arrived", "Arrived".into(), a),
                ("resolved", "Resolved".into(), r),
                ("breached", "Breached".into(), [0; 24]),
            ],
            10,
        );
        assert_eq!(c.max, 8);
        let tall = &c.series[0].bars[9];
        let half = &c.series[1].bars[9];
        assert!((tall.height - 2.0 * half.height).abs() < 1e-9);
        assert!(
            (tall.y - c.top).abs() < 1e-9,
            "the highest bar reaches the top"
        );
        assert_eq!(c.series[2].bars[9].height, 0.0);
        for s in &c.series {
            for b in &s.bars {
                assert!(b.x >= c.left && b.x + c.bar_width <= c.right + 1e-9);
            }
        }
        assert_eq!(c.series[0].total, 8);
        assert_eq!(c.ticks.len(), 8);
    }

    #[test]
    fn capacity_marks_and_bars_are_on_one_scale() {
        let c = load(vec![
            ("Transfers".into(), 12, 6, String::new()),
            ("Triage".into(), 3, 0, String::new()),
        ]);
        assert!(
            (c.rows[0].bar - c.plot).abs() < 1e-9,
            "the largest fills the plot"
        );
        assert!((c.rows[0].mark - (c.left + c.plot / 2.0)).abs() < 1e-9);
        assert!(c.rows[0].over && c.rows[1].over);
        assert_eq!(load(Vec::new()).rows.len(), 0);
    }
}
