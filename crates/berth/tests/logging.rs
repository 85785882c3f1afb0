//! `RUST_LOG=berth=debug` shows a refused connect and a reset, with their
//! reasons and the connection's addresses (issue #14). The stacks log from
//! their own threads, so the subscriber is the global one: this binary
//! holds this one test, which nothing else contends with.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex};

use berth::NetStack;
use berth::net::{TcpListener, TcpStream};
use berth_device::Medium;
use berth_device::channel::ChannelDevice;

/// A writer into a shared buffer, for the subscriber.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Capture {
    fn lines(&self) -> Vec<String> {
        let bytes = self.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
        String::from_utf8_lossy(&bytes)
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

fn assert_line(log: &[String], words: &[&str]) {
    assert!(
        log.iter().any(|l| words.iter().all(|w| l.contains(w))),
        "no line with {words:?} in:\n{}",
        log.join("\n")
    );
}

#[test]
fn berth_debug_shows_a_refused_connect_and_a_reset() {
    let capture = Capture::default();
    let writer = capture.clone();
    // The directive a user would put in RUST_LOG: `berth` covers the
    // core's targets too (`berth_core::...`), as a prefix.
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("berth=debug"))
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let (left, right) = ChannelDevice::pair(1500, Medium::Ip).unwrap();
    let server = NetStack::builder()
        .addr("198.18.0.2".parse().unwrap())
        .seed(2)
        .build(left)
        .unwrap();
    let client = NetStack::builder()
        .addr("198.18.0.1".parse().unwrap())
        .seed(1)
        .build(right)
        .unwrap();

    // Refused: nothing listens on port 81.
    let err = TcpStream::connect(&client, "198.18.0.2:81").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
    let log = capture.lines();
    assert_line(
        &log,
        &[
            "connection refused: RST sent",
            "reason=\"no socket\"",
            "local=198.18.0.2:81",
            "remote=198.18.0.1:",
        ],
    );
    assert_line(
        &log,
        &[
            "remote=198.18.0.2:81",
            "why=\"RST received\"",
            "error=connection refused",
        ],
    );

    // Reset: the server aborts an established connection.
    let listener = TcpListener::bind(&server, "198.18.0.2:80").unwrap();
    let mut stream = TcpStream::connect(&client, "198.18.0.2:80").unwrap();
    let (accepted, _) = listener.accept().unwrap();
    accepted.abort().unwrap();
    let mut buf = [0u8; 8];
    let err = stream.read(&mut buf).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
    let local = stream.local_addr().unwrap();
    let log = capture.lines();
    assert_line(&log, &["RST sent", "local=198.18.0.2:80"]);
    assert_line(
        &log,
        &[
            &format!("local={local}"),
            "remote=198.18.0.2:80",
            "from=ESTABLISHED",
            "why=\"RST received\"",
            "error=connection reset by peer",
        ],
    );
}
