//! The HTTP CONNECT client against an in-process proxy that answers what
//! it is told to.

use std::time::Duration;

use tokio::sync::oneshot;

use super::*;
use crate::cmd::proxy::upstream::{ConnectError, Credentials, FailureKind, Target, http};

/// A proxy that reads one request head, reports it, sends `pieces` (a
/// short pause between them) and then echoes.
async fn fake_proxy(pieces: Vec<Vec<u8>>) -> (SocketAddr, oneshot::Receiver<String>) {
    let (listener, addr) = listener().await;
    let (tx, rx) = oneshot::channel();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            head.push(s.read_u8().await.unwrap());
        }
        let _ = tx.send(String::from_utf8(head).unwrap());
        for (i, piece) in pieces.iter().enumerate() {
            if i > 0 {
                // Pacing, so that the pieces arrive apart; nothing waits on it.
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            if s.write_all(piece).await.is_err() {
                return;
            }
        }
        let (mut r, mut w) = s.split();
        let _ = tokio::io::copy(&mut r, &mut w).await;
    });
    (addr, rx)
}

async fn via(
    proxy: SocketAddr,
    auth: Option<&Credentials>,
    target: &Target,
) -> Result<TcpStream, ConnectError> {
    http::connect(TcpStream::connect(proxy).await.unwrap(), auth, target).await
}

fn target() -> Target {
    Target::Name("example.com".into(), 443)
}

#[tokio::test]
async fn a_tunnel_keeps_the_bytes_right_behind_the_head() {
    // Content-Length on a 2xx to CONNECT is ignored: what follows is the
    // tunnel.
    let reply = b"HTTP/1.1 200 Connection established\r\nContent-Length: 3\r\n\r\nhello";
    let (proxy, head) = fake_proxy(vec![reply.to_vec()]).await;
    let mut s = via(proxy, None, &target()).await.unwrap();
    let mut first = [0; 5];
    s.read_exact(&mut first).await.unwrap();
    assert_eq!(&first, b"hello");
    assert_echoes(&mut s, b"through the tunnel").await;
    assert_eq!(
        head.await.unwrap(),
        "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"
    );
}

#[tokio::test]
async fn a_head_in_pieces_split_inside_its_empty_line() {
    let pieces = [
        &b"HTTP/1.1 200 OK\r"[..],
        b"\nVia: 1.1 fake\r\n\r",
        b"\n",
        b"after",
    ];
    let (proxy, _) = fake_proxy(pieces.iter().map(|p| p.to_vec()).collect()).await;
    let mut s = via(proxy, None, &target()).await.unwrap();
    let mut after = [0; 5];
    s.read_exact(&mut after).await.unwrap();
    assert_eq!(&after, b"after");
}

#[tokio::test]
async fn basic_credentials_are_sent() {
    let (proxy, head) = fake_proxy(vec![b"HTTP/1.0 200 OK\r\n\r\n".to_vec()]).await;
    let auth = Credentials::new("alice", "s3cret");
    let target = Target::Addr("[2001:db8::1]:22".parse().unwrap());
    via(proxy, Some(&auth), &target).await.unwrap();
    assert_eq!(
        head.await.unwrap(),
        "CONNECT [2001:db8::1]:22 HTTP/1.1\r\nHost: [2001:db8::1]:22\r\n\
         Proxy-Authorization: Basic YWxpY2U6czNjcmV0\r\n\r\n"
    );
}

#[tokio::test]
async fn statuses_say_what_happened() {
    for (status, kind) in [
        (407, FailureKind::NotAllowed),
        (403, FailureKind::NotAllowed),
        (502, FailureKind::Refused),
        (503, FailureKind::Refused),
        (504, FailureKind::TimedOut),
        (500, FailureKind::Failed),
        (405, FailureKind::Failed),
    ] {
        let reply = format!("HTTP/1.1 {status} No\r\nContent-Length: 2\r\n\r\nno");
        let (proxy, _) = fake_proxy(vec![reply.into_bytes()]).await;
        let e = via(proxy, None, &target()).await.unwrap_err();
        assert!(
            matches!(e, ConnectError::HttpStatus { status: s, .. } if s == status),
            "{e}"
        );
        assert_eq!(e.kind(), kind, "{e}");
    }
}

#[tokio::test]
async fn interim_responses_are_skipped() {
    let reply = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\nx";
    let (proxy, _) = fake_proxy(vec![reply.to_vec()]).await;
    let mut s = via(proxy, None, &target()).await.unwrap();
    assert_eq!(s.read_u8().await.unwrap(), b'x');
}

#[tokio::test]
async fn an_endless_head_is_refused() {
    let mut reply = b"HTTP/1.1 200 OK\r\n".to_vec();
    while reply.len() <= 20 * 1024 {
        reply.extend_from_slice(b"X-Filler: 0123456789abcdef\r\n");
    }
    let (proxy, _) = fake_proxy(vec![reply]).await;
    let e = via(proxy, None, &target()).await.unwrap_err();
    assert!(matches!(e, ConnectError::Protocol(_)), "{e}");
    assert!(e.to_string().contains("longer than 16384 bytes"), "{e}");
}

#[tokio::test]
async fn a_close_before_the_end_of_the_head() {
    let (listener, proxy) = listener().await;
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut buf = [0; 512];
        let _ = s.read(&mut buf).await.unwrap();
        s.write_all(b"HTTP/1.1 200 OK\r\n").await.unwrap();
    });
    let e = via(proxy, None, &target()).await.unwrap_err();
    assert!(matches!(e, ConnectError::Exchange(_)), "{e}");
    assert_eq!(e.kind(), FailureKind::Failed);
}

#[tokio::test]
async fn not_an_http_proxy() {
    let (proxy, _) = fake_proxy(vec![b"\x05\xff".to_vec(), b"\r\n\r\n".to_vec()]).await;
    let e = via(proxy, None, &target()).await.unwrap_err();
    assert!(matches!(e, ConnectError::Protocol(_)), "{e}");
}
