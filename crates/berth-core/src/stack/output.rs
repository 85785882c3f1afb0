//! Output and time: IP headers around what the sockets produce (fragmented
//! when bigger than the MTU, see `fragment.rs`), the queue of ready-made
//! packets, and the timers of every connection (a binary heap of deadlines
//! with lazy invalidation) and of reassembly.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::IpAddr;

use super::drops::{DropReason, Flow};
use super::{Socket, Stack};
use crate::handle::SocketHandle;
use crate::time::{Instant, earliest};
use crate::wire::{Ecn, IpProtocol, Ipv4Packet, Ipv4Repr, Ipv6Packet, Ipv6Repr};

/// Bound on ready-made packets waiting (resets, ICMP, UDP): beyond it new
/// ones are dropped (and counted, `out_queue_full`) rather than growing
/// without limit.
pub(super) const MAX_QUEUED_PACKETS: usize = 4096;

impl Stack {
    fn ip_header_len(ip: IpAddr) -> usize {
        if ip.is_ipv4() { 20 } else { 40 }
    }

    /// The traffic class byte of the packet being made: the socket's
    /// (`tx_tos`), with the ECN codepoint `ecn` in its low bits unless that
    /// is Not-ECT (a UDP socket's own codepoint then stays).
    fn tx_traffic_class(&self, ecn: Ecn) -> u8 {
        if ecn == Ecn::NotEct {
            self.tx_tos
        } else {
            (self.tx_tos & !0b11) | ecn.bits()
        }
    }

    /// Writes the IP header for `payload_len` bytes of `protocol` into the
    /// front of `buf`, with the hop limit and traffic class of the socket
    /// it comes from (`tx_hop_limit`, `tx_tos`). Returns the header length.
    fn emit_ip(
        &mut self,
        buf: &mut [u8],
        src: IpAddr,
        dst: IpAddr,
        protocol: IpProtocol,
        payload_len: usize,
        ecn: Ecn,
    ) -> Option<usize> {
        let class = self.tx_traffic_class(ecn);
        match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                self.ip_ident = self.ip_ident.wrapping_add(1);
                let repr = Ipv4Repr {
                    src_addr: s,
                    dst_addr: d,
                    next_header: protocol,
                    payload_len,
                    hop_limit: self.tx_hop_limit.unwrap_or(self.cfg.hop_limit),
                    dscp: class >> 2,
                    ecn: Ecn::from_bits(class),
                    ident: self.ip_ident,
                    // Path MTU discovery (RFC 1191): TCP sets DF, as Linux does.
                    dont_frag: protocol == IpProtocol::Tcp,
                    more_frags: false,
                    frag_offset: 0,
                };
                let header = buf.get_mut(..20)?;
                repr.emit(&mut Ipv4Packet::new_unchecked(header));
                Some(20)
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                let repr = Ipv6Repr {
                    src_addr: s,
                    dst_addr: d,
                    next_header: protocol,
                    payload_len,
                    hop_limit: self.tx_hop_limit.unwrap_or(self.cfg.hop_limit),
                    traffic_class: class,
                    flow_label: 0,
                };
                let header = buf.get_mut(..40)?;
                repr.emit(&mut Ipv6Packet::new_unchecked(header));
                Some(40)
            }
            _ => None,
        }
    }

    /// Wraps a transport payload in an IP header and queues it, as
    /// fragments if it does not fit the MTU.
    pub(super) fn queue_ip(
        &mut self,
        src: IpAddr,
        dst: IpAddr,
        protocol: IpProtocol,
        payload: &[u8],
    ) {
        if self.out.len() >= MAX_QUEUED_PACKETS {
            self.dropped(DropReason::OutQueueFull, Flow::Ip(src, dst));
            return;
        }
        let hl = Self::ip_header_len(src);
        if hl + payload.len() > self.cfg.mtu {
            match (src, dst) {
                (IpAddr::V4(s), IpAddr::V4(d)) => {
                    self.queue_ipv4_fragments(s, d, protocol, payload)
                }
                (IpAddr::V6(s), IpAddr::V6(d)) => {
                    self.queue_ipv6_fragments(s, d, protocol, payload)
                }
                _ => {}
            }
            return;
        }
        let mut packet = vec![0u8; hl + payload.len()];
        if self
            .emit_ip(&mut packet, src, dst, protocol, payload.len(), Ecn::NotEct)
            .is_none()
        {
            return;
        }
        packet[hl..].copy_from_slice(payload);
        self.out.push_back((packet, 0));
    }

    /// Like [`Stack::queue_ip`] for a transport packet that already sits in
    /// `buf` at `start`, with room in front for the IP header: the header is
    /// written there and `buf` queued as it is.
    pub(super) fn queue_ip_in_place(
        &mut self,
        src: IpAddr,
        dst: IpAddr,
        protocol: IpProtocol,
        mut buf: Vec<u8>,
        start: usize,
    ) {
        if self.out.len() >= MAX_QUEUED_PACKETS {
            self.dropped(DropReason::OutQueueFull, Flow::Ip(src, dst));
            return;
        }
        let hl = Self::ip_header_len(src);
        let len = buf.len().saturating_sub(start);
        if hl + len > self.cfg.mtu || start < hl {
            // Too big for one packet (it leaves as fragments) or no
            // headroom: the copying path.
            self.queue_ip(src, dst, protocol, buf.get(start..).unwrap_or(&[]));
            return;
        }
        let ip_start = start - hl;
        let Some(front) = buf.get_mut(ip_start..) else {
            return;
        };
        if self
            .emit_ip(front, src, dst, protocol, len, Ecn::NotEct)
            .is_none()
        {
            return;
        }
        self.out.push_back((buf, ip_start));
    }

    /// Writes the next packet to send into `buf` (at least the MTU long) and
    /// returns its length; `None` when nothing is waiting.
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<usize> {
        self.last_gso = None;
        match self.cfg.medium {
            crate::config::Medium::Ip => self.poll_ip(now, buf),
            crate::config::Medium::Ethernet(_) => self.ethernet_transmit(now, buf),
        }
    }

    /// [`Stack::poll_transmit`] for a device that splits TCP segments
    /// (`StackConfig::tso_max`; `buf` that long) and completes their
    /// checksums: also, for a TCP segment of a connection, whose checksum
    /// field then holds the pseudo-header sum only, the payload size to
    /// split it at if it is longer (`None`: a whole packet, checksums
    /// done).
    pub fn poll_transmit_gso(
        &mut self,
        now: Instant,
        buf: &mut [u8],
    ) -> Option<(usize, Option<u16>)> {
        let n = self.poll_transmit(now, buf)?;
        Some((n, self.last_gso.take()))
    }

    /// The next IP packet for the device, whatever the medium: packets
    /// to this host itself are taken back in on the way (`loopback.rs`).
    pub(super) fn poll_ip(&mut self, now: Instant, buf: &mut [u8]) -> Option<usize> {
        self.multicast_loop_input(now);
        loop {
            let n = self.poll_ip_any(now, buf)?;
            if !self.loop_back(now, buf.get(..n).unwrap_or(&[])) {
                return Some(n);
            }
        }
    }

    /// The next IP packet, for the device or for this host.
    fn poll_ip_any(&mut self, now: Instant, buf: &mut [u8]) -> Option<usize> {
        if let Some((packet, start)) = self.out.pop_front() {
            let packet = packet.get(start..).unwrap_or(&[]);
            let Some(dst) = buf.get_mut(..packet.len()) else {
                // The caller's buffer is smaller than our MTU: drop it.
                return self.poll_ip_any(now, buf);
            };
            dst.copy_from_slice(packet);
            self.stats.frames_out += 1;
            return Some(packet.len());
        }
        let room = if self.cfg.tcp.tso {
            buf.len().min(self.cfg.tso_max)
        } else {
            buf.len().min(self.cfg.mtu)
        };
        while let Some(&h) = self.dirty.front() {
            if let Some(Socket::TimeWait(tw)) = self.sockets.get_mut(h) {
                let (src, dst) = (tw.conn.local().ip(), tw.conn.remote().ip());
                let hl = Self::ip_header_len(src);
                let n = buf
                    .get_mut(hl..room)
                    .and_then(|tcp| tw.conn.poll_transmit(now, tcp));
                if let Some(n) = n {
                    // A pure ACK, as the full connection's: not
                    // ECN-capable, never split.
                    self.last_gso = None;
                    self.tx_hop_limit = tw.ttl;
                    self.tx_tos = tw.conn.tos();
                    let emitted = self.emit_ip(buf, src, dst, IpProtocol::Tcp, n, Ecn::NotEct);
                    self.tx_hop_limit = None;
                    self.tx_tos = 0;
                    emitted?;
                    self.stats.frames_out += 1;
                    self.after_tcp_change(h);
                    return Some(hl + n);
                }
                self.dirty.pop_front();
                tw.queued = false;
                self.after_tcp_change_no_requeue(h);
                continue;
            }
            let Some(Socket::Tcp(t)) = self.sockets.get_mut(h) else {
                self.dirty.pop_front();
                continue;
            };
            let (src, dst) = (t.conn.local().ip(), t.conn.remote().ip());
            let hl = Self::ip_header_len(src);
            let n = buf
                .get_mut(hl..room)
                .and_then(|tcp| t.conn.poll_transmit(now, tcp));
            match n {
                Some(n) => {
                    self.last_gso = t.conn.take_gso();
                    //= https://www.rfc-editor.org/rfc/rfc3168#section-6.1.2
                    //# the TCP data sender sets an ECT codepoint in the
                    //# IP header of data packets
                    let ecn = if t.conn.take_ect() {
                        Ecn::Ect0
                    } else {
                        Ecn::NotEct
                    };
                    self.tx_hop_limit = t.ttl;
                    self.tx_tos = t.conn.tos();
                    let emitted = self.emit_ip(buf, src, dst, IpProtocol::Tcp, n, ecn);
                    self.tx_hop_limit = None;
                    self.tx_tos = 0;
                    emitted?;
                    self.stats.frames_out += 1;
                    self.after_tcp_change(h);
                    // Nothing more due: off the queue now, rather than at a
                    // next poll that would find nothing.
                    if let Some(Socket::Tcp(t)) = self.sockets.get(h)
                        && t.conn.transmit_done()
                    {
                        self.unqueue_front(h);
                    }
                    return Some(hl + n);
                }
                None => {
                    self.dirty.pop_front();
                    if let Some(Socket::Tcp(t)) = self.sockets.get_mut(h) {
                        t.queued = false;
                    }
                    self.after_tcp_change_no_requeue(h);
                }
            }
        }
        None
    }

    /// Takes `h` off the front of the transmit queue, if it is there.
    fn unqueue_front(&mut self, h: SocketHandle) {
        if self.dirty.front() != Some(&h) {
            return;
        }
        self.dirty.pop_front();
        match self.sockets.get_mut(h) {
            Some(Socket::Tcp(t)) => t.queued = false,
            Some(Socket::TimeWait(tw)) => tw.queued = false,
            _ => {}
        }
    }

    fn after_tcp_change_no_requeue(&mut self, h: crate::handle::SocketHandle) {
        // Events and freeing, without putting the socket back in the queue:
        // it just said it has nothing to send.
        self.after_tcp_change(h);
        let queued = match self.sockets.get_mut(h) {
            Some(Socket::Tcp(t)) => &mut t.queued,
            Some(Socket::TimeWait(tw)) => &mut tw.queued,
            _ => return,
        };
        if *queued && self.dirty.back() == Some(&h) {
            *queued = false;
            self.dirty.pop_back();
        }
    }

    /// Files `h`'s current deadline in the timer heap, if it moved.
    ///
    /// Lazily, as Linux's `sk_reset_timer` users do with a pending timer: an
    /// entry already in the heap that is due no later than the new deadline
    /// stays (a deadline that moved later, or went away, costs nothing now);
    /// when it fires early, [`Stack::handle_timeout`] finds the connection
    /// not due and pushes its real deadline then. Only a deadline earlier
    /// than the entry pushes. In request/response traffic the retransmission
    /// timer moves later at every exchange: this keeps the heap from
    /// filling with entries that are stale before they are popped.
    pub(super) fn reschedule(&mut self, h: SocketHandle) {
        let (at, timer_at) = match self.sockets.get_mut(h) {
            Some(Socket::Tcp(t)) => (t.conn.poll_at(), &mut t.timer_at),
            Some(Socket::TimeWait(tw)) => (tw.conn.poll_at(), &mut tw.timer_at),
            _ => return,
        };
        if file_deadline(&mut self.timers, h, at, timer_at) {
            self.tidy_timers();
        }
    }

    /// Rebuilds the timer heap when stale entries pile up.
    pub(super) fn tidy_timers(&mut self) {
        if self.timers.len() > 2 * self.sockets.len() + 64 {
            self.rebuild_timers();
        }
    }

    /// Drops the stale entries: one per socket with a deadline remains.
    fn rebuild_timers(&mut self) {
        let live: Vec<_> = self
            .sockets
            .handles()
            .filter_map(|h| match self.sockets.get(h) {
                Some(Socket::Tcp(t)) => t.timer_at.map(|at| Reverse((at, h))),
                Some(Socket::TimeWait(tw)) => tw.timer_at.map(|at| Reverse((at, h))),
                _ => None,
            })
            .collect();
        self.timers = BinaryHeap::from(live);
    }

    /// When `handle_timeout` is next due. O(1): the earliest heap entry,
    /// which may be stale (then `handle_timeout` finds nothing to do and
    /// discards it).
    pub fn poll_timeout(&self) -> Option<Instant> {
        let sockets = self.timers.peek().map(|Reverse((at, _))| *at);
        earliest(
            earliest(sockets, self.frag_poll_at()),
            earliest(self.neighbors.poll_at(), self.groups.poll_at()),
        )
    }

    /// Runs every timer due at `now`: O(k log n) for k due entries.
    pub fn handle_timeout(&mut self, now: Instant) {
        // Nothing due (the common case: callers run this at every step).
        if self.poll_timeout().is_none_or(|at| at > now) {
            return;
        }
        self.neighbor_timeout(now);
        self.frag_timeout(now);
        self.membership_timeout(now);
        let mut due = Vec::new();
        while let Some(&Reverse((at, h))) = self.timers.peek() {
            if at > now {
                break;
            }
            self.timers.pop();
            let timer_at = match self.sockets.get_mut(h) {
                Some(Socket::Tcp(t)) => &mut t.timer_at,
                Some(Socket::TimeWait(tw)) => &mut tw.timer_at,
                _ => continue,
            };
            if *timer_at == Some(at) {
                *timer_at = None;
                due.push(h);
            }
        }
        for h in due {
            let fired = match self.sockets.get_mut(h) {
                Some(Socket::Tcp(t)) if t.conn.poll_at().is_some_and(|at| at <= now) => {
                    t.conn.on_timeout(now);
                    true
                }
                Some(Socket::TimeWait(tw)) if tw.conn.poll_at().is_some_and(|at| at <= now) => {
                    tw.conn.on_timeout(now);
                    true
                }
                Some(Socket::Tcp(_) | Socket::TimeWait(_)) => false,
                _ => continue,
            };
            if fired {
                self.after_tcp_change(h);
            } else {
                // Fired early (see `reschedule`): arm the real deadline.
                self.reschedule(h);
            }
        }
    }
}

/// `reschedule`'s rule for one socket whose deadline is now `at` and whose
/// heap entry is `timer_at`: pushes an entry only for a deadline earlier
/// than the one filed. Whether it pushed (the heap may want tidying).
pub(super) fn file_deadline(
    timers: &mut BinaryHeap<Reverse<(Instant, SocketHandle)>>,
    h: SocketHandle,
    at: Option<Instant>,
    timer_at: &mut Option<Instant>,
) -> bool {
    let Some(at) = at else {
        return false;
    };
    if timer_at.is_some_and(|pending| pending <= at) {
        return false;
    }
    *timer_at = Some(at);
    timers.push(Reverse((at, h)));
    true
}
