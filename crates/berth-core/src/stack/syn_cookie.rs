//! SYN cookies in the stack (RFC 4987 section 3.6, Linux style): when a
//! listener's SYN queue overflows, its SYN is answered with a cookie SYN-ACK
//! and no state is kept; an ACK that later reaches the listener with no
//! connection is checked for a cookie, and a valid one makes the connection.
//!
//! The cookie itself, and the map of everything about SYN cookies, is
//! [`crate::syn_cookie`].

use std::net::SocketAddr;

use super::drops::{DropReason, Flow};
use super::{Readiness, Socket, Stack};
use crate::handle::SocketHandle;
use crate::syn_cookie::{CookieOptions, SynCookies};
use crate::tcp::segment::reset_for;
use crate::tcp::{Connection, Segment};
use crate::time::{Duration, Instant};
use crate::wire::tcp_option::MAX_SACK_BLOCKS;
use crate::wire::{IpProtocol, TcpFlags, TcpPacket, TcpRepr};

/// How long after a SYN queue overflow ACKs to the listener are checked for
/// cookies (Linux `TCP_SYNCOOKIE_VALID`: two cookie lifetimes).
const COOKIE_WINDOW: Duration = Duration::from_secs(2 * crate::syn_cookie::PERIOD_SECS);

impl Stack {
    /// A SYN found listener `lh`'s SYN queue full (Linux
    /// `tcp_conn_request`): it is dropped, and with cookies on (Linux
    /// `tcp_syncookies = 1`) answered with a cookie SYN-ACK, which also
    /// opens the while in which ACKs to the listener are checked for
    /// cookies ([`COOKIE_WINDOW`]).
    pub(super) fn syn_queue_overflow(
        &mut self,
        now: Instant,
        lh: SocketHandle,
        local: SocketAddr,
        remote: SocketAddr,
        syn: &Segment<'_>,
    ) {
        if self.cfg.syn_cookies
            && let Some(Socket::Listener(l)) = self.sockets.get_mut(lh)
        {
            l.last_overflow = Some(now);
        }
        self.dropped(DropReason::SynQueueFull, Flow::Ports { local, remote });
        if self.cfg.syn_cookies {
            self.send_cookie_syn_ack(now, lh, local, remote, syn);
        }
    }

    /// Answers a SYN with a cookie SYN-ACK, keeping no state.
    fn send_cookie_syn_ack(
        &mut self,
        now: Instant,
        lh: SocketHandle,
        local: SocketAddr,
        remote: SocketAddr,
        syn: &Segment<'_>,
    ) {
        let cfg = self.tcp_config_for(remote.ip(), &self.listener_options(lh));
        // RFC 4987 section 3.6 describes the technique without a MUST or
        // SHOULD to quote: the state goes into the SYN-ACK's sequence
        // number. The MSS carried is a table entry no larger than our own.
        let iss = self.cookies.make(
            now,
            local,
            remote,
            syn.seq.get(),
            syn.mss.map(|m| m.min(cfg.mss)),
        );
        let wscale =
            (cfg.window_scaling && syn.window_scale.is_some()).then(|| cfg.window_scale().get());
        let sack = cfg.sack && syn.sack_permitted;
        let timestamp = match syn.timestamp {
            Some((val, _)) if cfg.timestamps => {
                let offset = self.cookies.ts_offset(local, remote);
                let peer_wscale = syn.window_scale.filter(|_| wscale.is_some());
                Some((SynCookies::timestamp(now, offset, peer_wscale, sack), val))
            }
            // Without timestamps there is nowhere to keep window scale and
            // SACK: like Linux, the connection goes without them.
            _ => None,
        };
        let repr = TcpRepr {
            src_port: local.port(),
            dst_port: remote.port(),
            seq_number: iss,
            ack_number: Some((syn.seq + 1).get()),
            flags: TcpFlags::SYN | TcpFlags::ACK,
            window_len: u16::try_from(cfg.recv_buffer).unwrap_or(u16::MAX),
            urgent_pointer: 0,
            max_seg_size: Some(cfg.mss),
            window_scale: wscale.filter(|_| timestamp.is_some()),
            sack_permitted: sack && timestamp.is_some(),
            sack_ranges: [None; MAX_SACK_BLOCKS],
            timestamp,
            payload: &[],
        };
        let mut seg = vec![0u8; repr.buffer_len()];
        repr.emit(
            &mut TcpPacket::new_unchecked(&mut seg[..]),
            local.ip(),
            remote.ip(),
            cfg.checksums,
        );
        self.stats.syncookies_sent += 1;
        tracing::debug!(%local, %remote, "SYN cookie sent");
        self.queue_ip(local.ip(), remote.ip(), IpProtocol::Tcp, &seg);
    }

    /// An ACK reached listener `lh` with no connection: if it returns a
    /// valid cookie, the connection it completes goes to the accept queue.
    /// Returns whether the ACK was consumed (completed, or dropped for a
    /// full accept queue or a limit); `false` leaves the RST to the caller.
    pub(super) fn cookie_ack_input(
        &mut self,
        now: Instant,
        lh: SocketHandle,
        local: SocketAddr,
        remote: SocketAddr,
        seg: &Segment<'_>,
    ) -> bool {
        let Some(Socket::Listener(l)) = self.sockets.get(lh) else {
            return false;
        };
        let recent = l
            .last_overflow
            .is_some_and(|at| now.saturating_duration_since(at) <= COOKIE_WINDOW);
        let (Some(ack), true) = (seg.ack, self.cfg.syn_cookies && recent) else {
            return false;
        };
        let accept_full = l.accept_queue.len() >= l.backlog;
        let client_isn = (seg.seq - 1).get();
        let Some(mss) = self
            .cookies
            .check(now, local, remote, client_isn, (ack - 1).get())
        else {
            self.dropped(DropReason::SyncookieInvalid, Flow::Ports { local, remote });
            return false;
        };
        self.stats.syncookies_validated += 1;
        if accept_full {
            // Linux drops it too (ListenOverflows); the client's next
            // segment carries the same cookie and may find room; with
            // tcp_abort_on_overflow it is reset instead.
            self.dropped(DropReason::AcceptQueueFull, Flow::Ports { local, remote });
            if self.cfg.tcp_abort_on_overflow {
                self.send_reset(local, remote, reset_for(seg));
            }
            return true;
        }
        if self.admit(Some(lh), Flow::Ports { local, remote }).is_err() {
            return true;
        }
        tracing::debug!(%local, %remote, "SYN cookie valid: connection made");
        let cfg = self.tcp_config_for(remote.ip(), &self.listener_options(lh));
        let ts_offset = self.cookies.ts_offset(local, remote);
        let (wscale, sack) = match seg.timestamp {
            Some((_, ecr)) if cfg.timestamps => SynCookies::options_from_echo(ecr, ts_offset),
            _ => (None, false),
        };
        let opts = CookieOptions {
            mss,
            wscale: wscale.filter(|_| cfg.window_scaling),
            sack: sack && cfg.sack,
        };
        let mut conn = Connection::from_cookie(now, cfg, local, remote, seg, opts, ts_offset);
        // Events go to the listener until the connection is accepted.
        conn.take_events();
        let closed = conn.is_closed();
        let h = self.insert_conn(conn, Some(lh), false);
        if closed {
            self.free_tcp(h);
            return true;
        }
        if let Some(Socket::Listener(l)) = self.sockets.get_mut(lh) {
            l.accept_queue.push_back(h);
        }
        self.push_event(lh, Readiness::ACCEPTABLE);
        self.mark_dirty(h);
        true
    }
}
