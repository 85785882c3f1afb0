//! `berth plot`: time-sequence graphs of the TCP connections in a capture
//! (berth's own `--pcap` files, tcpdump's, Wireshark's pcapng), one SVG per
//! connection and direction that carries data.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;

use crate::plot::capture::Reader;
use crate::plot::decode::{Decoded, decode};
use crate::plot::trace::Tracker;
use crate::plot::{self, MAX_CONNS};

/// `berth plot` options.
#[derive(Debug, Args)]
#[command(
    after_help = "Files written, per connection N (numbered from 1 in order of its first \
packet) and client port P:
  conn-N-P-up.svg      the client's data (client -> server)
  conn-N-P-down.svg    the server's data (server -> client)
Each is a time-sequence graph: data segments as vertical bars (retransmissions red,
class \"retransmit\"), the receiver's cumulative ACK (green), ACK + window (yellow),
SACK blocks (purple), SYN/FIN/RST diamonds. A retransmission is a segment that
starts below the highest sequence number already sent in its direction."
)]
pub(crate) struct PlotArgs {
    /// The capture: classic pcap or pcapng; link types Ethernet, raw IP,
    /// Linux cooked (SLL, SLL2), loopback.
    capture: PathBuf,
    /// Where to write the SVG files (default: the capture's name with
    /// `-plots`, beside it).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Draw at most this many connections (the first ones seen).
    #[arg(long, default_value_t = MAX_CONNS)]
    max_conns: usize,
}

/// What reading a capture found.
#[derive(Debug, Default)]
struct Tally {
    records: u64,
    tcp: u64,
    other: u64,
    malformed: u64,
    unsupported: HashMap<u32, u64>,
}

fn default_out(capture: &Path) -> PathBuf {
    let stem = capture
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "capture".into());
    capture.with_file_name(format!("{stem}-plots"))
}

pub(crate) fn run(args: &PlotArgs) -> anyhow::Result<ExitCode> {
    let file =
        File::open(&args.capture).with_context(|| format!("opening {}", args.capture.display()))?;
    let mut reader = Reader::new(BufReader::new(file))
        .with_context(|| format!("reading {}", args.capture.display()))?;
    let mut tracker = Tracker::new(args.max_conns);
    let mut tally = Tally::default();
    while let Some(rec) = reader.next_record()? {
        tally.records += 1;
        match decode(rec.link, &rec.data, rec.orig_len) {
            Decoded::Tcp(seg) => {
                tally.tcp += 1;
                tracker.add(rec.t_us, &seg);
            }
            Decoded::Other => tally.other += 1,
            Decoded::Malformed => tally.malformed += 1,
            Decoded::UnsupportedLink(l) => *tally.unsupported.entry(l).or_default() += 1,
        }
    }
    if tally.tcp == 0 && !tally.unsupported.is_empty() {
        let mut links: Vec<_> = tally.unsupported.keys().collect();
        links.sort();
        bail!(
            "{}: link type {links:?} is not supported (Ethernet 1, raw IP 101/228/229, \
             Linux cooked 113/276 and loopback 0 are)",
            args.capture.display()
        );
    }
    println!(
        "berth plot: {} packets, {} TCP segments, {} not TCP, {} malformed or cut short (skipped)",
        tally.records, tally.tcp, tally.other, tally.malformed
    );
    if let Some(why) = &reader.damage {
        println!("  the capture is damaged, read up to there: {why}");
    }
    if reader.skipped > 0 {
        println!(
            "  {} records without a timestamp or interface skipped",
            reader.skipped
        );
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| default_out(&args.capture));
    let written = plot::write_all(&out, &tracker, &HashMap::new())?;
    for conn in &tracker.conns {
        println!(
            "  conn {}: {} <-> {}: {} + {} bytes, {} + {} retransmitted segments",
            conn.number,
            conn.client(),
            conn.server(),
            conn.dirs[0].payload_sent(),
            conn.dirs[1].payload_sent(),
            conn.dirs[0].retransmits,
            conn.dirs[1].retransmits
        );
    }
    if tracker.dropped_conns > 0 {
        println!(
            "  {} more connections not drawn (--max-conns {})",
            tracker.dropped_conns, args.max_conns
        );
    }
    println!("  wrote {} files into {}", written.len(), out.display());
    Ok(ExitCode::SUCCESS)
}
