//! Names as text, their labels, equality and hashing.

use std::collections::HashSet;

use super::*;

#[test]
fn text_and_wire_forms() {
    let n = name("www.Example.com");
    assert_eq!(n.as_wire(), b"\x03www\x07Example\x03com\x00");
    assert_eq!(n.to_string(), "www.Example.com");
    assert_eq!(name("www.Example.com."), n);
    assert_eq!(format!("{n:?}"), "Name(www.Example.com)");
}

#[test]
fn the_root() {
    for s in ["", "."] {
        let n = name(s);
        assert!(n.is_root());
        assert_eq!(n.as_wire(), [0]);
        assert_eq!(n.to_string(), ".");
        assert_eq!(n.labels().count(), 0);
    }
    assert_eq!(Name::default(), Name::root());
}

#[test]
fn names_compare_and_hash_ignoring_ascii_case_only() {
    assert_eq!(name("WWW.example.COM"), name("www.EXAMPLE.com"));
    assert_ne!(name("www.example.com"), name("www.example.org"));
    assert_ne!(name("a.b"), name("ab"));
    let set: HashSet<Name> = ["Example.com", "EXAMPLE.COM", "example.com"]
        .map(name)
        .into_iter()
        .collect();
    assert_eq!(set.len(), 1);
    // Octets above ASCII do not fold: 0xC9 and 0xE9 (É and é in Latin-1).
    assert_ne!(name("\\201"), name("\\233"));
}

#[test]
fn escapes_round_trip() {
    // RFC 4343 section 2.2's examples.
    let n = name("Donald\\032E\\.\\032Eastlake\\0323rd.example.");
    assert_eq!(n.labels().next().unwrap(), b"Donald E. Eastlake 3rd");
    assert_eq!(
        n.to_string(),
        "Donald\\032E\\.\\032Eastlake\\0323rd.example"
    );
    let n = name("a\\000\\\\\\255z.example.");
    assert_eq!(n.labels().next().unwrap(), b"a\x00\\\xffz");
    assert_eq!(n.to_string(), "a\\000\\\\\\255z.example");
    assert_eq!(name(&n.to_string()), n);
    // Non-ASCII text stands for its UTF-8 octets.
    assert_eq!(name("é.fr").labels().next().unwrap(), "é".as_bytes());
}

#[test]
fn bad_text_fails() {
    let e = |s: &str| s.parse::<Name>().unwrap_err();
    assert_eq!(e("a..b"), Error::EmptyLabel);
    assert_eq!(e(".a"), Error::EmptyLabel);
    assert_eq!(e("a.."), Error::EmptyLabel);
    assert_eq!(e("a\\"), Error::BadEscape);
    assert_eq!(e("a\\25"), Error::BadEscape);
    assert_eq!(e("a\\256"), Error::BadEscape);
    assert_eq!(e(&"x".repeat(64)), Error::LabelTooLong);
    assert!(name(&"x".repeat(63)).labels().eq([&[b'x'; 63][..]]));
    let long = "x".repeat(63);
    assert_eq!(
        e(&format!("{long}.{long}.{long}.{}", "y".repeat(62))),
        Error::NameTooLong
    );
}

#[test]
fn from_labels() {
    let n = Name::from_labels(["www", "example", "com"]).unwrap();
    assert_eq!(n, name("www.example.com"));
    assert_eq!(
        Name::from_labels([b"a.b".as_slice()]).unwrap().to_string(),
        "a\\.b"
    );
    assert_eq!(Name::from_labels([""]), Err(Error::EmptyLabel));
    assert_eq!(Name::from_labels(Vec::<&str>::new()).unwrap(), Name::root());
}
