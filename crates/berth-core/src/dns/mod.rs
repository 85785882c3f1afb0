//! DNS messages (RFC 1035): parse, build and emit.
//!
//! [`Message::parse`] reads a whole message: the [`Header`], the
//! [`Question`]s and the [`Record`]s of the answer, authority and additional
//! sections. Every length and count is checked against the bytes there are:
//! parsing returns an [`Error`] and never panics, and what it allocates is
//! bounded by a small multiple of the message's length whatever its counts
//! claim. Compressed names (RFC 1035 section 4.1.4) are followed as long as
//! every pointer points before the part of the name that led to it, which
//! rules out loops.
//!
//! Record data is decoded for A, AAAA (class IN) and CNAME
//! ([`RecordData`]); any other record keeps its data as opaque bytes. Those
//! bytes are what the message held: a compressed name inside them still
//! points into the message it came from, so such a record is only
//! meaningful when re-emitted if its data holds no pointer (the types of
//! RFC 1035 other than CNAME may hold one; RFC 3597 forbids them in the
//! others).
//!
//! Labels are kept as the raw octets they are (RFC 2181 section 11 allows
//! any); [`Name`]s compare and hash ignoring ASCII case (RFC 1035 section
//! 3.1, RFC 4343) and print with the escapes of RFC 4343 section 2.1.
//!
//! [`Message::emit`] writes a message; a name equal octet for octet to one
//! written earlier in the message becomes a pointer to it (in answers to a
//! query, the owner names become the usual `0xC00C`). [`Message::query`]
//! builds a query and [`Message::response`] the response to one, for the
//! caller to add answers to. Over TCP every message has a two-octet length
//! in front ([`Message::emit_tcp`], [`split_tcp_message`]).
//!
//! Not handled: EDNS (an OPT record is an opaque record of the additional
//! section, its extended RCODE bits are not merged), the Z bit of the header
//! (dropped), and DNSSEC beyond the AD and CD bits.

mod header;
mod message;
mod name;
mod record;

pub use header::{Header, Opcode, Rcode};
pub use message::Message;
pub use name::Name;
pub use record::{Class, Question, Record, RecordData, RecordType};

/// Why bytes are not a DNS message, or why a message or a name cannot be
/// built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum Error {
    /// The message ends inside a field, or its counts claim more entries
    /// than it holds.
    #[error("truncated DNS message")]
    Truncated,
    /// A length octet whose two high bits are 01 or 10: neither a label of at
    /// most 63 octets nor a compression pointer.
    #[error("DNS label of unknown type")]
    LabelType,
    /// A compression pointer that does not point before the labels that led
    /// to it.
    #[error("DNS compression pointer that does not point backwards")]
    BadPointer,
    /// A name longer than 255 octets (label octets and length octets).
    #[error("DNS name longer than 255 octets")]
    NameTooLong,
    /// A label longer than 63 octets, in a name given as text.
    #[error("DNS label longer than 63 octets")]
    LabelTooLong,
    /// An empty label inside a name given as text (`a..b`, `.a`).
    #[error("empty DNS label")]
    EmptyLabel,
    /// A backslash not followed by three decimal digits of at most 255 or by
    /// a character, in a name given as text.
    #[error("bad escape in DNS name")]
    BadEscape,
    /// Record data of a length or contents its type does not allow.
    #[error("bad DNS record data")]
    BadRdata,
    /// More than 65535 entries in a section, or record data or a message over
    /// TCP longer than 65535 octets.
    #[error("DNS message too long")]
    TooLong,
}

/// The result of parsing or building DNS messages.
pub type Result<T> = core::result::Result<T, Error>;

/// Splits the first DNS-over-TCP message off the front of `buf`: the message
/// without its length prefix, and the bytes after it. `None` while `buf` does
/// not hold the whole message yet.
pub fn split_tcp_message(buf: &[u8]) -> Option<(&[u8], &[u8])> {
    //= https://www.rfc-editor.org/rfc/rfc1035#section-4.2.2
    //# The message is prefixed with a two byte length field which gives the
    //# message length, excluding the two byte length field.  This length
    //# field allows the low-level processing to assemble a complete message
    //# before beginning to parse it.
    let (prefix, rest) = buf.split_first_chunk::<2>()?;
    let len = usize::from(u16::from_be_bytes(*prefix));
    if rest.len() < len {
        return None;
    }
    Some(rest.split_at(len))
}

/// A cursor over a message being parsed; every read is bounds-checked.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    msg: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) const fn new(msg: &'a [u8]) -> Self {
        Self { msg, pos: 0 }
    }

    /// The whole message (names point into it).
    pub(crate) const fn message(&self) -> &'a [u8] {
        self.msg
    }

    pub(crate) const fn pos(&self) -> usize {
        self.pos
    }

    /// Octets left after the cursor.
    pub(crate) const fn remaining(&self) -> usize {
        self.msg.len().saturating_sub(self.pos)
    }

    pub(crate) fn bytes(&mut self, len: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(len).ok_or(Error::Truncated)?;
        let bytes = self.msg.get(self.pos..end).ok_or(Error::Truncated)?;
        self.pos = end;
        Ok(bytes)
    }

    pub(crate) fn u16(&mut self) -> Result<u16> {
        let b = self.bytes(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    pub(crate) fn u32(&mut self) -> Result<u32> {
        let b = self.bytes(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A name at the cursor, which moves past it (past the first pointer when
    /// the name is compressed).
    pub(crate) fn name(&mut self) -> Result<Name> {
        let (name, end) = Name::read(self.msg, self.pos)?;
        self.pos = end;
        Ok(name)
    }
}

#[cfg(test)]
mod tests;
