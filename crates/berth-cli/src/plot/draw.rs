//! Drawing pieces both pictures use: the style sheet, step lines with gaps,
//! bars, titles and the legend.

use super::axis::Frame;
use super::decimate::{Bar, thin_polyline};
use super::svg::{Anchor, PathData, Svg};

/// The style sheet. Colours follow tcptrace's time-sequence graphs where
/// it has one (red retransmissions, green ACKs, yellow window, purple
/// SACKs); classes name what each element is, for readers and for tests.
/// Legend swatches use `k-` classes, so that counting the elements of a
/// class counts what the graph shows, not its key.
pub(crate) const STYLE: &str = "\
path{fill:none}\
.grid{stroke:#e8e8e8}\
.frame{fill:none;stroke:#555}\
.tick{stroke:#555}\
.label{fill:#333;font-size:11px}\
.axis-title{fill:#222;font-size:12px}\
.title{fill:#111;font-size:15px;font-weight:bold}\
.subtitle{fill:#444;font-size:12px}\
.seg,.k-seg{stroke:#1f3f99;stroke-width:1.2}\
.retransmit,.k-retransmit{stroke:#d62728;stroke-width:1.8}\
.ack,.k-ack{stroke:#2ca02c;stroke-width:1.2}\
.rwin,.k-rwin{stroke:#c9a800;stroke-width:1.2}\
.sack,.k-sack{stroke:#9467bd;stroke-width:3;stroke-opacity:.55}\
.syn,.k-syn{fill:#ff7f0e;stroke:#ff7f0e}\
.fin,.k-fin{fill:#8c564b;stroke:#8c564b}\
.rst,.k-rst{fill:#e377c2;stroke:#e377c2}\
.syn.retransmit,.fin.retransmit{stroke:#d62728;stroke-width:1.5}\
.cwnd,.k-cwnd{stroke:#1f77b4;stroke-width:1.5}\
.ssthresh,.k-ssthresh{stroke:#ff7f0e;stroke-width:1.5;stroke-dasharray:6 3}\
.flight,.k-flight{stroke:#2ca02c;stroke-width:1.2}\
.srtt,.k-srtt{stroke:#9467bd;stroke-width:1.5}\
.rto,.k-rto{stroke:#d62728;stroke-width:1.2;stroke-dasharray:4 2}";

/// Keeps a pixel coordinate near the frame (clipping hides the rest), so
/// values far outside do not print as huge numbers.
pub(crate) fn clamp_y(frame: &Frame, y: f64) -> f64 {
    y.clamp(frame.top - 4.0, frame.bottom + 4.0)
}

/// A step line through `points` (pixel x, pixel y or a gap), held until
/// `x_end`, thinned to a few points per pixel column.
pub(crate) fn step_path(frame: &Frame, points: &[(f64, Option<f64>)], x_end: f64) -> PathData {
    let mut d = PathData::default();
    let mut run: Vec<(f64, f64)> = Vec::new();
    let flush = |run: &mut Vec<(f64, f64)>, d: &mut PathData| {
        let thin = thin_polyline(run);
        for (i, &(x, y)) in thin.iter().enumerate() {
            if i == 0 {
                d.move_to(x, y);
            } else {
                d.line_to(x, y);
            }
        }
        run.clear();
    };
    for &(x, y) in points {
        match y {
            Some(y) => {
                let y = clamp_y(frame, y);
                if let Some(&(_, prev)) = run.last() {
                    run.push((x, prev));
                }
                run.push((x, y));
            }
            None => {
                if let Some(&(_, prev)) = run.last() {
                    run.push((x, prev));
                }
                flush(&mut run, &mut d);
            }
        }
    }
    if let Some(&(x, prev)) = run.last()
        && x_end > x
    {
        run.push((x_end, prev));
    }
    flush(&mut run, &mut d);
    d
}

/// What a bar looks like.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum BarShape {
    /// A vertical line with caps this many pixels to either side at both
    /// ends (a data segment).
    Capped(f64),
    /// A plain vertical line (a SACK block).
    Plain,
    /// A diamond at the top (SYN, FIN, RST), a line if merged.
    Marker,
}

/// Draws merged bars, one element each; a bar that stands for several
/// items says how many in `data-n`.
pub(crate) fn bars(svg: &mut Svg, frame: &Frame, class: &str, bars: &[Bar], shape: BarShape) {
    for b in bars {
        let (top, bottom) = (clamp_y(frame, b.top), clamp_y(frame, b.bottom));
        let mut d = PathData::default();
        match shape {
            BarShape::Capped(cap) => {
                d.move_to(b.x, top);
                d.v_to(bottom);
                d.move_to(b.x - cap, top);
                d.h_rel(2.0 * cap);
                d.move_to(b.x - cap, bottom);
                d.h_rel(2.0 * cap);
            }
            BarShape::Plain => {
                d.move_to(b.x, top);
                d.v_to(bottom.max(top + 1.0));
            }
            BarShape::Marker => {
                d.move_to(b.x - 3.5, top);
                d.line_to(b.x, top - 3.5);
                d.line_to(b.x + 3.5, top);
                d.line_to(b.x, top + 3.5);
                d.line_to(b.x - 3.5, top);
                if bottom > top + 1.0 {
                    d.move_to(b.x, top);
                    d.v_to(bottom);
                }
            }
        }
        let n = b.n.to_string();
        let extra: &[(&str, &str)] = if b.n > 1 { &[("data-n", &n)] } else { &[] };
        svg.path(class, d.as_str(), extra);
    }
}

/// The title and a subtitle line or two above the frame.
pub(crate) fn titles(svg: &mut Svg, width: f64, title: &str, lines: &[String]) {
    svg.text("title", width / 2.0, 22.0, Anchor::Middle, false, title);
    for (i, l) in lines.iter().enumerate() {
        svg.text(
            "subtitle",
            width / 2.0,
            41.0 + 16.0 * i as f64,
            Anchor::Middle,
            false,
            l,
        );
    }
}

/// One legend entry: the classes of what it stands for (its swatch gets
/// them with a `k-` prefix), the shape, the text.
pub(crate) type LegendEntry<'a> = (&'a str, BarShape, &'a str);

/// A row of legend entries centred at `y`; `Plain` swatches are short
/// horizontal lines, `Marker` swatches diamonds, `Capped` short bars.
pub(crate) fn legend(svg: &mut Svg, width: f64, y: f64, entries: &[LegendEntry<'_>]) {
    // Rough text widths (11 px font): enough to space entries evenly.
    let widths: Vec<f64> = entries
        .iter()
        .map(|(_, _, t)| 34.0 + 6.2 * t.chars().count() as f64 + 18.0)
        .collect();
    let total: f64 = widths.iter().sum();
    let mut x = ((width - total) / 2.0).max(8.0);
    svg.open_group("legend", None);
    for ((class, shape, text), w) in entries.iter().zip(&widths) {
        let mut d = PathData::default();
        match shape {
            BarShape::Plain => {
                d.move_to(x, y - 4.0);
                d.h_rel(26.0);
            }
            BarShape::Capped(cap) => {
                d.move_to(x + 13.0, y - 10.0);
                d.v_to(y + 2.0);
                d.move_to(x + 13.0 - cap, y - 10.0);
                d.h_rel(2.0 * cap);
                d.move_to(x + 13.0 - cap, y + 2.0);
                d.h_rel(2.0 * cap);
            }
            BarShape::Marker => {
                d.move_to(x + 9.5, y - 4.0);
                d.line_to(x + 13.0, y - 7.5);
                d.line_to(x + 16.5, y - 4.0);
                d.line_to(x + 13.0, y - 0.5);
                d.line_to(x + 9.5, y - 4.0);
            }
        }
        let key: Vec<String> = class.split(' ').map(|c| format!("k-{c}")).collect();
        svg.path(&key.join(" "), d.as_str(), &[]);
        svg.text("label", x + 32.0, y, Anchor::Start, false, text);
        x += w;
    }
    svg.close_group();
}

/// A count with thousands separators (`1 234 567`) for subtitles.
pub(crate) fn count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push('\u{2009}');
        }
        out.push(c);
    }
    out
}

/// Seconds, printed for a subtitle (milliseconds shown).
pub(crate) fn seconds(us: u64) -> String {
    format!("{:.3} s", us as f64 / 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;

    const F: Frame = Frame {
        left: 0.0,
        top: 0.0,
        right: 100.0,
        bottom: 100.0,
    };

    #[test]
    fn step_lines_hold_values_and_break_at_gaps() {
        let d = step_path(
            &F,
            &[
                (1.0, Some(50.0)),
                (5.0, Some(40.0)),
                (7.0, None),
                (9.0, Some(30.0)),
            ],
            20.0,
        );
        assert_eq!(d.as_str(), "M1 50L5 50L5 40L7 40M9 30L20 30");
        let far = step_path(&F, &[(1.0, Some(-1e12))], 1.0);
        assert_eq!(far.as_str(), "M1 -4");
    }

    #[test]
    fn counts_are_grouped() {
        assert_eq!(count(7), "7");
        assert_eq!(count(1234567), "1\u{2009}234\u{2009}567");
    }
}
