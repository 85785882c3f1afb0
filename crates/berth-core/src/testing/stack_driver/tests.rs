//! The driver on scripted runs (it reaches what it should: established
//! connections, SYN cookies, reassembly) and on pseudo-random inputs, as
//! the fuzz target runs it.

use super::*;
use crate::rng::Rng;

fn setup() -> Setup {
    Setup {
        seed: 7,
        mtu: 1500,
        timestamps: true,
        sack: true,
        window_scaling: true,
        keepalive: false,
        recv_buffer: 4096,
    }
}

/// Peer 198.18.0.1, port 1000 + `peer_port`, to our `port` (80 or 81).
fn passive(port: u16, peer_port: u8) -> Tuple {
    let sel = match port {
        80 => 0,
        81 => 1,
        _ => 3,
    };
    Tuple::Passive((sel << 3) | peer_port)
}

fn seg(tuple: Tuple, flags: TcpFlags, seq: Num, ack: Option<Num>, len: u16) -> Action {
    Action::Tcp(
        TcpSpec {
            tuple,
            seq,
            ack,
            flags: flags.bits(),
            wnd: 65535,
            mss: None,
            ws: None,
            sack_perm: false,
            sack: Vec::new(),
            ts: None,
            len,
            bad_checksum: false,
        },
        None,
    )
}

/// SYN, the ACK of the SYN-ACK carrying `len` bytes.
fn handshake_with_data(tuple: Tuple, isn: u32, len: u16) -> Vec<Action> {
    vec![
        seg(tuple, TcpFlags::SYN, Num::Raw(isn), None, 0),
        seg(
            tuple,
            TcpFlags::ACK,
            Num::PeerIsn(1),
            Some(Num::StackNxt(0)),
            len,
        ),
    ]
}

#[test]
fn a_connection_delivers_the_peers_stream() {
    let mut actions = handshake_with_data(passive(81, 0), 0xffff_fff0, 300);
    actions.extend([
        Action::Accept,
        seg(
            passive(81, 0),
            TcpFlags::ACK.union(TcpFlags::FIN),
            Num::StackAck(0),
            Some(Num::StackNxt(0)),
            100,
        ),
        Action::Recv { conn: 0, max: 1000 },
    ]);
    let report = run(&setup(), &actions).unwrap();
    assert_eq!(report.accepted, 1);
    // Across the sequence number wrap.
    assert_eq!(report.bytes_read, 400);
}

#[test]
fn a_backlog_of_one_answers_with_cookies_that_complete() {
    // Two half-open connections on port 80: the second SYN gets a cookie.
    let mut actions = vec![seg(passive(80, 0), TcpFlags::SYN, Num::Raw(1000), None, 0)];
    actions.extend(handshake_with_data(passive(80, 1), 5000, 10));
    actions.extend([Action::Accept, Action::Recv { conn: 0, max: 100 }]);
    let report = run(&setup(), &actions).unwrap();
    assert_eq!(report.stats.syncookies_sent, 1);
    assert_eq!(report.stats.syncookies_validated, 1);
    assert_eq!(report.accepted, 1);
    assert_eq!(report.bytes_read, 10);
}

/// A cookie checks only the difference of the final ACK's numbers (as
/// Linux's does): an ACK with both one less than the handshake's makes a
/// connection whose stream starts at that ACK's sequence number.
#[test]
fn a_cookie_ack_with_both_numbers_moved_starts_its_own_stream() {
    let actions = [
        seg(passive(80, 0), TcpFlags::SYN, Num::Raw(1000), None, 0),
        seg(passive(80, 1), TcpFlags::SYN, Num::Raw(5000), None, 0),
        seg(
            passive(80, 1),
            TcpFlags::ACK,
            Num::PeerIsn(0),
            Some(Num::StackNxt(-1)),
            10,
        ),
        Action::Accept,
        Action::Recv { conn: 0, max: 100 },
    ];
    let report = run(&setup(), &actions).unwrap();
    assert_eq!(report.stats.syncookies_validated, 1);
    assert_eq!(report.bytes_read, 10);
}

#[test]
fn fragments_in_any_order_reassemble() {
    let frags = Frags {
        unit: 16,
        order: 1,
        drop: None,
        duplicate: true,
        overlap: false,
    };
    let actions = [
        Action::Udp {
            tuple: Tuple::Passive(0),
            len: 1000,
            frags: Some(frags),
        },
        Action::UdpRecv,
    ];
    let report = run(&setup(), &actions).unwrap();
    assert_eq!(report.stats.frag_reassembled, 1);
    assert_eq!(report.datagrams_read, 1);
}

#[test]
fn a_connection_the_stack_opens_carries_data_both_ways() {
    let active = Tuple::Active(0);
    let actions = [
        Action::Connect { port: 0, v6: true },
        seg(
            active,
            TcpFlags::SYN.union(TcpFlags::ACK),
            Num::Raw(77),
            Some(Num::StackNxt(0)),
            0,
        ),
        Action::Send { conn: 0, len: 500 },
        seg(
            active,
            TcpFlags::ACK,
            Num::PeerIsn(1),
            Some(Num::StackNxt(0)),
            50,
        ),
        Action::Recv { conn: 0, max: 50 },
    ];
    let report = run(&setup(), &actions).unwrap();
    assert_eq!(report.bytes_read, 50);
}

/// Random bytes, as the fuzzer's first inputs are: every run keeps the
/// invariants. (The fuzz target runs far more, and far better aimed.)
#[test]
fn random_inputs_keep_the_invariants() {
    let mut rng = Rng::new(12);
    for _ in 0..300 {
        let len = rng.below(2000) as usize;
        let data: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        let mut decoder = Decoder::new(&data);
        let setup = decoder.setup();
        let actions = decoder.actions(256);
        if let Err(e) = run(&setup, &actions) {
            panic!("{e}\nsetup: {setup:?}\ninput: {data:02x?}");
        }
    }
}
