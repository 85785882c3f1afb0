//! DNS: arbitrary bytes never panic the parser, and what parses re-emits to
//! bytes that parse to the same message (names octet for octet, not only
//! ignoring case), which emit to the same bytes again. The header's Z bit and
//! octets after the last section are not kept; opaque record data is kept
//! as it was, pointers and all.
#![no_main]

use berth_core::dns::{Message, split_tcp_message};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some((message, _)) = split_tcp_message(data) {
        assert!(message.len() + 2 <= data.len());
    }
    let Ok(m) = Message::parse(data) else { return };
    let out = m.to_bytes().unwrap();
    let again = Message::parse(&out).unwrap();
    assert_eq!(again, m);
    assert_eq!(format!("{again:?}"), format!("{m:?}"));
    assert_eq!(again.to_bytes().unwrap(), out);
});
