//! Pictures of TCP connections, as self-contained SVG files: the
//! time-sequence graph of each direction that carries data or retransmits
//! (tcptrace's and Wireshark's "Stevens" graph, see `timeseq`), and for
//! `berth sim` the sender's congestion state over time (`state`).
//!
//! Segments come from captures (`capture`, `decode`: `berth plot`) or from
//! the frames a simulation sends (`recorder`: `berth sim --plot`); both go
//! through the same model (`trace`). Files, per connection `N` (numbered
//! from 1 in order of first packet) and client port `P`:
//!
//! - `conn-N-P-up.svg`: the client's data (client → server);
//! - `conn-N-P-down.svg`: the server's data (server → client);
//! - `conn-N-P-up-state.svg`, `conn-N-P-down-state.svg` (`berth sim` only):
//!   cwnd, ssthresh, bytes in flight, srtt and RTO of that data's sender.
//!
//! Big runs stay small: bars in the same pixel column merge (`decimate`).

mod axis;
pub(crate) mod capture;
mod decimate;
pub(crate) mod decode;
mod draw;
mod recorder;
pub(crate) mod state;
mod svg;
mod timeseq;
pub(crate) mod trace;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;

pub(crate) use recorder::Recorder;
use state::Series;
use trace::Tracker;

/// The most connections drawn from one capture or run.
pub(crate) const MAX_CONNS: usize = 100;

/// Writes the pictures of every connection in `tracker` into `dir`
/// (created if missing), with the state series of their senders where
/// `states` has them (keyed by sender, receiver). Returns the files written.
pub(crate) fn write_all(
    dir: &Path,
    tracker: &Tracker,
    states: &HashMap<(SocketAddr, SocketAddr), Series>,
) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut written = Vec::new();
    for conn in &tracker.conns {
        // Both pictures of a connection share one time axis: to its last
        // packet or its senders' last sample, whichever is later.
        let t_end = conn
            .dirs
            .iter()
            .filter_map(|dir| states.get(&(dir.from, dir.to)))
            .filter_map(|s| s.samples.last())
            .map(|s| s.t)
            .fold(conn.last_t, u64::max);
        for d in 0..2 {
            let data = &conn.dirs[d];
            if !data.is_drawn() {
                continue;
            }
            let stem = format!(
                "conn-{}-{}-{}",
                conn.number,
                conn.client().port(),
                timeseq::dir_name(d)
            );
            let path = dir.join(format!("{stem}.svg"));
            write(&path, &timeseq::render(conn, d, t_end))?;
            written.push(path);
            if let Some(series) = states.get(&(data.from, data.to))
                && !series.samples.is_empty()
            {
                let path = dir.join(format!("{stem}-state.svg"));
                write(&path, &state::render(conn, d, series, t_end))?;
                written.push(path);
            }
        }
    }
    Ok(written)
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use berth_core::wire::TcpFlags;

    use super::capture::Reader;
    use super::decode::{Decoded, decode, tests::ipv4_tcp};
    use super::*;

    const C: (Ipv4Addr, u16) = (Ipv4Addr::new(192, 0, 2, 1), 40000);
    const S: (Ipv4Addr, u16) = (Ipv4Addr::new(192, 0, 2, 2), 80);
    const ACK: TcpFlags = TcpFlags::ACK;

    /// A big-endian, nanosecond pcap of Ethernet frames, as some systems
    /// write them: (milliseconds, IP packet).
    fn capture(packets: &[(u64, Vec<u8>)]) -> Vec<u8> {
        let mut f = Vec::new();
        f.extend(0xa1b2_3c4du32.to_be_bytes());
        f.extend(2u16.to_be_bytes());
        f.extend(4u16.to_be_bytes());
        f.extend([0; 8]);
        f.extend(65535u32.to_be_bytes());
        f.extend(1u32.to_be_bytes());
        for (ms, ip) in packets {
            let mut frame = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
            frame.extend(ip);
            f.extend(((ms / 1000) as u32).to_be_bytes());
            f.extend((((ms % 1000) * 1_000_000) as u32).to_be_bytes());
            f.extend((frame.len() as u32).to_be_bytes());
            f.extend((frame.len() as u32).to_be_bytes());
            f.extend(frame);
        }
        f
    }

    /// The y extent of a data bar (`M x top V bottom ...`).
    fn bar_extent(d: &str) -> (String, String) {
        let top = d
            .split(['M', 'V'])
            .nth(1)
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap();
        let bottom = d.split('V').nth(1).unwrap().split('M').next().unwrap();
        (top.to_string(), bottom.to_string())
    }

    #[test]
    fn a_tiny_capture_draws_what_happened() {
        let packets = vec![
            (0, ipv4_tcp(C, S, 1000, None, TcpFlags::SYN, 65535, &[], 0)),
            (
                50,
                ipv4_tcp(S, C, 9000, Some(1001), TcpFlags::SYN | ACK, 65535, &[], 0),
            ),
            (100, ipv4_tcp(C, S, 1001, Some(9001), ACK, 512, &[], 0)),
            (100, ipv4_tcp(C, S, 1001, Some(9001), ACK, 512, &[], 100)),
            (200, ipv4_tcp(C, S, 1101, Some(9001), ACK, 512, &[], 100)),
            (300, ipv4_tcp(C, S, 1201, Some(9001), ACK, 512, &[], 100)),
            // The second segment was lost: a SACK for the third, then the
            // retransmission, then the cumulative ACK of all three.
            (
                350,
                ipv4_tcp(S, C, 9001, Some(1101), ACK, 100, &[(1201, 1301)], 0),
            ),
            (400, ipv4_tcp(C, S, 1101, Some(9001), ACK, 512, &[], 100)),
            (450, ipv4_tcp(S, C, 9001, Some(1301), ACK, 100, &[], 0)),
            (
                500,
                ipv4_tcp(C, S, 1301, Some(9001), TcpFlags::FIN | ACK, 512, &[], 0),
            ),
            // A packet of junk in the middle is counted, not fatal.
            (500, vec![0x45, 0, 0, 99]),
        ];
        let file = capture(&packets);
        let mut reader = Reader::new(&file[..]).unwrap();
        let mut tracker = Tracker::new(MAX_CONNS);
        let mut malformed = 0;
        while let Some(rec) = reader.next_record().unwrap() {
            match decode(rec.link, &rec.data, rec.orig_len) {
                Decoded::Tcp(seg) => tracker.add(rec.t_us, &seg),
                Decoded::Malformed => malformed += 1,
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(malformed, 1);
        assert_eq!(tracker.conns.len(), 1);
        let conn = &tracker.conns[0];
        assert_eq!(conn.first_t, 0);
        assert_eq!(conn.last_t, 500_000);
        assert!(!conn.dirs[1].has_data(), "the server sent no data");

        let svg = timeseq::render(conn, 0, 0);
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let of_class = |class: &str| -> Vec<roxmltree::Node<'_, '_>> {
            doc.descendants()
                .filter(|n| n.attribute("class") == Some(class))
                .collect()
        };
        let segs = of_class("seg");
        let rexmits = of_class("seg retransmit");
        assert_eq!(segs.len(), 3, "three new data segments, apart in time");
        assert_eq!(rexmits.len(), 1);
        // The retransmission covers the bytes of the second segment.
        let extent = |n: &roxmltree::Node<'_, '_>| bar_extent(n.attribute("d").unwrap());
        assert_eq!(extent(&rexmits[0]), extent(&segs[1]));
        assert_eq!(of_class("sack").len(), 1);
        assert_eq!(of_class("syn").len(), 1);
        assert_eq!(of_class("fin").len(), 1);
        assert_eq!(of_class("ack").len(), 1);
        assert_eq!(of_class("rwin").len(), 1);
        let title = doc
            .descendants()
            .find(|n| n.has_tag_name("title"))
            .and_then(|n| n.text())
            .unwrap();
        assert_eq!(
            title,
            "conn 1: 192.0.2.1:40000 \u{2192} 192.0.2.2:80 (up: client data)"
        );
        // Window 100 << 7 after the handshake: 12 800 bytes above the ACK.
        let last_win = conn.dirs[1].acks.last().unwrap();
        assert_eq!(last_win.window, 12_800);

        let dir = std::env::temp_dir().join(format!("berth-plot-unit-{}", std::process::id()));
        let files = write_all(&dir, &tracker, &HashMap::new()).unwrap();
        let names: Vec<_> = files
            .iter()
            .map(|p| p.file_name().unwrap().to_str().unwrap())
            .collect();
        assert_eq!(names, ["conn-1-40000-up.svg"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
