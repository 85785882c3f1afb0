//! Closing: active, passive, simultaneous, half-close both ways, TIME-WAIT,
//! FIN-WAIT-2 timeout, close with unread data.

use super::harness::*;
use crate::tcp::{RecvError, SendError, State};
use crate::wire::TcpFlags as Flags;

fn our_fin(seq: u32, ack: u32) -> Seg {
    Seg {
        flags: Flags::FIN,
        ..our_ack(seq, ack)
    }
}

/// Our ACK once the peer's FIN is in: the FIN took one sequence number of
/// the window, and receiver SWS avoidance keeps the right edge where it was.
fn ack_of_fin(seq: u32, ack: u32) -> Seg {
    Seg {
        win: RECV_BUF as u16 - 1,
        ..our_ack(seq, ack)
    }
}

fn peer_fin(seq: u32, ack: u32) -> Seg {
    Seg {
        seq,
        ack: Some(ack),
        flags: Flags::FIN,
        win: 8192,
        ..seg()
    }
}

#[test]
fn active_close_through_time_wait() {
    let mut h = established();
    h.conn.shutdown_write();
    assert_eq!(h.state(), State::FinWait1);
    h.expect(our_fin(ISS + 1, IRS + 1));
    h.inject(peer_ack(ISS + 2));
    assert_eq!(h.state(), State::FinWait2);
    h.inject(peer_fin(IRS + 1, ISS + 2));
    assert_eq!(h.state(), State::TimeWait);
    h.expect(ack_of_fin(ISS + 2, IRS + 2));
    //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
    //= type=test
    //# The only thing that can arrive in this state is a retransmission of
    //# the remote FIN.  Acknowledge it, and restart the 2 MSL timeout.
    h.advance(30_000);
    h.inject(peer_fin(IRS + 1, ISS + 2));
    h.expect(ack_of_fin(ISS + 2, IRS + 2));
    assert_eq!(h.advance_to_timer(), 60_000);
    assert_eq!(h.state(), State::Closed);
    assert!(h.conn.is_closed());
}

#[test]
fn passive_close_and_half_close() {
    let mut h = established();
    h.inject(peer_fin(IRS + 1, ISS + 1));
    assert_eq!(h.state(), State::CloseWait);
    h.expect(ack_of_fin(ISS + 1, IRS + 2));
    let mut buf = [0u8; 10];
    assert_eq!(h.conn.recv(&mut buf), Err(RecvError::Finished));
    // Half-close: we can still send.
    h.conn.set_nodelay(true);
    h.send(b"late reply");
    assert_eq!(h.poll().unwrap().data, b"late reply");
    h.conn.shutdown_write();
    assert_eq!(h.state(), State::LastAck);
    h.expect(Seg {
        win: RECV_BUF as u16 - 1,
        ..our_fin(ISS + 11, IRS + 2)
    });
    assert_eq!(h.conn.send(b"x"), Err(SendError::Closed));
    h.inject(Seg {
        seq: IRS + 2,
        ..peer_ack(ISS + 12)
    });
    assert_eq!(h.state(), State::Closed);
}

//= https://www.rfc-editor.org/rfc/rfc9293#section-3.6
//= type=test
//# A simultaneous CLOSE by users at both ends of a connection causes FIN
//# segments to be exchanged (Figure 13).  When all segments preceding the
//# FINs have been processed and acknowledged, each TCP peer can ACK the FIN
//# it has received.
#[test]
fn simultaneous_close() {
    let mut h = established();
    h.conn.shutdown_write();
    h.expect(our_fin(ISS + 1, IRS + 1));
    h.inject(peer_fin(IRS + 1, ISS + 1));
    assert_eq!(h.state(), State::Closing);
    h.expect(ack_of_fin(ISS + 2, IRS + 2));
    h.inject(Seg {
        seq: IRS + 2,
        ..peer_ack(ISS + 2)
    });
    assert_eq!(h.state(), State::TimeWait);
}

#[test]
fn fin_with_the_last_data_and_ack_of_our_fin() {
    let mut h = established();
    h.conn.shutdown_write();
    h.expect(our_fin(ISS + 1, IRS + 1));
    // The peer's FIN acknowledges ours and carries data: straight to TIME-WAIT.
    h.inject(Seg {
        data: b"bye".to_vec(),
        ..peer_fin(IRS + 1, ISS + 2)
    });
    assert_eq!(h.state(), State::TimeWait);
    assert_eq!(h.read_all(), b"bye");
}

#[test]
fn out_of_order_fin_waits_for_the_data() {
    let mut h = established();
    h.inject(peer_fin(IRS + 4, ISS + 1));
    assert_eq!(h.state(), State::Established);
    h.inject(peer_data(IRS + 1, b"abc"));
    assert_eq!(h.state(), State::CloseWait);
    assert_eq!(h.read_all(), b"abc");
}

#[test]
fn orphan_in_fin_wait_2_times_out() {
    let mut h = established();
    h.conn.close(h.now);
    h.expect(our_fin(ISS + 1, IRS + 1));
    h.inject(peer_ack(ISS + 2));
    assert_eq!(h.state(), State::FinWait2);
    assert_eq!(h.advance_to_timer(), 60_000);
    assert_eq!(h.state(), State::Closed);
}

#[test]
fn close_with_unread_data_resets() {
    let mut h = established();
    h.inject(peer_data(IRS + 1, b"unread"));
    h.poll();
    h.conn.close(h.now);
    h.expect(Seg {
        seq: ISS + 1,
        ack: Some(IRS + 7),
        flags: Flags::RST,
        ..seg()
    });
    assert!(h.conn.is_closed());
}

#[test]
fn data_after_close_is_answered_with_reset() {
    let mut h = established();
    h.conn.close(h.now);
    h.expect(our_fin(ISS + 1, IRS + 1));
    h.inject(peer_data(IRS + 1, b"too late"));
    assert_eq!(h.poll().map(|s| s.flags), Some(Flags::RST));
    assert_eq!(h.state(), State::Closed);
}

#[test]
fn packetdrill_close_remote_fin_then_close() {
    // packetdrill gtests/net/tcp/close/close-remote-fin-then-close.pkt: the
    // LAST-ACK path, then a segment for the forgotten connection draws the
    // port table's reset.
    let mut h = established();
    h.advance(10);
    h.inject(peer_fin(IRS + 1, ISS + 1));
    h.expect(ack_of_fin(ISS + 1, IRS + 2));
    h.advance(10);
    h.conn.close(h.now);
    h.expect(Seg {
        win: RECV_BUF as u16 - 1,
        ..our_fin(ISS + 1, IRS + 2)
    });
    h.advance(10);
    h.inject(Seg {
        seq: IRS + 2,
        ..peer_ack(ISS + 2)
    });
    assert!(h.conn.is_closed());
    // The connection takes no more segments; the port table answers.
    let late = Seg {
        seq: IRS + 2,
        ..peer_ack(ISS + 2)
    };
    h.inject(late);
    h.expect_none();
    let reset = crate::tcp::segment::reset_for(&crate::tcp::segment::Segment {
        seq: crate::tcp::seq::SeqNum::new(IRS + 2),
        ack: Some(crate::tcp::seq::SeqNum::new(ISS + 2)),
        flags: Flags::ACK,
        wnd: crate::tcp::seq::UnscaledWindowSize::new(8192),
        mss: None,
        window_scale: None,
        sack_permitted: false,
        sack_blocks: [None; 4],
        timestamp: None,
        ce: false,
        payload: &[],
    });
    assert_eq!(reset.map(|r| (r.seq.get(), r.ack)), Some((ISS + 2, None)));
}

#[test]
fn a_fin_alone_goes_even_when_cwnd_is_full() {
    // packetdrill (shutdown with data in flight): Linux sends the FIN at
    // once, not bound by cwnd; berth held it until a loss probe resent
    // data instead.
    let mut cfg = plain_config();
    cfg.nodelay = true;
    let mut h = Harness::accept(
        cfg,
        Seg {
            win: 65535,
            ..peer_syn()
        },
    );
    h.poll();
    h.advance(100);
    h.inject(Seg {
        win: 65535,
        ..peer_ack(ISS + 1)
    });
    h.send(&[1; 10 * 1460]);
    assert_eq!(std::iter::from_fn(|| h.poll()).count(), 10, "cwnd is full");
    h.conn.shutdown_write();
    let fin = h.poll().unwrap();
    assert_eq!(
        (fin.seq, fin.flags, fin.data.len()),
        (ISS + 1 + 14_600, Flags::FIN, 0)
    );
}
