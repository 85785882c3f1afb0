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

mod core;
mod setup;
pub(crate) mod smoltcp;
mod workload;

use std::process::ExitCode;
use std::time::Duration;

use anyhow::bail;
use clap::ValueEnum;
use serde::Serialize;

use setup::Setup;

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
}

/// Whose TCP/IP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum StackKind {
    Berth,
    Linux,
    Smoltcp,
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
    /// Connection rate: connect, one exchange, close.
    Crr,
}

#[derive(Debug, clap::Args)]
pub(crate) struct BenchArgs {
    /// Targets (default: core and mem, and tun when running as root).
    #[arg(long, value_enum, value_delimiter = ',')]
    target: Vec<Target>,
    /// Stacks to measure.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "berth,linux,smoltcp"
    )]
    stacks: Vec<StackKind>,
    /// Workloads to run.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "bulk,download,rr,crr"
    )]
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
    /// segmentation offloads (every packet at the MTU, as smoltcp's).
    #[arg(long)]
    no_offload: bool,
}

/// One measured figure.
#[derive(Debug, Serialize)]
struct Figure {
    target: Target,
    stack: StackKind,
    workload: Workload,
    unit: &'static str,
    /// The median run's figure.
    median: f64,
    /// Every run's figure, in run order.
    runs: Vec<f64>,
    /// The median run's wall time, seconds.
    median_secs: f64,
}

#[derive(Debug, Serialize)]
struct Report {
    bulk_bytes: u64,
    rr_rounds: u64,
    rr_size: u64,
    crr_conns: u64,
    runs: u64,
    mtu: u64,
    figures: Vec<Figure>,
}

pub(crate) fn run(args: &BenchArgs) -> anyhow::Result<ExitCode> {
    let root = super::up::is_root();
    let targets = if args.target.is_empty() {
        if root {
            vec![Target::Core, Target::Mem, Target::Tun]
        } else {
            vec![Target::Core, Target::Mem]
        }
    } else {
        args.target.clone()
    };
    if targets.contains(&Target::Tun) {
        if !root {
            bail!("--target tun needs root (a TUN device and network namespaces)");
        }
        setup::remove_stale_namespaces();
        setup::clean_up_on_signal()?;
    }
    let mut report = Report {
        bulk_bytes: args.bulk_mib << 20,
        rr_rounds: args.rr_rounds,
        rr_size: args.rr_size,
        crr_conns: args.crr_conns,
        runs: args.runs,
        mtu: args.mtu,
        figures: Vec::new(),
    };
    for &target in &targets {
        let mut setups = Vec::new();
        for &stack in &args.stacks {
            let mtu = usize::try_from(args.mtu)?;
            if let Some(setup) = Setup::start(target, stack, mtu, !args.no_offload)? {
                setups.push((stack, setup));
            }
        }
        for &workload in &args.workloads {
            let mut times: Vec<Vec<Duration>> = vec![Vec::new(); setups.len()];
            for _ in 0..args.runs {
                for ((stack, setup), t) in setups.iter().zip(times.iter_mut()) {
                    let took = setup
                        .measure(workload, &report)
                        .map_err(|e| e.context(format!("{target:?} {stack:?} {workload:?}")))?;
                    t.push(took);
                }
            }
            for ((stack, _), t) in setups.iter().zip(times) {
                report
                    .figures
                    .push(figure(target, *stack, workload, &report, t)?);
            }
        }
        for (_, setup) in setups {
            setup.stop();
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_table(&report);
    }
    Ok(ExitCode::SUCCESS)
}

/// Turns run times into the workload's figure (higher is better).
fn figure(
    target: Target,
    stack: StackKind,
    workload: Workload,
    report: &Report,
    times: Vec<Duration>,
) -> anyhow::Result<Figure> {
    let (unit, amount) = match workload {
        Workload::Bulk | Workload::Download => ("Gbit/s", report.bulk_bytes as f64 * 8.0 / 1e9),
        Workload::Rr => ("exchanges/s", report.rr_rounds as f64),
        Workload::Crr => ("connections/s", report.crr_conns as f64),
    };
    let rate = |d: &Duration| amount / d.as_secs_f64().max(1e-9);
    let runs = times.iter().map(rate).collect();
    let median = workload::median(times)?;
    Ok(Figure {
        target,
        stack,
        workload,
        unit,
        median: rate(&median),
        runs,
        median_secs: median.as_secs_f64(),
    })
}

fn print_table(report: &Report) {
    println!(
        "{:<5} {:<8} {:<8} {:>14} {:<15} {:>9}   runs",
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
        println!(
            "{:<5} {:<8} {:<8} {:>14.3} {:<15} {:>9}   {}",
            format!("{:?}", f.target).to_lowercase(),
            format!("{:?}", f.stack).to_lowercase(),
            format!("{:?}", f.workload).to_lowercase(),
            f.median,
            f.unit,
            ratio,
            runs.join(" ")
        );
    }
}
