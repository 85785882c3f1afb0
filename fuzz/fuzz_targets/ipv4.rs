//! IPv4: arbitrary bytes never panic the parser, and what parses re-emits to
//! bytes that parse (checksum verified) to the same Repr, with the same
//! payload.
//!
//! Lossy on purpose: options are not represented (the emitted header is
//! always 20 bytes), the reserved flag is cleared, and link padding after
//! Total Length is dropped. Everything the Repr holds is compared.
#![no_main]

use berth_core::wire::{ChecksumCaps, Ipv4Packet, Ipv4Repr, RxChecksum};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let trust = ChecksumCaps { rx: RxChecksum::Trust, ..ChecksumCaps::FULL };
    // The lenient parse used for quoted headers must not panic either.
    let _ = Ipv4Repr::parse_quoted(&Ipv4Packet::new_unchecked(data));
    let Ok(packet) = Ipv4Packet::new_checked(data) else { return };
    let _ = (packet.options(), packet.is_fragment(), packet.verify_checksum());
    let Ok(repr) = Ipv4Repr::parse(&packet, trust) else { return };
    assert_eq!(repr.payload_len, packet.payload().len());
    let mut out = vec![0u8; repr.buffer_len()];
    let mut emitted = Ipv4Packet::new_unchecked(&mut out[..]);
    repr.emit(&mut emitted);
    emitted.payload_mut().copy_from_slice(packet.payload());
    let reparsed = Ipv4Packet::new_checked(&out[..]).unwrap();
    let again = Ipv4Repr::parse(&reparsed, ChecksumCaps::FULL).unwrap();
    assert_eq!(again, repr);
    assert_eq!(reparsed.payload(), packet.payload());
});
