use std::net::Ipv6Addr;

use proptest::prelude::*;

use super::*;
use crate::wire::testing::{assert_truncations_fail, prefilled};
use crate::wire::vectors::{
    IPV6_AH, IPV6_EXT_CHAIN, IPV6_FRAG_FIRST, IPV6_FRAG_LATER, IPV6_HBH_DISCARD, IPV6_JUMBO,
    IPV6_ROUTING_SEGLEFT, IPV6_TCP, UDP_V6,
};

const A6: Ipv6Addr = Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 1);
const B6: Ipv6Addr = Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 2);
const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

fn parse(bytes: &[u8]) -> Result<Repr> {
    Repr::parse(&Packet::new_checked(bytes)?)
}

fn walk_of(bytes: &[u8]) -> Result<ExtensionsWalk> {
    Packet::new_checked(bytes)?.walk_extensions()
}

/// An IPv6 header from A6 to B6 followed by `payload`, its Payload Length
/// set from it.
fn packet_with(next_header: IpProtocol, payload: &[u8]) -> Vec<u8> {
    let repr = Repr {
        src_addr: A6,
        dst_addr: B6,
        next_header,
        payload_len: payload.len(),
        hop_limit: 64,
        traffic_class: 0,
        flow_label: 0,
    };
    let mut buf = vec![0; repr.buffer_len()];
    let mut packet = Packet::new_unchecked(&mut buf[..]);
    repr.emit(&mut packet);
    packet.payload_mut().copy_from_slice(payload);
    buf
}

/// An 8-octet Destination Options (or Hop-by-Hop) header: PadN of 4.
fn opts_header(next_header: IpProtocol) -> [u8; 8] {
    [next_header.into(), 0, 1, 4, 0, 0, 0, 0]
}

#[test]
fn deconstruct() {
    let packet = Packet::new_checked(&IPV6_TCP[..]).unwrap();
    assert_eq!(packet.version(), 6);
    assert_eq!(packet.traffic_class(), 0xb8);
    assert_eq!(packet.dscp(), 46);
    assert_eq!(packet.ecn(), 0);
    assert_eq!(packet.flow_label(), 0x12345);
    assert_eq!(packet.payload_len(), 20);
    assert_eq!(packet.next_header(), IpProtocol::Tcp);
    assert_eq!(packet.hop_limit(), 64);
    assert_eq!(packet.src_addr(), A6);
    assert_eq!(packet.dst_addr(), B6);
    assert_eq!(packet.payload(), &IPV6_TCP[40..]);
    assert_eq!(
        packet.walk_extensions(),
        Ok(ExtensionsWalk {
            upper_layer: IpProtocol::Tcp,
            upper_offset: 0,
            next_header_pointer: 6,
            fragment: None,
            discard: None,
        })
    );
    assert_eq!(
        parse(&IPV6_TCP),
        Ok(Repr {
            src_addr: A6,
            dst_addr: B6,
            next_header: IpProtocol::Tcp,
            payload_len: 20,
            hop_limit: 64,
            traffic_class: 0xb8,
            flow_label: 0x12345,
        })
    );
}

#[test]
fn deconstruct_extension_chain() {
    // Hop-by-Hop (an unknown option of action 00, skipped), Destination
    // Options, Routing with Segments Left 0 (ignored), an atomic fragment.
    let walk = walk_of(&IPV6_EXT_CHAIN).unwrap();
    assert_eq!(
        walk,
        ExtensionsWalk {
            upper_layer: IpProtocol::Udp,
            upper_offset: 8 + 8 + 24 + 8,
            next_header_pointer: 40 + 40,
            fragment: Some(FragmentHeader {
                next_header: IpProtocol::Udp,
                offset: 0,
                more_fragments: false,
                ident: 0x1234,
                data_offset: 48,
                next_header_pointer: 40 + 16,
            }),
            discard: None,
        }
    );
    //= https://www.rfc-editor.org/rfc/rfc8200#section-4.5
    //= type=test
    //# If the fragment is a whole datagram (that is, both the Fragment
    //# Offset field and the M flag are zero), then it does not need
    //# any further reassembly and should be processed as a fully
    //# reassembled packet
    let repr = parse(&IPV6_EXT_CHAIN).unwrap();
    assert_eq!(repr.next_header, IpProtocol::Udp);
    assert_eq!(repr.payload_len, 11);
    let packet = Packet::new_checked(&IPV6_EXT_CHAIN[..]).unwrap();
    assert_eq!(&packet.payload()[walk.upper_offset..][8..], b"ext");
}

#[test]
fn deconstruct_fragments() {
    let first = walk_of(&IPV6_FRAG_FIRST).unwrap();
    assert_eq!(first.upper_layer, IpProtocol::Udp);
    assert_eq!(first.upper_offset, 8);
    assert_eq!(
        first.fragment,
        Some(FragmentHeader {
            next_header: IpProtocol::Udp,
            offset: 0,
            more_fragments: true,
            ident: 0xabcd,
            data_offset: 8,
            next_header_pointer: 6,
        })
    );
    assert_eq!(first.discard, None);
    assert_eq!(parse(&IPV6_FRAG_FIRST), Err(Error::Unsupported));

    // A later fragment: its data is not walked as headers.
    let later = walk_of(&IPV6_FRAG_LATER).unwrap();
    assert_eq!(
        later,
        ExtensionsWalk {
            upper_layer: IpProtocol::Ipv6Frag,
            upper_offset: 0,
            next_header_pointer: 6,
            fragment: Some(FragmentHeader {
                next_header: IpProtocol::Udp,
                offset: 24,
                more_fragments: false,
                ident: 0xabcd,
                data_offset: 8,
                next_header_pointer: 6,
            }),
            discard: None,
        }
    );
    assert_eq!(parse(&IPV6_FRAG_LATER), Err(Error::Unsupported));
}

#[test]
fn construct_fragment_headers() {
    for bytes in [&IPV6_FRAG_FIRST[..], &IPV6_FRAG_LATER[..]] {
        let fragment = walk_of(bytes).unwrap().fragment.unwrap();
        let mut header = [0xa5; FRAGMENT_HEADER_LEN];
        fragment.emit(&mut header);
        assert_eq!(header[..], bytes[40..48]);
    }
}

#[test]
fn deconstruct_ah() {
    // RFC 4302: Payload Len 4 is (4 + 2) * 4 = 24 octets.
    let walk = walk_of(&IPV6_AH).unwrap();
    assert_eq!(walk.upper_layer, IpProtocol::Udp);
    assert_eq!(walk.upper_offset, 24);
    assert_eq!(walk.next_header_pointer, 40);
    assert_eq!(parse(&IPV6_AH).unwrap().payload_len, 10);
}

#[test]
fn deconstruct_discards() {
    //= https://www.rfc-editor.org/rfc/rfc8200#section-4.2
    //= type=test
    //# 10 - discard the packet and, regardless of whether or not the
    //# packet's Destination Address was a multicast address, send an
    //# ICMP Parameter Problem, Code 2, message to the packet's
    //# Source Address, pointing to the unrecognized Option Type.
    let walk = walk_of(&IPV6_HBH_DISCARD).unwrap();
    let discard = Discard {
        reason: DiscardReason::UnrecognizedOption(OptionAction::DiscardAndReport),
        pointer: 42,
    };
    assert_eq!(walk.discard, Some(discard));
    assert_eq!(walk.upper_layer, IpProtocol::HopByHop);
    assert_eq!(walk.upper_offset, 0);
    assert!(discard.should_report(B6));
    assert!(discard.should_report(ALL_NODES));
    assert_eq!(parse(&IPV6_HBH_DISCARD), Err(Error::Unsupported));

    //= https://www.rfc-editor.org/rfc/rfc8200#section-4.4
    //= type=test
    //# If Segments Left is non-zero, the node must discard the packet and
    //# send an ICMP Parameter Problem, Code 0, message to the packet's
    //# Source Address, pointing to the unrecognized Routing Type.
    let walk = walk_of(&IPV6_ROUTING_SEGLEFT).unwrap();
    let discard = Discard {
        reason: DiscardReason::UnrecognizedRoutingType,
        pointer: 42,
    };
    assert_eq!(walk.discard, Some(discard));
    assert!(discard.should_report(B6));
    assert!(!discard.should_report(ALL_NODES));
    assert_eq!(parse(&IPV6_ROUTING_SEGLEFT), Err(Error::Unsupported));
}

#[test]
fn option_actions() {
    let cases = [
        (0x1e, None),
        (0x5e, Some((OptionAction::Discard, false, false))),
        (0x9e, Some((OptionAction::DiscardAndReport, true, true))),
        (
            0xde,
            Some((OptionAction::DiscardAndReportUnlessMulticast, true, false)),
        ),
    ];
    for (kind, expected) in cases {
        let mut bytes = IPV6_HBH_DISCARD.to_vec();
        bytes[42] = kind;
        let walk = walk_of(&bytes).unwrap();
        match expected {
            None => {
                assert_eq!(walk.discard, None, "{kind:#x}");
                assert_eq!(walk.upper_layer, IpProtocol::Udp);
                assert!(parse(&bytes).is_ok());
            }
            Some((action, unicast, multicast)) => {
                let discard = walk.discard.unwrap();
                assert_eq!(discard.reason, DiscardReason::UnrecognizedOption(action));
                assert_eq!(discard.pointer, 42);
                assert_eq!(discard.should_report(B6), unicast, "{kind:#x}");
                assert_eq!(discard.should_report(ALL_NODES), multicast, "{kind:#x}");
            }
        }
    }
}

#[test]
fn jumbogram_is_unsupported() {
    assert_eq!(walk_of(&IPV6_JUMBO), Err(Error::Unsupported));
    assert_eq!(parse(&IPV6_JUMBO), Err(Error::Unsupported));
    // A zero Payload Length before a Hop-by-Hop header without the option.
    let mut bytes = IPV6_JUMBO.to_vec();
    bytes[42] = 0x1e;
    assert_eq!(parse(&bytes), Err(Error::Malformed));
    for len in 0..IPV6_JUMBO.len() {
        assert!(parse(&IPV6_JUMBO[..len]).is_err());
    }
    // With a Payload Length, the option is one we do not recognise (11).
    let mut sized = IPV6_JUMBO.to_vec();
    sized[4..6].copy_from_slice(&16u16.to_be_bytes());
    let discard = walk_of(&sized).unwrap().discard.unwrap();
    assert_eq!(
        discard.reason,
        DiscardReason::UnrecognizedOption(OptionAction::DiscardAndReportUnlessMulticast)
    );
}

#[test]
fn construct() {
    for (vector, tcp) in [(&IPV6_TCP[..], true), (&UDP_V6[..], false)] {
        let repr = Repr {
            src_addr: A6,
            dst_addr: B6,
            next_header: if tcp {
                IpProtocol::Tcp
            } else {
                IpProtocol::Udp
            },
            payload_len: vector.len() - 40,
            hop_limit: 64,
            traffic_class: if tcp { 0xb8 } else { 0 },
            flow_label: if tcp { 0x12345 } else { 0 },
        };
        let mut buf = prefilled(repr.buffer_len());
        let mut packet = Packet::new_unchecked(&mut buf[..]);
        repr.emit(&mut packet);
        packet.payload_mut().copy_from_slice(&vector[40..]);
        assert_eq!(buf, vector);
    }
}

#[test]
fn truncated() {
    for vector in [&IPV6_TCP[..], &IPV6_EXT_CHAIN, &IPV6_AH, &UDP_V6] {
        assert_truncations_fail(vector, |b| parse(b).map(|_| ()));
    }
    for vector in [
        &IPV6_FRAG_FIRST[..],
        &IPV6_FRAG_LATER,
        &IPV6_HBH_DISCARD,
        &IPV6_ROUTING_SEGLEFT,
    ] {
        assert_truncations_fail(vector, |b| walk_of(b).map(|_| ()));
    }
}

#[test]
fn impossible_len() {
    // A Payload Length beyond the buffer.
    let mut bytes = IPV6_TCP.to_vec();
    bytes[4..6].copy_from_slice(&21u16.to_be_bytes());
    assert_eq!(
        Packet::new_checked(&bytes[..]).err(),
        Some(Error::Truncated)
    );

    // A Hop-by-Hop header longer than the payload.
    let mut bytes = IPV6_EXT_CHAIN.to_vec();
    bytes[41] = 8;
    assert_eq!(walk_of(&bytes), Err(Error::Malformed));

    // An option running past the end of its header.
    let mut bytes = IPV6_EXT_CHAIN.to_vec();
    bytes[43] = 5;
    assert_eq!(walk_of(&bytes), Err(Error::Malformed));
    // A PadN whose length field is cut off.
    let mut bytes = IPV6_EXT_CHAIN.to_vec();
    bytes[42..48].copy_from_slice(&[0, 0, 0, 0, 0, 1]);
    assert_eq!(walk_of(&bytes), Err(Error::Malformed));

    // AH lengths: 5 is 28 octets, not a multiple of 8; 0 is 8, shorter than
    // AH's fixed fields; 15 is 68, longer than the payload.
    for len in [5, 0, 15] {
        let mut bytes = IPV6_AH.to_vec();
        bytes[41] = len;
        assert_eq!(walk_of(&bytes), Err(Error::Malformed), "AH length {len}");
    }

    //= https://www.rfc-editor.org/rfc/rfc8200#section-3
    //= type=test
    //# 4-bit Internet Protocol version number = 6.
    let mut bytes = IPV6_TCP.to_vec();
    bytes[0] = 0x4b;
    assert_eq!(parse(&bytes), Err(Error::Malformed));
}

#[test]
fn padding_after_payload_is_ignored() {
    let mut bytes = IPV6_TCP.to_vec();
    bytes.extend_from_slice(&[0; 6]);
    let packet = Packet::new_checked(&bytes[..]).unwrap();
    assert_eq!(packet.payload(), &IPV6_TCP[40..]);
    assert_eq!(parse(&bytes).unwrap().payload_len, 20);
}

//= https://www.rfc-editor.org/rfc/rfc8200#section-4.1
//= type=test
//# except for the Hop-by-Hop Options header, which is restricted to
//# appear immediately after an IPv6 header only.
#[test]
fn hop_by_hop_only_first() {
    let mut payload = opts_header(IpProtocol::HopByHop).to_vec();
    payload.extend_from_slice(&opts_header(IpProtocol::Ipv6NoNxt));
    let bytes = packet_with(IpProtocol::Ipv6Opts, &payload);
    assert_eq!(walk_of(&bytes), Err(Error::Malformed));

    let mut payload = opts_header(IpProtocol::Ipv6Opts).to_vec();
    payload.extend_from_slice(&opts_header(IpProtocol::Ipv6NoNxt));
    let bytes = packet_with(IpProtocol::HopByHop, &payload);
    let walk = walk_of(&bytes).unwrap();
    assert_eq!(walk.upper_layer, IpProtocol::Ipv6NoNxt);
    assert_eq!(walk.upper_offset, 16);
    assert_eq!(walk.next_header_pointer, 48);
}

#[test]
fn extension_headers_are_bounded() {
    let chain = |n: usize| {
        let mut payload = Vec::new();
        for i in 0..n {
            let next = if i + 1 == n {
                IpProtocol::Udp
            } else {
                IpProtocol::Ipv6Opts
            };
            payload.extend_from_slice(&opts_header(next));
        }
        packet_with(IpProtocol::Ipv6Opts, &payload)
    };
    let walk = walk_of(&chain(MAX_EXTENSION_HEADERS)).unwrap();
    assert_eq!(walk.upper_layer, IpProtocol::Udp);
    assert_eq!(walk.upper_offset, 8 * MAX_EXTENSION_HEADERS);
    assert_eq!(
        walk_of(&chain(MAX_EXTENSION_HEADERS + 1)),
        Err(Error::Malformed)
    );
}

#[test]
fn fragment_errors() {
    //= https://www.rfc-editor.org/rfc/rfc8200#section-4.5
    //= type=test
    //# If the length of a fragment, as derived from the fragment
    //# packet's Payload Length field, is not a multiple of 8 octets
    //# and the M flag of that fragment is 1, then that fragment must
    //# be discarded
    let mut bytes = IPV6_FRAG_FIRST[..71].to_vec();
    bytes[4..6].copy_from_slice(&31u16.to_be_bytes());
    let discard = walk_of(&bytes).unwrap().discard.unwrap();
    assert_eq!(discard.reason, DiscardReason::FragmentLength);
    assert_eq!(discard.pointer, 4);
    // The last fragment may have any length.
    let mut bytes = IPV6_FRAG_LATER[..59].to_vec();
    bytes[4..6].copy_from_slice(&19u16.to_be_bytes());
    assert_eq!(walk_of(&bytes).unwrap().discard, None);

    //= https://www.rfc-editor.org/rfc/rfc8200#section-4.5
    //= type=test
    //# If the length and offset of a fragment are such that the
    //# Payload Length of the packet reassembled from that fragment
    //# would exceed 65,535 octets, then that fragment must be
    //# discarded
    let mut bytes = IPV6_FRAG_LATER.to_vec();
    bytes[42..44].copy_from_slice(&(65528u16).to_be_bytes());
    let discard = walk_of(&bytes).unwrap().discard.unwrap();
    assert_eq!(discard.reason, DiscardReason::FragmentBeyondMaxLength);
    assert_eq!(discard.pointer, 42);
    // 65,520 + 12 fits.
    bytes[42..44].copy_from_slice(&(65520u16).to_be_bytes());
    assert_eq!(walk_of(&bytes).unwrap().discard, None);

    //= https://www.rfc-editor.org/rfc/rfc8200#section-4.5
    //= type=test
    //# If the first fragment does not include all headers through an
    //# Upper-Layer header, then that fragment should be discarded
    let mut payload = vec![60, 0, 0, 1, 0, 0, 0, 9];
    payload.extend_from_slice(&[17, 1, 1, 4, 0, 0, 0, 0]);
    let bytes = packet_with(IpProtocol::Ipv6Frag, &payload);
    let walk = walk_of(&bytes).unwrap();
    assert_eq!(
        walk.discard,
        Some(Discard {
            reason: DiscardReason::IncompleteHeaderChain,
            pointer: 0,
        })
    );
    // The same cut header without a Fragment header is a lying length.
    let bytes = packet_with(IpProtocol::Ipv6Opts, &payload[8..]);
    assert_eq!(walk_of(&bytes), Err(Error::Malformed));

    // A Fragment header inside a fragment.
    let mut payload = vec![44, 0, 0, 0, 0, 0, 0, 1];
    payload.extend_from_slice(&[17, 0, 0, 0, 0, 0, 0, 2]);
    let bytes = packet_with(IpProtocol::Ipv6Frag, &payload);
    assert_eq!(walk_of(&bytes), Err(Error::Unsupported));
}

#[test]
fn next_header_pointer_names_the_field() {
    // An unknown upper layer behind Destination Options: the stack answers
    // with Parameter Problem code 1 pointing at the field that named it.
    let mut payload = opts_header(IpProtocol::Unknown(253)).to_vec();
    payload.extend_from_slice(b"data");
    let walk = walk_of(&packet_with(IpProtocol::Ipv6Opts, &payload)).unwrap();
    assert_eq!(walk.upper_layer, IpProtocol::Unknown(253));
    assert_eq!(walk.next_header_pointer, 40);
    assert_eq!(walk.upper_offset, 8);
}

#[test]
fn quoted_packets_are_parsed_leniently() {
    // Whole: the walk reaches UDP.
    let (repr, data) = Repr::parse_quoted(&IPV6_EXT_CHAIN).unwrap();
    assert_eq!(repr.next_header, IpProtocol::Udp);
    assert_eq!(repr.payload_len, 11);
    assert_eq!(data, &IPV6_EXT_CHAIN[88..]);

    // Cut inside the Destination Options header: the walk stops there.
    let (repr, data) = Repr::parse_quoted(&IPV6_EXT_CHAIN[..50]).unwrap();
    assert_eq!(repr.next_header, IpProtocol::Ipv6Opts);
    assert_eq!(repr.payload_len, 59 - 8);
    assert_eq!(data, &IPV6_EXT_CHAIN[48..50]);
    assert_eq!(repr.src_addr, A6);

    // A quoted packet RFC 8200 would discard is still walked to its upper
    // layer: the stack needs its ports.
    let (repr, data) = Repr::parse_quoted(&IPV6_HBH_DISCARD).unwrap();
    assert_eq!(repr.next_header, IpProtocol::Udp);
    assert_eq!(data, &IPV6_HBH_DISCARD[48..]);

    assert_eq!(
        Repr::parse_quoted(&IPV6_TCP[..39]).err(),
        Some(Error::Truncated)
    );
    let mut v4 = IPV6_TCP.to_vec();
    v4[0] = 0x45;
    assert_eq!(Repr::parse_quoted(&v4).err(), Some(Error::Malformed));
}

/// Emits `repr` followed by `data`, as an ICMPv6 error re-quotes a packet.
fn requote(repr: &Repr, data: &[u8]) -> Vec<u8> {
    let mut buf = vec![0; HEADER_LEN + data.len()];
    repr.emit_header(&mut Packet::new_unchecked(&mut buf[..]));
    buf[HEADER_LEN..].copy_from_slice(data);
    buf
}

/// Found by the `icmpv6` fuzz target: a quote whose walk stopped at a
/// Hop-by-Hop header that was not first parsed differently once re-quoted
/// (where it is first). The lenient walk now applies no rule that depends on
/// the headers before, so re-quoting is stable.
#[test]
fn quoted_walk_does_not_depend_on_earlier_headers() {
    use IpProtocol::{HopByHop, Ipv6Frag, Ipv6Opts, Udp};
    let udp = [0x30, 0x39, 0x00, 0x35, 0x00, 0x08, 0x00, 0x00];
    // Hop-by-Hop, then a misplaced second Hop-by-Hop: followed to UDP.
    let mut payload = opts_header(HopByHop).to_vec();
    payload.extend(opts_header(Udp));
    payload.extend(udp);
    let quote = packet_with(HopByHop, &payload);
    assert_eq!(walk_of(&quote).err(), Some(Error::Malformed));
    let (repr, data) = Repr::parse_quoted(&quote).unwrap();
    assert_eq!(
        (repr.next_header, repr.payload_len, data),
        (Udp, 8, &udp[..])
    );

    // More than MAX_EXTENSION_HEADERS Destination Options headers.
    let mut payload = Vec::new();
    for _ in 0..MAX_EXTENSION_HEADERS {
        payload.extend(opts_header(Ipv6Opts));
    }
    payload.extend(opts_header(Udp));
    payload.extend(udp);
    let quote = packet_with(Ipv6Opts, &payload);
    assert_eq!(walk_of(&quote).err(), Some(Error::Malformed));
    let (repr, data) = Repr::parse_quoted(&quote).unwrap();
    assert_eq!((repr.next_header, data), (Udp, &udp[..]));

    // Two atomic Fragment headers: the second is followed too.
    let frag = |next: IpProtocol| [next.into(), 0, 0, 0, 0, 0, 0, 7];
    let mut payload = frag(Ipv6Frag).to_vec();
    payload.extend(frag(Udp));
    payload.extend(udp);
    let quote = packet_with(Ipv6Frag, &payload);
    assert_eq!(walk_of(&quote).err(), Some(Error::Unsupported));
    let (repr, data) = Repr::parse_quoted(&quote).unwrap();
    assert_eq!((repr.next_header, data), (Udp, &udp[..]));

    // Wherever the walk stops (here inside a cut header, after a
    // Hop-by-Hop header), re-quoting from there parses the same.
    let mut payload = opts_header(Ipv6Opts).to_vec();
    payload.extend([u8::from(Udp), 1, 1, 4]);
    let quote = packet_with(HopByHop, &payload);
    let (repr, data) = Repr::parse_quoted(&quote).unwrap();
    assert_eq!((repr.next_header, data), (Ipv6Opts, &payload[8..]));
    let again = requote(&repr, data);
    assert_eq!(Repr::parse_quoted(&again).unwrap(), (repr, data));
}

/// Protocols the walk stops at.
fn upper_layer() -> impl Strategy<Value = IpProtocol> {
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
        })
}

prop_compose! {
    fn reprs()(
        src in any::<[u8; 16]>(), dst in any::<[u8; 16]>(), next_header in upper_layer(),
        payload_len in 0usize..300, hop_limit in any::<u8>(), traffic_class in any::<u8>(),
        flow_label in 0u32..=0xf_ffff,
    ) -> Repr {
        Repr {
            src_addr: src.into(), dst_addr: dst.into(), next_header, payload_len,
            hop_limit, traffic_class, flow_label,
        }
    }
}

/// Options filling exactly `len` octets of a header, from `seeds`: Pad1,
/// PadN, and options of unknown types whose action is 00 (skip).
fn options(len: usize, seeds: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    let mut seeds = seeds.iter().copied().cycle();
    while out.len() < len {
        let room = len - out.len();
        let seed = seeds.next().unwrap_or(0);
        if room == 1 || seed % 5 == 0 {
            out.push(0);
            continue;
        }
        let data_len = usize::from(seed) % (room - 1);
        let kind = if seed % 5 == 1 { 1 } else { 2 + seed % 0x3e };
        out.push(kind);
        out.push(data_len as u8);
        out.extend(std::iter::repeat_n(seed, data_len));
    }
    out
}

/// Extension headers as etherparse builds them: each optional, in RFC 8200's
/// recommended order.
#[derive(Debug, Clone)]
struct Exts {
    hop_by_hop: Option<(usize, Vec<u8>)>,
    dest_opts: Option<(usize, Vec<u8>)>,
    routing: Option<(usize, u8)>,
    final_dest_opts: Option<(usize, Vec<u8>)>,
    fragment: Option<(u16, bool, u32)>,
    auth: Option<(usize, u32, u32)>,
}

fn exts() -> impl Strategy<Value = Exts> {
    let opts = || proptest::option::of((0usize..4, proptest::collection::vec(any::<u8>(), 1..8)));
    (
        opts(),
        opts(),
        proptest::option::of((0usize..4, any::<u8>())),
        opts(),
        proptest::option::of((0u16..1000, any::<bool>(), any::<u32>())),
        proptest::option::of((0usize..4, any::<u32>(), any::<u32>())),
    )
        .prop_map(
            |(hop_by_hop, dest_opts, routing, final_dest_opts, fragment, auth)| Exts {
                hop_by_hop,
                dest_opts,
                routing,
                final_dest_opts,
                fragment,
                auth,
            },
        )
}

impl Exts {
    fn to_etherparse(&self) -> etherparse::Ipv6Extensions {
        use etherparse::{IpNumber, Ipv6RawExtHeader};
        let raw = |(units, seeds): &(usize, Vec<u8>)| {
            let payload = options(6 + 8 * units, seeds);
            Ipv6RawExtHeader::new_raw(IpNumber(0), &payload).unwrap()
        };
        etherparse::Ipv6Extensions {
            hop_by_hop_options: self.hop_by_hop.as_ref().map(raw),
            destination_options: self.dest_opts.as_ref().map(raw),
            routing: self.routing.map(|(units, routing_type)| {
                let mut payload = vec![0; 6 + 8 * units];
                // Routing Type, then Segments Left 0: ignored.
                payload[0] = routing_type;
                etherparse::Ipv6RoutingExtensions {
                    routing: Ipv6RawExtHeader::new_raw(IpNumber(0), &payload).unwrap(),
                    final_destination_options: self.final_dest_opts.as_ref().map(raw),
                }
            }),
            fragment: self.fragment.map(|(units, more, ident)| {
                etherparse::Ipv6FragmentHeader::new(
                    IpNumber(0),
                    etherparse::IpFragOffset::try_new(units).unwrap(),
                    more,
                    ident,
                )
            }),
            auth: self.auth.map(|(units, spi, seq)| {
                // 12 fixed octets and 4 + 8 * units of ICV: a multiple of 8.
                let icv = vec![0x5a; 4 + 8 * units];
                etherparse::IpAuthHeader::new(IpNumber(0), spi, seq, &icv).unwrap()
            }),
        }
    }
}

proptest! {
    #[test]
    fn parse_emit_round_trip(repr in reprs()) {
        let mut buf = vec![0xa5; repr.buffer_len()];
        repr.emit(&mut Packet::new_unchecked(&mut buf[..]));
        prop_assert_eq!(parse(&buf), Ok(repr));
        let (quoted, data) = Repr::parse_quoted(&buf).unwrap();
        prop_assert_eq!(quoted, repr);
        prop_assert_eq!(data.len(), repr.payload_len);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
        let _ = parse(&bytes);
        let _ = walk_of(&bytes);
        let _ = Repr::parse_quoted(&bytes);
    }

    /// Random payloads behind every kind of extension header, so the walk
    /// itself sees garbage.
    #[test]
    fn arbitrary_extension_headers_never_panic(
        first in prop_oneof![Just(0u8), Just(43), Just(44), Just(51), Just(60)],
        payload in proptest::collection::vec(any::<u8>(), 0..96),
        cut in 0usize..96,
    ) {
        let mut bytes = packet_with(IpProtocol::from(first), &payload);
        let _ = parse(&bytes);
        let _ = walk_of(&bytes);
        if let Ok((repr, data)) = Repr::parse_quoted(&bytes) {
            let again = requote(&repr, data);
            prop_assert_eq!(Repr::parse_quoted(&again), Ok((repr, data)));
        }
        bytes.truncate(40 + cut);
        if let Ok((repr, data)) = Repr::parse_quoted(&bytes) {
            let again = requote(&repr, data);
            prop_assert_eq!(Repr::parse_quoted(&again), Ok((repr, data)));
        }
        // Zero Payload Length, as a jumbogram has.
        bytes[4..6].copy_from_slice(&[0, 0]);
        let _ = walk_of(&bytes);
    }

    /// etherparse, an independent implementation, reads what we write.
    #[test]
    fn etherparse_reads_ours(repr in reprs()) {
        let mut buf = vec![0; repr.buffer_len()];
        repr.emit(&mut Packet::new_unchecked(&mut buf[..]));
        let (theirs, rest) = etherparse::Ipv6Header::from_slice(&buf).unwrap();
        prop_assert_eq!(theirs.traffic_class, repr.traffic_class);
        prop_assert_eq!(theirs.flow_label.value(), repr.flow_label);
        prop_assert_eq!(usize::from(theirs.payload_length), repr.payload_len);
        prop_assert_eq!(theirs.next_header.0, u8::from(repr.next_header));
        prop_assert_eq!(theirs.hop_limit, repr.hop_limit);
        prop_assert_eq!(theirs.source, repr.src_addr.octets());
        prop_assert_eq!(theirs.destination, repr.dst_addr.octets());
        prop_assert_eq!(rest.len(), repr.payload_len);
    }

    /// We read what etherparse writes, extension headers included, and find
    /// the same upper layer at the same offset.
    #[test]
    fn we_read_etherparse(
        repr in reprs(), exts in exts(), units in 0usize..8,
    ) {
        use etherparse::IpNumber;
        let mut theirs_exts = exts.to_etherparse();
        let upper = IpNumber(u8::from(repr.next_header));
        let first = theirs_exts.set_next_headers(upper);
        // Upper-layer data in 8-octet units, so a first fragment's length
        // is a multiple of 8 and no fragment check fires.
        let data = vec![0x3c; 8 * units];
        let header = etherparse::Ipv6Header {
            traffic_class: repr.traffic_class,
            flow_label: etherparse::Ipv6FlowLabel::try_new(repr.flow_label).unwrap(),
            payload_length: (theirs_exts.header_len() + data.len()) as u16,
            next_header: first,
            hop_limit: repr.hop_limit,
            source: repr.src_addr.octets(),
            destination: repr.dst_addr.octets(),
        };
        let mut buf = header.to_bytes().to_vec();
        theirs_exts.write(&mut buf, first).unwrap();
        buf.extend_from_slice(&data);

        let slice = etherparse::Ipv6Slice::from_slice(&buf).unwrap();
        let exts_len = slice.extensions().slice().len();
        prop_assert_eq!(exts_len, theirs_exts.header_len());
        let walk = walk_of(&buf).unwrap();
        prop_assert_eq!(walk.discard, None);
        let ours_frag = walk.fragment.map(|f| (f.offset, f.more_fragments, f.ident));
        let theirs_frag = theirs_exts.fragment.as_ref().map(|f| {
            (f.fragment_offset.byte_offset(), f.more_fragments, f.identification)
        });
        prop_assert_eq!(ours_frag, theirs_frag);
        match walk.fragment {
            // Workaround: etherparse walks the data of a later fragment as
            // headers; we stop at its Fragment header.
            Some(fragment) if fragment.offset != 0 => {
                prop_assert_eq!(walk.upper_layer, IpProtocol::Ipv6Frag);
                prop_assert_eq!(fragment.data_offset, walk.upper_offset + 8);
                prop_assert_eq!(parse(&buf), Err(Error::Unsupported));
            }
            _ => {
                prop_assert_eq!(walk.upper_layer, IpProtocol::from(slice.payload().ip_number.0));
                prop_assert_eq!(walk.upper_offset, exts_len);
                let parsed = parse(&buf);
                if walk.fragment.is_some_and(|f| f.more_fragments) {
                    prop_assert_eq!(parsed, Err(Error::Unsupported));
                } else {
                    prop_assert_eq!(parsed, Ok(Repr { payload_len: data.len(), ..repr }));
                }
            }
        }
    }
}
