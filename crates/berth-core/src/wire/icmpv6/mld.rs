//! Multicast Listener Discovery messages: MLDv2 Queries and Reports (RFC
//! 3810 section 5), and the MLDv1 messages a node may hear (RFC 2710).
//!
//! They are ICMPv6 messages, so [`Packet`] wraps the whole ICMPv6 message
//! and the checksum is ICMPv6's, over the IPv6 pseudo-header
//! ([`super::Packet::verify_checksum`]). A Query's version is told by its
//! length (RFC 3810 section 8.1); a Report's Multicast Address Records
//! are walked by [`Records`]. [`HOP_BY_HOP_ROUTER_ALERT`] is the
//! extension header every MLD message travels behind.

use std::net::Ipv6Addr;

use super::Message;
use crate::time::Duration;
use crate::wire::group_record::Records;
use crate::wire::view::{Fields, packet_view};
use crate::wire::{ChecksumCaps, Error, IpProtocol, Result, RxChecksum};

mod field {
    use core::ops::Range;

    pub(super) const TYPE: usize = 0;
    pub(super) const CODE: usize = 1;
    /// Maximum Response Code of a Query (Reserved in a v2 Report).
    pub(super) const MAX_RESP_CODE: Range<usize> = 4..6;
    /// The Multicast Address of a Query, a v1 Report and a Done.
    pub(super) const GROUP: Range<usize> = 8..24;
    /// MLDv2 Query (RFC 3810 section 5.1).
    pub(super) const RESV_S_QRV: usize = 24;
    pub(super) const QQIC: usize = 25;
    pub(super) const NUM_SOURCES: Range<usize> = 26..28;
    pub(super) const SOURCES: usize = 28;
    /// MLDv2 Report (section 5.2): Reserved, then the record count.
    pub(super) const NUM_RECORDS: Range<usize> = 6..8;
    pub(super) const RECORDS: usize = 8;
}

/// The length of an MLDv1 message (and of a v1 Query).
pub const V1_LEN: usize = field::SOURCES - 4;

/// The shortest MLDv2 Query.
pub const V2_QUERY_LEN: usize = field::SOURCES;

/// The IPv6 destination of MLDv2 Reports.
//= https://www.rfc-editor.org/rfc/rfc3810#section-5.2.14
//# Version 2 Multicast Listener Reports are sent with an IP destination
//# address of FF02:0:0:0:0:0:0:16, to which all MLDv2-capable multicast
//# routers listen
pub const ALL_V2_ROUTERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x16);

/// The link-scope all-nodes group, to which General Queries are sent.
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// The Hop-by-Hop Options header an MLD message travels behind: Next
/// Header 58 (ICMPv6), length 0 (8 octets), the Router Alert option (RFC
/// 2711 section 2.1: type 5, length 2, value 0, "Datagram contains a
/// Multicast Listener Discovery message"), and a two-octet PadN.
pub const HOP_BY_HOP_ROUTER_ALERT: [u8; 8] = [58, 0, 5, 2, 0, 0, 1, 0];

packet_view! {
    /// A view over an MLD message: the whole ICMPv6 message.
    pub struct Packet;
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Checks that the buffer holds the fields of its type: 8 octets for
    /// a v2 Report (its records are checked by [`Repr::parse`]), 24 for
    /// the others, and a v2 Query's sources.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        let min = match self.msg_type() {
            Message::MldReportV2 => field::RECORDS,
            _ => V1_LEN,
        };
        if len < min {
            return Err(Error::Truncated);
        }
        if self.msg_type() == Message::MldQuery
            && len >= V2_QUERY_LEN
            && len < V2_QUERY_LEN + usize::from(self.num_sources()) * 16
        {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// The ICMPv6 Type.
    pub fn msg_type(&self) -> Message {
        self.buffer
            .as_ref()
            .get(field::TYPE)
            .map_or(Message::Unknown(0), |&t| Message::from(t))
    }

    /// The Maximum Response Code of a Query.
    pub fn max_resp_code(&self) -> u16 {
        self.get_u16(field::MAX_RESP_CODE)
    }

    /// The Multicast Address of a Query, a v1 Report or a Done.
    pub fn group_addr(&self) -> Ipv6Addr {
        let mut b = [0u8; 16];
        b.copy_from_slice(&self.buffer.as_ref()[field::GROUP]);
        Ipv6Addr::from(b)
    }

    /// The S flag of a v2 Query (false when shorter).
    pub fn suppress(&self) -> bool {
        self.buffer
            .as_ref()
            .get(field::RESV_S_QRV)
            .is_some_and(|b| b & 0x08 != 0)
    }

    /// The QRV of a v2 Query (0 when shorter).
    pub fn qrv(&self) -> u8 {
        self.buffer
            .as_ref()
            .get(field::RESV_S_QRV)
            .map_or(0, |b| b & 0x07)
    }

    /// The QQIC of a v2 Query (0 when shorter).
    pub fn qqic(&self) -> u8 {
        self.buffer.as_ref().get(field::QQIC).copied().unwrap_or(0)
    }

    /// The Number of Sources of a v2 Query (0 when shorter).
    pub fn num_sources(&self) -> u16 {
        match self.buffer.as_ref().get(field::NUM_SOURCES) {
            Some(&[a, b]) => u16::from_be_bytes([a, b]),
            _ => 0,
        }
    }

    /// The Nr of Mcast Address Records of a v2 Report.
    pub fn num_records(&self) -> u16 {
        self.get_u16(field::NUM_RECORDS)
    }

    /// Whether the ICMPv6 checksum is right for a message from `src` to
    /// `dst`.
    pub fn verify_checksum(&self, src: Ipv6Addr, dst: Ipv6Addr) -> bool {
        super::Packet::new_unchecked(self.buffer.as_ref()).verify_checksum(src, dst)
    }
}

/// A Multicast Listener Query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Query<'a> {
    /// 1 or 2, from the message's length.
    pub version: u8,
    /// The Maximum Response Code.
    pub max_resp_code: u16,
    /// The address asked about; unspecified in a General Query.
    pub group: Ipv6Addr,
    /// The S flag (v2).
    pub suppress: bool,
    /// The Querier's Robustness Variable (v2).
    pub qrv: u8,
    /// The Querier's Query Interval Code (v2).
    pub qqic: u8,
    /// The sources asked about (v2), 16 bytes each.
    pub sources: &'a [u8],
}

impl Query<'_> {
    /// Whether it asks about every address.
    pub fn is_general(&self) -> bool {
        self.group.is_unspecified()
    }

    /// How long a listener may wait before it answers.
    pub fn max_resp_time(&self) -> Duration {
        Duration::from_millis(u64::from(decode_max_resp_code(self.max_resp_code)))
    }
}

/// The Maximum Response Delay, in milliseconds, that a Maximum Response
/// Code stands for.
pub fn decode_max_resp_code(code: u16) -> u32 {
    //= https://www.rfc-editor.org/rfc/rfc3810#section-5.1.3
    //# If Maximum Response Code < 32768,
    //#    Maximum Response Delay = Maximum Response Code
    if code < 32_768 {
        return u32::from(code);
    }
    //= https://www.rfc-editor.org/rfc/rfc3810#section-5.1.3
    //# Maximum Response Delay = (mant | 0x1000) << (exp+3)
    let exp = u32::from((code >> 12) & 0x07);
    let mant = u32::from(code & 0x0fff);
    (mant | 0x1000) << (exp + 3)
}

/// A parsed MLD message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repr<'a> {
    /// A Query of either version.
    Query(Query<'a>),
    /// An MLDv2 Report.
    Report(Records<'a, Ipv6Addr>),
    /// An MLDv1 Report for `group`.
    ReportV1 {
        /// The address reported.
        group: Ipv6Addr,
    },
    /// An MLDv1 Done for `group`.
    Done {
        /// The address no longer listened to.
        group: Ipv6Addr,
    },
}

impl<'a> Repr<'a> {
    /// Parses a checked message from `src` to `dst`, verifying its
    /// checksum unless `caps.rx` trusts it. Other ICMPv6 types, and
    /// Queries of no version, are [`Error::Unsupported`].
    pub fn parse<T: AsRef<[u8]> + ?Sized>(
        packet: &Packet<&'a T>,
        src: Ipv6Addr,
        dst: Ipv6Addr,
        caps: ChecksumCaps,
    ) -> Result<Self> {
        packet.check_len()?;
        if caps.rx == RxChecksum::Verify && !packet.verify_checksum(src, dst) {
            return Err(Error::Checksum);
        }
        let bytes = packet.buffer.as_ref();
        match packet.msg_type() {
            Message::MldQuery => {
                //= https://www.rfc-editor.org/rfc/rfc3810#section-8.1
                //# Query messages that do not match any of the above conditions
                //# (e.g., a Query of length 26 octets) MUST be silently ignored.
                let version = match bytes.len() {
                    V1_LEN => 1,
                    n if n >= V2_QUERY_LEN => 2,
                    _ => return Err(Error::Unsupported),
                };
                let sources = if version == 2 {
                    let n = usize::from(packet.num_sources()) * 16;
                    bytes
                        .get(field::SOURCES..field::SOURCES + n)
                        .ok_or(Error::Truncated)?
                } else {
                    &[]
                };
                Ok(Self::Query(Query {
                    version,
                    max_resp_code: packet.max_resp_code(),
                    group: packet.group_addr(),
                    suppress: packet.suppress(),
                    qrv: packet.qrv(),
                    qqic: packet.qqic(),
                    sources,
                }))
            }
            Message::MldReportV2 => {
                let records = bytes.get(field::RECORDS..).ok_or(Error::Truncated)?;
                Ok(Self::Report(Records::parse(records, packet.num_records())?))
            }
            Message::MldReport => Ok(Self::ReportV1 {
                group: packet.group_addr(),
            }),
            Message::MldDone => Ok(Self::Done {
                group: packet.group_addr(),
            }),
            _ => Err(Error::Unsupported),
        }
    }

    /// The message length `emit` writes.
    pub fn buffer_len(&self) -> usize {
        match self {
            Self::Query(q) if q.version == 2 => V2_QUERY_LEN + q.sources.len() / 16 * 16,
            Self::Query(_) | Self::ReportV1 { .. } | Self::Done { .. } => V1_LEN,
            Self::Report(records) => field::RECORDS + records.len(),
        }
    }

    /// Writes the message, with its checksum for `src` to `dst`, into
    /// exactly [`Repr::buffer_len`] bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut Packet<T>,
        src: Ipv6Addr,
        dst: Ipv6Addr,
        caps: ChecksumCaps,
    ) {
        let buf = packet.buffer.as_mut();
        buf.fill(0);
        let kind = match self {
            Self::Query(q) => {
                buf[field::MAX_RESP_CODE].copy_from_slice(&q.max_resp_code.to_be_bytes());
                buf[field::GROUP].copy_from_slice(&q.group.octets());
                if q.version == 2 {
                    buf[field::RESV_S_QRV] = u8::from(q.suppress) << 3 | (q.qrv & 0x07);
                    buf[field::QQIC] = q.qqic;
                    let n = q.sources.len() / 16;
                    let count = u16::try_from(n).unwrap_or(u16::MAX);
                    buf[field::NUM_SOURCES].copy_from_slice(&count.to_be_bytes());
                    if let (Some(out), Some(src)) = (
                        buf.get_mut(field::SOURCES..field::SOURCES + n * 16),
                        q.sources.get(..n * 16),
                    ) {
                        out.copy_from_slice(src);
                    }
                }
                Message::MldQuery
            }
            Self::Report(records) => {
                buf[field::NUM_RECORDS].copy_from_slice(&records.count().to_be_bytes());
                if let Some(out) = buf.get_mut(field::RECORDS..field::RECORDS + records.len()) {
                    out.copy_from_slice(records.as_bytes());
                }
                Message::MldReportV2
            }
            Self::ReportV1 { group } => {
                buf[field::GROUP].copy_from_slice(&group.octets());
                Message::MldReport
            }
            Self::Done { group } => {
                buf[field::GROUP].copy_from_slice(&group.octets());
                Message::MldDone
            }
        };
        buf[field::TYPE] = kind.into();
        buf[field::CODE] = 0;
        super::Packet::new_unchecked(buf).fill_checksum(src, dst, caps.tx);
    }
}

/// Whether `protocol` and the first byte of the upper-layer data make an
/// MLD message: what the stack hands to [`Repr::parse`].
pub fn is_mld(protocol: IpProtocol, data: &[u8]) -> bool {
    protocol == IpProtocol::Icmpv6
        && data.first().is_some_and(|&t| {
            matches!(
                Message::from(t),
                Message::MldQuery | Message::MldReport | Message::MldDone | Message::MldReportV2
            )
        })
}

#[cfg(test)]
mod tests;
