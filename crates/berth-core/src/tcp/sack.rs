//! The sender's SACK scoreboard (RFC 6675 §3, built from RFC 2018 SACK
//! blocks), with the queries RFC 6675 §4 defines on it: `IsLost`, the
//! retransmission rules of `NextSeg` and the `SetPipe` estimate of data in
//! flight.
//!
//! It records which ranges of sequence space above SND.UNA the peer has
//! SACKed, in a fixed array of at most [`MAX_BLOCKS`] ranges: adjacent and
//! overlapping blocks merge, and when a new disjoint block finds the array
//! full, the block least recently reported is forgotten. Forgetting is safe:
//! SACK information is advisory (the receiver may renege; RFC 2018 §8), so
//! the only cost is a retransmission that was not needed, or loss detected
//! later. Blocks the sender could not have caused are ignored: empty or
//! inverted blocks, blocks reaching past SND.NXT, and D-SACK blocks (RFC 2883)
//! at or below SND.UNA; a D-SACK inside an already SACKed range changes
//! nothing. No input from the peer makes these methods panic.
//!
//! RFC 6675 counts inclusive octets (HighACK is the last octet acknowledged);
//! this module takes the exclusive edges the TCB keeps:
//!
//! | RFC 6675 | here |
//! | --- | --- |
//! | HighACK + 1 | `snd_una` |
//! | HighData + 1 | `snd_nxt` |
//! | HighRxt + 1 | `rxt_end`: one past the highest octet retransmitted in this recovery, `snd_una` if none |
//!
//! Sequence numbers are compared only with `before`/`after` (STYLE rule 6);
//! everything stored lies within `snd_una..snd_nxt`, less than 2^31 wide.

use super::seq::SeqNum;

/// How many separate SACKed ranges the scoreboard remembers.
pub const MAX_BLOCKS: usize = 32;

/// The DupThresh of RFC 6675 §2 and RFC 5681: 3.
pub const DUP_THRESH: u32 = 3;

/// A SACKed range `start..end`, never empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Block {
    start: SeqNum,
    end: SeqNum,
    /// When a SACK block last touched this range; larger is more recent.
    stamp: u64,
}

impl Block {
    const EMPTY: Self = Self {
        start: SeqNum::new(0),
        end: SeqNum::new(0),
        stamp: 0,
    };
}

/// Octets from `a` to `b`, zero unless `a` is before `b`.
fn span(a: SeqNum, b: SeqNum) -> u32 {
    if a.before(b) {
        b.wrapping_offset_from(a)
    } else {
        0
    }
}

/// The SACKed ranges above SND.UNA: sorted, disjoint and never adjacent.
#[derive(Debug, Clone)]
pub struct Scoreboard {
    blocks: [Block; MAX_BLOCKS],
    count: usize,
    clock: u64,
}

impl Default for Scoreboard {
    fn default() -> Self {
        Self::new()
    }
}

impl Scoreboard {
    /// An empty scoreboard.
    pub fn new() -> Self {
        Self {
            blocks: [Block::EMPTY; MAX_BLOCKS],
            count: 0,
            clock: 0,
        }
    }

    fn live(&self) -> &[Block] {
        self.blocks.get(..self.count).unwrap_or(&[])
    }

    /// Nothing is SACKed.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Forgets everything, for example after a retransmission timeout.
    //= https://www.rfc-editor.org/rfc/rfc2018#section-5
    //# After a retransmit timeout the data sender SHOULD turn off all of the
    //# SACKed bits, since the timeout might indicate that the data receiver
    //# has reneged.
    // RFC 6675 §5.1 instead asks a sender to use the SACK information it has
    // during the recovery that follows an RTO; which to do is the
    // connection's choice.
    pub fn clear(&mut self) {
        self.count = 0;
    }

    /// The SACKed ranges as `(start, end)`, in sequence order.
    pub fn blocks(&self) -> impl Iterator<Item = (SeqNum, SeqNum)> + '_ {
        self.live().iter().map(|b| (b.start, b.end))
    }

    /// Records one SACK block `start..end` from an ACK, given the sender's
    /// current `snd_una` and `snd_nxt`. Returns how many octets it newly
    /// marks SACKed: zero for a block that is ignored (see the module docs) or
    /// already known. Part of a block below `snd_una` is dropped.
    pub fn on_sack_block(
        &mut self,
        start: SeqNum,
        end: SeqNum,
        snd_una: SeqNum,
        snd_nxt: SeqNum,
    ) -> u32 {
        if !start.before(end) || end.after(snd_nxt) || end.before_or_eq(snd_una) {
            return 0;
        }
        let start = start.latest(snd_una);
        let newly = span(start, end).saturating_sub(self.sacked_between(start, end));
        let touches = self
            .live()
            .iter()
            .any(|b| !(b.end.before(start) || end.before(b.start)));
        if !touches && self.count >= MAX_BLOCKS {
            self.evict_oldest();
        }
        self.insert(start, end);
        newly
    }

    /// Drops the least recently reported block.
    fn evict_oldest(&mut self) {
        let oldest = self
            .live()
            .iter()
            .enumerate()
            .min_by_key(|(_, b)| b.stamp)
            .map(|(i, _)| i);
        if let Some(i) = oldest {
            let live = self.blocks.get_mut(..self.count).unwrap_or(&mut []);
            if let Some(tail) = live.get_mut(i..) {
                tail.rotate_left(1);
            }
            self.count -= 1;
        }
    }

    /// Merges `start..end` (non-empty) in; there is room for it (a free
    /// slot, or it touches a block).
    fn insert(&mut self, start: SeqNum, end: SeqNum) {
        let stamp = self.clock.wrapping_add(1);
        self.clock = stamp;
        let mut merged = Block { start, end, stamp };
        let mut out = [Block::EMPTY; MAX_BLOCKS];
        let mut slots = out.iter_mut();
        let mut n = 0;
        let mut pending = true;
        for &b in self.live() {
            if b.end.before(merged.start) {
                if let Some(slot) = slots.next() {
                    *slot = b;
                    n += 1;
                }
            } else if merged.end.before(b.start) {
                if pending {
                    pending = false;
                    if let Some(slot) = slots.next() {
                        *slot = merged;
                        n += 1;
                    }
                }
                if let Some(slot) = slots.next() {
                    *slot = b;
                    n += 1;
                }
            } else {
                merged.start = merged.start.earliest(b.start);
                merged.end = merged.end.latest(b.end);
            }
        }
        if pending && let Some(slot) = slots.next() {
            *slot = merged;
            n += 1;
        }
        self.blocks = out;
        self.count = n;
    }

    /// The cumulative ACK moved to `snd_una`: forgets everything below it.
    pub fn on_ack(&mut self, snd_una: SeqNum) {
        let mut n = 0;
        let mut out = [Block::EMPTY; MAX_BLOCKS];
        for (slot, b) in out
            .iter_mut()
            .zip(self.live().iter().filter(|b| b.end.after(snd_una)))
        {
            *slot = Block {
                start: b.start.latest(snd_una),
                ..*b
            };
            n += 1;
        }
        self.blocks = out;
        self.count = n;
    }

    /// `seq` has been SACKed.
    pub fn is_sacked(&self, seq: SeqNum) -> bool {
        self.live()
            .iter()
            .any(|b| seq.after_or_eq(b.start) && seq.before(b.end))
    }

    /// One past the highest SACKed octet, if any.
    pub fn highest_sacked(&self) -> Option<SeqNum> {
        self.live().last().map(|b| b.end)
    }

    /// All SACKed octets.
    pub fn sacked_bytes(&self) -> u32 {
        self.live()
            .iter()
            .fold(0u32, |n, b| n.saturating_add(span(b.start, b.end)))
    }

    /// SACKed octets within `from..to`.
    fn sacked_between(&self, from: SeqNum, to: SeqNum) -> u32 {
        self.live().iter().fold(0u32, |n, b| {
            n.saturating_add(span(b.start.latest(from), b.end.earliest(to)))
        })
    }

    /// SACKed octets with sequence numbers greater than `seq`.
    pub fn sacked_bytes_above(&self, seq: SeqNum) -> u32 {
        let above = seq + 1;
        self.live().iter().fold(0u32, |n, b| {
            n.saturating_add(span(b.start.latest(above), b.end))
        })
    }

    /// SACKed ranges holding octets greater than `seq` (RFC 6675's
    /// "discontiguous SACKed sequences ... above 'SeqNum'").
    pub fn blocks_above(&self, seq: SeqNum) -> u32 {
        let above = seq + 1;
        let n = self.live().iter().filter(|b| b.end.after(above)).count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// RFC 6675 `IsLost(seq)`. A `dupthresh` of 0 is taken as 1.
    //= https://www.rfc-editor.org/rfc/rfc6675#section-4
    //# The routine returns true when either DupThresh discontiguous SACKed
    //# sequences have arrived above 'SeqNum' or more than (DupThresh - 1) * SMSS
    //# bytes with sequence numbers greater than 'SeqNum' have been SACKed.
    pub fn is_lost(&self, seq: SeqNum, dupthresh: u32, smss: u32) -> bool {
        let dupthresh = dupthresh.max(1);
        self.blocks_above(seq) >= dupthresh
            || self.sacked_bytes_above(seq) > (dupthresh - 1).saturating_mul(smss)
    }

    /// `IsLost` is monotone: true exactly for the sequence numbers before the
    /// returned boundary (`None`: nothing is lost). Found by walking down from
    /// the highest block until either condition of `IsLost` first holds.
    fn lost_boundary(&self, dupthresh: u32, smss: u32) -> Option<SeqNum> {
        let dupthresh = dupthresh.max(1);
        let limit = (dupthresh - 1).saturating_mul(smss);
        let (mut blocks, mut bytes) = (0u32, 0u32);
        for b in self.live().iter().rev() {
            blocks += 1;
            let len = span(b.start, b.end);
            let last = b.end - 1;
            // Every seq before `last` has this block and the ones above it
            // above it; a seq in this block before `last - k` has `bytes +
            // (last - seq)` SACKed octets above it.
            let by_count = (blocks >= dupthresh).then_some(last);
            let by_bytes =
                (bytes.saturating_add(len) > limit).then(|| last - limit.saturating_sub(bytes));
            match (by_count, by_bytes) {
                (Some(c), Some(l)) => return Some(c.latest(l)),
                (Some(x), None) | (None, Some(x)) => return Some(x),
                (None, None) => bytes = bytes.saturating_add(len),
            }
        }
        None
    }

    /// The first hole to fill: the smallest unSACKed sequence number at or
    /// after `snd_una` and `rxt_end` (RFC 6675 (1.a)) and below the highest
    /// SACKed octet (1.b), with the length of one segment from it: up to
    /// `smss` octets, stopping at the next SACKed range. This is the segment
    /// NextSeg rule (3) returns when rules (1) and (2) do not apply; rule (1)
    /// is [`next_lost`](Self::next_lost).
    //= https://www.rfc-editor.org/rfc/rfc6675#section-4
    //# (1.a) S2 is greater than HighRxt.
    //= https://www.rfc-editor.org/rfc/rfc6675#section-4
    //# (1.b) S2 is less than the highest octet covered by any received SACK.
    pub fn next_hole(&self, snd_una: SeqNum, rxt_end: SeqNum, smss: u32) -> Option<(SeqNum, u32)> {
        if smss == 0 {
            return None;
        }
        let mut s = snd_una.latest(rxt_end);
        for b in self.live() {
            if b.end.before_or_eq(s) {
                continue;
            }
            if b.start.after(s) {
                // INVARIANT: `s` is unSACKed and below this block's start, so
                // below the highest SACKed octet.
                return Some((s, span(s, b.start).min(smss)));
            }
            s = b.end;
        }
        None
    }

    /// NextSeg rule (1) of RFC 6675: [`next_hole`](Self::next_hole), if
    /// `IsLost` holds for its start.
    //= https://www.rfc-editor.org/rfc/rfc6675#section-4
    //# (1.c) IsLost (S2) returns true.
    pub fn next_lost(
        &self,
        snd_una: SeqNum,
        rxt_end: SeqNum,
        dupthresh: u32,
        smss: u32,
    ) -> Option<(SeqNum, u32)> {
        // IsLost is monotone, so if the smallest candidate is not lost, no
        // larger one is.
        self.next_hole(snd_una, rxt_end, smss)
            .filter(|&(s, _)| self.is_lost(s, dupthresh, smss))
    }

    /// RFC 6675 `SetPipe`: the octets estimated in flight, from the unSACKed
    /// octets in `snd_una..snd_nxt`: each counts once if not lost, and once
    /// more if retransmitted (before `rxt_end`).
    //= https://www.rfc-editor.org/rfc/rfc6675#section-4
    //# After initializing pipe to zero, the following steps are taken for each
    //# octet 'S1' in the sequence space between HighACK and HighData that has
    //# not been SACKed:
    pub fn pipe(
        &self,
        snd_una: SeqNum,
        snd_nxt: SeqNum,
        rxt_end: SeqNum,
        dupthresh: u32,
        smss: u32,
    ) -> u32 {
        let boundary = self.lost_boundary(dupthresh, smss);
        let mut pipe = 0u32;
        let mut count_hole = |a: SeqNum, b: SeqNum| {
            //= https://www.rfc-editor.org/rfc/rfc6675#section-4
            //# (a) If IsLost (S1) returns false:
            let not_lost_from = boundary.map_or(a, |l| l.latest(a));
            pipe = pipe.saturating_add(span(not_lost_from, b));
            //= https://www.rfc-editor.org/rfc/rfc6675#section-4
            //# (b) If S1 <= HighRxt:
            pipe = pipe.saturating_add(span(a, b.earliest(rxt_end)));
        };
        let mut cursor = snd_una;
        for b in self.live() {
            if !b.start.before(snd_nxt) {
                break;
            }
            if cursor.before(b.start) {
                count_hole(cursor, b.start);
            }
            cursor = cursor.latest(b.end);
        }
        if cursor.before(snd_nxt) {
            count_hole(cursor, snd_nxt);
        }
        pipe
    }
}

#[cfg(test)]
mod tests;
