//! The header of a message (RFC 1035 section 4.1.1), without its counts.

use core::fmt;

mod flag {
    pub(super) const QR: u16 = 0x8000;
    pub(super) const OPCODE_SHIFT: u16 = 11;
    pub(super) const AA: u16 = 0x0400;
    pub(super) const TC: u16 = 0x0200;
    pub(super) const RD: u16 = 0x0100;
    pub(super) const RA: u16 = 0x0080;
    /// RFC 4035 section 3.2.3.
    pub(super) const AD: u16 = 0x0020;
    /// RFC 4035 section 3.2.2.
    pub(super) const CD: u16 = 0x0010;
    pub(super) const RCODE: u16 = 0x000F;
}

/// The header's ID and flags; the section counts follow from the
/// [`Message`](super::Message)'s sections.
///
/// The Z bit is not represented: it is ignored on parse and written as zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Header {
    /// ID: chosen by the querier, copied into the response.
    pub id: u16,
    /// QR: a response (true) or a query (false).
    pub response: bool,
    /// OPCODE: the kind of query, copied into the response.
    pub opcode: Opcode,
    /// AA: the responding server is an authority for the question's name.
    pub authoritative: bool,
    /// TC: the message was truncated to fit the transport.
    pub truncated: bool,
    /// RD: the querier asks for recursion; copied into the response.
    pub recursion_desired: bool,
    /// RA: the server offers recursion.
    pub recursion_available: bool,
    /// AD: the answer's data was authenticated (RFC 4035).
    pub authentic_data: bool,
    /// CD: the querier does not want the server to check signatures
    /// (RFC 4035).
    pub checking_disabled: bool,
    /// RCODE: the response code.
    pub rcode: Rcode,
}

impl Header {
    /// The header from the ID and flags fields.
    pub(crate) fn from_fields(id: u16, flags: u16) -> Self {
        let bit = |mask: u16| flags & mask != 0;
        Self {
            id,
            response: bit(flag::QR),
            opcode: Opcode((flags >> flag::OPCODE_SHIFT) as u8 & 0x0F),
            authoritative: bit(flag::AA),
            truncated: bit(flag::TC),
            recursion_desired: bit(flag::RD),
            recursion_available: bit(flag::RA),
            authentic_data: bit(flag::AD),
            checking_disabled: bit(flag::CD),
            rcode: Rcode(flags as u8 & 0x0F),
        }
    }

    /// The flags field.
    pub(crate) fn flags(&self) -> u16 {
        let bit = |set: bool, mask: u16| if set { mask } else { 0 };
        //= https://www.rfc-editor.org/rfc/rfc1035#section-4.1.1
        //# Reserved for future use.  Must be zero in all queries
        //# and responses.
        bit(self.response, flag::QR)
            | u16::from(self.opcode.0) << flag::OPCODE_SHIFT
            | bit(self.authoritative, flag::AA)
            | bit(self.truncated, flag::TC)
            | bit(self.recursion_desired, flag::RD)
            | bit(self.recursion_available, flag::RA)
            | bit(self.authentic_data, flag::AD)
            | bit(self.checking_disabled, flag::CD)
            | u16::from(self.rcode.0) & flag::RCODE
    }
}

/// The four-bit OPCODE of a header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Opcode(u8);

impl Opcode {
    /// A standard query.
    pub const QUERY: Self = Self(0);
    /// An inverse query (obsolete, RFC 3425).
    pub const IQUERY: Self = Self(1);
    /// A server status request.
    pub const STATUS: Self = Self(2);
    /// A zone change notification (RFC 1996).
    pub const NOTIFY: Self = Self(4);
    /// A dynamic update (RFC 2136).
    pub const UPDATE: Self = Self(5);

    /// The opcode of this value; `None` above 15.
    pub const fn new(value: u8) -> Option<Self> {
        if value <= 0x0F {
            Some(Self(value))
        } else {
            None
        }
    }

    /// The value, 0 to 15.
    pub const fn value(self) -> u8 {
        self.0
    }
}

/// The four-bit RCODE of a header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Rcode(u8);

impl Rcode {
    /// No error condition.
    pub const NOERROR: Self = Self(0);
    /// Format error: the server was unable to interpret the query.
    pub const FORMERR: Self = Self(1);
    /// Server failure: the server was unable to process the query.
    pub const SERVFAIL: Self = Self(2);
    /// Name error: the name in the query does not exist.
    pub const NXDOMAIN: Self = Self(3);
    /// Not implemented: the server does not support the kind of query.
    pub const NOTIMP: Self = Self(4);
    /// Refused: the server will not answer, for policy reasons.
    pub const REFUSED: Self = Self(5);

    /// The response code of this value; `None` above 15.
    pub const fn new(value: u8) -> Option<Self> {
        if value <= 0x0F {
            Some(Self(value))
        } else {
            None
        }
    }

    /// The value, 0 to 15.
    pub const fn value(self) -> u8 {
        self.0
    }
}

impl fmt::Display for Rcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::NOERROR => f.write_str("NOERROR"),
            Self::FORMERR => f.write_str("FORMERR"),
            Self::SERVFAIL => f.write_str("SERVFAIL"),
            Self::NXDOMAIN => f.write_str("NXDOMAIN"),
            Self::NOTIMP => f.write_str("NOTIMP"),
            Self::REFUSED => f.write_str("REFUSED"),
            Self(other) => write!(f, "RCODE{other}"),
        }
    }
}
