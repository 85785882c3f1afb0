//! Emitting: responses a server builds, compression, TCP framing.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::*;

#[test]
fn the_answer_to_a_query_is_what_servers_send() {
    let query = Message::parse(QUERY_EXAMPLE_A).unwrap();
    let mut response = query.response(Rcode::NOERROR);
    response.add_answer(3600, RecordData::A(Ipv4Addr::new(93, 184, 216, 34)));
    // The owner name is 0xC00C, a pointer to the question.
    assert_eq!(response.to_bytes().unwrap(), RESPONSE_EXAMPLE_A);
}

#[test]
fn a_cname_chain_emits_and_parses_back() {
    let m = Message::parse(RESPONSE_CNAME_CHAIN).unwrap();
    let bytes = m.to_bytes().unwrap();
    // The question's name is written whole; the CNAME's owner points to it;
    // `example.com` is written whole once, in the CNAME's data, and the A
    // record's owner points there.
    assert_eq!(&bytes[33..35], [0xc0, 0x0c]);
    assert_eq!(&bytes[45..58], b"\x07example\x03com\x00");
    assert_eq!(&bytes[58..60], [0xc0, 45]);
    assert_eq!(Message::parse(&bytes).unwrap(), m);
}

#[test]
fn names_differing_in_case_are_not_compressed_into_each_other() {
    let query = Message::query(7, name("Example.COM"), RecordType::A);
    let mut response = query.response(Rcode::NOERROR);
    response.answers.push(Record::new(
        name("example.com"),
        1,
        RecordData::A(Ipv4Addr::LOCALHOST),
    ));
    let bytes = response.to_bytes().unwrap();
    let again = Message::parse(&bytes).unwrap();
    assert_eq!(again.answers[0].name.to_string(), "example.com");
    assert_eq!(again.questions[0].name.to_string(), "Example.COM");
}

#[test]
fn error_responses() {
    let query = Message::parse(DIG_QUERY).unwrap();
    for rcode in [
        Rcode::NXDOMAIN,
        Rcode::SERVFAIL,
        Rcode::NOTIMP,
        Rcode::FORMERR,
        Rcode::NOERROR,
    ] {
        let bytes = query.response(rcode).to_bytes().unwrap();
        // ID, then QR, RD copied, RA, the RCODE; AD is not copied.
        assert_eq!(bytes[..4], [0xab, 0xcd, 0x81, 0x80 | rcode.value()]);
        // The question echoed, nothing else (no OPT: EDNS is not spoken).
        assert_eq!(bytes[4..12], [0, 1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(bytes[12..], DIG_QUERY[12..12 + 17]);
    }
    // RD not set in the query: not set in the response.
    let mut query = query;
    query.header.recursion_desired = false;
    assert_eq!(query.response(Rcode::NOERROR).to_bytes().unwrap()[2], 0x80);
}

#[test]
fn a_query() {
    let q = Message::query(0x1234, name("example.com"), RecordType::A);
    assert_eq!(q.to_bytes().unwrap(), QUERY_EXAMPLE_A);
}

#[test]
fn aaaa_and_opaque_records() {
    let mut m = Message::query(9, name("v6.example"), RecordType::AAAA).response(Rcode::NOERROR);
    m.add_answer(
        1,
        RecordData::Aaaa(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
    );
    m.additionals.push(Record {
        name: Name::root(),
        class: Class(512),
        ttl: 0x8000,
        data: RecordData::Other {
            rtype: RecordType::OPT,
            data: Vec::new(),
        },
    });
    let bytes = m.to_bytes().unwrap();
    assert_eq!(
        bytes[bytes.len() - 11..],
        [0, 0, 41, 2, 0, 0, 0, 0x80, 0, 0, 0]
    );
    assert_eq!(Message::parse(&bytes).unwrap(), m);
}

#[test]
fn emit_appends_and_points_from_the_message_start() {
    let query = Message::parse(QUERY_EXAMPLE_A).unwrap();
    let mut response = query.response(Rcode::NOERROR);
    response.add_answer(3600, RecordData::A(Ipv4Addr::new(93, 184, 216, 34)));
    let mut out = b"prefix".to_vec();
    response.emit(&mut out).unwrap();
    assert_eq!(&out[..6], b"prefix");
    assert_eq!(&out[6..], RESPONSE_EXAMPLE_A);
}

#[test]
fn too_long_fails_and_leaves_the_output_alone() {
    let record = |len| {
        let data = RecordData::Other {
            rtype: RecordType::TXT,
            data: vec![0; len],
        };
        Record::new(Name::root(), 0, data)
    };
    let mut out = vec![1, 2, 3];
    let m = Message {
        answers: vec![record(65536)],
        ..Message::default()
    };
    assert_eq!(m.emit(&mut out), Err(Error::TooLong));
    assert_eq!(out, [1, 2, 3]);
    let root = Question {
        name: Name::root(),
        qtype: RecordType::A,
        qclass: Class::IN,
    };
    let m = Message {
        questions: vec![root; 65536],
        ..Message::default()
    };
    assert_eq!(m.to_bytes(), Err(Error::TooLong));
    // Over TCP the whole message must fit the 16-bit length.
    let m = Message {
        answers: vec![record(40000); 2],
        ..Message::default()
    };
    assert!(m.to_bytes().is_ok());
    assert_eq!(m.emit_tcp(&mut out), Err(Error::TooLong));
    assert_eq!(out, [1, 2, 3]);
}

#[test]
fn tcp_framing() {
    let query = Message::parse(QUERY_EXAMPLE_A).unwrap();
    let mut stream = Vec::new();
    query.emit_tcp(&mut stream).unwrap();
    query.emit_tcp(&mut stream).unwrap();
    assert_eq!(stream[..2], [0, QUERY_EXAMPLE_A.len() as u8]);
    // Nothing until the whole first message is there.
    for len in 0..QUERY_EXAMPLE_A.len() + 2 {
        assert_eq!(split_tcp_message(&stream[..len]), None, "{len} octets");
    }
    let (first, rest) = split_tcp_message(&stream).unwrap();
    assert_eq!(first, QUERY_EXAMPLE_A);
    let (second, rest) = split_tcp_message(rest).unwrap();
    assert_eq!(second, QUERY_EXAMPLE_A);
    assert!(rest.is_empty());
    // An empty message is framed too (and fails to parse).
    assert_eq!(split_tcp_message(&[0, 0, 9]), Some((&[][..], &[9][..])));
}
