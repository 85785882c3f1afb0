//! Deferred handshakes: a listener that holds each SYN until the
//! application decides what the client is told, as a proxy needs (gVisor's
//! `tcp.Forwarder`, the tun2socks pattern). The application takes a held
//! SYN ([`Stack::tcp_take_syn`]), tries the upstream, then either completes
//! the handshake ([`Stack::tcp_complete_syn`]: the SYN-ACK goes out only
//! now) or refuses it ([`Stack::tcp_refuse_syn`]: a RST, as a closed port
//! answers, or an ICMP Destination Unreachable, as a router without a route
//! does). So a client never sees a connection succeed that its proxy could
//! not make.
//!
//! Held SYNs count against the listener's backlog like half-open
//! connections; beyond it a SYN is dropped (no SYN cookie: a cookie would
//! answer before the application decides). A retransmitted SYN for a held
//! one is dropped; a SYN with another sequence number (a new connection on
//! the same 4-tuple) replaces it.

use std::collections::{BTreeMap, VecDeque};
use std::net::{IpAddr, SocketAddr};

use super::drops::{DropReason, Flow};
use super::{Readiness, Socket, SocketError, Stack};
use crate::handle::SocketHandle;
use crate::tcp::segment::reset_for;
use crate::tcp::seq::SeqNum;
use crate::tcp::{Connection, Segment};
use crate::time::Instant;
use crate::wire::tcp_option::MAX_SACK_BLOCKS;
use crate::wire::{
    Ecn, Icmpv4DstUnreachable, Icmpv4Repr, Icmpv6DstUnreachable, Icmpv6Repr, IpProtocol, Ipv4Repr,
    Ipv6Repr,
};

/// How a held SYN is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SynRefusal {
    /// A RST, as a host answers a SYN to a closed port: the client's
    /// connect fails with "connection refused".
    Reset,
    /// ICMP network unreachable (IPv6: no route to destination).
    NetUnreachable,
    /// ICMP host unreachable (IPv6: address unreachable).
    HostUnreachable,
    /// ICMP communication administratively prohibited.
    Prohibited,
    /// No answer: the SYN is forgotten as if it had been lost, and the
    /// client's retransmission comes back as a new request (to shed load
    /// without telling the client no).
    Silent,
}

/// A held SYN, as the application sees it: who dialled where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SynRequest {
    /// The destination the client dialled (for a transparent listener,
    /// any address).
    pub local: SocketAddr,
    /// The client.
    pub remote: SocketAddr,
}

/// A SYN a deferring listener holds: the header fields a connection is
/// made from (its payload, if any, is not kept: data on a SYN is only
/// ever acknowledged after the handshake, RFC 9293 3.10.7.2, and the
/// client sends it again).
#[derive(Debug, Clone)]
struct HeldSyn {
    seg: Segment<'static>,
    /// The application has taken it and owes a decision.
    taken: bool,
}

/// The SYNs a deferring listener holds.
#[derive(Debug, Default)]
pub(super) struct Held {
    /// By (remote, local): ordered, so nothing depends on a hasher.
    syns: BTreeMap<(SocketAddr, SocketAddr), HeldSyn>,
    /// Not yet taken, oldest first (entries may be stale: checked on take).
    untaken: VecDeque<(SocketAddr, SocketAddr)>,
}

impl Held {
    /// How many SYNs wait for a decision, taken or not.
    pub(super) fn len(&self) -> usize {
        self.syns.len()
    }
}

fn without_payload(seg: &Segment<'_>) -> Segment<'static> {
    Segment {
        seq: seg.seq,
        ack: seg.ack,
        flags: seg.flags,
        wnd: seg.wnd,
        mss: seg.mss,
        window_scale: seg.window_scale,
        sack_permitted: seg.sack_permitted,
        sack_blocks: [None; MAX_SACK_BLOCKS],
        timestamp: seg.timestamp,
        ce: seg.ce,
        payload: &[],
    }
}

impl Stack {
    /// Makes `listener` hold each SYN until the application completes or
    /// refuses it (`on`), or answer SYNs itself as usual. SYNs already
    /// held still wait for their decision.
    pub fn tcp_set_defer_handshake(
        &mut self,
        listener: SocketHandle,
        on: bool,
    ) -> Result<(), SocketError> {
        match self.sockets.get_mut(listener) {
            Some(Socket::Listener(l)) => {
                l.defer = on;
                Ok(())
            }
            _ => Err(SocketError::InvalidHandle),
        }
    }

    /// The next SYN `listener` holds that the application has not taken
    /// yet; the application owes it a [`Stack::tcp_complete_syn`] or a
    /// [`Stack::tcp_refuse_syn`] (until then, the client's retransmissions
    /// are dropped).
    pub fn tcp_take_syn(
        &mut self,
        listener: SocketHandle,
    ) -> Result<Option<SynRequest>, SocketError> {
        let Some(Socket::Listener(l)) = self.sockets.get_mut(listener) else {
            return Err(SocketError::InvalidHandle);
        };
        while let Some(key) = l.held.untaken.pop_front() {
            if let Some(syn) = l.held.syns.get_mut(&key)
                && !syn.taken
            {
                syn.taken = true;
                return Ok(Some(SynRequest {
                    local: key.1,
                    remote: key.0,
                }));
            }
        }
        Ok(None)
    }

    /// Completes the handshake of a held SYN: the SYN-ACK goes out now, and
    /// the connection (in SYN-RECEIVED until the client's ACK) belongs to
    /// the application at once, as an accepted one would. Fails with
    /// `InvalidInput` if `listener` holds no such SYN, `LimitReached` if the
    /// stack's limits refuse a new connection now (the SYN is forgotten;
    /// the client's next retransmission is held again).
    pub fn tcp_complete_syn(
        &mut self,
        now: Instant,
        listener: SocketHandle,
        req: SynRequest,
    ) -> Result<SocketHandle, SocketError> {
        let syn = self.release_syn(listener, req)?;
        let (local, remote) = (req.local, req.remote);
        self.admit(Some(listener), Flow::Ports { local, remote })?;
        let iss = SeqNum::new(self.isn.generate(now, local, remote));
        let ts_offset = self.cookies.ts_offset(local, remote);
        let cfg = self.tcp_config_for(remote.ip(), &self.listener_options(listener));
        let conn = Connection::accept(now, cfg, local, remote, &syn.seg, iss, ts_offset);
        let h = self.insert_conn(conn, Some(listener), true);
        if let Some(Socket::Tcp(t)) = self.sockets.get_mut(h) {
            // Not in the listener's queues: the application holds it.
            t.listener = None;
        }
        if let Some(Socket::Listener(l)) = self.sockets.get_mut(listener)
            && l.transparent
        {
            self.transparent.tcp_opened += 1;
        }
        self.mark_dirty(h);
        Ok(h)
    }

    /// Refuses a held SYN: the client is told as `how` says.
    pub fn tcp_refuse_syn(
        &mut self,
        now: Instant,
        listener: SocketHandle,
        req: SynRequest,
        how: SynRefusal,
    ) -> Result<(), SocketError> {
        let syn = self.release_syn(listener, req)?;
        if how != SynRefusal::Silent {
            self.transparent.syn_refused += 1;
        }
        self.refuse(now, req, &syn.seg, how);
        Ok(())
    }

    /// Takes a held SYN out of `listener`'s table.
    fn release_syn(
        &mut self,
        listener: SocketHandle,
        req: SynRequest,
    ) -> Result<HeldSyn, SocketError> {
        let Some(Socket::Listener(l)) = self.sockets.get_mut(listener) else {
            return Err(SocketError::InvalidHandle);
        };
        l.held
            .syns
            .remove(&(req.remote, req.local))
            .ok_or(SocketError::InvalidInput)
    }

    /// A SYN to a deferring listener (already checked as a listener checks
    /// any SYN): held, or dropped.
    pub(super) fn hold_syn(
        &mut self,
        lh: SocketHandle,
        local: SocketAddr,
        remote: SocketAddr,
        seg: &Segment<'_>,
    ) {
        let flow = Flow::Ports { local, remote };
        let Some(Socket::Listener(l)) = self.sockets.get_mut(lh) else {
            return;
        };
        let key = (remote, local);
        if let Some(held) = l.held.syns.get_mut(&key) {
            if held.seg.seq == seg.seq {
                self.dropped(DropReason::SynHeld, flow);
            } else {
                // The client gave up on the first and dials again from the
                // same port: the decision to come answers this one.
                held.seg = without_payload(seg);
            }
            return;
        }
        if l.held.len() + l.syn_queue >= l.backlog {
            self.dropped(DropReason::SynQueueFull, flow);
            return;
        }
        l.held.syns.insert(
            key,
            HeldSyn {
                seg: without_payload(seg),
                taken: false,
            },
        );
        l.held.untaken.push_back(key);
        self.transparent.syn_held += 1;
        self.push_event(lh, Readiness::ACCEPTABLE);
    }

    /// A closing listener's held SYNs are refused with a RST: nobody is
    /// left to decide.
    pub(super) fn refuse_all_held(&mut self, now: Instant, held: Held) {
        for ((remote, local), syn) in held.syns {
            self.refuse(
                now,
                SynRequest { local, remote },
                &syn.seg,
                SynRefusal::Reset,
            );
        }
    }

    fn refuse(&mut self, now: Instant, req: SynRequest, syn: &Segment<'_>, how: SynRefusal) {
        let (local, remote) = (req.local, req.remote);
        let code = match how {
            SynRefusal::Silent => return,
            SynRefusal::Reset => {
                //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.1
                //# If the ACK bit is off, sequence number zero is used,
                //#
                //# <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>
                self.send_reset(local, remote, reset_for(syn));
                return;
            }
            SynRefusal::NetUnreachable => (
                Icmpv4DstUnreachable::NetUnreachable,
                Icmpv6DstUnreachable::NoRoute,
            ),
            SynRefusal::HostUnreachable => (
                Icmpv4DstUnreachable::HostUnreachable,
                Icmpv6DstUnreachable::AddrUnreachable,
            ),
            SynRefusal::Prohibited => (
                Icmpv4DstUnreachable::AdminProhibited,
                Icmpv6DstUnreachable::AdminProhibit,
            ),
        };
        if !self.icmp_allowed(now) {
            return;
        }
        // The error quotes the SYN's IP header and the first eight octets of
        // its TCP header (ports and sequence number): what the client's
        // stack matches the error to its connection by.
        //= https://www.rfc-editor.org/rfc/rfc792#page-4
        //# Internet Header + 64 bits of Data Datagram
        //#
        //#   The internet header plus the first 64 bits of the original
        //#   datagram's data.  This data is used by the host to match the
        //#   message to the appropriate process.
        let mut quote = [0u8; 8];
        quote[..2].copy_from_slice(&remote.port().to_be_bytes());
        quote[2..4].copy_from_slice(&local.port().to_be_bytes());
        quote[4..].copy_from_slice(&syn.seq.get().to_be_bytes());
        // From this host's own address of the family (the router that has
        // no way on), else from the destination itself.
        let from = self.source_for(remote.ip()).unwrap_or(local.ip());
        self.stats.icmp_errors_sent += 1;
        match (local.ip(), remote.ip(), from) {
            (IpAddr::V4(dst), IpAddr::V4(src), IpAddr::V4(from)) => {
                let header = Ipv4Repr {
                    src_addr: src,
                    dst_addr: dst,
                    next_header: IpProtocol::Tcp,
                    payload_len: 20,
                    hop_limit: 64,
                    dscp: 0,
                    ecn: Ecn::NotEct,
                    ident: 0,
                    dont_frag: true,
                    more_frags: false,
                    frag_offset: 0,
                };
                let repr = Icmpv4Repr::DstUnreachable {
                    reason: code.0,
                    next_hop_mtu: 0,
                    header,
                    data: &quote,
                };
                self.send_icmpv4(from, src, &repr);
            }
            (IpAddr::V6(dst), IpAddr::V6(src), IpAddr::V6(from)) => {
                let header = Ipv6Repr {
                    src_addr: src,
                    dst_addr: dst,
                    next_header: IpProtocol::Tcp,
                    payload_len: 20,
                    hop_limit: 64,
                    traffic_class: 0,
                    flow_label: 0,
                };
                let repr = Icmpv6Repr::DstUnreachable {
                    reason: code.1,
                    header,
                    data: &quote,
                };
                self.send_icmpv6(from, src, &repr);
            }
            _ => {}
        }
    }
}
