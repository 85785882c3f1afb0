//! berth's sans-IO core under the bench workloads, without the runtime:
//! two `Stack`s on the simulator (`berth_core::sim::Pair`, the loop of
//! `berth sim` and of the core's tests) stepped by one thread on the wall
//! clock, their packets handed across in memory at a given MTU (links
//! without faults: in order, at once), checksums computed and verified. It
//! is the arrangement smoltcp's side runs in (one thread, no system calls,
//! see `smoltcp/mem_net.rs`), so the two protocol implementations are
//! compared on the same footing; the threaded runtime is measured by the
//! `mem` target. The same footing includes the socket buffers: both
//! stacks have [`SOCKET_BUFFER`] each way, smoltcp's fixed size. berth's
//! own defaults grow to 8 MiB (Linux's autotuning, for long paths), which
//! a link with no latency never needs: there the window fills the
//! simulator's queue, the RTT it measures is that queue, and every byte
//! crosses a cache too small for it (download: 8.1 Gbit/s with them, 11.5
//! with these, docs/PERFORMANCE.md).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant as StdInstant};

use anyhow::{Context, bail, ensure};

use super::workload::SOURCE_BYTE;
use berth_core::config::StackConfig;
use berth_core::handle::SocketHandle;
use berth_core::sim::{Clock, Faults, Link, Pair, Turn};
use berth_core::stack::{SocketError, Stack};
use berth_core::time::Instant;

const CLIENT: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
const SERVER: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
const DISCARD: u16 = 9;
const ECHO: u16 = 7;
const SOURCE: u16 = 19;
/// What the source service sends, a chunk at a time.
const SOURCE_CHUNK: [u8; 16 * 1024] = [SOURCE_BYTE; 16 * 1024];
/// Each socket's receive and send buffer, in both stacks (smoltcp's are
/// fixed at this size).
pub(super) const SOCKET_BUFFER: usize = 256 * 1024;
/// A run with no progress for this long has failed.
const STALL: Duration = Duration::from_secs(10);
/// The longest sleep while waiting for a timer, so a stall is noticed.
const MAX_SLEEP: Duration = Duration::from_millis(100);

/// What a server connection does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Service {
    Discard,
    Echo,
    Source,
}

struct Conn {
    handle: SocketHandle,
    service: Service,
    /// Echo: bytes read, not yet sent back. Source: the count, as read.
    pending: Vec<u8>,
    /// Source: bytes still to send (once the count is in).
    left: Option<u64>,
    closed: bool,
}

/// The wall clock, for the simulator: the time since the run began, and a
/// sleep towards the next timer when nothing moves.
struct Wall {
    epoch: StdInstant,
}

impl Clock for Wall {
    fn now(&mut self, _: Instant) -> Instant {
        Instant::from_micros(u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX))
    }

    fn wait_until(&mut self, last: Instant, next: Instant) -> Instant {
        let now = self.now(last);
        let wait = next.saturating_duration_since(now).min(MAX_SLEEP);
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
        self.now(last)
    }
}

/// The server's side: the three services on their listeners.
struct Services {
    listeners: Vec<(SocketHandle, Service)>,
    conns: Vec<Conn>,
    scratch: Vec<u8>,
}

/// Two stacks, one thread: the client is `a`, the server `b`.
struct World {
    pair: Pair<Stack, (), Wall>,
    services: Services,
}

impl World {
    fn new(mtu: usize, seed: u64) -> anyhow::Result<Self> {
        let config = |addr: Ipv4Addr, seed: u64| {
            let mut config = StackConfig {
                addrs: vec![IpAddr::V4(addr)],
                mtu,
                seed,
                ..StackConfig::default()
            };
            let tcp = &mut config.tcp;
            (tcp.send_buffer, tcp.send_buffer_max) = (SOCKET_BUFFER, SOCKET_BUFFER);
            (tcp.recv_buffer, tcp.recv_buffer_max) = (SOCKET_BUFFER, SOCKET_BUFFER);
            config
        };
        let client = Stack::new(config(CLIENT, seed));
        let mut server = Stack::new(config(SERVER, seed ^ 0x5555));
        let mut listeners = Vec::new();
        for (port, service) in [
            (DISCARD, Service::Discard),
            (ECHO, Service::Echo),
            (SOURCE, Service::Source),
        ] {
            let h = server
                .tcp_listen(SocketAddr::new(IpAddr::V4(SERVER), port), 128)
                .map_err(|e| anyhow::anyhow!("listen on {port}: {e:?}"))?;
            listeners.push((h, service));
        }
        // Links without faults draw no random numbers: the seeds are moot.
        let link = || Link::new(Faults::default(), 0);
        let mut pair = Pair::new(client, server, link(), link()).with_clock(Wall {
            epoch: StdInstant::now(),
        });
        // No limit on a run's length: a stall is [`STALL`] without progress.
        pair.limit = Duration::MAX;
        Ok(Self {
            pair,
            services: Services {
                listeners,
                conns: Vec::new(),
                scratch: vec![0u8; 64 * 1024],
            },
        })
    }

    fn now(&mut self) -> Instant {
        self.pair.clock.now(self.pair.now)
    }

    /// Runs the stacks, the services and `client` (the workload, given the
    /// client's stack) after every step, until `client` is done. Fails
    /// after [`STALL`] without a packet moved or a service at work.
    fn run(
        &mut self,
        mut client: impl FnMut(&mut Stack) -> anyhow::Result<Turn>,
    ) -> anyhow::Result<()> {
        let Self { pair, services } = self;
        let mut result = Ok(());
        let mut frames = 0;
        // Since when nothing has moved (the clock is read only then).
        let mut idle_since = None;
        pair.run_interleaved(|p| {
            // Readiness events are not needed here (the services and the
            // client poll their sockets), but they are taken as the
            // runtime takes them, so that they do not pile up.
            while p.a.poll_event().is_some() {}
            while p.b.poll_event().is_some() {}
            let served = services.serve(&mut p.b, p.now);
            let turn = match client(&mut p.a) {
                Ok(Turn::Done) => return Turn::Done,
                Ok(turn) => turn,
                Err(e) => {
                    result = Err(e);
                    return Turn::Done;
                }
            };
            let moved = p.ab.stats.sent + p.ba.stats.sent;
            if served || moved != frames {
                frames = moved;
                idle_since = None;
            } else if idle_since.get_or_insert_with(StdInstant::now).elapsed() >= STALL {
                result = Err(anyhow::anyhow!("no progress for {STALL:?}"));
                return Turn::Done;
            }
            if served { Turn::Busy } else { turn }
        })?;
        result
    }

    fn connect(&mut self, port: u16) -> anyhow::Result<SocketHandle> {
        let now = self.now();
        let h = self
            .pair
            .a
            .tcp_connect(now, SocketAddr::new(IpAddr::V4(SERVER), port), None)
            .map_err(|e| anyhow::anyhow!("connect: {e:?}"))?;
        self.run(|c| {
            Ok(done_if(!matches!(
                c.tcp_state(h),
                Ok(berth_core::tcp::State::SynSent | berth_core::tcp::State::SynReceived)
            )))
        })?;
        Ok(h)
    }

    fn close(&mut self, h: SocketHandle) {
        let now = self.now();
        let _ = self.pair.a.tcp_close(now, h);
    }
}

/// Done if `done`, else waiting.
fn done_if(done: bool) -> Turn {
    if done { Turn::Done } else { Turn::Idle }
}

/// Reads what `h` has; `Ok(None)` at the end of stream.
fn recv(client: &mut Stack, h: SocketHandle, buf: &mut [u8]) -> anyhow::Result<Option<usize>> {
    match client.tcp_recv(h, buf) {
        Ok(0) => Ok(None),
        Ok(n) => Ok(Some(n)),
        Err(SocketError::WouldBlock) => Ok(Some(0)),
        Err(e) => bail!("receive: {e:?}"),
    }
}

impl Services {
    /// The three services; whether any did something.
    fn serve(&mut self, server: &mut Stack, now: Instant) -> bool {
        let mut busy = false;
        for &(l, service) in &self.listeners {
            while let Ok(Some((handle, _))) = server.tcp_accept(l) {
                self.conns.push(Conn {
                    handle,
                    service,
                    pending: Vec::new(),
                    left: None,
                    closed: false,
                });
                busy = true;
            }
        }
        for c in &mut self.conns {
            busy |= serve_conn(server, now, c, &mut self.scratch);
        }
        self.conns.retain(|c| !c.closed);
        busy
    }
}

/// Serves one connection: sends what is owed, reads as far as there is
/// room for what reading makes it owe, and sends that at once. Whether it
/// did anything.
fn serve_conn(stack: &mut Stack, now: Instant, c: &mut Conn, buf: &mut [u8]) -> bool {
    let mut busy = send_owed(stack, now, c);
    if !c.closed {
        busy |= read(stack, now, c, buf);
    }
    if !c.closed {
        busy |= send_owed(stack, now, c);
    }
    busy
}

/// Sends what an echo or a source owes (a source closes once it is all
/// sent). Whether it sent anything.
fn send_owed(stack: &mut Stack, now: Instant, c: &mut Conn) -> bool {
    let mut busy = false;
    match c.service {
        Service::Echo if !c.pending.is_empty() => {
            if let Ok(n) = stack.tcp_send(c.handle, &c.pending) {
                c.pending.drain(..n);
                busy = true;
            }
        }
        Service::Source => {
            while let Some(left) = c.left.filter(|&l| l > 0) {
                let n = usize::try_from(left)
                    .unwrap_or(usize::MAX)
                    .min(SOURCE_CHUNK.len());
                match stack.tcp_send(c.handle, SOURCE_CHUNK.get(..n).unwrap_or_default()) {
                    Ok(k) => {
                        c.left = Some(left - k as u64);
                        busy = true;
                    }
                    Err(_) => break,
                }
            }
            if c.left == Some(0) {
                let _ = stack.tcp_close(now, c.handle);
                c.closed = true;
                return true;
            }
        }
        _ => {}
    }
    busy
}

/// Reads, as far as there is room for what reading makes the service owe;
/// closes at the end of stream. Whether it read anything.
fn read(stack: &mut Stack, now: Instant, c: &mut Conn, buf: &mut [u8]) -> bool {
    let mut busy = false;
    loop {
        if c.service == Service::Echo && !c.pending.is_empty() {
            break;
        }
        if c.service == Service::Source && c.left.is_some() {
            break;
        }
        match stack.tcp_recv(c.handle, buf) {
            Ok(0) => {
                let _ = stack.tcp_close(now, c.handle);
                c.closed = true;
                return true;
            }
            Ok(n) => {
                busy = true;
                let data = buf.get(..n).unwrap_or_default();
                match c.service {
                    Service::Discard => {}
                    Service::Echo => c.pending.extend_from_slice(data),
                    Service::Source => {
                        c.pending.extend_from_slice(data);
                        if let Some(count) = c.pending.get(..8) {
                            let mut b = [0u8; 8];
                            b.copy_from_slice(count);
                            c.left = Some(u64::from_be_bytes(b));
                        }
                    }
                }
            }
            Err(_) => break,
        }
    }
    busy
}

pub(crate) fn mem_bulk(bytes: u64, mtu: usize) -> anyhow::Result<Duration> {
    let mut w = World::new(mtu, 1)?;
    let chunk = vec![0x5a_u8; 64 * 1024];
    let start = StdInstant::now();
    let h = w.connect(DISCARD)?;
    let mut left = bytes;
    w.run(|c| {
        let n = usize::try_from(left).unwrap_or(usize::MAX).min(chunk.len());
        Ok(match c.tcp_send(h, chunk.get(..n).unwrap_or_default()) {
            Ok(k) if k as u64 == left => Turn::Done,
            Ok(k) if k > 0 => {
                left -= k as u64;
                Turn::Busy
            }
            _ => Turn::Idle,
        })
    })?;
    w.pair
        .a
        .tcp_shutdown_write(h)
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let mut buf = [0u8; 64];
    w.run(|c| {
        Ok(match recv(c, h, &mut buf)? {
            None => Turn::Done,
            Some(0) => Turn::Idle,
            Some(_) => Turn::Busy,
        })
    })
    .context("waiting for the close")?;
    let took = start.elapsed();
    w.close(h);
    Ok(took)
}

pub(crate) fn mem_download(bytes: u64, mtu: usize) -> anyhow::Result<Duration> {
    let mut w = World::new(mtu, 2)?;
    let mut buf = vec![0u8; 64 * 1024];
    let start = StdInstant::now();
    let h = w.connect(SOURCE)?;
    let sent = w
        .pair
        .a
        .tcp_send(h, &bytes.to_be_bytes())
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    ensure!(sent == 8, "the request did not fit");
    let mut got = 0u64;
    w.run(|c| {
        let Some(n) = recv(c, h, &mut buf)? else {
            return Ok(Turn::Done);
        };
        let data = buf.get(..n).unwrap_or_default();
        ensure!(
            data.iter().all(|&b| b == SOURCE_BYTE),
            "the source sent other bytes"
        );
        got += n as u64;
        Ok(if n == 0 { Turn::Idle } else { Turn::Busy })
    })?;
    let took = start.elapsed();
    ensure!(got == bytes, "received {got} bytes of {bytes}");
    w.close(h);
    Ok(took)
}

pub(crate) fn mem_rr(rounds: u64, size: usize, mtu: usize) -> anyhow::Result<Duration> {
    let mut w = World::new(mtu, 3)?;
    let h = w.connect(ECHO)?;
    let out = vec![0x42_u8; size.max(1)];
    let mut back = vec![0u8; out.len()];
    let start = StdInstant::now();
    for _ in 0..rounds {
        let (mut sent, mut got) = (0, 0);
        w.run(|c| {
            if sent < out.len() {
                // Nothing can come back before the rest has gone.
                if let Ok(k) = c.tcp_send(h, out.get(sent..).unwrap_or_default()) {
                    sent += k;
                    return Ok(Turn::Busy);
                }
            }
            Ok(match recv(c, h, back.get_mut(got..).unwrap_or_default())? {
                Some(0) => Turn::Idle,
                Some(n) => {
                    got += n;
                    if got == back.len() {
                        Turn::Done
                    } else {
                        Turn::Busy
                    }
                }
                None => bail!("the echo server closed"),
            })
        })?;
    }
    let took = start.elapsed();
    ensure!(back == out, "the echo differs");
    w.close(h);
    Ok(took)
}

pub(crate) fn mem_crr(conns: u64, mtu: usize) -> anyhow::Result<Duration> {
    let mut w = World::new(mtu, 4)?;
    let start = StdInstant::now();
    for _ in 0..conns {
        let h = w.connect(ECHO)?;
        w.pair
            .a
            .tcp_send(h, b"x")
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let mut b = [0u8; 1];
        w.run(|c| match recv(c, h, &mut b)? {
            Some(0) => Ok(Turn::Idle),
            Some(_) => Ok(Turn::Done),
            None => bail!("the echo server closed"),
        })?;
        ensure!(&b == b"x", "the echo differs");
        w.close(h);
        w.pair.step();
    }
    Ok(start.elapsed())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_workload_completes() {
        mem_bulk(1 << 20, 1500).unwrap();
        mem_download(1 << 20, 1500).unwrap();
        mem_rr(100, 64, 1500).unwrap();
        mem_crr(20, 1500).unwrap();
    }
}
