//! The pool's addresses, names and eviction, and the answers to queries.

use berth_core::dns::{Header, Question, Record};

use super::*;

fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

fn v6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

/// 198.18.0.0/16 and fc00::/64, room for `capacity` names.
fn pool(capacity: usize) -> FakePool {
    FakePool::new(
        (Ipv4Addr::new(198, 18, 0, 1), 16),
        Some((v6("fc00::1"), 64)),
        capacity,
    )
    .unwrap()
}

fn query(name: &str, qtype: RecordType) -> Vec<u8> {
    Message::query(0x4242, name.parse().unwrap(), qtype)
        .to_bytes()
        .unwrap()
}

/// The response in `reply`, parsed.
fn response(reply: Reply) -> Message {
    let Reply::Answer(bytes) = reply else {
        panic!("{reply:?}")
    };
    Message::parse(&bytes).unwrap()
}

#[test]
fn addresses_start_after_the_network_and_gateway() {
    let mut p = pool(100);
    assert_eq!(p.lookup_v4("a.example"), Ipv4Addr::new(198, 18, 0, 2));
    assert_eq!(p.lookup_v4("b.example"), Ipv4Addr::new(198, 18, 0, 3));
    // A name's IPv6 address is the same slot in the IPv6 prefix.
    assert_eq!(p.lookup_v6("b.example"), Some(v6("fc00::3")));
    assert_eq!(p.lookup_v6("c.example"), Some(v6("fc00::4")));
    assert_eq!(p.lookup_v4("c.example"), Ipv4Addr::new(198, 18, 0, 4));
}

#[test]
fn a_name_keeps_its_address_and_names_are_normalised() {
    let mut p = pool(100);
    let a = p.lookup_v4("www.Example.COM.");
    p.lookup_v4("other.example");
    for same in ["www.example.com", "WWW.EXAMPLE.COM", "www.example.com."] {
        assert_eq!(p.lookup_v4(same), a, "{same}");
    }
    assert_eq!(p.name_of(IpAddr::V4(a)).as_deref(), Some("www.example.com"));
    // Only ASCII folds, and only one trailing dot goes.
    assert_ne!(p.lookup_v4("\\201.example"), p.lookup_v4("\\233.example"));
    assert_ne!(p.lookup_v4("x.example.."), p.lookup_v4("x.example"));
}

#[test]
fn name_of_knows_only_handed_out_addresses() {
    let mut p = pool(100);
    let a = p.lookup_v4("a.example");
    let a6 = p.lookup_v6("a.example").unwrap();
    assert_eq!(p.name_of(IpAddr::V4(a)).as_deref(), Some("a.example"));
    assert_eq!(p.name_of(IpAddr::V6(a6)).as_deref(), Some("a.example"));
    for none in [
        v4(198, 18, 0, 0),
        v4(198, 18, 0, 1),
        v4(198, 18, 0, 3),
        v4(198, 18, 255, 255),
        v4(198, 19, 0, 2),
        IpAddr::V6(v6("fc00::1")),
        IpAddr::V6(v6("fc01::2")),
    ] {
        assert_eq!(p.name_of(none), None, "{none}");
    }
}

#[test]
fn contains_is_the_prefixes() {
    let p = pool(10);
    for inside in [
        v4(198, 18, 0, 0),
        v4(198, 18, 0, 1),
        v4(198, 18, 255, 255),
        IpAddr::V6(v6("fc00::ffff")),
    ] {
        assert!(p.contains(inside), "{inside}");
    }
    for outside in [
        v4(198, 17, 255, 255),
        v4(198, 19, 0, 0),
        IpAddr::V6(v6("fc00:0:0:1::")),
    ] {
        assert!(!p.contains(outside), "{outside}");
    }
    let p = FakePool::new((Ipv4Addr::new(198, 18, 0, 0), 16), None, 10).unwrap();
    assert!(!p.contains(IpAddr::V6(v6("fc00::2"))));
}

#[test]
fn the_least_recently_used_name_gives_up_its_address() {
    let mut p = pool(3);
    let a = p.lookup_v4("a");
    let b = p.lookup_v4("b");
    let c = p.lookup_v4("c");
    // Use a by name and b by address: c is now the least recent.
    p.lookup_v4("a");
    assert_eq!(p.name_of(IpAddr::V4(b)).as_deref(), Some("b"));
    let d = p.lookup_v4("d");
    assert_eq!(d, c);
    assert_eq!(p.name_of(IpAddr::V4(c)).as_deref(), Some("d"));
    // c comes back in a's place (a, b, d by age), and a in b's.
    assert_eq!(p.lookup_v4("c"), a);
    assert_eq!(p.lookup_v4("a"), b);
    assert_eq!(p.name_of(IpAddr::V4(b)).as_deref(), Some("a"));
    // AAAA lookups count as use too: c, not d, is now the least recent
    // (and holds what was a's address).
    p.lookup_v6("d");
    assert_eq!(p.lookup_v4("e"), a);
}

#[test]
fn the_prefix_bounds_the_capacity() {
    // /29: eight addresses, five to hand out.
    let mut p = FakePool::new((Ipv4Addr::new(10, 0, 0, 0), 29), None, 1000).unwrap();
    let got: Vec<_> = (0..6).map(|i| p.lookup_v4(&format!("n{i}"))).collect();
    let last = |d| Ipv4Addr::new(10, 0, 0, d);
    assert_eq!(got, [last(2), last(3), last(4), last(5), last(6), last(2)]);
    assert_eq!(p.name_of(v4(10, 0, 0, 7)), None);
    // The smaller prefix of the two bounds it: a /126 holds one.
    let mut p = FakePool::new(
        (Ipv4Addr::new(10, 0, 0, 0), 8),
        Some((v6("fd00::"), 126)),
        1000,
    )
    .unwrap();
    assert_eq!(p.lookup_v4("x"), Ipv4Addr::new(10, 0, 0, 2));
    assert_eq!(p.lookup_v4("y"), Ipv4Addr::new(10, 0, 0, 2));
    assert_eq!(p.lookup_v6("y"), Some(v6("fd00::2")));
}

#[test]
fn pools_without_room_are_refused() {
    let v4 = Ipv4Addr::new(10, 0, 0, 0);
    for len in [0, 31, 32, 33] {
        assert!(FakePool::new((v4, len), None, 10).is_err(), "/{len}");
    }
    assert!(FakePool::new((v4, 30), None, 10).is_ok());
    for len in [0, 127, 128, 129] {
        assert!(
            FakePool::new((v4, 16), Some((v6("fd00::"), len)), 10).is_err(),
            "/{len}"
        );
    }
    assert!(FakePool::new((v4, 16), None, 0).is_err());
}

#[test]
fn the_same_calls_give_the_same_addresses() {
    let run = || {
        let mut p = pool(50);
        (0..500)
            .map(|i| p.lookup_v4(&format!("host{}.example", (i * 7919) % 80)))
            .collect::<Vec<_>>()
    };
    assert_eq!(run(), run());
}

#[test]
fn a_queries_get_the_fake_address() {
    let mut p = pool(10);
    let r = response(answer(&mut p, &query("Www.Example.com", RecordType::A)));
    assert_eq!(r.header.id, 0x4242);
    assert!(r.header.response && r.header.recursion_desired && r.header.recursion_available);
    assert_eq!(r.header.rcode, Rcode::NOERROR);
    assert_eq!(r.questions[0].name.to_string(), "Www.Example.com");
    let addr = Ipv4Addr::new(198, 18, 0, 2);
    assert_eq!(
        r.answers,
        [Record::new(
            "www.example.com".parse().unwrap(),
            FAKE_TTL,
            RecordData::A(addr)
        )]
    );
    assert_eq!(
        p.name_of(IpAddr::V4(addr)).as_deref(),
        Some("www.example.com")
    );
}

#[test]
fn aaaa_queries_get_the_fake_v6_address_or_nodata() {
    let mut p = pool(10);
    let r = response(answer(&mut p, &query("www.example.com", RecordType::AAAA)));
    assert_eq!(r.answers[0].data, RecordData::Aaaa(v6("fc00::2")));
    assert_eq!(r.answers[0].ttl, FAKE_TTL);
    let mut p = FakePool::new((Ipv4Addr::new(198, 18, 0, 0), 16), None, 10).unwrap();
    let r = response(answer(&mut p, &query("www.example.com", RecordType::AAAA)));
    assert_eq!(r.header.rcode, Rcode::NOERROR);
    assert_eq!(r.questions.len(), 1);
    assert!(r.answers.is_empty() && r.authorities.is_empty() && r.additionals.is_empty());
    // No slot was taken for it.
    assert_eq!(p.lookup_v4("first.example"), Ipv4Addr::new(198, 18, 0, 2));
}

#[test]
fn other_queries_are_forwarded() {
    let mut p = pool(10);
    for qtype in [
        RecordType::MX,
        RecordType::TXT,
        RecordType::HTTPS,
        RecordType::PTR,
        RecordType::ANY,
    ] {
        assert_eq!(
            answer(&mut p, &query("example.com", qtype)),
            Reply::Forward,
            "{qtype}"
        );
    }
    // Class CH (version.bind) and the root.
    let mut m = Message::query(1, "version.bind".parse().unwrap(), RecordType::TXT);
    m.questions[0].qclass = Class::CH;
    assert_eq!(answer(&mut p, &m.to_bytes().unwrap()), Reply::Forward);
    m.questions[0].qtype = RecordType::A;
    assert_eq!(answer(&mut p, &m.to_bytes().unwrap()), Reply::Forward);
    assert_eq!(answer(&mut p, &query(".", RecordType::A)), Reply::Forward);
    // Nothing was handed out.
    assert_eq!(p.lookup_v4("first.example"), Ipv4Addr::new(198, 18, 0, 2));
}

#[test]
fn responses_and_garbage_are_dropped() {
    let mut p = pool(10);
    let q = Message::parse(&query("example.com", RecordType::A)).unwrap();
    let mut r = q.response(Rcode::NOERROR);
    r.add_answer(60, RecordData::A(Ipv4Addr::new(192, 0, 2, 1)));
    assert_eq!(answer(&mut p, &r.to_bytes().unwrap()), Reply::Drop);
    for garbage in [
        &[][..],
        &[0; 11],
        &[0xff; 40],
        &query("example.com", RecordType::A)[..20],
    ] {
        assert_eq!(answer(&mut p, garbage), Reply::Drop);
    }
}

#[test]
fn other_opcodes_get_notimp() {
    let mut p = pool(10);
    let mut m = Message::parse(&query("example.com", RecordType::A)).unwrap();
    m.header.opcode = Opcode::STATUS;
    let r = response(answer(&mut p, &m.to_bytes().unwrap()));
    assert_eq!(
        (r.header.rcode, r.header.opcode, r.header.id),
        (Rcode::NOTIMP, Opcode::STATUS, 0x4242)
    );
    assert!(r.answers.is_empty());
}

#[test]
fn other_than_one_question_gets_formerr() {
    let mut p = pool(10);
    let question = |name: &str| Question {
        name: name.parse().unwrap(),
        qtype: RecordType::A,
        qclass: Class::IN,
    };
    for questions in [vec![], vec![question("a.example"), question("b.example")]] {
        let m = Message {
            header: Header {
                id: 7,
                recursion_desired: true,
                ..Header::default()
            },
            questions,
            ..Message::default()
        };
        let r = response(answer(&mut p, &m.to_bytes().unwrap()));
        assert_eq!((r.header.rcode, r.header.id), (Rcode::FORMERR, 7));
        assert!(r.header.response);
        assert!(r.questions.is_empty() && r.answers.is_empty());
    }
    assert_eq!(p.lookup_v4("first.example"), Ipv4Addr::new(198, 18, 0, 2));
}

#[test]
fn bookkeeping_stays_within_capacity() {
    let mut p = pool(20);
    for i in 0..2000u32 {
        let name = format!("host{}.example", (i * 7919) % 97);
        let a = p.lookup_v4(&name);
        if i % 3 == 0 {
            p.lookup_v6(&name);
        }
        if i % 5 == 0 {
            assert_eq!(p.name_of(IpAddr::V4(a)).as_deref(), Some(name.as_str()));
        }
        assert!(p.slots.len() <= 20);
        assert_eq!(p.by_name.len(), p.slots.len());
        assert_eq!(p.lru.len(), p.slots.len());
    }
    // Every remembered name maps to the slot that names it.
    for (name, &slot) in &p.by_name {
        assert_eq!(&p.slots[slot].name, name);
    }
}

#[test]
fn a_failed_forward_is_a_server_failure_to_queries_only() {
    let q = Message::query(9, "mx.example".parse().unwrap(), RecordType::MX);
    let bytes = q.to_bytes().unwrap();
    let r = Message::parse(&server_failure(&bytes).unwrap()).unwrap();
    assert_eq!((r.header.rcode, r.header.id), (Rcode::SERVFAIL, 9));
    assert_eq!(r.questions, q.questions);
    let answer = q.response(Rcode::NOERROR).to_bytes().unwrap();
    assert_eq!(server_failure(&answer), None, "never answer an answer");
    assert_eq!(server_failure(b"\x00"), None);
}
