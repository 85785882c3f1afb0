//! The mapping from the core's socket errors to the `io::ErrorKind`s std
//! users expect (STYLE.md rule 10): deliberate, one arm per variant.

use std::io;

use berth_core::stack::SocketError;

/// The `io::Error` for a core socket error.
pub fn to_io_error(e: SocketError) -> io::Error {
    let kind = match e {
        // A handle the core no longer knows: the socket is gone.
        SocketError::InvalidHandle => io::ErrorKind::NotConnected,
        SocketError::InvalidInput => io::ErrorKind::InvalidInput,
        SocketError::AddrInUse => io::ErrorKind::AddrInUse,
        SocketError::AddrNotAvailable => io::ErrorKind::AddrNotAvailable,
        SocketError::NotConnected => io::ErrorKind::NotConnected,
        SocketError::BrokenPipe => io::ErrorKind::BrokenPipe,
        SocketError::ConnectionRefused => io::ErrorKind::ConnectionRefused,
        SocketError::ConnectionReset => io::ErrorKind::ConnectionReset,
        SocketError::TimedOut => io::ErrorKind::TimedOut,
        SocketError::HostUnreachable => io::ErrorKind::HostUnreachable,
        SocketError::NetworkUnreachable => io::ErrorKind::NetworkUnreachable,
        SocketError::PermissionDenied => io::ErrorKind::PermissionDenied,
        // EMSGSIZE: the caller passed a datagram that cannot be sent.
        SocketError::MessageTooLong => io::ErrorKind::InvalidInput,
        SocketError::WouldBlock => io::ErrorKind::WouldBlock,
        // ENOBUFS / EMFILE: a configured limit.
        SocketError::LimitReached => io::ErrorKind::OutOfMemory,
    };
    io::Error::new(kind, e)
}
