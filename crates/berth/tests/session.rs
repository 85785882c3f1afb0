//! `NetStack::serve`: sessions on the stack thread with buffered output.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{ErrorKind, Read, Write};
use std::net::Shutdown;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};

use berth::net::TcpStream;
use berth::{NetStack, Session, SessionIo};
use berth_device::Medium;
use berth_device::channel::ChannelDevice;

fn two_stacks() -> (NetStack, NetStack) {
    let (left, right) = ChannelDevice::pair(1500, Medium::Ip).unwrap();
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
    (i * 7 % 251) as u8
}

/// Writes far more than the connection's send queue holds in one call,
/// then closes: the buffer goes out as the peer reads, then the FIN.
struct Blurt(usize);

impl Session for Blurt {
    fn opened(&mut self, io: &mut SessionIo<'_, '_>) {
        let data: Vec<u8> = (0..self.0).map(pattern).collect();
        io.write(&data).unwrap();
        assert!(io.buffered() > 0, "more than the send queue holds");
        io.close();
    }
    fn readable(&mut self, _io: &mut SessionIo<'_, '_>) {}
}

#[test]
fn buffered_output_goes_out_whole_before_the_close() {
    const TOTAL: usize = 4 << 20;
    let (host, peer) = two_stacks();
    let _port = host.serve("198.18.0.2:19", |_| Blurt(TOTAL)).unwrap();
    let mut c = TcpStream::connect(&peer, "198.18.0.2:19").unwrap();
    let mut got = Vec::new();
    c.read_to_end(&mut got).unwrap();
    assert_eq!(got.len(), TOTAL);
    assert!(got.iter().enumerate().all(|(i, &b)| b == pattern(i)));
}

/// Echo with back-pressure: reads only while nothing waits in its buffer.
struct Echo;

impl Session for Echo {
    fn readable(&mut self, io: &mut SessionIo<'_, '_>) {
        let mut buf = [0u8; 4096];
        while io.buffered() == 0 {
            match io.read(&mut buf) {
                Ok(0) => return io.close(),
                Ok(n) => io.write(&buf[..n]).unwrap(),
                Err(_) => return,
            }
        }
    }
    fn writable(&mut self, io: &mut SessionIo<'_, '_>) {
        self.readable(io);
    }
}

/// A client that writes 8 MiB before reading anything: the echo stops
/// reading while its output waits (the window closes), and resumes on
/// `writable`; every byte comes back in order, then the end.
#[test]
fn echo_with_back_pressure_returns_every_byte() {
    const TOTAL: usize = 8 << 20;
    let (host, peer) = two_stacks();
    let _port = host.serve("198.18.0.2:7", |_| Echo).unwrap();
    let c = TcpStream::connect(&peer, "198.18.0.2:7").unwrap();
    let mut w = c.try_clone().unwrap();
    let writer = std::thread::spawn(move || {
        let data: Vec<u8> = (0..TOTAL).map(pattern).collect();
        w.write_all(&data).unwrap();
        w.shutdown(Shutdown::Write).unwrap();
    });
    let mut got = Vec::new();
    (&c).read_to_end(&mut got).unwrap();
    writer.join().unwrap();
    assert_eq!(got.len(), TOTAL);
    assert!(got.iter().enumerate().all(|(i, &b)| b == pattern(i)));
}

/// A session that gives up aborts: the client sees a reset, not an end of
/// stream that would make a cut reply look whole.
struct GiveUp;

impl Session for GiveUp {
    fn readable(&mut self, io: &mut SessionIo<'_, '_>) {
        let mut buf = [0u8; 64];
        if let Ok(1..) = io.read(&mut buf) {
            io.write(b"partial").unwrap();
            io.abort();
        }
    }
}

#[test]
fn an_aborted_session_is_a_reset_at_the_peer() {
    let (host, peer) = two_stacks();
    let _port = host.serve("198.18.0.2:80", |_| GiveUp).unwrap();
    let mut c = TcpStream::connect(&peer, "198.18.0.2:80").unwrap();
    c.write_all(b"GET /").unwrap();
    let mut got = Vec::new();
    let err = loop {
        let mut buf = [0u8; 64];
        match c.read(&mut buf) {
            Ok(0) => panic!("a clean end of stream after {got:?}"),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => break e,
        }
    };
    assert_eq!(err.kind(), ErrorKind::ConnectionReset);
}

/// `closed` is called once when the peer goes away, and the session is
/// dropped; `peer_addr` names the client.
struct Watch {
    closed: Arc<AtomicUsize>,
    peer: mpsc::Sender<std::net::SocketAddr>,
}

impl Session for Watch {
    fn opened(&mut self, io: &mut SessionIo<'_, '_>) {
        self.peer.send(io.peer_addr().unwrap()).unwrap();
    }
    fn readable(&mut self, io: &mut SessionIo<'_, '_>) {
        let mut buf = [0u8; 64];
        while let Ok(1..) = io.read(&mut buf) {}
    }
    fn closed(&mut self) {
        self.closed.fetch_add(1, Ordering::SeqCst);
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        // The last message: the session is gone.
        let _ = self.peer.send("0.0.0.0:0".parse().unwrap());
    }
}

#[test]
fn closed_is_called_when_the_peer_resets() {
    let (host, peer) = two_stacks();
    let closed = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpsc::channel();
    let count = closed.clone();
    let _port = host
        .serve("198.18.0.2:9", move |_| Watch {
            closed: count.clone(),
            peer: tx.clone(),
        })
        .unwrap();
    let c = TcpStream::connect(&peer, "198.18.0.2:9").unwrap();
    let limit = std::time::Duration::from_secs(60);
    assert_eq!(rx.recv_timeout(limit).unwrap(), c.local_addr().unwrap());
    c.abort().unwrap();
    assert_eq!(
        rx.recv_timeout(limit).unwrap(),
        "0.0.0.0:0".parse().unwrap(),
        "the session was dropped"
    );
    assert_eq!(closed.load(Ordering::SeqCst), 1);
}

/// An idle timeout: the session arms it when the connection opens and
/// the client sends nothing; the default `timeout` aborts, so the client
/// sees a reset (and `timeout` was called once).
struct Idle(Arc<AtomicUsize>);

impl Session for Idle {
    fn opened(&mut self, io: &mut SessionIo<'_, '_>) {
        io.set_timeout(Some(std::time::Duration::from_millis(20)));
    }
    fn readable(&mut self, _io: &mut SessionIo<'_, '_>) {}
    fn timeout(&mut self, io: &mut SessionIo<'_, '_>) {
        self.0.fetch_add(1, Ordering::SeqCst);
        io.abort();
    }
}

#[test]
fn an_idle_connection_times_out_with_a_reset() {
    let (host, peer) = two_stacks();
    let fired = Arc::new(AtomicUsize::new(0));
    let count = fired.clone();
    let _port = host
        .serve("198.18.0.2:7", move |_| Idle(count.clone()))
        .unwrap();
    let mut c = TcpStream::connect(&peer, "198.18.0.2:7").unwrap();
    // A bound on a hang, not a timing assertion.
    c.set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .unwrap();
    let err = c.read(&mut [0u8; 8]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionReset);
    assert_eq!(fired.load(Ordering::SeqCst), 1);
}

/// `read_with` consumes without copying: a discard that only counts sees
/// every byte (as slices) and the end.
struct Count(mpsc::Sender<(usize, u64)>, usize, u64);

impl Session for Count {
    fn readable(&mut self, io: &mut SessionIo<'_, '_>) {
        loop {
            match io.read_with(|a, b| {
                for &x in a.iter().chain(b) {
                    self.2 = self.2.wrapping_mul(31).wrapping_add(u64::from(x));
                }
                a.len() + b.len()
            }) {
                Ok(0) => {
                    let _ = self.0.send((self.1, self.2));
                    return io.close();
                }
                Ok(n) => self.1 += n,
                Err(_) => return,
            }
        }
    }
}

#[test]
fn read_with_sees_every_byte_in_order_without_a_copy() {
    const TOTAL: usize = 3 << 20;
    let (host, peer) = two_stacks();
    let (tx, rx) = mpsc::channel();
    let _port = host
        .serve("198.18.0.2:9", move |_| Count(tx.clone(), 0, 0))
        .unwrap();
    let data: Vec<u8> = (0..TOTAL).map(pattern).collect();
    let mut c = TcpStream::connect(&peer, "198.18.0.2:9").unwrap();
    c.write_all(&data).unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    let expected = data
        .iter()
        .fold(0u64, |h, &x| h.wrapping_mul(31).wrapping_add(u64::from(x)));
    let got = rx.recv_timeout(std::time::Duration::from_secs(60)).unwrap();
    assert_eq!(got, (TOTAL, expected));
}

/// `serve_limited`: a third connection from one address, while two are
/// open, is reset; once one closes, a new one is served again.
#[test]
fn a_per_source_limit_resets_the_connection_over_it() {
    let (host, peer) = two_stacks();
    let _port = host.serve_limited("198.18.0.2:7", 2, |_| Echo).unwrap();
    let limit = Some(std::time::Duration::from_secs(60));
    let echo_once = |c: &mut TcpStream| -> std::io::Result<()> {
        c.set_read_timeout(limit)?;
        c.write_all(b"x")?;
        let mut b = [0u8; 1];
        c.read_exact(&mut b)
    };
    let mut a = TcpStream::connect(&peer, "198.18.0.2:7").unwrap();
    let mut b = TcpStream::connect(&peer, "198.18.0.2:7").unwrap();
    echo_once(&mut a).unwrap();
    echo_once(&mut b).unwrap();
    // The reset may come before connect returns (as on Linux) or after.
    let err = TcpStream::connect(&peer, "198.18.0.2:7")
        .and_then(|mut c| echo_once(&mut c))
        .unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::ConnectionReset | ErrorKind::BrokenPipe | ErrorKind::UnexpectedEof
        ),
        "{err:?}"
    );
    // One leaves (its close is seen by the server before the next
    // connects: the echo of the FIN's end of stream is awaited).
    a.shutdown(Shutdown::Write).unwrap();
    let mut rest = Vec::new();
    a.read_to_end(&mut rest).unwrap();
    let mut d = TcpStream::connect(&peer, "198.18.0.2:7").unwrap();
    echo_once(&mut d).unwrap();
}

/// Streams for ever, always with something buffered.
struct Endless;

impl Session for Endless {
    fn opened(&mut self, io: &mut SessionIo<'_, '_>) {
        self.writable(io);
    }
    fn readable(&mut self, _io: &mut SessionIo<'_, '_>) {}
    fn writable(&mut self, io: &mut SessionIo<'_, '_>) {
        while io.buffered() == 0 {
            io.write(&[b'x'; 4096]).unwrap();
        }
    }
}

/// Answers one line, then waits.
struct OneLine;

impl Session for OneLine {
    fn opened(&mut self, io: &mut SessionIo<'_, '_>) {
        io.write(b"hello\n").unwrap();
    }
    fn readable(&mut self, _io: &mut SessionIo<'_, '_>) {}
}

/// Says when it is open, records that it was told the stack stops, then
/// closes.
struct Witness(Arc<std::sync::atomic::AtomicBool>, mpsc::Sender<()>);

impl Session for Witness {
    fn opened(&mut self, _io: &mut SessionIo<'_, '_>) {
        let _ = self.1.send(());
    }
    fn readable(&mut self, _io: &mut SessionIo<'_, '_>) {}
    fn stopping(&mut self, io: &mut SessionIo<'_, '_>) {
        self.0.store(true, Ordering::SeqCst);
        io.close();
    }
}

/// Reads until the end of stream or an error; what came and how it ended.
fn read_to_end_or_error(c: &mut TcpStream) -> (Vec<u8>, std::io::Result<()>) {
    c.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match c.read(&mut buf) {
            Ok(0) => return (got, Ok(())),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => return (got, Err(e)),
        }
    }
}

/// When the stack stops, each session ends as it says (`Session::stopping`):
/// by default a session with output still buffered is reset (the peer
/// must not take a cut stream for a whole one) and one with nothing
/// waiting is closed; a plain handler's connection is closed.
#[test]
fn a_stopping_stack_resets_cut_streams_and_closes_finished_ones() {
    let (host, peer) = two_stacks();
    let _endless = host.serve("198.18.0.2:19", |_| Endless).unwrap();
    let _line = host.serve("198.18.0.2:13", |_| OneLine).unwrap();
    let _plain = host
        .listen_with("198.18.0.2:7", |ctx, event| {
            if let berth::PortEvent::Accepted { conn, .. } = event {
                let _ = ctx.send(conn, b"plain\n");
            }
        })
        .unwrap();
    let mut streaming = TcpStream::connect(&peer, "198.18.0.2:19").unwrap();
    let mut first = [0u8; 1];
    streaming.read_exact(&mut first).unwrap();
    let mut line = TcpStream::connect(&peer, "198.18.0.2:13").unwrap();
    let mut hello = [0u8; 6];
    line.read_exact(&mut hello).unwrap();
    let mut plain = TcpStream::connect(&peer, "198.18.0.2:7").unwrap();
    let mut p = [0u8; 6];
    plain.read_exact(&mut p).unwrap();
    assert_eq!((&hello, &p), (b"hello\n", b"plain\n"));
    let told = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let witness = told.clone();
    let (open_tx, open) = mpsc::channel();
    let _watched = host
        .serve("198.18.0.2:9", move |_| {
            Witness(witness.clone(), open_tx.clone())
        })
        .unwrap();
    let mut watched = TcpStream::connect(&peer, "198.18.0.2:9").unwrap();
    // The host's side is a session before the stack stops.
    open.recv_timeout(std::time::Duration::from_secs(10))
        .unwrap();

    drop(host);

    let (_, end) = read_to_end_or_error(&mut streaming);
    assert_eq!(
        end.map_err(|e| e.kind()),
        Err(ErrorKind::ConnectionReset),
        "a cut stream ends in a reset"
    );
    assert_eq!(
        read_to_end_or_error(&mut line).1.map_err(|e| e.kind()),
        Ok(())
    );
    assert_eq!(
        read_to_end_or_error(&mut plain).1.map_err(|e| e.kind()),
        Ok(())
    );
    assert_eq!(
        read_to_end_or_error(&mut watched).1.map_err(|e| e.kind()),
        Ok(())
    );
    assert!(told.load(Ordering::SeqCst), "Session::stopping was called");
}
