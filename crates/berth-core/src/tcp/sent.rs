//! The sender's record of what it has sent and not yet had cumulatively
//! acknowledged: one entry per transmission, in sequence order, covering
//! SND.UNA..SND.MAX without gaps (Linux's retransmission queue). Each entry
//! holds when it was last sent and what is known of it: SACKed (RFC 2018),
//! marked lost (by RACK, RFC 8985 section 6; by the duplicate-ACK threshold
//! for peers without SACK, RFC 5681; or by a timeout), retransmitted and not
//! yet known lost again, ever retransmitted (Karn's rule, RFC 6298 section
//! 3; RACK's spurious check).
//!
//! From these the connection reckons what is in flight the way RFC 6675's
//! `SetPipe` does and Linux's `tcp_packets_in_flight` counts it: sent, less
//! SACKed, less lost, plus retransmitted. RACK's time-based loss marking
//! walks the entries in sequence order, which is transmission order for
//! everything not retransmitted, so the walk stops at the first such entry
//! sent after the most recently delivered segment.
//!
//! Entries split where a SACK block or a retransmission cuts one; SACKed
//! neighbours merge (their times no longer matter), so that the queue stays
//! about as long as the segments in flight plus the holes between SACKed
//! ranges. Sequence numbers from the peer are never trusted: blocks outside
//! SND.UNA..SND.MAX are clipped or ignored, and nothing panics.

use std::collections::VecDeque;

use crate::time::{Duration, Instant};

use super::seq::SeqNum;

/// What is known of an entry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Marks(u8);

impl Marks {
    const SACKED: Self = Self(1);
    const LOST: Self = Self(2);
    /// Retransmitted, and not marked lost since: in flight again.
    const RETRANS: Self = Self(4);
    const EVER_RETRANS: Self = Self(8);

    const fn has(self, m: Self) -> bool {
        self.0 & m.0 != 0
    }

    fn set(&mut self, m: Self) {
        self.0 |= m.0;
    }

    fn clear(&mut self, m: Self) {
        self.0 &= !m.0;
    }
}

/// One transmission: `start..end` of sequence space (a FIN counts one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sent {
    /// The first sequence number.
    pub start: SeqNum,
    /// One past the last.
    pub end: SeqNum,
    /// When it was last sent.
    pub xmit: Instant,
    /// Its place in the order of transmissions (see [`Latest`]).
    order: u64,
    /// When it was first sent, and that transmission's place in the order.
    first: (Instant, u64),
    marks: Marks,
}

impl Sent {
    /// Octets of sequence space.
    pub(crate) fn len(&self) -> u32 {
        self.end.wrapping_offset_from(self.start)
    }

    /// The peer SACKed it.
    pub(crate) fn is_sacked(&self) -> bool {
        self.marks.has(Marks::SACKED)
    }

    /// Marked lost.
    pub(crate) fn is_lost(&self) -> bool {
        self.marks.has(Marks::LOST)
    }

    /// Retransmitted, and not known lost since.
    pub(crate) fn is_retrans(&self) -> bool {
        self.marks.has(Marks::RETRANS)
    }

    /// Sent more than once.
    pub(crate) fn ever_retrans(&self) -> bool {
        self.marks.has(Marks::EVER_RETRANS)
    }

    /// Lost and not yet sent again: what recovery retransmits next.
    fn awaits_retransmission(&self) -> bool {
        self.is_lost() && !self.is_retrans() && !self.is_sacked()
    }

    /// When it was last sent, in the total order of transmissions.
    pub(crate) fn when(&self) -> Latest {
        Latest {
            xmit: self.xmit,
            order: self.order,
            end: self.end,
        }
    }

    /// When it was first sent: a lower bound on the transmission any
    /// delivery of it answers.
    pub(crate) fn first_sent(&self) -> Latest {
        Latest {
            xmit: self.first.0,
            order: self.first.1,
            end: self.end,
        }
    }

    /// Its piece from `seq` on; `self` keeps the piece before.
    fn split_off(&mut self, seq: SeqNum) -> Self {
        let tail = Self {
            start: seq,
            ..*self
        };
        self.end = seq;
        tail
    }
}

/// When a transmission happened, in a total order: the clock, then the
/// order in which segments were handed out (berth reads its clock once per
/// batch, so a retransmission and new data can share an instant), then the
/// end sequence number (the pieces of one burst). RFC 8985 keeps
/// RACK.xmit_ts and RACK.end_seq for the most recent delivery in this form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Latest {
    /// RACK.xmit_ts.
    pub xmit: Instant,
    order: u64,
    /// RACK.end_seq.
    pub end: SeqNum,
}

impl Latest {
    /// RFC 8985's `RACK_sent_after(t1, seq1, t2, seq2)`, with the order of
    /// transmission between the time and the sequence number.
    pub(crate) fn sent_after(&self, other: &Self) -> bool {
        //= https://www.rfc-editor.org/rfc/rfc8985#section-6.2
        //# RACK_sent_after(t1, seq1, t2, seq2):
        //#     If t1 > t2:
        //#         Return true
        //#     Else if t1 == t2 AND seq1 > seq2:
        //#         Return true
        //#     Else:
        //#         Return false
        (self.xmit, self.order) > (other.xmit, other.order)
            || ((self.xmit, self.order) == (other.xmit, other.order) && self.end.after(other.end))
    }
}

/// The sent-and-unacknowledged queue.
#[derive(Debug, Clone, Default)]
pub(crate) struct SentQueue {
    segs: VecDeque<Sent>,
    /// The next transmission's place in the order.
    next_order: u64,
    sacked: u32,
    lost: u32,
    retrans: u32,
    /// Octets lost and not yet sent again: without any, recovery has
    /// nothing to retransmit, and [`SentQueue::next_lost`] says so without
    /// walking a queue of thousands of entries (a fifth of a reordered
    /// transfer's time asked it on every output).
    awaiting: u32,
}

impl SentQueue {
    /// An empty queue.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    #[cfg(test)]
    /// Nothing is outstanding.
    pub(crate) fn is_empty(&self) -> bool {
        self.segs.is_empty()
    }

    #[cfg(test)]
    /// Entries held (for tests and bounds).
    pub(crate) fn entries(&self) -> usize {
        self.segs.len()
    }

    /// SACKed octets.
    pub(crate) fn sacked_bytes(&self) -> u32 {
        self.sacked
    }

    /// Octets marked lost (retransmitted or not).
    pub(crate) fn lost_bytes(&self) -> u32 {
        self.lost
    }

    #[cfg(test)]
    /// Octets retransmitted and not known lost since.
    pub(crate) fn retrans_bytes(&self) -> u32 {
        self.retrans
    }

    #[cfg(test)]
    /// Octets lost and not yet sent again.
    pub(crate) fn awaiting_bytes(&self) -> u32 {
        self.awaiting
    }

    /// Whether anything is SACKed.
    pub(crate) fn has_sacked(&self) -> bool {
        self.sacked > 0
    }

    /// What is in flight: everything sent and not cumulatively
    /// acknowledged (`outstanding`), less what is SACKed or lost, plus what
    /// was retransmitted since (RFC 6675 `SetPipe`, Linux
    /// `tcp_packets_in_flight`).
    pub(crate) fn in_flight(&self, outstanding: u32) -> u32 {
        outstanding
            .saturating_sub(self.sacked)
            .saturating_sub(self.lost)
            .saturating_add(self.retrans)
    }

    /// The entries, in sequence order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Sent> {
        self.segs.iter()
    }

    #[cfg(test)]
    /// One past the highest SACKed octet (RACK.fack's upper bound).
    pub(crate) fn highest_sacked(&self) -> Option<SeqNum> {
        self.segs
            .iter()
            .rev()
            .find(|s| s.is_sacked())
            .map(|s| s.end)
    }

    /// Records new data `start..end` sent at `now`, at the end of the queue.
    /// A segment that does not continue the queue is ignored (the caller
    /// only sends new data from SND.MAX).
    pub(crate) fn on_send(&mut self, start: SeqNum, end: SeqNum, now: Instant) {
        if !start.before(end) {
            return;
        }
        if let Some(last) = self.segs.back_mut() {
            if last.end != start {
                return;
            }
            // A burst sent at one instant, with nothing in between, is one
            // transmission as far as RACK is concerned (its tie-break by
            // end sequence orders the pieces): keep one entry.
            if last.xmit == now
                && last.order + 1 == self.next_order
                && last.marks == Marks::default()
            {
                last.end = end;
                return;
            }
        }
        let order = self.take_order();
        self.segs.push_back(Sent {
            start,
            end,
            xmit: now,
            order,
            first: (now, order),
            marks: Marks::default(),
        });
    }

    /// The next place in the order of transmissions.
    fn take_order(&mut self) -> u64 {
        let order = self.next_order;
        self.next_order = order.wrapping_add(1);
        order
    }

    /// Records that `start..end` (outstanding octets) was sent again at
    /// `now`.
    pub(crate) fn on_retransmit(&mut self, start: SeqNum, end: SeqNum, now: Instant) {
        let Some((from, to)) = self.cut(start, end) else {
            return;
        };
        let order = self.take_order();
        for s in self.segs.range_mut(from..to) {
            if s.is_sacked() {
                continue;
            }
            s.xmit = now;
            s.order = order;
            if s.awaits_retransmission() {
                self.awaiting = self.awaiting.saturating_sub(s.len());
            }
            if !s.is_retrans() {
                self.retrans = self.retrans.saturating_add(s.len());
            }
            s.marks.set(Marks::RETRANS);
            s.marks.set(Marks::EVER_RETRANS);
        }
    }

    /// The cumulative ACK reached `snd_una`: forgets everything below it.
    /// `delivered` sees each forgotten piece that was not SACKed (SACKed
    /// ones were delivered before).
    pub(crate) fn on_ack(&mut self, snd_una: SeqNum, mut delivered: impl FnMut(&Sent)) {
        while let Some(first) = self.segs.front_mut() {
            if first.end.before_or_eq(snd_una) {
                let s = *first;
                self.segs.pop_front();
                self.forget(&s);
                if !s.is_sacked() {
                    delivered(&s);
                }
            } else {
                if first.start.before(snd_una) {
                    let mut head = *first;
                    *first = head.split_off(snd_una);
                    self.forget(&head);
                    if !head.is_sacked() {
                        delivered(&head);
                    }
                }
                break;
            }
        }
    }

    /// Takes the counters' share of an entry that leaves the queue.
    fn forget(&mut self, s: &Sent) {
        let len = s.len();
        if s.awaits_retransmission() {
            self.awaiting = self.awaiting.saturating_sub(len);
        }
        if s.is_sacked() {
            self.sacked = self.sacked.saturating_sub(len);
        }
        if s.is_lost() {
            self.lost = self.lost.saturating_sub(len);
        }
        if s.is_retrans() {
            self.retrans = self.retrans.saturating_sub(len);
        }
    }

    /// A SACK block `left..right`: marks what it covers SACKed (clipped to
    /// the queue). `delivered` sees each newly SACKed piece. Returns the
    /// octets newly SACKed.
    pub(crate) fn on_sack(
        &mut self,
        left: SeqNum,
        right: SeqNum,
        mut delivered: impl FnMut(&Sent),
    ) -> u32 {
        let (Some(first), Some(last)) = (self.segs.front(), self.segs.back()) else {
            return 0;
        };
        let left = left.latest(first.start);
        let right = right.earliest(last.end);
        if !left.before(right) {
            return 0;
        }
        let Some((from, to)) = self.cut(left, right) else {
            return 0;
        };
        let mut newly = 0u32;
        for i in from..to {
            let Some(s) = self.segs.get_mut(i) else { break };
            if s.is_sacked() {
                continue;
            }
            let len = s.len();
            if s.awaits_retransmission() {
                self.awaiting = self.awaiting.saturating_sub(len);
            }
            if s.is_lost() {
                self.lost = self.lost.saturating_sub(len);
            }
            if s.is_retrans() {
                self.retrans = self.retrans.saturating_sub(len);
            }
            s.marks.clear(Marks::LOST);
            s.marks.clear(Marks::RETRANS);
            s.marks.set(Marks::SACKED);
            self.sacked = self.sacked.saturating_add(len);
            newly = newly.saturating_add(len);
            delivered(s);
        }
        self.merge_sacked(from.saturating_sub(1), to + 1);
        newly
    }

    /// Merges neighbouring SACKed entries among indexes `from..to`.
    fn merge_sacked(&mut self, from: usize, to: usize) {
        let mut i = from;
        let mut to = to.min(self.segs.len());
        while i + 1 < to {
            let (Some(a), Some(b)) = (self.segs.get(i), self.segs.get(i + 1)) else {
                break;
            };
            if a.is_sacked() && b.is_sacked() && a.end == b.start {
                let end = b.end;
                let ever = a.ever_retrans() || b.ever_retrans();
                self.segs.remove(i + 1);
                if let Some(a) = self.segs.get_mut(i) {
                    a.end = end;
                    if ever {
                        a.marks.set(Marks::EVER_RETRANS);
                    }
                }
                to -= 1;
            } else {
                i += 1;
            }
        }
    }

    /// The index of the entry holding `seq`.
    fn index_of(&self, seq: SeqNum) -> Option<usize> {
        let base = self.segs.front()?.start;
        let off = seq.wrapping_offset_from(base);
        let last = self.segs.back()?;
        if off >= last.end.wrapping_offset_from(base) {
            return None;
        }
        // Entries are contiguous and sorted: the last one starting at or
        // before `seq`.
        let i = self
            .segs
            .partition_point(|s| s.start.wrapping_offset_from(base) <= off);
        i.checked_sub(1)
    }

    /// Splits entries so that `start` and `end` fall on entry boundaries;
    /// returns the index range of the entries covering `start..end`
    /// (clipped to the queue), or `None` if nothing is covered.
    fn cut(&mut self, start: SeqNum, end: SeqNum) -> Option<(usize, usize)> {
        let first = self.segs.front()?.start;
        let last = self.segs.back()?.end;
        let start = start.latest(first);
        let end = end.earliest(last);
        if !start.before(end) {
            return None;
        }
        let from = self.split_at(start)?;
        let to = match self.split_at(end) {
            Some(i) => i,
            None => self.segs.len(),
        };
        Some((from, to))
    }

    /// Makes `seq` the start of an entry (if it is inside the queue);
    /// returns that entry's index.
    fn split_at(&mut self, seq: SeqNum) -> Option<usize> {
        let i = self.index_of(seq)?;
        let s = self.segs.get_mut(i)?;
        if s.start == seq {
            return Some(i);
        }
        let tail = s.split_off(seq);
        self.segs.insert(i + 1, tail);
        Some(i + 1)
    }

    /// Marks the entries `from..to` lost (those not SACKed).
    fn mark_range_lost(&mut self, from: usize, to: usize) {
        for s in self.segs.range_mut(from..to) {
            if s.is_sacked() || s.is_lost() {
                continue;
            }
            let len = s.len();
            self.lost = self.lost.saturating_add(len);
            s.marks.set(Marks::LOST);
            if s.awaits_retransmission() {
                self.awaiting = self.awaiting.saturating_add(len);
            }
        }
    }

    /// Marks one entry lost again after it was retransmitted: its
    /// retransmission was lost too.
    fn mark_lost_at(&mut self, i: usize) {
        let Some(s) = self.segs.get_mut(i) else {
            return;
        };
        let len = s.len();
        let awaited = s.awaits_retransmission();
        if s.is_retrans() {
            self.retrans = self.retrans.saturating_sub(len);
            s.marks.clear(Marks::RETRANS);
        }
        if !s.is_lost() {
            self.lost = self.lost.saturating_add(len);
            s.marks.set(Marks::LOST);
        }
        if s.awaits_retransmission() && !awaited {
            self.awaiting = self.awaiting.saturating_add(len);
        }
    }

    /// RFC 8985 6.2 step 5, `RACK_detect_loss`: every segment not yet
    /// delivered and sent before `latest` whose time is up (sent more than
    /// `wait` = RACK.rtt + RACK.reo_wnd before `now`) is marked lost,
    /// retransmissions included. Returns how long until the next one's
    /// time is up, if any is still waiting: the reordering timer.
    pub(crate) fn rack_detect_loss(
        &mut self,
        latest: Latest,
        wait: Duration,
        now: Instant,
    ) -> Option<Duration> {
        let mut timeout: Option<Duration> = None;
        for i in 0..self.segs.len() {
            let Some(&s) = self.segs.get(i) else { break };
            if s.is_sacked() || s.awaits_retransmission() {
                continue;
            }
            //= https://www.rfc-editor.org/rfc/rfc8985#section-6.2
            //# If RACK_sent_after(RACK.xmit_ts, RACK.end_seq,
            //#                    Segment.xmit_ts, Segment.end_seq):
            if !latest.sent_after(&s.when()) {
                if s.ever_retrans() {
                    continue;
                }
                // Never retransmitted: everything after it was sent later.
                break;
            }
            //# remaining = Segment.xmit_ts + RACK.rtt +
            //#             RACK.reo_wnd - Now()
            let due = s.xmit + wait;
            if due <= now {
                self.mark_lost_at(i);
            } else {
                let remaining = due - now;
                timeout = Some(timeout.map_or(remaining, |t| t.max(remaining)));
            }
        }
        timeout
    }

    /// After a retransmission timeout: everything not SACKed is lost (Linux
    /// `tcp_timeout_mark_lost`), retransmissions included.
    pub(crate) fn mark_all_lost(&mut self) {
        for i in 0..self.segs.len() {
            if self.segs.get(i).is_some_and(|s| !s.is_sacked()) {
                self.mark_lost_at(i);
            }
        }
    }

    /// Without SACK: the first segment (at most `mss` octets from SND.UNA)
    /// is lost (the third duplicate ACK, or a partial ACK in recovery;
    /// RFC 6582).
    pub(crate) fn mark_head_lost(&mut self, mss: u32) {
        let Some(first) = self.segs.front() else {
            return;
        };
        let start = first.start;
        let end = (start + mss.max(1)).earliest(self.segs.back().map_or(start, |s| s.end));
        if let Some((from, to)) = self.cut(start, end) {
            self.mark_range_lost(from, to);
        }
    }

    /// After a path MTU drop: every unSACKed piece longer than `mss` must
    /// go again at the new size (RFC 1191 6.5; Linux
    /// `tcp_simple_retransmit`).
    pub(crate) fn mark_lost_longer_than(&mut self, mss: u32) {
        for i in 0..self.segs.len() {
            if self
                .segs
                .get(i)
                .is_some_and(|s| !s.is_sacked() && !s.is_lost() && s.len() > mss)
            {
                self.mark_range_lost(i, i + 1);
            }
        }
    }

    /// The first lost piece not yet sent again, from `start`, at most
    /// `max` octets long: what recovery sends next (RFC 6675 NextSeg rule
    /// 1, with RACK's marks).
    pub(crate) fn next_lost(&self, max: u32) -> Option<(SeqNum, u32)> {
        if self.awaiting == 0 {
            return None;
        }
        let s = self.segs.iter().find(|s| s.awaits_retransmission())?;
        Some((s.start, s.len().min(max)))
    }

    /// Undoes every loss mark (a reduction found spurious, RFC 3522 / RFC
    /// 5682): what was marked lost is counted in flight again.
    pub(crate) fn unmark_lost(&mut self) {
        for s in &mut self.segs {
            s.marks.clear(Marks::LOST);
        }
        self.lost = 0;
        self.awaiting = 0;
    }

    /// Forgets every SACK mark: the receiver reneged (RFC 2018 section 8).
    pub(crate) fn clear_sacks(&mut self) {
        for s in &mut self.segs {
            s.marks.clear(Marks::SACKED);
        }
        self.sacked = 0;
    }

    /// Whether the first outstanding octet is SACKed: a cumulative ACK
    /// stopped at data the receiver had SACKed, so it reneged.
    pub(crate) fn head_sacked(&self) -> bool {
        self.segs.front().is_some_and(Sent::is_sacked)
    }
}

#[cfg(test)]
mod tests;
