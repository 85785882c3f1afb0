//! `berth up` over a real TUN device with the Linux kernel as the peer:
//! ping (v4 and v6), curl downloads checked by SHA-256, nc echo and discard,
//! a refused connection to a closed port, `berth ss`, a clean Ctrl-C that
//! removes the namespace, and a client one kernel router away, which sees
//! the checksums berth leaves to the kernel completed. Needs root: runs for
//! real when `CI=true` (and fails if setup fails), skips with a printed
//! reason elsewhere.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};

use berth_device::kernel::NetNs;

mod common;
use common::proxy::{in_ns, sh};
use common::{is_root, precondition};

/// The running `berth up`; killed and its namespace removed on drop.
struct Up {
    child: Child,
    netns: String,
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = Command::new("ip")
            .args(["netns", "del", &self.netns])
            .output();
    }
}

/// Starts `berth up` in a namespace of its own, on 198.18.`net`.2/24 and
/// 2001:2:0:`net`::2/64, its services on `api`, and waits for its ready
/// line (a blocking read of its stdout, not a sleep). Also the path of its
/// control socket.
fn start(net: u8, api: &str) -> (Up, std::path::PathBuf) {
    let id = std::process::id();
    let netns = format!("berth-t{id}-{net}");
    let tun = format!("bt{}-{net}", id % 100_000);
    let control = std::env::temp_dir().join(format!("berth-up-test-{id}-{net}.sock"));
    let child = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args([
            "up",
            "--netns",
            &netns,
            "--tun",
            &tun,
            "--control",
            control.to_str().unwrap(),
            "--seed",
            "5",
            "--services-api",
            api,
        ])
        .args([
            "--addr",
            &format!("198.18.{net}.2/24"),
            "--peer-addr",
            &format!("198.18.{net}.1"),
            "--addr6",
            &format!("2001:2:0:{net}::2/64"),
            "--peer-addr6",
            &format!("2001:2:0:{net}::1"),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut up = Up {
        child,
        netns: netns.clone(),
    };
    let mut ready = String::new();
    BufReader::new(up.child.stdout.as_mut().unwrap())
        .read_line(&mut ready)
        .unwrap();
    assert_eq!(
        ready.trim(),
        format!("berth up: 198.18.{net}.2 on {tun} (netns {netns})")
    );
    (up, control)
}

/// The SHA-256 of what `/bytes/n` serves: the bytes 0 to 250 over and over.
fn bytes_sha256(n: u64) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    let block: Vec<u8> = (0..251 * 256).map(|i: u64| (i % 251) as u8).collect();
    let mut left = n;
    while left > 0 {
        let take = left.min(block.len() as u64) as usize;
        h.update(&block[..take]);
        left -= take as u64;
    }
    format!("{:x}", h.finalize())
}

/// The services as sessions on the stack thread (the default).
#[test]
fn berth_up_serves_linux_clients() {
    serves_linux_clients("callback", 7);
}

/// The same services on acceptor and worker threads.
#[test]
fn berth_up_serves_linux_clients_from_threads() {
    serves_linux_clients("blocking", 8);
}

/// The same services as tokio tasks on berth::tokio_net.
#[test]
fn berth_up_serves_linux_clients_from_tasks() {
    serves_linux_clients("async", 9);
}

fn serves_linux_clients(api: &str, net: u8) {
    if !precondition(
        "the berth up TUN test",
        &["ip", "curl", "nc", "ping", "sha256sum"],
    ) {
        return;
    }
    let (mut up, control) = start(net, api);
    let netns = up.netns.clone();

    let ping = in_ns(&netns, &format!("ping -c 3 -i 0.2 -W 2 198.18.{net}.2"));
    assert!(
        ping.status.success(),
        "ping: {}",
        String::from_utf8_lossy(&ping.stdout)
    );
    let ping6 = in_ns(
        &netns,
        &format!("ping -6 -c 2 -i 0.2 -W 2 2001:2:0:{net}::2"),
    );
    assert!(
        ping6.status.success(),
        "ping -6: {}",
        String::from_utf8_lossy(&ping6.stdout)
    );

    // 50 MiB over HTTP, checked against the pattern /bytes/N promises.
    let n: u64 = 50 << 20;
    let got = in_ns(
        &netns,
        &format!("curl -sS --max-time 120 http://198.18.{net}.2/bytes/{n} | sha256sum"),
    );
    assert!(
        got.status.success(),
        "curl: {}",
        String::from_utf8_lossy(&got.stderr)
    );
    let expected = bytes_sha256(n);
    assert!(
        String::from_utf8_lossy(&got.stdout).starts_with(&expected),
        "sha256 of the download matches"
    );

    let page = in_ns(
        &netns,
        &format!("curl -sS -g --max-time 10 'http://[2001:2:0:{net}::2]/'"),
    );
    assert!(
        String::from_utf8_lossy(&page.stdout).contains("berth"),
        "IPv6 HTTP"
    );

    let echo = in_ns(
        &netns,
        &format!("printf 'echo me' | nc -N -w 5 198.18.{net}.2 7"),
    );
    assert_eq!(String::from_utf8_lossy(&echo.stdout), "echo me");

    let udp = in_ns(
        &netns,
        &format!("printf 'udp me' | nc -u -w 2 198.18.{net}.2 7"),
    );
    assert_eq!(String::from_utf8_lossy(&udp.stdout), "udp me", "UDP echo");

    let discard = in_ns(
        &netns,
        &format!("head -c 1048576 /dev/zero | nc -N -w 10 198.18.{net}.2 9"),
    );
    assert!(discard.status.success());

    // Chargen's first two lines (RFC 864), and daytime's date.
    let chargen = in_ns(
        &netns,
        &format!("nc -w 5 198.18.{net}.2 19 < /dev/null | head -c 148"),
    );
    let line = |k: usize| {
        let mut l: String = (0..72)
            .map(|i| char::from(b' ' + ((k + i) % 95) as u8))
            .collect();
        l.push_str("\r\n");
        l
    };
    assert_eq!(
        String::from_utf8_lossy(&chargen.stdout),
        format!("{}{}", line(0), line(1))
    );
    let daytime = in_ns(&netns, &format!("nc -w 5 198.18.{net}.2 13 < /dev/null"));
    let daytime = String::from_utf8_lossy(&daytime.stdout);
    assert!(
        daytime.ends_with(" UTC\r\n") && daytime.starts_with("20"),
        "{daytime:?}"
    );
    // Two requests on one kept-alive connection.
    let both = in_ns(
        &netns,
        &format!(
            "curl -sS --max-time 10 http://198.18.{net}.2/ http://198.18.{net}.2/bytes/3 -w '%{{num_connects}}\n'"
        ),
    );
    let both = String::from_utf8_lossy(&both.stdout);
    // The index page and one new connection, then /bytes/3 on it (none).
    assert!(both.contains("berth</h1>"), "{both:?}");
    assert!(both.ends_with("</html>\n1\n\u{0}\u{1}\u{2}0\n"), "{both:?}");

    // Slowloris: 200 connections each holding a partial request head
    // while 8 requests are made. Sessions cost a socket each, not a worker:
    // every request is served (on threads, 64 workers would all be held).
    if api == "callback" {
        let script = format!(
            r#"
import socket, subprocess
held = []
for _ in range(200):
    s = socket.create_connection(("198.18.{net}.2", 80), timeout=10)
    s.sendall(b"GET / HTTP/1.1\r\nX-Slow: ")
    held.append(s)
ok = 0
for _ in range(8):
    r = subprocess.run(["curl", "-sS", "--max-time", "10", "http://198.18.{net}.2/"], capture_output=True)
    ok += r.returncode == 0 and b"berth" in r.stdout
print(ok)
"#
        );
        let slow = in_ns(&netns, &format!("python3 -c '{script}'"));
        assert_eq!(
            String::from_utf8_lossy(&slow.stdout).trim(),
            "8",
            "{}",
            String::from_utf8_lossy(&slow.stderr)
        );
    }

    // A closed port is refused at once (RST), not timed out.
    let refused = in_ns(
        &netns,
        &format!("curl -sS --max-time 5 http://198.18.{net}.2:81/ 2>&1; echo rc=$?"),
    );
    let out = String::from_utf8_lossy(&refused.stdout);
    assert!(
        out.contains("rc=7"),
        "connection refused (curl exit 7): {out}"
    );

    let listening = common::ss_rows(&control, &["-l", "-t"]);
    assert!(
        listening
            .iter()
            .any(|r| r["local"] == "0.0.0.0:80" && r["state"] == "LISTEN"),
        "{listening:?}"
    );
    // The counters, like nstat: the pings and curls above came in.
    let stats = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["ss", "--stats", "--json", "--control"])
        .arg(&control)
        .output()
        .unwrap();
    assert!(stats.status.success());
    let stats: serde_json::Value = serde_json::from_slice(&stats.stdout).unwrap();
    assert!(stats["frames_in"].as_u64().unwrap() > 0, "{stats}");

    // Ctrl-C: a clean exit that removes the namespace.
    let pid = up.child.id().to_string();
    Command::new("kill").args(["-INT", &pid]).status().unwrap();
    let status = up.child.wait().unwrap();
    assert!(status.success(), "berth up exits 0 on SIGINT");
    let list = Command::new("ip").args(["netns", "list"]).output().unwrap();
    assert!(
        !String::from_utf8_lossy(&list.stdout).contains(&netns),
        "namespace removed"
    );
    assert!(!control.exists(), "control socket removed");
    std::io::stderr().flush().unwrap();
}

/// berth leaves every TCP segment's checksum to the kernel behind its TUN
/// device (offloads on: `NEEDS_CSUM`, the kernel's `CHECKSUM_PARTIAL`),
/// which delivering locally never sums, and forwarding out of a device
/// without checksum offload completes. Here a client one router away,
/// behind a veth whose transmit checksumming is off, downloads over IPv4
/// and IPv6 and echoes: what berth sent arrives whole (a wrong
/// `csum_start`/`csum_offset` would be completed wrongly, and dropped
/// here), and the client's kernel counts no checksum error.
#[test]
fn berth_up_serves_a_client_the_kernel_routes_to_it() {
    if !precondition(
        "the berth up routed-client test",
        &["ip", "curl", "nc", "ethtool", "nstat", "sha256sum"],
    ) {
        return;
    }
    let net = 10;
    let (up, _control) = start(net, "callback");
    let router = up.netns.clone();
    let id = std::process::id();
    let client = NetNs::create(&format!("berth-t{id}-{net}c")).unwrap();
    let (vr, vc) = (format!("vr{}", id % 100_000), format!("vc{}", id % 100_000));
    sh(&[
        "ip", "link", "add", &vr, "type", "veth", "peer", "name", &vc,
    ]);
    sh(&["ip", "link", "set", &vr, "netns", &router]);
    sh(&["ip", "link", "set", &vc, "netns", client.name()]);
    let (r, c) = (router.as_str(), client.name());
    for (ns, dev, v4, v6) in [
        (
            r,
            &vr,
            format!("198.19.{net}.1/24"),
            format!("2001:2:1:{net}::1/64"),
        ),
        (
            c,
            &vc,
            format!("198.19.{net}.2/24"),
            format!("2001:2:1:{net}::2/64"),
        ),
    ] {
        sh(&["ip", "-n", ns, "addr", "add", &v4, "dev", dev]);
        sh(&["ip", "-n", ns, "addr", "add", &v6, "dev", dev, "nodad"]);
        sh(&["ip", "-n", ns, "link", "set", dev, "up"]);
    }
    sh(&["ip", "-n", c, "link", "set", "lo", "up"]);
    sh(&[
        "ip",
        "-n",
        c,
        "route",
        "add",
        &format!("198.18.{net}.0/24"),
        "via",
        &format!("198.19.{net}.1"),
    ]);
    sh(&[
        "ip",
        "-n",
        c,
        "route",
        "add",
        &format!("2001:2:0:{net}::/64"),
        "via",
        &format!("2001:2:1:{net}::1"),
    ]);
    let sysctl = "net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1";
    sh(&[
        "ip",
        "netns",
        "exec",
        r,
        "sh",
        "-c",
        &format!("sysctl -qw {sysctl}"),
    ]);
    // The router completes every checksum itself before the veth.
    sh(&["ip", "netns", "exec", r, "ethtool", "-K", &vr, "tx", "off"]);
    sh(&["ip", "netns", "exec", c, "nstat", "-n"]);

    let n: u64 = 4 << 20;
    for url in [
        format!("http://198.18.{net}.2/bytes/{n}"),
        format!("http://[2001:2:0:{net}::2]/bytes/{n}"),
    ] {
        let got = in_ns(c, &format!("curl -sS -g --max-time 60 '{url}' | sha256sum"));
        assert!(
            String::from_utf8_lossy(&got.stdout).starts_with(&bytes_sha256(n)),
            "{url}: {}",
            String::from_utf8_lossy(&got.stderr)
        );
    }
    let echo = in_ns(
        c,
        &format!("printf 'echo me' | nc -N -w 5 198.18.{net}.2 7"),
    );
    assert_eq!(String::from_utf8_lossy(&echo.stdout), "echo me");
    // nstat -a: every counter, zeros included, since the reset above.
    let counters = in_ns(
        c,
        "nstat -az TcpInCsumErrors Tcp6InCsumErrors TcpInSegs Ip6InDelivers",
    );
    let counters = String::from_utf8_lossy(&counters.stdout);
    let count = |name: &str| -> u64 {
        counters
            .lines()
            .find_map(|l| {
                let mut f = l.split_whitespace();
                (f.next() == Some(name)).then(|| f.next().unwrap().parse().unwrap())
            })
            .unwrap_or(0)
    };
    assert!(count("TcpInSegs") > 1000, "{counters}");
    assert!(count("Ip6InDelivers") > 1000, "{counters}");
    assert_eq!(
        count("TcpInCsumErrors") + count("Tcp6InCsumErrors"),
        0,
        "{counters}"
    );
}

#[test]
fn berth_up_without_root_explains() {
    if is_root() {
        // As root, check the flags are validated before anything is created.
        let out = Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(["up", "--addr", "198.18.0.2"])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "an address without a prefix is a usage error"
        );
        let out = Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(["up", "--addr", "198.18.0.2/24", "--peer-addr", "198.18.9.1"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&out.stderr).contains("peer-addr"));
        return;
    }
    let out = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["up"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("root") && err.contains("berth sim"), "{err}");
}
