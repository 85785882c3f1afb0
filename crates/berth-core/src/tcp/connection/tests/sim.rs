//! Two connections joined by an in-memory link with seeded loss, delay,
//! jitter, reordering, duplication and corruption, in virtual time: every
//! byte must arrive intact and in order both ways, both sides must close
//! (half-close first), and the same seed must give the same run.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use crate::tcp::config::TcpConfig;
use crate::tcp::segment::Segment;
use crate::tcp::seq::SeqNum;
use crate::tcp::{Connection, RecvError, State};
use crate::testing::{Faults, Link, Rng};
use crate::time::{Duration, Instant};
use crate::wire::{ChecksumCaps, TcpPacket, TcpRepr};

const A: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1)), 40000);
const B: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(198, 18, 0, 2)), 80);

/// One side of the transfer: its connection and its application.
struct Side {
    conn: Option<Connection>,
    to_send: Vec<u8>,
    sent: usize,
    received: Vec<u8>,
    eof: bool,
}

impl Side {
    fn new(to_send: Vec<u8>) -> Self {
        Self {
            conn: None,
            to_send,
            sent: 0,
            received: Vec::new(),
            eof: false,
        }
    }

    /// The application: write what fits, shut down when done, read all.
    fn app(&mut self) -> Result<(), String> {
        let Some(conn) = self.conn.as_mut() else {
            return Ok(());
        };
        if self.sent < self.to_send.len() {
            match conn.send(&self.to_send[self.sent..]) {
                Ok(n) => self.sent += n,
                Err(e) => return Err(format!("send failed in {}: {e}", conn.state())),
            }
        }
        if self.sent == self.to_send.len() {
            conn.shutdown_write();
        }
        let mut buf = [0u8; 8192];
        loop {
            match conn.recv(&mut buf) {
                Ok(0) => break,
                Ok(n) => self.received.extend_from_slice(&buf[..n]),
                Err(RecvError::Finished) => {
                    self.eof = true;
                    break;
                }
                Err(e) => return Err(format!("recv failed in {}: {e}", conn.state())),
            }
        }
        Ok(())
    }

    fn done(&self) -> bool {
        self.eof
            && self.sent == self.to_send.len()
            && self
                .conn
                .as_ref()
                .is_some_and(|c| matches!(c.state(), State::TimeWait | State::Closed))
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

/// Delivers one segment from `link` to `side`; returns whether one arrived.
#[allow(clippy::too_many_arguments)]
fn deliver(
    now: Instant,
    link: &mut Link,
    side: &mut Side,
    cfg: TcpConfig,
    report: &mut Report,
    from: SocketAddr,
    to: SocketAddr,
    rng: &mut Rng,
) -> bool {
    let Some(bytes) = link.recv(now) else {
        return false;
    };
    let Ok(packet) = TcpPacket::new_checked(&bytes[..]) else {
        report.dropped_corrupt += 1;
        return true;
    };
    let Ok(repr) = TcpRepr::parse(&packet, from.ip(), to.ip(), ChecksumCaps::FULL) else {
        report.dropped_corrupt += 1;
        return true;
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
            side.conn.as_ref().map(|c| c.state())
        );
    }
    match side.conn.as_mut() {
        Some(conn) => {
            conn.on_segment(now, &seg);
        }
        None if seg.syn() && seg.ack.is_none() => {
            let iss = SeqNum::new(rng.next_u64() as u32);
            side.conn = Some(Connection::accept(
                now,
                cfg,
                to,
                from,
                &seg,
                iss,
                rng.next_u64() as u32,
            ));
        }
        None => {}
    }
    true
}

fn flush(now: Instant, side: &mut Side, link: &mut Link, report: &mut Report) -> bool {
    let Some(conn) = side.conn.as_mut() else {
        return false;
    };
    let mut buf = [0u8; 1480];
    let mut any = false;
    let mut burst = 0;
    while let Some(n) = conn.poll_transmit(now, &mut buf) {
        burst += 1;
        assert!(
            burst < 10_000,
            "endless output at {now}: {:?}",
            conn.state()
        );
        report.segments += 1;
        for &b in &buf[..n] {
            report.trace = (report.trace ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        link.send(now, &buf[..n]);
        any = true;
    }
    any
}

/// Runs one transfer of `bytes` each way over links with `faults`.
pub(super) fn run(
    seed: u64,
    faults: Faults,
    bytes: usize,
    cfg: TcpConfig,
) -> Result<Report, String> {
    let mut rng = Rng::new(seed);
    let mut ab = Link::new(faults, rng.next_u64());
    let mut ba = Link::new(faults, rng.next_u64());
    let mut a = Side::new(pattern(rng.next_u64(), bytes));
    let mut b = Side::new(pattern(rng.next_u64(), bytes));
    let mut now = Instant::ZERO;
    a.conn = Some(Connection::connect(
        now,
        cfg,
        A,
        B,
        SeqNum::new(rng.next_u64() as u32),
        rng.next_u64() as u32,
    ));
    let mut report = Report {
        finished_at: now,
        segments: 0,
        dropped_corrupt: 0,
        retransmits: (0, 0),
        rto_fired: (0, 0),
        recoveries: (0, 0),
        trace: 0xcbf2_9ce4_8422_2325,
    };
    let limit = Instant::from_secs(3600);
    let mut steps = 0u64;
    loop {
        steps += 1;
        if now > limit || steps > 2_000_000 || report.segments > 200_000 {
            return Err(format!(
                "seed {seed}: stalled at {now}: a={:?} b={:?} a got {}/{} b got {}/{}",
                a.conn.as_ref().map(|c| c.state()),
                b.conn.as_ref().map(|c| c.state()),
                a.received.len(),
                bytes,
                b.received.len(),
                bytes
            ));
        }
        a.app()
            .map_err(|e| format!("seed {seed}: a at {now}: {e}"))?;
        b.app()
            .map_err(|e| format!("seed {seed}: b at {now}: {e}"))?;
        let mut busy = flush(now, &mut a, &mut ab, &mut report);
        busy |= flush(now, &mut b, &mut ba, &mut report);
        busy |= deliver(now, &mut ab, &mut b, cfg, &mut report, A, B, &mut rng);
        busy |= deliver(now, &mut ba, &mut a, cfg, &mut report, B, A, &mut rng);
        if busy {
            continue;
        }
        if a.done() && b.done() {
            break;
        }
        for side in [&a, &b] {
            if let Some(err) = side.conn.as_ref().and_then(|c| c.error()) {
                return Err(format!("seed {seed}: connection failed at {now}: {err}"));
            }
        }
        // Nothing to do now: jump to the next event.
        let next = [
            a.conn.as_ref().and_then(Connection::poll_at),
            b.conn.as_ref().and_then(Connection::poll_at),
            ab.next_arrival(),
            ba.next_arrival(),
        ]
        .into_iter()
        .flatten()
        .min();
        let Some(next) = next else {
            return Err(format!("seed {seed}: deadlock at {now}: nothing scheduled"));
        };
        now = now.max(next);
        for side in [&mut a, &mut b] {
            if let Some(conn) = side.conn.as_mut()
                && conn.poll_at().is_some_and(|t| t <= now)
            {
                conn.on_timeout(now);
            }
        }
    }
    if a.received != b.to_send || b.received != a.to_send {
        return Err(format!("seed {seed}: data differs"));
    }
    let (ca, cb) = (a.conn.as_ref().unwrap(), b.conn.as_ref().unwrap());
    report.finished_at = now;
    report.retransmits = (ca.stats().retransmits, cb.stats().retransmits);
    report.rto_fired = (ca.stats().rto_fired, cb.stats().rto_fired);
    report.recoveries = (ca.stats().recoveries, cb.stats().recoveries);
    Ok(report)
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
