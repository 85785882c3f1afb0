//! TCP sockets bound before they listen or connect: the sockets API's
//! `socket`, `bind`, then `listen` or `connect`, the sequence tokio's
//! `TcpSocket` follows. A bound socket holds its address and port against
//! other binds, listeners and ephemeral picks, as a Linux socket in CLOSE
//! holds its bind bucket, and receives nothing: a SYN to it finds no
//! listener and is answered with a reset (RFC 9293 3.10.7.1). Two sockets
//! share a port only if both set `SO_REUSEADDR` and neither listens
//! (Linux's `inet_csk_bind_conflict`, without `SO_REUSEPORT`).

use std::net::SocketAddr;

use super::tcp::Listener;
use super::{Socket, SocketError, Stack, TcpOptions};
use crate::demux::ephemeral;
use crate::handle::SocketHandle;
use crate::time::Instant;

/// A TCP socket bound to a local address and port, not yet listening or
/// connected.
#[derive(Debug)]
pub(super) struct BoundTcp {
    /// The port table keeps its `SO_REUSEADDR`.
    pub(super) local: SocketAddr,
    /// `IP_TTL`, which the listener or connection it becomes keeps.
    pub(super) ttl: Option<u8>,
}

impl Stack {
    /// Binds a TCP socket to `local` (one of our addresses or the
    /// unspecified address of a family; port 0 picks a free ephemeral
    /// port), for a later [`Stack::tcp_listen_bound`] or
    /// [`Stack::tcp_connect_bound`]. `AddrInUse` when a listener holds the
    /// port, when another bound socket does (unless both reuse the
    /// address), or, without `reuse_addr`, when a connection uses it (one
    /// in TIME-WAIT, say); `AddrNotAvailable` for an address not ours.
    pub fn tcp_bind(
        &mut self,
        local: SocketAddr,
        reuse_addr: bool,
    ) -> Result<SocketHandle, SocketError> {
        if !local.ip().is_unspecified() && !self.is_local(local.ip()) {
            return Err(SocketError::AddrNotAvailable);
        }
        let ports = &self.ports;
        let local = if local.port() == 0 {
            // A port nothing uses at all, as Linux's inet_csk_get_port
            // prefers.
            let random = self.rng.next_u64();
            let port = ephemeral::pick(&self.cfg.ephemeral_ports, random, |p| {
                let at = SocketAddr::new(local.ip(), p);
                !ports.tcp_port_taken(at)
                    && !ports.tcp_port_bound(at)
                    && !ports.tcp_port_has_conns(at)
            })
            .ok_or(SocketError::AddrInUse)?;
            SocketAddr::new(local.ip(), port)
        } else if ports.tcp_port_taken(local)
            || ports.tcp_bound_conflict(local, reuse_addr)
            || (!reuse_addr && ports.tcp_port_has_conns(local))
        {
            return Err(SocketError::AddrInUse);
        } else {
            local
        };
        self.alloc_check()?;
        let h = self
            .sockets
            .insert(Socket::Bound(BoundTcp { local, ttl: None }));
        self.ports.bind_tcp_bound(local, reuse_addr, h);
        Ok(h)
    }

    fn bound(&self, h: SocketHandle) -> Result<&BoundTcp, SocketError> {
        match self.sockets.get(h) {
            Some(Socket::Bound(b)) => Ok(b),
            _ => Err(SocketError::InvalidHandle),
        }
    }

    /// Makes bound socket `h` a listener on its address (the same handle),
    /// with Linux's backlog meaning (see [`Stack::tcp_listen`]) and the
    /// options its connections are made with. `AddrInUse` if a listener
    /// took the port since; the socket then stays bound.
    pub fn tcp_listen_bound(
        &mut self,
        h: SocketHandle,
        backlog: usize,
        opts: TcpOptions,
    ) -> Result<(), SocketError> {
        let b = self.bound(h)?;
        let (local, ttl) = (b.local, b.ttl);
        if self.ports.tcp_port_taken(local) {
            return Err(SocketError::AddrInUse);
        }
        self.ports.unbind_tcp_bound(h);
        if let Some(s) = self.sockets.get_mut(h) {
            *s = Socket::Listener(Listener::new(local, backlog, ttl, opts));
        }
        if self.ports.bind_tcp_listener(local, h).is_err() {
            // Checked above; a bind of port 0 cannot be here (a bound
            // socket has its port).
            self.sockets.remove(h);
            return Err(SocketError::AddrInUse);
        }
        Ok(())
    }

    /// Connects bound socket `h` to `remote` from its address and port (an
    /// unspecified address takes ours for `remote`), with `opts`. The bound
    /// socket is used up either way: on success the connection has a
    /// handle of its own; on failure the port is free again. A `remote` of
    /// the other family is `InvalidInput`.
    pub fn tcp_connect_bound(
        &mut self,
        now: Instant,
        h: SocketHandle,
        remote: SocketAddr,
        opts: TcpOptions,
    ) -> Result<SocketHandle, SocketError> {
        let b = self.bound(h)?;
        let (local, ttl) = (b.local, b.ttl);
        self.close_bound(h);
        if local.is_ipv4() != remote.is_ipv4() {
            return Err(SocketError::InvalidInput);
        }
        let c = self.tcp_connect_with(now, remote, Some(local), opts)?;
        if let Some(Socket::Tcp(t)) = self.sockets.get_mut(c) {
            t.ttl = ttl;
        }
        Ok(c)
    }

    /// Frees bound socket `h` and its port.
    pub(super) fn close_bound(&mut self, h: SocketHandle) {
        if let Some(Socket::Bound(_)) = self.sockets.get(h) {
            self.sockets.remove(h);
            self.ports.unbind_tcp_bound(h);
        }
    }
}
