// Small exact statistics for the reports: nearest-rank percentiles over whole
// samples (no estimation, no interpolation) and shares as per-mille integers.

/// The nearest-rank `p`-th percentile (0 < p <= 100) of `sorted` (ascending): the
/// smallest value such that at least `p` % of the sample is at or below it, i.e. the
/// value at rank ⌈p/100 · n⌉. `None` for an empty sample.
pub fn nearest_rank(sorted: &[i64], p: u32) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len() as u64;
    let rank = (u64::from(p.clamp(1, 100)) * n).div_ceil(100).max(1);
    sorted.get((rank - 1) as usize).copied()
}

/// The rank (1-based) of the nearest-rank `p`-th percentile in a sample of `n`.
fn rank(n: usize, p: u32) -> usize {
    ((u64::from(p.clamp(1, 100)) * n as u64).div_ceil(100).max(1)) as usize
}

/// The median (nearest rank, p = 50) and the 90th percentile of a sample, which is
/// reordered in place: the two ranks are selected (linear time), not sorted for.
pub fn median_p90(sample: &mut [i64]) -> (Option<i64>, Option<i64>) {
    let n = sample.len();
    if n == 0 {
        return (None, None);
    }
    let (r50, r90) = (rank(n, 50) - 1, rank(n, 90) - 1);
    let (below, p90, _) = sample.select_nth_unstable(r90);
    let p90 = *p90;
    let p50 = if r50 == r90 {
        p90
    } else {
        *below.select_nth_unstable(r50).1
    };
    (Some(p50), Some(p90))
}

/// A share `part / whole` in tenths of a per cent (per mille), rounded half up;
/// `None` when `whole` is 0.
pub fn per_mille(part: u64, whole: u64) -> Option<u64> {
    (whole > 0).then(|| (part * 1000 * 2 + whole) / (2 * whole))
}

/// A per-mille share as text with one decimal: `912` → `91.2`.
pub fn percent_text(per_mille: Option<u64>) -> String {
    match per_mille {
        Some(v) => format!("{}.{}", v / 10, v % 10),
        None => "–".to_string(),
    }
}

/// A duration in seconds as `H:MM:SS` (hours may exceed 24).
pub fn duration_text(secs: Option<i64>) -> String {
    match secs {
        Some(s) => {
            let s = s.max(0);
            format!("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
        }
        None => "–".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        assert_eq!(nearest_rank(&[], 50), None);
        assert_eq!(nearest_rank(&[7], 50), Some(7));
        assert_eq!(nearest_rank(&[7], 90), Some(7));
        // n = 10: the median is the 5th value, p90 the 9th.
        let ten: Vec<i64> = (1..=10).collect();
        assert_eq!(nearest_rank(&ten, 50), Some(5));
        assert_eq!(nearest_rank(&ten, 90), Some(9));
        assert_eq!(nearest_rank(&ten, 100), Some(10));
        // n = 4: median rank ⌈2⌉ = 2, p90 rank ⌈3.6⌉ = 4.
        assert_eq!(nearest_rank(&[10, 20, 30, 40], 50), Some(20));
        assert_eq!(nearest_rank(&[10, 20, 30, 40], 90), Some(40));
        // n = 11: median rank 6, p90 rank ⌈9.9⌉ = 10.
        let eleven: Vec<i64> = (1..=11).collect();
        assert_eq!(nearest_rank(&eleven, 50), Some(6));
        assert_eq!(nearest_rank(&eleven, 90), Some(10));
        // Always a value of the sample, never an interpolation.
        let mut s = vec![300, 100, 200];
        assert_eq!(median_p90(&mut s), (Some(200), Some(300)));
        // Selection agrees with sorting on any sample.
        let mut x: u64 = 7;
        for n in 1..300 {
            let mut v: Vec<i64> = (0..n)
                .map(|_| {
                    x = x
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    (x >> 40) as i64 % 50
                })
                .collect();
            let mut sorted = v.clone();
            sorted.sort_unstable();
            assert_eq!(
                median_p90(&mut v),
                (nearest_rank(&sorted, 50), nearest_rank(&sorted, 90)),
                "n = {n}"
            );
        }
    }

    #[test]
    fn shares_and_texts() {
        assert_eq!(per_mille(0, 0), None);
        assert_eq!(per_mille(9, 10), Some(900));
        assert_eq!(per_mille(2, 3), Some(667));
        assert_eq!(per_mille(1, 3), Some(333));
        assert_eq!(percent_text(Some(667)), "66.7");
        assert_eq!(percent_text(None), "–");
        assert_eq!(duration_text(Some(3725)), "1:02:05");
        assert_eq!(duration_text(Some(90_000)), "25:00:00");
    }
}
