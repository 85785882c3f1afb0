//! IPv6 fragments through the whole stack (RFC 8200 4.5, RFC 5722, RFC
//! 7112): fragments built with the wire types and handed to `handle_frame`,
//! what completes read from a socket, what fails answered or counted; and
//! datagrams bigger than the MTU sent as fragments between two stacks.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use super::frag::{fragments, payload, udp_datagram};
use super::{A6, B4, B6, Pair, SocketError, config, two_stacks};
use crate::rng::Rng;
use crate::stack::Stack;
use crate::testing::Faults;
use crate::time::{Duration, Instant};
use crate::wire::{
    ChecksumCaps, Icmpv6Packet, Icmpv6ParamProblem, Icmpv6Repr, Icmpv6TimeExceeded, IpProtocol,
    Ipv6FragmentHeader, Ipv6Packet, Ipv6Repr,
};

const SRC: Ipv6Addr = Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 1);
const DST: Ipv6Addr = Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 2);

/// A UDP datagram from `src`:5000 to DST:7 carrying `payload`.
fn udp6(src: Ipv6Addr, payload: &[u8]) -> Vec<u8> {
    super::frag::udp_between(IpAddr::V6(src), IpAddr::V6(DST), payload)
}

/// An IPv6 packet from `src` to `dst`: the header, a Fragment header of
/// `ident` (Next Header `next`) for `[offset, offset + data.len())` with M
/// = `more`, then `data`.
fn fragment6(
    (src, dst): (Ipv6Addr, Ipv6Addr),
    next: IpProtocol,
    ident: u32,
    offset: usize,
    more: bool,
    data: &[u8],
) -> Vec<u8> {
    let ip = Ipv6Repr {
        src_addr: src,
        dst_addr: dst,
        next_header: IpProtocol::Ipv6Frag,
        payload_len: 8 + data.len(),
        hop_limit: 64,
        traffic_class: 0,
        flow_label: 0,
    };
    let mut packet = vec![0u8; ip.buffer_len()];
    ip.emit(&mut Ipv6Packet::new_unchecked(&mut packet[..]));
    let header = Ipv6FragmentHeader {
        next_header: next,
        offset: offset as u16,
        more_fragments: more,
        ident,
        data_offset: 8,
        next_header_pointer: 6,
    };
    header.emit((&mut packet[40..48]).try_into().unwrap());
    packet[48..].copy_from_slice(data);
    packet
}

/// `upper` (of protocol `next`) from `src` to DST cut into `piece`-byte
/// fragments of `ident`.
fn fragments6(
    src: Ipv6Addr,
    next: IpProtocol,
    ident: u32,
    upper: &[u8],
    piece: usize,
) -> Vec<Vec<u8>> {
    (0..upper.len())
        .step_by(piece)
        .map(|off| {
            let end = (off + piece).min(upper.len());
            let more = end < upper.len();
            fragment6((src, DST), next, ident, off, more, &upper[off..end])
        })
        .collect()
}

fn server() -> (Stack, crate::handle::SocketHandle) {
    let mut s = Stack::new(config(vec![IpAddr::V6(DST), B4], 7));
    let h = s.udp_bind(SocketAddr::new(IpAddr::V6(DST), 7)).unwrap();
    (s, h)
}

/// Every packet the stack has to send now.
fn drain(s: &mut Stack, now: Instant) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 1500];
    while let Some(n) = s.poll_transmit(now, &mut buf) {
        out.push(buf[..n].to_vec());
    }
    out
}

/// The ICMPv6 message in `packet`, checked.
fn icmpv6(packet: &[u8]) -> Icmpv6Repr<'_> {
    let ip = Ipv6Packet::new_checked(packet).unwrap();
    assert_eq!(ip.next_header(), IpProtocol::Icmpv6);
    let icmp = Icmpv6Packet::new_checked(&packet[40..]).unwrap();
    Icmpv6Repr::parse(&icmp, ip.src_addr(), ip.dst_addr(), ChecksumCaps::FULL).unwrap()
}

//= https://www.rfc-editor.org/rfc/rfc8200#section-4.5
//= type=test
//# An original packet is reassembled only from fragment packets that
//# have the same Source Address, Destination Address, and Fragment
//# Identification.
#[test]
fn ipv6_fragments_are_reassembled_in_any_order() {
    let (mut s, h) = server();
    let data = payload(4000);
    let datagram = udp6(SRC, &data);
    let mut buf = vec![0u8; 8192];
    // In order.
    for f in fragments6(SRC, IpProtocol::Udp, 1, &datagram, 1232) {
        s.handle_frame(Instant::ZERO, &f);
    }
    let (n, from) = s.udp_recv_from(h, &mut buf).unwrap();
    assert_eq!(&buf[..n], &data[..]);
    assert_eq!(from, SocketAddr::new(IpAddr::V6(SRC), 5000));
    // Reversed, interleaved with a datagram of the same ident from another
    // source, which must not mix with it.
    let other_src = Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 9);
    let other = udp6(other_src, &payload(1000));
    let mut a = fragments6(SRC, IpProtocol::Udp, 2, &datagram, 512);
    a.reverse();
    let b = fragments6(other_src, IpProtocol::Udp, 2, &other, 256);
    for (i, f) in a.iter().enumerate() {
        s.handle_frame(Instant::ZERO, f);
        if let Some(g) = b.get(i) {
            s.handle_frame(Instant::ZERO, g);
        }
    }
    let (n, from) = s.udp_recv_from(h, &mut buf).unwrap();
    assert_eq!(
        (&buf[..n], from.ip()),
        (&payload(1000)[..], IpAddr::V6(other_src))
    );
    let (n, _) = s.udp_recv_from(h, &mut buf).unwrap();
    assert_eq!(&buf[..n], &data[..]);
    // Shuffled, tiny pieces.
    let mut c = fragments6(SRC, IpProtocol::Udp, 3, &datagram, 72);
    let mut rng = Rng::new(99);
    for i in (1..c.len()).rev() {
        c.swap(i, rng.below(i as u64 + 1) as usize);
    }
    for f in &c {
        s.handle_frame(Instant::ZERO, f);
    }
    let (n, _) = s.udp_recv_from(h, &mut buf).unwrap();
    assert_eq!(&buf[..n], &data[..]);
    let st = *s.stats();
    assert_eq!(st.frag_reassembled, 4);
    assert_eq!(st.frag_in, (a.len() + b.len() + c.len() + 4) as u64);
    assert_eq!(s.frag_memory(), (0, 0), "nothing held once complete");
    assert!(drain(&mut s, Instant::ZERO).is_empty());
}

//= https://www.rfc-editor.org/rfc/rfc6946#section-4
//= type=test
//# A host that receives an IPv6 packet that includes a Fragment Header
//# with the "Fragment Offset" equal to 0 and the "M" flag equal to 0 MUST
//# process that packet in isolation from any other packets/fragments,
//# even if such packets/fragments contain the same set {IPv6 Source
//# Address, IPv6 Destination Address, Fragment Identification}.
#[test]
fn an_atomic_fragment_stands_alone() {
    let (mut s, h) = server();
    let data = payload(64);
    let datagram = udp6(SRC, &data);
    // A pending first fragment of ident 5...
    s.handle_frame(
        Instant::ZERO,
        &fragment6((SRC, DST), IpProtocol::Udp, 5, 0, true, &datagram[..48]),
    );
    // ...and an atomic fragment of the same ident: delivered at once.
    s.handle_frame(
        Instant::ZERO,
        &fragment6((SRC, DST), IpProtocol::Udp, 5, 0, false, &datagram),
    );
    let mut buf = [0u8; 128];
    let (n, _) = s.udp_recv_from(h, &mut buf).unwrap();
    assert_eq!(&buf[..n], &data[..]);
    assert_eq!(s.frag_memory().1, 1, "the other is still waiting");
    // Its last piece completes it.
    s.handle_frame(
        Instant::ZERO,
        &fragment6((SRC, DST), IpProtocol::Udp, 5, 48, false, &datagram[48..]),
    );
    let (n, _) = s.udp_recv_from(h, &mut buf).unwrap();
    assert_eq!(&buf[..n], &data[..]);
    assert_eq!((s.stats().frag_in, s.stats().frag_reassembled), (2, 1));
}

//= https://www.rfc-editor.org/rfc/rfc5722#section-4
//= type=test
//# When reassembling an IPv6 datagram, if one or more its constituent
//# fragments is determined to be an overlapping fragment, the entire
//# datagram (and any constituent fragments, including those not yet
//# received) MUST be silently discarded.
#[test]
fn ipv6_overlaps_drop_the_datagram_and_duplicates_are_ignored() {
    let (mut s, h) = server();
    let datagram = udp6(SRC, &payload(2000));
    let frag = |ident, off: usize, end: usize| {
        let end = end.min(datagram.len());
        let more = end < datagram.len();
        fragment6(
            (SRC, DST),
            IpProtocol::Udp,
            ident,
            off,
            more,
            &datagram[off..end],
        )
    };
    s.handle_frame(Instant::ZERO, &frag(9, 0, 800));
    s.handle_frame(Instant::ZERO, &frag(9, 400, 1200));
    assert_eq!(s.stats().frag_overlaps, 1);
    assert_eq!(s.frag_memory(), (0, 0), "the whole datagram is gone");
    assert!(drain(&mut s, Instant::ZERO).is_empty(), "silently");
    // The rest arriving later starts a new datagram that never completes.
    s.handle_frame(Instant::ZERO, &frag(9, 800, 2008));
    let mut buf = [0u8; 4096];
    assert!(s.udp_recv_from(h, &mut buf).is_err());
    // An exact duplicate is harmless.
    s.handle_frame(Instant::ZERO, &frag(10, 0, 1024));
    s.handle_frame(Instant::ZERO, &frag(10, 0, 1024));
    s.handle_frame(Instant::ZERO, &frag(10, 1024, 2008));
    assert_eq!(s.stats().frag_duplicates, 1);
    assert_eq!(s.udp_recv_from(h, &mut buf).unwrap().0, 2000);
}

//= https://www.rfc-editor.org/rfc/rfc8200#section-4.5
//= type=test
//# If the first fragment
//# (i.e., the one with a Fragment Offset of zero) has been
//# received, an ICMP Time Exceeded -- Fragment Reassembly Time
//# Exceeded message should be sent to the source of that fragment.
#[test]
fn ipv6_reassembly_times_out_after_60_s_with_time_exceeded() {
    let (mut s, h) = server();
    let datagram = udp6(SRC, &payload(3000));
    let t0 = Instant::from_secs(5);
    let first = fragment6((SRC, DST), IpProtocol::Udp, 4, 0, true, &datagram[..1232]);
    s.handle_frame(t0, &first);
    assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(60)));
    s.handle_timeout(t0 + Duration::from_secs(59));
    assert_eq!(s.frag_memory().1, 1, "not yet");
    let t = t0 + Duration::from_secs(60);
    s.handle_timeout(t);
    assert_eq!(s.frag_memory(), (0, 0));
    assert_eq!(s.stats().frag_timeouts, 1);
    assert_eq!(s.poll_timeout(), None);
    let out = drain(&mut s, t);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].len(), 1280, "as much of the fragment as fits 1280");
    let ip = Ipv6Packet::new_checked(&out[0][..]).unwrap();
    assert_eq!((ip.src_addr(), ip.dst_addr()), (DST, SRC));
    let Icmpv6Repr::TimeExceeded {
        reason,
        header,
        data,
    } = icmpv6(&out[0])
    else {
        panic!("{:?}", icmpv6(&out[0]))
    };
    assert_eq!(reason, Icmpv6TimeExceeded::FragReassemblyExceeded);
    assert_eq!((header.src_addr, header.dst_addr), (SRC, DST));
    assert_eq!(
        header.next_header,
        IpProtocol::Udp,
        "walked past the Fragment header"
    );
    assert_eq!(
        &out[0][48..48 + 48],
        &first[..48],
        "the first fragment, quoted as it came"
    );
    assert_eq!(data, &datagram[..1280 - 40 - 8 - 48]);
    // Without the first fragment, nothing is sent.
    let t1 = t + Duration::from_secs(1);
    s.handle_frame(
        t1,
        &fragment6(
            (SRC, DST),
            IpProtocol::Udp,
            6,
            1232,
            false,
            &datagram[1232..],
        ),
    );
    s.handle_timeout(t1 + Duration::from_secs(60));
    assert_eq!(s.stats().frag_timeouts, 2);
    assert!(drain(&mut s, t1 + Duration::from_secs(60)).is_empty());
    // The late rest of ident 4 alone completes nothing.
    let t2 = t1 + Duration::from_secs(61);
    s.handle_frame(
        t2,
        &fragment6(
            (SRC, DST),
            IpProtocol::Udp,
            4,
            1232,
            false,
            &datagram[1232..],
        ),
    );
    let mut buf = [0u8; 4096];
    assert!(s.udp_recv_from(h, &mut buf).is_err());
}

/// A flood of incomplete IPv6 datagrams stays within IPv6's own bound and
/// leaves IPv4 reassembly alone (Linux keeps `ip6frag_high_thresh` apart
/// from `ipfrag_high_thresh`).
#[test]
fn ipv6_memory_bound_holds_under_a_flood() {
    let mut cfg = config(vec![IpAddr::V6(DST), B4], 7);
    cfg.frag6.memory = 256 * 1024;
    let limit = cfg.frag6.memory;
    let mut s = Stack::new(cfg);
    let h = s.udp_bind(SocketAddr::new(IpAddr::V6(DST), 7)).unwrap();
    let h4 = s.udp_bind(SocketAddr::new(B4, 7)).unwrap();
    let datagram = udp6(SRC, &payload(3000));
    let mut peak = 0;
    for i in 0..20_000u32 {
        let src = Ipv6Addr::new(0x2001, 2, 0, 1, 0, 0, (i >> 16) as u16, i as u16);
        let f = fragment6((src, DST), IpProtocol::Udp, i, 0, true, &datagram[..1232]);
        s.handle_frame(Instant::ZERO, &f);
        peak = peak.max(s.frag_memory().0);
    }
    assert!(peak <= limit, "peak {peak} within {limit}");
    assert!(s.stats().frag_no_memory > 0, "the bound was hit");
    let held = s.frag_memory().1;
    assert!(held > 100, "it held {held} datagrams before refusing more");
    // IPv4 has its own bound: a fragmented IPv4 datagram goes through.
    let datagram4 = udp_datagram(&payload(3000));
    for f in fragments(1, &datagram4, 1480) {
        s.handle_frame(Instant::ZERO, &f);
    }
    let mut buf = [0u8; 4096];
    assert_eq!(s.udp_recv_from(h4, &mut buf).unwrap().0, 3000);
    // IPv4's 30 s pass without touching IPv6's datagrams.
    s.handle_timeout(Instant::ZERO + Duration::from_secs(30));
    assert_eq!(s.frag_memory().1, held);
    // The timeout frees the flood; the Time Exceeded answers stay within
    // the ICMP rate limit.
    let t = Instant::ZERO + Duration::from_secs(60);
    assert_eq!(s.poll_timeout(), Some(t));
    s.handle_timeout(t);
    assert_eq!(s.frag_memory(), (0, 0));
    assert_eq!(s.stats().frag_timeouts, held as u64);
    let sent = drain(&mut s, t).len() as u64;
    assert_eq!(sent, u64::from(s.config().icmp_burst));
    assert_eq!(s.stats().icmp_rate_limited, held as u64 - sent);
    for f in fragments6(SRC, IpProtocol::Udp, 7, &datagram, 1232) {
        s.handle_frame(t, &f);
    }
    assert_eq!(s.udp_recv_from(h, &mut buf).unwrap().0, 3000);
}

/// The reassembly errors RFC 8200 4.5 and RFC 7112 name, answered with
/// Parameter Problem within the ICMP rate limit, never about an ICMPv6
/// error.
#[test]
fn malformed_ipv6_fragments_draw_parameter_problem() {
    let (mut s, _) = server();
    let addrs = (SRC, DST);
    let expect = |s: &mut Stack, code: Icmpv6ParamProblem, at: u32| {
        let out = drain(s, Instant::ZERO);
        assert_eq!(out.len(), 1);
        let Icmpv6Repr::ParamProblem {
            reason,
            pointer,
            header,
            ..
        } = icmpv6(&out[0])
        else {
            panic!("{:?}", icmpv6(&out[0]))
        };
        assert_eq!((reason, pointer, header.src_addr), (code, at, SRC));
    };
    //= https://www.rfc-editor.org/rfc/rfc8200#section-4.5
    //= type=test
    //# If the length of a fragment, as derived from the fragment
    //# packet's Payload Length field, is not a multiple of 8 octets
    //# and the M flag of that fragment is 1, then that fragment must
    //# be discarded and an ICMP Parameter Problem, Code 0, message
    //# should be sent to the source of the fragment, pointing to the
    //# Payload Length field of the fragment packet.
    s.handle_frame(
        Instant::ZERO,
        &fragment6(addrs, IpProtocol::Udp, 1, 0, true, &[0; 100]),
    );
    expect(&mut s, Icmpv6ParamProblem::ErroneousHeaderField, 4);
    //= https://www.rfc-editor.org/rfc/rfc8200#section-4.5
    //= type=test
    //# If the length and offset of a fragment are such that the
    //# Payload Length of the packet reassembled from that fragment
    //# would exceed 65,535 octets, then that fragment must be
    //# discarded and an ICMP Parameter Problem, Code 0, message should
    //# be sent to the source of the fragment, pointing to the Fragment
    //# Offset field of the fragment packet.
    s.handle_frame(
        Instant::ZERO,
        &fragment6(addrs, IpProtocol::Udp, 1, 65520, false, &[0; 16]),
    );
    expect(&mut s, Icmpv6ParamProblem::ErroneousHeaderField, 42);
    //= https://www.rfc-editor.org/rfc/rfc8200#section-4.5
    //= type=test
    //# If the first fragment does not include all headers through an
    //# Upper-Layer header, then that fragment should be discarded and
    //# an ICMP Parameter Problem, Code 3, message should be sent to
    //# the source of the fragment, with the Pointer field set to zero.
    // A Destination Options header of 16 octets cut after 8.
    let cut = [17, 1, 1, 4, 0, 0, 0, 0];
    s.handle_frame(
        Instant::ZERO,
        &fragment6(addrs, IpProtocol::Ipv6Opts, 1, 0, true, &cut),
    );
    expect(&mut s, Icmpv6ParamProblem::IncompleteHeaderChain, 0);
    // Every extension header whole, but no room for the UDP header.
    let opts = [17, 0, 1, 4, 0, 0, 0, 0];
    s.handle_frame(
        Instant::ZERO,
        &fragment6(addrs, IpProtocol::Ipv6Opts, 1, 0, true, &opts),
    );
    expect(&mut s, Icmpv6ParamProblem::IncompleteHeaderChain, 0);
    assert_eq!(s.frag_memory(), (0, 0), "none of them was kept");
    assert_eq!(s.stats().frag_malformed, 4);
    // The walk's other discards go the same way: an option of a type we do
    // not know, whose action bits say "discard and report" (RFC 8200 4.2).
    let udp = udp6(SRC, b"x");
    let ip = Ipv6Repr {
        src_addr: SRC,
        dst_addr: DST,
        next_header: IpProtocol::Ipv6Opts,
        payload_len: 8 + udp.len(),
        hop_limit: 64,
        traffic_class: 0,
        flow_label: 0,
    };
    let mut packet = vec![0u8; ip.buffer_len()];
    ip.emit(&mut Ipv6Packet::new_unchecked(&mut packet[..]));
    packet[40..48].copy_from_slice(&[17, 0, 0x9e, 4, 0, 0, 0, 0]);
    packet[48..].copy_from_slice(&udp);
    s.handle_frame(Instant::ZERO, &packet);
    expect(&mut s, Icmpv6ParamProblem::UnrecognizedOption, 42);
    //= https://www.rfc-editor.org/rfc/rfc4443#section-2.4
    //= type=test
    //# (e.1) An ICMPv6 error message.
    let mut unreachable = vec![1, 4, 0, 0, 0, 0, 0, 0];
    unreachable.extend_from_slice(&[0; 92]);
    s.handle_frame(
        Instant::ZERO,
        &fragment6(addrs, IpProtocol::Icmpv6, 1, 0, true, &unreachable),
    );
    assert!(drain(&mut s, Instant::ZERO).is_empty());
    // A burst is answered as far as the ICMP bucket allows.
    let before = s.stats().icmp_errors_sent;
    for _ in 0..100 {
        s.handle_frame(
            Instant::ZERO,
            &fragment6(addrs, IpProtocol::Udp, 1, 0, true, &[0; 100]),
        );
    }
    let answered = drain(&mut s, Instant::ZERO).len() as u64;
    assert_eq!(answered, s.stats().icmp_errors_sent - before);
    assert_eq!(before + answered, u64::from(s.config().icmp_burst));
    assert_eq!(s.stats().icmp_rate_limited, 100 - answered);
}

/// Fragments of fragments: no sender makes them. The walk refuses a second
/// Fragment header in the first fragment, so nothing is reassembled.
#[test]
fn fragments_of_fragments_are_dropped() {
    let (mut s, h) = server();
    let datagram = udp6(SRC, &payload(100));
    let mut inner = vec![0u8; 8];
    let atomic = Ipv6FragmentHeader {
        next_header: IpProtocol::Udp,
        offset: 0,
        more_fragments: false,
        ident: 77,
        data_offset: 8,
        next_header_pointer: 6,
    };
    atomic.emit((&mut inner[..8]).try_into().unwrap());
    inner.extend_from_slice(&datagram);
    for f in fragments6(SRC, IpProtocol::Ipv6Frag, 8, &inner, 64) {
        s.handle_frame(Instant::ZERO, &f);
    }
    let mut buf = [0u8; 256];
    assert!(s.udp_recv_from(h, &mut buf).is_err());
    assert_eq!(s.stats().ip_malformed, 1, "the first fragment");
    assert_eq!(s.stats().frag_reassembled, 0);
}

//= https://www.rfc-editor.org/rfc/rfc6980#section-5
//= type=test
//# Nodes MUST silently ignore the following Neighbor Discovery and
//# SEcure Neighbor Discovery messages if the packets carrying them
//# include an IPv6 Fragmentation Header:
#[test]
fn neighbor_discovery_in_a_fragment_is_ignored() {
    use crate::config::{Medium, StackConfig};
    use crate::wire::EthernetAddress;
    let mac = EthernetAddress([2, 0, 0, 0, 0, 2]);
    let mut s = Stack::new(StackConfig {
        medium: Medium::Ethernet(mac),
        ..config(vec![IpAddr::V6(DST)], 3)
    });
    let solicit = Icmpv6Repr::NeighborSolicit {
        target_addr: DST,
        lladdr: Some([2, 0, 0, 0, 0, 1]),
    };
    let mut icmp = vec![0u8; solicit.buffer_len()];
    solicit.emit(
        &mut Icmpv6Packet::new_unchecked(&mut icmp[..]),
        SRC,
        DST,
        ChecksumCaps::FULL,
    );
    let frame = |ip: Vec<u8>| {
        let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x86, 0xdd];
        f.extend_from_slice(&ip);
        f[14 + 7] = 255; // hop limit
        f
    };
    let atomic = fragment6((SRC, DST), IpProtocol::Icmpv6, 1, 0, false, &icmp);
    s.handle_frame(Instant::ZERO, &frame(atomic));
    let mut buf = [0u8; 1514];
    assert_eq!(s.poll_transmit(Instant::ZERO, &mut buf), None);
    assert_eq!(s.stats().link_malformed, 1);
    // The same solicitation without a Fragment header is answered.
    let ip = Ipv6Repr {
        src_addr: SRC,
        dst_addr: DST,
        next_header: IpProtocol::Icmpv6,
        payload_len: icmp.len(),
        hop_limit: 255,
        traffic_class: 0,
        flow_label: 0,
    };
    let mut whole = vec![0u8; ip.buffer_len()];
    ip.emit(&mut Ipv6Packet::new_unchecked(&mut whole[..]));
    whole[40..].copy_from_slice(&icmp);
    s.handle_frame(Instant::ZERO, &frame(whole));
    assert!(s.poll_transmit(Instant::ZERO, &mut buf).is_some());
    assert_eq!(s.stats().neighbor_adverts, 1);
}

/// An ICMPv6 echo request of 3000 octets, in fragments as a 1280-MTU
/// sender cuts it, is answered with an echo reply in fragments of the
/// stack's own MTU, which reassemble on the other stack.
#[test]
fn fragmented_echo_request_draws_a_fragmented_reply() {
    let (mut b, _) = server();
    let mut a = Stack::new(config(vec![IpAddr::V6(SRC)], 8));
    let data = payload(3000);
    let request = Icmpv6Repr::EchoRequest {
        ident: 0x4242,
        seq_no: 1,
        data: &data,
    };
    let mut icmp = vec![0u8; request.buffer_len()];
    request.emit(
        &mut Icmpv6Packet::new_unchecked(&mut icmp[..]),
        SRC,
        DST,
        ChecksumCaps::FULL,
    );
    for f in fragments6(SRC, IpProtocol::Icmpv6, 0x1234, &icmp, 1232) {
        b.handle_frame(Instant::ZERO, &f);
    }
    assert_eq!(b.stats().echo_replies, 1);
    let out = drain(&mut b, Instant::ZERO);
    assert_eq!(out.len(), 3, "3008 octets in pieces of 1448");
    // RFC 8200 4.5 on the wire: one Identification, offsets in 8-octet
    // units, every piece but the last a multiple of 8, each packet within
    // the MTU.
    let mut whole = Vec::new();
    let mut idents = Vec::new();
    for (i, packet) in out.iter().enumerate() {
        assert!(packet.len() <= 1500);
        let ip = Ipv6Packet::new_checked(&packet[..]).unwrap();
        assert_eq!(ip.next_header(), IpProtocol::Ipv6Frag);
        let fragment = ip.walk_extensions().unwrap().fragment.unwrap();
        let piece = &ip.payload()[8..];
        assert_eq!(fragment.next_header, IpProtocol::Icmpv6);
        assert_eq!(usize::from(fragment.offset), whole.len());
        assert_eq!(fragment.more_fragments, i + 1 < out.len());
        assert!(!fragment.more_fragments || piece.len().is_multiple_of(8));
        idents.push(fragment.ident);
        whole.extend_from_slice(piece);
    }
    assert!(idents.iter().all(|&id| id == idents[0]));
    let reply = Icmpv6Packet::new_checked(&whole[..]).unwrap();
    assert_eq!(
        Icmpv6Repr::parse(&reply, DST, SRC, ChecksumCaps::FULL).unwrap(),
        Icmpv6Repr::EchoReply {
            ident: 0x4242,
            seq_no: 1,
            data: &data,
        }
    );
    // The other stack puts the reply back together, in any order.
    for packet in out.iter().rev() {
        a.handle_frame(Instant::ZERO, packet);
    }
    assert_eq!(a.stats().frag_reassembled, 1);
    assert_eq!(a.stats().icmp_malformed, 0);
    assert_eq!(a.frag_memory(), (0, 0));
    // A second datagram gets another Identification.
    for f in fragments6(SRC, IpProtocol::Icmpv6, 0x1235, &icmp, 1232) {
        b.handle_frame(Instant::ZERO, &f);
    }
    let again = drain(&mut b, Instant::ZERO);
    let ident = |p: &[u8]| {
        let ip = Ipv6Packet::new_checked(p).unwrap();
        ip.walk_extensions().unwrap().fragment.unwrap().ident
    };
    assert_ne!(ident(&again[0]), idents[0]);
}

/// A UDP datagram of 20,000 octets crosses between two stacks over IPv6 as
/// fragments, and comes back the same way; IPv6's limit is 65,527 octets
/// of data, as on Linux.
#[test]
fn big_udp_datagrams_over_ipv6() {
    let mut p = two_stacks(Faults {
        delay: Duration::from_millis(1),
        ..Faults::default()
    });
    let server = p.b.udp_bind(SocketAddr::new(B6, 7)).unwrap();
    let client = p.a.udp_bind(SocketAddr::new(A6, 0)).unwrap();
    let data = payload(20_000);
    assert_eq!(
        p.a.udp_send_to(client, &data, SocketAddr::new(B6, 7)),
        Ok(20_000)
    );
    let mut buf = vec![0u8; 65536];
    let mut got = None;
    p.run_until(|p| {
        got = p.b.udp_recv_from(server, &mut buf).ok();
        got.is_some()
    })
    .unwrap();
    let (n, from) = got.unwrap();
    assert_eq!(&buf[..n], &data[..]);
    assert_eq!(p.b.stats().frag_reassembled, 1);
    assert_eq!(p.b.stats().frag_in, 14, "20,008 octets in pieces of 1448");
    p.b.udp_send_to(server, &buf[..n], from).unwrap();
    let mut back = vec![0u8; 65536];
    let mut reply = None;
    p.run_until(|p| {
        reply = p.a.udp_recv_from(client, &mut back).ok();
        reply.is_some()
    })
    .unwrap();
    assert_eq!(&back[..reply.unwrap().0], &data[..]);
    // The largest: 65,527 octets and the UDP header fill the Payload Length.
    let max = payload(65_527);
    assert_eq!(
        p.a.udp_send_to(client, &max, SocketAddr::new(B6, 7)),
        Ok(65_527)
    );
    p.run_until(|p| {
        got = p.b.udp_recv_from(server, &mut buf).ok();
        got.is_some()
    })
    .unwrap();
    assert_eq!(&buf[..got.unwrap().0], &max[..]);
    assert_eq!(
        p.a.udp_send_to(client, &payload(65_528), SocketAddr::new(B6, 7)),
        Err(SocketError::MessageTooLong)
    );
}

/// A Packet Too Big lowers a TCP connection's segments to the MTU it
/// reports, but never below IPv6's minimum of 1280 (RFC 8201 4, Linux
/// clamps the same way): TCP over IPv6 is never fragmented.
#[test]
fn packet_too_big_stops_at_the_minimum_mtu() {
    let mut p = two_stacks(Faults::default());
    let l = p.b.tcp_listen(SocketAddr::new(B6, 80), 4).unwrap();
    let (c, _, _) = p.establish(l, SocketAddr::new(B6, 80));
    let (a6, b6) = (SRC, DST);
    // A Packet Too Big from the path, quoting the start of `segment`.
    let too_big = |mtu: u32, segment: &[u8]| {
        let quoted = Ipv6Repr {
            src_addr: a6,
            dst_addr: b6,
            next_header: IpProtocol::Tcp,
            payload_len: segment.len() - 40,
            hop_limit: 64,
            traffic_class: 0,
            flow_label: 0,
        };
        let icmp = Icmpv6Repr::PktTooBig {
            mtu,
            header: quoted,
            data: &segment[40..48],
        };
        let ip = Ipv6Repr {
            src_addr: b6,
            dst_addr: a6,
            next_header: IpProtocol::Icmpv6,
            payload_len: icmp.buffer_len(),
            ..quoted
        };
        let mut frame = vec![0u8; ip.buffer_len()];
        ip.emit(&mut Ipv6Packet::new_unchecked(&mut frame[..]));
        icmp.emit(
            &mut Icmpv6Packet::new_unchecked(&mut frame[40..]),
            b6,
            a6,
            ChecksumCaps::FULL,
        );
        frame
    };
    p.a.tcp_send(c, &[5u8; 30_000]).unwrap();
    let sent = drain(&mut p.a, p.now);
    assert_eq!(sent[0].len(), 1500);
    let resent_after = |p: &mut Pair, mtu: u32| {
        p.a.handle_frame(p.now, &too_big(mtu, &sent[0]));
        p.now += Duration::from_secs(2);
        p.a.handle_timeout(p.now);
        drain(&mut p.a, p.now).iter().map(Vec::len).max().unwrap()
    };
    assert_eq!(resent_after(&mut p, 1400), 1400);
    //= https://www.rfc-editor.org/rfc/rfc8201#section-4
    //= type=test
    //# A
    //# node must not reduce its estimate of the Path MTU below the IPv6
    //# minimum link MTU on receipt of a Packet Too Big message.
    assert_eq!(resent_after(&mut p, 500), 1280);
    assert_eq!(p.a.stats().icmp_errors_received, 2);
}

/// Hostile input: IPv6 fragments with random offsets, lengths, flags,
/// idents and headers, some corrupted or cut, never panic and never exceed
/// the memory bound.
#[test]
fn random_ipv6_fragments_never_panic_and_stay_bounded() {
    let mut cfg = config(vec![IpAddr::V6(DST)], 9);
    cfg.frag6.memory = 64 * 1024;
    let mut s = Stack::new(cfg);
    s.udp_bind(SocketAddr::new(IpAddr::V6(DST), 7)).unwrap();
    s.tcp_listen(SocketAddr::new(IpAddr::V6(DST), 80), 4)
        .unwrap();
    let mut rng = Rng::new(4321);
    let datagram = udp6(SRC, &payload(3000));
    let nexts = [
        IpProtocol::Udp,
        IpProtocol::Tcp,
        IpProtocol::Icmpv6,
        IpProtocol::Ipv6Opts,
        IpProtocol::Ipv6Frag,
        IpProtocol::Unknown(99),
    ];
    let mut now = Instant::ZERO;
    for i in 0..20_000u32 {
        if rng.chance(0.01) {
            // Now and then a well-formed datagram of a fresh ident, whose
            // rebuilt packet goes through the input again.
            for f in fragments6(SRC, nexts[0], 1000 + i, &datagram, 1232) {
                s.handle_frame(now, &f);
            }
        }
        let off = (rng.below(400) * 8) as usize;
        let off = off.min(datagram.len() - 1);
        let end = (off + 1 + rng.below(1400) as usize).min(datagram.len());
        let next = nexts[rng.below(nexts.len() as u64) as usize];
        let more = rng.chance(0.7);
        let ident = rng.below(8) as u32;
        let mut f = fragment6((SRC, DST), next, ident, off, more, &datagram[off..end]);
        if rng.chance(0.3) {
            // Offset, M and the reserved bits at random.
            f[42] = rng.below(256) as u8;
            f[43] = rng.below(256) as u8;
        }
        super::mangle(&mut rng, &mut f);
        s.handle_frame(now, &f);
        assert!(s.frag_memory().0 <= 64 * 1024);
        if rng.chance(0.01) {
            now += Duration::from_secs(rng.below(80));
            s.handle_timeout(now);
        }
        drain(&mut s, now);
    }
    let st = s.stats();
    assert!(st.frag_in > 10_000, "{st:?}");
    assert!(st.frag_overlaps > 0 && st.frag_malformed > 0, "{st:?}");
    assert!(st.frag_reassembled > 0 && st.frag_timeouts > 0, "{st:?}");
}
