//! What to send next: the SYN or SYN-ACK with our options, data under flow
//! control (RFC 9293 3.8.6), congestion control (RFC 5681) and loss recovery
//! (RFC 6675 NextSeg, RFC 6582, RFC 3042 limited transmit), Nagle (RFC 9293
//! 3.7.4) and sender SWS avoidance (3.8.6.2.1), FIN, ACKs with the window we
//! offer (receiver SWS avoidance, 3.8.6.2.2) and SACK blocks (RFC 2018),
//! resets, and zero-window and keepalive probes.

use crate::time::Instant;
use crate::wire::tcp_option::MAX_SACK_BLOCKS;
use crate::wire::{TcpFlags as Flags, TcpPacket, TcpRepr, TxChecksum};

use super::super::congestion::CongestionControl;
use super::super::segment::Reset;
use super::super::seq::SeqNum;
use super::super::state::State;
use super::log::conn_debug;
use super::{Connection, Events, Pending};

/// A segment to emit: everything but the options, which follow the
/// connection's state.
struct Out {
    seq: SeqNum,
    flags: Flags,
    /// Payload: `len` octets from this offset of the send queue.
    data: Option<(usize, usize)>,
    /// Whether SACK blocks go in (when there are any to send).
    sack: bool,
}

impl Connection {
    /// Writes the next segment, TCP header first, into `buf` and returns its
    /// length; `None` when there is nothing to send. `buf` bounds the segment
    /// (the caller passes what is left after the IP header, at most the MTU).
    pub(crate) fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<usize> {
        if let Some(reset) = self.reset_to_send.take() {
            return self.emit_reset(now, reset, buf);
        }
        match self.state {
            State::Closed => None,
            State::SynSent | State::SynReceived if self.pending.contains(Pending::SYN) => {
                self.emit_syn(now, buf)
            }
            State::SynSent => None,
            State::SynReceived | State::TimeWait => self.poll_ack(now, buf),
            _ => {
                if self.pending.contains(Pending::LOSS_PROBE)
                    && let Some(n) = self.poll_loss_probe(now, buf)
                {
                    return Some(n);
                }
                if let Some(n) = self.poll_retransmit(now, buf) {
                    return Some(n);
                }
                if let Some(n) = self.poll_data(now, buf) {
                    return Some(n);
                }
                if let Some(n) = self.poll_ack(now, buf) {
                    return Some(n);
                }
                self.poll_probe(now, buf)
            }
        }
    }

    /// Whether [`poll_transmit`](Self::poll_transmit) would now find
    /// nothing to send, judged cheaply and only when sure (`false` when it
    /// might find something): no reset, SYN, ACK or probe owed, no data or
    /// FIN beyond SND.NXT, nothing marked lost. Asked right after a
    /// segment left, so that the stack takes the connection off its
    /// transmit queue without a second poll that would find nothing: in
    /// request/response traffic every segment's last.
    pub(crate) fn transmit_done(&self) -> bool {
        self.reset_to_send.is_none()
            && self.pending == Pending::default()
            && self.sent.lost_bytes() == 0
            && !self.snd_nxt.before(self.send_data_end())
            && !self
                .our_fin
                .is_some_and(|fin| self.snd_nxt.before_or_eq(fin))
    }

    fn emit_syn(&mut self, now: Instant, buf: &mut [u8]) -> Option<usize> {
        self.pending.remove(Pending::SYN);
        let active = self.state == State::SynSent;
        let flags = if active {
            Flags::SYN
        } else {
            Flags::SYN | Flags::ACK
        } | self.ecn_syn_flags(active);
        let n = self.emit(
            now,
            buf,
            Out {
                seq: self.iss,
                flags,
                data: None,
                sack: true,
            },
        )?;
        self.snd_nxt = self.iss + 1;
        if self.retries == 0 && self.rtt_probe.is_none() {
            self.rtt_probe = Some((self.iss + 1, now));
        } else if self.retries > 0 {
            self.stats.retransmits += 1;
        }
        if self.timers.rto.is_none() {
            self.timers.rto = Some(now + self.rtt.rto());
        }
        Some(n)
    }

    /// The next lost segment, again (RFC 6675 NextSeg rule 1, with the
    /// marks RACK, duplicate ACKs or a timeout set), while the allowance
    /// (PRR in recovery, cwnd after a timeout) covers it. Only what starts
    /// inside the peer's window goes (Linux `tcp_retransmit_skb`).
    fn poll_retransmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<usize> {
        if self.frto_prefers_new_data() && self.snd_nxt.before(self.send_data_end()) {
            return None;
        }
        // What was lost goes again whole, up to a full segment without
        // SACK blocks (emit_range leaves them out to make it fit).
        let per_segment = self.eff_mss();
        let (seq, len) = self.sent.next_lost(per_segment)?;
        let right = self.snd_una + self.snd_wnd.get();
        if !seq.before(right) {
            return None;
        }
        if self.send_allowance() < len.min(per_segment) {
            return None;
        }
        let (n, _) = self.emit_range(now, buf, seq, len, true)?;
        Some(n)
    }

    /// Where the data queued for sending ends (the FIN, if any, follows).
    pub(super) fn send_data_end(&self) -> SeqNum {
        self.data_start() + u32::try_from(self.send_buf.len()).unwrap_or(u32::MAX)
    }

    /// New data from SND.NXT, and the FIN, under flow and congestion
    /// control, Nagle and sender SWS avoidance.
    fn poll_data(&mut self, now: Instant, buf: &mut [u8]) -> Option<usize> {
        if !matches!(
            self.state,
            State::Established
                | State::CloseWait
                | State::FinWait1
                | State::Closing
                | State::LastAck
        ) {
            return None;
        }
        let seq = self.snd_nxt;
        // (Looked at on every call, so that an override is forgotten as
        // soon as what it covered has gone.)
        let cork_pushed = self.cork_pushed(seq);
        let data_end = self.send_data_end();
        let avail = if seq.before(data_end) {
            data_end.wrapping_offset_from(seq)
        } else {
            0
        };
        let fin_unsent = self.our_fin.is_some_and(|fin| seq.before_or_eq(fin));
        if avail == 0 && !fin_unsent {
            return None;
        }

        // Flow control: the peer's window, from SND.UNA.
        let right = self.snd_una + self.snd_wnd.get();
        let usable_rwnd = if seq.before(right) {
            right.wrapping_offset_from(seq)
        } else {
            0
        };
        // Congestion control: cwnd (PRR's window in recovery) less what is
        // in flight.
        let usable_cwnd = self.send_allowance();
        let in_flight = self.in_flight();
        let (max_payload, per_segment) = self.payload_limits(now, buf, true);
        let mut len = avail.min(usable_rwnd).min(usable_cwnd).min(max_payload);
        if len > per_segment && len < avail {
            // A long segment ends on a segment boundary unless it carries
            // the last queued byte (Linux tcp_mss_split_point): its last
            // piece would otherwise be a runt the sender's own SWS
            // avoidance holds back.
            len -= len % per_segment;
        }
        if len > per_segment
            && let Some(m) = self
                .push_marks
                .first_after(seq)
                .filter(|&m| m.before(seq + len))
        {
            // A long segment ends with the piece that holds the first
            // write end in it, so that this piece carries PSH (the device
            // sets PSH on a long segment's last piece only). Every piece
            // stays full-sized: cutting at the write end itself made runts
            // that Nagle then held behind a lost one (found at 5% loss with
            // offloads: 200 ms stalls).
            let to_end = m.wrapping_offset_from(seq);
            len = len.min(to_end.div_ceil(per_segment) * per_segment);
        }
        // cwnd counts whole segments (Linux counts packets): a remnant of
        // it smaller than the segment it would cut short waits for the next
        // ACK rather than go out as a runt (SACK blocks in our header can
        // make a segment a little shorter than the unit cwnd counts in).
        if len == usable_cwnd && len < per_segment.min(avail).min(usable_rwnd) && in_flight > 0 {
            return None;
        }
        // A FIN with no data left to carry goes whatever cwnd says (Linux
        // tcp_cwnd_test: "Don't be strict about the congestion window for
        // the final FIN"): it adds no load, and holding it only delays the
        // close until a probe or a timeout.
        let sends_fin =
            fin_unsent && len == avail && (usable_cwnd > len || in_flight == 0 || len == 0);

        if len == 0 && !sends_fin {
            if avail > 0 && usable_rwnd == 0 {
                self.arm_persist(now);
            }
            return None;
        }
        // TCP_CORK, as Linux's tcp_nagle_check with TCP_NAGLE_CORK: while
        // corked only full-sized segments go, whatever TCP_NODELAY says
        // ("TCP_CORK ... is stronger than TCP_NODELAY"); a segment that
        // carries the FIN goes (tcp_nagle_test), as does what was queued
        // before TCP_NODELAY was set (TCP_NAGLE_PUSH). The partial tail
        // otherwise waits for more data or the uncork, or, with nothing in
        // flight, for the probe timer (tcp_check_probe_timer arms it at
        // max(RTO, TCP_RTO_MIN): the 200 ms ceiling tcp(7) documents),
        // whose tcp_write_wakeup sends it (`poll_probe`).
        if self.cfg.cork && !fin_unsent && !cork_pushed {
            let full = len - len % per_segment.max(1);
            if full == 0 {
                if self.snd_nxt == self.snd_una {
                    self.arm_persist(now);
                }
                return None;
            }
            len = full;
        }
        if !sends_fin && len < max_payload.min(per_segment) {
            let flight = self.snd_nxt.wrapping_offset_from(self.snd_una);
            //= https://www.rfc-editor.org/rfc/rfc9293#section-3.8.6.2.1
            //# Send data:
            //#
            //# (1)  if a maximum-sized segment can be sent, i.e., if:
            //#
            //#      min(D,U) >= Eff.snd.MSS;
            //#
            //# (2)  or if the data is pushed and all queued data can be sent
            //#      now, i.e., if:
            //#
            //#      [SND.NXT = SND.UNA and] PUSHed and D <= U
            //#
            //#      (the bracketed condition is imposed by the Nagle algorithm);
            //#
            //# (3)  or if at least a fraction Fs of the maximum window can be
            //#      sent, i.e., if:
            //#
            //#      [SND.NXT = SND.UNA and] min(D,U) >= Fs * Max(SND.WND);
            // Data up to a write's end is pushed (RFC 9293 3.8.6.2.1 (2)).
            let pushed = self.push_marks.contains(seq + len);
            let all_queued = len == avail || pushed;
            // Minshall's variant of Nagle, as Linux (tcp_minshall_check):
            // a short segment waits only while an earlier short segment is
            // unacknowledged, not while full ones are; a write's tail goes
            // with the write.
            let small_in_flight = self.snd_sml.after(self.snd_una);
            let nagle_ok = self.cfg.nodelay || flight == 0 || !small_in_flight;
            let fraction_ok = len >= self.max_snd_wnd / 2;
            if !(nagle_ok && (all_queued || fraction_ok)) {
                //# (4)  or if the override timeout occurs.
                if flight == 0 {
                    self.arm_persist(now);
                }
                return None;
            }
        }

        //= https://www.rfc-editor.org/rfc/rfc5681#section-4.1
        //# Therefore, a TCP SHOULD set cwnd to no more than RW before beginning
        //# transmission if the TCP has not sent data in an interval exceeding
        //# the retransmission timeout.
        if self.snd_nxt == self.snd_una
            && now.saturating_duration_since(self.last_send) > self.rtt.rto()
        {
            let idle = now.saturating_duration_since(self.last_send);
            self.cc.on_idle_restart(now, idle, self.rtt.rto());
        }

        let offset = seq.wrapping_offset_from(self.data_start()) as usize;
        let mut flags = Flags::ACK;
        if self.push_flag(seq, seq + len) {
            flags |= Flags::PSH;
        }
        if sends_fin {
            flags |= Flags::FIN;
        }
        flags |= self.ecn_data_flags(len);
        let data = (len > 0).then_some((offset, len as usize));
        let n = self.emit(
            now,
            buf,
            Out {
                seq,
                flags,
                data,
                sack: true,
            },
        )?;
        self.after_send(now, seq, len, sends_fin, false);
        if len % per_segment.max(1) != 0 {
            self.snd_sml = seq + len;
        }
        self.arm_pto(now);
        Some(n)
    }

    /// The tail loss probe (RFC 8985 7.3): one new segment when there is
    /// unsent data and the peer's window takes it, else the last full
    /// segment's worth of what was sent, again (it holds the last segment
    /// sent); either draws an ACK that tells what was lost.
    fn poll_loss_probe(&mut self, now: Instant, buf: &mut [u8]) -> Option<usize> {
        self.pending.remove(Pending::LOSS_PROBE);
        if self.recovery.is_some() || self.probes > 1 {
            return self.poll_recovery_probe(now, buf);
        }
        if self.snd_una == self.snd_nxt || self.snd_wnd.get() == 0 || self.sent.has_sacked() {
            return None;
        }
        let flight = u32::try_from(self.flight_size()).unwrap_or(u32::MAX);
        let data_end = self.send_data_end();
        let per_segment = u32::try_from(self.payload_per_segment(now)).unwrap_or(u32::MAX);
        let seq = self.snd_nxt;
        let right = self.snd_una + self.snd_wnd.get();
        let unsent = if seq.before(data_end) {
            data_end.wrapping_offset_from(seq)
        } else {
            0
        };
        let room = if seq.before(right) {
            right.wrapping_offset_from(seq)
        } else {
            0
        };
        let new = unsent
            .min(room)
            .min(per_segment)
            .min(self.max_payload(now, buf, false));
        // An unsent FIN alone is new data too (Linux sends it as the probe).
        let fin_only = unsent == 0 && self.our_fin == Some(seq);
        if fin_only {
            let n = self.emit(
                now,
                buf,
                Out {
                    seq,
                    flags: Flags::ACK | Flags::FIN,
                    data: None,
                    sack: true,
                },
            )?;
            self.after_send(now, seq, 0, true, false);
            self.tlp = Some(super::Tlp {
                end_seq: self.snd_nxt,
                is_retrans: false,
                flight,
            });
            self.stats.loss_probes += 1;
            return Some(n);
        }
        if new > 0 && self.our_fin.is_none_or(|fin| seq.before(fin)) {
            let offset = seq.wrapping_offset_from(self.data_start()) as usize;
            let n = self.emit(
                now,
                buf,
                Out {
                    seq,
                    flags: Flags::ACK | Flags::PSH,
                    data: Some((offset, new as usize)),
                    sack: true,
                },
            )?;
            self.after_send(now, seq, new, false, false);
            self.tlp = Some(super::Tlp {
                end_seq: self.snd_nxt,
                is_retrans: false,
                flight,
            });
            self.stats.loss_probes += 1;
            return Some(n);
        }
        // The last segment's worth of what was sent (and the FIN, if it
        // follows), if it starts inside the peer's window (Linux's
        // __tcp_retransmit_skb sends nothing beyond it).
        let sent_end = data_end.earliest(self.snd_nxt);
        let sent = if self.snd_una.before(sent_end) {
            sent_end.wrapping_offset_from(self.snd_una)
        } else {
            0
        };
        let len = sent.min(per_segment);
        let start = sent_end - len;
        if start != self.snd_una && !start.before(right) {
            return None;
        }
        let (n, _) = self.emit_range(now, buf, start, len, true)?;
        self.tlp = Some(super::Tlp {
            end_seq: self.snd_nxt,
            is_retrans: true,
            flight,
        });
        self.stats.loss_probes += 1;
        Some(n)
    }

    /// A probe in recovery, or a tail loss probe again (see
    /// `arm_next_probe`): the first in recovery a new segment if the peer's
    /// window takes one, else the last segment sent that the peer has not
    /// SACKed, again (a duplicate draws an ACK at once, new data may wait
    /// for the peer's delayed-ACK timer); outside PRR and cwnd, as a loss
    /// probe is.
    fn poll_recovery_probe(&mut self, now: Instant, buf: &mut [u8]) -> Option<usize> {
        let per_segment = u32::try_from(self.payload_per_segment(now)).unwrap_or(u32::MAX);
        let seq = self.snd_nxt;
        let right = self.snd_una + self.snd_wnd.get();
        let data_end = self.send_data_end();
        if self.probes <= 1 && seq.before(data_end) && seq.before(right) {
            let new = data_end
                .wrapping_offset_from(seq)
                .min(right.wrapping_offset_from(seq))
                .min(per_segment);
            let offset = seq.wrapping_offset_from(self.data_start()) as usize;
            let n = self.emit(
                now,
                buf,
                Out {
                    seq,
                    flags: Flags::ACK | Flags::PSH,
                    data: Some((offset, new as usize)),
                    sack: true,
                },
            )?;
            self.after_send(now, seq, new, false, false);
            self.stats.loss_probes += 1;
            return Some(n);
        }
        let (start, end) = self
            .sent
            .iter()
            .filter(|s| !s.is_sacked())
            .last()
            .map(|s| (s.start, s.end))?;
        let len = end.wrapping_offset_from(start).min(self.eff_mss());
        let (n, _) = self.emit_range(now, buf, end - len, len, true)?;
        self.stats.loss_probes += 1;
        Some(n)
    }

    /// Sends `len` octets (at most, one segment) of what was sent before,
    /// from `seq`, again; the FIN too if they end at it. Returns the bytes
    /// written and the payload length.
    fn emit_range(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        seq: SeqNum,
        len: u32,
        is_rexmit: bool,
    ) -> Option<(usize, usize)> {
        let data_start = self.data_start();
        // A retransmission carries only what was sent before (up to
        // SND.NXT): octets never sent are new data, under the peer's window
        // and cwnd in poll_data.
        let sent_end = self.send_data_end().earliest(self.snd_nxt);
        let avail = if seq.before(sent_end) {
            sent_end.wrapping_offset_from(seq)
        } else {
            0
        };
        // One segment at a time, TSO or not: a loss is repaired with what
        // was lost, not with a burst the device would cut short at the end.
        // A segment that fits only without our SACK blocks goes without
        // them rather than in two pieces (the next ACK carries them; Linux
        // would cut it in two).
        let len = len.min(avail);
        let with_sack = self.max_payload(now, buf, false);
        let bare = self
            .eff_mss()
            .min(u32::try_from(buf.len().saturating_sub(self.bare_header_len())).unwrap_or(0));
        let sack = len <= with_sack || bare <= with_sack;
        let len = len.min(if sack { with_sack } else { bare });
        let fin = self
            .our_fin
            .is_some_and(|f| f == seq + len && f.before(self.snd_nxt));
        if len == 0 && !fin {
            return None;
        }
        let offset = seq.wrapping_offset_from(data_start) as usize;
        let mut flags = Flags::ACK;
        if self.push_flag(seq, seq + len) {
            flags |= Flags::PSH;
        }
        if fin {
            flags |= Flags::FIN;
        }
        let data = (len > 0).then_some((offset, len as usize));
        let n = self.emit(
            now,
            buf,
            Out {
                seq,
                flags,
                data,
                sack,
            },
        )?;
        self.after_send(now, seq, len, fin, is_rexmit);
        Some((n, len as usize))
    }

    /// Bookkeeping after a data or FIN segment went out: the sent queue,
    /// SND.NXT, PRR, undo, the retransmission timer.
    fn after_send(&mut self, now: Instant, seq: SeqNum, len: u32, fin: bool, is_rexmit: bool) {
        let end = seq + len + u32::from(fin);
        let octets = len + u32::from(fin);
        self.stats.bytes_out += u64::from(len);
        if is_rexmit {
            self.sent.on_retransmit(seq, end, now);
            self.stats.retransmits += 1;
            self.on_retransmitted(now, octets);
        } else {
            self.sent.on_send(seq, end, now);
            if self.snd_nxt.before(end) {
                self.snd_nxt = end;
            }
        }
        self.prr_on_sent(octets);
        //= https://www.rfc-editor.org/rfc/rfc6298#section-5
        //# (5.1) Every time a packet containing data is sent (including a
        //#       retransmission), if the timer is not running, start it running
        //#       so that it will expire after RTO seconds (given the current
        //#       value of RTO).
        if self.timers.rto.is_none() {
            self.timers.rto = Some(now + self.rtt.rto());
        }
        self.timers.persist = None;
        self.timers.persist_probes = 0;
        self.last_send = now;
        if fin {
            self.events.insert(Events::WRITABLE);
        }
    }

    /// Starts the persist timer (zero window, or the SWS override timeout).
    fn arm_persist(&mut self, now: Instant) {
        if self.timers.persist.is_none() && self.timers.rto.is_none() {
            self.timers.persist = Some(now + self.rtt.rto());
        }
    }

    /// A pure ACK: owed at once, after the delayed-ACK timer, or as a window
    /// update.
    fn poll_ack(&mut self, now: Instant, buf: &mut [u8]) -> Option<usize> {
        if !self.pending.contains(Pending::ACK) {
            return None;
        }
        self.emit(
            now,
            buf,
            Out {
                seq: self.snd_nxt,
                flags: Flags::ACK,
                data: None,
                sack: true,
            },
        )
    }

    /// A zero-window or keepalive probe: an ACK carrying the sequence number
    /// before SND.UNA, which the peer must answer with an ACK (Linux's
    /// `tcp_xmit_probe_skb`; RFC 1122 4.2.3.6 allows it for keepalives).
    fn poll_probe(&mut self, now: Instant, buf: &mut [u8]) -> Option<usize> {
        if !self.pending.contains(Pending::PROBE) {
            return None;
        }
        self.pending.remove(Pending::PROBE);
        // A window open but too small for SWS avoidance to fill: the
        // override sends what fits (Linux tcp_write_wakeup does the same
        // from its probe timer), rather than a probe it would answer with
        // the same small window forever.
        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.8.6.2.1
        //# (4)  or if the override timeout occurs.
        let seq = self.snd_nxt;
        let right = self.snd_una + self.snd_wnd.get();
        let data_end = self.send_data_end();
        let sending = matches!(
            self.state,
            State::Established
                | State::CloseWait
                | State::FinWait1
                | State::Closing
                | State::LastAck
        );
        if sending && seq.before(right) && seq.before(data_end) {
            let per_segment = u32::try_from(self.payload_per_segment(now)).unwrap_or(u32::MAX);
            let len = right
                .wrapping_offset_from(seq)
                .min(data_end.wrapping_offset_from(seq))
                .min(per_segment);
            let offset = seq.wrapping_offset_from(self.data_start()) as usize;
            let mut flags = Flags::ACK | Flags::PSH;
            flags |= self.ecn_data_flags(len);
            let n = self.emit(
                now,
                buf,
                Out {
                    seq,
                    flags,
                    data: Some((offset, len as usize)),
                    sack: true,
                },
            )?;
            self.after_send(now, seq, len, false, false);
            return Some(n);
        }
        self.emit(
            now,
            buf,
            Out {
                seq: self.snd_una - 1,
                flags: Flags::ACK,
                data: None,
                sack: true,
            },
        )
    }

    fn emit_reset(&mut self, now: Instant, reset: Reset, buf: &mut [u8]) -> Option<usize> {
        self.stats.resets_sent += 1;
        conn_debug!(self, seq = reset.seq.get(), "RST sent");
        //= https://www.rfc-editor.org/rfc/rfc7323#section-3.2
        //# Once TSopt has been successfully negotiated, that is both <SYN> and
        //# <SYN,ACK> contain TSopt, the TSopt MUST be sent in every non-<RST>
        //# segment for the duration of the connection, and SHOULD be sent in
        //# an <RST> segment (see Section 5.2 for details).
        let timestamp = self
            .opts
            .timestamps
            .then(|| (self.ts_val(now), self.ts_recent.map_or(0, |(v, _)| v)));
        let len = reset.emit(self.local, self.remote, timestamp, self.cfg.checksums, buf)?;
        self.stats.segs_out += 1;
        Some(len)
    }

    /// The options every non-SYN segment carries: the header length without
    /// payload, given the SACK blocks we would send now.
    fn header_len_now(&self, now: Instant) -> usize {
        self.header(
            now,
            Out {
                seq: self.snd_nxt,
                flags: Flags::ACK,
                data: None,
                sack: true,
            },
            0,
        )
        .header_len()
    }

    /// Our TCP header without SACK blocks: 20 bytes and the timestamps.
    fn bare_header_len(&self) -> usize {
        20 + if self.opts.timestamps { 12 } else { 0 }
    }

    /// The largest payload a segment may carry now: SMSS less our TCP
    /// options (RFC 9293 3.7.1), and what fits in `buf`; with TSO (and
    /// `long` asked), as many such payloads as fit in `buf`.
    fn max_payload(&self, now: Instant, buf: &[u8], long: bool) -> u32 {
        self.payload_limits(now, buf, long).0
    }

    /// [`Self::max_payload`] and the payload of one full-sized segment,
    /// from one computation of our header.
    fn payload_limits(&self, now: Instant, buf: &[u8], long: bool) -> (u32, u32) {
        let header = self.header_len_now(now);
        let by_buf = buf.len().saturating_sub(header);
        let per_segment = self.per_segment_after(header);
        let max = if long && self.cfg.tso && by_buf >= 2 * per_segment && per_segment > 0 {
            by_buf - by_buf % per_segment
        } else {
            per_segment.min(by_buf)
        };
        let as_u32 = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
        (as_u32(max), as_u32(per_segment))
    }

    /// The payload of one full-sized segment: SMSS less our TCP options.
    fn payload_per_segment(&self, now: Instant) -> usize {
        self.per_segment_after(self.header_len_now(now))
    }

    /// SMSS less the options of a TCP header `header` bytes long.
    fn per_segment_after(&self, header: usize) -> usize {
        usize::from(self.smss).saturating_sub(header.saturating_sub(20))
    }

    /// After `poll_transmit`: with TSO, for every segment, the payload size
    /// the device splits the segment just written at if it carries more
    /// (its checksum field holds the pseudo-header sum, for the device to
    /// complete); `None` without TSO, when the checksum is whole.
    pub(crate) fn take_gso(&mut self) -> Option<u16> {
        self.gso.take()
    }

    /// The header of a segment, options included, without payload.
    fn header(&self, now: Instant, out: Out, window: u16) -> TcpRepr<'static> {
        let syn = out.flags.contains(Flags::SYN);
        let ack = out.flags.contains(Flags::ACK);
        let mut repr = TcpRepr {
            src_port: self.local.port(),
            dst_port: self.remote.port(),
            seq_number: out.seq.get(),
            ack_number: ack.then_some(self.rcv_nxt.get()),
            flags: out.flags,
            window_len: window,
            urgent_pointer: 0,
            max_seg_size: None,
            window_scale: None,
            sack_permitted: false,
            sack_ranges: [None; MAX_SACK_BLOCKS],
            timestamp: None,
            payload: &[],
        };
        let ts_recent = self.ts_recent.map_or(0, |(v, _)| v);
        if syn {
            repr.max_seg_size = Some(self.cfg.mss);
            let active = self.state == State::SynSent;
            // In a SYN-ACK, echo only what the peer offered (RFC 7323 2.2,
            // 3.2; RFC 2018 section 2).
            if self.cfg.window_scaling
                && (active || self.opts.snd_wscale.get() > 0 || self.opts.rcv_wscale.get() > 0)
            {
                repr.window_scale = Some(self.opts.rcv_wscale.get());
            }
            repr.sack_permitted = if active {
                self.cfg.sack
            } else {
                self.opts.sack
            };
            if (active && self.cfg.timestamps) || (!active && self.opts.timestamps) {
                repr.timestamp = Some((self.ts_val(now), if active { 0 } else { ts_recent }));
            }
        } else {
            if self.opts.timestamps {
                //= https://www.rfc-editor.org/rfc/rfc7323#section-3.2
                //# Once TSopt has been successfully negotiated, that is both <SYN> and
                //# <SYN,ACK> contain TSopt, the TSopt MUST be sent in every non-<RST>
                //# segment for the duration of the connection, and SHOULD be sent in
                //# an <RST> segment (see Section 5.2 for details).
                repr.timestamp = Some((self.ts_val(now), ts_recent));
            }
            if self.opts.sack && ack && out.sack {
                let mut slots = repr.sack_ranges.iter_mut();
                //= https://www.rfc-editor.org/rfc/rfc2883#section-4
                //# If the D-SACK block reports a duplicate contiguous sequence from a
                //# (possibly larger) block of data in the receiver's data queue above
                //# the cumulative acknowledgement, then the second SACK block in that
                //# SACK option should specify that (possibly larger) block of data.
                if let Some((left, right)) = self.dsack
                    && let Some(slot) = slots.next()
                {
                    *slot = Some((left.get(), right.get()));
                }
                let mut blocks = [(0u32, 0u32); MAX_SACK_BLOCKS];
                let n = self.sack_ranges_now(&mut blocks);
                for (out, &(start, end)) in slots.zip(blocks.iter().take(n)) {
                    *out = Some(((self.rcv_nxt + start).get(), (self.rcv_nxt + end).get()));
                }
            }
        }
        repr
    }

    /// The out-of-order ranges our next segment reports, as offsets from
    /// RCV.NXT: as many as fit beside the timestamps and a D-SACK block.
    fn sack_ranges_now(&self, blocks: &mut [(u32, u32); MAX_SACK_BLOCKS]) -> usize {
        if !self.recv_buf.has_out_of_order() {
            return 0;
        }
        //= https://www.rfc-editor.org/rfc/rfc2018#section-3
        //# It is expected that SACK will often be used in
        //# conjunction with the Timestamp option used for RTTM [Jacobson92],
        //# which takes an additional 10 bytes (plus two bytes of padding); thus
        //# a maximum of 3 SACK blocks will be allowed in this case.
        let slots =
            MAX_SACK_BLOCKS - usize::from(self.opts.timestamps) - usize::from(self.dsack.is_some());
        self.recv_buf
            .sack_blocks(blocks.get_mut(..slots).unwrap_or(&mut []))
    }

    /// The window to advertise, and the right edge it promises
    /// ([`RcvWindow::advertise`]).
    fn window_to_advertise(&mut self, syn: bool) -> u16 {
        let free = self.rcv_free();
        if syn {
            // The window in a SYN is never scaled (RFC 7323 2.2).
            let w = u16::try_from(free).unwrap_or(u16::MAX);
            self.rcv_adv = self.rcv_nxt + u32::from(w);
            return w;
        }
        let window = RcvWindow {
            free,
            space: u32::try_from(self.rcv_tuning.space).unwrap_or(u32::MAX),
            mss: self.cfg.mss,
            shift: self.opts.rcv_wscale.get(),
            room: self.recv_buf.window().get(),
        };
        window.advertise(self.rcv_nxt, &mut self.rcv_adv)
    }

    /// Emits a segment into `buf`: header, options, payload, checksum.
    fn emit(&mut self, now: Instant, buf: &mut [u8], mut out: Out) -> Option<usize> {
        let syn = out.flags.contains(Flags::SYN);
        if !syn && out.flags.contains(Flags::ACK) {
            out.flags |= self.ecn_ack_flags();
        }
        let data = out.data;
        let flags = out.flags;
        let with_sack = out.sack;
        let window = self.window_to_advertise(syn);
        let repr = self.header(now, out, window);
        let header_len = repr.header_len();
        let payload_len = data.map_or(0, |(_, len)| len);
        let total = header_len + payload_len;
        let out = buf.get_mut(..total)?;
        let mut packet = TcpPacket::new_unchecked(out);
        repr.emit_header(&mut packet);
        if let Some((offset, len)) = data {
            let copied = self.send_buf.copy_out(offset, packet.payload_mut());
            debug_assert_eq!(copied, len, "the send queue holds what poll_data measured");
        }
        // A device that splits segments (TSO) also completes their
        // checksums, as Linux's NETIF_F_TSO needs checksum offload: every
        // segment, long or not, leaves with the pseudo-header sum only and
        // the payload size the device splits it at if it is longer. The
        // payload is read once, by the copy above; the kernel behind a TUN
        // device takes such a segment as CHECKSUM_PARTIAL and, delivering
        // it locally, never sums it at all (as across a veth pair).
        let tx = if self.cfg.tso {
            self.gso = Some(u16::try_from(self.per_segment_after(header_len)).unwrap_or(u16::MAX));
            TxChecksum::PseudoHeader
        } else {
            self.gso = None;
            self.cfg.checksums.tx
        };
        packet.fill_checksum(self.local.ip(), self.remote.ip(), tx);
        self.stats.segs_out += 1;
        if flags.contains(Flags::ACK) {
            // Every segment with ACK acknowledges everything received, and
            // reports the duplicate, once.
            if self.opts.sack && with_sack {
                let mut blocks = [(0u32, 0u32); MAX_SACK_BLOCKS];
                let n = self.sack_ranges_now(&mut blocks);
                let mut starts = [0u32; MAX_SACK_BLOCKS];
                for (s, &(start, _)) in starts.iter_mut().zip(blocks.iter().take(n)) {
                    *s = start;
                }
                self.recv_buf.mark_reported(starts.get(..n).unwrap_or(&[]));
            }
            if with_sack && self.dsack.take().is_some() {
                self.stats.dsacks_sent += 1;
            }
            self.pending.remove(Pending::ACK);
            self.unacked_segs = 0;
            self.timers.delack = None;
            if self.opts.sack && self.recv_buf.has_unreported() {
                // Ranges that arrived in the same batch and did not fit:
                // another ACK reports them (as Linux's ACK per segment would).
                self.pending.insert(Pending::ACK);
            }
        }
        Some(total)
    }
}

/// What the window a segment without SYN offers is made from: shared by a
/// connection and its compact TIME-WAIT record (`time_wait_sock.rs`), which
/// must go on offering exactly what the connection would.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct RcvWindow {
    /// Free space in the receive buffer from RCV.NXT.
    pub(super) free: u32,
    /// The receive buffer's size (RCV.BUFF).
    pub(super) space: u32,
    /// Our MSS (Eff.snd.MSS of the SWS rule).
    pub(super) mss: u16,
    /// The shift of the windows we send.
    pub(super) shift: u8,
    /// What the receive ring can hold past RCV.NXT.
    pub(super) room: u32,
}

impl RcvWindow {
    /// The window field to send, moving `rcv_adv`, the right edge we
    /// promised, as far as the field takes it.
    ///
    /// The right edge never moves left (RFC 9293 3.8.6: "The mechanisms
    /// provided allow a TCP endpoint to advertise a large window and to
    /// subsequently advertise a much smaller window without having accepted
    /// that much data" is discouraged: SHLD-14), and moves right only by at
    /// least min(buffer/2, MSS) at a time (receiver SWS avoidance).
    pub(super) fn advertise(self, rcv_nxt: SeqNum, rcv_adv: &mut SeqNum) -> u16 {
        let offered = if rcv_adv.after(rcv_nxt) {
            rcv_adv.wrapping_offset_from(rcv_nxt)
        } else {
            0
        };
        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.8.6.2.2
        //# The suggested SWS avoidance algorithm for the receiver is to keep
        //# RCV.NXT+RCV.WND fixed until the reduction satisfies:
        //#
        //#    RCV.BUFF - RCV.USER - RCV.WND  >=
        //#
        //#           min( Fr * RCV.BUFF, Eff.snd.MSS )
        let step = (self.space / 2).min(u32::from(self.mss));
        let window = if self.free.saturating_sub(offered) >= step {
            self.free
        } else {
            offered
        };
        let shift = self.shift;
        let mut field = window >> shift;
        //= https://www.rfc-editor.org/rfc/rfc7323#section-2.4
        //# If the sequence number is then updated by a number of bytes smaller
        //# than that granularity, the TCP will have to either advertise a new
        //# window that is beyond what it previously advertised (and perhaps
        //# beyond the buffer) or will have to advertise a smaller window,
        //# which will cause the TCP window to shrink.
        // Like Linux (tcp_select_window), we never shrink: the field is
        // rounded up to cover what we promised, and the receive ring has
        // room for one unit of granularity past the buffer to hold it.
        // Only if even that room is used up (a peer sending many segments
        // shorter than the granularity) is it rounded down, by less than
        // one unit: RCV.NXT + RCV.WND we accept stays where it was.
        if (field << shift) < offered {
            field = offered.div_ceil(1 << shift);
            if (field << shift) > self.room {
                field = self.room >> shift;
            }
        }
        let field = u16::try_from(field).unwrap_or(u16::MAX);
        // What the peer may fill is exactly what it was shown: the right
        // edge we accept is the field as sent, never less (the kernel fills
        // to the last byte; trimming those bytes stalled it for good).
        let edge = rcv_nxt + (u32::from(field) << shift);
        if rcv_adv.before(edge) {
            *rcv_adv = edge;
        }
        field
    }
}
