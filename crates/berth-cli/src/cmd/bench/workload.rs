//! The client workloads of `berth bench`, written once for any stack
//! whose streams are `Read + Write` (berth's blocking sockets and the
//! kernel's `std::net` ones), and the servers they talk to ([`Service`]):
//! discard (closed after the end of stream, so a client that reads to its
//! own end of stream knows every byte arrived), echo, source, and the
//! checked services of the loss workloads (`checked.rs`).
//!
//! - bulk: one connection, `bytes` sent in 64 KiB writes, then shutdown and
//!   read to the end: throughput from client to server.
//! - download: one connection to a third server, "source", which sends the
//!   number of bytes the client asks for (8 bytes, big-endian) and closes:
//!   throughput from server to client.
//! - rr: one connection, `rounds` of `size` bytes there and back: the
//!   request/response rate (netperf's TCP_RR).
//! - crr: `conns` times connect, 1 byte there and back, close: the
//!   connection rate (netperf's TCP_CRR).

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};

use super::checked;
use super::dial::Dial;

/// What a source server sends, every byte (clients check it).
pub(crate) const SOURCE_BYTE: u8 = 0xa5;

/// Sends `bytes` to a discard server and waits for its close.
pub(crate) fn bulk<D: Dial>(d: &D, discard: SocketAddr, bytes: u64) -> anyhow::Result<Duration> {
    let chunk = vec![0x5a_u8; 64 * 1024];
    let start = Instant::now();
    let mut s = d.dial(discard).context("connecting to discard")?;
    let mut left = bytes;
    while left > 0 {
        let n = usize::try_from(left).unwrap_or(usize::MAX).min(chunk.len());
        s.write_all(chunk.get(..n).unwrap_or_default())
            .context("sending")?;
        left -= n as u64;
    }
    D::shutdown_write(&s)?;
    let mut rest = [0u8; 64];
    ensure!(
        s.read(&mut rest)
            .context("waiting for the server's close")?
            == 0,
        "the discard server sent data"
    );
    Ok(start.elapsed())
}

/// Asks a source server for `bytes` and reads them to its close.
pub(crate) fn download<D: Dial>(d: &D, source: SocketAddr, bytes: u64) -> anyhow::Result<Duration> {
    let mut buf = vec![0u8; 64 * 1024];
    let start = Instant::now();
    let mut s = d.dial(source).context("connecting to source")?;
    s.write_all(&bytes.to_be_bytes())?;
    let mut got = 0u64;
    loop {
        match s.read(&mut buf).context("receiving")? {
            0 => break,
            n => {
                let data = buf.get(..n).unwrap_or_default();
                ensure!(
                    data.iter().all(|&b| b == SOURCE_BYTE),
                    "the source sent other bytes"
                );
                got += n as u64;
            }
        }
    }
    ensure!(got == bytes, "received {got} bytes of {bytes}");
    Ok(start.elapsed())
}

/// The latency of one exchange: the median and the 99th percentile.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Latency {
    pub(crate) p50: Duration,
    pub(crate) p99: Duration,
}

/// `rounds` exchanges of `size` bytes with an echo server on one
/// connection: the wall time, and each exchange's latency percentiles.
pub(crate) fn rr<D: Dial>(
    d: &D,
    echo: SocketAddr,
    rounds: u64,
    size: usize,
) -> anyhow::Result<(Duration, Latency)> {
    let mut s = d.dial(echo).context("connecting to echo")?;
    let out = vec![0x42_u8; size.max(1)];
    let mut back = vec![0u8; out.len()];
    let mut each = Vec::with_capacity(usize::try_from(rounds).unwrap_or(0));
    let start = Instant::now();
    for _ in 0..rounds {
        let sent = Instant::now();
        s.write_all(&out).context("sending a request")?;
        s.read_exact(&mut back).context("reading a response")?;
        each.push(sent.elapsed());
    }
    let took = start.elapsed();
    ensure!(back == out, "the echo differs");
    D::shutdown_write(&s)?;
    each.sort_unstable();
    let at = |q: usize| {
        each.get((each.len() * q / 100).min(each.len().saturating_sub(1)))
            .copied()
    };
    let latency = Latency {
        p50: at(50).unwrap_or_default(),
        p99: at(99).unwrap_or_default(),
    };
    Ok((took, latency))
}

/// Connections of the concurrent rr workload.
pub(crate) const RR_CONNS: u64 = 100;

/// [`RR_CONNS`] connections to the echo server at once, each on its own
/// client thread doing `rounds_each` exchanges of `size` bytes: a server
/// under load rather than one ping-pong. Timed from when all are connected
/// until the last finishes.
pub(crate) fn rr_concurrent<D>(
    d: &D,
    echo: SocketAddr,
    rounds_each: u64,
    size: usize,
) -> anyhow::Result<Duration>
where
    D: Dial,
{
    let mut streams = Vec::new();
    for i in 0..RR_CONNS {
        streams.push(
            d.dial(echo)
                .with_context(|| format!("connection {i} of {RR_CONNS}"))?,
        );
    }
    let ready = std::sync::Barrier::new(streams.len() + 1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = streams
            .into_iter()
            .map(|mut s| {
                let ready = &ready;
                scope.spawn(move || -> anyhow::Result<()> {
                    let out = vec![0x42_u8; size.max(1)];
                    let mut back = vec![0u8; out.len()];
                    ready.wait();
                    for _ in 0..rounds_each {
                        s.write_all(&out).context("sending a request")?;
                        s.read_exact(&mut back).context("reading a response")?;
                    }
                    ensure!(back == out, "the echo differs");
                    D::shutdown_write(&s)?;
                    Ok(())
                })
            })
            .collect();
        ready.wait();
        let start = Instant::now();
        for w in workers {
            w.join()
                .map_err(|_| anyhow::anyhow!("an rr client thread panicked"))??;
        }
        Ok(start.elapsed())
    })
}

/// `conns` connections, each a 1-byte exchange with the echo server.
pub(crate) fn crr<D: Dial>(d: &D, echo: SocketAddr, conns: u64) -> anyhow::Result<Duration> {
    let start = Instant::now();
    for i in 0..conns {
        let mut s = d
            .dial(echo)
            .with_context(|| format!("connection {i} of {conns}"))?;
        s.write_all(b"x")?;
        let mut b = [0u8; 1];
        s.read_exact(&mut b)?;
        ensure!(&b == b"x", "the echo differs");
    }
    Ok(start.elapsed())
}

/// Accepts connections on one stack.
pub(crate) trait Listen: Send + 'static {
    type Stream: Read + Write + Send + 'static;
    fn accept(&self) -> io::Result<Self::Stream>;
}

impl Listen for std::net::TcpListener {
    type Stream = std::net::TcpStream;
    fn accept(&self) -> io::Result<Self::Stream> {
        Self::accept(self).map(|(s, _)| s)
    }
}

impl Listen for berth::net::TcpListener {
    type Stream = berth::net::TcpStream;
    fn accept(&self) -> io::Result<Self::Stream> {
        Self::accept(self).map(|(s, _)| s)
    }
}

/// The services the bench's servers run, the same on every stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Service {
    /// Reads everything, closes after the end of stream.
    Discard,
    /// Writes back what it reads, closes after the end of stream.
    Echo,
    /// Reads an 8-byte big-endian count, sends that many [`SOURCE_BYTE`]s,
    /// closes.
    Source,
    /// Checks that the stream is the loss workloads' pattern; after its
    /// end, answers with what it found and closes (`checked.rs`).
    Verify,
    /// Source with the loss workloads' pattern for bytes (`checked.rs`).
    Pattern,
}

impl Service {
    /// Every service, each at its [`Service::index`].
    pub(crate) const ALL: [Self; 5] = [
        Self::Discard,
        Self::Echo,
        Self::Source,
        Self::Verify,
        Self::Pattern,
    ];

    /// Its place in [`Service::ALL`].
    const fn index(self) -> usize {
        match self {
            Self::Discard => 0,
            Self::Echo => 1,
            Self::Source => 2,
            Self::Verify => 3,
            Self::Pattern => 4,
        }
    }

    /// Its port where the bench chooses ports (on TUN devices and veth):
    /// the well-known ones for discard, echo and source (chargen's).
    pub(crate) const fn port(self) -> u16 {
        match self {
            Self::Discard => 9,
            Self::Echo => 7,
            Self::Source => 19,
            Self::Verify => 1009,
            Self::Pattern => 1019,
        }
    }
}

/// Where each service listens.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Addrs([SocketAddr; 5]);

impl Addrs {
    pub(crate) fn new(addr: impl FnMut(Service) -> SocketAddr) -> Self {
        Self(Service::ALL.map(addr))
    }

    pub(crate) fn get(&self, service: Service) -> SocketAddr {
        // INVARIANT: `index` is below 5, the length of `ALL`.
        self.0[service.index()]
    }
}

/// A server for every [`Service`], a thread per connection (the same for
/// every stack). Stop it with [`Servers::stop`].
pub(crate) struct Servers {
    stop: Arc<AtomicBool>,
    acceptors: Vec<JoinHandle<()>>,
    addrs: Addrs,
    /// Services berth serves on its stack thread (`sessions.rs`), closed
    /// with the servers.
    sessions: Vec<berth::PortListener>,
    /// What else serves the services without a listener (the tokio
    /// runtime of `asyncs.rs`), stopped with the servers when dropped.
    others: Option<Box<dyn Send>>,
}

impl Servers {
    pub(crate) fn addrs(&self) -> Addrs {
        self.addrs
    }

    /// These servers, with `others` serving the services without a
    /// listener (stopped when dropped).
    pub(crate) fn with_others(mut self, others: Option<Box<dyn Send>>) -> Self {
        self.others = others;
        self
    }

    /// Starts a server on each listener, given in [`Service::ALL`]'s order.
    pub(crate) fn start<L: Listen>(
        listeners: [(L, SocketAddr); 5],
        cpu: Option<usize>,
    ) -> anyhow::Result<Self> {
        Self::start_some(listeners.map(|(l, a)| (Some(l), a)), Vec::new(), cpu)
    }

    /// Like [`Servers::start`], where a service without a listener is
    /// served by one of `sessions` at its address. `cpu`: where the
    /// server threads are kept.
    pub(crate) fn start_some<L: Listen>(
        listeners: [(Option<L>, SocketAddr); 5],
        sessions: Vec<berth::PortListener>,
        cpu: Option<usize>,
    ) -> anyhow::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let addrs = Addrs(listeners.each_ref().map(|(_, addr)| *addr));
        let mut acceptors = Vec::new();
        for (service, (listener, _)) in Service::ALL.into_iter().zip(listeners) {
            let Some(listener) = listener else {
                continue;
            };
            let serve = match service {
                Service::Discard => discard_conn::<L::Stream>,
                Service::Echo => echo_conn::<L::Stream>,
                Service::Source => source_conn::<L::Stream>,
                Service::Verify => checked::verify_conn::<L::Stream>,
                Service::Pattern => checked::pattern_conn::<L::Stream>,
            };
            acceptors.push(acceptor(listener, stop.clone(), serve, cpu)?);
        }
        Ok(Self {
            stop,
            acceptors,
            addrs,
            sessions,
            others: None,
        })
    }

    /// Stops accepting: `dial` opens one last connection to each listener
    /// (from wherever the clients can reach it) so its acceptor wakes up.
    pub(crate) fn stop<D: Dial>(self, dial: &D) {
        self.stop.store(true, Ordering::SeqCst);
        drop(self.sessions);
        drop(self.others);
        for addr in self.addrs.0 {
            drop(dial.dial(addr));
        }
        for a in self.acceptors {
            let _ = a.join();
        }
    }
}

/// Tries `bind` for every service, in [`Service::ALL`]'s order.
pub(crate) fn bind_all<L, E>(
    mut bind: impl FnMut(Service) -> Result<(L, SocketAddr), E>,
) -> Result<[(L, SocketAddr); 5], E> {
    let [a, b, c, d, e] = Service::ALL;
    Ok([bind(a)?, bind(b)?, bind(c)?, bind(d)?, bind(e)?])
}

/// Keeps the calling thread on `cpu`, if given (`--pin`).
pub(crate) fn pin(cpu: Option<usize>) -> anyhow::Result<()> {
    if let Some(cpu) = cpu {
        berth_device::pin_current_thread(cpu).with_context(|| format!("pinning to CPU {cpu}"))?;
    }
    Ok(())
}

fn acceptor<L: Listen>(
    listener: L,
    stop: Arc<AtomicBool>,
    serve: fn(L::Stream),
    cpu: Option<usize>,
) -> anyhow::Result<JoinHandle<()>> {
    Ok(std::thread::Builder::new()
        .name("bench-accept".into())
        .spawn(move || {
            if pin(cpu).is_err() {
                return;
            }
            while let Ok(s) = listener.accept() {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                let spawned =
                    std::thread::Builder::new()
                        .name("bench-conn".into())
                        .spawn(move || {
                            if pin(cpu).is_ok() {
                                serve(s);
                            }
                        });
                if spawned.is_err() {
                    return;
                }
            }
        })?)
}

fn discard_conn<S: Read + Write>(mut s: S) {
    let mut buf = vec![0u8; 64 * 1024];
    while let Ok(1..) = s.read(&mut buf) {}
}

fn source_conn<S: Read + Write>(mut s: S) {
    let mut count = [0u8; 8];
    if s.read_exact(&mut count).is_err() {
        return;
    }
    let mut left = u64::from_be_bytes(count);
    let chunk = vec![SOURCE_BYTE; 64 * 1024];
    while left > 0 {
        let n = usize::try_from(left).unwrap_or(usize::MAX).min(chunk.len());
        if s.write_all(chunk.get(..n).unwrap_or_default()).is_err() {
            return;
        }
        left -= n as u64;
    }
}

fn echo_conn<S: Read + Write>(mut s: S) {
    let mut buf = vec![0u8; 64 * 1024];
    while let Ok(n @ 1..) = s.read(&mut buf) {
        if s.write_all(buf.get(..n).unwrap_or_default()).is_err() {
            return;
        }
    }
}
