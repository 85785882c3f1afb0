//! An axum app served by berth, and a hyper client fetching from it: two
//! stacks joined in memory, so no root and no TUN device are needed.
//!
//! ```text
//! cargo run -p berth --example async_axum --features tokio
//! ```
//!
//! The axum `Router` is untouched. `axum::serve` wants a tokio
//! `TcpListener`, so the accept loop is written out: each berth
//! `TcpStream` goes to hyper's HTTP/1 connection driver through
//! `hyper_util::rt::TokioIo`, with the router as the service.

use std::io;

use axum::Router;
use axum::routing::get;
use berth::NetStack;
use berth::tokio_net::{TcpListener, TcpStream};
use berth_device::Medium;
use berth_device::channel::ChannelDevice;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;

fn app() -> Router {
    Router::new().route("/", get(|| async { "hello from axum on berth\n" }))
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
    let app = app();
    tokio::spawn(async move {
        while let Ok((stream, peer)) = listener.accept().await {
            let service = TowerToHyperService::new(app.clone());
            tokio::spawn(async move {
                if let Err(e) = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await
                {
                    eprintln!("connection from {peer}: {e}");
                }
            });
        }
    });

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
    Ok(())
}
