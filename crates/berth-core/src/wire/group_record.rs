//! Group records: the body of an IGMPv3 Membership Report (RFC 3376 section
//! 4.2.4) and, with 16-byte addresses, of an MLDv2 Report's Multicast
//! Address Records (RFC 3810 section 5.2.4). Both are the same format:
//!
//! ```text
//! Record Type (1) | Aux Data Len (1) | Number of Sources (2)
//! Multicast Address (4 or 16)
//! Source Address [i] (4 or 16 each)
//! Auxiliary Data (Aux Data Len 32-bit words)
//! ```
//!
//! [`Records`] is a checked view of a Report's records (its walk proves
//! every record fits), [`Record`] one record, [`RecordsBuf`] the records a
//! Report is built from. Auxiliary data is skipped when read and never
//! written: RFC 3376 and RFC 3810 define none.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::{Error, Result};

mod field {
    use core::ops::Range;

    pub(super) const RECORD_TYPE: usize = 0;
    pub(super) const AUX_DATA_LEN: usize = 1;
    pub(super) const NUM_SOURCES: Range<usize> = 2..4;
    pub(super) const GROUP: usize = 4;
}

/// The fixed part of a record, before its multicast address.
const FIXED_LEN: usize = field::GROUP;

mod sealed {
    pub trait Sealed {}
    impl Sealed for std::net::Ipv4Addr {}
    impl Sealed for std::net::Ipv6Addr {}
}

/// An address a group record carries: [`Ipv4Addr`] in IGMPv3,
/// [`Ipv6Addr`] in MLDv2.
pub trait GroupAddr: Copy + PartialEq + core::fmt::Debug + sealed::Sealed + 'static {
    /// Its length on the wire.
    const LEN: usize;

    /// Reads it from exactly `LEN` bytes (a shorter slice reads as zeroes).
    fn read(bytes: &[u8]) -> Self;

    /// Its bytes.
    fn to_bytes(self) -> Vec<u8>;
}

impl GroupAddr for Ipv4Addr {
    const LEN: usize = 4;

    fn read(bytes: &[u8]) -> Self {
        let mut b = [0u8; 4];
        if let Some(src) = bytes.get(..4) {
            b.copy_from_slice(src);
        }
        Self::from(b)
    }

    fn to_bytes(self) -> Vec<u8> {
        self.octets().to_vec()
    }
}

impl GroupAddr for Ipv6Addr {
    const LEN: usize = 16;

    fn read(bytes: &[u8]) -> Self {
        let mut b = [0u8; 16];
        if let Some(src) = bytes.get(..16) {
            b.copy_from_slice(src);
        }
        Self::from(b)
    }

    fn to_bytes(self) -> Vec<u8> {
        self.octets().to_vec()
    }
}

/// The Record Type (RFC 3376 section 4.2.12, RFC 3810 section 5.2.12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordType {
    /// MODE_IS_INCLUDE (1): a Current-State Record.
    ModeIsInclude,
    /// MODE_IS_EXCLUDE (2): a Current-State Record.
    ModeIsExclude,
    /// CHANGE_TO_INCLUDE_MODE (3): a Filter-Mode-Change Record.
    ChangeToInclude,
    /// CHANGE_TO_EXCLUDE_MODE (4): a Filter-Mode-Change Record.
    ChangeToExclude,
    /// ALLOW_NEW_SOURCES (5): a Source-List-Change Record.
    AllowNewSources,
    /// BLOCK_OLD_SOURCES (6): a Source-List-Change Record.
    BlockOldSources,
    /// A type these RFCs do not define (receivers ignore the record).
    Unknown(u8),
}

impl From<u8> for RecordType {
    fn from(value: u8) -> Self {
        match value {
            1 => Self::ModeIsInclude,
            2 => Self::ModeIsExclude,
            3 => Self::ChangeToInclude,
            4 => Self::ChangeToExclude,
            5 => Self::AllowNewSources,
            6 => Self::BlockOldSources,
            other => Self::Unknown(other),
        }
    }
}

impl From<RecordType> for u8 {
    fn from(value: RecordType) -> Self {
        match value {
            RecordType::ModeIsInclude => 1,
            RecordType::ModeIsExclude => 2,
            RecordType::ChangeToInclude => 3,
            RecordType::ChangeToExclude => 4,
            RecordType::AllowNewSources => 5,
            RecordType::BlockOldSources => 6,
            RecordType::Unknown(other) => other,
        }
    }
}

impl core::fmt::Display for RecordType {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::ModeIsInclude => f.write_str("is_in"),
            Self::ModeIsExclude => f.write_str("is_ex"),
            Self::ChangeToInclude => f.write_str("to_in"),
            Self::ChangeToExclude => f.write_str("to_ex"),
            Self::AllowNewSources => f.write_str("allow"),
            Self::BlockOldSources => f.write_str("block"),
            Self::Unknown(n) => write!(f, "record-type-{n}"),
        }
    }
}

/// One group record: its type, multicast address and sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a, A: GroupAddr> {
    /// The Record Type.
    pub kind: RecordType,
    /// The Multicast Address.
    pub group: A,
    /// The Source Addresses, `A::LEN` bytes each (a multiple of it).
    pub sources: &'a [u8],
}

impl<'a, A: GroupAddr> Record<'a, A> {
    /// A record without sources: what an any-source member reports.
    pub const fn new(kind: RecordType, group: A) -> Self {
        Self {
            kind,
            group,
            sources: &[],
        }
    }

    /// The source addresses.
    pub fn sources(&self) -> impl Iterator<Item = A> + 'a {
        self.sources.chunks_exact(A::LEN).map(A::read)
    }

    /// How many sources it lists.
    pub fn num_sources(&self) -> usize {
        self.sources.len() / A::LEN
    }

    /// Its length on the wire (no auxiliary data).
    pub fn buffer_len(&self) -> usize {
        FIXED_LEN + A::LEN + self.num_sources() * A::LEN
    }

    /// Writes it into the front of `buf`, which holds at least
    /// [`Record::buffer_len`] bytes; fewer are left unwritten.
    fn emit(&self, buf: &mut [u8]) {
        let n = u16::try_from(self.num_sources()).unwrap_or(u16::MAX);
        let mut bytes = vec![u8::from(self.kind), 0];
        bytes.extend_from_slice(&n.to_be_bytes());
        bytes.extend_from_slice(&self.group.to_bytes());
        bytes.extend_from_slice(
            self.sources
                .get(..self.num_sources() * A::LEN)
                .unwrap_or(&[]),
        );
        if let Some(out) = buf.get_mut(..bytes.len()) {
            out.copy_from_slice(&bytes);
        }
    }
}

/// The records of a Report: bytes whose walk was checked, and how many
/// records they hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Records<'a, A: GroupAddr> {
    bytes: &'a [u8],
    count: u16,
    _addr: core::marker::PhantomData<A>,
}

impl<'a, A: GroupAddr> Records<'a, A> {
    /// Checks that `count` records lie in `bytes` and returns them; bytes
    /// after the last record are not part of them (RFC 3376 section
    /// 4.2.11: a receiver ignores them).
    pub fn parse(bytes: &'a [u8], count: u16) -> Result<Self> {
        let mut at = 0usize;
        for _ in 0..count {
            let fixed = bytes.get(at..at + FIXED_LEN).ok_or(Error::Truncated)?;
            let sources = usize::from(u16::from_be_bytes([
                fixed[field::NUM_SOURCES.start],
                fixed[field::NUM_SOURCES.start + 1],
            ]));
            let aux = usize::from(fixed[field::AUX_DATA_LEN]) * 4;
            at += FIXED_LEN + A::LEN + sources * A::LEN + aux;
            if at > bytes.len() {
                return Err(Error::Truncated);
            }
        }
        Ok(Self {
            bytes: &bytes[..at],
            count,
            _addr: core::marker::PhantomData,
        })
    }

    /// How many records.
    pub const fn count(&self) -> u16 {
        self.count
    }

    /// Their length on the wire.
    pub const fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether there are none.
    pub const fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Their bytes.
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The records in order.
    pub fn iter(&self) -> RecordIter<'a, A> {
        RecordIter {
            bytes: self.bytes,
            left: self.count,
            _addr: core::marker::PhantomData,
        }
    }
}

/// The records of a [`Records`], in order.
#[derive(Debug, Clone)]
pub struct RecordIter<'a, A: GroupAddr> {
    bytes: &'a [u8],
    left: u16,
    _addr: core::marker::PhantomData<A>,
}

impl<'a, A: GroupAddr> Iterator for RecordIter<'a, A> {
    type Item = Record<'a, A>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        // The walk in `Records::parse` proved every record fits.
        let fixed = self.bytes.get(..FIXED_LEN)?;
        let kind = RecordType::from(fixed[field::RECORD_TYPE]);
        let sources = usize::from(u16::from_be_bytes([
            fixed[field::NUM_SOURCES.start],
            fixed[field::NUM_SOURCES.start + 1],
        ]));
        let aux = usize::from(fixed[field::AUX_DATA_LEN]) * 4;
        let group = A::read(self.bytes.get(FIXED_LEN..FIXED_LEN + A::LEN)?);
        let start = FIXED_LEN + A::LEN;
        let end = start + sources * A::LEN;
        let record = Record {
            kind,
            group,
            sources: self.bytes.get(start..end)?,
        };
        self.bytes = self.bytes.get(end + aux..)?;
        self.left -= 1;
        Some(record)
    }
}

/// Records being gathered for a Report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordsBuf<A: GroupAddr> {
    bytes: Vec<u8>,
    count: u16,
    _addr: core::marker::PhantomData<A>,
}

impl<A: GroupAddr> Default for RecordsBuf<A> {
    fn default() -> Self {
        Self::new()
    }
}

impl<A: GroupAddr> RecordsBuf<A> {
    /// No records yet.
    pub const fn new() -> Self {
        Self {
            bytes: Vec::new(),
            count: 0,
            _addr: core::marker::PhantomData,
        }
    }

    /// Appends `record`.
    pub fn push(&mut self, record: &Record<'_, A>) {
        let start = self.bytes.len();
        self.bytes.resize(start + record.buffer_len(), 0);
        if let Some(out) = self.bytes.get_mut(start..) {
            record.emit(out);
        }
        self.count = self.count.saturating_add(1);
    }

    /// Their length on the wire.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether none were pushed.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The records, to put in a Report.
    pub fn as_records(&self) -> Records<'_, A> {
        Records {
            bytes: &self.bytes,
            count: self.count,
            _addr: core::marker::PhantomData,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walk_reads_what_push_wrote() {
        let sources = [198u8, 18, 0, 9, 198, 18, 0, 10];
        let mut buf = RecordsBuf::<Ipv4Addr>::new();
        buf.push(&Record::new(
            RecordType::ChangeToExclude,
            Ipv4Addr::new(239, 1, 2, 3),
        ));
        buf.push(&Record {
            kind: RecordType::AllowNewSources,
            group: Ipv4Addr::new(239, 1, 2, 4),
            sources: &sources,
        });
        assert_eq!(buf.len(), 8 + 16);
        let bytes = buf.as_records().as_bytes().to_vec();
        assert_eq!(
            bytes[..8],
            [4, 0, 0, 0, 239, 1, 2, 3],
            "type, aux len, no sources, group"
        );
        let records = Records::<Ipv4Addr>::parse(&bytes, 2).unwrap();
        let all: Vec<_> = records.iter().collect();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].kind, RecordType::ChangeToExclude);
        assert_eq!(all[0].group, Ipv4Addr::new(239, 1, 2, 3));
        assert_eq!(all[0].num_sources(), 0);
        assert_eq!(
            all[1].sources().collect::<Vec<_>>(),
            [Ipv4Addr::new(198, 18, 0, 9), Ipv4Addr::new(198, 18, 0, 10)]
        );
    }

    #[test]
    fn aux_data_is_skipped_and_overruns_refused() {
        // One MLDv2 record with one 32-bit word of auxiliary data.
        let mut bytes = vec![2, 1, 0, 0];
        bytes.extend_from_slice(&"ff15::1:2:3".parse::<Ipv6Addr>().unwrap().octets());
        bytes.extend_from_slice(&[0xaa; 4]);
        let records = Records::<Ipv6Addr>::parse(&bytes, 1).unwrap();
        let r = records.iter().next().unwrap();
        assert_eq!(r.kind, RecordType::ModeIsExclude);
        assert_eq!(r.group, "ff15::1:2:3".parse::<Ipv6Addr>().unwrap());
        // A record count or a source count that runs past the end.
        assert_eq!(Records::<Ipv6Addr>::parse(&bytes, 2), Err(Error::Truncated));
        bytes[3] = 1;
        assert_eq!(Records::<Ipv6Addr>::parse(&bytes, 1), Err(Error::Truncated));
        for len in 0..bytes.len() {
            assert!(Records::<Ipv6Addr>::parse(&bytes[..len], 1).is_err());
        }
    }

    #[test]
    fn record_types_round_trip() {
        for n in 0..=255u8 {
            assert_eq!(u8::from(RecordType::from(n)), n);
        }
    }
}
