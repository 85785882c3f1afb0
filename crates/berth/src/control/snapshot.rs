//! [`Snapshot`]: what the control socket sends, every socket of a stack
//! (as `ss -tuna -i` shows them) and every counter, built from the core
//! stack under its lock.

use std::collections::{BTreeMap, HashMap};

use berth_core::handle::SocketHandle;
use berth_core::stack::{SocketKind, Stack};
use serde::{Deserialize, Serialize};

/// The document a control connection receives: the stack's sockets and
/// counters at one instant.
///
/// New fields may come in later versions; each has a serde default, so
/// that a client reads the answers of older and newer servers alike.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Snapshot {
    /// Listening, connected and UDP sockets (bound-only sockets are left
    /// out, as `ss` does).
    pub sockets: Vec<SocketRow>,
    /// Every [`StackStats`](berth_core::stats::StackStats) counter, by
    /// field name. Absent from the answers of servers older than the
    /// counters: then empty.
    #[serde(default)]
    pub stats: BTreeMap<String, u64>,
    /// The flows a proxy relays, if the program serving the socket is one
    /// (`NetStack::serve_control_with`); else empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub relays: Vec<RelayRow>,
}

/// One relayed flow of a proxy: the client's connection (or UDP mapping)
/// and where it goes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RelayRow {
    /// `tcp` or `udp`.
    pub proto: String,
    /// The client's address and port.
    pub client: String,
    /// The destination the client dialled (for a full-cone UDP mapping,
    /// `*:*`).
    pub destination: String,
    /// What the upstream was asked for: the destination, or the name
    /// behind a fake address.
    pub target: String,
    /// The upstream (`direct`, `socks5://host:port`, ...).
    pub upstream: String,
    /// Bytes from the client to the upstream.
    pub bytes_up: u64,
    /// Bytes from the upstream to the client.
    pub bytes_down: u64,
    /// Seconds since the relay started.
    pub age_secs: u64,
    /// Seconds since anything moved either way.
    pub idle_secs: u64,
}

/// One socket, as `ss` shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SocketRow {
    /// `tcp` or `udp`.
    pub proto: String,
    /// The TCP state as RFC 9293 names it (`ESTABLISHED`), `LISTEN`, or
    /// `UNCONN` for UDP.
    pub state: String,
    /// Bytes received and not yet read (a listener: connections waiting
    /// to be accepted).
    pub recv_q: usize,
    /// Bytes written and not yet acknowledged (a listener: its backlog).
    pub send_q: usize,
    /// The local address and port (`*:*` for a transparent socket).
    pub local: String,
    /// The peer's address and port (`0.0.0.0:*` when there is none).
    pub peer: String,
    /// A connection's details; `None` for listeners and UDP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<TcpRow>,
}

/// A TCP connection's details (`ss -i`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TcpRow {
    /// The smoothed round-trip time, once measured.
    pub rtt_ms: Option<f64>,
    /// The retransmission timeout.
    pub rto_ms: f64,
    /// The congestion window, in bytes.
    pub cwnd: usize,
    /// The slow-start threshold, in bytes (`usize::MAX`-like when unset).
    pub ssthresh: usize,
    /// Segments retransmitted.
    pub retransmits: u64,
    /// Bytes sent (retransmissions included).
    pub bytes_sent: u64,
    /// Bytes the peer acknowledged.
    pub bytes_acked: u64,
    /// Bytes received in order.
    pub bytes_received: u64,
    /// Bytes received and dropped for lack of room: the receive queue
    /// full, or no slot left for one more out-of-order range (Linux's
    /// `TcpExtTCPRcvQDrop` and `TCPOFODrop`, per connection). A peer that
    /// respects the window makes none.
    #[serde(default)]
    pub recv_drops: u64,
}

impl Snapshot {
    /// The snapshot of a core stack. `app_queues`: the bytes each stream
    /// holds outside the core (what [`NetStack::app_queues`] returns),
    /// added to its queues.
    ///
    /// [`NetStack::app_queues`]: crate::NetStack::app_queues
    pub fn from_core(stack: &Stack, app_queues: &HashMap<SocketHandle, (usize, usize)>) -> Self {
        let sockets = stack
            .sockets()
            .into_iter()
            .filter_map(|h| socket_row(stack, h, app_queues.get(&h).copied()))
            .collect();
        let stats = stack
            .stats()
            .counters()
            .iter()
            .map(|&(name, value)| (name.to_string(), value))
            .collect();
        Self {
            sockets,
            stats,
            relays: Vec::new(),
        }
    }
}

/// The row of socket `h`, if `ss` shows it.
fn socket_row(stack: &Stack, h: SocketHandle, app: Option<(usize, usize)>) -> Option<SocketRow> {
    // A transparent socket takes any address and port.
    let local = || {
        if stack.is_transparent(h) {
            "*:*".to_string()
        } else {
            stack
                .local_addr(h)
                .map(|a| a.to_string())
                .unwrap_or_default()
        }
    };
    let row = match stack.socket_kind(h)? {
        SocketKind::TcpListener => {
            let (backlog, queued) = stack.listener_queue(h).unwrap_or((0, 0));
            let local = local();
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
        SocketKind::Tcp => {
            let i = stack.tcp_info(h).ok()?;
            let (app_recv, app_send) = app.unwrap_or((0, 0));
            SocketRow {
                proto: "tcp".into(),
                state: i.state.to_string(),
                recv_q: i.recv_queue + app_recv,
                send_q: i.send_queue + app_send,
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
                    recv_drops: i.stats.recv_queue_drops,
                }),
            }
        }
        SocketKind::Udp => SocketRow {
            proto: "udp".into(),
            state: "UNCONN".into(),
            recv_q: 0,
            send_q: 0,
            local: local(),
            peer: "*:*".into(),
            tcp: None,
        },
        // Bound, not listening or connected: not in `ss` on Linux either.
        SocketKind::TcpBound => return None,
        // Linux's `ss -w` shows raw sockets; ours for echo as one.
        SocketKind::IcmpEcho => SocketRow {
            proto: "icmp".into(),
            state: "UNCONN".into(),
            recv_q: 0,
            send_q: 0,
            local: local(),
            peer: "*:*".into(),
            tcp: None,
        },
    };
    Some(row)
}

#[cfg(test)]
mod tests {
    use berth_core::config::StackConfig;
    use berth_core::stats::StackStats;
    use berth_core::time::Instant;

    use super::*;

    #[test]
    fn has_every_counter_and_the_listener() {
        let mut stack = Stack::new(StackConfig {
            addrs: vec!["198.18.0.2".parse().unwrap()],
            ..StackConfig::default()
        });
        stack
            .tcp_listen("198.18.0.2:80".parse().unwrap(), 8)
            .unwrap();
        // Not an IP packet: counted in frames_in and ip_malformed.
        stack.handle_frame(Instant::ZERO, &[0xff; 20]);
        let snap = Snapshot::from_core(&stack, &HashMap::new());
        assert_eq!(snap.stats.len(), StackStats::COUNT);
        assert_eq!(snap.stats["frames_in"], 1);
        assert_eq!(snap.stats["ip_malformed"], 1);
        assert_eq!(snap.stats["syncookies_sent"], 0);
        assert_eq!(
            snap.sockets,
            [SocketRow {
                proto: "tcp".into(),
                state: "LISTEN".into(),
                recv_q: 0,
                send_q: 8,
                local: "198.18.0.2:80".into(),
                peer: "0.0.0.0:*".into(),
                tcp: None,
            }]
        );
        // What a client reads back is what was sent.
        let json = serde_json::to_vec(&snap).unwrap();
        assert_eq!(serde_json::from_slice::<Snapshot>(&json).unwrap(), snap);
    }

    #[test]
    fn the_answer_of_an_older_server_parses() {
        // Before the counters were sent.
        let snap: Snapshot = serde_json::from_str(r#"{"sockets":[]}"#).unwrap();
        assert!(snap.stats.is_empty());
    }
}
