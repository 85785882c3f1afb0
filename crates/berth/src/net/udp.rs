//! [`UdpSocket`], as in `std::net`.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::socket::{SocketRef, check_timeout};
use super::{ToSocketAddrs, each_addr, first_addr};
use crate::NetStack;
use crate::error::to_io_error;
use berth_core::stack::{Datagram, UdpPayload};

/// A UDP socket. A datagram longer than the MTU leaves in IP fragments;
/// one longer than IP allows (65,507 bytes of data over IPv4, 65,527 over
/// IPv6) fails with `InvalidInput`.
///
/// # Examples
///
/// ```
/// # use berth::NetStack;
/// # use berth_device::{channel::ChannelDevice, Medium};
/// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
/// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
/// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
/// use berth::net::UdpSocket;
///
/// let echo = UdpSocket::bind(&server, "198.18.0.2:7")?;
/// let socket = UdpSocket::bind(&client, "0.0.0.0:0")?;
/// socket.send_to(b"ping", "198.18.0.2:7")?;
/// let mut buf = [0; 1500];
/// let (n, from) = echo.recv_from(&mut buf)?;
/// echo.send_to(&buf[..n], from)?;
/// let (n, from) = socket.recv_from(&mut buf)?;
/// assert_eq!((&buf[..n], from), (&b"ping"[..], "198.18.0.2:7".parse().unwrap()));
/// # std::io::Result::Ok(())
/// ```
pub struct UdpSocket {
    pub(crate) sock: Arc<SocketRef>,
    pub(crate) peer: Arc<Mutex<Option<SocketAddr>>>,
}

impl UdpSocket {
    /// Binds to `addr`; port 0 picks an ephemeral port.
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use std::io::ErrorKind;
    /// use berth::net::UdpSocket;
    ///
    /// let dns = UdpSocket::bind(&server, "198.18.0.2:53")?;
    /// let any = UdpSocket::bind(&server, "0.0.0.0:0")?; // any address, a free port
    /// assert_ne!(any.local_addr()?.port(), 0);
    /// let e = UdpSocket::bind(&server, "198.18.0.2:53").unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::AddrInUse);
    /// # std::io::Result::Ok(())
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use berth::net::UdpSocket;
    ///
    /// let server_socket = UdpSocket::bind(&server, "198.18.0.2:9")?;
    /// let socket = UdpSocket::bind(&client, "198.18.0.1:0")?;
    /// assert_eq!(socket.send_to(b"hello", "198.18.0.2:9")?, 5);
    /// let mut buf = [0; 16];
    /// assert_eq!(server_socket.recv_from(&mut buf)?.0, 5);
    /// # std::io::Result::Ok(())
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use berth::net::UdpSocket;
    ///
    /// let server_socket = UdpSocket::bind(&server, "198.18.0.2:9")?;
    /// let socket = UdpSocket::bind(&client, "198.18.0.1:5000")?;
    /// socket.send_to(b"a longer datagram", "198.18.0.2:9")?;
    /// let mut small = [0; 8];
    /// let (n, from) = server_socket.recv_from(&mut small)?; // waits for one
    /// assert_eq!(&small[..n], b"a longer"); // the rest is dropped, as with std
    /// assert_eq!(from, "198.18.0.1:5000".parse().unwrap());
    /// # std::io::Result::Ok(())
    /// ```
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let h = self.sock.handle;
        let timeout = self.sock.opts().read_timeout;
        let d = self.sock.wait(timeout, |s, _| s.udp_recv_datagram(h))?;
        Ok((copy_datagram(buf, &d), d.from))
    }

    /// Receives one datagram (truncated to `buf`) and its sender, leaving
    /// it queued: the next peek or receive returns it again (`MSG_PEEK`).
    /// Waits like `recv_from`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use berth::net::UdpSocket;
    ///
    /// let server_socket = UdpSocket::bind(&server, "198.18.0.2:9")?;
    /// let socket = UdpSocket::bind(&client, "198.18.0.1:0")?;
    /// socket.send_to(b"first", "198.18.0.2:9")?;
    /// let mut buf = [0; 16];
    /// let (n, from) = server_socket.peek_from(&mut buf)?;
    /// assert_eq!(&buf[..n], b"first");
    /// assert_eq!(server_socket.recv_from(&mut buf)?, (n, from)); // the same one
    /// # std::io::Result::Ok(())
    /// ```
    pub fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let h = self.sock.handle;
        let timeout = self.sock.opts().read_timeout;
        let d = self.sock.wait(timeout, |s, _| s.udp_peek_datagram(h))?;
        Ok((copy_datagram(buf, &d), d.from))
    }

    /// Sends to and receives from `addr` only.
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use berth::net::UdpSocket;
    ///
    /// let server_socket = UdpSocket::bind(&server, "198.18.0.2:9")?;
    /// let socket = UdpSocket::bind(&client, "0.0.0.0:0")?;
    /// socket.connect("198.18.0.2:9")?;
    /// assert_eq!(socket.peer_addr()?, "198.18.0.2:9".parse().unwrap());
    /// socket.send(b"to the connected peer")?;
    /// let mut buf = [0; 64];
    /// let (n, from) = server_socket.recv_from(&mut buf)?;
    /// server_socket.send_to(&buf[..n], from)?;
    /// assert_eq!(socket.recv(&mut buf)?, n); // only the peer's datagrams come
    /// # std::io::Result::Ok(())
    /// ```
    pub fn connect(&self, addr: impl ToSocketAddrs) -> io::Result<()> {
        let h = self.sock.handle;
        each_addr(addr, |addr| {
            self.sock.call(|s, _| s.udp_connect(h, addr))?;
            *self.peer.lock().unwrap_or_else(|p| p.into_inner()) = Some(addr);
            Ok(())
        })
    }

    /// Sends to the connected peer.
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use std::io::ErrorKind;
    /// use berth::net::UdpSocket;
    ///
    /// let _sink = UdpSocket::bind(&server, "198.18.0.2:9")?;
    /// let socket = UdpSocket::bind(&client, "0.0.0.0:0")?;
    /// assert_eq!(socket.send(b"x").unwrap_err().kind(), ErrorKind::NotConnected);
    /// socket.connect("198.18.0.2:9")?;
    /// assert_eq!(socket.send(b"x")?, 1);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        let h = self.sock.handle;
        let timeout = self.sock.opts().write_timeout;
        let mut payload = UdpPayload::new(buf);
        self.sock
            .wait_out(timeout, |s, _| s.udp_send_payload(h, &mut payload))
    }

    /// Receives from the connected peer.
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use berth::net::UdpSocket;
    ///
    /// let server_socket = UdpSocket::bind(&server, "198.18.0.2:9")?;
    /// let socket = UdpSocket::bind(&client, "198.18.0.1:4000")?;
    /// socket.connect("198.18.0.2:9")?;
    /// server_socket.send_to(b"reply", "198.18.0.1:4000")?;
    /// let mut buf = [0; 16];
    /// let n = socket.recv(&mut buf)?;
    /// assert_eq!(&buf[..n], b"reply");
    /// # std::io::Result::Ok(())
    /// ```
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.recv_from(buf).map(|(n, _)| n)
    }

    /// Receives the next datagram from the connected peer without taking
    /// it off the queue (see [`peek_from`](Self::peek_from)).
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use berth::net::UdpSocket;
    ///
    /// let server_socket = UdpSocket::bind(&server, "198.18.0.2:9")?;
    /// let socket = UdpSocket::bind(&client, "198.18.0.1:4000")?;
    /// socket.connect("198.18.0.2:9")?;
    /// server_socket.send_to(b"reply", "198.18.0.1:4000")?;
    /// let mut buf = [0; 16];
    /// let n = socket.peek(&mut buf)?;
    /// assert_eq!(socket.recv(&mut buf)?, n); // still there
    /// # std::io::Result::Ok(())
    /// ```
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.peek_from(buf).map(|(n, _)| n)
    }

    /// The local address.
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// let socket = berth::net::UdpSocket::bind(&client, "198.18.0.1:0")?;
    /// let addr = socket.local_addr()?;
    /// assert_eq!(addr.ip().to_string(), "198.18.0.1");
    /// assert_ne!(addr.port(), 0);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        let h = self.sock.handle;
        self.sock.call(|s, _| s.local_addr(h))
    }

    /// Sets the TTL (IPv4) or hop limit (IPv6) of this socket's packets
    /// (`IP_TTL`): 1 to 255, else `InvalidInput`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// let socket = berth::net::UdpSocket::bind(&client, "0.0.0.0:0")?;
    /// assert_eq!(socket.ttl()?, 64);
    /// socket.set_ttl(1)?; // one hop: the local network only
    /// assert_eq!(socket.ttl()?, 1);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.sock.set_ttl(ttl)
    }

    /// The TTL of this socket's packets (64 unless set).
    pub fn ttl(&self) -> io::Result<u32> {
        self.sock.ttl()
    }

    /// The connected peer.
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use std::io::ErrorKind;
    /// let socket = berth::net::UdpSocket::bind(&client, "0.0.0.0:0")?;
    /// assert_eq!(socket.peer_addr().unwrap_err().kind(), ErrorKind::NotConnected);
    /// socket.connect("198.18.0.2:53")?;
    /// assert_eq!(socket.peer_addr()?, "198.18.0.2:53".parse().unwrap());
    /// # std::io::Result::Ok(())
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.peer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotConnected, "not connected"))
    }

    /// Bounds how long `recv`/`recv_from`/`peek` wait (`None`: for
    /// ever); expiry is `WouldBlock`. A zero duration is `InvalidInput`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use std::io::ErrorKind;
    /// use std::time::Duration;
    ///
    /// let socket = berth::net::UdpSocket::bind(&client, "0.0.0.0:0")?;
    /// socket.set_read_timeout(Some(Duration::from_millis(20)))?;
    /// assert_eq!(socket.read_timeout()?, Some(Duration::from_millis(20)));
    /// let e = socket.recv_from(&mut [0; 16]).unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::WouldBlock); // as std on Unix
    /// # std::io::Result::Ok(())
    /// ```
    pub fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        check_timeout(t)?;
        self.sock.set_opts(|o| o.read_timeout = t);
        Ok(())
    }

    /// Bounds how long a send waits for room.
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use std::time::Duration;
    ///
    /// let socket = berth::net::UdpSocket::bind(&client, "0.0.0.0:0")?;
    /// socket.set_write_timeout(Some(Duration::from_millis(100)))?;
    /// assert_eq!(socket.write_timeout()?, Some(Duration::from_millis(100)));
    /// # std::io::Result::Ok(())
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use std::io::ErrorKind;
    /// use berth::net::UdpSocket;
    ///
    /// let socket = UdpSocket::bind(&client, "0.0.0.0:0")?;
    /// socket.connect("198.18.0.2:9")?; // nobody listens there
    /// socket.send(b"anyone?")?;
    /// // The ICMP port unreachable comes back as ConnectionRefused, once:
    /// let e = socket.recv(&mut [0; 16]).unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::ConnectionRefused);
    /// assert!(socket.take_error()?.is_none()); // already reported
    /// # std::io::Result::Ok(())
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        let h = self.sock.handle;
        Ok(self.sock.call(|s, _| s.udp_take_error(h))?.map(to_io_error))
    }

    /// Allows sending to the broadcast address 255.255.255.255
    /// (`SO_BROADCAST`); without it such a send or connect fails with
    /// `PermissionDenied`, as on Linux.
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use std::io::ErrorKind;
    /// let socket = berth::net::UdpSocket::bind(&client, "0.0.0.0:0")?;
    /// let e = socket.send_to(b"hello?", "255.255.255.255:67").unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::PermissionDenied);
    /// socket.set_broadcast(true)?;
    /// assert!(socket.broadcast()?);
    /// socket.send_to(b"hello?", "255.255.255.255:67")?;
    /// # std::io::Result::Ok(())
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use std::io::ErrorKind;
    /// let socket = berth::net::UdpSocket::bind(&client, "0.0.0.0:0")?;
    /// socket.set_nonblocking(true)?;
    /// let e = socket.recv_from(&mut [0; 16]).unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::WouldBlock);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.sock.set_opts(|o| o.nonblocking = nonblocking);
        Ok(())
    }

    /// Another handle to the same socket.
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use berth::net::UdpSocket;
    ///
    /// let server_socket = UdpSocket::bind(&server, "198.18.0.2:9")?;
    /// let socket = UdpSocket::bind(&client, "198.18.0.1:4000")?;
    /// let receiver = socket.try_clone()?;
    /// let t = std::thread::spawn(move || {
    ///     let mut buf = [0; 16];
    ///     receiver.recv_from(&mut buf).map(|(n, _)| n)
    /// });
    /// socket.send_to(b"ping", "198.18.0.2:9")?;
    /// let (n, from) = server_socket.recv_from(&mut [0; 16])?;
    /// server_socket.send_to(b"pong", from)?;
    /// assert_eq!(t.join().unwrap()?, 4);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn try_clone(&self) -> io::Result<Self> {
        Ok(Self {
            sock: self.sock.clone(),
            peer: self.peer.clone(),
        })
    }

    /// Joins the IPv4 multicast group `multiaddr` (`IP_ADD_MEMBERSHIP`) on
    /// the interface whose address is `interface`: `0.0.0.0` or one of
    /// the stack's addresses, which all name its one device. The first
    /// socket of the stack to join a group sends an IGMPv3 Report (RFC
    /// 3376). From then on the group's datagrams to this socket's port
    /// arrive here, and at every other socket of the stack bound to that
    /// port, as on Linux.
    ///
    /// Errors, as Linux's: `InvalidInput` if `multiaddr` is not multicast,
    /// `AddrInUse` if this socket joined it already, `AddrNotAvailable` for
    /// an `interface` that is not the stack's (Linux: ENODEV),
    /// `OutOfMemory` past 20 groups on one socket (ENOBUFS).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::net::Ipv4Addr;
    /// use berth::{NetStack, net::UdpSocket};
    /// use berth_device::{channel::ChannelDevice, Medium};
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// let a = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// let b = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// let group = Ipv4Addr::new(239, 1, 2, 3);
    /// let member = UdpSocket::bind(&a, "0.0.0.0:5000")?;
    /// member.join_multicast_v4(&group, &Ipv4Addr::UNSPECIFIED)?;
    /// let sender = UdpSocket::bind(&b, "0.0.0.0:0")?;
    /// sender.send_to(b"hello, group", (group, 5000))?;
    /// let mut buf = [0; 32];
    /// let (n, from) = member.recv_from(&mut buf)?;
    /// assert_eq!(&buf[..n], b"hello, group");
    /// assert_eq!(from.ip().to_string(), "198.18.0.1");
    /// # Ok(())
    /// # }
    /// ```
    pub fn join_multicast_v4(&self, multiaddr: &Ipv4Addr, interface: &Ipv4Addr) -> io::Result<()> {
        let (h, group, interface) = (self.sock.handle, *multiaddr, *interface);
        self.sock
            .call(|s, now| s.udp_join_multicast_v4(now, h, group, interface))
    }

    /// Joins the IPv6 multicast group `multiaddr` (`IPV6_JOIN_GROUP`) on
    /// interface index `interface`: 0, the stack's one device (another
    /// index is `AddrNotAvailable`; Linux: ENODEV). The first socket of
    /// the stack to join sends an MLDv2 Report (RFC 3810). Errors
    /// otherwise as [`join_multicast_v4`](Self::join_multicast_v4); an IPv4
    /// socket cannot join (`InvalidInput`).
    pub fn join_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()> {
        let (h, group) = (self.sock.handle, *multiaddr);
        self.sock
            .call(|s, now| s.udp_join_multicast_v6(now, h, group, interface))
    }

    /// Leaves the IPv4 group `multiaddr` (`IP_DROP_MEMBERSHIP`):
    /// `AddrNotAvailable` if this socket has not joined it. The last
    /// socket of the stack to leave sends an IGMPv3 Report. Closing the
    /// socket leaves its groups too.
    pub fn leave_multicast_v4(&self, multiaddr: &Ipv4Addr, interface: &Ipv4Addr) -> io::Result<()> {
        let (h, group, interface) = (self.sock.handle, *multiaddr, *interface);
        self.sock
            .call(|s, now| s.udp_leave_multicast_v4(now, h, group, interface))
    }

    /// Leaves the IPv6 group `multiaddr` (`IPV6_LEAVE_GROUP`):
    /// `AddrNotAvailable` if this socket has not joined it, `InvalidInput`
    /// if it is not multicast (both as Linux).
    pub fn leave_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()> {
        let (h, group) = (self.sock.handle, *multiaddr);
        self.sock
            .call(|s, now| s.udp_leave_multicast_v6(now, h, group, interface))
    }

    /// Whether this socket's datagrams to an IPv4 group the stack joined
    /// are delivered to the stack's own sockets too (`IP_MULTICAST_LOOP`,
    /// on by default).
    pub fn set_multicast_loop_v4(&self, on: bool) -> io::Result<()> {
        let h = self.sock.handle;
        self.sock
            .call(|s, _| s.udp_set_multicast_loop(h, false, on))
    }

    /// `IP_MULTICAST_LOOP`.
    pub fn multicast_loop_v4(&self) -> io::Result<bool> {
        let h = self.sock.handle;
        self.sock.call(|s, _| s.udp_multicast_loop(h, false))
    }

    /// `IPV6_MULTICAST_LOOP`, as [`set_multicast_loop_v4`](Self::set_multicast_loop_v4)
    /// for IPv6 groups (on by default).
    pub fn set_multicast_loop_v6(&self, on: bool) -> io::Result<()> {
        let h = self.sock.handle;
        self.sock.call(|s, _| s.udp_set_multicast_loop(h, true, on))
    }

    /// `IPV6_MULTICAST_LOOP`.
    pub fn multicast_loop_v6(&self) -> io::Result<bool> {
        let h = self.sock.handle;
        self.sock.call(|s, _| s.udp_multicast_loop(h, true))
    }

    /// The TTL of this socket's datagrams to IPv4 groups
    /// (`IP_MULTICAST_TTL`): 0 to 255, 1 by default so that they stay on
    /// the link; 0 keeps them on this stack (its own sockets get them
    /// through the loop). Above 255 is `InvalidInput`. IPv6 datagrams to
    /// a group leave with hop limit 1 (Linux's `IPV6_MULTICAST_HOPS`
    /// default; std has no setter for it).
    pub fn set_multicast_ttl_v4(&self, ttl: u32) -> io::Result<()> {
        let h = self.sock.handle;
        self.sock.call(|s, _| s.udp_set_multicast_ttl(h, ttl))
    }

    /// `IP_MULTICAST_TTL` (1 unless set).
    pub fn multicast_ttl_v4(&self) -> io::Result<u32> {
        let h = self.sock.handle;
        self.sock.call(|s, _| s.udp_multicast_ttl(h))
    }
}

/// Transparent datagrams, for proxies (the tun2socks pattern).
impl UdpSocket {
    /// A transparent (catch-all) socket: it receives datagrams to ANY
    /// address and port that no other socket of `stack` claims. Read them
    /// with [`UdpSocket::recv_from_orig`] and answer with
    /// [`UdpSocket::send_from`]. One per stack (`AddrInUse` otherwise).
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use berth::net::UdpSocket;
    ///
    /// let catch_all = UdpSocket::bind_transparent(&server)?;
    /// let socket = UdpSocket::bind(&client, "198.18.0.1:5353")?;
    /// socket.send_to(b"query", "198.19.8.8:53")?; // not an address of the server's
    /// let mut buf = [0; 512];
    /// let (n, from, to) = catch_all.recv_from_orig(&mut buf)?;
    /// assert_eq!((from, to), ("198.18.0.1:5353".parse().unwrap(), "198.19.8.8:53".parse().unwrap()));
    /// // The answer comes from the address the client asked.
    /// catch_all.send_from(b"answer", to, from)?;
    /// let (n, answered_by) = socket.recv_from(&mut buf)?;
    /// assert_eq!(answered_by, "198.19.8.8:53".parse().unwrap());
    /// # std::io::Result::Ok(())
    /// ```
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
    /// [`bind_transparent`](Self::bind_transparent) has an example.
    pub fn recv_from_orig(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr, SocketAddr)> {
        let h = self.sock.handle;
        let timeout = self.sock.opts().read_timeout;
        let d = self.sock.wait(timeout, |s, _| s.udp_recv_datagram(h))?;
        Ok((copy_datagram(buf, &d), d.from, d.to))
    }

    /// Sends one datagram from `from` (an original destination) to `to`;
    /// only on a transparent socket (`InvalidInput` otherwise).
    /// [`bind_transparent`](Self::bind_transparent) has an example.
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
