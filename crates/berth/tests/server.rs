//! `berth::server::Server` on two stacks joined in memory: a panicking
//! handler does not kill its worker, `shutdown_timeout` resets idle
//! connections, `local_addr`. No root needed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{self, Read, Write};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use berth::NetStack;
use berth::net::{TcpListener, TcpStream};
use berth::server::{Server, ServerStats};

mod common;
use common::pair;

/// A bound on waits that only a hang reaches.
const HANG: Duration = Duration::from_secs(60);

fn connect(client: &NetStack) -> TcpStream {
    let c = TcpStream::connect(client, "198.18.0.2:7").unwrap();
    c.set_read_timeout(Some(HANG)).unwrap();
    c
}

/// Reads until the connection ends: the bytes, and how it ended (`Ok` for
/// end of stream, else the error's kind).
fn read_to_end(c: &mut TcpStream) -> (Vec<u8>, Result<(), io::ErrorKind>) {
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    loop {
        match c.read(&mut buf) {
            Ok(0) => return (got, Ok(())),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => {
                assert_ne!(e.kind(), io::ErrorKind::WouldBlock, "hung");
                return (got, Err(e.kind()));
            }
        }
    }
}

/// Runs `f` on a thread of its own and waits for it at most `HANG`.
fn bounded<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(HANG).expect("did not return")
}

/// The handler reads one byte: `p` panics, `e` fails, anything else is
/// echoed. With ONE worker, the clients after the panic are served by the
/// same worker thread.
#[test]
fn a_panicking_handler_does_not_kill_its_worker() {
    let (server, client) = pair();
    let listener = TcpListener::bind(&server, "198.18.0.2:7").unwrap();
    let srv = Server::start(listener, 1, 4, |mut s, _peer| {
        let mut b = [0u8; 1];
        s.read_exact(&mut b)?;
        match b[0] {
            b'p' => panic!("handler told to panic"),
            b'e' => Err(io::Error::other("handler told to fail")),
            _ => {
                let worker = thread::current().name().unwrap_or("?").to_owned();
                s.write_all(worker.as_bytes())
            }
        }
    })
    .unwrap();

    let mut first = connect(&client);
    first.write_all(b"p").unwrap();
    // The panic resets the connection.
    assert_eq!(
        read_to_end(&mut first),
        (vec![], Err(io::ErrorKind::ConnectionReset))
    );
    assert_eq!(srv.stats().panicked, 1);

    for _ in 0..2 {
        let mut c = connect(&client);
        c.write_all(b"x").unwrap();
        assert_eq!(read_to_end(&mut c), (b"berth-worker-0".to_vec(), Ok(())));
    }
    let mut failing = connect(&client);
    failing.write_all(b"e").unwrap();
    assert_eq!(read_to_end(&mut failing), (vec![], Ok(())));

    // Each connection was counted before it closed.
    assert_eq!(
        (
            srv.stats().served,
            srv.stats().failed,
            srv.stats().panicked,
            srv.stats().active
        ),
        (2, 1, 1, 0)
    );
    bounded(move || srv.shutdown());
}

/// An idle client does not hold `shutdown_timeout` up: at the deadline its
/// connection is reset, the handler's blocked read fails, the handler
/// returns and so does the call. A second client, still in the queue
/// behind the busy worker, is reset without running the handler.
#[test]
fn shutdown_timeout_returns_with_an_idle_client_connected() {
    let (server, client) = pair();
    let listener = TcpListener::bind(&server, "198.18.0.2:7").unwrap();
    let (entered_tx, entered) = mpsc::channel();
    let (exited_tx, exited) = mpsc::channel();
    let srv = Server::start(listener, 1, 4, move |mut s, peer| {
        entered_tx.send(peer).unwrap();
        let mut buf = [0u8; 16];
        let r = s.read(&mut buf).map_err(|e| e.kind());
        exited_tx.send(r).unwrap();
        r.map(drop).map_err(io::Error::from)
    })
    .unwrap();

    let mut idle = connect(&client);
    let peer = entered.recv_timeout(HANG).unwrap();
    assert_eq!(peer, idle.local_addr().unwrap());
    let mut queued = connect(&client);
    assert_eq!(srv.stats().active, 1);

    bounded(move || srv.shutdown_timeout(Duration::from_millis(200)));

    // The handler's read was ended by the reset, not by the client.
    assert!(exited.recv_timeout(HANG).unwrap().is_err());
    // It ran once: the queued connection was not handed to it.
    assert!(entered.try_recv().is_err());
    for c in [&mut idle, &mut queued] {
        let (got, end) = read_to_end(c);
        assert!(got.is_empty());
        assert!(
            matches!(end, Ok(()) | Err(io::ErrorKind::ConnectionReset)),
            "{end:?}"
        );
    }
    // Nothing listens any more.
    let again = TcpStream::connect(&client, "198.18.0.2:7").map(drop);
    assert_eq!(again.unwrap_err().kind(), io::ErrorKind::ConnectionRefused);
}

/// Within the deadline, `shutdown_timeout` lets a handler finish its
/// connection normally.
#[test]
fn shutdown_timeout_lets_a_busy_handler_finish() {
    let (server, client) = pair();
    let listener = TcpListener::bind(&server, "198.18.0.2:7").unwrap();
    let (entered_tx, entered) = mpsc::channel();
    let srv = Server::start(listener, 1, 4, move |mut s, _| {
        entered_tx.send(()).unwrap();
        let mut line = [0u8; 5];
        s.read_exact(&mut line)?;
        s.write_all(&line)
    })
    .unwrap();
    let mut c = connect(&client);
    entered.recv_timeout(HANG).unwrap();
    let stopping = thread::spawn(move || srv.shutdown_timeout(HANG));
    c.write_all(b"hello").unwrap();
    assert_eq!(read_to_end(&mut c), (b"hello".to_vec(), Ok(())));
    bounded(move || stopping.join().unwrap());
}

#[test]
fn local_addr_is_the_listeners() {
    let (server, _client) = pair();
    let listener = TcpListener::bind(&server, "198.18.0.2:0").unwrap();
    let at = listener.local_addr().unwrap();
    assert_ne!(at.port(), 0);
    let srv = Server::start(listener, 2, 2, |_, _| Ok(())).unwrap();
    assert_eq!(srv.local_addr(), at);
    assert_eq!(srv.stats(), ServerStats::default());
    bounded(move || srv.shutdown());
}
