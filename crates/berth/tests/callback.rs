//! Per-port callbacks on the stack thread: an echo service with no thread of
//! its own serves several blocking clients; its events arrive in order.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::Shutdown;
use std::sync::{Arc, Mutex};

use berth::net::TcpStream;
use berth::{NetStack, PortEvent};
use berth_device::Medium;
use berth_device::channel::ChannelDevice;

#[test]
fn callback_echo_serves_clients() {
    let (host, peer) = two_stacks();
    let log = Arc::new(Mutex::new(Vec::new()));
    let seen = log.clone();
    let port = host
        .listen_with("198.18.0.2:7", move |ctx, event| {
            seen.lock().unwrap().push(event);
            if let PortEvent::Readable(conn) = event {
                let mut buf = [0u8; 4096];
                loop {
                    match ctx.recv(conn, &mut buf) {
                        Ok(0) => {
                            // End of stream: finish our side too.
                            let _ = ctx.shutdown_write(conn);
                            break;
                        }
                        Ok(n) => {
                            ctx.send(conn, &buf[..n]).unwrap();
                        }
                        Err(_) => break,
                    }
                }
            }
        })
        .unwrap();
    assert_eq!(port.local_addr().unwrap(), "198.18.0.2:7".parse().unwrap());
    for i in 0..5 {
        let mut c = TcpStream::connect(&peer, "198.18.0.2:7").unwrap();
        let msg = format!("message {i}");
        c.write_all(msg.as_bytes()).unwrap();
        c.shutdown(Shutdown::Write).unwrap();
        let mut back = String::new();
        c.read_to_string(&mut back).unwrap();
        assert_eq!(back, msg);
    }
    let log = log.lock().unwrap();
    let accepted = log
        .iter()
        .filter(|e| matches!(e, PortEvent::Accepted { .. }))
        .count();
    assert_eq!(accepted, 5);
    assert!(log.iter().any(|e| matches!(e, PortEvent::Readable(_))));
    // Every Accepted comes before any other event of its connection.
    for (i, e) in log.iter().enumerate() {
        if let PortEvent::Readable(c) | PortEvent::Writable(c) | PortEvent::Closed(c) = e {
            assert!(
                log[..i]
                    .iter()
                    .any(|p| matches!(p, PortEvent::Accepted { conn, .. } if conn == c))
            );
        }
    }
}

fn two_stacks() -> (NetStack, NetStack) {
    two_stacks_mtu(1500)
}

fn two_stacks_mtu(mtu: usize) -> (NetStack, NetStack) {
    let (left, right) = ChannelDevice::pair(mtu, Medium::Ip).unwrap();
    let host = NetStack::builder()
        .addr("198.18.0.2".parse().unwrap())
        .seed(2)
        .build(left)
        .unwrap();
    let peer = NetStack::builder()
        .addr("198.18.0.1".parse().unwrap())
        .seed(1)
        .build(right)
        .unwrap();
    (host, peer)
}

fn pattern(i: usize) -> u8 {
    (i * 31 % 253) as u8
}

/// A callback that sends more than every buffer holds: it writes until
/// `WouldBlock` and goes on at each `Writable`, then shuts down. The client
/// gets every byte in order, then the end of stream.
#[test]
fn a_callback_sender_is_driven_by_writable_events() {
    const TOTAL: usize = 3 << 20;
    let (host, peer) = two_stacks();
    let mut sent = std::collections::HashMap::new();
    let _port = host
        .listen_with("198.18.0.2:19", move |ctx, event| {
            let conn = match event {
                PortEvent::Accepted { conn, .. } | PortEvent::Writable(conn) => conn,
                _ => return,
            };
            let done: &mut usize = sent.entry(conn).or_insert(0);
            let mut chunk = [0u8; 8192];
            while *done < TOTAL {
                let n = chunk.len().min(TOTAL - *done);
                for (i, b) in chunk[..n].iter_mut().enumerate() {
                    *b = pattern(*done + i);
                }
                match ctx.send(conn, &chunk[..n]) {
                    Ok(k) => *done += k,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                    Err(e) => panic!("{e}"),
                }
            }
            let _ = ctx.shutdown_write(conn);
        })
        .unwrap();
    let mut c = TcpStream::connect(&peer, "198.18.0.2:19").unwrap();
    let mut got = Vec::new();
    c.read_to_end(&mut got).unwrap();
    assert_eq!(got.len(), TOTAL);
    assert!(got.iter().enumerate().all(|(i, &b)| b == pattern(i)));
}

/// A callback that reads more than its connection's queue holds: after each
/// read to `WouldBlock`, what waited in the core moves up and another
/// `Readable` follows, so every byte is counted and the end is seen.
#[test]
fn a_callback_receiver_gets_every_byte_and_the_end() {
    callback_receiver(1500);
}

/// With 60,000-byte packets the end of stream can arrive while more than
/// the connection's queue holds still waits in the core: the handler must
/// still get all of it before `Closed`.
#[test]
fn a_callback_receiver_gets_every_byte_with_jumbo_packets() {
    callback_receiver(60_000);
}

fn callback_receiver(mtu: usize) {
    const TOTAL: usize = 3 << 20;
    let (host, peer) = two_stacks_mtu(mtu);
    let (tx, rx) = std::sync::mpsc::channel();
    let mut counts = std::collections::HashMap::new();
    let _port = host
        .listen_with("198.18.0.2:9", move |ctx, event| {
            let PortEvent::Readable(conn) = event else {
                return;
            };
            let (count, ok): &mut (usize, bool) = counts.entry(conn).or_insert((0, true));
            let mut buf = [0u8; 4096];
            loop {
                match ctx.recv(conn, &mut buf) {
                    Ok(0) => {
                        tx.send((*count, *ok)).unwrap();
                        let _ = ctx.close(conn);
                        return;
                    }
                    Ok(n) => {
                        *ok &= buf[..n]
                            .iter()
                            .enumerate()
                            .all(|(i, &b)| b == pattern(*count + i));
                        *count += n;
                    }
                    Err(_) => return,
                }
            }
        })
        .unwrap();
    let mut c = TcpStream::connect(&peer, "198.18.0.2:9").unwrap();
    let data: Vec<u8> = (0..TOTAL).map(pattern).collect();
    c.write_all(&data).unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    let (count, ok) = rx.recv().unwrap();
    assert_eq!(count, TOTAL);
    assert!(ok, "bytes out of order or corrupted");
}

/// A handler may use the `NetStack` while it runs (no lock is held across
/// it): on its first connection it opens a second port with a handler of
/// its own, and on the first connection to that port it drops that port's
/// `PortListener`, its own, from inside. The stack thread goes on serving:
/// the first port still answers afterwards, the second is closed.
#[test]
fn a_handler_opens_a_port_and_drops_its_own() {
    let (host, peer) = two_stacks();
    let host = Arc::new(host);
    let second: Arc<Mutex<Option<berth::PortListener>>> = Arc::new(Mutex::new(None));
    let opened = second.clone();
    let stack = Arc::downgrade(&host);
    let _first = host
        .listen_with("198.18.0.2:7", move |ctx, event| match event {
            PortEvent::Accepted { conn, .. } => {
                let mut slot = opened.lock().unwrap();
                if slot.is_none() {
                    let stack = stack.upgrade().unwrap();
                    let closer = opened.clone();
                    let port = stack
                        .listen_with("198.18.0.2:8", move |ctx, event| {
                            if let PortEvent::Accepted { conn, .. } = event {
                                let _ = ctx.send(conn, b"8");
                                let _ = ctx.shutdown_write(conn);
                                // The port's own listener, dropped here.
                                drop(closer.lock().unwrap().take());
                            }
                        })
                        .unwrap();
                    *slot = Some(port);
                }
                let _ = ctx.send(conn, b"7");
                let _ = ctx.shutdown_write(conn);
            }
            PortEvent::Readable(conn) => {
                let _ = ctx.recv(conn, &mut [0u8; 64]);
            }
            _ => {}
        })
        .unwrap();
    let fetch = |port: u16| {
        let mut c = TcpStream::connect(&peer, ("198.18.0.2", port))?;
        let mut got = String::new();
        c.read_to_string(&mut got)?;
        Ok::<_, std::io::Error>(got)
    };
    assert_eq!(fetch(7).unwrap(), "7");
    assert_eq!(fetch(8).unwrap(), "8");
    assert!(second.lock().unwrap().is_none(), "dropped by its handler");
    assert_eq!(
        fetch(8).unwrap_err().kind(),
        std::io::ErrorKind::ConnectionRefused
    );
    assert_eq!(fetch(7).unwrap(), "7");
}

/// A client connection on the callback path: `Connected`, then its data;
/// a refused one gets `Closed` with the reason in `PortCtx::error`.
#[test]
fn a_callback_client_connects_exchanges_and_hears_a_refusal() {
    let (host, peer) = two_stacks();
    let listener = berth::net::TcpListener::bind(&peer, "198.18.0.1:7").unwrap();
    let echo = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = [0u8; 5];
        s.read_exact(&mut buf).unwrap();
        s.write_all(&buf).unwrap();
    });
    let (tx, rx) = std::sync::mpsc::channel();
    let mut got = Vec::new();
    let client = host
        .connect_with("198.18.0.1:7", move |ctx, event| match event {
            PortEvent::Connected { conn, peer } => {
                assert_eq!(peer, "198.18.0.1:7".parse().unwrap());
                ctx.send(conn, b"hello").unwrap();
            }
            PortEvent::Readable(conn) => {
                let mut buf = [0u8; 16];
                while let Ok(n @ 1..) = ctx.recv(conn, &mut buf) {
                    got.extend_from_slice(&buf[..n]);
                }
                if got.len() == 5 {
                    let _ = tx.send(std::mem::take(&mut got));
                    let _ = ctx.close(conn);
                }
            }
            _ => {}
        })
        .unwrap();
    let limit = std::time::Duration::from_secs(60);
    assert_eq!(rx.recv_timeout(limit).unwrap(), b"hello");
    echo.join().unwrap();
    drop(client);

    let (tx, rx) = std::sync::mpsc::channel();
    let _refused = host
        .connect_with("198.18.0.1:8", move |ctx, event| {
            if let PortEvent::Closed(conn) = event {
                let _ = tx.send(ctx.error(conn).map(|e| e.kind()));
            }
        })
        .unwrap();
    assert_eq!(
        rx.recv_timeout(limit).unwrap(),
        Some(std::io::ErrorKind::ConnectionRefused)
    );
}

/// UDP on the callback path: an echo that answers in the turn the
/// datagram came in.
#[test]
fn a_callback_udp_socket_echoes() {
    let (host, peer) = two_stacks();
    let _echo = host
        .udp_with("198.18.0.2:7", |ctx, event| {
            if let PortEvent::Readable(sock) = event {
                let mut buf = [0u8; 1500];
                while let Ok((n, from)) = ctx.recv_from(sock, &mut buf) {
                    let _ = ctx.send_to(sock, &buf[..n], from);
                }
            }
        })
        .unwrap();
    let s = berth::net::UdpSocket::bind(&peer, "198.18.0.1:0").unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .unwrap();
    for i in 0..3u8 {
        s.send_to(&[i; 100], "198.18.0.2:7").unwrap();
        let mut buf = [0u8; 200];
        let (n, from) = s.recv_from(&mut buf).unwrap();
        assert_eq!((n, from), (100, "198.18.0.2:7".parse().unwrap()));
        assert_eq!(&buf[..n], &[i; 100][..]);
    }
}

/// A client session (`connect_session`): opened once connected, its
/// buffered write goes out, it reads the echo and closes itself.
#[test]
fn a_client_session_runs_to_completion() {
    struct Ask {
        got: Vec<u8>,
        done: std::sync::mpsc::Sender<Vec<u8>>,
    }
    impl berth::Session for Ask {
        fn opened(&mut self, io: &mut berth::SessionIo<'_, '_>) {
            io.write(&[9u8; 100_000]).unwrap();
        }
        fn readable(&mut self, io: &mut berth::SessionIo<'_, '_>) {
            let mut buf = [0u8; 8192];
            while let Ok(n @ 1..) = io.read(&mut buf) {
                self.got.extend_from_slice(&buf[..n]);
            }
            if self.got.len() == 100_000 {
                let _ = self.done.send(std::mem::take(&mut self.got));
                io.close();
            }
        }
    }
    let (host, peer) = two_stacks();
    let listener = berth::net::TcpListener::bind(&peer, "198.18.0.1:7").unwrap();
    let echo = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut r = s.try_clone().unwrap();
        std::io::copy(&mut r, &mut s).unwrap();
    });
    let (tx, rx) = std::sync::mpsc::channel();
    let _client = host
        .connect_session(
            "198.18.0.1:7",
            Ask {
                got: Vec::new(),
                done: tx,
            },
        )
        .unwrap();
    let got = rx.recv_timeout(std::time::Duration::from_secs(60)).unwrap();
    assert_eq!(got, vec![9u8; 100_000]);
    echo.join().unwrap();
}
