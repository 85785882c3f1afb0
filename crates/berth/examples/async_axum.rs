//! An axum app served by berth with `axum::serve`, and a hyper client
//! fetching from it: two stacks joined in memory, so no root and no TUN
//! device are needed.
//!
//! ```text
//! cargo run -p berth --example async_axum --features axum
//! ```
//!
//! The axum `Router` is untouched, and `axum::serve` takes the berth
//! listener as it takes tokio's (the `axum` feature implements
//! `axum::serve::Listener` for it). The handler reads the client's address
//! with `ConnectInfo<SocketAddr>`; for that the listener goes through
//! axum's `tap_io` with a closure that does nothing, because axum 0.8
//! implements `Connected` for `SocketAddr` only on tokio's listener and on
//! `TapIo` (see `berth::tokio_net`).

use std::io;
use std::net::SocketAddr;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::routing::get;
use axum::serve::ListenerExt;
use berth::NetStack;
use berth::tokio_net::{TcpListener, TcpStream};
use berth_device::Medium;
use berth_device::channel::ChannelDevice;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

async fn hello(ConnectInfo(peer): ConnectInfo<SocketAddr>) -> String {
    format!("hello from axum on berth, {peer}\n")
}

fn app() -> Router {
    Router::new().route("/", get(hello))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    let server = NetStack::builder()
        .addr("198.18.0.2".parse()?)
        .build(left)?;
    let client = NetStack::builder()
        .addr("198.18.0.1".parse()?)
        .build(right)?;

    let listener = TcpListener::bind(&server, "198.18.0.2:80").await?;
    println!("serving on http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(
        axum::serve(
            listener.tap_io(|_| ()),
            app().into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async {
            let _ = stopped.await;
        })
        .into_future(),
    );

    let stream = TcpStream::connect(&client, "198.18.0.2:80").await?;
    println!("connected from {}", stream.local_addr()?);
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let req = hyper::Request::get("/")
        .header("host", "198.18.0.2")
        .body(Empty::<Bytes>::new())?;
    let resp = sender.send_request(req).await?;
    println!("{:?} {}", resp.version(), resp.status());
    for (name, value) in resp.headers() {
        println!("{name}: {}", value.to_str().unwrap_or("<binary>"));
    }
    let body = resp.into_body().collect().await?.to_bytes();
    print!("\n{}", String::from_utf8_lossy(&body));
    io::Write::flush(&mut io::stdout())?;

    // Graceful shutdown: stop accepting, close the idle connection.
    let _ = stop.send(());
    serving.await??;
    Ok(())
}
