//! The direct upstream: plain connects from this host.

use super::*;
use crate::cmd::proxy::upstream::{FailureKind, Target, direct};

#[tokio::test]
async fn connects_to_an_address_and_a_name() {
    let echo = echo_server().await;
    let mut s = direct::connect(&Target::Addr(echo)).await.unwrap();
    assert_echoes(&mut s, b"by address").await;
    // The name resolves here; whichever of its addresses listens is used.
    let mut s = direct::connect(&Target::Name("localhost".into(), echo.port()))
        .await
        .unwrap();
    assert_echoes(&mut s, b"by name").await;
}

#[tokio::test]
async fn a_closed_port_is_refused() {
    let e = direct::connect(&Target::Addr(closed_port()))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), FailureKind::Refused, "{e}");
}

#[tokio::test]
async fn an_unreachable_proxy_server_is_the_upstreams_failure() {
    let e = direct::connect_server(&closed_port().into())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), FailureKind::Failed, "{e}");
    assert!(e.to_string().starts_with("proxy server 127.0.0.1:"), "{e}");
}
