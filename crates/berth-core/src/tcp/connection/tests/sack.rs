//! Loss recovery: the SACK blocks we send (RFC 2018), SACK-based recovery as
//! sender (RFC 6675: IsLost, NextSeg, pipe), limited transmit (RFC 3042),
//! NewReno partial ACKs (RFC 6582). packetdrill `fast_retransmit/*`,
//! `limited_transmit/*`, `sack/*`.

use super::harness::*;
use crate::tcp::State;
use crate::tcp::config::TcpConfig;
use crate::tcp::congestion::CongestionAlgorithm;

const MSS: u32 = 1460;

fn config(sack: bool) -> TcpConfig {
    TcpConfig {
        sack,
        congestion: CongestionAlgorithm::NewReno,
        nodelay: true,
        ..plain_config()
    }
}

/// ESTABLISHED with SACK (if `sack`) and NewReno; the peer offers 65535;
/// the handshake measured an RTT of 100 ms.
fn open(sack: bool) -> Harness {
    let mut h = Harness::accept(
        config(sack),
        Seg {
            sack_perm: sack,
            ..peer_syn()
        },
    );
    h.poll().unwrap();
    h.advance(100);
    h.inject(Seg {
        win: 65535,
        ..peer_ack(ISS + 1)
    });
    assert_eq!(h.state(), State::Established);
    h
}

/// The start of our `i`th full segment.
fn s(i: u32) -> u32 {
    ISS + 1 + i * MSS
}

/// A duplicate ACK of SND.UNA = `s(0)` plus `sack` blocks, or any ACK.
fn ack_with(ack: u32, sack: &[(u32, u32)]) -> Seg {
    Seg {
        win: 65535,
        sack: sack.to_vec(),
        ..peer_ack(ack)
    }
}

/// Everything sent now, as (seq, len).
fn sent(h: &mut Harness) -> Vec<(u32, usize)> {
    std::iter::from_fn(|| h.poll())
        .map(|seg| (seg.seq, seg.data.len()))
        .collect()
}

//= https://www.rfc-editor.org/rfc/rfc2018#section-4
//= type=test
//# The first SACK block (i.e., the one immediately following the
//# kind and length fields in the option) MUST specify the contiguous
//# block of data containing the segment which triggered this ACK,
#[test]
fn sack_blocks_are_sent_most_recent_first() {
    let mut h = open(true);
    let d = |i: u32| peer_data(IRS + 1 + i * 100, &[1; 100]);
    h.inject(d(2));
    h.expect(Seg {
        sack: vec![(IRS + 201, IRS + 301)],
        ..our_ack(ISS + 1, IRS + 1)
    });
    h.inject(d(4));
    h.expect(Seg {
        sack: vec![(IRS + 401, IRS + 501), (IRS + 201, IRS + 301)],
        ..our_ack(ISS + 1, IRS + 1)
    });
    h.inject(d(6));
    h.expect(Seg {
        sack: vec![
            (IRS + 601, IRS + 701),
            (IRS + 401, IRS + 501),
            (IRS + 201, IRS + 301),
        ],
        ..our_ack(ISS + 1, IRS + 1)
    });
    // A segment that extends the oldest block moves it to the front.
    h.inject(d(3));
    h.expect(Seg {
        sack: vec![(IRS + 201, IRS + 501), (IRS + 601, IRS + 701)],
        ..our_ack(ISS + 1, IRS + 1)
    });
    // Filling the first hole acknowledges up to the next one.
    h.inject(d(0));
    h.inject(d(1));
    let last = sent(&mut h);
    assert!(!last.is_empty());
    assert_eq!(h.read_all().len(), 500);
}

#[test]
fn at_most_four_blocks_without_timestamps_three_with() {
    let mut h = open(true);
    for i in 0..6u32 {
        h.inject(peer_data(IRS + 1 + (2 * i + 1) * 10, &[1; 10]));
    }
    let acks: Vec<Seg> = std::iter::from_fn(|| h.poll()).collect();
    let last = acks.last().unwrap();
    assert_eq!(last.sack.len(), 4);
    assert_eq!(last.sack[0], (IRS + 111, IRS + 121));

    let mut cfg = config(true);
    cfg.timestamps = true;
    let mut h = Harness::accept(
        cfg,
        Seg {
            sack_perm: true,
            ts: Some((1, 0)),
            ..peer_syn()
        },
    );
    h.poll();
    h.inject(Seg {
        ts: Some((2, 0)),
        ..peer_ack(ISS + 1)
    });
    for i in 0..6u32 {
        h.inject(Seg {
            ts: Some((3, 0)),
            ..peer_data(IRS + 1 + (2 * i + 1) * 10, &[1; 10])
        });
    }
    let acks: Vec<Seg> = std::iter::from_fn(|| h.poll()).collect();
    assert_eq!(acks.last().unwrap().sack.len(), 3);
}

//= https://www.rfc-editor.org/rfc/rfc6675#section-5
//= type=test
//# (4.3) Retransmit the first data segment presumed dropped -- the
//#       segment starting with sequence number HighACK + 1.
#[test]
fn sack_recovery_retransmits_the_hole_then_sends_as_pipe_allows() {
    let mut h = open(true);
    h.send(&[7; 20 * MSS as usize]);
    let first = sent(&mut h);
    assert_eq!(first.len(), 10, "initial window: 10 segments");
    // Segment 0 is lost; 1.. arrive and are SACKed, a round trip later.
    // RACK waits a quarter of the minimum RTT for segment 0 to turn up
    // until three segments are SACKed above it.
    h.advance(100);
    for i in 1..=3 {
        h.inject(ack_with(s(0), &[(s(1), s(i + 1))]));
        if i < 3 {
            // Limited transmit: one new segment per early duplicate ACK.
            assert_eq!(sent(&mut h), [(s(9 + i), MSS as usize)]);
        }
    }
    // The third SACKed segment: RACK marks the hole lost at once, and
    // recovery starts with it.
    assert_eq!(sent(&mut h), [(s(0), MSS as usize)]);
    assert_eq!(h.conn.stats().sack_recoveries, 1);
    // NewReno on entry: ssthresh = FlightSize / 2 (12 segments out).
    assert_eq!(h.conn.ssthresh(), 6 * MSS as usize);
    // Each further SACKed segment delivers one. PRR sends one new segment
    // for every two delivered (ssthresh / RecoverFS = 1/2) while pipe is
    // above ssthresh; once it is down to ssthresh (6 segments), one per
    // segment delivered (PRR-SSRB), never a SACKed segment.
    let mut new = Vec::new();
    for i in 4..=11 {
        if i == 10 {
            // The limited-transmit segments were sent a round trip ago.
            h.advance(100);
        }
        h.inject(ack_with(s(0), &[(s(1), s(i + 1))]));
        new.extend(sent(&mut h));
    }
    assert!(new.iter().all(|&(seq, _)| seq >= s(12)), "{new:?}");
    assert_eq!(new.len(), 5, "{new:?}");
    // The full ACK ends recovery.
    h.inject(ack_with(s(12 + 5), &[]));
    //= https://www.rfc-editor.org/rfc/rfc6582#section-3.2
    //= type=test
    //# or (2) ssthresh, where ssthresh is the value set when fast
    //# retransmit was entered
    assert_eq!(h.conn.cwnd(), 6 * MSS as usize);
    // The rest of the 20 segments (3) goes at once.
    assert_eq!(sent(&mut h).len(), 3);
}

#[test]
fn sack_recovery_retransmits_every_lost_hole_before_new_data() {
    let mut h = open(true);
    h.send(&[7; 10 * MSS as usize]);
    assert_eq!(sent(&mut h).len(), 10);
    // Segments 0 and 4 are lost.
    let blocks = |hi: u32| {
        if hi <= 4 {
            vec![(s(1), s(hi))]
        } else {
            vec![(s(5), s(hi)), (s(1), s(4))]
        }
    };
    for hi in [2, 3, 4, 6, 7, 8] {
        h.inject(ack_with(s(0), &blocks(hi)));
    }
    let out = sent(&mut h);
    // RFC 6675 NextSeg rule 1: both holes (now IsLost) go first.
    let rexmits: Vec<u32> = out
        .iter()
        .map(|&(seq, _)| seq)
        .filter(|&q| q < s(10))
        .collect();
    assert_eq!(&rexmits[..2], &[s(0), s(4)], "{out:?}");
}

//= https://www.rfc-editor.org/rfc/rfc3042#section-2
//= type=test
//# The amount of outstanding data would remain less than or equal
//# to the congestion window plus 2 segments.
#[test]
fn limited_transmit_sends_new_data_on_the_first_two_duplicate_acks() {
    let mut h = open(false);
    h.send(&[7; 14 * MSS as usize]);
    assert_eq!(sent(&mut h).len(), 10);
    h.inject(ack_with(s(0), &[]));
    assert_eq!(sent(&mut h), [(s(10), MSS as usize)]);
    h.inject(ack_with(s(0), &[]));
    assert_eq!(sent(&mut h), [(s(11), MSS as usize)]);
    // The third: fast retransmit, nothing new.
    h.inject(ack_with(s(0), &[]));
    assert_eq!(sent(&mut h), [(s(0), MSS as usize)]);
    assert_eq!(h.conn.stats().fast_retransmits, 1);
}

//= https://www.rfc-editor.org/rfc/rfc6582#section-3.2
//= type=test
//# If this ACK does *not* acknowledge all of the data up to and
//# including recover, then this is a partial ACK.  In this case,
//# retransmit the first unacknowledged segment.
#[test]
fn newreno_partial_ack_retransmits_the_next_hole() {
    let mut h = open(false);
    h.send(&[7; 10 * MSS as usize]);
    assert_eq!(sent(&mut h).len(), 10);
    // Segments 0 and 4 are lost: duplicate ACKs for 1, 2, 3, ...
    for _ in 0..3 {
        h.inject(ack_with(s(0), &[]));
        let _ = sent(&mut h);
    }
    assert_eq!(h.conn.stats().fast_retransmits, 1);
    for _ in 0..5 {
        h.inject(ack_with(s(0), &[]));
        let _ = sent(&mut h);
    }
    // The retransmission of 0 arrives: a partial ACK up to the hole at 4.
    h.inject(ack_with(s(4), &[]));
    let out = sent(&mut h);
    assert_eq!(out.first(), Some(&(s(4), MSS as usize)), "{out:?}");
    assert_eq!(h.conn.stats().recoveries, 1, "still the same recovery");
    // The full ACK (past recover) ends it; duplicate ACKs below recover
    // would not start another.
    let high = s(10) + out.iter().filter(|&&(q, _)| q >= s(10)).count() as u32 * MSS;
    h.inject(ack_with(high, &[]));
    assert_eq!(h.conn.send_queue(), 0);
}

#[test]
fn duplicate_acks_after_a_timeout_do_not_start_recovery_below_recover() {
    // RFC 6582 3.2 (1): "recover" after an RTO keeps the old window's
    // duplicate ACKs from starting a new fast retransmit.
    let mut h = open(false);
    h.send(&[7; 4 * MSS as usize]);
    assert_eq!(sent(&mut h).len(), 4);
    h.advance_to_timer();
    assert_eq!(sent(&mut h), [(s(0), MSS as usize)]);
    // The original segments 1..3 arrive late and draw duplicate ACKs.
    for _ in 0..3 {
        h.inject(ack_with(s(0), &[]));
    }
    let _ = sent(&mut h);
    assert_eq!(h.conn.stats().fast_retransmits, 0);
    assert_eq!(h.conn.stats().recoveries, 0);
}

#[test]
fn a_retransmission_never_carries_data_that_was_never_sent() {
    // Found by the fuzzer: the segment at SND.UNA was short (cut to the
    // peer's 257-byte window); the fast retransmit resent it as a full SMSS,
    // 257 octets sent before plus 1203 never sent, past the peer's window.
    let mut h = Harness::accept(
        config(false),
        Seg {
            win: 257,
            ..peer_syn()
        },
    );
    h.poll().unwrap();
    let ack = Seg {
        win: 257,
        ..peer_ack(ISS + 1)
    };
    h.inject(ack.clone());
    h.send(&[7; 3000]);
    assert_eq!(sent(&mut h), [(ISS + 1, 257)]);
    for _ in 0..3 {
        h.inject(ack.clone());
    }
    assert_eq!(sent(&mut h), [(ISS + 1, 257)]);
    assert_eq!(h.conn.stats().fast_retransmits, 1);
}

/// The listener of packetdrill's scripts: the peer offers MSS `mss`,
/// SACK, window scale 7 and a window of 32792; its ACK says `win` << 7.
fn packetdrill_open(mss: u16, win: u16) -> Harness {
    let mut cfg = config(true);
    cfg.window_scaling = true;
    cfg.nodelay = false;
    let mut h = Harness::accept(
        cfg,
        Seg {
            mss: Some(mss),
            sack_perm: true,
            ws: Some(7),
            win: 32792,
            ..peer_syn()
        },
    );
    let syn_ack = h.poll().unwrap();
    assert!(syn_ack.sack_perm && syn_ack.ws.is_some());
    h.advance(100);
    h.inject(Seg {
        win,
        ..peer_ack(ISS + 1)
    });
    h
}

#[test]
fn packetdrill_fr_4pkt_sack() {
    // packetdrill gtests/net/tcp/fast_retransmit/fr-4pkt-sack.pkt
    let mut h = packetdrill_open(1460, 257);
    h.send(&[0; 5840]);
    assert_eq!(
        sent(&mut h),
        [(s(0), 1460), (s(1), 1460), (s(2), 1460), (s(3), 1460)]
    );
    h.advance(100);
    for hi in [2, 3, 4] {
        h.inject(Seg {
            win: 257,
            ..ack_with(s(0), &[(s(1), s(hi))])
        });
    }
    // Three duplicate ACKs: fast retransmit of the first segment.
    assert_eq!(sent(&mut h), [(s(0), 1460)]);
    h.advance(100);
    h.inject(Seg {
        win: 257,
        ..ack_with(s(4), &[])
    });
    h.advance(100);
    h.conn.close(h.now);
    let fin = h.poll().unwrap();
    assert_eq!((fin.seq, fin.flags), (s(4), crate::wire::TcpFlags::FIN));
    h.inject(Seg {
        seq: IRS + 1,
        ack: Some(s(4) + 1),
        flags: crate::wire::TcpFlags::FIN,
        win: 257,
        ..seg()
    });
    let ack = h.poll().unwrap();
    assert_eq!((ack.seq, ack.ack), (s(4) + 1, Some(IRS + 2)));
    assert_eq!(h.state(), State::TimeWait);
}

#[test]
fn packetdrill_limited_transmit_sack() {
    // packetdrill gtests/net/tcp/limited_transmit/limited-transmit-sack.pkt:
    // reordering, not loss. Two duplicate ACKs each release one new
    // segment; the cumulative ACK then ends it without a retransmission.
    let mut h = packetdrill_open(1000, 320);
    let k = |i: u32| ISS + 1 + i * 1000;
    h.send(&[0; 15_000]);
    assert_eq!(sent(&mut h).len(), 10, "IW10 of 1000-byte segments");
    h.advance(110);
    h.inject(Seg {
        win: 320,
        ..ack_with(k(0), &[(k(1), k(2))])
    });
    assert_eq!(sent(&mut h), [(k(10), 1000)]);
    h.advance(10);
    h.inject(Seg {
        win: 320,
        ..ack_with(k(0), &[(k(1), k(3))])
    });
    assert_eq!(sent(&mut h), [(k(11), 1000)]);
    h.advance(10);
    h.inject(Seg {
        win: 320,
        ..ack_with(k(3), &[])
    });
    let out = sent(&mut h);
    assert_eq!(out.first(), Some(&(k(12), 1000)), "{out:?}");
    for ack in [5, 7, 9, 11, 13, 15] {
        h.advance(20);
        h.inject(Seg {
            win: 320,
            ..ack_with(k(ack), &[])
        });
        let _ = sent(&mut h);
    }
    assert_eq!(h.conn.send_queue(), 0);
    assert_eq!(h.conn.stats().retransmits, 0);
    assert_eq!(h.conn.stats().recoveries, 0);
}

#[test]
fn a_lower_path_mtu_during_recovery_does_not_flood() {
    // Found by the fuzzer: on_path_mtu rewound SND.NXT to SND.UNA while in
    // SACK recovery, where the sending limit is cwnd - pipe and pipe does
    // not count what poll_data resends below SND.MAX: thousands of tiny
    // "retransmissions" in one burst (cwnd 467, 4096 one-byte segments).
    let mut h = open(true);
    h.send(&[7; 10 * MSS as usize]);
    assert_eq!(sent(&mut h).len(), 10);
    // Everything but segment 0 is SACKed: pipe is the one retransmission.
    for hi in 2..=10 {
        h.inject(ack_with(s(0), &[(s(1), s(hi))]));
        let _ = sent(&mut h);
    }
    assert_eq!(h.conn.stats().sack_recoveries, 1);
    let cwnd = h.conn.cwnd();
    h.conn.on_path_mtu(500);
    let out = sent(&mut h);
    let bytes: usize = out.iter().map(|&(_, len)| len).sum();
    assert!(
        bytes <= cwnd,
        "{bytes} bytes resent with cwnd {cwnd}: {out:?}"
    );
    // Recovery goes on with the smaller segments.
    h.inject(ack_with(s(0), &[(s(1), s(10))]));
    assert!(sent(&mut h).iter().all(|&(_, len)| len <= 500));
}
