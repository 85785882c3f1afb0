//! Scales and axes: value → pixel maps (linear, and base-10 logarithmic for
//! times that span decades), "nice" tick values (1, 2 or 5 times a power of
//! ten, at most a handful per axis, so labels never overlap), and the frame
//! with its grid, ticks, labels and axis titles.

use super::svg::{Anchor, Svg};

/// A rectangle of the picture that a plot is drawn in.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Frame {
    pub(crate) left: f64,
    pub(crate) top: f64,
    pub(crate) right: f64,
    pub(crate) bottom: f64,
}

impl Frame {
    pub(crate) fn width(&self) -> f64 {
        self.right - self.left
    }

    pub(crate) fn height(&self) -> f64 {
        self.bottom - self.top
    }
}

/// How values map to pixels along one axis.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Scale {
    /// `lo..hi` onto `px0..px1`.
    Linear {
        lo: f64,
        hi: f64,
        px0: f64,
        px1: f64,
    },
    /// `log10(lo)..log10(hi)` onto `px0..px1`; `lo > 0`.
    Log {
        lo: f64,
        hi: f64,
        px0: f64,
        px1: f64,
    },
}

impl Scale {
    /// A linear scale; an empty range is widened so nothing divides by zero.
    pub(crate) fn linear(lo: f64, hi: f64, px0: f64, px1: f64) -> Self {
        let hi = if hi > lo { hi } else { lo + 1.0 };
        Self::Linear { lo, hi, px0, px1 }
    }

    /// A logarithmic scale over whole decades around `lo..hi`.
    pub(crate) fn log(lo: f64, hi: f64, px0: f64, px1: f64) -> Self {
        let lo = 10f64.powf(lo.max(1e-9).log10().floor());
        let hi = 10f64.powf(hi.max(lo * 10.0).log10().ceil());
        Self::Log { lo, hi, px0, px1 }
    }

    /// The pixel of a value (values outside the range map outside the
    /// pixel range; the plot clips them).
    pub(crate) fn map(&self, v: f64) -> f64 {
        match *self {
            Self::Linear { lo, hi, px0, px1 } => px0 + (v - lo) / (hi - lo) * (px1 - px0),
            Self::Log { lo, hi, px0, px1 } => {
                let v = v.max(lo / 10.0);
                px0 + (v.log10() - lo.log10()) / (hi.log10() - lo.log10()) * (px1 - px0)
            }
        }
    }

    /// The value range.
    pub(crate) fn range(&self) -> (f64, f64) {
        match *self {
            Self::Linear { lo, hi, .. } | Self::Log { lo, hi, .. } => (lo, hi),
        }
    }
}

/// A tick step of 1, 2 or 5 times a power of ten that splits `span` into at
/// most `max_ticks` intervals.
pub(crate) fn nice_step(span: f64, max_ticks: usize) -> f64 {
    let raw = if span > 0.0 && span.is_finite() {
        span / max_ticks.max(1) as f64
    } else {
        1.0
    };
    let mag = 10f64.powf(raw.log10().floor());
    for m in [1.0, 2.0, 5.0, 10.0] {
        if m * mag >= raw {
            return m * mag;
        }
    }
    10.0 * mag
}

/// Tick values at multiples of `step` inside `lo..=hi`.
pub(crate) fn ticks(lo: f64, hi: f64, step: f64) -> Vec<f64> {
    let mut out = Vec::new();
    if step.is_nan() || step <= 0.0 {
        return out;
    }
    let mut i = (lo / step).ceil();
    while i * step <= hi + step * 1e-9 && out.len() < 100 {
        out.push(i * step);
        i += 1.0;
    }
    out
}

/// Decimals needed to tell ticks `step` apart.
fn decimals(step: f64) -> usize {
    if step >= 1.0 || step <= 0.0 {
        0
    } else {
        (-step.log10() - 1e-9).ceil().max(0.0) as usize
    }
}

/// A time in seconds, as precise as the step needs.
pub(crate) fn label_seconds(v: f64, step: f64) -> String {
    format!("{v:.*}", decimals(step))
}

/// A byte count with an SI suffix chosen from the step (`250k`, `1.5M`).
pub(crate) fn label_bytes(v: f64, step: f64) -> String {
    let (unit, suffix) = if step >= 1e8 {
        (1e9, "G")
    } else if step >= 1e5 {
        (1e6, "M")
    } else if step >= 1e3 {
        (1e3, "k")
    } else {
        (1.0, "")
    };
    if v == 0.0 {
        return "0".into();
    }
    let s = format!("{:.*}", decimals(step / unit), v / unit);
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        &s
    };
    format!("{s}{suffix}")
}

/// A duration in milliseconds, for a decade tick (`0.1 ms`, `10 ms`, `1 s`).
pub(crate) fn label_millis(v: f64) -> String {
    if v >= 1000.0 {
        format!("{} s", v / 1000.0)
    } else {
        format!("{v} ms")
    }
}

/// The ticks of an axis: where, and what they say.
pub(crate) struct Ticks(pub(crate) Vec<(f64, String)>);

impl Ticks {
    /// Nice linear ticks with labels from `label(value, step)`.
    pub(crate) fn linear(scale: &Scale, max: usize, label: fn(f64, f64) -> String) -> Self {
        let (lo, hi) = scale.range();
        let step = nice_step(hi - lo, max);
        Self(
            ticks(lo, hi, step)
                .into_iter()
                .map(|v| (v, label(v, step)))
                .collect(),
        )
    }

    /// A tick per decade of a log scale.
    pub(crate) fn decades(scale: &Scale, label: fn(f64) -> String) -> Self {
        let (lo, hi) = scale.range();
        let mut out = Vec::new();
        let mut v = lo;
        while v <= hi * 1.000_001 && out.len() < 30 {
            // Round away float noise: 0.1 * 10 * 10 is 10.000000000000002.
            let clean: f64 = format!("{v:.6e}").parse().unwrap_or(v);
            out.push((clean, label(clean)));
            v = clean * 10.0;
        }
        Self(out)
    }
}

/// Draws the grid, the frame, the ticks with their labels and the two axis
/// titles.
pub(crate) fn draw_axes(
    svg: &mut Svg,
    frame: &Frame,
    x: (&Scale, &Ticks, &str),
    y: (&Scale, &Ticks, &str),
) {
    let (xs, xt, xtitle) = x;
    let (ys, yt, ytitle) = y;
    svg.open_group("axes", None);
    for (v, _) in &xt.0 {
        let px = xs.map(*v);
        svg.line("grid", px, frame.top, px, frame.bottom);
    }
    for (v, _) in &yt.0 {
        let py = ys.map(*v);
        svg.line("grid", frame.left, py, frame.right, py);
    }
    svg.rect(
        "frame",
        frame.left,
        frame.top,
        frame.width(),
        frame.height(),
    );
    for (v, label) in &xt.0 {
        let px = xs.map(*v);
        svg.line("tick", px, frame.bottom, px, frame.bottom + 5.0);
        svg.text(
            "label",
            px,
            frame.bottom + 18.0,
            Anchor::Middle,
            false,
            label,
        );
    }
    for (v, label) in &yt.0 {
        let py = ys.map(*v);
        svg.line("tick", frame.left - 5.0, py, frame.left, py);
        svg.text(
            "label",
            frame.left - 8.0,
            py + 4.0,
            Anchor::End,
            false,
            label,
        );
    }
    if !xtitle.is_empty() {
        svg.text(
            "axis-title",
            (frame.left + frame.right) / 2.0,
            frame.bottom + 36.0,
            Anchor::Middle,
            false,
            xtitle,
        );
    }
    svg.text(
        "axis-title",
        frame.left - 58.0,
        (frame.top + frame.bottom) / 2.0,
        Anchor::Middle,
        true,
        ytitle,
    );
    svg.close_group();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_one_two_five() {
        assert_eq!(nice_step(10.0, 10), 1.0);
        assert_eq!(nice_step(13.0, 10), 2.0);
        assert_eq!(nice_step(0.13, 8), 0.02);
        assert_eq!(nice_step(200_000.0, 8), 50_000.0);
        assert_eq!(nice_step(0.0, 8), 1.0, "an empty span still gets a step");
    }

    #[test]
    fn ticks_cover_the_range() {
        assert_eq!(ticks(0.0, 1.0, 0.5), vec![0.0, 0.5, 1.0]);
        assert_eq!(ticks(0.3, 1.0, 0.5), vec![0.5, 1.0]);
        assert!(ticks(0.0, 1.0, 0.0).is_empty());
        assert!(ticks(0.0, 1e12, 1e-3).len() <= 100);
    }

    #[test]
    fn labels() {
        assert_eq!(label_seconds(0.05, 0.05), "0.05");
        assert_eq!(label_seconds(2.0, 1.0), "2");
        assert_eq!(label_bytes(150_000.0, 50_000.0), "150k");
        assert_eq!(label_bytes(1_500_000.0, 500_000.0), "1.5M");
        assert_eq!(label_bytes(3_000_000.0, 500_000.0), "3M");
        assert_eq!(label_bytes(1_000_000.0, 1_000_000.0), "1M");
        assert_eq!(label_bytes(250_000_000.0, 50_000_000.0), "250M");
        assert_eq!(label_bytes(600.0, 200.0), "600");
        assert_eq!(label_millis(100.0), "100 ms");
        assert_eq!(label_millis(2000.0), "2 s");
    }

    #[test]
    fn log_scale_spans_decades() {
        let s = Scale::log(12.0, 1500.0, 100.0, 0.0);
        assert_eq!(s.range(), (10.0, 10_000.0));
        assert_eq!(s.map(10.0), 100.0);
        assert_eq!(s.map(10_000.0), 0.0);
        let t = Ticks::decades(&s, label_millis);
        let labels: Vec<&str> = t.0.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(labels, ["10 ms", "100 ms", "1 s", "10 s"]);
    }
}
