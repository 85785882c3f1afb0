//! What one SYN costs berth's core under a flood: a listener whose SYN
//! queue is full answers every further SYN with a SYN cookie (RFC 4987
//! 3.6, as Linux does), without keeping any state. Each iteration takes one
//! SYN from a spoofed source (4,096 distinct sources and ports, in turn)
//! through `handle_frame` and writes the cookie SYN-ACK with
//! `poll_transmit`: parse, checksum, demux, the cookie's hash, the answer's
//! options and checksum. The inverse of the time per element is how many
//! SYNs one core absorbs, before any device cost.
//!
//! ```sh
//! cargo bench -p berth-core --bench syn -- --warm-up-time 1 --measurement-time 5
//! ```

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use berth_core::config::StackConfig;
use berth_core::stack::Stack;
use berth_core::time::{Duration, Instant};
use berth_core::wire::{
    ChecksumCaps, Ecn, IpProtocol, Ipv4Packet, Ipv4Repr, TcpFlags, TcpPacket, TcpRepr,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const SERVER: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);

/// A SYN to the server's port 80 from `src`:`port`, with the options a
/// Linux client sends (MSS, SACK permitted, timestamps, window scale).
fn syn(src: Ipv4Addr, port: u16, seq: u32) -> Vec<u8> {
    let tcp = TcpRepr {
        src_port: port,
        dst_port: 80,
        seq_number: seq,
        ack_number: None,
        flags: TcpFlags::SYN,
        window_len: 64240,
        urgent_pointer: 0,
        max_seg_size: Some(1460),
        window_scale: Some(7),
        sack_permitted: true,
        sack_ranges: [None; 4],
        timestamp: Some((seq, 0)),
        payload: &[],
    };
    let ip = Ipv4Repr {
        src_addr: src,
        dst_addr: SERVER,
        next_header: IpProtocol::Tcp,
        payload_len: tcp.buffer_len(),
        hop_limit: 64,
        dscp: 0,
        ecn: Ecn::NotEct,
        ident: 0,
        dont_frag: true,
        more_frags: false,
        frag_offset: 0,
    };
    let mut frame = vec![0u8; ip.buffer_len() + tcp.buffer_len()];
    let mut packet = Ipv4Packet::new_unchecked(&mut frame[..]);
    ip.emit(&mut packet);
    tcp.emit(
        &mut TcpPacket::new_unchecked(packet.payload_mut()),
        IpAddr::V4(src),
        IpAddr::V4(SERVER),
        ChecksumCaps::FULL,
    );
    frame
}

fn bench(c: &mut Criterion) {
    let mut stack = Stack::new(StackConfig {
        addrs: vec![IpAddr::V4(SERVER)],
        seed: 7,
        ..StackConfig::default()
    });
    stack
        .tcp_listen(SocketAddr::new(IpAddr::V4(SERVER), 80), 128)
        .unwrap_or_else(|e| unreachable!("listening on a fresh stack: {e}"));
    let now = Instant::ZERO + Duration::from_secs(1);
    let mut buf = vec![0u8; 1500];
    // Fill the SYN queue: from here on every SYN is answered with a cookie.
    for i in 0..128u32 {
        stack.handle_frame(now, &syn(Ipv4Addr::new(198, 19, 0, 1), 1024 + i as u16, i));
        while stack.poll_transmit(now, &mut buf).is_some() {}
    }
    let flood: Vec<Vec<u8>> = (0..4096u32)
        .map(|i| {
            let src = Ipv4Addr::new(198, 19, (i >> 8) as u8 + 1, i as u8);
            syn(
                src,
                2000 + (i % 60000) as u16,
                i.wrapping_mul(2_654_435_761),
            )
        })
        .collect();
    let before = stack.stats().syncookies_sent;
    let mut g = c.benchmark_group("syn_flood");
    g.throughput(Throughput::Elements(1));
    let mut i = 0usize;
    g.bench_function("cookie_syn_ack", |b| {
        b.iter(|| {
            let frame = &flood[i % flood.len()];
            i += 1;
            stack.handle_frame(now, black_box(frame));
            black_box(stack.poll_transmit(now, &mut buf))
        })
    });
    g.finish();
    assert!(
        stack.stats().syncookies_sent > before,
        "the SYNs were answered with cookies"
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
