//! Per-port callbacks: a handler registered for a listening port (the port
//! table's entry points at it) runs on the stack thread for every event of
//! that port's connections, for event-driven programs that want no threads
//! of their own. Events are edge-triggered, like `epoll` with `EPOLLET`:
//! `Readable` comes when new data arrives, so a handler reads until
//! `WouldBlock`. A handler must not block: it runs with the stack locked.
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

use std::collections::HashMap;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;

use berth_core::handle::SocketHandle;
use berth_core::stack::{Readiness, SocketEvent, Stack};
use berth_core::time::Instant;

use crate::NetStack;
use crate::error::to_io_error;
use crate::shared::{Inner, Shared};

/// What happened on a port with a callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortEvent {
    /// A new connection, already accepted; `conn` names it from now on.
    Accepted {
        /// The connection.
        conn: SocketHandle,
        /// The peer's address.
        peer: SocketAddr,
    },
    /// New data (or the end of stream) can be read from `conn`.
    Readable(SocketHandle),
    /// `conn` can take more data.
    Writable(SocketHandle),
    /// `conn` is closed (or failed); it is released after this event.
    Closed(SocketHandle),
}

/// What a handler may do: read, write and close its port's connections.
pub struct PortCtx<'a> {
    stack: &'a mut Stack,
    now: Instant,
}

impl PortCtx<'_> {
    /// Reads into `buf`: `Ok(0)` is end of stream, `WouldBlock` means
    /// nothing more for now.
    pub fn recv(&mut self, conn: SocketHandle, buf: &mut [u8]) -> io::Result<usize> {
        self.stack.tcp_recv(conn, buf).map_err(to_io_error)
    }

    /// Queues data; `WouldBlock` when the send queue is full (a `Writable`
    /// event follows when there is room).
    pub fn send(&mut self, conn: SocketHandle, data: &[u8]) -> io::Result<usize> {
        self.stack.tcp_send(conn, data).map_err(to_io_error)
    }

    /// Sends a FIN after the queued data.
    pub fn shutdown_write(&mut self, conn: SocketHandle) -> io::Result<()> {
        self.stack.tcp_shutdown_write(conn).map_err(to_io_error)
    }

    /// Closes the connection (gracefully, or with a reset if unread data
    /// remains, as `close(2)` does).
    pub fn close(&mut self, conn: SocketHandle) -> io::Result<()> {
        self.stack.tcp_close(self.now, conn).map_err(to_io_error)
    }

    /// The peer's address.
    pub fn peer_addr(&self, conn: SocketHandle) -> io::Result<SocketAddr> {
        self.stack
            .tcp_info(conn)
            .map(|i| i.remote)
            .map_err(to_io_error)
    }
}

type Handler = Box<dyn FnMut(&mut PortCtx<'_>, PortEvent) + Send>;

/// The callbacks of one stack: handlers by listener, and which listener
/// each accepted connection belongs to.
#[derive(Default)]
pub(crate) struct Callbacks {
    handlers: HashMap<SocketHandle, Handler>,
    conns: HashMap<SocketHandle, SocketHandle>,
    pending: Vec<SocketEvent>,
}

impl Callbacks {
    /// Whether events wait for their handler.
    pub(crate) fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Takes `ev` if it belongs to a callback port.
    pub(crate) fn claim(&mut self, ev: SocketEvent) -> bool {
        let mine = self.handlers.contains_key(&ev.handle) || self.conns.contains_key(&ev.handle);
        if mine {
            self.pending.push(ev);
        }
        mine
    }
}

/// Runs the handlers for the events claimed; whether any ran.
pub(crate) fn dispatch(inner: &mut Inner, now: Instant) -> bool {
    let events = std::mem::take(&mut inner.callbacks.pending);
    let ran = !events.is_empty();
    for ev in events {
        let listener = if inner.callbacks.handlers.contains_key(&ev.handle) {
            ev.handle
        } else if let Some(&l) = inner.callbacks.conns.get(&ev.handle) {
            l
        } else {
            continue;
        };
        // Out of the map while it runs, so the handler can borrow the stack.
        let Some(mut handler) = inner.callbacks.handlers.remove(&listener) else {
            continue;
        };
        let mut ctx = PortCtx {
            stack: &mut inner.stack,
            now,
        };
        if ev.handle == listener {
            if ev.readiness.contains(Readiness::ACCEPTABLE) {
                while let Ok(Some((conn, peer))) = ctx.stack.tcp_accept(listener) {
                    inner.callbacks.conns.insert(conn, listener);
                    handler(&mut ctx, PortEvent::Accepted { conn, peer });
                    // Data may have come with the handshake.
                    if ctx.stack.tcp_can_recv(conn).unwrap_or(false) {
                        handler(&mut ctx, PortEvent::Readable(conn));
                    }
                }
            }
        } else {
            let conn = ev.handle;
            if ev.readiness.contains(Readiness::READABLE) {
                handler(&mut ctx, PortEvent::Readable(conn));
            }
            if ev.readiness.contains(Readiness::WRITABLE) {
                handler(&mut ctx, PortEvent::Writable(conn));
            }
            if ev.readiness.contains(Readiness::CLOSED) {
                handler(&mut ctx, PortEvent::Closed(conn));
                inner.callbacks.conns.remove(&conn);
                // Released: the stack frees it once fully closed.
                let _ = ctx.stack.tcp_close(now, conn);
            }
        }
        inner.callbacks.handlers.insert(listener, handler);
    }
    ran
}

/// A listening port with a callback; dropping it closes the port and its
/// connections.
pub struct PortListener {
    shared: Arc<Shared>,
    handle: SocketHandle,
}

impl PortListener {
    /// The address listened on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.shared
            .lock()
            .stack
            .local_addr(self.handle)
            .map_err(to_io_error)
    }
}

impl Drop for PortListener {
    fn drop(&mut self) {
        let mut inner = self.shared.lock();
        let now = self.shared.now();
        inner.callbacks.handlers.remove(&self.handle);
        let conns: Vec<SocketHandle> = inner
            .callbacks
            .conns
            .iter()
            .filter(|(_, l)| **l == self.handle)
            .map(|(c, _)| *c)
            .collect();
        for c in conns {
            inner.callbacks.conns.remove(&c);
            let _ = inner.stack.tcp_close(now, c);
        }
        let _ = inner.stack.close(now, self.handle);
        drop(inner);
        self.shared.kick();
    }
}

impl NetStack {
    /// Listens on `addr` and runs `handler` on the stack thread for every
    /// event of the port's connections (see [`PortEvent`]).
    pub fn listen_with<F>(&self, addr: impl ToSocketAddrs, handler: F) -> io::Result<PortListener>
    where
        F: FnMut(&mut PortCtx<'_>, PortEvent) + Send + 'static,
    {
        let addr = crate::net::first_addr(addr)?;
        let mut inner = self.shared.lock();
        let handle = inner.stack.tcp_listen(addr, 128).map_err(to_io_error)?;
        inner.callbacks.handlers.insert(handle, Box::new(handler));
        drop(inner);
        Ok(PortListener {
            shared: self.shared.clone(),
            handle,
        })
    }
}
