use super::*;
use proptest::prelude::*;
use std::collections::VecDeque;

fn readable(b: &RecvBuffer) -> Vec<u8> {
    let (x, y) = b.readable_slices();
    x.iter().chain(y).copied().collect()
}

fn sacks(b: &RecvBuffer) -> Vec<(u32, u32)> {
    let mut out = [(0, 0); MAX_RANGES + 4];
    let n = b.sack_blocks(&mut out);
    out[..n].to_vec()
}

#[test]
fn in_order_then_read() {
    let mut b = RecvBuffer::new(8);
    assert_eq!(b.window().get(), 8);
    assert_eq!(b.write_at(0, b"hello"), 5);
    assert_eq!(b.readable_len(), 5);
    assert_eq!(b.window().get(), 3);
    let mut out = [0u8; 3];
    assert_eq!(b.peek(&mut out), 3);
    assert_eq!(&out, b"hel");
    assert_eq!(b.read(&mut out), 3);
    assert_eq!(readable(&b), b"lo");
    // Past the window: trimmed.
    assert_eq!(b.write_at(0, b"0123456789"), 6);
    assert_eq!(readable(&b), b"lo012345");
    assert_eq!(b.window(), WindowSize::ZERO);
    assert_eq!(b.write_at(0, b"x"), 0);
    assert_eq!(b.consume(100), 8);
    assert!(b.is_empty());
}

//= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
//= type=test
//# Segments with higher beginning sequence numbers SHOULD be held for later
//# processing (SHLD-31).
#[test]
fn out_of_order_is_held_until_the_hole_fills() {
    let mut b = RecvBuffer::new(20);
    assert_eq!(b.write_at(5, b"fghij"), 5);
    assert_eq!(b.write_at(12, b"mn"), 2);
    assert!(b.has_out_of_order());
    assert_eq!(b.readable_len(), 0);
    assert_eq!(b.window().get(), 20);
    assert_eq!(b.write_at(0, b"abc"), 3);
    assert_eq!(b.readable_len(), 3);
    // Offsets are now relative to the new RCV.NXT.
    assert_eq!(sacks(&b), vec![(9, 11), (2, 7)]);
    assert_eq!(b.write_at(0, b"de"), 2);
    assert_eq!(readable(&b), b"abcdefghij");
    assert_eq!(sacks(&b), vec![(2, 4)]);
    assert_eq!(b.write_at(0, b"klmnop"), 6);
    assert_eq!(readable(&b), b"abcdefghijklmnop");
    assert!(!b.has_out_of_order());
}

#[test]
fn first_copy_of_a_byte_wins() {
    let mut b = RecvBuffer::new(16);
    assert_eq!(b.write_at(2, b"CD"), 2);
    // Overlapping retransmission with different contents.
    assert_eq!(b.write_at(0, b"abcdef"), 6);
    assert_eq!(readable(&b), b"abCDef");
}

#[test]
fn out_of_order_data_survives_reads_across_the_wrap() {
    let mut b = RecvBuffer::new(8);
    assert_eq!(b.write_at(0, b"abcdef"), 6);
    assert_eq!(b.read(&mut [0u8; 5]), 5);
    // Window is now 7 and wraps around the end of the ring.
    assert_eq!(b.write_at(3, b"XYZ"), 3);
    assert_eq!(b.write_at(1, b"12"), 2);
    assert_eq!(b.write_at(6, b"!?"), 1);
    assert_eq!(readable(&b), b"f");
    assert_eq!(b.write_at(0, b"w"), 1);
    assert_eq!(readable(&b), b"fw12XYZ!");
    assert_eq!(b.window(), WindowSize::ZERO);
}

#[test]
fn range_slots_exhausted_refuses_without_damage() {
    let cap = 4 * MAX_RANGES + 100;
    let mut b = RecvBuffer::new(cap);
    for i in 0..MAX_RANGES {
        assert_eq!(b.write_at(2 + 2 * i, b"x"), 1);
    }
    assert_eq!(sacks(&b).len(), MAX_RANGES);
    let before = sacks(&b);
    // One more disjoint range is refused and changes nothing.
    assert_eq!(b.write_at(2 * MAX_RANGES + 10, b"late"), 0);
    assert_eq!(sacks(&b), before);
    // Touching an existing range needs no slot.
    assert_eq!(b.write_at(3, b"y"), 1);
    assert_eq!(sacks(&b).len(), MAX_RANGES - 1);
    assert_eq!(sacks(&b)[0], (2, 5));
    // In-order data is never refused.
    let mut full = RecvBuffer::new(cap);
    for i in 0..MAX_RANGES {
        full.write_at(2 + 2 * i, b"x");
    }
    assert_eq!(full.write_at(0, b"a"), 1);
    assert_eq!(full.readable_len(), 1);
    assert_eq!(sacks(&full).len(), MAX_RANGES);
    assert_eq!(full.write_at(0, b"b"), 1);
    assert_eq!(full.readable_len(), 3);
}

//= https://www.rfc-editor.org/rfc/rfc2018#section-4
//= type=test
//# The first SACK block (i.e., the one immediately following the
//# kind and length fields in the option) MUST specify the contiguous
//# block of data containing the segment which triggered this ACK,
//# unless that segment advanced the Acknowledgment Number field in
//# the header.
#[test]
fn sack_blocks_most_recent_first() {
    let mut b = RecvBuffer::new(100);
    b.write_at(10, b"aa");
    b.write_at(20, b"bb");
    b.write_at(30, b"cc");
    assert_eq!(sacks(&b), vec![(30, 32), (20, 22), (10, 12)]);
    // A duplicate inside an old block makes it the first again.
    b.write_at(10, b"a");
    assert_eq!(sacks(&b), vec![(10, 12), (30, 32), (20, 22)]);
    // Growing a block counts as receiving into it.
    b.write_at(22, b"b");
    assert_eq!(sacks(&b), vec![(20, 23), (10, 12), (30, 32)]);
    // Only as many as asked for.
    let mut two = [(0, 0); 2];
    assert_eq!(b.sack_blocks(&mut two), 2);
    assert_eq!(two, [(20, 23), (10, 12)]);
    // A segment that advances RCV.NXT is not reported.
    b.write_at(0, &[0; 12]);
    assert_eq!(sacks(&b), vec![(8, 11), (18, 20)]);
}

#[test]
fn zero_capacity_and_absurd_inputs() {
    let mut b = RecvBuffer::new(0);
    assert_eq!(b.write_at(0, b"x"), 0);
    assert_eq!(b.write_at(usize::MAX, b"x"), 0);
    assert_eq!(b.read(&mut [0; 4]), 0);
    assert_eq!(b.window(), WindowSize::ZERO);
    let mut b = RecvBuffer::new(10);
    assert_eq!(b.write_at(usize::MAX, b"x"), 0);
    assert_eq!(b.write_at(9, &[7; 100]), 1);
    assert_eq!(b.write_at(3, b""), 0);
    assert_eq!(b.consume(usize::MAX), 0);
}

/// The reference model: readable bytes, then one slot per window offset
/// holding the first byte received there and the time of the last write that
/// covered it.
struct Model {
    cap: usize,
    readable: VecDeque<u8>,
    window: Vec<Option<(u8, u64)>>,
    clock: u64,
}

impl Model {
    fn new(cap: usize) -> Self {
        Self {
            cap,
            readable: VecDeque::new(),
            window: vec![None; cap],
            clock: 0,
        }
    }

    /// Runs of held offsets, as (start, end, newest stamp), in offset order.
    fn runs(window: &[Option<(u8, u64)>]) -> Vec<(usize, usize, u64)> {
        let mut runs = Vec::new();
        let mut i = 0;
        while i < window.len() {
            if window[i].is_some() {
                let start = i;
                let mut stamp = 0;
                while let Some(Some((_, s))) = window.get(i) {
                    stamp = stamp.max(*s);
                    i += 1;
                }
                runs.push((start, i, stamp));
            } else {
                i += 1;
            }
        }
        runs
    }

    fn write_at(&mut self, offset: usize, data: &[u8]) -> usize {
        let window = self.cap - self.readable.len();
        if offset >= window || data.is_empty() {
            return 0;
        }
        let n = data.len().min(window - offset);
        let stamp = self.clock + 1;
        let mut w = self.window.clone();
        for (i, &byte) in data[..n].iter().enumerate() {
            let slot = &mut w[offset + i];
            let value = slot.map_or(byte, |(v, _)| v);
            *slot = Some((value, stamp));
        }
        let out_of_order = Self::runs(&w).into_iter().filter(|r| r.0 != 0).count();
        if out_of_order > MAX_RANGES {
            return 0;
        }
        self.clock = stamp;
        self.window = w;
        while let Some(Some((v, _))) = self.window.first().copied() {
            self.readable.push_back(v);
            self.window.remove(0);
            self.window.push(None);
        }
        n
    }

    fn sacks(&self) -> Vec<(u32, u32)> {
        let mut runs = Self::runs(&self.window);
        runs.sort_by_key(|r| std::cmp::Reverse(r.2));
        runs.into_iter()
            .map(|(s, e, _)| (s as u32, e as u32))
            .collect()
    }
}

#[derive(Debug, Clone)]
enum Op {
    Write(usize, Vec<u8>),
    Read(usize),
    Peek(usize),
    Consume(usize),
}

fn op(cap: usize, sparse_weight: u32) -> impl Strategy<Value = Op> {
    let offset = prop_oneof![8 => 0..cap.max(1) + 8, 1 => any::<usize>()];
    let data = prop_oneof![
        proptest::collection::vec(any::<u8>(), 1..4),
        proptest::collection::vec(any::<u8>(), 0..40),
    ];
    // One-byte writes at even offsets fill the range slots.
    let sparse = (0..cap / 2 + 1, any::<u8>()).prop_map(|(o, b)| Op::Write(2 * o + 1, vec![b]));
    prop_oneof![
        6 => (offset, data).prop_map(|(o, d)| Op::Write(o, d)),
        sparse_weight => sparse,
        1 => (0usize..50).prop_map(Op::Read),
        1 => (0usize..50).prop_map(Op::Peek),
        1 => prop_oneof![0usize..50, any::<usize>()].prop_map(Op::Consume),
    ]
}

/// A capacity and a script; half the scripts are mostly sparse one-byte
/// writes, which run the assembler out of range slots.
fn case() -> impl Strategy<Value = (usize, Vec<Op>)> {
    (0usize..200, prop_oneof![Just(1u32), Just(60)]).prop_flat_map(|(cap, sparse)| {
        (
            Just(cap),
            proptest::collection::vec(op(cap, sparse), 0..200),
        )
    })
}

proptest! {
    #[test]
    fn matches_reference_model((cap, ops) in case()) {
        let mut b = RecvBuffer::new(cap);
        let mut m = Model::new(cap);
        for op in ops {
            match op {
                Op::Write(o, d) => prop_assert_eq!(b.write_at(o, &d), m.write_at(o, &d)),
                Op::Read(n) => {
                    let mut out = vec![0u8; n];
                    let got = b.read(&mut out);
                    let want: Vec<u8> = m.readable.drain(..n.min(m.readable.len())).collect();
                    prop_assert_eq!(&out[..got], &want[..]);
                }
                Op::Peek(n) => {
                    let mut out = vec![0u8; n];
                    let got = b.peek(&mut out);
                    let want: Vec<u8> = m.readable.iter().take(n).copied().collect();
                    prop_assert_eq!(&out[..got], &want[..]);
                }
                Op::Consume(n) => {
                    let want = n.min(m.readable.len());
                    prop_assert_eq!(b.consume(n), want);
                    m.readable.drain(..want);
                }
            }
            prop_assert_eq!(readable(&b), m.readable.iter().copied().collect::<Vec<_>>());
            prop_assert_eq!(b.readable_len(), m.readable.len());
            prop_assert_eq!(b.window().get() as usize, cap - m.readable.len());
            prop_assert_eq!(sacks(&b), m.sacks());
            prop_assert_eq!(b.has_out_of_order(), !m.sacks().is_empty());
        }
    }
}

/// `sack_blocks` as it was written first, a pass over the ranges per
/// block: the reference for the one-pass choice.
fn sack_blocks_by_passes(b: &RecvBuffer, out: &mut [(u32, u32)]) -> usize {
    let ranges = b.ooo.ranges();
    let mut chosen = [0u64; MAX_RANGES];
    let mut written = 0;
    for slot in out.iter_mut() {
        let taken = chosen.get(..written).unwrap_or(&[]);
        let candidates = ranges.iter().filter(|r| !taken.contains(&r.stamp));
        let next = if written == 0 {
            candidates.max_by_key(|r| r.stamp)
        } else {
            candidates.max_by_key(|r| (core::cmp::Reverse(r.reported), r.stamp))
        };
        let Some(r) = next else { break };
        *slot = (r.start, r.end);
        if let Some(c) = chosen.get_mut(written) {
            *c = r.stamp;
        }
        written += 1;
    }
    written
}

proptest! {
    #[test]
    fn sack_blocks_choose_as_a_pass_per_block_does(
        writes in proptest::collection::vec((1usize..4000, 1usize..40), 1..80),
        reports in proptest::collection::vec(proptest::collection::vec(0usize..40, 0..4), 0..20),
        slots in 0usize..6,
    ) {
        let mut b = RecvBuffer::new(8192);
        for (i, (offset, len)) in writes.into_iter().enumerate() {
            b.write_at(offset, &vec![1u8; len]);
            // Now and then an option reports some of the ranges there are.
            if let Some(picks) = reports.get(i) {
                let starts: Vec<u32> = picks
                    .iter()
                    .filter_map(|&p| b.ooo.ranges().get(p).map(|r| r.start))
                    .collect();
                b.mark_reported(&starts);
            }
            let mut fast = vec![(0, 0); slots];
            let mut passes = vec![(0, 0); slots];
            let n = b.sack_blocks(&mut fast);
            prop_assert_eq!(n, sack_blocks_by_passes(&b, &mut passes));
            prop_assert_eq!(&fast[..n], &passes[..n]);
        }
    }
}
