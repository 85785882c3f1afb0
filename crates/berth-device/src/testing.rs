//! Test support for the suites that need root, a TUN device and Linux
//! tools (this crate's `tests/kernel.rs`, `berth`'s `tests/tun.rs`, and
//! `berth-cli`'s `berth up`, proxy, bench, lossy and conformance tests):
//! whether such a test can run here, and the rule for when it cannot.
//!
//! The rule: a test runs when it can. Under `CI=true` it must, so a missing
//! prerequisite fails it (a CI machine that lost its root or its tools must
//! not pass by skipping everything); elsewhere it is skipped with the reason
//! printed (`skipped NAME: REASON`).
//!
//! Behind the `testing` feature, which the test suites turn on through
//! their dev-dependencies.

use std::path::Path;
use std::process::Command;

/// Whether this process runs as root: its effective uid, from /proc (false
/// where there is no /proc).
pub fn is_root() -> bool {
    effective_uid().as_deref() == Some("0")
}

/// The effective uid from `/proc/self/status`.
fn effective_uid() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .map(str::to_owned)
}

/// Why a test that needs root, `/dev/net/tun` and each of `tools` (names
/// or paths, looked up with `command -v`) cannot run here; `None` when it
/// can.
pub fn missing(tools: &[&str]) -> Option<String> {
    if !cfg!(target_os = "linux") {
        return Some("not Linux".into());
    }
    if !is_root() {
        let euid = effective_uid().unwrap_or_else(|| "?".into());
        return Some(format!("not root (euid {euid})"));
    }
    if !Path::new("/dev/net/tun").exists() {
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

/// Whether to run `test`, which needs root, `/dev/net/tun` and `tools`: see
/// the [module documentation](self) for the rule.
pub fn precondition(test: &str, tools: &[&str]) -> bool {
    require(test, missing(tools))
}

/// The same rule for any reason `why` the test cannot run (`None`: it can),
/// for prerequisites [`missing`] does not know (a Python module, say).
///
/// # Panics
///
/// When `why` is `Some` and `CI=true`: the test must run there.
pub fn require(test: &str, why: Option<String>) -> bool {
    match why {
        None => true,
        // A failing test is the point of the rule under CI.
        #[allow(clippy::panic)]
        Some(why) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("CI=true but {test} cannot run: {why}")
        }
        Some(why) => {
            eprintln!("skipped {test}: {why}");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{missing, require};

    #[test]
    fn nothing_missing_runs() {
        assert!(require("a test", None));
    }

    #[test]
    fn a_missing_tool_is_named() {
        let why = missing(&["sh", "berth-no-such-tool"]).unwrap();
        if super::is_root() && std::path::Path::new("/dev/net/tun").exists() {
            assert_eq!(why, "`berth-no-such-tool` is not installed");
        }
    }
}
