//! The services on `berth::tokio_net`: a task per TCP connection and one
//! per UDP service, on a tokio runtime of two threads beside the stack
//! thread: `berth up --services-api async`, for comparison with the
//! sessions (the default) and the threads.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use berth::NetStack;
use berth::tokio_net::{TcpListener, TcpStream, UdpSocket};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::runtime::Runtime;
use tokio::time::timeout;

use super::{Counters, Service, daytime, http, patterns};

/// A connection idle this long is closed, as the threaded services' read
/// and write timeouts close theirs.
const IDLE: Duration = Duration::from_secs(120);

/// The runtime the async services run on.
pub(super) fn runtime() -> io::Result<Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("berth-async")
        .enable_all()
        .build()
}

/// Starts TCP service `svc` on `ip` in `rt`.
pub(super) fn start_tcp(
    rt: &Runtime,
    stack: &NetStack,
    ip: IpAddr,
    svc: Service,
    root: Option<Arc<std::path::PathBuf>>,
    counters: &Arc<Counters>,
) -> io::Result<()> {
    let listener = rt.block_on(TcpListener::bind(stack, SocketAddr::new(ip, svc.port())))?;
    let counters = counters.clone();
    rt.spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            let (root, counters) = (root.clone(), counters.clone());
            tokio::spawn(async move {
                let _ = connection(s, svc, root.as_deref().map(|p| p.as_path()), &counters).await;
            });
        }
    });
    Ok(())
}

/// Reads into `buf`, giving up after [`IDLE`].
async fn read(s: &mut TcpStream, buf: &mut [u8]) -> io::Result<usize> {
    timeout(IDLE, s.read(buf))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "idle"))?
}

/// Writes all of `data`, giving up after [`IDLE`] without progress.
async fn write(s: &mut TcpStream, data: &[u8]) -> io::Result<()> {
    timeout(IDLE, s.write_all(data))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "idle"))?
}

/// One connection of service `svc` (the bench's `--api async` serves
/// echo and discard with this too, as a user of `berth up` gets them).
pub(crate) async fn connection(
    mut s: TcpStream,
    svc: Service,
    root: Option<&Path>,
    counters: &Counters,
) -> io::Result<()> {
    match svc {
        Service::Echo => {
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                let n = read(&mut s, &mut buf).await?;
                if n == 0 {
                    return s.shutdown().await;
                }
                write(&mut s, buf.get(..n).unwrap_or(&[])).await?;
            }
        }
        Service::Discard => {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match read(&mut s, &mut buf).await? {
                    0 => return Ok(()),
                    n => counters.discarded.fetch_add(n as u64, Ordering::Relaxed),
                };
            }
        }
        Service::Daytime => {
            write(&mut s, daytime().as_bytes()).await?;
            s.shutdown().await
        }
        Service::Chargen => {
            let mut offset = 0;
            loop {
                let n = timeout(IDLE, s.write(patterns::chargen_at(offset)))
                    .await
                    .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "idle"))??;
                offset = (offset + n) % patterns::CHARGEN_CYCLE;
            }
        }
        Service::Http => http_connection(s, root, counters).await,
    }
}

/// One HTTP/1.1 connection, as the threaded service's.
async fn http_connection(
    mut s: TcpStream,
    root: Option<&Path>,
    counters: &Counters,
) -> io::Result<()> {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = vec![0u8; 4096];
    loop {
        let response = loop {
            match http::parse(&buf) {
                http::Head::Complete(req, len) => {
                    buf.drain(..len);
                    // Skip a request body (we serve only GET and HEAD).
                    let mut left = req.body_len.saturating_sub(buf.len());
                    buf.drain(..req.body_len.min(buf.len()));
                    while left > 0 {
                        let n = read(&mut s, &mut chunk[..left.min(4096)]).await?;
                        if n == 0 {
                            return Ok(());
                        }
                        left -= n;
                    }
                    counters.http_requests.fetch_add(1, Ordering::Relaxed);
                    break http::respond(&req, root);
                }
                http::Head::TooLarge => break http::too_large(),
                http::Head::Incomplete => {
                    let n = read(&mut s, &mut chunk).await?;
                    if n == 0 {
                        return Ok(());
                    }
                    buf.extend_from_slice(chunk.get(..n).unwrap_or(&[]));
                }
            }
        };
        write(&mut s, &response.head).await?;
        match response.body {
            http::Body::Fixed(body) => write(&mut s, &body).await?,
            http::Body::Pattern(n) => {
                let mut sent = 0u64;
                while sent < n {
                    let max = usize::try_from(n - sent).unwrap_or(usize::MAX);
                    let part = patterns::bytes_at(sent, max);
                    write(&mut s, part).await?;
                    sent += part.len() as u64;
                }
            }
        }
        if response.close {
            return s.shutdown().await;
        }
    }
}

/// UDP echo (RFC 862) or discard (RFC 863) on `ip`, one task.
pub(super) fn udp_service(
    rt: &Runtime,
    stack: &NetStack,
    ip: IpAddr,
    port: u16,
    echo: bool,
    counters: &Arc<Counters>,
) -> io::Result<()> {
    let sock = rt.block_on(UdpSocket::bind(stack, SocketAddr::new(ip, port)))?;
    let counters = counters.clone();
    rt.spawn(async move {
        let mut buf = vec![0u8; 65536];
        while let Ok((n, from)) = sock.recv_from(&mut buf).await {
            if echo {
                let _ = sock.send_to(buf.get(..n).unwrap_or(&[]), from).await;
            } else {
                counters.discarded.fetch_add(n as u64, Ordering::Relaxed);
            }
        }
    });
    Ok(())
}
