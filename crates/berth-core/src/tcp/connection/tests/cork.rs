//! `TCP_CORK` as Linux has it (tcp_output.c: tcp_nagle_check with
//! `TCP_NAGLE_CORK`, tcp_nagle_test, tcp_check_probe_timer; tcp.c:
//! `__tcp_sock_set_cork`, `__tcp_sock_set_nodelay`): only full-sized
//! segments while corked, whatever `TCP_NODELAY` says; the tail goes with a
//! FIN, when uncorked (under Nagle's rules), when `TCP_NODELAY` is set
//! (what was queued then), or after the probe timer with nothing in flight
//! (the 200 ms ceiling of tcp(7)).

use super::harness::*;
use crate::wire::TcpFlags as Flags;

/// `(seq, payload length, flags)` of the next segment out.
#[track_caller]
fn next(h: &mut Harness) -> (u32, usize, Flags) {
    let s = h.poll().expect("a segment");
    (s.seq, s.data.len(), s.flags)
}

#[test]
fn corked_only_full_segments_go() {
    let mut h = established();
    h.conn.set_cork(true);
    assert!(h.conn.cork());
    h.send(&[1; 1000]);
    h.expect_none();
    h.send(&[2; 2000]);
    // The first holds the first write's end: PSH.
    assert_eq!(next(&mut h), (ISS + 1, 1460, Flags::PSH));
    assert_eq!(next(&mut h), (ISS + 1461, 1460, Flags::empty()));
    // The 80-byte tail waits: not even a write's end goes short.
    h.expect_none();
    // More data fills it up to a full segment.
    h.send(&[3; 1380]);
    assert_eq!(next(&mut h), (ISS + 2921, 1460, Flags::PSH));
    h.expect_none();
}

#[test]
fn a_cork_is_stronger_than_nodelay() {
    let mut h = established();
    h.conn.set_nodelay(true);
    h.conn.set_cork(true);
    h.send(b"partial");
    h.expect_none();
}

#[test]
fn uncorking_with_nodelay_sends_the_tail_at_once() {
    let mut h = established();
    h.conn.set_cork(true);
    h.conn.set_nodelay(true);
    // Nothing was queued when TCP_NODELAY was set: no push.
    h.send(b"a");
    h.send(b"b");
    h.expect_none();
    h.conn.set_cork(false);
    let s = h.poll().unwrap();
    assert_eq!((s.seq, s.data.as_slice()), (ISS + 1, &b"ab"[..]));
}

/// Uncorking without `TCP_NODELAY` hands the tail to Nagle's algorithm
/// (Linux pushes with `tp->nonagle` cleared of the cork): it goes at once
/// when no short segment is unacknowledged, and waits for the ACK when one
/// is.
#[test]
fn uncorking_without_nodelay_leaves_the_tail_to_nagle() {
    let mut h = established();
    h.conn.set_cork(true);
    h.send(&[1; 100]);
    h.expect_none();
    h.conn.set_cork(false);
    // Nothing in flight: Nagle lets it go.
    assert_eq!(next(&mut h), (ISS + 1, 100, Flags::PSH));
    h.conn.set_cork(true);
    h.send(&[2; 100]);
    h.expect_none();
    h.conn.set_cork(false);
    // A short segment is unacknowledged: Nagle holds this one until its
    // ACK.
    h.expect_none();
    h.inject(peer_ack(ISS + 101));
    assert_eq!(next(&mut h), (ISS + 101, 100, Flags::PSH));
}

/// `TCP_NODELAY` set while corked lets out what is queued at that moment
/// (Linux's `TCP_NAGLE_PUSH`: "Cork is overridden for already queued
/// data"); data written after waits for the cork again.
#[test]
fn nodelay_set_while_corked_pushes_what_is_queued() {
    let mut h = established();
    h.conn.set_cork(true);
    h.send(&[1; 100]);
    h.expect_none();
    h.conn.set_nodelay(true);
    assert_eq!(next(&mut h), (ISS + 1, 100, Flags::PSH));
    h.send(&[2; 100]);
    h.expect_none();
    assert!(h.conn.cork());
}

/// The FIN is not held: a shutdown sends the tail with it (Linux's
/// tcp_nagle_test lets a segment with FIN through).
#[test]
fn a_fin_takes_the_corked_tail_with_it() {
    let mut h = established();
    h.conn.set_cork(true);
    h.send(&[1; 100]);
    h.expect_none();
    h.conn.shutdown_write();
    assert_eq!(next(&mut h), (ISS + 1, 100, Flags::PSH | Flags::FIN));
}

/// Linux holds corked data for at most about 200 ms (tcp(7)): with nothing
/// in flight, tcp_check_probe_timer arms the probe timer at max(RTO,
/// TCP_RTO_MIN), and tcp_write_wakeup then sends the partial segment.
#[test]
fn the_corked_tail_goes_after_the_probe_timer() {
    let mut h = established();
    h.conn.set_cork(true);
    h.send(&[1; 100]);
    h.expect_none();
    // The handshake's RTT sample was 0: the RTO is its 200 ms floor.
    assert_eq!(h.advance_to_timer(), 200);
    assert_eq!(next(&mut h), (ISS + 1, 100, Flags::PSH));
    h.expect_none();
    // Still corked: the next partial waits again, once its ACK empties
    // the flight.
    h.send(&[2; 50]);
    h.expect_none();
    h.advance(10);
    h.inject(peer_ack(ISS + 101));
    h.expect_none();
    assert_eq!(h.advance_to_timer(), 200);
    assert_eq!(next(&mut h), (ISS + 101, 50, Flags::PSH));
}

/// With full segments in flight the tail waits for their ACK (the probe
/// timer is armed only with nothing in flight), then the timer runs.
#[test]
fn the_probe_timer_starts_once_the_flight_is_acknowledged() {
    let mut h = established();
    h.conn.set_cork(true);
    h.send(&[1; 1500]);
    assert_eq!(next(&mut h), (ISS + 1, 1460, Flags::empty()));
    h.expect_none();
    h.advance(50);
    h.expect_none();
    h.inject(peer_ack(ISS + 1461));
    h.expect_none();
    assert_eq!(h.advance_to_timer(), 200);
    assert_eq!(next(&mut h), (ISS + 1461, 40, Flags::PSH));
}
