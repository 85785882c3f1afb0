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
//! unchanged (see `examples/async_axum.rs`). [`server`] is the
//! acceptor/worker helper for blocking servers.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod callback;
mod driver;
mod error;
pub mod net;
mod pipe;
pub mod server;
mod shared;
#[cfg(feature = "tokio")]
pub mod tokio_net;

pub use berth_core;
pub use berth_device;
pub use callback::{PortCtx, PortEvent, PortListener};
pub use driver::{NetStack, NetStackBuilder};
pub use error::to_io_error;
