//! The neighbour cache of the Ethernet medium: IP address to MAC address,
//! learned from ARP (RFC 826) and NDP (RFC 4861), with timeouts, a bounded
//! number of resolution attempts, and a bounded queue of packets waiting for
//! each resolution (Linux's `unres_qlen_bytes` idea).
//!
//! The entries are kept in address order (a `BTreeMap`), so which entry a
//! full cache evicts, and the order of probes and log lines, depend only on
//! what the stack was told, never on a hasher's random keys: two stacks fed
//! the same frames behave the same.

use std::collections::{BTreeMap, VecDeque};
use std::net::IpAddr;

use crate::time::{Duration, Instant};
use crate::wire::EthernetAddress;

/// How long a learned address is used (Linux `base_reachable_time`: 30 s).
pub(super) const REACHABLE: Duration = Duration::from_secs(30);
/// Time between resolution attempts (RFC 4861 `RETRANS_TIMER`: 1 s).
pub(super) const RETRANS: Duration = Duration::from_secs(1);
/// Attempts before giving up (RFC 4861 `MAX_MULTICAST_SOLICIT`: 3).
pub(super) const MAX_PROBES: u32 = 3;
/// Bytes of packets queued per unresolved neighbour (64 KiB).
const MAX_PENDING_BYTES: usize = 64 * 1024;
/// Entries at most (Linux `gc_thresh3`: 1024); a new one then evicts the
/// resolved entry learned longest ago or, with none resolved, is refused.
const MAX_ENTRIES: usize = 1024;

#[derive(Debug)]
struct Entry {
    mac: Option<EthernetAddress>,
    /// Resolved: when it expires. Unresolved: when to probe again.
    deadline: Instant,
    probes: u32,
    pending: VecDeque<Vec<u8>>,
    pending_bytes: usize,
}

/// What the cache says about a destination.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Lookup {
    /// Known: send to this MAC.
    Known(EthernetAddress),
    /// Unknown: the packet was queued (or dropped, if the queue was full);
    /// send a request when `probe` is true.
    Queued { probe: bool },
}

#[derive(Debug, Default)]
pub(super) struct NeighborCache {
    entries: BTreeMap<IpAddr, Entry>,
    /// Packets dropped: queue full, cache full, or resolution failed.
    pub(super) dropped: u64,
}

impl NeighborCache {
    /// Where to send `packet` for next hop `ip`; queues it while unresolved.
    pub(super) fn resolve(&mut self, now: Instant, ip: IpAddr, packet: &[u8]) -> Lookup {
        if let Some(e) = self.entries.get_mut(&ip) {
            match e.mac {
                Some(mac) if now < e.deadline => return Lookup::Known(mac),
                Some(_) => {
                    // Expired: resolve again, starting now.
                    e.mac = None;
                    e.probes = 0;
                    e.deadline = now;
                }
                None => {}
            }
            if e.pending_bytes + packet.len() <= MAX_PENDING_BYTES {
                e.pending_bytes += packet.len();
                e.pending.push_back(packet.to_vec());
            } else {
                self.dropped += 1;
                tracing::debug!(next_hop = %ip, reason = "queue full", "packet dropped: neighbor unresolved");
            }
            let probe = e.probes == 0;
            if probe {
                e.probes = 1;
                e.deadline = now + RETRANS;
            }
            return Lookup::Queued { probe };
        }
        if self.entries.len() >= MAX_ENTRIES && !self.evict_one() {
            self.dropped += 1;
            tracing::debug!(next_hop = %ip, reason = "cache full", "packet dropped: neighbor unresolved");
            return Lookup::Queued { probe: false };
        }
        let mut pending = VecDeque::new();
        pending.push_back(packet.to_vec());
        self.entries.insert(
            ip,
            Entry {
                mac: None,
                deadline: now + RETRANS,
                probes: 1,
                pending,
                pending_bytes: packet.len(),
            },
        );
        Lookup::Queued { probe: true }
    }

    /// Makes room by dropping the resolved entry whose confirmation is the
    /// oldest (its expiry is the earliest; the lowest address among equals).
    /// Unresolved entries are kept: their packets are waiting.
    fn evict_one(&mut self) -> bool {
        let victim = self
            .entries
            .iter()
            .filter(|(_, e)| e.mac.is_some())
            .min_by_key(|(_, e)| e.deadline)
            .map(|(ip, _)| *ip);
        victim.is_some_and(|ip| self.entries.remove(&ip).is_some())
    }

    /// Records `ip` at `mac`; returns the packets that waited for it.
    /// `create` says whether an unknown address may be added (RFC 826:
    /// only when the packet was for us).
    pub(super) fn learn(
        &mut self,
        now: Instant,
        ip: IpAddr,
        mac: EthernetAddress,
        create: bool,
    ) -> Vec<Vec<u8>> {
        if !mac.is_unicast() || ip.is_unspecified() || ip.is_multicast() {
            return Vec::new();
        }
        match self.entries.get_mut(&ip) {
            Some(e) => {
                e.mac = Some(mac);
                e.deadline = now + REACHABLE;
                e.probes = 0;
                e.pending_bytes = 0;
                e.pending.drain(..).collect()
            }
            None if create => {
                if self.entries.len() >= MAX_ENTRIES && !self.evict_one() {
                    return Vec::new();
                }
                self.entries.insert(
                    ip,
                    Entry {
                        mac: Some(mac),
                        deadline: now + REACHABLE,
                        probes: 0,
                        pending: VecDeque::new(),
                        pending_bytes: 0,
                    },
                );
                Vec::new()
            }
            None => Vec::new(),
        }
    }

    /// The next deadline of an unresolved entry (resolved ones expire lazily).
    pub(super) fn poll_at(&self) -> Option<Instant> {
        self.entries
            .values()
            .filter(|e| e.mac.is_none() && e.probes > 0)
            .map(|e| e.deadline)
            .min()
    }

    /// Unresolved entries due at `now`: returns the addresses to probe
    /// again, and those out of attempts, which are dropped with their
    /// packets.
    pub(super) fn on_timeout(&mut self, now: Instant) -> (Vec<IpAddr>, Vec<IpAddr>) {
        let mut again = Vec::new();
        let mut failed = Vec::new();
        for (ip, e) in &mut self.entries {
            if e.mac.is_some() || e.probes == 0 || e.deadline > now {
                continue;
            }
            if e.probes >= MAX_PROBES {
                failed.push(*ip);
            } else {
                e.probes += 1;
                e.deadline = now + RETRANS;
                again.push(*ip);
            }
        }
        for ip in &failed {
            if let Some(e) = self.entries.remove(ip) {
                self.dropped += e.pending.len() as u64;
                tracing::debug!(
                    next_hop = %ip,
                    packets = e.pending.len(),
                    reason = "no answer",
                    "packets dropped: neighbor resolution failed"
                );
            }
        }
        // Both in address order: the map's.
        (again, failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(198, 18, 0, 9));
    const MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 9]);

    #[test]
    fn queues_until_learned_then_flushes() {
        let mut c = NeighborCache::default();
        let t = Instant::ZERO;
        assert_eq!(c.resolve(t, IP, b"one"), Lookup::Queued { probe: true });
        assert_eq!(c.resolve(t, IP, b"two"), Lookup::Queued { probe: false });
        assert_eq!(
            c.learn(t, IP, MAC, false),
            vec![b"one".to_vec(), b"two".to_vec()]
        );
        assert_eq!(c.resolve(t, IP, b"x"), Lookup::Known(MAC));
        // Expired after REACHABLE: resolution starts again.
        assert_eq!(
            c.resolve(t + REACHABLE, IP, b"y"),
            Lookup::Queued { probe: true }
        );
    }

    #[test]
    fn gives_up_after_max_probes_and_drops_the_queue() {
        let mut c = NeighborCache::default();
        let mut t = Instant::ZERO;
        c.resolve(t, IP, b"p");
        let mut probes = 1;
        let mut failed = Vec::new();
        while let Some(at) = c.poll_at() {
            t = at;
            let (again, gone) = c.on_timeout(t);
            probes += again.len();
            failed.extend(gone);
        }
        assert_eq!(probes as u32, MAX_PROBES);
        assert_eq!(failed, [IP]);
        assert_eq!(
            t,
            Instant::ZERO + RETRANS * MAX_PROBES,
            "given up after 3 s"
        );
        assert_eq!(c.dropped, 1);
    }

    #[test]
    fn only_creates_entries_when_asked() {
        let mut c = NeighborCache::default();
        c.learn(Instant::ZERO, IP, MAC, false);
        assert_eq!(
            c.resolve(Instant::ZERO, IP, b"p"),
            Lookup::Queued { probe: true }
        );
        c.learn(Instant::ZERO, IP, EthernetAddress::BROADCAST, true);
        assert_eq!(
            c.resolve(Instant::ZERO, IP, b"p"),
            Lookup::Queued { probe: false }
        );
    }

    /// A full cache evicts the resolved entry learned longest ago, so the
    /// victims follow the order of learning, whatever the addresses.
    #[test]
    fn a_full_cache_evicts_the_oldest_resolved_entry() {
        let addr = |i: usize| IpAddr::V4(std::net::Ipv4Addr::from(0xc612_0000 + i as u32 * 7919));
        let mut c = NeighborCache::default();
        let mut t = Instant::ZERO;
        // Learned in an order unrelated to the addresses' own.
        let order: Vec<usize> = (0..MAX_ENTRIES).map(|i| (i * 389) % MAX_ENTRIES).collect();
        for &i in &order {
            t += Duration::from_millis(1);
            c.learn(t, addr(i), MAC, true);
        }
        // One unresolved entry, which eviction must spare.
        c.resolve(t, addr(MAX_ENTRIES), b"waiting");
        assert!(!c.entries.contains_key(&addr(order[0])), "victim 0");
        for k in 1..=5 {
            t += Duration::from_millis(1);
            c.learn(t, addr(MAX_ENTRIES + k), MAC, true);
            assert!(!c.entries.contains_key(&addr(order[k])), "victim {k}");
            assert!(c.entries.contains_key(&addr(order[k + 1])));
        }
        assert_eq!(c.entries.len(), MAX_ENTRIES);
        assert!(c.entries.contains_key(&addr(MAX_ENTRIES)));
    }
}
