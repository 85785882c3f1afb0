//! An in-memory IP link: two [`ChannelDevice`]s joined like the two ends of
//! a cable, built on a `UnixDatagram` socket pair so that frame boundaries
//! are kept and each end has a pollable descriptor.
//!
//! [`ChannelDevice::pair_offloaded`] makes a link that carries long TCP
//! segments whole, as two virtual NICs with TSO and GRO would (or the
//! kernel's loopback with its 64 KiB MTU): a segment handed to
//! [`Device::send_tcp_segments`], long or not, crosses as one datagram,
//! its checksum left to the receiving end, which reports it vouched for
//! ([`Device::recv_frame`]) or completes it ([`Device::recv`]). Each
//! datagram then ends with one tag byte saying which it is.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixDatagram;

use crate::{Device, Medium, Received, vnet};

/// The tag of a whole, checksummed packet on an offloading link.
const WHOLE: u8 = 0;
/// The tag of a TCP segment whose checksum holds the pseudo-header sum.
const PARTIAL: u8 = 1;
/// The longest IP packet an offloading link carries.
const OFFLOAD_MAX: usize = 65535;

/// One end of an in-memory link.
#[derive(Debug)]
pub struct ChannelDevice {
    socket: UnixDatagram,
    mtu: usize,
    medium: Medium,
    /// Long TCP segments cross whole (see the module documentation).
    offload: bool,
    /// Where a tagged datagram is put together.
    scratch: Vec<u8>,
}

impl ChannelDevice {
    /// Two joined ends carrying frames of up to `mtu` bytes.
    pub fn pair(mtu: usize, medium: Medium) -> io::Result<(Self, Self)> {
        Self::pair_with(mtu, medium, false)
    }

    /// Two joined ends of an IP link that carries long TCP segments whole
    /// (up to 64 KiB), with checksums left to the receiver.
    pub fn pair_offloaded(mtu: usize) -> io::Result<(Self, Self)> {
        Self::pair_with(mtu, Medium::Ip, true)
    }

    fn pair_with(mtu: usize, medium: Medium, offload: bool) -> io::Result<(Self, Self)> {
        let (a, b) = UnixDatagram::pair()?;
        a.set_nonblocking(true)?;
        b.set_nonblocking(true)?;
        let end = |socket| Self {
            socket,
            mtu,
            medium,
            offload,
            scratch: Vec::new(),
        };
        Ok((end(a), end(b)))
    }

    fn send_raw(&mut self, frame: &[u8]) -> io::Result<bool> {
        match self.socket.send(frame) {
            Ok(_) => Ok(true),
            // The peer's queue is full (or the peer is gone): the frame is
            // lost, as on a congested or unplugged link.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::ConnectionRefused
                        | io::ErrorKind::NotConnected
                ) =>
            {
                Ok(false)
            }
            Err(e) if e.raw_os_error() == Some(105) => Ok(false), // ENOBUFS
            Err(e) => Err(e),
        }
    }

    /// Sends `packet` followed by its tag.
    fn send_tagged(&mut self, packet: &[u8], tag: u8) -> io::Result<bool> {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        scratch.extend_from_slice(packet);
        scratch.push(tag);
        let sent = self.send_raw(&scratch);
        self.scratch = scratch;
        sent
    }

    /// Reads one datagram: the packet's length and, on an offloading link,
    /// whether it is a TCP segment with its checksum left undone.
    fn recv_tagged(&mut self, buf: &mut [u8]) -> io::Result<Option<(usize, bool)>> {
        let n = match self.socket.recv(buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
            Err(e) => return Err(e),
        };
        if !self.offload {
            return Ok(Some((n, false)));
        }
        let Some(len) = n.checked_sub(1) else {
            return Ok(Some((0, false)));
        };
        Ok(Some((len, buf.get(len) == Some(&PARTIAL))))
    }
}

impl Device for ChannelDevice {
    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        let Some((len, partial)) = self.recv_tagged(buf)? else {
            return Ok(None);
        };
        if partial && let Some(packet) = buf.get_mut(..len) {
            vnet::complete_tcp_checksum(packet);
        }
        Ok(Some(len))
    }

    fn recv_frame(&mut self, buf: &mut [u8]) -> io::Result<Option<Received>> {
        Ok(self.recv_tagged(buf)?.map(|(len, partial)| Received {
            len,
            checksum_vouched: partial,
        }))
    }

    fn send(&mut self, frame: &[u8]) -> io::Result<bool> {
        if self.offload {
            return self.send_tagged(frame, WHOLE);
        }
        self.send_raw(frame)
    }

    fn recv_capacity(&self) -> usize {
        if self.offload {
            OFFLOAD_MAX + 40 + 1
        } else {
            self.mtu
        }
    }

    fn tso_max(&self) -> usize {
        if self.offload { OFFLOAD_MAX } else { 0 }
    }

    fn send_tcp_segments(&mut self, packet: &[u8], _seg_payload: u16) -> io::Result<bool> {
        if !self.offload {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "this link was made without offloads",
            ));
        }
        self.send_tagged(packet, PARTIAL)
    }

    fn mtu(&self) -> usize {
        self.mtu
    }

    fn medium(&self) -> Medium {
        self.medium
    }

    fn raw_fd(&self) -> Option<RawFd> {
        Some(self.socket.as_raw_fd())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_cross_intact_and_empty_reads_do_not_block() {
        let (mut a, mut b) = ChannelDevice::pair(1500, Medium::Ip).unwrap();
        let mut buf = [0u8; 1500];
        assert_eq!(b.recv(&mut buf).unwrap(), None);
        assert!(a.send(b"one").unwrap());
        assert!(a.send(&[7u8; 1500]).unwrap());
        assert_eq!(b.recv(&mut buf).unwrap(), Some(3));
        assert_eq!(&buf[..3], b"one");
        assert_eq!(b.recv(&mut buf).unwrap(), Some(1500));
        assert_eq!(b.recv(&mut buf).unwrap(), None);
        assert!(b.raw_fd().is_some());
    }

    /// A TCP segment with its checksum left undone (a long one here)
    /// crosses whole: vouched for by `recv_frame`, its checksum completed by
    /// `recv`; whole packets cross unchanged.
    #[test]
    fn an_offloaded_link_carries_long_segments_whole() {
        let (mut a, mut b) = ChannelDevice::pair_offloaded(1500).unwrap();
        assert_eq!((a.tso_max(), b.recv_capacity() > 65535), (65535, true));
        // IPv4 (20 bytes) + TCP (20 bytes, checksum 0x1234 as the partial
        // sum) + 3000 bytes of payload.
        let mut long = vec![0u8; 3040];
        long[0] = 0x45;
        long[20 + 12] = 5 << 4;
        long[36..38].copy_from_slice(&0x1234u16.to_be_bytes());
        assert!(a.send_tcp_segments(&long, 1460).unwrap());
        assert!(a.send(b"\x45whole").unwrap());
        let mut buf = vec![0u8; b.recv_capacity()];
        let r = b.recv_frame(&mut buf).unwrap().unwrap();
        assert_eq!((r.len, r.checksum_vouched), (3040, true));
        assert_eq!(&buf[36..38], &[0x12, 0x34], "left as sent");
        let r = b.recv_frame(&mut buf).unwrap().unwrap();
        assert_eq!((r.len, r.checksum_vouched), (6, false));
        assert_eq!(&buf[..6], b"\x45whole");
        // Plain reads complete the sum.
        assert!(a.send_tcp_segments(&long, 1460).unwrap());
        assert_eq!(b.recv(&mut buf).unwrap(), Some(3040));
        assert_ne!(&buf[36..38], &[0x12, 0x34]);
        let mut plain = ChannelDevice::pair(1500, Medium::Ip).unwrap().0;
        assert_eq!(
            plain.send_tcp_segments(&long, 1460).unwrap_err().kind(),
            io::ErrorKind::Unsupported
        );
    }
}
