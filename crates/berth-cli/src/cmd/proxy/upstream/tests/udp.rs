//! SOCKS5 UDP ASSOCIATE against an in-process server and relay.

use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::oneshot;

use super::*;
use crate::cmd::proxy::upstream::{ConnectError, FailureKind, Target, Upstream};

const TIMEOUT: Duration = Duration::from_secs(5);

/// A SOCKS5 server for one UDP association whose relay answers each
/// datagram, reversed, from the address it was sent to; before that it
/// sends a fragment, a malformed datagram, and (from another socket) a
/// stranger's datagram, none of which may get through. BND.ADDR is
/// 0.0.0.0, so the client must use the server's address. The server drops
/// the control connection when `close` fires.
async fn fake_server() -> (SocketAddr, oneshot::Sender<()>) {
    let (listener, addr) = listener().await;
    let (close_tx, close_rx) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let (mut control, _) = listener.accept().await.unwrap();
        let mut greeting = [0; 3];
        control.read_exact(&mut greeting).await.unwrap();
        control.write_all(&[5, 0]).await.unwrap();
        let mut request = [0; 10];
        control.read_exact(&mut request).await.unwrap();
        // UDP ASSOCIATE, DST.ADDR and DST.PORT all zeros.
        assert_eq!(request, [5, 3, 0, 1, 0, 0, 0, 0, 0, 0]);
        let relay = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let port = relay.local_addr().unwrap().port().to_be_bytes();
        control
            .write_all(&[5, 0, 0, 1, 0, 0, 0, 0, port[0], port[1]])
            .await
            .unwrap();
        let stranger = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        tokio::spawn(async move {
            let mut buf = [0; 2048];
            loop {
                let (n, client) = relay.recv_from(&mut buf).await.unwrap();
                // RSV, FRAG 0, then the destination as sent.
                assert_eq!(buf[..3], [0, 0, 0]);
                let header_len = match buf[3] {
                    1 => 10,
                    4 => 22,
                    3 => 7 + usize::from(buf[4]),
                    other => panic!("ATYP {other}"),
                };
                let header = buf[..header_len].to_vec();
                let mut reply = header.clone();
                reply.extend(buf[header_len..n].iter().rev());
                let mut fragment = reply.clone();
                fragment[2] = 1;
                relay.send_to(&fragment, client).await.unwrap();
                relay.send_to(&[0, 0, 0, 9, 9], client).await.unwrap();
                stranger.send_to(&reply, client).await.unwrap();
                relay.send_to(&reply, client).await.unwrap();
            }
        });
        let _ = close_rx.await;
        drop(control);
    });
    (addr, close_tx)
}

#[tokio::test]
async fn datagrams_go_through_the_relay_and_come_back() {
    let (server, close) = fake_server().await;
    let upstream: Upstream = format!("socks5://{server}").parse().unwrap();
    let assoc = upstream.udp_associate(TIMEOUT).await.unwrap();
    // BND.ADDR 0.0.0.0 became the server's own address.
    assert_eq!(assoc.relay_addr().ip(), server.ip());
    assert_eq!(assoc.local_addr().unwrap().ip(), server.ip());

    let mut buf = vec![0; 65_535];
    for target in [
        Target::Addr("192.0.2.53:53".parse().unwrap()),
        Target::Addr("[2001:db8::53]:53".parse().unwrap()),
        Target::Name("dns.example".into(), 853),
    ] {
        assert_eq!(assoc.send_to(b"ping", &target).await.unwrap(), 4);
        let (n, from) = assoc.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"gnip");
        assert_eq!(from, target);
    }
    // An empty datagram is a datagram.
    let target = Target::Addr("192.0.2.53:53".parse().unwrap());
    assoc.send_to(b"", &target).await.unwrap();
    let (n, from) = assoc.recv_from(&mut buf).await.unwrap();
    assert_eq!((n, from), (0, target));

    // The association ends with the control connection.
    close.send(()).unwrap();
    tokio::time::timeout(TIMEOUT, assoc.closed())
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn bad_targets_are_refused_before_sending() {
    let (server, _close) = fake_server().await;
    let upstream: Upstream = format!("socks5://{server}").parse().unwrap();
    let assoc = upstream.udp_associate(TIMEOUT).await.unwrap();
    let e = assoc
        .send_to(b"x", &Target::Name("bad name".into(), 53))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
}

#[tokio::test]
async fn only_socks5_relays_udp() {
    for spec in ["direct", "http://127.0.0.1:3128"] {
        let upstream: Upstream = spec.parse().unwrap();
        let e = upstream.udp_associate(TIMEOUT).await.unwrap_err();
        assert!(matches!(e, ConnectError::UdpUnsupported(_)), "{e}");
        assert!(
            e.to_string()
                .starts_with("UDP not supported by this upstream")
        );
        assert_eq!(e.kind(), FailureKind::Failed);
    }
}

#[tokio::test]
async fn a_refused_association() {
    let (listener, server) = listener().await;
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut greeting = [0; 3];
        s.read_exact(&mut greeting).await.unwrap();
        s.write_all(&[5, 0]).await.unwrap();
        let mut request = [0; 10];
        s.read_exact(&mut request).await.unwrap();
        // Not allowed by ruleset.
        s.write_all(&[5, 2, 0, 1, 0, 0, 0, 0, 0, 0]).await.unwrap();
    });
    let upstream: Upstream = format!("socks5://{server}").parse().unwrap();
    let e = upstream.udp_associate(TIMEOUT).await.unwrap_err();
    assert_eq!(e.kind(), FailureKind::NotAllowed, "{e}");
}
