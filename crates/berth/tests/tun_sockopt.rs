//! Socket options with the Linux kernel as the peer, over a TUN device,
//! each test in a network namespace of its own (removed at the end, also
//! on failure), as `tun.rs`: what the kernel's own sockets report of
//! berth's packets, read with Python in the namespace. `TCP_MAXSEG` (the
//! kernel's `TCP_MAXSEG` and the segment size it measured, `tcpi_rcv_mss`),
//! `IP_TOS` on TCP (the accepted socket's `IP_PKTOPTIONS` with
//! `IP_RECVTOS`: the TOS of the ACK that completed the handshake) and UDP
//! (`IP_RECVTOS` on each datagram), `TCP_CORK` (`tcpi_data_segs_in`: ten
//! corked writes arrive as one segment), keepalive probes the kernel
//! answers, then a connection to it that iptables cuts ends with
//! `TimedOut`. Needs root: runs for real when `CI=true` (and fails if
//! setup fails), skips with a printed reason elsewhere.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use berth::NetStack;
use berth::net::{TcpKeepalive, TcpListener, TcpStream, UdpSocket};
use berth::tokio_net::TcpSocket;
use berth_device::kernel::NetNs;
use berth_device::testing::precondition;
use berth_device::tun::{TunConfig, TunDevice};
use tokio::io::AsyncWriteExt;

/// Whether to run `test`: see `berth_device::testing` for the rule.
fn should_run(test: &str) -> bool {
    precondition(test, &["ip", "python3", "iptables"])
}

/// A berth host on a TUN device whose kernel side lives in a fresh
/// namespace. Fields drop in order: the stack (closing the device), then
/// the namespace.
struct Host {
    stack: NetStack,
    ns: NetNs,
    berth: Ipv4Addr,
    kernel: Ipv4Addr,
}

fn host(tag: &str, net: u8) -> Host {
    let pid = std::process::id();
    let ns = NetNs::create(&format!("berth-o{pid}-{tag}")).unwrap();
    let config = TunConfig::new(&format!("bo{tag}{}", pid % 10_000), 1500);
    let tun = TunDevice::with_config(&config).unwrap();
    let mut iface = tun.iface().unwrap();
    iface.move_to_netns(ns.name()).unwrap();
    let kernel = Ipv4Addr::new(198, 18, net, 1);
    let berth = Ipv4Addr::new(198, 18, net, 2);
    iface.add_addr(IpAddr::V4(kernel), 24).unwrap();
    iface.set_up().unwrap();
    let stack = NetStack::builder()
        .addr(IpAddr::V4(berth))
        .seed(u64::from(pid))
        .build(tun)
        .unwrap();
    Host {
        stack,
        ns,
        berth,
        kernel,
    }
}

/// A Python program running in the namespace, killed when dropped; what it
/// prints is read line by line.
struct Python {
    child: Child,
    out: BufReader<ChildStdout>,
}

impl Python {
    fn start(ns: &NetNs, script: &str) -> Self {
        let mut child = Command::new("ip")
            .args(["netns", "exec", ns.name(), "python3", "-u", "-c", script])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let out = BufReader::new(child.stdout.take().unwrap());
        Self { child, out }
    }

    /// The next line it prints (a blocking read: it prints "ready" once
    /// its socket is bound, and its results at the end).
    fn line(&mut self) -> String {
        let mut line = String::new();
        self.out.read_line(&mut line).unwrap();
        assert!(!line.is_empty(), "the Python program ended early");
        line.trim().to_owned()
    }

    /// Its next line as whitespace-separated integers.
    fn numbers(&mut self) -> Vec<i64> {
        self.line()
            .split_whitespace()
            .map(|n| n.parse().unwrap())
            .collect()
    }
}

impl Drop for Python {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `struct tcp_info` offsets (include/uapi/linux/tcp.h): `tcpi_rcv_mss`
/// and `tcpi_data_segs_in`.
const TCP_INFO_READ: &str = r#"
def tcp_info(c):
    info = c.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 232)
    return struct.unpack_from("I", info, 20)[0], struct.unpack_from("I", info, 152)[0]
"#;

/// berth connects from a tokio `TcpSocket` with `TCP_MAXSEG` 700,
/// `IP_TOS` 0xb9 and `TCP_CORK` set, and writes ten small pieces: the
/// kernel's accepted socket sends with an MSS of 688 (700 less the
/// timestamps), saw the DSCP without the ECN bits berth refused to take
/// (0xb8) on the handshake's ACK, and got the ten writes as one segment.
#[test]
fn the_kernel_sees_berths_mss_tos_and_cork() {
    if !should_run("the_kernel_sees_berths_mss_tos_and_cork") {
        return;
    }
    let h = host("a", 51);
    let script = format!(
        r#"
import socket, struct
{TCP_INFO_READ}
IP_RECVTOS, IP_PKTOPTIONS, IP_TOS = 13, 9, 1
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_IP, IP_RECVTOS, 1)
s.bind(("{kernel}", 9001))
s.listen(8)
print("ready", flush=True)
c, _ = s.accept()
opts = c.getsockopt(socket.IPPROTO_IP, IP_PKTOPTIONS, 64)
tos, i = -1, 0
while i + 20 <= len(opts):
    length, level, kind = struct.unpack_from("Qii", opts, i)
    if level == socket.IPPROTO_IP and kind == IP_TOS:
        tos = struct.unpack_from("i", opts, i + 16)[0]
    i += (length + 7) & ~7
maxseg = c.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG)
n = 0
while True:
    b = c.recv(65536)
    if not b:
        break
    n += len(b)
rcv_mss, data_segs_in = tcp_info(c)
print(maxseg, tos, n, data_segs_in, flush=True)
"#,
        kernel = h.kernel
    );
    let mut py = Python::start(&h.ns, &script);
    assert_eq!(py.line(), "ready");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let kernel = SocketAddr::new(IpAddr::V4(h.kernel), 9001);
    let mss = rt.block_on(async {
        let socket = TcpSocket::new_v4(&h.stack).unwrap();
        socket.set_mss(700).unwrap();
        socket.set_tos_v4(0xb9).unwrap();
        socket.set_nodelay(true).unwrap();
        socket.set_cork(true).unwrap();
        let mut stream = socket.connect(kernel).await.unwrap();
        for _ in 0..10 {
            stream.write_all(&[b'x'; 60]).await.unwrap();
        }
        stream.set_cork(false).unwrap();
        let mss = stream.mss().unwrap();
        stream.shutdown().await.unwrap();
        mss
    });
    let got = py.numbers();
    assert_eq!(
        mss, 688,
        "berth sends with min(700, the kernel's 1460) less 12"
    );
    assert_eq!(got[0], 688, "the kernel's TCP_MAXSEG");
    assert_eq!(got[1], 0xb8, "the TOS the kernel received");
    assert_eq!(got[2], 600, "every byte");
    assert_eq!(got[3], 1, "ten corked writes, one segment");
}

/// A berth listener with `TCP_MAXSEG` 1000: the kernel client sends with
/// an MSS of 988, and the segments berth sends it measure 988 bytes
/// (`tcpi_rcv_mss`).
#[test]
fn the_kernel_sees_a_berth_listeners_mss() {
    if !should_run("the_kernel_sees_a_berth_listeners_mss") {
        return;
    }
    let h = host("b", 52);
    let listener = TcpListener::bind(&h.stack, (h.berth, 9002)).unwrap();
    listener.set_mss(1000).unwrap();
    let script = format!(
        r#"
import socket, struct
{TCP_INFO_READ}
c = socket.create_connection(("{berth}", 9002))
maxseg = c.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG)
n = 0
while True:
    b = c.recv(65536)
    if not b:
        break
    n += len(b)
rcv_mss, data_segs_in = tcp_info(c)
print(maxseg, rcv_mss, n, flush=True)
"#,
        berth = h.berth
    );
    let mut py = Python::start(&h.ns, &script);
    let (mut s, _) = listener.accept().unwrap();
    assert_eq!(s.mss().unwrap(), 988);
    s.write_all(&vec![7u8; 100_000]).unwrap();
    drop(s);
    assert_eq!(py.numbers(), [988, 988, 100_000]);
}

/// `IP_TOS` on a berth UDP socket reaches the kernel whole, ECN bits
/// included, as a Linux UDP socket's does.
#[test]
fn the_kernel_receives_a_udp_sockets_tos() {
    if !should_run("the_kernel_receives_a_udp_sockets_tos") {
        return;
    }
    let h = host("c", 53);
    let script = format!(
        r#"
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, 13, 1)
s.bind(("{kernel}", 9003))
print("ready", flush=True)
data, anc, flags, addr = s.recvmsg(100, 64)
tos = [c[2][0] for c in anc if c[0] == socket.IPPROTO_IP and c[1] == 1]
print(tos[0], len(data), flush=True)
"#,
        kernel = h.kernel
    );
    let mut py = Python::start(&h.ns, &script);
    assert_eq!(py.line(), "ready");
    let udp = UdpSocket::bind(&h.stack, (h.berth, 0)).unwrap();
    udp.set_tos_v4(0xba).unwrap();
    udp.send_to(b"marked", (h.kernel, 9003)).unwrap();
    assert_eq!(py.numbers(), [0xba, 6]);
}

/// berth's keepalive probes (an ACK one below SND.UNA) are answered by the
/// kernel, which keeps the connection; once iptables drops everything the
/// kernel would send, the unanswered probes end it with `TimedOut`.
#[test]
fn kernel_answers_keepalives_until_cut_off() {
    if !should_run("kernel_answers_keepalives_until_cut_off") {
        return;
    }
    let h = host("d", 54);
    let script = format!(
        r#"
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("{kernel}", 9004))
s.listen(8)
print("ready", flush=True)
c, _ = s.accept()
try:
    c.recv(1)
except ConnectionResetError:
    pass  # berth's reset once its probes went unanswered
"#,
        kernel = h.kernel
    );
    let mut py = Python::start(&h.ns, &script);
    assert_eq!(py.line(), "ready");
    let mut c = TcpStream::connect(&h.stack, (h.kernel, 9004)).unwrap();
    c.set_tcp_keepalive(
        &TcpKeepalive::new()
            .with_time(Duration::from_secs(1))
            .with_interval(Duration::from_secs(1))
            .with_retries(2),
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(3500));
    let probes = c.info().unwrap().stats.keepalives;
    assert!(probes >= 2, "{probes} probes");
    assert!(
        c.take_error().unwrap().is_none(),
        "the kernel answered them"
    );
    let out = Command::new("ip")
        .args(["netns", "exec", h.ns.name(), "iptables"])
        .args(["-A", "OUTPUT", "-p", "tcp", "--sport", "9004", "-j", "DROP"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "iptables: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let start = Instant::now();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let e = c.read(&mut [0u8; 8]).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
}
