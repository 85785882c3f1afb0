//! ECN (RFC 3168): the handshake both ways, ECT on new data only, the
//! receiver's echo until CWR, and the sender's one reduction per window
//! with CWR on the next new data.

use super::harness::*;
use crate::tcp::{EcnMode, TcpConfig};
use crate::wire::TcpFlags as Flags;

const MSS: u32 = 1460;

fn ecn_config(ecn: EcnMode) -> TcpConfig {
    TcpConfig {
        ecn,
        nodelay: true,
        ..plain_config()
    }
}

/// ESTABLISHED with ECN negotiated (the peer asked, we accepted), after a
/// 100 ms handshake; the peer offers 65535.
fn open() -> Harness {
    let mut h = Harness::accept(
        ecn_config(EcnMode::Passive),
        Seg {
            flags: Flags::SYN | Flags::ECE | Flags::CWR,
            win: 65535,
            ..peer_syn()
        },
    );
    let syn_ack = h.poll().unwrap();
    //= https://www.rfc-editor.org/rfc/rfc3168#section-6.1.1
    //= type=test
    //# An ECN-setup SYN-ACK packet is a SYN-ACK packet
    //# with the ECE flag set but the CWR flag not set.
    assert_eq!(syn_ack.flags, Flags::SYN | Flags::ECE);
    assert!(!h.conn.take_ect(), "no ECT on a SYN-ACK");
    h.advance(100);
    h.inject(Seg {
        win: 65535,
        ..peer_ack(ISS + 1)
    });
    assert!(h.conn.ecn_negotiated());
    h
}

#[test]
fn an_ecn_setup_syn_is_accepted_by_default_like_linux() {
    let h = open();
    assert!(h.conn.ecn_negotiated());
    // A plain SYN: no ECN.
    let mut plain = Harness::accept(ecn_config(EcnMode::Passive), peer_syn());
    assert_eq!(plain.poll().unwrap().flags, Flags::SYN);
}

#[test]
fn an_active_open_asks_only_when_on_and_not_on_a_retransmitted_syn() {
    let mut h = Harness::connect(ecn_config(EcnMode::On));
    //= https://www.rfc-editor.org/rfc/rfc3168#section-6.1.1
    //= type=test
    //# An ECN-setup SYN packet is a SYN packet with the ECE and CWR flags
    //# set.
    assert_eq!(
        h.poll().unwrap().flags,
        Flags::SYN | Flags::ECE | Flags::CWR
    );
    h.advance_to_timer();
    assert_eq!(
        h.poll().unwrap().flags,
        Flags::SYN,
        "the retransmission asks no more"
    );
    let mut h = Harness::connect(ecn_config(EcnMode::On));
    h.poll();
    h.inject(Seg {
        seq: IRS,
        ack: Some(ISS + 1),
        flags: Flags::SYN | Flags::ECE,
        win: 65535,
        ..seg()
    });
    assert!(h.conn.ecn_negotiated());
    // A SYN-ACK with ECE and CWR both is not an ECN-setup SYN-ACK.
    let mut h = Harness::connect(ecn_config(EcnMode::On));
    h.poll();
    h.inject(Seg {
        seq: IRS,
        ack: Some(ISS + 1),
        flags: Flags::SYN | Flags::ECE | Flags::CWR,
        win: 65535,
        ..seg()
    });
    assert!(!h.conn.ecn_negotiated());
    let mut h = Harness::connect(ecn_config(EcnMode::Passive));
    assert_eq!(h.poll().unwrap().flags, Flags::SYN);
}

//= https://www.rfc-editor.org/rfc/rfc3168#section-6.1.4
//= type=test
//# the TCP data sender MUST NOT set either ECT codepoint in
//# the IP header of pure ACK packets
#[test]
fn new_data_is_ect_and_nothing_else_is() {
    let mut h = open();
    h.send(&[1; 100]);
    assert_eq!(h.poll().unwrap().data.len(), 100);
    assert!(h.conn.take_ect());
    // The retransmission is not ECT.
    h.advance_to_timer();
    assert_eq!(h.poll().unwrap().data.len(), 100);
    assert!(!h.conn.take_ect());
    // Nor is a pure ACK.
    h.inject(peer_data(IRS + 1, b"x"));
    h.advance(200);
    let a = h.poll().unwrap();
    assert!(a.data.is_empty());
    assert!(!h.conn.take_ect());
}

//= https://www.rfc-editor.org/rfc/rfc3168#section-6.1.3
//= type=test
//# After a TCP receives a CE packet, the TCP sets the ECE flag in the
//# ACK packets it sends until it receives a CWR packet from the
//# other TCP.
#[test]
fn congestion_experienced_is_echoed_until_cwr() {
    let mut h = open();
    let mut marked = crate::tcp::segment::Segment::from_repr(&crate::wire::TcpRepr {
        src_port: REMOTE.port(),
        dst_port: LOCAL.port(),
        seq_number: IRS + 1,
        ack_number: Some(ISS + 1),
        flags: Flags::ACK,
        window_len: 65535,
        urgent_pointer: 0,
        max_seg_size: None,
        window_scale: None,
        sack_permitted: false,
        sack_ranges: [None; 4],
        timestamp: None,
        payload: b"marked",
    });
    marked.ce = true;
    h.conn.on_segment(h.now, &marked);
    let a = h.poll().unwrap();
    assert_eq!(
        (a.ack, a.flags),
        (Some(IRS + 7), Flags::ECE),
        "at once, with ECE"
    );
    assert_eq!(h.conn.stats().ecn_ce_received, 1);
    // Unmarked data: still ECE.
    h.inject(peer_data(IRS + 7, b"more"));
    h.advance(200);
    assert!(h.poll().unwrap().flags.contains(Flags::ECE));
    // CWR: the echo stops.
    h.inject(Seg {
        flags: Flags::PSH | Flags::CWR,
        ..peer_data(IRS + 11, b"cwr")
    });
    h.advance(200);
    assert!(!h.poll().unwrap().flags.contains(Flags::ECE));
}

//= https://www.rfc-editor.org/rfc/rfc3168#section-6.1.2
//= type=test
//# The sender's congestion window should
//# be reduced at most once per window of data.
#[test]
fn an_echo_cuts_the_window_once_per_window_and_cwr_follows() {
    let mut h = open();
    h.send(&[1; 30 * MSS as usize]);
    let first: Vec<Seg> = std::iter::from_fn(|| h.poll()).collect();
    assert_eq!(first.len(), 10);
    let cwnd = h.conn.cwnd();
    h.advance(100);
    // The first ACK echoes congestion.
    h.inject(Seg {
        flags: Flags::ECE,
        win: 65535,
        ..peer_ack(ISS + 1 + MSS)
    });
    assert_eq!(h.conn.stats().ecn_reductions, 1);
    assert!(h.conn.ssthresh() < cwnd, "{} !< {cwnd}", h.conn.ssthresh());
    let out: Vec<Seg> = std::iter::from_fn(|| h.poll()).collect();
    assert_eq!(h.conn.stats().retransmits, 0, "nothing is resent");
    //= https://www.rfc-editor.org/rfc/rfc3168#section-6.1.2
    //= type=test
    //# the TCP sender then sets the CWR flag in the TCP header of the
    //# first new data packet sent after the window reduction
    if let Some(first_new) = out.first() {
        assert!(first_new.flags.contains(Flags::CWR), "{first_new:?}");
        assert!(out.iter().skip(1).all(|s| !s.flags.contains(Flags::CWR)));
    }
    // More echoes in the same window: no second cut.
    let ssthresh = h.conn.ssthresh();
    for i in 2..6 {
        h.inject(Seg {
            flags: Flags::ECE,
            win: 65535,
            ..peer_ack(ISS + 1 + i * MSS)
        });
    }
    assert_eq!(h.conn.stats().ecn_reductions, 1);
    assert_eq!(h.conn.ssthresh(), ssthresh);
}
