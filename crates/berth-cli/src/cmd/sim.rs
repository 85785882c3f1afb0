//! `berth sim`: two berth stacks in one process on the simulator
//! ([`berth_core::sim::Pair`], on which the core's tests run too), a link
//! with seeded faults each way, in virtual time. Opens `--conns`
//! connections, sends `--bytes` each way on each, half-closes, checks every
//! byte (SHA-256 at both ends), closes, and reports. The same seed gives the
//! same run, byte for byte (the wall time aside), and the same frames as
//! the simulator's API given the same application (`tests/sim.rs`). With
//! `--plot`, it also draws each connection (see `crate::plot`).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant as WallInstant;

use anyhow::{Context, bail};
use berth_core::config::StackConfig;
use berth_core::handle::SocketHandle;
use berth_core::rng::Rng;
use berth_core::sim::{Faults, Link, Pair, Side, StuckReason, Tap};
use berth_core::stack::{SocketError, Stack};
use berth_core::tcp::State;
use berth_core::tcp::congestion::CongestionAlgorithm;
use berth_core::time::{Duration, Instant};
use clap::{Args, ValueEnum};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::plot::{self, Recorder};

const A: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1));
const B: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 18, 0, 2));
const PORT: u16 = 9000;
/// A run that has not finished after this much virtual time has failed.
const VIRTUAL_LIMIT: Duration = Duration::from_secs(3600);

/// Congestion control for `--cc`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Cc {
    /// CUBIC (RFC 9438), Linux's default.
    Cubic,
    /// NewReno (RFC 5681, RFC 6582).
    Newreno,
}

/// `berth sim` options.
#[derive(Debug, Args)]
pub(crate) struct SimArgs {
    /// Probability of losing each packet, 0 to 1.
    #[arg(long, default_value_t = 0.0, value_parser = probability)]
    loss: f64,
    /// One-way delay, milliseconds.
    #[arg(long, default_value_t = 10.0, value_parser = non_negative)]
    delay: f64,
    /// Extra random delay, 0 to this many milliseconds.
    #[arg(long, default_value_t = 0.0, value_parser = non_negative)]
    jitter: f64,
    /// Probability of holding a packet back (reordering it), 0 to 1.
    #[arg(long, default_value_t = 0.0, value_parser = probability)]
    reorder: f64,
    /// Probability of duplicating a packet, 0 to 1.
    #[arg(long, default_value_t = 0.0, value_parser = probability)]
    duplicate: f64,
    /// Probability of flipping a bit in a packet, 0 to 1.
    #[arg(long, default_value_t = 0.0, value_parser = probability)]
    corrupt: f64,
    /// ECN (RFC 3168): both stacks ask for it, and a loss that falls on
    /// an ECN-capable packet marks it Congestion Experienced instead of
    /// dropping it (an AQM that marks).
    #[arg(long)]
    ecn: bool,
    /// Link rate in Mbit/s (0: unlimited).
    #[arg(long, default_value_t = 0.0, value_parser = non_negative)]
    rate: f64,
    /// Bytes sent each way on each connection.
    #[arg(long, default_value_t = 1 << 20)]
    bytes: u64,
    /// Concurrent connections.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    conns: u64,
    /// Congestion control.
    #[arg(long, value_enum, default_value_t = Cc::Cubic)]
    cc: Cc,
    /// Seed of every random choice (faults, ISNs, ports, data). Its first
    /// four draws (berth_core::rng::Rng) seed the client's stack, the
    /// server's, the link from client to server and the one back; then
    /// come each connection's data, up then down.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Write every packet that crosses the link to this pcap file (raw IP,
    /// virtual timestamps).
    #[arg(long)]
    pcap: Option<PathBuf>,
    /// Draw each connection into this directory as SVG files:
    /// conn-N-P-up.svg and conn-N-P-down.svg (time-sequence graphs of the
    /// client's and the server's data; N numbers connections from 1, P is
    /// the client's port), conn-N-P-up-state.svg and conn-N-P-down-state.svg
    /// (that data's sender: cwnd, ssthresh, bytes in flight, srtt, RTO).
    /// The first 100 connections are drawn.
    #[arg(long, value_name = "DIR")]
    plot: Option<PathBuf>,
    /// Print one JSON object instead of the summary.
    #[arg(long)]
    json: bool,
}

fn probability(s: &str) -> Result<f64, String> {
    let p: f64 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if (0.0..=1.0).contains(&p) {
        Ok(p)
    } else {
        Err(format!("{p} is not a probability between 0 and 1"))
    }
}

fn non_negative(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(format!("{v} must be a finite number >= 0"))
    }
}

/// What a run did.
#[derive(Debug, Serialize, PartialEq)]
struct Report {
    ok: bool,
    seed: u64,
    conns: u64,
    bytes_each_way: u64,
    bytes_delivered: u64,
    virtual_seconds: f64,
    goodput_mbit: f64,
    segments: u64,
    retransmits: u64,
    rto_fired: u64,
    recoveries: u64,
    sack_recoveries: u64,
    /// Tail loss probes sent (RFC 8985), and probes while ACKs were silent.
    loss_probes: u64,
    /// Window reductions undone as spurious (Eifel, D-SACK, F-RTO).
    undos: u64,
    /// Window reductions for an ECN echo.
    ecn_reductions: u64,
    link_dropped: u64,
    link_corrupted: u64,
    /// Packets the link marked CE instead of dropping (`--ecn`).
    link_marked: u64,
    wall_seconds: f64,
    error: Option<String>,
    /// The files `--plot` wrote.
    #[serde(skip_serializing_if = "Option::is_none")]
    plots: Option<Vec<PathBuf>>,
}

/// One direction of one connection's application data.
struct Flow {
    data: Vec<u8>,
    sent: usize,
    shut: bool,
    received: Sha256,
    received_len: u64,
    eof: bool,
}

impl Flow {
    fn new(rng: &mut Rng, len: u64) -> Self {
        let data = (0..len).map(|_| rng.next_u64() as u8).collect();
        Self {
            data,
            sent: 0,
            shut: false,
            received: Sha256::new(),
            received_len: 0,
            eof: false,
        }
    }
}

struct Conn {
    client: SocketHandle,
    server: Option<SocketHandle>,
    up: Flow,
    down: Flow,
    closed: bool,
}

/// A pcap writer with explicit timestamps, so the same seed gives the same file.
struct Pcap(BufWriter<File>);

impl Pcap {
    fn create(path: &PathBuf) -> anyhow::Result<Self> {
        let mut w = BufWriter::new(
            File::create(path).with_context(|| format!("creating {}", path.display()))?,
        );
        // Classic pcap, microseconds, snaplen 65535, LINKTYPE_RAW (101).
        w.write_all(&0xa1b2_c3d4u32.to_le_bytes())?;
        w.write_all(&2u16.to_le_bytes())?;
        w.write_all(&4u16.to_le_bytes())?;
        w.write_all(&[0; 8])?;
        w.write_all(&65535u32.to_le_bytes())?;
        w.write_all(&101u32.to_le_bytes())?;
        Ok(Self(w))
    }

    fn write(&mut self, at: Instant, frame: &[u8]) -> std::io::Result<()> {
        let us = at.total_micros();
        self.0.write_all(&((us / 1_000_000) as u32).to_le_bytes())?;
        self.0.write_all(&((us % 1_000_000) as u32).to_le_bytes())?;
        let len = frame.len() as u32;
        self.0.write_all(&len.to_le_bytes())?;
        self.0.write_all(&len.to_le_bytes())?;
        self.0.write_all(frame)
    }
}

/// What watches the run from the simulator's tap: the pcap file, the
/// plots, the count of segments.
struct Watch {
    pcap: Option<Pcap>,
    /// The first write to the pcap file that failed; the run stops.
    pcap_error: Option<std::io::Error>,
    plot: Option<Recorder>,
    segments: u64,
}

impl Tap<Stack> for Watch {
    fn frame(&mut self, now: Instant, _: Side, frame: &[u8]) {
        if let Some(p) = self.pcap.as_mut()
            && self.pcap_error.is_none()
            && let Err(e) = p.write(now, frame)
        {
            self.pcap_error = Some(e);
        }
        if let Some(r) = self.plot.as_mut() {
            r.packet(now, frame);
        }
        self.segments += 1;
    }

    fn stepped(&mut self, now: Instant, a: &Stack, b: &Stack) {
        if let Some(r) = self.plot.as_mut() {
            for stack in [a, b] {
                for h in stack.sockets() {
                    if let Ok(info) = stack.tcp_info(h) {
                        r.sample(now, &info);
                    }
                }
            }
        }
    }
}

/// Moves application data for one connection; whether it is finished.
fn drive(
    now: Instant,
    stack: &mut Stack,
    h: SocketHandle,
    out: &mut Flow,
    inp: &mut Flow,
    buf: &mut [u8],
) -> anyhow::Result<bool> {
    while out.sent < out.data.len() {
        match stack.tcp_send(h, &out.data[out.sent..]) {
            Ok(n) => out.sent += n,
            Err(SocketError::WouldBlock) => break,
            Err(e) => bail!("send failed at {now}: {e}"),
        }
    }
    if out.sent == out.data.len() && !out.shut {
        stack
            .tcp_shutdown_write(h)
            .map_err(|e| anyhow::anyhow!("shutdown failed: {e}"))?;
        out.shut = true;
    }
    while !inp.eof {
        match stack.tcp_recv(h, buf) {
            Ok(0) => inp.eof = true,
            Ok(n) => {
                inp.received.update(&buf[..n]);
                inp.received_len += n as u64;
            }
            Err(SocketError::WouldBlock) => break,
            Err(e) => bail!("receive failed at {now}: {e}"),
        }
    }
    Ok(out.shut && inp.eof)
}

fn simulate(args: &SimArgs, wall: WallInstant) -> anyhow::Result<Report> {
    let mut rng = Rng::new(args.seed);
    let faults = Faults {
        loss: args.loss,
        duplicate: args.duplicate,
        corrupt: args.corrupt,
        reorder: args.reorder,
        reorder_delay: Duration::from_micros((args.delay * 1000.0) as u64 / 2 + 1000),
        delay: Duration::from_micros((args.delay * 1000.0) as u64),
        jitter: Duration::from_micros((args.jitter * 1000.0) as u64),
        rate: (args.rate * 1e6 / 8.0) as u64,
        mark_ce: args.ecn,
    };
    let congestion = match args.cc {
        Cc::Cubic => CongestionAlgorithm::Cubic,
        Cc::Newreno => CongestionAlgorithm::NewReno,
    };
    let tcp = berth_core::tcp::TcpConfig {
        congestion,
        ecn: if args.ecn {
            berth_core::tcp::EcnMode::On
        } else {
            berth_core::tcp::EcnMode::Passive
        },
        ..Default::default()
    };
    let config = |addr, seed| StackConfig {
        addrs: vec![addr],
        seed,
        tcp,
        ..StackConfig::default()
    };
    // The seed's first four draws seed the stacks and the links, as
    // `--seed` documents; each connection's data follows.
    let (seed_a, seed_b) = (rng.next_u64(), rng.next_u64());
    let (seed_ab, seed_ba) = (rng.next_u64(), rng.next_u64());
    let mut w = Pair::new(
        Stack::new(config(A, seed_a)),
        Stack::new(config(B, seed_b)),
        Link::new(faults, seed_ab),
        Link::new(faults, seed_ba),
    )
    .with_tap(Watch {
        pcap: args.pcap.as_ref().map(Pcap::create).transpose()?,
        pcap_error: None,
        plot: args.plot.as_ref().map(|_| Recorder::new()),
        segments: 0,
    });
    w.limit = VIRTUAL_LIMIT;
    let listener =
        w.b.tcp_listen(
            SocketAddr::new(B, PORT),
            usize::try_from(args.conns).unwrap_or(usize::MAX),
        )
        .map_err(|e| anyhow::anyhow!("listen: {e}"))?;
    let mut conns = Vec::new();
    for _ in 0..args.conns {
        let client =
            w.a.tcp_connect(w.now, SocketAddr::new(B, PORT), None)
                .map_err(|e| anyhow::anyhow!("connect: {e}"))?;
        conns.push(Conn {
            client,
            server: None,
            up: Flow::new(&mut rng, args.bytes),
            down: Flow::new(&mut rng, args.bytes),
            closed: false,
        });
    }
    let mut stats = [0u64; 7];
    let mut buf = vec![0u8; 65536];
    let mut error = None;
    let mut fatal = None;
    let run = w.run_until(|w| {
        if w.tap.pcap_error.is_some() {
            return true;
        }
        // Accepted connections, in order, are matched by their client port.
        loop {
            match w.b.tcp_accept(listener) {
                Ok(Some((h, peer))) => {
                    let port = peer.port();
                    if let Some(c) = conns
                        .iter_mut()
                        .find(|c| w.a.local_addr(c.client).map(|a| a.port()) == Ok(port))
                    {
                        c.server = Some(h);
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    fatal = Some(anyhow::anyhow!("accept: {e}"));
                    return true;
                }
            }
        }
        let mut all_done = true;
        for c in &mut conns {
            if c.closed {
                continue;
            }
            let Some(server) = c.server else {
                all_done = false;
                if let Ok(Some(e)) = w.a.tcp_error(c.client) {
                    error.get_or_insert(format!("connect failed: {e}"));
                }
                continue;
            };
            let client_done =
                match drive(w.now, &mut w.a, c.client, &mut c.up, &mut c.down, &mut buf) {
                    Ok(d) => d,
                    Err(e) => {
                        error.get_or_insert(format!("client: {e}"));
                        true
                    }
                };
            let server_done = match drive(w.now, &mut w.b, server, &mut c.down, &mut c.up, &mut buf)
            {
                Ok(d) => d,
                Err(e) => {
                    error.get_or_insert(format!("server: {e}"));
                    true
                }
            };
            if client_done && server_done {
                for (stack, h) in [(&mut w.a, c.client), (&mut w.b, server)] {
                    if let Ok(info) = stack.tcp_info(h) {
                        stats[0] += info.stats.retransmits;
                        stats[1] += info.stats.rto_fired;
                        stats[2] += info.stats.recoveries;
                        stats[3] += info.stats.sack_recoveries;
                        stats[4] += info.stats.loss_probes;
                        stats[5] += info.stats.undos;
                        stats[6] += info.stats.ecn_reductions;
                    }
                    let _ = stack.tcp_close(w.now, h);
                }
                c.closed = true;
            } else {
                all_done = false;
            }
        }
        // Done once every connection is closed and the closing handshakes
        // have finished (TIME-WAIT aside).
        let settled = |s: &Stack| {
            s.sockets()
                .iter()
                .all(|&h| s.tcp_state(h).map_or(true, State::is_settled))
        };
        error.is_some() || (all_done && settled(&w.a) && settled(&w.b))
    });
    if let Err(stuck) = run {
        error.get_or_insert(match stuck.why {
            StuckReason::TimeLimit(limit) => {
                format!("not finished after {} of virtual time", limit.as_secs())
            }
            StuckReason::NothingScheduled => {
                format!("stalled at {}: nothing left to happen", stuck.at)
            }
            StuckReason::Endless => format!("stalled at {}: endless output", stuck.at),
        });
    }
    if let Some(e) = fatal {
        return Err(e);
    }
    if let Some(e) = w.tap.pcap_error.take() {
        return Err(e).context("writing the pcap file");
    }
    if let Some(p) = w.tap.pcap.as_mut() {
        p.0.flush()?;
    }
    // Drawn whatever the verdict: a failed run is the one worth looking at.
    let plots = match (&w.tap.plot, &args.plot) {
        (Some(r), Some(dir)) => Some(r.write(dir)?),
        _ => None,
    };
    let mut delivered = 0;
    if error.is_none() {
        for (i, c) in conns.iter().enumerate() {
            for (dir, flow) in [("up", &c.up), ("down", &c.down)] {
                let expected = Sha256::digest(&flow.data);
                if flow.received_len != flow.data.len() as u64
                    || flow.received.clone().finalize() != expected
                {
                    error.get_or_insert(format!("connection {i} {dir}: data differs"));
                }
                delivered += flow.received_len;
            }
        }
    }
    let secs = w.now.total_micros() as f64 / 1e6;
    Ok(Report {
        ok: error.is_none(),
        seed: args.seed,
        conns: args.conns,
        bytes_each_way: args.bytes,
        bytes_delivered: delivered,
        virtual_seconds: secs,
        goodput_mbit: if secs > 0.0 {
            delivered as f64 * 8.0 / secs / 1e6
        } else {
            0.0
        },
        segments: w.tap.segments,
        retransmits: stats[0],
        rto_fired: stats[1],
        recoveries: stats[2],
        sack_recoveries: stats[3],
        loss_probes: stats[4],
        undos: stats[5],
        ecn_reductions: stats[6],
        link_dropped: w.ab.stats.dropped + w.ba.stats.dropped,
        link_corrupted: w.ab.stats.corrupted + w.ba.stats.corrupted,
        link_marked: w.ab.stats.marked + w.ba.stats.marked,
        wall_seconds: wall.elapsed().as_secs_f64(),
        error,
        plots,
    })
}

/// Runs `berth sim`.
pub(crate) fn run(args: &SimArgs) -> anyhow::Result<ExitCode> {
    let wall = WallInstant::now();
    let report = simulate(args, wall)?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "berth sim: {} connection(s), {} bytes each way, seed {}",
            report.conns, report.bytes_each_way, report.seed
        );
        println!(
            "  delivered {} bytes in {:.3} s of virtual time ({:.1} Mbit/s goodput), {} segments",
            report.bytes_delivered, report.virtual_seconds, report.goodput_mbit, report.segments
        );
        println!(
            "  retransmits {}, RTO firings {}, loss probes {}, recoveries {} ({} with SACK), undone {}, ECN reductions {}; link dropped {}, corrupted {}, marked CE {}",
            report.retransmits,
            report.rto_fired,
            report.loss_probes,
            report.recoveries,
            report.sack_recoveries,
            report.undos,
            report.ecn_reductions,
            report.link_dropped,
            report.link_corrupted,
            report.link_marked
        );
        println!("  wall time {:.3} s", report.wall_seconds);
        if let (Some(files), Some(dir)) = (&report.plots, &args.plot) {
            let more = if args.conns > plot::MAX_CONNS as u64 {
                format!(" (the first {} connections)", plot::MAX_CONNS)
            } else {
                String::new()
            };
            println!(
                "  plots: {} SVG files in {}{more}",
                files.len(),
                dir.display()
            );
        }
        match &report.error {
            None => {
                println!("  verdict: ok, every byte arrived intact (SHA-256 checked at both ends)")
            }
            Some(e) => println!("  verdict: FAILED: {e}"),
        }
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
