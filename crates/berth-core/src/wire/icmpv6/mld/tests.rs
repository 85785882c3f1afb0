use std::net::Ipv6Addr;

use proptest::prelude::*;

use super::*;
use crate::wire::group_record::{Record, RecordType, RecordsBuf};
use crate::wire::testing::{assert_truncations_fail, prefilled};

/// The source of the captured Report (a Linux veth's link-local address).
const REPORT_SRC: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0x4892, 0x18ff, 0xfe0f, 0xecea);

/// The whole IPv6 packet of the MLDv2 Report Linux sent on joining
/// ff15::1:2:3 (captured with tcpdump): the Hop-by-Hop header with the
/// Router Alert, then one CHANGE_TO_EXCLUDE record.
const REPORT_JOIN: [u8; 76] = [
    0x60, 0x00, 0x00, 0x00, 0x00, 0x24, 0x00, 0x01, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x48, 0x92, 0x18, 0xff, 0xfe, 0x0f, 0xec, 0xea, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x16, 0x3a, 0x00, 0x05, 0x02, 0x00, 0x00, 0x01, 0x00,
    0x8f, 0x00, 0x23, 0x66, 0x00, 0x00, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0xff, 0x15, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x02, 0x00, 0x03,
];

/// The source of the captured Query (a Linux bridge's querier).
const QUERY_SRC: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0x1824, 0x09ff, 0xfe26, 0x38ed);

/// The MLD part of an MLDv2 General Query from a Linux bridge's querier:
/// Maximum Response Code 10000 (10 s), QRV 2, QQIC 2, no sources.
const GENERAL_QUERY: [u8; 28] = [
    0x82, 0x00, 0xfd, 0xda, 0x27, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00,
];

fn group() -> Ipv6Addr {
    "ff15::1:2:3".parse().unwrap()
}

fn parse(bytes: &[u8], src: Ipv6Addr, dst: Ipv6Addr) -> Result<Repr<'_>> {
    Repr::parse(&Packet::new_checked(bytes)?, src, dst, ChecksumCaps::FULL)
}

#[test]
fn deconstruct_report() {
    assert_eq!(REPORT_JOIN[40..48], HOP_BY_HOP_ROUTER_ALERT);
    let ip = crate::wire::Ipv6Packet::new_checked(&REPORT_JOIN[..]).unwrap();
    assert_eq!(ip.router_alert(), Some(0), "MLD's Router Alert (RFC 2711)");
    let mut no_hbh = REPORT_JOIN;
    no_hbh[6] = 58;
    let ip = crate::wire::Ipv6Packet::new_checked(&no_hbh[..]).unwrap();
    assert_eq!(ip.router_alert(), None);
    let mut padded = REPORT_JOIN;
    padded[42..48].copy_from_slice(&[1, 4, 0, 0, 0, 0]);
    let ip = crate::wire::Ipv6Packet::new_checked(&padded[..]).unwrap();
    assert_eq!(ip.router_alert(), None, "PadN only");
    let mld = &REPORT_JOIN[48..];
    let packet = Packet::new_checked(mld).unwrap();
    assert_eq!(packet.msg_type(), Message::MldReportV2);
    assert_eq!(packet.num_records(), 1);
    assert!(packet.verify_checksum(REPORT_SRC, ALL_V2_ROUTERS));
    assert!(is_mld(IpProtocol::Icmpv6, mld));
    let Repr::Report(records) = parse(mld, REPORT_SRC, ALL_V2_ROUTERS).unwrap() else {
        panic!("a v2 report");
    };
    let all: Vec<_> = records.iter().collect();
    assert_eq!(all, [Record::new(RecordType::ChangeToExclude, group())]);
}

#[test]
fn construct_report_matches_linux() {
    let mut records = RecordsBuf::new();
    records.push(&Record::new(RecordType::ChangeToExclude, group()));
    let repr = Repr::Report(records.as_records());
    let mut buf = prefilled(repr.buffer_len());
    repr.emit(
        &mut Packet::new_unchecked(&mut buf[..]),
        REPORT_SRC,
        ALL_V2_ROUTERS,
        ChecksumCaps::FULL,
    );
    assert_eq!(buf, REPORT_JOIN[48..]);
}

#[test]
fn deconstruct_and_construct_query() {
    let repr = parse(&GENERAL_QUERY, QUERY_SRC, ALL_NODES).unwrap();
    let Repr::Query(q) = repr else {
        panic!("a query")
    };
    assert_eq!(q.version, 2);
    assert!(q.is_general());
    assert_eq!(q.max_resp_time(), Duration::from_secs(10));
    assert_eq!((q.suppress, q.qrv, q.qqic), (false, 2, 2));
    let mut buf = prefilled(repr.buffer_len());
    repr.emit(
        &mut Packet::new_unchecked(&mut buf[..]),
        QUERY_SRC,
        ALL_NODES,
        ChecksumCaps::FULL,
    );
    assert_eq!(buf, GENERAL_QUERY);
}

#[test]
fn query_versions_by_length() {
    // RFC 3810 section 8.1: 24 octets is v1, 28 or more v2, others ignored.
    let v1 = GENERAL_QUERY[..24].to_vec();
    let mut v1 = v1;
    super::super::Packet::new_unchecked(&mut v1[..]).fill_checksum(
        QUERY_SRC,
        ALL_NODES,
        crate::wire::TxChecksum::Full,
    );
    let Repr::Query(q) = parse(&v1, QUERY_SRC, ALL_NODES).unwrap() else {
        panic!()
    };
    assert_eq!(q.version, 1);
    let mut odd = GENERAL_QUERY[..26].to_vec();
    super::super::Packet::new_unchecked(&mut odd[..]).fill_checksum(
        QUERY_SRC,
        ALL_NODES,
        crate::wire::TxChecksum::Full,
    );
    assert_eq!(parse(&odd, QUERY_SRC, ALL_NODES), Err(Error::Unsupported));
}

#[test]
fn max_resp_code_floating_point() {
    assert_eq!(decode_max_resp_code(10_000), 10_000);
    assert_eq!(decode_max_resp_code(32_767), 32_767);
    // exp 0, mant 0x010: 0x1010 << 3.
    assert_eq!(decode_max_resp_code(0x8010), 32_896);
    assert_eq!(decode_max_resp_code(0xffff), 0x1fff << 10);
}

#[test]
fn truncated_and_bad() {
    assert_truncations_fail(&REPORT_JOIN[48..], |b| {
        parse(b, REPORT_SRC, ALL_V2_ROUTERS).map(drop)
    });
    let mut r = REPORT_JOIN[48..].to_vec();
    r[20] ^= 1;
    assert_eq!(parse(&r, REPORT_SRC, ALL_V2_ROUTERS), Err(Error::Checksum));
    // A v2 query that claims a source it does not carry.
    let mut q = GENERAL_QUERY;
    q[27] = 1;
    assert_eq!(Packet::new_checked(&q[..]), Err(Error::Truncated));
    // Not MLD at all: an echo request.
    assert!(!is_mld(IpProtocol::Icmpv6, &[128, 0]));
    assert!(!is_mld(IpProtocol::Udp, &[130, 0]));
}

proptest! {
    #[test]
    fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..96)) {
        if let Ok(p) = Packet::new_checked(&bytes[..]) {
            let caps = ChecksumCaps { rx: RxChecksum::Trust, ..ChecksumCaps::FULL };
            let _ = Repr::parse(&p, REPORT_SRC, ALL_V2_ROUTERS, caps);
        }
    }

    #[test]
    fn report_round_trip(groups in proptest::collection::vec((1u8..=6, any::<u128>()), 0..20)) {
        let mut records = RecordsBuf::new();
        for (kind, group) in &groups {
            records.push(&Record::new(RecordType::from(*kind), Ipv6Addr::from(*group)));
        }
        let repr = Repr::Report(records.as_records());
        let mut buf = vec![0; repr.buffer_len()];
        repr.emit(&mut Packet::new_unchecked(&mut buf[..]), REPORT_SRC, ALL_V2_ROUTERS, ChecksumCaps::FULL);
        prop_assert_eq!(parse(&buf, REPORT_SRC, ALL_V2_ROUTERS).unwrap(), repr);
    }
}
