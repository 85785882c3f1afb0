//! The ICMPv6 line, as tcpdump prints it without `-v`: `ICMP6, ` and the
//! type's name, what tcpdump shows of that type, and the message length.
//!
//! Where tcpdump finds the message too short for a field it prints, it ends
//! the line with ` [|icmp6]` and no length; so does berth. Router
//! renumbering, node information and RPL messages print only their name and
//! length (tcpdump decodes them further).

use core::fmt;
use std::net::Ipv6Addr;

use crate::wire::{IpProtocol, icmpv6::HEADER_LEN, ipv6};

/// ICMPv6 types (IANA "ICMPv6 Parameters") that tcpdump names.
mod kind {
    pub(super) const DST_UNREACHABLE: u8 = 1;
    pub(super) const PACKET_TOO_BIG: u8 = 2;
    pub(super) const TIME_EXCEEDED: u8 = 3;
    pub(super) const PARAM_PROBLEM: u8 = 4;
    pub(super) const ECHO_REQUEST: u8 = 128;
    pub(super) const ECHO_REPLY: u8 = 129;
    pub(super) const MLD_QUERY: u8 = 130;
    pub(super) const MLD_REPORT: u8 = 131;
    pub(super) const MLD_DONE: u8 = 132;
    pub(super) const NEIGHBOR_SOLICIT: u8 = 135;
    pub(super) const NEIGHBOR_ADVERT: u8 = 136;
    pub(super) const REDIRECT: u8 = 137;
    pub(super) const MLD2_REPORT: u8 = 143;
    pub(super) const HA_DISCOVERY_REQUEST: u8 = 144;
    pub(super) const MOBILE_PREFIX_SOLICIT: u8 = 146;
}

/// tcpdump's name for an ICMPv6 type.
const fn type_name(msg_type: u8) -> Option<&'static str> {
    Some(match msg_type {
        1 => "destination unreachable",
        2 => "packet too big",
        3 => "time exceeded in-transit",
        4 => "parameter problem",
        128 => "echo request",
        129 => "echo reply",
        130 => "multicast listener query",
        131 => "multicast listener report",
        132 => "multicast listener done",
        133 => "router solicitation",
        134 => "router advertisement",
        135 => "neighbor solicitation",
        136 => "neighbor advertisement",
        137 => "redirect",
        138 => "router renumbering",
        139 => "who-are-you request",
        140 => "who-are-you reply",
        141 => "inverse neighbor solicitation",
        142 => "inverse neighbor advertisement",
        143 => "multicast listener report v2",
        144 => "ha discovery request",
        145 => "ha discovery reply",
        146 => "mobile router solicitation",
        147 => "mobile router advertisement",
        155 => "RPL",
        200 => "mtrace response",
        201 => "mtrace message",
        _ => return None,
    })
}

/// How the line ends after the type's own words.
enum End {
    /// `, length N`.
    Length,
    /// ` [|icmp6]`: a field the type prints is past the end.
    Truncated,
    /// Nothing: tcpdump hex-dumps the message on further lines.
    HexDump,
}

/// An ICMPv6 message, after `src > dst: ` (and any extension headers).
pub(super) fn fmt_icmpv6(f: &mut fmt::Formatter<'_>, message: &[u8]) -> fmt::Result {
    let Some(&msg_type) = message.first() else {
        return f.write_str("ICMP6, length 0 (invalid)");
    };
    f.write_str("ICMP6, ")?;
    match type_name(msg_type) {
        Some(name) => f.write_str(name)?,
        None => write!(f, "unknown icmp6 type ({msg_type})")?,
    }
    let end = match message.get(1) {
        Some(&code) => fmt_body(f, msg_type, code, &Message(message))?,
        None => End::Truncated,
    };
    match end {
        End::Length => write!(f, ", length {}", message.len()),
        End::Truncated => f.write_str(" [|icmp6]"),
        End::HexDump => Ok(()),
    }
}

/// The message's bytes, read the way tcpdump's `GET_` macros do: a field
/// past the end is `None`.
struct Message<'a>(&'a [u8]);

impl Message<'_> {
    fn u16_at(&self, at: usize) -> Option<u16> {
        match self.0.get(at..at + 2) {
            Some(&[a, b]) => Some(u16::from_be_bytes([a, b])),
            _ => None,
        }
    }

    fn u32_at(&self, at: usize) -> Option<u32> {
        match self.0.get(at..at + 4) {
            Some(&[a, b, c, d]) => Some(u32::from_be_bytes([a, b, c, d])),
            _ => None,
        }
    }

    fn addr_at(&self, at: usize) -> Option<Ipv6Addr> {
        let bytes: [u8; 16] = self.0.get(at..at + 16)?.try_into().ok()?;
        Some(Ipv6Addr::from(bytes))
    }

    /// The source and destination of the invoking packet an error quotes.
    fn quoted_src(&self) -> Option<Ipv6Addr> {
        self.addr_at(HEADER_LEN + 8)
    }

    fn quoted_dst(&self) -> Option<Ipv6Addr> {
        self.addr_at(HEADER_LEN + 24)
    }
}

/// What follows the type's name; the `End` says how the line ends.
fn fmt_body(
    f: &mut fmt::Formatter<'_>,
    msg_type: u8,
    code: u8,
    message: &Message<'_>,
) -> Result<End, fmt::Error> {
    // Each arm writes its fields only once they are all there, as tcpdump
    // reads them before printing.
    macro_rules! get {
        ($e:expr) => {
            match $e {
                Some(value) => value,
                None => return Ok(End::Truncated),
            }
        };
    }
    match msg_type {
        kind::DST_UNREACHABLE => return fmt_unreachable(f, code, message),
        kind::PACKET_TOO_BIG => write!(f, ", mtu {}", get!(message.u32_at(4)))?,
        kind::TIME_EXCEEDED => match code {
            0 => write!(f, " for {}", get!(message.quoted_dst()))?,
            1 => f.write_str(" (reassembly)")?,
            n => write!(f, ", unknown code ({n})")?,
        },
        kind::PARAM_PROBLEM => {
            get!(message.quoted_dst());
            let pointer = get!(message.u32_at(4));
            match code {
                0 => write!(f, ", erroneous - octet {pointer}")?,
                1 => write!(f, ", next header - octet {pointer}")?,
                2 => write!(f, ", option - octet {pointer}")?,
                3 => write!(f, ", incomplete header chain - octet {pointer}")?,
                n => write!(f, ", code-#{n}")?,
            }
        }
        kind::ECHO_REQUEST | kind::ECHO_REPLY => write!(
            f,
            ", id {}, seq {}",
            get!(message.u16_at(4)),
            get!(message.u16_at(6))
        )?,
        kind::MLD_QUERY => {
            let len = message.0.len();
            if len == MLD_LEN {
                fmt_mld(f, message)?;
            } else if len >= MLD2_QUERY_LEN {
                f.write_str(" v2")?;
                fmt_mld2_query(f, message)?;
            } else {
                write!(f, " unknown-version (len {len}) ")?;
            }
        }
        kind::MLD_REPORT | kind::MLD_DONE => fmt_mld(f, message)?,
        kind::NEIGHBOR_SOLICIT => write!(f, ", who has {}", get!(message.addr_at(8)))?,
        kind::NEIGHBOR_ADVERT => write!(f, ", tgt is {}", get!(message.addr_at(8)))?,
        kind::REDIRECT => {
            // RFC 4861 section 4.5: the Target Address, then the
            // Destination Address; tcpdump prints the destination first.
            let dst = get!(message.addr_at(24));
            let target = get!(message.addr_at(8));
            write!(f, ", {dst} to {target}")?;
        }
        kind::MLD2_REPORT => {
            let len = message.0.len();
            if len < 8 {
                write!(f, " [invalid len {len}]")?;
            } else {
                write!(f, ", {} group record(s)", get!(message.u16_at(6)))?;
            }
        }
        kind::HA_DISCOVERY_REQUEST | kind::MOBILE_PREFIX_SOLICIT => {
            write!(f, ", id 0x{:04x}", get!(message.u16_at(4)))?;
        }
        // Router solicitations and advertisements, and the rest tcpdump
        // names, show nothing more without -v; unknown types are
        // hex-dumped after the length, on further lines.
        _ => {}
    }
    Ok(End::Length)
}

/// RFC 2710 section 3: an MLDv1 message is 24 octets.
const MLD_LEN: usize = 24;
/// RFC 3810 section 5.1: an MLDv2 query is at least 28 octets.
const MLD2_QUERY_LEN: usize = 28;

/// An MLDv1 message: tcpdump's words, without the space before them.
fn fmt_mld(f: &mut fmt::Formatter<'_>, message: &Message<'_>) -> fmt::Result {
    if let (Some(delay), Some(addr)) = (message.u16_at(4), message.addr_at(8)) {
        write!(f, "max resp delay: {delay} addr: {addr}")?;
    }
    Ok(())
}

/// An MLDv2 query (at least 28 octets): the group and how many sources.
fn fmt_mld2_query(f: &mut fmt::Formatter<'_>, message: &Message<'_>) -> fmt::Result {
    let (Some(group), Some(sources)) = (message.addr_at(8), message.u16_at(26)) else {
        return Ok(());
    };
    write!(f, " [gaddr {group}")?;
    if sources > 0 {
        if message.0.len() < MLD2_QUERY_LEN + usize::from(sources) * 16 {
            f.write_str(" [invalid number of sources]")?;
        } else {
            write!(f, ", {sources} source(s)")?;
        }
    }
    f.write_str("]")
}

fn fmt_unreachable(
    f: &mut fmt::Formatter<'_>,
    code: u8,
    message: &Message<'_>,
) -> Result<End, fmt::Error> {
    let words = match code {
        0 => "unreachable route",
        // tcpdump's table has the leading space.
        1 => " unreachable prohibited",
        2 => "beyond scope",
        3 => "unreachable address",
        4 => "unreachable port",
        n => {
            write!(f, ", unknown unreach code ({n})")?;
            return Ok(End::HexDump);
        }
    };
    write!(f, ", {words}")?;
    let Some(dst) = message.quoted_dst() else {
        return Ok(End::Truncated);
    };
    match code {
        2 => {
            let Some(src) = message.quoted_src() else {
                return Ok(End::Truncated);
            };
            write!(f, " {dst}, source address {src}")?;
        }
        4 => {
            let quote = message.0.get(HEADER_LEN..).unwrap_or_default();
            match quoted_port(quote) {
                Some((IpProtocol::Tcp, port)) => write!(f, ", {dst} tcp port {port}")?,
                Some((_, port)) => write!(f, ", {dst} udp port {port}")?,
                None => return Ok(End::Truncated),
            }
        }
        _ => write!(f, " {dst}")?,
    }
    Ok(End::Length)
}

/// The protocol (TCP or UDP) and destination port of the packet an error
/// quotes, found past its extension headers the way tcpdump looks: by their
/// lengths alone, giving up at a later fragment or anything else.
fn quoted_port(quote: &[u8]) -> Option<(IpProtocol, u16)> {
    let mut next = IpProtocol::from(*quote.get(6)?);
    let mut at = ipv6::HEADER_LEN;
    // Every header is at least 8 octets, so `at` grows past the quote.
    loop {
        let rest = quote.get(at..)?;
        let len = match next {
            IpProtocol::Tcp | IpProtocol::Udp => {
                let &[hi, lo] = rest.get(2..4)? else {
                    return None;
                };
                return Some((next, u16::from_be_bytes([hi, lo])));
            }
            IpProtocol::HopByHop | IpProtocol::Ipv6Opts | IpProtocol::Ipv6Route => {
                (usize::from(*rest.get(1)?) + 1) * 8
            }
            IpProtocol::Ipv6Frag => {
                let &[hi, lo] = rest.get(2..4)? else {
                    return None;
                };
                // The data of a later fragment is no header.
                if u16::from_be_bytes([hi, lo]) & !0b111 != 0 {
                    return None;
                }
                8
            }
            IpProtocol::Ah => (usize::from(*rest.get(1)?) + 2) * 4,
            _ => return None,
        };
        next = IpProtocol::from(*rest.first()?);
        at += len;
    }
}
