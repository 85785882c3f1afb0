//! ARP: arbitrary bytes never panic the parser, and what parses (IPv4 over
//! Ethernet) re-emits to bytes that parse to the same Repr. Lossless for the
//! 28 bytes of the packet; link padding after them is not kept.
#![no_main]

use berth_core::wire::{ArpPacket, ArpRepr};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(packet) = ArpPacket::new_checked(data) else { return };
    // Every getter is in bounds after new_checked, whatever the lengths say.
    let _ = (
        packet.source_hardware_addr(),
        packet.source_protocol_addr(),
        packet.target_hardware_addr(),
        packet.target_protocol_addr(),
    );
    let Ok(repr) = ArpRepr::parse(&packet) else { return };
    let mut out = vec![0u8; repr.buffer_len()];
    repr.emit(&mut ArpPacket::new_unchecked(&mut out[..]));
    let again = ArpRepr::parse(&ArpPacket::new_checked(&out[..]).unwrap()).unwrap();
    assert_eq!(again, repr);
    assert_eq!(&out[..], &data[..repr.buffer_len()]);
});
