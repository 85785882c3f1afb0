//! Two stacks on the simulator ([`crate::sim::Pair`]: a seeded link each
//! way, virtual time): TCP and UDP over IPv4 and IPv6, the port table's
//! rules, backlog semantics, RST and ICMP replies.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::{Readiness, SocketError, Stack};
use crate::config::StackConfig;
use crate::handle::SocketHandle;
use crate::sim::{self, Faults, Link, Side, Tap};
use crate::tcp::State;
use crate::time::{Duration, Instant};
use crate::wire::{ChecksumCaps, Ecn, Icmpv4Packet, Icmpv4Repr, IpProtocol, Ipv4Packet, Ipv4Repr};

const A4: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1));
const B4: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 18, 0, 2));
const A6: IpAddr = IpAddr::V6(Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 1));
const B6: IpAddr = IpAddr::V6(Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 2));

fn config(addrs: Vec<IpAddr>, seed: u64) -> StackConfig {
    StackConfig {
        addrs,
        seed,
        ..StackConfig::default()
    }
}

/// Two stacks on the simulator, `a`'s data segments counted.
type Pair = sim::Pair<Stack, Segments>;

/// Two stacks on links with `faults`, as most tests here start: `a` holds
/// A4 and A6 (seed 1), `b` B4 and B6 (seed 2), the links' seeds 11 and 12.
fn two_stacks(faults: Faults) -> Pair {
    sim::Pair::new(
        Stack::new(config(vec![A4, A6], 1)),
        Stack::new(config(vec![B4, B6], 2)),
        Link::new(faults, 11),
        Link::new(faults, 12),
    )
    .with_tap(Segments::default())
}

/// Counts the data segments `a` put on its link, and how many of them were
/// runts (shorter than a full segment, without PSH or FIN): `tso.rs`.
#[derive(Debug, Default)]
struct Segments {
    data: usize,
    runts: usize,
}

impl Tap<Stack> for Segments {
    fn frame(&mut self, _: Instant, from: Side, frame: &[u8]) {
        if from == Side::A {
            tso::count(self, frame);
        }
    }
}

fn accept(s: &mut Stack, l: SocketHandle) -> Option<(SocketHandle, SocketAddr)> {
    s.tcp_accept(l).unwrap()
}

/// What a hostile or broken link does to a frame now and then, for the
/// random-frame tests: a flipped bit (5%), a cut (2%).
fn mangle(rng: &mut crate::rng::Rng, f: &mut Vec<u8>) {
    if rng.chance(0.05) && !f.is_empty() {
        let i = rng.below(f.len() as u64) as usize;
        f[i] ^= 1 << rng.below(8);
    }
    if rng.chance(0.02) {
        let cut = rng.below(f.len() as u64 + 1) as usize;
        f.truncate(cut);
    }
}

impl Pair {
    /// Connects from `a` to `to` and runs until the connection is
    /// ESTABLISHED and `b` has accepted it from listener `l`: the client's
    /// handle, the server's, and the peer address the server saw.
    fn establish(
        &mut self,
        l: SocketHandle,
        to: SocketAddr,
    ) -> (SocketHandle, SocketHandle, SocketAddr) {
        let c = self.a.tcp_connect(self.now, to, None).unwrap();
        let mut server = None;
        self.run_until(|p| {
            if server.is_none() {
                server = accept(&mut p.b, l);
            }
            server.is_some() && p.a.tcp_state(c).unwrap() == State::Established
        })
        .unwrap();
        let (s, peer) = server.unwrap();
        (c, s, peer)
    }
}

fn transfer(p: &mut Pair, ip_a: IpAddr, ip_b: IpAddr, len: usize) {
    let l = p.b.tcp_listen(SocketAddr::new(ip_b, 80), 16).unwrap();
    let (c, s, peer) = p.establish(l, SocketAddr::new(ip_b, 80));
    assert_eq!(peer.ip(), ip_a);
    assert_eq!(p.a.local_addr(c).unwrap().ip(), ip_a);
    let up: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
    let down: Vec<u8> = (0..len).map(|i| (i * 13 % 241) as u8).collect();
    let (mut sent_up, mut sent_down, mut got_up, mut got_down) = (0, 0, Vec::new(), Vec::new());
    let (mut eof_a, mut eof_b) = (false, false);
    let mut buf = vec![0u8; 65536];
    p.run_until(|p| {
        if sent_up < len {
            if let Ok(n) = p.a.tcp_send(c, &up[sent_up..]) {
                sent_up += n;
            }
            if sent_up == len {
                p.a.tcp_shutdown_write(c).unwrap();
            }
        }
        if sent_down < len {
            if let Ok(n) = p.b.tcp_send(s, &down[sent_down..]) {
                sent_down += n;
            }
            if sent_down == len {
                p.b.tcp_shutdown_write(s).unwrap();
            }
        }
        loop {
            match p.b.tcp_recv(s, &mut buf) {
                Ok(0) => {
                    eof_b = true;
                    break;
                }
                Ok(n) => got_up.extend_from_slice(&buf[..n]),
                Err(SocketError::WouldBlock) => break,
                Err(e) => panic!("server recv: {e}"),
            }
        }
        loop {
            match p.a.tcp_recv(c, &mut buf) {
                Ok(0) => {
                    eof_a = true;
                    break;
                }
                Ok(n) => got_down.extend_from_slice(&buf[..n]),
                Err(SocketError::WouldBlock) => break,
                Err(e) => panic!("client recv: {e}"),
            }
        }
        eof_a && eof_b
    })
    .unwrap();
    assert!(got_up == up, "client to server bytes intact");
    assert!(got_down == down, "server to client bytes intact");
    p.a.tcp_close(p.now, c).unwrap();
    p.b.tcp_close(p.now, s).unwrap();
    p.b.close(p.now, l).unwrap();
    // Both close; the one that closed first lingers in TIME-WAIT, then all
    // sockets are freed.
    p.run_until(|p| p.a.socket_count() == 0 && p.b.socket_count() == 0)
        .unwrap();
}

#[test]
fn tcp_over_ipv4() {
    let mut p = two_stacks(Faults {
        delay: Duration::from_millis(5),
        ..Faults::default()
    });
    transfer(&mut p, A4, B4, 300_000);
}

#[test]
fn tcp_over_ipv6() {
    let mut p = two_stacks(Faults {
        delay: Duration::from_millis(5),
        ..Faults::default()
    });
    transfer(&mut p, A6, B6, 300_000);
}

#[test]
fn tcp_over_a_lossy_link() {
    let faults = Faults {
        loss: 0.03,
        duplicate: 0.01,
        corrupt: 0.01,
        reorder: 0.03,
        reorder_delay: Duration::from_millis(7),
        delay: Duration::from_millis(10),
        ..Faults::default()
    };
    let mut p = two_stacks(faults);
    transfer(&mut p, A4, B4, 500_000);
    assert!(
        p.a.stats().tcp_malformed + p.b.stats().tcp_malformed > 0,
        "corruption was caught by checksums"
    );
}

/// A link that marks ECN-capable packets Congestion Experienced instead of
/// dropping them (an AQM, RFC 3168 section 5): with ECN on, the data
/// segments are marked, not lost, and the stream arrives intact.
#[test]
fn tcp_over_a_link_that_marks_ce() {
    let faults = Faults {
        loss: 0.05,
        mark_ce: true,
        delay: Duration::from_millis(5),
        ..Faults::default()
    };
    let mut p = two_stacks(faults);
    for (s, addrs, seed) in [(&mut p.a, vec![A4], 1), (&mut p.b, vec![B4], 2)] {
        let mut cfg = config(addrs, seed);
        cfg.tcp.ecn = crate::tcp::EcnMode::On;
        *s = Stack::new(cfg);
    }
    transfer(&mut p, A4, B4, 300_000);
    let (ab, ba) = (p.ab.stats, p.ba.stats);
    assert!(ab.marked > 0 && ba.marked > 0, "{ab:?} {ba:?}");
    // Only what is not ECN-capable (SYNs, pure ACKs) is still dropped.
    assert!(ab.marked > ab.dropped, "{ab:?}");
}

#[test]
fn connection_to_a_closed_port_is_refused() {
    let mut p = two_stacks(Faults::default());
    let c =
        p.a.tcp_connect(p.now, SocketAddr::new(B4, 81), None)
            .unwrap();
    p.run_until(|p| p.a.tcp_state(c).unwrap() == State::Closed)
        .unwrap();
    assert_eq!(
        p.a.tcp_error(c).unwrap(),
        Some(SocketError::ConnectionRefused)
    );
    assert_eq!(p.b.stats().tcp_no_socket, 1);
    assert_eq!(p.b.stats().resets_sent, 1);
    let mut buf = [0u8; 4];
    assert_eq!(
        p.a.tcp_recv(c, &mut buf),
        Err(SocketError::ConnectionRefused)
    );
}

#[test]
fn udp_echo_both_families() {
    let mut p = two_stacks(Faults::default());
    for (ip_a, ip_b) in [(A4, B4), (A6, B6)] {
        let server = p.b.udp_bind(SocketAddr::new(ip_b, 7)).unwrap();
        let client = p.a.udp_bind(SocketAddr::new(ip_a, 0)).unwrap();
        let client_addr = p.a.local_addr(client).unwrap();
        assert!(crate::demux::ephemeral::DEFAULT_RANGE.contains(&client_addr.port()));
        p.a.udp_send_to(client, b"ping?", SocketAddr::new(ip_b, 7))
            .unwrap();
        let mut buf = [0u8; 64];
        let mut got = None;
        p.run_until(|p| {
            got = p.b.udp_recv_from(server, &mut buf).ok();
            got.is_some()
        })
        .unwrap();
        let (n, from) = got.unwrap();
        assert_eq!((&buf[..n], from), (&b"ping?"[..], client_addr));
        p.b.udp_send_to(server, &buf[..n], from).unwrap();
        let mut back = [0u8; 64];
        let mut reply = None;
        p.run_until(|p| {
            reply = p.a.udp_recv_from(client, &mut back).ok();
            reply.is_some()
        })
        .unwrap();
        assert_eq!(&back[..reply.unwrap().0], b"ping?");
        p.b.close(p.now, server).unwrap();
        p.a.close(p.now, client).unwrap();
    }
}

/// A prepared payload is sent as it is (headers written in front of it) and
/// taken only on success: on a full output queue it stays for the retry.
#[test]
fn prepared_udp_payloads_are_kept_until_sent() {
    let mut p = two_stacks(Faults::default());
    for (ip_a, ip_b) in [(A4, B4), (A6, B6)] {
        let server = p.b.udp_bind(SocketAddr::new(ip_b, 7)).unwrap();
        let client = p.a.udp_bind(SocketAddr::new(ip_a, 0)).unwrap();
        let to = SocketAddr::new(ip_b, 7);
        let mut filled = 0;
        while p.a.udp_send_to(client, b"fill", to).is_ok() {
            filled += 1;
        }
        assert!(filled > 0);
        let mut payload = crate::stack::UdpPayload::new(b"prepared");
        assert_eq!(
            p.a.udp_send_payload_to(client, &mut payload, to),
            Err(SocketError::WouldBlock)
        );
        assert_eq!(payload.len(), 8, "kept for the retry");
        // Let the queue drain; the fillers overflow the server's queue,
        // which is emptied before the prepared datagram goes.
        p.run_until(|p| {
            while p.b.udp_recv_datagram(server).is_ok() {}
            p.a.udp_send_payload_to(client, &mut payload, to).is_ok()
        })
        .unwrap();
        assert!(payload.is_empty(), "taken once sent");
        let mut last = None;
        p.run_until(|p| {
            while let Ok(d) = p.b.udp_recv_datagram(server) {
                last = Some(d);
            }
            last.as_ref().is_some_and(|d| d.data == b"prepared")
        })
        .unwrap();
        let d = last.unwrap();
        assert_eq!((d.from, d.to), (p.a.local_addr(client).unwrap(), to));
        p.b.close(p.now, server).unwrap();
        p.a.close(p.now, client).unwrap();
    }
}

#[test]
fn udp_to_a_closed_port_draws_port_unreachable() {
    let mut p = two_stacks(Faults::default());
    let client = p.a.udp_bind(SocketAddr::new(A4, 5000)).unwrap();
    p.a.udp_send_to(client, b"anyone?", SocketAddr::new(B4, 9))
        .unwrap();
    p.run_until(|p| p.a.stats().icmp_errors_received == 1)
        .unwrap();
    assert_eq!(p.b.stats().udp_no_socket, 1);
    assert_eq!(p.b.stats().icmp_errors_sent, 1);
}

fn echo_request(seq: u16) -> Vec<u8> {
    let icmp = Icmpv4Repr::EchoRequest {
        ident: 0x4242,
        seq_no: seq,
        data: b"berth ping",
    };
    let ip = Ipv4Repr {
        src_addr: Ipv4Addr::new(198, 18, 0, 1),
        dst_addr: Ipv4Addr::new(198, 18, 0, 2),
        next_header: IpProtocol::Icmp,
        payload_len: icmp.buffer_len(),
        hop_limit: 64,
        dscp: 0,
        ecn: Ecn::NotEct,
        ident: seq,
        dont_frag: false,
        more_frags: false,
        frag_offset: 0,
    };
    let mut frame = vec![0u8; ip.buffer_len()];
    ip.emit(&mut Ipv4Packet::new_unchecked(&mut frame[..]));
    icmp.emit(&mut Icmpv4Packet::new_unchecked(&mut frame[20..]));
    frame
}

#[test]
fn ping_is_answered_and_rate_limited() {
    let mut b = Stack::new(StackConfig {
        icmp_burst: 3,
        ..config(vec![B4], 2)
    });
    let mut buf = [0u8; 1500];
    for seq in 0..5 {
        b.handle_frame(Instant::ZERO, &echo_request(seq));
    }
    let mut replies = 0;
    while let Some(n) = b.poll_transmit(Instant::ZERO, &mut buf) {
        let ip = Ipv4Packet::new_checked(&buf[..n]).unwrap();
        let repr = Icmpv4Repr::parse(
            &Icmpv4Packet::new_checked(ip.payload()).unwrap(),
            ChecksumCaps::FULL,
        )
        .unwrap();
        assert!(matches!(
            repr,
            Icmpv4Repr::EchoReply {
                ident: 0x4242,
                data: b"berth ping",
                ..
            }
        ));
        assert_eq!(ip.dst_addr(), Ipv4Addr::new(198, 18, 0, 1));
        replies += 1;
    }
    assert_eq!(replies, 3, "a burst of three, then the bucket is empty");
    assert_eq!(b.stats().icmp_rate_limited, 2);
    // A second later the bucket has refilled.
    b.handle_frame(Instant::from_secs(1), &echo_request(9));
    assert!(b.poll_transmit(Instant::from_secs(1), &mut buf).is_some());
}

#[test]
fn bind_rules() {
    let mut s = Stack::new(config(vec![B4, B6], 3));
    let wild = s
        .tcp_listen(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 80), 8)
        .unwrap();
    assert_eq!(
        s.tcp_listen(SocketAddr::new(B4, 80), 8),
        Err(SocketError::AddrInUse)
    );
    assert_eq!(
        s.tcp_listen(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 80), 8),
        Err(SocketError::AddrInUse)
    );
    // Another family is another port space.
    assert!(s.tcp_listen(SocketAddr::new(B6, 80), 8).is_ok());
    // Not our address.
    assert_eq!(
        s.tcp_listen(SocketAddr::new(A4, 81), 8),
        Err(SocketError::AddrNotAvailable)
    );
    s.close(Instant::ZERO, wild).unwrap();
    assert!(s.tcp_listen(SocketAddr::new(B4, 80), 8).is_ok());
    // UDP: same rules.
    s.udp_bind(SocketAddr::new(B4, 53)).unwrap();
    assert_eq!(
        s.udp_bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 53)),
        Err(SocketError::AddrInUse)
    );
    // Bad destinations.
    assert_eq!(
        s.tcp_connect(Instant::ZERO, SocketAddr::new(A4, 0), None),
        Err(SocketError::InvalidInput)
    );
    assert_eq!(
        s.tcp_close(Instant::ZERO, wild),
        Err(SocketError::InvalidHandle),
        "stale handle"
    );
}

#[test]
fn ephemeral_ports_run_out_cleanly() {
    let mut s = Stack::new(StackConfig {
        ephemeral_ports: 40000..=40001,
        ..config(vec![A4], 4)
    });
    let peer = SocketAddr::new(B4, 80);
    let one = s.tcp_connect(Instant::ZERO, peer, None).unwrap();
    let two = s.tcp_connect(Instant::ZERO, peer, None).unwrap();
    assert_ne!(
        s.local_addr(one).unwrap().port(),
        s.local_addr(two).unwrap().port()
    );
    assert_eq!(
        s.tcp_connect(Instant::ZERO, peer, None),
        Err(SocketError::AddrNotAvailable)
    );
    // Another peer: the same local ports make new 4-tuples.
    assert!(
        s.tcp_connect(Instant::ZERO, SocketAddr::new(B4, 81), None)
            .is_ok()
    );
}

#[test]
fn listening_on_port_0_picks_a_free_ephemeral_port() {
    let mut p = two_stacks(Faults::default());
    let range = p.b.config().ephemeral_ports.clone();
    let l = p.b.tcp_listen(SocketAddr::new(B4, 0), 8).unwrap();
    let at = p.b.local_addr(l).unwrap();
    assert_eq!(at.ip(), B4);
    assert!(range.contains(&at.port()), "{at}");
    // A second one gets another port, of the wildcard too.
    let l2 =
        p.b.tcp_listen(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0), 8)
            .unwrap();
    let at2 = p.b.local_addr(l2).unwrap();
    assert_ne!(at2.port(), at.port());
    assert!(range.contains(&at2.port()));
    // And the port is really listened on.
    let (_, _, peer) = p.establish(l, at);
    assert_eq!(peer.ip(), A4);
    // Exhausted: AddrInUse, as Linux's bind(0).
    let mut s = Stack::new(StackConfig {
        ephemeral_ports: 40000..=40000,
        ..config(vec![B4], 4)
    });
    s.tcp_listen(SocketAddr::new(B4, 0), 8).unwrap();
    assert_eq!(
        s.tcp_listen(SocketAddr::new(B4, 0), 8),
        Err(SocketError::AddrInUse)
    );
}

#[test]
fn specific_listener_wins_over_wildcard() {
    let mut p = two_stacks(Faults::default());
    let wild6 =
        p.b.tcp_listen(SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 443), 4)
            .unwrap();
    let specific = p.b.tcp_listen(SocketAddr::new(B6, 8443), 4).unwrap();
    let c1 =
        p.a.tcp_connect(p.now, SocketAddr::new(B6, 443), None)
            .unwrap();
    let c2 =
        p.a.tcp_connect(p.now, SocketAddr::new(B6, 8443), None)
            .unwrap();
    p.run_until(|p| {
        p.a.tcp_state(c1).unwrap() == State::Established
            && p.a.tcp_state(c2).unwrap() == State::Established
    })
    .unwrap();
    assert!(accept(&mut p.b, wild6).is_some());
    assert!(accept(&mut p.b, specific).is_some());
    let mut acceptable = 0;
    while let Some(ev) = p.b.poll_event() {
        if ev.readiness.contains(Readiness::ACCEPTABLE) {
            acceptable += 1;
        }
    }
    assert_eq!(acceptable, 2);
}

/// More clients than the backlog: the extra ones are not lost; they
/// complete once the application accepts (Linux behaviour). Without SYN
/// cookies the overflowing SYNs are dropped and retried; `cookie.rs` has the
/// same scenario with cookies.
#[test]
fn backlog_overflow_completes_after_accept() {
    let mut p = two_stacks(Faults {
        delay: Duration::from_millis(1),
        ..Faults::default()
    });
    p.b = Stack::new(StackConfig {
        syn_cookies: false,
        ..config(vec![B4, B6], 2)
    });
    let l = p.b.tcp_listen(SocketAddr::new(B4, 80), 2).unwrap();
    let clients: Vec<_> = (0..5)
        .map(|_| {
            p.a.tcp_connect(p.now, SocketAddr::new(B4, 80), None)
                .unwrap()
        })
        .collect();
    let mut accepted = Vec::new();
    p.run_until(|p| {
        // The application accepts one connection per idle moment.
        if let Some(c) = accept(&mut p.b, l) {
            accepted.push(c);
        }
        accepted.len() == clients.len()
    })
    .unwrap();
    assert!(
        p.b.stats().syn_queue_overflow + p.b.stats().accept_queue_overflow > 0,
        "the backlog did overflow"
    );
    for c in clients {
        assert_eq!(p.a.tcp_state(c).unwrap(), State::Established);
    }
}

/// With `tcp_abort_on_overflow`, a handshake that completes into a full
/// accept queue is reset at once: the client sees its connection fail
/// instead of waiting. Without it (Linux's default) the final ACK is
/// dropped and the client stays established, waiting.
#[test]
fn abort_on_overflow_resets_what_the_accept_queue_cannot_take() {
    for abort in [true, false] {
        let mut p = two_stacks(Faults::default());
        p.b = Stack::new(StackConfig {
            syn_cookies: false,
            tcp_abort_on_overflow: abort,
            ..config(vec![B4, B6], 2)
        });
        let l = p.b.tcp_listen(SocketAddr::new(B4, 80), 2).unwrap();
        let first =
            p.a.tcp_connect(p.now, SocketAddr::new(B4, 80), None)
                .unwrap();
        p.run_until(|p| p.a.tcp_state(first) == Ok(State::Established))
            .unwrap();
        // Two handshakes at once while one slot of the accept queue is
        // left: both fit the SYN queue, the second's final ACK overflows.
        let late: Vec<_> = (0..2)
            .map(|_| {
                p.a.tcp_connect(p.now, SocketAddr::new(B4, 80), None)
                    .unwrap()
            })
            .collect();
        p.run_until(|p| {
            p.b.stats().accept_queue_overflow > 0
                && late.iter().all(|&c| p.a.tcp_state(c) != Ok(State::SynSent))
        })
        .unwrap();
        let reset = |p: &Pair| {
            late.iter()
                .filter(|&&c| p.a.tcp_error(c).ok().flatten() == Some(SocketError::ConnectionReset))
                .count()
        };
        // Let the reset (if any) arrive.
        for _ in 0..10 {
            p.step();
        }
        assert_eq!(reset(&p), usize::from(abort), "abort_on_overflow {abort}");
        assert!(accept(&mut p.b, l).is_some());
    }
}

mod bound;
mod cookie;
mod deferred;
mod ethernet;
mod frag;
mod frag6;
mod limits;
mod logging;
mod loopback;
mod multicast;
mod scale;
mod sockopt;
mod sockopt_wire;
mod time_wait;
mod tso;

/// An ICMP error from the path quoting `quoted`: an IPv4 header to `dst`
/// and the first 8 bytes of one of A's TCP segments.
fn icmp_about(
    reason: crate::wire::Icmpv4DstUnreachable,
    mtu: u16,
    dst: Ipv4Addr,
    quoted: &[u8],
) -> Vec<u8> {
    icmp_about_proto(IpProtocol::Tcp, reason, mtu, dst, quoted)
}

/// [`icmp_about`] for a packet of any protocol.
fn icmp_about_proto(
    protocol: IpProtocol,
    reason: crate::wire::Icmpv4DstUnreachable,
    mtu: u16,
    dst: Ipv4Addr,
    quoted: &[u8],
) -> Vec<u8> {
    let quoted_ip = Ipv4Repr {
        src_addr: Ipv4Addr::new(198, 18, 0, 1),
        dst_addr: dst,
        next_header: protocol,
        payload_len: 1460,
        hop_limit: 64,
        dscp: 0,
        ecn: Ecn::NotEct,
        ident: 1,
        dont_frag: true,
        more_frags: false,
        frag_offset: 0,
    };
    let icmp = Icmpv4Repr::DstUnreachable {
        reason,
        next_hop_mtu: mtu,
        header: quoted_ip,
        data: quoted,
    };
    let ip = Ipv4Repr {
        src_addr: Ipv4Addr::new(198, 18, 0, 2),
        dst_addr: Ipv4Addr::new(198, 18, 0, 1),
        next_header: IpProtocol::Icmp,
        payload_len: icmp.buffer_len(),
        ..quoted_ip
    };
    let mut frame = vec![0u8; ip.buffer_len()];
    ip.emit(&mut Ipv4Packet::new_unchecked(&mut frame[..]));
    icmp.emit(&mut Icmpv4Packet::new_unchecked(&mut frame[20..]));
    frame
}

/// ICMP fragmentation-needed quoting one of our segments lowers that
/// connection's segment size (RFC 1191), and a host-unreachable during the
/// handshake fails the connect (RFC 1122 4.2.3.9).
#[test]
fn icmp_errors_reach_the_connection() {
    use crate::wire::Icmpv4DstUnreachable;
    let mut p = two_stacks(Faults::default());
    let l = p.b.tcp_listen(SocketAddr::new(B4, 80), 4).unwrap();
    let (c, _, _) = p.establish(l, SocketAddr::new(B4, 80));
    let b4 = Ipv4Addr::new(198, 18, 0, 2);
    // Data goes out in full-sized segments; a router says 1000 bytes fit.
    p.a.tcp_send(c, &[5u8; 20_000]).unwrap();
    let mut buf = [0u8; 1500];
    let first = p.a.poll_transmit(p.now, &mut buf).unwrap();
    assert!(first > 1000);
    let quoted = buf[20..28].to_vec();
    while p.a.poll_transmit(p.now, &mut buf).is_some() {}
    // A forged error quoting a sequence number we never sent is ignored
    // (RFC 5927 4.1).
    let mut forged = quoted.clone();
    forged[4..8].copy_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
    p.a.handle_frame(
        p.now,
        &icmp_about(Icmpv4DstUnreachable::FragRequired, 600, b4, &forged),
    );
    assert_eq!(p.a.stats().icmp_errors_ignored, 1);
    p.a.handle_frame(
        p.now,
        &icmp_about(Icmpv4DstUnreachable::FragRequired, 1000, b4, &quoted),
    );
    assert_eq!(p.a.stats().icmp_errors_received, 2);
    // What is resent, and sent from now on, fits the path.
    p.now += Duration::from_secs(2);
    p.a.handle_timeout(p.now);
    let mut sizes = Vec::new();
    while let Some(n) = p.a.poll_transmit(p.now, &mut buf) {
        sizes.push(n);
    }
    assert!(
        !sizes.is_empty() && sizes.iter().all(|&n| n <= 1000),
        "{sizes:?}"
    );

    // Unreachable during the handshake: the connect fails.
    let c2 =
        p.a.tcp_connect(p.now, SocketAddr::new(B4, 81), None)
            .unwrap();
    let syn = p.a.poll_transmit(p.now, &mut buf).unwrap();
    assert!(syn >= 28);
    let quoted_syn = buf[20..28].to_vec();
    p.a.handle_frame(
        p.now,
        &icmp_about(Icmpv4DstUnreachable::HostUnreachable, 0, b4, &quoted_syn),
    );
    assert_eq!(p.a.tcp_state(c2).unwrap(), State::Closed);
    assert_eq!(
        p.a.tcp_error(c2).unwrap(),
        Some(SocketError::HostUnreachable)
    );
}

/// A connect fails with the error the ICMP code means, as on Linux: a
/// closed port refuses, a missing route is NetworkUnreachable.
#[test]
fn an_unreachable_during_connect_fails_it_with_its_meaning() {
    use crate::wire::Icmpv4DstUnreachable as U;
    let b4 = Ipv4Addr::new(198, 18, 0, 2);
    for (code, want) in [
        (U::PortUnreachable, SocketError::ConnectionRefused),
        (U::NetUnreachable, SocketError::NetworkUnreachable),
        (U::HostUnreachable, SocketError::HostUnreachable),
        (U::AdminProhibited, SocketError::HostUnreachable),
    ] {
        let mut p = two_stacks(Faults::default());
        let c =
            p.a.tcp_connect(p.now, SocketAddr::new(B4, 81), None)
                .unwrap();
        let mut buf = [0u8; 1500];
        p.a.poll_transmit(p.now, &mut buf).unwrap();
        let quoted_syn = buf[20..28].to_vec();
        p.a.handle_frame(p.now, &icmp_about(code, 0, b4, &quoted_syn));
        assert_eq!(p.a.tcp_state(c).unwrap(), State::Closed, "{code:?}");
        assert_eq!(p.a.tcp_error(c).unwrap(), Some(want), "{code:?}");
    }
}

/// On an open connection an unreachable is a soft error (RFC 1122
/// 4.2.3.9): the connection goes on, and if it then times out, the error
/// it reports is the unreachable, not a bare timeout (Linux sk_err_soft).
#[test]
fn a_soft_error_becomes_the_timeout_error() {
    use crate::wire::Icmpv4DstUnreachable as U;
    let mut p = two_stacks(Faults::default());
    let l = p.b.tcp_listen(SocketAddr::new(B4, 80), 4).unwrap();
    let (c, _, _) = p.establish(l, SocketAddr::new(B4, 80));
    p.a.tcp_send(c, b"into the void").unwrap();
    let mut buf = [0u8; 1500];
    p.a.poll_transmit(p.now, &mut buf).unwrap();
    let quoted = buf[20..28].to_vec();
    let b4 = Ipv4Addr::new(198, 18, 0, 2);
    p.a.handle_frame(p.now, &icmp_about(U::HostUnreachable, 0, b4, &quoted));
    assert_eq!(p.a.tcp_state(c).unwrap(), State::Established);
    assert_eq!(p.a.tcp_error(c).unwrap(), None);
    // Nothing comes back: retransmissions run out (bounded: 15 retries
    // take well under an hour).
    for _ in 0..10_000 {
        if p.a.tcp_state(c).unwrap() == State::Closed {
            break;
        }
        p.now += Duration::from_secs(1);
        p.a.handle_timeout(p.now);
        while p.a.poll_transmit(p.now, &mut buf).is_some() {}
    }
    assert_eq!(p.a.tcp_state(c).unwrap(), State::Closed);
    assert_eq!(
        p.a.tcp_error(c).unwrap(),
        Some(SocketError::HostUnreachable)
    );
}

/// A connected UDP socket hears of a closed port once, on its next call
/// (Linux without IP_RECVERR); a soft error, or an unconnected socket,
/// hears nothing.
#[test]
fn a_connected_udp_socket_hears_of_a_closed_port_once() {
    use crate::wire::Icmpv4DstUnreachable as U;
    let mut p = two_stacks(Faults::default());
    let u = p.a.udp_bind(SocketAddr::new(A4, 5000)).unwrap();
    p.a.udp_connect(u, SocketAddr::new(B4, 9)).unwrap();
    let quoted = [0x13, 0x88, 0, 9, 0, 12, 0, 0];
    let b4 = Ipv4Addr::new(198, 18, 0, 2);
    p.a.handle_frame(
        p.now,
        &icmp_about_proto(IpProtocol::Udp, U::HostUnreachable, 0, b4, &quoted),
    );
    let mut buf = [0u8; 16];
    assert_eq!(p.a.udp_recv_from(u, &mut buf), Err(SocketError::WouldBlock));
    p.a.handle_frame(
        p.now,
        &icmp_about_proto(IpProtocol::Udp, U::PortUnreachable, 0, b4, &quoted),
    );
    assert_eq!(
        p.a.udp_recv_from(u, &mut buf),
        Err(SocketError::ConnectionRefused)
    );
    assert_eq!(p.a.udp_recv_from(u, &mut buf), Err(SocketError::WouldBlock));
    assert_eq!(p.a.udp_send(u, b"again"), Ok(5));
    // Unconnected: ignored.
    let v = p.a.udp_bind(SocketAddr::new(A4, 5001)).unwrap();
    let quoted = [0x13, 0x89, 0, 9, 0, 12, 0, 0];
    p.a.handle_frame(
        p.now,
        &icmp_about_proto(IpProtocol::Udp, U::PortUnreachable, 0, b4, &quoted),
    );
    assert_eq!(p.a.udp_recv_from(v, &mut buf), Err(SocketError::WouldBlock));
}

/// With TSO, the path MTU bounds the size the device cuts long segments
/// at, and every segment resent.
#[test]
fn a_path_mtu_drop_bounds_long_segments() {
    use crate::wire::Icmpv4DstUnreachable;
    let mut p = two_stacks(Faults::default());
    p.a = Stack::new(StackConfig {
        tso_max: 65535,
        ..config(vec![A4, A6], 1)
    });
    p.a_tso = Some(crate::sim::Tso::default());
    let l = p.b.tcp_listen(SocketAddr::new(B4, 80), 4).unwrap();
    let (c, _, _) = p.establish(l, SocketAddr::new(B4, 80));
    // Grow cwnd past one segment's worth first.
    p.a.tcp_send(c, &[5u8; 200_000]).unwrap();
    let mut buf = vec![0u8; 65535];
    let (_, gso) = p.a.poll_transmit_gso(p.now, &mut buf).unwrap();
    assert!(gso.is_some_and(|g| g > 1000), "{gso:?}");
    let quoted = buf[20..28].to_vec();
    while p.a.poll_transmit_gso(p.now, &mut buf).is_some() {}
    let b4 = Ipv4Addr::new(198, 18, 0, 2);
    p.a.handle_frame(
        p.now,
        &icmp_about(Icmpv4DstUnreachable::FragRequired, 1000, b4, &quoted),
    );
    let mut out = Vec::new();
    while let Some((n, gso)) = p.a.poll_transmit_gso(p.now, &mut buf) {
        out.push((n, gso));
    }
    assert!(!out.is_empty(), "what went out too large goes again");
    for (n, gso) in out {
        let g = gso.expect("every TCP segment's checksum is left to the device");
        assert!(
            n <= 1000 || 20 + 32 + usize::from(g) <= 1000,
            "{n} split at {g}"
        );
    }
}

/// Closes `c` (client, closing first, so it lingers in TIME-WAIT) and its
/// peer `s`, and runs until both sides are done.
fn close_both(p: &mut Pair, c: SocketHandle, s: SocketHandle) {
    p.a.tcp_close(p.now, c).unwrap();
    p.run_until(|p| {
        p.a.tcp_state(c)
            .is_ok_and(|st| st == State::FinWait2 || st == State::TimeWait)
    })
    .unwrap();
    p.b.tcp_close(p.now, s).unwrap();
    p.run_until(|p| {
        p.a.tcp_state(c).is_ok_and(|st| st == State::TimeWait) && p.b.socket_count() <= 1
    })
    .unwrap();
}

#[test]
fn time_wait_tuples_are_reused_for_new_outbound_connections() {
    let mut p = two_stacks(Faults {
        delay: Duration::from_millis(2),
        ..Faults::default()
    });
    p.a = Stack::new(StackConfig {
        ephemeral_ports: 40000..=40000,
        ..config(vec![A4], 1)
    });
    let l = p.b.tcp_listen(SocketAddr::new(B4, 80), 4).unwrap();
    let peer = SocketAddr::new(B4, 80);
    let c = p.a.tcp_connect(p.now, peer, None).unwrap();
    let mut server = None;
    p.run_until(|p| {
        server = server.or_else(|| accept(&mut p.b, l));
        server.is_some()
    })
    .unwrap();
    close_both(&mut p, c, server.unwrap().0);
    // The only port's tuple is in TIME-WAIT: too young to reuse yet.
    assert_eq!(
        p.a.tcp_connect(p.now, peer, None),
        Err(SocketError::AddrNotAvailable)
    );
    // A second later it may be taken over (timestamps are on by default).
    p.now += Duration::from_secs(1);
    let again = p.a.tcp_connect(p.now, peer, None).unwrap();
    assert_eq!(p.a.local_addr(again).unwrap().port(), 40000);
    assert_eq!(p.a.stats().time_wait_reused, 1);
    p.run_until(|p| p.a.tcp_state(again).unwrap() == State::Established)
        .unwrap();
}

#[test]
fn time_wait_reuse_can_be_turned_off() {
    let mut p = two_stacks(Faults::default());
    p.a = Stack::new(StackConfig {
        ephemeral_ports: 40000..=40000,
        tcp_tw_reuse: false,
        ..config(vec![A4], 1)
    });
    let l = p.b.tcp_listen(SocketAddr::new(B4, 80), 4).unwrap();
    let peer = SocketAddr::new(B4, 80);
    let c = p.a.tcp_connect(p.now, peer, None).unwrap();
    let mut server = None;
    p.run_until(|p| {
        server = server.or_else(|| accept(&mut p.b, l));
        server.is_some()
    })
    .unwrap();
    close_both(&mut p, c, server.unwrap().0);
    p.now += Duration::from_secs(5);
    assert_eq!(
        p.a.tcp_connect(p.now, peer, None),
        Err(SocketError::AddrNotAvailable)
    );
}

#[test]
fn reuse_address_decides_binding_over_time_wait() {
    let mut p = two_stacks(Faults::default());
    let l = p.b.tcp_listen(SocketAddr::new(B4, 80), 4).unwrap();
    let c =
        p.a.tcp_connect(p.now, SocketAddr::new(B4, 80), None)
            .unwrap();
    let mut server = None;
    p.run_until(|p| {
        server = server.or_else(|| accept(&mut p.b, l));
        server.is_some()
    })
    .unwrap();
    let s = server.unwrap().0;
    // The server closes first: its end lingers in TIME-WAIT on port 80.
    p.b.tcp_close(p.now, s).unwrap();
    p.run_until(|p| p.a.tcp_state(c).is_ok_and(|st| st == State::CloseWait))
        .unwrap();
    p.a.tcp_close(p.now, c).unwrap();
    p.run_until(|p| {
        p.b.tcp_state(s).is_ok_and(|st| st == State::TimeWait) || p.b.tcp_state(s).is_err()
    })
    .unwrap();
    p.b.close(p.now, l).unwrap();
    assert_eq!(
        p.b.tcp_listen_opts(SocketAddr::new(B4, 80), 4, false),
        Err(SocketError::AddrInUse),
        "without SO_REUSEADDR the TIME-WAIT connection holds the port"
    );
    assert!(
        p.b.tcp_listen_opts(SocketAddr::new(B4, 80), 4, true)
            .is_ok()
    );
}
mod transparent;

/// A UDP datagram bigger than the MTU leaves as IPv4 fragments (RFC 791
/// 3.2) and is reassembled at the other end; the echo comes back the same
/// way.
#[test]
fn big_udp_datagrams_are_fragmented_and_reassembled() {
    let mut p = two_stacks(Faults {
        delay: Duration::from_millis(1),
        ..Faults::default()
    });
    let server = p.b.udp_bind(SocketAddr::new(B4, 7)).unwrap();
    let client = p.a.udp_bind(SocketAddr::new(A4, 0)).unwrap();
    let data: Vec<u8> = (0..9000u32).map(|i| (i % 253) as u8).collect();
    p.a.udp_send_to(client, &data, SocketAddr::new(B4, 7))
        .unwrap();
    let mut buf = vec![0u8; 65536];
    let mut got = None;
    p.run_until(|p| {
        got = p.b.udp_recv_from(server, &mut buf).ok();
        got.is_some()
    })
    .unwrap();
    let (n, from) = got.unwrap();
    assert_eq!(&buf[..n], &data[..]);
    assert!(p.b.stats().frag_reassembled >= 1);
    p.b.udp_send_to(server, &buf[..n], from).unwrap();
    let mut back = vec![0u8; 65536];
    let mut reply = None;
    p.run_until(|p| {
        reply = p.a.udp_recv_from(client, &mut back).ok();
        reply.is_some()
    })
    .unwrap();
    assert_eq!(&back[..reply.unwrap().0], &data[..]);
    assert_eq!(
        p.a.udp_send_to(client, &vec![0u8; 65_508], SocketAddr::new(B4, 7)),
        Err(SocketError::MessageTooLong)
    );
}

/// A datagram of a transport protocol berth does not speak draws ICMP
/// Protocol Unreachable (RFC 1122 3.2.2.1) over IPv4 and a Parameter
/// Problem, unrecognized Next Header, pointing at the field (RFC 8200 4)
/// over IPv6, as Linux answers.
#[test]
fn an_unknown_protocol_is_answered() {
    use crate::wire::{Icmpv4DstUnreachable, Icmpv6Packet, Icmpv6Repr, Ipv6Packet, Ipv6Repr};
    let mut b = Stack::new(StackConfig {
        addrs: vec![B4, B6],
        seed: 3,
        ..Default::default()
    });
    let ip = Ipv4Repr {
        src_addr: Ipv4Addr::new(198, 18, 0, 1),
        dst_addr: Ipv4Addr::new(198, 18, 0, 2),
        next_header: IpProtocol::Unknown(132),
        payload_len: 8,
        hop_limit: 64,
        dscp: 0,
        ecn: Ecn::NotEct,
        ident: 7,
        dont_frag: false,
        more_frags: false,
        frag_offset: 0,
    };
    let mut frame = vec![0u8; ip.buffer_len()];
    ip.emit(&mut Ipv4Packet::new_unchecked(&mut frame[..]));
    b.handle_frame(Instant::ZERO, &frame);
    let mut buf = [0u8; 1500];
    let n = b.poll_transmit(Instant::ZERO, &mut buf).unwrap();
    let reply = Ipv4Packet::new_checked(&buf[..n]).unwrap();
    let icmp = Icmpv4Packet::new_checked(reply.payload()).unwrap();
    match Icmpv4Repr::parse(&icmp, ChecksumCaps::FULL).unwrap() {
        Icmpv4Repr::DstUnreachable { reason, .. } => {
            assert_eq!(reason, Icmpv4DstUnreachable::ProtoUnreachable);
        }
        other => panic!("{other:?}"),
    }
    let IpAddr::V6(b6) = B6 else { unreachable!() };
    let ip6 = Ipv6Repr {
        src_addr: "2001:2::1".parse().unwrap(),
        dst_addr: b6,
        next_header: IpProtocol::Unknown(132),
        payload_len: 8,
        hop_limit: 64,
        traffic_class: 0,
        flow_label: 0,
    };
    let mut frame6 = vec![0u8; 48];
    ip6.emit(&mut Ipv6Packet::new_unchecked(&mut frame6[..]));
    b.handle_frame(Instant::ZERO, &frame6);
    let n = b.poll_transmit(Instant::ZERO, &mut buf).unwrap();
    let reply = Ipv6Packet::new_checked(&buf[..n]).unwrap();
    let icmp = Icmpv6Packet::new_checked(reply.payload()).unwrap();
    match Icmpv6Repr::parse(
        &icmp,
        reply.src_addr(),
        reply.dst_addr(),
        ChecksumCaps::FULL,
    )
    .unwrap()
    {
        Icmpv6Repr::ParamProblem {
            reason, pointer, ..
        } => {
            assert_eq!(
                reason,
                crate::wire::Icmpv6ParamProblem::UnrecognizedNextHeader
            );
            assert_eq!(pointer, 6);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(b.stats().unknown_protocol, 2);
}

/// The hop-limit byte of an IP packet (IPv4's TTL, IPv6's hop limit).
fn hop_limit_of(packet: &[u8]) -> u8 {
    match packet[0] >> 4 {
        4 => packet[8],
        _ => packet[7],
    }
}

#[test]
fn a_socket_ttl_is_carried_by_its_packets_and_inherited_by_accepted_connections() {
    for (ip_a, ip_b) in [(A4, B4), (A6, B6)] {
        let mut p = two_stacks(Faults::default());
        let l = p.b.tcp_listen(SocketAddr::new(ip_b, 80), 4).unwrap();
        assert_eq!(p.b.ttl(l), Ok(64), "the stack's default");
        assert_eq!(p.b.set_ttl(l, 0), Err(SocketError::InvalidInput));
        assert_eq!(p.b.set_ttl(l, 256), Err(SocketError::InvalidInput));
        p.b.set_ttl(l, 9).unwrap();
        assert_eq!(p.b.ttl(l), Ok(9));
        let c =
            p.a.tcp_connect(p.now, SocketAddr::new(ip_b, 80), None)
                .unwrap();
        p.a.set_ttl(c, 200).unwrap();
        let mut buf = vec![0u8; 1500];
        let n = p.a.poll_transmit(p.now, &mut buf).unwrap();
        assert_eq!(hop_limit_of(&buf[..n]), 200, "the SYN");
        p.b.handle_frame(p.now, &buf[..n]);
        let n = p.b.poll_transmit(p.now, &mut buf).unwrap();
        assert_eq!(
            hop_limit_of(&buf[..n]),
            9,
            "the SYN-ACK of the listener's connection"
        );
        p.a.handle_frame(p.now, &buf[..n]);
        p.run_until(|p| p.a.tcp_state(c) == Ok(State::Established))
            .unwrap();
        let (s, _) = accept(&mut p.b, l).unwrap();
        assert_eq!(p.b.ttl(s), Ok(9), "inherited");
        p.b.tcp_send(s, b"x").unwrap();
        let n = p.b.poll_transmit(p.now, &mut buf).unwrap();
        assert_eq!(hop_limit_of(&buf[..n]), 9);

        let u = p.a.udp_bind(SocketAddr::new(ip_a, 0)).unwrap();
        p.a.set_ttl(u, 1).unwrap();
        p.a.udp_send_to(u, b"hop", SocketAddr::new(ip_b, 9))
            .unwrap();
        let n = p.a.poll_transmit(p.now, &mut buf).unwrap();
        assert_eq!(hop_limit_of(&buf[..n]), 1, "the datagram");
        // Fragments carry it too.
        p.a.udp_send_to(u, &[7u8; 4000], SocketAddr::new(ip_b, 9))
            .unwrap();
        let mut fragments = 0;
        while let Some(n) = p.a.poll_transmit(p.now, &mut buf) {
            assert_eq!(hop_limit_of(&buf[..n]), 1, "a fragment");
            fragments += 1;
        }
        assert!(fragments >= 3);
        // Other sockets keep the stack's.
        let v = p.a.udp_bind(SocketAddr::new(ip_a, 0)).unwrap();
        p.a.udp_send_to(v, b"hop", SocketAddr::new(ip_b, 9))
            .unwrap();
        let n = p.a.poll_transmit(p.now, &mut buf).unwrap();
        assert_eq!(hop_limit_of(&buf[..n]), 64);
    }
}
