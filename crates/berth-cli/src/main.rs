//! `berth`: the command-line face of the berth userspace TCP/IP stack.
//!
//! Subcommands: `up` (a userspace host on a TUN device), `ss` (its socket
//! table), `sim` (a deterministic two-stack simulation, no root needed),
//! `proxy` (relay a namespace's TCP and UDP through the host's sockets),
//! `bench` (berth side by side with the kernel and smoltcp), `plot`
//! (time-sequence graphs of the TCP connections in a capture).
//! Exit codes: 0 success, 1 the run failed (a simulation's verdict, a
//! runtime error), 2 bad usage.
#![forbid(unsafe_code)]

mod cmd;
mod plot;
mod services;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// berth — a TCP/IP stack in user space.
#[derive(Debug, Parser)]
#[command(name = "berth", version, about, long_about = None, after_help = EXAMPLES)]
struct Cli {
    /// More logging (-v: debug, -vv: trace); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

const EXAMPLES: &str = "Examples:
  berth sim                                 two stacks in memory, 1 MiB each way
  berth sim --loss 0.02 --delay 20 --seed 7 --json
  berth sim --loss 0.02 --bytes 200000 --plot plots   SVG graphs of each connection
  berth plot capture.pcap --out plots       the same graphs from any pcap/pcapng
  sudo berth up                             a host at 198.18.0.2 in netns 'berth'
  sudo ip netns exec berth curl http://198.18.0.2/
  sudo berth ss
  berth bench --target mem --runs 3        berth vs Linux in memory
  sudo berth bench --target tun --loss 0.05 --runs 3   the same over TUN, 5% loss
  sudo berth proxy --netns cage --route 198.19.0.0/16
  sudo ip netns exec cage curl http://198.19.1.1:8080/";

#[derive(Debug, Subcommand)]
enum Command {
    /// Bring up a userspace host on a TUN device in its own network
    /// namespace (root): ping, echo, discard, chargen, daytime and HTTP.
    Up(cmd::up::UpArgs),
    /// Show the sockets of a running `berth up`, like `ss -tuna -i`, or
    /// its counters (`--stats`), like `nstat`.
    Ss(cmd::ss::SsArgs),
    /// A deterministic simulation: two stacks on an in-memory link with
    /// faults and virtual time; transfers, verifies every byte, reports.
    Sim(cmd::sim::SimArgs),
    /// Relay the TCP and UDP of a network namespace through this host's own
    /// sockets (root): the namespace routes `--route` prefixes into a TUN
    /// device, berth terminates each flow and reopens it from here.
    Proxy(cmd::proxy::ProxyArgs),
    /// Throughput, request/response and connection rates of berth, side by
    /// side with the Linux kernel and smoltcp (in a build with the
    /// `smoltcp` feature), in memory and (root) over TUN with the kernel as
    /// the client, there also under random loss.
    Bench(cmd::bench::BenchArgs),
    /// Time-sequence graphs (SVG, tcptrace style) of the TCP connections in
    /// a pcap or pcapng capture: segments, retransmissions, ACKs, window,
    /// SACK blocks.
    Plot(cmd::plot::PlotArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let result = match cli.command {
        Command::Up(args) => cmd::up::run(&args),
        Command::Ss(args) => cmd::ss::run(&args),
        Command::Sim(args) => cmd::sim::run(&args),
        Command::Proxy(args) => cmd::proxy::run(&args),
        Command::Bench(args) => cmd::bench::run(&args),
        Command::Plot(args) => cmd::plot::run(&args),
    };
    match result {
        Ok(code) => code,
        // `berth ss | head`: the reader went away; that is not our failure.
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("berth: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
