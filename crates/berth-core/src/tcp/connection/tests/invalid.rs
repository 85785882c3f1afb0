//! Unacceptable segments in the synchronized states (RFC 9293 3.10.7.4
//! "First, check sequence number"; RFC 5961 sections 4, 5 and 7): gVisor
//! packetimpact `tcp_outside_the_window`, `tcp_unacc_seq_ack`,
//! `tcp_close_wait_ack`, the challenge ACK rate limit, and the reset owed
//! to a segment that reaches no connection (`tcp_syn_reset`).

use test_case::test_case;

use super::harness::*;
use super::states::{close_wait, fin_wait_2, last_ack};
use crate::tcp::State;
use crate::tcp::segment::{Segment, reset_for};
use crate::tcp::seq::{SeqNum, UnscaledWindowSize};
use crate::wire::TcpFlags as Flags;

//= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
//= type=test
//# If an incoming segment is not acceptable, an acknowledgment should be
//# sent in reply (unless the RST bit is set, if so drop the segment and
//# return):
//#
//# <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>
#[test_case(-1, true; "one before rcv_nxt")]
#[test_case(-100, true; "well before")]
#[test_case(RECV_BUF as i64, true; "at the right edge")]
#[test_case(RECV_BUF as i64 + 10, true; "past the right edge")]
#[test_case(0, false; "at rcv_nxt")]
#[test_case(RECV_BUF as i64 - 1, false; "last octet of the window")]
fn data_outside_the_window_is_acked_not_queued(offset: i64, outside: bool) {
    // gVisor packetimpact tcp_outside_the_window / tcp_unacc_seq_ack.
    let mut h = established();
    let seq = (i64::from(IRS + 1) + offset) as u32;
    h.inject(peer_data(seq, b"x"));
    let out = h.poll().unwrap();
    if outside {
        assert_eq!(out, our_ack(ISS + 1, IRS + 1));
        assert_eq!(h.conn.stats().out_of_window, 1);
    } else {
        assert_eq!(h.conn.stats().out_of_window, 0);
    }
    assert_eq!(h.read_all().len(), usize::from(offset == 0));
}

//= https://www.rfc-editor.org/rfc/rfc5961#section-5.2
//= type=test
//# The ACK value is considered acceptable only if
//# it is in the range of ((SND.UNA - MAX.SND.WND) =< SEG.ACK =<
//# SND.NXT).
#[test_case(1, true; "one past snd_nxt")]
#[test_case(100_000, true; "far past")]
#[test_case(-8192, false; "snd_una less max_snd_wnd")]
#[test_case(-8193, true; "older than that")]
fn unacceptable_ack_draws_an_ack(offset: i64, drops: bool) {
    let mut h = established();
    let ack = (i64::from(ISS + 1) + offset) as u32;
    h.inject(Seg {
        ack: Some(ack),
        ..peer_data(IRS + 1, b"y")
    });
    assert_eq!(h.conn.stats().bad_acks, u64::from(drops));
    let out = h.poll().unwrap();
    assert_eq!(out.ack, Some(if drops { IRS + 1 } else { IRS + 2 }));
    assert_eq!(h.read_all().len(), usize::from(!drops));
    assert_eq!(h.state(), State::Established);
}

#[test]
fn close_wait_answers_an_unacceptable_ack() {
    // gVisor packetimpact tcp_close_wait_ack.
    let mut h = close_wait();
    h.inject(Seg {
        seq: IRS + 2,
        ..peer_ack(ISS + 1 + 1000)
    });
    h.expect(Seg {
        win: RECV_BUF as u16 - 1,
        ..our_ack(ISS + 1, IRS + 2)
    });
    assert_eq!(h.state(), State::CloseWait);
    // And it still sends data with the right numbers.
    h.conn.set_nodelay(true);
    h.send(b"reply");
    let s = h.poll().unwrap();
    assert_eq!(
        (s.seq, s.ack, s.data.as_slice()),
        (ISS + 1, Some(IRS + 2), &b"reply"[..])
    );
}

#[test]
fn data_after_the_peers_fin_is_ignored() {
    //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
    //= type=test
    //# This should not occur since a FIN has been received from the
    //# remote side.  Ignore the segment text.
    for mut h in [close_wait(), last_ack()] {
        h.inject(peer_data(IRS + 2, b"zzz"));
        assert!(h.poll().is_some_and(|s| s.ack == Some(IRS + 2)));
        assert_eq!(h.read_all(), b"");
    }
}

//= https://www.rfc-editor.org/rfc/rfc5961#section-7
//= type=test
//# An implementation SHOULD include an ACK
//# throttling mechanism to be conservative.
#[test]
fn challenge_and_out_of_window_acks_share_one_rate_limit() {
    let mut h = fin_wait_2();
    // A SYN: challenge ACK.
    h.inject(Seg {
        seq: IRS + 1,
        ..peer_syn()
    });
    assert!(h.poll().is_some());
    // Within 500 ms: a RST in the window, a SYN and an old pure ACK all go
    // unanswered.
    h.advance(100);
    h.inject(Seg {
        seq: IRS + 10,
        flags: Flags::RST,
        ..seg()
    });
    h.inject(peer_syn());
    h.inject(Seg {
        seq: IRS - 5,
        ..peer_ack(ISS + 2)
    });
    h.expect_none();
    assert_eq!(h.conn.stats().acks_rate_limited, 3);
    // An old data segment is answered anyway (a retransmission we already
    // have: the peer needs the ACK).
    h.inject(peer_data(IRS - 5, b"old"));
    assert!(h.poll().is_some());
    // After the interval, answered again.
    h.advance(400);
    h.inject(peer_syn());
    assert!(h.poll().is_some());
    assert_eq!(h.state(), State::FinWait2);
}

#[test]
fn segment_without_ack_is_dropped_in_synchronized_states() {
    //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
    //= type=test
    //# if the ACK bit is off, drop the segment and return
    let mut h = established();
    h.inject(Seg {
        ack: None,
        ..peer_data(IRS + 1, b"noack")
    });
    h.expect_none();
    assert_eq!(h.read_all(), b"");
    assert_eq!(h.conn.stats().no_ack_drops, 1);
}

fn closed_port_segment(flags: Flags, ack: Option<u32>, len: usize) -> Option<(u32, Option<u32>)> {
    let payload = vec![0u8; len];
    let seg = Segment {
        seq: SeqNum::new(IRS),
        ack: ack.map(SeqNum::new),
        flags,
        wnd: UnscaledWindowSize::new(100),
        mss: None,
        window_scale: None,
        sack_permitted: false,
        sack_blocks: [None; 4],
        timestamp: None,
        ce: false,
        payload: &payload,
    };
    reset_for(&seg).map(|r| (r.seq.get(), r.ack.map(SeqNum::get)))
}

//= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.1
//= type=test
//# If the ACK bit is off, sequence number zero is used,
//#
//# <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>
//#
//# If the ACK bit is on,
//#
//# <SEQ=SEG.ACK><CTL=RST>
#[test]
fn the_reset_for_a_segment_to_a_closed_port() {
    // gVisor packetimpact tcp_syn_reset: a SYN to a closed port.
    assert_eq!(
        closed_port_segment(Flags::SYN, None, 0),
        Some((0, Some(IRS + 1)))
    );
    assert_eq!(
        closed_port_segment(Flags::empty(), None, 10),
        Some((0, Some(IRS + 10)))
    );
    assert_eq!(
        closed_port_segment(Flags::FIN, None, 10),
        Some((0, Some(IRS + 11)))
    );
    assert_eq!(
        closed_port_segment(Flags::ACK, Some(777), 5),
        Some((777, None))
    );
    //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.1
    //= type=test
    //# An incoming segment containing a RST is discarded.
    assert_eq!(closed_port_segment(Flags::RST, None, 0), None);
    assert_eq!(
        closed_port_segment(Flags::RST | Flags::ACK, Some(1), 0),
        None
    );
}
