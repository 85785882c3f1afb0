//! Neighbor Discovery options (RFC 4861 section 4.6) and the flag fields of
//! the NDP messages.
//!
//! [`NdpOptions`] walks an option area and yields [`NdpOption`]s: Source and
//! Target Link-Layer Address (Ethernet only: RFC 2464 section 6), Prefix
//! Information and MTU, and every other type (Redirected Header included)
//! as [`NdpOption::Unknown`], which receivers skip. An option of length zero,
//! or one running past the message, ends the walk with an error: RFC 4861
//! makes the whole message invalid.

use std::net::Ipv6Addr;

use crate::wire::{Error, Result};

/// Offsets inside an NDP option, from its Type field.
mod field {
    use core::ops::Range;

    pub(super) const TYPE: usize = 0;
    /// In units of 8 octets, Type and Length included.
    pub(super) const LENGTH: usize = 1;
    /// Source/Target Link-Layer Address: an Ethernet address.
    pub(super) const LLADDR: Range<usize> = 2..8;
    /// Prefix Information (section 4.6.2).
    pub(super) const PREFIX_LEN: usize = 2;
    pub(super) const PREFIX_FLAGS: usize = 3;
    pub(super) const VALID_LIFETIME: Range<usize> = 4..8;
    pub(super) const PREFERRED_LIFETIME: Range<usize> = 8..12;
    pub(super) const PREFIX: Range<usize> = 16..32;
    /// MTU (section 4.6.4), after two reserved octets.
    pub(super) const MTU: Range<usize> = 4..8;
}

/// RFC 4861 section 4.6: option types.
const SOURCE_LLADDR: u8 = 1;
const TARGET_LLADDR: u8 = 2;
const PREFIX_INFORMATION: u8 = 3;
const MTU: u8 = 5;

/// RFC 4861 section 4.6: option lengths count 8-octet units.
const UNIT: usize = 8;
/// RFC 4861 section 4.6.2: a Prefix Information option is 32 octets.
const PREFIX_INFORMATION_LEN: usize = 32;

/// RFC 4861 section 4.6.2: the on-link (L) flag.
const FLAG_ON_LINK: u8 = 0x80;
/// RFC 4861 section 4.6.2: the autonomous address-configuration (A) flag.
const FLAG_AUTONOMOUS: u8 = 0x40;

/// One NDP option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NdpOption<'a> {
    /// Source Link-Layer Address (1): the sender's Ethernet address.
    SourceLinkLayerAddr([u8; 6]),
    /// Target Link-Layer Address (2): the target's Ethernet address.
    TargetLinkLayerAddr([u8; 6]),
    /// Prefix Information (3).
    PrefixInformation(PrefixInfo),
    /// MTU (5).
    Mtu(u32),
    /// Any other option, Redirected Header (4) included.
    Unknown {
        /// The Type field.
        kind: u8,
        /// The octets after Type and Length (padding included).
        data: &'a [u8],
    },
}

/// A Prefix Information option (RFC 4861 section 4.6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PrefixInfo {
    /// The number of leading bits of `prefix` that are valid (0 to 128).
    pub prefix_len: u8,
    /// L: the prefix can be used for on-link determination.
    pub on_link: bool,
    /// A: the prefix can be used for stateless address configuration
    /// (RFC 4862).
    pub autonomous: bool,
    /// How long the prefix is valid for on-link determination, in seconds;
    /// all ones is infinity.
    pub valid_lifetime: u32,
    /// How long addresses from the prefix stay preferred, in seconds; all
    /// ones is infinity.
    pub preferred_lifetime: u32,
    /// The prefix; bits past `prefix_len` are sent as the sender set them.
    pub prefix: Ipv6Addr,
}

fn read<const N: usize>(bytes: &[u8], range: core::ops::Range<usize>) -> [u8; N] {
    let mut out = [0; N];
    if let Some(b) = bytes.get(range) {
        out.copy_from_slice(b);
    }
    out
}

impl<'a> NdpOption<'a> {
    /// Parses one whole option, `option` being exactly the octets its Length
    /// covers.
    fn parse(option: &'a [u8]) -> Result<Self> {
        let kind = *option.get(field::TYPE).ok_or(Error::Truncated)?;
        match kind {
            SOURCE_LLADDR | TARGET_LLADDR => {
                //= https://www.rfc-editor.org/rfc/rfc2464#section-6
                //# Length              1 (in units of 8 octets).
                if option.len() != UNIT {
                    return Err(Error::Malformed);
                }
                let addr = read(option, field::LLADDR);
                Ok(if kind == SOURCE_LLADDR {
                    Self::SourceLinkLayerAddr(addr)
                } else {
                    Self::TargetLinkLayerAddr(addr)
                })
            }
            PREFIX_INFORMATION => {
                // A longer option is read for its first 32 octets (Linux
                // does the same); a shorter one cannot be.
                if option.len() < PREFIX_INFORMATION_LEN {
                    return Err(Error::Malformed);
                }
                let prefix_len = option[field::PREFIX_LEN];
                //= https://www.rfc-editor.org/rfc/rfc4861#section-4.6.2
                //# The value ranges
                //# from 0 to 128.
                if prefix_len > 128 {
                    return Err(Error::Malformed);
                }
                let flags = option[field::PREFIX_FLAGS];
                Ok(Self::PrefixInformation(PrefixInfo {
                    prefix_len,
                    on_link: flags & FLAG_ON_LINK != 0,
                    autonomous: flags & FLAG_AUTONOMOUS != 0,
                    valid_lifetime: u32::from_be_bytes(read(option, field::VALID_LIFETIME)),
                    preferred_lifetime: u32::from_be_bytes(read(option, field::PREFERRED_LIFETIME)),
                    prefix: Ipv6Addr::from(read::<16>(option, field::PREFIX)),
                }))
            }
            // Every option is at least 8 octets: the MTU is always there.
            MTU => Ok(Self::Mtu(u32::from_be_bytes(read(option, field::MTU)))),
            _ => Ok(Self::Unknown {
                kind,
                data: option.get(2..).unwrap_or_default(),
            }),
        }
    }

    /// The length `emit` writes: a multiple of 8 octets. An unknown option
    /// is padded to one; data too long for the Length field is the caller's
    /// mistake.
    pub const fn buffer_len(&self) -> usize {
        match self {
            Self::SourceLinkLayerAddr(_) | Self::TargetLinkLayerAddr(_) | Self::Mtu(_) => UNIT,
            Self::PrefixInformation(_) => PREFIX_INFORMATION_LEN,
            Self::Unknown { data, .. } => (2 + data.len()).div_ceil(UNIT) * UNIT,
        }
    }

    /// Writes the option into the first [`NdpOption::buffer_len`] octets of
    /// `buf`, reserved fields and padding zeroed.
    ///
    /// # Panics
    ///
    /// If `buf` is shorter than that: the caller sized it.
    pub fn emit(&self, buf: &mut [u8]) {
        let len = self.buffer_len();
        let buf = &mut buf[..len];
        buf.fill(0);
        buf[field::LENGTH] = u8::try_from(len / UNIT).unwrap_or(u8::MAX);
        match *self {
            Self::SourceLinkLayerAddr(addr) | Self::TargetLinkLayerAddr(addr) => {
                buf[field::TYPE] = if matches!(self, Self::SourceLinkLayerAddr(_)) {
                    SOURCE_LLADDR
                } else {
                    TARGET_LLADDR
                };
                buf[field::LLADDR].copy_from_slice(&addr);
            }
            Self::PrefixInformation(info) => {
                buf[field::TYPE] = PREFIX_INFORMATION;
                buf[field::PREFIX_LEN] = info.prefix_len;
                buf[field::PREFIX_FLAGS] = if info.on_link { FLAG_ON_LINK } else { 0 }
                    | if info.autonomous { FLAG_AUTONOMOUS } else { 0 };
                buf[field::VALID_LIFETIME].copy_from_slice(&info.valid_lifetime.to_be_bytes());
                buf[field::PREFERRED_LIFETIME]
                    .copy_from_slice(&info.preferred_lifetime.to_be_bytes());
                buf[field::PREFIX].copy_from_slice(&info.prefix.octets());
            }
            Self::Mtu(mtu) => {
                buf[field::TYPE] = MTU;
                buf[field::MTU].copy_from_slice(&mtu.to_be_bytes());
            }
            Self::Unknown { kind, data } => {
                buf[field::TYPE] = kind;
                buf[2..2 + data.len()].copy_from_slice(data);
            }
        }
    }
}

/// The options of an NDP message, in order. After an error the walk ends.
#[derive(Debug, Clone)]
pub struct NdpOptions<'a> {
    rest: &'a [u8],
}

impl<'a> NdpOptions<'a> {
    /// Walks the option area `options`.
    pub const fn new(options: &'a [u8]) -> Self {
        Self { rest: options }
    }

    fn split(&self) -> Result<(NdpOption<'a>, &'a [u8])> {
        let units = *self.rest.get(field::LENGTH).ok_or(Error::Truncated)?;
        //= https://www.rfc-editor.org/rfc/rfc4861#section-4.6
        //# The value 0 is invalid.  Nodes MUST
        //# silently discard an ND packet that contains an
        //# option with length zero.
        if units == 0 {
            return Err(Error::Malformed);
        }
        let len = usize::from(units) * UNIT;
        let option = self.rest.get(..len).ok_or(Error::Truncated)?;
        let rest = self.rest.get(len..).unwrap_or_default();
        Ok((NdpOption::parse(option)?, rest))
    }
}

impl<'a> Iterator for NdpOptions<'a> {
    type Item = Result<NdpOption<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        match self.split() {
            Ok((option, rest)) => {
                self.rest = rest;
                Some(Ok(option))
            }
            Err(error) => {
                self.rest = &[];
                Some(Err(error))
            }
        }
    }
}

/// The Prefix Information options of a Router Advertisement: either a list
/// to emit, or the validated option area of a parsed message (so parsing
/// keeps every prefix without allocating). Equal when they hold the same
/// prefixes in the same order.
#[derive(Clone, Copy)]
pub struct PrefixInfos<'a>(Source<'a>);

#[derive(Clone, Copy)]
enum Source<'a> {
    List(&'a [PrefixInfo]),
    Options(&'a [u8]),
}

impl<'a> PrefixInfos<'a> {
    /// No prefixes.
    pub const EMPTY: Self = Self(Source::List(&[]));

    /// The prefixes of `list`.
    pub const fn new(list: &'a [PrefixInfo]) -> Self {
        Self(Source::List(list))
    }

    /// The prefixes of an option area that [`NdpOptions`] walked without an
    /// error.
    pub(super) const fn from_options(options: &'a [u8]) -> Self {
        Self(Source::Options(options))
    }

    /// The prefixes, in order.
    pub fn iter(&self) -> PrefixInfoIter<'a> {
        match self.0 {
            Source::List(list) => PrefixInfoIter {
                list: list.iter(),
                options: NdpOptions::new(&[]),
            },
            Source::Options(options) => PrefixInfoIter {
                list: [].iter(),
                options: NdpOptions::new(options),
            },
        }
    }

    /// How many prefixes there are.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }
}

impl Default for PrefixInfos<'_> {
    fn default() -> Self {
        Self::EMPTY
    }
}

impl PartialEq for PrefixInfos<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for PrefixInfos<'_> {}

impl core::fmt::Debug for PrefixInfos<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// The iterator of [`PrefixInfos::iter`].
#[derive(Debug, Clone)]
pub struct PrefixInfoIter<'a> {
    list: core::slice::Iter<'a, PrefixInfo>,
    options: NdpOptions<'a>,
}

impl Iterator for PrefixInfoIter<'_> {
    type Item = PrefixInfo;

    fn next(&mut self) -> Option<PrefixInfo> {
        if let Some(info) = self.list.next() {
            return Some(*info);
        }
        // The option area was validated when parsed; an error cannot come,
        // and would only end the iteration.
        self.options.find_map(|option| match option {
            Ok(NdpOption::PrefixInformation(info)) => Some(info),
            _ => None,
        })
    }
}

/// The M and O flags of a Router Advertisement (RFC 4861 section 4.2).
/// Other bits of the field (RFC 4191's preference, RFC 3775's H) are not
/// kept, and sent as zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RouterFlags {
    /// M: addresses are available via DHCPv6.
    pub managed: bool,
    /// O: other configuration is available via DHCPv6.
    pub other: bool,
}

impl RouterFlags {
    const MANAGED: u8 = 0x80;
    const OTHER: u8 = 0x40;

    pub(super) const fn from_byte(byte: u8) -> Self {
        Self {
            managed: byte & Self::MANAGED != 0,
            other: byte & Self::OTHER != 0,
        }
    }

    pub(super) const fn to_byte(self) -> u8 {
        (if self.managed { Self::MANAGED } else { 0 }) | if self.other { Self::OTHER } else { 0 }
    }
}

/// The R, S and O flags of a Neighbor Advertisement (RFC 4861 section 4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NeighborFlags {
    /// R: the sender is a router.
    pub router: bool,
    /// S: sent in response to a Neighbor Solicitation.
    pub solicited: bool,
    /// O: the advertisement should override a cached link-layer address.
    pub r#override: bool,
}

impl NeighborFlags {
    const ROUTER: u8 = 0x80;
    const SOLICITED: u8 = 0x40;
    const OVERRIDE: u8 = 0x20;

    pub(super) const fn from_byte(byte: u8) -> Self {
        Self {
            router: byte & Self::ROUTER != 0,
            solicited: byte & Self::SOLICITED != 0,
            r#override: byte & Self::OVERRIDE != 0,
        }
    }

    pub(super) const fn to_byte(self) -> u8 {
        (if self.router { Self::ROUTER } else { 0 })
            | (if self.solicited { Self::SOLICITED } else { 0 })
            | if self.r#override { Self::OVERRIDE } else { 0 }
    }
}
