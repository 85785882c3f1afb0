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
///
/// # Examples
///
/// ```
/// # use berth::NetStack;
/// # use berth_device::{channel::ChannelDevice, Medium};
/// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
/// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
/// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
/// use std::io::{Read, Write};
/// use std::thread;
/// use berth::net::{TcpListener, TcpStream};
///
/// let listener = TcpListener::bind(&server, "198.18.0.2:7")?;
/// let echo = thread::spawn(move || -> std::io::Result<()> {
///     for stream in listener.incoming().take(1) {
///         let mut stream = stream?;
///         let mut buf = [0; 1024];
///         loop {
///             match stream.read(&mut buf)? {
///                 0 => return Ok(()),
///                 n => stream.write_all(&buf[..n])?,
///             }
///         }
///     }
///     Ok(())
/// });
/// let mut c = TcpStream::connect(&client, "198.18.0.2:7")?;
/// c.write_all(b"ping")?;
/// let mut back = [0; 4];
/// c.read_exact(&mut back)?;
/// assert_eq!(&back, b"ping");
/// drop(c);
/// echo.join().unwrap()?;
/// # std::io::Result::Ok(())
/// ```
pub struct TcpListener {
    pub(crate) sock: Arc<SocketRef>,
}

/// A TCP stream between a local and a remote socket.
///
/// # Examples
///
/// ```
/// # use berth::NetStack;
/// # use berth_device::{channel::ChannelDevice, Medium};
/// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
/// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
/// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
/// use std::io::{Read, Write};
/// use std::net::Shutdown;
/// use berth::net::{TcpListener, TcpStream};
///
/// let listener = TcpListener::bind(&server, "198.18.0.2:80")?;
/// let mut c = TcpStream::connect(&client, "198.18.0.2:80")?;
/// let (mut s, _) = listener.accept()?; // the handshake was done by the stack
///
/// c.write_all(b"GET / HTTP/1.0\r\n\r\n")?;
/// c.shutdown(Shutdown::Write)?; // a FIN: the request is complete
/// let mut request = String::new();
/// s.read_to_string(&mut request)?;
/// s.write_all(b"HTTP/1.0 204 No Content\r\n\r\n")?;
/// drop(s); // a FIN after the data
/// let mut response = String::new();
/// c.read_to_string(&mut response)?;
/// assert!(response.starts_with("HTTP/1.0 204"));
/// # std::io::Result::Ok(())
/// ```
pub struct TcpStream {
    pub(crate) sock: Arc<SocketRef>,
}

/// An iterator over a listener's connections ([`TcpListener::incoming`]).
///
/// # Examples
///
/// ```
/// # use berth::NetStack;
/// # use berth_device::{channel::ChannelDevice, Medium};
/// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
/// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
/// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
/// use std::io::Write;
/// use berth::net::{TcpListener, TcpStream};
///
/// let listener = TcpListener::bind(&server, "198.18.0.2:13")?;
/// let daytime = std::thread::spawn(move || {
///     for stream in listener.incoming() {
///         match stream {
///             Ok(mut stream) => drop(stream.write_all(b"it is now\r\n")),
///             Err(e) => eprintln!("accept failed: {e}"), // ends once the stack is gone
///         }
///     }
/// });
/// let c = TcpStream::connect(&client, "198.18.0.2:13")?;
/// drop(server); // `incoming` yields NotConnected once, then ends
/// daytime.join().unwrap();
/// # std::io::Result::Ok(())
/// ```
pub struct Incoming<'a> {
    listener: &'a TcpListener,
    /// The stack is gone: the iteration is over.
    ended: bool,
}

impl TcpListener {
    /// Listens on `addr` (one of the stack's addresses, or `0.0.0.0` /
    /// `[::]`), with std's backlog of 128.
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
    /// use berth::net::TcpListener;
    ///
    /// let listener = TcpListener::bind(&server, "198.18.0.2:80")?;
    /// // Any address of the stack, on a port it picks:
    /// let any = TcpListener::bind(&server, "0.0.0.0:0")?;
    /// assert_ne!(any.local_addr()?.port(), 0);
    /// // The port is taken:
    /// let e = TcpListener::bind(&server, "198.18.0.2:80").unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::AddrInUse);
    /// // Not an address of the stack:
    /// let e = TcpListener::bind(&server, "198.18.0.7:80").unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::AddrNotAvailable);
    /// # std::io::Result::Ok(())
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use berth::net::{TcpListener, TcpStream};
    ///
    /// let listener = TcpListener::bind(&server, "198.18.0.2:80")?;
    /// let c = TcpStream::connect(&client, "198.18.0.2:80")?;
    /// let (s, peer) = listener.accept()?;
    /// assert_eq!(peer, c.local_addr()?);
    /// assert_eq!(s.peer_addr()?, peer);
    /// # std::io::Result::Ok(())
    /// ```
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
    /// use berth::net::{TcpListener, TcpStream};
    ///
    /// let listener = TcpListener::bind(&server, "198.18.0.2:80")?;
    /// assert!(listener.accept_timeout(Duration::from_millis(10))?.is_none());
    /// let _c = TcpStream::connect(&client, "198.18.0.2:80")?;
    /// let (_s, peer) = listener.accept_timeout(Duration::from_secs(5))?.expect("a connection");
    /// assert_eq!(peer.ip().to_string(), "198.18.0.1");
    /// # std::io::Result::Ok(())
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use std::io::Write;
    /// use berth::net::{TcpListener, TcpStream};
    ///
    /// let listener = TcpListener::bind(&server, "198.18.0.2:80")?;
    /// let _c1 = TcpStream::connect(&client, "198.18.0.2:80")?;
    /// let _c2 = TcpStream::connect(&client, "198.18.0.2:80")?;
    /// for stream in listener.incoming().take(2) {
    ///     stream?.write_all(b"HTTP/1.0 200 OK\r\n\r\n")?;
    /// }
    /// # std::io::Result::Ok(())
    /// ```
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming {
            listener: self,
            ended: false,
        }
    }

    /// The address listened on.
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use berth::net::TcpListener;
    ///
    /// let listener = TcpListener::bind(&server, "198.18.0.2:0")?;
    /// let addr = listener.local_addr()?;
    /// assert_eq!(addr.ip().to_string(), "198.18.0.2");
    /// assert_ne!(addr.port(), 0); // the port the stack picked
    /// # std::io::Result::Ok(())
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
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use berth::net::{TcpListener, TcpStream};
    ///
    /// let listener = TcpListener::bind(&server, "198.18.0.2:80")?;
    /// listener.set_ttl(16)?;
    /// assert_eq!(listener.ttl()?, 16);
    /// let _c = TcpStream::connect(&client, "198.18.0.2:80")?;
    /// let (s, _) = listener.accept()?;
    /// assert_eq!(s.ttl()?, 16); // inherited
    /// assert!(listener.set_ttl(0).is_err());
    /// # std::io::Result::Ok(())
    /// ```
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.sock.set_ttl(ttl)
    }

    /// The TTL set with [`set_ttl`](Self::set_ttl) (64 unless set).
    pub fn ttl(&self) -> io::Result<u32> {
        self.sock.ttl()
    }

    /// Makes `accept` return `WouldBlock` instead of waiting.
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
    /// use berth::net::TcpListener;
    ///
    /// let listener = TcpListener::bind(&server, "198.18.0.2:80")?;
    /// listener.set_nonblocking(true)?;
    /// match listener.accept() {
    ///     Ok((_stream, _peer)) => { /* serve it */ }
    ///     Err(e) if e.kind() == ErrorKind::WouldBlock => { /* nothing yet: do other work */ }
    ///     Err(e) => return Err(e),
    /// }
    /// # std::io::Result::Ok(())
    /// ```
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.sock.set_opts(|o| o.nonblocking = nonblocking);
        Ok(())
    }

    /// Listeners carry no pending error.
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// let listener = berth::net::TcpListener::bind(&server, "198.18.0.2:80")?;
    /// assert!(listener.take_error()?.is_none());
    /// # std::io::Result::Ok(())
    /// ```
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
    /// use berth::net::{TcpListener, TcpStream};
    ///
    /// let _listener = TcpListener::bind(&server, "198.18.0.2:80")?;
    /// let stream = TcpStream::connect(&client, "198.18.0.2:80")?;
    /// assert_eq!(stream.peer_addr()?, "198.18.0.2:80".parse().unwrap());
    /// // Nobody listens on port 81: the peer answers with a reset.
    /// let e = TcpStream::connect(&client, ("198.18.0.2", 81)).unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::ConnectionRefused);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn connect(stack: &NetStack, addr: impl ToSocketAddrs) -> io::Result<Self> {
        each_addr(addr, |a| Self::connect_inner(stack, a, None))
    }

    /// Connects with a timeout.
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
    /// use berth::net::TcpStream;
    ///
    /// // Nothing answers for 198.18.0.9: give up after 100 ms, not two minutes.
    /// let addr = "198.18.0.9:80".parse().unwrap();
    /// let e = TcpStream::connect_timeout(&client, &addr, Duration::from_millis(100)).unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::TimedOut);
    /// # std::io::Result::Ok(())
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use berth::net::{TcpListener, TcpStream};
    ///
    /// let listener = TcpListener::bind(&server, "198.18.0.2:80")?;
    /// let c = TcpStream::connect(&client, "198.18.0.2:80")?;
    /// let (s, _) = listener.accept()?;
    /// assert_eq!(c.peer_addr()?, s.local_addr()?);
    /// assert_eq!(s.peer_addr()?, c.local_addr()?);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        let h = self.sock.handle;
        self.sock.call(|s, _| Ok(s.tcp_info(h)?.remote))
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
    /// use berth::net::{TcpListener, TcpStream};
    ///
    /// let _listener = TcpListener::bind(&server, "198.18.0.2:80")?;
    /// let c = TcpStream::connect(&client, "198.18.0.2:80")?;
    /// let local = c.local_addr()?;
    /// assert_eq!(local.ip().to_string(), "198.18.0.1"); // the source the route chose
    /// assert_ne!(local.port(), 0); // an ephemeral port
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
    /// use berth::net::{TcpListener, TcpStream};
    ///
    /// let _listener = TcpListener::bind(&server, "198.18.0.2:80")?;
    /// let c = TcpStream::connect(&client, "198.18.0.2:80")?;
    /// assert_eq!(c.ttl()?, 64);
    /// c.set_ttl(8)?;
    /// assert_eq!(c.ttl()?, 8);
    /// # std::io::Result::Ok(())
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use std::io::{Read, Write};
    /// use std::net::Shutdown;
    /// use berth::net::{TcpListener, TcpStream};
    ///
    /// let listener = TcpListener::bind(&server, "198.18.0.2:80")?;
    /// let mut c = TcpStream::connect(&client, "198.18.0.2:80")?;
    /// let (mut s, _) = listener.accept()?;
    /// c.write_all(b"request")?;
    /// c.shutdown(Shutdown::Write)?; // the server reads to the end...
    /// let mut request = Vec::new();
    /// s.read_to_end(&mut request)?;
    /// s.write_all(b"reply")?; // ...and can still answer
    /// drop(s);
    /// let mut reply = Vec::new();
    /// c.read_to_end(&mut reply)?;
    /// assert_eq!((&request[..], &reply[..]), (&b"request"[..], &b"reply"[..]));
    /// # std::io::Result::Ok(())
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use berth::net::{TcpListener, TcpStream};
    ///
    /// let _listener = TcpListener::bind(&server, "198.18.0.2:80")?;
    /// let c = TcpStream::connect(&client, "198.18.0.2:80")?;
    /// c.set_nodelay(true)?; // small writes leave at once
    /// assert!(c.nodelay()?);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.sock.set_nodelay(nodelay)
    }

    /// Whether Nagle's algorithm is off.
    pub fn nodelay(&self) -> io::Result<bool> {
        let h = self.sock.handle;
        self.sock.call(|s, _| s.tcp_nodelay(h))
    }

    /// Bounds how long a read waits (`None`: forever). Expiry is `WouldBlock`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use std::io::{ErrorKind, Read};
    /// use std::time::Duration;
    /// use berth::net::{TcpListener, TcpStream};
    ///
    /// let _listener = TcpListener::bind(&server, "198.18.0.2:80")?;
    /// let mut c = TcpStream::connect(&client, "198.18.0.2:80")?;
    /// c.set_read_timeout(Some(Duration::from_millis(20)))?;
    /// assert_eq!(c.read_timeout()?, Some(Duration::from_millis(20)));
    /// // Nothing comes: WouldBlock, as std on Unix (not TimedOut).
    /// let e = c.read(&mut [0; 16]).unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::WouldBlock);
    /// // A zero timeout is refused, as with std.
    /// assert!(c.set_read_timeout(Some(Duration::ZERO)).is_err());
    /// # std::io::Result::Ok(())
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use std::io::{ErrorKind, Write};
    /// use std::time::Duration;
    /// use berth::net::{TcpListener, TcpStream};
    ///
    /// let _listener = TcpListener::bind(&server, "198.18.0.2:80")?;
    /// let mut c = TcpStream::connect(&client, "198.18.0.2:80")?;
    /// c.set_write_timeout(Some(Duration::from_millis(20)))?;
    /// // The server never reads: once its window and our buffers are full,
    /// // a write waits 20 ms and fails with WouldBlock.
    /// let chunk = vec![0; 64 * 1024];
    /// let e = loop {
    ///     if let Err(e) = c.write(&chunk) {
    ///         break e;
    ///     }
    /// };
    /// assert_eq!(e.kind(), ErrorKind::WouldBlock);
    /// # std::io::Result::Ok(())
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use std::io::{ErrorKind, Read};
    /// use berth::net::{TcpListener, TcpStream};
    ///
    /// let _listener = TcpListener::bind(&server, "198.18.0.2:80")?;
    /// let mut c = TcpStream::connect(&client, "198.18.0.2:80")?;
    /// c.set_nonblocking(true)?;
    /// let e = c.read(&mut [0; 16]).unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::WouldBlock); // nothing has come yet
    /// # std::io::Result::Ok(())
    /// ```
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
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use std::io::{ErrorKind, Read};
    /// use std::time::Duration;
    /// use berth::net::{TcpListener, TcpStream};
    ///
    /// let listener = TcpListener::bind(&server, "198.18.0.2:80")?;
    /// let stream = TcpStream::connect(&client, "198.18.0.2:80")?;
    /// let (mut s, _) = listener.accept()?;
    /// stream.set_linger(Some(Duration::ZERO))?;
    /// assert_eq!(stream.linger()?, Some(Duration::ZERO));
    /// drop(stream); // a reset, not a FIN
    /// assert_eq!(s.read(&mut [0; 1]).unwrap_err().kind(), ErrorKind::ConnectionReset);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        self.sock.set_linger(linger)
    }

    /// The `SO_LINGER` time, in whole seconds (`None` unless set).
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
    /// use berth::net::{TcpListener, TcpStream};
    ///
    /// let _listener = TcpListener::bind(&server, "198.18.0.2:80")?;
    /// let c = TcpStream::connect(&client, "198.18.0.2:80")?;
    /// assert_eq!(c.linger()?, None);
    /// c.set_linger(Some(Duration::from_millis(2500)))?;
    /// assert_eq!(c.linger()?, Some(Duration::from_secs(2))); // whole seconds
    /// # std::io::Result::Ok(())
    /// ```
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        self.sock.linger()
    }

    /// Another handle to the same connection; it closes when the last goes.
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use std::io::{Read, Write};
    /// use berth::net::{TcpListener, TcpStream};
    ///
    /// let listener = TcpListener::bind(&server, "198.18.0.2:7")?;
    /// let c = TcpStream::connect(&client, "198.18.0.2:7")?;
    /// let (s, _) = listener.accept()?;
    /// // One thread writes while another reads the same connection.
    /// let mut writer = c.try_clone()?;
    /// let t = std::thread::spawn(move || writer.write_all(b"from a thread"));
    /// let mut got = [0; 13];
    /// (&s).read_exact(&mut got)?;
    /// t.join().unwrap()?;
    /// assert_eq!(&got, b"from a thread");
    /// # std::io::Result::Ok(())
    /// ```
    pub fn try_clone(&self) -> io::Result<Self> {
        Ok(Self {
            sock: self.sock.clone(),
        })
    }

    /// The error that ended the connection, once: this call, a read or a
    /// write reports it, whichever comes first, as `SO_ERROR` on Linux.
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use std::io::{ErrorKind, Read};
    /// use std::time::Duration;
    /// use berth::net::{TcpListener, TcpStream};
    ///
    /// let listener = TcpListener::bind(&server, "198.18.0.2:80")?;
    /// let mut c = TcpStream::connect(&client, "198.18.0.2:80")?;
    /// let (s, _) = listener.accept()?;
    /// s.abort()?; // the server resets the connection
    /// let e = loop {
    ///     if let Some(e) = c.take_error()? {
    ///         break e;
    ///     }
    ///     std::thread::sleep(Duration::from_millis(1));
    /// };
    /// assert_eq!(e.kind(), ErrorKind::ConnectionReset);
    /// assert!(c.take_error()?.is_none()); // reported once
    /// assert_eq!(c.read(&mut [0; 1])?, 0); // then reads see the end
    /// # std::io::Result::Ok(())
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.sock.take_error()
    }

    /// Reads without consuming, waiting like `read`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use std::io::{Read, Write};
    /// use berth::net::{TcpListener, TcpStream};
    ///
    /// let listener = TcpListener::bind(&server, "198.18.0.2:80")?;
    /// let mut c = TcpStream::connect(&client, "198.18.0.2:80")?;
    /// let (mut s, _) = listener.accept()?;
    /// c.write_all(b"GET /")?;
    /// let mut first = [0; 3];
    /// let n = s.peek(&mut first)?; // waits for data, takes none
    /// assert_eq!(&first[..n], &b"GET"[..n]);
    /// let mut all = [0; 5];
    /// s.read_exact(&mut all)?; // still all there
    /// assert_eq!(&all, b"GET /");
    /// # std::io::Result::Ok(())
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use std::io::Write;
    /// use berth::net::{TcpListener, TcpStream};
    ///
    /// let catch_all = TcpListener::bind_transparent(&server)?;
    /// // The client's packets reach the server's stack whatever their address.
    /// let mut c = TcpStream::connect(&client, "198.19.7.7:443")?;
    /// c.write_all(b"hello")?;
    /// let (s, peer) = catch_all.accept()?;
    /// assert_eq!(peer, c.local_addr()?);
    /// assert_eq!(s.local_addr()?, "198.19.7.7:443".parse().unwrap()); // where to relay
    /// # std::io::Result::Ok(())
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use std::io::{ErrorKind, Read, Write};
    /// use berth::net::{TcpListener, TcpStream};
    ///
    /// let listener = TcpListener::bind(&server, "198.18.0.2:80")?;
    /// let mut c = TcpStream::connect(&client, "198.18.0.2:80")?;
    /// let (mut s, _) = listener.accept()?;
    /// c.write_all(b"never delivered, or cut short")?;
    /// c.abort()?;
    /// let mut buf = Vec::new();
    /// let e = s.read_to_end(&mut buf).unwrap_err(); // never a stream that looks complete
    /// assert_eq!(e.kind(), ErrorKind::ConnectionReset);
    /// # std::io::Result::Ok(())
    /// ```
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
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use std::io::Write;
    /// use berth::berth_core::tcp::State;
    /// use berth::net::{TcpListener, TcpStream};
    ///
    /// let _listener = TcpListener::bind(&server, "198.18.0.2:7")?;
    /// let mut stream = TcpStream::connect(&client, "198.18.0.2:7")?;
    /// stream.write_all(b"hello")?;
    /// let info = stream.info()?;
    /// assert_eq!(info.state, State::Established);
    /// assert_eq!(info.remote, "198.18.0.2:7".parse().unwrap());
    /// println!("srtt {:?} cwnd {} retransmits {}", info.srtt, info.cwnd, info.stats.retransmits);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn info(&self) -> io::Result<crate::TcpInfo> {
        self.sock.tcp_info()
    }
}
