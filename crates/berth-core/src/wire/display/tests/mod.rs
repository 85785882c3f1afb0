mod tcpdump_expected;

use super::*;
use crate::wire::vectors;
use proptest::prelude::*;
use tcpdump_expected::{CASES, Case, Link};

/// Where berth's line is meant to differ from tcpdump's, and why.
enum Difference {
    /// tcpdump's line is berth's followed by what tcpdump decodes further
    /// (an application protocol, LLC, or the `: ` before a hex dump).
    Prefix(&'static str),
    /// berth prints its own line (given) where tcpdump prints something
    /// odd for malformed input.
    Berth(&'static str, &'static str),
}

const DIFFERENCES: &[(&str, Difference)] = &[
    (
        "TCP_DATA_V4",
        Difference::Prefix("tcpdump decodes HTTP on port 80"),
    ),
    (
        "ETHERNET_8023",
        Difference::Prefix("tcpdump decodes 802.2 LLC"),
    ),
    (
        "ETHERNET_UNKNOWN_ETHERTYPE",
        Difference::Prefix("tcpdump hex-dumps the payload"),
    ),
    (
        "ETHERNET_VLAN_UNKNOWN",
        Difference::Prefix("tcpdump hex-dumps the payload"),
    ),
    (
        "IPV6_TRUNCATED",
        Difference::Berth(
            "2001:2::1 > 2001:2::2: [truncated ip6: 4 bytes missing]",
            "tcpdump says so in front and decodes what is there, as for IPv4",
        ),
    ),
    (
        "IPV6_FRAG_CUT",
        Difference::Berth(
            "2001:2::1 > 2001:2::2: frag ( [|frag6]",
            "tcpdump reads the Identification past the payload and underflows",
        ),
    ),
    (
        "IPV6_DSTOPT_EMPTY_UDP",
        Difference::Berth(
            "2001:2::1 > 2001:2::2: DSTOPT [bad udp header: truncated]",
            "a cut UDP header is described as for IPv4",
        ),
    ),
];

/// tcpdump's line without the protocol word it puts in front when not
/// printing the link layer.
fn tcpdump_line(case: &Case) -> &'static str {
    let line = case.tcpdump;
    match case.link {
        Link::Ip => line
            .strip_prefix("IP ")
            .or_else(|| line.strip_prefix("IP6 "))
            .unwrap_or(line),
        Link::Arp => line.strip_prefix("ARP, ").unwrap_or(line),
        Link::Ethernet => line,
    }
}

fn berth_line(case: &Case) -> String {
    match case.link {
        Link::Ip => PrettyIp(case.bytes).to_string(),
        Link::Ethernet => PrettyEthernet(case.bytes).to_string(),
        Link::Arp => PrettyArp(case.bytes).to_string(),
    }
}

// Every wire vector, and the extra cases of scripts/tcpdump-lines.py, prints
// as tcpdump 4.99 prints it (tcpdump_expected.rs holds tcpdump's lines).
#[test]
fn lines_match_tcpdump() {
    let mut checked = 0;
    for case in CASES {
        let expected = tcpdump_line(case);
        let ours = berth_line(case);
        let difference = DIFFERENCES.iter().find(|(name, _)| *name == case.name);
        match difference.map(|(_, d)| d) {
            None => assert_eq!(ours, expected, "{}", case.name),
            Some(Difference::Prefix(why)) => assert!(
                expected.starts_with(&ours) && ours.len() < expected.len(),
                "{}: berth {ours:?} should begin tcpdump's {expected:?} ({why})",
                case.name
            ),
            Some(Difference::Berth(line, why)) => {
                assert_ne!(ours, expected, "{}: no longer differs ({why})", case.name);
                assert_eq!(ours, *line, "{} ({why})", case.name);
            }
        }
        checked += 1;
    }
    // Every vector of vectors.rs is in the table (the script reads them all).
    assert!(checked >= 29, "only {checked} cases");
    for (name, _) in DIFFERENCES {
        assert!(
            CASES.iter().any(|c| c.name == *name),
            "stale difference {name}"
        );
    }
}

#[test]
fn brief_examples() {
    assert_eq!(
        PrettyIp(&vectors::TCP_SYN_V4).to_string(),
        "198.18.0.1.40000 > 198.18.0.2.80: Flags [S], seq 1000, win 64240, \
         options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0"
    );
    assert_eq!(
        PrettyIp(&vectors::TCP_DATA_V4).to_string(),
        "198.18.0.1.40000 > 198.18.0.2.80: Flags [P.], seq 1001:1019, ack 5001, win 502, \
         options [nop,nop,TS val 3 ecr 2], length 18"
    );
    assert_eq!(
        PrettyEthernet(&vectors::ETHERNET_IPV4).to_string(),
        "02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype IPv4 (0x0800), length 54: \
         198.18.0.1.40000 > 198.18.0.2.7: UDP, length 12"
    );
    assert_eq!(
        PrettyArp(&vectors::ARP_REQUEST[14..]).to_string(),
        "Request who-has 198.18.0.2 tell 198.18.0.1, length 28"
    );
}

/// A copy of `bytes` with `edit` applied.
fn edited(bytes: &[u8], edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut bytes = bytes.to_vec();
    edit(&mut bytes);
    bytes
}

#[test]
fn malformed_ip_is_described() {
    let syn = &vectors::TCP_SYN_V4;
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (vec![], "[truncated ip]"),
        (syn[..19].to_vec(), "[truncated ip]"),
        (edited(syn, |b| b[0] = 0x55), "[ip version 5]"),
        (edited(syn, |b| b[0] = 0x44), "[bad ip header length 16]"),
        // IHL 15: a 60-byte header in a 60-byte buffer leaves no TCP.
        (
            edited(syn, |b| b[0] = 0x4f),
            "198.18.0.1 > 198.18.0.2: [bad tcp header: truncated]",
        ),
        (
            edited(syn, |b| b[9] = 253),
            "198.18.0.1 > 198.18.0.2:  ip-proto-253 40",
        ),
        (edited(syn, |b| b[3] = 10), "[bad ip total length 10]"),
        (
            syn[..50].to_vec(),
            "198.18.0.1 > 198.18.0.2: [truncated ip: 10 bytes missing]",
        ),
        // Total Length cuts the TCP header short.
        (
            edited(&syn[..], |b| b[3] = 30),
            "198.18.0.1 > 198.18.0.2: [bad tcp header: truncated]",
        ),
        // Data Offset 4.
        (
            edited(syn, |b| b[32] = 0x40),
            "198.18.0.1 > 198.18.0.2: [bad tcp header: malformed]",
        ),
        // Data Offset 15: past the segment.
        (
            edited(syn, |b| b[32] = 0xf0),
            "198.18.0.1 > 198.18.0.2: [bad tcp header: truncated]",
        ),
        // An option length of 1.
        (
            edited(syn, |b| b[45] = 1),
            "198.18.0.1.40000 > 198.18.0.2.80: Flags [S], seq 1000, win 64240, \
             options [mss 1460,[bad opt]]",
        ),
        (
            edited(&vectors::UDP_V4[..24], |b| b[3] = 24),
            "198.18.0.1 > 198.18.0.2: [bad udp header: truncated]",
        ),
        (
            edited(&vectors::ICMPV4_ECHO_REQUEST[..27], |b| b[3] = 27),
            "198.18.0.1 > 198.18.0.2: [bad icmp header: truncated]",
        ),
        // A port unreachable quoting only an IPv4 header: no port to show.
        (
            edited(&vectors::ICMPV4_PORT_UNREACHABLE[..48], |b| b[3] = 48),
            "198.18.0.2 > 198.18.0.1: ICMP [bad icmp body: truncated], length 28",
        ),
        // Time exceeded quoting nothing.
        (
            edited(&vectors::ICMPV4_TIME_EXCEEDED[..28], |b| b[3] = 28),
            "198.18.1.1 > 198.18.0.1: ICMP [bad icmp body: truncated], length 8",
        ),
    ];
    for (bytes, expected) in cases {
        assert_eq!(PrettyIp(&bytes).to_string(), expected, "{bytes:02x?}");
    }
}

#[test]
fn ipv6_examples() {
    assert_eq!(
        PrettyIp(&vectors::IPV6_TCP).to_string(),
        "2001:2::1.40000 > 2001:2::2.80: Flags [S], seq 1, win 65535, length 0"
    );
    assert_eq!(
        PrettyIp(&vectors::ICMPV6_NS).to_string(),
        "2001:2::1 > 2001:2::2: ICMP6, neighbor solicitation, who has 2001:2::2, length 32"
    );
    assert_eq!(
        PrettyIp(&vectors::IPV6_EXT_CHAIN).to_string(),
        "2001:2::1 > 2001:2::2: HBH DSTOPT RT6 (len=2, type=0 [Deprecated], segleft=0, \
         [0]2001:2::3) frag (0|11) 40000 > 7: UDP, length 3"
    );
}

#[test]
fn malformed_ipv6_is_described() {
    let tcp = &vectors::IPV6_TCP;
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (tcp[..39].to_vec(), "[truncated ip6]"),
        (
            tcp[..50].to_vec(),
            "2001:2::1 > 2001:2::2: [truncated ip6: 10 bytes missing]",
        ),
        // Payload Length 4: the TCP header is cut.
        (
            edited(tcp, |b| b[5] = 4),
            "2001:2::1 > 2001:2::2: [bad tcp header: truncated]",
        ),
        (
            edited(tcp, |b| b[6] = 253),
            "2001:2::1 > 2001:2::2:  ip-proto-253 20",
        ),
        // A Jumbo Payload option of 65,536 octets: berth stops there.
        (
            edited(&vectors::IPV6_JUMBO, |b| {
                b[44..48].copy_from_slice(&[0, 1, 0, 0])
            }),
            "2001:2::1 > 2001:2::2: HBH [jumbogram not decoded]",
        ),
        // A Destination Options header with a Router Alert of the wrong
        // length (not looked at outside Hop-by-Hop).
        (
            edited(&vectors::IPV6_HBH_DISCARD, |b| b[6] = 60),
            "2001:2::1 > 2001:2::2: DSTOPT 40000 > 7: UDP, length 0",
        ),
        (
            edited(&vectors::IPV6_HBH_DISCARD, |b| {
                b[42..46].copy_from_slice(&[5, 3, 0, 0])
            }),
            "2001:2::1 > 2001:2::2: HBH (rtalert: invalid len 3) [|hbhopt]",
        ),
        // An echo request of 4 octets, and of 1.
        (
            edited(&vectors::ICMPV6_ECHO_REQUEST[..44], |b| b[5] = 4),
            "2001:2::1 > 2001:2::2: ICMP6, echo request [|icmp6]",
        ),
        (
            edited(&vectors::ICMPV6_ECHO_REQUEST[..41], |b| b[5] = 1),
            "2001:2::1 > 2001:2::2: ICMP6, echo request [|icmp6]",
        ),
    ];
    for (bytes, expected) in cases {
        assert_eq!(PrettyIp(&bytes).to_string(), expected, "{bytes:02x?}");
    }
}

#[test]
fn many_extension_headers_do_not_recurse() {
    // 8,000 Destination Options headers print in a loop.
    let mut payload = Vec::new();
    for _ in 0..8_000 {
        payload.extend_from_slice(&[60, 0, 1, 4, 0, 0, 0, 0]);
    }
    let mut packet = vectors::IPV6_TCP[..40].to_vec();
    packet[4..6].copy_from_slice(&u16::try_from(payload.len()).unwrap().to_be_bytes());
    packet[6] = 60;
    packet.extend_from_slice(&payload);
    let line = PrettyIp(&packet).to_string();
    // The last one's Next Header says Destination Options again, and there
    // is nothing left.
    assert!(
        line.ends_with("DSTOPT DSTOPT  [|dstopt]"),
        "{}",
        &line[line.len() - 40..]
    );
}

#[test]
fn malformed_frames_are_described() {
    assert_eq!(
        PrettyEthernet(&vectors::ETHERNET_IPV4[..13]).to_string(),
        "[truncated ethernet]"
    );
    assert_eq!(
        PrettyEthernet(&vectors::ETHERNET_VLAN[..16]).to_string(),
        "02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype 802.1Q (0x8100), length 16: \
         [truncated vlan]"
    );
    assert_eq!(
        PrettyEthernet(&vectors::ETHERNET_IPV4[..20]).to_string(),
        "02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype IPv4 (0x0800), length 20: \
         [truncated ip]"
    );
    assert_eq!(
        PrettyArp(&vectors::ARP_REQUEST[14..40]).to_string(),
        "[bad arp header: truncated]"
    );
    // Operations tcpdump hex-dumps instead.
    let nack = edited(&vectors::ARP_REQUEST[14..], |b| b[7] = 10);
    assert_eq!(PrettyArp(&nack).to_string(), "NACK Reply, length 28");
    let other = edited(&vectors::ARP_REQUEST[14..], |b| b[7] = 77);
    assert_eq!(PrettyArp(&other).to_string(), "Unknown (77), length 28");
}

#[test]
fn many_vlan_tags_do_not_recurse() {
    // A frame of nothing but 802.1Q tags prints in a loop, however long.
    let mut frame = vectors::ETHERNET_VLAN[..14].to_vec();
    for _ in 0..20_000 {
        frame.extend_from_slice(&[0x00, 0x01, 0x81, 0x00]);
    }
    let line = PrettyEthernet(&frame).to_string();
    assert!(line.ends_with("vlan 1, p 0, ethertype 802.1Q (0x8100), [truncated vlan]"));
}

#[test]
fn icmp_time_prints_like_tcpdump() {
    assert_eq!(IcmpTime(0).to_string(), "00:00:00.000");
    assert_eq!(IcmpTime(86_399_999).to_string(), "23:59:59.999");
    assert_eq!(IcmpTime(u32::MAX).to_string(), "1193:02:47.295");
}

proptest! {
    // Arbitrary bytes never panic the printers.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = PrettyIp(&bytes).to_string();
        let _ = PrettyEthernet(&bytes).to_string();
        let _ = PrettyArp(&bytes).to_string();
    }

    // Bytes that start like a real packet get further into each printer.
    #[test]
    fn mutated_vectors_never_panic(
        which in 0..CASES.len(),
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        cut in any::<usize>(),
    ) {
        let mut bytes = CASES[which].bytes.to_vec();
        for (at, value) in flips {
            if !bytes.is_empty() {
                let at = at % bytes.len();
                bytes[at] = value;
            }
        }
        bytes.truncate(cut % (bytes.len() + 1));
        let _ = PrettyIp(&bytes).to_string();
        let _ = PrettyEthernet(&bytes).to_string();
        let _ = PrettyArp(&bytes).to_string();
    }
}
