//! `berth proxy` for real, with the direct upstream: a "server" namespace
//! joined to the root namespace by a veth pair (198.19.N.1 inside,
//! 198.19.N.2 outside, see `common::proxy`) runs an HTTP server, a UDP echo
//! and a half-close server; `berth proxy` routes 198.19.0.0/16 from a
//! client namespace into its TUN and relays every flow through the root
//! namespace's own sockets. From the client namespace: curl downloads a
//! file intact (SHA-256), a datagram comes back echoed from the original
//! destination, `nc -N` sees its half-close carried through, an idle UDP
//! flow expires, and SIGINT removes the namespace. Needs root: runs for real when `CI=true` (and fails if setup
//! fails), skips with a printed reason elsewhere. Every namespace and veth
//! is removed at the end, also when a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener};
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

mod common;
use common::proxy::Lab;
use common::{is_root, precondition};

#[test]
fn berth_proxy_relays_tcp_and_udp_through_the_host() {
    if !precondition(
        "the berth proxy test",
        &["ip", "curl", "nc", "python3", "ss"],
    ) {
        return;
    }
    let mut lab = Lab::new('a');
    let server = lab.server();

    // HTTP: python's server.
    let sha = lab.blob_file(6 << 20);
    lab.http_server("http", &server.to_string());

    // UDP echo, recording who the datagrams came from.
    let seen = lab.udp_echo();

    // Half-close: read to end of stream, only then answer and close.
    let half = lab
        .srv()
        .run(move || TcpListener::bind((server, 9000)).unwrap())
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

    // The proxy.
    let ready = lab.start_proxy(&[
        "--addr",
        "198.18.9.2/24",
        "--peer-addr",
        "198.18.9.1",
        "--route",
        "198.19.0.0/16",
        "--udp-idle",
        "2",
    ]);
    assert_eq!(
        ready.trim(),
        format!(
            "berth proxy: routing 198.19.0.0/16 from netns {} via {} to direct",
            lab.client_ns, lab.tun
        )
    );

    // TCP: a download checked by SHA-256.
    lab.download("", &format!("http://{server}:8080/blob.bin"), &sha);

    // UDP: two datagrams on one flow, echoed back from 198.19.N.1:7.
    let udp = lab.client_python(
        "
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
for i in range(2):
    s.sendto(b'berth udp %d' % i, (sys.argv[1], 7))
    data, addr = s.recvfrom(2048)
    print(data.decode(), addr[0], addr[1])
",
        &[&server.to_string()],
    );
    assert_eq!(
        String::from_utf8_lossy(&udp.stdout),
        format!("berth udp 0 {server} 7\nberth udp 1 {server} 7\n"),
        "udp: {}",
        String::from_utf8_lossy(&udp.stderr)
    );
    // `berth ss --relays` lists the UDP mapping (full cone: one per client
    // endpoint) with the bytes it carried.
    let udp_flows = || lab.relays().iter().filter(|r| r["proto"] == "udp").count();
    let rows = lab.relays();
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
            seen[0].ip(),
            lab.host(),
            "relayed from the root namespace's own address"
        );
    }

    // Half-close carried through: nc -N shuts its sending side after the
    // input; the server sees end of stream, answers, and nc prints it.
    let nc = lab.client(&format!(
        "printf 'half close works' | nc -N -w 10 {server} 9000"
    ));
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
    let refused = lab.client(&format!(
        "curl -sS --max-time 10 http://{server}:8081/ 2>&1; echo rc=$?"
    ));
    let out = String::from_utf8_lossy(&refused.stdout);
    assert!(out.contains("rc=7"), "curl (7), could not connect: {out}");
    let connect = lab.client_python(CONNECT, &[&server.to_string(), "8081"]);
    assert_eq!(
        String::from_utf8_lossy(&connect.stdout).trim(),
        "ConnectionRefusedError",
        "a refused upstream refuses the client's connect: {}",
        String::from_utf8_lossy(&connect.stderr)
    );

    // `berth ss` shows the transparent sockets.
    let ss = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["ss", "--json", "-l", "--control"])
        .arg(&lab.control)
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
    let status = lab.stop_proxy();
    assert!(status.success(), "berth proxy exits 0 on SIGINT");
    let list = Command::new("ip").args(["netns", "list"]).output().unwrap();
    assert!(
        !String::from_utf8_lossy(&list.stdout).contains(&lab.client_ns),
        "client namespace removed"
    );
    let (server_ns, veth_out) = (lab.server_ns.clone(), lab.veth_out.clone());
    drop(lab);
    let list = Command::new("ip").args(["netns", "list"]).output().unwrap();
    assert!(!String::from_utf8_lossy(&list.stdout).contains(&server_ns));
    let link = Command::new("ip")
        .args(["link", "show", &veth_out])
        .output()
        .unwrap();
    assert!(!link.status.success(), "veth removed");
}

/// Connects to `argv[1]:argv[2]` and prints what happened: `connected` or
/// the exception's class.
const CONNECT: &str = "
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
    print('connected')
except OSError as e:
    print(type(e).__name__)
";

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
