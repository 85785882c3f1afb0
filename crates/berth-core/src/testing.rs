//! Test support: a seeded RNG and an in-memory link with faults, in virtual
//! time. Used by the TCP simulation tests now and by two-stack tests later.
//!
//! Everything is deterministic: the same seed gives the same run.

pub mod tcp_driver;

use std::collections::BinaryHeap;

use crate::time::{Duration, Instant};

/// SplitMix64: small, fast and good enough for fault injection.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }
}

/// Faults a [`Link`] applies to each packet, independently.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Faults {
    /// Probability of dropping a packet.
    pub loss: f64,
    /// Probability of delivering a packet twice.
    pub duplicate: f64,
    /// Probability of flipping one bit of a packet.
    pub corrupt: f64,
    /// Probability of holding a packet back by an extra `reorder_delay`.
    pub reorder: f64,
    /// How long a reordered packet is held back.
    pub reorder_delay: Duration,
    /// One-way delay.
    pub delay: Duration,
    /// Extra random delay, uniform in `0..jitter` (can reorder too).
    pub jitter: Duration,
    /// Bytes per second the link carries; 0 is unlimited. Packets queue
    /// behind each other when set.
    pub rate: u64,
}

#[derive(Debug, PartialEq, Eq)]
struct InFlight {
    at: Instant,
    order: u64,
    bytes: Vec<u8>,
}

impl Ord for InFlight {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        // A min-heap on (time, send order).
        (other.at, other.order).cmp(&(self.at, self.order))
    }
}

impl PartialOrd for InFlight {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Counters of what a [`Link`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Packets offered.
    pub sent: u64,
    /// Packets dropped.
    pub dropped: u64,
    /// Extra copies delivered.
    pub duplicated: u64,
    /// Packets with a flipped bit.
    pub corrupted: u64,
    /// Packets held back.
    pub reordered: u64,
}

/// One direction of an in-memory link.
#[derive(Debug)]
pub struct Link {
    faults: Faults,
    rng: Rng,
    queue: BinaryHeap<InFlight>,
    order: u64,
    /// When the transmitter is free again (rate limiting).
    busy_until: Instant,
    /// What happened so far.
    pub stats: LinkStats,
}

impl Link {
    /// A link with `faults`, its randomness drawn from `seed`.
    pub fn new(faults: Faults, seed: u64) -> Self {
        Self {
            faults,
            rng: Rng::new(seed),
            queue: BinaryHeap::new(),
            order: 0,
            busy_until: Instant::ZERO,
            stats: LinkStats::default(),
        }
    }

    /// Offers a packet at `now`.
    pub fn send(&mut self, now: Instant, bytes: &[u8]) {
        self.stats.sent += 1;
        if self.rng.chance(self.faults.loss) {
            self.stats.dropped += 1;
            return;
        }
        let mut start = now;
        if let Some(micros) = (bytes.len() as u64)
            .saturating_mul(1_000_000)
            .checked_div(self.faults.rate)
        {
            start = start.max(self.busy_until);
            self.busy_until = start + Duration::from_micros(micros);
            start = self.busy_until;
        }
        let copies = if self.rng.chance(self.faults.duplicate) {
            2
        } else {
            1
        };
        self.stats.duplicated += copies - 1;
        for _ in 0..copies {
            let mut at = start + self.faults.delay;
            let jitter = self.faults.jitter.as_micros() as u64;
            at += Duration::from_micros(self.rng.below(jitter));
            if self.rng.chance(self.faults.reorder) {
                self.stats.reordered += 1;
                at += self.faults.reorder_delay;
            }
            let mut bytes = bytes.to_vec();
            if !bytes.is_empty() && self.rng.chance(self.faults.corrupt) {
                self.stats.corrupted += 1;
                let bit = self.rng.below(bytes.len() as u64 * 8);
                bytes[(bit / 8) as usize] ^= 1 << (bit % 8);
            }
            self.order += 1;
            self.queue.push(InFlight {
                at,
                order: self.order,
                bytes,
            });
        }
    }

    /// When the next packet arrives, if any is in flight.
    pub fn next_arrival(&self) -> Option<Instant> {
        self.queue.peek().map(|p| p.at)
    }

    /// The next packet due at or before `now`.
    pub fn recv(&mut self, now: Instant) -> Option<Vec<u8>> {
        if self.queue.peek()?.at <= now {
            self.queue.pop().map(|p| p.bytes)
        } else {
            None
        }
    }

    /// Whether nothing is in flight.
    pub fn is_idle(&self) -> bool {
        self.queue.is_empty()
    }
}
