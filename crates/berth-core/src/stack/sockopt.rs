//! Per-socket TCP options, as Linux programs set them with `setsockopt`:
//! `TCP_NODELAY`, `SO_KEEPALIVE`, `SO_LINGER`, `SO_RCVBUF` and `SO_SNDBUF`.
//! A socket is created with them ([`Stack::tcp_connect_with`],
//! [`Stack::tcp_listen_with`]), and a listener hands them to every
//! connection it makes, as Linux's accepted sockets inherit the listener's
//! (`sk_clone_lock` copies them). The options are the sockets API's; the
//! RFCs behind what they change are cited where that happens (keepalive:
//! RFC 1122 4.2.3.6; an abortive close: RFC 9293 3.10.5).

use std::net::IpAddr;

use super::{Socket, SocketError, Stack};
use crate::handle::SocketHandle;
use crate::tcp::TcpConfig;
use crate::time::Duration;

/// The smallest buffer `SO_RCVBUF` or `SO_SNDBUF` may ask for; smaller
/// requests get this much (Linux's floor, `SOCK_MIN_RCVBUF`, is about
/// 2 KiB too).
pub const MIN_SOCKET_BUFFER: usize = 2048;

/// The options a TCP socket is created with. `None` leaves a setting to
/// the stack's configuration.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TcpOptions {
    /// `TCP_NODELAY`: Nagle's algorithm off.
    pub nodelay: Option<bool>,
    /// `SO_KEEPALIVE`: probe an idle connection (RFC 1122 4.2.3.6) with
    /// the stack's keepalive timing, or Linux's defaults when the stack
    /// has none.
    pub keepalive: Option<bool>,
    /// `SO_LINGER`: `Some(0)` makes closing the socket reset the
    /// connection and drop what it had still to send (an abortive close);
    /// any other value closes gracefully, as without it.
    pub linger: Option<Duration>,
    /// `SO_RCVBUF`: the receive buffer, in bytes of data. Setting it also
    /// fixes it: the buffer no longer grows with use (Linux's
    /// `SOCK_RCVBUF_LOCK`). Bounded by [`MIN_SOCKET_BUFFER`] and the
    /// stack's largest receive buffer.
    pub recv_buffer: Option<usize>,
    /// `SO_SNDBUF`: the send buffer, in bytes of data, fixed likewise
    /// (`SOCK_SNDBUF_LOCK`). Bounded by [`MIN_SOCKET_BUFFER`] and the
    /// stack's largest send buffer.
    pub send_buffer: Option<usize>,
}

impl TcpOptions {
    /// `cfg` with these options applied.
    pub(super) fn apply(&self, mut cfg: TcpConfig) -> TcpConfig {
        if let Some(nodelay) = self.nodelay {
            cfg.nodelay = nodelay;
        }
        match self.keepalive {
            Some(true) => cfg.keepalive = Some(cfg.keepalive.unwrap_or_default()),
            Some(false) => cfg.keepalive = None,
            None => {}
        }
        if let Some(n) = self.recv_buffer {
            let n = n.clamp(MIN_SOCKET_BUFFER, cfg.recv_buffer_max.max(cfg.recv_buffer));
            cfg.recv_buffer = n;
            cfg.recv_buffer_max = n;
        }
        if let Some(n) = self.send_buffer {
            let n = n.clamp(MIN_SOCKET_BUFFER, cfg.send_buffer_max.max(cfg.send_buffer));
            cfg.send_buffer = n;
            cfg.send_buffer_max = n;
        }
        cfg
    }
}

impl Stack {
    /// What `opts` amount to on this stack: every `None` replaced by the
    /// stack's setting and the buffer sizes bounded as they will be (the
    /// receive and send buffers a connection starts with). `linger` stays
    /// as it is (`None` is a setting of its own).
    pub fn tcp_resolve_options(&self, opts: TcpOptions) -> TcpOptions {
        let cfg = opts.apply(self.cfg.tcp);
        TcpOptions {
            nodelay: Some(cfg.nodelay),
            keepalive: Some(cfg.keepalive.is_some()),
            linger: opts.linger,
            recv_buffer: Some(cfg.recv_buffer),
            send_buffer: Some(cfg.send_buffer),
        }
    }

    /// The configuration of a connection to `remote` made with `opts`.
    pub(super) fn tcp_config_for(&self, remote: IpAddr, opts: &TcpOptions) -> TcpConfig {
        let mut cfg = opts.apply(self.cfg.tcp);
        if remote.is_ipv6() {
            // The IPv6 header is 20 bytes longer than IPv4's.
            cfg.mss = cfg.mss.saturating_sub(20).max(88);
        }
        cfg
    }

    /// The options listener `lh` hands to its connections.
    pub(super) fn listener_options(&self, lh: SocketHandle) -> TcpOptions {
        match self.sockets.get(lh) {
            Some(Socket::Listener(l)) => l.opts,
            _ => TcpOptions::default(),
        }
    }

    /// Sets `SO_LINGER` on a connection: `Some(0)` makes its close an
    /// abortive one (a reset, what was still to send dropped); `None` or
    /// any other duration closes it gracefully, in the background.
    pub fn tcp_set_linger(
        &mut self,
        h: SocketHandle,
        linger: Option<Duration>,
    ) -> Result<(), SocketError> {
        match self.sockets.get_mut(h) {
            Some(Socket::Tcp(t)) => {
                t.linger = linger;
                Ok(())
            }
            _ => Err(SocketError::InvalidHandle),
        }
    }

    /// A connection's `SO_LINGER`.
    pub fn tcp_linger(&self, h: SocketHandle) -> Result<Option<Duration>, SocketError> {
        match self.sockets.get(h) {
            Some(Socket::Tcp(t)) => Ok(t.linger),
            _ => Err(SocketError::InvalidHandle),
        }
    }
}
