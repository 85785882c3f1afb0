//! Tail loss probes (RFC 8985 section 7): when the end of a flight goes
//! unanswered for two round trips, one segment goes out to draw an ACK, in
//! place of the retransmission timeout; an ACK that shows the probe
//! repaired a loss brings the congestion window down; a D-SACK that shows
//! it was not needed does not.

use super::harness::*;
use crate::tcp::TcpConfig;
use crate::wire::TcpFlags as Flags;

fn tlp_config(sack: bool) -> TcpConfig {
    TcpConfig {
        tlp: true,
        sack,
        nodelay: true,
        ..plain_config()
    }
}

/// ESTABLISHED after a handshake round trip of `rtt_ms`, SACK if asked.
fn open(sack: bool, rtt_ms: u64) -> Harness {
    let mut h = Harness::accept(
        tlp_config(sack),
        Seg {
            sack_perm: sack,
            ..peer_syn()
        },
    );
    assert!(h.poll().is_some_and(|s| s.flags == Flags::SYN));
    h.advance(rtt_ms);
    h.inject(peer_ack(ISS + 1));
    h.expect_none();
    h
}

/// The data segments that go out now.
fn sent(h: &mut Harness) -> Vec<Seg> {
    std::iter::from_fn(|| h.poll())
        .take_while(|s| !s.data.is_empty())
        .collect()
}

//= https://www.rfc-editor.org/rfc/rfc8985#section-7.3
//= type=test
//# After attempting to send a loss probe, regardless of whether a loss
//# probe was sent, the sender MUST re-arm the RTO timer, not the PTO
//# timer, if the FlightSize is not zero.
#[test]
fn the_last_segment_is_probed_after_two_round_trips() {
    let mut h = open(false, 100);
    h.send(&[1u8; 3000]);
    let out = sent(&mut h);
    assert_eq!(out.len(), 3);
    // SRTT 100 ms: the probe is due at 200 ms, before the 300 ms RTO.
    assert_eq!(h.advance_to_timer(), 200);
    // The last segment's worth of data again: it ends where the flight
    // ends (Linux resends the last segment; a full one covers it too).
    let probe = h.poll().unwrap();
    let end = |s: &Seg| s.seq + s.data.len() as u32;
    assert_eq!(end(&probe), end(&out[2]));
    assert_eq!(probe.data.len(), 1460);
    assert_eq!(h.conn.stats().loss_probes, 1);
    assert_eq!(h.conn.stats().rto_fired, 0);
    // Then the RTO, a full RTO after the probe; no second probe.
    assert_eq!(h.advance_to_timer(), 300);
    assert_eq!(h.conn.stats().rto_fired, 1);
    assert_eq!(h.conn.stats().loss_probes, 1);
}

/// With one segment in flight the probe waits WCDelAckT (200 ms) more,
/// which is past the RTO here: it goes at the RTO's time, in its place.
#[test]
fn a_single_segment_is_probed_in_place_of_the_first_rto() {
    let mut h = open(false, 100);
    h.send(b"one segment");
    assert_eq!(sent(&mut h).len(), 1);
    assert_eq!(h.advance_to_timer(), 300);
    assert_eq!(h.poll().map(|s| s.data.len()), Some(11));
    assert_eq!(
        (h.conn.stats().loss_probes, h.conn.stats().rto_fired),
        (1, 0)
    );
    assert_eq!(h.advance_to_timer(), 300);
    assert_eq!(h.conn.stats().rto_fired, 1);
}

/// A probe whose ACK covers it without a D-SACK repaired a loss: the
/// congestion window comes down. One the peer reports as a duplicate
/// (D-SACK) was not needed: the window stands.
#[test]
fn a_repairing_probe_cuts_the_window_a_duplicate_one_does_not() {
    for dsack in [false, true] {
        let mut h = open(true, 100);
        h.send(&[1u8; 3000]);
        let out = sent(&mut h);
        h.advance_to_timer();
        let probe = h.poll().unwrap();
        let cwnd = h.conn.cwnd();
        h.advance(100);
        let end = probe.seq + probe.data.len() as u32;
        h.inject(Seg {
            sack: if dsack {
                vec![(probe.seq, end)]
            } else {
                Vec::new()
            },
            ..peer_ack(out[2].seq + out[2].data.len() as u32)
        });
        let cut = h.conn.cwnd() < cwnd;
        assert_eq!(
            cut,
            !dsack,
            "dsack {dsack}: cwnd {cwnd} -> {}",
            h.conn.cwnd()
        );
        assert_eq!(h.conn.stats().loss_probe_recoveries, u64::from(!dsack));
    }
}

/// Unsent data the peer's window takes goes out as the probe, however
/// full the congestion window is.
#[test]
fn new_data_is_the_probe_when_the_window_allows() {
    let mut h = open(false, 100);
    // The peer's window (8192) is larger than the initial congestion
    // window here only if the latter is small: fill cwnd with data first.
    let cwnd = h.conn.cwnd();
    let queued = (cwnd + 1000).min(8000);
    h.send(&vec![2u8; queued]);
    let out = sent(&mut h);
    let flight: usize = out.iter().map(|s| s.data.len()).sum();
    if flight >= queued {
        // The congestion window took it all: nothing new to probe with.
        return;
    }
    h.advance_to_timer();
    let probe = h.poll().unwrap();
    assert_eq!(
        probe.seq,
        ISS + 1 + flight as u32,
        "new data, right after the flight"
    );
}

/// No probe while fast recovery repairs losses.
#[test]
fn no_probe_in_fast_recovery() {
    let mut h = open(false, 100);
    h.send(&[1u8; 5000]);
    let out = sent(&mut h);
    assert!(out.len() >= 4);
    for _ in 0..3 {
        h.inject(peer_ack(ISS + 1));
    }
    // Fast retransmit of the first segment.
    let rexmit = h.poll().unwrap();
    assert_eq!(rexmit.seq, ISS + 1);
    assert_eq!(h.advance_to_timer(), 300, "the RTO, not a probe");
    assert_eq!(h.conn.stats().loss_probes, 0);
}
