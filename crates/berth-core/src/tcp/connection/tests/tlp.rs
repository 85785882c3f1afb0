//! Tail loss probes (RFC 8985 section 7): when the end of a flight goes
//! unanswered for two round trips, one segment goes out to draw an ACK, in
//! place of the retransmission timeout; an ACK that shows the probe
//! repaired a loss brings the congestion window down; a D-SACK that shows
//! it was not needed does not.

use super::harness::*;
use crate::tcp::TcpConfig;
use crate::tcp::congestion::CongestionAlgorithm;
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

/// ESTABLISHED with NewReno, SRTT 100 ms and a peer window of 65535.
fn open_wide(sack: bool) -> Harness {
    let mut h = Harness::accept(
        TcpConfig {
            congestion: CongestionAlgorithm::NewReno,
            ..tlp_config(sack)
        },
        Seg {
            sack_perm: sack,
            win: 65535,
            ..peer_syn()
        },
    );
    assert!(h.poll().is_some_and(|s| s.flags == Flags::SYN));
    h.advance(100);
    h.inject(Seg {
        win: 65535,
        ..peer_ack(ISS + 1)
    });
    h.expect_none();
    h
}

/// The start of our `i`-th full segment.
fn seg_at(i: u32) -> u32 {
    ISS + 1 + i * 1460
}

/// A peer ACK with the wide window and these SACK blocks.
fn wide_ack(ack: u32, sack: &[(u32, u32)]) -> Seg {
    Seg {
        win: 65535,
        sack: sack.to_vec(),
        ..peer_ack(ack)
    }
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

/// Only an ACK beyond a resending probe proves it repaired a loss
/// (Linux: `after(ack, tlp_high_seq)`): the window comes down, from the
/// flight the probe left in, not the empty flight after the ACK. A D-SACK
/// for the probe, or a pure duplicate ACK (original and probe both in),
/// clears it without a cut; an ACK exactly at its end decides nothing.
#[test]
fn only_an_ack_beyond_a_resending_probe_cuts_the_window() {
    // Repaired: the ACK goes beyond the probe (new data sent after it).
    let mut h = open_wide(true);
    h.send(&[1u8; 10 * 1460]);
    assert_eq!(sent(&mut h).len(), 10);
    let cwnd = h.conn.cwnd();
    h.advance_to_timer();
    let probe = h.poll().unwrap();
    assert_eq!(probe.seq, seg_at(9));
    // The ACK at the probe's end decides nothing yet...
    h.advance(100);
    h.inject(wide_ack(seg_at(10), &[]));
    assert_eq!(h.conn.stats().loss_probe_recoveries, 0);
    // ...the next one beyond it, without a D-SACK, does.
    h.send(b"after the probe");
    assert_eq!(sent(&mut h).len(), 1);
    h.advance(100);
    h.inject(wide_ack(seg_at(10) + 15, &[]));
    assert_eq!(h.conn.stats().loss_probe_recoveries, 1);
    assert!(
        h.conn.ssthresh() >= cwnd / 2,
        "ssthresh {} from cwnd {cwnd}",
        h.conn.ssthresh()
    );

    // Spurious: the original's ACK, late (at the probe's end), then the
    // D-SACK for the probe.
    let mut h = open_wide(true);
    h.send(&[1u8; 3 * 1460]);
    sent(&mut h);
    h.advance_to_timer();
    let probe = h.poll().unwrap();
    let end = probe.seq + probe.data.len() as u32;
    let cwnd = h.conn.cwnd();
    h.advance(30);
    h.inject(wide_ack(seg_at(3), &[]));
    h.advance(10);
    h.inject(wide_ack(seg_at(3), &[(probe.seq, end)]));
    assert_eq!(h.conn.stats().loss_probe_recoveries, 0);
    assert_eq!(h.conn.cwnd(), cwnd);

    // Both arrived, no SACK: a pure duplicate ACK clears the probe.
    let mut h = open_wide(false);
    h.send(&[1u8; 3 * 1460]);
    sent(&mut h);
    h.advance_to_timer();
    h.poll().unwrap();
    h.advance(30);
    h.inject(wide_ack(seg_at(3), &[]));
    h.inject(wide_ack(seg_at(3), &[]));
    h.send(b"more");
    sent(&mut h);
    h.advance(100);
    h.inject(wide_ack(seg_at(3) + 4, &[]));
    assert_eq!(h.conn.stats().loss_probe_recoveries, 0);
}

/// Fast recovery that follows a probe cuts the window once.
#[test]
fn a_probe_then_fast_recovery_cuts_once() {
    let mut h = open_wide(false);
    h.send(&[1u8; 10 * 1460]);
    assert_eq!(sent(&mut h).len(), 10);
    h.advance(100);
    h.inject(wide_ack(seg_at(1), &[]));
    h.advance(5);
    h.inject(wide_ack(seg_at(1), &[]));
    h.inject(wide_ack(seg_at(1), &[]));
    assert_eq!(h.advance_to_timer(), 195);
    assert_eq!(h.poll().unwrap().seq, seg_at(9));
    h.advance(100);
    // The probe's duplicate ACK is the third: fast recovery.
    h.inject(wide_ack(seg_at(1), &[]));
    assert_eq!(h.conn.stats().recoveries, 1);
    let ssthresh = h.conn.ssthresh();
    assert_eq!(h.poll().unwrap().seq, seg_at(1));
    h.advance(100);
    h.inject(wide_ack(seg_at(10), &[]));
    assert_eq!(h.conn.stats().loss_probe_recoveries, 0);
    assert_eq!(h.conn.ssthresh(), ssthresh);
}

/// No probe into a closed window, nor starting beyond a shrunk one
/// (Linux's __tcp_retransmit_skb refuses both).
#[test]
fn probes_stay_inside_the_peer_window() {
    let mut h = open_wide(false);
    h.send(&[1u8; 3 * 1460]);
    sent(&mut h);
    h.advance(50);
    h.inject(Seg {
        win: 0,
        ..peer_ack(ISS + 1)
    });
    h.advance_to_timer();
    assert!(h.poll().is_none_or(|s| s.data.is_empty()));
    assert_eq!(h.conn.stats().loss_probes, 0);

    let mut h = open_wide(false);
    h.send(&[1u8; 3 * 1460]);
    sent(&mut h);
    h.advance(100);
    h.inject(Seg {
        win: 1460,
        ..peer_ack(seg_at(1))
    });
    h.advance_to_timer();
    let right = seg_at(1) + 1460;
    assert!(h.poll().is_none_or(|p| p.data.is_empty() || p.seq < right));
}

/// With SACKed data outstanding there is no probe (RFC 8985 7.2).
#[test]
fn no_probe_with_sacked_data() {
    let mut h = open_wide(true);
    h.send(&[1u8; 4 * 1460]);
    assert_eq!(sent(&mut h).len(), 4);
    h.advance(100);
    h.inject(wide_ack(seg_at(1), &[]));
    h.advance(5);
    h.inject(wide_ack(seg_at(1), &[(seg_at(2), seg_at(3))]));
    h.inject(wide_ack(seg_at(1), &[(seg_at(2), seg_at(4))]));
    h.advance_to_timer();
    h.poll();
    assert_eq!(h.conn.stats().loss_probes, 0);
}

/// Unsent data the peer's window takes is the probe, past a congestion
/// window that is full.
#[test]
fn new_data_is_the_probe_when_the_window_allows() {
    let mut h = open_wide(false);
    h.send(&[1u8; 20_000]);
    let flight: usize = sent(&mut h).iter().map(|s| s.data.len()).sum();
    assert!(flight < 20_000);
    h.advance_to_timer();
    let probe = h.poll().unwrap();
    assert_eq!(
        (probe.seq, probe.data.len()),
        (ISS + 1 + flight as u32, 1460)
    );
    assert_eq!(h.conn.stats().loss_probes, 1);
}

/// After a path MTU drop rewinds SND.NXT, a probe does not skip what is
/// to be resent.
#[test]
fn a_probe_does_not_skip_a_pending_resend() {
    let mut h = open_wide(false);
    h.send(&[1u8; 30_000]);
    sent(&mut h);
    h.advance(150);
    h.conn.on_path_mtu(1000);
    let resent = sent(&mut h);
    let resent_end = resent.last().map(|s| s.seq + s.data.len() as u32).unwrap();
    h.advance_to_timer();
    h.poll();
    h.advance(100);
    h.inject(wide_ack(resent_end, &[]));
    let next = sent(&mut h);
    assert!(
        next.first().is_some_and(|s| s.seq == resent_end),
        "the resend resumes"
    );
}

/// No tail loss probe while fast recovery repairs losses (RFC 8985 7.2);
/// but if the ACKs stop, a recovery probe two smoothed RTTs after recovery
/// began, before the RTO (timers.rs, `arm_recovery_probe`).
#[test]
fn no_tail_probe_in_fast_recovery_but_a_recovery_probe() {
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
    assert_eq!(h.conn.stats().loss_probes, 0);
    assert_eq!(h.advance_to_timer(), 201, "a recovery probe, not the RTO");
    assert!(h.poll().is_some());
    assert_eq!(h.conn.stats().loss_probes, 1);
    assert_eq!(h.conn.stats().rto_fired, 0);
}
