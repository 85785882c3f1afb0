//! berth over a real TUN device with the Linux kernel as the peer, each test
//! in a network namespace of its own (removed at the end, also on failure):
//! berth downloads from Linux's `python3 -m http.server`, Linux `nc` sends
//! 50 MiB to a berth discard server, 500 concurrent Linux clients, a 20 MiB
//! transfer under 2% kernel-side loss (iptables `statistic`), refusal and
//! half-close, multicast both ways over TAP and TUN, Linux clients beyond
//! a full accept queue reset with `tcp_abort_on_overflow`, a zero-window
//! Linux peer that falls silent timing out, a Linux client reopening its
//! 4-tuple against berth's TIME-WAIT under 5% loss. Needs root: runs for real when
//! `CI=true` (and fails if setup fails), skips with a printed reason
//! elsewhere.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr};
use std::process::{Child, Command, Stdio};

use berth::NetStack;
use berth::net::{TcpListener, TcpStream};
use berth::server::Server;
use berth_device::kernel::NetNs;
use berth_device::testing::precondition;
use berth_device::tun::{TunConfig, TunDevice};
use sha2::{Digest, Sha256};

/// Whether to run `test`: see `berth_device::testing` for the rule.
fn should_run(test: &str) -> bool {
    precondition(test, &["ip", "nc", "python3", "iptables"])
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

/// `offload`: the TUN device passes long TCP segments both ways (checksum
/// offload and TSO through virtio-net headers), as `berth up` has it.
fn host(tag: &str, net: u8, offload: bool) -> Host {
    host_with(tag, net, offload, |_| {})
}

/// [`host`], with `config` changing the stack's configuration.
fn host_with(
    tag: &str,
    net: u8,
    offload: bool,
    configure: impl FnOnce(&mut berth_core::config::StackConfig),
) -> Host {
    let pid = std::process::id();
    let ns = NetNs::create(&format!("berth-r{pid}-{tag}")).unwrap();
    let config = TunConfig::new(&format!("br{tag}{}", pid % 10_000), 1500).with_offload(offload);
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
        .config(configure)
        .build(tun)
        .unwrap();
    Host {
        stack,
        ns,
        berth,
        kernel,
    }
}

fn in_ns(ns: &NetNs, script: &str) -> std::process::Output {
    Command::new("ip")
        .args(["netns", "exec", ns.name(), "sh", "-c", script])
        .output()
        .unwrap()
}

/// The namespace's kernel drops each packet in and out with probability
/// `p` (iptables' `statistic` match; this kernel has no netem).
fn drop_randomly(ns: &NetNs, p: f64) {
    for chain in ["INPUT", "OUTPUT"] {
        let rule =
            format!("iptables -w -A {chain} -m statistic --mode random --probability {p} -j DROP");
        let out = in_ns(ns, &rule);
        assert!(
            out.status.success(),
            "iptables: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

struct Reap(Child);

impl Drop for Reap {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Connects, retrying while the Linux server is still starting (each refused
/// attempt answers at once with a reset); bounded.
fn connect_when_ready(stack: &NetStack, addr: SocketAddr) -> TcpStream {
    for _ in 0..500 {
        match TcpStream::connect(stack, addr) {
            Ok(s) => return s,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                std::thread::yield_now();
            }
            Err(e) => panic!("connect: {e}"),
        }
    }
    panic!("the server at {addr} never came up");
}

#[test]
fn berth_downloads_a_file_from_python_http_server() {
    if !should_run("berth_downloads_a_file_from_python_http_server") {
        return;
    }
    let h = host("a", 31, true);
    let dir = std::env::temp_dir().join(format!("berth-http-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let body: Vec<u8> = (0..5_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(dir.join("file.bin"), &body).unwrap();
    let mut server = Reap(
        Command::new("ip")
            .args([
                "netns",
                "exec",
                h.ns.name(),
                "python3",
                "-u",
                "-m",
                "http.server",
                "8000",
                "--bind",
            ])
            .arg(h.kernel.to_string())
            .arg("--directory")
            .arg(&dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // It prints "Serving HTTP on ..." once listening (a blocking read, not a sleep).
    let mut ready = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(server.0.stdout.as_mut().unwrap()),
        &mut ready,
    )
    .unwrap();
    assert!(ready.starts_with("Serving HTTP"), "{ready}");
    let mut s = connect_when_ready(&h.stack, SocketAddr::new(IpAddr::V4(h.kernel), 8000));
    write!(s, "GET /file.bin HTTP/1.0\r\nHost: {}\r\n\r\n", h.kernel).unwrap();
    let mut response = Vec::new();
    s.read_to_end(&mut response).unwrap();
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let head = String::from_utf8_lossy(&response[..split]);
    assert!(head.starts_with("HTTP/1.0 200"), "{head}");
    assert_eq!(
        Sha256::digest(&response[split..]),
        Sha256::digest(&body),
        "the file arrived intact"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn linux_nc_sends_50_mib_to_a_berth_discard_server() {
    if !should_run("linux_nc_sends_50_mib_to_a_berth_discard_server") {
        return;
    }
    let h = host("b", 32, false);
    let listener = TcpListener::bind(&h.stack, (h.berth, 9)).unwrap();
    let counter = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = vec![0u8; 65536];
        let mut total = 0u64;
        loop {
            match s.read(&mut buf).unwrap() {
                0 => return total,
                n => total += n as u64,
            }
        }
    });
    let out = in_ns(
        &h.ns,
        &format!("head -c 52428800 /dev/zero | nc -N -w 30 {} 9", h.berth),
    );
    assert!(
        out.status.success(),
        "nc: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        counter.join().unwrap(),
        52_428_800,
        "berth counted every byte"
    );
}

#[test]
fn five_hundred_concurrent_linux_clients() {
    if !should_run("five_hundred_concurrent_linux_clients") {
        return;
    }
    let h = host("c", 33, true);
    let listener = TcpListener::bind(&h.stack, (h.berth, 7)).unwrap();
    let server = Server::start(listener, 64, 1024, |mut s, _| {
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        while s.read(&mut byte)? == 1 {
            line.push(byte[0]);
            if byte[0] == b'\n' {
                break;
            }
        }
        s.write_all(&line)?;
        s.shutdown(Shutdown::Write)
    })
    .unwrap();
    let script = format!(
        r#"
import socket, threading
ok = []
def client(i):
    s = socket.create_connection(("{addr}", 7), timeout=60)
    msg = ("request %d\n" % i).encode()
    s.sendall(msg)
    got = b""
    while True:
        chunk = s.recv(100)
        if not chunk:
            break
        got += chunk
    s.close()
    if got == msg:
        ok.append(i)
ts = [threading.Thread(target=client, args=(i,)) for i in range(500)]
[t.start() for t in ts]
[t.join() for t in ts]
print("ok", len(ok))
"#,
        addr = h.berth
    );
    let out = Command::new("ip")
        .args(["netns", "exec", h.ns.name(), "python3", "-c", &script])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "ok 500",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(server.stats().served, 500);
    server.shutdown();
}

#[test]
fn twenty_mib_survive_two_percent_kernel_side_loss() {
    if !should_run("twenty_mib_survive_two_percent_kernel_side_loss") {
        return;
    }
    let h = host("d", 34, true);
    drop_randomly(&h.ns, 0.02);
    let data: Vec<u8> = (0..20u32 << 20)
        .map(|i| (i.wrapping_mul(40_503) >> 7) as u8)
        .collect();
    let expected = Sha256::digest(&data);
    // The Linux peer: a kernel TCP socket in the namespace hashing what it gets.
    let kernel = SocketAddr::new(IpAddr::V4(h.kernel), 9000);
    let listener =
        h.ns.run(move || std::net::TcpListener::bind(kernel))
            .unwrap()
            .unwrap();
    let receiver = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 65536];
        let mut total = 0usize;
        loop {
            match s.read(&mut buf).unwrap() {
                0 => break,
                n => {
                    hasher.update(&buf[..n]);
                    total += n;
                }
            }
        }
        (total, hasher.finalize())
    });
    let mut s = TcpStream::connect(&h.stack, kernel).unwrap();
    s.write_all(&data).unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    let (total, digest) = receiver.join().unwrap();
    assert_eq!(total, data.len());
    assert_eq!(digest, expected, "no corruption under loss");
    let stats = h.stack.with_stack(|st| st.stats().frames_in);
    assert!(stats > 0);
}

#[test]
fn refusal_is_immediate_and_half_close_works_both_ways() {
    if !should_run("refusal_is_immediate_and_half_close_works_both_ways") {
        return;
    }
    let h = host("e", 35, false);
    let err = TcpStream::connect(&h.stack, (h.kernel, 9999)).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);

    // berth half-closes; Linux reads to the end, then answers.
    let kernel = SocketAddr::new(IpAddr::V4(h.kernel), 9001);
    let listener =
        h.ns.run(move || std::net::TcpListener::bind(kernel))
            .unwrap()
            .unwrap();
    let linux = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut req = String::new();
        s.read_to_string(&mut req).unwrap();
        s.write_all(format!("linux got {req}").as_bytes()).unwrap();
    });
    let mut s = TcpStream::connect(&h.stack, kernel).unwrap();
    s.write_all(b"berth's question").unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert_eq!(answer, "linux got berth's question");
    linux.join().unwrap();

    // Linux half-closes; berth reads to the end, then answers.
    let listener = TcpListener::bind(&h.stack, (h.berth, 7000)).unwrap();
    let berth_side = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut req = String::new();
        s.read_to_string(&mut req).unwrap();
        s.write_all(format!("berth got {req}").as_bytes()).unwrap();
    });
    let berth_addr = SocketAddr::new(IpAddr::V4(h.berth), 7000);
    let answer =
        h.ns.run(move || {
            let mut s = std::net::TcpStream::connect(berth_addr).unwrap();
            s.write_all(b"linux's question").unwrap();
            s.shutdown(Shutdown::Write).unwrap();
            let mut answer = String::new();
            s.read_to_string(&mut answer).unwrap();
            answer
        })
        .unwrap();
    assert_eq!(answer, "berth got linux's question");
    berth_side.join().unwrap();
}

#[test]
fn tap_device_with_arp_and_ndp_against_the_kernel() {
    if !should_run("tap_device_with_arp_and_ndp_against_the_kernel") {
        return;
    }
    let pid = std::process::id();
    let ns = NetNs::create(&format!("berth-r{pid}-f")).unwrap();
    let tap = berth_device::tap::TapDevice::create(&format!("brf{}", pid % 10_000), 1500).unwrap();
    let mut iface = tap.iface().unwrap();
    iface.move_to_netns(ns.name()).unwrap();
    iface.add_addr("198.18.36.1".parse().unwrap(), 24).unwrap();
    iface
        .add_addr("2001:2:0:36::1".parse().unwrap(), 64)
        .unwrap();
    iface.set_up().unwrap();
    let stack = NetStack::builder()
        .addr("198.18.36.2".parse().unwrap())
        .addr("2001:2:0:36::2".parse().unwrap())
        .seed(7)
        .build(tap)
        .unwrap();
    // The kernel resolves berth with ARP and NDP, then pings it.
    let ping = in_ns(
        &ns,
        "ping -c 2 -i 0.2 -W 2 198.18.36.2 && ping -6 -c 2 -i 0.2 -W 3 2001:2:0:36::2",
    );
    assert!(
        ping.status.success(),
        "{}{}",
        String::from_utf8_lossy(&ping.stdout),
        String::from_utf8_lossy(&ping.stderr)
    );
    // berth resolves the kernel and connects to it (IPv4 and IPv6).
    for kernel in ["198.18.36.1:9100", "[2001:2:0:36::1]:9101"] {
        let kernel: SocketAddr = kernel.parse().unwrap();
        let listener = ns
            .run(move || std::net::TcpListener::bind(kernel))
            .unwrap()
            .unwrap();
        let linux = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut got = Vec::new();
            s.read_to_end(&mut got).unwrap();
            got.len()
        });
        let mut s = TcpStream::connect(&stack, kernel).unwrap();
        s.write_all(&vec![9u8; 300_000]).unwrap();
        s.shutdown(Shutdown::Write).unwrap();
        assert_eq!(linux.join().unwrap(), 300_000);
    }
    let stats = stack.stats();
    // berth answered the kernel's ARP request and Neighbor Solicitation (and
    // learned the kernel's MAC from them, so it needed to ask nothing).
    assert!(
        stats.arp_replies >= 1 && stats.neighbor_adverts >= 1,
        "{stats:?}"
    );
    drop(stack);
}

/// Routes and neighbours over TAP with the kernel as the neighbour: with
/// its address given a prefix and no default route, a destination off the
/// prefix fails at once with NetworkUnreachable; an on-link address that
/// nobody answers ARP for fails the connect with HostUnreachable after
/// three probes (about 3 s), as on Linux; the kernel is reached as before.
#[test]
fn tap_routes_and_a_silent_neighbour() {
    if !should_run("tap_routes_and_a_silent_neighbour") {
        return;
    }
    let pid = std::process::id();
    let ns = NetNs::create(&format!("berth-r{pid}-g")).unwrap();
    let tap = berth_device::tap::TapDevice::create(&format!("brg{}", pid % 10_000), 1500).unwrap();
    let mut iface = tap.iface().unwrap();
    iface.move_to_netns(ns.name()).unwrap();
    iface.add_addr("198.18.37.1".parse().unwrap(), 24).unwrap();
    iface.set_up().unwrap();
    let stack = NetStack::builder()
        .addr_prefix("198.18.37.2".parse().unwrap(), 24)
        .seed(8)
        .build(tap)
        .unwrap();
    let off_link: SocketAddr = "198.19.37.9:80".parse().unwrap();
    assert_eq!(
        TcpStream::connect(&stack, off_link).unwrap_err().kind(),
        std::io::ErrorKind::NetworkUnreachable
    );
    let silent: SocketAddr = "198.18.37.99:80".parse().unwrap();
    let started = std::time::Instant::now();
    assert_eq!(
        TcpStream::connect(&stack, silent).unwrap_err().kind(),
        std::io::ErrorKind::HostUnreachable
    );
    // Three ARP probes a second apart; far less than the SYN retries'
    // two minutes (a bound on a hang, not a timing assertion).
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
    let kernel: SocketAddr = "198.18.37.1:9102".parse().unwrap();
    let listener = ns
        .run(move || std::net::TcpListener::bind(kernel))
        .unwrap()
        .unwrap();
    let linux = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut got = Vec::new();
        s.read_to_end(&mut got).unwrap();
        got.len()
    });
    let mut s = TcpStream::connect(&stack, kernel).unwrap();
    s.write_all(b"on-link").unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    assert_eq!(linux.join().unwrap(), 7);
    drop(stack);
}

/// The kernel's and berth's sides of a multicast test: berth sends to a
/// group a kernel socket joined, the kernel sends to a group a berth socket
/// joined, over IPv4 and IPv6.
fn multicast_with_the_kernel(tag: &str, net: u8, tap: bool) {
    use std::net::{Ipv6Addr, SocketAddrV6};
    let pid = std::process::id();
    let ns = NetNs::create(&format!("berth-r{pid}-{tag}")).unwrap();
    let name = format!("br{tag}{}", pid % 10_000);
    let kernel4 = Ipv4Addr::new(198, 18, net, 1);
    let berth4 = Ipv4Addr::new(198, 18, net, 2);
    let kernel6: Ipv6Addr = format!("2001:2:0:{net}::1").parse().unwrap();
    let berth6: Ipv6Addr = format!("2001:2:0:{net}::2").parse().unwrap();
    let builder = NetStack::builder()
        .addr(IpAddr::V4(berth4))
        .addr(IpAddr::V6(berth6))
        .seed(u64::from(pid));
    let (stack, mut iface) = if tap {
        let dev = berth_device::tap::TapDevice::create(&name, 1500).unwrap();
        let iface = dev.iface().unwrap();
        (builder.build(dev).unwrap(), iface)
    } else {
        let dev = TunDevice::create(&name, 1500).unwrap();
        let iface = dev.iface().unwrap();
        (builder.build(dev).unwrap(), iface)
    };
    iface.move_to_netns(ns.name()).unwrap();
    iface.add_addr(IpAddr::V4(kernel4), 24).unwrap();
    // No duplicate address detection: the address is usable at once.
    ns.ip(&[
        "addr",
        "add",
        &format!("{kernel6}/64"),
        "dev",
        &name,
        "nodad",
    ])
    .unwrap();
    iface.set_up().unwrap();
    // The kernel sends to 239.0.0.0/8 through the device (IPv6 groups go
    // by the scope id below).
    ns.ip(&["route", "add", "239.0.0.0/8", "dev", &name])
        .unwrap();
    let shown = ns.ip(&["-o", "link", "show", "dev", &name]).unwrap();
    let ifindex: u32 = shown.split(':').next().unwrap().trim().parse().unwrap();
    let group4 = Ipv4Addr::new(239, 1, 2, 3);
    let group6: Ipv6Addr = "ff15::1:2:3".parse().unwrap();
    let bound = Some(std::time::Duration::from_secs(10));

    // berth to the kernel: a kernel socket joins, berth sends.
    let (k4, k6) = ns
        .run(move || {
            let k4 = std::net::UdpSocket::bind("0.0.0.0:7000").unwrap();
            k4.join_multicast_v4(&group4, &kernel4).unwrap();
            let k6 = std::net::UdpSocket::bind("[::]:7006").unwrap();
            k6.join_multicast_v6(&group6, ifindex).unwrap();
            (k4, k6)
        })
        .unwrap();
    k4.set_read_timeout(bound).unwrap();
    k6.set_read_timeout(bound).unwrap();
    let b4 = berth::net::UdpSocket::bind(&stack, "0.0.0.0:0").unwrap();
    let b6 = berth::net::UdpSocket::bind(&stack, "[::]:0").unwrap();
    b4.send_to(b"from berth", (group4, 7000)).unwrap();
    b6.send_to(b"from berth, v6", SocketAddr::new(group6.into(), 7006))
        .unwrap();
    let mut buf = [0u8; 64];
    let (n, from) = k4.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"from berth");
    assert_eq!(from.ip(), IpAddr::V4(berth4));
    let (n, from) = k6.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"from berth, v6");
    assert_eq!(from.ip(), IpAddr::V6(berth6));

    // The kernel to berth: berth joins, a kernel socket sends.
    let m4 = berth::net::UdpSocket::bind(&stack, "0.0.0.0:7100").unwrap();
    let m6 = berth::net::UdpSocket::bind(&stack, "[::]:7106").unwrap();
    m4.set_read_timeout(bound).unwrap();
    m6.set_read_timeout(bound).unwrap();
    m4.join_multicast_v4(&group4, &Ipv4Addr::UNSPECIFIED)
        .unwrap();
    m6.join_multicast_v6(&group6, 0).unwrap();
    let (s4, s6) = ns
        .run(move || {
            let s4 = std::net::UdpSocket::bind((kernel4, 0)).unwrap();
            let s6 = std::net::UdpSocket::bind(SocketAddr::new(kernel6.into(), 0)).unwrap();
            (s4, s6)
        })
        .unwrap();
    s4.send_to(b"from linux", (group4, 7100)).unwrap();
    s6.send_to(
        b"from linux, v6",
        SocketAddrV6::new(group6, 7106, 0, ifindex),
    )
    .unwrap();
    let (n, from) = m4.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"from linux");
    assert_eq!(from.ip(), IpAddr::V4(kernel4));
    let (n, from) = m6.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"from linux, v6");
    assert_eq!(from.ip(), IpAddr::V6(kernel6));
    let stats = stack.stats();
    assert!(
        stats.igmp_reports_out >= 1 && stats.mld_reports_out >= 1,
        "{stats:?}"
    );
    assert_eq!(stats.multicast_in, 2, "{stats:?}");
    drop(stack);
}

/// Multicast with the kernel over TAP: berth's frames to a group reach a
/// kernel socket that joined it (the group's Ethernet address, RFC 1112
/// 6.4 and RFC 2464 7), and berth takes the kernel's frames to a group it
/// joined.
#[test]
fn tap_multicast_both_ways_with_the_kernel() {
    if !should_run("tap_multicast_both_ways_with_the_kernel") {
        return;
    }
    multicast_with_the_kernel("m", 38, true);
}

/// The same over TUN (raw IP packets).
#[test]
fn tun_multicast_both_ways_with_the_kernel() {
    if !should_run("tun_multicast_both_ways_with_the_kernel") {
        return;
    }
    multicast_with_the_kernel("n", 39, false);
}

/// Linux clients beyond a full accept queue, with `tcp_abort_on_overflow`:
/// 200 connections opened at once to a listener nobody accepts from (its
/// backlog is 128); the handshakes berth cannot queue are answered with a
/// RST, which the kernel reports as ECONNRESET, and exactly the backlog's
/// worth wait to be accepted.
#[test]
fn abort_on_overflow_resets_linux_clients_beyond_the_backlog() {
    if !should_run("abort_on_overflow_resets_linux_clients_beyond_the_backlog") {
        return;
    }
    let h = host_with("k", 41, false, |c| c.tcp_abort_on_overflow = true);
    let listener = TcpListener::bind(&h.stack, (h.berth, 7100)).unwrap();
    // Non-blocking connects all at once, then wait (bounded) until some
    // connection is reset; report how many were.
    let script = format!(
        r#"python3 -c '
import errno, select, socket, time
socks = []
for _ in range(200):
    s = socket.socket()
    s.setblocking(False)
    s.connect_ex(("{berth}", 7100))
    socks.append(s)
p = select.poll()
for s in socks:
    p.register(s, select.POLLIN | select.POLLERR)
reset = set()
deadline = time.monotonic() + 30
while not reset and time.monotonic() < deadline:
    for fd, ev in p.poll(1000):
        s = next(x for x in socks if x.fileno() == fd)
        if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == errno.ECONNRESET:
            reset.add(fd)
            p.unregister(fd)
print(len(reset))
'"#,
        berth = h.berth
    );
    let out = in_ns(&h.ns, &script);
    let reset: usize = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    assert!(reset > 0, "no client was reset");
    assert!(h.stack.stats().accept_queue_overflow > 0);
    // What waits in the accept queue is the backlog's worth, all alive.
    listener.set_nonblocking(true).unwrap();
    let mut accepted = 0;
    while listener.accept().is_ok() {
        accepted += 1;
    }
    assert_eq!(accepted, 128, "the backlog's worth waited to be accepted");
}

/// A Linux peer that closes its window and answers berth's probes keeps the
/// connection open (RFC 1122 4.2.2.17); once it falls silent (iptables
/// drops everything from berth), the probes go unanswered and berth's
/// connection times out instead of probing forever. With rto_max 1 s and 3
/// retries, as small as the core allows, so the test is short.
#[test]
fn a_zero_window_linux_peer_that_falls_silent_times_out() {
    if !should_run("a_zero_window_linux_peer_that_falls_silent_times_out") {
        return;
    }
    let h = host_with("l", 42, false, |c| {
        c.tcp.rto_max = berth_core::time::Duration::from_secs(1);
        c.tcp.retries = 3;
    });
    let kernel = SocketAddr::new(IpAddr::V4(h.kernel), 9100);
    let listener =
        h.ns.run(move || std::net::TcpListener::bind(kernel))
            .unwrap()
            .unwrap();
    let mut s = TcpStream::connect(&h.stack, kernel).unwrap();
    // The kernel accepts and never reads: its window closes.
    let (held, _) = listener.accept().unwrap();
    // Writes wait at most 200 ms for room, so that the loop looks at the
    // probe count while the window stays shut.
    s.set_write_timeout(Some(std::time::Duration::from_millis(200)))
        .unwrap();
    let chunk = vec![7u8; 64 * 1024];
    let probes = |s: &TcpStream| s.info().unwrap().stats.window_probes;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    // Write while it takes; then wait for probes beyond the retry count,
    // all answered: the connection stays.
    while probes(&s) < 5 {
        assert!(std::time::Instant::now() < deadline, "no window probes");
        match s.write(&chunk) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => panic!("write: {e}"),
        }
    }
    assert_eq!(s.info().unwrap().state.to_string(), "ESTABLISHED");
    // Now the kernel falls silent.
    let drop_rule = format!("iptables -w -A INPUT -s {} -j DROP", h.berth);
    assert!(in_ns(&h.ns, &drop_rule).status.success());
    s.set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .unwrap();
    let mut buf = [0u8; 16];
    let e = s.read(&mut buf).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::TimedOut, "{e}");
    drop(held);
}

/// Says one line, then closes first: berth's side of each connection ends
/// in TIME-WAIT, in the compact form (the session closed it).
struct OneLine;

impl berth::Session for OneLine {
    fn opened(&mut self, io: &mut berth::SessionIo<'_, '_>) {
        let _ = io.write(b"berth says hi\n");
        io.close();
    }
    fn readable(&mut self, io: &mut berth::SessionIo<'_, '_>) {
        let mut buf = [0u8; 64];
        while let Ok(1..) = io.read(&mut buf) {}
    }
}

/// A Linux client connects again and again from one port to a berth
/// server that closes first, under 5% loss each way in the kernel: each new
/// SYN finds berth's side of the last connection in TIME-WAIT (compact),
/// which must let it reopen the 4-tuple (RFC 6191, Linux's timestamps),
/// and lost FINs and ACKs are answered from TIME-WAIT as the full
/// connection would.
#[test]
fn a_linux_client_reuses_its_port_against_berths_time_wait_under_loss() {
    if !should_run("a_linux_client_reuses_its_port_against_berths_time_wait_under_loss") {
        return;
    }
    let h = host("w", 43, false);
    let _port = h
        .stack
        .serve(SocketAddr::new(IpAddr::V4(h.berth), 7), |_| OneLine)
        .unwrap();
    drop_randomly(&h.ns, 0.05);
    let script = format!(
        r#"
import errno, socket, time
def connect():
    # Our side of the last connection may still be in LAST-ACK (its
    # final ACK lost): the 4-tuple is ours again once that ends.
    for _ in range(600):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.settimeout(30)
        s.bind(("{kernel}", 40007))
        try:
            s.connect(("{berth}", 7))
            return s
        except OSError as e:
            s.close()
            if e.errno != errno.EADDRNOTAVAIL:
                raise
            time.sleep(0.05)
    raise SystemExit("the 4-tuple never came free")
ok = 0
for i in range(30):
    s = connect()
    got = b""
    while True:
        b = s.recv(64)
        if not b:
            break
        got += b
    s.close()
    ok += got == b"berth says hi\n"
print(ok)
"#,
        kernel = h.kernel,
        berth = h.berth
    );
    let path = std::env::temp_dir().join(format!("berth-tw-{}.py", std::process::id()));
    std::fs::write(&path, script).unwrap();
    let out = in_ns(&h.ns, &format!("python3 {}", path.display()));
    let _ = std::fs::remove_file(&path);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "30",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The last connection's side waits out its quiet time. The client's
    // FIN may have been lost as its process ended: the kernel sends it
    // again on its own timer, so wait for the state, not for a time.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let states = loop {
        let states: Vec<_> = h.stack.with_stack(|st| {
            st.sockets()
                .into_iter()
                .filter_map(|s| st.tcp_state(s).ok())
                .collect()
        });
        if states == [berth_core::tcp::State::TimeWait] || std::time::Instant::now() > deadline {
            break states;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(
        states,
        [berth_core::tcp::State::TimeWait],
        "one 4-tuple, one TIME-WAIT"
    );
}

/// The kernel as the client of berth's echo servers, a blocking one
/// (whose reading thread leads the device once it waits again and again)
/// and an async one on a runtime that leads it (`lead_device`), under 5%
/// loss each way: request/response rounds and a 2 MiB echo, every byte
/// back in order.
#[test]
fn leading_readers_echo_for_a_linux_client_under_loss() {
    if !should_run("leading_readers_echo_for_a_linux_client_under_loss") {
        return;
    }
    let h = host("v", 44, true);
    drop_randomly(&h.ns, 0.05);
    let blocking = TcpListener::bind(&h.stack, SocketAddr::new(IpAddr::V4(h.berth), 8)).unwrap();
    let blocking_server = std::thread::spawn(move || {
        let (mut s, _) = blocking.accept().unwrap();
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match s.read(&mut buf).unwrap() {
                0 => return,
                n => s.write_all(&buf[..n]).unwrap(),
            }
        }
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let lead = berth::tokio_net::lead_device(&h.stack);
    let stack_addr = SocketAddr::new(IpAddr::V4(h.berth), 7);
    let listener = runtime
        .block_on(berth::tokio_net::TcpListener::bind(&h.stack, stack_addr))
        .unwrap();
    let async_server = std::thread::spawn(move || {
        runtime.block_on(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let led = tokio::spawn(lead);
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                match s.read(&mut buf).await.unwrap() {
                    0 => break,
                    n => s.write_all(&buf[..n]).await.unwrap(),
                }
            }
            drop(s);
            led.abort();
        });
    });
    let data: Vec<u8> = (0..2u32 << 20)
        .map(|i| (i.wrapping_mul(40_503) >> 7) as u8)
        .collect();
    for port in [8u16, 7] {
        let to = SocketAddr::new(IpAddr::V4(h.berth), port);
        let data = data.clone();
        let echoed =
            h.ns.run(move || -> std::io::Result<(usize, bool)> {
                let mut s = std::net::TcpStream::connect(to)?;
                s.set_read_timeout(Some(std::time::Duration::from_secs(60)))?;
                // Request/response: each round waits for its answer.
                let mut ok = 0;
                for i in 0..200u32 {
                    let msg = i.to_be_bytes().repeat(16);
                    s.write_all(&msg)?;
                    let mut back = vec![0u8; msg.len()];
                    s.read_exact(&mut back)?;
                    ok += usize::from(back == msg);
                }
                // Then a stream both ways at once.
                let mut r = s.try_clone()?;
                let reader = std::thread::spawn(move || {
                    let mut got = Vec::new();
                    r.read_to_end(&mut got).map(|_| got)
                });
                s.write_all(&data)?;
                s.shutdown(Shutdown::Write)?;
                let got = reader.join().expect("the reader panicked")?;
                Ok((ok, got == data))
            })
            .unwrap()
            .unwrap();
        assert_eq!(echoed, (200, true), "port {port}: rounds and stream intact");
    }
    blocking_server.join().unwrap();
    async_server.join().unwrap();
}
