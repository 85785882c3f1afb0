//! What the root tests of `berth up` and `berth proxy` share: whether they
//! can run here, and the rule that under `CI=true` they must; and (in
//! `proxy`) the namespaces, servers and clean-up of `berth proxy`'s tests.
#![allow(dead_code)]

pub(crate) mod proxy;

use std::process::Command;

/// Whether this process runs as root (from /proc).
pub(crate) fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

/// Why the test cannot run here: not root, no TUN, or one of `tools` missing.
fn missing(tools: &[&str]) -> Option<String> {
    if !is_root() {
        return Some("not root".into());
    }
    if !std::path::Path::new("/dev/net/tun").exists() {
        return Some("/dev/net/tun is missing".into());
    }
    tools.iter().find_map(|tool| {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success());
        (!found).then(|| format!("`{tool}` is not installed"))
    })
}

/// Whether to run `test`: when it can; under `CI=true` it must (a missing
/// prerequisite fails the test); elsewhere it skips with the reason printed.
pub(crate) fn precondition(test: &str, tools: &[&str]) -> bool {
    require(test, missing(tools))
}

/// The same rule for any reason `why` the test cannot run (`None`: it can).
pub(crate) fn require(test: &str, why: Option<String>) -> bool {
    match why {
        None => true,
        Some(why) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("CI=true but {test} cannot run: {why}")
        }
        Some(why) => {
            eprintln!("skipping {test}: {why}");
            false
        }
    }
}
