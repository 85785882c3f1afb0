//! IPv4 fragment reassembly (RFC 791 section 3.2, "Fragmentation and
//! Reassembly"), bounded the way Linux bounds it.
//!
//! Fragments are grouped by (source, destination, protocol, identification)
//! as RFC 791 prescribes. Each datagram keeps its pieces in a sorted list of
//! ranges (the RFC 815 idea, with pieces instead of holes), so memory grows
//! with the bytes received, not with the offsets an attacker names.
//!
//! Limits, each counted when hit:
//! - a total memory bound over every incomplete datagram (Linux
//!   `ipfrag_high_thresh`, 4 MiB); a fragment that would exceed it is
//!   dropped, as Linux does (no eviction of other datagrams);
//! - a per-datagram size bound (65,535 octets, RFC 791's maximum) and a
//!   per-datagram fragment count;
//! - a timeout (Linux `ipfrag_time`, 30 s) after which an incomplete
//!   datagram is freed (and, when its first fragment was held, the stack
//!   sends ICMP Time Exceeded, code 1, as Linux does);
//! - overlapping fragments drop the whole datagram, as Linux does for IPv4
//!   and RFC 5722 requires for IPv6; an exact duplicate is ignored.
//!
//! IPv6 fragments are not reassembled: the stack drops non-atomic IPv6
//! fragments (counted) and handles atomic ones (RFC 6946) in place.

use std::collections::{HashMap, VecDeque};
use std::net::Ipv4Addr;

use crate::demux::KeyedHasher;
use crate::time::{Duration, Instant};
use crate::wire::{IpProtocol, Ipv4Repr};

/// RFC 791 section 3.1: "This field allows the length of a datagram to be up
/// to 65,535 octets"; less the 20-byte header, the largest payload.
pub const MAX_PAYLOAD: usize = 65535 - 20;

/// Bookkeeping charged for each stored fragment besides its bytes (the
/// `Vec` header and the range), roughly what Linux's skb truesize adds.
const FRAGMENT_OVERHEAD: usize = core::mem::size_of::<Piece>();
/// Bookkeeping charged for each datagram: the map entry and the expiry entry.
const DATAGRAM_OVERHEAD: usize =
    core::mem::size_of::<(Key, Datagram)>() + core::mem::size_of::<(Instant, Key, u64)>();

/// The limits of IPv4 reassembly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FragLimits {
    /// Total bytes charged to incomplete datagrams.
    pub memory: usize,
    /// The largest reassembled payload.
    pub max_payload: usize,
    /// The most fragments one datagram may have.
    pub max_fragments: usize,
    /// How long an incomplete datagram is kept.
    pub timeout: Duration,
}

/// What names a datagram. RFC 791 section 3.2: "To assemble the fragments
/// of an internet datagram, an internet protocol module (for example at a
/// destination host) combines internet datagrams that all have the same
/// value for the four fields: identification, source, destination, and
/// protocol."
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    pub(crate) src: Ipv4Addr,
    pub(crate) dst: Ipv4Addr,
    pub(crate) protocol: IpProtocol,
    pub(crate) ident: u16,
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
struct Datagram {
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
    /// The header of the fragment at offset 0, once it arrived: a timeout
    /// quotes it in an ICMP Time Exceeded.
    first: Option<Ipv4Repr>,
}

/// An incomplete datagram freed by the timeout: the header of its first
/// fragment and that fragment's data, when the first fragment arrived.
#[derive(Debug)]
pub(crate) struct Expired {
    pub(crate) first: Option<(Ipv4Repr, Vec<u8>)>,
}

/// What became of one fragment.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum FragOutcome {
    /// Stored; the datagram is not complete yet.
    Pending,
    /// The datagram is complete: its whole payload.
    Complete(Vec<u8>),
    /// A copy of a piece already held; ignored.
    Duplicate,
    /// It overlaps another piece: the whole datagram was dropped.
    Overlap,
    /// The memory bound would be exceeded: the fragment was dropped.
    NoMemory,
    /// Too many fragments: the whole datagram was dropped.
    TooMany,
    /// Inconsistent (beyond the size bound or the known end, a middle piece
    /// not a multiple of 8, two different ends): the whole datagram was
    /// dropped, or the fragment alone if it started one.
    Malformed,
}

/// Incomplete IPv4 datagrams.
#[derive(Debug)]
pub(crate) struct Reassembler {
    limits: FragLimits,
    datagrams: HashMap<Key, Datagram, KeyedHasher>,
    /// Deadlines in arrival order (the timeout is fixed, so this is also
    /// deadline order); entries whose generation no longer matches are
    /// stale and skipped.
    expiry: VecDeque<(Instant, Key, u64)>,
    memory: usize,
    next_generation: u64,
}

impl Reassembler {
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

    fn drop_datagram(&mut self, key: &Key) {
        if let Some(d) = self.datagrams.remove(key) {
            self.memory = self.memory.saturating_sub(d.charged);
        }
    }

    /// Takes one fragment (its header and payload).
    pub(crate) fn input(&mut self, now: Instant, header: &Ipv4Repr, data: &[u8]) -> FragOutcome {
        let key = Key {
            src: header.src_addr,
            dst: header.dst_addr,
            protocol: header.next_header,
            ident: header.ident,
        };
        let (offset, more) = (usize::from(header.frag_offset), header.more_frags);
        let end = offset + data.len();
        //= https://www.rfc-editor.org/rfc/rfc791#section-3.1
        //# The fragment offset is measured in units of 8 octets (64 bits).
        // So every fragment but the last carries a multiple of 8 octets; an
        // empty one carries nothing to place.
        if end > self.limits.max_payload
            || data.is_empty()
            || (more && !data.len().is_multiple_of(8))
        {
            if self.datagrams.contains_key(&key) {
                self.drop_datagram(&key);
            }
            return FragOutcome::Malformed;
        }
        let cost = data.len() + FRAGMENT_OVERHEAD;
        if !self.datagrams.contains_key(&key) {
            if self.memory + cost + DATAGRAM_OVERHEAD > self.limits.memory {
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
                    charged: DATAGRAM_OVERHEAD,
                    first: None,
                },
            );
            self.memory += DATAGRAM_OVERHEAD;
            self.expiry
                .push_back((now + self.limits.timeout, key, generation));
        }
        let over_memory = self.memory + cost > self.limits.memory;
        let max_fragments = self.limits.max_fragments;
        let Some(d) = self.datagrams.get_mut(&key) else {
            return FragOutcome::Malformed;
        };
        let verdict = d.place(offset, end, more, max_fragments, over_memory);
        match verdict {
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
                if offset == 0 {
                    d.first = Some(*header);
                }
                self.memory += cost;
                if d.total == Some(d.received) {
                    // No overlaps and every piece inside [0, total): the
                    // pieces tile the payload exactly.
                    let mut payload = Vec::with_capacity(d.received);
                    for p in &d.pieces {
                        payload.extend_from_slice(&p.data);
                    }
                    self.drop_datagram(&key);
                    return FragOutcome::Complete(payload);
                }
                FragOutcome::Pending
            }
            Place::Duplicate => FragOutcome::Duplicate,
            Place::NoMemory => FragOutcome::NoMemory,
            Place::Drop(outcome) => {
                self.drop_datagram(&key);
                outcome
            }
        }
    }

    /// When the oldest incomplete datagram times out.
    pub(crate) fn poll_at(&self) -> Option<Instant> {
        self.expiry.front().map(|&(at, _, _)| at)
    }

    /// Frees every datagram whose time ran out.
    pub(crate) fn expire(&mut self, now: Instant) -> Vec<Expired> {
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

enum Place {
    Stored,
    Duplicate,
    NoMemory,
    Drop(FragOutcome),
}

impl Datagram {
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
                Some(total) if total != end => return Place::Drop(FragOutcome::Malformed),
                _ => {}
            }
            if self.pieces.last().is_some_and(|p| p.end() > end) {
                return Place::Drop(FragOutcome::Malformed);
            }
        } else if self.total.is_some_and(|total| end > total) {
            return Place::Drop(FragOutcome::Malformed);
        }
        let at = self.pieces.partition_point(|p| p.start < start);
        let before = at.checked_sub(1).and_then(|i| self.pieces.get(i));
        let after = self.pieces.get(at);
        if let Some(p) = after
            && p.start == start
            && p.end() == end
        {
            // Linux (ip_frag_queue) ignores exact duplicates: links do
            // duplicate packets.
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
        //
        // Exact duplicates were answered above, as that errata allows.
        if before.is_some_and(|p| p.end() > start) || after.is_some_and(|p| p.start < end) {
            return Place::Drop(FragOutcome::Overlap);
        }
        if self.pieces.len() >= max_fragments {
            return Place::Drop(FragOutcome::TooMany);
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
mod tests {
    use super::*;

    fn limits() -> FragLimits {
        FragLimits {
            memory: 1 << 20,
            max_payload: MAX_PAYLOAD,
            max_fragments: 8,
            timeout: Duration::from_secs(30),
        }
    }

    /// A fragment header: datagram `ident`, at `offset`, MF = `more`.
    fn key(ident: u16) -> impl Fn(usize, bool, usize) -> Ipv4Repr {
        move |offset, more, len| Ipv4Repr {
            src_addr: Ipv4Addr::new(198, 18, 0, 1),
            dst_addr: Ipv4Addr::new(198, 18, 0, 2),
            next_header: IpProtocol::Udp,
            payload_len: len,
            hop_limit: 64,
            dscp: 0,
            ecn: crate::wire::Ecn::NotEct,
            ident,
            dont_frag: false,
            more_frags: more,
            frag_offset: offset as u16,
        }
    }

    fn put(r: &mut Reassembler, ident: u16, offset: usize, more: bool, data: &[u8]) -> FragOutcome {
        r.input(Instant::ZERO, &key(ident)(offset, more, data.len()), data)
    }

    #[test]
    fn pieces_in_any_order() {
        let mut r = Reassembler::new(limits(), 1, 2);
        let data: Vec<u8> = (0..40).collect();
        assert_eq!(put(&mut r, 1, 32, false, &data[32..]), FragOutcome::Pending);
        assert_eq!(put(&mut r, 1, 0, true, &data[..16]), FragOutcome::Pending);
        assert_eq!(put(&mut r, 1, 0, true, &data[..16]), FragOutcome::Duplicate);
        assert_eq!(
            put(&mut r, 1, 16, true, &data[16..32]),
            FragOutcome::Complete(data)
        );
        assert_eq!((r.memory(), r.len()), (0, 0));
    }

    #[test]
    fn inconsistent_ends_drop_the_datagram() {
        let mut r = Reassembler::new(limits(), 1, 2);
        assert_eq!(put(&mut r, 2, 8, false, &[0; 8]), FragOutcome::Pending);
        assert_eq!(
            put(&mut r, 2, 16, true, &[0; 8]),
            FragOutcome::Malformed,
            "a piece past the known end"
        );
        assert_eq!((r.memory(), r.len()), (0, 0));
        assert_eq!(
            put(&mut r, 3, 0, true, &[0; 7]),
            FragOutcome::Malformed,
            "a middle piece not a multiple of 8"
        );
        for i in 0..8 {
            assert_eq!(put(&mut r, 4, i * 8, true, &[0; 8]), FragOutcome::Pending);
        }
        assert_eq!(put(&mut r, 4, 64, true, &[0; 8]), FragOutcome::TooMany);
        assert_eq!((r.memory(), r.len()), (0, 0));
    }
}
