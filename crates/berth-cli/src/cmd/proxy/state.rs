//! What every relay task shares: the policy (routes, upstream, DNS mode,
//! limits), the fake-IP pool, the dial limiter and the counters.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::fake_ip::FakePool;
use super::relays::Relays;
use super::route::Route;
use super::sync::lock;
use super::upstream::{Target, Upstream};

/// Forwarded DNS queries in flight at once; more are dropped (the client
/// retries).
pub(crate) const MAX_DNS_FORWARDS: usize = 256;

/// How UDP flows map to upstream sockets (RFC 4787 terms).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum UdpNat {
    /// Endpoint-independent mapping and filtering: one upstream socket per
    /// client endpoint, answers from any remote pass (full cone).
    FullCone,
    /// Endpoint-dependent: one upstream socket per (client, destination),
    /// answers only from that destination.
    Symmetric,
}

/// What happens to the namespace's DNS queries (port 53, UDP and TCP, to
/// any address).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum DnsMode {
    /// Relayed like any other flow.
    Off,
    /// A and AAAA queries answered from the fake pool; the upstream is
    /// given the name. Other queries are forwarded.
    FakeIp,
    /// Every query forwarded over TCP through the upstream.
    Forward,
}

/// How echo requests from the namespace to relayed destinations are
/// answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum IcmpMode {
    /// Answered by the proxy itself, for every relayed destination.
    Local,
    /// Answered only if the destination answers a ping from the host
    /// (through an unprivileged ICMP socket).
    Forward,
}

/// Limits of one proxy.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) tcp_relays: usize,
    pub(crate) udp_mappings: usize,
    pub(crate) dials_per_client: usize,
    pub(crate) connect_timeout: Duration,
    pub(crate) tcp_idle: Duration,
    pub(crate) udp_idle: Duration,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) tcp_relayed: AtomicU64,
    pub(crate) tcp_refused: AtomicU64,
    pub(crate) udp_mappings: AtomicU64,
    pub(crate) udp_dropped: AtomicU64,
    pub(crate) dns_answered: AtomicU64,
    pub(crate) dns_forwarded: AtomicU64,
    pub(crate) echo_answered: AtomicU64,
}

impl Counters {
    pub(crate) fn add(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }
}

/// The state relay tasks share.
pub(crate) struct Proxy {
    pub(crate) routes: Vec<Route>,
    /// Addresses on the link itself: never relayed.
    pub(crate) own: Vec<IpAddr>,
    pub(crate) upstream: Upstream,
    pub(crate) dns: DnsMode,
    /// Where forwarded DNS queries go (through the upstream).
    pub(crate) dns_server: Option<SocketAddr>,
    /// Forwarded DNS queries in flight.
    pub(crate) dns_forwards: Arc<tokio::sync::Semaphore>,
    pub(crate) fake: Option<Mutex<FakePool>>,
    pub(crate) nat: UdpNat,
    pub(crate) limits: Limits,
    pub(crate) counters: Counters,
    pub(crate) relays: Arc<Relays>,
    pub(crate) tcp_live: AtomicUsize,
    /// The upstream's lack of UDP has been logged (once per run).
    pub(crate) udp_unsupported_logged: std::sync::atomic::AtomicBool,
    /// Upstream dials in flight, per client address.
    dials: Mutex<HashMap<IpAddr, usize>>,
}

/// A dial in flight, counted against its client until dropped.
pub(crate) struct Dial {
    proxy: Arc<Proxy>,
    client: IpAddr,
}

impl Drop for Dial {
    fn drop(&mut self) {
        let mut dials = lock(&self.proxy.dials);
        if let Some(n) = dials.get_mut(&self.client) {
            *n -= 1;
            if *n == 0 {
                dials.remove(&self.client);
            }
        }
    }
}

impl Proxy {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        routes: Vec<Route>,
        own: Vec<IpAddr>,
        upstream: Upstream,
        dns: DnsMode,
        dns_server: Option<SocketAddr>,
        fake: Option<FakePool>,
        nat: UdpNat,
        limits: Limits,
    ) -> Self {
        Self {
            routes,
            own,
            upstream,
            dns,
            dns_server,
            dns_forwards: Arc::new(tokio::sync::Semaphore::new(MAX_DNS_FORWARDS)),
            fake: fake.map(Mutex::new),
            nat,
            limits,
            counters: Counters::default(),
            relays: Arc::default(),
            tcp_live: AtomicUsize::new(0),
            udp_unsupported_logged: std::sync::atomic::AtomicBool::new(false),
            dials: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `dst` may be relayed: inside a routed prefix (the fake pool
    /// included), not the link's own addresses, a unicast host.
    pub(crate) fn allowed(&self, dst: SocketAddr) -> bool {
        let ip = dst.ip();
        let broadcast = matches!(ip, IpAddr::V4(v4) if v4.is_broadcast());
        dst.port() != 0
            && !self.own.contains(&ip)
            && !broadcast
            && !ip.is_multicast()
            && !ip.is_unspecified()
            && (self.routes.iter().any(|r| r.contains(ip)) || self.is_fake(ip))
    }

    /// Whether a ping to `ip` may be answered (as `allowed`, for hosts).
    pub(crate) fn allowed_ip(&self, ip: IpAddr) -> bool {
        self.allowed(SocketAddr::new(ip, 1))
    }

    /// Whether a flow to `dst` is a DNS query the proxy handles itself.
    pub(crate) fn intercepts_dns(&self, dst: SocketAddr) -> bool {
        dst.port() == 53 && self.dns != DnsMode::Off
    }

    fn is_fake(&self, ip: IpAddr) -> bool {
        self.fake.as_ref().is_some_and(|f| lock(f).contains(ip))
    }

    /// What the upstream is asked for to reach `dst`: the name behind a
    /// fake address, else the address. `None`: a fake address the pool no
    /// longer knows (its name was evicted).
    pub(crate) fn target_for(&self, dst: SocketAddr) -> Option<Target> {
        let Some(fake) = &self.fake else {
            return Some(Target::Addr(dst));
        };
        let mut pool = lock(fake);
        if !pool.contains(dst.ip()) {
            return Some(Target::Addr(dst));
        }
        pool.name_of(dst.ip())
            .map(|name| Target::Name(name.to_string(), dst.port()))
    }

    /// Counts a dial for `client`; `None` when it has as many in flight as
    /// allowed.
    pub(crate) fn start_dial(self: &Arc<Self>, client: IpAddr) -> Option<Dial> {
        let mut dials = lock(&self.dials);
        let n = dials.entry(client).or_insert(0);
        if *n >= self.limits.dials_per_client {
            return None;
        }
        *n += 1;
        Some(Dial {
            proxy: self.clone(),
            client,
        })
    }
}
