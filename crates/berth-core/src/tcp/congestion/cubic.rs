//! CUBIC (RFC 9438) with HyStart++ (RFC 9406) for the initial slow start.
//!
//! In congestion avoidance the window follows `W_cubic(t) = C*(t-K)^3 +
//! W_max` (C = 0.4), where `t` runs from the start of the avoidance epoch and
//! leaves out application-limited time, and `K` is when the curve comes back
//! to `W_max`, the window before the last cut. Each ACK moves cwnd towards
//! `W_cubic(t + SRTT)` (clamped to `[cwnd, 1.5*cwnd]`) unless the
//! Reno-friendly estimate `W_est` is larger (RFC 9438 section 4.3). A loss
//! cuts ssthresh to `0.7 * FlightSize` and, with fast convergence, remembers
//! a `W_max` below the old one when the window is shrinking. Windows are kept
//! in bytes; the curve is evaluated in `f64` and converted back with
//! saturation, so no input can overflow or produce NaN.
//!
//! HyStart++ watches the minimum RTT per round during the initial slow start
//! (while ssthresh is still infinite). A rise of at least
//! `clamp(lastRoundMinRTT / 8, 4 ms, 16 ms)` moves it to Conservative Slow
//! Start (a quarter of the growth); `CSS_ROUNDS` rounds there end slow start
//! with ssthresh = cwnd, and an RTT back below the baseline returns to slow
//! start. Rounds are counted in acknowledged bytes (see the parent module),
//! so the connection passes no sequence numbers.
//!
//! Deliberate differences from the letter of the RFCs:
//! - the per-ACK increase in the concave and convex regions is scaled by the
//!   segments the ACK covers, as Linux does, so delayed ACKs do not halve
//!   CUBIC's growth (RFC 9438 says per ACK; `W_est` already counts segments);
//! - a new epoch whose `W_max` is not above cwnd starts the curve at cwnd
//!   with `K = 0`, as Linux does (the RFC's rule after a timeout or a
//!   HyStart++ exit, applied to every such case);
//! - slow start, CSS included, grows by at most L = 2*SMSS per ACK (RFC
//!   3465, shared with NewReno) where RFC 9406 suggests L = 8 for a sender
//!   without pacing: stretch ACKs grow cwnd less;
//! - the round in which CSS starts counts as the first of its `CSS_ROUNDS`.

use super::{Ack, CongestionControl, Window};
use crate::time::{Duration, Instant};

/// RFC 9438 section 5.1: the aggressiveness constant, in segments/s³.
const C: f64 = 0.4;
/// RFC 9438 section 4.6: the multiplicative decrease factor, 0.7 as
/// `BETA_NUM / BETA_DEN` for integer byte arithmetic.
const BETA_NUM: u64 = 7;
const BETA_DEN: u64 = 10;
const BETA: f64 = 0.7;
/// RFC 9438 section 4.3: `3 * (1 - beta) / (1 + beta)`, Reno-friendly growth.
const ALPHA: f64 = 3.0 * (1.0 - BETA) / (1.0 + BETA);

/// The CUBIC congestion controller (RFC 9438) with HyStart++ (RFC 9406).
#[derive(Debug, Clone)]
pub(crate) struct Cubic {
    window: Window,
    hystart: HyStart,
    /// `W_max` in bytes: cwnd before the last cut (lowered by fast
    /// convergence). `None` when undefined: before any loss, after a
    /// timeout (section 4.8) and after HyStart++ ends slow start (4.10).
    w_max: Option<f64>,
    /// `cwnd_prior` in bytes: cwnd when ssthresh was last set.
    cwnd_prior: f64,
    /// `W_max` and `cwnd_prior` before the last reduction, for undo.
    undo_curve: Option<(Option<f64>, f64)>,
    /// The current congestion avoidance epoch, started by its first ACK.
    epoch: Option<Epoch>,
    /// The smoothed RTT of the ACKs' samples (RFC 6298's SRTT).
    srtt: Option<Duration>,
    last_ack: Instant,
}

/// One congestion avoidance stage of the cubic curve.
#[derive(Debug, Clone, Copy)]
struct Epoch {
    /// `t_epoch`, pushed later by application-limited time.
    start: Instant,
    /// `K`, seconds.
    k: f64,
    /// The curve's plateau `W_max`, bytes.
    plateau: f64,
    /// `W_est`, bytes.
    w_est: f64,
    /// Growth not yet added to cwnd (less than one byte).
    carry: f64,
}

impl Epoch {
    /// `W_cubic(t)` in bytes, `t` in seconds since the epoch.
    fn w_cubic(&self, t: f64, smss: f64) -> f64 {
        //= https://www.rfc-editor.org/rfc/rfc9438#section-4.2
        //# CUBIC uses the following window increase function:
        //#
        //#                       3
        //#   W     (t) = C * (t - K)  + W
        //#    cubic                      max
        C * (t - self.k).powi(3) * smss + self.plateau
    }
}

impl Cubic {
    /// A controller for sender MSS `smss`, created at `now`.
    pub(crate) fn new(smss: u32, now: Instant) -> Self {
        Self {
            window: Window::new(smss),
            hystart: HyStart::new(),
            w_max: None,
            cwnd_prior: 0.0,
            undo_curve: None,
            epoch: None,
            srtt: None,
            last_ack: now,
        }
    }

    /// RFC 9438 section 4.6 (Figure 5): the ssthresh a congestion event
    /// sets, before the 2*SMSS floor that [`Window`] applies.
    fn loss_ssthresh(flight_size: u32) -> u32 {
        //= https://www.rfc-editor.org/rfc/rfc9438#section-4.6
        //# ssthresh =  flight_size * β      new  ssthresh
        let cut = u64::from(flight_size) * BETA_NUM / BETA_DEN;
        u32::try_from(cut).unwrap_or(u32::MAX)
    }

    /// RFC 6298 (2.2)/(2.3) smoothing, alpha = 1/8.
    fn update_srtt(&mut self, rtt: Option<Duration>) {
        let Some(rtt) = rtt else { return };
        self.srtt = Some(match self.srtt {
            None => rtt,
            Some(srtt) => {
                let micros = (srtt.as_micros() * 7 + rtt.as_micros()) / 8;
                Duration::from_micros(u64::try_from(micros).unwrap_or(u64::MAX))
            }
        });
    }

    /// A new epoch starting at `now` with cwnd = `cwnd_epoch`.
    fn start_epoch(&self, now: Instant) -> Epoch {
        let cwnd = f64::from(self.window.cwnd);
        let smss = f64::from(self.window.smss);
        let (plateau, k) = match self.w_max {
            //= https://www.rfc-editor.org/rfc/rfc9438#section-4.2
            //# _K_ is calculated using the
            //# following equation:
            Some(w_max) if w_max > cwnd => (w_max, ((w_max - cwnd) / (C * smss)).cbrt()),
            //= https://www.rfc-editor.org/rfc/rfc9438#section-4.8
            //# During the first congestion avoidance stage after a timeout, CUBIC
            //# increases its congestion window size using Figure 1, where _t_ is the
            //# elapsed time since the beginning of the current congestion avoidance
            //# stage, _K_ is set to 0, and _W_max_ is set to the congestion window
            //# size at the beginning of the current congestion avoidance stage.
            _ => (cwnd, 0.0),
        };
        Epoch {
            start: now,
            k,
            plateau,
            //= https://www.rfc-editor.org/rfc/rfc9438#section-4.3
            //# _W_est_ is set equal to _cwnd_epoch_ at the start of the congestion
            //# avoidance stage.
            w_est: cwnd,
            carry: 0.0,
        }
    }

    fn congestion_avoidance(&mut self, now: Instant, bytes_acked: u32) {
        let mut epoch = self.epoch.unwrap_or_else(|| self.start_epoch(now));
        let cwnd = f64::from(self.window.cwnd);
        let smss = f64::from(self.window.smss);
        let acked = f64::from(bytes_acked);
        let t = now.saturating_duration_since(epoch.start).as_secs_f64();

        //= https://www.rfc-editor.org/rfc/rfc9438#section-4.3
        //# Once _W_est_ has grown to reach the _cwnd_ at the time of most
        //# recently setting _ssthresh_ -- that is, _W_est_ >= _cwnd_prior_ --
        //# the sender SHOULD set α__cubic_ to 1 to ensure that it can achieve
        //# the same congestion window increment rate as Reno, which uses AIMD(1,
        //# 0.5).
        let alpha = if epoch.w_est >= self.cwnd_prior {
            1.0
        } else {
            ALPHA
        };
        // Figure 4 in bytes: segments_acked / cwnd (segments) is
        // bytes_acked / cwnd (bytes); the result is in segments, so * SMSS.
        epoch.w_est += alpha * smss * acked / cwnd;

        let new_cwnd = if epoch.w_cubic(t, smss) < epoch.w_est {
            //= https://www.rfc-editor.org/rfc/rfc9438#section-4.3
            //# If so, CUBIC is in the
            //# Reno-friendly region and _cwnd_ SHOULD be set to _W_est_ at each
            //# reception of a new ACK.
            epoch.carry = 0.0;
            epoch.w_est.max(cwnd)
        } else {
            //= https://www.rfc-editor.org/rfc/rfc9438#section-4.2
            //# Upon receiving a new ACK during congestion avoidance, CUBIC computes
            //# the _target_ congestion window size after the next _RTT_ using
            //# Figure 1 as follows, where _RTT_ is the smoothed round-trip time.
            let rtt = self.srtt.unwrap_or(Duration::ZERO).as_secs_f64();
            // cwnd >= 1 and finite, so the bounds are ordered and not NaN
            // (the two cases where `f64::clamp` panics).
            let target = epoch.w_cubic(t + rtt, smss).clamp(cwnd, 1.5 * cwnd);
            //= https://www.rfc-editor.org/rfc/rfc9438#section-4.4
            //# In this region, _cwnd_ MUST be incremented
            //# by
            //#
            //#                            target - cwnd
            //#                            ─────────────
            //#                                cwnd
            //#
            //# for each received new ACK
            // (in segments; scaled by the segments this ACK covers, see the
            // module documentation).
            epoch.carry += (target - cwnd) * acked / cwnd;
            let whole = epoch.carry.floor();
            epoch.carry -= whole;
            cwnd + whole
        };
        self.epoch = Some(epoch);
        // `as` saturates at the integer bounds; the window floor is SMSS.
        self.window.set_cwnd(new_cwnd as u32);
    }

    /// Fast retransmit: fast convergence and `cwnd_prior`, before the
    /// window is cut.
    fn remember_window(&mut self) {
        self.undo_curve = Some((self.w_max, self.cwnd_prior));
        let cwnd = f64::from(self.window.cwnd);
        //= https://www.rfc-editor.org/rfc/rfc9438#section-4.7
        //# With fast convergence, when a congestion event occurs, _W_max_ is
        //# updated as follows, before the window reduction described in
        //# Section 4.6.
        self.w_max = Some(match self.w_max {
            Some(w_max) if cwnd < w_max => cwnd * (1.0 + BETA) / 2.0,
            _ => cwnd,
        });
        //= https://www.rfc-editor.org/rfc/rfc9438#section-4.6
        //# cwnd      = cwnd                 save  cwnd
        //#     prior
        self.cwnd_prior = cwnd;
        self.epoch = None;
        self.hystart.stop();
    }
}

impl CongestionControl for Cubic {
    #[cfg(test)]
    fn name(&self) -> &'static str {
        "cubic"
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
        let Some(old) = self.window.set_mss(smss) else {
            return;
        };
        let new = f64::from(self.window.smss);
        let old = f64::from(old);
        self.w_max = self.w_max.map(|w| w * new / old);
        self.cwnd_prior = self.cwnd_prior * new / old;
        self.epoch = None;
    }

    fn on_ack(&mut self, ack: &Ack) {
        self.window.on_new_data_acked(ack.bytes_acked);
        self.update_srtt(ack.rtt);
        let since_last_ack = ack.now.saturating_duration_since(self.last_ack);
        self.last_ack = self.last_ack.max(ack.now);
        if ack.app_limited {
            //= https://www.rfc-editor.org/rfc/rfc9438#section-4.2
            //# The elapsed time _t_ in Figure 1 MUST NOT include periods during
            //# which _cwnd_ has not been updated due to application-limited behavior
            //# (see Section 5.8).
            if let Some(epoch) = &mut self.epoch {
                epoch.start = (epoch.start + since_last_ack).min(ack.now);
            }
        }
        if self.window.recovery {
            return;
        }
        let mut bytes = ack.bytes_acked;
        if self.window.in_slow_start() {
            // HyStart++ runs in the initial slow start only: every event
            // that makes ssthresh finite also stops it.
            bytes = if ack.app_limited {
                0
            } else {
                self.window.slow_start(bytes, self.hystart.growth_divisor())
            };
            if self.hystart.on_ack(ack) {
                //= https://www.rfc-editor.org/rfc/rfc9406#section-4.2
                //# If CSS_ROUNDS rounds are complete, enter congestion avoidance by
                //# setting the ssthresh to the current cwnd.
                self.window.ssthresh = self.window.cwnd.max(self.window.min_ssthresh());
                //= https://www.rfc-editor.org/rfc/rfc9438#section-4.10
                //# In
                //# this special case, CUBIC sets _cwnd_prior = cwnd_ and switches to
                //# congestion avoidance.
                self.cwnd_prior = f64::from(self.window.cwnd);
                self.w_max = None;
                self.epoch = None;
            }
        }
        //= https://www.rfc-editor.org/rfc/rfc9438#section-5.8
        //# CUBIC does not increase its congestion window if a flow is
        //# application limited.
        if bytes > 0 && !ack.app_limited && !self.window.in_slow_start() {
            self.congestion_avoidance(ack.now, bytes);
        }
    }

    fn on_enter_recovery(&mut self, now: Instant, flight_size: u32) {
        let _ = now;
        if self.window.recovery {
            return;
        }
        self.remember_window();
        self.window.enter_recovery(Self::loss_ssthresh(flight_size));
    }

    fn on_partial_ack(&mut self, ack: &Ack) {
        self.update_srtt(ack.rtt);
        self.last_ack = self.last_ack.max(ack.now);
        self.window.partial_ack(ack.bytes_acked);
    }

    fn on_recovery_exit(&mut self, ack: &Ack) {
        self.update_srtt(ack.rtt);
        self.last_ack = self.last_ack.max(ack.now);
        self.window.exit_recovery(ack.bytes_acked, ack.flight_size);
    }

    fn on_rto(&mut self, now: Instant, flight_size: u32) {
        let _ = now;
        //= https://www.rfc-editor.org/rfc/rfc9438#section-4.8
        //# In the case of a timeout, CUBIC follows Reno to reduce _cwnd_
        //# [RFC5681] but sets _ssthresh_ using β__cubic_ (same as in
        //# Section 4.6) in a way that is different from Reno TCP [RFC5681].
        // A backed-off timeout is the same event; in recovery, the event
        // that started it already saved cwnd_prior.
        if !self.window.timed_out && !self.window.recovery {
            self.undo_curve = Some((self.w_max, self.cwnd_prior));
            self.cwnd_prior = f64::from(self.window.cwnd);
        }
        // Section 4.8: the next avoidance stage restarts the curve (K = 0).
        self.w_max = None;
        self.epoch = None;
        self.hystart.stop();
        self.window.rto(Self::loss_ssthresh(flight_size));
    }

    fn on_undo(&mut self) {
        if self.window.undo()
            && let Some((w_max, cwnd_prior)) = self.undo_curve.take()
        {
            // The curve from before the reduction, restarted from the
            // restored window.
            self.w_max = w_max;
            self.cwnd_prior = cwnd_prior;
        }
        self.epoch = None;
    }

    fn on_idle_restart(&mut self, now: Instant, idle: Duration, rto: Duration) {
        let _ = now;
        if self.window.idle_restart(idle, rto) {
            // The next avoidance stage starts afresh from the reduced window
            // (keeping W_max), so no idle time enters the curve.
            self.epoch = None;
        }
    }
}

/// RFC 9406 section 4.3: the constants, as recommended.
const MIN_RTT_THRESH: Duration = Duration::from_millis(4);
const MAX_RTT_THRESH: Duration = Duration::from_millis(16);
const MIN_RTT_DIVISOR: u32 = 8;
const N_RTT_SAMPLE: u32 = 8;
const CSS_GROWTH_DIVISOR: u32 = 4;
const CSS_ROUNDS: u32 = 5;

/// Where HyStart++ has the initial slow start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Standard slow start, watching for an RTT increase.
    SlowStart,
    /// Conservative Slow Start since the RTT rose to `baseline`; `rounds`
    /// counts the rounds that ended in CSS (the one it began in included).
    Css { baseline: Duration, rounds: u32 },
    /// Slow start is over (CSS ran its rounds, or a loss or timeout).
    Done,
}

/// HyStart++ (RFC 9406) state. Rounds are delimited in bytes: a round ends
/// when the running total of acknowledged bytes reaches `window_end`, the
/// total plus FlightSize at the round's start (SND.NXT, in other words).
#[derive(Debug, Clone)]
struct HyStart {
    phase: Phase,
    delivered: u64,
    window_end: u64,
    /// `None` is the RFC's "infinity".
    last_round_min_rtt: Option<Duration>,
    current_round_min_rtt: Option<Duration>,
    rtt_sample_count: u32,
}

impl HyStart {
    const fn new() -> Self {
        Self {
            phase: Phase::SlowStart,
            delivered: 0,
            // The first ACK ends round zero and starts counting.
            window_end: 0,
            last_round_min_rtt: None,
            current_round_min_rtt: None,
            rtt_sample_count: 0,
        }
    }

    fn stop(&mut self) {
        //= https://www.rfc-editor.org/rfc/rfc9406#section-4.3
        //# An implementation SHOULD use HyStart++ only for the initial slow
        //# start (when the ssthresh is at its initial value of arbitrarily high
        //# per [RFC5681]) and fall back to using standard slow start for the
        //# remainder of the connection lifetime.
        self.phase = Phase::Done;
    }

    fn growth_divisor(&self) -> u32 {
        match self.phase {
            //= https://www.rfc-editor.org/rfc/rfc9406#section-4.2
            //# cwnd = cwnd + (min(N, L * SMSS) / CSS_GROWTH_DIVISOR)
            Phase::Css { .. } => CSS_GROWTH_DIVISOR,
            Phase::SlowStart | Phase::Done => 1,
        }
    }

    /// Takes one ACK of the initial slow start; true when Conservative Slow
    /// Start has run its rounds and slow start must end.
    fn on_ack(&mut self, ack: &Ack) -> bool {
        if self.phase == Phase::Done {
            return false;
        }
        self.delivered = self.delivered.saturating_add(u64::from(ack.bytes_acked));
        if let Some(rtt) = ack.rtt {
            //= https://www.rfc-editor.org/rfc/rfc9406#section-4.2
            //# currentRoundMinRTT = min(currentRoundMinRTT, currRTT)
            //# rttSampleCount += 1
            self.current_round_min_rtt =
                Some(self.current_round_min_rtt.map_or(rtt, |m| m.min(rtt)));
            self.rtt_sample_count = self.rtt_sample_count.saturating_add(1);
        }
        self.check_rtt();
        if self.delivered < self.window_end {
            return false;
        }
        // The round is over: its last ACK has been counted in it.
        let mut done = false;
        if let Phase::Css { rounds, .. } = &mut self.phase {
            *rounds += 1;
            if *rounds >= CSS_ROUNDS {
                self.phase = Phase::Done;
                done = true;
            }
        }
        //= https://www.rfc-editor.org/rfc/rfc9406#section-4.2
        //# lastRoundMinRTT = currentRoundMinRTT
        //# currentRoundMinRTT = infinity
        //# rttSampleCount = 0
        self.last_round_min_rtt = self.current_round_min_rtt.take();
        self.rtt_sample_count = 0;
        self.window_end = self.delivered.saturating_add(u64::from(ack.flight_size));
        done
    }

    /// The delay checks, once a round has `N_RTT_SAMPLE` samples.
    fn check_rtt(&mut self) {
        if self.rtt_sample_count < N_RTT_SAMPLE {
            return;
        }
        let Some(current) = self.current_round_min_rtt else {
            return;
        };
        match self.phase {
            Phase::SlowStart => {
                let Some(last) = self.last_round_min_rtt else {
                    return;
                };
                //= https://www.rfc-editor.org/rfc/rfc9406#section-4.2
                //# RttThresh = max(MIN_RTT_THRESH,
                //#   min(lastRoundMinRTT / MIN_RTT_DIVISOR, MAX_RTT_THRESH))
                let thresh = (last / MIN_RTT_DIVISOR).clamp(MIN_RTT_THRESH, MAX_RTT_THRESH);
                //= https://www.rfc-editor.org/rfc/rfc9406#section-4.2
                //# if (currentRoundMinRTT >= (lastRoundMinRTT + RttThresh))
                //#   cssBaselineMinRtt = currentRoundMinRTT
                //#   exit slow start and enter CSS
                if last.checked_add(thresh).is_some_and(|bar| current >= bar) {
                    self.phase = Phase::Css {
                        baseline: current,
                        rounds: 0,
                    };
                }
            }
            Phase::Css { baseline, .. } => {
                //= https://www.rfc-editor.org/rfc/rfc9406#section-4.2
                //# if (currentRoundMinRTT < cssBaselineMinRtt)
                //#   cssBaselineMinRtt = infinity
                //#   resume slow start including HyStart++
                if current < baseline {
                    self.phase = Phase::SlowStart;
                }
            }
            Phase::Done => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::INFINITE_SSTHRESH;
    use super::super::tests::AckClock;
    use super::*;

    const SMSS: u32 = 1000;
    const RTT: Duration = Duration::from_millis(100);

    fn ms(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    fn ack_at(now: Instant, bytes: u32, rtt: Option<Duration>, flight: u32) -> Ack {
        Ack {
            now,
            bytes_acked: bytes,
            rtt,
            flight_size: flight,
            app_limited: false,
        }
    }

    /// A controller that lost a packet at cwnd = `w_max` segments (FlightSize
    /// equal to cwnd) and is back in congestion avoidance at 0.7 of it.
    fn after_loss(w_max: u32) -> Cubic {
        let mut c = Cubic::new(SMSS, Instant::ZERO);
        c.window.started = true;
        c.window.cwnd = w_max * SMSS;
        c.srtt = Some(RTT);
        c.on_enter_recovery(Instant::ZERO, w_max * SMSS);
        let flight = c.cwnd();
        c.on_recovery_exit(&ack_at(Instant::ZERO, SMSS, None, flight));
        c
    }

    /// `W_cubic(t)` straight from the RFC, in segments.
    fn rfc_w_cubic(t: f64, k: f64, w_max: f64) -> f64 {
        0.4 * (t - k).powi(3) + w_max
    }

    //= https://www.rfc-editor.org/rfc/rfc9438#section-4.6
    //= type=test
    //# ssthresh =  flight_size * β      new  ssthresh
    #[test]
    fn loss_cuts_to_seven_tenths_and_remembers_w_max() {
        let c = after_loss(100);
        assert_eq!(c.ssthresh(), 70 * SMSS);
        assert_eq!(c.cwnd(), 70 * SMSS);
        assert_eq!(c.w_max, Some(f64::from(100 * SMSS)));
        assert_eq!(c.cwnd_prior, f64::from(100 * SMSS));
        assert!(!c.in_slow_start());
        // The cut follows FlightSize, not cwnd.
        let mut c = Cubic::new(SMSS, Instant::ZERO);
        c.on_enter_recovery(Instant::ZERO, 40 * SMSS);
        assert_eq!(c.ssthresh(), 28 * SMSS);
        assert_eq!(c.cwnd(), 28 * SMSS);
        // Undone: the window and the curve from before.
        let mut c = after_loss(100);
        c.on_undo();
        assert_eq!(c.cwnd(), 100 * SMSS);
        assert_eq!(c.w_max, None);
    }

    //= https://www.rfc-editor.org/rfc/rfc9438#section-4.7
    //= type=test
    //# With fast convergence, when a congestion event occurs, _W_max_ is
    //# updated as follows, before the window reduction described in
    //# Section 4.6.
    #[test]
    fn fast_convergence_releases_bandwidth_when_shrinking() {
        let mut c = after_loss(100);
        c.window.cwnd = 80 * SMSS;
        c.on_enter_recovery(Instant::from_secs(1), 80 * SMSS);
        // 80 < 100: W_max = 80 * (1 + 0.7) / 2.
        assert_eq!(c.w_max, Some(68.0 * f64::from(SMSS)));
        assert_eq!(c.cwnd_prior, f64::from(80 * SMSS));
        c.on_recovery_exit(&ack_at(Instant::from_secs(1), SMSS, None, 56 * SMSS));
        c.window.cwnd = 90 * SMSS;
        c.on_enter_recovery(Instant::from_secs(2), 90 * SMSS);
        assert_eq!(
            c.w_max,
            Some(f64::from(90 * SMSS)),
            "growing again: plain cwnd"
        );
    }

    //= https://www.rfc-editor.org/rfc/rfc9438#section-4.2
    //= type=test
    //# CUBIC uses the following window increase function:
    #[test]
    fn the_curve_is_the_rfc_formula() {
        let mut c = after_loss(100);
        c.on_ack(&ack_at(Instant::ZERO, 0, None, 70 * SMSS));
        assert!(c.epoch.is_none(), "no bytes, no epoch");
        c.on_ack(&ack_at(Instant::ZERO, 1, None, 70 * SMSS));
        let epoch = c.epoch.unwrap();
        // K = cbrt((W_max - cwnd_epoch) / C) = cbrt(30 / 0.4).
        let k = 75f64.cbrt();
        assert!((epoch.k - k).abs() < 1e-9, "{}", epoch.k);
        assert_eq!(epoch.plateau, 100_000.0);
        let smss = f64::from(SMSS);
        for t in [0.0, 1.0, k / 2.0, k, 1.5 * k, 10.0] {
            let bytes = epoch.w_cubic(t, smss);
            assert!(
                (bytes / smss - rfc_w_cubic(t, k, 100.0)).abs() < 1e-9,
                "t = {t}"
            );
        }
        assert!(
            (epoch.w_cubic(0.0, smss) - 70_000.0).abs() < 1e-6,
            "starts at cwnd_epoch"
        );
        assert!(
            (epoch.w_cubic(k, smss) - 100_000.0).abs() < 1e-6,
            "plateau at K"
        );
        // Concave before K, convex after: the sign of the second difference.
        let second = |t: f64| {
            epoch.w_cubic(t + 0.1, smss) - 2.0 * epoch.w_cubic(t, smss)
                + epoch.w_cubic(t - 0.1, smss)
        };
        assert!(second(k / 2.0) < 0.0);
        assert!(second(1.5 * k) > 0.0);
    }

    //= https://www.rfc-editor.org/rfc/rfc9438#section-4.4
    //= type=test
    //# In this region, _cwnd_ MUST be incremented
    //# by
    #[test]
    fn each_ack_moves_cwnd_by_target_minus_cwnd_over_cwnd() {
        let mut c = after_loss(100);
        c.on_ack(&ack_at(Instant::ZERO, SMSS, None, 70 * SMSS));
        let start = c.epoch.unwrap().start;
        let cwnd = c.cwnd();
        let now = start + ms(2000);
        c.on_ack(&ack_at(now, SMSS, None, 70 * SMSS));
        let k = 75f64.cbrt();
        let w = f64::from(cwnd) / f64::from(SMSS);
        // target = W_cubic(t + RTT), within [cwnd, 1.5 cwnd].
        let target = rfc_w_cubic(2.0 + 0.1, k, 100.0).clamp(w, 1.5 * w);
        let expected = w + (target - w) / w;
        let got = f64::from(c.cwnd()) / f64::from(SMSS);
        assert!((got - expected).abs() < 0.002, "{got} vs {expected}");
        // Far past K the target is capped at 1.5 cwnd: one ACK covering a
        // whole window grows cwnd by at most half of it.
        let mut c = after_loss(100);
        c.on_ack(&ack_at(Instant::ZERO, SMSS, None, 70 * SMSS));
        let before = c.cwnd();
        c.on_ack(&ack_at(Instant::from_secs(3600), before, None, 70 * SMSS));
        assert_eq!(c.cwnd(), before + before / 2);
    }

    //= https://www.rfc-editor.org/rfc/rfc9438#section-4.3
    //= type=test
    //# If so, CUBIC is in the
    //# Reno-friendly region and _cwnd_ SHOULD be set to _W_est_ at each
    //# reception of a new ACK.
    #[test]
    fn small_windows_grow_at_least_like_reno() {
        let mut c = after_loss(10);
        assert_eq!(c.cwnd(), 7 * SMSS);
        // At t = 0, W_cubic = 7 segments and W_est has grown by
        // alpha * 1/7: the Reno-friendly estimate wins.
        c.on_ack(&ack_at(Instant::ZERO, SMSS, None, 7 * SMSS));
        let expected = 7.0 * f64::from(SMSS) + ALPHA * f64::from(SMSS) / 7.0;
        assert_eq!(c.cwnd(), expected as u32);
        assert!((ALPHA - 9.0 / 17.0).abs() < 1e-12, "3 * 0.3 / 1.7");
    }

    //= https://www.rfc-editor.org/rfc/rfc9438#section-4.3
    //= type=test
    //# Once _W_est_ has grown to reach the _cwnd_ at the time of most
    //# recently setting _ssthresh_ -- that is, _W_est_ >= _cwnd_prior_ --
    //# the sender SHOULD set α__cubic_ to 1
    #[test]
    fn w_est_grows_like_reno_once_past_cwnd_prior() {
        let mut c = after_loss(10);
        c.on_ack(&ack_at(Instant::ZERO, SMSS, None, 7 * SMSS));
        let mut epoch = c.epoch.unwrap();
        epoch.w_est = c.cwnd_prior;
        c.epoch = Some(epoch);
        c.window.cwnd = 10 * SMSS;
        c.on_ack(&ack_at(Instant::ZERO, SMSS, None, 10 * SMSS));
        // alpha = 1: W_est += 1 * SMSS * SMSS / cwnd = 100 bytes.
        assert!((c.epoch.unwrap().w_est - 10_100.0).abs() < 1e-9);
    }

    //= https://www.rfc-editor.org/rfc/rfc9438#section-4.8
    //= type=test
    //# During the first congestion avoidance stage after a timeout, CUBIC
    //# increases its congestion window size using Figure 1, where _t_ is the
    //# elapsed time since the beginning of the current congestion avoidance
    //# stage, _K_ is set to 0, and _W_max_ is set to the congestion window
    //# size at the beginning of the current congestion avoidance stage.
    #[test]
    fn after_a_timeout_the_curve_starts_flat_at_cwnd() {
        let mut c = after_loss(100);
        c.on_rto(Instant::from_secs(1), 80 * SMSS);
        assert_eq!(c.cwnd(), SMSS);
        assert_eq!(c.ssthresh(), 56 * SMSS, "0.7 * FlightSize");
        let mut net = AckClock::new(SMSS, RTT);
        while c.in_slow_start() {
            net.round(&mut c);
        }
        let epoch = c.epoch.unwrap();
        assert_eq!(epoch.k, 0.0);
        assert_eq!(epoch.plateau, f64::from(56 * SMSS));
    }

    //= https://www.rfc-editor.org/rfc/rfc9438#section-4.2
    //= type=test
    //# The elapsed time _t_ in Figure 1 MUST NOT include periods during
    //# which _cwnd_ has not been updated due to application-limited behavior
    //# (see Section 5.8).
    #[test]
    fn application_limited_time_is_left_out_of_t() {
        let mut c = after_loss(100);
        c.on_ack(&ack_at(Instant::ZERO, SMSS, None, 70 * SMSS));
        let start = c.epoch.unwrap().start;
        let cwnd = c.cwnd();
        // Five seconds of trickle: ACKs arrive, but the sender is not
        // using its window.
        for s in 1..=5 {
            let mut a = ack_at(Instant::from_secs(s), SMSS, None, SMSS);
            a.app_limited = true;
            c.on_ack(&a);
        }
        assert_eq!(c.cwnd(), cwnd, "no growth while application limited");
        assert_eq!(c.epoch.unwrap().start, start + Duration::from_secs(5));
    }

    /// The whole life of a CUBIC flow on a toy path: slow start up to
    /// 1000 segments, one loss, then the cubic curve back to W_max around K
    /// and beyond it.
    #[test]
    fn simulation_follows_the_curve_back_to_w_max() {
        let mut c = Cubic::new(SMSS, Instant::ZERO);
        let mut net = AckClock::new(SMSS, RTT);
        while c.cwnd() < 1000 * SMSS {
            net.round(&mut c);
            assert!(
                c.in_slow_start(),
                "a steady RTT never ends HyStart++ slow start"
            );
        }
        net.loss_round(&mut c);
        let w_max = c.w_max.unwrap() / f64::from(SMSS);
        assert!(w_max >= 1000.0);
        assert!((f64::from(c.ssthresh()) / f64::from(SMSS) - 0.7 * w_max).abs() < 1.0);
        net.round(&mut c);
        let epoch = c.epoch.unwrap();
        let cwnd_epoch = 0.7 * w_max;
        let k = ((w_max - cwnd_epoch) / 0.4).cbrt();
        assert!((epoch.k - k).abs() < 0.01, "K {} vs {k}", epoch.k);

        let mut reached = None;
        let mut checked = 0;
        while net.now < epoch.start + Duration::from_secs_f64(1.6 * k) {
            net.round(&mut c);
            let t = (net.now - epoch.start).as_secs_f64();
            let cwnd = f64::from(c.cwnd()) / f64::from(SMSS);
            // cwnd tracks W_cubic(t + RTT) one RTT behind: W_cubic(t).
            let curve = rfc_w_cubic(t, k, w_max);
            assert!(
                (cwnd - curve).abs() / curve < 0.02,
                "t = {t:.2}: cwnd {cwnd:.1} vs {curve:.1}"
            );
            checked += 1;
            if t < k - 0.5 {
                assert!(cwnd < w_max, "concave: below W_max before K");
            }
            if reached.is_none() && cwnd >= w_max {
                reached = Some(t);
            }
        }
        assert!(checked > 100);
        let reached = reached.unwrap();
        assert!(
            (reached - k).abs() < 0.5,
            "back at W_max after {reached:.2} s, K = {k:.2} s"
        );
        // Convex region: past K + 0.5 s the window is above W_max and
        // accelerating.
        let cwnd = f64::from(c.cwnd()) / f64::from(SMSS);
        assert!(cwnd > w_max + 10.0, "{cwnd}");
    }

    /// Feeds `rounds` rounds of `rtt` samples; the sender keeps cwnd full.
    fn rounds(c: &mut Cubic, net: &mut AckClock, rtt: Duration, rounds: usize) {
        for _ in 0..rounds {
            net.round_with_rtt(c, rtt);
        }
    }

    /// Rounds of `rtt` samples until `done` holds (at most 20); how many.
    fn rounds_until(
        c: &mut Cubic,
        net: &mut AckClock,
        rtt: Duration,
        done: impl Fn(&Cubic) -> bool,
    ) -> usize {
        for n in 1..=20 {
            net.round_with_rtt(c, rtt);
            if done(c) {
                return n;
            }
        }
        panic!("no change after 20 rounds: {:?}", c.hystart.phase);
    }

    fn in_css(c: &Cubic) -> bool {
        matches!(c.hystart.phase, Phase::Css { .. })
    }

    /// A fresh controller that saw 100 ms for three rounds, then enough
    /// 130 ms rounds to enter CSS. The sender's rounds straddle HyStart++'s
    /// (which end at SND.NXT as of the previous boundary), so a change of
    /// RTT takes up to two of ours to fill one of HyStart++'s.
    fn in_css_at_130_ms() -> (Cubic, AckClock) {
        let mut c = Cubic::new(SMSS, Instant::ZERO);
        let mut net = AckClock::new(SMSS, RTT);
        rounds(&mut c, &mut net, ms(100), 3);
        assert!(rounds_until(&mut c, &mut net, ms(130), in_css) <= 2);
        (c, net)
    }

    //= https://www.rfc-editor.org/rfc/rfc9406#section-4.2
    //= type=test
    //# if (currentRoundMinRTT >= (lastRoundMinRTT + RttThresh))
    //#   cssBaselineMinRtt = currentRoundMinRTT
    //#   exit slow start and enter CSS
    #[test]
    fn rtt_increase_moves_to_conservative_slow_start() {
        let mut c = Cubic::new(SMSS, Instant::ZERO);
        let mut net = AckClock::new(SMSS, RTT);
        rounds(&mut c, &mut net, ms(100), 3);
        // RttThresh = clamp(100 / 8, 4, 16) = 12.5 ms: 112 ms is not enough.
        rounds(&mut c, &mut net, ms(112), 3);
        assert_eq!(c.hystart.phase, Phase::SlowStart);
        // Now 112 / 8 = 14 ms: 126 ms is.
        assert!(rounds_until(&mut c, &mut net, ms(126), in_css) <= 2);
        assert!(matches!(c.hystart.phase, Phase::Css { baseline, .. } if baseline == ms(126)));
        assert!(c.in_slow_start(), "CSS is still slow start");
        assert_eq!(c.ssthresh(), INFINITE_SSTHRESH);
        // Conservative Slow Start grows cwnd by a quarter per round.
        let cwnd = c.cwnd();
        rounds(&mut c, &mut net, ms(126), 1);
        let growth = f64::from(c.cwnd()) / f64::from(cwnd);
        assert!((growth - 1.25).abs() < 0.02, "{growth}");
    }

    //= https://www.rfc-editor.org/rfc/rfc9406#section-4.2
    //= type=test
    //# If CSS_ROUNDS rounds are complete, enter congestion avoidance by
    //# setting the ssthresh to the current cwnd.
    #[test]
    fn css_rounds_end_slow_start_without_loss() {
        let (mut c, mut net) = in_css_at_130_ms();
        let n = rounds_until(&mut c, &mut net, ms(130), |c| {
            c.hystart.phase == Phase::Done
        });
        // CSS_ROUNDS = 5 rounds, the one CSS started in counting as the first.
        assert!((4..=5).contains(&n), "{n}");
        assert!(!c.in_slow_start());
        // ssthresh is cwnd as it was on the ACK that ended CSS; the ACKs
        // after it in the same round already grew cwnd in avoidance.
        let exit_cwnd = c.ssthresh();
        assert!(exit_cwnd < c.cwnd() && exit_cwnd != INFINITE_SSTHRESH);
        // RFC 9438 section 4.10: cwnd_prior = cwnd, and the curve starts
        // flat at cwnd (K = 0, W_max = cwnd_epoch).
        assert_eq!(c.cwnd_prior, f64::from(exit_cwnd));
        assert_eq!(c.w_max, None);
        let epoch = c.epoch.unwrap();
        assert_eq!((epoch.k, epoch.plateau), (0.0, f64::from(exit_cwnd)));
    }

    //= https://www.rfc-editor.org/rfc/rfc9406#section-4.2
    //= type=test
    //# if (currentRoundMinRTT < cssBaselineMinRtt)
    //#   cssBaselineMinRtt = infinity
    //#   resume slow start including HyStart++
    #[test]
    fn rtt_back_below_baseline_resumes_slow_start() {
        let (mut c, mut net) = in_css_at_130_ms();
        // The queue drains: the RTT is back near where it was, below the
        // 130 ms baseline and no longer RttThresh above the 100 ms rounds.
        let back = |c: &Cubic| c.hystart.phase == Phase::SlowStart;
        assert!(rounds_until(&mut c, &mut net, ms(105), back) <= 2);
        rounds(&mut c, &mut net, ms(105), 1);
        let cwnd = c.cwnd();
        rounds(&mut c, &mut net, ms(105), 1);
        assert_eq!(c.hystart.phase, Phase::SlowStart);
        // Full-speed slow start again: one more segment per segment acked
        // (the toy sender only sends whole segments).
        assert_eq!(c.cwnd(), cwnd + cwnd / SMSS * SMSS);
    }

    //= https://www.rfc-editor.org/rfc/rfc9406#section-4.2
    //= type=test
    //# RttThresh = max(MIN_RTT_THRESH,
    //#   min(lastRoundMinRTT / MIN_RTT_DIVISOR, MAX_RTT_THRESH))
    #[test]
    fn rtt_threshold_is_clamped_between_4_and_16_ms() {
        let exits = |last: u64, current: u64| {
            let mut h = HyStart::new();
            h.last_round_min_rtt = Some(ms(last));
            h.current_round_min_rtt = Some(ms(current));
            h.rtt_sample_count = N_RTT_SAMPLE;
            h.check_rtt();
            h.phase != Phase::SlowStart
        };
        // 10 ms / 8 is 1.25 ms: the floor of 4 ms applies.
        assert!(!exits(10, 13));
        assert!(exits(10, 14));
        // 1 s / 8 is 125 ms: the ceiling of 16 ms applies.
        assert!(!exits(1000, 1015));
        assert!(exits(1000, 1016));
        // In between, lastRoundMinRTT / 8.
        assert!(!exits(80, 89));
        assert!(exits(80, 90));
        // Fewer than N_RTT_SAMPLE samples decide nothing.
        let mut h = HyStart::new();
        h.last_round_min_rtt = Some(ms(10));
        h.current_round_min_rtt = Some(ms(100));
        h.rtt_sample_count = N_RTT_SAMPLE - 1;
        h.check_rtt();
        assert_eq!(h.phase, Phase::SlowStart);
    }

    //= https://www.rfc-editor.org/rfc/rfc9406#section-4.3
    //= type=test
    //# An implementation SHOULD use HyStart++ only for the initial slow
    //# start
    #[test]
    fn later_slow_starts_are_standard() {
        let mut c = Cubic::new(SMSS, Instant::ZERO);
        let mut net = AckClock::new(SMSS, RTT);
        rounds(&mut c, &mut net, ms(100), 2);
        c.on_rto(net.now, net.flight());
        assert_eq!(c.hystart.phase, Phase::Done);
        // Rising RTTs no longer slow slow start down.
        let mut rtt = 100;
        while c.in_slow_start() {
            let cwnd = c.cwnd();
            rtt += 50;
            rounds(&mut c, &mut net, ms(rtt), 1);
            assert!(
                c.cwnd() >= (2 * cwnd).min(c.ssthresh()),
                "{cwnd} -> {}",
                c.cwnd()
            );
        }
    }

    #[test]
    fn mss_change_keeps_the_curve_in_segments() {
        let mut c = after_loss(100);
        c.on_ack(&ack_at(Instant::ZERO, SMSS, None, 70 * SMSS));
        c.set_mss(SMSS / 2);
        assert_eq!(c.w_max, Some(50_000.0));
        assert_eq!(c.cwnd_prior, 50_000.0);
        assert!(c.epoch.is_none(), "the next ACK starts a new epoch");
    }

    #[test]
    fn idle_restart_starts_a_new_epoch() {
        let mut c = after_loss(100);
        c.on_ack(&ack_at(Instant::ZERO, SMSS, None, 70 * SMSS));
        c.on_idle_restart(Instant::from_secs(60), Duration::from_secs(60), ms(200));
        assert!(c.epoch.is_none());
        assert_eq!(c.cwnd(), 10 * SMSS);
        assert_eq!(c.ssthresh(), 70 * SMSS);
        assert_eq!(c.w_max, Some(100_000.0));
    }

    #[test]
    fn srtt_smooths_samples_like_rfc_6298() {
        let mut c = Cubic::new(SMSS, Instant::ZERO);
        c.update_srtt(Some(ms(80)));
        assert_eq!(c.srtt, Some(ms(80)));
        c.update_srtt(Some(ms(160)));
        assert_eq!(c.srtt, Some(ms(90)));
        c.update_srtt(None);
        assert_eq!(c.srtt, Some(ms(90)));
        c.update_srtt(Some(Duration::MAX));
        assert!(c.srtt.is_some());
    }
}
