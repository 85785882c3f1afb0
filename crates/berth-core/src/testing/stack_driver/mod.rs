//! A whole [`Stack`] driven by a sequence of actions decoded from fuzz
//! input (the `stack` fuzz target, and the tests below): frames from a
//! few peers (TCP segments with fields near the connection's numbers or
//! anything, UDP datagrams, ICMP errors quoting what the stack sent, IPv4
//! fragments in any order, raw IP and raw bytes), time steps, and what an
//! application does (accept, read, write, shut down, close, abort,
//! connect, UDP). The stack has two listeners, one with a backlog of 1 so
//! that SYN cookies are used, a UDP socket, and small limits.
//!
//! After every step [`run`] checks:
//! - every frame out parses as IPv4 or IPv6 with valid checksums (TCP,
//!   UDP, ICMP), from one of the stack's addresses, no longer than the MTU;
//!   a SYN-ACK acknowledges the peer's SYN; no RST answers an RST;
//! - memory stays bounded: sockets, buffer memory and reassembly memory
//!   under their limits, and each step's output and events finite;
//! - timers make progress: after `handle_timeout(now)` the next deadline
//!   is later than `now`;
//! - what the application reads is the peer's stream, in order (each peer
//!   byte is its sequence number's low byte), and every byte the stack
//!   acknowledged has been read or waits to be, unless the connection
//!   failed (reset, timed out, aborted); UDP datagrams arrive whole;
//!
//! and at the end, once the application has closed everything and the
//! timers have run out, that no TCP socket is left.
//!
//! Peers: 198.18.0.1, 198.18.0.3 and fd00::1 send well-formed traffic,
//! whose contents the checks know; raw frames always come from
//! 198.18.0.9 or fd00::9, so that they cannot make a peer's stream look
//! wrong.

mod actions;
mod checks;
mod decode;
mod frames;

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

pub use self::actions::{Action, Frags, IcmpSpec, Num, Report, Setup, TcpSpec, Tuple};
pub use self::decode::Decoder;
use crate::config::StackConfig;
use crate::handle::SocketHandle;
use crate::stack::{SocketError, Stack};
use crate::tcp::seq::SeqNum;
use crate::tcp::{Keepalive, State};
use crate::time::{Duration, Instant};
use crate::wire::{
    ChecksumCaps, Icmpv4Packet, Icmpv6Packet, IpProtocol, Ipv4Packet, Ipv4Repr, Ipv6Packet,
    TcpFlags, TcpPacket, TcpRepr, UdpPacket, UdpRepr,
};

const OUR_V4: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
const OUR_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2);
const PEERS: [IpAddr; 4] = [
    IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1)),
    IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1)),
    IpAddr::V4(Ipv4Addr::new(198, 18, 0, 3)),
    IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1)),
];
const RAW_V4: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 9);
const RAW_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 9);
const ROUTER_V4: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 254);
const ROUTER_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 0xfe);
/// Frames one step may make, and events: more is a loop.
const MAX_PER_STEP: usize = 20_000;
/// Timer rounds at the end before the stack must be quiet.
const MAX_FINAL_TIMERS: usize = 100_000;

/// The stack's configuration for `setup`: small limits, SYN cookies on.
pub fn config(setup: &Setup) -> StackConfig {
    let mut cfg = StackConfig {
        addrs: vec![IpAddr::V4(OUR_V4), IpAddr::V6(OUR_V6)],
        mtu: setup.mtu,
        seed: setup.seed,
        udp_recv_queue: 4,
        max_sockets: 16,
        max_conns_per_listener: 6,
        max_buffer_memory: 96 * 1024,
        syn_cookies: true,
        ..StackConfig::default()
    };
    cfg.tcp.recv_buffer = setup.recv_buffer;
    cfg.tcp.recv_buffer_max = setup.recv_buffer * 4;
    cfg.tcp.send_buffer = 4096;
    cfg.tcp.send_buffer_max = 16 * 1024;
    cfg.tcp.timestamps = setup.timestamps;
    cfg.tcp.sack = setup.sack;
    cfg.tcp.window_scaling = setup.window_scaling;
    if setup.keepalive {
        cfg.tcp.keepalive = Some(Keepalive {
            idle: Duration::from_secs(10),
            interval: Duration::from_secs(1),
            count: 3,
        });
    }
    cfg.frag.memory = 16 * 1024;
    cfg.frag.max_fragments = 8;
    cfg.frag6.memory = 16 * 1024;
    cfg.frag6.max_fragments = 8;
    cfg
}

/// Runs `actions` on a stack made for `setup`, checking the invariants of
/// the module after each; the first violation is the error.
pub fn run(setup: &Setup, actions: &[Action]) -> Result<Report, String> {
    let mut d = Driver::new(setup)?;
    for (i, action) in actions.iter().enumerate() {
        d.step(action)
            .and_then(|()| d.check())
            .map_err(|e| format!("step {i} ({action:?}): {e}"))?;
    }
    d.finish().map_err(|e| format!("at the end: {e}"))?;
    d.report.stats = *d.stack.stats();
    Ok(d.report)
}

/// What the driver knows of one 4-tuple (ours, peer's).
#[derive(Debug, Default)]
struct TupleState {
    /// The sequence number of every SYN the peer sent on it.
    peer_isn: Option<u32>,
    /// The latest acknowledgment number the stack sent in this
    /// incarnation of the connection.
    acked_to: Option<u32>,
    /// The end of what the stack sent.
    stack_nxt: Option<u32>,
    /// The stack's last TSval.
    stack_tsval: Option<u32>,
    /// The stack's last packet on the tuple, for ICMP to quote.
    last_out: Vec<u8>,
}

/// A connection the application holds.
#[derive(Debug)]
struct AppConn {
    h: SocketHandle,
    key: (SocketAddr, SocketAddr),
    read: u64,
    /// Reset, timed out, aborted: its bytes may be lost.
    failed: bool,
}

struct Driver {
    stack: Stack,
    cfg: StackConfig,
    now: Instant,
    /// 198.18.0.2:80 (backlog 1), 0.0.0.0:81 and [::]:81 (backlog 3).
    listeners: [Option<SocketHandle>; 3],
    /// 0.0.0.0:53 and [::]:53.
    udp: [SocketHandle; 2],
    conns: Vec<AppConn>,
    tuples: HashMap<(SocketAddr, SocketAddr), TupleState>,
    /// Tuples of the connections the stack opened, in order.
    active: Vec<(SocketAddr, SocketAddr)>,
    /// The stack's last packet of each family, for ICMP to quote.
    last_out: [Vec<u8>; 2],
    ident: u16,
    /// Tuples an RST was sent to in this step: none may answer it.
    rst_in: HashSet<(SocketAddr, SocketAddr)>,
    buf: Vec<u8>,
    report: Report,
}

impl Driver {
    fn new(setup: &Setup) -> Result<Self, String> {
        let cfg = config(setup);
        let mut stack = Stack::new(cfg.clone());
        let l80 = stack
            .tcp_listen(SocketAddr::new(IpAddr::V4(OUR_V4), 80), 1)
            .map_err(|e| format!("listen :80: {e}"))?;
        let mut l81 = [None, None];
        let mut udp = Vec::new();
        for (i, any) in [
            IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        ]
        .into_iter()
        .enumerate()
        {
            l81[i] = Some(
                stack
                    .tcp_listen(SocketAddr::new(any, 81), 3)
                    .map_err(|e| format!("listen {any}:81: {e}"))?,
            );
            udp.push(
                stack
                    .udp_bind(SocketAddr::new(any, 53))
                    .map_err(|e| format!("bind {any}:53: {e}"))?,
            );
        }
        let udp = [udp[0], udp[1]];
        Ok(Self {
            stack,
            cfg,
            now: Instant::ZERO,
            listeners: [Some(l80), l81[0], l81[1]],
            udp,
            conns: Vec::new(),
            tuples: HashMap::new(),
            active: Vec::new(),
            last_out: [Vec::new(), Vec::new()],
            ident: 0,
            rst_in: HashSet::new(),
            buf: vec![0; 1 << 16],
            report: Report::default(),
        })
    }

    /// Ours and the peer's address of a tuple.
    fn key(&self, tuple: Tuple) -> (SocketAddr, SocketAddr) {
        let t = match tuple {
            Tuple::Active(i) if !self.active.is_empty() => {
                return self.active[usize::from(i) % self.active.len()];
            }
            Tuple::Active(i) | Tuple::Passive(i) => i,
        };
        let peer = PEERS[usize::from(t >> 5) & 3];
        let ours = match peer {
            IpAddr::V4(_) => IpAddr::V4(OUR_V4),
            IpAddr::V6(_) => IpAddr::V6(OUR_V6),
        };
        let port = [80, 81, 81, 9][usize::from(t >> 3) & 3];
        (
            SocketAddr::new(ours, port),
            SocketAddr::new(peer, 1000 + u16::from(t & 7)),
        )
    }

    fn resolve(&self, key: (SocketAddr, SocketAddr), n: Num) -> u32 {
        let t = self.tuples.get(&key);
        let isn = t.and_then(|t| t.peer_isn).unwrap_or(0);
        match n {
            Num::StackAck(d) => t
                .and_then(|t| t.acked_to)
                .unwrap_or(isn.wrapping_add(1))
                .wrapping_add_signed(d),
            Num::StackNxt(d) => t
                .and_then(|t| t.stack_nxt)
                .unwrap_or(0)
                .wrapping_add_signed(d),
            Num::PeerIsn(d) => isn.wrapping_add_signed(d),
            Num::Raw(v) => v,
        }
    }

    fn step(&mut self, action: &Action) -> Result<(), String> {
        self.rst_in.clear();
        match action {
            Action::Tcp(spec, frags) => self.send_tcp(spec, frags.as_ref())?,
            Action::Udp { tuple, len, frags } => {
                let (ours, peer) = self.key(*tuple);
                let port = [53, 53, 9, 53][usize::from(ours.port()) % 4];
                let payload: Vec<u8> = (0..u32::from(*len)).map(frames::stream_byte).collect();
                let dgram =
                    frames::udp(peer.ip(), ours.ip(), 5000 + peer.port() % 4, port, &payload);
                self.feed_ip(
                    peer.ip(),
                    ours.ip(),
                    IpProtocol::Udp,
                    &dgram,
                    frags.as_ref(),
                )?;
            }
            Action::Icmp(spec) => self.send_icmp(spec)?,
            Action::RawIp {
                v6,
                proto,
                payload,
                frags,
            } => {
                let (src, dst) = if *v6 {
                    (IpAddr::V6(RAW_V6), IpAddr::V6(OUR_V6))
                } else {
                    (IpAddr::V4(RAW_V4), IpAddr::V4(OUR_V4))
                };
                self.feed_ip(src, dst, IpProtocol::from(*proto), payload, frags.as_ref())?;
            }
            Action::Raw(bytes) => {
                let mut frame = bytes.clone();
                from_raw_source(&mut frame);
                self.feed(&frame)?;
            }
            Action::Advance(ms) => {
                let to = self.now + Duration::from_millis(u64::from(*ms));
                self.run_timers(to)?;
            }
            Action::NextTimer => {
                if let Some(at) = self.stack.poll_timeout() {
                    let at = if at > self.now { at } else { self.now };
                    self.run_timers(at)?;
                }
            }
            Action::Accept => self.accept()?,
            Action::Recv { conn, max } => {
                if let Some(i) = self.pick(*conn) {
                    self.recv(i, usize::from(*max).max(1))?;
                }
            }
            Action::Send { conn, len } => {
                if let Some(i) = self.pick(*conn) {
                    let data: Vec<u8> = (0..u32::from(*len)).map(|i| (i * 7) as u8).collect();
                    let _ = self.stack.tcp_send(self.conns[i].h, &data);
                }
            }
            Action::Shutdown(c) => {
                if let Some(i) = self.pick(*c) {
                    let _ = self.stack.tcp_shutdown_write(self.conns[i].h);
                }
            }
            Action::Close(c) => {
                if let Some(i) = self.pick(*c) {
                    let conn = self.conns.swap_remove(i);
                    let _ = self.stack.tcp_close(self.now, conn.h);
                }
            }
            Action::Abort(c) => {
                if let Some(i) = self.pick(*c) {
                    self.conns[i].failed = true;
                    let _ = self.stack.tcp_abort(self.conns[i].h);
                }
            }
            Action::Connect { port, v6 } => {
                let peer = if *v6 { PEERS[3] } else { PEERS[0] };
                let remote = SocketAddr::new(peer, 7 + u16::from(port & 1));
                if let Ok(h) = self.stack.tcp_connect(self.now, remote, None) {
                    let local = self
                        .stack
                        .local_addr(h)
                        .map_err(|e| format!("a new connection has no address: {e}"))?;
                    let key = (local, remote);
                    // A new incarnation of the tuple: the stack's numbers
                    // start again (its SYN, on the way out, says so too).
                    let t = self.tuples.entry(key).or_default();
                    t.acked_to = None;
                    if !self.active.contains(&key) {
                        self.active.push(key);
                    }
                    self.conns.push(AppConn {
                        h,
                        key,
                        read: 0,
                        failed: false,
                    });
                }
            }
            Action::UdpRecv => self.udp_recv()?,
            Action::UdpSend { tuple, len } => {
                let (_, peer) = self.key(*tuple);
                let data = vec![0x42; usize::from(*len)];
                let udp = self.udp[usize::from(peer.is_ipv6())];
                let _ = self.stack.udp_send_to(udp, &data, peer);
            }
            Action::SetOption {
                target,
                option,
                value,
            } => self.set_option(*target, *option, *value),
            Action::Relisten => {
                if let Some(l) = self.listeners[0].take() {
                    let _ = self.stack.close(self.now, l);
                }
                self.listeners[0] = self
                    .stack
                    .tcp_listen(SocketAddr::new(IpAddr::V4(OUR_V4), 80), 1)
                    .ok();
            }
        }
        self.drain()
    }

    /// Sets option `option` to `value` on the socket `target` picks; the
    /// stack refuses what is out of range, which is all right.
    fn set_option(&mut self, target: u8, option: u8, value: u32) {
        let h = match self.pick(target) {
            Some(i) if target & 0x80 == 0 => self.conns[i].h,
            _ if target & 0x40 == 0 => match self.listeners[usize::from(target) % 3] {
                Some(l) => l,
                None => return,
            },
            _ => self.udp[usize::from(target & 1)],
        };
        let flag = value & 1 != 0;
        let _ = match option % 6 {
            0 => self.stack.tcp_set_cork(h, flag),
            1 => self.stack.tcp_set_nodelay(h, flag),
            2 => self.stack.tcp_set_mss(h, value),
            3 => self.stack.set_tos(h, value % 300),
            4 => self.stack.tcp_set_keepalive(self.now, h, flag),
            _ => self.stack.tcp_set_keepalive_timing(
                self.now,
                h,
                crate::stack::KeepaliveTiming {
                    idle: Some(crate::time::Duration::from_secs(u64::from(value % 40))),
                    interval: Some(crate::time::Duration::from_secs(u64::from(value % 7))),
                    count: Some(value % 130),
                },
            ),
        };
    }

    /// The index of the connection `c` picks, if the application holds any.
    fn pick(&self, c: u8) -> Option<usize> {
        (!self.conns.is_empty()).then(|| usize::from(c) % self.conns.len())
    }

    fn send_tcp(&mut self, spec: &TcpSpec, frags: Option<&Frags>) -> Result<(), String> {
        let key = self.key(spec.tuple);
        let (ours, peer) = key;
        let flags = TcpFlags::from_bits(spec.flags);
        let syn = flags.contains(TcpFlags::SYN);
        let mut seq = self.resolve(key, spec.seq);
        if syn {
            // Every SYN of a peer on a tuple starts the same stream.
            let t = self.tuples.entry(key).or_default();
            seq = *t.peer_isn.get_or_insert(seq);
        }
        let ack = spec.ack.map(|n| self.resolve(key, n));
        let data_at = seq.wrapping_add(u32::from(syn));
        let payload: Vec<u8> = (0..u32::from(spec.len))
            .map(|i| frames::stream_byte(data_at.wrapping_add(i)))
            .collect();
        let mut sack_ranges = [None; crate::wire::tcp_option::MAX_SACK_BLOCKS];
        for (slot, &(l, r)) in sack_ranges.iter_mut().zip(&spec.sack) {
            *slot = Some((self.resolve(key, l), self.resolve(key, r)));
        }
        let stack_tsval = self.tuples.get(&key).and_then(|t| t.stack_tsval);
        let repr = TcpRepr {
            src_port: peer.port(),
            dst_port: ours.port(),
            seq_number: seq,
            ack_number: ack,
            flags,
            window_len: spec.wnd,
            urgent_pointer: 0,
            max_seg_size: spec.mss,
            window_scale: spec.ws,
            sack_permitted: spec.sack_perm,
            sack_ranges,
            timestamp: spec
                .ts
                .map(|(val, ecr)| (val, ecr.unwrap_or(stack_tsval.unwrap_or(0)))),
            payload: &payload,
        };
        let segment = frames::tcp(&repr, peer.ip(), ours.ip(), spec.bad_checksum);
        if flags.contains(TcpFlags::RST) {
            self.rst_in.insert(key);
        }
        let cookies = self.stack.stats().syncookies_validated;
        self.feed_ip(peer.ip(), ours.ip(), IpProtocol::Tcp, &segment, frags)?;
        if self.stack.stats().syncookies_validated > cookies {
            // A cookie checks the difference of the ACK's two numbers
            // only (Linux's too): one with both moved from the handshake's
            // passes, and its sequence number, not the SYN's, starts the
            // stream. The stack's next ACK says what it holds.
            let t = self.tuples.entry(key).or_default();
            t.peer_isn = Some(seq.wrapping_sub(1));
            t.acked_to = None;
        }
        Ok(())
    }

    fn send_icmp(&mut self, spec: &IcmpSpec) -> Result<(), String> {
        let (ours, peer) = self.key(spec.tuple);
        let v6 = peer.is_ipv6();
        let src = match (spec.from_router, v6) {
            (false, _) => peer.ip(),
            (true, false) => IpAddr::V4(ROUTER_V4),
            (true, true) => IpAddr::V6(ROUTER_V6),
        };
        let quoted = self
            .tuples
            .get(&(ours, peer))
            .map(|t| t.last_out.as_slice())
            .filter(|q| !q.is_empty())
            .unwrap_or(&self.last_out[usize::from(v6)]);
        let quoted = quoted
            .get(..spec.quote_len.min(quoted.len()))
            .unwrap_or_default();
        let echo: Vec<u8> = (0..spec.quote_len as u32)
            .map(frames::stream_byte)
            .collect();
        let code = spec.code;
        let (ty, code, body): (u8, u8, &[u8]) = match (spec.kind % 8, v6) {
            (0, false) => (8, 0, &echo),
            (0, true) => (128, 0, &echo),
            (1, false) => (3, code % 16, quoted),
            (1, true) => (1, code % 8, quoted),
            (2, false) => (3, 4, quoted),
            (2, true) => (2, 0, quoted),
            (3, false) => (11, code % 2, quoted),
            (3, true) => (3, code % 2, quoted),
            (4, false) => (12, 0, quoted),
            (4, true) => (4, code % 3, quoted),
            (5, false) => (0, 0, &echo),
            (5, true) => (129, 0, &echo),
            _ => (code, spec.rest[0], quoted),
        };
        let message = frames::icmp(src, ours.ip(), ty, code, spec.rest, body);
        let proto = if v6 {
            IpProtocol::Icmpv6
        } else {
            IpProtocol::Icmp
        };
        self.feed_ip(src, ours.ip(), proto, &message, None)
    }

    fn feed_ip(
        &mut self,
        src: IpAddr,
        dst: IpAddr,
        proto: IpProtocol,
        payload: &[u8],
        frags: Option<&Frags>,
    ) -> Result<(), String> {
        self.ident = self.ident.wrapping_add(1);
        for frame in frames::ip(src, dst, proto, self.ident, payload, frags) {
            self.feed(&frame)?;
        }
        Ok(())
    }

    fn feed(&mut self, frame: &[u8]) -> Result<(), String> {
        self.report.frames_in += 1;
        self.stack.handle_frame(self.now, frame);
        self.drain()
    }

    /// Advances to `to` and runs the timers; after that none may be due.
    fn run_timers(&mut self, to: Instant) -> Result<(), String> {
        self.now = to;
        self.stack.handle_timeout(self.now);
        self.drain()?;
        match self.stack.poll_timeout() {
            Some(at) if at <= self.now => Err(format!(
                "a timer is due at {at:?} right after handle_timeout({:?})",
                self.now
            )),
            _ => Ok(()),
        }
    }

    fn accept(&mut self) -> Result<(), String> {
        for l in self.listeners.into_iter().flatten() {
            while let Ok(Some((h, remote))) = self.stack.tcp_accept(l) {
                let local = self
                    .stack
                    .local_addr(h)
                    .map_err(|e| format!("an accepted connection has no address: {e}"))?;
                self.report.accepted += 1;
                self.conns.push(AppConn {
                    h,
                    key: (local, remote),
                    read: 0,
                    failed: false,
                });
            }
        }
        Ok(())
    }

    /// Reads up to `max` bytes from connection `i`, checking them against
    /// the peer's stream.
    fn recv(&mut self, i: usize, max: usize) -> Result<usize, String> {
        let conn = &mut self.conns[i];
        let max = max.min(self.buf.len());
        let n = match self.stack.tcp_recv(conn.h, &mut self.buf[..max]) {
            Ok(n) => n,
            Err(SocketError::WouldBlock) => return Ok(0),
            Err(_) => {
                conn.failed = true;
                return Ok(0);
            }
        };
        let isn = self.tuples.get(&conn.key).and_then(|t| t.peer_isn);
        if let Some(isn) = isn {
            let start = isn.wrapping_add(1).wrapping_add(conn.read as u32);
            for (k, &b) in self.buf[..n].iter().enumerate() {
                let want = frames::stream_byte(start.wrapping_add(k as u32));
                if b != want {
                    return Err(format!(
                        "{:?}: byte {} of the stream is {b:#04x}, the peer sent {want:#04x}",
                        conn.key,
                        conn.read + k as u64
                    ));
                }
            }
        } else if n > 0 && is_peer(conn.key.1.ip()) {
            return Err(format!("{:?}: data on a stream no SYN opened", conn.key));
        }
        conn.read += n as u64;
        self.report.bytes_read += n as u64;
        Ok(n)
    }

    fn udp_recv(&mut self) -> Result<(), String> {
        let mut buf = vec![0u8; 1 << 16];
        for udp in self.udp {
            self.udp_recv_on(udp, &mut buf)?;
        }
        Ok(())
    }

    fn udp_recv_on(&mut self, udp: SocketHandle, buf: &mut [u8]) -> Result<(), String> {
        while let Ok((n, from)) = self.stack.udp_recv_from(udp, buf) {
            self.report.datagrams_read += 1;
            if !is_peer(from.ip()) {
                continue;
            }
            let whole = buf[..n]
                .iter()
                .enumerate()
                .all(|(i, &b)| b == frames::stream_byte(i as u32));
            if !whole {
                return Err(format!(
                    "a {n}-byte datagram from {from} is not what was sent"
                ));
            }
        }
        Ok(())
    }
}

fn is_peer(ip: IpAddr) -> bool {
    PEERS.contains(&ip)
}

/// Makes a raw frame come from 198.18.0.9 or fd00::9 (the IPv4 header
/// checksum kept valid if it was), so that it cannot pass for a peer.
fn from_raw_source(frame: &mut [u8]) {
    match frame.first().map(|b| b >> 4) {
        Some(4) if frame.len() >= 20 => {
            let valid = Ipv4Packet::new_checked(&*frame).is_ok_and(|p| p.verify_checksum());
            let mut p = Ipv4Packet::new_unchecked(&mut *frame);
            p.set_src_addr(RAW_V4);
            if valid {
                p.fill_checksum();
            }
        }
        Some(6) if frame.len() >= 40 => {
            Ipv6Packet::new_unchecked(&mut *frame).set_src_addr(RAW_V6);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests;
