//! tokio's readiness types for berth's sockets: what a socket is ready for
//! as a [`tokio::io::Ready`], limited to an [`Interest`] the way tokio
//! limits a readiness event (readable brings read-closed along, writable
//! write-closed, priority read-closed), and which of a socket's wait slots
//! an interest waits in. No RFC.

use tokio::io::{Interest, Ready};

use crate::pipe::PipeReady;

/// `state` as tokio's `Ready`, limited to `interest`.
pub(crate) fn ready_for(state: PipeReady, interest: Interest) -> Ready {
    let mut ready = Ready::EMPTY;
    let mut add = |on: bool, r: Ready| {
        if on {
            ready |= r;
        }
    };
    if interest.is_readable() {
        add(state.readable, Ready::READABLE);
        add(state.read_closed, Ready::READ_CLOSED);
    }
    if interest.is_writable() {
        add(state.writable, Ready::WRITABLE);
        add(state.write_closed, Ready::WRITE_CLOSED);
    }
    if interest.is_error() {
        add(state.error, Ready::ERROR);
    }
    // No socket of berth has urgent data: priority interest sees only the
    // close, as tokio reports it.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if interest.is_priority() {
        add(state.read_closed, Ready::READ_CLOSED);
    }
    ready
}

/// The wait slots `interest` waits in: (read, write). An error wakes
/// both.
pub(crate) fn slots(interest: Interest) -> (bool, bool) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let priority = interest.is_priority();
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let priority = false;
    (
        interest.is_readable() || interest.is_error() || priority,
        interest.is_writable() || interest.is_error(),
    )
}
