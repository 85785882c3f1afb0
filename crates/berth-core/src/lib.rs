//! The sans-IO protocol core of berth, a TCP/IP stack in user space.
//!
//! This crate is a whole host's network stack as a state machine: IPv4 and
//! IPv6 (fragments, ICMP, multicast with IGMPv3 and MLDv2), UDP, and TCP
//! (RFC 9293 with window scaling, timestamps, SACK, CUBIC, RACK-TLP, ECN,
//! SYN cookies), over raw IP (a TUN device) or Ethernet (TAP, with ARP and
//! NDP). It owns no device, thread or clock. The `berth` crate runs it on a
//! real device behind `std::net`- and `tokio::net`-shaped sockets; use this
//! one to drive the stack from your own event loop, or to test and simulate.
//!
//! # The sans-IO contract
//!
//! The core never reads the clock, never performs I/O and never spawns a
//! thread:
//!
//! - time is an argument (`now:` [`time::Instant`]), and the core says when
//!   it next needs to be called ([`Stack::poll_timeout`]) instead of
//!   sleeping;
//! - bytes come in through `handle_*` calls ([`Stack::handle_frame`]) and
//!   leave through `poll_*` calls that write into a buffer the caller owns
//!   ([`Stack::poll_transmit`]; `None` is "nothing to send", never an
//!   error); socket readiness leaves through [`Stack::poll_event`];
//! - randomness (ISNs, ports, cookie keys) comes from
//!   [`StackConfig::seed`](config::StackConfig::seed).
//!
//! So the same inputs give the same outputs, byte for byte, which is what
//! makes the seeded simulations, the scripted packet tests and the fuzz
//! targets possible. Untrusted input never panics: a bad packet is counted
//! in [`stats::StackStats`] and dropped.
//!
//! # Entry points
//!
//! - [`stack::Stack`]: the host. Addresses, sockets (`tcp_*`, `udp_*`,
//!   `icmp_echo_*`, named by [`handle::SocketHandle`]s), and the calls
//!   above.
//! - [`config::StackConfig`]: addresses, MTU, medium, routes, limits, the
//!   seed, and the TCP settings ([`tcp::TcpConfig`]).
//! - [`wire`]: zero-copy views and `Repr`s for every format the stack
//!   speaks, usable alone to parse, build and print packets.
//! - [`dns`]: DNS messages (RFC 1035), parsed and emitted.
//! - [`sim`]: the simulator, [`sim::Pair`]: two endpoints (stacks, or bare
//!   connections) on links with seeded faults, stepped in virtual time (or
//!   the caller's clock); the stack tests, `berth sim` and the core
//!   benchmark all run on it.
//!
//! Around them: [`time`] (the core's `Instant` and `Duration`), [`stats`],
//! [`tcp`] (TCP's settings and what a connection reports), [`rng`] (the
//! seeded generator the whole workspace uses).
//!
//! # Driving a stack
//!
//! Two stacks, frames carried between them by hand, time moved to the next
//! deadline: the loop a runtime runs around a real device.
//!
//! ```
//! use std::net::{IpAddr, Ipv4Addr, SocketAddr};
//!
//! use berth_core::config::StackConfig;
//! use berth_core::stack::{SocketError, Stack};
//! use berth_core::time::Instant;
//!
//! let ip = |d| IpAddr::V4(Ipv4Addr::new(198, 18, 0, d));
//! let host = |d| StackConfig {
//!     addrs: vec![ip(d)],
//!     seed: u64::from(d),
//!     ..StackConfig::default()
//! };
//! let (mut server, mut client) = (Stack::new(host(1)), Stack::new(host(2)));
//!
//! let mut now = Instant::ZERO;
//! let listener = server.tcp_listen(SocketAddr::new(ip(1), 80), 16)?;
//! let stream = client.tcp_connect(now, SocketAddr::new(ip(1), 80), None)?;
//! client.tcp_send(stream, b"hello")?;
//!
//! let mut frame = [0u8; 1500];
//! let mut received = Vec::new();
//! let mut accepted = None;
//! for _round in 0..100 {
//!     while let Some(n) = client.poll_transmit(now, &mut frame) {
//!         server.handle_frame(now, &frame[..n]);
//!     }
//!     while let Some(n) = server.poll_transmit(now, &mut frame) {
//!         client.handle_frame(now, &frame[..n]);
//!     }
//!     if accepted.is_none() {
//!         accepted = server.tcp_accept(listener)?.map(|(h, _peer)| h);
//!     }
//!     if let Some(h) = accepted {
//!         let mut buf = [0u8; 64];
//!         match server.tcp_recv(h, &mut buf) {
//!             Ok(n) => received.extend_from_slice(&buf[..n]),
//!             Err(SocketError::WouldBlock) => {}
//!             Err(e) => return Err(e.into()),
//!         }
//!     }
//!     if received.len() == 5 {
//!         break;
//!     }
//!     // Nothing left to carry: on to the next deadline (a delayed ACK,
//!     // a retransmission), as a runtime sleeps until it.
//!     let next = [client.poll_timeout(), server.poll_timeout()];
//!     if let Some(at) = next.into_iter().flatten().min() {
//!         now = now.max(at);
//!         client.handle_timeout(now);
//!         server.handle_timeout(now);
//!     }
//! }
//! assert_eq!(received, b"hello");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The design, module by module, and the conventions the code follows are
//! in `docs/ARCHITECTURE.md`.
//!
//! [`Stack::poll_timeout`]: stack::Stack::poll_timeout
//! [`Stack::handle_frame`]: stack::Stack::handle_frame
//! [`Stack::poll_transmit`]: stack::Stack::poll_transmit
//! [`Stack::poll_event`]: stack::Stack::poll_event
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod config;
mod demux;
pub mod dns;
mod frag;
pub mod handle;
pub mod rng;
pub mod sim;
pub mod stack;
pub mod stats;
mod syn_cookie;
pub mod tcp;
#[cfg(any(test, feature = "testing"))]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;
pub mod time;
pub mod wire;
