//! Connecting from this host: straight to a destination, or to a proxy
//! server.

use std::io;
use std::net::SocketAddr;

use tokio::net::{TcpStream, lookup_host};

use super::{ConnectError, HostPort, Target};

/// Connects to `target` from this host. A name resolves here and its
/// addresses are tried in the resolver's order.
pub(super) async fn connect(target: &Target) -> Result<TcpStream, ConnectError> {
    match target {
        Target::Addr(addr) => TcpStream::connect(addr).await.map_err(ConnectError::Direct),
        Target::Name(name, port) => {
            let addrs = resolve(name, *port)
                .await
                .map_err(|source| ConnectError::Resolve {
                    name: name.clone(),
                    source,
                })?;
            connect_any(&addrs).await.map_err(ConnectError::Direct)
        }
    }
}

/// Connects to a proxy server; whatever goes wrong is the upstream's
/// failure, not the destination's.
pub(super) async fn connect_server(server: &HostPort) -> Result<TcpStream, ConnectError> {
    let failed = |source| ConnectError::Server {
        server: server.clone(),
        source,
    };
    match server.target() {
        Target::Addr(addr) => TcpStream::connect(addr).await.map_err(failed),
        Target::Name(name, port) => {
            let addrs = resolve(&name, port).await.map_err(failed)?;
            connect_any(&addrs).await.map_err(failed)
        }
    }
}

/// The addresses of `name`, at least one.
async fn resolve(name: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
    let addrs: Vec<SocketAddr> = lookup_host((name, port)).await?.collect();
    if addrs.is_empty() {
        return Err(io::Error::new(io::ErrorKind::NotFound, "no addresses"));
    }
    Ok(addrs)
}

/// The first of `addrs` that accepts a connection, or the last error.
async fn connect_any(addrs: &[SocketAddr]) -> io::Result<TcpStream> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no addresses");
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(stream) => return Ok(stream),
            Err(e) => last = e,
        }
    }
    Err(last)
}
