//! Loss detection and recovery as Linux runs them: RACK's time-based marks
//! and reordering timer (RFC 8985 section 6), lost retransmissions found
//! without a timeout, PRR's sending pattern (RFC 6937), D-SACK both ways
//! (RFC 2883), and undoing a reduction that proves spurious: by D-SACK, by
//! the timestamp echo (RFC 3522 Eifel) and after a timeout by F-RTO (RFC
//! 5682). Every scenario runs with a 100 ms round trip: RACK reasons in time.

use super::harness::*;
use crate::tcp::TcpConfig;
use crate::tcp::congestion::CongestionAlgorithm;
use crate::wire::TcpFlags as Flags;

const MSS: u32 = 1460;
/// The payload of a segment with timestamps.
const TS_MSS: u32 = 1448;

fn config(sack: bool, timestamps: bool) -> TcpConfig {
    TcpConfig {
        sack,
        timestamps,
        nodelay: true,
        congestion: CongestionAlgorithm::NewReno,
        tlp: false,
        ..plain_config()
    }
}

/// ESTABLISHED after a 100 ms handshake round trip; the peer offers 65535
/// and SACK (and timestamps) as asked. The clock reads 100 ms.
fn open(sack: bool, timestamps: bool) -> Harness {
    let mut h = Harness::accept(
        config(sack, timestamps),
        Seg {
            sack_perm: sack,
            ts: timestamps.then_some((1, 0)),
            win: 65535,
            ..peer_syn()
        },
    );
    let syn_ack = h.poll().unwrap();
    h.advance(100);
    h.inject(Seg {
        win: 65535,
        ts: syn_ack.ts.map(|(val, _)| (2, val)),
        ..peer_ack(ISS + 1)
    });
    assert_eq!(h.conn.srtt().map(|d| d.as_millis()), Some(100));
    h
}

/// The start of our `i`-th segment of `mss` bytes.
fn at(i: u32, mss: u32) -> u32 {
    ISS + 1 + i * mss
}

fn s(i: u32) -> u32 {
    at(i, MSS)
}

/// An ACK of `ack` with SACK blocks, optionally echoing `ecr`.
fn ack(ack: u32, sack: &[(u32, u32)], ecr: Option<u32>) -> Seg {
    Seg {
        win: 65535,
        sack: sack.to_vec(),
        ts: ecr.map(|e| (3, e)),
        ..peer_ack(ack)
    }
}

/// Everything sent now, as (seq, len).
fn sent(h: &mut Harness) -> Vec<(u32, usize)> {
    std::iter::from_fn(|| h.poll())
        .map(|seg| (seg.seq, seg.data.len()))
        .collect()
}

//= https://www.rfc-editor.org/rfc/rfc8985#section-6.2
//= type=test
//# RACK.reo_wnd = RACK_update_reo_wnd()
#[test]
fn rack_waits_a_quarter_of_the_min_rtt_for_reordering_then_retransmits() {
    let mut h = open(true, false);
    h.send(&[1; 5 * MSS as usize]);
    assert_eq!(sent(&mut h).len(), 5);
    // A round trip later segment 1 is SACKed: 0 was sent before it, but
    // may only be late. RACK waits RACK.rtt + min_RTT / 4 from its
    // transmission: 25 ms more.
    h.advance(100);
    h.inject(ack(s(0), &[(s(1), s(2))], None));
    assert!(sent(&mut h).iter().all(|&(seq, _)| seq != s(0)));
    assert_eq!(h.advance_to_timer(), 25, "the reordering timer");
    assert_eq!(h.conn.stats().reo_timeouts, 1);
    assert_eq!(sent(&mut h).first(), Some(&(s(0), MSS as usize)));
    assert_eq!(h.conn.stats().recoveries, 1);
    assert_eq!(h.conn.stats().rto_fired, 0);
}

#[test]
fn a_late_segment_is_reordering_not_loss() {
    let mut h = open(true, false);
    h.send(&[1; 5 * MSS as usize]);
    sent(&mut h);
    h.advance(100);
    h.inject(ack(s(0), &[(s(1), s(2))], None));
    // Segment 0 turns up 10 ms late: no retransmission, no recovery.
    h.advance(10);
    h.inject(ack(s(2), &[], None));
    h.advance(100);
    h.inject(ack(s(5), &[], None));
    assert_eq!(h.conn.stats().retransmits, 0);
    assert_eq!(h.conn.stats().recoveries, 0);
    assert_eq!(h.conn.send_queue(), 0);
}

//= https://www.rfc-editor.org/rfc/rfc8985#section-6.2
//= type=test
//# If RACK_sent_after(RACK.xmit_ts, RACK.end_seq,
//#                    Segment.xmit_ts, Segment.end_seq):
#[test]
fn a_lost_retransmission_is_found_without_a_timeout() {
    // Found over TUN: a fast retransmission that was itself lost could
    // only be repaired by the retransmission timer.
    let mut h = open(true, false);
    h.send(&[1; 30 * MSS as usize]);
    assert_eq!(sent(&mut h).len(), 10);
    h.advance(100);
    // 0 is lost; 1, 2, 3 SACKed: recovery, 0 goes again (and is lost
    // again); PRR sends new data as 4..9 are SACKed.
    let mut out = Vec::new();
    for i in 1..10 {
        h.inject(ack(s(0), &[(s(1), s(i + 1))], None));
        out.extend(sent(&mut h));
    }
    assert_eq!(
        out.iter().filter(|&&(q, _)| q == s(0)).count(),
        1,
        "{out:?}"
    );
    let new: Vec<u32> = out
        .iter()
        .map(|&(q, _)| q)
        .filter(|&q| q >= s(10))
        .collect();
    assert!(!new.is_empty());
    // A round trip later the new data is SACKed (10 and 11 went by
    // limited transmit before the retransmission, 12 after it), not
    // segment 0: its retransmission was lost. It goes a third time at
    // once, long before any timeout.
    h.advance(100);
    h.inject(ack(s(0), &[(s(1), s(13))], None));
    let again = sent(&mut h);
    assert_eq!(
        again.first(),
        Some(&(s(0), MSS as usize)),
        "{out:?} then {again:?}"
    );
    assert_eq!(h.conn.stats().rto_fired, 0);
    assert_eq!(h.conn.stats().recoveries, 1, "one episode, one cut");
}

//= https://www.rfc-editor.org/rfc/rfc6937#section-3.1
//= type=test
//# sndcnt = CEIL(prr_delivered * ssthresh / RecoverFS) - prr_out
#[test]
fn prr_sends_one_segment_for_every_two_delivered() {
    let mut h = open(true, false);
    h.send(&[1; 40 * MSS as usize]);
    // Grow the window to 20 segments without loss.
    assert_eq!(sent(&mut h).len(), 10);
    h.advance(100);
    h.inject(ack(s(10), &[], None));
    assert_eq!(sent(&mut h).len(), 20);
    h.advance(100);
    // Segment 10 of the 20 in flight is lost; each further ACK SACKs one.
    let mut pattern = Vec::new();
    for i in 11..30 {
        h.inject(ack(s(10), &[(s(11), s(i + 1))], None));
        pattern.push(sent(&mut h).len());
    }
    // 22 segments out (two sent by limited transmit): ssthresh 11.
    assert_eq!(h.conn.ssthresh(), 11 * MSS as usize);
    // Limited transmit on the first two SACKs; on the third the
    // retransmission, then one new segment for every two delivered while
    // pipe is above ssthresh.
    assert_eq!(&pattern[..3], &[1, 1, 1], "{pattern:?}");
    let later: usize = pattern[3..].iter().sum();
    // 16 more delivered, 8 sent: half, down to ssthresh.
    assert_eq!(later, 8, "{pattern:?}");
    assert!(pattern[3..].iter().all(|&n| n <= 1), "{pattern:?}");
}

//= https://www.rfc-editor.org/rfc/rfc2883#section-4
//= type=test
//# (1) A D-SACK block is only used to report a duplicate contiguous
//# sequence of data received by the receiver in the most recent packet.
#[test]
fn a_duplicate_segment_is_reported_in_a_dsack_block() {
    let mut h = open(true, false);
    h.inject(peer_data(IRS + 1, &[5; 100]));
    h.advance(50);
    while h.poll().is_some() {}
    // All of it again: the ACK's first block is the duplicate.
    h.inject(peer_data(IRS + 1, &[5; 100]));
    let a = h.poll().unwrap();
    assert_eq!(a.ack, Some(IRS + 101));
    assert_eq!(a.sack, vec![(IRS + 1, IRS + 101)]);
    // Once only.
    h.inject(peer_data(IRS + 101, &[6; 10]));
    h.advance(50);
    let b = h.poll().unwrap();
    assert!(b.sack.is_empty(), "{b:?}");
    // Part old, part new: the old part.
    h.inject(peer_data(IRS + 51, &[5; 100]));
    let c = h.poll().unwrap();
    assert_eq!(c.sack, vec![(IRS + 51, IRS + 111)]);
    // A duplicate of out-of-order data: the D-SACK, then the block that
    // holds it.
    h.inject(peer_data(IRS + 1000, &[7; 100]));
    h.poll();
    h.inject(peer_data(IRS + 1020, &[7; 50]));
    let d = h.poll().unwrap();
    assert_eq!(
        d.sack,
        vec![(IRS + 1020, IRS + 1070), (IRS + 1000, IRS + 1100)]
    );
    assert_eq!(h.conn.stats().dsacks_sent, 3);
}

//= https://www.rfc-editor.org/rfc/rfc2883#section-4.3
//= type=test
//# A D-SACK can also be used to detect that a retransmission was
//# unnecessary, and the sender can use this information to undo
//# a congestion window reduction.
#[test]
fn dsack_of_every_retransmission_undoes_the_cut() {
    let mut h = open(true, false);
    h.send(&[1; 20 * MSS as usize]);
    assert_eq!(sent(&mut h).len(), 10);
    let cwnd = h.conn.cwnd();
    h.advance(100);
    // Segment 0 is only late: three SACKs send it again and cut cwnd.
    for i in 1..4 {
        h.inject(ack(s(0), &[(s(1), s(i + 1))], None));
        sent(&mut h);
    }
    assert_eq!(h.conn.stats().fast_retransmits, 1);
    assert!(h.conn.ssthresh() < cwnd);
    // The original arrives, then the retransmission: D-SACK.
    h.advance(5);
    h.inject(ack(s(4), &[], None));
    h.advance(95);
    h.inject(ack(s(4), &[(s(0), s(1))], None));
    assert_eq!(h.conn.stats().dsacks, 1);
    assert_eq!(h.conn.stats().undos, 1);
    assert!(h.conn.cwnd() >= cwnd, "{} < {cwnd}", h.conn.cwnd());
}

#[test]
fn a_recovery_over_before_anything_was_resent_is_undone() {
    let mut h = open(true, false);
    h.send(&[1; 20 * MSS as usize]);
    assert_eq!(sent(&mut h).len(), 10);
    let cwnd = h.conn.cwnd();
    h.advance(100);
    // Three SACKs mark segment 0 lost and cut the window, but the late
    // original fills the hole before the retransmission could go (found
    // in `berth sim --reorder 0.05`: such cuts were never undone).
    for i in 1..4 {
        h.inject(ack(s(0), &[(s(1), s(i + 1))], None));
    }
    assert_eq!(h.conn.stats().recoveries, 1);
    assert!(h.conn.ssthresh() < cwnd);
    h.inject(ack(s(10), &[], None));
    assert_eq!(h.conn.stats().retransmits, 0);
    assert_eq!(h.conn.stats().undos, 1);
    assert!(h.conn.cwnd() >= cwnd, "{} < {cwnd}", h.conn.cwnd());
}

#[test]
fn a_recovery_is_not_undone_before_its_retransmission_could_go() {
    let mut h = open(true, false);
    h.send(&[1; 20 * MSS as usize]);
    sent(&mut h);
    let cwnd = h.conn.cwnd();
    h.advance(100);
    for i in 1..4 {
        h.inject(ack(s(0), &[(s(1), s(i + 1))], None));
    }
    // A fourth SACK, the hole still open: the cut stands.
    h.inject(ack(s(0), &[(s(1), s(5))], None));
    assert_eq!(h.conn.stats().undos, 0);
    assert!(h.conn.ssthresh() < cwnd);
    assert_eq!(sent(&mut h).first(), Some(&(s(0), MSS as usize)));
}

//= https://www.rfc-editor.org/rfc/rfc3522#section-3.2
//= type=test
//# If the value of the Timestamp Echo Reply field is smaller than the
//# value of RetransmitTS, then proceed to step (4),
#[test]
fn eifel_undoes_a_fast_retransmit_the_timestamp_echo_shows_was_needless() {
    let mut h = open(true, true);
    h.send(&[1; 20 * TS_MSS as usize]);
    let first = std::iter::from_fn(|| h.poll()).collect::<Vec<_>>();
    assert_eq!(first.len(), 10);
    let (tsval, _) = first[0].ts.unwrap();
    let cwnd = h.conn.cwnd();
    h.advance(100);
    let a = |i: u32| at(i, TS_MSS);
    for i in 1..4 {
        h.inject(ack(a(0), &[(a(1), a(i + 1))], Some(tsval)));
        sent(&mut h);
    }
    assert_eq!(h.conn.stats().fast_retransmits, 1);
    // The original of segment 0 arrives: the ACK echoes its timestamp,
    // older than the retransmission's.
    h.advance(5);
    h.inject(ack(a(4), &[], Some(tsval)));
    assert_eq!(h.conn.stats().undos, 1);
    assert!(h.conn.cwnd() >= cwnd, "{} < {cwnd}", h.conn.cwnd());
}

//= https://www.rfc-editor.org/rfc/rfc5682#section-2.1
//= type=test
//# b) Else, if the acknowledgment advances the window (i.e., if the
//#    ACK acknowledges data that was not retransmitted after the
//#    timeout), the TCP sender SHOULD declare the timeout spurious,
#[test]
fn frto_finds_a_spurious_timeout_and_undoes_it() {
    // No SACK, no timestamps: only F-RTO can tell.
    let mut h = open(false, false);
    h.send(&[1; 30 * MSS as usize]);
    assert_eq!(sent(&mut h).len(), 10);
    let cwnd = h.conn.cwnd();
    // The path stalls past the RTO (300 ms): the first segment goes again.
    assert_eq!(h.advance_to_timer(), 300);
    assert_eq!(sent(&mut h), vec![(s(0), MSS as usize)]);
    // The first ACK: the delayed originals of 0 and 1. F-RTO sends new
    // data rather than retransmitting 2 and 3.
    h.advance(50);
    h.inject(ack(s(2), &[], None));
    let out = sent(&mut h);
    assert!(
        !out.is_empty() && out.iter().all(|&(seq, _)| seq >= s(10)),
        "{out:?}"
    );
    // The second ACK covers more originals: the timeout was spurious.
    h.advance(10);
    h.inject(ack(s(6), &[], None));
    assert_eq!(h.conn.stats().spurious_rtos, 1);
    assert_eq!(h.conn.stats().undos, 1);
    assert!(h.conn.cwnd() >= cwnd, "{} < {cwnd}", h.conn.cwnd());
    // Nothing below the new data goes again.
    assert!(sent(&mut h).iter().all(|&(seq, _)| seq >= s(10)));
}

#[test]
fn frto_lets_a_real_loss_go_on_in_slow_start() {
    let mut h = open(false, false);
    h.send(&[1; 30 * MSS as usize]);
    sent(&mut h);
    h.advance_to_timer();
    assert_eq!(sent(&mut h), vec![(s(0), MSS as usize)]);
    // 0 and 1 were lost; only the retransmission of 0 arrives.
    h.advance(100);
    h.inject(ack(s(1), &[], None));
    let out = sent(&mut h);
    assert!(out.iter().all(|&(seq, _)| seq >= s(10)), "{out:?}");
    // Duplicate ACKs for the new data: the loss was real.
    h.advance(100);
    h.inject(ack(s(1), &[], None));
    let out = sent(&mut h);
    assert_eq!(out.first(), Some(&(s(1), MSS as usize)), "{out:?}");
    assert_eq!(h.conn.stats().undos, 0);
}

#[test]
fn a_timeout_the_timestamp_echo_shows_spurious_is_undone() {
    let mut h = open(true, true);
    h.send(&[1; 20 * TS_MSS as usize]);
    let first = std::iter::from_fn(|| h.poll()).collect::<Vec<_>>();
    let (tsval, _) = first[0].ts.unwrap();
    let cwnd = h.conn.cwnd();
    h.advance_to_timer();
    assert_eq!(h.conn.stats().rto_fired, 1);
    sent(&mut h);
    // The ACK of the original, echoing its timestamp.
    h.advance(20);
    h.inject(ack(at(1, TS_MSS), &[], Some(tsval)));
    assert_eq!(h.conn.stats().spurious_rtos, 1);
    assert!(h.conn.cwnd() >= cwnd, "{} < {cwnd}", h.conn.cwnd());
}

#[test]
fn a_retransmission_keeps_the_push_flag() {
    // Retransmissions carry PSH where the original ended the queue.
    let mut h = open(false, false);
    h.send(b"hello");
    let first = h.poll().unwrap();
    assert!(first.flags.contains(Flags::PSH));
    h.advance_to_timer();
    assert_eq!(h.poll().unwrap(), first);
}

#[test]
fn a_recovery_probe_repairs_a_lost_retransmission_at_the_tail() {
    // Found in berth sim at 5% loss and a 100 µs RTT: the last hole's
    // retransmission was lost too, everything after it was SACKed and
    // nothing new was left to send: no delivery could show RACK the loss,
    // and the RTO (200 ms, two thousand round trips) was all that was left.
    let mut cfg = config(true, false);
    cfg.tlp = true;
    let mut h = Harness::accept(
        cfg,
        Seg {
            sack_perm: true,
            win: 65535,
            ..peer_syn()
        },
    );
    h.poll().unwrap();
    h.advance(100);
    h.inject(ack(ISS + 1, &[], None));
    h.send(&[1; 10 * MSS as usize]);
    assert_eq!(sent(&mut h).len(), 10);
    h.advance(100);
    // Segment 5 is lost; the rest arrive and are SACKed: recovery, 5 goes
    // again (and is lost again).
    for i in 6..10 {
        h.inject(ack(s(5), &[(s(6), s(i + 1))], None));
        // (acknowledging 0..5 first)
    }
    let out = sent(&mut h);
    assert_eq!(
        out.iter().filter(|&&(q, _)| q == s(5)).count(),
        1,
        "{out:?} {:?}",
        h.conn.stats()
    );
    h.inject(ack(s(5), &[(s(6), s(10))], None));
    assert!(sent(&mut h).is_empty());
    // Silence. Two smoothed RTTs and a millisecond later, a probe: the
    // last segment not SACKed, segment 5, a third time.
    let waited = h.advance_to_timer();
    assert!(waited < 300, "probe after {waited} ms, not the RTO");
    assert_eq!(sent(&mut h), vec![(s(5), MSS as usize)]);
    assert_eq!(h.conn.stats().rto_fired, 0);
    h.inject(ack(s(10), &[], None));
    assert_eq!(h.conn.send_queue(), 0);
}

#[test]
fn a_recovery_probe_goes_when_acks_stop_with_data_queued() {
    let mut cfg = config(true, false);
    cfg.tlp = true;
    let mut h = Harness::accept(
        cfg,
        Seg {
            sack_perm: true,
            win: 65535,
            ..peer_syn()
        },
    );
    // A 2 ms path: the RTO's 200 ms floor is a hundred round trips.
    h.poll().unwrap();
    h.advance(2);
    h.inject(ack(ISS + 1, &[], None));
    h.send(&[1; 40 * MSS as usize]);
    assert_eq!(sent(&mut h).len(), 10);
    h.advance(2);
    // Segment 0 is lost; 1..10 SACKed: recovery; 0 goes again and new
    // data under PRR; then every ACK is lost.
    for i in 1..10 {
        h.inject(ack(s(0), &[(s(1), s(i + 1))], None));
    }
    let out = sent(&mut h);
    assert!(out.iter().any(|&(q, _)| q == s(0)), "{out:?}");
    let waited = h.advance_to_timer();
    assert!(waited < 10, "probe after {waited} ms");
    let probe = sent(&mut h);
    assert_eq!(probe.len(), 1, "{probe:?}");
    assert_eq!(h.conn.stats().loss_probes, 1);
    // Silence again: the next probe, twice as late, resends the last
    // segment not SACKed (a duplicate draws an ACK at once).
    let again = h.advance_to_timer();
    assert!(again > waited && again < 20, "{again} after {waited}");
    let probe2 = sent(&mut h);
    assert_eq!(probe2.len(), 1, "{probe2:?}");
    assert_eq!(h.conn.stats().rto_fired, 0);
}

//= https://www.rfc-editor.org/rfc/rfc8985#section-6.2
//= type=test
//# If Segment.retransmitted is TRUE:
//#     If ACK.ts_option.echo_reply < Segment.xmit_ts:
//#        Return
//#     If rtt < RACK.min_rtt:
//#        Return
#[test]
fn a_sacked_loss_probe_still_shows_an_earlier_loss() {
    // Found at 5% loss over TUN with offloads: a long segment lost, the
    // segment after it (or its ACK) lost too, the loss probe resent that
    // one, and the ACK SACKing it came sooner than a round trip after the
    // probe: no RTT, so RACK learnt nothing and the long segment waited
    // for the RTO. Whichever copy arrived, it was sent no earlier than the
    // first: the segments sent before that are late all the same.
    let mut cfg = config(true, false);
    cfg.tlp = true;
    let mut h = Harness::accept(
        cfg,
        Seg {
            sack_perm: true,
            win: 65535,
            ..peer_syn()
        },
    );
    h.poll().unwrap();
    h.advance(100);
    h.inject(ack(ISS + 1, &[], None));
    h.send(&[1; 5 * MSS as usize]);
    assert_eq!(sent(&mut h).len(), 5);
    // Silence: the probe resends the last segment.
    let waited = h.advance_to_timer();
    assert!(waited < 300, "probe after {waited} ms, not the RTO");
    assert_eq!(sent(&mut h), vec![(s(4), MSS as usize)]);
    // 10 ms later (a tenth of the minimum RTT): segment 4 SACKed.
    h.advance(10);
    h.inject(ack(s(0), &[(s(4), s(5))], None));
    let out = sent(&mut h);
    assert_eq!(out.first(), Some(&(s(0), MSS as usize)), "{out:?}");
    assert_eq!(h.conn.stats().rto_fired, 0);
    assert_eq!(h.conn.stats().recoveries, 1);
}

#[test]
fn a_recovery_the_reordering_timer_starts_is_guarded_by_a_probe() {
    // Found in berth sim at 5% loss: RACK's timer marked segment 0 lost
    // and recovery began with no ACK in hand; its retransmission was lost,
    // and so were the ACKs after it. Nothing but the RTO was armed.
    let mut cfg = config(true, false);
    cfg.tlp = true;
    let mut h = Harness::accept(
        cfg,
        Seg {
            sack_perm: true,
            win: 65535,
            ..peer_syn()
        },
    );
    // A 10 ms path: the RTO's 200 ms floor is twenty round trips.
    h.poll().unwrap();
    h.advance(10);
    h.inject(ack(ISS + 1, &[], None));
    h.send(&[1; 5 * MSS as usize]);
    assert_eq!(sent(&mut h).len(), 5);
    h.advance(10);
    h.inject(ack(s(0), &[(s(1), s(2))], None));
    assert!(sent(&mut h).is_empty());
    assert!(h.advance_to_timer() <= 3, "the reordering timer");
    assert_eq!(sent(&mut h).first(), Some(&(s(0), MSS as usize)));
    assert_eq!(h.conn.stats().recoveries, 1);
    // Silence: a probe two smoothed RTTs and a millisecond later, not the
    // RTO.
    let waited = h.advance_to_timer();
    assert!(waited <= 25, "probe after {waited} ms, not the RTO");
    assert!(!sent(&mut h).is_empty());
    assert_eq!(h.conn.stats().rto_fired, 0);
    assert_eq!(h.conn.stats().loss_probes, 1);
}
