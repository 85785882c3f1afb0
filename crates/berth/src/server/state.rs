//! What a server's threads share with its owner: the outcome counters,
//! the connections the workers hold now (so that a shutdown past its
//! deadline can reset them), and the count of threads still running.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;

use super::ServerStats;
use crate::net::TcpStream;

/// How a handler ended.
#[derive(Debug, Clone, Copy)]
pub(super) enum Outcome {
    Served,
    Failed,
    Panicked,
}

#[derive(Default)]
pub(super) struct ServerState {
    served: AtomicU64,
    failed: AtomicU64,
    panicked: AtomicU64,
    active: AtomicU64,
    conns: Mutex<Conns>,
    /// Threads (acceptor and workers) not yet ended.
    threads: Mutex<usize>,
    threads_ended: Condvar,
}

/// The connections handlers hold, by id: a clone of each stream.
#[derive(Default)]
struct Conns {
    next_id: u64,
    open: HashMap<u64, TcpStream>,
    /// The shutdown deadline has passed: every connection is reset, the
    /// ones still to come at once.
    closing: bool,
}

/// A thread of the server; dropping it (the thread ends, even by a panic)
/// counts it out.
pub(super) struct ThreadGuard(Arc<ServerState>);

impl Drop for ThreadGuard {
    fn drop(&mut self) {
        let mut n = lock(&self.0.threads);
        *n = n.saturating_sub(1);
        self.0.threads_ended.notify_all();
    }
}

/// The data behind these locks is consistent between statements, so a
/// poisoned lock is used as is.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl ServerState {
    pub(super) fn stats(&self) -> ServerStats {
        ServerStats {
            served: self.served.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            panicked: self.panicked.load(Ordering::Relaxed),
            active: self.active.load(Ordering::Relaxed),
        }
    }

    pub(super) fn record(&self, outcome: Outcome) {
        let counter = match outcome {
            Outcome::Served => &self.served,
            Outcome::Failed => &self.failed,
            Outcome::Panicked => &self.panicked,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// A worker takes `stream` up: its id, or `None` (and the stream
    /// reset) when the server is resetting its connections.
    pub(super) fn enter(&self, stream: &TcpStream) -> Option<u64> {
        let mut conns = lock(&self.conns);
        if conns.closing {
            let _ = stream.abort();
            return None;
        }
        conns.next_id += 1;
        let id = conns.next_id;
        // Never fails for a berth stream; without the clone the connection
        // could only not be reset at the deadline.
        if let Ok(clone) = stream.try_clone() {
            conns.open.insert(id, clone);
        }
        self.active.fetch_add(1, Ordering::Relaxed);
        Some(id)
    }

    /// The handler of connection `id` has ended: the server's clone of the
    /// stream, whose drop (or `abort`) closes the connection.
    pub(super) fn leave(&self, id: u64) -> Option<TcpStream> {
        let clone = lock(&self.conns).open.remove(&id);
        self.active.fetch_sub(1, Ordering::Relaxed);
        clone
    }

    /// Resets every connection a handler holds, and from now on each one a
    /// worker takes up: their blocked reads and writes fail at once.
    /// Returns how many were open.
    pub(super) fn reset_all(&self) -> usize {
        let mut conns = lock(&self.conns);
        conns.closing = true;
        for stream in conns.open.values() {
            let _ = stream.abort();
        }
        conns.open.len()
    }

    /// Counts a thread in; the guard goes into the thread.
    pub(super) fn thread_started(self: &Arc<Self>) -> ThreadGuard {
        *lock(&self.threads) += 1;
        ThreadGuard(self.clone())
    }

    /// Waits until every thread has ended, or `deadline` (`None`: no
    /// limit) has passed; whether they all ended.
    pub(super) fn wait_threads(&self, deadline: Option<Instant>) -> bool {
        let mut n = lock(&self.threads);
        while *n > 0 {
            n = match deadline {
                None => self
                    .threads_ended
                    .wait(n)
                    .unwrap_or_else(|p| p.into_inner()),
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return false;
                    }
                    self.threads_ended
                        .wait_timeout(n, left)
                        .unwrap_or_else(|p| p.into_inner())
                        .0
                }
            };
        }
        true
    }
}
