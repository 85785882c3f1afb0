//! SEGMENT ARRIVES: RFC 9293 section 3.10.7, step by step, with the RFC 5961
//! defences (challenge ACKs, ACK acceptability), RFC 7323 PAWS and timestamp
//! RTT measurement, RFC 2018 / RFC 6675 SACK processing and RFC 5681
//! duplicate-ACK counting.

use crate::time::{Duration, Instant};

use super::super::segment::{Reset, Segment, reset_for};
use super::super::seq::{SeqNum, WindowSize, is_acceptable};
use super::super::state::State;
use super::log::{SegmentDrop, conn_debug};
use super::{ConnError, Connection, Events, Pending};

/// What the port table must do after a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
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
pub(super) fn ts_before(a: u32, b: u32) -> bool {
    SeqNum::new(a).before(SeqNum::new(b))
}

/// RFC 7323 5.3 R1 for a connection whose timestamps are on (or not) and
/// whose TS.Recent is `ts_recent`, recorded then: the segment carries a
/// timestamp older than a valid TS.Recent (and is not a reset).
pub(super) fn paws_rejects(
    timestamps: bool,
    ts_recent: Option<(u32, Instant)>,
    now: Instant,
    seg: &Segment<'_>,
) -> bool {
    match (seg.timestamp, ts_recent) {
        (Some((val, _)), Some((recent, at))) => {
            timestamps
                && !seg.rst()
                && ts_before(val, recent)
                && now.saturating_duration_since(at) <= PAWS_IDLE
        }
        _ => false,
    }
}

impl Connection {
    /// Processes a segment the port table routed to this connection.
    pub(crate) fn on_segment(&mut self, now: Instant, seg: &Segment<'_>) -> Outcome {
        self.stats.segs_in += 1;
        match self.state {
            State::Closed => {
                self.drop_segment(SegmentDrop::Closed, seg);
                Outcome::Handled
            }
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
            if ack.before_or_eq(self.iss) || ack.after(self.snd_nxt) {
                self.drop_segment(SegmentDrop::BadAck, seg);
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
                self.enter_closed(Some(ConnError::Refused), "RST received");
            } else {
                self.drop_segment(SegmentDrop::SynSentStray, seg);
            }
            return;
        }
        // Fourth, check the SYN bit.
        if !seg.syn() {
            //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.3
            //# Fifth, if neither of the SYN or RST bits is set, then drop the segment
            //# and return.
            self.drop_segment(SegmentDrop::SynSentStray, seg);
            return;
        }
        self.take_syn_options(now, seg);
        if seg.ack.is_some() {
            self.ecn_on_syn_ack(seg);
        }
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
                self.pending.insert(Pending::ACK);
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
                self.pending.insert(Pending::SYN);
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
        let sample = self.rtt_sample_from_ts(now, seg).or_else(|| {
            self.rtt_probe
                .filter(|_| self.retries == 0)
                .map(|(_, sent)| now.saturating_duration_since(sent))
        });
        //= https://www.rfc-editor.org/rfc/rfc6298#section-3
        //# RTT samples MUST NOT be made using segments that were
        //# retransmitted (and thus for which it is ambiguous whether the reply
        //# was for the first instance of the packet or a later instance).
        // Nor from an echo older than the timer that covered the SYN-ACK
        // (the backed-off RTO in force): had the answer really taken that
        // long, the SYN-ACK would have been sent again. Such an ACK is the
        // peer's next segment after its own ACK was lost (or a SYN cookie's
        // final ACK, late): it tells when the peer last heard from us.
        if let Some(sample) = sample.filter(|&s| s <= self.rtt.rto()) {
            self.rtt.sample(sample);
            self.rack.on_rtt_sample(sample, now);
        }
        self.rtt_probe = None;
        self.retries = 0;
        self.rtt.reset_backoff();
    }

    /// An RTT sample from the timestamp echo (RFC 7323 section 4.1).
    pub(super) fn rtt_sample_from_ts(
        &self,
        now: Instant,
        seg: &Segment<'_>,
    ) -> Option<core::time::Duration> {
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

    /// RFC 9293 3.10.7.4: every state from SYN-RECEIVED on, step by step.
    fn on_segment_synchronized(&mut self, now: Instant, seg: &Segment<'_>) -> Outcome {
        if self.state == State::SynReceived
            && let Some(outcome) = self.syn_again_in_syn_received(now, seg)
        {
            return outcome;
        }
        if self.time_wait_reopens(now, seg) {
            return Outcome::NewSynInTimeWait;
        }
        if !self.check_sequence(now, seg) {
            return Outcome::Handled;
        }
        self.last_recv = now;
        self.keepalive_probes_reset(now);
        // Second, check the RST bit (RFC 5961 section 3.2).
        if seg.rst() {
            self.on_rst(now, seg);
            return Outcome::Handled;
        }
        // Third (security) does not apply. Fourth, check the SYN bit.
        if seg.syn() {
            //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
            //# RFC 5961 recommends that in these synchronized states, if the SYN bit is
            //# set, irrespective of the sequence number, TCP endpoints MUST send a
            //# "challenge ACK" to the remote peer:
            self.drop_segment(SegmentDrop::SynInWindow, seg);
            self.challenge_ack(now);
            return Outcome::Handled;
        }
        // Fifth, check the ACK field.
        let Some(ack) = self.check_ack(now, seg) else {
            return Outcome::Handled;
        };
        self.update_ts_recent(now, seg);
        self.ecn_on_segment(now, seg);
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

    /// A SYN that repeats the peer's first one, in SYN-RECEIVED: our SYN-ACK
    /// was lost, or this is a simultaneous open. `None`: process it as any
    /// other segment.
    fn syn_again_in_syn_received(&mut self, now: Instant, seg: &Segment<'_>) -> Option<Outcome> {
        if !seg.syn() || seg.rst() || seg.seq != self.irs {
            return None;
        }
        match seg.ack {
            // A retransmitted SYN: our SYN-ACK was lost. Linux
            // (tcp_check_req) answers with the SYN-ACK again.
            None => {
                self.pending.insert(Pending::SYN);
                Some(Outcome::Handled)
            }
            // Simultaneous open (RFC 9293 figure 7): the peer's SYN-ACK
            // repeats the SYN we already took and acknowledges ours. Its
            // SYN is old news; process the rest as the ACK that completes
            // the handshake (Linux's tcp_validate_incoming does the same).
            Some(_) if !self.passive => {
                let mut rest = *seg;
                rest.flags = rest.flags.difference(crate::wire::TcpFlags::SYN);
                rest.seq = seg.seq + 1;
                Some(self.on_segment_synchronized(now, &rest))
            }
            Some(_) => None,
        }
    }

    /// First: PAWS (RFC 7323 5.3) and the sequence number test. Whether
    /// the segment goes on to the next steps; if not, it was answered as
    /// the RFC says and dropped.
    fn check_sequence(&mut self, now: Instant, seg: &Segment<'_>) -> bool {
        //= https://www.rfc-editor.org/rfc/rfc7323#section-5.3
        //# R1) If there is a Timestamps option in the arriving segment, SEG.TSval <
        //# TS.Recent, TS.Recent is valid (see later discussion), and if the RST bit
        //# is not set, then treat the arriving segment as not acceptable:
        if self.paws_rejects(now, seg) {
            //# Send an acknowledgment in reply as specified in Section 3.9 of
            //# [RFC0793], page 69, and drop the segment.
            self.drop_segment(SegmentDrop::Paws, seg);
            self.ack_out_of_window(now, seg);
            return false;
        }
        let rcv_wnd = self.rcv_wnd();
        if is_acceptable(seg.seq, seg.len(), self.rcv_nxt, rcv_wnd) {
            return true;
        }
        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
        //# If an incoming segment is not acceptable, an acknowledgment
        //# should be sent in reply (unless the RST bit is set, if so drop
        //# the segment and return):
        self.drop_segment(SegmentDrop::OutOfWindow, seg);
        if seg.rst() {
            return false;
        }
        // Data we already have, again (a retransmission whose ACK was
        // lost, or one that was not needed): report it (Linux
        // tcp_send_dupack).
        if !seg.payload.is_empty() && !seg.syn() && seg.seq.before(self.rcv_nxt) {
            let len = u32::try_from(seg.payload.len()).unwrap_or(u32::MAX);
            let end = (seg.seq + len).earliest(self.rcv_nxt);
            self.report_duplicate(seg.seq, end);
        }
        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
        //# If the RCV.WND is zero, no segments will be acceptable, but special
        //# allowance should be made to accept valid ACKs, URGs, and RSTs.
        // The ACK field of a segment that is unacceptable only because our
        // window is closed is taken (the fifth step's checks apply); its
        // text is not.
        if rcv_wnd.get() == 0
            && !seg.syn()
            && seg.seq.after_or_eq(self.rcv_nxt)
            && self.state.is_synchronized()
            && self.state != State::SynReceived
            && let Some(ack) = self.check_ack(now, seg)
        {
            self.process_ack(now, seg, ack);
        }
        self.ack_out_of_window(now, seg);
        self.time_wait_fin_again(now, seg);
        false
    }

    /// RCV.WND: from RCV.NXT to the right edge we last advertised.
    fn rcv_wnd(&self) -> WindowSize {
        if self.rcv_adv.before(self.rcv_nxt) {
            WindowSize::ZERO
        } else {
            WindowSize::new_saturating(self.rcv_adv.wrapping_offset_from(self.rcv_nxt))
        }
    }

    /// Fifth, check the ACK field: the handshake's completion in
    /// SYN-RECEIVED, then RFC 5961's ACK acceptability. The acceptable
    /// SEG.ACK, or `None` when the segment is dropped here.
    fn check_ack(&mut self, now: Instant, seg: &Segment<'_>) -> Option<SeqNum> {
        let Some(ack) = seg.ack else {
            //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
            //# if the ACK bit is off, drop the segment and return
            self.drop_segment(SegmentDrop::NoAck, seg);
            return None;
        };
        if self.state == State::SynReceived {
            //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
            //# If SND.UNA < SEG.ACK =< SND.NXT, then enter ESTABLISHED state
            //# and continue processing with the variables below set to:
            if self.snd_una.before(ack) && ack.before_or_eq(self.snd_nxt) {
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
                self.drop_segment(SegmentDrop::BadAck, seg);
                self.queue_reset(Some(Reset {
                    seq: ack,
                    ack: None,
                }));
                return None;
            }
        }
        //= https://www.rfc-editor.org/rfc/rfc5961#section-5.2
        //# The ACK value is considered acceptable only if
        //# it is in the range of ((SND.UNA - MAX.SND.WND) =< SEG.ACK =<
        //# SND.NXT).  All incoming segments whose ACK value doesn't satisfy the
        //# above condition MUST be discarded and an ACK sent back.
        if ack.after(self.snd_nxt) || ack.before(self.snd_una - self.max_snd_wnd) {
            self.drop_segment(SegmentDrop::BadAck, seg);
            self.ack_out_of_window(now, seg);
            return None;
        }
        Some(ack)
    }

    /// RFC 7323 4.3: TS.Recent follows the segment that covers RCV.NXT
    /// (Last.ACK.sent is RCV.NXT as of our last ACK; Linux uses RCV.WUP).
    fn update_ts_recent(&mut self, now: Instant, seg: &Segment<'_>) {
        if self.opts.timestamps
            && let Some((val, _)) = seg.timestamp
            && seg.seq.before_or_eq(self.rcv_nxt)
            && self
                .ts_recent
                .is_none_or(|(recent, _)| !ts_before(val, recent))
        {
            self.ts_recent = Some((val, now));
        }
    }

    /// RFC 7323 5.3 R1: the segment carries a timestamp older than a valid
    /// TS.Recent (and is not a reset).
    pub(super) fn paws_rejects(&self, now: Instant, seg: &Segment<'_>) -> bool {
        paws_rejects(self.opts.timestamps, self.ts_recent, now, seg)
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
            self.drop_segment(SegmentDrop::RstNotExact, seg);
            self.challenge_ack(now);
            return;
        }
        self.stats.resets_received += 1;
        match self.state {
            //= https://www.rfc-editor.org/rfc/rfc1337#section-3
            //# (F1) Ignore RST segments in TIME-WAIT state.
            State::TimeWait if self.cfg.rfc1337 => {
                conn_debug!(self, state = %self.state, "RST received, ignored (RFC 1337)");
            }
            //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
            //# If this connection was initiated with an active OPEN (i.e., came
            //# from SYN-SENT state), then the connection was refused; signal
            //# the user "connection refused".
            State::SynReceived if !self.passive => {
                self.enter_closed(Some(ConnError::Refused), "RST received");
            }
            // A passive half-open connection just disappears (the listener
            // goes on); no one is told.
            State::SynReceived => self.enter_closed(None, "RST received"),
            //# If the RST bit is set, then any outstanding RECEIVEs and SEND
            //# should receive "reset" responses.
            State::Established | State::FinWait1 | State::FinWait2 | State::CloseWait => {
                self.enter_closed(Some(ConnError::Reset), "RST received");
            }
            //# CLOSING STATE
            //# LAST-ACK STATE
            //# TIME-WAIT STATE
            //#    If the RST bit is set, then enter the CLOSED state, delete the
            //#    TCB, and return.
            _ => self.enter_closed(None, "RST received"),
        }
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
            self.pending.insert(Pending::ACK);
        }
    }

    /// The ACK in answer to an unacceptable segment. Pure ACKs and SYNs are
    /// rate-limited to break ACK loops (Linux tcp_oow_rate_limited); data
    /// segments (retransmissions we already have) are always answered.
    fn ack_out_of_window(&mut self, now: Instant, seg: &Segment<'_>) {
        if (!seg.payload.is_empty() && !seg.syn()) || self.invalid_ack_allowed(now) {
            self.pending.insert(Pending::ACK);
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
}
