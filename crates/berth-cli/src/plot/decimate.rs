//! Keeping big pictures small. A run of millions of segments must not give
//! an SVG of millions of elements, yet a short run should show every
//! segment. Both work in pixel space:
//!
//! - Vertical bars (segments, SACK blocks) in the same pixel column whose
//!   extents touch (within a pixel) become one bar that remembers how many
//!   it stands for. Contiguous data sent within one column's time is one
//!   bar; scattered retransmissions stay apart. If that still leaves more
//!   than a budget, columns are widened (2, 4, … pixels) until it fits.
//! - Polylines keep, per pixel column, the first, lowest, highest and last
//!   point, which draws the same picture with at most four points a column.

/// One bar in pixel space: `top <= bottom`, `n` source items.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Bar {
    pub(crate) x: f64,
    pub(crate) top: f64,
    pub(crate) bottom: f64,
    pub(crate) n: u32,
}

/// How close (pixels) two bars of one column may be and still merge.
const TOUCH: f64 = 1.0;
/// The widest column the budget may force.
const MAX_BIN: f64 = 64.0;

fn merge_with_bin(items: &[(f64, f64, f64)], bin: f64) -> Vec<Bar> {
    let mut out = Vec::new();
    let mut open: Vec<Bar> = Vec::new();
    let mut column = f64::NAN;
    for &(x, a, b) in items {
        let (top, bottom) = if a <= b { (a, b) } else { (b, a) };
        let c = (x / bin).floor();
        if c != column {
            out.append(&mut open);
            column = c;
        }
        match open
            .iter_mut()
            .find(|o| o.top - TOUCH <= bottom && top <= o.bottom + TOUCH)
        {
            Some(o) => {
                o.top = o.top.min(top);
                o.bottom = o.bottom.max(bottom);
                o.n += 1;
            }
            None => open.push(Bar {
                x,
                top,
                bottom,
                n: 1,
            }),
        }
    }
    out.append(&mut open);
    out
}

/// Merges bars `(x, y_a, y_b)`, given in order of `x`, to at most `budget`
/// (unless even 64-pixel columns leave more).
pub(crate) fn merge_bars(items: &[(f64, f64, f64)], budget: usize) -> Vec<Bar> {
    let mut bin = 1.0;
    loop {
        let bars = merge_with_bin(items, bin);
        if bars.len() <= budget || bin >= MAX_BIN {
            return bars;
        }
        bin *= 2.0;
    }
}

/// Thins a polyline (points in order of `x`) to at most four points per
/// pixel column: first, lowest, highest, last, in their original order.
pub(crate) fn thin_polyline(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < points.len() {
        let column = points[i].0.floor();
        let mut j = i;
        while j < points.len() && points[j].0.floor() == column {
            j += 1;
        }
        let group = &points[i..j];
        if group.len() <= 4 {
            out.extend_from_slice(group);
        } else {
            let (mut lo, mut hi) = (0, 0);
            for (k, p) in group.iter().enumerate() {
                if p.1 < group[lo].1 {
                    lo = k;
                }
                if p.1 > group[hi].1 {
                    hi = k;
                }
            }
            let mut keep = [0, lo, hi, group.len() - 1];
            keep.sort_unstable();
            let mut last = usize::MAX;
            for k in keep {
                if k != last {
                    out.push(group[k]);
                    last = k;
                }
            }
        }
        i = j;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contiguous_bars_in_a_column_merge() {
        let items = [
            (10.1, 100.0, 90.0),
            (10.5, 90.0, 80.0),
            (10.9, 40.0, 30.0),
            (11.2, 30.0, 20.0),
        ];
        let bars = merge_bars(&items, 100);
        assert_eq!(
            bars,
            [
                Bar {
                    x: 10.1,
                    top: 80.0,
                    bottom: 100.0,
                    n: 2
                },
                Bar {
                    x: 10.9,
                    top: 30.0,
                    bottom: 40.0,
                    n: 1
                },
                Bar {
                    x: 11.2,
                    top: 20.0,
                    bottom: 30.0,
                    n: 1
                },
            ]
        );
        assert_eq!(bars.iter().map(|b| b.n).sum::<u32>(), 4);
    }

    #[test]
    fn a_budget_widens_columns_and_keeps_counts() {
        // 10,000 separate bars, one per column, each far from the last.
        let items: Vec<_> = (0..10_000)
            .map(|i| {
                let y = f64::from(i % 2) * 300.0;
                (f64::from(i) * 0.09, y, y + 2.0)
            })
            .collect();
        let bars = merge_bars(&items, 500);
        assert!(bars.len() <= 500, "{}", bars.len());
        assert_eq!(bars.iter().map(|b| b.n).sum::<u32>(), 10_000);
    }

    #[test]
    fn polylines_keep_the_extremes() {
        let pts: Vec<_> = (0..100)
            .map(|i| (5.0 + f64::from(i) / 200.0, f64::from((i * 37) % 11)))
            .collect();
        let thin = thin_polyline(&pts);
        assert!(thin.len() <= 4);
        assert_eq!(thin.first(), pts.first());
        assert_eq!(thin.last(), pts.last());
        assert!(thin.iter().any(|p| p.1 == 0.0));
        assert!(thin.iter().any(|p| p.1 == 10.0));
    }
}
