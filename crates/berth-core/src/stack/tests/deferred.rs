//! Deferred handshakes: a transparent listener that holds each SYN until
//! the application decides. The client sees no SYN-ACK before the decision;
//! completing makes an ordinary connection, refusing tells the client as a
//! closed port or a router would (its connect fails with that meaning).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::{Pair, two_stacks};
use crate::handle::SocketHandle;
use crate::stack::{SocketError, SynRefusal, SynRequest};
use crate::tcp::State;
use crate::testing::Faults;
use crate::time::Duration;

fn far4(port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(198, 19, 3, 4)), port)
}

fn far6(port: u16) -> SocketAddr {
    SocketAddr::new(
        IpAddr::V6(Ipv6Addr::new(0x2001, 2, 0, 0x99, 0, 0, 0, 7)),
        port,
    )
}

fn pair() -> Pair {
    two_stacks(Faults {
        delay: Duration::from_millis(2),
        ..Faults::default()
    })
}

/// A deferring transparent listener on `b`, a client connecting from `a` to
/// `dst`, run until `b` holds the SYN; the request taken.
fn held(p: &mut Pair, dst: SocketAddr) -> (SocketHandle, SocketHandle, SynRequest) {
    let l = p.b.tcp_listen_transparent(8).unwrap();
    p.b.tcp_set_defer_handshake(l, true).unwrap();
    let c = p.a.tcp_connect(p.now, dst, None).unwrap();
    let mut req = None;
    p.run_until(|p| {
        req = p.b.tcp_take_syn(l).unwrap();
        req.is_some()
    })
    .unwrap();
    let req = req.unwrap();
    assert_eq!(req.local, dst, "the destination the client dialled");
    assert_eq!(req.remote, p.a.local_addr(c).unwrap());
    (l, c, req)
}

fn run_for(p: &mut Pair, d: Duration) {
    let until = p.now + d;
    p.run_until(|p| p.now >= until).unwrap();
}

#[test]
fn the_syn_ack_waits_for_the_decision_and_then_the_connection_works() {
    let mut p = pair();
    let (l, c, req) = held(&mut p, far4(443));
    assert_eq!(p.b.tcp_take_syn(l).unwrap(), None, "taken once");
    // The upstream takes a while: the client retransmits its SYN, the
    // listener drops the copies and answers nothing.
    run_for(&mut p, Duration::from_secs(2));
    assert_eq!(p.a.tcp_state(c).unwrap(), State::SynSent);
    assert!(p.b.stats().syn_held_retransmits >= 1);
    assert_eq!(p.b.socket_count(), 1, "nothing but the listener");

    let s = p.b.tcp_complete_syn(p.now, l, req).unwrap();
    assert_eq!(
        p.b.tcp_complete_syn(p.now, l, req),
        Err(SocketError::InvalidInput),
        "decided once"
    );
    p.run_until(|p| {
        p.a.tcp_state(c).unwrap() == State::Established
            && p.b.tcp_state(s).unwrap() == State::Established
    })
    .unwrap();
    assert_eq!(p.b.local_addr(s).unwrap(), far4(443));
    // Not in the listener's accept queue: the application has it already.
    assert_eq!(p.b.tcp_accept(l).unwrap(), None);
    assert_eq!(p.a.tcp_send(c, b"ping").unwrap(), 4);
    let mut got = [0u8; 8];
    p.run_until(|p| p.b.tcp_can_recv(s).unwrap()).unwrap();
    assert_eq!(p.b.tcp_recv(s, &mut got).unwrap(), 4);
    assert_eq!(&got[..4], b"ping");
    assert_eq!(p.b.transparent_stats().syn_held, 1);
    assert_eq!(p.b.transparent_stats().tcp_opened, 1);
}

#[test]
fn a_refused_syn_fails_the_connect_with_its_meaning() {
    for (how, dst, want) in [
        (SynRefusal::Reset, far4(81), SocketError::ConnectionRefused),
        (SynRefusal::Reset, far6(81), SocketError::ConnectionRefused),
        (
            SynRefusal::HostUnreachable,
            far4(82),
            SocketError::HostUnreachable,
        ),
        (
            SynRefusal::NetUnreachable,
            far4(83),
            SocketError::NetworkUnreachable,
        ),
        (
            SynRefusal::HostUnreachable,
            far6(82),
            SocketError::HostUnreachable,
        ),
        (
            SynRefusal::NetUnreachable,
            far6(83),
            SocketError::NetworkUnreachable,
        ),
        (
            SynRefusal::Prohibited,
            far6(84),
            SocketError::PermissionDenied,
        ),
    ] {
        let mut p = pair();
        let (l, c, req) = held(&mut p, dst);
        p.b.tcp_refuse_syn(p.now, l, req, how).unwrap();
        p.run_until(|p| p.a.tcp_state(c).unwrap() == State::Closed)
            .unwrap();
        assert_eq!(p.a.tcp_error(c).unwrap(), Some(want), "{how:?} to {dst}");
        assert_eq!(p.b.transparent_stats().syn_refused, 1);
        assert_eq!(p.b.transparent_stats().tcp_opened, 0);
        assert_eq!(
            p.b.tcp_refuse_syn(p.now, l, req, how),
            Err(SocketError::InvalidInput)
        );
    }
}

#[test]
fn held_syns_are_bounded_by_the_backlog() {
    let mut p = pair();
    let l = p.b.tcp_listen_transparent(2).unwrap();
    p.b.tcp_set_defer_handshake(l, true).unwrap();
    let clients: Vec<_> = (0..4)
        .map(|i| p.a.tcp_connect(p.now, far4(1000 + i), None).unwrap())
        .collect();
    run_for(&mut p, Duration::from_millis(100));
    let mut taken = Vec::new();
    while let Some(r) = p.b.tcp_take_syn(l).unwrap() {
        taken.push(r);
    }
    assert_eq!(taken.len(), 2, "the backlog's worth");
    assert!(p.b.stats().syn_queue_overflow >= 2);
    assert_eq!(p.b.stats().syncookies_sent, 0, "a cookie would not wait");
    // Deciding frees room: a retransmitted SYN of the others is held next.
    for r in taken {
        p.b.tcp_refuse_syn(p.now, l, r, SynRefusal::Reset).unwrap();
    }
    let mut more = None;
    p.run_until(|p| {
        more = p.b.tcp_take_syn(l).unwrap();
        more.is_some()
    })
    .unwrap();
    assert!(clients.len() == 4 && more.is_some());
}

#[test]
fn a_silent_refusal_brings_the_retransmission_back_as_a_new_request() {
    let mut p = pair();
    let (l, c, req) = held(&mut p, far4(7070));
    p.b.tcp_refuse_syn(p.now, l, req, SynRefusal::Silent)
        .unwrap();
    assert_eq!(p.b.transparent_stats().syn_refused, 0);
    let mut again = None;
    p.run_until(|p| {
        again = p.b.tcp_take_syn(l).unwrap();
        again.is_some()
    })
    .unwrap();
    assert_eq!(again, Some(req), "the client's retransmitted SYN");
    assert_eq!(p.a.tcp_state(c).unwrap(), State::SynSent);
    let s = p.b.tcp_complete_syn(p.now, l, req).unwrap();
    p.run_until(|p| {
        p.a.tcp_state(c).unwrap() == State::Established
            && p.b.tcp_state(s).unwrap() == State::Established
    })
    .unwrap();
}

#[test]
fn closing_the_listener_refuses_what_it_holds() {
    let mut p = pair();
    let (l, c, _req) = held(&mut p, far4(8080));
    p.b.close(p.now, l).unwrap();
    p.run_until(|p| p.a.tcp_state(c).unwrap() == State::Closed)
        .unwrap();
    assert_eq!(
        p.a.tcp_error(c).unwrap(),
        Some(SocketError::ConnectionRefused)
    );
}

#[test]
fn a_new_syn_on_the_same_tuple_replaces_the_held_one() {
    let mut p = pair();
    let (l, c, req) = held(&mut p, far4(9999));
    // The client gives up and dials again from the same port (a new
    // initial sequence number): the decision answers the new SYN.
    let local = p.a.local_addr(c).unwrap();
    p.a.tcp_abort(c).unwrap();
    p.a.close(p.now, c).ok();
    run_for(&mut p, Duration::from_millis(50));
    let c2 =
        p.a.tcp_connect_with(p.now, far4(9999), Some(local), Default::default())
            .unwrap();
    run_for(&mut p, Duration::from_millis(50));
    let s = p.b.tcp_complete_syn(p.now, l, req).unwrap();
    p.run_until(|p| p.a.tcp_state(c2).unwrap() == State::Established)
        .unwrap();
    assert_eq!(p.b.tcp_info(s).unwrap().remote, local);
}
