//! `Upstream::connect`: each kind of upstream, as `--upstream` names it,
//! and the limits that apply to all of them.

use std::time::Duration;

use super::*;
use crate::cmd::proxy::upstream::{ConnectError, FailureKind, Target, Upstream};

const TIMEOUT: Duration = Duration::from_secs(5);

/// A one-connection SOCKS5 server without authentication that connects
/// nowhere: it answers success and echoes.
async fn echoing_socks5() -> SocketAddr {
    let (listener, addr) = listener().await;
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut greeting = [0; 3];
        s.read_exact(&mut greeting).await.unwrap();
        s.write_all(&[5, 0]).await.unwrap();
        let mut request = [0; 10];
        s.read_exact(&mut request).await.unwrap();
        s.write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0, 1])
            .await
            .unwrap();
        let (mut r, mut w) = s.split();
        let _ = tokio::io::copy(&mut r, &mut w).await;
    });
    addr
}

/// A one-connection HTTP proxy that says yes and echoes.
async fn echoing_http_proxy() -> SocketAddr {
    let (listener, addr) = listener().await;
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            head.push(s.read_u8().await.unwrap());
        }
        s.write_all(b"HTTP/1.1 200 OK\r\n\r\n").await.unwrap();
        let (mut r, mut w) = s.split();
        let _ = tokio::io::copy(&mut r, &mut w).await;
    });
    addr
}

#[tokio::test]
async fn every_upstream_connects() {
    let echo = echo_server().await;
    let target = Target::Addr(echo);
    let socks = echoing_socks5().await;
    let http = echoing_http_proxy().await;
    for spec in [
        "direct".to_string(),
        format!("socks5://{socks}"),
        format!("http://{http}"),
    ] {
        let upstream: Upstream = spec.parse().unwrap();
        let mut s = upstream.connect(&target, TIMEOUT).await.unwrap();
        assert_echoes(&mut s, spec.as_bytes()).await;
    }
}

#[tokio::test]
async fn a_silent_server_times_out() {
    // Accepts (the kernel does, from the backlog) and never says a word.
    let (_listener, silent) = listener().await;
    for spec in [format!("socks5://{silent}"), format!("http://{silent}")] {
        let upstream: Upstream = spec.parse().unwrap();
        let target = Target::Name("example.com".into(), 80);
        let limit = Duration::from_millis(100);
        let e = upstream.connect(&target, limit).await.unwrap_err();
        assert!(matches!(e, ConnectError::TimedOut(d) if d == limit), "{e}");
        assert_eq!(e.kind(), FailureKind::TimedOut);
        assert_eq!(std::io::Error::from(e).kind(), std::io::ErrorKind::TimedOut);
    }
}

#[tokio::test]
async fn an_unreachable_server_is_a_failure_not_a_refusal() {
    for spec in [
        format!("socks5://{}", closed_port()),
        format!("http://{}", closed_port()),
    ] {
        let upstream: Upstream = spec.parse().unwrap();
        let target = Target::Addr("192.0.2.1:80".parse().unwrap());
        let e = upstream.connect(&target, TIMEOUT).await.unwrap_err();
        assert!(matches!(e, ConnectError::Server { .. }), "{e}");
        assert_eq!(e.kind(), FailureKind::Failed);
    }
}

#[tokio::test]
async fn names_that_are_not_host_names_go_nowhere() {
    let (_listener, never) = listener().await;
    for spec in ["direct".to_string(), format!("http://{never}")] {
        let upstream: Upstream = spec.parse().unwrap();
        let target = Target::Name("example.com\r\nX-Injected: 1".into(), 80);
        let e = upstream.connect(&target, TIMEOUT).await.unwrap_err();
        assert!(matches!(e, ConnectError::Invalid(_)), "{e}");
    }
}
