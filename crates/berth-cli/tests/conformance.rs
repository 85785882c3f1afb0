//! The crafted-packet conformance suite, `scripts/conformance.py`, against
//! `berth up` over a real TUN device: once with offloads (the default) and
//! once with `--no-offload`. The script sends Scapy-built packets from the
//! kernel side of the link and checks each answer against RFC 9293, 5961,
//! 7323, 2018/2883, 3168, 1122, 1191/8201 and 791/8200, where the Linux
//! kernel passes every check: a third test runs the same checks against the
//! kernel (two namespaces and a veth pair) to keep the checks honest.
//!
//! Each test fails naming every check that failed and why. Needs root,
//! iptables and Debian's python3-scapy: runs for real when `CI=true` (and
//! fails if it cannot), skips with a printed reason elsewhere.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::Duration;

use berth_device::testing::{precondition, require};

/// One suite at a time: they time answers, and share the machine's CPUs.
static SERIAL: Mutex<()> = Mutex::new(());

/// The most a whole run may take (about 25 s is usual).
const RUN_LIMIT: Duration = Duration::from_secs(300);

/// The most checks the suite may lose before the test notices.
const MIN_CHECKS: u64 = 50;

const PYTHON: &str = "/usr/bin/python3";

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/conformance.py")
}

/// Whether the suite can run here (see the module docs).
fn can_run(test: &str) -> bool {
    if !precondition(test, &["ip", "iptables", "ip6tables", "ping", PYTHON]) {
        return false;
    }
    let scapy = Command::new(PYTHON)
        .args(["-c", "import scapy.all"])
        .output()
        .is_ok_and(|o| o.status.success());
    require(
        test,
        (!scapy).then(|| format!("{PYTHON} cannot import scapy (install python3-scapy)")),
    )
}

/// The running `berth up`; killed, and its namespace and control socket
/// removed, on drop.
struct Up {
    child: Child,
    netns: String,
    control: PathBuf,
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = Command::new("ip")
            .args(["netns", "del", &self.netns])
            .output();
        let _ = std::fs::remove_file(&self.control);
    }
}

/// Runs `cmd` to completion, killing it (by its pid) if it outlives
/// [`RUN_LIMIT`].
fn run_bounded(mut cmd: Command) -> Output {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(RUN_LIMIT) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            // The script's own cleanup runs on SIGTERM.
            let _ = Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
            let _ = rx.recv_timeout(Duration::from_secs(10));
            panic!("the conformance suite ran longer than {RUN_LIMIT:?}");
        }
    }
}

/// Reads the script's JSON report and fails, naming each failed check,
/// unless every check ran and passed.
fn assert_all_passed(report: &Path, out: &Output, against: &str) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The PASS/FAIL lines, for whoever reads the test's output.
    eprintln!("conformance against {against}:\n{stdout}");
    let text = std::fs::read_to_string(report).unwrap_or_else(|e| {
        panic!("no report from the suite ({e}); its output:\n{stdout}\n{stderr}")
    });
    let _ = std::fs::remove_file(report);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let checks = v["checks"].as_u64().unwrap();
    let ran = v["ran"].as_u64().unwrap();
    let failed: Vec<String> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["ok"] != true)
        .map(|r| {
            format!(
                "  {} ({}): {}",
                r["name"].as_str().unwrap(),
                r["ref"].as_str().unwrap(),
                r["why"].as_str().unwrap()
            )
        })
        .collect();
    assert!(
        checks >= MIN_CHECKS,
        "only {checks} checks in the suite (expected at least {MIN_CHECKS})"
    );
    assert_eq!(
        ran, checks,
        "{ran} of {checks} checks ran against {against}; the script's errors:\n{stderr}"
    );
    assert!(
        failed.is_empty(),
        "{} of {checks} conformance checks failed against {against}:\n{}",
        failed.len(),
        failed.join("\n")
    );
    assert!(out.status.success(), "the script failed:\n{stderr}");
}

fn berth_up_conforms(offload: bool) {
    let what = if offload {
        "berth up (offloads on)"
    } else {
        "berth up --no-offload"
    };
    if !can_run(&format!("the conformance suite against {what}")) {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let id = std::process::id();
    let tag = if offload { 'o' } else { 'n' };
    let netns = format!("bc{id}{tag}");
    let tun = format!("bc{id}{tag}t");
    let control = std::env::temp_dir().join(format!("berth-conformance-{id}-{tag}.sock"));
    let report = std::env::temp_dir().join(format!("berth-conformance-{id}-{tag}.json"));
    let mut up = Command::new(env!("CARGO_BIN_EXE_berth"));
    up.args(["up", "--netns", &netns, "--tun", &tun, "--seed", "11"])
        .arg("--control")
        .arg(&control)
        .args(["--addr", "198.18.79.2/24", "--peer-addr", "198.18.79.1"])
        .args([
            "--addr6",
            "2001:2:0:79::2/64",
            "--peer-addr6",
            "2001:2:0:79::1",
        ]);
    if !offload {
        up.arg("--no-offload");
    }
    let child = up
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut up = Up {
        child,
        netns: netns.clone(),
        control,
    };
    // The ready line (a blocking read of the child's stdout, not a sleep).
    let mut ready = String::new();
    BufReader::new(up.child.stdout.as_mut().unwrap())
        .read_line(&mut ready)
        .unwrap();
    assert!(ready.starts_with("berth up: 198.18.79.2"), "{ready}");

    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", &netns, PYTHON])
        .arg(script())
        .args(["run", "--iface", &tun, "--target", "198.18.79.2"])
        .args(["--target6", "2001:2:0:79::2", "--label", what])
        .arg("--json")
        .arg(&report);
    let out = run_bounded(cmd);
    assert!(
        up.child.try_wait().unwrap().is_none(),
        "berth up exited during the checks"
    );
    assert_all_passed(&report, &out, what);
}

#[test]
fn berth_up_passes_conformance_checks_with_offloads() {
    berth_up_conforms(true);
}

#[test]
fn berth_up_passes_conformance_checks_without_offloads() {
    berth_up_conforms(false);
}

/// The checks themselves: the Linux kernel passes every one (a check the
/// kernel fails is a wrong check).
#[test]
fn linux_kernel_passes_conformance_checks() {
    if !can_run("the conformance suite against the Linux kernel") {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let report = std::env::temp_dir().join(format!(
        "berth-conformance-{}-linux.json",
        std::process::id()
    ));
    let mut cmd = Command::new(PYTHON);
    cmd.arg(script()).arg("kernel").arg("--json").arg(&report);
    let out = run_bounded(cmd);
    assert_all_passed(&report, &out, "the Linux kernel");
}
