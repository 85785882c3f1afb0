//! One TCP connection fed a sequence of actions decoded from the input:
//! segments with arbitrary fields (sequence and acknowledgment numbers near
//! the connection's own or anything), time advances, and the application
//! calls. The driver (berth_core::testing::tcp_driver) checks that nothing
//! panics, every output burst ends and every segment out parses with a valid
//! checksum, timers make progress, and what the application reads is the
//! peer's stream in order.
#![no_main]

use berth_core::testing::tcp_driver::{Decoder, run};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut decoder = Decoder::new(data);
    let setup = decoder.setup();
    let actions = decoder.actions(256);
    if let Err(violation) = run(&setup, &actions) {
        panic!("{violation}\nsetup: {setup:?}\nactions: {actions:#?}");
    }
});
