//! Loss recovery as a sender, the way Linux runs it: episodes of fast
//! recovery (losses found by RACK, RFC 8985, or by duplicate ACKs from a
//! peer without SACK, RFC 5681 / RFC 6582), of recovery after a
//! retransmission timeout (RFC 6298 5.4, with F-RTO, RFC 5682), and of
//! window reduction for an ECN echo (RFC 3168 6.1.2); Proportional Rate
//! Reduction (RFC 6937) paces what is sent in the first and the last; and a
//! reduction that proves spurious is undone (RFC 3522 Eifel with
//! timestamps, D-SACK as in RFC 2883 section 4.3 and Linux, F-RTO).

use crate::time::Instant;

use super::super::congestion::{Ack, CongestionControl};
use super::super::prr::Prr;
use super::super::seq::SeqNum;
use super::super::state::State;
use super::Connection;

/// Which kind of episode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// Fast recovery: lost segments are retransmitted under PRR.
    Fast,
    /// After a retransmission timeout (Linux's Loss state): everything
    /// unSACKed was marked lost and goes again in slow start.
    Loss,
    /// Window reduction for an ECN echo (Linux's CWR state): PRR, no
    /// retransmissions.
    Cwr,
}

/// F-RTO's progress after a timeout (RFC 5682 section 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Frto {
    /// Step 2: waiting for the first ACK after the timeout's
    /// retransmission.
    FirstAck,
    /// Step 3: new data went out instead of retransmissions; waiting for
    /// the second ACK.
    SecondAck,
}

/// A recovery episode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Recovery {
    pub(super) phase: Phase,
    /// RFC 6675's RecoveryPoint (RFC 6582 "recover", Linux `high_seq`):
    /// the episode ends when SND.UNA reaches it.
    pub(super) point: SeqNum,
    pub(super) prr: Prr,
    pub(super) frto: Option<Frto>,
}

/// What undoing the last reduction needs (Linux's `undo_marker`,
/// `undo_retrans`, `retrans_stamp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Undo {
    /// SND.UNA when the episode began.
    pub(super) marker: SeqNum,
    /// SND.NXT when it began (or last grew): D-SACKs of data below count.
    pub(super) end: SeqNum,
    /// Octets retransmitted in the episode and not reported as
    /// duplicates (D-SACK) since.
    pub(super) retrans: u32,
    /// Our TSval on the episode's first retransmission.
    pub(super) stamp: Option<u32>,
}

impl Connection {
    /// What is in flight: RFC 6675's pipe, from the sent queue's marks,
    /// less the segments duplicate ACKs said arrived when the peer does not
    /// SACK.
    pub(super) fn in_flight(&self) -> u32 {
        let outstanding = u32::try_from(self.flight_size()).unwrap_or(u32::MAX);
        self.sent
            .in_flight(outstanding)
            .saturating_sub(self.reno_sacked)
    }

    /// How many more octets may go now: PRR's window during fast recovery
    /// and ECN reduction, cwnd otherwise, less what is in flight.
    //= https://www.rfc-editor.org/rfc/rfc3042#section-2
    //# The amount of outstanding data would remain less than or equal
    //# to the congestion window plus 2 segments.
    // Limited transmit needs no rule of its own here: each of the first
    // duplicate ACKs takes a segment out of flight (SACKed, or counted in
    // `reno_sacked`), which lets one new segment go (as in Linux).
    pub(super) fn send_allowance(&self) -> u32 {
        let in_flight = self.in_flight();
        match self.recovery {
            Some(rec) if rec.phase != Phase::Loss => rec.prr.cwnd().saturating_sub(in_flight),
            _ => self.cc.cwnd().saturating_sub(in_flight),
        }
    }

    /// What a window reduction is reckoned from: cwnd, as Linux's CUBIC
    /// and Reno do. RFC 9438 4.6 takes FlightSize, and allows cwnd where
    /// cwnd does not grow while the flight is smaller (berth's does not:
    /// `app_limited`); FlightSize, which PRR has just brought down,
    /// compounds the reductions of back-to-back episodes until the window
    /// is two segments.
    fn reduction_base(&self) -> u32 {
        let outstanding = u32::try_from(self.flight_size()).unwrap_or(u32::MAX);
        self.cc
            .cwnd()
            .max(outstanding.min(self.cc.cwnd().saturating_mul(2)))
    }

    /// The phase of the episode under way, if any.
    pub(super) fn phase(&self) -> Option<Phase> {
        self.recovery.map(|r| r.phase)
    }

    /// Losses were marked: fast recovery starts (RFC 6675 5 (4), RFC 8985
    /// 6.2), with one window cut, unless one is under way. An ECN
    /// reduction in progress becomes recovery without a second cut (Linux
    /// `tcp_enter_recovery`).
    pub(super) fn enter_fast_recovery(&mut self, now: Instant) {
        let outstanding = u32::try_from(self.flight_size()).unwrap_or(u32::MAX);
        match self.recovery {
            Some(rec) if rec.phase == Phase::Fast || rec.phase == Phase::Loss => return,
            Some(mut rec) => {
                rec.phase = Phase::Fast;
                rec.point = self.snd_nxt;
                self.recovery = Some(rec);
            }
            None => {
                //= https://www.rfc-editor.org/rfc/rfc6675#section-5
                //# (4.1) RecoveryPoint = HighData
                self.cc.on_enter_recovery(now, self.reduction_base());
                self.recovery = Some(Recovery {
                    phase: Phase::Fast,
                    point: self.snd_nxt,
                    prr: Prr::new(outstanding),
                    frto: None,
                });
            }
        }
        self.undo = Some(Undo {
            marker: self.snd_una,
            end: self.snd_nxt,
            retrans: 0,
            stamp: None,
        });
        // Recovery repairs what a probe would have drawn out, and cuts the
        // window once for it (Linux clears the probe's record here too).
        // The probe timer now guards recovery's ACK clock, from here: when
        // the reordering timer starts recovery, no ACK arrives to arm it
        // (found in berth sim at 5% loss: the retransmission and the
        // segment after it lost, then only the RTO was left).
        self.pending.remove(super::Pending::LOSS_PROBE);
        self.tlp = None;
        self.probes = 0;
        self.arm_recovery_probe(now);
        self.stats.recoveries += 1;
        if self.opts.sack {
            self.stats.sack_recoveries += 1;
        }
        self.ecn_reduced();
    }

    /// The retransmission timer expired with data outstanding: everything
    /// unSACKed is lost and goes again from SND.UNA in slow start (RFC 6298
    /// 5.4, RFC 5681 3.1; RFC 6675 5.1 keeps the SACK information).
    pub(super) fn enter_loss(&mut self, now: Instant) {
        let outstanding = u32::try_from(self.flight_size()).unwrap_or(u32::MAX);
        let in_recovery = matches!(self.phase(), Some(Phase::Fast | Phase::Loss));
        self.cc.on_rto(now, self.reduction_base());
        if !in_recovery {
            self.undo = Some(Undo {
                marker: self.snd_una,
                end: self.snd_nxt,
                retrans: 0,
                stamp: None,
            });
        } else if let Some(undo) = self.undo.as_mut() {
            undo.end = self.snd_nxt;
        }
        //= https://www.rfc-editor.org/rfc/rfc5682#section-2.1
        //# 1) When the retransmission timer expires, retransmit the first
        //#    unacknowledged segment and set SpuriousRecovery to FALSE.
        //#    Following the recommendation in the SACK-based F-RTO
        //#    algorithm, the TCP sender MUST NOT enter the algorithm on a
        //#    timeout during fast recovery (Linux: unless the timeout is a
        //#    backed-off one).
        let frto = (self.cfg.frto && (!in_recovery || self.retries > 1)).then_some(Frto::FirstAck);
        self.recovery = Some(Recovery {
            phase: Phase::Loss,
            point: self.snd_nxt,
            prr: Prr::new(outstanding),
            frto,
        });
        if self.retries > 1 {
            //= https://www.rfc-editor.org/rfc/rfc2018#section-8
            //# Since the data receiver may later discard data reported in a SACK
            //# option, the sender MUST NOT discard data before it is
            //# acknowledged by the Acknowledgment Number field in the TCP
            //# header.
            // A timeout that repeats may mean the receiver reneged: the SACK
            // marks are forgotten, so that what they covered goes again.
            self.sent.clear_sacks();
            self.rack.on_sacks_cleared();
        }
        self.sent.mark_all_lost();
        self.ecn_reduced();
        self.dup_acks = 0;
        self.reno_sacked = 0;
        self.tlp = None;
        self.pending.remove(super::Pending::LOSS_PROBE);
        self.timers.pto = None;
        self.timers.reo = None;
    }

    /// The path MTU dropped and segments larger than the new size were
    /// marked lost: they go again under cwnd, as after a timeout but with
    /// no cut and nothing to undo (Linux `tcp_simple_retransmit`).
    pub(super) fn enter_mtu_loss(&mut self) {
        let outstanding = u32::try_from(self.flight_size()).unwrap_or(u32::MAX);
        self.recovery = Some(Recovery {
            phase: Phase::Loss,
            point: self.snd_nxt,
            prr: Prr::new(outstanding),
            frto: None,
        });
        self.undo = None;
    }

    /// After an ACK's SACK blocks, cumulative acknowledgment and loss
    /// marks: the episode in progress ends, or is found spurious and
    /// undone, or a new one starts; PRR takes the ACK's delivery.
    pub(super) fn update_recovery(
        &mut self,
        now: Instant,
        ecr: Option<u32>,
        delivered: u32,
        advanced: bool,
        original: bool,
        cc_ack: Option<&Ack>,
    ) {
        if let Some(rec) = self.recovery
            && rec.phase == Phase::Loss
            && self.frto_step(rec, advanced, original)
        {
            self.stats.spurious_rtos += 1;
            self.undo_reduction();
            return;
        }
        let spurious = self.reduction_spurious(ecr, advanced);
        if let Some(rec) = self.recovery {
            if spurious && rec.phase != Phase::Cwr {
                if rec.phase == Phase::Loss {
                    self.stats.spurious_rtos += 1;
                }
                self.undo_reduction();
                return;
            }
            if rec.point.before_or_eq(self.snd_una) && advanced {
                self.recovery = None;
                if rec.phase != Phase::Cwr {
                    self.rack.on_recovery_exit();
                }
                if rec.phase != Phase::Loss
                    && let Some(ack) = cc_ack
                {
                    self.cc.on_recovery_exit(ack);
                }
                self.reno_sacked = 0;
            }
        } else if spurious {
            // A late D-SACK showed the last episode's retransmissions all
            // needless.
            self.undo_reduction();
        }
        if self.sent.lost_bytes() > 0 {
            self.enter_fast_recovery(now);
        }
        let mss = self.eff_mss();
        let pipe = self.in_flight();
        let ssthresh = self.cc.ssthresh();
        if let Some(rec) = self.recovery.as_mut()
            && rec.phase != Phase::Loss
        {
            rec.prr.on_ack(delivered, pipe, ssthresh, mss);
        }
    }

    /// RFC 5682 F-RTO on an ACK after a timeout; whether it found the
    /// timeout spurious.
    fn frto_step(&mut self, rec: Recovery, advanced: bool, original: bool) -> bool {
        let Some(step) = rec.frto else {
            return false;
        };
        let next = match step {
            //= https://www.rfc-editor.org/rfc/rfc5682#section-2.1
            //# 2) When the first ACK after the RTO retransmission arrives at the TCP
            //#    sender, the TCP sender chooses one of the following actions,
            //#    depending on whether the ACK advances the window or whether it is
            //#    a duplicate ACK.
            Frto::FirstAck => {
                let new_data = self.snd_nxt.before(self.send_data_end())
                    && self.snd_nxt.before(self.snd_una + self.snd_wnd.get());
                if advanced && original && self.opts.sack && self.snd_una.before(rec.point) {
                    // With SACK, what arrived before the timeout was SACKed
                    // then: an ACK that newly covers data sent only once
                    // shows the original transmissions were delivered
                    // (Linux: FLAG_ORIG_SACK_ACKED).
                    return true;
                }
                //# a) If the acknowledgment is a duplicate ACK OR the
                //#    Acknowledgment field covers "recover" but not more than
                //#    "recover" OR the acknowledgment does not acknowledge all of
                //#    the data that was retransmitted in step 1, the TCP sender MUST
                //#    revert to the conventional RTO recovery and continue by
                //#    retransmitting unacknowledged data in slow start.
                //# b) Else, if the acknowledgment advances the window AND the
                //#    Acknowledgment field does not cover "recover", the TCP sender
                //#    SHOULD transmit up to two new (previously unsent) segments and
                //#    enter step 3 of this algorithm.
                (advanced && self.snd_una.before(rec.point) && new_data).then_some(Frto::SecondAck)
            }
            //# 3) When the second ACK after the RTO retransmission arrives at the
            //#    TCP sender, the TCP sender either declares the timeout spurious,
            //#    or starts retransmitting the unacknowledged segments.
            Frto::SecondAck => {
                //# b) Else, if the acknowledgment advances the window (i.e., if the
                //#    ACK acknowledges data that was not retransmitted after the
                //#    timeout), the TCP sender SHOULD declare the timeout spurious,
                //#    set SpuriousRecovery to SPUR_TO, and set the value of the
                //#    "recover" variable to SND.NXT.
                if advanced && original {
                    return true;
                }
                //# a) If the acknowledgment is a duplicate ACK, the TCP sender MUST
                //#    set the congestion window to no more than 3 * MSS, and continue
                //#    with the slow start algorithm retransmitting unacknowledged
                //#    segments.
                None
            }
        };
        if let Some(rec) = self.recovery.as_mut() {
            rec.frto = next;
        }
        false
    }

    /// Whether the retransmissions of the last episode were needless: an
    /// ACK that acknowledges new data echoes a timestamp older than the
    /// first of them (RFC 3522: the original was delivered), or every one
    /// was reported a duplicate by D-SACK.
    fn reduction_spurious(&self, ecr: Option<u32>, advanced: bool) -> bool {
        let Some(undo) = self.undo else {
            return false;
        };
        let Some(stamp) = undo.stamp else {
            // Nothing was retransmitted and the episode's data is all
            // acknowledged: the originals arrived, the marks were wrong
            // (Linux `tcp_packet_delayed` without a `retrans_stamp`).
            return advanced
                && self
                    .recovery
                    .is_some_and(|rec| rec.point.before_or_eq(self.snd_una));
        };
        //= https://www.rfc-editor.org/rfc/rfc3522#section-3.2
        //# (3)     Wait for the arrival of an acceptable ACK.  When an
        //#         acceptable ACK has arrived, proceed to step (DET).
        // Acceptable: it acknowledges new data. A duplicate ACK echoes
        // TS.Recent, the timestamp of the last segment that arrived in
        // order: older than the retransmission whether or not the original
        // arrived (found in berth sim: such an ACK undid a real loss, and
        // the lost retransmission then waited for the RTO).
        //= https://www.rfc-editor.org/rfc/rfc3522#section-3.2
        //# If the value of the Timestamp Echo Reply field is smaller than the
        //# value of RetransmitTS, then proceed to step (4),
        let delayed = advanced
            && self.recovery.is_some()
            && self.snd_una.after(undo.marker)
            && ecr.is_some_and(|ecr| ecr != 0 && super::input::ts_before(ecr, stamp));
        delayed || undo.retrans == 0
    }

    /// Undoes the last window reduction: cwnd and ssthresh as before it,
    /// losses unmarked, the episode over (Linux `tcp_undo_cwnd_reduction`).
    pub(super) fn undo_reduction(&mut self) {
        //= https://www.rfc-editor.org/rfc/rfc3522#section-3.2
        //# (4)     Resume the transmission with previously unsent data:
        self.cc.on_undo();
        self.sent.unmark_lost();
        if self.recovery.take().is_some() {
            self.rack.on_recovery_exit();
        }
        self.undo = None;
        self.reno_sacked = 0;
        self.retries = 0;
        self.rtt.reset_backoff();
        self.stats.undos += 1;
    }

    /// A D-SACK reported `left..right` received twice: if it was one of
    /// the episode's retransmissions, one fewer may have been needed.
    pub(super) fn undo_on_dsack(&mut self, left: SeqNum, right: SeqNum) {
        if let Some(undo) = self.undo.as_mut()
            && undo.stamp.is_some()
            && left.after_or_eq(undo.marker)
            && right.before_or_eq(undo.end)
        {
            undo.retrans = undo
                .retrans
                .saturating_sub(right.wrapping_offset_from(left));
        }
    }

    /// Bookkeeping for a retransmission of `len` octets at `now`.
    pub(super) fn on_retransmitted(&mut self, now: Instant, len: u32) {
        let ts = self.ts_val(now);
        if matches!(self.phase(), Some(Phase::Fast | Phase::Loss))
            && let Some(undo) = self.undo.as_mut()
        {
            if undo.stamp.is_none() {
                undo.stamp = Some(ts);
            }
            undo.retrans = undo.retrans.saturating_add(len);
        }
        if self.phase() == Some(Phase::Fast) {
            self.stats.fast_retransmits += 1;
        }
    }

    /// F-RTO step 2 b: new data goes before retransmissions.
    pub(super) fn frto_prefers_new_data(&self) -> bool {
        self.recovery
            .is_some_and(|r| r.frto == Some(Frto::SecondAck))
    }

    /// Octets sent, for PRR.
    pub(super) fn prr_on_sent(&mut self, len: u32) {
        if let Some(rec) = self.recovery.as_mut() {
            rec.prr.on_sent(len);
        }
    }

    /// The RACK reordering timer expired (RFC 8985 6.3): what has waited
    /// long enough is lost.
    pub(super) fn on_reo_timeout(&mut self, now: Instant) {
        if !self.state.is_synchronized() || self.state == State::TimeWait {
            return;
        }
        self.stats.reo_timeouts += 1;
        let before = self.sent.lost_bytes();
        self.rack_detect_loss(now);
        if self.sent.lost_bytes() > before {
            let fresh = self.recovery.is_none();
            self.enter_fast_recovery(now);
            if fresh {
                let (mss, pipe, ssthresh) = (self.eff_mss(), self.in_flight(), self.cc.ssthresh());
                if let Some(rec) = self.recovery.as_mut() {
                    rec.prr.on_ack(0, pipe, ssthresh, mss);
                }
            }
        }
    }

    /// RFC 8985 6.2 steps 4 and 5: the reordering window, the marks, and
    /// the reordering timer for what has not waited long enough yet.
    pub(super) fn rack_detect_loss(&mut self, now: Instant) {
        let Some(latest) = self.rack.latest() else {
            return;
        };
        let in_recovery = matches!(self.phase(), Some(Phase::Fast | Phase::Loss));
        let segs_sacked = self.sent.sacked_bytes().div_ceil(self.eff_mss());
        let reo_wnd = self.rack.reo_wnd(in_recovery, segs_sacked, self.rtt.srtt());
        let timeout = self
            .sent
            .rack_detect_loss(latest, self.rack.wait(reo_wnd), now);
        //= https://www.rfc-editor.org/rfc/rfc8985#section-6.3
        //# If timeout != 0
        //#     Arm the RACK timer to call
        //#     RACK_detect_loss_and_arm_timer() after timeout
        self.timers.reo = timeout.map(|t| now + t);
    }
}
