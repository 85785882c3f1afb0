//! Opening: passive, active, simultaneous; SYN retransmission and give-up;
//! options negotiation.

use super::harness::*;
use crate::tcp::{ConnError, State};
use crate::wire::TcpFlags as Flags;

#[test]
fn passive_open_answers_syn_ack_and_establishes() {
    let h = established();
    assert_eq!(h.conn.smss(), 1460);
}

#[test]
fn active_open_sends_syn_and_acks_syn_ack() {
    let mut h = Harness::connect(plain_config());
    h.expect(Seg {
        seq: ISS,
        flags: Flags::SYN,
        win: RECV_BUF as u16,
        mss: Some(1460),
        ..seg()
    });
    assert_eq!(h.state(), State::SynSent);
    h.advance(10);
    h.inject(Seg {
        seq: IRS,
        ack: Some(ISS + 1),
        flags: Flags::SYN,
        win: 4096,
        mss: Some(1200),
        ..seg()
    });
    assert_eq!(h.state(), State::Established);
    h.expect(our_ack(ISS + 1, IRS + 1));
    assert_eq!(h.conn.smss(), 1200);
    // The handshake gave an RTT sample of 10 ms: RTO falls to its 200 ms floor.
    assert_eq!(h.conn.rto().as_millis(), 200);
}

//= https://www.rfc-editor.org/rfc/rfc9293#section-3.5
//= type=test
//# Simultaneous initiation is only slightly more complex, as is shown in
//# Figure 7.
#[test]
fn simultaneous_open() {
    let mut h = Harness::connect(plain_config());
    h.expect(Seg {
        seq: ISS,
        flags: Flags::SYN,
        win: RECV_BUF as u16,
        mss: Some(1460),
        ..seg()
    });
    // The peer's SYN crosses ours.
    h.inject(Seg {
        seq: IRS,
        flags: Flags::SYN,
        win: 8192,
        mss: Some(1460),
        ..seg()
    });
    assert_eq!(h.state(), State::SynReceived);
    h.expect(Seg {
        seq: ISS,
        ack: Some(IRS + 1),
        flags: Flags::SYN,
        win: RECV_BUF as u16,
        mss: Some(1460),
        ..seg()
    });
    // Its SYN-ACK arrives: it acknowledges our SYN.
    h.inject(Seg {
        seq: IRS,
        ack: Some(ISS + 1),
        flags: Flags::SYN,
        win: 8192,
        mss: Some(1460),
        ..seg()
    });
    assert_eq!(h.state(), State::Established);
}

//= https://www.rfc-editor.org/rfc/rfc6298#section-5
//= type=test
//# (5.5) The host MUST set RTO <- RTO * 2 ("back off the timer").
#[test]
fn syn_is_retransmitted_with_backoff_then_times_out() {
    let mut cfg = plain_config();
    cfg.syn_retries = 3;
    let mut h = Harness::connect(cfg);
    let syn = Seg {
        seq: ISS,
        flags: Flags::SYN,
        win: RECV_BUF as u16,
        mss: Some(1460),
        ..seg()
    };
    h.expect(syn.clone());
    for wait in [1000, 2000, 4000] {
        assert_eq!(h.advance_to_timer(), wait);
        h.expect(syn.clone());
        h.expect_none();
    }
    assert_eq!(h.advance_to_timer(), 8000);
    assert_eq!(h.state(), State::Closed);
    assert_eq!(h.conn.error(), Some(ConnError::TimedOut));
    h.expect_none();
}

#[test]
fn lost_syn_ack_is_resent_when_the_syn_repeats() {
    let mut h = Harness::accept(plain_config(), peer_syn());
    let syn_ack = Seg {
        seq: ISS,
        ack: Some(IRS + 1),
        flags: Flags::SYN,
        win: RECV_BUF as u16,
        mss: Some(1460),
        ..seg()
    };
    h.expect(syn_ack.clone());
    h.advance(300);
    h.inject(peer_syn());
    h.expect(syn_ack);
    assert_eq!(h.state(), State::SynReceived);
}

#[test]
fn options_negotiated_like_linux() {
    let mut cfg = plain_config();
    cfg.window_scaling = true;
    cfg.timestamps = true;
    cfg.sack = true;
    cfg.recv_buffer = 256 * 1024;
    let syn = Seg {
        sack_perm: true,
        ts: Some((77, 0)),
        ws: Some(7),
        win: 64240,
        ..peer_syn()
    };
    let mut h = Harness::accept(cfg, syn);
    // The window in a SYN-ACK is never scaled; our shift covers 256 KiB.
    h.expect(Seg {
        seq: ISS,
        ack: Some(IRS + 1),
        flags: Flags::SYN,
        win: 65535,
        mss: Some(1460),
        ws: Some(3),
        sack_perm: true,
        ts: Some((0, 77)),
        ..seg()
    });
    h.advance(5);
    h.inject(Seg {
        seq: IRS + 1,
        ack: Some(ISS + 1),
        win: 502,
        ts: Some((80, 0)),
        ..seg()
    });
    assert_eq!(h.state(), State::Established);
    h.send(b"hi");
    // Timestamps on every segment; the peer's window is 502 << 7.
    h.expect(Seg {
        seq: ISS + 1,
        ack: Some(IRS + 1),
        flags: Flags::PSH,
        win: ((256 * 1024) >> 3) as u16,
        ts: Some((5, 80)),
        data: b"hi".to_vec(),
        ..seg()
    });
}

#[test]
fn syn_with_ecn_bits_and_unknown_options_is_accepted() {
    // With ECN off, a SYN with ECE and CWR set (an ECN setup SYN) gets a
    // plain SYN-ACK (ecn.rs has the default, which accepts).
    let syn = Seg {
        flags: Flags::SYN | Flags::ECE | Flags::CWR,
        ..peer_syn()
    };
    let cfg = crate::tcp::TcpConfig {
        ecn: crate::tcp::EcnMode::Off,
        ..plain_config()
    };
    let mut h = Harness::accept(cfg, syn);
    h.expect(Seg {
        seq: ISS,
        ack: Some(IRS + 1),
        flags: Flags::SYN,
        win: RECV_BUF as u16,
        mss: Some(1460),
        ..seg()
    });
}

#[test]
fn bad_ack_in_syn_sent_draws_a_reset() {
    let mut h = Harness::connect(plain_config());
    h.poll();
    //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.3
    //= type=test
    //# If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset (unless the
    //# RST bit is set, if so drop the segment and return)
    h.inject(Seg {
        seq: IRS,
        ack: Some(ISS + 100),
        flags: Flags::SYN,
        win: 100,
        ..seg()
    });
    h.expect(Seg {
        seq: ISS + 100,
        flags: Flags::RST,
        ..seg()
    });
    assert_eq!(h.state(), State::SynSent);
}

#[test]
fn reset_in_syn_sent_refuses() {
    let mut h = Harness::connect(plain_config());
    h.poll();
    h.inject(Seg {
        seq: 0,
        ack: Some(ISS + 1),
        flags: Flags::RST,
        ..seg()
    });
    assert_eq!(h.state(), State::Closed);
    assert_eq!(h.conn.error(), Some(ConnError::Refused));
}

#[test]
fn syn_ack_carrying_a_fin_goes_to_close_wait() {
    let mut h = Harness::connect(plain_config());
    h.poll();
    h.inject(Seg {
        seq: IRS,
        ack: Some(ISS + 1),
        flags: Flags::SYN | Flags::FIN,
        win: 8192,
        mss: Some(1460),
        data: b"bye".to_vec(),
        ..seg()
    });
    assert_eq!(h.state(), State::CloseWait);
    h.expect(Seg {
        win: RECV_BUF as u16 - 3,
        ..our_ack(ISS + 1, IRS + 5)
    });
    assert_eq!(h.read_all(), b"bye");
}

#[test]
fn unacceptable_ack_in_syn_received_draws_a_reset() {
    let mut h = Harness::accept(plain_config(), peer_syn());
    h.poll();
    //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
    //= type=test
    //# If the segment acknowledgment is not acceptable, form a reset
    //# segment
    //#
    //# <SEQ=SEG.ACK><CTL=RST>
    h.inject(peer_ack(ISS + 77));
    h.expect(Seg {
        seq: ISS + 77,
        flags: Flags::RST,
        ..seg()
    });
    // The half-open connection stays; the right ACK still completes it.
    h.inject(peer_ack(ISS + 1));
    assert_eq!(h.state(), State::Established);
}

#[test]
fn data_with_the_handshakes_ack_is_taken() {
    let mut h = Harness::accept(plain_config(), peer_syn());
    h.poll();
    h.inject(peer_data(IRS + 1, b"GET /"));
    assert_eq!(h.state(), State::Established);
    assert_eq!(h.read_all(), b"GET /");
}

#[test]
fn fin_with_the_handshakes_ack_goes_to_close_wait() {
    let mut h = Harness::accept(plain_config(), peer_syn());
    h.poll();
    h.inject(Seg {
        seq: IRS + 1,
        ack: Some(ISS + 1),
        flags: Flags::FIN,
        win: 8192,
        ..seg()
    });
    assert_eq!(h.state(), State::CloseWait);
}

#[test]
fn simultaneous_open_with_syn_retransmission() {
    // Our SYN is lost in the crossing; the peer's SYN arrives, we answer
    // with SYN-ACK, which its retransmitted SYN confirms was needed.
    let mut h = Harness::connect(plain_config());
    h.poll();
    h.inject(peer_syn());
    assert_eq!(h.state(), State::SynReceived);
    let syn_ack = h.poll().unwrap();
    assert_eq!(syn_ack.flags, Flags::SYN);
    assert_eq!(syn_ack.ack, Some(IRS + 1));
    h.inject(peer_syn());
    assert_eq!(h.poll().as_ref(), Some(&syn_ack));
    h.inject(peer_ack(ISS + 1));
    assert_eq!(h.state(), State::Established);
}
