//! From a captured frame to the TCP header fields the pictures need, with
//! `berth_core::wire` doing the parsing. Link types: null/loopback (0),
//! Ethernet (1, with 802.1Q/802.1ad tags), raw IP (101, and the 12/14 some
//! systems write), IPv4 (228), IPv6 (229), Linux cooked SLL (113) and SLL2
//! (276).
//!
//! Checksums are not verified: a capture taken on the sender holds the
//! unfinished checksums of checksum offload. A frame cut by the snap length
//! still counts with its full length, as long as the TCP header was
//! captured. IP fragments are not reassembled (they are counted as not TCP).

use std::net::{IpAddr, SocketAddr};

use berth_core::wire::tcp_option::MAX_SACK_BLOCKS;
use berth_core::wire::{
    ChecksumCaps, EthernetPacket, IpProtocol, Ipv4Packet, Ipv4Repr, Ipv6Packet, RxChecksum,
    TcpFlags, TcpPacket, TcpRepr, TxChecksum, ethernet, ipv6,
};

/// The fields of one TCP segment that the pictures use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TcpSeg {
    pub(crate) src: SocketAddr,
    pub(crate) dst: SocketAddr,
    pub(crate) seq: u32,
    pub(crate) ack: Option<u32>,
    pub(crate) flags: TcpFlags,
    /// The Window field, unscaled.
    pub(crate) window: u16,
    /// The Window Scale option (on a SYN).
    pub(crate) wscale: Option<u8>,
    pub(crate) sack: [Option<(u32, u32)>; MAX_SACK_BLOCKS],
    /// Payload bytes (as on the wire, even if the capture cut them).
    pub(crate) payload_len: u32,
}

/// What a frame turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decoded {
    Tcp(TcpSeg),
    /// Well-formed, but not a TCP segment we can use (ARP, UDP, a fragment).
    Other,
    /// Truncated before the end of the TCP header, or malformed.
    Malformed,
    /// A link type this reader does not know.
    UnsupportedLink(u32),
}

const CAPS: ChecksumCaps = ChecksumCaps {
    rx: RxChecksum::Trust,
    tx: TxChecksum::Full,
};

/// Frames larger than this are not padded back to their wire length.
const MAX_IP: usize = 65_535;

/// Decodes a frame of link type `link`, captured as `data` from a frame of
/// `orig_len` bytes.
pub(crate) fn decode(link: u32, data: &[u8], orig_len: usize) -> Decoded {
    let cut = orig_len.saturating_sub(data.len());
    let ip = match link {
        0 => {
            // BSD loopback: the address family, in the capturing host's
            // byte order.
            let Some(af) = data.get(..4) else {
                return Decoded::Malformed;
            };
            let le = u32::from_le_bytes([af[0], af[1], af[2], af[3]]);
            let be = u32::from_be_bytes([af[0], af[1], af[2], af[3]]);
            let af = if le < 256 { le } else { be };
            if !matches!(af, 2 | 24 | 28 | 30) {
                return Decoded::Other;
            }
            &data[4..]
        }
        1 => match ethernet_payload(data) {
            Ok(Some(ip)) => ip,
            Ok(None) => return Decoded::Other,
            Err(()) => return Decoded::Malformed,
        },
        12 | 14 | 101 | 228 | 229 => data,
        113 => match ethertype_payload(data, 14, 16) {
            Some(Some(ip)) => ip,
            Some(None) => return Decoded::Other,
            None => return Decoded::Malformed,
        },
        276 => match ethertype_payload(data, 0, 20) {
            Some(Some(ip)) => ip,
            Some(None) => return Decoded::Other,
            None => return Decoded::Malformed,
        },
        other => return Decoded::UnsupportedLink(other),
    };
    decode_ip(ip, cut)
}

/// The IP payload of an Ethernet frame, past any VLAN tags; `None` for
/// another EtherType.
fn ethernet_payload(data: &[u8]) -> Result<Option<&[u8]>, ()> {
    let frame = EthernetPacket::new_checked(data).map_err(|_| ())?;
    let mut ethertype = u16::from(frame.ethertype());
    let mut rest = data.get(ethernet::HEADER_LEN..).ok_or(())?;
    for _ in 0..2 {
        if !matches!(ethertype, 0x8100 | 0x88a8 | 0x9100) {
            break;
        }
        let tag = rest.get(..4).ok_or(())?;
        ethertype = u16::from_be_bytes([tag[2], tag[3]]);
        rest = &rest[4..];
    }
    Ok(matches!(ethertype, 0x0800 | 0x86dd).then_some(rest))
}

/// The payload after a `header`-byte header with the EtherType at `at`
/// (Linux cooked captures); `Some(None)` for another protocol.
fn ethertype_payload(data: &[u8], at: usize, header: usize) -> Option<Option<&[u8]>> {
    let t = data.get(at..at + 2)?;
    let rest = data.get(header..)?;
    Some(matches!(u16::from_be_bytes([t[0], t[1]]), 0x0800 | 0x86dd).then_some(rest))
}

/// Decodes an IPv4 or IPv6 packet whose last `cut` bytes were not captured.
pub(crate) fn decode_ip(ip: &[u8], cut: usize) -> Decoded {
    if cut > 0 && ip.len() + cut <= MAX_IP {
        // Give the views the length the wire had; the bytes we lack are
        // payload (checked below), which the pictures only count.
        let mut padded = Vec::with_capacity(ip.len() + cut);
        padded.extend_from_slice(ip);
        padded.resize(ip.len() + cut, 0);
        return decode_ip_full(&padded, ip.len());
    }
    decode_ip_full(ip, ip.len())
}

/// Decodes a packet of which the first `captured` bytes are real.
fn decode_ip_full(ip: &[u8], captured: usize) -> Decoded {
    let (src, dst, offset, tcp) = match ip.first().map(|b| b >> 4) {
        Some(4) => {
            let Ok(packet) = Ipv4Packet::new_checked(ip) else {
                return Decoded::Malformed;
            };
            let Ok(repr) = Ipv4Repr::parse(&packet, CAPS) else {
                return Decoded::Malformed;
            };
            if repr.next_header != IpProtocol::Tcp || repr.is_fragment() {
                return Decoded::Other;
            }
            let start = packet.header_len();
            let Some(tcp) = ip.get(start..start + repr.payload_len) else {
                return Decoded::Malformed;
            };
            (
                IpAddr::V4(repr.src_addr),
                IpAddr::V4(repr.dst_addr),
                start,
                tcp,
            )
        }
        Some(6) => {
            let Ok(packet) = Ipv6Packet::new_checked(ip) else {
                return Decoded::Malformed;
            };
            let Ok(walk) = packet.walk_extensions() else {
                return Decoded::Malformed;
            };
            if walk.upper_layer != IpProtocol::Tcp
                || walk.discard.is_some()
                || walk.fragment.is_some()
            {
                return Decoded::Other;
            }
            let start = ipv6::HEADER_LEN + walk.upper_offset;
            let end = ipv6::HEADER_LEN + usize::from(packet.payload_len());
            let Some(tcp) = ip.get(start..end) else {
                return Decoded::Malformed;
            };
            (
                IpAddr::V6(packet.src_addr()),
                IpAddr::V6(packet.dst_addr()),
                start,
                tcp,
            )
        }
        _ => return Decoded::Malformed,
    };
    let Ok(packet) = TcpPacket::new_checked(tcp) else {
        return Decoded::Malformed;
    };
    if offset + usize::from(packet.header_len()) > captured {
        // The header itself was cut by the snap length.
        return Decoded::Malformed;
    }
    let Ok(repr) = TcpRepr::parse(&packet, src, dst, CAPS) else {
        return Decoded::Malformed;
    };
    Decoded::Tcp(TcpSeg {
        src: SocketAddr::new(src, repr.src_port),
        dst: SocketAddr::new(dst, repr.dst_port),
        seq: repr.seq_number,
        ack: repr.ack_number,
        flags: repr.flags,
        window: repr.window_len,
        wscale: repr.window_scale,
        sack: repr.sack_ranges,
        payload_len: u32::try_from(repr.payload.len()).unwrap_or(u32::MAX),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use berth_core::wire::tcp_option::MAX_SACK_BLOCKS;
    use std::net::Ipv4Addr;

    /// An IPv4 TCP packet with correct lengths (the IP checksum left zero).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn ipv4_tcp(
        src: (Ipv4Addr, u16),
        dst: (Ipv4Addr, u16),
        seq: u32,
        ack: Option<u32>,
        flags: TcpFlags,
        window: u16,
        sack: &[(u32, u32)],
        payload: usize,
    ) -> Vec<u8> {
        let mut ranges = [None; MAX_SACK_BLOCKS];
        for (slot, r) in ranges.iter_mut().zip(sack) {
            *slot = Some(*r);
        }
        let data = vec![0x55; payload];
        let repr = TcpRepr {
            src_port: src.1,
            dst_port: dst.1,
            seq_number: seq,
            ack_number: ack,
            flags,
            window_len: window,
            urgent_pointer: 0,
            max_seg_size: None,
            window_scale: flags.syn().then_some(7),
            sack_permitted: false,
            sack_ranges: ranges,
            timestamp: None,
            payload: &data,
        };
        let tcp_len = repr.buffer_len();
        let mut p = vec![0u8; 20 + tcp_len];
        p[0] = 0x45;
        p[2..4].copy_from_slice(&((20 + tcp_len) as u16).to_be_bytes());
        p[8] = 64;
        p[9] = 6;
        p[12..16].copy_from_slice(&src.0.octets());
        p[16..20].copy_from_slice(&dst.0.octets());
        let mut tcp = TcpPacket::new_unchecked(&mut p[20..]);
        repr.emit(
            &mut tcp,
            IpAddr::V4(src.0),
            IpAddr::V4(dst.0),
            ChecksumCaps::FULL,
        );
        p
    }

    const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
    const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

    fn sample() -> Vec<u8> {
        ipv4_tcp(
            (A, 1234),
            (B, 80),
            1000,
            Some(77),
            TcpFlags::ACK,
            512,
            &[(5, 9)],
            100,
        )
    }

    #[test]
    fn raw_ethernet_and_cooked_frames_decode_alike() {
        let ip = sample();
        let Decoded::Tcp(seg) = decode(101, &ip, ip.len()) else {
            panic!("not decoded");
        };
        assert_eq!(seg.src, "10.0.0.1:1234".parse().unwrap());
        assert_eq!(seg.dst, "10.0.0.2:80".parse().unwrap());
        assert_eq!((seg.seq, seg.ack, seg.window), (1000, Some(77), 512));
        assert_eq!(seg.sack[0], Some((5, 9)));
        assert_eq!(seg.payload_len, 100);

        let mut eth = vec![0u8; 12];
        eth.extend([0x81, 0x00, 0, 5, 0x08, 0x00]);
        eth.extend(&ip);
        assert_eq!(decode(1, &eth, eth.len()), Decoded::Tcp(seg));
        let mut sll = vec![0u8; 14];
        sll.extend([0x08, 0x00]);
        sll.extend(&ip);
        assert_eq!(decode(113, &sll, sll.len()), Decoded::Tcp(seg));
        let mut null = 2u32.to_le_bytes().to_vec();
        null.extend(&ip);
        assert_eq!(decode(0, &null, null.len()), Decoded::Tcp(seg));
        assert_eq!(decode(147, &ip, ip.len()), Decoded::UnsupportedLink(147));
    }

    #[test]
    fn a_snap_length_cut_keeps_the_length() {
        let ip = sample();
        let Decoded::Tcp(seg) = decode(101, &ip[..60], ip.len()) else {
            panic!("not decoded");
        };
        assert_eq!(seg.payload_len, 100);
        // Cut inside the TCP header: unusable.
        assert_eq!(decode(101, &ip[..30], ip.len()), Decoded::Malformed);
    }

    #[test]
    fn garbage_is_counted_not_fatal() {
        let ip = sample();
        for len in 0..ip.len() {
            let d = decode(101, &ip[..len], len);
            assert!(matches!(d, Decoded::Malformed | Decoded::Other), "{len}");
        }
        let mut flipped = ip.clone();
        for i in 0..flipped.len() {
            for bit in 0..8 {
                flipped[i] ^= 1 << bit;
                let _ = decode(101, &flipped, flipped.len());
                let _ = decode(1, &flipped, flipped.len() + 7);
                flipped[i] ^= 1 << bit;
            }
        }
        let mut udp = ip.clone();
        udp[9] = 17;
        assert_eq!(decode(101, &udp, udp.len()), Decoded::Other);
    }
}
