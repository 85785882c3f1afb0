//! The fifth step of SEGMENT ARRIVES for synchronized states (RFC 9293
//! 3.10.7.4), once the ACK is acceptable: SND.UNA and the send window, RTT
//! samples (RFC 6298, RFC 7323 4.1), the congestion controller's events,
//! SACK blocks (RFC 2018, RFC 6675), duplicate ACKs and the start of loss
//! recovery (RFC 5681, RFC 6582, RFC 6675), what an ACK says of a tail loss
//! probe (RFC 8985 7.4), and the states our FIN's acknowledgment leads to.

use crate::time::Instant;

use super::super::congestion::{Ack, CongestionControl, RecoveryKind};
use super::super::segment::Segment;
use super::super::seq::SeqNum;
use super::super::state::State;
use super::{Connection, Events, Pending, Recovery};

impl Connection {
    /// The fifth step for synchronized states: SND.UNA, the send window,
    /// RTT, congestion control, SACK and loss detection, and the states
    /// our FIN's acknowledgment moves us to.
    pub(super) fn process_ack(&mut self, now: Instant, seg: &Segment<'_>, ack: SeqNum) {
        let old_wnd = self.snd_wnd;
        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
        //# If SND.UNA =< SEG.ACK =< SND.NXT, the send window should be updated.
        //# If (SND.WL1 < SEG.SEQ or (SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK)),
        //# set SND.WND <- SEG.WND, set SND.WL1 <- SEG.SEQ, and set SND.WL2 <-
        //# SEG.ACK.
        //
        // Linux (tcp_may_update_window) also takes the window from every ACK
        // that advances SND.UNA, whatever its sequence number. We follow
        // Linux: SND.WND is an offset from SND.UNA, so an ACK that moves
        // SND.UNA but whose window is ignored (a retransmission from the
        // peer, older than SND.WL1) would slide the right edge past anything
        // the peer offered, and we would send data it must drop.
        let window_update = self.snd_una.before_or_eq(ack)
            && (ack.after(self.snd_una)
                || self.snd_wl1.before(seg.seq)
                || (self.snd_wl1 == seg.seq && self.snd_wl2.before_or_eq(ack)));
        if window_update {
            self.snd_wnd = seg.wnd << self.opts.snd_wscale;
            self.max_snd_wnd = self.max_snd_wnd.max(self.snd_wnd.get());
            self.snd_wl1 = seg.seq;
            self.snd_wl2 = ack;
            if self.snd_wnd.get() > 0 {
                self.timers.persist = None;
                self.pending.remove(Pending::PROBE);
            }
        }

        let new_sack = self.opts.sack && self.take_sack_blocks(seg);
        let advanced = ack.after(self.snd_una);

        if advanced {
            self.on_new_ack(now, seg, ack);
        } else if ack == self.snd_una
            && seg.payload.is_empty()
            && !seg.syn()
            && !seg.fin()
            && self.snd_max.after(self.snd_una)
            && (self.snd_wnd == old_wnd || new_sack)
        {
            //= https://www.rfc-editor.org/rfc/rfc5681#section-2
            //# DUPLICATE ACKNOWLEDGMENT: An acknowledgment is considered a
            //# "duplicate" in the following algorithms when (a) the receiver of
            //# the ACK has outstanding data, (b) the incoming acknowledgment
            //# carries no data, (c) the SYN and FIN bits are both off, (d) the
            //# acknowledgment number is equal to the greatest acknowledgment
            //# received on the given connection (TCP.UNA from [RFC793]) and (e)
            //# the advertised window in the incoming acknowledgment equals the
            //# advertised window in the last incoming acknowledgment.
            self.on_dup_ack(now);
        }
        if !advanced && ack == self.snd_una && self.tlp.is_some() {
            // Linux's "pure duplicate ACK" (no data, no window change, no
            // SACK): with nothing else to explain it, the original and the
            // probe both arrived.
            let pure_dup = seg.payload.is_empty()
                && !seg.syn()
                && !seg.fin()
                && self.snd_wnd == old_wnd
                && seg.sack_blocks.iter().all(Option::is_none);
            self.process_tlp_ack(now, ack, false, pure_dup, None);
        }

        if self.fin_acked() {
            match self.state {
                //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
                //# FIN-WAIT-1 STATE
                //#    In addition to the processing for the ESTABLISHED state, if
                //#    the FIN segment is now acknowledged, then enter FIN-WAIT-2
                //#    and continue processing in that state.
                State::FinWait1 => {
                    self.set_state(State::FinWait2);
                    if self.closed_by_app {
                        self.timers.close = Some(now + self.cfg.fin_wait_2_timeout);
                    }
                }
                //# CLOSING STATE
                //#    In addition to the processing for the ESTABLISHED state, if
                //#    the ACK acknowledges our FIN, then enter the TIME-WAIT state;
                //#    otherwise, ignore the segment.
                State::Closing => self.enter_time_wait(now),
                //# LAST-ACK STATE
                //#    The only thing that can arrive in this state is an
                //#    acknowledgment of our FIN.  If our FIN is now acknowledged,
                //#    delete the TCB, enter the CLOSED state, and return.
                State::LastAck => self.enter_closed(None),
                _ => {}
            }
        }
    }

    /// SEG.ACK advanced SND.UNA.
    fn on_new_ack(&mut self, now: Instant, seg: &Segment<'_>, ack: SeqNum) {
        let mut acked = ack.wrapping_offset_from(self.snd_una);
        if self.snd_una == self.iss {
            // The SYN's sequence number carries no data.
            acked = acked.saturating_sub(1);
        }
        let data_acked = (acked as usize).min(self.send_buf.len());
        self.send_buf.ack(data_acked);
        self.stats.bytes_acked += data_acked as u64;
        let flight_before = self.snd_max.wrapping_offset_from(self.snd_una) as usize;
        self.snd_una = ack;
        if self.snd_nxt.before(ack) {
            self.snd_nxt = ack;
        }
        self.scoreboard.on_ack(ack);
        if data_acked > 0 {
            self.events.insert(Events::WRITABLE);
        }

        // RTT: from the timestamp echo (RFC 7323 4.1) or the one timed
        // segment (RFC 6298 3, Karn's rule: never a retransmitted one).
        let mut rtt = self.rtt_sample_from_ts(now, seg);
        if rtt.is_none()
            && let Some((end, sent)) = self.rtt_probe
            && end.before_or_eq(ack)
        {
            rtt = Some(now.saturating_duration_since(sent));
            self.rtt_probe = None;
        }
        if let Some(r) = rtt {
            self.rtt.sample(r);
        }
        self.retries = 0;
        self.rtt.reset_backoff();

        //= https://www.rfc-editor.org/rfc/rfc6298#section-5
        //# (5.2) When all outstanding data has been acknowledged, turn off the
        //#       retransmission timer.
        //#
        //# (5.3) When an ACK is received that acknowledges new data, restart the
        //#       retransmission timer so that it will expire after RTO seconds
        //#       (for the current value of RTO).
        if self.snd_max == self.snd_una {
            self.timers.rto = None;
        } else {
            self.timers.rto = Some(now + self.rtt.rto());
        }

        let cc_ack = Ack {
            now,
            bytes_acked: u32::try_from(data_acked).unwrap_or(u32::MAX),
            rtt,
            flight_size: u32::try_from(self.flight_size()).unwrap_or(u32::MAX),
            app_limited: self.app_limited(flight_before),
        };
        match self.recovery {
            Some(rec) if rec.point.before_or_eq(ack) => {
                // Full acknowledgment: recovery is over (RFC 6675 5, RFC 6582 3.2 (3)).
                self.recovery = None;
                self.cc.on_recovery_exit(&cc_ack);
            }
            Some(mut rec) => {
                // Partial acknowledgment (RFC 6582 3.2 (4)): the next hole is
                // lost too; retransmit from the new SND.UNA.
                if rec.high_rxt.before(ack) {
                    rec.high_rxt = ack;
                }
                self.recovery = Some(rec);
                self.cc.on_partial_ack(&cc_ack);
            }
            None => self.cc.on_ack(&cc_ack),
        }
        self.dup_acks = 0;
        if self.rto_recovery && self.recover.before_or_eq(ack) {
            self.rto_recovery = false;
        }
        self.process_tlp_ack(now, ack, true, false, Some(&cc_ack));
        self.arm_pto(now);
    }

    /// RFC 8985 7.4: what an ACK says of the probe in flight, the way
    /// Linux reads it (tcp_process_tlp_ack). A probe of new data proves
    /// nothing; a resend reported as a duplicate (D-SACK), or drawing a
    /// pure duplicate ACK (the original and the probe both arrived), was
    /// not needed; an ACK beyond it proves it repaired a loss, and the
    /// congestion window comes down as for a recovery, from the flight the
    /// probe left in. An ACK exactly at its end may yet be followed by the
    /// D-SACK: it decides nothing.
    fn process_tlp_ack(
        &mut self,
        now: Instant,
        ack: SeqNum,
        advanced: bool,
        pure_dup: bool,
        cc_ack: Option<&Ack>,
    ) {
        let Some(tlp) = self.tlp else {
            return;
        };
        if ack.before(tlp.end_seq) {
            return;
        }
        if !tlp.is_retrans || self.dsack_seen {
            self.tlp = None;
        } else if ack.after(tlp.end_seq) && advanced {
            self.tlp = None;
            self.cc
                .on_enter_recovery(now, tlp.flight, self.recovery_kind());
            if let Some(cc_ack) = cc_ack {
                self.cc.on_recovery_exit(cc_ack);
            }
            self.stats.loss_probe_recoveries += 1;
        } else if pure_dup {
            self.tlp = None;
        }
    }

    /// A duplicate ACK (RFC 5681 3.2, RFC 3042, RFC 6675 5).
    fn on_dup_ack(&mut self, now: Instant) {
        self.dup_acks = self.dup_acks.saturating_add(1);
        self.stats.dup_acks += 1;
        if self.recovery.is_some() {
            self.cc.on_recovery_dup_ack(now);
            return;
        }
        //= https://www.rfc-editor.org/rfc/rfc6675#section-5
        //# If the incoming ACK is a cumulative acknowledgment, the TCP MUST reset
        //# DupAcks to zero.
        //= https://www.rfc-editor.org/rfc/rfc6675#section-5
        //# (1) If DupAcks >= DupThresh, go to step (4).
        //# (2) If DupAcks < DupThresh but IsLost (HighACK + 1) returns true --
        //# indicating at least three segments have arrived above the current
        //# cumulative acknowledgment point, which is taken to indicate loss -- go
        //# to step (4).
        let lost = self.dup_acks >= DUP_THRESH
            || (self.opts.sack
                && self
                    .scoreboard
                    .is_lost(self.snd_una, DUP_THRESH, u32::from(self.smss)));
        //= https://www.rfc-editor.org/rfc/rfc6582#section-3.2
        //# When the third duplicate ACK is received, the TCP sender first
        //# checks the value of recover to see if the Cumulative
        //# Acknowledgment field covers more than recover.
        if lost && self.snd_una.after(self.recover) {
            self.enter_recovery(now);
        }
    }

    /// Which recovery the congestion controller is told of: SACK-based
    /// (RFC 6675) when both sides use SACK, NewReno (RFC 6582) otherwise.
    fn recovery_kind(&self) -> RecoveryKind {
        if self.opts.sack {
            RecoveryKind::Sack
        } else {
            RecoveryKind::NewReno
        }
    }

    /// Starts fast retransmit / fast recovery.
    fn enter_recovery(&mut self, now: Instant) {
        // Recovery repairs what a probe would have drawn out, and cuts the
        // window once for it (Linux clears the probe's record here too).
        self.timers.pto = None;
        self.pending.remove(Pending::LOSS_PROBE);
        self.tlp = None;
        //= https://www.rfc-editor.org/rfc/rfc6675#section-5
        //# (4.1) RecoveryPoint = HighData
        self.recovery = Some(Recovery {
            point: self.snd_max,
            high_rxt: self.snd_una,
        });
        self.recover = self.snd_max;
        self.cc.on_enter_recovery(
            now,
            u32::try_from(self.flight_size()).unwrap_or(u32::MAX),
            self.recovery_kind(),
        );
        self.stats.recoveries += 1;
        if self.opts.sack {
            self.stats.sack_recoveries += 1;
        }
        // Karn: what we time may be retransmitted now.
        self.rtt_probe = None;
    }

    /// Records the SACK blocks of `seg`; whether they SACKed new data.
    fn take_sack_blocks(&mut self, seg: &Segment<'_>) -> bool {
        let mut new = false;
        self.dsack_seen = false;
        for &(left, right) in seg.sack_blocks.iter().flatten() {
            //= https://www.rfc-editor.org/rfc/rfc2883#section-2
            //# The use of D-SACK does not require separate negotiation between a TCP
            //# sender and receiver that have already negotiated SACK capability.  The
            //# absence of separate negotiation for D-SACK means that the TCP receiver
            //# could send D-SACK blocks when the TCP sender does not understand this
            //# extension to SACK.  In this case, the TCP sender will simply discard any
            //# D-SACK blocks, and process the other SACK blocks in the SACK option
            //# field as it normally would.
            // A D-SACK (below this ACK's cumulative point, RFC 2883 4, or
            // within what is already SACKed) only tells of a spurious
            // retransmission; count it and move on.
            let cumulative = seg
                .ack
                .filter(|a| self.snd_una.before(*a) && a.before_or_eq(self.snd_max))
                .unwrap_or(self.snd_una);
            if left.before(cumulative) {
                self.stats.dsacks += 1;
                self.dsack_seen = true;
                continue;
            }
            // Blocks that claim data we never sent are ignored inside.
            new |= self
                .scoreboard
                .on_sack_block(left, right, self.snd_una, self.snd_max)
                > 0;
        }
        if new {
            // SACKed data outstanding: no probe (RFC 8985 7.2).
            self.timers.pto = None;
        }
        new
    }

    /// Whether the sender was held back by the application rather than by
    /// cwnd: it had less than a full window out and nothing more queued.
    fn app_limited(&self, flight_before: usize) -> bool {
        let unsent = self
            .send_buf
            .len()
            .saturating_sub(self.snd_nxt.wrapping_offset_from(self.snd_una) as usize);
        unsent == 0 && flight_before + usize::from(self.smss) < self.cc.cwnd() as usize
    }

    /// Bytes in flight as RFC 5681 defines FlightSize.
    pub(super) fn flight_size(&self) -> usize {
        self.snd_max.wrapping_offset_from(self.snd_una) as usize
    }
}

/// RFC 5681 / RFC 6675 DupThresh.
pub(super) const DUP_THRESH: u32 = 3;
