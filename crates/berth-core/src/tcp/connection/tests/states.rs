//! Every row of the transition table in `state.rs`, as one table-driven test,
//! plus a reset in every state (RFC 9293 3.10.7.4 "Second, check the RST
//! bit", RFC 5961 3.2, RFC 1337) and the fixtures that reach each state.

use test_case::test_case;

use super::harness::*;
use crate::tcp::{ConnError, Outcome, State};
use crate::wire::TcpFlags as Flags;

pub(super) fn our_syn() -> Seg {
    Seg {
        seq: ISS,
        flags: Flags::SYN,
        win: RECV_BUF as u16,
        mss: Some(1460),
        ..seg()
    }
}

pub(super) fn peer_syn_ack() -> Seg {
    Seg {
        seq: IRS,
        ack: Some(ISS + 1),
        flags: Flags::SYN,
        win: 8192,
        mss: Some(1460),
        ..seg()
    }
}

pub(super) fn peer_fin(seq: u32, ack: u32) -> Seg {
    Seg {
        seq,
        ack: Some(ack),
        flags: Flags::FIN,
        win: 8192,
        ..seg()
    }
}

fn peer_rst(seq: u32) -> Seg {
    Seg {
        seq,
        flags: Flags::RST,
        ..seg()
    }
}

/// SYN-SENT, our SYN out.
pub(super) fn syn_sent() -> Harness {
    let mut h = Harness::connect(plain_config());
    h.expect(our_syn());
    h
}

/// SYN-RECEIVED from a listener, our SYN-ACK out.
pub(super) fn syn_received() -> Harness {
    let mut h = Harness::accept(plain_config(), peer_syn());
    assert!(h.poll().is_some());
    assert_eq!(h.state(), State::SynReceived);
    h
}

/// FIN-WAIT-1: our FIN (ISS + 1) is out, unacknowledged.
pub(super) fn fin_wait_1() -> Harness {
    let mut h = established();
    h.conn.shutdown_write();
    assert_eq!(h.poll().map(|s| s.flags), Some(Flags::FIN));
    assert_eq!(h.state(), State::FinWait1);
    h
}

/// FIN-WAIT-2: our FIN acknowledged.
pub(super) fn fin_wait_2() -> Harness {
    let mut h = fin_wait_1();
    h.inject(peer_ack(ISS + 2));
    assert_eq!(h.state(), State::FinWait2);
    h
}

/// CLOSE-WAIT: the peer's FIN (IRS + 1) is in and acknowledged.
pub(super) fn close_wait() -> Harness {
    let mut h = established();
    h.inject(peer_fin(IRS + 1, ISS + 1));
    assert!(h.poll().is_some());
    assert_eq!(h.state(), State::CloseWait);
    h
}

/// CLOSING: both FINs crossed; ours is not acknowledged.
pub(super) fn closing() -> Harness {
    let mut h = fin_wait_1();
    h.inject(peer_fin(IRS + 1, ISS + 1));
    assert!(h.poll().is_some());
    assert_eq!(h.state(), State::Closing);
    h
}

/// LAST-ACK: the peer closed first, then we did; our FIN (ISS + 1) is out.
pub(super) fn last_ack() -> Harness {
    let mut h = close_wait();
    h.conn.shutdown_write();
    assert_eq!(h.poll().map(|s| s.flags), Some(Flags::FIN));
    assert_eq!(h.state(), State::LastAck);
    h
}

/// TIME-WAIT after an active close: RCV.NXT is IRS + 2, SND.NXT ISS + 2.
pub(super) fn time_wait() -> Harness {
    let mut h = fin_wait_2();
    h.inject(peer_fin(IRS + 1, ISS + 2));
    assert!(h.poll().is_some());
    assert_eq!(h.state(), State::TimeWait);
    h
}

/// Events of the transition table.
#[derive(Debug, Clone, Copy)]
enum Ev {
    SynAck,
    Syn,
    RstAck,
    Timeout,
    AckOfSyn,
    Close,
    Fin,
    AckOfFin,
    FinAckingFin,
    Abort,
}

fn fixture(from: State) -> Harness {
    match from {
        State::SynSent => syn_sent(),
        State::SynReceived => syn_received(),
        State::Established => established(),
        State::FinWait1 => fin_wait_1(),
        State::FinWait2 => fin_wait_2(),
        State::CloseWait => close_wait(),
        State::Closing => closing(),
        State::LastAck => last_ack(),
        State::TimeWait => time_wait(),
        State::Closed => unreachable!(),
    }
}

fn apply(h: &mut Harness, ev: Ev) {
    // The peer's next sequence number in each fixture.
    let rcv_nxt = match h.state() {
        State::CloseWait | State::Closing | State::LastAck | State::TimeWait => IRS + 2,
        _ => IRS + 1,
    };
    match ev {
        Ev::SynAck => drop(h.inject(peer_syn_ack())),
        Ev::Syn => drop(h.inject(peer_syn())),
        Ev::RstAck => drop(h.inject(Seg {
            ack: Some(ISS + 1),
            ..peer_rst(if h.state() == State::SynSent {
                0
            } else {
                rcv_nxt
            })
        })),
        Ev::Timeout => {
            // Run timers until the state changes (retries run out).
            let before = h.state();
            for _ in 0..40 {
                h.advance_to_timer();
                while h.poll().is_some() {}
                if h.state() != before {
                    break;
                }
            }
        }
        Ev::AckOfSyn => drop(h.inject(peer_ack(ISS + 1))),
        Ev::Close => h.conn.close(h.now),
        Ev::Fin => drop(h.inject(peer_fin(rcv_nxt, ISS + 1))),
        Ev::AckOfFin => drop(h.inject(Seg {
            seq: rcv_nxt,
            ..peer_ack(ISS + 2)
        })),
        Ev::FinAckingFin => drop(h.inject(peer_fin(rcv_nxt, ISS + 2))),
        Ev::Abort => h.conn.abort(),
    }
}

//= https://www.rfc-editor.org/rfc/rfc9293#section-3.3.2
//= type=test
//# A connection progresses through a series of states during its lifetime.
#[test_case(State::SynSent, Ev::SynAck, State::Established; "syn_sent synack")]
#[test_case(State::SynSent, Ev::Syn, State::SynReceived; "syn_sent simultaneous open")]
#[test_case(State::SynSent, Ev::RstAck, State::Closed; "syn_sent reset")]
#[test_case(State::SynSent, Ev::Timeout, State::Closed; "syn_sent retries")]
#[test_case(State::SynReceived, Ev::AckOfSyn, State::Established; "syn_received ack")]
#[test_case(State::SynReceived, Ev::RstAck, State::Closed; "syn_received reset")]
#[test_case(State::SynReceived, Ev::Timeout, State::Closed; "syn_received retries")]
#[test_case(State::Established, Ev::Close, State::FinWait1; "established close")]
#[test_case(State::Established, Ev::Fin, State::CloseWait; "established fin")]
#[test_case(State::FinWait1, Ev::AckOfFin, State::FinWait2; "fin_wait_1 ack")]
#[test_case(State::FinWait1, Ev::Fin, State::Closing; "fin_wait_1 fin")]
#[test_case(State::FinWait1, Ev::FinAckingFin, State::TimeWait; "fin_wait_1 fin ack")]
#[test_case(State::FinWait2, Ev::Fin, State::TimeWait; "fin_wait_2 fin")]
#[test_case(State::FinWait2, Ev::Close, State::FinWait2; "fin_wait_2 close arms orphan timer")]
#[test_case(State::CloseWait, Ev::Close, State::LastAck; "close_wait close")]
#[test_case(State::Closing, Ev::AckOfFin, State::TimeWait; "closing ack")]
#[test_case(State::LastAck, Ev::AckOfFin, State::Closed; "last_ack ack")]
#[test_case(State::TimeWait, Ev::Timeout, State::Closed; "time_wait 2msl")]
#[test_case(State::Established, Ev::RstAck, State::Closed; "established reset")]
#[test_case(State::Established, Ev::Abort, State::Closed; "established abort")]
#[test_case(State::FinWait1, Ev::Abort, State::Closed; "fin_wait_1 abort")]
#[test_case(State::CloseWait, Ev::Abort, State::Closed; "close_wait abort")]
fn transition(from: State, ev: Ev, to: State) {
    let mut h = fixture(from);
    apply(&mut h, ev);
    assert_eq!(h.state(), to, "{from} --{ev:?}-->");
}

#[test]
fn orphan_fin_wait_2_then_closes_on_its_timer() {
    let mut h = fin_wait_2();
    h.conn.close(h.now);
    assert_eq!(h.advance_to_timer(), 60_000);
    assert_eq!(h.state(), State::Closed);
}

#[test]
fn data_retries_exhausted_time_out_in_every_sending_state() {
    for from in [
        State::Established,
        State::FinWait1,
        State::CloseWait,
        State::Closing,
        State::LastAck,
    ] {
        let mut h = fixture(from);
        if h.conn.send(b"x").is_ok() {
            h.conn.set_nodelay(true);
        }
        while h.poll().is_some() {}
        apply(&mut h, Ev::Timeout);
        assert_eq!(h.state(), State::Closed, "from {from}");
        assert_eq!(h.conn.error(), Some(ConnError::TimedOut), "from {from}");
    }
}

//= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
//= type=test
//# If the RST bit is set, then any outstanding RECEIVEs and SEND should
//# receive "reset" responses.  All segment queues should be flushed.
#[test_case(State::Established, Some(ConnError::Reset))]
#[test_case(State::FinWait1, Some(ConnError::Reset))]
#[test_case(State::FinWait2, Some(ConnError::Reset))]
#[test_case(State::CloseWait, Some(ConnError::Reset))]
//# CLOSING STATE
//# LAST-ACK STATE
//# TIME-WAIT STATE
//#    If the RST bit is set, then enter the CLOSED state, delete the TCB,
//#    and return.
#[test_case(State::Closing, None)]
#[test_case(State::LastAck, None)]
//# If this connection was initiated with a passive OPEN (i.e., came from
//# the LISTEN state), then return this connection to LISTEN state and
//# return.
#[test_case(State::SynReceived, None)]
fn reset_at_rcv_nxt_closes(from: State, error: Option<ConnError>) {
    let mut h = fixture(from);
    let rcv_nxt = match from {
        State::CloseWait | State::Closing | State::LastAck => IRS + 2,
        _ => IRS + 1,
    };
    h.inject(peer_rst(rcv_nxt));
    assert_eq!(h.state(), State::Closed);
    assert_eq!(h.conn.error(), error);
    //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.1
    //= type=test
    //# An incoming segment containing a RST is discarded.
    h.expect_none();
    assert!(h.conn.is_closed());
}

#[test]
fn reset_in_syn_received_of_an_active_open_refuses() {
    let mut h = syn_sent();
    h.inject(peer_syn());
    assert_eq!(h.state(), State::SynReceived);
    h.poll();
    h.inject(peer_rst(IRS + 1));
    assert_eq!(h.state(), State::Closed);
    assert_eq!(h.conn.error(), Some(ConnError::Refused));
}

//= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.3
//= type=test
//# Otherwise (no ACK), drop the segment and return.
#[test]
fn reset_without_ack_in_syn_sent_is_dropped() {
    let mut h = syn_sent();
    h.inject(peer_rst(IRS));
    assert_eq!(h.state(), State::SynSent);
    h.expect_none();
}

#[test]
fn reset_with_unacceptable_ack_in_syn_sent_is_dropped() {
    let mut h = syn_sent();
    h.inject(Seg {
        ack: Some(ISS),
        ..peer_rst(0)
    });
    assert_eq!(h.state(), State::SynSent);
    h.expect_none();
}

#[test]
fn reset_in_time_wait_closes_without_rfc1337() {
    let mut cfg = plain_config();
    cfg.rfc1337 = false;
    let mut h = Harness::accept(cfg, peer_syn());
    h.poll();
    h.inject(peer_ack(ISS + 1));
    h.conn.shutdown_write();
    h.poll();
    h.inject(peer_fin(IRS + 1, ISS + 2));
    h.poll();
    assert_eq!(h.state(), State::TimeWait);
    // gVisor packetimpact tcp_timewait_reset: the RST ends TIME-WAIT early.
    h.inject(peer_rst(IRS + 2));
    assert_eq!(h.state(), State::Closed);
    assert_eq!(h.conn.error(), None);
}

#[test_case(State::FinWait2)]
#[test_case(State::CloseWait)]
#[test_case(State::LastAck)]
#[test_case(State::TimeWait)]
fn in_window_reset_not_at_rcv_nxt_draws_a_challenge_ack(from: State) {
    let mut h = fixture(from);
    let before = h.conn.stats().challenge_acks;
    h.inject(peer_rst(IRS + 100));
    assert_eq!(h.state(), from);
    let ack = h.poll().expect("a challenge ACK");
    assert_eq!(ack.flags, Flags::empty());
    assert_eq!(h.conn.stats().challenge_acks, before + 1);
}

//= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.2
//= type=test
//# Data associated with SEND may be sent with SYN segment or queued for
//# transmission after entering ESTABLISHED state.
#[test]
fn data_queued_in_syn_sent_goes_after_the_handshake() {
    // gVisor packetimpact tcp_queue_send_recv_in_syn_sent.
    let mut h = syn_sent();
    h.send(b"early");
    let mut buf = [0u8; 8];
    assert_eq!(h.conn.recv(&mut buf), Ok(0), "nothing to read yet");
    h.expect_none();
    h.inject(Seg {
        data: b"hi".to_vec(),
        ..peer_syn_ack()
    });
    assert_eq!(h.state(), State::Established);
    h.expect(Seg {
        seq: ISS + 1,
        ack: Some(IRS + 3),
        flags: Flags::PSH,
        win: RECV_BUF as u16 - 2,
        data: b"early".to_vec(),
        ..seg()
    });
    assert_eq!(h.read_all(), b"hi");
}

//= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.4
//= type=test
//# otherwise, queue for processing after entering ESTABLISHED state.
#[test]
fn shutdown_in_syn_sent_sends_fin_after_the_handshake() {
    let mut h = syn_sent();
    h.send(b"req");
    h.conn.shutdown_write();
    assert_eq!(h.state(), State::SynSent);
    h.inject(peer_syn_ack());
    assert_eq!(h.state(), State::FinWait1);
    let s = h.poll().unwrap();
    assert_eq!(
        (s.seq, s.data.as_slice(), s.flags),
        (ISS + 1, &b"req"[..], Flags::PSH | Flags::FIN)
    );
    h.inject(peer_ack(ISS + 5));
    assert_eq!(h.state(), State::FinWait2);
}

//= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.4
//= type=test
//# If no SENDs have been issued and there is no pending data to send,
//# then form a FIN segment and send it, and enter FIN-WAIT-1 state;
#[test]
fn shutdown_in_syn_received_sends_fin_after_the_handshake() {
    let mut h = syn_received();
    h.conn.shutdown_write();
    h.expect_none();
    h.inject(peer_ack(ISS + 1));
    assert_eq!(h.state(), State::FinWait1);
    h.expect(Seg {
        flags: Flags::FIN,
        ..our_ack(ISS + 1, IRS + 1)
    });
}

//= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.4
//= type=test
//# Delete the TCB and return "error: closing" responses to any queued
//# SENDs, or RECEIVEs.
#[test]
fn close_in_syn_sent_deletes_quietly() {
    let mut h = syn_sent();
    h.conn.close(h.now);
    assert_eq!(h.state(), State::Closed);
    h.expect_none();
    assert!(h.conn.is_closed());
}

//= https://www.rfc-editor.org/rfc/rfc1122#section-4.2.2.13
//= type=test
//# it MAY accept a new SYN from the remote TCP to
//# reopen the connection directly from TIME-WAIT state
#[test]
fn new_syn_in_time_wait_may_reopen() {
    let mut h = time_wait();
    // A SYN past RCV.NXT: the port table may hand it to a listener.
    let out = h.inject(Seg {
        seq: IRS + 100_000,
        ..peer_syn()
    });
    assert_eq!(out, Outcome::NewSynInTimeWait);
    // An old SYN (at or before RCV.NXT) does not reopen: it is answered
    // with an ACK of what TIME-WAIT knows.
    let mut h = time_wait();
    let out = h.inject(Seg {
        seq: IRS,
        ..peer_syn()
    });
    assert_eq!(out, Outcome::Handled);
    h.expect(Seg {
        win: RECV_BUF as u16 - 1,
        ..our_ack(ISS + 2, IRS + 2)
    });
    assert_eq!(h.state(), State::TimeWait);
}

#[test]
fn syn_with_newer_timestamp_in_time_wait_may_reopen() {
    let mut cfg = plain_config();
    cfg.timestamps = true;
    let mut h = Harness::accept(
        cfg,
        Seg {
            ts: Some((100, 0)),
            ..peer_syn()
        },
    );
    h.poll();
    h.inject(Seg {
        ts: Some((101, 1)),
        ..peer_ack(ISS + 1)
    });
    h.conn.shutdown_write();
    h.poll();
    h.inject(Seg {
        ts: Some((102, 1)),
        ..peer_fin(IRS + 1, ISS + 2)
    });
    h.poll();
    assert_eq!(h.state(), State::TimeWait);
    // RFC 6191: same (old) sequence number, but a newer timestamp.
    let out = h.inject(Seg {
        seq: IRS,
        ts: Some((200, 0)),
        ..peer_syn()
    });
    assert_eq!(out, Outcome::NewSynInTimeWait);
}
