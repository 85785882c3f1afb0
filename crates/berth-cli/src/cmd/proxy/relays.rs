//! The live relays, for `berth ss`: each TCP connection and UDP mapping
//! with its upstream and the bytes it carried each way.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use berth::control::RelayRow;

use super::sync::lock;

/// One relay's figures, updated by its tasks.
#[derive(Debug)]
pub(crate) struct Relay {
    proto: &'static str,
    client: SocketAddr,
    destination: Option<SocketAddr>,
    target: String,
    upstream: String,
    started: Instant,
    up: AtomicU64,
    down: AtomicU64,
    /// Milliseconds after `started` of the last byte either way.
    last_ms: AtomicU64,
}

impl Relay {
    /// Counts `n` bytes from the client to the upstream.
    pub(crate) fn add_up(&self, n: usize) {
        self.up.fetch_add(n as u64, Ordering::Relaxed);
        self.touch();
    }

    /// Counts `n` bytes from the upstream to the client.
    pub(crate) fn add_down(&self, n: usize) {
        self.down.fetch_add(n as u64, Ordering::Relaxed);
        self.touch();
    }

    fn touch(&self) {
        let ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    /// How long nothing has moved.
    pub(crate) fn idle(&self) -> std::time::Duration {
        let last = std::time::Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        self.started.elapsed().saturating_sub(last)
    }

    /// Bytes each way: (up, down).
    pub(crate) fn bytes(&self) -> (u64, u64) {
        (
            self.up.load(Ordering::Relaxed),
            self.down.load(Ordering::Relaxed),
        )
    }

    fn row(&self) -> RelayRow {
        let (bytes_up, bytes_down) = self.bytes();
        RelayRow {
            proto: self.proto.into(),
            client: self.client.to_string(),
            destination: self
                .destination
                .map_or_else(|| "*:*".into(), |d| d.to_string()),
            target: self.target.clone(),
            upstream: self.upstream.clone(),
            bytes_up,
            bytes_down,
            age_secs: self.started.elapsed().as_secs(),
            idle_secs: self.idle().as_secs(),
        }
    }
}

/// The registry of live relays.
#[derive(Debug, Default)]
pub(crate) struct Relays {
    next: AtomicU64,
    live: Mutex<BTreeMap<u64, Arc<Relay>>>,
}

/// A registered relay; dropping it unregisters it.
pub(crate) struct Registered {
    relays: Arc<Relays>,
    id: u64,
    pub(crate) relay: Arc<Relay>,
}

impl Drop for Registered {
    fn drop(&mut self) {
        lock(&self.relays.live).remove(&self.id);
    }
}

impl Relays {
    /// Registers a relay: its protocol, client, destination (none for a
    /// full-cone mapping), what the upstream was asked for, and the
    /// upstream.
    pub(crate) fn register(
        self: &Arc<Self>,
        proto: &'static str,
        client: SocketAddr,
        destination: Option<SocketAddr>,
        target: String,
        upstream: String,
    ) -> Registered {
        let relay = Arc::new(Relay {
            proto,
            client,
            destination,
            target,
            upstream,
            started: Instant::now(),
            up: AtomicU64::new(0),
            down: AtomicU64::new(0),
            last_ms: AtomicU64::new(0),
        });
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        lock(&self.live).insert(id, relay.clone());
        Registered {
            relays: self.clone(),
            id,
            relay,
        }
    }

    /// A row per live relay, oldest first.
    pub(crate) fn rows(&self) -> Vec<RelayRow> {
        lock(&self.live).values().map(|r| r.row()).collect()
    }

    /// How many relays are live.
    pub(crate) fn len(&self) -> usize {
        lock(&self.live).len()
    }
}
