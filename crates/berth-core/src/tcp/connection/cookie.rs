//! A connection completed by a SYN cookie (RFC 4987 section 3.6): the
//! listener kept no state for it, so it is built from the final ACK and the
//! options the cookie carried, and enters ESTABLISHED at once.
//!
//! It lives here, not with the cookie, because it sets the TCB's private
//! fields; [`crate::syn_cookie`] has the map of the rest.

use std::net::SocketAddr;

use crate::syn_cookie::CookieOptions;
use crate::time::Instant;

use super::super::config::TcpConfig;
use super::super::segment::Segment;
use super::super::seq::SeqNum;
use super::{Connection, Pending};
use crate::wire::TcpFlags;

impl Connection {
    /// Builds the connection a valid cookie ACK completes: `ack` is the
    /// peer's final ACK (ACK = cookie + 1, SEQ = client ISN + 1), `opts` what
    /// the cookie and the timestamp echo carried, `ts_offset` the offset
    /// our cookie SYN-ACK's TSval used. The ACK (and any data on it) is
    /// processed as in SYN-RECEIVED, so the result is ESTABLISHED, or
    /// CLOSE-WAIT when it carried a FIN.
    pub(crate) fn from_cookie(
        now: Instant,
        cfg: TcpConfig,
        local: SocketAddr,
        remote: SocketAddr,
        ack: &Segment<'_>,
        opts: CookieOptions,
        ts_offset: u32,
    ) -> Self {
        let iss = ack.ack.unwrap_or(SeqNum::new(0)) - 1;
        // The SYN as the cookie remembers it.
        let syn = Segment {
            seq: ack.seq - 1,
            ack: None,
            flags: TcpFlags::SYN,
            wnd: ack.wnd,
            mss: Some(opts.mss),
            window_scale: opts.wscale,
            sack_permitted: opts.sack,
            sack_blocks: [None; super::super::segment::MAX_SACK_BLOCKS],
            timestamp: ack.timestamp.map(|(val, _)| (val, 0)),
            ce: false,
            payload: &[],
        };
        let mut conn = Self::accept(now, cfg, local, remote, &syn, iss, ts_offset);
        // The SYN-ACK went out statelessly; it occupied ISS.
        conn.pending.remove(Pending::SYN);
        conn.snd_nxt = iss + 1;
        // What the SYN-ACK offered: the receive window, unscaled.
        let window = conn.rcv_free().min(u32::from(u16::MAX));
        conn.rcv_adv = conn.rcv_nxt + window;
        conn.on_segment(now, ack);
        conn
    }
}

#[cfg(test)]
impl Connection {
    /// (our shift for the peer's windows, our advertised shift, SACK,
    /// timestamps): what the handshake settled, for tests to compare ends.
    pub(crate) fn negotiated_for_test(&self) -> (u8, u8, bool, bool) {
        (
            self.opts.snd_wscale.get(),
            self.opts.rcv_wscale.get(),
            self.opts.sack,
            self.opts.timestamps,
        )
    }
}
