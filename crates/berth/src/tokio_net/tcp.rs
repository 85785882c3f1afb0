//! [`TcpListener`], [`TcpStream`] and [`TcpSocket`], as in `tokio::net`,
//! and the stream's halves ([`ReadHalf`], [`WriteHalf`], [`OwnedReadHalf`],
//! [`OwnedWriteHalf`]), as in `tokio::net::tcp`. Readiness and vectored
//! I/O are in `readiness.rs`, `TcpSocket` in `socket.rs`, the options tokio
//! leaves to socket2 (MSS, cork, traffic class, keepalive) in `sockopt.rs`.
//!
//! # Examples
//!
//! A client whose reading and writing run in tasks of their own:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! # use berth::NetStack;
//! # use berth_device::{channel::ChannelDevice, Medium};
//! # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
//! # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
//! # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
//! # let listener = berth::tokio_net::TcpListener::bind(&server, "198.18.0.2:7").await?;
//! # tokio::spawn(async move {
//! #     let (mut s, _) = listener.accept().await?;
//! #     let (mut rd, mut wr) = s.split();
//! #     tokio::io::copy(&mut rd, &mut wr).await
//! # });
//! use berth::tokio_net::{TcpStream, tcp::{OwnedReadHalf, OwnedWriteHalf}};
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! let stream = TcpStream::connect(&client, "198.18.0.2:7").await?;
//! let (mut rd, mut wr): (OwnedReadHalf, OwnedWriteHalf) = stream.into_split();
//! let writer = tokio::spawn(async move { wr.write_all(b"echo").await });
//! let mut back = [0; 4];
//! rd.read_exact(&mut back).await?;
//! writer.await.unwrap()?;
//! assert_eq!(&back, b"echo");
//! # Ok(())
//! # }
//! ```

mod readiness;
mod socket;
mod sockopt;
mod split;

use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use berth_core::stack::SocketError;
use berth_core::tcp::State;
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf, Ready};

pub use socket::TcpSocket;
pub use split::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, ReuniteError, WriteHalf};

use crate::NetStack;
use crate::error::to_io_error;
use crate::net::socket::{Direction, SocketRef};
use crate::net::{ToSocketAddrs, no_addresses};
use crate::shared::Shared;
use berth_core::handle::SocketHandle;

/// The listen backlog (tokio's `TcpListener::bind` uses 1024).
const BACKLOG: usize = 1024;

/// A TCP socket server, listening for connections.
///
/// # Examples
///
/// ```
/// use berth::{NetStack, tokio_net::TcpListener};
/// use berth_device::{channel::ChannelDevice, Medium};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let (dev, _other_end) = ChannelDevice::pair(1500, Medium::Ip)?;
/// let stack = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(dev)?;
/// let listener = TcpListener::bind(&stack, "198.18.0.2:80").await?;
/// assert_eq!(listener.local_addr()?, "198.18.0.2:80".parse().unwrap());
/// // loop { let (stream, peer) = listener.accept().await?; ... }
/// # Ok(())
/// # }
/// ```
pub struct TcpListener {
    sock: Arc<SocketRef>,
}

/// A TCP stream between a local and a remote socket. Dropping it closes the
/// connection gracefully (a FIN after the queued data), as a std or tokio
/// stream does.
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
/// use berth::tokio_net::{TcpListener, TcpStream};
/// use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
///
/// let listener = TcpListener::bind(&server, "198.18.0.2:80").await?;
/// let mut stream = TcpStream::connect(&client, "198.18.0.2:80").await?;
/// stream.set_nodelay(true)?;
/// stream.write_all(b"GET / HTTP/1.0\r\n\r\n").await?;
///
/// let (accepted, _peer) = listener.accept().await?;
/// let mut request_line = String::new();
/// BufReader::new(accepted).read_line(&mut request_line).await?; // then dropped: FIN
/// assert_eq!(request_line, "GET / HTTP/1.0\r\n");
/// assert_eq!(stream.read(&mut [0; 16]).await?, 0);
/// # Ok(())
/// # }
/// ```
pub struct TcpStream {
    sock: Arc<SocketRef>,
}

impl TcpListener {
    /// Listens on `addr` (one of the stack's addresses, or `0.0.0.0` /
    /// `[::]`). Fails with `AddrInUse` or `AddrNotAvailable` like tokio's.
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
    /// use berth::tokio_net::TcpListener;
    ///
    /// let listener = TcpListener::bind(&server, "198.18.0.2:80").await?;
    /// let any = TcpListener::bind(&server, "0.0.0.0:0").await?; // a free port
    /// assert_ne!(any.local_addr()?.port(), 0);
    /// let e = TcpListener::bind(&server, "198.18.0.2:80").await.unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::AddrInUse);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn bind(stack: &NetStack, addr: impl ToSocketAddrs) -> io::Result<Self> {
        // Each address in turn, as tokio does.
        crate::net::each_addr(addr, |addr| {
            let shared = stack.shared.clone();
            let h = shared
                .lock()
                .stack
                .tcp_listen(addr, BACKLOG)
                .map_err(to_io_error)?;
            Ok(Self {
                sock: SocketRef::new(shared, h),
            })
        })
    }

    /// Waits for a connection and returns it with the peer's address.
    /// Cancel-safe: a connection is only taken when this returns it.
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
    /// use berth::tokio_net::{TcpListener, TcpStream};
    /// use tokio::io::AsyncWriteExt;
    ///
    /// let listener = TcpListener::bind(&server, "198.18.0.2:80").await?;
    /// tokio::spawn(async move {
    ///     loop {
    ///         let Ok((mut stream, _peer)) = listener.accept().await else { break };
    ///         tokio::spawn(async move { stream.write_all(b"hello\n").await });
    ///     }
    /// });
    /// let stream = TcpStream::connect(&client, "198.18.0.2:80").await?;
    /// stream.readable().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls for a connection; on `Pending` the task is woken when one
    /// arrives.
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
    /// use berth::tokio_net::{TcpListener, TcpStream};
    ///
    /// let listener = TcpListener::bind(&server, "198.18.0.2:80").await?;
    /// let c = TcpStream::connect(&client, "198.18.0.2:80").await?;
    /// let (_s, peer) = poll_fn(|cx| listener.poll_accept(cx)).await?;
    /// assert_eq!(peer, c.local_addr()?);
    /// # Ok(())
    /// # }
    /// ```
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let h = self.sock.handle;
        let (conn, peer) = ready!(self.sock.poll_op(cx, Direction::Read, false, |s, _| {
            s.tcp_accept(h)?.ok_or(SocketError::WouldBlock)
        }))?;
        let stream = TcpStream {
            sock: SocketRef::stream(&self.sock.shared, conn),
        };
        Poll::Ready(Ok((stream, peer)))
    }

    /// The address listened on.
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
    /// let listener = berth::tokio_net::TcpListener::bind(&server, "0.0.0.0:0").await?;
    /// let addr = listener.local_addr()?;
    /// assert!(addr.ip().is_unspecified());
    /// assert_ne!(addr.port(), 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        let h = self.sock.handle;
        self.sock.call(|s, _| s.local_addr(h))
    }

    /// Sets the TTL (IPv4) or hop limit (IPv6) of the packets of this
    /// listener's connections (`IP_TTL`): 1 to 255, else `InvalidInput`.
    /// Connections it accepts afterwards inherit it, as on Linux.
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
    /// let listener = berth::tokio_net::TcpListener::bind(&server, "198.18.0.2:80").await?;
    /// listener.set_ttl(32)?; // and the connections it accepts from now on
    /// assert_eq!(listener.ttl()?, 32);
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.sock.set_ttl(ttl)
    }

    /// The TTL set with [`set_ttl`](Self::set_ttl) (64 unless set).
    pub fn ttl(&self) -> io::Result<u32> {
        self.sock.ttl()
    }

    /// An async listener from a blocking one (tokio's `from_std`, with
    /// berth's blocking type). Its blocking mode does not matter here.
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
    /// let blocking = net::TcpListener::bind(&server, "198.18.0.2:80")?;
    /// let listener = tokio_net::TcpListener::from_std(blocking)?;
    /// let _c = tokio_net::TcpStream::connect(&client, "198.18.0.2:80").await?;
    /// let (_s, _peer) = listener.accept().await?;
    /// let blocking = listener.into_std()?; // nonblocking, as tokio's into_std
    /// blocking.set_nonblocking(false)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_std(listener: crate::net::TcpListener) -> io::Result<Self> {
        Ok(Self {
            sock: listener.sock,
        })
    }

    /// The blocking listener, in nonblocking mode like tokio's `into_std`
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
    /// use berth::tokio_net::TcpListener;
    ///
    /// let listener = TcpListener::bind(&server, "198.18.0.2:80").await?;
    /// let blocking = listener.into_std()?;
    /// blocking.set_nonblocking(false)?;
    /// // A thread of its own accepts from now on.
    /// std::thread::spawn(move || for stream in blocking.incoming() { drop(stream) });
    /// # Ok(())
    /// # }
    /// ```
    pub fn into_std(self) -> io::Result<crate::net::TcpListener> {
        self.sock.set_opts(|o| o.nonblocking = true);
        Ok(crate::net::TcpListener { sock: self.sock })
    }
}

impl TcpStream {
    /// Connects to `addr` and waits for the handshake. A refused connect
    /// fails with `ConnectionRefused`; an unanswered one with `TimedOut`
    /// after the SYN retries (wrap it in `tokio::time::timeout` for less).
    /// Dropping the future abandons the attempt. Each address `addr`
    /// gives is tried in turn: the first connection, or the last error.
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
    /// use std::time::Duration;
    /// use berth::tokio_net::{TcpListener, TcpStream};
    ///
    /// let _listener = TcpListener::bind(&server, "198.18.0.2:80").await?;
    /// let stream = TcpStream::connect(&client, "198.18.0.2:80").await?;
    /// assert_eq!(stream.peer_addr()?, "198.18.0.2:80".parse().unwrap());
    ///
    /// let refused = TcpStream::connect(&client, "198.18.0.2:81").await.unwrap_err();
    /// assert_eq!(refused.kind(), ErrorKind::ConnectionRefused);
    ///
    /// // Nothing answers for 198.18.0.9; a deadline of our own:
    /// let attempt = TcpStream::connect(&client, "198.18.0.9:80");
    /// assert!(tokio::time::timeout(Duration::from_millis(100), attempt).await.is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect(stack: &NetStack, addr: impl ToSocketAddrs) -> io::Result<Self> {
        let mut last = None;
        for a in addr.to_socket_addrs()? {
            match Self::connect_one(stack, a).await {
                Ok(s) => return Ok(s),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(no_addresses))
    }

    async fn connect_one(stack: &NetStack, addr: SocketAddr) -> io::Result<Self> {
        let shared = stack.shared.clone();
        let h = {
            let mut inner = shared.lock();
            let now = shared.now();
            inner
                .stack
                .tcp_connect(now, addr, None)
                .map_err(to_io_error)?
        };
        Self::established(&shared, h).await
    }

    /// The stream of connection `h` (just opened), once its handshake is
    /// done.
    async fn established(shared: &Arc<Shared>, h: SocketHandle) -> io::Result<Self> {
        // Owned from here on: a dropped future closes the half-open socket.
        let stream = Self {
            sock: SocketRef::stream(shared, h),
        };
        poll_fn(|cx| {
            stream.sock.poll_op(cx, Direction::Write, false, |s, _| {
                match s.tcp_state(h)? {
                    State::SynSent | State::SynReceived => Err(SocketError::WouldBlock),
                    State::Closed => Err(s.tcp_error(h)?.unwrap_or(SocketError::ConnectionRefused)),
                    _ => Ok(()),
                }
            })
        })
        .await?;
        Ok(stream)
    }

    /// An async stream from a blocking one (tokio's `from_std`, with
    /// berth's blocking type). The blocking stream's timeouts and blocking
    /// mode do not apply to async calls.
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
    /// # let _listener = berth::net::TcpListener::bind(&server, "198.18.0.2:7")?;
    /// let blocking = berth::net::TcpStream::connect(&client, "198.18.0.2:7")?;
    /// let stream = berth::tokio_net::TcpStream::from_std(blocking)?;
    /// stream.writable().await?;
    /// let blocking_again = stream.into_std()?;
    /// blocking_again.set_nonblocking(false)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_std(stream: crate::net::TcpStream) -> io::Result<Self> {
        Ok(Self { sock: stream.sock })
    }

    /// The blocking stream, in nonblocking mode like tokio's `into_std`
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
    /// use std::io::Write;
    /// use berth::tokio_net::{TcpListener, TcpStream};
    ///
    /// let _listener = TcpListener::bind(&server, "198.18.0.2:7").await?;
    /// let stream = TcpStream::connect(&client, "198.18.0.2:7").await?;
    /// let mut blocking = stream.into_std()?;
    /// blocking.set_nonblocking(false)?; // nonblocking as it comes, like tokio's
    /// blocking.write_all(b"from a blocking thread")?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn into_std(self) -> io::Result<crate::net::TcpStream> {
        self.sock.set_opts(|o| o.nonblocking = true);
        Ok(crate::net::TcpStream { sock: self.sock })
    }

    /// The peer's address.
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
    /// use berth::tokio_net::{TcpListener, TcpStream};
    ///
    /// let listener = TcpListener::bind(&server, "198.18.0.2:80").await?;
    /// let c = TcpStream::connect(&client, "198.18.0.2:80").await?;
    /// let (s, _) = listener.accept().await?;
    /// assert_eq!(c.peer_addr()?, s.local_addr()?);
    /// assert_eq!(s.peer_addr()?, c.local_addr()?);
    /// # Ok(())
    /// # }
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        peer_addr(&self.sock)
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
    /// use berth::tokio_net::{TcpListener, TcpStream};
    ///
    /// let _listener = TcpListener::bind(&server, "198.18.0.2:80").await?;
    /// let c = TcpStream::connect(&client, "198.18.0.2:80").await?;
    /// c.set_ttl(8)?;
    /// assert_eq!(c.ttl()?, 8);
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

    /// Turns Nagle's algorithm off (`true`) or on.
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
    /// use berth::tokio_net::{TcpListener, TcpStream};
    ///
    /// let _listener = TcpListener::bind(&server, "198.18.0.2:80").await?;
    /// let c = TcpStream::connect(&client, "198.18.0.2:80").await?;
    /// c.set_nodelay(true)?;
    /// assert!(c.nodelay()?);
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.sock.set_nodelay(nodelay)
    }

    /// Whether Nagle's algorithm is off.
    pub fn nodelay(&self) -> io::Result<bool> {
        let h = self.sock.handle;
        self.sock.call(|s, _| s.tcp_nodelay(h))
    }

    /// The error that ended the connection, once: this call, a read or a
    /// write reports it, whichever comes first, as `SO_ERROR` on Linux.
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
    /// use berth::tokio_net::{TcpListener, TcpStream};
    /// use tokio::io::Interest;
    ///
    /// let listener = TcpListener::bind(&server, "198.18.0.2:80").await?;
    /// let c = TcpStream::connect(&client, "198.18.0.2:80").await?;
    /// let (s, _) = listener.accept().await?;
    /// s.set_zero_linger()?;
    /// drop(s); // a reset
    /// let ready = c.ready(Interest::ERROR).await?; // the reset has come
    /// assert!(ready.is_error());
    /// assert_eq!(c.take_error()?.map(|e| e.kind()), Some(ErrorKind::ConnectionReset));
    /// assert!(c.take_error()?.is_none()); // once
    /// # Ok(())
    /// # }
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.sock.take_error()
    }

    /// Sets `SO_LINGER`. `Some` of less than a second (Linux keeps whole
    /// seconds) makes dropping the stream an abortive close: the peer gets
    /// a reset and what was still to send is dropped. A longer time never
    /// blocks the drop (tokio deprecates its `set_linger` because it
    /// would): the connection closes gracefully in the background, as
    /// without it, so berth does not deprecate it.
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
    /// use berth::tokio_net::{TcpListener, TcpStream};
    ///
    /// let _listener = TcpListener::bind(&server, "198.18.0.2:80").await?;
    /// let c = TcpStream::connect(&client, "198.18.0.2:80").await?;
    /// c.set_linger(Some(Duration::from_secs(5)))?;
    /// assert_eq!(c.linger()?, Some(Duration::from_secs(5)));
    /// drop(c); // does not wait: the close goes on in the background
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_linger(&self, dur: Option<Duration>) -> io::Result<()> {
        self.sock.set_linger(dur)
    }

    /// Sets a zero `SO_LINGER`: dropping the stream resets the connection
    /// and drops what was still to send (no FIN, no TIME-WAIT).
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
    /// use std::time::Duration;
    /// use berth::tokio_net::{TcpListener, TcpStream};
    /// use tokio::io::AsyncReadExt;
    ///
    /// let listener = TcpListener::bind(&server, "198.18.0.2:80").await?;
    /// let stream = TcpStream::connect(&client, "198.18.0.2:80").await?;
    /// let (mut s, _) = listener.accept().await?;
    /// stream.set_zero_linger()?;
    /// assert_eq!(stream.linger()?, Some(Duration::ZERO));
    /// drop(stream);
    /// let e = s.read(&mut [0; 1]).await.unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::ConnectionReset);
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_zero_linger(&self) -> io::Result<()> {
        self.sock.set_linger(Some(Duration::ZERO))
    }

    /// The `SO_LINGER` time, in whole seconds (`None` unless set).
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
    /// use berth::tokio_net::{TcpListener, TcpStream};
    ///
    /// let _listener = TcpListener::bind(&server, "198.18.0.2:80").await?;
    /// let c = TcpStream::connect(&client, "198.18.0.2:80").await?;
    /// assert_eq!(c.linger()?, None);
    /// # Ok(())
    /// # }
    /// ```
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        self.sock.linger()
    }

    /// Waits until a read would not block (data, end of stream or an
    /// error). Like tokio's, the readiness may be gone by the time
    /// `try_read` runs: it then answers `WouldBlock` and the loop goes on.
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
    /// use berth::tokio_net::{TcpListener, TcpStream};
    /// use tokio::io::AsyncWriteExt;
    ///
    /// let listener = TcpListener::bind(&server, "198.18.0.2:80").await?;
    /// let mut c = TcpStream::connect(&client, "198.18.0.2:80").await?;
    /// let (s, _) = listener.accept().await?;
    /// c.write_all(b"hello").await?;
    /// let mut buf = [0; 64];
    /// let n = loop {
    ///     s.readable().await?;
    ///     match s.try_read(&mut buf) {
    ///         Ok(n) => break n,
    ///         Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
    ///         Err(e) => return Err(e),
    ///     }
    /// };
    /// assert_eq!(&buf[..n], b"hello");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn readable(&self) -> io::Result<()> {
        poll_fn(|cx| self.poll_read_ready(cx)).await
    }

    /// Polls for read readiness.
    pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        poll_read_ready(&self.sock, cx)
    }

    /// Waits until a write would not block (room, or an error to report).
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
    /// use berth::tokio_net::{TcpListener, TcpStream};
    ///
    /// let _listener = TcpListener::bind(&server, "198.18.0.2:80").await?;
    /// let c = TcpStream::connect(&client, "198.18.0.2:80").await?;
    /// let mut data: &[u8] = b"a request";
    /// while !data.is_empty() {
    ///     c.writable().await?;
    ///     match c.try_write(data) {
    ///         Ok(n) => data = &data[n..],
    ///         Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
    ///         Err(e) => return Err(e),
    ///     }
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn writable(&self) -> io::Result<()> {
        poll_fn(|cx| self.poll_write_ready(cx)).await
    }

    /// Polls for write readiness.
    pub fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        poll_write_ready(&self.sock, cx)
    }

    /// Reads what is there without waiting: `Ok(0)` is end of stream,
    /// `WouldBlock` means nothing yet.
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
    /// use berth::tokio_net::{TcpListener, TcpStream};
    ///
    /// let _listener = TcpListener::bind(&server, "198.18.0.2:80").await?;
    /// let c = TcpStream::connect(&client, "198.18.0.2:80").await?;
    /// // Nothing has come: no waiting.
    /// assert_eq!(c.try_read(&mut [0; 16]).unwrap_err().kind(), ErrorKind::WouldBlock);
    /// # Ok(())
    /// # }
    /// ```
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        try_read(&self.sock, buf)
    }

    /// Writes what fits without waiting; `WouldBlock` when the send buffer
    /// is full.
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
    /// use berth::tokio_net::{TcpListener, TcpStream};
    ///
    /// let _listener = TcpListener::bind(&server, "198.18.0.2:80").await?;
    /// let c = TcpStream::connect(&client, "198.18.0.2:80").await?;
    /// assert_eq!(c.try_write(b"fits at once")?, 12);
    /// # Ok(())
    /// # }
    /// ```
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        try_write(&self.sock, buf)
    }

    /// Waits until the stream is ready for any of `interest` and returns
    /// what it is ready for (readable, read-closed, writable,
    /// write-closed, error), as tokio's: `READABLE` once data, the end or
    /// an error can be read (with `READ_CLOSED` at the end), `WRITABLE`
    /// once there is room or a write would fail (with `WRITE_CLOSED` after
    /// a failure), `ERROR` while a failure is not yet reported. Like
    /// tokio's, the readiness may be gone by the time the task acts: a
    /// `try_*` call then answers `WouldBlock`.
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
    /// # let _listener = berth::tokio_net::TcpListener::bind(&server, "198.18.0.2:80").await?;
    /// # let stream = berth::tokio_net::TcpStream::connect(&client, "198.18.0.2:80").await?;
    /// use tokio::io::Interest;
    ///
    /// let ready = stream.ready(Interest::READABLE | Interest::WRITABLE).await?;
    /// if ready.is_readable() {
    ///     let mut buf = [0; 1024];
    ///     match stream.try_read(&mut buf) {
    ///         Ok(n) => println!("{n} bytes"),
    ///         Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
    ///         Err(e) => return Err(e),
    ///     }
    /// }
    /// assert!(ready.is_writable()); // room to send
    /// # Ok(())
    /// # }
    /// ```
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        readiness::ready(&self.sock, interest).await
    }

    /// Runs `f` if the stream is ready for `interest` now, else answers
    /// `WouldBlock` without running it. `f` does the I/O, with this
    /// stream's `try_*` calls: berth's sockets have no descriptor for a
    /// system call.
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
    /// use berth::tokio_net::{TcpListener, TcpStream};
    /// use tokio::io::Interest;
    ///
    /// let _listener = TcpListener::bind(&server, "198.18.0.2:80").await?;
    /// let c = TcpStream::connect(&client, "198.18.0.2:80").await?;
    /// c.writable().await?;
    /// let sent = c.try_io(Interest::WRITABLE, || c.try_write(b"ping"))?;
    /// assert_eq!(sent, 4);
    /// // Not readable: `f` does not even run.
    /// let e = c.try_io(Interest::READABLE, || -> std::io::Result<()> { unreachable!() });
    /// assert_eq!(e.unwrap_err().kind(), ErrorKind::WouldBlock);
    /// # Ok(())
    /// # }
    /// ```
    pub fn try_io<R>(
        &self,
        interest: Interest,
        f: impl FnOnce() -> io::Result<R>,
    ) -> io::Result<R> {
        readiness::try_io(&self.sock, interest, f)
    }

    /// Waits for `interest` and runs `f` until it answers other than
    /// `WouldBlock`; after a `WouldBlock` it waits for the stream's next
    /// event, as tokio's waits for the next readiness.
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
    /// use berth::tokio_net::{TcpListener, TcpStream};
    /// use tokio::io::{AsyncWriteExt, Interest};
    ///
    /// let listener = TcpListener::bind(&server, "198.18.0.2:80").await?;
    /// let mut c = TcpStream::connect(&client, "198.18.0.2:80").await?;
    /// let (s, _) = listener.accept().await?;
    /// c.write_all(b"hello").await?;
    /// let mut buf = [0; 16];
    /// let n = s.async_io(Interest::READABLE, || s.try_read(&mut buf)).await?;
    /// assert_eq!(&buf[..n], b"hello");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn async_io<R>(
        &self,
        interest: Interest,
        f: impl FnMut() -> io::Result<R>,
    ) -> io::Result<R> {
        readiness::async_io(&self.sock, interest, f).await
    }

    /// Reads what is there into `bufs`, in order, without waiting: `Ok(0)`
    /// is end of stream (or no room in `bufs`), `WouldBlock` nothing yet.
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
    /// use std::io::IoSliceMut;
    /// use berth::tokio_net::{TcpListener, TcpStream};
    /// use tokio::io::AsyncWriteExt;
    ///
    /// let listener = TcpListener::bind(&server, "198.18.0.2:80").await?;
    /// let mut c = TcpStream::connect(&client, "198.18.0.2:80").await?;
    /// let (s, _) = listener.accept().await?;
    /// c.write_all(b"headbody").await?;
    /// let (mut head, mut body) = ([0; 4], [0; 16]);
    /// s.readable().await?;
    /// let n = s.try_read_vectored(&mut [IoSliceMut::new(&mut head), IoSliceMut::new(&mut body)])?;
    /// assert_eq!(n, 8);
    /// assert_eq!((&head, &body[..4]), (b"head", &b"body"[..]));
    /// # Ok(())
    /// # }
    /// ```
    pub fn try_read_vectored(&self, bufs: &mut [std::io::IoSliceMut<'_>]) -> io::Result<usize> {
        readiness::try_read_vectored(&self.sock, bufs)
    }

    /// Reads what is there into `buf`'s next chunk without waiting,
    /// advancing it: `Ok(0)` is end of stream, `WouldBlock` nothing yet.
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
    /// # use tokio::io::AsyncWriteExt;
    /// # let listener = berth::tokio_net::TcpListener::bind(&server, "198.18.0.2:80").await?;
    /// # let mut c = berth::tokio_net::TcpStream::connect(&client, "198.18.0.2:80").await?;
    /// # let (stream, _) = listener.accept().await?;
    /// # c.write_all(b"some data").await?;
    /// let mut buf = Vec::with_capacity(4096);
    /// stream.readable().await?;
    /// match stream.try_read_buf(&mut buf) {
    ///     Ok(n) => assert_eq!(buf.len(), n),
    ///     Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
    ///     Err(e) => return Err(e),
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn try_read_buf<B: bytes::BufMut>(&self, buf: &mut B) -> io::Result<usize> {
        readiness::try_read_buf(&self.sock, buf)
    }

    /// Writes what fits of `bufs`, in order, without waiting, as one write;
    /// `WouldBlock` when the send buffer is full.
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
    /// use std::io::IoSlice;
    /// use berth::tokio_net::{TcpListener, TcpStream};
    ///
    /// let _listener = TcpListener::bind(&server, "198.18.0.2:80").await?;
    /// let c = TcpStream::connect(&client, "198.18.0.2:80").await?;
    /// c.writable().await?;
    /// let n = c.try_write_vectored(&[IoSlice::new(b"head"), IoSlice::new(b"body")])?;
    /// assert_eq!(n, 8);
    /// # Ok(())
    /// # }
    /// ```
    pub fn try_write_vectored(&self, bufs: &[std::io::IoSlice<'_>]) -> io::Result<usize> {
        readiness::try_write_vectored(&self.sock, bufs)
    }

    /// Reads without consuming, waiting for data like a read.
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
    /// use berth::tokio_net::{TcpListener, TcpStream};
    /// use tokio::io::{AsyncReadExt, AsyncWriteExt};
    ///
    /// let listener = TcpListener::bind(&server, "198.18.0.2:80").await?;
    /// let mut c = TcpStream::connect(&client, "198.18.0.2:80").await?;
    /// let (mut s, _) = listener.accept().await?;
    /// c.write_all(b"GET /").await?;
    /// let mut first = [0; 3];
    /// let n = s.peek(&mut first).await?; // waits for data, takes none
    /// assert_eq!(&first[..n], &b"GET"[..n]);
    /// let mut all = [0; 5];
    /// s.read_exact(&mut all).await?;
    /// assert_eq!(&all, b"GET /");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| poll_peek_slice(&self.sock, cx, buf)).await
    }

    /// Polls a peek into `buf`; returns the bytes copied.
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
    /// use berth::tokio_net::{TcpListener, TcpStream};
    /// use tokio::io::{AsyncWriteExt, ReadBuf};
    ///
    /// let listener = TcpListener::bind(&server, "198.18.0.2:80").await?;
    /// let mut c = TcpStream::connect(&client, "198.18.0.2:80").await?;
    /// let (s, _) = listener.accept().await?;
    /// c.write_all(b"hello").await?;
    /// let mut storage = [0; 16];
    /// let mut buf = ReadBuf::new(&mut storage);
    /// let n = poll_fn(|cx| s.poll_peek(cx, &mut buf)).await?;
    /// assert_eq!(buf.filled(), &b"hello"[..n]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn poll_peek(
        &self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<usize>> {
        poll_peek(&self.sock, cx, buf)
    }

    /// Borrowed read and write halves, usable at the same time (for
    /// example by `tokio::io::copy` in one task). Zero cost.
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
    /// use berth::tokio_net::{TcpListener, TcpStream};
    /// use tokio::io::{AsyncReadExt, AsyncWriteExt};
    ///
    /// let listener = TcpListener::bind(&server, "198.18.0.2:7").await?;
    /// let mut c = TcpStream::connect(&client, "198.18.0.2:7").await?;
    /// let (mut s, _) = listener.accept().await?;
    /// tokio::spawn(async move {
    ///     let (mut rd, mut wr) = s.split();
    ///     tokio::io::copy(&mut rd, &mut wr).await // echo until the client's FIN
    /// });
    /// c.write_all(b"echo me").await?;
    /// c.shutdown().await?;
    /// let mut back = String::new();
    /// c.read_to_string(&mut back).await?;
    /// assert_eq!(back, "echo me");
    /// # Ok(())
    /// # }
    /// ```
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        split::split(self)
    }

    /// Owned halves that can move to different tasks. Dropping the write
    /// half shuts the write direction down (FIN); the connection closes
    /// when both are gone.
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
    /// # let listener = berth::tokio_net::TcpListener::bind(&server, "198.18.0.2:7").await?;
    /// # tokio::spawn(async move {
    /// #     let (mut s, _) = listener.accept().await?;
    /// #     let (mut rd, mut wr) = s.split();
    /// #     tokio::io::copy(&mut rd, &mut wr).await
    /// # });
    /// use berth::tokio_net::TcpStream;
    /// use tokio::io::{AsyncReadExt, AsyncWriteExt};
    ///
    /// let stream = TcpStream::connect(&client, "198.18.0.2:7").await?;
    /// let (mut rd, mut wr) = stream.into_split();
    /// let writer = tokio::spawn(async move { wr.write_all(b"ping").await });
    /// let mut buf = [0; 4];
    /// rd.read_exact(&mut buf).await?;
    /// writer.await??;
    /// # Ok(())
    /// # }
    /// ```
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        split::into_split(self)
    }

    /// What the stack knows of the connection, as `berth ss` shows it (and
    /// Linux's `TCP_INFO`): the state, the smoothed RTT and RTO, the
    /// congestion window, the queues (the bytes in this stream's own
    /// buffers included) and the connection's counters, retransmissions
    /// among them. `NotConnected` once the stack no longer has it.
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
    /// use berth::berth_core::tcp::State;
    /// use berth::tokio_net::{TcpListener, TcpStream};
    ///
    /// let _listener = TcpListener::bind(&server, "198.18.0.2:80").await?;
    /// let c = TcpStream::connect(&client, "198.18.0.2:80").await?;
    /// let info = c.info()?;
    /// assert_eq!(info.state, State::Established);
    /// println!("srtt {:?}, cwnd {}", info.srtt, info.cwnd);
    /// # Ok(())
    /// # }
    /// ```
    pub fn info(&self) -> io::Result<crate::TcpInfo> {
        self.sock.tcp_info()
    }
}

impl AsyncRead for TcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        poll_read(&self.sock, cx, buf)
    }
}

impl AsyncWrite for TcpStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        poll_write(&self.sock, cx, buf)
    }

    /// Data is handed to the stack at once; there is nothing to flush.
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Shuts the write direction down: a FIN follows the queued data.
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(shutdown_write(&self.sock))
    }
}

/// Addresses and state, as the blocking stream's `Debug` shows them.
impl std::fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.sock.fmt_debug(f, "TcpStream", None)
    }
}

/// The address, backlog and connections waiting, as the blocking
/// listener's `Debug` shows them.
impl std::fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.sock.fmt_debug(f, "TcpListener", None)
    }
}

// The operations, shared by the stream and its halves.

fn peer_addr(sock: &SocketRef) -> io::Result<SocketAddr> {
    let h = sock.handle;
    sock.call(|s, _| Ok(s.tcp_info(h)?.remote))
}

fn local_addr(sock: &SocketRef) -> io::Result<SocketAddr> {
    let h = sock.handle;
    sock.call(|s, _| s.local_addr(h))
}

fn poll_read(
    sock: &SocketRef,
    cx: &mut Context<'_>,
    buf: &mut ReadBuf<'_>,
) -> Poll<io::Result<()>> {
    if buf.remaining() == 0 {
        return Poll::Ready(Ok(()));
    }
    let dst = buf.initialize_unfilled();
    // Ok(0) is end of stream: nothing filled, as AsyncRead says.
    let n = ready!(sock.poll_read(cx, dst, false))?;
    buf.advance(n);
    Poll::Ready(Ok(()))
}

fn poll_write(sock: &SocketRef, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
    sock.poll_write(cx, buf)
}

fn shutdown_write(sock: &SocketRef) -> io::Result<()> {
    sock.shutdown_write()
}

fn poll_read_ready(sock: &SocketRef, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
    sock.poll_read_ready(cx)
}

fn poll_write_ready(sock: &SocketRef, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
    sock.poll_write_ready(cx)
}

fn try_read(sock: &SocketRef, buf: &mut [u8]) -> io::Result<usize> {
    sock.try_read(buf)
}

fn try_write(sock: &SocketRef, buf: &[u8]) -> io::Result<usize> {
    sock.try_write(buf)
}

fn poll_peek_slice(
    sock: &SocketRef,
    cx: &mut Context<'_>,
    buf: &mut [u8],
) -> Poll<io::Result<usize>> {
    sock.poll_read(cx, buf, true)
}

fn poll_peek(
    sock: &SocketRef,
    cx: &mut Context<'_>,
    buf: &mut ReadBuf<'_>,
) -> Poll<io::Result<usize>> {
    let dst = buf.initialize_unfilled();
    let n = ready!(poll_peek_slice(sock, cx, dst))?;
    buf.advance(n);
    Poll::Ready(Ok(n))
}
