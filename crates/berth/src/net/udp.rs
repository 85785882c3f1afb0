//! [`UdpSocket`], as in `std::net`.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::socket::{SocketRef, check_timeout};
use super::{ToSocketAddrs, each_addr, first_addr};
use crate::NetStack;
use crate::error::to_io_error;
use berth_core::stack::{Datagram, UdpPayload};

/// A UDP socket.
pub struct UdpSocket {
    pub(crate) sock: Arc<SocketRef>,
    pub(crate) peer: Arc<Mutex<Option<SocketAddr>>>,
}

impl UdpSocket {
    /// Binds to `addr`; port 0 picks an ephemeral port.
    pub fn bind(stack: &NetStack, addr: impl ToSocketAddrs) -> io::Result<Self> {
        // Each address in turn, as std does.
        each_addr(addr, |addr| {
            let shared = stack.shared.clone();
            let h = shared.lock().stack.udp_bind(addr).map_err(to_io_error)?;
            Ok(Self {
                sock: SocketRef::new(shared, h),
                peer: Arc::new(Mutex::new(None)),
            })
        })
    }

    /// Sends one datagram to `addr`.
    pub fn send_to(&self, buf: &[u8], addr: impl ToSocketAddrs) -> io::Result<usize> {
        let addr = first_addr(addr)?;
        let h = self.sock.handle;
        let timeout = self.sock.opts().write_timeout;
        // The copy happens here, without the stack's lock.
        let mut payload = UdpPayload::new(buf);
        self.sock
            .wait_out(timeout, |s, _| s.udp_send_payload_to(h, &mut payload, addr))
    }

    /// Receives one datagram (truncated to `buf`) and its sender.
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let h = self.sock.handle;
        let timeout = self.sock.opts().read_timeout;
        let d = self.sock.wait(timeout, |s, _| s.udp_recv_datagram(h))?;
        Ok((copy_datagram(buf, &d), d.from))
    }

    /// Receives one datagram (truncated to `buf`) and its sender, leaving
    /// it queued: the next peek or receive returns it again (`MSG_PEEK`).
    /// Waits like `recv_from`.
    pub fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let h = self.sock.handle;
        let timeout = self.sock.opts().read_timeout;
        let d = self.sock.wait(timeout, |s, _| s.udp_peek_datagram(h))?;
        Ok((copy_datagram(buf, &d), d.from))
    }

    /// Sends to and receives from `addr` only.
    pub fn connect(&self, addr: impl ToSocketAddrs) -> io::Result<()> {
        let h = self.sock.handle;
        each_addr(addr, |addr| {
            self.sock.call(|s, _| s.udp_connect(h, addr))?;
            *self.peer.lock().unwrap_or_else(|p| p.into_inner()) = Some(addr);
            Ok(())
        })
    }

    /// Sends to the connected peer.
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        let h = self.sock.handle;
        let timeout = self.sock.opts().write_timeout;
        let mut payload = UdpPayload::new(buf);
        self.sock
            .wait_out(timeout, |s, _| s.udp_send_payload(h, &mut payload))
    }

    /// Receives from the connected peer.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.recv_from(buf).map(|(n, _)| n)
    }

    /// Receives the next datagram from the connected peer without taking
    /// it off the queue (see [`peek_from`](Self::peek_from)).
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.peek_from(buf).map(|(n, _)| n)
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        let h = self.sock.handle;
        self.sock.call(|s, _| s.local_addr(h))
    }

    /// Sets the TTL (IPv4) or hop limit (IPv6) of this socket's packets
    /// (`IP_TTL`): 1 to 255, else `InvalidInput`.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.sock.set_ttl(ttl)
    }

    /// The TTL of this socket's packets (64 unless set).
    pub fn ttl(&self) -> io::Result<u32> {
        self.sock.ttl()
    }

    /// The connected peer.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.peer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotConnected, "not connected"))
    }

    /// Bounds how long `recv`/`recv_from`/`peek` wait (`None`: for
    /// ever); expiry is `WouldBlock`. A zero duration is `InvalidInput`.
    pub fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        check_timeout(t)?;
        self.sock.set_opts(|o| o.read_timeout = t);
        Ok(())
    }

    /// Bounds how long a send waits for room.
    pub fn set_write_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        check_timeout(t)?;
        self.sock.set_opts(|o| o.write_timeout = t);
        Ok(())
    }

    /// The read timeout (`None`: receives wait for ever).
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.sock.opts().read_timeout)
    }

    /// The write timeout (`None`: sends wait for ever).
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.sock.opts().write_timeout)
    }

    /// The pending error (an ICMP error about the connected peer), once,
    /// as `SO_ERROR`: it is then gone, as if a send or receive had
    /// reported it.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        let h = self.sock.handle;
        Ok(self.sock.call(|s, _| s.udp_take_error(h))?.map(to_io_error))
    }

    /// Allows sending to the broadcast address 255.255.255.255
    /// (`SO_BROADCAST`); without it such a send or connect fails with
    /// `PermissionDenied`, as on Linux.
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        let h = self.sock.handle;
        self.sock.call(|s, _| s.udp_set_broadcast(h, on))
    }

    /// Whether `SO_BROADCAST` is on.
    pub fn broadcast(&self) -> io::Result<bool> {
        let h = self.sock.handle;
        self.sock.call(|s, _| s.udp_broadcast(h))
    }

    /// Makes calls return `WouldBlock` instead of waiting.
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.sock.set_opts(|o| o.nonblocking = nonblocking);
        Ok(())
    }

    /// Another handle to the same socket.
    pub fn try_clone(&self) -> io::Result<Self> {
        Ok(Self {
            sock: self.sock.clone(),
            peer: self.peer.clone(),
        })
    }
}

/// Transparent datagrams, for proxies (the tun2socks pattern).
impl UdpSocket {
    /// A transparent (catch-all) socket: it receives datagrams to ANY
    /// address and port that no other socket of `stack` claims. Read them
    /// with [`UdpSocket::recv_from_orig`] and answer with
    /// [`UdpSocket::send_from`]. One per stack (`AddrInUse` otherwise).
    pub fn bind_transparent(stack: &NetStack) -> io::Result<Self> {
        let shared = stack.shared.clone();
        let h = shared
            .lock()
            .stack
            .udp_bind_transparent()
            .map_err(to_io_error)?;
        Ok(Self {
            sock: SocketRef::new(shared, h),
            peer: Arc::new(Mutex::new(None)),
        })
    }

    /// Receives one datagram (truncated to `buf`): its length, its sender,
    /// and the address and port it was sent to (the original destination).
    pub fn recv_from_orig(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr, SocketAddr)> {
        let h = self.sock.handle;
        let timeout = self.sock.opts().read_timeout;
        let d = self.sock.wait(timeout, |s, _| s.udp_recv_datagram(h))?;
        Ok((copy_datagram(buf, &d), d.from, d.to))
    }

    /// Sends one datagram from `from` (an original destination) to `to`;
    /// only on a transparent socket (`InvalidInput` otherwise).
    pub fn send_from(&self, buf: &[u8], from: SocketAddr, to: SocketAddr) -> io::Result<usize> {
        let h = self.sock.handle;
        let timeout = self.sock.opts().write_timeout;
        let mut payload = UdpPayload::new(buf);
        self.sock.wait_out(timeout, |s, _| {
            s.udp_send_payload_from(h, &mut payload, from, to)
        })
    }
}

/// `UdpSocket { local: 198.18.0.1:5353, peer: 198.18.0.2:53 }` (`peer`
/// only when connected); the handle once the stack no longer has it.
impl std::fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let peer = *self.peer.lock().unwrap_or_else(|p| p.into_inner());
        self.sock.fmt_debug(f, "UdpSocket", peer)
    }
}

/// Copies a received datagram into `buf`, truncated to fit (the rest is
/// dropped, as std does), outside the stack's lock.
pub(crate) fn copy_datagram(buf: &mut [u8], d: &Datagram) -> usize {
    crate::pipe::copy_prefix(buf, &d.data)
}
