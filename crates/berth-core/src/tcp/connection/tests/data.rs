//! ESTABLISHED data transfer: receiving in and out of order, delayed ACKs,
//! sending under Nagle and the peer's window, retransmission on timeout and
//! on duplicate ACKs, zero-window probing, window updates.

use super::harness::*;
use crate::wire::TcpFlags as Flags;

#[test]
fn in_order_data_is_queued_and_acked() {
    let mut h = established();
    h.inject(peer_data(IRS + 1, b"hello"));
    // Quick-ack mode at the start of a connection: acknowledged at once.
    h.expect(Seg {
        win: RECV_BUF as u16 - 5,
        ..our_ack(ISS + 1, IRS + 6)
    });
    assert_eq!(h.read_all(), b"hello");
}

//= https://www.rfc-editor.org/rfc/rfc5681#section-4.2
//= type=test
//# A TCP receiver SHOULD send an immediate duplicate ACK when an out-
//# of-order segment arrives.
#[test]
fn out_of_order_data_is_reassembled() {
    let mut h = established();
    h.inject(peer_data(IRS + 6, b"world"));
    h.expect(our_ack(ISS + 1, IRS + 1));
    assert_eq!(h.read_all(), b"");
    h.inject(peer_data(IRS + 1, b"hello"));
    h.expect(Seg {
        win: RECV_BUF as u16 - 10,
        ..our_ack(ISS + 1, IRS + 11)
    });
    assert_eq!(h.read_all(), b"helloworld");
}

#[test]
fn delayed_ack_after_quick_acks() {
    let mut h = established();
    let mut seq = IRS + 1;
    for _ in 0..16 {
        h.inject(peer_data(seq, b"x"));
        seq += 1;
        assert!(h.poll().is_some(), "quick ack");
        h.read_all();
    }
    h.inject(peer_data(seq, b"y"));
    h.expect_none();
    // The 40 ms delayed-ACK timer. The window stays where it was: the 17
    // bytes read are less than an MSS (receiver SWS avoidance).
    assert_eq!(h.advance_to_timer(), 40);
    h.expect(Seg {
        win: RECV_BUF as u16 - 17,
        ..our_ack(ISS + 1, seq + 1)
    });
}

#[test]
fn nagle_holds_a_short_segment_while_another_short_one_is_unacknowledged() {
    let mut h = established();
    h.send(&[7u8; 3000]);
    let a = h.poll().unwrap();
    assert_eq!((a.seq, a.data.len()), (ISS + 1, 1460));
    let b = h.poll().unwrap();
    assert_eq!(
        (b.seq, b.data.len(), b.flags),
        (ISS + 1461, 1460, Flags::empty())
    );
    // The write's 80-byte tail goes with it (Minshall's Nagle, as Linux:
    // only full segments are in flight).
    let c = h.poll().unwrap();
    assert_eq!((c.seq, c.data.len(), c.flags), (ISS + 2921, 80, Flags::PSH));
    // A second short write waits while that short segment is
    // unacknowledged, and goes once it is.
    h.send(&[8u8; 10]);
    h.expect_none();
    h.inject(peer_ack(ISS + 3001));
    let d = h.poll().unwrap();
    assert_eq!((d.seq, d.data.len()), (ISS + 3001, 10));
}

#[test]
fn nodelay_sends_small_segments_at_once() {
    let mut h = established();
    h.conn.set_nodelay(true);
    h.send(b"a");
    assert_eq!(h.poll().unwrap().data, b"a");
    h.send(b"b");
    assert_eq!(h.poll().unwrap().data, b"b");
}

//= https://www.rfc-editor.org/rfc/rfc9293#section-3.8.6.2.1
//= type=test
//# (4)  or if the override timeout occurs.
#[test]
fn respects_the_peer_window_and_avoids_silly_segments() {
    let mut h = established();
    h.inject(Seg {
        win: 2000,
        ..peer_ack(ISS + 1)
    });
    h.conn.set_nodelay(true);
    h.send(&[1u8; 3000]);
    assert_eq!(h.poll().unwrap().data.len(), 1460);
    // 540 bytes of window left: less than an MSS and than half the largest
    // window seen (8192), with more queued. Sender SWS avoidance waits.
    h.expect_none();
    h.inject(Seg {
        win: 540,
        ..peer_ack(ISS + 1461)
    });
    h.expect_none();
    // The override (persist) timer sends what fits.
    h.advance_to_timer();
    let probe = h.poll().unwrap();
    assert!(
        probe.data.is_empty() || probe.data.len() == 540,
        "{probe:?}"
    );
}

//= https://www.rfc-editor.org/rfc/rfc6298#section-5
//= type=test
//# (5.4) Retransmit the earliest segment that has not been acknowledged
//#       by the TCP receiver.
#[test]
fn retransmits_on_timeout_with_backoff() {
    let mut h = established();
    h.conn.set_nodelay(true);
    h.send(b"data");
    let first = h.poll().unwrap();
    let rto = h.advance_to_timer();
    assert_eq!(rto, 200, "RTO after a zero RTT sample is the 200 ms floor");
    assert_eq!(h.poll().unwrap(), first);
    assert_eq!(h.advance_to_timer(), 400);
    assert_eq!(h.poll().unwrap(), first);
    assert_eq!(h.conn.stats().rto_fired, 2);
    h.inject(peer_ack(ISS + 5));
    assert_eq!(h.conn.poll_at(), None, "all acknowledged: no timer");
}

#[test]
fn fast_retransmit_on_three_duplicate_acks() {
    let mut h = established();
    h.send(&[3u8; 1460 * 5]);
    let mut sent = Vec::new();
    while let Some(s) = h.poll() {
        sent.push(s);
    }
    assert_eq!(sent.len(), 5);
    // The first is lost; the next three each draw a duplicate ACK.
    for _ in 0..3 {
        h.inject(peer_ack(ISS + 1));
    }
    let rexmit = h.poll().unwrap();
    assert_eq!(rexmit.seq, ISS + 1);
    assert_eq!(rexmit.data.len(), 1460);
    assert_eq!(h.conn.stats().fast_retransmits, 1);
    assert_eq!(h.conn.stats().recoveries, 1);
}

#[test]
fn zero_window_is_probed() {
    let mut h = established();
    h.inject(Seg {
        win: 0,
        ..peer_ack(ISS + 1)
    });
    h.send(b"blocked");
    h.expect_none();
    let wait = h.advance_to_timer();
    assert!(wait > 0);
    // A probe: one sequence number below SND.UNA, no data.
    h.expect(our_ack(ISS, IRS + 1));
    // The window opens: the data goes.
    h.inject(Seg {
        win: 100,
        ..peer_ack(ISS + 1)
    });
    assert_eq!(h.poll().unwrap().data, b"blocked");
}

#[test]
fn window_update_after_the_application_reads() {
    let mut h = established();
    let chunk = vec![9u8; 1460];
    let mut seq = IRS + 1;
    // Fill the 32 KiB receive buffer completely.
    while seq - (IRS + 1) + 1460 <= RECV_BUF as u32 {
        h.inject(peer_data(seq, &chunk));
        seq += 1460;
        while h.poll().is_some() {}
    }
    h.inject(peer_data(
        seq,
        &chunk[..(RECV_BUF as u32 - (seq - IRS - 1)) as usize],
    ));
    // A small segment after the quick-ack budget: the delayed ACK closes the window.
    h.advance_to_timer();
    let last = h.poll().unwrap();
    assert_eq!(last.win, 0);
    assert_eq!(h.read_all().len(), RECV_BUF);
    let update = h.poll().unwrap();
    assert_eq!(update.win, RECV_BUF as u16);
}

//= https://www.rfc-editor.org/rfc/rfc9293#section-3.9.1
//= type=test
//# The sender of data can
//# ensure that the data is delivered by setting the PSH bit
#[test]
fn the_last_segment_of_each_write_carries_psh() {
    // packetdrill: a 10,000-byte write with MSS 1000 goes out as ten
    // segments, PSH on the tenth (Linux tcp_push).
    let mut h = Harness::accept(
        plain_config(),
        Seg {
            mss: Some(1000),
            win: 65535,
            ..peer_syn()
        },
    );
    h.poll();
    h.inject(Seg {
        win: 65535,
        ..peer_ack(ISS + 1)
    });
    h.send(&[1; 10_000]);
    let out: Vec<Seg> = std::iter::from_fn(|| h.poll()).collect();
    assert_eq!(out.len(), 10);
    let psh: Vec<bool> = out.iter().map(|s| s.flags.contains(Flags::PSH)).collect();
    assert_eq!(
        psh,
        [
            false, false, false, false, false, false, false, false, false, true
        ]
    );
    // Two writes queued before anything goes: PSH at the end of each.
    h.inject(Seg {
        win: 65535,
        ..peer_ack(ISS + 10_001)
    });
    h.send(&[2; 2500]);
    h.send(&[3; 2500]);
    let out: Vec<(usize, bool)> = std::iter::from_fn(|| h.poll())
        .map(|s| (s.data.len(), s.flags.contains(Flags::PSH)))
        .collect();
    assert_eq!(
        out,
        [
            (1000, false),
            (1000, false),
            (1000, true),
            (1000, false),
            (1000, true)
        ]
    );
}

//= https://www.rfc-editor.org/rfc/rfc9293#section-3.8.6.2.1
//= type=test
//# (2)  or if the data is pushed and all queued data can be sent
//#      now, i.e., if:
#[test]
fn a_write_that_fills_a_small_window_goes_whole() {
    // Black-box check against Linux: MSS 536, a 1000-byte window, a
    // 1000-byte write: 536 and then 464 at once (the first segment in
    // flight is full-sized, so Minshall's Nagle does not hold the rest).
    let mut h = Harness::accept(
        plain_config(),
        Seg {
            mss: Some(536),
            win: 1000,
            ..peer_syn()
        },
    );
    h.poll();
    h.inject(Seg {
        win: 1000,
        ..peer_ack(ISS + 1)
    });
    h.send(&[1; 1000]);
    let out: Vec<usize> = std::iter::from_fn(|| h.poll())
        .map(|s| s.data.len())
        .collect();
    assert_eq!(out, [536, 464]);
}

//= https://www.rfc-editor.org/rfc/rfc9293#section-3.8.6.2.1
//= type=test
//# (4)  or if the override timeout occurs.
#[test]
fn the_override_timeout_sends_what_a_small_window_takes() {
    // Black-box check against Linux: MSS 536, a 1000-byte window, more
    // data than fits (chargen). After 536 bytes the peer acknowledges
    // them and keeps its right edge: 464 bytes of window, less than a
    // segment. berth sent zero-length probes forever; Linux's probe timer
    // sends the 464 bytes (tcp_write_wakeup).
    let mut h = Harness::accept(
        plain_config(),
        Seg {
            mss: Some(536),
            win: 1000,
            ..peer_syn()
        },
    );
    h.poll();
    h.inject(Seg {
        win: 1000,
        ..peer_ack(ISS + 1)
    });
    h.send(&[1; 5000]);
    let first: Vec<usize> = std::iter::from_fn(|| h.poll())
        .map(|s| s.data.len())
        .collect();
    assert_eq!(first, [536]);
    h.inject(Seg {
        win: 464,
        ..peer_ack(ISS + 1 + 536)
    });
    h.expect_none();
    h.advance_to_timer();
    let probe = h.poll().unwrap();
    assert_eq!((probe.seq, probe.data.len()), (ISS + 1 + 536, 464));
    assert!(probe.flags.contains(Flags::PSH));
}

/// Room made in the send buffer is news (`WRITABLE`) only to a writer
/// that found it full, once, as Linux's `SOCK_NOSPACE`: in
/// request/response traffic every ACK makes room, and nobody waits for it.
#[test]
fn room_is_news_only_after_a_write_found_none() {
    use crate::tcp::connection::Events;
    let mut h = established();
    let _ = h.conn.take_events();
    h.send(b"hello");
    assert!(h.poll().is_some(), "the data");
    h.inject(peer_ack(ISS + 6));
    assert!(!h.conn.take_events().contains(Events::WRITABLE));
    // A write that does not fit the 64 KiB send buffer.
    let big = vec![b'x'; 64 * 1024 + 1];
    let taken = h.conn.send(&big).unwrap();
    assert!(taken < big.len(), "took {taken}");
    while h.poll().is_some() {}
    h.inject(peer_ack(ISS + 6 + 1460));
    assert!(h.conn.take_events().contains(Events::WRITABLE));
    h.inject(peer_ack(ISS + 6 + 2920));
    assert!(!h.conn.take_events().contains(Events::WRITABLE), "once");
}
