//! The services `berth up` runs, all on berth's own socket API: echo
//! (RFC 862, TCP and UDP 7), discard (RFC 863, TCP and UDP 9), daytime
//! (RFC 867, TCP 13), chargen (RFC 864, TCP 19) and a small HTTP/1.1 server
//! (TCP 80) on the acceptor/worker helper.

use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use berth::NetStack;
use berth::net::{TcpListener, TcpStream, UdpSocket};
use berth::server::Server;

/// Which services to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Service {
    /// RFC 862, TCP and UDP port 7.
    Echo,
    /// RFC 863, TCP and UDP port 9.
    Discard,
    /// RFC 864, TCP port 19.
    Chargen,
    /// RFC 867, TCP port 13.
    Daytime,
    /// HTTP/1.1, TCP port 80.
    Http,
}

/// Counters the services keep (bytes the discard service swallowed, …).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) discarded: AtomicU64,
    pub(crate) http_requests: AtomicU64,
}

/// The running services.
pub(crate) struct Services {
    servers: Vec<Server>,
    threads: Vec<JoinHandle<()>>,
    stop: Arc<AtomicBool>,
    pub(crate) counters: Arc<Counters>,
}

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

fn udp_service(
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

impl Services {
    /// Starts `which` on every address family `ips` covers (wildcard binds).
    pub(crate) fn start(
        stack: &NetStack,
        ips: &[IpAddr],
        which: &[Service],
        http_root: Option<PathBuf>,
    ) -> io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let counters = Arc::new(Counters::default());
        let mut servers = Vec::new();
        let mut threads = Vec::new();
        for &ip in ips {
            for &svc in which {
                match svc {
                    Service::Echo => {
                        servers.push(tcp_service(stack, ip, 7, 16, |mut s, _| {
                            let mut r = s.try_clone()?;
                            io::copy(&mut r, &mut s)?;
                            s.shutdown(std::net::Shutdown::Write)
                        })?);
                        threads.push(udp_service(
                            stack,
                            ip,
                            7,
                            true,
                            stop.clone(),
                            counters.clone(),
                        )?);
                    }
                    Service::Discard => {
                        let c = counters.clone();
                        servers.push(tcp_service(stack, ip, 9, 16, move |mut s, _| {
                            let mut buf = vec![0u8; 65536];
                            loop {
                                match s.read(&mut buf)? {
                                    0 => return Ok(()),
                                    n => c.discarded.fetch_add(n as u64, Ordering::Relaxed),
                                };
                            }
                        })?);
                        threads.push(udp_service(
                            stack,
                            ip,
                            9,
                            false,
                            stop.clone(),
                            counters.clone(),
                        )?);
                    }
                    Service::Daytime => {
                        servers.push(tcp_service(stack, ip, 13, 4, |mut s, _| {
                            s.write_all(daytime().as_bytes())
                        })?);
                    }
                    Service::Chargen => {
                        servers.push(tcp_service(stack, ip, 19, 16, |mut s, _| {
                            // RFC 864: lines of 72 characters rotating through
                            // the 95 printable ASCII characters, until the
                            // client goes away.
                            let mut line = 0usize;
                            loop {
                                let mut block = Vec::with_capacity(74 * 64);
                                for _ in 0..64 {
                                    block.extend((0..72).map(|i| b' ' + ((line + i) % 95) as u8));
                                    block.extend_from_slice(b"\r\n");
                                    line += 1;
                                }
                                s.write_all(&block)?;
                            }
                        })?);
                    }
                    Service::Http => {
                        let root = http_root.clone();
                        let c = counters.clone();
                        servers.push(tcp_service(stack, ip, 80, 64, move |s, _| {
                            http_connection(s, root.as_deref(), &c)
                        })?);
                    }
                }
            }
        }
        Ok(Self {
            servers,
            threads,
            stop,
            counters,
        })
    }

    /// Stops every service and joins its threads.
    pub(crate) fn shutdown(self) {
        self.stop.store(true, Ordering::Relaxed);
        for s in self.servers {
            s.shutdown();
        }
        for t in self.threads {
            let _ = t.join();
        }
    }
}

/// RFC 867 suggests "Weekday, Month Day, Year Time-Zone"; like most
/// implementations we send the UTC time in a fixed, readable form.
fn daytime() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86400, secs % 86400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC\r\n",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

const INDEX: &str = "<!doctype html>\n<html><head><title>berth</title></head><body>\n<h1>berth</h1>\n<p>You are talking to berth, a TCP/IP stack in user space.</p>\n<p><a href=\"/bytes/1048576\">/bytes/N</a> streams N bytes.</p>\n</body></html>\n";

/// The most bytes of request head we read.
const MAX_HEAD: usize = 16 * 1024;

/// One HTTP/1.1 connection: requests until the client closes, asks to
/// close, or sends something we cannot parse.
fn http_connection(mut s: TcpStream, root: Option<&Path>, counters: &Counters) -> io::Result<()> {
    let mut buf = Vec::with_capacity(4096);
    loop {
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            if buf.len() > MAX_HEAD {
                respond(
                    &mut s,
                    431,
                    "Request Header Fields Too Large",
                    b"",
                    true,
                    false,
                )?;
                return Ok(());
            }
            let mut chunk = [0u8; 4096];
            let n = s.read(&mut chunk)?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        buf.drain(..head_end);
        counters.http_requests.fetch_add(1, Ordering::Relaxed);
        let mut lines = head.split("\r\n");
        let request = lines.next().unwrap_or("");
        let mut parts = request.split(' ');
        let (method, target, version) = (
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
        );
        let mut close = version != "HTTP/1.1";
        let mut body_len = 0usize;
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let (name, value) = (
                name.trim().to_ascii_lowercase(),
                value.trim().to_ascii_lowercase(),
            );
            if name == "connection" {
                close = value == "close" || (close && value != "keep-alive");
            } else if name == "content-length" {
                body_len = value.parse().unwrap_or(0);
            }
        }
        if !version.starts_with("HTTP/1.") || target.is_empty() {
            respond(&mut s, 400, "Bad Request", b"bad request\n", true, false)?;
            return Ok(());
        }
        // Discard a request body (we serve only GET and HEAD).
        let mut left = body_len.saturating_sub(buf.len());
        buf.drain(..body_len.min(buf.len()));
        while left > 0 {
            let mut chunk = [0u8; 4096];
            let n = s.read(&mut chunk[..left.min(4096)])?;
            if n == 0 {
                return Ok(());
            }
            left -= n;
        }
        let head_only = method == "HEAD";
        if method != "GET" && !head_only {
            respond(
                &mut s,
                405,
                "Method Not Allowed",
                b"only GET and HEAD\n",
                close,
                head_only,
            )?;
        } else if let Some(n) = target.strip_prefix("/bytes/") {
            match n.parse::<u64>() {
                Ok(n) => stream_bytes(&mut s, n, close, head_only)?,
                Err(_) => respond(
                    &mut s,
                    400,
                    "Bad Request",
                    b"/bytes/N takes a number\n",
                    close,
                    head_only,
                )?,
            }
        } else if let Some(root) = root {
            serve_file(&mut s, root, target, close, head_only)?;
        } else if target == "/" || target == "/index.html" {
            respond(&mut s, 200, "OK", INDEX.as_bytes(), close, head_only)?;
        } else {
            respond(&mut s, 404, "Not Found", b"not found\n", close, head_only)?;
        }
        if close {
            s.shutdown(std::net::Shutdown::Write)?;
            return Ok(());
        }
    }
}

fn respond(
    s: &mut TcpStream,
    code: u16,
    reason: &str,
    body: &[u8],
    close: bool,
    head_only: bool,
) -> io::Result<()> {
    let conn = if close { "close" } else { "keep-alive" };
    let head = format!(
        "HTTP/1.1 {code} {reason}\r\nServer: berth\r\nContent-Length: {}\r\nContent-Type: text/html; charset=utf-8\r\nConnection: {conn}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes())?;
    if !head_only {
        s.write_all(body)?;
    }
    Ok(())
}

/// The byte at offset `i` of `/bytes/N`: a fixed pattern clients can check.
pub(crate) fn pattern_byte(i: u64) -> u8 {
    (i % 251) as u8
}

fn stream_bytes(s: &mut TcpStream, n: u64, close: bool, head_only: bool) -> io::Result<()> {
    let conn = if close { "close" } else { "keep-alive" };
    let head = format!(
        "HTTP/1.1 200 OK\r\nServer: berth\r\nContent-Length: {n}\r\nContent-Type: application/octet-stream\r\nConnection: {conn}\r\n\r\n"
    );
    s.write_all(head.as_bytes())?;
    if head_only {
        return Ok(());
    }
    // 251 divides no power of two: a block of 251 * 256 bytes repeats the
    // pattern from offset 0.
    let block: Vec<u8> = (0..251 * 256).map(pattern_byte).collect();
    let mut sent = 0u64;
    while sent < n {
        let take = (n - sent).min(block.len() as u64) as usize;
        s.write_all(&block[..take])?;
        sent += take as u64;
    }
    Ok(())
}

fn serve_file(
    s: &mut TcpStream,
    root: &Path,
    target: &str,
    close: bool,
    head_only: bool,
) -> io::Result<()> {
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let mut full = root.to_path_buf();
    for comp in Path::new(path.trim_start_matches('/')).components() {
        match comp {
            Component::Normal(c) => full.push(c),
            // No way out of the root.
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return respond(s, 403, "Forbidden", b"forbidden\n", close, head_only);
            }
            Component::CurDir => {}
        }
    }
    if full.is_dir() {
        full.push("index.html");
    }
    match std::fs::read(&full) {
        Ok(body) => respond(s, 200, "OK", &body, close, head_only),
        Err(_) => respond(s, 404, "Not Found", b"not found\n", close, head_only),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_000), (2024, 10, 4));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }
}
