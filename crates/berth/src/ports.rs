//! The stack's side of the callback ports (`callback.rs`), kept under the
//! stack's lock: which sockets belong to a port with a handler, and the
//! events found for the handlers in this turn of the stack thread. The
//! core's readiness events become port events here, with no queue of the
//! runtime's in between: a handler reads and writes the core's own buffers.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::SocketAddr;

use berth_core::handle::{HandleMap, HandleSet, SocketHandle};
use berth_core::stack::{Readiness, SocketEvent, Stack};
use berth_core::time::Instant;

/// What happened on a port with a callback. More kinds may come: match
/// with a `_` arm.
///
/// # Examples
///
/// ```
/// # use berth::NetStack;
/// # use berth_device::{channel::ChannelDevice, Medium};
/// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
/// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
/// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
/// use berth::PortEvent;
///
/// let _port = server.listen_with("198.18.0.2:7", |ctx, event| match event {
///     PortEvent::Accepted { conn, peer } => println!("{conn:?}: from {peer}"),
///     // Read until WouldBlock (edge-triggered); Ok(0) is the peer's FIN.
///     PortEvent::Readable(conn) => { /* ctx.recv(conn, ..) */ }
///     // Room again after a send answered WouldBlock.
///     PortEvent::Writable(conn) => { /* ctx.send(conn, ..) */ }
///     // A timer set with ctx.set_timer ran out.
///     PortEvent::Timer(conn) => drop(ctx.close(conn)),
///     // Reset, failed or closed both ways: no more events.
///     PortEvent::Closed(conn) => println!("{conn:?}: closed"),
///     // Only for a client connection of NetStack::connect_with.
///     PortEvent::Connected { .. } => {}
///     _ => {}
/// })?;
/// # std::io::Result::Ok(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PortEvent {
    /// A client connection made with
    /// [`NetStack::connect_with`](crate::NetStack::connect_with) is
    /// established (a failed one gets `Closed` instead).
    Connected {
        /// The connection.
        conn: SocketHandle,
        /// The peer's address.
        peer: SocketAddr,
    },
    /// A new connection, already accepted; `conn` names it from now on.
    Accepted {
        /// The connection.
        conn: SocketHandle,
        /// The peer's address.
        peer: SocketAddr,
    },
    /// New data (or the end of stream) can be read from `conn` (or, on a
    /// UDP socket of [`NetStack::udp_with`](crate::NetStack::udp_with),
    /// datagrams or an error wait).
    Readable(SocketHandle),
    /// `conn` can take more data: room came after a send found none (as
    /// Linux's `EPOLLOUT` edge), or it connected.
    Writable(SocketHandle),
    /// `conn` is closed (or failed); it is released after this event.
    Closed(SocketHandle),
    /// The timer set with [`PortCtx::set_timer`](crate::PortCtx::set_timer)
    /// for `conn` ran out (it is then unset).
    Timer(SocketHandle),
    /// The stack is stopping (its `NetStack` was dropped, `berth up`
    /// interrupted): finish `conn` or give it up, once. A handler that
    /// leaves a response half sent should [`abort`](crate::PortCtx::abort)
    /// it, so that the peer sees a reset rather than a cut stream that
    /// looks whole; a connection left open is closed (a FIN) right after
    /// this event. Connections that have not settled when the stack's
    /// grace period ends (2 s) are reset.
    Stopping(SocketHandle),
}

impl PortEvent {
    /// The connection the event is about.
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
    /// use berth::PortEvent;
    ///
    /// // State per connection, keyed by its handle.
    /// let mut received: HashMap<_, usize> = HashMap::new();
    /// let _port = server.listen_with("198.18.0.2:9", move |ctx, event| {
    ///     let conn = event.conn();
    ///     match event {
    ///         PortEvent::Readable(_) => {
    ///             let mut buf = [0; 1024];
    ///             while let Ok(n @ 1..) = ctx.recv(conn, &mut buf) {
    ///                 *received.entry(conn).or_default() += n;
    ///             }
    ///         }
    ///         PortEvent::Closed(_) => drop(received.remove(&conn)),
    ///         _ => {}
    ///     }
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn conn(&self) -> SocketHandle {
        match *self {
            Self::Accepted { conn, .. }
            | Self::Connected { conn, .. }
            | Self::Readable(conn)
            | Self::Writable(conn)
            | Self::Closed(conn)
            | Self::Timer(conn)
            | Self::Stopping(conn) => conn,
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
    listeners: HandleSet,
    /// Each connection's listener; a client connection (`connect_with`)
    /// and a UDP socket (`udp_with`) are their own.
    conns: HandleMap<SocketHandle>,
    /// Client connections not yet established.
    connecting: HandleSet,
    pending: Vec<Dispatch>,
    timers: Timers,
}

/// The connections' timers: each connection's deadline, and a heap of
/// when to look at them. Moving a deadline later (an idle timeout pushed
/// back at every read, say) touches only the map; the heap entry that
/// comes due first finds the new deadline and is filed again for it.
#[derive(Default)]
struct Timers {
    /// Each connection's deadline, and the heap entry that stands for it.
    deadlines: HandleMap<(Instant, Instant)>,
    heap: BinaryHeap<Reverse<(Instant, SocketHandle)>>,
}

impl Timers {
    fn set(&mut self, conn: SocketHandle, at: Option<Instant>) {
        let Some(at) = at else {
            self.deadlines.remove(&conn);
            return;
        };
        match self.deadlines.get_mut(&conn) {
            Some((deadline, filed)) if *filed <= at => *deadline = at,
            _ => {
                self.deadlines.insert(conn, (at, at));
                self.heap.push(Reverse((at, conn)));
            }
        }
    }

    fn next(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((at, _))| *at)
    }

    /// The connections whose deadline has come, each once.
    fn expire(&mut self, now: Instant, mut fire: impl FnMut(SocketHandle)) {
        while let Some(&Reverse((at, conn))) = self.heap.peek() {
            if at > now {
                return;
            }
            self.heap.pop();
            let Some(&(deadline, filed)) = self.deadlines.get(&conn) else {
                continue;
            };
            if filed != at {
                // Stale: another entry stands for this connection.
                continue;
            }
            if deadline <= now {
                self.deadlines.remove(&conn);
                fire(conn);
            } else {
                self.deadlines.insert(conn, (deadline, deadline));
                self.heap.push(Reverse((deadline, conn)));
            }
        }
    }
}

impl CallbackPorts {
    pub(crate) fn add_listener(&mut self, listener: SocketHandle) {
        self.listeners.insert(listener);
    }

    /// A client connection with a handler of its own: `Connected` when
    /// established.
    pub(crate) fn add_client(&mut self, conn: SocketHandle) {
        self.conns.insert(conn, conn);
        self.connecting.insert(conn);
    }

    /// A UDP socket with a handler of its own.
    pub(crate) fn add_udp(&mut self, sock: SocketHandle) {
        self.conns.insert(sock, sock);
    }

    /// The stack is stopping: a `Stopping` event for each TCP connection
    /// of a handler. Returns those connections (the handlers decide how
    /// they end; everything else is closed at once).
    pub(crate) fn stop(&mut self, stack: &Stack) -> Vec<SocketHandle> {
        let mut conns: Vec<(SocketHandle, SocketHandle)> = self
            .conns
            .iter()
            .filter(|&(&conn, _)| stack.tcp_state(conn).is_ok())
            .map(|(&conn, &listener)| (conn, listener))
            .collect();
        // Grouped by handler, in a stable order.
        conns.sort_unstable_by_key(|&(conn, listener)| (listener, conn));
        for &(conn, listener) in &conns {
            self.pending.push(Dispatch {
                listener,
                event: PortEvent::Stopping(conn),
            });
        }
        conns.into_iter().map(|(conn, _)| conn).collect()
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
            self.connecting.remove(c);
            self.timers.set(*c, None);
        }
        conns
    }

    /// Whether `conn` is a connection of `listener`'s port.
    pub(crate) fn owns(&self, listener: SocketHandle, conn: SocketHandle) -> bool {
        self.conns.get(&conn) == Some(&listener)
    }

    /// The handler released `conn`: no more events.
    pub(crate) fn forget(&mut self, conn: SocketHandle) -> bool {
        self.timers.set(conn, None);
        self.connecting.remove(&conn);
        self.conns.remove(&conn).is_some()
    }

    /// Sets (or with `None` clears) `conn`'s timer.
    pub(crate) fn set_timer(&mut self, conn: SocketHandle, at: Option<Instant>) {
        self.timers.set(conn, at);
    }

    /// When the next timer may run out.
    pub(crate) fn next_timer(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// `Timer` events for the timers that ran out by `now`.
    pub(crate) fn expire(&mut self, now: Instant) {
        let Self {
            conns,
            pending,
            timers,
            ..
        } = self;
        timers.expire(now, |conn| {
            if let Some(&listener) = conns.get(&conn) {
                pending.push(Dispatch {
                    listener,
                    event: PortEvent::Timer(conn),
                });
            }
        });
    }

    /// Whether no port, connection or UDP socket is served by callbacks.
    pub(crate) fn is_empty(&self) -> bool {
        self.listeners.is_empty() && self.conns.is_empty() && self.pending.is_empty()
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
        if ev.readiness.contains(Readiness::CONNECTED)
            && self.connecting.remove(&conn)
            && let Ok(info) = stack.tcp_info(conn)
        {
            self.pending.push(Dispatch {
                listener,
                event: PortEvent::Connected {
                    conn,
                    peer: info.remote,
                },
            });
        }
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
            self.timers.set(conn, None);
            self.connecting.remove(&conn);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers_fire_once_at_their_latest_deadline() {
        let mut t = Timers::default();
        // Two handles to name connections by.
        let mut cfg = berth_core::config::StackConfig::default();
        cfg.addrs.push("198.18.0.1".parse().unwrap());
        let mut stack = Stack::new(cfg);
        let a = stack.udp_bind("198.18.0.1:1".parse().unwrap()).unwrap();
        let b = stack.udp_bind("198.18.0.1:2".parse().unwrap()).unwrap();
        let at = Instant::from_micros;
        t.set(a, Some(at(100)));
        t.set(b, Some(at(50)));
        // Pushed back: only the map changes.
        t.set(a, Some(at(300)));
        assert_eq!(t.next(), Some(at(50)));
        let mut fired = Vec::new();
        t.expire(at(100), |c| fired.push(c));
        assert_eq!(fired, [b], "a's old deadline is not its deadline");
        assert_eq!(t.next(), Some(at(300)));
        // Brought forward: filed again.
        t.set(a, Some(at(200)));
        t.expire(at(250), |c| fired.push(c));
        assert_eq!(fired, [b, a]);
        t.expire(at(1000), |c| fired.push(c));
        assert_eq!(fired, [b, a], "once");
        // Cleared: never fires.
        t.set(b, Some(at(2000)));
        t.set(b, None);
        t.expire(at(3000), |c| fired.push(c));
        assert_eq!(fired, [b, a]);
    }
}
