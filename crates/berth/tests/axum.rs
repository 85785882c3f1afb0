//! `axum::serve` on a berth listener (feature `axum`), with a hyper client
//! over a berth stream: two stacks joined in memory, no root needed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::routing::get;
use axum::serve::{Listener, ListenerExt};
use berth::NetStack;
use berth::tokio_net::{TcpListener, TcpStream};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::sync::oneshot;
use tokio::time::timeout;

mod common;
use common::pair;

/// Every await is bounded: a lost wake-up shows as a failure, not a hang.
const LIMIT: Duration = Duration::from_secs(30);

async fn whoami(ConnectInfo(peer): ConnectInfo<SocketAddr>) -> String {
    peer.to_string()
}

/// A hyper HTTP/1 client on a berth stream to 198.18.0.2:80, the stream's
/// local address, and the connection's task (it ends when the connection
/// closes).
async fn client(stack: &NetStack) -> (SendRequest<Empty<Bytes>>, SocketAddr, Conn) {
    let stream = timeout(LIMIT, TcpStream::connect(stack, "198.18.0.2:80"))
        .await
        .unwrap()
        .unwrap();
    let local = stream.local_addr().unwrap();
    let (sender, conn) = timeout(
        LIMIT,
        hyper::client::conn::http1::handshake(TokioIo::new(stream)),
    )
    .await
    .unwrap()
    .unwrap();
    (sender, local, tokio::spawn(conn))
}

type Conn = tokio::task::JoinHandle<hyper::Result<()>>;

/// GET `path`: the status and the body.
async fn get_body(sender: &mut SendRequest<Empty<Bytes>>, path: &str) -> (u16, Bytes) {
    let req = hyper::Request::get(path)
        .header("host", "198.18.0.2")
        .body(Empty::<Bytes>::new())
        .unwrap();
    timeout(LIMIT, async {
        sender.ready().await.unwrap();
        let resp = sender.send_request(req).await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.into_body().collect().await.unwrap().to_bytes())
    })
    .await
    .unwrap()
}

/// The router as axum's docs write it, served on a berth listener with
/// `axum::serve`, and no connect info: nothing but the listener changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_serve_takes_a_berth_listener() {
    let (server, client_stack) = pair();
    let listener = TcpListener::bind(&server, "198.18.0.2:80").await.unwrap();
    assert_eq!(
        Listener::local_addr(&listener).unwrap(),
        "198.18.0.2:80".parse().unwrap()
    );
    let app = Router::new()
        .route("/", get(|| async { "hello from axum on berth" }))
        .route(
            "/echo/{word}",
            get(|axum::extract::Path(w): axum::extract::Path<String>| async move { w }),
        );
    let srv = tokio::spawn(async move { axum::serve(listener, app).await });

    let (mut sender, _, _) = client(&client_stack).await;
    assert_eq!(
        get_body(&mut sender, "/").await,
        (200, Bytes::from("hello from axum on berth"))
    );
    assert_eq!(
        get_body(&mut sender, "/echo/berth").await,
        (200, Bytes::from("berth"))
    );
    assert_eq!(get_body(&mut sender, "/missing").await.0, 404);
    srv.abort();
}

/// `ConnectInfo<SocketAddr>` gives the handler the client's address; the
/// graceful shutdown returns although the client keeps its (idle,
/// keep-alive) connection open: axum closes idle connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_info_and_graceful_shutdown() {
    let (server, client_stack) = pair();
    let listener = TcpListener::bind(&server, "198.18.0.2:80").await.unwrap();
    let app = Router::new().route("/", get(whoami));
    let (stop, stopped) = oneshot::channel::<()>();
    let srv = tokio::spawn(async move {
        axum::serve(
            // axum's `Connected` impl for `SocketAddr` covers `TapIo`, not
            // other listeners (see `berth::tokio_net`'s axum docs).
            listener.tap_io(|_| ()),
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async {
            let _ = stopped.await;
        })
        .await
    });

    let (mut sender, local, conn) = client(&client_stack).await;
    let (status, body) = get_body(&mut sender, "/").await;
    assert_eq!(status, 200);
    assert_eq!(body, local.to_string());
    // A second client, a second address.
    let (mut other, other_local, other_conn) = client(&client_stack).await;
    assert_ne!(other_local, local);
    assert_eq!(get_body(&mut other, "/").await.1, other_local.to_string());

    stop.send(()).unwrap();
    timeout(LIMIT, srv).await.unwrap().unwrap().unwrap();
    // The server closed the idle connections: the clients' ends finish.
    timeout(LIMIT, conn).await.unwrap().unwrap().unwrap();
    timeout(LIMIT, other_conn).await.unwrap().unwrap().unwrap();
}
