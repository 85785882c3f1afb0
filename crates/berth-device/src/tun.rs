//! A Linux TUN device: raw IPv4/IPv6 packets ([`Medium::Ip`]) exchanged
//! with the kernel, which sees an ordinary network interface.
//!
//! Opened with `TUNSETIFF` and `IFF_TUN | IFF_NO_PI` (no packet-information
//! header: each read or write is exactly one IP packet) and nonblocking.
//! [`TunConfig`] carries the options; `offload` (IFF_VNET_HDR +
//! TUNSETOFFLOAD, for TSO/GRO) is reserved there and refused for now.
//!
//! The kernel's side (up, addresses, namespaces) is configured through
//! [`crate::kernel::Iface`]. Other operating systems get
//! `io::ErrorKind::Unsupported`.
//!
//! ```no_run
//! use berth_device::{Device, tun::TunDevice};
//! # fn main() -> std::io::Result<()> {
//! let mut tun = TunDevice::create("berth0", 1500)?;
//! let iface = tun.iface()?;
//! iface.add_addr("198.18.0.1".parse().unwrap(), 24)?;
//! iface.set_up()?;
//! let mut buf = vec![0u8; tun.mtu()];
//! if let Some(len) = tun.recv(&mut buf)? {
//!     println!("{len}-byte packet from the kernel");
//! }
//! # Ok(())
//! # }
//! ```

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

use crate::kernel::Iface;
use crate::{Device, Medium, sys};

/// How to open a TUN or TAP device.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TunConfig {
    /// The interface name (15 bytes at most); empty lets the kernel pick.
    pub name: String,
    /// The IP MTU, set on the kernel's interface when the device opens.
    pub mtu: usize,
    /// Virtio-net headers with TSO/GRO offloads (`IFF_VNET_HDR` +
    /// `TUNSETOFFLOAD`). Not supported yet: `true` makes opening fail with
    /// `io::ErrorKind::Unsupported`.
    pub offload: bool,
}

impl TunConfig {
    /// A device named `name` with IP MTU `mtu`, no offloads.
    pub fn new(name: &str, mtu: usize) -> Self {
        Self {
            name: name.to_owned(),
            mtu,
            offload: false,
        }
    }

    /// Asks for offloads (see [`TunConfig::offload`]).
    pub fn with_offload(mut self, offload: bool) -> Self {
        self.offload = offload;
        self
    }
}

/// An open TUN device. Closing it (dropping) removes the interface.
#[derive(Debug)]
pub struct TunDevice {
    sys: sys::TunTap,
    mtu: usize,
}

impl TunDevice {
    /// Creates the TUN interface `name` with IP MTU `mtu`. Needs
    /// `CAP_NET_ADMIN`. The interface starts down, without addresses.
    pub fn create(name: &str, mtu: usize) -> io::Result<Self> {
        Self::with_config(&TunConfig::new(name, mtu))
    }

    /// Creates a TUN interface as `config` says.
    pub fn with_config(config: &TunConfig) -> io::Result<Self> {
        let sys = sys::TunTap::open(&config.name, Medium::Ip, config.offload)?;
        sys.set_mtu(config.mtu)?;
        Ok(Self {
            sys,
            mtu: config.mtu,
        })
    }

    /// The interface's name (the kernel's choice when the name was empty).
    pub fn name(&self) -> &str {
        self.sys.name()
    }

    /// A handle on the interface in the caller's namespace, to configure
    /// the kernel's side. After [`Iface::move_to_netns`], keep using the
    /// handle that moved.
    pub fn iface(&self) -> io::Result<Iface> {
        Iface::new(self.name())
    }
}

/// For registering with an event loop (mio's `SourceFd`, tokio's `AsyncFd`).
impl AsFd for TunDevice {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sys.as_fd()
    }
}

impl AsRawFd for TunDevice {
    fn as_raw_fd(&self) -> RawFd {
        self.sys.raw_fd()
    }
}

impl Device for TunDevice {
    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        self.sys.read(buf)
    }

    fn send(&mut self, frame: &[u8]) -> io::Result<bool> {
        self.sys.write(frame)
    }

    fn mtu(&self) -> usize {
        self.mtu
    }

    fn medium(&self) -> Medium {
        Medium::Ip
    }

    fn raw_fd(&self) -> Option<RawFd> {
        Some(self.sys.raw_fd())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tap::TapDevice;

    #[test]
    fn offload_is_refused_until_implemented() {
        let config = TunConfig::new("berth-off", 1500).with_offload(true);
        let err = TunDevice::with_config(&config).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::Unsupported);
        let err = TapDevice::with_config(&config).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::Unsupported);
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn names_the_kernel_cannot_hold_are_refused_before_opening() {
        let err = TunDevice::create("a-name-longer-than-15", 1500).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let err = TapDevice::create("bad/name", 1500).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }
}
