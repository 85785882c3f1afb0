//! berth: a TCP/IP network stack in user space.
//!
//! This crate will hold the runtime (the stack thread that owns a device,
//! reads the clock and drives `berth-core`) and the public APIs: blocking
//! sockets with `std::net`'s names, async sockets with `tokio::net`'s names
//! behind the `tokio` feature, per-port callbacks and an acceptor/worker
//! server helper.
#![forbid(unsafe_code)]
