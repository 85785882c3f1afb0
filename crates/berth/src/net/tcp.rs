//! [`TcpListener`] and [`TcpStream`], as in `std::net`.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use berth_core::stack::SocketError;
use berth_core::tcp::State;

use super::socket::{SocketRef, check_timeout};
use super::{ToSocketAddrs, each_addr};
use crate::NetStack;
use crate::error::to_io_error;

/// std's listen backlog.
const BACKLOG: usize = 128;

/// A TCP socket server, listening for connections.
pub struct TcpListener {
    pub(crate) sock: Arc<SocketRef>,
}

/// A TCP stream between a local and a remote socket.
pub struct TcpStream {
    pub(crate) sock: Arc<SocketRef>,
}

/// An iterator over a listener's connections ([`TcpListener::incoming`]).
pub struct Incoming<'a> {
    listener: &'a TcpListener,
    /// The stack is gone: the iteration is over.
    ended: bool,
}

impl TcpListener {
    /// Listens on `addr` (one of the stack's addresses, or `0.0.0.0` /
    /// `[::]`), with std's backlog of 128.
    pub fn bind(stack: &NetStack, addr: impl ToSocketAddrs) -> io::Result<Self> {
        // Each address in turn, as std does.
        each_addr(addr, |addr| {
            let shared = stack.shared.clone();
            let h = {
                let mut inner = shared.lock();
                inner.stack.tcp_listen(addr, BACKLOG).map_err(to_io_error)?
            };
            Ok(Self {
                sock: SocketRef::new(shared, h),
            })
        })
    }

    /// Waits for a connection and returns it with the peer's address.
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let h = self.sock.handle;
        let (conn, peer) = self
            .sock
            .wait(None, |s, _| s.tcp_accept(h)?.ok_or(SocketError::WouldBlock))?;
        Ok((
            TcpStream {
                sock: SocketRef::stream(&self.sock.shared, conn),
            },
            peer,
        ))
    }

    /// Like `accept`, but gives up after `timeout` with `Ok(None)`.
    pub fn accept_timeout(&self, timeout: Duration) -> io::Result<Option<(TcpStream, SocketAddr)>> {
        let h = self.sock.handle;
        match self.sock.wait(Some(timeout), |s, _| {
            s.tcp_accept(h)?.ok_or(SocketError::WouldBlock)
        }) {
            Ok((conn, peer)) => Ok(Some((
                TcpStream {
                    sock: SocketRef::stream(&self.sock.shared, conn),
                },
                peer,
            ))),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// An iterator of accepted connections; it ends only when the stack is
    /// gone (after yielding that error once).
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming {
            listener: self,
            ended: false,
        }
    }

    /// The address listened on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        let h = self.sock.handle;
        self.sock.call(|s, _| s.local_addr(h))
    }

    /// Sets the TTL (IPv4) or hop limit (IPv6) of the packets of this
    /// listener's connections (`IP_TTL`): 1 to 255, else `InvalidInput`.
    /// Connections it accepts afterwards inherit it, as on Linux.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.sock.set_ttl(ttl)
    }

    /// The TTL set with [`set_ttl`](Self::set_ttl) (64 unless set).
    pub fn ttl(&self) -> io::Result<u32> {
        self.sock.ttl()
    }

    /// Makes `accept` return `WouldBlock` instead of waiting.
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.sock.set_opts(|o| o.nonblocking = nonblocking);
        Ok(())
    }

    /// Listeners carry no pending error.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        Ok(None)
    }

    /// Another handle to the same listener: each accepts from the same
    /// queue, they share the nonblocking mode (as a `dup`ed descriptor
    /// does), and the listener closes when the last of them goes.
    ///
    /// # Examples
    ///
    /// ```
    /// use berth::{NetStack, net::TcpListener};
    /// use berth_device::{channel::ChannelDevice, Medium};
    ///
    /// let (dev, _other_end) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// let stack = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(dev)?;
    /// let listener = TcpListener::bind(&stack, "198.18.0.2:80")?;
    /// let clone = listener.try_clone()?;
    /// assert_eq!(clone.local_addr()?, listener.local_addr()?);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn try_clone(&self) -> io::Result<Self> {
        Ok(Self {
            sock: self.sock.clone(),
        })
    }
}

impl Iterator for Incoming<'_> {
    type Item = io::Result<TcpStream>;
    /// The next connection, or the error of an accept that failed. Once
    /// the stack is gone (`NotConnected`: the listener can never accept
    /// again) that error comes once and the iteration ends, so that a loop
    /// that logs errors and goes on does not spin.
    fn next(&mut self) -> Option<Self::Item> {
        if self.ended {
            return None;
        }
        match self.listener.accept() {
            Ok((s, _)) => Some(Ok(s)),
            Err(e) => {
                self.ended = e.kind() == io::ErrorKind::NotConnected;
                Some(Err(e))
            }
        }
    }
}

impl TcpStream {
    /// Connects to `addr`, waiting for the handshake (SYN retries included:
    /// about two minutes, like Linux, before `TimedOut`). Each address
    /// `addr` gives is tried in turn, as std does: the first connection,
    /// or the last error.
    pub fn connect(stack: &NetStack, addr: impl ToSocketAddrs) -> io::Result<Self> {
        each_addr(addr, |a| Self::connect_inner(stack, a, None))
    }

    /// Connects with a timeout.
    pub fn connect_timeout(
        stack: &NetStack,
        addr: &SocketAddr,
        timeout: Duration,
    ) -> io::Result<Self> {
        check_timeout(Some(timeout))?;
        Self::connect_inner(stack, *addr, Some(timeout))
    }

    fn connect_inner(
        stack: &NetStack,
        addr: SocketAddr,
        timeout: Option<Duration>,
    ) -> io::Result<Self> {
        let shared = stack.shared.clone();
        let h = {
            let mut inner = shared.lock();
            let now = shared.now();
            inner
                .stack
                .tcp_connect(now, addr, None)
                .map_err(to_io_error)?
        };
        let stream = Self {
            sock: SocketRef::stream(&shared, h),
        };
        let r = stream.sock.wait(timeout, |s, _| match s.tcp_state(h)? {
            State::SynSent | State::SynReceived => Err(SocketError::WouldBlock),
            State::Closed => Err(s.tcp_error(h)?.unwrap_or(SocketError::ConnectionRefused)),
            _ => Ok(()),
        });
        match r {
            Ok(()) => Ok(stream),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "connection timed out",
            )),
            Err(e) => Err(e),
        }
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        let h = self.sock.handle;
        self.sock.call(|s, _| Ok(s.tcp_info(h)?.remote))
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

    /// Shuts down reading, writing or both. After `Read`, reads (on every
    /// clone) return what is already queued and then 0 instead of
    /// waiting; a read blocked at the time returns 0, as on Linux.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        if matches!(how, Shutdown::Read | Shutdown::Both) {
            self.sock.shutdown_read()?;
        }
        if matches!(how, Shutdown::Write | Shutdown::Both) {
            self.sock.shutdown_write()?;
        }
        Ok(())
    }

    /// Turns Nagle's algorithm off (`true`) or on.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        let h = self.sock.handle;
        self.sock.call(|s, _| s.tcp_set_nodelay(h, nodelay))
    }

    /// Whether Nagle's algorithm is off.
    pub fn nodelay(&self) -> io::Result<bool> {
        let h = self.sock.handle;
        self.sock.call(|s, _| s.tcp_nodelay(h))
    }

    /// Bounds how long a read waits (`None`: forever). Expiry is `WouldBlock`.
    pub fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        check_timeout(t)?;
        self.sock.set_opts(|o| o.read_timeout = t);
        Ok(())
    }

    /// The read timeout.
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.sock.opts().read_timeout)
    }

    /// Bounds how long a write waits for room (`None`: forever).
    pub fn set_write_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        check_timeout(t)?;
        self.sock.set_opts(|o| o.write_timeout = t);
        Ok(())
    }

    /// The write timeout.
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.sock.opts().write_timeout)
    }

    /// Makes reads and writes return `WouldBlock` instead of waiting.
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.sock.set_opts(|o| o.nonblocking = nonblocking);
        Ok(())
    }

    /// Sets `SO_LINGER` (std's `set_linger`, unstable there). `Some` of
    /// less than a second (Linux keeps whole seconds) makes the close of
    /// the last handle abortive: the peer gets a reset and what was still
    /// to send is dropped, as with [`abort`](Self::abort). A longer time
    /// does not make the drop wait, unlike on Linux: the connection closes
    /// gracefully in the background, as without it.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn f(stack: &berth::NetStack) -> std::io::Result<()> {
    /// use std::time::Duration;
    /// let stream = berth::net::TcpStream::connect(stack, "198.18.0.2:80")?;
    /// stream.set_linger(Some(Duration::ZERO))?;
    /// assert_eq!(stream.linger()?, Some(Duration::ZERO));
    /// drop(stream); // a reset, not a FIN
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        self.sock.set_linger(linger)
    }

    /// The `SO_LINGER` time, in whole seconds (`None` unless set).
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        self.sock.linger()
    }

    /// Another handle to the same connection; it closes when the last goes.
    pub fn try_clone(&self) -> io::Result<Self> {
        Ok(Self {
            sock: self.sock.clone(),
        })
    }

    /// The error that ended the connection, once: this call, a read or a
    /// write reports it, whichever comes first, as `SO_ERROR` on Linux.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.sock.take_error()
    }

    /// Reads without consuming, waiting like `read`.
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.sock.read(buf, true)
    }

    fn read_inner(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.sock.read(buf, false)
    }

    fn write_inner(&self, buf: &[u8]) -> io::Result<usize> {
        self.sock.write(buf)
    }
}

impl Read for TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_inner(buf)
    }
}

impl Read for &TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_inner(buf)
    }
}

impl Write for TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_inner(buf)
    }
    /// Data is handed to the stack at once; there is nothing to flush.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Write for &TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_inner(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// `TcpStream { local: 198.18.0.1:40000, peer: 198.18.0.2:7, state:
/// Established }`, as the stack has it now; `TcpStream { handle: .. }`
/// once the stack no longer has the connection.
impl std::fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.sock.fmt_debug(f, "TcpStream", None)
    }
}

/// `TcpListener { local: 0.0.0.0:80, backlog: 128, pending: 0 }`
/// (`pending`: connections waiting to be accepted).
impl std::fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.sock.fmt_debug(f, "TcpListener", None)
    }
}

/// Transparent listening, for proxies (the tun2socks pattern).
impl TcpListener {
    /// A transparent (catch-all) listener: it accepts connections to ANY
    /// address and port that no other socket of `stack` claims, and each
    /// accepted stream's [`TcpStream::local_addr`] is the destination the
    /// peer dialled, so a proxy knows where to relay. One per stack
    /// (`AddrInUse` otherwise); backlog 128 like [`TcpListener::bind`].
    pub fn bind_transparent(stack: &NetStack) -> io::Result<Self> {
        let shared = stack.shared.clone();
        let h = {
            let mut inner = shared.lock();
            inner
                .stack
                .tcp_listen_transparent(BACKLOG)
                .map_err(to_io_error)?
        };
        Ok(Self {
            sock: SocketRef::new(shared, h),
        })
    }
}

impl TcpStream {
    /// Resets the connection at once (an RST to the peer; unsent data is
    /// dropped), like closing a Linux socket with a zero `SO_LINGER`. A
    /// proxy uses it to pass on a failure it cannot carry any other way.
    pub fn abort(&self) -> io::Result<()> {
        self.sock.abort()
    }

    /// What the stack knows of the connection, as `berth ss` shows it (and
    /// Linux's `TCP_INFO`): the state, the smoothed RTT and RTO, the
    /// congestion window, the queues (the bytes in this stream's own
    /// buffers included) and the connection's counters, retransmissions
    /// among them. `NotConnected` once the stack no longer has it.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn f(stack: &berth::NetStack) -> std::io::Result<()> {
    /// let stream = berth::net::TcpStream::connect(stack, "198.18.0.2:7")?;
    /// let info = stream.info()?;
    /// println!("{:?} srtt {:?} cwnd {} retransmits {}",
    ///          info.state, info.srtt, info.cwnd, info.stats.retransmits);
    /// # Ok(())
    /// # }
    /// ```
    pub fn info(&self) -> io::Result<crate::TcpInfo> {
        self.sock.tcp_info()
    }
}
