//! [`TcpSocket`], as in `tokio::net`: a TCP socket to set options on and
//! bind before it becomes a [`TcpStream`] (`connect`) or a [`TcpListener`]
//! (`listen`), as with the sockets API. Options set before `listen` pass
//! to every stream the listener accepts, as on Linux.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use berth_core::handle::SocketHandle;
use berth_core::stack::TcpOptions;

use super::{TcpListener, TcpStream};
use crate::NetStack;
use crate::error::to_io_error;
use crate::net::socket::{SocketRef, linger_secs};
use crate::shared::Shared;

/// A TCP socket that is neither connected nor listening yet, as tokio's:
/// set options, [`bind`](Self::bind) if a given local address or port is
/// wanted, then [`connect`](Self::connect) or [`listen`](Self::listen).
///
/// Buffer sizes ([`set_send_buffer_size`](Self::set_send_buffer_size),
/// [`set_recv_buffer_size`](Self::set_recv_buffer_size)) fix the buffers of
/// the socket's connections at that many bytes of data (between 2 KiB and
/// the stack's largest buffer; they no longer grow with use), and the
/// getters return the size that applies. Linux's getters report twice the
/// size set, its count including bookkeeping; berth's report the bytes of
/// data. `SO_REUSEPORT` is not supported (a port has one listener):
/// [`set_reuseport(true)`](Self::set_reuseport) fails with `Unsupported`.
///
/// # Examples
///
/// ```
/// use berth::{NetStack, tokio_net::TcpSocket};
/// use berth_device::{channel::ChannelDevice, Medium};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
/// let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
/// let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
///
/// let socket = TcpSocket::new_v4(&server)?;
/// socket.set_reuseaddr(true)?;
/// socket.set_nodelay(true)?; // passed on to every accepted stream
/// socket.bind("198.18.0.2:8080".parse().unwrap())?;
/// let listener = socket.listen(1024)?;
///
/// let socket = TcpSocket::new_v4(&client)?;
/// socket.bind("198.18.0.1:40000".parse().unwrap())?;
/// let stream = socket.connect("198.18.0.2:8080".parse().unwrap()).await?;
/// assert_eq!(stream.local_addr()?, "198.18.0.1:40000".parse().unwrap());
/// let (accepted, peer) = listener.accept().await?;
/// assert_eq!(peer, "198.18.0.1:40000".parse().unwrap());
/// assert!(accepted.nodelay()?);
/// # Ok(())
/// # }
/// ```
pub struct TcpSocket {
    pub(super) shared: Arc<Shared>,
    pub(super) v6: bool,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
pub(super) struct State {
    /// The core's bound socket, after `bind`.
    bound: Option<SocketHandle>,
    /// `SO_REUSEADDR`.
    reuseaddr: bool,
    /// The options its connections are made with.
    pub(super) opts: TcpOptions,
}

impl TcpSocket {
    /// A socket for IPv4.
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
    /// use berth::tokio_net::TcpSocket;
    ///
    /// let _listener = berth::tokio_net::TcpListener::bind(&server, "198.18.0.2:80").await?;
    /// let socket = TcpSocket::new_v4(&client)?;
    /// let stream = socket.connect("198.18.0.2:80".parse().unwrap()).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn new_v4(stack: &NetStack) -> io::Result<Self> {
        Ok(Self::new(stack, false))
    }

    /// A socket for IPv6.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use std::io::ErrorKind;
    /// use berth::{NetStack, tokio_net::TcpSocket};
    /// use berth_device::{channel::ChannelDevice, Medium};
    ///
    /// let (device, _other_end) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// let stack = NetStack::builder().addr("2001:2::2".parse().unwrap()).build(device)?;
    /// let socket = TcpSocket::new_v6(&stack)?;
    /// socket.bind("[2001:2::2]:8080".parse().unwrap())?;
    /// let listener = socket.listen(128)?;
    /// // An IPv4 address does not fit a v6 socket:
    /// let e = TcpSocket::new_v6(&stack)?.bind("198.18.0.2:80".parse().unwrap()).unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::InvalidInput);
    /// # Ok(())
    /// # }
    /// ```
    pub fn new_v6(stack: &NetStack) -> io::Result<Self> {
        Ok(Self::new(stack, true))
    }

    fn new(stack: &NetStack, v6: bool) -> Self {
        Self {
            shared: stack.shared.clone(),
            v6,
            state: Mutex::new(State::default()),
        }
    }

    pub(super) fn state(&self) -> MutexGuard<'_, State> {
        // Plain data, consistent between statements.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The options as they apply on this stack.
    pub(super) fn resolved(&self) -> TcpOptions {
        let opts = self.state().opts;
        self.shared.lock().stack.tcp_resolve_options(opts)
    }

    /// `SO_KEEPALIVE`: the connections probe their peer once idle (with
    /// the stack's keepalive timing, or Linux's defaults).
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
    /// use berth::tokio_net::TcpSocket;
    ///
    /// let socket = TcpSocket::new_v4(&client)?;
    /// socket.set_keepalive(true)?;
    /// assert!(socket.keepalive()?);
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_keepalive(&self, keepalive: bool) -> io::Result<()> {
        self.state().opts.keepalive = Some(keepalive);
        Ok(())
    }

    /// Whether `SO_KEEPALIVE` is on (the stack's setting unless set).
    pub fn keepalive(&self) -> io::Result<bool> {
        Ok(self.resolved().keepalive.unwrap_or(false))
    }

    /// `SO_REUSEADDR`, for a later [`bind`](Self::bind) or
    /// [`listen`](Self::listen): the port may be bound while connections
    /// on it linger (TIME-WAIT), and by other sockets that set it too
    /// (until one listens).
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
    /// use berth::tokio_net::TcpSocket;
    ///
    /// // Two sockets may hold one port when both ask...
    /// let a = TcpSocket::new_v4(&server)?;
    /// a.set_reuseaddr(true)?;
    /// a.bind("198.18.0.2:8080".parse().unwrap())?;
    /// let b = TcpSocket::new_v4(&server)?;
    /// b.set_reuseaddr(true)?;
    /// assert!(b.reuseaddr()?);
    /// b.bind("198.18.0.2:8080".parse().unwrap())?;
    /// // ...until one of them listens.
    /// let _listener = a.listen(128)?;
    /// assert!(b.listen(128).is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_reuseaddr(&self, reuseaddr: bool) -> io::Result<()> {
        self.state().reuseaddr = reuseaddr;
        Ok(())
    }

    /// Whether `SO_REUSEADDR` is set (off unless set, as on Linux).
    pub fn reuseaddr(&self) -> io::Result<bool> {
        Ok(self.state().reuseaddr)
    }

    /// `SO_REUSEPORT` is not supported: `true` fails with `Unsupported`
    /// (a berth port has one listener); `false` is what it is.
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
    /// use berth::tokio_net::TcpSocket;
    ///
    /// let socket = TcpSocket::new_v4(&server)?;
    /// let e = socket.set_reuseport(true).unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::Unsupported);
    /// socket.set_reuseport(false)?;
    /// assert!(!socket.reuseport()?);
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_reuseport(&self, reuseport: bool) -> io::Result<()> {
        if reuseport {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "SO_REUSEPORT is not supported by berth: a port has one listener",
            ));
        }
        Ok(())
    }

    /// Always `false` ([`set_reuseport`](Self::set_reuseport)).
    pub fn reuseport(&self) -> io::Result<bool> {
        Ok(false)
    }

    /// `SO_SNDBUF`: the send buffer of the socket's connections, in bytes
    /// of data (bounded; see the type's docs).
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
    /// use berth::tokio_net::TcpSocket;
    ///
    /// let socket = TcpSocket::new_v4(&client)?;
    /// socket.set_send_buffer_size(64 * 1024)?;
    /// assert_eq!(socket.send_buffer_size()?, 64 * 1024); // not doubled, unlike Linux
    /// socket.set_send_buffer_size(1)?;
    /// assert_eq!(socket.send_buffer_size()?, 2048); // the smallest
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_send_buffer_size(&self, size: u32) -> io::Result<()> {
        self.state().opts.send_buffer = Some(usize::try_from(size).unwrap_or(usize::MAX));
        Ok(())
    }

    /// The send buffer size that applies (the stack's unless set).
    pub fn send_buffer_size(&self) -> io::Result<u32> {
        let n = self.resolved().send_buffer.unwrap_or(0);
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// `SO_RCVBUF`: the receive buffer of the socket's connections, in
    /// bytes of data (bounded; see the type's docs). It sets the window
    /// they offer, and so takes effect for connections made after it.
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
    /// use berth::tokio_net::TcpSocket;
    ///
    /// let socket = TcpSocket::new_v4(&server)?;
    /// socket.set_recv_buffer_size(32 * 1024)?; // a 32 KiB window for every accepted stream
    /// assert_eq!(socket.recv_buffer_size()?, 32 * 1024);
    /// socket.bind("198.18.0.2:80".parse().unwrap())?;
    /// let listener = socket.listen(1024)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_recv_buffer_size(&self, size: u32) -> io::Result<()> {
        self.state().opts.recv_buffer = Some(usize::try_from(size).unwrap_or(usize::MAX));
        Ok(())
    }

    /// The receive buffer size that applies (the stack's starting size
    /// unless set).
    pub fn recv_buffer_size(&self) -> io::Result<u32> {
        let n = self.resolved().recv_buffer.unwrap_or(0);
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// `SO_LINGER`, in whole seconds as Linux keeps it: less than a second
    /// makes closing a connection of this socket abortive (a reset); any
    /// other time closes gracefully in the background, never blocking a
    /// drop (see [`TcpStream::set_linger`]).
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
    /// use std::time::Duration;
    /// use berth::tokio_net::TcpSocket;
    ///
    /// let socket = TcpSocket::new_v4(&client)?;
    /// socket.set_linger(Some(Duration::from_millis(1500)))?;
    /// assert_eq!(socket.linger()?, Some(Duration::from_secs(1))); // whole seconds
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_linger(&self, dur: Option<Duration>) -> io::Result<()> {
        self.state().opts.linger = dur.map(linger_secs);
        Ok(())
    }

    /// Sets a zero `SO_LINGER`: closing a connection resets it.
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
    /// use berth::tokio_net::{TcpListener, TcpSocket};
    /// use tokio::io::AsyncReadExt;
    ///
    /// let listener = TcpListener::bind(&server, "198.18.0.2:80").await?;
    /// let socket = TcpSocket::new_v4(&client)?;
    /// socket.set_zero_linger()?;
    /// let stream = socket.connect("198.18.0.2:80".parse().unwrap()).await?;
    /// let (mut s, _) = listener.accept().await?;
    /// drop(stream); // a reset
    /// assert_eq!(s.read(&mut [0; 1]).await.unwrap_err().kind(), ErrorKind::ConnectionReset);
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_zero_linger(&self) -> io::Result<()> {
        self.set_linger(Some(Duration::ZERO))
    }

    /// The `SO_LINGER` time (`None` unless set).
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        Ok(self.state().opts.linger)
    }

    /// `TCP_NODELAY`: Nagle's algorithm off.
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
    /// use berth::tokio_net::TcpSocket;
    ///
    /// let socket = TcpSocket::new_v4(&client)?;
    /// socket.set_nodelay(true)?;
    /// assert!(socket.nodelay()?);
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.state().opts.nodelay = Some(nodelay);
        Ok(())
    }

    /// Whether Nagle's algorithm is off (the stack's setting unless set).
    pub fn nodelay(&self) -> io::Result<bool> {
        Ok(self.resolved().nodelay.unwrap_or(false))
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
    /// use berth::tokio_net::TcpSocket;
    ///
    /// let socket = TcpSocket::new_v4(&client)?;
    /// socket.bind_device(None)?; // what it is anyway
    /// let e = socket.bind_device(Some(b"eth0")).unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::Unsupported);
    /// assert_eq!(socket.device()?, None);
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

    /// The bound address; before [`bind`](Self::bind), the unspecified
    /// address and port 0, as Linux's `getsockname` says.
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
    /// use berth::tokio_net::TcpSocket;
    ///
    /// let socket = TcpSocket::new_v4(&client)?;
    /// assert_eq!(socket.local_addr()?, "0.0.0.0:0".parse().unwrap());
    /// socket.bind("198.18.0.1:0".parse().unwrap())?;
    /// assert_ne!(socket.local_addr()?.port(), 0); // the port picked at bind
    /// # Ok(())
    /// # }
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        match self.state().bound {
            Some(h) => self.shared.lock().stack.local_addr(h).map_err(to_io_error),
            None => Ok(self.unspecified()),
        }
    }

    /// A socket not connected has no pending error.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        Ok(None)
    }

    /// Binds to `addr` (one of the stack's addresses, or the unspecified
    /// one; port 0 picks a free port, which `local_addr` then shows). The
    /// port is held from now on. `AddrInUse` when a listener holds it,
    /// another bound socket does (unless both set `SO_REUSEADDR`), or,
    /// without `SO_REUSEADDR`, a connection uses it; `AddrNotAvailable`
    /// for an address not the stack's; `InvalidInput` for an address of
    /// the other family or a second bind.
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
    /// use berth::tokio_net::TcpSocket;
    ///
    /// let socket = TcpSocket::new_v4(&client)?;
    /// socket.bind("198.18.0.1:40000".parse().unwrap())?; // the client's source port
    /// let other = TcpSocket::new_v4(&client)?;
    /// let e = other.bind("198.18.0.1:40000".parse().unwrap()).unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::AddrInUse);
    /// let e = other.bind("198.18.0.7:0".parse().unwrap()).unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::AddrNotAvailable);
    /// # Ok(())
    /// # }
    /// ```
    pub fn bind(&self, addr: SocketAddr) -> io::Result<()> {
        self.check_family(addr)?;
        let mut st = self.state();
        if st.bound.is_some() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the socket is already bound",
            ));
        }
        let h = self
            .shared
            .lock()
            .stack
            .tcp_bind(addr, st.reuseaddr)
            .map_err(to_io_error)?;
        st.bound = Some(h);
        Ok(())
    }

    /// Connects to `addr` (from the bound address, if bound) with the
    /// socket's options, and waits for the handshake, as
    /// [`TcpStream::connect`] does.
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
    /// use berth::tokio_net::{TcpListener, TcpSocket};
    ///
    /// let listener = TcpListener::bind(&server, "198.18.0.2:80").await?;
    /// let socket = TcpSocket::new_v4(&client)?;
    /// socket.set_nodelay(true)?;
    /// let stream = socket.connect("198.18.0.2:80".parse().unwrap()).await?;
    /// assert!(stream.nodelay()?);
    /// let (_s, peer) = listener.accept().await?;
    /// assert_eq!(peer, stream.local_addr()?);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect(self, addr: SocketAddr) -> io::Result<TcpStream> {
        self.check_family(addr)?;
        let (bound, opts) = {
            let mut st = self.state();
            (st.bound.take(), st.opts)
        };
        let h = {
            let mut inner = self.shared.lock();
            let now = self.shared.now();
            match bound {
                Some(b) => inner.stack.tcp_connect_bound(now, b, addr, opts),
                None => inner.stack.tcp_connect_with(now, addr, None, opts),
            }
            .map_err(to_io_error)?
        };
        TcpStream::established(&self.shared, h).await
    }

    /// Listens on the bound address (unbound: the unspecified address and
    /// a free port, as Linux's `listen` binds), with up to `backlog`
    /// connections waiting to be accepted. The socket's options pass to
    /// every stream it accepts.
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
    /// use berth::tokio_net::{TcpSocket, TcpStream};
    ///
    /// let socket = TcpSocket::new_v4(&server)?;
    /// socket.set_keepalive(true)?;
    /// socket.bind("198.18.0.2:80".parse().unwrap())?;
    /// let listener = socket.listen(4096)?;
    /// let _c = TcpStream::connect(&client, "198.18.0.2:80").await?;
    /// let (_s, _) = listener.accept().await?; // keepalive on
    /// # Ok(())
    /// # }
    /// ```
    pub fn listen(self, backlog: u32) -> io::Result<TcpListener> {
        let (bound, reuse, opts) = {
            let mut st = self.state();
            (st.bound.take(), st.reuseaddr, st.opts)
        };
        let backlog = usize::try_from(backlog).unwrap_or(usize::MAX);
        let h = {
            let mut inner = self.shared.lock();
            let h = match bound {
                Some(h) => h,
                None => inner
                    .stack
                    .tcp_bind(self.unspecified(), reuse)
                    .map_err(to_io_error)?,
            };
            if let Err(e) = inner.stack.tcp_listen_bound(h, backlog, opts) {
                let now = self.shared.now();
                let _ = inner.stack.close(now, h);
                return Err(to_io_error(e));
            }
            h
        };
        Ok(TcpListener {
            sock: SocketRef::new(self.shared.clone(), h),
        })
    }

    fn unspecified(&self) -> SocketAddr {
        let ip = if self.v6 {
            IpAddr::V6(Ipv6Addr::UNSPECIFIED)
        } else {
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        };
        SocketAddr::new(ip, 0)
    }

    fn check_family(&self, addr: SocketAddr) -> io::Result<()> {
        if addr.is_ipv6() != self.v6 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the address is not of the socket's family",
            ));
        }
        Ok(())
    }
}

impl Drop for TcpSocket {
    /// A socket dropped while bound frees its port.
    fn drop(&mut self) {
        if let Some(h) = self.state().bound.take() {
            let mut inner = self.shared.lock();
            let now = self.shared.now();
            let _ = inner.stack.close(now, h);
        }
    }
}

impl std::fmt::Debug for TcpSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpSocket")
            .field("v6", &self.v6)
            .field("state", &*self.state())
            .finish()
    }
}
