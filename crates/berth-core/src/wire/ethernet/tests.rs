use std::net::{Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;

use super::*;
use crate::wire::testing::{assert_truncations_fail, prefilled};
use crate::wire::vectors::{
    ETHERNET_IPV4, ETHERNET_IPV4_PADDED, ETHERNET_IPV6, ETHERNET_VLAN, UDP_V4,
};

const MAC_A: Address = Address([0x02, 0, 0, 0, 0, 0x01]);
const MAC_B: Address = Address([0x02, 0, 0, 0, 0, 0x02]);

const VECTORS: [&[u8]; 4] = [
    &ETHERNET_IPV4,
    &ETHERNET_IPV4_PADDED,
    &ETHERNET_IPV6,
    &ETHERNET_VLAN,
];

fn parse(bytes: &[u8]) -> Result<Repr> {
    Repr::parse(&Packet::new_checked(bytes)?)
}

#[test]
fn deconstruct() {
    let frame = Packet::new_checked(&ETHERNET_IPV4[..]).unwrap();
    assert_eq!(frame.dst_addr(), MAC_B);
    assert_eq!(frame.src_addr(), MAC_A);
    assert_eq!(frame.ethertype(), EtherType::Ipv4);
    assert_eq!(frame.payload(), &UDP_V4[..]);
    assert_eq!(
        parse(&ETHERNET_IPV4).unwrap(),
        Repr {
            src_addr: MAC_A,
            dst_addr: MAC_B,
            ethertype: EtherType::Ipv4,
        }
    );

    // The padding up to the 60-byte minimum stays in the payload.
    let padded = Packet::new_checked(&ETHERNET_IPV4_PADDED[..]).unwrap();
    assert_eq!((padded.src_addr(), padded.dst_addr()), (MAC_B, MAC_A));
    assert_eq!(padded.payload().len(), 46);
    assert_eq!(&padded.payload()[30..], &[0; 16]);

    let v6 = parse(&ETHERNET_IPV6).unwrap();
    assert_eq!(v6.ethertype, EtherType::Ipv6);

    // An 802.1Q tag is not understood: its TPID is an unknown EtherType and
    // the tag stays at the start of the payload.
    let vlan = Packet::new_checked(&ETHERNET_VLAN[..]).unwrap();
    assert_eq!(vlan.ethertype(), EtherType::Unknown(0x8100));
    assert_eq!(&vlan.payload()[..4], &[0x00, 0x64, 0x08, 0x00]);
}

#[test]
fn construct() {
    for vector in VECTORS {
        let repr = parse(vector).unwrap();
        let mut buf = prefilled(vector.len());
        let mut frame = Packet::new_unchecked(&mut buf[..]);
        repr.emit(&mut frame);
        frame.payload_mut().copy_from_slice(&vector[HEADER_LEN..]);
        assert_eq!(buf, vector);
    }
    // The header alone, written from values rather than from a parse.
    let repr = Repr {
        src_addr: MAC_A,
        dst_addr: MAC_B,
        ethertype: EtherType::Ipv4,
    };
    let mut buf = prefilled(repr.buffer_len());
    repr.emit(&mut Packet::new_unchecked(&mut buf[..]));
    assert_eq!(buf, ETHERNET_IPV4[..HEADER_LEN]);
}

#[test]
fn truncated() {
    for vector in VECTORS {
        // Every prefix shorter than the header fails.
        assert_truncations_fail(&vector[..HEADER_LEN], |b| parse(b).map(|_| ()));
        // Ethernet has no length field: a longer prefix is a frame with a
        // shorter payload, and the IP layer finds out from its own length.
        for len in HEADER_LEN..=vector.len() {
            let frame = Packet::new_checked(&vector[..len]).unwrap();
            assert_eq!(frame.payload(), &vector[HEADER_LEN..len]);
        }
    }
}

#[test]
fn impossible_len() {
    // Ethernet II carries no length; an IEEE 802.3 frame puts its length
    // where the EtherType goes (values up to 1500). We do not speak 802.3
    // LLC, so such a frame is an unknown EtherType and its claimed length
    // is not trusted for anything.
    let mut bytes = ETHERNET_IPV4.to_vec();
    bytes[12..14].copy_from_slice(&1500u16.to_be_bytes());
    let frame = Packet::new_checked(&bytes[..]).unwrap();
    assert_eq!(frame.ethertype(), EtherType::Unknown(1500));
    assert_eq!(frame.payload().len(), ETHERNET_IPV4.len() - HEADER_LEN);
}

#[test]
fn address_kinds_and_display() {
    assert_eq!(MAC_A.to_string(), "02:00:00:00:00:01");
    assert_eq!(
        Address([0xab, 0xcd, 0xef, 0x01, 0x23, 0x45]).to_string(),
        "ab:cd:ef:01:23:45"
    );
    assert_eq!(Address::BROADCAST.to_string(), "ff:ff:ff:ff:ff:ff");

    assert!(MAC_A.is_unicast() && !MAC_A.is_multicast() && !MAC_A.is_broadcast());
    assert!(MAC_A.is_local());
    assert!(Address::BROADCAST.is_broadcast() && Address::BROADCAST.is_multicast());
    assert!(!Address::BROADCAST.is_unicast());
    let group = Address([0x01, 0x00, 0x5e, 0, 0, 1]);
    assert!(group.is_multicast() && !group.is_broadcast() && !group.is_unicast());
    assert_eq!(
        Address::from([1, 2, 3, 4, 5, 6]).as_bytes(),
        &[1, 2, 3, 4, 5, 6]
    );
}

//= https://www.rfc-editor.org/rfc/rfc1112#section-6.4
//= type=test
//# An IP host group address is mapped to an Ethernet multicast address
//# by placing the low-order 23-bits of the IP address into the low-order
//# 23 bits of the Ethernet multicast address 01-00-5E-00-00-00 (hex).
#[test]
fn ipv4_multicast_mapping() {
    let map = |a: [u8; 4]| Address::from_ipv4_multicast(Ipv4Addr::from(a));
    assert_eq!(map([224, 0, 0, 1]), Some(Address([1, 0, 0x5e, 0, 0, 1])));
    assert_eq!(
        map([239, 255, 255, 250]),
        Some(Address([1, 0, 0x5e, 0x7f, 0xff, 0xfa]))
    );
    // The 24th bit does not fit: 224.128.0.1 shares 224.0.0.1's group.
    assert_eq!(map([224, 128, 0, 1]), map([224, 0, 0, 1]));
    assert_eq!(map([198, 18, 0, 1]), None);
    assert_eq!(map([255, 255, 255, 255]), None);
}

//= https://www.rfc-editor.org/rfc/rfc2464#section-7
//= type=test
//# An IPv6 packet with a multicast destination address DST, consisting
//# of the sixteen octets DST[1] through DST[16], is transmitted to the
//# Ethernet multicast address whose first two octets are the value 3333
//# hexadecimal and whose last four octets are the last four octets of
//# DST.
#[test]
fn ipv6_multicast_mapping() {
    let map = |s: &str| Address::from_ipv6_multicast(s.parse::<Ipv6Addr>().unwrap());
    assert_eq!(map("ff02::1"), Some(Address([0x33, 0x33, 0, 0, 0, 1])));
    // The solicited-node group of 2001:2::2.
    assert_eq!(
        map("ff02::1:ff00:2"),
        Some(Address([0x33, 0x33, 0xff, 0, 0, 2]))
    );
    assert_eq!(map("2001:2::2"), None);
    for addr in [map("ff02::1"), map("ff05::1:3")] {
        assert!(addr.unwrap().is_multicast());
    }
}

fn addresses() -> impl Strategy<Value = Address> {
    any::<[u8; 6]>().prop_map(Address)
}

proptest! {
    #[test]
    fn ethertype_u16_round_trip(value in any::<u16>()) {
        prop_assert_eq!(u16::from(EtherType::from(value)), value);
    }

    #[test]
    fn parse_emit_round_trip(
        src_addr in addresses(), dst_addr in addresses(), ethertype in any::<u16>(),
        payload in proptest::collection::vec(any::<u8>(), 0..100),
    ) {
        let repr = Repr { src_addr, dst_addr, ethertype: ethertype.into() };
        let mut buf = prefilled(repr.buffer_len() + payload.len());
        let mut frame = Packet::new_unchecked(&mut buf[..]);
        repr.emit(&mut frame);
        frame.payload_mut().copy_from_slice(&payload);
        prop_assert_eq!(parse(&buf), Ok(repr));
        let frame = Packet::new_checked(&buf[..]).unwrap();
        prop_assert_eq!(frame.payload(), &payload[..]);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        if let Ok(frame) = Packet::new_checked(&bytes[..]) {
            let _ = (frame.src_addr(), frame.dst_addr(), frame.ethertype(), frame.payload());
            prop_assert!(parse(&bytes).is_ok());
        }
    }

    /// etherparse, an independent implementation, reads what we write, and
    /// we read what it writes.
    #[test]
    fn agrees_with_etherparse(
        src_addr in addresses(), dst_addr in addresses(), ethertype in any::<u16>(),
        payload in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let repr = Repr { src_addr, dst_addr, ethertype: ethertype.into() };
        let mut buf = vec![0; repr.buffer_len() + payload.len()];
        let mut frame = Packet::new_unchecked(&mut buf[..]);
        repr.emit(&mut frame);
        frame.payload_mut().copy_from_slice(&payload);

        let (theirs, rest) = etherparse::Ethernet2Header::from_slice(&buf).unwrap();
        prop_assert_eq!(theirs.source, src_addr.0);
        prop_assert_eq!(theirs.destination, dst_addr.0);
        prop_assert_eq!(theirs.ether_type.0, ethertype);
        prop_assert_eq!(rest, &payload[..]);

        let mut written = theirs.to_bytes().to_vec();
        written.extend_from_slice(&payload);
        prop_assert_eq!(parse(&written), Ok(repr));
    }
}
