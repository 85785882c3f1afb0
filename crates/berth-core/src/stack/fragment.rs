//! Fragments in the stack. On the way in, IPv4 (RFC 791 section 3.2) and
//! IPv6 (RFC 8200 section 4.5, RFC 7112) fragments go to their family's
//! reassembler ([`crate::frag`]), the datagram they complete goes through the
//! input again as if it had arrived whole, and one that times out draws a
//! Time Exceeded. On the way out, an IPv4 or IPv6 datagram bigger than the
//! MTU leaves as fragments; TCP never gets there (it sizes its segments).

use std::hash::Hasher;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use siphasher::sip::SipHasher13;

use super::Stack;
use super::drops::{DropReason, Flow};
use super::icmp::Icmpv6Error;
use crate::frag::ipv6::{Ipv6Head, Ipv6Key};
use crate::frag::{FragOutcome, Fragment, IPV6_MAX_PAYLOAD, Ipv4Key, Reassembled};
use crate::time::{Instant, earliest};
use crate::wire::{
    Ecn, Icmpv6ParamProblem, IpProtocol, Ipv4Packet, Ipv4Repr, Ipv6ExtensionsWalk,
    Ipv6FragmentHeader, Ipv6Packet, Ipv6Repr, icmpv6, ipv4, ipv6, tcp, udp,
};

/// How much of a first fragment's upper-layer header must be in it, as
/// Linux asks (`ipv6frag_thdr_truncated`): TCP's, UDP's and ICMPv6's fixed
/// headers, one octet of anything else, nothing after No Next Header.
fn upper_header_len(protocol: IpProtocol) -> usize {
    match protocol {
        IpProtocol::Tcp => tcp::HEADER_LEN,
        IpProtocol::Udp => udp::HEADER_LEN,
        IpProtocol::Icmpv6 => icmpv6::HEADER_LEN,
        IpProtocol::Ipv6NoNxt => 0,
        _ => 1,
    }
}

impl Stack {
    /// Counts what became of a fragment of `flow`; the datagram it
    /// completed, if any.
    fn frag_outcome<H>(&mut self, outcome: FragOutcome<H>, flow: Flow) -> Option<Reassembled<H>> {
        let reason = match outcome {
            FragOutcome::Pending => return None,
            FragOutcome::Complete(done) => return Some(done),
            FragOutcome::Duplicate => DropReason::FragDuplicate,
            FragOutcome::Overlap => DropReason::FragOverlap,
            FragOutcome::NoMemory => DropReason::FragNoMemory,
            FragOutcome::TooMany => DropReason::FragTooMany,
            FragOutcome::Malformed => DropReason::FragMalformed,
        };
        self.dropped(reason, flow);
        None
    }

    /// RFC 791 3.2: an IPv4 fragment goes to reassembly; a completed datagram
    /// goes through the transport input like any other.
    pub(super) fn ipv4_fragment_input(&mut self, now: Instant, ip: &Ipv4Repr, payload: &[u8]) {
        // The other pieces came in frames nobody vouched for.
        self.rx_csum_trusted = false;
        self.stats.frag_in += 1;
        let key = Ipv4Key {
            src: ip.src_addr,
            dst: ip.dst_addr,
            protocol: ip.next_header,
            ident: ip.ident,
        };
        let fragment = Fragment {
            offset: usize::from(ip.frag_offset),
            more: ip.more_frags,
            data: payload,
        };
        let outcome = self.frag4.input(now, key, fragment, Some(*ip));
        let flow = Flow::Ip(IpAddr::V4(ip.src_addr), IpAddr::V4(ip.dst_addr));
        let Some(Reassembled { head, payload }) = self.frag_outcome(outcome, flow) else {
            return;
        };
        self.stats.frag_reassembled += 1;
        // The datagram as if it had arrived whole, under its first
        // fragment's header (RFC 791 3.2 keeps that one): an ICMP error
        // about it quotes this header.
        let repr = Ipv4Repr {
            payload_len: payload.len(),
            more_frags: false,
            frag_offset: 0,
            ..head
        };
        let mut frame = vec![0u8; repr.buffer_len()];
        let Some(header) = frame.get_mut(..20) else {
            return;
        };
        repr.emit(&mut Ipv4Packet::new_unchecked(header));
        if let Some(body) = frame.get_mut(20..) {
            body.copy_from_slice(&payload);
        }
        let (src, dst) = (IpAddr::V4(repr.src_addr), IpAddr::V4(repr.dst_addr));
        self.transport_input(now, repr.next_header, src, dst, &payload, &frame);
    }

    /// RFC 8200 4.5: a fragment that is not atomic goes to reassembly; the
    /// packet it completes, rebuilt, goes through the IPv6 input again, so
    /// the headers after the Fragment header are walked as in any packet.
    pub(super) fn ipv6_fragment_input(
        &mut self,
        now: Instant,
        packet: &Ipv6Packet<&[u8]>,
        walk: &Ipv6ExtensionsWalk,
        fragment: &Ipv6FragmentHeader,
    ) {
        // The other pieces came in frames nobody vouched for.
        self.rx_csum_trusted = false;
        self.stats.frag_in += 1;
        let flow = Flow::Ip(IpAddr::V6(packet.src_addr()), IpAddr::V6(packet.dst_addr()));
        let frame = packet.clone().into_inner();
        let payload = packet.payload();
        let Some(data) = payload.get(fragment.data_offset..) else {
            self.dropped(DropReason::FragMalformed, flow);
            return;
        };
        let mut head = None;
        if fragment.offset == 0 {
            // The walk went on past the Fragment header of a first fragment:
            // it found every extension header whole, but not whether the
            // upper-layer header is.
            //= https://www.rfc-editor.org/rfc/rfc8200#section-4.5
            //# If the first fragment does not include all headers through an
            //# Upper-Layer header, then that fragment should be discarded and
            //# an ICMP Parameter Problem, Code 3, message should be sent to
            //# the source of the fragment, with the Pointer field set to zero.
            if payload.len() < walk.upper_offset + upper_header_len(walk.upper_layer) {
                self.dropped(DropReason::FragMalformed, flow);
                let problem =
                    Icmpv6Error::ParamProblem(Icmpv6ParamProblem::IncompleteHeaderChain, 0);
                self.icmpv6_error(now, frame, problem);
                return;
            }
            head = Ipv6Head::new(frame, fragment);
        }
        let key = Ipv6Key {
            src: packet.src_addr(),
            dst: packet.dst_addr(),
            ident: fragment.ident,
        };
        let piece = Fragment {
            offset: usize::from(fragment.offset),
            more: fragment.more_fragments,
            data,
        };
        let outcome = self.frag6.input(now, key, piece, head);
        let Some(Reassembled { head, payload }) = self.frag_outcome(outcome, flow) else {
            return;
        };
        // The first fragment's Per-Fragment headers may be longer than those
        // of the fragment that gave the end (Linux: ip6_frag_reasm's
        // "out_oversize"), so the whole may still be too long.
        let Some(whole) = head.rebuild(&payload) else {
            self.dropped(DropReason::FragMalformed, flow);
            return;
        };
        self.stats.frag_reassembled += 1;
        self.ipv6_packet_input(now, &whole, true);
    }

    /// Frees the incomplete datagrams whose time ran out, and tells the
    /// source of each whose first fragment was held.
    pub(super) fn frag_timeout(&mut self, now: Instant) {
        for expired in self.frag4.expire(now) {
            let flow = expired.first.as_ref().map_or(Flow::Unknown, |(h, _)| {
                Flow::Ip(IpAddr::V4(h.src_addr), IpAddr::V4(h.dst_addr))
            });
            self.dropped(DropReason::FragTimeout, flow);
            if let Some((header, data)) = expired.first {
                self.frag_time_exceeded(now, &header, &data);
            }
        }
        for expired in self.frag6.expire(now) {
            self.dropped(DropReason::FragTimeout, Flow::Unknown);
            //= https://www.rfc-editor.org/rfc/rfc8200#section-4.5
            //# If the first fragment
            //# (i.e., the one with a Fragment Offset of zero) has been
            //# received, an ICMP Time Exceeded -- Fragment Reassembly Time
            //# Exceeded message should be sent to the source of that fragment.
            if let Some((head, data)) = expired.first {
                let first = head.first_fragment(&data);
                self.icmpv6_error(now, &first, Icmpv6Error::FragTimeExceeded);
            }
        }
    }

    /// When the oldest incomplete datagram of either family times out.
    pub(super) fn frag_poll_at(&self) -> Option<Instant> {
        earliest(self.frag4.poll_at(), self.frag6.poll_at())
    }

    /// Queues `payload` cut into pieces of at most `max` octets, each behind
    /// `headers` octets that `emit` writes, given the piece's offset,
    /// whether more pieces follow, and its length.
    fn queue_pieces(
        &mut self,
        payload: &[u8],
        max: usize,
        headers: usize,
        mut emit: impl FnMut(&mut [u8], u16, bool, usize),
    ) {
        let mut offset = 0usize;
        for chunk in payload.chunks(max) {
            let Ok(frag_offset) = u16::try_from(offset) else {
                return;
            };
            let more = offset + chunk.len() < payload.len();
            let mut packet = vec![0u8; headers + chunk.len()];
            let Some((head, body)) = packet.split_at_mut_checked(headers) else {
                return;
            };
            emit(head, frag_offset, more, chunk.len());
            body.copy_from_slice(chunk);
            self.out.push_back((packet, 0));
            offset += chunk.len();
        }
    }

    /// An IPv4 datagram too big for the link, sent as fragments (RFC 791
    /// section 3.2): each carries a multiple of 8 payload bytes but the
    /// last, all share one Identification. Echo replies and UDP datagrams
    /// may get here, as on Linux.
    pub(super) fn queue_ipv4_fragments(
        &mut self,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        protocol: IpProtocol,
        payload: &[u8],
    ) {
        //= https://www.rfc-editor.org/rfc/rfc791#section-3.2
        //# Fragments are counted in units of 8 octets.
        let max = self.cfg.mtu.saturating_sub(ipv4::HEADER_LEN) & !7;
        if max == 0 {
            return;
        }
        self.ip_ident = self.ip_ident.wrapping_add(1);
        let template = Ipv4Repr {
            src_addr: src,
            dst_addr: dst,
            next_header: protocol,
            payload_len: 0,
            hop_limit: self.tx_hop_limit.unwrap_or(self.cfg.hop_limit),
            dscp: self.tx_tos >> 2,
            ecn: Ecn::from_bits(self.tx_tos),
            ident: self.ip_ident,
            dont_frag: false,
            more_frags: false,
            frag_offset: 0,
        };
        self.queue_pieces(
            payload,
            max,
            ipv4::HEADER_LEN,
            |header, offset, more, len| {
                let repr = Ipv4Repr {
                    payload_len: len,
                    more_frags: more,
                    frag_offset: offset,
                    ..template
                };
                repr.emit(&mut Ipv4Packet::new_unchecked(header));
            },
        );
    }

    /// An IPv6 packet too big for the link, sent as fragments (RFC 8200
    /// section 4.5). berth writes no extension headers, so the Per-Fragment
    /// headers are the IPv6 header alone and the whole payload is the
    /// Fragmentable Part; the first fragment then holds the upper-layer
    /// header as RFC 7112 asks (the MTU is at least 56 octets here, and no
    /// upper-layer header berth sends is longer than 8).
    pub(super) fn queue_ipv6_fragments(
        &mut self,
        src: Ipv6Addr,
        dst: Ipv6Addr,
        protocol: IpProtocol,
        payload: &[u8],
    ) {
        const HEADERS: usize = ipv6::HEADER_LEN + ipv6::FRAGMENT_HEADER_LEN;
        //= https://www.rfc-editor.org/rfc/rfc8200#section-4.5
        //# Each complete fragment, except possibly the
        //# last ("rightmost") one, is an integer multiple of 8 octets long.
        let max = self.cfg.mtu.saturating_sub(HEADERS) & !7;
        if max == 0 || payload.len() > IPV6_MAX_PAYLOAD {
            return;
        }
        let ip = Ipv6Repr {
            src_addr: src,
            dst_addr: dst,
            next_header: IpProtocol::Ipv6Frag,
            payload_len: 0,
            hop_limit: self.tx_hop_limit.unwrap_or(self.cfg.hop_limit),
            traffic_class: self.tx_tos,
            flow_label: 0,
        };
        let ident = self.ipv6_frag_ident();
        self.queue_pieces(payload, max, HEADERS, |headers, offset, more, len| {
            let Some((ip_header, rest)) = headers.split_at_mut_checked(ipv6::HEADER_LEN) else {
                return;
            };
            let Ok(fragment_header) = <&mut [u8; ipv6::FRAGMENT_HEADER_LEN]>::try_from(rest) else {
                return;
            };
            let ip = Ipv6Repr {
                payload_len: ipv6::FRAGMENT_HEADER_LEN + len,
                ..ip
            };
            ip.emit(&mut Ipv6Packet::new_unchecked(ip_header));
            let fragment = Ipv6FragmentHeader {
                next_header: protocol,
                offset,
                more_fragments: more,
                ident,
                data_offset: ipv6::FRAGMENT_HEADER_LEN,
                next_header_pointer: 6,
            };
            fragment.emit(fragment_header);
        });
    }

    /// The Identification of the next fragmented IPv6 packet.
    fn ipv6_frag_ident(&mut self) -> u32 {
        //= https://www.rfc-editor.org/rfc/rfc8200#section-4.5
        //# The Identification must be different than
        //# that of any other fragmented packet sent recently* with the same
        //# Source Address and Destination Address.
        // And it should not be predictable (RFC 7739): Linux draws each one
        // at random. berth takes a keyed hash of a counter, random to anyone
        // without the key; raw output of the stack's generator would let an
        // observer work out its state.
        self.frag_ident_seq += 1;
        let (k0, k1) = self.frag_ident_key;
        let mut hasher = SipHasher13::new_with_keys(k0, k1);
        hasher.write_u64(self.frag_ident_seq);
        (hasher.finish() >> 32) as u32
    }
}
