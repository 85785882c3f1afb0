//! What `RUST_LOG=berth=debug` shows: a refused connect and a reset, each
//! with its reason and the connection's addresses (issue #14), and the
//! output queue's drops counted. The stacks run on the test thread, whose
//! lines are captured.
//!
//! One global subscriber for the whole test binary, writing each thread's
//! lines to that thread's buffer when it asks for them: a scoped subscriber
//! (`with_default`) races with the other tests, which run in parallel with
//! none, over tracing's global caches (callsite interest, the maximum
//! level), and loses lines now and then.

use std::cell::RefCell;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Once;

use super::{B4, two_stacks};
use crate::tcp::State;
use crate::testing::Faults;

thread_local! {
    /// This thread's captured lines, while it captures.
    static CAPTURE: RefCell<Option<Vec<u8>>> = const { RefCell::new(None) };
}

/// Writes into the calling thread's capture, or nowhere.
struct ThreadCapture;

impl Write for ThreadCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        CAPTURE.with(|c| {
            if let Some(v) = c.borrow_mut().as_mut() {
                v.extend_from_slice(buf);
            }
        });
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs `f` with debug-level logging captured; returns the lines.
fn debug_log(f: impl FnOnce()) -> Vec<String> {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .without_time()
            .with_writer(|| ThreadCapture)
            .finish();
        // Another test binary's global default cannot be here: one per
        // process, and this is the only place that sets it.
        let _ = tracing::subscriber::set_global_default(subscriber);
    });
    CAPTURE.with(|c| *c.borrow_mut() = Some(Vec::new()));
    f();
    let bytes = CAPTURE.with(|c| c.borrow_mut().take()).unwrap_or_default();
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
    let mut p = two_stacks(Faults::default());
    let mut client = None;
    let log = debug_log(|| {
        let c =
            p.a.tcp_connect(p.now, SocketAddr::new(B4, 81), None)
                .unwrap();
        p.run_until(|p| p.a.tcp_state(c).unwrap() == State::Closed)
            .unwrap();
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
    let mut p = two_stacks(Faults::default());
    let l = p.b.tcp_listen(SocketAddr::new(B4, 80), 4).unwrap();
    let (c, s, peer) = p.establish(l, SocketAddr::new(B4, 80));
    let log = debug_log(|| {
        p.b.tcp_abort(s).unwrap();
        p.run_until(|p| p.a.tcp_state(c).unwrap() == State::Closed)
            .unwrap();
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
    let mut p = two_stacks(Faults::default());
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
