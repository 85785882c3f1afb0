//! The arrangements `berth bench` measures: for each target and stack, the
//! servers and the client side, started once and reused by every run.
//! Namespaces and devices are removed when the setup is stopped or dropped
//! (also when a run fails).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context, anyhow};
use berth::NetStack;
use berth_device::Medium;
use berth_device::channel::ChannelDevice;
use berth_device::kernel::NetNs;
use berth_device::tun::{TunConfig, TunDevice};

use super::workload::{self, BerthDial, Dial, KernelDial, Servers};
use super::{Report, StackKind, Target, Workload, core, smoltcp};

/// The kernel's side of a TUN link, and the userspace stack's address.
const KERNEL: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
const USERSPACE: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
/// The two ends of the veth link between two kernels.
const VETH_CLIENT: Ipv4Addr = Ipv4Addr::new(198, 18, 1, 1);
const VETH_SERVER: Ipv4Addr = Ipv4Addr::new(198, 18, 1, 2);
const DISCARD: u16 = 9;
const ECHO: u16 = 7;
const SOURCE: u16 = 19;

pub(super) enum Setup {
    /// berth's core, one thread, no runtime.
    BerthCore {
        mtu: usize,
    },
    /// smoltcp, one thread.
    SmoltcpCore {
        mtu: usize,
    },
    BerthMem {
        client: NetStack,
        servers: Servers,
        _server: NetStack,
    },
    KernelLoopback {
        servers: Servers,
    },
    BerthTun {
        ns: NetNs,
        servers: Servers,
        stack: NetStack,
    },
    SmoltcpTun {
        ns: NetNs,
        stop: Arc<AtomicBool>,
        thread: JoinHandle<anyhow::Result<()>>,
    },
    KernelVeth {
        client_ns: NetNs,
        _server_ns: NetNs,
        servers: Servers,
    },
}

fn addr(ip: Ipv4Addr, port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(ip), port)
}

impl Setup {
    /// The arrangement for `stack` on `target`; `None` where the pair
    /// makes no sense (the kernel has no single-thread core to run; smoltcp
    /// has no threaded runtime). `offload`: berth's TUN device with
    /// checksum and segmentation offloads.
    pub(super) fn start(
        target: Target,
        stack: StackKind,
        mtu: usize,
        offload: bool,
    ) -> anyhow::Result<Option<Self>> {
        Ok(Some(match (target, stack) {
            (Target::Core, StackKind::Berth) => Self::BerthCore { mtu },
            (Target::Core, StackKind::Smoltcp) => Self::SmoltcpCore { mtu },
            (Target::Core, StackKind::Linux) | (Target::Mem, StackKind::Smoltcp) => {
                return Ok(None);
            }
            (Target::Mem, StackKind::Berth) => berth_mem(mtu, offload)?,
            (Target::Mem, StackKind::Linux) => kernel_loopback()?,
            (Target::Tun, StackKind::Berth) => berth_tun(mtu, offload)?,
            (Target::Tun, StackKind::Smoltcp) => smoltcp_tun(mtu)?,
            (Target::Tun, StackKind::Linux) => kernel_veth(mtu)?,
        }))
    }

    /// One run of `workload`: its wall time.
    pub(super) fn measure(&self, workload: Workload, r: &Report) -> anyhow::Result<Duration> {
        let size = usize::try_from(r.rr_size)?;
        match self {
            Self::BerthMem {
                client, servers, ..
            } => run(&BerthDial(client), servers.addrs(), workload, r),
            Self::KernelLoopback { servers } => run(&KernelDial, servers.addrs(), workload, r),
            &Self::BerthCore { mtu } => match workload {
                Workload::Bulk => core::mem_bulk(r.bulk_bytes, mtu),
                Workload::Download => core::mem_download(r.bulk_bytes, mtu),
                Workload::Rr => core::mem_rr(r.rr_rounds, size, mtu),
                Workload::Crr => core::mem_crr(r.crr_conns, mtu),
            },
            &Self::SmoltcpCore { mtu } => match workload {
                Workload::Bulk => smoltcp::mem_bulk(r.bulk_bytes, mtu),
                Workload::Download => smoltcp::mem_download(r.bulk_bytes, mtu),
                Workload::Rr => smoltcp::mem_rr(r.rr_rounds, size, mtu),
                Workload::Crr => smoltcp::mem_crr(r.crr_conns, mtu),
            },
            Self::BerthTun { ns, .. } | Self::SmoltcpTun { ns, .. } => {
                let addrs = [
                    addr(USERSPACE, DISCARD),
                    addr(USERSPACE, ECHO),
                    addr(USERSPACE, SOURCE),
                ];
                ns.run(|| run(&KernelDial, addrs, workload, r))?
            }
            Self::KernelVeth {
                client_ns, servers, ..
            } => {
                let addrs = servers.addrs();
                client_ns.run(|| run(&KernelDial, addrs, workload, r))?
            }
        }
    }

    /// Stops the servers and removes what the setup created.
    pub(super) fn stop(self) {
        match self {
            Self::BerthMem {
                client, servers, ..
            } => servers.stop(&BerthDial(&client)),
            Self::KernelLoopback { servers } => servers.stop(&KernelDial),
            Self::BerthCore { .. } | Self::SmoltcpCore { .. } => {}
            Self::BerthTun { ns, servers, stack } => {
                let _ = ns.run(|| servers.stop(&KernelDial));
                // The stack (and its device) before the namespace.
                drop(stack);
                drop(ns);
            }
            Self::SmoltcpTun { ns, stop, thread } => {
                stop.store(true, Ordering::SeqCst);
                let _ = thread.join();
                drop(ns);
            }
            Self::KernelVeth {
                client_ns, servers, ..
            } => {
                let _ = client_ns.run(|| servers.stop(&KernelDial));
            }
        }
    }
}

/// `addrs`: discard, echo and source.
fn run<D: Dial>(
    d: &D,
    addrs: [SocketAddr; 3],
    workload: Workload,
    r: &Report,
) -> anyhow::Result<Duration> {
    let [discard, echo, source] = addrs;
    match workload {
        Workload::Bulk => workload::bulk(d, discard, r.bulk_bytes),
        Workload::Download => workload::download(d, source, r.bulk_bytes),
        Workload::Rr => workload::rr(d, echo, r.rr_rounds, usize::try_from(r.rr_size)?),
        Workload::Crr => workload::crr(d, echo, r.crr_conns),
    }
}

fn berth_servers(stack: &NetStack, ip: Ipv4Addr) -> anyhow::Result<Servers> {
    let bind = |port| -> anyhow::Result<_> {
        let a = addr(ip, port);
        Ok((berth::net::TcpListener::bind(stack, a)?, a))
    };
    Servers::start(bind(DISCARD)?, bind(ECHO)?, bind(SOURCE)?)
}

fn berth_mem(mtu: usize, offload: bool) -> anyhow::Result<Setup> {
    // With offloads the link carries long TCP segments whole, as the
    // kernel's loopback does with its 64 KiB MTU.
    let (left, right) = if offload {
        ChannelDevice::pair_offloaded(mtu)?
    } else {
        ChannelDevice::pair(mtu, Medium::Ip)?
    };
    let server = NetStack::builder()
        .addr(IpAddr::V4(USERSPACE))
        .seed(super::super::up::random_seed())
        .build(left)?;
    let client = NetStack::builder()
        .addr(IpAddr::V4(KERNEL))
        .seed(super::super::up::random_seed())
        .build(right)?;
    let servers = berth_servers(&server, USERSPACE)?;
    Ok(Setup::BerthMem {
        client,
        servers,
        _server: server,
    })
}

fn kernel_loopback() -> anyhow::Result<Setup> {
    let bind = || -> anyhow::Result<_> {
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        let a = l.local_addr()?;
        Ok((l, a))
    };
    Ok(Setup::KernelLoopback {
        servers: Servers::start(bind()?, bind()?, bind()?)?,
    })
}

/// A namespace whose TUN device `tun` has the kernel's address; the
/// device's userspace end is returned. `offload`: checksum and TSO
/// offloads through virtio-net headers.
fn tun_namespace(
    ns_name: &str,
    tun: &str,
    mtu: usize,
    offload: bool,
) -> anyhow::Result<(NetNs, TunDevice)> {
    let ns =
        NetNs::create(ns_name).with_context(|| format!("creating network namespace {ns_name}"))?;
    let config = TunConfig::new(tun, mtu).with_offload(offload);
    let dev = TunDevice::with_config(&config).with_context(|| format!("creating TUN {tun}"))?;
    let mut iface = dev.iface()?;
    iface.move_to_netns(ns.name())?;
    iface.add_addr(IpAddr::V4(KERNEL), 24)?;
    iface.set_up()?;
    Ok((ns, dev))
}

fn berth_tun(mtu: usize, offload: bool) -> anyhow::Result<Setup> {
    let (ns, dev) = tun_namespace(&netns_name('b'), &device_name('b'), mtu, offload)?;
    let stack = NetStack::builder()
        .addr(IpAddr::V4(USERSPACE))
        .seed(super::super::up::random_seed())
        .mtu(mtu)
        .build(dev)?;
    let servers = berth_servers(&stack, USERSPACE)?;
    Ok(Setup::BerthTun { ns, servers, stack })
}

fn smoltcp_tun(mtu: usize) -> anyhow::Result<Setup> {
    // smoltcp has no use for offloads.
    let (ns, dev) = tun_namespace(&netns_name('s'), &device_name('s'), mtu, false)?;
    let stop = Arc::new(AtomicBool::new(false));
    let thread = {
        let stop = stop.clone();
        std::thread::Builder::new()
            .name("smoltcp".into())
            .spawn(move || smoltcp::serve(Box::new(dev), USERSPACE, 24, stop))?
    };
    Ok(Setup::SmoltcpTun { ns, stop, thread })
}

fn kernel_veth(mtu: usize) -> anyhow::Result<Setup> {
    let create = |name: String| {
        NetNs::create(&name).with_context(|| format!("creating network namespace {name}"))
    };
    let client_ns = create(netns_name('c'))?;
    let server_ns = create(netns_name('k'))?;
    client_ns.ip(&[
        "link",
        "add",
        "bbv0",
        "type",
        "veth",
        "peer",
        "name",
        "bbv1",
        "netns",
        server_ns.name(),
    ])?;
    client_ns.ip(&["addr", "add", &format!("{VETH_CLIENT}/24"), "dev", "bbv0"])?;
    server_ns.ip(&["addr", "add", &format!("{VETH_SERVER}/24"), "dev", "bbv1"])?;
    client_ns.ip(&["link", "set", "bbv0", "mtu", &mtu.to_string(), "up"])?;
    server_ns.ip(&["link", "set", "bbv1", "mtu", &mtu.to_string(), "up"])?;
    // Listening sockets opened in the server's namespace stay there.
    let listeners = server_ns.run(|| -> std::io::Result<_> {
        let bind = |port| -> std::io::Result<_> {
            let a = addr(VETH_SERVER, port);
            Ok((std::net::TcpListener::bind(a)?, a))
        };
        Ok((bind(DISCARD)?, bind(ECHO)?, bind(SOURCE)?))
    })??;
    let servers = Servers::start(listeners.0, listeners.1, listeners.2).map_err(|e| anyhow!(e))?;
    Ok(Setup::KernelVeth {
        client_ns,
        _server_ns: server_ns,
        servers,
    })
}

/// The prefix of every namespace this command creates. The whole name is
/// `berth-bench-PID-X`: runs of several processes (other users' benches,
/// tests) neither collide nor remove each other's namespaces.
const NETNS_PREFIX: &str = "berth-bench-";

/// This process's namespace for `role` (`b`: berth, `s`: smoltcp, `c` and
/// `k`: the kernels' client and server).
fn netns_name(role: char) -> String {
    format!("{NETNS_PREFIX}{}-{role}", std::process::id())
}

/// This process's TUN device for `role`; it exists in the root namespace
/// for a moment before it moves into its own (at most 10 bytes, under
/// IFNAMSIZ).
fn device_name(role: char) -> String {
    format!("bb{}{role}", std::process::id())
}

/// The process that created the namespace `name`, if it is one of ours.
fn netns_owner(name: &str) -> Option<u32> {
    let (pid, _role) = name.strip_prefix(NETNS_PREFIX)?.split_once('-')?;
    pid.parse().ok()
}

/// Namespaces `berth bench` creates whose names are taken now, with the
/// process that made each.
fn own_namespaces() -> Vec<(String, u32)> {
    std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .filter_map(|l| l.split_whitespace().next())
                .filter_map(|n| Some((n.to_owned(), netns_owner(n)?)))
                .collect()
        })
        .unwrap_or_default()
}

fn delete_namespace(name: &str) {
    let _ = std::process::Command::new("ip")
        .args(["netns", "del", name])
        .status();
}

/// Removes the namespaces that runs which are no longer alive (killed)
/// left behind, saying so. A running bench's namespaces are left alone.
pub(super) fn remove_stale_namespaces() {
    for (name, pid) in own_namespaces() {
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            eprintln!("berth bench: removing namespace {name}, left by an earlier run");
            delete_namespace(&name);
        }
    }
}

/// On SIGINT or SIGTERM, removes this command's namespaces (with their
/// devices) before exiting, as the setups would have on a normal end.
pub(super) fn clean_up_on_signal() -> anyhow::Result<()> {
    let mut signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
    ])?;
    std::thread::Builder::new()
        .name("bench-signals".into())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                let me = std::process::id();
                for (name, _) in own_namespaces().iter().filter(|(_, pid)| *pid == me) {
                    delete_namespace(name);
                }
                std::process::exit(128 + signal);
            }
        })?;
    Ok(())
}
