//! The kernel's side of a TUN/TAP link: bringing the interface up, its MTU,
//! its addresses, and network namespaces to put it in.
//!
//! This first version runs iproute2's `ip` (`ip link set dev X up mtu M`,
//! `ip addr add A/P dev X`, `ip -n NS …`, `ip netns add NS`): every step is
//! one readable command in an error message, and the same commands work by
//! hand. Netlink can replace it later behind the same methods.
//!
//! A TUN/TAP descriptor opened in one namespace keeps working after its
//! interface moves to another one with [`Iface::move_to_netns`]: the
//! runtime stays in the root namespace while the kernel peer (ping, curl,
//! iperf3) runs inside a namespace of its own.
//!
//! Tests and benchmarks use only 198.18.0.0/15 and 2001:2::/48 inside
//! namespaces they create (docs/ARCHITECTURE.md rule 18, network safety).

use std::io;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::Command;

/// Where `ip netns add` puts a namespace's handle.
const NETNS_DIR: &str = "/run/netns";

/// Runs `ip [-n NETNS] ARGS…` and returns its standard output.
fn ip(netns: Option<&str>, args: &[&str]) -> io::Result<String> {
    let mut command = Command::new("ip");
    if let Some(ns) = netns {
        command.args(["-n", ns]);
    }
    command.args(args);
    let shown = || {
        let ns = netns.map(|ns| format!("-n {ns} ")).unwrap_or_default();
        format!("ip {ns}{}", args.join(" "))
    };
    let output = command.output().map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot run `{}` (is iproute2 installed?): {e}", shown()),
        )
    })?;
    if !output.status.success() {
        return Err(io::Error::other(format!(
            "`{}` failed ({}): {}",
            shown(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Rejects names that `ip` or the kernel would misread.
fn check_name(what: &str, name: &str, max: usize) -> io::Result<()> {
    let bad = |b: u8| b == 0 || b == b'/' || b.is_ascii_whitespace();
    if name.is_empty() || name.len() > max || name.starts_with('-') || name.bytes().any(bad) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("invalid {what} name {name:?}"),
        ));
    }
    Ok(())
}

/// A network interface as the kernel sees it, in the root namespace or in
/// a named one. A handle only: dropping it changes nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Iface {
    name: String,
    netns: Option<String>,
}

impl Iface {
    /// The interface `name` in the caller's network namespace.
    pub fn new(name: &str) -> io::Result<Self> {
        check_name("interface", name, 15)?;
        Ok(Self {
            name: name.to_owned(),
            netns: None,
        })
    }

    /// The interface `name` inside the named namespace `netns`.
    pub fn in_netns(name: &str, netns: &str) -> io::Result<Self> {
        check_name("network namespace", netns, 64)?;
        let mut iface = Self::new(name)?;
        iface.netns = Some(netns.to_owned());
        Ok(iface)
    }

    /// The interface's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The namespace it is in; `None` for the caller's.
    pub fn netns(&self) -> Option<&str> {
        self.netns.as_deref()
    }

    /// Runs `ip [-n NETNS] ARGS…` in this interface's namespace and returns
    /// its output (for what the other methods do not cover).
    pub fn ip(&self, args: &[&str]) -> io::Result<String> {
        ip(self.netns(), args)
    }

    /// Brings the link up (`ip link set dev X up`).
    pub fn set_up(&self) -> io::Result<()> {
        self.ip(&["link", "set", "dev", &self.name, "up"]).map(drop)
    }

    /// Takes the link down (`ip link set dev X down`).
    pub fn set_down(&self) -> io::Result<()> {
        self.ip(&["link", "set", "dev", &self.name, "down"])
            .map(drop)
    }

    /// Sets the MTU (`ip link set dev X mtu M`).
    pub fn set_mtu(&self, mtu: usize) -> io::Result<()> {
        let mtu = mtu.to_string();
        self.ip(&["link", "set", "dev", &self.name, "mtu", &mtu])
            .map(drop)
    }

    /// Adds an address with its prefix length, IPv4 or IPv6
    /// (`ip addr add A/P dev X`). IPv6 addresses skip duplicate address
    /// detection (`nodad`) so that they are usable at once.
    pub fn add_addr(&self, addr: IpAddr, prefix_len: u8) -> io::Result<()> {
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if prefix_len > max {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("prefix length {prefix_len} is longer than {max}"),
            ));
        }
        let cidr = format!("{addr}/{prefix_len}");
        let mut args = vec!["addr", "add", &cidr, "dev", &self.name];
        if addr.is_ipv6() {
            args.push("nodad");
        }
        self.ip(&args).map(drop)
    }

    /// Adds a route to `dest/prefix_len` through this interface
    /// (`ip route add D/P dev X`).
    pub fn add_route(&self, dest: IpAddr, prefix_len: u8) -> io::Result<()> {
        let cidr = format!("{dest}/{prefix_len}");
        self.ip(&["route", "add", &cidr, "dev", &self.name])
            .map(drop)
    }

    /// Moves the interface into the named namespace
    /// (`ip link set dev X netns NS`). The kernel takes the link down and
    /// drops its addresses on the way: configure it after moving. An open
    /// TUN/TAP descriptor keeps working.
    pub fn move_to_netns(&mut self, netns: &str) -> io::Result<()> {
        check_name("network namespace", netns, 64)?;
        self.ip(&["link", "set", "dev", &self.name, "netns", netns])?;
        self.netns = Some(netns.to_owned());
        Ok(())
    }

    /// Deletes the interface (`ip link del dev X`). A TUN/TAP interface
    /// also goes away by itself when its last descriptor closes.
    pub fn delete(&self) -> io::Result<()> {
        self.ip(&["link", "del", "dev", &self.name]).map(drop)
    }
}

/// A named network namespace (`ip netns add NAME`) that this value owns:
/// dropping it deletes the namespace (`ip netns del NAME`), also when a test
/// fails, together with the virtual interfaces inside it.
#[derive(Debug)]
pub struct NetNs {
    name: String,
}

impl NetNs {
    /// Creates the namespace and brings its loopback interface up.
    /// Needs root (`CAP_SYS_ADMIN`).
    pub fn create(name: &str) -> io::Result<Self> {
        check_name("network namespace", name, 64)?;
        ip(None, &["netns", "add", name])?;
        let netns = Self {
            name: name.to_owned(),
        };
        // On failure `netns` is dropped here, which deletes the namespace.
        netns.ip(&["link", "set", "dev", "lo", "up"])?;
        Ok(netns)
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file that stands for the namespace (`/run/netns/NAME`).
    pub fn path(&self) -> PathBuf {
        PathBuf::from(NETNS_DIR).join(&self.name)
    }

    /// The interface `name` inside this namespace.
    pub fn iface(&self, name: &str) -> io::Result<Iface> {
        Iface::in_netns(name, &self.name)
    }

    /// Runs `ip -n NAME ARGS…` and returns its output.
    pub fn ip(&self, args: &[&str]) -> io::Result<String> {
        ip(Some(&self.name), args)
    }

    /// Runs `f` on a fresh thread inside the namespace and returns what it
    /// returns. Sockets that `f` opens belong to the namespace and keep
    /// working after they are returned to the caller's thread, so a test can
    /// play the kernel peer with `std::net` without spawning a process. A
    /// panic in `f` resumes in the caller.
    pub fn run<T, F>(&self, f: F) -> io::Result<T>
    where
        T: Send,
        F: FnOnce() -> T + Send,
    {
        crate::sys::run_in_netns(&self.path(), f)
    }

    /// [`NetNs::run`] in the named namespace `name`, which this process
    /// does not own (another made it, and will remove it): for a client
    /// that works inside the namespace of a program it started.
    pub fn run_in<T, F>(name: &str, f: F) -> io::Result<T>
    where
        T: Send,
        F: FnOnce() -> T + Send,
    {
        check_name("network namespace", name, 64)?;
        crate::sys::run_in_netns(&PathBuf::from(NETNS_DIR).join(name), f)
    }

    /// Deletes the namespace now and reports whether that worked (dropping
    /// does the same but ignores errors).
    pub fn delete(self) -> io::Result<()> {
        let mut this = self;
        // Emptied so that `Drop` does not delete a second time.
        let name = std::mem::take(&mut this.name);
        ip(None, &["netns", "del", &name]).map(drop)
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        if !self.name.is_empty() {
            // Best effort: a failure here cannot be reported, and `delete`
            // exists for callers that want to know.
            let _ = ip(None, &["netns", "del", &self.name]);
        }
    }
}
