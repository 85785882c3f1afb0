//! A Linux TUN device: raw IPv4/IPv6 packets ([`Medium::Ip`]) exchanged
//! with the kernel, which sees an ordinary network interface.
//!
//! Opened with `TUNSETIFF` and `IFF_TUN | IFF_NO_PI` (no packet-information
//! header: each read or write is exactly one IP packet) and nonblocking.
//! [`TunConfig`] carries the options. With `offload`, every packet carries
//! a virtio-net header (`IFF_VNET_HDR`) and the kernel is told we handle
//! checksum offload and TSO (`TUNSETOFFLOAD`): it then passes on TCP
//! segments of up to 64 KiB, unsplit, with checksums we complete here
//! ([`Device::recv_capacity`]), and completes the checksum of every TCP
//! segment we hand it, splitting the long ones
//! ([`Device::send_tcp_segments`]), one system call for up to 44 segments
//! each way.
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
use crate::{Device, Medium, Received, sys, vnet};

/// How to open a TUN or TAP device.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TunConfig {
    /// The interface name (15 bytes at most); empty lets the kernel pick.
    pub name: String,
    /// The IP MTU, set on the kernel's interface when the device opens.
    pub mtu: usize,
    /// Virtio-net headers with checksum and TSO offloads (`IFF_VNET_HDR` +
    /// `TUNSETOFFLOAD`); TUN only (a TAP device refuses it with
    /// `io::ErrorKind::Unsupported`).
    pub offload: bool,
    /// How many frames the kernel holds for the device to read before it
    /// drops (the interface's `txqueuelen`): [`TunConfig::QUEUE_LEN`] by
    /// default, where the kernel's own default for a TUN or TAP device is
    /// 500. A burst, or a flood while the stack's thread waits for a CPU,
    /// then waits in the queue instead of being dropped with the
    /// legitimate frames in it: 16,384 frames are about 65 ms at 250,000
    /// frames a second. What a TCP connection can queue there is bounded
    /// by the window berth advertises it; full of small frames, the
    /// queue holds about 16 MiB of kernel memory (more with large
    /// offloaded segments).
    pub queue_len: usize,
}

impl TunConfig {
    /// The default [`TunConfig::queue_len`].
    pub const QUEUE_LEN: usize = 16_384;

    /// A device named `name` with IP MTU `mtu`, no offloads, a queue of
    /// [`TunConfig::QUEUE_LEN`] frames.
    pub fn new(name: &str, mtu: usize) -> Self {
        Self {
            name: name.to_owned(),
            mtu,
            offload: false,
            queue_len: Self::QUEUE_LEN,
        }
    }

    /// Sets the kernel's queue length (see [`TunConfig::queue_len`]).
    pub fn with_queue_len(mut self, queue_len: usize) -> Self {
        self.queue_len = queue_len;
        self
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
    offload: bool,
}

/// The longest packet the kernel hands over with offloads: an IPv6 packet
/// with a full 16-bit payload.
const OFFLOAD_RECV_CAPACITY: usize = 40 + 65535;
/// The longest packet we hand the kernel to split: IPv4's limit.
const OFFLOAD_TSO_MAX: usize = 65535;

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
        sys.set_queue_len(config.queue_len)?;
        Ok(Self {
            sys,
            mtu: config.mtu,
            offload: config.offload,
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

impl TunDevice {
    /// Reads one packet, with its virtio-net header when offloads are on.
    fn read_offloaded(
        &mut self,
        buf: &mut [u8],
    ) -> io::Result<Option<(usize, Option<vnet::VnetHeader>)>> {
        if !self.offload {
            return Ok(self.sys.read(buf)?.map(|n| (n, None)));
        }
        let mut hdr = [0u8; vnet::HEADER_LEN];
        let n = {
            let mut parts = [io::IoSliceMut::new(&mut hdr), io::IoSliceMut::new(buf)];
            match self.sys.read_vectored(&mut parts)? {
                Some(n) => n,
                None => return Ok(None),
            }
        };
        let len = n.saturating_sub(vnet::HEADER_LEN);
        Ok(Some((len, Some(vnet::VnetHeader::parse(&hdr)))))
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
        let Some((len, h)) = self.read_offloaded(buf)? else {
            return Ok(None);
        };
        if let Some(h) = h.filter(|h| h.flags & vnet::F_NEEDS_CSUM != 0)
            && let Some(packet) = buf.get_mut(..len)
        {
            // The kernel's own packet, never on a wire: it left the sum to us.
            vnet::complete_checksum(packet, h.csum_start, h.csum_offset);
        }
        Ok(Some(len))
    }

    fn recv_frame(&mut self, buf: &mut [u8]) -> io::Result<Option<Received>> {
        Ok(self.read_offloaded(buf)?.map(|(len, h)| Received {
            len,
            // Partial (NEEDS_CSUM) or already checked (DATA_VALID): the
            // kernel's word for it either way.
            checksum_vouched: h
                .is_some_and(|h| h.flags & (vnet::F_NEEDS_CSUM | vnet::F_DATA_VALID) != 0),
        }))
    }

    fn send(&mut self, frame: &[u8]) -> io::Result<bool> {
        if !self.offload {
            return self.sys.write(frame);
        }
        // A whole packet, fully checksummed: nothing for the kernel to do.
        let hdr = vnet::VnetHeader {
            gso_type: vnet::GSO_NONE,
            ..vnet::VnetHeader::default()
        }
        .to_bytes();
        self.sys
            .write_vectored(&[io::IoSlice::new(&hdr), io::IoSlice::new(frame)])
    }

    fn recv_capacity(&self) -> usize {
        if self.offload {
            OFFLOAD_RECV_CAPACITY
        } else {
            self.mtu
        }
    }

    fn tso_max(&self) -> usize {
        if self.offload { OFFLOAD_TSO_MAX } else { 0 }
    }

    fn send_tcp_segments(&mut self, packet: &[u8], seg_payload: u16) -> io::Result<bool> {
        if !self.offload {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "TSO needs a TUN device opened with offloads",
            ));
        }
        let hdr = vnet::VnetHeader::for_tcp_segments(packet, seg_payload).ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "not an IPv4/IPv6 TCP packet")
        })?;
        self.sys
            .write_vectored(&[io::IoSlice::new(&hdr.to_bytes()), io::IoSlice::new(packet)])
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
    fn offload_is_refused_on_tap() {
        let config = TunConfig::new("berth-off", 1500).with_offload(true);
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
