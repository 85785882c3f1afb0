use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use etherparse::{TcpHeader, TcpOptionElement};
use proptest::prelude::*;

use super::*;
use crate::wire::testing::{assert_truncations_fail, prefilled};
use crate::wire::vectors::{
    TCP_DATA_V4, TCP_FIN_V4, TCP_RST_V4, TCP_SACK_TS_V4, TCP_SACK_V6, TCP_SYN_ACK_V4,
    TCP_SYN_ECN_V6, TCP_SYN_V4, TCP_UNKNOWN_OPT_V4, TCP_URG_V6,
};

const A4: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1));
const B4: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 18, 0, 2));
const A6: IpAddr = IpAddr::V6(Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 1));
const B6: IpAddr = IpAddr::V6(Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 2));

const TRUST: ChecksumCaps = ChecksumCaps {
    rx: RxChecksum::Trust,
    tx: TxChecksum::Full,
};

fn parse(bytes: &[u8], src: IpAddr, dst: IpAddr) -> Result<Repr<'_>> {
    Repr::parse(&Packet::new_checked(bytes)?, src, dst, ChecksumCaps::FULL)
}

fn parse_trusting(bytes: &[u8]) -> Result<Repr<'_>> {
    Repr::parse(&Packet::new_checked(bytes)?, A4, B4, TRUST)
}

/// A bare segment from port 40000 to 80 that each case overrides.
const BASE: Repr<'static> = Repr {
    src_port: 40000,
    dst_port: 80,
    seq_number: 0,
    ack_number: None,
    flags: Flags::empty(),
    window_len: 0,
    urgent_pointer: 0,
    max_seg_size: None,
    window_scale: None,
    sack_permitted: false,
    sack_ranges: [None; 4],
    timestamp: None,
    payload: b"",
};

/// Each vector's TCP segment, its addresses, and the Repr it carries.
fn vectors() -> Vec<(&'static str, &'static [u8], IpAddr, IpAddr, Repr<'static>)> {
    let reply = Repr {
        src_port: 80,
        dst_port: 40000,
        ..BASE
    };
    vec![
        (
            "TCP_SYN_V4",
            &TCP_SYN_V4[20..],
            A4,
            B4,
            Repr {
                seq_number: 1000,
                flags: Flags::SYN,
                window_len: 64240,
                max_seg_size: Some(1460),
                window_scale: Some(7),
                sack_permitted: true,
                timestamp: Some((1, 0)),
                ..BASE
            },
        ),
        (
            "TCP_SYN_ACK_V4",
            &TCP_SYN_ACK_V4[20..],
            B4,
            A4,
            Repr {
                seq_number: 5000,
                ack_number: Some(1001),
                flags: Flags::SYN | Flags::ACK,
                window_len: 65160,
                max_seg_size: Some(1460),
                window_scale: Some(7),
                sack_permitted: true,
                timestamp: Some((2, 1)),
                ..reply
            },
        ),
        (
            "TCP_DATA_V4",
            &TCP_DATA_V4[20..],
            A4,
            B4,
            Repr {
                seq_number: 1001,
                ack_number: Some(5001),
                flags: Flags::PSH | Flags::ACK,
                window_len: 502,
                timestamp: Some((3, 2)),
                payload: b"GET / HTTP/1.1\r\n\r\n",
                ..BASE
            },
        ),
        (
            "TCP_SACK_TS_V4",
            &TCP_SACK_TS_V4[20..],
            B4,
            A4,
            Repr {
                seq_number: 5001,
                ack_number: Some(1001),
                flags: Flags::ACK,
                window_len: 509,
                timestamp: Some((4, 3)),
                sack_ranges: [
                    Some((3001, 4001)),
                    Some((5001, 6001)),
                    Some((7001, 8001)),
                    None,
                ],
                ..reply
            },
        ),
        (
            "TCP_SACK_V6",
            &TCP_SACK_V6[40..],
            B6,
            A6,
            Repr {
                seq_number: 5001,
                ack_number: Some(1001),
                flags: Flags::ACK,
                window_len: 509,
                sack_ranges: [
                    Some((3001, 4001)),
                    Some((5001, 6001)),
                    Some((7001, 8001)),
                    Some((4_294_967_000, 100)),
                ],
                ..reply
            },
        ),
        (
            "TCP_FIN_V4",
            &TCP_FIN_V4[20..],
            A4,
            B4,
            Repr {
                seq_number: 1019,
                ack_number: Some(5001),
                flags: Flags::FIN | Flags::ACK,
                window_len: 502,
                timestamp: Some((5, 4)),
                ..BASE
            },
        ),
        (
            "TCP_RST_V4",
            &TCP_RST_V4[20..],
            B4,
            A4,
            Repr {
                dst_port: 40001,
                flags: Flags::RST,
                ..reply
            },
        ),
        (
            "TCP_SYN_ECN_V6",
            &TCP_SYN_ECN_V6[40..],
            A6,
            B6,
            Repr {
                src_port: 40002,
                dst_port: 443,
                seq_number: u32::MAX,
                flags: Flags::SYN | Flags::ECE | Flags::CWR,
                window_len: 64800,
                max_seg_size: Some(1440),
                window_scale: Some(14),
                sack_permitted: true,
                ..BASE
            },
        ),
        (
            "TCP_URG_V6",
            &TCP_URG_V6[40..],
            A6,
            B6,
            Repr {
                src_port: 40002,
                dst_port: 443,
                seq_number: 1,
                ack_number: Some(1),
                flags: Flags::PSH | Flags::ACK | Flags::URG,
                window_len: 1000,
                urgent_pointer: 3,
                payload: b"urg!",
                ..BASE
            },
        ),
    ]
}

#[test]
fn deconstruct() {
    let packet = Packet::new_checked(&TCP_SYN_V4[20..]).unwrap();
    assert_eq!(packet.src_port(), 40000);
    assert_eq!(packet.dst_port(), 80);
    assert_eq!(packet.seq_number(), 1000);
    assert_eq!(packet.ack_number(), 0);
    assert_eq!(packet.header_len(), 40);
    assert_eq!(packet.flags(), Flags::SYN);
    assert_eq!(packet.window_len(), 64240);
    assert_eq!(packet.checksum(), 0x206e);
    assert_eq!(packet.urgent_pointer(), 0);
    assert_eq!(packet.options().len(), 20);
    assert_eq!(
        packet.options_iter().collect::<Result<Vec<_>>>(),
        Ok(vec![
            TcpOption::MaxSegmentSize(1460),
            TcpOption::SackPermitted,
            TcpOption::Timestamp { tsval: 1, tsecr: 0 },
            TcpOption::NoOperation,
            TcpOption::WindowScale(7),
        ])
    );
    assert_eq!(packet.payload(), b"");
    assert_eq!(packet.segment_len(), 1);
    assert!(packet.verify_checksum(A4, B4));

    for (name, bytes, src, dst, expected) in vectors() {
        assert!(
            Packet::new_checked(bytes)
                .unwrap()
                .verify_checksum(src, dst),
            "{name}"
        );
        assert_eq!(parse(bytes, src, dst), Ok(expected), "{name}");
    }

    // The unknown option (kind 254) is skipped by its length.
    let unknown = parse(&TCP_UNKNOWN_OPT_V4[20..], A4, B4).unwrap();
    assert_eq!(
        unknown,
        Repr {
            seq_number: 1000,
            flags: Flags::SYN,
            window_len: 64240,
            max_seg_size: Some(1460),
            ..BASE
        }
    );
}

#[test]
fn construct() {
    for (name, bytes, src, dst, repr) in vectors() {
        assert_eq!(repr.buffer_len(), bytes.len(), "{name}");
        assert_eq!(repr.header_len(), usize::from(bytes[12] >> 4) * 4, "{name}");
        let mut buf = prefilled(repr.buffer_len());
        repr.emit(
            &mut Packet::new_unchecked(&mut buf[..]),
            src,
            dst,
            ChecksumCaps::FULL,
        );
        assert_eq!(buf, bytes, "{name}");
    }
}

#[test]
fn truncated() {
    let mut all: Vec<_> = vectors()
        .into_iter()
        .map(|(_, bytes, src, dst, _)| (bytes, src, dst))
        .collect();
    all.push((&TCP_UNKNOWN_OPT_V4[20..], A4, B4));
    for (bytes, src, dst) in all {
        assert_truncations_fail(bytes, |b| parse(b, src, dst).map(|_| ()));
    }
    // Cut inside the header, the length check fails whatever the checksum.
    for len in 0..HEADER_LEN {
        assert_eq!(
            Packet::new_checked(&TCP_RST_V4[20..20 + len]).err(),
            Some(Error::Truncated)
        );
    }
    for len in HEADER_LEN..40 {
        assert_eq!(
            Packet::new_checked(&TCP_SYN_V4[20..20 + len]).err(),
            Some(Error::Truncated)
        );
    }
}

#[test]
fn impossible_len() {
    //= https://www.rfc-editor.org/rfc/rfc9293#section-3.1
    //= type=test
    //# The number of 32-bit words in the TCP header. This indicates where
    //# the data begins.
    let mut bytes = TCP_SYN_V4[20..].to_vec();
    for words in 0..5u8 {
        bytes[12] = words << 4;
        assert_eq!(
            Packet::new_checked(&bytes[..]).err(),
            Some(Error::Malformed),
            "data offset {words}"
        );
    }
    for words in 11..16u8 {
        bytes[12] = words << 4;
        assert_eq!(
            Packet::new_checked(&bytes[..]).err(),
            Some(Error::Truncated),
            "data offset {words}"
        );
    }

    //= https://www.rfc-editor.org/rfc/rfc9293#section-3.1
    //= type=test
    //# TCP implementations MUST be prepared to handle an illegal option
    //# length (e.g., zero); a suggested procedure is to reset the
    //# connection and log the error cause (MUST-7).
    // The SYN's options: MSS at 20, SACK-Permitted at 24, TS at 26, NOP at
    // 36, Window Scale at 37.
    let cases: [(usize, u8); 7] = [
        (21, 0), // MSS of length zero
        (21, 1), // MSS of length one
        (21, 3), // MSS, not four
        (25, 3), // SACK-Permitted, not two
        (27, 8), // Timestamps, not ten
        (38, 2), // Window Scale, not three
        (38, 4), // Window Scale running past the header
    ];
    for (at, value) in cases {
        let mut bytes = TCP_SYN_V4[20..].to_vec();
        bytes[at] = value;
        assert_eq!(
            parse_trusting(&bytes),
            Err(Error::Malformed),
            "byte {at} = {value}"
        );
    }
    // An option running past the Data Offset into the payload: the data
    // segment's Timestamps claims twelve bytes.
    let mut bytes = TCP_DATA_V4[20..].to_vec();
    assert_eq!(&bytes[22..24], &[8, 10]);
    bytes[23] = 12;
    assert_eq!(parse_trusting(&bytes), Err(Error::Malformed));
    // A SACK option of no block.
    let mut bytes = TCP_SACK_V6[40..].to_vec();
    assert_eq!(&bytes[22..24], &[5, 34]);
    bytes[23] = 2;
    assert_eq!(parse_trusting(&bytes), Err(Error::Malformed));
}

#[test]
fn checksum_rules() {
    let mut bytes = TCP_DATA_V4[20..].to_vec();
    *bytes.last_mut().unwrap() ^= 1;
    assert_eq!(parse(&bytes, A4, B4), Err(Error::Checksum));
    assert!(parse_trusting(&bytes).is_ok());
    // The pseudo-header binds the addresses and the family.
    assert_eq!(
        parse(
            &TCP_DATA_V4[20..],
            A4,
            IpAddr::V4(Ipv4Addr::new(198, 18, 0, 3))
        ),
        Err(Error::Checksum)
    );
    assert_eq!(parse(&TCP_URG_V6[40..], A4, B4), Err(Error::Checksum));
    // A zero checksum means nothing special in TCP.
    let mut zero = TCP_RST_V4[20..].to_vec();
    zero[16..18].copy_from_slice(&[0, 0]);
    assert_eq!(parse(&zero, B4, A4), Err(Error::Checksum));
}

#[test]
fn pseudo_header_only_checksum() {
    let (_, bytes, src, dst, repr) = vectors().swap_remove(2);
    let mut buf = vec![0; repr.buffer_len()];
    let caps = ChecksumCaps {
        tx: TxChecksum::PseudoHeader,
        ..ChecksumCaps::FULL
    };
    repr.emit(&mut Packet::new_unchecked(&mut buf[..]), src, dst, caps);
    let expected = checksum::pseudo_header(src, dst, IpProtocol::Tcp, bytes.len() as u32);
    assert_eq!(Packet::new_unchecked(&buf[..]).checksum(), expected);
    // Completing it over the segment, as a device does, gives the vector.
    let mut completed = buf.clone();
    completed[16..18].copy_from_slice(&[0, 0]);
    let sum = !checksum::combine(&[expected, checksum::data(&completed)]);
    completed[16..18].copy_from_slice(&sum.to_be_bytes());
    assert_eq!(completed, bytes);
}

#[test]
fn reserved_bits_are_ignored_and_never_sent() {
    //= https://www.rfc-editor.org/rfc/rfc9293#section-3.1
    //= type=test
    //# A set of control bits reserved for future use. Must be zero in
    //# generated segments and must be ignored in received segments if the
    //# corresponding future features are not implemented by the sending or
    //# receiving host.
    let mut bytes = TCP_SYN_V4[20..].to_vec();
    bytes[12] |= 0x0f;
    let repr = parse_trusting(&bytes).unwrap();
    assert_eq!(repr, parse(&TCP_SYN_V4[20..], A4, B4).unwrap());
    let mut buf = prefilled(repr.buffer_len());
    repr.emit(
        &mut Packet::new_unchecked(&mut buf[..]),
        A4,
        B4,
        ChecksumCaps::FULL,
    );
    assert_eq!(buf, TCP_SYN_V4[20..]);
}

#[test]
fn ack_number_follows_the_ack_bit() {
    // Without ACK the field is not read; emit writes zero and no ACK bit,
    // and sets ACK whenever there is a number, whatever `flags` says.
    let mut bytes = TCP_RST_V4[20..].to_vec();
    bytes[8..12].copy_from_slice(&77u32.to_be_bytes());
    assert_eq!(parse_trusting(&bytes).unwrap().ack_number, None);

    let repr = Repr {
        flags: Flags::ACK | Flags::RST,
        ..BASE
    };
    let mut buf = prefilled(repr.buffer_len());
    repr.emit_header(&mut Packet::new_unchecked(&mut buf[..]));
    assert_eq!(Packet::new_unchecked(&buf[..]).flags(), Flags::RST);
    assert_eq!(Packet::new_unchecked(&buf[..]).ack_number(), 0);

    let repr = Repr {
        ack_number: Some(9),
        flags: Flags::FIN,
        ..BASE
    };
    repr.emit_header(&mut Packet::new_unchecked(&mut buf[..]));
    assert_eq!(
        Packet::new_unchecked(&buf[..]).flags(),
        Flags::FIN | Flags::ACK
    );
    assert_eq!(Packet::new_unchecked(&buf[..]).ack_number(), 9);
}

#[test]
fn options_follow_linux_layout() {
    let options = |repr: Repr<'_>| {
        let mut buf = prefilled(repr.buffer_len());
        repr.emit_header(&mut Packet::new_unchecked(&mut buf[..]));
        buf[HEADER_LEN..].to_vec()
    };
    // SYN with timestamps, without SACK: mss, nop, nop, TS, nop, wscale.
    let syn = Repr {
        flags: Flags::SYN,
        max_seg_size: Some(1460),
        window_scale: Some(7),
        timestamp: Some((1, 0)),
        ..BASE
    };
    assert_eq!(
        options(syn),
        [
            2, 4, 5, 180, 1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7
        ]
    );
    // SACK-Permitted alone: nop, nop, sackOK.
    let sack_ok = Repr {
        sack_permitted: true,
        ..BASE
    };
    assert_eq!(options(sack_ok), [1, 1, 4, 2]);
    // An ACK with one SACK block and no timestamps: nop, nop, sack.
    let sack = Repr {
        ack_number: Some(1),
        sack_ranges: [Some((5, 6)), None, None, None],
        ..BASE
    };
    assert_eq!(options(sack), [1, 1, 5, 10, 0, 0, 0, 5, 0, 0, 0, 6]);
}

#[test]
fn sack_blocks_that_do_not_fit_are_dropped() {
    let four = [Some((1, 2)), Some((3, 4)), Some((5, 6)), Some((7, 8))];
    let cases = [
        // (repr, header length, blocks written)
        (
            Repr {
                sack_ranges: four,
                ..BASE
            },
            56,
            4,
        ),
        //= https://www.rfc-editor.org/rfc/rfc2018#section-3
        //= type=test
        //# thus
        //# a maximum of 3 SACK blocks will be allowed in this case.
        (
            Repr {
                sack_ranges: four,
                timestamp: Some((1, 2)),
                ..BASE
            },
            60,
            3,
        ),
        (
            Repr {
                sack_ranges: four,
                timestamp: Some((1, 2)),
                max_seg_size: Some(1),
                window_scale: Some(1),
                sack_permitted: true,
                ..BASE
            },
            60,
            2,
        ),
        (
            Repr {
                sack_ranges: four,
                timestamp: Some((1, 2)),
                max_seg_size: Some(1),
                window_scale: Some(1),
                ..BASE
            },
            60,
            2,
        ),
    ];
    for (repr, header_len, blocks) in cases {
        assert_eq!(repr.header_len(), header_len);
        let mut buf = prefilled(repr.buffer_len());
        repr.emit(
            &mut Packet::new_unchecked(&mut buf[..]),
            A4,
            B4,
            ChecksumCaps::FULL,
        );
        let parsed = parse(&buf, A4, B4).unwrap();
        assert_eq!(parsed.sack_ranges[..blocks], four[..blocks]);
        assert!(parsed.sack_ranges[blocks..].iter().all(Option::is_none));
    }
}

#[test]
fn segment_len_counts_syn_and_fin() {
    let cases = [
        (Flags::SYN, b"" as &[u8], 1),
        (Flags::SYN | Flags::FIN, b"ab", 4),
        (Flags::FIN | Flags::ACK, b"abc", 4),
        (Flags::ACK, b"abc", 3),
        (Flags::RST, b"", 0),
    ];
    for (flags, payload, len) in cases {
        let repr = Repr {
            flags,
            payload,
            ..BASE
        };
        assert_eq!(repr.segment_len(), len);
        let mut buf = prefilled(repr.buffer_len());
        repr.emit(
            &mut Packet::new_unchecked(&mut buf[..]),
            A4,
            B4,
            ChecksumCaps::FULL,
        );
        assert_eq!(Packet::new_checked(&buf[..]).unwrap().segment_len(), len);
    }
}

#[test]
fn flags_display_like_tcpdump() {
    let cases = [
        (Flags::SYN, "S"),
        (Flags::SYN | Flags::ACK, "S."),
        (Flags::ACK, "."),
        (Flags::PSH | Flags::ACK, "P."),
        (Flags::FIN | Flags::ACK, "F."),
        (Flags::FIN | Flags::PSH | Flags::ACK, "FP."),
        (Flags::RST, "R"),
        (Flags::RST | Flags::ACK, "R."),
        (Flags::SYN | Flags::ECE | Flags::CWR, "SEW"),
        (Flags::ACK | Flags::URG, ".U"),
        (Flags::empty(), "none"),
    ];
    for (flags, text) in cases {
        assert_eq!(flags.to_string(), text);
    }
    assert_eq!(format!("{:?}", Flags::SYN | Flags::ACK), "Flags(S.)");
    let mut flags = Flags::SYN | Flags::ECE;
    assert!(flags.syn() && flags.ece() && !flags.cwr());
    flags.set(Flags::ECE, false);
    flags |= Flags::CWR;
    assert_eq!(flags.bits(), 0x82);
    assert!(flags.intersects(Flags::CWR | Flags::FIN));
    assert!(!flags.contains(Flags::CWR | Flags::FIN));
}

/// The owned parts of an arbitrary Repr.
#[derive(Debug, Clone)]
struct Parts {
    ports: (u16, u16),
    seq_number: u32,
    ack_number: Option<u32>,
    flags: u8,
    window_len: u16,
    urgent_pointer: u16,
    max_seg_size: Option<u16>,
    window_scale: Option<u8>,
    sack_permitted: bool,
    sack_ranges: Vec<(u32, u32)>,
    timestamp: Option<(u32, u32)>,
    payload: Vec<u8>,
}

impl Parts {
    fn repr(&self) -> Repr<'_> {
        let mut flags = Flags::from_bits(self.flags);
        flags.set(Flags::ACK, self.ack_number.is_some());
        let mut sack_ranges = [None; MAX_SACK_BLOCKS];
        for (to, from) in sack_ranges.iter_mut().zip(&self.sack_ranges) {
            *to = Some(*from);
        }
        Repr {
            src_port: self.ports.0,
            dst_port: self.ports.1,
            seq_number: self.seq_number,
            ack_number: self.ack_number,
            flags,
            window_len: self.window_len,
            urgent_pointer: self.urgent_pointer,
            max_seg_size: self.max_seg_size,
            window_scale: self.window_scale,
            sack_permitted: self.sack_permitted,
            sack_ranges,
            timestamp: self.timestamp,
            payload: &self.payload,
        }
    }
}

fn parts() -> impl Strategy<Value = Parts> {
    (
        (
            any::<(u16, u16)>(),
            any::<u32>(),
            any::<Option<u32>>(),
            any::<u8>(),
        ),
        (any::<u16>(), any::<u16>()),
        (
            any::<Option<u16>>(),
            any::<Option<u8>>(),
            any::<bool>(),
            proptest::collection::vec(any::<(u32, u32)>(), 0..=4),
            any::<Option<(u32, u32)>>(),
        ),
        proptest::collection::vec(any::<u8>(), 0..600),
    )
        .prop_map(
            |(
                (ports, seq_number, ack_number, flags),
                (window_len, urgent_pointer),
                (max_seg_size, window_scale, sack_permitted, sack_ranges, timestamp),
                payload,
            )| Parts {
                ports,
                seq_number,
                ack_number,
                flags,
                window_len,
                urgent_pointer,
                max_seg_size,
                window_scale,
                sack_permitted,
                sack_ranges,
                timestamp,
                payload,
            },
        )
}

fn addrs() -> impl Strategy<Value = (IpAddr, IpAddr)> {
    prop_oneof![
        (any::<[u8; 4]>(), any::<[u8; 4]>()).prop_map(|(a, b)| (IpAddr::from(a), IpAddr::from(b))),
        (any::<[u8; 16]>(), any::<[u8; 16]>())
            .prop_map(|(a, b)| (IpAddr::from(a), IpAddr::from(b))),
    ]
}

/// Our spelling of an etherparse option.
fn ours(theirs: &TcpOptionElement) -> TcpOption<'static> {
    match *theirs {
        TcpOptionElement::Noop => TcpOption::NoOperation,
        TcpOptionElement::MaximumSegmentSize(mss) => TcpOption::MaxSegmentSize(mss),
        TcpOptionElement::WindowScale(shift) => TcpOption::WindowScale(shift),
        TcpOptionElement::SelectiveAcknowledgementPermitted => TcpOption::SackPermitted,
        TcpOptionElement::SelectiveAcknowledgement(first, rest) => {
            TcpOption::SackRange([Some(first), rest[0], rest[1], rest[2]])
        }
        TcpOptionElement::Timestamp(tsval, tsecr) => TcpOption::Timestamp { tsval, tsecr },
    }
}

fn element() -> impl Strategy<Value = TcpOptionElement> {
    prop_oneof![
        Just(TcpOptionElement::Noop),
        any::<u16>().prop_map(TcpOptionElement::MaximumSegmentSize),
        any::<u8>().prop_map(TcpOptionElement::WindowScale),
        Just(TcpOptionElement::SelectiveAcknowledgementPermitted),
        (
            any::<(u32, u32)>(),
            proptest::collection::vec(any::<(u32, u32)>(), 0..=3)
        )
            .prop_map(|(first, rest)| {
                let mut more = [None; 3];
                for (to, from) in more.iter_mut().zip(rest) {
                    *to = Some(from);
                }
                TcpOptionElement::SelectiveAcknowledgement(first, more)
            }),
        any::<(u32, u32)>().prop_map(|(a, b)| TcpOptionElement::Timestamp(a, b)),
    ]
}

/// Up to 40 bytes of etherparse options.
fn elements() -> impl Strategy<Value = Vec<TcpOptionElement>> {
    proptest::collection::vec(element(), 0..10).prop_map(|all| {
        let mut fitting = Vec::new();
        for e in all {
            fitting.push(e);
            if etherparse::TcpOptions::try_from_elements(&fitting).is_err() {
                fitting.pop();
            }
        }
        fitting
    })
}

proptest! {
    #[test]
    fn parse_emit_round_trip(parts in parts(), (src, dst) in addrs()) {
        let repr = parts.repr();
        prop_assert!(repr.header_len() <= MAX_HEADER_LEN);
        let mut buf = vec![0xa5; repr.buffer_len()];
        repr.emit(&mut Packet::new_unchecked(&mut buf[..]), src, dst, ChecksumCaps::FULL);
        prop_assert_eq!(usize::from(Packet::new_unchecked(&buf[..]).header_len()), repr.header_len());
        // The SACK blocks that fit survive; the others are dropped.
        let mut expected = repr;
        let kept = repr.sack_blocks();
        let room = (MAX_OPTIONS_LEN - repr.fixed_options_len()).saturating_sub(4) / 8;
        prop_assert_eq!(kept, parts.sack_ranges.len().min(room));
        for range in &mut expected.sack_ranges[kept..] {
            *range = None;
        }
        prop_assert_eq!(parse(&buf, src, dst), Ok(expected));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..80), (src, dst) in addrs()) {
        let _ = parse(&bytes, src, dst);
    }

    /// Arbitrary options behind a plausible Data Offset, with the checksum
    /// trusted so the option walk always runs.
    #[test]
    fn arbitrary_options_never_panic(
        words in 0u8..16, options in proptest::collection::vec(any::<u8>(), 0..44),
        payload in proptest::collection::vec(any::<u8>(), 0..8),
    ) {
        let mut bytes = TCP_RST_V4[20..].to_vec();
        bytes[12] = words << 4;
        bytes.extend_from_slice(&options);
        bytes.extend_from_slice(&payload);
        if let Ok(packet) = Packet::new_checked(&bytes[..]) {
            for _ in packet.options_iter() {}
            if let Ok(repr) = Repr::parse(&packet, A4, B4, TRUST) {
                prop_assert!(repr.payload.len() <= payload.len() + options.len());
            }
        }
    }

    /// etherparse, an independent implementation, reads what we write: the
    /// same fields, the same options, and a checksum it agrees with.
    #[test]
    fn etherparse_reads_ours(parts in parts(), (src, dst) in addrs()) {
        let repr = parts.repr();
        let mut buf = vec![0; repr.buffer_len()];
        repr.emit(&mut Packet::new_unchecked(&mut buf[..]), src, dst, ChecksumCaps::FULL);
        let (theirs, rest) = TcpHeader::from_slice(&buf).unwrap();
        prop_assert_eq!(theirs.source_port, repr.src_port);
        prop_assert_eq!(theirs.destination_port, repr.dst_port);
        prop_assert_eq!(theirs.sequence_number, repr.seq_number);
        prop_assert_eq!(theirs.acknowledgment_number, repr.ack_number.unwrap_or(0));
        prop_assert_eq!(theirs.ack, repr.ack_number.is_some());
        let flags = repr.flags;
        prop_assert_eq!(
            (theirs.fin, theirs.syn, theirs.rst, theirs.psh, theirs.urg, theirs.ece, theirs.cwr, theirs.ns),
            (flags.fin(), flags.syn(), flags.rst(), flags.psh(), flags.urg(), flags.ece(), flags.cwr(), false)
        );
        prop_assert_eq!(theirs.window_size, repr.window_len);
        prop_assert_eq!(theirs.urgent_pointer, repr.urgent_pointer);
        prop_assert_eq!(theirs.header_len(), repr.header_len());
        prop_assert_eq!(rest, repr.payload);
        let their_options: Vec<_> = theirs
            .options_iterator()
            .map(|e| e.map(|e| ours(&e)))
            .collect::<core::result::Result<_, _>>()
            .unwrap();
        let packet = Packet::new_checked(&buf[..]).unwrap();
        let our_options: Vec<_> = packet.options_iter().collect::<Result<_>>().unwrap();
        prop_assert_eq!(their_options, our_options);
        let expected = match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => theirs.calc_checksum_ipv4_raw(s.octets(), d.octets(), rest),
            (IpAddr::V6(s), IpAddr::V6(d)) => theirs.calc_checksum_ipv6_raw(s.octets(), d.octets(), rest),
            _ => unreachable!("addrs() pairs one family"),
        };
        prop_assert_eq!(theirs.checksum, expected.unwrap());
    }

    /// We read what etherparse writes, options included (its padding is End
    /// of Option List), and its NS bit (a Reserved bit to us) changes nothing.
    #[test]
    fn we_read_etherparse(
        (ports, seq, ack, bits, ns) in (any::<(u16, u16)>(), any::<u32>(), any::<u32>(), any::<u8>(), any::<bool>()),
        (window, urgent) in any::<(u16, u16)>(),
        elements in elements(),
        payload in proptest::collection::vec(any::<u8>(), 0..300),
        (src, dst) in addrs(),
    ) {
        let flags = Flags::from_bits(bits);
        let mut theirs = TcpHeader::new(ports.0, ports.1, seq, window);
        theirs.acknowledgment_number = ack;
        theirs.ns = ns;
        (theirs.fin, theirs.syn, theirs.rst, theirs.psh) = (flags.fin(), flags.syn(), flags.rst(), flags.psh());
        (theirs.ack, theirs.urg, theirs.ece, theirs.cwr) = (flags.ack(), flags.urg(), flags.ece(), flags.cwr());
        theirs.urgent_pointer = urgent;
        theirs.set_options(&elements).unwrap();
        theirs.checksum = match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => theirs.calc_checksum_ipv4_raw(s.octets(), d.octets(), &payload),
            (IpAddr::V6(s), IpAddr::V6(d)) => theirs.calc_checksum_ipv6_raw(s.octets(), d.octets(), &payload),
            _ => unreachable!("addrs() pairs one family"),
        }
        .unwrap();
        let mut bytes = theirs.to_bytes().to_vec();
        bytes.extend_from_slice(&payload);

        let packet = Packet::new_checked(&bytes[..]).unwrap();
        let our_options: Vec<_> = packet
            .options_iter()
            .filter(|o| *o != Ok(TcpOption::EndOfList))
            .collect::<Result<_>>()
            .unwrap();
        let their_options: Vec<_> = elements.iter().map(ours).collect();
        prop_assert_eq!(&our_options, &their_options);

        let repr = Repr::parse(&packet, src, dst, ChecksumCaps::FULL).unwrap();
        let mut expected = Repr {
            src_port: ports.0,
            dst_port: ports.1,
            seq_number: seq,
            ack_number: flags.ack().then_some(ack),
            flags,
            window_len: window,
            urgent_pointer: urgent,
            payload: &payload,
            ..BASE
        };
        // The last of each option counts.
        for option in their_options {
            match option {
                TcpOption::MaxSegmentSize(mss) => expected.max_seg_size = Some(mss),
                TcpOption::WindowScale(shift) => expected.window_scale = Some(shift),
                TcpOption::SackPermitted => expected.sack_permitted = true,
                TcpOption::SackRange(ranges) => expected.sack_ranges = ranges,
                TcpOption::Timestamp { tsval, tsecr } => expected.timestamp = Some((tsval, tsecr)),
                _ => {}
            }
        }
        prop_assert_eq!(repr, expected);
    }
}
