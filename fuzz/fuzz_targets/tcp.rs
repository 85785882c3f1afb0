//! TCP: arbitrary bytes never panic the parser, and what parses re-emits to
//! bytes that parse (checksum verified) to the same Repr.
//!
//! Lossy on purpose: options the Repr does not hold (unknown kinds, NOP,
//! EOL, all but the last of a repeated kind) are not written, the Reserved
//! bits are cleared, an Acknowledgment Number without ACK is zeroed, and
//! SACK blocks that do not fit the 40 option bytes after the other options
//! are dropped: the re-parsed blocks must be the first of the original ones,
//! and one more must not have fit. Everything else is compared.
#![no_main]

use berth_core::wire::{ChecksumCaps, RxChecksum, TcpPacket, TcpRepr};
use libfuzzer_sys::fuzz_target;
use std::net::{IpAddr, Ipv4Addr};

/// The longest TCP header.
const MAX_HEADER_LEN: usize = 60;
/// Bytes one SACK block adds, and the NOPs, kind and length in front of the
/// first.
const SACK_BLOCK: usize = 8;
const SACK_PREFIX: usize = 4;

fuzz_target!(|data: &[u8]| {
    let (src, dst) = (IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1)), IpAddr::V4(Ipv4Addr::new(198, 18, 0, 2)));
    let trust = ChecksumCaps { rx: RxChecksum::Trust, ..ChecksumCaps::FULL };
    let Ok(packet) = TcpPacket::new_checked(data) else { return };
    let _ = (packet.segment_len(), packet.options_iter().count());
    let Ok(repr) = TcpRepr::parse(&packet, src, dst, trust) else { return };
    assert!(repr.header_len() <= MAX_HEADER_LEN);
    let mut out = vec![0u8; repr.buffer_len()];
    repr.emit(&mut TcpPacket::new_unchecked(&mut out[..]), src, dst, ChecksumCaps::FULL);
    let again = TcpRepr::parse(&TcpPacket::new_checked(&out[..]).unwrap(), src, dst, ChecksumCaps::FULL).unwrap();

    let original: Vec<_> = repr.sack_ranges.iter().flatten().copied().collect();
    let kept: Vec<_> = again.sack_ranges.iter().flatten().copied().collect();
    assert!(original.starts_with(&kept), "{original:?} then {kept:?}");
    if kept.len() < original.len() {
        let room_needed = if kept.is_empty() { SACK_PREFIX + SACK_BLOCK } else { SACK_BLOCK };
        assert!(again.header_len() + room_needed > MAX_HEADER_LEN, "a SACK block was dropped with room left");
    }
    assert_eq!(TcpRepr { sack_ranges: repr.sack_ranges, ..again }, repr);
});
