//! Socket options as the packets show them: `TCP_MAXSEG` in the SYN, the
//! SYN-ACK and the segments' size; `IP_TOS` / `IPV6_TCLASS` in the IP
//! header of TCP (ECN bits the connection's own) and UDP packets (the
//! byte whole); `TCP_CORK` and `TCP_NODELAY` letting held data out at
//! once; the keepalive timing a listener hands on; and the ranges Linux's
//! `do_tcp_setsockopt` takes. Packets are moved by hand between the
//! [`Pair`]'s stacks so that each can be looked at.

use std::net::{IpAddr, SocketAddr};

use super::{A4, A6, B4, B6, accept, config};
use crate::handle::SocketHandle;
use crate::sim::{Link, Side, Tap};
use crate::stack::{
    KeepaliveTiming, MAX_KEEPALIVE_COUNT, MAX_KEEPALIVE_SECS, SocketError, Stack, TcpOptions,
    check_mss, check_tos,
};
use crate::tcp::{EcnMode, Keepalive, State};
use crate::testing::Faults;
use crate::time::Duration;
use crate::wire::{
    ChecksumCaps, Ecn, IpProtocol, Ipv4Packet, Ipv6Packet, TcpFlags, TcpPacket, TcpRepr,
};

/// What a test sees of a packet.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    /// From `a` (else from `b`).
    from_a: bool,
    /// The traffic class byte: DSCP and ECN.
    class: u8,
    protocol: IpProtocol,
    /// A TCP segment's flags, MSS option and payload length.
    tcp: Option<(TcpFlags, Option<u16>, usize)>,
    /// An IPv4 fragment (not the first, or with more to come).
    fragment: bool,
}

fn look(from_a: bool, packet: &[u8]) -> Seen {
    let (class, protocol, src, dst, payload, fragment) = match packet.first().map(|b| b >> 4) {
        Some(4) => {
            let p = Ipv4Packet::new_checked(packet).unwrap();
            let fragment = p.more_frags() || p.frag_offset() != 0;
            (
                p.dscp() << 2 | p.ecn().bits(),
                p.next_header(),
                IpAddr::V4(p.src_addr()),
                IpAddr::V4(p.dst_addr()),
                p.payload().to_vec(),
                fragment,
            )
        }
        _ => {
            let p = Ipv6Packet::new_checked(packet).unwrap();
            (
                p.traffic_class(),
                p.next_header(),
                IpAddr::V6(p.src_addr()),
                IpAddr::V6(p.dst_addr()),
                p.payload().to_vec(),
                false,
            )
        }
    };
    let tcp = (protocol == IpProtocol::Tcp).then(|| {
        let seg = TcpPacket::new_checked(&payload[..]).unwrap();
        let repr = TcpRepr::parse(&seg, src, dst, ChecksumCaps::FULL).unwrap();
        (repr.flags, repr.max_seg_size, repr.payload.len())
    });
    Seen {
        from_a,
        class,
        protocol,
        tcp,
        fragment,
    }
}

/// Two stacks as the other stack tests have them, on the simulator, each
/// frame recorded.
type Pair = crate::sim::Pair<Stack, Recorder>;

/// Records every frame either stack sends.
#[derive(Default)]
struct Recorder(Vec<Seen>);

impl Tap<Stack> for Recorder {
    fn frame(&mut self, _: crate::time::Instant, from: Side, frame: &[u8]) {
        self.0.push(look(from == Side::A, frame));
    }
}

fn pair() -> Pair {
    crate::sim::Pair::new(
        Stack::new(config(vec![A4, A6], 1)),
        Stack::new(config(vec![B4, B6], 2)),
        Link::new(Faults::default(), 11),
        Link::new(Faults::default(), 12),
    )
    .with_tap(Recorder::default())
}

/// Moves packets between the stacks (no loss, no delay) and runs timers
/// until `done` holds, adding what was sent to `seen`.
fn run(p: &mut Pair, seen: &mut Vec<Seen>, done: impl FnMut(&mut Pair) -> bool) {
    p.run_until(done).unwrap();
    seen.append(&mut p.tap.0);
}

/// `a` connects to `b`'s listener on `server` (made with `listen`) with
/// `connect`; the client's handle, the server's, the listener's.
fn connect(
    p: &mut Pair,
    seen: &mut Vec<Seen>,
    server: SocketAddr,
    listen: TcpOptions,
    connect: TcpOptions,
) -> (SocketHandle, SocketHandle, SocketHandle) {
    let l = p.b.tcp_listen_with(server, 8, true, listen).unwrap();
    let c = p.a.tcp_connect_with(p.now, server, None, connect).unwrap();
    let mut s = None;
    run(p, seen, |p| {
        s = s.or_else(|| accept(&mut p.b, l));
        s.is_some() && p.a.tcp_state(c) == Ok(State::Established)
    });
    (c, s.unwrap().0, l)
}

/// Sends `n` bytes from `from` and runs until `to` has read them all.
fn transfer(
    p: &mut Pair,
    seen: &mut Vec<Seen>,
    from_a: bool,
    from: SocketHandle,
    to: SocketHandle,
    n: usize,
) {
    let data = vec![9u8; n];
    let (mut sent, mut got) = (0, 0);
    let mut buf = vec![0u8; 65536];
    run(p, seen, |p| {
        let (tx, rx) = if from_a {
            (&mut p.a, &mut p.b)
        } else {
            (&mut p.b, &mut p.a)
        };
        if sent < n {
            sent += tx.tcp_send(from, &data[sent..]).unwrap_or(0);
        }
        while let Ok(k) = rx.tcp_recv(to, &mut buf) {
            got += k;
        }
        got == n
    });
}

fn mss_options(seen: &[Seen]) -> Vec<(bool, TcpFlags, Option<u16>)> {
    seen.iter()
        .filter_map(|s| s.tcp.map(|(f, mss, _)| (s.from_a, f, mss)))
        .filter(|(_, f, _)| f.contains(TcpFlags::SYN))
        .collect()
}

fn longest_payload(seen: &[Seen], from_a: bool) -> usize {
    seen.iter()
        .filter(|s| s.from_a == from_a)
        .filter_map(|s| s.tcp.map(|(_, _, len)| len))
        .max()
        .unwrap_or(0)
}

/// `TCP_MAXSEG` before the handshake caps the MSS each side announces
/// (Linux tcp_connect_init and, for a listener, tcp_openreq_init) and the
/// one it sends with; after, `tcp_mss` reads the effective send MSS.
//= https://www.rfc-editor.org/rfc/rfc9293#section-3.7.1
//= type=test
//# The maximum size of a segment that a TCP endpoint really sends, the
//# "effective send MSS", MUST be the smaller (MUST-16) of the send MSS
//# (that reflects the available reassembly buffer size at the remote host,
//# the EMTU_R [19]) and the largest transmission size permitted by the IP
//# layer (EMTU_S [19]):
#[test]
fn tcp_maxseg_caps_the_mss_announced_and_used() {
    let mut p = pair();
    let mut seen = Vec::new();
    let listen = TcpOptions {
        mss: check_mss(1000).unwrap(),
        ..TcpOptions::default()
    };
    let dial = TcpOptions {
        mss: check_mss(600).unwrap(),
        ..TcpOptions::default()
    };
    let (c, s, l) = connect(&mut p, &mut seen, SocketAddr::new(B4, 80), listen, dial);
    let syn = TcpFlags::SYN;
    let syn_ack = TcpFlags::SYN | TcpFlags::ACK;
    assert_eq!(
        mss_options(&seen),
        [(true, syn, Some(600)), (false, syn_ack, Some(1000))]
    );
    // Both send with 600 less the timestamps' 12 bytes.
    assert_eq!(p.a.tcp_mss(c), Ok(588));
    assert_eq!(p.b.tcp_mss(s), Ok(588));
    assert_eq!(p.b.tcp_mss(l), Ok(1000), "a listener reads its cap");
    transfer(&mut p, &mut seen, true, c, s, 20_000);
    transfer(&mut p, &mut seen, false, s, c, 20_000);
    assert_eq!(longest_payload(&seen, true), 588);
    assert_eq!(longest_payload(&seen, false), 588);
    // Set after the handshake it changes nothing, as on Linux.
    p.a.tcp_set_mss(c, 200).unwrap();
    assert_eq!(p.a.tcp_mss(c), Ok(588));
}

/// A cap above what the MTU allows changes nothing (Linux: "Values greater
/// than the (eventual) interface MTU have no effect"); IPv6 takes 20 bytes
/// more of header; a listener's cap can be set after it listens and taken
/// away with 0.
#[test]
fn the_mtu_still_bounds_the_mss() {
    let mut p = pair();
    let mut seen = Vec::new();
    let big = TcpOptions {
        mss: check_mss(9000).unwrap(),
        ..TcpOptions::default()
    };
    let (c, _, l) = connect(&mut p, &mut seen, SocketAddr::new(B6, 80), big, big);
    assert_eq!(
        mss_options(&seen).iter().map(|m| m.2).collect::<Vec<_>>(),
        [Some(1440), Some(1440)]
    );
    assert_eq!(p.a.tcp_mss(c), Ok(1428));
    assert_eq!(p.b.tcp_mss(l), Ok(9000));
    p.b.tcp_set_mss(l, 0).unwrap();
    assert_eq!(p.b.tcp_mss(l), Ok(1440), "what it announces without one");
    p.b.tcp_set_mss(l, 500).unwrap();
    seen.clear();
    let c2 =
        p.a.tcp_connect(p.now, SocketAddr::new(B6, 80), None)
            .unwrap();
    run(&mut p, &mut seen, |p| {
        p.a.tcp_state(c2) == Ok(State::Established)
    });
    assert_eq!(mss_options(&seen)[1].2, Some(500));
}

/// Linux's ranges (do_tcp_setsockopt: TCP_MAXSEG 0 or 88 to 32767; the
/// keepalive settings 1 to 32767 seconds and 1 to 127 probes): anything
/// else is `InvalidInput` and changes nothing.
#[test]
fn values_outside_linuxs_ranges_are_refused() {
    assert_eq!(check_mss(0), Ok(None));
    assert_eq!(check_mss(87), Err(SocketError::InvalidInput));
    assert_eq!(check_mss(88), Ok(Some(88)));
    assert_eq!(check_mss(32767), Ok(Some(32767)));
    assert_eq!(check_mss(32768), Err(SocketError::InvalidInput));
    assert_eq!(check_tos(255), Ok(255));
    assert_eq!(check_tos(256), Err(SocketError::InvalidInput));
    let secs = |s| Some(Duration::from_secs(s));
    let bad = [
        KeepaliveTiming {
            idle: Some(Duration::ZERO),
            ..KeepaliveTiming::default()
        },
        KeepaliveTiming {
            idle: Some(Duration::from_millis(999)),
            ..KeepaliveTiming::default()
        },
        KeepaliveTiming {
            idle: secs(MAX_KEEPALIVE_SECS + 1),
            ..KeepaliveTiming::default()
        },
        KeepaliveTiming {
            interval: secs(0),
            ..KeepaliveTiming::default()
        },
        KeepaliveTiming {
            interval: secs(MAX_KEEPALIVE_SECS + 1),
            ..KeepaliveTiming::default()
        },
        KeepaliveTiming {
            count: Some(0),
            ..KeepaliveTiming::default()
        },
        KeepaliveTiming {
            count: Some(MAX_KEEPALIVE_COUNT + 1),
            ..KeepaliveTiming::default()
        },
    ];
    for t in bad {
        assert_eq!(t.checked(), Err(SocketError::InvalidInput), "{t:?}");
    }
    // Whole seconds, as Linux keeps them.
    let t = KeepaliveTiming {
        idle: Some(Duration::from_millis(1500)),
        interval: secs(MAX_KEEPALIVE_SECS),
        count: Some(MAX_KEEPALIVE_COUNT),
    };
    assert_eq!(t.checked(), Ok(KeepaliveTiming { idle: secs(1), ..t }));

    let mut p = pair();
    let l = p.b.tcp_listen(SocketAddr::new(B4, 80), 4).unwrap();
    let before = p.b.tcp_keepalive_timing(l).unwrap();
    assert_eq!(before, Keepalive::default());
    assert_eq!(
        p.b.tcp_set_keepalive_timing(p.now, l, bad[5]),
        Err(SocketError::InvalidInput)
    );
    assert_eq!(p.b.tcp_keepalive_timing(l), Ok(before));
    assert_eq!(p.b.tcp_set_mss(l, 50), Err(SocketError::InvalidInput));
    assert_eq!(p.b.set_tos(l, 300), Err(SocketError::InvalidInput));
}

/// `IP_TOS` on TCP: the SYN, the SYN-ACK (the listener's) and every later
/// segment carry the socket's DSCP; the ECN bits stay the connection's own
/// (ECT(0) on data once ECN is agreed), whatever the application asked
/// (Linux `__ip_sock_set_tos` masks `INET_ECN_MASK` on a stream socket).
#[test]
fn ip_tos_marks_every_segment_and_ecn_stays_the_stacks() {
    let mut p = pair();
    let mut cfg = config(vec![A4, A6], 1);
    cfg.tcp.ecn = EcnMode::On;
    p.a = Stack::new(cfg);
    let mut seen = Vec::new();
    let listen = TcpOptions {
        tos: Some(0x28),
        ..TcpOptions::default()
    };
    let dial = TcpOptions {
        // EF (DSCP 46), with ECN bits the stack must not take.
        tos: Some(0xb9),
        ..TcpOptions::default()
    };
    let (c, s, l) = connect(&mut p, &mut seen, SocketAddr::new(B4, 80), listen, dial);
    assert_eq!(p.a.tos(c), Ok(0xb8));
    assert_eq!(p.b.tos(s), Ok(0x28), "inherited");
    assert_eq!(p.b.tos(l), Ok(0x28));
    assert!(seen.iter().filter(|s| s.from_a).all(|s| s.class == 0xb8));
    assert!(seen.iter().filter(|s| !s.from_a).all(|s| s.class == 0x28));
    seen.clear();
    transfer(&mut p, &mut seen, true, c, s, 5000);
    let data: Vec<u8> = seen
        .iter()
        .filter(|s| s.from_a && s.tcp.is_some_and(|t| t.2 > 0))
        .map(|s| s.class)
        .collect();
    assert!(!data.is_empty());
    assert!(
        data.iter().all(|&c| c == 0xb8 | Ecn::Ect0.bits()),
        "ECT(0) with the DSCP: {data:x?}"
    );
    // Changed on an open connection: from the next packet on.
    p.b.set_tos(s, 0x10).unwrap();
    seen.clear();
    transfer(&mut p, &mut seen, false, s, c, 100);
    assert!(
        seen.iter()
            .filter(|s| !s.from_a)
            .all(|s| s.class & !0b11 == 0x10)
    );
}

/// `IP_TOS` / `IPV6_TCLASS` on UDP: the byte whole, ECN bits included (a
/// UDP application may mark its own, as on Linux), on every fragment of a
/// long datagram too.
#[test]
fn udp_datagrams_carry_the_whole_traffic_class() {
    let mut p = pair();
    let mut seen = Vec::new();
    for (a, b) in [(A4, B4), (A6, B6)] {
        let rx = p.b.udp_bind(SocketAddr::new(b, 9)).unwrap();
        let tx = p.a.udp_bind(SocketAddr::new(a, 0)).unwrap();
        assert_eq!(p.a.tos(tx), Ok(0));
        p.a.set_tos(tx, 0xb9).unwrap();
        assert_eq!(p.a.tos(tx), Ok(0xb9));
        p.a.udp_send_to(tx, b"short", SocketAddr::new(b, 9))
            .unwrap();
        p.a.udp_send_to(tx, &[1; 4000], SocketAddr::new(b, 9))
            .unwrap();
        let mut got = 0;
        run(&mut p, &mut seen, |p| {
            while p.b.udp_recv_datagram(rx).is_ok() {
                got += 1;
            }
            got == 2
        });
    }
    let from_a: Vec<&Seen> = seen.iter().filter(|s| s.from_a).collect();
    assert!(from_a.len() >= 2 + 2 * 3, "{from_a:?}");
    assert!(from_a.iter().all(|s| s.class == 0xb9), "{from_a:?}");
    assert!(from_a.iter().any(|s| s.fragment));
}

/// Uncorking and `TCP_NODELAY` get held data out at the next transmit, not
/// at the next timer (the stack queues the connection for output).
#[test]
fn uncork_and_nodelay_send_what_was_held_at_once() {
    let mut p = pair();
    let mut seen = Vec::new();
    let corked = TcpOptions {
        cork: Some(true),
        ..TcpOptions::default()
    };
    let (c, s, l) = connect(
        &mut p,
        &mut seen,
        SocketAddr::new(B4, 80),
        corked,
        TcpOptions::default(),
    );
    assert_eq!(p.b.tcp_cork(l), Ok(true));
    assert_eq!(p.b.tcp_cork(s), Ok(true), "inherited");
    assert_eq!(p.a.tcp_cork(c), Ok(false));
    let mut buf = [0u8; 64];
    p.b.tcp_send(s, b"held").unwrap();
    let mut out = vec![0u8; 1500];
    assert_eq!(p.b.poll_transmit(p.now, &mut out), None, "corked");
    p.b.tcp_set_cork(s, false).unwrap();
    let n =
        p.b.poll_transmit(p.now, &mut out)
            .expect("the tail, at once");
    p.a.handle_frame(p.now, &out[..n]);
    assert_eq!(p.a.tcp_recv(c, &mut buf), Ok(4));
    p.b.tcp_set_cork(s, true).unwrap();
    run(&mut p, &mut seen, |p| {
        p.b.tcp_info(s).unwrap().in_flight == 0
    });
    // Nagle: a short segment unacknowledged holds the next one...
    p.b.tcp_set_cork(s, false).unwrap();
    p.b.tcp_send(s, b"one").unwrap();
    let n = p.b.poll_transmit(p.now, &mut out).unwrap();
    assert_eq!(look(false, &out[..n]).tcp.map(|t| t.2), Some(3));
    p.b.tcp_send(s, b"two").unwrap();
    assert_eq!(p.b.poll_transmit(p.now, &mut out), None, "Nagle holds it");
    // ...until TCP_NODELAY lets it go.
    p.b.tcp_set_nodelay(s, true).unwrap();
    let n = p.b.poll_transmit(p.now, &mut out).expect("at once");
    assert_eq!(look(false, &out[..n]).tcp.map(|t| t.2), Some(3));
}

/// A listener's keepalive setting and timing reach its connections
/// (Linux copies `keepalive_time` and the rest in sk_clone_lock and
/// starts the timer in tcp_create_openreq_child), and a peer that stops
/// answering is probed at that rhythm, then reset.
//= https://www.rfc-editor.org/rfc/rfc1122#section-4.2.3.6
//= type=test
//# Keep-alive packets MUST only be sent when no data or
//# acknowledgement packets have been received for the
//# connection within an interval.
#[test]
fn a_listeners_keepalive_timing_reaches_its_connections() {
    let mut p = pair();
    let mut seen = Vec::new();
    let l = p.b.tcp_listen(SocketAddr::new(B4, 80), 4).unwrap();
    p.b.tcp_set_keepalive(p.now, l, true).unwrap();
    p.b.tcp_set_keepalive_timing(
        p.now,
        l,
        KeepaliveTiming {
            idle: Some(Duration::from_secs(5)),
            interval: Some(Duration::from_secs(2)),
            count: Some(3),
        },
    )
    .unwrap();
    let want = Keepalive {
        idle: Duration::from_secs(5),
        interval: Duration::from_secs(2),
        count: 3,
    };
    assert_eq!(p.b.tcp_keepalive(l), Ok(true));
    assert_eq!(p.b.tcp_keepalive_timing(l), Ok(want));
    let c =
        p.a.tcp_connect(p.now, SocketAddr::new(B4, 80), None)
            .unwrap();
    let mut s = None;
    run(&mut p, &mut seen, |p| {
        s = s.or_else(|| accept(&mut p.b, l));
        s.is_some() && p.a.tcp_state(c) == Ok(State::Established)
    });
    let s = s.unwrap().0;
    assert_eq!(p.b.tcp_keepalive(s), Ok(true));
    assert_eq!(p.b.tcp_keepalive_timing(s), Ok(want));
    let start = p.now;
    // The client answers the probes for a while: the connection lives.
    run(&mut p, &mut seen, |p| {
        p.now.saturating_duration_since(start) >= Duration::from_secs(30)
    });
    assert_eq!(p.b.tcp_state(s), Ok(State::Established));
    let probes = p.b.tcp_info(s).unwrap().stats.keepalives;
    assert!((5..=6).contains(&probes), "one per idle time: {probes}");
    // The client reboots: the next probe, an idle time after the last
    // answer, draws a reset.
    p.a = Stack::new(config(vec![A4, A6], 9));
    let gone = p.now;
    run(&mut p, &mut seen, |p| {
        p.b.tcp_error(s).ok().flatten().is_some()
    });
    assert_eq!(p.b.tcp_error(s), Ok(Some(SocketError::ConnectionReset)));
    assert!(p.now.saturating_duration_since(gone) <= want.idle);
}

/// Turning keepalive on when it is on changes nothing (Linux restarts the
/// timer only from off to on), nor does setting the idle time it has: a
/// program that calls socket2's `set_tcp_keepalive` again does not put
/// the probe off.
#[test]
fn keepalive_on_again_keeps_its_timer() {
    let mut p = pair();
    let mut seen = Vec::new();
    let (c, _, _) = connect(
        &mut p,
        &mut seen,
        SocketAddr::new(B4, 80),
        TcpOptions::default(),
        TcpOptions::default(),
    );
    let idle = KeepaliveTiming {
        idle: Some(Duration::from_secs(10)),
        ..KeepaliveTiming::default()
    };
    // The connection's own deadline (the stack's heap may hold stale
    // ones).
    let deadline = |s: &Stack| match s.sockets.get(c) {
        Some(crate::stack::Socket::Tcp(t)) => t.conn.poll_at(),
        _ => None,
    };
    p.a.tcp_set_keepalive_timing(p.now, c, idle).unwrap();
    assert_eq!(deadline(&p.a), None, "off: no timer");
    p.a.tcp_set_keepalive(p.now, c, true).unwrap();
    let due = p.now + Duration::from_secs(10);
    assert_eq!(deadline(&p.a), Some(due));
    p.now += Duration::from_secs(4);
    p.a.tcp_set_keepalive_timing(p.now, c, idle).unwrap();
    p.a.tcp_set_keepalive(p.now, c, true).unwrap();
    assert_eq!(deadline(&p.a), Some(due));
    p.a.tcp_set_keepalive(p.now, c, false).unwrap();
    assert_eq!(deadline(&p.a), None);
}
