//! IPv6: arbitrary bytes never panic the parser or the extension-header
//! walk, and what parses re-emits to bytes that parse to the same Repr, with
//! the same upper-layer data.
//!
//! IPv6 has no header checksum, so there is no `RxChecksum` to trust here.
//! Lossy on purpose: extension headers are not represented (the Repr holds
//! the upper-layer protocol and length after the walk, and the emitted
//! packet has none), and link padding after the Payload Length is dropped.
//! Everything the Repr holds is compared.
#![no_main]

use berth_core::wire::{Ipv6Packet, Ipv6Repr};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The lenient parse used for quoted headers must not panic either.
    let _ = Ipv6Repr::parse_quoted(data);
    let Ok(packet) = Ipv6Packet::new_checked(data) else { return };
    let _ = (packet.dscp(), packet.ecn(), packet.flow_label());
    let Ok(walk) = packet.walk_extensions() else { return };
    if let Some(discard) = walk.discard {
        let _ = discard.should_report(packet.dst_addr());
    }
    let Ok(repr) = Ipv6Repr::parse(&packet) else { return };
    let upper = &packet.payload()[walk.upper_offset..];
    assert_eq!(repr.payload_len, upper.len());
    assert_eq!(repr.next_header, walk.upper_layer);
    let fixed = Ipv6Repr::from_fixed_header(&packet);
    assert_eq!(fixed.payload_len, packet.payload().len());
    let mut out = vec![0u8; repr.buffer_len()];
    let mut emitted = Ipv6Packet::new_unchecked(&mut out[..]);
    repr.emit(&mut emitted);
    emitted.payload_mut().copy_from_slice(upper);
    let reparsed = Ipv6Packet::new_checked(&out[..]).unwrap();
    let again = Ipv6Repr::parse(&reparsed).unwrap();
    assert_eq!(again, repr);
    assert_eq!(reparsed.payload(), upper);
});
