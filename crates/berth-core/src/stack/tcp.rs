//! TCP in the stack: listeners with a SYN queue and an accept queue (Linux
//! backlog semantics), connections routed by the port table, active opens
//! with RFC 6056 ephemeral ports and RFC 6528 ISNs, and the RST owed to a
//! segment that reaches no socket (RFC 9293 3.10.7.1). What happens when
//! the SYN queue overflows (SYN cookies) is in `syn_cookie.rs`, the limits
//! every new connection must fit in `admission.rs`. A transparent listener
//! ([`Stack::tcp_listen_transparent`]) accepts connections to any address
//! and port nothing else claims; each keeps the original destination as its
//! local address.

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};

use super::deferred::Held;
use super::drops::{DropReason, Flow};
use super::time_wait::TimeWaitSocket;
use super::{Readiness, Socket, SocketError, Stack, TcpOptions};
use crate::demux::{TcpTarget, ephemeral};
use crate::handle::SocketHandle;
use crate::tcp::segment::{Reset, reset_for};
use crate::tcp::seq::SeqNum;
use crate::tcp::{
    ConnError, Connection, Events, MemoryPressure, Outcome, RecvError, Segment, SendError, State,
};
use crate::time::{Duration, Instant};
use crate::wire::{IpProtocol, TcpPacket, TcpRepr};

/// A listening socket.
#[derive(Debug)]
pub(super) struct Listener {
    pub(super) local: SocketAddr,
    pub(super) backlog: usize,
    /// Half-open connections (SYN-RECEIVED) made from this listener.
    pub(super) syn_queue: usize,
    /// Established connections not yet accepted.
    pub(super) accept_queue: VecDeque<SocketHandle>,
    /// Live connections made from this listener, accepted ones included.
    pub(super) conns: usize,
    /// When the SYN queue last overflowed: ACKs are checked for cookies
    /// only for a while after (Linux `tcp_synq_no_recent_overflow`;
    /// `syn_cookie.rs`).
    pub(super) last_overflow: Option<Instant>,
    /// The catch-all listener: connections to any address and port.
    pub(super) transparent: bool,
    /// `IP_TTL` / `IPV6_UNICAST_HOPS`, which its connections inherit.
    pub(super) ttl: Option<u8>,
    /// The socket options its connections are made with.
    pub(super) opts: TcpOptions,
    /// Holds each SYN until the application decides (`deferred.rs`).
    pub(super) defer: bool,
    /// The SYNs it holds.
    pub(super) held: Held,
}

impl Listener {
    /// A listener on `local` (not the transparent one).
    pub(super) fn new(
        local: SocketAddr,
        backlog: usize,
        ttl: Option<u8>,
        opts: TcpOptions,
    ) -> Self {
        Self {
            local,
            backlog: backlog.clamp(1, 65535),
            syn_queue: 0,
            accept_queue: VecDeque::new(),
            conns: 0,
            last_overflow: None,
            transparent: false,
            ttl,
            opts,
            defer: false,
            held: Held::default(),
        }
    }
}

/// A connection and who holds it.
#[derive(Debug)]
pub(super) struct TcpSocket {
    pub(super) conn: Connection,
    /// The listener, while the connection waits in its queues.
    pub(super) listener: Option<SocketHandle>,
    /// The listener that made it, for its connection count.
    pub(super) origin: Option<SocketHandle>,
    /// The application holds a handle (connected, or accepted).
    pub(super) app_owned: bool,
    /// Already in the dirty queue.
    pub(super) queued: bool,
    /// The deadline this socket has in the timer heap: no later than its
    /// connection's next deadline, possibly earlier (see `reschedule`).
    pub(super) timer_at: Option<Instant>,
    /// What its buffers hold, charged against `max_buffer_memory` (until
    /// it is freed; in TIME-WAIT with nothing left to read they hold
    /// nothing).
    pub(super) charged: usize,
    /// `IP_TTL` / `IPV6_UNICAST_HOPS` of its packets (else the stack's).
    pub(super) ttl: Option<u8>,
    /// `SO_LINGER`: `Some(0)` makes `tcp_close` reset the connection.
    pub(super) linger: Option<Duration>,
    /// In the stack's list of connections in TIME-WAIT.
    pub(super) time_wait_listed: bool,
}

/// What `berth ss` shows of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpInfo {
    /// The state.
    pub state: State,
    /// Local address.
    pub local: SocketAddr,
    /// Peer address.
    pub remote: SocketAddr,
    /// Bytes waiting to be read.
    pub recv_queue: usize,
    /// Bytes not yet acknowledged.
    pub send_queue: usize,
    /// Smoothed RTT.
    pub srtt: Option<Duration>,
    /// Retransmission timeout.
    pub rto: Duration,
    /// Congestion window, bytes.
    pub cwnd: usize,
    /// Slow-start threshold, bytes.
    pub ssthresh: usize,
    /// Bytes in flight (RFC 6675 pipe: sent, less SACKed and lost, plus
    /// retransmitted).
    pub in_flight: usize,
    /// The receive buffer's current size (it grows with use).
    pub recv_buffer: usize,
    /// The send buffer's current size (it grows with cwnd).
    pub send_buffer: usize,
    /// Counters.
    pub stats: crate::tcp::ConnStats,
}

pub(super) fn map_conn_error(e: ConnError) -> SocketError {
    match e {
        ConnError::Refused => SocketError::ConnectionRefused,
        ConnError::Reset => SocketError::ConnectionReset,
        ConnError::TimedOut => SocketError::TimedOut,
        ConnError::HostUnreachable => SocketError::HostUnreachable,
        ConnError::NetworkUnreachable => SocketError::NetworkUnreachable,
        ConnError::Prohibited => SocketError::PermissionDenied,
    }
}

impl Stack {
    fn tcp_mut(&mut self, h: SocketHandle) -> Result<&mut TcpSocket, SocketError> {
        match self.sockets.get_mut(h) {
            Some(Socket::Tcp(t)) => Ok(t),
            _ => Err(SocketError::InvalidHandle),
        }
    }

    fn tcp_ref(&self, h: SocketHandle) -> Result<&TcpSocket, SocketError> {
        match self.sockets.get(h) {
            Some(Socket::Tcp(t)) => Ok(t),
            _ => Err(SocketError::InvalidHandle),
        }
    }

    /// `h`, if it is a connection in TIME-WAIT in its compact form (which
    /// answers the calls on it as the full connection in TIME-WAIT would,
    /// after the application closed it).
    fn time_wait_mut(&mut self, h: SocketHandle) -> Option<&mut TimeWaitSocket> {
        match self.sockets.get_mut(h) {
            Some(Socket::TimeWait(tw)) => Some(tw),
            _ => None,
        }
    }

    fn time_wait_ref(&self, h: SocketHandle) -> Option<&TimeWaitSocket> {
        match self.sockets.get(h) {
            Some(Socket::TimeWait(tw)) => Some(tw),
            _ => None,
        }
    }

    /// Queues a connection for `poll_transmit` (and files its deadline:
    /// whatever may have output may also have moved a timer).
    pub(super) fn mark_dirty(&mut self, h: SocketHandle) {
        let queued = match self.sockets.get_mut(h) {
            Some(Socket::Tcp(t)) => Some(&mut t.queued),
            Some(Socket::TimeWait(tw)) => Some(&mut tw.queued),
            _ => None,
        };
        if let Some(queued) = queued
            && !*queued
        {
            *queued = true;
            self.dirty.push_back(h);
        }
        self.reschedule(h);
    }

    /// Listens on `local` (a specific address of ours, or the unspecified
    /// address of a family) with Linux's backlog meaning: up to `backlog`
    /// connections wait to be accepted, and as many may be half-open. Port
    /// 0 picks a free ephemeral port (see the listener's `local_addr`).
    ///
    /// This binds with `SO_REUSEADDR`, as std's `TcpListener::bind` does on
    /// Unix: connections lingering on the port (TIME-WAIT) do not block it.
    pub fn tcp_listen(
        &mut self,
        local: SocketAddr,
        backlog: usize,
    ) -> Result<SocketHandle, SocketError> {
        self.tcp_listen_opts(local, backlog, true)
    }

    /// `tcp_listen` with the reuse-address choice explicit: without it, any
    /// connection still using the local port (in TIME-WAIT, say) makes the
    /// bind fail with `AddrInUse`, as on Linux without `SO_REUSEADDR`.
    pub fn tcp_listen_opts(
        &mut self,
        local: SocketAddr,
        backlog: usize,
        reuse_addr: bool,
    ) -> Result<SocketHandle, SocketError> {
        self.tcp_listen_with(local, backlog, reuse_addr, TcpOptions::default())
    }

    /// `tcp_listen_opts` with the socket options the listener's connections
    /// are made with (Linux's accepted sockets inherit the listener's).
    pub fn tcp_listen_with(
        &mut self,
        local: SocketAddr,
        backlog: usize,
        reuse_addr: bool,
        opts: TcpOptions,
    ) -> Result<SocketHandle, SocketError> {
        if !local.ip().is_unspecified() && !self.is_local(local.ip()) {
            return Err(SocketError::AddrNotAvailable);
        }
        let local = if local.port() == 0 {
            // Port 0: an ephemeral port no listener and no connection uses
            // (Linux's inet_csk_get_port picks from the same range).
            let random = self.rng.next_u64();
            let ports = &self.ports;
            let port = ephemeral::pick(&self.cfg.ephemeral_ports, random, |p| {
                let at = SocketAddr::new(local.ip(), p);
                !ports.tcp_port_taken(at)
                    && !ports.tcp_port_has_conns(at)
                    && !ports.tcp_port_bound(at)
            })
            .ok_or(SocketError::AddrInUse)?;
            SocketAddr::new(local.ip(), port)
        } else {
            local
        };
        if !reuse_addr && self.ports.tcp_port_has_conns(local) {
            return Err(SocketError::AddrInUse);
        }
        // A socket bound there (not listening) holds the port unless both
        // reuse the address.
        if self.ports.tcp_bound_conflict(local, reuse_addr) {
            return Err(SocketError::AddrInUse);
        }
        self.alloc_check()?;
        let h = self
            .sockets
            .insert(Socket::Listener(Listener::new(local, backlog, None, opts)));
        if let Err(e) = self.ports.bind_tcp_listener(local, h) {
            self.sockets.remove(h);
            return Err(match e {
                crate::demux::BindError::AddrInUse => SocketError::AddrInUse,
                crate::demux::BindError::InvalidInput => SocketError::InvalidInput,
            });
        }
        Ok(h)
    }

    /// A transparent (catch-all) listener: it accepts connections to ANY
    /// address and port, of either family, that no connection or listener
    /// claims (lookup order: exact 4-tuple, listener on the address,
    /// wildcard listener, then this one). An accepted connection's
    /// `local_addr` is the destination the peer dialled, so a proxy knows
    /// where to relay. One per stack (`AddrInUse` for a second); the
    /// listener's own `local_addr` is `0.0.0.0:0`.
    pub fn tcp_listen_transparent(&mut self, backlog: usize) -> Result<SocketHandle, SocketError> {
        self.alloc_check()?;
        let backlog = backlog.clamp(1, 65535);
        let h = self.sockets.insert(Socket::Listener(Listener {
            local: SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), 0),
            backlog,
            syn_queue: 0,
            accept_queue: VecDeque::new(),
            conns: 0,
            last_overflow: None,
            transparent: true,
            ttl: None,
            opts: TcpOptions::default(),
            defer: false,
            held: Held::default(),
        }));
        if self.ports.bind_tcp_transparent(h).is_err() {
            self.sockets.remove(h);
            return Err(SocketError::AddrInUse);
        }
        Ok(h)
    }

    /// The local address of a socket.
    pub fn local_addr(&self, h: SocketHandle) -> Result<SocketAddr, SocketError> {
        match self.sockets.get(h) {
            Some(Socket::Listener(l)) => Ok(l.local),
            Some(Socket::Tcp(t)) => Ok(t.conn.local()),
            Some(Socket::TimeWait(tw)) => Ok(tw.conn.local()),
            // A connected socket bound to the wildcard names the address
            // its datagrams leave from, as Linux's getsockname does after
            // connect(2) (ip4_datagram_connect takes the route's source).
            Some(Socket::Udp(u)) => Ok(match u.remote {
                Some(remote) if u.local.ip().is_unspecified() && !u.transparent => self
                    .source_for(remote.ip())
                    .map_or(u.local, |ip| SocketAddr::new(ip, u.local.port())),
                _ => u.local,
            }),
            Some(Socket::Bound(b)) => Ok(b.local),
            // Any address: it takes what nothing else does.
            Some(Socket::Echo(_)) => Ok(SocketAddr::new(
                IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
                0,
            )),
            None => Err(SocketError::InvalidHandle),
        }
    }

    /// A listener's backlog and how many connections wait to be accepted.
    pub fn listener_queue(&self, listener: SocketHandle) -> Result<(usize, usize), SocketError> {
        match self.sockets.get(listener) {
            Some(Socket::Listener(l)) => Ok((l.backlog, l.accept_queue.len())),
            _ => Err(SocketError::InvalidHandle),
        }
    }

    /// Takes the next established connection from a listener's queue.
    pub fn tcp_accept(
        &mut self,
        listener: SocketHandle,
    ) -> Result<Option<(SocketHandle, SocketAddr)>, SocketError> {
        let Some(Socket::Listener(l)) = self.sockets.get_mut(listener) else {
            return Err(SocketError::InvalidHandle);
        };
        let Some(h) = l.accept_queue.pop_front() else {
            return Ok(None);
        };
        let t = self.tcp_mut(h)?;
        t.listener = None;
        t.app_owned = true;
        let remote = t.conn.remote();
        Ok(Some((h, remote)))
    }

    /// Opens a connection to `remote` from `local` (or from one of our
    /// addresses and an ephemeral port).
    pub fn tcp_connect(
        &mut self,
        now: Instant,
        remote: SocketAddr,
        local: Option<SocketAddr>,
    ) -> Result<SocketHandle, SocketError> {
        self.tcp_connect_with(now, remote, local, TcpOptions::default())
    }

    /// `tcp_connect` with the socket options the connection is made with.
    pub fn tcp_connect_with(
        &mut self,
        now: Instant,
        remote: SocketAddr,
        local: Option<SocketAddr>,
        opts: TcpOptions,
    ) -> Result<SocketHandle, SocketError> {
        if !Self::remote_ok(remote) {
            return Err(SocketError::InvalidInput);
        }
        if matches!(remote.ip(), IpAddr::V4(v4) if v4.is_broadcast()) {
            // No connection to a broadcast address (Linux tcp_v4_connect:
            // ENETUNREACH for a broadcast route).
            return Err(SocketError::NetworkUnreachable);
        }
        if !self.routable(remote.ip()) {
            return Err(SocketError::NetworkUnreachable);
        }
        self.alloc_check()?;
        let ip = match local.map(|l| l.ip()).filter(|ip| !ip.is_unspecified()) {
            Some(ip) if self.is_local(ip) && ip.is_ipv4() == remote.is_ipv4() => ip,
            Some(_) => return Err(SocketError::AddrNotAvailable),
            None => self
                .source_for(remote.ip())
                .ok_or(SocketError::AddrNotAvailable)?,
        };
        if !self.may_send_from(ip, remote.ip()) {
            return Err(SocketError::InvalidInput);
        }
        let local = match local.map(|l| l.port()).filter(|&p| p != 0) {
            Some(port) => {
                let local = SocketAddr::new(ip, port);
                if !self.tcp_tuple_usable(now, local, remote) {
                    return Err(SocketError::AddrInUse);
                }
                local
            }
            None => {
                // RFC 6056 Algorithm 4 over the range; a tuple in TIME-WAIT
                // that may be reused counts as free, as in Linux's
                // __inet_hash_connect (the sequence reaches the oldest
                // ones first).
                let (select, ports, sockets, cfg) =
                    (&mut self.port_select, &self.ports, &self.sockets, &self.cfg);
                let port = select
                    .pick(&cfg.ephemeral_ports, ip, remote, |p| {
                        // Ports bound (not yet listening or connected) are
                        // skipped.
                        let at = SocketAddr::new(ip, p);
                        tuple_usable(ports, sockets, cfg, now, at, remote)
                            && !ports.tcp_port_bound(at)
                    })
                    .ok_or(SocketError::AddrNotAvailable)?;
                SocketAddr::new(ip, port)
            }
        };
        // A previous incarnation in TIME-WAIT gives way to the new one.
        if let Some(old) = self.ports.tcp_conn_at(local, remote) {
            self.stats.time_wait_reused += 1;
            tracing::debug!(%local, %remote, "TIME-WAIT connection replaced by a new one");
            self.free_tcp(old);
        }
        self.admit(None, Flow::Ports { local, remote })?;
        let iss = SeqNum::new(self.isn.generate(now, local, remote));
        // Per-tuple, not per-connection: a new incarnation's timestamps
        // continue the old one's (Linux secure_tcp_ts_off, RFC 7323 5.4).
        let ts_offset = self.cookies.ts_offset(local, remote);
        let cfg = self.tcp_config_for(remote.ip(), &opts);
        let conn = Connection::connect(now, cfg, local, remote, iss, ts_offset);
        let h = self.insert_conn(conn, None, true);
        if let Ok(t) = self.tcp_mut(h) {
            t.linger = opts.linger;
        }
        self.mark_dirty(h);
        Ok(h)
    }

    /// Whether a connection may use this 4-tuple now: free, or held by a
    /// TIME-WAIT incarnation that may be reused.
    fn tcp_tuple_usable(&self, now: Instant, local: SocketAddr, remote: SocketAddr) -> bool {
        tuple_usable(&self.ports, &self.sockets, &self.cfg, now, local, remote)
    }

    /// Sends on a connection; `Err(WouldBlock)` when the send queue is full.
    pub fn tcp_send(&mut self, h: SocketHandle, data: &[u8]) -> Result<usize, SocketError> {
        if self.time_wait_ref(h).is_some() {
            // Our FIN went long ago (RFC 9293 3.10.2: "connection closing").
            return Err(SocketError::BrokenPipe);
        }
        let t = self.tcp_mut(h)?;
        let n = t.conn.send(data).map_err(|e| match e {
            SendError::Closed => SocketError::BrokenPipe,
            SendError::Failed(e) => map_conn_error(e),
        })?;
        if n == 0 && !data.is_empty() {
            return Err(SocketError::WouldBlock);
        }
        self.mark_dirty(h);
        Ok(n)
    }

    /// Reads from a connection: `Ok(0)` is end of stream (std's meaning),
    /// `Err(WouldBlock)` means nothing yet.
    pub fn tcp_recv(&mut self, h: SocketHandle, buf: &mut [u8]) -> Result<usize, SocketError> {
        if self.time_wait_ref(h).is_some() {
            // Everything was read, the peer's FIN too: end of stream.
            self.mark_dirty(h);
            return Ok(0);
        }
        let t = self.tcp_mut(h)?;
        let r = t.conn.recv(buf);
        let out = match r {
            Ok(0) if !buf.is_empty() => Err(SocketError::WouldBlock),
            Ok(n) => Ok(n),
            Err(RecvError::Finished) => Ok(0),
            Err(RecvError::Failed(e)) => Err(map_conn_error(e)),
        };
        // Reading may open the window: let a window update out.
        self.mark_dirty(h);
        out
    }

    /// Receives without a copy (`Connection::recv_with`): `f` sees the
    /// in-order data as two slices and returns how much it used. `Ok(0)`
    /// at the end of stream (or when `f` used nothing); `WouldBlock` when
    /// nothing waits.
    pub fn tcp_recv_with(
        &mut self,
        h: SocketHandle,
        f: impl FnOnce(&[u8], &[u8]) -> usize,
    ) -> Result<usize, SocketError> {
        if self.time_wait_ref(h).is_some() {
            self.mark_dirty(h);
            return Ok(0);
        }
        let t = self.tcp_mut(h)?;
        let had = t.conn.can_recv();
        let out = match t.conn.recv_with(f) {
            Ok(0) if !had => Err(SocketError::WouldBlock),
            Ok(n) => Ok(n),
            Err(RecvError::Finished) => Ok(0),
            Err(RecvError::Failed(e)) => Err(map_conn_error(e)),
        };
        // Reading may open the window: let a window update out.
        self.mark_dirty(h);
        out
    }

    /// Reads without consuming.
    pub fn tcp_peek(&self, h: SocketHandle, buf: &mut [u8]) -> Result<usize, SocketError> {
        if self.time_wait_ref(h).is_some() {
            return Ok(0);
        }
        Ok(self.tcp_ref(h)?.conn.peek(buf))
    }

    /// Shuts down the sending direction (a FIN follows the queued data).
    pub fn tcp_shutdown_write(&mut self, h: SocketHandle) -> Result<(), SocketError> {
        if self.time_wait_ref(h).is_some() {
            self.mark_dirty(h);
            return Ok(());
        }
        self.tcp_mut(h)?.conn.shutdown_write();
        self.mark_dirty(h);
        Ok(())
    }

    /// The application is done with the connection: it closes gracefully
    /// (or resets, with unread data or a zero `SO_LINGER`) and is freed
    /// once CLOSED.
    pub fn tcp_close(&mut self, now: Instant, h: SocketHandle) -> Result<(), SocketError> {
        if self.time_wait_ref(h).is_some() {
            // Closed already.
            self.mark_dirty(h);
            return Ok(());
        }
        let t = self.tcp_mut(h)?;
        if t.linger.is_some_and(|d| d.is_zero()) {
            // Linux (tcp_close): a zero linger time disconnects at once,
            // with a reset where the peer knows of the connection.
            t.conn.abort();
        }
        t.conn.close(now);
        t.app_owned = false;
        self.release_time_wait_buffers(h);
        self.mark_dirty(h);
        self.compact_time_wait(h);
        Ok(())
    }

    /// Resets the connection at once.
    pub fn tcp_abort(&mut self, h: SocketHandle) -> Result<(), SocketError> {
        if let Some(tw) = self.time_wait_mut(h) {
            tw.conn.abort();
            self.mark_dirty(h);
            return Ok(());
        }
        let t = self.tcp_mut(h)?;
        t.conn.abort();
        self.mark_dirty(h);
        Ok(())
    }

    /// Turns Nagle's algorithm off or on. Off, what it held goes out (and
    /// what a cork held until then: Linux's `__tcp_sock_set_nodelay`
    /// pushes the pending frames with `TCP_NAGLE_PUSH`).
    pub fn tcp_set_nodelay(&mut self, h: SocketHandle, nodelay: bool) -> Result<(), SocketError> {
        self.tcp_mut(h)?.conn.set_nodelay(nodelay);
        self.mark_dirty(h);
        Ok(())
    }

    /// Whether Nagle's algorithm is off.
    pub fn tcp_nodelay(&self, h: SocketHandle) -> Result<bool, SocketError> {
        Ok(self.tcp_ref(h)?.conn.nodelay())
    }

    /// The connection's state.
    pub fn tcp_state(&self, h: SocketHandle) -> Result<State, SocketError> {
        if let Some(tw) = self.time_wait_ref(h) {
            return Ok(tw.conn.state());
        }
        Ok(self.tcp_ref(h)?.conn.state())
    }

    /// The error that ended the connection, if any.
    pub fn tcp_error(&self, h: SocketHandle) -> Result<Option<SocketError>, SocketError> {
        if self.time_wait_ref(h).is_some() {
            return Ok(None);
        }
        Ok(self.tcp_ref(h)?.conn.error().map(map_conn_error))
    }

    /// Whether `tcp_recv` would not block.
    pub fn tcp_can_recv(&self, h: SocketHandle) -> Result<bool, SocketError> {
        if self.time_wait_ref(h).is_some() {
            // The end of stream is there to read.
            return Ok(true);
        }
        Ok(self.tcp_ref(h)?.conn.can_recv())
    }

    /// Whether `tcp_send` would not block.
    pub fn tcp_can_send(&self, h: SocketHandle) -> Result<bool, SocketError> {
        if self.time_wait_ref(h).is_some() {
            // `tcp_send` answers at once (with `BrokenPipe`).
            return Ok(true);
        }
        Ok(self.tcp_ref(h)?.conn.can_send())
    }

    /// What `ss` shows of a connection.
    pub fn tcp_info(&self, h: SocketHandle) -> Result<TcpInfo, SocketError> {
        if let Some(tw) = self.time_wait_ref(h) {
            // Linux's `ss` shows as little of a `tcp_timewait_sock`: the
            // compact form keeps no RTT, window or counters.
            return Ok(TcpInfo {
                state: tw.conn.state(),
                local: tw.conn.local(),
                remote: tw.conn.remote(),
                recv_queue: 0,
                send_queue: 0,
                srtt: None,
                rto: Duration::ZERO,
                cwnd: 0,
                ssthresh: 0,
                in_flight: 0,
                recv_buffer: 0,
                send_buffer: 0,
                stats: crate::tcp::ConnStats::default(),
            });
        }
        let c = &self.tcp_ref(h)?.conn;
        Ok(TcpInfo {
            state: c.state(),
            local: c.local(),
            remote: c.remote(),
            recv_queue: c.recv_queue(),
            send_queue: c.send_queue(),
            srtt: c.srtt(),
            rto: c.rto(),
            cwnd: c.cwnd(),
            ssthresh: c.ssthresh(),
            in_flight: c.in_flight_bytes(),
            recv_buffer: c.recv_buffer_size(),
            send_buffer: c.send_buffer_size(),
            stats: *c.stats(),
        })
    }

    pub(super) fn close_listener(&mut self, now: Instant, h: SocketHandle) {
        let Some(Socket::Listener(mut l)) = self.sockets.remove(h) else {
            return;
        };
        self.refuse_all_held(now, std::mem::take(&mut l.held));
        if l.transparent {
            self.ports.unbind_tcp_transparent(h);
        } else {
            self.ports.unbind_tcp_listener(l.local, h);
        }
        // Connections nobody will accept are reset, like Linux does when a
        // listening socket closes with a non-empty queue.
        let waiting: Vec<SocketHandle> = l.accept_queue.into_iter().collect();
        let half_open: Vec<SocketHandle> = self
            .sockets
            .handles()
            .filter(
                |&c| matches!(self.sockets.get(c), Some(Socket::Tcp(t)) if t.listener == Some(h)),
            )
            .collect();
        for c in waiting.into_iter().chain(half_open) {
            if let Some(Socket::Tcp(t)) = self.sockets.get_mut(c) {
                t.listener = None;
                t.conn.abort();
            }
            self.mark_dirty(c);
        }
    }

    pub(super) fn tcp_input(
        &mut self,
        now: Instant,
        src: IpAddr,
        dst: IpAddr,
        bytes: &[u8],
        ce: bool,
    ) {
        let Ok(packet) = TcpPacket::new_checked(bytes) else {
            self.dropped(DropReason::TcpMalformed, Flow::Ip(src, dst));
            return;
        };
        let Ok(repr) = TcpRepr::parse(&packet, src, dst, self.rx_checksums()) else {
            self.dropped(DropReason::TcpMalformed, Flow::Ip(src, dst));
            return;
        };
        if repr.src_port == 0 || repr.dst_port == 0 {
            self.dropped(DropReason::TcpMalformed, Flow::Ip(src, dst));
            return;
        }
        let local = SocketAddr::new(dst, repr.dst_port);
        let remote = SocketAddr::new(src, repr.src_port);
        let mut seg = Segment::from_repr(&repr);
        seg.ce = ce;
        let target = self.ports.lookup_tcp(local, remote);
        if !self.is_local(dst) {
            // Another host's address: only a connection a transparent
            // listener made, or the transparent listener itself, takes it
            // (a wildcard listener wins the lookup, as a Linux wildcard
            // socket receives AnyIP traffic, but only while the
            // transparent listener exists). Nothing else answers for a
            // host we are not: no RST.
            let taken = match target {
                TcpTarget::Connection(_) => true,
                TcpTarget::Listener(_) => self.ports.has_tcp_transparent(),
                TcpTarget::None => false,
            };
            if !taken {
                self.dropped(DropReason::NotForUs, Flow::Ports { local, remote });
                return;
            }
            self.transparent.non_local_in += 1;
        }
        match target {
            TcpTarget::Connection(h) => {
                if self.accept_queue_full_for(h) && seg.ack.is_some() && !seg.syn() && !seg.rst() {
                    self.dropped(DropReason::AcceptQueueFull, Flow::Ports { local, remote });
                    if self.cfg.tcp_abort_on_overflow
                        && let Some(Socket::Tcp(t)) = self.sockets.get_mut(h)
                    {
                        // Linux (tcp_abort_on_overflow = 1): the half-open
                        // connection is reset (inet_csk_complete_hashdance
                        // failing into tcp_check_req's embryonic_reset).
                        t.conn.abort();
                        self.after_tcp_change(h);
                    }
                    // Otherwise (Linux's default) the final ACK is dropped;
                    // the client's retransmission completes the handshake
                    // once the application has accepted.
                    return;
                }
                let outcome = match self.sockets.get_mut(h) {
                    Some(Socket::Tcp(t)) => t.conn.on_segment(now, &seg),
                    Some(Socket::TimeWait(tw)) => tw.conn.on_segment(now, &seg),
                    _ => return,
                };
                if outcome == Outcome::NewSynInTimeWait {
                    self.free_tcp(h);
                    if let TcpTarget::Listener(l) = self.ports.lookup_tcp(local, remote) {
                        self.listener_input(now, l, local, remote, &seg);
                    }
                    return;
                }
                self.after_tcp_change(h);
            }
            TcpTarget::Listener(l) => self.listener_input(now, l, local, remote, &seg),
            TcpTarget::None => {
                self.dropped(DropReason::TcpNoSocket, Flow::Ports { local, remote });
                self.send_reset(local, remote, reset_for(&seg));
            }
        }
    }

    fn accept_queue_full_for(&self, h: SocketHandle) -> bool {
        let Some(Socket::Tcp(t)) = self.sockets.get(h) else {
            return false;
        };
        if t.conn.state() != State::SynReceived {
            return false;
        }
        match t.listener.and_then(|l| self.sockets.get(l)) {
            Some(Socket::Listener(l)) => l.accept_queue.len() >= l.backlog,
            _ => false,
        }
    }

    /// RFC 9293 3.10.7.2: LISTEN STATE.
    fn listener_input(
        &mut self,
        now: Instant,
        lh: SocketHandle,
        local: SocketAddr,
        remote: SocketAddr,
        seg: &Segment<'_>,
    ) {
        //# First, check for a RST:
        //#    An incoming RST segment could not be valid since it could not have
        //#    been sent in response to anything sent by this incarnation of the
        //#    connection.  An incoming RST should be ignored.  Return.
        if seg.rst() {
            self.dropped(DropReason::ListenerStray, Flow::Ports { local, remote });
            return;
        }
        //# Second, check for an ACK:
        //#    Any acknowledgment is bad if it arrives on a connection still in
        //#    the LISTEN state.  An acceptable reset segment should be formed for
        //#    any arriving ACK-bearing segment.
        if let Some(ack) = seg.ack {
            if !seg.syn() && self.cookie_ack_input(now, lh, local, remote, seg) {
                return;
            }
            self.dropped(DropReason::ListenerAck, Flow::Ports { local, remote });
            self.send_reset(
                local,
                remote,
                Some(Reset {
                    seq: ack,
                    ack: None,
                }),
            );
            return;
        }
        if !seg.syn() {
            self.dropped(DropReason::ListenerStray, Flow::Ports { local, remote });
            return;
        }
        // RFC 9293 3.10.7.2 would queue a FIN that comes with a SYN for
        // processing after the handshake; Linux (tcp_rcv_state_process, LISTEN)
        // discards SYN+FIN, which only scanners send. We follow Linux.
        if seg.fin() {
            self.dropped(DropReason::TcpSynFin, Flow::Ports { local, remote });
            return;
        }
        let flow = Flow::Ports { local, remote };
        if !Self::remote_ok(remote) {
            self.dropped(DropReason::ListenerStray, flow);
            return;
        }
        let Some(Socket::Listener(l)) = self.sockets.get_mut(lh) else {
            return;
        };
        if l.defer {
            self.hold_syn(lh, local, remote, seg);
            return;
        }
        if l.accept_queue.len() >= l.backlog {
            // Linux (tcp_conn_request): with the accept queue full even a
            // cookie could not complete; drop, the client retries.
            self.dropped(DropReason::AcceptQueueFull, flow);
            return;
        }
        if l.syn_queue >= l.backlog {
            // Dropped, or answered with a SYN cookie (`syn_cookie.rs`).
            self.syn_queue_overflow(now, lh, local, remote, seg);
            return;
        }
        if self.admit(Some(lh), flow).is_err() {
            return;
        }
        let iss = SeqNum::new(self.isn.generate(now, local, remote));
        let ts_offset = self.cookies.ts_offset(local, remote);
        let cfg = self.tcp_config_for(remote.ip(), &self.listener_options(lh));
        let conn = Connection::accept(now, cfg, local, remote, seg, iss, ts_offset);
        let h = self.insert_conn(conn, Some(lh), false);
        if let Some(Socket::Listener(l)) = self.sockets.get_mut(lh) {
            l.syn_queue += 1;
            if l.transparent {
                self.transparent.tcp_opened += 1;
            }
        }
        self.mark_dirty(h);
    }

    /// Charges `h` what its buffers hold now, and tells it how short
    /// memory is (Linux `tcp_mem`: growth stops at three quarters of the
    /// bound, buffers shrink at the bound).
    fn recharge(&mut self, h: SocketHandle) {
        if let Some(Socket::TimeWait(tw)) = self.sockets.get_mut(h) {
            // It holds no buffer: only exhaustion shrinks what it offers,
            // as it would the full connection's.
            if self.buffer_memory >= self.cfg.max_buffer_memory {
                tw.conn.set_memory_exhausted();
            }
            return;
        }
        let Some(Socket::Tcp(t)) = self.sockets.get_mut(h) else {
            return;
        };
        charge(&mut self.buffer_memory, self.cfg.max_buffer_memory, t);
    }

    /// After anything touched a connection: events, queues, freeing.
    pub(super) fn after_tcp_change(&mut self, h: SocketHandle) {
        if self.after_tcp_change_open(h) {
            return;
        }
        self.release_time_wait_buffers(h);
        self.recharge(h);
        let (ev, listener, closed, app_owned) = match self.sockets.get_mut(h) {
            Some(Socket::Tcp(t)) => (
                t.conn.take_events(),
                t.listener,
                t.conn.is_closed(),
                t.app_owned,
            ),
            Some(Socket::TimeWait(tw)) => (tw.conn.take_events(), None, tw.conn.is_closed(), false),
            _ => return,
        };
        let r = readiness(ev);
        self.mark_dirty(h);
        if let Some(lh) = listener {
            if ev.contains(Events::CONNECTED) {
                // Handshake done: from the SYN queue to the accept queue.
                if let Some(Socket::Listener(l)) = self.sockets.get_mut(lh) {
                    l.syn_queue = l.syn_queue.saturating_sub(1);
                    l.accept_queue.push_back(h);
                }
                self.push_event(lh, Readiness::ACCEPTABLE);
            }
            if closed {
                if let Some(Socket::Listener(l)) = self.sockets.get_mut(lh) {
                    if let Some(pos) = l.accept_queue.iter().position(|&c| c == h) {
                        l.accept_queue.remove(pos);
                    } else {
                        l.syn_queue = l.syn_queue.saturating_sub(1);
                    }
                }
                self.free_tcp(h);
            }
            return;
        }
        self.push_event(h, r);
        if closed && !app_owned {
            self.free_tcp(h);
        } else {
            self.compact_time_wait(h);
        }
    }

    /// `after_tcp_change` for the common case, in one lookup: a connection
    /// the application holds or that no listener queues, neither closed
    /// nor in TIME-WAIT (nothing to free, release or hand over). The same
    /// steps as the general path: charge, events, the dirty queue, the
    /// timer. Whether it applied.
    fn after_tcp_change_open(&mut self, h: SocketHandle) -> bool {
        let Self {
            sockets,
            buffer_memory,
            cfg,
            dirty,
            timers,
            events,
            ..
        } = self;
        let Some(Socket::Tcp(t)) = sockets.get_mut(h) else {
            return false;
        };
        if t.listener.is_some() || t.conn.is_closed() || t.conn.state() == State::TimeWait {
            return false;
        }
        charge(buffer_memory, cfg.max_buffer_memory, t);
        let r = readiness(t.conn.take_events());
        if !t.queued {
            t.queued = true;
            dirty.push_back(h);
        }
        let pushed = super::output::file_deadline(timers, h, t.conn.poll_at(), &mut t.timer_at);
        if !r.is_empty() {
            events.push_back(super::SocketEvent {
                handle: h,
                readiness: r,
            });
        }
        if pushed {
            self.tidy_timers();
        }
        true
    }

    pub(super) fn free_tcp(&mut self, h: SocketHandle) {
        let (local, remote, charged, origin) = match self.sockets.get(h) {
            Some(Socket::Tcp(t)) => (t.conn.local(), t.conn.remote(), t.charged, t.origin),
            Some(Socket::TimeWait(tw)) => (tw.conn.local(), tw.conn.remote(), 0, tw.origin),
            _ => return,
        };
        self.sockets.remove(h);
        self.ports.remove_tcp_conn(local, remote, h);
        self.buffer_memory = self.buffer_memory.saturating_sub(charged);
        if !self.is_local(local.ip()) {
            self.non_local_conns = self.non_local_conns.saturating_sub(1);
        }
        if let Some(Socket::Listener(l)) = origin.and_then(|o| self.sockets.get_mut(o)) {
            l.conns = l.conns.saturating_sub(1);
        }
    }

    /// Queues a reset from `local` to `remote`.
    pub(super) fn send_reset(
        &mut self,
        local: SocketAddr,
        remote: SocketAddr,
        reset: Option<Reset>,
    ) {
        let Some(reset) = reset else { return };
        // Never answer from or to an address that cannot be a host.
        if local.ip().is_unspecified() || remote.ip().is_unspecified() || remote.ip().is_multicast()
        {
            return;
        }
        // Without options an RST is a bare header.
        let mut seg = [0u8; crate::wire::tcp::HEADER_LEN];
        let Some(len) = reset.emit(local, remote, None, self.cfg.tcp.checksums, &mut seg) else {
            return;
        };
        self.stats.resets_sent += 1;
        self.queue_ip(local.ip(), remote.ip(), IpProtocol::Tcp, &seg[..len]);
    }
}

/// Whether a connection from `local` to `remote` may be opened: no socket
/// uses the 4-tuple, or only one in TIME-WAIT that may give way.
fn tuple_usable(
    ports: &crate::demux::PortTable,
    sockets: &crate::handle::Slab<Socket>,
    cfg: &crate::config::StackConfig,
    now: Instant,
    local: SocketAddr,
    remote: SocketAddr,
) -> bool {
    if ports.tcp_tuple_free(local, remote) {
        return true;
    }
    let (timestamps, since) = match ports
        .tcp_conn_at(local, remote)
        .and_then(|h| sockets.get(h))
    {
        // One the application still holds is its socket, not a leftover
        // (Linux reuses only timewait sockets, which no one holds).
        Some(Socket::Tcp(t)) if !t.app_owned => {
            (t.conn.uses_timestamps(), t.conn.time_wait_since())
        }
        Some(Socket::TimeWait(tw)) => (tw.conn.uses_timestamps(), tw.conn.time_wait_since()),
        _ => return false,
    };
    // RFC 6191 lets timestamps tell a new incarnation from an old one;
    // Linux (tcp_twsk_unique): reuse only with timestamps on, and only once
    // the TIME-WAIT is at least a second old, so every timestamp of the new
    // incarnation is above the old one's.
    cfg.tcp_tw_reuse
        && timestamps
        && since.is_some_and(|since| {
            now.saturating_duration_since(since) >= crate::time::Duration::from_secs(1)
        })
}

/// Charges `t` what its buffers hold now against the stack's
/// `buffer_memory`, and tells it how short memory is (Linux `tcp_mem`:
/// growth stops at three quarters of the bound, buffers shrink at it).
fn charge(buffer_memory: &mut usize, max: usize, t: &mut TcpSocket) {
    let used = t.conn.buffer_memory();
    *buffer_memory = buffer_memory.saturating_sub(t.charged).saturating_add(used);
    t.charged = used;
    let pressure = if *buffer_memory >= max {
        MemoryPressure::Exhausted
    } else if *buffer_memory >= max / 4 * 3 {
        MemoryPressure::Pressure
    } else {
        MemoryPressure::None
    };
    t.conn.set_memory_pressure(pressure);
}

/// What a connection's events mean to the application.
fn readiness(ev: Events) -> Readiness {
    let mut r = Readiness::default();
    for (e, ready) in [
        (Events::READABLE, Readiness::READABLE),
        (Events::WRITABLE, Readiness::WRITABLE),
        (Events::CONNECTED, Readiness::CONNECTED),
        (Events::CLOSED, Readiness::CLOSED),
    ] {
        if ev.contains(e) {
            r.insert(ready);
        }
    }
    r
}
