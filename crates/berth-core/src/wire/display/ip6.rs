//! The IPv6 line: the fixed header, the extension headers as tcpdump prints
//! them without `-v`, then the upper layer.
//!
//! The walk here is tcpdump's, not [`ipv6::Packet::walk_extensions`]: a
//! printer shows what is on the wire, so headers RFC 8200 would discard
//! (unknown options, Routing headers with segments left) print like any
//! other.

use core::fmt;
use std::net::{IpAddr, Ipv6Addr};

use super::{Endpoints, fmt_transport};
use crate::wire::{IpProtocol, ipv6};

/// RFC 2675 section 2: the Jumbo Payload option type, and the smallest
/// payload a jumbogram may carry.
const OPT_JUMBO: u8 = 0xc2;
const MIN_JUMBO_LEN: u32 = 65_536;
/// RFC 8200 section 4.2: the Pad1 option type.
const OPT_PAD1: u8 = 0;
/// RFC 2711: Router Alert, whose data is always two octets.
const OPT_ROUTER_ALERT: u8 = 5;
/// RFC 6275 section 6.3: Home Address, at least 16 octets of data.
const OPT_HOME_ADDRESS: u8 = 0xc9;
/// RFC 8200 section 4.5: a Fragment header is 8 octets.
const FRAGMENT_HEADER_LEN: usize = 8;
/// RFC 4302 section 2: the AH fields before the ICV.
const AH_FIXED_LEN: usize = 12;

pub(super) fn fmt_ipv6(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    if bytes.len() < ipv6::HEADER_LEN {
        return f.write_str("[truncated ip6]");
    }
    // The 40-byte header is in the buffer: every getter but payload() is in
    // bounds.
    let packet = ipv6::Packet::new_unchecked(bytes);
    let (src, dst) = (packet.src_addr(), packet.dst_addr());
    let end = ipv6::HEADER_LEN + usize::from(packet.payload_len());
    let Some(payload) = bytes.get(ipv6::HEADER_LEN..end) else {
        let missing = end - bytes.len();
        return write!(f, "{src} > {dst}: [truncated ip6: {missing} bytes missing]");
    };
    let first = packet.next_header();
    if matches!(first, IpProtocol::Tcp | IpProtocol::Udp) {
        let ends = Endpoints::Addrs(IpAddr::V6(src), IpAddr::V6(dst));
        return fmt_transport(f, ends, first, payload, false);
    }
    write!(f, "{src} > {dst}: ")?;
    if payload.is_empty() && first == IpProtocol::HopByHop {
        return fmt_jumbo(f, bytes.get(ipv6::HEADER_LEN..).unwrap_or_default());
    }
    fmt_extensions(f, first, payload)
}

/// A Payload Length of zero behind a Hop-by-Hop header: a jumbogram, which
/// berth does not decode, or what tcpdump calls invalid.
fn fmt_jumbo(f: &mut fmt::Formatter<'_>, after_header: &[u8]) -> fmt::Result {
    let Some(header) = ext_header(after_header) else {
        return f.write_str(" [|hbhopt]");
    };
    f.write_str("HBH ")?;
    let jumbo = Options(header.get(2..).unwrap_or_default())
        .map_while(Result::ok)
        .any(|(kind, data)| {
            kind == OPT_JUMBO
                && matches!(*data, [a, b, c, d] if u32::from_be_bytes([a, b, c, d]) >= MIN_JUMBO_LEN)
        });
    if jumbo {
        f.write_str("[jumbogram not decoded]")
    } else {
        f.write_str("[No valid Jumbo Payload Hop-by-Hop option found] (invalid)")
    }
}

/// The extension headers from `first` on, then the upper layer, after
/// `src > dst: `.
fn fmt_extensions(f: &mut fmt::Formatter<'_>, first: IpProtocol, payload: &[u8]) -> fmt::Result {
    let mut next = first;
    let mut at = 0;
    let mut fragmented = false;
    let mut seen_hop_by_hop = false;
    // Every header is at least 8 octets, so this ends within
    // payload.len() / 8 rounds.
    loop {
        let rest = payload.get(at..).unwrap_or_default();
        let len = match next {
            IpProtocol::HopByHop => {
                if seen_hop_by_hop {
                    return f
                        .write_str("[The Hop-by-Hop Options header was already found] (invalid)");
                }
                if at != 0 {
                    return f.write_str(
                        "[The Hop-by-Hop Options header don't follow the IPv6 header] (invalid)",
                    );
                }
                seen_hop_by_hop = true;
                let Some(header) = ext_header(rest) else {
                    return f.write_str(" [|hbhopt]");
                };
                f.write_str("HBH ")?;
                if !fmt_bad_options(f, header.get(2..).unwrap_or_default())? {
                    return f.write_str(" [|hbhopt]");
                }
                header.len()
            }
            IpProtocol::Ipv6Opts => {
                let Some(header) = ext_header(rest) else {
                    return f.write_str(" [|dstopt]");
                };
                f.write_str("DSTOPT ")?;
                header.len()
            }
            IpProtocol::Ipv6Route => match fmt_routing(f, rest)? {
                Some(len) => len,
                None => return Ok(()),
            },
            IpProtocol::Ipv6Frag => {
                let Some(&[_, _, off0, off1, ..]) = rest.get(..FRAGMENT_HEADER_LEN) else {
                    return f.write_str("frag ( [|frag6]");
                };
                let offset = u16::from_be_bytes([off0, off1]) & !0b111;
                let data_len = rest.len() - FRAGMENT_HEADER_LEN;
                write!(f, "frag ({offset}|{data_len})")?;
                // tcpdump decodes nothing past a later fragment's header, nor
                // a fragment header with nothing after it.
                if offset != 0 {
                    return Ok(());
                }
                f.write_str(" ")?;
                if data_len == 0 {
                    return Ok(());
                }
                fragmented = true;
                FRAGMENT_HEADER_LEN
            }
            IpProtocol::Ah => match fmt_ah(f, rest)? {
                Some(len) => len,
                None => return Ok(()),
            },
            upper => return fmt_transport(f, Endpoints::Written, upper, rest, fragmented),
        };
        // Each arm above read the header's first octet.
        next = IpProtocol::from(rest.first().copied().unwrap_or_default());
        at += len;
    }
}

/// The Hop-by-Hop, Destination Options or Routing header that starts
/// `rest`, as long as its Hdr Ext Len says, if it is all there.
fn ext_header(rest: &[u8]) -> Option<&[u8]> {
    let len = (usize::from(*rest.get(1)?) + 1) * 8;
    rest.get(..len)
}

/// The TLV options of a Hop-by-Hop or Destination Options header: type and
/// data, or `Err` for an option that runs past the header.
struct Options<'a>(&'a [u8]);

impl<'a> Iterator for Options<'a> {
    type Item = Result<(u8, &'a [u8]), ()>;

    fn next(&mut self) -> Option<Self::Item> {
        let (&kind, rest) = self.0.split_first()?;
        if kind == OPT_PAD1 {
            self.0 = rest;
            return Some(Ok((kind, &[])));
        }
        let parsed = rest
            .split_first()
            .and_then(|(&len, rest)| rest.split_at_checked(usize::from(len)));
        match parsed {
            Some((data, rest)) => {
                self.0 = rest;
                Some(Ok((kind, data)))
            }
            None => {
                self.0 = &[];
                Some(Err(()))
            }
        }
    }
}

/// Walks the Hop-by-Hop options as tcpdump does without `-v`: it prints
/// nothing for good ones, and stops at an option cut short or of an
/// impossible length, saying why for the kinds it knows. `Ok(false)` when it
/// stopped.
fn fmt_bad_options(f: &mut fmt::Formatter<'_>, options: &[u8]) -> Result<bool, fmt::Error> {
    for option in Options(options) {
        let Ok((kind, data)) = option else {
            return Ok(false);
        };
        let (name, fits) = match kind {
            OPT_ROUTER_ALERT => ("rtalert", data.len() == 2),
            OPT_JUMBO => ("jumbo", data.len() == 4),
            OPT_HOME_ADDRESS => ("homeaddr", data.len() >= 16),
            _ => continue,
        };
        if !fits {
            write!(f, "({name}: invalid len {})", data.len())?;
            return Ok(false);
        }
    }
    Ok(true)
}

/// A Routing header, as tcpdump prints Types 0, 2 (addresses) and 4
/// (Segment Routing). `Some(len)` when the walk goes on past it.
fn fmt_routing(f: &mut fmt::Formatter<'_>, rest: &[u8]) -> Result<Option<usize>, fmt::Error> {
    let Some(&[_, len, kind, segments_left]) = rest.get(..4) else {
        return f.write_str(" [|rt6]").map(|()| None);
    };
    write!(f, "RT6 (len={len}, type={kind}")?;
    if kind == 0 {
        f.write_str(" [Deprecated]")?;
    }
    write!(f, ", segleft={segments_left}")?;
    let word = |at: usize| match rest.get(at..at + 4) {
        Some(&[a, b, c, d]) => Some([a, b, c, d]),
        _ => None,
    };
    let Some(second_word) = word(4) else {
        return f.write_str(" [|rt6]").map(|()| None);
    };
    match kind {
        0 | 2 => {
            let reserved = u32::from_be_bytes(second_word);
            if reserved != 0 {
                write!(f, ", rsv=0x{reserved:x}")?;
            }
        }
        4 => {
            let [last_entry, flags, t0, t1] = second_word;
            write!(f, ", last-entry={last_entry}")?;
            if flags != 0 {
                write!(f, ", flags=0x{flags:x}")?;
            }
            write!(f, ", tag={:x}", u16::from_be_bytes([t0, t1]))?;
        }
        _ => return f.write_str(" (unknown type) (invalid)").map(|()| None),
    }
    if len % 2 == 1 {
        return write!(f, " (invalid length {len}) (invalid)").map(|()| None);
    }
    for i in 0..usize::from(len / 2) {
        let at = 8 + 16 * i;
        let Some(addr) = rest
            .get(at..at + 16)
            .and_then(|b| <[u8; 16]>::try_from(b).ok())
        else {
            return f.write_str(" [|rt6]").map(|()| None);
        };
        write!(f, ", [{i}]{}", Ipv6Addr::from(addr))?;
    }
    f.write_str(") ")?;
    Ok(Some((usize::from(len) + 1) * 8))
}

/// An Authentication Header (RFC 4302) as tcpdump prints it without `-v`.
/// `Some(len)` when the walk goes on past it.
fn fmt_ah(f: &mut fmt::Formatter<'_>, rest: &[u8]) -> Result<Option<usize>, fmt::Error> {
    let cut = |f: &mut fmt::Formatter<'_>| f.write_str(" [|ah]").map(|()| None);
    let word = |at: usize| match rest.get(at..at + 4) {
        Some(&[a, b, c, d]) => Some(u32::from_be_bytes([a, b, c, d])),
        _ => None,
    };
    f.write_str("AH(")?;
    let (Some(&units), Some(&[r0, r1])) = (rest.get(1), rest.get(2..4)) else {
        return cut(f);
    };
    //= https://www.rfc-editor.org/rfc/rfc4302#section-2.2
    //# This 8-bit field specifies the length of AH in 32-bit words (4-byte
    //# units), minus "2".
    let len = (usize::from(units) + 2) * 4;
    let reserved = u16::from_be_bytes([r0, r1]);
    if reserved != 0 {
        write!(f, "reserved=0x{reserved:x}[MustBeZero],")?;
    }
    let Some(spi) = word(4) else { return cut(f) };
    write!(f, "spi=0x{spi:08x},")?;
    let Some(seq) = word(8) else { return cut(f) };
    write!(f, "seq=0x{seq:x},icv=0x")?;
    // The ICV is what follows the fixed fields, up to the length.
    for at in AH_FIXED_LEN..len {
        let Some(byte) = rest.get(at) else {
            return cut(f);
        };
        write!(f, "{byte:02x}")?;
    }
    f.write_str("): ")?;
    Ok(Some(len))
}
