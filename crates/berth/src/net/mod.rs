//! Blocking sockets with `std::net`'s names and semantics: [`TcpListener`],
//! [`TcpStream`] (with `Read`/`Write` for the stream and for `&TcpStream`),
//! [`UdpSocket`]. Timeouts (`set_read_timeout`, `set_write_timeout`) expire
//! with `WouldBlock`, as std's do on Unix.

pub(crate) mod socket;
mod tcp;
pub(crate) mod udp;

pub use tcp::{Incoming, TcpListener, TcpStream};
pub use udp::UdpSocket;

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

/// The first address `addr` resolves to (numeric addresses only: berth has
/// no resolver of its own, and std's would use the host's network).
pub(crate) fn first_addr(addr: impl ToSocketAddrs) -> io::Result<SocketAddr> {
    addr.to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address to use"))
}
