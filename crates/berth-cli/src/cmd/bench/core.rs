//! berth's sans-IO core under the bench workloads, without the runtime:
//! two `Stack`s stepped by one thread, their packets handed across in
//! memory at a given MTU, checksums computed and verified. It is the
//! arrangement smoltcp's side runs in (one thread, no system calls, see
//! `smoltcp/mem_net.rs`), so the two protocol implementations are compared on the
//! same footing; the threaded runtime is measured by the `mem` target.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant as StdInstant};

use anyhow::{Context, bail, ensure};

use super::workload::SOURCE_BYTE;
use berth_core::config::StackConfig;
use berth_core::handle::SocketHandle;
use berth_core::stack::{SocketError, Stack};
use berth_core::time::Instant;

const CLIENT: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
const SERVER: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
const DISCARD: u16 = 9;
const ECHO: u16 = 7;
const SOURCE: u16 = 19;
/// What the source service sends, a chunk at a time.
const SOURCE_CHUNK: [u8; 16 * 1024] = [SOURCE_BYTE; 16 * 1024];
/// A run with no progress for this long has failed.
const STALL: Duration = Duration::from_secs(10);

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

/// Two stacks, one thread.
struct World {
    client: Stack,
    server: Stack,
    listeners: Vec<(SocketHandle, Service)>,
    conns: Vec<Conn>,
    packet: Vec<u8>,
    scratch: Vec<u8>,
    epoch: StdInstant,
    last_progress: StdInstant,
}

impl World {
    fn new(mtu: usize, seed: u64) -> anyhow::Result<Self> {
        let config = |addr: Ipv4Addr, seed: u64| StackConfig {
            addrs: vec![IpAddr::V4(addr)],
            mtu,
            seed,
            ..StackConfig::default()
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
        let now = StdInstant::now();
        Ok(Self {
            client,
            server,
            listeners,
            conns: Vec::new(),
            packet: vec![0u8; mtu.max(1500) + 64],
            scratch: vec![0u8; 64 * 1024],
            epoch: now,
            last_progress: now,
        })
    }

    fn now(&self) -> Instant {
        Instant::from_micros(u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX))
    }

    /// Moves packets both ways, fires timers, runs the servers; sleeps
    /// until the next timer when nothing moved. Fails after a long stall.
    fn step(&mut self) -> anyhow::Result<()> {
        let now = self.now();
        self.client.handle_timeout(now);
        self.server.handle_timeout(now);
        let mut moved = false;
        while let Some(n) = self.client.poll_transmit(now, &mut self.packet) {
            self.server
                .handle_frame(now, self.packet.get(..n).unwrap_or_default());
            moved = true;
        }
        moved |= self.serve(now);
        while let Some(n) = self.server.poll_transmit(now, &mut self.packet) {
            self.client
                .handle_frame(now, self.packet.get(..n).unwrap_or_default());
            moved = true;
        }
        if moved {
            self.last_progress = StdInstant::now();
            return Ok(());
        }
        ensure!(
            self.last_progress.elapsed() < STALL,
            "no progress for {STALL:?}"
        );
        // Nothing to move: wait for the next timer (a delayed ACK, say).
        let next = [self.client.poll_timeout(), self.server.poll_timeout()]
            .into_iter()
            .flatten()
            .min();
        if let Some(next) = next {
            let wait = next
                .total_micros()
                .saturating_sub(self.now().total_micros());
            std::thread::sleep(Duration::from_micros(wait.min(100_000)));
        }
        Ok(())
    }

    /// The three services; whether any did something.
    fn serve(&mut self, now: Instant) -> bool {
        let mut busy = false;
        for &(l, service) in &self.listeners {
            while let Ok(Some((handle, _))) = self.server.tcp_accept(l) {
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
            busy |= serve_conn(&mut self.server, now, c, &mut self.scratch);
        }
        self.conns.retain(|c| !c.closed);
        busy
    }

    fn connect(&mut self, port: u16) -> anyhow::Result<SocketHandle> {
        let now = self.now();
        let h = self
            .client
            .tcp_connect(now, SocketAddr::new(IpAddr::V4(SERVER), port), None)
            .map_err(|e| anyhow::anyhow!("connect: {e:?}"))?;
        while matches!(
            self.client.tcp_state(h),
            Ok(berth_core::tcp::State::SynSent | berth_core::tcp::State::SynReceived)
        ) {
            self.step()?;
        }
        Ok(h)
    }

    /// Reads what `h` has; `Ok(None)` at the end of stream.
    fn recv(&mut self, h: SocketHandle, buf: &mut [u8]) -> anyhow::Result<Option<usize>> {
        match self.client.tcp_recv(h, buf) {
            Ok(0) => Ok(None),
            Ok(n) => Ok(Some(n)),
            Err(SocketError::WouldBlock) => Ok(Some(0)),
            Err(e) => bail!("receive: {e:?}"),
        }
    }

    fn close(&mut self, h: SocketHandle) {
        let now = self.now();
        let _ = self.client.tcp_close(now, h);
    }
}

fn serve_conn(stack: &mut Stack, now: Instant, c: &mut Conn, buf: &mut [u8]) -> bool {
    let mut busy = false;
    // Send what is owed first.
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
    // Then read, as far as there is room for what reading makes us owe.
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
    while left > 0 {
        let n = usize::try_from(left).unwrap_or(usize::MAX).min(chunk.len());
        if let Ok(k) = w.client.tcp_send(h, chunk.get(..n).unwrap_or_default()) {
            left -= k as u64;
        }
        w.step()?;
    }
    w.client
        .tcp_shutdown_write(h)
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let mut buf = [0u8; 64];
    while w
        .recv(h, &mut buf)
        .context("waiting for the close")?
        .is_some()
    {
        w.step()?;
    }
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
        .client
        .tcp_send(h, &bytes.to_be_bytes())
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    ensure!(sent == 8, "the request did not fit");
    let mut got = 0u64;
    while let Some(n) = w.recv(h, &mut buf)? {
        let data = buf.get(..n).unwrap_or_default();
        ensure!(
            data.iter().all(|&b| b == SOURCE_BYTE),
            "the source sent other bytes"
        );
        got += n as u64;
        if n == 0 {
            w.step()?;
        }
    }
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
        let mut sent = 0;
        while sent < out.len() {
            if let Ok(k) = w.client.tcp_send(h, out.get(sent..).unwrap_or_default()) {
                sent += k;
            }
            w.step()?;
        }
        let mut got = 0;
        while got < back.len() {
            match w.recv(h, back.get_mut(got..).unwrap_or_default())? {
                Some(0) => w.step()?,
                Some(n) => got += n,
                None => bail!("the echo server closed"),
            }
        }
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
        w.client
            .tcp_send(h, b"x")
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let mut b = [0u8; 1];
        loop {
            match w.recv(h, &mut b)? {
                Some(0) => w.step()?,
                Some(_) => break,
                None => bail!("the echo server closed"),
            }
        }
        ensure!(&b == b"x", "the echo differs");
        w.close(h);
        w.step()?;
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
