//! Ethernet II frames (IEEE 802.3 Ethernet II framing, carried as RFC 894
//! describes for IPv4), used only by the TAP device.
//!
//! A frame is a 14-byte header (destination, source, EtherType) and a
//! payload. There are no VLAN tags here: an 802.1Q frame parses with EtherType
//! `0x8100` as [`EtherType::Unknown`]. The frame check sequence is not part of
//! what a TAP device hands us, and the payload keeps any link padding (the IP
//! layer trims it by its own length field).
//!
//! [`Address`] also maps IP multicast groups to their Ethernet groups
//! (RFC 1112 section 6.4 for IPv4, RFC 2464 section 7 for IPv6).

use core::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::view::{Fields, FieldsMut, packet_view};
use super::{Error, Result};

mod field {
    use core::ops::Range;

    pub(super) const DESTINATION: Range<usize> = 0..6;
    pub(super) const SOURCE: Range<usize> = 6..12;
    pub(super) const ETHERTYPE: Range<usize> = 12..14;
    pub(super) const PAYLOAD: usize = 14;
}

/// The length of an Ethernet II header.
pub const HEADER_LEN: usize = field::PAYLOAD;

/// A 48-bit Ethernet (IEEE 802) MAC address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Address(pub [u8; 6]);

impl Address {
    /// The broadcast address `ff:ff:ff:ff:ff:ff`.
    pub const BROADCAST: Self = Self([0xff; 6]);

    /// The six octets.
    pub const fn as_bytes(&self) -> &[u8; 6] {
        &self.0
    }

    /// Whether this is an individual (unicast) address: the I/G bit, the
    /// least significant bit of the first octet, is clear.
    pub const fn is_unicast(&self) -> bool {
        self.0[0] & 0x01 == 0
    }

    /// Whether this is a group address: the I/G bit is set. The broadcast
    /// address is a group address too.
    pub const fn is_multicast(&self) -> bool {
        !self.is_unicast()
    }

    /// Whether this is the broadcast address.
    pub const fn is_broadcast(&self) -> bool {
        matches!(self.0, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff])
    }

    /// Whether the U/L bit says the address is locally administered (like
    /// the `02:00:00:00:00:xx` addresses berth gives its TAP hosts).
    pub const fn is_local(&self) -> bool {
        self.0[0] & 0x02 != 0
    }

    /// The Ethernet group an IPv4 multicast group is sent to, or `None` for
    /// an address outside 224.0.0.0/4.
    pub const fn from_ipv4_multicast(addr: Ipv4Addr) -> Option<Self> {
        if !addr.is_multicast() {
            return None;
        }
        let [_, b, c, d] = addr.octets();
        //= https://www.rfc-editor.org/rfc/rfc1112#section-6.4
        //# An IP host group address is mapped to an Ethernet multicast address
        //# by placing the low-order 23-bits of the IP address into the low-order
        //# 23 bits of the Ethernet multicast address 01-00-5E-00-00-00 (hex).
        Some(Self([0x01, 0x00, 0x5e, b & 0x7f, c, d]))
    }

    /// The Ethernet group an IPv6 multicast group is sent to, or `None` for
    /// an address outside ff00::/8.
    pub const fn from_ipv6_multicast(addr: Ipv6Addr) -> Option<Self> {
        if !addr.is_multicast() {
            return None;
        }
        let o = addr.octets();
        //= https://www.rfc-editor.org/rfc/rfc2464#section-7
        //# An IPv6 packet with a multicast destination address DST, consisting
        //# of the sixteen octets DST[1] through DST[16], is transmitted to the
        //# Ethernet multicast address whose first two octets are the value 3333
        //# hexadecimal and whose last four octets are the last four octets of
        //# DST.
        Some(Self([0x33, 0x33, o[12], o[13], o[14], o[15]]))
    }
}

impl From<[u8; 6]> for Address {
    fn from(octets: [u8; 6]) -> Self {
        Self(octets)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

/// The EtherType field: what the payload is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EtherType {
    /// IPv4 (`0x0800`).
    Ipv4,
    /// ARP (`0x0806`).
    Arp,
    /// IPv6 (`0x86dd`).
    Ipv6,
    /// Anything else, including 802.1Q tags (`0x8100`) and, below `0x0600`,
    /// IEEE 802.3 length fields.
    Unknown(u16),
}

impl From<u16> for EtherType {
    fn from(value: u16) -> Self {
        match value {
            0x0800 => Self::Ipv4,
            0x0806 => Self::Arp,
            0x86dd => Self::Ipv6,
            other => Self::Unknown(other),
        }
    }
}

impl From<EtherType> for u16 {
    fn from(value: EtherType) -> Self {
        match value {
            EtherType::Ipv4 => 0x0800,
            EtherType::Arp => 0x0806,
            EtherType::Ipv6 => 0x86dd,
            EtherType::Unknown(other) => other,
        }
    }
}

impl fmt::Display for EtherType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ipv4 => f.write_str("IPv4"),
            Self::Arp => f.write_str("ARP"),
            Self::Ipv6 => f.write_str("IPv6"),
            Self::Unknown(n) => write!(f, "ethertype-{n:#06x}"),
        }
    }
}

packet_view! {
    /// A view over an Ethernet II frame.
    pub struct Packet;
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Checks that the buffer holds the 14-byte header. Ethernet has no
    /// length field (the frame ends where the buffer ends), so every getter
    /// is in bounds after this.
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    fn get_addr(&self, range: core::ops::Range<usize>) -> Address {
        let mut octets = [0; 6];
        octets.copy_from_slice(&self.buffer.as_ref()[range]);
        Address(octets)
    }

    /// The Destination Address field.
    pub fn dst_addr(&self) -> Address {
        self.get_addr(field::DESTINATION)
    }

    /// The Source Address field.
    pub fn src_addr(&self) -> Address {
        self.get_addr(field::SOURCE)
    }

    /// The EtherType field.
    pub fn ethertype(&self) -> EtherType {
        EtherType::from(self.get_u16(field::ETHERTYPE))
    }

    /// Everything after the header, link padding included.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::PAYLOAD..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the Destination Address field.
    pub fn set_dst_addr(&mut self, value: Address) {
        self.buffer.as_mut()[field::DESTINATION].copy_from_slice(&value.0);
    }

    /// Sets the Source Address field.
    pub fn set_src_addr(&mut self, value: Address) {
        self.buffer.as_mut()[field::SOURCE].copy_from_slice(&value.0);
    }

    /// Sets the EtherType field.
    pub fn set_ethertype(&mut self, value: EtherType) {
        self.set_u16(field::ETHERTYPE, value.into());
    }

    /// Everything after the header, mutably.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD..]
    }
}

/// A parsed Ethernet II header. The payload stays in the [`Packet`]: the
/// caller hands `payload()` to the layer the EtherType names, and on send
/// emits the next layer into `payload_mut()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// The source address.
    pub src_addr: Address,
    /// The destination address.
    pub dst_addr: Address,
    /// What the payload is.
    pub ethertype: EtherType,
}

impl Repr {
    /// Parses a checked view of a frame. Every header is representable, so
    /// this fails only on a buffer shorter than the header.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Packet<&T>) -> Result<Self> {
        packet.check_len()?;
        Ok(Self {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            ethertype: packet.ethertype(),
        })
    }

    /// The header length (always 14).
    pub const fn header_len(&self) -> usize {
        HEADER_LEN
    }

    /// The exact length `emit` writes: the header only. A frame is
    /// `buffer_len()` plus whatever the payload needs.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the header. The buffer may be longer than
    /// [`Repr::buffer_len`]; the bytes after the header are left alone.
    pub fn emit_header<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        packet.set_dst_addr(self.dst_addr);
        packet.set_src_addr(self.src_addr);
        packet.set_ethertype(self.ethertype);
    }

    /// Writes the header: the same as [`Repr::emit_header`], since the
    /// payload is not part of the `Repr`.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        self.emit_header(packet);
    }
}

#[cfg(test)]
mod tests;
