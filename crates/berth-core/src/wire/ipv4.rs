//! IPv4 datagrams (RFC 791, with the host rules of RFC 1122 section 3.2.1),
//! the DSCP and ECN fields that replaced the Type of Service octet (RFC 2474,
//! RFC 3168), and the header checksum (RFC 1071).
//!
//! [`Packet`] reads every header field. Options are skipped: they count in
//! the header length and [`Packet::options`] returns their bytes, but nothing
//! interprets them. The payload ends at Total Length, so link padding after
//! it is ignored. [`Repr`] holds what the stack needs to deliver, reassemble
//! and send datagrams; `Repr::emit` always writes a 20-byte header without
//! options, and leaves the payload to the caller.
//!
//! ICMP error messages quote an IPv4 header that was cut short on purpose;
//! [`Packet::check_header_len`] and [`Repr::parse_quoted`] read such a header
//! without requiring the datagram it describes.

use core::fmt;
use std::net::Ipv4Addr;

use super::view::{Fields, FieldsMut, packet_view};
use super::{ChecksumCaps, Error, IpProtocol, Result, RxChecksum, checksum};

mod field {
    use core::ops::Range;

    pub(super) const VER_IHL: usize = 0;
    pub(super) const DSCP_ECN: usize = 1;
    pub(super) const LENGTH: Range<usize> = 2..4;
    pub(super) const IDENT: Range<usize> = 4..6;
    pub(super) const FLG_OFF: Range<usize> = 6..8;
    pub(super) const TTL: usize = 8;
    pub(super) const PROTOCOL: usize = 9;
    pub(super) const CHECKSUM: Range<usize> = 10..12;
    pub(super) const SRC_ADDR: Range<usize> = 12..16;
    pub(super) const DST_ADDR: Range<usize> = 16..20;
    /// Where options (if any) start; the header ends at IHL * 4.
    pub(super) const OPTIONS: usize = 20;
}

/// The length of a header without options (IHL 5), the only kind `emit`
/// writes.
pub const HEADER_LEN: usize = field::OPTIONS;

/// The longest header: IHL 15, 40 bytes of options.
pub const MAX_HEADER_LEN: usize = 60;

/// The flag bits in the Flags/Fragment Offset field.
const FLAG_RESERVED: u16 = 0x8000;
const FLAG_DF: u16 = 0x4000;
const FLAG_MF: u16 = 0x2000;
const OFFSET_MASK: u16 = 0x1fff;

/// The ECN field, the low two bits of the former Type of Service octet
/// (RFC 3168 section 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Ecn {
    /// Not ECN-Capable Transport (`00`).
    #[default]
    NotEct,
    /// ECN-Capable Transport, ECT(1) (`01`).
    Ect1,
    /// ECN-Capable Transport, ECT(0) (`10`).
    Ect0,
    /// Congestion Experienced (`11`).
    Ce,
}

impl Ecn {
    /// The codepoint in the two low bits of `bits`; the other bits are
    /// ignored.
    pub const fn from_bits(bits: u8) -> Self {
        match bits & 0b11 {
            0b00 => Self::NotEct,
            0b01 => Self::Ect1,
            0b10 => Self::Ect0,
            _ => Self::Ce,
        }
    }

    /// The two-bit codepoint.
    pub const fn bits(self) -> u8 {
        match self {
            Self::NotEct => 0b00,
            Self::Ect1 => 0b01,
            Self::Ect0 => 0b10,
            Self::Ce => 0b11,
        }
    }
}

impl fmt::Display for Ecn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotEct => "not-ect",
            Self::Ect1 => "ect1",
            Self::Ect0 => "ect0",
            Self::Ce => "ce",
        })
    }
}

packet_view! {
    /// A view over an IPv4 datagram.
    pub struct Packet;
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Checks the header alone: the buffer holds the whole header (options
    /// included), IHL is at least 5, and Total Length covers the header.
    /// Every getter but the payload's is then in bounds, and the payload
    /// getters stop at the end of the buffer.
    ///
    /// This is the check for the header quoted in an ICMP error, which is
    /// followed by only part of its datagram.
    pub fn check_header_len(&self) -> Result<()> {
        let buffer_len = self.buffer.as_ref().len();
        if buffer_len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let header_len = self.header_len();
        //= https://www.rfc-editor.org/rfc/rfc791#section-3.1
        //# Note that the minimum value for a correct header is 5.
        if header_len < HEADER_LEN {
            return Err(Error::Malformed);
        }
        if buffer_len < header_len {
            return Err(Error::Truncated);
        }
        //= https://www.rfc-editor.org/rfc/rfc791#section-3.1
        //# Total Length is the length of the datagram, measured in octets,
        //# including internet header and data.
        if usize::from(self.total_len()) < header_len {
            return Err(Error::Malformed);
        }
        Ok(())
    }

    /// Checks the header ([`Packet::check_header_len`]) and that the buffer
    /// holds the Total Length it declares. A longer buffer is fine (link
    /// padding); the payload getter stops at Total Length.
    pub fn check_len(&self) -> Result<()> {
        self.check_header_len()?;
        if self.buffer.as_ref().len() < usize::from(self.total_len()) {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    fn get_addr(&self, range: core::ops::Range<usize>) -> Ipv4Addr {
        let b = &self.buffer.as_ref()[range];
        Ipv4Addr::new(b[0], b[1], b[2], b[3])
    }

    /// The Version field (4 for IPv4).
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] >> 4
    }

    /// The header length in bytes: the IHL field times four.
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[field::VER_IHL] & 0x0f) * 4
    }

    /// The Differentiated Services codepoint, the high six bits of the
    /// former Type of Service octet (RFC 2474).
    pub fn dscp(&self) -> u8 {
        self.buffer.as_ref()[field::DSCP_ECN] >> 2
    }

    /// The ECN field (RFC 3168).
    pub fn ecn(&self) -> Ecn {
        Ecn::from_bits(self.buffer.as_ref()[field::DSCP_ECN])
    }

    /// The Total Length field: header plus payload, in bytes.
    pub fn total_len(&self) -> u16 {
        self.get_u16(field::LENGTH)
    }

    /// The Identification field.
    pub fn ident(&self) -> u16 {
        self.get_u16(field::IDENT)
    }

    /// The reserved flag (bit 0 of Flags), which must be zero. Parsing
    /// ignores it, as Linux does.
    pub fn reserved_flag(&self) -> bool {
        self.get_u16(field::FLG_OFF) & FLAG_RESERVED != 0
    }

    /// The Don't Fragment flag.
    pub fn dont_frag(&self) -> bool {
        self.get_u16(field::FLG_OFF) & FLAG_DF != 0
    }

    /// The More Fragments flag.
    pub fn more_frags(&self) -> bool {
        self.get_u16(field::FLG_OFF) & FLAG_MF != 0
    }

    /// The Fragment Offset field converted to bytes (it counts 8-byte units).
    pub fn frag_offset(&self) -> u16 {
        (self.get_u16(field::FLG_OFF) & OFFSET_MASK) * 8
    }

    /// Whether this datagram is a fragment: more fragments follow it, or it
    /// does not start at offset zero.
    pub fn is_fragment(&self) -> bool {
        self.more_frags() || self.frag_offset() != 0
    }

    /// The Time to Live field.
    pub fn hop_limit(&self) -> u8 {
        self.buffer.as_ref()[field::TTL]
    }

    /// The Protocol field.
    pub fn next_header(&self) -> IpProtocol {
        IpProtocol::from(self.buffer.as_ref()[field::PROTOCOL])
    }

    /// The Header Checksum field.
    pub fn checksum(&self) -> u16 {
        self.get_u16(field::CHECKSUM)
    }

    /// The Source Address field.
    pub fn src_addr(&self) -> Ipv4Addr {
        self.get_addr(field::SRC_ADDR)
    }

    /// The Destination Address field.
    pub fn dst_addr(&self) -> Ipv4Addr {
        self.get_addr(field::DST_ADDR)
    }

    /// The options: the header bytes after the first 20, uninterpreted.
    pub fn options(&self) -> &[u8] {
        &self.buffer.as_ref()[field::OPTIONS..self.header_len()]
    }

    /// The payload: from the end of the header to Total Length, or to the
    /// end of the buffer if that comes first (only possible for a header
    /// checked with [`Packet::check_header_len`], such as one quoted in an
    /// ICMP error).
    pub fn payload(&self) -> &[u8] {
        let buffer = self.buffer.as_ref();
        let end = usize::from(self.total_len()).min(buffer.len());
        &buffer[self.header_len()..end]
    }

    /// Whether the header checksum is right.
    pub fn verify_checksum(&self) -> bool {
        checksum::data(&self.buffer.as_ref()[..self.header_len()]) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn set_flag(&mut self, flag: u16, value: bool) {
        let old = self.get_u16(field::FLG_OFF);
        let new = if value { old | flag } else { old & !flag };
        self.set_u16(field::FLG_OFF, new);
    }

    /// Sets the Version field (the low four bits of `value`).
    pub fn set_version(&mut self, value: u8) {
        let b = &mut self.buffer.as_mut()[field::VER_IHL];
        *b = (*b & 0x0f) | (value << 4);
    }

    /// Sets the IHL field from a header length in bytes (a multiple of four,
    /// at most 60).
    pub fn set_header_len(&mut self, len: usize) {
        let ihl = u8::try_from(len / 4).unwrap_or(0x0f) & 0x0f;
        let b = &mut self.buffer.as_mut()[field::VER_IHL];
        *b = (*b & 0xf0) | ihl;
    }

    /// Sets the DSCP (the low six bits of `value`).
    pub fn set_dscp(&mut self, value: u8) {
        let b = &mut self.buffer.as_mut()[field::DSCP_ECN];
        *b = (*b & 0b11) | (value << 2);
    }

    /// Sets the ECN field.
    pub fn set_ecn(&mut self, value: Ecn) {
        let b = &mut self.buffer.as_mut()[field::DSCP_ECN];
        *b = (*b & !0b11) | value.bits();
    }

    /// Sets the Total Length field.
    pub fn set_total_len(&mut self, value: u16) {
        self.set_u16(field::LENGTH, value);
    }

    /// Sets the Identification field.
    pub fn set_ident(&mut self, value: u16) {
        self.set_u16(field::IDENT, value);
    }

    /// Sets the reserved flag (only tests have a reason to).
    pub fn set_reserved_flag(&mut self, value: bool) {
        self.set_flag(FLAG_RESERVED, value);
    }

    /// Sets the Don't Fragment flag.
    pub fn set_dont_frag(&mut self, value: bool) {
        self.set_flag(FLAG_DF, value);
    }

    /// Sets the More Fragments flag.
    pub fn set_more_frags(&mut self, value: bool) {
        self.set_flag(FLAG_MF, value);
    }

    /// Sets the Fragment Offset field from an offset in bytes, which must be
    /// a multiple of 8 (the low three bits are dropped).
    pub fn set_frag_offset(&mut self, value: u16) {
        let flags = self.get_u16(field::FLG_OFF) & !OFFSET_MASK;
        self.set_u16(field::FLG_OFF, flags | (value / 8));
    }

    /// Sets the Time to Live field.
    pub fn set_hop_limit(&mut self, value: u8) {
        self.buffer.as_mut()[field::TTL] = value;
    }

    /// Sets the Protocol field.
    pub fn set_next_header(&mut self, value: IpProtocol) {
        self.buffer.as_mut()[field::PROTOCOL] = value.into();
    }

    /// Sets the Header Checksum field.
    pub fn set_checksum(&mut self, value: u16) {
        self.set_u16(field::CHECKSUM, value);
    }

    /// Sets the Source Address field.
    pub fn set_src_addr(&mut self, value: Ipv4Addr) {
        self.buffer.as_mut()[field::SRC_ADDR].copy_from_slice(&value.octets());
    }

    /// Sets the Destination Address field.
    pub fn set_dst_addr(&mut self, value: Ipv4Addr) {
        self.buffer.as_mut()[field::DST_ADDR].copy_from_slice(&value.octets());
    }

    /// The options, mutably.
    pub fn options_mut(&mut self) -> &mut [u8] {
        let end = self.header_len();
        &mut self.buffer.as_mut()[field::OPTIONS..end]
    }

    /// The payload, mutably, bounded like [`Packet::payload`].
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let start = self.header_len();
        let end = usize::from(self.total_len()).min(self.buffer.as_ref().len());
        &mut self.buffer.as_mut()[start..end]
    }

    /// Computes and stores the header checksum.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let header_len = self.header_len();
        //= https://www.rfc-editor.org/rfc/rfc791#section-3.1
        //# The checksum field is the 16 bit one's complement of the one's
        //# complement sum of all 16 bit words in the header.  For purposes of
        //# computing the checksum, the value of the checksum field is zero.
        let sum = !checksum::data(&self.buffer.as_ref()[..header_len]);
        self.set_checksum(sum);
    }
}

/// A parsed IPv4 header: what the stack needs to deliver a datagram,
/// reassemble fragments, and send (with DF on TCP, per-packet DSCP and ECN).
///
/// Options are not represented: a parsed header may have had some, and the
/// header `emit` writes has none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// The source address.
    pub src_addr: Ipv4Addr,
    /// The destination address.
    pub dst_addr: Ipv4Addr,
    /// The protocol of the payload.
    pub next_header: IpProtocol,
    /// The payload length: Total Length minus the header length. For a
    /// fragment, the length of this fragment's piece.
    pub payload_len: usize,
    /// Time to Live.
    pub hop_limit: u8,
    /// The DSCP, six bits (RFC 2474); `emit` keeps the low six.
    pub dscp: u8,
    /// The ECN codepoint (RFC 3168).
    pub ecn: Ecn,
    /// Identification: with the addresses and protocol, it names the
    /// datagram a fragment belongs to.
    pub ident: u16,
    /// Don't Fragment.
    pub dont_frag: bool,
    /// More Fragments: this is not the last fragment.
    pub more_frags: bool,
    /// Where this fragment's payload goes in the datagram, in bytes; a
    /// multiple of 8 (`emit` drops the low three bits).
    pub frag_offset: u16,
}

impl Repr {
    /// Parses a checked view of a received datagram: a version other than 4
    /// is [`Error::Malformed`], and the header checksum is verified unless
    /// `caps.rx` trusts it.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Packet<&T>, caps: ChecksumCaps) -> Result<Self> {
        packet.check_len()?;
        //= https://www.rfc-editor.org/rfc/rfc1122#section-3.2.1.1
        //# A datagram whose version number is not 4
        //# MUST be silently discarded.
        if packet.version() != 4 {
            return Err(Error::Malformed);
        }
        //= https://www.rfc-editor.org/rfc/rfc1122#section-3.2.1.2
        //# A host MUST verify the IP header checksum on every received
        //# datagram and silently discard every datagram that has a bad
        //# checksum.
        if caps.rx == RxChecksum::Verify && !packet.verify_checksum() {
            return Err(Error::Checksum);
        }
        let repr = Self::from_header(packet);
        //= https://www.rfc-editor.org/rfc/rfc791#section-3.1
        //# This field allows the length of a datagram to be up to 65,535
        //# octets.
        // A fragment whose piece would end past that limit (with even the
        // smallest header in front) belongs to no datagram ("ping of death").
        if HEADER_LEN + usize::from(repr.frag_offset) + repr.payload_len > usize::from(u16::MAX) {
            return Err(Error::Malformed);
        }
        Ok(repr)
    }

    /// Parses the header quoted in an ICMP error message, leniently: only
    /// [`Packet::check_header_len`] must pass (the quote is usually shorter
    /// than Total Length), the version must be 4, and the checksum is not
    /// verified. `payload_len` is the original datagram's, from its Total
    /// Length, not the length of what was quoted.
    pub fn parse_quoted<T: AsRef<[u8]> + ?Sized>(packet: &Packet<&T>) -> Result<Self> {
        packet.check_header_len()?;
        if packet.version() != 4 {
            return Err(Error::Malformed);
        }
        // The checksum is left alone on purpose. A router quotes the header as
        // it held it when the error was detected, which need not be what the
        // sender's checksum covered:
        //= https://www.rfc-editor.org/rfc/rfc1812#section-4.3.2.3
        //# The returned IP header (and user data) MUST be identical to that
        //# which was received, except that the router is not required to undo
        //# any modifications to the IP header that are normally performed in
        //# forwarding that were performed before the error was detected (e.g.,
        //# decrementing the TTL, or updating options).
        Ok(Self::from_header(packet))
    }

    fn from_header<T: AsRef<[u8]> + ?Sized>(packet: &Packet<&T>) -> Self {
        Self {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            next_header: packet.next_header(),
            payload_len: usize::from(packet.total_len()).saturating_sub(packet.header_len()),
            hop_limit: packet.hop_limit(),
            dscp: packet.dscp(),
            ecn: packet.ecn(),
            ident: packet.ident(),
            dont_frag: packet.dont_frag(),
            more_frags: packet.more_frags(),
            frag_offset: packet.frag_offset(),
        }
    }

    /// Whether the datagram is a fragment (see [`Packet::is_fragment`]).
    pub const fn is_fragment(&self) -> bool {
        self.more_frags || self.frag_offset != 0
    }

    /// The header length `emit` writes (always 20: no options).
    pub const fn header_len(&self) -> usize {
        HEADER_LEN
    }

    /// The datagram length: header plus payload, the Total Length `emit`
    /// writes, and the size of the buffer to give it.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN + self.payload_len
    }

    /// Writes the 20-byte header with the checksum zeroed and Total Length
    /// set from `payload_len`. The payload is left alone.
    ///
    /// A payload longer than 65515 bytes does not fit a datagram; Total
    /// Length then saturates and the caller, which sized the datagram, is
    /// wrong.
    pub fn emit_header<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        packet.set_version(4);
        packet.set_header_len(HEADER_LEN);
        packet.set_dscp(self.dscp);
        packet.set_ecn(self.ecn);
        packet.set_total_len(u16::try_from(self.buffer_len()).unwrap_or(u16::MAX));
        packet.set_ident(self.ident);
        // Writing the whole field clears the reserved flag.
        packet.set_u16(field::FLG_OFF, 0);
        packet.set_dont_frag(self.dont_frag);
        packet.set_more_frags(self.more_frags);
        packet.set_frag_offset(self.frag_offset);
        packet.set_hop_limit(self.hop_limit);
        packet.set_next_header(self.next_header);
        packet.set_checksum(0);
        packet.set_src_addr(self.src_addr);
        packet.set_dst_addr(self.dst_addr);
    }

    /// Writes the header with its checksum, which is always computed in full
    /// (it covers the header only, so no device completes it). The payload,
    /// `buffer_len() - header_len()` bytes, is the caller's to fill, before or
    /// after.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        self.emit_header(packet);
        packet.fill_checksum();
    }
}

#[cfg(test)]
mod tests;
