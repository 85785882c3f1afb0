//! berth: a TCP/IP network stack in user space.
//!
//! [`NetStack`] runs the sans-IO core of `berth-core` on a thread of its own
//! that owns a [`Device`](berth_device::Device) (a TUN device, or an
//! in-memory link), reads the clock, fires timers and wakes the application
//! threads waiting on sockets. The sockets in [`net`] have `std::net`'s
//! names and semantics; the only difference is the stack handle in the
//! constructors:
//!
//! ```
//! use std::io::{Read, Write};
//! use berth::{NetStack, net::{TcpListener, TcpStream}};
//! use berth_device::{channel::ChannelDevice, Medium};
//!
//! let (left, right) = ChannelDevice::pair(1500, Medium::Ip).unwrap();
//! let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left).unwrap();
//! let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right).unwrap();
//! let listener = TcpListener::bind(&server, "198.18.0.2:7").unwrap();
//! let echo = std::thread::spawn(move || {
//!     let (mut s, _) = listener.accept().unwrap();
//!     let mut buf = [0; 5];
//!     s.read_exact(&mut buf).unwrap();
//!     s.write_all(&buf).unwrap();
//! });
//! let mut c = TcpStream::connect(&client, "198.18.0.2:7").unwrap();
//! c.write_all(b"hello").unwrap();
//! let mut back = [0; 5];
//! c.read_exact(&mut back).unwrap();
//! assert_eq!(&back, b"hello");
//! echo.join().unwrap();
//! ```
//!
//! With the `tokio` feature, `berth::tokio_net` has the same sockets with
//! `tokio::net`'s names: `async fn`s with `poll_*` twins, `AsyncRead` and
//! `AsyncWrite`, `split`/`into_split`, so hyper and axum run over berth
//! unchanged. With the `axum` feature, `axum::serve` takes a berth
//! listener (see `examples/async_axum.rs`). [`server`] is the
//! acceptor/worker helper for blocking servers. [`differences`] lists what
//! differs from `std::net` and `tokio::net`, and what is not supported.
//!
//! The fastest servers run on the stack thread itself, run to completion:
//! [`NetStack::serve`] gives each connection a [`Session`] (its state and
//! a non-blocking output buffer), [`NetStack::listen_with`] a raw handler
//! per port ([`callback`]). No thread per connection, no hand-off: the
//! reply to a packet leaves in the same turn as the packet came in.
//!
//! # Addresses, routes and names
//!
//! - `.addr(ip)` gives the stack an address. Every stack is also
//!   127.0.0.0/8 and ::1: traffic to those, and to the stack's own
//!   addresses, stays inside the stack (never reaches the device).
//! - `.addr_prefix(ip, 24)` gives an address with its prefix, which puts
//!   the prefix on-link; `.route(prefix, len, gateway)` and
//!   `.default_route(gateway)` add routes (on a TAP device the gateway's
//!   MAC is resolved with ARP or NDP). A stack without routes sends
//!   everything out of its device; a stack with routes fails at once with
//!   `NetworkUnreachable` for a destination none of them matches.
//! - `.seed(n)` makes a stack deterministic (simulations, tests); without
//!   it the ISN secret, ephemeral ports and cookie secret come from the
//!   operating system's randomness.
//! - Addresses are passed as with std ([`net::ToSocketAddrs`]): a
//!   `SocketAddr`, `"198.18.0.2:80"`, `(ip, port)`, a slice (tried in
//!   turn by `connect`). berth resolves no names and never asks the host's
//!   resolver: `localhost` is 127.0.0.1 then ::1, any other name is
//!   `InvalidInput`.
//!
//! # Counters
//!
//! [`NetStack::stats`] returns the stack's counters
//! ([`StackStats`](berth_core::stats::StackStats): frames in and out,
//! every reason a packet was dropped, SYN cookies, queue overflows, …).
//! `counters()` lists every one by name, so a program can log or export
//! them all without naming each:
//!
//! ```
//! use berth::NetStack;
//! use berth_device::{channel::ChannelDevice, Medium};
//!
//! let (dev, _peer) = ChannelDevice::pair(1500, Medium::Ip).unwrap();
//! let stack = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(dev).unwrap();
//! for (name, value) in stack.stats().counters() {
//!     if value != 0 {
//!         println!("{name} {value}");
//!     }
//! }
//! ```
//!
//! With the `control` feature, `NetStack::serve_control(path)` serves
//! the stack's sockets and counters on a Unix socket, so that
//! `berth ss --control PATH` (and `--stats`, like `nstat`) shows any
//! program's stack as it shows `berth up`'s (see `berth::control`).
//!
//! # Errors, as std on Linux
//!
//! | `io::ErrorKind` | when |
//! | --- | --- |
//! | `ConnectionRefused` | connect: the peer answers with a reset, or an ICMP port (or protocol) unreachable; a connected UDP socket after an ICMP port unreachable (once, on the next call) |
//! | `ConnectionReset` | the peer reset an open connection: the first read, write or `take_error` reports it; later reads return `Ok(0)` and writes `BrokenPipe` |
//! | `TimedOut` | connect: the SYN retries ran out (about two minutes); an open connection whose retransmissions or keepalives ran out (unless an ICMP error came first: then that error) |
//! | `HostUnreachable` | connect: an ICMP host unreachable, or the on-link neighbour never answered ARP/NDP (three probes, about 3 s) |
//! | `NetworkUnreachable` | no route leads to the destination (at once), an ICMP network unreachable during connect, a TCP connect to the broadcast address |
//! | `PermissionDenied` | a UDP send or connect to 255.255.255.255 without `set_broadcast(true)`; an ICMPv6 "administratively prohibited" during connect |
//! | `BrokenPipe` | a write after `shutdown(Write)`, or after the connection's failure was reported |
//! | `NotConnected` | UDP `send`/`recv`/`peer_addr` before `connect`; any call once the stack is gone (`incoming()` then yields it once and ends) |
//! | `AddrInUse` | bind to a taken address and port; bind to port 0 with no ephemeral port free |
//! | `AddrNotAvailable` | bind to an address the stack does not have; connect with no ephemeral port free |
//! | `InvalidInput` | port 0 as a destination, mixed families, a name other than `localhost`, an oversized UDP datagram, a zero timeout |
//! | `WouldBlock` | non-blocking sockets with nothing to do; a read or write timeout expired (as std on Unix) |
//! | `OutOfMemory` | a configured limit (sockets, buffer memory) was reached |
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod callback;
#[cfg(feature = "control")]
#[cfg_attr(docsrs, doc(cfg(feature = "control")))]
pub mod control;
pub mod differences;
mod driver;
mod error;
mod lead;
mod link;
pub mod net;
mod notify;
mod pipe;
mod ports;
pub mod server;
pub mod session;
mod shared;
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub mod tokio_net;

pub use berth_core;
/// Names a socket of a stack in callback events ([`PortEvent`]).
pub use berth_core::handle::SocketHandle;
/// What [`net::TcpStream::info`] returns: a connection's state, RTT,
/// congestion window, queues and counters.
pub use berth_core::stack::TcpInfo;
pub use berth_device;
pub use callback::{PortCtx, PortEvent, PortListener};
pub use driver::{NetStack, NetStackBuilder};
pub use error::to_io_error;
pub use session::{Session, SessionIo};
