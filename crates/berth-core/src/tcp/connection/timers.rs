//! The connection's deadlines and what happens when they pass: retransmission
//! (RFC 6298 section 5, with SYN retries), RACK's reordering timer (RFC
//! 8985 6.3), the tail loss probe (RFC 8985 section 7), delayed ACK
//! (RFC 9293 3.8.6.3),
//! persist / zero-window probing (RFC 9293 3.8.6.1), keepalive (RFC 1122
//! 4.2.3.6), the FIN-WAIT-2 orphan timeout (Linux) and TIME-WAIT (RFC 9293
//! 3.10.7.4, 2*MSL).

use crate::time::Instant;

use super::super::segment::Reset;
use super::super::state::State;
use super::recovery::Phase;
use super::{Connection, Pending};
use crate::time::Duration;

/// RFC 8985 7.2: WCDelAckT, the worst-case delayed ACK timer a probe with
/// one segment in flight allows for (RFC 9293's 500 ms bound is rarer in
/// practice than the 200 ms the RFC recommends).
const WC_DEL_ACK: Duration = Duration::from_millis(200);

/// What a recovery probe allows beyond two smoothed RTTs: Linux's largest
/// compressed-SACK delay (`tcp_comp_sack_delay_ns`: 1 ms).
const RECOVERY_PROBE_SLACK: Duration = Duration::from_millis(1);

/// Deadlines; `None` is a stopped timer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Timers {
    /// Retransmission of SYN, data or FIN.
    pub(super) rto: Option<Instant>,
    /// The tail loss probe (RFC 8985 7.2).
    pub(super) pto: Option<Instant>,
    /// RACK's reordering timer (RFC 8985 6.3).
    pub(super) reo: Option<Instant>,
    /// The delayed ACK.
    pub(super) delack: Option<Instant>,
    /// The next zero-window probe.
    pub(super) persist: Option<Instant>,
    /// The next keepalive probe.
    pub(super) keepalive: Option<Instant>,
    /// TIME-WAIT expiry, or the FIN-WAIT-2 timeout of an orphan.
    pub(super) close: Option<Instant>,
    /// Zero-window probes sent since the window was last open.
    pub(super) persist_probes: u32,
    /// Keepalive probes sent without an answer.
    pub(super) keepalive_probes: u32,
}

impl Timers {
    /// The first deadline (on every change of a connection: kept to a
    /// few integer compares).
    fn earliest(&self) -> Option<Instant> {
        let at = |t: Option<Instant>| t.map_or(u64::MAX, Instant::total_micros);
        let min = at(self.rto)
            .min(at(self.pto))
            .min(at(self.reo))
            .min(at(self.delack))
            .min(at(self.persist))
            .min(at(self.keepalive))
            .min(at(self.close));
        (min != u64::MAX).then(|| Instant::from_micros(min))
    }
}

impl Connection {
    /// When [`on_timeout`](Self::on_timeout) is next due, if ever. Output
    /// that is due now is not reported here: the caller polls
    /// `poll_transmit` after every input and every API call.
    pub(crate) fn poll_at(&self) -> Option<Instant> {
        self.timers.earliest()
    }

    /// Runs every timer that is due at `now`.
    pub(crate) fn on_timeout(&mut self, now: Instant) {
        let due = |t: Option<Instant>| t.is_some_and(|t| t <= now);
        if due(self.timers.close) {
            self.timers.close = None;
            // TIME-WAIT ran out, or an orphan sat in FIN-WAIT-2 too long.
            let why = if self.state == State::TimeWait {
                "TIME-WAIT over"
            } else {
                "FIN-WAIT-2 timeout"
            };
            self.enter_closed(None, why);
            return;
        }
        // The probe first: when it stands in for the RTO (scheduled at the
        // same time), sending it re-arms the RTO, which is then not due.
        if due(self.timers.pto) {
            self.timers.pto = None;
            self.on_pto(now);
        }
        if due(self.timers.reo) {
            self.timers.reo = None;
            self.on_reo_timeout(now);
        }
        if due(self.timers.rto) {
            self.timers.rto = None;
            self.on_rto(now);
        }
        if due(self.timers.delack) {
            self.timers.delack = None;
            self.pending.insert(Pending::ACK);
        }
        if due(self.timers.persist) {
            self.on_persist(now);
        }
        if due(self.timers.keepalive) {
            self.on_keepalive(now);
        }
    }

    fn on_rto(&mut self, now: Instant) {
        match self.state {
            State::SynSent | State::SynReceived => {
                let limit = if self.state == State::SynSent {
                    self.cfg.syn_retries
                } else {
                    self.cfg.synack_retries
                };
                self.retries += 1;
                if self.retries > limit {
                    let error = self.timeout_error();
                    let why = if self.state == State::SynSent {
                        "SYN retries exhausted: connect failed"
                    } else {
                        "SYN-ACK retries exhausted"
                    };
                    self.enter_closed(Some(error), why);
                    return;
                }
                //= https://www.rfc-editor.org/rfc/rfc6298#section-5
                //# (5.5) The host MUST set RTO <- RTO * 2 ("back off the timer").
                self.rtt.on_timeout();
                self.stats.rto_fired += 1;
                self.pending.insert(Pending::SYN);
                self.rtt_probe = None;
            }
            State::Closed | State::TimeWait => {}
            _ => {
                if self.snd_nxt == self.snd_una {
                    return;
                }
                if self.snd_wnd.get() == 0
                    && now.saturating_duration_since(self.last_recv)
                        <= self.cfg.rto_max.saturating_mul(2)
                {
                    self.window_closed_rto(now);
                    return;
                }
                self.retries += 1;
                if self.retries > self.cfg.retries {
                    let error = self.timeout_error();
                    self.enter_closed(Some(error), "retransmissions exhausted");
                    return;
                }
                self.stats.rto_fired += 1;
                //= https://www.rfc-editor.org/rfc/rfc6298#section-5
                //# (5.5) The host MUST set RTO <- RTO * 2 ("back off the timer").
                self.rtt.on_timeout();
                //= https://www.rfc-editor.org/rfc/rfc6298#section-5
                //# (5.4) Retransmit the earliest segment that has not been
                //#       acknowledged by the TCP receiver.
                // Everything unSACKed is marked lost and goes again in
                // order, in slow start (recovery.rs).
                self.enter_loss(now);
                //# (5.6) Start the retransmission timer, such that it expires after
                //#       RTO seconds (for the value of RTO after the doubling
                //#       operation outlined in 5.5).
                self.timers.rto = Some(now + self.rtt.rto());
                // If the ACK of this retransmission is lost too, a probe
                // asks again before the backed-off timer would.
                self.probes = 0;
                self.arm_recovery_probe(now);
            }
        }
    }

    /// Arms (or re-arms) the probe timeout after new data went out or new
    /// data was acknowledged, where RFC 8985 allows one; stops it where not.
    pub(super) fn arm_pto(&mut self, now: Instant) {
        self.timers.pto = None;
        if matches!(self.phase(), Some(Phase::Fast | Phase::Loss)) {
            self.arm_recovery_probe(now);
            return;
        }
        //= https://www.rfc-editor.org/rfc/rfc8985#section-7.2
        //# The sender SHOULD start or restart a loss probe PTO timer after
        //# transmitting new data (that was not itself a loss probe) or upon
        //# receiving an ACK that cumulatively acknowledges new data unless it
        //# is already in fast recovery, RTO recovery, or segments have been
        //# SACKed (i.e., RACK.segs_sacked is not zero).
        if !self.cfg.tlp
            || !matches!(
                self.state,
                State::Established | State::CloseWait | State::FinWait1 | State::LastAck | State::Closing
            )
            || self.recovery.is_some()
            || self.sent.has_sacked()
            || self.tlp.is_some()
            || self.snd_una == self.snd_nxt
            // A closed window is probed by the zero-window machinery.
            || self.snd_wnd.get() == 0
        {
            return;
        }
        let Some(srtt) = self.rtt.srtt() else {
            return;
        };
        // RFC 8985 7.2, TLP_calc_PTO: two smoothed round trips; with a
        // single segment in flight, plus the worst-case delayed ACK time
        // (WCDelAckT, 200 ms); never later than the RTO would fire.
        let mut pto = srtt.saturating_mul(2);
        if self.flight_size() <= usize::from(self.smss) {
            pto = pto.saturating_add(WC_DEL_ACK);
        }
        let mut at = now + pto;
        if let Some(rto) = self.timers.rto {
            at = at.min(rto);
        }
        self.timers.pto = Some(at);
    }

    /// In recovery, the probe timer stands guard over the ACK clock. RFC
    /// 8985 7.2 arms no loss probe during recovery, where RACK's marks and
    /// PRR's ACK clock drive retransmission. But when every ACK of a
    /// flight is lost (a receiver that coalesces its ACKs may send just
    /// one for a whole batch), nothing drives them any more, and only the
    /// retransmission timer would: on a path of 100 µs its 200 ms floor is
    /// two thousand round trips of silence. So two smoothed RTTs (and a
    /// millisecond for a compressed SACK) after the last ACK that told
    /// something new, one segment goes out to draw an ACK that tells the
    /// sender where it stands; the RTO keeps its time.
    pub(super) fn arm_recovery_probe(&mut self, now: Instant) {
        if !self.cfg.tlp || self.snd_una == self.snd_nxt {
            return;
        }
        self.arm_next_probe(now);
    }

    /// The next probe of a silence: two smoothed RTTs and a millisecond,
    /// doubled for each probe already sent in it, if that comes before the
    /// retransmission timer (which then takes over). RFC 8985 sends one
    /// tail loss probe; berth keeps asking, as a lost ACK of the probe
    /// would otherwise cost the RTO's 200 ms floor, however short the path.
    fn arm_next_probe(&mut self, now: Instant) {
        let Some(srtt) = self.rtt.srtt() else {
            return;
        };
        let interval = srtt
            .saturating_mul(2)
            .saturating_add(RECOVERY_PROBE_SLACK)
            .saturating_mul(1 << self.probes.min(16));
        let at = now + interval;
        if self.timers.rto.is_some_and(|rto| at >= rto) {
            return;
        }
        self.timers.pto = Some(at);
    }

    /// The probe timeout ran out: a probe goes out (RFC 8985 7.3), and the
    /// RTO is armed again.
    fn on_pto(&mut self, now: Instant) {
        if self.snd_una == self.snd_nxt || !self.cfg.tlp {
            return;
        }
        if matches!(self.phase(), Some(Phase::Fast | Phase::Loss)) || self.probes > 0 {
            // A recovery probe, or a tail loss probe again: the RTO keeps
            // its time.
            self.probes = self.probes.saturating_add(1);
            self.pending.insert(Pending::LOSS_PROBE);
            self.arm_next_probe(now);
            return;
        }
        if self.snd_una == self.snd_nxt
            || self.recovery.is_some()
            || self.sent.has_sacked()
            || self.snd_wnd.get() == 0
        {
            return;
        }
        // Counted when it goes out (poll_loss_probe may find it cannot).
        self.pending.insert(Pending::LOSS_PROBE);
        //= https://www.rfc-editor.org/rfc/rfc8985#section-7.3
        //# After attempting to send a loss probe, regardless of whether a loss
        //# probe was sent, the sender MUST re-arm the RTO timer, not the PTO
        //# timer, if the FlightSize is not zero.
        self.timers.rto = Some(now + self.rtt.rto());
        self.probes = 1;
        self.arm_next_probe(now);
    }

    /// The retransmission timer ran out while the peer's window is closed
    /// (it shrank to zero under data already sent, or our FIN went into
    /// it): nothing may be retransmitted, so nothing was, and counting
    /// these expiries as retries would time out a peer that is alive. Linux
    /// (tcp_retransmit_timer: "Receiver dastardly shrinks window. Our
    /// retransmits become zero probes, but we should not timeout this
    /// connection") probes instead, and gives up only when the peer has
    /// been silent for 2 * TCP_RTO_MAX (tcp_rtx_probe0_timed_out). So do
    /// we: a probe, backoff, and go-back-N once the window opens.
    fn window_closed_rto(&mut self, now: Instant) {
        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.8.6.1
        //# The transmitting host SHOULD send the first zero-window probe when a
        //# zero window has existed for the retransmission timeout period
        //# (SHLD-29) (Section 3.8.1), and SHOULD increase exponentially the
        //# interval between successive probes (SHLD-30).
        self.stats.rto_fired += 1;
        self.stats.window_probes += 1;
        self.rtt.on_timeout();
        self.pending.insert(Pending::PROBE);
        // What is outstanding goes again once the window opens (Linux
        // enters its Loss state here too).
        self.enter_loss(now);
        self.timers.rto = Some(now + self.rtt.rto());
    }

    fn on_persist(&mut self, now: Instant) {
        //= https://www.rfc-editor.org/rfc/rfc1122#section-4.2.2.17
        //# As long as the receiving TCP continues to send acknowledgments in
        //# response to the probe segments, the sending TCP MUST allow the
        //# connection to stay open.
        // A peer that answers nothing at all any more is another matter:
        // after as many probes as retransmissions (Linux tcp_probe_timer:
        // tcp_retries2) and the silence the closed-window RTO allows, the
        // connection times out; otherwise a peer that closes its window and
        // vanishes holds the connection (and its buffers) for good.
        if self.timers.persist_probes >= self.cfg.retries
            && now.saturating_duration_since(self.last_recv) > self.cfg.rto_max.saturating_mul(2)
        {
            let error = self.timeout_error();
            self.enter_closed(Some(error), "zero-window probes unanswered");
            return;
        }
        self.pending.insert(Pending::PROBE);
        self.stats.window_probes += 1;
        self.timers.persist_probes = self.timers.persist_probes.saturating_add(1);
        // Back off like the RTO (RFC 9293 3.8.6.1: "exponential backoff"),
        // capped at the RTO maximum; a probe never gives up while the peer
        // answers (RFC 1122 4.2.2.17).
        let shift = self.timers.persist_probes.min(16);
        let interval = self
            .rtt
            .rto()
            .saturating_mul(1 << shift)
            .min(self.cfg.rto_max);
        self.timers.persist = Some(now + interval);
    }

    fn on_keepalive(&mut self, now: Instant) {
        let Some(ka) = self.cfg.keepalive else {
            self.timers.keepalive = None;
            return;
        };
        if !self.state.is_synchronized() || self.state == State::TimeWait {
            self.timers.keepalive = None;
            return;
        }
        // Linux sends no keepalive while data is outstanding: the
        // retransmission timer covers that.
        if self.snd_nxt != self.snd_una || !self.send_buf.is_empty() {
            self.timers.keepalive = Some(now + ka.idle);
            return;
        }
        if self.timers.keepalive_probes >= ka.count {
            // Linux (tcp_keepalive_timer) resets the dead connection.
            self.reset_to_send = Some(Reset {
                seq: self.snd_nxt,
                ack: Some(self.rcv_nxt),
            });
            let error = self.timeout_error();
            self.enter_closed(Some(error), "keepalive probes unanswered");
            return;
        }
        //= https://www.rfc-editor.org/rfc/rfc1122#section-4.2.3.6
        //# Keep-alive packets MUST only be sent when no data or
        //# acknowledgement packets have been received for the
        //# connection within an interval.
        self.timers.keepalive_probes += 1;
        self.stats.keepalives += 1;
        self.pending.insert(Pending::PROBE);
        self.timers.keepalive = Some(now + ka.interval);
    }

    /// Starts the keepalive timer if keepalive is on.
    pub(super) fn arm_keepalive(&mut self, now: Instant) {
        self.timers.keepalive = match self.cfg.keepalive {
            Some(ka) if self.state.is_synchronized() && self.state != State::TimeWait => {
                Some(now + ka.idle)
            }
            _ => None,
        };
    }

    /// A segment arrived: the peer is alive.
    pub(super) fn keepalive_probes_reset(&mut self, now: Instant) {
        self.timers.keepalive_probes = 0;
        if self.cfg.keepalive.is_some() {
            self.arm_keepalive(now);
        } else {
            self.timers.keepalive = None;
        }
    }
}
