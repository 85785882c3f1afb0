//! IPv4 reassembly through the whole stack: fragments built with the wire
//! types, handed to `handle_frame`, and the datagram read from a UDP socket.
//! IPv6's is in `frag6.rs`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::{B4, config};
use crate::stack::Stack;
use crate::time::{Duration, Instant};
use crate::wire::{
    ChecksumCaps, Ecn, Icmpv4Packet, Icmpv4Repr, Icmpv4TimeExceeded, IpProtocol, Ipv4Packet,
    Ipv4Repr, UdpPacket, UdpRepr,
};

const SRC: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
const DST: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);

/// A UDP datagram from SRC:5000 to DST:7 carrying `payload`.
pub(super) fn udp_datagram(payload: &[u8]) -> Vec<u8> {
    udp_between(IpAddr::V4(SRC), IpAddr::V4(DST), payload)
}

/// A UDP datagram from `src`:5000 to `dst`:7 carrying `payload`, either
/// family.
pub(super) fn udp_between(src: IpAddr, dst: IpAddr, payload: &[u8]) -> Vec<u8> {
    let repr = UdpRepr {
        src_port: 5000,
        dst_port: 7,
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

/// One IPv4 fragment of `datagram`: bytes `[offset, offset + len)`.
pub(super) fn fragment(
    src: Ipv4Addr,
    ident: u16,
    datagram: &[u8],
    offset: usize,
    len: usize,
) -> Vec<u8> {
    let end = (offset + len).min(datagram.len());
    let ip = Ipv4Repr {
        src_addr: src,
        dst_addr: DST,
        next_header: IpProtocol::Udp,
        payload_len: end - offset,
        hop_limit: 64,
        dscp: 0,
        ecn: Ecn::NotEct,
        ident,
        dont_frag: false,
        more_frags: end < datagram.len(),
        frag_offset: offset as u16,
    };
    let mut frame = vec![0u8; ip.buffer_len()];
    ip.emit(&mut Ipv4Packet::new_unchecked(&mut frame[..]));
    frame[20..].copy_from_slice(&datagram[offset..end]);
    frame
}

/// The datagram cut into `piece`-byte fragments (a multiple of 8).
pub(super) fn fragments(ident: u16, datagram: &[u8], piece: usize) -> Vec<Vec<u8>> {
    (0..datagram.len())
        .step_by(piece)
        .map(|off| fragment(SRC, ident, datagram, off, piece))
        .collect()
}

fn server() -> (Stack, crate::handle::SocketHandle) {
    let mut s = Stack::new(config(vec![B4], 7));
    let h = s.udp_bind(SocketAddr::new(B4, 7)).unwrap();
    (s, h)
}

pub(super) fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

//= https://www.rfc-editor.org/rfc/rfc791#section-2.3
//= type=test
//# To assemble the fragments of an internet datagram, an internet
//# protocol module (for example at a destination host) combines
//# internet datagrams that all have the same value for the four fields:
//# identification, source, destination, and protocol.
#[test]
fn fragmented_udp_is_reassembled_in_order_and_out_of_order() {
    let (mut s, h) = server();
    let data = payload(4000);
    let datagram = udp_datagram(&data);
    let mut buf = vec![0u8; 8192];
    // In order.
    for f in fragments(1, &datagram, 1480) {
        s.handle_frame(Instant::ZERO, &f);
    }
    let (n, from) = s.udp_recv_from(h, &mut buf).unwrap();
    assert_eq!(&buf[..n], &data[..]);
    assert_eq!(from, SocketAddr::new(IpAddr::V4(SRC), 5000));
    // Reversed, and interleaved with a second datagram of another ident.
    let other = udp_datagram(&payload(1000));
    let mut a = fragments(2, &datagram, 512);
    a.reverse();
    let b = fragments(3, &other, 256);
    for f in a.iter().zip(b.iter().chain(std::iter::repeat(&Vec::new()))) {
        s.handle_frame(Instant::ZERO, f.0);
        if !f.1.is_empty() {
            s.handle_frame(Instant::ZERO, f.1);
        }
    }
    let (n, _) = s.udp_recv_from(h, &mut buf).unwrap();
    assert_eq!(
        &buf[..n],
        &payload(1000)[..],
        "the shorter one completes first"
    );
    let (n, _) = s.udp_recv_from(h, &mut buf).unwrap();
    assert_eq!(&buf[..n], &data[..]);
    assert_eq!(s.stats().frag_reassembled, 3);
    assert_eq!(s.frag_memory(), (0, 0), "nothing held once complete");
}

//= https://www.rfc-editor.org/rfc/rfc5722#section-4
//= type=test
//# When reassembling an IPv6 datagram, if one or more its constituent
//# fragments is determined to be an overlapping fragment, the entire
//# datagram (and any constituent fragments, including those not yet
//# received) MUST be silently discarded.
#[test]
fn overlapping_fragments_drop_the_datagram() {
    let (mut s, h) = server();
    let datagram = udp_datagram(&payload(2000));
    s.handle_frame(Instant::ZERO, &fragment(SRC, 9, &datagram, 0, 800));
    // Overlaps [0, 800) by 400 bytes.
    s.handle_frame(Instant::ZERO, &fragment(SRC, 9, &datagram, 400, 800));
    assert_eq!(s.stats().frag_overlaps, 1);
    assert_eq!(s.frag_memory(), (0, 0), "the whole datagram is gone");
    // The rest arriving later starts a new datagram that never completes.
    s.handle_frame(Instant::ZERO, &fragment(SRC, 9, &datagram, 800, 2000));
    let mut buf = [0u8; 4096];
    assert!(s.udp_recv_from(h, &mut buf).is_err());
    // An exact duplicate is harmless.
    let d2 = udp_datagram(&payload(100));
    s.handle_frame(Instant::ZERO, &fragment(SRC, 10, &d2, 0, 64));
    s.handle_frame(Instant::ZERO, &fragment(SRC, 10, &d2, 0, 64));
    s.handle_frame(Instant::ZERO, &fragment(SRC, 10, &d2, 64, 64));
    assert_eq!(s.stats().frag_duplicates, 1);
    assert!(s.udp_recv_from(h, &mut buf).is_ok());
}

#[test]
fn memory_bound_holds_under_a_flood_of_incomplete_datagrams() {
    let mut cfg = config(vec![B4], 7);
    cfg.frag.memory = 256 * 1024;
    let limit = cfg.frag.memory;
    let mut s = Stack::new(cfg);
    let h = s.udp_bind(SocketAddr::new(B4, 7)).unwrap();
    let datagram = udp_datagram(&payload(3000));
    // 20,000 datagrams from spoofed sources, each missing its last piece.
    let mut peak = 0;
    for i in 0..20_000u32 {
        let src = Ipv4Addr::from(u32::from(Ipv4Addr::new(198, 18, 0, 0)) + (i % 60_000) + 256);
        let f = fragment(src, i as u16, &datagram, 0, 1480);
        s.handle_frame(Instant::ZERO, &f);
        peak = peak.max(s.frag_memory().0);
    }
    assert!(peak <= limit, "peak {peak} within {limit}");
    assert!(s.stats().frag_no_memory > 0, "the bound was hit");
    let held = s.frag_memory().1;
    assert!(held > 100, "it held {held} datagrams before refusing more");
    // Without eviction (Linux's choice), a new datagram waits for the
    // timeout to free room; afterwards a legitimate one goes through.
    let t = Instant::ZERO + Duration::from_secs(30);
    assert_eq!(s.poll_timeout(), Some(t));
    s.handle_timeout(t);
    assert_eq!(s.frag_memory(), (0, 0));
    assert_eq!(s.stats().frag_timeouts, held as u64);
    for f in fragments(7, &datagram, 1480) {
        s.handle_frame(t, &f);
    }
    let mut buf = [0u8; 4096];
    assert_eq!(s.udp_recv_from(h, &mut buf).unwrap().0, 3000);
}

#[test]
fn timeout_frees_an_incomplete_datagram() {
    let (mut s, h) = server();
    let datagram = udp_datagram(&payload(2000));
    let t0 = Instant::from_secs(5);
    s.handle_frame(t0, &fragment(SRC, 4, &datagram, 0, 1024));
    assert_eq!(s.frag_memory().1, 1);
    assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(30)));
    s.handle_timeout(t0 + Duration::from_secs(29));
    assert_eq!(s.frag_memory().1, 1, "not yet");
    s.handle_timeout(t0 + Duration::from_secs(30));
    assert_eq!(s.frag_memory(), (0, 0));
    assert_eq!(s.stats().frag_timeouts, 1);
    assert_eq!(s.poll_timeout(), None);
    // Fragment zero was held: the sender hears of it (RFC 792, Linux
    // ip_expire).
    let mut out = [0u8; 1500];
    let n = s
        .poll_transmit(t0 + Duration::from_secs(30), &mut out)
        .unwrap();
    let ip = Ipv4Packet::new_checked(&out[..n]).unwrap();
    assert_eq!(ip.dst_addr(), SRC);
    let icmp = Icmpv4Repr::parse(
        &Icmpv4Packet::new_checked(ip.payload()).unwrap(),
        ChecksumCaps::FULL,
    )
    .unwrap();
    let Icmpv4Repr::TimeExceeded { reason, header, .. } = icmp else {
        panic!("{icmp:?}")
    };
    assert_eq!(reason, Icmpv4TimeExceeded::FragExpired);
    assert_eq!(header.ident, 4);
    // Without fragment zero, nothing is sent.
    let t1 = t0 + Duration::from_secs(40);
    s.handle_frame(t1, &fragment(SRC, 6, &datagram, 1024, 2000));
    s.handle_timeout(t1 + Duration::from_secs(30));
    assert_eq!(s.stats().frag_timeouts, 2);
    assert!(
        s.poll_transmit(t1 + Duration::from_secs(30), &mut out)
            .is_none()
    );
    // The late last piece of ident 4 alone completes nothing.
    let t2 = t1 + Duration::from_secs(31);
    s.handle_frame(t2, &fragment(SRC, 4, &datagram, 1024, 2000));
    let mut buf = [0u8; 4096];
    assert!(s.udp_recv_from(h, &mut buf).is_err());
}

#[test]
fn too_many_fragments_drop_the_datagram() {
    let (mut s, _) = server();
    let datagram = udp_datagram(&payload(8000));
    for f in fragments(5, &datagram, 16).into_iter().take(100) {
        s.handle_frame(Instant::ZERO, &f);
    }
    assert_eq!(s.stats().frag_too_many, 1);
    assert!(
        s.frag_memory().0 < 64 * 100,
        "the pieces after the drop start over"
    );
}

/// Hostile input: fragments with random offsets, lengths, flags and
/// idents, some corrupted, never panic and never exceed the memory bound.
#[test]
fn random_fragments_never_panic_and_stay_bounded() {
    let mut cfg = config(vec![B4], 9);
    cfg.frag.memory = 64 * 1024;
    let mut s = Stack::new(cfg);
    s.udp_bind(SocketAddr::new(B4, 7)).unwrap();
    s.tcp_listen(SocketAddr::new(B4, 80), 4).unwrap();
    let mut rng = crate::rng::Rng::new(1234);
    let datagram = udp_datagram(&payload(3000));
    let mut now = Instant::ZERO;
    let mut out = [0u8; 1500];
    for _ in 0..20_000 {
        let off = (rng.below(400) * 8) as usize;
        let len = 1 + rng.below(1500) as usize;
        let off = off.min(datagram.len() - 1);
        let mut f = fragment(SRC, rng.below(8) as u16, &datagram, off, len);
        if rng.chance(0.5) {
            // MF flag and offset bits at random.
            f[6] = rng.below(256) as u8;
            f[7] = rng.below(256) as u8;
        }
        if rng.chance(0.1) {
            f[9] = [6u8, 17, 1, 99][rng.below(4) as usize];
        }
        // Fix the header checksum so most reach reassembly.
        f[10] = 0;
        f[11] = 0;
        let mut p = Ipv4Packet::new_unchecked(&mut f[..]);
        p.fill_checksum();
        super::mangle(&mut rng, &mut f);
        s.handle_frame(now, &f);
        assert!(s.frag_memory().0 <= 64 * 1024);
        if rng.chance(0.01) {
            now += Duration::from_secs(rng.below(40));
            s.handle_timeout(now);
        }
        while s.poll_transmit(now, &mut out).is_some() {}
    }
    let st = s.stats();
    assert!(st.frag_in > 10_000, "{st:?}");
    assert!(st.frag_overlaps > 0 && st.frag_malformed > 0, "{st:?}");
}

/// A frame whose checksum the device vouches for (checksum offload) is
/// taken without verifying it; the same frame from an ordinary read is
/// refused. A fragment completes a datagram from pieces nobody vouched
/// for: its checksum is verified whatever the last frame said.
#[test]
fn offloaded_checksums_are_trusted_only_for_whole_frames() {
    let (mut s, h) = server();
    let mut datagram = udp_datagram(b"partial sum");
    // The checksum left partial, as the kernel hands it over.
    datagram[6] ^= 0x5a;
    let frame = fragment(SRC, 9, &datagram, 0, datagram.len());
    let mut buf = [0u8; 64];
    s.handle_frame(Instant::ZERO, &frame);
    assert_eq!(
        s.udp_recv_from(h, &mut buf),
        Err(crate::stack::SocketError::WouldBlock)
    );
    assert_eq!(s.stats().udp_malformed, 1);
    s.handle_frame_offloaded(Instant::ZERO, &frame);
    let (n, _) = s.udp_recv_from(h, &mut buf).unwrap();
    assert_eq!(&buf[..n], b"partial sum");
    let big = {
        let mut d = udp_datagram(&payload(3000));
        d[6] ^= 0x5a;
        d
    };
    let pieces = fragments(10, &big, 1480);
    let (last, rest) = pieces.split_last().unwrap();
    for f in rest {
        s.handle_frame(Instant::ZERO, f);
    }
    s.handle_frame_offloaded(Instant::ZERO, last);
    assert_eq!(
        s.udp_recv_from(h, &mut buf),
        Err(crate::stack::SocketError::WouldBlock)
    );
    assert_eq!(s.stats().udp_malformed, 2);
}
