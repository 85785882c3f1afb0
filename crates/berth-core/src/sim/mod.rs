//! The simulator: two endpoints joined by an in-memory link each way with
//! seeded faults, stepped together in virtual time. It is the one loop
//! behind `berth sim`, the two-stack tests (`stack/tests/`), the TCP-level
//! simulation (`tcp/connection/tests/sim.rs`, two bare connections) and
//! `berth bench`'s core target (on the wall clock), so they behave alike by
//! construction: the same endpoints, seeds and application give the same
//! frames.
//!
//! - [`Link`] (`link.rs`): one direction, with [`Faults`] (loss, delay,
//!   jitter, reordering, duplication, corruption, rate, ECN marking).
//! - [`Pair`] (`pair.rs`): the two endpoints and their links; `step`,
//!   `run_until` (the application acts once things settle) and
//!   `run_interleaved` (after every step), the jump to the next event, the
//!   bound that ends a stuck run ([`Stuck`]).
//! - [`Endpoint`] (`endpoint.rs`): what sits at either end; a
//!   [`crate::stack::Stack`] is one.
//! - [`Tso`] (`tso.rs`): a device in front of a side that splits long TCP
//!   segments.
//! - [`Tap`] (`tap.rs`): sees every frame put on a link, and the
//!   endpoints after each step (pcap files, plots, counters).
//! - [`Clock`] (`clock.rs`): [`Virtual`] time, or one the caller brings.
//!
//! Everything is deterministic: the same seeds give the same run.

mod clock;
mod endpoint;
mod link;
mod pair;
mod tap;
mod tso;

pub use crate::rng::Rng;
pub use clock::{Clock, Virtual};
pub use endpoint::Endpoint;
pub use link::{Faults, Link, LinkStats};
pub use pair::{DEFAULT_LIMIT, Pair, Stuck, StuckReason, Turn};
pub use tap::{Side, Tap};
pub use tso::Tso;

#[cfg(test)]
mod tests;
