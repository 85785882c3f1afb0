//! `berth ss`: the socket table of a running `berth up`, shaped like
//! `ss -tuna -i`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

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
}

pub(crate) fn run(args: &SsArgs) -> anyhow::Result<ExitCode> {
    let path = args
        .control
        .clone()
        .unwrap_or_else(|| default_path("berth"));
    let snap: Snapshot = fetch(&path)?;
    let all_protos = !args.tcp && !args.udp;
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
                "\t rtt:{rtt} rto:{:.0} cwnd:{} ssthresh:{} retrans:{} bytes_sent:{} bytes_acked:{} bytes_received:{}",
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
                t.bytes_received
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
