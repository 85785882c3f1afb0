//! ARP packets (RFC 826), represented for IPv4 over Ethernet only.
//!
//! [`Packet`] reads any ARP packet: its address fields are as long as the
//! hardware and protocol length fields say. [`Repr`] holds only the one
//! combination berth speaks (Ethernet hardware, IPv4 protocol addresses);
//! every other combination parses as [`Error::Unsupported`]. Link padding
//! after the packet is ignored.

use core::fmt;
use std::net::Ipv4Addr;

use super::ethernet::{Address as EthernetAddress, EtherType};
use super::view::{Fields, FieldsMut, packet_view};
use super::{Error, Result};

mod field {
    use core::ops::Range;

    pub(super) const HTYPE: Range<usize> = 0..2;
    pub(super) const PTYPE: Range<usize> = 2..4;
    pub(super) const HLEN: usize = 4;
    pub(super) const PLEN: usize = 5;
    pub(super) const OPER: Range<usize> = 6..8;
    /// Where the addresses start.
    pub(super) const ADDRS: usize = 8;

    // The address fields follow one another, each as long as HLEN or PLEN.
    pub(super) const fn sha(hlen: u8, _plen: u8) -> Range<usize> {
        let start = ADDRS;
        start..start + hlen as usize
    }
    pub(super) const fn spa(hlen: u8, plen: u8) -> Range<usize> {
        let start = sha(hlen, plen).end;
        start..start + plen as usize
    }
    pub(super) const fn tha(hlen: u8, plen: u8) -> Range<usize> {
        let start = spa(hlen, plen).end;
        start..start + hlen as usize
    }
    pub(super) const fn tpa(hlen: u8, plen: u8) -> Range<usize> {
        let start = tha(hlen, plen).end;
        start..start + plen as usize
    }
}

/// The length of an ARP packet for IPv4 over Ethernet: 8 bytes of fixed
/// fields, two 6-byte hardware and two 4-byte protocol addresses.
pub const ETHERNET_IPV4_LEN: usize = field::ADDRS + 2 * 6 + 2 * 4;

/// The hardware type (`ar$hrd`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Hardware {
    /// Ethernet (1).
    Ethernet,
    /// Any other hardware type.
    Unknown(u16),
}

impl From<u16> for Hardware {
    fn from(value: u16) -> Self {
        match value {
            1 => Self::Ethernet,
            other => Self::Unknown(other),
        }
    }
}

impl From<Hardware> for u16 {
    fn from(value: Hardware) -> Self {
        match value {
            Hardware::Ethernet => 1,
            Hardware::Unknown(other) => other,
        }
    }
}

/// The operation (`ar$op`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// A request (1): who has the target protocol address?
    Request,
    /// A reply (2): the sender has the sender protocol address.
    Reply,
    /// Any other operation (RARP and InARP use 3 to 9).
    Unknown(u16),
}

impl From<u16> for Operation {
    fn from(value: u16) -> Self {
        match value {
            1 => Self::Request,
            2 => Self::Reply,
            other => Self::Unknown(other),
        }
    }
}

impl From<Operation> for u16 {
    fn from(value: Operation) -> Self {
        match value {
            Operation::Request => 1,
            Operation::Reply => 2,
            Operation::Unknown(other) => other,
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Request => f.write_str("request"),
            Self::Reply => f.write_str("reply"),
            Self::Unknown(n) => write!(f, "op-{n}"),
        }
    }
}

packet_view! {
    /// A view over an ARP packet.
    pub struct Packet;
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Checks that the buffer holds the fixed fields and the four addresses
    /// whose lengths they declare. The address getters end at the target
    /// protocol address, which this proves is inside the buffer; bytes after
    /// it (link padding) are ignored.
    pub fn check_len(&self) -> Result<()> {
        let buffer_len = self.buffer.as_ref().len();
        if buffer_len < field::ADDRS {
            return Err(Error::Truncated);
        }
        if buffer_len < self.packet_len() {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// The length the fixed fields declare: 8 bytes plus two hardware and
    /// two protocol addresses.
    pub fn packet_len(&self) -> usize {
        field::tpa(self.hardware_len(), self.protocol_len()).end
    }

    /// The Hardware Type field (`ar$hrd`).
    pub fn hardware_type(&self) -> Hardware {
        Hardware::from(self.get_u16(field::HTYPE))
    }

    /// The Protocol Type field (`ar$pro`), an EtherType.
    pub fn protocol_type(&self) -> EtherType {
        EtherType::from(self.get_u16(field::PTYPE))
    }

    /// The Hardware Length field (`ar$hln`): bytes in a hardware address.
    pub fn hardware_len(&self) -> u8 {
        self.buffer.as_ref()[field::HLEN]
    }

    /// The Protocol Length field (`ar$pln`): bytes in a protocol address.
    pub fn protocol_len(&self) -> u8 {
        self.buffer.as_ref()[field::PLEN]
    }

    /// The Operation field (`ar$op`).
    pub fn operation(&self) -> Operation {
        Operation::from(self.get_u16(field::OPER))
    }

    /// The Sender Hardware Address field (`ar$sha`).
    pub fn source_hardware_addr(&self) -> &[u8] {
        &self.buffer.as_ref()[field::sha(self.hardware_len(), self.protocol_len())]
    }

    /// The Sender Protocol Address field (`ar$spa`).
    pub fn source_protocol_addr(&self) -> &[u8] {
        &self.buffer.as_ref()[field::spa(self.hardware_len(), self.protocol_len())]
    }

    /// The Target Hardware Address field (`ar$tha`).
    pub fn target_hardware_addr(&self) -> &[u8] {
        &self.buffer.as_ref()[field::tha(self.hardware_len(), self.protocol_len())]
    }

    /// The Target Protocol Address field (`ar$tpa`).
    pub fn target_protocol_addr(&self) -> &[u8] {
        &self.buffer.as_ref()[field::tpa(self.hardware_len(), self.protocol_len())]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the Hardware Type field.
    pub fn set_hardware_type(&mut self, value: Hardware) {
        self.set_u16(field::HTYPE, value.into());
    }

    /// Sets the Protocol Type field.
    pub fn set_protocol_type(&mut self, value: EtherType) {
        self.set_u16(field::PTYPE, value.into());
    }

    /// Sets the Hardware Length field. Set the lengths before the addresses:
    /// they say where each address is.
    pub fn set_hardware_len(&mut self, value: u8) {
        self.buffer.as_mut()[field::HLEN] = value;
    }

    /// Sets the Protocol Length field.
    pub fn set_protocol_len(&mut self, value: u8) {
        self.buffer.as_mut()[field::PLEN] = value;
    }

    /// Sets the Operation field.
    pub fn set_operation(&mut self, value: Operation) {
        self.set_u16(field::OPER, value.into());
    }

    fn set_addr(&mut self, range: core::ops::Range<usize>, value: &[u8]) {
        self.buffer.as_mut()[range].copy_from_slice(value);
    }

    /// Sets the Sender Hardware Address field; `value` must be
    /// `hardware_len()` bytes long.
    pub fn set_source_hardware_addr(&mut self, value: &[u8]) {
        let range = field::sha(self.hardware_len(), self.protocol_len());
        self.set_addr(range, value);
    }

    /// Sets the Sender Protocol Address field; `value` must be
    /// `protocol_len()` bytes long.
    pub fn set_source_protocol_addr(&mut self, value: &[u8]) {
        let range = field::spa(self.hardware_len(), self.protocol_len());
        self.set_addr(range, value);
    }

    /// Sets the Target Hardware Address field; `value` must be
    /// `hardware_len()` bytes long.
    pub fn set_target_hardware_addr(&mut self, value: &[u8]) {
        let range = field::tha(self.hardware_len(), self.protocol_len());
        self.set_addr(range, value);
    }

    /// Sets the Target Protocol Address field; `value` must be
    /// `protocol_len()` bytes long.
    pub fn set_target_protocol_addr(&mut self, value: &[u8]) {
        let range = field::tpa(self.hardware_len(), self.protocol_len());
        self.set_addr(range, value);
    }
}

/// A parsed ARP packet of a kind berth speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Repr {
    /// IPv4 over Ethernet.
    EthernetIpv4 {
        /// The operation.
        operation: Operation,
        /// The sender's MAC address.
        source_hardware_addr: EthernetAddress,
        /// The sender's IPv4 address.
        source_protocol_addr: Ipv4Addr,
        /// The target's MAC address: all zeros in a request, whose purpose
        /// is to learn it.
        target_hardware_addr: EthernetAddress,
        /// The target's IPv4 address.
        target_protocol_addr: Ipv4Addr,
    },
}

impl Repr {
    /// Parses a checked view. Hardware other than Ethernet, protocols other
    /// than IPv4, and address lengths other than 6 and 4 are
    /// [`Error::Unsupported`]. Any operation is accepted; the caller ignores
    /// those it does not handle.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Packet<&T>) -> Result<Self> {
        packet.check_len()?;
        //= https://www.rfc-editor.org/rfc/rfc826
        //# ?Do I have the hardware type in ar$hrd?
        //# Yes: (almost definitely)
        //#   [optionally check the hardware length ar$hln]
        if packet.hardware_type() != Hardware::Ethernet || packet.hardware_len() != 6 {
            return Err(Error::Unsupported);
        }
        //= https://www.rfc-editor.org/rfc/rfc826
        //#   ?Do I speak the protocol in ar$pro?
        //#   Yes:
        //#     [optionally check the protocol length ar$pln]
        if packet.protocol_type() != EtherType::Ipv4 || packet.protocol_len() != 4 {
            return Err(Error::Unsupported);
        }
        let mac = |bytes: &[u8]| -> Result<EthernetAddress> {
            let octets: [u8; 6] = bytes.try_into().map_err(|_| Error::Truncated)?;
            Ok(EthernetAddress(octets))
        };
        let ip = |bytes: &[u8]| -> Result<Ipv4Addr> {
            let octets: [u8; 4] = bytes.try_into().map_err(|_| Error::Truncated)?;
            Ok(Ipv4Addr::from(octets))
        };
        Ok(Self::EthernetIpv4 {
            operation: packet.operation(),
            source_hardware_addr: mac(packet.source_hardware_addr())?,
            source_protocol_addr: ip(packet.source_protocol_addr())?,
            target_hardware_addr: mac(packet.target_hardware_addr())?,
            target_protocol_addr: ip(packet.target_protocol_addr())?,
        })
    }

    /// The exact length `emit` writes (28 for IPv4 over Ethernet). An ARP
    /// packet has no payload, so this is the whole packet.
    pub const fn buffer_len(&self) -> usize {
        match self {
            Self::EthernetIpv4 { .. } => ETHERNET_IPV4_LEN,
        }
    }

    /// Writes the packet into a buffer of at least [`Repr::buffer_len`]
    /// bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        match *self {
            Self::EthernetIpv4 {
                operation,
                source_hardware_addr,
                source_protocol_addr,
                target_hardware_addr,
                target_protocol_addr,
            } => {
                packet.set_hardware_type(Hardware::Ethernet);
                packet.set_protocol_type(EtherType::Ipv4);
                packet.set_hardware_len(6);
                packet.set_protocol_len(4);
                packet.set_operation(operation);
                packet.set_source_hardware_addr(&source_hardware_addr.0);
                packet.set_source_protocol_addr(&source_protocol_addr.octets());
                packet.set_target_hardware_addr(&target_hardware_addr.0);
                packet.set_target_protocol_addr(&target_protocol_addr.octets());
            }
        }
    }
}

#[cfg(test)]
mod tests;
