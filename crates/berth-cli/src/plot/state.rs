//! The sender's state over time, for `berth sim`: congestion window,
//! slow-start threshold and bytes in flight in one panel (bytes), smoothed
//! RTT and retransmission timeout in another (milliseconds, logarithmic, as
//! an RTO backs off by powers of two while the RTT stays put).
//!
//! cwnd, ssthresh, srtt and rto come from `Stack::tcp_info`. The core does
//! not expose bytes in flight, so it is worked out here from what is public:
//! the highest payload byte sent (seen on the wire) minus the payload bytes
//! acknowledged (`ConnStats::bytes_acked`), that is SND.MAX − SND.UNA in
//! payload bytes. That is not RFC 6675's pipe: SACKed and lost bytes count.

use berth_core::stack::TcpInfo;

use super::axis::{Frame, Scale, Ticks, draw_axes, label_bytes, label_millis, label_seconds};
use super::draw::{self, BarShape, legend, step_path, titles};
use super::svg::Svg;
use super::timeseq::{dir_name, time_scale};
use super::trace::Conn;

/// One observation of a sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sample {
    pub(crate) t: u64,
    pub(crate) cwnd: u64,
    /// `None` while it is "infinite" (no loss yet).
    pub(crate) ssthresh: Option<u64>,
    pub(crate) flight: u64,
    pub(crate) srtt_us: Option<u64>,
    pub(crate) rto_us: u64,
}

impl Sample {
    /// A sample from `tcp_info` and the highest payload byte sent.
    pub(crate) fn new(t: u64, info: &TcpInfo, payload_sent: u64) -> Self {
        let ssthresh = info.ssthresh as u64;
        Self {
            t,
            cwnd: info.cwnd as u64,
            // What `berth ss` prints as "inf".
            ssthresh: (ssthresh < u64::from(u32::MAX)).then_some(ssthresh),
            flight: payload_sent.saturating_sub(info.stats.bytes_acked),
            srtt_us: info.srtt.map(|d| d.as_micros() as u64),
            rto_us: info.rto.as_micros() as u64,
        }
    }

    fn same_values(&self, other: &Self) -> bool {
        (
            self.cwnd,
            self.ssthresh,
            self.flight,
            self.srtt_us,
            self.rto_us,
        ) == (
            other.cwnd,
            other.ssthresh,
            other.flight,
            other.srtt_us,
            other.rto_us,
        )
    }
}

/// A sender's samples: one per change.
#[derive(Debug, Clone, Default)]
pub(crate) struct Series {
    pub(crate) samples: Vec<Sample>,
}

impl Series {
    /// Keeps `s` if any value changed since the last one kept.
    pub(crate) fn push(&mut self, s: Sample) {
        if self.samples.last().is_none_or(|l| !l.same_values(&s)) {
            self.samples.push(s);
        }
    }
}

const WIDTH: f64 = 1000.0;
const HEIGHT: f64 = 730.0;
const TOP: Frame = Frame {
    left: 90.0,
    top: 74.0,
    right: 975.0,
    bottom: 370.0,
};
const BOTTOM: Frame = Frame {
    left: 90.0,
    top: 412.0,
    right: 975.0,
    bottom: 650.0,
};

/// Draws the state of the sender of direction `d` of `conn`.
pub(crate) fn render(conn: &Conn, d: usize, series: &Series, t_end: u64) -> String {
    let dir = &conn.dirs[d];
    let title = format!(
        "conn {}: sender {} \u{2192} {} ({}): congestion state",
        conn.number,
        dir.from,
        dir.to,
        dir_name(d)
    );
    let mut svg = Svg::new(WIDTH as u32, HEIGHT as u32, &title, draw::STYLE);
    let s = &series.samples;
    let max_rto = s.iter().map(|v| v.rto_us).max().unwrap_or(0);
    let lines = vec![
        format!(
            "{} samples (one per change) \u{b7} cwnd up to {} bytes \u{b7} largest RTO {}",
            draw::count(s.len() as u64),
            draw::count(s.iter().map(|v| v.cwnd).max().unwrap_or(0)),
            draw::seconds(max_rto)
        ),
        "in flight = highest byte sent (wire) \u{2212} bytes acked (tcp_info); \
         ssthresh not drawn while infinite"
            .to_string(),
    ];
    titles(&mut svg, WIDTH, &title, &lines);

    let t0 = conn.first_t;
    let xs = time_scale(conn, t_end, &TOP);
    let x = |t: u64| xs.map(t.saturating_sub(t0) as f64 / 1e6);
    let x_end = x(t_end.max(conn.last_t));
    let x_ticks = Ticks::linear(&xs, 10, label_seconds);

    // Bytes: cwnd, ssthresh, in flight.
    let byte_high = s
        .iter()
        .flat_map(|v| [Some(v.cwnd), v.ssthresh, Some(v.flight)])
        .flatten()
        .max()
        .unwrap_or(0) as f64;
    let yb = Scale::linear(0.0, (byte_high * 1.05).max(10.0), TOP.bottom, TOP.top);
    draw_axes(
        &mut svg,
        &TOP,
        (&xs, &x_ticks, ""),
        (&yb, &Ticks::linear(&yb, 6, label_bytes), "bytes"),
    );
    svg.clip_rect(
        "top",
        TOP.left,
        TOP.top - 4.0,
        TOP.width(),
        TOP.height() + 8.0,
    );
    svg.open_group("graph", Some("top"));
    let line = |f: &dyn Fn(&Sample) -> Option<u64>, ys: &Scale, frame: &Frame| {
        let pts: Vec<_> = s
            .iter()
            .map(|v| (x(v.t), f(v).map(|b| ys.map(b as f64))))
            .collect();
        step_path(frame, &pts, x_end)
    };
    svg.path("flight", line(&|v| Some(v.flight), &yb, &TOP).as_str(), &[]);
    svg.path("ssthresh", line(&|v| v.ssthresh, &yb, &TOP).as_str(), &[]);
    svg.path("cwnd", line(&|v| Some(v.cwnd), &yb, &TOP).as_str(), &[]);
    svg.close_group();

    // Times, in milliseconds on a log scale.
    let ms = |us: u64| us as f64 / 1000.0;
    let lo = s
        .iter()
        .flat_map(|v| [v.srtt_us, Some(v.rto_us)])
        .flatten()
        .filter(|&u| u > 0)
        .min()
        .unwrap_or(1000);
    let yt = Scale::log(ms(lo), ms(max_rto.max(lo)), BOTTOM.bottom, BOTTOM.top);
    draw_axes(
        &mut svg,
        &BOTTOM,
        (
            &xs,
            &x_ticks,
            "time since the connection's first packet (s)",
        ),
        (&yt, &Ticks::decades(&yt, label_millis), "time (log scale)"),
    );
    svg.clip_rect(
        "bottom",
        BOTTOM.left,
        BOTTOM.top - 4.0,
        BOTTOM.width(),
        BOTTOM.height() + 8.0,
    );
    svg.open_group("graph", Some("bottom"));
    let tline = |f: &dyn Fn(&Sample) -> Option<u64>| {
        let pts: Vec<_> = s
            .iter()
            .map(|v| (x(v.t), f(v).map(|u| yt.map(ms(u)))))
            .collect();
        step_path(&BOTTOM, &pts, x_end)
    };
    svg.path("rto", tline(&|v| Some(v.rto_us)).as_str(), &[]);
    svg.path("srtt", tline(&|v| v.srtt_us).as_str(), &[]);
    svg.close_group();

    legend(
        &mut svg,
        WIDTH,
        HEIGHT - 12.0,
        &[
            ("cwnd", BarShape::Plain, "cwnd"),
            ("ssthresh", BarShape::Plain, "ssthresh"),
            ("flight", BarShape::Plain, "bytes in flight"),
            ("srtt", BarShape::Plain, "smoothed RTT"),
            ("rto", BarShape::Plain, "RTO"),
        ],
    );
    svg.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(t: u64, cwnd: u64) -> Sample {
        Sample {
            t,
            cwnd,
            ssthresh: None,
            flight: 0,
            srtt_us: None,
            rto_us: 1_000_000,
        }
    }

    #[test]
    fn only_changes_are_kept() {
        let mut s = Series::default();
        s.push(sample(0, 10));
        s.push(sample(1, 10));
        s.push(sample(2, 20));
        s.push(sample(3, 20));
        assert_eq!(
            s.samples.iter().map(|v| v.t).collect::<Vec<_>>(),
            [0, 2],
            "the time of the first of equal samples is kept"
        );
    }
}
