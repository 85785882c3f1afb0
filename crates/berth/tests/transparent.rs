//! Transparent sockets through the blocking API, two stacks in memory: the
//! "proxy" stack owns only 198.18.0.2 yet takes a TCP connection and a UDP
//! flow to 198.19.x.y, learns the original destination and answers from it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::thread;
use std::time::Duration;

use berth::net::{TcpListener, TcpStream, UdpSocket};

mod common;
use common::pair;

#[test]
fn transparent_tcp_and_udp() {
    let (proxy, client) = pair();
    let listener = TcpListener::bind_transparent(&proxy).unwrap();
    assert!(
        TcpListener::bind_transparent(&proxy).is_err(),
        "one per stack"
    );
    let udp = UdpSocket::bind_transparent(&proxy).unwrap();
    let dst: SocketAddr = "198.19.4.5:8080".parse().unwrap();

    let server = thread::spawn(move || {
        let (mut s, peer) = listener.accept().unwrap();
        let orig = s.local_addr().unwrap();
        let mut got = Vec::new();
        s.read_to_end(&mut got).unwrap();
        s.write_all(format!("{} bytes for {orig}", got.len()).as_bytes())
            .unwrap();
        s.shutdown(Shutdown::Write).unwrap();
        (peer, orig)
    });
    let mut c = TcpStream::connect(&client, dst).unwrap();
    c.write_all(&[7u8; 10_000]).unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    let mut reply = String::new();
    c.read_to_string(&mut reply).unwrap();
    assert_eq!(reply, format!("10000 bytes for {dst}"));
    let (peer, orig) = server.join().unwrap();
    assert_eq!(peer, c.local_addr().unwrap());
    assert_eq!(orig, dst);

    let u = UdpSocket::bind(&client, "198.18.0.1:0").unwrap();
    u.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let udst: SocketAddr = "198.19.9.9:53".parse().unwrap();
    u.send_to(b"query", udst).unwrap();
    let mut buf = [0u8; 64];
    udp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let (n, from, to) = udp.recv_from_orig(&mut buf).unwrap();
    assert_eq!(
        (&buf[..n], from, to),
        (&b"query"[..], u.local_addr().unwrap(), udst)
    );
    udp.send_from(b"answer", to, from).unwrap();
    let (n, replier) = u.recv_from(&mut buf).unwrap();
    assert_eq!((&buf[..n], replier), (&b"answer"[..], udst));
    assert_eq!(
        udp.send_to(b"x", from).unwrap_err().kind(),
        std::io::ErrorKind::InvalidInput,
        "a transparent socket says where it sends from"
    );
    let ts = proxy.with_stack(|s| *s.transparent_stats());
    assert_eq!((ts.tcp_opened, ts.udp_in, ts.udp_out), (1, 1, 1));
}
