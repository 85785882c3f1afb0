//! One direction of an in-memory link with seeded faults (loss, delay,
//! jitter, reordering, duplication, corruption, rate limit, ECN marking),
//! in whatever time its caller passes.
//!
//! Deterministic: the same seed and the same packets at the same times give
//! the same deliveries. A link without faults draws no random numbers and
//! delivers in order, at once.

use std::collections::{BinaryHeap, VecDeque};

use crate::rng::Rng;
use crate::time::{Duration, Instant};

/// Spare packet buffers a [`Link`] keeps for reuse, at most.
const SPARE_BUFFERS: usize = 64;

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
    /// A loss falls on an ECN-capable packet as a Congestion Experienced
    /// mark instead (an AQM that marks, RFC 3168 section 5); other packets
    /// are still dropped.
    pub mark_ce: bool,
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
    /// ECN-capable packets marked Congestion Experienced instead of
    /// dropped.
    pub marked: u64,
}

/// The packets in flight, in the order they arrive.
#[derive(Debug)]
enum Queue {
    /// Each packet arrives no earlier than the one sent before it (no
    /// jitter, no reordering: the common case, kept cheap).
    Fifo(VecDeque<InFlight>),
    /// Packets overtake each other: a min-heap on (time, send order).
    Heap(BinaryHeap<InFlight>),
}

impl Queue {
    fn push(&mut self, p: InFlight) {
        match self {
            Self::Fifo(q) if q.back().is_none_or(|last| last.at <= p.at) => q.push_back(p),
            Self::Fifo(q) => {
                // Out of order after all (time passed backwards): a heap
                // from now on, which pops in the same order.
                let mut heap: BinaryHeap<_> = q.drain(..).collect();
                heap.push(p);
                *self = Self::Heap(heap);
            }
            Self::Heap(h) => h.push(p),
        }
    }

    fn peek(&self) -> Option<&InFlight> {
        match self {
            Self::Fifo(q) => q.front(),
            Self::Heap(h) => h.peek(),
        }
    }

    fn pop(&mut self) -> Option<InFlight> {
        match self {
            Self::Fifo(q) => q.pop_front(),
            Self::Heap(h) => h.pop(),
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Self::Fifo(q) => q.is_empty(),
            Self::Heap(h) => h.is_empty(),
        }
    }
}

/// One direction of an in-memory link.
#[derive(Debug)]
pub struct Link {
    faults: Faults,
    rng: Rng,
    queue: Queue,
    order: u64,
    /// When the transmitter is free again (rate limiting).
    busy_until: Instant,
    /// Buffers of delivered packets, for the next ones ([`Link::recycle`]).
    spare: Vec<Vec<u8>>,
    /// What happened so far.
    pub stats: LinkStats,
}

impl Link {
    /// A link with `faults`, its randomness drawn from `seed`.
    pub fn new(faults: Faults, seed: u64) -> Self {
        let overtakes =
            !faults.jitter.is_zero() || (faults.reorder > 0.0 && !faults.reorder_delay.is_zero());
        Self {
            faults,
            rng: Rng::new(seed),
            queue: if overtakes {
                Queue::Heap(BinaryHeap::new())
            } else {
                Queue::Fifo(VecDeque::new())
            },
            order: 0,
            busy_until: Instant::ZERO,
            spare: Vec::new(),
            stats: LinkStats::default(),
        }
    }

    /// Offers a packet at `now`.
    pub fn send(&mut self, now: Instant, bytes: &[u8]) {
        self.stats.sent += 1;
        let mut bytes_in = None;
        if self.rng.chance(self.faults.loss) {
            let mut marked = bytes.to_vec();
            if self.faults.mark_ce && mark_ce(&mut marked) {
                self.stats.marked += 1;
                bytes_in = Some(marked);
            } else {
                self.stats.dropped += 1;
                return;
            }
        }
        let bytes = bytes_in.as_deref().unwrap_or(bytes);
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
            let mut copy = self.spare.pop().unwrap_or_default();
            copy.clear();
            copy.extend_from_slice(bytes);
            let mut bytes = copy;
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

    /// Hands back the buffer of a packet [`Link::recv`] returned, for the
    /// link to reuse: a busy link then allocates nothing per packet.
    pub fn recycle(&mut self, buf: Vec<u8>) {
        if self.spare.len() < SPARE_BUFFERS {
            self.spare.push(buf);
        }
    }

    /// Whether nothing is in flight.
    pub fn is_idle(&self) -> bool {
        self.queue.is_empty()
    }
}

/// Marks an ECN-capable IP packet Congestion Experienced (RFC 3168
/// section 5); whether it was ECN-capable. The IPv4 header checksum is
/// recomputed.
fn mark_ce(packet: &mut [u8]) -> bool {
    match packet.first().map(|b| b >> 4) {
        Some(4) => {
            let Some(tos) = packet.get(1).copied() else {
                return false;
            };
            if tos & 0b11 == 0 {
                return false;
            }
            let header_len = usize::from(packet.first().map_or(0, |b| b & 0x0f)) * 4;
            if let Some(b) = packet.get_mut(1) {
                *b |= 0b11;
            }
            if let Some(header) = packet.get_mut(..header_len) {
                if let Some(c) = header.get_mut(10..12) {
                    c.copy_from_slice(&[0, 0]);
                }
                let sum = !crate::wire::checksum::data(header);
                if let Some(c) = header.get_mut(10..12) {
                    c.copy_from_slice(&sum.to_be_bytes());
                }
            }
            true
        }
        Some(6) => {
            let Some(b1) = packet.get(1).copied() else {
                return false;
            };
            if (b1 >> 4) & 0b11 == 0 {
                return false;
            }
            if let Some(b) = packet.get_mut(1) {
                *b |= 0b11 << 4;
            }
            true
        }
        _ => false,
    }
}
