//! `berth ss`: the socket table of a running `berth up`, shaped like
//! `ss -tuna -i`; with `--stats`, its counters, shaped like `nstat`; with
//! `--relays`, the flows a `berth proxy` relays.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use berth_core::stats::StackStats;
use clap::Args;

use super::control::{Snapshot, default_path, fetch};

/// `berth ss` options.
#[derive(Debug, Args)]
pub(crate) struct SsArgs {
    /// The control socket of the `berth up` to ask (default: the one of
    /// netns `berth`).
    #[arg(long)]
    control: Option<PathBuf>,
    /// One JSON object per socket, one per line.
    #[arg(long)]
    json: bool,
    /// Listening sockets only.
    #[arg(short = 'l', long)]
    listening: bool,
    /// TCP sockets.
    #[arg(short = 't', long)]
    tcp: bool,
    /// UDP sockets.
    #[arg(short = 'u', long)]
    udp: bool,
    /// The stack's counters (every `StackStats` counter) instead of its
    /// sockets, like `nstat`: the non-zero ones, or all with `--all`;
    /// with `--json`, one JSON object of them.
    #[arg(short = 's', long)]
    stats: bool,
    /// With `--stats`: counters that are zero too.
    #[arg(short = 'a', long, requires = "stats")]
    all: bool,
    /// The flows a `berth proxy` relays (each with its upstream and the
    /// bytes it carried each way) instead of the sockets.
    #[arg(short = 'r', long, conflicts_with = "stats")]
    relays: bool,
}

pub(crate) fn run(args: &SsArgs) -> anyhow::Result<ExitCode> {
    let path = args
        .control
        .clone()
        .unwrap_or_else(|| default_path("berth"));
    let snap: Snapshot = fetch(&path)?;
    if args.stats {
        if snap.stats.is_empty() {
            eprintln!(
                "berth ss: {} sends no counters (a berth from before they were served)",
                path.display()
            );
        }
        let mut out = std::io::stdout().lock();
        if args.json {
            writeln!(out, "{}", stats_json(&snap.stats, args.all)?)?;
        } else {
            write!(out, "{}", stats_table(&snap.stats, args.all))?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let all_protos = !args.tcp && !args.udp;
    if args.relays {
        let rows = snap.relays.iter().filter(|r| {
            all_protos || (args.tcp && r.proto == "tcp") || (args.udp && r.proto == "udp")
        });
        let mut out = std::io::stdout().lock();
        if args.json {
            for r in rows {
                writeln!(out, "{}", serde_json::to_string(r)?)?;
            }
            return Ok(ExitCode::SUCCESS);
        }
        writeln!(
            out,
            "{:<5} {:<40} {:<40} {:<30} {:<24} {:>12} {:>12} {:>6} {:>6}",
            "Netid",
            "Client",
            "Destination",
            "Target",
            "Upstream",
            "Bytes-Up",
            "Bytes-Down",
            "Age",
            "Idle"
        )?;
        for r in rows {
            writeln!(
                out,
                "{:<5} {:<40} {:<40} {:<30} {:<24} {:>12} {:>12} {:>6} {:>6}",
                r.proto,
                r.client,
                r.destination,
                r.target,
                r.upstream,
                r.bytes_up,
                r.bytes_down,
                r.age_secs,
                r.idle_secs
            )?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let rows = snap.sockets.into_iter().filter(|r| {
        (all_protos || (args.tcp && r.proto == "tcp") || (args.udp && r.proto == "udp"))
            && (!args.listening || r.state == "LISTEN" || r.state == "UNCONN")
    });
    let mut out = std::io::stdout().lock();
    if args.json {
        for r in rows {
            writeln!(out, "{}", serde_json::to_string(&r)?)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(
        out,
        "{:<5} {:<12} {:>6} {:>6} {:<40} {:<40}",
        "Netid", "State", "Recv-Q", "Send-Q", "Local Address:Port", "Peer Address:Port"
    )?;
    for r in rows {
        writeln!(
            out,
            "{:<5} {:<12} {:>6} {:>6} {:<40} {:<40}",
            r.proto, r.state, r.recv_q, r.send_q, r.local, r.peer
        )?;
        if let Some(t) = r.tcp {
            let rtt = t.rtt_ms.map_or("-".to_string(), |v| format!("{v:.3}"));
            writeln!(
                out,
                "\t rtt:{rtt} rto:{:.0} cwnd:{} ssthresh:{} retrans:{} bytes_sent:{} bytes_acked:{} bytes_received:{} recv_drops:{}",
                t.rto_ms,
                t.cwnd,
                if t.ssthresh >= u32::MAX as usize {
                    "inf".to_string()
                } else {
                    t.ssthresh.to_string()
                },
                t.retransmits,
                t.bytes_sent,
                t.bytes_acked,
                t.bytes_received,
                t.recv_drops
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The counters to show, in `StackStats`' order (related counters
/// together); names this build does not know (a newer server's) follow,
/// alphabetically. Zeros only with `all`.
fn shown_counters(stats: &BTreeMap<String, u64>, all: bool) -> Vec<(&str, u64)> {
    let known = StackStats::default().counters().map(|(name, _)| name);
    let known_first = known
        .iter()
        .filter_map(|&name| stats.get_key_value(name))
        .chain(
            stats
                .iter()
                .filter(|(name, _)| !known.contains(&name.as_str())),
        );
    known_first
        .filter(|&(_, &value)| all || value != 0)
        .map(|(name, &value)| (name.as_str(), value))
        .collect()
}

/// The `nstat`-like table: one counter a line, its name then its value.
fn stats_table(stats: &BTreeMap<String, u64>, all: bool) -> String {
    let rows = shown_counters(stats, all);
    let width = rows.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (name, value) in rows {
        out += &format!("{name:<width$}  {value:>12}\n");
    }
    out
}

/// The counters shown as one JSON object, name to value.
fn stats_json(stats: &BTreeMap<String, u64>, all: bool) -> serde_json::Result<String> {
    let shown: BTreeMap<&str, u64> = shown_counters(stats, all).into_iter().collect();
    serde_json::to_string(&shown)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> BTreeMap<String, u64> {
        let stats = StackStats {
            frames_in: 12,
            syncookies_sent: 3,
            ..StackStats::default()
        };
        let mut map: BTreeMap<String, u64> = stats
            .counters()
            .iter()
            .map(|&(name, value)| (name.to_string(), value))
            .collect();
        // A counter from a newer server.
        map.insert("a_future_counter".into(), 5);
        map
    }

    #[test]
    fn table_shows_non_zero_counters_in_declaration_order() {
        let table = stats_table(&sample(), false);
        assert_eq!(
            table,
            "frames_in                   12\n\
             syncookies_sent              3\n\
             a_future_counter             5\n"
        );
    }

    #[test]
    fn table_with_all_shows_every_counter() {
        let table = stats_table(&sample(), true);
        assert_eq!(table.lines().count(), StackStats::COUNT + 1);
        assert!(
            table
                .lines()
                .any(|l| l.starts_with("frames_out ") && l.ends_with(" 0"))
        );
    }

    #[test]
    fn json_is_one_object_of_the_shown_counters() {
        let json = stats_json(&sample(), false).unwrap();
        assert_eq!(
            json,
            r#"{"a_future_counter":5,"frames_in":12,"syncookies_sent":3}"#
        );
        let all: BTreeMap<String, u64> =
            serde_json::from_str(&stats_json(&sample(), true).unwrap()).unwrap();
        assert_eq!(all, sample());
    }

    #[test]
    fn nothing_counted_is_an_empty_table() {
        assert_eq!(stats_table(&BTreeMap::new(), false), "");
        assert_eq!(stats_json(&BTreeMap::new(), false).unwrap(), "{}");
    }
}
