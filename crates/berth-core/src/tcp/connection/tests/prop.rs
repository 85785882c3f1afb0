//! Property tests: an opened connection fed arbitrary sequences of
//! well-formed segments with arbitrary fields (sequence and acknowledgment
//! numbers near the connection's own, or anything), interleaved with time
//! advances and application calls. The driver in
//! `crate::testing::tcp_driver` checks the invariants after every step: no
//! panic, every `poll_transmit` burst ends, every segment out parses with a
//! valid checksum, timers make progress, and the application reads a prefix
//! of the peer's stream, in order.

use proptest::collection::vec;
use proptest::prelude::*;

use crate::testing::tcp_driver::{Action, Decoder, Num, SegSpec, Setup, run};

fn num() -> impl Strategy<Value = Num> {
    prop_oneof![
        4 => (-3000i32..3000).prop_map(Num::RcvNxt),
        4 => (-3000i32..3000).prop_map(Num::SndMax),
        3 => (-3000i32..3000).prop_map(Num::SndUna),
        1 => any::<i32>().prop_map(Num::RcvNxt),
        1 => any::<u32>().prop_map(Num::Raw),
    ]
}

/// Mostly small exact offsets (0, +-1, one MSS), which hit the edges.
fn near() -> impl Strategy<Value = Num> {
    prop_oneof![
        2 => prop::sample::select(vec![0i32, 1, -1, 1460, -1460, 2920]).prop_map(Num::RcvNxt),
        2 => prop::sample::select(vec![0i32, 1, -1, 1460, -1460]).prop_map(Num::SndUna),
        1 => prop::sample::select(vec![0i32, 1, -1]).prop_map(Num::SndMax),
        3 => num(),
    ]
}

fn flags() -> impl Strategy<Value = u8> {
    prop_oneof![
        6 => Just(0u8),
        2 => Just(0x08u8), // PSH
        1 => Just(0x01u8), // FIN
        1 => Just(0x04u8), // RST
        1 => Just(0x02u8), // SYN
        1 => any::<u8>(),
    ]
}

fn seg() -> impl Strategy<Value = SegSpec> {
    (
        (near(), prop::option::weighted(0.9, near()), flags()),
        prop_oneof![3 => Just(8192u16), 1 => Just(0u16), 2 => any::<u16>()],
        (
            prop::option::weighted(0.05, any::<u16>()),
            prop::option::weighted(0.05, any::<u8>()),
            prop::bool::weighted(0.05),
        ),
        vec((near(), near()), 0..=4),
        prop::option::weighted(
            0.6,
            (
                prop_oneof![4 => Just(0i32), 1 => -100_000i32..100_000],
                prop::option::weighted(0.2, any::<u32>()),
            ),
        ),
        prop_oneof![3 => Just(0u16), 3 => 1u16..=1460, 1 => 1461u16..=2000],
    )
        .prop_map(
            |((seq, ack, flags), wnd, (mss, ws, sack_perm), sack, ts, len)| SegSpec {
                seq,
                ack,
                flags,
                wnd,
                mss,
                ws,
                sack_perm,
                sack,
                ts,
                len,
            },
        )
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        12 => seg().prop_map(Action::Segment),
        4 => prop_oneof![
            3 => 0u32..300,
            2 => 300u32..5000,
            1 => 5000u32..200_000,
        ]
        .prop_map(Action::Advance),
        3 => (0u16..5000).prop_map(Action::Send),
        3 => (0u16..5000).prop_map(Action::Recv),
        1 => Just(Action::Shutdown),
        1 => Just(Action::Close),
        1 => Just(Action::Abort),
        1 => (0u16..1500).prop_map(Action::PathMtu),
        1 => any::<bool>().prop_map(Action::NoDelay),
        1 => any::<bool>().prop_map(Action::Keepalive),
        1 => any::<bool>().prop_map(Action::Cork),
    ]
}

fn setup() -> impl Strategy<Value = Setup> {
    (
        any::<bool>(),
        // ISNs anywhere, with extra weight just below the wrap.
        prop_oneof![any::<u32>(), (u32::MAX - 4000)..=u32::MAX],
        prop_oneof![any::<u32>(), (u32::MAX - 4000)..=u32::MAX],
        (
            prop::option::of(0u8..16),
            any::<bool>(),
            any::<bool>(),
            prop::option::of(prop_oneof![Just(1460u16), any::<u16>()]),
        ),
        prop_oneof![Just(65535u16), any::<u16>()],
        prop_oneof![Just(32768u32), 1u32..=65535, 65536u32..=(1 << 20)],
        (any::<bool>(), any::<bool>()),
    )
        .prop_map(
            |(
                passive,
                iss,
                irs,
                (peer_ws, peer_sack, peer_ts, peer_mss),
                peer_wnd,
                recv_buffer,
                (newreno, tuning),
            )| {
                Setup {
                    passive,
                    iss,
                    irs,
                    peer_ws,
                    peer_sack,
                    peer_ts,
                    peer_mss,
                    peer_wnd,
                    recv_buffer,
                    newreno,
                    tuning,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_segments_time_and_calls_keep_the_invariants(
        setup in setup(),
        actions in vec(action(), 1..120),
    ) {
        if let Err(violation) = run(&setup, &actions) {
            prop_assert!(false, "{}", violation);
        }
    }

    #[test]
    fn arbitrary_bytes_decode_to_runs_that_keep_the_invariants(
        bytes in vec(any::<u8>(), 0..600),
    ) {
        let mut d = Decoder::new(&bytes);
        let setup = d.setup();
        let actions = d.actions(256);
        if let Err(violation) = run(&setup, &actions) {
            prop_assert!(false, "{}", violation);
        }
    }
}

/// A peer that sends in order across the sequence-number wrap while the
/// application reads: everything arrives (the model sees the full stream,
/// not only a prefix).
#[test]
fn in_order_stream_is_delivered_whole() {
    let setup = Setup {
        passive: true,
        iss: u32::MAX - 10,
        irs: u32::MAX - 100,
        peer_ws: Some(2),
        peer_sack: true,
        peer_ts: true,
        peer_mss: Some(1460),
        peer_wnd: 65535,
        recv_buffer: 32768,
        newreno: false,
        tuning: true,
    };
    let mut actions = Vec::new();
    for i in 0..40u32 {
        actions.push(Action::Segment(SegSpec {
            seq: Num::Raw(setup.irs.wrapping_add(1 + 1000 * i)),
            ack: Some(Num::SndUna(0)),
            flags: 0,
            wnd: 8192,
            mss: None,
            ws: None,
            sack_perm: false,
            sack: Vec::new(),
            ts: Some((i as i32, None)),
            len: 1000,
        }));
        actions.push(Action::Recv(1000));
        actions.push(Action::Advance(1));
    }
    let report = run(&setup, &actions).unwrap();
    assert_eq!(report.delivered, 40_000);
}
