//! SEGMENT ARRIVES: RFC 9293 section 3.10.7, step by step, with the RFC 5961
//! defences (challenge ACKs, ACK acceptability), RFC 7323 PAWS and timestamp
//! RTT measurement, RFC 2018 / RFC 6675 SACK processing and RFC 5681
//! duplicate-ACK counting.

use crate::time::{Duration, Instant};

use super::super::congestion::{Ack, CongestionControl, RecoveryKind};
use super::super::segment::{Reset, Segment, reset_for};
use super::super::seq::{SeqNum, is_acceptable};
use super::super::state::State;
use super::{ConnError, Connection, Events, Recovery};

/// What the port table must do after a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The connection handled the segment.
    Handled,
    /// A SYN arrived in TIME-WAIT that may start a new incarnation of the
    /// connection (RFC 9293 3.10.7.4 via RFC 1122 4.2.2.13, RFC 6191, and
    /// Linux): the port table should forget this connection and give the SYN
    /// to a listener.
    NewSynInTimeWait,
}

/// RFC 7323 5.5: TS.Recent older than 24 days is invalid for PAWS.
const PAWS_IDLE: Duration = Duration::from_secs(24 * 24 * 3600);

/// `a` is before `b` in the 32-bit timestamp space (RFC 7323 5.2 uses the
/// same modular comparison as sequence numbers).
fn ts_before(a: u32, b: u32) -> bool {
    SeqNum::new(a).before(SeqNum::new(b))
}

impl Connection {
    /// Processes a segment the port table routed to this connection.
    pub fn on_segment(&mut self, now: Instant, seg: &Segment<'_>) -> Outcome {
        self.stats.segs_in += 1;
        match self.state {
            State::Closed => Outcome::Handled,
            State::SynSent => {
                self.on_segment_syn_sent(now, seg);
                Outcome::Handled
            }
            _ => self.on_segment_synchronized(now, seg),
        }
    }

    /// RFC 9293 3.10.7.3: SYN-SENT STATE.
    fn on_segment_syn_sent(&mut self, now: Instant, seg: &Segment<'_>) {
        // First, check the ACK bit.
        if let Some(ack) = seg.ack {
            //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.3
            //# If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset (unless the
            //# RST bit is set, if so drop the segment and return)
            if ack.before_or_eq(self.iss) || ack.after(self.snd_max) {
                if !seg.rst() {
                    self.queue_reset(reset_for(seg));
                }
                return;
            }
        }
        // Second, check the RST bit.
        if seg.rst() {
            //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.3
            //# If the ACK was acceptable, then signal to the user "error:
            //# connection reset", drop the segment, enter CLOSED state, delete
            //# TCB, and return. Otherwise (no ACK), drop the segment and return.
            if seg.ack.is_some() {
                self.stats.resets_received += 1;
                self.enter_closed(Some(ConnError::Refused));
            }
            return;
        }
        // Fourth, check the SYN bit.
        if !seg.syn() {
            //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.3
            //# Fifth, if neither of the SYN or RST bits is set, then drop the segment
            //# and return.
            return;
        }
        self.take_syn_options(now, seg);
        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.3
        //# RCV.NXT is set to SEG.SEQ+1, IRS is set to SEG.SEQ.
        self.irs = seg.seq;
        self.rcv_nxt = seg.seq + 1;
        self.rcv_adv = self.rcv_nxt;
        self.last_recv = now;
        // The window of a segment with SYN set is never scaled (RFC 7323 2.2).
        self.snd_wnd = seg.wnd.into();
        self.max_snd_wnd = self.snd_wnd.get();
        self.snd_wl1 = seg.seq;
        match seg.ack {
            Some(ack) => {
                //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.3
                //# If SND.UNA > ISS (our SYN has been ACKed), change the connection
                //# state to ESTABLISHED, form an ACK segment
                self.snd_wl2 = ack;
                self.ack_of_syn(now, seg, ack);
                self.set_state(self.established_state());
                self.events.insert(Events::CONNECTED);
                self.events.insert(Events::WRITABLE);
                self.ack_now = true;
                self.arm_keepalive(now);
                // "If there are other controls or text in the segment, then
                // continue processing at the sixth step": data on a SYN-ACK.
                if !seg.payload.is_empty() || seg.fin() {
                    self.process_text_and_fin(now, seg, seg.seq + 1);
                }
            }
            None => {
                //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.3
                //# Otherwise, enter SYN-RECEIVED, form a SYN,ACK segment
                //#
                //# <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>
                self.snd_wl2 = self.iss;
                self.set_state(State::SynReceived);
                self.syn_pending = true;
                self.snd_nxt = self.iss;
            }
        }
    }

    /// The ACK of our SYN arrived (SYN-SENT or SYN-RECEIVED).
    fn ack_of_syn(&mut self, now: Instant, seg: &Segment<'_>, ack: SeqNum) {
        self.snd_una = ack;
        if self.snd_nxt.before(ack) {
            self.snd_nxt = ack;
        }
        self.timers.rto = None;
        // Karn: a SYN that was retransmitted cannot be timed, unless the
        // timestamp echo says which transmission is being acknowledged.
        if let Some(sample) = self.rtt_sample_from_ts(now, seg) {
            self.rtt.sample(sample);
        } else if self.retries == 0
            && let Some((_, sent)) = self.rtt_probe.take()
        {
            self.rtt.sample(now.saturating_duration_since(sent));
        }
        self.rtt_probe = None;
        self.retries = 0;
        self.rtt.reset_backoff();
    }

    /// An RTT sample from the timestamp echo (RFC 7323 section 4.1).
    fn rtt_sample_from_ts(&self, now: Instant, seg: &Segment<'_>) -> Option<core::time::Duration> {
        if !self.opts.timestamps {
            return None;
        }
        let (_, ecr) = seg.timestamp?;
        //= https://www.rfc-editor.org/rfc/rfc7323#section-4.1
        //# A TSecr value received in a segment MAY be used to update the
        //# averaged RTT measurement only if the segment advances the left edge
        //# of the send window, i.e., SND.UNA is increased.
        if ecr == 0 {
            return None;
        }
        let elapsed = self.ts_val(now).wrapping_sub(ecr);
        // An echo from the future, or older than our RTO cap, is garbage.
        if elapsed > 120_000 {
            return None;
        }
        Some(Duration::from_millis(u64::from(elapsed.max(1))))
    }

    /// RFC 9293 3.10.7.4: every state from SYN-RECEIVED on.
    fn on_segment_synchronized(&mut self, now: Instant, seg: &Segment<'_>) -> Outcome {
        if self.state == State::SynReceived && seg.syn() && !seg.rst() && seg.seq == self.irs {
            match seg.ack {
                // A retransmitted SYN: our SYN-ACK was lost. Linux
                // (tcp_check_req) answers with the SYN-ACK again.
                None => {
                    self.syn_pending = true;
                    return Outcome::Handled;
                }
                // Simultaneous open (RFC 9293 figure 7): the peer's SYN-ACK
                // repeats the SYN we already took and acknowledges ours. Its
                // SYN is old news; process the rest as the ACK that completes
                // the handshake (Linux's tcp_validate_incoming does the same).
                Some(_) if !self.passive => {
                    let mut rest = *seg;
                    rest.flags = rest.flags.difference(crate::wire::TcpFlags::SYN);
                    rest.seq = seg.seq + 1;
                    return self.on_segment_synchronized(now, &rest);
                }
                Some(_) => {}
            }
        }
        if self.state == State::TimeWait && seg.syn() && seg.ack.is_none() && !seg.rst() {
            // Linux (tcp_timewait_state_process) and RFC 6191: a new SYN whose
            // sequence number or timestamp is past the old connection's may
            // reopen it.
            let newer_ts = match (seg.timestamp, self.ts_recent) {
                (Some((val, _)), Some((recent, _))) => ts_before(recent, val),
                _ => false,
            };
            //= https://www.rfc-editor.org/rfc/rfc6191#section-2
            //# Otherwise, silently drop the incoming SYN segment, thus leaving
            //# the previous incarnation of the connection in the TIME-WAIT
            //# state.
            // A SYN whose timestamp PAWS rejects never reopens, whatever its
            // sequence number (Linux: `!paws_reject` in
            // tcp_timewait_state_process). The RFC drops it silently; Linux
            // answers with an ACK (TCP_TW_ACK), and so do we: it falls
            // through to the PAWS check below.
            if (seg.seq.after(self.rcv_nxt) || newer_ts) && !self.paws_rejects(now, seg) {
                return Outcome::NewSynInTimeWait;
            }
        }

        //= https://www.rfc-editor.org/rfc/rfc7323#section-5.3
        //# R1) If there is a Timestamps option in the arriving segment, SEG.TSval <
        //# TS.Recent, TS.Recent is valid (see later discussion), and if the RST bit
        //# is not set, then treat the arriving segment as not acceptable:
        if self.paws_rejects(now, seg) {
            //# Send an acknowledgment in reply as specified in Section 3.9 of
            //# [RFC0793], page 69, and drop the segment.
            self.stats.paws_drops += 1;
            self.ack_out_of_window(now, seg);
            return Outcome::Handled;
        }

        // First, check sequence number.
        let rcv_wnd = crate::tcp::seq::WindowSize::new_saturating(
            self.rcv_adv.wrapping_offset_from(self.rcv_nxt),
        );
        let rcv_wnd = if self.rcv_adv.before(self.rcv_nxt) {
            crate::tcp::seq::WindowSize::ZERO
        } else {
            rcv_wnd
        };
        if !is_acceptable(seg.seq, seg.len(), self.rcv_nxt, rcv_wnd) {
            //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
            //# If an incoming segment is not acceptable, an acknowledgment
            //# should be sent in reply (unless the RST bit is set, if so drop
            //# the segment and return):
            self.stats.out_of_window += 1;
            if !seg.rst() {
                self.ack_out_of_window(now, seg);
            }
            //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
            //# The only thing that can arrive in this state is a retransmission of
            //# the remote FIN.  Acknowledge it, and restart the 2 MSL timeout.
            if self.state == State::TimeWait && seg.fin() && !seg.rst() {
                self.ack_now = true;
                self.timers.close = Some(now + self.cfg.time_wait);
            }
            return Outcome::Handled;
        }
        self.last_recv = now;
        self.keepalive_probes_reset(now);

        // Second, check the RST bit (RFC 5961 section 3.2).
        if seg.rst() {
            self.on_rst(now, seg);
            return Outcome::Handled;
        }

        // Fourth, check the SYN bit.
        if seg.syn() {
            //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
            //# RFC 5961 recommends that in these synchronized states, if the SYN bit is
            //# set, irrespective of the sequence number, TCP endpoints MUST send a
            //# "challenge ACK" to the remote peer:
            self.challenge_ack(now);
            return Outcome::Handled;
        }

        // Fifth, check the ACK field.
        let Some(ack) = seg.ack else {
            //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
            //# if the ACK bit is off, drop the segment and return
            self.stats.no_ack_drops += 1;
            return Outcome::Handled;
        };

        if self.state == State::SynReceived {
            //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
            //# If SND.UNA < SEG.ACK =< SND.NXT, then enter ESTABLISHED state
            //# and continue processing with the variables below set to:
            if self.snd_una.before(ack) && ack.before_or_eq(self.snd_max) {
                self.ack_of_syn(now, seg, ack);
                //# SND.WND <- SEG.WND
                //# SND.WL1 <- SEG.SEQ
                //# SND.WL2 <- SEG.ACK
                self.snd_wnd = seg.wnd << self.opts.snd_wscale;
                self.max_snd_wnd = self.max_snd_wnd.max(self.snd_wnd.get());
                self.snd_wl1 = seg.seq;
                self.snd_wl2 = ack;
                self.set_state(self.established_state());
                self.events.insert(Events::CONNECTED);
                self.events.insert(Events::WRITABLE);
                self.arm_keepalive(now);
            } else {
                //# If the segment acknowledgment is not acceptable, form a reset
                //# segment
                //#
                //# <SEQ=SEG.ACK><CTL=RST>
                self.queue_reset(Some(Reset {
                    seq: ack,
                    ack: None,
                }));
                return Outcome::Handled;
            }
        }

        //= https://www.rfc-editor.org/rfc/rfc5961#section-5.2
        //# The ACK value is considered acceptable only if
        //# it is in the range of ((SND.UNA - MAX.SND.WND) =< SEG.ACK =<
        //# SND.NXT).  All incoming segments whose ACK value doesn't satisfy the
        //# above condition MUST be discarded and an ACK sent back.
        if ack.after(self.snd_max) || ack.before(self.snd_una - self.max_snd_wnd) {
            self.stats.bad_acks += 1;
            self.ack_out_of_window(now, seg);
            return Outcome::Handled;
        }

        // RFC 7323 4.3: update TS.Recent when the segment covers RCV.NXT
        // (Last.ACK.sent is RCV.NXT as of our last ACK; Linux uses RCV.WUP).
        if self.opts.timestamps
            && let Some((val, _)) = seg.timestamp
            && seg.seq.before_or_eq(self.rcv_nxt)
            && self
                .ts_recent
                .is_none_or(|(recent, _)| !ts_before(val, recent))
        {
            self.ts_recent = Some((val, now));
        }

        self.process_ack(now, seg, ack);
        if self.state == State::Closed {
            return Outcome::Handled;
        }

        // Sixth (URG) is not acted on: urgent data is delivered inline, as
        // with SO_OOBINLINE (RFC 6093 section 6 advises applications not to
        // use it). Seventh and eighth: text and FIN.
        self.process_text_and_fin(now, seg, seg.seq);
        Outcome::Handled
    }

    /// RFC 7323 5.3 R1: the segment carries a timestamp older than a valid
    /// TS.Recent (and is not a reset).
    fn paws_rejects(&self, now: Instant, seg: &Segment<'_>) -> bool {
        match (seg.timestamp, self.ts_recent) {
            (Some((val, _)), Some((recent, at))) => {
                self.opts.timestamps
                    && !seg.rst()
                    && ts_before(val, recent)
                    && now.saturating_duration_since(at) <= PAWS_IDLE
            }
            _ => false,
        }
    }

    /// RFC 5961 section 3.2: a reset is taken only at exactly RCV.NXT.
    fn on_rst(&mut self, now: Instant, seg: &Segment<'_>) {
        //= https://www.rfc-editor.org/rfc/rfc5961#section-3.2
        //# 1) If the RST bit is set and the sequence number is outside the
        //#    current receive window, silently drop the segment.
        //#
        //# 2) If the RST bit is set and the sequence number exactly matches the
        //#    next expected sequence number (RCV.NXT), then TCP MUST reset the
        //#    connection.
        //#
        //# 3) If the RST bit is set and the sequence number does not exactly
        //#    match the next expected sequence value, yet is within the current
        //#    receive window, TCP MUST send an acknowledgment (challenge ACK):
        if seg.seq != self.rcv_nxt {
            self.challenge_ack(now);
            return;
        }
        self.stats.resets_received += 1;
        match self.state {
            //= https://www.rfc-editor.org/rfc/rfc1337#section-3
            //# (F1) Ignore RST segments in TIME-WAIT state.
            State::TimeWait if self.cfg.rfc1337 => {}
            //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
            //# If this connection was initiated with an active OPEN (i.e., came
            //# from SYN-SENT state), then the connection was refused; signal
            //# the user "connection refused".
            State::SynReceived if !self.passive => self.enter_closed(Some(ConnError::Refused)),
            // A passive half-open connection just disappears (the listener
            // goes on); no one is told.
            State::SynReceived => self.enter_closed(None),
            //# If the RST bit is set, then any outstanding RECEIVEs and SEND
            //# should receive "reset" responses.
            State::Established | State::FinWait1 | State::FinWait2 | State::CloseWait => {
                self.enter_closed(Some(ConnError::Reset));
            }
            //# CLOSING STATE
            //# LAST-ACK STATE
            //# TIME-WAIT STATE
            //#    If the RST bit is set, then enter the CLOSED state, delete the
            //#    TCB, and return.
            _ => self.enter_closed(None),
        }
    }

    /// The fifth step for synchronized states: SND.UNA, the send window,
    /// RTT, congestion control, SACK and loss detection, and the states
    /// our FIN's acknowledgment moves us to.
    fn process_ack(&mut self, now: Instant, seg: &Segment<'_>, ack: SeqNum) {
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
                self.probe_pending = false;
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
        self.tlp_pending = false;
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

    /// Steps six to eight: queue the payload, then the FIN.
    fn process_text_and_fin(&mut self, now: Instant, seg: &Segment<'_>, data_seq: SeqNum) {
        if !self.state.may_recv() && self.state != State::SynReceived {
            //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
            //# This should not occur since a FIN has been received from the
            //# remote side.  Ignore the segment text.
            if self.state == State::TimeWait && seg.fin() {
                // A retransmitted FIN: acknowledge it and restart the 2 MSL
                // timeout (RFC 9293 3.10.7.4, eighth step, TIME-WAIT).
                self.ack_now = true;
                self.timers.close = Some(now + self.cfg.time_wait);
            } else if seg.fin() || !seg.payload.is_empty() {
                self.ack_now = true;
            }
            return;
        }

        if !seg.payload.is_empty() {
            if self.closed_by_app {
                // Linux (tcp_rcv_state_process, "TCPAbortOnData"): data for a
                // socket the application closed is answered with a reset.
                self.abort();
                return;
            }
            self.queue_data(now, data_seq, seg.payload);
        }

        if seg.fin() {
            let payload_len = u32::try_from(seg.payload.len()).unwrap_or(u32::MAX);
            let fin = data_seq + payload_len;
            let offset = fin.wrapping_offset_from(self.rcv_nxt);
            // A FIN past the window's end was trimmed away with the data.
            if !fin.before(self.rcv_nxt) && offset <= self.recv_buf.window().get() {
                self.peer_fin = Some(fin);
            }
            self.ack_now = true;
        }
        self.take_fin_in_order(now);
    }

    /// Puts payload starting at `seq` into the receive queue.
    fn queue_data(&mut self, now: Instant, seq: SeqNum, payload: &[u8]) {
        // Trim what we already have (the segment started before RCV.NXT).
        let mut data = payload;
        let mut offset = 0usize;
        if seq.before(self.rcv_nxt) {
            let skip = self.rcv_nxt.wrapping_offset_from(seq) as usize;
            data = data.get(skip..).unwrap_or(&[]);
        } else {
            offset = seq.wrapping_offset_from(self.rcv_nxt) as usize;
        }
        if data.is_empty() {
            self.ack_now = true;
            return;
        }
        let had_gaps = self.recv_buf.has_out_of_order();
        let before = self.recv_buf.readable_len();
        let accepted = self.recv_buf.write_at(offset, data);
        if accepted < data.len() {
            self.stats.recv_queue_drops += (data.len() - accepted) as u64;
        }
        let advanced = self.recv_buf.readable_len() - before;
        self.rcv_nxt += u32::try_from(advanced).unwrap_or(u32::MAX);
        self.stats.bytes_in += accepted as u64;
        if advanced > 0 {
            self.events.insert(Events::READABLE);
        }

        //= https://www.rfc-editor.org/rfc/rfc5681#section-4.2
        //# A TCP receiver SHOULD send an immediate duplicate ACK when an out-
        //# of-order segment arrives.  The purpose of this ACK is to inform the
        //# sender that a segment was received out-of-order and which sequence
        //# number is expected.
        //# ...
        //# A TCP receiver SHOULD send an immediate ACK when the incoming segment
        //# fills in all or part of a gap in the sequence space.
        if offset > 0 || had_gaps {
            if offset > 0 {
                self.stats.out_of_order += 1;
            }
            self.ack_now = true;
            return;
        }
        self.schedule_ack(now, data.len());
    }

    /// Delayed ACK for in-order data (RFC 9293 3.8.6.3, RFC 5681 4.2).
    fn schedule_ack(&mut self, now: Instant, len: usize) {
        if self.quickack > 0 {
            self.quickack -= 1;
            self.ack_now = true;
            return;
        }
        // "Full-sized" is measured against the largest segment the peer has
        // sent (Linux's tcp_measure_rcv_mss): with timestamps on, a full
        // segment carries 12 bytes less than the MSS we announced, and
        // comparing with our MSS would count none of them.
        // Capped at what a full segment can carry (our MSS less the
        // timestamp option every segment then has), so that one unsplit
        // segment (GSO through a TUN device) cannot raise the bar above the
        // peer's ordinary full segments.
        let ts_option = if self.opts.timestamps { 12 } else { 0 };
        let cap = usize::from(self.cfg.mss).saturating_sub(ts_option).max(1);
        self.rcv_mss = self.rcv_mss.max(len.min(cap));
        if len >= self.rcv_mss {
            // A segment the sender's device did not split (GSO through a
            // TUN device) counts as the segments it stands for, as Linux
            // counts a GRO packet's.
            let segments = u32::try_from(len / self.rcv_mss.max(1)).unwrap_or(u32::MAX);
            self.unacked_segs = self.unacked_segs.saturating_add(segments);
        }
        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.8.6.3
        //# An ACK SHOULD be generated for at least every second full-sized segment
        //# or 2*RMSS bytes of new data (where RMSS is the MSS specified by the TCP
        //# endpoint receiving the segments to be acknowledged, or the default value
        //# if not specified) (SHLD-19).
        if self.unacked_segs >= 2 {
            self.ack_now = true;
        } else if self.timers.delack.is_none() {
            //# in particular, the delay MUST be less than 0.5 seconds (MUST-40).
            self.timers.delack = Some(now + self.cfg.delayed_ack);
        }
    }

    /// Takes the peer's FIN once every byte before it is in.
    fn take_fin_in_order(&mut self, now: Instant) {
        if self.peer_fin != Some(self.rcv_nxt) || self.peer_fin_received {
            return;
        }
        self.peer_fin = None;
        self.peer_fin_received = true;
        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
        //# If the FIN bit is set, signal the user "connection closing" and
        //# return any pending RECEIVEs with same message, advance RCV.NXT over
        //# the FIN, and send an acknowledgment for the FIN.
        self.rcv_nxt += 1;
        self.ack_now = true;
        self.events.insert(Events::READABLE);
        match self.state {
            //# SYN-RECEIVED STATE
            //# ESTABLISHED STATE
            //#    Enter the CLOSE-WAIT state.
            State::SynReceived | State::Established => self.set_state(State::CloseWait),
            //# FIN-WAIT-1 STATE
            //#    If our FIN has been ACKed (perhaps in this segment), then enter
            //#    TIME-WAIT, start the time-wait timer, turn off the other timers;
            //#    otherwise, enter the CLOSING state.
            State::FinWait1 if self.fin_acked() => self.enter_time_wait(now),
            State::FinWait1 => self.set_state(State::Closing),
            //# FIN-WAIT-2 STATE
            //#    Enter the TIME-WAIT state.  Start the time-wait timer, turn off
            //#    the other timers.
            State::FinWait2 => self.enter_time_wait(now),
            _ => {}
        }
    }

    fn enter_time_wait(&mut self, now: Instant) {
        self.set_state(State::TimeWait);
        self.timers = super::timers::Timers::default();
        self.timers.close = Some(now + self.cfg.time_wait);
        self.events.insert(Events::CLOSED);
    }

    /// Queues a reset, after which the connection is gone.
    fn queue_reset(&mut self, reset: Option<Reset>) {
        if let Some(reset) = reset {
            self.reset_to_send = Some(reset);
        }
    }

    /// RFC 5961's challenge ACK, rate-limited (RFC 5961 section 7).
    fn challenge_ack(&mut self, now: Instant) {
        if self.invalid_ack_allowed(now) {
            self.stats.challenge_acks += 1;
            self.ack_now = true;
        }
    }

    /// The ACK in answer to an unacceptable segment. Pure ACKs and SYNs are
    /// rate-limited to break ACK loops (Linux tcp_oow_rate_limited); data
    /// segments (retransmissions we already have) are always answered.
    fn ack_out_of_window(&mut self, now: Instant, seg: &Segment<'_>) {
        if (!seg.payload.is_empty() && !seg.syn()) || self.invalid_ack_allowed(now) {
            self.ack_now = true;
        }
    }

    fn invalid_ack_allowed(&mut self, now: Instant) -> bool {
        //= https://www.rfc-editor.org/rfc/rfc5961#section-7
        //# An implementation SHOULD include an ACK
        //# throttling mechanism to be conservative.
        if let Some(last) = self.last_invalid_ack
            && now.saturating_duration_since(last) < self.cfg.invalid_ratelimit
        {
            self.stats.acks_rate_limited += 1;
            return false;
        }
        self.last_invalid_ack = Some(now);
        true
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
