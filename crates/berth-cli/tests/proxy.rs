//! `berth proxy` for real, with the direct upstream: a "server" namespace
//! joined to the root namespace by a veth pair (198.19.N.1 inside,
//! 198.19.N.2 outside, see `common::proxy`) runs an HTTP server, a UDP echo
//! and a half-close server; `berth proxy` routes 198.19.0.0/16 (and
//! 2001:2:0:100::/56) from a client namespace into its TUN and relays every
//! flow through the root namespace's own sockets. From the client
//! namespace: curl downloads a file intact (SHA-256) over IPv4 and IPv6, a
//! datagram comes back echoed from the original destination, a remote the
//! client never sent to reaches it through the full-cone mapping, a ping is
//! answered, `nc -N` sees its half-close carried through, an idle UDP flow
//! expires, 1,000 connections are open at once, `--icmp forward` answers
//! only pings that the real host answers, `--dns forward` resolves through
//! a DNS server over TCP, a server's half-close reaches the client (whose
//! data still flows back), fake-IP DNS answers over TCP too, and SIGINT
//! removes the namespace. Needs root: runs for real when `CI=true` (and fails if setup
//! fails), skips with a printed reason elsewhere. Every namespace and veth
//! is removed at the end, also when a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener};
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

mod common;
use common::proxy::{DEADLINE, Lab, relays_until};
use common::{is_root, precondition};

#[test]
fn berth_proxy_relays_tcp_and_udp_through_the_host() {
    if !precondition(
        "the berth proxy test",
        &["ip", "curl", "nc", "ping", "python3", "ss"],
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
        // Long enough that the mapping is still there when `berth ss`
        // looks right after the exchange, short enough to wait for.
        "--udp-idle",
        "5",
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

    // A ping to a relayed destination is answered (by the proxy).
    let ping = lab.client(&format!("ping -c 1 -W 5 {server}"));
    assert!(
        ping.status.success(),
        "ping {server}: {}{}",
        String::from_utf8_lossy(&ping.stdout),
        String::from_utf8_lossy(&ping.stderr)
    );

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
    let (clean_eof, got) = half_rx.recv_timeout(DEADLINE).unwrap();
    assert!(clean_eof, "the server read a clean end of stream");
    assert_eq!(got, b"half close works");

    // The idle UDP flow's host socket goes away (--udp-idle 5).
    let deadline = Instant::now() + DEADLINE;
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
    let rows = common::ss_rows(&lab.control, &["-l"]);
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

/// IPv6: a route of the proxy's v6 prefix, a server on 2001:2:0:1NN::1,
/// reached from the root namespace over the veth's IPv6.
#[test]
fn berth_proxy_relays_ipv6() {
    if !precondition(
        "the berth proxy IPv6 test",
        &["ip", "curl", "ping", "python3", "ss"],
    ) {
        return;
    }
    let mut lab = Lab::new('b');
    let server6 = lab.add_ipv6();
    let sha = lab.blob_file(3 << 20);
    lab.http_server("http6", &server6.to_string());
    let ready = lab.start_proxy(&["--route", "198.19.0.0/16", "--route", "2001:2:0:100::/56"]);
    assert_eq!(
        ready.trim(),
        format!(
            "berth proxy: routing 198.19.0.0/16, 2001:2:0:100::/56 from netns {} via {} to direct",
            lab.client_ns, lab.tun
        )
    );
    lab.download("-g", &format!("http://[{server6}]:8080/blob.bin"), &sha);
    let ping = lab.client(&format!("ping -6 -c 1 -W 5 {server6}"));
    assert!(
        ping.status.success(),
        "ping {server6}: {}{}",
        String::from_utf8_lossy(&ping.stdout),
        String::from_utf8_lossy(&ping.stderr)
    );
}

/// Full-cone UDP: once the client sent to 198.19.N.1:7, a datagram from
/// 198.19.N.1:8 (a remote it never sent to) to the mapping's public
/// endpoint reaches the client's socket, from 198.19.N.1:8.
#[test]
fn berth_proxy_udp_is_full_cone() {
    if !precondition("the berth proxy full-cone test", &["ip", "python3"]) {
        return;
    }
    let mut lab = Lab::new('c');
    let server = lab.server();
    let seen = lab.udp_echo();
    lab.start_proxy(&["--udp-nat", "full-cone"]);
    let udp = lab.client_python(
        "
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
for msg in (b'hello', b'poke'):
    s.sendto(msg, (sys.argv[1], 7))
    data, addr = s.recvfrom(2048)
    print(data.decode(), addr[0], addr[1])
",
        &[&server.to_string()],
    );
    assert_eq!(
        String::from_utf8_lossy(&udp.stdout),
        format!("hello {server} 7\nfrom 8 {server} 8\n"),
        "udp: {}",
        String::from_utf8_lossy(&udp.stderr)
    );
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0], seen[1], "one mapping, one public endpoint");
    let rows = lab.relays();
    let udp_rows: Vec<_> = rows.iter().filter(|r| r["proto"] == "udp").collect();
    assert_eq!(udp_rows.len(), 1, "{rows:?}");
    assert_eq!(udp_rows[0]["destination"], "*:*", "full cone");
    assert_eq!(udp_rows[0]["bytes_down"], "hello".len() + "from 8".len());
}

/// Echoes each connection's bytes back; keeps it open until the client
/// closes. Listens on `argv[1]:argv[2]`.
const ECHO_SERVER: &str = "
import resource, selectors, socket, sys
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
want = 4096
if soft < want:
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(hard, want)))
sel = selectors.DefaultSelector()
ls = socket.socket()
ls.bind((sys.argv[1], int(sys.argv[2])))
ls.listen(4096)
ls.setblocking(False)
sel.register(ls, selectors.EVENT_READ)
while True:
    for key, _ in sel.select():
        s = key.fileobj
        if s is ls:
            c, _ = ls.accept()
            c.setblocking(False)
            sel.register(c, selectors.EVENT_READ)
            continue
        try:
            data = s.recv(4096)
        except OSError:
            data = b''
        if data:
            s.setblocking(True)
            s.sendall(data)
            s.setblocking(False)
        else:
            sel.unregister(s)
            s.close()
";

/// Opens `argv[3]` connections to `argv[1]:argv[2]`, writes a distinct
/// line on each, reads each echo back and prints how many matched; then,
/// all still open, waits for a line on stdin before closing them all.
const MANY_CLIENTS: &str = "
import resource, socket, sys
n = int(sys.argv[3])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
want = n + 256
if soft < want:
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(hard, want)))
socks = []
for i in range(n):
    socks.append(socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=30))
for i, s in enumerate(socks):
    s.sendall(b'flow %d\\n' % i)
ok = 0
for i, s in enumerate(socks):
    want = b'flow %d\\n' % i
    got = b''
    while len(got) < len(want):
        d = s.recv(len(want) - len(got))
        if not d:
            break
        got += d
    ok += got == want
print('echoed', ok)
sys.stdin.readline()
for s in socks:
    s.close()
print('closed')
";

/// 1,000 TCP connections open at once through the proxy, each carrying its
/// own line both ways, all listed by `berth ss --relays` while open and
/// gone once closed.
#[test]
fn berth_proxy_holds_1000_tcp_flows() {
    const FLOWS: usize = 1000;
    if !precondition("the berth proxy 1,000-flow test", &["ip", "python3", "ss"]) {
        return;
    }
    let mut lab = Lab::new('d');
    let server = lab.server().to_string();
    lab.spawn_server(
        "echo",
        &["python3", "-c", ECHO_SERVER, &server, "9100"],
        ("tcp", 9100),
    );
    lab.start_proxy(&[]);
    let (mut stdin, out) =
        lab.spawn_client_python(MANY_CLIENTS, &[&server, "9100", &FLOWS.to_string()]);
    assert_eq!(out.next("the clients"), format!("echoed {FLOWS}"));
    let rows = lab.relays();
    let tcp = rows.iter().filter(|r| r["proto"] == "tcp").count();
    assert!(
        tcp >= FLOWS,
        "{tcp} TCP relays listed while {FLOWS} are open"
    );
    stdin.write_all(b"close\n").unwrap();
    assert_eq!(out.next("the clients"), "closed");
    relays_until(&lab, "every TCP relay ends once closed", |rows| {
        rows.iter().all(|r| r["proto"] != "tcp")
    });
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
        &["--route", "198.18.0.0/16"],
        &["--dns", "fake-ip", "--route", "198.18.128.0/24"],
        &["--dns", "fake-ip", "--fake-ip-range", "198.18.0.0/23"],
        &["--dns", "forward", "--dns-server", "not-an-address"],
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

/// `--icmp forward`: a ping to a host that answers this host's ping is
/// answered; a ping to an address nobody has is not (with the default
/// `--icmp local` the proxy would answer both).
#[test]
fn berth_proxy_forwards_pings_only_to_hosts_that_answer() {
    if !precondition("the berth proxy ICMP forward test", &["ip", "ping"]) {
        return;
    }
    let mut lab = Lab::new('e');
    let net = format!("198.19.{}.0/24", lab.net);
    lab.start_proxy(&["--route", &net, "--icmp", "forward"]);
    let server = lab.server();
    let ping = lab.client(&format!("ping -c 1 -W 10 {server}"));
    assert!(
        ping.status.success(),
        "ping {server}: {}",
        String::from_utf8_lossy(&ping.stdout)
    );
    let nobody = format!("198.19.{}.77", lab.net);
    let ping = lab.client(&format!("ping -c 1 -W 2 {nobody}"));
    assert!(
        !ping.status.success(),
        "nobody has {nobody}, yet: {}",
        String::from_utf8_lossy(&ping.stdout)
    );
    assert!(lab.stop_proxy().success());
}

/// A DNS server that answers each A query over TCP with its own address
/// (argv[1]), printing `query NAME TYPE` for each.
const TCP_DNS: &str = r#"
import socket, struct, sys
ip = sys.argv[1]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((ip, 53))
s.listen(16)
while True:
    c, _ = s.accept()
    with c:
        while True:
            h = c.recv(2, socket.MSG_WAITALL)
            if len(h) < 2:
                break
            q = c.recv(struct.unpack("!H", h)[0], socket.MSG_WAITALL)
            i, labels = 12, []
            while q[i]:
                labels.append(q[i + 1:i + 1 + q[i]].decode())
                i += 1 + q[i]
            qtype = struct.unpack("!H", q[i + 1:i + 3])[0]
            print("query", ".".join(labels), qtype, flush=True)
            ans = b""
            if qtype == 1:
                ans = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton(ip)
            r = q[:2] + struct.pack("!HHHHH", 0x8180, 1, 1 if ans else 0, 0, 0) + q[12:i + 5] + ans
            c.sendall(struct.pack("!H", len(r)) + r)
"#;

/// `--dns forward`: the namespace's resolver (resolv.conf names berth)
/// gets its answer from the DNS server, reached over TCP through the
/// upstream.
#[test]
fn berth_proxy_forwards_dns_over_tcp() {
    if !precondition(
        "the berth proxy DNS forward test",
        &["ip", "python3", "ss", "getent"],
    ) {
        return;
    }
    let mut lab = Lab::new('f');
    let server = lab.server().to_string();
    let log = lab.spawn_server(
        "dns",
        &["python3", "-u", "-c", TCP_DNS, &server],
        ("tcp", 53),
    );
    let net = format!("198.19.{}.0/24", lab.net);
    let dns_server = format!("{server}:53");
    lab.start_proxy(&[
        "--route",
        &net,
        "--dns",
        "forward",
        "--dns-server",
        &dns_server,
    ]);
    let got = lab.client("getent ahostsv4 printer.berth.test");
    let out = String::from_utf8_lossy(&got.stdout);
    assert!(
        out.lines().next().is_some_and(|l| l.starts_with(&server)),
        "getent: {out}{}",
        String::from_utf8_lossy(&got.stderr)
    );
    common::proxy::wait_for_log(&log, "query printer.berth.test 1");
    assert!(lab.stop_proxy().success());
    assert!(
        !std::path::Path::new(&format!("/etc/netns/{}/resolv.conf", lab.client_ns)).exists(),
        "the namespace's resolv.conf is removed"
    );
}

/// An upstream that cannot be reached (an address nobody on the server's
/// link has: ARP fails, the host's connect says "no route to host"): the
/// client's SYN is answered with an ICMP host unreachable, so its connect
/// fails the same way, never a connection that succeeds and is then cut.
#[test]
fn berth_proxy_refuses_an_unreachable_upstream_with_an_icmp_unreachable() {
    if !precondition("the berth proxy unreachable test", &["ip", "python3"]) {
        return;
    }
    let mut lab = Lab::new('g');
    let net = format!("198.19.{}.0/24", lab.net);
    lab.start_proxy(&["--route", &net]);
    let nobody = format!("198.19.{}.77", lab.net);
    let out = lab.client_python(
        "
import errno, socket, sys
try:
    socket.create_connection((sys.argv[1], 80), timeout=60)
    print('connected')
except OSError as e:
    print(errno.errorcode.get(e.errno, e))
",
        &[&nobody],
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "EHOSTUNREACH",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(lab.stop_proxy().success());
}

/// A server that half-closes first: it greets, shuts its sending side,
/// then reads the client's answer to the end (argv[1]: its address).
const GREET_FIRST: &str = r#"
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 9200))
s.listen(1)
c, _ = s.accept()
c.sendall(b"hello from the server")
c.shutdown(socket.SHUT_WR)
got = b""
while True:
    d = c.recv(4096)
    if not d:
        break
    got += d
print("got", got.decode(), flush=True)
"#;

/// Half-close the other way round (the server's FIN first, carried to the
/// client, whose data still flows back), and DNS over TCP with
/// `--dns fake-ip`: a query over TCP to any address on port 53 gets a pool
/// address.
#[test]
fn berth_proxy_carries_a_server_half_close_and_answers_dns_over_tcp() {
    if !precondition(
        "the berth proxy server half-close test",
        &["ip", "python3", "ss"],
    ) {
        return;
    }
    let mut lab = Lab::new('h');
    let server = lab.server().to_string();
    let log = lab.spawn_server(
        "greet",
        &["python3", "-u", "-c", GREET_FIRST, &server],
        ("tcp", 9200),
    );
    let net = format!("198.19.{}.0/24", lab.net);
    lab.start_proxy(&["--route", &net, "--dns", "fake-ip"]);
    let out = lab.client_python(
        "
import socket, sys
s = socket.create_connection((sys.argv[1], 9200), timeout=30)
got = b''
while True:
    d = s.recv(4096)
    if not d:
        break
    got += d
print(got.decode())
s.sendall(b'bye after your FIN')
s.shutdown(socket.SHUT_WR)
",
        &[&server],
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "hello from the server",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    common::proxy::wait_for_log(&log, "got bye after your FIN");

    // DNS over TCP, to a routed address where no resolver is.
    let nowhere = format!("198.19.{}.250", lab.net);
    let dns = lab.client_python(
        r#"
import socket, struct, sys
q = struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(l)]) + l.encode() for l in "tcp.berth.test".split(".")) + b"\x00"
q += struct.pack("!HH", 1, 1)
s = socket.create_connection((sys.argv[1], 53), timeout=30)
s.sendall(struct.pack("!H", len(q)) + q)
n = struct.unpack("!H", s.recv(2, socket.MSG_WAITALL))[0]
r = s.recv(n, socket.MSG_WAITALL)
print(socket.inet_ntoa(r[-4:]), struct.unpack("!H", r[6:8])[0])
"#,
        &[&nowhere],
    );
    let answer = String::from_utf8_lossy(&dns.stdout).trim().to_string();
    let (ip, count) = answer.split_once(' ').unwrap_or(("", ""));
    let ip: std::net::Ipv4Addr = ip
        .parse()
        .unwrap_or_else(|_| panic!("{answer:?}: {}", String::from_utf8_lossy(&dns.stderr)));
    assert_eq!(count, "1", "one answer");
    assert_eq!(ip.octets()[..2], [198, 18], "{ip}");
    assert!(ip.octets()[2] >= 128, "{ip} is in 198.18.128.0/17");
    assert!(lab.stop_proxy().success());
}
