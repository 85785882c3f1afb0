//! The state the stack thread and the application threads share: the core
//! `Stack` behind one mutex, the waiter slots of each socket (a condition
//! variable for blocking threads, task wakers for async readers and
//! writers), the pipes of the TCP streams (their data moves between the
//! application and the stack through them, see `pipe`, so that no
//! application copies data under this mutex), and the waker that tells the
//! stack thread there is work (docs/ARCHITECTURE.md rule 16: every user
//! call that can produce output gets it out).
//!
//! No wake-up is lost: a caller registers itself (waits on the condition
//! variable, or stores its task waker) while still holding the lock under
//! which its attempt failed, and whoever drains the core's events collects
//! the wake-ups under the same lock and carries them out once it is gone.
//!
//! # Locks: the runtime's one list
//!
//! In the order they may be taken (a lock is only ever taken while holding
//! locks above it in this list, never below):
//!
//! 1. **The handlers** (`callback.rs`, one per stack): `listen_with` and a
//!    dropped `PortListener` take it, then the stack's. The stack thread
//!    takes a handler *out* under it and runs the handler with no lock
//!    held.
//! 2. **The stack** (`Shared::lock`: the core, the pipes map, the waiters,
//!    the callback ports). Held by the stack thread for a turn (device
//!    input, timers, pumps, output), by an application call for one core
//!    operation, and by an application thread that transmits inline
//!    (`pump_inline`, taken with `try_lock` only: it never waits for it).
//! 3. **The device** (`link.rs`): only ever taken with the stack's held, so
//!    whoever holds the stack's gets it at once.
//! 4. **A pipe** (`pipe`, one per stream): an application copies data under
//!    it alone; the stack's holder takes it to pump. An application thread
//!    never takes the stack's lock while it holds a pipe's (it lets go, then
//!    asks for a pump).
//! 5. Leaves, taken with nothing else needed after them: the pending-pump
//!    list (`Shared::pending`), a socket's options, the thread-local
//!    buffers.
//!
//! Never held across: user code (handlers, sessions: none held); a wake-up
//! (threads and tasks are woken after the stack's lock is released, or a
//! woken thread on the same CPU runs at once and finds the stack busy);
//! a blocking wait (a condition-variable wait releases the lock it waits
//! on; the stack thread sleeps in `epoll` and a leader in `poll` on the
//! device, `lead.rs`, both holding nothing). Device reads and writes are
//! made under the stack's and the device's locks, by the stack thread or
//! by an application thread (inline transmit, a leader's turn); moving
//! the device in or out of the stack thread's `epoll` under the stack's.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, TryLockError};
use std::task::Waker;
use std::time::{Duration, Instant as StdInstant};

use berth_core::handle::{HandleMap, SocketHandle};
use berth_core::stack::{Readiness, SocketError, Stack};
use berth_core::time::Instant;

use crate::lead::{Lead, LeadingHere};
use crate::link::{Link, ReadPolicy, Received, receive, transmit};
use crate::pipe::Pipe;

/// Who waits on one socket.
pub(crate) struct Waiters {
    /// Blocking threads (readers and writers alike) wait here.
    pub(crate) cv: Arc<Condvar>,
    /// Notifies `cv`, for the list of wake-ups made after the lock is gone.
    notify: Waker,
    /// Threads blocked on `cv` now: without any, nothing is notified.
    pub(crate) sleepers: usize,
    /// Async tasks waiting to read, accept or see the connection end.
    pub(crate) read: Vec<Waker>,
    /// Async tasks waiting to write or for a connect to complete.
    pub(crate) write: Vec<Waker>,
}

impl Default for Waiters {
    fn default() -> Self {
        let cv = Arc::new(Condvar::new());
        Self {
            notify: crate::notify::notify_all(&cv),
            cv,
            sleepers: 0,
            read: Vec::new(),
            write: Vec::new(),
        }
    }
}

impl Waiters {
    /// Moves the wake-ups of the blocked threads and of the tasks that
    /// `readiness` concerns into `out`, to be woken once the lock is gone.
    pub(crate) fn wake(&mut self, readiness: Readiness, out: &mut Vec<Waker>) {
        if self.sleepers > 0 {
            out.push(self.notify.clone());
        }
        let read = [
            Readiness::READABLE,
            Readiness::ACCEPTABLE,
            Readiness::CONNECTED,
            Readiness::CLOSED,
        ]
        .iter()
        .any(|&r| readiness.contains(r));
        let write = [Readiness::WRITABLE, Readiness::CONNECTED, Readiness::CLOSED]
            .iter()
            .any(|&r| readiness.contains(r));
        if read {
            out.append(&mut self.read);
        }
        if write {
            out.append(&mut self.write);
        }
    }

    /// Wakes everyone (the stack is going away).
    pub(crate) fn wake_all(&mut self, out: &mut Vec<Waker>) {
        if self.sleepers > 0 {
            out.push(self.notify.clone());
        }
        out.append(&mut self.read);
        out.append(&mut self.write);
    }
}

#[cfg(feature = "tokio")]
pub(crate) use crate::notify::register;

pub(crate) struct Inner {
    pub(crate) stack: Stack,
    /// The byte queues of the TCP streams the application holds.
    pub(crate) pipes: HandleMap<Arc<Pipe>>,
    /// The waiters of each socket someone waits on.
    pub(crate) waiters: HandleMap<Waiters>,
    /// Sockets whose send found the stack's output queue full (UDP): their
    /// writers are woken once the stack thread has drained it.
    pub(crate) out_waiters: Vec<SocketHandle>,
    /// The owner dropped the `NetStack`: close everything and stop.
    pub(crate) shutdown: bool,
    /// Ports served by callbacks instead of waiting threads.
    pub(crate) callbacks: crate::ports::CallbackPorts,
    /// How many frames a turn reads from the device, from what the reads
    /// and [`Inner::flush`]es since the last one moved (whoever ran them).
    pub(crate) reads: ReadPolicy,
}

impl Inner {
    /// At the start of a turn that reads a device watched level-triggered
    /// (the stack thread's `epoll`, a leader's `poll`), `reported` saying
    /// whether the wait found it readable: how many frames to read
    /// ([`ReadPolicy`]).
    pub(crate) fn read_limit(
        &mut self,
        device: &dyn berth_device::Device,
        reported: bool,
    ) -> usize {
        self.reads.limit(reported, device.poll_at().is_some())
    }

    /// After the stack thread has drained the output queue: wakes the
    /// writers that found it full, then pumps the pipes of the sockets that
    /// have events and wakes whoever waits on them. Task wakers are moved
    /// into `wakers`, to be woken once the lock is gone. Returns whether
    /// there was any event (a pump may have queued output).
    pub(crate) fn wake_waiters(&mut self, now: Instant, wakers: &mut Vec<Waker>) -> bool {
        for h in std::mem::take(&mut self.out_waiters) {
            if let Some(w) = self.waiters.get_mut(&h) {
                w.wake(Readiness::WRITABLE, wakers);
            }
        }
        let mut any = false;
        while let Some(ev) = self.stack.poll_event() {
            any = true;
            // Callback ports hear of it in this turn (`ports.rs`).
            if self.callbacks.on_event(&mut self.stack, ev) {
                continue;
            }
            self.pump(ev.handle, now, wakers);
            if let Some(w) = self.waiters.get_mut(&ev.handle) {
                w.wake(ev.readiness, wakers);
            }
        }
        any
    }

    /// Writes the core's output to `device` and hands readiness to the
    /// waiters: events pump pipes, and pumps make output (data taken from a
    /// pipe, window updates), which makes events, so a few rounds.
    pub(crate) fn flush(
        &mut self,
        now: Instant,
        device: &mut dyn berth_device::Device,
        buf: &mut [u8],
        wakers: &mut Vec<Waker>,
    ) {
        for _ in 0..4 {
            self.reads
                .wrote(transmit(&mut self.stack, device, now, buf));
            if !self.wake_waiters(now, wakers) {
                break;
            }
        }
        self.reads
            .wrote(transmit(&mut self.stack, device, now, buf));
    }

    /// The last handle of stream `h` is gone: closes it now, or (when what
    /// was written still waits in its pipe) returns `true` for the caller
    /// to put it on the stack thread's list once this lock is released.
    pub(crate) fn close_stream(&mut self, h: SocketHandle, now: Instant) -> bool {
        self.waiters.remove(&h);
        match self.pipes.get(&h) {
            Some(pipe) => {
                if pipe.close(&mut self.stack, now, h) {
                    self.pipes.remove(&h);
                    false
                } else {
                    true
                }
            }
            None => {
                let _ = self.stack.close(now, h);
                false
            }
        }
    }

    /// Pumps the pipes the application asked for.
    pub(crate) fn pump_all(
        &mut self,
        handles: &[SocketHandle],
        now: Instant,
        wakers: &mut Vec<Waker>,
    ) {
        for &h in handles {
            self.pump(h, now, wakers);
        }
    }

    /// Pumps `h`'s pipe, if it has one.
    pub(crate) fn pump(&mut self, h: SocketHandle, now: Instant, wakers: &mut Vec<Waker>) {
        let Some(pipe) = self.pipes.get(&h) else {
            return;
        };
        if pipe.pump(&mut self.stack, now, h, wakers).is_none() {
            self.pipes.remove(&h);
        }
    }

    /// The stack is stopping: every stream is closed from its side. Readers
    /// get what their pipe holds, writers an error; what was written is
    /// still handed over by the pumps of the grace period, then each
    /// connection closes (FIN). Other sockets close at once.
    pub(crate) fn begin_stop(&mut self, now: Instant, wakers: &mut Vec<Waker>) {
        let handles: Vec<SocketHandle> = self.pipes.keys().copied().collect();
        for pipe in self.pipes.values() {
            pipe.stopping(wakers);
        }
        self.pump_all(&handles, now, wakers);
        // Callback connections hear of it (`PortEvent::Stopping`) and end
        // as their handler decides: a half-sent response is reset.
        let handled = self.callbacks.stop(&self.stack);
        for h in self.stack.sockets() {
            if !self.pipes.contains_key(&h) && !handled.contains(&h) {
                let _ = self.stack.close(now, h);
            }
        }
    }

    /// The grace period is over: connections whose written data is not all
    /// handed over are reset (the peer must not take a cut stream for a
    /// whole one); everyone still waiting is woken.
    pub(crate) fn end_stop(&mut self, wakers: &mut Vec<Waker>) {
        for (h, pipe) in self.pipes.drain() {
            pipe.abandon(&mut self.stack, h);
            pipe.stopping(wakers);
        }
        // What has not settled (data or a FIN not acknowledged, a handler
        // that never closed) is reset: the peer must not wait for more,
        // nor take what it got for all there was.
        for h in self.stack.sockets() {
            if self.stack.tcp_state(h).is_ok_and(|s| !s.is_settled()) {
                let _ = self.stack.tcp_abort(h);
            }
        }
        for w in self.waiters.values_mut() {
            w.wake_all(wakers);
        }
    }
}

thread_local! {
    /// The frame buffer of an application thread that transmits inline.
    static INLINE_BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    /// The pump list a leading thread takes over (kept, so it does not
    /// allocate once warm).
    static PENDING: RefCell<Vec<SocketHandle>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with this thread's frame buffer, long enough for `link`.
fn with_inline_buf<T>(link: &Link, f: impl FnOnce(&mut [u8]) -> T) -> T {
    INLINE_BUF.with(|cell| {
        let mut buf = cell.borrow_mut();
        if buf.len() < link.frame_len {
            buf.resize(link.frame_len, 0);
        }
        f(&mut buf)
    })
}

impl crate::pipe::PumpRequest for Shared {
    fn pump_now(&self, h: SocketHandle) {
        if !self.pump_inline(h) {
            self.request_pump(h);
        }
    }

    fn pump_later(&self, h: SocketHandle) {
        self.request_pump(h);
    }

    fn may_lead(&self) -> bool {
        Self::may_lead(self)
    }

    fn lead(
        &self,
        mark: &dyn Fn(Option<Waker>),
        woken: &dyn Fn() -> bool,
        deadline: Option<StdInstant>,
    ) -> bool {
        Self::lead(self, mark, woken, deadline)
    }
}

/// Runs its closure when dropped, unless taken out first.
struct OnDrop<F: FnMut()>(Option<F>);

impl<F: FnMut()> Drop for OnDrop<F> {
    fn drop(&mut self) {
        if let Some(mut f) = self.0.take() {
            f();
        }
    }
}

/// What a leader's turn found on the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LedTurn {
    /// It read everything the device had.
    Drained,
    /// It read a whole batch: the device may hold more.
    Full,
    /// The device failed.
    Failed,
}

pub(crate) struct Shared {
    inner: Mutex<Inner>,
    /// Streams whose application side wants the stack thread to pump their
    /// pipe (taken without the stack's lock).
    pending: Mutex<Vec<SocketHandle>>,
    /// The device (none in tests that play the stack thread themselves).
    pub(crate) link: Option<Link>,
    /// A timer the stack thread waits on with its device: an application
    /// thread that moved a deadline before the stack thread's sleep arms
    /// it instead of waking the thread (`pump_inline`).
    pub(crate) timer: Option<berth_device::Timer>,
    /// Until when the stack thread sleeps, in the core's microseconds
    /// (`u64::MAX`: until woken); written under the stack's lock.
    sleep_until: AtomicU64,
    /// The `sleep_until` a leaving leader armed the timer for (the grace,
    /// `lead.rs`); `u64::MAX` if none.
    grace_timer: AtomicU64,
    waker: mio::Waker,
    epoch: StdInstant,
    /// The device's loan to a blocked application thread (`lead.rs`);
    /// none without a device descriptor or a timer.
    pub(crate) lead: Option<Lead>,
}

impl Shared {
    pub(crate) fn new(
        stack: Stack,
        waker: mio::Waker,
        link: Option<Link>,
        timer: Option<berth_device::Timer>,
        lead: Option<Lead>,
    ) -> Self {
        Self {
            lead: lead.filter(|_| link.is_some() && timer.is_some()),
            inner: Mutex::new(Inner {
                stack,
                pipes: HandleMap::default(),
                waiters: HandleMap::default(),
                out_waiters: Vec::new(),
                shutdown: false,
                callbacks: crate::ports::CallbackPorts::default(),
                reads: ReadPolicy::default(),
            }),
            pending: Mutex::new(Vec::new()),
            link,
            timer,
            sleep_until: AtomicU64::new(u64::MAX),
            grace_timer: AtomicU64::new(u64::MAX),
            waker,
            epoch: StdInstant::now(),
        }
    }

    /// After `Inner::close_stream`, with the stack's lock still held: what
    /// the close queued (the FIN, or the reset) leaves on this thread when
    /// it can, as a write's output does (`flush_inline`), so that a close
    /// costs the stack thread no wake-up; the rest of what was written is
    /// handed to the stack thread (`more`).
    pub(crate) fn after_close(&self, inner: MutexGuard<'_, Inner>, h: SocketHandle, more: bool) {
        // The device loaned and nobody leading: the thread that led last
        // is likely this one, done with its stream; the device goes back
        // to the stack thread now rather than after the grace.
        if self.lead.as_ref().is_some_and(Lead::release) {
            self.disarm_grace(&inner);
        }
        if more {
            drop(inner);
            self.request_pump(h);
        } else if let Err(inner) = self.flush_inline(inner) {
            drop(inner);
            self.kick();
        }
    }

    /// The stack thread goes to sleep until `deadline` (the caller holds
    /// the stack's lock).
    pub(crate) fn sleeping_until(&self, deadline: Option<Instant>) {
        self.sleep_until.store(
            deadline.map_or(u64::MAX, Instant::total_micros),
            Ordering::Relaxed,
        );
    }

    /// Pumps `h`'s pipe on the calling (application) thread and writes
    /// what that produced to the device, when the stack is free: a write
    /// leaves without waking the stack thread, and a read that made room
    /// sends its window update the same way. `false` when the stack is busy:
    /// the caller then asks the stack thread.
    pub(crate) fn pump_inline(&self, h: SocketHandle) -> bool {
        if self.link.is_none() {
            return false;
        }
        let inner = match self.inner.try_lock() {
            Ok(inner) => inner,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => return false,
        };
        self.pump_locked(inner, h);
        true
    }

    /// `pump_inline` with the stack's lock already held: pumps `h`'s pipe
    /// and flushes on this thread, or (no device, or the stack stopping)
    /// asks the stack thread to.
    pub(crate) fn pump_locked(&self, mut inner: MutexGuard<'_, Inner>, h: SocketHandle) {
        if self.link.is_none() || inner.shutdown {
            drop(inner);
            self.request_pump(h);
            return;
        }
        let now = self.now();
        let mut wakers = Vec::new();
        inner.pump(h, now, &mut wakers);
        if let Err(inner) = self.flush_with(inner, now, wakers) {
            drop(inner);
            self.kick();
        }
    }

    /// With the stack's lock held (by an application thread): writes the
    /// core's output to the device on this thread, hands readiness to the
    /// waiters, and releases the lock. The stack thread is woken only if
    /// this moved a deadline before its sleep or left work only it does
    /// (callback events). The lock comes back, untouched, when there is no
    /// device or the stack is stopping: the stack thread must do it.
    pub(crate) fn flush_inline<'a>(
        &'a self,
        inner: MutexGuard<'a, Inner>,
    ) -> Result<(), MutexGuard<'a, Inner>> {
        if self.link.is_none() || inner.shutdown {
            return Err(inner);
        }
        let now = self.now();
        self.flush_with(inner, now, Vec::new())
    }

    fn flush_with<'a>(
        &'a self,
        mut inner: MutexGuard<'a, Inner>,
        now: Instant,
        mut wakers: Vec<Waker>,
    ) -> Result<(), MutexGuard<'a, Inner>> {
        let Some(link) = &self.link else {
            return Err(inner);
        };
        let kick = {
            let mut device = link.lock();
            with_inline_buf(link, |buf| {
                inner.flush(now, device.as_mut(), buf, &mut wakers)
            });
            self.after_flush(&inner, device.as_ref(), now)
        };
        drop(inner);
        wakers.into_iter().for_each(Waker::wake);
        if kick {
            self.kick();
        }
        Ok(())
    }

    /// After an application thread wrote the core's output (the stack's
    /// and the device's locks held): whether the stack thread must be
    /// woken (it has work only it does, or the output moved a deadline
    /// before its sleep and no timer can take it).
    fn after_flush(&self, inner: &Inner, device: &dyn berth_device::Device, now: Instant) -> bool {
        let sleep_until = self.sleep_until.load(Ordering::Relaxed);
        let earlier = inner
            .stack
            .poll_timeout()
            .filter(|t| t.total_micros() < sleep_until);
        // A deadline before the stack thread's sleep (the reply just
        // sent arms its retransmission timer, say): the timer it also
        // waits on takes it, a system call instead of a wake-up.
        let timer_set = earlier.is_some_and(|t| self.wake_stack_thread_at(t, now));
        inner.callbacks.has_pending()
            || inner.stack.has_events()
            || (earlier.is_some() && !timer_set)
            || device.poll_at().is_some_and(|t| {
                self.epoch
                    .checked_add(Duration::from_micros(sleep_until))
                    .is_none_or(|sleep| t < sleep)
            })
    }

    /// Arms the stack thread's timer for `at` (with the stack's lock
    /// held); `false` if there is no timer to arm.
    fn wake_stack_thread_at(&self, at: Instant, now: Instant) -> bool {
        self.timer.as_ref().is_some_and(|timer| {
            let set = timer.set(Some(at.saturating_duration_since(now))).is_ok();
            if set {
                self.sleep_until.store(at.total_micros(), Ordering::Relaxed);
            }
            set
        })
    }

    /// Whether a thread may take the device's lead now (a hint).
    pub(crate) fn may_lead(&self) -> bool {
        self.lead.as_ref().is_some_and(Lead::open)
    }

    /// Waits as the device's leader (`lead.rs`), running the stack's turns
    /// on this thread, until `woken` (asked under the stack's lock) says
    /// the caller's stream was woken, `deadline` passes or the loan ends.
    /// `mark` (called under the stack's lock) gives the caller's stream
    /// the waker that rings this thread out of its wait when it leads, and
    /// takes it back (`None`) when it stops. `false` if this thread could
    /// not lead: the caller waits on its condition variable instead.
    pub(crate) fn lead(
        &self,
        mark: &dyn Fn(Option<Waker>),
        woken: &dyn Fn() -> bool,
        deadline: Option<StdInstant>,
    ) -> bool {
        let (Some(lead), Some(link)) = (&self.lead, &self.link) else {
            return false;
        };
        {
            let inner = self.lock();
            if inner.shutdown || woken() {
                return !inner.shutdown;
            }
            // Callback handlers run on the stack thread: it keeps the
            // device while there are any.
            if !inner.callbacks.is_empty() || !lead.take(false) {
                return false;
            }
            mark(Some(lead.bell_waker.clone()));
        }
        let _here = LeadingHere::new();
        let leave = |inner: &mut Inner| {
            mark(None);
            self.vacate(inner, lead);
        };
        // Should a turn panic, the lead still ends: a leader gone for good
        // would keep the device from everyone.
        let mut unwinding = OnDrop(Some(|| leave(&mut self.lock())));
        let mut leave = |inner: &mut Inner| {
            unwinding.0 = None;
            leave(inner);
        };
        loop {
            let timeout = deadline.map(|d| d.saturating_duration_since(StdInstant::now()));
            if timeout.is_some_and(|t| t.is_zero()) {
                leave(&mut self.lock());
                return true;
            }
            let (readable, rung) =
                match berth_device::wait_either(lead.device_fd, lead.bell.raw_fd(), timeout) {
                    Ok(ready) => ready,
                    Err(e) => {
                        tracing::warn!("berth: waiting on the device failed: {e}");
                        leave(&mut self.lock());
                        self.kick();
                        return false;
                    }
                };
            if rung {
                lead.bell.clear();
            }
            let mut inner = self.lock();
            if inner.shutdown || !lead.loaned() {
                leave(&mut inner);
                return true;
            }
            let mut wakers = Vec::new();
            // `poll` is level-triggered: read as the stack thread does.
            let limit = inner.read_limit(link.lock().as_ref(), readable);
            let (turn, kick) = self.lead_turn(&mut inner, lead, link, limit, &mut wakers);
            let failed = turn == LedTurn::Failed;
            let done = failed || woken();
            if done {
                leave(&mut inner);
            }
            drop(inner);
            wakers.into_iter().for_each(Waker::wake);
            if kick {
                self.kick();
            }
            if done {
                return !failed;
            }
        }
    }

    /// One turn of the stack led from an async runtime (`tokio_net::lead_device`),
    /// if nobody else leads: `None` once the stack stops; what the turn
    /// found on the device (`Drained` when someone else leads, or callback
    /// ports keep the device on the stack thread).
    #[cfg(feature = "tokio")]
    pub(crate) fn lead_once(&self) -> Option<LedTurn> {
        let (Some(lead), Some(link)) = (&self.lead, &self.link) else {
            return None;
        };
        let mut inner = self.lock();
        if inner.shutdown {
            return None;
        }
        if !inner.callbacks.is_empty() || !lead.take(true) {
            return Some(LedTurn::Drained);
        }
        let mut wakers = Vec::new();
        // The runtime's readiness is edge-triggered: read until empty.
        let (turn, kick) = self.lead_turn(&mut inner, lead, link, crate::link::BATCH, &mut wakers);
        // Leaves after each turn: if the runtime does not come back within
        // the grace, the stack thread reads the device again.
        self.vacate(&inner, lead);
        drop(inner);
        wakers.into_iter().for_each(Waker::wake);
        if kick {
            self.kick();
        }
        Some(turn)
    }

    /// One turn of the stack run by a leader (the caller holds the stack's
    /// lock and leads), as the stack thread runs it: a batch of frames
    /// from the device, timers, what the applications asked for, output;
    /// readiness handed out as wake-ups into `wakers`, to be woken once the
    /// lock is gone. Also whether the stack thread must be woken once the
    /// lock is gone (callback events, a deadline no timer takes, a failed
    /// device: led no more, the stack thread finds the failure on its own
    /// read and says so).
    pub(crate) fn lead_turn(
        &self,
        inner: &mut Inner,
        lead: &Lead,
        link: &Link,
        limit: usize,
        wakers: &mut Vec<Waker>,
    ) -> (LedTurn, bool) {
        lead.turns.fetch_add(1, Ordering::Relaxed);
        let now = self.now();
        let mut device = link.lock();
        let (turn, kick) = with_inline_buf(link, |buf| {
            let read = if limit == 0 {
                Received::Drained
            } else {
                let Inner { stack, reads, .. } = &mut *inner;
                receive(stack, device.as_mut(), now, buf, limit, reads)
            };
            let turn = match read {
                Received::Drained => LedTurn::Drained,
                Received::Full => LedTurn::Full,
                Received::Failed(_) => return (LedTurn::Failed, true),
            };
            inner.stack.handle_timeout(now);
            PENDING.with(|p| {
                let mut pending = p.borrow_mut();
                self.take_pending(&mut pending);
                inner.pump_all(&pending, now, wakers);
            });
            inner.flush(now, device.as_mut(), buf, wakers);
            (turn, self.after_flush(inner, device.as_ref(), now))
        });
        drop(device);
        if turn == LedTurn::Failed {
            lead.fail();
        }
        (turn, kick)
    }

    /// The leader leaves (the caller holds the stack's lock, `_inner`):
    /// the stack thread looks at the device again within the grace unless
    /// a leader comes back by then.
    fn vacate(&self, _inner: &Inner, lead: &Lead) {
        let now = self.now();
        let back = lead.vacate(now);
        if self.sleep_until.load(Ordering::Relaxed) > back.total_micros() {
            if self.wake_stack_thread_at(back, now) {
                self.grace_timer
                    .store(back.total_micros(), Ordering::Relaxed);
            } else {
                self.kick();
            }
        }
    }

    /// The device went back to the stack thread (the caller holds the
    /// stack's lock): if its timer was armed only for the grace, it is
    /// set back to the stack's own next deadline, which spares the stack
    /// thread a wake-up for nothing.
    fn disarm_grace(&self, inner: &Inner) {
        let armed = self.grace_timer.swap(u64::MAX, Ordering::Relaxed);
        if armed == u64::MAX || self.sleep_until.load(Ordering::Relaxed) != armed {
            return;
        }
        let due = [inner.stack.poll_timeout(), inner.callbacks.next_timer()]
            .into_iter()
            .flatten()
            .min();
        match due {
            Some(t) => {
                self.wake_stack_thread_at(t, self.now());
            }
            None => {
                if let Some(timer) = &self.timer
                    && timer.set(None).is_ok()
                {
                    self.sleep_until.store(u64::MAX, Ordering::Relaxed);
                }
            }
        }
    }

    /// Asks the stack thread to pump `h`'s pipe.
    pub(crate) fn request_pump(&self, h: SocketHandle) {
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(h);
        self.kick();
    }

    /// The streams to pump, swapped out for `spare` (empty), so neither
    /// list allocates once warm.
    pub(crate) fn take_pending(&self, spare: &mut Vec<SocketHandle>) {
        spare.clear();
        std::mem::swap(
            &mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()),
            spare,
        );
    }

    /// How many pump requests wait for the stack thread.
    #[cfg(test)]
    pub(crate) fn pending_pumps(&self) -> usize {
        self.pending.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// The core's clock: microseconds since the stack started.
    pub(crate) fn now(&self) -> Instant {
        Instant::from_micros(u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX))
    }

    /// The std instant of a core instant (for sleeping until a deadline).
    pub(crate) fn to_std(&self, t: Instant) -> StdInstant {
        self.epoch + Duration::from_micros(t.total_micros())
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves the stack in an unknown
        // state; carrying on with it is still better than poisoning every
        // socket of the process, and the core never panics on input.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Tells the stack thread to run.
    pub(crate) fn kick(&self) {
        if let Err(e) = self.waker.wake() {
            tracing::warn!("berth: waking the stack thread failed: {e}");
        }
    }

    /// Runs `op` until it stops answering `WouldBlock`, waiting on the
    /// socket's condition variable in between (at most until `deadline`).
    /// Returns `Err(WouldBlock)` at the deadline or at once if `nonblocking`.
    /// `out_queue`: `op` sends (UDP): the stack thread is woken to write
    /// what it queued, and a `WouldBlock` may mean the stack's output queue
    /// is full, which no socket event reports; the caller is then also
    /// woken after the stack thread drains it.
    pub(crate) fn blocking<T>(
        &self,
        handle: SocketHandle,
        nonblocking: bool,
        deadline: Option<StdInstant>,
        out_queue: bool,
        mut op: impl FnMut(&mut Stack, Instant) -> Result<T, SocketError>,
    ) -> Result<T, SocketError> {
        let mut inner = self.lock();
        let cv = inner.waiters.entry(handle).or_default().cv.clone();
        loop {
            // The stack is going away: nothing will wake a waiter again.
            if inner.shutdown {
                return Err(SocketError::NotConnected);
            }
            let now = self.now();
            match op(&mut inner.stack, now) {
                Err(SocketError::WouldBlock) if !nonblocking => {
                    if out_queue {
                        if !inner.out_waiters.contains(&handle) {
                            inner.out_waiters.push(handle);
                        }
                        // The queue drains when the stack thread runs.
                        self.kick();
                    }
                    let left = deadline.map(|d| d.saturating_duration_since(StdInstant::now()));
                    if left.is_some_and(|l| l.is_zero()) {
                        return Err(SocketError::WouldBlock);
                    }
                    inner.waiters.entry(handle).or_default().sleepers += 1;
                    inner = match left {
                        None => cv.wait(inner).unwrap_or_else(|p| p.into_inner()),
                        Some(left) => {
                            cv.wait_timeout(inner, left)
                                .unwrap_or_else(|p| p.into_inner())
                                .0
                        }
                    };
                    let w = inner.waiters.entry(handle).or_default();
                    w.sleepers = w.sleepers.saturating_sub(1);
                }
                other => {
                    drop(inner);
                    // Only sends leave output for the stack thread; an
                    // accept, a receive or a state check wakes it for
                    // nothing (a system call and a context switch).
                    if out_queue {
                        self.kick();
                    }
                    return other;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use berth_core::config::StackConfig;

    use super::*;

    /// A `Shared` with no stack thread: the test plays the driver.
    fn shared() -> (Arc<Shared>, mio::Poll) {
        let poll = mio::Poll::new().unwrap();
        let waker = mio::Waker::new(poll.registry(), mio::Token(1)).unwrap();
        let mut cfg = StackConfig::default();
        cfg.addrs.push("198.18.0.1".parse().unwrap());
        (
            Arc::new(Shared::new(Stack::new(cfg), waker, None, None, None)),
            poll,
        )
    }

    #[test]
    fn a_blocking_udp_send_on_a_full_output_queue_returns_after_the_drain() {
        let (shared, _poll) = shared();
        let to: SocketAddr = "198.18.0.2:9".parse().unwrap();
        let h = shared
            .lock()
            .stack
            .udp_bind("198.18.0.1:0".parse().unwrap())
            .unwrap();
        {
            let mut inner = shared.lock();
            while inner.stack.udp_send_to(h, b"fill", to).is_ok() {}
        }
        let limit = StdInstant::now() + Duration::from_secs(10);
        let sender = {
            let shared = shared.clone();
            std::thread::spawn(move || {
                shared.blocking(h, false, Some(limit), true, |s, _| {
                    s.udp_send_to(h, b"x", to)
                })
            })
        };
        // Play the stack thread once the sender waits.
        loop {
            assert!(StdInstant::now() < limit, "the sender never registered");
            let mut inner = shared.lock();
            if inner.out_waiters.contains(&h) {
                let now = shared.now();
                let mut buf = [0u8; 1600];
                while inner.stack.poll_transmit(now, &mut buf).is_some() {}
                let mut wakers = Vec::new();
                inner.wake_waiters(now, &mut wakers);
                drop(inner);
                wakers.into_iter().for_each(Waker::wake);
                break;
            }
            drop(inner);
            std::thread::yield_now();
        }
        assert_eq!(sender.join().unwrap(), Ok(1));
        assert!(
            StdInstant::now() < limit,
            "woken by the drain, not the deadline"
        );
    }

    /// Task wakers: the async facade's side.
    #[cfg(feature = "tokio")]
    mod tasks {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::task::{Context, Poll, Wake};

        use super::*;
        use crate::net::socket::{Direction, SocketRef};

        #[derive(Default)]
        struct Count(AtomicUsize);

        impl Wake for Count {
            fn wake(self: Arc<Self>) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }

        fn counting() -> (Arc<Count>, Waker) {
            let c = Arc::new(Count::default());
            (c.clone(), Waker::from(c))
        }

        #[test]
        fn readiness_wakes_the_right_slots() {
            let cases = [
                (Readiness::READABLE, 1, 0),
                (Readiness::ACCEPTABLE, 1, 0),
                (Readiness::WRITABLE, 0, 1),
                (Readiness::CONNECTED, 1, 1),
                (Readiness::CLOSED, 1, 1),
            ];
            for (readiness, reads, writes) in cases {
                let (r, rw) = counting();
                let (w, ww) = counting();
                let mut waiters = Waiters::default();
                register(&mut waiters.read, &rw);
                register(&mut waiters.read, &rw); // the same task once
                register(&mut waiters.write, &ww);
                let mut out = Vec::new();
                waiters.wake(readiness, &mut out);
                out.into_iter().for_each(Waker::wake);
                assert_eq!(r.0.load(Ordering::SeqCst), reads, "{readiness:?}");
                assert_eq!(w.0.load(Ordering::SeqCst), writes, "{readiness:?}");
            }
        }

        #[test]
        fn a_udp_send_on_a_full_output_queue_is_woken_after_the_drain() {
            let (shared, _poll) = shared();
            let to: SocketAddr = "198.18.0.2:9".parse().unwrap();
            let h = shared
                .lock()
                .stack
                .udp_bind("198.18.0.1:0".parse().unwrap())
                .unwrap();
            let sock = SocketRef::new(shared.clone(), h);
            {
                let mut inner = shared.lock();
                while inner.stack.udp_send_to(h, b"fill", to).is_ok() {}
            }
            let (count, waker) = counting();
            let mut cx = Context::from_waker(&waker);
            let send = |cx: &mut Context<'_>| {
                sock.poll_op(cx, Direction::Write, true, |s, _| {
                    s.udp_send_to(h, b"x", to)
                })
            };
            assert!(send(&mut cx).is_pending());
            assert_eq!(count.0.load(Ordering::SeqCst), 0);
            // What the stack thread does on its next turn.
            let mut wakers = Vec::new();
            {
                let mut inner = shared.lock();
                let now = shared.now();
                let mut buf = [0u8; 1600];
                while inner.stack.poll_transmit(now, &mut buf).is_some() {}
                inner.wake_waiters(now, &mut wakers);
                assert!(inner.out_waiters.is_empty());
            }
            wakers.into_iter().for_each(Waker::wake);
            assert_eq!(count.0.load(Ordering::SeqCst), 1);
            assert!(matches!(send(&mut cx), Poll::Ready(Ok(1))));
        }
    }
}
