//! ICMP in the stack: echo replies (RFC 792, RFC 4443 4.2), port
//! unreachable for UDP to a closed port, Time Exceeded for a datagram whose
//! reassembly timed out, ICMPv6 Parameter Problem for a packet RFC 8200 says
//! to discard (RFC 4443 3.4, RFC 7112), ICMP errors handed to the TCP
//! connection they quote (RFC 1122 4.2.3.9, RFC 1191, RFC 8201), all output
//! rate-limited with a token bucket like Linux's `icmp_global_allow`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::drops::{DropReason, Flow};
use super::unreachable::Unreachable;
use super::{Socket, Stack};
use crate::demux::TcpTarget;
use crate::time::Instant;
use crate::wire::{
    ChecksumCaps, Icmpv4DstUnreachable, Icmpv4Packet, Icmpv4Repr, Icmpv4TimeExceeded,
    Icmpv6DstUnreachable, Icmpv6Message, Icmpv6Packet, Icmpv6ParamProblem, Icmpv6Repr,
    Icmpv6TimeExceeded, IpProtocol, Ipv4Packet, Ipv4Repr, Ipv6Discard, Ipv6DiscardReason,
    Ipv6Packet, Ipv6Repr,
};

/// How much of the offending datagram an ICMPv4 error quotes: RFC 1812
/// 4.3.2.3 keeps the whole error within 576 bytes.
const ICMPV4_QUOTE: usize = 576 - 20 - 8 - 20;

/// RFC 8200 section 5: "IPv6 requires that every link in the Internet have
/// an MTU of 1280 octets or greater."
const IPV6_MIN_MTU: u32 = 1280;

/// What an ICMP error says about a packet of ours.
#[derive(Debug, Clone, Copy)]
enum Quoted {
    /// The path's MTU, as the MSS that fits it.
    PathMtu(u16),
    /// The destination cannot be reached.
    Unreachable(Unreachable),
}

/// An ICMPv6 error the stack sends about a packet it received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Icmpv6Error {
    /// Parameter Problem: the code and the Pointer.
    ParamProblem(Icmpv6ParamProblem, u32),
    /// Time Exceeded, code 1: fragment reassembly time exceeded.
    FragTimeExceeded,
}

impl Stack {
    /// Takes a token from the ICMP bucket, refilled at `icmp_rate` per second.
    pub(super) fn icmp_allowed(&mut self, now: Instant) -> bool {
        if self.rx_loopback {
            // An answer to ourselves costs the network nothing (Linux
            // exempts loopback: icmpv4_xrlim_allow).
            return true;
        }
        let elapsed = now.saturating_duration_since(self.icmp.last);
        let refill =
            (elapsed.as_micros() as u64).saturating_mul(u64::from(self.cfg.icmp_rate)) / 1_000_000;
        if refill > 0 {
            let tokens = u64::from(self.icmp.tokens)
                .saturating_add(refill)
                .min(u64::from(self.cfg.icmp_burst));
            self.icmp.tokens = u32::try_from(tokens).unwrap_or(u32::MAX);
            self.icmp.last = now;
        }
        if self.icmp.tokens == 0 {
            self.dropped(DropReason::IcmpRateLimited, Flow::Unknown);
            return false;
        }
        self.icmp.tokens -= 1;
        true
    }

    /// Whether an echo request to `dst` is answered: ours, or (with
    /// `transparent_echo`, while a transparent socket exists) any unicast
    /// host's.
    fn answers_echo(&self, dst: IpAddr) -> bool {
        self.is_local(dst)
            || (self.cfg.transparent_echo
                && self.ports.has_transparent()
                && Self::transparent_dst_ok(dst))
    }

    pub(super) fn icmpv4_input(&mut self, now: Instant, src: IpAddr, dst: IpAddr, bytes: &[u8]) {
        let (IpAddr::V4(src4), IpAddr::V4(dst4)) = (src, dst) else {
            return;
        };
        let Ok(packet) = Icmpv4Packet::new_checked(bytes) else {
            self.dropped(DropReason::IcmpMalformed, Flow::Ip(src, dst));
            return;
        };
        let Ok(repr) = Icmpv4Repr::parse(&packet, ChecksumCaps::FULL) else {
            self.dropped(DropReason::IcmpMalformed, Flow::Ip(src, dst));
            return;
        };
        match repr {
            Icmpv4Repr::EchoRequest {
                ident,
                seq_no,
                data,
            } => {
                // Our own addresses answer pings; another host's only when
                // `transparent_echo` says a transparent socket stands in for
                // ICMP echo too.
                if !self.is_local(dst) && self.deliver_echo(src, dst, ident, seq_no, data) {
                    return;
                }
                if !self.answers_echo(dst) {
                    self.dropped(DropReason::NotForUs, Flow::Ip(src, dst));
                    return;
                }
                if !self.icmp_allowed(now) {
                    return;
                }
                let reply = Icmpv4Repr::EchoReply {
                    ident,
                    seq_no,
                    data,
                };
                self.send_icmpv4(dst4, src4, &reply);
                self.stats.echo_replies += 1;
            }
            Icmpv4Repr::DstUnreachable {
                reason,
                next_hop_mtu,
                header,
                data,
            } => {
                let what = if reason == Icmpv4DstUnreachable::FragRequired {
                    let mss = next_hop_mtu.saturating_sub(40);
                    (mss >= 88).then_some(Quoted::PathMtu(mss))
                } else {
                    Unreachable::v4(reason).map(Quoted::Unreachable)
                };
                let (from, to) = (IpAddr::V4(header.src_addr), IpAddr::V4(header.dst_addr));
                if let Some(what) = what {
                    self.icmp_error_input(header.next_header, from, to, data, what);
                } else {
                    self.stats.icmp_errors_received += 1;
                    self.dropped(DropReason::IcmpErrorUnknown, Flow::Ip(from, to));
                }
            }
            _ => {}
        }
    }

    pub(super) fn icmpv6_input(
        &mut self,
        now: Instant,
        src: IpAddr,
        dst: IpAddr,
        bytes: &[u8],
        frame: &[u8],
    ) {
        let (IpAddr::V6(src6), IpAddr::V6(dst6)) = (src, dst) else {
            return;
        };
        let hop_limit = frame.get(7).copied().unwrap_or(0);
        if crate::wire::icmpv6::mld::is_mld(IpProtocol::Icmpv6, bytes) {
            let router_alert = Ipv6Packet::new_checked(frame)
                .ok()
                .and_then(|p| p.router_alert());
            self.mld_input(now, src6, dst6, bytes, hop_limit, router_alert);
            return;
        }
        let Ok(packet) = Icmpv6Packet::new_checked(bytes) else {
            self.dropped(DropReason::IcmpMalformed, Flow::Ip(src, dst));
            return;
        };
        let Ok(repr) = Icmpv6Repr::parse(&packet, src6, dst6, ChecksumCaps::FULL) else {
            self.dropped(DropReason::IcmpMalformed, Flow::Ip(src, dst));
            return;
        };
        match repr {
            Icmpv6Repr::EchoRequest {
                ident,
                seq_no,
                data,
            } => {
                if !self.is_local(dst) && self.deliver_echo(src, dst, ident, seq_no, data) {
                    return;
                }
                if !self.answers_echo(dst) {
                    self.dropped(DropReason::NotForUs, Flow::Ip(src, dst));
                    return;
                }
                if !self.icmp_allowed(now) {
                    return;
                }
                let reply = Icmpv6Repr::EchoReply {
                    ident,
                    seq_no,
                    data,
                };
                self.send_icmpv6(dst6, src6, &reply);
                self.stats.echo_replies += 1;
            }
            Icmpv6Repr::DstUnreachable { header, data, .. }
            | Icmpv6Repr::PktTooBig { header, data, .. } => {
                let what = match repr {
                    //= https://www.rfc-editor.org/rfc/rfc8201#section-4
                    //# A
                    //# node must not reduce its estimate of the Path MTU below the IPv6
                    //# minimum link MTU on receipt of a Packet Too Big message.
                    // Linux clamps a smaller report to 1280 rather than
                    // ignore it, and so does berth: the MSS goes to 1220, and
                    // TCP is never fragmented (RFC 8021).
                    Icmpv6Repr::PktTooBig { mtu, .. } => Some(Quoted::PathMtu(
                        u16::try_from(mtu.max(IPV6_MIN_MTU) - 60).unwrap_or(u16::MAX),
                    )),
                    Icmpv6Repr::DstUnreachable { reason, .. } => {
                        Unreachable::v6(reason).map(Quoted::Unreachable)
                    }
                    _ => None,
                };
                let (from, to) = (IpAddr::V6(header.src_addr), IpAddr::V6(header.dst_addr));
                if let Some(what) = what {
                    self.icmp_error_input(header.next_header, from, to, data, what);
                } else {
                    self.stats.icmp_errors_received += 1;
                    self.dropped(DropReason::IcmpErrorUnknown, Flow::Ip(from, to));
                }
            }
            Icmpv6Repr::NeighborSolicit { .. } | Icmpv6Repr::NeighborAdvert { .. } => {
                self.ndp_input(now, src6, hop_limit, &repr);
            }
            _ => {}
        }
    }

    /// An ICMP error quoting a packet of ours from `from` to `to`: the
    /// quoted ports (the first 4 bytes after the IP header, all an error
    /// must carry, RFC 792) name the TCP connection or UDP socket it
    /// concerns.
    fn icmp_error_input(
        &mut self,
        protocol: IpProtocol,
        from: IpAddr,
        to: IpAddr,
        data: &[u8],
        what: Quoted,
    ) {
        self.stats.icmp_errors_received += 1;
        // RFC 792 guarantees the first 8 bytes: the ports and the sequence number.
        let Some(&[l0, l1, r0, r1, s0, s1, s2, s3]) = data.get(..8) else {
            self.dropped(DropReason::IcmpErrorTruncated, Flow::Ip(from, to));
            return;
        };
        let local = SocketAddr::new(from, u16::from_be_bytes([l0, l1]));
        let remote = SocketAddr::new(to, u16::from_be_bytes([r0, r1]));
        tracing::debug!(%local, %remote, ?protocol, error = ?what, "ICMP error received");
        if !self.rx_loopback && (from.is_loopback() || self.is_local(to)) {
            // About a packet that never left this host: forged.
            self.dropped(DropReason::IcmpErrorForged, Flow::Ports { local, remote });
            return;
        }
        match (protocol, what) {
            (IpProtocol::Tcp, _) => {
                let seq = crate::tcp::seq::SeqNum::new(u32::from_be_bytes([s0, s1, s2, s3]));
                self.tcp_icmp_error(local, remote, seq, what);
            }
            (IpProtocol::Udp, Quoted::Unreachable(u)) if u.hard => {
                self.udp_icmp_error(local, remote, super::tcp::map_conn_error(u.error));
            }
            // A soft error or a path MTU for UDP (whose sender sizes its
            // own datagrams), or another protocol's.
            _ => self.dropped(DropReason::IcmpErrorUnknown, Flow::Ports { local, remote }),
        }
    }

    /// An ICMP error quoting a segment of ours from `local` to `remote`.
    fn tcp_icmp_error(
        &mut self,
        local: SocketAddr,
        remote: SocketAddr,
        seq: crate::tcp::seq::SeqNum,
        what: Quoted,
    ) {
        let TcpTarget::Connection(h) = self.ports.lookup_tcp(local, remote) else {
            self.dropped(DropReason::IcmpErrorNoSocket, Flow::Ports { local, remote });
            return;
        };
        if let Some(Socket::TimeWait(tw)) = self.sockets.get(h)
            && !tw.conn.icmp_seq_acceptable(seq)
        {
            // Nothing is in flight in TIME-WAIT: never about ours.
            self.dropped(
                DropReason::IcmpErrorOutOfWindow,
                Flow::Ports { local, remote },
            );
            return;
        }
        if let Some(Socket::Tcp(t)) = self.sockets.get_mut(h) {
            if !t.conn.icmp_seq_acceptable(seq) {
                self.dropped(
                    DropReason::IcmpErrorOutOfWindow,
                    Flow::Ports { local, remote },
                );
                return;
            }
            match what {
                Quoted::PathMtu(mss) => t.conn.on_path_mtu(mss),
                Quoted::Unreachable(u) => t.conn.on_icmp_unreachable(u.error),
            }
        }
        self.after_tcp_change(h);
    }

    /// Port unreachable for a UDP datagram nobody wanted (never in answer to
    /// a multicast or broadcast, RFC 1122 3.2.2).
    pub(super) fn port_unreachable(
        &mut self,
        now: Instant,
        src: IpAddr,
        dst: IpAddr,
        frame: &[u8],
    ) {
        self.dst_unreachable(now, src, dst, frame, Icmpv4DstUnreachable::PortUnreachable);
    }

    /// Protocol unreachable for an IPv4 datagram of a protocol we do not
    /// speak.
    //= https://www.rfc-editor.org/rfc/rfc1122#section-3.2.2.1
    //# A host SHOULD generate Destination Unreachable messages with code:
    //#
    //#      2 (Protocol Unreachable), when the designated transport
    //#        protocol is not supported; or
    pub(super) fn protocol_unreachable(
        &mut self,
        now: Instant,
        src: IpAddr,
        dst: IpAddr,
        frame: &[u8],
    ) {
        if src.is_ipv4() {
            self.dst_unreachable(now, src, dst, frame, Icmpv4DstUnreachable::ProtoUnreachable);
        }
    }

    /// Destination unreachable (`reason` for IPv4; IPv6 has only port
    /// unreachable here) about `frame`, from `dst` back to `src`, never in
    /// answer to a multicast or broadcast (RFC 1122 3.2.2).
    fn dst_unreachable(
        &mut self,
        now: Instant,
        src: IpAddr,
        dst: IpAddr,
        frame: &[u8],
        reason: Icmpv4DstUnreachable,
    ) {
        if dst.is_multicast()
            || src.is_multicast()
            || src.is_unspecified()
            || !self.icmp_allowed(now)
        {
            return;
        }
        self.stats.icmp_errors_sent += 1;
        match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                let Ok(packet) = Ipv4Packet::new_checked(frame) else {
                    return;
                };
                let Ok(header) = Ipv4Repr::parse_quoted(&packet) else {
                    return;
                };
                let data = packet.payload();
                let data = &data[..data.len().min(ICMPV4_QUOTE)];
                let repr = Icmpv4Repr::DstUnreachable {
                    reason,
                    next_hop_mtu: 0,
                    header,
                    data,
                };
                self.send_icmpv4(d, s, &repr);
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                let Ok(packet) = Ipv6Packet::new_checked(frame) else {
                    return;
                };
                let header = Ipv6Repr::from_fixed_header(&packet);
                let data = packet.payload();
                let data = &data[..data.len().min(crate::wire::icmpv6::MAX_ERROR_DATA_LEN)];
                let repr = Icmpv6Repr::DstUnreachable {
                    reason: Icmpv6DstUnreachable::PortUnreachable,
                    header,
                    data,
                };
                self.send_icmpv6(d, s, &repr);
            }
            _ => {}
        }
    }

    /// Reassembly of a datagram whose first fragment we hold timed out.
    pub(super) fn frag_time_exceeded(&mut self, now: Instant, header: &Ipv4Repr, data: &[u8]) {
        //= https://www.rfc-editor.org/rfc/rfc792#page-6
        //# If a host reassembling a fragmented datagram cannot complete the
        //# reassembly due to missing fragments within its time limit it
        //# discards the datagram, and it may send a time exceeded message.
        //#
        //# If fragment zero is not available then no time exceeded need be
        //# sent at all.
        // The caller only asks with fragment zero in hand (Linux
        // ip_expire does the same).
        let (src, dst) = (header.src_addr, header.dst_addr);
        if src.is_multicast() || src.is_unspecified() || src.is_broadcast() {
            return;
        }
        if !self.icmp_allowed(now) {
            return;
        }
        self.stats.icmp_errors_sent += 1;
        let data = &data[..data.len().min(ICMPV4_QUOTE)];
        let repr = Icmpv4Repr::TimeExceeded {
            reason: Icmpv4TimeExceeded::FragExpired,
            header: *header,
            data,
        };
        self.send_icmpv4(dst, src, &repr);
    }

    /// A packet the IPv6 walk says to discard (RFC 8200 sections 4.2, 4.4,
    /// 4.5): counted, and answered with a Parameter Problem where RFC 4443
    /// allows.
    pub(super) fn ipv6_discard(&mut self, now: Instant, frame: &[u8], discard: Ipv6Discard) {
        let packet = Ipv6Packet::new_checked(frame).ok();
        let flow = packet.as_ref().map_or(Flow::Unknown, |p| {
            Flow::Ip(IpAddr::V6(p.src_addr()), IpAddr::V6(p.dst_addr()))
        });
        match discard.reason {
            Ipv6DiscardReason::FragmentLength
            | Ipv6DiscardReason::FragmentBeyondMaxLength
            | Ipv6DiscardReason::IncompleteHeaderChain => {
                self.stats.frag_in += 1;
                self.dropped(DropReason::FragMalformed, flow);
            }
            _ => self.dropped(DropReason::IpMalformed, flow),
        }
        let Some(packet) = packet else {
            return;
        };
        if discard.should_report(packet.dst_addr()) {
            let problem = Icmpv6Error::ParamProblem(discard.reason.into(), discard.pointer);
            self.icmpv6_error(now, frame, problem);
        }
    }

    /// Sends `error` about `invoking`, an IPv6 packet we received, to its
    /// source, unless RFC 4443 2.4 (e) forbids it or the rate limit says no.
    /// It quotes as much of the packet as fits in the minimum MTU.
    pub(super) fn icmpv6_error(&mut self, now: Instant, invoking: &[u8], error: Icmpv6Error) {
        let Ok(packet) = Ipv6Packet::new_checked(invoking) else {
            return;
        };
        let (src, dst) = (packet.src_addr(), packet.dst_addr());
        // Only from an address of ours: not for a transparent socket's.
        if !self.is_local(IpAddr::V6(dst)) {
            return;
        }
        //= https://www.rfc-editor.org/rfc/rfc4443#section-2.4
        //# (e.1) An ICMPv6 error message.
        //= https://www.rfc-editor.org/rfc/rfc4443#section-2.4
        //# (e.2) An ICMPv6 redirect message [IPv6-DISC].
        // The walk to the upper layer stops at the data of a later fragment,
        // which shows no message type (Linux's is_ineligible alike).
        let is_error_or_redirect = Ipv6Repr::parse_quoted(invoking).is_ok_and(|(ip, data)| {
            ip.next_header == IpProtocol::Icmpv6
                && data.first().is_some_and(|&kind| {
                    let kind = Icmpv6Message::from(kind);
                    kind.is_error() || kind == Icmpv6Message::Redirect
                })
        });
        //= https://www.rfc-editor.org/rfc/rfc4443#section-2.4
        //# (e.3) A packet destined to an IPv6 multicast address.
        // The exception for an unrecognised option is the caller's
        // (Discard::should_report).
        let multicast_ok = matches!(
            error,
            Icmpv6Error::ParamProblem(Icmpv6ParamProblem::UnrecognizedOption, _)
        );
        // And (e.6): a source that names no single node.
        if is_error_or_redirect
            || (dst.is_multicast() && !multicast_ok)
            || src.is_multicast()
            || src.is_unspecified()
            || !self.icmp_allowed(now)
        {
            return;
        }
        self.stats.icmp_errors_sent += 1;
        let header = Ipv6Repr::from_fixed_header(&packet);
        let data = packet.payload();
        let data = &data[..data.len().min(crate::wire::icmpv6::MAX_ERROR_DATA_LEN)];
        let repr = match error {
            Icmpv6Error::ParamProblem(reason, pointer) => Icmpv6Repr::ParamProblem {
                reason,
                pointer,
                header,
                data,
            },
            Icmpv6Error::FragTimeExceeded => Icmpv6Repr::TimeExceeded {
                reason: Icmpv6TimeExceeded::FragReassemblyExceeded,
                header,
                data,
            },
        };
        self.send_icmpv6(dst, src, &repr);
    }

    pub(super) fn send_icmpv4(&mut self, src: Ipv4Addr, dst: Ipv4Addr, repr: &Icmpv4Repr<'_>) {
        let mut msg = vec![0u8; repr.buffer_len()];
        repr.emit(&mut Icmpv4Packet::new_unchecked(&mut msg[..]));
        self.queue_ip(IpAddr::V4(src), IpAddr::V4(dst), IpProtocol::Icmp, &msg);
    }

    pub(super) fn send_icmpv6(&mut self, src: Ipv6Addr, dst: Ipv6Addr, repr: &Icmpv6Repr<'_>) {
        let mut msg = vec![0u8; repr.buffer_len()];
        repr.emit(
            &mut Icmpv6Packet::new_unchecked(&mut msg[..]),
            src,
            dst,
            ChecksumCaps::FULL,
        );
        self.queue_ip(IpAddr::V6(src), IpAddr::V6(dst), IpProtocol::Icmpv6, &msg);
    }
}
