//! The ends of the writes not yet acknowledged: the segment that holds one
//! carries PSH (RFC 9293 3.9.1; Linux's `tcp_push` marks the last skb of
//! each write). No RFC says how to keep them.
//!
//! Writes end in sending order, so the marks are sorted in sequence space
//! and every question a segment asks of them is a binary search: a sender
//! with hundreds of writes queued (a bulk sender writing 16 KiB at a time
//! into a send buffer of megabytes) asks several per segment, and a scan
//! of the marks cost a quarter of a download's time in `berth bench
//! --target core`.

use std::collections::VecDeque;

use super::seq::SeqNum;

/// How many unacknowledged write ends are kept (4 bytes each, allocated as
/// writes queue up). Beyond it the newest two merge (and the forced push
/// every half window still marks the stream).
const CAPACITY: usize = 1024;

/// Write ends in sequence order, each within 2^31 of the others (they lie
/// between SND.UNA and the end of the send buffer).
#[derive(Debug, Clone, Default)]
pub(crate) struct PushMarks {
    ends: VecDeque<SeqNum>,
}

impl PushMarks {
    /// A write ended at `end`, after every mark already kept.
    pub(crate) fn push(&mut self, end: SeqNum) {
        if self.ends.len() >= CAPACITY {
            self.ends.pop_back();
        }
        self.ends.push_back(end);
    }

    /// Everything up to `ack` is acknowledged: its marks go.
    pub(crate) fn ack(&mut self, ack: SeqNum) {
        let acked = self.ends.partition_point(|&m| m.before_or_eq(ack));
        self.ends.drain(..acked);
    }

    /// The first write end after `seq`.
    pub(crate) fn first_after(&self, seq: SeqNum) -> Option<SeqNum> {
        let i = self.ends.partition_point(|&m| m.before_or_eq(seq));
        self.ends.get(i).copied()
    }

    /// Whether a write ends at exactly `at`.
    pub(crate) fn contains(&self, at: SeqNum) -> bool {
        let i = self.ends.partition_point(|&m| m.before(at));
        self.ends.get(i) == Some(&at)
    }

    /// Whether a write ends in `seq + 1 ..= end` (a segment `seq..end`
    /// holds the end of a write).
    pub(crate) fn ends_in(&self, seq: SeqNum, end: SeqNum) -> bool {
        self.first_after(seq).is_some_and(|m| m.before_or_eq(end))
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.ends.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The linear scans these searches replaced.
    struct Model(VecDeque<SeqNum>);

    impl Model {
        fn first_after(&self, seq: SeqNum) -> Option<SeqNum> {
            self.0.iter().copied().find(|&m| seq.before(m))
        }
        fn contains(&self, at: SeqNum) -> bool {
            self.0.contains(&at)
        }
        fn ends_in(&self, seq: SeqNum, end: SeqNum) -> bool {
            self.0.iter().any(|&m| seq.before(m) && m.before_or_eq(end))
        }
    }

    #[test]
    fn searches_find_the_write_ends_of_a_segment() {
        let mut marks = PushMarks::default();
        let base = SeqNum::new(u32::MAX - 100);
        for end in [50, 150, 300] {
            marks.push(base + end);
        }
        assert_eq!(marks.first_after(base), Some(base + 50));
        assert_eq!(marks.first_after(base + 50), Some(base + 150));
        assert_eq!(marks.first_after(base + 300), None);
        assert!(marks.ends_in(base + 100, base + 150));
        assert!(!marks.ends_in(base + 150, base + 299));
        assert!(marks.contains(base + 150));
        assert!(!marks.contains(base + 151));
        marks.ack(base + 150);
        assert_eq!(marks.len(), 1);
        assert_eq!(marks.first_after(base), Some(base + 300));
    }

    #[test]
    fn the_newest_merge_beyond_the_capacity() {
        let mut marks = PushMarks::default();
        let base = SeqNum::new(7);
        for i in 0..CAPACITY as u32 + 5 {
            marks.push(base + (i + 1) * 10);
        }
        assert_eq!(marks.len(), CAPACITY);
        assert!(marks.contains(base + (CAPACITY as u32 + 5) * 10));
        assert!(!marks.contains(base + (CAPACITY as u32 + 4) * 10));
    }

    proptest! {
        #[test]
        fn searches_agree_with_scans(
            start in any::<u32>(),
            gaps in proptest::collection::vec(1u32..5000, 0..60),
            acked in 0u32..200_000,
            probes in proptest::collection::vec((0u32..200_000, 0u32..3000), 1..40),
        ) {
            let base = SeqNum::new(start);
            let mut marks = PushMarks::default();
            let mut model = Model(VecDeque::new());
            let mut at = base;
            for gap in gaps {
                at += gap;
                marks.push(at);
                model.0.push_back(at);
            }
            let ack = base + acked;
            marks.ack(ack);
            while model.0.front().is_some_and(|&m| m.before_or_eq(ack)) {
                model.0.pop_front();
            }
            prop_assert_eq!(marks.len(), model.0.len());
            for (off, len) in probes {
                let seq = base + off;
                let end = seq + len;
                prop_assert_eq!(marks.first_after(seq), model.first_after(seq));
                prop_assert_eq!(marks.ends_in(seq, end), model.ends_in(seq, end));
                prop_assert_eq!(marks.contains(end), model.contains(end));
            }
        }
    }
}
