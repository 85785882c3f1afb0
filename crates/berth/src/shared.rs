//! The state the stack thread and the application threads share: the core
//! `Stack` behind one mutex, a condition variable per socket, and the waker
//! that tells the stack thread there is work (STYLE.md section 8: "every user
//! call that can produce output nudges the driver").

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant as StdInstant};

use berth_core::handle::SocketHandle;
use berth_core::stack::{SocketError, Stack};
use berth_core::time::Instant;

pub(crate) struct Inner {
    pub(crate) stack: Stack,
    /// One condition variable per socket someone waits on.
    pub(crate) waiters: HashMap<SocketHandle, Arc<Condvar>>,
    /// The owner dropped the `NetStack`: close everything and stop.
    pub(crate) shutdown: bool,
}

pub(crate) struct Shared {
    inner: Mutex<Inner>,
    waker: mio::Waker,
    epoch: StdInstant,
}

impl Shared {
    pub(crate) fn new(stack: Stack, waker: mio::Waker) -> Self {
        Self {
            inner: Mutex::new(Inner {
                stack,
                waiters: HashMap::new(),
                shutdown: false,
            }),
            waker,
            epoch: StdInstant::now(),
        }
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
    pub(crate) fn blocking<T>(
        &self,
        handle: SocketHandle,
        nonblocking: bool,
        deadline: Option<StdInstant>,
        mut op: impl FnMut(&mut Stack, Instant) -> Result<T, SocketError>,
    ) -> Result<T, SocketError> {
        let mut inner = self.lock();
        let cv = inner.waiters.entry(handle).or_default().clone();
        loop {
            // The stack is going away: nothing will wake a waiter again.
            if inner.shutdown {
                return Err(SocketError::NotConnected);
            }
            let now = self.now();
            match op(&mut inner.stack, now) {
                Err(SocketError::WouldBlock) if !nonblocking => {
                    self.kick();
                    inner = match deadline {
                        None => cv.wait(inner).unwrap_or_else(|p| p.into_inner()),
                        Some(d) => {
                            let left = d.saturating_duration_since(StdInstant::now());
                            if left.is_zero() {
                                return Err(SocketError::WouldBlock);
                            }
                            cv.wait_timeout(inner, left)
                                .unwrap_or_else(|p| p.into_inner())
                                .0
                        }
                    };
                }
                other => {
                    drop(inner);
                    self.kick();
                    return other;
                }
            }
        }
    }
}
