//! The arrangements `berth bench` measures: for each target and stack, the
//! servers and the client side, started once and reused by every run.
//! Namespaces and devices are removed when the setup is stopped or dropped
//! (also when a run fails).
//!
//! With loss, every TUN-target setup gets the same iptables rules in the
//! kernel client's namespace ([`LossRules`]), and with `--no-offload` the
//! kernels' veth pair carries MTU-sized packets too, so that the loss hits
//! every contender's packets alike.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::Command;
#[cfg(feature = "smoltcp")]
use std::sync::Arc;
#[cfg(feature = "smoltcp")]
use std::sync::atomic::{AtomicBool, Ordering};
#[cfg(feature = "smoltcp")]
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use berth::NetStack;
use berth_device::Medium;
use berth_device::channel::ChannelDevice;
use berth_device::kernel::NetNs;
use berth_device::tun::{TunConfig, TunDevice};

use super::client::{Measured, run};
use super::dial::{BerthDial, KernelDial};
use super::netns::{device_name, netns_name, prepare_client};
#[cfg(feature = "smoltcp")]
use super::smoltcp;
use super::workload::{Addrs, Servers, Service, bind_all};
use super::{Api, Report, StackKind, Target, Via, Workload, asyncs, core, proxy, sessions};

/// The kernel's side of a TUN link, and the userspace stack's address.
const KERNEL: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
const USERSPACE: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
/// The two ends of the veth link between two kernels.
const VETH_CLIENT: Ipv4Addr = Ipv4Addr::new(198, 18, 1, 1);
const VETH_SERVER: Ipv4Addr = Ipv4Addr::new(198, 18, 1, 2);

/// How the links of a setup are made.
#[derive(Debug, Clone, Copy)]
pub(super) struct Link {
    pub(super) mtu: usize,
    /// berth's TUN device and in-memory link with checksum and
    /// segmentation offloads.
    pub(super) offload: bool,
    /// The probability of dropping each packet on the kernel client's
    /// side, each way (TUN target only).
    pub(super) loss: f64,
    /// The CPU the servers' threads are kept on (`--pin`).
    pub(super) server_cpu: Option<usize>,
}

pub(super) enum Setup {
    /// berth's core, one thread, no runtime.
    BerthCore {
        mtu: usize,
    },
    /// smoltcp, one thread.
    #[cfg(feature = "smoltcp")]
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
    // `loss` first: fields drop in order, the rules before the namespace.
    BerthTun {
        loss: Option<LossRules>,
        ns: NetNs,
        servers: Servers,
        stack: NetStack,
    },
    #[cfg(feature = "smoltcp")]
    SmoltcpTun {
        loss: Option<LossRules>,
        ns: NetNs,
        stop: Arc<AtomicBool>,
        thread: JoinHandle<anyhow::Result<()>>,
    },
    KernelVeth {
        loss: Option<LossRules>,
        client_ns: NetNs,
        _server_ns: NetNs,
        servers: Servers,
    },
    /// `berth proxy` between two kernels (`proxy.rs`).
    ProxyBerth(proxy::BerthProxy),
    /// A third kernel routing between them.
    ProxyKernel(proxy::KernelRouter),
}

fn addr(ip: Ipv4Addr, port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(ip), port)
}

impl Setup {
    /// The arrangement for `stack` on `target`; `None` where the pair
    /// makes no sense (the kernel has no single-thread core to run; smoltcp
    /// has no threaded runtime) or smoltcp is not compiled in (the
    /// `smoltcp` feature; [`super::run`] says so).
    pub(super) fn start(
        target: Target,
        stack: StackKind,
        api: Api,
        via: Option<Via>,
        link: &Link,
    ) -> anyhow::Result<Option<Self>> {
        let Link {
            mtu,
            offload,
            loss,
            server_cpu,
        } = *link;
        if loss > 0.0 && target != Target::Tun {
            bail!("loss is for the tun target only");
        }
        Ok(Some(match (target, stack) {
            (Target::Core, StackKind::Berth) => Self::BerthCore { mtu },
            #[cfg(feature = "smoltcp")]
            (Target::Core, StackKind::Smoltcp) => Self::SmoltcpCore { mtu },
            (Target::Core, StackKind::Linux) | (Target::Mem, StackKind::Smoltcp) => {
                return Ok(None);
            }
            #[cfg(not(feature = "smoltcp"))]
            (Target::Core | Target::Tun, StackKind::Smoltcp) => return Ok(None),
            (Target::Mem, StackKind::Berth) => berth_mem(mtu, offload, api, server_cpu)?,
            (Target::Mem, StackKind::Linux) => kernel_loopback(server_cpu)?,
            (Target::Tun, StackKind::Berth) => berth_tun(mtu, offload, loss, api, server_cpu)?,
            #[cfg(feature = "smoltcp")]
            (Target::Tun, StackKind::Smoltcp) => smoltcp_tun(mtu, loss, server_cpu)?,
            // Without loss the kernels keep their default offloads.
            (Target::Tun, StackKind::Linux) => {
                kernel_veth(mtu, offload || loss == 0.0, loss, server_cpu)?
            }
            (Target::Proxy, StackKind::Berth) => Self::ProxyBerth(proxy::BerthProxy::start(
                via.unwrap_or(Via::Direct),
                mtu,
                offload,
            )?),
            (Target::Proxy, StackKind::Linux) => {
                Self::ProxyKernel(proxy::KernelRouter::start(mtu)?)
            }
            (Target::Proxy, StackKind::Smoltcp) => return Ok(None),
        }))
    }

    /// One run of `workload`: its wall time (and, for rr over sockets,
    /// each exchange's latency percentiles).
    pub(super) fn measure(&self, workload: Workload, r: &Report) -> anyhow::Result<Measured> {
        let size = usize::try_from(r.rr_size)?;
        let alone = |d: anyhow::Result<Duration>| d.map(|d| (d, None));
        match self {
            Self::BerthMem {
                client, servers, ..
            } => run(&BerthDial(client), servers.addrs(), workload, r),
            Self::KernelLoopback { servers } => run(&KernelDial, servers.addrs(), workload, r),
            &Self::BerthCore { mtu } => alone(match workload {
                Workload::Bulk => core::mem_bulk(r.bulk_bytes, mtu),
                Workload::Download => core::mem_download(r.bulk_bytes, mtu),
                Workload::Rr => core::mem_rr(r.rr_rounds, size, mtu),
                Workload::Crr => core::mem_crr(r.crr_conns, mtu),
                Workload::Flows | Workload::Rr100 => {
                    bail!("{workload:?} is not a workload of the core target")
                }
            }),
            #[cfg(feature = "smoltcp")]
            &Self::SmoltcpCore { mtu } => alone(match workload {
                Workload::Bulk => smoltcp::mem_bulk(r.bulk_bytes, mtu),
                Workload::Download => smoltcp::mem_download(r.bulk_bytes, mtu),
                Workload::Rr => smoltcp::mem_rr(r.rr_rounds, size, mtu),
                Workload::Crr => smoltcp::mem_crr(r.crr_conns, mtu),
                Workload::Flows | Workload::Rr100 => {
                    bail!("{workload:?} is not a workload of the core target")
                }
            }),
            Self::BerthTun { ns, .. } => kernel_client_of_userspace(ns, workload, r),
            #[cfg(feature = "smoltcp")]
            Self::SmoltcpTun { ns, .. } => kernel_client_of_userspace(ns, workload, r),
            Self::KernelVeth {
                client_ns, servers, ..
            } => {
                let addrs = servers.addrs();
                client_ns.run(|| run(&KernelDial, addrs, workload, r))?
            }
            Self::ProxyBerth(p) => p.measure(workload, r),
            Self::ProxyKernel(k) => k.measure(workload, r),
        }
    }

    /// Stops the servers and removes what the setup created.
    pub(super) fn stop(self) {
        match self {
            Self::BerthMem {
                client, servers, ..
            } => servers.stop(&BerthDial(&client)),
            Self::KernelLoopback { servers } => servers.stop(&KernelDial),
            Self::BerthCore { .. } => {}
            #[cfg(feature = "smoltcp")]
            Self::SmoltcpCore { .. } => {}
            Self::BerthTun {
                loss,
                ns,
                servers,
                stack,
            } => {
                // Without loss, the last connections that wake the
                // acceptors cannot fail.
                drop(loss);
                let _ = ns.run(|| servers.stop(&KernelDial));
                // The stack (and its device) before the namespace.
                drop(stack);
                drop(ns);
            }
            #[cfg(feature = "smoltcp")]
            Self::SmoltcpTun {
                loss,
                ns,
                stop,
                thread,
            } => {
                drop(loss);
                stop.store(true, Ordering::SeqCst);
                let _ = thread.join();
                drop(ns);
            }
            Self::KernelVeth {
                loss,
                client_ns,
                servers,
                ..
            } => {
                drop(loss);
                let _ = client_ns.run(|| servers.stop(&KernelDial));
            }
            Self::ProxyBerth(p) => p.stop(),
            Self::ProxyKernel(k) => k.stop(),
        }
    }
}

/// One run of `workload` by the kernel in namespace `ns`, the client of
/// the userspace stack on the other end of its TUN device.
fn kernel_client_of_userspace(
    ns: &NetNs,
    workload: Workload,
    r: &Report,
) -> anyhow::Result<Measured> {
    let addrs = Addrs::new(|service| addr(USERSPACE, service.port()));
    ns.run(|| run(&KernelDial, addrs, workload, r))?
}

/// berth's servers: with `Api::Callback`, discard, echo and source as
/// sessions on the stack thread; with `Api::Async`, as tokio tasks on a
/// runtime thread of their own (`asyncs.rs`); with `Api::Blocking`, all on
/// threads. The checked services of the loss workloads are threaded
/// always.
fn berth_servers(
    stack: &NetStack,
    ip: Ipv4Addr,
    api: Api,
    cpu: Option<usize>,
) -> anyhow::Result<Servers> {
    let mut ports = Vec::new();
    let mut tasks = Vec::new();
    let listeners = bind_all(|service| -> anyhow::Result<_> {
        let a = addr(ip, service.port());
        let on_thread = match (api, service) {
            (Api::Blocking, _) | (_, Service::Verify | Service::Pattern) => true,
            (Api::Async, _) => {
                tasks.push((service, a));
                false
            }
            (Api::Callback, Service::Discard) => {
                ports.push(stack.serve(a, |_| sessions::Discard(Default::default()))?);
                false
            }
            (Api::Callback, Service::Echo) => {
                ports.push(stack.serve(a, |_| sessions::Echo::default())?);
                false
            }
            (Api::Callback, Service::Source) => {
                ports.push(stack.serve(a, |_| sessions::Source::default())?);
                false
            }
        };
        let listener = if on_thread {
            Some(berth::net::TcpListener::bind(stack, a)?)
        } else {
            None
        };
        Ok((listener, a))
    })?;
    let others: Option<Box<dyn Send>> = if tasks.is_empty() {
        None
    } else {
        Some(Box::new(asyncs::AsyncServers::start(stack, tasks, cpu)?))
    };
    Ok(Servers::start_some(listeners, ports, cpu)?.with_others(others))
}

fn berth_mem(mtu: usize, offload: bool, api: Api, cpu: Option<usize>) -> anyhow::Result<Setup> {
    // With offloads the link carries long TCP segments whole, as the
    // kernel's loopback does with its 64 KiB MTU.
    let (left, right) = if offload {
        ChannelDevice::pair_offloaded(mtu)?
    } else {
        ChannelDevice::pair(mtu, Medium::Ip)?
    };
    let mut server = NetStack::builder()
        .addr(IpAddr::V4(USERSPACE))
        .seed(super::super::up::random_seed());
    if let Some(cpu) = cpu {
        server = server.stack_thread_cpu(cpu);
    }
    let server = server.build(left)?;
    let client = NetStack::builder()
        .addr(IpAddr::V4(KERNEL))
        .seed(super::super::up::random_seed())
        .build(right)?;
    let servers = berth_servers(&server, USERSPACE, api, cpu)?;
    Ok(Setup::BerthMem {
        client,
        servers,
        _server: server,
    })
}

fn kernel_loopback(cpu: Option<usize>) -> anyhow::Result<Setup> {
    let listeners = bind_all(|_| -> anyhow::Result<_> {
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        let a = l.local_addr()?;
        Ok((l, a))
    })?;
    Ok(Setup::KernelLoopback {
        servers: Servers::start(listeners, cpu)?,
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
    prepare_client(&ns)?;
    let config = TunConfig::new(tun, mtu).with_offload(offload);
    let dev = TunDevice::with_config(&config).with_context(|| format!("creating TUN {tun}"))?;
    let mut iface = dev.iface()?;
    iface.move_to_netns(ns.name())?;
    iface.add_addr(IpAddr::V4(KERNEL), 24)?;
    iface.set_up()?;
    Ok((ns, dev))
}

fn berth_tun(
    mtu: usize,
    offload: bool,
    loss: f64,
    api: Api,
    cpu: Option<usize>,
) -> anyhow::Result<Setup> {
    // One namespace per server API: both may be set up at once.
    let role = match api {
        Api::Callback => 'b',
        Api::Blocking => 't',
        Api::Async => 'a',
    };
    let (ns, dev) = tun_namespace(&netns_name(role), &device_name(role), mtu, offload)?;
    let mut stack = NetStack::builder()
        .addr(IpAddr::V4(USERSPACE))
        .seed(super::super::up::random_seed())
        .mtu(mtu);
    if let Some(cpu) = cpu {
        stack = stack.stack_thread_cpu(cpu);
    }
    let stack = stack.build(dev)?;
    let servers = berth_servers(&stack, USERSPACE, api, cpu)?;
    Ok(Setup::BerthTun {
        loss: LossRules::add(&ns, loss)?,
        ns,
        servers,
        stack,
    })
}

#[cfg(feature = "smoltcp")]
fn smoltcp_tun(mtu: usize, loss: f64, cpu: Option<usize>) -> anyhow::Result<Setup> {
    // smoltcp has no use for offloads.
    let (ns, dev) = tun_namespace(&netns_name('s'), &device_name('s'), mtu, false)?;
    let stop = Arc::new(AtomicBool::new(false));
    let thread = {
        let stop = stop.clone();
        std::thread::Builder::new()
            .name("smoltcp".into())
            .spawn(move || {
                super::workload::pin(cpu)?;
                smoltcp::serve(Box::new(dev), USERSPACE, 24, stop)
            })?
    };
    Ok(Setup::SmoltcpTun {
        loss: LossRules::add(&ns, loss)?,
        ns,
        stop,
        thread,
    })
}

/// `offload`: the kernels' default segmentation offloads (GSO: TCP
/// segments of up to 64 KiB cross the veth pair whole); without, one
/// MTU-sized segment per packet (`gso_max_segs 1`).
fn kernel_veth(mtu: usize, offload: bool, loss: f64, cpu: Option<usize>) -> anyhow::Result<Setup> {
    let create = |name: String| {
        NetNs::create(&name).with_context(|| format!("creating network namespace {name}"))
    };
    let client_ns = create(netns_name('c'))?;
    let server_ns = create(netns_name('k'))?;
    prepare_client(&client_ns)?;
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
    for (ns, dev) in [(&client_ns, "bbv0"), (&server_ns, "bbv1")] {
        ns.ip(&["link", "set", dev, "mtu", &mtu.to_string()])?;
        if !offload {
            ns.ip(&["link", "set", dev, "gso_max_segs", "1"])?;
        }
        ns.ip(&["link", "set", dev, "up"])?;
    }
    // Listening sockets opened in the server's namespace stay there.
    let listeners = server_ns.run(|| {
        bind_all(|service| -> std::io::Result<_> {
            let a = addr(VETH_SERVER, service.port());
            Ok((std::net::TcpListener::bind(a)?, a))
        })
    })??;
    let servers = Servers::start(listeners, cpu).map_err(|e| anyhow!(e))?;
    Ok(Setup::KernelVeth {
        loss: LossRules::add(&client_ns, loss)?,
        client_ns,
        _server_ns: server_ns,
        servers,
    })
}

/// Random loss on the kernel client's side of a link: an iptables
/// `statistic` DROP rule on INPUT and one on OUTPUT in its namespace, each
/// dropping a packet with the same probability. Removed on drop (and with
/// the namespace in any case).
///
/// iptables sees the packets the kernel sees: with offloads, a TCP segment
/// of up to 64 KiB is one packet, lost whole.
pub(super) struct LossRules {
    netns: String,
    probability: String,
}

impl LossRules {
    /// The rules in `ns`, or none for a probability of 0.
    fn add(ns: &NetNs, probability: f64) -> anyhow::Result<Option<Self>> {
        if probability <= 0.0 {
            return Ok(None);
        }
        let rules = Self {
            netns: ns.name().to_owned(),
            probability: probability.to_string(),
        };
        for chain in ["INPUT", "OUTPUT"] {
            // On failure `rules` drops, which removes what was added.
            rules.iptables("-A", chain)?;
        }
        Ok(Some(rules))
    }

    /// Appends (`-A`) or deletes (`-D`) the rule on `chain`.
    fn iptables(&self, op: &str, chain: &str) -> anyhow::Result<()> {
        let args = [
            "netns",
            "exec",
            &self.netns,
            "iptables",
            "-w",
            op,
            chain,
            "-m",
            "statistic",
            "--mode",
            "random",
            "--probability",
            &self.probability,
            "-j",
            "DROP",
        ];
        let shown = format!("ip {}", args.join(" "));
        let out = Command::new("ip")
            .args(args)
            .output()
            .with_context(|| format!("running `{shown}`"))?;
        if !out.status.success() {
            bail!(
                "`{shown}` failed ({}): {} (--loss needs iptables with its statistic match)",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(())
    }
}

impl Drop for LossRules {
    fn drop(&mut self) {
        for chain in ["INPUT", "OUTPUT"] {
            let _ = self.iptables("-D", chain);
        }
    }
}
