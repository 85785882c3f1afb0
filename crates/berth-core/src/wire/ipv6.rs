//! IPv6 packets (RFC 8200): the fixed header, and the walk over the extension
//! headers to the upper-layer protocol.
//!
//! [`Packet`] is the view over the 40-byte header and its payload, [`Repr`]
//! the header with the extension headers walked, and
//! [`Packet::walk_extensions`] the walk itself. It walks Hop-by-Hop Options
//! (0, first only), Routing (43), Fragment (44), Destination Options (60) and
//! the Authentication Header (51, by the length rule of RFC 4302), at most
//! [`MAX_EXTENSION_HEADERS`] of them, and stops at any other Next Header (ESP
//! and No Next Header included) and at the data of a fragment other than the
//! first.
//!
//! RFC 8200 asks a receiver to drop some well-formed packets and to say why
//! with an ICMPv6 Parameter Problem: an option whose type it does not
//! recognise (section 4.2), a Routing header it cannot follow (section 4.4),
//! a fragment that cannot be reassembled (section 4.5). The walk reports these
//! as a [`Discard`] (the reason, the Parameter Problem's Pointer, and whether
//! to answer at all); [`Repr::parse`] refuses them as [`Error::Unsupported`].
//! It refuses fragments too (an atomic fragment aside): reassembly is the
//! stack's, from the walk's [`FragmentHeader`]. Jumbograms (RFC 2675) are not
//! supported. [`Repr::parse_quoted`] reads the invoking packet that an ICMPv6
//! error message quotes, which may be cut short (RFC 4443 section 2.4).

use std::net::Ipv6Addr;

use super::view::{Fields, FieldsMut, packet_view};
use super::{Error, IpProtocol, Result};

mod extensions;

pub use extensions::{
    Discard, DiscardReason, ExtensionsWalk, FRAGMENT_HEADER_LEN, FragmentHeader, OptionAction,
};
use extensions::{Mode, is_jumbogram, router_alert, walk};

mod field {
    use core::ops::Range;

    /// Version (4 bits), Traffic Class (8 bits), Flow Label (20 bits).
    pub(super) const VER_TC_FLOW: Range<usize> = 0..4;
    pub(super) const PAYLOAD_LEN: Range<usize> = 4..6;
    pub(super) const NEXT_HEADER: usize = 6;
    pub(super) const HOP_LIMIT: usize = 7;
    pub(super) const SRC_ADDR: Range<usize> = 8..24;
    pub(super) const DST_ADDR: Range<usize> = 24..40;
    pub(super) const PAYLOAD: usize = 40;
}

/// The length of the IPv6 header.
pub const HEADER_LEN: usize = field::PAYLOAD;

/// The most extension headers the walk follows; a packet with more is
/// [`Error::Malformed`]. Our own bound: RFC 8200 sets none, and eight is more
/// than the recommended order of section 4.1 ever uses.
pub const MAX_EXTENSION_HEADERS: usize = 8;

packet_view! {
    /// A view over an IPv6 packet.
    pub struct Packet;
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Checks that the buffer holds the header and the payload its Payload
    /// Length declares.
    ///
    /// A buffer longer than that is fine (link padding); [`Packet::payload`]
    /// stops at the Payload Length. The walk over extension headers checks
    /// their lengths against the payload itself.
    pub fn check_len(&self) -> Result<()> {
        let buffer_len = self.buffer.as_ref().len();
        if buffer_len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        //= https://www.rfc-editor.org/rfc/rfc8200#section-3
        //# Length of the IPv6
        //# payload, i.e., the rest of the packet
        //# following this IPv6 header, in octets.
        if HEADER_LEN + usize::from(self.payload_len()) > buffer_len {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// The Version field (6 for IPv6).
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TC_FLOW.start] >> 4
    }

    /// The Traffic Class field (RFC 8200 section 7): DSCP and ECN.
    pub fn traffic_class(&self) -> u8 {
        let b = &self.buffer.as_ref()[field::VER_TC_FLOW];
        (b[0] << 4) | (b[1] >> 4)
    }

    /// The Differentiated Services codepoint, the upper six bits of the
    /// Traffic Class (RFC 2474).
    pub fn dscp(&self) -> u8 {
        self.traffic_class() >> 2
    }

    /// The ECN field, the lower two bits of the Traffic Class (RFC 3168).
    pub fn ecn(&self) -> u8 {
        self.traffic_class() & 0b11
    }

    /// The 20-bit Flow Label field (RFC 6437).
    pub fn flow_label(&self) -> u32 {
        let b = &self.buffer.as_ref()[field::VER_TC_FLOW];
        u32::from_be_bytes([0, b[1] & 0x0f, b[2], b[3]])
    }

    /// The Payload Length field: extension headers and upper-layer data, in
    /// octets.
    pub fn payload_len(&self) -> u16 {
        self.get_u16(field::PAYLOAD_LEN)
    }

    /// The Next Header field of the IPv6 header itself.
    pub fn next_header(&self) -> IpProtocol {
        IpProtocol::from(self.buffer.as_ref()[field::NEXT_HEADER])
    }

    /// The Hop Limit field.
    pub fn hop_limit(&self) -> u8 {
        self.buffer.as_ref()[field::HOP_LIMIT]
    }

    /// The Source Address field.
    pub fn src_addr(&self) -> Ipv6Addr {
        let mut octets = [0; 16];
        octets.copy_from_slice(&self.buffer.as_ref()[field::SRC_ADDR]);
        Ipv6Addr::from(octets)
    }

    /// The Destination Address field.
    pub fn dst_addr(&self) -> Ipv6Addr {
        let mut octets = [0; 16];
        octets.copy_from_slice(&self.buffer.as_ref()[field::DST_ADDR]);
        Ipv6Addr::from(octets)
    }

    /// The payload (extension headers included), as far as the Payload
    /// Length says.
    pub fn payload(&self) -> &[u8] {
        let end = HEADER_LEN + usize::from(self.payload_len());
        &self.buffer.as_ref()[field::PAYLOAD..end]
    }

    /// Walks the extension headers to the upper-layer protocol.
    ///
    /// Errors are structural: an extension header longer than the payload or
    /// with an impossible length, an option running past its header, a
    /// Hop-by-Hop header anywhere but first, more than
    /// [`MAX_EXTENSION_HEADERS`] headers ([`Error::Malformed`]); a second
    /// Fragment header, or a jumbogram ([`Error::Unsupported`]). Packets that
    /// RFC 8200 says to discard come back as `Ok` with
    /// [`ExtensionsWalk::discard`] set. The Version field is not looked at.
    pub fn walk_extensions(&self) -> Result<ExtensionsWalk> {
        let first = self.next_header();
        if self.payload_len() == 0 && first == IpProtocol::HopByHop {
            // A Hop-by-Hop header cannot fit in an empty payload: this is a
            // jumbogram, or nonsense.
            let after_header = self
                .buffer
                .as_ref()
                .get(field::PAYLOAD..)
                .unwrap_or_default();
            //= https://www.rfc-editor.org/rfc/rfc2675#section-3
            //# The Payload Length field in the IPv6 header must be set to zero in
            //# every packet that carries the Jumbo Payload option.
            return Err(if is_jumbogram(after_header) {
                Error::Unsupported
            } else {
                Error::Malformed
            });
        }
        walk(first, self.payload(), Mode::Strict)
    }

    /// The value of the Router Alert option (RFC 2711) when the packet
    /// starts with a Hop-by-Hop header that holds one: 0 for an MLD
    /// message.
    pub fn router_alert(&self) -> Option<u16> {
        if self.next_header() != IpProtocol::HopByHop {
            return None;
        }
        router_alert(self.payload())
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the Version field.
    pub fn set_version(&mut self, value: u8) {
        let b = &mut self.buffer.as_mut()[field::VER_TC_FLOW.start];
        *b = (*b & 0x0f) | (value << 4);
    }

    /// Sets the Traffic Class field.
    pub fn set_traffic_class(&mut self, value: u8) {
        let b = &mut self.buffer.as_mut()[field::VER_TC_FLOW];
        b[0] = (b[0] & 0xf0) | (value >> 4);
        b[1] = (b[1] & 0x0f) | (value << 4);
    }

    /// Sets the Flow Label field from the low 20 bits of `value`.
    pub fn set_flow_label(&mut self, value: u32) {
        let v = value.to_be_bytes();
        let b = &mut self.buffer.as_mut()[field::VER_TC_FLOW];
        b[1] = (b[1] & 0xf0) | (v[1] & 0x0f);
        b[2] = v[2];
        b[3] = v[3];
    }

    /// Sets the Payload Length field.
    pub fn set_payload_len(&mut self, value: u16) {
        self.set_u16(field::PAYLOAD_LEN, value);
    }

    /// Sets the Next Header field of the IPv6 header.
    pub fn set_next_header(&mut self, value: IpProtocol) {
        self.buffer.as_mut()[field::NEXT_HEADER] = value.into();
    }

    /// Sets the Hop Limit field.
    pub fn set_hop_limit(&mut self, value: u8) {
        self.buffer.as_mut()[field::HOP_LIMIT] = value;
    }

    /// Sets the Source Address field.
    pub fn set_src_addr(&mut self, value: Ipv6Addr) {
        self.buffer.as_mut()[field::SRC_ADDR].copy_from_slice(&value.octets());
    }

    /// Sets the Destination Address field.
    pub fn set_dst_addr(&mut self, value: Ipv6Addr) {
        self.buffer.as_mut()[field::DST_ADDR].copy_from_slice(&value.octets());
    }

    /// The payload, mutably, as far as the Payload Length says.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = HEADER_LEN + usize::from(self.payload_len());
        &mut self.buffer.as_mut()[field::PAYLOAD..end]
    }
}

/// A parsed IPv6 header, its extension headers walked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Source address.
    pub src_addr: Ipv6Addr,
    /// Destination address.
    pub dst_addr: Ipv6Addr,
    /// The upper-layer protocol, after the extension headers.
    pub next_header: IpProtocol,
    /// The length of the upper-layer data (the Payload Length less the
    /// extension headers). `emit` writes it as the Payload Length.
    pub payload_len: usize,
    /// Hop limit.
    pub hop_limit: u8,
    /// Traffic Class: DSCP in the upper six bits, ECN in the lower two.
    pub traffic_class: u8,
    /// Flow Label; only the low 20 bits are sent.
    pub flow_label: u32,
}

impl Repr {
    /// Parses a checked view, walking its extension headers.
    ///
    /// Besides the errors of [`Packet::walk_extensions`]: a Version other
    /// than 6 is [`Error::Malformed`]; a packet the walk says to discard, and
    /// a fragment that needs reassembly, are [`Error::Unsupported`] (the
    /// stack takes them from the walk instead). An atomic fragment parses
    /// as the whole datagram it is.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Self> {
        packet.check_len()?;
        //= https://www.rfc-editor.org/rfc/rfc8200#section-3
        //# 4-bit Internet Protocol version number = 6.
        if packet.version() != 6 {
            return Err(Error::Malformed);
        }
        let walk = packet.walk_extensions()?;
        if walk.discard.is_some() {
            return Err(Error::Unsupported);
        }
        if let Some(fragment) = walk.fragment {
            //= https://www.rfc-editor.org/rfc/rfc8200#section-4.5
            //# If the fragment is a whole datagram (that is, both the Fragment
            //# Offset field and the M flag are zero), then it does not need
            //# any further reassembly and should be processed as a fully
            //# reassembled packet
            if !fragment.is_atomic() {
                return Err(Error::Unsupported);
            }
        }
        Ok(Self {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            next_header: walk.upper_layer,
            payload_len: usize::from(packet.payload_len()).saturating_sub(walk.upper_offset),
            hop_limit: packet.hop_limit(),
            traffic_class: packet.traffic_class(),
            flow_label: packet.flow_label(),
        })
    }

    /// Parses the invoking packet that an ICMPv6 error message quotes, and
    /// returns it with the quoted bytes after its extension headers (the
    /// upper-layer header and what follows, as far as quoted).
    ///
    /// The quote may be cut anywhere past the 40-byte header (RFC 4443
    /// section 2.4 (c)), so the Payload Length is not checked against it and
    /// the walk stops, without error, at the first extension header it
    /// cannot follow; `next_header` is then that header's type. The rules
    /// that depend on what came before are not applied (a Hop-by-Hop header
    /// anywhere, a second Fragment header, more than
    /// [`MAX_EXTENSION_HEADERS`]), so where the walk stops depends only on the
    /// bytes from there on: the returned header, emitted, followed by the
    /// returned data parses back to the same pair, which is what an ICMPv6
    /// error that re-quotes it carries.
    /// `payload_len` is the Payload Length less the extension headers walked.
    /// Fewer than 40 bytes are [`Error::Truncated`], a Version other than 6
    /// [`Error::Malformed`].
    pub fn parse_quoted(quoted: &[u8]) -> Result<(Self, &[u8])> {
        if quoted.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        // The 40 bytes of the header are there; payload() is not called.
        let packet = Packet::new_unchecked(quoted);
        if packet.version() != 6 {
            return Err(Error::Malformed);
        }
        let payload = quoted.get(HEADER_LEN..).unwrap_or_default();
        let walk = walk(packet.next_header(), payload, Mode::Lenient)?;
        let data = payload.get(walk.upper_offset..).unwrap_or_default();
        let repr = Self {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            next_header: walk.upper_layer,
            payload_len: usize::from(packet.payload_len()).saturating_sub(walk.upper_offset),
            hop_limit: packet.hop_limit(),
            traffic_class: packet.traffic_class(),
            flow_label: packet.flow_label(),
        };
        Ok((repr, data))
    }

    /// The fixed header as it stands, extension headers not walked:
    /// `next_header` is the header's own Next Header field and `payload_len`
    /// its Payload Length. Emitting it writes the same 40 octets again, which
    /// is how an ICMPv6 error quotes an invoking packet verbatim (followed by
    /// its [`Packet::payload`]).
    ///
    /// The view must hold the 40-byte header (a checked view does).
    pub fn from_fixed_header<T: AsRef<[u8]>>(packet: &Packet<T>) -> Self {
        Self {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            next_header: packet.next_header(),
            payload_len: usize::from(packet.payload_len()),
            hop_limit: packet.hop_limit(),
            traffic_class: packet.traffic_class(),
            flow_label: packet.flow_label(),
        }
    }

    /// The header length (always 40: `emit` writes no extension headers).
    pub const fn header_len(&self) -> usize {
        HEADER_LEN
    }

    /// The exact length of the packet: header plus upper-layer data.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN + self.payload_len
    }

    /// Writes the 40-byte header, with no extension headers.
    ///
    /// A `payload_len` above 65,535 does not fit the field (it would need a
    /// jumbogram); the field then saturates and the caller, which sized the
    /// packet, is wrong.
    pub fn emit_header<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        packet.set_version(6);
        packet.set_traffic_class(self.traffic_class);
        packet.set_flow_label(self.flow_label);
        packet.set_payload_len(u16::try_from(self.payload_len).unwrap_or(u16::MAX));
        packet.set_next_header(self.next_header);
        packet.set_hop_limit(self.hop_limit);
        packet.set_src_addr(self.src_addr);
        packet.set_dst_addr(self.dst_addr);
    }

    /// Writes the header into a buffer of exactly [`Repr::buffer_len`]
    /// bytes. IPv6 has no header checksum, so this is
    /// [`Repr::emit_header`]; the upper layer fills [`Packet::payload_mut`].
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        self.emit_header(packet);
    }
}

#[cfg(test)]
mod tests;
