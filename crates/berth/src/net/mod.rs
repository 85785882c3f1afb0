//! Blocking sockets with `std::net`'s names and semantics: [`TcpListener`],
//! [`TcpStream`] (with `Read`/`Write` for the stream and for `&TcpStream`),
//! [`UdpSocket`], and the options std leaves to socket2, with socket2's
//! names (`set_mss`, `set_cork`, `set_tos_v4`, `set_tclass_v6`,
//! `set_keepalive`, `set_tcp_keepalive` with a [`TcpKeepalive`]). Timeouts (`set_read_timeout`, `set_write_timeout`) expire
//! with `WouldBlock`, as std's do on Unix. Addresses are what
//! [`ToSocketAddrs`] takes: std's forms, but no name goes to the host's
//! resolver.
//!
//! # Examples
//!
//! Every stack reaches itself over loopback, without its device:
//!
//! ```
//! use std::io::{Read, Write};
//! use berth::{NetStack, net::{TcpListener, TcpStream, UdpSocket}};
//! use berth_device::{channel::ChannelDevice, Medium};
//!
//! let (device, _other_end) = ChannelDevice::pair(1500, Medium::Ip)?;
//! let stack = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(device)?;
//!
//! let listener = TcpListener::bind(&stack, "127.0.0.1:8080")?;
//! let mut c = TcpStream::connect(&stack, "localhost:8080")?;
//! let (mut s, _) = listener.accept()?;
//! c.write_all(b"over loopback")?;
//! let mut buf = [0; 13];
//! s.read_exact(&mut buf)?;
//!
//! let a = UdpSocket::bind(&stack, "127.0.0.1:0")?;
//! let b = UdpSocket::bind(&stack, "127.0.0.1:0")?;
//! a.send_to(b"datagram", b.local_addr()?)?;
//! let (n, from) = b.recv_from(&mut buf)?;
//! assert_eq!((&buf[..n], from), (&b"datagram"[..], a.local_addr()?));
//! # std::io::Result::Ok(())
//! ```

mod addr;
mod forward;
pub(crate) mod socket;
pub(crate) mod sockopt;
mod tcp;
pub(crate) mod udp;

pub use forward::{SynRefusal, SynRequest, TcpForwarder};
pub use sockopt::TcpKeepalive;
pub use tcp::{Incoming, TcpListener, TcpStream};
pub use udp::UdpSocket;

pub use addr::ToSocketAddrs;
#[cfg(feature = "tokio")]
pub(crate) use addr::no_addresses;
pub(crate) use addr::{each_addr, first_addr};
