//! The virtio-net header that a TUN device opened with `IFF_VNET_HDR` puts
//! before every packet (the Virtio 1.x specification, section 5.1.6 "Device
//! Operation", `struct virtio_net_hdr`, 10 bytes in the legacy layout Linux
//! uses for TUN, fields in the host's byte order). It carries the offloads:
//! on receive, a packet whose checksum the kernel left for us to complete
//! (`NEEDS_CSUM`) and segments longer than the MTU that the kernel did not
//! split (GSO); on send, a TCP segment whose checksum the kernel completes
//! and, if it is long, splits into MSS-sized ones (TSO). Plain bytes in and
//! out; the descriptor is elsewhere.

/// The header's length in the legacy layout (no `num_buffers`).
pub(crate) const HEADER_LEN: usize = 10;

/// `flags`: the checksum at `csum_start + csum_offset` holds only the
/// pseudo-header sum; the rest is to be added.
pub(crate) const F_NEEDS_CSUM: u8 = 1;
/// `flags`: the device already checked the checksum.
pub(crate) const F_DATA_VALID: u8 = 2;
/// `gso_type`: not a GSO packet.
pub(crate) const GSO_NONE: u8 = 0;
/// `gso_type`: TCP over IPv4, to be split into `gso_size` payloads.
pub(crate) const GSO_TCPV4: u8 = 1;
/// `gso_type`: TCP over IPv6.
pub(crate) const GSO_TCPV6: u8 = 4;

/// The fields of one header.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct VnetHeader {
    pub(crate) flags: u8,
    pub(crate) gso_type: u8,
    pub(crate) hdr_len: u16,
    pub(crate) gso_size: u16,
    pub(crate) csum_start: u16,
    pub(crate) csum_offset: u16,
}

impl VnetHeader {
    pub(crate) fn parse(b: &[u8; HEADER_LEN]) -> Self {
        let u16_at = |i: usize| u16::from_ne_bytes([b[i], b[i + 1]]);
        Self {
            flags: b[0],
            gso_type: b[1],
            hdr_len: u16_at(2),
            gso_size: u16_at(4),
            csum_start: u16_at(6),
            csum_offset: u16_at(8),
        }
    }

    pub(crate) fn to_bytes(self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0] = self.flags;
        b[1] = self.gso_type;
        b[2..4].copy_from_slice(&self.hdr_len.to_ne_bytes());
        b[4..6].copy_from_slice(&self.gso_size.to_ne_bytes());
        b[6..8].copy_from_slice(&self.csum_start.to_ne_bytes());
        b[8..10].copy_from_slice(&self.csum_offset.to_ne_bytes());
        b
    }

    /// The header for a TCP segment in `packet` (an IPv4 or IPv6 packet
    /// without extension headers) whose checksum field holds the
    /// pseudo-header sum, for the kernel to complete (`NEEDS_CSUM`) and, if
    /// its payload is longer than `seg_payload`, to split into payloads of
    /// that size (GSO). `None` for anything else.
    pub(crate) fn for_tcp_segments(packet: &[u8], seg_payload: u16) -> Option<Self> {
        let (ip_len, gso_type) = match packet.first()? >> 4 {
            4 => (usize::from(packet.first()? & 0x0f) * 4, GSO_TCPV4),
            6 => (40, GSO_TCPV6),
            _ => return None,
        };
        let tcp_len = usize::from(packet.get(ip_len + 12)? >> 4) * 4;
        let headers = ip_len + tcp_len;
        // One segment's worth: the checksum alone is offloaded.
        let (gso_type, gso_size) = if packet.len() <= headers + usize::from(seg_payload) {
            (GSO_NONE, 0)
        } else {
            (gso_type, seg_payload)
        };
        Some(Self {
            flags: F_NEEDS_CSUM,
            gso_type,
            hdr_len: u16::try_from(headers).ok()?,
            gso_size,
            csum_start: u16::try_from(ip_len).ok()?,
            // The TCP checksum field.
            csum_offset: 16,
        })
    }
}

/// Completes the checksum of the TCP segment in `packet` (IPv4, or IPv6
/// without extension headers), whose checksum field holds the
/// pseudo-header sum: what a device that offloads it makes of it. `false`
/// (and the packet left alone) for anything else.
pub(crate) fn complete_tcp_checksum(packet: &mut [u8]) -> bool {
    let ip_len = match packet.first().map(|b| b >> 4) {
        Some(4) => u16::from(packet.first().map_or(0, |b| b & 0x0f)) * 4,
        Some(6) => 40,
        _ => return false,
    };
    // The TCP checksum field, 16 bytes into the TCP header.
    complete_checksum(packet, ip_len, 16)
}

/// Completes a checksum the kernel left partial (`NEEDS_CSUM`): the
/// Internet checksum (RFC 1071) of `packet[csum_start..]`, whose checksum
/// field already holds the pseudo-header sum, stored in that field. Returns
/// `false` (and leaves the packet alone) when the offsets do not fit.
pub(crate) fn complete_checksum(packet: &mut [u8], csum_start: u16, csum_offset: u16) -> bool {
    let start = usize::from(csum_start);
    let field = start + usize::from(csum_offset);
    if field + 2 > packet.len() {
        return false;
    }
    let sum = ones_complement_sum(packet.get(start..).unwrap_or_default());
    //= https://www.rfc-editor.org/rfc/rfc768
    //# If the computed  checksum  is zero,  it is transmitted  as all ones
    // (0 means "no checksum" to UDP, and IPv6 forbids that; for TCP the two
    // are the same value in one's complement, as Linux's CSUM_MANGLED_0).
    let value = match !sum {
        0 => 0xffff,
        v => v,
    };
    if let Some(f) = packet.get_mut(field..field + 2) {
        f.copy_from_slice(&value.to_be_bytes());
    }
    true
}

/// The 16-bit one's complement sum of `data` (RFC 1071), folded.
fn ones_complement_sum(data: &[u8]) -> u16 {
    let mut sum: u64 = 0;
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        let v = u64::from_be_bytes(w);
        // Add the four 16-bit words of `v` through two 32-bit halves.
        sum += (v >> 32) + (v & 0xffff_ffff);
    }
    let mut rest = chunks.remainder().chunks(2);
    for pair in &mut rest {
        let hi = u64::from(pair.first().copied().unwrap_or(0));
        let lo = u64::from(pair.get(1).copied().unwrap_or(0));
        sum += (hi << 8) | lo;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    u16::try_from(sum).unwrap_or(0xffff)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 1071's example: the sum of 0001 f203 f4f5 f6f7 is ddf2.
    #[test]
    fn sums_like_rfc_1071() {
        assert_eq!(
            ones_complement_sum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            0xddf2
        );
        // Odd lengths pad with a zero byte.
        assert_eq!(ones_complement_sum(&[0x12]), 0x1200);
        // Word by word, against the 8-byte fast path.
        let data: Vec<u8> = (0..1001u32).map(|i| (i * 151 % 256) as u8).collect();
        let mut slow: u32 = 0;
        for pair in data.chunks(2) {
            slow += u32::from(pair[0]) << 8 | u32::from(*pair.get(1).unwrap_or(&0));
        }
        while slow > 0xffff {
            slow = (slow & 0xffff) + (slow >> 16);
        }
        assert_eq!(u32::from(ones_complement_sum(&data)), slow);
    }

    /// A checksum that completes to 0 goes out as 0xffff.
    #[test]
    fn a_checksum_completing_to_zero_is_sent_as_all_ones() {
        // A UDP header (length 10, partial sum 0x1234) and two data bytes
        // chosen so that the whole sum is 0xffff.
        let mut p = vec![0u8; 10];
        p[4..6].copy_from_slice(&10u16.to_be_bytes());
        p[6..8].copy_from_slice(&0x1234u16.to_be_bytes());
        let w: u16 = 0xffff - 10 - 0x1234;
        p[8..10].copy_from_slice(&w.to_be_bytes());
        assert!(complete_checksum(&mut p, 0, 6));
        assert_eq!(&p[6..8], &[0xff, 0xff]);
    }

    #[test]
    fn header_round_trips_and_describes_tcp_segments() {
        let h = VnetHeader {
            flags: F_NEEDS_CSUM,
            gso_type: GSO_TCPV6,
            hdr_len: 72,
            gso_size: 1428,
            csum_start: 40,
            csum_offset: 16,
        };
        assert_eq!(VnetHeader::parse(&h.to_bytes()), h);
        // IPv4 with a 20-byte header, TCP with 32 (data offset 8), and two
        // segments' worth of payload.
        let mut v4 = vec![0u8; 52 + 2 * 1448];
        v4[0] = 0x45;
        v4[20 + 12] = 8 << 4;
        let h = VnetHeader::for_tcp_segments(&v4, 1448).unwrap();
        assert_eq!(
            (
                h.flags,
                h.gso_type,
                h.hdr_len,
                h.gso_size,
                h.csum_start,
                h.csum_offset
            ),
            (F_NEEDS_CSUM, GSO_TCPV4, 52, 1448, 20, 16)
        );
        let mut v6 = vec![0u8; 60 + 1441];
        v6[0] = 0x60;
        v6[40 + 12] = 5 << 4;
        let h = VnetHeader::for_tcp_segments(&v6, 1440).unwrap();
        assert_eq!((h.gso_type, h.hdr_len, h.gso_size), (GSO_TCPV6, 60, 1440));
        // One segment's worth, to the last byte: only the checksum is left
        // to the kernel, no GSO.
        v6.truncate(60 + 1440);
        let h = VnetHeader::for_tcp_segments(&v6, 1440).unwrap();
        assert_eq!(
            (h.flags, h.gso_type, h.gso_size, h.csum_start, h.csum_offset),
            (F_NEEDS_CSUM, GSO_NONE, 0, 40, 16)
        );
        v4.truncate(52);
        let h = VnetHeader::for_tcp_segments(&v4, 1448).unwrap();
        assert_eq!((h.gso_type, h.hdr_len, h.gso_size), (GSO_NONE, 52, 0));
        assert_eq!(VnetHeader::for_tcp_segments(&[0x45; 10], 1), None);
        assert_eq!(VnetHeader::for_tcp_segments(&[], 1), None);
    }

    #[test]
    fn completing_a_partial_checksum_makes_the_whole_sum_verify() {
        // A fake segment whose checksum field (at 16) holds a partial sum.
        let mut p: Vec<u8> = (0..64u8).collect();
        p[16] = 0x12;
        p[17] = 0x34;
        assert!(complete_checksum(&mut p, 0, 16));
        // The receiver's check: the pseudo-header sum plus the sum over the
        // segment, checksum included, is all ones.
        let mut check = u32::from(ones_complement_sum(&p)) + 0x1234;
        while check > 0xffff {
            check = (check & 0xffff) + (check >> 16);
        }
        assert_eq!(check, 0xffff);
        assert!(!complete_checksum(&mut p, 60, 16), "field beyond the end");
    }
}
