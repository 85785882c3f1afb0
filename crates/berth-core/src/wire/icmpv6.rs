//! ICMPv6 messages (RFC 4443) and the Neighbor Discovery messages a host
//! deals in (RFC 4861): Router and Neighbor Solicitation and Advertisement.
//!
//! [`Packet`] is the view, [`Repr`] the parsed message: echo, the four error
//! messages, and the four NDP messages with the options a host uses (see
//! [`ndp`]). The checksum covers an IPv6 pseudo-header (RFC 4443 section
//! 2.3), so `parse` and `emit` take the source and destination addresses.
//! ICMPv6 has no length field: the view spans exactly the upper-layer data of
//! the IPv6 packet. The invoking packet an error message quotes may be cut
//! anywhere; it is read leniently by [`ipv6::Repr::parse_quoted`].
//!
//! NDP validation that needs only the message and its addresses is done here
//! (RFC 4861 sections 6.1 and 7.1: code, length, options, multicast targets,
//! unspecified sources); the IP Hop Limit of 255 and the link-local source of
//! a Router Advertisement are the stack's to check. Link-layer addresses are
//! Ethernet addresses as plain `[u8; 6]`. Redirect (137), MLD and unknown
//! types parse as [`Error::Unsupported`]; MLD messages are [`mld::Repr`]'s.

use std::net::Ipv6Addr;

use super::view::packet_view;
use super::{Error, IpProtocol, Result, TxChecksum, checksum, ipv6};

pub mod mld;
pub mod ndp;
mod repr;

pub use ndp::{
    NdpOption, NdpOptions, NeighborFlags, PrefixInfo, PrefixInfoIter, PrefixInfos, RouterFlags,
};
pub use repr::Repr;

mod field {
    use core::ops::Range;

    pub(super) const TYPE: usize = 0;
    pub(super) const CODE: usize = 1;
    pub(super) const CHECKSUM: Range<usize> = 2..4;
    /// Unused / Reserved in most messages; the fields below in others.
    pub(super) const REST: Range<usize> = 4..8;
    /// Echo Request and Reply (RFC 4443 section 4).
    pub(super) const ECHO_IDENT: Range<usize> = 4..6;
    pub(super) const ECHO_SEQ_NO: Range<usize> = 6..8;
    /// Packet Too Big (section 3.2).
    pub(super) const MTU: Range<usize> = 4..8;
    /// Parameter Problem (section 3.4).
    pub(super) const POINTER: Range<usize> = 4..8;
    /// Echo data, or the invoking packet of an error message.
    pub(super) const PAYLOAD: usize = 8;
    /// Router Advertisement (RFC 4861 section 4.2).
    pub(super) const CUR_HOP_LIMIT: usize = 4;
    pub(super) const ROUTER_FLAGS: usize = 5;
    pub(super) const ROUTER_LIFETIME: Range<usize> = 6..8;
    pub(super) const REACHABLE_TIME: Range<usize> = 8..12;
    pub(super) const RETRANS_TIME: Range<usize> = 12..16;
    /// Neighbor Solicitation and Advertisement (sections 4.3, 4.4).
    pub(super) const NEIGHBOR_FLAGS: usize = 4;
    pub(super) const TARGET_ADDR: Range<usize> = 8..24;
}

/// The length of the ICMPv6 header (type, code, checksum and four octets).
pub const HEADER_LEN: usize = field::PAYLOAD;

/// The most invoking-packet data, after its IPv6 header, that an error
/// message can quote and stay within the minimum IPv6 MTU of 1280 octets
/// (RFC 4443 section 2.4 (c)): 1280 - 40 - 8 - 40.
pub const MAX_ERROR_DATA_LEN: usize = 1280 - ipv6::HEADER_LEN - HEADER_LEN - ipv6::HEADER_LEN;

/// Declares a type or code field as an enum with an `Unknown` fallback and
/// both conversions.
macro_rules! code_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $($(#[$vmeta:meta])* $variant:ident = $value:literal,)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
            /// A value this module does not name (never one it does, when
            /// parsed).
            Unknown(u8),
        }

        impl From<u8> for $name {
            fn from(value: u8) -> Self {
                match value {
                    $($value => Self::$variant,)*
                    other => Self::Unknown(other),
                }
            }
        }

        impl From<$name> for u8 {
            fn from(value: $name) -> Self {
                match value {
                    $($name::$variant => $value,)*
                    $name::Unknown(other) => other,
                }
            }
        }
    };
}

code_enum! {
    /// The ICMPv6 Type field (IANA "ICMPv6 Parameters").
    pub enum Message {
        /// Destination Unreachable (1).
        DstUnreachable = 1,
        /// Packet Too Big (2).
        PktTooBig = 2,
        /// Time Exceeded (3).
        TimeExceeded = 3,
        /// Parameter Problem (4).
        ParamProblem = 4,
        /// Echo Request (128).
        EchoRequest = 128,
        /// Echo Reply (129).
        EchoReply = 129,
        /// Multicast Listener Query (130, RFC 2710 and RFC 3810).
        MldQuery = 130,
        /// Version 1 Multicast Listener Report (131, RFC 2710).
        MldReport = 131,
        /// Multicast Listener Done (132, RFC 2710).
        MldDone = 132,
        /// Router Solicitation (133).
        RouterSolicit = 133,
        /// Router Advertisement (134).
        RouterAdvert = 134,
        /// Neighbor Solicitation (135).
        NeighborSolicit = 135,
        /// Neighbor Advertisement (136).
        NeighborAdvert = 136,
        /// Redirect (137).
        Redirect = 137,
        /// Version 2 Multicast Listener Report (143, RFC 3810).
        MldReportV2 = 143,
    }
}

impl Message {
    /// Whether this is an error message (type below 128, RFC 4443 section
    /// 2.1).
    pub fn is_error(self) -> bool {
        u8::from(self) < 128
    }

    /// The octets before the options of an NDP message, or the ICMPv6
    /// header for any other.
    const fn fixed_len(self) -> usize {
        match self {
            //= https://www.rfc-editor.org/rfc/rfc4861#section-6.1.1
            //# - ICMP length (derived from the IP length) is 8 or more octets.
            Self::RouterSolicit => 8,
            //= https://www.rfc-editor.org/rfc/rfc4861#section-6.1.2
            //# - ICMP length (derived from the IP length) is 16 or more octets.
            Self::RouterAdvert => 16,
            //= https://www.rfc-editor.org/rfc/rfc4861#section-7.1.1
            //# - ICMP length (derived from the IP length) is 24 or more octets.
            Self::NeighborSolicit | Self::NeighborAdvert => 24,
            //= https://www.rfc-editor.org/rfc/rfc4861#section-8.1
            //# - ICMP length (derived from the IP length) is 40 or more octets.
            Self::Redirect => 40,
            _ => HEADER_LEN,
        }
    }

    const fn is_ndp(self) -> bool {
        matches!(
            self,
            Self::RouterSolicit
                | Self::RouterAdvert
                | Self::NeighborSolicit
                | Self::NeighborAdvert
                | Self::Redirect
        )
    }
}

code_enum! {
    /// The code of a Destination Unreachable (RFC 4443 section 3.1).
    pub enum DstUnreachable {
        /// No route to destination (0).
        NoRoute = 0,
        /// Communication administratively prohibited (1).
        AdminProhibit = 1,
        /// Beyond scope of source address (2).
        BeyondScope = 2,
        /// Address unreachable (3).
        AddrUnreachable = 3,
        /// Port unreachable (4).
        PortUnreachable = 4,
        /// Source address failed ingress/egress policy (5).
        FailedPolicy = 5,
        /// Reject route to destination (6).
        RejectRoute = 6,
    }
}

code_enum! {
    /// The code of a Time Exceeded (RFC 4443 section 3.3).
    pub enum TimeExceeded {
        /// Hop limit exceeded in transit (0).
        HopLimitExceeded = 0,
        /// Fragment reassembly time exceeded (1).
        FragReassemblyExceeded = 1,
    }
}

code_enum! {
    /// The code of a Parameter Problem (RFC 4443 section 3.4, RFC 7112).
    pub enum ParamProblem {
        /// Erroneous header field encountered (0).
        ErroneousHeaderField = 0,
        /// Unrecognized Next Header type encountered (1).
        UnrecognizedNextHeader = 1,
        /// Unrecognized IPv6 option encountered (2).
        UnrecognizedOption = 2,
        /// IPv6 first fragment has incomplete IPv6 header chain (3).
        IncompleteHeaderChain = 3,
    }
}

impl From<ipv6::DiscardReason> for ParamProblem {
    /// The code that answers a packet the IPv6 walk discarded.
    fn from(reason: ipv6::DiscardReason) -> Self {
        match reason {
            ipv6::DiscardReason::UnrecognizedOption(_) => Self::UnrecognizedOption,
            ipv6::DiscardReason::UnrecognizedRoutingType
            | ipv6::DiscardReason::FragmentLength
            | ipv6::DiscardReason::FragmentBeyondMaxLength => Self::ErroneousHeaderField,
            ipv6::DiscardReason::IncompleteHeaderChain => Self::IncompleteHeaderChain,
        }
    }
}

packet_view! {
    /// A view over an ICMPv6 message: exactly the upper-layer data of its IPv6
    /// packet.
    pub struct Packet;
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Checks that the buffer holds the header and, for an NDP message, the
    /// fixed part before its options.
    ///
    /// The getters of another message type read zero past the end of a
    /// buffer too short for them rather than panic; options are checked as
    /// [`NdpOptions`] walks them.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN || len < self.msg_type().fixed_len() {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// `N` octets at `range`, zero where the buffer ends before them.
    fn read<const N: usize>(&self, range: core::ops::Range<usize>) -> [u8; N] {
        let mut out = [0; N];
        if let Some(bytes) = self.buffer.as_ref().get(range) {
            out.copy_from_slice(bytes);
        }
        out
    }

    fn read_u8(&self, at: usize) -> u8 {
        self.buffer.as_ref().get(at).copied().unwrap_or(0)
    }

    /// The Type field.
    pub fn msg_type(&self) -> Message {
        Message::from(self.read_u8(field::TYPE))
    }

    /// The Code field.
    pub fn msg_code(&self) -> u8 {
        self.read_u8(field::CODE)
    }

    /// The Checksum field.
    pub fn checksum(&self) -> u16 {
        u16::from_be_bytes(self.read(field::CHECKSUM))
    }

    /// The Identifier of an echo message.
    pub fn echo_ident(&self) -> u16 {
        u16::from_be_bytes(self.read(field::ECHO_IDENT))
    }

    /// The Sequence Number of an echo message.
    pub fn echo_seq_no(&self) -> u16 {
        u16::from_be_bytes(self.read(field::ECHO_SEQ_NO))
    }

    /// The MTU of a Packet Too Big.
    pub fn mtu(&self) -> u32 {
        u32::from_be_bytes(self.read(field::MTU))
    }

    /// The Pointer of a Parameter Problem.
    pub fn pointer(&self) -> u32 {
        u32::from_be_bytes(self.read(field::POINTER))
    }

    /// The Cur Hop Limit of a Router Advertisement.
    pub fn cur_hop_limit(&self) -> u8 {
        self.read_u8(field::CUR_HOP_LIMIT)
    }

    /// The M and O flags of a Router Advertisement.
    pub fn router_flags(&self) -> RouterFlags {
        RouterFlags::from_byte(self.read_u8(field::ROUTER_FLAGS))
    }

    /// The Router Lifetime of a Router Advertisement, in seconds.
    pub fn router_lifetime(&self) -> u16 {
        u16::from_be_bytes(self.read(field::ROUTER_LIFETIME))
    }

    /// The Reachable Time of a Router Advertisement, in milliseconds.
    pub fn reachable_time(&self) -> u32 {
        u32::from_be_bytes(self.read(field::REACHABLE_TIME))
    }

    /// The Retrans Timer of a Router Advertisement, in milliseconds.
    pub fn retrans_time(&self) -> u32 {
        u32::from_be_bytes(self.read(field::RETRANS_TIME))
    }

    /// The R, S and O flags of a Neighbor Advertisement.
    pub fn neighbor_flags(&self) -> NeighborFlags {
        NeighborFlags::from_byte(self.read_u8(field::NEIGHBOR_FLAGS))
    }

    /// The Target Address of a Neighbor Solicitation or Advertisement.
    pub fn target_addr(&self) -> Ipv6Addr {
        Ipv6Addr::from(self.read::<16>(field::TARGET_ADDR))
    }

    /// Everything after the 8-octet header: echo data, or the invoking
    /// packet of an error message.
    pub fn payload(&self) -> &[u8] {
        self.buffer
            .as_ref()
            .get(field::PAYLOAD..)
            .unwrap_or_default()
    }

    /// The options of an NDP message (empty for other types); walk them
    /// with [`NdpOptions`].
    pub fn options(&self) -> &[u8] {
        let msg_type = self.msg_type();
        if !msg_type.is_ndp() {
            return &[];
        }
        self.buffer
            .as_ref()
            .get(msg_type.fixed_len()..)
            .unwrap_or_default()
    }

    /// Whether the checksum is right for a message from `src` to `dst`.
    pub fn verify_checksum(&self, src: Ipv6Addr, dst: Ipv6Addr) -> bool {
        let data = self.buffer.as_ref();
        //= https://www.rfc-editor.org/rfc/rfc4443#section-2.3
        //# The checksum is the 16-bit one's complement of the one's complement
        //# sum of the entire ICMPv6 message, starting with the ICMPv6 message
        //# type field, and prepended with a "pseudo-header" of IPv6 header
        //# fields, as specified in [IPv6, Section 8.1].
        checksum::combine(&[
            checksum::pseudo_header_v6(src, dst, IpProtocol::Icmpv6, upper_len(data)),
            checksum::data(data),
        ]) == 0xffff
    }
}

/// The Upper-Layer Packet Length of the pseudo-header. A message longer than
/// `u32::MAX` octets cannot be sent, and saturates.
fn upper_len(data: &[u8]) -> u32 {
    u32::try_from(data.len()).unwrap_or(u32::MAX)
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn write(&mut self, range: core::ops::Range<usize>, bytes: &[u8]) {
        self.buffer.as_mut()[range].copy_from_slice(bytes);
    }

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
        self.write(field::CHECKSUM, &value.to_be_bytes());
    }

    /// Zeroes the four octets after the checksum (Unused or Reserved in most
    /// messages).
    pub fn clear_reserved(&mut self) {
        self.write(field::REST, &[0; 4]);
    }

    /// Sets the Identifier of an echo message.
    pub fn set_echo_ident(&mut self, value: u16) {
        self.write(field::ECHO_IDENT, &value.to_be_bytes());
    }

    /// Sets the Sequence Number of an echo message.
    pub fn set_echo_seq_no(&mut self, value: u16) {
        self.write(field::ECHO_SEQ_NO, &value.to_be_bytes());
    }

    /// Sets the MTU of a Packet Too Big.
    pub fn set_mtu(&mut self, value: u32) {
        self.write(field::MTU, &value.to_be_bytes());
    }

    /// Sets the Pointer of a Parameter Problem.
    pub fn set_pointer(&mut self, value: u32) {
        self.write(field::POINTER, &value.to_be_bytes());
    }

    /// Sets the Cur Hop Limit of a Router Advertisement.
    pub fn set_cur_hop_limit(&mut self, value: u8) {
        self.buffer.as_mut()[field::CUR_HOP_LIMIT] = value;
    }

    /// Sets the flag octet of a Router Advertisement (other bits zero).
    pub fn set_router_flags(&mut self, value: RouterFlags) {
        self.buffer.as_mut()[field::ROUTER_FLAGS] = value.to_byte();
    }

    /// Sets the Router Lifetime of a Router Advertisement.
    pub fn set_router_lifetime(&mut self, value: u16) {
        self.write(field::ROUTER_LIFETIME, &value.to_be_bytes());
    }

    /// Sets the Reachable Time of a Router Advertisement.
    pub fn set_reachable_time(&mut self, value: u32) {
        self.write(field::REACHABLE_TIME, &value.to_be_bytes());
    }

    /// Sets the Retrans Timer of a Router Advertisement.
    pub fn set_retrans_time(&mut self, value: u32) {
        self.write(field::RETRANS_TIME, &value.to_be_bytes());
    }

    /// Sets the flag octet of a Neighbor Advertisement (other bits zero).
    pub fn set_neighbor_flags(&mut self, value: NeighborFlags) {
        self.buffer.as_mut()[field::NEIGHBOR_FLAGS] = value.to_byte();
    }

    /// Sets the Target Address of a Neighbor Solicitation or Advertisement.
    pub fn set_target_addr(&mut self, value: Ipv6Addr) {
        self.write(field::TARGET_ADDR, &value.octets());
    }

    /// Everything after the 8-octet header, mutably.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD..]
    }

    /// The options of an NDP message, mutably (by the Type field already
    /// set; empty for other types).
    pub fn options_mut(&mut self) -> &mut [u8] {
        let msg_type = self.msg_type();
        if !msg_type.is_ndp() {
            return &mut [];
        }
        &mut self.buffer.as_mut()[msg_type.fixed_len()..]
    }

    /// Computes and stores the checksum (or, for [`TxChecksum::PseudoHeader`],
    /// only the pseudo-header sum for the device to complete).
    pub fn fill_checksum(&mut self, src: Ipv6Addr, dst: Ipv6Addr, tx: TxChecksum) {
        self.set_checksum(0);
        let data = self.buffer.as_ref();
        let pseudo = checksum::pseudo_header_v6(src, dst, IpProtocol::Icmpv6, upper_len(data));
        let value = match tx {
            TxChecksum::PseudoHeader => pseudo,
            TxChecksum::Full => !checksum::combine(&[pseudo, checksum::data(data)]),
        };
        self.set_checksum(value);
    }
}

#[cfg(test)]
mod tests;
