//! What `RUST_LOG=berth=debug` shows: a refused connect and a reset, each
//! with its reason and the connection's addresses (issue #14), and the
//! output queue's drops counted. The log is captured on the test thread
//! (`tracing::subscriber::with_default`), where the stacks run.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use super::{B4, Pair};
use crate::tcp::State;
use crate::testing::Faults;

/// A writer into a shared buffer, for the subscriber.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs `f` with debug-level logging captured; returns the lines.
fn debug_log(f: impl FnOnce()) -> Vec<String> {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .without_time()
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, f);
    let bytes = capture.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
    String::from_utf8_lossy(&bytes)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The one line that has every one of `words`.
fn line_with<'a>(log: &'a [String], words: &[&str]) -> &'a str {
    let found: Vec<_> = log
        .iter()
        .filter(|l| words.iter().all(|w| l.contains(w)))
        .collect();
    assert!(
        !found.is_empty(),
        "no line with {words:?} in:\n{}",
        log.join("\n")
    );
    found[0]
}

#[test]
fn a_refused_connect_is_logged_on_both_sides_with_its_reason() {
    let mut p = Pair::new(Faults::default());
    let mut client = None;
    let log = debug_log(|| {
        let c =
            p.a.tcp_connect(p.now, SocketAddr::new(B4, 81), None)
                .unwrap();
        p.run_until(|p| p.a.tcp_state(c).unwrap() == State::Closed);
        client = Some(p.a.local_addr(c).unwrap());
    });
    let client = client.unwrap().to_string();
    // The server: no socket, answered with a RST.
    line_with(
        &log,
        &[
            "connection refused: RST sent",
            "reason=\"no socket\"",
            "local=198.18.0.2:81",
            &format!("remote={client}"),
        ],
    );
    // The client: the RST ends the connect, refused.
    line_with(
        &log,
        &[
            "tcp state",
            &format!("local={client}"),
            "remote=198.18.0.2:81",
            "from=SYN-SENT",
            "why=\"RST received\"",
            "error=connection refused",
        ],
    );
    assert_eq!(p.b.stats().tcp_no_socket, 1);
}

#[test]
fn a_reset_is_logged_where_it_is_sent_and_where_it_is_received() {
    let mut p = Pair::new(Faults::default());
    let l = p.b.tcp_listen(SocketAddr::new(B4, 80), 4).unwrap();
    let (c, s, peer) = p.establish(l, SocketAddr::new(B4, 80));
    let log = debug_log(|| {
        p.b.tcp_abort(s).unwrap();
        p.run_until(|p| p.a.tcp_state(c).unwrap() == State::Closed);
    });
    let server = format!("local=198.18.0.2:80 remote={peer}");
    let client = format!("local={peer} remote=198.18.0.2:80");
    line_with(&log, &["RST sent", &server]);
    line_with(
        &log,
        &[
            "tcp state",
            &client,
            "from=ESTABLISHED",
            "to=CLOSED",
            "why=\"RST received\"",
            "error=connection reset by peer",
        ],
    );
}

#[test]
fn a_full_output_queue_drops_are_counted_and_logged() {
    let mut p = Pair::new(Faults::default());
    // A SYN to a closed port, delivered again and again while nothing
    // drains `b`'s output: each draws a RST until the queue is full.
    p.a.tcp_connect(p.now, SocketAddr::new(B4, 81), None)
        .unwrap();
    let mut buf = [0u8; 1500];
    let n = p.a.poll_transmit(p.now, &mut buf).unwrap();
    let syn = buf[..n].to_vec();
    let extra = 10;
    let limit = super::super::output::MAX_QUEUED_PACKETS;
    let log = debug_log(|| {
        for _ in 0..limit + extra {
            p.b.handle_frame(p.now, &syn);
        }
    });
    assert_eq!(p.b.stats().out_queue_full, extra as u64);
    assert_eq!(p.b.stats().tcp_no_socket, (limit + extra) as u64);
    line_with(&log, &["packet dropped", "reason=\"output queue full\""]);
}
