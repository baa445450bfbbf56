// The report pages' charts, drawn on the server as SVG (no script, no CDN): the
// geometry (scales, points, bars, segments, ticks) as pure functions, and the charts.

use super::tables::Ctx;
use crate::reports::figures::{Key, Line, Outcomes, RuleVolume, ServiceLevel};
use crate::reports::rules::Week;

/// A half-circle gauge of a share against a target.
pub struct Gauge {
    pub label: String,
    pub value: String,
    pub target: String,
    pub aria: String,
    pub arc: Option<String>,
    pub marker: (f64, f64, f64, f64),
    pub met: Option<bool>,
}

/// One line of a trend chart.
pub struct Series {
    pub name: String,
    pub colour: &'static str,
    pub points: String,
    pub total: u64,
}

pub struct TrendChart {
    pub aria: String,
    pub title: String,
    pub max: u64,
    pub series: Vec<Series>,
    /// (x, label) under the axis.
    pub ticks: Vec<(f64, String)>,
}

pub struct Bar {
    pub label: String,
    pub y: f64,
    pub width: f64,
    pub confirmed: f64,
    pub value: String,
}

pub struct BarChart {
    pub aria: String,
    pub title: String,
    pub height: f64,
    pub bars: Vec<Bar>,
}

pub struct Segment {
    pub x: f64,
    pub width: f64,
    pub colour: &'static str,
    pub label: String,
}

/// One week of the weekly chart: its alerts as a bar, the suppressed part darker.
pub struct WeekBar {
    pub x: f64,
    pub width: f64,
    pub y: f64,
    pub height: f64,
    pub suppressed_y: f64,
    pub suppressed_height: f64,
    pub title: String,
}

/// A rule's weeks: alerts as bars (left axis), the false-positive rate as a line
/// (0 to 100 %, right axis).
pub struct WeeklyChart {
    pub aria: String,
    pub title: String,
    pub max: u64,
    pub bars: Vec<WeekBar>,
    pub fp_points: String,
    /// (x, y, text) of each week that has a rate.
    pub fp_dots: Vec<(f64, f64, String)>,
    pub ticks: Vec<(f64, String)>,
}

pub struct StackChart {
    pub aria: String,
    pub title: String,
    pub segments: Vec<Segment>,
}

const PALETTE: [&str; 8] = [
    "#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563",
];
/// Colours of the three holders of breached time.
const HOLDERS: [&str; 3] = ["#d97706", "#2563eb", "#6b7280"];

// ----- geometry (the boxes are those of `templates/reports/index.html`) -----

/// The gauge's half circle (box 200 × 120): its centre, the radius of the arc, and
/// the radii where the target marker starts and ends.
const GAUGE_CENTRE: (f64, f64) = (100.0, 100.0);
const ARC_R: f64 = 80.0;
const MARKER_R: (f64, f64) = (64.0, 96.0);

/// The point at `share` (0 to 1, clamped) along the gauge's half circle of radius
/// `r`: from its left end (0) over the top (½) to its right end (1).
pub fn arc_point(share: f64, r: f64) -> (f64, f64) {
    let a = std::f64::consts::PI * (1.0 - share.clamp(0.0, 1.0));
    (GAUGE_CENTRE.0 + r * a.cos(), GAUGE_CENTRE.1 - r * a.sin())
}

/// The path of the gauge's arc filled to `per_mille`.
pub fn arc_path(per_mille: u64) -> String {
    let (x, y) = arc_point(per_mille as f64 / 1000.0, ARC_R);
    format!("M 20 100 A 80 80 0 0 1 {x:.2} {y:.2}")
}

/// The target marker across the arc at `percent`: `(x1, y1, x2, y2)`.
pub fn marker(percent: i64) -> (f64, f64, f64, f64) {
    let t = percent as f64 / 100.0;
    let (x1, y1) = arc_point(t, MARKER_R.0);
    let (x2, y2) = arc_point(t, MARKER_R.1);
    (x1, y1, x2, y2)
}

/// The trend chart's box and the margins around its plot.
const CHART_W: f64 = 640.0;
const CHART_H: f64 = 220.0;
const PAD_L: f64 = 44.0;
const PAD_R: f64 = 12.0;
const PAD_T: f64 = 12.0;
const PAD_B: f64 = 30.0;

/// The scales of a trend chart of `days` days whose highest value is `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrendScale {
    days: usize,
    max: u64,
}

impl TrendScale {
    /// A scale up to `max`, at least 1 (an empty chart still has an axis).
    pub fn new(days: usize, max: u64) -> Self {
        TrendScale {
            days,
            max: max.max(1),
        }
    }

    /// The value at the top of the axis.
    pub fn max(&self) -> u64 {
        self.max
    }

    /// The x of day `i`: the days spread over the plot's width, one day alone in
    /// its middle.
    pub fn x(&self, i: usize) -> f64 {
        let width = CHART_W - PAD_L - PAD_R;
        if self.days <= 1 {
            PAD_L + width / 2.0
        } else {
            PAD_L + i as f64 * width / (self.days - 1) as f64
        }
    }

    /// The y of `v`: 0 on the axis, the maximum at the top of the plot.
    pub fn y(&self, v: u64) -> f64 {
        PAD_T + (1.0 - v as f64 / self.max as f64) * (CHART_H - PAD_T - PAD_B)
    }

    /// The points of a polyline through one value a day.
    pub fn points(&self, values: &[u64]) -> String {
        values
            .iter()
            .enumerate()
            .map(|(d, v)| format!("{:.1},{:.1}", self.x(d), self.y(*v)))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The days named under the axis: the first, the middle and the last, each once.
    pub fn ticks(&self) -> Vec<usize> {
        let mut out: Vec<usize> = Vec::new();
        for i in [0, self.days / 2, self.days.saturating_sub(1)] {
            if i < self.days && !out.contains(&i) {
                out.push(i);
            }
        }
        out
    }
}

/// The weekly chart's scales: `weeks` slots across the trend chart's plot, each
/// week's bar in the middle of its slot; counts up to `max` and rates up to 100 %.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeekScale {
    weeks: usize,
    counts: TrendScale,
    rates: TrendScale,
}

impl WeekScale {
    pub fn new(weeks: usize, max: u64) -> Self {
        WeekScale {
            weeks: weeks.max(1),
            counts: TrendScale::new(weeks, max),
            rates: TrendScale::new(weeks, 1000),
        }
    }

    pub fn max(&self) -> u64 {
        self.counts.max()
    }

    fn slot(&self) -> f64 {
        (CHART_W - PAD_L - PAD_R) / self.weeks as f64
    }

    /// The middle of week `i`'s slot.
    pub fn centre(&self, i: usize) -> f64 {
        PAD_L + (i as f64 + 0.5) * self.slot()
    }

    /// A bar's width: 60 % of its slot, at most 40.
    pub fn bar_width(&self) -> f64 {
        (self.slot() * 0.6).min(40.0)
    }

    /// `(x, y, width, height)` of a bar of `v`, standing on the axis.
    pub fn bar(&self, i: usize, v: u64) -> (f64, f64, f64, f64) {
        let w = self.bar_width();
        let y = self.counts.y(v);
        (self.centre(i) - w / 2.0, y, w, self.counts.y(0) - y)
    }

    /// The y of a rate of `per_mille`.
    pub fn rate_y(&self, per_mille: u64) -> f64 {
        self.rates.y(per_mille.min(1000))
    }
}

/// Horizontal bars: the first at 8, one every 28; a bar of 100 % is 300 long.
const BAR_TOP: f64 = 8.0;
const BAR_STEP: f64 = 28.0;
const BAR_FULL: f64 = 300.0;

/// The y of the `i`-th bar.
pub fn bar_y(i: usize) -> f64 {
    BAR_TOP + i as f64 * BAR_STEP
}

/// The length of a bar of `per_mille` (none: no bar).
pub fn bar_width(per_mille: Option<u64>) -> f64 {
    per_mille.unwrap_or(0) as f64 / 1000.0 * BAR_FULL
}

/// The height of a chart of `n` bars.
pub fn bars_height(n: usize) -> f64 {
    2.0 * BAR_TOP + n as f64 * BAR_STEP
}

/// The stacked bar's length.
const STACK_W: f64 = 600.0;

/// The `(x, width)` of each part of the stacked bar, in order, in proportion to
/// `secs` (a negative part counts as none).
pub fn stack_spans(secs: &[i64; 3]) -> [(f64, f64); 3] {
    let total = secs.iter().map(|s| (*s).max(0)).sum::<i64>().max(1) as f64;
    let mut x = 0.0;
    secs.map(|s| {
        let width = s.max(0) as f64 / total * STACK_W;
        let span = (x, width);
        x += width;
        span
    })
}

// ----- the charts -----

/// The gauge of a queue's service level (of the default one for any other line).
pub fn gauge(ctx: &Ctx<'_>, l: &Line) -> Gauge {
    let p = ctx.page;
    let target = match l.key {
        Key::Queue(id) => ctx.names.service_level(id),
        _ => crate::store::deskconfig::DEFAULT_SERVICE_LEVEL,
    };
    let sl = ServiceLevel::of(l, target);
    let value = ctx.pct(sl.actual);
    let target_text = format!("{target} %");
    let label = ctx.label(&l.key);
    Gauge {
        aria: p.tf(
            "reports.gauge_aria",
            &[
                ("queue", &label),
                ("value", &value),
                ("target", &target_text),
            ],
        ),
        label,
        value,
        target: target_text,
        arc: sl.actual.map(arc_path),
        marker: marker(target),
        met: sl.met(),
    }
}

/// Cases opened per day, a line per rule.
pub fn trend_chart(ctx: &Ctx<'_>, volume: &[RuleVolume]) -> TrendChart {
    let p = ctx.page;
    let days = ctx.req.period.days();
    let max = volume
        .iter()
        .flat_map(|v| v.cases.iter().copied())
        .max()
        .unwrap_or(0);
    let scale = TrendScale::new(days.len(), max);
    let series = volume
        .iter()
        .enumerate()
        .map(|(i, v)| Series {
            name: v.rule.clone(),
            colour: PALETTE[i % PALETTE.len()],
            points: scale.points(&v.cases),
            total: v.total_cases(),
        })
        .collect();
    let ticks = scale
        .ticks()
        .into_iter()
        .map(|i| (scale.x(i), days[i].format("%m-%d").to_string()))
        .collect();
    TrendChart {
        aria: p.tf(
            "reports.trend_aria",
            &[
                ("from", &ctx.req.period.from.to_string()),
                ("to", &ctx.req.period.to.to_string()),
                ("max", &scale.max().to_string()),
            ],
        ),
        title: p.t("reports.trend_title").to_string(),
        max: scale.max(),
        series,
        ticks,
    }
}

/// The false-positive rate of each rule, the customer-confirmed part darker, the
/// unknowns beside it.
pub fn fp_chart(ctx: &Ctx<'_>, o: &Outcomes) -> BarChart {
    let p = ctx.page;
    let bars: Vec<Bar> = o
        .rules
        .iter()
        .enumerate()
        .map(|(i, r)| Bar {
            label: r.rule.clone(),
            y: bar_y(i),
            width: bar_width(r.fp_rate()),
            confirmed: bar_width(r.fp_confirmed_rate()),
            value: p.tf(
                "reports.fp_bar",
                &[
                    ("rate", &ctx.pct(r.fp_rate())),
                    ("confirmed", &ctx.pct(r.fp_confirmed_rate())),
                    ("unknown", &r.labels.unknown.to_string()),
                ],
            ),
        })
        .collect();
    BarChart {
        aria: p.t("reports.fp_chart_aria").to_string(),
        title: p.t("reports.fp_chart_title").to_string(),
        height: bars_height(bars.len()),
        bars,
    }
}

/// A rule's alerts per week (the suppressed part darker) and its false-positive rate.
pub fn weekly_chart(ctx: &Ctx<'_>, weeks: &[Week]) -> WeeklyChart {
    let p = ctx.page;
    let max = weeks.iter().map(|w| w.alerts).max().unwrap_or(0);
    let scale = WeekScale::new(weeks.len(), max);
    let bars = weeks
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let (x, y, width, height) = scale.bar(i, w.alerts);
            let (_, sy, _, sh) = scale.bar(i, w.suppressed);
            WeekBar {
                x,
                width,
                y,
                height,
                suppressed_y: sy,
                suppressed_height: sh,
                title: p.tf(
                    "reports.quality.week_bar",
                    &[
                        ("week", &w.week.to_string()),
                        ("alerts", &w.alerts.to_string()),
                        ("suppressed", &w.suppressed.to_string()),
                        ("rate", &ctx.pct(w.fp_rate())),
                    ],
                ),
            }
        })
        .collect();
    let fp_dots: Vec<(f64, f64, String)> = weeks
        .iter()
        .enumerate()
        .filter_map(|(i, w)| {
            let r = w.fp_rate()?;
            Some((
                scale.centre(i),
                scale.rate_y(r),
                format!("{}: {}", w.week, ctx.pct(Some(r))),
            ))
        })
        .collect();
    let fp_points = fp_dots
        .iter()
        .map(|(x, y, _)| format!("{x:.1},{y:.1}"))
        .collect::<Vec<_>>()
        .join(" ");
    let ticks = TrendScale::new(weeks.len(), 1)
        .ticks()
        .into_iter()
        .map(|i| (scale.centre(i), weeks[i].week.to_string()))
        .collect();
    WeeklyChart {
        aria: p.tf(
            "reports.quality.chart_aria",
            &[
                ("weeks", &weeks.len().to_string()),
                ("max", &scale.max().to_string()),
            ],
        ),
        title: p.t("reports.quality.chart_title").to_string(),
        max: scale.max(),
        bars,
        fp_points,
        fp_dots,
        ticks,
    }
}

/// Where a line's breached time went, as one stacked bar.
pub fn stack_chart(ctx: &Ctx<'_>, l: &Line) -> StackChart {
    let p = ctx.page;
    let labels = [
        p.t("reports.held_unassigned"),
        p.t("reports.held_agent"),
        p.t("reports.held_customer"),
    ];
    let shares = l.breach_shares();
    let segments = stack_spans(&l.breach_secs)
        .into_iter()
        .enumerate()
        .map(|(i, (x, width))| Segment {
            x,
            width,
            colour: HOLDERS[i],
            label: format!("{}: {}", labels[i], ctx.pct(shares[i])),
        })
        .collect();
    StackChart {
        aria: p.tf(
            "reports.stack_aria",
            &[
                ("unassigned", &ctx.pct(shares[0])),
                ("agent", &ctx.pct(shares[1])),
                ("customer", &ctx.pct(shares[2])),
            ],
        ),
        title: p.t("reports.breach_time").to_string(),
        segments,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round2((x, y): (f64, f64)) -> (f64, f64) {
        ((x * 100.0).round() / 100.0, (y * 100.0).round() / 100.0)
    }

    #[test]
    fn the_gauge_runs_from_left_over_the_top_to_right() {
        assert_eq!(round2(arc_point(0.0, 80.0)), (20.0, 100.0));
        assert_eq!(round2(arc_point(0.5, 80.0)), (100.0, 20.0));
        assert_eq!(round2(arc_point(1.0, 80.0)), (180.0, 100.0));
        // Out of range shares stay on the half circle.
        assert_eq!(round2(arc_point(-0.3, 80.0)), (20.0, 100.0));
        assert_eq!(round2(arc_point(1.7, 80.0)), (180.0, 100.0));
        // A quarter: 45° up from the left end.
        assert_eq!(round2(arc_point(0.25, 80.0)), (43.43, 43.43));
        assert_eq!(arc_path(0), "M 20 100 A 80 80 0 0 1 20.00 100.00");
        assert_eq!(arc_path(500), "M 20 100 A 80 80 0 0 1 100.00 20.00");
        // 88.9 %: 20° above the right end.
        assert_eq!(arc_path(889), "M 20 100 A 80 80 0 0 1 175.18 72.66");
        // A target of 90 %: 18° above the right end, from radius 64 to 96.
        let (x1, y1, x2, y2) = marker(90);
        assert_eq!(round2((x1, y1)), (160.87, 80.22));
        assert_eq!(round2((x2, y2)), (191.3, 70.33));
        let (x1, y1, x2, y2) = marker(50);
        assert_eq!(round2((x1, y1)), (100.0, 36.0));
        assert_eq!(round2((x2, y2)), (100.0, 4.0));
    }

    #[test]
    fn the_trend_scales_days_across_and_counts_up() {
        // A week: the plot is 584 wide (44 to 628) and 178 high (12 to 190).
        let week = TrendScale::new(7, 4);
        assert_eq!(week.x(0), 44.0);
        assert_eq!(week.x(3), 336.0);
        assert_eq!(week.x(6), 628.0);
        assert_eq!(week.y(0), 190.0);
        assert_eq!(week.y(4), 12.0);
        assert_eq!(week.y(1), 145.5);
        assert_eq!(week.points(&[0, 4, 1]), "44.0,190.0 141.3,12.0 238.7,145.5");
        assert_eq!(week.ticks(), vec![0, 3, 6]);
        // One day stands in the middle; no values still give an axis up to 1.
        let day = TrendScale::new(1, 0);
        assert_eq!(day.max(), 1);
        assert_eq!(day.x(0), 336.0);
        assert_eq!(day.y(1), 12.0);
        assert_eq!(day.ticks(), vec![0]);
        // Two days: both named once; no days: nothing named.
        assert_eq!(TrendScale::new(2, 3).ticks(), vec![0, 1]);
        assert_eq!(TrendScale::new(2, 3).x(1), 628.0);
        assert_eq!(TrendScale::new(0, 3).ticks(), Vec::<usize>::new());
        // Thirty days: the middle is day 15.
        let month = TrendScale::new(30, 10);
        assert_eq!(month.ticks(), vec![0, 15, 29]);
        assert_eq!(month.x(15), 44.0 + 15.0 * 584.0 / 29.0);
    }

    #[test]
    fn weeks_stand_in_their_slots() {
        // Four weeks over the plot's 584: slots of 146, bars of 40 (60 % is 87.6).
        let s = WeekScale::new(4, 10);
        assert_eq!(s.centre(0), 117.0);
        assert_eq!(s.centre(3), 555.0);
        assert_eq!(s.bar_width(), 40.0);
        assert_eq!(s.bar(0, 10), (97.0, 12.0, 40.0, 178.0));
        assert_eq!(s.bar(1, 5), (243.0, 101.0, 40.0, 89.0));
        assert_eq!(s.bar(2, 0), (389.0, 190.0, 40.0, 0.0));
        assert_eq!(s.rate_y(1000), 12.0);
        assert_eq!(s.rate_y(500), 101.0);
        assert_eq!(s.rate_y(0), 190.0);
        // Twenty weeks: the bars narrow to 60 % of a slot of 29.2.
        let s = WeekScale::new(20, 1);
        assert!((s.bar_width() - 17.52).abs() < 1e-9);
        // No weeks, no values: still an axis up to 1.
        assert_eq!(WeekScale::new(0, 0).max(), 1);
    }

    #[test]
    fn bars_and_the_stack_are_in_proportion() {
        assert_eq!(bar_y(0), 8.0);
        assert_eq!(bar_y(2), 64.0);
        assert_eq!(bars_height(0), 16.0);
        assert_eq!(bars_height(3), 100.0);
        assert_eq!(bar_width(Some(1000)), 300.0);
        assert_eq!(bar_width(Some(500)), 150.0);
        assert_eq!(bar_width(Some(333)), 99.9);
        // No rate (no case to count it on): no bar, not a bar of 0 % drawn as one.
        assert_eq!(bar_width(None), 0.0);
        assert_eq!(
            stack_spans(&[100, 300, 100]),
            [(0.0, 120.0), (120.0, 360.0), (480.0, 120.0)]
        );
        assert_eq!(
            stack_spans(&[0, 0, 0]),
            [(0.0, 0.0), (0.0, 0.0), (0.0, 0.0)]
        );
        // Case B of the reports' story: 200 minutes with the agent, 90 on the
        // customer, drawn to a tenth as the page writes them.
        let tenth = |v: f64| (v * 10.0).round() / 10.0;
        let spans = stack_spans(&[0, 200 * 60, 90 * 60]).map(|(x, w)| (tenth(x), tenth(w)));
        assert_eq!(spans, [(0.0, 0.0), (0.0, 413.8), (413.8, 186.2)]);
        // A negative part (never written, but not trusted) draws nothing and takes
        // nothing from the others: the bar never runs past its box.
        assert_eq!(
            stack_spans(&[-50, 150, 50]),
            [(0.0, 0.0), (0.0, 450.0), (450.0, 150.0)]
        );
    }
}
