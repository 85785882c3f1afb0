//! UDP relays as a NAT (RFC 4787's terms): each mapping is an upstream
//! socket (a host UDP socket, or a SOCKS5 UDP association) owned by one
//! task. With full-cone NAT (the default) a client endpoint gets one
//! mapping for every destination, and answers from any remote reach it
//! (endpoint-independent mapping and filtering, RFC 4787 REQ-1 and the
//! filtering a game or a STUN client hopes for); symmetric NAT gives each
//! (client, destination) its own mapping and lets only that destination
//! answer. A mapping idle for `--udp-idle` ends; at most `--udp-mappings`
//! exist at once (datagrams for more are dropped, counted).

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use berth::tokio_net::UdpSocket;
use tokio::sync::mpsc;

use super::dns;
use super::state::{Counters, Proxy, UdpNat};
use super::sync::lock;
use super::upstream::{Target, UdpAssociation, Upstream as Via};

/// Largest UDP payload carried (an IPv4 datagram's limit).
pub(crate) const MAX_DATAGRAM: usize = 65_507;
/// Datagrams waiting for a mapping's task; more are dropped.
const QUEUE: usize = 64;
/// Remote endpoints a mapping remembers sending to (for the address its
/// answers appear from).
const REMEMBERED: usize = 256;

/// A mapping's key: the client endpoint, and for symmetric NAT the
/// destination.
type Key = (SocketAddr, Option<SocketAddr>);

/// One datagram for a mapping: its payload, the destination the client
/// used, and what the upstream is asked to reach.
struct Outgoing {
    data: Vec<u8>,
    dst: SocketAddr,
    target: Target,
}

struct Entry {
    id: u64,
    tx: mpsc::Sender<Outgoing>,
}

/// The live mappings.
#[derive(Default)]
struct Nat {
    next: AtomicU64,
    map: Mutex<HashMap<Key, Entry>>,
}

/// Receives what the namespace sends until the stack is gone.
pub(crate) async fn udp_loop(proxy: Arc<Proxy>, sock: Arc<UdpSocket>) {
    let nat = Arc::new(Nat::default());
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let (n, src, dst) = match sock.recv_from_orig(&mut buf).await {
            Ok(got) => got,
            Err(e) => {
                tracing::debug!("berth proxy: no more UDP: {e}");
                return;
            }
        };
        let data = buf.get(..n).unwrap_or(&[]);
        if proxy.intercepts_dns(dst) {
            dns::query_udp(&proxy, &sock, data.to_vec(), src, dst);
            continue;
        }
        if !proxy.allowed(dst) {
            Counters::add(&proxy.counters.udp_dropped);
            continue;
        }
        let Some(target) = proxy.target_for(dst) else {
            Counters::add(&proxy.counters.udp_dropped);
            continue;
        };
        let key = match proxy.nat {
            UdpNat::FullCone => (src, None),
            UdpNat::Symmetric => (src, Some(dst)),
        };
        let out = Outgoing {
            data: data.to_vec(),
            dst,
            target,
        };
        let mut map = lock(&nat.map);
        if let Some(e) = map.get(&key) {
            if e.tx.try_send(out).is_err() {
                Counters::add(&proxy.counters.udp_dropped);
            }
            continue;
        }
        if map.len() >= proxy.limits.udp_mappings {
            Counters::add(&proxy.counters.udp_dropped);
            continue;
        }
        let (tx, rx) = mpsc::channel(QUEUE);
        let id = nat.next.fetch_add(1, Ordering::Relaxed);
        if tx.try_send(out).is_err() {
            continue;
        }
        map.insert(key, Entry { id, tx });
        drop(map);
        Counters::add(&proxy.counters.udp_mappings);
        let (p, s, nat) = (proxy.clone(), sock.clone(), nat.clone());
        tokio::spawn(async move {
            mapping(&p, &s, key, rx).await;
            let mut map = lock(&nat.map);
            if map.get(&key).is_some_and(|e| e.id == id) {
                map.remove(&key);
            }
        });
    }
}

/// A mapping's upstream socket.
enum Upstream {
    Host(tokio::net::UdpSocket),
    Socks(UdpAssociation),
}

impl Upstream {
    async fn open(proxy: &Proxy, client: SocketAddr) -> io::Result<Self> {
        if proxy.upstream == Via::Direct {
            let any = match client.ip() {
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            };
            return Ok(Self::Host(
                tokio::net::UdpSocket::bind(SocketAddr::new(any, 0)).await?,
            ));
        }
        let assoc = proxy
            .upstream
            .udp_associate(proxy.limits.connect_timeout)
            .await
            .map_err(io::Error::from)?;
        Ok(Self::Socks(assoc))
    }

    /// Sends to `target`; a name is resolved here for a host socket (to
    /// an address of the client's family), by the proxy for SOCKS5.
    /// Returns the remote endpoint answers will come from.
    async fn send(
        &self,
        data: &[u8],
        target: &Target,
        family_v4: bool,
        resolved: &mut HashMap<(String, u16), SocketAddr>,
    ) -> io::Result<Option<SocketAddr>> {
        match self {
            Self::Host(sock) => {
                let to = match target {
                    Target::Addr(a) => *a,
                    Target::Name(name, port) => {
                        if let Some(a) = resolved.get(&(name.clone(), *port)) {
                            *a
                        } else {
                            let a = tokio::net::lookup_host((name.as_str(), *port))
                                .await?
                                .find(|a| a.is_ipv4() == family_v4)
                                .ok_or_else(|| {
                                    io::Error::new(
                                        io::ErrorKind::NotFound,
                                        format!("{name} has no address of the client's family"),
                                    )
                                })?;
                            if resolved.len() < REMEMBERED {
                                resolved.insert((name.clone(), *port), a);
                            }
                            a
                        }
                    }
                };
                sock.send_to(data, to).await?;
                Ok(Some(to))
            }
            Self::Socks(assoc) => {
                assoc.send_to(data, target).await?;
                Ok(match target {
                    Target::Addr(a) => Some(*a),
                    Target::Name(..) => None,
                })
            }
        }
    }

    /// Resolves when the upstream ends the mapping (a SOCKS5 server closing
    /// the association's TCP connection); never for a host socket.
    async fn closed(&self) -> io::Result<()> {
        match self {
            Self::Host(_) => std::future::pending().await,
            Self::Socks(assoc) => assoc.closed().await,
        }
    }

    async fn recv(&self, buf: &mut [u8]) -> io::Result<(usize, Option<SocketAddr>)> {
        match self {
            Self::Host(sock) => {
                let (n, from) = sock.recv_from(buf).await?;
                Ok((n, Some(from)))
            }
            Self::Socks(assoc) => {
                let (n, from) = assoc.recv_from(buf).await?;
                Ok((
                    n,
                    match from {
                        Target::Addr(a) => Some(a),
                        Target::Name(..) => None,
                    },
                ))
            }
        }
    }
}

/// One mapping's life: opens its upstream socket, then carries datagrams
/// both ways until idle.
async fn mapping(proxy: &Arc<Proxy>, sock: &UdpSocket, key: Key, mut rx: mpsc::Receiver<Outgoing>) {
    let client = key.0;
    let up = match Upstream::open(proxy, client).await {
        Ok(u) => u,
        Err(e) if e.kind() == io::ErrorKind::Unsupported => {
            // An HTTP CONNECT upstream carries TCP only: say so once,
            // then count what is dropped.
            if !proxy.udp_unsupported_logged.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    "berth proxy: UDP from {client} refused: the upstream {} carries no UDP ({e}); \
                     UDP flows are dropped (counted in the summary)",
                    proxy.upstream
                );
            }
            Counters::add(&proxy.counters.udp_dropped);
            return;
        }
        Err(e) => {
            tracing::debug!("berth proxy: UDP mapping for {client}: {e}");
            Counters::add(&proxy.counters.udp_dropped);
            return;
        }
    };
    let target = key.1.map_or_else(|| "*".to_string(), |d| d.to_string());
    let registered =
        proxy
            .relays
            .register("udp", client, key.1, target, proxy.upstream.to_string());
    let relay = &registered.relay;
    let idle = proxy.limits.udp_idle;
    // Remote endpoint -> the destination the client addressed it by (a
    // fake address, for a name).
    let mut sent_to: HashMap<SocketAddr, SocketAddr> = HashMap::new();
    // Port -> the fake destination of a name sent to the SOCKS5 server
    // unresolved: its answers come from an address only the server knows.
    let mut named: HashMap<u16, SocketAddr> = HashMap::new();
    let mut resolved = HashMap::new();
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        tokio::select! {
            out = rx.recv() => {
                let Some(out) = out else { return };
                match up.send(&out.data, &out.target, client.is_ipv4(), &mut resolved).await {
                    Ok(remote) => {
                        relay.add_up(out.data.len());
                        if let Target::Name(_, port) = &out.target
                            && (named.len() < REMEMBERED || named.contains_key(port))
                        {
                            named.insert(*port, out.dst);
                        }
                        if let Some(remote) = remote
                            && (sent_to.len() < REMEMBERED || sent_to.contains_key(&remote))
                        {
                            sent_to.insert(remote, out.dst);
                        }
                    }
                    // A send error (an earlier ICMP port unreachable
                    // surfacing as ECONNREFUSED, say) loses this datagram.
                    Err(e) => {
                        tracing::debug!("berth proxy: UDP {client} -> {}: {e}", out.target);
                        Counters::add(&proxy.counters.udp_dropped);
                    }
                }
            }
            got = up.recv(&mut buf) => {
                let (n, from) = match got {
                    Ok(got) => got,
                    Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => continue,
                    Err(e) => {
                        tracing::debug!("berth proxy: UDP mapping for {client}: {e}");
                        return;
                    }
                };
                let Some(from) = from else {
                    Counters::add(&proxy.counters.udp_dropped);
                    continue;
                };
                // What the client knows the remote as; a remote it never
                // sent to answers under its own address (full cone).
                let shown = sent_to
                    .get(&from)
                    .or_else(|| named.get(&from.port()))
                    .copied()
                    .unwrap_or(from);
                let filtered = match key.1 {
                    Some(dst) => shown != dst,
                    None => false,
                };
                if filtered || shown.is_ipv4() != client.is_ipv4() {
                    Counters::add(&proxy.counters.udp_dropped);
                    continue;
                }
                let data = buf.get(..n).unwrap_or(&[]);
                match sock.send_from(data, shown, client).await {
                    Ok(_) => relay.add_down(n),
                    Err(e) => {
                        tracing::debug!("berth proxy: UDP reply {shown} -> {client}: {e}");
                        Counters::add(&proxy.counters.udp_dropped);
                    }
                }
            }
            r = up.closed() => {
                tracing::debug!("berth proxy: UDP mapping for {client}: the upstream ended it ({r:?})");
                return;
            }
            () = tokio::time::sleep(idle) => {
                if relay.idle() >= idle {
                    tracing::debug!("berth proxy: UDP mapping for {client} idle, closed");
                    return;
                }
            }
        }
    }
}
