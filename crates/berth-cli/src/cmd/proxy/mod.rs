//! `berth proxy`: terminate every TCP and UDP flow a network namespace
//! sends into a TUN device and re-open it through an upstream: the host's
//! own sockets (`direct`), a SOCKS5 server or an HTTP CONNECT proxy (the
//! tun2socks pattern).
//!
//! Like `berth up`, it creates a network namespace (removed on exit) with
//! the kernel side of a TUN device in it, and routes the `--route`
//! prefixes (and the fake-IP pool) through the TUN inside the namespace.
//! berth takes every flow there with a transparent listener and a
//! transparent UDP socket:
//!
//! - TCP (`tcp.rs`): the client's SYN is held until the upstream
//!   connection stands; a refusal reaches the client as a RST to its SYN,
//!   an unreachable upstream as an ICMP unreachable. Then one task copies
//!   both ways, half-close carried through.
//! - UDP (`udp.rs`): a NAT, full cone by default, each mapping one task.
//! - DNS (`dns.rs`): with `--dns fake-ip` answered from a pool of fake
//!   addresses whose connections reach the upstream by name; with `--dns
//!   forward` relayed over TCP through the upstream.
//! - ICMP echo to relayed destinations is answered by the stack, or with
//!   `--icmp forward` only when the destination answers this host's ping
//!   (`icmp.rs`).
//!
//! Only destinations inside the routed prefixes are relayed (never the
//! link's own addresses): other TCP is reset, other UDP dropped, so the
//! proxy cannot be used to reach arbitrary networks from the namespace.
//! `berth ss` lists each relay with its upstream and bytes. Runs until
//! SIGINT/SIGTERM, then stops, closes every relay, the stack and the
//! namespace.

mod dns;
mod fake_ip;
mod icmp;
mod relays;
mod route;
mod state;
mod sync;
mod tcp;
mod udp;
mod upstream;

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Context;
use berth::NetStack;
use berth::tokio_net::{TcpForwarder, UdpSocket};
use berth_device::kernel::NetNs;
use berth_device::tun::{TunConfig, TunDevice};
use clap::Args;

use self::fake_ip::FakePool;
pub(crate) use self::route::Route;
use self::state::{DnsMode, IcmpMode, Limits, Proxy, UdpNat};
use self::upstream::Upstream;
use super::control;
use super::up::{Cidr, ifname, is_root, netns_name, random_seed, same_prefix};

/// How long shutting down waits for relays to finish.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(2);
/// Names the fake pool remembers at most.
const FAKE_POOL_NAMES: usize = 65_536;

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
    /// The kernel's IPv4 address on the link (same prefix).
    #[arg(long, default_value = "198.18.0.1")]
    peer_addr: Ipv4Addr,
    /// berth's IPv6 address and prefix on the link.
    #[arg(long, default_value = "2001:2::2/64")]
    addr6: Cidr,
    /// The kernel's IPv6 address on the link.
    #[arg(long, default_value = "2001:2::1")]
    peer_addr6: Ipv6Addr,
    /// A prefix (IPv4 or IPv6) the namespace routes through the proxy
    /// (repeatable; default 198.19.0.0/16 and 2001:2:0:100::/56). Only
    /// these destinations (and the fake pool's) are relayed.
    #[arg(long = "route", value_name = "PREFIX")]
    routes: Vec<Route>,
    /// Where flows go: `direct` (this host's sockets),
    /// `socks5://[user:pass@]HOST:PORT` or `http://[user:pass@]HOST:PORT`
    /// (CONNECT; TCP only).
    #[arg(long, default_value = "direct")]
    upstream: Upstream,
    /// The namespace's DNS: `fake-ip` answers A/AAAA queries with pool
    /// addresses and gives the upstream the name; `forward` relays
    /// queries over TCP through the upstream to --dns-server; `off` relays
    /// them like any UDP. With fake-ip or forward, the namespace's
    /// resolv.conf names berth's address.
    #[arg(long, value_enum, default_value = "off")]
    dns: DnsMode,
    /// Where forwarded queries go (default: the first nameserver of this
    /// host's /etc/resolv.conf).
    #[arg(long, value_name = "ADDR:PORT")]
    dns_server: Option<SocketAddr>,
    /// The fake-IP pool (IPv4).
    #[arg(long, default_value = "198.18.128.0/17")]
    fake_ip_range: Route,
    /// The fake-IP pool (IPv6), for AAAA queries.
    #[arg(long, default_value = "2001:2:0:ff00::/56")]
    fake_ip_range6: Route,
    /// How UDP flows map to upstream sockets.
    #[arg(long, value_enum, default_value = "full-cone")]
    udp_nat: UdpNat,
    /// Seconds after which an idle UDP mapping is closed.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    udp_idle: u64,
    /// Seconds after which an idle TCP relay is reset.
    #[arg(long, default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..=604_800))]
    tcp_idle: u64,
    /// Seconds an upstream connection may take.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    connect_timeout: u64,
    /// TCP relays at once; connection attempts beyond are refused.
    #[arg(long, default_value_t = 16_384)]
    max_tcp: usize,
    /// UDP mappings at once; datagrams for more are dropped.
    #[arg(long, default_value_t = 4096)]
    max_udp: usize,
    /// Upstream dials in flight per client address; more SYNs wait (they
    /// are dropped, and the client's retransmission tries again).
    #[arg(long, default_value_t = 64)]
    dials_per_client: usize,
    /// Pings to relayed destinations: answered by the proxy (`local`), or
    /// only when the destination answers a ping from this host
    /// (`forward`).
    #[arg(long, value_enum, default_value = "local")]
    icmp: IcmpMode,
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

fn usage_error(msg: &str) -> ExitCode {
    eprintln!("berth proxy: {msg}");
    ExitCode::from(2)
}

/// The first `nameserver` of this host's resolv.conf.
fn host_nameserver() -> Option<SocketAddr> {
    let conf = std::fs::read_to_string("/etc/resolv.conf").ok()?;
    conf.lines().find_map(|l| {
        let mut words = l.split_whitespace();
        (words.next() == Some("nameserver"))
            .then(|| words.next()?.parse::<IpAddr>().ok())
            .flatten()
            .map(|ip| SocketAddr::new(ip, 53))
    })
}

/// The namespace's resolv.conf (`ip netns exec` mounts
/// /etc/netns/NAME/resolv.conf over /etc/resolv.conf), removed on drop.
struct ResolvConf(PathBuf);

impl ResolvConf {
    fn write(netns: &str, server: IpAddr) -> anyhow::Result<Self> {
        let dir = PathBuf::from(format!("/etc/netns/{netns}"));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join("resolv.conf");
        std::fs::write(&path, format!("nameserver {server}\n"))
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(Self(dir))
    }
}

impl Drop for ResolvConf {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(self.0.join("resolv.conf"));
        let _ = std::fs::remove_dir(&self.0);
    }
}

/// Checks the arguments: the link's addresses, the routes and pools.
fn validate(args: &ProxyArgs) -> Result<(Ipv4Addr, Ipv6Addr, Vec<Route>), String> {
    let IpAddr::V4(addr) = args.addr.ip else {
        return Err("--addr must be an IPv4 address (use --addr6 for IPv6)".into());
    };
    let IpAddr::V6(addr6) = args.addr6.ip else {
        return Err("--addr6 must be an IPv6 address".into());
    };
    if addr == args.peer_addr || !same_prefix(addr, args.peer_addr, args.addr.prefix) {
        return Err(format!(
            "--peer-addr {} must be another address in {}/{}",
            args.peer_addr, addr, args.addr.prefix
        ));
    }
    if addr6 == args.peer_addr6 {
        return Err("--peer-addr6 must differ from --addr6".into());
    }
    let routes = if args.routes.is_empty() {
        vec![
            Route::v4(Ipv4Addr::new(198, 19, 0, 0), 16),
            Route::v6(Ipv6Addr::new(0x2001, 2, 0, 0x100, 0, 0, 0, 0), 56),
        ]
    } else {
        args.routes.clone()
    };
    let link4 = Route::v4(addr, args.addr.prefix.min(32));
    let link4 = format!("{}/{}", link4.net, link4.prefix)
        .parse::<Route>()
        .map_err(|e| e.to_string())?;
    let link6 = format!("{addr6}/{}", args.addr6.prefix)
        .parse::<Route>()
        .map_err(|e| e.to_string())?;
    for r in &routes {
        if r.overlaps(&link4) || r.overlaps(&link6) {
            return Err(format!("--route {r} overlaps the link's own prefix"));
        }
    }
    if args.dns == DnsMode::FakeIp {
        if !args.fake_ip_range.net.is_ipv4() || !args.fake_ip_range6.net.is_ipv6() {
            return Err("--fake-ip-range must be IPv4 and --fake-ip-range6 IPv6".into());
        }
        for pool in [&args.fake_ip_range, &args.fake_ip_range6] {
            if pool.overlaps(&link4) || pool.overlaps(&link6) {
                return Err(format!("the fake pool {pool} overlaps the link's prefix"));
            }
            if pool.size() < 4 {
                return Err(format!("the fake pool {pool} is too small"));
            }
            // A fake address must mean a name, never a real destination.
            if let Some(r) = routes.iter().find(|r| r.overlaps(pool)) {
                return Err(format!(
                    "the fake pool {pool} overlaps --route {r}: pick another --fake-ip-range"
                ));
            }
        }
    }
    Ok((addr, addr6, routes))
}

pub(crate) fn run(args: &ProxyArgs) -> anyhow::Result<ExitCode> {
    let (addr, addr6, routes) = match validate(args) {
        Ok(v) => v,
        Err(e) => return Ok(usage_error(&e)),
    };
    let dns_server = args.dns_server.or_else(host_nameserver);
    if args.dns == DnsMode::Forward && dns_server.is_none() {
        return Ok(usage_error(
            "--dns forward needs --dns-server (this host's resolv.conf names none)",
        ));
    }
    if !is_root() {
        eprintln!(
            "berth proxy: needs root to create a TUN device, a network namespace and its routes; run it with sudo."
        );
        return Ok(ExitCode::from(1));
    }
    if let Err(e) = berth_device::raise_fd_limit() {
        tracing::warn!("berth proxy: cannot raise the open-file limit: {e}");
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
    iface.add_addr(IpAddr::V6(args.peer_addr6), args.addr6.prefix)?;
    iface.set_up()?;
    let mut routed = routes.clone();
    if args.dns == DnsMode::FakeIp {
        routed.push(args.fake_ip_range);
        routed.push(args.fake_ip_range6);
    }
    for r in &routed {
        iface
            .add_route(r.net, r.prefix)
            .with_context(|| format!("routing {r} through {}", args.tun))?;
    }
    let _resolv = if args.dns == DnsMode::Off {
        None
    } else {
        Some(ResolvConf::write(&args.netns, IpAddr::V4(addr))?)
    };

    let stack = NetStack::builder()
        .addr_prefix(IpAddr::V4(addr), args.addr.prefix)
        .addr_prefix(IpAddr::V6(addr6), args.addr6.prefix)
        .seed(seed)
        .mtu(mtu)
        // Pings to relayed destinations are answered here, unless they
        // are forwarded.
        .config(|c| c.transparent_echo = args.icmp == IcmpMode::Local)
        .build(tun)?;
    let fake = match (args.dns, args.fake_ip_range.net, args.fake_ip_range6.net) {
        (DnsMode::FakeIp, IpAddr::V4(v4), IpAddr::V6(v6)) => Some(FakePool::new(
            (v4, args.fake_ip_range.prefix),
            Some((v6, args.fake_ip_range6.prefix)),
            FAKE_POOL_NAMES,
        )?),
        _ => None,
    };
    let limits = Limits {
        tcp_relays: args.max_tcp.max(1),
        udp_mappings: args.max_udp.max(1),
        dials_per_client: args.dials_per_client.max(1),
        connect_timeout: Duration::from_secs(args.connect_timeout),
        tcp_idle: Duration::from_secs(args.tcp_idle),
        udp_idle: Duration::from_secs(args.udp_idle),
    };
    let proxy = Arc::new(Proxy::new(
        routes.clone(),
        vec![
            IpAddr::V4(addr),
            IpAddr::V4(args.peer_addr),
            IpAddr::V6(addr6),
            IpAddr::V6(args.peer_addr6),
        ],
        args.upstream.clone(),
        args.dns,
        dns_server,
        fake,
        args.udp_nat,
        limits,
    ));
    let control_path = args
        .control
        .clone()
        .unwrap_or_else(|| control::default_path(&args.netns));
    let control = {
        let proxy = Arc::downgrade(&proxy);
        control::serve_with(&control_path, &stack, move |snap| {
            if let Some(p) = proxy.upgrade() {
                snap.relays = p.relays.rows();
            }
        })?
    };

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("berth-proxy")
        .enable_all()
        .build()
        .context("starting the relay runtime")?;
    // The relay runtime reads the TUN device while its tasks wait, so a
    // packet wakes a runtime thread directly (`lead_device`).
    runtime.spawn(berth::tokio_net::lead_device(&stack));
    let forwarder = TcpForwarder::bind(&stack, proxy.limits.tcp_relays.min(65_535))?;
    let udp = Arc::new(UdpSocket::bind_transparent(&stack)?);
    let tcp_loop = runtime.spawn(tcp::accept_loop(proxy.clone(), forwarder));
    let udp_loop = runtime.spawn(udp::udp_loop(proxy.clone(), udp));
    let icmp_loop = match args.icmp {
        IcmpMode::Forward => {
            let pings = berth::tokio_net::IcmpEchoSocket::bind_transparent(&stack)?;
            Some(runtime.spawn(icmp::forward_loop(proxy.clone(), pings)))
        }
        IcmpMode::Local => None,
    };

    let shown: Vec<String> = routed.iter().map(Route::to_string).collect();
    println!(
        "berth proxy: routing {} from netns {} via {} to {}",
        shown.join(", "),
        args.netns,
        args.tun,
        args.upstream
    );
    std::io::stdout().flush()?;
    let signal = runtime.block_on(async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.map(|()| "SIGINT"),
            _ = term.recv() => Ok("SIGTERM"),
        }
    })?;
    eprintln!("berth proxy: {signal} received, shutting down");

    // Stop taking flows; dropping the stack closes every berth socket, so
    // the relays end (their upstream sockets with them).
    tcp_loop.abort();
    udp_loop.abort();
    if let Some(l) = icmp_loop {
        l.abort();
    }
    let stats = stack.stats();
    drop(stack);
    let live = proxy.relays.len();
    runtime.shutdown_timeout(SHUTDOWN_WAIT);
    drop(control);
    ns.delete()
        .with_context(|| format!("removing network namespace {}", args.netns))?;
    let c = &proxy.counters;
    eprintln!(
        "berth proxy: done ({} TCP connections relayed, {} refused; {} UDP mappings, {} datagrams dropped; {} DNS answers, {} forwarded; {} pings answered; {} relays cut short; {} frames in, {} out)",
        c.tcp_relayed.load(Ordering::Relaxed),
        c.tcp_refused.load(Ordering::Relaxed),
        c.udp_mappings.load(Ordering::Relaxed),
        c.udp_dropped.load(Ordering::Relaxed),
        c.dns_answered.load(Ordering::Relaxed),
        c.dns_forwarded.load(Ordering::Relaxed),
        c.echo_answered.load(Ordering::Relaxed),
        live,
        stats.frames_in,
        stats.frames_out
    );
    Ok(ExitCode::SUCCESS)
}
