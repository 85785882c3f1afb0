//! Ephemeral port selection, RFC 6056 section 3.3.1 (Algorithm 1, "Simple
//! Port Randomization"), over Linux's default range 32768-60999
//! (`ip_local_port_range`). The random numbers come from the caller.

use core::ops::RangeInclusive;

/// Linux's default `net.ipv4.ip_local_port_range`.
pub const DEFAULT_RANGE: RangeInclusive<u16> = 32768..=60999;

/// Picks a port in `range` for which `is_free` holds, starting at a random
/// offset (`random`) and trying each port of the range at most once.
pub fn pick(
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

#[cfg(test)]
mod tests {
    use super::*;

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
