//! Connections in TIME-WAIT: what they keep, and how they give way.
//!
//! A connection in TIME-WAIT with nothing left to read needs no buffers,
//! only its quiet time (RFC 9293 3.6), as Linux swaps such a socket for a
//! small `tcp_timewait_sock`: the buffers' storage goes and the memory
//! charge is released, so that a burst of short connections cannot lock
//! new ones out for a TIME-WAIT period.
//!
//! For the same reason TIME-WAIT never keeps a new socket out at
//! `max_sockets`: the oldest connection in TIME-WAIT that the application
//! has closed ends early to make room. Linux's equivalent is its limit on
//! TIME-WAIT sockets (`tcp_max_tw_buckets`), past which a closing
//! connection skips TIME-WAIT; both trade the rest of one old connection's
//! quiet time for a new connection, rather than refuse service to the
//! rate of connections a busy server sees (tens of thousands a second,
//! each in TIME-WAIT for 60 s). A 4-tuple that comes back while its old
//! incarnation still waits reuses it instead (`tcp.rs`, RFC 6191).
//!
//! And once the application has closed it, the connection itself goes:
//! its slab slot then holds a [`TimeWaitSocket`], a compact record of
//! what TIME-WAIT needs (`tcp/connection/time_wait_sock.rs`), under the
//! same handle, so that the port table, the timer heap and the list of
//! connections in TIME-WAIT go on naming it. A connection the application
//! still holds keeps its full form until it is closed.

use super::{Socket, Stack};
use crate::handle::SocketHandle;
use crate::tcp::{State, TimeWaitSock};
use crate::time::Instant;

/// A connection in TIME-WAIT no application holds, in its compact form,
/// with the stack's bookkeeping of it (what `TcpSocket` keeps of a full
/// connection that TIME-WAIT still needs).
#[derive(Debug)]
pub(super) struct TimeWaitSocket {
    pub(super) conn: TimeWaitSock,
    /// The listener that made it, for its connection count.
    pub(super) origin: Option<SocketHandle>,
    /// The deadline it has in the timer heap (see `reschedule`).
    pub(super) timer_at: Option<Instant>,
    /// `IP_TTL` / `IPV6_UNICAST_HOPS` of its packets (else the stack's).
    pub(super) ttl: Option<u8>,
    /// Already in the dirty queue.
    pub(super) queued: bool,
}

impl Stack {
    /// After a change to `h`: in TIME-WAIT, its buffers go (if nothing is
    /// left to read), it joins the list of connections in TIME-WAIT, and
    /// it no longer counts as one of its listener's connections.
    pub(super) fn release_time_wait_buffers(&mut self, h: SocketHandle) {
        let Some(Socket::Tcp(t)) = self.sockets.get_mut(h) else {
            return;
        };
        if t.conn.state() != State::TimeWait {
            return;
        }
        t.conn.release_buffers();
        if t.time_wait_listed {
            return;
        }
        t.time_wait_listed = true;
        // No longer one of its listener's connections: a quiet time takes
        // no live connection's place (`max_conns_per_listener`), as Linux's
        // timewait sockets count against no listener.
        let origin = t.origin.take();
        if let Some(Socket::Listener(l)) = origin.and_then(|o| self.sockets.get_mut(o)) {
            l.conns = l.conns.saturating_sub(1);
        }
        self.time_waits.push_back(h);
        // Stale entries (connections whose TIME-WAIT ran out) are dropped
        // when they pile up, as stale timer entries are.
        if self.time_waits.len() > 2 * self.sockets.len() + 64 {
            let sockets = &self.sockets;
            self.time_waits.retain(|&h| match sockets.get(h) {
                Some(Socket::Tcp(t)) => t.conn.state() == State::TimeWait,
                Some(Socket::TimeWait(tw)) => !tw.conn.is_closed(),
                _ => false,
            });
        }
    }

    /// Frees the oldest connection in TIME-WAIT that no application
    /// holds, to make room for a new socket. Whether one was freed.
    pub(super) fn recycle_time_wait(&mut self) -> bool {
        while let Some(h) = self.time_waits.pop_front() {
            match self.sockets.get_mut(h) {
                Some(Socket::Tcp(t)) => {
                    if t.conn.state() != State::TimeWait {
                        continue;
                    }
                    if t.app_owned {
                        // It stays; closing it lists it again.
                        t.time_wait_listed = false;
                        continue;
                    }
                }
                // No application holds a compact one.
                Some(Socket::TimeWait(tw)) if !tw.conn.is_closed() => {}
                _ => continue,
            }
            self.stats.time_wait_recycled += 1;
            tracing::debug!(?h, "TIME-WAIT connection ended early: socket limit");
            self.free_tcp(h);
            return true;
        }
        false
    }

    /// After a change to `h`: a connection in TIME-WAIT that no
    /// application holds (it was closed) becomes a [`TimeWaitSocket`] in
    /// its slot, under the same handle, once nothing is left in it that
    /// only the full connection can hold (`Connection::time_wait_sock`).
    /// Its events and any ACK it owes go with it.
    pub(super) fn compact_time_wait(&mut self, h: SocketHandle) {
        let Some(slot) = self.sockets.get_mut(h) else {
            return;
        };
        let Socket::Tcp(t) = slot else {
            return;
        };
        if t.app_owned || t.listener.is_some() {
            return;
        }
        let Some(conn) = t.conn.time_wait_sock() else {
            return;
        };
        // INVARIANT: it is in `time_waits` (`release_time_wait_buffers`
        // listed it before this, and only a held one is taken off the list
        // without being freed), where it stays while it lives.
        let charged = t.charged;
        *slot = Socket::TimeWait(TimeWaitSocket {
            conn,
            origin: t.origin,
            timer_at: t.timer_at,
            ttl: t.ttl,
            queued: t.queued,
        });
        self.buffer_memory = self.buffer_memory.saturating_sub(charged);
    }

    /// Whether `h` is a connection in TIME-WAIT in its compact form.
    #[cfg(test)]
    pub(crate) fn is_compact_time_wait(&self, h: SocketHandle) -> bool {
        matches!(self.sockets.get(h), Some(Socket::TimeWait(_)))
    }
}
