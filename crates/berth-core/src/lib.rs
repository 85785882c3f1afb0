//! berth-core: the sans-IO protocol core of the berth TCP/IP stack.
//!
//! The layer contract: this crate never reads the clock, never performs I/O
//! and never spawns threads. Time ([`time::Instant`]) and randomness come in as
//! arguments; bytes come in through `handle_*` calls and go out through
//! `poll_*` calls that write into buffers the caller owns. That makes every
//! behaviour reproducible in tests, simulations and fuzzers.
//!
//! Modules:
//! - [`wire`]: zero-copy views and `Repr`s for Ethernet, ARP, IPv4, IPv6,
//!   ICMPv4, ICMPv6 (with MLD), IGMP, UDP and TCP, plus the Internet
//!   checksum.
//! - [`time`]: the core's notion of time.
//! - [`tcp`]: TCP per connection (RFC 9293) and its building blocks.
//! - [`stack`]: the host: addresses, the port table ([`demux`]), sockets,
//!   IP, ICMP and UDP, configured by [`config`], counted in [`stats`].
//! - [`sim`]: the simulator: two endpoints on links with seeded faults, in
//!   virtual time (or the caller's clock).
//! - [`dns`]: DNS messages (RFC 1035), parsed and emitted.
//! - [`handle`], [`rng`]: socket handles and the seeded random numbers.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod config;
pub mod demux;
pub mod dns;
pub mod frag;
pub mod handle;
pub mod rng;
pub mod sim;
pub mod stack;
pub mod stats;
pub mod syn_cookie;
pub mod tcp;
#[cfg(any(test, feature = "testing"))]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;
pub mod time;
pub mod wire;
