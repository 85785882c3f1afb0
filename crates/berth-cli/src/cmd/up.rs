//! `berth up`: a userspace host on a TUN device. Creates a network namespace
//! (removed on exit) and a TUN device inside it, gives the kernel side
//! `--peer-addr`, brings up a berth stack at `--addr` on the device, runs the
//! services, prints where it is reachable, and runs until SIGINT/SIGTERM.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use berth::NetStack;
use berth_device::Device;
use berth_device::fault::{FaultConfig, FaultDevice};
use berth_device::kernel::NetNs;
use berth_device::pcap::PcapDevice;
use berth_device::tun::{TunConfig, TunDevice};
use clap::Args;

use super::control;
use crate::services::{Service, Services, ServicesApi};

/// An address with a prefix length, `198.18.0.2/24`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cidr {
    pub(crate) ip: IpAddr,
    pub(crate) prefix: u8,
}

impl FromStr for Cidr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (ip, prefix) = s
            .split_once('/')
            .ok_or_else(|| format!("`{s}` needs a prefix length, like 198.18.0.2/24"))?;
        let ip: IpAddr = ip
            .parse()
            .map_err(|_| format!("`{ip}` is not an IP address"))?;
        let prefix: u8 = prefix
            .parse()
            .map_err(|_| format!("`{prefix}` is not a prefix length"))?;
        let max = if ip.is_ipv4() { 32 } else { 128 };
        if prefix == 0 || prefix > max {
            return Err(format!("prefix length {prefix} must be 1..={max}"));
        }
        if ip.is_unspecified() || ip.is_multicast() || ip.is_loopback() {
            return Err(format!("{ip} cannot be a host address"));
        }
        Ok(Self { ip, prefix })
    }
}

fn probability(s: &str) -> Result<f64, String> {
    let p: f64 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if (0.0..=1.0).contains(&p) {
        Ok(p)
    } else {
        Err(format!("{p} is not a probability between 0 and 1"))
    }
}

pub(crate) fn netns_name(s: &str) -> Result<String, String> {
    if !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        Ok(s.to_string())
    } else {
        Err(format!(
            "`{s}` is not a usable namespace name (letters, digits, - and _)"
        ))
    }
}

pub(crate) fn ifname(s: &str) -> Result<String, String> {
    if !s.is_empty()
        && s.len() < 16
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
    {
        Ok(s.to_string())
    } else {
        Err(format!(
            "`{s}` is not a usable interface name (at most 15 characters)"
        ))
    }
}

/// `berth up` options.
#[derive(Debug, Args)]
pub(crate) struct UpArgs {
    /// The network namespace to create (and remove on exit); the TUN device
    /// and the kernel side of the link live in it.
    #[arg(long, default_value = "berth", value_parser = netns_name)]
    netns: String,
    /// The TUN device's name.
    #[arg(long, default_value = "berth0", value_parser = ifname)]
    tun: String,
    /// berth's IPv4 address and prefix.
    #[arg(long, default_value = "198.18.0.2/24")]
    addr: Cidr,
    /// The kernel's address on the link (same prefix).
    #[arg(long, default_value = "198.18.0.1")]
    peer_addr: Ipv4Addr,
    /// berth's IPv6 address and prefix.
    #[arg(long, default_value = "2001:2::2/64")]
    addr6: Cidr,
    /// The kernel's IPv6 address on the link.
    #[arg(long, default_value = "2001:2::1")]
    peer_addr6: Ipv6Addr,
    /// Services to run, comma-separated.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "echo,discard,chargen,daytime,http"
    )]
    services: Vec<Service>,
    /// How the services run: as sessions on the stack thread, run to
    /// completion (callback), on acceptor and worker threads with the
    /// blocking sockets (blocking), or as tokio tasks on berth::tokio_net
    /// (async), for comparison.
    #[arg(long, value_enum, default_value = "callback")]
    services_api: ServicesApi,
    /// Connections one address may hold open to each TCP service at a
    /// time (callback services): one more is reset as it arrives, so that
    /// a single client cannot take every socket (half the socket table).
    #[arg(long, default_value_t = 32768, value_parser = clap::value_parser!(u64).range(1..))]
    per_source_limit: u64,
    /// Serve static files from this directory on HTTP (default: a built-in
    /// index page and /bytes/N).
    #[arg(long)]
    http_root: Option<PathBuf>,
    /// The link MTU.
    #[arg(long, default_value_t = 1500, value_parser = clap::value_parser!(u16).range(1280..=9000))]
    mtu: u16,
    /// Probability of losing each packet on berth's side of the link.
    #[arg(long, default_value_t = 0.0, value_parser = probability)]
    loss: f64,
    /// Delay added on berth's side of the link, milliseconds.
    #[arg(long, default_value_t = 0)]
    delay: u64,
    /// Probability of reordering each packet on berth's side of the link.
    #[arg(long, default_value_t = 0.0, value_parser = probability)]
    reorder: f64,
    /// Seed of the stack's and the faults' random choices (default: random).
    #[arg(long)]
    seed: Option<u64>,
    /// Capture every frame on the device to this pcap file.
    #[arg(long)]
    pcap: Option<PathBuf>,
    /// Exchange only MTU-sized packets with the kernel: no checksum offload
    /// and no TCP segmentation offload on the TUN device (on by default,
    /// except with --loss, --delay or --reorder, whose faults hit single
    /// packets).
    #[arg(long)]
    no_offload: bool,
    /// The control socket `berth ss` talks to (default /run/berth/NETNS.sock).
    #[arg(long)]
    control: Option<PathBuf>,
    /// ECN (RFC 3168): `passive` answers a peer that asks for it (Linux's
    /// default, tcp_ecn=2), `on` asks for it on connections berth opens
    /// too (tcp_ecn=1), `off` never uses it.
    #[arg(long, value_enum, default_value = "passive")]
    ecn: Ecn,
    /// Reset a connection whose handshake completes while its listener's
    /// accept queue is full, instead of dropping the final ACK (Linux's
    /// `tcp_abort_on_overflow = 1`): clients of an overloaded service
    /// learn it at once.
    #[arg(long)]
    tcp_abort_on_overflow: bool,
    /// A network reached through the device, like `198.51.100.0/24`
    /// (repeatable). Without any, the device leads everywhere; with some,
    /// berth reaches only its own prefixes (--addr, --addr6) and these, and
    /// a connect or send elsewhere fails at once with "network
    /// unreachable".
    #[arg(long = "route", value_name = "CIDR")]
    routes: Vec<Cidr>,
}

/// `--ecn`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum Ecn {
    Off,
    Passive,
    On,
}

impl From<Ecn> for berth_core::tcp::EcnMode {
    fn from(ecn: Ecn) -> Self {
        match ecn {
            Ecn::Off => Self::Off,
            Ecn::Passive => Self::Passive,
            Ecn::On => Self::On,
        }
    }
}

/// Whether this process runs as root (from /proc: no unsafe needed).
pub(crate) fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

pub(crate) fn random_seed() -> u64 {
    let mut bytes = [0u8; 8];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        use std::io::Read;
        let _ = f.read_exact(&mut bytes);
    }
    u64::from_le_bytes(bytes) ^ u64::from(std::process::id())
}

pub(crate) fn same_prefix(a: Ipv4Addr, b: Ipv4Addr, prefix: u8) -> bool {
    let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
    u32::from(a) & mask == u32::from(b) & mask
}

pub(crate) fn run(args: &UpArgs) -> anyhow::Result<ExitCode> {
    let IpAddr::V4(addr4) = args.addr.ip else {
        bail!("--addr must be an IPv4 address (use --addr6 for IPv6)")
    };
    let IpAddr::V6(addr6) = args.addr6.ip else {
        bail!("--addr6 must be an IPv6 address")
    };
    if addr4 == args.peer_addr || !same_prefix(addr4, args.peer_addr, args.addr.prefix) {
        bail!(
            "--peer-addr {} must be another address in {}/{}",
            args.peer_addr,
            addr4,
            args.addr.prefix
        );
    }
    if addr6 == args.peer_addr6 {
        bail!("--peer-addr6 must differ from --addr6");
    }
    if !is_root() {
        eprintln!(
            "berth up: needs root to create a TUN device and a network namespace; run it with sudo.\n\
             To watch berth work without root, run `berth sim`."
        );
        return Ok(ExitCode::from(1));
    }
    let seed = args.seed.unwrap_or_else(random_seed);
    let mtu = usize::from(args.mtu);

    let ns = NetNs::create(&args.netns).with_context(|| {
        format!("creating network namespace {} (if a previous berth up left it, remove it: ip netns del {})", args.netns, args.netns)
    })?;
    let faults = args.loss > 0.0 || args.delay > 0 || args.reorder > 0.0;
    let offload = !args.no_offload && !faults;
    let tun = TunDevice::with_config(&TunConfig::new(&args.tun, mtu).with_offload(offload))
        .with_context(|| format!("creating TUN device {}", args.tun))?;
    let mut iface = tun.iface()?;
    iface.move_to_netns(ns.name())?;
    iface.add_addr(IpAddr::V4(args.peer_addr), args.addr.prefix)?;
    iface.add_addr(IpAddr::V6(args.peer_addr6), args.addr6.prefix)?;
    iface.set_up()?;

    let mut device: Box<dyn Device> = Box::new(tun);
    if faults {
        let cfg = FaultConfig {
            loss: args.loss,
            delay: Duration::from_millis(args.delay),
            reorder: args.reorder,
            reorder_delay: Duration::from_millis(args.delay.max(2) / 2 + 1),
            ..FaultConfig::default()
        };
        device = Box::new(FaultDevice::new(device, seed, cfg));
    }
    if let Some(path) = &args.pcap {
        device = Box::new(
            PcapDevice::create(device, path)
                .with_context(|| format!("creating {}", path.display()))?,
        );
    }
    let mut builder = NetStack::builder();
    builder = if args.routes.is_empty() {
        builder.addr(args.addr.ip).addr(args.addr6.ip)
    } else {
        let mut b = builder
            .addr_prefix(args.addr.ip, args.addr.prefix)
            .addr_prefix(args.addr6.ip, args.addr6.prefix);
        for r in &args.routes {
            b = b.route(r.ip, r.prefix, None);
        }
        b
    };
    let stack = Arc::new(
        builder
            .seed(seed)
            .mtu(mtu)
            .config(|c| {
                c.tcp.ecn = args.ecn.into();
                c.tcp_abort_on_overflow = args.tcp_abort_on_overflow;
            })
            .build(device)?,
    );
    let services = Services::start(
        &stack,
        &[
            IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        ],
        &args.services,
        args.services_api,
        usize::try_from(args.per_source_limit).unwrap_or(usize::MAX),
        args.http_root.clone(),
    )?;
    let control_path = args
        .control
        .clone()
        .unwrap_or_else(|| control::default_path(&args.netns));
    let control = control::serve(&control_path, &stack)?;

    let mut signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
    ])?;
    println!(
        "berth up: {} on {} (netns {})",
        args.addr.ip, args.tun, args.netns
    );
    println!(
        "  try: ip netns exec {} curl http://{}/   ·   berth ss   ·   Ctrl-C to stop",
        args.netns, args.addr.ip
    );
    std::io::stdout().flush()?;
    let signal = signals.forever().next();
    eprintln!(
        "berth up: {} received, shutting down",
        match signal {
            Some(signal_hook::consts::SIGTERM) => "SIGTERM",
            _ => "SIGINT",
        }
    );
    // Closing the stack closes every socket (FIN where data was delivered)
    // and wakes every blocked service thread; then the threads end.
    let stats = stack.stats();
    let discarded = services
        .counters
        .discarded
        .load(std::sync::atomic::Ordering::Relaxed);
    // Stop answering `berth ss` (the socket file goes), then close the
    // stack; the last reference, wherever it is dropped, shuts it down.
    drop(control);
    drop(stack);
    services.shutdown();
    ns.delete()
        .with_context(|| format!("removing network namespace {}", args.netns))?;
    eprintln!(
        "berth up: done ({} frames in, {} out, {} bytes discarded)",
        stats.frames_in, stats.frames_out, discarded
    );
    Ok(ExitCode::SUCCESS)
}
