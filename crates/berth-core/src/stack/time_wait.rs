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

use super::{Socket, Stack};
use crate::handle::SocketHandle;
use crate::tcp::State;

impl Stack {
    /// After a change to `h`: in TIME-WAIT, its buffers go (if nothing is
    /// left to read) and it joins the list of connections in TIME-WAIT.
    pub(super) fn release_time_wait_buffers(&mut self, h: SocketHandle) {
        let Some(Socket::Tcp(t)) = self.sockets.get_mut(h) else {
            return;
        };
        if t.conn.state() != State::TimeWait {
            return;
        }
        t.conn.release_buffers();
        if !t.time_wait_listed {
            t.time_wait_listed = true;
            self.time_waits.push_back(h);
            // Stale entries (connections whose TIME-WAIT ran out) are
            // dropped when they pile up, as stale timer entries are.
            if self.time_waits.len() > 2 * self.sockets.len() + 64 {
                let sockets = &self.sockets;
                self.time_waits.retain(|&h| {
                    matches!(sockets.get(h), Some(Socket::Tcp(t)) if t.conn.state() == State::TimeWait)
                });
            }
        }
    }

    /// Frees the oldest connection in TIME-WAIT that no application
    /// holds, to make room for a new socket. Whether one was freed.
    pub(super) fn recycle_time_wait(&mut self) -> bool {
        while let Some(h) = self.time_waits.pop_front() {
            let Some(Socket::Tcp(t)) = self.sockets.get_mut(h) else {
                continue;
            };
            if t.conn.state() != State::TimeWait {
                continue;
            }
            if t.app_owned {
                // It stays; closing it lists it again.
                t.time_wait_listed = false;
                continue;
            }
            self.stats.time_wait_recycled += 1;
            tracing::debug!(?h, "TIME-WAIT connection ended early: socket limit");
            self.free_tcp(h);
            return true;
        }
        false
    }
}
