//! Async sockets with `tokio::net`'s names and semantics (feature `tokio`):
//! [`TcpListener`], [`TcpStream`] (with `AsyncRead`/`AsyncWrite`, borrowed
//! and owned halves in [`tcp`]), [`TcpSocket`] (options and a bind before
//! `connect` or `listen`), [`UdpSocket`]. Readiness is tokio's
//! `Interest`/`Ready` (`ready()`, `try_io()`). Every async operation has a
//! `poll_*` twin; the only difference from tokio is the stack handle in the
//! constructors. They run on any executor: the stack thread wakes the task
//! through the `Waker` it parked with, so no tokio reactor is needed (the
//! crate only uses tokio's I/O traits). On a tokio runtime with its I/O
//! driver, spawning [`lead_device`] once lets the runtime read the stack's
//! device itself, so a segment wakes the task's thread directly (about
//! 1.4x the request/response rate on one core). Hyper or axum run unchanged over
//! `hyper_util::rt::TokioIo<TcpStream>`. With the `axum` feature,
//! [`TcpListener`] implements axum 0.8's `axum::serve::Listener`, so
//! `axum::serve(listener, app)` takes it as it takes tokio's (its docs show
//! `ConnectInfo<SocketAddr>` and a graceful shutdown).
//!
//! Addresses are what [`ToSocketAddrs`] takes (`"198.18.0.2:80"`,
//! `SocketAddr`, `localhost`): berth never asks the host's resolver, which
//! would use the host's network. Timeouts are the
//! runtime's (`tokio::time::timeout`); a connect that is never answered
//! fails with `TimedOut` after the SYN retries, as on Linux.
//!
//! # Examples
//!
//! An echo server and a client, on two stacks joined in memory:
//!
//! ```
//! use berth::{NetStack, tokio_net::{TcpListener, TcpStream}};
//! use berth_device::{channel::ChannelDevice, Medium};
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
//! let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
//! let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
//!
//! let listener = TcpListener::bind(&server, "198.18.0.2:7").await?;
//! tokio::spawn(async move {
//!     let (mut stream, _peer) = listener.accept().await?;
//!     let (mut rd, mut wr) = stream.split();
//!     tokio::io::copy(&mut rd, &mut wr).await?;
//!     std::io::Result::Ok(())
//! });
//!
//! let mut stream = TcpStream::connect(&client, "198.18.0.2:7").await?;
//! stream.write_all(b"hello").await?;
//! stream.shutdown().await?; // FIN: the echo loop ends
//! let mut back = Vec::new();
//! stream.read_to_end(&mut back).await?;
//! assert_eq!(back, b"hello");
//! # Ok(())
//! # }
//! ```

#[cfg(feature = "axum")]
mod axum;
mod buf;
mod echo;
mod forward;
mod lead;
mod ready;
pub mod tcp;
mod udp;

pub use echo::{EchoRequest, IcmpEchoSocket};
pub use forward::TcpForwarder;
pub use lead::lead_device;
pub use tcp::{TcpListener, TcpSocket, TcpStream};
pub use udp::UdpSocket;

pub use crate::net::{TcpKeepalive, ToSocketAddrs};
