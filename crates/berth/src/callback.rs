//! Per-port callbacks: a handler registered for a listening port (the port
//! table's entry points at it) runs on the stack thread for every event of
//! that port's connections, for event-driven programs that want no threads
//! of their own. Events are edge-triggered, like `epoll` with `EPOLLET`:
//! `Readable` comes when new data arrives, so a handler reads until
//! `WouldBlock`.
//!
//! Run to completion: a handler runs in the same turn of the stack thread
//! as the packet that made its connection readable, reads and writes the
//! core's own buffers (no queue, no other thread in between), and what it
//! writes leaves in that turn's transmit batch. It runs without the stack's
//! lock held across it (each call on [`PortCtx`] takes it briefly), so a
//! handler may use the `NetStack` too: open a port, drop a
//! [`PortListener`], even its own. A handler must not block: while it runs,
//! the stack thread waits.
//!
//! ```
//! use std::io::{Read, Write};
//! use berth::{NetStack, PortEvent, net::TcpStream};
//! use berth_device::{channel::ChannelDevice, Medium};
//!
//! let (left, right) = ChannelDevice::pair(1500, Medium::Ip).unwrap();
//! let host = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left).unwrap();
//! let peer = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right).unwrap();
//! // An echo service, no thread of its own.
//! let _port = host.listen_with("198.18.0.2:7", |ctx, event| {
//!     if let PortEvent::Readable(conn) = event {
//!         let mut buf = [0; 1024];
//!         while let Ok(n @ 1..) = ctx.recv(conn, &mut buf) {
//!             let _ = ctx.send(conn, &buf[..n]);
//!         }
//!     }
//! }).unwrap();
//! let mut c = TcpStream::connect(&peer, "198.18.0.2:7").unwrap();
//! c.write_all(b"ping").unwrap();
//! let mut back = [0; 4];
//! c.read_exact(&mut back).unwrap();
//! assert_eq!(&back, b"ping");
//! ```

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use berth_core::handle::{HandleMap, HandleSet, SocketHandle};
use berth_core::stack::{SocketError, SocketKind};

use crate::NetStack;
use crate::error::to_io_error;
use crate::ports::Dispatch;
pub use crate::ports::PortEvent;
use crate::shared::{Inner, Shared};

/// What a handler may do: read, write and close its port's connections.
/// Each call names the connection (the `conn` of a [`PortEvent`]); a
/// connection of another port, or one already closed, is `NotConnected`.
///
/// # Examples
///
/// ```
/// # use berth::NetStack;
/// # use berth_device::{channel::ChannelDevice, Medium};
/// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
/// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
/// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
/// use std::io::Read;
/// use berth::{PortEvent, net::TcpStream};
///
/// // A greeting with the peer's address, then the end of the stream.
/// let _port = server.listen_with("198.18.0.2:79", |ctx, event| match event {
///     PortEvent::Accepted { conn, .. } => {
///         if let Ok(peer) = ctx.peer_addr(conn) {
///             let _ = ctx.send(conn, format!("hello, {peer}\n").as_bytes());
///         }
///         let _ = ctx.shutdown_write(conn); // a FIN after the greeting
///     }
///     PortEvent::Readable(conn) => {
///         let mut buf = [0; 512];
///         loop {
///             match ctx.recv(conn, &mut buf) {
///                 Ok(0) => break drop(ctx.close(conn)), // the peer is done
///                 Ok(_) => {}                           // ignored
///                 Err(_) => break,                      // WouldBlock: no more now
///             }
///         }
///     }
///     _ => {}
/// })?;
///
/// let mut c = TcpStream::connect(&client, "198.18.0.2:79")?;
/// let mut greeting = String::new();
/// c.read_to_string(&mut greeting)?;
/// assert_eq!(greeting, format!("hello, {}\n", c.local_addr()?));
/// # std::io::Result::Ok(())
/// ```
pub struct PortCtx<'a> {
    shared: &'a Shared,
    listener: SocketHandle,
}

impl PortCtx<'_> {
    /// Runs `op` on the core for `conn`, a connection of this port.
    fn with_conn<T>(
        &mut self,
        conn: SocketHandle,
        op: impl FnOnce(&mut Inner) -> Result<T, SocketError>,
    ) -> io::Result<T> {
        let mut inner = self.shared.lock();
        if !inner.callbacks.owns(self.listener, conn) {
            return Err(to_io_error(SocketError::NotConnected));
        }
        op(&mut inner).map_err(to_io_error)
    }

    /// Reads into `buf`: `Ok(0)` is end of stream, `WouldBlock` means
    /// nothing more for now.
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
    /// use std::sync::{Arc, atomic::{AtomicUsize, Ordering}};
    /// use berth::{PortEvent, net::TcpStream};
    ///
    /// // Discard (RFC 863), counting what it throws away.
    /// let discarded = Arc::new(AtomicUsize::new(0));
    /// let count = discarded.clone();
    /// let _port = server.listen_with("198.18.0.2:9", move |ctx, event| {
    ///     if let PortEvent::Readable(conn) = event {
    ///         let mut buf = [0; 4096];
    ///         loop {
    ///             match ctx.recv(conn, &mut buf) {
    ///                 Ok(0) => break drop(ctx.close(conn)), // end of stream
    ///                 Ok(n) => drop(count.fetch_add(n, Ordering::Relaxed)),
    ///                 Err(_) => break, // WouldBlock: the next Readable brings more
    ///             }
    ///         }
    ///     }
    /// })?;
    /// let mut c = TcpStream::connect(&client, "198.18.0.2:9")?;
    /// c.write_all(&[0; 100_000])?;
    /// c.shutdown(std::net::Shutdown::Write)?;
    /// assert_eq!(c.read(&mut [0; 1])?, 0); // closed once all was read
    /// assert_eq!(discarded.load(Ordering::Relaxed), 100_000);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn recv(&mut self, conn: SocketHandle, buf: &mut [u8]) -> io::Result<usize> {
        self.with_conn(conn, |inner| inner.stack.tcp_recv(conn, buf))
    }

    /// Reads without a copy: `f` sees the data that arrived, in order, as
    /// two slices (across the buffer's wrap) and returns how many bytes it
    /// used, which are consumed. `Ok(0)` at the end of stream (or when `f`
    /// used nothing), `WouldBlock` when nothing waits. A service that only
    /// counts bytes (discard; Linux's `MSG_TRUNC`) touches none of them.
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
    /// use std::sync::mpsc;
    /// use berth::{PortEvent, net::TcpStream};
    ///
    /// // Discard, counting the bytes without copying them.
    /// let (total, counted) = mpsc::channel();
    /// let mut n = 0;
    /// let _port = server.listen_with("198.18.0.2:9", move |ctx, event| {
    ///     if let PortEvent::Readable(conn) = event {
    ///         loop {
    ///             match ctx.recv_with(conn, |a, b| a.len() + b.len()) {
    ///                 Ok(0) => {
    ///                     let _ = total.send(n);
    ///                     let _ = ctx.close(conn);
    ///                     break;
    ///                 }
    ///                 Ok(k) => n += k,
    ///                 Err(_) => break, // WouldBlock
    ///             }
    ///         }
    ///     }
    /// })?;
    /// let mut c = TcpStream::connect(&client, "198.18.0.2:9")?;
    /// c.write_all(&[7; 50_000])?;
    /// c.shutdown(Shutdown::Write)?;
    /// assert_eq!(counted.recv().unwrap(), 50_000);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn recv_with(
        &mut self,
        conn: SocketHandle,
        f: impl FnOnce(&[u8], &[u8]) -> usize,
    ) -> io::Result<usize> {
        self.with_conn(conn, |inner| inner.stack.tcp_recv_with(conn, f))
    }

    /// Queues data for sending; the count taken, or `WouldBlock` when the
    /// send queue is full (a `Writable` event follows when there is room).
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use std::collections::HashMap;
    /// use std::io::Read;
    /// use berth::{PortEvent, net::TcpStream};
    ///
    /// // 1 MB to each client, as fast as it reads: send until WouldBlock, go on
    /// // at the next Writable.
    /// let mut left = HashMap::new();
    /// let _port = server.listen_with("198.18.0.2:19", move |ctx, event| {
    ///     let conn = event.conn();
    ///     match event {
    ///         PortEvent::Accepted { .. } => drop(left.insert(conn, 1_000_000usize)),
    ///         PortEvent::Closed(_) => return drop(left.remove(&conn)),
    ///         _ => {}
    ///     }
    ///     let Some(n) = left.get_mut(&conn) else { return };
    ///     let chunk = [b'x'; 8192];
    ///     while *n > 0 {
    ///         match ctx.send(conn, &chunk[..(*n).min(8192)]) {
    ///             Ok(sent) => *n -= sent,
    ///             Err(_) => return, // WouldBlock: a Writable event comes
    ///         }
    ///     }
    ///     let _ = ctx.close(conn);
    ///     left.remove(&conn);
    /// })?;
    /// let mut c = TcpStream::connect(&client, "198.18.0.2:19")?;
    /// let mut all = Vec::new();
    /// c.read_to_end(&mut all)?;
    /// assert_eq!(all.len(), 1_000_000);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn send(&mut self, conn: SocketHandle, data: &[u8]) -> io::Result<usize> {
        self.with_conn(conn, |inner| inner.stack.tcp_send(conn, data))
    }

    /// Sends a FIN after the queued data.
    pub fn shutdown_write(&mut self, conn: SocketHandle) -> io::Result<()> {
        self.with_conn(conn, |inner| inner.stack.tcp_shutdown_write(conn))
    }

    /// Closes the connection (gracefully, or with a reset if unread data
    /// remains, as `close(2)` does); it has no more events.
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use std::io::Read;
    /// use berth::{PortEvent, net::TcpStream};
    ///
    /// let _port = server.listen_with("198.18.0.2:17", |ctx, event| {
    ///     if let PortEvent::Accepted { conn, .. } = event {
    ///         let _ = ctx.send(conn, b"A quote a day.\r\n");
    ///         let _ = ctx.close(conn); // a FIN after the quote; no more events
    ///     }
    /// })?;
    /// let mut c = TcpStream::connect(&client, "198.18.0.2:17")?;
    /// let mut quote = String::new();
    /// c.read_to_string(&mut quote)?;
    /// assert_eq!(quote, "A quote a day.\r\n");
    /// # std::io::Result::Ok(())
    /// ```
    pub fn close(&mut self, conn: SocketHandle) -> io::Result<()> {
        let now = self.shared.now();
        self.with_conn(conn, |inner| {
            inner.callbacks.forget(conn);
            inner.stack.close(now, conn)
        })
    }

    /// Resets the connection at once, dropping what is queued either way
    /// (an abortive close: the peer sees `ConnectionReset`, never a stream
    /// that looks complete); it has no more events.
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use berth::{PortEvent, net::TcpStream};
    /// use std::io::{ErrorKind, Read};
    ///
    /// // Turn everyone away with a reset.
    /// let _port = server.listen_with("198.18.0.2:23", |ctx, event| {
    ///     if let PortEvent::Accepted { conn, .. } = event {
    ///         let _ = ctx.abort(conn);
    ///     }
    /// })?;
    /// // The reset may even come before `connect` returns, as on Linux.
    /// let read = TcpStream::connect(&client, "198.18.0.2:23").and_then(|mut c| c.read(&mut [0; 16]));
    /// assert_eq!(read.unwrap_err().kind(), ErrorKind::ConnectionReset);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn abort(&mut self, conn: SocketHandle) -> io::Result<()> {
        let now = self.shared.now();
        self.with_conn(conn, |inner| {
            inner.callbacks.forget(conn);
            inner.stack.tcp_abort(conn)?;
            inner.stack.close(now, conn)
        })
    }

    /// Sets a timer for `conn`: a [`PortEvent::Timer`] comes `after` from
    /// now (once; setting it again moves it, `None` clears it). For idle
    /// timeouts and deadlines; moving a deadline later is cheap.
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use std::io::Read;
    /// use std::time::Duration;
    /// use berth::{PortEvent, net::TcpStream};
    ///
    /// // Closes connections idle for 50 ms; each read pushes the deadline back.
    /// let idle = Some(Duration::from_millis(50));
    /// let _port = server.listen_with("198.18.0.2:7", move |ctx, event| match event {
    ///     PortEvent::Accepted { conn, .. } => drop(ctx.set_timer(conn, idle)),
    ///     PortEvent::Readable(conn) => {
    ///         while let Ok(1..) = ctx.recv(conn, &mut [0; 512]) {}
    ///         let _ = ctx.set_timer(conn, idle);
    ///     }
    ///     PortEvent::Timer(conn) => drop(ctx.close(conn)),
    ///     _ => {}
    /// })?;
    /// let mut c = TcpStream::connect(&client, "198.18.0.2:7")?;
    /// assert_eq!(c.read(&mut [0; 16])?, 0); // closed by the server after 50 ms
    /// # std::io::Result::Ok(())
    /// ```
    pub fn set_timer(&mut self, conn: SocketHandle, after: Option<Duration>) -> io::Result<()> {
        // A deadline beyond the clock's range is none.
        let at = after.and_then(|d| self.shared.now().checked_add(d));
        self.with_conn(conn, |inner| {
            inner.callbacks.set_timer(conn, at);
            Ok(())
        })
    }

    /// The connection's failure (a reset, a refused or timed-out connect),
    /// if it failed: what the `Closed` event was about.
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
    /// use std::sync::mpsc;
    /// use berth::PortEvent;
    ///
    /// let (tx, rx) = mpsc::channel();
    /// // Nobody listens on port 9.
    /// let _conn = client.connect_with("198.18.0.2:9", move |ctx, event| {
    ///     if let PortEvent::Closed(conn) = event {
    ///         let _ = tx.send(ctx.error(conn).map(|e| e.kind()));
    ///     }
    /// })?;
    /// assert_eq!(rx.recv().unwrap(), Some(ErrorKind::ConnectionRefused));
    /// # std::io::Result::Ok(())
    /// ```
    pub fn error(&mut self, conn: SocketHandle) -> Option<io::Error> {
        self.with_conn(conn, |inner| inner.stack.tcp_error(conn))
            .ok()
            .flatten()
            .map(to_io_error)
    }

    /// Takes one datagram waiting on a UDP socket of
    /// [`NetStack::udp_with`]: its length (truncated to `buf`, as std)
    /// and sender; `WouldBlock` when none waits.
    /// [`NetStack::udp_with`] has an example.
    pub fn recv_from(
        &mut self,
        sock: SocketHandle,
        buf: &mut [u8],
    ) -> io::Result<(usize, SocketAddr)> {
        self.with_conn(sock, |inner| inner.stack.udp_recv_from(sock, buf))
    }

    /// Sends one datagram from a UDP socket of [`NetStack::udp_with`]; it
    /// leaves in this turn's transmit batch. [`NetStack::udp_with`] has
    /// an example.
    pub fn send_to(
        &mut self,
        sock: SocketHandle,
        data: &[u8],
        to: SocketAddr,
    ) -> io::Result<usize> {
        self.with_conn(sock, |inner| inner.stack.udp_send_to(sock, data, to))
    }

    /// The peer's address.
    pub fn peer_addr(&mut self, conn: SocketHandle) -> io::Result<SocketAddr> {
        self.with_conn(conn, |inner| Ok(inner.stack.tcp_info(conn)?.remote))
    }

    /// The connection's local address.
    pub fn local_addr(&mut self, conn: SocketHandle) -> io::Result<SocketAddr> {
        self.with_conn(conn, |inner| inner.stack.local_addr(conn))
    }
}

pub(crate) type Handler = Box<dyn FnMut(&mut PortCtx<'_>, PortEvent) + Send>;

/// The handlers, apart from the stack's lock, by listener. A handler is
/// taken out while it runs, so that no lock is held across user code; an
/// entry whose port closed meanwhile is gone when it comes back, and the
/// handler is dropped then.
#[derive(Default)]
pub(crate) struct Handlers {
    by_listener: HandleMap<Option<Handler>>,
    /// Registrations that end their connections themselves when the stack
    /// stops (sessions, which may first flush what they buffered).
    ends_own: HandleSet,
}

/// Whether `listener`'s handler ends its connections itself on
/// `Stopping`.
fn handles_stopping(handlers: &Handlers, listener: SocketHandle) -> bool {
    handlers.ends_own.contains(&listener)
}

/// Runs the handlers for `events`, on the stack thread, without the
/// stack's lock; whether any ran.
pub(crate) fn dispatch(shared: &Shared, handlers: &Mutex<Handlers>, events: &[Dispatch]) -> bool {
    let mut current: Option<(SocketHandle, Handler)> = None;
    for d in events {
        if current.as_ref().is_none_or(|(l, _)| *l != d.listener) {
            put_back(handlers, current.take());
            current = lock(handlers)
                .by_listener
                .get_mut(&d.listener)
                .and_then(Option::take)
                .map(|h| (d.listener, h));
        }
        let Some((listener, handler)) = current.as_mut() else {
            continue;
        };
        let mut ctx = PortCtx {
            shared,
            listener: *listener,
        };
        // The handler closed it already: no more events.
        if !shared.lock().callbacks.owns(*listener, d.event.conn()) {
            continue;
        }
        handler(&mut ctx, d.event);
        if let PortEvent::Closed(conn) = d.event {
            // Released: the stack frees it once fully closed.
            let _ = ctx.close(conn);
        }
        if let PortEvent::Stopping(conn) = d.event
            && !handles_stopping(&lock(handlers), *listener)
        {
            // Left open by the handler: closed now.
            let _ = ctx.close(conn);
        }
    }
    put_back(handlers, current);
    !events.is_empty()
}

/// A handler back in its place after a run, or dropped (outside the lock:
/// it may own what takes it) if its port closed meanwhile.
fn put_back(handlers: &Mutex<Handlers>, taken: Option<(SocketHandle, Handler)>) {
    let Some((listener, handler)) = taken else {
        return;
    };
    let mut handlers = lock(handlers);
    match handlers.by_listener.get_mut(&listener) {
        Some(slot) => *slot = Some(handler),
        None => {
            drop(handlers);
            drop(handler);
        }
    }
}

/// The handlers' lock (taken before the stack's when both are needed, and
/// never held while a handler runs).
fn lock(handlers: &Mutex<Handlers>) -> MutexGuard<'_, Handlers> {
    handlers.lock().unwrap_or_else(|p| p.into_inner())
}

/// A callback registration: a listening port ([`NetStack::listen_with`]),
/// a client connection ([`NetStack::connect_with`]) or a UDP socket
/// ([`NetStack::udp_with`]). Dropping it closes them (even from inside a
/// handler, its own included).
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
/// use berth::net::TcpStream;
///
/// let port = server.listen_with("198.18.0.2:0", |_ctx, _event| {})?;
/// let addr = port.local_addr()?; // the port the stack chose
/// TcpStream::connect(&client, addr)?;
/// drop(port); // closes the port and its connections
/// let e = TcpStream::connect(&client, addr).unwrap_err();
/// assert_eq!(e.kind(), ErrorKind::ConnectionRefused);
/// # std::io::Result::Ok(())
/// ```
pub struct PortListener {
    shared: Arc<Shared>,
    handlers: Arc<Mutex<Handlers>>,
    handle: SocketHandle,
}

impl PortListener {
    /// The registration's socket: the listener, the client connection
    /// (as its events name it) or the UDP socket.
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use std::sync::mpsc;
    /// use berth::{PortEvent, net::TcpListener};
    ///
    /// let _listener = TcpListener::bind(&server, "198.18.0.2:7")?;
    /// let (tx, rx) = mpsc::channel();
    /// let registration = client.connect_with("198.18.0.2:7", move |_ctx, event| {
    ///     if let PortEvent::Connected { conn, .. } = event {
    ///         let _ = tx.send(conn);
    ///     }
    /// })?;
    /// assert_eq!(rx.recv().unwrap(), registration.handle()); // the connection's handle
    /// # std::io::Result::Ok(())
    /// ```
    pub fn handle(&self) -> SocketHandle {
        self.handle
    }

    /// The address listened on (bound to, connected from).
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// let port = server.listen_with("0.0.0.0:8080", |_ctx, _event| {})?;
    /// assert_eq!(port.local_addr()?, "0.0.0.0:8080".parse().unwrap());
    /// # std::io::Result::Ok(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.shared
            .lock()
            .stack
            .local_addr(self.handle)
            .map_err(to_io_error)
    }
}

/// `PortListener { local: 198.18.0.2:7, handle: .. }`.
impl std::fmt::Debug for PortListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("PortListener");
        if let Ok(local) = self.local_addr() {
            d.field("local", &local);
        }
        d.field("handle", &self.handle).finish()
    }
}

impl Drop for PortListener {
    fn drop(&mut self) {
        // Taken out of the map under its lock, dropped after both locks:
        // the closure may own what takes them.
        let handler = {
            let mut handlers = lock(&self.handlers);
            handlers.ends_own.remove(&self.handle);
            handlers.by_listener.remove(&self.handle)
        };
        let mut inner = self.shared.lock();
        let now = self.shared.now();
        let mut own = false;
        for c in inner.callbacks.remove_listener(self.handle) {
            own |= c == self.handle;
            let _ = inner.stack.close(now, c);
        }
        // A client connection or UDP socket is its own registration,
        // closed above unless its handler closed it already (then it is
        // not to be closed twice).
        if !own && inner.stack.socket_kind(self.handle) == Some(SocketKind::TcpListener) {
            let _ = inner.stack.close(now, self.handle);
        }
        drop(inner);
        drop(handler);
        self.shared.kick();
    }
}

impl NetStack {
    /// Registers `handler` for the socket `open` makes (under the stack's
    /// lock, with the handler in place before its first event can be
    /// found); `open` also files it with the callback ports.
    ///
    /// `ends_own`: the handler ends its connections itself when the stack
    /// stops (sessions: no close after their `Stopping` event), filed
    /// under the same lock so that no `Stopping` can come before it.
    fn register(
        &self,
        handler: Handler,
        ends_own: bool,
        open: impl FnOnce(&mut Inner) -> Result<SocketHandle, SocketError>,
    ) -> io::Result<PortListener> {
        let mut handlers = lock(&self.handlers);
        let mut inner = self.shared.lock();
        let handle = open(&mut inner).map_err(to_io_error)?;
        handlers.by_listener.insert(handle, Some(handler));
        if ends_own {
            handlers.ends_own.insert(handle);
        }
        drop(inner);
        drop(handlers);
        // A SYN to send, for a client.
        self.shared.kick();
        Ok(PortListener {
            shared: self.shared.clone(),
            handlers: self.handlers.clone(),
            handle,
        })
    }

    /// Opens a connection to `addr` whose events go to `handler` on the
    /// stack thread, as a port's do: `Connected` once established (or
    /// `Closed`, with [`PortCtx::error`] saying why, if it fails), then
    /// `Readable`/`Writable`/`Closed`. The connection's handle is the
    /// registration's, [`PortListener::handle`]. Returns at once (the SYN
    /// leaves from the stack thread).
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
    /// use std::sync::mpsc;
    /// use berth::{PortEvent, net::TcpListener};
    ///
    /// let listener = TcpListener::bind(&server, "198.18.0.2:7")?;
    /// let (tx, replies) = mpsc::channel();
    /// let _conn = client.connect_with("198.18.0.2:7", move |ctx, event| match event {
    ///     PortEvent::Connected { conn, .. } => drop(ctx.send(conn, b"hello")),
    ///     PortEvent::Readable(conn) => {
    ///         let mut buf = [0; 64];
    ///         while let Ok(n @ 1..) = ctx.recv(conn, &mut buf) {
    ///             let _ = tx.send(buf[..n].to_vec());
    ///         }
    ///     }
    ///     _ => {}
    /// })?;
    ///
    /// let (mut s, _) = listener.accept()?;
    /// let mut hello = [0; 5];
    /// s.read_exact(&mut hello)?;
    /// s.write_all(b"world")?;
    /// let mut reply = Vec::new();
    /// while reply.len() < 5 {
    ///     reply.extend(replies.recv().unwrap());
    /// }
    /// assert_eq!(reply, b"world");
    /// # std::io::Result::Ok(())
    /// ```
    pub fn connect_with<F>(
        &self,
        addr: impl crate::net::ToSocketAddrs,
        handler: F,
    ) -> io::Result<PortListener>
    where
        F: FnMut(&mut PortCtx<'_>, PortEvent) + Send + 'static,
    {
        self.connect_handler(addr, Box::new(handler), false)
    }

    /// `connect_with`, for a handler that may end its own connection when
    /// the stack stops (`ends_own`, see `register`).
    pub(crate) fn connect_handler(
        &self,
        addr: impl crate::net::ToSocketAddrs,
        handler: Handler,
        ends_own: bool,
    ) -> io::Result<PortListener> {
        let addr = crate::net::first_addr(addr)?;
        let now = self.shared.now();
        self.register(handler, ends_own, |inner| {
            let conn = inner.stack.tcp_connect(now, addr, None)?;
            inner.callbacks.add_client(conn);
            Ok(conn)
        })
    }

    /// Binds a UDP socket to `addr` whose events go to `handler` on the
    /// stack thread: `Readable(sock)` when datagrams (or an ICMP error of
    /// a connected socket) wait; [`PortCtx::recv_from`] and
    /// [`PortCtx::send_to`] move them, a reply leaving in the same turn.
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use berth::{PortEvent, net::UdpSocket};
    ///
    /// // UDP echo on the stack thread: the reply leaves in the turn the request came in.
    /// let _echo = server.udp_with("198.18.0.2:7", |ctx, event| {
    ///     if let PortEvent::Readable(sock) = event {
    ///         let mut buf = [0; 1500];
    ///         while let Ok((n, from)) = ctx.recv_from(sock, &mut buf) {
    ///             let _ = ctx.send_to(sock, &buf[..n], from);
    ///         }
    ///     }
    /// })?;
    /// let socket = UdpSocket::bind(&client, "0.0.0.0:0")?;
    /// socket.send_to(b"ping", "198.18.0.2:7")?;
    /// let mut buf = [0; 16];
    /// let (n, from) = socket.recv_from(&mut buf)?;
    /// assert_eq!((&buf[..n], from), (&b"ping"[..], "198.18.0.2:7".parse().unwrap()));
    /// # std::io::Result::Ok(())
    /// ```
    pub fn udp_with<F>(
        &self,
        addr: impl crate::net::ToSocketAddrs,
        handler: F,
    ) -> io::Result<PortListener>
    where
        F: FnMut(&mut PortCtx<'_>, PortEvent) + Send + 'static,
    {
        let addr = crate::net::first_addr(addr)?;
        self.register(Box::new(handler), false, |inner| {
            let sock = inner.stack.udp_bind(addr)?;
            inner.callbacks.add_udp(sock);
            Ok(sock)
        })
    }

    /// Listens on `addr` and runs `handler` on the stack thread for every
    /// event of the port's connections (see [`PortEvent`] and the
    /// [`callback`](crate::callback) module). The port accepts up to 128
    /// connections not yet handed to the handler; only the first address
    /// `addr` gives is used. Dropping the returned [`PortListener`] closes
    /// the port and its connections.
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use std::io::Read;
    /// use berth::{PortEvent, net::TcpStream};
    ///
    /// // A daytime service (RFC 867): a line, then the close.
    /// let _port = server.listen_with("198.18.0.2:13", |ctx, event| {
    ///     if let PortEvent::Accepted { conn, .. } = event {
    ///         let _ = ctx.send(conn, b"Tuesday, February 22, 1982 17:37:43-PST\r\n");
    ///         let _ = ctx.close(conn);
    ///     }
    /// })?;
    /// let mut c = TcpStream::connect(&client, "198.18.0.2:13")?;
    /// let mut line = String::new();
    /// c.read_to_string(&mut line)?;
    /// assert!(line.ends_with("PST\r\n"));
    /// # std::io::Result::Ok(())
    /// ```
    pub fn listen_with<F>(
        &self,
        addr: impl crate::net::ToSocketAddrs,
        handler: F,
    ) -> io::Result<PortListener>
    where
        F: FnMut(&mut PortCtx<'_>, PortEvent) + Send + 'static,
    {
        self.listen_handler(addr, Box::new(handler), false)
    }

    /// `listen_with`, for a handler that may end its own connections when
    /// the stack stops (`ends_own`, see `register`).
    pub(crate) fn listen_handler(
        &self,
        addr: impl crate::net::ToSocketAddrs,
        handler: Handler,
        ends_own: bool,
    ) -> io::Result<PortListener> {
        let addr = crate::net::first_addr(addr)?;
        self.register(handler, ends_own, |inner| {
            let handle = inner.stack.tcp_listen(addr, 128)?;
            inner.callbacks.add_listener(handle);
            Ok(handle)
        })
    }
}
