//! Admission of new connections: the resource limits a connection must fit
//! before it exists (sockets, connections per listener, buffer memory), and
//! putting an admitted one in the socket and port tables.
//!
//! A limit refuses new work only: a SYN is dropped (the client retries),
//! `tcp_connect` returns [`SocketError::LimitReached`]; connections that
//! exist are never touched. Every path that makes a connection comes
//! through here: active opens and SYNs (`tcp.rs`), SYNs the application
//! completes (`deferred.rs`) and ACKs that return a SYN cookie
//! (`syn_cookie.rs`).

use super::drops::{DropReason, Flow};
use super::tcp::TcpSocket;
use super::{Socket, SocketError, Stack};
use crate::handle::SocketHandle;
use crate::tcp::Connection;

impl Stack {
    /// Bytes of buffer memory a new connection needs room for: the first
    /// storage of each of its buffers.
    pub(super) const NEW_CONN_BUFFERS: usize = 2 * 4096;

    /// Whether one more connection (from listener `lh`, if any) fits the
    /// limits; each refusal is counted and logged against `flow`, the
    /// connection refused.
    pub(super) fn admit(
        &mut self,
        lh: Option<SocketHandle>,
        flow: Flow,
    ) -> Result<(), SocketError> {
        if let Some(Socket::Listener(l)) = lh.and_then(|lh| self.sockets.get(lh))
            && l.conns >= self.cfg.max_conns_per_listener
        {
            self.dropped(DropReason::ListenerConnLimit, flow);
            return Err(SocketError::LimitReached);
        }
        if self.buffer_memory.saturating_add(Self::NEW_CONN_BUFFERS) > self.cfg.max_buffer_memory {
            self.dropped(DropReason::BufferMemoryLimit, flow);
            return Err(SocketError::LimitReached);
        }
        // Last: a TIME-WAIT gives way only for a connection that fits
        // every other limit (a refused SYN must not end one for nothing).
        if self.sockets.len() >= self.cfg.max_sockets && !self.recycle_time_wait() {
            self.dropped(DropReason::SocketLimit, flow);
            return Err(SocketError::LimitReached);
        }
        Ok(())
    }

    /// Puts an admitted connection in the socket table and the port table,
    /// charging its buffers (and its listener's count).
    pub(super) fn insert_conn(
        &mut self,
        conn: Connection,
        lh: Option<SocketHandle>,
        app_owned: bool,
    ) -> SocketHandle {
        let (local, remote) = (conn.local(), conn.remote());
        // A connection a listener makes inherits its TTL (Linux copies
        // `uc_ttl` in inet_csk_clone_lock).
        let (ttl, linger) = match lh.and_then(|lh| self.sockets.get(lh)) {
            Some(Socket::Listener(l)) => (l.ttl, l.opts.linger),
            _ => (None, None),
        };
        let h = self.sockets.insert(Socket::Tcp(Box::new(TcpSocket {
            conn,
            listener: lh,
            origin: lh,
            app_owned,
            queued: false,
            timer_at: None,
            charged: 0,
            ttl,
            linger,
            time_wait_listed: false,
        })));
        if !self.is_local(local.ip()) {
            self.non_local_conns += 1;
        }
        if let Some(Socket::Listener(l)) = lh.and_then(|lh| self.sockets.get_mut(lh)) {
            l.conns += 1;
        }
        self.ports.insert_tcp_conn(local, remote, h);
        h
    }
}
