//! Loopback: a stack talks to itself at 127.0.0.1, ::1 and its own
//! addresses without the device; the device cannot reach a loopback
//! address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::{A4, A6, accept, config};
use crate::stack::{SocketError, Stack};
use crate::tcp::State;
use crate::time::{Duration, Instant};

/// Runs `s` (its output, its timers) until `done` or a bound of virtual
/// time; nothing may reach the device.
fn run(s: &mut Stack, now: &mut Instant, mut done: impl FnMut(&mut Stack) -> bool) {
    let mut buf = vec![0u8; 65536];
    for _ in 0..10_000 {
        assert_eq!(
            s.poll_transmit(*now, &mut buf),
            None,
            "a packet for the device"
        );
        if done(s) {
            return;
        }
        *now += Duration::from_millis(1);
        s.handle_timeout(*now);
    }
    panic!("never done");
}

fn echo_through_itself(to: IpAddr) {
    let mut s = Stack::new(config(vec![A4, A6], 1));
    let mut now = Instant::ZERO;
    let l = s.tcp_listen(SocketAddr::new(to, 80), 4).unwrap();
    let c = s.tcp_connect(now, SocketAddr::new(to, 80), None).unwrap();
    let mut server = None;
    run(&mut s, &mut now, |s| {
        if server.is_none() {
            server = accept(s, l);
        }
        server.is_some() && s.tcp_state(c).unwrap() == State::Established
    });
    let (srv, peer) = server.unwrap();
    assert_eq!(peer, s.local_addr(c).unwrap());
    let from = if to.is_loopback() { to } else { peer.ip() };
    assert_eq!(peer.ip(), from, "the source of a loopback connection");
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let (mut sent, mut got) = (0, Vec::new());
    let mut buf = vec![0u8; 65536];
    run(&mut s, &mut now, |s| {
        if sent < data.len()
            && let Ok(n) = s.tcp_send(c, &data[sent..])
        {
            sent += n;
        }
        while let Ok(n) = s.tcp_recv(srv, &mut buf) {
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        got.len() == data.len()
    });
    assert!(got == data);
    assert!(s.stats().loopback_packets > 0);
    assert_eq!(s.stats().frames_out, 0);
}

#[test]
fn tcp_over_ipv4_loopback() {
    echo_through_itself(IpAddr::V4(Ipv4Addr::LOCALHOST));
}

#[test]
fn tcp_over_ipv6_loopback() {
    echo_through_itself(IpAddr::V6(Ipv6Addr::LOCALHOST));
}

#[test]
fn tcp_to_its_own_address() {
    echo_through_itself(A4);
}

#[test]
fn udp_and_ping_over_loopback() {
    let mut s = Stack::new(config(vec![A4], 1));
    let now = Instant::ZERO;
    let a = s
        .udp_bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 5000))
        .unwrap();
    let b = s
        .udp_bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0))
        .unwrap();
    s.udp_send_to(
        b,
        b"to myself",
        SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)), 5000),
    )
    .unwrap();
    let mut buf = [0u8; 64];
    assert_eq!(s.poll_transmit(now, &mut buf), None);
    let (n, from) = s.udp_recv_from(a, &mut buf).unwrap();
    assert_eq!(&buf[..n], b"to myself");
    assert_eq!(from.ip(), IpAddr::V4(Ipv4Addr::LOCALHOST));
    // A closed port on loopback answers with port unreachable, which the
    // connected sender hears.
    s.udp_connect(b, SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 5999))
        .unwrap();
    s.udp_send(b, b"anyone?").unwrap();
    assert_eq!(s.poll_transmit(now, &mut buf), None);
    assert_eq!(
        s.udp_recv_from(b, &mut buf),
        Err(SocketError::ConnectionRefused)
    );
}

#[test]
fn the_device_cannot_reach_a_loopback_address() {
    use crate::wire::{IpProtocol, Ipv4Packet, Ipv4Repr};
    let mut s = Stack::new(config(vec![A4], 1));
    s.udp_bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 5000))
        .unwrap();
    let ip = Ipv4Repr {
        src_addr: Ipv4Addr::new(198, 18, 0, 2),
        dst_addr: Ipv4Addr::LOCALHOST,
        next_header: IpProtocol::Udp,
        payload_len: 8,
        hop_limit: 64,
        dscp: 0,
        ecn: crate::wire::Ecn::NotEct,
        ident: 1,
        dont_frag: false,
        more_frags: false,
        frag_offset: 0,
    };
    let mut frame = vec![0u8; 28];
    ip.emit(&mut Ipv4Packet::new_unchecked(&mut frame[..]));
    frame[20..28].copy_from_slice(&[0x13, 0x88, 0x13, 0x88, 0, 8, 0, 0]);
    s.handle_frame(Instant::ZERO, &frame);
    assert_eq!(s.stats().martian_destination, 1);
}

/// A loopback source never leaves the host: no answer could come back to
/// it (Linux: EINVAL).
#[test]
fn a_loopback_source_cannot_reach_the_network() {
    let mut s = Stack::new(config(vec![A4], 1));
    let outside = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(198, 18, 0, 2)), 9);
    let u = s
        .udp_bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0))
        .unwrap();
    assert_eq!(
        s.udp_send_to(u, b"x", outside),
        Err(SocketError::InvalidInput)
    );
    assert_eq!(s.udp_connect(u, outside), Err(SocketError::InvalidInput));
    let lo = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
    assert_eq!(
        s.tcp_connect(Instant::ZERO, outside, Some(lo)),
        Err(SocketError::InvalidInput)
    );
    let mut buf = [0u8; 1500];
    assert_eq!(s.poll_transmit(Instant::ZERO, &mut buf), None);
}

/// Answers on loopback are not rate-limited (Linux exempts loopback from
/// icmp_msgs_per_sec): 200 closed-port datagrams, 200 refusals.
#[test]
fn loopback_icmp_is_not_rate_limited() {
    let mut s = Stack::new(config(vec![A4], 1));
    let socks: Vec<_> = (0..200u16)
        .map(|i| {
            let u = s
                .udp_bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0))
                .unwrap();
            s.udp_connect(
                u,
                SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 6000 + i),
            )
            .unwrap();
            s.udp_send(u, b"?").unwrap();
            u
        })
        .collect();
    let mut buf = [0u8; 1500];
    assert_eq!(s.poll_transmit(Instant::ZERO, &mut buf), None);
    for u in socks {
        assert_eq!(
            s.udp_recv_from(u, &mut buf),
            Err(SocketError::ConnectionRefused)
        );
    }
    assert_eq!(s.stats().icmp_rate_limited, 0);
}

/// An ICMP error from the device about a packet that never left the host
/// (loopback, or to our own address) is forged: ignored.
#[test]
fn icmp_from_the_device_about_loopback_traffic_is_ignored() {
    use crate::wire::Icmpv4DstUnreachable as U;
    let mut s = Stack::new(config(vec![A4], 1));
    let u = s
        .udp_bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 5000))
        .unwrap();
    s.udp_connect(u, SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 9))
        .unwrap();
    use crate::wire::{Ecn, Icmpv4Packet, Icmpv4Repr, IpProtocol, Ipv4Packet, Ipv4Repr};
    let quoted_ip = Ipv4Repr {
        src_addr: Ipv4Addr::LOCALHOST,
        dst_addr: Ipv4Addr::LOCALHOST,
        next_header: IpProtocol::Udp,
        payload_len: 12,
        hop_limit: 64,
        dscp: 0,
        ecn: Ecn::NotEct,
        ident: 1,
        dont_frag: false,
        more_frags: false,
        frag_offset: 0,
    };
    let icmp = Icmpv4Repr::DstUnreachable {
        reason: U::PortUnreachable,
        next_hop_mtu: 0,
        header: quoted_ip,
        data: &[0x13, 0x88, 0, 9, 0, 12, 0, 0],
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
    s.handle_frame(Instant::ZERO, &frame);
    let mut buf = [0u8; 16];
    assert_eq!(s.udp_recv_from(u, &mut buf), Err(SocketError::WouldBlock));
    assert_eq!(s.stats().icmp_errors_ignored, 1);
}

/// An IPv4-mapped loopback source from the device is as martian as
/// 127.0.0.1 itself.
#[test]
fn a_mapped_loopback_source_from_the_device_is_dropped() {
    use crate::wire::{IpProtocol, Ipv6Packet, Ipv6Repr};
    let mut s = Stack::new(config(vec![A6], 1));
    s.udp_bind(SocketAddr::new(A6, 5000)).unwrap();
    let IpAddr::V6(a6) = A6 else { unreachable!() };
    let ip = Ipv6Repr {
        src_addr: Ipv4Addr::LOCALHOST.to_ipv6_mapped(),
        dst_addr: a6,
        next_header: IpProtocol::Udp,
        payload_len: 8,
        hop_limit: 64,
        traffic_class: 0,
        flow_label: 0,
    };
    let mut frame = vec![0u8; 48];
    ip.emit(&mut Ipv6Packet::new_unchecked(&mut frame[..]));
    frame[40..48].copy_from_slice(&[0x13, 0x88, 0x13, 0x88, 0, 8, 0, 0]);
    s.handle_frame(Instant::ZERO, &frame);
    assert_eq!(s.stats().martian_source, 1);
}
