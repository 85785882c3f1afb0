//! `berth proxy` for real: a "server" namespace joined to the root namespace
//! by a veth pair (198.19.1.1 inside, 198.19.1.2 outside) runs an HTTP
//! server, a UDP echo and a half-close server; `berth proxy` routes
//! 198.19.0.0/16 from a client namespace into its TUN and relays every flow
//! through the root namespace's own sockets. From the client namespace: curl
//! downloads a file intact (SHA-256), a datagram comes back echoed from the
//! original destination, `nc -N` sees its half-close carried through, an
//! idle UDP flow expires, and SIGINT removes the namespace. Needs root: runs
//! for real when `CI=true` (and fails if setup fails), skips with a printed
//! reason elsewhere. Every namespace and veth is removed at the end, also
//! when the test fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use berth_device::kernel::NetNs;
use sha2::{Digest, Sha256};

use berth_device::testing::{is_root, precondition};

/// Everything the test creates, undone on drop (success or panic): child
/// processes killed, server threads told to stop, namespaces and the veth
/// deleted, the temporary directory removed.
#[derive(Default)]
struct Cleanup {
    children: Vec<Child>,
    stop: Arc<AtomicBool>,
    server_ns: Option<NetNs>,
    netns: Vec<String>,
    links: Vec<String>,
    dir: Option<PathBuf>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
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
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn sh(cmd: &[&str]) {
    let out = Command::new(cmd[0]).args(&cmd[1..]).output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn in_ns(netns: &str, cmd: &str) -> std::process::Output {
    Command::new("ip")
        .args(["netns", "exec", netns, "sh", "-c", cmd])
        .output()
        .unwrap()
}

/// A file with a pattern that catches reordered or repeated blocks.
fn blob(len: usize) -> Vec<u8> {
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

#[test]
fn berth_proxy_relays_tcp_and_udp_through_the_host() {
    if !precondition(
        "the berth proxy test",
        &["ip", "curl", "nc", "python3", "sha256sum", "ss"],
    ) {
        return;
    }
    let id = std::process::id();
    let short = id % 100_000;
    let client_ns = format!("berth-pc{id}");
    let server_ns = format!("berth-ps{id}");
    let (veth_out, veth_in) = (format!("bpv{short}o"), format!("bpv{short}i"));
    let tun = format!("bpt{short}");
    let dir = std::env::temp_dir().join(format!("berth-proxy-test-{id}"));
    let control = dir.join("control.sock");
    let mut guard = Cleanup::default();
    guard.netns.push(client_ns.clone());
    guard.links.push(veth_out.clone());
    guard.dir = Some(dir.clone());
    std::fs::create_dir_all(&dir).unwrap();

    // The server namespace and its veth link to the root namespace.
    let srv = NetNs::create(&server_ns).unwrap();
    sh(&[
        "ip", "link", "add", &veth_out, "type", "veth", "peer", "name", &veth_in, "netns",
        &server_ns,
    ]);
    srv.ip(&["addr", "add", "198.19.1.1/24", "dev", &veth_in])
        .unwrap();
    srv.ip(&["link", "set", "dev", &veth_in, "up"]).unwrap();
    sh(&["ip", "addr", "add", "198.19.1.2/24", "dev", &veth_out]);
    sh(&["ip", "link", "set", "dev", &veth_out, "up"]);

    // HTTP: python's server, ready when it says so on stdout.
    let file = blob(6 << 20);
    std::fs::write(dir.join("blob.bin"), &file).unwrap();
    let mut http = Command::new("ip")
        .args([
            "netns",
            "exec",
            &server_ns,
            "python3",
            "-u",
            "-m",
            "http.server",
        ])
        .args(["--bind", "198.19.1.1", "8080", "--directory"])
        .arg(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let http_out = http.stdout.take().unwrap();
    guard.children.push(http);
    let mut line = String::new();
    BufReader::new(http_out).read_line(&mut line).unwrap();
    assert!(line.starts_with("Serving HTTP"), "http.server: {line:?}");

    // UDP echo, recording who the datagrams came from.
    let echo = srv
        .run(|| UdpSocket::bind("198.19.1.1:7").unwrap())
        .unwrap();
    echo.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let seen: Arc<Mutex<Vec<SocketAddr>>> = Arc::default();
    {
        let (stop, seen) = (guard.stop.clone(), seen.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            while !stop.load(Ordering::SeqCst) {
                if let Ok((n, from)) = echo.recv_from(&mut buf) {
                    seen.lock().unwrap().push(from);
                    echo.send_to(&buf[..n], from).unwrap();
                }
            }
        });
    }

    // Half-close: read to end of stream, only then answer and close.
    let half = srv
        .run(|| TcpListener::bind("198.19.1.1:9000").unwrap())
        .unwrap();
    let (half_tx, half_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let (mut s, _) = half.accept().unwrap();
        let mut got = Vec::new();
        let r = s.read_to_end(&mut got);
        let mut reply = format!("got {} bytes: ", got.len()).into_bytes();
        reply.extend(got.iter().rev());
        s.write_all(&reply).unwrap();
        s.shutdown(Shutdown::Write).unwrap();
        half_tx.send((r.is_ok(), got)).unwrap();
    });
    guard.server_ns = Some(srv);

    // The proxy.
    let mut proxy = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["proxy", "--netns", &client_ns, "--tun", &tun])
        .args(["--addr", "198.18.9.2/24", "--peer-addr", "198.18.9.1"])
        .args(["--route", "198.19.0.0/16", "--udp-idle", "2", "--control"])
        .arg(&control)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let proxy_out = proxy.stdout.take().unwrap();
    guard.children.push(proxy);
    let mut ready = String::new();
    BufReader::new(proxy_out).read_line(&mut ready).unwrap();
    assert_eq!(
        ready.trim(),
        format!("berth proxy: routing 198.19.0.0/16 from netns {client_ns} via {tun} to direct")
    );

    // TCP: a download checked by SHA-256.
    let got = in_ns(
        &client_ns,
        "curl -sS --max-time 60 http://198.19.1.1:8080/blob.bin | sha256sum",
    );
    assert!(
        got.status.success(),
        "curl: {}",
        String::from_utf8_lossy(&got.stderr)
    );
    let expected = format!("{:x}", Sha256::digest(&file));
    assert!(
        String::from_utf8_lossy(&got.stdout).starts_with(&expected),
        "sha256 of the download: {}",
        String::from_utf8_lossy(&got.stdout)
    );

    // UDP: two datagrams on one flow, echoed back from 198.19.1.1:7.
    let udp = in_ns(
        &client_ns,
        "python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
for i in range(2):
    s.sendto(b\"berth udp %d\" % i, (\"198.19.1.1\", 7))
    data, addr = s.recvfrom(2048)
    print(data.decode(), addr[0], addr[1])
'",
    );
    assert_eq!(
        String::from_utf8_lossy(&udp.stdout),
        "berth udp 0 198.19.1.1 7\nberth udp 1 198.19.1.1 7\n",
        "udp: {}",
        String::from_utf8_lossy(&udp.stderr)
    );
    // `berth ss --relays` lists the UDP mapping (full cone: one per client
    // endpoint) with the bytes it carried.
    let relays = || -> Vec<serde_json::Value> {
        let ss = Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(["ss", "--relays", "--json", "--control"])
            .arg(&control)
            .output()
            .unwrap();
        assert!(
            ss.status.success(),
            "{}",
            String::from_utf8_lossy(&ss.stderr)
        );
        String::from_utf8_lossy(&ss.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let udp_flows = || relays().iter().filter(|r| r["proto"] == "udp").count();
    let rows = relays();
    let udp_rows: Vec<_> = rows.iter().filter(|r| r["proto"] == "udp").collect();
    assert_eq!(udp_rows.len(), 1, "one mapping, not yet idle: {rows:?}");
    assert_eq!(udp_rows[0]["destination"], "*:*", "full cone");
    assert_eq!(udp_rows[0]["upstream"], "direct");
    assert_eq!(udp_rows[0]["bytes_up"], 2 * "berth udp 0".len());
    assert_eq!(udp_rows[0]["bytes_down"], 2 * "berth udp 0".len());
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0], seen[1], "one flow, one host socket");
        assert_eq!(
            seen[0].ip().to_string(),
            "198.19.1.2",
            "relayed from the root namespace's own address"
        );
    }

    // Half-close carried through: nc -N shuts its sending side after the
    // input; the server sees end of stream, answers, and nc prints it.
    let nc = in_ns(
        &client_ns,
        "printf 'half close works' | nc -N -w 10 198.19.1.1 9000",
    );
    assert_eq!(
        String::from_utf8_lossy(&nc.stdout),
        "got 16 bytes: skrow esolc flah"
    );
    let (clean_eof, got) = half_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(clean_eof, "the server read a clean end of stream");
    assert_eq!(got, b"half close works");

    // The idle UDP flow's host socket goes away (--udp-idle 2).
    let deadline = Instant::now() + Duration::from_secs(10);
    while udp_flows() > 0 {
        assert!(Instant::now() < deadline, "the idle UDP flow never expired");
        std::thread::sleep(Duration::from_millis(100));
    }

    // A closed upstream port: the client's connect is refused (a RST to
    // its SYN), never a connection that succeeds and is then reset.
    let refused = in_ns(
        &client_ns,
        "curl -sS --max-time 10 http://198.19.1.1:8081/ 2>&1; echo rc=$?",
    );
    let out = String::from_utf8_lossy(&refused.stdout);
    assert!(out.contains("rc=7"), "curl (7), could not connect: {out}");
    let connect = in_ns(
        &client_ns,
        "python3 -c '
import socket
try:
    socket.create_connection((\"198.19.1.1\", 8081), timeout=10)
    print(\"connected\")
except OSError as e:
    print(type(e).__name__)
'",
    );
    assert_eq!(
        String::from_utf8_lossy(&connect.stdout).trim(),
        "ConnectionRefusedError",
        "a refused upstream refuses the client's connect: {}",
        String::from_utf8_lossy(&connect.stderr)
    );

    // `berth ss` shows the transparent sockets.
    let ss = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["ss", "--json", "-l", "--control"])
        .arg(&control)
        .output()
        .unwrap();
    assert!(ss.status.success());
    let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&ss.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for (proto, state) in [("tcp", "LISTEN"), ("udp", "UNCONN")] {
        assert!(
            rows.iter()
                .any(|r| r["proto"] == proto && r["state"] == state && r["local"] == "*:*"),
            "{rows:?}"
        );
    }

    // SIGINT: a clean exit that removes the client namespace.
    let proxy = guard.children.last_mut().unwrap();
    let pid = proxy.id().to_string();
    Command::new("kill").args(["-INT", &pid]).status().unwrap();
    let status = proxy.wait().unwrap();
    assert!(status.success(), "berth proxy exits 0 on SIGINT");
    let list = Command::new("ip").args(["netns", "list"]).output().unwrap();
    assert!(
        !String::from_utf8_lossy(&list.stdout).contains(&client_ns),
        "client namespace removed"
    );
    drop(guard);
    let list = Command::new("ip").args(["netns", "list"]).output().unwrap();
    assert!(!String::from_utf8_lossy(&list.stdout).contains(&server_ns));
    let link = Command::new("ip")
        .args(["link", "show", &veth_out])
        .output()
        .unwrap();
    assert!(!link.status.success(), "veth removed");
}

#[test]
fn berth_proxy_flags_and_root() {
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_berth"))
            .arg("proxy")
            .args(args)
            .output()
            .unwrap()
    };
    for bad in [
        &["--route", "198.19.0.0"][..],
        &["--route", "2001:2::/64"],
        &["--upstream", "gopher://198.19.1.1:70"],
        &["--dns", "sometimes"],
        &["--udp-idle", "0"],
        &["--addr", "198.18.0.2"],
        &["--netns", "no/slash"],
        &["--addr", "198.18.0.2/24", "--peer-addr", "198.18.5.1"],
    ] {
        let out = run(bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?} is a usage error");
    }
    if !is_root() {
        let out = run(&[]);
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("root"), "{err}");
    }
}
