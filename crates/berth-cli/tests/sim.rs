//! `berth sim` as a user runs it: a grid of faults and seeds, determinism
//! (same seed: the same JSON apart from wall time, the same pcap), the same
//! frames as the simulator's API run directly, the exit code of a failed
//! run, and bad flags.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod sim_api;

use std::process::Command;

fn berth(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(args)
        .output()
        .expect("berth runs")
}

fn json(args: &[&str]) -> serde_json::Value {
    let out = berth(args);
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn grid_of_faults_and_seeds() {
    let grids: [&[&str]; 4] = [
        &[],
        &["--loss", "0.02", "--delay", "5"],
        &["--reorder", "0.05", "--duplicate", "0.02", "--jitter", "3"],
        &[
            "--corrupt",
            "0.02",
            "--loss",
            "0.01",
            "--rate",
            "20",
            "--cc",
            "newreno",
        ],
    ];
    for faults in grids {
        for seed in ["1", "2", "3"] {
            let mut args = vec![
                "sim", "--json", "--bytes", "200000", "--conns", "2", "--seed", seed,
            ];
            args.extend_from_slice(faults);
            let out = berth(&args);
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(v["ok"], true, "{args:?}: {v}");
            assert_eq!(out.status.code(), Some(0));
            assert_eq!(v["bytes_delivered"], 800_000);
        }
    }
}

#[test]
fn same_seed_same_run_and_pcap() {
    let dir = std::env::temp_dir().join(format!("berth-sim-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (p1, p2) = (dir.join("1.pcap"), dir.join("2.pcap"));
    let run = |p: &std::path::Path| {
        let mut v = json(&[
            "sim",
            "--json",
            "--seed",
            "42",
            "--loss",
            "0.03",
            "--reorder",
            "0.02",
            "--pcap",
            p.to_str().unwrap(),
        ]);
        v.as_object_mut().unwrap().remove("wall_seconds");
        v
    };
    let (a, b) = (run(&p1), run(&p2));
    assert_eq!(a, b);
    assert_eq!(a["ok"], true);
    let (pa, pb) = (std::fs::read(&p1).unwrap(), std::fs::read(&p2).unwrap());
    assert!(pa.len() > 24, "packets were captured");
    assert_eq!(pa, pb, "identical pcaps");
    let mut c = json(&[
        "sim",
        "--json",
        "--seed",
        "43",
        "--loss",
        "0.03",
        "--reorder",
        "0.02",
    ]);
    c.as_object_mut().unwrap().remove("wall_seconds");
    assert_ne!(a["segments"], serde_json::Value::Null);
    assert_ne!(a, c, "another seed, another run");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `berth sim` is the simulator with an application: the same seed, faults
/// and application, run through `berth_core::sim::Pair` directly (as the
/// core's tests run), put the same frames on the links at the same virtual
/// times, and end at the same time with the same counters.
#[test]
fn berth_sim_and_the_simulator_api_give_the_same_frames() {
    let dir = std::env::temp_dir().join(format!("berth-sim-api-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pcap = dir.join("cli.pcap");
    for (seed, conns, flags) in [
        (42, 1, &["--loss", "0.03", "--reorder", "0.02"][..]),
        (
            7,
            3,
            &["--duplicate", "0.02", "--corrupt", "0.01", "--jitter", "2"],
        ),
    ] {
        let (seed_s, conns_s) = (seed.to_string(), conns.to_string());
        let mut args = vec![
            "sim",
            "--json",
            "--bytes",
            "100000",
            "--seed",
            &seed_s,
            "--conns",
            &conns_s,
            "--pcap",
            pcap.to_str().unwrap(),
        ];
        args.extend_from_slice(flags);
        let cli = json(&args);
        assert_eq!(cli["ok"], true, "{cli}");
        let api = sim_api::run(&sim_api::Scenario {
            seed,
            conns,
            bytes: 100_000,
            faults: sim_api::faults(flags),
        });
        let frames = sim_api::pcap_records(&std::fs::read(&pcap).unwrap());
        assert!(frames.len() > 100, "{} frames", frames.len());
        assert_eq!(frames.len(), api.frames.len(), "seed {seed}: frame count");
        for (i, (cli, api)) in frames.iter().zip(&api.frames).enumerate() {
            assert!(cli == api, "seed {seed}: frame {i} differs");
        }
        assert_eq!(cli["segments"], api.frames.len() as u64);
        assert_eq!(cli["virtual_seconds"], api.virtual_seconds);
        assert_eq!(cli["link_dropped"], api.link_dropped);
        assert_eq!(cli["link_corrupted"], api.link_corrupted);
        assert_eq!(cli["retransmits"], api.retransmits);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_failed_run_exits_one() {
    let out = berth(&["sim", "--json", "--loss", "1"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert!(v["error"].as_str().unwrap().contains("timed out"));
}

#[test]
fn bad_flags_exit_two_with_a_message() {
    for args in [
        &["sim", "--loss", "1.5"][..],
        &["sim", "--delay", "-3"],
        &["sim", "--conns", "0"],
        &["sim", "--cc", "bbr"],
        &["sim", "--bytes", "lots"],
        &["frobnicate"],
    ] {
        let out = berth(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!out.stderr.is_empty(), "{args:?} says why");
    }
    assert_eq!(berth(&["--help"]).status.code(), Some(0));
}
