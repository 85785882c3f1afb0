//! The proxy target: the kernel of a client namespace reaches servers in a
//! server namespace (the kernel's TCP, a thread per connection, as on the
//! other targets) through `berth proxy` (a child process of this one, its
//! upstream `direct` or a local SOCKS5 server, microsocks), or, for the
//! comparison, through a third namespace whose kernel routes between the
//! two (`ip_forward`). Every contender carries the same client and server
//! kernels; what differs is what is in between.
//!
//! Addresses: each berth proxy's server namespace is 198.19.N.1/24 behind a
//! veth whose root-namespace end is 198.19.N.2 (N from 100 to 239, by
//! process id: direct, then SOCKS5);
//! the kernel router joins 198.18.3.0/24 (client side) and 198.19.3.0/24
//! (server side).
//!
//! The `flows` workload holds `--flows` connections open at once through
//! the contender, each with one exchange, and reports how fast they were
//! opened and, for berth, the proxy's resident memory per flow.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use berth_device::kernel::NetNs;

use super::client::{Measured, run};
use super::dial::{Dial, KernelDial};
use super::netns::{netns_name, prepare_client};
use super::workload::{Addrs, Servers, Service, bind_all};
use super::{Report, Via, Workload};

/// How long the proxy (or microsocks) may take to come up.
const READY: Duration = Duration::from_secs(20);

fn addr(ip: Ipv4Addr, port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(ip), port)
}

fn sh(ns: Option<&NetNs>, args: &[&str]) -> anyhow::Result<()> {
    match ns {
        Some(ns) => Ok(ns.ip(args).map(drop)?),
        None => {
            let out = Command::new("ip").args(args).output()?;
            ensure!(
                out.status.success(),
                "ip {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            );
            Ok(())
        }
    }
}

/// A server namespace on a veth whose other end is in the root namespace:
/// the kernel's servers for every service, and the `flows` holder.
struct ServerSide {
    servers: Option<Servers>,
    veth: String,
    ns: NetNs,
}

impl ServerSide {
    fn start(n: u8, role: char) -> anyhow::Result<Self> {
        let ns = NetNs::create(&netns_name(role))?;
        let veth = format!("bbp{}{role}", std::process::id() % 100_000);
        let inside = format!("{veth}i");
        sh(
            None,
            &[
                "link",
                "add",
                &veth,
                "type",
                "veth",
                "peer",
                "name",
                &inside,
                "netns",
                ns.name(),
            ],
        )?;
        let server = Ipv4Addr::new(198, 19, n, 1);
        ns.ip(&["addr", "add", &format!("{server}/24"), "dev", &inside])?;
        ns.ip(&["link", "set", &inside, "up"])?;
        let up = sh(
            None,
            &["addr", "add", &format!("198.19.{n}.2/24"), "dev", &veth],
        )
        .and_then(|()| sh(None, &["link", "set", &veth, "up"]))
        .and_then(|()| start_servers(&ns, server));
        match up {
            Ok(servers) => Ok(Self {
                servers: Some(servers),
                veth,
                ns,
            }),
            Err(e) => {
                let _ = Command::new("ip").args(["link", "del", &veth]).output();
                Err(e)
            }
        }
    }
}

impl Drop for ServerSide {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &self.veth])
            .output();
    }
}

/// The kernel's servers, bound in `ns` at `ip`.
fn start_servers(ns: &NetNs, ip: Ipv4Addr) -> anyhow::Result<Servers> {
    let listeners = ns.run(|| {
        bind_all(|service| -> std::io::Result<_> {
            let a = addr(ip, service.port());
            Ok((std::net::TcpListener::bind(a)?, a))
        })
    })??;
    Servers::start(listeners, None)
}

/// `berth proxy`, with its upstream.
pub(super) struct BerthProxy {
    proxy: Child,
    socks: Option<Child>,
    netns: String,
    server: Ipv4Addr,
    side: ServerSide,
}

impl BerthProxy {
    pub(super) fn start(via: Via, mtu: usize, offload: bool) -> anyhow::Result<Self> {
        // The root namespace's end of each veth is this process's: a /24
        // picked by process id, so that two benches (or a bench and the
        // proxy tests) running at once do not share one.
        let base = 100 + u8::try_from(std::process::id() % 70).unwrap_or(0) * 2;
        let (n, role) = match via {
            Via::Direct => (base, 'd'),
            Via::Socks5 => (base + 1, 'x'),
        };
        let side = ServerSide::start(n, role)?;
        let socks = match via {
            Via::Direct => None,
            Via::Socks5 => Some(start_microsocks()?),
        };
        let upstream = match &socks {
            Some((_, port)) => format!("socks5://127.0.0.1:{port}"),
            None => "direct".into(),
        };
        let netns = netns_name(match via {
            Via::Direct => 'P',
            Via::Socks5 => 'Q',
        });
        let tun = format!("bbt{}{role}", std::process::id() % 100_000);
        let mut cmd = Command::new(std::env::current_exe()?);
        cmd.args(["proxy", "--netns", &netns, "--tun", &tun])
            .args(["--addr", "198.18.9.2/24", "--peer-addr", "198.18.9.1"])
            .args(["--route", &format!("198.19.{n}.0/24")])
            .args(["--upstream", &upstream, "--mtu", &mtu.to_string()])
            .args(["--dials-per-client", "100000"])
            .arg("--control")
            .arg(std::env::temp_dir().join(format!("{netns}.sock")))
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if !offload {
            cmd.arg("--no-offload");
        }
        let mut proxy = cmd.spawn().context("starting berth proxy")?;
        let this = Self {
            proxy: {
                let out = proxy.stdout.take();
                let mut line = String::new();
                if let Some(out) = out {
                    BufReader::new(out).read_line(&mut line)?;
                }
                if !line.starts_with("berth proxy: routing") {
                    let _ = proxy.kill();
                    let _ = proxy.wait();
                    bail!("berth proxy did not come up: {line:?}");
                }
                proxy
            },
            socks: socks.map(|(c, _)| c),
            netns,
            server: Ipv4Addr::new(198, 19, n, 1),
            side,
        };
        Ok(this)
    }

    fn addrs(&self) -> Addrs {
        Addrs::new(|service| addr(self.server, service.port()))
    }

    pub(super) fn measure(&self, workload: Workload, r: &Report) -> anyhow::Result<Measured> {
        let addrs = self.addrs();
        if workload == Workload::Flows {
            let rss_before = rss(self.proxy.id());
            let pid = self.proxy.id();
            return NetNs::run_in(&self.netns, || {
                flows(addrs.get(Service::Echo), r.flows, || {
                    rss(pid).zip(rss_before).map(|(a, b)| a.saturating_sub(b))
                })
            })?;
        }
        NetNs::run_in(&self.netns, || run(&KernelDial, addrs, workload, r))?
    }

    /// Stops the proxy (SIGINT: it removes its namespace), microsocks and
    /// the servers; dropping does the same.
    pub(super) fn stop(self) {
        drop(self);
    }
}

impl Drop for BerthProxy {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-INT", &self.proxy.id().to_string()])
            .status();
        let deadline = Instant::now() + READY;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.proxy.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.proxy.kill();
        let _ = self.proxy.wait();
        if let Some(mut s) = self.socks.take() {
            let _ = s.kill();
            let _ = s.wait();
        }
        if let Some(servers) = self.side.servers.take() {
            let _ = self.side.ns.run(|| servers.stop(&KernelDial));
        }
        // Gone already unless the proxy was killed.
        let _ = Command::new("ip")
            .args(["netns", "del", &self.netns])
            .output();
    }
}

/// microsocks on 127.0.0.1, on a free port, once it accepts connections.
fn start_microsocks() -> anyhow::Result<(Child, u16)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut child = Command::new("microsocks")
        .args(["-i", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting microsocks (apt-get install microsocks)")?;
    let deadline = Instant::now() + READY;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("microsocks did not listen on 127.0.0.1:{port}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok((child, port))
}

/// The kernel routing between the client's and the server's namespaces.
pub(super) struct KernelRouter {
    servers: Servers,
    client: NetNs,
    server_ns: NetNs,
    _router: NetNs,
}

const ROUTER_CLIENT: Ipv4Addr = Ipv4Addr::new(198, 18, 3, 1);
const ROUTER_IN: Ipv4Addr = Ipv4Addr::new(198, 18, 3, 2);
const ROUTER_OUT: Ipv4Addr = Ipv4Addr::new(198, 19, 3, 2);
const ROUTED_SERVER: Ipv4Addr = Ipv4Addr::new(198, 19, 3, 1);

impl KernelRouter {
    pub(super) fn start(mtu: usize) -> anyhow::Result<Self> {
        let client = NetNs::create(&netns_name('C'))?;
        prepare_client(&client)?;
        let router = NetNs::create(&netns_name('R'))?;
        let server_ns = NetNs::create(&netns_name('S'))?;
        client.ip(&[
            "link",
            "add",
            "bbr0",
            "type",
            "veth",
            "peer",
            "name",
            "bbr1",
            "netns",
            router.name(),
        ])?;
        router.ip(&[
            "link",
            "add",
            "bbr2",
            "type",
            "veth",
            "peer",
            "name",
            "bbr3",
            "netns",
            server_ns.name(),
        ])?;
        for (ns, dev, a) in [
            (&client, "bbr0", ROUTER_CLIENT),
            (&router, "bbr1", ROUTER_IN),
            (&router, "bbr2", ROUTER_OUT),
            (&server_ns, "bbr3", ROUTED_SERVER),
        ] {
            ns.ip(&["addr", "add", &format!("{a}/24"), "dev", dev])?;
            ns.ip(&["link", "set", dev, "mtu", &mtu.to_string()])?;
            ns.ip(&["link", "set", dev, "up"])?;
        }
        client.ip(&[
            "route",
            "add",
            "198.19.0.0/16",
            "via",
            &ROUTER_IN.to_string(),
        ])?;
        server_ns.ip(&[
            "route",
            "add",
            "198.18.0.0/15",
            "via",
            &ROUTER_OUT.to_string(),
        ])?;
        // Forwarding in the router's namespace only (the sysctl is per
        // namespace).
        router.run(|| std::fs::write("/proc/sys/net/ipv4/ip_forward", "1"))??;
        let servers = start_servers(&server_ns, ROUTED_SERVER)?;
        Ok(Self {
            servers,
            client,
            server_ns,
            _router: router,
        })
    }

    pub(super) fn measure(&self, workload: Workload, r: &Report) -> anyhow::Result<Measured> {
        let addrs = Addrs::new(|service| addr(ROUTED_SERVER, service.port()));
        if workload == Workload::Flows {
            return self
                .client
                .run(|| flows(addrs.get(Service::Echo), r.flows, || None))?;
        }
        self.client.run(|| run(&KernelDial, addrs, workload, r))?
    }

    pub(super) fn stop(self) {
        let _ = self.server_ns.run(|| self.servers.stop(&KernelDial));
    }
}

/// How many flows fit in this process's open-file limit (raised as far as
/// it goes): both ends of every flow are this process's (the kernel's
/// servers are threads of it), with room to spare.
pub(super) fn flows_that_fit(wanted: u64) -> u64 {
    let limit = berth_device::raise_fd_limit().unwrap_or(1024);
    let fit = limit.saturating_sub(1024) / 2;
    if wanted > fit {
        eprintln!(
            "berth bench: {wanted} flows need {} open files, the limit is {limit}: holding {fit}",
            2 * wanted + 1024
        );
    }
    wanted.min(fit)
}

/// The resident memory of process `pid`, bytes.
fn rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// Opens `n` connections to the echo service, one exchange on each, all
/// held open until the last is made; then closes them. The time to open
/// them all, and what `grown` says the proxy's memory grew by while they
/// were all open (bytes per flow is that over `n`).
fn flows(echo: SocketAddr, n: u64, grown: impl Fn() -> Option<u64>) -> anyhow::Result<Measured> {
    let start = Instant::now();
    let mut held = Vec::new();
    for i in 0..n {
        let mut s = KernelDial
            .dial(echo)
            .with_context(|| format!("flow {i} of {n}"))?;
        s.write_all(b"f")?;
        let mut b = [0u8; 1];
        s.read_exact(&mut b)?;
        ensure!(&b == b"f", "the echo differs");
        held.push(s);
    }
    let took = start.elapsed();
    if let Some(bytes) = grown() {
        eprintln!(
            "berth bench: {n} flows held through berth proxy: its memory grew by {:.1} MiB, {} bytes per flow",
            bytes as f64 / (1 << 20) as f64,
            bytes / n.max(1)
        );
    }
    drop(held);
    Ok((took, None))
}
