//! Congestion control, one controller per connection, counted in bytes:
//! the congestion window (cwnd) and slow-start threshold (ssthresh) of
//! RFC 5681, grown and cut by a pluggable algorithm. `Cubic` (RFC 9438,
//! with HyStart++ slow start per RFC 9406) is the default, as on Linux;
//! `NewReno` (RFC 5681 + RFC 6582) is the alternative. Both share the
//! initial window of RFC 6928, slow start with appropriate byte counting
//! (RFC 3465, L = 2*SMSS), the fast-recovery window arithmetic of RFC 5681 /
//! RFC 6582 (or plain cwnd = ssthresh for SACK recovery, RFC 6675), the
//! timeout response of RFC 5681 and Linux's restart after idle.
//!
//! Public: [`CongestionAlgorithm`], the choice in
//! [`TcpConfig`](crate::tcp::TcpConfig). The controllers are the crate's
//! own.
//!
//! The controller only does arithmetic. It never reads a clock (time is the
//! `now` argument), never sees a sequence number and never decides what to
//! (re)transmit: loss detection, the RFC 6582 `recover` point, RFC 6675's
//! `pipe`, and limited transmit (RFC 3042, folded into RFC 5681 section 3.2
//! step 1: one new segment on each of the first two duplicate ACKs, sent
//! beyond cwnd by at most 2*SMSS) are all sender rules of the connection,
//! which reads `CongestionControl::cwnd` and calls the events below.
//!
//! # Dispatch
//!
//! `CongestionControl` is an object-safe trait, and `Controller` is an
//! enum over the algorithms we ship that implements it by `match`. A
//! connection holds a `Controller` by value: no allocation per connection, no
//! virtual call on the per-ACK path, `Clone` and `Debug` for free, and the
//! set of algorithms is closed and known at compile time, like the
//! `CongestionAlgorithm` config knob that picks one. The trait is still the
//! contract every algorithm implements and what tests are written against;
//! anything else (an experiment, BBR) can be boxed as
//! `Box<dyn CongestionControl>` without touching the connection's calls.
//!
//! # The integration contract (what the connection calls, and when)
//!
//! | when | call |
//! | --- | --- |
//! | connection created | `new_controller(alg, smss, now)` |
//! | handshake done (effective SMSS known) and on every PMTU/MSS change | `CongestionControl::set_mss`; before any data is acknowledged this resets cwnd to the RFC 6928 initial window |
//! | about to send new data while nothing is in flight | `CongestionControl::on_idle_restart(now, now - last data sent, rto)`; optional, a no-op unless idle > RTO |
//! | ACK advances SND.UNA, not in recovery | `CongestionControl::on_ack` |
//! | loss detected (RACK, or the third duplicate ACK without SACK), or an ECN echo (RFC 3168), not already reducing | `CongestionControl::on_enter_recovery(now, FlightSize)`; then retransmit under PRR |
//! | ACK advances SND.UNA during recovery but not past its end | `CongestionControl::on_partial_ack` |
//! | ACK advances SND.UNA past the end of recovery | `CongestionControl::on_recovery_exit` |
//! | retransmission timer fires (every time, also when backed off) | `CongestionControl::on_rto(now, FlightSize)` |
//! | the reduction was spurious (Eifel, D-SACK, F-RTO) | `CongestionControl::on_undo` |
//!
//! The sender may have `min(cwnd, rwnd)` bytes in flight outside recovery;
//! during recovery PRR decides. Every `Ack` carries FlightSize = SND.NXT -
//! SND.UNA *after* the ACK; that, with the running sum of `bytes_acked`, is
//! all HyStart++ needs to find its round boundaries (a round ends when the
//! bytes that were outstanding at its start are acknowledged), so the
//! connection passes no sequence markers.
//!
//! Not here: pacing.

mod cubic;
mod new_reno;

pub(crate) use cubic::Cubic;
pub(crate) use new_reno::NewReno;

use crate::time::{Duration, Instant};

/// ssthresh before the first congestion event: "arbitrarily high".
pub(crate) const INFINITE_SSTHRESH: u32 = u32::MAX;

/// The largest congestion window, in bytes. Every update saturates here.
pub(crate) const MAX_CWND: u32 = u32::MAX;

/// Slow start's growth per ACK, in segments: RFC 3465 section 2.3's L.
/// `None` is Linux's choice (tcp_slow_start grows cwnd by everything an ACK
/// acknowledges): a receiver that coalesces ACKs (GRO, or a batch of
/// segments processed at once) otherwise slows slow start to a crawl.
const ABC_LIMIT_SEGMENTS: Option<u32> = None;

/// RFC 6928 section 2: the byte bound of the initial window.
const IW_BYTES: u32 = 14_600;

/// Which congestion control algorithm a connection runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CongestionAlgorithm {
    /// CUBIC (RFC 9438) with HyStart++ (RFC 9406): Linux's default.
    #[default]
    Cubic,
    /// NewReno (RFC 5681, RFC 6582).
    NewReno,
}

/// One ACK that acknowledged new data, as the connection saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ack {
    /// When the ACK arrived.
    pub now: Instant,
    /// Bytes newly acknowledged: how far SND.UNA advanced.
    pub bytes_acked: u32,
    /// The RTT sample this ACK gave, if any (after Karn's rule, the same
    /// sample the RTT estimator gets).
    pub rtt: Option<Duration>,
    /// FlightSize after the ACK: SND.NXT - SND.UNA once SND.UNA has
    /// advanced, before anything is sent in response to this ACK.
    pub flight_size: u32,
    /// The sender was not using its window: since the previous ACK it had
    /// less than cwnd outstanding because the application (or the peer's
    /// window) gave it nothing more to send, including idle periods. Such
    /// ACKs do not grow cwnd (RFC 7661, RFC 9438 section 5.8), and CUBIC
    /// leaves their time out of its curve.
    pub app_limited: bool,
}

/// The events a congestion control algorithm reacts to (see the module
/// documentation for when the connection calls each one).
///
/// Windows are in bytes. The methods never panic, whatever their order or
/// arguments: cwnd stays within `[SMSS, MAX_CWND]`, and ssthresh never falls
/// below 2*SMSS.
pub(crate) trait CongestionControl {
    /// The algorithm's name, as `ss` prints it (`"cubic"`, `"newreno"`).
    #[cfg(test)]
    fn name(&self) -> &'static str;
    /// The sender maximum segment size in use.
    #[cfg(test)]
    fn smss(&self) -> u32;
    /// The congestion window, in bytes.
    fn cwnd(&self) -> u32;
    /// The slow-start threshold, in bytes ([`INFINITE_SSTHRESH`] until the
    /// first congestion event).
    fn ssthresh(&self) -> u32;
    /// cwnd < ssthresh and not in fast recovery.
    fn in_slow_start(&self) -> bool;
    /// Between [`on_enter_recovery`](Self::on_enter_recovery) and
    /// [`on_recovery_exit`](Self::on_recovery_exit) (or a timeout).
    #[cfg(test)]
    fn in_recovery(&self) -> bool;
    /// Sets the SMSS (at least 1). Before any data has been acknowledged
    /// cwnd becomes the initial window for it; later cwnd and ssthresh keep
    /// their size in segments.
    fn set_mss(&mut self, smss: u32);
    /// An ACK of new data outside recovery: slow start or congestion
    /// avoidance. Ignored (apart from its RTT sample) during recovery.
    fn on_ack(&mut self, ack: &Ack);
    /// Recovery (or an ECN reduction) is starting: ssthresh is cut, and
    /// cwnd with it; the sender reaches it under PRR. Once per episode.
    fn on_enter_recovery(&mut self, now: Instant, flight_size: u32);
    /// An ACK of new data during recovery that does not reach `recover`.
    fn on_partial_ack(&mut self, ack: &Ack);
    /// The ACK that reaches `recover`: recovery is over.
    fn on_recovery_exit(&mut self, ack: &Ack);
    /// The retransmission timer expired.
    fn on_rto(&mut self, now: Instant, flight_size: u32);
    /// New data is about to be sent after `idle` without sending; `rto` is
    /// the current retransmission timeout. Shrinks cwnd if idle > rto.
    fn on_idle_restart(&mut self, now: Instant, idle: Duration, rto: Duration);
    /// The last reduction (recovery or timeout) was spurious: cwnd and
    /// ssthresh go back to at least what they were before it, and recovery
    /// ends (Linux `tcp_undo_cwnd_reduction`).
    fn on_undo(&mut self);
}

/// The controller a connection holds: one of the shipped algorithms.
#[derive(Debug, Clone)]
pub(crate) enum Controller {
    /// CUBIC with HyStart++.
    Cubic(Cubic),
    /// NewReno.
    NewReno(NewReno),
}

/// A controller running `alg` for a connection with sender MSS `smss`,
/// created at `now`, starting from the RFC 6928 initial window.
pub(crate) fn new_controller(alg: CongestionAlgorithm, smss: u32, now: Instant) -> Controller {
    match alg {
        CongestionAlgorithm::Cubic => Controller::Cubic(Cubic::new(smss, now)),
        CongestionAlgorithm::NewReno => Controller::NewReno(NewReno::new(smss, now)),
    }
}

/// Forwards a trait method to whichever algorithm the enum holds.
macro_rules! dispatch {
    ($self:ident, $c:ident => $call:expr) => {
        match $self {
            Controller::Cubic($c) => $call,
            Controller::NewReno($c) => $call,
        }
    };
}

impl CongestionControl for Controller {
    #[cfg(test)]
    fn name(&self) -> &'static str {
        dispatch!(self, c => c.name())
    }
    #[cfg(test)]
    fn smss(&self) -> u32 {
        dispatch!(self, c => c.smss())
    }
    fn cwnd(&self) -> u32 {
        dispatch!(self, c => c.cwnd())
    }
    fn ssthresh(&self) -> u32 {
        dispatch!(self, c => c.ssthresh())
    }
    fn in_slow_start(&self) -> bool {
        dispatch!(self, c => c.in_slow_start())
    }
    #[cfg(test)]
    fn in_recovery(&self) -> bool {
        dispatch!(self, c => c.in_recovery())
    }
    fn set_mss(&mut self, smss: u32) {
        dispatch!(self, c => c.set_mss(smss));
    }
    fn on_ack(&mut self, ack: &Ack) {
        dispatch!(self, c => c.on_ack(ack));
    }
    fn on_enter_recovery(&mut self, now: Instant, flight_size: u32) {
        dispatch!(self, c => c.on_enter_recovery(now, flight_size));
    }
    fn on_partial_ack(&mut self, ack: &Ack) {
        dispatch!(self, c => c.on_partial_ack(ack));
    }
    fn on_recovery_exit(&mut self, ack: &Ack) {
        dispatch!(self, c => c.on_recovery_exit(ack));
    }
    fn on_rto(&mut self, now: Instant, flight_size: u32) {
        dispatch!(self, c => c.on_rto(now, flight_size));
    }
    fn on_idle_restart(&mut self, now: Instant, idle: Duration, rto: Duration) {
        dispatch!(self, c => c.on_idle_restart(now, idle, rto));
    }
    fn on_undo(&mut self) {
        dispatch!(self, c => c.on_undo());
    }
}

/// The RFC 6928 initial window for `smss` (taken as at least 1), in bytes.
pub(crate) fn initial_window(smss: u32) -> u32 {
    let smss = smss.max(1);
    //= https://www.rfc-editor.org/rfc/rfc6928#section-2
    //# min (10*MSS, max (2*MSS, 14600))
    smss.saturating_mul(10)
        .min(smss.saturating_mul(2).max(IW_BYTES))
}

/// `value * new / old` without overflow, for keeping a window's size in
/// segments when the SMSS changes.
fn rescale(value: u32, old: u32, new: u32) -> u32 {
    let scaled = u64::from(value) * u64::from(new) / u64::from(old.max(1));
    u32::try_from(scaled).unwrap_or(u32::MAX)
}

/// The window arithmetic both algorithms share: cwnd and ssthresh, slow
/// start, the fast-recovery window and the timeout and idle responses. The
/// algorithms add what differs: how far a congestion event cuts ssthresh,
/// growth in congestion avoidance, and (CUBIC) the HyStart++ exit.
#[derive(Debug, Clone)]
struct Window {
    smss: u32,
    cwnd: u32,
    ssthresh: u32,
    /// In recovery (or an ECN reduction): cwnd is PRR's business.
    recovery: bool,
    /// cwnd and ssthresh before the last reduction, for undo.
    prior: Option<(u32, u32)>,
    /// A timeout fired and no new data has been acknowledged since: another
    /// timeout is a backoff of the same loss and must not cut ssthresh again.
    timed_out: bool,
    /// In the slow start that follows a timeout (ABC uses L = 1*SMSS).
    slow_start_after_rto: bool,
    /// Data has been acknowledged or lost: the initial window is in use.
    started: bool,
}

impl Window {
    fn new(smss: u32) -> Self {
        let smss = smss.max(1);
        Self {
            smss,
            //= https://www.rfc-editor.org/rfc/rfc5681#section-3.1
            //# IW, the initial value of cwnd, MUST be set using the following
            //# guidelines as an upper bound.
            cwnd: initial_window(smss),
            //= https://www.rfc-editor.org/rfc/rfc5681#section-3.1
            //# The initial value of ssthresh SHOULD be set arbitrarily high (e.g.,
            //# to the size of the largest possible advertised window), but ssthresh
            //# MUST be reduced in response to congestion.
            ssthresh: INFINITE_SSTHRESH,
            recovery: false,
            prior: None,
            timed_out: false,
            slow_start_after_rto: false,
            started: false,
        }
    }

    fn in_slow_start(&self) -> bool {
        !self.recovery && self.cwnd < self.ssthresh
    }

    /// The lowest ssthresh a congestion event may set.
    fn min_ssthresh(&self) -> u32 {
        self.smss.saturating_mul(2)
    }

    fn set_cwnd(&mut self, cwnd: u32) {
        self.cwnd = cwnd.clamp(self.smss, MAX_CWND);
    }

    /// Sets the SMSS; returns the old one if windows were rescaled (so the
    /// algorithm rescales its own state), `None` if cwnd became the initial
    /// window or nothing changed.
    fn set_mss(&mut self, smss: u32) -> Option<u32> {
        let smss = smss.max(1);
        let old = self.smss;
        if smss == old {
            return None;
        }
        self.smss = smss;
        if !self.started {
            self.cwnd = initial_window(smss);
            return None;
        }
        // Linux counts cwnd in segments, so an MSS change keeps the window's
        // size in segments; we do the same in bytes.
        self.set_cwnd(rescale(self.cwnd, old, smss));
        if self.ssthresh != INFINITE_SSTHRESH {
            self.ssthresh = rescale(self.ssthresh, old, smss).max(self.min_ssthresh());
        }
        Some(old)
    }

    /// Bookkeeping for any ACK of new data.
    fn on_new_data_acked(&mut self, bytes_acked: u32) {
        if bytes_acked > 0 {
            self.started = true;
            self.timed_out = false;
        }
    }

    /// Slow start on an ACK of `bytes_acked` new bytes, growth divided by
    /// `divisor` (HyStart++'s Conservative Slow Start). Returns the bytes
    /// left over once cwnd reaches ssthresh, for congestion avoidance.
    fn slow_start(&mut self, bytes_acked: u32, divisor: u32) -> u32 {
        //= https://www.rfc-editor.org/rfc/rfc5681#section-3.1
        //# During slow start, a TCP increments cwnd by at most SMSS bytes for
        //# each ACK received that cumulatively acknowledges new data.
        // RFC 3465 raises that to L = 2*SMSS so delayed ACKs do not halve
        // slow start. In the slow start after a timeout we keep L = 1*SMSS:
        // one ACK may then cover data that arrived long ago, and growing by
        // all of it would send a burst.
        //= https://www.rfc-editor.org/rfc/rfc3465#section-2.3
        //# The limit, L, chosen for the cwnd increase during slow start,
        //# controls the aggressiveness of the algorithm.
        // Where RFC 3465 and Linux differ we follow Linux (see
        // ABC_LIMIT_SEGMENTS), except right after a timeout.
        let l = if self.slow_start_after_rto {
            Some(1)
        } else {
            ABC_LIMIT_SEGMENTS
        };
        let capped = l.map_or(bytes_acked, |l| {
            bytes_acked.min(self.smss.saturating_mul(l))
        });
        let increase = capped / divisor.max(1);
        let room = self.ssthresh.saturating_sub(self.cwnd);
        if increase < room {
            self.set_cwnd(self.cwnd.saturating_add(increase));
            return 0;
        }
        // cwnd reaches ssthresh: the rest of this ACK counts in congestion
        // avoidance (Linux's tcp_slow_start does the same).
        self.set_cwnd(self.ssthresh);
        self.slow_start_after_rto = false;
        bytes_acked.saturating_sub(room)
    }

    /// Recovery begins: ssthresh becomes `ssthresh` (at least 2*SMSS), and
    /// cwnd the same (PRR brings what is in flight down to it).
    fn enter_recovery(&mut self, ssthresh: u32) {
        self.started = true;
        self.slow_start_after_rto = false;
        self.prior = Some((self.cwnd, self.ssthresh));
        self.ssthresh = ssthresh.max(self.min_ssthresh());
        self.recovery = true;
        //= https://www.rfc-editor.org/rfc/rfc6675#section-5
        //# (4.2) ssthresh = cwnd = (FlightSize / 2)
        self.set_cwnd(self.ssthresh);
    }

    fn partial_ack(&mut self, bytes_acked: u32) {
        self.on_new_data_acked(bytes_acked);
    }

    fn exit_recovery(&mut self, bytes_acked: u32, flight_size: u32) {
        self.on_new_data_acked(bytes_acked);
        if !core::mem::take(&mut self.recovery) {
            return;
        }
        // Option (2), as Linux (tcp_end_cwnd_reduction) and PRR, which has
        // brought the flight down to ssthresh by now: option (1) left a
        // window of two segments whenever the ACK that ended recovery
        // acknowledged the whole flight, and slow start had to win it back
        // after every loss.
        //= https://www.rfc-editor.org/rfc/rfc6582#section-3.2
        //# Set cwnd to either (1) min (ssthresh, max(FlightSize, SMSS) + SMSS)
        //# or (2) ssthresh, where ssthresh is the value set when fast
        //# retransmit was entered
        let _ = flight_size;
        self.set_cwnd(self.ssthresh);
    }

    /// The retransmission timer fired. `ssthresh` is the algorithm's cut,
    /// applied only on the first timeout for the same data.
    fn rto(&mut self, ssthresh: u32) {
        self.started = true;
        //= https://www.rfc-editor.org/rfc/rfc5681#section-3.1
        //# When a TCP sender detects segment loss using the retransmission timer
        //# and the given segment has not yet been resent by way of the
        //# retransmission timer, the value of ssthresh MUST be set to no more
        //# than the value given in equation (4):
        if !self.timed_out {
            if !self.recovery {
                self.prior = Some((self.cwnd, self.ssthresh));
            }
            self.ssthresh = ssthresh.max(self.min_ssthresh());
        }
        self.timed_out = true;
        self.recovery = false;
        self.slow_start_after_rto = true;
        //= https://www.rfc-editor.org/rfc/rfc5681#section-3.1
        //# Furthermore, upon a timeout (as specified in [RFC2988]) cwnd MUST be
        //# set to no more than the loss window, LW, which equals 1 full-sized
        //# segment (regardless of the value of IW).
        self.set_cwnd(self.smss);
    }

    /// The last reduction was spurious: back to at least the window before
    /// it (Linux `tcp_undo_cwnd_reduction`); whether there was one to undo.
    fn undo(&mut self) -> bool {
        self.recovery = false;
        self.timed_out = false;
        self.slow_start_after_rto = false;
        let Some((cwnd, ssthresh)) = self.prior.take() else {
            return false;
        };
        self.set_cwnd(self.cwnd.max(cwnd));
        self.ssthresh = self.ssthresh.max(ssthresh);
        true
    }

    /// Linux's `tcp_cwnd_restart`; true if cwnd was touched.
    fn idle_restart(&mut self, idle: Duration, rto: Duration) -> bool {
        //= https://www.rfc-editor.org/rfc/rfc5681#section-4.1
        //# Therefore, a TCP SHOULD set cwnd to no more than RW before beginning
        //# transmission if the TCP has not sent data in an interval exceeding
        //# the retransmission timeout.
        if idle <= rto || self.recovery {
            return false;
        }
        // Linux (net.ipv4.tcp_slow_start_after_idle) follows RFC 2861 rather
        // than going straight to RW = min(IW, cwnd): remember 3/4 of cwnd in
        // ssthresh, then halve cwnd once per RTO of idle time beyond the
        // first, but not below RW. The loop ends: each pass halves cwnd.
        let restart = initial_window(self.smss).min(self.cwnd);
        self.ssthresh = self.ssthresh.max(self.cwnd / 2 + self.cwnd / 4);
        let (mut cwnd, mut left) = (self.cwnd, idle);
        while cwnd > restart {
            left = match left.checked_sub(rto) {
                Some(rest) if !rest.is_zero() => rest,
                _ => break,
            };
            cwnd /= 2;
        }
        self.started = true;
        self.set_cwnd(cwnd.max(restart));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SMSS: u32 = 1000;

    /// A toy network for driving a controller: one ACK per segment, spread
    /// evenly over a fixed RTT, and the sender refilling cwnd after each ACK.
    /// Byte offsets stand in for sequence numbers.
    pub(super) struct AckClock {
        pub(super) now: Instant,
        pub(super) rtt: Duration,
        smss: u32,
        sent: u64,
        acked: u64,
    }

    impl AckClock {
        pub(super) fn new(smss: u32, rtt: Duration) -> Self {
            Self {
                now: Instant::from_secs(1),
                rtt,
                smss,
                sent: 0,
                acked: 0,
            }
        }

        pub(super) fn flight(&self) -> u32 {
            u32::try_from(self.sent - self.acked).unwrap()
        }

        /// Sends new segments while cwnd allows.
        pub(super) fn fill(&mut self, cc: &impl CongestionControl) {
            while self.flight() + self.smss <= cc.cwnd() {
                self.sent += u64::from(self.smss);
            }
        }

        fn ack(&self, bytes: u32, rtt: Duration) -> Ack {
            Ack {
                now: self.now,
                bytes_acked: bytes,
                rtt: Some(rtt),
                flight_size: self.flight(),
                app_limited: false,
            }
        }

        /// One round trip without loss: everything outstanding at its start
        /// is acknowledged, each ACK with the sample `rtt`.
        pub(super) fn round_with_rtt(&mut self, cc: &mut impl CongestionControl, rtt: Duration) {
            self.fill(cc);
            let end = self.sent;
            let segments = u32::try_from((end - self.acked) / u64::from(self.smss)).unwrap();
            let step = self.rtt / segments.max(1);
            while self.acked < end {
                self.now += step;
                self.acked += u64::from(self.smss);
                cc.on_ack(&self.ack(self.smss, rtt));
                self.fill(cc);
            }
        }

        pub(super) fn round(&mut self, cc: &mut impl CongestionControl) {
            self.round_with_rtt(cc, self.rtt);
        }

        /// One round trip with the first outstanding segment lost and
        /// repaired by SACK-based recovery (RFC 6675): the sender keeps
        /// `pipe` at cwnd while SACKs arrive, then the retransmission is
        /// acknowledged together with everything up to `recover`.
        pub(super) fn loss_round(&mut self, cc: &mut impl CongestionControl) {
            self.fill(cc);
            let recover = self.sent;
            cc.on_enter_recovery(self.now, self.flight());
            let segments = self.flight() / self.smss;
            let step = self.rtt / segments.max(1);
            let mut pipe = self.flight() - self.smss;
            for _ in 1..segments {
                self.now += step;
                pipe -= self.smss;
                while pipe + self.smss <= cc.cwnd() {
                    self.sent += u64::from(self.smss);
                    pipe += self.smss;
                }
            }
            self.now += step;
            let bytes = u32::try_from(recover - self.acked).unwrap();
            self.acked = recover;
            cc.on_recovery_exit(&self.ack(bytes, self.rtt));
            self.fill(cc);
        }
    }

    fn segments(bytes: u32) -> f64 {
        f64::from(bytes) / f64::from(SMSS)
    }

    //= https://www.rfc-editor.org/rfc/rfc6928#section-2
    //= type=test
    //# min (10*MSS, max (2*MSS, 14600))
    #[test]
    fn initial_window_per_rfc_6928() {
        assert_eq!(initial_window(1460), 14_600);
        assert_eq!(initial_window(536), 5_360);
        assert_eq!(initial_window(1000), 10_000);
        assert_eq!(initial_window(4000), 14_600);
        assert_eq!(initial_window(9000), 18_000);
        assert_eq!(initial_window(0), 10);
        assert_eq!(initial_window(u32::MAX), u32::MAX);
    }

    //= https://www.rfc-editor.org/rfc/rfc5681#section-3.1
    //= type=test
    //# The initial value of ssthresh SHOULD be set arbitrarily high (e.g.,
    //# to the size of the largest possible advertised window), but ssthresh
    //# MUST be reduced in response to congestion.
    #[test]
    fn controllers_start_at_iw_with_infinite_ssthresh_and_cubic_is_default() {
        assert_eq!(CongestionAlgorithm::default(), CongestionAlgorithm::Cubic);
        for (alg, name) in [
            (CongestionAlgorithm::Cubic, "cubic"),
            (CongestionAlgorithm::NewReno, "newreno"),
        ] {
            let mut cc = new_controller(alg, 1460, Instant::ZERO);
            assert_eq!(cc.name(), name);
            assert_eq!(cc.smss(), 1460);
            assert_eq!(cc.cwnd(), 14_600);
            assert_eq!(cc.ssthresh(), INFINITE_SSTHRESH);
            assert!(cc.in_slow_start());
            assert!(!cc.in_recovery());
            cc.on_enter_recovery(Instant::ZERO, 14_600);
            assert!(cc.ssthresh() < 14_600, "{name}");
        }
    }

    #[test]
    fn the_trait_is_object_safe() {
        let mut boxed: Box<dyn CongestionControl> = Box::new(NewReno::new(SMSS, Instant::ZERO));
        boxed.on_rto(Instant::ZERO, 20 * SMSS);
        assert_eq!(boxed.cwnd(), SMSS);
    }

    #[test]
    fn set_mss_before_data_resets_iw_and_after_keeps_segments() {
        for alg in [CongestionAlgorithm::Cubic, CongestionAlgorithm::NewReno] {
            let mut cc = new_controller(alg, 536, Instant::ZERO);
            assert_eq!(cc.cwnd(), 5_360);
            cc.set_mss(1460);
            assert_eq!((cc.smss(), cc.cwnd()), (1460, 14_600));
            cc.set_mss(0);
            assert_eq!((cc.smss(), cc.cwnd()), (1, 10));
            let mut cc = new_controller(alg, SMSS, Instant::ZERO);
            cc.on_enter_recovery(Instant::ZERO, 40 * SMSS);
            let (cwnd, ssthresh) = (cc.cwnd(), cc.ssthresh());
            cc.set_mss(SMSS / 2);
            assert_eq!((cc.cwnd(), cc.ssthresh()), (cwnd / 2, ssthresh / 2));
            cc.set_mss(SMSS * 2);
            assert_eq!((cc.cwnd(), cc.ssthresh()), (cwnd * 2, ssthresh * 2));
        }
    }

    /// Slow start doubles per round, a loss cuts the window, and avoidance
    /// grows it again: NewReno by one segment per round trip.
    #[test]
    fn new_reno_through_slow_start_loss_recovery_and_avoidance() {
        let mut cc = NewReno::new(SMSS, Instant::ZERO);
        let mut net = AckClock::new(SMSS, Duration::from_millis(50));
        let mut sizes = vec![];
        for _ in 0..4 {
            net.round(&mut cc);
            sizes.push(cc.cwnd() / SMSS);
        }
        // One ACK per segment: each round doubles cwnd.
        assert_eq!(sizes, [20, 40, 80, 160]);
        net.loss_round(&mut cc);
        assert!(!cc.in_recovery());
        assert_eq!(
            cc.ssthresh(),
            80 * SMSS,
            "half of the 160 segments in flight"
        );
        assert_eq!(cc.cwnd(), 80 * SMSS);
        for round in 1..=20 {
            net.round(&mut cc);
            let expected = 80.0 + f64::from(round);
            assert!(
                (segments(cc.cwnd()) - expected).abs() <= 1.0,
                "round {round}: {}",
                cc.cwnd()
            );
        }
        // A timeout: one segment, then slow start up to half the flight.
        cc.on_rto(net.now, net.flight());
        assert_eq!(cc.cwnd(), SMSS);
        assert_eq!(cc.ssthresh(), net.flight() / 2);
    }

    #[derive(Debug, Clone)]
    enum Event {
        Ack {
            dt_ms: u16,
            bytes: u32,
            rtt_ms: Option<u16>,
            flight: u32,
            app_limited: bool,
        },
        EnterRecovery {
            flight: u32,
        },
        Undo,
        PartialAck {
            bytes: u32,
            flight: u32,
        },
        Exit {
            bytes: u32,
            flight: u32,
        },
        Rto {
            flight: u32,
        },
        Idle {
            idle_ms: u32,
            rto_ms: u32,
        },
        SetMss(u32),
        Wait {
            secs: u32,
        },
    }

    /// Byte counts: mostly realistic, sometimes extreme.
    fn bytes() -> impl Strategy<Value = u32> {
        prop_oneof![4 => 0u32..200_000, 1 => any::<u32>()]
    }

    fn event() -> impl Strategy<Value = Event> {
        prop_oneof![
            8 => (any::<u16>(), bytes(), proptest::option::of(0u16..2000), bytes(), any::<bool>())
                .prop_map(|(dt_ms, bytes, rtt_ms, flight, app_limited)| Event::Ack {
                    dt_ms, bytes, rtt_ms, flight, app_limited
                }),
            1 => bytes().prop_map(|flight| Event::EnterRecovery { flight }),
            1 => Just(Event::Undo),
            1 => (bytes(), bytes()).prop_map(|(bytes, flight)| Event::PartialAck { bytes, flight }),
            1 => (bytes(), bytes()).prop_map(|(bytes, flight)| Event::Exit { bytes, flight }),
            1 => bytes().prop_map(|flight| Event::Rto { flight }),
            1 => (any::<u32>(), 0u32..5000).prop_map(|(idle_ms, rto_ms)| Event::Idle { idle_ms, rto_ms }),
            1 => prop_oneof![Just(0u32), 1u32..10_000, Just(u32::MAX)].prop_map(Event::SetMss),
            1 => any::<u32>().prop_map(|secs| Event::Wait { secs }),
        ]
    }

    fn apply(cc: &mut Controller, now: &mut Instant, event: &Event) {
        let ack = |now, bytes, rtt_ms: Option<u16>, flight, app_limited| Ack {
            now,
            bytes_acked: bytes,
            rtt: rtt_ms.map(|ms| Duration::from_millis(ms.into())),
            flight_size: flight,
            app_limited,
        };
        match *event {
            Event::Ack {
                dt_ms,
                bytes,
                rtt_ms,
                flight,
                app_limited,
            } => {
                *now += Duration::from_millis(dt_ms.into());
                cc.on_ack(&ack(*now, bytes, rtt_ms, flight, app_limited));
            }
            Event::EnterRecovery { flight } => cc.on_enter_recovery(*now, flight),
            Event::Undo => cc.on_undo(),
            Event::PartialAck { bytes, flight } => {
                cc.on_partial_ack(&ack(*now, bytes, Some(10), flight, false))
            }
            Event::Exit { bytes, flight } => {
                cc.on_recovery_exit(&ack(*now, bytes, None, flight, false))
            }
            Event::Rto { flight } => cc.on_rto(*now, flight),
            Event::Idle { idle_ms, rto_ms } => cc.on_idle_restart(
                *now,
                Duration::from_millis(idle_ms.into()),
                Duration::from_millis(rto_ms.into()),
            ),
            Event::SetMss(smss) => cc.set_mss(smss),
            Event::Wait { secs } => *now += Duration::from_secs(secs.into()),
        }
    }

    proptest! {
        /// No sequence of events panics, lets cwnd fall below one segment,
        /// or lets ssthresh fall below two.
        #[test]
        fn any_event_sequence_keeps_the_windows_sane(
            cubic in any::<bool>(),
            smss in prop_oneof![1u32..20_000, Just(u32::MAX)],
            events in proptest::collection::vec(event(), 0..300),
        ) {
            let alg = if cubic { CongestionAlgorithm::Cubic } else { CongestionAlgorithm::NewReno };
            let mut now = Instant::ZERO;
            let mut cc = new_controller(alg, smss, now);
            for event in &events {
                apply(&mut cc, &mut now, event);
                let smss = cc.smss();
                prop_assert!(smss >= 1);
                prop_assert!(cc.cwnd() >= smss, "cwnd {} < smss {} after {:?}", cc.cwnd(), smss, event);
                prop_assert!(
                    cc.ssthresh() >= smss.saturating_mul(2),
                    "ssthresh {} after {:?}", cc.ssthresh(), event
                );
                prop_assert!(!(cc.in_slow_start() && cc.in_recovery()));
            }
        }

        /// Growth is monotone outside congestion events, and app-limited
        /// ACKs never grow cwnd.
        #[test]
        fn acks_never_shrink_and_app_limited_acks_never_grow(
            cubic in any::<bool>(),
            acks in proptest::collection::vec((0u16..500, 0u32..100_000, any::<bool>()), 1..400),
        ) {
            let alg = if cubic { CongestionAlgorithm::Cubic } else { CongestionAlgorithm::NewReno };
            let mut now = Instant::ZERO;
            let mut cc = new_controller(alg, SMSS, now);
            // Start from congestion avoidance half the time.
            if acks.len() % 2 == 0 {
                cc.on_enter_recovery(now, 50 * SMSS);
                cc.on_recovery_exit(&Ack { now, bytes_acked: SMSS, rtt: None, flight_size: 50 * SMSS, app_limited: false });
            }
            for &(dt_ms, bytes, app_limited) in &acks {
                let before = cc.cwnd();
                apply(&mut cc, &mut now, &Event::Ack {
                    dt_ms, bytes, rtt_ms: Some(40), flight: 50 * SMSS, app_limited
                });
                prop_assert!(cc.cwnd() >= before);
                if app_limited {
                    prop_assert_eq!(cc.cwnd(), before);
                }
            }
        }
    }
}
