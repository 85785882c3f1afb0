//! Transparent sockets: a stack that owns only 198.18.0.2 takes a TCP
//! connection and a UDP flow to arbitrary 198.19.x.y addresses, keeps the
//! original destination, and answers from it; without a transparent socket
//! the same packets are `not_for_us` and draw no answer.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::{A4, A6, B4, Pair, two_stacks};
use crate::stack::SocketError;
use crate::tcp::State;
use crate::testing::Faults;
use crate::time::{Duration, Instant};
use crate::wire::Ipv4Packet;

fn far(c: u8, d: u8, port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(198, 19, c, d)), port)
}

fn pair() -> Pair {
    two_stacks(Faults {
        delay: Duration::from_millis(2),
        ..Faults::default()
    })
}

/// Reads what is there; `true` at end of stream.
fn drain(s: &mut crate::stack::Stack, h: crate::handle::SocketHandle, into: &mut Vec<u8>) -> bool {
    let mut buf = [0u8; 4096];
    loop {
        match s.tcp_recv(h, &mut buf) {
            Ok(0) => return true,
            Ok(n) => into.extend_from_slice(&buf[..n]),
            Err(SocketError::WouldBlock) => return false,
            Err(e) => panic!("recv: {e}"),
        }
    }
}

#[test]
fn tcp_to_any_address_keeps_the_original_destination() {
    let mut p = pair();
    let t = p.b.tcp_listen_transparent(16).unwrap();
    assert!(p.b.is_transparent(t));
    assert_eq!(
        p.b.tcp_listen_transparent(16),
        Err(SocketError::AddrInUse),
        "one transparent listener per stack"
    );
    let dst = far(7, 9, 4242);
    let (c, s, peer) = p.establish(t, dst);
    assert_eq!(peer, p.a.local_addr(c).unwrap());
    assert_eq!(
        p.b.local_addr(s).unwrap(),
        dst,
        "the address the client dialled"
    );
    assert_eq!(p.b.tcp_info(s).unwrap().remote, peer);
    // The connection outlives the transparent listener that made it.
    p.b.close(p.now, t).unwrap();

    // Half-close carried both ways: the client sends and shuts down; the
    // "proxy" reads to end of stream, then answers and shuts down.
    let request: Vec<u8> = (0..50_000u32).map(|i| (i % 253) as u8).collect();
    let mut sent = 0;
    let (mut got, mut back) = (Vec::new(), Vec::new());
    let (mut server_eof, mut replied, mut client_eof) = (false, false, false);
    p.run_until(|p| {
        if sent < request.len() {
            if let Ok(n) = p.a.tcp_send(c, &request[sent..]) {
                sent += n;
            }
            if sent == request.len() {
                p.a.tcp_shutdown_write(c).unwrap();
            }
        }
        if !server_eof {
            server_eof = drain(&mut p.b, s, &mut got);
        }
        if server_eof && !replied {
            assert_eq!(p.b.tcp_send(s, b"thanks").unwrap(), 6);
            p.b.tcp_shutdown_write(s).unwrap();
            replied = true;
        }
        if !client_eof {
            client_eof = drain(&mut p.a, c, &mut back);
        }
        client_eof
    })
    .unwrap();
    assert!(got == request, "request intact");
    assert_eq!(back, b"thanks");
    assert_eq!(p.b.transparent_stats().tcp_opened, 1);
    assert!(p.b.transparent_stats().non_local_in > 0);
    assert_eq!(p.b.stats().not_for_us, 0);
    p.a.tcp_close(p.now, c).unwrap();
    p.b.tcp_close(p.now, s).unwrap();
    p.run_until(|p| p.a.socket_count() == 0 && p.b.socket_count() == 0)
        .unwrap();
    assert_eq!(p.b.stats().resets_sent, 0);
    // With nothing transparent left, the address is another host's again.
    let c = p.a.tcp_connect(p.now, dst, None).unwrap();
    let until = p.now + Duration::from_secs(2);
    p.run_until(|p| p.now >= until).unwrap();
    assert_eq!(p.a.tcp_state(c).unwrap(), State::SynSent);
    assert!(p.b.stats().not_for_us > 0);
}

#[test]
fn specific_and_wildcard_listeners_win_over_transparent() {
    let mut p = pair();
    let t = p.b.tcp_listen_transparent(16).unwrap();
    let specific = p.b.tcp_listen(SocketAddr::new(B4, 80), 16).unwrap();
    let wild =
        p.b.tcp_listen(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 81), 16)
            .unwrap();
    let c1 =
        p.a.tcp_connect(p.now, SocketAddr::new(B4, 80), None)
            .unwrap();
    let c2 =
        p.a.tcp_connect(p.now, SocketAddr::new(B4, 81), None)
            .unwrap();
    // Our own address on a port nobody listens on: the transparent one.
    let c3 =
        p.a.tcp_connect(p.now, SocketAddr::new(B4, 82), None)
            .unwrap();
    p.run_until(|p| {
        let queued = |l| p.b.listener_queue(l).unwrap().1;
        [c1, c2, c3]
            .iter()
            .all(|&c| p.a.tcp_state(c).unwrap() == State::Established)
            && queued(specific) + queued(wild) + queued(t) == 3
    })
    .unwrap();
    assert!(p.b.tcp_accept(specific).unwrap().is_some());
    assert!(p.b.tcp_accept(wild).unwrap().is_some());
    let (s3, _) = p.b.tcp_accept(t).unwrap().unwrap();
    assert_eq!(p.b.local_addr(s3).unwrap(), SocketAddr::new(B4, 82));
    assert_eq!(p.b.tcp_accept(t).unwrap(), None, "only the unclaimed one");
}

#[test]
fn without_a_transparent_socket_other_addresses_are_not_for_us() {
    let mut p = pair();
    let c = p.a.tcp_connect(p.now, far(1, 1, 80), None).unwrap();
    let u = p.a.udp_bind(SocketAddr::new(A4, 0)).unwrap();
    p.a.udp_send_to(u, b"hello?", far(1, 1, 53)).unwrap();
    // A few SYN retransmissions, no answer at all (no RST, no ICMP).
    let until = p.now + Duration::from_secs(4);
    p.run_until(|p| p.now >= until).unwrap();
    assert_eq!(p.a.tcp_state(c).unwrap(), State::SynSent);
    assert!(p.b.stats().not_for_us >= 3, "{:?}", p.b.stats());
    assert_eq!(p.b.stats().resets_sent, 0);
    assert_eq!(p.b.stats().icmp_errors_sent, 0);
    assert_eq!(p.b.transparent_stats().non_local_in, 0);

    // Once it is closed, they are refused again.
    let t = p.b.tcp_listen_transparent(4).unwrap();
    p.b.close(p.now, t).unwrap();
    let before = p.b.stats().not_for_us;
    p.a.udp_send_to(u, b"hello?", far(1, 1, 53)).unwrap();
    p.run_until(|p| p.b.stats().not_for_us > before).unwrap();
}

#[test]
fn transparent_tcp_only_leaves_udp_to_other_addresses_alone() {
    let mut p = pair();
    let _t = p.b.tcp_listen_transparent(4).unwrap();
    let u = p.a.udp_bind(SocketAddr::new(A4, 0)).unwrap();
    p.a.udp_send_to(u, b"hello?", far(1, 1, 53)).unwrap();
    p.run_until(|p| p.b.stats().not_for_us == 1).unwrap();
    assert_eq!(p.b.stats().icmp_errors_sent, 0, "no port unreachable");
}

#[test]
fn udp_round_trip_preserves_the_original_destination() {
    let mut p = pair();
    let t = p.b.udp_bind_transparent().unwrap();
    assert_eq!(p.b.udp_bind_transparent(), Err(SocketError::AddrInUse));
    // A bound socket on our own address still gets its own datagrams.
    let mine = p.b.udp_bind(SocketAddr::new(B4, 7)).unwrap();
    for (a, dst) in [
        (A4, far(3, 4, 53)),
        (
            A6,
            SocketAddr::new(IpAddr::V6(Ipv6Addr::new(0x2001, 2, 0, 9, 0, 0, 0, 9)), 4500),
        ),
    ] {
        let client = p.a.udp_bind(SocketAddr::new(a, 0)).unwrap();
        let client_addr = p.a.local_addr(client).unwrap();
        p.a.udp_send_to(client, b"query", dst).unwrap();
        let mut buf = [0u8; 64];
        let mut got = None;
        p.run_until(|p| {
            got = p.b.udp_recv_from_orig(t, &mut buf).ok();
            got.is_some()
        })
        .unwrap();
        let (n, from, orig) = got.unwrap();
        assert_eq!((&buf[..n], from, orig), (&b"query"[..], client_addr, dst));
        p.b.udp_send_from(t, b"answer", orig, from).unwrap();
        let mut back = [0u8; 64];
        let mut reply = None;
        p.run_until(|p| {
            reply = p.a.udp_recv_from(client, &mut back).ok();
            reply.is_some()
        })
        .unwrap();
        let (n, replier) = reply.unwrap();
        assert_eq!((&back[..n], replier), (&b"answer"[..], dst));
        p.a.close(p.now, client).unwrap();
    }
    let client = p.a.udp_bind(SocketAddr::new(A4, 0)).unwrap();
    p.a.udp_send_to(client, b"to 7", SocketAddr::new(B4, 7))
        .unwrap();
    let mut buf = [0u8; 16];
    let mut got = None;
    p.run_until(|p| {
        got = p.b.udp_recv_from(mine, &mut buf).ok();
        got.is_some()
    })
    .unwrap();
    assert!(matches!(
        p.b.udp_recv_from_orig(t, &mut buf),
        Err(SocketError::WouldBlock)
    ));
    let ts = *p.b.transparent_stats();
    assert_eq!((ts.udp_in, ts.udp_out), (2, 2));

    // Misuse is refused, never panics.
    assert_eq!(
        p.b.udp_send_from(mine, b"x", far(1, 1, 1), SocketAddr::new(A4, 9)),
        Err(SocketError::InvalidInput),
        "a foreign source needs a transparent socket"
    );
    let bad_from = [
        SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 53),
        SocketAddr::new(IpAddr::V4(Ipv4Addr::BROADCAST), 53),
        SocketAddr::new(IpAddr::V4(Ipv4Addr::new(224, 0, 0, 1)), 53),
        far(1, 1, 0),
        SocketAddr::new(A6, 53),
    ];
    for from in bad_from {
        assert_eq!(
            p.b.udp_send_from(t, b"x", from, SocketAddr::new(A4, 9)),
            Err(SocketError::InvalidInput),
            "from {from}"
        );
    }
    assert_eq!(
        p.b.udp_send_to(t, b"x", SocketAddr::new(A4, 9)),
        Err(SocketError::InvalidInput)
    );
    assert_eq!(
        p.b.udp_connect(t, SocketAddr::new(A4, 9)),
        Err(SocketError::InvalidInput)
    );
    p.b.close(p.now, t).unwrap();
    assert!(p.b.udp_bind_transparent().is_ok(), "free again once closed");
}

/// An echo request from the client to `dst`, with a valid checksum.
fn echo_to(dst: [u8; 4]) -> Vec<u8> {
    let mut frame = super::echo_request(1);
    let mut ip = Ipv4Packet::new_unchecked(&mut frame[..]);
    ip.set_dst_addr(Ipv4Addr::from(dst));
    ip.fill_checksum();
    frame
}

#[test]
fn pings_to_other_addresses_are_not_answered() {
    let mut b = crate::stack::Stack::new(super::config(vec![B4], 2));
    let _t = b.tcp_listen_transparent(4).unwrap();
    b.handle_frame(Instant::ZERO, &echo_to([198, 19, 0, 1]));
    let mut buf = [0u8; 1500];
    assert_eq!(b.poll_transmit(Instant::ZERO, &mut buf), None);
    assert_eq!(b.stats().echo_replies, 0);
    assert_eq!(b.stats().not_for_us, 1);
    // Martian destinations are never taken, transparent socket or not.
    for dst in [
        [255, 255, 255, 255],
        [127, 0, 0, 1],
        [224, 0, 0, 9],
        [0, 0, 0, 0],
    ] {
        b.handle_frame(Instant::ZERO, &echo_to(dst));
    }
    assert_eq!(b.stats().ip_malformed, 0, "the frames were well formed");
    assert_eq!(b.stats().not_for_us, 3);
    assert_eq!(b.stats().multicast_not_joined, 1, "224.0.0.9");
    assert_eq!(b.stats().martian_destination, 1, "127.0.0.1");
    assert_eq!(b.transparent_stats().non_local_in, 0, "ICMP is not relayed");
}

#[test]
fn with_transparent_echo_pings_to_any_address_are_answered_from_it() {
    let mut cfg = super::config(vec![B4], 2);
    cfg.transparent_echo = true;
    let mut b = crate::stack::Stack::new(cfg);
    let mut buf = [0u8; 1500];
    // Not without a transparent socket.
    b.handle_frame(Instant::ZERO, &echo_to([198, 19, 0, 1]));
    assert_eq!(b.poll_transmit(Instant::ZERO, &mut buf), None);
    let _t = b.udp_bind_transparent().unwrap();
    b.handle_frame(Instant::ZERO, &echo_to([198, 19, 0, 1]));
    let n = b.poll_transmit(Instant::ZERO, &mut buf).unwrap();
    let ip = Ipv4Packet::new_checked(&buf[..n]).unwrap();
    assert_eq!(
        ip.src_addr(),
        Ipv4Addr::new(198, 19, 0, 1),
        "from the address pinged"
    );
    assert_eq!(b.stats().echo_replies, 1);
    // Martians still are not.
    b.handle_frame(Instant::ZERO, &echo_to([255, 255, 255, 255]));
    assert_eq!(b.poll_transmit(Instant::ZERO, &mut buf), None);
}

#[test]
fn the_echo_socket_takes_pings_to_other_hosts_and_answers_only_when_told() {
    let mut b = crate::stack::Stack::new(super::config(vec![B4], 2));
    let e = b.icmp_echo_bind_transparent().unwrap();
    assert_eq!(
        b.icmp_echo_bind_transparent(),
        Err(SocketError::AddrInUse),
        "one per stack"
    );
    let mut buf = [0u8; 1500];
    b.handle_frame(Instant::ZERO, &echo_to([198, 19, 0, 1]));
    assert_eq!(
        b.poll_transmit(Instant::ZERO, &mut buf),
        None,
        "not answered yet"
    );
    let req = b.icmp_echo_recv(e).unwrap();
    assert_eq!(req.dst, IpAddr::V4(Ipv4Addr::new(198, 19, 0, 1)));
    assert_eq!(req.src, IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1)));
    assert_eq!(b.icmp_echo_recv(e), Err(SocketError::WouldBlock));
    b.icmp_echo_reply(e, &req).unwrap();
    let n = b.poll_transmit(Instant::ZERO, &mut buf).unwrap();
    let ip = Ipv4Packet::new_checked(&buf[..n]).unwrap();
    assert_eq!(ip.src_addr(), Ipv4Addr::new(198, 19, 0, 1));
    // Pings to our own address are still the stack's to answer.
    b.handle_frame(Instant::ZERO, &echo_to([198, 18, 0, 2]));
    assert!(b.poll_transmit(Instant::ZERO, &mut buf).is_some());
    assert_eq!(b.icmp_echo_recv(e), Err(SocketError::WouldBlock));
    // A full queue drops, counted.
    for _ in 0..100 {
        b.handle_frame(Instant::ZERO, &echo_to([198, 19, 0, 2]));
    }
    assert_eq!(b.stats().echo_queue_full, 100 - 64);
    b.close(Instant::ZERO, e).unwrap();
    assert!(b.icmp_echo_bind_transparent().is_ok(), "free again");
}

/// Hostile input at transparent sockets: segments with random flags,
/// numbers and options to random 198.19.x.y addresses and ports, random
/// datagrams, some corrupted or cut short, never panic, and the sockets
/// they make stay within the configured limit.
#[test]
fn random_segments_to_any_address_never_panic_and_stay_bounded() {
    use crate::wire::tcp_option::MAX_SACK_BLOCKS;
    use crate::wire::{
        ChecksumCaps, Ecn, IpProtocol, Ipv4Repr, TcpFlags, TcpPacket, TcpRepr, UdpPacket, UdpRepr,
    };

    let mut cfg = super::config(vec![B4], 21);
    cfg.max_sockets = 128;
    let mut s = crate::stack::Stack::new(cfg);
    let tl = s.tcp_listen_transparent(8).unwrap();
    let ul = s.udp_bind_transparent().unwrap();
    let mut rng = crate::rng::Rng::new(77);
    let mut now = Instant::ZERO;
    let mut out = [0u8; 1500];
    let mut buf = [0u8; 2048];
    let payload: Vec<u8> = (0..1400u32).map(|i| i as u8).collect();
    let src = Ipv4Addr::new(198, 18, 0, 1);
    for _ in 0..20_000 {
        let dst = Ipv4Addr::new(198, 19, rng.below(4) as u8, rng.below(4) as u8);
        let data = &payload[..rng.below(1400) as usize];
        let udp = rng.chance(0.2);
        let mut l4 = Vec::new();
        if udp {
            let repr = UdpRepr {
                src_port: 1 + rng.below(8) as u16,
                dst_port: rng.below(8) as u16,
                payload: data,
            };
            l4.resize(repr.buffer_len(), 0);
            repr.emit(
                &mut UdpPacket::new_unchecked(&mut l4[..]),
                IpAddr::V4(src),
                IpAddr::V4(dst),
                ChecksumCaps::FULL,
            );
        } else {
            let flags = TcpFlags::from_bits(rng.below(64) as u8);
            let repr = TcpRepr {
                src_port: 1 + rng.below(8) as u16,
                dst_port: rng.below(8) as u16,
                seq_number: rng.next_u64() as u32,
                ack_number: flags.contains(TcpFlags::ACK).then(|| rng.next_u64() as u32),
                flags,
                window_len: rng.below(65536) as u16,
                urgent_pointer: 0,
                max_seg_size: rng.chance(0.5).then(|| rng.below(65536) as u16),
                window_scale: rng.chance(0.5).then(|| rng.below(20) as u8),
                sack_permitted: rng.chance(0.5),
                sack_ranges: [None; MAX_SACK_BLOCKS],
                timestamp: rng
                    .chance(0.5)
                    .then(|| (rng.next_u64() as u32, rng.next_u64() as u32)),
                payload: data,
            };
            l4.resize(repr.buffer_len(), 0);
            repr.emit(
                &mut TcpPacket::new_unchecked(&mut l4[..]),
                IpAddr::V4(src),
                IpAddr::V4(dst),
                ChecksumCaps::FULL,
            );
        }
        let ip = Ipv4Repr {
            src_addr: src,
            dst_addr: dst,
            next_header: if udp {
                IpProtocol::Udp
            } else {
                IpProtocol::Tcp
            },
            payload_len: l4.len(),
            hop_limit: 64,
            dscp: 0,
            ecn: Ecn::NotEct,
            ident: 0,
            dont_frag: true,
            more_frags: false,
            frag_offset: 0,
        };
        let mut f = vec![0u8; ip.buffer_len()];
        ip.emit(&mut Ipv4Packet::new_unchecked(&mut f[..20]));
        f[20..].copy_from_slice(&l4);
        super::mangle(&mut rng, &mut f);
        s.handle_frame(now, &f);
        if rng.chance(0.05) {
            // The application accepts and reads now and then.
            if let Ok(Some((c, _))) = s.tcp_accept(tl) {
                assert!(!s.local_addr(c).unwrap().ip().is_unspecified());
                let _ = s.tcp_recv(c, &mut buf);
                let _ = s.tcp_close(now, c);
            }
            while s.udp_recv_from_orig(ul, &mut buf).is_ok() {}
        }
        if rng.chance(0.01) {
            now += Duration::from_millis(rng.below(5000));
            s.handle_timeout(now);
        }
        while s.poll_transmit(now, &mut out).is_some() {}
        assert!(s.socket_count() <= 128);
    }
    let ts = *s.transparent_stats();
    assert!(
        ts.non_local_in > 10_000 && ts.tcp_opened > 0 && ts.udp_in > 0,
        "{ts:?}"
    );
}
