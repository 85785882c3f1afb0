//! ICMP for IPv4 (RFC 792, with the host rules of RFC 1122 section 3.2.2):
//! echo, destination unreachable (with RFC 1191's next-hop MTU in
//! fragmentation-needed messages, and the codes RFC 1122 and RFC 1812
//! added), and time exceeded.
//!
//! [`Packet`] reads the fixed 8-byte header of any message. [`Repr`]
//! represents echo requests and replies and the two error messages the
//! stack acts on; other types parse as [`Error::Unsupported`]. The checksum
//! covers the whole message and has no pseudo-header.
//!
//! An error message quotes the IPv4 header of the datagram that caused it
//! and the start of that datagram's payload. The quoted header is read with
//! [`ipv4::Repr::parse_quoted`]: it must be whole and consistent, but the
//! datagram it describes is cut short on purpose and its checksum is not
//! checked.

use core::fmt;

use super::view::{Fields, FieldsMut, packet_view};
use super::{ChecksumCaps, Error, Result, RxChecksum, checksum, ipv4};

mod field {
    use core::ops::Range;

    pub(super) const TYPE: usize = 0;
    pub(super) const CODE: usize = 1;
    pub(super) const CHECKSUM: Range<usize> = 2..4;
    /// The second word, whose meaning depends on the type.
    pub(super) const REST: Range<usize> = 4..8;
    pub(super) const ECHO_IDENT: Range<usize> = 4..6;
    pub(super) const ECHO_SEQNO: Range<usize> = 6..8;
    pub(super) const NEXT_HOP_MTU: Range<usize> = 6..8;
    pub(super) const DATA: usize = 8;
}

/// The length of the ICMP header: type, code, checksum and one more word.
pub const HEADER_LEN: usize = field::DATA;

/// How many bytes of the original datagram's payload an error message
/// quotes at least.
const MIN_QUOTED_DATA: usize = 8;

/// The Type field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Message {
    /// Echo Reply (0).
    EchoReply,
    /// Destination Unreachable (3).
    DstUnreachable,
    /// Redirect (5).
    Redirect,
    /// Echo Request (8).
    EchoRequest,
    /// Router Advertisement (9, RFC 1256).
    RouterAdvert,
    /// Router Solicitation (10, RFC 1256).
    RouterSolicit,
    /// Time Exceeded (11).
    TimeExceeded,
    /// Parameter Problem (12).
    ParamProblem,
    /// Timestamp (13).
    Timestamp,
    /// Timestamp Reply (14).
    TimestampReply,
    /// Any other type, including the deprecated Source Quench (4).
    Unknown(u8),
}

impl From<u8> for Message {
    fn from(value: u8) -> Self {
        match value {
            0 => Self::EchoReply,
            3 => Self::DstUnreachable,
            5 => Self::Redirect,
            8 => Self::EchoRequest,
            9 => Self::RouterAdvert,
            10 => Self::RouterSolicit,
            11 => Self::TimeExceeded,
            12 => Self::ParamProblem,
            13 => Self::Timestamp,
            14 => Self::TimestampReply,
            other => Self::Unknown(other),
        }
    }
}

impl From<Message> for u8 {
    fn from(value: Message) -> Self {
        match value {
            Message::EchoReply => 0,
            Message::DstUnreachable => 3,
            Message::Redirect => 5,
            Message::EchoRequest => 8,
            Message::RouterAdvert => 9,
            Message::RouterSolicit => 10,
            Message::TimeExceeded => 11,
            Message::ParamProblem => 12,
            Message::Timestamp => 13,
            Message::TimestampReply => 14,
            Message::Unknown(other) => other,
        }
    }
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EchoReply => f.write_str("echo reply"),
            Self::DstUnreachable => f.write_str("destination unreachable"),
            Self::Redirect => f.write_str("redirect"),
            Self::EchoRequest => f.write_str("echo request"),
            Self::RouterAdvert => f.write_str("router advertisement"),
            Self::RouterSolicit => f.write_str("router solicitation"),
            Self::TimeExceeded => f.write_str("time exceeded"),
            Self::ParamProblem => f.write_str("parameter problem"),
            Self::Timestamp => f.write_str("timestamp"),
            Self::TimestampReply => f.write_str("timestamp reply"),
            Self::Unknown(n) => write!(f, "icmp-type-{n}"),
        }
    }
}

/// The codes of Destination Unreachable: 0 to 5 from RFC 792, 6 to 12
/// from RFC 1122 section 3.2.2.1, 13 to 15 from RFC 1812 section 5.2.7.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DstUnreachable {
    /// Net unreachable (0).
    NetUnreachable,
    /// Host unreachable (1).
    HostUnreachable,
    /// Protocol unreachable (2).
    ProtoUnreachable,
    /// Port unreachable (3).
    PortUnreachable,
    /// Fragmentation needed and DF set (4); carries the next-hop MTU
    /// (RFC 1191).
    FragRequired,
    /// Source route failed (5).
    SrcRouteFailed,
    /// Destination network unknown (6).
    DstNetUnknown,
    /// Destination host unknown (7).
    DstHostUnknown,
    /// Source host isolated (8).
    SrcHostIsolated,
    /// Communication with the destination network administratively
    /// prohibited (9).
    NetProhibited,
    /// Communication with the destination host administratively
    /// prohibited (10).
    HostProhibited,
    /// Network unreachable for the type of service (11).
    NetUnreachToS,
    /// Host unreachable for the type of service (12).
    HostUnreachToS,
    /// Communication administratively prohibited (13), what a filtering
    /// router sends.
    AdminProhibited,
    /// Host precedence violation (14).
    HostPrecedenceViolation,
    /// Precedence cutoff in effect (15).
    PrecedenceCutoff,
    /// Any other code. The message still concerns the quoted datagram, so
    /// it parses and reaches the transport layer.
    Unknown(u8),
}

impl From<u8> for DstUnreachable {
    fn from(value: u8) -> Self {
        match value {
            0 => Self::NetUnreachable,
            1 => Self::HostUnreachable,
            2 => Self::ProtoUnreachable,
            3 => Self::PortUnreachable,
            4 => Self::FragRequired,
            5 => Self::SrcRouteFailed,
            6 => Self::DstNetUnknown,
            7 => Self::DstHostUnknown,
            8 => Self::SrcHostIsolated,
            9 => Self::NetProhibited,
            10 => Self::HostProhibited,
            11 => Self::NetUnreachToS,
            12 => Self::HostUnreachToS,
            13 => Self::AdminProhibited,
            14 => Self::HostPrecedenceViolation,
            15 => Self::PrecedenceCutoff,
            other => Self::Unknown(other),
        }
    }
}

impl From<DstUnreachable> for u8 {
    fn from(value: DstUnreachable) -> Self {
        match value {
            DstUnreachable::NetUnreachable => 0,
            DstUnreachable::HostUnreachable => 1,
            DstUnreachable::ProtoUnreachable => 2,
            DstUnreachable::PortUnreachable => 3,
            DstUnreachable::FragRequired => 4,
            DstUnreachable::SrcRouteFailed => 5,
            DstUnreachable::DstNetUnknown => 6,
            DstUnreachable::DstHostUnknown => 7,
            DstUnreachable::SrcHostIsolated => 8,
            DstUnreachable::NetProhibited => 9,
            DstUnreachable::HostProhibited => 10,
            DstUnreachable::NetUnreachToS => 11,
            DstUnreachable::HostUnreachToS => 12,
            DstUnreachable::AdminProhibited => 13,
            DstUnreachable::HostPrecedenceViolation => 14,
            DstUnreachable::PrecedenceCutoff => 15,
            DstUnreachable::Unknown(other) => other,
        }
    }
}

/// The codes of Time Exceeded (RFC 792).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeExceeded {
    /// Time to live exceeded in transit (0): what traceroute elicits.
    TtlExpired,
    /// Fragment reassembly time exceeded (1).
    FragExpired,
    /// Any other code.
    Unknown(u8),
}

impl From<u8> for TimeExceeded {
    fn from(value: u8) -> Self {
        match value {
            0 => Self::TtlExpired,
            1 => Self::FragExpired,
            other => Self::Unknown(other),
        }
    }
}

impl From<TimeExceeded> for u8 {
    fn from(value: TimeExceeded) -> Self {
        match value {
            TimeExceeded::TtlExpired => 0,
            TimeExceeded::FragExpired => 1,
            TimeExceeded::Unknown(other) => other,
        }
    }
}

packet_view! {
    /// A view over an ICMPv4 message.
    pub struct Packet;
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Checks that the buffer holds the 8-byte header. ICMP has no length
    /// field: the message is the whole IP payload, so every getter is in
    /// bounds after this. (The quoted header of an error message is checked
    /// when [`Repr::parse`] reads it.)
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// The Type field.
    pub fn msg_type(&self) -> Message {
        Message::from(self.buffer.as_ref()[field::TYPE])
    }

    /// The Code field, whose meaning depends on the type.
    pub fn msg_code(&self) -> u8 {
        self.buffer.as_ref()[field::CODE]
    }

    /// The Checksum field.
    pub fn checksum(&self) -> u16 {
        self.get_u16(field::CHECKSUM)
    }

    /// The Identifier field of an echo or timestamp message.
    pub fn echo_ident(&self) -> u16 {
        self.get_u16(field::ECHO_IDENT)
    }

    /// The Sequence Number field of an echo or timestamp message.
    pub fn echo_seq_no(&self) -> u16 {
        self.get_u16(field::ECHO_SEQNO)
    }

    /// The Next-Hop MTU field of a fragmentation-needed message (RFC 1191):
    /// the low 16 bits of the second word.
    pub fn next_hop_mtu(&self) -> u16 {
        self.get_u16(field::NEXT_HOP_MTU)
    }

    /// The second word of the header, whatever the type makes of it.
    pub fn rest_of_header(&self) -> [u8; 4] {
        let b = &self.buffer.as_ref()[field::REST];
        [b[0], b[1], b[2], b[3]]
    }

    /// Everything after the header: an echo's data, or the quoted datagram
    /// of an error message.
    pub fn data(&self) -> &[u8] {
        &self.buffer.as_ref()[field::DATA..]
    }

    /// Whether the checksum is right.
    pub fn verify_checksum(&self) -> bool {
        checksum::data(self.buffer.as_ref()) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the Type field.
    pub fn set_msg_type(&mut self, value: Message) {
        self.buffer.as_mut()[field::TYPE] = value.into();
    }

    /// Sets the Code field.
    pub fn set_msg_code(&mut self, value: u8) {
        self.buffer.as_mut()[field::CODE] = value;
    }

    /// Sets the Checksum field.
    pub fn set_checksum(&mut self, value: u16) {
        self.set_u16(field::CHECKSUM, value);
    }

    /// Sets the Identifier field of an echo message.
    pub fn set_echo_ident(&mut self, value: u16) {
        self.set_u16(field::ECHO_IDENT, value);
    }

    /// Sets the Sequence Number field of an echo message.
    pub fn set_echo_seq_no(&mut self, value: u16) {
        self.set_u16(field::ECHO_SEQNO, value);
    }

    /// Sets the Next-Hop MTU field.
    pub fn set_next_hop_mtu(&mut self, value: u16) {
        self.set_u16(field::NEXT_HOP_MTU, value);
    }

    /// Sets the second word of the header.
    pub fn set_rest_of_header(&mut self, value: [u8; 4]) {
        self.buffer.as_mut()[field::REST].copy_from_slice(&value);
    }

    /// Everything after the header, mutably.
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::DATA..]
    }

    /// Computes and stores the checksum over the whole buffer.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        //= https://www.rfc-editor.org/rfc/rfc792
        //# The checksum is the 16-bit ones's complement of the one's
        //# complement sum of the ICMP message starting with the ICMP Type.
        let sum = !checksum::data(self.buffer.as_ref());
        self.set_checksum(sum);
    }
}

/// A parsed ICMPv4 message of a kind the stack acts on.
///
/// In the error messages, `header` is the quoted IPv4 header of the
/// datagram that caused the error (its `payload_len` is that datagram's,
/// from its Total Length) and `data` is what was quoted of the datagram's
/// payload: at least 8 bytes (or the whole payload, if shorter), at most
/// `header.payload_len`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Repr<'a> {
    /// Echo Request.
    EchoRequest {
        /// The Identifier.
        ident: u16,
        /// The Sequence Number.
        seq_no: u16,
        /// The data, returned unchanged in the reply.
        data: &'a [u8],
    },
    /// Echo Reply.
    EchoReply {
        /// The Identifier, copied from the request.
        ident: u16,
        /// The Sequence Number, copied from the request.
        seq_no: u16,
        /// The data, copied from the request.
        data: &'a [u8],
    },
    /// Destination Unreachable.
    DstUnreachable {
        /// Why, from the Code field.
        reason: DstUnreachable,
        /// The next-hop MTU for [`DstUnreachable::FragRequired`] (zero from a
        /// router older than RFC 1191); zero for every other reason.
        next_hop_mtu: u16,
        /// The quoted IPv4 header.
        header: ipv4::Repr,
        /// The quoted start of the datagram's payload.
        data: &'a [u8],
    },
    /// Time Exceeded.
    TimeExceeded {
        /// Why, from the Code field.
        reason: TimeExceeded,
        /// The quoted IPv4 header.
        header: ipv4::Repr,
        /// The quoted start of the datagram's payload.
        data: &'a [u8],
    },
}

impl<'a> Repr<'a> {
    /// Parses a checked view of a message: the IP payload of a datagram
    /// whose protocol is ICMP. The checksum is verified unless `caps.rx`
    /// trusts it. Types other than echo, destination unreachable and time
    /// exceeded (and echo messages with a code other than 0) are
    /// [`Error::Unsupported`]; an error message whose quote is too short to
    /// identify the datagram is [`Error::Truncated`].
    pub fn parse<T: AsRef<[u8]> + ?Sized>(
        packet: &Packet<&'a T>,
        caps: ChecksumCaps,
    ) -> Result<Self> {
        packet.check_len()?;
        if caps.rx == RxChecksum::Verify && !packet.verify_checksum() {
            return Err(Error::Checksum);
        }
        let data = packet
            .buffer
            .as_ref()
            .get(field::DATA..)
            .ok_or(Error::Truncated)?;
        match (packet.msg_type(), packet.msg_code()) {
            (Message::EchoRequest, 0) => Ok(Self::EchoRequest {
                ident: packet.echo_ident(),
                seq_no: packet.echo_seq_no(),
                data,
            }),
            (Message::EchoReply, 0) => Ok(Self::EchoReply {
                ident: packet.echo_ident(),
                seq_no: packet.echo_seq_no(),
                data,
            }),
            (Message::DstUnreachable, code) => {
                let reason = DstUnreachable::from(code);
                let (header, data) = parse_quote(data)?;
                //= https://www.rfc-editor.org/rfc/rfc1191#section-4
                //# the router MUST include the MTU of that next-hop network in the
                //# low-order 16 bits of the ICMP header field that is labelled
                //# "unused" in the ICMP specification
                let next_hop_mtu = match reason {
                    DstUnreachable::FragRequired => packet.next_hop_mtu(),
                    _ => 0,
                };
                Ok(Self::DstUnreachable {
                    reason,
                    next_hop_mtu,
                    header,
                    data,
                })
            }
            (Message::TimeExceeded, code) => {
                let (header, data) = parse_quote(data)?;
                Ok(Self::TimeExceeded {
                    reason: TimeExceeded::from(code),
                    header,
                    data,
                })
            }
            //= https://www.rfc-editor.org/rfc/rfc1122#section-3.2.2
            //# If an ICMP message of unknown type is received, it MUST be
            //# silently discarded.
            _ => Err(Error::Unsupported),
        }
    }

    /// The header length (always 8).
    pub const fn header_len(&self) -> usize {
        HEADER_LEN
    }

    /// The exact length `emit` writes: the header, then the echo data or
    /// the quoted header (20 bytes, no options) and quoted data.
    pub const fn buffer_len(&self) -> usize {
        match self {
            Self::EchoRequest { data, .. } | Self::EchoReply { data, .. } => {
                HEADER_LEN + data.len()
            }
            Self::DstUnreachable { header, data, .. } | Self::TimeExceeded { header, data, .. } => {
                HEADER_LEN + header.header_len() + data.len()
            }
        }
    }

    /// Writes the 8-byte header with the checksum zeroed.
    pub fn emit_header<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        packet.set_checksum(0);
        let mut echo = |msg_type, ident, seq_no| {
            packet.set_msg_type(msg_type);
            packet.set_msg_code(0);
            packet.set_echo_ident(ident);
            packet.set_echo_seq_no(seq_no);
        };
        match *self {
            Self::EchoRequest { ident, seq_no, .. } => echo(Message::EchoRequest, ident, seq_no),
            Self::EchoReply { ident, seq_no, .. } => echo(Message::EchoReply, ident, seq_no),
            Self::DstUnreachable {
                reason,
                next_hop_mtu,
                ..
            } => {
                packet.set_msg_type(Message::DstUnreachable);
                packet.set_msg_code(reason.into());
                packet.set_rest_of_header([0; 4]);
                if reason == DstUnreachable::FragRequired {
                    packet.set_next_hop_mtu(next_hop_mtu);
                }
            }
            Self::TimeExceeded { reason, .. } => {
                packet.set_msg_type(Message::TimeExceeded);
                packet.set_msg_code(reason.into());
                packet.set_rest_of_header([0; 4]);
            }
        }
    }

    /// Writes the whole message into a buffer of exactly
    /// [`Repr::buffer_len`] bytes, checksum included. The checksum has no
    /// pseudo-header, so it is always computed in full.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        self.emit_header(packet);
        match *self {
            Self::EchoRequest { data, .. } | Self::EchoReply { data, .. } => {
                packet.data_mut().copy_from_slice(data);
            }
            Self::DstUnreachable { header, data, .. } | Self::TimeExceeded { header, data, .. } => {
                let (quoted_header, quoted_data) =
                    packet.data_mut().split_at_mut(header.header_len());
                header.emit(&mut ipv4::Packet::new_unchecked(quoted_header));
                quoted_data.copy_from_slice(data);
            }
        }
        packet.fill_checksum();
    }
}

/// Reads the quoted part of an error message: the original IPv4 header and
/// as much of its payload as was quoted, up to the datagram's end.
fn parse_quote(quote: &[u8]) -> Result<(ipv4::Repr, &[u8])> {
    let packet = ipv4::Packet::new_unchecked(quote);
    let header = ipv4::Repr::parse_quoted(&packet)?;
    // parse_quoted checked that the header is inside `quote` and that Total
    // Length covers it; bytes past Total Length (padding, RFC 4884
    // extensions) are not the datagram's.
    let end = usize::from(packet.total_len()).min(quote.len());
    let data = quote
        .get(packet.header_len()..end)
        .ok_or(Error::Truncated)?;
    //= https://www.rfc-editor.org/rfc/rfc792
    //# The internet header plus the first 64 bits of the original
    //# datagram's data.  This data is used by the host to match the
    //# message to the appropriate process.
    if data.len() < header.payload_len.min(MIN_QUOTED_DATA) {
        return Err(Error::Truncated);
    }
    Ok((header, data))
}

#[cfg(test)]
mod tests;
