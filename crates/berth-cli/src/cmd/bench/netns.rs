//! The network namespaces `berth bench` creates, their names, and their
//! removal: by the setups when they stop, on SIGINT/SIGTERM, and the next
//! time a bench starts if a killed one left any.

/// The prefix of every namespace this command creates. The whole name is
/// `berth-bench-PID-X`: runs of several processes (other users' benches,
/// tests) neither collide nor remove each other's namespaces.
const NETNS_PREFIX: &str = "berth-bench-";

/// This process's namespace for `role` (`b`: berth, `s`: smoltcp, `c` and
/// `k`: the kernels' client and server; the proxy target's in `proxy.rs`).
pub(super) fn netns_name(role: char) -> String {
    format!("{NETNS_PREFIX}{}-{role}", std::process::id())
}

/// This process's TUN device for `role`; it exists in the root namespace
/// for a moment before it moves into its own (at most 10 bytes, under
/// IFNAMSIZ).
pub(super) fn device_name(role: char) -> String {
    format!("bb{}{role}", std::process::id())
}

/// The process that created the namespace `name`, if it is one of ours.
fn netns_owner(name: &str) -> Option<u32> {
    let (pid, _role) = name.strip_prefix(NETNS_PREFIX)?.split_once('-')?;
    pid.parse().ok()
}

/// Namespaces `berth bench` creates whose names are taken now, with the
/// process that made each.
fn own_namespaces() -> Vec<(String, u32)> {
    std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .filter_map(|l| l.split_whitespace().next())
                .filter_map(|n| Some((n.to_owned(), netns_owner(n)?)))
                .collect()
        })
        .unwrap_or_default()
}

fn delete_namespace(name: &str) {
    let _ = std::process::Command::new("ip")
        .args(["netns", "del", name])
        .status();
}

/// Removes the namespaces that runs which are no longer alive (killed)
/// left behind, saying so. A running bench's namespaces are left alone.
pub(super) fn remove_stale_namespaces() {
    for (name, pid) in own_namespaces() {
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            eprintln!("berth bench: removing namespace {name}, left by an earlier run");
            delete_namespace(&name);
        }
    }
}

/// On SIGINT or SIGTERM, removes this command's namespaces (with their
/// devices) before exiting, as the setups would have on a normal end.
/// A signal arrived: the signal thread is removing the namespaces and will
/// end the process with the signal's status.
static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether the bench is being interrupted: then a failure of the main
/// thread (its namespace vanished under it) is the interruption's doing,
/// and the signal thread's exit status is the one to give.
pub(super) fn interrupted() -> bool {
    INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst)
}

pub(super) fn clean_up_on_signal() -> anyhow::Result<()> {
    let mut signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
    ])?;
    std::thread::Builder::new()
        .name("bench-signals".into())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                INTERRUPTED.store(true, std::sync::atomic::Ordering::SeqCst);
                let me = std::process::id();
                for (name, _) in own_namespaces().iter().filter(|(_, pid)| *pid == me) {
                    delete_namespace(name);
                }
                std::process::exit(128 + signal);
            }
        })?;
    Ok(())
}

/// Prepares namespace `ns` for a kernel that opens thousands of
/// connections a run (crr): the whole port range for `connect` rather
/// than 32768-60999 (half of which `connect` prefers), and ports in
/// TIME-WAIT reused for new connections once that is safe
/// (`tcp_tw_reuse`, with timestamps). Otherwise a few crr runs at
/// thousands of connections each exhaust the client's ports, and later
/// runs measure its search for a free one (every contender fell to a
/// few hundred connections a second past about 12,000). Both settings
/// belong to the namespace only.
pub(super) fn prepare_client(ns: &berth_device::kernel::NetNs) -> anyhow::Result<()> {
    use anyhow::Context as _;
    ns.run(|| -> std::io::Result<()> {
        std::fs::write("/proc/sys/net/ipv4/ip_local_port_range", "1024 65535")?;
        std::fs::write("/proc/sys/net/ipv4/tcp_tw_reuse", "1")
    })
    .and_then(|set| set)
    .with_context(|| format!("setting the client's port sysctls in {}", ns.name()))
}
