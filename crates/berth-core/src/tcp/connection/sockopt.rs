//! The socket options an application changes on an open connection, as
//! Linux's `do_tcp_setsockopt` does: `TCP_NODELAY`, `TCP_CORK`, the
//! keepalive switch and timing (`SO_KEEPALIVE`, `TCP_KEEPIDLE`,
//! `TCP_KEEPINTVL`, `TCP_KEEPCNT`), the traffic class (`IP_TOS`,
//! `IPV6_TCLASS`), and what `TCP_MAXSEG` reads. What cork and Nagle decide
//! about a segment is in `output.rs`; the keepalive timer in `timers.rs`.

use crate::time::Instant;

use super::super::config::Keepalive;
use super::super::seq::SeqNum;
use super::Connection;

impl Connection {
    /// Turns Nagle's algorithm off (`true`) or on. Turning it off also
    /// lets what is queued now past a cork, once (Linux
    /// `__tcp_sock_set_nodelay` sets `TCP_NAGLE_PUSH`: "Cork is overridden
    /// for already queued data"); the caller then polls for output, as
    /// Linux pushes the pending frames.
    pub(crate) fn set_nodelay(&mut self, nodelay: bool) {
        self.cfg.nodelay = nodelay;
        if nodelay && !self.send_buf.is_empty() {
            self.cork_push = Some(self.send_data_end());
        }
    }

    /// Whether Nagle's algorithm is off.
    pub(crate) fn nodelay(&self) -> bool {
        self.cfg.nodelay
    }

    /// Sets `TCP_CORK`: while corked only full-sized segments go out.
    /// Uncorking lets the partial tail go as Nagle's algorithm allows (at
    /// once with `TCP_NODELAY`; Linux `__tcp_sock_set_cork` pushes the
    /// pending frames with `TCP_NAGLE_PUSH` when Nagle is off, under
    /// Nagle's rules otherwise); the caller then polls for output.
    pub(crate) fn set_cork(&mut self, cork: bool) {
        self.cfg.cork = cork;
        if !cork {
            self.cork_push = None;
        }
    }

    /// Whether `TCP_CORK` is set.
    pub(crate) fn cork(&self) -> bool {
        self.cfg.cork
    }

    /// Whether the data from `seq` may go out short although corked:
    /// `TCP_NODELAY` was set while it was queued (see
    /// [`set_nodelay`](Self::set_nodelay)). Forgets the override once
    /// everything it covered has been sent.
    pub(super) fn cork_pushed(&mut self, seq: SeqNum) -> bool {
        match self.cork_push {
            Some(end) if seq.before(end) => true,
            Some(_) => {
                self.cork_push = None;
                false
            }
            None => false,
        }
    }

    /// The effective send MSS: the payload of a full-sized segment, SMSS
    /// less the options every segment carries (what Linux's
    /// `getsockopt(TCP_MAXSEG)` reads on an open connection, `mss_cache`).
    /// Before the handshake, from the default SMSS (536 for IPv4, as
    /// Linux's `TCP_MSS_DEFAULT`).
    pub(crate) fn mss(&self) -> u32 {
        self.eff_mss()
    }

    /// The traffic class byte (`IP_TOS` / `IPV6_TCLASS`) of the
    /// connection's packets, without its ECN bits.
    pub(crate) fn tos(&self) -> u8 {
        self.cfg.tos
    }

    /// Sets the traffic class byte of the connection's packets from now
    /// on. The two ECN bits of `tos` are ignored: the connection sets its
    /// own codepoint there (Linux `__ip_sock_set_tos` and
    /// `do_ipv6_setsockopt` mask `INET_ECN_MASK` off a stream socket's).
    pub(crate) fn set_tos(&mut self, tos: u8) {
        self.cfg.tos = tos & !0b11;
    }

    /// Keepalive's timing and whether it is on (`None`: off).
    pub(crate) fn keepalive(&self) -> Option<Keepalive> {
        self.cfg.keepalive
    }

    /// The keepalive timing: the running one, or, while keepalive is off,
    /// the one it would start with.
    pub(crate) fn keepalive_timing(&self) -> Keepalive {
        self.cfg
            .keepalive
            .or(self.cfg.keepalive_timing)
            .unwrap_or_default()
    }

    /// Changes keepalive (RFC 1122 4.2.3.6); `None` turns it off (its
    /// timing is kept for [`keepalive_timing`](Self::keepalive_timing)).
    /// Turning it on starts the idle time now, as Linux's
    /// `tcp_set_keepalive` does.
    pub(crate) fn set_keepalive(&mut self, now: Instant, keepalive: Option<Keepalive>) {
        if keepalive.is_none() {
            self.cfg.keepalive_timing = Some(self.keepalive_timing());
        }
        self.cfg.keepalive = keepalive;
        self.keepalive_probes_reset(now);
    }

    /// Sets the keepalive timing (`TCP_KEEPIDLE`, `TCP_KEEPINTVL`,
    /// `TCP_KEEPCNT`), whether keepalive is on or not. A new idle time on
    /// a connection that probes restarts the timer from when the peer was
    /// last heard: Linux (`tcp_sock_set_keepidle_locked`) rearms it at the
    /// new time less what has elapsed, at once if that is past. A new
    /// interval or count applies from the next probe on.
    pub(crate) fn set_keepalive_timing(&mut self, now: Instant, timing: Keepalive) {
        self.cfg.keepalive_timing = Some(timing);
        let Some(old) = self.cfg.keepalive else {
            return;
        };
        self.cfg.keepalive = Some(timing);
        if old.idle != timing.idle && self.timers.keepalive.is_some() {
            self.timers.keepalive = Some((self.last_recv + timing.idle).max(now));
        }
    }
}
