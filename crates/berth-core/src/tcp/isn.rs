//! Initial sequence numbers per RFC 6528 (also RFC 9293 section 3.4.1):
//! `ISN = M + F(localip, localport, remoteip, remoteport, secretkey)`, where
//! `M` is a clock ticking every 4 µs (taken from the `now` argument, never
//! from a real clock) and `F` is SipHash-2-4 keyed with a 128-bit secret.
//!
//! The secret comes from the stack's seeded RNG (docs/ARCHITECTURE.md rule
//! 3), so a simulation with a fixed seed picks the same ISNs on every run,
//! while a real stack seeded from the OS gives ISNs an off-path attacker
//! cannot predict.
//! The result is a raw `u32`; the TCP layer wraps it in its sequence number
//! type.

use core::fmt;
use core::hash::Hasher;
use std::net::{IpAddr, SocketAddr};

use siphasher::sip::SipHasher24;

use crate::time::Instant;

/// RFC 6528 section 3: the clock `M` advances by one every 4 µs.
const CLOCK_TICK_MICROS: u64 = 4;

/// Picks initial sequence numbers for new connections (RFC 6528).
///
/// One generator serves a whole stack; it holds only the secret key.
#[derive(Clone)]
pub(crate) struct IsnGenerator {
    secret: [u8; 16],
}

impl IsnGenerator {
    /// A generator keyed with `secret`, 128 bits from the stack's RNG.
    pub(crate) const fn new(secret: [u8; 16]) -> Self {
        Self { secret }
    }

    /// The ISN for a connection from `local` to `remote`, opened at `now`.
    ///
    /// The same 4-tuple at the same time always gives the same number;
    /// different 4-tuples give unrelated numbers; for one 4-tuple the number
    /// grows by one every 4 µs and wraps modulo 2^32.
    pub(crate) fn generate(&self, now: Instant, local: SocketAddr, remote: SocketAddr) -> u32 {
        //= https://www.rfc-editor.org/rfc/rfc6528#section-3
        //# TCP SHOULD generate its Initial Sequence Numbers with the expression:
        //#
        //#    ISN = M + F(localip, localport, remoteip, remoteport, secretkey)
        //#
        //# where M is the 4 microsecond timer, and F() is a pseudorandom
        //# function (PRF) of the connection-id.
        // Truncating to 32 bits is the wrap of the 4 µs counter (once every
        // ~4.77 hours), not a loss: only M modulo 2^32 is ever used.
        let m = (now.total_micros() / CLOCK_TICK_MICROS) as u32;
        m.wrapping_add(self.keyed_hash(local, remote))
    }

    /// `F()`: SipHash-2-4 over an explicit, stable encoding of the 4-tuple
    /// (not `Hash for SocketAddr`, whose byte layout std does not promise),
    /// folded from 64 to 32 bits: one pass over 13 bytes for IPv4, 37 for
    /// IPv6, as Linux's `secure_tcp_seq` hashes three words
    /// (`siphash_3u32`), and no more.
    fn keyed_hash(&self, local: SocketAddr, remote: SocketAddr) -> u32 {
        let mut hasher = SipHasher24::new_with_key(&self.secret);
        let mut tuple = TupleBytes::default();
        hasher.write(tuple.encode(local, remote));
        let h = hasher.finish();
        // Keep the high half's entropy too; truncation is the intent.
        (h ^ (h >> 32)) as u32
    }
}

/// A 4-tuple as bytes for a keyed hash, written in one call: the family
/// (4 or 6), then each end's address and port, big-endian. Distinct
/// tuples give distinct bytes (an IPv4-mapped IPv6 address is not the
/// IPv4 address: the family differs).
pub(crate) struct TupleBytes {
    bytes: [u8; 1 + 2 * (16 + 2)],
}

impl Default for TupleBytes {
    fn default() -> Self {
        Self {
            bytes: [0; 1 + 2 * (16 + 2)],
        }
    }
}

impl TupleBytes {
    /// The encoding of `local` to `remote`.
    pub(crate) fn encode(&mut self, local: SocketAddr, remote: SocketAddr) -> &[u8] {
        let mut at = 0;
        let mut put = |b: &[u8]| {
            if let Some(dst) = self.bytes.get_mut(at..at + b.len()) {
                dst.copy_from_slice(b);
                at += b.len();
            }
        };
        put(&[if local.is_ipv4() { 4 } else { 6 }]);
        for addr in [local, remote] {
            match addr.ip() {
                IpAddr::V4(ip) => put(&ip.octets()),
                IpAddr::V6(ip) => put(&ip.octets()),
            }
            put(&addr.port().to_be_bytes());
        }
        self.bytes.get(..at).unwrap_or_default()
    }
}

impl fmt::Debug for IsnGenerator {
    /// Never prints the secret: `F()` must not be computable from outside.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IsnGenerator")
            .field("secret", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: [u8; 16] = *b"berth-isn-secret";

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn tuple() -> (SocketAddr, SocketAddr) {
        (addr("198.18.0.1:49152"), addr("198.18.0.2:80"))
    }

    //= https://www.rfc-editor.org/rfc/rfc6528#section-3
    //= type=test
    //# ISN = M + F(localip, localport, remoteip, remoteport, secretkey)
    #[test]
    fn same_inputs_same_isn() {
        let (local, remote) = tuple();
        let now = Instant::from_millis(1234);
        let a = IsnGenerator::new(SECRET).generate(now, local, remote);
        let b = IsnGenerator::new(SECRET).generate(now, local, remote);
        assert_eq!(a, b);
    }

    #[test]
    fn every_tuple_component_and_the_secret_matter() {
        let (local, remote) = tuple();
        let now = Instant::from_secs(7);
        let isn = IsnGenerator::new(SECRET);
        let base = isn.generate(now, local, remote);
        let variants = [
            (addr("198.18.0.3:49152"), remote),
            (addr("198.18.0.1:49153"), remote),
            (local, addr("198.18.0.4:80")),
            (local, addr("198.18.0.2:81")),
            // Swapping the ends is a different connection-id.
            (remote, local),
            (addr("[2001:2::1]:49152"), addr("[2001:2::2]:80")),
            // An IPv4-mapped address is not the IPv4 address.
            (
                addr("[::ffff:198.18.0.1]:49152"),
                addr("[::ffff:198.18.0.2]:80"),
            ),
        ];
        for (l, r) in variants {
            assert_ne!(isn.generate(now, l, r), base, "{l} -> {r}");
        }
        let mut other = SECRET;
        other[0] ^= 1;
        assert_ne!(IsnGenerator::new(other).generate(now, local, remote), base);
    }

    #[test]
    fn many_tuples_rarely_collide() {
        let isn = IsnGenerator::new(SECRET);
        let remote = addr("198.18.0.2:443");
        let mut seen = std::collections::HashSet::new();
        for port in 1024..3072u16 {
            let local = SocketAddr::new(addr("198.18.0.1:0").ip(), port);
            seen.insert(isn.generate(Instant::ZERO, local, remote));
        }
        // 2048 draws from 2^32: a collision has probability ~5e-4.
        assert!(seen.len() >= 2047, "{}", seen.len());
    }

    //= https://www.rfc-editor.org/rfc/rfc6528#section-3
    //= type=test
    //# where M is the 4 microsecond timer
    #[test]
    fn advances_by_one_every_four_microseconds() {
        let (local, remote) = tuple();
        let isn = IsnGenerator::new(SECRET);
        let at = |us| isn.generate(Instant::from_micros(us), local, remote);
        let base = at(1_000_000);
        assert_eq!(at(1_000_001), base);
        assert_eq!(at(1_000_003), base);
        assert_eq!(at(1_000_004), base.wrapping_add(1));
        assert_eq!(at(1_000_400), base.wrapping_add(100));
        // One second is 250 000 ticks.
        assert_eq!(at(2_000_000), base.wrapping_add(250_000));
    }

    #[test]
    fn wraps_without_panicking_at_huge_now() {
        let (local, remote) = tuple();
        let isn = IsnGenerator::new(SECRET);
        // The 32-bit counter wraps every 2^32 * 4 µs.
        let period = (1u64 << 32) * CLOCK_TICK_MICROS;
        let before = isn.generate(Instant::from_micros(period - 4), local, remote);
        let after = isn.generate(Instant::from_micros(period), local, remote);
        assert_eq!(after, before.wrapping_add(1));
        assert_eq!(
            isn.generate(Instant::from_micros(period + 40), local, remote),
            isn.generate(Instant::from_micros(40), local, remote)
        );
        let _ = isn.generate(Instant::from_micros(u64::MAX), local, remote);
    }

    #[test]
    fn debug_hides_the_secret() {
        let shown = format!("{:?}", IsnGenerator::new(SECRET));
        assert!(!shown.contains(&format!("{SECRET:?}")), "{shown}");
        assert!(shown.contains("redacted"), "{shown}");
    }
}
