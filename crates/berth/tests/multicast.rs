//! Multicast through the blocking and the async API, on two stacks joined
//! in memory (no root needed): one stack joins 239.1.2.3 (or ff15::1:2:3),
//! the other sends to it, on both media; the std/tokio option setters and
//! their Linux errors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::ErrorKind;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use berth::NetStack;
use berth::net::UdpSocket;
use berth_device::Medium;
use berth_device::channel::ChannelDevice;

mod common;

const GROUP4: Ipv4Addr = Ipv4Addr::new(239, 1, 2, 3);
const GROUP6: Ipv6Addr = Ipv6Addr::new(0xff15, 0, 0, 0, 0, 1, 2, 3);
const ANY4: Ipv4Addr = Ipv4Addr::UNSPECIFIED;

/// A member stack (198.18.0.2, 2001:2::2) and a sender stack (.1) on the
/// two ends of a link of `medium` (tests/common's pair).
fn pair(medium: Medium) -> (NetStack, NetStack) {
    let (left, right) = ChannelDevice::pair(1500, medium).unwrap();
    common::pair_on(left, right)
}

/// Bounds each receive: a datagram that never comes fails the test.
fn bounded(s: &UdpSocket) {
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
}

#[test]
fn a_stack_receives_what_another_sends_to_its_group() {
    for medium in [Medium::Ip, Medium::Ethernet] {
        let (member, sender) = pair(medium);
        let m4 = UdpSocket::bind(&member, "0.0.0.0:5000").unwrap();
        let m6 = UdpSocket::bind(&member, "[::]:5000").unwrap();
        bounded(&m4);
        bounded(&m6);
        m4.join_multicast_v4(&GROUP4, &ANY4).unwrap();
        m6.join_multicast_v6(&GROUP6, 0).unwrap();
        let tx = UdpSocket::bind(&sender, "0.0.0.0:0").unwrap();
        let tx6 = UdpSocket::bind(&sender, "[::]:0").unwrap();
        let mut buf = [0u8; 64];
        tx.send_to(b"to the group", (GROUP4, 5000)).unwrap();
        let (n, from) = m4.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"to the group", "{medium:?}");
        assert_eq!(from.ip().to_string(), "198.18.0.1");
        tx6.send_to(b"to the v6 group", SocketAddr::new(GROUP6.into(), 5000))
            .unwrap();
        let (n, from) = m6.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"to the v6 group");
        assert_eq!(from.ip().to_string(), "2001:2::1");
        let stats = member.stats();
        assert!(
            stats.igmp_reports_out >= 1 && stats.mld_reports_out >= 1,
            "{stats:?}"
        );
        assert_eq!(stats.multicast_in, 2);
        // Left: the group's datagrams no longer arrive (the one after a
        // unicast marker is dropped, so the marker comes first).
        m4.leave_multicast_v4(&GROUP4, &ANY4).unwrap();
        tx.send_to(b"dropped", (GROUP4, 5000)).unwrap();
        tx.send_to(b"marker", ("198.18.0.2", 5000)).unwrap();
        let (n, _) = m4.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"marker");
        assert!(member.stats().multicast_not_joined >= 1);
    }
}

#[test]
fn options_and_errors_match_std_on_linux() {
    let (member, _sender) = pair(Medium::Ip);
    let s = UdpSocket::bind(&member, "0.0.0.0:5001").unwrap();
    assert!(s.multicast_loop_v4().unwrap());
    assert!(s.multicast_loop_v6().unwrap());
    assert_eq!(s.multicast_ttl_v4().unwrap(), 1);
    s.set_multicast_ttl_v4(7).unwrap();
    assert_eq!(s.multicast_ttl_v4().unwrap(), 7);
    assert_eq!(
        s.set_multicast_ttl_v4(300).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    s.set_multicast_loop_v4(false).unwrap();
    assert!(!s.multicast_loop_v4().unwrap());
    s.set_multicast_loop_v6(false).unwrap();
    assert!(!s.multicast_loop_v6().unwrap());
    let kind = |r: std::io::Result<()>| r.unwrap_err().kind();
    assert_eq!(
        kind(s.join_multicast_v4(&Ipv4Addr::new(198, 18, 0, 9), &ANY4)),
        ErrorKind::InvalidInput
    );
    s.join_multicast_v4(&GROUP4, &"198.18.0.2".parse().unwrap())
        .unwrap();
    assert_eq!(
        kind(s.join_multicast_v4(&GROUP4, &ANY4)),
        ErrorKind::AddrInUse
    );
    assert_eq!(
        kind(s.leave_multicast_v4(&Ipv4Addr::new(239, 9, 9, 9), &ANY4)),
        ErrorKind::AddrNotAvailable
    );
    assert_eq!(
        kind(s.join_multicast_v4(&Ipv4Addr::new(239, 9, 9, 9), &"198.18.7.7".parse().unwrap())),
        ErrorKind::AddrNotAvailable
    );
    s.leave_multicast_v4(&GROUP4, &ANY4).unwrap();
    let s6 = UdpSocket::bind(&member, "[::]:5001").unwrap();
    assert_eq!(
        kind(s6.join_multicast_v6(&"2001:2::9".parse().unwrap(), 0)),
        ErrorKind::InvalidInput
    );
    s6.join_multicast_v6(&GROUP6, 0).unwrap();
    assert_eq!(kind(s6.join_multicast_v6(&GROUP6, 0)), ErrorKind::AddrInUse);
    assert_eq!(
        kind(s6.leave_multicast_v6(&"ff15::9".parse().unwrap(), 0)),
        ErrorKind::AddrNotAvailable
    );
    s6.leave_multicast_v6(&GROUP6, 0).unwrap();
}

#[test]
fn own_datagrams_loop_back_unless_turned_off() {
    let (member, _sender) = pair(Medium::Ip);
    let s = UdpSocket::bind(&member, "0.0.0.0:5002").unwrap();
    bounded(&s);
    s.join_multicast_v4(&GROUP4, &ANY4).unwrap();
    s.send_to(b"looped", (GROUP4, 5002)).unwrap();
    let mut buf = [0u8; 16];
    let (n, from) = s.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"looped");
    assert_eq!(from, "198.18.0.2:5002".parse().unwrap());
    s.set_multicast_loop_v4(false).unwrap();
    s.send_to(b"not looped", (GROUP4, 5002)).unwrap();
    s.send_to(b"marker", ("198.18.0.2", 5002)).unwrap();
    let (n, _) = s.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"marker");
}

mod tokio_api {
    use super::*;
    use berth::tokio_net::UdpSocket;
    use tokio::time::timeout;

    const LIMIT: Duration = Duration::from_secs(30);

    #[tokio::test]
    async fn a_stack_receives_what_another_sends_to_its_group() {
        let (member, sender) = pair(Medium::Ip);
        let m4 = UdpSocket::bind(&member, "0.0.0.0:6000").await.unwrap();
        let m6 = UdpSocket::bind(&member, "[::]:6000").await.unwrap();
        m4.join_multicast_v4(GROUP4, ANY4).unwrap();
        m6.join_multicast_v6(&GROUP6, 0).unwrap();
        assert_eq!(
            m4.join_multicast_v4(GROUP4, ANY4).unwrap_err().kind(),
            ErrorKind::AddrInUse
        );
        let tx = UdpSocket::bind(&sender, "0.0.0.0:0").await.unwrap();
        let tx6 = UdpSocket::bind(&sender, "[::]:0").await.unwrap();
        tx.send_to(b"v4 group", (GROUP4, 6000)).await.unwrap();
        tx6.send_to(b"v6 group", SocketAddr::new(GROUP6.into(), 6000))
            .await
            .unwrap();
        let mut buf = [0u8; 64];
        let (n, _) = timeout(LIMIT, m4.recv_from(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&buf[..n], b"v4 group");
        let (n, _) = timeout(LIMIT, m6.recv_from(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&buf[..n], b"v6 group");
        m4.leave_multicast_v4(GROUP4, ANY4).unwrap();
        m6.leave_multicast_v6(&GROUP6, 0).unwrap();
        assert_eq!(
            m6.leave_multicast_v6(&GROUP6, 0).unwrap_err().kind(),
            ErrorKind::AddrNotAvailable
        );
    }

    #[tokio::test]
    async fn options() {
        let (member, _sender) = pair(Medium::Ip);
        let s = UdpSocket::bind(&member, "0.0.0.0:6001").await.unwrap();
        assert!(s.multicast_loop_v4().unwrap() && s.multicast_loop_v6().unwrap());
        assert_eq!(s.multicast_ttl_v4().unwrap(), 1);
        s.set_multicast_ttl_v4(2).unwrap();
        s.set_multicast_loop_v4(false).unwrap();
        s.set_multicast_loop_v6(false).unwrap();
        assert_eq!(s.multicast_ttl_v4().unwrap(), 2);
        assert!(!s.multicast_loop_v4().unwrap() && !s.multicast_loop_v6().unwrap());
    }
}
