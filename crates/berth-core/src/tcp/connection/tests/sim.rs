//! Two connections joined by the simulator ([`crate::sim::Pair`]) over a
//! link with seeded loss, delay, jitter, reordering, duplication and
//! corruption, in virtual time: every byte must arrive intact and in order
//! both ways, both sides must close (half-close first), and the same seed
//! must give the same run.
//!
//! The endpoints ([`crate::sim::Endpoint`]s) are bare [`Connection`]s
//! exchanging bare TCP segments, not stacks: this is the connection's own
//! simulation, the rung below the stack's (`stack/tests/`). Wrapping each
//! connection in a `Stack` would run the stack's listener, demux, timer
//! heap and IP layer in every seed along with it, and take the ISNs and
//! timestamp offsets from the stack's generators instead of straight from
//! the seed; a failure here names the connection alone. Everything else is
//! shared with the stack tests and `berth sim`: the link and its faults,
//! the stepping, the jump to the next event, the bounds that end a stuck
//! run. The application runs between the packets
//! ([`crate::sim::Pair::run_interleaved`]), as it did in this file's own
//! loop before there was one simulator.
//!
//! The link marks Congestion Experienced in IP headers, which bare
//! segments lack: here a loss always drops, even for the seeds that ask
//! the link to mark (as before there was one simulator); marking is
//! exercised on stacks (`stack/tests/`, `berth sim --ecn`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use crate::sim::{Endpoint, Faults, Link, Pair, Rng, Side, Tap, Turn};
use crate::tcp::config::TcpConfig;
use crate::tcp::segment::Segment;
use crate::tcp::seq::SeqNum;
use crate::tcp::{Connection, RecvError, State};
use crate::time::{Duration, Instant};
use crate::wire::{ChecksumCaps, TcpPacket, TcpRepr};

const A: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1)), 40000);
const B: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(198, 18, 0, 2)), 80);

/// One end of the transfer: its connection (the passive end's made from
/// the first SYN) and its application.
struct Host {
    conn: Option<Connection>,
    local: SocketAddr,
    remote: SocketAddr,
    cfg: TcpConfig,
    /// The passive end's ISN and timestamp offset, drawn from the seed.
    accept_with: (SeqNum, u32),
    /// Segments whose checksum (or header) the corruption broke.
    dropped_corrupt: u64,
    to_send: Vec<u8>,
    sent: usize,
    shut: bool,
    received: Vec<u8>,
    eof: bool,
}

impl Host {
    fn new(local: SocketAddr, remote: SocketAddr, cfg: TcpConfig, to_send: Vec<u8>) -> Self {
        Self {
            conn: None,
            local,
            remote,
            cfg,
            accept_with: (SeqNum::new(0), 0),
            dropped_corrupt: 0,
            to_send,
            sent: 0,
            shut: false,
            received: Vec::new(),
            eof: false,
        }
    }

    /// The application: write what fits, shut down when done, read all.
    /// Whether it did anything.
    fn app(&mut self) -> Result<bool, String> {
        let Some(conn) = self.conn.as_mut() else {
            return Ok(false);
        };
        let mut busy = false;
        if self.sent < self.to_send.len() {
            match conn.send(&self.to_send[self.sent..]) {
                Ok(n) => {
                    self.sent += n;
                    busy |= n > 0;
                }
                Err(e) => return Err(format!("send failed in {}: {e}", conn.state())),
            }
        }
        if self.sent == self.to_send.len() && !self.shut {
            conn.shutdown_write();
            self.shut = true;
            busy = true;
        }
        let mut buf = [0u8; 8192];
        loop {
            match conn.recv(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    self.received.extend_from_slice(&buf[..n]);
                    busy = true;
                }
                Err(RecvError::Finished) => {
                    busy |= !self.eof;
                    self.eof = true;
                    break;
                }
                Err(e) => return Err(format!("recv failed in {}: {e}", conn.state())),
            }
        }
        Ok(busy)
    }

    fn done(&self) -> bool {
        self.eof
            && self.sent == self.to_send.len()
            && self
                .conn
                .as_ref()
                .is_some_and(|c| matches!(c.state(), State::TimeWait | State::Closed))
    }

    fn state(&self) -> Option<State> {
        self.conn.as_ref().map(Connection::state)
    }
}

impl Endpoint for Host {
    fn frame_len(&self) -> usize {
        1480
    }

    fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<usize> {
        self.conn.as_mut()?.poll_transmit(now, buf)
    }

    fn handle_frame(&mut self, now: Instant, frame: &[u8]) {
        let (from, to) = (self.remote, self.local);
        let Ok(packet) = TcpPacket::new_checked(frame) else {
            self.dropped_corrupt += 1;
            return;
        };
        let Ok(repr) = TcpRepr::parse(&packet, from.ip(), to.ip(), ChecksumCaps::FULL) else {
            self.dropped_corrupt += 1;
            return;
        };
        let seg = Segment::from_repr(&repr);
        if std::env::var_os("BERTH_SIM_TRACE").is_some() {
            println!(
                "{now} {}>{} {} seq={} ack={:?} win={} len={} sack={:?} state={:?}",
                from.port(),
                to.port(),
                repr.flags,
                repr.seq_number,
                repr.ack_number,
                repr.window_len,
                repr.payload.len(),
                repr.sack_ranges.iter().flatten().collect::<Vec<_>>(),
                self.state()
            );
        }
        match self.conn.as_mut() {
            Some(conn) => {
                conn.on_segment(now, &seg);
            }
            None if seg.syn() && seg.ack.is_none() => {
                let (iss, ts_offset) = self.accept_with;
                self.conn = Some(Connection::accept(
                    now, self.cfg, to, from, &seg, iss, ts_offset,
                ));
            }
            None => {}
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.conn.as_ref().and_then(Connection::poll_at)
    }

    fn handle_timeout(&mut self, now: Instant) {
        if let Some(conn) = self.conn.as_mut()
            && conn.poll_at().is_some_and(|t| t <= now)
        {
            conn.on_timeout(now);
        }
    }

    fn describe(&self) -> String {
        format!("{:?}", self.state())
    }
}

/// Counts and hashes every segment put on the link.
struct Trace {
    segments: u64,
    hash: u64,
}

impl Tap<Host> for Trace {
    fn frame(&mut self, _: Instant, _: Side, frame: &[u8]) {
        self.segments += 1;
        for &b in frame {
            self.hash = (self.hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// What a run did, for determinism checks and failure messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Report {
    pub(super) finished_at: Instant,
    pub(super) segments: u64,
    pub(super) dropped_corrupt: u64,
    pub(super) retransmits: (u64, u64),
    pub(super) rto_fired: (u64, u64),
    pub(super) recoveries: (u64, u64),
    /// A running hash of every segment that crossed the link.
    pub(super) trace: u64,
}

fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    (0..len).map(|_| rng.next_u64() as u8).collect()
}

/// Runs one transfer of `bytes` each way over links with `faults`.
pub(super) fn run(
    seed: u64,
    faults: Faults,
    bytes: usize,
    cfg: TcpConfig,
) -> Result<Report, String> {
    let mut rng = Rng::new(seed);
    let ab = Link::new(faults, rng.next_u64());
    let ba = Link::new(faults, rng.next_u64());
    let mut a = Host::new(A, B, cfg, pattern(rng.next_u64(), bytes));
    let mut b = Host::new(B, A, cfg, pattern(rng.next_u64(), bytes));
    a.conn = Some(Connection::connect(
        Instant::ZERO,
        cfg,
        A,
        B,
        SeqNum::new(rng.next_u64() as u32),
        rng.next_u64() as u32,
    ));
    b.accept_with = (SeqNum::new(rng.next_u64() as u32), rng.next_u64() as u32);
    let mut p = Pair::new(a, b, ab, ba).with_tap(Trace {
        segments: 0,
        hash: 0xcbf2_9ce4_8422_2325,
    });
    let mut failed = None;
    let run = p.run_interleaved(|p| {
        let busy = match (p.a.app(), p.b.app()) {
            (Err(e), _) => Err(format!("a at {}: {e}", p.now)),
            (_, Err(e)) => Err(format!("b at {}: {e}", p.now)),
            (Ok(a), Ok(b)) => Ok(a || b),
        };
        let failure = busy.as_ref().err().cloned().or_else(|| {
            [&p.a, &p.b]
                .iter()
                .find_map(|h| h.conn.as_ref().and_then(Connection::error))
                .map(|e| format!("connection failed at {}: {e}", p.now))
        });
        if let Some(f) = failure {
            failed = Some(f);
            return Turn::Done;
        }
        if p.tap.segments > 200_000 {
            failed = Some(format!("endless retransmission at {}", p.now));
            return Turn::Done;
        }
        if p.a.done() && p.b.done() {
            Turn::Done
        } else if busy == Ok(true) {
            Turn::Busy
        } else {
            Turn::Idle
        }
    });
    let stalled = |why: String| {
        format!(
            "seed {seed}: {why}: a={:?} b={:?} a got {}/{} b got {}/{}",
            p.a.state(),
            p.b.state(),
            p.a.received.len(),
            bytes,
            p.b.received.len(),
            bytes
        )
    };
    if let Err(stuck) = run {
        return Err(stalled(stuck.to_string()));
    }
    if let Some(f) = failed {
        return Err(stalled(f));
    }
    if p.a.received != p.b.to_send || p.b.received != p.a.to_send {
        return Err(format!("seed {seed}: data differs"));
    }
    let (ca, cb) = (p.a.conn.as_ref().unwrap(), p.b.conn.as_ref().unwrap());
    Ok(Report {
        finished_at: p.now,
        segments: p.tap.segments,
        dropped_corrupt: p.a.dropped_corrupt + p.b.dropped_corrupt,
        retransmits: (ca.stats().retransmits, cb.stats().retransmits),
        rto_fired: (ca.stats().rto_fired, cb.stats().rto_fired),
        recoveries: (ca.stats().recoveries, cb.stats().recoveries),
        trace: p.tap.hash,
    })
}

/// The faults of seed `seed`: a spread from a clean link to a bad one.
pub(super) fn faults_for(seed: u64) -> Faults {
    let mut rng = Rng::new(seed.wrapping_mul(0x9e37_79b9));
    let pct = |rng: &mut Rng, max: u64| rng.below(max + 1) as f64 / 100.0;
    Faults {
        loss: pct(&mut rng, 5),
        duplicate: pct(&mut rng, 2),
        corrupt: pct(&mut rng, 2),
        reorder: pct(&mut rng, 5),
        reorder_delay: Duration::from_millis(rng.below(20)),
        delay: Duration::from_millis(1 + rng.below(50)),
        jitter: Duration::from_millis(rng.below(5)),
        rate: [0, 10_000_000, 1_000_000][rng.below(3) as usize],
        // Every seventh seed marks ECN-capable packets instead of dropping.
        mark_ce: seed.is_multiple_of(7),
    }
}

fn sim_config(seed: u64) -> TcpConfig {
    let mut cfg = TcpConfig {
        recv_buffer: 64 * 1024,
        send_buffer: 64 * 1024,
        ..TcpConfig::default()
    };
    // Cover the option combinations: every fourth seed drops SACK, every
    // third timestamps, every fifth window scaling; odd seeds run NewReno.
    cfg.sack = !seed.is_multiple_of(4);
    if seed.is_multiple_of(7) {
        cfg.ecn = crate::tcp::EcnMode::On;
    }
    cfg.timestamps = !seed.is_multiple_of(3);
    cfg.window_scaling = !seed.is_multiple_of(5);
    if seed % 2 == 1 {
        cfg.congestion = crate::tcp::congestion::CongestionAlgorithm::NewReno;
    }
    cfg
}

#[test]
fn clean_link_transfers_and_closes() {
    let report = run(
        1,
        Faults {
            delay: Duration::from_millis(10),
            ..Faults::default()
        },
        256 * 1024,
        sim_config(2),
    )
    .unwrap();
    assert_eq!(report.retransmits, (0, 0));
    assert_eq!(report.dropped_corrupt, 0);
}

#[test]
fn same_seed_same_run() {
    let faults = faults_for(7);
    let one = run(7, faults, 200 * 1024, sim_config(7)).unwrap();
    let two = run(7, faults, 200 * 1024, sim_config(7)).unwrap();
    assert_eq!(one, two);
    let other = run(8, faults, 200 * 1024, sim_config(7)).unwrap();
    assert_ne!(
        one.trace, other.trace,
        "a different seed takes a different path"
    );
}

/// Runs one seed given in `BERTH_SIM_SEED` (for debugging a failure).
#[test]
fn one_seed_from_env() {
    if let Some(seed) = std::env::var("BERTH_SIM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        let r = run(seed, faults_for(seed), 1 << 20, sim_config(seed));
        println!(
            "faults {:?} config {:?}\n{r:?}",
            faults_for(seed),
            sim_config(seed)
        );
        r.unwrap();
    }
}

/// 200 seeds, 1 MiB each way, each with its own faults and options.
#[test]
fn two_hundred_seeds_one_mebibyte_each_way() {
    let mut failures = Vec::new();
    let mut lossy_recoveries = 0;
    for seed in 0..200 {
        match run(seed, faults_for(seed), 1 << 20, sim_config(seed)) {
            Ok(r) => lossy_recoveries += r.recoveries.0 + r.recoveries.1,
            Err(e) => failures.push(e),
        }
    }
    assert!(
        failures.is_empty(),
        "{} seeds failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(lossy_recoveries > 0, "the faults exercised loss recovery");
}
