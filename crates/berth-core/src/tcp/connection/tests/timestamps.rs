//! RFC 7323 timestamps: TSopt on every segment, TS.Recent update rules, PAWS,
//! RTT measurement from the echo, and what Linux does when the peer stops
//! sending them (packetdrill `ts_recent/*`, gVisor `tcp_paws_mechanism`).

use super::harness::*;
use crate::tcp::State;
use crate::wire::TcpFlags as Flags;

/// An ESTABLISHED connection with timestamps on, at t = 1000 ms. The peer's
/// last TSval was 101 (TS.Recent); ours is the clock in milliseconds.
fn ts_established() -> Harness {
    let mut cfg = plain_config();
    cfg.timestamps = true;
    let mut h = Harness::accept(
        cfg,
        Seg {
            ts: Some((100, 0)),
            ..peer_syn()
        },
    );
    let syn_ack = h.poll().unwrap();
    assert_eq!(syn_ack.ts, Some((0, 100)));
    h.advance(1000);
    h.inject(Seg {
        ts: Some((101, 0)),
        ..peer_ack(ISS + 1)
    });
    assert_eq!(h.state(), State::Established);
    h
}

fn ts_data(seq: u32, tsval: u32, data: &[u8]) -> Seg {
    Seg {
        ts: Some((tsval, 1000)),
        ..peer_data(seq, data)
    }
}

/// The TSecr of the next segment out.
fn echo(h: &mut Harness) -> u32 {
    h.poll().expect("a segment").ts.expect("a timestamp").1
}

//= https://www.rfc-editor.org/rfc/rfc7323#section-3.2
//= type=test
//# Once TSopt has been successfully negotiated, that is both <SYN> and
//# <SYN,ACK> contain TSopt, the TSopt MUST be sent in every non-<RST>
//# segment for the duration of the connection
#[test]
fn every_segment_carries_timestamps() {
    let mut h = ts_established();
    h.inject(ts_data(IRS + 1, 150, b"abc"));
    h.expect(Seg {
        win: RECV_BUF as u16 - 3,
        ts: Some((1000, 150)),
        ..our_ack(ISS + 1, IRS + 4)
    });
    h.advance(7);
    h.conn.set_nodelay(true);
    h.send(b"x");
    assert_eq!(h.poll().unwrap().ts, Some((1007, 150)));
}

//= https://www.rfc-editor.org/rfc/rfc7323#section-5.3
//= type=test
//# R1) If there is a Timestamps option in the arriving segment, SEG.TSval <
//# TS.Recent, TS.Recent is valid (see later discussion), and if the RST bit
//# is not set, then treat the arriving segment as not acceptable:
//# Send an acknowledgment in reply as specified in Section 3.9 of
//# [RFC0793], page 69, and drop the segment.
#[test]
fn paws_drops_an_old_segment_and_acks() {
    // gVisor packetimpact tcp_paws_mechanism.
    let mut h = ts_established();
    h.inject(ts_data(IRS + 1, 200, b"new"));
    assert_eq!(echo(&mut h), 200);
    // A segment with an older TSval, in the window: dropped, and an ACK
    // says where we are.
    h.inject(ts_data(IRS + 4, 199, b"old"));
    h.expect(Seg {
        win: RECV_BUF as u16 - 3,
        ts: Some((1000, 200)),
        ..our_ack(ISS + 1, IRS + 4)
    });
    assert_eq!(h.conn.stats().paws_drops, 1);
    assert_eq!(h.read_all(), b"new");
    // The same bytes with a current TSval are taken.
    h.inject(ts_data(IRS + 4, 201, b"old"));
    assert_eq!(echo(&mut h), 201);
    assert_eq!(h.read_all(), b"old");
}

#[test]
fn paws_does_not_apply_to_resets() {
    // packetdrill ts_recent/reset_tsval: a RST with an old TSval is taken.
    let mut h = ts_established();
    h.inject(Seg {
        seq: IRS + 1,
        flags: Flags::RST,
        ts: Some((5, 0)),
        ..seg()
    });
    assert_eq!(h.state(), State::Closed);
}

#[test]
fn equal_tsval_is_not_old() {
    let mut h = ts_established();
    h.inject(ts_data(IRS + 1, 101, b"a"));
    h.inject(ts_data(IRS + 2, 101, b"b"));
    while h.poll().is_some() {}
    assert_eq!(h.read_all(), b"ab");
    assert_eq!(h.conn.stats().paws_drops, 0);
}

//= https://www.rfc-editor.org/rfc/rfc7323#section-4.3
//= type=test
//# (2)  If: SEG.TSval >= TS.Recent and SEG.SEQ <= Last.ACK.sent then
//# SEG.TSval is copied to TS.Recent; otherwise, it is ignored.
#[test]
fn ts_recent_is_not_taken_from_out_of_order_segments() {
    let mut h = ts_established();
    h.inject(ts_data(IRS + 1, 200, b"a"));
    assert_eq!(echo(&mut h), 200);
    //= https://www.rfc-editor.org/rfc/rfc7323#section-4.3
    //= type=test
    //# An <ACK> for an out-of-order segment SHOULD, therefore, contain the
    //# timestamp from the most recent segment that advanced RCV.NXT.
    h.inject(ts_data(IRS + 3, 300, b"c"));
    assert_eq!(echo(&mut h), 200);
    // The segment that fills the hole advances RCV.NXT: it is echoed.
    h.inject(ts_data(IRS + 2, 250, b"b"));
    assert_eq!(echo(&mut h), 250);
    assert_eq!(h.read_all(), b"abc");
}

#[test]
fn ts_recent_is_not_taken_from_a_segment_with_an_unacceptable_ack() {
    // packetdrill ts_recent/invalid_ack.
    let mut h = ts_established();
    h.inject(Seg {
        ack: Some(ISS + 10_000),
        ..ts_data(IRS + 1, 5000, b"")
    });
    assert_eq!(echo(&mut h), 101);
    h.inject(ts_data(IRS + 1, 150, b"x"));
    assert_eq!(echo(&mut h), 150);
}

#[test]
fn fin_tsval_is_echoed() {
    // packetdrill ts_recent/fin_tsval.
    let mut h = ts_established();
    h.inject(Seg {
        seq: IRS + 1,
        ack: Some(ISS + 1),
        flags: Flags::FIN,
        win: 8192,
        ts: Some((777, 1000)),
        ..seg()
    });
    assert_eq!(h.state(), State::CloseWait);
    assert_eq!(echo(&mut h), 777);
}

//= https://www.rfc-editor.org/rfc/rfc7323#section-4.1
//= type=test
//# A TSecr value received in a segment MAY be used to update the
//# averaged RTT measurement only if the segment advances the left edge
//# of the send window, i.e., SND.UNA is increased.
#[test]
fn rtt_is_measured_from_the_echo() {
    let mut h = ts_established();
    // The handshake's echo (TSecr 0 for the SYN-ACK's TSval 0) gives no sample.
    assert_eq!(h.conn.srtt(), None);
    h.conn.set_nodelay(true);
    h.send(b"ping");
    let out = h.poll().unwrap();
    assert_eq!(out.ts, Some((1000, 101)));
    h.advance(80);
    // A duplicate ACK echoing our TSval does not advance SND.UNA: no sample.
    h.inject(Seg {
        ts: Some((102, 1000)),
        ..peer_ack(ISS + 1)
    });
    assert_eq!(h.conn.srtt(), None);
    h.inject(Seg {
        ts: Some((103, 1000)),
        ..peer_ack(ISS + 5)
    });
    assert_eq!(h.conn.srtt().map(|d| d.as_millis()), Some(80));
}

#[test]
fn rtt_from_the_echo_survives_a_retransmission() {
    // Timestamps tell which transmission an ACK is for (RFC 7323 4.1, no
    // Karn ambiguity): the echo of the retransmission times it.
    let mut h = ts_established();
    h.conn.set_nodelay(true);
    h.send(b"ping");
    h.poll().unwrap();
    let rto = h.advance_to_timer();
    assert_eq!(rto, 1000);
    let rexmit = h.poll().unwrap();
    assert_eq!(rexmit.ts.map(|t| t.0), Some(2000));
    h.advance(30);
    h.inject(Seg {
        ts: Some((102, 2000)),
        ..peer_ack(ISS + 5)
    });
    assert_eq!(h.conn.srtt().map(|d| d.as_millis()), Some(30));
}

//= https://www.rfc-editor.org/rfc/rfc7323#section-3.2
//= type=test
//# If a non-<RST> segment is received without a TSopt, a TCP SHOULD
//# silently drop the segment.  A TCP MUST NOT abort a TCP connection
//# because any segment lacks an expected TSopt.
#[test]
fn peer_that_stops_sending_timestamps_is_accepted_like_linux() {
    // Linux (tcp_validate_incoming) accepts such segments; so do we.
    let mut h = ts_established();
    h.inject(ts_data(IRS + 1, 200, b"with"));
    assert_eq!(echo(&mut h), 200);
    h.inject(peer_data(IRS + 5, b"without"));
    // Acknowledged, still with our timestamps, echoing the last TS.Recent.
    let ack = h.poll().unwrap();
    assert_eq!(ack.ack, Some(IRS + 12));
    assert_eq!(ack.ts, Some((1000, 200)));
    assert_eq!(h.read_all(), b"withwithout");
    assert_eq!(h.state(), State::Established);
}

#[test]
fn timestamps_from_a_peer_that_did_not_negotiate_them_are_ignored() {
    let mut h = established();
    h.inject(Seg {
        ts: Some((1000, 0)),
        ..peer_data(IRS + 1, b"a")
    });
    h.inject(Seg {
        ts: Some((1, 0)),
        ..peer_data(IRS + 2, b"b")
    });
    let ack = h.poll().unwrap();
    assert_eq!(ack.ts, None);
    while h.poll().is_some() {}
    assert_eq!(h.read_all(), b"ab");
}

//= https://www.rfc-editor.org/rfc/rfc7323#section-5.5
//= type=test
//# We therefore require that an implementation of PAWS include a
//# mechanism to "invalidate" the TS.Recent value when a connection is
//# idle for more than 24 days.
#[test]
fn ts_recent_expires_after_24_days_idle() {
    let mut h = ts_established();
    h.inject(ts_data(IRS + 1, 0x7000_0000, b"a"));
    h.poll();
    h.advance(25 * 24 * 3600 * 1000);
    // A TSval that looks old (the peer's clock wrapped, or restarted).
    h.inject(ts_data(IRS + 2, 5, b"b"));
    h.poll();
    assert_eq!(h.read_all(), b"ab");
    assert_eq!(h.conn.stats().paws_drops, 0);
}

/// TIME-WAIT after an active close with timestamps; TS.Recent is 300.
fn ts_time_wait() -> Harness {
    let mut h = ts_established();
    h.conn.shutdown_write();
    h.poll();
    h.inject(Seg {
        ts: Some((300, 1000)),
        ..peer_fin_acking_ours()
    });
    h.poll();
    assert_eq!(h.state(), State::TimeWait);
    h
}

fn peer_fin_acking_ours() -> Seg {
    Seg {
        seq: IRS + 1,
        ack: Some(ISS + 2),
        flags: Flags::FIN,
        win: 8192,
        ..seg()
    }
}

//= https://www.rfc-editor.org/rfc/rfc6191#section-2
//= type=test
//# Otherwise, silently drop the incoming SYN segment, thus leaving
//# the previous incarnation of the connection in the TIME-WAIT
//# state.
#[test]
fn syn_with_an_old_timestamp_does_not_reopen_time_wait() {
    // Found reading the code against Linux's tcp_timewait_state_process: a
    // SYN past RCV.NXT reopened TIME-WAIT even when PAWS rejected its
    // timestamp. Linux requires !paws_reject (and then answers with an ACK).
    let mut h = ts_time_wait();
    let out = h.inject(Seg {
        seq: IRS + 100_000,
        ts: Some((200, 0)),
        ..peer_syn()
    });
    assert_eq!(out, crate::tcp::Outcome::Handled);
    assert_eq!(h.state(), State::TimeWait);
    assert_eq!(h.conn.stats().paws_drops, 1);
    let ack = h.poll().unwrap();
    assert_eq!((ack.ack, ack.ts.map(|t| t.1)), (Some(IRS + 2), Some(300)));
    // A newer timestamp (or none) with a higher sequence number reopens.
    let mut h = ts_time_wait();
    let out = h.inject(Seg {
        seq: IRS + 100_000,
        ts: Some((301, 0)),
        ..peer_syn()
    });
    assert_eq!(out, crate::tcp::Outcome::NewSynInTimeWait);
    let mut h = ts_time_wait();
    let out = h.inject(Seg {
        seq: IRS + 100_000,
        ..peer_syn()
    });
    assert_eq!(out, crate::tcp::Outcome::NewSynInTimeWait);
}

//= https://www.rfc-editor.org/rfc/rfc7323#section-3.2
//= type=test
//# the TSopt MUST be sent in every non-<RST>
//# segment for the duration of the connection, and SHOULD be sent in
//# an <RST> segment (see Section 5.2 for details).
#[test]
fn a_reset_carries_timestamps_once_negotiated() {
    // packetdrill: Linux's RST carries TSval and TSecr.
    let mut h = ts_established();
    h.advance(5);
    h.conn.abort();
    let rst = h.poll().unwrap();
    assert_eq!(rst.flags, Flags::RST);
    assert_eq!(rst.ts, Some((1005, 101)));
}
