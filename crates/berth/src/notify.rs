//! Condition variables as task wakers: the stack's lock holder collects
//! wake-ups in a list and carries them out once it has released the lock,
//! threads and tasks alike. A thread woken while the lock is still held
//! would only wake to wait for it; on one CPU it would even run first and
//! find the stack busy.

use std::sync::{Arc, Condvar};
use std::task::{Wake, Waker};

/// Notifies every thread blocked on a condition variable.
struct NotifyAll(Arc<Condvar>);

impl Wake for NotifyAll {
    fn wake(self: Arc<Self>) {
        self.0.notify_all();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.notify_all();
    }
}

/// A waker that notifies every thread waiting on `cv`.
pub(crate) fn notify_all(cv: &Arc<Condvar>) -> Waker {
    Waker::from(Arc::new(NotifyAll(cv.clone())))
}

/// Adds `waker` to `slot` unless the same task is already there.
#[cfg(feature = "tokio")]
pub(crate) fn register(slot: &mut Vec<Waker>, waker: &Waker) {
    if !slot.iter().any(|w| w.will_wake(waker)) {
        slot.push(waker.clone());
    }
}
