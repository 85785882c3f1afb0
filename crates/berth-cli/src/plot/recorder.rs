//! What `berth sim --plot` collects while the simulation runs: every frame
//! a stack sends (into the same model a capture feeds), and the senders'
//! state from `Stack::tcp_info`, one sample per change.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use berth_core::stack::TcpInfo;
use berth_core::time::Instant;

use super::decode::{Decoded, decode_ip};
use super::state::{Sample, Series};
use super::trace::Tracker;
use super::{MAX_CONNS, write_all};

/// What `berth sim --plot` collects while it runs: every frame sent, and the
/// senders' state after each step that moved something.
pub(crate) struct Recorder {
    tracker: Tracker,
    states: HashMap<(SocketAddr, SocketAddr), Series>,
}

impl Recorder {
    pub(crate) fn new() -> Self {
        Self {
            tracker: Tracker::new(MAX_CONNS),
            states: HashMap::new(),
        }
    }

    /// A frame (an IP packet) sent at `now`.
    pub(crate) fn packet(&mut self, now: Instant, frame: &[u8]) {
        if let Decoded::Tcp(seg) = decode_ip(frame, 0) {
            self.tracker.add(now.total_micros(), &seg);
        }
    }

    /// A socket's state at `now`; kept if it changed.
    pub(crate) fn sample(&mut self, now: Instant, info: &TcpInfo) {
        let Some((conn, d)) = self.tracker.find(info.local, info.remote) else {
            return;
        };
        let sent = conn.dirs[d].payload_sent();
        self.states
            .entry((info.local, info.remote))
            .or_default()
            .push(Sample::new(now.total_micros(), info, sent));
    }

    /// Writes the pictures into `dir`.
    pub(crate) fn write(&self, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
        write_all(dir, &self.tracker, &self.states)
    }
}
