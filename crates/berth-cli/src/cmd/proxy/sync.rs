//! The one lock helper every relay task uses: a poisoned mutex (a task
//! panicked while holding it) still gives its data, as the counters and
//! tables behind it stay consistent between statements.

use std::sync::{Mutex, MutexGuard};

/// Locks `m`, poisoned or not.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
