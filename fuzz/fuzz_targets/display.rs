//! The tcpdump-style printers: arbitrary bytes, read as an IP packet, an
//! Ethernet frame and an ARP packet, never panic and print one line.
#![no_main]

use berth_core::wire::{PrettyArp, PrettyEthernet, PrettyIp};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for line in [
        PrettyIp(data).to_string(),
        PrettyEthernet(data).to_string(),
        PrettyArp(data).to_string(),
    ] {
        assert!(!line.is_empty() && !line.contains('\n'), "{line:?}");
    }
});
