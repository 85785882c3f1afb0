//! The blocking API on two stacks joined in memory: no root needed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::thread;
use std::time::Duration;

use berth::NetStack;
use berth::net::{TcpListener, TcpStream, UdpSocket};
use berth_device::Medium;
use berth_device::channel::ChannelDevice;

mod common;
use common::{pair, pair_on};

fn echo_server(listener: TcpListener, conns: usize) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let mut workers = Vec::new();
        for _ in 0..conns {
            let (mut s, _) = listener.accept().unwrap();
            workers.push(thread::spawn(move || {
                let mut buf = [0u8; 16384];
                loop {
                    match s.read(&mut buf).unwrap() {
                        0 => break,
                        n => s.write_all(&buf[..n]).unwrap(),
                    }
                }
            }));
        }
        for w in workers {
            w.join().unwrap();
        }
    })
}

#[test]
fn echo_a_megabyte_both_families() {
    let (server, client) = pair();
    for (listen, target) in [
        ("198.18.0.2:7", "198.18.0.2:7"),
        ("[::]:7", "[2001:2::2]:7"),
    ] {
        let listener = TcpListener::bind(&server, listen).unwrap();
        let echo = echo_server(listener, 1);
        let stream = TcpStream::connect(&client, target).unwrap();
        let data: Vec<u8> = (0..1 << 20).map(|i| (i % 253) as u8).collect();
        let writer = {
            let mut w = stream.try_clone().unwrap();
            let data = data.clone();
            thread::spawn(move || {
                w.write_all(&data).unwrap();
                w.shutdown(Shutdown::Write).unwrap();
            })
        };
        let mut back = Vec::new();
        (&stream).read_to_end(&mut back).unwrap();
        writer.join().unwrap();
        assert!(back == data, "echoed bytes intact");
        echo.join().unwrap();
    }
}

#[test]
fn many_concurrent_clients() {
    let (server, client) = pair();
    let listener = TcpListener::bind(&server, "0.0.0.0:7").unwrap();
    let n = 32;
    let echo = echo_server(listener, n);
    let client = std::sync::Arc::new(client);
    let clients: Vec<_> = (0..n)
        .map(|i| {
            let client = client.clone();
            thread::spawn(move || {
                let mut s = TcpStream::connect(&client, "198.18.0.2:7").unwrap();
                let msg = format!("hello from client {i}");
                s.write_all(msg.as_bytes()).unwrap();
                s.shutdown(Shutdown::Write).unwrap();
                let mut back = String::new();
                s.read_to_string(&mut back).unwrap();
                assert_eq!(back, msg);
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    echo.join().unwrap();
}

#[test]
fn refused_and_timed_out_connects() {
    let (_server, client) = pair();
    let err = TcpStream::connect(&client, "198.18.0.2:9999").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
    // Nobody owns 198.18.0.3: the SYN goes unanswered.
    let addr: SocketAddr = "198.18.0.3:80".parse().unwrap();
    let err = TcpStream::connect_timeout(&client, &addr, Duration::from_millis(300)).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    let err = TcpStream::connect_timeout(&client, &addr, Duration::ZERO).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
}

#[test]
fn bind_errors() {
    let (server, _client) = pair();
    let _l = TcpListener::bind(&server, "198.18.0.2:80").unwrap();
    assert_eq!(
        TcpListener::bind(&server, "0.0.0.0:80").unwrap_err().kind(),
        io::ErrorKind::AddrInUse
    );
    assert_eq!(
        TcpListener::bind(&server, "198.18.0.9:80")
            .unwrap_err()
            .kind(),
        io::ErrorKind::AddrNotAvailable
    );
}

#[test]
fn read_timeout_and_nonblocking() {
    let (server, client) = pair();
    let listener = TcpListener::bind(&server, "198.18.0.2:7").unwrap();
    let acceptor = thread::spawn(move || listener.accept().unwrap().0);
    let stream = TcpStream::connect(&client, "198.18.0.2:7").unwrap();
    let _peer = acceptor.join().unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let mut buf = [0u8; 8];
    assert_eq!(
        (&stream).read(&mut buf).unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
    stream.set_read_timeout(None).unwrap();
    stream.set_nonblocking(true).unwrap();
    assert_eq!(
        (&stream).read(&mut buf).unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
    assert!(stream.set_read_timeout(Some(Duration::ZERO)).is_err());
    stream.set_nodelay(true).unwrap();
    assert!(stream.nodelay().unwrap());
    assert_eq!(stream.peer_addr().unwrap(), "198.18.0.2:7".parse().unwrap());
    assert_eq!(
        stream.local_addr().unwrap().ip(),
        "198.18.0.1".parse::<std::net::IpAddr>().unwrap()
    );
}

#[test]
fn half_close_both_ways() {
    let (server, client) = pair();
    let listener = TcpListener::bind(&server, "198.18.0.2:7").unwrap();
    let srv = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut req = String::new();
        // The client shut down writing: read to end of stream...
        s.read_to_string(&mut req).unwrap();
        // ...and the server can still answer.
        s.write_all(format!("got {req}").as_bytes()).unwrap();
    });
    let mut c = TcpStream::connect(&client, "198.18.0.2:7").unwrap();
    c.write_all(b"question").unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    assert_eq!(
        c.write(b"more").unwrap_err().kind(),
        io::ErrorKind::BrokenPipe
    );
    let mut answer = String::new();
    c.read_to_string(&mut answer).unwrap();
    assert_eq!(answer, "got question");
    srv.join().unwrap();
}

#[test]
fn dropping_the_peer_stream_gives_end_of_stream() {
    let (server, client) = pair();
    let listener = TcpListener::bind(&server, "198.18.0.2:7").unwrap();
    let srv = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.write_all(b"last words").unwrap();
        // Dropped here: a FIN after the data, not a reset.
    });
    let mut c = TcpStream::connect(&client, "198.18.0.2:7").unwrap();
    srv.join().unwrap();
    let mut got = Vec::new();
    c.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"last words");
}

#[test]
fn udp_round_trip() {
    let (server, client) = pair();
    let srv = UdpSocket::bind(&server, "198.18.0.2:7").unwrap();
    let cli = UdpSocket::bind(&client, "0.0.0.0:0").unwrap();
    cli.connect("198.18.0.2:7").unwrap();
    cli.send(b"datagram").unwrap();
    let mut buf = [0u8; 64];
    let (n, from) = srv.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"datagram");
    srv.send_to(&buf[..n], from).unwrap();
    let mut back = [0u8; 64];
    let n = cli.recv(&mut back).unwrap();
    assert_eq!(&back[..n], b"datagram");
    assert_eq!(cli.peer_addr().unwrap(), "198.18.0.2:7".parse().unwrap());
    // Bigger than the MTU: sent as IPv4 fragments and reassembled.
    let big: Vec<u8> = (0..5000u32).map(|i| i as u8).collect();
    cli.send(&big).unwrap();
    let mut got = vec![0u8; 8000];
    let (n, _) = srv.recv_from(&mut got).unwrap();
    assert_eq!(&got[..n], &big[..]);
    // Bigger than IPv4 allows at all.
    let huge = vec![0u8; 65_508];
    assert_eq!(
        cli.send(&huge).unwrap_err().kind(),
        io::ErrorKind::InvalidInput
    );
}

/// The error kinds std users match on, each produced for real.
#[test]
fn every_error_kind_for_real() {
    let (server, client) = pair();
    // ConnectionReset: the server aborts an open connection.
    let listener = TcpListener::bind(&server, "198.18.0.2:7").unwrap();
    let (connected, go) = std::sync::mpsc::channel::<()>();
    let srv = thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        // Only once the client's connect has returned: a reset racing the
        // handshake's end would fail the connect itself.
        go.recv().unwrap();
        s.abort().unwrap();
    });
    let c = TcpStream::connect(&client, "198.18.0.2:7").unwrap();
    connected.send(()).unwrap();
    srv.join().unwrap();
    let mut buf = [0u8; 8];
    assert_eq!(
        (&c).read(&mut buf).unwrap_err().kind(),
        io::ErrorKind::ConnectionReset
    );
    // Reported once, as on Linux: then the end of stream, a broken pipe,
    // and no pending error.
    assert_eq!((&c).read(&mut buf).unwrap(), 0);
    assert_eq!(
        (&c).write(b"x").unwrap_err().kind(),
        io::ErrorKind::BrokenPipe
    );
    assert!(c.take_error().unwrap().is_none());
    // NotConnected: a UDP send before connect, and peer_addr.
    let u = UdpSocket::bind(&client, "198.18.0.1:0").unwrap();
    assert_eq!(
        u.send(b"x").unwrap_err().kind(),
        io::ErrorKind::NotConnected
    );
    assert_eq!(
        u.peer_addr().unwrap_err().kind(),
        io::ErrorKind::NotConnected
    );
    // AddrNotAvailable: an address the stack does not have.
    assert_eq!(
        UdpSocket::bind(&client, "198.18.0.77:0")
            .unwrap_err()
            .kind(),
        io::ErrorKind::AddrNotAvailable
    );
    // AddrInUse for UDP too.
    let _a = UdpSocket::bind(&client, "198.18.0.1:5353").unwrap();
    assert_eq!(
        UdpSocket::bind(&client, "0.0.0.0:5353").unwrap_err().kind(),
        io::ErrorKind::AddrInUse
    );
    // InvalidInput: port 0 as a destination.
    assert_eq!(
        TcpStream::connect(&client, "198.18.0.2:0")
            .unwrap_err()
            .kind(),
        io::ErrorKind::InvalidInput
    );
}

/// The runtime rule: no global lock is held while an application
/// copies data. With the stack's lock held (by `with_stack`), a read of
/// data that has arrived and a write that fits still complete: they copy
/// under their stream's own lock. Were they to take the stack's lock, the
/// threads could not answer until the closure returned.
#[test]
fn reads_and_writes_copy_without_the_stack_lock() {
    let (server, client) = pair();
    let listener = TcpListener::bind(&server, "198.18.0.2:7").unwrap();
    let mut c = TcpStream::connect(&client, "198.18.0.2:7").unwrap();
    let (s, _) = listener.accept().unwrap();
    c.write_all(b"hello").unwrap();
    // Once a peek sees the bytes, they are in the stream's own queue.
    let mut five = [0u8; 5];
    while s.peek(&mut five).unwrap() < 5 {}
    let s = std::sync::Arc::new(s);
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = {
        let s = s.clone();
        let tx = tx.clone();
        thread::spawn(move || {
            let mut buf = [0u8; 5];
            let r = (&*s).read(&mut buf).map(|n| buf[..n].to_vec());
            tx.send(("read", r)).unwrap();
        })
    };
    let writer = {
        let s = s.clone();
        thread::spawn(move || {
            let r = (&*s).write(b"world").map(|n| b"world"[..n].to_vec());
            tx.send(("write", r)).unwrap();
        })
    };
    let answers = server.with_stack(|_locked| {
        // A generous bound so that a regression fails instead of hanging.
        let a = rx.recv_timeout(Duration::from_secs(60));
        let b = rx.recv_timeout(Duration::from_secs(60));
        [a, b]
    });
    reader.join().unwrap();
    writer.join().unwrap();
    for answer in answers {
        match answer.expect("a copy waited for the stack's lock") {
            ("read", r) => assert_eq!(r.unwrap(), b"hello"),
            (_, r) => assert_eq!(r.unwrap(), b"world"),
        }
    }
    let mut back = [0u8; 5];
    c.read_exact(&mut back).unwrap();
    assert_eq!(&back, b"world");
}

/// Dropping a stream right after a large write still delivers every byte,
/// then a FIN: what waits in the stream's queue is handed to the core
/// before the close, as a kernel socket's send buffer drains after close.
#[test]
fn dropping_after_a_write_delivers_everything_then_end_of_stream() {
    let (server, client) = pair();
    let listener = TcpListener::bind(&server, "198.18.0.2:7").unwrap();
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let expect = data.clone();
    let writer = thread::spawn(move || {
        let mut c = TcpStream::connect(&client, "198.18.0.2:7").unwrap();
        c.write_all(&data).unwrap();
        drop(c);
        client // keep the stack until the reader is done
    });
    let (mut s, _) = listener.accept().unwrap();
    let mut got = Vec::new();
    s.read_to_end(&mut got).unwrap();
    assert_eq!(got.len(), expect.len());
    assert!(got == expect, "the bytes differ");
    drop(writer.join().unwrap());
}

/// A reader that stops reading closes the peer's window: the writer ends
/// up blocked (a nonblocking write says `WouldBlock`) with a bounded amount
/// accepted, and once the reader reads again every byte arrives in order.
#[test]
fn a_stalled_reader_stops_the_writer_without_losing_data() {
    let (server, client) = pair();
    let listener = TcpListener::bind(&server, "198.18.0.2:7").unwrap();
    let c = TcpStream::connect(&client, "198.18.0.2:7").unwrap();
    let (mut s, _) = listener.accept().unwrap();
    c.set_nonblocking(true).unwrap();
    let mut sent = 0usize;
    let mut next = 0u8;
    let chunk_of =
        |start: u8| -> Vec<u8> { (0..4096u32).map(|i| start.wrapping_add(i as u8)).collect() };
    // Write until the stack says WouldBlock while the reader sleeps; the
    // writer is nonblocking, so this loop ends when every buffer is full.
    let mut stalls = 0;
    loop {
        let chunk = chunk_of(next);
        match (&c).write(&chunk) {
            Ok(n) => {
                sent += n;
                next = next.wrapping_add(n as u8);
                stalls = 0;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                // Full for now; the window may still be draining into the
                // peer: wait for the queues to settle, a few times over.
                stalls += 1;
                if stalls > 3 {
                    break;
                }
                c.set_nonblocking(false).unwrap();
                c.set_write_timeout(Some(Duration::from_millis(200)))
                    .unwrap();
                match (&c).write(&chunk) {
                    Ok(n) => {
                        sent += n;
                        next = next.wrapping_add(n as u8);
                    }
                    Err(e) => assert_eq!(e.kind(), io::ErrorKind::WouldBlock),
                }
                c.set_nonblocking(true).unwrap();
            }
            Err(e) => panic!("{e}"),
        }
        assert!(sent < 64 << 20, "the writer was never stopped");
    }
    assert!(sent > 0);
    c.shutdown(Shutdown::Write).unwrap();
    let mut got = Vec::new();
    s.read_to_end(&mut got).unwrap();
    assert_eq!(got.len(), sent);
    assert!(
        got.iter().enumerate().all(|(i, &b)| b == i as u8),
        "bytes out of order or corrupted"
    );
}

/// The bytes the server side of `stack` still holds unacknowledged, over
/// its established connections on `port`.
fn unacked(stack: &NetStack, port: u16) -> usize {
    stack.with_stack(|s| {
        s.sockets()
            .into_iter()
            .filter_map(|h| s.tcp_info(h).ok())
            .filter(|i| i.local.port() == port && i.state == berth_core::tcp::State::Established)
            .map(|i| i.send_queue)
            .sum()
    })
}

/// Data that arrived before a reset is read first, every byte of it, even
/// when more of it waits in the core than the stream's own queue holds;
/// then the reset is reported (as on Linux).
#[test]
fn data_received_before_a_reset_is_read_then_the_reset() {
    let (server, client) = pair();
    let listener = TcpListener::bind(&server, "198.18.0.2:7").unwrap();
    let mut c = TcpStream::connect(&client, "198.18.0.2:7").unwrap();
    let (mut s, _) = listener.accept().unwrap();
    // More than the client's stream queue (64 KiB), less than its core's
    // receive buffer: all of it can be acknowledged while nobody reads.
    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 239) as u8).collect();
    s.write_all(&data).unwrap();
    // Wait (bounded) until the client's core has acknowledged everything.
    let mut spins = 0u64;
    while unacked(&server, 7) > 0 {
        spins += 1;
        assert!(spins < 50_000_000, "the data was never acknowledged");
        thread::yield_now();
    }
    s.abort().unwrap();
    let mut got = Vec::new();
    let err = c.read_to_end(&mut got).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
    assert_eq!(got.len(), data.len(), "bytes received before the reset");
    assert!(got == data);
}

/// Closing a stream with unread data resets the connection at once, even
/// while what it wrote still waits for the peer's window (Linux tcp_close:
/// the send queue is dropped with the reset).
#[test]
fn dropping_a_stream_with_unread_data_resets_at_once() {
    let (server, client) = pair();
    let listener = TcpListener::bind(&server, "198.18.0.2:7").unwrap();
    let c = TcpStream::connect(&client, "198.18.0.2:7").unwrap();
    let (mut s, _) = listener.accept().unwrap();
    // The server never reads: the client's writes pile up in its queues.
    c.set_nonblocking(true).unwrap();
    let chunk = [1u8; 16384];
    while (&c).write(&chunk).is_ok() {}
    // The client has unread data once a peek sees it.
    s.write_all(b"unread").unwrap();
    c.set_nonblocking(false).unwrap();
    let mut six = [0u8; 6];
    while c.peek(&mut six).unwrap() < 6 {}
    drop(c);
    // The server drains what arrived, then learns of the reset (bounded
    // wait: without the reset the connection would stay open).
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut sink = vec![0u8; 65536];
    let err = loop {
        match s.read(&mut sink) {
            Ok(0) => panic!("a clean end of stream instead of a reset"),
            Ok(_) => {}
            Err(e) => break e,
        }
    };
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
}

/// Dropping the stack right after a stream's last write never passes a cut
/// stream off as a whole one: the peer gets every byte and the end, or a
/// reset.
#[test]
fn dropping_the_stack_never_truncates_silently() {
    let (server, client) = pair();
    let listener = TcpListener::bind(&server, "198.18.0.2:7").unwrap();
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let len = data.len();
    let writer = thread::spawn(move || {
        let mut c = TcpStream::connect(&client, "198.18.0.2:7").unwrap();
        c.write_all(&data).unwrap();
        drop(c);
        drop(client);
    });
    let (mut s, _) = listener.accept().unwrap();
    let mut got = Vec::new();
    let r = s.read_to_end(&mut got);
    writer.join().unwrap();
    match r {
        Ok(_) => assert_eq!(got.len(), len, "a clean end of stream after a cut"),
        Err(e) => assert_eq!(e.kind(), io::ErrorKind::ConnectionReset),
    }
}

/// A timeout too long for the clock means no timeout (no overflow panic),
/// and `abort` ends the stream for its own reader.
#[test]
fn huge_timeouts_and_abort() {
    let (server, client) = pair();
    let listener = TcpListener::bind(&server, "198.18.0.2:7").unwrap();
    let mut c = TcpStream::connect(&client, "198.18.0.2:7").unwrap();
    let (mut s, _) = listener.accept().unwrap();
    c.set_read_timeout(Some(Duration::MAX)).unwrap();
    c.set_write_timeout(Some(Duration::MAX)).unwrap();
    s.write_all(b"x").unwrap();
    let mut one = [0u8; 1];
    c.read_exact(&mut one).unwrap();
    c.write_all(b"y").unwrap();
    s.read_exact(&mut one).unwrap();
    let reader = {
        let c = c.try_clone().unwrap();
        thread::spawn(move || (&c).read(&mut [0u8; 8]).map_err(|e| e.kind()))
    };
    c.abort().unwrap();
    assert_eq!(reader.join().unwrap(), Err(io::ErrorKind::NotConnected));
    assert_eq!(
        (&c).write(b"z").map_err(|e| e.kind()),
        Err(io::ErrorKind::NotConnected)
    );
}

/// On a link that carries long TCP segments whole (TSO at the sender, its
/// checksum vouched for at the receiver), a megabyte echoes intact.
#[test]
fn echo_over_a_link_with_offloads() {
    let (left, right) = ChannelDevice::pair_offloaded(1500).unwrap();
    let (server, client) = pair_on(left, right);
    let listener = TcpListener::bind(&server, "198.18.0.2:7").unwrap();
    let echo = echo_server(listener, 1);
    let c = TcpStream::connect(&client, "198.18.0.2:7").unwrap();
    let data: Vec<u8> = (0..1_000_000u32).map(|i| (i * 13 % 241) as u8).collect();
    let writer = {
        let mut c = c.try_clone().unwrap();
        let data = data.clone();
        thread::spawn(move || {
            c.write_all(&data).unwrap();
            c.shutdown(Shutdown::Write).unwrap();
        })
    };
    let mut back = Vec::new();
    (&c).read_to_end(&mut back).unwrap();
    writer.join().unwrap();
    echo.join().unwrap();
    assert!(back == data, "the echo differs");
}

#[test]
fn binding_port_0_listens_on_an_ephemeral_port() {
    let (server, client) = pair();
    let listener = TcpListener::bind(&server, "198.18.0.2:0").unwrap();
    let at = listener.local_addr().unwrap();
    assert_ne!(at.port(), 0, "{at}");
    let other = TcpListener::bind(&server, "[::]:0").unwrap();
    assert_ne!(other.local_addr().unwrap().port(), 0);
    let echo = echo_server(listener, 1);
    let mut s = TcpStream::connect(&client, at).unwrap();
    s.write_all(b"port 0").unwrap();
    let mut buf = [0u8; 6];
    s.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"port 0");
    drop(s);
    echo.join().unwrap();
}

/// The ephemeral ports three UDP binds on a fresh stack get.
fn first_ports(builder: berth::NetStackBuilder) -> Vec<u16> {
    let (dev, _other) = ChannelDevice::pair(1500, Medium::Ip).unwrap();
    let stack = builder
        .addr("198.18.0.2".parse().unwrap())
        .build(dev)
        .unwrap();
    let socks: Vec<UdpSocket> = (0..3)
        .map(|_| UdpSocket::bind(&stack, "198.18.0.2:0").unwrap())
        .collect();
    socks
        .iter()
        .map(|s| s.local_addr().unwrap().port())
        .collect()
}

/// RFC 6056 and RFC 6528 rest on secrets an attacker cannot guess: a
/// stack built with the defaults draws its seed from the operating
/// system, so two of them choose differently; `.seed(n)` repeats a run.
#[test]
fn stacks_are_unpredictable_unless_seeded() {
    let a = first_ports(NetStack::builder());
    let b = first_ports(NetStack::builder());
    assert_ne!(a, b, "two default stacks chose the same ports");
    assert_eq!(
        first_ports(NetStack::builder().seed(7)),
        first_ports(NetStack::builder().seed(7))
    );
    // A seed set through `config`, 0 included, is a seed too.
    assert_eq!(
        first_ports(NetStack::builder().config(|c| c.seed = 0)),
        first_ports(NetStack::builder().seed(0))
    );
    assert_ne!(
        first_ports(NetStack::builder().config(|c| c.hop_limit = 32)),
        first_ports(NetStack::builder().config(|c| c.hop_limit = 32)),
        "a config that leaves the seed alone keeps the stack unpredictable"
    );
}

/// The handles say what they are in `{:?}`.
#[test]
fn stacks_ports_and_servers_debug_print_what_they_are() {
    let (server, _client) = pair();
    let shown = format!("{server:?}");
    assert!(
        shown.starts_with("NetStack {") && shown.contains("198.18.0.2"),
        "{shown}"
    );
    let port = server.listen_with("198.18.0.2:7", |_, _| {}).unwrap();
    let shown = format!("{port:?}");
    assert!(shown.contains("198.18.0.2:7"), "{shown}");
    let listener = TcpListener::bind(&server, "198.18.0.2:80").unwrap();
    let srv = berth::server::Server::start(listener, 2, 8, |_, _| Ok(())).unwrap();
    let shown = format!("{srv:?}");
    assert!(
        shown.contains("198.18.0.2:80") && shown.contains("workers: 2"),
        "{shown}"
    );
    srv.shutdown();
}

/// `take_error` reports a reset once and clears it (`SO_ERROR`); what
/// arrived before the reset is still read, then the end of stream.
#[test]
fn take_error_reports_a_reset_once() {
    let (server, client) = pair();
    let listener = TcpListener::bind(&server, "198.18.0.2:7").unwrap();
    let c = TcpStream::connect(&client, "198.18.0.2:7").unwrap();
    let (mut s, _) = listener.accept().unwrap();
    s.write_all(b"before").unwrap();
    let mut six = [0u8; 6];
    while c.peek(&mut six).unwrap() < 6 {}
    s.abort().unwrap();
    // Bounded wait for the reset to arrive.
    let mut spins = 0u64;
    let first = loop {
        if let Some(e) = c.take_error().unwrap() {
            break e;
        }
        spins += 1;
        assert!(spins < 50_000_000, "the reset never arrived");
        thread::yield_now();
    };
    assert_eq!(first.kind(), io::ErrorKind::ConnectionReset);
    assert!(c.take_error().unwrap().is_none(), "reported twice");
    let mut got = Vec::new();
    (&c).read_to_end(&mut got).unwrap();
    assert_eq!(got, b"before");
    assert_eq!(
        (&c).write(b"x").unwrap_err().kind(),
        io::ErrorKind::BrokenPipe
    );
}

/// A connected UDP socket learns of the peer's closed port on its next
/// call, once (the peer stack answers with ICMP port unreachable).
#[test]
fn a_connected_udp_socket_hears_connection_refused_once() {
    let (_server, client) = pair();
    let u = UdpSocket::bind(&client, "198.18.0.1:0").unwrap();
    u.connect("198.18.0.2:9999").unwrap();
    u.send(b"anyone?").unwrap();
    u.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(
        u.recv(&mut buf).unwrap_err().kind(),
        io::ErrorKind::ConnectionRefused
    );
    // Reported once: the next receive waits (and times out).
    u.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    let again = u.recv(&mut buf).unwrap_err().kind();
    assert!(
        matches!(again, io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut),
        "{again:?}"
    );
}

/// `connect` tries every address it is given, in order, as std does; a
/// name is refused at once rather than sent to the host's resolver.
#[test]
fn connect_tries_each_address_and_resolves_no_names() {
    let (server, client) = pair();
    let listener = TcpListener::bind(&server, "198.18.0.2:7").unwrap();
    let echo = echo_server(listener, 1);
    let closed: SocketAddr = "198.18.0.2:8".parse().unwrap();
    let open: SocketAddr = "198.18.0.2:7".parse().unwrap();
    let s = TcpStream::connect(&client, &[closed, open][..]).unwrap();
    assert_eq!(s.peer_addr().unwrap(), open);
    drop(s);
    echo.join().unwrap();
    assert_eq!(
        TcpStream::connect(&client, &[closed][..])
            .unwrap_err()
            .kind(),
        io::ErrorKind::ConnectionRefused
    );
    let e = TcpStream::connect(&client, "example.invalid:80").unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{e}");
}

/// `incoming()` on a listener whose stack is gone yields the error once,
/// then ends: a loop that logs errors and goes on stops instead of
/// spinning.
#[test]
fn incoming_ends_when_the_stack_is_gone() {
    let (server, _client) = pair();
    let listener = TcpListener::bind(&server, "198.18.0.2:7").unwrap();
    drop(server);
    let errors: Vec<io::ErrorKind> = listener
        .incoming()
        .take(1000)
        .map(|r| r.unwrap_err().kind())
        .collect();
    assert_eq!(errors, [io::ErrorKind::NotConnected]);
}

/// Broadcast needs `set_broadcast(true)`, as on Linux (EACCES otherwise);
/// a TCP connect to it is NetworkUnreachable.
#[test]
fn broadcast_needs_so_broadcast() {
    let (_server, client) = pair();
    let u = UdpSocket::bind(&client, "198.18.0.1:0").unwrap();
    assert!(!u.broadcast().unwrap());
    assert_eq!(
        u.send_to(b"all", "255.255.255.255:9").unwrap_err().kind(),
        io::ErrorKind::PermissionDenied
    );
    assert_eq!(
        u.connect("255.255.255.255:9").unwrap_err().kind(),
        io::ErrorKind::PermissionDenied
    );
    u.set_broadcast(true).unwrap();
    assert!(u.broadcast().unwrap());
    assert_eq!(u.send_to(b"all", "255.255.255.255:9").unwrap(), 3);
    assert_eq!(
        TcpStream::connect(&client, "255.255.255.255:80")
            .unwrap_err()
            .kind(),
        io::ErrorKind::NetworkUnreachable
    );
}

/// A stack reaches itself at 127.0.0.1, ::1, `localhost` and its own
/// address, without the device (the peer stack sees none of it).
#[test]
fn loopback_and_its_own_address() {
    let (server, _client) = pair();
    for (listen, target) in [
        ("127.0.0.1:0", None),
        ("[::1]:0", None),
        ("0.0.0.0:0", Some("localhost")),
        ("198.18.0.2:0", None),
    ] {
        let listener = TcpListener::bind(&server, listen).unwrap();
        let at = listener.local_addr().unwrap();
        let echo = echo_server(listener, 1);
        let mut s = match target {
            Some(name) => TcpStream::connect(&server, (name, at.port())).unwrap(),
            None => TcpStream::connect(&server, at).unwrap(),
        };
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
        let writer = {
            let mut w = s.try_clone().unwrap();
            let data = data.clone();
            thread::spawn(move || {
                w.write_all(&data).unwrap();
                w.shutdown(Shutdown::Write).unwrap();
            })
        };
        let mut back = Vec::new();
        s.read_to_end(&mut back).unwrap();
        writer.join().unwrap();
        assert!(back == data, "{listen}");
        echo.join().unwrap();
    }
    let stats = server.stats();
    assert!(stats.loopback_packets > 0);
}

/// A stack whose address has a prefix and no default route cannot reach
/// other networks: NetworkUnreachable at once, for TCP and UDP.
#[test]
fn no_route_fails_at_once() {
    let (left, _right) = ChannelDevice::pair(1500, Medium::Ip).unwrap();
    let stack = NetStack::builder()
        .addr_prefix("198.18.0.2".parse().unwrap(), 24)
        .seed(3)
        .build(left)
        .unwrap();
    assert_eq!(
        TcpStream::connect(&stack, "198.51.100.1:80")
            .unwrap_err()
            .kind(),
        io::ErrorKind::NetworkUnreachable
    );
    let u = UdpSocket::bind(&stack, "0.0.0.0:0").unwrap();
    assert_eq!(
        u.send_to(b"x", "198.51.100.1:53").unwrap_err().kind(),
        io::ErrorKind::NetworkUnreachable
    );
    assert_eq!(u.send_to(b"x", "198.18.0.7:53").unwrap(), 1);
}

/// `take_error` on a UDP socket returns the pending ICMP error once;
/// `bind` tries each address it is given, as std does.
#[test]
fn udp_take_error_and_bind_fallthrough() {
    let (_server, client) = pair();
    let taken = UdpSocket::bind(&client, "198.18.0.1:4000").unwrap();
    let a: SocketAddr = "198.18.0.1:4000".parse().unwrap();
    let b: SocketAddr = "198.18.0.1:4001".parse().unwrap();
    let u = UdpSocket::bind(&client, &[a, b][..]).unwrap();
    assert_eq!(u.local_addr().unwrap(), b);
    drop(taken);
    u.connect("198.18.0.2:9999").unwrap();
    u.send(b"anyone?").unwrap();
    // Bounded wait for the ICMP port unreachable.
    let mut spins = 0u64;
    let e = loop {
        if let Some(e) = u.take_error().unwrap() {
            break e;
        }
        spins += 1;
        assert!(spins < 50_000_000, "no ICMP error arrived");
        thread::yield_now();
    };
    assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused);
    assert!(u.take_error().unwrap().is_none());
}

/// `set_ttl`/`ttl` as std's: on listeners (inherited by accepted streams),
/// streams and UDP sockets; 0 and values over 255 are `InvalidInput`.
#[test]
fn ttl_on_every_socket() {
    let (server, client) = pair();
    let listener = TcpListener::bind(&server, "198.18.0.2:0").unwrap();
    assert_eq!(listener.ttl().unwrap(), 64);
    listener.set_ttl(17).unwrap();
    assert_eq!(listener.ttl().unwrap(), 17);
    assert_eq!(
        listener.set_ttl(0).unwrap_err().kind(),
        io::ErrorKind::InvalidInput
    );
    let stream = TcpStream::connect(&client, listener.local_addr().unwrap()).unwrap();
    let (accepted, _) = listener.accept().unwrap();
    assert_eq!(accepted.ttl().unwrap(), 17, "inherited from the listener");
    assert_eq!(stream.ttl().unwrap(), 64);
    stream.set_ttl(255).unwrap();
    assert_eq!(stream.ttl().unwrap(), 255);
    assert_eq!(
        stream.set_ttl(256).unwrap_err().kind(),
        io::ErrorKind::InvalidInput
    );
    let udp = UdpSocket::bind(&client, "198.18.0.1:0").unwrap();
    udp.set_ttl(3).unwrap();
    assert_eq!(udp.ttl().unwrap(), 3);
}

/// `stack_thread_cpu`: a CPU that exists keeps the stack working; one that
/// cannot be used fails `build` with the reason.
#[test]
fn the_stack_thread_can_be_kept_on_a_cpu() {
    let (left, right) = ChannelDevice::pair(1500, Medium::Ip).unwrap();
    let server = NetStack::builder()
        .addr("198.18.0.2".parse().unwrap())
        .stack_thread_cpu(0)
        .build(left)
        .unwrap();
    let listener = TcpListener::bind(&server, "198.18.0.2:7").unwrap();
    let client = NetStack::builder()
        .addr("198.18.0.1".parse().unwrap())
        .build(right)
        .unwrap();
    let _c = TcpStream::connect(&client, "198.18.0.2:7").unwrap();
    listener.accept().unwrap();
    let (left, _right) = ChannelDevice::pair(1500, Medium::Ip).unwrap();
    let err = NetStack::builder()
        .stack_thread_cpu(1 << 20)
        .build(left)
        .err()
        .unwrap();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("CPU"), "{err}");
}

/// `TcpListener::try_clone`: either handle accepts from the same queue, and
/// the port stays open until the last handle goes.
#[test]
fn a_cloned_listener_accepts_until_the_last_handle_goes() {
    let (server, client) = pair();
    let listener = TcpListener::bind(&server, "198.18.0.2:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let clone = listener.try_clone().unwrap();
    assert_eq!(clone.local_addr().unwrap(), addr);
    let _first = TcpStream::connect(&client, addr).unwrap();
    let (_, peer) = clone.accept().unwrap();
    assert_eq!(peer.ip(), "198.18.0.1".parse::<std::net::IpAddr>().unwrap());
    // The nonblocking mode is shared, as with a dup'ed descriptor.
    listener.set_nonblocking(true).unwrap();
    assert_eq!(
        clone.accept().unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
    clone.set_nonblocking(false).unwrap();
    drop(listener);
    let _second = TcpStream::connect(&client, addr).unwrap();
    clone.accept().unwrap();
    drop(clone);
    assert_eq!(
        TcpStream::connect(&client, addr).unwrap_err().kind(),
        io::ErrorKind::ConnectionRefused,
        "closed with its last handle"
    );
}

/// `peek_from`/`peek` leave the datagram queued: the receive after them
/// returns it again; they wait, and time out, like a receive.
#[test]
fn udp_peek_and_timeout_getters() {
    let (server, client) = pair();
    let srv = UdpSocket::bind(&server, "198.18.0.2:7").unwrap();
    let cli = UdpSocket::bind(&client, "198.18.0.1:0").unwrap();
    assert_eq!(srv.read_timeout().unwrap(), None);
    assert_eq!(srv.write_timeout().unwrap(), None);
    srv.set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    srv.set_write_timeout(Some(Duration::from_secs(3))).unwrap();
    assert_eq!(srv.read_timeout().unwrap(), Some(Duration::from_millis(20)));
    assert_eq!(srv.write_timeout().unwrap(), Some(Duration::from_secs(3)));
    let mut buf = [0u8; 64];
    assert_eq!(
        srv.peek_from(&mut buf).unwrap_err().kind(),
        io::ErrorKind::WouldBlock,
        "a peek times out like a receive"
    );
    srv.set_read_timeout(None).unwrap();
    cli.send_to(b"first", "198.18.0.2:7").unwrap();
    cli.send_to(b"second", "198.18.0.2:7").unwrap();
    let (n, from) = srv.peek_from(&mut buf).unwrap();
    assert_eq!(
        (&buf[..n], from),
        (&b"first"[..], cli.local_addr().unwrap())
    );
    let mut small = [0u8; 3];
    assert_eq!(srv.peek_from(&mut small).unwrap(), (3, from), "truncated");
    assert_eq!(&small, b"fir");
    let (n, _) = srv.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"first", "the peeked datagram is still there");
    // `peek` on a connected socket.
    srv.connect(from).unwrap();
    let n = srv.peek(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"second");
    let n = srv.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"second");
    srv.set_nonblocking(true).unwrap();
    assert_eq!(
        srv.peek(&mut buf).unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
    // A clone shares the queue.
    let clone = srv.try_clone().unwrap();
    cli.send_to(b"third", "198.18.0.2:7").unwrap();
    clone.set_nonblocking(false).unwrap();
    let n = clone.peek(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"third");
    let n = srv.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"third");
}

/// `set_linger(Some(0))`: dropping the stream resets the connection (the
/// peer's read fails with `ConnectionReset`) at once, whatever was still
/// queued; a longer linger closes gracefully. Linux keeps whole seconds.
#[test]
fn linger_zero_resets_on_close() {
    let (server, client) = pair();
    let listener = TcpListener::bind(&server, "198.18.0.2:7").unwrap();
    let c = TcpStream::connect(&client, "198.18.0.2:7").unwrap();
    let (mut s, _) = listener.accept().unwrap();
    assert_eq!(c.linger().unwrap(), None);
    c.set_linger(Some(Duration::from_millis(1500))).unwrap();
    assert_eq!(c.linger().unwrap(), Some(Duration::from_secs(1)));
    c.set_linger(Some(Duration::from_millis(999))).unwrap();
    assert_eq!(
        c.linger().unwrap(),
        Some(Duration::ZERO),
        "under a second is zero, as on Linux"
    );
    // Written, some of it perhaps still queued (the server does not read):
    // the reset does not wait for it.
    (&c).write_all(&vec![1u8; 320 * 1024]).unwrap();
    drop(c);
    let mut sink = vec![0u8; 65536];
    let err = loop {
        match s.read(&mut sink) {
            Ok(0) => panic!("a clean end of stream instead of a reset"),
            Ok(_) => {}
            Err(e) => break e,
        }
    };
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);

    // A linger time of seconds: a graceful close, in the background.
    let c = TcpStream::connect(&client, "198.18.0.2:7").unwrap();
    let (mut s, _) = listener.accept().unwrap();
    c.set_linger(Some(Duration::from_secs(5))).unwrap();
    (&c).write_all(b"everything").unwrap();
    drop(c);
    let mut got = Vec::new();
    s.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"everything");
}

/// `shutdown(Read)` on one clone wakes a read blocked on another, which
/// returns 0 (as on Linux); data queued before the shutdown is still read
/// first, and reads after it never wait.
#[test]
fn shutdown_read_wakes_a_blocked_reader() {
    let (server, client) = pair();
    let listener = TcpListener::bind(&server, "198.18.0.2:7").unwrap();
    let peer = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.write_all(b"queued").unwrap();
        // Held open until the client is done: no FIN ends the reads.
        let mut rest = Vec::new();
        s.read_to_end(&mut rest).unwrap();
    });
    let stream = TcpStream::connect(&client, "198.18.0.2:7").unwrap();

    // Data that arrived before the shutdown is read, then 0.
    let mut buf = [0u8; 16];
    let n = stream.peek(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"queued");
    stream.shutdown(Shutdown::Read).unwrap();
    assert_eq!((&stream).read(&mut buf).unwrap(), 6);
    assert_eq!(&buf[..6], b"queued");
    assert_eq!((&stream).read(&mut buf).unwrap(), 0);

    // A second connection: a reader blocked (or about to block) in read
    // is woken by a shutdown on another clone.
    let listener2 = TcpListener::bind(&server, "198.18.0.2:8").unwrap();
    let peer2 = thread::spawn(move || {
        let (mut s, _) = listener2.accept().unwrap();
        let mut rest = Vec::new();
        s.read_to_end(&mut rest).unwrap();
    });
    let stream2 = TcpStream::connect(&client, "198.18.0.2:8").unwrap();
    let reader_side = stream2.try_clone().unwrap();
    let (about_to_read, ready) = std::sync::mpsc::channel();
    let (done, result) = std::sync::mpsc::channel();
    let reader = thread::spawn(move || {
        about_to_read.send(()).unwrap();
        let mut buf = [0u8; 16];
        done.send((&reader_side).read(&mut buf).map_err(|e| e.kind()))
            .unwrap();
    });
    // Whether the read has started to wait or not does not matter.
    ready.recv().unwrap();
    stream2.shutdown(Shutdown::Read).unwrap();
    // A guard against a hang, not a timing: a lost wake-up fails here.
    let got = result.recv_timeout(Duration::from_secs(60));
    assert_eq!(got, Ok(Ok(0)), "the blocked read returned end of stream");
    reader.join().unwrap();

    drop((stream, stream2));
    peer.join().unwrap();
    peer2.join().unwrap();
}

/// `info()` is the connection as the stack has it (with what waits in the
/// stream's own queue), and `Debug` shows addresses and state; neither
/// panics once the stack is gone.
#[test]
fn info_and_debug_show_the_connection() {
    let (server, client) = pair();
    let listener = TcpListener::bind(&server, "198.18.0.2:7").unwrap();
    assert!(
        format!("{listener:?}").contains("local: 198.18.0.2:7"),
        "{listener:?}"
    );
    let stream = TcpStream::connect(&client, "198.18.0.2:7").unwrap();
    let (mut accepted, peer) = listener.accept().unwrap();
    accepted.write_all(b"hello").unwrap();
    // Arrived (in the stream's queue), not read.
    let mut buf = [0u8; 8];
    let n = stream.peek(&mut buf).unwrap();
    let info = stream.info().unwrap();
    assert_eq!(info.state, berth::berth_core::tcp::State::Established);
    assert_eq!(info.local, peer);
    assert_eq!(info.remote, "198.18.0.2:7".parse().unwrap());
    assert!(info.recv_queue >= n, "{info:?}");
    assert!(info.cwnd > 0 && info.stats.segs_out > 0, "{info:?}");
    let shown = format!("{stream:?}");
    for part in [
        format!("local: {peer}"),
        "peer: 198.18.0.2:7".to_string(),
        "state: Established".to_string(),
    ] {
        assert!(shown.contains(&part), "{shown}");
    }
    let udp = UdpSocket::bind(&client, "198.18.0.1:5353").unwrap();
    udp.connect("198.18.0.2:53").unwrap();
    let shown = format!("{udp:?}");
    assert!(
        shown.contains("local: 198.18.0.1:5353") && shown.contains("peer: 198.18.0.2:53"),
        "{shown}"
    );
    // The stack goes away under the objects: they still format.
    drop(client);
    let _ = format!("{stream:?} {udp:?}");
    if let Err(e) = stream.info() {
        assert_eq!(e.kind(), io::ErrorKind::NotConnected);
    }
}

/// A write goes out on the writer's own thread when the stack is free:
/// with the stack thread held up (in a callback handler that waits, which
/// runs without the stack's lock), a stream's write still reaches the
/// peer. Before inline transmission it waited for the stack thread.
#[test]
fn a_write_leaves_on_the_writers_thread_while_the_stack_thread_is_busy() {
    let (server, client) = pair();
    // The client side (198.18.0.1) listens; the server stack connects.
    let listener = TcpListener::bind(&client, "198.18.0.1:80").unwrap();
    let mut out = TcpStream::connect(&server, "198.18.0.1:80").unwrap();
    let (mut peer, _) = listener.accept().unwrap();
    // Hold the server's stack thread in a handler until released.
    let (held_tx, held) = std::sync::mpsc::channel();
    let (release, release_rx) = std::sync::mpsc::channel::<()>();
    let release_rx = std::sync::Mutex::new(release_rx);
    let _port = server
        .listen_with("198.18.0.2:9", move |_, event| {
            if let berth::PortEvent::Accepted { .. } = event {
                let _ = held_tx.send(());
                let _ = release_rx
                    .lock()
                    .unwrap()
                    .recv_timeout(Duration::from_secs(60));
            }
        })
        .unwrap();
    let _trigger = TcpStream::connect(&client, "198.18.0.2:9").unwrap();
    held.recv_timeout(Duration::from_secs(60)).unwrap();
    out.write_all(b"inline").unwrap();
    peer.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut got = [0u8; 6];
    let read = peer.read_exact(&mut got);
    release.send(()).unwrap();
    read.unwrap();
    assert_eq!(&got, b"inline");
}

/// A UDP socket bound to the wildcard names, once connected, the address
/// its datagrams leave from (as getsockname on Linux after connect); the
/// peer sees the datagram come from that address.
#[test]
fn a_connected_wildcard_udp_socket_names_its_source_address() {
    let (server, client) = pair();
    let peer = UdpSocket::bind(&server, "198.18.0.2:9999").unwrap();
    let s = UdpSocket::bind(&client, "0.0.0.0:0").unwrap();
    let port = s.local_addr().unwrap().port();
    assert_eq!(
        s.local_addr().unwrap(),
        SocketAddr::from(([0, 0, 0, 0], port))
    );
    s.connect("198.18.0.2:9999").unwrap();
    assert_eq!(
        s.local_addr().unwrap(),
        SocketAddr::from(([198, 18, 0, 1], port))
    );
    s.send(b"from").unwrap();
    peer.set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut buf = [0u8; 8];
    let (n, from) = peer.recv_from(&mut buf).unwrap();
    assert_eq!((&buf[..n], from), (&b"from"[..], s.local_addr().unwrap()));
    // And a reply to it reaches the connected socket.
    peer.send_to(b"back", from).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    assert_eq!(s.recv(&mut buf).unwrap(), 4);
}
