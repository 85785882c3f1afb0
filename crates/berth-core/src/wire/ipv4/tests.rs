use std::net::Ipv4Addr;

use proptest::prelude::*;

use super::*;
use crate::wire::testing::{assert_truncations_fail, prefilled};
use crate::wire::vectors::{
    ETHERNET_IPV4_PADDED, IPV4_DF_TCP, IPV4_FRAG_FIRST, IPV4_FRAG_LAST, IPV4_OPTIONS, UDP_V4,
};

const A4: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
const B4: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);

/// Every vector whose buffer ends at its Total Length.
const VECTORS: [&[u8]; 5] = [
    &UDP_V4,
    &IPV4_OPTIONS,
    &IPV4_DF_TCP,
    &IPV4_FRAG_FIRST,
    &IPV4_FRAG_LAST,
];

fn parse(bytes: &[u8]) -> Result<Repr> {
    Repr::parse(&Packet::new_checked(bytes)?, ChecksumCaps::FULL)
}

/// The header of `UDP_V4`; the other vectors are written as changes to it.
const UDP_REPR: Repr = Repr {
    src_addr: A4,
    dst_addr: B4,
    next_header: IpProtocol::Udp,
    payload_len: 20,
    hop_limit: 64,
    dscp: 0,
    ecn: Ecn::NotEct,
    ident: 1,
    dont_frag: false,
    more_frags: false,
    frag_offset: 0,
};

const TCP_REPR: Repr = Repr {
    next_header: IpProtocol::Tcp,
    ident: 0,
    dont_frag: true,
    dscp: 10,
    ecn: Ecn::Ect0,
    ..UDP_REPR
};

const FRAG_FIRST_REPR: Repr = Repr {
    ident: 0x1234,
    payload_len: 24,
    more_frags: true,
    ..UDP_REPR
};

const FRAG_LAST_REPR: Repr = Repr {
    ident: 0x1234,
    payload_len: 16,
    frag_offset: 24,
    ..UDP_REPR
};

#[test]
fn deconstruct() {
    let packet = Packet::new_checked(&UDP_V4[..]).unwrap();
    assert_eq!(packet.version(), 4);
    assert_eq!(packet.header_len(), 20);
    assert_eq!(packet.dscp(), 0);
    assert_eq!(packet.ecn(), Ecn::NotEct);
    assert_eq!(packet.total_len(), 40);
    assert_eq!(packet.ident(), 1);
    assert!(!packet.reserved_flag() && !packet.dont_frag() && !packet.more_frags());
    assert_eq!(packet.frag_offset(), 0);
    assert!(!packet.is_fragment());
    assert_eq!(packet.hop_limit(), 64);
    assert_eq!(packet.next_header(), IpProtocol::Udp);
    assert_eq!(packet.checksum(), 0xee9c);
    assert_eq!(packet.src_addr(), A4);
    assert_eq!(packet.dst_addr(), B4);
    assert_eq!(packet.options(), &[] as &[u8]);
    assert_eq!(packet.payload(), &UDP_V4[20..]);
    assert!(packet.verify_checksum());
    assert_eq!(parse(&UDP_V4), Ok(UDP_REPR));

    assert_eq!(parse(&IPV4_DF_TCP), Ok(TCP_REPR));
    let tcp = Packet::new_checked(&IPV4_DF_TCP[..]).unwrap();
    assert_eq!((tcp.dscp(), tcp.ecn()), (10, Ecn::Ect0));
    assert!(tcp.dont_frag() && !tcp.is_fragment());
}

#[test]
fn deconstruct_options() {
    // Record Route (type 7, length 11, pointer 4, two slots), then NOP.
    let packet = Packet::new_checked(&IPV4_OPTIONS[..]).unwrap();
    assert_eq!(packet.header_len(), 32);
    assert_eq!(
        packet.options(),
        &[7, 11, 4, 198, 18, 0, 254, 198, 18, 1, 254, 1]
    );
    assert_eq!(packet.total_len(), 42);
    assert_eq!(packet.ident(), 0x4242);
    assert_eq!(packet.next_header(), IpProtocol::Icmp);
    // The payload starts after the options: an echo request, id 7, seq 1.
    assert_eq!(&packet.payload()[..2], &[8, 0]);
    assert_eq!(packet.payload().len(), 10);
    assert!(packet.verify_checksum());
    assert_eq!(
        parse(&IPV4_OPTIONS),
        Ok(Repr {
            next_header: IpProtocol::Icmp,
            payload_len: 10,
            ident: 0x4242,
            ..UDP_REPR
        })
    );
}

#[test]
fn deconstruct_fragments() {
    let first = Packet::new_checked(&IPV4_FRAG_FIRST[..]).unwrap();
    assert!(first.more_frags() && first.is_fragment());
    assert_eq!(first.frag_offset(), 0);
    assert_eq!(parse(&IPV4_FRAG_FIRST), Ok(FRAG_FIRST_REPR));

    let last = Packet::new_checked(&IPV4_FRAG_LAST[..]).unwrap();
    assert!(!last.more_frags() && last.is_fragment());
    assert_eq!(last.frag_offset(), 24);
    assert_eq!(parse(&IPV4_FRAG_LAST), Ok(FRAG_LAST_REPR));
    assert!(FRAG_FIRST_REPR.is_fragment() && FRAG_LAST_REPR.is_fragment());
    assert!(!UDP_REPR.is_fragment());

    // The two pieces put together are the original UDP datagram.
    let mut whole = first.payload().to_vec();
    whole.extend_from_slice(last.payload());
    assert_eq!(whole.len(), 40);
    assert_eq!(&whole[..4], &[0x9c, 0x40, 0x00, 0x09]);
}

//= https://www.rfc-editor.org/rfc/rfc894
//= type=test
//# This padding is not part of the IP packet and is not included in the
//# total length field of the IP header.
#[test]
fn padding_after_total_len_is_ignored() {
    let padded = &ETHERNET_IPV4_PADDED[14..];
    assert_eq!(padded.len(), 46);
    let packet = Packet::new_checked(padded).unwrap();
    assert_eq!(packet.total_len(), 30);
    assert_eq!(packet.payload().len(), 10);
    assert_eq!(parse(padded).unwrap().payload_len, 10);
}

#[test]
fn construct() {
    for (repr, vector) in [
        (UDP_REPR, &UDP_V4[..]),
        (TCP_REPR, &IPV4_DF_TCP[..]),
        (FRAG_FIRST_REPR, &IPV4_FRAG_FIRST[..]),
        (FRAG_LAST_REPR, &IPV4_FRAG_LAST[..]),
    ] {
        let mut buf = prefilled(repr.buffer_len());
        let mut packet = Packet::new_unchecked(&mut buf[..]);
        repr.emit(&mut packet);
        packet.payload_mut().copy_from_slice(&vector[20..]);
        assert_eq!(buf, vector);
    }

    // A header with options is re-emitted without them: the same Repr,
    // 12 bytes shorter.
    let repr = parse(&IPV4_OPTIONS).unwrap();
    let mut buf = prefilled(repr.buffer_len());
    let mut packet = Packet::new_unchecked(&mut buf[..]);
    repr.emit(&mut packet);
    packet.payload_mut().copy_from_slice(&IPV4_OPTIONS[32..]);
    assert_eq!(buf.len(), IPV4_OPTIONS.len() - 12);
    assert_eq!(parse(&buf), Ok(repr));
}

#[test]
fn truncated() {
    for vector in VECTORS {
        assert_truncations_fail(vector, |b| parse(b).map(|_| ()));
    }
    assert_truncations_fail(&ETHERNET_IPV4_PADDED[14..14 + 30], |b| parse(b).map(|_| ()));
}

#[test]
fn impossible_len() {
    let with = |edit: &dyn Fn(&mut Vec<u8>)| {
        let mut bytes = UDP_V4.to_vec();
        edit(&mut bytes);
        Packet::new_checked(bytes.clone()).err()
    };
    //= https://www.rfc-editor.org/rfc/rfc791#section-3.1
    //= type=test
    //# Note that the minimum value for a correct header is 5.
    for ihl in 0..5 {
        assert_eq!(with(&|b| b[0] = 0x40 | ihl), Some(Error::Malformed));
    }
    // An IHL that runs past the buffer.
    assert_eq!(with(&|b| b[0] = 0x4f), Some(Error::Truncated));
    // A Total Length below the header length.
    assert_eq!(
        with(&|b| b[2..4].copy_from_slice(&19u16.to_be_bytes())),
        Some(Error::Malformed)
    );
    let mut options = IPV4_OPTIONS.to_vec();
    options[2..4].copy_from_slice(&31u16.to_be_bytes());
    assert_eq!(
        Packet::new_checked(&options[..]).err(),
        Some(Error::Malformed)
    );
    // A Total Length beyond the buffer.
    assert_eq!(
        with(&|b| b[2..4].copy_from_slice(&41u16.to_be_bytes())),
        Some(Error::Truncated)
    );
    // Total Length exactly the header: an empty payload.
    let mut empty = UDP_V4[..20].to_vec();
    empty[2..4].copy_from_slice(&20u16.to_be_bytes());
    let mut packet = Packet::new_unchecked(&mut empty[..]);
    packet.fill_checksum();
    assert_eq!(parse(&empty).unwrap().payload_len, 0);
}

//= https://www.rfc-editor.org/rfc/rfc791#section-3.1
//= type=test
//# This field allows the length of a datagram to be up to 65,535
//# octets.
#[test]
fn fragment_past_the_largest_datagram() {
    let mut bytes = IPV4_FRAG_LAST.to_vec();
    let mut packet = Packet::new_unchecked(&mut bytes[..]);
    // 16 bytes at 65512 end at 65528, past 65535 - 20.
    packet.set_frag_offset(65512);
    packet.fill_checksum();
    assert_eq!(parse(&bytes), Err(Error::Malformed));
    // At 65496 they end at 65512, and a 20-byte header still fits.
    let mut packet = Packet::new_unchecked(&mut bytes[..]);
    packet.set_frag_offset(65496);
    packet.fill_checksum();
    assert_eq!(parse(&bytes).unwrap().frag_offset, 65496);
}

//= https://www.rfc-editor.org/rfc/rfc1122#section-3.2.1.1
//= type=test
//# A datagram whose version number is not 4
//# MUST be silently discarded.
#[test]
fn version_must_be_4() {
    for version in [0u8, 5, 6, 15] {
        let mut bytes = UDP_V4.to_vec();
        let mut packet = Packet::new_unchecked(&mut bytes[..]);
        packet.set_version(version);
        packet.fill_checksum();
        assert_eq!(packet.version(), version);
        assert_eq!(parse(&bytes), Err(Error::Malformed));
        let quoted = Packet::new_unchecked(&bytes[..]);
        assert_eq!(Repr::parse_quoted(&quoted), Err(Error::Malformed));
    }
}

//= https://www.rfc-editor.org/rfc/rfc1122#section-3.2.1.2
//= type=test
//# A host MUST verify the IP header checksum on every received
//# datagram and silently discard every datagram that has a bad
//# checksum.
#[test]
fn checksum_rules() {
    let mut bytes = UDP_V4.to_vec();
    bytes[8] -= 1; // the TTL, as a router forgetting to update the checksum
    assert_eq!(parse(&bytes), Err(Error::Checksum));
    let trusting = ChecksumCaps {
        rx: RxChecksum::Trust,
        ..ChecksumCaps::FULL
    };
    let packet = Packet::new_checked(&bytes[..]).unwrap();
    assert_eq!(Repr::parse(&packet, trusting).unwrap().hop_limit, 63);

    // The checksum covers the options too.
    let mut options = IPV4_OPTIONS.to_vec();
    options[22] = 8; // the Record Route pointer
    assert_eq!(parse(&options), Err(Error::Checksum));

    // fill_checksum reproduces Scapy's, options or not.
    for vector in VECTORS {
        let mut bytes = vector.to_vec();
        let mut packet = Packet::new_unchecked(&mut bytes[..]);
        packet.set_checksum(0x1234);
        packet.fill_checksum();
        assert_eq!(bytes, vector);
    }
}

#[test]
fn reserved_flag_is_ignored_and_cleared() {
    let mut bytes = IPV4_FRAG_FIRST.to_vec();
    let mut packet = Packet::new_unchecked(&mut bytes[..]);
    packet.set_reserved_flag(true);
    packet.fill_checksum();
    assert!(packet.reserved_flag() && packet.more_frags());
    let repr = parse(&bytes).unwrap();
    assert_eq!(repr, FRAG_FIRST_REPR);

    let mut buf = vec![0xff; repr.buffer_len()];
    repr.emit(&mut Packet::new_unchecked(&mut buf[..]));
    assert!(!Packet::new_unchecked(&buf[..]).reserved_flag());
}

#[test]
fn setters_keep_their_neighbours() {
    let mut bytes = IPV4_FRAG_LAST.to_vec();
    let mut packet = Packet::new_unchecked(&mut bytes[..]);
    packet.set_dont_frag(true);
    packet.set_more_frags(true);
    assert_eq!(packet.frag_offset(), 24);
    packet.set_frag_offset(8);
    assert!(packet.dont_frag() && packet.more_frags());
    packet.set_dscp(46);
    assert_eq!(packet.ecn(), Ecn::NotEct);
    packet.set_ecn(Ecn::Ce);
    assert_eq!(packet.dscp(), 46);
    packet.set_header_len(24);
    assert_eq!((packet.version(), packet.header_len()), (4, 24));
    packet.set_version(4);
    assert_eq!(packet.header_len(), 24);
}

#[test]
fn quoted_header_parses_leniently() {
    // What an ICMP error quotes under RFC 792: the header and 8 more bytes
    // of a datagram whose Total Length says 40.
    let quote = &UDP_V4[..28];
    assert_eq!(Packet::new_checked(quote).err(), Some(Error::Truncated));
    let packet = Packet::new_unchecked(quote);
    assert_eq!(packet.check_header_len(), Ok(()));
    assert_eq!(packet.payload(), &UDP_V4[20..28]);
    assert_eq!(Repr::parse_quoted(&packet), Ok(UDP_REPR));

    // A header whose checksum no longer matches (a router decremented the
    // TTL before quoting it) still parses.
    let mut forwarded = quote.to_vec();
    forwarded[8] = 0;
    let packet = Packet::new_unchecked(&forwarded[..]);
    assert!(!packet.verify_checksum());
    assert_eq!(Repr::parse_quoted(&packet).unwrap().hop_limit, 0);

    // Options are skipped here too.
    let packet = Packet::new_unchecked(&IPV4_OPTIONS[..36]);
    assert_eq!(Repr::parse_quoted(&packet).unwrap().payload_len, 10);
    assert_eq!(packet.payload(), &IPV4_OPTIONS[32..36]);

    // The header itself must be whole and its lengths consistent.
    for len in 0..20 {
        let packet = Packet::new_unchecked(&UDP_V4[..len]);
        assert_eq!(Repr::parse_quoted(&packet), Err(Error::Truncated));
    }
    let packet = Packet::new_unchecked(&IPV4_OPTIONS[..31]);
    assert_eq!(Repr::parse_quoted(&packet), Err(Error::Truncated));
    let mut lying = quote.to_vec();
    lying[2..4].copy_from_slice(&8u16.to_be_bytes());
    let packet = Packet::new_unchecked(&lying[..]);
    assert_eq!(Repr::parse_quoted(&packet), Err(Error::Malformed));
}

#[test]
fn ecn_codepoints() {
    for bits in 0..4 {
        assert_eq!(Ecn::from_bits(bits).bits(), bits);
    }
    assert_eq!(Ecn::from_bits(0b10), Ecn::Ect0);
    assert_eq!(Ecn::from_bits(0xff), Ecn::Ce);
    assert_eq!(Ecn::Ect1.to_string(), "ect1");
}

fn addr() -> impl Strategy<Value = Ipv4Addr> {
    any::<[u8; 4]>().prop_map(Ipv4Addr::from)
}

prop_compose! {
    fn repr()(
        src_addr in addr(), dst_addr in addr(), protocol in any::<u8>(),
        payload_len in 0usize..1500, hop_limit in any::<u8>(), dscp in 0u8..64,
        ecn in 0u8..4, ident in any::<u16>(), dont_frag in any::<bool>(),
        more_frags in any::<bool>(), frag_units in 0u16..8000,
    ) -> Repr {
        Repr {
            src_addr, dst_addr, next_header: protocol.into(), payload_len, hop_limit, dscp,
            ecn: Ecn::from_bits(ecn), ident, dont_frag, more_frags,
            // Offsets up to 64000 keep the datagram under 65535 bytes.
            frag_offset: frag_units * 8,
        }
    }
}

proptest! {
    #[test]
    fn parse_emit_round_trip(repr in repr(), padding in 0usize..20) {
        let mut buf = prefilled(repr.buffer_len() + padding);
        repr.emit(&mut Packet::new_unchecked(&mut buf[..]));
        prop_assert_eq!(parse(&buf), Ok(repr));
        let packet = Packet::new_checked(&buf[..]).unwrap();
        prop_assert_eq!(packet.payload().len(), repr.payload_len);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
        if let Ok(packet) = Packet::new_checked(&bytes[..]) {
            let _ = (packet.options(), packet.payload(), packet.verify_checksum());
        }
        let packet = Packet::new_unchecked(&bytes[..]);
        if packet.check_header_len().is_ok() {
            let _ = (packet.options(), packet.payload(), Repr::parse_quoted(&packet));
        }
        let _ = parse(&bytes);
    }

    #[test]
    fn arbitrary_header_fields_never_panic(
        mut header in any::<[u8; 20]>(), tail in proptest::collection::vec(any::<u8>(), 0..60),
    ) {
        // Random bytes rarely get past the version and length checks; start
        // from a plausible first byte so the later checks run too.
        header[0] = 0x40 | (header[0] & 0x0f);
        let mut bytes = header.to_vec();
        bytes.extend_from_slice(&tail);
        let trusting = ChecksumCaps { rx: RxChecksum::Trust, ..ChecksumCaps::FULL };
        if let Ok(packet) = Packet::new_checked(&bytes[..]) {
            let repr = Repr::parse(&packet, trusting).unwrap();
            prop_assert_eq!(repr.payload_len + packet.header_len(), usize::from(packet.total_len()));
            prop_assert_eq!(packet.payload().len(), repr.payload_len);
        }
    }

    /// etherparse, an independent implementation, reads what we write with
    /// the same field values and finds the checksum right.
    #[test]
    fn etherparse_reads_ours(repr in repr()) {
        // etherparse parses an Authentication Header (51) as part of IPv4;
        // our payload is not one.
        prop_assume!(repr.next_header != IpProtocol::Ah);
        let mut buf = vec![0; repr.buffer_len()];
        repr.emit(&mut Packet::new_unchecked(&mut buf[..]));

        let theirs = etherparse::Ipv4Slice::from_slice(&buf).unwrap();
        let h = theirs.header();
        prop_assert_eq!(h.version(), 4);
        prop_assert_eq!(h.ihl(), 5);
        prop_assert_eq!(h.dcp().value(), repr.dscp);
        prop_assert_eq!(h.ecn().value(), repr.ecn.bits());
        prop_assert_eq!(usize::from(h.total_len()), repr.buffer_len());
        prop_assert_eq!(h.identification(), repr.ident);
        prop_assert_eq!(h.dont_fragment(), repr.dont_frag);
        prop_assert_eq!(h.more_fragments(), repr.more_frags);
        prop_assert_eq!(h.fragments_offset().byte_offset(), repr.frag_offset);
        prop_assert_eq!(h.ttl(), repr.hop_limit);
        prop_assert_eq!(h.protocol().0, u8::from(repr.next_header));
        prop_assert_eq!(h.source_addr(), repr.src_addr);
        prop_assert_eq!(h.destination_addr(), repr.dst_addr);
        prop_assert_eq!(h.header_checksum(), h.to_header().calc_header_checksum());
        prop_assert_eq!(theirs.payload().payload.len(), repr.payload_len);
        prop_assert_eq!(theirs.is_payload_fragmented(), repr.is_fragment());
    }

    /// We read what etherparse writes, options included.
    #[test]
    fn we_read_etherparse(
        repr in repr(), option_words in 0usize..=10, option_byte in any::<u8>(),
        payload in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut theirs = etherparse::Ipv4Header {
            dscp: etherparse::IpDscp::try_new(repr.dscp).unwrap(),
            ecn: etherparse::IpEcn::try_new(repr.ecn.bits()).unwrap(),
            total_len: 0,
            identification: repr.ident,
            dont_fragment: repr.dont_frag,
            more_fragments: repr.more_frags,
            fragment_offset: etherparse::IpFragOffset::try_new(repr.frag_offset / 8).unwrap(),
            time_to_live: repr.hop_limit,
            protocol: etherparse::IpNumber(repr.next_header.into()),
            header_checksum: 0,
            source: repr.src_addr.octets(),
            destination: repr.dst_addr.octets(),
            options: Default::default(),
        };
        let options = vec![option_byte; option_words * 4];
        theirs.options = etherparse::Ipv4Options::try_from(&options[..]).unwrap();
        theirs.set_payload_len(payload.len()).unwrap();
        theirs.header_checksum = theirs.calc_header_checksum();
        let mut bytes = theirs.to_bytes().to_vec();
        bytes.extend_from_slice(&payload);

        let ours = Packet::new_checked(&bytes[..]).unwrap();
        prop_assert_eq!(ours.header_len(), 20 + options.len());
        prop_assert_eq!(ours.options(), &options[..]);
        prop_assert_eq!(ours.payload(), &payload[..]);
        prop_assert_eq!(parse(&bytes), Ok(Repr { payload_len: payload.len(), ..repr }));
    }
}
