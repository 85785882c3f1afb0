//! Properties: what is emitted parses back to the same message octet for
//! octet, and no input makes the parser panic.

use std::net::{Ipv4Addr, Ipv6Addr};

use proptest::collection::vec;
use proptest::prelude::*;

use super::*;

/// A name of arbitrary octets, cut to fit 255 octets.
fn any_name() -> impl Strategy<Value = Name> {
    vec(vec(any::<u8>(), 1..=63), 0..6).prop_map(|labels| {
        let mut len = 1;
        let labels = labels.into_iter().take_while(|l| {
            len += l.len() + 1;
            len <= 255
        });
        Name::from_labels(labels).unwrap()
    })
}

/// Mostly a few names in mixed case, so that compression has repeats (and
/// near-repeats) to find.
fn a_name() -> impl Strategy<Value = Name> {
    let common = ["example.com", "www.example.com", "EXAMPLE.com", "a", "."].map(name);
    prop_oneof![3 => proptest::sample::select(common.to_vec()), 1 => any_name()]
}

fn header() -> impl Strategy<Value = Header> {
    (any::<u16>(), any::<[bool; 7]>(), 0..16u8, 0..16u8).prop_map(|(id, b, opcode, rcode)| Header {
        id,
        response: b[0],
        opcode: Opcode::new(opcode).unwrap(),
        authoritative: b[1],
        truncated: b[2],
        recursion_desired: b[3],
        recursion_available: b[4],
        authentic_data: b[5],
        checking_disabled: b[6],
        rcode: Rcode::new(rcode).unwrap(),
    })
}

fn question() -> impl Strategy<Value = Question> {
    (a_name(), any::<u16>(), any::<u16>()).prop_map(|(name, t, c)| Question {
        name,
        qtype: RecordType(t),
        qclass: Class(c),
    })
}

fn record() -> impl Strategy<Value = Record> {
    let decoded = prop_oneof![
        any::<[u8; 4]>().prop_map(|a| (Class::IN, RecordData::A(Ipv4Addr::from(a)))),
        any::<[u8; 16]>().prop_map(|a| (Class::IN, RecordData::Aaaa(Ipv6Addr::from(a)))),
        (any::<u16>(), a_name()).prop_map(|(c, n)| (Class(c), RecordData::Cname(n))),
    ];
    // Opaque data: any type but those decoded (A and AAAA outside IN stay
    // opaque).
    let opaque = (any::<u16>(), any::<u16>(), vec(any::<u8>(), 0..40))
        .prop_filter("decoded types", |(t, c, _)| {
            let t = RecordType(*t);
            t != RecordType::CNAME
                && !(Class(*c) == Class::IN && (t == RecordType::A || t == RecordType::AAAA))
        })
        .prop_map(|(t, c, data)| {
            (
                Class(c),
                RecordData::Other {
                    rtype: RecordType(t),
                    data,
                },
            )
        });
    (a_name(), any::<u32>(), prop_oneof![decoded, opaque]).prop_map(|(name, ttl, (class, data))| {
        Record {
            name,
            class,
            ttl,
            data,
        }
    })
}

fn any_message() -> impl Strategy<Value = Message> {
    (
        header(),
        vec(question(), 0..3),
        vec(record(), 0..4),
        vec(record(), 0..3),
        vec(record(), 0..3),
    )
        .prop_map(
            |(header, questions, answers, authorities, additionals)| Message {
                header,
                questions,
                answers,
                authorities,
                additionals,
            },
        )
}

/// Parses, and when that works checks that emitting gives bytes that parse
/// to the same message and emit to the same bytes.
fn parse_and_reemit(bytes: &[u8]) {
    let Ok(m) = Message::parse(bytes) else { return };
    let out = m.to_bytes().unwrap();
    let again = Message::parse(&out).unwrap();
    assert_eq!(format!("{again:?}"), format!("{m:?}"));
    assert_eq!(again.to_bytes().unwrap(), out);
}

proptest! {
    #[test]
    fn emit_then_parse_gives_the_message_back(m in any_message()) {
        let bytes = m.to_bytes().unwrap();
        let parsed = Message::parse(&bytes).unwrap();
        // Debug shows names with their case: equal octet for octet.
        prop_assert_eq!(format!("{parsed:?}"), format!("{m:?}"));
        prop_assert_eq!(&parsed, &m);
        prop_assert_eq!(parsed.to_bytes().unwrap(), bytes.clone());
        // And framed for TCP.
        let mut framed = Vec::new();
        m.emit_tcp(&mut framed).unwrap();
        prop_assert_eq!(split_tcp_message(&framed), Some((&bytes[..], &[][..])));
    }

    #[test]
    fn names_round_trip_through_text(n in any_name()) {
        let text = n.to_string();
        let back: Name = text.parse().unwrap();
        prop_assert_eq!(back.as_wire(), n.as_wire());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..600)) {
        parse_and_reemit(&bytes);
    }

    #[test]
    fn damaged_messages_never_panic(
        m in any_message(),
        edits in vec((any::<proptest::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<proptest::sample::Index>(),
    ) {
        let mut bytes = m.to_bytes().unwrap();
        for (at, value) in edits {
            let at = at.index(bytes.len());
            bytes[at] = value;
        }
        parse_and_reemit(&bytes);
        let cut = cut.index(bytes.len() + 1);
        parse_and_reemit(&bytes[..cut]);
    }
}
