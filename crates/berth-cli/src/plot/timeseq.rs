//! The time-sequence graph of one direction of a connection, in the style
//! of tcptrace and Wireshark's "Stevens" graph: time across, relative
//! sequence number up. Each data segment is a vertical bar from its first to
//! its last byte at the time it was sent (red if a retransmission); the
//! cumulative ACK of the receiver is a green step line, ACK plus the
//! advertised window a yellow one, and the SACK blocks of each ACK purple
//! bars. SYN, FIN and RST are diamonds.
//!
//! Elements carry classes (`seg`, `retransmit`, `ack`, `rwin`, `sack`,
//! `syn`, `fin`, `rst`); a bar standing for several segments (see
//! `decimate`) says how many in `data-n`.

use super::axis::{Frame, Scale, Ticks, draw_axes, label_bytes, label_seconds};
use super::decimate::merge_bars;
use super::draw::{self, BarShape, bars, legend, step_path, titles};
use super::svg::Svg;
use super::trace::Conn;

const WIDTH: f64 = 1000.0;
const HEIGHT: f64 = 660.0;
pub(crate) const FRAME: Frame = Frame {
    left: 90.0,
    top: 74.0,
    right: 975.0,
    bottom: 580.0,
};

/// The most bars of each kind drawn (a 256 MiB transfer stays a few MB).
const DATA_BUDGET: usize = 12_000;
const SACK_BUDGET: usize = 6_000;
const MARKER_BUDGET: usize = 1_000;

/// The direction's name in titles and file names.
pub(crate) fn dir_name(d: usize) -> &'static str {
    if d == 0 { "up" } else { "down" }
}

/// The time axis shared with the state picture: seconds since the
/// connection's first packet, to its last (or to `t_end`, if later).
pub(crate) fn time_scale(conn: &Conn, t_end: u64, frame: &Frame) -> Scale {
    let span = t_end.max(conn.last_t).saturating_sub(conn.first_t) as f64 / 1e6;
    Scale::linear(0.0, span.max(1e-3) * 1.01, frame.left, frame.right)
}

/// Draws direction `d` of `conn`, the time axis running to `t_end` at
/// least.
pub(crate) fn render(conn: &Conn, d: usize, t_end: u64) -> String {
    let dir = &conn.dirs[d];
    let acks = &conn.dirs[1 - d].acks;
    let frame = FRAME;
    let t0 = conn.first_t;
    let xs = time_scale(conn, t_end, &frame);
    let x = |t: u64| xs.map(t.saturating_sub(t0) as f64 / 1e6);

    // The y range: everything sent and acknowledged, and of the window
    // line as much as fits in half again that (it can be far above a short
    // transfer; the rest is clipped).
    let seg_end =
        |s: &super::trace::SegRec| s.start + i64::from(s.syn) + i64::from(s.len) + i64::from(s.fin);
    let high = dir
        .segs
        .iter()
        .map(seg_end)
        .chain(acks.iter().map(|a| a.ack))
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let low = dir.segs.iter().map(|s| s.start).min().unwrap_or(0).min(0) as f64;
    let win_high = acks
        .iter()
        .map(|a| a.ack as f64 + a.window as f64)
        .fold(0.0, f64::max);
    let top = high.max(win_high.min(high * 1.5));
    // At least ten bytes tall: ticks are whole bytes.
    let ys = Scale::linear(low, (top * 1.02).max(10.0), frame.bottom, frame.top);
    let y = |v: i64| ys.map(v as f64);

    let title = format!(
        "conn {}: {} \u{2192} {} ({}: {} data)",
        conn.number,
        dir.from,
        dir.to,
        dir_name(d),
        if d == 0 { "client" } else { "server" }
    );
    let mut svg = Svg::new(WIDTH as u32, HEIGHT as u32, &title, draw::STYLE);
    let data_segs = dir.segs.iter().filter(|s| s.len > 0).count() as u64;
    let rexmit_data = dir
        .segs
        .iter()
        .filter(|s| s.len > 0 && s.retransmit)
        .count() as u64;
    let mut lines = vec![format!(
        "{} data segments, {} bytes ({} retransmitted segments, {} with data) \u{b7} {} ACKs from {} \u{b7} {}",
        draw::count(data_segs),
        draw::count(dir.payload_sent()),
        draw::count(dir.retransmits),
        draw::count(rexmit_data),
        draw::count(acks.len() as u64),
        dir.to,
        draw::seconds(conn.last_t.saturating_sub(conn.first_t)),
    )];
    if !conn.scale_known() && !acks.is_empty() {
        lines.push("handshake not captured: window scale unknown, windows drawn unscaled".into());
    }
    svg.clip_rect(
        "plot",
        frame.left,
        frame.top - 4.0,
        frame.width(),
        frame.height() + 8.0,
    );
    draw_axes(
        &mut svg,
        &frame,
        (
            &xs,
            &Ticks::linear(&xs, 10, label_seconds),
            "time since the connection's first packet (s)",
        ),
        (
            &ys,
            &Ticks::linear(&ys, 8, label_bytes),
            "relative sequence number (bytes)",
        ),
    );

    svg.open_group("graph", Some("plot"));
    let x_end = x(t_end.max(conn.last_t));
    let win: Vec<_> = acks
        .iter()
        .map(|a| (x(a.t), Some(ys.map(a.ack as f64 + a.window as f64))))
        .collect();
    svg.path("rwin", step_path(&frame, &win, x_end).as_str(), &[]);
    let ack: Vec<_> = acks.iter().map(|a| (x(a.t), Some(y(a.ack)))).collect();
    svg.path("ack", step_path(&frame, &ack, x_end).as_str(), &[]);

    let sack: Vec<_> = acks
        .iter()
        .flat_map(|a| a.sack.iter().flatten().map(move |&(l, r)| (a.t, l, r)))
        .map(|(t, l, r)| (x(t), y(l), y(r)))
        .collect();
    bars(
        &mut svg,
        &frame,
        "sack",
        &merge_bars(&sack, SACK_BUDGET),
        BarShape::Plain,
    );

    let data_bar = |rexmit: bool| -> Vec<(f64, f64, f64)> {
        dir.segs
            .iter()
            .filter(|s| s.len > 0 && s.retransmit == rexmit)
            .map(|s| {
                let from = s.start + i64::from(s.syn);
                (x(s.t), y(from), y(from + i64::from(s.len)))
            })
            .collect()
    };
    let new_data = merge_bars(&data_bar(false), DATA_BUDGET);
    let rexmits = merge_bars(&data_bar(true), DATA_BUDGET);
    let bar_count = (new_data.len() + rexmits.len()) as u64;
    if bar_count < data_segs {
        let (t_lo, t_hi) = xs.range();
        let column_ms = (t_hi - t_lo) / frame.width() * 1000.0;
        lines.push(format!(
            "contiguous segments sent within one pixel column ({column_ms:.2} ms) \
             are one bar: {} bars for {} segments",
            draw::count(bar_count),
            draw::count(data_segs)
        ));
    }
    // Caps as wide as the bars are sparse: distinct segments zoomed in, a
    // plain line zoomed out. Retransmissions get wider ones, to stand out.
    let cap = |n: usize, widest: f64| (frame.width() / n.max(1) as f64).clamp(1.0, widest);
    let (seg_cap, rexmit_cap) = (cap(new_data.len(), 2.0), cap(rexmits.len(), 4.0));
    bars(
        &mut svg,
        &frame,
        "seg",
        &new_data,
        BarShape::Capped(seg_cap),
    );
    bars(
        &mut svg,
        &frame,
        "seg retransmit",
        &rexmits,
        BarShape::Capped(rexmit_cap),
    );

    // Control markers. A retransmitted segment is marked once: on its data
    // bar if it has data, else on its SYN diamond, else on its FIN's.
    let mut marks: [Vec<(f64, f64, f64)>; 5] = Default::default();
    for s in &dir.segs {
        let pure_rexmit = s.retransmit && s.len == 0;
        let at = |v: i64| (x(s.t), y(v), y(v));
        if s.syn {
            marks[usize::from(pure_rexmit)].push(at(s.start));
        }
        if s.fin {
            let fin_at = s.start + i64::from(s.syn) + i64::from(s.len);
            marks[2 + usize::from(pure_rexmit && !s.syn)].push(at(fin_at));
        }
        if s.rst {
            marks[4].push(at(s.start));
        }
    }
    let classes = ["syn", "syn retransmit", "fin", "fin retransmit", "rst"];
    for (class, points) in classes.iter().zip(&marks) {
        let merged = merge_bars(points, MARKER_BUDGET);
        bars(&mut svg, &frame, class, &merged, BarShape::Marker);
    }
    svg.close_group();
    titles(&mut svg, WIDTH, &title, &lines);

    // The key: what every picture has, and the rest if it is there.
    let mut key = vec![
        ("seg", BarShape::Capped(2.0), "data segment"),
        ("seg retransmit", BarShape::Capped(4.0), "retransmission"),
        ("ack", BarShape::Plain, "cumulative ACK"),
        ("rwin", BarShape::Plain, "ACK + receive window"),
    ];
    if !sack.is_empty() {
        key.push(("sack", BarShape::Plain, "SACK block"));
    }
    for (i, (class, text)) in [("syn", "SYN"), ("fin", "FIN"), ("rst", "RST")]
        .into_iter()
        .enumerate()
    {
        let present = match i {
            0 => !marks[0].is_empty() || !marks[1].is_empty(),
            1 => !marks[2].is_empty() || !marks[3].is_empty(),
            _ => !marks[4].is_empty(),
        };
        if present {
            key.push((class, BarShape::Marker, text));
        }
    }
    legend(&mut svg, WIDTH, HEIGHT - 14.0, &key);
    svg.finish()
}
