//! A Linux TAP device: Ethernet II frames ([`Medium::Ethernet`]) exchanged
//! with the kernel, which sees an Ethernet interface (and so speaks ARP and
//! NDP to us).
//!
//! The same driver as [`crate::tun`], opened with `IFF_TAP | IFF_NO_PI`.
//! [`Device::mtu`] is the largest *frame*: the IP MTU plus the 14-byte
//! Ethernet header.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

use crate::kernel::Iface;
use crate::tun::TunConfig;
use crate::{Device, Medium, sys};

/// Ethernet II header: destination, source, EtherType.
pub const ETHERNET_HEADER_LEN: usize = 14;

/// An open TAP device. Closing it (dropping) removes the interface.
#[derive(Debug)]
pub struct TapDevice {
    sys: sys::TunTap,
    ip_mtu: usize,
}

impl TapDevice {
    /// Creates the TAP interface `name` with IP MTU `mtu` (frames carry up
    /// to `mtu + 14` bytes). Needs `CAP_NET_ADMIN`. The interface starts
    /// down, without addresses.
    pub fn create(name: &str, mtu: usize) -> io::Result<Self> {
        Self::with_config(&TunConfig::new(name, mtu))
    }

    /// Creates a TAP interface as `config` says (`config.mtu` is the IP MTU).
    pub fn with_config(config: &TunConfig) -> io::Result<Self> {
        let sys = sys::TunTap::open(&config.name, Medium::Ethernet, config.offload)?;
        sys.set_mtu(config.mtu)?;
        sys.set_queue_len(config.queue_len)?;
        Ok(Self {
            sys,
            ip_mtu: config.mtu,
        })
    }

    /// The interface's name (the kernel's choice when the name was empty).
    pub fn name(&self) -> &str {
        self.sys.name()
    }

    /// The IP MTU (without the Ethernet header).
    pub fn ip_mtu(&self) -> usize {
        self.ip_mtu
    }

    /// A handle on the interface in the caller's namespace, to configure
    /// the kernel's side.
    pub fn iface(&self) -> io::Result<Iface> {
        Iface::new(self.name())
    }
}

/// For registering with an event loop (mio's `SourceFd`, tokio's `AsyncFd`).
impl AsFd for TapDevice {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sys.as_fd()
    }
}

impl AsRawFd for TapDevice {
    fn as_raw_fd(&self) -> RawFd {
        self.sys.raw_fd()
    }
}

impl Device for TapDevice {
    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        self.sys.read(buf)
    }

    fn send(&mut self, frame: &[u8]) -> io::Result<bool> {
        self.sys.write(frame)
    }

    fn mtu(&self) -> usize {
        self.ip_mtu + ETHERNET_HEADER_LEN
    }

    fn medium(&self) -> Medium {
        Medium::Ethernet
    }

    fn raw_fd(&self) -> Option<RawFd> {
        Some(self.sys.raw_fd())
    }
}
