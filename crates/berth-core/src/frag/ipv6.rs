//! What IPv6 reassembly (RFC 8200 section 4.5) adds to the shared
//! [`Reassembler`](super::Reassembler): the key, the head kept from the
//! first fragment, and the packet rebuilt from it.

use std::net::Ipv6Addr;

use super::Head;
use crate::wire::{Ipv6FragmentHeader, Ipv6Packet, ipv6};

/// The length of the Fragment header (RFC 8200 section 4.5).
const FRAGMENT_HEADER_LEN: usize = 8;

/// What names an IPv6 datagram.
//= https://www.rfc-editor.org/rfc/rfc8200#section-4.5
//# An original packet is reassembled only from fragment packets that
//# have the same Source Address, Destination Address, and Fragment
//# Identification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Ipv6Key {
    pub(crate) src: Ipv6Addr,
    pub(crate) dst: Ipv6Addr,
    pub(crate) ident: u32,
}

/// The first fragment up to its data: the IPv6 header, the Per-Fragment
/// headers and the Fragment header, as they arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ipv6Head {
    /// Never shorter than the 40-byte header and the Fragment header.
    bytes: Vec<u8>,
    /// Where the Next Header field that names the Fragment header is in
    /// `bytes`: in front of the Fragment header.
    next_header_at: usize,
}

impl Head for Ipv6Head {
    fn heap_len(&self) -> usize {
        self.bytes.len()
    }
}

impl Ipv6Head {
    /// The head of `packet`, a fragment at offset 0 whose Fragment header
    /// is `fragment`; `None` when the header does not sit in `packet`.
    pub(crate) fn new(packet: &[u8], fragment: &Ipv6FragmentHeader) -> Option<Self> {
        let end = ipv6::HEADER_LEN + fragment.data_offset;
        let next_header_at = usize::try_from(fragment.next_header_pointer).ok()?;
        if end < ipv6::HEADER_LEN + FRAGMENT_HEADER_LEN
            || next_header_at >= end - FRAGMENT_HEADER_LEN
        {
            return None;
        }
        let bytes = packet.get(..end)?.to_vec();
        Some(Self {
            bytes,
            next_header_at,
        })
    }

    /// The IPv6 header and the Per-Fragment headers.
    fn per_fragment(&self) -> &[u8] {
        let end = self.bytes.len().saturating_sub(FRAGMENT_HEADER_LEN);
        self.bytes.get(..end).unwrap_or_default()
    }

    /// The packet reassembled around its Fragmentable Part, the fragments'
    /// data put together; `None` if its Payload Length would exceed 65,535
    /// octets.
    pub(crate) fn rebuild(&self, fragmentable: &[u8]) -> Option<Vec<u8>> {
        let per_fragment = self.per_fragment();
        let payload_len =
            u16::try_from(per_fragment.len().saturating_sub(ipv6::HEADER_LEN) + fragmentable.len())
                .ok()?;
        let mut packet = Vec::with_capacity(per_fragment.len() + fragmentable.len());
        packet.extend_from_slice(per_fragment);
        packet.extend_from_slice(fragmentable);
        //= https://www.rfc-editor.org/rfc/rfc8200#section-4.5
        //# The Next Header field of the last header of the Per-Fragment
        //# headers is obtained from the Next Header field of the first
        //# fragment's Fragment header.
        let next_header = *self.bytes.get(per_fragment.len())?;
        *packet.get_mut(self.next_header_at)? = next_header;
        //= https://www.rfc-editor.org/rfc/rfc8200#section-4.5
        //# The Payload Length of the reassembled packet is computed from
        //# the length of the Per-Fragment headers and the length and
        //# offset of the last fragment.
        // INVARIANT: `packet` starts with the 40-byte header (`new`).
        Ipv6Packet::new_unchecked(&mut packet[..]).set_payload_len(payload_len);
        Some(packet)
    }

    /// The first fragment as it arrived, `data` being its data: what an
    /// ICMPv6 Time Exceeded quotes.
    pub(crate) fn first_fragment(&self, data: &[u8]) -> Vec<u8> {
        let mut packet = Vec::with_capacity(self.bytes.len() + data.len());
        packet.extend_from_slice(&self.bytes);
        packet.extend_from_slice(data);
        packet
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{IpProtocol, Ipv6Repr};

    /// A first fragment: IPv6, a Destination Options header (Next Header
    /// 44), the Fragment header (Next Header UDP), then `data`.
    fn first_fragment(data: &[u8]) -> Vec<u8> {
        let ip = Ipv6Repr {
            src_addr: Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 1),
            dst_addr: Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 2),
            next_header: IpProtocol::Ipv6Opts,
            payload_len: 8 + 8 + data.len(),
            hop_limit: 64,
            traffic_class: 0,
            flow_label: 0,
        };
        let mut packet = vec![0u8; ip.buffer_len()];
        ip.emit(&mut Ipv6Packet::new_unchecked(&mut packet[..]));
        // Destination Options: Next Header 44, length 0, a PadN of 4.
        packet[40..48].copy_from_slice(&[44, 0, 1, 4, 0, 0, 0, 0]);
        // Fragment: Next Header 17, offset 0, M = 1, ident 7.
        packet[48..56].copy_from_slice(&[17, 0, 0, 1, 0, 0, 0, 7]);
        packet[56..].copy_from_slice(data);
        packet
    }

    //= https://www.rfc-editor.org/rfc/rfc8200#section-4.5
    //= type=test
    //# The Per-Fragment headers of the reassembled packet consists of all
    //# headers up to, but not including, the Fragment header of the first
    //# fragment packet (that is, the packet whose Fragment Offset is
    //# zero), with the following two changes:
    #[test]
    fn rebuild_drops_the_fragment_header() {
        let first = first_fragment(&[0xaa; 16]);
        let packet = Ipv6Packet::new_checked(&first[..]).unwrap();
        let walk = packet.walk_extensions().unwrap();
        let fragment = walk.fragment.unwrap();
        assert_eq!(fragment.next_header_pointer, 40);
        let head = Ipv6Head::new(&first, &fragment).unwrap();
        assert_eq!(head.first_fragment(&[0xaa; 16]), first);
        let whole = head.rebuild(&[0xbb; 100]).unwrap();
        assert_eq!(whole.len(), 40 + 8 + 100);
        assert_eq!(whole[40], 17, "the Next Header of the Destination Options");
        let rebuilt = Ipv6Packet::new_checked(&whole[..]).unwrap();
        assert_eq!(rebuilt.payload_len(), 108);
        assert_eq!(rebuilt.next_header(), IpProtocol::Ipv6Opts);
        let walk = rebuilt.walk_extensions().unwrap();
        assert_eq!((walk.upper_layer, walk.upper_offset), (IpProtocol::Udp, 8));
        assert_eq!(walk.fragment, None);
        // Beyond 65,535 octets of payload: nothing.
        assert_eq!(head.rebuild(&vec![0; 65535 - 8 + 1]), None);
        assert!(head.rebuild(&vec![0; 65535 - 8]).is_some());
    }
}
