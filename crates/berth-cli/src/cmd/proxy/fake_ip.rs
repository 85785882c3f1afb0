//! The fake-IP pool of `--dns fake-ip`, as clash and sing-box have it.
//!
//! The proxy answers an application's A (and AAAA) queries itself, with an
//! address of its own from a prefix routed into the TUN, and remembers which
//! name it gave that address to. A connection to the address is then relayed
//! to the name, resolved by the proxy's upstream: the application never needs
//! a real answer, and the upstream sees the name.
//!
//! [`FakePool`] hands the addresses out; [`answer`] turns a query into the
//! response (or tells the caller to forward or drop it).

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use anyhow::{Context, bail};
use berth_core::dns::{Class, Message, Opcode, Rcode, RecordData, RecordType};

/// The TTL of a fake answer: short, as clash's, so that a client asks again
/// (and gets the name's current address) rather than cache an address the
/// pool may since have given to another name.
pub(crate) const FAKE_TTL: u32 = 1;

/// Offset of the first address handed out: the network address (offset 0)
/// is never one, and offset 1 is kept for the gateway, the address the pool
/// is usually written as (clash's `198.18.0.1/16`).
const FIRST_OFFSET: u128 = 2;

/// A bounded, least-recently-used map between names and fake addresses.
///
/// Every name gets one slot; slot `i` is the address at offset `i + 2` of the
/// IPv4 prefix and, when there is one, of the IPv6 prefix. Neither the
/// network address, the address after it (kept for the gateway) nor the
/// all-ones address (IPv4's broadcast) is handed out. A name keeps its slot
/// while it is remembered; once `capacity` names are (or as many as a prefix
/// holds, if fewer), a new name takes the slot of the name least recently
/// looked up or resolved back with [`name_of`](Self::name_of).
///
/// Names are normalised: ASCII letters to lowercase (DNS names compare
/// ignoring ASCII case), one trailing dot removed. Everything is
/// deterministic: the same calls give the same addresses.
#[derive(Debug)]
pub(crate) struct FakePool {
    v4: Prefix,
    v6: Option<Prefix>,
    /// Slots at most.
    capacity: usize,
    /// Slot of each remembered name.
    by_name: HashMap<Arc<str>, usize>,
    /// Name and last use of each slot; grows up to `capacity`.
    slots: Vec<Slot>,
    /// Slots by last use, least recent first.
    lru: BTreeMap<u64, usize>,
    /// The next use's stamp.
    clock: u64,
}

#[derive(Debug)]
struct Slot {
    name: Arc<str>,
    used: u64,
}

/// A prefix as a number: `bits` wide (32 or 128), the first `len` fixed.
#[derive(Debug, Clone, Copy)]
struct Prefix {
    network: u128,
    len: u8,
    bits: u8,
}

impl Prefix {
    fn new(addr: u128, len: u8, bits: u8) -> anyhow::Result<Self> {
        // At least one address besides the reserved three.
        if len == 0 || len > bits - 2 {
            bail!(
                "a fake-IP prefix length must be 1 to {}, not {len}",
                bits - 2
            );
        }
        let host_bits = u32::from(bits - len);
        let network = addr >> host_bits << host_bits;
        Ok(Self { network, len, bits })
    }

    /// How many addresses can be handed out: all but the reserved three.
    fn usable(&self) -> u128 {
        // `len` is at least 1: the shift stays below 128.
        (1u128 << (self.bits - self.len)) - (FIRST_OFFSET + 1)
    }

    fn contains(&self, addr: u128) -> bool {
        let host_bits = u32::from(self.bits - self.len);
        addr >> host_bits == self.network >> host_bits
    }

    fn addr(&self, slot: usize) -> u128 {
        self.network + FIRST_OFFSET + slot as u128
    }

    /// The slot of `addr`, if it is one the pool hands out.
    fn slot(&self, addr: u128) -> Option<usize> {
        if !self.contains(addr) {
            return None;
        }
        let offset = addr.checked_sub(self.network + FIRST_OFFSET)?;
        if offset >= self.usable() {
            return None;
        }
        usize::try_from(offset).ok()
    }
}

impl FakePool {
    /// A pool of addresses from `v4` (address and prefix length; host bits
    /// are ignored, so `198.18.0.1/16` is `198.18.0.0/16`) and, if given,
    /// `v6`, for at most `capacity` names. Fails on a capacity of zero, on a
    /// prefix length of zero and on a prefix with no address to hand out
    /// (IPv4 longer than /30, IPv6 longer than /126).
    pub(crate) fn new(
        v4: (Ipv4Addr, u8),
        v6: Option<(Ipv6Addr, u8)>,
        capacity: usize,
    ) -> anyhow::Result<Self> {
        let v4p =
            Prefix::new(u128::from(u32::from(v4.0)), v4.1, 32).context("IPv4 fake-IP pool")?;
        let v6p = v6
            .map(|(addr, len)| Prefix::new(u128::from(addr), len, 128))
            .transpose()
            .context("IPv6 fake-IP pool")?;
        if capacity == 0 {
            bail!("a fake-IP pool needs room for at least one name");
        }
        let room = v6p
            .iter()
            .chain([&v4p])
            .map(Prefix::usable)
            .min()
            .unwrap_or(0);
        let capacity = usize::try_from(room).map_or(capacity, |room| capacity.min(room));
        Ok(Self {
            v4: v4p,
            v6: v6p,
            capacity,
            by_name: HashMap::new(),
            slots: Vec::new(),
            lru: BTreeMap::new(),
            clock: 0,
        })
    }

    /// The IPv4 address of `name`, given to it now if it has none.
    pub(crate) fn lookup_v4(&mut self, name: &str) -> Ipv4Addr {
        let slot = self.slot_of(name);
        // The prefix is 32 bits wide: the address fits.
        Ipv4Addr::from(self.v4.addr(slot) as u32)
    }

    /// The IPv6 address of `name`, given to it now if it has none; `None`
    /// when the pool has no IPv6 prefix.
    pub(crate) fn lookup_v6(&mut self, name: &str) -> Option<Ipv6Addr> {
        let v6 = self.v6?;
        let slot = self.slot_of(name);
        Some(Ipv6Addr::from(v6.addr(slot)))
    }

    /// The name `addr` was given to, if it was and is still remembered;
    /// counts as a use of the name.
    pub(crate) fn name_of(&mut self, addr: IpAddr) -> Option<Arc<str>> {
        let slot = match addr {
            IpAddr::V4(a) => self.v4.slot(u128::from(u32::from(a))),
            IpAddr::V6(a) => self.v6?.slot(u128::from(a)),
        }?;
        let name = Arc::clone(&self.slots.get(slot)?.name);
        self.touch(slot);
        Some(name)
    }

    /// Whether `addr` is inside the pool's prefixes (handed out or not).
    pub(crate) fn contains(&self, addr: IpAddr) -> bool {
        match addr {
            IpAddr::V4(a) => self.v4.contains(u128::from(u32::from(a))),
            IpAddr::V6(a) => self.v6.is_some_and(|p| p.contains(u128::from(a))),
        }
    }

    /// The slot of `name`: its own, a new one, or the least recently used
    /// name's.
    fn slot_of(&mut self, name: &str) -> usize {
        let name = normalise(name);
        if let Some(&slot) = self.by_name.get(name.as_str()) {
            self.touch(slot);
            return slot;
        }
        let name: Arc<str> = name.into();
        let full = self.slots.len() >= self.capacity;
        let slot = match if full { self.lru.pop_first() } else { None } {
            // The least recent name leaves.
            Some((_, slot)) => {
                let old = std::mem::replace(&mut self.slots[slot].name, Arc::clone(&name));
                self.by_name.remove(&old);
                slot
            }
            None => {
                self.slots.push(Slot {
                    name: Arc::clone(&name),
                    used: 0,
                });
                self.slots.len() - 1
            }
        };
        self.by_name.insert(name, slot);
        self.touch(slot);
        slot
    }

    /// Marks `slot` as the most recently used.
    fn touch(&mut self, slot: usize) {
        let stamp = self.clock;
        self.clock += 1;
        let previous = std::mem::replace(&mut self.slots[slot].used, stamp);
        // A new slot's 0 may be another's stamp: remove only its own entry.
        if self.lru.get(&previous) == Some(&slot) {
            self.lru.remove(&previous);
        }
        self.lru.insert(stamp, slot);
    }
}

/// Lowercase ASCII, without one trailing dot.
fn normalise(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

/// What to do with a datagram sent to the fake DNS server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reply {
    /// Send this response back.
    Answer(Vec<u8>),
    /// A query the pool does not answer (a type other than A and AAAA, a
    /// class other than IN, the root): relay it to a real server.
    Forward,
    /// Not a query (unparsable, or a response): ignore it.
    Drop,
}

/// The reply to `query`, from `pool`.
///
/// A and AAAA questions of class IN get the name's fake address with TTL
/// [`FAKE_TTL`]; AAAA without an IPv6 prefix gets NOERROR with no answer
/// (NODATA), so that clients use A. An opcode other than QUERY gets NOTIMP,
/// a query with other than one question FORMERR.
pub(crate) fn answer(pool: &mut FakePool, query: &[u8]) -> Reply {
    let Ok(query) = Message::parse(query) else {
        return Reply::Drop;
    };
    if query.header.response {
        return Reply::Drop;
    }
    let response = if query.header.opcode != Opcode::QUERY {
        query.response(Rcode::NOTIMP)
    } else if let [q] = &query.questions[..] {
        if q.qclass != Class::IN || q.name.is_root() {
            return Reply::Forward;
        }
        let name = q.name.to_string();
        let data = match q.qtype {
            RecordType::A => Some(RecordData::A(pool.lookup_v4(&name))),
            RecordType::AAAA => pool.lookup_v6(&name).map(RecordData::Aaaa),
            _ => return Reply::Forward,
        };
        let mut response = query.response(Rcode::NOERROR);
        if let Some(data) = data {
            response.add_answer(FAKE_TTL, data);
        }
        response
    } else {
        // The question section is what is wrong: not echoed.
        Message {
            questions: Vec::new(),
            ..query.response(Rcode::FORMERR)
        }
    };
    response.to_bytes().map_or(Reply::Drop, Reply::Answer)
}

/// SERVFAIL in answer to `query` (a server to forward to failed), if it
/// is a query at all.
pub(crate) fn server_failure(query: &[u8]) -> Option<Vec<u8>> {
    let query = Message::parse(query).ok()?;
    if query.header.response {
        return None;
    }
    query.response(Rcode::SERVFAIL).to_bytes().ok()
}

#[cfg(test)]
mod tests;
