use proptest::prelude::*;

use super::*;
use crate::wire::testing::prefilled;
use crate::wire::vectors::{TCP_SACK_V6, TCP_SYN_V4, TCP_UNKNOWN_OPT_V4};

fn all(options: &[u8]) -> Result<Vec<TcpOption<'_>>> {
    Iter::new(options).collect()
}

/// The options area of a vector: after the IP header and the fixed TCP
/// header, up to the Data Offset.
fn options_of(segment: &[u8]) -> &[u8] {
    let header_len = usize::from(segment[12] >> 4) * 4;
    &segment[20..header_len]
}

#[test]
fn deconstruct() {
    assert_eq!(
        all(options_of(&TCP_SYN_V4[20..])),
        Ok(vec![
            TcpOption::MaxSegmentSize(1460),
            TcpOption::SackPermitted,
            TcpOption::Timestamp { tsval: 1, tsecr: 0 },
            TcpOption::NoOperation,
            TcpOption::WindowScale(7),
        ])
    );
    assert_eq!(
        all(options_of(&TCP_SACK_V6[40..])),
        Ok(vec![
            TcpOption::NoOperation,
            TcpOption::NoOperation,
            TcpOption::SackRange([
                Some((3001, 4001)),
                Some((5001, 6001)),
                Some((7001, 8001)),
                Some((4_294_967_000, 100)),
            ]),
        ])
    );
    //= https://www.rfc-editor.org/rfc/rfc9293#section-3.1
    //= type=test
    //# A TCP implementation MUST (MUST-6) ignore without error any TCP
    //# Option it does not implement, assuming that the option has a
    //# length field.
    assert_eq!(
        all(options_of(&TCP_UNKNOWN_OPT_V4[20..])),
        Ok(vec![
            TcpOption::MaxSegmentSize(1460),
            TcpOption::Unknown {
                kind: 254,
                data: &[0xf9, 0x89, 0x01, 0x02]
            },
            TcpOption::NoOperation,
            TcpOption::EndOfList,
        ])
    );
}

#[test]
fn construct() {
    for vector in [
        &TCP_SYN_V4[20..],
        &TCP_SACK_V6[40..],
        &TCP_UNKNOWN_OPT_V4[20..],
    ] {
        let expected = options_of(vector);
        let options = all(expected).unwrap();
        let len: usize = options.iter().map(TcpOption::buffer_len).sum();
        assert_eq!(len, expected.len());
        let mut buf = prefilled(len);
        let mut rest = &mut buf[..];
        for option in &options {
            rest = option.emit(rest);
        }
        assert!(rest.is_empty());
        assert_eq!(buf, expected);
    }
}

#[test]
fn truncated() {
    // Every strict prefix of an option with a length field is malformed: the
    // length runs past the options area.
    let options = [
        &[2, 4, 0x05, 0xb4][..],
        &[3, 3, 7],
        &[4, 2],
        &[8, 10, 0, 0, 0, 1, 0, 0, 0, 0],
        &[5, 10, 0, 0, 0, 1, 0, 0, 0, 2],
        &[254, 4, 0xab, 0xcd],
    ];
    for option in options {
        assert!(TcpOption::parse(option).is_ok());
        assert_eq!(TcpOption::parse(&[]), Err(Error::Truncated));
        for len in 1..option.len() {
            assert_eq!(
                TcpOption::parse(&option[..len]),
                Err(Error::Malformed),
                "{option:?} cut to {len}"
            );
        }
    }
}

//= https://www.rfc-editor.org/rfc/rfc9293#section-3.1
//= type=test
//# TCP implementations MUST be prepared to handle an illegal option
//# length (e.g., zero); a suggested procedure is to reset the
//# connection and log the error cause (MUST-7).
#[test]
fn impossible_len() {
    let malformed: &[&[u8]] = &[
        // Lengths below two, for known and unknown kinds.
        &[2, 0, 0, 0],
        &[2, 1, 0, 0],
        &[254, 0],
        &[254, 1],
        // The length byte missing at the end of the area.
        &[2],
        &[254],
        // Running past the area.
        &[254, 5, 0, 0],
        // Known kinds with another length than their own.
        &[2, 3, 0],
        &[2, 5, 0, 0, 0],
        &[3, 2],
        &[3, 4, 7, 0],
        &[4, 3, 0],
        &[8, 9, 0, 0, 0, 0, 0, 0, 0],
        &[8, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        // SACK: no block, part of a block, more than four blocks.
        &[5, 2],
        &[5, 9, 0, 0, 0, 0, 0, 0, 0],
        &[5, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        &[5, 17, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        &[
            5, 42, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ],
    ];
    for bytes in malformed {
        assert_eq!(TcpOption::parse(bytes), Err(Error::Malformed), "{bytes:?}");
        // The iterator yields the error once, then stops.
        let mut iter = Iter::new(bytes);
        assert_eq!(iter.next(), Some(Err(Error::Malformed)));
        assert_eq!(iter.next(), None);
    }
    // An unknown option of length two has no data, and is fine.
    assert_eq!(
        TcpOption::parse(&[254, 2, 1]),
        Ok((
            TcpOption::Unknown {
                kind: 254,
                data: &[]
            },
            &[1u8][..]
        ))
    );
}

#[test]
fn end_of_list_ends_the_walk() {
    //= https://www.rfc-editor.org/rfc/rfc9293#section-3.1
    //= type=test
    //# Note that the list of options may be shorter than the Data
    //# Offset field might imply.
    // What follows End of Option List is padding, even when it is not zeros.
    assert_eq!(
        all(&[1, 0, 2, 0, 0, 0]),
        Ok(vec![TcpOption::NoOperation, TcpOption::EndOfList])
    );
}

#[test]
fn window_scale_is_kept_raw() {
    // RFC 7323 section 2.3 clamps a shift above 14; that is the TCP layer's
    // job, and the wire keeps what was sent.
    assert_eq!(
        TcpOption::parse(&[3, 3, 15]),
        Ok((TcpOption::WindowScale(15), &[][..]))
    );
    assert_eq!(
        TcpOption::parse(&[3, 3, 255]),
        Ok((TcpOption::WindowScale(255), &[][..]))
    );
}

#[test]
fn display_is_tcpdump() {
    let cases = [
        (TcpOption::EndOfList, "eol"),
        (TcpOption::NoOperation, "nop"),
        (TcpOption::MaxSegmentSize(1460), "mss 1460"),
        (TcpOption::WindowScale(7), "wscale 7"),
        (TcpOption::SackPermitted, "sackOK"),
        (
            TcpOption::Timestamp { tsval: 1, tsecr: 0 },
            "TS val 1 ecr 0",
        ),
        (
            TcpOption::SackRange([Some((1, 2)), None, None, None]),
            "sack 1 {1:2}",
        ),
        (
            TcpOption::SackRange([Some((1, 2)), Some((3, 4)), None, None]),
            "sack 2 {1:2}{3:4}",
        ),
        // The unknown kinds below print as tcpdump 4.99.3 prints them (each
        // checked with `tcpdump -n -r` on a Scapy-built SYN).
        (
            TcpOption::Unknown {
                kind: 254,
                data: &[],
            },
            "exp[bad opt]",
        ),
        (
            TcpOption::Unknown {
                kind: 254,
                data: &[0xf9, 0x89],
            },
            "exp-tfo cookiereq",
        ),
        (
            TcpOption::Unknown {
                kind: 254,
                data: &[0xf9, 0x89, 1, 2, 3, 4],
            },
            "exp-tfo cookie 01020304",
        ),
        (
            TcpOption::Unknown {
                kind: 254,
                data: &[0xf9, 0x89, 1, 2],
            },
            "exp-tfo (invalid)",
        ),
        (
            TcpOption::Unknown {
                kind: 254,
                data: &[0x12, 0x34, 1],
            },
            "exp-1234",
        ),
        (
            TcpOption::Unknown {
                kind: 34,
                data: &[],
            },
            "tfo  cookiereq",
        ),
        (
            TcpOption::Unknown {
                kind: 34,
                data: &[1, 2],
            },
            "tfo  (invalid)",
        ),
        (
            TcpOption::Unknown {
                kind: 253,
                data: &[0x12, 0x34],
            },
            "unknown-253 0x1234",
        ),
        (
            TcpOption::Unknown {
                kind: 99,
                data: &[],
            },
            "unknown-99",
        ),
    ];
    for (option, text) in cases {
        assert_eq!(option.to_string(), text);
    }
}

proptest! {
    #[test]
    fn parse_emit_round_trip(
        which in 0u8..=9,
        data in proptest::collection::vec(any::<u8>(), 0..=38),
        blocks in proptest::collection::vec(any::<(u32, u32)>().prop_map(Some), 1..=4),
        (a, b) in any::<(u32, u32)>(),
        kind in 9u8..=255,
    ) {
        let mut ranges = [None; MAX_SACK_BLOCKS];
        ranges[..blocks.len()].copy_from_slice(&blocks);
        let option = match which {
            0 => TcpOption::EndOfList,
            1 => TcpOption::NoOperation,
            2 => TcpOption::MaxSegmentSize(a as u16),
            3 => TcpOption::WindowScale(a as u8),
            4 => TcpOption::SackPermitted,
            5 => TcpOption::SackRange(ranges),
            8 => TcpOption::Timestamp { tsval: a, tsecr: b },
            _ => TcpOption::Unknown { kind, data: &data },
        };
        let mut buf = prefilled(option.buffer_len() + 3);
        let rest = option.emit(&mut buf);
        prop_assert_eq!(rest.len(), 3);
        let (parsed, rest) = TcpOption::parse(&buf).unwrap();
        prop_assert_eq!(parsed, option);
        prop_assert_eq!(rest.len(), 3);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..48)) {
        let _ = TcpOption::parse(&bytes);
        let mut walked = 0;
        for option in Iter::new(&bytes) {
            match option {
                Ok(option) => walked += option.buffer_len(),
                Err(_) => break,
            }
        }
        // The walk never claims more bytes than there are.
        prop_assert!(walked <= bytes.len());
    }
}
