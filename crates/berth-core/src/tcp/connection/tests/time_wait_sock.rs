//! The compact TIME-WAIT record (`time_wait_sock.rs`) against the full
//! connection it was made from: both are fed the same segments, the same
//! time and the same calls, and must answer alike, byte for byte (what
//! they send, when their timer is due, their state, their events, and
//! whether a SYN may reopen the 4-tuple). The scripted tests of TIME-WAIT
//! (`close`, `reset`, `timestamps`, `invalid`, `states`) check the full
//! connection against the RFCs; this checks the record against it.

use proptest::collection::vec;
use proptest::prelude::*;

use super::harness::{Harness, IRS, ISS, LOCAL, REMOTE, Seg, parse_out, peer_syn, seg};
use crate::tcp::config::TcpConfig;
use crate::tcp::connection::{Connection, MemoryPressure, TimeWaitSock};
use crate::tcp::segment::Segment;
use crate::tcp::{EcnMode, Outcome, State};
use crate::time::{Duration, Instant};
use crate::wire::{ChecksumCaps, TcpFlags as Flags, TcpPacket, TcpRepr};

/// The peer's first timestamp.
const PEER_TS: u32 = 7_000;

/// How the connection was set up.
#[derive(Debug, Clone, Copy)]
struct Setup {
    timestamps: bool,
    sack: bool,
    scaling: bool,
    rfc1337: bool,
    ecn: bool,
    /// The peer acknowledges our FIN and sends its own in one segment
    /// (else: our FIN is acknowledged first, FIN-WAIT-2, then its FIN).
    fin_with_ack: bool,
    /// The record is made before the ACK of the peer's FIN is sent.
    before_ack: bool,
    recv_buffer: usize,
}

fn setup() -> impl Strategy<Value = Setup> {
    (
        (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()),
        (any::<bool>(), any::<bool>(), any::<bool>()),
        prop::sample::select(vec![4096usize, 32768, 128 * 1024]),
    )
        .prop_map(
            |(
                (timestamps, sack, scaling, rfc1337),
                (ecn, fin_with_ack, before_ack),
                recv_buffer,
            )| {
                Setup {
                    timestamps,
                    sack,
                    scaling,
                    rfc1337,
                    ecn,
                    fin_with_ack,
                    before_ack,
                    recv_buffer,
                }
            },
        )
}

/// What is done to both.
#[derive(Debug, Clone)]
enum Action {
    /// A segment from the peer, its numbers relative to the connection's.
    Segment {
        seq: i64,
        ack: Option<i64>,
        flags: u8,
        win: u16,
        /// TSval relative to the peer's last, and TSecr.
        ts: Option<(i64, u32)>,
        len: usize,
        dsack: Option<(i64, i64)>,
        ce: bool,
    },
    /// Time passes (timers that fall due run).
    Advance(u64),
    /// The stack runs out of buffer memory.
    Exhausted,
    /// The application aborts.
    Abort,
}

fn offset() -> impl Strategy<Value = i64> {
    prop_oneof![
        4 => prop::sample::select(vec![0i64, 1, -1, 2, -2, 1000, -1000]),
        // Around MAX.SND.WND (RFC 5961's ACK test), before and after a
        // larger window.
        1 => prop::sample::select(vec![-8192i64, -8193, -65535, -65536, -1_000_000, -8_000_000]),
        2 => -70_000i64..70_000,
        1 => prop::sample::select(vec![
            i64::from(u32::MAX / 2),
            -i64::from(u32::MAX / 2),
            1 << 20,
            -(1 << 20)
        ]),
        1 => any::<u32>().prop_map(i64::from),
    ]
}

fn action() -> impl Strategy<Value = Action> {
    let segment = (
        (offset(), prop::option::weighted(0.85, offset())),
        prop_oneof![
            4 => Just(0u8),
            3 => Just(0x01u8), // FIN
            2 => Just(0x04u8), // RST
            2 => Just(0x02u8), // SYN
            1 => Just(0x40u8), // ECE
            1 => Just(0x80u8), // CWR
            2 => any::<u8>(),
        ],
        prop_oneof![3 => Just(8192u16), 1 => Just(0u16), 2 => any::<u16>()],
        prop::option::weighted(
            0.8,
            (
                prop_oneof![
                    4 => prop::sample::select(vec![0i64, 1, -1, 10, 1000]),
                    1 => -(1i64 << 31)..(1i64 << 31),
                ],
                any::<u32>(),
            ),
        ),
        prop_oneof![4 => Just(0usize), 1 => 1usize..4],
        prop::option::weighted(0.1, (offset(), offset())),
        prop::bool::weighted(0.15),
    )
        .prop_map(
            |((seq, ack), flags, win, ts, len, dsack, ce)| Action::Segment {
                seq,
                ack,
                flags,
                win,
                ts,
                len,
                dsack,
                ce,
            },
        );
    prop_oneof![
        12 => segment,
        4 => prop_oneof![
            3 => 0u64..600,
            1 => prop::sample::select(vec![1000u64, 29_999, 30_000, 59_999, 60_000, 60_001]),
            1 => 0u64..200_000,
        ]
        .prop_map(Action::Advance),
        1 => Just(Action::Exhausted),
        1 => Just(Action::Abort),
    ]
}

fn config(s: Setup) -> TcpConfig {
    TcpConfig {
        recv_buffer: s.recv_buffer,
        recv_buffer_max: 0,
        window_scaling: s.scaling,
        timestamps: s.timestamps,
        sack: s.sack,
        rfc1337: s.rfc1337,
        ecn: if s.ecn {
            EcnMode::Passive
        } else {
            EcnMode::Off
        },
        tlp: false,
        ..TcpConfig::default()
    }
}

/// The peer's segment `s`, on the wire.
fn to_segment(s: &Seg) -> Vec<u8> {
    let mut sack_ranges = [None; crate::wire::tcp_option::MAX_SACK_BLOCKS];
    for (out, &b) in sack_ranges.iter_mut().zip(&s.sack) {
        *out = Some(b);
    }
    let repr = TcpRepr {
        src_port: REMOTE.port(),
        dst_port: LOCAL.port(),
        seq_number: s.seq,
        ack_number: s.ack,
        flags: s.flags,
        window_len: s.win,
        urgent_pointer: 0,
        max_seg_size: s.mss,
        window_scale: s.ws,
        sack_permitted: s.sack_perm,
        sack_ranges,
        timestamp: s.ts,
        payload: &s.data,
    };
    let mut buf = vec![0; repr.buffer_len()];
    repr.emit(
        &mut TcpPacket::new_unchecked(&mut buf[..]),
        REMOTE.ip(),
        LOCAL.ip(),
        ChecksumCaps::FULL,
    );
    buf
}

fn inject(conn: &mut Connection, tw: &mut TimeWaitSock, now: Instant, s: &Seg, ce: bool) {
    let bytes = to_segment(s);
    let packet = TcpPacket::new_checked(&bytes[..]).unwrap();
    let repr = TcpRepr::parse(&packet, REMOTE.ip(), LOCAL.ip(), ChecksumCaps::FULL).unwrap();
    let mut segment = Segment::from_repr(&repr);
    segment.ce = ce;
    let full: Outcome = conn.on_segment(now, &segment);
    let compact = tw.on_segment(now, &segment);
    assert_eq!(full, compact, "outcome of {s:?} at {now}");
}

/// Everything the two say now is the same.
fn same(conn: &mut Connection, tw: &mut TimeWaitSock, now: Instant) {
    // A buffer too small for the ACK first: it waits in both.
    for room in [24usize, 1480, 1480] {
        let mut a = vec![0u8; room];
        let mut b = vec![0u8; room];
        let na = conn.poll_transmit(now, &mut a);
        let nb = tw.poll_transmit(now, &mut b);
        assert_eq!(
            na.map(|n| parse_out(&a[..n], LOCAL, REMOTE)),
            nb.map(|n| parse_out(&b[..n], LOCAL, REMOTE)),
            "segment out at {now}"
        );
        assert_eq!(na.map(|n| a[..n].to_vec()), nb.map(|n| b[..n].to_vec()));
    }
    assert_eq!(conn.poll_at(), tw.poll_at(), "deadline at {now}");
    assert_eq!(conn.state(), tw.state(), "state at {now}");
    assert_eq!(conn.is_closed(), tw.is_closed());
    assert_eq!(conn.take_events(), tw.take_events(), "events at {now}");
    assert_eq!(conn.time_wait_since(), tw.time_wait_since());
    assert_eq!(conn.uses_timestamps(), tw.uses_timestamps());
    assert_eq!(conn.tos(), tw.tos());
}

/// A connection the application closed, driven into TIME-WAIT: ours,
/// the peer's next sequence number, the peer's last timestamp.
fn into_time_wait(s: Setup) -> (Harness, u32) {
    let mut h = Harness::accept(
        config(s),
        Seg {
            ws: s.scaling.then_some(7),
            sack_perm: s.sack,
            ts: s.timestamps.then_some((PEER_TS, 0)),
            flags: if s.ecn {
                Flags::SYN | Flags::ECE | Flags::CWR
            } else {
                Flags::SYN
            },
            ..peer_syn()
        },
    );
    let syn_ack = h.poll().unwrap();
    assert!(syn_ack.flags.contains(Flags::SYN));
    let echo = |h: &Harness| h.now.total_millis() as u32;
    h.advance(10);
    let mut peer_ts = PEER_TS;
    let mut ts = |h: &Harness| {
        peer_ts += 10;
        s.timestamps.then_some((peer_ts, echo(h)))
    };
    h.inject(Seg {
        seq: IRS + 1,
        ack: Some(ISS + 1),
        win: 8192,
        ts: ts(&h),
        ..seg()
    });
    assert_eq!(h.state(), State::Established);
    h.conn.close(h.now);
    assert_eq!(h.state(), State::FinWait1);
    let fin = h.poll().unwrap();
    assert!(fin.flags.contains(Flags::FIN));
    h.advance(10);
    if !s.fin_with_ack {
        h.inject(Seg {
            seq: IRS + 1,
            ack: Some(ISS + 2),
            win: 8192,
            ts: ts(&h),
            ..seg()
        });
        assert_eq!(h.state(), State::FinWait2);
        h.advance(10);
    }
    h.inject(Seg {
        seq: IRS + 1,
        ack: Some(ISS + 2),
        flags: Flags::FIN,
        win: 8192,
        ts: ts(&h),
        ..seg()
    });
    assert_eq!(h.state(), State::TimeWait);
    if !s.before_ack {
        let ack = h.poll().unwrap();
        assert_eq!(ack.ack, Some(IRS + 2));
    }
    let last = PEER_TS + if s.fin_with_ack { 20 } else { 30 };
    (h, last)
}

fn run(s: Setup, actions: &[Action]) {
    let (mut h, mut peer_ts) = into_time_wait(s);
    let mut tw = h
        .conn
        .time_wait_sock()
        .expect("a closed connection in TIME-WAIT");
    let (snd_nxt, rcv_nxt) = (ISS + 2, IRS + 2);
    let mut now = h.now;
    let conn = &mut h.conn;
    same(conn, &mut tw, now);
    for a in actions {
        match *a {
            Action::Segment {
                seq,
                ack,
                flags,
                win,
                ts,
                len,
                dsack,
                ce,
            } => {
                let at = |base: u32, off: i64| (i64::from(base) + off) as u32;
                let ts = ts.map(|(val, ecr)| {
                    let val = at(peer_ts, val);
                    peer_ts = peer_ts.max(val);
                    (val, ecr)
                });
                let s = Seg {
                    seq: at(rcv_nxt, seq),
                    ack: ack.map(|a| at(snd_nxt, a)),
                    // Not ACK: that is `ack`.
                    flags: Flags::from_bits(flags).difference(Flags::ACK),
                    win,
                    ts,
                    sack: dsack
                        .map(|(l, r)| vec![(at(rcv_nxt, l), at(rcv_nxt, r))])
                        .unwrap_or_default(),
                    data: vec![b'x'; len],
                    ..seg()
                };
                inject(conn, &mut tw, now, &s, ce);
            }
            Action::Advance(ms) => {
                let target = now + Duration::from_millis(ms);
                while let Some(t) = conn.poll_at() {
                    if t > target {
                        break;
                    }
                    assert_eq!(tw.poll_at(), Some(t));
                    now = now.max(t);
                    conn.on_timeout(now);
                    tw.on_timeout(now);
                    same(conn, &mut tw, now);
                }
                now = target;
            }
            Action::Exhausted => {
                conn.set_memory_pressure(MemoryPressure::Exhausted);
                tw.set_memory_exhausted();
            }
            Action::Abort => {
                conn.abort();
                tw.abort();
            }
        }
        same(conn, &mut tw, now);
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 2000,
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_compact_time_wait_answers_as_the_connection(
        s in setup(),
        actions in vec(action(), 0..40),
    ) {
        run(s, &actions);
    }
}

/// A connection the application still holds keeps its full form: the
/// record is made only from one in TIME-WAIT with nothing left in it.
#[test]
fn only_an_empty_time_wait_is_made_compact() {
    let s = Setup {
        timestamps: true,
        sack: true,
        scaling: true,
        rfc1337: true,
        ecn: false,
        fin_with_ack: false,
        before_ack: false,
        recv_buffer: 32768,
    };
    let mut h = Harness::accept(config(s), peer_syn());
    assert!(h.conn.time_wait_sock().is_none(), "SYN-RECEIVED");
    let _ = h.poll();
    h.inject(Seg {
        seq: IRS + 1,
        ack: Some(ISS + 1),
        win: 8192,
        ..seg()
    });
    assert!(h.conn.time_wait_sock().is_none(), "ESTABLISHED");
    let (h, _) = into_time_wait(s);
    assert!(h.conn.time_wait_sock().is_some());
}

/// A window update in TIME-WAIT widens the ACKs RFC 5961 takes (MAX.SND.WND),
/// and what it takes draws no ACK, in both.
//= https://www.rfc-editor.org/rfc/rfc5961#section-5.2
//= type=test
//# The ACK value is considered acceptable only if
//# it is in the range of ((SND.UNA - MAX.SND.WND) =< SEG.ACK =<
//# SND.NXT).
#[test]
fn a_window_update_in_time_wait_widens_the_acks_taken() {
    let s = Setup {
        timestamps: false,
        sack: false,
        scaling: true,
        rfc1337: true,
        ecn: false,
        fin_with_ack: true,
        before_ack: false,
        recv_buffer: 32768,
    };
    let ack = |ack: i64, win: u16| Action::Segment {
        seq: 0,
        ack: Some(ack),
        flags: 0,
        win,
        ts: None,
        len: 0,
        dsack: None,
        ce: false,
    };
    run(
        s,
        &[
            ack(-100_000, 8192),
            Action::Advance(1000),
            ack(0, 65535),
            ack(-100_000, 8192),
            Action::Advance(1000),
            ack(-8_000_000, 8192),
        ],
    );
}
