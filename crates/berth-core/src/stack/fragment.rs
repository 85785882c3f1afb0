//! Fragments in the stack. On the way in, IPv4 fragments (RFC 791 section
//! 3.2) go to the reassembler ([`crate::frag`]), the datagram they complete
//! goes through the transport input as if it had arrived whole, and one that
//! times out draws a Time Exceeded. On the way out, an IPv4 datagram bigger
//! than the MTU leaves as fragments; TCP never gets there (it sets DF and
//! sizes its segments), and IPv6 datagrams are not fragmented by berth.

use std::net::{IpAddr, Ipv4Addr};

use super::Stack;
use crate::frag::{FragOutcome, Fragment, Ipv4Key, Reassembled};
use crate::time::Instant;
use crate::wire::{Ecn, IpProtocol, Ipv4Packet, Ipv4Repr};

impl Stack {
    /// Counts what became of a fragment; the datagram it completed, if any.
    fn frag_outcome<H>(&mut self, outcome: FragOutcome<H>) -> Option<Reassembled<H>> {
        match outcome {
            FragOutcome::Pending => {}
            FragOutcome::Complete(done) => return Some(done),
            FragOutcome::Duplicate => self.stats.frag_duplicates += 1,
            FragOutcome::Overlap => self.stats.frag_overlaps += 1,
            FragOutcome::NoMemory => self.stats.frag_no_memory += 1,
            FragOutcome::TooMany => self.stats.frag_too_many += 1,
            FragOutcome::Malformed => self.stats.frag_malformed += 1,
        }
        None
    }

    /// RFC 791 3.2: an IPv4 fragment goes to reassembly; a completed datagram
    /// goes through the transport input like any other.
    pub(super) fn ipv4_fragment_input(&mut self, now: Instant, ip: &Ipv4Repr, payload: &[u8]) {
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
        let Some(Reassembled { head, payload }) = self.frag_outcome(outcome) else {
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

    /// Frees the incomplete datagrams whose time ran out, and tells the
    /// source of each whose first fragment was held.
    pub(super) fn frag_timeout(&mut self, now: Instant) {
        for expired in self.frag4.expire(now) {
            self.stats.frag_timeouts += 1;
            if let Some((header, data)) = expired.first {
                self.frag_time_exceeded(now, &header, &data);
            }
        }
    }

    /// When the oldest incomplete datagram times out.
    pub(super) fn frag_poll_at(&self) -> Option<Instant> {
        self.frag4.poll_at()
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
        let max = self.cfg.mtu.saturating_sub(20) & !7;
        if max == 0 {
            return;
        }
        self.ip_ident = self.ip_ident.wrapping_add(1);
        let ident = self.ip_ident;
        let mut offset = 0usize;
        for chunk in payload.chunks(max) {
            let Ok(frag_offset) = u16::try_from(offset) else {
                return;
            };
            let repr = Ipv4Repr {
                src_addr: src,
                dst_addr: dst,
                next_header: protocol,
                payload_len: chunk.len(),
                hop_limit: self.cfg.hop_limit,
                dscp: 0,
                ecn: Ecn::NotEct,
                ident,
                dont_frag: false,
                more_frags: offset + chunk.len() < payload.len(),
                frag_offset,
            };
            let mut packet = vec![0u8; 20 + chunk.len()];
            if let Some(header) = packet.get_mut(..20) {
                repr.emit(&mut Ipv4Packet::new_unchecked(header));
            }
            if let Some(body) = packet.get_mut(20..) {
                body.copy_from_slice(chunk);
            }
            self.out.push_back((packet, 0));
            offset += chunk.len();
        }
    }
}
