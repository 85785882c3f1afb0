//! The async API on two stacks joined in memory, under a tokio runtime:
//! echo, many clients, half-close, UDP, and an axum server with a hyper
//! client running unchanged over berth streams. No root needed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io;
use std::sync::Arc;
use std::time::Duration;

use berth::tokio_net::{TcpListener, TcpStream, UdpSocket};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;

mod common;
use common::pair;

/// Every test is bounded: a lost wake-up shows as a failure, not a hang.
const LIMIT: Duration = Duration::from_secs(30);

/// Echoes every connection until its peer shuts down writing.
fn spawn_echo(listener: TcpListener) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let (mut rd, mut wr) = stream.split();
                tokio::io::copy(&mut rd, &mut wr).await.unwrap();
                wr.shutdown().await.unwrap();
            });
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_a_megabyte_both_families() {
    let (server, client) = pair();
    for (listen, target) in [
        ("198.18.0.2:7", "198.18.0.2:7"),
        ("[::]:7", "[2001:2::2]:7"),
    ] {
        let listener = TcpListener::bind(&server, listen).await.unwrap();
        let echo = spawn_echo(listener);
        let stream = TcpStream::connect(&client, target).await.unwrap();
        assert_eq!(stream.peer_addr().unwrap(), target.parse().unwrap());
        let data: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
        let (mut rd, mut wr) = stream.into_split();
        let sent = data.clone();
        let writer = tokio::spawn(async move {
            wr.write_all(&sent).await.unwrap();
            // Dropping the owned write half sends the FIN.
        });
        let mut back = Vec::new();
        timeout(LIMIT, rd.read_to_end(&mut back))
            .await
            .unwrap()
            .unwrap();
        writer.await.unwrap();
        assert!(back == data, "echoed bytes intact");
        echo.abort();
    }
}

/// The stack thread is the reactor: a single-threaded runtime works too.
#[tokio::test(flavor = "current_thread")]
async fn echo_on_a_current_thread_runtime() {
    let (server, client) = pair();
    let listener = TcpListener::bind(&server, "198.18.0.2:7").await.unwrap();
    let _echo = spawn_echo(listener);
    let mut s = TcpStream::connect(&client, "198.18.0.2:7").await.unwrap();
    let data = vec![7u8; 200_000];
    let (mut rd, mut wr) = s.split();
    let (sent, back) = timeout(LIMIT, async {
        tokio::join!(
            async {
                wr.write_all(&data).await.unwrap();
                wr.shutdown().await.unwrap();
            },
            async {
                let mut back = Vec::new();
                rd.read_to_end(&mut back).await.unwrap();
                back
            }
        )
    })
    .await
    .unwrap();
    let () = sent;
    assert!(back == data);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_connect_future_frees_its_socket() {
    let (_server, client) = pair();
    let before = client.with_stack(|s| s.socket_count());
    // Nobody owns 198.18.0.3: the SYN goes unanswered.
    let attempt = timeout(
        Duration::from_millis(200),
        TcpStream::connect(&client, "198.18.0.3:80"),
    )
    .await;
    assert!(attempt.is_err(), "timed out");
    // The drop closed the SYN-SENT socket (RFC 9293 3.10.4: delete the
    // TCB); the stack thread frees it on its next turn.
    timeout(LIMIT, async {
        while client.with_stack(|s| s.socket_count()) != before {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_read_ends_when_the_stack_goes_away() {
    let (server, client) = pair();
    let listener = TcpListener::bind(&server, "198.18.0.2:7").await.unwrap();
    let _c = TcpStream::connect(&client, "198.18.0.2:7").await.unwrap();
    let (mut s, _) = listener.accept().await.unwrap();
    let reader = tokio::spawn(async move {
        let mut buf = [0u8; 16];
        s.read(&mut buf).await
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!reader.is_finished());
    // Dropping a NetStack joins its thread: not on a runtime worker.
    tokio::task::spawn_blocking(move || drop(server))
        .await
        .unwrap();
    // Woken, not left hanging; the result is an error or end of stream.
    let r = timeout(LIMIT, reader).await.unwrap().unwrap();
    assert!(matches!(r, Ok(0) | Err(_)), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_std_and_into_std() {
    let (server, client) = pair();
    let listener = berth::net::TcpListener::bind(&server, "198.18.0.2:7").unwrap();
    let listener = TcpListener::from_std(listener).unwrap();
    let _echo = spawn_echo(listener);
    let blocking = berth::net::TcpStream::connect(&client, "198.18.0.2:7").unwrap();
    let mut stream = TcpStream::from_std(blocking).unwrap();
    stream.write_all(b"async").await.unwrap();
    let mut back = [0u8; 5];
    stream.read_exact(&mut back).await.unwrap();
    assert_eq!(&back, b"async");
    let blocking = stream.into_std().unwrap();
    // Nonblocking, like tokio's into_std: nothing to read yet.
    let mut buf = [0u8; 8];
    assert_eq!(
        std::io::Read::read(&mut &blocking, &mut buf)
            .unwrap_err()
            .kind(),
        io::ErrorKind::WouldBlock
    );
    blocking.set_nonblocking(false).unwrap();
    let udp = berth::net::UdpSocket::bind(&client, "0.0.0.0:0").unwrap();
    udp.connect("198.18.0.2:9").unwrap();
    let udp = UdpSocket::from_std(udp).unwrap();
    assert_eq!(udp.peer_addr().unwrap(), "198.18.0.2:9".parse().unwrap());
    assert!(udp.into_std().is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_clients() {
    let (server, client) = pair();
    let listener = TcpListener::bind(&server, "0.0.0.0:7").await.unwrap();
    let _echo = spawn_echo(listener);
    let client = Arc::new(client);
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move {
                let mut s = TcpStream::connect(&client, "198.18.0.2:7").await.unwrap();
                let msg = format!("hello from client {i}");
                s.write_all(msg.as_bytes()).await.unwrap();
                s.shutdown().await.unwrap();
                let mut back = String::new();
                s.read_to_string(&mut back).await.unwrap();
                assert_eq!(back, msg);
            })
        })
        .collect();
    timeout(LIMIT, async {
        for t in tasks {
            t.await.unwrap();
        }
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_close_and_readiness() {
    let (server, client) = pair();
    let listener = TcpListener::bind(&server, "198.18.0.2:7").await.unwrap();
    let srv = tokio::spawn(async move {
        let (mut s, peer) = listener.accept().await.unwrap();
        assert_eq!(s.peer_addr().unwrap(), peer);
        // peek waits for data and leaves it in place.
        let mut first = [0u8; 3];
        assert_eq!(s.peek(&mut first).await.unwrap(), 3);
        assert_eq!(&first, b"que");
        let mut req = String::new();
        // The client shut down writing: read to end of stream...
        s.read_to_string(&mut req).await.unwrap();
        // ...and the server can still answer; dropping `s` sends the FIN.
        s.write_all(format!("got {req}").as_bytes()).await.unwrap();
    });
    let mut c = TcpStream::connect(&client, "198.18.0.2:7").await.unwrap();
    c.set_nodelay(true).unwrap();
    assert!(c.nodelay().unwrap());
    c.writable().await.unwrap();
    assert_eq!(c.try_write(b"question").unwrap(), 8);
    assert_eq!(
        c.try_read(&mut [0u8; 8]).unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
    c.shutdown().await.unwrap();
    assert_eq!(
        c.write(b"more").await.unwrap_err().kind(),
        io::ErrorKind::BrokenPipe
    );
    let mut answer = Vec::new();
    timeout(LIMIT, async {
        loop {
            c.readable().await.unwrap();
            let mut buf = [0u8; 64];
            match c.try_read(&mut buf) {
                Ok(0) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => panic!("{e}"),
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(answer, b"got question");
    srv.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_errors_and_reunite() {
    let (server, client) = pair();
    let err = TcpStream::connect(&client, "198.18.0.2:9999")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
    let _l = TcpListener::bind(&server, "198.18.0.2:80").await.unwrap();
    assert_eq!(
        TcpListener::bind(&server, "0.0.0.0:80")
            .await
            .unwrap_err()
            .kind(),
        io::ErrorKind::AddrInUse
    );
    let a = TcpStream::connect(&client, "198.18.0.2:80").await.unwrap();
    let b = TcpStream::connect(&client, "198.18.0.2:80").await.unwrap();
    let (ar, aw) = a.into_split();
    let (br, bw) = b.into_split();
    let berth::tokio_net::tcp::ReuniteError(ar, bw) = ar.reunite(bw).unwrap_err();
    let _a = ar.reunite(aw).unwrap();
    let _b = br.reunite(bw).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_round_trip() {
    let (server, client) = pair();
    let srv = UdpSocket::bind(&server, "198.18.0.2:7").await.unwrap();
    let cli = UdpSocket::bind(&client, "0.0.0.0:0").await.unwrap();
    cli.connect("198.18.0.2:7").await.unwrap();
    // Many datagrams at once: more than the stack's output queue holds.
    let n = 5000;
    let sender = tokio::spawn(async move {
        for i in 0..n {
            cli.send(format!("{i}").as_bytes()).await.unwrap();
        }
        cli
    });
    let mut buf = [0u8; 64];
    let (len, from) = timeout(LIMIT, srv.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf[..len], b"0");
    let cli = timeout(LIMIT, sender).await.unwrap().unwrap();
    assert_eq!(cli.peer_addr().unwrap(), "198.18.0.2:7".parse().unwrap());
    srv.send_to(b"pong", from).await.unwrap();
    let len = timeout(LIMIT, async {
        // The earlier datagrams may still wait in the server's queue; the
        // client only sees the answer.
        cli.recv(&mut buf).await
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(&buf[..len], b"pong");
    // Beyond what an IPv4 datagram can hold (bigger than the MTU is fine:
    // berth fragments IPv4).
    assert_eq!(
        cli.send(&vec![0u8; 65_508]).await.unwrap_err().kind(),
        io::ErrorKind::InvalidInput
    );
    // Fill the stack's output queue (under the stack lock), then send: if
    // `send` finds the queue full it must be woken once the stack thread
    // has drained it (no socket event names that moment). Whether it does
    // find it full is a race with the stack thread, so this checks liveness
    // only; `shared::tests` checks the wake-up itself.
    for _ in 0..5 {
        client.with_stack(|s| {
            let h = s.udp_bind("198.18.0.1:0".parse().unwrap()).unwrap();
            let to = "198.18.0.2:9".parse().unwrap();
            while s.udp_send_to(h, &[0u8; 16], to).is_ok() {}
            s.close(berth::berth_core::time::Instant::ZERO, h).unwrap();
        });
        timeout(LIMIT, cli.send(b"after")).await.unwrap().unwrap();
    }
}

mod http {
    use super::*;
    use axum::Router;
    use axum::routing::get;
    use http_body_util::{BodyExt, Empty};
    use hyper::body::Bytes;
    use hyper_util::rt::TokioIo;
    use hyper_util::service::TowerToHyperService;

    /// The axum app, untouched by berth.
    fn app() -> Router {
        Router::new()
            .route("/", get(|| async { "hello from axum on berth" }))
            .route(
                "/echo/{word}",
                get(|axum::extract::Path(w): axum::extract::Path<String>| async move { w }),
            )
    }

    /// `axum::serve`, for a berth listener: hyper's HTTP/1 connection
    /// driver over `TokioIo<berth::tokio_net::TcpStream>`.
    fn serve(listener: TcpListener, app: Router) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let service = TowerToHyperService::new(app.clone());
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        })
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn axum_server_and_hyper_client() {
        let (server, client) = pair();
        let listener = TcpListener::bind(&server, "198.18.0.2:80").await.unwrap();
        let _srv = serve(listener, app());

        let stream = TcpStream::connect(&client, "198.18.0.2:80").await.unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(conn);
        timeout(LIMIT, async {
            // Two requests on one keep-alive connection.
            for (path, want) in [("/", "hello from axum on berth"), ("/echo/berth", "berth")] {
                let req = hyper::Request::get(path)
                    .header("host", "198.18.0.2")
                    .body(Empty::<Bytes>::new())
                    .unwrap();
                // HTTP/1: one request at a time; wait for the previous one.
                sender.ready().await.unwrap();
                let resp = sender.send_request(req).await.unwrap();
                assert_eq!(resp.status(), 200);
                let body = resp.into_body().collect().await.unwrap().to_bytes();
                assert_eq!(body, want);
            }
            let req = hyper::Request::get("/missing")
                .header("host", "198.18.0.2")
                .body(Empty::<Bytes>::new())
                .unwrap();
            sender.ready().await.unwrap();
            assert_eq!(sender.send_request(req).await.unwrap().status(), 404);
        })
        .await
        .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binding_port_0_listens_on_an_ephemeral_port() {
    let (server, client) = pair();
    let listener = TcpListener::bind(&server, "198.18.0.2:0").await.unwrap();
    let at = listener.local_addr().unwrap();
    assert_ne!(at.port(), 0, "{at}");
    let echo = spawn_echo(listener);
    let mut s = timeout(LIMIT, TcpStream::connect(&client, at))
        .await
        .unwrap()
        .unwrap();
    s.write_all(b"port 0").await.unwrap();
    let mut buf = [0u8; 6];
    timeout(LIMIT, s.read_exact(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf, b"port 0");
    echo.abort();
}

/// tokio's `set_ttl`/`ttl` on listeners (inherited), streams and UDP.
#[tokio::test]
async fn ttl_on_every_socket() {
    let (server, client) = pair();
    let listener = TcpListener::bind(&server, "198.18.0.2:0").await.unwrap();
    listener.set_ttl(33).unwrap();
    assert_eq!(listener.ttl().unwrap(), 33);
    let addr = listener.local_addr().unwrap();
    let (stream, accepted) = timeout(LIMIT, async {
        tokio::join!(TcpStream::connect(&client, addr), listener.accept())
    })
    .await
    .unwrap();
    let (stream, (accepted, _)) = (stream.unwrap(), accepted.unwrap());
    assert_eq!(accepted.ttl().unwrap(), 33);
    assert_eq!(stream.ttl().unwrap(), 64);
    stream.set_ttl(1).unwrap();
    assert_eq!(stream.ttl().unwrap(), 1);
    assert_eq!(
        stream.set_ttl(0).unwrap_err().kind(),
        io::ErrorKind::InvalidInput
    );
    let udp = UdpSocket::bind(&client, "198.18.0.1:0").await.unwrap();
    udp.set_ttl(2).unwrap();
    assert_eq!(udp.ttl().unwrap(), 2);
}

/// `set_zero_linger`: dropping the stream resets the connection; the
/// peer's read fails with `ConnectionReset`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_linger_resets_on_drop() {
    let (server, client) = pair();
    let listener = TcpListener::bind(&server, "198.18.0.2:7").await.unwrap();
    let c = TcpStream::connect(&client, "198.18.0.2:7").await.unwrap();
    let (mut s, _) = listener.accept().await.unwrap();
    assert_eq!(c.linger().unwrap(), None);
    c.set_linger(Some(Duration::from_secs(3))).unwrap();
    assert_eq!(c.linger().unwrap(), Some(Duration::from_secs(3)));
    c.set_zero_linger().unwrap();
    assert_eq!(c.linger().unwrap(), Some(Duration::ZERO));
    c.try_write(b"dropped or not, then a reset").unwrap();
    drop(c);
    let mut sink = [0u8; 64];
    let err = timeout(LIMIT, async {
        loop {
            match s.read(&mut sink).await {
                Ok(0) => panic!("a clean end of stream instead of a reset"),
                Ok(_) => {}
                Err(e) => break e,
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
}

/// `ready(Interest)`, `try_io` and `async_io` as tokio's: readable once
/// the peer writes, read-closed at its FIN, error after its reset.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_try_io_and_async_io() {
    use tokio::io::Interest;
    let (server, client) = pair();
    let listener = TcpListener::bind(&server, "198.18.0.2:7").await.unwrap();
    let c = TcpStream::connect(&client, "198.18.0.2:7").await.unwrap();
    let (mut s, _) = listener.accept().await.unwrap();
    let w = timeout(LIMIT, c.ready(Interest::WRITABLE))
        .await
        .unwrap()
        .unwrap();
    assert!(w.is_writable() && !w.is_readable() && !w.is_write_closed());
    // Nothing sent yet: try_io answers WouldBlock without running `f`.
    let mut ran = false;
    let e = c
        .try_io(Interest::READABLE, || {
            ran = true;
            Ok(())
        })
        .unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
    assert!(!ran);
    let waiter = {
        let c = Arc::new(c);
        let w = c.clone();
        (
            c,
            tokio::spawn(async move { w.ready(Interest::READABLE).await }),
        )
    };
    s.write_all(b"ping").await.unwrap();
    let r = timeout(LIMIT, waiter.1).await.unwrap().unwrap().unwrap();
    assert!(r.is_readable() && !r.is_writable(), "{r:?}");
    let c = Arc::try_unwrap(waiter.0).unwrap();
    let mut buf = [0u8; 16];
    let n = c
        .try_io(Interest::READABLE, || c.try_read(&mut buf))
        .unwrap();
    assert_eq!(&buf[..n], b"ping");
    // async_io waits past WouldBlock for the next data.
    let reader = {
        let c = Arc::new(c);
        let r = c.clone();
        let task = tokio::spawn(async move {
            let mut buf = [0u8; 16];
            let n = r
                .async_io(Interest::READABLE, || r.try_read(&mut buf))
                .await?;
            io::Result::Ok(buf[..n].to_vec())
        });
        (c, task)
    };
    s.write_all(b"pong").await.unwrap();
    let got = timeout(LIMIT, reader.1).await.unwrap().unwrap().unwrap();
    assert_eq!(got, b"pong");
    let c = Arc::try_unwrap(reader.0).unwrap();
    // The peer's FIN: readable and read-closed.
    s.shutdown().await.unwrap();
    let r = timeout(LIMIT, c.ready(Interest::READABLE))
        .await
        .unwrap()
        .unwrap();
    assert!(r.is_read_closed(), "{r:?}");
    assert_eq!(c.try_read(&mut buf).unwrap(), 0);
    // The peer's reset: an error until it is taken.
    s.set_zero_linger().unwrap();
    drop(s);
    let r = timeout(LIMIT, c.ready(Interest::ERROR))
        .await
        .unwrap()
        .unwrap();
    assert!(r.is_error() && !r.is_readable(), "{r:?}");
    assert_eq!(
        c.take_error().unwrap().unwrap().kind(),
        io::ErrorKind::ConnectionReset
    );
    let r = timeout(LIMIT, c.ready(Interest::READABLE | Interest::WRITABLE))
        .await
        .unwrap()
        .unwrap();
    assert!(r.is_write_closed() && !r.is_error(), "{r:?}");
    assert!(
        !c.ready(Interest::ERROR | Interest::WRITABLE)
            .await
            .unwrap()
            .is_error()
    );
}

/// `try_read_buf`, `try_read_vectored` and `try_write_vectored`, on the
/// stream and on its halves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vectored_and_buf_reads_and_writes() {
    use std::io::{IoSlice, IoSliceMut};
    use tokio::io::Interest;
    let (server, client) = pair();
    let listener = TcpListener::bind(&server, "198.18.0.2:7").await.unwrap();
    let c = TcpStream::connect(&client, "198.18.0.2:7").await.unwrap();
    let (s, _) = listener.accept().await.unwrap();
    let n = c
        .try_write_vectored(&[
            IoSlice::new(b"one "),
            IoSlice::new(b""),
            IoSlice::new(b"two three"),
        ])
        .unwrap();
    assert_eq!(n, 13);
    // Into two slices, then a BufMut.
    let (mut a, mut b) = ([0u8; 3], [0u8; 5]);
    let n = loop {
        s.readable().await.unwrap();
        match s.try_read_vectored(&mut [IoSliceMut::new(&mut a), IoSliceMut::new(&mut b)]) {
            Ok(n) if n >= 8 => break n,
            Ok(n) => panic!("a short read of {n}: all 13 bytes came in one write"),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => panic!("{e}"),
        }
    };
    assert_eq!((n, &a, &b), (8, b"one", b" two "));
    let mut rest = Vec::with_capacity(64);
    let n = s.try_read_buf(&mut rest).unwrap();
    assert_eq!((n, &rest[..]), (5, &b"three"[..]));
    assert_eq!(
        s.try_read_buf(&mut rest).unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
    // The halves.
    let (rd, wr) = s.into_split();
    let (crd, cwr) = c.into_split();
    wr.try_write_vectored(&[IoSlice::new(b"ab"), IoSlice::new(b"cd")])
        .unwrap();
    let r = timeout(LIMIT, crd.ready(Interest::READABLE))
        .await
        .unwrap()
        .unwrap();
    assert!(r.is_readable());
    let mut got = bytes::BytesMut::with_capacity(16);
    while got.len() < 4 {
        crd.readable().await.unwrap();
        let _ = crd.try_read_buf(&mut got);
    }
    assert_eq!(&got[..], b"abcd");
    assert!(
        timeout(LIMIT, cwr.ready(Interest::WRITABLE))
            .await
            .unwrap()
            .unwrap()
            .is_writable()
    );
    cwr.try_write_vectored(&[IoSlice::new(b"x")]).unwrap();
    let mut one = [0u8; 1];
    loop {
        rd.readable().await.unwrap();
        if rd
            .try_read_vectored(&mut [IoSliceMut::new(&mut one)])
            .is_ok()
        {
            break;
        }
    }
    assert_eq!(&one, b"x");
}

/// tokio's `UdpSocket` readiness and peeking: `ready`, `readable`,
/// `writable`, `try_io`, `async_io`, the `peek*` family (the datagram stays
/// queued), the `recv_buf*` family, and `ERROR` readiness for an ICMP
/// error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_readiness_peek_and_recv_buf() {
    use std::future::poll_fn;
    use tokio::io::{Interest, ReadBuf};
    let (server, client) = pair();
    let srv = Arc::new(UdpSocket::bind(&server, "198.18.0.2:7").await.unwrap());
    let cli = UdpSocket::bind(&client, "198.18.0.1:0").await.unwrap();
    let cli_addr = cli.local_addr().unwrap();
    timeout(LIMIT, cli.writable()).await.unwrap().unwrap();
    let w = cli.ready(Interest::WRITABLE).await.unwrap();
    assert!(w.is_writable() && !w.is_readable());
    poll_fn(|cx| cli.poll_send_ready(cx)).await.unwrap();
    let e = srv
        .try_io(Interest::READABLE, || -> io::Result<()> {
            panic!("not ready")
        })
        .unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
    assert_eq!(
        srv.try_peek_sender().unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
    let waiter = {
        let srv = srv.clone();
        tokio::spawn(async move { srv.ready(Interest::READABLE).await })
    };
    cli.send_to(b"first", "198.18.0.2:7").await.unwrap();
    let r = timeout(LIMIT, waiter).await.unwrap().unwrap().unwrap();
    assert!(r.is_readable(), "{r:?}");
    timeout(LIMIT, srv.readable()).await.unwrap().unwrap();
    poll_fn(|cx| srv.poll_recv_ready(cx)).await.unwrap();
    // Peeks leave it queued.
    let mut buf = [0u8; 64];
    assert_eq!(srv.peek_sender().await.unwrap(), cli_addr);
    assert_eq!(srv.try_peek_sender().unwrap(), cli_addr);
    assert_eq!(srv.peek_from(&mut buf).await.unwrap(), (5, cli_addr));
    assert_eq!(srv.try_peek_from(&mut buf).unwrap(), (5, cli_addr));
    let mut small = [0u8; 3];
    let mut rb = ReadBuf::new(&mut small);
    let from = poll_fn(|cx| srv.poll_peek_from(cx, &mut rb)).await.unwrap();
    assert_eq!((rb.filled(), from), (&b"fir"[..], cli_addr));
    let mut rb = ReadBuf::new(&mut buf);
    poll_fn(|cx| srv.poll_peek(cx, &mut rb)).await.unwrap();
    assert_eq!(rb.filled(), b"first");
    assert_eq!(srv.peek(&mut buf).await.unwrap(), 5);
    assert_eq!(srv.try_peek(&mut buf).unwrap(), 5);
    // ... until a receive takes it, through try_io.
    let (n, from) = srv
        .try_io(Interest::READABLE, || srv.try_recv_from(&mut buf))
        .unwrap();
    assert_eq!((&buf[..n], from), (&b"first"[..], cli_addr));
    assert_eq!(
        srv.try_recv_buf(&mut Vec::with_capacity(8))
            .unwrap_err()
            .kind(),
        io::ErrorKind::WouldBlock
    );
    // async_io waits past WouldBlock for the next datagram.
    let reader = {
        let srv = srv.clone();
        tokio::spawn(async move {
            let mut got = Vec::with_capacity(64);
            let (n, from) = srv
                .async_io(Interest::READABLE, || srv.try_recv_buf_from(&mut got))
                .await?;
            io::Result::Ok((got, n, from))
        })
    };
    cli.send_to(b"second", "198.18.0.2:7").await.unwrap();
    let (got, n, from) = timeout(LIMIT, reader).await.unwrap().unwrap().unwrap();
    assert_eq!((&got[..], n, from), (&b"second"[..], 6, cli_addr));
    // recv_buf / recv_buf_from: truncated to the buffer's next chunk.
    cli.send_to(b"third", "198.18.0.2:7").await.unwrap();
    cli.send_to(b"fourth", "198.18.0.2:7").await.unwrap();
    let mut got = bytes::BytesMut::with_capacity(64);
    let (n, from) = srv.recv_buf_from(&mut got).await.unwrap();
    assert_eq!((&got[..], n, from), (&b"third"[..], 5, cli_addr));
    srv.connect(cli_addr).await.unwrap();
    let mut exact: &mut [u8] = &mut [0u8; 4][..];
    let n = srv.recv_buf(&mut exact).await.unwrap();
    assert_eq!(n, 4, "the rest of the datagram is dropped");

    // An ICMP error about the connected peer: ERROR readiness, then
    // take_error reports it once.
    cli.connect("198.18.0.2:9").await.unwrap();
    cli.send(b"anyone?").await.unwrap();
    let r = timeout(LIMIT, cli.ready(Interest::ERROR))
        .await
        .unwrap()
        .unwrap();
    assert!(r.is_error(), "{r:?}");
    assert!(cli.ready(Interest::READABLE).await.unwrap().is_readable());
    assert_eq!(
        cli.take_error().unwrap().unwrap().kind(),
        io::ErrorKind::ConnectionRefused
    );
    assert!(cli.take_error().unwrap().is_none());
    assert_eq!(cli.device().unwrap(), None);
    cli.bind_device(None).unwrap();
    assert_eq!(
        cli.bind_device(Some(b"eth0")).unwrap_err().kind(),
        io::ErrorKind::Unsupported
    );
}

/// tokio's `TcpSocket`: bind then connect (the stream is from the bound
/// address), bind then listen, the conflicts `SO_REUSEADDR` decides, and
/// the errors of what is not supported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_socket_bind_connect_and_listen() {
    use berth::tokio_net::TcpSocket;
    let (server, client) = pair();
    let socket = TcpSocket::new_v4(&server).unwrap();
    assert_eq!(
        socket.local_addr().unwrap(),
        "0.0.0.0:0".parse().unwrap(),
        "unbound"
    );
    socket.bind("198.18.0.2:8080".parse().unwrap()).unwrap();
    assert_eq!(
        socket
            .bind("198.18.0.2:8081".parse().unwrap())
            .unwrap_err()
            .kind(),
        io::ErrorKind::InvalidInput,
        "bound already"
    );
    assert_eq!(
        TcpSocket::new_v4(&server)
            .unwrap()
            .bind("198.18.0.2:8080".parse().unwrap())
            .unwrap_err()
            .kind(),
        io::ErrorKind::AddrInUse
    );
    let listener = socket.listen(16).unwrap();
    assert_eq!(
        listener.local_addr().unwrap(),
        "198.18.0.2:8080".parse().unwrap()
    );

    // Bind to a given port, then connect: the stream is from it.
    let socket = TcpSocket::new_v4(&client).unwrap();
    socket.bind("198.18.0.1:40000".parse().unwrap()).unwrap();
    let stream = timeout(LIMIT, socket.connect("198.18.0.2:8080".parse().unwrap()))
        .await
        .unwrap()
        .unwrap();
    let (_accepted, peer) = listener.accept().await.unwrap();
    let from: std::net::SocketAddr = "198.18.0.1:40000".parse().unwrap();
    assert_eq!((stream.local_addr().unwrap(), peer), (from, from));
    // Port 0: a port picked at the bind, the one the stream has.
    let socket = TcpSocket::new_v4(&client).unwrap();
    socket.bind("0.0.0.0:0".parse().unwrap()).unwrap();
    let bound = socket.local_addr().unwrap();
    assert_ne!(bound.port(), 0);
    let stream = socket
        .connect("198.18.0.2:8080".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(stream.local_addr().unwrap().port(), bound.port());
    // Not bound: connect from an ephemeral port; listen on a free one.
    let stream = TcpSocket::new_v4(&client)
        .unwrap()
        .connect("198.18.0.2:8080".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(
        stream.peer_addr().unwrap(),
        "198.18.0.2:8080".parse().unwrap()
    );
    let l = TcpSocket::new_v6(&server).unwrap().listen(4).unwrap();
    let at = l.local_addr().unwrap();
    assert!(at.ip().is_unspecified() && at.is_ipv6() && at.port() != 0);
    let v6 = TcpSocket::new_v6(&client).unwrap();
    v6.bind("[2001:2::1]:0".parse().unwrap()).unwrap();
    let target = std::net::SocketAddr::new("2001:2::2".parse().unwrap(), at.port());
    let stream = v6.connect(target).await.unwrap();
    assert_eq!(stream.peer_addr().unwrap(), target);
    // A refused connect.
    let refused = TcpSocket::new_v4(&client)
        .unwrap()
        .connect("198.18.0.2:9".parse().unwrap())
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), io::ErrorKind::ConnectionRefused);

    // SO_REUSEADDR: two sockets share a port only if both set it, until
    // one listens.
    let a = TcpSocket::new_v4(&server).unwrap();
    let b = TcpSocket::new_v4(&server).unwrap();
    assert!(!a.reuseaddr().unwrap());
    a.set_reuseaddr(true).unwrap();
    b.set_reuseaddr(true).unwrap();
    assert!(a.reuseaddr().unwrap());
    a.bind("198.18.0.2:9000".parse().unwrap()).unwrap();
    b.bind("198.18.0.2:9000".parse().unwrap()).unwrap();
    let c = TcpSocket::new_v4(&server).unwrap();
    assert_eq!(
        c.bind("198.18.0.2:9000".parse().unwrap())
            .unwrap_err()
            .kind(),
        io::ErrorKind::AddrInUse
    );
    let _l = a.listen(4).unwrap();
    assert_eq!(b.listen(4).unwrap_err().kind(), io::ErrorKind::AddrInUse);
    // A dropped bound socket frees its port.
    let d = TcpSocket::new_v4(&server).unwrap();
    d.bind("198.18.0.2:9001".parse().unwrap()).unwrap();
    drop(d);
    TcpSocket::new_v4(&server)
        .unwrap()
        .bind("198.18.0.2:9001".parse().unwrap())
        .unwrap();

    // What is refused.
    let s = TcpSocket::new_v4(&server).unwrap();
    assert_eq!(
        s.bind("[2001:2::2]:1".parse().unwrap()).unwrap_err().kind(),
        io::ErrorKind::InvalidInput
    );
    assert_eq!(
        s.bind("198.18.0.9:1".parse().unwrap()).unwrap_err().kind(),
        io::ErrorKind::AddrNotAvailable
    );
    assert_eq!(
        s.set_reuseport(true).unwrap_err().kind(),
        io::ErrorKind::Unsupported
    );
    s.set_reuseport(false).unwrap();
    assert!(!s.reuseport().unwrap());
    assert_eq!(
        s.bind_device(Some(b"eth0")).unwrap_err().kind(),
        io::ErrorKind::Unsupported
    );
    s.bind_device(None).unwrap();
    assert_eq!(s.device().unwrap(), None);
    assert!(s.take_error().unwrap().is_none());
}

/// Options set on a `TcpSocket` reach its connections, and a listener's
/// reach every stream it accepts: nodelay, linger (a zero one resets on
/// drop), keepalive, and buffer sizes (bounded, then fixed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_socket_options_reach_the_connections() {
    use berth::tokio_net::TcpSocket;
    let (server, client) = pair();
    let socket = TcpSocket::new_v4(&server).unwrap();
    assert!(!socket.nodelay().unwrap());
    assert!(!socket.keepalive().unwrap());
    assert_eq!(socket.linger().unwrap(), None);
    assert_eq!(
        socket.recv_buffer_size().unwrap(),
        128 * 1024,
        "the stack's"
    );
    assert_eq!(
        socket.send_buffer_size().unwrap(),
        256 * 1024,
        "the stack's"
    );
    socket.set_nodelay(true).unwrap();
    socket.set_keepalive(true).unwrap();
    socket.set_zero_linger().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.set_send_buffer_size(1).unwrap();
    assert!(socket.nodelay().unwrap() && socket.keepalive().unwrap());
    assert_eq!(socket.linger().unwrap(), Some(Duration::ZERO));
    assert_eq!(socket.recv_buffer_size().unwrap(), 4096);
    assert_eq!(socket.send_buffer_size().unwrap(), 2048, "the floor");
    socket
        .set_linger(Some(Duration::from_millis(2500)))
        .unwrap();
    assert_eq!(socket.linger().unwrap(), Some(Duration::from_secs(2)));
    socket.set_zero_linger().unwrap();
    socket.bind("198.18.0.2:7".parse().unwrap()).unwrap();
    let listener = socket.listen(8).unwrap();

    let mut c = TcpStream::connect(&client, "198.18.0.2:7").await.unwrap();
    let (s, _) = listener.accept().await.unwrap();
    assert!(s.nodelay().unwrap(), "inherited");
    assert_eq!(s.linger().unwrap(), Some(Duration::ZERO), "inherited");
    let bufs = server.with_stack(|st| {
        st.sockets()
            .into_iter()
            .filter_map(|h| st.tcp_info(h).ok())
            .map(|i| (i.recv_buffer, i.send_buffer))
            .collect::<Vec<_>>()
    });
    assert_eq!(bufs, vec![(4096, 2048)], "inherited, fixed");
    // The zero linger: dropping the accepted stream resets.
    drop(s);
    let mut buf = [0u8; 8];
    let e = timeout(LIMIT, c.read(&mut buf)).await.unwrap().unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::ConnectionReset);

    // A connecting socket's options.
    let socket = TcpSocket::new_v4(&client).unwrap();
    socket.set_nodelay(true).unwrap();
    socket.set_recv_buffer_size(8192).unwrap();
    let l2 = TcpListener::bind(&server, "198.18.0.2:8").await.unwrap();
    let c = socket
        .connect("198.18.0.2:8".parse().unwrap())
        .await
        .unwrap();
    let _s = l2.accept().await.unwrap();
    assert!(c.nodelay().unwrap());
    assert_eq!(c.linger().unwrap(), None);
    let local = c.local_addr().unwrap();
    let rcv = client.with_stack(|st| {
        st.sockets()
            .into_iter()
            .filter_map(|h| st.tcp_info(h).ok())
            .find(|i| i.local == local)
            .map(|i| i.recv_buffer)
    });
    assert_eq!(rcv, Some(8192));
}

/// A pending async read wakes and returns 0 when a blocking clone of the
/// stream shuts reading down (the clones share the stream's queues).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_read_on_a_clone_wakes_a_pending_read() {
    let (server, client) = pair();
    let listener = TcpListener::bind(&server, "198.18.0.2:7").await.unwrap();
    let blocking = berth::net::TcpStream::connect(&client, "198.18.0.2:7").unwrap();
    let (_peer, _) = listener.accept().await.unwrap();
    let mut stream = TcpStream::from_std(blocking.try_clone().unwrap()).unwrap();
    let (started, about_to_read) = tokio::sync::oneshot::channel();
    let reader = tokio::spawn(async move {
        started.send(()).unwrap();
        let mut buf = [0u8; 16];
        stream.read(&mut buf).await
    });
    about_to_read.await.unwrap();
    blocking.shutdown(std::net::Shutdown::Read).unwrap();
    let r = timeout(LIMIT, reader).await.unwrap().unwrap();
    assert_eq!(r.unwrap(), 0);
}

/// The async stream's `info()` and `Debug`, as the blocking one's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn info_and_debug_of_async_sockets() {
    let (server, client) = pair();
    let listener = TcpListener::bind(&server, "198.18.0.2:7").await.unwrap();
    let stream = TcpStream::connect(&client, "198.18.0.2:7").await.unwrap();
    let (_accepted, peer) = listener.accept().await.unwrap();
    let info = stream.info().unwrap();
    assert_eq!(info.state, berth::berth_core::tcp::State::Established);
    assert_eq!(info.local, peer);
    let shown = format!("{stream:?}");
    assert!(
        shown.contains(&format!("local: {peer}"))
            && shown.contains("peer: 198.18.0.2:7")
            && shown.contains("state: Established"),
        "{shown}"
    );
    assert!(format!("{listener:?}").contains("local: 198.18.0.2:7"));
    let (rd, wr) = stream.into_split();
    assert!(format!("{rd:?} {wr:?}").contains("peer: 198.18.0.2:7"));
    let udp = UdpSocket::bind(&client, "198.18.0.1:5353").await.unwrap();
    assert!(format!("{udp:?}").contains("local: 198.18.0.1:5353"));
}
