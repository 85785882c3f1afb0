//! Resets and the RFC 5961 blind-attack defences: exact-match RST, challenge
//! ACKs for in-window RSTs and for SYNs, their rate limit, RFC 1337.

use super::harness::*;
use crate::tcp::{ConnError, State};
use crate::wire::TcpFlags as Flags;

fn peer_rst(seq: u32) -> Seg {
    Seg {
        seq,
        flags: Flags::RST,
        ..seg()
    }
}

//= https://www.rfc-editor.org/rfc/rfc5961#section-3.2
//= type=test
//# 2) If the RST bit is set and the sequence number exactly matches the
//#    next expected sequence number (RCV.NXT), then TCP MUST reset the
//#    connection.
#[test]
fn exact_reset_closes() {
    let mut h = established();
    h.inject(peer_rst(IRS + 1));
    assert_eq!(h.state(), State::Closed);
    assert_eq!(h.conn.error(), Some(ConnError::Reset));
    h.expect_none();
}

//= https://www.rfc-editor.org/rfc/rfc5961#section-3.2
//= type=test
//# 3) If the RST bit is set and the sequence number does not exactly
//#    match the next expected sequence value, yet is within the current
//#    receive window, TCP MUST send an acknowledgment (challenge ACK):
#[test]
fn in_window_reset_draws_a_challenge_ack() {
    let mut h = established();
    h.inject(peer_rst(IRS + 100));
    assert_eq!(h.state(), State::Established);
    h.expect(our_ack(ISS + 1, IRS + 1));
    assert_eq!(h.conn.stats().challenge_acks, 1);
    // A second one within 500 ms is not answered (rate limit).
    h.inject(peer_rst(IRS + 200));
    h.expect_none();
    h.advance(500);
    h.inject(peer_rst(IRS + 300));
    h.expect(our_ack(ISS + 1, IRS + 1));
}

//= https://www.rfc-editor.org/rfc/rfc5961#section-3.2
//= type=test
//# 1) If the RST bit is set and the sequence number is outside the
//#    current receive window, silently drop the segment.
#[test]
fn out_of_window_reset_is_ignored() {
    let mut h = established();
    h.inject(peer_rst(IRS + 1 + 100_000));
    assert_eq!(h.state(), State::Established);
    h.expect_none();
}

//= https://www.rfc-editor.org/rfc/rfc5961#section-4.2
//= type=test
//# 1) If the SYN bit is set, irrespective of the sequence number, TCP MUST
//# send an ACK (also referred to as challenge ACK) to the remote peer:
#[test]
fn syn_on_an_open_connection_draws_a_challenge_ack() {
    let mut h = established();
    h.inject(Seg {
        seq: IRS + 50,
        flags: Flags::SYN,
        win: 100,
        ..seg()
    });
    assert_eq!(h.state(), State::Established);
    h.expect(our_ack(ISS + 1, IRS + 1));
}

#[test]
fn ack_of_unsent_data_is_dropped_and_answered() {
    let mut h = established();
    h.inject(peer_data(IRS + 1, b"x").clone());
    h.poll();
    //= https://www.rfc-editor.org/rfc/rfc5961#section-5.2
    //= type=test
    //# All incoming segments whose ACK value doesn't satisfy the
    //# above condition MUST be discarded and an ACK sent back.
    h.inject(Seg {
        ack: Some(ISS + 5000),
        ..peer_data(IRS + 2, b"y")
    });
    assert_eq!(h.read_all(), b"x");
    assert_eq!(h.conn.stats().bad_acks, 1);
}

//= https://www.rfc-editor.org/rfc/rfc1337#section-3
//= type=test
//# (1)  Ignore RST segments in TIME-WAIT state.
#[test]
fn time_wait_ignores_reset() {
    let mut h = established();
    h.conn.shutdown_write();
    h.poll();
    h.inject(Seg {
        seq: IRS + 1,
        ack: Some(ISS + 2),
        flags: Flags::FIN,
        win: 100,
        ..seg()
    });
    assert_eq!(h.state(), State::TimeWait);
    h.poll();
    h.inject(peer_rst(IRS + 2));
    assert_eq!(h.state(), State::TimeWait);
}

#[test]
fn abort_sends_reset() {
    let mut h = established();
    h.conn.abort();
    h.expect(Seg {
        seq: ISS + 1,
        ack: Some(IRS + 1),
        flags: Flags::RST,
        ..seg()
    });
    assert_eq!(h.state(), State::Closed);
}
