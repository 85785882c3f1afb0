//! IGMP messages (IPv4 protocol 2): IGMPv3 Membership Queries and Reports
//! (RFC 3376 section 4), and the older messages a host may hear (IGMPv1
//! and v2 Queries and Reports, the v2 Leave Group; RFC 2236).
//!
//! [`Packet`] is the view, [`Repr`] the parsed message. The checksum covers
//! the whole message, with no pseudo-header. A Query's version is told by
//! its length (RFC 3376 section 7.1); a Report's group records are walked
//! by [`Records`]. `emit` writes v3 Queries (for tests and simulations)
//! and v3 Reports; the stack sends nothing else.

use std::net::Ipv4Addr;

use super::group_record::Records;
use super::view::{Fields, FieldsMut, packet_view};
use super::{Error, Result, RxChecksum, checksum};
use crate::time::Duration;

mod field {
    use core::ops::Range;

    pub(super) const TYPE: usize = 0;
    /// Max Resp Code in a Query; Reserved in a v3 Report.
    pub(super) const MAX_RESP_CODE: usize = 1;
    pub(super) const CHECKSUM: Range<usize> = 2..4;
    /// The Group Address of a Query and of the older messages.
    pub(super) const GROUP: Range<usize> = 4..8;
    /// IGMPv3 Query (RFC 3376 section 4.1).
    pub(super) const RESV_S_QRV: usize = 8;
    pub(super) const QQIC: usize = 9;
    pub(super) const NUM_SOURCES: Range<usize> = 10..12;
    pub(super) const SOURCES: usize = 12;
    /// IGMPv3 Report (section 4.2): Reserved, then the record count.
    pub(super) const NUM_RECORDS: Range<usize> = 6..8;
    pub(super) const RECORDS: usize = 8;
}

/// The length of an IGMPv1/v2 message (and of a v2 Query).
pub const HEADER_LEN: usize = 8;

/// The shortest IGMPv3 Query.
pub const V3_QUERY_LEN: usize = field::SOURCES;

/// The IP destination of IGMPv3 Reports.
//= https://www.rfc-editor.org/rfc/rfc3376#section-4.2.14
//# Version 3 Reports are sent with an IP destination address of
//# 224.0.0.22, to which all IGMPv3-capable multicast routers listen.
pub const ALL_V3_ROUTERS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 22);

/// The all-systems group, to which General Queries are sent.
pub const ALL_SYSTEMS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 1);

/// The IP Router Alert option (RFC 2113 section 2.1): type 148 (copied,
/// class 0, number 20), length 4, value 0, "Router shall examine packet".
pub const ROUTER_ALERT: [u8; 4] = [0x94, 0x04, 0x00, 0x00];

/// IGMP message types (IANA "IGMP Type Numbers").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Message {
    /// Membership Query (0x11), every version.
    Query,
    /// Version 1 Membership Report (0x12).
    ReportV1,
    /// Version 2 Membership Report (0x16).
    ReportV2,
    /// Version 2 Leave Group (0x17).
    LeaveV2,
    /// Version 3 Membership Report (0x22).
    ReportV3,
    /// Any other type.
    Unknown(u8),
}

impl From<u8> for Message {
    fn from(value: u8) -> Self {
        match value {
            0x11 => Self::Query,
            0x12 => Self::ReportV1,
            0x16 => Self::ReportV2,
            0x17 => Self::LeaveV2,
            0x22 => Self::ReportV3,
            other => Self::Unknown(other),
        }
    }
}

impl From<Message> for u8 {
    fn from(value: Message) -> Self {
        match value {
            Message::Query => 0x11,
            Message::ReportV1 => 0x12,
            Message::ReportV2 => 0x16,
            Message::LeaveV2 => 0x17,
            Message::ReportV3 => 0x22,
            Message::Unknown(other) => other,
        }
    }
}

packet_view! {
    /// A view over an IGMP message.
    pub struct Packet;
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Checks that the buffer holds the 8-byte header, and for a v3 Query
    /// the sources it declares. A v3 Report's records are checked by
    /// [`Repr::parse`].
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if self.msg_type() == Message::Query
            && len >= V3_QUERY_LEN
            && len < V3_QUERY_LEN + usize::from(self.num_sources()) * 4
        {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// The Type field.
    pub fn msg_type(&self) -> Message {
        Message::from(self.buffer.as_ref()[field::TYPE])
    }

    /// The Max Resp Code of a Query.
    pub fn max_resp_code(&self) -> u8 {
        self.buffer.as_ref()[field::MAX_RESP_CODE]
    }

    /// The Checksum field.
    pub fn checksum(&self) -> u16 {
        self.get_u16(field::CHECKSUM)
    }

    /// The Group Address of a Query or an older message.
    pub fn group_addr(&self) -> Ipv4Addr {
        let b = &self.buffer.as_ref()[field::GROUP];
        Ipv4Addr::new(b[0], b[1], b[2], b[3])
    }

    /// The whole message length.
    pub fn len(&self) -> usize {
        self.buffer.as_ref().len()
    }

    /// Never: a checked message holds at least its header.
    pub fn is_empty(&self) -> bool {
        self.buffer.as_ref().is_empty()
    }

    /// The S flag of a v3 Query (0 when shorter).
    pub fn suppress(&self) -> bool {
        self.buffer
            .as_ref()
            .get(field::RESV_S_QRV)
            .is_some_and(|b| b & 0x08 != 0)
    }

    /// The QRV of a v3 Query (0 when shorter).
    pub fn qrv(&self) -> u8 {
        self.buffer
            .as_ref()
            .get(field::RESV_S_QRV)
            .map_or(0, |b| b & 0x07)
    }

    /// The QQIC of a v3 Query (0 when shorter).
    pub fn qqic(&self) -> u8 {
        self.buffer.as_ref().get(field::QQIC).copied().unwrap_or(0)
    }

    /// The Number of Sources of a v3 Query (0 when shorter).
    pub fn num_sources(&self) -> u16 {
        match self.buffer.as_ref().get(field::NUM_SOURCES) {
            Some(&[a, b]) => u16::from_be_bytes([a, b]),
            _ => 0,
        }
    }

    /// The Number of Group Records of a v3 Report.
    pub fn num_records(&self) -> u16 {
        self.get_u16(field::NUM_RECORDS)
    }

    /// Whether the checksum is right: the one's complement sum of the
    /// whole message, checksum included, is all ones.
    pub fn verify_checksum(&self) -> bool {
        //= https://www.rfc-editor.org/rfc/rfc3376#section-4.1.2
        //# When receiving
        //# packets, the checksum MUST be verified before processing a packet.
        checksum::data(self.buffer.as_ref()) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Computes and stores the checksum over the whole message.
    pub fn fill_checksum(&mut self) {
        self.set_u16(field::CHECKSUM, 0);
        let sum = !checksum::data(self.buffer.as_ref());
        self.set_u16(field::CHECKSUM, sum);
    }
}

/// A Membership Query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Query<'a> {
    /// 1, 2 or 3, from the message's length and Max Resp Code.
    pub version: u8,
    /// The Max Resp Code (in a v1 Query, zero).
    pub max_resp_code: u8,
    /// The group asked about; unspecified in a General Query.
    pub group: Ipv4Addr,
    /// The S flag: routers suppress their timer updates (v3).
    pub suppress: bool,
    /// The Querier's Robustness Variable (v3).
    pub qrv: u8,
    /// The Querier's Query Interval Code (v3).
    pub qqic: u8,
    /// The sources asked about (v3), 4 bytes each.
    pub sources: &'a [u8],
}

impl Query<'_> {
    /// Whether it asks about every group.
    pub fn is_general(&self) -> bool {
        self.group.is_unspecified()
    }

    /// How long a member may wait before it answers.
    pub fn max_resp_time(&self) -> Duration {
        //= https://www.rfc-editor.org/rfc/rfc2236#section-4
        //# The IGMPv1 router will send General Queries with the Max
        //# Response Time set to 0.  This MUST be interpreted as a value of
        //# 100 (10 seconds).
        if self.version == 1 {
            return Duration::from_millis(10_000);
        }
        Duration::from_millis(u64::from(decode_max_resp_code(self.max_resp_code)) * 100)
    }
}

/// The Max Resp Time, in tenths of a second, that a Max Resp Code stands
/// for.
pub fn decode_max_resp_code(code: u8) -> u32 {
    //= https://www.rfc-editor.org/rfc/rfc3376#section-4.1.1
    //# If Max Resp Code < 128, Max Resp Time = Max Resp Code
    if code < 128 {
        return u32::from(code);
    }
    //= https://www.rfc-editor.org/rfc/rfc3376#section-4.1.1
    //# Max Resp Time = (mant | 0x10) << (exp + 3)
    let exp = u32::from((code >> 4) & 0x07);
    let mant = u32::from(code & 0x0f);
    (mant | 0x10) << (exp + 3)
}

/// A parsed IGMP message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repr<'a> {
    /// A Membership Query of any version.
    Query(Query<'a>),
    /// An IGMPv3 Membership Report.
    Report(Records<'a, Ipv4Addr>),
    /// An IGMPv1 or v2 Membership Report for `group`.
    LegacyReport {
        /// 1 or 2.
        version: u8,
        /// The group reported.
        group: Ipv4Addr,
    },
    /// An IGMPv2 Leave Group for `group`.
    Leave {
        /// The group left.
        group: Ipv4Addr,
    },
}

impl<'a> Repr<'a> {
    /// Parses a checked message, verifying its checksum unless `rx`
    /// trusts it. Unknown types, and Queries of no version, are
    /// [`Error::Unsupported`].
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Packet<&'a T>, rx: RxChecksum) -> Result<Self> {
        packet.check_len()?;
        if rx == RxChecksum::Verify && !packet.verify_checksum() {
            return Err(Error::Checksum);
        }
        let bytes = packet.buffer.as_ref();
        match packet.msg_type() {
            Message::Query => {
                //= https://www.rfc-editor.org/rfc/rfc3376#section-7.1
                //# Query messages that do not match any of the above conditions
                //# (e.g., a Query of length 10 octets) MUST be silently ignored.
                let version = match bytes.len() {
                    HEADER_LEN if packet.max_resp_code() == 0 => 1,
                    HEADER_LEN => 2,
                    n if n >= V3_QUERY_LEN => 3,
                    _ => return Err(Error::Unsupported),
                };
                let sources = if version == 3 {
                    let n = usize::from(packet.num_sources()) * 4;
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
            Message::ReportV3 => {
                let records = bytes.get(field::RECORDS..).ok_or(Error::Truncated)?;
                Ok(Self::Report(Records::parse(records, packet.num_records())?))
            }
            Message::ReportV1 | Message::ReportV2 => Ok(Self::LegacyReport {
                version: if packet.msg_type() == Message::ReportV1 {
                    1
                } else {
                    2
                },
                group: packet.group_addr(),
            }),
            Message::LeaveV2 => Ok(Self::Leave {
                group: packet.group_addr(),
            }),
            Message::Unknown(_) => Err(Error::Unsupported),
        }
    }

    /// The message length `emit` writes.
    pub fn buffer_len(&self) -> usize {
        match self {
            Self::Query(q) if q.version == 3 => V3_QUERY_LEN + q.sources.len() / 4 * 4,
            Self::Query(_) | Self::LegacyReport { .. } | Self::Leave { .. } => HEADER_LEN,
            Self::Report(records) => field::RECORDS + records.len(),
        }
    }

    /// Writes the message and its checksum into exactly
    /// [`Repr::buffer_len`] bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        let buf = packet.buffer.as_mut();
        buf.fill(0);
        match self {
            Self::Query(q) => {
                buf[field::TYPE] = Message::Query.into();
                buf[field::MAX_RESP_CODE] = q.max_resp_code;
                buf[field::GROUP].copy_from_slice(&q.group.octets());
                if q.version == 3 {
                    buf[field::RESV_S_QRV] = u8::from(q.suppress) << 3 | (q.qrv & 0x07);
                    buf[field::QQIC] = q.qqic;
                    let n = q.sources.len() / 4;
                    let count = u16::try_from(n).unwrap_or(u16::MAX);
                    buf[field::NUM_SOURCES].copy_from_slice(&count.to_be_bytes());
                    if let (Some(out), Some(src)) = (
                        buf.get_mut(field::SOURCES..field::SOURCES + n * 4),
                        q.sources.get(..n * 4),
                    ) {
                        out.copy_from_slice(src);
                    }
                }
            }
            Self::Report(records) => {
                buf[field::TYPE] = Message::ReportV3.into();
                buf[field::NUM_RECORDS].copy_from_slice(&records.count().to_be_bytes());
                if let Some(out) = buf.get_mut(field::RECORDS..field::RECORDS + records.len()) {
                    out.copy_from_slice(records.as_bytes());
                }
            }
            Self::LegacyReport { version, group } => {
                buf[field::TYPE] = if *version == 1 {
                    Message::ReportV1
                } else {
                    Message::ReportV2
                }
                .into();
                buf[field::GROUP].copy_from_slice(&group.octets());
            }
            Self::Leave { group } => {
                buf[field::TYPE] = Message::LeaveV2.into();
                buf[field::GROUP].copy_from_slice(&group.octets());
            }
        }
        packet.fill_checksum();
    }
}

#[cfg(test)]
mod tests;
