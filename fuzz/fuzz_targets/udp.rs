//! UDP: arbitrary bytes never panic the parser, and what parses re-emits to
//! bytes that parse to the same Repr.
#![no_main]

use berth_core::wire::{ChecksumCaps, RxChecksum, UdpPacket, UdpRepr};
use libfuzzer_sys::fuzz_target;
use std::net::{IpAddr, Ipv4Addr};

fuzz_target!(|data: &[u8]| {
    let (src, dst) = (IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1)), IpAddr::V4(Ipv4Addr::new(198, 18, 0, 2)));
    let caps = ChecksumCaps { rx: RxChecksum::Trust, ..ChecksumCaps::FULL };
    let Ok(packet) = UdpPacket::new_checked(data) else { return };
    let Ok(repr) = UdpRepr::parse(&packet, src, dst, caps) else { return };
    let mut out = vec![0u8; repr.buffer_len()];
    repr.emit(&mut UdpPacket::new_unchecked(&mut out[..]), src, dst, ChecksumCaps::FULL);
    let again = UdpRepr::parse(&UdpPacket::new_checked(&out[..]).unwrap(), src, dst, ChecksumCaps::FULL).unwrap();
    assert_eq!(again, repr);
});
