//! tcpdump-style one-line rendering of packets, for logs and the CLI.
//!
//! [`PrettyIp`] prints an IP packet the way `tcpdump -n -S` prints it after
//! its `IP ` or `IP6 ` prefix: numeric addresses and ports, absolute
//! sequence numbers.
//! [`PrettyEthernet`] prints a frame like `tcpdump -e -n -S`, and
//! [`PrettyArp`] an ARP packet like tcpdump after its `ARP, ` prefix:
//!
//! ```text
//! 198.18.0.1.40000 > 198.18.0.2.80: Flags [S], seq 1000, win 64240, options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0
//! 198.18.0.1.40000 > 198.18.0.2.7: UDP, length 12
//! 198.18.0.1 > 198.18.0.2: ICMP echo request, id 16962, seq 1, length 29
//! 2001:2::1.40000 > 2001:2::2.80: Flags [S], seq 1, win 65535, length 0
//! 2001:2::1 > 2001:2::2: ICMP6, neighbor solicitation, who has 2001:2::2, length 32
//! 2001:2::1 > 2001:2::2: HBH frag (0|24) 40000 > 7: UDP, length 16
//! 02:00:00:00:00:01 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42: Request who-has 198.18.0.2 tell 198.18.0.1, length 28
//! ```
//!
//! The tests compare these lines with what tcpdump 4.99 prints for the
//! same bytes. Where tcpdump goes further, berth stops at the transport
//! line: tcpdump decodes application protocols on well-known ports (HTTP,
//! DNS, NTP, …: its line goes on after `length N`), many IP protocols and
//! EtherTypes berth does not speak (GRE, IGMP, SCTP, Mobility, LLDP,
//! 802.3/LLC), ICMP router advertisements in detail, ICMPv6 router
//! renumbering, node information and RPL messages, and some TCP option kinds
//! (see [`TcpOption`](super::TcpOption)'s `Display`); it hex-dumps what it
//! cannot decode, on further lines, where berth prints nothing more.
//!
//! IPv6 extension headers print as tcpdump prints them without `-v`
//! (`HBH `, `DSTOPT `, `RT6 (...) `, `frag (offset|length) `, `AH(...): `),
//! whatever RFC 8200 says a receiver should do with them, followed by the
//! upper-layer line; TCP and UDP then show only their ports, as in tcpdump.
//!
//! Printing never panics and never fails on any input: bytes that do not
//! parse print a short description in brackets, such as
//! `198.18.0.1 > 198.18.0.2: [bad tcp header: truncated]` or
//! `[truncated ip]`; a cut IPv6 extension header or ICMPv6 message ends the
//! line with tcpdump's own ` [|hbhopt]`, ` [|icmp6]`, …. Checksums are not
//! verified (tcpdump checks them only with `-v`).

use core::fmt;
use std::net::{IpAddr, Ipv4Addr};

use super::{Error, IpProtocol, arp, ethernet, icmpv4, ipv4, tcp, udp};

mod icmp6;
mod ip6;

use ip6::fmt_ipv6;

/// An IP packet, IPv4 or IPv6 by its version nibble, printed on one line
/// like `tcpdump -n -S` (without tcpdump's `IP ` prefix).
///
/// The slice is the datagram; bytes after the IPv4 Total Length or the IPv6
/// Payload Length (link padding) are ignored.
#[derive(Debug, Clone, Copy)]
pub struct PrettyIp<'a>(pub &'a [u8]);

/// An Ethernet II frame printed like `tcpdump -e -n -S`: addresses,
/// EtherType and frame length, then the payload's line (IPv4, IPv6, ARP,
/// behind any 802.1Q tags).
#[derive(Debug, Clone, Copy)]
pub struct PrettyEthernet<'a>(pub &'a [u8]);

/// An ARP packet printed like tcpdump (without its `ARP, ` prefix). The
/// printed length is the slice's, link padding included, as tcpdump counts.
#[derive(Debug, Clone, Copy)]
pub struct PrettyArp<'a>(pub &'a [u8]);

impl fmt::Display for PrettyIp<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.first().map(|b| b >> 4) {
            Some(4) => fmt_ipv4(f, self.0),
            Some(6) => fmt_ipv6(f, self.0),
            Some(version) => write!(f, "[ip version {version}]"),
            None => f.write_str("[truncated ip]"),
        }
    }
}

impl fmt::Display for PrettyEthernet<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Ok(frame) = ethernet::Packet::new_checked(self.0) else {
            return f.write_str("[truncated ethernet]");
        };
        write!(f, "{} > {}, ", frame.src_addr(), frame.dst_addr())?;
        let mut ethertype = u16::from(frame.ethertype());
        // tcpdump: a type field up to 1500 is an IEEE 802.3 length.
        if ethertype <= MAX_8023_LENGTH {
            return write!(f, "802.3, length {ethertype}");
        }
        write!(f, "ethertype ")?;
        fmt_ethertype(f, ethertype)?;
        write!(f, ", length {}", self.0.len())?;
        let mut payload = frame.payload();
        let mut separator = ": ";
        // 802.1Q tags, however many, in a loop: arbitrary input must not
        // recurse once per tag.
        while matches!(ethertype, TPID_8021Q | TPID_8021AD | TPID_9100) {
            let Some((&[t0, t1, e0, e1], inner)) = payload.split_first_chunk::<4>() else {
                return write!(f, "{separator}[truncated vlan]");
            };
            let tci = u16::from_be_bytes([t0, t1]);
            ethertype = u16::from_be_bytes([e0, e1]);
            write!(f, "{separator}vlan {}, p {}", tci & 0x0fff, tci >> 13)?;
            if tci & 0x1000 != 0 {
                f.write_str(", DEI")?;
            }
            f.write_str(", ethertype ")?;
            fmt_ethertype(f, ethertype)?;
            payload = inner;
            separator = ", ";
        }
        match ethertype {
            ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => write!(f, "{separator}{}", PrettyIp(payload)),
            ETHERTYPE_ARP => write!(f, "{separator}{}", PrettyArp(payload)),
            // tcpdump hex-dumps the rest on further lines.
            _ => Ok(()),
        }
    }
}

impl fmt::Display for PrettyArp<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let packet = match arp::Packet::new_checked(self.0) {
            Ok(packet) => packet,
            Err(e) => return write!(f, "[bad arp header: {}]", describe(e)),
        };
        let (hlen, plen) = (packet.hardware_len(), packet.protocol_len());
        let protocol = u16::from(packet.protocol_type());
        // tcpdump decodes the operation for any hardware with IPv4
        // addresses, and names the address kinds otherwise.
        if protocol != ETHERTYPE_IPV4 || plen != 4 || hlen == 0 {
            match u16::from(packet.hardware_type()) {
                1 => f.write_str("Ethernet")?,
                n => write!(f, "Unknown Hardware ({n})")?,
            }
            write!(f, " (len {hlen}), ")?;
            match protocol {
                ETHERTYPE_IPV4 => f.write_str("IPv4")?,
                ETHERTYPE_IPV6 => f.write_str("IPv6")?,
                ETHERTYPE_ARP => f.write_str("ARP")?,
                n => write!(f, "Unknown Protocol ({n:#06x})")?,
            }
            write!(f, " (len {plen})")?;
        } else {
            let spa = Ipv4Bytes(packet.source_protocol_addr());
            let tpa = Ipv4Bytes(packet.target_protocol_addr());
            let sha = LinkAddr(packet.source_hardware_addr());
            let tha = LinkAddr(packet.target_hardware_addr());
            match u16::from(packet.operation()) {
                1 => {
                    write!(f, "Request who-has {tpa}")?;
                    if tha.0.iter().any(|&b| b != 0) {
                        write!(f, " ({tha})")?;
                    }
                    write!(f, " tell {spa}")?;
                }
                2 => write!(f, "Reply {spa} is-at {sha}")?,
                3 => write!(f, "Reverse Request who-is {tha} tell {sha}")?,
                4 => write!(f, "Reverse Reply {tha} at {tpa}")?,
                8 => write!(f, "Inverse Request who-is {tha} tell {sha}")?,
                9 => write!(f, "Inverse Reply {sha} at {spa}")?,
                // tcpdump hex-dumps these instead of printing a length.
                10 => f.write_str("NACK Reply")?,
                n => write!(f, "Unknown ({n})")?,
            }
        }
        write!(f, ", length {}", self.0.len())
    }
}

/// The largest EtherType field that is an IEEE 802.3 length instead.
const MAX_8023_LENGTH: u16 = 1500;
const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_ARP: u16 = 0x0806;
const ETHERTYPE_IPV6: u16 = 0x86dd;
/// IEEE 802.1Q customer tag.
const TPID_8021Q: u16 = 0x8100;
/// IEEE 802.1ad service tag (QinQ).
const TPID_8021AD: u16 = 0x88a8;
/// The pre-standard QinQ tag.
const TPID_9100: u16 = 0x9100;

/// An EtherType as tcpdump names it: `IPv4 (0x0800)`. Types berth does
/// not speak print as `Unknown`, even those tcpdump names.
fn fmt_ethertype(f: &mut fmt::Formatter<'_>, ethertype: u16) -> fmt::Result {
    let name = match ethertype {
        ETHERTYPE_IPV4 => "IPv4",
        ETHERTYPE_ARP => "ARP",
        ETHERTYPE_IPV6 => "IPv6",
        TPID_8021Q => "802.1Q",
        TPID_8021AD => "802.1Q-QinQ",
        TPID_9100 => "802.1Q-9100",
        _ => "Unknown",
    };
    write!(f, "{name} ({ethertype:#06x})")
}

/// A parse error in a word or two, for the bracketed descriptions.
const fn describe(error: Error) -> &'static str {
    match error {
        Error::Truncated => "truncated",
        Error::Malformed => "malformed",
        Error::Checksum => "bad checksum",
        Error::Unsupported => "unsupported",
    }
}

/// A hardware address of any length, as colon-separated hex octets.
struct LinkAddr<'a>(&'a [u8]);

impl fmt::Display for LinkAddr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, byte) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

/// Four bytes known to be an IPv4 address (anything else prints as hex).
struct Ipv4Bytes<'a>(&'a [u8]);

impl fmt::Display for Ipv4Bytes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self.0 {
            [a, b, c, d] => write!(f, "{}", Ipv4Addr::new(a, b, c, d)),
            _ => write!(f, "{}", LinkAddr(self.0)),
        }
    }
}

fn fmt_ipv4(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    let packet = ipv4::Packet::new_unchecked(bytes);
    match packet.check_header_len() {
        Ok(()) => {}
        Err(Error::Malformed) if packet.header_len() < ipv4::HEADER_LEN => {
            return write!(f, "[bad ip header length {}]", packet.header_len());
        }
        Err(Error::Malformed) => {
            return write!(f, "[bad ip total length {}]", packet.total_len());
        }
        Err(_) => return f.write_str("[truncated ip]"),
    }
    // The header is whole: every getter but the payload's is in bounds, and
    // the payload stops at the end of the buffer.
    let (src, dst) = (IpAddr::V4(packet.src_addr()), IpAddr::V4(packet.dst_addr()));
    let total_len = usize::from(packet.total_len());
    if total_len > bytes.len() {
        let missing = total_len - bytes.len();
        return write!(f, "{src} > {dst}: [truncated ip: {missing} bytes missing]");
    }
    let protocol = packet.next_header();
    if packet.frag_offset() != 0 {
        // A later fragment: no transport header to show.
        return write!(f, "{src} > {dst}: ip-proto-{}", u8::from(protocol));
    }
    let ends = Endpoints::Addrs(src, dst);
    fmt_transport(f, ends, protocol, packet.payload(), packet.more_frags())
}

/// How an upper-layer line names its endpoints.
#[derive(Debug, Clone, Copy)]
enum Endpoints {
    /// Not written yet: TCP and UDP print `src.port > dst.port: `, the
    /// others `src > dst: ` (tcpdump after an IPv4 header, or an IPv6
    /// header with no extension headers).
    Addrs(IpAddr, IpAddr),
    /// The IPv6 printer already wrote `src > dst: ` and the extension
    /// headers: TCP and UDP print only `port > port: `, as tcpdump does.
    Written,
}

impl Endpoints {
    const fn is_ipv6(self) -> bool {
        match self {
            Self::Addrs(src, _) => src.is_ipv6(),
            Self::Written => true,
        }
    }

    /// `src > dst: `, unless already written.
    fn fmt_addrs(self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Addrs(src, dst) => write!(f, "{src} > {dst}: "),
            Self::Written => Ok(()),
        }
    }

    /// `src.port > dst.port: `, or `port > port: ` once the addresses are
    /// written.
    fn fmt_ports(self, f: &mut fmt::Formatter<'_>, src_port: u16, dst_port: u16) -> fmt::Result {
        match self {
            Self::Addrs(src, dst) => write!(f, "{src}.{src_port} > {dst}.{dst_port}: "),
            Self::Written => write!(f, "{src_port} > {dst_port}: "),
        }
    }
}

/// The upper-layer line after the IP header: `src.port > dst.port: ...` for
/// TCP and UDP, `src > dst: ICMP ...` (`ICMP6, ...`), and
/// `src > dst:  ip-proto-N LEN` for anything else (tcpdump's spelling, two
/// spaces and all). `fragmented` says more fragments follow, so a UDP length
/// past the data is expected.
fn fmt_transport(
    f: &mut fmt::Formatter<'_>,
    ends: Endpoints,
    protocol: IpProtocol,
    payload: &[u8],
    fragmented: bool,
) -> fmt::Result {
    let ipv6 = ends.is_ipv6();
    match protocol {
        IpProtocol::Tcp => return fmt_tcp(f, ends, payload),
        IpProtocol::Udp => return fmt_udp(f, ends, payload, fragmented),
        _ => {}
    }
    ends.fmt_addrs(f)?;
    match protocol {
        IpProtocol::Icmp if !ipv6 => fmt_icmpv4(f, payload),
        IpProtocol::Icmpv6 if ipv6 => icmp6::fmt_icmpv6(f, payload),
        // tcpdump's words for ICMP in the other IP version.
        IpProtocol::Icmp => f.write_str("[ICMP requires IPv4] (invalid)"),
        IpProtocol::Icmpv6 => f.write_str("[ICMPv6 requires IPv6] (invalid)"),
        IpProtocol::Ipv6NoNxt => f.write_str("no next header"),
        IpProtocol::Esp => fmt_esp(f, payload),
        other => write!(f, " ip-proto-{} {}", u8::from(other), payload.len()),
    }
}

/// An ESP header (RFC 4303) as tcpdump prints it: SPI, sequence number and
/// the length of everything from the SPI on. The rest is encrypted.
fn fmt_esp(f: &mut fmt::Formatter<'_>, payload: &[u8]) -> fmt::Result {
    match *payload {
        [s0, s1, s2, s3, q0, q1, q2, q3, ..] => write!(
            f,
            "ESP(spi=0x{:08x},seq=0x{:x}), length {}",
            u32::from_be_bytes([s0, s1, s2, s3]),
            u32::from_be_bytes([q0, q1, q2, q3]),
            payload.len()
        ),
        _ => f.write_str(" [|esp]"),
    }
}

fn fmt_tcp(f: &mut fmt::Formatter<'_>, ends: Endpoints, segment: &[u8]) -> fmt::Result {
    let packet = match tcp::Packet::new_checked(segment) {
        Ok(packet) => packet,
        Err(e) => {
            ends.fmt_addrs(f)?;
            return write!(f, "[bad tcp header: {}]", describe(e));
        }
    };
    let flags = packet.flags();
    ends.fmt_ports(f, packet.src_port(), packet.dst_port())?;
    write!(f, "Flags [{flags}]")?;
    let len = packet.payload().len();
    if len > 0 || flags.intersects(tcp::Flags::SYN | tcp::Flags::FIN | tcp::Flags::RST) {
        let seq = packet.seq_number();
        write!(f, ", seq {seq}")?;
        if len > 0 {
            // The sequence space wraps; so does the end of the range.
            let end = seq.wrapping_add(len as u32);
            write!(f, ":{end}")?;
        }
    }
    if flags.ack() {
        write!(f, ", ack {}", packet.ack_number())?;
    }
    write!(f, ", win {}", packet.window_len())?;
    if flags.urg() {
        write!(f, ", urg {}", packet.urgent_pointer())?;
    }
    if !packet.options().is_empty() {
        f.write_str(", options [")?;
        for (i, option) in packet.options_iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            match option {
                Ok(option) => write!(f, "{option}")?,
                // tcpdump's words; it stops the line here too.
                Err(_) => return f.write_str("[bad opt]]"),
            }
        }
        f.write_str("]")?;
    }
    write!(f, ", length {len}")
}

fn fmt_udp(
    f: &mut fmt::Formatter<'_>,
    ends: Endpoints,
    datagram: &[u8],
    fragmented: bool,
) -> fmt::Result {
    if datagram.len() < udp::HEADER_LEN {
        ends.fmt_addrs(f)?;
        return f.write_str("[bad udp header: truncated]");
    }
    // INVARIANT: the 8-byte header is in the buffer, so the port and length
    // getters are in bounds (the payload getter is not used).
    let packet = udp::Packet::new_unchecked(datagram);
    ends.fmt_ports(f, packet.src_port(), packet.dst_port())?;
    // tcpdump prints the length the header claims, and complains when it
    // runs past the data unless the datagram was fragmented.
    let claimed = usize::from(packet.len());
    if claimed < udp::HEADER_LEN {
        return write!(f, "truncated-udplength {claimed}");
    }
    if claimed > datagram.len() && !fragmented {
        return write!(
            f,
            "UDP, bad length {} > {}",
            claimed - udp::HEADER_LEN,
            datagram.len() - udp::HEADER_LEN
        );
    }
    write!(f, "UDP, length {}", claimed - udp::HEADER_LEN)
}

/// ICMP type numbers that [`icmpv4::Message`] does not name.
mod icmp_type {
    pub(super) const SOURCE_QUENCH: u8 = 4;
    pub(super) const INFO_REQUEST: u8 = 15;
    pub(super) const INFO_REPLY: u8 = 16;
    pub(super) const MASK_REQUEST: u8 = 17;
    pub(super) const MASK_REPLY: u8 = 18;
}

/// An ICMP message, after `src > dst: `.
fn fmt_icmpv4(f: &mut fmt::Formatter<'_>, message: &[u8]) -> fmt::Result {
    let packet = match icmpv4::Packet::new_checked(message) {
        Ok(packet) => packet,
        Err(e) => return write!(f, "[bad icmp header: {}]", describe(e)),
    };
    f.write_str("ICMP ")?;
    match fmt_icmpv4_body(f, &packet)? {
        Ok(()) => {}
        Err(e) => write!(f, "[bad icmp body: {}]", describe(e))?,
    }
    write!(f, ", length {}", message.len())
}

/// The part of an ICMP line between `ICMP ` and `, length`. The inner
/// `Err` is a message too short for its type; nothing was written then.
fn fmt_icmpv4_body(
    f: &mut fmt::Formatter<'_>,
    packet: &icmpv4::Packet<&[u8]>,
) -> Result<Result<(), Error>, fmt::Error> {
    use icmpv4::Message;

    let code = packet.msg_code();
    let data = packet.data();
    let word = |at: usize| -> Result<u32, Error> {
        match data.get(at..at + 4) {
            Some(&[a, b, c, d]) => Ok(u32::from_be_bytes([a, b, c, d])),
            _ => Err(Error::Truncated),
        }
    };
    match packet.msg_type() {
        Message::EchoRequest | Message::EchoReply => {
            let kind = if packet.msg_type() == Message::EchoRequest {
                "request"
            } else {
                "reply"
            };
            write!(
                f,
                "echo {kind}, id {}, seq {}",
                packet.echo_ident(),
                packet.echo_seq_no()
            )?;
        }
        Message::DstUnreachable => {
            let quote = match Quote::parse(data) {
                Ok(quote) => quote,
                Err(e) => return Ok(Err(e)),
            };
            if let Err(e) = fmt_unreachable(f, code, packet.next_hop_mtu(), &quote)? {
                return Ok(Err(e));
            }
        }
        Message::Redirect => {
            let quote = match Quote::parse(data) {
                Ok(quote) => quote,
                Err(e) => return Ok(Err(e)),
            };
            let gateway = Ipv4Addr::from(packet.rest_of_header());
            let qdst = quote.dst;
            match code {
                0 => write!(f, "redirect {qdst} to net {gateway}")?,
                1 => write!(f, "redirect {qdst} to host {gateway}")?,
                2 => write!(f, "redirect-tos {qdst} to net {gateway}")?,
                3 => write!(f, "redirect-tos {qdst} to host {gateway}")?,
                n => write!(f, "redirect-#{n} {qdst} to {gateway}")?,
            }
        }
        Message::TimeExceeded => {
            // tcpdump wants the quoted header here too, though it does not
            // print it without -v.
            if let Err(e) = Quote::parse(data) {
                return Ok(Err(e));
            }
            match code {
                0 => f.write_str("time exceeded in-transit")?,
                1 => f.write_str("ip reassembly time exceeded")?,
                n => write!(f, "time exceeded-#{n}")?,
            }
        }
        Message::ParamProblem => match code {
            0 => {
                let [pointer, ..] = packet.rest_of_header();
                write!(f, "parameter problem - octet {pointer}")?;
            }
            n => write!(f, "parameter problem - code {n}")?,
        },
        Message::Timestamp => write!(
            f,
            "time stamp query id {} seq {}",
            packet.echo_ident(),
            packet.echo_seq_no()
        )?,
        Message::TimestampReply => {
            let times = (word(0), word(4), word(8));
            let (Ok(org), Ok(recv), Ok(xmit)) = times else {
                return Ok(Err(Error::Truncated));
            };
            write!(
                f,
                "time stamp reply id {} seq {}: org {}, recv {}, xmit {}",
                packet.echo_ident(),
                packet.echo_seq_no(),
                IcmpTime(org),
                IcmpTime(recv),
                IcmpTime(xmit)
            )?;
        }
        // tcpdump goes on with the lifetime and the addresses.
        Message::RouterAdvert => f.write_str("router advertisement")?,
        Message::RouterSolicit => f.write_str("router solicitation")?,
        Message::Unknown(icmp_type::SOURCE_QUENCH) => f.write_str("source quench")?,
        Message::Unknown(icmp_type::INFO_REQUEST) => f.write_str("information request")?,
        Message::Unknown(icmp_type::INFO_REPLY) => f.write_str("information reply")?,
        Message::Unknown(icmp_type::MASK_REQUEST) => f.write_str("address mask request")?,
        Message::Unknown(icmp_type::MASK_REPLY) => match word(0) {
            Ok(mask) => write!(f, "address mask is {mask:#010x}")?,
            Err(e) => return Ok(Err(e)),
        },
        Message::Unknown(n) => write!(f, "type-#{n}")?,
    }
    Ok(Ok(()))
}

/// What tcpdump reads of the datagram an ICMP error quotes.
struct Quote<'a> {
    dst: Ipv4Addr,
    protocol: IpProtocol,
    /// The quoted payload: from the end of the quoted header to the end of
    /// the message (not bounded by the quoted Total Length).
    payload: &'a [u8],
}

impl<'a> Quote<'a> {
    /// Reads the quoted header, which must be whole.
    fn parse(data: &'a [u8]) -> Result<Self, Error> {
        let header = ipv4::Packet::new_unchecked(data);
        header.check_header_len()?;
        Ok(Self {
            dst: header.dst_addr(),
            protocol: header.next_header(),
            payload: data.get(header.header_len()..).ok_or(Error::Truncated)?,
        })
    }

    /// The destination port of the quoted TCP or UDP (or other) header.
    fn dst_port(&self) -> Result<u16, Error> {
        match self.payload.get(2..4) {
            Some(&[hi, lo]) => Ok(u16::from_be_bytes([hi, lo])),
            _ => Err(Error::Truncated),
        }
    }
}

fn fmt_unreachable(
    f: &mut fmt::Formatter<'_>,
    code: u8,
    mtu: u16,
    quote: &Quote<'_>,
) -> Result<Result<(), Error>, fmt::Error> {
    use icmpv4::DstUnreachable as Code;

    let qdst = quote.dst;
    match Code::from(code) {
        Code::NetUnreachable => write!(f, "net {qdst} unreachable")?,
        Code::HostUnreachable => write!(f, "host {qdst} unreachable")?,
        Code::ProtoUnreachable => write!(
            f,
            "{qdst} protocol {} unreachable",
            u8::from(quote.protocol)
        )?,
        Code::PortUnreachable => {
            let port = match quote.dst_port() {
                Ok(port) => port,
                Err(e) => return Ok(Err(e)),
            };
            match quote.protocol {
                IpProtocol::Tcp => write!(f, "{qdst} tcp port {port} unreachable")?,
                IpProtocol::Udp => write!(f, "{qdst} udp port {port} unreachable")?,
                other => write!(
                    f,
                    "{qdst} protocol {} port {port} unreachable",
                    u8::from(other)
                )?,
            }
        }
        Code::FragRequired if mtu != 0 => {
            write!(f, "{qdst} unreachable - need to frag (mtu {mtu})")?;
        }
        Code::FragRequired => write!(f, "{qdst} unreachable - need to frag")?,
        Code::SrcRouteFailed => write!(f, "{qdst} unreachable - source route failed")?,
        Code::DstNetUnknown => write!(f, "net {qdst} unreachable - unknown")?,
        Code::DstHostUnknown => write!(f, "host {qdst} unreachable - unknown")?,
        Code::SrcHostIsolated => write!(f, "{qdst} unreachable - source host isolated")?,
        Code::NetProhibited => write!(f, "net {qdst} unreachable - admin prohibited")?,
        Code::HostProhibited => write!(f, "host {qdst} unreachable - admin prohibited")?,
        Code::NetUnreachToS => write!(f, "net {qdst} unreachable - tos prohibited")?,
        Code::HostUnreachToS => write!(f, "host {qdst} unreachable - tos prohibited")?,
        Code::AdminProhibited => {
            write!(f, "host {qdst} unreachable - admin prohibited filter")?;
        }
        Code::HostPrecedenceViolation => {
            write!(f, "host {qdst} unreachable - host precedence violation")?;
        }
        Code::PrecedenceCutoff => write!(f, "host {qdst} unreachable - precedence cutoff")?,
        Code::Unknown(n) => write!(f, "{qdst} unreachable - #{n}")?,
    }
    Ok(Ok(()))
}

/// An ICMP timestamp, milliseconds since midnight UT, as tcpdump prints it:
/// `HH:MM:SS.mmm`, the hours not wrapping at 24.
struct IcmpTime(u32);

impl fmt::Display for IcmpTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (ms, secs) = (self.0 % 1000, self.0 / 1000);
        let (hours, mins, secs) = (secs / 3600, secs / 60 % 60, secs % 60);
        write!(f, "{hours:02}:{mins:02}:{secs:02}.{ms:03}")
    }
}

#[cfg(test)]
mod tests;
