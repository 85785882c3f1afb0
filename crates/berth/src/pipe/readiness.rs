//! What tokio's calls need of a stream's pipe (feature `tokio`): its
//! readiness (`ready()`), reads that copy through a closure (vectored
//! reads, `BufMut`), and vectored writes, each as one read or write. No
//! RFC.

use std::task::{Context, Poll};

use berth_core::handle::SocketHandle;
use berth_core::stack::SocketError;

use super::PumpRequest;
use super::{Pipe, PipeState, is_failure};
use crate::notify::register;

/// What a stream is ready for (tokio's `ready()`): reading (data, the end
/// or an error), the read side closed (the end or a failure arrived),
/// writing (room or an error), the write side closed (a failure), and a
/// failure not yet reported (`SO_ERROR`, Linux's `EPOLLERR`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PipeReady {
    pub(crate) readable: bool,
    pub(crate) read_closed: bool,
    pub(crate) writable: bool,
    pub(crate) write_closed: bool,
    pub(crate) error: bool,
}

impl PipeState {
    /// A read that hands the received bytes to `take` (the queue's two
    /// contiguous parts, oldest first), which copies what it wants and
    /// returns how much: that much is consumed. `want` is how much `take`
    /// has room for.
    fn read_with(
        &mut self,
        want: usize,
        take: impl FnOnce(&[u8], &[u8]) -> usize,
    ) -> Result<usize, SocketError> {
        if want == 0 {
            return Ok(0);
        }
        if !self.rx.is_empty() {
            let (a, b) = self.rx.slices();
            let n = take(a, b);
            self.rx.consume(n);
            if self.rx_starved {
                self.rx_starved = false;
                self.want_pump = true;
            }
            return Ok(n);
        }
        if self.read_ready() {
            self.end_of_input()
        } else {
            Err(SocketError::WouldBlock)
        }
    }

    /// What the stream is ready for now.
    fn ready(&self) -> PipeReady {
        let failure = [self.read_error, self.write_error]
            .into_iter()
            .flatten()
            .any(is_failure);
        PipeReady {
            readable: self.read_ready(),
            read_closed: self.rx_eof || self.read_error.is_some() || self.gone,
            writable: self.write_ready(),
            write_closed: self.write_error.is_some() || self.gone,
            error: failure && !self.error_reported,
        }
    }
}

impl Pipe {
    /// Reads without waiting through `take` (see `PipeState::read_with`).
    pub(crate) fn try_read_with(
        &self,
        shared: &dyn PumpRequest,
        h: SocketHandle,
        want: usize,
        take: impl FnOnce(&[u8], &[u8]) -> usize,
    ) -> Result<usize, SocketError> {
        let mut st = self.lock();
        let r = st.read_with(want, take);
        self.finish(st, shared, h);
        r
    }

    /// Writes the slices of `bufs` (what fits, in order) without waiting,
    /// as one write.
    pub(crate) fn try_write_vectored(
        &self,
        shared: &dyn PumpRequest,
        h: SocketHandle,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Result<usize, SocketError> {
        let len = bufs.iter().map(|b| b.len()).sum();
        let mut st = self.lock();
        let r = st.write_with(len, |tx| {
            let mut n = 0;
            for b in bufs {
                let k = tx.write(b);
                n += k;
                if k < b.len() {
                    break;
                }
            }
            n
        });
        self.finish(st, shared, h);
        r
    }

    /// What the stream is ready for now.
    pub(crate) fn ready_now(&self) -> PipeReady {
        self.lock().ready()
    }

    /// What the stream is ready for, if `accept` takes it; otherwise the
    /// task waits in the read slot (`read`) and the write slot (`write`)
    /// for the next pump that makes something possible.
    pub(crate) fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        read: bool,
        write: bool,
        accept: impl FnOnce(PipeReady) -> bool,
    ) -> Poll<PipeReady> {
        let mut st = self.lock();
        let ready = st.ready();
        if accept(ready) {
            return Poll::Ready(ready);
        }
        if read {
            register(&mut st.read_wakers, cx.waker());
        }
        if write {
            register(&mut st.write_wakers, cx.waker());
        }
        Poll::Pending
    }
}
