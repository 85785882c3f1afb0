//! The retransmission timer (RFC 6298): RTT estimation with and without
//! Karn's rule, backoff, the cap, giving up after `retries`, and FIN and
//! SYN-ACK retransmission (gVisor `tcp_fin_retransmission`, `tcp_info`).

use super::harness::*;
use crate::tcp::{ConnError, State};
use crate::wire::TcpFlags as Flags;

//= https://www.rfc-editor.org/rfc/rfc6298#section-2
//= type=test
//# (2.2) When the first RTT measurement R is made, the host MUST set
//#
//#          SRTT <- R
//#          RTTVAR <- R/2
//#          RTO <- SRTT + max (G, K*RTTVAR)
#[test]
fn first_rtt_sample_sets_srtt_and_rto() {
    let h = established_with(plain_config(), 100);
    assert_eq!(h.conn.srtt().map(|d| d.as_millis()), Some(100));
    assert_eq!(h.conn.rto().as_millis(), 300);
}

//= https://www.rfc-editor.org/rfc/rfc6298#section-3
//= type=test
//# RTT samples MUST NOT be made using segments that were
//# retransmitted (and thus for which it is ambiguous whether the reply
//# was for the first instance of the packet or a later instance).
#[test]
fn karn_no_sample_from_a_retransmitted_segment() {
    let mut h = established_with(plain_config(), 100);
    h.conn.set_nodelay(true);
    h.send(b"data");
    h.poll();
    assert_eq!(h.advance_to_timer(), 300);
    h.poll();
    h.advance(5);
    h.inject(peer_ack(ISS + 5));
    assert_eq!(h.conn.srtt().map(|d| d.as_millis()), Some(100));
    //= https://www.rfc-editor.org/rfc/rfc6298#section-5
    //= type=test
    //# (5.3) When an ACK is received that acknowledges new data, restart the
    //#       retransmission timer so that it will expire after RTO seconds
    //#       (for the current value of RTO).
    // The backoff is forgotten with the new ACK (Linux does the same).
    assert_eq!(h.conn.rto().as_millis(), 300);
    // The next segment is timed again.
    h.send(b"more");
    h.poll();
    h.advance(60);
    h.inject(peer_ack(ISS + 9));
    let srtt = h.conn.srtt().unwrap().as_millis();
    assert!((90..100).contains(&srtt), "{srtt}");
}

#[test]
fn backoff_is_capped_and_the_connection_gives_up_after_retries() {
    let mut cfg = plain_config();
    cfg.retries = 12;
    let mut h = established_with(cfg, 0);
    h.conn.set_nodelay(true);
    h.send(b"data");
    let first = h.poll().unwrap();
    let mut waits = Vec::new();
    for _ in 0..12 {
        waits.push(h.advance_to_timer());
        assert_eq!(h.poll().as_ref(), Some(&first));
        h.expect_none();
    }
    assert_eq!(
        waits,
        [
            200, 400, 800, 1600, 3200, 6400, 12_800, 25_600, 51_200, 102_400, 120_000, 120_000
        ]
    );
    assert_eq!(h.conn.stats().rto_fired, 12);
    assert_eq!(h.conn.stats().retransmits, 12);
    // The 13th expiry: retries exhausted. Linux (tcp_write_err) just
    // closes, without a reset.
    assert_eq!(h.advance_to_timer(), 120_000);
    assert_eq!(h.state(), State::Closed);
    assert_eq!(h.conn.error(), Some(ConnError::TimedOut));
    h.expect_none();
    let mut buf = [0u8; 4];
    assert!(h.conn.recv(&mut buf).is_err());
    assert!(h.conn.send(b"x").is_err());
}

#[test]
fn fin_is_retransmitted_with_backoff() {
    // gVisor packetimpact tcp_fin_retransmission: FIN-WAIT-1 and LAST-ACK.
    let fin = |seq: u32, ack: u32, win: u16| Seg {
        flags: Flags::FIN,
        win,
        ..our_ack(seq, ack)
    };
    let mut h = established();
    h.conn.shutdown_write();
    h.expect(fin(ISS + 1, IRS + 1, RECV_BUF as u16));
    for wait in [200, 400, 800] {
        assert_eq!(h.advance_to_timer(), wait);
        h.expect(fin(ISS + 1, IRS + 1, RECV_BUF as u16));
        h.expect_none();
    }
    assert_eq!(h.state(), State::FinWait1);

    let mut h = established();
    h.inject(Seg {
        seq: IRS + 1,
        ack: Some(ISS + 1),
        flags: Flags::FIN,
        win: 8192,
        ..seg()
    });
    h.poll();
    h.conn.shutdown_write();
    assert_eq!(h.state(), State::LastAck);
    h.expect(fin(ISS + 1, IRS + 2, RECV_BUF as u16 - 1));
    for wait in [200, 400] {
        assert_eq!(h.advance_to_timer(), wait);
        h.expect(fin(ISS + 1, IRS + 2, RECV_BUF as u16 - 1));
    }
    h.inject(Seg {
        seq: IRS + 2,
        ..peer_ack(ISS + 2)
    });
    assert_eq!(h.state(), State::Closed);
}

#[test]
fn syn_ack_is_retransmitted_then_the_half_open_connection_dropped() {
    let mut cfg = plain_config();
    cfg.synack_retries = 2;
    let mut h = Harness::accept(cfg, peer_syn());
    let syn_ack = h.poll().unwrap();
    for wait in [1000, 2000] {
        assert_eq!(h.advance_to_timer(), wait);
        assert_eq!(h.poll().as_ref(), Some(&syn_ack));
    }
    assert_eq!(h.advance_to_timer(), 4000);
    assert_eq!(h.state(), State::Closed);
    h.expect_none();
}

#[test]
fn stats_report_what_happened() {
    // gVisor packetimpact tcp_info: RTT, RTO, retransmissions, cwnd.
    let mut h = established_with(plain_config(), 50);
    h.conn.set_nodelay(true);
    h.send(b"abc");
    h.poll();
    h.advance_to_timer();
    h.poll();
    let st = h.conn.stats();
    assert_eq!((st.retransmits, st.rto_fired), (1, 1));
    assert_eq!(h.conn.srtt().map(|d| d.as_millis()), Some(50));
    assert_eq!(h.conn.rto().as_millis(), 400, "200 ms, backed off once");
    assert_eq!(h.conn.cwnd(), 1460, "one segment after a timeout");
    assert_eq!(h.conn.congestion_algorithm(), "cubic");
}

/// ESTABLISHED with timestamps on both sides (12 option bytes in every
/// segment, so 1448 of payload in a 1460-byte SMSS), the peer offering
/// 65535, after one 100 ms RTT sample.
fn established_with_timestamps() -> Harness {
    let mut cfg = plain_config();
    cfg.timestamps = true;
    let mut h = Harness::accept(
        cfg,
        Seg {
            ts: Some((700, 0)),
            ..peer_syn()
        },
    );
    let syn_ack = h.poll().unwrap();
    let (ts_val, _) = syn_ack.ts.unwrap();
    h.advance(100);
    h.inject(Seg {
        win: 65535,
        ts: Some((701, ts_val)),
        ..peer_ack(ISS + 1)
    });
    assert_eq!(h.state(), State::Established);
    h
}

#[test]
fn after_a_timeout_one_full_segment_goes_and_no_runt() {
    // Found over TUN: cwnd counted 1460-byte SMSS while a segment with
    // timestamps carries 1448, so the one-segment window after an RTO went
    // out as 1448 bytes and a 12-byte runt.
    let mut h = established_with_timestamps();
    h.conn.set_nodelay(true);
    h.send(&[3; 20_000]);
    let first: Vec<usize> = std::iter::from_fn(|| h.poll())
        .map(|s| s.data.len())
        .collect();
    assert_eq!(
        first,
        vec![1448; 10],
        "the initial window: ten full segments"
    );
    h.advance_to_timer();
    let after: Vec<usize> = std::iter::from_fn(|| h.poll())
        .map(|s| s.data.len())
        .collect();
    assert_eq!(after, vec![1448], "one segment, no runt");
}

#[test]
fn an_abort_after_a_timeout_resets_from_the_highest_sequence_sent() {
    // Found over TUN: the RST carried SND.NXT as a timeout had rewound
    // it, left of the peer's window, so the peer dropped it (RFC 5961) and
    // stayed ESTABLISHED. Linux resets from the highest sequence it sent.
    let mut h = established_with(plain_config(), 100);
    h.conn.set_nodelay(true);
    h.send(&[3; 5000]);
    while h.poll().is_some() {}
    h.advance_to_timer();
    assert_eq!(h.poll().unwrap().seq, ISS + 1, "the retransmission");
    h.conn.abort();
    let rst = h.poll().unwrap();
    assert_eq!(rst.flags, Flags::RST);
    assert_eq!(rst.seq, ISS + 1 + 5000);
}

//= https://www.rfc-editor.org/rfc/rfc6298#section-3
//= type=test
//# RTT samples MUST NOT be made using segments that were
//# retransmitted (and thus for which it is ambiguous whether the reply
//# was for the first instance of the packet or a later instance).
#[test]
fn a_handshake_ack_long_after_the_syn_ack_is_no_rtt_sample() {
    // Found over TUN: the final ACK of the handshake was lost and the
    // peer's first data came 38 s later, echoing the first SYN-ACK's
    // timestamp: a 38 s "sample" put the RTO near two minutes. An echo
    // older than the retransmission timer that covered it says when the
    // peer last heard from us, not how far away it is.
    let mut cfg = plain_config();
    cfg.timestamps = true;
    let mut h = Harness::accept(
        cfg,
        Seg {
            ts: Some((700, 0)),
            ..peer_syn()
        },
    );
    h.advance(5);
    let (first_ts, _) = h.poll().unwrap().ts.unwrap();
    assert_ne!(first_ts, 0, "an echo of 0 is never used");
    // The SYN-ACK goes five more times (1, 3, 7, 15 and 31 s); the peer's
    // ACKs of those are lost too.
    h.advance(38_000);
    while h.poll().is_some() {}
    h.inject(Seg {
        ts: Some((38_700, first_ts)),
        ..peer_data(IRS + 1, b"late")
    });
    assert_eq!(h.state(), State::Established);
    assert_eq!(h.conn.srtt(), None, "no sample");
    assert_eq!(h.conn.rto().as_millis(), 1000, "the initial RTO again");
}
