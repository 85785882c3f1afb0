//! Tests of the DNS codec: hand-built messages in the form resolvers and
//! servers send them, hostile names and counts, and property tests.

use super::*;

mod emit;
mod name;
mod parse;
mod prop;

/// A query for `example.com A`, ID 0x1234, RD set: what `host -t A` sends.
const QUERY_EXAMPLE_A: &[u8] = &[
    0x12, 0x34, 0x01, 0x00, // ID, flags: RD
    0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // one question
    7, b'e', b'x', b'a', b'm', b'p', b'l', b'e', 3, b'c', b'o', b'm', 0, // QNAME
    0x00, 0x01, 0x00, 0x01, // A, IN
];

/// `dig example.com`: RD and AD set, an OPT record (payload 1232) with a
/// client cookie in the additional section.
const DIG_QUERY: &[u8] = &[
    0xab, 0xcd, 0x01, 0x20, // ID, flags: RD, AD
    0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, // one question, one additional
    7, b'e', b'x', b'a', b'm', b'p', b'l', b'e', 3, b'c', b'o', b'm', 0, // QNAME
    0x00, 0x01, 0x00, 0x01, // A, IN
    0x00, // root
    0x00, 0x29, 0x04, 0xd0, // OPT, UDP payload size 1232
    0x00, 0x00, 0x00, 0x00, // extended RCODE, version, flags
    0x00, 0x0c, // RDLENGTH
    0x00, 0x0a, 0x00, 0x08, 0x9a, 0x3b, 0x52, 0x6e, 0x01, 0x02, 0x03, 0x04, // COOKIE
];

/// The response to [`QUERY_EXAMPLE_A`]: RD and RA, one A record whose owner
/// is a pointer to the question's name, TTL 3600.
const RESPONSE_EXAMPLE_A: &[u8] = &[
    0x12, 0x34, 0x81, 0x80, // ID, flags: QR, RD, RA
    0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, // one question, one answer
    7, b'e', b'x', b'a', b'm', b'p', b'l', b'e', 3, b'c', b'o', b'm', 0, // QNAME
    0x00, 0x01, 0x00, 0x01, // A, IN
    0xc0, 0x0c, // NAME: pointer to offset 12
    0x00, 0x01, 0x00, 0x01, // A, IN
    0x00, 0x00, 0x0e, 0x10, // TTL 3600
    0x00, 0x04, 93, 184, 216, 34, // RDATA
];

/// `www.example.com A` answered with a CNAME to `example.com` and its A
/// record; both the CNAME's target and the A record's owner point into the
/// question's name (offset 16, `example.com`).
const RESPONSE_CNAME_CHAIN: &[u8] = &[
    0x56, 0x78, 0x81, 0x80, // ID, flags: QR, RD, RA
    0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, // one question, two answers
    3, b'w', b'w', b'w', 7, b'e', b'x', b'a', b'm', b'p', b'l', b'e', 3, b'c', b'o', b'm', 0, 0x00,
    0x01, 0x00, 0x01, // A, IN
    0xc0, 0x0c, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x01,
    0x2c, // www.example.com CNAME, TTL 300
    0x00, 0x02, 0xc0, 0x10, // RDATA: pointer to example.com
    0xc0, 0x10, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x01, 0x2c, // example.com A, TTL 300
    0x00, 0x04, 93, 184, 216, 34,
];

fn name(s: &str) -> Name {
    s.parse().unwrap()
}

/// A message of `header` (12 octets, counts included) and `body`.
fn message(header: [u8; 12], body: &[u8]) -> Vec<u8> {
    let mut m = header.to_vec();
    m.extend_from_slice(body);
    m
}

/// A header with ID 1, no flags, and the four counts.
fn header(qd: u16, an: u16, ns: u16, ar: u16) -> [u8; 12] {
    let mut h = [0u8; 12];
    h[1] = 1;
    h[4..6].copy_from_slice(&qd.to_be_bytes());
    h[6..8].copy_from_slice(&an.to_be_bytes());
    h[8..10].copy_from_slice(&ns.to_be_bytes());
    h[10..12].copy_from_slice(&ar.to_be_bytes());
    h
}
