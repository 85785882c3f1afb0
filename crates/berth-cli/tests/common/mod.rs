//! What `berth proxy`'s root tests share: the namespaces, servers and
//! clean-up (`proxy`). Whether a root test runs here is
//! `berth_device::testing`'s rule, re-exported; and `berth ss --json`.
#![allow(dead_code, unused_imports)]

pub(crate) mod proxy;

pub(crate) use berth_device::testing::{is_root, precondition, require};

use std::path::Path;
use std::process::Command;

/// `berth ss --json` with `flags`, asking the `berth` at the control socket
/// `control`, which must answer: one JSON object per line.
pub(crate) fn ss_rows(control: &Path, flags: &[&str]) -> Vec<serde_json::Value> {
    let ss = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["ss", "--json"])
        .args(flags)
        .arg("--control")
        .arg(control)
        .output()
        .unwrap();
    assert!(
        ss.status.success(),
        "berth ss {flags:?}: {}",
        String::from_utf8_lossy(&ss.stderr)
    );
    String::from_utf8_lossy(&ss.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}
