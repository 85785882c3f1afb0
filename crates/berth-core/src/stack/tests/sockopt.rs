//! Socket options and calls that std and tokio users reach for: UDP peek
//! and readiness, `SO_LINGER`, the options a socket is created with and
//! the ones a listener's connections inherit.

use std::net::SocketAddr;

use super::{A4, B4, accept, config, two_stacks};
use crate::stack::{MIN_SOCKET_BUFFER, SocketError, Stack, TcpOptions};
use crate::tcp::{Keepalive, State};
use crate::testing::Faults;
use crate::time::Duration;

/// A peeked datagram stays queued: the next peek and the next receive
/// return it again, and only the receive takes it.
#[test]
fn udp_peek_leaves_the_datagram_queued() {
    let mut p = two_stacks(Faults::default());
    let server = p.b.udp_bind(SocketAddr::new(B4, 7)).unwrap();
    let client = p.a.udp_bind(SocketAddr::new(A4, 0)).unwrap();
    assert_eq!(p.b.udp_peek_datagram(server), Err(SocketError::WouldBlock));
    assert!(!p.b.udp_can_recv(server).unwrap());
    assert!(p.a.udp_can_send(client).unwrap());
    let to = SocketAddr::new(B4, 7);
    p.a.udp_send_to(client, b"one", to).unwrap();
    p.a.udp_send_to(client, b"two", to).unwrap();
    p.run_until(|p| p.b.udp_can_recv(server).unwrap()).unwrap();
    let first = p.b.udp_peek_datagram(server).unwrap();
    assert_eq!(first.data, b"one");
    assert_eq!(first.from, p.a.local_addr(client).unwrap());
    assert_eq!(p.b.udp_peek_datagram(server).unwrap(), first);
    assert_eq!(p.b.udp_peek_sender(server), Ok(first.from));
    assert_eq!(p.b.udp_has_error(server), Ok(false));
    assert_eq!(p.b.udp_recv_datagram(server).unwrap(), first);
    assert_eq!(p.b.udp_recv_datagram(server).unwrap().data, b"two");
    assert_eq!(p.b.udp_recv_datagram(server), Err(SocketError::WouldBlock));
}

/// `SO_LINGER` of zero: closing resets the connection (RFC 9293 3.10.5
/// ABORT, as Linux's tcp_close does) and drops what was still to send.
//= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.5
//= type=test
#[test]
fn a_zero_linger_close_resets_the_connection() {
    let mut p = two_stacks(Faults::default());
    let l = p.b.tcp_listen(SocketAddr::new(B4, 80), 4).unwrap();
    let (c, s, _) = p.establish(l, SocketAddr::new(B4, 80));
    assert_eq!(p.a.tcp_linger(c), Ok(None));
    p.a.tcp_set_linger(c, Some(Duration::ZERO)).unwrap();
    assert_eq!(p.a.tcp_linger(c), Ok(Some(Duration::ZERO)));
    p.a.tcp_send(c, b"never delivered").unwrap();
    p.a.tcp_close(p.now, c).unwrap();
    let mut buf = [0u8; 64];
    let mut got = Ok(0);
    p.run_until(|p| {
        got = p.b.tcp_recv(s, &mut buf);
        got != Err(SocketError::WouldBlock)
    })
    .unwrap();
    assert_eq!(got, Err(SocketError::ConnectionReset));
    assert_eq!(p.b.stats().tcp_no_socket, 0);
}

/// Any other linger time closes gracefully: the data, then the FIN.
#[test]
fn a_nonzero_linger_closes_gracefully() {
    let mut p = two_stacks(Faults::default());
    let l = p.b.tcp_listen(SocketAddr::new(B4, 80), 4).unwrap();
    let (c, s, _) = p.establish(l, SocketAddr::new(B4, 80));
    p.a.tcp_set_linger(c, Some(Duration::from_secs(5))).unwrap();
    p.a.tcp_send(c, b"all of it").unwrap();
    p.a.tcp_close(p.now, c).unwrap();
    let mut got = Vec::new();
    p.run_until(|p| {
        let mut buf = [0u8; 64];
        match p.b.tcp_recv(s, &mut buf) {
            Ok(0) => true,
            Ok(n) => {
                got.extend_from_slice(&buf[..n]);
                false
            }
            Err(SocketError::WouldBlock) => false,
            Err(e) => panic!("{e}"),
        }
    })
    .unwrap();
    assert_eq!(got, b"all of it");
}

/// A listener's options reach every connection it makes; a connect's
/// reach its connection. Buffers set are fixed at their size (no growth).
#[test]
fn options_are_applied_and_inherited() {
    let mut p = two_stacks(Faults::default());
    let opts = TcpOptions {
        nodelay: Some(true),
        linger: Some(Duration::ZERO),
        recv_buffer: Some(8192),
        send_buffer: Some(1),
        ..TcpOptions::default()
    };
    let l =
        p.b.tcp_listen_with(SocketAddr::new(B4, 80), 4, true, opts)
            .unwrap();
    let c =
        p.a.tcp_connect_with(
            p.now,
            SocketAddr::new(B4, 80),
            None,
            TcpOptions {
                recv_buffer: Some(4096),
                ..TcpOptions::default()
            },
        )
        .unwrap();
    let mut server = None;
    p.run_until(|p| {
        server = server.or_else(|| accept(&mut p.b, l));
        server.is_some() && p.a.tcp_state(c) == Ok(State::Established)
    })
    .unwrap();
    let s = server.unwrap().0;
    assert_eq!(p.b.tcp_nodelay(s), Ok(true));
    assert_eq!(p.b.tcp_linger(s), Ok(Some(Duration::ZERO)));
    let info = p.b.tcp_info(s).unwrap();
    assert_eq!(info.recv_buffer, 8192);
    assert_eq!(info.send_buffer, MIN_SOCKET_BUFFER, "raised to the floor");
    assert_eq!(p.a.tcp_nodelay(c), Ok(false));
    assert_eq!(p.a.tcp_linger(c), Ok(None));
    assert_eq!(p.a.tcp_info(c).unwrap().recv_buffer, 4096);
    // Fixed: a bulk transfer does not grow it.
    let data = vec![7u8; 200_000];
    let mut sent = 0;
    let mut buf = vec![0u8; 65536];
    let mut received = 0;
    p.run_until(|p| {
        if sent < data.len() {
            sent += p.b.tcp_send(s, &data[sent..]).unwrap_or(0);
        }
        while let Ok(n) = p.a.tcp_recv(c, &mut buf) {
            received += n;
        }
        received == data.len()
    })
    .unwrap();
    assert_eq!(p.a.tcp_info(c).unwrap().recv_buffer, 4096);
    let resolved = p.a.tcp_resolve_options(TcpOptions {
        recv_buffer: Some(usize::MAX),
        keepalive: Some(true),
        ..TcpOptions::default()
    });
    let cfg = crate::config::StackConfig::default().tcp;
    assert_eq!(resolved.recv_buffer, Some(cfg.recv_buffer_max));
    assert_eq!(resolved.send_buffer, Some(cfg.send_buffer));
    assert_eq!(resolved.keepalive, Some(true));
    assert_eq!(resolved.nodelay, Some(cfg.nodelay));
}

/// `SO_KEEPALIVE` on a connection of a stack without keepalive probes it
/// once idle (RFC 1122 4.2.3.6), here with the stack's timing: a peer that
/// forgot the connection answers with a reset, which ends it.
//= https://www.rfc-editor.org/rfc/rfc1122#section-4.2.3.6
//= type=test
#[test]
fn keepalive_set_on_a_socket_probes_an_idle_connection() {
    let mut p = two_stacks(Faults::default());
    let mut cfg = config(vec![A4], 1);
    cfg.tcp.keepalive = None;
    p.a = Stack::new(cfg);
    let l = p.b.tcp_listen(SocketAddr::new(B4, 80), 4).unwrap();
    let c =
        p.a.tcp_connect_with(
            p.now,
            SocketAddr::new(B4, 80),
            None,
            TcpOptions {
                keepalive: Some(true),
                ..TcpOptions::default()
            },
        )
        .unwrap();
    p.run_until(|p| p.a.tcp_state(c) == Ok(State::Established))
        .unwrap();
    // The peer reboots: it knows nothing of the connection.
    let _ = l;
    p.b = Stack::new(config(vec![B4], 3));
    let start = p.now;
    // Two virtual hours of idling: past the default limit of a run.
    p.limit = Duration::from_secs(3 * 3600);
    p.run_until(|p| p.a.tcp_state(c) == Ok(State::Closed))
        .unwrap();
    assert_eq!(p.a.tcp_error(c), Ok(Some(SocketError::ConnectionReset)));
    assert!(
        p.now.saturating_duration_since(start) >= Keepalive::default().idle,
        "the probe waits for the idle time"
    );
}
