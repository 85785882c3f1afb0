//! An in-memory IP link: two [`ChannelDevice`]s joined like the two ends of
//! a cable, built on a `UnixDatagram` socket pair so that frame boundaries
//! are kept and each end has a pollable descriptor.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixDatagram;

use crate::{Device, Medium};

/// One end of an in-memory link.
#[derive(Debug)]
pub struct ChannelDevice {
    socket: UnixDatagram,
    mtu: usize,
    medium: Medium,
}

impl ChannelDevice {
    /// Two joined ends carrying frames of up to `mtu` bytes.
    pub fn pair(mtu: usize, medium: Medium) -> io::Result<(Self, Self)> {
        let (a, b) = UnixDatagram::pair()?;
        a.set_nonblocking(true)?;
        b.set_nonblocking(true)?;
        Ok((
            Self {
                socket: a,
                mtu,
                medium,
            },
            Self {
                socket: b,
                mtu,
                medium,
            },
        ))
    }
}

impl Device for ChannelDevice {
    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        match self.socket.recv(buf) {
            Ok(n) => Ok(Some(n)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn send(&mut self, frame: &[u8]) -> io::Result<bool> {
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
}
