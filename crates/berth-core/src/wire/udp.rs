//! UDP datagrams (RFC 768), with the IPv6 rule that the checksum is mandatory
//! (RFC 8200 section 8.1).
//!
//! [`Packet`] is the view, [`Repr`] the parsed header plus a borrowed payload.
//! `Repr::emit` is `emit_header`, a payload copy and `Packet::fill_checksum`;
//! callers that place the payload themselves (zero-copy from a socket queue)
//! call those pieces directly.

use std::net::IpAddr;

use super::view::{Fields, FieldsMut, packet_view};
use super::{ChecksumCaps, Error, IpProtocol, Result, RxChecksum, TxChecksum, checksum};

mod field {
    use core::ops::Range;

    pub(super) const SRC_PORT: Range<usize> = 0..2;
    pub(super) const DST_PORT: Range<usize> = 2..4;
    pub(super) const LENGTH: Range<usize> = 4..6;
    pub(super) const CHECKSUM: Range<usize> = 6..8;
    pub(super) const PAYLOAD: usize = 8;
}

/// The length of a UDP header.
pub const HEADER_LEN: usize = field::PAYLOAD;

packet_view! {
    /// A view over a UDP datagram.
    pub struct Packet;
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Checks that the buffer holds the header and the length it declares.
    ///
    /// A buffer longer than the Length field is fine (link padding); the
    /// payload getter stops at the Length field.
    pub fn check_len(&self) -> Result<()> {
        let buffer_len = self.buffer.as_ref().len();
        if buffer_len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let len = usize::from(self.len());
        if len < HEADER_LEN {
            return Err(Error::Malformed);
        }
        if len > buffer_len {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// The Source Port field.
    pub fn src_port(&self) -> u16 {
        self.get_u16(field::SRC_PORT)
    }

    /// The Destination Port field.
    pub fn dst_port(&self) -> u16 {
        self.get_u16(field::DST_PORT)
    }

    /// The Length field: header plus payload, in bytes.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> u16 {
        self.get_u16(field::LENGTH)
    }

    /// The Checksum field.
    pub fn checksum(&self) -> u16 {
        self.get_u16(field::CHECKSUM)
    }

    /// The payload, as far as the Length field says.
    pub fn payload(&self) -> &[u8] {
        let end = usize::from(self.len()).max(HEADER_LEN);
        &self.buffer.as_ref()[field::PAYLOAD..end]
    }

    /// Whether the checksum is right for a datagram from `src` to `dst`.
    ///
    /// A zero checksum over IPv4 means "not computed" and verifies; over IPv6
    /// it never does.
    pub fn verify_checksum(&self, src: IpAddr, dst: IpAddr) -> bool {
        //= https://www.rfc-editor.org/rfc/rfc768
        //# An all zero  transmitted
        //# checksum  value means that the transmitter  generated  no checksum
        if self.checksum() == 0 {
            //= https://www.rfc-editor.org/rfc/rfc8200#section-8.1
            //# IPv6 receivers must discard UDP packets containing a zero
            //# checksum
            return src.is_ipv4();
        }
        let len = self.len();
        let data = &self.buffer.as_ref()[..usize::from(len)];
        checksum::combine(&[
            checksum::pseudo_header(src, dst, IpProtocol::Udp, u32::from(len)),
            checksum::data(data),
        ]) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the Source Port field.
    pub fn set_src_port(&mut self, value: u16) {
        self.set_u16(field::SRC_PORT, value);
    }

    /// Sets the Destination Port field.
    pub fn set_dst_port(&mut self, value: u16) {
        self.set_u16(field::DST_PORT, value);
    }

    /// Sets the Length field.
    pub fn set_len(&mut self, value: u16) {
        self.set_u16(field::LENGTH, value);
    }

    /// Sets the Checksum field.
    pub fn set_checksum(&mut self, value: u16) {
        self.set_u16(field::CHECKSUM, value);
    }

    /// The payload, mutably, as far as the Length field says.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = usize::from(self.len()).max(HEADER_LEN);
        &mut self.buffer.as_mut()[field::PAYLOAD..end]
    }

    /// Computes and stores the checksum (or, for [`TxChecksum::PseudoHeader`],
    /// only the pseudo-header sum for the device to complete).
    pub fn fill_checksum(&mut self, src: IpAddr, dst: IpAddr, tx: TxChecksum) {
        let len = self.len();
        let pseudo = checksum::pseudo_header(src, dst, IpProtocol::Udp, u32::from(len));
        self.set_checksum(0);
        let value = match tx {
            TxChecksum::PseudoHeader => pseudo,
            TxChecksum::Full => {
                let data = &self.buffer.as_ref()[..usize::from(len)];
                //= https://www.rfc-editor.org/rfc/rfc768
                //# If the computed  checksum  is zero,  it is transmitted  as all ones
                match !checksum::combine(&[pseudo, checksum::data(data)]) {
                    0 => 0xffff,
                    c => c,
                }
            }
        };
        self.set_checksum(value);
    }
}

/// A parsed UDP datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr<'a> {
    /// Source port; zero means "none" (RFC 768).
    pub src_port: u16,
    /// Destination port. Zero is parsed like any other port: no socket
    /// listens there, so the stack answers it the way Linux does (ICMP port
    /// unreachable).
    pub dst_port: u16,
    /// The payload.
    pub payload: &'a [u8],
}

impl<'a> Repr<'a> {
    /// Parses a checked view of a datagram sent from `src` to `dst`.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(
        packet: &Packet<&'a T>,
        src: IpAddr,
        dst: IpAddr,
        caps: ChecksumCaps,
    ) -> Result<Self> {
        packet.check_len()?;
        if caps.rx == RxChecksum::Verify && !packet.verify_checksum(src, dst) {
            return Err(Error::Checksum);
        }
        let len = usize::from(packet.len());
        let payload = packet
            .buffer
            .as_ref()
            .get(HEADER_LEN..len)
            .ok_or(Error::Truncated)?;
        Ok(Self {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            payload,
        })
    }

    /// The header length (always 8).
    pub const fn header_len(&self) -> usize {
        HEADER_LEN
    }

    /// The exact length `emit` writes: header plus payload.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN + self.payload.len()
    }

    /// Writes the header (checksum zeroed), setting Length from the payload.
    ///
    /// Payloads longer than 65527 bytes do not fit a UDP datagram; the Length
    /// field then saturates and the caller, which sized the datagram, is wrong.
    pub fn emit_header<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_len(u16::try_from(self.buffer_len()).unwrap_or(u16::MAX));
        packet.set_checksum(0);
    }

    /// Writes the whole datagram, payload and checksum included, into a
    /// buffer of exactly [`Repr::buffer_len`] bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut Packet<T>,
        src: IpAddr,
        dst: IpAddr,
        caps: ChecksumCaps,
    ) {
        self.emit_header(packet);
        packet.payload_mut().copy_from_slice(self.payload);
        packet.fill_checksum(src, dst, caps.tx);
    }
}

#[cfg(test)]
mod tests;
