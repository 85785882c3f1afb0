//! The receive queue: in-order bytes waiting for the application, plus
//! out-of-order bytes waiting for the hole in front of them to fill
//! (RFC 9293 §3.10.7.4: "Segments with higher beginning sequence numbers
//! SHOULD be held for later processing (SHLD-31)."), and the SACK blocks that
//! describe them (RFC 2018 §4).
//!
//! One fixed-capacity ring holds both: the readable bytes, then the receive
//! window. Out-of-order data is stored directly in the ring at its offset in
//! the window, and a sorted list of at most [`MAX_RANGES`] ranges (an
//! assembler in the manner of smoltcp's) records which offsets hold data.
//! The list's storage grows as holes come and is then reused (most
//! connections never see one: in-order data with nothing out of order
//! skips the assembler); the ring's storage grows on demand up to its
//! capacity and is then reused: nothing is allocated per segment once
//! they have grown (docs/ARCHITECTURE.md rule 13).
//!
//! Offsets count from the in-order end, RCV.NXT: offset 0 is the next byte
//! the application is missing. That keeps this module free of sequence
//! numbers: the connection trims a segment to start at or after RCV.NXT and
//! passes `SEG.SEQ - RCV.NXT`, and turns the offsets of
//! [`RecvBuffer::sack_blocks`] back into sequence numbers by adding RCV.NXT.
//! Offsets and lengths come from the peer and are never trusted: anything
//! outside the window is trimmed or ignored, and nothing panics.

use super::ring::Ring;
use super::seq::WindowSize;

/// How many separate out-of-order ranges the buffer tracks. A segment that
/// would need one more is refused (the peer retransmits it later). Holes
/// come with loss and reordering in proportion to the window: at 1 Gbit/s
/// and 40 ms, 5% of packets held back 11 ms leave some fifty open at once,
/// and the 32 this once was refused a quarter of a transfer's segments
/// (`berth sim --reorder 0.05 --delay 20 --rate 1000`: 24,018
/// retransmissions of 89,325 segments with nothing lost; 18 with 256).
/// Linux bounds its out-of-order queue by memory alone; a bound keeps a
/// hostile peer's one-byte holes from making each segment's work grow
/// without end (each add is a binary search and a move of the list).
pub(crate) const MAX_RANGES: usize = 256;

/// The most SACK blocks an option holds after its first (RFC 2018: four
/// in all, three beside the timestamps).
const BLOCKS_AT_ONCE: usize = 3;

/// One out-of-order range of offsets, `start..end`, never empty.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Range {
    start: u32,
    end: u32,
    /// When the range last received data; larger is more recent.
    stamp: u64,
    /// SACK options that reported it since it last changed.
    reported: u8,
}

/// The set of received out-of-order offsets: sorted, disjoint and never
/// adjacent (touching ranges merge), and never starting at 0 (data at
/// offset 0 is in order and leaves the assembler).
#[derive(Debug, Clone)]
struct Assembler {
    /// At most [`MAX_RANGES`], sorted; the storage grows as they come.
    ranges: Vec<Range>,
    clock: u64,
}

/// No range slot was free for a segment that needed one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Full;

impl Assembler {
    fn new() -> Self {
        Self {
            ranges: Vec::new(),
            clock: 0,
        }
    }

    fn ranges(&self) -> &[Range] {
        &self.ranges
    }

    /// Records that `start..end` (non-empty) now holds data. Returns how many
    /// offsets at the front became in order; those leave the assembler and
    /// every other range moves down by as much. On `Err` nothing changed.
    fn add(&mut self, start: u32, end: u32) -> Result<u32, Full> {
        // In order, nothing held beyond: every offset is in order at once.
        if start == 0 && self.ranges.is_empty() {
            return Ok(end);
        }
        let stamp = self.clock.wrapping_add(1);
        // The ranges that overlap or touch `start..end`, `lo..hi` (the
        // list is sorted and disjoint: both bounds are binary searches),
        // merge with it into one, which changed now.
        let lo = self.ranges.partition_point(|r| r.end < start);
        let hi = self.ranges.partition_point(|r| r.start <= end);
        let absorbed = self.ranges.get(lo..hi).unwrap_or_default();
        let merged = Range {
            start: absorbed.first().map_or(start, |r| r.start.min(start)),
            end: absorbed.last().map_or(end, |r| r.end.max(end)),
            stamp,
            reported: 0,
        };
        let kept = self.ranges.len() - absorbed.len();
        if merged.start == 0 {
            // The hole at the front is filled: what it joined is in order
            // (nothing comes before offset 0, so `lo` is 0), and every
            // other range moves down by as much.
            let advance = merged.end;
            self.ranges.drain(lo..hi);
            for r in &mut self.ranges {
                // INVARIANT: a range kept after an in-order prefix starts
                // beyond it (ranges never touch), so this never saturates.
                r.start = r.start.saturating_sub(advance);
                r.end = r.end.saturating_sub(advance);
            }
            self.clock = stamp;
            return Ok(advance);
        }
        if kept + 1 > MAX_RANGES {
            return Err(Full);
        }
        self.ranges.splice(lo..hi, [merged]);
        self.clock = stamp;
        Ok(0)
    }
}

/// In-order bytes for the application, followed by the receive window in
/// which out-of-order bytes are reassembled.
#[derive(Debug, Clone)]
pub(crate) struct RecvBuffer {
    ring: Ring,
    /// Ring position of the first readable byte.
    head: usize,
    /// Readable (in-order) bytes from `head`; RCV.NXT is just after them.
    len: usize,
    ooo: Assembler,
}

impl RecvBuffer {
    /// An empty buffer of `capacity` bytes, capped at [`WindowSize::MAX`]
    /// because a larger buffer could never be advertised. Its storage grows
    /// as data comes (see the private `Ring`).
    pub(crate) fn new(capacity: usize) -> Self {
        let capacity = capacity.min(WindowSize::MAX.get() as usize);
        Self {
            ring: Ring::new(capacity),
            head: 0,
            len: 0,
            ooo: Assembler::new(),
        }
    }

    /// The size the buffer is meant to have now: its storage doubles as
    /// data comes, but not beyond this unless the data needs it, or (with
    /// `slack`) by half again of what it has, so that a size that creeps
    /// up does not copy the buffer at every step.
    pub(crate) fn set_soft_cap(&mut self, size: usize, slack: bool) {
        self.ring.set_soft_cap(size, slack);
    }

    /// Bytes of storage allocated now (it grows as data comes).
    pub(crate) fn allocated(&self) -> usize {
        self.ring.allocated()
    }

    /// The most bytes the buffer holds: readable bytes plus the window.
    pub(crate) fn capacity(&self) -> usize {
        self.ring.capacity()
    }

    /// In-order bytes the application can read now.
    pub(crate) fn readable_len(&self) -> usize {
        self.len
    }

    #[cfg(test)]
    /// No in-order bytes are waiting to be read.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The receive window: free space from RCV.NXT on, out-of-order data
    /// included (it sits inside the window). Reading grows it; in-order data
    /// shrinks it by exactly what RCV.NXT advances, so its right edge never
    /// moves left.
    pub(crate) fn window(&self) -> WindowSize {
        WindowSize::from_usize_saturating(self.window_len())
    }

    fn window_len(&self) -> usize {
        self.capacity().saturating_sub(self.len)
    }

    /// Whether every offset in `start..end` (from RCV.NXT) already holds
    /// out-of-order data.
    pub(crate) fn holds(&self, start: u32, end: u32) -> bool {
        start < end
            && self
                .ooo
                .ranges()
                .iter()
                .any(|r| r.start <= start && end <= r.end)
    }

    /// Out-of-order data is waiting for a hole to fill.
    pub(crate) fn has_out_of_order(&self) -> bool {
        !self.ooo.ranges.is_empty()
    }

    /// Stores `data`, which starts `offset` bytes past RCV.NXT, and returns
    /// how many of its bytes were accepted: those inside the window, or 0 if
    /// the segment was refused.
    ///
    /// - Bytes past the window are trimmed.
    /// - Bytes already held keep their first value (duplicates and overlaps
    ///   are fine; a retransmission cannot rewrite received data).
    /// - If the data is disjoint from every out-of-order range and all
    ///   [`MAX_RANGES`] are in use, the segment is refused and nothing
    ///   changes; data at offset 0 is never refused.
    /// - When the hole at offset 0 fills, the readable length grows by the
    ///   bytes that became in order (RCV.NXT advances by as much; compare
    ///   [`readable_len`](Self::readable_len) before and after).
    pub(crate) fn write_at(&mut self, offset: usize, data: &[u8]) -> usize {
        let window = self.window_len();
        if offset >= window || data.is_empty() {
            return 0;
        }
        let n = data.len().min(window - offset);
        // INVARIANT: offset + n <= window <= WindowSize::MAX < 2^32.
        let (Ok(start), Ok(end)) = (u32::try_from(offset), u32::try_from(offset + n)) else {
            return 0;
        };
        // Room up to the end of this segment, keeping what is held: the
        // in-order bytes and every out-of-order range after them.
        let held = self.ooo.ranges().iter().map(|r| r.end).max().unwrap_or(0);
        self.head = self
            .ring
            .reserve(self.head, self.len + held as usize, self.len + end as usize);
        let base = self.ring.wrap_add(self.head, self.len);
        // Write only the gaps: bytes already held keep their value. Gaps are
        // untracked space, so if `add` refuses below, these bytes stay
        // invisible.
        let mut cursor = start;
        for r in self.ooo.ranges() {
            if r.end <= cursor || r.start >= end {
                continue;
            }
            if r.start > cursor {
                write_gap(&mut self.ring, base, start, cursor..r.start, data);
            }
            cursor = cursor.max(r.end);
        }
        if cursor < end {
            write_gap(&mut self.ring, base, start, cursor..end, data);
        }
        match self.ooo.add(start, end) {
            Ok(advance) => {
                self.len += advance as usize;
                n
            }
            Err(Full) => 0,
        }
    }

    /// Copies readable bytes into `out` and consumes them; returns the count.
    pub(crate) fn read(&mut self, out: &mut [u8]) -> usize {
        let n = self.peek(out);
        self.consume(n)
    }

    /// Copies readable bytes into `out` without consuming them.
    pub(crate) fn peek(&self, out: &mut [u8]) -> usize {
        let n = out.len().min(self.len);
        self.ring
            .read(self.head, out.get_mut(..n).unwrap_or(&mut []))
    }

    /// The readable bytes as two slices across the ring's wrap, for reading
    /// without a copy; follow with [`consume`](Self::consume).
    pub(crate) fn readable_slices(&self) -> (&[u8], &[u8]) {
        self.ring.slices(self.head, self.len)
    }

    /// Drops up to `n` readable bytes; returns how many were dropped.
    pub(crate) fn consume(&mut self, n: usize) -> usize {
        let n = n.min(self.len);
        self.len -= n;
        self.head = if self.len == 0 && !self.has_out_of_order() {
            0
        } else {
            self.ring.wrap_add(self.head, n)
        };
        n
    }

    /// Writes the out-of-order ranges as `(start, end)` offsets from RCV.NXT
    /// into `out`, and returns how many it wrote (at most `out.len()`, at
    /// most [`MAX_RANGES`]): first the range most recently received into,
    /// then ranges no SACK option has reported yet, most recent first,
    /// then the rest, least reported and most recent first.
    ///
    /// A range counts as received when a write lands in it, duplicates
    /// included, so after a write the first block is the one that contains it
    /// (unless it filled the hole at RCV.NXT and so is not out of order any
    /// more).
    //= https://www.rfc-editor.org/rfc/rfc2018#section-4
    //# The first SACK block (i.e., the one immediately following the
    //# kind and length fields in the option) MUST specify the contiguous
    //# block of data containing the segment which triggered this ACK,
    //# unless that segment advanced the Acknowledgment Number field in
    //# the header.
    // RFC 2018 then repeats the most recently reported blocks. berth takes
    // in a batch of segments before it answers (Linux answers each), so a
    // range that arrived in the middle of a batch would never be the first
    // block of any ACK: it goes before the repeats, and the connection
    // sends ACKs until every range has been reported once (see
    // `has_unreported`). A sender that never hears of a range takes it for
    // lost and sends it again.
    pub(crate) fn sack_blocks(&self, out: &mut [(u32, u32)]) -> usize {
        let ranges = self.ooo.ranges();
        let Some((first_slot, rest)) = out.split_first_mut() else {
            return 0;
        };
        let Some(first) = ranges.iter().max_by_key(|r| r.stamp) else {
            return 0;
        };
        *first_slot = (first.start, first.end);
        // The others, reported least often first and then most recent
        // first: the best `rest.len()` of them, chosen in one pass (a
        // segment's header asks for them several times, and with dozens
        // of ranges a pass per block was a quarter of a reordered
        // transfer's time in `berth sim --reorder 0.05`).
        let key = |r: &Range| (core::cmp::Reverse(r.reported), r.stamp);
        if rest.len() > BLOCKS_AT_ONCE {
            // More blocks than an option holds (tests list them all).
            let mut others: Vec<&Range> =
                ranges.iter().filter(|r| r.stamp != first.stamp).collect();
            others.sort_unstable_by_key(|r| core::cmp::Reverse(key(r)));
            let mut written = 1;
            for (slot, r) in rest.iter_mut().zip(others) {
                *slot = (r.start, r.end);
                written += 1;
            }
            return written;
        }
        let mut best: [Option<&Range>; BLOCKS_AT_ONCE] = [None; BLOCKS_AT_ONCE];
        let k = rest.len().min(best.len());
        for r in ranges.iter().filter(|r| r.stamp != first.stamp) {
            // Insertion into best[..k], kept in descending order; what
            // falls off the end is not among the best.
            let mut carried = r;
            for slot in best.iter_mut().take(k) {
                match slot {
                    None => {
                        *slot = Some(carried);
                        break;
                    }
                    Some(held) if key(carried) > key(held) => {
                        carried = core::mem::replace(held, carried);
                    }
                    Some(_) => {}
                }
            }
        }
        let mut written = 1;
        for (slot, r) in rest.iter_mut().zip(best.iter().take(k).flatten()) {
            *slot = (r.start, r.end);
            written += 1;
        }
        written
    }

    /// Counts a SACK option that reported the ranges starting at `starts`
    /// (offsets as [`sack_blocks`](Self::sack_blocks) gave them).
    pub(crate) fn mark_reported(&mut self, starts: &[u32]) {
        for r in &mut self.ooo.ranges {
            if starts.contains(&r.start) {
                r.reported = r.reported.saturating_add(1);
            }
        }
    }

    /// Whether some out-of-order range has not been reported in any SACK
    /// option yet.
    pub(crate) fn has_unreported(&self) -> bool {
        self.ooo.ranges().iter().any(|r| r.reported == 0)
    }
}

/// Copies the part of `data` (which starts at window offset `start`) that
/// belongs at window offsets `gap` into the ring, whose window starts at ring
/// position `base`.
fn write_gap(ring: &mut Ring, base: usize, start: u32, gap: core::ops::Range<u32>, data: &[u8]) {
    let lo = gap.start.saturating_sub(start) as usize;
    let hi = gap.end.saturating_sub(start) as usize;
    let pos = ring.wrap_add(base, gap.start as usize);
    ring.write(pos, data.get(lo..hi).unwrap_or(&[]));
}

#[cfg(test)]
mod tests;
