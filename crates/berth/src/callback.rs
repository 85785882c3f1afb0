//! Per-port callbacks: a handler registered for a listening port (the port
//! table's entry points at it) runs on the stack thread for every event of
//! that port's connections, for event-driven programs that want no threads
//! of their own. Events are edge-triggered, like `epoll` with `EPOLLET`:
//! `Readable` comes when new data arrives, so a handler reads until
//! `WouldBlock`. Handlers run without the stack's lock: their reads and
//! writes go through each connection's pipe, like a stream's (see `pipe`).
//! A handler must still not block: while it runs, the stack thread waits.
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

use std::collections::{HashMap, HashSet};
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, MutexGuard};

use berth_core::handle::SocketHandle;
use berth_core::stack::SocketError;
use berth_core::time::Instant;

use crate::NetStack;
use crate::error::to_io_error;
use crate::pipe::{Pipe, Pumped};
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
    shared: &'a Shared,
    pipes: &'a mut HashMap<SocketHandle, Arc<Pipe>>,
}

impl PortCtx<'_> {
    fn pipe(&self, conn: SocketHandle) -> io::Result<&Arc<Pipe>> {
        self.pipes
            .get(&conn)
            .ok_or_else(|| to_io_error(SocketError::NotConnected))
    }

    /// Reads into `buf`: `Ok(0)` is end of stream, `WouldBlock` means
    /// nothing more for now.
    pub fn recv(&mut self, conn: SocketHandle, buf: &mut [u8]) -> io::Result<usize> {
        self.pipe(conn)?
            .read(self.shared, conn, buf, false, true, None)
            .map_err(to_io_error)
    }

    /// Queues data; `WouldBlock` when the send queue is full (a `Writable`
    /// event follows when there is room).
    pub fn send(&mut self, conn: SocketHandle, data: &[u8]) -> io::Result<usize> {
        self.pipe(conn)?
            .write(self.shared, conn, data, true, None)
            .map_err(to_io_error)
    }

    /// Sends a FIN after the queued data.
    pub fn shutdown_write(&mut self, conn: SocketHandle) -> io::Result<()> {
        self.pipe(conn)?.shutdown_write(self.shared, conn);
        Ok(())
    }

    /// Closes the connection (gracefully, or with a reset if unread data
    /// remains, as `close(2)` does); it has no more events.
    pub fn close(&mut self, conn: SocketHandle) -> io::Result<()> {
        self.pipes
            .remove(&conn)
            .ok_or_else(|| to_io_error(SocketError::NotConnected))?;
        let mut inner = self.shared.lock();
        inner.callbacks.conns.remove(&conn);
        let now = self.shared.now();
        let more = inner.close_stream(conn, now);
        drop(inner);
        self.shared.after_close(conn, more);
        Ok(())
    }

    /// The peer's address.
    pub fn peer_addr(&self, conn: SocketHandle) -> io::Result<SocketAddr> {
        self.pipe(conn)?;
        self.shared
            .lock()
            .stack
            .tcp_info(conn)
            .map(|i| i.remote)
            .map_err(to_io_error)
    }
}

type Handler = Box<dyn FnMut(&mut PortCtx<'_>, PortEvent) + Send>;

/// One event for a handler, found under the stack's lock and run after it
/// is released.
pub(crate) struct Dispatch {
    listener: SocketHandle,
    event: PortEvent,
    /// The new connection's pipe, with `Accepted`.
    pipe: Option<Arc<Pipe>>,
}

/// The core side of the callback ports, under the stack's lock: which
/// sockets are theirs, and the events waiting for their handlers.
#[derive(Default)]
pub(crate) struct CallbackPorts {
    listeners: HashSet<SocketHandle>,
    /// Each connection's listener.
    conns: HashMap<SocketHandle, SocketHandle>,
    pending: Vec<Dispatch>,
}

impl CallbackPorts {
    pub(crate) fn is_listener(&self, h: SocketHandle) -> bool {
        self.listeners.contains(&h)
    }

    pub(crate) fn is_conn(&self, h: SocketHandle) -> bool {
        self.conns.contains_key(&h)
    }

    /// The events for the handlers, taken.
    pub(crate) fn take(&mut self) -> Vec<Dispatch> {
        std::mem::take(&mut self.pending)
    }

    /// What a pump of `conn`'s pipe means for its handler.
    pub(crate) fn pumped(&mut self, conn: SocketHandle, pumped: Pumped) {
        if let Some(&listener) = self.conns.get(&conn) {
            let mut push = |event| {
                self.pending.push(Dispatch {
                    listener,
                    event,
                    pipe: None,
                })
            };
            if pumped.read {
                push(PortEvent::Readable(conn));
            }
            if pumped.write {
                push(PortEvent::Writable(conn));
            }
        }
    }

    /// The connection is closed in the core (its pipe already pumped).
    pub(crate) fn closed(&mut self, conn: SocketHandle) {
        if let Some(&listener) = self.conns.get(&conn) {
            self.pending.push(Dispatch {
                listener,
                event: PortEvent::Closed(conn),
                pipe: None,
            });
        }
    }
}

impl Inner {
    /// Accepts what waits on a callback listener: each connection gets a
    /// pipe, an `Accepted` event, and a first pump (data may have come with
    /// the handshake).
    pub(crate) fn accept_for_callback(
        &mut self,
        listener: SocketHandle,
        now: Instant,
        wakers: &mut Vec<std::task::Waker>,
    ) {
        while let Ok(Some((conn, peer))) = self.stack.tcp_accept(listener) {
            let pipe = Arc::new(Pipe::new());
            self.pipes.insert(conn, pipe.clone());
            self.callbacks.conns.insert(conn, listener);
            self.callbacks.pending.push(Dispatch {
                listener,
                event: PortEvent::Accepted { conn, peer },
                pipe: Some(pipe),
            });
            self.pump(conn, now, wakers);
        }
    }
}

/// The handlers and their connections' pipes, apart from the stack's lock
/// (taken before it when both are needed).
#[derive(Default)]
pub(crate) struct Handlers {
    by_listener: HashMap<SocketHandle, Handler>,
    pipes: HashMap<SocketHandle, Arc<Pipe>>,
}

/// Runs the handlers for `events`, on the stack thread, without the
/// stack's lock; whether any ran.
pub(crate) fn dispatch(shared: &Shared, events: Vec<Dispatch>) -> bool {
    let ran = !events.is_empty();
    if !ran {
        return false;
    }
    let mut guard = shared.handlers();
    let Handlers { by_listener, pipes } = &mut *guard;
    for d in events {
        if let (PortEvent::Accepted { conn, .. }, Some(pipe)) = (d.event, d.pipe) {
            if !by_listener.contains_key(&d.listener) {
                // The port closed after the connection came: close it too.
                let mut ctx = PortCtx { shared, pipes };
                ctx.pipes.insert(conn, pipe);
                let _ = ctx.close(conn);
                continue;
            }
            pipes.insert(conn, pipe);
        }
        let conn = match d.event {
            PortEvent::Accepted { conn, .. }
            | PortEvent::Readable(conn)
            | PortEvent::Writable(conn)
            | PortEvent::Closed(conn) => conn,
        };
        // The handler closed it already: no more events.
        if !pipes.contains_key(&conn) {
            continue;
        }
        let Some(handler) = by_listener.get_mut(&d.listener) else {
            continue;
        };
        let mut ctx = PortCtx { shared, pipes };
        handler(&mut ctx, d.event);
        if let PortEvent::Closed(conn) = d.event {
            // Released: the stack frees it once fully closed.
            let _ = ctx.close(conn);
        }
    }
    ran
}

impl Shared {
    pub(crate) fn handlers(&self) -> MutexGuard<'_, Handlers> {
        self.handlers.lock().unwrap_or_else(|p| p.into_inner())
    }
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
        let mut handlers = self.shared.handlers();
        // Dropped after the locks: the closure may own what takes them.
        let handler = handlers.by_listener.remove(&self.handle);
        let mut inner = self.shared.lock();
        let now = self.shared.now();
        inner.callbacks.listeners.remove(&self.handle);
        let conns: Vec<SocketHandle> = inner
            .callbacks
            .conns
            .iter()
            .filter(|(_, l)| **l == self.handle)
            .map(|(c, _)| *c)
            .collect();
        let mut more = Vec::new();
        for c in conns {
            inner.callbacks.conns.remove(&c);
            handlers.pipes.remove(&c);
            if inner.close_stream(c, now) {
                more.push(c);
            }
        }
        let _ = inner.stack.close(now, self.handle);
        drop(inner);
        drop(handlers);
        drop(handler);
        for c in more {
            self.shared.request_pump(c);
        }
        self.shared.kick();
    }
}

impl NetStack {
    /// Listens on `addr` and runs `handler` on the stack thread for every
    /// event of the port's connections (see [`PortEvent`]).
    pub fn listen_with<F>(
        &self,
        addr: impl crate::net::ToSocketAddrs,
        handler: F,
    ) -> io::Result<PortListener>
    where
        F: FnMut(&mut PortCtx<'_>, PortEvent) + Send + 'static,
    {
        let addr = crate::net::first_addr(addr)?;
        // The handler is in place before the first event can be dispatched.
        let mut handlers = self.shared.handlers();
        let mut inner = self.shared.lock();
        let handle = inner.stack.tcp_listen(addr, 128).map_err(to_io_error)?;
        inner.callbacks.listeners.insert(handle);
        handlers.by_listener.insert(handle, Box::new(handler));
        drop(inner);
        drop(handlers);
        Ok(PortListener {
            shared: self.shared.clone(),
            handle,
        })
    }
}
