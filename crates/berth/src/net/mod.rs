//! Blocking sockets with `std::net`'s names and semantics: [`TcpListener`],
//! [`TcpStream`] (with `Read`/`Write` for the stream and for `&TcpStream`),
//! [`UdpSocket`]. Timeouts (`set_read_timeout`, `set_write_timeout`) expire
//! with `WouldBlock`, as std's do on Unix. Addresses are what
//! [`ToSocketAddrs`] takes: std's forms, but no name goes to the host's
//! resolver.

mod addr;
pub(crate) mod socket;
mod tcp;
pub(crate) mod udp;

pub use tcp::{Incoming, TcpListener, TcpStream};
pub use udp::UdpSocket;

pub use addr::ToSocketAddrs;
#[cfg(feature = "tokio")]
pub(crate) use addr::no_addresses;
pub(crate) use addr::{each_addr, first_addr};
