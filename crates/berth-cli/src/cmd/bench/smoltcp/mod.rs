//! The bench workloads on smoltcp (the crates.io crate), for comparison
//! with berth and the kernel.
//!
//! In memory, smoltcp runs its best case: one thread, one `Interface`
//! holding both the client and the server sockets, as in smoltcp's
//! `examples/loopback.rs`. The link is a queue of frames in memory (medium
//! IP) with the MTU the run is given, so that berth and smoltcp are compared
//! at the same MTU; checksums are computed and verified in software, as
//! berth does. [`serve`] runs the same servers (echo on port 7, discard on
//! port 9, source on port 19, and the loss workloads' verify and pattern)
//! on a berth device, so that a kernel or berth client can drive smoltcp
//! over a TUN device.
//!
//! Source answers a client's request, the number of bytes it wants as 8
//! bytes big-endian, with exactly that many bytes, then closes.
//!
//! Sockets keep smoltcp's defaults (Nagle on, 10 ms delayed ACKs, no
//! congestion control) with one exception: a client socket that has closed
//! its side ACKs the peer's FIN at once. smoltcp otherwise delays that ACK by
//! 10 ms, holding the server socket in LAST-ACK, and the ACK is lost when the
//! client socket is reused from TIME-WAIT for the next connection.
//!
//! The files, by concern: this one has the entry points (the in-memory
//! workloads and [`serve`]) and what they share; `server.rs` the services
//! on a pool of listening sockets; `clients.rs` the workloads' client
//! sides; `mem_net.rs` the one-`Interface` in-memory network they run on;
//! `phy.rs` smoltcp's `phy::Device` for that in-memory link and for a
//! berth device.
//!
//! Built only with berth-cli's `smoltcp` feature, so that an installed
//! `berth` does not carry smoltcp; without it `berth bench` skips smoltcp.

mod clients;
mod mem_net;
mod phy;
mod server;
#[cfg(test)]
mod tests;

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use ::smoltcp::iface::{Config, Interface, PollIngressSingleResult, PollResult};
use ::smoltcp::time::{Duration as SmolDuration, Instant as SmolInstant};
use ::smoltcp::wire::{HardwareAddress, IpAddress, IpCidr};
use anyhow::{Context as _, Result, anyhow, ensure};
use berth_device::Device;

use super::workload::Service;
use clients::{Bulk, Crr, Download, Rr};
use mem_net::MemNet;
use phy::BerthPhy;
use server::Server;

type SocketSet = ::smoltcp::iface::SocketSet<'static>;

/// The discard service: reads everything, closes after end of stream.
const DISCARD: u16 = 9;
/// The echo service: writes back what it reads, closes after end of stream.
const ECHO: u16 = 7;
/// The source service: reads an 8-byte big-endian count, writes that many
/// bytes, closes.
const SOURCE: u16 = 19;
/// The verify service: checks the stream against the loss workloads'
/// pattern, answers with what it found after the end of stream, closes.
const VERIFY: u16 = Service::Verify.port();
/// The pattern service: source, with the pattern for bytes.
const PATTERN: u16 = Service::Pattern.port();
/// The ports served.
const SERVICES: [u16; 5] = [DISCARD, ECHO, SOURCE, VERIFY, PATTERN];
/// The byte source sends.
const SOURCE_BYTE: u8 = 0xa5;
/// Each socket's receive and send buffer: the size berth's core has in
/// the same comparison.
const SOCKET_BUFFER: usize = super::core::SOCKET_BUFFER;
/// The bulk client's write size.
const CHUNK: usize = 64 * 1024;
/// Listening sockets kept ready per port, so that a new SYN finds one.
const LISTEN_POOL: usize = 4;
/// The in-memory interface's address, from the benchmarking range
/// (RFC 2544: 198.18.0.0/15).
const MEM_ADDR: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
const MEM_PREFIX: u8 = 24;
/// The first client port (RFC 6335: the dynamic range).
const FIRST_EPHEMERAL: u16 = 49152;
/// A run with no progress for this long has failed.
const STALL: Duration = Duration::from_secs(10);
/// The longest idle wait in [`serve`], so that `stop` is seen promptly.
const STOP_CHECK: Duration = Duration::from_millis(50);
/// The longest idle sleep of the in-memory loop.
const MEM_IDLE: Duration = Duration::from_millis(100);
/// The longest IPv4 packet.
const MAX_IP_PACKET: usize = 65535;
/// The shortest MTU an IPv4 link may have (RFC 791).
const MIN_IP_MTU: usize = 68;
/// Frames taken from the device per round of [`serve`], and packets sent.
const BURST: usize = 256;

/// Bulk over an in-memory link with MTU `mtu`: returns the wall time to
/// move `bytes` client->server (counted by the server).
pub(crate) fn mem_bulk(bytes: u64, mtu: usize) -> Result<Duration> {
    let mut net = MemNet::new(mtu)?;
    let start = Instant::now();
    let handle = net.connect(DISCARD)?;
    let mut client = Bulk {
        handle,
        left: bytes,
        chunk: vec![0x5a; CHUNK],
        closed: false,
    };
    net.run(&mut client)?;
    let elapsed = start.elapsed();
    ensure!(
        net.server.discarded == bytes,
        "the server counted {} bytes of {bytes}",
        net.server.discarded
    );
    Ok(elapsed)
}

/// Download over an in-memory link with MTU `mtu`: returns the wall time
/// from connecting to source to the end of its stream of `bytes`
/// server->client (counted by the client).
pub(crate) fn mem_download(bytes: u64, mtu: usize) -> Result<Duration> {
    let mut net = MemNet::new(mtu)?;
    let start = Instant::now();
    let handle = net.connect(SOURCE)?;
    let mut client = Download {
        handle,
        request: bytes.to_be_bytes(),
        sent: 0,
        want: bytes,
        got: 0,
    };
    net.run(&mut client)?;
    let elapsed = start.elapsed();
    ensure!(
        client.got == bytes,
        "the client counted {} bytes of {bytes}",
        client.got
    );
    Ok(elapsed)
}

/// R request/response rounds of `size` bytes on one connection, in memory.
pub(crate) fn mem_rr(rounds: u64, size: usize, mtu: usize) -> Result<Duration> {
    ensure!(size > 0, "rr needs a message of at least one byte");
    let mut net = MemNet::new(mtu)?;
    let handle = net.connect(ECHO)?;
    // Timed from here, as for the other stacks: the exchanges, not the
    // handshake.
    let start = Instant::now();
    let mut client = Rr {
        handle,
        rounds,
        round: 0,
        sent: 0,
        got: 0,
        msg: vec![0; size],
    };
    client.fill();
    net.run(&mut client)?;
    let elapsed = start.elapsed();
    ensure!(
        client.round == rounds,
        "{} of {rounds} rounds",
        client.round
    );
    Ok(elapsed)
}

/// C connect/1-byte-echo/close cycles, in memory.
pub(crate) fn mem_crr(conns: u64, mtu: usize) -> Result<Duration> {
    let mut net = MemNet::new(mtu)?;
    let start = Instant::now();
    let mut client = Crr {
        conns,
        done: 0,
        current: None,
    };
    net.run(&mut client)?;
    let elapsed = start.elapsed();
    ensure!(
        client.done == conns,
        "{} of {conns} connections",
        client.done
    );
    Ok(elapsed)
}

/// Serves echo on 7, discard on 9, source on 19, verify and pattern at `addr/prefix` on
/// `device` (an already-open berth TUN device, medium IP) until `stop` is
/// set.
///
/// Each round takes the frames the device has, runs the services, sends
/// what smoltcp has to send, then sleeps until the device is readable or
/// smoltcp's next timer. Peers outside `addr/prefix` are reached too (a
/// default route), as the device is point to point.
pub(crate) fn serve(
    device: Box<dyn Device>,
    addr: Ipv4Addr,
    prefix: u8,
    stop: Arc<AtomicBool>,
) -> Result<()> {
    ensure!(
        device.medium() == berth_device::Medium::Ip,
        "smoltcp serves on IP devices (TUN), not Ethernet"
    );
    let base = Instant::now();
    let mut phy = BerthPhy::new(device);
    let mut config = Config::new(HardwareAddress::Ip);
    config.random_seed = clock_seed();
    let mut iface = Interface::new(config, &mut phy, smol_now(base));
    set_addr(&mut iface, addr, prefix)?;
    iface
        .routes_mut()
        .add_default_ipv4_route(addr)
        .map_err(|_| anyhow!("smoltcp's route table is full"))?;
    let mut sockets = SocketSet::new(Vec::new());
    let mut server = Server::new(&mut sockets)?;

    while !stop.load(Ordering::Relaxed) {
        let now = smol_now(base);
        for _ in 0..BURST {
            match iface.poll_ingress_single(now, &mut phy, &mut sockets) {
                PollIngressSingleResult::None => break,
                // The frame may have taken a listener: top the pool up before
                // the next frame, which may be another SYN.
                _ => server.refill(&mut sockets)?,
            }
        }
        server.serve(&mut sockets);
        for _ in 0..BURST {
            if iface.poll_egress(now, &mut phy, &mut sockets) == PollResult::None {
                break;
            }
        }
        phy.take_error().context("berth device")?;
        let delay = iface.poll_delay(smol_now(base), &sockets);
        phy.wait(delay.map(std_duration))
            .context("waiting on the berth device")?;
    }
    Ok(())
}

fn set_addr(iface: &mut Interface, addr: Ipv4Addr, prefix: u8) -> Result<()> {
    ensure!(prefix <= 32, "prefix /{prefix} is longer than 32 bits");
    let mut full = false;
    iface.update_ip_addrs(|addrs| {
        full = addrs
            .push(IpCidr::new(IpAddress::Ipv4(addr), prefix))
            .is_err();
    });
    ensure!(!full, "smoltcp's address list is full");
    Ok(())
}

/// smoltcp's clock: microseconds since `base`.
fn smol_now(base: Instant) -> SmolInstant {
    SmolInstant::from_micros(i64::try_from(base.elapsed().as_micros()).unwrap_or(i64::MAX))
}

fn std_duration(d: SmolDuration) -> Duration {
    Duration::from_micros(d.total_micros())
}

/// A seed for smoltcp's initial sequence numbers and ports, different on
/// each run.
fn clock_seed() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}
