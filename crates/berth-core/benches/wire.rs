//! Wire parse benchmarks: berth against etherparse on the same bytes.
//!
//! Each case parses a TCP/IPv4 packet the way a receive path must: the IPv4
//! header and its checksum, the TCP header, its checksum over the
//! pseudo-header and the whole segment, and its options. Both sides do that
//! same work on the same buffer; throughput is in packets (one element per
//! iteration). `checksum` times the Internet checksum of 1500 bytes alone.
//!
//! ```sh
//! cargo bench -p berth-core --bench wire -- --warm-up-time 1 --measurement-time 5
//! ```
//!
//! Results and how to read them: docs/PERFORMANCE.md.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use berth_core::wire::{
    ChecksumCaps, Ecn, IpProtocol, Ipv4Packet, Ipv4Repr, TcpFlags, TcpPacket, TcpRepr, checksum,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use etherparse::checksum::Sum16BitWords;
use etherparse::{NetSlice, SlicedPacket, TransportSlice};

const SRC: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
const DST: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);

/// A TCP/IPv4 packet built with berth's emitters: an ACK with Timestamps,
/// `sack` SACK blocks and `payload_len` bytes of data.
fn packet(payload_len: usize, sack: usize) -> Vec<u8> {
    let payload: Vec<u8> = (0..payload_len).map(|i| (i * 7) as u8).collect();
    let mut sack_ranges = [None; 4];
    for (i, range) in sack_ranges.iter_mut().take(sack).enumerate() {
        let left = 100_000 + 3000 * i as u32;
        *range = Some((left, left + 1448));
    }
    let tcp = TcpRepr {
        src_port: 40000,
        dst_port: 80,
        seq_number: 0x0102_0304,
        ack_number: Some(0x0a0b_0c0d),
        flags: TcpFlags::ACK | TcpFlags::PSH,
        window_len: 502,
        urgent_pointer: 0,
        max_seg_size: None,
        window_scale: None,
        sack_permitted: false,
        sack_ranges,
        timestamp: Some((0x1111_2222, 0x3333_4444)),
        payload: &payload,
    };
    let ip = Ipv4Repr {
        src_addr: SRC,
        dst_addr: DST,
        next_header: IpProtocol::Tcp,
        payload_len: tcp.buffer_len(),
        hop_limit: 64,
        dscp: 0,
        ecn: Ecn::NotEct,
        ident: 0x4242,
        dont_frag: true,
        more_frags: false,
        frag_offset: 0,
    };
    let mut bytes = vec![0u8; ip.buffer_len()];
    let mut ip_packet = Ipv4Packet::new_unchecked(&mut bytes[..]);
    ip.emit(&mut ip_packet);
    tcp.emit(
        &mut TcpPacket::new_unchecked(ip_packet.payload_mut()),
        IpAddr::V4(SRC),
        IpAddr::V4(DST),
        ChecksumCaps::FULL,
    );
    bytes
}

/// berth: IPv4 view and Repr (header checksum verified), TCP view and Repr
/// (checksum verified, options parsed). Returns the payload length.
fn berth_parse(bytes: &[u8]) -> Option<usize> {
    let ip = Ipv4Packet::new_checked(bytes).ok()?;
    let ip_repr = Ipv4Repr::parse(&ip, ChecksumCaps::FULL).ok()?;
    let tcp = TcpPacket::new_checked(ip.payload()).ok()?;
    let (src, dst) = (IpAddr::V4(ip_repr.src_addr), IpAddr::V4(ip_repr.dst_addr));
    let repr = TcpRepr::parse(&tcp, src, dst, ChecksumCaps::FULL).ok()?;
    black_box(&repr);
    Some(repr.payload.len())
}

/// etherparse: slice the packet, verify the IPv4 header checksum (the sum
/// over the header slice: cheaper than `to_header().calc_header_checksum()`),
/// verify the TCP checksum with `calc_checksum_ipv4`, and walk the options.
/// Returns the payload length.
fn etherparse_parse(bytes: &[u8]) -> Option<usize> {
    let packet = SlicedPacket::from_ip(bytes).ok()?;
    let Some(NetSlice::Ipv4(ip)) = &packet.net else {
        return None;
    };
    let header = ip.header();
    if Sum16BitWords::new()
        .add_slice(header.slice())
        .ones_complement()
        != 0
    {
        return None;
    }
    let Some(TransportSlice::Tcp(tcp)) = &packet.transport else {
        return None;
    };
    let expected = tcp
        .calc_checksum_ipv4(header.source(), header.destination())
        .ok()?;
    if expected != tcp.checksum() {
        return None;
    }
    for option in tcp.options_iterator() {
        black_box(option.ok()?);
    }
    Some(tcp.payload().len())
}

fn parse(c: &mut Criterion) {
    let cases = [
        ("tcp_ipv4_1500", packet(1448, 0)),
        ("tcp_ipv4_64", packet(0, 1)),
    ];
    for (name, bytes) in &cases {
        // Both sides accept the packet and see the same payload.
        assert_eq!(berth_parse(bytes), etherparse_parse(bytes));
        assert!(berth_parse(bytes).is_some(), "{name}");
        let mut group = c.benchmark_group(*name);
        group.throughput(Throughput::Elements(1));
        group.bench_function("berth", |b| {
            b.iter(|| berth_parse(black_box(bytes)));
        });
        group.bench_function("etherparse", |b| {
            b.iter(|| etherparse_parse(black_box(bytes)));
        });
        group.finish();
    }
    assert_eq!(cases[0].1.len(), 1500);
    assert_eq!(cases[1].1.len(), 64);
}

fn checksum_1500(c: &mut Criterion) {
    let bytes: Vec<u8> = (0..1500u32).map(|i| (i * 31 + 7) as u8).collect();
    assert_eq!(
        !checksum::data(&bytes),
        Sum16BitWords::new()
            .add_slice(&bytes)
            .ones_complement()
            .to_be()
    );
    let mut group = c.benchmark_group("checksum_1500");
    group.throughput(Throughput::Elements(1));
    group.bench_function("berth", |b| {
        b.iter(|| checksum::data(black_box(&bytes)));
    });
    group.bench_function("etherparse", |b| {
        b.iter(|| {
            Sum16BitWords::new()
                .add_slice(black_box(&bytes))
                .ones_complement()
                .to_be()
        });
    });
    group.finish();
}

criterion_group!(benches, parse, checksum_1500);
criterion_main!(benches);
