//! NewReno: RFC 5681 slow start and congestion avoidance (with RFC 3465
//! byte counting) and RFC 6582 fast recovery, halving the window on loss.
//!
//! Everything but the congestion-avoidance growth and the size of the cut
//! lives in the shared window arithmetic of the parent module.

use super::{Ack, CongestionControl, Window};
use crate::time::{Duration, Instant};

/// The NewReno congestion controller (RFC 5681, RFC 6582).
#[derive(Debug, Clone)]
pub(crate) struct NewReno {
    window: Window,
    /// Bytes acknowledged in congestion avoidance since cwnd last grew.
    bytes_acked: u32,
}

impl NewReno {
    /// A controller for sender MSS `smss`, created at `now`.
    pub(crate) fn new(smss: u32, now: Instant) -> Self {
        let _ = now;
        Self {
            window: Window::new(smss),
            bytes_acked: 0,
        }
    }

    /// The ssthresh a congestion event sets, before the 2*SMSS floor that
    /// [`Window`] applies.
    fn loss_ssthresh(flight_size: u32) -> u32 {
        //= https://www.rfc-editor.org/rfc/rfc5681#section-3.1
        //# ssthresh = max (FlightSize / 2, 2*SMSS)            (4)
        flight_size / 2
    }

    fn congestion_avoidance(&mut self, bytes_acked: u32) {
        //= https://www.rfc-editor.org/rfc/rfc5681#section-3.1
        //# When the number of bytes acknowledged reaches cwnd, then cwnd can be
        //# incremented by up to SMSS bytes.
        self.bytes_acked = self.bytes_acked.saturating_add(bytes_acked);
        let cwnd = self.window.cwnd;
        if self.bytes_acked >= cwnd {
            self.bytes_acked -= cwnd;
            self.window.set_cwnd(cwnd.saturating_add(self.window.smss));
        }
    }
}

impl CongestionControl for NewReno {
    #[cfg(test)]
    fn name(&self) -> &'static str {
        "newreno"
    }

    #[cfg(test)]
    fn smss(&self) -> u32 {
        self.window.smss
    }

    fn cwnd(&self) -> u32 {
        self.window.cwnd
    }

    fn ssthresh(&self) -> u32 {
        self.window.ssthresh
    }

    fn in_slow_start(&self) -> bool {
        self.window.in_slow_start()
    }

    #[cfg(test)]
    fn in_recovery(&self) -> bool {
        self.window.recovery
    }

    fn set_mss(&mut self, smss: u32) {
        if self.window.set_mss(smss).is_some() {
            self.bytes_acked = 0;
        }
    }

    fn on_ack(&mut self, ack: &Ack) {
        self.window.on_new_data_acked(ack.bytes_acked);
        if self.window.recovery || ack.app_limited {
            return;
        }
        let mut bytes = ack.bytes_acked;
        if self.window.in_slow_start() {
            bytes = self.window.slow_start(bytes, 1);
        }
        if bytes > 0 {
            self.congestion_avoidance(bytes);
        }
    }

    fn on_enter_recovery(&mut self, now: Instant, flight_size: u32) {
        let _ = now;
        if self.window.recovery {
            return;
        }
        //= https://www.rfc-editor.org/rfc/rfc5681#section-3.2
        //# When the third duplicate ACK is received, a TCP MUST set ssthresh
        //# to no more than the value given in equation (4).
        self.window.enter_recovery(Self::loss_ssthresh(flight_size));
        self.bytes_acked = 0;
    }

    fn on_partial_ack(&mut self, ack: &Ack) {
        self.window.partial_ack(ack.bytes_acked);
    }

    fn on_recovery_exit(&mut self, ack: &Ack) {
        self.window.exit_recovery(ack.bytes_acked, ack.flight_size);
    }

    fn on_rto(&mut self, now: Instant, flight_size: u32) {
        let _ = now;
        self.window.rto(Self::loss_ssthresh(flight_size));
        self.bytes_acked = 0;
    }

    fn on_idle_restart(&mut self, now: Instant, idle: Duration, rto: Duration) {
        let _ = now;
        if self.window.idle_restart(idle, rto) {
            self.bytes_acked = 0;
        }
    }

    fn on_undo(&mut self) {
        self.window.undo();
        self.bytes_acked = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMSS: u32 = 1000;

    fn ack(ms: u64, bytes: u32, flight: u32) -> Ack {
        Ack {
            now: Instant::from_millis(ms),
            bytes_acked: bytes,
            rtt: Some(Duration::from_millis(50)),
            flight_size: flight,
            app_limited: false,
        }
    }

    fn reno() -> NewReno {
        NewReno::new(SMSS, Instant::ZERO)
    }

    /// A controller in congestion avoidance at `cwnd` = `ssthresh`.
    fn in_ca(cwnd: u32) -> NewReno {
        let mut r = reno();
        r.window.started = true;
        r.window.cwnd = cwnd;
        r.window.ssthresh = cwnd;
        r
    }

    /// RFC 5681 3.1 grows cwnd by at most SMSS per ACK and RFC 3465 by at
    /// most L = 2*SMSS; berth follows Linux (tcp_slow_start), which grows
    /// it by everything an ACK acknowledges, so coalesced (stretch) ACKs do
    /// not slow slow start down.
    #[test]
    fn slow_start_counts_every_byte_acked_like_linux() {
        let mut r = reno();
        assert_eq!(r.cwnd(), 10 * SMSS);
        assert!(r.in_slow_start());
        r.on_ack(&ack(10, 500, 0));
        assert_eq!(
            r.cwnd(),
            10 * SMSS + 500,
            "a small ACK grows by what it acks"
        );
        r.on_ack(&ack(20, 2 * SMSS, 0));
        assert_eq!(r.cwnd(), 12 * SMSS + 500, "a delayed ACK of two segments");
        r.on_ack(&ack(30, 8 * SMSS, 0));
        assert_eq!(
            r.cwnd(),
            20 * SMSS + 500,
            "a stretch ACK of eight segments grows cwnd by eight"
        );
    }

    //= https://www.rfc-editor.org/rfc/rfc5681#section-3.1
    //= type=test
    //# When the number of bytes acknowledged reaches cwnd, then cwnd can be
    //# incremented by up to SMSS bytes.
    #[test]
    fn congestion_avoidance_adds_one_segment_per_window() {
        let mut r = in_ca(10 * SMSS);
        assert!(!r.in_slow_start());
        for i in 0..9 {
            r.on_ack(&ack(i, SMSS, 0));
            assert_eq!(r.cwnd(), 10 * SMSS);
        }
        r.on_ack(&ack(9, SMSS, 0));
        assert_eq!(r.cwnd(), 11 * SMSS);
        // The next increase needs a whole 11-segment window of ACKs.
        for i in 0..10 {
            r.on_ack(&ack(10 + i, SMSS, 0));
        }
        assert_eq!(r.cwnd(), 11 * SMSS);
        r.on_ack(&ack(30, SMSS, 0));
        assert_eq!(r.cwnd(), 12 * SMSS);
    }

    #[test]
    fn slow_start_stops_at_ssthresh_and_the_rest_counts_in_avoidance() {
        let mut r = in_ca(10 * SMSS);
        r.window.cwnd = 9 * SMSS + 500;
        assert!(r.in_slow_start());
        r.on_ack(&ack(1, 2 * SMSS, 0));
        assert_eq!(r.cwnd(), 10 * SMSS);
        assert_eq!(r.bytes_acked, 1500);
        assert!(!r.in_slow_start());
    }

    #[test]
    fn app_limited_acks_do_not_grow_cwnd() {
        let mut r = reno();
        let mut a = ack(1, 2 * SMSS, 0);
        a.app_limited = true;
        r.on_ack(&a);
        assert_eq!(r.cwnd(), 10 * SMSS);
        let mut r = in_ca(2 * SMSS);
        for i in 0..10 {
            let mut a = ack(i, SMSS, 0);
            a.app_limited = true;
            r.on_ack(&a);
        }
        assert_eq!(r.cwnd(), 2 * SMSS);
    }

    //= https://www.rfc-editor.org/rfc/rfc5681#section-3.2
    //= type=test
    //# When the third duplicate ACK is received, a TCP MUST set ssthresh
    //# to no more than the value given in equation (4).
    #[test]
    fn recovery_halves_flight() {
        let mut r = reno();
        r.on_enter_recovery(Instant::from_millis(1), 20 * SMSS);
        assert!(r.in_recovery());
        assert!(!r.in_slow_start());
        assert_eq!(r.ssthresh(), 10 * SMSS);
        // cwnd is the target PRR brings the flight down to.
        assert_eq!(r.cwnd(), 10 * SMSS);
        // A second call for the same episode changes nothing.
        r.on_enter_recovery(Instant::from_millis(2), 4 * SMSS);
        assert_eq!((r.ssthresh(), r.cwnd()), (10 * SMSS, 10 * SMSS));
    }

    #[test]
    fn undo_restores_the_window_before_the_cut() {
        let mut r = in_ca(20 * SMSS);
        r.on_enter_recovery(Instant::ZERO, 20 * SMSS);
        assert_eq!(r.cwnd(), 10 * SMSS);
        r.on_undo();
        assert!(!r.in_recovery());
        assert_eq!(r.cwnd(), 20 * SMSS);
        // After a timeout too (the first one's window).
        r.on_rto(Instant::ZERO, 20 * SMSS);
        r.on_rto(Instant::ZERO, SMSS);
        assert_eq!(r.cwnd(), SMSS);
        r.on_undo();
        assert_eq!(r.cwnd(), 20 * SMSS);
        // Nothing to undo: nothing changes.
        r.on_undo();
        assert_eq!(r.cwnd(), 20 * SMSS);
    }

    //= https://www.rfc-editor.org/rfc/rfc5681#section-3.1
    //= type=test
    //# ssthresh = max (FlightSize / 2, 2*SMSS)            (4)
    #[test]
    fn ssthresh_never_below_two_segments() {
        let mut r = reno();
        r.on_enter_recovery(Instant::ZERO, SMSS);
        assert_eq!(r.ssthresh(), 2 * SMSS);
        assert_eq!(r.cwnd(), 2 * SMSS);
    }

    //= https://www.rfc-editor.org/rfc/rfc6582#section-3.2
    //= type=test
    //# or (2) ssthresh, where ssthresh is the value set when fast
    //# retransmit was entered
    #[test]
    fn recovery_exits_at_ssthresh() {
        let mut r = reno();
        r.on_enter_recovery(Instant::ZERO, 20 * SMSS);
        r.on_recovery_exit(&ack(1, 20 * SMSS, 2 * SMSS));
        assert!(!r.in_recovery());
        assert_eq!(r.cwnd(), 10 * SMSS, "ssthresh, however small the flight");
        assert!(!r.in_slow_start());
        // Outside recovery the call only counts as progress.
        r.on_recovery_exit(&ack(2, SMSS, 0));
        assert_eq!(r.cwnd(), 10 * SMSS);
    }

    #[test]
    fn acks_during_recovery_do_not_grow_cwnd() {
        let mut r = reno();
        r.on_enter_recovery(Instant::ZERO, 20 * SMSS);
        r.on_ack(&ack(1, 5 * SMSS, 0));
        assert_eq!(r.cwnd(), 10 * SMSS);
    }

    //= https://www.rfc-editor.org/rfc/rfc5681#section-3.1
    //= type=test
    //# Furthermore, upon a timeout (as specified in [RFC2988]) cwnd MUST be
    //# set to no more than the loss window, LW, which equals 1 full-sized
    //# segment (regardless of the value of IW).
    #[test]
    fn timeout_collapses_to_one_segment() {
        let mut r = in_ca(40 * SMSS);
        r.on_rto(Instant::from_secs(1), 30 * SMSS);
        assert_eq!(r.cwnd(), SMSS);
        assert_eq!(r.ssthresh(), 15 * SMSS);
        assert!(r.in_slow_start());
    }

    //= https://www.rfc-editor.org/rfc/rfc5681#section-3.1
    //= type=test
    //# When a TCP sender detects segment loss using the retransmission timer
    //# and the given segment has not yet been resent by way of the
    //# retransmission timer, the value of ssthresh MUST be set to no more
    //# than the value given in equation (4):
    #[test]
    fn backed_off_timeouts_cut_ssthresh_once() {
        let mut r = in_ca(40 * SMSS);
        r.on_rto(Instant::from_secs(1), 30 * SMSS);
        // The retransmission is outstanding, so FlightSize is now small.
        r.on_rto(Instant::from_secs(3), SMSS);
        assert_eq!(r.ssthresh(), 15 * SMSS);
        // Progress, then a new timeout: a new loss, a new cut.
        r.on_ack(&ack(4000, SMSS, 4 * SMSS));
        r.on_rto(Instant::from_secs(5), 4 * SMSS);
        assert_eq!(r.ssthresh(), 2 * SMSS);
    }

    #[test]
    fn slow_start_after_timeout_uses_one_segment_per_ack() {
        let mut r = in_ca(40 * SMSS);
        r.on_rto(Instant::from_secs(1), 30 * SMSS);
        r.on_ack(&ack(1100, 10 * SMSS, SMSS));
        assert_eq!(r.cwnd(), 2 * SMSS);
        r.on_ack(&ack(1200, 2 * SMSS, SMSS));
        assert_eq!(r.cwnd(), 3 * SMSS);
    }

    #[test]
    fn timeout_ends_recovery() {
        let mut r = reno();
        r.on_enter_recovery(Instant::ZERO, 20 * SMSS);
        r.on_rto(Instant::from_secs(1), 20 * SMSS);
        assert!(!r.in_recovery());
        assert_eq!(r.cwnd(), SMSS);
    }

    //= https://www.rfc-editor.org/rfc/rfc5681#section-4.1
    //= type=test
    //# Therefore, a TCP SHOULD set cwnd to no more than RW before beginning
    //# transmission if the TCP has not sent data in an interval exceeding
    //# the retransmission timeout.
    #[test]
    fn idle_restart_halves_per_rto_down_to_the_restart_window() {
        let rto = Duration::from_millis(200);
        let idle = |ms| Duration::from_millis(ms);
        let mut r = in_ca(100 * SMSS);
        r.on_idle_restart(Instant::ZERO, idle(200), rto);
        assert_eq!(r.cwnd(), 100 * SMSS, "not idle longer than the RTO");
        // 300 ms is one RTO plus a bit: one halving, as Linux does.
        r.on_idle_restart(Instant::ZERO, idle(300), rto);
        assert_eq!(r.cwnd(), 50 * SMSS);
        assert_eq!(
            r.ssthresh(),
            100 * SMSS,
            "ssthresh keeps max(ssthresh, 3/4 cwnd)"
        );
        // 700 ms: three halvings.
        let mut r = in_ca(100 * SMSS);
        r.on_idle_restart(Instant::ZERO, idle(700), rto);
        assert_eq!(r.cwnd(), 12 * SMSS + 500);
        // Long idle: the restart window min(IW, cwnd).
        let mut r = in_ca(100 * SMSS);
        r.on_idle_restart(Instant::ZERO, Duration::from_secs(3600), rto);
        assert_eq!(r.cwnd(), 10 * SMSS);
        assert_eq!(r.ssthresh(), 100 * SMSS);
        // A window already below IW stays.
        let mut r = in_ca(4 * SMSS);
        r.on_idle_restart(Instant::ZERO, Duration::from_secs(3600), rto);
        assert_eq!(r.cwnd(), 4 * SMSS);
        // A zero RTO does not loop forever.
        let mut r = in_ca(100 * SMSS);
        r.on_idle_restart(Instant::ZERO, Duration::from_secs(1), Duration::ZERO);
        assert_eq!(r.cwnd(), 10 * SMSS);
    }
}
