//! IP fragment reassembly for IPv4 (RFC 791 section 3.2, "Fragmentation and
//! Reassembly") and IPv6 (RFC 8200 section 4.5, RFC 5722), bounded the way
//! Linux bounds it.
//!
//! A `Reassembler` groups fragments by a key: (source, destination,
//! protocol, identification) for IPv4 as RFC 791 prescribes, (source,
//! destination, identification) for IPv6 as RFC 8200 does (`ipv6.rs`). Each
//! datagram keeps its pieces in a sorted list of ranges (the RFC 815 idea,
//! with pieces instead of holes), so memory grows with the bytes received,
//! not with the offsets an attacker names. From the fragment at offset 0 it
//! also keeps a `Head`: the IPv4 header, or the IPv6 header with the
//! Per-Fragment and Fragment headers, from which the stack rebuilds the
//! datagram and quotes it in a Time Exceeded.
//!
//! The stack keeps one reassembler per family, each with its own limits, as
//! Linux keeps `ipfrag_*` and `ip6frag_*` apart. Limits, each counted when
//! hit:
//! - a total memory bound over every incomplete datagram (Linux
//!   `ipfrag_high_thresh` and `ip6frag_high_thresh`, 4 MiB each); a fragment
//!   that would exceed it is dropped, as Linux does (no eviction of other
//!   datagrams);
//! - a per-datagram size bound (65,535 octets, the largest IPv4 datagram and
//!   the largest IPv6 payload) and a per-datagram fragment count;
//! - a timeout (Linux `ipfrag_time`, 30 s; `ip6frag_time`, RFC 8200's 60 s)
//!   after which an incomplete datagram is freed (and, when its first
//!   fragment was held, the stack sends ICMP or ICMPv6 Time Exceeded, code 1,
//!   as Linux does);
//! - overlapping fragments drop the whole datagram, as RFC 5722 requires for
//!   IPv6 and Linux does for IPv4 too; an exact duplicate is ignored.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::net::Ipv4Addr;

use crate::demux::KeyedHasher;
use crate::time::{Duration, Instant};
use crate::wire::{IpProtocol, Ipv4Repr};

pub(crate) mod ipv6;

/// RFC 791 section 3.1: "This field allows the length of a datagram to be up
/// to 65,535 octets"; less the 20-byte header, the largest payload.
pub(crate) const MAX_PAYLOAD: usize = 65535 - 20;

/// RFC 8200 section 4.5: a reassembled packet's Payload Length is at most
/// 65,535 octets, so its Fragmentable Part is no longer.
pub(crate) const IPV6_MAX_PAYLOAD: usize = 65535;

/// The limits of reassembly, one set per family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FragLimits {
    /// Total bytes charged to incomplete datagrams.
    pub memory: usize,
    /// The largest reassembled payload (IPv6: Fragmentable Part).
    pub max_payload: usize,
    /// The most fragments one datagram may have.
    pub max_fragments: usize,
    /// How long an incomplete datagram is kept.
    pub timeout: Duration,
}

/// What names an IPv4 datagram. RFC 791 section 3.2: "To assemble the
/// fragments of an internet datagram, an internet protocol module (for
/// example at a destination host) combines internet datagrams that all have
/// the same value for the four fields: identification, source, destination,
/// and protocol."
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Ipv4Key {
    pub(crate) src: Ipv4Addr,
    pub(crate) dst: Ipv4Addr,
    pub(crate) protocol: IpProtocol,
    pub(crate) ident: u16,
}

/// What a datagram keeps of its first fragment besides the data.
pub(crate) trait Head {
    /// Bytes it holds on the heap, charged to the memory bound with the
    /// fragment.
    fn heap_len(&self) -> usize;
}

impl Head for Ipv4Repr {
    fn heap_len(&self) -> usize {
        0
    }
}

/// One fragment's place in its datagram.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fragment<'a> {
    /// The offset of its data in the datagram's payload (IPv6: in the
    /// Fragmentable Part), in octets.
    pub(crate) offset: usize,
    /// More fragments follow (IPv4 MF, IPv6 M).
    pub(crate) more: bool,
    /// Its data.
    pub(crate) data: &'a [u8],
}

/// Bookkeeping charged for each stored fragment besides its bytes (the
/// `Vec` header and the range), roughly what Linux's skb truesize adds.
const FRAGMENT_OVERHEAD: usize = core::mem::size_of::<Piece>();

/// Bookkeeping charged for each datagram: the map entry and the expiry entry.
const fn datagram_overhead<K, H>() -> usize {
    core::mem::size_of::<(K, Datagram<H>)>() + core::mem::size_of::<(Instant, K, u64)>()
}

#[derive(Debug)]
struct Piece {
    start: usize,
    data: Vec<u8>,
}

impl Piece {
    fn end(&self) -> usize {
        self.start + self.data.len()
    }
}

#[derive(Debug)]
struct Datagram<H> {
    /// Tells this datagram's expiry entry from a stale one for the same key.
    generation: u64,
    /// Sorted by `start`, never overlapping.
    pieces: Vec<Piece>,
    /// The payload length, once the last fragment (MF = 0) arrived.
    total: Option<usize>,
    /// Bytes received so far.
    received: usize,
    /// Bytes charged to the memory bound.
    charged: usize,
    /// The head of the fragment at offset 0, once it arrived: the datagram
    /// is rebuilt from it, and a timeout quotes it.
    first: Option<H>,
}

/// An incomplete datagram freed by the timeout: the head of its first
/// fragment and that fragment's data, when the first fragment arrived.
#[derive(Debug)]
pub(crate) struct Expired<H> {
    pub(crate) first: Option<(H, Vec<u8>)>,
}

/// A complete datagram: the head of its first fragment and its payload.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Reassembled<H> {
    pub(crate) head: H,
    pub(crate) payload: Vec<u8>,
}

/// What became of one fragment.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum FragOutcome<H> {
    /// Stored; the datagram is not complete yet.
    Pending,
    /// The datagram is complete.
    Complete(Reassembled<H>),
    /// A copy of a piece already held; ignored.
    Duplicate,
    /// It overlaps another piece: the whole datagram was dropped.
    Overlap,
    /// The memory bound would be exceeded: the fragment was dropped.
    NoMemory,
    /// Too many fragments: the whole datagram was dropped.
    TooMany,
    /// Inconsistent (beyond the size bound or the known end, a middle piece
    /// not a multiple of 8, two different ends, a first fragment without
    /// its head): the whole datagram was dropped, or the fragment alone if
    /// it started one.
    Malformed,
}

/// Incomplete datagrams of one family, named by keys `K`, each keeping the
/// head `H` of its first fragment.
#[derive(Debug)]
pub(crate) struct Reassembler<K, H> {
    limits: FragLimits,
    datagrams: HashMap<K, Datagram<H>, KeyedHasher>,
    /// Deadlines in arrival order (the timeout is fixed, so this is also
    /// deadline order); entries whose generation no longer matches are
    /// stale and skipped.
    expiry: VecDeque<(Instant, K, u64)>,
    memory: usize,
    next_generation: u64,
}

impl<K: Copy + Eq + Hash, H: Head> Reassembler<K, H> {
    pub(crate) fn new(limits: FragLimits, k0: u64, k1: u64) -> Self {
        Self {
            limits,
            datagrams: HashMap::with_hasher(KeyedHasher::new(k0, k1)),
            expiry: VecDeque::new(),
            memory: 0,
            next_generation: 0,
        }
    }

    /// Bytes charged to incomplete datagrams now.
    pub(crate) fn memory(&self) -> usize {
        self.memory
    }

    /// Incomplete datagrams held now.
    pub(crate) fn len(&self) -> usize {
        self.datagrams.len()
    }

    fn drop_datagram(&mut self, key: &K) {
        if let Some(d) = self.datagrams.remove(key) {
            self.memory = self.memory.saturating_sub(d.charged);
        }
    }

    fn drop_with(&mut self, key: &K, outcome: FragOutcome<H>) -> FragOutcome<H> {
        self.drop_datagram(key);
        outcome
    }

    /// Takes one fragment of the datagram `key`; `head` is the fragment's
    /// head, needed when its offset is 0.
    pub(crate) fn input(
        &mut self,
        now: Instant,
        key: K,
        fragment: Fragment<'_>,
        head: Option<H>,
    ) -> FragOutcome<H> {
        let Fragment { offset, more, data } = fragment;
        let end = offset + data.len();
        //= https://www.rfc-editor.org/rfc/rfc791#section-3.1
        //# The fragment offset is measured in units of 8 octets (64 bits).
        // So every fragment but the last carries a multiple of 8 octets; an
        // empty one carries nothing to place.
        if end > self.limits.max_payload
            || data.is_empty()
            || (more && !data.len().is_multiple_of(8))
            || (offset == 0 && head.is_none())
        {
            return self.drop_with(&key, FragOutcome::Malformed);
        }
        let head = head.filter(|_| offset == 0);
        let cost = data.len() + FRAGMENT_OVERHEAD + head.as_ref().map_or(0, H::heap_len);
        let overhead = datagram_overhead::<K, H>();
        if !self.datagrams.contains_key(&key) {
            if self.memory + cost + overhead > self.limits.memory {
                return FragOutcome::NoMemory;
            }
            let generation = self.next_generation;
            self.next_generation += 1;
            self.datagrams.insert(
                key,
                Datagram {
                    generation,
                    pieces: Vec::new(),
                    total: None,
                    received: 0,
                    charged: overhead,
                    first: None,
                },
            );
            self.memory += overhead;
            self.expiry
                .push_back((now + self.limits.timeout, key, generation));
        }
        let over_memory = self.memory + cost > self.limits.memory;
        let max_fragments = self.limits.max_fragments;
        let Some(d) = self.datagrams.get_mut(&key) else {
            return FragOutcome::Malformed;
        };
        match d.place(offset, end, more, max_fragments, over_memory) {
            Place::Stored => {
                d.pieces.insert(
                    d.pieces.partition_point(|p| p.start < offset),
                    Piece {
                        start: offset,
                        data: data.to_vec(),
                    },
                );
                d.received += data.len();
                d.charged += cost;
                if head.is_some() {
                    d.first = head;
                }
                self.memory += cost;
                if d.total == Some(d.received) {
                    return self.complete(&key);
                }
                FragOutcome::Pending
            }
            Place::Duplicate => FragOutcome::Duplicate,
            Place::NoMemory => FragOutcome::NoMemory,
            Place::Overlap => self.drop_with(&key, FragOutcome::Overlap),
            Place::TooMany => self.drop_with(&key, FragOutcome::TooMany),
            Place::Malformed => self.drop_with(&key, FragOutcome::Malformed),
        }
    }

    /// Takes the datagram `key`, whose pieces cover its payload.
    fn complete(&mut self, key: &K) -> FragOutcome<H> {
        let Some(d) = self.datagrams.remove(key) else {
            return FragOutcome::Malformed;
        };
        self.memory = self.memory.saturating_sub(d.charged);
        // No overlaps and every piece inside [0, total): the pieces tile the
        // payload exactly, so the piece at offset 0 and its head are there.
        let Some(head) = d.first else {
            return FragOutcome::Malformed;
        };
        let mut payload = Vec::with_capacity(d.received);
        for p in &d.pieces {
            payload.extend_from_slice(&p.data);
        }
        FragOutcome::Complete(Reassembled { head, payload })
    }

    /// When the oldest incomplete datagram times out.
    pub(crate) fn poll_at(&self) -> Option<Instant> {
        self.expiry.front().map(|&(at, _, _)| at)
    }

    /// Frees every datagram whose time ran out.
    pub(crate) fn expire(&mut self, now: Instant) -> Vec<Expired<H>> {
        let mut freed = Vec::new();
        while let Some(&(at, key, generation)) = self.expiry.front() {
            if at > now {
                break;
            }
            self.expiry.pop_front();
            if self
                .datagrams
                .get(&key)
                .is_some_and(|d| d.generation == generation)
                && let Some(d) = self.datagrams.remove(&key)
            {
                //= https://www.rfc-editor.org/rfc/rfc791#section-3.2
                //# If the timer runs out, the all reassembly resources for
                //# this buffer identifier are released.
                //= https://www.rfc-editor.org/rfc/rfc8200#section-4.5
                //# If insufficient fragments are received to complete reassembly
                //# of a packet within 60 seconds of the reception of the first-
                //# arriving fragment of that packet, reassembly of that packet
                //# must be abandoned and all the fragments that have been received
                //# for that packet must be discarded.
                self.memory = self.memory.saturating_sub(d.charged);
                let first = d.first.zip(
                    d.pieces
                        .into_iter()
                        .next()
                        .filter(|p| p.start == 0)
                        .map(|p| p.data),
                );
                freed.push(Expired { first });
            }
        }
        freed
    }
}

/// Where a fragment goes; the last three drop the whole datagram.
enum Place {
    Stored,
    Duplicate,
    NoMemory,
    Overlap,
    TooMany,
    Malformed,
}

impl<H> Datagram<H> {
    /// Where `[start, end)` goes, or why it does not.
    fn place(
        &mut self,
        start: usize,
        end: usize,
        more: bool,
        max_fragments: usize,
        over_memory: bool,
    ) -> Place {
        if !more {
            match self.total {
                Some(total) if total != end => return Place::Malformed,
                _ => {}
            }
            if self.pieces.last().is_some_and(|p| p.end() > end) {
                return Place::Malformed;
            }
        } else if self.total.is_some_and(|total| end > total) {
            return Place::Malformed;
        }
        let at = self.pieces.partition_point(|p| p.start < start);
        let before = at.checked_sub(1).and_then(|i| self.pieces.get(i));
        let after = self.pieces.get(at);
        if let Some(p) = after
            && p.start == start
            && p.end() == end
        {
            //= https://www.rfc-editor.org/rfc/rfc8200#section-4.5
            //# It should be noted that fragments may be duplicated in the
            //# network.  Instead of treating these exact duplicate fragments
            //# as overlapping fragments, an implementation may choose to
            //# detect this case and drop exact duplicate fragments while
            //# keeping the other fragments belonging to the same packet.
            // Linux (ip_frag_queue, ip6_frag_queue) does so for both families.
            return Place::Duplicate;
        }
        //= https://www.rfc-editor.org/rfc/rfc5722#section-4
        //# When reassembling an IPv6 datagram, if one or more its constituent
        //# fragments is determined to be an overlapping fragment, the entire
        //# datagram (and any constituent fragments, including those not yet
        //# received) MUST be silently discarded.
        // Linux applies the same rule to IPv4 (since 4.19). Fragments "not
        // yet received" cannot be recognised (errata 3089 drops the phrase):
        // they start a new datagram that times out.
        if before.is_some_and(|p| p.end() > start) || after.is_some_and(|p| p.start < end) {
            return Place::Overlap;
        }
        if self.pieces.len() >= max_fragments {
            return Place::TooMany;
        }
        if over_memory {
            return Place::NoMemory;
        }
        if !more {
            self.total = Some(end);
        }
        Place::Stored
    }
}

#[cfg(test)]
mod tests;
