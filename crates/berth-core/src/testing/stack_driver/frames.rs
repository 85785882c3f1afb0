//! Frames the driver's peers send, built with the wire types: TCP, UDP
//! and ICMP in IPv4 or IPv6, IPv4 fragments of any of them, and IP
//! packets around arbitrary payloads.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::Frags;
use crate::wire::{
    ChecksumCaps, Ecn, Icmpv4Packet, Icmpv6Packet, IpProtocol, Ipv4Packet, Ipv4Repr, Ipv6Packet,
    TcpPacket, TcpRepr, TxChecksum, UdpPacket, UdpRepr,
};

/// The byte a peer sends at sequence number (or stream offset) `seq`: the
/// stream is its own checksum, whatever segments carry it.
pub(super) fn stream_byte(seq: u32) -> u8 {
    seq as u8
}

/// A TCP segment (header and payload) with a valid checksum, or a wrong
/// one if `bad_checksum`.
pub(super) fn tcp(repr: &TcpRepr<'_>, src: IpAddr, dst: IpAddr, bad_checksum: bool) -> Vec<u8> {
    let mut bytes = vec![0u8; repr.buffer_len()];
    repr.emit(
        &mut TcpPacket::new_unchecked(&mut bytes[..]),
        src,
        dst,
        ChecksumCaps::FULL,
    );
    if bad_checksum && let Some(b) = bytes.get_mut(16) {
        *b ^= 0x5a;
    }
    bytes
}

/// A UDP datagram with a valid checksum.
pub(super) fn udp(
    src: IpAddr,
    dst: IpAddr,
    src_port: u16,
    dst_port: u16,
    payload: &[u8],
) -> Vec<u8> {
    let repr = UdpRepr {
        src_port,
        dst_port,
        payload,
    };
    let mut bytes = vec![0u8; repr.buffer_len()];
    repr.emit(
        &mut UdpPacket::new_unchecked(&mut bytes[..]),
        src,
        dst,
        ChecksumCaps::FULL,
    );
    bytes
}

/// An ICMP (v4) or ICMPv6 message: type, code, the four bytes after the
/// checksum, then `body` (a quoted packet, echo data), checksum filled.
pub(super) fn icmp(
    src: IpAddr,
    dst: IpAddr,
    ty: u8,
    code: u8,
    rest: [u8; 4],
    body: &[u8],
) -> Vec<u8> {
    let mut bytes = vec![ty, code, 0, 0];
    bytes.extend_from_slice(&rest);
    bytes.extend_from_slice(body);
    match (src, dst) {
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            Icmpv6Packet::new_unchecked(&mut bytes[..]).fill_checksum(s, d, TxChecksum::Full);
        }
        _ => Icmpv4Packet::new_unchecked(&mut bytes[..]).fill_checksum(),
    }
    bytes
}

/// `payload` in IP packets from `src` to `dst`: one IPv6 packet, or IPv4
/// fragments as `frags` says (one whole packet without).
pub(super) fn ip(
    src: IpAddr,
    dst: IpAddr,
    proto: IpProtocol,
    ident: u16,
    payload: &[u8],
    frags: Option<&Frags>,
) -> Vec<Vec<u8>> {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => match frags {
            Some(f) => ipv4_fragments(s, d, proto, ident, payload, f),
            None => vec![ipv4(s, d, proto, ident, payload, 0, false)],
        },
        (IpAddr::V6(s), IpAddr::V6(d)) => vec![ipv6(s, d, proto, payload)],
        // Mixed families: nothing to send.
        _ => Vec::new(),
    }
}

fn ipv4(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    proto: IpProtocol,
    ident: u16,
    piece: &[u8],
    offset: usize,
    more: bool,
) -> Vec<u8> {
    let repr = Ipv4Repr {
        src_addr: src,
        dst_addr: dst,
        next_header: proto,
        payload_len: piece.len(),
        hop_limit: 64,
        dscp: 0,
        ecn: Ecn::NotEct,
        ident,
        dont_frag: false,
        more_frags: more,
        frag_offset: u16::try_from(offset).unwrap_or(u16::MAX),
    };
    let mut bytes = vec![0u8; repr.buffer_len()];
    repr.emit(&mut Ipv4Packet::new_unchecked(&mut bytes[..]));
    bytes
        .get_mut(20..)
        .unwrap_or_default()
        .copy_from_slice(piece);
    bytes
}

fn ipv6(src: Ipv6Addr, dst: Ipv6Addr, proto: IpProtocol, payload: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0u8; 40 + payload.len()];
    let mut p = Ipv6Packet::new_unchecked(&mut bytes[..]);
    p.set_version(6);
    p.set_traffic_class(0);
    p.set_flow_label(0);
    p.set_payload_len(u16::try_from(payload.len()).unwrap_or(u16::MAX));
    p.set_next_header(proto);
    p.set_hop_limit(64);
    p.set_src_addr(src);
    p.set_dst_addr(dst);
    p.payload_mut().copy_from_slice(payload);
    bytes
}

/// IPv4 fragments of `payload`: pieces of `8 * unit` bytes (the last one
/// the rest), sent in order, reversed or rotated, one perhaps left out,
/// the first perhaps twice, and one perhaps overlapping its neighbour.
fn ipv4_fragments(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    proto: IpProtocol,
    ident: u16,
    payload: &[u8],
    f: &Frags,
) -> Vec<Vec<u8>> {
    let size = 8 * usize::from(f.unit.max(1));
    let mut pieces: Vec<(usize, usize)> = Vec::new();
    let mut at = 0;
    while at < payload.len() && pieces.len() < 16 {
        let end = if pieces.len() == 15 {
            payload.len()
        } else {
            (at + size).min(payload.len())
        };
        pieces.push((at, end));
        at = end;
    }
    if pieces.is_empty() {
        pieces.push((0, 0));
    }
    if f.overlap && pieces.len() > 1 {
        // The second piece starts a block early: overlapping bytes.
        pieces[1].0 = pieces[1].0.saturating_sub(8);
    }
    let last = pieces.len() - 1;
    let mut frames: Vec<Vec<u8>> = pieces
        .iter()
        .enumerate()
        .map(|(i, &(start, end))| {
            let piece = payload.get(start..end).unwrap_or_default();
            ipv4(src, dst, proto, ident, piece, start, i != last)
        })
        .collect();
    match f.order % 3 {
        1 => frames.reverse(),
        2 => frames.rotate_left(1),
        _ => {}
    }
    if let Some(d) = f.drop {
        let i = usize::from(d) % frames.len();
        frames.remove(i);
    }
    if f.duplicate
        && let Some(first) = frames.first().cloned()
    {
        frames.push(first);
    }
    frames
}
