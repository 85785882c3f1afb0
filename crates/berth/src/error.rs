//! The mapping from the core's socket errors to the `io::ErrorKind`s std
//! users expect (docs/ARCHITECTURE.md rule 10): deliberate, one arm per
//! variant.

use std::io;

use berth_core::stack::SocketError;

/// The `io::Error` for a core socket error, with the kind std gives on
/// Linux (the [crate documentation](crate#errors-as-std-on-linux) has the
/// table): for code that calls the core directly, through
/// [`NetStack::with_stack`](crate::NetStack::with_stack) or
/// `berth_core::stack::Stack` itself.
///
/// # Examples
///
/// ```
/// use std::io::ErrorKind;
/// use berth::{berth_core::stack::SocketError, to_io_error};
///
/// assert_eq!(to_io_error(SocketError::ConnectionRefused).kind(), ErrorKind::ConnectionRefused);
/// assert_eq!(to_io_error(SocketError::MessageTooLong).kind(), ErrorKind::InvalidInput);
/// assert_eq!(to_io_error(SocketError::LimitReached).kind(), ErrorKind::OutOfMemory);
/// ```
pub fn to_io_error(e: SocketError) -> io::Error {
    // The everyday one (a read or write with nothing to do, several times
    // an exchange on the callback path) is the bare kind: no allocation.
    if e == SocketError::WouldBlock {
        return io::ErrorKind::WouldBlock.into();
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn would_block_is_the_bare_kind_and_the_rest_carry_the_cause() {
        let e = to_io_error(SocketError::WouldBlock);
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
        // Nothing boxed inside: built without an allocation.
        assert!(e.get_ref().is_none());
        let e = to_io_error(SocketError::ConnectionReset);
        assert_eq!(e.kind(), io::ErrorKind::ConnectionReset);
        assert!(e.get_ref().is_some());
    }
}
