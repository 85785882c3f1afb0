//! `berth sim`'s run written against `berth_core::sim` directly, as the
//! core's tests write theirs: the stacks, links and data its `--seed`
//! documents, and its application (each connection sends its data, shuts
//! down, reads to the end, and closes; then the closing handshakes end).
//! `tests/sim.rs` holds the frames this puts on the links against the pcap
//! file `berth sim` writes.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use berth_core::config::StackConfig;
use berth_core::handle::SocketHandle;
use berth_core::rng::Rng;
use berth_core::sim::{Faults, Link, Pair, Side, Tap};
use berth_core::stack::{SocketError, Stack};
use berth_core::tcp::{EcnMode, State, TcpConfig};
use berth_core::time::{Duration, Instant};

const A: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1));
const B: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 18, 0, 2));
const PORT: u16 = 9000;

/// A run of `berth sim` with its default delay (10 ms) and CUBIC.
pub(crate) struct Scenario {
    pub(crate) seed: u64,
    pub(crate) conns: u64,
    pub(crate) bytes: u64,
    pub(crate) faults: Faults,
}

/// What the run did.
pub(crate) struct Outcome {
    /// Every frame put on a link: microseconds of virtual time, bytes.
    pub(crate) frames: Vec<(u64, Vec<u8>)>,
    pub(crate) virtual_seconds: f64,
    pub(crate) link_dropped: u64,
    pub(crate) link_corrupted: u64,
    pub(crate) retransmits: u64,
}

/// The faults `berth sim` makes of `flags` (`--loss`, `--reorder`,
/// `--duplicate`, `--corrupt`, `--jitter`), with its default delay.
pub(crate) fn faults(flags: &[&str]) -> Faults {
    let mut f = Faults {
        delay: Duration::from_millis(10),
        // Half the delay, plus a millisecond.
        reorder_delay: Duration::from_millis(6),
        ..Faults::default()
    };
    for pair in flags.chunks(2) {
        let v: f64 = pair[1].parse().unwrap();
        match pair[0] {
            "--loss" => f.loss = v,
            "--reorder" => f.reorder = v,
            "--duplicate" => f.duplicate = v,
            "--corrupt" => f.corrupt = v,
            "--jitter" => f.jitter = Duration::from_micros((v * 1000.0) as u64),
            other => panic!("{other} is not modelled here"),
        }
    }
    f
}

/// Records every frame.
struct Frames(Vec<(u64, Vec<u8>)>);

impl Tap<Stack> for Frames {
    fn frame(&mut self, now: Instant, _: Side, frame: &[u8]) {
        self.0.push((now.total_micros(), frame.to_vec()));
    }
}

/// One direction of one connection.
struct Flow {
    data: Vec<u8>,
    sent: usize,
    shut: bool,
    received: Vec<u8>,
    eof: bool,
}

impl Flow {
    fn new(rng: &mut Rng, len: u64) -> Self {
        Self {
            data: (0..len).map(|_| rng.next_u64() as u8).collect(),
            sent: 0,
            shut: false,
            received: Vec::new(),
            eof: false,
        }
    }
}

/// Sends what fits, shuts down once all is sent, reads what is there:
/// whether both are done.
fn drive(stack: &mut Stack, h: SocketHandle, out: &mut Flow, inp: &mut Flow) -> bool {
    while out.sent < out.data.len() {
        match stack.tcp_send(h, &out.data[out.sent..]) {
            Ok(n) => out.sent += n,
            Err(SocketError::WouldBlock) => break,
            Err(e) => panic!("send: {e}"),
        }
    }
    if out.sent == out.data.len() && !out.shut {
        stack.tcp_shutdown_write(h).unwrap();
        out.shut = true;
    }
    let mut buf = vec![0u8; 65536];
    while !inp.eof {
        match stack.tcp_recv(h, &mut buf) {
            Ok(0) => inp.eof = true,
            Ok(n) => inp.received.extend_from_slice(&buf[..n]),
            Err(SocketError::WouldBlock) => break,
            Err(e) => panic!("receive: {e}"),
        }
    }
    out.shut && inp.eof
}

struct Conn {
    client: SocketHandle,
    server: Option<SocketHandle>,
    up: Flow,
    down: Flow,
    closed: bool,
}

pub(crate) fn run(s: &Scenario) -> Outcome {
    let mut rng = Rng::new(s.seed);
    let tcp = TcpConfig {
        ecn: EcnMode::Passive,
        ..TcpConfig::default()
    };
    let stack = |addr, seed| {
        Stack::new(StackConfig {
            addrs: vec![addr],
            seed,
            tcp,
            ..StackConfig::default()
        })
    };
    let (seed_a, seed_b) = (rng.next_u64(), rng.next_u64());
    let (seed_ab, seed_ba) = (rng.next_u64(), rng.next_u64());
    let mut p = Pair::new(
        stack(A, seed_a),
        stack(B, seed_b),
        Link::new(s.faults, seed_ab),
        Link::new(s.faults, seed_ba),
    )
    .with_tap(Frames(Vec::new()));
    let listener =
        p.b.tcp_listen(SocketAddr::new(B, PORT), s.conns as usize)
            .unwrap();
    let mut conns: Vec<Conn> = (0..s.conns)
        .map(|_| Conn {
            client: p
                .a
                .tcp_connect(p.now, SocketAddr::new(B, PORT), None)
                .unwrap(),
            server: None,
            up: Flow::new(&mut rng, s.bytes),
            down: Flow::new(&mut rng, s.bytes),
            closed: false,
        })
        .collect();
    let mut retransmits = 0;
    p.run_until(|p| {
        while let Some((h, peer)) = p.b.tcp_accept(listener).unwrap() {
            let c = conns
                .iter_mut()
                .find(|c| p.a.local_addr(c.client).unwrap().port() == peer.port())
                .unwrap();
            c.server = Some(h);
        }
        let mut all_done = true;
        for c in &mut conns {
            if c.closed {
                continue;
            }
            let Some(server) = c.server else {
                all_done = false;
                continue;
            };
            let client_done = drive(&mut p.a, c.client, &mut c.up, &mut c.down);
            let server_done = drive(&mut p.b, server, &mut c.down, &mut c.up);
            if client_done && server_done {
                for (stack, h) in [(&mut p.a, c.client), (&mut p.b, server)] {
                    retransmits += stack.tcp_info(h).unwrap().stats.retransmits;
                    stack.tcp_close(p.now, h).unwrap();
                }
                c.closed = true;
            } else {
                all_done = false;
            }
        }
        let settled = |s: &Stack| {
            s.sockets()
                .iter()
                .all(|&h| s.tcp_state(h).map_or(true, State::is_settled))
        };
        all_done && settled(&p.a) && settled(&p.b)
    })
    .unwrap();
    for c in &conns {
        assert!(c.up.received == c.up.data && c.down.received == c.down.data);
    }
    Outcome {
        frames: std::mem::take(&mut p.tap.0),
        virtual_seconds: p.now.total_micros() as f64 / 1e6,
        link_dropped: p.ab.stats.dropped + p.ba.stats.dropped,
        link_corrupted: p.ab.stats.corrupted + p.ba.stats.corrupted,
        retransmits,
    }
}

/// The records of a classic pcap file: microseconds, bytes.
pub(crate) fn pcap_records(file: &[u8]) -> Vec<(u64, Vec<u8>)> {
    let u32_at = |i: usize| u32::from_le_bytes(file[i..i + 4].try_into().unwrap());
    let mut records = Vec::new();
    let mut i = 24;
    while i < file.len() {
        let micros = u64::from(u32_at(i)) * 1_000_000 + u64::from(u32_at(i + 4));
        let len = u32_at(i + 8) as usize;
        records.push((micros, file[i + 16..i + 16 + len].to_vec()));
        i += 16 + len;
    }
    records
}
