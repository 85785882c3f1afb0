//! Wire formats: zero-copy views over bytes, and `Repr`s that parse and emit.
//!
//! Every protocol follows one contract (smoltcp's; docs/ARCHITECTURE.md
//! rule 4):
//!
//! - `Packet<T: AsRef<[u8]>>` is a view over a buffer. Getters live in
//!   `impl<T: AsRef<[u8]>>`, setters in `impl<T: AsRef<[u8]> + AsMut<[u8]>>`.
//!   Byte offsets are named constants in a private `field` module.
//! - `Packet::new_unchecked(buffer)` wraps without looking; accessors may then
//!   panic on a short buffer, so it is only for buffers we sized ourselves.
//! - `Packet::new_checked(buffer)` wraps and calls `check_len`, which proves
//!   that every getter (including those that follow length fields inside the
//!   packet) stays inside the buffer. Untrusted bytes always go through it.
//! - `Packet::into_inner()` gives the buffer back.
//! - These, and the struct itself, are written once, by the `packet_view!`
//!   macro (`view.rs`); `check_len` and the getters and setters are each
//!   protocol's own.
//! - `Repr::parse(&packet, ..)` turns a checked view into plain values and
//!   rejects what no correct sender emits; `Repr::buffer_len()` is the exact
//!   size `Repr::emit(&mut packet, ..)` writes. `emit` is given exactly
//!   `buffer_len()` bytes.
//!
//! Parsing never panics on any input: it returns [`Error`], the one error type
//! of this module. The formats: [`ethernet`] (Ethernet II), [`arp`] (RFC 826),
//! [`ipv4`] (RFC 791), [`ipv6`] (RFC 8200), [`icmpv4`] (RFC 792, RFC 1191),
//! [`icmpv6`] (RFC 4443, RFC 4861, with MLDv2 of RFC 3810 in
//! [`icmpv6::mld`]), [`igmp`] (RFC 3376) and the [`group_record`]s their
//! Reports share, [`udp`] (RFC 768), [`tcp`] (RFC 9293,
//! RFC 7323, RFC 2018), and the Internet [`checksum`] (RFC 1071, RFC 1624).
//! [`display`] prints any of them on one line, the way tcpdump does.

pub mod arp;
pub mod checksum;
pub mod display;
pub mod ethernet;
pub mod group_record;
pub mod icmpv4;
pub mod icmpv6;
pub mod igmp;
pub mod ipv4;
pub mod ipv6;
pub mod tcp;
pub mod tcp_option;
pub mod udp;
mod view;

pub use arp::{
    Hardware as ArpHardware, Operation as ArpOperation, Packet as ArpPacket, Repr as ArpRepr,
};
pub use display::{PrettyArp, PrettyEthernet, PrettyIp};
pub use ethernet::{
    Address as EthernetAddress, EtherType, Packet as EthernetPacket, Repr as EthernetRepr,
};
pub use group_record::{
    GroupAddr, Record as GroupRecord, RecordType as GroupRecordType, Records as GroupRecords,
    RecordsBuf as GroupRecordsBuf,
};
pub use icmpv4::{
    DstUnreachable as Icmpv4DstUnreachable, Message as Icmpv4Message, Packet as Icmpv4Packet,
    Repr as Icmpv4Repr, TimeExceeded as Icmpv4TimeExceeded,
};
pub use igmp::{Packet as IgmpPacket, Query as IgmpQuery, Repr as IgmpRepr};
pub use ipv4::{Ecn, Packet as Ipv4Packet, Repr as Ipv4Repr};
pub use tcp::{Flags as TcpFlags, Packet as TcpPacket, Repr as TcpRepr};
pub use tcp_option::{Iter as TcpOptionIter, TcpOption};

pub use icmpv6::{
    DstUnreachable as Icmpv6DstUnreachable, Message as Icmpv6Message, NdpOption, NdpOptions,
    NeighborFlags as NdpNeighborFlags, Packet as Icmpv6Packet, ParamProblem as Icmpv6ParamProblem,
    PrefixInfo as NdpPrefixInfo, PrefixInfos as NdpPrefixInfos, Repr as Icmpv6Repr,
    RouterFlags as NdpRouterFlags, TimeExceeded as Icmpv6TimeExceeded,
};
pub use ipv6::{
    Discard as Ipv6Discard, DiscardReason as Ipv6DiscardReason,
    ExtensionsWalk as Ipv6ExtensionsWalk, FragmentHeader as Ipv6FragmentHeader,
    OptionAction as Ipv6OptionAction, Packet as Ipv6Packet, Repr as Ipv6Repr,
};
pub use udp::{Packet as UdpPacket, Repr as UdpRepr};

use core::fmt;

/// Why bytes could not be parsed as the format asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum Error {
    /// The buffer is shorter than the header, or than a length field says.
    #[error("truncated packet")]
    Truncated,
    /// A field holds a value no correct sender emits (bad version, a length
    /// smaller than the header, an option with an impossible length, …).
    #[error("malformed packet")]
    Malformed,
    /// The checksum does not match the contents.
    #[error("bad checksum")]
    Checksum,
    /// Well-formed, but of a kind this module does not represent (an unknown
    /// ICMP type, a hardware type other than Ethernet, …).
    #[error("unsupported packet")]
    Unsupported,
}

/// The result of parsing.
pub type Result<T> = core::result::Result<T, Error>;

/// The protocol numbers carried in IPv4's Protocol and IPv6's Next Header
/// fields (IANA "Assigned Internet Protocol Numbers").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IpProtocol {
    /// IPv6 Hop-by-Hop Options (0).
    HopByHop,
    /// ICMP for IPv4 (1).
    Icmp,
    /// IGMP (2).
    Igmp,
    /// TCP (6).
    Tcp,
    /// UDP (17).
    Udp,
    /// IPv6 Routing header (43).
    Ipv6Route,
    /// IPv6 Fragment header (44).
    Ipv6Frag,
    /// Encapsulating Security Payload (50).
    Esp,
    /// Authentication Header (51).
    Ah,
    /// ICMP for IPv6 (58).
    Icmpv6,
    /// IPv6 No Next Header (59).
    Ipv6NoNxt,
    /// IPv6 Destination Options (60).
    Ipv6Opts,
    /// Any other protocol number.
    Unknown(u8),
}

impl From<u8> for IpProtocol {
    fn from(value: u8) -> Self {
        match value {
            0 => Self::HopByHop,
            1 => Self::Icmp,
            2 => Self::Igmp,
            6 => Self::Tcp,
            17 => Self::Udp,
            43 => Self::Ipv6Route,
            44 => Self::Ipv6Frag,
            50 => Self::Esp,
            51 => Self::Ah,
            58 => Self::Icmpv6,
            59 => Self::Ipv6NoNxt,
            60 => Self::Ipv6Opts,
            other => Self::Unknown(other),
        }
    }
}

impl From<IpProtocol> for u8 {
    fn from(value: IpProtocol) -> Self {
        match value {
            IpProtocol::HopByHop => 0,
            IpProtocol::Icmp => 1,
            IpProtocol::Igmp => 2,
            IpProtocol::Tcp => 6,
            IpProtocol::Udp => 17,
            IpProtocol::Ipv6Route => 43,
            IpProtocol::Ipv6Frag => 44,
            IpProtocol::Esp => 50,
            IpProtocol::Ah => 51,
            IpProtocol::Icmpv6 => 58,
            IpProtocol::Ipv6NoNxt => 59,
            IpProtocol::Ipv6Opts => 60,
            IpProtocol::Unknown(other) => other,
        }
    }
}

impl fmt::Display for IpProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::HopByHop => f.write_str("hop-by-hop"),
            Self::Icmp => f.write_str("icmp"),
            Self::Igmp => f.write_str("igmp"),
            Self::Tcp => f.write_str("tcp"),
            Self::Udp => f.write_str("udp"),
            Self::Ipv6Route => f.write_str("ipv6-route"),
            Self::Ipv6Frag => f.write_str("ipv6-frag"),
            Self::Esp => f.write_str("esp"),
            Self::Ah => f.write_str("ah"),
            Self::Icmpv6 => f.write_str("icmp6"),
            Self::Ipv6NoNxt => f.write_str("ipv6-nonxt"),
            Self::Ipv6Opts => f.write_str("ipv6-opts"),
            Self::Unknown(n) => write!(f, "ip-proto-{n}"),
        }
    }
}

/// How `parse` treats a received checksum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RxChecksum {
    /// Verify it and reject the packet on mismatch.
    #[default]
    Verify,
    /// Trust it: the device already verified it (a checksum offload).
    Trust,
}

/// What `emit` writes into a checksum field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TxChecksum {
    /// The full checksum.
    #[default]
    Full,
    /// Only the pseudo-header sum, for a device that completes the checksum
    /// (Linux `CHECKSUM_PARTIAL`, needed with TSO). Formats whose checksum has
    /// no pseudo-header (IPv4 header, ICMPv4) still write the full checksum.
    PseudoHeader,
}

/// Checksum handling for one direction pair, passed to `parse` and `emit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ChecksumCaps {
    /// On receive.
    pub rx: RxChecksum,
    /// On send.
    pub tx: TxChecksum,
}

impl ChecksumCaps {
    /// Verify on receive, compute in full on send.
    pub const FULL: Self = Self {
        rx: RxChecksum::Verify,
        tx: TxChecksum::Full,
    };
}

#[cfg(test)]
pub(crate) mod vectors;

/// Helpers shared by the wire tests.
#[cfg(test)]
pub(crate) mod testing {
    use core::fmt::Debug;

    /// A buffer of `len` bytes prefilled with `0xa5`, so a byte `emit` forgot
    /// to write shows up in the comparison.
    pub(crate) fn prefilled(len: usize) -> Vec<u8> {
        vec![0xa5; len]
    }

    /// Every strict prefix of `bytes` must fail to parse (and not panic).
    pub(crate) fn assert_truncations_fail<E: Debug>(
        bytes: &[u8],
        parse: impl Fn(&[u8]) -> Result<(), E>,
    ) {
        for len in 0..bytes.len() {
            assert!(
                parse(&bytes[..len]).is_err(),
                "a {len}-byte prefix of {} bytes parsed",
                bytes.len()
            );
        }
        assert!(parse(bytes).is_ok(), "the whole vector must parse");
    }
}
