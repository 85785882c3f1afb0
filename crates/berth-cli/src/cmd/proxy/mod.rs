//! `berth proxy`: terminate TCP and UDP arriving on a TUN device and relay
//! each flow through the host's own kernel sockets (the tun2socks pattern).
//!
//! Like `berth up`, it creates a network namespace (removed on exit) with the
//! kernel side of a TUN device in it, and adds routes for the `--route`
//! prefixes through the TUN inside the namespace. berth runs a transparent
//! TCP listener and a transparent UDP socket on the device:
//!
//! - every TCP connection to a routed destination is relayed through a
//!   `std::net::TcpStream` opened by this process (in the namespace the
//!   proxy was started in) to the connection's original destination. Each
//!   direction is copied on its own thread; end of stream on one side
//!   becomes `shutdown(Write)` on the other (half-close, RFC 9293 3.6), and
//!   both sockets close once both directions are done. A failed upstream
//!   connect or a reset is passed on as a reset.
//! - every UDP flow (source, original destination) gets a host
//!   `std::net::UdpSocket` connected to the destination; replies go back to
//!   the source from the original destination's address and port. A flow
//!   idle for `--udp-idle` seconds (either direction) is forgotten.
//!
//! Only destinations inside the routed prefixes are relayed (never berth's
//! or the kernel's own link address): what else reaches the TUN is reset
//! (TCP) or dropped (UDP), so the proxy cannot be used to reach arbitrary
//! networks from the namespace. Runs until SIGINT/SIGTERM, then stops
//! accepting, closes every relay, the stack and the namespace.

use std::collections::HashMap;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr, UdpSocket as HostUdp};
use std::path::PathBuf;
use std::process::ExitCode;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::Context;
use berth::NetStack;
use berth::net::{TcpListener, TcpStream, UdpSocket};
use berth_device::kernel::NetNs;
use berth_device::tun::{TunConfig, TunDevice};
use clap::Args;

use super::control;
use super::up::{Cidr, ifname, is_root, netns_name, random_seed, same_prefix};

#[allow(dead_code)] // wired into the proxy next
mod fake_ip;
// Wired into the relays next.
#[allow(dead_code)]
mod upstream;

/// How long an upstream connect may take before the client is reset.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// At most this many TCP relays at once; more are reset.
const MAX_TCP_RELAYS: usize = 1024;
/// At most this many UDP flows at once; datagrams of more are dropped.
const MAX_UDP_FLOWS: usize = 1024;
/// How often blocked loops look at the stop flag and at idle flows.
const TICK: Duration = Duration::from_millis(200);
/// Copy buffer per direction.
const COPY_BUF: usize = 64 * 1024;
/// Largest UDP payload carried (an IPv4 datagram's limit).
const MAX_DATAGRAM: usize = 65_507;
/// How long shutting down waits for relay threads to finish.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(5);

/// An IPv4 prefix to route through the proxy, `198.19.0.0/16`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Route {
    net: Ipv4Addr,
    prefix: u8,
}

impl Route {
    fn mask(&self) -> u32 {
        u32::MAX
            .checked_shl(32 - u32::from(self.prefix))
            .unwrap_or(0)
    }

    fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & self.mask() == u32::from(self.net)
    }
}

impl FromStr for Route {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (ip, prefix) = s
            .split_once('/')
            .ok_or_else(|| format!("`{s}` needs a prefix length, like 198.19.0.0/16"))?;
        let ip: Ipv4Addr = ip.parse().map_err(|_| {
            format!("`{ip}` is not an IPv4 address (IPv6 routes are not supported yet)")
        })?;
        let prefix: u8 = prefix
            .parse()
            .map_err(|_| format!("`{prefix}` is not a prefix length"))?;
        if !(1..=32).contains(&prefix) {
            return Err(format!("prefix length {prefix} must be 1..=32"));
        }
        if ip.is_loopback() || ip.is_multicast() || ip.is_broadcast() {
            return Err(format!("{ip}/{prefix} cannot be routed through a proxy"));
        }
        let mut route = Self { net: ip, prefix };
        // `ip route add` refuses host bits; keep the network part.
        route.net = Ipv4Addr::from(u32::from(ip) & route.mask());
        Ok(route)
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.net, self.prefix)
    }
}

/// `berth proxy` options.
#[derive(Debug, Args)]
pub(crate) struct ProxyArgs {
    /// The network namespace to create (and remove on exit); the kernel side
    /// of the TUN device lives in it, and its traffic to the routed prefixes
    /// goes through the proxy.
    #[arg(long, default_value = "berth-proxy", value_parser = netns_name)]
    netns: String,
    /// The TUN device's name.
    #[arg(long, default_value = "berthp0", value_parser = ifname)]
    tun: String,
    /// berth's IPv4 address and prefix on the link.
    #[arg(long, default_value = "198.18.0.2/24")]
    addr: Cidr,
    /// The kernel's address on the link (same prefix).
    #[arg(long, default_value = "198.18.0.1")]
    peer_addr: Ipv4Addr,
    /// A prefix the namespace routes through the proxy (repeatable;
    /// default 198.19.0.0/16). Only these destinations are relayed.
    #[arg(long = "route", value_name = "PREFIX")]
    routes: Vec<Route>,
    /// Seconds after which an idle UDP flow is forgotten.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    udp_idle: u64,
    /// The link MTU.
    #[arg(long, default_value_t = 1500, value_parser = clap::value_parser!(u16).range(1280..=9000))]
    mtu: u16,
    /// Seed of the stack's random choices (default: random).
    #[arg(long)]
    seed: Option<u64>,
    /// The control socket `berth ss` talks to (default /run/berth/NETNS.sock).
    #[arg(long)]
    control: Option<PathBuf>,
    /// Exchange only MTU-sized packets with the kernel (no checksum or
    /// segmentation offload on the TUN device).
    #[arg(long)]
    no_offload: bool,
}

/// What the relay threads share.
struct Proxy {
    routes: Vec<Route>,
    /// Addresses on the link itself: never relayed.
    own: [Ipv4Addr; 2],
    udp_idle: Duration,
    stop: AtomicBool,
    /// Upstream TCP sockets of live relays, to shut down on exit.
    upstreams: Mutex<HashMap<u64, std::net::TcpStream>>,
    next_id: AtomicU64,
    /// Live relay threads (TCP and UDP).
    threads: AtomicUsize,
    tcp_relays: AtomicUsize,
    counters: Counters,
}

#[derive(Default)]
struct Counters {
    tcp_relayed: AtomicU64,
    tcp_refused: AtomicU64,
    udp_flows: AtomicU64,
    udp_dropped: AtomicU64,
}

/// Counts a live thread while it exists.
struct ThreadGuard(Arc<Proxy>);

impl ThreadGuard {
    fn new(proxy: &Arc<Proxy>) -> Self {
        proxy.threads.fetch_add(1, Ordering::SeqCst);
        Self(proxy.clone())
    }
}

impl Drop for ThreadGuard {
    fn drop(&mut self) {
        self.0.threads.fetch_sub(1, Ordering::SeqCst);
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Proxy {
    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Whether `dst` may be relayed: inside a routed prefix, not the link's
    /// own addresses, a unicast IPv4 host.
    fn allowed(&self, dst: SocketAddr) -> bool {
        let IpAddr::V4(ip) = dst.ip() else {
            return false;
        };
        dst.port() != 0
            && !self.own.contains(&ip)
            && !ip.is_broadcast()
            && !ip.is_multicast()
            && self.routes.iter().any(|r| r.contains(ip))
    }
}

fn usage_error(msg: &str) -> ExitCode {
    eprintln!("berth proxy: {msg}");
    ExitCode::from(2)
}

pub(crate) fn run(args: &ProxyArgs) -> anyhow::Result<ExitCode> {
    let IpAddr::V4(addr) = args.addr.ip else {
        return Ok(usage_error("--addr must be an IPv4 address"));
    };
    if addr == args.peer_addr || !same_prefix(addr, args.peer_addr, args.addr.prefix) {
        return Ok(usage_error(&format!(
            "--peer-addr {} must be another address in {}/{}",
            args.peer_addr, addr, args.addr.prefix
        )));
    }
    let routes = if args.routes.is_empty() {
        vec![Route {
            net: Ipv4Addr::new(198, 19, 0, 0),
            prefix: 16,
        }]
    } else {
        args.routes.clone()
    };
    if !is_root() {
        eprintln!(
            "berth proxy: needs root to create a TUN device, a network namespace and its routes; run it with sudo."
        );
        return Ok(ExitCode::from(1));
    }
    let seed = args.seed.unwrap_or_else(random_seed);
    let mtu = usize::from(args.mtu);

    let ns = NetNs::create(&args.netns).with_context(|| {
        format!(
            "creating network namespace {} (if a previous run left it, remove it: ip netns del {})",
            args.netns, args.netns
        )
    })?;
    // Checksum and segmentation offloads, as `berth up` has them: relayed
    // bulk data crosses the TUN device in 64 KiB segments.
    let tun =
        TunDevice::with_config(&TunConfig::new(&args.tun, mtu).with_offload(!args.no_offload))
            .with_context(|| format!("creating TUN device {}", args.tun))?;
    let mut iface = tun.iface()?;
    iface.move_to_netns(ns.name())?;
    iface.add_addr(IpAddr::V4(args.peer_addr), args.addr.prefix)?;
    iface.set_up()?;
    for r in &routes {
        iface
            .add_route(IpAddr::V4(r.net), r.prefix)
            .with_context(|| format!("routing {r} through {}", args.tun))?;
    }

    let stack = Arc::new(
        NetStack::builder()
            .addr(IpAddr::V4(addr))
            .seed(seed)
            .mtu(mtu)
            .build(tun)?,
    );
    let listener = TcpListener::bind_transparent(&stack)?;
    let udp = UdpSocket::bind_transparent(&stack)?;
    let control_path = args
        .control
        .clone()
        .unwrap_or_else(|| control::default_path(&args.netns));
    let control = control::serve(&control_path, &stack)?;

    let proxy = Arc::new(Proxy {
        routes: routes.clone(),
        own: [addr, args.peer_addr],
        udp_idle: Duration::from_secs(args.udp_idle),
        stop: AtomicBool::new(false),
        upstreams: Mutex::new(HashMap::new()),
        next_id: AtomicU64::new(0),
        threads: AtomicUsize::new(0),
        tcp_relays: AtomicUsize::new(0),
        counters: Counters::default(),
    });
    let acceptor = {
        let proxy = proxy.clone();
        std::thread::Builder::new()
            .name("berth-proxy-accept".into())
            .spawn(move || accept_loop(&proxy, &listener))?
    };
    let udp_loop = {
        let proxy = proxy.clone();
        std::thread::Builder::new()
            .name("berth-proxy-udp".into())
            .spawn(move || udp_loop(&proxy, &udp))?
    };

    let mut signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
    ])?;
    let shown: Vec<String> = routes.iter().map(Route::to_string).collect();
    println!(
        "berth proxy: routing {} from netns {} via {}",
        shown.join(", "),
        args.netns,
        args.tun
    );
    std::io::stdout().flush()?;
    let signal = signals.forever().next();
    eprintln!(
        "berth proxy: {} received, shutting down",
        match signal {
            Some(signal_hook::consts::SIGTERM) => "SIGTERM",
            _ => "SIGINT",
        }
    );

    // Stop taking new flows, then end the live ones: upstream sockets are
    // shut down (their readers see the end), the stack closes every berth
    // socket (blocked readers and writers wake with an error).
    proxy.stop.store(true, Ordering::SeqCst);
    if acceptor.join().is_err() || udp_loop.join().is_err() {
        tracing::error!("berth proxy: a relay loop panicked");
    }
    for s in lock(&proxy.upstreams).values() {
        let _ = s.shutdown(Shutdown::Both);
    }
    let stats = stack.stats();
    drop(stack);
    let deadline = Instant::now() + SHUTDOWN_WAIT;
    while proxy.threads.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(control);
    ns.delete()
        .with_context(|| format!("removing network namespace {}", args.netns))?;
    let c = &proxy.counters;
    eprintln!(
        "berth proxy: done ({} TCP connections relayed, {} refused; {} UDP flows, {} datagrams dropped; {} frames in, {} out)",
        c.tcp_relayed.load(Ordering::Relaxed),
        c.tcp_refused.load(Ordering::Relaxed),
        c.udp_flows.load(Ordering::Relaxed),
        c.udp_dropped.load(Ordering::Relaxed),
        stats.frames_in,
        stats.frames_out
    );
    Ok(ExitCode::SUCCESS)
}

fn accept_loop(proxy: &Arc<Proxy>, listener: &TcpListener) {
    while !proxy.stopping() {
        let (client, peer) = match listener.accept_timeout(TICK) {
            Ok(Some(c)) => c,
            Ok(None) => continue,
            Err(e) => {
                if !proxy.stopping() {
                    tracing::error!("berth proxy: accept failed, no more TCP: {e}");
                }
                return;
            }
        };
        if proxy.tcp_relays.load(Ordering::SeqCst) >= MAX_TCP_RELAYS {
            tracing::warn!("berth proxy: {MAX_TCP_RELAYS} relays busy, resetting {peer}");
            proxy.counters.tcp_refused.fetch_add(1, Ordering::Relaxed);
            let _ = client.abort();
            continue;
        }
        proxy.tcp_relays.fetch_add(1, Ordering::SeqCst);
        let guard = ThreadGuard::new(proxy);
        let p = proxy.clone();
        let spawned = std::thread::Builder::new()
            .name("berth-proxy-tcp".into())
            .spawn(move || {
                let _guard = guard;
                relay_tcp(&p, client, peer);
                p.tcp_relays.fetch_sub(1, Ordering::SeqCst);
            });
        if let Err(e) = spawned {
            // The closure (and the client stream in it) is dropped: closed.
            tracing::warn!("berth proxy: cannot start a relay thread: {e}");
            proxy.tcp_relays.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// One TCP connection: connect upstream, then copy both ways.
fn relay_tcp(proxy: &Arc<Proxy>, client: TcpStream, peer: SocketAddr) {
    let dst = match client.local_addr() {
        Ok(dst) => dst,
        Err(_) => return,
    };
    if !proxy.allowed(dst) {
        tracing::debug!("berth proxy: {peer} -> {dst} is not routed here; reset");
        proxy.counters.tcp_refused.fetch_add(1, Ordering::Relaxed);
        let _ = client.abort();
        return;
    }
    let upstream = match std::net::TcpStream::connect_timeout(&dst, CONNECT_TIMEOUT) {
        Ok(s) => s,
        Err(e) => {
            // The handshake with the client is already done; a reset is the
            // closest the client can get to "refused" or "unreachable".
            tracing::debug!("berth proxy: {peer} -> {dst}: upstream connect failed: {e}");
            proxy.counters.tcp_refused.fetch_add(1, Ordering::Relaxed);
            let _ = client.abort();
            return;
        }
    };
    proxy.counters.tcp_relayed.fetch_add(1, Ordering::Relaxed);
    tracing::debug!("berth proxy: relaying {peer} -> {dst}");
    let _ = upstream.set_nodelay(true);
    let _ = client.set_nodelay(true);
    let id = proxy.next_id.fetch_add(1, Ordering::Relaxed);
    match upstream.try_clone() {
        Ok(s) => {
            lock(&proxy.upstreams).insert(id, s);
        }
        Err(e) => {
            tracing::warn!("berth proxy: {e}");
            let _ = client.abort();
            return;
        }
    }
    // Shutting down began between the accept and now: do not start.
    if proxy.stopping() {
        let _ = upstream.shutdown(Shutdown::Both);
    }
    let down = match (client.try_clone(), upstream.try_clone()) {
        (Ok(c), Ok(u)) => {
            let guard = ThreadGuard::new(proxy);
            std::thread::Builder::new()
                .name("berth-proxy-tcp".into())
                .spawn(move || {
                    let _guard = guard;
                    upstream_to_client(&u, &c);
                })
                .ok()
        }
        _ => None,
    };
    if down.is_none() {
        let _ = client.abort();
        let _ = upstream.shutdown(Shutdown::Both);
    } else {
        client_to_upstream(&client, &upstream);
    }
    if let Some(t) = down
        && t.join().is_err()
    {
        tracing::error!("berth proxy: a relay thread panicked");
    }
    lock(&proxy.upstreams).remove(&id);
    // Both directions are done: dropping closes both sockets.
}

/// Copies `from` into `to` until end of stream or an error.
fn copy(mut from: impl Read, mut to: impl Write) -> io::Result<()> {
    let mut buf = vec![0u8; COPY_BUF];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        to.write_all(buf.get(..n).unwrap_or(&[]))?;
    }
}

/// Client to upstream. End of stream from the client becomes a FIN
/// upstream (half-close: the other direction carries on); an error ends
/// both directions.
fn client_to_upstream(client: &TcpStream, upstream: &std::net::TcpStream) {
    match copy(client, upstream) {
        Ok(()) => {
            let _ = upstream.shutdown(Shutdown::Write);
        }
        Err(e) => {
            tracing::debug!("berth proxy: client side ended: {e}");
            let _ = upstream.shutdown(Shutdown::Both);
            let _ = client.abort();
        }
    }
}

/// Upstream to client, the same way round.
fn upstream_to_client(upstream: &std::net::TcpStream, client: &TcpStream) {
    match copy(upstream, client) {
        Ok(()) => {
            let _ = client.shutdown(Shutdown::Write);
        }
        Err(e) => {
            tracing::debug!("berth proxy: upstream side ended: {e}");
            let _ = client.abort();
            let _ = upstream.shutdown(Shutdown::Both);
        }
    }
}

/// A UDP flow: (source, original destination) and its host socket.
struct Flow {
    sock: HostUdp,
    /// Last datagram either way.
    last: Mutex<Instant>,
}

type Flows = Mutex<HashMap<(SocketAddr, SocketAddr), Arc<Flow>>>;

fn udp_loop(proxy: &Arc<Proxy>, udp: &UdpSocket) {
    let flows: Arc<Flows> = Arc::new(Mutex::new(HashMap::new()));
    if udp.set_read_timeout(Some(TICK)).is_err()
        // A reply that finds berth's output queue full is dropped rather
        // than waited for (UDP may lose it anyway).
        || udp.set_write_timeout(Some(Duration::from_millis(100))).is_err()
    {
        return;
    }
    let mut buf = vec![0u8; MAX_DATAGRAM];
    while !proxy.stopping() {
        let (n, src, dst) = match udp.recv_from_orig(&mut buf) {
            Ok(got) => got,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                continue;
            }
            Err(e) => {
                if !proxy.stopping() {
                    tracing::error!("berth proxy: UDP receive failed, no more UDP: {e}");
                }
                return;
            }
        };
        let data = buf.get(..n).unwrap_or(&[]);
        if !proxy.allowed(dst) {
            proxy.counters.udp_dropped.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let flow = {
            let mut map = lock(&flows);
            match map.get(&(src, dst)) {
                Some(f) => {
                    *lock(&f.last) = Instant::now();
                    Some(f.clone())
                }
                None if map.len() >= MAX_UDP_FLOWS => None,
                None => match new_flow(proxy, &flows, udp, src, dst) {
                    Ok(f) => {
                        map.insert((src, dst), f.clone());
                        Some(f)
                    }
                    Err(e) => {
                        tracing::debug!("berth proxy: UDP {src} -> {dst}: {e}");
                        None
                    }
                },
            }
        };
        match flow {
            // A send error (an earlier ICMP port unreachable surfacing as
            // ECONNREFUSED, Linux udp_err) loses this datagram only.
            Some(f) => {
                if let Err(e) = f.sock.send(data) {
                    tracing::debug!("berth proxy: UDP {src} -> {dst}: {e}");
                }
            }
            None => {
                proxy.counters.udp_dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// Opens the host socket of a new flow and starts its reply thread.
fn new_flow(
    proxy: &Arc<Proxy>,
    flows: &Arc<Flows>,
    udp: &UdpSocket,
    src: SocketAddr,
    dst: SocketAddr,
) -> io::Result<Arc<Flow>> {
    let sock = HostUdp::bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0))?;
    sock.connect(dst)?;
    sock.set_read_timeout(Some(TICK))?;
    let flow = Arc::new(Flow {
        sock,
        last: Mutex::new(Instant::now()),
    });
    let (p, f, fl, reply) = (proxy.clone(), flow.clone(), flows.clone(), udp.try_clone()?);
    let guard = ThreadGuard::new(proxy);
    std::thread::Builder::new()
        .name("berth-proxy-udp".into())
        .spawn(move || {
            let _guard = guard;
            udp_replies(&p, &fl, &f, &reply, src, dst);
        })?;
    proxy.counters.udp_flows.fetch_add(1, Ordering::Relaxed);
    tracing::debug!("berth proxy: UDP flow {src} -> {dst}");
    Ok(flow)
}

/// Carries one flow's replies back, from the original destination, until
/// the flow has been idle for `--udp-idle` or the proxy stops.
fn udp_replies(
    proxy: &Proxy,
    flows: &Flows,
    flow: &Arc<Flow>,
    reply: &UdpSocket,
    src: SocketAddr,
    dst: SocketAddr,
) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        if proxy.stopping() {
            break;
        }
        match flow.sock.recv(&mut buf) {
            Ok(n) => {
                *lock(&flow.last) = Instant::now();
                if let Err(e) = reply.send_from(buf.get(..n).unwrap_or(&[]), dst, src) {
                    tracing::debug!("berth proxy: UDP reply {dst} -> {src}: {e}");
                    proxy.counters.udp_dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                // The flow table's lock orders this against a datagram
                // arriving for the flow: it either refreshes `last` first
                // or finds the flow gone and opens a new one.
                let mut map = lock(flows);
                if lock(&flow.last).elapsed() >= proxy.udp_idle {
                    if map.get(&(src, dst)).is_some_and(|f| Arc::ptr_eq(f, flow)) {
                        map.remove(&(src, dst));
                    }
                    tracing::debug!("berth proxy: UDP flow {src} -> {dst} idle, closed");
                    return;
                }
            }
            // ECONNREFUSED: the destination answered an earlier datagram
            // with port unreachable; the flow stays until idle.
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {}
            Err(e) => {
                tracing::debug!("berth proxy: UDP flow {src} -> {dst}: {e}");
                break;
            }
        }
    }
    let mut map = lock(flows);
    if map.get(&(src, dst)).is_some_and(|f| Arc::ptr_eq(f, flow)) {
        map.remove(&(src, dst));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_parse_and_match() {
        let r: Route = "198.19.7.9/16".parse().unwrap();
        assert_eq!(r.to_string(), "198.19.0.0/16");
        assert!(r.contains(Ipv4Addr::new(198, 19, 255, 1)));
        assert!(!r.contains(Ipv4Addr::new(198, 18, 0, 1)));
        let host: Route = "198.19.1.1/32".parse().unwrap();
        assert!(host.contains(Ipv4Addr::new(198, 19, 1, 1)));
        assert!(!host.contains(Ipv4Addr::new(198, 19, 1, 2)));
        for bad in [
            "198.19.0.0",
            "198.19.0.0/0",
            "198.19.0.0/33",
            "2001:2::/48",
            "127.0.0.0/8",
            "224.0.0.0/4",
            "x/8",
        ] {
            assert!(bad.parse::<Route>().is_err(), "{bad}");
        }
    }

    #[test]
    fn only_routed_destinations_are_relayed() {
        let proxy = Proxy {
            routes: vec!["198.19.0.0/16".parse().unwrap()],
            own: [Ipv4Addr::new(198, 18, 0, 2), Ipv4Addr::new(198, 18, 0, 1)],
            udp_idle: Duration::from_secs(60),
            stop: AtomicBool::new(false),
            upstreams: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
            threads: AtomicUsize::new(0),
            tcp_relays: AtomicUsize::new(0),
            counters: Counters::default(),
        };
        assert!(proxy.allowed("198.19.1.1:80".parse().unwrap()));
        assert!(!proxy.allowed("198.19.1.1:0".parse().unwrap()));
        assert!(!proxy.allowed("198.18.0.2:80".parse().unwrap()));
        assert!(!proxy.allowed("198.18.0.9:80".parse().unwrap()));
        assert!(!proxy.allowed("[2001:2::1]:80".parse().unwrap()));
    }
}
