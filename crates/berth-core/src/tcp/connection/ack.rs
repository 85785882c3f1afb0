//! The fifth step of SEGMENT ARRIVES for synchronized states (RFC 9293
//! 3.10.7.4), once the ACK is acceptable: the send window, SACK blocks
//! (RFC 2018) and D-SACK blocks (RFC 2883), SND.UNA, RTT samples (RFC
//! 6298, RFC 7323 4.1), RACK loss detection (RFC 8985 6.2) or duplicate
//! ACKs for a peer without SACK (RFC 5681, RFC 6582), the recovery episode
//! and the congestion controller's events, what an ACK says of a tail loss
//! probe (RFC 8985 7.4), and the states our FIN's acknowledgment leads to.

use crate::time::Instant;

use super::super::congestion::{Ack, CongestionControl};
use super::super::rack::DUP_THRESH;
use super::super::segment::Segment;
use super::super::seq::SeqNum;
use super::super::state::State;
use super::input::ts_before;
use super::recovery::Phase;
use super::{Connection, Events, Pending};

/// What one ACK delivered, gathered from its SACK blocks and cumulative
/// acknowledgment.
#[derive(Debug, Default)]
struct Delivery {
    /// Octets newly delivered: RFC 6937's DeliveredData.
    bytes: u32,
    /// Data sent only once was newly (S)ACKed.
    original: bool,
    /// The ACK SACKed something new.
    sacked: bool,
    /// The ACK carried a D-SACK block.
    dsack: bool,
    /// When the most recently sent, never retransmitted, octets the
    /// cumulative ACK covered were sent (an RTT sample by Karn's rule).
    newest_original: Option<Instant>,
}

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

        let ecr = self
            .opts
            .timestamps
            .then_some(seg.timestamp)
            .flatten()
            .map(|(_, ecr)| ecr);
        let mut d = Delivery::default();
        self.rack.begin_ack();
        // SACK blocks first, then the cumulative ACK (Linux's order), so
        // that RACK.fack is known when cumulatively acknowledged segments
        // are checked for reordering.
        if self.opts.sack {
            self.take_sack_blocks(now, seg, ack, ecr, &mut d);
        }
        let advanced = ack.after(self.snd_una);
        let cc_ack = if advanced {
            Some(self.on_new_ack(now, seg, ack, ecr, &mut d))
        } else {
            let dup = ack == self.snd_una
                && seg.payload.is_empty()
                && !seg.syn()
                && !seg.fin()
                && self.snd_nxt.after(self.snd_una)
                && (self.snd_wnd == old_wnd || d.sacked);
            if dup {
                self.on_dup_ack(&mut d);
            }
            None
        };
        if self.sent.head_sacked() {
            // The cumulative ACK stopped at data the receiver had SACKed:
            // it reneged (RFC 2018 section 8). Forget the SACKs; what they
            // covered will go again.
            self.sent.clear_sacks();
            self.rack.on_sacks_cleared();
        }
        self.detect_loss(now, advanced);
        let phase_before = self.phase();
        let undos = self.stats.undos;
        self.update_recovery(now, ecr, d.bytes, advanced, d.original, cc_ack.as_ref());
        if let Some(cc_ack) = &cc_ack
            && self.stats.undos == undos
        {
            match (phase_before, self.phase()) {
                // Growth outside recovery, and in the slow start after a
                // timeout.
                (None | Some(Phase::Loss), _) => self.cc.on_ack(cc_ack),
                (Some(_), Some(Phase::Fast | Phase::Cwr)) => self.cc.on_partial_ack(cc_ack),
                // The ACK that ended recovery: on_recovery_exit had it.
                (Some(_), _) => {}
            }
        }
        if advanced {
            self.snd_space_adjust();
        }
        // The peer is reachable after all (Linux clears sk_err_soft on
        // every acceptable ACK, in tcp_ack).
        self.soft_error = None;

        if !advanced && ack == self.snd_una && self.tlp.is_some() {
            // Linux's "pure duplicate ACK" (no data, no window change, no
            // SACK): with nothing else to explain it, the original and the
            // probe both arrived.
            let pure_dup = seg.payload.is_empty()
                && !seg.syn()
                && !seg.fin()
                && self.snd_wnd == old_wnd
                && seg.sack_blocks.iter().all(Option::is_none);
            self.process_tlp_ack(now, ack, false, pure_dup, d.dsack, None);
        } else if advanced {
            self.process_tlp_ack(now, ack, true, false, d.dsack, cc_ack.as_ref());
        }
        if advanced || d.sacked {
            self.probes = 0;
            self.arm_pto(now);
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
                State::LastAck => self.enter_closed(None, "FIN acknowledged"),
                _ => {}
            }
        }
    }

    /// SEG.ACK advanced SND.UNA: the queues, the RTT, the timer. Returns
    /// what the congestion controller is told.
    fn on_new_ack(
        &mut self,
        now: Instant,
        seg: &Segment<'_>,
        ack: SeqNum,
        ecr: Option<u32>,
        d: &mut Delivery,
    ) -> Ack {
        let mut acked = ack.wrapping_offset_from(self.snd_una);
        if self.snd_una == self.iss {
            // The SYN's sequence number carries no data.
            acked = acked.saturating_sub(1);
        }
        let data_acked = (acked as usize).min(self.send_buf.len());
        self.send_buf.ack(data_acked);
        self.stats.bytes_acked += data_acked as u64;
        let in_flight_before = self.in_flight();
        let una_moved = ack.wrapping_offset_from(self.snd_una);
        self.snd_una = ack;
        if data_acked > 0 && std::mem::take(&mut self.nospace) {
            self.events.insert(Events::WRITABLE);
        }

        let ts_offset = self.ts_offset;
        let rack = &mut self.rack;
        self.sent.on_ack(ack, |s| {
            rack.on_delivered(s, now, echoes_original(ecr, s.xmit, ts_offset));
            d.bytes = d.bytes.saturating_add(s.len());
            if !s.ever_retrans() {
                d.original = true;
                d.newest_original = Some(d.newest_original.map_or(s.xmit, |t| t.max(s.xmit)));
            }
        });
        if !self.opts.sack {
            // Duplicate ACKs counted the segments after the hole as
            // delivered; what this ACK covers of them is not new (Linux
            // tcp_remove_reno_sacks: one segment of it is the repair).
            let credited = self
                .reno_sacked
                .min(una_moved.saturating_sub(self.eff_mss()));
            self.reno_sacked -= credited;
            d.bytes = d.bytes.saturating_sub(credited);
        }
        self.rack.on_snd_una(ack);
        self.push_marks.ack(ack);

        // RTT: from a segment sent only once (RFC 6298 3, Karn's rule),
        // timed to the microsecond, or else from the timestamp echo (RFC
        // 7323 4.1), in milliseconds. Linux prefers the former too ("Prefer
        // RTT measured from ACK's timing to TS-ECR"): on a path of 100 µs
        // the echo says 1 ms.
        let rtt = d
            .newest_original
            .map(|t| now.saturating_duration_since(t))
            .or_else(|| self.rtt_sample_from_ts(now, seg));
        if let Some(r) = rtt {
            self.rtt.sample(r);
            self.rack.on_rtt_sample(r, now);
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
        if self.snd_nxt == self.snd_una {
            self.timers.rto = None;
            self.timers.reo = None;
        } else {
            self.timers.rto = Some(now + self.rtt.rto());
        }
        //= https://www.rfc-editor.org/rfc/rfc6675#section-5
        //# If the incoming ACK is a cumulative acknowledgment, the TCP MUST reset
        //# DupAcks to zero.
        self.dup_acks = 0;
        Ack {
            now,
            bytes_acked: u32::try_from(data_acked).unwrap_or(u32::MAX),
            rtt,
            flight_size: u32::try_from(self.flight_size()).unwrap_or(u32::MAX),
            app_limited: self.app_limited(in_flight_before),
        }
    }

    /// A duplicate ACK (RFC 5681 3.2, RFC 3042).
    fn on_dup_ack(&mut self, d: &mut Delivery) {
        self.dup_acks = self.dup_acks.saturating_add(1);
        self.stats.dup_acks += 1;
        if !self.opts.sack {
            // Without SACK, each duplicate ACK stands for one segment that
            // arrived after a hole (Linux tcp_add_reno_sack): delivered,
            // out of flight.
            let mss = self.eff_mss();
            let outstanding = u32::try_from(self.flight_size()).unwrap_or(u32::MAX);
            let room = outstanding.saturating_sub(mss);
            let before = self.reno_sacked;
            self.reno_sacked = self.reno_sacked.saturating_add(mss).min(room);
            d.bytes = d
                .bytes
                .saturating_add(self.reno_sacked.saturating_sub(before));
        }
    }

    /// Marks losses: RACK with SACK (RFC 8985 6.2), else the duplicate-ACK
    /// threshold (RFC 5681 3.2) and NewReno's partial ACKs (RFC 6582 3.2).
    fn detect_loss(&mut self, now: Instant, advanced: bool) {
        if self.opts.sack {
            self.rack_detect_loss(now);
            return;
        }
        let mss = self.eff_mss();
        match self.phase() {
            //= https://www.rfc-editor.org/rfc/rfc6582#section-3.2
            //# If this ACK does *not* acknowledge all of the data up to and
            //# including recover, then this is a partial ACK.  In this case,
            //# retransmit the first unacknowledged segment.
            Some(Phase::Fast) if advanced => self.sent.mark_head_lost(mss),
            //= https://www.rfc-editor.org/rfc/rfc5681#section-3.2
            //# 2.  When the third duplicate ACK is received, a TCP MUST set ssthresh
            //#     to no more than the value given in equation (4).
            None | Some(Phase::Cwr) if self.dup_acks >= DUP_THRESH => {
                self.sent.mark_head_lost(mss);
            }
            _ => {}
        }
    }

    /// Takes the SACK blocks of `seg`: the first may be a D-SACK (RFC 2883
    /// section 4: below the cumulative ACK, or inside the second block);
    /// the others mark the sent queue and feed RACK.
    fn take_sack_blocks(
        &mut self,
        now: Instant,
        seg: &Segment<'_>,
        ack: SeqNum,
        ecr: Option<u32>,
        d: &mut Delivery,
    ) {
        let cumulative = if self.snd_una.before(ack) && ack.before_or_eq(self.snd_nxt) {
            ack
        } else {
            self.snd_una
        };
        let mut blocks = seg.sack_blocks.iter().flatten().copied();
        let first = blocks.next();
        let second = seg.sack_blocks.iter().flatten().nth(1).copied();
        if let Some((left, right)) = first {
            //= https://www.rfc-editor.org/rfc/rfc2883#section-4
            //# If the sender receives a SACK
            //# option with the first block reporting a duplicate segment, the
            //# sender can determine that the first block is a D-SACK block,
            //# because it either reports a block below the cumulative
            //# acknowledgement field, or it reports a block that is covered by
            //# the second SACK block.
            let below = left.before(right) && right.before_or_eq(cumulative);
            let covered =
                second.is_some_and(|(l2, r2)| l2.before_or_eq(left) && right.before_or_eq(r2));
            if below || covered {
                self.stats.dsacks += 1;
                d.dsack = true;
                self.rack.on_dsack(self.snd_nxt);
                self.undo_on_dsack(left, right);
            } else {
                self.mark_sacked(now, left, right, ecr, d);
            }
        }
        for (left, right) in blocks {
            self.mark_sacked(now, left, right, ecr, d);
        }
        if d.sacked {
            // SACKed data outstanding: no probe (RFC 8985 7.2).
            self.timers.pto = None;
        }
    }

    /// One SACK block: marks the queue, feeds RACK.
    fn mark_sacked(
        &mut self,
        now: Instant,
        left: SeqNum,
        right: SeqNum,
        ecr: Option<u32>,
        d: &mut Delivery,
    ) {
        // Blocks that claim data we never sent are clipped inside.
        let ts_offset = self.ts_offset;
        let rack = &mut self.rack;
        let newly = self.sent.on_sack(left, right, |s| {
            rack.on_delivered(s, now, echoes_original(ecr, s.xmit, ts_offset));
            if !s.ever_retrans() {
                d.original = true;
            }
        });
        d.bytes = d.bytes.saturating_add(newly);
        d.sacked |= newly > 0;
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
        dsack: bool,
        cc_ack: Option<&Ack>,
    ) {
        let Some(tlp) = self.tlp else {
            return;
        };
        if ack.before(tlp.end_seq) {
            return;
        }
        if !tlp.is_retrans || dsack {
            self.tlp = None;
        } else if ack.after(tlp.end_seq) && advanced {
            self.tlp = None;
            if self.recovery.is_none() {
                self.cc.on_enter_recovery(now, tlp.flight);
                if let Some(cc_ack) = cc_ack {
                    self.cc.on_recovery_exit(cc_ack);
                }
            }
            self.stats.loss_probe_recoveries += 1;
        } else if pure_dup {
            self.tlp = None;
        }
    }

    /// Whether the sender was held back by something other than cwnd (the
    /// application, or the peer's window) since the last ACK: it had less
    /// than a full window out. Such ACKs do not grow cwnd (RFC 7661; Linux
    /// `tcp_is_cwnd_limited`, which in slow start counts a flight of at
    /// least half the window as using it).
    fn app_limited(&self, in_flight_before: u32) -> bool {
        let cwnd = self.cc.cwnd();
        if self.cc.in_slow_start() {
            in_flight_before.saturating_mul(2) < cwnd
        } else {
            in_flight_before.saturating_add(self.eff_mss()) < cwnd
        }
    }

    /// Bytes in flight as RFC 5681 defines FlightSize: sent and not
    /// cumulatively acknowledged.
    pub(super) fn flight_size(&self) -> usize {
        self.snd_nxt.wrapping_offset_from(self.snd_una) as usize
    }
}

/// Whether an ACK echoing `ecr` answers a transmission before the one at
/// `xmit` (RFC 8985 6.2: "ACK.ts_option.echo_reply < Segment.xmit_ts").
fn echoes_original(ecr: Option<u32>, xmit: Instant, ts_offset: u32) -> bool {
    let Some(ecr) = ecr.filter(|&e| e != 0) else {
        return false;
    };
    // Our TSval for an instant: milliseconds plus the offset, truncated
    // like the clock in the header.
    let sent = (xmit.total_millis() as u32).wrapping_add(ts_offset);
    ts_before(ecr, sent)
}
