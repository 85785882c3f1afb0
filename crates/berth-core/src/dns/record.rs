//! Questions and resource records (RFC 1035 sections 4.1.2 and 4.1.3).

use core::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::{Error, Name, Reader, Result};

/// A TYPE (or QTYPE) value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordType(pub u16);

impl RecordType {
    /// A host address (IPv4).
    pub const A: Self = Self(1);
    /// An authoritative name server.
    pub const NS: Self = Self(2);
    /// The canonical name for an alias.
    pub const CNAME: Self = Self(5);
    /// The start of a zone of authority.
    pub const SOA: Self = Self(6);
    /// A domain name pointer.
    pub const PTR: Self = Self(12);
    /// Mail exchange.
    pub const MX: Self = Self(15);
    /// Text strings.
    pub const TXT: Self = Self(16);
    /// A host address (IPv6, RFC 3596).
    pub const AAAA: Self = Self(28);
    /// Service location (RFC 2782).
    pub const SRV: Self = Self(33);
    /// The EDNS pseudo-record (RFC 6891).
    pub const OPT: Self = Self(41);
    /// Service binding (RFC 9460).
    pub const SVCB: Self = Self(64);
    /// Service binding for HTTPS (RFC 9460).
    pub const HTTPS: Self = Self(65);
    /// QTYPE only: every record.
    pub const ANY: Self = Self(255);
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match *self {
            Self::A => "A",
            Self::NS => "NS",
            Self::CNAME => "CNAME",
            Self::SOA => "SOA",
            Self::PTR => "PTR",
            Self::MX => "MX",
            Self::TXT => "TXT",
            Self::AAAA => "AAAA",
            Self::SRV => "SRV",
            Self::OPT => "OPT",
            Self::SVCB => "SVCB",
            Self::HTTPS => "HTTPS",
            Self::ANY => "ANY",
            // RFC 3597 section 5.
            Self(other) => return write!(f, "TYPE{other}"),
        };
        f.write_str(name)
    }
}

/// A CLASS (or QCLASS) value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Class(pub u16);

impl Class {
    /// The Internet.
    pub const IN: Self = Self(1);
    /// Chaos.
    pub const CH: Self = Self(3);
    /// Hesiod.
    pub const HS: Self = Self(4);
    /// QCLASS only: every class.
    pub const ANY: Self = Self(255);
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::IN => f.write_str("IN"),
            Self::CH => f.write_str("CH"),
            Self::HS => f.write_str("HS"),
            Self::ANY => f.write_str("ANY"),
            Self(other) => write!(f, "CLASS{other}"),
        }
    }
}

/// An entry of the question section.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Question {
    /// QNAME.
    pub name: Name,
    /// QTYPE.
    pub qtype: RecordType,
    /// QCLASS.
    pub qclass: Class,
}

impl Question {
    pub(crate) fn parse(r: &mut Reader<'_>) -> Result<Self> {
        Ok(Self {
            name: r.name()?,
            qtype: RecordType(r.u16()?),
            qclass: Class(r.u16()?),
        })
    }
}

/// The RDATA of a record: decoded for the types this module knows, the
/// octets as they are for the others.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RecordData {
    /// An A record (class IN): an IPv4 address.
    A(Ipv4Addr),
    /// An AAAA record (class IN): an IPv6 address.
    Aaaa(Ipv6Addr),
    /// A CNAME record: the canonical name.
    Cname(Name),
    /// Any other record: its type and its RDATA, not decoded. Compressed
    /// names inside point into the message the record was parsed from.
    /// (Built with the type CNAME, or A or AAAA in class IN, it is emitted
    /// as given and parses back as the decoded variant, or fails to.)
    Other {
        /// The TYPE.
        rtype: RecordType,
        /// The RDATA.
        data: Vec<u8>,
    },
}

impl RecordData {
    /// The TYPE of a record holding this data.
    pub fn rtype(&self) -> RecordType {
        match self {
            Self::A(_) => RecordType::A,
            Self::Aaaa(_) => RecordType::AAAA,
            Self::Cname(_) => RecordType::CNAME,
            Self::Other { rtype, .. } => *rtype,
        }
    }
}

/// A resource record.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Record {
    /// The owner name.
    pub name: Name,
    /// The CLASS.
    pub class: Class,
    /// The TTL in seconds, as received. RFC 2181 section 8 asks that a value
    /// with the top bit set be taken as zero; that is up to the user (the
    /// field is not a TTL in every record: EDNS's OPT keeps flags there).
    pub ttl: u32,
    /// The RDATA, and with it the TYPE.
    pub data: RecordData,
}

impl Record {
    /// A record of class IN.
    pub fn new(name: Name, ttl: u32, data: RecordData) -> Self {
        Self {
            name,
            class: Class::IN,
            ttl,
            data,
        }
    }

    /// The TYPE.
    pub fn rtype(&self) -> RecordType {
        self.data.rtype()
    }

    pub(crate) fn parse(r: &mut Reader<'_>) -> Result<Self> {
        let name = r.name()?;
        let rtype = RecordType(r.u16()?);
        let class = Class(r.u16()?);
        let ttl = r.u32()?;
        let len = usize::from(r.u16()?);
        let start = r.pos();
        let rdata = r.bytes(len)?;
        let data = match rtype {
            //= https://www.rfc-editor.org/rfc/rfc1035#section-3.4.1
            //# ADDRESS         A 32 bit Internet address.
            RecordType::A if class == Class::IN => RecordData::A(Ipv4Addr::from(
                <[u8; 4]>::try_from(rdata).map_err(|_| Error::BadRdata)?,
            )),
            //= https://www.rfc-editor.org/rfc/rfc3596#section-2.2
            //# A 128 bit IPv6 address is encoded in the data portion of an AAAA
            //# resource record in network byte order (high-order byte first).
            RecordType::AAAA if class == Class::IN => RecordData::Aaaa(Ipv6Addr::from(
                <[u8; 16]>::try_from(rdata).map_err(|_| Error::BadRdata)?,
            )),
            //= https://www.rfc-editor.org/rfc/rfc1035#section-3.3.1
            //# CNAME           A <domain-name> which specifies the canonical or primary
            //# name for the owner.  The owner name is an alias.
            RecordType::CNAME => {
                //= https://www.rfc-editor.org/rfc/rfc1035#section-4.1.4
                //# If a domain name is contained in a part of the message subject to a
                //# length field (such as the RDATA section of an RR), and compression
                //# is used, the length of the compressed name is used in the length
                //# calculation, rather than the length of the expanded name.
                let (target, end) = Name::read(r.message(), start)?;
                if end != r.pos() {
                    return Err(Error::BadRdata);
                }
                RecordData::Cname(target)
            }
            _ => RecordData::Other {
                rtype,
                data: rdata.to_vec(),
            },
        };
        Ok(Self {
            name,
            class,
            ttl,
            data,
        })
    }
}
