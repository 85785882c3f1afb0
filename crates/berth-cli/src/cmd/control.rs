//! The control socket between `berth up` and `berth ss`: a Unix stream
//! socket; each connection gets one JSON document describing every socket
//! of the running stack and its counters, then the connection closes.

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Weak;

use anyhow::Context;
use berth::NetStack;
use berth_core::handle::SocketHandle;
use berth_core::stack::{SocketKind, Stack};
use serde::{Deserialize, Serialize};

/// Where `berth up` listens by default for a namespace.
pub(crate) fn default_path(netns: &str) -> PathBuf {
    PathBuf::from(format!("/run/berth/{netns}.sock"))
}

/// One socket, as `ss` shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct SocketRow {
    pub(crate) proto: String,
    pub(crate) state: String,
    pub(crate) recv_q: usize,
    pub(crate) send_q: usize,
    pub(crate) local: String,
    pub(crate) peer: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) tcp: Option<TcpRow>,
}

/// TCP details (`ss -i`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct TcpRow {
    pub(crate) rtt_ms: Option<f64>,
    pub(crate) rto_ms: f64,
    pub(crate) cwnd: usize,
    pub(crate) ssthresh: usize,
    pub(crate) retransmits: u64,
    pub(crate) bytes_sent: u64,
    pub(crate) bytes_acked: u64,
    pub(crate) bytes_received: u64,
}

/// The document a control connection receives.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct Snapshot {
    pub(crate) sockets: Vec<SocketRow>,
    /// Every `StackStats` counter by name. Absent from the answers of
    /// older servers: then empty.
    #[serde(default)]
    pub(crate) stats: BTreeMap<String, u64>,
}

/// `app`: what each stream holds outside the core ([`NetStack::app_queues`]).
pub(crate) fn snapshot(stack: &Stack, app: &HashMap<SocketHandle, (usize, usize)>) -> Snapshot {
    let mut sockets = Vec::new();
    for h in stack.sockets() {
        let row = match stack.socket_kind(h) {
            Some(SocketKind::TcpListener) => {
                let (backlog, queued) = stack.listener_queue(h).unwrap_or((0, 0));
                // A transparent listener takes any address and port.
                let local = if stack.is_transparent(h) {
                    "*:*".to_string()
                } else {
                    stack
                        .local_addr(h)
                        .map(|a| a.to_string())
                        .unwrap_or_default()
                };
                SocketRow {
                    proto: "tcp".into(),
                    state: "LISTEN".into(),
                    recv_q: queued,
                    send_q: backlog,
                    peer: if local.starts_with('[') {
                        "[::]:*".into()
                    } else {
                        "0.0.0.0:*".into()
                    },
                    local,
                    tcp: None,
                }
            }
            Some(SocketKind::Tcp) => {
                let Ok(i) = stack.tcp_info(h) else { continue };
                SocketRow {
                    proto: "tcp".into(),
                    state: i.state.to_string(),
                    recv_q: i.recv_queue + app.get(&h).map_or(0, |q| q.0),
                    send_q: i.send_queue + app.get(&h).map_or(0, |q| q.1),
                    local: i.local.to_string(),
                    peer: i.remote.to_string(),
                    tcp: Some(TcpRow {
                        rtt_ms: i.srtt.map(|d| d.as_secs_f64() * 1000.0),
                        rto_ms: i.rto.as_secs_f64() * 1000.0,
                        cwnd: i.cwnd,
                        ssthresh: i.ssthresh,
                        retransmits: i.stats.retransmits,
                        bytes_sent: i.stats.bytes_out,
                        bytes_acked: i.stats.bytes_acked,
                        bytes_received: i.stats.bytes_in,
                    }),
                }
            }
            Some(SocketKind::Udp) => SocketRow {
                proto: "udp".into(),
                state: "UNCONN".into(),
                recv_q: 0,
                send_q: 0,
                local: if stack.is_transparent(h) {
                    "*:*".to_string()
                } else {
                    stack
                        .local_addr(h)
                        .map(|a| a.to_string())
                        .unwrap_or_default()
                },
                peer: "*:*".into(),
                tcp: None,
            },
            // Bound, not listening or connected: not in `ss` on Linux either.
            Some(SocketKind::TcpBound) | None => continue,
        };
        sockets.push(row);
    }
    let stats = stack
        .stats()
        .counters()
        .iter()
        .map(|&(name, value)| (name.to_string(), value))
        .collect();
    Snapshot { sockets, stats }
}

/// Serves snapshots on `path` from a thread until the process ends (or the
/// stack is gone: the thread holds only a weak reference, so that shutting
/// down can drop the stack).
pub(crate) fn serve(path: &Path, stack: Weak<NetStack>) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path)
        .with_context(|| format!("binding the control socket {}", path.display()))?;
    std::thread::Builder::new()
        .name("berth-control".into())
        .spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let Some(stack) = stack.upgrade() else { return };
                let app = stack.app_queues();
                let snap = stack.with_stack(|s| snapshot(s, &app));
                drop(stack);
                if let Ok(json) = serde_json::to_vec(&snap) {
                    let _ = conn.write_all(&json);
                }
            }
        })?;
    Ok(())
}

/// Fetches a snapshot from a running `berth up`.
pub(crate) fn fetch(path: &Path) -> anyhow::Result<Snapshot> {
    let mut conn = UnixStream::connect(path).with_context(|| {
        format!(
            "no berth up answers on {} (is it running? see --control)",
            path.display()
        )
    })?;
    let mut buf = Vec::new();
    conn.read_to_end(&mut buf)?;
    serde_json::from_slice(&buf).context("reading the control socket's answer")
}

#[cfg(test)]
mod tests {
    use berth_core::config::StackConfig;
    use berth_core::stats::StackStats;
    use berth_core::time::Instant;

    use super::*;

    #[test]
    fn snapshot_has_every_counter_and_the_listener() {
        let mut stack = Stack::new(StackConfig {
            addrs: vec!["198.18.0.2".parse().unwrap()],
            ..StackConfig::default()
        });
        stack
            .tcp_listen("198.18.0.2:80".parse().unwrap(), 8)
            .unwrap();
        // Not an IP packet: counted in frames_in and ip_malformed.
        stack.handle_frame(Instant::ZERO, &[0xff; 20]);
        let snap = snapshot(&stack, &HashMap::new());
        assert_eq!(snap.stats.len(), StackStats::COUNT);
        assert_eq!(snap.stats["frames_in"], 1);
        assert_eq!(snap.stats["ip_malformed"], 1);
        assert_eq!(snap.stats["syncookies_sent"], 0);
        assert!(
            snap.sockets
                .iter()
                .any(|r| r.state == "LISTEN" && r.local == "198.18.0.2:80")
        );
        // What a client reads back is what was sent.
        let json = serde_json::to_vec(&snap).unwrap();
        assert_eq!(serde_json::from_slice::<Snapshot>(&json).unwrap(), snap);
    }

    #[test]
    fn snapshot_without_stats_still_parses() {
        // The answer of a server from before the counters were sent.
        let snap: Snapshot = serde_json::from_str(r#"{"sockets":[]}"#).unwrap();
        assert!(snap.stats.is_empty());
    }
}
