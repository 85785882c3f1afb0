//! A connection in TIME-WAIT that no application holds, made small: what
//! Linux's `tcp_timewait_sock` is to its full socket. It keeps only what
//! TIME-WAIT still needs (RFC 9293 3.10.7.4, RFC 1337, RFC 5961, RFC 6191,
//! RFC 7323): the 4-tuple, SND.NXT and RCV.NXT, the window it offers, the
//! timestamps, the 2 MSL deadline, and a few settings. A full
//! [`Connection`] in TIME-WAIT is about 1.8 KB behind a box; this is
//! about 220 bytes and lives in the stack's slab slot itself.
//!
//! It must answer every segment exactly as the full connection would in
//! TIME-WAIT (`input.rs`, `ack.rs`, `receive.rs`, `time_wait.rs`): each
//! step below follows the connection's, in the same order, and shares its
//! pure parts (PAWS, the window, the acceptability test). Its tests run the
//! two side by side on the same segments (`tests/time_wait_sock.rs`).
//!
//! Why so little suffices: in TIME-WAIT our FIN is acknowledged, so SND.UNA
//! is SND.NXT and nothing is in flight (no retransmission, no loss
//! recovery, no probe); the peer's FIN was taken, so no data is taken any
//! more; every timer but the 2 MSL one is off. What an ACK still changes
//! of the send side is the window bookkeeping RFC 5961's ACK test reads
//! (MAX.SND.WND).

use std::net::SocketAddr;

use crate::time::{Duration, Instant};
use crate::wire::tcp_option::MAX_SACK_BLOCKS;
use crate::wire::{TcpFlags as Flags, TcpPacket, TcpRepr, TxChecksum};

use super::super::segment::Segment;
use super::super::seq::{SeqNum, WindowScale, WindowSize, is_acceptable};
use super::super::state::State;
use super::input::{Outcome, paws_rejects, ts_before};
use super::log::{SegmentDrop, conn_debug, conn_trace};
use super::output::RcvWindow;
use super::{Connection, Events, Pending};

/// A connection in TIME-WAIT, compact (see the module documentation).
#[derive(Debug, Clone)]
pub(crate) struct TimeWaitSock {
    local: SocketAddr,
    remote: SocketAddr,
    /// SND.NXT, which is also SND.UNA (our FIN is acknowledged).
    snd_nxt: SeqNum,
    rcv_nxt: SeqNum,
    /// The right edge of the window we last advertised.
    rcv_adv: SeqNum,
    snd_wl1: SeqNum,
    snd_wl2: SeqNum,
    /// RFC 5961 MAX.SND.WND, for the ACK acceptability test.
    max_snd_wnd: u32,
    /// TS.Recent and when it was recorded (RFC 7323 4.3, 5.5).
    ts_recent: Option<(u32, Instant)>,
    /// Added to our millisecond clock to form TSval.
    ts_offset: u32,
    /// When the last challenge or out-of-window ACK went out (RFC 5961 7).
    last_invalid_ack: Option<Instant>,
    /// The end of the 2 MSL wait; `None` once closed.
    close_at: Option<Instant>,
    /// A duplicate to report in the next ACK (RFC 2883 D-SACK).
    dsack: Option<(SeqNum, SeqNum)>,
    /// What the window we offer is made from.
    window: RcvWindow,
    /// `TcpConfig::invalid_ratelimit`.
    invalid_ratelimit: Duration,
    /// `TcpConfig::time_wait`: 2 MSL.
    time_wait: Duration,
    /// How our segments' checksums are filled.
    checksums: TxChecksum,
    /// The shift applied to windows the peer sends.
    snd_wscale: WindowScale,
    /// The traffic class byte of our packets.
    tos: u8,
    /// Both ends send timestamps.
    timestamps: bool,
    /// Both ends sent SACK-Permitted.
    sack: bool,
    /// `TcpConfig::dsack`.
    dsack_on: bool,
    /// `TcpConfig::rfc1337`.
    rfc1337: bool,
    /// ECN was negotiated.
    ecn: bool,
    /// We saw CE and echo ECE until the peer sends CWR.
    ecn_echo: bool,
    /// An ACK is owed at the next `poll_transmit`.
    ack_owed: bool,
    /// The TIME-WAIT ended (2 MSL, a reset, an abort): CLOSED.
    closed: bool,
    /// Events since the last `take_events`.
    events: Events,
}

impl Connection {
    /// The compact form of this connection, if it is in TIME-WAIT with
    /// nothing left in it that only the full form can hold: both buffers
    /// empty, no reset to send, no timer but the 2 MSL one, nothing in
    /// flight. `None` otherwise (the connection then stays as it is).
    pub(crate) fn time_wait_sock(&self) -> Option<TimeWaitSock> {
        let only_close = super::timers::Timers {
            close: self.timers.close,
            persist_probes: self.timers.persist_probes,
            keepalive_probes: self.timers.keepalive_probes,
            ..Default::default()
        };
        if self.state != State::TimeWait
            || self.snd_una != self.snd_nxt
            || self.reset_to_send.is_some()
            || self.timers != only_close
            || self.timers.close.is_none()
            || !self.send_buf.is_empty()
            || self.recv_buf.readable_len() > 0
            || self.recv_buf.has_out_of_order()
            || self.recv_buf.has_unreported()
        {
            return None;
        }
        Some(TimeWaitSock {
            local: self.local,
            remote: self.remote,
            snd_nxt: self.snd_nxt,
            rcv_nxt: self.rcv_nxt,
            rcv_adv: self.rcv_adv,
            snd_wl1: self.snd_wl1,
            snd_wl2: self.snd_wl2,
            max_snd_wnd: self.max_snd_wnd,
            ts_recent: self.ts_recent,
            ts_offset: self.ts_offset,
            last_invalid_ack: self.last_invalid_ack,
            close_at: self.timers.close,
            dsack: self.dsack,
            window: RcvWindow {
                free: self.rcv_free(),
                space: u32::try_from(self.rcv_tuning.space).unwrap_or(u32::MAX),
                mss: self.cfg.mss,
                shift: self.opts.rcv_wscale.get(),
                room: self.recv_buf.window().get(),
            },
            invalid_ratelimit: self.cfg.invalid_ratelimit,
            time_wait: self.cfg.time_wait,
            checksums: self.cfg.checksums.tx,
            snd_wscale: self.opts.snd_wscale,
            tos: self.cfg.tos,
            timestamps: self.opts.timestamps,
            sack: self.opts.sack,
            dsack_on: self.cfg.dsack,
            rfc1337: self.cfg.rfc1337,
            ecn: self.ecn.negotiated,
            ecn_echo: self.ecn.echo,
            ack_owed: self.pending.contains(Pending::ACK),
            closed: false,
            events: self.events,
        })
    }
}

impl TimeWaitSock {
    /// TIME-WAIT, or CLOSED once it ended.
    pub(crate) fn state(&self) -> State {
        if self.closed {
            State::Closed
        } else {
            State::TimeWait
        }
    }

    /// The local address.
    pub(crate) fn local(&self) -> SocketAddr {
        self.local
    }

    /// The peer's address.
    pub(crate) fn remote(&self) -> SocketAddr {
        self.remote
    }

    /// The traffic class byte of our packets.
    pub(crate) fn tos(&self) -> u8 {
        self.tos
    }

    /// Sets the traffic class byte, without its ECN bits (as
    /// `Connection::set_tos`).
    pub(crate) fn set_tos(&mut self, tos: u8) {
        self.tos = tos & !0b11;
    }

    /// Whether it ended and can be forgotten.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed
    }

    /// Events since the last call.
    pub(crate) fn take_events(&mut self) -> Events {
        core::mem::take(&mut self.events)
    }

    /// When TIME-WAIT began, if it has not ended.
    pub(crate) fn time_wait_since(&self) -> Option<Instant> {
        self.close_at.map(|end| end - self.time_wait)
    }

    /// Whether both ends send timestamps.
    pub(crate) fn uses_timestamps(&self) -> bool {
        self.timestamps
    }

    /// When `on_timeout` is next due: the end of the 2 MSL wait.
    pub(crate) fn poll_at(&self) -> Option<Instant> {
        self.close_at
    }

    /// The 2 MSL wait ran out (if due at `now`).
    pub(crate) fn on_timeout(&mut self, now: Instant) {
        if self.close_at.is_some_and(|t| t <= now) {
            self.enter_closed("TIME-WAIT over");
        }
    }

    /// The application aborts: in TIME-WAIT no reset goes (RFC 9293 3.10.5
    /// sends one only where the peer knows of a connection still open).
    pub(crate) fn abort(&mut self) {
        self.enter_closed("aborted by the application");
    }

    /// Whether an ICMP error quoting `seq` concerns data in flight
    /// (SND.UNA =< seq < SND.NXT): never, as nothing is.
    pub(crate) fn icmp_seq_acceptable(&self, seq: SeqNum) -> bool {
        self.snd_nxt.before_or_eq(seq) && seq.before(self.snd_nxt)
    }

    /// Under memory exhaustion the window is made from what the receive
    /// buffer holds (nothing: at least 4096 bytes), as the connection's
    /// `set_memory_pressure` does.
    pub(crate) fn set_memory_exhausted(&mut self) {
        let floor = u32::try_from(super::tuning::MIN_BUFFER).unwrap_or(u32::MAX);
        self.window.space = self.window.space.min(floor);
        self.window.free = self.window.space;
    }

    fn enter_closed(&mut self, why: &'static str) {
        if !self.closed {
            conn_debug!(self, from = %State::TimeWait, to = %State::Closed, why, "tcp state");
        }
        self.closed = true;
        self.close_at = None;
        self.events.insert(Events::CLOSED);
        self.events.insert(Events::READABLE);
        self.events.insert(Events::WRITABLE);
    }

    /// A segment the port table routed here: RFC 9293 3.10.7.4 for
    /// TIME-WAIT, step by step as `Connection::on_segment` takes it.
    pub(crate) fn on_segment(&mut self, now: Instant, seg: &Segment<'_>) -> Outcome {
        if self.closed {
            self.drop_segment(SegmentDrop::Closed, seg);
            return Outcome::Handled;
        }
        if self.reopens(now, seg) {
            return Outcome::NewSynInTimeWait;
        }
        if !self.check_sequence(now, seg) {
            return Outcome::Handled;
        }
        // Second, check the RST bit (RFC 5961 section 3.2).
        if seg.rst() {
            self.on_rst(now, seg);
            return Outcome::Handled;
        }
        if seg.syn() {
            //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
            //# RFC 5961 recommends that in these synchronized states, if the SYN bit is
            //# set, irrespective of the sequence number, TCP endpoints MUST send a
            //# "challenge ACK" to the remote peer:
            self.drop_segment(SegmentDrop::SynInWindow, seg);
            self.challenge_ack(now);
            return Outcome::Handled;
        }
        let Some(ack) = self.check_ack(now, seg) else {
            return Outcome::Handled;
        };
        self.update_ts_recent(now, seg);
        self.ecn_on_segment(seg);
        self.process_ack(seg, ack);
        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
        //# This should not occur since a FIN has been received from the
        //# remote side.  Ignore the segment text.
        if !self.fin_again(now, seg) && (seg.fin() || !seg.payload.is_empty()) {
            self.ack_owed = true;
        }
        Outcome::Handled
    }

    /// `Connection::time_wait_reopens`: a SYN that may start a new
    /// incarnation (Linux tcp_timewait_state_process, RFC 6191).
    fn reopens(&self, now: Instant, seg: &Segment<'_>) -> bool {
        if !seg.syn() || seg.ack.is_some() || seg.rst() {
            return false;
        }
        let newer_ts = match (seg.timestamp, self.ts_recent) {
            (Some((val, _)), Some((recent, _))) => ts_before(recent, val),
            _ => false,
        };
        //= https://www.rfc-editor.org/rfc/rfc6191#section-2
        //# Otherwise, silently drop the incoming SYN segment, thus leaving
        //# the previous incarnation of the connection in the TIME-WAIT
        //# state.
        // A SYN PAWS rejects never reopens; it is answered with an ACK, as
        // Linux does (TCP_TW_ACK), by the PAWS check.
        (seg.seq.after(self.rcv_nxt) || newer_ts) && !self.paws_rejects(now, seg)
    }

    fn paws_rejects(&self, now: Instant, seg: &Segment<'_>) -> bool {
        paws_rejects(self.timestamps, self.ts_recent, now, seg)
    }

    /// RCV.WND: from RCV.NXT to the right edge we last advertised.
    fn rcv_wnd(&self) -> WindowSize {
        if self.rcv_adv.before(self.rcv_nxt) {
            WindowSize::ZERO
        } else {
            WindowSize::new_saturating(self.rcv_adv.wrapping_offset_from(self.rcv_nxt))
        }
    }

    /// First: PAWS and the sequence number test (`Connection::check_sequence`).
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
        // Data we already have, again: reported (D-SACK).
        if !seg.payload.is_empty() && !seg.syn() && seg.seq.before(self.rcv_nxt) {
            let len = u32::try_from(seg.payload.len()).unwrap_or(u32::MAX);
            let end = (seg.seq + len).earliest(self.rcv_nxt);
            self.report_duplicate(seg.seq, end);
        }
        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
        //# If the RCV.WND is zero, no segments will be acceptable, but special
        //# allowance should be made to accept valid ACKs, URGs, and RSTs.
        if rcv_wnd.get() == 0
            && !seg.syn()
            && seg.seq.after_or_eq(self.rcv_nxt)
            && let Some(ack) = self.check_ack(now, seg)
        {
            self.process_ack(seg, ack);
        }
        self.ack_out_of_window(now, seg);
        self.fin_again(now, seg);
        false
    }

    /// `Connection::time_wait_fin_again`: the peer's FIN again (our ACK of
    /// it was lost). Whether it was one.
    fn fin_again(&mut self, now: Instant, seg: &Segment<'_>) -> bool {
        if !seg.fin() || seg.rst() {
            return false;
        }
        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
        //# The only thing that can arrive in this state is a retransmission of
        //# the remote FIN.  Acknowledge it, and restart the 2 MSL timeout.
        self.ack_owed = true;
        self.close_at = Some(now + self.time_wait);
        true
    }

    /// `Connection::report_duplicate`.
    fn report_duplicate(&mut self, left: SeqNum, right: SeqNum) {
        //= https://www.rfc-editor.org/rfc/rfc2883#section-4
        //# (1) A D-SACK block is only used to report a duplicate contiguous
        //# sequence of data received by the receiver in the most recent packet.
        if self.sack && self.dsack_on && left.before(right) {
            self.dsack = Some((left, right));
        }
        self.ack_owed = true;
    }

    /// Fifth, the ACK field (`Connection::check_ack` outside SYN-RECEIVED).
    fn check_ack(&mut self, now: Instant, seg: &Segment<'_>) -> Option<SeqNum> {
        let Some(ack) = seg.ack else {
            //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
            //# if the ACK bit is off, drop the segment and return
            self.drop_segment(SegmentDrop::NoAck, seg);
            return None;
        };
        //= https://www.rfc-editor.org/rfc/rfc5961#section-5.2
        //# The ACK value is considered acceptable only if
        //# it is in the range of ((SND.UNA - MAX.SND.WND) =< SEG.ACK =<
        //# SND.NXT).  All incoming segments whose ACK value doesn't satisfy the
        //# above condition MUST be discarded and an ACK sent back.
        if ack.after(self.snd_nxt) || ack.before(self.snd_nxt - self.max_snd_wnd) {
            self.drop_segment(SegmentDrop::BadAck, seg);
            self.ack_out_of_window(now, seg);
            return None;
        }
        Some(ack)
    }

    /// What `Connection::process_ack` still does with nothing in flight:
    /// the send window's bookkeeping.
    fn process_ack(&mut self, seg: &Segment<'_>, ack: SeqNum) {
        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
        //# If SND.UNA =< SEG.ACK =< SND.NXT, the send window should be updated.
        //# If (SND.WL1 < SEG.SEQ or (SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK)),
        //# set SND.WND <- SEG.WND, set SND.WL1 <- SEG.SEQ, and set SND.WL2 <-
        //# SEG.ACK.
        // SEG.ACK is at most SND.NXT (check_ack), which is SND.UNA: it
        // never advances SND.UNA here.
        let window_update = self.snd_nxt.before_or_eq(ack)
            && (self.snd_wl1.before(seg.seq)
                || (self.snd_wl1 == seg.seq && self.snd_wl2.before_or_eq(ack)));
        if window_update {
            let snd_wnd = seg.wnd << self.snd_wscale;
            self.max_snd_wnd = self.max_snd_wnd.max(snd_wnd.get());
            self.snd_wl1 = seg.seq;
            self.snd_wl2 = ack;
        }
    }

    /// RFC 7323 4.3: TS.Recent follows the segment that covers RCV.NXT.
    fn update_ts_recent(&mut self, now: Instant, seg: &Segment<'_>) {
        if self.timestamps
            && let Some((val, _)) = seg.timestamp
            && seg.seq.before_or_eq(self.rcv_nxt)
            && self
                .ts_recent
                .is_none_or(|(recent, _)| !ts_before(val, recent))
        {
            self.ts_recent = Some((val, now));
        }
    }

    /// `Connection::ecn_on_segment` as a receiver (as a sender, with
    /// nothing in flight, an echo changes nothing).
    fn ecn_on_segment(&mut self, seg: &Segment<'_>) {
        if !self.ecn || seg.syn() {
            return;
        }
        //= https://www.rfc-editor.org/rfc/rfc3168#section-6.1.3
        //# When a TCP receives a CWR packet, it stops setting the ECE flag
        //# in its ACKs.
        if seg.flags.contains(Flags::CWR) {
            self.ecn_echo = false;
        }
        //= https://www.rfc-editor.org/rfc/rfc3168#section-6.1.3
        //# After a TCP receives a CE packet, the TCP sets the ECE flag in the
        //# ACK packets it sends until it receives a CWR packet from the
        //# other TCP.
        if seg.ce {
            self.ecn_echo = true;
            self.ack_owed = true;
        }
    }

    /// RFC 5961 section 3.2 and RFC 1337 (`Connection::on_rst`).
    fn on_rst(&mut self, now: Instant, seg: &Segment<'_>) {
        //= https://www.rfc-editor.org/rfc/rfc5961#section-3.2
        //# 3) If the RST bit is set and the sequence number does not exactly
        //#    match the next expected sequence value, yet is within the current
        //#    receive window, TCP MUST send an acknowledgment (challenge ACK):
        if seg.seq != self.rcv_nxt {
            self.drop_segment(SegmentDrop::RstNotExact, seg);
            self.challenge_ack(now);
            return;
        }
        if self.rfc1337 {
            //= https://www.rfc-editor.org/rfc/rfc1337#section-3
            //# (F1) Ignore RST segments in TIME-WAIT state.
            conn_debug!(self, state = %State::TimeWait, "RST received, ignored (RFC 1337)");
            return;
        }
        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
        //# TIME-WAIT STATE
        //#    If the RST bit is set, then enter the CLOSED state, delete the
        //#    TCB, and return.
        self.enter_closed("RST received");
    }

    /// RFC 5961's challenge ACK, rate-limited.
    fn challenge_ack(&mut self, now: Instant) {
        if self.invalid_ack_allowed(now) {
            self.ack_owed = true;
        }
    }

    /// The ACK answering an unacceptable segment: pure ACKs and SYNs
    /// rate-limited, data always answered (`Connection::ack_out_of_window`).
    fn ack_out_of_window(&mut self, now: Instant, seg: &Segment<'_>) {
        if (!seg.payload.is_empty() && !seg.syn()) || self.invalid_ack_allowed(now) {
            self.ack_owed = true;
        }
    }

    fn invalid_ack_allowed(&mut self, now: Instant) -> bool {
        //= https://www.rfc-editor.org/rfc/rfc5961#section-7
        //# An implementation SHOULD include an ACK
        //# throttling mechanism to be conservative.
        if let Some(last) = self.last_invalid_ack
            && now.saturating_duration_since(last) < self.invalid_ratelimit
        {
            return false;
        }
        self.last_invalid_ack = Some(now);
        true
    }

    fn drop_segment(&self, reason: SegmentDrop, seg: &Segment<'_>) {
        conn_trace!(
            self,
            state = %self.state(),
            reason = reason.as_str(),
            seq = seg.seq.get(),
            ack = seg.ack.map(|a| a.get()),
            len = seg.payload.len(),
            "segment dropped"
        );
    }

    /// Writes the ACK owed, if one is, into `buf` (as the connection's
    /// `poll_ack` and `emit` write it): the same window, timestamps and
    /// D-SACK block.
    pub(crate) fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<usize> {
        if self.closed || !self.ack_owed {
            return None;
        }
        let mut flags = Flags::ACK;
        if self.ecn && self.ecn_echo {
            flags |= Flags::ECE;
        }
        let window = self.window.advertise(self.rcv_nxt, &mut self.rcv_adv);
        let mut repr = TcpRepr {
            src_port: self.local.port(),
            dst_port: self.remote.port(),
            seq_number: self.snd_nxt.get(),
            ack_number: Some(self.rcv_nxt.get()),
            flags,
            window_len: window,
            urgent_pointer: 0,
            max_seg_size: None,
            window_scale: None,
            sack_permitted: false,
            sack_ranges: [None; MAX_SACK_BLOCKS],
            timestamp: None,
            payload: &[],
        };
        if self.timestamps {
            //= https://www.rfc-editor.org/rfc/rfc7323#section-3.2
            //# Once TSopt has been successfully negotiated, that is both <SYN> and
            //# <SYN,ACK> contain TSopt, the TSopt MUST be sent in every non-<RST>
            //# segment for the duration of the connection, and SHOULD be sent in
            //# an <RST> segment (see Section 5.2 for details).
            let ts_recent = self.ts_recent.map_or(0, |(v, _)| v);
            repr.timestamp = Some((self.ts_val(now), ts_recent));
        }
        if self.sack
            && let Some((left, right)) = self.dsack
        {
            repr.sack_ranges[0] = Some((left.get(), right.get()));
        }
        let total = repr.header_len();
        let out = buf.get_mut(..total)?;
        let mut packet = TcpPacket::new_unchecked(out);
        repr.emit_header(&mut packet);
        packet.fill_checksum(self.local.ip(), self.remote.ip(), self.checksums);
        self.dsack = None;
        self.ack_owed = false;
        Some(total)
    }

    /// Our timestamp clock, as the connection's (`Connection::ts_val`).
    fn ts_val(&self, now: Instant) -> u32 {
        (now.total_millis() as u32).wrapping_add(self.ts_offset)
    }
}
