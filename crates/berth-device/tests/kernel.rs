//! TUN and TAP against the Linux kernel, inside a network namespace made
//! for the test. Needs root and /dev/net/tun: with `CI=true` the tests run
//! and fail if anything is missing; otherwise they skip with the reason
//! printed. Addresses come from 198.18.0.0/15 and 2001:2::/48 only, and the
//! namespace and devices are removed at the end, also on failure
//! (`NetNs` and the devices delete themselves when dropped).

// clippy.toml's allow-*-in-tests covers `#[test]` functions but not the
// helpers of an integration-test crate, all of which is test code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::time::{Duration, Instant};

use berth_device::kernel::NetNs;
use berth_device::tap::TapDevice;
use berth_device::testing::precondition;
use berth_device::tun::TunDevice;
use berth_device::{Device, Medium, wait_readable};

/// Whether to run `test`: see `berth_device::testing` for the rule.
fn should_run(test: &str) -> bool {
    precondition(test, &["ip"])
}

/// A namespace and interface name unique to this process and test.
fn names(tag: &str) -> (String, String) {
    let pid = std::process::id();
    (format!("berth-t-{pid}-{tag}"), format!("bt{tag}{pid}"))
}

/// Reads frames from `dev` for up to 5 s until `wanted` accepts one.
fn recv_until(dev: &mut impl Device, wanted: impl Fn(&[u8]) -> bool) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(5);
    let fd = dev.raw_fd().unwrap();
    let mut buf = vec![0u8; 65_536];
    let mut seen = Vec::new();
    loop {
        while let Some(len) = dev.recv(&mut buf).unwrap() {
            let frame = &buf[..len];
            if wanted(frame) {
                return frame.to_vec();
            }
            seen.push(len);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "no matching frame within 5 s; saw frames of lengths {seen:?}"
        );
        wait_readable(fd, left).unwrap();
    }
}

/// An IPv4 UDP packet with a correct header checksum and no UDP checksum
/// (allowed over IPv4).
fn ipv4_udp(src: [u8; 4], dst: [u8; 4], dport: u16, payload: &[u8]) -> Vec<u8> {
    let total = (28 + payload.len()) as u16;
    let mut p = vec![0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, 17, 0, 0];
    p[2..4].copy_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&src);
    p.extend_from_slice(&dst);
    let mut sum: u32 = p
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    p[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
    p.extend_from_slice(&40_000u16.to_be_bytes());
    p.extend_from_slice(&dport.to_be_bytes());
    p.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    p.extend_from_slice(&[0, 0]);
    p.extend_from_slice(payload);
    p
}

#[test]
fn tun_exchanges_ipv4_packets_with_the_kernel_in_a_namespace() {
    if !should_run("the TUN test") {
        return;
    }
    let (ns_name, if_name) = names("u");
    // Declared first, dropped last: the device goes, then the namespace.
    let ns = NetNs::create(&ns_name).unwrap();
    let mut tun = TunDevice::create(&if_name, 1400).unwrap();
    assert_eq!(tun.name(), if_name);
    assert_eq!(tun.medium(), Medium::Ip);
    assert_eq!(tun.mtu(), 1400);

    let mut iface = tun.iface().unwrap();
    iface.move_to_netns(ns.name()).unwrap();
    assert_eq!(iface.netns(), Some(ns.name()));
    iface
        .add_addr(IpAddr::V4(Ipv4Addr::new(198, 18, 99, 1)), 24)
        .unwrap();
    iface
        .add_addr("2001:2:0:99::1".parse().unwrap(), 64)
        .unwrap();
    iface.set_mtu(1400).unwrap();
    iface.set_up().unwrap();
    iface
        .add_route(IpAddr::V4(Ipv4Addr::new(198, 18, 100, 0)), 24)
        .unwrap();
    let routes = ns.ip(&["route", "show"]).unwrap();
    assert!(routes.contains("198.18.100.0/24 dev"), "{routes}");
    let shown = ns.ip(&["addr", "show", "dev", &if_name]).unwrap();
    // The queue of frames waiting for the device: berth's length, not
    // the kernel's default of 500.
    for want in [
        "198.18.99.1/24",
        "2001:2:0:99::1/64",
        "mtu 1400",
        "UP",
        "qlen 16384",
    ] {
        assert!(shown.contains(want), "{want} missing from:\n{shown}");
    }

    // Kernel -> TUN: a datagram from inside the namespace to the far side.
    let socket = ns
        .run(|| UdpSocket::bind("198.18.99.1:0"))
        .unwrap()
        .unwrap();
    // Through the route, then straight on the subnet.
    socket.send_to(b"routed", "198.18.100.7:40001").unwrap();
    recv_until(&mut tun, |p| {
        p.len() >= 20 && p[16..20] == [198, 18, 100, 7]
    });
    socket.send_to(b"berth out", "198.18.99.2:40001").unwrap();
    let packet = recv_until(&mut tun, |p| {
        p.len() >= 28 && p[0] >> 4 == 4 && p[9] == 17 && p[16..20] == [198, 18, 99, 2]
    });
    assert_eq!(&packet[12..16], &[198, 18, 99, 1]);
    assert_eq!(&packet[22..24], &40_001u16.to_be_bytes());
    assert_eq!(&packet[28..], b"berth out");

    // TUN -> kernel: a datagram written to the TUN reaches the socket.
    let port = socket.local_addr().unwrap().port();
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let reply = ipv4_udp([198, 18, 99, 2], [198, 18, 99, 1], port, b"berth in");
    assert!(tun.send(&reply).unwrap());
    let mut buf = [0u8; 64];
    let (len, from) = socket.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..len], b"berth in");
    assert_eq!(from, "198.18.99.2:40000".parse().unwrap());

    // A frame the kernel cannot parse is dropped, not an error.
    assert!(!tun.send(&[0x00; 20]).unwrap());

    drop(tun);
    ns.delete().unwrap();
}

#[test]
fn tap_sees_the_kernel_resolve_addresses_with_arp() {
    if !should_run("the TAP test") {
        return;
    }
    let (ns_name, if_name) = names("a");
    let ns = NetNs::create(&ns_name).unwrap();
    let mut tap = TapDevice::create(&if_name, 1500).unwrap();
    assert_eq!(tap.medium(), Medium::Ethernet);
    assert_eq!(tap.mtu(), 1514);
    let mut iface = tap.iface().unwrap();
    iface.move_to_netns(ns.name()).unwrap();
    iface
        .add_addr(IpAddr::V4(Ipv4Addr::new(198, 18, 98, 1)), 24)
        .unwrap();
    iface.set_up().unwrap();

    let socket = ns
        .run(|| UdpSocket::bind("198.18.98.1:0"))
        .unwrap()
        .unwrap();
    socket.send_to(b"who", "198.18.98.2:40001").unwrap();
    // An ARP request (EtherType 0x0806, opcode 1) for 198.18.98.2.
    let frame = recv_until(&mut tap, |f| {
        f.len() >= 42 && f[12..14] == [0x08, 0x06] && f[20..22] == [0, 1]
    });
    assert_eq!(&frame[0..6], &[0xff; 6], "broadcast");
    assert_eq!(&frame[28..32], &[198, 18, 98, 1], "sender address");
    assert_eq!(&frame[38..42], &[198, 18, 98, 2], "target address");
}
