use std::net::Ipv4Addr;

use proptest::prelude::*;

use super::*;
use crate::wire::group_record::{Record, RecordType, RecordsBuf};
use crate::wire::testing::{assert_truncations_fail, prefilled};

/// The IGMP part of a v3 Report Linux sent on joining 239.1.2.3 (captured
/// with tcpdump): one CHANGE_TO_EXCLUDE record, no sources.
const REPORT_JOIN: [u8; 16] = [
    0x22, 0x00, 0xe8, 0xf9, 0x00, 0x00, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0xef, 0x01, 0x02, 0x03,
];

/// The IGMP part of a v3 General Query from a Linux bridge's querier:
/// Max Resp Code 100 (10 s), QRV 2, QQIC 2, no sources.
const GENERAL_QUERY: [u8; 12] = [
    0x11, 0x64, 0xec, 0x99, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00,
];

fn parse(bytes: &[u8]) -> Result<Repr<'_>> {
    Repr::parse(&Packet::new_checked(bytes)?, RxChecksum::Verify)
}

#[test]
fn deconstruct_report() {
    let packet = Packet::new_checked(&REPORT_JOIN[..]).unwrap();
    assert_eq!(packet.msg_type(), Message::ReportV3);
    assert_eq!(packet.checksum(), 0xe8f9);
    assert_eq!(packet.num_records(), 1);
    assert!(packet.verify_checksum());
    let Repr::Report(records) = parse(&REPORT_JOIN).unwrap() else {
        panic!("a v3 report");
    };
    let all: Vec<_> = records.iter().collect();
    assert_eq!(
        all,
        [Record::new(
            RecordType::ChangeToExclude,
            Ipv4Addr::new(239, 1, 2, 3)
        )]
    );
}

#[test]
fn deconstruct_query() {
    let Repr::Query(q) = parse(&GENERAL_QUERY).unwrap() else {
        panic!("a query");
    };
    assert_eq!(q.version, 3);
    assert!(q.is_general());
    assert_eq!(q.max_resp_time(), Duration::from_secs(10));
    assert_eq!((q.suppress, q.qrv, q.qqic), (false, 2, 2));
    assert!(q.sources.is_empty());
}

#[test]
fn construct_report_matches_linux() {
    let mut records = RecordsBuf::new();
    records.push(&Record::new(
        RecordType::ChangeToExclude,
        Ipv4Addr::new(239, 1, 2, 3),
    ));
    let repr = Repr::Report(records.as_records());
    let mut buf = prefilled(repr.buffer_len());
    repr.emit(&mut Packet::new_unchecked(&mut buf[..]));
    assert_eq!(buf, REPORT_JOIN);
}

#[test]
fn construct_query() {
    let repr = parse(&GENERAL_QUERY).unwrap();
    let mut buf = prefilled(repr.buffer_len());
    repr.emit(&mut Packet::new_unchecked(&mut buf[..]));
    assert_eq!(buf, GENERAL_QUERY);
}

#[test]
fn query_versions_by_length() {
    // RFC 3376 section 7.1: 8 octets with code 0 is v1, with a code v2,
    // 12 or more v3, anything else ignored.
    let v2 = Repr::Query(Query {
        version: 2,
        max_resp_code: 100,
        group: Ipv4Addr::new(239, 1, 2, 3),
        suppress: false,
        qrv: 0,
        qqic: 0,
        sources: &[],
    });
    let mut buf = vec![0; v2.buffer_len()];
    v2.emit(&mut Packet::new_unchecked(&mut buf[..]));
    assert_eq!(buf.len(), 8);
    assert_eq!(parse(&buf).unwrap(), v2);
    buf[1] = 0;
    Packet::new_unchecked(&mut buf[..]).fill_checksum();
    let Repr::Query(v1) = parse(&buf).unwrap() else {
        panic!()
    };
    assert_eq!(v1.version, 1);
    assert_eq!(v1.max_resp_time(), Duration::from_secs(10));
    let mut ten = GENERAL_QUERY[..10].to_vec();
    Packet::new_unchecked(&mut ten[..]).fill_checksum();
    assert_eq!(parse(&ten), Err(Error::Unsupported));
}

#[test]
fn max_resp_code_floating_point() {
    assert_eq!(decode_max_resp_code(0), 0);
    assert_eq!(decode_max_resp_code(127), 127);
    // exp 0, mant 0: 0x10 << 3.
    assert_eq!(decode_max_resp_code(0x80), 128);
    // exp 7, mant 15: 0x1f << 10, the largest, 3174.4 s.
    assert_eq!(decode_max_resp_code(0xff), 31_744);
}

#[test]
fn truncated() {
    assert_truncations_fail(&REPORT_JOIN, |b| parse(b).map(drop));
    // A v3 query claiming a source it does not carry.
    let mut q = GENERAL_QUERY.to_vec();
    q[11] = 1;
    assert_eq!(Packet::new_checked(&q[..]), Err(Error::Truncated));
}

#[test]
fn bad_checksum_and_unknown_type() {
    let mut r = REPORT_JOIN;
    r[15] ^= 1;
    assert_eq!(parse(&r), Err(Error::Checksum));
    assert!(Repr::parse(&Packet::new_checked(&r[..]).unwrap(), RxChecksum::Trust).is_ok());
    let mut u = REPORT_JOIN;
    u[0] = 0x30;
    Packet::new_unchecked(&mut u[..]).fill_checksum();
    assert_eq!(parse(&u), Err(Error::Unsupported));
}

#[test]
fn impossible_len() {
    // Records counted that are not there.
    let mut r = REPORT_JOIN;
    r[7] = 2;
    Packet::new_unchecked(&mut r[..]).fill_checksum();
    assert_eq!(parse(&r), Err(Error::Truncated));
}

proptest! {
    #[test]
    fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = parse(&bytes);
        if let Ok(p) = Packet::new_checked(&bytes[..]) {
            let _ = Repr::parse(&p, RxChecksum::Trust);
        }
    }

    #[test]
    fn report_round_trip(groups in proptest::collection::vec((1u8..=6, any::<u32>()), 0..20)) {
        let mut records = RecordsBuf::new();
        for (kind, group) in &groups {
            records.push(&Record::new(RecordType::from(*kind), Ipv4Addr::from(*group)));
        }
        let repr = Repr::Report(records.as_records());
        let mut buf = vec![0; repr.buffer_len()];
        repr.emit(&mut Packet::new_unchecked(&mut buf[..]));
        prop_assert_eq!(parse(&buf).unwrap(), repr);
    }
}
