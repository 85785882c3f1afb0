//! The port table: which socket a packet belongs to, and which local ports
//! are taken.
//!
//! TCP lookup order is the Linux one: an exact 4-tuple (established and
//! half-open connections), then a listener bound to the destination address,
//! then a listener on the wildcard address of that family. UDP: a connected
//! socket's 4-tuple, then a socket bound to the address, then the wildcard.
//! Last comes the transparent (catch-all) socket of each protocol, if one
//! exists: it takes what nothing else claims, to any address and port (the
//! tun2socks pattern; Linux's `IP_TRANSPARENT` with a TPROXY rule is the
//! kernel's equivalent).
//! Keys the peer chooses (its address and port) live in hash maps keyed with a
//! secret from the stack's seed (SipHash-1-3), so a peer cannot aim
//! collisions at one bucket (docs/ARCHITECTURE.md rule 13). Ephemeral ports
//! follow RFC 6056 ([`ephemeral`]).

pub(crate) mod ephemeral;

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::{BuildHasher, Hash, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use siphasher::sip::SipHasher13;

use crate::handle::SocketHandle;

/// Builds keyed SipHash-1-3 hashers: deterministic for a given key, unlike
/// std's `RandomState`, so a seeded stack runs the same every time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeyedHasher {
    k0: u64,
    k1: u64,
}

impl KeyedHasher {
    pub(crate) fn new(k0: u64, k1: u64) -> Self {
        Self { k0, k1 }
    }
}

impl BuildHasher for KeyedHasher {
    type Hasher = SipHasher13;
    fn build_hasher(&self) -> SipHasher13 {
        SipHasher13::new_with_keys(self.k0, self.k1)
    }
}

/// A connection's (local, remote) addresses as a map key, hashed in two or
/// three words instead of field by field (the addresses' own `Hash` feeds
/// the hasher a dozen small writes; this is one lookup per segment).
/// Equal tuples hash equally: the words are a function of the addresses
/// and ports (flow labels and scopes, which `Eq` also compares, are left
/// out of the hash only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Tuple(SocketAddr, SocketAddr);

impl Hash for Tuple {
    fn hash<H: Hasher>(&self, h: &mut H) {
        let ports = u32::from(self.0.port()) << 16 | u32::from(self.1.port());
        match (self.0.ip(), self.1.ip()) {
            (IpAddr::V4(l), IpAddr::V4(r)) => {
                h.write_u64(u64::from(l.to_bits()) << 32 | u64::from(r.to_bits()));
            }
            (l, r) => {
                let bits = |ip: IpAddr| match ip {
                    IpAddr::V4(a) => a.to_ipv6_mapped().to_bits(),
                    IpAddr::V6(a) => a.to_bits(),
                };
                h.write_u128(bits(l));
                h.write_u128(bits(r));
            }
        }
        h.write_u32(ports);
    }
}

/// Why a bind failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub(crate) enum BindError {
    /// Another socket holds the address and port.
    #[error("address in use")]
    AddrInUse,
    /// The address family or port is not usable here.
    #[error("invalid address")]
    InvalidInput,
}

/// What a TCP segment's addresses lead to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TcpTarget {
    Connection(SocketHandle),
    Listener(SocketHandle),
    None,
}

/// The same address with the unspecified IP of its family.
pub(crate) fn wildcard(addr: SocketAddr) -> SocketAddr {
    let ip = match addr.ip() {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    SocketAddr::new(ip, addr.port())
}

/// Whether two local addresses share a port: the same family and port,
/// and the same address or a wildcard on either side.
fn overlaps(a: SocketAddr, b: SocketAddr) -> bool {
    a.port() == b.port()
        && a.is_ipv4() == b.is_ipv4()
        && (a.ip() == b.ip() || a.ip().is_unspecified() || b.ip().is_unspecified())
}

/// The port table.
#[derive(Debug)]
pub(crate) struct PortTable {
    tcp_conns: HashMap<Tuple, SocketHandle, KeyedHasher>,
    tcp_listeners: HashMap<SocketAddr, SocketHandle, KeyedHasher>,
    udp_bound: HashMap<SocketAddr, SocketHandle, KeyedHasher>,
    udp_connected: HashMap<Tuple, SocketHandle, KeyedHasher>,
    /// UDP sockets bound with `SO_REUSEADDR`, sharing their address, in
    /// the order they were bound.
    udp_shared: HashMap<SocketAddr, Vec<SocketHandle>, KeyedHasher>,
    /// TCP sockets bound but neither listening nor connected, with their
    /// `SO_REUSEADDR`: they hold their port and receive nothing. Few and
    /// short-lived, so a list.
    tcp_bound: Vec<(SocketAddr, bool, SocketHandle)>,
    /// The transparent TCP listener: SYNs that nothing else claims.
    tcp_transparent: Option<SocketHandle>,
    /// The transparent UDP socket: datagrams that nothing else claims.
    udp_transparent: Option<SocketHandle>,
}

impl PortTable {
    pub(crate) fn new(k0: u64, k1: u64) -> Self {
        let h = KeyedHasher { k0, k1 };
        Self {
            tcp_conns: HashMap::with_hasher(h),
            tcp_listeners: HashMap::with_hasher(h),
            udp_bound: HashMap::with_hasher(h),
            udp_connected: HashMap::with_hasher(h),
            udp_shared: HashMap::with_hasher(h),
            tcp_bound: Vec::new(),
            tcp_transparent: None,
            udp_transparent: None,
        }
    }

    /// Heap bytes the TCP connection map holds now (hashbrown's layout:
    /// a power-of-two bucket count at most 7/8 full, one entry and one
    /// control byte per bucket, plus a 16-byte group of control bytes).
    #[cfg(test)]
    pub(crate) fn tcp_conn_table_bytes(&self) -> usize {
        let cap = self.tcp_conns.capacity();
        if cap == 0 {
            return 0;
        }
        let buckets = if cap < 8 { cap + 1 } else { cap * 8 / 7 }.next_power_of_two();
        let entry = core::mem::size_of::<(Tuple, SocketHandle)>();
        buckets * (entry + 1) + 16
    }

    pub(crate) fn lookup_tcp(&self, local: SocketAddr, remote: SocketAddr) -> TcpTarget {
        if let Some(&h) = self.tcp_conns.get(&Tuple(local, remote)) {
            return TcpTarget::Connection(h);
        }
        match self
            .tcp_listeners
            .get(&local)
            .or_else(|| self.tcp_listeners.get(&wildcard(local)))
            .or(self.tcp_transparent.as_ref())
        {
            Some(&h) => TcpTarget::Listener(h),
            None => TcpTarget::None,
        }
    }

    pub(crate) fn lookup_udp(&self, local: SocketAddr, remote: SocketAddr) -> Option<SocketHandle> {
        // Of sockets sharing an address, the one bound last (Linux).
        let shared = |at: SocketAddr| self.udp_shared.get(&at).and_then(|v| v.last());
        self.udp_connected
            .get(&Tuple(local, remote))
            .or_else(|| self.udp_bound.get(&local))
            .or_else(|| shared(local))
            .or_else(|| self.udp_bound.get(&wildcard(local)))
            .or_else(|| shared(wildcard(local)))
            .or(self.udp_transparent.as_ref())
            .copied()
    }

    /// Every UDP socket bound to `group`'s port on the wildcard address or
    /// on the group itself: those a datagram to the group goes to.
    pub(crate) fn udp_group_targets(&self, group: SocketAddr) -> Vec<SocketHandle> {
        [group, wildcard(group)]
            .into_iter()
            .flat_map(|at| {
                let shared = self.udp_shared.get(&at).into_iter().flatten();
                self.udp_bound.get(&at).into_iter().chain(shared).copied()
            })
            .collect()
    }

    /// Whether a transparent socket of either protocol exists: only then
    /// are packets to addresses that are not ours taken in at all.
    pub(crate) fn has_transparent(&self) -> bool {
        self.tcp_transparent.is_some() || self.udp_transparent.is_some()
    }

    /// Whether a transparent TCP listener exists.
    pub(crate) fn has_tcp_transparent(&self) -> bool {
        self.tcp_transparent.is_some()
    }

    /// Whether a transparent UDP socket exists.
    pub(crate) fn has_udp_transparent(&self) -> bool {
        self.udp_transparent.is_some()
    }

    /// Installs the transparent TCP listener (one per stack).
    pub(crate) fn bind_tcp_transparent(&mut self, h: SocketHandle) -> Result<(), BindError> {
        if self.tcp_transparent.is_some() {
            return Err(BindError::AddrInUse);
        }
        self.tcp_transparent = Some(h);
        Ok(())
    }

    pub(crate) fn unbind_tcp_transparent(&mut self, h: SocketHandle) {
        if self.tcp_transparent == Some(h) {
            self.tcp_transparent = None;
        }
    }

    /// Installs the transparent UDP socket (one per stack).
    pub(crate) fn bind_udp_transparent(&mut self, h: SocketHandle) -> Result<(), BindError> {
        if self.udp_transparent.is_some() {
            return Err(BindError::AddrInUse);
        }
        self.udp_transparent = Some(h);
        Ok(())
    }

    pub(crate) fn unbind_udp_transparent(&mut self, h: SocketHandle) {
        if self.udp_transparent == Some(h) {
            self.udp_transparent = None;
        }
    }

    /// Whether `port` of `local`'s family is taken by a listener or bound
    /// socket on `local`'s address or the wildcard (Linux's bind conflict
    /// rule without SO_REUSEPORT).
    pub(crate) fn tcp_port_taken(&self, local: SocketAddr) -> bool {
        if local.ip().is_unspecified() {
            return self
                .tcp_listeners
                .keys()
                .any(|a| a.port() == local.port() && a.is_ipv4() == local.is_ipv4());
        }
        self.tcp_listeners.contains_key(&local) || self.tcp_listeners.contains_key(&wildcard(local))
    }

    /// Whether a TCP socket bound to `local` (neither listening nor
    /// connected) stands in the way of a socket with `reuse` there: every
    /// one on an overlapping address does, unless both set `SO_REUSEADDR`
    /// (Linux's `inet_csk_bind_conflict` for sockets not listening).
    pub(crate) fn tcp_bound_conflict(&self, local: SocketAddr, reuse: bool) -> bool {
        self.tcp_bound
            .iter()
            .any(|&(at, their_reuse, _)| overlaps(at, local) && !(reuse && their_reuse))
    }

    /// Whether a bound TCP socket holds `local`'s port (ephemeral picks
    /// skip such ports, as Linux's `__inet_hash_connect` does).
    pub(crate) fn tcp_port_bound(&self, local: SocketAddr) -> bool {
        self.tcp_bound_conflict(local, false)
    }

    /// Reserves `local` for bound TCP socket `h`; the caller has checked
    /// the conflicts.
    pub(crate) fn bind_tcp_bound(&mut self, local: SocketAddr, reuse: bool, h: SocketHandle) {
        self.tcp_bound.push((local, reuse, h));
    }

    pub(crate) fn unbind_tcp_bound(&mut self, h: SocketHandle) {
        self.tcp_bound.retain(|&(_, _, b)| b != h);
    }

    pub(crate) fn bind_tcp_listener(
        &mut self,
        local: SocketAddr,
        h: SocketHandle,
    ) -> Result<(), BindError> {
        if local.port() == 0 {
            return Err(BindError::InvalidInput);
        }
        if self.tcp_port_taken(local) {
            return Err(BindError::AddrInUse);
        }
        self.tcp_listeners.insert(local, h);
        Ok(())
    }

    pub(crate) fn unbind_tcp_listener(&mut self, local: SocketAddr, h: SocketHandle) {
        if self.tcp_listeners.get(&local) == Some(&h) {
            self.tcp_listeners.remove(&local);
        }
    }

    /// Whether a connection may use this 4-tuple.
    pub(crate) fn tcp_tuple_free(&self, local: SocketAddr, remote: SocketAddr) -> bool {
        !self.tcp_conns.contains_key(&Tuple(local, remote)) && !self.tcp_port_taken(local)
    }

    /// The connection holding exactly this 4-tuple, if any.
    pub(crate) fn tcp_conn_at(
        &self,
        local: SocketAddr,
        remote: SocketAddr,
    ) -> Option<SocketHandle> {
        self.tcp_conns.get(&Tuple(local, remote)).copied()
    }

    /// Whether any connection uses local port `local` (its address, or any
    /// address of the family when `local` is a wildcard).
    pub(crate) fn tcp_port_has_conns(&self, local: SocketAddr) -> bool {
        self.tcp_conns.keys().any(|Tuple(l, _)| {
            l.port() == local.port()
                && l.is_ipv4() == local.is_ipv4()
                && (local.ip().is_unspecified() || l.ip() == local.ip())
        })
    }

    pub(crate) fn insert_tcp_conn(
        &mut self,
        local: SocketAddr,
        remote: SocketAddr,
        h: SocketHandle,
    ) {
        self.tcp_conns.insert(Tuple(local, remote), h);
    }

    pub(crate) fn remove_tcp_conn(
        &mut self,
        local: SocketAddr,
        remote: SocketAddr,
        h: SocketHandle,
    ) {
        if let Entry::Occupied(e) = self.tcp_conns.entry(Tuple(local, remote))
            && *e.get() == h
        {
            e.remove();
        }
    }

    pub(crate) fn udp_port_taken(&self, local: SocketAddr) -> bool {
        if local.ip().is_unspecified() {
            return self.udp_bound.keys().any(|&a| overlaps(a, local))
                || self.udp_shared.keys().any(|&a| overlaps(a, local));
        }
        [local, wildcard(local)]
            .iter()
            .any(|a| self.udp_bound.contains_key(a) || self.udp_shared.contains_key(a))
    }

    /// Binds `h` at `local`; with `reuse` (`SO_REUSEADDR`) alongside other
    /// such sockets, but never over or under one without it.
    pub(crate) fn bind_udp(
        &mut self,
        local: SocketAddr,
        reuse: bool,
        h: SocketHandle,
    ) -> Result<(), BindError> {
        if !reuse {
            if self.udp_port_taken(local) {
                return Err(BindError::AddrInUse);
            }
            self.udp_bound.insert(local, h);
            return Ok(());
        }
        let exclusive = if local.ip().is_unspecified() {
            self.udp_bound.keys().any(|&a| overlaps(a, local))
        } else {
            self.udp_bound.contains_key(&local) || self.udp_bound.contains_key(&wildcard(local))
        };
        if exclusive {
            return Err(BindError::AddrInUse);
        }
        let sharing = self.udp_shared.entry(local).or_default();
        if !sharing.contains(&h) {
            sharing.push(h);
        }
        Ok(())
    }

    pub(crate) fn unbind_udp(
        &mut self,
        local: SocketAddr,
        remote: Option<SocketAddr>,
        h: SocketHandle,
    ) {
        if self.udp_bound.get(&local) == Some(&h) {
            self.udp_bound.remove(&local);
        }
        if let Some(sharing) = self.udp_shared.get_mut(&local) {
            sharing.retain(|&s| s != h);
            if sharing.is_empty() {
                self.udp_shared.remove(&local);
            }
        }
        if let Some(remote) = remote
            && let Entry::Occupied(e) = self.udp_connected.entry(Tuple(local, remote))
            && *e.get() == h
        {
            e.remove();
        }
    }

    pub(crate) fn connect_udp(&mut self, local: SocketAddr, remote: SocketAddr, h: SocketHandle) {
        self.udp_connected.insert(Tuple(local, remote), h);
    }
}
