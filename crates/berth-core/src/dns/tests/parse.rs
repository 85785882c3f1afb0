//! Parsing: well-formed messages, and every way the bytes can lie.

use std::net::Ipv4Addr;

use super::*;
use crate::wire::testing::assert_truncations_fail;

#[test]
fn a_query() {
    let m = Message::parse(QUERY_EXAMPLE_A).unwrap();
    assert_eq!(
        m.header,
        Header {
            id: 0x1234,
            recursion_desired: true,
            ..Header::default()
        }
    );
    assert_eq!(
        m.questions,
        [Question {
            name: name("example.com"),
            qtype: RecordType::A,
            qclass: Class::IN,
        }]
    );
    assert!(m.answers.is_empty() && m.authorities.is_empty() && m.additionals.is_empty());
}

#[test]
fn dig_query_with_edns_cookie() {
    let m = Message::parse(DIG_QUERY).unwrap();
    assert!(m.header.recursion_desired && m.header.authentic_data && !m.header.response);
    assert_eq!(m.questions.len(), 1);
    let [opt] = &m.additionals[..] else {
        panic!("{:?}", m.additionals)
    };
    assert!(opt.name.is_root());
    assert_eq!(opt.class, Class(1232));
    assert_eq!(opt.rtype(), RecordType::OPT);
    let RecordData::Other { data, .. } = &opt.data else {
        panic!("{opt:?}")
    };
    assert_eq!(data.len(), 12);
}

#[test]
fn a_response_with_a_compressed_owner() {
    let m = Message::parse(RESPONSE_EXAMPLE_A).unwrap();
    assert!(m.header.response && m.header.recursion_desired && m.header.recursion_available);
    assert_eq!(m.header.rcode, Rcode::NOERROR);
    assert_eq!(
        m.answers,
        [Record::new(
            name("example.com"),
            3600,
            RecordData::A(Ipv4Addr::new(93, 184, 216, 34))
        )]
    );
}

#[test]
fn a_cname_chain() {
    let m = Message::parse(RESPONSE_CNAME_CHAIN).unwrap();
    assert_eq!(
        m.answers,
        [
            Record::new(
                name("www.example.com"),
                300,
                RecordData::Cname(name("example.com"))
            ),
            Record::new(
                name("example.com"),
                300,
                RecordData::A(Ipv4Addr::new(93, 184, 216, 34))
            ),
        ]
    );
}

#[test]
fn every_prefix_is_truncated() {
    for vector in [
        QUERY_EXAMPLE_A,
        DIG_QUERY,
        RESPONSE_EXAMPLE_A,
        RESPONSE_CNAME_CHAIN,
    ] {
        assert_truncations_fail(vector, |b| Message::parse(b).map(drop));
        for len in 0..vector.len() {
            assert_eq!(Message::parse(&vector[..len]), Err(Error::Truncated));
        }
    }
}

#[test]
fn octets_after_the_last_section_are_ignored() {
    let mut m = QUERY_EXAMPLE_A.to_vec();
    m.extend_from_slice(&[0xff; 7]);
    assert_eq!(Message::parse(&m), Message::parse(QUERY_EXAMPLE_A));
}

#[test]
fn counts_beyond_the_message_fail_before_parsing() {
    // 65535 of each and nothing after the header.
    let m = header(0xffff, 0xffff, 0xffff, 0xffff);
    assert_eq!(Message::parse(&m), Err(Error::Truncated));
    // One more answer than there is.
    let mut m = RESPONSE_EXAMPLE_A.to_vec();
    m[7] = 2;
    assert_eq!(Message::parse(&m), Err(Error::Truncated));
    // As many root questions as fit, and one more claimed.
    let m = message(header(5, 0, 0, 0), &[0, 0, 1, 0, 1].repeat(4));
    assert_eq!(Message::parse(&m), Err(Error::Truncated));
}

#[test]
fn many_records_of_pointers_parse() {
    // 1000 answers whose owner is a pointer to a long question name: each
    // takes 16 octets of the message.
    let long = "a".repeat(63);
    let qname = name(&format!("{long}.{long}.{long}"));
    let mut body = qname.as_wire().to_vec();
    body.extend_from_slice(&[0, 1, 0, 1]);
    for i in 0..1000u16 {
        body.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4]);
        body.extend_from_slice(&[10, 0, (i >> 8) as u8, i as u8]);
    }
    let m = Message::parse(&message(header(1, 1000, 0, 0), &body)).unwrap();
    assert_eq!(m.answers.len(), 1000);
    assert!(m.answers.iter().all(|r| r.name == qname));
}

#[test]
fn a_pointer_to_itself_fails() {
    let m = message(header(1, 0, 0, 0), &[0xc0, 0x0c, 0, 1, 0, 1]);
    assert_eq!(Message::parse(&m), Err(Error::BadPointer));
}

#[test]
fn a_forward_pointer_fails() {
    // The name at 12 points to 14, a valid name after it.
    let m = message(header(1, 0, 0, 0), &[0xc0, 0x0e, 0, 0, 1, 0, 1]);
    assert_eq!(Message::parse(&m), Err(Error::BadPointer));
}

#[test]
fn a_pointer_back_into_its_own_labels_fails() {
    // `a` then a pointer to the `a`: a.a.a... without the check.
    let m = message(header(1, 0, 0, 0), &[1, b'a', 0xc0, 0x0c, 0, 1, 0, 1]);
    assert_eq!(Message::parse(&m), Err(Error::BadPointer));
}

#[test]
fn a_loop_through_a_backward_pointer_fails() {
    // An opaque TXT record's data at 23 is `z` and a pointer to 23; the next
    // record's owner points to 23. Each pointer points before itself, so only
    // the rule that a pointer must point before the labels that led to it
    // stops the loop.
    let body = [
        0, 0, 16, 0, 1, 0, 0, 0, 0, 0, 4, // ". TXT IN 0", RDLENGTH 4
        1, b'z', 0xc0, 23, // RDATA at 23
        0xc0, 23, 0, 16, 0, 1, 0, 0, 0, 0, 0, 0, // owner: pointer to 23
    ];
    let m = message(header(0, 2, 0, 0), &body);
    assert_eq!(Message::parse(&m), Err(Error::BadPointer));
}

#[test]
fn chains_of_backward_pointers_parse() {
    // com at 12; example + pointer to com at 21; www + pointer to example at 35.
    let body = [
        3, b'c', b'o', b'm', 0, 0, 1, 0, 1, // 12..21
        7, b'e', b'x', b'a', b'm', b'p', b'l', b'e', 0xc0, 12, 0, 1, 0, 1, // 21..35
        3, b'w', b'w', b'w', 0xc0, 21, 0, 1, 0, 1, // 35..45
    ];
    let m = Message::parse(&message(header(3, 0, 0, 0), &body)).unwrap();
    let names: Vec<_> = m.questions.iter().map(|q| q.name.to_string()).collect();
    assert_eq!(names, ["com", "example.com", "www.example.com"]);
}

#[test]
fn label_length_octets_with_high_bits_01_or_10_fail() {
    for first in [0x40, 0x7f, 0x80, 0xbf] {
        let mut body = vec![first];
        body.extend_from_slice(&[b'x'; 70]);
        body.extend_from_slice(&[0, 0, 1, 0, 1]);
        let m = message(header(1, 0, 0, 0), &body);
        assert_eq!(Message::parse(&m), Err(Error::LabelType), "{first:#x}");
    }
}

#[test]
fn a_name_over_255_octets_fails_even_through_pointers() {
    let long = "a".repeat(63);
    // Four labels of 63: 257 octets.
    let mut body = Vec::new();
    for _ in 0..4 {
        body.push(63);
        body.extend_from_slice(long.as_bytes());
    }
    body.extend_from_slice(&[0, 0, 1, 0, 1]);
    assert_eq!(
        Message::parse(&message(header(1, 0, 0, 0), &body)),
        Err(Error::NameTooLong)
    );
    // Three labels (193 octets) in the first question, and a label of 63 with
    // a pointer to them in the second: 257 octets again.
    let first = name(&format!("{long}.{long}.{long}"));
    let mut body = first.as_wire().to_vec();
    body.extend_from_slice(&[0, 1, 0, 1, 63]);
    body.extend_from_slice(long.as_bytes());
    body.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
    assert_eq!(
        Message::parse(&message(header(2, 0, 0, 0), &body)),
        Err(Error::NameTooLong)
    );
    // 255 octets exactly is fine: three labels of 63 and one of 61.
    let max = name(&format!("{long}.{long}.{long}.{}", "b".repeat(61)));
    assert_eq!(max.as_wire().len(), 255);
    let mut body = max.as_wire().to_vec();
    body.extend_from_slice(&[0, 1, 0, 1]);
    assert_eq!(
        Message::parse(&message(header(1, 0, 0, 0), &body))
            .unwrap()
            .questions[0]
            .name,
        max
    );
}

#[test]
fn labels_keep_any_octet() {
    let body = [3, 0x00, b'.', 0xff, 2, b'A', b'b', 0, 0, 1, 0, 1];
    let m = Message::parse(&message(header(1, 0, 0, 0), &body)).unwrap();
    let labels: Vec<_> = m.questions[0].name.labels().collect();
    assert_eq!(labels, [&[0x00, b'.', 0xff][..], b"Ab"]);
    assert_eq!(m.questions[0].name.to_string(), "\\000\\.\\255.Ab");
}

#[test]
fn address_records_of_the_wrong_length_fail() {
    for (rtype, len) in [(1u8, 3u8), (1, 5), (28, 4), (28, 17)] {
        let mut body = vec![0, 0, rtype, 0, 1, 0, 0, 0, 0, 0, len];
        body.extend(std::iter::repeat_n(7, usize::from(len)));
        let m = message(header(0, 1, 0, 0), &body);
        assert_eq!(
            Message::parse(&m),
            Err(Error::BadRdata),
            "type {rtype} length {len}"
        );
    }
}

#[test]
fn address_records_of_other_classes_stay_opaque() {
    // A in class CH (Chaosnet: a domain name and a 16-bit address).
    let body = [0, 0, 1, 0, 3, 0, 0, 0, 0, 0, 4, 1, b'x', 0, 7];
    let m = Message::parse(&message(header(0, 1, 0, 0), &body)).unwrap();
    assert_eq!(
        m.answers[0].data,
        RecordData::Other {
            rtype: RecordType::A,
            data: vec![1, b'x', 0, 7]
        }
    );
}

#[test]
fn a_cname_must_fill_its_rdata() {
    // RDLENGTH 4 around a 3-octet name, and RDLENGTH 2 around a 3-octet one.
    for (len, rdata) in [(4u8, &[1, b'x', 0, 0][..]), (2, &[1, b'x', 0][..])] {
        let mut body = vec![0, 0, 5, 0, 1, 0, 0, 0, 0, 0, len];
        body.extend_from_slice(rdata);
        let m = message(header(0, 1, 0, 0), &body);
        assert!(Message::parse(&m).is_err(), "RDLENGTH {len}");
    }
    // A CNAME may point only backwards, like any name.
    let body = [0, 0, 5, 0, 1, 0, 0, 0, 0, 0, 2, 0xc0, 23];
    let m = message(header(0, 1, 0, 0), &body);
    assert_eq!(Message::parse(&m), Err(Error::BadPointer));
}

#[test]
fn the_header_flags() {
    let mut m = QUERY_EXAMPLE_A.to_vec();
    // QR, opcode 5, AA, TC, RD, RA, Z, AD, CD, RCODE 3.
    m[2..4].copy_from_slice(&0xaff3u16.to_be_bytes());
    let h = Message::parse(&m).unwrap().header;
    assert_eq!(
        h,
        Header {
            id: 0x1234,
            response: true,
            opcode: Opcode::UPDATE,
            authoritative: true,
            truncated: true,
            recursion_desired: true,
            recursion_available: true,
            authentic_data: true,
            checking_disabled: true,
            rcode: Rcode::NXDOMAIN,
        }
    );
    // Z is not kept.
    assert_eq!(h.flags(), 0xaff3 & !0x0040);
}
