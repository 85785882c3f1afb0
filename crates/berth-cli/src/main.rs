//! `berth`: the command-line face of the berth userspace TCP/IP stack.
//!
//! The subcommands (`up`, `ss`, `sim`, `proxy`, `bench`) arrive with the
//! runtime; until then the tool only describes itself.
#![forbid(unsafe_code)]

use clap::Parser;

/// berth — a TCP/IP stack in user space.
///
/// Planned subcommands: `up` (a userspace host on a TUN device), `ss` (its
/// port table), `sim` (a deterministic two-stack simulation), `proxy`
/// (tun2socks-style relay) and `bench`.
#[derive(Debug, Parser)]
#[command(name = "berth", version, about, long_about)]
struct Cli {}

fn main() {
    let _cli = Cli::parse();
    println!(
        "berth {}: no subcommands yet; see `berth --help`",
        env!("CARGO_PKG_VERSION")
    );
}
