//! `NetStack::serve_control` (feature `control`): a stack on an in-memory
//! link answers its control socket with its sockets and counters, as
//! `berth ss --control PATH` reads them, and the guard's drop removes the
//! socket.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

use berth::control::Snapshot;
use berth::net::{TcpListener, TcpStream, UdpSocket};

mod common;
use common::pair;

/// A path no other test (or test run) uses.
fn socket_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("berth-test-{}-{name}.sock", std::process::id()))
}

/// What `berth ss` does: connect, read to the end, parse.
fn ask(path: &PathBuf) -> Snapshot {
    let mut conn = UnixStream::connect(path).unwrap();
    let mut json = Vec::new();
    conn.read_to_end(&mut json).unwrap();
    serde_json::from_slice(&json).unwrap()
}

#[test]
fn control_socket_shows_sockets_and_counters() {
    let (server, client) = pair();
    let listener = TcpListener::bind(&server, "198.18.0.2:7").unwrap();
    let _udp = UdpSocket::bind(&server, "198.18.0.2:53").unwrap();
    let path = socket_path("shows");
    let control = server.serve_control(&path).unwrap();
    assert_eq!(control.path(), path);

    // A connection that carried four bytes.
    let mut c = TcpStream::connect(&client, "198.18.0.2:7").unwrap();
    let (mut s, _) = listener.accept().unwrap();
    c.write_all(b"ping").unwrap();
    let mut buf = [0; 4];
    s.read_exact(&mut buf).unwrap();

    let snap = ask(&path);
    let listening = snap
        .sockets
        .iter()
        .find(|r| r.state == "LISTEN")
        .expect("the listener");
    assert_eq!(
        (listening.proto.as_str(), listening.local.as_str()),
        ("tcp", "198.18.0.2:7")
    );
    assert!(
        snap.sockets
            .iter()
            .any(|r| r.proto == "udp" && r.local == "198.18.0.2:53")
    );
    let conn = snap
        .sockets
        .iter()
        .find(|r| r.state == "ESTABLISHED")
        .expect("the connection");
    assert_eq!(conn.local, "198.18.0.2:7");
    assert_eq!(conn.peer, c.local_addr().unwrap().to_string());
    assert_eq!(conn.tcp.as_ref().unwrap().bytes_received, 4);
    // The handshake and the data came in through the device.
    assert!(snap.stats["frames_in"] >= 2, "{:?}", snap.stats);
    assert!(snap.stats.contains_key("syncookies_sent"));
    // The library's own client reads the same.
    assert_eq!(
        berth::control::fetch(&path).unwrap().sockets.len(),
        snap.sockets.len()
    );
    assert_eq!(server.snapshot().stats.len(), snap.stats.len());

    drop(control);
    assert!(!path.exists(), "the socket file is removed");
    assert!(UnixStream::connect(&path).is_err());
}

#[test]
fn a_stale_socket_file_is_replaced_and_a_live_one_refused() {
    let (server, _client) = pair();
    let path = socket_path("stale");
    // Left by a process that is gone: bound, then closed.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    let control = server.serve_control(&path).unwrap();
    // A second server on the same path would take it from a live one.
    let err = server.serve_control(&path).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
    // ...and the first still answers.
    assert!(ask(&path).stats.contains_key("frames_in"));
    drop(control);
    assert!(!path.exists());
}

#[test]
fn dropping_the_stack_first_refuses_clients() {
    let (server, _client) = pair();
    let path = socket_path("gone");
    let control = server.serve_control(&path).unwrap();
    drop(server);
    // The control thread holds no stack: it ends at the next client,
    // which reads nothing; later ones are refused.
    let mut conn = UnixStream::connect(&path).unwrap();
    let mut got = Vec::new();
    conn.read_to_end(&mut got).unwrap();
    assert!(got.is_empty());
    drop(control);
    assert!(!path.exists());
}
