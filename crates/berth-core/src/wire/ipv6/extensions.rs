//! The walk over IPv6 extension headers (RFC 8200 section 4, RFC 4302
//! section 2.2): where the upper layer starts, the Fragment header, and the
//! packets RFC 8200 says to discard.

use std::net::Ipv6Addr;

use super::{HEADER_LEN, MAX_EXTENSION_HEADERS, field};
use crate::wire::{Error, IpProtocol, Result};

/// Offsets inside an extension header, from its first byte.
mod ext_field {
    use core::ops::Range;

    /// Next Header, first in every extension header.
    pub(super) const NEXT_HEADER: usize = 0;
    /// Hdr Ext Len (Payload Len in AH).
    pub(super) const LENGTH: usize = 1;
    /// The TLV options of Hop-by-Hop and Destination Options headers.
    pub(super) const OPTIONS: usize = 2;
    /// Routing Type, in a Routing header.
    pub(super) const ROUTING_TYPE: usize = 2;
    /// Segments Left, in a Routing header.
    pub(super) const SEGMENTS_LEFT: usize = 3;
    /// Reserved, in a Fragment header.
    pub(super) const FRAG_RESERVED: usize = 1;
    /// Fragment Offset (13 bits), Res (2 bits), M (1 bit).
    pub(super) const FRAG_OFFSET: Range<usize> = 2..4;
    /// Identification, in a Fragment header.
    pub(super) const FRAG_IDENT: Range<usize> = 4..8;
}

/// RFC 8200 section 4.2: the Pad1 option type.
const OPT_PAD1: u8 = 0;
/// RFC 8200 section 4.2: the PadN option type.
const OPT_PADN: u8 = 1;
/// RFC 2675 section 2: the Jumbo Payload option type.
const OPT_JUMBO: u8 = 0xc2;
/// RFC 2711 section 2.1: the Router Alert option type.
const OPT_ROUTER_ALERT: u8 = 5;
/// RFC 8200 section 4.5: a Fragment header is 8 octets.
pub const FRAGMENT_HEADER_LEN: usize = 8;
/// RFC 4302 section 2: Next Header, Payload Len, Reserved, SPI and Sequence
/// Number come before the ICV.
const AH_FIXED_LEN: usize = 12;

/// Where the walk over the extension headers ended, and what it met on the
/// way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExtensionsWalk {
    /// The protocol of the first header that is not walked: the upper layer
    /// (TCP, UDP, ICMPv6, ESP, No Next Header, any unknown number, ...).
    /// [`IpProtocol::Ipv6Frag`] when the walk stopped at the Fragment header
    /// of a fragment other than the first, whose data is no header at all.
    /// When [`discard`](Self::discard) is set, the header that asked for it.
    pub upper_layer: IpProtocol,
    /// Where that header starts, in octets from the start of the IPv6
    /// payload; the upper-layer data is `&packet.payload()[upper_offset..]`.
    pub upper_offset: usize,
    /// The offset of the Next Header field that named `upper_layer`, from
    /// the start of the IPv6 header: the Pointer of an ICMPv6 Parameter
    /// Problem, Code 1, if the stack does not recognise `upper_layer`
    /// (RFC 8200 section 4).
    pub next_header_pointer: u32,
    /// The Fragment header, if the packet has one.
    pub fragment: Option<FragmentHeader>,
    /// Set when RFC 8200 says to discard the packet; the walk stopped there.
    pub discard: Option<Discard>,
}

/// An IPv6 Fragment header (RFC 8200 section 4.5), for reassembly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FragmentHeader {
    /// The first header of the Fragmentable Part of the original packet.
    pub next_header: IpProtocol,
    /// The offset of this fragment's data in the Fragmentable Part, in
    /// octets (the field counts 8-octet units).
    pub offset: u16,
    /// The M flag: more fragments follow.
    pub more_fragments: bool,
    /// The Identification field.
    pub ident: u32,
    /// Where this fragment's data starts, in octets from the start of the
    /// IPv6 payload (just after the Fragment header).
    pub data_offset: usize,
    /// The offset, from the start of the IPv6 header, of the Next Header
    /// field that names this Fragment header (6 when the Fragment header
    /// follows the IPv6 header): the field reassembly rewrites (RFC 8200
    /// section 4.5).
    pub next_header_pointer: u32,
}

impl FragmentHeader {
    /// Whether this is a whole datagram in one fragment (offset 0, M clear),
    /// which needs no reassembly.
    pub const fn is_atomic(&self) -> bool {
        self.offset == 0 && !self.more_fragments
    }

    /// Writes the header: Next Header, Fragment Offset (the low three bits
    /// of `offset` are dropped: it counts 8-octet units), M and
    /// Identification, the reserved fields zero. `data_offset` and
    /// `next_header_pointer` say where the header sits; they are not written.
    pub fn emit(&self, header: &mut [u8; FRAGMENT_HEADER_LEN]) {
        let offset_m = (self.offset & !0b111) | u16::from(self.more_fragments);
        header[ext_field::NEXT_HEADER] = self.next_header.into();
        header[ext_field::FRAG_RESERVED] = 0;
        header[ext_field::FRAG_OFFSET].copy_from_slice(&offset_m.to_be_bytes());
        header[ext_field::FRAG_IDENT].copy_from_slice(&self.ident.to_be_bytes());
    }
}

/// A well-formed packet that RFC 8200 tells the receiver to discard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Discard {
    /// Why.
    pub reason: DiscardReason,
    /// The offset of the offending octet from the start of the IPv6 header:
    /// the Pointer of the ICMPv6 Parameter Problem (RFC 4443 section 3.4).
    pub pointer: u32,
}

/// Why RFC 8200 says to discard a packet. Each maps to an ICMPv6 Parameter
/// Problem code (RFC 4443 section 3.4, RFC 7112).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DiscardReason {
    /// An option of a type we do not recognise, whose two high-order bits ask
    /// for the packet to be discarded (Parameter Problem code 2).
    UnrecognizedOption(OptionAction),
    /// A Routing header with Segments Left non-zero: berth, a host, follows no
    /// Routing Type (code 0, pointing to the Routing Type).
    UnrecognizedRoutingType,
    /// A fragment with the M flag set whose length is not a multiple of 8
    /// octets (code 0, pointing to the Payload Length).
    FragmentLength,
    /// A fragment whose reassembled packet would exceed 65,535 octets of
    /// payload (code 0, pointing to the Fragment Offset).
    FragmentBeyondMaxLength,
    /// A first fragment that does not hold every extension header (code 3,
    /// pointer 0).
    IncompleteHeaderChain,
}

/// What RFC 8200 section 4.2 asks of a node that does not recognise an
/// option: the two high-order bits of its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OptionAction {
    /// 00: skip the option and go on with the header.
    Skip,
    /// 01: discard the packet, silently.
    Discard,
    /// 10: discard, and send a Parameter Problem whatever the destination.
    DiscardAndReport,
    /// 11: discard, and send a Parameter Problem unless the destination was
    /// a multicast address.
    DiscardAndReportUnlessMulticast,
}

impl OptionAction {
    /// The action encoded in an Option Type.
    pub const fn from_option_type(kind: u8) -> Self {
        //= https://www.rfc-editor.org/rfc/rfc8200#section-4.2
        //# The Option Type identifiers are internally encoded such that their
        //# highest-order 2 bits specify the action that must be taken if the
        //# processing IPv6 node does not recognize the Option Type:
        match kind >> 6 {
            0b00 => Self::Skip,
            0b01 => Self::Discard,
            0b10 => Self::DiscardAndReport,
            _ => Self::DiscardAndReportUnlessMulticast,
        }
    }
}

impl Discard {
    /// Whether to answer with an ICMPv6 Parameter Problem, for a packet that
    /// was sent to `dst`.
    ///
    /// No error answers a packet sent to a multicast address, except an
    /// unrecognised option of action `10` (RFC 4443 section 2.4 (e.3)); an
    /// option of action `01` is never answered. The other rules of RFC 4443
    /// section 2.4 (e) (never answer an ICMPv6 error, rate limits) are the
    /// stack's.
    pub fn should_report(&self, dst: Ipv6Addr) -> bool {
        match self.reason {
            //= https://www.rfc-editor.org/rfc/rfc8200#section-4.2
            //# 01 - discard the packet.
            DiscardReason::UnrecognizedOption(OptionAction::Skip | OptionAction::Discard) => false,
            //= https://www.rfc-editor.org/rfc/rfc4443#section-2.4
            //# (2) the Parameter Problem Message, Code 2
            //# (Section 3.4) reporting an unrecognized IPv6 option (see
            //# Section 4.2 of [IPv6]) that has the Option Type highest-
            //# order two bits set to 10).
            DiscardReason::UnrecognizedOption(OptionAction::DiscardAndReport) => true,
            //= https://www.rfc-editor.org/rfc/rfc4443#section-2.4
            //# (e.3) A packet destined to an IPv6 multicast address.
            _ => !dst.is_multicast(),
        }
    }
}

/// How the walk treats what it cannot follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// A received packet: structural problems are errors, discards reported.
    Strict,
    /// A packet quoted in an ICMPv6 error, possibly cut short: stop at the
    /// first header that cannot be followed, ignore discards.
    ///
    /// Where the walk stops depends only on the bytes from that header on,
    /// never on the headers before it: a Hop-by-Hop header is followed
    /// anywhere, a second Fragment header like the first, and there is no
    /// [`MAX_EXTENSION_HEADERS`] bound (each header is at least 8 octets, so
    /// the walk stays linear in the quote). A quote re-emitted as its fixed
    /// header (Next Header set to where the walk stopped) and the bytes from
    /// there on then parses to the same thing.
    Lenient,
}

/// Converts an offset in the IPv6 payload into a Parameter Problem Pointer.
fn pointer(payload_offset: usize) -> u32 {
    // The payload is at most 65,535 octets, so this never saturates.
    u32::try_from(HEADER_LEN + payload_offset).unwrap_or(u32::MAX)
}

/// Whether the walk follows `kind` as an extension header.
const fn is_walked(kind: IpProtocol) -> bool {
    matches!(
        kind,
        IpProtocol::HopByHop
            | IpProtocol::Ipv6Route
            | IpProtocol::Ipv6Frag
            | IpProtocol::Ipv6Opts
            | IpProtocol::Ah
    )
}

/// The length of the extension header `kind` that starts `rest`.
fn ext_header_len(kind: IpProtocol, rest: &[u8]) -> Result<usize> {
    let len_field = usize::from(*rest.get(ext_field::LENGTH).ok_or(Error::Truncated)?);
    match kind {
        IpProtocol::Ipv6Frag => Ok(FRAGMENT_HEADER_LEN),
        IpProtocol::Ah => {
            //= https://www.rfc-editor.org/rfc/rfc4302#section-2.2
            //# This 8-bit field specifies the length of AH in 32-bit words (4-byte
            //# units), minus "2".
            let len = (len_field + 2) * 4;
            //= https://www.rfc-editor.org/rfc/rfc4302#section-2.2
            //# For IPv6, the total length of the header must be a
            //# multiple of 8-octet units.
            if len < AH_FIXED_LEN || len % 8 != 0 {
                return Err(Error::Malformed);
            }
            Ok(len)
        }
        //= https://www.rfc-editor.org/rfc/rfc8200#section-4.3
        //# Length of the
        //# Hop-by-Hop Options header in 8-octet units,
        //# not including the first 8 octets.
        _ => Ok((len_field + 1) * 8),
    }
}

/// The TLV options of a Hop-by-Hop or Destination Options header: each
/// item is the option's offset in the header and its type.
struct Options<'a> {
    header: &'a [u8],
    at: usize,
}

impl<'a> Options<'a> {
    const fn new(header: &'a [u8]) -> Self {
        Self {
            header,
            at: ext_field::OPTIONS,
        }
    }
}

impl Iterator for Options<'_> {
    type Item = Result<(usize, u8)>;

    fn next(&mut self) -> Option<Self::Item> {
        let at = self.at;
        let kind = *self.header.get(at)?;
        //= https://www.rfc-editor.org/rfc/rfc8200#section-4.2
        //# NOTE! the format of the Pad1 option is a special case -- it does
        //# not have length and value fields.
        if kind == OPT_PAD1 {
            self.at = at + 1;
            return Some(Ok((at, kind)));
        }
        let end = self
            .header
            .get(at + 1)
            .map(|&len| at + 2 + usize::from(len))
            .filter(|&end| end <= self.header.len());
        match end {
            Some(end) => {
                self.at = end;
                Some(Ok((at, kind)))
            }
            None => {
                // An option running past its header: stop here for good.
                self.at = self.header.len();
                Some(Err(Error::Malformed))
            }
        }
    }
}

/// Walks the options of the Hop-by-Hop or Destination Options header
/// `header`, which starts at `start` in the payload, and returns the first
/// one that asks for the packet to be discarded.
fn walk_options(header: &[u8], start: usize) -> Result<Option<Discard>> {
    for option in Options::new(header) {
        let (at, kind) = option?;
        if kind == OPT_PAD1 || kind == OPT_PADN {
            continue;
        }
        // No other option is recognised: Router Alert (5) and the like are
        // skipped by their action bits, a Jumbo Payload option in a packet
        // with a Payload Length is answered like any unknown one.
        match OptionAction::from_option_type(kind) {
            //= https://www.rfc-editor.org/rfc/rfc8200#section-4.2
            //# 00 - skip over this option and continue processing the header.
            OptionAction::Skip => {}
            //= https://www.rfc-editor.org/rfc/rfc8200#section-4.2
            //# 01 - discard the packet.
            action => {
                return Ok(Some(Discard {
                    reason: DiscardReason::UnrecognizedOption(action),
                    pointer: pointer(start + at),
                }));
            }
        }
    }
    Ok(None)
}

/// Whether `after_header` (the bytes after an IPv6 header whose Payload
/// Length is zero) starts with a Hop-by-Hop header holding a Jumbo Payload
/// option.
pub(super) fn is_jumbogram(after_header: &[u8]) -> bool {
    let header = ext_header_len(IpProtocol::HopByHop, after_header)
        .ok()
        .and_then(|len| after_header.get(..len));
    header.is_some_and(|header| {
        Options::new(header)
            .map_while(|option| option.ok())
            .any(|(_, kind)| kind == OPT_JUMBO)
    })
}

/// The value of the Router Alert option (RFC 2711) in the Hop-by-Hop
/// header that starts `payload`, if there is one.
pub(super) fn router_alert(payload: &[u8]) -> Option<u16> {
    let len = ext_header_len(IpProtocol::HopByHop, payload).ok()?;
    let header = payload.get(..len)?;
    Options::new(header)
        .map_while(|option| option.ok())
        .find(|&(_, kind)| kind == OPT_ROUTER_ALERT)
        .and_then(|(at, _)| match header.get(at + 1..at + 4)? {
            &[2, a, b] => Some(u16::from_be_bytes([a, b])),
            _ => None,
        })
}

/// Walks the extension headers of `payload`, whose first header is `first`.
pub(super) fn walk(first: IpProtocol, payload: &[u8], mode: Mode) -> Result<ExtensionsWalk> {
    let mut walk = ExtensionsWalk {
        upper_layer: first,
        upper_offset: 0,
        next_header_pointer: field::NEXT_HEADER as u32,
        fragment: None,
        discard: None,
    };
    // Inside a first fragment, a header cut by the end of the payload is a
    // fragmentation fault rather than a lying length.
    let mut in_first_fragment = false;
    let mut count = 0;
    loop {
        let kind = walk.upper_layer;
        let start = walk.upper_offset;
        if !is_walked(kind) {
            break;
        }
        match step(&mut walk, payload, count, mode, &mut in_first_fragment) {
            Ok(Step::Next) => {}
            Ok(Step::Stop) => break,
            Err(_) if mode == Mode::Lenient => {
                // A quoted packet: report where the walk had to stop.
                walk.upper_layer = kind;
                walk.upper_offset = start;
                break;
            }
            Err(error) => return Err(error),
        }
        count += 1;
    }
    Ok(walk)
}

/// What the walk does after one header.
enum Step {
    /// Go on to the header now in `upper_layer`.
    Next,
    /// Stop where `upper_layer` and `upper_offset` are.
    Stop,
}

/// Walks the extension header `walk.upper_layer` at `walk.upper_offset`, the
/// `count`-th one, and advances `walk` past it.
fn step(
    walk: &mut ExtensionsWalk,
    payload: &[u8],
    count: usize,
    mode: Mode,
    in_first_fragment: &mut bool,
) -> Result<Step> {
    let kind = walk.upper_layer;
    let start = walk.upper_offset;
    if count == MAX_EXTENSION_HEADERS && mode == Mode::Strict {
        return Err(Error::Malformed);
    }
    //= https://www.rfc-editor.org/rfc/rfc8200#section-4.1
    //# IPv6 nodes must accept and attempt to process extension headers in
    //# any order and occurring any number of times in the same packet,
    //# except for the Hop-by-Hop Options header, which is restricted to
    //# appear immediately after an IPv6 header only.
    if kind == IpProtocol::HopByHop && start != 0 && mode == Mode::Strict {
        return Err(Error::Malformed);
    }
    let rest = payload.get(start..).unwrap_or_default();
    let header = ext_header_len(kind, rest).and_then(|len| rest.get(..len).ok_or(Error::Truncated));
    let header = match header {
        Ok(header) => header,
        //= https://www.rfc-editor.org/rfc/rfc8200#section-4.5
        //# If the first fragment does not include all headers through an
        //# Upper-Layer header, then that fragment should be discarded and
        //# an ICMP Parameter Problem, Code 3, message should be sent to
        //# the source of the fragment, with the Pointer field set to zero.
        Err(Error::Truncated) if *in_first_fragment && mode == Mode::Strict => {
            walk.discard = Some(Discard {
                reason: DiscardReason::IncompleteHeaderChain,
                pointer: 0,
            });
            return Ok(Step::Stop);
        }
        // The header runs past the Payload Length: the lengths disagree.
        Err(_) => return Err(Error::Malformed),
    };
    // INVARIANT: every extension header is at least 8 octets long
    // (ext_header_len), so the fixed fields read below are inside `header`.
    let next_header = IpProtocol::from(header[ext_field::NEXT_HEADER]);
    let mut discard = None;
    let mut later_fragment = false;
    match kind {
        IpProtocol::HopByHop | IpProtocol::Ipv6Opts => discard = walk_options(header, start)?,
        //= https://www.rfc-editor.org/rfc/rfc8200#section-4.4
        //# If Segments Left is non-zero, the node must discard the packet and
        //# send an ICMP Parameter Problem, Code 0, message to the packet's
        //# Source Address, pointing to the unrecognized Routing Type.
        IpProtocol::Ipv6Route if header[ext_field::SEGMENTS_LEFT] != 0 => {
            discard = Some(Discard {
                reason: DiscardReason::UnrecognizedRoutingType,
                pointer: pointer(start + ext_field::ROUTING_TYPE),
            });
        }
        //= https://www.rfc-editor.org/rfc/rfc8200#section-4.4
        //# If Segments Left is zero, the node must ignore the Routing header
        //# and proceed to process the next header in the packet, whose type
        //# is identified by the Next Header field in the Routing header.
        IpProtocol::Ipv6Route => {}
        IpProtocol::Ipv6Frag => {
            if walk.fragment.is_some() && mode == Mode::Strict {
                // A fragment inside a fragment: nothing sends it.
                return Err(Error::Unsupported);
            }
            let fragment = fragment_header(header, start, walk.next_header_pointer);
            walk.fragment.get_or_insert(fragment);
            discard = check_fragment(&fragment, start, payload.len());
            // The data of a later fragment is no header: the walk stops at
            // the Fragment header itself.
            later_fragment = fragment.offset != 0;
            *in_first_fragment = fragment.offset == 0 && fragment.more_fragments;
        }
        // AH: walked by its length alone; verifying it is IPsec's business.
        _ => {}
    }
    if mode == Mode::Strict && discard.is_some() {
        walk.discard = discard;
        return Ok(Step::Stop);
    }
    if later_fragment {
        return Ok(Step::Stop);
    }
    walk.next_header_pointer = pointer(start + ext_field::NEXT_HEADER);
    walk.upper_layer = next_header;
    walk.upper_offset = start + header.len();
    Ok(Step::Next)
}

/// Reads the 8-octet Fragment header `header`, which starts at `start` in the
/// payload and is named by the Next Header field at `next_header_pointer`.
fn fragment_header(header: &[u8], start: usize, next_header_pointer: u32) -> FragmentHeader {
    let mut raw = [0; 2];
    raw.copy_from_slice(&header[ext_field::FRAG_OFFSET]);
    let raw = u16::from_be_bytes(raw);
    let mut ident = [0; 4];
    ident.copy_from_slice(&header[ext_field::FRAG_IDENT]);
    FragmentHeader {
        next_header: IpProtocol::from(header[ext_field::NEXT_HEADER]),
        // 13 bits of 8-octet units: shifting right by 3 and multiplying by 8
        // is masking the low three bits.
        offset: raw & !0b111,
        more_fragments: raw & 1 != 0,
        ident: u32::from_be_bytes(ident),
        data_offset: start + FRAGMENT_HEADER_LEN,
        next_header_pointer,
    }
}

/// The reassembly errors of RFC 8200 section 4.5 that one fragment shows on
/// its own. `start` is where its Fragment header starts in a payload of
/// `payload_len` octets.
fn check_fragment(fragment: &FragmentHeader, start: usize, payload_len: usize) -> Option<Discard> {
    let fragment_len = payload_len.saturating_sub(fragment.data_offset);
    //= https://www.rfc-editor.org/rfc/rfc8200#section-4.5
    //# If the length of a fragment, as derived from the fragment
    //# packet's Payload Length field, is not a multiple of 8 octets
    //# and the M flag of that fragment is 1, then that fragment must
    //# be discarded and an ICMP Parameter Problem, Code 0, message
    //# should be sent to the source of the fragment, pointing to the
    //# Payload Length field of the fragment packet.
    if fragment.more_fragments && !fragment_len.is_multiple_of(8) {
        return Some(Discard {
            reason: DiscardReason::FragmentLength,
            pointer: field::PAYLOAD_LEN.start as u32,
        });
    }
    // The headers before the Fragment header are the Per-Fragment headers of
    // the reassembled packet (PL.orig = PL.first - FL.first - 8 + 8 * FO.last
    // + FL.last, with PL.first - FL.first - 8 = start).
    //= https://www.rfc-editor.org/rfc/rfc8200#section-4.5
    //# If the length and offset of a fragment are such that the
    //# Payload Length of the packet reassembled from that fragment
    //# would exceed 65,535 octets, then that fragment must be
    //# discarded and an ICMP Parameter Problem, Code 0, message should
    //# be sent to the source of the fragment, pointing to the Fragment
    //# Offset field of the fragment packet.
    if start + usize::from(fragment.offset) + fragment_len > usize::from(u16::MAX) {
        return Some(Discard {
            reason: DiscardReason::FragmentBeyondMaxLength,
            pointer: pointer(start + ext_field::FRAG_OFFSET.start),
        });
    }
    None
}
