//! Statistics, alternation order and table output shared by the benchmarks.

/// Median, p90 (nearest rank), min and max of a sample.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stats {
    pub(crate) median: f64,
    pub(crate) p90: f64,
    pub(crate) min: f64,
    pub(crate) max: f64,
    pub(crate) n: usize,
}

pub(crate) fn stats(xs: &[f64]) -> Stats {
    let mut v: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return Stats {
            median: f64::NAN,
            p90: f64::NAN,
            min: f64::NAN,
            max: f64::NAN,
            n: 0,
        };
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    let p90 = v[((n as f64 * 0.9).ceil() as usize).clamp(1, n) - 1];
    Stats {
        median,
        p90,
        min: v[0],
        max: v[n - 1],
        n,
    }
}

/// The nearest-rank `q` quantile of a sample (`q` in (0, 1]); NaN when it is empty.
pub(crate) fn percentile(xs: &[f64], q: f64) -> f64 {
    let mut v: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[((v.len() as f64 * q).ceil() as usize).clamp(1, v.len()) - 1]
}

/// Seconds in a readable unit.
pub(crate) fn fmt_time(seconds: f64) -> String {
    if !seconds.is_finite() {
        return "n/a".into();
    }
    let abs = seconds.abs();
    if abs >= 1.0 {
        format!("{seconds:.3} s")
    } else if abs >= 1e-3 {
        format!("{:.2} ms", seconds * 1e3)
    } else {
        format!("{:.2} µs", seconds * 1e6)
    }
}

/// `median (p90 p90)`.
pub(crate) fn fmt_stats(s: &Stats) -> String {
    format!("{} (p90 {})", fmt_time(s.median), fmt_time(s.p90))
}

/// `median (min–max)` of ratios.
pub(crate) fn fmt_ratios(s: &Stats) -> String {
    format!("{:.3} ({:.3}–{:.3})", s.median, s.min, s.max)
}

/// Which path runs first in repetition `rep`: the two alternate.
pub(crate) fn order(rep: usize) -> [Path; 2] {
    if rep.is_multiple_of(2) {
        [Path::Plugin, Path::Native]
    } else {
        [Path::Native, Path::Plugin]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Path {
    Plugin,
    Native,
}

/// Prints a markdown table row by row, so partial results show while the run goes on.
pub(crate) fn table(header: &[&str]) {
    println!("| {} |", header.join(" | "));
    println!("|{}", "---|".repeat(header.len()));
}

pub(crate) fn row(cells: &[String]) {
    println!("| {} |", cells.join(" | "));
}

pub(crate) fn progress(message: &str) {
    eprintln!("[bench] {message}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_median_p90_and_spread() {
        let s = stats(&[5.0, 1.0, 3.0, 2.0, 4.0]);
        assert_eq!((s.median, s.min, s.max, s.n), (3.0, 1.0, 5.0, 5));
        assert_eq!(s.p90, 5.0);
        let s = stats(&[4.0, 1.0, 3.0, 2.0]);
        assert_eq!(s.median, 2.5);
        let xs: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(stats(&xs).p90, 9.0);
        assert!(stats(&[]).median.is_nan());
        assert_eq!(stats(&[f64::NAN, 2.0]).n, 1);
    }

    #[test]
    fn order_alternates() {
        assert_eq!(order(0), [Path::Plugin, Path::Native]);
        assert_eq!(order(1), [Path::Native, Path::Plugin]);
    }
}
