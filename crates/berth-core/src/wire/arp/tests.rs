use std::net::Ipv4Addr;

use proptest::prelude::*;

use super::*;
use crate::wire::ethernet::HEADER_LEN as ETHERNET_HEADER_LEN;
use crate::wire::testing::{assert_truncations_fail, prefilled};
use crate::wire::vectors::{ARP_IPV6, ARP_REPLY_PADDED, ARP_REQUEST};

const MAC_A: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x01]);
const MAC_B: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x02]);
const A4: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
const B4: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);

fn parse(bytes: &[u8]) -> Result<Repr> {
    Repr::parse(&Packet::new_checked(bytes)?)
}

fn request() -> &'static [u8] {
    &ARP_REQUEST[ETHERNET_HEADER_LEN..]
}

/// The reply with its link padding.
fn reply() -> &'static [u8] {
    &ARP_REPLY_PADDED[ETHERNET_HEADER_LEN..]
}

const REQUEST: Repr = Repr::EthernetIpv4 {
    operation: Operation::Request,
    source_hardware_addr: MAC_A,
    source_protocol_addr: A4,
    target_hardware_addr: EthernetAddress([0; 6]),
    target_protocol_addr: B4,
};

const REPLY: Repr = Repr::EthernetIpv4 {
    operation: Operation::Reply,
    source_hardware_addr: MAC_B,
    source_protocol_addr: B4,
    target_hardware_addr: MAC_A,
    target_protocol_addr: A4,
};

#[test]
fn deconstruct() {
    let packet = Packet::new_checked(request()).unwrap();
    assert_eq!(packet.hardware_type(), Hardware::Ethernet);
    assert_eq!(packet.protocol_type(), EtherType::Ipv4);
    assert_eq!(packet.hardware_len(), 6);
    assert_eq!(packet.protocol_len(), 4);
    assert_eq!(packet.operation(), Operation::Request);
    assert_eq!(packet.packet_len(), 28);
    assert_eq!(packet.source_hardware_addr(), &MAC_A.0);
    assert_eq!(packet.source_protocol_addr(), &A4.octets());
    assert_eq!(packet.target_hardware_addr(), &[0; 6]);
    assert_eq!(packet.target_protocol_addr(), &B4.octets());
    assert_eq!(parse(request()), Ok(REQUEST));

    // 18 bytes of padding follow the reply; they are not part of it.
    assert_eq!(reply().len(), 46);
    assert_eq!(parse(reply()), Ok(REPLY));
}

#[test]
fn deconstruct_unsupported() {
    // IPv6 over Ethernet: the view follows the 16-byte protocol addresses,
    // the Repr does not represent them.
    let packet = Packet::new_checked(&ARP_IPV6[..]).unwrap();
    assert_eq!(packet.hardware_type(), Hardware::Ethernet);
    assert_eq!(packet.protocol_type(), EtherType::Ipv6);
    assert_eq!((packet.hardware_len(), packet.protocol_len()), (6, 16));
    assert_eq!(packet.packet_len(), 52);
    assert_eq!(packet.source_hardware_addr(), &MAC_A.0);
    let a6: std::net::Ipv6Addr = "2001:2::1".parse().unwrap();
    let b6: std::net::Ipv6Addr = "2001:2::2".parse().unwrap();
    assert_eq!(packet.source_protocol_addr(), &a6.octets());
    assert_eq!(packet.target_hardware_addr(), &[0; 6]);
    assert_eq!(packet.target_protocol_addr(), &b6.octets());
    assert_eq!(parse(&ARP_IPV6), Err(Error::Unsupported));

    //= https://www.rfc-editor.org/rfc/rfc826
    //= type=test
    //# ?Do I have the hardware type in ar$hrd?
    let mut ieee802 = request().to_vec();
    ieee802[0..2].copy_from_slice(&6u16.to_be_bytes());
    assert_eq!(
        Packet::new_checked(&ieee802[..]).unwrap().hardware_type(),
        Hardware::Unknown(6)
    );
    assert_eq!(parse(&ieee802), Err(Error::Unsupported));

    // Ethernet and IPv4 types with the wrong lengths; the view still reads
    // the fields where the lengths put them.
    let mut short_mac = request().to_vec();
    short_mac[4] = 4;
    let packet = Packet::new_checked(&short_mac[..]).unwrap();
    assert_eq!(packet.target_protocol_addr(), &short_mac[20..24]);
    assert_eq!(parse(&short_mac), Err(Error::Unsupported));
    let mut long_ip = request().to_vec();
    long_ip[5] = 5;
    long_ip.extend_from_slice(&[0, 0]);
    assert_eq!(parse(&long_ip), Err(Error::Unsupported));
}

#[test]
fn construct() {
    for (repr, vector) in [(REQUEST, request()), (REPLY, &reply()[..28])] {
        let mut buf = prefilled(repr.buffer_len());
        repr.emit(&mut Packet::new_unchecked(&mut buf[..]));
        assert_eq!(buf, vector);
    }
}

#[test]
fn truncated() {
    assert_truncations_fail(request(), |b| parse(b).map(|_| ()));
    assert_truncations_fail(&reply()[..28], |b| parse(b).map(|_| ()));
    assert_truncations_fail(&ARP_IPV6, |b| Packet::new_checked(b).map(|_| ()));
}

#[test]
fn impossible_len() {
    // Address lengths that run past the buffer.
    let mut bytes = reply().to_vec();
    bytes[4] = 255;
    assert_eq!(
        Packet::new_checked(&bytes[..]).err(),
        Some(Error::Truncated)
    );
    let mut bytes = request().to_vec();
    bytes[5] = 5;
    assert_eq!(
        Packet::new_checked(&bytes[..]).err(),
        Some(Error::Truncated)
    );
    // Zero-length addresses fit any buffer; the Repr refuses them.
    let mut bytes = request().to_vec();
    bytes[4] = 0;
    bytes[5] = 0;
    let packet = Packet::new_checked(&bytes[..]).unwrap();
    assert_eq!(packet.packet_len(), 8);
    assert_eq!(packet.source_hardware_addr(), &[] as &[u8]);
    assert_eq!(parse(&bytes), Err(Error::Unsupported));
}

#[test]
fn unknown_operations_parse() {
    let mut bytes = request().to_vec();
    bytes[6..8].copy_from_slice(&3u16.to_be_bytes());
    let Ok(Repr::EthernetIpv4 { operation, .. }) = parse(&bytes) else {
        panic!("an unknown operation must still parse");
    };
    assert_eq!(operation, Operation::Unknown(3));
    assert_eq!(operation.to_string(), "op-3");
}

fn repr() -> impl Strategy<Value = Repr> {
    (
        any::<u16>(),
        any::<[u8; 6]>(),
        any::<[u8; 4]>(),
        any::<[u8; 6]>(),
        any::<[u8; 4]>(),
    )
        .prop_map(|(op, sha, spa, tha, tpa)| Repr::EthernetIpv4 {
            operation: op.into(),
            source_hardware_addr: EthernetAddress(sha),
            source_protocol_addr: spa.into(),
            target_hardware_addr: EthernetAddress(tha),
            target_protocol_addr: tpa.into(),
        })
}

proptest! {
    #[test]
    fn parse_emit_round_trip(repr in repr(), padding in 0usize..32) {
        let mut buf = prefilled(repr.buffer_len() + padding);
        repr.emit(&mut Packet::new_unchecked(&mut buf[..]));
        prop_assert_eq!(parse(&buf), Ok(repr));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        if let Ok(packet) = Packet::new_checked(&bytes[..]) {
            let _ = (
                packet.operation(),
                packet.source_hardware_addr(),
                packet.source_protocol_addr(),
                packet.target_hardware_addr(),
                packet.target_protocol_addr(),
            );
        }
        let _ = parse(&bytes);
    }

    #[test]
    fn operation_u16_round_trip(value in any::<u16>()) {
        prop_assert_eq!(u16::from(Operation::from(value)), value);
        prop_assert_eq!(u16::from(Hardware::from(value)), value);
    }

    /// etherparse, an independent implementation, reads what we write, and
    /// we read what it writes.
    #[test]
    fn agrees_with_etherparse(repr in repr()) {
        let Repr::EthernetIpv4 {
            operation,
            source_hardware_addr,
            source_protocol_addr,
            target_hardware_addr,
            target_protocol_addr,
        } = repr;
        let mut buf = vec![0; repr.buffer_len()];
        repr.emit(&mut Packet::new_unchecked(&mut buf[..]));

        let theirs = etherparse::ArpPacket::from_slice(&buf).unwrap();
        prop_assert_eq!(theirs.packet_len(), buf.len());
        let theirs = theirs.try_eth_ipv4().unwrap();
        prop_assert_eq!(theirs.operation.0, u16::from(operation));
        prop_assert_eq!(theirs.sender_mac, source_hardware_addr.0);
        prop_assert_eq!(theirs.sender_ipv4_addr(), source_protocol_addr);
        prop_assert_eq!(theirs.target_mac, target_hardware_addr.0);
        prop_assert_eq!(theirs.target_ipv4_addr(), target_protocol_addr);

        prop_assert_eq!(parse(&theirs.to_bytes()), Ok(repr));
    }
}
