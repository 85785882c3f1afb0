//! Two stacks on the Ethernet medium: ARP and NDP resolve each other before
//! TCP flows over IPv4 and IPv6; an address nobody owns is given up on.

use super::*;
use crate::config::Medium;
use crate::wire::EthernetAddress;

const MAC_A: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 1]);
const MAC_B: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 2]);

fn ethernet_pair() -> Pair {
    let cfg = |addrs, mac, seed| StackConfig {
        medium: Medium::Ethernet(mac),
        ..config(addrs, seed)
    };
    let link = |seed| {
        Link::new(
            Faults {
                delay: Duration::from_millis(1),
                ..Faults::default()
            },
            seed,
        )
    };
    sim::Pair::new(
        Stack::new(cfg(vec![A4, A6], MAC_A, 1)),
        Stack::new(cfg(vec![B4, B6], MAC_B, 2)),
        link(21),
        link(22),
    )
    .with_tap(Segments::default())
}

#[test]
fn tcp_over_ethernet_with_arp() {
    let mut p = ethernet_pair();
    transfer(&mut p, A4, B4, 200_000);
    assert!(p.a.stats().neighbor_solicits >= 1, "A asked who has B");
    assert!(p.b.stats().arp_replies >= 1, "B answered");
    assert_eq!(p.a.neighbor_drops(), 0);
}

#[test]
fn tcp_over_ethernet_with_ndp() {
    let mut p = ethernet_pair();
    transfer(&mut p, A6, B6, 200_000);
    assert!(p.a.stats().neighbor_solicits >= 1);
    assert!(p.b.stats().neighbor_adverts >= 1);
}

#[test]
fn unresolvable_next_hop_fails_the_connect() {
    let mut p = ethernet_pair();
    let nobody = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(198, 18, 0, 99)), 80);
    let c = p.a.tcp_connect(p.now, nobody, None).unwrap();
    p.run_until(|p| p.a.tcp_state(c).unwrap() == State::Closed)
        .unwrap();
    // After three unanswered ARP requests a second apart, the connect
    // fails with HostUnreachable, as on Linux (not TimedOut after the
    // SYN retries).
    assert_eq!(
        p.a.tcp_error(c).unwrap(),
        Some(SocketError::HostUnreachable)
    );
    assert!(
        p.now <= Instant::ZERO + Duration::from_secs(4),
        "{:?}",
        p.now
    );
    assert_eq!(
        p.a.stats().neighbor_solicits,
        3,
        "three attempts per resolution"
    );
    assert!(p.a.neighbor_drops() >= 1, "the queued SYNs were dropped");
    assert_eq!(
        p.b.stats().arp_replies,
        0,
        "B does not answer for an address it lacks"
    );
}

#[test]
fn frames_for_others_and_garbage_are_counted() {
    let mut b = Stack::new(StackConfig {
        medium: Medium::Ethernet(MAC_B),
        ..config(vec![B4], 3)
    });
    // Unicast to another MAC.
    let mut frame = vec![0u8; 60];
    frame[..6].copy_from_slice(&[2, 0, 0, 0, 0, 7]);
    frame[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    b.handle_frame(Instant::ZERO, &frame);
    assert_eq!(b.stats().not_for_us, 1);
    // Truncated.
    b.handle_frame(Instant::ZERO, &[0xff; 5]);
    assert_eq!(b.stats().link_malformed, 1);
    // A broadcast ARP with a bad hardware type.
    let mut arp = vec![0xffu8; 6];
    arp.extend_from_slice(&[2, 0, 0, 0, 0, 1, 0x08, 0x06]);
    arp.extend_from_slice(&[0, 9, 8, 0, 6, 4, 0, 1]);
    arp.extend_from_slice(&[0; 20]);
    b.handle_frame(Instant::ZERO, &arp);
    assert_eq!(b.stats().link_malformed, 2);
    let mut buf = [0u8; 1514];
    assert_eq!(b.poll_transmit(Instant::ZERO, &mut buf), None);
}

/// With routes configured, a destination none of them leads to fails at
/// once with NetworkUnreachable (TCP and UDP); one they lead to is reached
/// through its gateway.
#[test]
fn no_route_is_network_unreachable_at_once() {
    use crate::config::Route;
    let mut p = ethernet_pair();
    p.a.set_routes(vec![Route {
        prefix: IpAddr::V4(Ipv4Addr::new(198, 18, 0, 0)),
        prefix_len: 24,
        gateway: None,
    }]);
    let far = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1)), 80);
    assert_eq!(
        p.a.tcp_connect(p.now, far, None),
        Err(SocketError::NetworkUnreachable)
    );
    let u = p.a.udp_bind(SocketAddr::new(A4, 0)).unwrap();
    assert_eq!(
        p.a.udp_send_to(u, b"x", far),
        Err(SocketError::NetworkUnreachable)
    );
    assert_eq!(
        p.a.udp_connect(u, far),
        Err(SocketError::NetworkUnreachable)
    );
    p.a.close(p.now, u).unwrap();
    // IPv6 has no route at all now: unreachable too.
    let far6 = SocketAddr::new(B6, 80);
    assert_eq!(
        p.a.tcp_connect(p.now, far6, None),
        Err(SocketError::NetworkUnreachable)
    );
    // On-link still works; and loopback never needs a route.
    transfer(&mut p, A4, B4, 10_000);
    assert!(
        p.a.tcp_connect(
            p.now,
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 80),
            None
        )
        .is_ok()
    );
    // Through a gateway: B answers ARP for itself, the gateway.
    p.a.set_routes(vec![
        Route {
            prefix: IpAddr::V4(Ipv4Addr::new(198, 18, 0, 0)),
            prefix_len: 24,
            gateway: None,
        },
        Route {
            prefix: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            prefix_len: 0,
            gateway: Some(B4),
        },
    ]);
    let c = p.a.tcp_connect(p.now, far, None).unwrap();
    let mut buf = [0u8; 1500];
    let mut via_b = false;
    for _ in 0..100 {
        while let Some(n) = p.a.poll_transmit(p.now, &mut buf) {
            // An IPv4 packet to `far` in a frame to B's MAC.
            via_b |= buf[..6] == MAC_B.0 && n > 34 && buf[30..34] == [198, 51, 100, 1];
            p.b.handle_frame(p.now, &buf[..n]);
        }
        while let Some(n) = p.b.poll_transmit(p.now, &mut buf) {
            p.a.handle_frame(p.now, &buf[..n]);
        }
        if via_b {
            break;
        }
        p.now += Duration::from_millis(10);
        p.a.handle_timeout(p.now);
        p.b.handle_timeout(p.now);
    }
    assert!(via_b, "the SYN went to the gateway's MAC");
    let _ = c;
}

/// ARP answers for the addresses on the device only: never for a
/// loopback address (Linux's arp_process drops such requests).
#[test]
fn arp_is_not_answered_for_loopback() {
    use crate::wire::{ArpOperation, ArpPacket, ArpRepr, EtherType, EthernetPacket, EthernetRepr};
    let mut p = ethernet_pair();
    let mac_c = EthernetAddress([2, 0, 0, 0, 0, 3]);
    for target in [Ipv4Addr::LOCALHOST, Ipv4Addr::new(198, 18, 0, 1)] {
        let arp = ArpRepr::EthernetIpv4 {
            operation: ArpOperation::Request,
            source_hardware_addr: mac_c,
            source_protocol_addr: Ipv4Addr::new(198, 18, 0, 3),
            target_hardware_addr: EthernetAddress([0; 6]),
            target_protocol_addr: target,
        };
        let mut frame = vec![0u8; 14 + arp.buffer_len()];
        EthernetRepr {
            src_addr: mac_c,
            dst_addr: EthernetAddress::BROADCAST,
            ethertype: EtherType::Arp,
        }
        .emit(&mut EthernetPacket::new_unchecked(&mut frame[..]));
        arp.emit(&mut ArpPacket::new_unchecked(&mut frame[14..]));
        p.a.handle_frame(p.now, &frame);
    }
    assert_eq!(p.a.stats().arp_replies, 1, "for 198.18.0.1 only");
}

/// With two prefixes on the device, a connection into the second takes
/// the address on that prefix as its source (Linux's preferred source).
#[test]
fn the_source_is_the_address_on_the_way_out() {
    use crate::config::Route;
    let mut p = ethernet_pair();
    let second = IpAddr::V4(Ipv4Addr::new(198, 19, 0, 1));
    p.a = Stack::new(StackConfig {
        medium: Medium::Ethernet(MAC_A),
        routes: vec![
            Route {
                prefix: A4,
                prefix_len: 24,
                gateway: None,
            },
            Route {
                prefix: second,
                prefix_len: 24,
                gateway: None,
            },
        ],
        ..config(vec![A4, second], 1)
    });
    let c =
        p.a.tcp_connect(
            p.now,
            SocketAddr::new(IpAddr::V4(Ipv4Addr::new(198, 19, 0, 7)), 80),
            None,
        )
        .unwrap();
    assert_eq!(p.a.local_addr(c).unwrap().ip(), second);
    let d =
        p.a.tcp_connect(p.now, SocketAddr::new(B4, 80), None)
            .unwrap();
    assert_eq!(p.a.local_addr(d).unwrap().ip(), A4);
}

/// A broadcast ARP request from `mac` at `ip` for `target`.
fn arp_request(mac: EthernetAddress, ip: Ipv4Addr, target: Ipv4Addr) -> Vec<u8> {
    use crate::wire::{ArpOperation, ArpPacket, ArpRepr, EtherType, EthernetPacket, EthernetRepr};
    let arp = ArpRepr::EthernetIpv4 {
        operation: ArpOperation::Request,
        source_hardware_addr: mac,
        source_protocol_addr: ip,
        target_hardware_addr: EthernetAddress([0; 6]),
        target_protocol_addr: target,
    };
    let mut frame = vec![0u8; 14 + arp.buffer_len()];
    EthernetRepr {
        src_addr: mac,
        dst_addr: EthernetAddress::BROADCAST,
        ethertype: EtherType::Arp,
    }
    .emit(&mut EthernetPacket::new_unchecked(&mut frame[..]));
    arp.emit(&mut ArpPacket::new_unchecked(&mut frame[14..]));
    frame
}

/// A full neighbour cache evicts the entry learned longest ago, so two
/// stacks fed the same frames evict the same entries in the same order and
/// send the same frames: nothing depends on a hasher's random keys.
#[test]
fn a_full_neighbour_cache_evicts_the_same_entries_every_time() {
    // More peers than the cache holds (1024), learned in an order unlike
    // that of their addresses.
    const PEERS: usize = 1024 + 8;
    let learned = |k: usize| k * 389 % PEERS;
    let peer = |i: usize| Ipv4Addr::new(198, 18, 1 + (i / 250) as u8, 1 + (i % 250) as u8);
    let mac = |i: usize| EthernetAddress([2, 0, 0, 1, (i >> 8) as u8, i as u8]);
    let IpAddr::V4(a4) = A4 else { unreachable!() };
    let run = || {
        let mut a = Stack::new(StackConfig {
            medium: Medium::Ethernet(MAC_A),
            ..config(vec![A4], 1)
        });
        let mut now = Instant::ZERO;
        let mut sent = Vec::new();
        let mut buf = [0u8; 1514];
        for k in 0..PEERS {
            now += Duration::from_millis(1);
            a.handle_frame(now, &arp_request(mac(learned(k)), peer(learned(k)), a4));
            while let Some(n) = a.poll_transmit(now, &mut buf) {
                sent.push(buf[..n].to_vec());
            }
        }
        // A datagram to each of the first 16 peers learned, newest first:
        // an IPv4 frame when the peer is still known, an ARP request when
        // it was evicted (which evicts the next oldest, already probed).
        let u = a.udp_bind(SocketAddr::new(A4, 0)).unwrap();
        let mut known = Vec::new();
        for k in (0..16).rev() {
            let to = SocketAddr::new(IpAddr::V4(peer(learned(k))), 9);
            a.udp_send_to(u, b"x", to).unwrap();
            let mut ipv4 = false;
            while let Some(n) = a.poll_transmit(now, &mut buf) {
                ipv4 |= buf[12..14] == [0x08, 0x00];
                sent.push(buf[..n].to_vec());
            }
            known.push(ipv4);
        }
        (known, sent)
    };
    let (known, sent) = run();
    let mut expected = vec![true; 8];
    expected.extend([false; 8]);
    assert_eq!(known, expected, "the 8 peers learned first were evicted");
    assert_eq!(run().1, sent, "the same frames, byte for byte");
}
