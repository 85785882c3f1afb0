//! Steps six to eight of SEGMENT ARRIVES (RFC 9293 3.10.7.4): the
//! segment's text goes into the receive queue (out-of-order data held,
//! SHLD-31), ACKs are owed or delayed (RFC 9293 3.8.6.3, RFC 5681 4.2, Linux
//! quick-ack), and the peer's FIN is taken in order.

use crate::time::Instant;

use super::super::segment::Segment;
use super::super::seq::SeqNum;
use super::super::state::State;
use super::log::conn_trace;
use super::{Connection, Events, Pending};

impl Connection {
    /// Steps six to eight: queue the payload, then the FIN.
    pub(super) fn process_text_and_fin(
        &mut self,
        now: Instant,
        seg: &Segment<'_>,
        data_seq: SeqNum,
    ) {
        if !self.state.may_recv() && self.state != State::SynReceived {
            //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
            //# This should not occur since a FIN has been received from the
            //# remote side.  Ignore the segment text.
            if !self.time_wait_fin_again(now, seg) && (seg.fin() || !seg.payload.is_empty()) {
                self.pending.insert(Pending::ACK);
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
            let ecr = self
                .opts
                .timestamps
                .then_some(seg.timestamp)
                .flatten()
                .map(|(_, ecr)| ecr);
            self.rcv_space_adjust(now, ecr);
        }

        if seg.fin() {
            let payload_len = u32::try_from(seg.payload.len()).unwrap_or(u32::MAX);
            let fin = data_seq + payload_len;
            let offset = fin.wrapping_offset_from(self.rcv_nxt);
            // A FIN past the window's end was trimmed away with the data.
            if !fin.before(self.rcv_nxt) && offset <= self.recv_buf.window().get() {
                self.peer_fin = Some(fin);
            }
            self.pending.insert(Pending::ACK);
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
            //= https://www.rfc-editor.org/rfc/rfc2883#section-4
            //# If the D-SACK block reports a duplicate contiguous sequence from a
            //# (possibly larger) block of data in the receiver's data queue above
            //# the cumulative acknowledgement, then the second SACK block in that
            //# SACK option should specify that (possibly larger) block of data.
            self.report_duplicate(seq, self.rcv_nxt);
        } else {
            offset = seq.wrapping_offset_from(self.rcv_nxt) as usize;
            let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
            if let Ok(start) = u32::try_from(offset)
                && self.recv_buf.holds(start, start.saturating_add(len))
            {
                // All of it is held out of order already.
                self.report_duplicate(seq, seq + len);
            }
        }
        if data.is_empty() {
            self.pending.insert(Pending::ACK);
            return;
        }
        let had_gaps = self.recv_buf.has_out_of_order();
        let before = self.recv_buf.readable_len();
        let accepted = self.recv_buf.write_at(offset, data);
        if accepted < data.len() {
            let dropped = data.len() - accepted;
            self.stats.recv_queue_drops += dropped as u64;
            conn_trace!(
                self,
                bytes = dropped,
                reason = "receive queue full",
                "data dropped"
            );
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
            self.pending.insert(Pending::ACK);
            return;
        }
        self.schedule_ack(now, data.len());
    }

    /// Data `left..right` arrived a second time: the next ACK reports it
    /// first in its SACK option (RFC 2883 D-SACK; Linux `tcp_dsack_set`),
    /// and goes at once.
    pub(super) fn report_duplicate(&mut self, left: SeqNum, right: SeqNum) {
        //= https://www.rfc-editor.org/rfc/rfc2883#section-4
        //# (1) A D-SACK block is only used to report a duplicate contiguous
        //# sequence of data received by the receiver in the most recent packet.
        if self.opts.sack && self.cfg.dsack && left.before(right) {
            self.dsack = Some((left, right));
        }
        self.pending.insert(Pending::ACK);
    }

    /// Delayed ACK for in-order data (RFC 9293 3.8.6.3, RFC 5681 4.2).
    fn schedule_ack(&mut self, now: Instant, len: usize) {
        if self.quickack > 0 {
            self.quickack -= 1;
            self.pending.insert(Pending::ACK);
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
            self.pending.insert(Pending::ACK);
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
        self.pending.insert(Pending::ACK);
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
}
