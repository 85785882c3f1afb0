//! [`UdpSocket`], as in `tokio::net`; peeking is in `peek.rs`, readiness
//! in `readiness.rs`, the traffic class (`set_tos_v4`, `set_tclass_v6`) in
//! `sockopt.rs`.

mod peek;
mod readiness;
mod sockopt;
mod transparent;

use std::future::poll_fn;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};

use tokio::io::ReadBuf;

use crate::NetStack;
use crate::error::to_io_error;
use crate::net::socket::{Direction, SocketRef};
use crate::net::udp::copy_datagram;
use crate::net::{ToSocketAddrs, each_addr, first_addr};
use berth_core::stack::UdpPayload;

/// A UDP socket. All methods take `&self`, so it can be shared between
/// tasks in an `Arc`, as tokio's can.
///
/// # Examples
///
/// ```
/// use berth::{NetStack, tokio_net::UdpSocket};
/// use berth_device::{channel::ChannelDevice, Medium};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
/// let a = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
/// let b = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
/// let server = UdpSocket::bind(&a, "198.18.0.2:7").await?;
/// let client = UdpSocket::bind(&b, "0.0.0.0:0").await?;
/// client.connect("198.18.0.2:7").await?;
/// client.send(b"ping").await?;
/// let mut buf = [0; 16];
/// let (n, from) = server.recv_from(&mut buf).await?;
/// server.send_to(&buf[..n], from).await?;
/// let n = client.recv(&mut buf).await?;
/// assert_eq!(&buf[..n], b"ping");
/// # Ok(())
/// # }
/// ```
pub struct UdpSocket {
    sock: Arc<SocketRef>,
    /// Shared with the blocking socket it came from, if any.
    peer: Arc<Mutex<Option<SocketAddr>>>,
}

impl UdpSocket {
    /// Binds to `addr`; port 0 picks an ephemeral port.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use std::io::ErrorKind;
    /// use berth::tokio_net::UdpSocket;
    ///
    /// let dns = UdpSocket::bind(&server, "198.18.0.2:53").await?;
    /// let any = UdpSocket::bind(&client, "0.0.0.0:0").await?;
    /// assert_ne!(any.local_addr()?.port(), 0);
    /// let e = UdpSocket::bind(&server, "198.18.0.2:53").await.unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::AddrInUse);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn bind(stack: &NetStack, addr: impl ToSocketAddrs) -> io::Result<Self> {
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

    /// An async socket from a blocking one (tokio's `from_std`, with
    /// berth's blocking type). Its timeouts and blocking mode do not apply
    /// to async calls.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use berth::{net, tokio_net};
    ///
    /// let blocking = net::UdpSocket::bind(&client, "0.0.0.0:0")?;
    /// let socket = tokio_net::UdpSocket::from_std(blocking)?;
    /// socket.send_to(b"async now", "198.18.0.2:9").await?;
    /// let blocking = socket.into_std()?; // nonblocking, as tokio's into_std
    /// blocking.set_nonblocking(false)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_std(socket: crate::net::UdpSocket) -> io::Result<Self> {
        Ok(Self {
            sock: socket.sock,
            peer: socket.peer,
        })
    }

    /// The blocking socket, in nonblocking mode like tokio's `into_std`
    /// returns it (`set_nonblocking(false)` to block).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use berth::tokio_net::UdpSocket;
    ///
    /// let socket = UdpSocket::bind(&server, "198.18.0.2:53").await?;
    /// let blocking = socket.into_std()?;
    /// blocking.set_nonblocking(false)?; // nonblocking as it comes
    /// assert_eq!(blocking.local_addr()?, "198.18.0.2:53".parse().unwrap());
    /// # Ok(())
    /// # }
    /// ```
    pub fn into_std(self) -> io::Result<crate::net::UdpSocket> {
        self.sock.set_opts(|o| o.nonblocking = true);
        Ok(crate::net::UdpSocket {
            sock: self.sock,
            peer: self.peer,
        })
    }

    /// Sends to and receives from `addr` only.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use berth::tokio_net::UdpSocket;
    ///
    /// let server_socket = UdpSocket::bind(&server, "198.18.0.2:9").await?;
    /// let socket = UdpSocket::bind(&client, "198.18.0.1:0").await?;
    /// socket.connect("198.18.0.2:9").await?;
    /// assert_eq!(socket.peer_addr()?, "198.18.0.2:9".parse().unwrap());
    /// socket.send(b"hello").await?;
    /// let mut buf = [0; 16];
    /// let (n, from) = server_socket.recv_from(&mut buf).await?;
    /// assert_eq!(from, socket.local_addr()?);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect(&self, addr: impl ToSocketAddrs) -> io::Result<()> {
        let h = self.sock.handle;
        each_addr(addr, |addr| {
            self.sock.call(|s, _| s.udp_connect(h, addr))?;
            *self.peer.lock().unwrap_or_else(|p| p.into_inner()) = Some(addr);
            Ok(())
        })
    }

    /// The pending error (an ICMP error about the connected peer), once,
    /// as `SO_ERROR`: it is then gone, as if a send or receive had
    /// reported it.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use std::io::ErrorKind;
    /// use berth::tokio_net::UdpSocket;
    /// use tokio::io::Interest;
    ///
    /// let socket = UdpSocket::bind(&client, "0.0.0.0:0").await?;
    /// socket.connect("198.18.0.2:9").await?; // nobody listens there
    /// socket.send(b"anyone?").await?;
    /// assert!(socket.ready(Interest::ERROR).await?.is_error()); // the ICMP error came
    /// let e = socket.take_error()?.expect("an error");
    /// assert_eq!(e.kind(), ErrorKind::ConnectionRefused);
    /// assert!(socket.take_error()?.is_none()); // once
    /// # Ok(())
    /// # }
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
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use std::io::ErrorKind;
    /// use berth::tokio_net::UdpSocket;
    ///
    /// let socket = UdpSocket::bind(&client, "0.0.0.0:0").await?;
    /// let e = socket.send_to(b"hello?", "255.255.255.255:67").await.unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::PermissionDenied);
    /// socket.set_broadcast(true)?;
    /// assert!(socket.broadcast()?);
    /// socket.send_to(b"hello?", "255.255.255.255:67").await?;
    /// # Ok(())
    /// # }
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

    /// The local address.
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
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// let socket = berth::tokio_net::UdpSocket::bind(&client, "0.0.0.0:0").await?;
    /// socket.set_ttl(1)?;
    /// assert_eq!(socket.ttl()?, 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.sock.set_ttl(ttl)
    }

    /// The TTL of this socket's packets (64 unless set).
    pub fn ttl(&self) -> io::Result<u32> {
        self.sock.ttl()
    }

    /// The device the socket is bound to: none (a stack has one device).
    pub fn device(&self) -> io::Result<Option<Vec<u8>>> {
        Ok(None)
    }

    /// `SO_BINDTODEVICE`: `None` is what a berth socket is; a device name
    /// fails with `Unsupported` (a stack has one device, and its sockets
    /// use it).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use std::io::ErrorKind;
    /// let socket = berth::tokio_net::UdpSocket::bind(&client, "0.0.0.0:0").await?;
    /// assert_eq!(socket.device()?, None);
    /// let e = socket.bind_device(Some(b"eth0")).unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::Unsupported);
    /// # Ok(())
    /// # }
    /// ```
    pub fn bind_device(&self, interface: Option<&[u8]>) -> io::Result<()> {
        match interface {
            None => Ok(()),
            Some(_) => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "SO_BINDTODEVICE is not supported by berth: a stack has one device",
            )),
        }
    }

    /// The connected peer (`NotConnected` before `connect`).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.peer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotConnected, "not connected"))
    }

    /// Sends one datagram to the connected peer. A datagram larger than the
    /// MTU leaves in IP fragments; one larger than IP allows (65,507 bytes
    /// of data over IPv4, 65,527 over IPv6) fails with `InvalidInput`
    /// (Linux's EMSGSIZE).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use std::io::ErrorKind;
    /// use berth::tokio_net::UdpSocket;
    ///
    /// let _sink = UdpSocket::bind(&server, "198.18.0.2:9").await?;
    /// let socket = UdpSocket::bind(&client, "0.0.0.0:0").await?;
    /// socket.connect("198.18.0.2:9").await?;
    /// assert_eq!(socket.send(&[0; 1400]).await?, 1400);
    /// assert_eq!(socket.send(&[0; 4000]).await?, 4000); // in fragments
    /// let e = socket.send(&vec![0; 70_000]).await.unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::InvalidInput); // longer than IP allows
    /// # Ok(())
    /// # }
    /// ```
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_send(cx, buf)).await
    }

    /// Polls sending one datagram to the connected peer.
    pub fn poll_send(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let h = self.sock.handle;
        let mut payload = UdpPayload::new(buf);
        self.sock.poll_op(cx, Direction::Write, true, |s, _| {
            s.udp_send_payload(h, &mut payload)
        })
    }

    /// Sends without waiting; `WouldBlock` when the stack's output is full.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// let socket = berth::tokio_net::UdpSocket::bind(&client, "0.0.0.0:0").await?;
    /// socket.connect("198.18.0.2:9").await?;
    /// socket.writable().await?;
    /// assert_eq!(socket.try_send(b"now or never")?, 12);
    /// # Ok(())
    /// # }
    /// ```
    pub fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
        let h = self.sock.handle;
        let mut payload = UdpPayload::new(buf);
        self.sock.call(|s, _| s.udp_send_payload(h, &mut payload))
    }

    /// Sends one datagram to `target`.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use berth::tokio_net::UdpSocket;
    ///
    /// let server_socket = UdpSocket::bind(&server, "198.18.0.2:9").await?;
    /// let socket = UdpSocket::bind(&client, "0.0.0.0:0").await?;
    /// assert_eq!(socket.send_to(b"hello", "198.18.0.2:9").await?, 5);
    /// assert_eq!(server_socket.recv_from(&mut [0; 16]).await?.0, 5);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn send_to(&self, buf: &[u8], target: impl ToSocketAddrs) -> io::Result<usize> {
        let target = first_addr(target)?;
        poll_fn(|cx| self.poll_send_to(cx, buf, target)).await
    }

    /// Polls sending one datagram to `target`.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use std::future::poll_fn;
    /// use berth::tokio_net::UdpSocket;
    ///
    /// let socket = UdpSocket::bind(&client, "0.0.0.0:0").await?;
    /// let dest = "198.18.0.2:9".parse().unwrap();
    /// let n = poll_fn(|cx| socket.poll_send_to(cx, b"hello", dest)).await?;
    /// assert_eq!(n, 5);
    /// # Ok(())
    /// # }
    /// ```
    pub fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        let h = self.sock.handle;
        let mut payload = UdpPayload::new(buf);
        self.sock.poll_op(cx, Direction::Write, true, |s, _| {
            s.udp_send_payload_to(h, &mut payload, target)
        })
    }

    /// Sends to `target` without waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// let socket = berth::tokio_net::UdpSocket::bind(&client, "0.0.0.0:0").await?;
    /// socket.writable().await?;
    /// socket.try_send_to(b"hello", "198.18.0.2:9".parse().unwrap())?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn try_send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        let h = self.sock.handle;
        let mut payload = UdpPayload::new(buf);
        self.sock
            .call(|s, _| s.udp_send_payload_to(h, &mut payload, target))
    }

    /// Receives one datagram from the connected peer; a datagram longer
    /// than `buf` is truncated and the rest dropped, as with tokio.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use berth::tokio_net::UdpSocket;
    ///
    /// let server_socket = UdpSocket::bind(&server, "198.18.0.2:9").await?;
    /// let socket = UdpSocket::bind(&client, "198.18.0.1:4000").await?;
    /// socket.connect("198.18.0.2:9").await?;
    /// server_socket.send_to(b"a long reply", "198.18.0.1:4000").await?;
    /// let mut buf = [0; 6];
    /// let n = socket.recv(&mut buf).await?;
    /// assert_eq!(&buf[..n], b"a long"); // the rest is dropped
    /// # Ok(())
    /// # }
    /// ```
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.recv_from(buf).await.map(|(n, _)| n)
    }

    /// Polls receiving one datagram into `buf`.
    pub fn poll_recv(&self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_recv_from(cx, buf))?;
        Poll::Ready(Ok(()))
    }

    /// Receives without waiting; `WouldBlock` when no datagram waits.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use std::io::ErrorKind;
    /// let socket = berth::tokio_net::UdpSocket::bind(&client, "0.0.0.0:0").await?;
    /// let e = socket.try_recv(&mut [0; 16]).unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::WouldBlock);
    /// # Ok(())
    /// # }
    /// ```
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.try_recv_from(buf).map(|(n, _)| n)
    }

    /// Receives one datagram and its sender.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use berth::tokio_net::UdpSocket;
    ///
    /// let echo = UdpSocket::bind(&server, "198.18.0.2:7").await?;
    /// tokio::spawn(async move {
    ///     let mut buf = [0; 1500];
    ///     loop {
    ///         let (n, from) = echo.recv_from(&mut buf).await?;
    ///         echo.send_to(&buf[..n], from).await?;
    ///     }
    ///     #[allow(unreachable_code)]
    ///     std::io::Result::Ok(())
    /// });
    /// let socket = UdpSocket::bind(&client, "0.0.0.0:0").await?;
    /// socket.send_to(b"ping", "198.18.0.2:7").await?;
    /// let mut buf = [0; 16];
    /// let (n, from) = socket.recv_from(&mut buf).await?;
    /// assert_eq!((&buf[..n], from), (&b"ping"[..], "198.18.0.2:7".parse().unwrap()));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let h = self.sock.handle;
        let d = poll_fn(|cx| {
            self.sock
                .poll_op(cx, Direction::Read, false, |s, _| s.udp_recv_datagram(h))
        })
        .await?;
        Ok((copy_datagram(buf, &d), d.from))
    }

    /// Polls receiving one datagram into `buf`; returns its sender.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use std::future::poll_fn;
    /// use berth::tokio_net::UdpSocket;
    /// use tokio::io::ReadBuf;
    ///
    /// let server_socket = UdpSocket::bind(&server, "198.18.0.2:9").await?;
    /// let socket = UdpSocket::bind(&client, "198.18.0.1:4000").await?;
    /// socket.send_to(b"hello", "198.18.0.2:9").await?;
    /// let mut storage = [0; 64];
    /// let mut buf = ReadBuf::new(&mut storage);
    /// let from = poll_fn(|cx| server_socket.poll_recv_from(cx, &mut buf)).await?;
    /// assert_eq!((buf.filled(), from), (&b"hello"[..], "198.18.0.1:4000".parse().unwrap()));
    /// # Ok(())
    /// # }
    /// ```
    pub fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<SocketAddr>> {
        let h = self.sock.handle;
        let dst = buf.initialize_unfilled();
        let d = ready!(self.sock.poll_op(cx, Direction::Read, false, |s, _| {
            s.udp_recv_datagram(h)
        }))?;
        let n = copy_datagram(dst, &d);
        buf.advance(n);
        Poll::Ready(Ok(d.from))
    }

    /// Receives one datagram and its sender without waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use berth::tokio_net::UdpSocket;
    ///
    /// let server_socket = UdpSocket::bind(&server, "198.18.0.2:9").await?;
    /// let socket = UdpSocket::bind(&client, "198.18.0.1:0").await?;
    /// socket.send_to(b"hello", "198.18.0.2:9").await?;
    /// server_socket.readable().await?;
    /// let mut buf = [0; 16];
    /// let (n, from) = server_socket.try_recv_from(&mut buf)?;
    /// assert_eq!((n, from), (5, socket.local_addr()?));
    /// # Ok(())
    /// # }
    /// ```
    pub fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let h = self.sock.handle;
        let d = self.sock.call(|s, _| s.udp_recv_datagram(h))?;
        Ok((copy_datagram(buf, &d), d.from))
    }

    /// Receives one datagram and its sender into `buf`'s next chunk (the
    /// rest of a longer datagram is dropped, as tokio's: give `buf` the
    /// capacity), advancing it.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// # let socket = berth::tokio_net::UdpSocket::bind(&server, "198.18.0.2:9").await?;
    /// # let sender = berth::tokio_net::UdpSocket::bind(&client, "0.0.0.0:0").await?;
    /// # sender.send_to(b"a datagram", "198.18.0.2:9").await?;
    /// let mut buf = Vec::with_capacity(1500);
    /// let (n, from) = socket.recv_buf_from(&mut buf).await?;
    /// assert_eq!(buf.len(), n);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn recv_buf_from<B: bytes::BufMut>(
        &self,
        buf: &mut B,
    ) -> io::Result<(usize, SocketAddr)> {
        let h = self.sock.handle;
        let d = poll_fn(|cx| {
            self.sock
                .poll_op(cx, Direction::Read, false, |s, _| s.udp_recv_datagram(h))
        })
        .await?;
        Ok((put_datagram(buf, &d), d.from))
    }

    /// [`recv_buf_from`](Self::recv_buf_from) without waiting; `WouldBlock`
    /// when no datagram waits.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use std::io::ErrorKind;
    /// let socket = berth::tokio_net::UdpSocket::bind(&server, "198.18.0.2:9").await?;
    /// let mut buf = Vec::with_capacity(1500);
    /// let e = socket.try_recv_buf_from(&mut buf).unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::WouldBlock);
    /// # Ok(())
    /// # }
    /// ```
    pub fn try_recv_buf_from<B: bytes::BufMut>(
        &self,
        buf: &mut B,
    ) -> io::Result<(usize, SocketAddr)> {
        let h = self.sock.handle;
        let d = self.sock.call(|s, _| s.udp_recv_datagram(h))?;
        Ok((put_datagram(buf, &d), d.from))
    }

    /// Receives one datagram (from the connected peer) into `buf`'s next
    /// chunk, advancing it.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use berth::tokio_net::UdpSocket;
    ///
    /// let server_socket = UdpSocket::bind(&server, "198.18.0.2:9").await?;
    /// let socket = UdpSocket::bind(&client, "198.18.0.1:4000").await?;
    /// socket.connect("198.18.0.2:9").await?;
    /// server_socket.send_to(b"reply", "198.18.0.1:4000").await?;
    /// let mut buf = Vec::with_capacity(1500);
    /// socket.recv_buf(&mut buf).await?;
    /// assert_eq!(buf, b"reply");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn recv_buf<B: bytes::BufMut>(&self, buf: &mut B) -> io::Result<usize> {
        self.recv_buf_from(buf).await.map(|(n, _)| n)
    }

    /// [`recv_buf`](Self::recv_buf) without waiting.
    pub fn try_recv_buf<B: bytes::BufMut>(&self, buf: &mut B) -> io::Result<usize> {
        self.try_recv_buf_from(buf).map(|(n, _)| n)
    }

    /// Joins the IPv4 multicast group `multiaddr` on the interface whose
    /// address is `interface` (`0.0.0.0` or one of the stack's), as
    /// [`berth::net::UdpSocket::join_multicast_v4`](crate::net::UdpSocket::join_multicast_v4):
    /// an IGMPv3 Report when the stack first joins, then the group's
    /// datagrams to this port arrive. `InvalidInput` for an address that
    /// is not multicast, `AddrInUse` if joined already.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::net::Ipv4Addr;
    /// use berth::{NetStack, tokio_net::UdpSocket};
    /// use berth_device::{channel::ChannelDevice, Medium};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// let a = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// let b = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// let group = Ipv4Addr::new(239, 1, 2, 3);
    /// let member = UdpSocket::bind(&a, "0.0.0.0:5000").await?;
    /// member.join_multicast_v4(group, Ipv4Addr::UNSPECIFIED)?;
    /// let sender = UdpSocket::bind(&b, "0.0.0.0:0").await?;
    /// sender.send_to(b"hello, group", (group, 5000)).await?;
    /// let mut buf = [0; 32];
    /// let (n, _) = member.recv_from(&mut buf).await?;
    /// assert_eq!(&buf[..n], b"hello, group");
    /// # Ok(())
    /// # }
    /// ```
    pub fn join_multicast_v4(&self, multiaddr: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        let h = self.sock.handle;
        self.sock
            .call(|s, now| s.udp_join_multicast_v4(now, h, multiaddr, interface))
    }

    /// Joins the IPv6 multicast group `multiaddr` on interface index
    /// `interface` (0, the stack's one device): an MLDv2 Report when the
    /// stack first joins.
    pub fn join_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()> {
        let (h, group) = (self.sock.handle, *multiaddr);
        self.sock
            .call(|s, now| s.udp_join_multicast_v6(now, h, group, interface))
    }

    /// Leaves the IPv4 group `multiaddr` (`AddrNotAvailable` if this
    /// socket has not joined it).
    pub fn leave_multicast_v4(&self, multiaddr: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        let h = self.sock.handle;
        self.sock
            .call(|s, now| s.udp_leave_multicast_v4(now, h, multiaddr, interface))
    }

    /// Leaves the IPv6 group `multiaddr` (`AddrNotAvailable` if this
    /// socket has not joined it, `InvalidInput` if it is not multicast).
    pub fn leave_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()> {
        let (h, group) = (self.sock.handle, *multiaddr);
        self.sock
            .call(|s, now| s.udp_leave_multicast_v6(now, h, group, interface))
    }

    /// `IP_MULTICAST_LOOP`: whether datagrams to an IPv4 group the stack
    /// joined come back to its own sockets (on by default).
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

    /// `IPV6_MULTICAST_LOOP` (on by default).
    pub fn set_multicast_loop_v6(&self, on: bool) -> io::Result<()> {
        let h = self.sock.handle;
        self.sock.call(|s, _| s.udp_set_multicast_loop(h, true, on))
    }

    /// `IPV6_MULTICAST_LOOP`.
    pub fn multicast_loop_v6(&self) -> io::Result<bool> {
        let h = self.sock.handle;
        self.sock.call(|s, _| s.udp_multicast_loop(h, true))
    }

    /// `IP_MULTICAST_TTL`: 0 to 255, 1 by default (see
    /// [`berth::net::UdpSocket::set_multicast_ttl_v4`](crate::net::UdpSocket::set_multicast_ttl_v4)).
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

/// Appends what fits of datagram `d` in `buf`'s next chunk.
fn put_datagram<B: bytes::BufMut>(buf: &mut B, d: &berth_core::stack::Datagram) -> usize {
    let want = buf.chunk_mut().len();
    crate::tokio_net::buf::put_parts(buf, want, [&d.data, &[]])
}

/// `UdpSocket { local: 198.18.0.1:5353, peer: 198.18.0.2:53 }` (`peer`
/// only when connected); the handle once the stack no longer has it.
impl std::fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let peer = *self.peer.lock().unwrap_or_else(|p| p.into_inner());
        self.sock.fmt_debug(f, "UdpSocket", peer)
    }
}
