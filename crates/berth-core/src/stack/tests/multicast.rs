//! Multicast: joining and leaving send IGMPv3 and MLDv2 Reports with the
//! fields RFC 3376 and RFC 3810 ask for, retransmitted once; datagrams to a
//! group reach every socket on its port, loop back to the sender's own
//! stack, leave with TTL 1; Queries are answered within their time; the
//! Ethernet medium takes frames for joined groups only.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::{A4, A6, B4, B6, Pair, config, two_stacks};
use crate::config::{Medium, StackConfig};
use crate::stack::{SocketError, Stack};
use crate::testing::Faults;
use crate::time::{Duration, Instant};
use crate::wire::group_record::{Record, RecordType, RecordsBuf};
use crate::wire::icmpv6::mld;
use crate::wire::{
    ChecksumCaps, EthernetAddress, EthernetPacket, IgmpPacket, IgmpQuery, IgmpRepr, IpProtocol,
    Ipv4Packet, Ipv4Repr, Ipv6Packet, Ipv6Repr, RxChecksum, igmp,
};

const GROUP4: Ipv4Addr = Ipv4Addr::new(239, 1, 2, 3);
const GROUP6: Ipv6Addr = Ipv6Addr::new(0xff15, 0, 0, 0, 0, 1, 2, 3);
const ANY4: Ipv4Addr = Ipv4Addr::UNSPECIFIED;

/// Everything `s` sends now.
fn drain(s: &mut Stack, now: Instant) -> Vec<Vec<u8>> {
    let mut buf = vec![0u8; 2048];
    let mut out = Vec::new();
    while let Some(n) = s.poll_transmit(now, &mut buf) {
        out.push(buf[..n].to_vec());
    }
    out
}

/// The records of an IGMPv3 Report, after checking the IP header RFC 3376
/// section 4 asks for.
fn igmp_records(packet: &[u8]) -> Vec<(RecordType, Ipv4Addr)> {
    let ip = Ipv4Packet::new_checked(packet).unwrap();
    assert!(ip.verify_checksum());
    assert_eq!(ip.next_header(), IpProtocol::Igmp);
    assert_eq!(ip.dst_addr(), igmp::ALL_V3_ROUTERS);
    assert_eq!(ip.hop_limit(), 1, "TTL 1");
    assert_eq!(ip.dscp() << 2, 0xc0, "Internetwork Control");
    assert_eq!(ip.options(), igmp::ROUTER_ALERT, "Router Alert (RFC 2113)");
    let msg = IgmpPacket::new_checked(ip.payload()).unwrap();
    let IgmpRepr::Report(records) = IgmpRepr::parse(&msg, RxChecksum::Verify).unwrap() else {
        panic!("not a v3 report");
    };
    records.iter().map(|r| (r.kind, r.group)).collect()
}

/// The records of an MLDv2 Report and its source, after checking the IPv6
/// header and Hop-by-Hop Router Alert RFC 3810 section 5 asks for.
fn mld_records(packet: &[u8]) -> (Ipv6Addr, Vec<(RecordType, Ipv6Addr)>) {
    let ip = Ipv6Packet::new_checked(packet).unwrap();
    assert_eq!(ip.dst_addr(), mld::ALL_V2_ROUTERS);
    assert_eq!(ip.hop_limit(), 1);
    assert_eq!(ip.next_header(), IpProtocol::HopByHop);
    assert_eq!(ip.payload()[..8], mld::HOP_BY_HOP_ROUTER_ALERT);
    let msg = mld::Packet::new_checked(&ip.payload()[8..]).unwrap();
    let repr = mld::Repr::parse(&msg, ip.src_addr(), ip.dst_addr(), ChecksumCaps::FULL).unwrap();
    let mld::Repr::Report(records) = repr else {
        panic!("not a v2 report");
    };
    (
        ip.src_addr(),
        records.iter().map(|r| (r.kind, r.group)).collect(),
    )
}

/// Runs `s`'s timers until none is left (bounded), returning what it sent
/// and when.
fn run_timers(s: &mut Stack, mut now: Instant) -> Vec<(Instant, Vec<u8>)> {
    let mut out = Vec::new();
    for _ in 0..100 {
        let Some(at) = s.poll_timeout() else {
            return out;
        };
        now = now.max(at);
        s.handle_timeout(now);
        out.extend(drain(s, now).into_iter().map(|p| (now, p)));
    }
    panic!("timers never settle");
}

//= https://www.rfc-editor.org/rfc/rfc3376#section-5.1
//= type=test
//# To cover the possibility of the State-Change Report being missed by
//# one or more multicast routers, it is retransmitted [Robustness
//# Variable] - 1 more times, at intervals chosen at random from the
//# range (0, [Unsolicited Report Interval]).
#[test]
fn join_and_leave_send_igmpv3_state_change_reports_twice() {
    let mut s = Stack::new(config(vec![A4], 1));
    let now = Instant::from_secs(10);
    let u = s.udp_bind("0.0.0.0:5000".parse().unwrap()).unwrap();
    s.udp_join_multicast_v4(now, u, GROUP4, ANY4).unwrap();
    let sent = drain(&mut s, now);
    assert_eq!(sent.len(), 1, "a report at once");
    assert_eq!(
        Ipv4Packet::new_checked(&sent[0][..]).unwrap().src_addr(),
        Ipv4Addr::new(198, 18, 0, 1)
    );
    assert_eq!(
        igmp_records(&sent[0]),
        [(RecordType::ChangeToExclude, GROUP4)]
    );
    let again = run_timers(&mut s, now);
    assert_eq!(again.len(), 1, "one retransmission");
    assert!(again[0].0 > now && again[0].0 <= now + Duration::from_secs(1));
    assert_eq!(
        igmp_records(&again[0].1),
        [(RecordType::ChangeToExclude, GROUP4)]
    );

    let now = again[0].0 + Duration::from_secs(5);
    s.udp_leave_multicast_v4(now, u, GROUP4, ANY4).unwrap();
    let sent = drain(&mut s, now);
    assert_eq!(
        igmp_records(&sent[0]),
        [(RecordType::ChangeToInclude, GROUP4)]
    );
    let again = run_timers(&mut s, now);
    assert_eq!(again.len(), 1);
    assert_eq!(
        igmp_records(&again[0].1),
        [(RecordType::ChangeToInclude, GROUP4)]
    );
    assert_eq!(s.stats().igmp_reports_out, 4);
    assert!(s.multicast_groups().is_empty());
}

#[test]
fn a_second_socket_changes_nothing_and_closing_the_last_leaves() {
    let mut s = Stack::new(config(vec![A4], 1));
    let now = Instant::ZERO;
    let u1 = s.udp_bind("0.0.0.0:5000".parse().unwrap()).unwrap();
    let u2 = s.udp_bind("0.0.0.0:5001".parse().unwrap()).unwrap();
    s.udp_join_multicast_v4(now, u1, GROUP4, ANY4).unwrap();
    s.udp_join_multicast_v4(now, u2, GROUP4, Ipv4Addr::new(198, 18, 0, 1))
        .unwrap();
    assert_eq!(drain(&mut s, now).len(), 1, "the host joined once");
    let _ = run_timers(&mut s, now);
    s.close(now, u1).unwrap();
    assert!(drain(&mut s, now).is_empty(), "u2 is still a member");
    assert_eq!(s.multicast_groups(), [IpAddr::V4(GROUP4)]);
    s.close(now, u2).unwrap();
    let sent = drain(&mut s, now);
    assert_eq!(
        igmp_records(&sent[0]),
        [(RecordType::ChangeToInclude, GROUP4)]
    );
}

#[test]
fn join_and_leave_errors_are_linuxs() {
    let mut s = Stack::new(config(vec![A4, A6], 1));
    let now = Instant::ZERO;
    let u = s.udp_bind("0.0.0.0:5000".parse().unwrap()).unwrap();
    let u6 = s.udp_bind("[::]:5000".parse().unwrap()).unwrap();
    let join4 = |s: &mut Stack, g: Ipv4Addr, i| s.udp_join_multicast_v4(now, u, g, i);
    // EINVAL, EADDRINUSE, ENODEV (as AddrNotAvailable), EADDRNOTAVAIL.
    assert_eq!(
        join4(&mut s, Ipv4Addr::new(198, 18, 0, 9), ANY4),
        Err(SocketError::InvalidInput)
    );
    assert_eq!(join4(&mut s, GROUP4, ANY4), Ok(()));
    assert_eq!(join4(&mut s, GROUP4, ANY4), Err(SocketError::AddrInUse));
    assert_eq!(
        join4(
            &mut s,
            Ipv4Addr::new(239, 9, 9, 9),
            Ipv4Addr::new(198, 18, 5, 5)
        ),
        Err(SocketError::AddrNotAvailable)
    );
    assert_eq!(
        s.udp_leave_multicast_v4(now, u, Ipv4Addr::new(239, 9, 9, 9), ANY4),
        Err(SocketError::AddrNotAvailable)
    );
    assert_eq!(
        s.udp_leave_multicast_v4(now, u, Ipv4Addr::new(198, 18, 0, 9), ANY4),
        Err(SocketError::AddrNotAvailable)
    );
    for i in 1..20 {
        assert_eq!(join4(&mut s, Ipv4Addr::new(239, 2, 0, i), ANY4), Ok(()));
    }
    assert_eq!(
        join4(&mut s, Ipv4Addr::new(239, 2, 0, 99), ANY4),
        Err(SocketError::LimitReached),
        "igmp_max_memberships"
    );
    // IPv6: EINVAL for a unicast address either way, ENODEV for an
    // interface index the stack does not have, ENOPROTOOPT on an IPv4
    // socket.
    let a6 = "2001:2::9".parse().unwrap();
    assert_eq!(
        s.udp_join_multicast_v6(now, u6, a6, 0),
        Err(SocketError::InvalidInput)
    );
    assert_eq!(
        s.udp_leave_multicast_v6(now, u6, a6, 0),
        Err(SocketError::InvalidInput)
    );
    assert_eq!(
        s.udp_join_multicast_v6(now, u6, GROUP6, 7),
        Err(SocketError::AddrNotAvailable)
    );
    assert_eq!(
        s.udp_join_multicast_v6(now, u, GROUP6, 0),
        Err(SocketError::InvalidInput)
    );
    assert_eq!(s.udp_join_multicast_v6(now, u6, GROUP6, 0), Ok(()));
    assert_eq!(
        s.udp_join_multicast_v6(now, u6, GROUP6, 0),
        Err(SocketError::AddrInUse)
    );
    assert_eq!(
        s.udp_leave_multicast_v6(now, u6, "ff15::9".parse().unwrap(), 0),
        Err(SocketError::AddrNotAvailable)
    );
}

//= https://www.rfc-editor.org/rfc/rfc3810#section-6
//= type=test
//# No MLD
//# messages are ever sent regarding neither the link-scope all-nodes
//# multicast address, nor any multicast address of scope 0 (reserved) or
//# 1 (node-local).
#[test]
fn no_reports_for_all_systems_all_nodes_link_local_v4_or_node_local_groups() {
    let mut s = Stack::new(config(vec![A4, A6], 1));
    let now = Instant::ZERO;
    let u = s.udp_bind("0.0.0.0:5000".parse().unwrap()).unwrap();
    let u6 = s.udp_bind("[::]:5000".parse().unwrap()).unwrap();
    for g in [[224, 0, 0, 1], [224, 0, 0, 251]] {
        s.udp_join_multicast_v4(now, u, Ipv4Addr::from(g), ANY4)
            .unwrap();
    }
    for g in ["ff02::1", "ff01::1:2", "ff00::3"] {
        s.udp_join_multicast_v6(now, u6, g.parse().unwrap(), 0)
            .unwrap();
    }
    assert!(drain(&mut s, now).is_empty());
    assert_eq!(s.poll_timeout(), None);
    // A link-scope group other than all-nodes is reported (mDNS's).
    s.udp_join_multicast_v6(now, u6, "ff02::fb".parse().unwrap(), 0)
        .unwrap();
    assert_eq!(drain(&mut s, now).len(), 1);
}

#[test]
fn mldv2_reports_from_the_link_local_address_or_unspecified() {
    for (addrs, src) in [
        (vec![A6], Ipv6Addr::UNSPECIFIED),
        (
            vec![A6, "fe80::1".parse().unwrap()],
            "fe80::1".parse().unwrap(),
        ),
    ] {
        let mut s = Stack::new(config(addrs, 1));
        let now = Instant::ZERO;
        let u = s.udp_bind("[::]:5000".parse().unwrap()).unwrap();
        s.udp_join_multicast_v6(now, u, GROUP6, 0).unwrap();
        let sent = drain(&mut s, now);
        assert_eq!(sent.len(), 1);
        assert_eq!(
            mld_records(&sent[0]),
            (src, vec![(RecordType::ChangeToExclude, GROUP6)])
        );
        assert_eq!(run_timers(&mut s, now).len(), 1, "once more");
        s.udp_leave_multicast_v6(now, u, GROUP6, 0).unwrap();
        let sent = drain(&mut s, now);
        assert_eq!(
            mld_records(&sent[0]).1,
            [(RecordType::ChangeToInclude, GROUP6)]
        );
        assert_eq!(s.stats().mld_reports_out, 3);
    }
}

/// Sends `data` from `a` to `group:port` and moves everything due.
fn send_to_group(p: &mut Pair, from: crate::handle::SocketHandle, to: SocketAddr, data: &[u8]) {
    p.a.udp_send_to(from, data, to).unwrap();
    while p.step() {}
}

fn recv(s: &mut Stack, h: crate::handle::SocketHandle) -> Option<(Vec<u8>, SocketAddr)> {
    s.udp_recv_datagram(h).ok().map(|d| (d.data, d.from))
}

#[test]
fn a_datagram_to_a_group_reaches_every_socket_on_its_port() {
    for (group, any, sender) in [
        (IpAddr::V4(GROUP4), "0.0.0.0:5000", A4),
        (IpAddr::V6(GROUP6), "[::]:5000", A6),
    ] {
        let mut p = two_stacks(Faults::default());
        let r1 = p.b.udp_bind_reuseaddr(any.parse().unwrap()).unwrap();
        let r2 = p.b.udp_bind_reuseaddr(any.parse().unwrap()).unwrap();
        // Bound to the group itself: it gets the group's datagrams too.
        let r3 =
            p.b.udp_bind_reuseaddr(SocketAddr::new(group, 5000))
                .unwrap();
        // Another port, or one of our unicast addresses: not for them.
        let other = p.b.udp_bind(SocketAddr::new(group, 5001)).unwrap();
        let unicast = if group.is_ipv4() { B4 } else { B6 };
        let r4 =
            p.b.udp_bind_reuseaddr(SocketAddr::new(unicast, 5000))
                .unwrap();
        match group {
            IpAddr::V4(g) => p.b.udp_join_multicast_v4(p.now, r1, g, ANY4).unwrap(),
            IpAddr::V6(g) => p.b.udp_join_multicast_v6(p.now, r1, g, 0).unwrap(),
        }
        let tx = p.a.udp_bind(SocketAddr::new(sender, 0)).unwrap();
        send_to_group(&mut p, tx, SocketAddr::new(group, 5000), b"hello group");
        let from = SocketAddr::new(sender, p.a.local_addr(tx).unwrap().port());
        for r in [r1, r2, r3] {
            assert_eq!(
                recv(&mut p.b, r),
                Some((b"hello group".to_vec(), from)),
                "{group}"
            );
        }
        assert_eq!(recv(&mut p.b, other), None);
        assert_eq!(recv(&mut p.b, r4), None);
        assert_eq!(p.b.stats().multicast_in, 1);
        // A unicast datagram to a shared address goes to the socket bound
        // last, as on Linux.
        let r5 = p.b.udp_bind_reuseaddr(any.parse().unwrap()).unwrap();
        let to = SocketAddr::new(unicast, 5000);
        p.b.close(p.now, r4).unwrap();
        send_to_group(&mut p, tx, to, b"just one");
        assert_eq!(recv(&mut p.b, r5).map(|d| d.0), Some(b"just one".to_vec()));
        assert_eq!(recv(&mut p.b, r1), None);
    }
}

#[test]
fn not_joined_is_dropped_and_counted() {
    let mut p = two_stacks(Faults::default());
    let r = p.b.udp_bind("0.0.0.0:5000".parse().unwrap()).unwrap();
    let tx = p.a.udp_bind("0.0.0.0:0".parse().unwrap()).unwrap();
    send_to_group(&mut p, tx, SocketAddr::new(GROUP4.into(), 5000), b"x");
    assert_eq!(recv(&mut p.b, r), None);
    assert_eq!(p.b.stats().multicast_not_joined, 1);
    // Joined, but nobody on the port: dropped, and no port unreachable.
    p.b.udp_join_multicast_v4(p.now, r, GROUP4, ANY4).unwrap();
    send_to_group(&mut p, tx, SocketAddr::new(GROUP4.into(), 5009), b"x");
    assert_eq!(p.b.stats().udp_no_socket, 1);
    assert_eq!(p.a.stats().icmp_errors_received, 0);
    assert_eq!(p.b.stats().icmp_errors_sent, 0);
}

#[test]
fn sends_loop_back_by_default_leave_with_ttl_1_and_ttl_0_stays_home() {
    for group in [IpAddr::V4(GROUP4), IpAddr::V6(GROUP6)] {
        let mut s = Stack::new(config(vec![A4, A6], 1));
        let now = Instant::ZERO;
        let any = SocketAddr::new(
            if group.is_ipv4() {
                Ipv4Addr::UNSPECIFIED.into()
            } else {
                Ipv6Addr::UNSPECIFIED.into()
            },
            5000,
        );
        let u = s.udp_bind(any).unwrap();
        let v6 = group.is_ipv6();
        assert_eq!(s.udp_multicast_loop(u, v6), Ok(true));
        assert_eq!(s.udp_multicast_ttl(u), Ok(1));
        match group {
            IpAddr::V4(g) => s.udp_join_multicast_v4(now, u, g, ANY4).unwrap(),
            IpAddr::V6(g) => s.udp_join_multicast_v6(now, u, g, 0).unwrap(),
        }
        let _ = drain(&mut s, now);
        let to = SocketAddr::new(group, 5000);
        s.udp_send_to(u, b"to myself too", to).unwrap();
        let out = drain(&mut s, now);
        assert_eq!(out.len(), 1, "it goes out");
        assert_eq!(super::hop_limit_of(&out[0]), 1, "TTL 1 by default");
        assert_eq!(
            s.udp_recv_datagram(u).map(|d| d.data),
            Ok(b"to myself too".to_vec()),
            "and comes back"
        );
        assert_eq!(s.stats().multicast_loopback, 1);

        s.udp_set_multicast_loop(u, v6, false).unwrap();
        s.udp_send_to(u, b"only out", to).unwrap();
        assert_eq!(drain(&mut s, now).len(), 1);
        assert_eq!(s.udp_recv_datagram(u), Err(SocketError::WouldBlock));
        s.udp_set_multicast_loop(u, v6, true).unwrap();

        if group.is_ipv4() {
            s.udp_set_multicast_ttl(u, 5).unwrap();
            s.udp_send_to(u, b"ttl 5", to).unwrap();
            assert_eq!(super::hop_limit_of(&drain(&mut s, now)[0]), 5);
            assert!(s.udp_recv_datagram(u).is_ok());
            s.udp_set_multicast_ttl(u, 0).unwrap();
            s.udp_send_to(u, b"ttl 0", to).unwrap();
            assert!(drain(&mut s, now).is_empty(), "TTL 0 never leaves");
            assert_eq!(
                s.udp_recv_datagram(u).map(|d| d.data),
                Ok(b"ttl 0".to_vec())
            );
            assert_eq!(
                s.udp_set_multicast_ttl(u, 256),
                Err(SocketError::InvalidInput)
            );
            s.udp_set_multicast_ttl(u, u32::MAX).unwrap();
            assert_eq!(s.udp_multicast_ttl(u), Ok(1), "-1: the default");
        }
        // The socket's unicast TTL is not the multicast one.
        assert_eq!(s.ttl(u), Ok(64));
    }
}

/// An IGMPv3 Query from 198.18.0.254 to `dst`, as an IPv4 packet.
fn igmp_query(group: Ipv4Addr, dst: Ipv4Addr, max_resp_code: u8) -> Vec<u8> {
    let repr = IgmpRepr::Query(IgmpQuery {
        version: 3,
        max_resp_code,
        group,
        suppress: false,
        qrv: 2,
        qqic: 125,
        sources: &[],
    });
    let mut packet = vec![0u8; 20 + repr.buffer_len()];
    Ipv4Repr {
        src_addr: Ipv4Addr::new(198, 18, 0, 254),
        dst_addr: dst,
        next_header: IpProtocol::Igmp,
        payload_len: repr.buffer_len(),
        hop_limit: 1,
        dscp: 0,
        ecn: crate::wire::Ecn::NotEct,
        ident: 1,
        dont_frag: false,
        more_frags: false,
        frag_offset: 0,
    }
    .emit(&mut Ipv4Packet::new_unchecked(&mut packet[..20]));
    repr.emit(&mut IgmpPacket::new_unchecked(&mut packet[20..]));
    packet
}

//= https://www.rfc-editor.org/rfc/rfc3376#section-5.2
//= type=test
//# When a new Query with the Router-Alert option arrives on an
//# interface, provided the system has state to report, a delay for a
//# response is randomly selected in the range (0, [Max Resp Time]) where
//# Max Resp Time is derived from Max Resp Code in the received Query
//# message.
#[test]
fn queries_are_answered_with_current_state_within_max_resp_time() {
    let mut s = Stack::new(config(vec![A4], 1));
    let now = Instant::from_secs(100);
    let u = s.udp_bind("0.0.0.0:5000".parse().unwrap()).unwrap();
    let second = Ipv4Addr::new(239, 1, 2, 4);
    s.udp_join_multicast_v4(now, u, GROUP4, ANY4).unwrap();
    s.udp_join_multicast_v4(now, u, second, ANY4).unwrap();
    let _ = drain(&mut s, now);
    let _ = run_timers(&mut s, now);
    let now = now + Duration::from_secs(10);
    // A General Query allowing 2 s (code 20, tenths).
    s.handle_frame(now, &igmp_query(ANY4, igmp::ALL_SYSTEMS, 20));
    assert!(drain(&mut s, now).is_empty(), "not at once");
    let answers = run_timers(&mut s, now);
    assert_eq!(answers.len(), 1);
    assert!(answers[0].0 <= now + Duration::from_secs(2));
    assert_eq!(
        igmp_records(&answers[0].1),
        [
            (RecordType::ModeIsExclude, GROUP4),
            (RecordType::ModeIsExclude, second)
        ]
    );
    // A Group-Specific Query, to the group: that group only.
    s.handle_frame(now, &igmp_query(second, second, 10));
    let answers = run_timers(&mut s, now);
    assert_eq!(
        igmp_records(&answers[0].1),
        [(RecordType::ModeIsExclude, second)]
    );
    // About a group we are not in: nothing.
    let other = Ipv4Addr::new(239, 7, 7, 7);
    s.handle_frame(now, &igmp_query(other, igmp::ALL_SYSTEMS, 10));
    assert!(run_timers(&mut s, now).is_empty());
    assert_eq!(s.stats().igmp_queries_in, 3);
    // A corrupted one is counted and ignored.
    let mut bad = igmp_query(ANY4, igmp::ALL_SYSTEMS, 10);
    let last = bad.len() - 1;
    bad[last] ^= 1;
    s.handle_frame(now, &bad);
    assert_eq!(s.stats().igmp_malformed, 1);
}

/// An MLDv2 General Query from `src`, with `hop_limit`, behind a
/// Hop-by-Hop header with the Router Alert or (`alert` false) only
/// padding.
fn mld_query(src: Ipv6Addr, hop_limit: u8, alert: bool) -> Vec<u8> {
    let repr = mld::Repr::Query(mld::Query {
        version: 2,
        max_resp_code: 1000,
        group: Ipv6Addr::UNSPECIFIED,
        suppress: false,
        qrv: 2,
        qqic: 125,
        sources: &[],
    });
    let len = repr.buffer_len();
    let mut packet = vec![0u8; 48 + len];
    Ipv6Repr {
        src_addr: src,
        dst_addr: mld::ALL_NODES,
        next_header: IpProtocol::HopByHop,
        payload_len: 8 + len,
        hop_limit,
        traffic_class: 0,
        flow_label: 0,
    }
    .emit(&mut Ipv6Packet::new_unchecked(&mut packet[..40]));
    if alert {
        packet[40..48].copy_from_slice(&mld::HOP_BY_HOP_ROUTER_ALERT);
    } else {
        packet[40..48].copy_from_slice(&[58, 0, 1, 4, 0, 0, 0, 0]);
    }
    let ip = Ipv6Packet::new_checked(&packet[..]).unwrap();
    assert_eq!(ip.router_alert(), alert.then_some(0));
    repr.emit(
        &mut mld::Packet::new_unchecked(&mut packet[48..]),
        src,
        mld::ALL_NODES,
        ChecksumCaps::FULL,
    );
    packet
}

//= https://www.rfc-editor.org/rfc/rfc3810#section-6.2
//= type=test
//# Upon reception of an MLD message that contains a Query, the node
//# checks if the source address of the message is a valid link-local
//# address, if the Hop Limit is set to 1, and if the Router Alert
//# option is present in the Hop-By-Hop Options header of the IPv6
//# packet.  If any of these checks fails, the packet is dropped.
#[test]
fn mld_queries_from_link_local_routers_only() {
    let mut s = Stack::new(config(vec![A6], 1));
    let now = Instant::ZERO;
    let u = s.udp_bind("[::]:5000".parse().unwrap()).unwrap();
    s.udp_join_multicast_v6(now, u, GROUP6, 0).unwrap();
    let _ = drain(&mut s, now);
    let _ = run_timers(&mut s, now);
    let now = Instant::from_secs(60);
    let router: Ipv6Addr = "fe80::99".parse().unwrap();
    s.handle_frame(now, &mld_query("2001:2::99".parse().unwrap(), 1, true));
    s.handle_frame(now, &mld_query(router, 2, true));
    s.handle_frame(now, &mld_query(router, 1, false));
    assert!(run_timers(&mut s, now).is_empty());
    assert_eq!(s.stats().igmp_malformed, 3);
    s.handle_frame(now, &mld_query(router, 1, true));
    let answers = run_timers(&mut s, now);
    assert_eq!(answers.len(), 1);
    assert!(answers[0].0 <= now + Duration::from_secs(1));
    assert_eq!(
        mld_records(&answers[0].1).1,
        [(RecordType::ModeIsExclude, GROUP6)]
    );
    assert_eq!(s.stats().mld_queries_in, 1);
}

#[test]
fn reports_split_to_fit_the_mtu() {
    let mut s = Stack::new(StackConfig {
        mtu: 100,
        ..config(vec![A4], 1)
    });
    let now = Instant::ZERO;
    let mut socks = Vec::new();
    for i in 0..20u8 {
        let u = s
            .udp_bind(SocketAddr::new(A4, 6000 + u16::from(i)))
            .unwrap();
        socks.push(u);
        s.udp_join_multicast_v4(now, u, Ipv4Addr::new(239, 3, 0, i), ANY4)
            .unwrap();
    }
    let _ = drain(&mut s, now);
    let _ = run_timers(&mut s, now);
    // 68 bytes of room for records of 8: eight to a Report.
    s.handle_frame(now, &igmp_query(ANY4, igmp::ALL_SYSTEMS, 10));
    let answers = run_timers(&mut s, now);
    let sizes: Vec<_> = answers.iter().map(|(_, p)| igmp_records(p).len()).collect();
    assert_eq!(sizes, [8, 8, 4]);
    assert!(answers.iter().all(|(_, p)| p.len() <= 100));
}

//= https://www.rfc-editor.org/rfc/rfc1122#section-4.2.3.10
//= type=test
//# A TCP implementation MUST silently discard an incoming SYN
//# segment that is addressed to a broadcast or multicast
//# address.
#[test]
fn a_syn_to_a_joined_group_is_dropped() {
    let mut p = two_stacks(Faults::default());
    let _l = p.b.tcp_listen("0.0.0.0:80".parse().unwrap(), 4).unwrap();
    let u = p.b.udp_bind("0.0.0.0:80".parse().unwrap()).unwrap();
    p.b.udp_join_multicast_v4(p.now, u, GROUP4, ANY4).unwrap();
    let _ = drain(&mut p.b, p.now);
    assert_eq!(
        p.a.tcp_connect(p.now, SocketAddr::new(GROUP4.into(), 80), None),
        Err(SocketError::InvalidInput),
        "no connect to a group"
    );
    // A SYN to b, readdressed to the group.
    p.a.tcp_connect(p.now, SocketAddr::new(B4, 80), None)
        .unwrap();
    let mut syn = drain(&mut p.a, p.now).remove(0);
    let mut ip = Ipv4Packet::new_unchecked(&mut syn[..]);
    ip.set_dst_addr(GROUP4);
    ip.fill_checksum();
    crate::wire::TcpPacket::new_unchecked(&mut syn[20..]).fill_checksum(
        A4,
        GROUP4.into(),
        crate::wire::TxChecksum::Full,
    );
    p.b.handle_frame(p.now, &syn);
    assert!(drain(&mut p.b, p.now).is_empty(), "no SYN-ACK, no RST");
    assert_eq!(p.b.stats().not_for_us, 1);
}

/// Two stacks on the Ethernet medium.
fn ethernet_pair() -> Pair {
    let cfg = |addrs, mac, seed| StackConfig {
        medium: Medium::Ethernet(EthernetAddress(mac)),
        ..config(addrs, seed)
    };
    let mut p = two_stacks(Faults::default());
    p.a = Stack::new(cfg(vec![A4, A6], [2, 0, 0, 0, 0, 1], 1));
    p.b = Stack::new(cfg(vec![B4, B6], [2, 0, 0, 0, 0, 2], 2));
    p
}

//= https://www.rfc-editor.org/rfc/rfc1112#section-6.4
//= type=test
//# An IP host group address is mapped to an Ethernet multicast address
//# by placing the low-order 23-bits of the IP address into the low-order
//# 23 bits of the Ethernet multicast address 01-00-5E-00-00-00 (hex).
#[test]
fn ethernet_takes_frames_for_joined_groups_only() {
    let mut p = ethernet_pair();
    let r = p.b.udp_bind("0.0.0.0:5000".parse().unwrap()).unwrap();
    let r6 = p.b.udp_bind("[::]:5000".parse().unwrap()).unwrap();
    p.b.udp_join_multicast_v4(p.now, r, GROUP4, ANY4).unwrap();
    p.b.udp_join_multicast_v6(p.now, r6, GROUP6, 0).unwrap();
    // The reports leave to the groups' Ethernet addresses.
    let mut buf = vec![0u8; 2048];
    let mut macs = Vec::new();
    while let Some(n) = p.b.poll_transmit(p.now, &mut buf) {
        macs.push(EthernetPacket::new_checked(&buf[..n]).unwrap().dst_addr());
    }
    assert_eq!(
        macs,
        [
            EthernetAddress([0x01, 0x00, 0x5e, 0x00, 0x00, 0x16]),
            EthernetAddress([0x33, 0x33, 0x00, 0x00, 0x00, 0x16]),
        ]
    );
    let tx = p.a.udp_bind("0.0.0.0:0".parse().unwrap()).unwrap();
    let tx6 = p.a.udp_bind("[::]:0".parse().unwrap()).unwrap();
    p.a.udp_send_to(tx, b"v4", SocketAddr::new(GROUP4.into(), 5000))
        .unwrap();
    let n = p.a.poll_transmit(p.now, &mut buf).unwrap();
    assert_eq!(
        EthernetPacket::new_checked(&buf[..n]).unwrap().dst_addr(),
        EthernetAddress([0x01, 0x00, 0x5e, 0x01, 0x02, 0x03])
    );
    p.b.handle_frame(p.now, &buf[..n]);
    assert_eq!(recv(&mut p.b, r).map(|d| d.0), Some(b"v4".to_vec()));
    send_to_group(&mut p, tx6, SocketAddr::new(GROUP6.into(), 5000), b"v6");
    assert_eq!(recv(&mut p.b, r6).map(|d| d.0), Some(b"v6".to_vec()));
    // A group b did not join: its frame is refused by address.
    let before = p.b.stats().multicast_not_joined;
    send_to_group(
        &mut p,
        tx,
        SocketAddr::new(Ipv4Addr::new(239, 9, 9, 9).into(), 5000),
        b"no",
    );
    assert_eq!(p.b.stats().multicast_not_joined, before + 1);
    assert_eq!(recv(&mut p.b, r), None);
    // The all-systems group's frames are always taken.
    let q = igmp_query(ANY4, igmp::ALL_SYSTEMS, 10);
    let mut frame = vec![0u8; 14 + q.len()];
    frame[..6].copy_from_slice(&[0x01, 0x00, 0x5e, 0x00, 0x00, 0x01]);
    frame[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 9]);
    frame[12..14].copy_from_slice(&[0x08, 0x00]);
    frame[14..].copy_from_slice(&q);
    p.b.handle_frame(p.now, &frame);
    assert_eq!(p.b.stats().igmp_queries_in, 1);
}

#[test]
fn records_buf_is_what_reports_carry() {
    // The same bytes the stack sends, built by hand.
    let mut s = Stack::new(config(vec![A4], 1));
    let u = s.udp_bind("0.0.0.0:5000".parse().unwrap()).unwrap();
    s.udp_join_multicast_v4(Instant::ZERO, u, GROUP4, ANY4)
        .unwrap();
    let sent = drain(&mut s, Instant::ZERO);
    let mut records = RecordsBuf::new();
    records.push(&Record::new(RecordType::ChangeToExclude, GROUP4));
    let repr = IgmpRepr::Report(records.as_records());
    let mut want = vec![0u8; repr.buffer_len()];
    repr.emit(&mut IgmpPacket::new_unchecked(&mut want[..]));
    assert_eq!(sent[0][24..], want);
}
