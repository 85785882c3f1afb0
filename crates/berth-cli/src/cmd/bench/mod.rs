//! `berth bench`: throughput, request/response rate and connection rate of
//! berth, measured side by side with the Linux kernel and with smoltcp on
//! the same machine in the same run.
//!
//! Three targets. `core` (no root): the protocol implementations alone,
//! berth's sans-IO core against smoltcp, each as two stacks stepped by one
//! thread with packets handed across in memory at the same MTU. `mem` (no
//! root): berth's runtime (two stacks, each with its thread, joined by an
//! in-memory link; the blocking socket API) against the kernel over
//! loopback. `tun` (root): the kernel is the client in a network namespace
//! and the server is berth (on a TUN device, with offloads), smoltcp (on a
//! TUN device, through the same device code) or the kernel of a second
//! namespace (over a veth pair): every server is reached through the
//! kernel's TCP. Runs are interleaved (run 1 of every
//! stack, then run 2, ...) so that drift on a shared machine hits all
//! alike; the median is reported. Addresses: 198.18.0.0/15, inside
//! namespaces this command creates and removes, and loopback.
//!
//! With `--loss P` (tun only), iptables drops each packet with probability
//! P on the kernel client's side, both ways, for every stack alike; bulk and
//! download then move a fixed size, checked byte for byte, within a time
//! limit per transfer (`checked.rs`), and a run that fails or misses the
//! limit is reported as such, counted as slower than any that finished.
//!
//! smoltcp is measured only in a `berth` built with the `smoltcp` feature
//! (`smoltcp/`); any other build skips it, says so on stderr and after the
//! table, and lists it under `skipped` in the JSON.

mod asyncs;
mod checked;
mod client;
mod core;
mod dial;
mod netns;
mod proxy;
mod sessions;
mod setup;
#[cfg(feature = "smoltcp")]
mod smoltcp;
mod workload;

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, ensure};
use clap::ValueEnum;
use serde::Serialize;

use setup::{Link, Setup};

/// Where to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Target {
    /// The sans-IO cores, one thread each run (berth, smoltcp).
    Core,
    /// The runtimes in memory (berth, Linux loopback).
    Mem,
    /// Over TUN (and veth for the kernel) with the kernel as the client; root.
    Tun,
    /// Through `berth proxy` (direct, and via a local SOCKS5 server) from a
    /// client namespace to a server namespace, against a kernel routing
    /// between the two; root. Not run unless asked for.
    Proxy,
}

/// `berth proxy`'s upstream (proxy target).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Via {
    /// This host's sockets.
    Direct,
    /// A SOCKS5 server on loopback (microsocks).
    Socks5,
}

impl Workload {
    /// Whether the workload runs on `target`: held flows are a proxy's
    /// measure; the core target has no threads for concurrent clients.
    fn applies_to(self, target: Target) -> bool {
        match self {
            Self::Flows => target == Target::Proxy,
            Self::Rr100 => target != Target::Core,
            _ => true,
        }
    }
}

/// Whose TCP/IP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum StackKind {
    Berth,
    Linux,
    Smoltcp,
}

impl StackKind {
    /// Why this build of `berth` cannot measure the stack, if it cannot.
    fn not_compiled_in(self) -> Option<&'static str> {
        match self {
            Self::Smoltcp if !cfg!(feature = "smoltcp") => Some(
                "not compiled into this berth: build it with `--features smoltcp` \
                 (cargo build --release -p berth-cli --features smoltcp)",
            ),
            _ => None,
        }
    }
}

/// A stack asked for that this build cannot measure.
#[derive(Debug, Serialize)]
struct Skipped {
    stack: StackKind,
    reason: &'static str,
}

/// How berth's servers run (mem and tun targets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Api {
    /// Sessions on the stack thread, run to completion (`NetStack::serve`),
    /// as `berth up` serves by default.
    Callback,
    /// A thread per connection on the blocking sockets.
    Blocking,
    /// A tokio task per connection on `berth::tokio_net`, one runtime
    /// thread.
    Async,
}

/// Where the client and the server run (`--pin`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Pin {
    /// Wherever the scheduler puts them.
    #[default]
    None,
    /// Client and server threads (berth's and smoltcp's stack threads, the
    /// kernels' server threads) all on CPU 0: what one exchange costs on
    /// one core, as netperf's TCP_RR pinned.
    Same,
    /// The client on CPU 0, the server on CPU 1.
    Split,
}

impl Pin {
    /// The client thread's CPU.
    fn client_cpu(self) -> Option<usize> {
        (self != Self::None).then_some(0)
    }

    /// The server threads' CPU.
    fn server_cpu(self) -> Option<usize> {
        match self {
            Self::None => None,
            Self::Same => Some(0),
            Self::Split => Some(1),
        }
    }
}

/// What to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Workload {
    /// Bulk throughput from client to server, one connection.
    Bulk,
    /// Bulk throughput from server to client, one connection.
    Download,
    /// Request/response rate on one connection.
    Rr,
    /// Request/response rate of 100 connections at once, each on its own
    /// client thread (a server under load): exchanges/s over all.
    #[value(name = "rr100")]
    #[serde(rename = "rr100")]
    Rr100,
    /// Connection rate: connect, one exchange, close.
    Crr,
    /// Concurrent flows (proxy target): `--flows` connections opened, one
    /// exchange each, all held open at once; the rate they opened at, and
    /// berth proxy's memory per flow (on stderr).
    Flows,
}

#[derive(Debug, clap::Args)]
pub(crate) struct BenchArgs {
    /// Targets (default: core and mem, and tun when running as root).
    #[arg(long, value_enum, value_delimiter = ',')]
    target: Vec<Target>,
    /// Stacks to measure (smoltcp only in a berth built with
    /// `--features smoltcp`; skipped otherwise).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "berth,linux,smoltcp"
    )]
    stacks: Vec<StackKind>,
    /// How berth's servers run, each a contender of its own (mem and tun).
    #[arg(long, value_enum, value_delimiter = ',', default_value = "callback")]
    api: Vec<Api>,
    /// Client and server placement: none, same (both on CPU 0), split
    /// (client on 0, server on 1).
    #[arg(long, value_enum, default_value = "none")]
    pin: Pin,
    /// Workloads to run (default: all; with --loss, bulk and download, the
    /// only ones it allows).
    #[arg(long, value_enum, value_delimiter = ',')]
    workloads: Vec<Workload>,
    /// MiB moved by each bulk and download run.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=65536))]
    bulk_mib: u64,
    /// Exchanges in each rr run.
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    rr_rounds: u64,
    /// Bytes each way in an rr exchange.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=65536))]
    rr_size: u64,
    /// `berth proxy`'s upstreams to measure (proxy target).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "direct,socks5"
    )]
    via: Vec<Via>,
    /// Connections held open at once by a flows run (proxy target).
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    flows: u64,
    /// Connections in each crr run.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    crr_conns: u64,
    /// The link MTU (in-memory links, TUN devices, veth).
    #[arg(long, default_value_t = 1500, value_parser = clap::value_parser!(u64).range(576..=65535))]
    mtu: u64,
    /// Runs of each measurement; the median is reported.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=101))]
    runs: u64,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// berth's TUN device and in-memory link without checksum and
    /// segmentation offloads (every packet at the MTU, as smoltcp's); with
    /// --loss, the kernels' veth pair too (gso_max_segs 1), so that every
    /// stack's packets are MTU-sized and the loss hits them alike.
    #[arg(long)]
    no_offload: bool,
    /// Drop each packet with this probability on the kernel client's side,
    /// each way (iptables statistic rules on INPUT and OUTPUT in the
    /// client's namespace; tun target only, every stack alike). With
    /// offloads a TCP segment of up to 64 KiB is one packet to iptables:
    /// see --no-offload. A drop on OUTPUT fails the kernel's send, which it
    /// repeats, rather than losing the packet (docs/PERFORMANCE.md). Bulk
    /// and download then move --loss-mib each, checked byte for byte, timed
    /// to completion.
    #[arg(long, default_value_t = 0.0, value_parser = probability)]
    loss: f64,
    /// MiB moved by each bulk and download run under --loss.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=65536))]
    loss_mib: u64,
    /// Seconds each transfer under --loss may take; a run that misses it
    /// (or stalls 60 s) is reported as failed, and the bench goes on.
    #[arg(long, default_value_t = 180, value_parser = clap::value_parser!(u64).range(1..=3600))]
    loss_timeout: u64,
}

/// Parses a probability, 0 to 1.
fn probability(s: &str) -> Result<f64, String> {
    let p: f64 = s.parse().map_err(|e| format!("{e}"))?;
    if (0.0..=1.0).contains(&p) {
        Ok(p)
    } else {
        Err(format!("{p} is not a probability (0 to 1)"))
    }
}

/// One measured figure.
#[derive(Debug, Serialize)]
struct Figure {
    target: Target,
    stack: StackKind,
    /// berth's servers (mem and tun targets).
    #[serde(skip_serializing_if = "Option::is_none")]
    api: Option<Api>,
    /// berth proxy's upstream (proxy target).
    #[serde(skip_serializing_if = "Option::is_none")]
    via: Option<Via>,
    workload: Workload,
    unit: &'static str,
    /// The median run's figure.
    median: f64,
    /// Every run's figure, in run order (0 for a failed run).
    runs: Vec<f64>,
    /// Every run's wall time, seconds, in run order (null for a failed run).
    run_secs: Vec<Option<f64>>,
    /// The median run's wall time, seconds; null if that run failed.
    median_secs: Option<f64>,
    /// rr over sockets: the median over runs of each run's median
    /// exchange latency, microseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    p50_us: Option<f64>,
    /// rr over sockets: the median over runs of each run's 99th
    /// percentile exchange latency, microseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    p99_us: Option<f64>,
    /// Runs that failed or missed the time limit (only under loss; without
    /// loss a failure ends the bench).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    failures: Vec<Failure>,
    /// Under loss: the median time over the kernel's median time on the
    /// same target and workload (above 1: slower than the kernel).
    #[serde(skip_serializing_if = "Option::is_none")]
    time_vs_linux: Option<f64>,
}

impl Figure {
    /// The stack, and berth's server API where it has one.
    fn contender(&self) -> String {
        let stack = stack_name(self.stack);
        match (self.api, self.via) {
            (Some(api), _) => format!("{stack}/{}", format!("{api:?}").to_lowercase()),
            (None, Some(via)) => format!("{stack}/{}", format!("{via:?}").to_lowercase()),
            (None, None) => stack,
        }
    }
}

/// A run that did not complete.
#[derive(Debug, Clone, Serialize)]
struct Failure {
    /// Which run, from 1.
    run: u64,
    /// Whether it missed the time limit (else: an error, a stall, or
    /// wrong data).
    timed_out: bool,
    error: String,
}

#[derive(Debug, Serialize)]
struct Report {
    /// Bytes each bulk and download run moves.
    bulk_bytes: u64,
    rr_rounds: u64,
    rr_size: u64,
    crr_conns: u64,
    /// Connections each flows run holds open at once (proxy target).
    flows: u64,
    runs: u64,
    mtu: u64,
    /// Client and server placement.
    pin: Pin,
    /// berth's TUN device and in-memory link with offloads (and, under
    /// loss, the kernels' veth pair).
    offload: bool,
    /// The probability of dropping each packet on the kernel client's
    /// side, each way; 0 for none.
    loss: f64,
    /// Under loss, the time limit of each transfer, seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    transfer_timeout_secs: Option<u64>,
    /// Stacks asked for that this build cannot measure (smoltcp without
    /// the `smoltcp` feature): no figures.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    skipped: Vec<Skipped>,
    figures: Vec<Figure>,
}

impl Report {
    /// Under loss, how long a transfer may take.
    fn transfer_limit(&self) -> Option<Duration> {
        self.transfer_timeout_secs.map(Duration::from_secs)
    }
}

pub(crate) fn run(args: &BenchArgs) -> anyhow::Result<ExitCode> {
    let result = measure_all(args);
    if result.is_err() && netns::interrupted() {
        // The signal thread is removing the namespaces (which is likely
        // why this failed) and ends the process with the signal's status.
        loop {
            std::thread::park();
        }
    }
    result
}

fn measure_all(args: &BenchArgs) -> anyhow::Result<ExitCode> {
    let root = super::up::is_root();
    let lossy = args.loss > 0.0;
    let targets = if !args.target.is_empty() {
        args.target.clone()
    } else if lossy {
        vec![Target::Tun]
    } else if root {
        vec![Target::Core, Target::Mem, Target::Tun]
    } else {
        vec![Target::Core, Target::Mem]
    };
    let workloads = if !args.workloads.is_empty() {
        args.workloads.clone()
    } else if lossy {
        vec![Workload::Bulk, Workload::Download]
    } else {
        let mut all = vec![
            Workload::Bulk,
            Workload::Download,
            Workload::Rr,
            Workload::Rr100,
            Workload::Crr,
        ];
        if targets.contains(&Target::Proxy) {
            all.push(Workload::Flows);
        }
        all
    };
    if lossy {
        ensure!(
            targets.iter().all(|&t| t == Target::Tun),
            "--loss is for the tun target only (iptables in the kernel client's namespace)"
        );
        ensure!(
            workloads
                .iter()
                .all(|&w| matches!(w, Workload::Bulk | Workload::Download)),
            "--loss runs bulk and download only (rr and crr have no time limit yet)"
        );
    }
    if targets.contains(&Target::Tun) || targets.contains(&Target::Proxy) {
        if !root {
            bail!("--target tun and proxy need root (a TUN device and network namespaces)");
        }
        netns::remove_stale_namespaces();
        netns::clean_up_on_signal()?;
    }
    let mut report = Report {
        bulk_bytes: if lossy { args.loss_mib } else { args.bulk_mib } << 20,
        rr_rounds: args.rr_rounds,
        rr_size: args.rr_size,
        crr_conns: args.crr_conns,
        flows: if targets.contains(&Target::Proxy) && workloads.contains(&Workload::Flows) {
            proxy::flows_that_fit(args.flows)
        } else {
            args.flows
        },
        runs: args.runs,
        mtu: args.mtu,
        pin: args.pin,
        offload: !args.no_offload,
        loss: args.loss,
        transfer_timeout_secs: lossy.then_some(args.loss_timeout),
        skipped: Vec::new(),
        figures: Vec::new(),
    };
    let mut stacks = Vec::new();
    for &stack in &args.stacks {
        match stack.not_compiled_in() {
            None => stacks.push(stack),
            Some(reason) => {
                eprintln!("berth bench: skipping {}: {reason}", stack_name(stack));
                report.skipped.push(Skipped { stack, reason });
            }
        }
    }
    let link = Link {
        mtu: usize::try_from(args.mtu)?,
        offload: !args.no_offload,
        loss: args.loss,
        server_cpu: args.pin.server_cpu(),
    };
    for &target in &targets {
        let mut setups = Vec::new();
        for &stack in &stacks {
            // berth's server APIs are contenders of their own where it
            // runs servers (the core target has none).
            // berth proxy's upstreams likewise, on the proxy target.
            let variants: Vec<(Option<Api>, Option<Via>)> = match (stack, target) {
                (StackKind::Berth, Target::Mem | Target::Tun) => {
                    args.api.iter().map(|&a| (Some(a), None)).collect()
                }
                (StackKind::Berth, Target::Proxy) => {
                    args.via.iter().map(|&v| (None, Some(v))).collect()
                }
                _ => vec![(None, None)],
            };
            for (api, via) in variants {
                let on = api.unwrap_or(Api::Callback);
                if let Some(setup) = Setup::start(target, stack, on, via, &link)? {
                    setups.push(((stack, api, via), setup));
                }
            }
        }
        for &workload in &workloads {
            // Held concurrent flows are a proxy's measure only.
            if !workload.applies_to(target) {
                continue;
            }
            let mut times: Vec<Vec<Outcome>> = vec![Vec::new(); setups.len()];
            for run in 1..=args.runs {
                for (((stack, api, via), setup), t) in setups.iter().zip(times.iter_mut()) {
                    let what = || format!("{target:?} {stack:?} {api:?} {via:?} {workload:?}");
                    match setup.measure(workload, &report) {
                        Ok(measured) => t.push(Ok(measured)),
                        // Under loss, failing is a result: say so, go on.
                        Err(e) if lossy => {
                            eprintln!("berth bench: {} run {run}: {e:#}", what());
                            t.push(Err(failure(run, &e)));
                        }
                        Err(e) => return Err(e.context(what())),
                    }
                }
            }
            for (((stack, api, via), _), t) in setups.iter().zip(times) {
                let f = figure(target, (*stack, *api, *via), workload, &report, t);
                report.figures.push(f);
            }
        }
        for (_, setup) in setups {
            setup.stop();
        }
    }
    if lossy {
        compare_with_linux(&mut report.figures);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        if lossy {
            print_loss_table(&report);
        } else {
            print_table(&report);
        }
        print_skipped(&report);
    }
    Ok(ExitCode::SUCCESS)
}

/// The stack's name as the CLI and the JSON spell it.
fn stack_name(stack: StackKind) -> String {
    format!("{stack:?}").to_lowercase()
}

/// Prints the stacks skipped, after a table.
fn print_skipped(report: &Report) {
    for s in &report.skipped {
        println!("{} skipped: {}", stack_name(s.stack), s.reason);
    }
}

/// A run's wall time (and rr's latencies), or how it failed.
type Outcome = Result<client::Measured, Failure>;

fn failure(run: u64, e: &anyhow::Error) -> Failure {
    Failure {
        run,
        timed_out: e.downcast_ref::<checked::TimedOut>().is_some(),
        error: format!("{e:#}"),
    }
}

/// Sets each figure's time relative to the kernel's on the same target and
/// workload.
fn compare_with_linux(figures: &mut [Figure]) {
    let linux: Vec<(Target, Workload, Option<f64>)> = figures
        .iter()
        .filter(|f| f.stack == StackKind::Linux)
        .map(|f| (f.target, f.workload, f.median_secs))
        .collect();
    for f in figures {
        f.time_vs_linux = linux
            .iter()
            .find(|(t, w, _)| (*t, *w) == (f.target, f.workload))
            .and_then(|&(.., secs)| Some(f.median_secs? / secs?));
    }
}

/// Turns run times into the workload's figure (higher is better). A
/// failed run counts as 0, slower than any that finished.
fn figure(
    target: Target,
    (stack, api, via): (StackKind, Option<Api>, Option<Via>),
    workload: Workload,
    report: &Report,
    times: Vec<Outcome>,
) -> Figure {
    let bits = report.bulk_bytes as f64 * 8.0;
    let (unit, amount) = match workload {
        // Under loss, rates are far lower.
        Workload::Bulk | Workload::Download if report.loss > 0.0 => ("Mbit/s", bits / 1e6),
        Workload::Bulk | Workload::Download => ("Gbit/s", bits / 1e9),
        Workload::Rr => ("exchanges/s", report.rr_rounds as f64),
        Workload::Rr100 => (
            "exchanges/s",
            (workload::RR_CONNS * rr100_rounds(report)) as f64,
        ),
        Workload::Crr => ("connections/s", report.crr_conns as f64),
        Workload::Flows => ("flows/s", report.flows as f64),
    };
    let rate = |d: Option<Duration>| d.map_or(0.0, |d| amount / d.as_secs_f64().max(1e-9));
    let mut secs = Vec::new();
    let mut failures = Vec::new();
    let (mut p50s, mut p99s) = (Vec::new(), Vec::new());
    for t in times {
        match t {
            Ok((d, latency)) => {
                secs.push(Some(d));
                if let Some(l) = latency {
                    p50s.push(l.p50.as_secs_f64() * 1e6);
                    p99s.push(l.p99.as_secs_f64() * 1e6);
                }
            }
            Err(f) => {
                secs.push(None);
                failures.push(f);
            }
        }
    }
    let middle = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied()
    };
    let runs = secs.iter().copied().map(rate).collect();
    let run_secs = secs.iter().map(|d| d.map(|d| d.as_secs_f64())).collect();
    let median = median(secs);
    Figure {
        target,
        stack,
        api,
        via,
        workload,
        unit,
        median: rate(median),
        runs,
        run_secs,
        median_secs: median.map(|d| d.as_secs_f64()),
        p50_us: middle(p50s),
        p99_us: middle(p99s),
        failures,
        time_vs_linux: None,
    }
}

/// Exchanges each connection of an rr100 run does: rr's count spread over
/// the connections, at least one each.
fn rr100_rounds(report: &Report) -> u64 {
    (report.rr_rounds / workload::RR_CONNS).max(1)
}

/// The median run (the upper one of an even count), failed runs (`None`)
/// counting as the slowest; `None` if that is a failed one.
fn median(mut runs: Vec<Option<Duration>>) -> Option<Duration> {
    runs.sort_by_key(|d| d.map_or((1, Duration::ZERO), |d| (0, d)));
    runs.get(runs.len() / 2).copied().flatten()
}

fn print_table(report: &Report) {
    println!(
        "{:<5} {:<14} {:<8} {:>14} {:<15} {:>9}   runs",
        "where", "stack", "load", "median", "unit", "vs berth"
    );
    for f in &report.figures {
        let berth = report
            .figures
            .iter()
            .find(|b| {
                b.target == f.target && b.workload == f.workload && b.stack == StackKind::Berth
            })
            .map(|b| b.median);
        let ratio = berth.map_or(String::from("-"), |b| format!("{:.2}x", f.median / b));
        let runs: Vec<String> = f.runs.iter().map(|r| format!("{r:.3}")).collect();
        let latency = match (f.p50_us, f.p99_us) {
            (Some(p50), Some(p99)) => format!("   p50 {p50:.1} µs, p99 {p99:.1} µs"),
            _ => String::new(),
        };
        println!(
            "{:<5} {:<14} {:<8} {:>14.3} {:<15} {:>9}   {}{}",
            format!("{:?}", f.target).to_lowercase(),
            f.contender(),
            format!("{:?}", f.workload).to_lowercase(),
            f.median,
            f.unit,
            ratio,
            runs.join(" "),
            latency
        );
    }
}

/// The table for runs under loss: each stack's median time and rate, its
/// time over the kernel's, and every run's time.
fn print_loss_table(report: &Report) {
    println!(
        "loss {} each way on the kernel client's side; {} MiB per transfer; \
         offloads {}; at most {} s per transfer",
        report.loss,
        report.bulk_bytes >> 20,
        if report.offload { "on" } else { "off" },
        report.transfer_timeout_secs.unwrap_or_default()
    );
    println!(
        "{:<5} {:<14} {:<8} {:>9} {:>9} {:>10}   runs (s)",
        "where", "stack", "load", "seconds", "Mbit/s", "vs linux"
    );
    for f in &report.figures {
        let runs: Vec<String> = f
            .run_secs
            .iter()
            .zip(1..)
            .map(
                |(secs, run)| match (secs, f.failures.iter().find(|x| x.run == run)) {
                    (Some(secs), _) => format!("{secs:.1}"),
                    (None, Some(x)) if x.timed_out => "timeout".to_owned(),
                    (None, _) => "failed".to_owned(),
                },
            )
            .collect();
        println!(
            "{:<5} {:<14} {:<8} {:>9} {:>9} {:>10}   {}",
            format!("{:?}", f.target).to_lowercase(),
            f.contender(),
            format!("{:?}", f.workload).to_lowercase(),
            f.median_secs
                .map_or("failed".to_owned(), |s| format!("{s:.2}")),
            format!("{:.1}", f.median),
            f.time_vs_linux
                .map_or("-".to_owned(), |r| format!("{r:.2}x")),
            runs.join(" ")
        );
    }
    for f in &report.figures {
        for x in &f.failures {
            println!(
                "{:?} {:?} {:?} run {}: {}",
                f.target, f.stack, f.workload, x.run, x.error
            );
        }
    }
}
