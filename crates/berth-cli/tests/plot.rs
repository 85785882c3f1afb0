//! `berth sim --plot` and `berth plot` as a user runs them: the SVG files
//! exist and parse as XML, and the retransmissions they mark are exactly
//! those a separate reading of the run's pcap finds (a few lines below that
//! share no code with berth), and tshark's, where it is installed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use berth_device::testing::require;

fn berth(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(args)
        .output()
        .expect("berth runs")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("berth-plot-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Elements whose class list has `class`, each counted as many times as
/// its `data-n` says (a bar standing for several segments).
fn count_class(svg: &str, class: &str) -> u64 {
    let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("not XML: {e}"));
    doc.descendants()
        .filter(|n| {
            n.attribute("class")
                .is_some_and(|c| c.split(' ').any(|t| t == class))
        })
        .map(|n| {
            n.attribute("data-n")
                .map_or(1, |v| v.parse::<u64>().unwrap())
        })
        .sum()
}

/// The time-sequence graphs (not the state pictures) in `dir`, by name.
fn graphs(dir: &Path) -> HashMap<String, String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_str().unwrap();
            name.ends_with(".svg") && !name.ends_with("-state.svg")
        })
        .map(|p| {
            let name = p.file_name().unwrap().to_str().unwrap().to_string();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

/// Retransmissions in a berth `--pcap` file (classic pcap, little-endian,
/// raw IPv4), by tcptrace's rule: a segment occupying sequence space (data,
/// SYN, FIN) that starts before the highest sequence number already sent
/// in its direction.
fn pcap_retransmissions(path: &Path) -> u64 {
    let f = std::fs::read(path).unwrap();
    let le32 = |b: &[u8], at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
    let be16 = |b: &[u8], at: usize| u16::from_be_bytes(b[at..at + 2].try_into().unwrap());
    let be32 = |b: &[u8], at: usize| u32::from_be_bytes(b[at..at + 4].try_into().unwrap());
    assert_eq!(le32(&f, 0), 0xa1b2_c3d4);
    assert_eq!(le32(&f, 20), 101, "raw IP");
    let mut high: HashMap<(u32, u16, u32, u16), u32> = HashMap::new();
    let mut rexmits = 0;
    let mut at = 24;
    while at < f.len() {
        let caplen = le32(&f, at + 8) as usize;
        let ip = &f[at + 16..at + 16 + caplen];
        at += 16 + caplen;
        assert_eq!(ip[0] >> 4, 4);
        assert_eq!(ip[9], 6, "only TCP in a berth sim");
        let ihl = usize::from(ip[0] & 0xf) * 4;
        let total = usize::from(be16(ip, 2));
        let tcp = &ip[ihl..total];
        let doff = usize::from(tcp[12] >> 4) * 4;
        let flags = tcp[13];
        let space = (total - ihl - doff) as u32 + u32::from(flags & 2 != 0) + u32::from(flags & 1);
        if space == 0 {
            continue;
        }
        let key = (be32(ip, 12), be16(tcp, 0), be32(ip, 16), be16(tcp, 2));
        let seq = be32(tcp, 4);
        let end = seq.wrapping_add(space);
        match high.get_mut(&key) {
            Some(h) => {
                if (seq.wrapping_sub(*h) as i32) < 0 {
                    rexmits += 1;
                }
                if (end.wrapping_sub(*h) as i32) > 0 {
                    *h = end;
                }
            }
            None => {
                high.insert(key, end);
            }
        }
    }
    rexmits
}

fn sim(dir: &Path, extra: &[&str]) -> serde_json::Value {
    let plots = dir.join("sim");
    let pcap = dir.join("run.pcap");
    let mut args = vec![
        "sim",
        "--json",
        "--bytes",
        "200000",
        "--plot",
        plots.to_str().unwrap(),
        "--pcap",
        pcap.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = berth(&args);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_lossy_run_marks_every_retransmission() {
    let dir = scratch("lossy");
    let report = sim(&dir, &["--loss", "0.02", "--seed", "3"]);
    let files = report["plots"].as_array().unwrap();
    let names: Vec<String> = files
        .iter()
        .map(|p| {
            let p = Path::new(p.as_str().unwrap());
            assert!(p.exists(), "{p:?}");
            p.file_name().unwrap().to_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(names.len(), 4, "{names:?}");
    for suffix in ["-up.svg", "-down.svg", "-up-state.svg", "-down-state.svg"] {
        assert!(
            names
                .iter()
                .any(|n| n.starts_with("conn-1-") && n.ends_with(suffix)),
            "{names:?} has no {suffix}"
        );
    }

    let sim_graphs = graphs(&dir.join("sim"));
    let marked: u64 = sim_graphs
        .values()
        .map(|s| count_class(s, "retransmit"))
        .sum();
    let expected = pcap_retransmissions(&dir.join("run.pcap"));
    assert!(expected > 0, "the run lost something");
    assert_eq!(marked, expected, "retransmissions drawn vs in the pcap");
    let stack_count = report["retransmits"].as_u64().unwrap();
    // The report reads the stacks' counters when a connection's data is
    // done, before its FIN exchange: a FIN sent again after that is drawn
    // but not counted.
    assert!(
        marked >= stack_count && stack_count > 0,
        "{marked} drawn, the stacks counted {stack_count}"
    );
    // Every data segment is drawn (some bars stand for several).
    for svg in sim_graphs.values() {
        assert!(count_class(svg, "seg") > 100);
        assert!(count_class(svg, "ack") == 1 && count_class(svg, "sack") > 0);
    }

    // The state pictures: XML, with a cwnd and an srtt line.
    for name in names.iter().filter(|n| n.ends_with("-state.svg")) {
        let svg = std::fs::read_to_string(dir.join("sim").join(name)).unwrap();
        let doc = roxmltree::Document::parse(&svg).unwrap();
        for class in ["cwnd", "flight", "srtt", "rto", "ssthresh"] {
            let path = doc
                .descendants()
                .find(|n| n.attribute("class") == Some(class))
                .unwrap_or_else(|| panic!("{name}: no {class} line"));
            assert!(
                path.attribute("d").is_some_and(|d| d.len() > 10),
                "{name}: empty {class}"
            );
        }
    }

    // berth plot on the same capture finds the same segments.
    let out = berth(&[
        "plot",
        dir.join("run.pcap").to_str().unwrap(),
        "--out",
        dir.join("plot").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(" 0 malformed"), "{stdout}");
    let plot_graphs = graphs(&dir.join("plot"));
    assert_eq!(
        plot_graphs
            .keys()
            .collect::<std::collections::BTreeSet<_>>(),
        sim_graphs.keys().collect()
    );
    for (name, svg) in &plot_graphs {
        for class in ["seg", "retransmit", "sack", "syn", "fin"] {
            assert_eq!(
                count_class(svg, class),
                count_class(&sim_graphs[name], class),
                "{name}: {class}"
            );
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_clean_run_marks_none() {
    let dir = scratch("clean");
    let report = sim(&dir, &["--seed", "4", "--conns", "2"]);
    assert_eq!(report["retransmits"], 0);
    let g = graphs(&dir.join("sim"));
    assert_eq!(g.len(), 4, "two connections, both ways");
    for svg in g.values() {
        assert_eq!(count_class(svg, "retransmit"), 0);
        assert!(count_class(svg, "seg") > 0);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// tshark's analysis (where installed; CI installs it) agrees with the
/// count drawn. In a capture taken at the senders every one of these flags
/// is a resent range.
#[test]
fn tshark_agrees() {
    let found = Command::new("tshark").arg("--version").output().is_ok();
    if !require(
        "tshark_agrees",
        (!found).then(|| "`tshark` is not installed".into()),
    ) {
        return;
    }
    let dir = scratch("tshark");
    sim(&dir, &["--loss", "0.03", "--seed", "11", "--conns", "3"]);
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(dir.join("run.pcap"))
        .args([
            "-Y",
            "tcp.analysis.retransmission || tcp.analysis.fast_retransmission \
             || tcp.analysis.spurious_retransmission || tcp.analysis.out_of_order",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let tshark = String::from_utf8_lossy(&out.stdout).lines().count() as u64;
    let marked: u64 = graphs(&dir.join("sim"))
        .values()
        .map(|s| count_class(s, "retransmit"))
        .sum();
    assert!(tshark > 0);
    assert_eq!(marked, tshark);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn plot_rejects_what_is_not_a_capture() {
    let dir = scratch("bad");
    let bad = dir.join("notes.txt");
    std::fs::write(&bad, "hello, not a capture at all").unwrap();
    let out = berth(&["plot", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a pcap or pcapng"), "{err}");
    let out = berth(&["plot", dir.join("missing.pcap").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(berth(&["plot"]).status.code(), Some(2));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn plot_survives_a_damaged_capture() {
    let dir = scratch("damaged");
    sim(&dir, &["--loss", "0.02", "--seed", "3"]);
    let mut bytes = std::fs::read(dir.join("run.pcap")).unwrap();
    // Scribble over a stretch in the middle (headers of IP and TCP
    // included), and cut the last record short.
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 3000] {
        *b = b.wrapping_mul(31).wrapping_add(7);
    }
    bytes.truncate(bytes.len() - 10);
    let cut = dir.join("cut.pcap");
    std::fs::write(&cut, &bytes).unwrap();
    let out = berth(&[
        "plot",
        cut.to_str().unwrap(),
        "--out",
        dir.join("out").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("damaged"), "{stdout}");
    for svg in graphs(&dir.join("out")).values() {
        roxmltree::Document::parse(svg).unwrap();
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
