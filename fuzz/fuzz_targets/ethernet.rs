//! Ethernet II: arbitrary bytes never panic the parser, and what parses
//! re-emits to a header that parses to the same Repr. The Repr is the whole
//! header (the payload stays in the packet), so the round trip is lossless.
#![no_main]

use berth_core::wire::{EthernetPacket, EthernetRepr};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(packet) = EthernetPacket::new_checked(data) else { return };
    let Ok(repr) = EthernetRepr::parse(&packet) else { return };
    let _ = (packet.dst_addr().is_broadcast(), packet.payload().len());
    let mut out = vec![0u8; repr.buffer_len()];
    repr.emit(&mut EthernetPacket::new_unchecked(&mut out[..]));
    let again = EthernetRepr::parse(&EthernetPacket::new_checked(&out[..]).unwrap()).unwrap();
    assert_eq!(again, repr);
    // The header bytes themselves come back unchanged.
    assert_eq!(&out[..], &data[..repr.buffer_len()]);
});
