//! SYN cookies through the whole stack: a spoofed SYN flood against a small
//! backlog while real clients connect and talk, cookie connections keeping
//! their options, bad cookies refused, and a full accept queue.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::{A4, A6, B4, B6, config, two_stacks};
use crate::handle::SocketHandle;
use crate::rng::Rng;
use crate::stack::{Socket, Stack};
use crate::tcp::State;
use crate::testing::Faults;
use crate::time::Duration;
use crate::time::Instant;
use crate::wire::tcp_option::MAX_SACK_BLOCKS;
use crate::wire::{
    ChecksumCaps, Ecn, IpProtocol, Ipv4Packet, Ipv4Repr, TcpFlags, TcpPacket, TcpRepr,
};

/// A raw IPv4 TCP segment from `src` to B4:80.
fn segment(src: SocketAddr, seq: u32, ack: Option<u32>, flags: TcpFlags, ts: bool) -> Vec<u8> {
    let IpAddr::V4(src_ip) = src.ip() else {
        unreachable!()
    };
    let syn = flags.contains(TcpFlags::SYN);
    let tcp = TcpRepr {
        src_port: src.port(),
        dst_port: 80,
        seq_number: seq,
        ack_number: ack,
        flags,
        window_len: 65535,
        urgent_pointer: 0,
        max_seg_size: syn.then_some(1460),
        window_scale: syn.then_some(7),
        sack_permitted: syn,
        sack_ranges: [None; MAX_SACK_BLOCKS],
        timestamp: ts.then_some((seq, 0)),
        payload: &[],
    };
    let ip = Ipv4Repr {
        src_addr: src_ip,
        dst_addr: Ipv4Addr::new(198, 18, 0, 2),
        next_header: IpProtocol::Tcp,
        payload_len: tcp.buffer_len(),
        hop_limit: 64,
        dscp: 0,
        ecn: Ecn::NotEct,
        ident: seq as u16,
        dont_frag: true,
        more_frags: false,
        frag_offset: 0,
    };
    let mut frame = vec![0u8; ip.buffer_len()];
    ip.emit(&mut Ipv4Packet::new_unchecked(&mut frame[..]));
    tcp.emit(
        &mut TcpPacket::new_unchecked(&mut frame[20..]),
        src.ip(),
        B4,
        ChecksumCaps::FULL,
    );
    frame
}

/// A random spoofed source in 198.18.0.0/15, never one of the two hosts.
fn spoofed(rng: &mut Rng) -> SocketAddr {
    let base = u32::from(Ipv4Addr::new(198, 18, 0, 0));
    let host = 16 + rng.below((1 << 17) - 16) as u32;
    let port = 1024 + rng.below(64511) as u16;
    SocketAddr::new(IpAddr::V4(Ipv4Addr::from(base + host)), port)
}

/// Echo server duty: accept everything, echo what arrives.
fn serve(s: &mut Stack, l: SocketHandle, conns: &mut Vec<SocketHandle>) {
    while let Ok(Some((c, _))) = s.tcp_accept(l) {
        conns.push(c);
    }
    let mut buf = [0u8; 4096];
    for &c in conns.iter() {
        while let Ok(n) = s.tcp_recv(c, &mut buf) {
            if n == 0 {
                break;
            }
            let _ = s.tcp_send(c, &buf[..n]);
        }
    }
}

/// RFC 4987 section 3.6: cookies keep a listener answering under a flood
/// that fills its SYN queue.
#[test]
fn syn_flood_against_backlog_128_legitimate_clients_still_served() {
    const FLOOD: usize = 100_000;
    const CLIENTS: usize = 20;
    const BACKLOG: usize = 128;
    let mut p = two_stacks(Faults {
        delay: Duration::from_millis(1),
        ..Faults::default()
    });
    let l = p.b.tcp_listen(SocketAddr::new(B4, 80), BACKLOG).unwrap();
    let mut rng = Rng::new(99);
    let mut sent = 0;
    let mut clients: Vec<(SocketHandle, bool, Vec<u8>)> = Vec::new();
    let mut served = Vec::new();
    let mut peak_sockets = 0;
    let mut peak_out = 0;
    p.run_until(|p| {
        // A batch of spoofed SYNs at each step, until the flood is spent.
        for _ in 0..500.min(FLOOD - sent) {
            let src = spoofed(&mut rng);
            let ts = rng.chance(0.5);
            let frame = segment(src, rng.next_u64() as u32, None, TcpFlags::SYN, ts);
            p.b.handle_frame(p.now, &frame);
            sent += 1;
        }
        peak_out = peak_out.max(p.b.out.len());
        // Real clients join once the SYN queue is full of spoofed ones.
        if sent >= 10_000 && clients.len() < CLIENTS {
            let c =
                p.a.tcp_connect(p.now, SocketAddr::new(B4, 80), None)
                    .unwrap();
            clients.push((c, false, Vec::new()));
        }
        serve(&mut p.b, l, &mut served);
        let mut buf = [0u8; 4096];
        for (i, (c, said, got)) in clients.iter_mut().enumerate() {
            if p.a.tcp_state(*c).unwrap() == State::Established && !*said {
                let msg = format!("hello from client {i}");
                *said = p.a.tcp_send(*c, msg.as_bytes()).is_ok();
            }
            if let Ok(n) = p.a.tcp_recv(*c, &mut buf) {
                got.extend_from_slice(&buf[..n]);
            }
        }
        peak_sockets = peak_sockets.max(p.b.socket_count());
        sent == FLOOD
            && clients.len() == CLIENTS
            && clients
                .iter()
                .enumerate()
                .all(|(i, (_, _, got))| got == format!("hello from client {i}").as_bytes())
    })
    .unwrap();
    let st = *p.b.stats();
    assert!(
        st.syncookies_sent as usize >= FLOOD - BACKLOG - 2 * CLIENTS,
        "cookies answered the flood: {st:?}"
    );
    assert!(
        st.syncookies_validated >= 1,
        "legitimate clients came in on cookies"
    );
    // The flood cost no state: the listener, the SYN queue (spoofed
    // half-open connections) and the real clients.
    assert!(
        peak_sockets <= 1 + BACKLOG + CLIENTS,
        "peak {peak_sockets} sockets"
    );
    assert!(peak_out <= super::super::output::MAX_QUEUED_PACKETS);
    assert_eq!(served.len(), CLIENTS);
}

/// A cookie connection, with and without timestamps: both ends agree on
/// the options (window scale and SACK ride in the timestamp, and are lost
/// without it, as in Linux), the MSS comes back, and data flows both ways.
#[test]
fn cookie_connection_keeps_its_options() {
    for timestamps in [true, false] {
        let mut p = two_stacks(Faults {
            delay: Duration::from_millis(5),
            ..Faults::default()
        });
        let mut cfg = config(vec![A4], 1);
        cfg.tcp.timestamps = timestamps;
        p.a = Stack::new(cfg);
        let l = p.b.tcp_listen(SocketAddr::new(B4, 80), 1).unwrap();
        // One spoofed SYN fills the SYN queue.
        let spoof = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(198, 19, 9, 9)), 999);
        p.b.handle_frame(p.now, &segment(spoof, 1, None, TcpFlags::SYN, false));
        let c =
            p.a.tcp_connect(p.now, SocketAddr::new(B4, 80), None)
                .unwrap();
        let mut server = None;
        p.run_until(|p| {
            if server.is_none() {
                server = p.b.tcp_accept(l).unwrap();
            }
            server.is_some()
        })
        .unwrap();
        assert_eq!(p.b.stats().syncookies_validated, 1);
        let (s, _) = server.unwrap();
        let Some(Socket::Tcp(server)) = p.b.sockets.get(s) else {
            panic!()
        };
        let Some(Socket::Tcp(client)) = p.a.sockets.get(c) else {
            panic!()
        };
        assert_eq!(
            server.conn.smss(),
            1460,
            "the MSS came back from the cookie"
        );
        assert_eq!(server.conn.state(), State::Established);
        let (ss, sr, ssack, sts) = server.conn.negotiated_for_test();
        let (cs, cr, csack, cts) = client.conn.negotiated_for_test();
        assert_eq!(
            (ss, sr),
            (cr, cs),
            "each end scales as the other advertised"
        );
        assert_eq!((ssack, sts), (csack, cts));
        assert_eq!((sts, ssack, cs > 0), (timestamps, timestamps, timestamps));
        let len = 500_000;
        let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let (mut up, mut down, mut got_b, mut got_a) = (0, 0, 0, 0);
        let mut buf = vec![0u8; 65536];
        p.run_until(|p| {
            if let Ok(n) = p.a.tcp_send(c, &data[up..]) {
                up += n;
            }
            if let Ok(n) = p.b.tcp_send(s, &data[down..]) {
                down += n;
            }
            while let Ok(n) = p.b.tcp_recv(s, &mut buf) {
                assert_eq!(&buf[..n], &data[got_b..got_b + n]);
                got_b += n;
            }
            while let Ok(n) = p.a.tcp_recv(c, &mut buf) {
                assert_eq!(&buf[..n], &data[got_a..got_a + n]);
                got_a += n;
            }
            got_a == len && got_b == len
        })
        .unwrap();
    }
}

#[test]
fn a_forged_cookie_draws_a_reset() {
    let mut s = Stack::new(config(vec![B4], 5));
    s.tcp_listen(SocketAddr::new(B4, 80), 1).unwrap();
    let now = Instant::ZERO;
    let a = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(198, 19, 1, 1)), 1000);
    let b = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(198, 19, 1, 2)), 1000);
    s.handle_frame(now, &segment(a, 1, None, TcpFlags::SYN, false));
    s.handle_frame(now, &segment(b, 1, None, TcpFlags::SYN, false));
    assert_eq!(s.stats().syncookies_sent, 1);
    // A guessed cookie.
    s.handle_frame(now, &segment(b, 2, Some(12345), TcpFlags::ACK, false));
    assert_eq!(s.stats().syncookies_failed, 1);
    assert_eq!(s.stats().resets_sent, 1);
    assert_eq!(s.socket_count(), 2, "the listener and the one half-open");
}

/// With cookies, the clients beyond the backlog complete statelessly; those
/// whose final ACK found the accept queue full get in when their data
/// (carrying the same cookie) is retransmitted after an accept.
#[test]
fn full_accept_queue_drops_cookie_acks_until_room() {
    let mut p = two_stacks(Faults {
        delay: Duration::from_millis(1),
        ..Faults::default()
    });
    let l = p.b.tcp_listen(SocketAddr::new(B4, 80), 2).unwrap();
    let clients: Vec<_> = (0..6)
        .map(|_| {
            p.a.tcp_connect(p.now, SocketAddr::new(B4, 80), None)
                .unwrap()
        })
        .collect();
    let mut accepted: HashMap<SocketHandle, Vec<u8>> = HashMap::new();
    let mut said = vec![false; clients.len()];
    p.run_until(|p| {
        for (i, &c) in clients.iter().enumerate() {
            if !said[i] && p.a.tcp_state(c).unwrap() == State::Established {
                said[i] = p.a.tcp_send(c, b"x").is_ok();
            }
        }
        // The application accepts one connection per idle moment.
        if let Ok(Some((c, _))) = p.b.tcp_accept(l) {
            accepted.insert(c, Vec::new());
        }
        let mut buf = [0u8; 16];
        for (&c, got) in accepted.iter_mut() {
            if let Ok(n) = p.b.tcp_recv(c, &mut buf) {
                got.extend_from_slice(&buf[..n]);
            }
        }
        accepted.len() == clients.len() && accepted.values().all(|g| g == b"x")
    })
    .unwrap();
    let st = p.b.stats();
    assert!(
        st.syncookies_sent > 0 && st.accept_queue_overflow > 0,
        "{st:?}"
    );
    assert_eq!(
        p.a.tcp_send(clients[0], b""),
        Ok(0),
        "clients are still connected"
    );
}

/// Cookies over IPv6: the cookie covers the 128-bit addresses and the MSS
/// comes back (clamped to our IPv6 MSS).
#[test]
fn cookie_connection_over_ipv6() {
    use crate::wire::{Ipv6Packet, Ipv6Repr};
    use std::net::Ipv6Addr;
    let mut p = two_stacks(Faults {
        delay: Duration::from_millis(2),
        ..Faults::default()
    });
    let l = p.b.tcp_listen(SocketAddr::new(B6, 80), 1).unwrap();
    // A spoofed SYN from 2001:2::99 fills the SYN queue.
    let src = Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 0x99);
    let IpAddr::V6(dst) = B6 else { unreachable!() };
    let tcp = TcpRepr {
        src_port: 4242,
        dst_port: 80,
        seq_number: 7,
        ack_number: None,
        flags: TcpFlags::SYN,
        window_len: 65535,
        urgent_pointer: 0,
        max_seg_size: Some(1440),
        window_scale: None,
        sack_permitted: false,
        sack_ranges: [None; MAX_SACK_BLOCKS],
        timestamp: None,
        payload: &[],
    };
    let ip = Ipv6Repr {
        src_addr: src,
        dst_addr: dst,
        next_header: IpProtocol::Tcp,
        payload_len: tcp.buffer_len(),
        hop_limit: 64,
        traffic_class: 0,
        flow_label: 0,
    };
    let mut frame = vec![0u8; 40 + tcp.buffer_len()];
    ip.emit(&mut Ipv6Packet::new_unchecked(&mut frame[..]));
    tcp.emit(
        &mut TcpPacket::new_unchecked(&mut frame[40..]),
        IpAddr::V6(src),
        B6,
        ChecksumCaps::FULL,
    );
    p.b.handle_frame(p.now, &frame);
    let (c, s, peer) = p.establish(l, SocketAddr::new(B6, 80));
    assert_eq!(p.b.stats().syncookies_validated, 1);
    assert_eq!(peer, p.a.local_addr(c).unwrap());
    assert_eq!(peer.ip(), A6);
    let Some(Socket::Tcp(t)) = p.b.sockets.get(s) else {
        panic!()
    };
    assert_eq!(t.conn.smss(), 1440, "1440 is the IPv6 MSS for a 1500 MTU");
    p.a.tcp_send(c, b"over six").unwrap();
    let mut buf = [0u8; 16];
    let mut got = 0;
    p.run_until(|p| {
        if let Ok(n) = p.b.tcp_recv(s, &mut buf) {
            got = n;
        }
        got > 0
    })
    .unwrap();
    assert_eq!(&buf[..got], b"over six");
}

/// A flood of guessed cookie ACKs after an overflow: every one fails (a
/// guess is right with odds about 2^-31), none creates state.
#[test]
fn guessed_cookie_acks_fail() {
    let mut s = Stack::new(config(vec![B4], 6));
    s.tcp_listen(SocketAddr::new(B4, 80), 1).unwrap();
    let mut rng = Rng::new(7);
    for _ in 0..2 {
        let src = spoofed(&mut rng);
        s.handle_frame(Instant::ZERO, &segment(src, 1, None, TcpFlags::SYN, true));
    }
    assert_eq!(s.stats().syncookies_sent, 1);
    let mut out = [0u8; 1500];
    for i in 0..20_000 {
        let src = spoofed(&mut rng);
        let flags = if i % 2 == 0 {
            TcpFlags::ACK
        } else {
            TcpFlags::ACK | TcpFlags::PSH
        };
        let seq = rng.next_u64() as u32;
        let ack = rng.next_u64() as u32;
        s.handle_frame(
            Instant::ZERO,
            &segment(src, seq, Some(ack), flags, i % 3 == 0),
        );
        while s.poll_transmit(Instant::ZERO, &mut out).is_some() {}
    }
    assert_eq!(s.stats().syncookies_failed, 20_000);
    assert_eq!(s.stats().syncookies_validated, 0);
    assert_eq!(s.socket_count(), 2);
}

/// A SYN with FIN set is discarded by a listener, as Linux does, and draws
/// no SYN-ACK (RFC 9293 3.10.7.2 would queue the FIN; scanners send these).
#[test]
fn syn_fin_to_a_listener_is_dropped() {
    let mut b = Stack::new(crate::config::StackConfig {
        addrs: vec![B4],
        seed: 9,
        ..Default::default()
    });
    b.tcp_listen(SocketAddr::new(B4, 80), 8).unwrap();
    let src = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1)), 40003);
    b.handle_frame(
        Instant::ZERO,
        &segment(src, 5000, None, TcpFlags::SYN | TcpFlags::FIN, false),
    );
    let mut buf = [0u8; 1500];
    assert_eq!(b.poll_transmit(Instant::ZERO, &mut buf), None);
    assert_eq!(b.stats().tcp_malformed, 1);
    // A plain SYN from the same port is answered.
    b.handle_frame(
        Instant::ZERO,
        &segment(src, 5000, None, TcpFlags::SYN, false),
    );
    assert!(b.poll_transmit(Instant::ZERO, &mut buf).is_some());
}

/// A SYN whose source is the listener's own address (the "land" attack,
/// from and to 198.18.0.2:80) is dropped unanswered and counted, as Linux
/// drops a martian source; so is one from loopback or broadcast.
#[test]
fn a_syn_from_our_own_address_is_dropped() {
    let mut b = Stack::new(crate::config::StackConfig {
        addrs: vec![B4],
        seed: 9,
        ..Default::default()
    });
    b.tcp_listen(SocketAddr::new(B4, 80), 8).unwrap();
    let mut buf = [0u8; 1500];
    for src in [
        SocketAddr::new(B4, 80),
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 40000),
        SocketAddr::new(IpAddr::V4(Ipv4Addr::BROADCAST), 40000),
    ] {
        b.handle_frame(
            Instant::ZERO,
            &segment(src, 5000, None, TcpFlags::SYN, false),
        );
        assert_eq!(b.poll_transmit(Instant::ZERO, &mut buf), None, "{src}");
    }
    assert_eq!(b.stats().martian_source, 3);
    assert_eq!(b.socket_count(), 1, "no half-open connection");
}
