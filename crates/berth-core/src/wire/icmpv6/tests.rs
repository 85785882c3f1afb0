use std::net::Ipv6Addr;

use proptest::prelude::*;

use super::*;
use crate::wire::testing::{assert_truncations_fail, prefilled};
use crate::wire::vectors::{
    ICMPV6_DST_UNREACH, ICMPV6_ECHO_REPLY, ICMPV6_ECHO_REQUEST, ICMPV6_NA, ICMPV6_NS,
    ICMPV6_PARAM_PROBLEM, ICMPV6_PKT_TOO_BIG, ICMPV6_RA, ICMPV6_RA_RDNSS, ICMPV6_RS,
    ICMPV6_TIME_EXCEEDED, IPV6_HBH_DISCARD,
};
use crate::wire::{ChecksumCaps, RxChecksum};

const A6: Ipv6Addr = Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 1);
const B6: Ipv6Addr = Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 2);
const C6: Ipv6Addr = Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 3);
const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
const MAC_A: [u8; 6] = [2, 0, 0, 0, 0, 1];
const MAC_B: [u8; 6] = [2, 0, 0, 0, 0, 2];

const TRUST: ChecksumCaps = ChecksumCaps {
    rx: RxChecksum::Trust,
    ..ChecksumCaps::FULL
};

const EVERY_VECTOR: [&[u8]; 11] = [
    &ICMPV6_ECHO_REQUEST,
    &ICMPV6_ECHO_REPLY,
    &ICMPV6_DST_UNREACH,
    &ICMPV6_PKT_TOO_BIG,
    &ICMPV6_TIME_EXCEEDED,
    &ICMPV6_PARAM_PROBLEM,
    &ICMPV6_RS,
    &ICMPV6_RA,
    &ICMPV6_RA_RDNSS,
    &ICMPV6_NS,
    &ICMPV6_NA,
];

fn parse_with(bytes: &[u8], src: Ipv6Addr, dst: Ipv6Addr, caps: ChecksumCaps) -> Result<Repr<'_>> {
    Repr::parse(&Packet::new_checked(bytes)?, src, dst, caps)
}

fn parse(bytes: &[u8], src: Ipv6Addr, dst: Ipv6Addr) -> Result<Repr<'_>> {
    parse_with(bytes, src, dst, ChecksumCaps::FULL)
}

/// A whole vector: its IPv6 header, then the message.
fn parse_vector(vector: &[u8]) -> Result<Repr<'_>> {
    let ip = ipv6::Packet::new_checked(vector)?;
    let header = ipv6::Repr::parse(&ip)?;
    assert_eq!(header.next_header, IpProtocol::Icmpv6);
    let message = vector.get(ipv6::HEADER_LEN..).unwrap_or_default();
    parse(message, header.src_addr, header.dst_addr)
}

fn emit(repr: &Repr<'_>, src: Ipv6Addr, dst: Ipv6Addr) -> Vec<u8> {
    let mut buf = prefilled(repr.buffer_len());
    repr.emit(
        &mut Packet::new_unchecked(&mut buf[..]),
        src,
        dst,
        ChecksumCaps::FULL,
    );
    buf
}

/// The quoted IPv6 header of an error vector, as a parsed one.
fn quoted(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    next_header: IpProtocol,
    payload_len: usize,
    hop_limit: u8,
) -> ipv6::Repr {
    ipv6::Repr {
        src_addr: src,
        dst_addr: dst,
        next_header,
        payload_len,
        hop_limit,
        traffic_class: 0,
        flow_label: 0,
    }
}

const PREFIX_1: PrefixInfo = PrefixInfo {
    prefix_len: 64,
    on_link: true,
    autonomous: true,
    valid_lifetime: 86400,
    preferred_lifetime: 14400,
    prefix: Ipv6Addr::new(0x2001, 2, 0, 1, 0, 0, 0, 0),
};
const PREFIX_2: PrefixInfo = PrefixInfo {
    prefix_len: 64,
    on_link: true,
    autonomous: false,
    valid_lifetime: 3600,
    preferred_lifetime: 1800,
    prefix: Ipv6Addr::new(0x2001, 2, 0, 2, 0, 0, 0, 0),
};
const PREFIXES: [PrefixInfo; 2] = [PREFIX_1, PREFIX_2];

/// Each vector with its source, destination and parsed form.
fn expected() -> Vec<(&'static [u8], Ipv6Addr, Ipv6Addr, Repr<'static>)> {
    vec![
        (
            &ICMPV6_ECHO_REQUEST,
            A6,
            B6,
            Repr::EchoRequest {
                ident: 0x1234,
                seq_no: 1,
                data: b"berth ping",
            },
        ),
        (
            &ICMPV6_ECHO_REPLY,
            B6,
            A6,
            Repr::EchoReply {
                ident: 0x1234,
                seq_no: 1,
                data: b"berth ping",
            },
        ),
        (
            &ICMPV6_DST_UNREACH,
            B6,
            A6,
            Repr::DstUnreachable {
                reason: DstUnreachable::PortUnreachable,
                header: quoted(A6, B6, IpProtocol::Udp, 13, 64),
                data: &ICMPV6_DST_UNREACH[88..],
            },
        ),
        (
            &ICMPV6_PKT_TOO_BIG,
            C6,
            A6,
            // The quote is cut: 32 of the 120 octets the header announces.
            Repr::PktTooBig {
                mtu: 1280,
                header: quoted(A6, B6, IpProtocol::Tcp, 120, 64),
                data: &ICMPV6_PKT_TOO_BIG[88..],
            },
        ),
        (
            &ICMPV6_TIME_EXCEEDED,
            C6,
            A6,
            Repr::TimeExceeded {
                reason: TimeExceeded::HopLimitExceeded,
                header: quoted(A6, B6, IpProtocol::Udp, 8, 1),
                data: &ICMPV6_TIME_EXCEEDED[88..],
            },
        ),
        (
            &ICMPV6_RS,
            A6,
            B6,
            Repr::RouterSolicit {
                lladdr: Some(MAC_A),
            },
        ),
        (
            &ICMPV6_RA,
            B6,
            A6,
            Repr::RouterAdvert {
                hop_limit: 64,
                flags: RouterFlags {
                    managed: true,
                    other: false,
                },
                router_lifetime: 1800,
                reachable_time: 30000,
                retrans_time: 1000,
                lladdr: Some(MAC_B),
                mtu: Some(1500),
                prefix_infos: PrefixInfos::new(&PREFIXES),
            },
        ),
        (
            &ICMPV6_NS,
            A6,
            B6,
            Repr::NeighborSolicit {
                target_addr: B6,
                lladdr: Some(MAC_A),
            },
        ),
        (
            &ICMPV6_NA,
            B6,
            A6,
            Repr::NeighborAdvert {
                flags: NeighborFlags {
                    router: false,
                    solicited: true,
                    r#override: true,
                },
                target_addr: B6,
                lladdr: Some(MAC_B),
            },
        ),
    ]
}

#[test]
fn deconstruct() {
    for (vector, src, dst, repr) in expected() {
        assert_eq!(parse(&vector[40..], src, dst), Ok(repr), "{repr:?}");
        assert_eq!(parse_vector(vector), Ok(repr));
    }
}

#[test]
fn deconstruct_views() {
    let echo = Packet::new_checked(&ICMPV6_ECHO_REQUEST[40..]).unwrap();
    assert_eq!(echo.msg_type(), Message::EchoRequest);
    assert_eq!(echo.msg_code(), 0);
    assert_eq!(echo.checksum(), 0x11aa);
    assert_eq!(echo.echo_ident(), 0x1234);
    assert_eq!(echo.echo_seq_no(), 1);
    assert_eq!(echo.payload(), b"berth ping");
    assert_eq!(echo.options(), b"");
    assert!(echo.verify_checksum(A6, B6));
    // Swapped addresses sum the same; another one does not.
    assert!(!echo.verify_checksum(A6, C6));

    let ra = Packet::new_checked(&ICMPV6_RA[40..]).unwrap();
    assert_eq!(ra.msg_type(), Message::RouterAdvert);
    assert_eq!(ra.cur_hop_limit(), 64);
    assert_eq!(
        ra.router_flags(),
        RouterFlags {
            managed: true,
            other: false
        }
    );
    assert_eq!(ra.router_lifetime(), 1800);
    assert_eq!(ra.reachable_time(), 30000);
    assert_eq!(ra.retrans_time(), 1000);
    assert_eq!(ra.options(), &ICMPV6_RA[56..]);
    let options: Vec<_> = NdpOptions::new(ra.options()).collect();
    assert_eq!(
        options,
        [
            Ok(NdpOption::SourceLinkLayerAddr(MAC_B)),
            Ok(NdpOption::Mtu(1500)),
            Ok(NdpOption::PrefixInformation(PREFIX_1)),
            Ok(NdpOption::PrefixInformation(PREFIX_2)),
        ]
    );

    let na = Packet::new_checked(&ICMPV6_NA[40..]).unwrap();
    assert_eq!(na.target_addr(), B6);
    assert_eq!(
        na.neighbor_flags(),
        NeighborFlags {
            router: false,
            solicited: true,
            r#override: true
        }
    );

    let pp = Packet::new_checked(&ICMPV6_PARAM_PROBLEM[40..]).unwrap();
    assert_eq!(pp.msg_type(), Message::ParamProblem);
    assert_eq!(pp.msg_code(), 2);
    assert_eq!(pp.pointer(), 42);
    let ptb = Packet::new_checked(&ICMPV6_PKT_TOO_BIG[40..]).unwrap();
    assert_eq!(ptb.mtu(), 1280);
}

#[test]
fn deconstruct_skips_unknown_options() {
    //= https://www.rfc-editor.org/rfc/rfc4861#section-4.1
    //= type=test
    //# Receivers MUST silently ignore any options they do not recognize
    //# and continue processing the message.
    let repr = parse_vector(&ICMPV6_RA_RDNSS).unwrap();
    let prefix = PrefixInfo {
        prefix_len: 64,
        on_link: false,
        autonomous: true,
        valid_lifetime: u32::MAX,
        preferred_lifetime: u32::MAX,
        prefix: Ipv6Addr::new(0x2001, 2, 0, 3, 0, 0, 0, 0),
    };
    assert_eq!(
        repr,
        Repr::RouterAdvert {
            hop_limit: 0,
            flags: RouterFlags {
                managed: false,
                other: true,
            },
            router_lifetime: 0,
            reachable_time: 0,
            retrans_time: 0,
            lladdr: Some(MAC_B),
            mtu: None,
            prefix_infos: PrefixInfos::new(&[prefix]),
        }
    );
    let options: Vec<_> = NdpOptions::new(&ICMPV6_RA_RDNSS[56..])
        .map(Result::unwrap)
        .collect();
    assert!(matches!(options[1], NdpOption::Unknown { kind: 25, data } if data.len() == 22));
}

#[test]
fn deconstruct_quote_with_extension_header() {
    // The quoted packet would be discarded for its Hop-by-Hop option; the
    // lenient walk still finds its UDP header for the stack.
    let repr = parse_vector(&ICMPV6_PARAM_PROBLEM).unwrap();
    assert_eq!(
        repr,
        Repr::ParamProblem {
            reason: ParamProblem::UnrecognizedOption,
            pointer: 42,
            header: quoted(A6, B6, IpProtocol::Udp, 8, 64),
            data: &ICMPV6_PARAM_PROBLEM[96..],
        }
    );
}

#[test]
fn construct() {
    for (vector, src, dst, repr) in expected() {
        assert_eq!(emit(&repr, src, dst), &vector[40..], "{repr:?}");
    }
}

/// How the stack answers a packet the IPv6 walk discards: the Parameter
/// Problem quotes the packet verbatim, Hop-by-Hop header included.
#[test]
fn construct_param_problem_from_a_discard() {
    let invoking = ipv6::Packet::new_checked(&IPV6_HBH_DISCARD[..]).unwrap();
    let discard = invoking.walk_extensions().unwrap().discard.unwrap();
    let repr = Repr::ParamProblem {
        reason: discard.reason.into(),
        pointer: discard.pointer,
        header: ipv6::Repr::from_fixed_header(&invoking),
        data: invoking.payload(),
    };
    assert_eq!(emit(&repr, B6, A6), &ICMPV6_PARAM_PROBLEM[40..]);
}

#[test]
fn truncated() {
    // ICMPv6 has no length field: a cut message is caught by the IPv6
    // Payload Length, and, for the message alone, by the checksum, whose
    // pseudo-header covers the length.
    for vector in EVERY_VECTOR {
        assert_truncations_fail(vector, |b| parse_vector(b).map(|_| ()));
        let ip = ipv6::Repr::parse(&ipv6::Packet::new_checked(vector).unwrap()).unwrap();
        assert_truncations_fail(&vector[40..], |b| {
            parse(b, ip.src_addr, ip.dst_addr).map(|_| ())
        });
    }
}

#[test]
fn truncated_without_checksum() {
    // With the checksum trusted, the fixed parts and options still have to
    // be whole; a message cut between options is a shorter valid message.
    for len in 0..8 {
        assert_eq!(
            parse_with(&ICMPV6_ECHO_REQUEST[40..40 + len], A6, B6, TRUST),
            Err(Error::Truncated)
        );
    }
    for len in 8..24 {
        assert_eq!(
            parse_with(&ICMPV6_NS[40..40 + len], A6, B6, TRUST),
            Err(Error::Truncated),
            "{len}"
        );
    }
    for len in 8..16 {
        assert_eq!(
            parse_with(&ICMPV6_RA[40..40 + len], B6, A6, TRUST),
            Err(Error::Truncated),
            "{len}"
        );
    }
    for len in 25..32 {
        assert_eq!(
            parse_with(&ICMPV6_NS[40..40 + len], A6, B6, TRUST),
            Err(Error::Truncated),
            "{len}"
        );
    }
    assert!(parse_with(&ICMPV6_NS[40..64], A6, B6, TRUST).is_ok());
    // An error message needs the 40 octets of the quoted header.
    for len in 8..48 {
        assert_eq!(
            parse_with(&ICMPV6_DST_UNREACH[40..40 + len], B6, A6, TRUST),
            Err(Error::Truncated)
        );
    }
}

#[test]
fn impossible_len() {
    //= https://www.rfc-editor.org/rfc/rfc4861#section-4.6
    //= type=test
    //# The value 0 is invalid.  Nodes MUST
    //# silently discard an ND packet that contains an
    //# option with length zero.
    let mut bytes = ICMPV6_NS[40..].to_vec();
    bytes[25] = 0;
    assert_eq!(parse_with(&bytes, A6, B6, TRUST), Err(Error::Malformed));
    // An option longer than the message.
    bytes[25] = 2;
    assert_eq!(parse_with(&bytes, A6, B6, TRUST), Err(Error::Truncated));
    // A link-layer address option that is not Ethernet's 8 octets.
    let mut long = ICMPV6_NS[40..].to_vec();
    long[25] = 2;
    long.extend_from_slice(&[0; 8]);
    assert_eq!(parse_with(&long, A6, B6, TRUST), Err(Error::Malformed));
    // A Prefix Information option shorter than 32 octets.
    let mut bytes = ICMPV6_RA[40..].to_vec();
    bytes[33] = 3;
    assert_eq!(parse_with(&bytes, B6, A6, TRUST), Err(Error::Malformed));
    // A prefix length over 128.
    let mut bytes = ICMPV6_RA[40..].to_vec();
    bytes[34] = 129;
    assert_eq!(parse_with(&bytes, B6, A6, TRUST), Err(Error::Malformed));
    // A zero-length option after good ones, in an RA.
    let mut bytes = ICMPV6_RA[40..].to_vec();
    bytes[65] = 0;
    assert_eq!(parse_with(&bytes, B6, A6, TRUST), Err(Error::Malformed));
}

#[test]
fn ndp_validity() {
    //= https://www.rfc-editor.org/rfc/rfc4861#section-7.1.1
    //= type=test
    //# - ICMP Code is 0.
    for (vector, src, dst) in [
        (&ICMPV6_RS[..], A6, B6),
        (&ICMPV6_RA, B6, A6),
        (&ICMPV6_NS, A6, B6),
        (&ICMPV6_NA, B6, A6),
    ] {
        let mut bytes = vector[40..].to_vec();
        bytes[1] = 1;
        assert_eq!(parse_with(&bytes, src, dst, TRUST), Err(Error::Malformed));
    }

    //= https://www.rfc-editor.org/rfc/rfc4861#section-7.1.1
    //= type=test
    //# - Target Address is not a multicast address.
    for vector in [&ICMPV6_NS[..], &ICMPV6_NA] {
        let mut bytes = vector[40..].to_vec();
        bytes[8..24].copy_from_slice(&ALL_NODES.octets());
        assert_eq!(parse_with(&bytes, A6, B6, TRUST), Err(Error::Malformed));
    }

    //= https://www.rfc-editor.org/rfc/rfc4861#section-7.1.2
    //= type=test
    //# - If the IP Destination Address is a multicast address the
    //#   Solicited flag is zero.
    assert_eq!(
        parse_with(&ICMPV6_NA[40..], B6, ALL_NODES, TRUST),
        Err(Error::Malformed)
    );
    let mut unsolicited = ICMPV6_NA[40..].to_vec();
    unsolicited[4] = 0x20;
    assert!(parse_with(&unsolicited, B6, ALL_NODES, TRUST).is_ok());

    //= https://www.rfc-editor.org/rfc/rfc4861#section-7.1.1
    //= type=test
    //# - If the IP source address is the unspecified address, there is no
    //#   source link-layer address option in the message.
    let unspecified = Ipv6Addr::UNSPECIFIED;
    assert_eq!(
        parse_with(&ICMPV6_NS[40..], unspecified, B6, TRUST),
        Err(Error::Malformed)
    );
    assert_eq!(
        parse_with(&ICMPV6_RS[40..], unspecified, B6, TRUST),
        Err(Error::Malformed)
    );
    // Duplicate Address Detection: no option, unspecified source.
    let dad = Repr::NeighborSolicit {
        target_addr: B6,
        lladdr: None,
    };
    let bytes = emit(&dad, unspecified, ALL_NODES);
    assert_eq!(parse(&bytes, unspecified, ALL_NODES), Ok(dad));
}

#[test]
fn duplicate_options_keep_the_first() {
    let mut bytes = ICMPV6_NS[40..].to_vec();
    bytes.extend_from_slice(&[1, 1, 2, 0, 0, 0, 0, 9]);
    assert_eq!(
        parse_with(&bytes, A6, B6, TRUST),
        Ok(Repr::NeighborSolicit {
            target_addr: B6,
            lladdr: Some(MAC_A)
        })
    );
}

#[test]
fn checksum_rules() {
    let mut bytes = ICMPV6_ECHO_REQUEST[40..].to_vec();
    bytes[10] ^= 1;
    assert_eq!(parse(&bytes, A6, B6), Err(Error::Checksum));
    assert!(parse_with(&bytes, A6, B6, TRUST).is_ok());

    let repr = Repr::EchoReply {
        ident: 7,
        seq_no: 8,
        data: b"offload",
    };
    let mut buf = vec![0; repr.buffer_len()];
    let caps = ChecksumCaps {
        tx: TxChecksum::PseudoHeader,
        ..ChecksumCaps::FULL
    };
    repr.emit(&mut Packet::new_unchecked(&mut buf[..]), A6, B6, caps);
    let expected = checksum::pseudo_header_v6(A6, B6, IpProtocol::Icmpv6, buf.len() as u32);
    assert_eq!(Packet::new_unchecked(&buf[..]).checksum(), expected);
}

#[test]
fn codes() {
    // Error messages take codes they do not name; Packet Too Big and echo
    // ignore theirs.
    let mut bytes = ICMPV6_DST_UNREACH[40..].to_vec();
    bytes[1] = 9;
    assert!(matches!(
        parse_with(&bytes, B6, A6, TRUST),
        Ok(Repr::DstUnreachable {
            reason: DstUnreachable::Unknown(9),
            ..
        })
    ));
    //= https://www.rfc-editor.org/rfc/rfc4443#section-3.2
    //= type=test
    //# Set to 0 (zero) by the originator and ignored by the
    //# receiver.
    let mut bytes = ICMPV6_PKT_TOO_BIG[40..].to_vec();
    bytes[1] = 3;
    assert!(matches!(
        parse_with(&bytes, C6, A6, TRUST),
        Ok(Repr::PktTooBig { mtu: 1280, .. })
    ));
    for code in 0..=255 {
        assert_eq!(u8::from(DstUnreachable::from(code)), code);
        assert_eq!(u8::from(TimeExceeded::from(code)), code);
        assert_eq!(u8::from(ParamProblem::from(code)), code);
        assert_eq!(u8::from(Message::from(code)), code);
        assert_eq!(Message::from(code).is_error(), code < 128);
    }
    assert_eq!(
        ParamProblem::from(ipv6::DiscardReason::UnrecognizedRoutingType),
        ParamProblem::ErroneousHeaderField
    );
    assert_eq!(
        ParamProblem::from(ipv6::DiscardReason::IncompleteHeaderChain),
        ParamProblem::IncompleteHeaderChain
    );
}

#[test]
fn unsupported_types() {
    //= https://www.rfc-editor.org/rfc/rfc4443#section-2.4
    //= type=test
    //# (b) If an ICMPv6 informational message of unknown type is received,
    //# it MUST be silently discarded.
    for msg_type in [130, 137, 200, 100] {
        let mut bytes = vec![0; 40];
        bytes[0] = msg_type;
        assert_eq!(
            parse_with(&bytes, A6, B6, TRUST),
            Err(Error::Unsupported),
            "{msg_type}"
        );
    }
    // A Redirect shorter than its fixed part.
    let mut bytes = [0; 39];
    bytes[0] = 137;
    assert_eq!(
        Packet::new_checked(&bytes[..]).err(),
        Some(Error::Truncated)
    );
}

#[test]
fn getters_of_other_types_never_panic() {
    let packet = Packet::new_checked(&ICMPV6_ECHO_REQUEST[40..48]).unwrap();
    assert_eq!(packet.target_addr(), Ipv6Addr::UNSPECIFIED);
    assert_eq!(packet.retrans_time(), 0);
    assert_eq!(packet.options(), b"");
}

/// An owned message for proptest to generate; `repr` borrows it.
#[derive(Debug, Clone)]
enum Msg {
    Echo {
        request: bool,
        ident: u16,
        seq_no: u16,
        data: Vec<u8>,
    },
    Error {
        kind: u8,
        code: u8,
        value: u32,
        header: ipv6::Repr,
        data: Vec<u8>,
    },
    Rs {
        lladdr: Option<[u8; 6]>,
    },
    Ra {
        hop_limit: u8,
        flags: (bool, bool),
        lifetime: u16,
        reachable: u32,
        retrans: u32,
        lladdr: Option<[u8; 6]>,
        mtu: Option<u32>,
        prefixes: Vec<PrefixInfo>,
    },
    Ns {
        target: Ipv6Addr,
        lladdr: Option<[u8; 6]>,
    },
    Na {
        flags: (bool, bool, bool),
        target: Ipv6Addr,
        lladdr: Option<[u8; 6]>,
    },
}

impl Msg {
    fn repr(&self) -> Repr<'_> {
        match self {
            Self::Echo {
                request: true,
                ident,
                seq_no,
                data,
            } => Repr::EchoRequest {
                ident: *ident,
                seq_no: *seq_no,
                data,
            },
            Self::Echo {
                request: false,
                ident,
                seq_no,
                data,
            } => Repr::EchoReply {
                ident: *ident,
                seq_no: *seq_no,
                data,
            },
            Self::Error {
                kind,
                code,
                value,
                header,
                data,
            } => match kind {
                1 => Repr::DstUnreachable {
                    reason: (*code).into(),
                    header: *header,
                    data,
                },
                2 => Repr::PktTooBig {
                    mtu: *value,
                    header: *header,
                    data,
                },
                3 => Repr::TimeExceeded {
                    reason: (*code).into(),
                    header: *header,
                    data,
                },
                _ => Repr::ParamProblem {
                    reason: (*code).into(),
                    pointer: *value,
                    header: *header,
                    data,
                },
            },
            Self::Rs { lladdr } => Repr::RouterSolicit { lladdr: *lladdr },
            Self::Ra {
                hop_limit,
                flags,
                lifetime,
                reachable,
                retrans,
                lladdr,
                mtu,
                prefixes,
            } => Repr::RouterAdvert {
                hop_limit: *hop_limit,
                flags: RouterFlags {
                    managed: flags.0,
                    other: flags.1,
                },
                router_lifetime: *lifetime,
                reachable_time: *reachable,
                retrans_time: *retrans,
                lladdr: *lladdr,
                mtu: *mtu,
                prefix_infos: PrefixInfos::new(prefixes),
            },
            Self::Ns { target, lladdr } => Repr::NeighborSolicit {
                target_addr: *target,
                lladdr: *lladdr,
            },
            Self::Na {
                flags,
                target,
                lladdr,
            } => Repr::NeighborAdvert {
                flags: NeighborFlags {
                    router: flags.0,
                    solicited: flags.1,
                    r#override: flags.2,
                },
                target_addr: *target,
                lladdr: *lladdr,
            },
        }
    }
}

fn unicast() -> impl Strategy<Value = Ipv6Addr> {
    any::<[u8; 16]>().prop_map(|mut octets| {
        if octets[0] == 0xff {
            octets[0] = 0xfe;
        }
        Ipv6Addr::from(octets)
    })
}

fn quoted_header() -> impl Strategy<Value = ipv6::Repr> {
    let upper =
        any::<u8>()
            .prop_map(IpProtocol::from)
            .prop_filter("not an extension header", |p| {
                !matches!(
                    p,
                    IpProtocol::HopByHop
                        | IpProtocol::Ipv6Route
                        | IpProtocol::Ipv6Frag
                        | IpProtocol::Ipv6Opts
                        | IpProtocol::Ah
                )
            });
    (
        any::<[u8; 16]>(),
        any::<[u8; 16]>(),
        upper,
        any::<u16>(),
        any::<u8>(),
        any::<u8>(),
        0u32..=0xf_ffff,
    )
        .prop_map(
            |(src, dst, next_header, payload_len, hop_limit, traffic_class, flow_label)| {
                ipv6::Repr {
                    src_addr: src.into(),
                    dst_addr: dst.into(),
                    next_header,
                    payload_len: payload_len.into(),
                    hop_limit,
                    traffic_class,
                    flow_label,
                }
            },
        )
}

fn prefix_info() -> impl Strategy<Value = PrefixInfo> {
    (
        0u8..=128,
        any::<bool>(),
        any::<bool>(),
        any::<u32>(),
        any::<u32>(),
        any::<[u8; 16]>(),
    )
        .prop_map(
            |(prefix_len, on_link, autonomous, valid_lifetime, preferred_lifetime, prefix)| {
                PrefixInfo {
                    prefix_len,
                    on_link,
                    autonomous,
                    valid_lifetime,
                    preferred_lifetime,
                    prefix: prefix.into(),
                }
            },
        )
}

fn msgs() -> impl Strategy<Value = Msg> {
    let data = || proptest::collection::vec(any::<u8>(), 0..64);
    let lladdr = || proptest::option::of(any::<[u8; 6]>());
    prop_oneof![
        (any::<bool>(), any::<u16>(), any::<u16>(), data()).prop_map(
            |(request, ident, seq_no, data)| Msg::Echo {
                request,
                ident,
                seq_no,
                data
            }
        ),
        (1u8..=4, any::<u8>(), any::<u32>(), quoted_header(), data()).prop_map(
            |(kind, code, value, header, data)| Msg::Error {
                kind,
                code,
                value,
                header,
                data
            }
        ),
        lladdr().prop_map(|lladdr| Msg::Rs { lladdr }),
        (
            any::<u8>(),
            any::<(bool, bool)>(),
            any::<u16>(),
            any::<u32>(),
            any::<u32>(),
            lladdr(),
            proptest::option::of(any::<u32>()),
            proptest::collection::vec(prefix_info(), 0..6),
        )
            .prop_map(
                |(hop_limit, flags, lifetime, reachable, retrans, lladdr, mtu, prefixes)| Msg::Ra {
                    hop_limit,
                    flags,
                    lifetime,
                    reachable,
                    retrans,
                    lladdr,
                    mtu,
                    prefixes,
                }
            ),
        (unicast(), lladdr()).prop_map(|(target, lladdr)| Msg::Ns { target, lladdr }),
        (any::<(bool, bool, bool)>(), unicast(), lladdr()).prop_map(|(flags, target, lladdr)| {
            Msg::Na {
                flags,
                target,
                lladdr,
            }
        }),
    ]
}

/// Our options as etherparse reads them.
fn their_options(iter: etherparse::icmpv6::NdpOptionsIterator<'_>) -> Vec<NdpOption<'_>> {
    use etherparse::icmpv6::NdpOptionSlice;
    iter.map(|option| match option.unwrap() {
        NdpOptionSlice::SourceLinkLayerAddress(o) => {
            NdpOption::SourceLinkLayerAddr(o.link_layer_address().try_into().unwrap())
        }
        NdpOptionSlice::TargetLinkLayerAddress(o) => {
            NdpOption::TargetLinkLayerAddr(o.link_layer_address().try_into().unwrap())
        }
        NdpOptionSlice::PrefixInformation(o) => {
            let p = o.prefix_information();
            NdpOption::PrefixInformation(PrefixInfo {
                prefix_len: p.prefix_length,
                on_link: p.on_link,
                autonomous: p.autonomous_address_configuration,
                valid_lifetime: p.valid_lifetime,
                preferred_lifetime: p.preferred_lifetime,
                prefix: p.prefix.into(),
            })
        }
        NdpOptionSlice::Mtu(o) => NdpOption::Mtu(o.mtu()),
        other => panic!("we emit no {other:?}"),
    })
    .collect()
}

/// The quoted header and data of an error message, as etherparse writes them.
fn their_quote(header: &ipv6::Repr, data: &[u8]) -> Vec<u8> {
    let theirs = etherparse::Ipv6Header {
        traffic_class: header.traffic_class,
        flow_label: etherparse::Ipv6FlowLabel::try_new(header.flow_label).unwrap(),
        payload_length: header.payload_len as u16,
        next_header: etherparse::IpNumber(header.next_header.into()),
        hop_limit: header.hop_limit,
        source: header.src_addr.octets(),
        destination: header.dst_addr.octets(),
    };
    let mut out = theirs.to_bytes().to_vec();
    out.extend_from_slice(data);
    out
}

/// An option written by hand, for the ones etherparse cannot write.
fn lladdr_option(kind: u8, addr: [u8; 6]) -> [u8; 8] {
    let mut out = [kind, 1, 0, 0, 0, 0, 0, 0];
    out[2..].copy_from_slice(&addr);
    out
}

/// The message as etherparse builds it: its type and header, our options
/// (except Prefix Information, etherparse's) by hand.
fn etherparse_message(msg: &Msg, src: Ipv6Addr, dst: Ipv6Addr) -> Vec<u8> {
    use etherparse::icmpv6::*;
    use etherparse::{IcmpEchoHeader, Icmpv6Header, Icmpv6Type};
    let (icmp_type, payload) = match msg {
        Msg::Echo {
            request,
            ident,
            seq_no,
            data,
        } => {
            let echo = IcmpEchoHeader {
                id: *ident,
                seq: *seq_no,
            };
            (
                if *request {
                    Icmpv6Type::EchoRequest(echo)
                } else {
                    Icmpv6Type::EchoReply(echo)
                },
                data.clone(),
            )
        }
        Msg::Error {
            kind,
            code,
            value,
            header,
            data,
        } => {
            let unknown = Icmpv6Type::Unknown {
                type_u8: *kind,
                code_u8: *code,
                bytes5to8: [0; 4],
            };
            let icmp_type = match kind {
                1 => DestUnreachableCode::from_u8(*code)
                    .map_or(unknown, Icmpv6Type::DestinationUnreachable),
                2 => Icmpv6Type::PacketTooBig { mtu: *value },
                3 => TimeExceededCode::from_u8(*code).map_or(unknown, Icmpv6Type::TimeExceeded),
                _ => ParameterProblemCode::from_u8(*code).map_or(
                    Icmpv6Type::Unknown {
                        type_u8: 4,
                        code_u8: *code,
                        bytes5to8: value.to_be_bytes(),
                    },
                    |code| {
                        Icmpv6Type::ParameterProblem(ParameterProblemHeader {
                            code,
                            pointer: *value,
                        })
                    },
                ),
            };
            (icmp_type, their_quote(header, data))
        }
        Msg::Rs { lladdr } => (
            Icmpv6Type::RouterSolicitation,
            lladdr
                .map(|a| lladdr_option(1, a).to_vec())
                .unwrap_or_default(),
        ),
        Msg::Ra {
            hop_limit,
            flags,
            lifetime,
            reachable,
            retrans,
            lladdr,
            mtu,
            prefixes,
        } => {
            let header = RouterAdvertisementHeader {
                cur_hop_limit: *hop_limit,
                managed_address_config: flags.0,
                other_config: flags.1,
                router_lifetime: *lifetime,
            };
            let mut payload = RouterAdvertisementPayload {
                reachable_time: *reachable,
                retrans_timer: *retrans,
            }
            .to_bytes()
            .to_vec();
            if let Some(addr) = lladdr {
                payload.extend_from_slice(&lladdr_option(1, *addr));
            }
            if let Some(mtu) = mtu {
                payload.extend_from_slice(&[5, 1, 0, 0]);
                payload.extend_from_slice(&mtu.to_be_bytes());
            }
            for p in prefixes {
                let theirs = PrefixInformation {
                    prefix_length: p.prefix_len,
                    on_link: p.on_link,
                    autonomous_address_configuration: p.autonomous,
                    valid_lifetime: p.valid_lifetime,
                    preferred_lifetime: p.preferred_lifetime,
                    prefix: p.prefix.octets(),
                };
                payload.extend_from_slice(&theirs.to_bytes());
            }
            (Icmpv6Type::RouterAdvertisement(header), payload)
        }
        Msg::Ns { target, lladdr } => {
            let mut payload = NeighborSolicitationPayload {
                target_address: *target,
            }
            .to_bytes()
            .to_vec();
            if let Some(addr) = lladdr {
                payload.extend_from_slice(&lladdr_option(1, *addr));
            }
            (Icmpv6Type::NeighborSolicitation, payload)
        }
        Msg::Na {
            flags,
            target,
            lladdr,
        } => {
            let header = NeighborAdvertisementHeader {
                router: flags.0,
                solicited: flags.1,
                r#override: flags.2,
            };
            let mut payload = NeighborAdvertisementPayload {
                target_address: *target,
            }
            .to_bytes()
            .to_vec();
            if let Some(addr) = lladdr {
                payload.extend_from_slice(&lladdr_option(2, *addr));
            }
            (Icmpv6Type::NeighborAdvertisement(header), payload)
        }
    };
    let header =
        Icmpv6Header::with_checksum(icmp_type, src.octets(), dst.octets(), &payload).unwrap();
    let mut out = header.to_bytes().to_vec();
    out.extend_from_slice(&payload);
    out
}

/// etherparse, an independent implementation, reads what we write: the same
/// type, fields, checksum and options.
fn check_etherparse_reads_ours(
    msg: &Msg,
    src: Ipv6Addr,
    dst: Ipv6Addr,
) -> core::result::Result<(), TestCaseError> {
    use etherparse::Icmpv6Type;
    use etherparse::icmpv6::Icmpv6PayloadSlice;
    let repr = msg.repr();
    let buf = emit(&repr, src, dst);
    let slice = etherparse::Icmpv6Slice::from_slice(&buf).unwrap();
    prop_assert!(slice.is_checksum_valid(src.octets(), dst.octets()));
    prop_assert_eq!(slice.type_u8(), u8::from(repr.msg_type()));
    let view = Packet::new_unchecked(&buf[..]);
    let ours_options: Vec<_> = NdpOptions::new(view.options())
        .map(Result::unwrap)
        .collect();
    match repr {
        Repr::EchoRequest {
            ident,
            seq_no,
            data,
        }
        | Repr::EchoReply {
            ident,
            seq_no,
            data,
        } => {
            let echo = etherparse::IcmpEchoHeader {
                id: ident,
                seq: seq_no,
            };
            let expected = if matches!(repr, Repr::EchoRequest { .. }) {
                Icmpv6Type::EchoRequest(echo)
            } else {
                Icmpv6Type::EchoReply(echo)
            };
            prop_assert_eq!(slice.icmp_type(), expected);
            prop_assert_eq!(slice.payload(), data);
        }
        Repr::DstUnreachable { header, data, .. }
        | Repr::PktTooBig { header, data, .. }
        | Repr::TimeExceeded { header, data, .. }
        | Repr::ParamProblem { header, data, .. } => {
            let code = match repr {
                Repr::DstUnreachable { reason, .. } => u8::from(reason),
                Repr::TimeExceeded { reason, .. } => u8::from(reason),
                Repr::ParamProblem { reason, .. } => u8::from(reason),
                _ => 0,
            };
            prop_assert_eq!(slice.code_u8(), code);
            match repr {
                Repr::PktTooBig { mtu, .. } => {
                    prop_assert_eq!(slice.icmp_type(), Icmpv6Type::PacketTooBig { mtu })
                }
                Repr::ParamProblem { pointer, .. } => {
                    prop_assert_eq!(slice.bytes5to8(), pointer.to_be_bytes())
                }
                _ => prop_assert_eq!(slice.bytes5to8(), [0; 4]),
            }
            prop_assert_eq!(slice.payload(), &their_quote(&header, data)[..]);
        }
        Repr::RouterSolicit { .. } => {
            prop_assert_eq!(slice.icmp_type(), Icmpv6Type::RouterSolicitation);
            let Ok(Icmpv6PayloadSlice::RouterSolicitation(p)) = slice.payload_slice() else {
                panic!("not an RS")
            };
            prop_assert_eq!(their_options(p.options_iterator()), ours_options);
        }
        Repr::RouterAdvert {
            hop_limit,
            flags,
            router_lifetime,
            reachable_time,
            retrans_time,
            ..
        } => {
            let Icmpv6Type::RouterAdvertisement(header) = slice.icmp_type() else {
                panic!("not an RA")
            };
            prop_assert_eq!(header.cur_hop_limit, hop_limit);
            prop_assert_eq!(
                (header.managed_address_config, header.other_config),
                (flags.managed, flags.other)
            );
            prop_assert_eq!(header.router_lifetime, router_lifetime);
            let Ok(Icmpv6PayloadSlice::RouterAdvertisement(p)) = slice.payload_slice() else {
                panic!("not an RA")
            };
            prop_assert_eq!(
                (p.reachable_time(), p.retrans_timer()),
                (reachable_time, retrans_time)
            );
            prop_assert_eq!(their_options(p.options_iterator()), ours_options);
        }
        Repr::NeighborSolicit { target_addr, .. } => {
            prop_assert_eq!(slice.icmp_type(), Icmpv6Type::NeighborSolicitation);
            let Ok(Icmpv6PayloadSlice::NeighborSolicitation(p)) = slice.payload_slice() else {
                panic!("not an NS")
            };
            prop_assert_eq!(p.target_address(), target_addr);
            prop_assert_eq!(their_options(p.options_iterator()), ours_options);
        }
        Repr::NeighborAdvert {
            flags, target_addr, ..
        } => {
            let Icmpv6Type::NeighborAdvertisement(header) = slice.icmp_type() else {
                panic!("not an NA")
            };
            prop_assert_eq!(
                (header.router, header.solicited, header.r#override),
                (flags.router, flags.solicited, flags.r#override)
            );
            let Ok(Icmpv6PayloadSlice::NeighborAdvertisement(p)) = slice.payload_slice() else {
                panic!("not an NA")
            };
            prop_assert_eq!(p.target_address(), target_addr);
            prop_assert_eq!(their_options(p.options_iterator()), ours_options);
        }
    }
    Ok(())
}

/// Every type `Repr::parse` reads, Redirect (refused) included.
const PARSED_TYPES: [u8; 11] = [1, 2, 3, 4, 128, 129, 133, 134, 135, 136, 137];

proptest! {
    #[test]
    fn parse_emit_round_trip(msg in msgs(), src in unicast(), dst in unicast()) {
        let repr = msg.repr();
        let buf = emit(&repr, src, dst);
        prop_assert_eq!(buf.len(), repr.buffer_len());
        prop_assert_eq!(parse(&buf, src, dst), Ok(repr));
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..128),
        src in any::<[u8; 16]>(),
        dst in any::<[u8; 16]>(),
    ) {
        let _ = parse_with(&bytes, src.into(), dst.into(), TRUST);
        let _ = parse(&bytes, src.into(), dst.into());
        let _ = NdpOptions::new(&bytes).count();
    }

    /// Garbage behind every type we parse, the checksum trusted so that the
    /// parsers past it are reached.
    #[test]
    fn arbitrary_bodies_never_panic(
        msg_type in proptest::sample::select(&PARSED_TYPES[..]),
        code in 0u8..2,
        body in proptest::collection::vec(any::<u8>(), 0..128),
    ) {
        let mut bytes = vec![msg_type, code, 0, 0];
        bytes.extend_from_slice(&body);
        let _ = parse_with(&bytes, A6, B6, TRUST);
        let packet = Packet::new_unchecked(&bytes[..]);
        let _ = (packet.target_addr(), packet.reachable_time(), packet.options(), packet.payload());
    }

    /// etherparse, an independent implementation, reads what we write: the
    /// same type, fields, checksum and options.
    #[test]
    fn etherparse_reads_ours(msg in msgs(), src in unicast(), dst in unicast()) {
        check_etherparse_reads_ours(&msg, src, dst)?;
    }

    /// We read what etherparse writes, checksum included.
    #[test]
    fn we_read_etherparse(msg in msgs(), src in unicast(), dst in unicast()) {
        let bytes = etherparse_message(&msg, src, dst);
        prop_assert_eq!(parse(&bytes, src, dst), Ok(msg.repr()));
    }
}
