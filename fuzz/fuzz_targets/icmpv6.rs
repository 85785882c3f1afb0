//! ICMPv6 and NDP: arbitrary bytes never panic the parser, and what parses
//! re-emits to bytes that parse (checksum verified) to the same Repr.
//!
//! The first 32 bytes are the source and destination addresses of the
//! pseudo-header (which NDP validation also reads: multicast targets and
//! destinations, unspecified sources); the rest is the message.
//!
//! Lossy on purpose: the Code of echo and Packet Too Big and the reserved
//! fields are written as zero; of the NDP options only the first source or
//! target link-layer address and MTU and the prefix information are kept
//! (unknown options, repeats and padding are dropped); a quoted invoking
//! packet loses its extension headers (the Repr holds its fixed header with
//! the upper-layer protocol after the walk, and the data after them).
//! Everything the Repr holds is compared.
#![no_main]

use std::net::Ipv6Addr;

use berth_core::wire::{ChecksumCaps, Icmpv6Packet, Icmpv6Repr, NdpOptions, RxChecksum};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let trust = ChecksumCaps { rx: RxChecksum::Trust, ..ChecksumCaps::FULL };
    let Some((addrs, message)) = data.split_first_chunk::<32>() else { return };
    let src = Ipv6Addr::from(<[u8; 16]>::try_from(&addrs[..16]).unwrap());
    let dst = Ipv6Addr::from(<[u8; 16]>::try_from(&addrs[16..]).unwrap());
    let Ok(packet) = Icmpv6Packet::new_checked(message) else { return };
    let _ = (packet.msg_type(), packet.payload().len(), packet.options().len());
    let _ = packet.verify_checksum(src, dst);
    NdpOptions::new(packet.options()).for_each(drop);
    let Ok(repr) = Icmpv6Repr::parse(&packet, src, dst, trust) else { return };
    let mut out = vec![0u8; repr.buffer_len()];
    repr.emit(&mut Icmpv6Packet::new_unchecked(&mut out[..]), src, dst, ChecksumCaps::FULL);
    let reparsed = Icmpv6Packet::new_checked(&out[..]).unwrap();
    let again = Icmpv6Repr::parse(&reparsed, src, dst, ChecksumCaps::FULL).unwrap();
    assert_eq!(again, repr);
});
