//! SYN cookies (RFC 4987 section 3.6), in Linux's format
//! (`net/ipv4/syncookies.c`): when a listener's SYN queue is full, the
//! SYN-ACK's sequence number encodes what the connection needs, and no state
//! is kept until the final ACK returns it.
//!
//! The cookie is Linux's `secure_tcp_syn_cookie`, with SipHash-2-4 keyed from
//! the stack's seed for the hash:
//!
//! ```text
//! cookie = H0(4-tuple) + client ISN + (count << 24)
//!        + ((H1(4-tuple, count) + mss index) & 0xffffff)
//! ```
//!
//! `count` is a coarse clock (one tick every 64 s); a cookie is accepted for
//! the tick it was made in and the one after. The MSS is one of four values
//! (Linux's `msstab`). When the peer sent timestamps, the low six bits of our
//! TSval carry its window scale and SACK-permitted (Linux
//! `cookie_init_timestamp`), and come back in the final ACK's TSecr.
//!
//! # Where SYN cookies live
//!
//! This file is the cookie; the rest lives with the state it changes:
//!
//! | what | where |
//! | --- | --- |
//! | the cookie: making and checking it, the options in the timestamp, the keys | here |
//! | when a cookie is sent (a full SYN queue), sending it, the while after an overflow in which ACKs are checked, checking them | `stack/syn_cookie.rs` |
//! | the listener's SYN and accept queues and `last_overflow` | `stack/tcp.rs` (`Listener`, `listener_input`) |
//! | the limits a cookie connection must fit, like any other | `stack/admission.rs` |
//! | the connection a valid cookie builds, straight into ESTABLISHED | `Connection::from_cookie`, `tcp/connection/cookie.rs` |
//! | the switch and the counters | `StackConfig::syn_cookies`; `StackStats::syncookies_sent`, `syncookies_validated`, `syncookies_failed` |
//! | the tests | the codec's below; through a whole stack (a SYN flood, options kept, bad cookies, a full accept queue) in `stack/tests/cookie.rs` |
//!
//! Why not one directory: the stack's part is an `impl Stack` that reads
//! and writes the stack's private state (listeners, the output queue, the
//! counters), and the connection's part an `impl Connection` that sets the
//! TCB's private fields (`snd_nxt`, `rcv_adv`, what is pending). Privacy in
//! Rust follows the module tree, so moving either under a `syn_cookie/`
//! directory would open that state to the whole crate. The codec knows
//! neither a stack nor a connection (addresses, numbers and the time in,
//! numbers out), so it sits below both and serves as this map.

use core::hash::Hasher;
use std::net::SocketAddr;

use siphasher::sip::SipHasher24;

use crate::tcp::isn::TupleBytes;
use crate::time::Instant;

/// Linux's `msstab` for IPv4: the MSS values a cookie can carry.
pub(crate) const MSS_TABLE: [u16; 4] = [536, 1300, 1440, 1460];

/// Seconds per tick of the cookie clock (Linux counts minutes; 64 s makes
/// the tick a shift).
pub(crate) const PERIOD_SECS: u64 = 64;

/// Ticks a cookie stays valid (Linux `MAX_SYNCOOKIE_AGE`: 2).
const MAX_AGE: u32 = 2;

const COOKIE_BITS: u32 = 24;
const COOKIE_MASK: u32 = (1 << COOKIE_BITS) - 1;

/// Low TSval bits used for options (Linux `TSBITS`).
const TS_BITS: u32 = 6;
const TS_MASK: u32 = (1 << TS_BITS) - 1;
/// "No window scale" in the four window-scale bits.
const TS_WSCALE_NONE: u32 = 0xf;
const TS_SACK: u32 = 1 << 4;

/// Options recovered from a cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CookieOptions {
    /// The peer's MSS, rounded down to a [`MSS_TABLE`] entry.
    pub mss: u16,
    /// The peer's window scale shift, if it offered one.
    pub wscale: Option<u8>,
    /// The peer sent SACK-permitted.
    pub sack: bool,
}

/// Makes and checks SYN cookies for one stack.
#[derive(Clone)]
pub(crate) struct SynCookies {
    keys: [[u8; 16]; 3],
}

impl core::fmt::Debug for SynCookies {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SynCookies { .. }")
    }
}

impl SynCookies {
    /// Keyed with three 128-bit secrets from the stack's RNG.
    pub(crate) const fn new(keys: [[u8; 16]; 3]) -> Self {
        Self { keys }
    }

    fn hash(&self, key: usize, local: SocketAddr, remote: SocketAddr, count: u32) -> u32 {
        let mut h = SipHasher24::new_with_key(self.keys.get(key).unwrap_or(&[0; 16]));
        let mut tuple = TupleBytes::default();
        h.write(tuple.encode(local, remote));
        h.write(&count.to_be_bytes());
        let v = h.finish();
        (v ^ (v >> 32)) as u32
    }

    /// The coarse clock at `now`.
    pub(crate) fn counter(now: Instant) -> u32 {
        // Truncation is fine: only differences modulo 2^8 are used.
        (now.total_micros() / 1_000_000 / PERIOD_SECS) as u32
    }

    /// The index of the largest table MSS not above the peer's (536 when
    /// it sent none, RFC 9293 3.7.1).
    fn mss_index(peer_mss: Option<u16>) -> u32 {
        let mss = peer_mss.unwrap_or(536);
        let i = MSS_TABLE.iter().rposition(|&m| m <= mss).unwrap_or(0);
        i as u32
    }

    /// The ISN of a cookie SYN-ACK answering a SYN with sequence number
    /// `client_isn` and MSS option `peer_mss`.
    pub(crate) fn make(
        &self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        client_isn: u32,
        peer_mss: Option<u16>,
    ) -> u32 {
        let count = Self::counter(now);
        let data = Self::mss_index(peer_mss);
        self.hash(0, local, remote, 0)
            .wrapping_add(client_isn)
            .wrapping_add(count << COOKIE_BITS)
            .wrapping_add(self.hash(1, local, remote, count).wrapping_add(data) & COOKIE_MASK)
    }

    /// The MSS a cookie carries, if `cookie` is one we made for this
    /// 4-tuple and `client_isn` within the last two ticks.
    pub(crate) fn check(
        &self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        client_isn: u32,
        cookie: u32,
    ) -> Option<u16> {
        let count = Self::counter(now);
        let rest = cookie
            .wrapping_sub(self.hash(0, local, remote, 0))
            .wrapping_sub(client_isn);
        let diff = count.wrapping_sub(rest >> COOKIE_BITS) & (u32::MAX >> COOKIE_BITS);
        if diff >= MAX_AGE {
            return None;
        }
        let data =
            rest.wrapping_sub(self.hash(1, local, remote, count.wrapping_sub(diff))) & COOKIE_MASK;
        MSS_TABLE.get(data as usize).copied()
    }

    /// The timestamp offset of a connection made from a cookie: a keyed
    /// hash of the 4-tuple (Linux `secure_tcp_ts_off`), so it can be
    /// computed again when the ACK comes back.
    pub(crate) fn ts_offset(&self, local: SocketAddr, remote: SocketAddr) -> u32 {
        self.hash(2, local, remote, 0)
    }

    /// Our TSval for a cookie SYN-ACK: the millisecond clock with its low
    /// six bits replaced by the options, never ahead of the clock (Linux
    /// `cookie_init_timestamp`), plus `ts_offset`.
    pub(crate) fn timestamp(now: Instant, ts_offset: u32, wscale: Option<u8>, sack: bool) -> u32 {
        let clock = now.total_millis() as u32;
        let mut options = wscale.map_or(TS_WSCALE_NONE, |s| u32::from(s.min(14)));
        if sack {
            options |= TS_SACK;
        }
        let mut ts = (clock & !TS_MASK) | options;
        if ts > clock {
            ts = ts.wrapping_sub(1 << TS_BITS);
        }
        ts.wrapping_add(ts_offset)
    }

    /// The options a returned TSecr carries (Linux
    /// `cookie_timestamp_decode`).
    pub(crate) fn options_from_echo(ts_ecr: u32, ts_offset: u32) -> (Option<u8>, bool) {
        let bits = ts_ecr.wrapping_sub(ts_offset) & TS_MASK;
        let wscale = bits & 0xf;
        let wscale = (wscale != TS_WSCALE_NONE).then_some(wscale as u8);
        (wscale, bits & TS_SACK != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};

    fn addrs() -> (SocketAddr, SocketAddr) {
        (
            SocketAddr::new(IpAddr::V4(Ipv4Addr::new(198, 18, 0, 2)), 80),
            SocketAddr::new(IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1)), 40000),
        )
    }

    #[test]
    fn round_trip_and_expiry() {
        let c = SynCookies::new([[1; 16], [2; 16], [3; 16]]);
        let (l, r) = addrs();
        let t = Instant::from_secs(1000);
        for (mss, want) in [
            (None, 536),
            (Some(1460), 1460),
            (Some(1400), 1300),
            (Some(9000), 1460),
        ] {
            let cookie = c.make(t, l, r, 12345, mss);
            assert_eq!(c.check(t, l, r, 12345, cookie), Some(want));
            // Still good one tick later, not two.
            let t1 = t + crate::time::Duration::from_secs(PERIOD_SECS);
            assert_eq!(c.check(t1, l, r, 12345, cookie), Some(want));
            let t2 = t + crate::time::Duration::from_secs(2 * PERIOD_SECS);
            assert_eq!(c.check(t2, l, r, 12345, cookie), None);
            // Another client ISN, another port, a guess: refused. (An ISN
            // off by less than the table's size decodes to another entry,
            // as in Linux: the cookie is what authenticates.)
            assert_eq!(c.check(t, l, r, 12345 + 1000, cookie), None);
            let other = SocketAddr::new(r.ip(), 40001);
            assert_eq!(c.check(t, l, other, 12345, cookie), None);
            assert_eq!(c.check(t, l, r, 12345, cookie ^ 0x100), None);
        }
    }

    #[test]
    fn options_ride_in_the_timestamp() {
        let now = Instant::from_millis(123_456);
        for (wscale, sack) in [
            (Some(7), true),
            (None, false),
            (Some(0), false),
            (None, true),
        ] {
            let ts = SynCookies::timestamp(now, 999, wscale, sack);
            assert!(ts.wrapping_sub(999) <= 123_456, "never ahead of the clock");
            assert!(123_456 - ts.wrapping_sub(999) < 64);
            assert_eq!(SynCookies::options_from_echo(ts, 999), (wscale, sack));
        }
    }
}
