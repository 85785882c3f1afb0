//! Where a [`super::Pair`]'s time comes from: virtual time that jumps from
//! one event to the next (simulations and tests), or a clock the caller
//! implements (`berth bench`'s core target reads the wall clock and sleeps,
//! outside this crate: the core itself never reads a clock).

use crate::time::Instant;

/// The time of a [`super::Pair`].
pub trait Clock {
    /// The time of the step about to run, given the pair's time so far
    /// (`last`). Virtual time stands still between events; a wall clock
    /// reads the time.
    fn now(&mut self, last: Instant) -> Instant;

    /// Nothing moves before `next`: the time to carry on at. Virtual time
    /// jumps there; a wall clock waits (as long as it likes: the pair asks
    /// again when nothing is due yet) and reads the time.
    fn wait_until(&mut self, last: Instant, next: Instant) -> Instant;
}

/// Virtual time: it stands still while anything is due and jumps to the
/// next event, so a simulated hour takes as long as its events do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Virtual;

impl Clock for Virtual {
    fn now(&mut self, last: Instant) -> Instant {
        last
    }

    fn wait_until(&mut self, last: Instant, next: Instant) -> Instant {
        last.max(next)
    }
}
