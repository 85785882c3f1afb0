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

use std::collections::VecDeque;
use std::io;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use ::smoltcp::iface::{Config, Interface, PollIngressSingleResult, PollResult, SocketHandle};
use ::smoltcp::phy::{self, DeviceCapabilities, Medium};
use ::smoltcp::socket::tcp;
use ::smoltcp::time::{Duration as SmolDuration, Instant as SmolInstant};
use ::smoltcp::wire::{HardwareAddress, IpAddress, IpCidr};
use anyhow::{Context as _, Result, anyhow, bail, ensure};
use berth_device::Device;

use super::checked::{self, Check};
use super::workload::Service;

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
/// Each socket's receive and send buffer (berth's default).
const SOCKET_BUFFER: usize = 256 * 1024;
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

/// The server side of the services, on a pool of sockets.
struct Server {
    /// Sockets in LISTEN, with their port.
    listening: Vec<(SocketHandle, u16)>,
    /// Sockets with a connection, with their service.
    active: Vec<(SocketHandle, Conn)>,
    /// Closed sockets, ready to listen again.
    free: Vec<SocketHandle>,
    /// Echo's copy from the receive buffer to the send buffer.
    scratch: Vec<u8>,
    /// Bytes read by discard.
    discarded: u64,
}

/// A connection's service, with its progress.
#[derive(Debug, Clone, Copy)]
enum Conn {
    Discard,
    Echo,
    /// Source (or pattern), reading the request: `read` bytes of `count`
    /// so far.
    SourceRequest {
        count: [u8; 8],
        read: usize,
        pattern: bool,
    },
    /// Source (or pattern), sending: `sent` bytes so far, `left` to go.
    SourceSend {
        sent: u64,
        left: u64,
        pattern: bool,
    },
    /// Verify: the stream so far; `answered` once the answer is queued.
    Verify {
        check: Check,
        answered: bool,
    },
}

impl Conn {
    /// A new connection to `port`, one of [`SERVICES`].
    fn new(port: u16) -> Self {
        match port {
            DISCARD => Self::Discard,
            ECHO => Self::Echo,
            VERIFY => Self::Verify {
                check: Check::default(),
                answered: false,
            },
            _ => Self::SourceRequest {
                count: [0; 8],
                read: 0,
                pattern: port == PATTERN,
            },
        }
    }

    fn port(self) -> u16 {
        match self {
            Self::Discard => DISCARD,
            Self::Echo => ECHO,
            Self::Verify { .. } => VERIFY,
            Self::SourceRequest { pattern, .. } | Self::SourceSend { pattern, .. } => {
                if pattern {
                    PATTERN
                } else {
                    SOURCE
                }
            }
        }
    }
}

impl Server {
    fn new(sockets: &mut SocketSet) -> Result<Self> {
        let mut server = Self {
            listening: Vec::new(),
            active: Vec::new(),
            free: Vec::new(),
            scratch: vec![0; CHUNK],
            discarded: 0,
        };
        server.refill(sockets)?;
        Ok(server)
    }

    /// Moves listeners that took a connection to the active list, then
    /// brings each port back to [`LISTEN_POOL`] listeners, reusing closed
    /// sockets first.
    fn refill(&mut self, sockets: &mut SocketSet) -> Result<()> {
        let Self {
            listening, active, ..
        } = self;
        listening.retain(|&(handle, port)| {
            let still = sockets.get::<tcp::Socket>(handle).is_listening();
            if !still {
                active.push((handle, Conn::new(port)));
            }
            still
        });
        for port in SERVICES {
            let ready = self.listening.iter().filter(|(_, p)| *p == port).count();
            for _ in ready..LISTEN_POOL {
                let handle = match self.free.pop() {
                    Some(handle) => handle,
                    None => sockets.add(new_socket()),
                };
                sockets
                    .get_mut::<tcp::Socket>(handle)
                    .listen(port)
                    .map_err(|e| anyhow!("smoltcp cannot listen on port {port}: {e}"))?;
                self.listening.push((handle, port));
            }
        }
        Ok(())
    }

    /// Runs its service on every connection, and retires the sockets whose
    /// connection ended. Returns the bytes moved.
    fn serve(&mut self, sockets: &mut SocketSet) -> usize {
        let Self {
            listening,
            active,
            free,
            scratch,
            discarded,
        } = self;
        let mut moved = 0;
        active.retain_mut(|(handle, conn)| {
            let socket = sockets.get_mut::<tcp::Socket>(*handle);
            moved += match conn {
                Conn::Discard => {
                    let n = discard(socket);
                    *discarded += n as u64;
                    n
                }
                Conn::Echo => echo(socket, scratch),
                Conn::Verify { check, answered } => verify(socket, check, answered),
                Conn::SourceRequest { .. } | Conn::SourceSend { .. } => source(socket, conn),
            };
            if socket.is_listening() {
                // A half-open connection was reset: smoltcp listens again.
                listening.push((*handle, conn.port()));
                false
            } else if !socket.is_open() {
                free.push(*handle);
                false
            } else {
                true
            }
        });
        moved
    }
}

/// Reads and drops everything; closes after end of stream. Returns the
/// bytes read.
fn discard(socket: &mut tcp::Socket<'_>) -> usize {
    let total = drain(socket);
    close_at_eof(socket);
    total
}

/// Reads and drops what was received. Returns the bytes read.
fn drain(socket: &mut tcp::Socket<'_>) -> usize {
    let mut total = 0;
    // The receive buffer is a ring: its data is in at most two pieces.
    for _ in 0..2 {
        if !socket.can_recv() {
            break;
        }
        match socket.recv(|data| (data.len(), data.len())) {
            Ok(n) => total += n,
            Err(_) => {
                socket.abort();
                return total;
            }
        }
    }
    total
}

/// Checks what was received; once the peer's stream has ended, queues the
/// answer (the check's report) and closes. Returns the bytes read.
fn verify(socket: &mut tcp::Socket<'_>, check: &mut Check, answered: &mut bool) -> usize {
    let mut total = 0;
    // The receive buffer is a ring: its data is in at most two pieces.
    for _ in 0..2 {
        if !socket.can_recv() {
            break;
        }
        let read = socket.recv(|data| {
            check.feed(data);
            (data.len(), data.len())
        });
        match read {
            Ok(n) => total += n,
            Err(_) => {
                socket.abort();
                return total;
            }
        }
    }
    if !*answered && fin_received(socket) && !socket.can_recv() {
        let report = check.report();
        match socket.send_slice(&report) {
            Ok(n) if n == report.len() => {
                *answered = true;
                socket.close();
            }
            // Never expected: nothing else was ever sent. Drop the
            // connection rather than answer half.
            _ => socket.abort(),
        }
    }
    total
}

/// Moves what was received to the send buffer, as far as it has room;
/// closes after end of stream once everything is echoed. Returns the bytes
/// echoed.
fn echo(socket: &mut tcp::Socket<'_>, scratch: &mut [u8]) -> usize {
    let mut total = 0;
    for _ in 0..=SOCKET_BUFFER / CHUNK {
        if !socket.can_recv() || !socket.can_send() {
            break;
        }
        let room = socket.send_capacity() - socket.send_queue();
        let Some(buf) = scratch.get_mut(..room.min(CHUNK)) else {
            break;
        };
        let copied = socket
            .recv_slice(buf)
            .ok()
            .and_then(|n| buf.get(..n))
            .map(|data| (data.len(), socket.send_slice(data)));
        match copied {
            Some((n, Ok(sent))) if sent == n => total += n,
            // Never expected: the room was checked. Drop the connection
            // rather than lose bytes silently.
            _ => {
                socket.abort();
                return total;
            }
        }
    }
    close_at_eof(socket);
    total
}

/// Reads the 8-byte count, then fills the send buffer until that many
/// bytes are sent, then closes. Bytes after the count are dropped, and the
/// peer's end of stream does not cut the answer short. Returns the bytes
/// read and sent.
fn source(socket: &mut tcp::Socket<'_>, conn: &mut Conn) -> usize {
    let mut total = 0;
    if let Conn::SourceRequest {
        count,
        read,
        pattern,
    } = conn
    {
        while socket.can_recv() {
            let Some(rest) = count.get_mut(*read..).filter(|rest| !rest.is_empty()) else {
                break;
            };
            match socket.recv_slice(rest) {
                Ok(n) => {
                    *read += n;
                    total += n;
                }
                Err(_) => {
                    socket.abort();
                    return total;
                }
            }
        }
        if *read < count.len() {
            // A peer that ends its stream before the count gets nothing.
            close_at_eof(socket);
            return total;
        }
        *conn = Conn::SourceSend {
            sent: 0,
            left: u64::from_be_bytes(*count),
            pattern: *pattern,
        };
    }
    total += drain(socket);
    let Conn::SourceSend {
        sent,
        left,
        pattern,
    } = conn
    else {
        return total;
    };
    while *left > 0 && socket.can_send() {
        let want = usize::try_from(*left).unwrap_or(usize::MAX);
        let (offset, pattern) = (*sent, *pattern);
        let queued = socket.send(|buf| {
            let n = buf.len().min(want);
            if let Some(piece) = buf.get_mut(..n) {
                if pattern {
                    checked::fill(piece, offset);
                } else {
                    piece.fill(SOURCE_BYTE);
                }
            }
            (n, n)
        });
        match queued {
            Ok(0) => break,
            Ok(n) => {
                *left -= n as u64;
                *sent += n as u64;
                total += n;
            }
            Err(_) => {
                socket.abort();
                return total;
            }
        }
    }
    if *left == 0 && socket.may_send() {
        socket.close();
    }
    total
}

/// Closes our side once the peer's FIN has been read.
fn close_at_eof(socket: &mut tcp::Socket<'_>) {
    if socket.state() == tcp::State::CloseWait && !socket.can_recv() {
        socket.close();
    }
}

/// A socket with berth's default buffers and smoltcp's default options.
fn new_socket() -> tcp::Socket<'static> {
    tcp::Socket::new(
        tcp::SocketBuffer::new(vec![0; SOCKET_BUFFER]),
        tcp::SocketBuffer::new(vec![0; SOCKET_BUFFER]),
    )
}

/// Whether the peer's FIN has arrived (the stream has an end).
fn fin_received(socket: &tcp::Socket<'_>) -> bool {
    matches!(
        socket.state(),
        tcp::State::CloseWait | tcp::State::LastAck | tcp::State::Closing | tcp::State::TimeWait
    )
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

/// What a client's step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// The workload is complete.
    Done,
    /// Bytes or connections moved forward.
    Progress,
    /// Waiting for the network.
    Waiting,
}

/// A workload's client side, stepped once per round of the loop.
trait Client {
    fn step(&mut self, net: &mut MemNet) -> Result<Step>;
}

/// One `Interface` on an in-memory link, with the server and the client
/// sockets.
struct MemNet {
    base: Instant,
    device: MemPhy,
    iface: Interface,
    sockets: SocketSet,
    server: Server,
    /// Client sockets, reused once closed or in TIME-WAIT.
    clients: Vec<SocketHandle>,
    next_port: u16,
    /// smoltcp's default delayed-ACK time, restored on reuse.
    ack_delay: Option<SmolDuration>,
}

impl MemNet {
    fn new(mtu: usize) -> Result<Self> {
        ensure!(
            (MIN_IP_MTU..=MAX_IP_PACKET).contains(&mtu),
            "MTU {mtu} is outside {MIN_IP_MTU}..={MAX_IP_PACKET}"
        );
        let base = Instant::now();
        let mut device = MemPhy::new(mtu);
        let config = Config::new(HardwareAddress::Ip);
        let mut iface = Interface::new(config, &mut device, smol_now(base));
        set_addr(&mut iface, MEM_ADDR, MEM_PREFIX)?;
        let mut sockets = SocketSet::new(Vec::new());
        let server = Server::new(&mut sockets)?;
        Ok(Self {
            base,
            device,
            iface,
            sockets,
            server,
            clients: Vec::new(),
            next_port: FIRST_EPHEMERAL,
            ack_delay: tcp::Socket::new(
                tcp::SocketBuffer::new(Vec::new()),
                tcp::SocketBuffer::new(Vec::new()),
            )
            .ack_delay(),
        })
    }

    /// Steps `client` until it is done, failing after [`STALL`] without
    /// progress.
    fn run(&mut self, client: &mut impl Client) -> Result<()> {
        let mut last_progress = Instant::now();
        loop {
            let (busy, served) = self.poll()?;
            let step = client.step(self)?;
            if step == Step::Done {
                return Ok(());
            }
            if served || step == Step::Progress {
                last_progress = Instant::now();
            } else if last_progress.elapsed() > STALL {
                bail!("smoltcp made no progress for {STALL:?}");
            }
            if !busy && !served && step == Step::Waiting {
                self.idle();
            }
        }
    }

    /// Moves the queued frames and runs the server. Returns whether frames
    /// moved (more may be queued on the link), and whether the
    /// server moved bytes or a connection changed.
    fn poll(&mut self) -> Result<(bool, bool)> {
        let now = smol_now(self.base);
        let busy = self.iface.poll(now, &mut self.device, &mut self.sockets)
            == PollResult::SocketStateChanged;
        let before = self.server.active.len();
        self.server.refill(&mut self.sockets)?;
        let moved = self.server.serve(&mut self.sockets);
        Ok((busy, moved > 0 || self.server.active.len() != before))
    }

    /// Sleeps until smoltcp's next timer, unless something is due now.
    fn idle(&mut self) {
        let now = smol_now(self.base);
        match self.iface.poll_delay(now, &self.sockets) {
            Some(d) if d == SmolDuration::ZERO => {}
            Some(d) => thread::sleep(std_duration(d).min(MEM_IDLE)),
            None => thread::sleep(MEM_IDLE),
        }
    }

    /// Opens a connection to one of [`SERVICES`] from a free client socket.
    fn connect(&mut self, port: u16) -> Result<SocketHandle> {
        let free = self
            .clients
            .iter()
            .copied()
            .find(|&h| !self.sockets.get::<tcp::Socket>(h).is_open());
        let handle = match free {
            Some(handle) => handle,
            None => {
                let handle = self.sockets.add(new_socket());
                self.clients.push(handle);
                handle
            }
        };
        let local = self.next_port;
        self.next_port = local.checked_add(1).unwrap_or(FIRST_EPHEMERAL);
        let socket = self.sockets.get_mut::<tcp::Socket>(handle);
        socket.set_ack_delay(self.ack_delay);
        socket
            .connect(
                self.iface.context(),
                (IpAddress::Ipv4(MEM_ADDR), port),
                local,
            )
            .map_err(|e| anyhow!("smoltcp cannot connect: {e}"))?;
        Ok(handle)
    }

    /// Closes the client's side; the peer's FIN will be ACKed at once.
    fn close(&mut self, handle: SocketHandle) {
        let socket = self.socket(handle);
        socket.close();
        socket.set_ack_delay(None);
    }

    fn socket(&mut self, handle: SocketHandle) -> &mut tcp::Socket<'static> {
        self.sockets.get_mut::<tcp::Socket>(handle)
    }
}

/// Fails if the connection was reset or refused.
fn check_alive(socket: &tcp::Socket<'_>) -> Result<()> {
    ensure!(
        socket.state() != tcp::State::Closed,
        "smoltcp's connection was reset"
    );
    Ok(())
}

/// Writes `left` bytes, shuts down writing, reads to end of stream.
struct Bulk {
    handle: SocketHandle,
    left: u64,
    chunk: Vec<u8>,
    closed: bool,
}

impl Client for Bulk {
    fn step(&mut self, net: &mut MemNet) -> Result<Step> {
        let mut step = Step::Waiting;
        let socket = net.socket(self.handle);
        check_alive(socket)?;
        while self.left > 0 && socket.can_send() {
            let want = usize::try_from(self.left).map_or(CHUNK, |left| left.min(CHUNK));
            let data = self.chunk.get(..want).unwrap_or_default();
            let n = socket
                .send_slice(data)
                .map_err(|e| anyhow!("smoltcp send: {e}"))?;
            if n == 0 {
                break;
            }
            self.left -= n as u64;
            step = Step::Progress;
        }
        ensure!(!socket.can_recv(), "the discard server sent data back");
        if self.closed && fin_received(socket) {
            return Ok(Step::Done);
        }
        if self.left == 0 && !self.closed && socket.may_send() {
            net.close(self.handle);
            self.closed = true;
            step = Step::Progress;
        }
        Ok(step)
    }
}

/// Writes the 8-byte request, reads to the end of stream, closes.
struct Download {
    handle: SocketHandle,
    request: [u8; 8],
    sent: usize,
    want: u64,
    got: u64,
}

impl Client for Download {
    fn step(&mut self, net: &mut MemNet) -> Result<Step> {
        let mut step = Step::Waiting;
        let socket = net.socket(self.handle);
        check_alive(socket)?;
        let rest = self.request.get(self.sent..).unwrap_or_default();
        if !rest.is_empty() && socket.can_send() {
            self.sent += socket
                .send_slice(rest)
                .map_err(|e| anyhow!("smoltcp send: {e}"))?;
            step = Step::Progress;
        }
        // The receive buffer is a ring: its data is in at most two pieces.
        for _ in 0..2 {
            if !socket.can_recv() {
                break;
            }
            let (n, intact) = socket
                .recv(|data| {
                    let intact = data.iter().all(|&b| b == SOURCE_BYTE);
                    (data.len(), (data.len(), intact))
                })
                .map_err(|e| anyhow!("smoltcp recv: {e}"))?;
            ensure!(intact, "the source server sent other bytes");
            self.got += n as u64;
            step = Step::Progress;
        }
        ensure!(
            self.got <= self.want,
            "the source server sent more than {} bytes",
            self.want
        );
        if fin_received(socket) && !socket.can_recv() {
            ensure!(
                self.got == self.want,
                "the source server closed after {} bytes of {}",
                self.got,
                self.want
            );
            net.close(self.handle);
            return Ok(Step::Done);
        }
        Ok(step)
    }
}

/// `rounds` times: write `msg`, read it back.
struct Rr {
    handle: SocketHandle,
    rounds: u64,
    round: u64,
    sent: usize,
    got: usize,
    msg: Vec<u8>,
}

impl Rr {
    /// This round's message: different bytes in each round.
    fn fill(&mut self) {
        let seed = self.round;
        for (i, b) in self.msg.iter_mut().enumerate() {
            *b = seed.wrapping_add(i as u64) as u8;
        }
    }
}

impl Client for Rr {
    fn step(&mut self, net: &mut MemNet) -> Result<Step> {
        if self.round == self.rounds {
            net.close(self.handle);
            return Ok(Step::Done);
        }
        let mut step = Step::Waiting;
        let socket = net.socket(self.handle);
        check_alive(socket)?;
        let rest = self.msg.get(self.sent..).unwrap_or_default();
        if !rest.is_empty() && socket.can_send() {
            let n = socket
                .send_slice(rest)
                .map_err(|e| anyhow!("smoltcp send: {e}"))?;
            self.sent += n;
            step = Step::Progress;
        }
        while self.got < self.msg.len() && socket.can_recv() {
            let expected = self.msg.get(self.got..).unwrap_or_default();
            let (n, same) = socket
                .recv(|data| {
                    let n = data.len().min(expected.len());
                    (n, (n, data.get(..n) == expected.get(..n)))
                })
                .map_err(|e| anyhow!("smoltcp recv: {e}"))?;
            ensure!(same, "round {}: the echo differs", self.round);
            self.got += n;
            step = Step::Progress;
        }
        ensure!(
            !fin_received(socket) || self.got == self.msg.len(),
            "the echo server closed in round {}",
            self.round
        );
        if self.got == self.msg.len() {
            self.round += 1;
            self.sent = 0;
            self.got = 0;
            self.fill();
            step = Step::Progress;
        }
        Ok(step)
    }
}

/// `conns` times: connect, write one byte, read it back, close.
struct Crr {
    conns: u64,
    done: u64,
    /// The open connection, and whether its byte was sent.
    current: Option<(SocketHandle, bool)>,
}

impl Client for Crr {
    fn step(&mut self, net: &mut MemNet) -> Result<Step> {
        let byte = self.done as u8;
        let Some((handle, sent)) = self.current else {
            if self.done == self.conns {
                return Ok(Step::Done);
            }
            self.current = Some((net.connect(ECHO)?, false));
            return Ok(Step::Progress);
        };
        let socket = net.socket(handle);
        check_alive(socket)?;
        if !sent {
            if !socket.can_send() {
                return Ok(Step::Waiting);
            }
            let n = socket
                .send_slice(&[byte])
                .map_err(|e| anyhow!("smoltcp send: {e}"))?;
            self.current = Some((handle, n == 1));
            return Ok(Step::Progress);
        }
        if !socket.can_recv() {
            ensure!(
                !fin_received(socket),
                "connection {}: closed before the echo",
                self.done
            );
            return Ok(Step::Waiting);
        }
        let mut back = [0u8; 1];
        let n = socket
            .recv_slice(&mut back)
            .map_err(|e| anyhow!("smoltcp recv: {e}"))?;
        ensure!(
            n == 1 && back[0] == byte,
            "connection {}: the echo differs",
            self.done
        );
        net.close(handle);
        self.current = None;
        self.done += 1;
        Ok(Step::Progress)
    }
}

/// An in-memory link for [`MemNet`]: what is sent is received, in order.
/// Like smoltcp's `phy::Loopback`, but with a given MTU and checksums left
/// to smoltcp's default (computed and verified in software), and with the
/// frame buffers reused.
struct MemPhy {
    mtu: usize,
    /// Frames sent and not yet received.
    queue: VecDeque<Vec<u8>>,
    /// The frame being received.
    rx: Vec<u8>,
    /// Buffers of received frames, reused for sending.
    spare: Vec<Vec<u8>>,
}

impl MemPhy {
    fn new(mtu: usize) -> Self {
        Self {
            mtu,
            queue: VecDeque::new(),
            rx: Vec::new(),
            spare: Vec::new(),
        }
    }
}

impl phy::Device for MemPhy {
    type RxToken<'a> = RxToken<'a>;
    type TxToken<'a> = MemTxToken<'a>;

    fn receive(&mut self, _now: SmolInstant) -> Option<(RxToken<'_>, MemTxToken<'_>)> {
        let frame = self.queue.pop_front()?;
        let done = std::mem::replace(&mut self.rx, frame);
        self.spare.push(done);
        Some((
            RxToken { frame: &self.rx },
            MemTxToken {
                queue: &mut self.queue,
                spare: &mut self.spare,
            },
        ))
    }

    fn transmit(&mut self, _now: SmolInstant) -> Option<MemTxToken<'_>> {
        Some(MemTxToken {
            queue: &mut self.queue,
            spare: &mut self.spare,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ip;
        caps.max_transmission_unit = self.mtu;
        caps
    }
}

/// Room for one frame to send on [`MemPhy`], queued for receiving.
struct MemTxToken<'a> {
    queue: &'a mut VecDeque<Vec<u8>>,
    spare: &'a mut Vec<Vec<u8>>,
}

impl phy::TxToken for MemTxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut frame = self.spare.pop().unwrap_or_default();
        frame.clear();
        frame.resize(len, 0);
        let result = f(&mut frame);
        self.queue.push_back(frame);
        result
    }
}

/// smoltcp's `phy::Device` over a berth device.
struct BerthPhy {
    device: Box<dyn Device>,
    rx: Vec<u8>,
    tx: Vec<u8>,
    /// The first I/O error inside a token, reported after the poll.
    error: Option<io::Error>,
}

impl BerthPhy {
    fn new(device: Box<dyn Device>) -> Self {
        let mtu = device.mtu();
        Self {
            device,
            // Room for any IPv4 packet: a device with receive offloads hands
            // over TCP segments longer than its MTU.
            rx: vec![0; MAX_IP_PACKET.max(mtu)],
            tx: Vec::with_capacity(mtu),
            error: None,
        }
    }

    fn take_error(&mut self) -> io::Result<()> {
        self.error.take().map_or(Ok(()), Err)
    }

    /// Waits until the device is readable, `delay` passes (`None`: no timer
    /// pending), or [`STOP_CHECK`] passes. Returns at once for a zero delay.
    fn wait(&self, delay: Option<Duration>) -> io::Result<()> {
        let mut timeout = delay.unwrap_or(STOP_CHECK).min(STOP_CHECK);
        if let Some(at) = self.device.poll_at() {
            timeout = timeout.min(at.saturating_duration_since(Instant::now()));
        }
        if timeout.is_zero() {
            return Ok(());
        }
        match self.device.raw_fd() {
            Some(fd) => berth_device::wait_readable(fd, timeout).map(|_| ()),
            // Nothing to wait on: nap briefly rather than spin.
            None => {
                thread::sleep(timeout.min(Duration::from_millis(1)));
                Ok(())
            }
        }
    }
}

impl phy::Device for BerthPhy {
    type RxToken<'a> = RxToken<'a>;
    type TxToken<'a> = TxToken<'a>;

    fn receive(&mut self, _now: SmolInstant) -> Option<(RxToken<'_>, TxToken<'_>)> {
        let Self {
            device,
            rx,
            tx,
            error,
        } = self;
        match device.recv(rx) {
            Ok(Some(n)) => Some((
                RxToken {
                    frame: rx.get(..n)?,
                },
                TxToken { device, tx, error },
            )),
            Ok(None) => None,
            Err(e) => {
                error.get_or_insert(e);
                None
            }
        }
    }

    fn transmit(&mut self, _now: SmolInstant) -> Option<TxToken<'_>> {
        Some(TxToken {
            device: &mut self.device,
            tx: &mut self.tx,
            error: &mut self.error,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ip;
        caps.max_transmission_unit = self.device.mtu();
        caps
    }
}

/// One received frame, borrowed from the device's receive buffer.
struct RxToken<'a> {
    frame: &'a [u8],
}

impl phy::RxToken for RxToken<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(self.frame)
    }
}

/// Room for one frame to send, written straight to the berth device.
struct TxToken<'a> {
    device: &'a mut Box<dyn Device>,
    tx: &'a mut Vec<u8>,
    error: &'a mut Option<io::Error>,
}

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        self.tx.resize(len, 0);
        let result = f(self.tx);
        // `Ok(false)`: the device's queue is full and the frame is lost, as
        // on a busy NIC; TCP retransmits.
        if let Err(e) = self.device.send(self.tx) {
            self.error.get_or_insert(e);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::Shutdown;

    use berth::NetStack;
    use berth::net::TcpStream;
    use berth_device::channel::ChannelDevice;

    use super::*;

    #[test]
    fn mem_bulk_moves_every_byte() {
        mem_bulk(4 << 20, 1500).unwrap();
    }

    #[test]
    fn mem_download_moves_every_byte() {
        mem_download(4 << 20, 1500).unwrap();
    }

    #[test]
    fn mem_runs_at_other_mtus() {
        mem_bulk(1 << 20, 576).unwrap();
        mem_download(1 << 20, 9000).unwrap();
        mem_rr(10, 5000, 65535).unwrap();
        assert!(mem_bulk(1, 40).is_err());
    }

    #[test]
    fn mem_rr_echoes_every_round() {
        mem_rr(1000, 64, 1500).unwrap();
    }

    #[test]
    fn mem_rr_echoes_messages_larger_than_a_segment() {
        mem_rr(20, 200_000, 1500).unwrap();
    }

    #[test]
    fn mem_crr_reuses_sockets() {
        mem_crr(50, 1500).unwrap();
    }

    #[test]
    fn client_sockets_are_reused_across_connections() {
        let mut net = MemNet::new(1500).unwrap();
        let mut client = Crr {
            conns: 200,
            done: 0,
            current: None,
        };
        net.run(&mut client).unwrap();
        assert!(
            net.clients.len() <= 4,
            "{} client sockets",
            net.clients.len()
        );
        let server_sockets =
            net.server.listening.len() + net.server.active.len() + net.server.free.len();
        // A pool of listeners per service, and room for one pool more.
        assert!(
            server_sockets <= (SERVICES.len() + 1) * LISTEN_POOL,
            "{server_sockets} server sockets"
        );
    }

    /// `serve` at 198.18.0.2 on one end of an in-memory link, and a berth
    /// stack at 198.18.0.1 on the other.
    fn serve_on_a_link() -> (NetStack, Arc<AtomicBool>, thread::JoinHandle<Result<()>>) {
        let (left, right) = ChannelDevice::pair(1500, berth_device::Medium::Ip).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let server = {
            let stop = Arc::clone(&stop);
            thread::spawn(move || serve(Box::new(left), Ipv4Addr::new(198, 18, 0, 2), 24, stop))
        };
        let stack = NetStack::builder()
            .addr("198.18.0.1".parse().unwrap())
            .build(right)
            .unwrap();
        (stack, stop, server)
    }

    /// A berth client drives `serve` over an in-memory link.
    #[test]
    fn serve_answers_a_berth_client() {
        let (stack, stop, server) = serve_on_a_link();
        let timeout = Some(Duration::from_secs(10));

        // Bulk: 2 MiB to discard; end of stream means every byte arrived.
        let mut bulk = TcpStream::connect(&stack, "198.18.0.2:9").unwrap();
        bulk.set_read_timeout(timeout).unwrap();
        bulk.set_write_timeout(timeout).unwrap();
        let chunk = vec![0xa5; CHUNK];
        for _ in 0..(2 << 20) / CHUNK {
            bulk.write_all(&chunk).unwrap();
        }
        bulk.shutdown(Shutdown::Write).unwrap();
        let mut rest = Vec::new();
        bulk.read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty());

        // Echo: one exchange larger than a segment, then end of stream.
        let mut echo = TcpStream::connect(&stack, "198.18.0.2:7").unwrap();
        echo.set_read_timeout(timeout).unwrap();
        let msg: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        echo.write_all(&msg).unwrap();
        let mut back = vec![0; msg.len()];
        echo.read_exact(&mut back).unwrap();
        assert_eq!(back, msg);
        echo.shutdown(Shutdown::Write).unwrap();
        echo.read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty());

        // Connections one after another, more than the listener pool.
        for i in 0..3 * LISTEN_POOL as u8 {
            let mut conn = TcpStream::connect(&stack, "198.18.0.2:7").unwrap();
            conn.set_read_timeout(timeout).unwrap();
            conn.write_all(&[i]).unwrap();
            let mut one = [0u8; 1];
            conn.read_exact(&mut one).unwrap();
            assert_eq!(one[0], i);
            conn.shutdown(Shutdown::Write).unwrap();
            conn.read_to_end(&mut rest).unwrap();
            assert!(rest.is_empty());
        }

        // Dropped while the server still answers, so closes complete.
        drop(stack);
        stop.store(true, Ordering::Relaxed);
        server.join().unwrap().unwrap();
    }
    /// A berth client downloads from `serve`'s source port.
    #[test]
    fn serve_sources_to_a_berth_client() {
        let (stack, stop, server) = serve_on_a_link();
        let timeout = Some(Duration::from_secs(10));

        // Sizes around the segment size and the socket buffer, the count
        // written in two pieces once, and a client that ends its stream
        // right after the count.
        for (i, want) in [0u64, 1, 1460, 3 << 20].into_iter().enumerate() {
            let mut conn = TcpStream::connect(&stack, "198.18.0.2:19").unwrap();
            conn.set_read_timeout(timeout).unwrap();
            let count = want.to_be_bytes();
            if i == 1 {
                conn.write_all(&count[..3]).unwrap();
                thread::sleep(Duration::from_millis(20));
                conn.write_all(&count[3..]).unwrap();
            } else {
                conn.write_all(&count).unwrap();
            }
            if i == 2 {
                conn.shutdown(Shutdown::Write).unwrap();
            }
            let mut got = Vec::new();
            conn.read_to_end(&mut got).unwrap();
            assert_eq!(got.len() as u64, want);
            assert!(got.iter().all(|&b| b == SOURCE_BYTE));
        }

        // A client that ends its stream before the whole count gets nothing.
        let mut short = TcpStream::connect(&stack, "198.18.0.2:19").unwrap();
        short.set_read_timeout(timeout).unwrap();
        short.write_all(&[0, 0, 0]).unwrap();
        short.shutdown(Shutdown::Write).unwrap();
        let mut rest = Vec::new();
        short.read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty());

        drop(stack);
        stop.store(true, Ordering::Relaxed);
        server.join().unwrap().unwrap();
    }
}
