//! Packet I/O between berth and the operating system.
//!
//! This crate will hold the `Device` trait (receive and send whole frames,
//! many per wake-up), the Linux TUN and TAP devices, in-memory links for tests
//! and simulations, fault injection (loss, delay, reordering, duplication,
//! corruption) and a pcap writer that wraps any device. It is the only crate of
//! the workspace that may contain `unsafe` code, confined to its `sys` modules.
