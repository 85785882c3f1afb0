//! Per-socket options, as Linux programs set them with `setsockopt`:
//! `TCP_NODELAY`, `TCP_CORK`, `TCP_MAXSEG`, `SO_KEEPALIVE` with
//! `TCP_KEEPIDLE`, `TCP_KEEPINTVL` and `TCP_KEEPCNT`, `SO_LINGER`,
//! `SO_RCVBUF`, `SO_SNDBUF`, and `IP_TOS` / `IPV6_TCLASS` (TCP and UDP). A
//! TCP socket is created with them ([`Stack::tcp_connect_with`],
//! [`Stack::tcp_listen_with`]), and a listener hands them to every
//! connection it makes, as Linux's accepted sockets inherit the listener's
//! (`sk_clone_lock` copies them). Each can also be changed later, on a
//! connection or a listener (then for the connections it makes from then
//! on). Values outside what Linux's `do_tcp_setsockopt` takes are refused
//! with [`SocketError::InvalidInput`], Linux's `EINVAL`. The options are the
//! sockets API's; the RFCs behind what they change are cited where that
//! happens (keepalive: RFC 1122 4.2.3.6; an abortive close: RFC 9293
//! 3.10.5; the MSS: RFC 9293 3.7.1).

use std::net::IpAddr;

use super::{Socket, SocketError, Stack};
use crate::handle::SocketHandle;
use crate::tcp::{Keepalive, TcpConfig};
use crate::time::{Duration, Instant};

/// The smallest buffer `SO_RCVBUF` or `SO_SNDBUF` may ask for; smaller
/// requests get this much (Linux's floor, `SOCK_MIN_RCVBUF`, is about
/// 2 KiB too).
pub const MIN_SOCKET_BUFFER: usize = 2048;

/// The smallest MSS `TCP_MAXSEG` takes (Linux `TCP_MIN_MSS`).
pub const MIN_USER_MSS: u16 = 88;

/// The largest MSS `TCP_MAXSEG` takes (Linux `MAX_TCP_WINDOW`).
pub const MAX_USER_MSS: u16 = 32767;

/// The longest `TCP_KEEPIDLE` and `TCP_KEEPINTVL`, in seconds (Linux
/// `MAX_TCP_KEEPIDLE`, `MAX_TCP_KEEPINTVL`).
pub const MAX_KEEPALIVE_SECS: u64 = 32767;

/// The most `TCP_KEEPCNT` probes (Linux `MAX_TCP_KEEPCNT`).
pub const MAX_KEEPALIVE_COUNT: u32 = 127;

/// The options a TCP socket is created with. `None` leaves a setting to
/// the stack's configuration.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TcpOptions {
    /// `TCP_NODELAY`: Nagle's algorithm off.
    pub nodelay: Option<bool>,
    /// `TCP_CORK`: only full-sized segments while set.
    pub cork: Option<bool>,
    /// `SO_KEEPALIVE`: probe an idle connection (RFC 1122 4.2.3.6) with
    /// the socket's keepalive timing (`keepalive_timing`), else the
    /// stack's, else Linux's defaults.
    pub keepalive: Option<bool>,
    /// `TCP_KEEPIDLE`, `TCP_KEEPINTVL` and `TCP_KEEPCNT`: the keepalive
    /// timing, whether keepalive is on yet or not.
    pub keepalive_timing: KeepaliveTiming,
    /// `TCP_MAXSEG` set before the connection: a cap on the MSS we
    /// announce and on the send MSS (Linux `user_mss`), itself capped by
    /// the MTU. Checked by [`check_mss`]; a value below
    /// [`MIN_USER_MSS`] counts as that.
    pub mss: Option<u16>,
    /// `IP_TOS` / `IPV6_TCLASS`: the traffic class byte of the
    /// connections' packets, less its ECN bits (the connection's own).
    pub tos: Option<u8>,
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

/// The keepalive timing a socket sets (`None`: the stack's, else Linux's
/// default). Linux keeps these in whole seconds; so does
/// [`KeepaliveTiming::checked`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeepaliveTiming {
    /// `TCP_KEEPIDLE`: idle time before the first probe (Linux: 7200 s).
    pub idle: Option<Duration>,
    /// `TCP_KEEPINTVL`: time between unanswered probes (Linux: 75 s).
    pub interval: Option<Duration>,
    /// `TCP_KEEPCNT`: unanswered probes before the connection is dropped
    /// (Linux: 9).
    pub count: Option<u32>,
}

impl KeepaliveTiming {
    /// The timing checked as Linux checks it, durations in whole seconds
    /// (the fraction dropped, as a `setsockopt` of seconds drops it):
    /// `InvalidInput` for an idle time or interval under a second or over
    /// [`MAX_KEEPALIVE_SECS`], or a count of 0 or over
    /// [`MAX_KEEPALIVE_COUNT`].
    pub fn checked(self) -> Result<Self, SocketError> {
        // Linux (tcp_sock_set_keepidle_locked, tcp_sock_set_keepintvl,
        // tcp_sock_set_keepcnt): `val < 1 || val > MAX_TCP_KEEP*` is
        // EINVAL.
        let secs = |d: Option<Duration>| match d.map(|d| d.as_secs()) {
            Some(s @ 1..=MAX_KEEPALIVE_SECS) => Ok(Some(Duration::from_secs(s))),
            Some(_) => Err(SocketError::InvalidInput),
            None => Ok(None),
        };
        let count = match self.count {
            Some(n @ 1..=MAX_KEEPALIVE_COUNT) => Some(n),
            Some(_) => return Err(SocketError::InvalidInput),
            None => None,
        };
        Ok(Self {
            idle: secs(self.idle)?,
            interval: secs(self.interval)?,
            count,
        })
    }

    /// `base` with what this sets.
    pub fn applied_to(self, base: Keepalive) -> Keepalive {
        Keepalive {
            idle: self.idle.unwrap_or(base.idle),
            interval: self.interval.unwrap_or(base.interval),
            count: self.count.unwrap_or(base.count),
        }
    }

    /// This timing with `newer`'s settings laid over it.
    pub fn merged(self, newer: Self) -> Self {
        Self {
            idle: newer.idle.or(self.idle),
            interval: newer.interval.or(self.interval),
            count: newer.count.or(self.count),
        }
    }
}

/// `TCP_MAXSEG`'s check (Linux `do_tcp_setsockopt`: `val &&
/// (val < TCP_MIN_MSS || val > MAX_TCP_WINDOW)` is EINVAL): 0 takes the
/// setting away (`None`), [`MIN_USER_MSS`] to [`MAX_USER_MSS`] is the MSS,
/// anything else `InvalidInput`.
pub fn check_mss(mss: u32) -> Result<Option<u16>, SocketError> {
    match u16::try_from(mss) {
        Ok(0) => Ok(None),
        Ok(m @ MIN_USER_MSS..=MAX_USER_MSS) => Ok(Some(m)),
        _ => Err(SocketError::InvalidInput),
    }
}

/// `IP_TOS` / `IPV6_TCLASS`'s check: a byte. Linux's `do_ipv6_setsockopt`
/// refuses a traffic class over 255 with EINVAL (-1, its "default", is
/// not a `u32`); its `IP_TOS` keeps the low byte of a larger value, which
/// berth refuses too rather than set a class the caller did not ask for.
pub fn check_tos(tos: u32) -> Result<u8, SocketError> {
    u8::try_from(tos).map_err(|_| SocketError::InvalidInput)
}

impl TcpOptions {
    /// `cfg` with these options applied (except the MSS, which depends on
    /// the peer's family: [`Stack::tcp_config_for`]).
    pub(super) fn apply(&self, mut cfg: TcpConfig) -> TcpConfig {
        if let Some(nodelay) = self.nodelay {
            cfg.nodelay = nodelay;
        }
        if let Some(cork) = self.cork {
            cfg.cork = cork;
        }
        let timing = self
            .keepalive_timing
            .applied_to(cfg.keepalive.unwrap_or_default());
        cfg.keepalive_timing = Some(timing);
        cfg.keepalive = match self.keepalive {
            Some(true) => Some(timing),
            Some(false) => None,
            None => cfg.keepalive.map(|_| timing),
        };
        if let Some(tos) = self.tos {
            cfg.tos = tos & !0b11;
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
    /// as it is (`None` is a setting of its own), and so do `mss` (its
    /// effect depends on the peer: [`Stack::tcp_default_mss`]) and `tos`
    /// (less its ECN bits).
    pub fn tcp_resolve_options(&self, opts: TcpOptions) -> TcpOptions {
        let cfg = opts.apply(self.cfg.tcp);
        let timing = cfg.keepalive_timing.unwrap_or_default();
        TcpOptions {
            nodelay: Some(cfg.nodelay),
            cork: Some(cfg.cork),
            keepalive: Some(cfg.keepalive.is_some()),
            keepalive_timing: KeepaliveTiming {
                idle: Some(timing.idle),
                interval: Some(timing.interval),
                count: Some(timing.count),
            },
            mss: opts.mss,
            tos: opts.tos.map(|t| t & !0b11),
            linger: opts.linger,
            recv_buffer: Some(cfg.recv_buffer),
            send_buffer: Some(cfg.send_buffer),
        }
    }

    /// The MSS a connection of the family `ipv6` announces when no
    /// `TCP_MAXSEG` lowers it: the MTU less the IP and TCP headers (RFC
    /// 9293 3.7.1).
    pub fn tcp_default_mss(&self, ipv6: bool) -> u16 {
        let mss = self.cfg.tcp.mss;
        if ipv6 {
            // The IPv6 header is 20 bytes longer than IPv4's.
            mss.saturating_sub(20).max(MIN_USER_MSS)
        } else {
            mss
        }
    }

    /// The configuration of a connection to `remote` made with `opts`.
    pub(super) fn tcp_config_for(&self, remote: IpAddr, opts: &TcpOptions) -> TcpConfig {
        let mut cfg = opts.apply(self.cfg.tcp);
        cfg.mss = self.tcp_default_mss(remote.is_ipv6());
        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.2
        //# If this option is present, then it communicates the maximum
        //# receive segment size at the TCP endpoint that sends this segment.
        // What an endpoint takes may be less than its MTU allows. Linux
        // (tcp_connect_init, tcp_openreq_init via tcp_parse_options,
        // tcp_mss_clamp): TCP_MAXSEG set before the handshake caps both the
        // MSS announced and the one we send with; the route's MTU caps it
        // in turn.
        if let Some(user) = opts.mss {
            cfg.mss = cfg.mss.min(user.max(MIN_USER_MSS));
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

    /// The options of listener `h`, to change.
    fn listener_opts_mut(&mut self, h: SocketHandle) -> Option<&mut TcpOptions> {
        match self.sockets.get_mut(h) {
            Some(Socket::Listener(l)) => Some(&mut l.opts),
            _ => None,
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

    /// Sets `TCP_CORK` on a connection (uncorking lets its partial tail
    /// out, under Nagle's rules) or a listener (for the connections it
    /// makes from now on).
    pub fn tcp_set_cork(&mut self, h: SocketHandle, cork: bool) -> Result<(), SocketError> {
        match self.sockets.get_mut(h) {
            Some(Socket::Tcp(t)) => t.conn.set_cork(cork),
            Some(Socket::Listener(l)) => l.opts.cork = Some(cork),
            _ => return Err(SocketError::InvalidHandle),
        }
        self.mark_dirty(h);
        Ok(())
    }

    /// Whether `TCP_CORK` is set on a connection or a listener.
    pub fn tcp_cork(&self, h: SocketHandle) -> Result<bool, SocketError> {
        match self.sockets.get(h) {
            Some(Socket::Tcp(t)) => Ok(t.conn.cork()),
            Some(Socket::Listener(l)) => Ok(l.opts.cork.unwrap_or(self.cfg.tcp.cork)),
            _ => Err(SocketError::InvalidHandle),
        }
    }

    /// Sets `TCP_MAXSEG` on a listener: the cap on the MSS of the
    /// connections it makes from now on ([`check_mss`]'s range; 0 takes
    /// it away). A connection's MSS was agreed in its handshake, and
    /// Linux's `TCP_MAXSEG` does not change it after (its `user_mss` is
    /// only read by `tcp_connect_init` and when a listener answers a
    /// SYN): on a connection, the value is checked and has no effect, as
    /// there.
    pub fn tcp_set_mss(&mut self, h: SocketHandle, mss: u32) -> Result<(), SocketError> {
        let mss = check_mss(mss)?;
        match self.sockets.get_mut(h) {
            Some(Socket::Listener(l)) => l.opts.mss = mss,
            Some(Socket::Tcp(_)) => {}
            _ => return Err(SocketError::InvalidHandle),
        }
        Ok(())
    }

    /// `TCP_MAXSEG`: a connection's effective send MSS (the payload of a
    /// full-sized segment, as Linux's `mss_cache`); a listener's cap if
    /// set (as Linux reports `user_mss` in LISTEN), else the MSS its
    /// connections announce.
    pub fn tcp_mss(&self, h: SocketHandle) -> Result<u32, SocketError> {
        match self.sockets.get(h) {
            Some(Socket::Tcp(t)) => Ok(t.conn.mss()),
            Some(Socket::Listener(l)) => {
                Ok(u32::from(l.opts.mss.unwrap_or_else(|| {
                    self.tcp_default_mss(l.local.is_ipv6())
                })))
            }
            _ => Err(SocketError::InvalidHandle),
        }
    }

    /// Sets `IP_TOS` / `IPV6_TCLASS` ([`check_tos`]): the traffic class
    /// byte of a connection's packets from now on, of the connections a
    /// listener makes (and its SYN-ACKs), or of a UDP socket's datagrams.
    /// On TCP the two ECN bits are the connection's own and those of `tos`
    /// are ignored (Linux `__ip_sock_set_tos` masks `INET_ECN_MASK` for a
    /// stream socket); a UDP socket sends `tos` whole, as Linux's does.
    pub fn set_tos(&mut self, h: SocketHandle, tos: u32) -> Result<(), SocketError> {
        let tos = check_tos(tos)?;
        match self.sockets.get_mut(h) {
            Some(Socket::Tcp(t)) => t.conn.set_tos(tos),
            Some(Socket::TimeWait(tw)) => tw.conn.set_tos(tos),
            Some(Socket::Listener(l)) => l.opts.tos = Some(tos & !0b11),
            Some(Socket::Udp(u)) => u.tos = tos,
            Some(Socket::Bound(_) | Socket::Echo(_)) => return Err(SocketError::InvalidInput),
            None => return Err(SocketError::InvalidHandle),
        }
        Ok(())
    }

    /// The traffic class byte a socket's packets carry (0 unless set; a TCP
    /// socket's without its ECN bits).
    pub fn tos(&self, h: SocketHandle) -> Result<u32, SocketError> {
        match self.sockets.get(h) {
            Some(Socket::Tcp(t)) => Ok(u32::from(t.conn.tos())),
            Some(Socket::TimeWait(tw)) => Ok(u32::from(tw.conn.tos())),
            Some(Socket::Listener(l)) => Ok(u32::from(l.opts.tos.unwrap_or(0))),
            Some(Socket::Udp(u)) => Ok(u32::from(u.tos)),
            Some(Socket::Bound(_) | Socket::Echo(_)) => Err(SocketError::InvalidInput),
            None => Err(SocketError::InvalidHandle),
        }
    }

    /// Turns `SO_KEEPALIVE` on or off on a connection (on: the first probe
    /// after its idle time from now, as Linux's `tcp_set_keepalive`) or a
    /// listener (for the connections it makes from now on). Asking for
    /// what is already so changes nothing: Linux (`sk_setsockopt`,
    /// `tcp_set_keepalive`) restarts the timer only when keepalive goes
    /// from off to on.
    pub fn tcp_set_keepalive(
        &mut self,
        now: Instant,
        h: SocketHandle,
        on: bool,
    ) -> Result<(), SocketError> {
        match self.sockets.get_mut(h) {
            Some(Socket::Tcp(t)) if t.conn.keepalive().is_some() == on => {}
            Some(Socket::Tcp(t)) => {
                let timing = on.then(|| t.conn.keepalive_timing());
                t.conn.set_keepalive(now, timing);
            }
            Some(Socket::Listener(l)) => l.opts.keepalive = Some(on),
            _ => return Err(SocketError::InvalidHandle),
        }
        self.reschedule(h);
        Ok(())
    }

    /// Whether `SO_KEEPALIVE` is on for a connection or a listener.
    pub fn tcp_keepalive(&self, h: SocketHandle) -> Result<bool, SocketError> {
        match self.sockets.get(h) {
            Some(Socket::Tcp(t)) => Ok(t.conn.keepalive().is_some()),
            Some(Socket::Listener(l)) => {
                Ok(l.opts.keepalive.unwrap_or(self.cfg.tcp.keepalive.is_some()))
            }
            _ => Err(SocketError::InvalidHandle),
        }
    }

    /// Sets `TCP_KEEPIDLE`, `TCP_KEEPINTVL` and `TCP_KEEPCNT` (those of
    /// `timing` that are `Some`, checked by [`KeepaliveTiming::checked`];
    /// nothing changes if one is out of range) on a connection, whether
    /// keepalive is on or not (a new idle time counts from the last segment
    /// received, restarting a running timer), or on a listener.
    pub fn tcp_set_keepalive_timing(
        &mut self,
        now: Instant,
        h: SocketHandle,
        timing: KeepaliveTiming,
    ) -> Result<(), SocketError> {
        let timing = timing.checked()?;
        match self.sockets.get_mut(h) {
            Some(Socket::Tcp(t)) => {
                let new = timing.applied_to(t.conn.keepalive_timing());
                t.conn.set_keepalive_timing(now, new);
            }
            _ => {
                let opts = self
                    .listener_opts_mut(h)
                    .ok_or(SocketError::InvalidHandle)?;
                opts.keepalive_timing = opts.keepalive_timing.merged(timing);
            }
        }
        self.reschedule(h);
        Ok(())
    }

    /// The keepalive timing of a connection or a listener (the stack's,
    /// else Linux's defaults, where the socket set none).
    pub fn tcp_keepalive_timing(&self, h: SocketHandle) -> Result<Keepalive, SocketError> {
        match self.sockets.get(h) {
            Some(Socket::Tcp(t)) => Ok(t.conn.keepalive_timing()),
            Some(Socket::Listener(l)) => Ok(l
                .opts
                .keepalive_timing
                .applied_to(self.cfg.tcp.keepalive.unwrap_or_default())),
            _ => Err(SocketError::InvalidHandle),
        }
    }
}
