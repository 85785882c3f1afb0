//! TCP options (RFC 9293 section 3.1 and 3.2): End of Option List,
//! No-Operation, Maximum Segment Size, Window Scale and Timestamps (RFC 7323
//! section 2.2 and 3.2), SACK-Permitted and SACK (RFC 2018), and any other
//! kind kept as raw bytes.
//!
//! [`TcpOption::parse`] reads one option from the front of a slice and
//! [`Iter`] walks the options area of a header. Both reject what RFC 9293
//! calls an illegal option length (below two, running past the header, or
//! not the fixed length of a kind we know) as [`Error::Malformed`]; the
//! segment carrying it is dropped. Values are kept raw: a Window Scale shift
//! above 14 or an MSS of zero is the TCP layer's business, not the parser's.
//!
//! `Display` prints tcpdump's spelling (`mss 1460`, `sackOK`,
//! `TS val 1 ecr 0`, `nop`, `wscale 7`, `sack 2 {a:b}{c:d}`, `eol`), which
//! the one-line packet printer joins with commas.

use core::fmt;

use super::{Error, Result};

/// Option kinds (IANA "TCP Option Kind Numbers").
mod kind {
    pub(super) const END_OF_LIST: u8 = 0;
    pub(super) const NO_OPERATION: u8 = 1;
    pub(super) const MAX_SEG_SIZE: u8 = 2;
    pub(super) const WINDOW_SCALE: u8 = 3;
    pub(super) const SACK_PERMITTED: u8 = 4;
    pub(super) const SACK_RANGE: u8 = 5;
    pub(super) const TIMESTAMP: u8 = 8;
    /// TCP Fast Open Cookie (RFC 7413).
    pub(super) const FAST_OPEN: u8 = 34;
    /// RFC 4727 experiment 2, shared through an RFC 6994 ExID.
    pub(super) const EXPERIMENT: u8 = 254;
}

/// The fixed lengths of the kinds we know, kind and length octets included.
mod len {
    /// RFC 9293 section 3.2: "Length == 4."
    pub(super) const MAX_SEG_SIZE: usize = 4;
    /// RFC 7323 section 2.2: "Length: 3 bytes".
    pub(super) const WINDOW_SCALE: usize = 3;
    /// RFC 2018 section 2: "Length=2".
    pub(super) const SACK_PERMITTED: usize = 2;
    /// RFC 7323 section 3.2: "Length: 10 bytes".
    pub(super) const TIMESTAMP: usize = 10;
    /// RFC 2018 section 3: a SACK option "that specifies n blocks will have a
    /// length of 8*n+2 bytes".
    pub(super) const SACK_BASE: usize = 2;
    /// The bytes of one SACK block: left and right edge.
    pub(super) const SACK_BLOCK: usize = 8;
}

/// The most SACK blocks one option carries: RFC 2018 section 3, "the 40
/// bytes available for TCP options can specify a maximum of 4 blocks".
pub const MAX_SACK_BLOCKS: usize = 4;

/// One TCP option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TcpOption<'a> {
    /// End of Option List (kind 0): the options stop here, the rest of the
    /// header is padding.
    EndOfList,
    /// No-Operation (kind 1): one byte, used to align the next option.
    NoOperation,
    /// Maximum Segment Size (kind 2, RFC 9293 section 3.2).
    MaxSegmentSize(u16),
    /// Window Scale (kind 3, RFC 7323 section 2.2): the raw shift count, which
    /// may exceed 14 (the TCP layer clamps it).
    WindowScale(u8),
    /// SACK-Permitted (kind 4, RFC 2018 section 2).
    SackPermitted,
    /// SACK (kind 5, RFC 2018 section 3): up to four `(left, right)` edges,
    /// the present ones first. An option with no block is not valid.
    SackRange([Option<(u32, u32)>; MAX_SACK_BLOCKS]),
    /// Timestamps (kind 8, RFC 7323 section 3.2).
    Timestamp {
        /// TS Value.
        tsval: u32,
        /// TS Echo Reply.
        tsecr: u32,
    },
    /// Any other kind, with the bytes after its length octet. To fit a TCP
    /// header, `data` is at most 38 bytes, and `kind` is not 0 or 1.
    Unknown {
        /// The option kind.
        kind: u8,
        /// The option data.
        data: &'a [u8],
    },
}

impl<'a> TcpOption<'a> {
    /// Parses the option at the front of `buffer` (the rest of the options
    /// area) and returns it with the bytes after it.
    ///
    /// Fails with [`Error::Malformed`] on an illegal length: a length octet
    /// missing or below 2, a length running past `buffer`, or a length other
    /// than the fixed one of a kind we know. An empty `buffer` is
    /// [`Error::Truncated`].
    #[inline]
    pub fn parse(buffer: &'a [u8]) -> Result<(Self, &'a [u8])> {
        let (&kind, after_kind) = buffer.split_first().ok_or(Error::Truncated)?;
        match kind {
            kind::END_OF_LIST => return Ok((Self::EndOfList, after_kind)),
            kind::NO_OPERATION => return Ok((Self::NoOperation, after_kind)),
            _ => {}
        }
        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.1
        //# The option-length counts the two octets of option-kind and
        //# option-length as well as the option-data octets.
        //
        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.1
        //# TCP implementations MUST be prepared to handle an illegal option
        //# length (e.g., zero); a suggested procedure is to reset the
        //# connection and log the error cause (MUST-7).
        let length = usize::from(*after_kind.first().ok_or(Error::Malformed)?);
        if length < 2 {
            return Err(Error::Malformed);
        }
        let (option, rest) = buffer.split_at_checked(length).ok_or(Error::Malformed)?;
        let data = option.get(2..).ok_or(Error::Malformed)?;
        // A kind we know with any other length than its own is malformed.
        let parsed = match (kind, data) {
            (kind::MAX_SEG_SIZE, &[hi, lo]) => Self::MaxSegmentSize(u16::from_be_bytes([hi, lo])),
            (kind::WINDOW_SCALE, &[shift]) => Self::WindowScale(shift),
            (kind::SACK_PERMITTED, &[]) => Self::SackPermitted,
            (kind::TIMESTAMP, &[v0, v1, v2, v3, e0, e1, e2, e3]) => Self::Timestamp {
                tsval: u32::from_be_bytes([v0, v1, v2, v3]),
                tsecr: u32::from_be_bytes([e0, e1, e2, e3]),
            },
            (
                kind::MAX_SEG_SIZE | kind::WINDOW_SCALE | kind::SACK_PERMITTED | kind::TIMESTAMP,
                _,
            ) => {
                return Err(Error::Malformed);
            }
            (kind::SACK_RANGE, _) => {
                //= https://www.rfc-editor.org/rfc/rfc2018#section-3
                //# A SACK option that specifies n blocks will have a length of 8*n+2
                //# bytes, so the 40 bytes available for TCP options can specify a
                //# maximum of 4 blocks.
                let blocks = data.chunks_exact(len::SACK_BLOCK);
                if !blocks.remainder().is_empty() || !(1..=MAX_SACK_BLOCKS).contains(&blocks.len())
                {
                    return Err(Error::Malformed);
                }
                let mut ranges = [None; MAX_SACK_BLOCKS];
                for (range, block) in ranges.iter_mut().zip(blocks) {
                    if let &[l0, l1, l2, l3, r0, r1, r2, r3] = block {
                        *range = Some((
                            u32::from_be_bytes([l0, l1, l2, l3]),
                            u32::from_be_bytes([r0, r1, r2, r3]),
                        ));
                    }
                }
                Self::SackRange(ranges)
            }
            //= https://www.rfc-editor.org/rfc/rfc9293#section-3.1
            //# A TCP implementation MUST (MUST-6) ignore without error any TCP
            //# Option it does not implement, assuming that the option has a
            //# length field.
            (kind, data) => Self::Unknown { kind, data },
        };
        Ok((parsed, rest))
    }

    /// The option kind.
    pub const fn kind(&self) -> u8 {
        match self {
            Self::EndOfList => kind::END_OF_LIST,
            Self::NoOperation => kind::NO_OPERATION,
            Self::MaxSegmentSize(_) => kind::MAX_SEG_SIZE,
            Self::WindowScale(_) => kind::WINDOW_SCALE,
            Self::SackPermitted => kind::SACK_PERMITTED,
            Self::SackRange(_) => kind::SACK_RANGE,
            Self::Timestamp { .. } => kind::TIMESTAMP,
            Self::Unknown { kind, .. } => *kind,
        }
    }

    /// The number of bytes [`TcpOption::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        match self {
            Self::EndOfList | Self::NoOperation => 1,
            Self::MaxSegmentSize(_) => len::MAX_SEG_SIZE,
            Self::WindowScale(_) => len::WINDOW_SCALE,
            Self::SackPermitted => len::SACK_PERMITTED,
            Self::SackRange(ranges) => {
                len::SACK_BASE + len::SACK_BLOCK * ranges.iter().flatten().count()
            }
            Self::Timestamp { .. } => len::TIMESTAMP,
            Self::Unknown { data, .. } => 2 + data.len(),
        }
    }

    /// Writes the option at the front of `buffer` and returns the bytes after
    /// it. A SACK option writes its present blocks, in order.
    ///
    /// # Panics
    ///
    /// If `buffer` is shorter than [`TcpOption::buffer_len`]: the caller
    /// sized the header.
    pub fn emit<'b>(&self, buffer: &'b mut [u8]) -> &'b mut [u8] {
        let length = self.buffer_len();
        let (option, rest) = buffer.split_at_mut(length);
        option[0] = self.kind();
        if length > 1 {
            // An unknown option's data is at most 38 bytes in any header; a
            // longer one saturates, which no parser accepts.
            option[1] = u8::try_from(length).unwrap_or(u8::MAX);
        }
        match self {
            Self::EndOfList | Self::NoOperation | Self::SackPermitted => {}
            Self::MaxSegmentSize(mss) => option[2..4].copy_from_slice(&mss.to_be_bytes()),
            Self::WindowScale(shift) => option[2] = *shift,
            Self::SackRange(ranges) => {
                let blocks = option[2..].chunks_exact_mut(len::SACK_BLOCK);
                for (block, (left, right)) in blocks.zip(ranges.iter().flatten()) {
                    block[..4].copy_from_slice(&left.to_be_bytes());
                    block[4..].copy_from_slice(&right.to_be_bytes());
                }
            }
            Self::Timestamp { tsval, tsecr } => {
                option[2..6].copy_from_slice(&tsval.to_be_bytes());
                option[6..10].copy_from_slice(&tsecr.to_be_bytes());
            }
            Self::Unknown { data, .. } => option[2..].copy_from_slice(data),
        }
        rest
    }
}

impl fmt::Display for TcpOption<'_> {
    /// tcpdump's spelling. SACK edges are printed as they are on the wire
    /// (tcpdump makes them relative unless given `-S`). Of the kinds this
    /// module does not parse, TCP Fast Open (34, and 254 with the RFC 7413
    /// ExID) prints as tcpdump decodes it (`tfo  cookiereq`,
    /// `exp-tfo cookie 0102..`), another experiment as `exp-<ExID>`, and
    /// everything else as `unknown-<kind> 0x<data>`. tcpdump names a few more
    /// (MD5 19, UTO 28, TCP-AO 29, MPTCP 30, the obsolete RFC 1072 and RFC
    /// 1644 kinds) and decodes their data; berth prints those as unknown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EndOfList => f.write_str("eol"),
            Self::NoOperation => f.write_str("nop"),
            Self::MaxSegmentSize(mss) => write!(f, "mss {mss}"),
            Self::WindowScale(shift) => write!(f, "wscale {shift}"),
            Self::SackPermitted => f.write_str("sackOK"),
            Self::SackRange(ranges) => {
                write!(f, "sack {}", ranges.iter().flatten().count())?;
                if ranges.iter().flatten().next().is_some() {
                    f.write_str(" ")?;
                }
                for (left, right) in ranges.iter().flatten() {
                    write!(f, "{{{left}:{right}}}")?;
                }
                Ok(())
            }
            Self::Timestamp { tsval, tsecr } => write!(f, "TS val {tsval} ecr {tsecr}"),
            Self::Unknown {
                kind: kind::FAST_OPEN,
                data,
            } => {
                // tcpdump prints a space after the name and another before
                // the cookie.
                f.write_str("tfo ")?;
                fmt_fast_open_cookie(f, data)
            }
            Self::Unknown {
                kind: kind::EXPERIMENT,
                data,
            } => match data {
                // RFC 6994: the first two data bytes are the Experiment
                // ID; 0xf989 is TCP Fast Open's (RFC 7413 section 4.1.1).
                [0xf9, 0x89, cookie @ ..] => {
                    f.write_str("exp-tfo")?;
                    fmt_fast_open_cookie(f, cookie)
                }
                [hi, lo, ..] => write!(f, "exp-{:04x}", u16::from_be_bytes([*hi, *lo])),
                _ => f.write_str("exp[bad opt]"),
            },
            Self::Unknown { kind, data } => {
                write!(f, "unknown-{kind}")?;
                if !data.is_empty() {
                    f.write_str(" 0x")?;
                    for byte in *data {
                        write!(f, "{byte:02x}")?;
                    }
                }
                Ok(())
            }
        }
    }
}

/// A TCP Fast Open cookie (RFC 7413 section 4.1.1) as tcpdump prints it:
/// ` cookiereq` for an empty one, ` cookie <hex>` for 4 to 16 bytes in
/// pairs, ` (invalid)` otherwise.
fn fmt_fast_open_cookie(f: &mut fmt::Formatter<'_>, cookie: &[u8]) -> fmt::Result {
    if cookie.is_empty() {
        return f.write_str(" cookiereq");
    }
    if !cookie.len().is_multiple_of(2) || !(4..=16).contains(&cookie.len()) {
        return f.write_str(" (invalid)");
    }
    f.write_str(" cookie ")?;
    for byte in cookie {
        write!(f, "{byte:02x}")?;
    }
    Ok(())
}

/// An iterator over the options area of a TCP header.
///
/// It yields each option in order, stops after an End of Option List (what
/// follows is padding), and yields one `Err` and then stops at an option with
/// an illegal length.
#[derive(Debug, Clone)]
pub struct Iter<'a> {
    rest: &'a [u8],
}

impl<'a> Iter<'a> {
    /// Iterates over `options`, the bytes between the fixed header and the
    /// data offset.
    pub const fn new(options: &'a [u8]) -> Self {
        Self { rest: options }
    }
}

impl<'a> Iterator for Iter<'a> {
    type Item = Result<TcpOption<'a>>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        match TcpOption::parse(self.rest) {
            Ok((option, rest)) => {
                //= https://www.rfc-editor.org/rfc/rfc9293#section-3.1
                //# Note that the list of options may be shorter than the Data
                //# Offset field might imply.
                self.rest = if option == TcpOption::EndOfList {
                    &[]
                } else {
                    rest
                };
                Some(Ok(option))
            }
            Err(e) => {
                self.rest = &[];
                Some(Err(e))
            }
        }
    }
}

impl core::iter::FusedIterator for Iter<'_> {}

#[cfg(test)]
mod tests;
