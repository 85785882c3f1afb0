use std::net::Ipv4Addr;

use proptest::prelude::*;

use super::*;
use crate::wire::testing::{assert_truncations_fail, prefilled};
use crate::wire::vectors::{
    ICMPV4_ECHO_REPLY, ICMPV4_ECHO_REQUEST, ICMPV4_FRAG_NEEDED, ICMPV4_PORT_UNREACHABLE,
    ICMPV4_TIME_EXCEEDED, ICMPV4_TIMESTAMP,
};
use crate::wire::{Ecn, IpProtocol};

const A4: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
const B4: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);

/// Each vector is an IPv4 datagram with a 20-byte header; the ICMP message
/// follows it.
fn icmp(vector: &[u8]) -> &[u8] {
    &vector[20..]
}

const PARSED: [&[u8]; 5] = [
    &ICMPV4_ECHO_REQUEST,
    &ICMPV4_ECHO_REPLY,
    &ICMPV4_PORT_UNREACHABLE,
    &ICMPV4_FRAG_NEEDED,
    &ICMPV4_TIME_EXCEEDED,
];

fn parse(bytes: &[u8]) -> Result<Repr<'_>> {
    Repr::parse(&Packet::new_checked(bytes)?, ChecksumCaps::FULL)
}

const TRUST: ChecksumCaps = ChecksumCaps {
    rx: RxChecksum::Trust,
    ..ChecksumCaps::FULL
};

/// Recomputes the ICMP checksum after a test edited the message.
fn refill(bytes: &mut [u8]) {
    Packet::new_unchecked(bytes).fill_checksum();
}

const PING: &[u8] = b"berth ping 0123456789";

/// The quoted header of `ICMPV4_PORT_UNREACHABLE`.
const QUOTED_UDP: ipv4::Repr = ipv4::Repr {
    src_addr: A4,
    dst_addr: B4,
    next_header: IpProtocol::Udp,
    payload_len: 21,
    hop_limit: 64,
    dscp: 0,
    ecn: Ecn::NotEct,
    ident: 0x0301,
    dont_frag: false,
    more_frags: false,
    frag_offset: 0,
};

/// The quoted header of `ICMPV4_FRAG_NEEDED`: a full-sized TCP segment.
const QUOTED_TCP: ipv4::Repr = ipv4::Repr {
    next_header: IpProtocol::Tcp,
    payload_len: 1480,
    hop_limit: 63,
    ident: 0x0401,
    dont_frag: true,
    ..QUOTED_UDP
};

/// The quoted header of `ICMPV4_TIME_EXCEEDED` (which had 8 bytes of
/// options).
const QUOTED_TRACEROUTE: ipv4::Repr = ipv4::Repr {
    payload_len: 18,
    hop_limit: 1,
    ident: 0x0501,
    ..QUOTED_UDP
};

#[test]
fn deconstruct_echo() {
    let packet = Packet::new_checked(icmp(&ICMPV4_ECHO_REQUEST)).unwrap();
    assert_eq!(packet.msg_type(), Message::EchoRequest);
    assert_eq!(packet.msg_code(), 0);
    assert_eq!(packet.checksum(), 0x6fec);
    assert_eq!(packet.echo_ident(), 0x4242);
    assert_eq!(packet.echo_seq_no(), 1);
    assert_eq!(packet.rest_of_header(), [0x42, 0x42, 0, 1]);
    assert_eq!(packet.data(), PING);
    assert!(packet.verify_checksum());
    assert_eq!(
        parse(icmp(&ICMPV4_ECHO_REQUEST)),
        Ok(Repr::EchoRequest {
            ident: 0x4242,
            seq_no: 1,
            data: PING
        })
    );

    let packet = Packet::new_checked(icmp(&ICMPV4_ECHO_REPLY)).unwrap();
    assert_eq!(packet.msg_type(), Message::EchoReply);
    assert_eq!(packet.checksum(), 0x77ec);
    assert_eq!(
        parse(icmp(&ICMPV4_ECHO_REPLY)),
        Ok(Repr::EchoReply {
            ident: 0x4242,
            seq_no: 1,
            data: PING
        })
    );
}

#[test]
fn deconstruct_port_unreachable() {
    let message = icmp(&ICMPV4_PORT_UNREACHABLE);
    let packet = Packet::new_checked(message).unwrap();
    assert_eq!(packet.msg_type(), Message::DstUnreachable);
    assert_eq!(packet.msg_code(), 3);
    assert_eq!(packet.rest_of_header(), [0; 4]);
    // Linux-style: the whole datagram is quoted.
    assert_eq!(packet.data().len(), 20 + 8 + 13);
    let Ok(Repr::DstUnreachable {
        reason,
        next_hop_mtu,
        header,
        data,
    }) = parse(message)
    else {
        panic!("a port unreachable must parse");
    };
    assert_eq!(reason, DstUnreachable::PortUnreachable);
    assert_eq!(next_hop_mtu, 0);
    assert_eq!(header, QUOTED_UDP);
    assert_eq!(&data[..4], &[0x9c, 0x40, 0x00, 0x09], "the UDP ports");
    assert_eq!(&data[8..], b"anyone there?");
}

//= https://www.rfc-editor.org/rfc/rfc1191#section-4
//= type=test
//# the router MUST include the MTU of that next-hop network in the
//# low-order 16 bits of the ICMP header field that is labelled
//# "unused" in the ICMP specification
#[test]
fn deconstruct_frag_needed() {
    let message = icmp(&ICMPV4_FRAG_NEEDED);
    let packet = Packet::new_checked(message).unwrap();
    assert_eq!(packet.msg_code(), 4);
    assert_eq!(packet.next_hop_mtu(), 1400);
    // The RFC 792 minimum: the header and 8 bytes of a 1500-byte datagram.
    assert_eq!(
        parse(message),
        Ok(Repr::DstUnreachable {
            reason: DstUnreachable::FragRequired,
            next_hop_mtu: 1400,
            header: QUOTED_TCP,
            data: &[0x9c, 0x40, 0x00, 0x50, 0x01, 0x02, 0x03, 0x04],
        })
    );
}

#[test]
fn deconstruct_time_exceeded() {
    let message = icmp(&ICMPV4_TIME_EXCEEDED);
    let packet = Packet::new_checked(message).unwrap();
    assert_eq!(packet.msg_type(), Message::TimeExceeded);
    assert_eq!(packet.msg_code(), 0);
    // The quoted header has Record Route and NOP: IHL 7.
    assert_eq!(packet.data()[0], 0x47);
    let Ok(Repr::TimeExceeded {
        reason,
        header,
        data,
    }) = parse(message)
    else {
        panic!("a time exceeded must parse");
    };
    assert_eq!(reason, TimeExceeded::TtlExpired);
    assert_eq!(header, QUOTED_TRACEROUTE);
    assert_eq!(data.len(), 18);
    assert_eq!(&data[8..], b"traceroute");
}

#[test]
fn deconstruct_unsupported() {
    // A timestamp request: the view reads it, the Repr does not hold it.
    let message = icmp(&ICMPV4_TIMESTAMP);
    let packet = Packet::new_checked(message).unwrap();
    assert_eq!(packet.msg_type(), Message::Timestamp);
    assert_eq!(packet.echo_ident(), 0x4242);
    assert_eq!(packet.echo_seq_no(), 2);
    assert_eq!(&packet.data()[..4], &1000u32.to_be_bytes());
    assert!(packet.verify_checksum());
    //= https://www.rfc-editor.org/rfc/rfc1122#section-3.2.2
    //= type=test
    //# If an ICMP message of unknown type is received, it MUST be
    //# silently discarded.
    assert_eq!(parse(message), Err(Error::Unsupported));
    for msg_type in [4u8, 5, 9, 10, 12, 14, 42, 255] {
        let mut bytes = icmp(&ICMPV4_ECHO_REQUEST).to_vec();
        bytes[0] = msg_type;
        refill(&mut bytes);
        assert_eq!(parse(&bytes), Err(Error::Unsupported), "type {msg_type}");
    }
    // Echo messages are defined with code 0 only.
    let mut bytes = icmp(&ICMPV4_ECHO_REQUEST).to_vec();
    bytes[1] = 1;
    refill(&mut bytes);
    assert_eq!(parse(&bytes), Err(Error::Unsupported));
}

#[test]
fn unknown_error_codes_still_parse() {
    let mut bytes = icmp(&ICMPV4_PORT_UNREACHABLE).to_vec();
    bytes[1] = 200;
    refill(&mut bytes);
    let Ok(Repr::DstUnreachable { reason, header, .. }) = parse(&bytes) else {
        panic!("an unknown code must still parse");
    };
    assert_eq!(reason, DstUnreachable::Unknown(200));
    assert_eq!(header, QUOTED_UDP);

    let mut bytes = icmp(&ICMPV4_TIME_EXCEEDED).to_vec();
    bytes[1] = 1;
    refill(&mut bytes);
    assert!(matches!(
        parse(&bytes),
        Ok(Repr::TimeExceeded {
            reason: TimeExceeded::FragExpired,
            ..
        })
    ));
}

#[test]
fn next_hop_mtu_only_with_frag_required() {
    let mut bytes = icmp(&ICMPV4_PORT_UNREACHABLE).to_vec();
    bytes[6..8].copy_from_slice(&1234u16.to_be_bytes());
    refill(&mut bytes);
    assert!(matches!(
        parse(&bytes),
        Ok(Repr::DstUnreachable {
            next_hop_mtu: 0,
            ..
        })
    ));
}

#[test]
fn construct() {
    for vector in [
        &ICMPV4_ECHO_REQUEST[..],
        &ICMPV4_ECHO_REPLY,
        &ICMPV4_PORT_UNREACHABLE,
        &ICMPV4_FRAG_NEEDED,
    ] {
        let repr = parse(icmp(vector)).unwrap();
        let mut buf = prefilled(repr.buffer_len());
        repr.emit(&mut Packet::new_unchecked(&mut buf[..]));
        assert_eq!(buf, icmp(vector));
    }
    // Written from values, not from a parse.
    let repr = Repr::DstUnreachable {
        reason: DstUnreachable::FragRequired,
        next_hop_mtu: 1400,
        header: QUOTED_TCP,
        data: &[0x9c, 0x40, 0x00, 0x50, 0x01, 0x02, 0x03, 0x04],
    };
    let mut buf = prefilled(repr.buffer_len());
    repr.emit(&mut Packet::new_unchecked(&mut buf[..]));
    assert_eq!(buf, icmp(&ICMPV4_FRAG_NEEDED));

    // A quoted header with options is written back without them.
    let repr = parse(icmp(&ICMPV4_TIME_EXCEEDED)).unwrap();
    assert_eq!(repr.buffer_len(), icmp(&ICMPV4_TIME_EXCEEDED).len() - 8);
    let mut buf = prefilled(repr.buffer_len());
    repr.emit(&mut Packet::new_unchecked(&mut buf[..]));
    assert_eq!(parse(&buf), Ok(repr));
    assert!(ipv4::Packet::new_unchecked(&buf[8..28]).verify_checksum());
}

#[test]
fn truncated() {
    // With the checksum verified, every prefix fails.
    for vector in PARSED {
        assert_truncations_fail(icmp(vector), |b| parse(b).map(|_| ()));
    }
    assert_truncations_fail(&icmp(&ICMPV4_TIMESTAMP)[..8], |b| {
        Packet::new_checked(b).map(|_| ())
    });

    // Without it, what is left decides: an echo is whole from 8 bytes on,
    // an error message once it quotes the header and 8 bytes (or the whole
    // datagram).
    for vector in PARSED {
        let message = icmp(vector);
        for len in 0..message.len() {
            let prefix = &message[..len];
            let result = Packet::new_checked(prefix).and_then(|p| Repr::parse(&p, TRUST));
            let header_len = match message[0] {
                8 | 0 => 0,
                _ => ipv4::Packet::new_unchecked(&message[8..]).header_len(),
            };
            let needed = if header_len == 0 {
                8
            } else {
                8 + header_len + 8
            };
            if len < needed {
                assert_eq!(result, Err(Error::Truncated), "{len} of {}", message.len());
            } else {
                assert!(result.is_ok(), "{len} of {}", message.len());
            }
        }
    }
}

#[test]
fn impossible_len() {
    let edited = |edit: &dyn Fn(&mut Vec<u8>)| {
        let mut bytes = icmp(&ICMPV4_PORT_UNREACHABLE).to_vec();
        edit(&mut bytes);
        refill(&mut bytes);
        parse(&bytes).map(|_| ())
    };
    // The quoted header's IHL below 5, or past the quote.
    assert_eq!(edited(&|b| b[8] = 0x44), Err(Error::Malformed));
    assert_eq!(edited(&|b| b[8] = 0x4f), Err(Error::Truncated));
    // Its Total Length below its header.
    assert_eq!(
        edited(&|b| b[10..12].copy_from_slice(&19u16.to_be_bytes())),
        Err(Error::Malformed)
    );
    // Its version.
    assert_eq!(edited(&|b| b[8] = 0x65), Err(Error::Malformed));
    // A Total Length beyond the quote is normal: the quote is cut short.
    let result = edited(&|b| b[10..12].copy_from_slice(&9000u16.to_be_bytes()));
    assert_eq!(result, Ok(()));
    // A Total Length inside the quote ends the quoted data there...
    let mut bytes = icmp(&ICMPV4_PORT_UNREACHABLE).to_vec();
    bytes[10..12].copy_from_slice(&30u16.to_be_bytes());
    refill(&mut bytes);
    let Ok(Repr::DstUnreachable { header, data, .. }) = parse(&bytes) else {
        panic!("must parse");
    };
    assert_eq!((header.payload_len, data.len()), (10, 10));
    // ...and one that leaves fewer than 8 bytes of a longer payload quoted
    // cannot identify the datagram.
    let mut bytes = icmp(&ICMPV4_PORT_UNREACHABLE)[..8 + 20 + 7].to_vec();
    refill(&mut bytes);
    assert_eq!(parse(&bytes), Err(Error::Truncated));
    // A datagram with a 4-byte payload quoted whole is fine.
    let mut bytes = icmp(&ICMPV4_PORT_UNREACHABLE)[..8 + 20 + 4].to_vec();
    bytes[10..12].copy_from_slice(&24u16.to_be_bytes());
    refill(&mut bytes);
    assert!(matches!(parse(&bytes), Ok(Repr::DstUnreachable { data, .. }) if data.len() == 4));
}

#[test]
fn bytes_past_the_quoted_datagram_are_not_data() {
    // Padding, or an RFC 4884 extension structure, after a datagram quoted
    // whole.
    let mut bytes = icmp(&ICMPV4_PORT_UNREACHABLE).to_vec();
    bytes.extend_from_slice(&[0; 12]);
    refill(&mut bytes);
    let Ok(Repr::DstUnreachable { data, .. }) = parse(&bytes) else {
        panic!("must parse");
    };
    assert_eq!(data.len(), 21);
}

//= https://www.rfc-editor.org/rfc/rfc1812#section-4.3.2.3
//= type=test
//# The returned IP header (and user data) MUST be identical to that
//# which was received, except that the router is not required to undo
//# any modifications to the IP header that are normally performed in
//# forwarding that were performed before the error was detected (e.g.,
//# decrementing the TTL, or updating options).
#[test]
fn quoted_header_checksum_is_not_verified() {
    let mut bytes = icmp(&ICMPV4_TIME_EXCEEDED).to_vec();
    bytes[8 + 8] = 0; // the quoted TTL, decremented without a checksum update
    refill(&mut bytes);
    assert!(!ipv4::Packet::new_unchecked(&bytes[8..]).verify_checksum());
    let Ok(Repr::TimeExceeded { header, .. }) = parse(&bytes) else {
        panic!("must parse");
    };
    assert_eq!(header.hop_limit, 0);
}

#[test]
fn checksum_rules() {
    let mut bytes = icmp(&ICMPV4_ECHO_REQUEST).to_vec();
    *bytes.last_mut().unwrap() ^= 1;
    assert_eq!(parse(&bytes), Err(Error::Checksum));
    let packet = Packet::new_checked(&bytes[..]).unwrap();
    assert!(Repr::parse(&packet, TRUST).is_ok());
    // The checksum of an odd-length message pads with zero, like Scapy.
    assert_eq!(icmp(&ICMPV4_ECHO_REQUEST).len() % 2, 1);
    for vector in PARSED.into_iter().chain([&ICMPV4_TIMESTAMP[..]]) {
        let mut bytes = icmp(vector).to_vec();
        bytes[2..4].copy_from_slice(&[0x12, 0x34]);
        refill(&mut bytes);
        assert_eq!(bytes, icmp(vector));
    }
}

#[test]
fn codes_round_trip() {
    for code in 0..=u8::MAX {
        assert_eq!(u8::from(DstUnreachable::from(code)), code);
        assert_eq!(u8::from(TimeExceeded::from(code)), code);
        assert_eq!(u8::from(Message::from(code)), code);
    }
    assert_eq!(DstUnreachable::from(13), DstUnreachable::AdminProhibited);
    assert_eq!(Message::EchoRequest.to_string(), "echo request");
}

fn ipv4_header() -> impl Strategy<Value = ipv4::Repr> {
    (
        any::<[u8; 4]>(),
        any::<[u8; 4]>(),
        any::<u8>(),
        0usize..1480,
        any::<u8>(),
        any::<u16>(),
        any::<bool>(),
    )
        .prop_map(
            |(src, dst, proto, payload_len, hop_limit, ident, dont_frag)| ipv4::Repr {
                src_addr: src.into(),
                dst_addr: dst.into(),
                next_header: proto.into(),
                payload_len,
                hop_limit,
                dscp: 0,
                ecn: Ecn::NotEct,
                ident,
                dont_frag,
                more_frags: false,
                frag_offset: 0,
            },
        )
}

/// A quoted header and a quote of its payload as long as a correct sender
/// sends: at least 8 bytes (or all of a shorter payload), at most all of it
/// (capped at what fits a 576-byte message).
fn quote() -> impl Strategy<Value = (ipv4::Repr, Vec<u8>)> {
    ipv4_header().prop_flat_map(|header| {
        let min = header.payload_len.min(8);
        let max = header.payload_len.min(548);
        (
            Just(header),
            proptest::collection::vec(any::<u8>(), min..=max),
        )
    })
}

#[derive(Debug, Clone)]
enum Kind {
    Echo { request: bool },
    Unreachable { code: u8, mtu: u16 },
    TimeExceeded { code: u8 },
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        any::<bool>().prop_map(|request| Kind::Echo { request }),
        (any::<u8>(), any::<u16>()).prop_map(|(code, mtu)| Kind::Unreachable { code, mtu }),
        any::<u8>().prop_map(|code| Kind::TimeExceeded { code }),
    ]
}

fn build<'a>(kind: &Kind, ident: u16, seq_no: u16, quote: &'a (ipv4::Repr, Vec<u8>)) -> Repr<'a> {
    let (header, data) = (quote.0, &quote.1[..]);
    match *kind {
        Kind::Echo { request: true } => Repr::EchoRequest {
            ident,
            seq_no,
            data,
        },
        Kind::Echo { request: false } => Repr::EchoReply {
            ident,
            seq_no,
            data,
        },
        Kind::Unreachable { code, mtu } => {
            let reason = DstUnreachable::from(code);
            let next_hop_mtu = if reason == DstUnreachable::FragRequired {
                mtu
            } else {
                0
            };
            Repr::DstUnreachable {
                reason,
                next_hop_mtu,
                header,
                data,
            }
        }
        Kind::TimeExceeded { code } => Repr::TimeExceeded {
            reason: TimeExceeded::from(code),
            header,
            data,
        },
    }
}

/// The message etherparse should see in what we emit.
fn their_type(repr: &Repr<'_>) -> etherparse::Icmpv4Type {
    use etherparse::icmpv4::{DestUnreachableHeader, TimeExceededCode};
    use etherparse::{IcmpEchoHeader, Icmpv4Type};
    match *repr {
        Repr::EchoRequest { ident, seq_no, .. } => Icmpv4Type::EchoRequest(IcmpEchoHeader {
            id: ident,
            seq: seq_no,
        }),
        Repr::EchoReply { ident, seq_no, .. } => Icmpv4Type::EchoReply(IcmpEchoHeader {
            id: ident,
            seq: seq_no,
        }),
        Repr::DstUnreachable {
            reason,
            next_hop_mtu,
            ..
        } => {
            let code = u8::from(reason);
            match DestUnreachableHeader::from_values(code, next_hop_mtu) {
                Some(header) => Icmpv4Type::DestinationUnreachable(header),
                // etherparse knows codes 0 to 15 only.
                None => Icmpv4Type::Unknown {
                    type_u8: 3,
                    code_u8: code,
                    bytes5to8: [0; 4],
                },
            }
        }
        Repr::TimeExceeded { reason, .. } => {
            let code = u8::from(reason);
            match TimeExceededCode::from_u8(code) {
                Some(code) => Icmpv4Type::TimeExceeded(code),
                None => Icmpv4Type::Unknown {
                    type_u8: 11,
                    code_u8: code,
                    bytes5to8: [0; 4],
                },
            }
        }
    }
}

proptest! {
    #[test]
    fn parse_emit_round_trip(
        kind in kind(), ident in any::<u16>(), seq_no in any::<u16>(), quote in quote(),
    ) {
        let repr = build(&kind, ident, seq_no, &quote);
        let mut buf = prefilled(repr.buffer_len());
        repr.emit(&mut Packet::new_unchecked(&mut buf[..]));
        prop_assert_eq!(parse(&buf), Ok(repr));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
        if let Ok(packet) = Packet::new_checked(&bytes[..]) {
            let _ = (packet.msg_type(), packet.next_hop_mtu(), packet.data());
            let _ = Repr::parse(&packet, TRUST);
        }
        let _ = parse(&bytes);
    }

    #[test]
    fn arbitrary_quotes_never_panic(
        error_type in prop_oneof![Just(3u8), Just(11u8)], code in any::<u8>(),
        first in 0x40u8..0x50, quote in proptest::collection::vec(any::<u8>(), 0..80),
    ) {
        // An error message whose quote starts like an IPv4 header, so the
        // quoted-header checks beyond the version run on random lengths.
        let mut bytes = vec![error_type, code, 0, 0, 0, 0, 0, 0, first];
        bytes.extend_from_slice(&quote);
        refill(&mut bytes);
        if let Ok(Repr::DstUnreachable { header, data, .. } | Repr::TimeExceeded { header, data, .. }) = parse(&bytes) {
            prop_assert!(data.len() <= header.payload_len);
            prop_assert!(data.len() >= header.payload_len.min(8));
        }
    }

    /// etherparse, an independent implementation, reads what we write: the
    /// same type, code, header word, checksum and payload.
    #[test]
    fn etherparse_reads_ours(
        kind in kind(), ident in any::<u16>(), seq_no in any::<u16>(), quote in quote(),
    ) {
        let repr = build(&kind, ident, seq_no, &quote);
        let mut buf = vec![0; repr.buffer_len()];
        repr.emit(&mut Packet::new_unchecked(&mut buf[..]));

        let theirs = etherparse::Icmpv4Slice::from_slice(&buf).unwrap();
        let expected = their_type(&repr);
        prop_assert_eq!(theirs.icmp_type(), expected.clone());
        prop_assert_eq!(theirs.payload(), &buf[8..]);
        prop_assert_eq!(theirs.checksum(), expected.calc_checksum(theirs.payload()));
    }

    /// We read what etherparse writes.
    #[test]
    fn we_read_etherparse(
        kind in kind(), ident in any::<u16>(), seq_no in any::<u16>(), quote in quote(),
    ) {
        let ours = build(&kind, ident, seq_no, &quote);
        // etherparse writes the header; the payload is ours (for an error,
        // our own emit of the quoted header, which etherparse cannot write
        // truncated).
        let mut message = vec![0; ours.buffer_len()];
        ours.emit(&mut Packet::new_unchecked(&mut message[..]));
        let payload = &message[8..];
        let theirs = etherparse::Icmpv4Header::with_checksum(their_type(&ours), payload);
        let mut bytes = theirs.to_bytes().to_vec();
        bytes.extend_from_slice(payload);
        prop_assert_eq!(parse(&bytes), Ok(ours));
    }
}
