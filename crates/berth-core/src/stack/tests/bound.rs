//! TCP sockets bound before they listen or connect: the port they hold,
//! the conflicts (Linux's rules without `SO_REUSEPORT`), and what they
//! become.

use std::net::SocketAddr;

use super::{A4, A6, B4, accept, config, two_stacks};
use crate::stack::{SocketError, SocketKind, Stack, TcpOptions};
use crate::tcp::State;
use crate::testing::Faults;

/// Bind (port 0 picks one), then connect: the connection is from the
/// bound address and port, and the peer sees it.
#[test]
fn bind_then_connect_uses_the_bound_port() {
    let mut p = two_stacks(Faults::default());
    let l = p.b.tcp_listen(SocketAddr::new(B4, 80), 4).unwrap();
    let b = p.a.tcp_bind(SocketAddr::new(A4, 0), false).unwrap();
    let local = p.a.local_addr(b).unwrap();
    assert_eq!(local.ip(), A4);
    assert_ne!(local.port(), 0);
    assert_eq!(p.a.socket_kind(b), Some(SocketKind::TcpBound));
    let c =
        p.a.tcp_connect_bound(p.now, b, SocketAddr::new(B4, 80), TcpOptions::default())
            .unwrap();
    assert_eq!(p.a.socket_kind(b), None, "the bound socket is used up");
    assert_eq!(p.a.local_addr(c).unwrap(), local);
    let mut server = None;
    p.run_until(|p| {
        server = server.or_else(|| accept(&mut p.b, l));
        server.is_some() && p.a.tcp_state(c) == Ok(State::Established)
    })
    .unwrap();
    assert_eq!(server.unwrap().1, local);
    // A wildcard bind connects from our address for the peer.
    let b =
        p.a.tcp_bind("0.0.0.0:6000".parse().unwrap(), false)
            .unwrap();
    let c =
        p.a.tcp_connect_bound(p.now, b, SocketAddr::new(B4, 80), TcpOptions::default())
            .unwrap();
    assert_eq!(p.a.local_addr(c).unwrap(), SocketAddr::new(A4, 6000));
    // The other family: InvalidInput, and the port is free again.
    let b = p.a.tcp_bind(SocketAddr::new(A6, 6001), false).unwrap();
    assert_eq!(
        p.a.tcp_connect_bound(p.now, b, SocketAddr::new(B4, 80), TcpOptions::default()),
        Err(SocketError::InvalidInput)
    );
    assert!(p.a.tcp_bind(SocketAddr::new(A6, 6001), false).is_ok());
}

/// Two sockets share a port only if both reuse the address and neither
/// listens; a listener holds its port against every bind.
#[test]
fn bind_conflicts_follow_linux() {
    let mut s = Stack::new(config(vec![A4], 1));
    let at = SocketAddr::new(A4, 7000);
    let wild: SocketAddr = "0.0.0.0:7000".parse().unwrap();
    let first = s.tcp_bind(at, false).unwrap();
    assert_eq!(s.tcp_bind(at, true), Err(SocketError::AddrInUse));
    assert_eq!(s.tcp_bind(wild, true), Err(SocketError::AddrInUse));
    assert_eq!(s.tcp_listen(at, 4), Err(SocketError::AddrInUse));
    assert!(s.tcp_bind("[::]:7000".parse().unwrap(), false).is_ok());
    s.close(crate::time::Instant::ZERO, first).unwrap();
    let a = s.tcp_bind(at, true).unwrap();
    let b = s.tcp_bind(wild, true).unwrap();
    assert_eq!(s.tcp_bind(at, false), Err(SocketError::AddrInUse));
    // One of them listens: the other cannot, and no one binds any more.
    s.tcp_listen_bound(a, 8, TcpOptions::default()).unwrap();
    assert_eq!(s.socket_kind(a), Some(SocketKind::TcpListener));
    assert_eq!(s.listener_queue(a), Ok((8, 0)));
    assert_eq!(
        s.tcp_listen_bound(b, 8, TcpOptions::default()),
        Err(SocketError::AddrInUse)
    );
    assert_eq!(s.socket_kind(b), Some(SocketKind::TcpBound), "still bound");
    assert_eq!(s.tcp_bind(at, true), Err(SocketError::AddrInUse));
    // Not ours.
    assert_eq!(
        s.tcp_bind(SocketAddr::new(B4, 1), false),
        Err(SocketError::AddrNotAvailable)
    );
}

/// A bound socket receives nothing: a SYN to it is answered with a reset,
/// and its TTL goes with it to the listener it becomes.
#[test]
fn a_bound_socket_refuses_until_it_listens() {
    let mut p = two_stacks(Faults::default());
    let b = p.b.tcp_bind(SocketAddr::new(B4, 80), false).unwrap();
    p.b.set_ttl(b, 9).unwrap();
    let c =
        p.a.tcp_connect(p.now, SocketAddr::new(B4, 80), None)
            .unwrap();
    p.run_until(|p| p.a.tcp_state(c) == Ok(State::Closed))
        .unwrap();
    assert_eq!(p.a.tcp_error(c), Ok(Some(SocketError::ConnectionRefused)));
    p.b.tcp_listen_bound(b, 4, TcpOptions::default()).unwrap();
    assert_eq!(p.b.ttl(b), Ok(9));
    let (_, s, _) = p.establish(b, SocketAddr::new(B4, 80));
    assert_eq!(p.b.ttl(s), Ok(9), "inherited");
}

/// Ephemeral picks skip bound ports: with one port in the range and a
/// socket bound to it, a connect finds none.
#[test]
fn ephemeral_ports_skip_bound_ones() {
    let mut cfg = config(vec![A4], 1);
    cfg.ephemeral_ports = 40000..=40001;
    let mut s = Stack::new(cfg);
    let b = s.tcp_bind(SocketAddr::new(A4, 0), false).unwrap();
    let held = s.local_addr(b).unwrap().port();
    assert!((40000..=40001).contains(&held));
    let now = crate::time::Instant::ZERO;
    let c = s.tcp_connect(now, SocketAddr::new(B4, 80), None).unwrap();
    assert_ne!(s.local_addr(c).unwrap().port(), held);
    let l = s.tcp_listen(SocketAddr::new(A4, 0), 4);
    assert_eq!(l, Err(SocketError::AddrInUse), "both ports are used");
    assert_eq!(
        s.tcp_connect(now, SocketAddr::new(B4, 81), None)
            .map(|c| s.local_addr(c).unwrap().port()),
        Ok(if held == 40000 { 40001 } else { 40000 }),
        "a second peer may share the connection's port, not the bound one"
    );
}
