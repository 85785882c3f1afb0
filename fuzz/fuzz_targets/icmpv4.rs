//! ICMPv4: arbitrary bytes never panic the parser, and what parses re-emits
//! to bytes that parse (checksum verified) to the same Repr.
//!
//! Lossy on purpose: the unused second word of most error messages is
//! written as zero, and a quoted IPv4 header loses its options and reserved
//! flag (and gets a fresh checksum); the quoted header's Repr, the quoted
//! data and every other field are compared.
#![no_main]

use berth_core::wire::{ChecksumCaps, Icmpv4Packet, Icmpv4Repr, RxChecksum};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let trust = ChecksumCaps { rx: RxChecksum::Trust, ..ChecksumCaps::FULL };
    let Ok(packet) = Icmpv4Packet::new_checked(data) else { return };
    let _ = (packet.msg_type(), packet.data().len(), packet.verify_checksum());
    let Ok(repr) = Icmpv4Repr::parse(&packet, trust) else { return };
    let mut out = vec![0u8; repr.buffer_len()];
    repr.emit(&mut Icmpv4Packet::new_unchecked(&mut out[..]));
    let again = Icmpv4Repr::parse(&Icmpv4Packet::new_checked(&out[..]).unwrap(), ChecksumCaps::FULL).unwrap();
    assert_eq!(again, repr);
});
