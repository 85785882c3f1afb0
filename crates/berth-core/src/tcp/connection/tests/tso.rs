//! TCP segmentation offload at the segment level: new data leaves in long
//! segments, but Nagle, retransmissions and the receiver's ACK clock behave
//! as they do with ordinary segments.

use super::harness::*;
use crate::tcp::State;
use crate::wire::{TcpFlags as Flags, TcpPacket};

/// Established with timestamps (so a full segment carries 1448 bytes), the
/// peer's window 65535 (no scaling), TSO as asked.
fn established(tso: bool) -> Harness {
    let mut cfg = plain_config();
    cfg.timestamps = true;
    cfg.tso = tso;
    let mut h = Harness::accept(
        cfg,
        Seg {
            ts: Some((100, 0)),
            win: 65535,
            ..peer_syn()
        },
    );
    h.room = 65535 - 20;
    let mut buf = vec![0; h.room];
    h.conn.poll_transmit(h.now, &mut buf).unwrap();
    h.advance(10);
    h.inject(Seg {
        ts: Some((101, 0)),
        win: 65535,
        ..peer_ack(ISS + 1)
    });
    assert_eq!(h.state(), State::Established);
    h
}

/// The data segments that go out now: (payload length, split size, flags).
fn drain(h: &mut Harness) -> Vec<(usize, Option<u16>, Flags)> {
    let mut out = Vec::new();
    let mut buf = vec![0; h.room];
    while let Some(n) = h.conn.poll_transmit(h.now, &mut buf) {
        let gso = h.conn.take_gso();
        let p = TcpPacket::new_checked(&buf[..n]).unwrap();
        let payload = n - usize::from(p.header_len());
        if payload == 0 {
            break;
        }
        out.push((payload, gso, p.flags()));
    }
    out
}

#[test]
fn new_data_leaves_in_long_segments_split_at_the_full_size() {
    let mut h = established(true);
    h.send(&[1u8; 20_000]);
    let out = drain(&mut h);
    // The initial window (10 segments of 1460) as one long segment of ten
    // whole 1448-byte segments: cut on a boundary, no PSH (more is queued).
    assert_eq!(out, [(10 * 1448, Some(1448), Flags::ACK)]);
}

/// Nagle compares with a full segment's payload (1448 with timestamps),
/// not the MSS: a full-sized segment is sent while data is in flight, TSO
/// or not.
#[test]
fn nagle_sends_a_full_segment_with_or_without_tso() {
    for tso in [false, true] {
        let mut h = established(tso);
        h.send(&[1u8; 3000]);
        assert!(!drain(&mut h).is_empty());
        h.send(&[2u8; 1448]);
        let second = drain(&mut h);
        assert_eq!(second.len(), 1, "tso {tso}: {second:?}");
        assert_eq!(second[0].0, 1448, "tso {tso}");
    }
}

/// After a timeout, and in fast recovery, lost data is resent one
/// ordinary segment at a time (its checksum, as every segment's with TSO,
/// left to the device: hence the split size, which it never reaches).
#[test]
fn retransmissions_are_single_segments() {
    let mut h = established(true);
    h.send(&[1u8; 20_000]);
    assert!(drain(&mut h).iter().any(|&(len, _, _)| len > 1448));
    h.advance_to_timer();
    let rto = drain(&mut h);
    assert!(!rto.is_empty());
    assert!(
        rto.iter()
            .all(|&(len, gso, _)| len <= 1448 && gso == Some(1448)),
        "{rto:?}"
    );

    let mut h = established(true);
    h.send(&[1u8; 14_000]);
    drain(&mut h);
    for i in 0..3 {
        h.inject(Seg {
            ts: Some((102 + i, 1010)),
            win: 65535,
            ..peer_ack(ISS + 1)
        });
    }
    let fast = drain(&mut h);
    assert!(!fast.is_empty());
    assert!(
        fast.iter()
            .all(|&(len, gso, _)| len <= 1448 && gso == Some(1448)),
        "{fast:?}"
    );
}

/// A receiver ACKs every second full segment; one unsplit segment of
/// several (GSO from a TUN device) does not raise what counts as full.
#[test]
fn an_unsplit_segment_keeps_the_ack_clock() {
    let mut counts = Vec::new();
    for gso_first in [false, true] {
        let mut h = established(false);
        let mut seq = IRS + 1;
        let mut tsval = 200;
        let mut acks = 0;
        let mut feed = |h: &mut Harness, len: usize, acks: &mut usize| {
            h.inject(Seg {
                ts: Some((tsval, 1000)),
                win: 65535,
                ..peer_data(seq, &vec![7u8; len])
            });
            seq += len as u32;
            tsval += 1;
            while let Some(s) = h.poll() {
                assert!(s.data.is_empty());
                *acks += 1;
            }
            h.read_all();
        };
        // Past the quick-ACK start.
        for _ in 0..40 {
            feed(&mut h, 1448, &mut acks);
        }
        if gso_first {
            feed(&mut h, 4 * 1448, &mut acks);
        }
        acks = 0;
        for _ in 0..20 {
            feed(&mut h, 1448, &mut acks);
        }
        counts.push(acks);
    }
    assert_eq!(counts, [10, 10]);
}

/// A write's end inside a long segment: the segment ends with the piece
/// that holds it (which carries PSH), every piece full-sized; the rest of
/// the queue follows at once, in full-sized pieces too. Ending the long
/// segment at the write end itself left runts, and Nagle held the next
/// write's runt behind an unacknowledged one.
#[test]
fn a_write_end_inside_a_long_segment_cuts_it_after_its_piece() {
    let mut h = established(true);
    h.send(&[1u8; 3000]);
    h.send(&[2u8; 500]);
    h.send(&[3u8; 6000]);
    let out = drain(&mut h);
    assert_eq!(
        out,
        [
            // Both write ends (3000, 3500) are in the first three pieces.
            (3 * 1448, Some(1448), Flags::ACK | Flags::PSH),
            // The rest, to the queue's end: only the last piece is short.
            (9500 - 3 * 1448, Some(1448), Flags::ACK | Flags::PSH),
        ]
    );
}

/// `TCP_CORK` with TSO: a long segment still ends on a segment boundary,
/// with no runt riding at its end (the tail waits corked).
#[test]
fn a_long_corked_segment_ends_on_a_segment_boundary() {
    let mut h = established(true);
    h.conn.set_cork(true);
    h.send(&[1u8; 3 * 1448 + 100]);
    assert_eq!(drain(&mut h), [(3 * 1448, Some(1448), Flags::ACK)]);
    h.conn.set_cork(false);
    assert_eq!(drain(&mut h), [(100, Some(1448), Flags::ACK | Flags::PSH)]);
}
