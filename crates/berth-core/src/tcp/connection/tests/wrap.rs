//! Sequence numbers wrapping past 2^32 (RFC 9293 3.4: "the sequence number
//! space ... ranges from 0 to 2**32 - 1 ... all arithmetic dealing with
//! sequence numbers must be performed modulo 2**32"): ISNs just below 2^32 on
//! either side, data, SACK blocks, retransmissions and FINs crossing the
//! wrap.

use super::harness::*;
use crate::tcp::config::TcpConfig;
use crate::tcp::seq::SeqNum;
use crate::tcp::{Connection, State};
use crate::time::Instant;
use crate::wire::TcpFlags as Flags;

/// The peer's ISN: 3 below the wrap, so its fourth data byte is at 0.
const PEER_ISN: u32 = u32::MAX - 2;
/// Our ISN: 5 below the wrap.
const OUR_ISN: u32 = u32::MAX - 4;

fn w(base: u32, off: u32) -> u32 {
    base.wrapping_add(off)
}

/// A passive open with both ISNs of our choosing, established.
fn established_with(cfg: TcpConfig, iss: u32, irs: u32) -> Harness {
    let syn = Seg {
        seq: irs,
        sack_perm: cfg.sack,
        ..peer_syn()
    };
    let mut h = Harness::accept_with_iss(cfg, syn, iss);
    let syn_ack = h.poll().unwrap();
    assert_eq!((syn_ack.seq, syn_ack.ack), (iss, Some(w(irs, 1))));
    h.inject(Seg {
        seq: w(irs, 1),
        ack: Some(w(iss, 1)),
        win: 8192,
        ..seg()
    });
    assert_eq!(h.state(), State::Established);
    h
}

fn data_from_peer(seq: u32, iss: u32, data: &[u8]) -> Seg {
    Seg {
        ack: Some(w(iss, 1)),
        ..peer_data(seq, data)
    }
}

//= https://www.rfc-editor.org/rfc/rfc9293#section-3.4
//= type=test
//# It is essential to remember that the actual sequence number space is
//# finite, though large.  This space ranges from 0 to 2^32 - 1.
#[test]
fn receives_data_across_the_wrap() {
    let mut h = established_with(plain_config(), ISS, PEER_ISN);
    // Peer bytes 0..10 occupy PEER_ISN+1 ..: the wrap is after byte 1.
    h.inject(data_from_peer(w(PEER_ISN, 1), ISS, b"0123456789"));
    h.expect(Seg {
        win: RECV_BUF as u16 - 10,
        ..our_ack(ISS + 1, w(PEER_ISN, 11))
    });
    assert_eq!(w(PEER_ISN, 11), 8);
    assert_eq!(h.read_all(), b"0123456789");
}

#[test]
fn reassembles_out_of_order_data_across_the_wrap() {
    let mut cfg = plain_config();
    cfg.sack = true;
    let mut h = established_with(cfg, ISS, PEER_ISN);
    // The segment after the wrap arrives first: a SACK block in wrapped numbers.
    h.inject(data_from_peer(w(PEER_ISN, 6), ISS, b"56789"));
    h.expect(Seg {
        sack: vec![(w(PEER_ISN, 6), w(PEER_ISN, 11))],
        ..our_ack(ISS + 1, w(PEER_ISN, 1))
    });
    assert_eq!(w(PEER_ISN, 6), 3);
    h.inject(data_from_peer(w(PEER_ISN, 1), ISS, b"01234"));
    h.expect(Seg {
        win: RECV_BUF as u16 - 10,
        ..our_ack(ISS + 1, w(PEER_ISN, 11))
    });
    assert_eq!(h.read_all(), b"0123456789");
}

#[test]
fn old_duplicate_from_before_the_wrap_is_acked_not_delivered() {
    let mut h = established_with(plain_config(), ISS, PEER_ISN);
    h.inject(data_from_peer(w(PEER_ISN, 1), ISS, b"0123456789"));
    h.poll();
    assert_eq!(h.read_all(), b"0123456789");
    // The same segment again: it lies entirely before RCV.NXT (= 8).
    h.inject(data_from_peer(w(PEER_ISN, 1), ISS, b"0123456789"));
    let ack = h.poll().unwrap();
    assert_eq!(ack.ack, Some(8));
    assert_eq!(h.read_all(), b"");
}

#[test]
fn sends_data_across_the_wrap_and_takes_wrapped_acks() {
    let mut h = established_with(plain_config(), OUR_ISN, IRS);
    h.send(&[1u8; 3000]);
    let a = h.poll().unwrap();
    let b = h.poll().unwrap();
    let c = h.poll().unwrap();
    assert_eq!(a.seq, w(OUR_ISN, 1));
    assert_eq!(b.seq, w(OUR_ISN, 1461));
    assert_eq!(b.seq, 1456);
    assert_eq!((c.seq, c.data.len()), (w(OUR_ISN, 2921), 80));
    // An ACK in the wrapped space acknowledges the first segment.
    h.inject(peer_ack(w(OUR_ISN, 1461)));
    assert_eq!(h.conn.send_queue(), 3000 - 1460);
    h.inject(peer_ack(w(OUR_ISN, 2921)));
    h.inject(peer_ack(w(OUR_ISN, 3001)));
    assert_eq!(h.conn.send_queue(), 0);
    assert_eq!(h.conn.poll_at(), None);
}

#[test]
fn retransmits_across_the_wrap() {
    let mut h = established_with(plain_config(), OUR_ISN, IRS);
    h.conn.set_nodelay(true);
    h.send(b"abcdefgh");
    let first = h.poll().unwrap();
    assert_eq!(first.seq, w(OUR_ISN, 1));
    h.advance_to_timer();
    assert_eq!(h.poll().unwrap(), first);
    // A partial ACK that lands exactly on 0.
    h.inject(peer_ack(0));
    assert_eq!(h.conn.send_queue(), 4);
    h.advance_to_timer();
    let rest = h.poll().unwrap();
    assert_eq!((rest.seq, rest.data.as_slice()), (0, &b"efgh"[..]));
}

#[test]
fn fast_retransmit_across_the_wrap() {
    let mut h = established_with(plain_config(), OUR_ISN, IRS);
    h.send(&[3u8; 1460 * 4]);
    while h.poll().is_some() {}
    for _ in 0..3 {
        h.inject(peer_ack(w(OUR_ISN, 1)));
    }
    let r = h.poll().unwrap();
    assert_eq!((r.seq, r.data.len()), (w(OUR_ISN, 1), 1460));
    // The full ACK crosses the wrap and ends recovery.
    h.inject(peer_ack(w(OUR_ISN, 1 + 1460 * 4)));
    assert_eq!(h.conn.send_queue(), 0);
}

#[test]
fn fins_across_the_wrap() {
    // Our FIN is the first number after the wrap, the peer's the last before.
    let mut h = established_with(plain_config(), u32::MAX - 1, u32::MAX - 1);
    h.conn.shutdown_write();
    h.expect(Seg {
        flags: Flags::FIN,
        ..our_ack(u32::MAX, u32::MAX)
    });
    h.inject(Seg {
        seq: u32::MAX,
        ack: Some(0),
        flags: Flags::FIN,
        win: 8192,
        ..seg()
    });
    assert_eq!(h.state(), State::TimeWait);
    h.expect(Seg {
        win: RECV_BUF as u16 - 1,
        ..our_ack(0, 0)
    });
}

#[test]
fn reset_exactly_at_a_wrapped_rcv_nxt_closes() {
    let mut h = established_with(plain_config(), ISS, PEER_ISN);
    h.inject(data_from_peer(w(PEER_ISN, 1), ISS, b"0123456789"));
    h.poll();
    // RCV.NXT is 8 now; a RST at the pre-wrap number is only in the window's
    // past and is answered by nothing, one at 8 closes.
    h.inject(Seg {
        seq: u32::MAX,
        flags: Flags::RST,
        ..seg()
    });
    assert_eq!(h.state(), State::Established);
    h.inject(Seg {
        seq: 8,
        flags: Flags::RST,
        ..seg()
    });
    assert_eq!(h.state(), State::Closed);
}

#[test]
fn active_open_with_isn_at_the_top() {
    let mut h = Harness::new(Connection::connect(
        Instant::ZERO,
        plain_config(),
        LOCAL,
        REMOTE,
        SeqNum::new(u32::MAX),
        0,
    ));
    let syn = h.poll().unwrap();
    assert_eq!(syn.seq, u32::MAX);
    h.inject(Seg {
        seq: u32::MAX,
        ack: Some(0),
        flags: Flags::SYN,
        win: 8192,
        mss: Some(1460),
        ..seg()
    });
    assert_eq!(h.state(), State::Established);
    h.expect(our_ack(0, 0));
    h.send(b"x");
    assert_eq!(h.poll().unwrap().seq, 0);
}
