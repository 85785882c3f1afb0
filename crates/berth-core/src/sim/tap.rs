//! Taps: what watches a [`super::Pair`] from outside, seeing every frame
//! put on its links and the endpoints after each step that moved something
//! (`berth sim`'s pcap file, plots and counters; the tests' counters).

use crate::time::Instant;

/// One end of a [`super::Pair`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// `a`, which sends on the link `ab`.
    A,
    /// `b`, which sends on the link `ba`.
    B,
}

/// Watches a [`super::Pair`] of endpoints `E`. Both methods do nothing
/// unless implemented.
pub trait Tap<E> {
    /// `from` put `frame` on its link at `now`: after its TSO device split
    /// it, if it has one, and before the link's faults.
    fn frame(&mut self, now: Instant, from: Side, frame: &[u8]) {
        let _ = (now, from, frame);
    }

    /// A step moved something at `now`; the endpoints as it left them.
    fn stepped(&mut self, now: Instant, a: &E, b: &E) {
        let _ = (now, a, b);
    }
}

/// No tap.
impl<E> Tap<E> for () {}
