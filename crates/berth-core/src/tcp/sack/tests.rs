use super::*;
use proptest::prelude::*;

/// Sequence numbers near the wrap, so every test crosses it.
const BASE: u32 = u32::MAX - 1500;

fn s(off: u32) -> SeqNum {
    SeqNum::new(BASE) + off
}

fn offsets(sb: &Scoreboard) -> Vec<(u32, u32)> {
    sb.blocks()
        .map(|(a, b)| (a.wrapping_offset_from(s(0)), b.wrapping_offset_from(s(0))))
        .collect()
}

/// 1000 octets in flight from offset 1000, and SACKs for three 100-octet
/// segments with holes between them.
fn three_holes() -> Scoreboard {
    let mut sb = Scoreboard::new();
    for start in [1100, 1300, 1500] {
        assert_eq!(
            sb.on_sack_block(s(start), s(start + 100), s(1000), s(2000)),
            100
        );
    }
    sb
}

#[test]
fn records_merges_and_trims() {
    let mut sb = Scoreboard::new();
    assert!(sb.is_empty());
    assert_eq!(sb.on_sack_block(s(200), s(300), s(100), s(1000)), 100);
    assert_eq!(sb.on_sack_block(s(300), s(350), s(100), s(1000)), 50);
    assert_eq!(sb.on_sack_block(s(500), s(600), s(100), s(1000)), 100);
    assert_eq!(offsets(&sb), vec![(200, 350), (500, 600)]);
    assert_eq!(sb.sacked_bytes(), 250);
    assert_eq!(sb.highest_sacked(), Some(s(600)));
    assert!(sb.is_sacked(s(200)) && !sb.is_sacked(s(350)));
    // Bridging the gap.
    assert_eq!(sb.on_sack_block(s(340), s(510), s(100), s(1000)), 150);
    assert_eq!(offsets(&sb), vec![(200, 600)]);
    sb.on_ack(s(250));
    assert_eq!(offsets(&sb), vec![(250, 600)]);
    sb.on_ack(s(600));
    assert!(sb.is_empty());
    assert_eq!(sb.highest_sacked(), None);
}

#[test]
fn ignores_blocks_the_sender_could_not_have_caused() {
    let mut sb = Scoreboard::new();
    let (una, nxt) = (s(1000), s(2000));
    assert_eq!(sb.on_sack_block(s(1100), s(1200), una, nxt), 100);
    // D-SACK below SND.UNA (RFC 2883).
    assert_eq!(sb.on_sack_block(s(500), s(600), una, nxt), 0);
    assert_eq!(sb.on_sack_block(s(900), s(1000), una, nxt), 0);
    // D-SACK inside an already SACKed range.
    assert_eq!(sb.on_sack_block(s(1120), s(1150), una, nxt), 0);
    // Past SND.NXT, empty, inverted.
    assert_eq!(sb.on_sack_block(s(1900), s(2001), una, nxt), 0);
    assert_eq!(sb.on_sack_block(s(1500), s(1500), una, nxt), 0);
    assert_eq!(sb.on_sack_block(s(1600), s(1500), una, nxt), 0);
    assert_eq!(offsets(&sb), vec![(1100, 1200)]);
    // Straddling SND.UNA: only the part above counts.
    assert_eq!(sb.on_sack_block(s(900), s(1050), una, nxt), 50);
    assert_eq!(offsets(&sb), vec![(1000, 1050), (1100, 1200)]);
}

#[test]
fn overflow_forgets_the_least_recently_reported() {
    let mut sb = Scoreboard::new();
    let (una, nxt) = (s(0), s(1000));
    for i in 0..MAX_BLOCKS as u32 {
        sb.on_sack_block(s(10 * i + 1), s(10 * i + 2), una, nxt);
    }
    // Re-reporting the first block makes the second the oldest.
    assert_eq!(sb.on_sack_block(s(1), s(2), una, nxt), 0);
    assert_eq!(sb.on_sack_block(s(900), s(950), una, nxt), 50);
    let blocks = offsets(&sb);
    assert_eq!(blocks.len(), MAX_BLOCKS);
    assert_eq!(blocks[0], (1, 2));
    assert_eq!(blocks[1], (21, 22));
    assert_eq!(blocks[MAX_BLOCKS - 1], (900, 950));
    // A block touching an existing one needs no eviction.
    assert_eq!(sb.on_sack_block(s(2), s(5), una, nxt), 3);
    assert_eq!(offsets(&sb).len(), MAX_BLOCKS);
}

//= https://www.rfc-editor.org/rfc/rfc6675#section-4
//= type=test
//# The routine returns true when either DupThresh discontiguous SACKed
//# sequences have arrived above 'SeqNum' or more than (DupThresh - 1) * SMSS
//# bytes with sequence numbers greater than 'SeqNum' have been SACKed.
#[test]
fn is_lost_by_blocks_or_by_bytes() {
    let sb = three_holes();
    // Three blocks above offset 1000, but only 300 octets (limit 2 * 1000).
    assert!(sb.is_lost(s(1000), DUP_THRESH, 1000));
    assert_eq!(sb.blocks_above(s(1000)), 3);
    assert!(!sb.is_lost(s(1200), DUP_THRESH, 1000));
    // By bytes: 200 octets above 1200 is not more than 2 * 100...
    assert_eq!(sb.sacked_bytes_above(s(1200)), 200);
    assert!(!sb.is_lost(s(1200), DUP_THRESH, 100));
    // ...but 201 is.
    assert!(sb.is_lost(s(1200), DUP_THRESH, 99));
    assert_eq!(sb.sacked_bytes_above(s(1550)), 49);
    assert!(!sb.is_lost(s(1999), DUP_THRESH, 1));
}

//= https://www.rfc-editor.org/rfc/rfc6675#section-4
//= type=test
//# (1.c) IsLost (S2) returns true.
#[test]
fn next_seg_rules_one_and_three() {
    let sb = three_holes();
    let (una, smss) = (s(1000), 100);
    // Nothing retransmitted yet: the hole at SND.UNA is lost.
    assert_eq!(
        sb.next_lost(una, una, DUP_THRESH, smss),
        Some((s(1000), 100))
    );
    // After retransmitting it, the next hole (at 1200) is not lost: two blocks
    // and exactly 2 * SMSS octets above it.
    assert_eq!(sb.next_lost(una, s(1100), DUP_THRESH, smss), None);
    // Rule (3) still offers it.
    assert_eq!(sb.next_hole(una, s(1100), smss), Some((s(1200), 100)));
    // A retransmission that ended mid-hole continues from there.
    assert_eq!(sb.next_hole(una, s(1250), smss), Some((s(1250), 50)));
    // Nothing above the highest SACKed octet qualifies (1.b).
    assert_eq!(sb.next_hole(una, s(1600), smss), None);
    assert_eq!(sb.next_hole(una, una, 0), None);
    assert_eq!(sb.next_hole(una, una, 30), Some((s(1000), 30)));
}

//= https://www.rfc-editor.org/rfc/rfc6675#section-4
//= type=test
//# After initializing pipe to zero, the following steps are taken for each
//# octet 'S1' in the sequence space between HighACK and HighData that has
//# not been SACKed:
#[test]
fn set_pipe() {
    let sb = three_holes();
    let (una, nxt, smss) = (s(1000), s(2000), 100);
    // Unsacked: 1000..1100 (lost), 1200..1300, 1400..1500, 1600..2000.
    assert_eq!(sb.pipe(una, nxt, una, DUP_THRESH, smss), 600);
    // The lost hole retransmitted: counted once (rule b).
    assert_eq!(sb.pipe(una, nxt, s(1100), DUP_THRESH, smss), 700);
    // A retransmitted hole that is not lost (1200..1300) counts twice.
    assert_eq!(sb.pipe(una, nxt, s(1300), DUP_THRESH, smss), 800);
    assert_eq!(
        Scoreboard::new().pipe(una, nxt, una, DUP_THRESH, smss),
        1000
    );
}

/// The reference model: one slot per octet of a 400-octet stretch of
/// sequence space, holding the stamp of the block that SACKed it.
#[derive(Debug)]
struct Model {
    sacked: Vec<Option<u64>>,
    clock: u64,
}

impl Model {
    fn runs(&self) -> Vec<(usize, usize, u64)> {
        let mut runs = Vec::new();
        let mut i = 0;
        while i < self.sacked.len() {
            if let Some(stamp) = self.sacked[i] {
                let start = i;
                while self.sacked.get(i).is_some_and(|x| x.is_some()) {
                    i += 1;
                }
                runs.push((start, i, stamp));
            } else {
                i += 1;
            }
        }
        runs
    }

    fn add(&mut self, start: i64, end: i64, una: usize, nxt: usize) -> u32 {
        if start >= end || end > nxt as i64 || end <= una as i64 {
            return 0;
        }
        let (start, end) = (start.max(una as i64) as usize, end as usize);
        let newly = (start..end).filter(|&i| self.sacked[i].is_none()).count() as u32;
        self.clock += 1;
        for i in start..end {
            self.sacked[i] = Some(0);
        }
        // The whole run the block landed in takes the new stamp.
        let (rs, re, _) = self
            .runs()
            .into_iter()
            .find(|r| r.0 <= start && end <= r.1)
            .unwrap();
        for i in rs..re {
            self.sacked[i] = Some(self.clock);
        }
        let runs = self.runs();
        if runs.len() > MAX_BLOCKS {
            let (os, oe, _) = *runs.iter().min_by_key(|r| r.2).unwrap();
            for i in os..oe {
                self.sacked[i] = None;
            }
        }
        newly
    }

    fn above(&self, seq: usize) -> (u32, u32) {
        let blocks = self.runs().iter().filter(|r| r.1 > seq + 1).count() as u32;
        let bytes = self
            .sacked
            .iter()
            .skip(seq + 1)
            .filter(|x| x.is_some())
            .count() as u32;
        (blocks, bytes)
    }

    fn is_lost(&self, seq: usize, dupthresh: u32, smss: u32) -> bool {
        let (blocks, bytes) = self.above(seq);
        blocks >= dupthresh || bytes > (dupthresh - 1) * smss
    }

    fn top(&self) -> Option<usize> {
        self.runs().last().map(|r| r.1)
    }

    fn next_hole(&self, una: usize, rxt_end: usize, smss: u32) -> Option<(usize, u32)> {
        let top = self.top()?;
        let s = (una.max(rxt_end)..top).find(|&i| self.sacked[i].is_none())?;
        let len = (s..top).take_while(|&i| self.sacked[i].is_none()).count() as u32;
        Some((s, len.min(smss)))
    }

    fn pipe(&self, una: usize, nxt: usize, rxt_end: usize, dupthresh: u32, smss: u32) -> u32 {
        let mut pipe = 0;
        for i in una..nxt {
            if self.sacked[i].is_some() {
                continue;
            }
            if !self.is_lost(i, dupthresh, smss) {
                pipe += 1;
            }
            if i < rxt_end {
                pipe += 1;
            }
        }
        pipe
    }
}

const SPACE: usize = 400;

#[derive(Debug, Clone)]
enum Op {
    /// A SACK block, as offsets that may fall below SND.UNA, past SND.NXT,
    /// or be inverted.
    Sack(i64, i64),
    Ack(usize),
    Send(usize),
    Clear,
}

/// `sparse_weight` favours one-octet blocks at odd offsets, which run the
/// scoreboard out of slots.
fn op(sparse_weight: u32) -> impl Strategy<Value = Op> {
    prop_oneof![
        sparse_weight => (0i64..200).prop_map(|a| Op::Sack(2 * a + 1, 2 * a + 2)),
        8 => (-50i64..450, 0i64..60).prop_map(|(a, l)| Op::Sack(a, a + l)),
        1 => (-50i64..450, -50i64..450).prop_map(|(a, b)| Op::Sack(a, b)),
        2 => (0usize..60).prop_map(Op::Ack),
        2 => (0usize..120).prop_map(Op::Send),
        1 => Just(Op::Clear),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]
    #[test]
    fn matches_bitmap_model(
        origin in any::<u32>(),
        ops in prop_oneof![Just(1u32), Just(40)]
            .prop_flat_map(|w| proptest::collection::vec(op(w), 0..120)),
        dupthresh in 1u32..5,
        smss in prop_oneof![1u32..6, 1u32..40],
        rxt in 0usize..SPACE,
    ) {
        let at = |off: i64| SeqNum::new(origin) + (off as u32);
        let mut sb = Scoreboard::new();
        let mut m = Model { sacked: vec![None; SPACE], clock: 0 };
        let (mut una, mut nxt) = (0usize, 300usize);
        for op in ops {
            match op {
                Op::Sack(a, b) => {
                    let got = sb.on_sack_block(at(a), at(b), at(una as i64), at(nxt as i64));
                    prop_assert_eq!(got, m.add(a, b, una, nxt));
                }
                Op::Ack(n) => {
                    una = (una + n).min(nxt);
                    sb.on_ack(at(una as i64));
                    for slot in &mut m.sacked[..una] {
                        *slot = None;
                    }
                }
                Op::Send(n) => nxt = (nxt + n).min(SPACE),
                Op::Clear => {
                    sb.clear();
                    m.sacked.iter_mut().for_each(|x| *x = None);
                }
            }
            let want: Vec<(u32, u32)> = m.runs().iter().map(|r| (r.0 as u32, r.1 as u32)).collect();
            let got: Vec<(u32, u32)> = sb
                .blocks()
                .map(|(a, b)| (a.wrapping_offset_from(at(0)), b.wrapping_offset_from(at(0))))
                .collect();
            prop_assert_eq!(got, want);
            prop_assert_eq!(sb.highest_sacked().map(|t| t.wrapping_offset_from(at(0)) as usize), m.top());
            prop_assert_eq!(sb.sacked_bytes() as usize, m.sacked.iter().filter(|x| x.is_some()).count());
        }
        for i in una..nxt {
            let (blocks, bytes) = m.above(i);
            prop_assert_eq!(sb.blocks_above(at(i as i64)), blocks);
            prop_assert_eq!(sb.sacked_bytes_above(at(i as i64)), bytes);
            prop_assert_eq!(sb.is_sacked(at(i as i64)), m.sacked[i].is_some());
            prop_assert_eq!(sb.is_lost(at(i as i64), dupthresh, smss), m.is_lost(i, dupthresh, smss));
        }
        let rxt_end = rxt.clamp(una, nxt);
        let to_seq = |x: Option<(usize, u32)>| x.map(|(o, l)| (at(o as i64), l));
        let hole = m.next_hole(una, rxt_end, smss);
        prop_assert_eq!(sb.next_hole(at(una as i64), at(rxt_end as i64), smss), to_seq(hole));
        let lost = hole.filter(|&(o, _)| m.is_lost(o, dupthresh, smss));
        prop_assert_eq!(
            sb.next_lost(at(una as i64), at(rxt_end as i64), dupthresh, smss),
            to_seq(lost)
        );
        prop_assert_eq!(
            sb.pipe(at(una as i64), at(nxt as i64), at(rxt_end as i64), dupthresh, smss),
            m.pipe(una, nxt, rxt_end, dupthresh, smss)
        );
    }

    /// Arbitrary sequence numbers everywhere, even from a confused caller:
    /// nothing panics and the block count stays bounded.
    #[test]
    fn arbitrary_input_never_panics(
        calls in proptest::collection::vec(
            (any::<u32>(), any::<u32>(), any::<u32>(), any::<u32>(), any::<u32>(), any::<u32>()), 0..80),
    ) {
        let mut sb = Scoreboard::new();
        for (a, b, una, nxt, t, smss) in calls {
            let (a, b, una, nxt, t) =
                (SeqNum::new(a), SeqNum::new(b), SeqNum::new(una), SeqNum::new(nxt), SeqNum::new(t));
            sb.on_sack_block(a, b, una, nxt);
            if smss % 7 == 0 {
                sb.on_ack(una);
            }
            let _ = sb.is_lost(t, smss % 5, smss);
            let _ = sb.pipe(una, nxt, t, smss % 5, smss);
            let _ = sb.next_lost(una, t, smss % 5, smss % 3000);
            let _ = sb.sacked_bytes_above(t);
            let _ = sb.sacked_bytes();
            prop_assert!(sb.blocks().count() <= MAX_BLOCKS);
        }
    }

    /// A sane sender (SND.UNA and SND.NXT only move forward, less than 2^30
    /// apart) and a peer sending arbitrary blocks: the blocks stay inside
    /// SND.UNA..SND.NXT, sorted, disjoint and not touching.
    #[test]
    fn arbitrary_blocks_keep_the_invariants(
        origin in any::<u32>(),
        calls in proptest::collection::vec(
            (any::<u32>(), any::<u32>(), 0u32..1 << 20, 0u32..1 << 20), 0..100),
    ) {
        let mut sb = Scoreboard::new();
        let (mut una, mut nxt) = (SeqNum::new(origin), SeqNum::new(origin) + 1000);
        for (a, b, acked, sent) in calls {
            sb.on_sack_block(SeqNum::new(a), SeqNum::new(b), una, nxt);
            // A peer can also echo blocks near the window.
            sb.on_sack_block(una + (a % 5000), una + (b % 5000), una, nxt);
            nxt += sent;
            una += acked.min(nxt.wrapping_offset_from(una));
            sb.on_ack(una);
            let blocks: Vec<_> = sb.blocks().collect();
            prop_assert!(blocks.len() <= MAX_BLOCKS);
            for (start, end) in &blocks {
                prop_assert!(start.before(*end));
                prop_assert!(una.before_or_eq(*start) && end.before_or_eq(nxt));
            }
            for pair in blocks.windows(2) {
                prop_assert!(pair[0].1.before(pair[1].0));
            }
        }
    }
}
