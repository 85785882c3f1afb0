//! Domain names: labels of raw octets, compared ignoring ASCII case.

use core::fmt;
use core::hash::{Hash, Hasher};
use core::str::FromStr;

use super::{Error, Result};

/// The longest label (RFC 1035 section 2.3.4).
const MAX_LABEL_LEN: usize = 63;
/// The longest name, length octets and the root's zero octet included.
const MAX_NAME_LEN: usize = 255;

/// A domain name, held as its uncompressed wire form.
///
/// Labels are raw octets: any octet may appear in one (RFC 2181 section 11),
/// and none is changed or rejected. Two names are equal when their labels
/// are equal ignoring ASCII case (RFC 4343); `Hash` agrees with that.
/// [`Display`](fmt::Display) prints the labels separated by dots without the
/// root's trailing dot (the root alone prints as `.`), with the escapes of
/// RFC 4343 section 2.1 for `.`, `\` and every octet outside `!`..`~`;
/// [`FromStr`] reads that form back (a trailing dot is optional).
#[derive(Clone)]
pub struct Name {
    /// Length-prefixed labels and the root's zero octet: at most 255 octets.
    wire: Vec<u8>,
}

impl Name {
    /// The root, `.`.
    pub fn root() -> Self {
        Self { wire: vec![0] }
    }

    /// Whether this is the root.
    pub fn is_root(&self) -> bool {
        self.wire.len() == 1
    }

    /// The labels, first (leftmost) to last, without the root's empty label.
    pub fn labels(&self) -> impl Iterator<Item = &[u8]> + '_ {
        let mut rest = &self.wire[..];
        core::iter::from_fn(move || {
            let (&len, tail) = rest.split_first()?;
            let label = tail.get(..usize::from(len)).filter(|l| !l.is_empty())?;
            rest = &tail[label.len()..];
            Some(label)
        })
    }

    /// The name from its labels (without the root's empty label).
    pub fn from_labels<L: AsRef<[u8]>>(labels: impl IntoIterator<Item = L>) -> Result<Self> {
        let mut wire = Vec::new();
        for label in labels {
            let label = label.as_ref();
            if label.is_empty() {
                return Err(Error::EmptyLabel);
            }
            let len = u8::try_from(label.len())
                .ok()
                .filter(|&len| usize::from(len) <= MAX_LABEL_LEN)
                .ok_or(Error::LabelTooLong)?;
            if wire.len() + label.len() + 2 > MAX_NAME_LEN {
                return Err(Error::NameTooLong);
            }
            wire.push(len);
            wire.extend_from_slice(label);
        }
        wire.push(0);
        Ok(Self { wire })
    }

    /// The uncompressed wire form: length-prefixed labels and a zero octet.
    pub(crate) fn as_wire(&self) -> &[u8] {
        &self.wire
    }

    /// Reads the name starting at `start` in `msg`, following compression
    /// pointers. Returns the name and the offset where what follows it at
    /// `start` begins: past its zero octet, or past its first pointer.
    pub(crate) fn read(msg: &[u8], start: usize) -> Result<(Self, usize)> {
        let mut wire = Vec::new();
        let mut pos = start;
        // Every pointer must point below this: the start of the labels read
        // since the last jump.
        let mut limit = start;
        let mut end = None;
        loop {
            let len = *msg.get(pos).ok_or(Error::Truncated)?;
            match len & 0xC0 {
                //= https://www.rfc-editor.org/rfc/rfc1035#section-3.1
                //# Each label is represented as a one octet length field followed
                //# by that number of octets.  Since every domain name ends with
                //# the null label of the root, a domain name is terminated by a
                //# length byte of zero.
                0x00 => {
                    let len = usize::from(len);
                    //= https://www.rfc-editor.org/rfc/rfc1035#section-3.1
                    //# To simplify implementations, the total length of a domain
                    //# name (i.e., label octets and label length octets) is
                    //# restricted to 255 octets or less.
                    if wire.len() + 1 + len + usize::from(len != 0) > MAX_NAME_LEN {
                        return Err(Error::NameTooLong);
                    }
                    let label = msg.get(pos..pos + 1 + len).ok_or(Error::Truncated)?;
                    wire.extend_from_slice(label);
                    pos += 1 + len;
                    if len == 0 {
                        return Ok((Self { wire }, end.unwrap_or(pos)));
                    }
                }
                //= https://www.rfc-editor.org/rfc/rfc1035#section-4.1.4
                //# In this scheme, an entire domain name or a list of labels at
                //# the end of a domain name is replaced with a pointer to a prior
                //# occurance of the same name.
                0xC0 => {
                    let low = *msg.get(pos + 1).ok_or(Error::Truncated)?;
                    let target = usize::from(u16::from_be_bytes([len & 0x3F, low]));
                    // A prior occurrence lies before the labels that lead to
                    // the pointer; anything else would loop or read ahead.
                    if target >= limit {
                        return Err(Error::BadPointer);
                    }
                    end.get_or_insert(pos + 2);
                    limit = target;
                    pos = target;
                }
                //= https://www.rfc-editor.org/rfc/rfc1035#section-4.1.4
                //# (The 10 and 01 combinations are reserved for future use.)
                _ => return Err(Error::LabelType),
            }
        }
    }
}

impl Default for Name {
    fn default() -> Self {
        Self::root()
    }
}

//= https://www.rfc-editor.org/rfc/rfc1035#section-3.1
//# Name servers and resolvers must
//# compare labels in a case-insensitive manner (i.e., A=a), assuming ASCII
//# with zero parity.
impl PartialEq for Name {
    fn eq(&self, other: &Self) -> bool {
        // Length octets are at most 63, below every ASCII letter, so folding
        // the whole wire form folds only the labels.
        self.wire.eq_ignore_ascii_case(&other.wire)
    }
}

impl Eq for Name {}

impl Hash for Name {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_usize(self.wire.len());
        for b in &self.wire {
            state.write_u8(b.to_ascii_lowercase());
        }
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_root() {
            return f.write_str(".");
        }
        for (i, label) in self.labels().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            for &b in label {
                //= https://www.rfc-editor.org/rfc/rfc4343#section-2.1
                //# In Master Files [STD13] and other human-readable and -writable ASCII
                //# contexts, an escape is needed for the byte value for period (0x2E,
                //# ".") and all octet values outside of the inclusive range from 0x21
                //# ("!") to 0x7E ("~").
                match b {
                    b'.' | b'\\' => write!(f, "\\{}", char::from(b))?,
                    0x21..=0x7E => write!(f, "{}", char::from(b))?,
                    _ => write!(f, "\\{b:03}")?,
                }
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Name({self})")
    }
}

impl FromStr for Name {
    type Err = Error;

    /// Reads a name in the form [`Display`](fmt::Display) prints: labels
    /// separated by dots, an optional trailing dot, `\DDD` (three decimal
    /// digits) and `\c` escapes; `""` and `"."` are the root. Characters
    /// outside ASCII stand for their UTF-8 octets.
    fn from_str(s: &str) -> Result<Self> {
        if s == "." {
            return Ok(Self::root());
        }
        let mut labels: Vec<Vec<u8>> = Vec::new();
        let mut label = Vec::new();
        let mut bytes = s.bytes();
        let mut ended = true;
        while let Some(b) = bytes.next() {
            ended = false;
            match b {
                b'.' => {
                    labels.push(core::mem::take(&mut label));
                    ended = true;
                }
                b'\\' => {
                    let c = bytes.next().ok_or(Error::BadEscape)?;
                    if c.is_ascii_digit() {
                        let d1 = bytes.next().filter(u8::is_ascii_digit);
                        let d2 = bytes.next().filter(u8::is_ascii_digit);
                        let (Some(d1), Some(d2)) = (d1, d2) else {
                            return Err(Error::BadEscape);
                        };
                        let value = [c, d1, d2]
                            .iter()
                            .fold(0u16, |v, d| v * 10 + u16::from(d - b'0'));
                        label.push(u8::try_from(value).map_err(|_| Error::BadEscape)?);
                    } else {
                        label.push(c);
                    }
                }
                _ => label.push(b),
            }
        }
        if !ended {
            labels.push(label);
        }
        Self::from_labels(labels)
    }
}
