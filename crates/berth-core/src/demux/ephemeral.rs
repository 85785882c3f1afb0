//! Ephemeral port selection over Linux's default range 32768-60999
//! (`ip_local_port_range`): RFC 6056 section 3.3.1 (Algorithm 1, "Simple
//! Port Randomization") for binds to port 0, whose random numbers come from
//! the caller, and section 3.3.4 (Algorithm 4, "Double-Hash Port
//! Selection", what Linux's `__inet_hash_connect` does) for connections:
//! each destination gets its own unpredictable sequence of ports, and a
//! connection to it starts where the last one stopped, so a client making
//! thousands of connections does not scan the ports it used a moment ago
//! (in TIME-WAIT) over and over.

use core::hash::Hasher;
use core::ops::RangeInclusive;
use std::net::{IpAddr, SocketAddr};

use siphasher::sip::SipHasher13;

/// Linux's default `net.ipv4.ip_local_port_range`.
pub(crate) const DEFAULT_RANGE: RangeInclusive<u16> = 32768..=60999;

/// Picks a port in `range` for which `is_free` holds, starting at a random
/// offset (`random`) and trying each port of the range at most once.
pub(crate) fn pick(
    range: &RangeInclusive<u16>,
    random: u64,
    mut is_free: impl FnMut(u16) -> bool,
) -> Option<u16> {
    let (min, max) = (u32::from(*range.start()), u32::from(*range.end()));
    if min > max {
        return None;
    }
    let num = max - min + 1;
    //= https://www.rfc-editor.org/rfc/rfc6056#section-3.3.1
    //# next_ephemeral = min_ephemeral + (random() % num_ephemeral);
    let mut next = (random % u64::from(num)) as u32;
    for _ in 0..num {
        let port = u16::try_from(min + next).ok()?;
        if is_free(port) {
            return Some(port);
        }
        next = (next + 1) % num;
    }
    None
}

/// How many counters [`DoubleHash`] keeps (RFC 6056 suggests 10; more
/// make destinations that share one rarer).
const TABLE_LENGTH: usize = 256;

/// RFC 6056 Algorithm 4's state: the secret of its hash functions and its
/// table of per-destination-group increments.
#[derive(Clone)]
pub(crate) struct DoubleHash {
    key: [u8; 16],
    table: Box<[u16; TABLE_LENGTH]>,
}

impl core::fmt::Debug for DoubleHash {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // The secret stays out of logs.
        f.write_str("DoubleHash")
    }
}

impl DoubleHash {
    /// A selector keyed with `key` (128 secret bits); the table starts at
    /// zero (the offset `F` is already secret and per destination).
    pub(crate) fn new(key: [u8; 16]) -> Self {
        Self {
            key,
            table: Box::new([0; TABLE_LENGTH]),
        }
    }

    /// A port in `range` for a connection from `local` to `remote` for
    /// which `is_suitable` holds, or `None` once every port was tried.
    pub(crate) fn pick(
        &mut self,
        range: &RangeInclusive<u16>,
        local: IpAddr,
        remote: SocketAddr,
        mut is_suitable: impl FnMut(u16) -> bool,
    ) -> Option<u16> {
        let (min, max) = (u32::from(*range.start()), u32::from(*range.end()));
        if min > max {
            return None;
        }
        let num = max - min + 1;
        // F and G: the two halves of one keyed hash of the 3-tuple, as
        // independent as two hashes with two keys.
        let h = self.hash(local, remote);
        let offset = h as u32;
        let index = (h >> 32) as usize % TABLE_LENGTH;
        //= https://www.rfc-editor.org/rfc/rfc6056#section-3.3.4
        //# count = num_ephemeral;
        //#
        //# do {
        //#     next_ephemeral = min_ephemeral +
        //#                      (offset + table[index]) % num_ephemeral;
        //#     table[index]++;
        //#
        //#     if(check_suitable_port(next_ephemeral))
        //#         return next_ephemeral;
        //#
        //#     count--;
        //#
        //# } while (count > 0);
        //#
        //# return ERROR;
        let slot = self.table.get_mut(index)?;
        for _ in 0..num {
            let next = offset.wrapping_add(u32::from(*slot)) % num;
            *slot = slot.wrapping_add(1);
            let port = u16::try_from(min + next).ok()?;
            if is_suitable(port) {
                return Some(port);
            }
        }
        None
    }

    /// SipHash-1-3 over a stable encoding of (local IP, remote IP, remote
    /// port).
    fn hash(&self, local: IpAddr, remote: SocketAddr) -> u64 {
        let mut hasher = SipHasher13::new_with_key(&self.key);
        for ip in [local, remote.ip()] {
            match ip {
                IpAddr::V4(ip) => hasher.write(&ip.octets()),
                IpAddr::V6(ip) => hasher.write(&ip.octets()),
            }
        }
        hasher.write(&remote.port().to_be_bytes());
        hasher.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dst(port: u16) -> SocketAddr {
        SocketAddr::new("198.18.0.2".parse().unwrap(), port)
    }

    #[test]
    fn successive_connections_to_one_destination_take_successive_ports() {
        let mut s = DoubleHash::new([7; 16]);
        let local: IpAddr = "198.18.0.1".parse().unwrap();
        let a = s.pick(&DEFAULT_RANGE, local, dst(80), |_| true).unwrap();
        let b = s.pick(&DEFAULT_RANGE, local, dst(80), |_| true).unwrap();
        assert!(DEFAULT_RANGE.contains(&a) && DEFAULT_RANGE.contains(&b));
        let next = if a == *DEFAULT_RANGE.end() {
            *DEFAULT_RANGE.start()
        } else {
            a + 1
        };
        assert_eq!(b, next);
        // A busy port is skipped, and the search goes on from there.
        let c = s.pick(&DEFAULT_RANGE, local, dst(80), |p| p != next + 1);
        assert_eq!(c, Some(next + 2));
    }

    #[test]
    fn destinations_and_keys_give_unrelated_ports() {
        let local: IpAddr = "198.18.0.1".parse().unwrap();
        let firsts: std::collections::HashSet<u16> = (0..64u16)
            .map(|p| {
                DoubleHash::new([1; 16])
                    .pick(&DEFAULT_RANGE, local, dst(p + 1), |_| true)
                    .unwrap()
            })
            .collect();
        assert!(firsts.len() > 56, "spread over the range");
        let other = DoubleHash::new([2; 16])
            .pick(&DEFAULT_RANGE, local, dst(1), |_| true)
            .unwrap();
        let first = DoubleHash::new([1; 16])
            .pick(&DEFAULT_RANGE, local, dst(1), |_| true)
            .unwrap();
        assert_ne!(other, first);
    }

    #[test]
    fn every_port_is_tried_once_before_giving_up() {
        let mut s = DoubleHash::new([3; 16]);
        let local: IpAddr = "198.18.0.1".parse().unwrap();
        let range = 40000..=40099;
        let mut tried = std::collections::HashSet::new();
        assert_eq!(
            s.pick(&range, local, dst(80), |p| {
                assert!(tried.insert(p), "{p} twice");
                false
            }),
            None
        );
        assert_eq!(tried.len(), 100);
        assert_eq!(s.pick(&range, local, dst(80), |p| p == 40042), Some(40042));
    }

    #[test]
    fn picks_inside_the_range_and_reports_exhaustion() {
        let range = 40000..=40009;
        for r in 0..50 {
            let p = pick(&range, r, |_| true).unwrap();
            assert!(range.contains(&p));
        }
        assert_eq!(pick(&range, 3, |p| p == 40001), Some(40001));
        assert_eq!(pick(&range, 3, |_| false), None);
    }

    #[test]
    fn different_randomness_spreads_ports() {
        let ports: std::collections::HashSet<u16> = (0..100u64)
            .map(|r| {
                pick(
                    &DEFAULT_RANGE,
                    r.wrapping_mul(0x9e37_79b9_7f4a_7c15),
                    |_| true,
                )
                .unwrap()
            })
            .collect();
        assert!(ports.len() > 90);
    }
}
