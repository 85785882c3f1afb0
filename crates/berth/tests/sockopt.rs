//! The socket options std leaves to socket2, through the runtime: the
//! traffic class on the packets a stack writes to its device, `TCP_CORK`
//! holding writes until uncorked (or for about 200 ms), `TCP_MAXSEG` set on
//! a listener bounding the segments, keepalive probes answered by a live
//! peer and ending a connection to a vanished one. Two stacks joined in
//! memory, or one stack and the raw other end of its link; no root needed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{self, ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use berth::NetStack;
use berth::net::{TcpKeepalive, TcpListener, TcpStream, UdpSocket};
use berth::tokio_net::TcpSocket;
use berth_device::channel::ChannelDevice;
use berth_device::{Device, Medium};

fn stack(dev: ChannelDevice, v4: &str, v6: &str) -> NetStack {
    NetStack::builder()
        .addr(v4.parse().unwrap())
        .addr(v6.parse().unwrap())
        .seed(7)
        .build(dev)
        .unwrap()
}

/// A server stack (198.18.0.2, 2001:2::2) and a client stack (.1).
fn pair() -> (NetStack, NetStack) {
    let (left, right) = ChannelDevice::pair(1500, Medium::Ip).unwrap();
    (
        stack(left, "198.18.0.2", "2001:2::2"),
        stack(right, "198.18.0.1", "2001:2::1"),
    )
}

/// A link that can be cut: from then on, frames either way are lost (a
/// peer that vanished without a word).
struct Cuttable {
    inner: ChannelDevice,
    cut: Arc<AtomicBool>,
}

impl Device for Cuttable {
    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        if !self.cut.load(Ordering::Relaxed) {
            return self.inner.recv(buf);
        }
        while self.inner.recv(buf)?.is_some() {}
        Ok(None)
    }
    fn send(&mut self, frame: &[u8]) -> io::Result<bool> {
        if self.cut.load(Ordering::Relaxed) {
            return Ok(true);
        }
        self.inner.send(frame)
    }
    fn mtu(&self) -> usize {
        self.inner.mtu()
    }
    fn raw_fd(&self) -> Option<RawFd> {
        self.inner.raw_fd()
    }
}

/// The next packet the stack wrote to the other end of its link, within
/// five seconds.
fn next_packet(raw: &mut ChannelDevice) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut buf = vec![0u8; 2048];
    loop {
        if let Some(n) = raw.recv(&mut buf).unwrap() {
            return buf[..n].to_vec();
        }
        assert!(Instant::now() < deadline, "no packet within 5 s");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// The traffic class byte of an IPv4 or IPv6 packet.
fn traffic_class(packet: &[u8]) -> u8 {
    match packet[0] >> 4 {
        4 => packet[1],
        _ => (packet[0] << 4) | (packet[1] >> 4),
    }
}

#[test]
fn the_traffic_class_is_on_the_packets_the_stack_writes() {
    let (dev, mut raw) = ChannelDevice::pair(1500, Medium::Ip).unwrap();
    let stack = stack(dev, "198.18.0.1", "2001:2::1");
    // UDP: the byte whole, ECN bits included.
    let udp = UdpSocket::bind(&stack, "198.18.0.1:0").unwrap();
    udp.set_tos_v4(0xb9).unwrap();
    udp.send_to(b"marked", "198.18.0.9:9").unwrap();
    assert_eq!(traffic_class(&next_packet(&mut raw)), 0xb9);
    let udp6 = UdpSocket::bind(&stack, "[2001:2::1]:0").unwrap();
    udp6.set_tclass_v6(0x2a).unwrap();
    udp6.send_to(b"marked", "[2001:2::9]:9").unwrap();
    assert_eq!(traffic_class(&next_packet(&mut raw)), 0x2a);
    // TCP: from the SYN on, the DSCP only (the ECN bits are the stack's).
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    for (addr, v6) in [("198.18.0.9:80", false), ("[2001:2::9]:80", true)] {
        let socket = if v6 {
            let s = TcpSocket::new_v6(&stack).unwrap();
            s.set_tclass_v6(0xb9).unwrap();
            s
        } else {
            let s = TcpSocket::new_v4(&stack).unwrap();
            s.set_tos_v4(0xb9).unwrap();
            s
        };
        let addr: SocketAddr = addr.parse().unwrap();
        rt.block_on(async {
            // Nobody answers: the SYN is all there is to see.
            let _ = tokio::time::timeout(Duration::from_millis(50), socket.connect(addr)).await;
        });
        let syn = next_packet(&mut raw);
        assert_eq!(traffic_class(&syn), 0xb8, "v6: {v6}");
    }
}

#[test]
fn a_cork_holds_small_writes_until_uncorked() {
    let (server, client) = pair();
    let listener = TcpListener::bind(&server, "198.18.0.2:80").unwrap();
    let mut c = TcpStream::connect(&client, "198.18.0.2:80").unwrap();
    let (mut s, _) = listener.accept().unwrap();
    c.set_nodelay(true).unwrap();
    c.set_cork(true).unwrap();
    c.write_all(b"one ").unwrap();
    c.write_all(b"two").unwrap();
    s.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(
        s.read(&mut buf).unwrap_err().kind(),
        ErrorKind::WouldBlock,
        "held while corked, TCP_NODELAY or not"
    );
    c.set_cork(false).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut got = [0u8; 7];
    s.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"one two");
}

/// Linux's ceiling (tcp(7)): corked data with nothing in flight goes
/// after the probe timer, at least 200 ms.
#[test]
fn corked_data_leaves_after_about_200_ms() {
    let (server, client) = pair();
    let listener = TcpListener::bind(&server, "198.18.0.2:80").unwrap();
    let mut c = TcpStream::connect(&client, "198.18.0.2:80").unwrap();
    let (mut s, _) = listener.accept().unwrap();
    c.set_cork(true).unwrap();
    let start = Instant::now();
    c.write_all(b"tail").unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut got = [0u8; 4];
    s.read_exact(&mut got).unwrap();
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(190) && waited < Duration::from_secs(2),
        "{waited:?}"
    );
}

#[test]
fn a_listeners_mss_bounds_the_segments_of_its_streams() {
    let (server, client) = pair();
    let listener = TcpListener::bind(&server, "198.18.0.2:80").unwrap();
    listener.set_mss(600).unwrap();
    let mut c = TcpStream::connect(&client, "198.18.0.2:80").unwrap();
    let (mut s, _) = listener.accept().unwrap();
    // 600 less the timestamps' 12 bytes, both ways.
    assert_eq!((c.mss().unwrap(), s.mss().unwrap()), (588, 588));
    let data = vec![5u8; 200_000];
    let writer = std::thread::spawn(move || {
        s.write_all(&data).unwrap();
        s
    });
    let mut got = vec![0u8; 200_000];
    c.read_exact(&mut got).unwrap();
    let s = writer.join().unwrap();
    let stats = s.info().unwrap().stats;
    // (A loss probe may have sent some again.)
    assert!(stats.bytes_out >= 200_000);
    assert!(
        stats.segs_out >= 200_000 / 588,
        "{} segments for 200 kB",
        stats.segs_out
    );
}

#[test]
fn keepalive_probes_keep_a_live_peer_and_end_a_vanished_one() {
    let (left, right) = ChannelDevice::pair(1500, Medium::Ip).unwrap();
    let cut = Arc::new(AtomicBool::new(false));
    let server = NetStack::builder()
        .addr("198.18.0.2".parse().unwrap())
        .build(Cuttable {
            inner: left,
            cut: cut.clone(),
        })
        .unwrap();
    let client = stack(right, "198.18.0.1", "2001:2::1");
    let listener = TcpListener::bind(&server, "198.18.0.2:80").unwrap();
    let mut c = TcpStream::connect(&client, "198.18.0.2:80").unwrap();
    let (s, _) = listener.accept().unwrap();
    let fast = TcpKeepalive::new()
        .with_time(Duration::from_secs(1))
        .with_interval(Duration::from_secs(1))
        .with_retries(2);
    c.set_tcp_keepalive(&fast).unwrap();
    assert!(c.keepalive().unwrap());
    std::thread::sleep(Duration::from_millis(2500));
    assert!(c.info().unwrap().stats.keepalives >= 2);
    assert!(c.take_error().unwrap().is_none(), "answered: alive");
    // The server goes away without a word (no FIN, no reset).
    cut.store(true, Ordering::Relaxed);
    let start = Instant::now();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let e = c.read(&mut [0u8; 8]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TimedOut);
    // At most the idle time and two intervals (and the stack's turn).
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    drop((s, listener, server));
}
