//! The whole stack: frames from a few peers (TCP segments with fields near
//! the connections' numbers or anything, with SYN cookies forced by a
//! backlog of 1; UDP; ICMP errors quoting what the stack sent; IPv4
//! fragments in any order; raw IP and raw bytes), time steps, and the
//! application's calls, decoded from the input and run by
//! berth_core::testing::stack_driver. After every step it checks: no
//! panic, every frame out valid IP with valid checksums, sockets and
//! buffer and reassembly memory under their limits, timers that make
//! progress, the peers' streams read in order, and every byte the stack
//! acknowledged read or waiting unless its connection was reset; at the
//! end, once everything is closed and the timers have run out, no TCP
//! socket left.
#![no_main]

use berth_core::testing::stack_driver::{Decoder, run};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut decoder = Decoder::new(data);
    let setup = decoder.setup();
    let actions = decoder.actions(256);
    if let Err(violation) = run(&setup, &actions) {
        panic!("{violation}\nsetup: {setup:?}\nactions: {actions:#?}");
    }
});
