//! The readiness and vectored operations of a TCP stream and its halves,
//! as tokio's: `ready`, `try_io`, `async_io`, `try_read_vectored`,
//! `try_read_buf` and `try_write_vectored`. Readiness is the stream's state
//! now (level-triggered): it may be gone by the time the task acts, and a
//! `try_*` call then answers `WouldBlock`, as tokio allows.

use std::future::poll_fn;
use std::io;
use std::task::{Context, Poll, ready};

use tokio::io::{Interest, Ready};

use crate::net::socket::SocketRef;
use crate::tokio_net::buf::{put_parts, scatter};
use crate::tokio_net::ready::{ready_for, slots};

pub(super) fn poll_ready(
    sock: &SocketRef,
    cx: &mut Context<'_>,
    interest: Interest,
) -> Poll<io::Result<Ready>> {
    let (read, write) = slots(interest);
    let state = ready!(sock.poll_stream_ready(cx, read, write, |st| {
        !ready_for(st, interest).is_empty()
    }))?;
    Poll::Ready(Ok(ready_for(state, interest)))
}

pub(super) async fn ready(sock: &SocketRef, interest: Interest) -> io::Result<Ready> {
    poll_fn(|cx| poll_ready(sock, cx, interest)).await
}

pub(super) fn try_io<R>(
    sock: &SocketRef,
    interest: Interest,
    f: impl FnOnce() -> io::Result<R>,
) -> io::Result<R> {
    if ready_for(sock.stream_ready()?, interest).is_empty() {
        return Err(io::ErrorKind::WouldBlock.into());
    }
    f()
}

pub(super) async fn async_io<R>(
    sock: &SocketRef,
    interest: Interest,
    mut f: impl FnMut() -> io::Result<R>,
) -> io::Result<R> {
    let (read, write) = slots(interest);
    poll_fn(|cx| {
        ready!(poll_ready(sock, cx, interest))?;
        // Wait for the next event from here on: one that comes between a
        // `WouldBlock` from `f` and the wait is not lost.
        let _ = sock.poll_stream_ready(cx, read, write, |_| false);
        match f() {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Poll::Pending,
            r => Poll::Ready(r),
        }
    })
    .await
}

pub(super) fn try_read_vectored(
    sock: &SocketRef,
    bufs: &mut [io::IoSliceMut<'_>],
) -> io::Result<usize> {
    let want = bufs.iter().map(|b| b.len()).sum();
    sock.try_read_with(want, |a, b| scatter(bufs, [a, b]))
}

pub(super) fn try_read_buf<B: bytes::BufMut>(sock: &SocketRef, buf: &mut B) -> io::Result<usize> {
    // As much as the buffer's next chunk holds, as tokio reads.
    let want = buf.chunk_mut().len();
    sock.try_read_with(want, |a, b| put_parts(buf, want, [a, b]))
}

pub(super) fn try_write_vectored(sock: &SocketRef, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
    sock.try_write_vectored(bufs)
}
