//! The Internet checksum (RFC 1071) with the IPv4 and IPv6 pseudo-headers
//! (RFC 9293 section 3.1, RFC 8200 section 8.1), and incremental update
//! (RFC 1624).
//!
//! Conventions (smoltcp's): [`data`] and [`pseudo_header`] return the folded
//! one's-complement *sum*, not its complement; [`combine`] adds sums; a packet
//! stores `!combine(..)`, and a packet verifies when the sum over everything,
//! checksum field included, is `0xffff`.
//!
//! [`data`] adds eight bytes at a time in native byte order into independent
//! accumulators (the one's-complement sum is byte-order independent up to a
//! final swap, RFC 1071 section 2 (B)), which the compiler can vectorise.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::IpProtocol;

/// Folds a wide one's-complement accumulator into 16 bits.
const fn fold(mut sum: u64) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    // INVARIANT: the loop leaves sum <= 0xffff.
    sum as u16
}

/// The one's-complement sum of `bytes` as big-endian 16-bit words, an odd
/// final byte padded with zero on the right (RFC 1071 section 4.1).
#[inline]
pub fn data(bytes: &[u8]) -> u16 {
    // 32 bytes a round into four accumulators of 32-bit halves: each add is at
    // most 2^32, so a u64 cannot overflow for any slice shorter than 2^34 bytes.
    let mut acc = [0u64; 4];
    let mut chunks = bytes.chunks_exact(32);
    for chunk in &mut chunks {
        for (lane, word) in acc.iter_mut().zip(chunk.chunks_exact(8)) {
            let mut w = [0u8; 8];
            w.copy_from_slice(word);
            let w = u64::from_ne_bytes(w);
            *lane += (w & 0xffff_ffff) + (w >> 32);
        }
    }
    let mut rest = chunks.remainder();
    let mut eight = rest.chunks_exact(8);
    for word in &mut eight {
        let mut w = [0u8; 8];
        w.copy_from_slice(word);
        let w = u64::from_ne_bytes(w);
        acc[0] += (w & 0xffff_ffff) + (w >> 32);
    }
    rest = eight.remainder();
    // Each lane is below 2^62 here, so a pair of them cannot wrap.
    let [a0, a1, a2, a3] = acc;
    let native = fold(u64::from(fold(a0 + a1)) + u64::from(fold(a2 + a3)));
    // The native-order sum is the big-endian sum with its bytes swapped on a
    // little-endian machine (RFC 1071 section 2 (B)).
    let mut sum = u64::from(u16::from_be(native));
    let mut pairs = rest.chunks_exact(2);
    for pair in &mut pairs {
        sum += u64::from(u16::from_be_bytes([pair[0], pair[1]]));
    }
    if let [last] = pairs.remainder() {
        sum += u64::from(*last) << 8;
    }
    fold(sum)
}

/// Adds one's-complement sums.
#[inline]
pub fn combine(sums: &[u16]) -> u16 {
    fold(sums.iter().map(|&s| u64::from(s)).sum())
}

/// The sum of the IPv4 pseudo-header (RFC 9293 section 3.1): source, destination,
/// zero, protocol, and the upper-layer length.
#[inline]
pub fn pseudo_header_v4(src: Ipv4Addr, dst: Ipv4Addr, protocol: IpProtocol, length: u32) -> u16 {
    let (src, dst) = (u32::from(src), u32::from(dst));
    let mut sum = u64::from(src >> 16) + u64::from(src & 0xffff);
    sum += u64::from(dst >> 16) + u64::from(dst & 0xffff);
    sum += u64::from(u8::from(protocol));
    sum += u64::from(length >> 16) + u64::from(length & 0xffff);
    fold(sum)
}

/// The sum of the IPv6 pseudo-header (RFC 8200 section 8.1): source, destination,
/// 32-bit upper-layer length, zero and next header.
#[inline]
pub fn pseudo_header_v6(src: Ipv6Addr, dst: Ipv6Addr, protocol: IpProtocol, length: u32) -> u16 {
    let words = src.segments().into_iter().chain(dst.segments());
    let mut sum: u64 = words.map(u64::from).sum();
    sum += u64::from(u8::from(protocol));
    sum += u64::from(length >> 16) + u64::from(length & 0xffff);
    fold(sum)
}

/// The pseudo-header sum for either family. Mixed families (which no packet
/// carries) sum the two addresses as they are.
#[inline]
pub fn pseudo_header(src: IpAddr, dst: IpAddr, protocol: IpProtocol, length: u32) -> u16 {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => pseudo_header_v4(s, d, protocol, length),
        (IpAddr::V6(s), IpAddr::V6(d)) => pseudo_header_v6(s, d, protocol, length),
        (s, d) => {
            let addr = |a: IpAddr| match a {
                IpAddr::V4(a) => data(&a.octets()),
                IpAddr::V6(a) => data(&a.octets()),
            };
            let len = [(length >> 16) as u16, (length & 0xffff) as u16];
            combine(&[
                addr(s),
                addr(d),
                u16::from(u8::from(protocol)),
                len[0],
                len[1],
            ])
        }
    }
}

/// Updates a stored checksum `checksum` after one 16-bit word of the covered
/// data changed from `old` to `new`, without summing the data again.
///
/// RFC 1624 section 3, equation 3: `HC' = ~(~HC + ~m + m')`, which unlike
/// RFC 1141's equation never yields `0x0000` from a non-zero sum.
pub fn update(checksum: u16, old: u16, new: u16) -> u16 {
    !combine(&[!checksum, !old, new])
}

/// [`update`] for a 32-bit field (an IPv4 address, a sequence number).
pub fn update_u32(checksum: u16, old: u32, new: u32) -> u16 {
    let c = update(checksum, (old >> 16) as u16, (new >> 16) as u16);
    update(c, (old & 0xffff) as u16, (new & 0xffff) as u16)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// RFC 1071's definition, one big-endian word at a time.
    fn reference(bytes: &[u8]) -> u16 {
        let mut sum: u32 = 0;
        for pair in bytes.chunks(2) {
            let word = u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]);
            sum += u32::from(word);
            sum = (sum & 0xffff) + (sum >> 16);
        }
        sum as u16
    }

    //= https://www.rfc-editor.org/rfc/rfc1071#section-3
    //= type=test
    //# Byte-by-byte        "Normal"  Swapped
    #[test]
    fn rfc1071_example() {
        // The worked example in RFC 1071 section 3: the sum is ddf2.
        let bytes = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(data(&bytes), 0xddf2);
    }

    #[test]
    fn ipv4_header_checksum_verifies() {
        // The IPv4 header of an echo request 198.18.0.1 > 198.18.0.2, checksum 0x7117 in place.
        let hdr = [
            0x45, 0x00, 0x00, 0x54, 0x3d, 0x6a, 0x40, 0x00, 0x40, 0x01, 0x71, 0x17, 0xc6, 0x12,
            0x00, 0x01, 0xc6, 0x12, 0x00, 0x02,
        ];
        assert_eq!(data(&hdr), reference(&hdr));
        let mut zeroed = hdr;
        zeroed[10] = 0;
        zeroed[11] = 0;
        let computed = !data(&zeroed);
        assert_eq!(data(&hdr), 0xffff, "computed {computed:#06x}");
    }

    #[test]
    fn pseudo_headers_match_their_definition() {
        let (s, d) = (Ipv4Addr::new(198, 18, 0, 1), Ipv4Addr::new(198, 18, 0, 2));
        let mut ph = Vec::new();
        ph.extend_from_slice(&s.octets());
        ph.extend_from_slice(&d.octets());
        ph.extend_from_slice(&[0, 6, 0x05, 0xdc]);
        assert_eq!(
            pseudo_header_v4(s, d, IpProtocol::Tcp, 1500),
            reference(&ph)
        );

        let (s6, d6): (Ipv6Addr, Ipv6Addr) =
            ("2001:2::1".parse().unwrap(), "2001:2::2".parse().unwrap());
        let mut ph6 = Vec::new();
        ph6.extend_from_slice(&s6.octets());
        ph6.extend_from_slice(&d6.octets());
        ph6.extend_from_slice(&70000u32.to_be_bytes());
        ph6.extend_from_slice(&[0, 0, 0, 17]);
        assert_eq!(
            pseudo_header_v6(s6, d6, IpProtocol::Udp, 70000),
            reference(&ph6)
        );
        assert_eq!(
            pseudo_header(IpAddr::V6(s6), IpAddr::V6(d6), IpProtocol::Udp, 70000),
            reference(&ph6)
        );
    }

    proptest! {
        #[test]
        fn data_matches_reference(bytes in proptest::collection::vec(any::<u8>(), 0..600), skip in 0usize..8) {
            // Unaligned starts exercise the eight-byte path at every offset.
            let bytes = &bytes[skip.min(bytes.len())..];
            prop_assert_eq!(data(bytes), reference(bytes));
        }

        #[test]
        fn split_sums_combine(bytes in proptest::collection::vec(any::<u8>(), 0..300), at in 0usize..150) {
            // Splitting at an even offset and combining gives the same sum.
            let at = (at * 2).min(bytes.len() & !1);
            prop_assert_eq!(combine(&[data(&bytes[..at]), data(&bytes[at..])]), data(&bytes));
        }

        //= https://www.rfc-editor.org/rfc/rfc1624#section-3
        //= type=test
        //# HC' = ~(~HC + ~m + m')
        #[test]
        fn incremental_update_matches_recompute(
            mut bytes in proptest::collection::vec(any::<u8>(), 2..64).prop_filter("even", |b| b.len() % 2 == 0),
            idx in 0usize..32, new in any::<u16>(),
        ) {
            let idx = (idx % (bytes.len() / 2)) * 2;
            let before = !data(&bytes);
            let old = u16::from_be_bytes([bytes[idx], bytes[idx + 1]]);
            bytes[idx..idx + 2].copy_from_slice(&new.to_be_bytes());
            let after = !data(&bytes);
            let updated = update(before, old, new);
            // 0x0000 and 0xffff are the same one's-complement value.
            prop_assert!(updated == after || (updated == 0xffff && after == 0) || (updated == 0 && after == 0xffff),
                "updated {:#06x} recomputed {:#06x}", updated, after);
        }

        #[test]
        fn incremental_update_u32(mut bytes in proptest::collection::vec(any::<u8>(), 8..8 + 1), new in any::<u32>()) {
            let before = !data(&bytes);
            let old = u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
            bytes[4..8].copy_from_slice(&new.to_be_bytes());
            let after = !data(&bytes);
            let updated = update_u32(before, old, new);
            prop_assert!(updated == after || (updated | after) == 0xffff && (updated == 0 || after == 0));
        }
    }
}
