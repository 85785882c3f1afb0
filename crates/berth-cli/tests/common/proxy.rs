//! The world `berth proxy`'s tests (tests/proxy.rs, tests/proxy_upstreams.rs)
//! run in, one per test function so that they can run in parallel: a
//! "server" namespace joined to the root namespace by a veth pair
//! (198.19.N.1 inside, 198.19.N.2 outside, N this test's own), servers
//! started inside it, and `berth proxy` (in the root namespace) routing
//! 198.19.0.0/16 from a client namespace of its own. Everything it creates
//! (processes, namespaces, the veth, `/etc/netns/NAME` directories, the
//! temporary directory) is removed when the [`Lab`] is dropped, also when
//! the test fails.

use std::io::{BufRead, BufReader, Read};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr as UnixAddr, UnixListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use berth_device::kernel::NetNs;
use sha2::{Digest, Sha256};

/// How long a server or the proxy may take to start, a log line to appear,
/// a relay to show in `berth ss`: bounds on a wait, not expectations.
pub(crate) const DEADLINE: Duration = Duration::from_secs(60);
/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(20);

/// Everything a test creates, undone on drop (success or panic): child
/// processes stopped (SIGTERM, SIGKILL if that is not enough), then any
/// process left in the namespaces killed (a daemon's own children), server threads told to stop, namespaces and the veth
/// deleted, directories removed.
#[derive(Default)]
pub(crate) struct Cleanup {
    pub(crate) children: Vec<Child>,
    pub(crate) stop: Arc<AtomicBool>,
    pub(crate) server_ns: Option<NetNs>,
    pub(crate) netns: Vec<String>,
    pub(crate) links: Vec<String>,
    pub(crate) dirs: Vec<PathBuf>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // SIGTERM first, so that a daemon reaps its own children (danted)
        // and the proxy removes its namespace; SIGKILL for what is left.
        for c in &mut self.children {
            if matches!(c.try_wait(), Ok(None)) {
                let _ = Command::new("kill")
                    .args(["-TERM", &c.id().to_string()])
                    .output();
            }
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        for c in &mut self.children {
            while matches!(c.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(POLL);
            }
            let _ = c.kill();
            let _ = c.wait();
        }
        let names = self.server_ns.iter().map(|ns| ns.name().to_string());
        for ns in names.chain(self.netns.iter().cloned()).collect::<Vec<_>>() {
            kill_all_in(&ns);
        }
        // Deleting the server namespace deletes the veth end inside it, and
        // with it the pair.
        drop(self.server_ns.take());
        for ns in &self.netns {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
        for link in &self.links {
            let _ = Command::new("ip").args(["link", "del", link]).output();
        }
        for dir in &self.dirs {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Kills every process in the namespace `ns` (only this test's children
/// and theirs live there) and waits until none is left.
fn kill_all_in(ns: &str) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let pids = Command::new("ip")
            .args(["netns", "pids", ns])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        let pids: Vec<&str> = pids.split_whitespace().collect();
        if pids.is_empty() || Instant::now() > deadline {
            return;
        }
        for pid in pids {
            let _ = Command::new("kill").args(["-KILL", pid]).output();
        }
        std::thread::sleep(POLL);
    }
}

/// Claims a 198.19.N.0/24 (N from 1 to 250, the search starting from
/// `seed`) for as long as the returned socket lives, so that tests running
/// at once, in this process or another, never give two veths in the root
/// namespace the same subnet. The claim is an abstract Unix socket named
/// after N: binding it fails while another holds it, and it goes away with
/// its holder, even a killed one, leaving no file behind. A subnet already
/// on an interface of the root namespace is passed over too.
fn claim_net(seed: u32) -> (u8, UnixListener) {
    for k in 0..250 {
        let net = u8::try_from(1 + (seed + k) % 250).unwrap();
        let name = format!("berth-proxy-test-198.19.{net}");
        let addr = UnixAddr::from_abstract_name(name.as_bytes()).unwrap();
        let Ok(lock) = UnixListener::bind_addr(&addr) else {
            continue;
        };
        // A test that takes no claims (another tree's) may use it anyway.
        let used = Command::new("ip")
            .args([
                "-o",
                "-4",
                "addr",
                "show",
                "to",
                &format!("198.19.{net}.0/24"),
            ])
            .output()
            .unwrap();
        if used.status.success() && used.stdout.is_empty() {
            return (net, lock);
        }
    }
    panic!("every 198.19.N.0/24 is held by another test");
}

/// Runs `cmd`, which must succeed.
pub(crate) fn sh(cmd: &[&str]) {
    let out = Command::new(cmd[0]).args(&cmd[1..]).output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs the shell command `cmd` in the namespace `netns`.
pub(crate) fn in_ns(netns: &str, cmd: &str) -> Output {
    Command::new("ip")
        .args(["netns", "exec", netns, "sh", "-c", cmd])
        .output()
        .unwrap()
}

/// A file with a pattern that catches reordered or repeated blocks.
pub(crate) fn blob(len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    let mut x: u32 = 0x1234_5678;
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// The SHA-256 of `data` in hex.
pub(crate) fn sha256(data: &[u8]) -> String {
    format!("{:x}", Sha256::digest(data))
}

/// A child's output, a line at a time, read by a thread of its own so that
/// waiting for a line has a deadline.
pub(crate) struct Lines(mpsc::Receiver<String>);

impl Lines {
    pub(crate) fn new(from: impl Read + Send + 'static) -> Self {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(from).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Self(rx)
    }

    /// The next line; fails the test at end of output or after `DEADLINE`.
    pub(crate) fn next(&self, what: &str) -> String {
        self.0
            .recv_timeout(DEADLINE)
            .unwrap_or_else(|e| panic!("{what}: no line ({e})"))
    }
}

/// One test's world: its names and addresses, the server namespace, and
/// everything to undo.
pub(crate) struct Lab {
    pub(crate) guard: Cleanup,
    pub(crate) client_ns: String,
    pub(crate) server_ns: String,
    pub(crate) tun: String,
    /// The root namespace's end of the veth pair.
    pub(crate) veth_out: String,
    /// The server namespace's end.
    pub(crate) veth_in: String,
    /// The test's temporary directory (served by the HTTP servers).
    pub(crate) dir: PathBuf,
    /// The proxy's control socket.
    pub(crate) control: PathBuf,
    /// The third octet of this test's 198.19.N.0/24.
    pub(crate) net: u8,
    /// Where in `guard.children` the proxy is.
    proxy: Option<usize>,
    /// Holds `net` for this test until the veth is gone (after `guard`).
    _net_lock: UnixListener,
}

impl Lab {
    /// Creates the server namespace for the test called `letter` (unique
    /// within its test binary), its veth link with the root namespace, its
    /// hosts file (web.berth.test is the server's address) and the
    /// temporary directory. Names carry the process id and `letter`; the
    /// link's /24 is one no other test holds (see [`claim_net`]).
    pub(crate) fn new(letter: char) -> Self {
        assert!(letter.is_ascii_lowercase());
        let id = std::process::id();
        let short = id % 100_000;
        let (net, net_lock) = claim_net(id + u32::from(letter));
        let client_ns = format!("berth-pc{id}{letter}");
        let server_ns = format!("berth-ps{id}{letter}");
        let (veth_out, veth_in) = (
            format!("bpv{short}{letter}o"),
            format!("bpv{short}{letter}i"),
        );
        let tun = format!("bpt{short}{letter}");
        let dir = std::env::temp_dir().join(format!("berth-proxy-test-{id}{letter}"));
        let mut guard = Cleanup::default();
        guard.netns.push(client_ns.clone());
        guard.links.push(veth_out.clone());
        guard.dirs.push(dir.clone());
        // The proxy's resolv.conf, if a killed proxy left it.
        guard
            .dirs
            .push(PathBuf::from(format!("/etc/netns/{client_ns}")));
        let etc = PathBuf::from(format!("/etc/netns/{server_ns}"));
        guard.dirs.push(etc.clone());
        std::fs::create_dir_all(&dir).unwrap();

        let srv = NetNs::create(&server_ns).unwrap();
        guard.server_ns = Some(srv);
        let srv = guard.server_ns.as_ref().unwrap();
        sh(&[
            "ip", "link", "add", &veth_out, "type", "veth", "peer", "name", &veth_in, "netns",
            &server_ns,
        ]);
        let (inside, outside) = (format!("198.19.{net}.1/24"), format!("198.19.{net}.2/24"));
        srv.ip(&["addr", "add", &inside, "dev", &veth_in]).unwrap();
        srv.ip(&["link", "set", "dev", &veth_in, "up"]).unwrap();
        sh(&["ip", "addr", "add", &outside, "dev", &veth_out]);
        sh(&["ip", "link", "set", "dev", &veth_out, "up"]);
        // `ip netns exec` mounts the files of /etc/netns/NAME over /etc.
        std::fs::create_dir_all(&etc).unwrap();
        std::fs::write(
            etc.join("hosts"),
            format!("127.0.0.1 localhost\n::1 localhost\n198.19.{net}.1 web.berth.test\n"),
        )
        .unwrap();
        let control = dir.join("control.sock");
        Self {
            guard,
            client_ns,
            server_ns,
            tun,
            veth_out,
            veth_in,
            dir,
            control,
            net,
            proxy: None,
            _net_lock: net_lock,
        }
    }

    /// The server namespace.
    pub(crate) fn srv(&self) -> &NetNs {
        self.guard.server_ns.as_ref().unwrap()
    }

    /// The server's address, 198.19.N.1.
    pub(crate) fn server(&self) -> Ipv4Addr {
        Ipv4Addr::new(198, 19, self.net, 1)
    }

    /// The root namespace's address on the link, 198.19.N.2.
    pub(crate) fn host(&self) -> Ipv4Addr {
        Ipv4Addr::new(198, 19, self.net, 2)
    }

    /// Gives the link IPv6, 2001:2:0:1NN::1/64 inside (returned) and ::2
    /// outside, inside the proxy's default 2001:2:0:100::/56; `nodad`
    /// makes both usable at once.
    pub(crate) fn add_ipv6(&self) -> Ipv6Addr {
        let prefix = 0x100 + u16::from(self.net);
        let server = Ipv6Addr::new(0x2001, 2, 0, prefix, 0, 0, 0, 1);
        let host = Ipv6Addr::new(0x2001, 2, 0, prefix, 0, 0, 0, 2);
        self.srv()
            .ip(&[
                "-6",
                "addr",
                "add",
                &format!("{server}/64"),
                "dev",
                &self.veth_in,
                "nodad",
            ])
            .unwrap();
        sh(&[
            "ip",
            "-6",
            "addr",
            "add",
            &format!("{host}/64"),
            "dev",
            &self.veth_out,
            "nodad",
        ]);
        server
    }

    /// Writes `len` bytes of [`blob`] as `blob.bin` in the directory the
    /// HTTP servers serve; returns its SHA-256.
    pub(crate) fn blob_file(&self, len: usize) -> String {
        let file = blob(len);
        std::fs::write(self.dir.join("blob.bin"), &file).unwrap();
        sha256(&file)
    }

    /// Starts `cmd` inside the server namespace, its output (both streams)
    /// to `NAME.log` in the directory, and waits until something listens on
    /// `listen` (`("tcp", port)` or `("udp", port)`) there. Returns the log's
    /// path.
    pub(crate) fn spawn_server(
        &mut self,
        name: &str,
        cmd: &[&str],
        listen: (&str, u16),
    ) -> PathBuf {
        let log = self.dir.join(format!("{name}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", &self.server_ns])
            .args(cmd)
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {cmd:?}: {e}"));
        self.guard.children.push(child);
        let (proto, port) = listen;
        let flag = if proto == "udp" { "-Hlnu" } else { "-Hlnt" };
        let deadline = Instant::now() + DEADLINE;
        loop {
            let ss = in_ns(&self.server_ns, &format!("ss {flag} 'sport = :{port}'"));
            if !String::from_utf8_lossy(&ss.stdout).trim().is_empty() {
                return log;
            }
            let child = self.guard.children.last_mut().unwrap();
            if let Some(status) = child.try_wait().unwrap() {
                panic!("{name} exited ({status}): {}", read_log(&log));
            }
            assert!(
                Instant::now() < deadline,
                "{name} is not listening on {proto} port {port}: {}",
                read_log(&log)
            );
            std::thread::sleep(POLL);
        }
    }

    /// Python's HTTP server on `bind` port 8080 serving the directory.
    pub(crate) fn http_server(&mut self, name: &str, bind: &str) {
        let dir = self.dir.to_str().unwrap().to_string();
        let cmd = [
            "python3",
            "-m",
            "http.server",
            "--bind",
            bind,
            "8080",
            "--directory",
            &dir,
        ];
        self.spawn_server(name, &cmd, ("tcp", 8080));
    }

    /// A UDP echo on 198.19.N.1:7 in the server namespace, recording where
    /// each datagram came from. The datagram `poke` is not echoed: the
    /// server's second socket, 198.19.N.1:8, sends `from 8` to where it
    /// came from (a remote the client never sent to).
    pub(crate) fn udp_echo(&self) -> Arc<Mutex<Vec<SocketAddr>>> {
        let ip = self.server();
        let (echo, other) = self
            .srv()
            .run(move || {
                (
                    UdpSocket::bind((ip, 7)).unwrap(),
                    UdpSocket::bind((ip, 8)).unwrap(),
                )
            })
            .unwrap();
        echo.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let seen: Arc<Mutex<Vec<SocketAddr>>> = Arc::default();
        let (stop, record) = (self.guard.stop.clone(), seen.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            while !stop.load(Ordering::SeqCst) {
                if let Ok((n, from)) = echo.recv_from(&mut buf) {
                    record.lock().unwrap().push(from);
                    if &buf[..n] == b"poke" {
                        other.send_to(b"from 8", from).unwrap();
                    } else {
                        echo.send_to(&buf[..n], from).unwrap();
                    }
                }
            }
        });
        seen
    }

    /// Starts `berth proxy` for the client namespace with `args` besides
    /// the names and the control socket; returns its first line (it is
    /// ready then).
    pub(crate) fn start_proxy(&mut self, args: &[&str]) -> String {
        let mut proxy = Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(["proxy", "--netns", &self.client_ns, "--tun", &self.tun])
            .args(args)
            .arg("--control")
            .arg(&self.control)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let out = Lines::new(proxy.stdout.take().unwrap());
        self.guard.children.push(proxy);
        self.proxy = Some(self.guard.children.len() - 1);
        out.next("berth proxy's ready line")
    }

    /// Stops the proxy with SIGINT and returns how it exited.
    pub(crate) fn stop_proxy(&mut self) -> ExitStatus {
        let proxy = &mut self.guard.children[self.proxy.unwrap()];
        sh(&["kill", "-INT", &proxy.id().to_string()]);
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(status) = proxy.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "berth proxy ignored SIGINT");
            std::thread::sleep(POLL);
        }
    }

    /// Runs the shell command `cmd` in the client namespace.
    pub(crate) fn client(&self, cmd: &str) -> Output {
        in_ns(&self.client_ns, cmd)
    }

    /// Runs the Python `script` with `args` in the client namespace.
    pub(crate) fn client_python(&self, script: &str, args: &[&str]) -> Output {
        Command::new("ip")
            .args(["netns", "exec", &self.client_ns, "python3", "-c", script])
            .args(args)
            .output()
            .unwrap()
    }

    /// Starts the Python `script` with `args` in the client namespace, its
    /// stdin a pipe (returned) and its stdout read a line at a time.
    pub(crate) fn spawn_client_python(
        &mut self,
        script: &str,
        args: &[&str],
    ) -> (std::process::ChildStdin, Lines) {
        let mut child = Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.client_ns,
                "python3",
                "-u",
                "-c",
                script,
            ])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let lines = Lines::new(child.stdout.take().unwrap());
        self.guard.children.push(child);
        (stdin, lines)
    }

    /// Downloads `url` with curl (`extra` its further options) in the
    /// client namespace and checks the file's SHA-256.
    pub(crate) fn download(&self, extra: &str, url: &str, sha: &str) {
        let to = self.dir.join("download.bin");
        let _ = std::fs::remove_file(&to);
        let got = self.client(&format!(
            "curl -sS --max-time 60 {extra} -o {} '{url}'",
            to.display()
        ));
        assert!(
            got.status.success(),
            "curl {url}: {}",
            String::from_utf8_lossy(&got.stderr)
        );
        let data = std::fs::read(&to).unwrap();
        assert_eq!(
            sha256(&data),
            sha,
            "SHA-256 of {url} ({} bytes)",
            data.len()
        );
    }

    /// `berth ss --relays --json`: a JSON object per live relay.
    pub(crate) fn relays(&self) -> Vec<serde_json::Value> {
        super::ss_rows(&self.control, &["--relays"])
    }
}

/// The relays of `lab` once `ok` holds for them; fails after `DEADLINE`.
pub(crate) fn relays_until(
    lab: &Lab,
    what: &str,
    ok: impl Fn(&[serde_json::Value]) -> bool,
) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let rows = lab.relays();
        if ok(&rows) {
            return rows;
        }
        assert!(Instant::now() < deadline, "{what}: {rows:?}");
        std::thread::sleep(POLL);
    }
}

/// What a server wrote to its log so far.
pub(crate) fn read_log(log: &Path) -> String {
    std::fs::read_to_string(log).unwrap_or_default()
}

/// Waits until the log at `log` contains `needle`; returns the log.
pub(crate) fn wait_for_log(log: &Path, needle: &str) -> String {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let text = read_log(log);
        if text.contains(needle) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{} never said {needle:?}:\n{text}",
            log.display()
        );
        std::thread::sleep(POLL);
    }
}
