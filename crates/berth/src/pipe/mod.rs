//! Each TCP stream's own pair of byte queues between the application and
//! the stack thread, so that an application copies data under its stream's
//! lock only, never under the stack's (docs/ARCHITECTURE.md rule 17:
//! per-socket state is reached without one global lock on the data path).
//!
//! The application writes into `tx` and reads from `rx`. The stack thread
//! moves bytes between these queues and the core's connection buffers (it
//! "pumps") when the core reports the connection readable or writable, and
//! when the application asks it to: after a write, or after a read that
//! made room in an `rx` the core could not empty into. Lock order: the
//! stack's lock, then a pipe's; an application thread never takes the
//! stack's lock while it holds a pipe's.
//!
//! Flow control is the core's: `rx` only takes what it has room for, so a
//! reader that falls behind leaves the data in the core's receive buffer
//! and the peer's window closes as it would without the pipe. No RFC.

mod queue;
#[cfg(feature = "tokio")]
mod readiness;

pub(crate) use queue::copy_prefix;
#[cfg(feature = "tokio")]
pub(crate) use readiness::PipeReady;

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::Waker;
#[cfg(feature = "tokio")]
use std::task::{Context, Poll};
use std::time::Instant as StdInstant;

use berth_core::handle::SocketHandle;
use berth_core::stack::{SocketError, Stack};
use berth_core::time::Instant;

#[cfg(feature = "tokio")]
use crate::notify::register;
use queue::ByteQueue;

/// What a pipe asks of the stack when an application call leaves work
/// for it (implemented by `Shared`; the pipe knows nothing else of it).
pub(crate) trait PumpRequest {
    /// Pump the stream now: on the calling thread if the stack is free
    /// (inline transmission), else by the stack thread.
    fn pump_now(&self, h: SocketHandle);
    /// Have the stack thread pump the stream.
    fn pump_later(&self, h: SocketHandle);
    /// Whether this thread may lead the device now (`lead.rs`; a hint).
    fn may_lead(&self) -> bool;
    /// Leads until `woken` (asked under the stack's lock) or `deadline`,
    /// with `mark` giving the stream the waker that rings the leader and
    /// taking it back; `false` if this thread could not lead.
    fn lead(
        &self,
        mark: &dyn Fn(Option<Waker>),
        woken: &dyn Fn() -> bool,
        deadline: Option<StdInstant>,
    ) -> bool;
}

/// Bytes each direction of a pipe holds, on top of the core's buffers.
pub(crate) const PIPE_CAPACITY: usize = 64 * 1024;

/// How many write boundaries a pipe keeps for PSH before it merges
/// neighbours.
const TX_MARKS: usize = 64;

/// Blocking waits on a stream before its thread may lead the device.
const LEAD_AFTER_WAITS: u32 = 2;

/// One stream's queues, shared by its handles and the stack thread.
pub(crate) struct Pipe {
    state: Mutex<PipeState>,
    /// Blocking readers and writers wait here.
    cv: Arc<Condvar>,
    /// Notifies `cv`: put on the list of wake-ups made once the stack's
    /// lock is released (`notify.rs`).
    notify: Waker,
}

struct PipeState {
    /// Received bytes the application has not read yet.
    rx: ByteQueue,
    /// Bytes the application wrote that the core has not taken yet.
    tx: ByteQueue,
    /// Where the application's writes end in `tx`, as counts of bytes
    /// written: each write reaches the core as a write of its own, so
    /// that its last segment carries PSH (as Linux marks each sendmsg).
    tx_marks: VecDeque<u64>,
    /// Bytes ever written to `tx`.
    tx_total: u64,
    /// Bytes ever taken from `tx` by the core.
    tx_taken: u64,
    /// The core delivered the end of stream: reads return 0 after `rx`.
    rx_eof: bool,
    /// The last pump left data in the core for want of room in `rx`.
    rx_starved: bool,
    /// Why reading ended (a reset, a timeout): the core has no more data
    /// for us, and reads fail with it once `rx` is empty.
    read_error: Option<SocketError>,
    /// Why writing ended: writes fail with it at once. Data received before
    /// the failure stays readable.
    write_error: Option<SocketError>,
    /// The connection's failure (a reset, a timeout, an unreachable peer)
    /// has been reported, by whichever of read, write and `take_error`
    /// came first: Linux's `sk_err`, which `sock_error()` clears. After it,
    /// reads return end of stream and writes `BrokenPipe`.
    error_reported: bool,
    /// The application shut the read direction down (`shutdown(Read)`):
    /// reads take what is queued and then return 0 instead of waiting, as
    /// Linux's `RCV_SHUTDOWN` makes them.
    shut_read: bool,
    /// The application shut the write direction down: a FIN follows `tx`.
    shut_write: bool,
    /// That FIN has been handed to the core.
    fin_queued: bool,
    /// Every handle is gone (or the stack is stopping): close once `tx`
    /// is in the core.
    closed: bool,
    /// The stack is stopping: reads end after `rx`, writes fail.
    gone: bool,
    /// An application call wants the stack thread to pump.
    want_pump: bool,
    /// The stream is on the stack thread's list of pipes to pump.
    queued: bool,
    /// Threads blocked on the condition variable: without any, a wake-up
    /// makes no system call.
    sleepers: u32,
    /// A thread blocked on this stream leads the device (`lead.rs`):
    /// what rings it out of its wait (set and taken back under the
    /// stack's lock, by the leader only).
    leading: Option<Waker>,
    /// Wake-ups so far: a leader waits for this to change.
    wakes: u64,
    /// Blocking waits on this stream so far.
    waits: u32,
    read_wakers: Vec<Waker>,
    write_wakers: Vec<Waker>,
}

impl PipeState {
    fn read(&mut self, buf: &mut [u8], peek: bool) -> Result<usize, SocketError> {
        if buf.is_empty() {
            return Ok(0);
        }
        if !self.rx.is_empty() {
            if peek {
                return Ok(self.rx.peek(buf));
            }
            let n = self.rx.read(buf);
            if self.rx_starved {
                // There is room now for what waits in the core.
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

    /// What a read answers once `rx` is empty and something ended it.
    fn end_of_input(&mut self) -> Result<usize, SocketError> {
        if self.rx_eof {
            Ok(0)
        } else if let Some(e) = self.read_error {
            match self.report(e) {
                // Reported already: the stream has ended (Linux's reset
                // shuts both directions down).
                None => Ok(0),
                Some(e) => Err(e),
            }
        } else if self.shut_read {
            // After the end of stream and a pending error, as in Linux's
            // tcp_recvmsg.
            Ok(0)
        } else {
            Err(SocketError::NotConnected)
        }
    }

    /// `e`, unless it is the connection's failure and was reported
    /// already; reporting it now.
    fn report(&mut self, e: SocketError) -> Option<SocketError> {
        if !is_failure(e) {
            return Some(e);
        }
        if self.error_reported {
            return None;
        }
        self.error_reported = true;
        Some(e)
    }

    fn write(&mut self, buf: &[u8]) -> Result<usize, SocketError> {
        self.write_with(buf.len(), |tx| tx.write(buf))
    }

    /// A write of `len` bytes that `put` appends to `tx` (what fits; it
    /// returns how much): one write, for PSH, however many pieces.
    fn write_with(
        &mut self,
        len: usize,
        put: impl FnOnce(&mut ByteQueue) -> usize,
    ) -> Result<usize, SocketError> {
        if let Some(e) = self.write_error {
            // Once the failure is reported, the pipe is broken.
            return Err(self.report(e).unwrap_or(SocketError::BrokenPipe));
        }
        if self.gone {
            return Err(SocketError::NotConnected);
        }
        if self.shut_write {
            return Err(SocketError::BrokenPipe);
        }
        if len == 0 {
            return Ok(0);
        }
        match put(&mut self.tx) {
            0 => Err(SocketError::WouldBlock),
            n => {
                self.want_pump = true;
                self.tx_total += n as u64;
                if self.tx_marks.len() >= TX_MARKS {
                    // Beyond this many writes waiting, neighbours merge
                    // (the core's forced push still marks the stream).
                    self.tx_marks.pop_back();
                }
                self.tx_marks.push_back(self.tx_total);
                Ok(n)
            }
        }
    }

    /// Whether a read would not block.
    fn read_ready(&self) -> bool {
        !self.rx.is_empty()
            || self.rx_eof
            || self.read_error.is_some()
            || self.shut_read
            || self.gone
    }

    /// Whether a write would not block.
    #[cfg(feature = "tokio")]
    fn write_ready(&self) -> bool {
        self.tx.free() > 0 || self.write_error.is_some() || self.gone || self.shut_write
    }
}

/// What a pump made possible: reading (data, the end of stream or an
/// error arrived) and writing (room appeared, or an error).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Pumped {
    pub(crate) read: bool,
    pub(crate) write: bool,
}

impl Pipe {
    pub(crate) fn new() -> Self {
        let cv = Arc::new(Condvar::new());
        Self {
            state: Mutex::new(PipeState {
                rx: ByteQueue::new(PIPE_CAPACITY),
                tx: ByteQueue::new(PIPE_CAPACITY),
                tx_marks: VecDeque::new(),
                tx_total: 0,
                tx_taken: 0,
                rx_eof: false,
                rx_starved: false,
                read_error: None,
                write_error: None,
                error_reported: false,
                shut_read: false,
                shut_write: false,
                fin_queued: false,
                closed: false,
                gone: false,
                want_pump: false,
                queued: false,
                sleepers: 0,
                leading: None,
                wakes: 0,
                waits: 0,
                read_wakers: Vec::new(),
                write_wakers: Vec::new(),
            }),
            notify: crate::notify::notify_all(&cv),
            cv,
        }
    }

    fn lock(&self) -> MutexGuard<'_, PipeState> {
        // The state is plain data, consistent between statements.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Ends an application call: if it asked for a pump, puts the stream on
    /// the stack thread's list (once) and wakes the thread, after the pipe's
    /// lock is released.
    fn finish(&self, mut st: MutexGuard<'_, PipeState>, shared: &dyn PumpRequest, h: SocketHandle) {
        let request = std::mem::take(&mut st.want_pump) && !std::mem::replace(&mut st.queued, true);
        drop(st);
        if request {
            shared.pump_now(h);
        }
    }

    /// Runs `op` on the state until it stops answering `WouldBlock`,
    /// waiting in between (at most until `deadline`); `Err(WouldBlock)` at
    /// the deadline, or at once when `nonblocking`.
    fn blocking<T>(
        &self,
        shared: &dyn PumpRequest,
        h: SocketHandle,
        nonblocking: bool,
        deadline: Option<StdInstant>,
        mut op: impl FnMut(&mut PipeState) -> Result<T, SocketError>,
    ) -> Result<T, SocketError> {
        let mut st = self.lock();
        loop {
            match op(&mut st) {
                Err(SocketError::WouldBlock) if !nonblocking => {
                    let left = deadline.map(|d| d.saturating_duration_since(StdInstant::now()));
                    if left.is_some_and(|l| l.is_zero()) {
                        return Err(SocketError::WouldBlock);
                    }
                    // The device's leader, if the stack lets us: the
                    // segment that unblocks this thread wakes it directly.
                    // Not on a stream's first waits: a short connection
                    // waits once or twice (the request, the peer's FIN),
                    // and handing the device over and back for those costs
                    // more than the hand-off it saves (crr, measured).
                    st.waits = st.waits.saturating_add(1);
                    if st.waits > LEAD_AFTER_WAITS && shared.may_lead() {
                        let seen = st.wakes;
                        drop(st);
                        let led = shared.lead(
                            &|bell| self.lock().leading = bell,
                            &|| self.lock().wakes != seen,
                            deadline,
                        );
                        st = self.lock();
                        if led || st.wakes != seen {
                            continue;
                        }
                    }
                    st.sleepers += 1;
                    st = match left {
                        None => self.cv.wait(st).unwrap_or_else(|p| p.into_inner()),
                        Some(left) => {
                            self.cv
                                .wait_timeout(st, left)
                                .unwrap_or_else(|p| p.into_inner())
                                .0
                        }
                    };
                    st.sleepers -= 1;
                }
                other => {
                    self.finish(st, shared, h);
                    return other;
                }
            }
        }
    }

    /// The async twin of `blocking`: one attempt, and on `WouldBlock` the
    /// task's waker is stored (in the read or write slot) before the lock
    /// goes, so the pump that unblocks it cannot slip in between.
    #[cfg(feature = "tokio")]
    fn poll<T>(
        &self,
        shared: &dyn PumpRequest,
        h: SocketHandle,
        cx: &mut Context<'_>,
        read: bool,
        op: impl FnOnce(&mut PipeState) -> Result<T, SocketError>,
    ) -> Poll<Result<T, SocketError>> {
        let mut st = self.lock();
        match op(&mut st) {
            Err(SocketError::WouldBlock) => {
                let slot = if read {
                    &mut st.read_wakers
                } else {
                    &mut st.write_wakers
                };
                register(slot, cx.waker());
                self.finish(st, shared, h);
                Poll::Pending
            }
            other => {
                self.finish(st, shared, h);
                Poll::Ready(other)
            }
        }
    }

    /// Reads (or peeks at) what has arrived: `Ok(0)` is end of stream.
    pub(crate) fn read(
        &self,
        shared: &dyn PumpRequest,
        h: SocketHandle,
        buf: &mut [u8],
        peek: bool,
        nonblocking: bool,
        deadline: Option<StdInstant>,
    ) -> Result<usize, SocketError> {
        self.blocking(shared, h, nonblocking, deadline, |st| st.read(buf, peek))
    }

    /// Queues `buf` (what fits) for sending.
    pub(crate) fn write(
        &self,
        shared: &dyn PumpRequest,
        h: SocketHandle,
        buf: &[u8],
        nonblocking: bool,
        deadline: Option<StdInstant>,
    ) -> Result<usize, SocketError> {
        self.blocking(shared, h, nonblocking, deadline, |st| st.write(buf))
    }

    #[cfg(feature = "tokio")]
    pub(crate) fn poll_read(
        &self,
        shared: &dyn PumpRequest,
        h: SocketHandle,
        cx: &mut Context<'_>,
        buf: &mut [u8],
        peek: bool,
    ) -> Poll<Result<usize, SocketError>> {
        self.poll(shared, h, cx, true, |st| st.read(buf, peek))
    }

    #[cfg(feature = "tokio")]
    pub(crate) fn poll_write(
        &self,
        shared: &dyn PumpRequest,
        h: SocketHandle,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<Result<usize, SocketError>> {
        self.poll(shared, h, cx, false, |st| st.write(buf))
    }

    #[cfg(feature = "tokio")]
    pub(crate) fn poll_read_ready(
        &self,
        shared: &dyn PumpRequest,
        h: SocketHandle,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), SocketError>> {
        self.poll(shared, h, cx, true, |st| {
            st.read_ready().then_some(()).ok_or(SocketError::WouldBlock)
        })
    }

    #[cfg(feature = "tokio")]
    pub(crate) fn poll_write_ready(
        &self,
        shared: &dyn PumpRequest,
        h: SocketHandle,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), SocketError>> {
        self.poll(shared, h, cx, false, |st| {
            st.write_ready()
                .then_some(())
                .ok_or(SocketError::WouldBlock)
        })
    }

    /// The connection's failure, once (`SO_ERROR`): `core` is what the
    /// core reports now, which the pumps may not have seen yet.
    pub(crate) fn take_error(&self, core: Option<SocketError>) -> Option<SocketError> {
        let mut st = self.lock();
        let failure = [st.read_error, st.write_error, core]
            .into_iter()
            .flatten()
            .find(|&e| is_failure(e))?;
        st.report(failure)
    }

    /// Shuts the read direction down: reads return what is queued, then 0
    /// instead of waiting. A reader blocked now (a thread or a task) wakes
    /// and gets its 0, as on Linux. Nothing is sent: Linux's `SHUT_RD`
    /// does not tell the peer either.
    pub(crate) fn shutdown_read(&self) {
        let mut st = self.lock();
        if st.shut_read {
            return;
        }
        st.shut_read = true;
        let mut wakers = Vec::new();
        let read = Pumped {
            read: true,
            write: false,
        };
        self.wake(st, &read, &mut wakers);
        wakers.into_iter().for_each(Waker::wake);
    }

    /// Shuts the write direction down: the FIN follows what was written.
    /// A writer waiting for room learns of it at once.
    pub(crate) fn shutdown_write(&self, shared: &dyn PumpRequest, h: SocketHandle) {
        let mut st = self.lock();
        if st.shut_write {
            return;
        }
        st.shut_write = true;
        let request = !std::mem::replace(&mut st.queued, true);
        let mut wakers = Vec::new();
        let write = Pumped {
            read: false,
            write: true,
        };
        self.wake(st, &write, &mut wakers);
        wakers.into_iter().for_each(Waker::wake);
        if request {
            shared.pump_later(h);
        }
    }

    /// The application reset the connection (`abort`): reads and writes
    /// fail from now on; whoever waits learns of it.
    pub(crate) fn aborted(&self) {
        let mut st = self.lock();
        st.rx.clear();
        st.tx.clear();
        st.tx_marks.clear();
        st.tx_taken = st.tx_total;
        st.read_error.get_or_insert(SocketError::NotConnected);
        st.write_error.get_or_insert(SocketError::NotConnected);
        let mut wakers = Vec::new();
        let both = Pumped {
            read: true,
            write: true,
        };
        self.wake(st, &both, &mut wakers);
        wakers.into_iter().for_each(Waker::wake);
    }

    /// The last handle is gone; the caller holds the stack's lock. Returns
    /// whether the pipe is done with (the core socket closed at once, as
    /// nothing written waits in `tx`); otherwise the caller puts it on the
    /// stack thread's list, which closes it once `tx` is in the core.
    pub(crate) fn close(&self, stack: &mut Stack, now: Instant, h: SocketHandle) -> bool {
        let mut st = self.lock();
        if st.closed {
            // The stack is stopping and already closes it.
            return false;
        }
        st.closed = true;
        let unread = !st.rx.is_empty() || stack.tcp_info(h).is_ok_and(|i| i.recv_queue > 0);
        if unread {
            // Linux (tcp_close): unread data means a reset at once, and
            // what was still to send is dropped with it.
            st.tx.clear();
            st.tx_marks.clear();
            st.tx_taken = st.tx_total;
            st.tx_marks.clear();
            st.tx_taken = st.tx_total;
        }
        if st.tx.is_empty() || st.write_error.is_some() {
            Self::close_core(&st, stack, now, h);
            return true;
        }
        false
    }

    fn close_core(st: &PipeState, stack: &mut Stack, now: Instant, h: SocketHandle) {
        if !st.rx.is_empty() {
            // Unread data: Linux (tcp_close) resets rather than pretend the
            // data was taken; the core does the same for data it still holds.
            let _ = stack.tcp_abort(h);
        }
        let _ = stack.close(now, h);
    }

    /// The stack is stopping: readers get what `rx` holds and then the
    /// end, writers an error; what was written is still handed over (and
    /// the connection closed) by the pumps of the grace period.
    pub(crate) fn stopping(&self, wakers: &mut Vec<Waker>) {
        let mut st = self.lock();
        st.gone = true;
        st.closed = true;
        let both = Pumped {
            read: true,
            write: true,
        };
        self.wake(st, &both, wakers);
    }

    /// The grace period is over: a connection whose written data could not
    /// all be handed over is reset, so that the peer does not take the cut
    /// stream for a whole one.
    pub(crate) fn abandon(&self, stack: &mut Stack, h: SocketHandle) {
        let st = self.lock();
        if !st.tx.is_empty() {
            let _ = stack.tcp_abort(h);
        }
    }

    /// The stack thread's side: moves bytes between the pipe and the core
    /// (under the stack's lock) and collects the wakers of whoever can go
    /// on. Returns what became possible, or `None` once the pipe is
    /// finished with (its core socket closed after the last handle left).
    pub(crate) fn pump(
        &self,
        stack: &mut Stack,
        now: Instant,
        h: SocketHandle,
        wakers: &mut Vec<Waker>,
    ) -> Option<Pumped> {
        let mut st = self.lock();
        st.queued = false;
        let mut woken = Pumped::default();
        Self::pump_out(&mut st, stack, h, &mut woken);
        if st.closed {
            if st.tx.is_empty() || st.write_error.is_some() {
                Self::close_core(&st, stack, now, h);
                self.wake(st, &woken, wakers);
                return None;
            }
            return Some(Pumped::default());
        }
        // Input goes on after a failure: what arrived before a reset is
        // still read, then the error (as Linux does).
        Self::pump_in(&mut st, stack, h, &mut woken);
        if st.write_error.is_none()
            && let Ok(Some(e)) = stack.tcp_error(h)
        {
            st.write_error = Some(e);
            woken.write = true;
        }
        self.wake(st, &woken, wakers);
        Some(woken)
    }

    /// Application bytes into the core's send buffer, then the FIN.
    fn pump_out(st: &mut PipeState, stack: &mut Stack, h: SocketHandle, woken: &mut Pumped) {
        while st.write_error.is_none() && !st.tx.is_empty() {
            let (chunk, _) = st.tx.slices();
            // Up to the end of the next write.
            let to_mark = st.tx_marks.front().map_or(usize::MAX, |&m| {
                usize::try_from(m - st.tx_taken).unwrap_or(usize::MAX)
            });
            let chunk = chunk.get(..chunk.len().min(to_mark)).unwrap_or(chunk);
            let len = chunk.len();
            match stack.tcp_send(h, chunk) {
                Ok(n) => {
                    st.tx.consume(n);
                    st.tx_taken += n as u64;
                    while st.tx_marks.front().is_some_and(|&m| m <= st.tx_taken) {
                        st.tx_marks.pop_front();
                    }
                    woken.write = true;
                    if n < len {
                        break;
                    }
                }
                Err(SocketError::WouldBlock) => break,
                Err(SocketError::BrokenPipe) => {
                    // The core will send no more (it has sent its FIN).
                    st.tx.clear();
                    st.tx_marks.clear();
                    st.tx_taken = st.tx_total;
                    st.write_error = Some(SocketError::BrokenPipe);
                    st.fin_queued = true;
                    woken.write = true;
                }
                Err(e) => {
                    st.write_error = Some(e);
                    woken.write = true;
                }
            }
        }
        if st.shut_write && !st.fin_queued && st.tx.is_empty() && st.write_error.is_none() {
            let _ = stack.tcp_shutdown_write(h);
            st.fin_queued = true;
        }
    }

    /// Received bytes from the core into `rx`, as far as there is room.
    fn pump_in(st: &mut PipeState, stack: &mut Stack, h: SocketHandle, woken: &mut Pumped) {
        st.rx_starved = false;
        while st.read_error.is_none() && !st.rx_eof {
            let room = st.rx.free_slice();
            if room.is_empty() {
                st.rx_starved = stack.tcp_can_recv(h).unwrap_or(false);
                break;
            }
            match stack.tcp_recv(h, room) {
                Ok(0) => {
                    st.rx_eof = true;
                    woken.read = true;
                }
                Ok(n) => {
                    st.rx.commit(n);
                    woken.read = true;
                }
                Err(SocketError::WouldBlock) => break,
                Err(e) => {
                    st.read_error = Some(e);
                    woken.read = true;
                }
            }
        }
    }

    /// Takes the task wakers `woken` concerns and notifies the blocked
    /// threads, after releasing the lock: a thread woken while the lock is
    /// still held would only wake to wait for it again.
    fn wake(&self, mut st: MutexGuard<'_, PipeState>, woken: &Pumped, wakers: &mut Vec<Waker>) {
        if woken.read {
            wakers.append(&mut st.read_wakers);
        }
        if woken.write {
            wakers.append(&mut st.write_wakers);
        }
        // Blocked threads too, once the caller has let go of the stack.
        if (woken.read || woken.write) && st.sleepers > 0 {
            wakers.push(self.notify.clone());
        }
        if woken.read || woken.write {
            st.wakes += 1;
            if let Some(bell) = &st.leading {
                wakers.push(bell.clone());
            }
        }
    }

    /// Bytes waiting in the pipe: received but not read, written but not
    /// yet in the core.
    pub(crate) fn queued_bytes(&self) -> (usize, usize) {
        let st = self.lock();
        (st.rx.len(), st.tx.len())
    }
}

/// Whether `e` is the connection's own failure (what Linux keeps in
/// `sk_err` and reports once), rather than a state of the socket.
fn is_failure(e: SocketError) -> bool {
    matches!(
        e,
        SocketError::ConnectionReset
            | SocketError::ConnectionRefused
            | SocketError::TimedOut
            | SocketError::HostUnreachable
            | SocketError::NetworkUnreachable
            | SocketError::PermissionDenied
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every way a connection can end is reported once (and then reads
    /// end, writes break); socket states are not.
    #[test]
    fn connection_failures_are_the_ones_reported_once() {
        for e in [
            SocketError::ConnectionReset,
            SocketError::ConnectionRefused,
            SocketError::TimedOut,
            SocketError::HostUnreachable,
            SocketError::NetworkUnreachable,
            SocketError::PermissionDenied,
        ] {
            assert!(is_failure(e), "{e:?}");
        }
        for e in [
            SocketError::BrokenPipe,
            SocketError::NotConnected,
            SocketError::WouldBlock,
        ] {
            assert!(!is_failure(e), "{e:?}");
        }
    }
}
