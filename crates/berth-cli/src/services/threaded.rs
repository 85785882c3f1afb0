//! The TCP and UDP services on threads and berth's blocking sockets: an
//! acceptor and a pool of workers per TCP service (`berth::server`), a
//! thread per UDP service: `berth up --services-api blocking`.

use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use berth::NetStack;
use berth::net::{TcpListener, TcpStream, UdpSocket};
use berth::server::Server;

use super::{Counters, Service, daytime, http, patterns};

const IDLE: Duration = Duration::from_secs(120);

fn tcp_service(
    stack: &NetStack,
    ip: IpAddr,
    port: u16,
    workers: usize,
    handler: impl Fn(TcpStream, SocketAddr) -> io::Result<()> + Send + Sync + 'static,
) -> io::Result<Server> {
    let listener = TcpListener::bind(stack, SocketAddr::new(ip, port))?;
    Server::start(listener, workers, 1024, move |s, peer| {
        s.set_read_timeout(Some(IDLE))?;
        s.set_write_timeout(Some(IDLE))?;
        handler(s, peer)
    })
}

pub(super) fn udp_service(
    stack: &NetStack,
    ip: IpAddr,
    port: u16,
    echo: bool,
    stop: Arc<AtomicBool>,
    counters: Arc<Counters>,
) -> io::Result<JoinHandle<()>> {
    let sock = UdpSocket::bind(stack, SocketAddr::new(ip, port))?;
    sock.set_read_timeout(Some(Duration::from_millis(200)))?;
    std::thread::Builder::new()
        .name(format!("berth-udp-{port}"))
        .spawn(move || {
            let mut buf = vec![0u8; 65536];
            while !stop.load(Ordering::Relaxed) {
                match sock.recv_from(&mut buf) {
                    Ok((n, from)) if echo => {
                        let _ = sock.send_to(&buf[..n], from);
                    }
                    Ok((n, _)) => {
                        counters.discarded.fetch_add(n as u64, Ordering::Relaxed);
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(_) => return,
                }
            }
        })
}

/// Starts TCP service `svc` on `ip`.
pub(super) fn start_tcp(
    stack: &NetStack,
    ip: IpAddr,
    svc: Service,
    http_root: Option<Arc<std::path::PathBuf>>,
    counters: &Arc<Counters>,
) -> io::Result<Server> {
    match svc {
        Service::Echo => tcp_service(stack, ip, 7, 16, |mut s, _| {
            let mut r = s.try_clone()?;
            io::copy(&mut r, &mut s)?;
            s.shutdown(std::net::Shutdown::Write)
        }),
        Service::Discard => {
            let c = counters.clone();
            tcp_service(stack, ip, 9, 16, move |mut s, _| {
                let mut buf = vec![0u8; 65536];
                loop {
                    match s.read(&mut buf)? {
                        0 => return Ok(()),
                        n => c.discarded.fetch_add(n as u64, Ordering::Relaxed),
                    };
                }
            })
        }
        Service::Daytime => tcp_service(stack, ip, 13, 4, |mut s, _| {
            s.write_all(daytime().as_bytes())
        }),
        Service::Chargen => tcp_service(stack, ip, 19, 16, |mut s, _| {
            let mut offset = 0;
            loop {
                let n = s.write(patterns::chargen_at(offset))?;
                offset = (offset + n) % patterns::CHARGEN_CYCLE;
            }
        }),
        Service::Http => {
            let c = counters.clone();
            tcp_service(stack, ip, 80, 64, move |s, _| {
                http_connection(s, http_root.as_deref().map(|p| p.as_path()), &c)
            })
        }
    }
}

/// One HTTP/1.1 connection: requests until the client closes, asks to
/// close, or sends something we cannot parse.
fn http_connection(mut s: TcpStream, root: Option<&Path>, counters: &Counters) -> io::Result<()> {
    let mut buf = Vec::with_capacity(4096);
    loop {
        let response = loop {
            match http::parse(&buf) {
                http::Head::Complete(req, len) => {
                    buf.drain(..len);
                    // Skip a request body (we serve only GET and HEAD).
                    let mut left = req.body_len.saturating_sub(buf.len());
                    buf.drain(..req.body_len.min(buf.len()));
                    while left > 0 {
                        let mut chunk = [0u8; 4096];
                        let n = s.read(&mut chunk[..left.min(4096)])?;
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
                    let mut chunk = [0u8; 4096];
                    let n = s.read(&mut chunk)?;
                    if n == 0 {
                        return Ok(());
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
            }
        };
        s.write_all(&response.head)?;
        match response.body {
            http::Body::Fixed(body) => s.write_all(&body)?,
            http::Body::Pattern(n) => {
                let mut sent = 0u64;
                while sent < n {
                    let max = usize::try_from(n - sent).unwrap_or(usize::MAX);
                    let chunk = patterns::bytes_at(sent, max);
                    s.write_all(chunk)?;
                    sent += chunk.len() as u64;
                }
            }
        }
        if response.close {
            s.shutdown(std::net::Shutdown::Write)?;
            return Ok(());
        }
    }
}
