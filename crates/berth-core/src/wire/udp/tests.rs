use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;

use super::*;
use crate::wire::testing::{assert_truncations_fail, prefilled};
use crate::wire::vectors::{UDP_V4, UDP_V6};

const A4: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1));
const B4: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 18, 0, 2));
const A6: IpAddr = IpAddr::V6(Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 1));
const B6: IpAddr = IpAddr::V6(Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 2));

fn parse(bytes: &[u8], src: IpAddr, dst: IpAddr) -> Result<Repr<'_>> {
    Repr::parse(&Packet::new_checked(bytes)?, src, dst, ChecksumCaps::FULL)
}

#[test]
fn deconstruct() {
    let packet = Packet::new_checked(&UDP_V4[20..]).unwrap();
    assert_eq!(packet.src_port(), 40000);
    assert_eq!(packet.dst_port(), 7);
    assert_eq!(packet.len(), 20);
    assert_eq!(packet.checksum(), 0x991b);
    assert_eq!(packet.payload(), b"hello, berth");
    assert!(packet.verify_checksum(A4, B4));
    let repr = parse(&UDP_V4[20..], A4, B4).unwrap();
    assert_eq!(
        repr,
        Repr {
            src_port: 40000,
            dst_port: 7,
            payload: b"hello, berth"
        }
    );

    let repr6 = parse(&UDP_V6[40..], A6, B6).unwrap();
    assert_eq!(
        repr6,
        Repr {
            src_port: 40000,
            dst_port: 9,
            payload: b""
        }
    );
}

#[test]
fn construct() {
    let repr = Repr {
        src_port: 40000,
        dst_port: 7,
        payload: b"hello, berth",
    };
    let mut buf = prefilled(repr.buffer_len());
    repr.emit(
        &mut Packet::new_unchecked(&mut buf[..]),
        A4,
        B4,
        ChecksumCaps::FULL,
    );
    assert_eq!(buf, UDP_V4[20..]);

    let repr6 = Repr {
        src_port: 40000,
        dst_port: 9,
        payload: b"",
    };
    let mut buf6 = prefilled(repr6.buffer_len());
    repr6.emit(
        &mut Packet::new_unchecked(&mut buf6[..]),
        A6,
        B6,
        ChecksumCaps::FULL,
    );
    assert_eq!(buf6, UDP_V6[40..]);
}

#[test]
fn truncated() {
    assert_truncations_fail(&UDP_V4[20..], |b| parse(b, A4, B4).map(|_| ()));
    assert_truncations_fail(&UDP_V6[40..], |b| parse(b, A6, B6).map(|_| ()));
}

#[test]
fn impossible_len() {
    let mut bytes = UDP_V4[20..].to_vec();
    // A Length below the header size.
    bytes[4..6].copy_from_slice(&7u16.to_be_bytes());
    assert_eq!(
        Packet::new_checked(&bytes[..]).err(),
        Some(Error::Malformed)
    );
    // A Length beyond the buffer.
    bytes[4..6].copy_from_slice(&21u16.to_be_bytes());
    assert_eq!(
        Packet::new_checked(&bytes[..]).err(),
        Some(Error::Truncated)
    );
}

#[test]
fn padding_after_length_is_ignored() {
    let mut bytes = UDP_V4[20..].to_vec();
    bytes.extend_from_slice(&[0; 6]);
    assert_eq!(parse(&bytes, A4, B4).unwrap().payload, b"hello, berth");
}

#[test]
fn checksum_rules() {
    let mut bytes = UDP_V4[20..].to_vec();
    bytes[8] ^= 1;
    assert_eq!(parse(&bytes, A4, B4), Err(Error::Checksum));
    let trusting = ChecksumCaps {
        rx: RxChecksum::Trust,
        ..ChecksumCaps::FULL
    };
    assert!(Repr::parse(&Packet::new_checked(&bytes[..]).unwrap(), A4, B4, trusting).is_ok());

    //= https://www.rfc-editor.org/rfc/rfc768
    //= type=test
    //# An all zero  transmitted
    //# checksum  value means that the transmitter  generated  no checksum
    let mut zero = UDP_V4[20..].to_vec();
    zero[6..8].copy_from_slice(&[0, 0]);
    assert!(parse(&zero, A4, B4).is_ok());

    //= https://www.rfc-editor.org/rfc/rfc8200#section-8.1
    //= type=test
    //# IPv6 receivers must discard UDP packets containing a zero
    //# checksum
    let mut zero6 = UDP_V6[40..].to_vec();
    zero6[6..8].copy_from_slice(&[0, 0]);
    assert_eq!(parse(&zero6, A6, B6), Err(Error::Checksum));
}

#[test]
fn computed_zero_is_sent_as_ones() {
    // Search for a payload whose checksum computes to zero.
    let found = (0u16..=u16::MAX).find_map(|w| {
        let payload = w.to_be_bytes();
        let repr = Repr {
            src_port: 1,
            dst_port: 2,
            payload: &payload,
        };
        let mut buf = vec![0; repr.buffer_len()];
        let mut packet = Packet::new_unchecked(&mut buf[..]);
        repr.emit_header(&mut packet);
        packet.payload_mut().copy_from_slice(&payload);
        let sum = checksum::combine(&[
            checksum::pseudo_header(A4, B4, IpProtocol::Udp, 10),
            checksum::data(&buf),
        ]);
        (sum == 0xffff).then_some(payload)
    });
    let payload = found.expect("some two-byte payload sums to zero");
    let repr = Repr {
        src_port: 1,
        dst_port: 2,
        payload: &payload,
    };
    let mut buf = vec![0; repr.buffer_len()];
    repr.emit(
        &mut Packet::new_unchecked(&mut buf[..]),
        A4,
        B4,
        ChecksumCaps::FULL,
    );
    assert_eq!(Packet::new_unchecked(&buf[..]).checksum(), 0xffff);
    assert!(parse(&buf, A4, B4).is_ok());
}

#[test]
fn pseudo_header_only_checksum() {
    let repr = Repr {
        src_port: 1000,
        dst_port: 2000,
        payload: b"offload",
    };
    let mut buf = vec![0; repr.buffer_len()];
    let caps = ChecksumCaps {
        tx: TxChecksum::PseudoHeader,
        ..ChecksumCaps::FULL
    };
    repr.emit(&mut Packet::new_unchecked(&mut buf[..]), A4, B4, caps);
    let expected = checksum::pseudo_header(A4, B4, IpProtocol::Udp, repr.buffer_len() as u32);
    assert_eq!(Packet::new_unchecked(&buf[..]).checksum(), expected);
}

fn addrs() -> impl Strategy<Value = (IpAddr, IpAddr)> {
    prop_oneof![
        (any::<[u8; 4]>(), any::<[u8; 4]>()).prop_map(|(a, b)| (IpAddr::from(a), IpAddr::from(b))),
        (any::<[u8; 16]>(), any::<[u8; 16]>())
            .prop_map(|(a, b)| (IpAddr::from(a), IpAddr::from(b))),
    ]
}

proptest! {
    #[test]
    fn parse_emit_round_trip(
        src_port in any::<u16>(), dst_port in any::<u16>(),
        payload in proptest::collection::vec(any::<u8>(), 0..1500), (src, dst) in addrs(),
    ) {
        let repr = Repr { src_port, dst_port, payload: &payload };
        let mut buf = vec![0xa5; repr.buffer_len()];
        repr.emit(&mut Packet::new_unchecked(&mut buf[..]), src, dst, ChecksumCaps::FULL);
        prop_assert_eq!(parse(&buf, src, dst), Ok(repr));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64), (src, dst) in addrs()) {
        let _ = parse(&bytes, src, dst);
    }

    /// etherparse, an independent implementation, reads what we write and
    /// computes the same checksum.
    #[test]
    fn agrees_with_etherparse(
        src_port in any::<u16>(), dst_port in any::<u16>(),
        payload in proptest::collection::vec(any::<u8>(), 0..600),
        src in any::<[u8; 4]>(), dst in any::<[u8; 4]>(),
    ) {
        let repr = Repr { src_port, dst_port, payload: &payload };
        let mut buf = vec![0; repr.buffer_len()];
        repr.emit(&mut Packet::new_unchecked(&mut buf[..]), src.into(), dst.into(), ChecksumCaps::FULL);
        let (theirs, rest) = etherparse::UdpHeader::from_slice(&buf).unwrap();
        prop_assert_eq!(theirs.source_port, src_port);
        prop_assert_eq!(theirs.destination_port, dst_port);
        prop_assert_eq!(usize::from(theirs.length), buf.len());
        prop_assert_eq!(rest, &payload[..]);
        let expected = theirs.calc_checksum_ipv4_raw(src, dst, &payload).unwrap();
        prop_assert_eq!(theirs.checksum, expected);
    }
}
