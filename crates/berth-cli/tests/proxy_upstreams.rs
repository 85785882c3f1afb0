//! `berth proxy` through real proxy servers from Debian, each started inside
//! the server namespace on 198.19.N.1 (see `common::proxy`), which the
//! proxy in the root namespace reaches over the veth: microsocks (SOCKS5
//! with a user name and password: a download, names from `--dns fake-ip`
//! handed over as names, a refused destination, the relay in `berth ss`),
//! tinyproxy (HTTP CONNECT) and Dante's danted (SOCKS5 UDP ASSOCIATE). The
//! servers' own logs show that the flows went through them. Needs root and
//! the three servers (`.ci/run` installs them): runs for real when
//! `CI=true`, skips with a printed reason elsewhere.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener};
use std::path::PathBuf;
use std::sync::mpsc;

mod common;
use common::precondition;
use common::proxy::{DEADLINE, Lab, read_log, relays_until, wait_for_log};

/// microsocks' credentials in these tests.
const USER: &str = "alice";
const PASSWORD: &str = "s3cret";

/// microsocks on 198.19.N.1:1080 with a user name and password; returns
/// its log and the `--upstream` value for it.
fn microsocks(lab: &mut Lab) -> (PathBuf, String) {
    let server = lab.server().to_string();
    let log = lab.spawn_server(
        "microsocks",
        &[
            "microsocks",
            "-i",
            &server,
            "-p",
            "1080",
            "-u",
            USER,
            "-P",
            PASSWORD,
        ],
        ("tcp", 1080),
    );
    (log, format!("socks5://{USER}:{PASSWORD}@{server}:1080"))
}

/// Dante on 198.19.N.1:1081, no authentication, CONNECT and UDP ASSOCIATE
/// for clients and destinations on the link; as root it switches to
/// `nobody`. Returns its log.
fn dante(lab: &mut Lab) -> PathBuf {
    let (server, net) = (lab.server(), lab.net);
    let config = lab.dir.join("danted.conf");
    std::fs::write(
        &config,
        format!(
            "logoutput: stderr
internal: {server} port = 1081
external: {server}
clientmethod: none
socksmethod: none
user.privileged: root
user.unprivileged: nobody
client pass {{
    from: 198.19.{net}.0/24 to: 198.19.{net}.0/24
}}
socks pass {{
    from: 198.19.{net}.0/24 to: 198.19.{net}.0/24
    command: connect udpassociate
    log: connect disconnect error
}}
socks pass {{
    from: 198.19.{net}.0/24 to: 198.19.{net}.0/24
    command: udpreply
    log: connect disconnect error
}}
"
        ),
    )
    .unwrap();
    let pid = lab.dir.join("danted.pid");
    lab.spawn_server(
        "danted",
        &[
            "danted",
            "-f",
            config.to_str().unwrap(),
            "-p",
            pid.to_str().unwrap(),
        ],
        ("tcp", 1081),
    )
}

/// tinyproxy on 198.19.N.1:3128 in the foreground, logging to stderr, any
/// CONNECT port allowed; as root it switches to `nobody`. Returns its log.
fn tinyproxy(lab: &mut Lab) -> PathBuf {
    let (server, net) = (lab.server(), lab.net);
    let config = lab.dir.join("tinyproxy.conf");
    std::fs::write(
        &config,
        format!(
            "User nobody
Group nogroup
Port 3128
Listen {server}
Timeout 600
Allow 198.19.{net}.0/24
LogLevel Info
MaxClients 100
"
        ),
    )
    .unwrap();
    lab.spawn_server(
        "tinyproxy",
        &["tinyproxy", "-d", "-c", config.to_str().unwrap()],
        ("tcp", 3128),
    )
}

/// The proxy's ready line for the default routes.
fn ready_line(lab: &Lab, upstream: &str) -> String {
    format!(
        "berth proxy: routing 198.19.0.0/16, 2001:2:0:100::/56 from netns {} via {} to {upstream}",
        lab.client_ns, lab.tun
    )
}

/// What `--upstream` shows for microsocks: the password hidden.
fn shown(lab: &Lab) -> String {
    format!("socks5://{USER}:***@{}:1080", lab.server())
}

/// A download through microsocks (SOCKS5 with RFC 1929 user name and
/// password), intact, and microsocks saying it connected for the proxy.
#[test]
fn socks5_through_microsocks() {
    if !precondition(
        "the SOCKS5 upstream test",
        &["ip", "curl", "python3", "ss", "microsocks"],
    ) {
        return;
    }
    let mut lab = Lab::new('a');
    let server = lab.server();
    let sha = lab.blob_file(4 << 20);
    lab.http_server("http", &server.to_string());
    let (log, upstream) = microsocks(&mut lab);
    let ready = lab.start_proxy(&["--upstream", &upstream]);
    assert_eq!(ready, ready_line(&lab, &shown(&lab)));
    assert!(!ready.contains(PASSWORD), "{ready}");
    lab.download("", &format!("http://{server}:8080/blob.bin"), &sha);
    wait_for_log(&log, &format!("{}: connected to {server}:8080", lab.host()));
}

/// `--dns fake-ip` through microsocks: the namespace's resolver is the
/// proxy, a name gets an address from the fake pool, and a connection to
/// it reaches microsocks as the name, which microsocks resolves itself
/// (the server namespace's hosts file).
#[test]
fn socks5_fake_ip_hands_over_names() {
    if !precondition(
        "the fake-IP SOCKS5 test",
        &["ip", "curl", "getent", "python3", "ss", "microsocks"],
    ) {
        return;
    }
    let mut lab = Lab::new('b');
    let server = lab.server();
    let sha = lab.blob_file(2 << 20);
    lab.http_server("http", &server.to_string());
    let (log, upstream) = microsocks(&mut lab);
    let ready = lab.start_proxy(&["--upstream", &upstream, "--dns", "fake-ip"]);
    assert_eq!(
        ready,
        format!(
            "berth proxy: routing 198.19.0.0/16, 2001:2:0:100::/56, 198.18.128.0/17, 2001:2:0:ff00::/56 from netns {} via {} to {}",
            lab.client_ns,
            lab.tun,
            shown(&lab)
        )
    );
    let resolv = PathBuf::from(format!("/etc/netns/{}/resolv.conf", lab.client_ns));
    assert_eq!(
        std::fs::read_to_string(&resolv).unwrap(),
        "nameserver 198.18.0.2\n"
    );

    let getent = lab.client("getent ahostsv4 web.berth.test");
    let out = String::from_utf8_lossy(&getent.stdout);
    assert!(getent.status.success(), "getent: {out}");
    let fake: Ipv4Addr = out
        .split_whitespace()
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("getent: {out}"));
    let [a, b, c, _] = fake.octets();
    assert!(
        (a, b) == (198, 18) && c >= 128,
        "{fake} is in the fake pool 198.18.128.0/17"
    );

    lab.download("", "http://web.berth.test:8080/blob.bin", &sha);
    let text = wait_for_log(
        &log,
        &format!("{}: connected to web.berth.test:8080", lab.host()),
    );
    assert!(
        !text.contains("connected to 198."),
        "microsocks was given the name, never an address:\n{text}"
    );

    // The namespace's resolv.conf goes with the proxy.
    assert!(lab.stop_proxy().success());
    assert!(!resolv.exists(), "{} removed on exit", resolv.display());
}

/// A download through tinyproxy's HTTP CONNECT, intact, and tinyproxy's
/// log showing the CONNECT it was asked for and the connection it made.
#[test]
fn http_connect_through_tinyproxy() {
    if !precondition(
        "the HTTP CONNECT upstream test",
        &["ip", "curl", "python3", "ss", "tinyproxy"],
    ) {
        return;
    }
    let mut lab = Lab::new('c');
    let server = lab.server();
    let sha = lab.blob_file(4 << 20);
    lab.http_server("http", &server.to_string());
    let log = tinyproxy(&mut lab);
    let upstream = format!("http://{server}:3128");
    let ready = lab.start_proxy(&["--upstream", &upstream]);
    assert_eq!(ready, ready_line(&lab, &upstream));
    lab.download("", &format!("http://{server}:8080/blob.bin"), &sha);
    wait_for_log(&log, &format!("CONNECT {server}:8080 HTTP/1.1"));
    wait_for_log(
        &log,
        &format!("Established connection to host \"{server}\""),
    );
}

/// UDP through Dante's UDP ASSOCIATE: two datagrams echoed back to the
/// client from the original destination 198.19.N.1:7, the echo server
/// seeing them come from Dante's external address, Dante logging the
/// association.
#[test]
fn socks5_udp_associate_through_dante() {
    if !precondition(
        "the SOCKS5 UDP ASSOCIATE test",
        &["ip", "python3", "ss", "danted"],
    ) {
        return;
    }
    let mut lab = Lab::new('d');
    let server = lab.server();
    let seen = lab.udp_echo();
    let log = dante(&mut lab);
    let upstream = format!("socks5://{server}:1081");
    let ready = lab.start_proxy(&["--upstream", &upstream]);
    assert_eq!(ready, ready_line(&lab, &upstream));
    let udp = lab.client_python(
        "
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(10)
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
        "udp: {}\ndanted: {}",
        String::from_utf8_lossy(&udp.stderr),
        read_log(&log)
    );
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0], seen[1], "one association");
        assert_eq!(
            seen[0].ip(),
            server,
            "relayed by Dante (its external address)"
        );
    }
    wait_for_log(&log, "udpassociate");
    let rows = lab.relays();
    let udp_rows: Vec<_> = rows.iter().filter(|r| r["proto"] == "udp").collect();
    assert_eq!(udp_rows.len(), 1, "{rows:?}");
    assert_eq!(udp_rows[0]["upstream"], upstream);
    assert_eq!(udp_rows[0]["bytes_up"], 2 * "berth udp 0".len());
    assert_eq!(udp_rows[0]["bytes_down"], 2 * "berth udp 0".len());
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

/// A closed port behind microsocks: the client's connect is refused (a RST
/// to its SYN, as microsocks reports the refusal), never a connection that
/// is established and then reset.
#[test]
fn socks5_refused_destination_refuses_the_connect() {
    if !precondition(
        "the SOCKS5 refusal test",
        &["ip", "curl", "python3", "ss", "microsocks"],
    ) {
        return;
    }
    let mut lab = Lab::new('e');
    let server = lab.server().to_string();
    let (_log, upstream) = microsocks(&mut lab);
    lab.start_proxy(&["--upstream", &upstream]);
    let connect = lab.client_python(CONNECT, &[&server, "8081"]);
    assert_eq!(
        String::from_utf8_lossy(&connect.stdout).trim(),
        "ConnectionRefusedError",
        "{}",
        String::from_utf8_lossy(&connect.stderr)
    );
    let curl = lab.client(&format!(
        "curl -sS --max-time 10 http://{server}:8081/ 2>&1; echo rc=$?"
    ));
    let out = String::from_utf8_lossy(&curl.stdout);
    assert!(out.contains("rc=7"), "curl (7), could not connect: {out}");
}

/// Connects to `argv[1]:argv[2]`, reads the server's first line, says so,
/// and holds the connection open until a line on stdin.
const HOLD: &str = "
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
got = b''
while not got.endswith(b'\\n'):
    d = s.recv(100)
    if not d:
        break
    got += d
print('got', got.decode().strip())
sys.stdin.readline()
s.close()
print('closed')
";

/// While a connection through microsocks is open, `berth ss --relays`
/// lists it: the client, the destination, the upstream without its
/// password, the bytes it carried.
#[test]
fn berth_ss_lists_a_socks5_relay() {
    if !precondition(
        "the berth ss relay test",
        &["ip", "python3", "ss", "microsocks"],
    ) {
        return;
    }
    let mut lab = Lab::new('f');
    let server = lab.server();
    // Says hello, then holds the connection until the client closes it.
    let listener = lab
        .srv()
        .run(move || TcpListener::bind((server, 9000)).unwrap())
        .unwrap();
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.write_all(b"hello\n").unwrap();
        let mut rest = Vec::new();
        let r = s.read_to_end(&mut rest);
        done_tx.send(r.is_ok()).unwrap();
    });
    let (_log, upstream) = microsocks(&mut lab);
    lab.start_proxy(&["--upstream", &upstream]);
    let (mut stdin, out) = lab.spawn_client_python(HOLD, &[&server.to_string(), "9000"]);
    assert_eq!(out.next("the client"), "got hello");

    let dst = format!("{server}:9000");
    let rows = relays_until(&lab, "a tcp relay that carried the hello", |rows| {
        rows.iter()
            .any(|r| r["proto"] == "tcp" && r["bytes_down"].as_u64() >= Some(6))
    });
    let row = rows.iter().find(|r| r["proto"] == "tcp").unwrap();
    assert_eq!(row["upstream"], shown(&lab), "{row}");
    assert_eq!(row["destination"], dst, "{row}");
    assert_eq!(row["target"], dst, "{row}");
    assert_eq!(row["bytes_up"], 0, "{row}");
    assert_eq!(row["bytes_down"], "hello\n".len(), "{row}");
    assert!(
        row["client"].as_str().unwrap().starts_with("198.18.0.1:"),
        "the client namespace's address: {row}"
    );
    let all: Vec<String> = rows.iter().map(ToString::to_string).collect();
    assert!(
        !all.concat().contains(PASSWORD),
        "no password in berth ss: {all:?}"
    );

    stdin.write_all(b"close\n").unwrap();
    assert_eq!(out.next("the client"), "closed");
    assert!(
        done_rx.recv_timeout(DEADLINE).unwrap(),
        "the server read a clean end of stream"
    );
    relays_until(&lab, "the relay ends once closed", |rows| {
        rows.iter().all(|r| r["proto"] != "tcp")
    });
}

/// Resolves `argv[1]`, sends two datagrams to it on port 7 from one socket
/// and prints each answer with where it came from, or `timeout`.
const UDP_BY_NAME: &str = "
import socket, sys
addr = socket.gethostbyname(sys.argv[1])
print('resolved', addr)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
for i in range(2):
    s.sendto(b'berth udp %d' % i, (addr, 7))
    try:
        data, src = s.recvfrom(2048)
        print(data.decode(), 'from', src[0], src[1])
    except socket.timeout:
        print('timeout')
";

/// UDP to a name (`--dns fake-ip`) through Dante: the client sent to the
/// name's fake address, so the answers must come from that address (a
/// connected UDP socket, a resolver's say, takes nothing else), with
/// full-cone and with symmetric NAT.
#[test]
fn socks5_fake_ip_udp_answers_from_the_fake_address() {
    if !precondition(
        "the fake-IP SOCKS5 UDP test",
        &["ip", "python3", "ss", "danted"],
    ) {
        return;
    }
    let mut lab = Lab::new('g');
    let seen = lab.udp_echo();
    let log = dante(&mut lab);
    let upstream = format!("socks5://{}:1081", lab.server());
    for nat in ["full-cone", "symmetric"] {
        lab.start_proxy(&[
            "--upstream",
            &upstream,
            "--dns",
            "fake-ip",
            "--udp-nat",
            nat,
        ]);
        let udp = lab.client_python(UDP_BY_NAME, &["web.berth.test"]);
        let out = String::from_utf8_lossy(&udp.stdout).into_owned();
        let fake = out
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("resolved "))
            .unwrap_or_else(|| panic!("{out}{}", String::from_utf8_lossy(&udp.stderr)))
            .to_string();
        assert_eq!(
            out,
            format!("resolved {fake}\nberth udp 0 from {fake} 7\nberth udp 1 from {fake} 7\n"),
            "--udp-nat {nat}: the echo saw {:?}; danted: {}",
            seen.lock().unwrap(),
            read_log(&log)
        );
        assert!(lab.stop_proxy().success());
    }
}
