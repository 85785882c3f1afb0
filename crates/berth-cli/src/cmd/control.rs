//! The control socket between `berth up` (or any program that calls
//! `NetStack::serve_control`) and `berth ss`: the protocol and the server
//! are the library's (`berth::control`); this is where the CLI puts it.

use std::path::{Path, PathBuf};

use anyhow::Context;
pub(crate) use berth::control::Snapshot;

/// Where `berth up` listens by default for a namespace.
pub(crate) fn default_path(netns: &str) -> PathBuf {
    PathBuf::from(format!("/run/berth/{netns}.sock"))
}

/// Serves the control socket of `stack` at `path` (its directory made if
/// need be) until the returned guard is dropped.
pub(crate) fn serve(
    path: &Path,
    stack: &berth::NetStack,
) -> anyhow::Result<berth::control::ControlServer> {
    serve_with(path, stack, |_| {})
}

/// [`serve`], with `extend` adding the program's own rows (a proxy's
/// relays) to each snapshot.
pub(crate) fn serve_with(
    path: &Path,
    stack: &berth::NetStack,
    extend: impl Fn(&mut Snapshot) + Send + 'static,
) -> anyhow::Result<berth::control::ControlServer> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    stack
        .serve_control_with(path, extend)
        .with_context(|| format!("serving the control socket {}", path.display()))
}

/// Fetches a snapshot from a running `berth up`.
pub(crate) fn fetch(path: &Path) -> anyhow::Result<Snapshot> {
    berth::control::fetch(path).with_context(|| {
        format!(
            "no berth up answers on {} (is it running? see --control)",
            path.display()
        )
    })
}
