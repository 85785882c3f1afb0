//! The parsed form of an ICMPv6 message ([`Repr`]): parse with the checks of
//! RFC 4443 and RFC 4861, and emit.

use std::net::Ipv6Addr;

use super::{
    DstUnreachable, HEADER_LEN, Message, NdpOption, NdpOptions, NeighborFlags, Packet,
    ParamProblem, PrefixInfos, RouterFlags, TimeExceeded, field,
};
use crate::wire::{ChecksumCaps, Error, Result, RxChecksum, ipv6};

/// A parsed ICMPv6 message.
///
/// Error messages carry the invoking packet's IPv6 header and the quoted
/// octets after its extension headers (`data`: the upper-layer header and
/// what follows, as far as quoted). `emit` writes `header` as a bare 40-byte
/// IPv6 header followed by `data`; to quote a packet verbatim, extension
/// headers included, give it [`ipv6::Repr::from_fixed_header`] and the
/// packet's payload, cut to [`MAX_ERROR_DATA_LEN`](super::MAX_ERROR_DATA_LEN).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repr<'a> {
    /// Echo Request (RFC 4443 section 4.1).
    EchoRequest {
        /// Identifier.
        ident: u16,
        /// Sequence Number.
        seq_no: u16,
        /// Data.
        data: &'a [u8],
    },
    /// Echo Reply (RFC 4443 section 4.2).
    EchoReply {
        /// Identifier.
        ident: u16,
        /// Sequence Number.
        seq_no: u16,
        /// Data.
        data: &'a [u8],
    },
    /// Destination Unreachable (RFC 4443 section 3.1).
    DstUnreachable {
        /// The Code.
        reason: DstUnreachable,
        /// The invoking packet's IPv6 header.
        header: ipv6::Repr,
        /// The quoted octets after its extension headers.
        data: &'a [u8],
    },
    /// Packet Too Big (RFC 4443 section 3.2).
    PktTooBig {
        /// The MTU of the next-hop link.
        mtu: u32,
        /// The invoking packet's IPv6 header.
        header: ipv6::Repr,
        /// The quoted octets after its extension headers.
        data: &'a [u8],
    },
    /// Time Exceeded (RFC 4443 section 3.3).
    TimeExceeded {
        /// The Code.
        reason: TimeExceeded,
        /// The invoking packet's IPv6 header.
        header: ipv6::Repr,
        /// The quoted octets after its extension headers.
        data: &'a [u8],
    },
    /// Parameter Problem (RFC 4443 section 3.4).
    ParamProblem {
        /// The Code.
        reason: ParamProblem,
        /// The offset in the invoking packet of the octet in error.
        pointer: u32,
        /// The invoking packet's IPv6 header.
        header: ipv6::Repr,
        /// The quoted octets after its extension headers.
        data: &'a [u8],
    },
    /// Router Solicitation (RFC 4861 section 4.1).
    RouterSolicit {
        /// The Source Link-Layer Address option.
        lladdr: Option<[u8; 6]>,
    },
    /// Router Advertisement (RFC 4861 section 4.2).
    RouterAdvert {
        /// Cur Hop Limit; 0 is unspecified.
        hop_limit: u8,
        /// The M and O flags.
        flags: RouterFlags,
        /// Router Lifetime in seconds; 0 is not a default router.
        router_lifetime: u16,
        /// Reachable Time in milliseconds; 0 is unspecified.
        reachable_time: u32,
        /// Retrans Timer in milliseconds; 0 is unspecified.
        retrans_time: u32,
        /// The Source Link-Layer Address option.
        lladdr: Option<[u8; 6]>,
        /// The MTU option.
        mtu: Option<u32>,
        /// The Prefix Information options.
        prefix_infos: PrefixInfos<'a>,
    },
    /// Neighbor Solicitation (RFC 4861 section 4.3).
    NeighborSolicit {
        /// The address whose link-layer address is sought.
        target_addr: Ipv6Addr,
        /// The Source Link-Layer Address option.
        lladdr: Option<[u8; 6]>,
    },
    /// Neighbor Advertisement (RFC 4861 section 4.4).
    NeighborAdvert {
        /// The R, S and O flags.
        flags: NeighborFlags,
        /// The address advertised.
        target_addr: Ipv6Addr,
        /// The Target Link-Layer Address option.
        lladdr: Option<[u8; 6]>,
    },
}

/// The options an NDP `Repr` keeps. Of each kind only the first counts, as
/// in Linux; the rest, and unknown options, are skipped.
#[derive(Default)]
struct Found {
    source: Option<[u8; 6]>,
    target: Option<[u8; 6]>,
    mtu: Option<u32>,
}

impl Found {
    fn collect(options: &[u8]) -> Result<Self> {
        let mut found = Self::default();
        for option in NdpOptions::new(options) {
            match option? {
                NdpOption::SourceLinkLayerAddr(addr) => {
                    found.source.get_or_insert(addr);
                }
                NdpOption::TargetLinkLayerAddr(addr) => {
                    found.target.get_or_insert(addr);
                }
                NdpOption::Mtu(mtu) => {
                    found.mtu.get_or_insert(mtu);
                }
                //= https://www.rfc-editor.org/rfc/rfc4861#section-4.1
                //# Receivers MUST silently ignore any options they do not recognize
                //# and continue processing the message.
                NdpOption::PrefixInformation(_) | NdpOption::Unknown { .. } => {}
            }
        }
        Ok(found)
    }
}

/// The validity checks every NDP message shares.
fn check_ndp_code<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<()> {
    //= https://www.rfc-editor.org/rfc/rfc4861#section-7.1.1
    //# - ICMP Code is 0.
    if packet.msg_code() != 0 {
        return Err(Error::Malformed);
    }
    Ok(())
}

/// The rule of RFC 4861 sections 6.1.1 and 7.1.1 for solicitations.
fn check_unspecified_source(src: Ipv6Addr, lladdr: Option<[u8; 6]>) -> Result<()> {
    //= https://www.rfc-editor.org/rfc/rfc4861#section-7.1.1
    //# - If the IP source address is the unspecified address, there is no
    //#   source link-layer address option in the message.
    if src.is_unspecified() && lladdr.is_some() {
        return Err(Error::Malformed);
    }
    Ok(())
}

impl<'a> Repr<'a> {
    /// Parses a checked view of a message sent from `src` to `dst`.
    ///
    /// Unknown types, Redirect and MLD are [`Error::Unsupported`]. Echo and
    /// Packet Too Big ignore their Code; error messages take any Code (an
    /// unnamed one as `Unknown`). NDP messages must pass the checks of RFC
    /// 4861 that need no more than the message and its addresses
    /// ([`Error::Malformed`]).
    pub fn parse<T: AsRef<[u8]> + ?Sized>(
        packet: &Packet<&'a T>,
        src: Ipv6Addr,
        dst: Ipv6Addr,
        caps: ChecksumCaps,
    ) -> Result<Self> {
        packet.check_len()?;
        if caps.rx == RxChecksum::Verify && !packet.verify_checksum(src, dst) {
            return Err(Error::Checksum);
        }
        let buffer: &'a [u8] = packet.buffer.as_ref();
        let payload = buffer.get(field::PAYLOAD..).unwrap_or_default();
        let options = match packet.msg_type() {
            msg_type if msg_type.is_ndp() => buffer.get(msg_type.fixed_len()..).unwrap_or_default(),
            _ => &[],
        };
        let code = packet.msg_code();
        match packet.msg_type() {
            Message::EchoRequest => Ok(Self::EchoRequest {
                ident: packet.echo_ident(),
                seq_no: packet.echo_seq_no(),
                data: payload,
            }),
            Message::EchoReply => Ok(Self::EchoReply {
                ident: packet.echo_ident(),
                seq_no: packet.echo_seq_no(),
                data: payload,
            }),
            //= https://www.rfc-editor.org/rfc/rfc4443#section-3.1
            //# This field is unused for all code values.
            //# It must be initialized to zero by the originator
            //# and ignored by the receiver.
            Message::DstUnreachable => {
                let (header, data) = ipv6::Repr::parse_quoted(payload)?;
                Ok(Self::DstUnreachable {
                    reason: code.into(),
                    header,
                    data,
                })
            }
            //= https://www.rfc-editor.org/rfc/rfc4443#section-3.2
            //# Set to 0 (zero) by the originator and ignored by the
            //# receiver.
            Message::PktTooBig => {
                let (header, data) = ipv6::Repr::parse_quoted(payload)?;
                Ok(Self::PktTooBig {
                    mtu: packet.mtu(),
                    header,
                    data,
                })
            }
            Message::TimeExceeded => {
                let (header, data) = ipv6::Repr::parse_quoted(payload)?;
                Ok(Self::TimeExceeded {
                    reason: code.into(),
                    header,
                    data,
                })
            }
            Message::ParamProblem => {
                let (header, data) = ipv6::Repr::parse_quoted(payload)?;
                Ok(Self::ParamProblem {
                    reason: code.into(),
                    pointer: packet.pointer(),
                    header,
                    data,
                })
            }
            Message::RouterSolicit => {
                check_ndp_code(packet)?;
                let lladdr = Found::collect(options)?.source;
                //= https://www.rfc-editor.org/rfc/rfc4861#section-6.1.1
                //# - If the IP source address is the unspecified address, there is no
                //#   source link-layer address option in the message.
                check_unspecified_source(src, lladdr)?;
                Ok(Self::RouterSolicit { lladdr })
            }
            Message::RouterAdvert => {
                check_ndp_code(packet)?;
                let found = Found::collect(options)?;
                Ok(Self::RouterAdvert {
                    hop_limit: packet.cur_hop_limit(),
                    flags: packet.router_flags(),
                    router_lifetime: packet.router_lifetime(),
                    reachable_time: packet.reachable_time(),
                    retrans_time: packet.retrans_time(),
                    lladdr: found.source,
                    mtu: found.mtu,
                    prefix_infos: PrefixInfos::from_options(options),
                })
            }
            Message::NeighborSolicit => {
                check_ndp_code(packet)?;
                let target_addr = packet.target_addr();
                //= https://www.rfc-editor.org/rfc/rfc4861#section-7.1.1
                //# - Target Address is not a multicast address.
                if target_addr.is_multicast() {
                    return Err(Error::Malformed);
                }
                let lladdr = Found::collect(options)?.source;
                check_unspecified_source(src, lladdr)?;
                Ok(Self::NeighborSolicit {
                    target_addr,
                    lladdr,
                })
            }
            Message::NeighborAdvert => {
                check_ndp_code(packet)?;
                let flags = packet.neighbor_flags();
                let target_addr = packet.target_addr();
                //= https://www.rfc-editor.org/rfc/rfc4861#section-7.1.2
                //# - Target Address is not a multicast address.
                if target_addr.is_multicast() {
                    return Err(Error::Malformed);
                }
                //= https://www.rfc-editor.org/rfc/rfc4861#section-7.1.2
                //# - If the IP Destination Address is a multicast address the
                //#   Solicited flag is zero.
                if dst.is_multicast() && flags.solicited {
                    return Err(Error::Malformed);
                }
                let lladdr = Found::collect(options)?.target;
                Ok(Self::NeighborAdvert {
                    flags,
                    target_addr,
                    lladdr,
                })
            }
            //= https://www.rfc-editor.org/rfc/rfc4443#section-2.4
            //# (b) If an ICMPv6 informational message of unknown type is received,
            //# it MUST be silently discarded.
            // MLD is parsed by `mld::Repr`.
            Message::Redirect
            | Message::MldQuery
            | Message::MldReport
            | Message::MldDone
            | Message::MldReportV2
            | Message::Unknown(_) => Err(Error::Unsupported),
        }
    }

    /// The message's Type.
    pub const fn msg_type(&self) -> Message {
        match self {
            Self::EchoRequest { .. } => Message::EchoRequest,
            Self::EchoReply { .. } => Message::EchoReply,
            Self::DstUnreachable { .. } => Message::DstUnreachable,
            Self::PktTooBig { .. } => Message::PktTooBig,
            Self::TimeExceeded { .. } => Message::TimeExceeded,
            Self::ParamProblem { .. } => Message::ParamProblem,
            Self::RouterSolicit { .. } => Message::RouterSolicit,
            Self::RouterAdvert { .. } => Message::RouterAdvert,
            Self::NeighborSolicit { .. } => Message::NeighborSolicit,
            Self::NeighborAdvert { .. } => Message::NeighborAdvert,
        }
    }

    /// The octets `emit_header` writes: all but the echo data or the
    /// quoted data of an error message.
    pub fn header_len(&self) -> usize {
        match self {
            Self::EchoRequest { .. } | Self::EchoReply { .. } => HEADER_LEN,
            Self::DstUnreachable { .. }
            | Self::PktTooBig { .. }
            | Self::TimeExceeded { .. }
            | Self::ParamProblem { .. } => HEADER_LEN + ipv6::HEADER_LEN,
            Self::RouterSolicit { lladdr } => {
                Message::RouterSolicit.fixed_len() + lladdr_len(lladdr)
            }
            Self::RouterAdvert {
                lladdr,
                mtu,
                prefix_infos,
                ..
            } => {
                Message::RouterAdvert.fixed_len()
                    + lladdr_len(lladdr)
                    + mtu.map_or(0, |mtu| NdpOption::Mtu(mtu).buffer_len())
                    + prefix_infos
                        .iter()
                        .map(|info| NdpOption::PrefixInformation(info).buffer_len())
                        .sum::<usize>()
            }
            Self::NeighborSolicit { lladdr, .. } | Self::NeighborAdvert { lladdr, .. } => {
                Message::NeighborSolicit.fixed_len() + lladdr_len(lladdr)
            }
        }
    }

    /// The data after the header: echo data, or quoted data.
    const fn data(&self) -> &'a [u8] {
        match self {
            Self::EchoRequest { data, .. }
            | Self::EchoReply { data, .. }
            | Self::DstUnreachable { data, .. }
            | Self::PktTooBig { data, .. }
            | Self::TimeExceeded { data, .. }
            | Self::ParamProblem { data, .. } => data,
            _ => &[],
        }
    }

    /// The exact length `emit` writes.
    pub fn buffer_len(&self) -> usize {
        self.header_len() + self.data().len()
    }

    /// Writes everything but the data after the header, the checksum
    /// zeroed, into a buffer of exactly [`Repr::buffer_len`] octets.
    pub fn emit_header<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        packet.set_msg_type(self.msg_type());
        packet.set_msg_code(0);
        packet.set_checksum(0);
        packet.clear_reserved();
        let quoted = |packet: &mut Packet<T>, header: &ipv6::Repr| {
            let quote = &mut packet.payload_mut()[..ipv6::HEADER_LEN];
            header.emit_header(&mut ipv6::Packet::new_unchecked(quote));
        };
        match *self {
            Self::EchoRequest { ident, seq_no, .. } | Self::EchoReply { ident, seq_no, .. } => {
                packet.set_echo_ident(ident);
                packet.set_echo_seq_no(seq_no);
            }
            Self::DstUnreachable { reason, header, .. } => {
                packet.set_msg_code(reason.into());
                quoted(packet, &header);
            }
            Self::PktTooBig { mtu, header, .. } => {
                packet.set_mtu(mtu);
                quoted(packet, &header);
            }
            Self::TimeExceeded { reason, header, .. } => {
                packet.set_msg_code(reason.into());
                quoted(packet, &header);
            }
            Self::ParamProblem {
                reason,
                pointer,
                header,
                ..
            } => {
                packet.set_msg_code(reason.into());
                packet.set_pointer(pointer);
                quoted(packet, &header);
            }
            Self::RouterSolicit { lladdr } => {
                emit_options(
                    packet,
                    lladdr.map(NdpOption::SourceLinkLayerAddr),
                    None,
                    PrefixInfos::EMPTY,
                );
            }
            Self::RouterAdvert {
                hop_limit,
                flags,
                router_lifetime,
                reachable_time,
                retrans_time,
                lladdr,
                mtu,
                prefix_infos,
            } => {
                packet.set_cur_hop_limit(hop_limit);
                packet.set_router_flags(flags);
                packet.set_router_lifetime(router_lifetime);
                packet.set_reachable_time(reachable_time);
                packet.set_retrans_time(retrans_time);
                emit_options(
                    packet,
                    lladdr.map(NdpOption::SourceLinkLayerAddr),
                    mtu,
                    prefix_infos,
                );
            }
            Self::NeighborSolicit {
                target_addr,
                lladdr,
            } => {
                packet.set_target_addr(target_addr);
                emit_options(
                    packet,
                    lladdr.map(NdpOption::SourceLinkLayerAddr),
                    None,
                    PrefixInfos::EMPTY,
                );
            }
            Self::NeighborAdvert {
                flags,
                target_addr,
                lladdr,
            } => {
                packet.set_neighbor_flags(flags);
                packet.set_target_addr(target_addr);
                emit_options(
                    packet,
                    lladdr.map(NdpOption::TargetLinkLayerAddr),
                    None,
                    PrefixInfos::EMPTY,
                );
            }
        }
    }

    /// Writes the whole message, data and checksum included, into a buffer
    /// of exactly [`Repr::buffer_len`] octets.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut Packet<T>,
        src: Ipv6Addr,
        dst: Ipv6Addr,
        caps: ChecksumCaps,
    ) {
        self.emit_header(packet);
        let data = self.data();
        let at = self.header_len();
        packet.buffer.as_mut()[at..at + data.len()].copy_from_slice(data);
        packet.fill_checksum(src, dst, caps.tx);
    }
}

/// The length of an optional link-layer address option.
const fn lladdr_len(lladdr: &Option<[u8; 6]>) -> usize {
    if lladdr.is_some() { 8 } else { 0 }
}

/// Writes the options of an NDP message in the order RFC 4861 lists them:
/// link-layer address, MTU, prefixes.
fn emit_options<T: AsRef<[u8]> + AsMut<[u8]>>(
    packet: &mut Packet<T>,
    lladdr: Option<NdpOption<'_>>,
    mtu: Option<u32>,
    prefix_infos: PrefixInfos<'_>,
) {
    let options = packet.options_mut();
    let mut at = 0;
    let all = lladdr
        .into_iter()
        .chain(mtu.map(NdpOption::Mtu))
        .chain(prefix_infos.iter().map(NdpOption::PrefixInformation));
    for option in all {
        option.emit(&mut options[at..]);
        at += option.buffer_len();
    }
}
