//! The stack's side of the callback ports (`callback.rs`), kept under the
//! stack's lock: which sockets belong to a port with a handler, and the
//! events found for the handlers in this turn of the stack thread. The
//! core's readiness events become port events here, with no queue of the
//! runtime's in between: a handler reads and writes the core's own buffers.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;

use berth_core::handle::SocketHandle;
use berth_core::stack::{Readiness, SocketEvent, Stack};

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

impl PortEvent {
    /// The connection the event is about.
    pub fn conn(&self) -> SocketHandle {
        match *self {
            Self::Accepted { conn, .. }
            | Self::Readable(conn)
            | Self::Writable(conn)
            | Self::Closed(conn) => conn,
        }
    }
}

/// One event for a port's handler.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dispatch {
    pub(crate) listener: SocketHandle,
    pub(crate) event: PortEvent,
}

/// The callback ports and their connections, and the events waiting for
/// their handlers.
#[derive(Default)]
pub(crate) struct CallbackPorts {
    listeners: HashSet<SocketHandle>,
    /// Each connection's listener.
    conns: HashMap<SocketHandle, SocketHandle>,
    pending: Vec<Dispatch>,
}

impl CallbackPorts {
    pub(crate) fn add_listener(&mut self, listener: SocketHandle) {
        self.listeners.insert(listener);
    }

    /// The port is closed: its connections, which the caller closes.
    pub(crate) fn remove_listener(&mut self, listener: SocketHandle) -> Vec<SocketHandle> {
        self.listeners.remove(&listener);
        let conns: Vec<SocketHandle> = self
            .conns
            .iter()
            .filter(|(_, l)| **l == listener)
            .map(|(c, _)| *c)
            .collect();
        for c in &conns {
            self.conns.remove(c);
        }
        conns
    }

    /// Whether `conn` is a connection of `listener`'s port.
    pub(crate) fn owns(&self, listener: SocketHandle, conn: SocketHandle) -> bool {
        self.conns.get(&conn) == Some(&listener)
    }

    /// The handler released `conn`: no more events.
    pub(crate) fn forget(&mut self, conn: SocketHandle) -> bool {
        self.conns.remove(&conn).is_some()
    }

    /// Whether events wait for the handlers.
    pub(crate) fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// The events for the handlers, swapped out for `spare` (empty), so
    /// neither list allocates once warm.
    pub(crate) fn take(&mut self, spare: &mut Vec<Dispatch>) {
        spare.clear();
        std::mem::swap(&mut self.pending, spare);
    }

    /// Turns a core event about a callback socket into port events;
    /// `false` if the socket is not one of theirs.
    pub(crate) fn on_event(&mut self, stack: &mut Stack, ev: SocketEvent) -> bool {
        if self.listeners.contains(&ev.handle) {
            if ev.readiness.contains(Readiness::ACCEPTABLE) {
                self.accept(stack, ev.handle);
            }
            return true;
        }
        let Some(&listener) = self.conns.get(&ev.handle) else {
            return false;
        };
        let conn = ev.handle;
        let mut push = |event| self.pending.push(Dispatch { listener, event });
        // Data and the end of stream first: the handler reads everything
        // before it hears of the close.
        if ev.readiness.contains(Readiness::READABLE) {
            push(PortEvent::Readable(conn));
        }
        if ev.readiness.contains(Readiness::WRITABLE) {
            push(PortEvent::Writable(conn));
        }
        if ev.readiness.contains(Readiness::CLOSED) {
            push(PortEvent::Closed(conn));
        }
        true
    }

    /// Accepts what waits on a callback listener: an `Accepted` event for
    /// each, and `Readable` at once when data came with the handshake (the
    /// core reports nothing of a connection still in the accept queue).
    fn accept(&mut self, stack: &mut Stack, listener: SocketHandle) {
        while let Ok(Some((conn, peer))) = stack.tcp_accept(listener) {
            self.conns.insert(conn, listener);
            self.pending.push(Dispatch {
                listener,
                event: PortEvent::Accepted { conn, peer },
            });
            if stack.tcp_can_recv(conn).unwrap_or(false) {
                self.pending.push(Dispatch {
                    listener,
                    event: PortEvent::Readable(conn),
                });
            }
        }
    }
}
