#!/usr/bin/python3
"""Helpers of scripts/stress.sh: the kernel baseline's servers and the loads.

Run by scripts/stress.sh inside the network namespaces it creates; every
client prints one JSON object on its last line of stdout. Each load stops by
itself (a duration, a deadline), whatever the server does.

  stress.py echo-server ADDR PORT          epoll echo (the kernel baseline)
  stress.py http-server ADDR PORT          ThreadingHTTPServer (the baseline)
  stress.py http-epoll-server ADDR PORT    single-threaded epoll HTTP (shorthttp's)
  stress.py slowloris HOST PORT ...        slow heads + 8 curls meanwhile
  stress.py curlloop URL ...               curl after curl for a while
  stress.py idle HOST PORT ...             thousands of idle connections
  stress.py malformed DEV ...              a million malformed frames into DEV
  stress.py shorthttp HOST PORT ...        many short HTTP connections, fast
  stress.py slowreader HOST PORT ...       downloads read at 1 KiB/s
  stress.py downloads URL ...              curls in parallel until SIGTERM
  stress.py sendq PORT                     Send-Q of a server's connections
  stress.py table FILE                     the side-by-side table of results
"""

import argparse
import errno
import http.server
import json
import os
import random
import resource
import select
import socket
import signal
import socketserver
import struct
import subprocess
import sys
import time


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def ready():
    print(f"ready {os.getpid()}", flush=True)


def percentile(values, p):
    if not values:
        return None
    v = sorted(values)
    # Nearest rank.
    k = max(0, min(len(v) - 1, int(-(-p * len(v) // 100)) - 1))
    return v[k]


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def link_tx_dropped(dev):
    """Frames the kernel dropped sending on DEV (this namespace's /sys)."""
    if not dev:
        return None
    try:
        with open(f"/sys/class/net/{dev}/statistics/tx_dropped") as f:
            return int(f.read())
    except (OSError, ValueError):
        return None


def slab_kib():
    """The kernel's slab memory (SReclaimable + SUnreclaim), machine-wide."""
    out = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith(("SReclaimable:", "SUnreclaim:")):
                out += int(line.split()[1])
    return out


# ---------------------------------------------------------------- servers


def echo_server(args):
    """Single-threaded epoll echo: an idle connection costs the kernel's
    socket and one fd here, no thread (as berth's sessions)."""
    raise_nofile()
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((args.addr, args.port))
    ls.listen(args.backlog)
    ls.setblocking(False)
    ep = select.epoll()
    ep.register(ls.fileno(), select.EPOLLIN)
    conns = {}
    ready()
    while True:
        for fd, ev in ep.poll(1.0):
            if fd == ls.fileno():
                while True:
                    try:
                        c, _ = ls.accept()
                    except (BlockingIOError, InterruptedError):
                        break
                    except OSError as e:  # EMFILE: leave it in the queue
                        if e.errno in (errno.EMFILE, errno.ENFILE):
                            break
                        raise
                    c.setblocking(False)
                    conns[c.fileno()] = c
                    ep.register(c.fileno(), select.EPOLLIN)
                continue
            c = conns.get(fd)
            if c is None:
                continue
            try:
                data = c.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            if data:
                try:
                    c.sendall(data)  # small probes: never blocks for long
                except OSError:
                    data = b""
            if not data:
                ep.unregister(fd)
                del conns[fd]
                c.close()


def http_epoll_server(args):
    """Single-threaded epoll HTTP: reads a request head, answers the page
    and closes (so it holds the TIME-WAITs), one connection at a time per
    event; the kernel baseline of many short connections, where a thread
    per connection would measure Python's threads."""
    raise_nofile()
    body = Page.body
    resp = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: "
            + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((args.addr, args.port))
    ls.listen(args.backlog)
    ls.setblocking(False)
    ep = select.epoll()
    ep.register(ls.fileno(), select.EPOLLIN)
    conns = {}
    ready()
    while True:
        for fd, ev in ep.poll(1.0):
            if fd == ls.fileno():
                while True:
                    try:
                        c, _ = ls.accept()
                    except (BlockingIOError, InterruptedError):
                        break
                    except OSError as e:
                        if e.errno in (errno.EMFILE, errno.ENFILE):
                            break
                        raise
                    c.setblocking(False)
                    conns[c.fileno()] = [c, b""]
                    ep.register(c.fileno(), select.EPOLLIN)
                continue
            e = conns.get(fd)
            if e is None:
                continue
            c = e[0]
            try:
                data = c.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            e[1] += data
            if data and b"\r\n\r\n" not in e[1]:
                continue
            if data:
                try:
                    c.send(resp)  # a small answer: fits the send buffer
                except OSError:
                    pass
            ep.unregister(fd)
            del conns[fd]
            c.close()


class Page(http.server.BaseHTTPRequestHandler):
    body = b"<!doctype html><html><body><h1>kernel</h1></body></html>\n"
    chunk = bytes(range(256)) * 256

    def do_GET(self):
        if self.path.startswith("/bytes/") and self.path[7:].isdigit():
            # As berth's /bytes/N: N bytes, written as the client takes them
            # (a blocking write: the kernel's send buffer is the bound).
            n = int(self.path[7:])
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(n))
            self.end_headers()
            try:
                while n > 0:
                    k = min(n, len(self.chunk))
                    self.wfile.write(self.chunk[:k])
                    n -= k
            except OSError:
                pass
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *a):
        pass


def http_server(args):
    raise_nofile()

    class Server(http.server.ThreadingHTTPServer):
        request_queue_size = args.backlog
        daemon_threads = True

        def handle_error(self, request, client_address):
            pass  # a client gone (the slow heads at the end): not news

        def server_bind(self):
            # HTTPServer's own looks the name up (getfqdn): no DNS here.
            socketserver.TCPServer.server_bind(self)
            self.server_name, self.server_port = self.server_address[:2]

    srv = Server((args.addr, args.port), Page)
    ready()
    srv.serve_forever()


# ---------------------------------------------------------------- clients


def run_curls(url, n, max_time):
    procs = []
    for _ in range(n):
        t0 = time.monotonic()
        p = subprocess.Popen(
            ["curl", "-sS", "-o", "/dev/null", "--max-time", str(max_time),
             "-w", "%{http_code} %{time_total}", url],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        procs.append((p, t0))
    return procs


def curl_result(p, t0):
    out, _ = p.communicate()
    wall = time.monotonic() - t0
    parts = out.decode(errors="replace").split()
    code = int(parts[0]) if parts and parts[0].isdigit() else 0
    t = float(parts[1]) if len(parts) > 1 else wall
    return {"rc": p.returncode, "http": code, "secs": round(t, 4),
            "ok": p.returncode == 0 and code == 200}


def slowloris(args):
    """`conns` connections each holding a partial request head, one more
    byte every `interval`; after `curl_delay` s, `curls` curls at once."""
    raise_nofile()
    t_start = time.monotonic()
    slow, refused = [], 0
    head = f"GET / HTTP/1.1\r\nHost: {args.host}\r\nX-Slow: ".encode()
    for _ in range(args.conns):
        try:
            s = socket.create_connection((args.host, args.port), timeout=5)
            s.sendall(head)
            s.setblocking(False)
            slow.append(s)
        except OSError:
            refused += 1
    opened = len(slow)
    t_opened = time.monotonic()
    closed_by_server = 0
    procs = None
    curls = []
    url = f"http://{args.host}:{args.port}/"
    end = t_opened + args.duration
    hard_end = end + args.curl_max_time + 2
    while True:
        now = time.monotonic()
        if procs is None and now - t_opened >= args.curl_delay:
            procs = run_curls(url, args.curls, args.curl_max_time)
        alive = []
        for s in slow:
            try:
                if s.recv(4096) == b"":
                    raise ConnectionResetError
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                closed_by_server += 1
                s.close()
                continue
            try:
                s.send(b"a")
                alive.append(s)
            except (BlockingIOError, InterruptedError):
                alive.append(s)
            except OSError:
                closed_by_server += 1
                s.close()
        slow = alive
        curls_done = procs is not None and all(p.poll() is not None for p, _ in procs)
        if (now >= end and curls_done) or now >= hard_end:
            break
        time.sleep(args.interval)
    if procs is not None:
        curls = [curl_result(p, t0) for p, t0 in procs]
    for s in slow:
        s.close()
    times = [c["secs"] for c in curls if c["ok"]]
    print(json.dumps({
        "slow_conns": args.conns, "slow_opened": opened,
        "slow_refused": refused, "slow_closed_by_server": closed_by_server,
        "slow_open_at_end": len(slow),
        "open_secs": round(t_opened - t_start, 3),
        "curls": len(curls), "curls_ok": sum(c["ok"] for c in curls),
        "curl_secs": [c["secs"] for c in curls],
        "curl_max_secs": max(times) if times else None,
        "curl_fail": [c for c in curls if not c["ok"]],
    }), flush=True)


def curlloop(args):
    """Sequential curls of URL for `duration` seconds (the legitimate user)."""
    end = time.monotonic() + args.duration
    res = []
    while time.monotonic() < end:
        res.append(curl_result(*run_curls(args.url, 1, args.max_time)[0]))
    ok = [r["secs"] for r in res if r["ok"]]
    fails = {}
    for r in res:
        if not r["ok"]:
            key = f"rc{r['rc']}/http{r['http']}"
            fails[key] = fails.get(key, 0) + 1
    print(json.dumps({
        "requests": len(res), "completed": len(ok), "failed": len(res) - len(ok),
        "fail_kinds": fails,
        "p50_ms": round(percentile(ok, 50) * 1e3, 2) if ok else None,
        "p99_ms": round(percentile(ok, 99) * 1e3, 2) if ok else None,
        "max_ms": round(max(ok) * 1e3, 2) if ok else None,
        "duration_secs": args.duration,
    }), flush=True)


def idle(args):
    """Open `conns` connections (at most `window` connecting at once), hold
    them idle, then echo a probe on `probes` random ones. Reads the server
    process's VmRSS before and while they are held, and the kernel's slab."""
    nofile = raise_nofile()
    if args.conns + 16 > nofile:
        sys.exit(f"idle: {args.conns} connections need more than the fd limit {nofile}")
    rss_before = rss_kib(args.watch_pid) if args.watch_pid else None
    slab_before = slab_kib()
    drops_before = link_tx_dropped(args.link)
    ep = select.epoll()      # connecting
    ep_est = select.epoll()  # established
    pending = {}  # fd -> (sock, started)
    est = {}      # fd -> sock
    failed = {}
    t0 = time.monotonic()
    deadline = t0 + args.deadline
    started = 0

    def fail(fd, why):
        s, _ = pending.pop(fd)
        ep.unregister(fd)
        s.close()
        failed[why] = failed.get(why, 0) + 1

    while True:
        now = time.monotonic()
        while started < args.conns and len(pending) < args.window and now < deadline:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            started += 1
            e = s.connect_ex((args.host, args.port))
            if e not in (0, errno.EINPROGRESS):
                s.close()
                failed[errno.errorcode.get(e, str(e))] = failed.get(errno.errorcode.get(e, str(e)), 0) + 1
                continue
            pending[s.fileno()] = (s, now)
            ep.register(s.fileno(), select.EPOLLOUT)
        if not pending and (started >= args.conns or now >= deadline):
            break
        if now >= deadline + args.connect_timeout:
            for fd in list(pending):
                fail(fd, "timeout")
            break
        for fd, _ in ep.poll(0.05):
            if fd not in pending:
                continue
            s, _ = pending[fd]
            e = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if e:
                fail(fd, errno.errorcode.get(e, str(e)))
            else:
                pending.pop(fd)
                ep.unregister(fd)
                ep_est.register(fd, select.EPOLLIN | select.EPOLLRDHUP)
                est[fd] = s
        now = time.monotonic()
        for fd in [fd for fd, (_, t) in pending.items() if now - t > args.connect_timeout]:
            fail(fd, "timeout")
    t_est = time.monotonic() - t0
    established = len(est)

    # Hold: anything that happens on an idle connection now (data, FIN,
    # RST) means the server dropped it.
    time.sleep(args.hold)
    rss_held = rss_kib(args.watch_pid) if args.watch_pid else None
    slab_held = slab_kib()
    drops_held = link_tx_dropped(args.link)
    server_states = None
    if args.held_cmd:
        try:
            r = subprocess.run(args.held_cmd, shell=True, capture_output=True, timeout=20)
            server_states = json.loads(r.stdout.decode() or "null")
        except (subprocess.TimeoutExpired, ValueError) as e:
            server_states = {"error": str(e)}
    dropped = set(fd for fd, _ in ep_est.poll(0, len(est) + 1))
    for fd in dropped:
        ep_est.unregister(fd)

    # Probes on random established connections still open.
    live = [fd for fd in est if fd not in dropped]
    probe_fds = random.sample(live, min(args.probes, len(live)))
    want = {}
    for fd in probe_fds:
        msg = f"probe {fd}\n".encode()
        try:
            est[fd].send(msg)
            want[fd] = [msg, b""]
        except OSError:
            pass
    answered = 0
    pend = set(want)
    end = time.monotonic() + args.probe_timeout
    while pend and time.monotonic() < end:
        for fd, _ in ep_est.poll(0.1):
            if fd not in pend:
                continue
            try:
                data = est[fd].recv(4096)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            if not data:
                pend.discard(fd)
                continue
            want[fd][1] += data
            if want[fd][1] == want[fd][0]:
                answered += 1
                pend.discard(fd)
    for s in est.values():
        s.close()
    time.sleep(args.after)
    rss_after = rss_kib(args.watch_pid) if args.watch_pid else None
    per_conn = None
    if rss_before is not None and rss_held is not None and established:
        per_conn = round((rss_held - rss_before) * 1024 / established)
    print(json.dumps({
        "conns": args.conns, "established": established,
        "not_established": args.conns - established, "failures": failed,
        "establish_secs": round(t_est, 2),
        "dropped_while_idle": len(dropped),
        "probes": len(probe_fds), "probes_answered": answered,
        "rss_before_kib": rss_before, "rss_held_kib": rss_held,
        "rss_after_close_kib": rss_after,
        "rss_bytes_per_conn": per_conn,
        "server_states_held": server_states,
        "link_tx_dropped_until_held": (drops_held - drops_before
                                       if drops_before is not None else None),
        "slab_before_kib": slab_before, "slab_held_kib": slab_held,
        "slab_bytes_per_conn": round((slab_held - slab_before) * 1024 / established) if established else None,
    }), flush=True)


def read_int(path):
    try:
        with open(path) as f:
            return int(f.read())
    except (OSError, ValueError):
        return None


def vm_hwm_kib(pid):
    """The peak RSS of a process (VmHWM)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def run_json(cmd, timeout=20):
    """A shell command's JSON output, or {"error": ...}."""
    try:
        r = subprocess.run(cmd, shell=True, capture_output=True, timeout=timeout)
        return json.loads(r.stdout.decode() or "null")
    except (subprocess.TimeoutExpired, ValueError) as e:
        return {"error": str(e)}


# ------------------------------------------------------- malformed frames


def csum(data):
    """The Internet checksum (RFC 1071)."""
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4(src, dst, proto, payload, *, ttl=64, ident=None, frag=0, options=b"",
         tot_len=None, ihl=None, version=4, bad_csum=False, rnd=random):
    ihl = ihl if ihl is not None else 5 + len(options) // 4
    tot = tot_len if tot_len is not None else 20 + len(options) + len(payload)
    ident = rnd.getrandbits(16) if ident is None else ident
    h = struct.pack("!BBHHHBBH4s4s", (version << 4) | (ihl & 15), 0, tot & 0xFFFF,
                    ident, frag, ttl, proto, 0, src, dst) + options
    c = csum(h)
    if bad_csum:
        c ^= 1 + rnd.getrandbits(15)
    return h[:10] + struct.pack("!H", c) + h[12:] + payload


def ipv6(src, dst, nh, payload, *, plen=None, hlim=64):
    plen = len(payload) if plen is None else plen
    return struct.pack("!IHBB16s16s", 6 << 28, plen & 0xFFFF, nh, hlim, src, dst) + payload


def pseudo4(src, dst, proto, length):
    return src + dst + struct.pack("!BBH", 0, proto, length)


def pseudo6(src, dst, nh, length):
    return src + dst + struct.pack("!I3xB", length, nh)


def l4(pseudo, seg, off, bad):
    """`seg` with its checksum (at `off`) filled in, or broken if `bad`."""
    c = csum(pseudo + seg[:off] + b"\0\0" + seg[off + 2:])
    if bad:
        c ^= 0x5A5A
    return seg[:off] + struct.pack("!H", c) + seg[off + 2:]


def tcp_seg(rnd, sport, dport, flags, doff=5, options=b"", payload=b""):
    return struct.pack("!HHIIBBHHH", sport, dport, rnd.getrandbits(32),
                       rnd.getrandbits(32), (doff & 15) << 4, flags,
                       rnd.getrandbits(16), 0, 0) + options + payload


def malformed_pool(rnd, n, src4, dst4, src6, dst6):
    """`n` frames, each wrong in one way a parser must survive: random
    bytes, truncated or inconsistent IPv4/IPv6 headers, bad header and
    layer-4 checksums, impossible TCP flags and options, bad lengths,
    bogus fragments and extension headers, martian sources, other hosts'
    destinations. Returns (frames, {kind: count})."""
    def rsrc4():
        # The peer, another address of the test prefix, or a martian.
        return rnd.choice([src4, src4, bytes([198, 18 + rnd.getrandbits(1)])
                           + rnd.randbytes(2)])

    def rsrc6():
        return rnd.choice([src6, src6[:6] + rnd.randbytes(10)])

    payload = lambda k=64: rnd.randbytes(rnd.randrange(k + 1))  # noqa: E731
    port = lambda: rnd.choice([80, 7, 9, 19, rnd.randrange(65536)])  # noqa: E731
    bad_flags = [0x03, 0x07, 0x06, 0x3F, 0xFF, 0x00, 0x29, 0x05, 0x01 | 0x20]

    def k_random():
        return rnd.randbytes(rnd.randrange(1, 120))

    def k_ip4_short():
        return (bytes([0x45]) + rnd.randbytes(rnd.randrange(19)))

    def k_ip4_bad_ihl():
        return ipv4(rsrc4(), dst4, 6, payload(), ihl=rnd.choice([0, 1, 4, 15]), rnd=rnd)

    def k_ip4_bad_len():
        p = payload()
        return ipv4(rsrc4(), dst4, rnd.choice([6, 17, 1]), p,
                    tot_len=rnd.choice([0, 19, 20 + len(p) + 1 + rnd.randrange(2000)]), rnd=rnd)

    def k_ip4_bad_version():
        return ipv4(rsrc4(), dst4, 6, payload(), version=rnd.choice([0, 5, 7, 15]), rnd=rnd)

    def k_ip4_bad_csum():
        s = src4
        seg = l4(pseudo4(s, dst4, 6, 20), tcp_seg(rnd, 40000, 80, 0x02), 16, False)
        return ipv4(s, dst4, 6, seg, bad_csum=True, rnd=rnd)

    def k_tcp_bad_csum():
        s = rsrc4()
        seg = tcp_seg(rnd, rnd.randrange(1024, 65536), port(), rnd.choice([0x02, 0x10, 0x18, 0x11]),
                      payload=payload())
        return ipv4(s, dst4, 6, l4(pseudo4(s, dst4, 6, len(seg)), seg, 16, True), rnd=rnd)

    def k_tcp_short():
        s = rsrc4()
        seg = tcp_seg(rnd, 40000, port(), 0x02)[:rnd.randrange(20)]
        return ipv4(s, dst4, 6, seg, rnd=rnd)

    def k_tcp_bad_doff():
        s = rsrc4()
        p = payload(16)
        seg = tcp_seg(rnd, 40000, port(), 0x10, doff=rnd.choice([0, 1, 4, 15]), payload=p)
        return ipv4(s, dst4, 6, l4(pseudo4(s, dst4, 6, len(seg)), seg, 16, False), rnd=rnd)

    def k_tcp_bad_flags_options():
        # Checksum right: the segment reaches TCP (a reset, or nothing).
        s = rsrc4()
        opts = rnd.choice([b"\x02\x04", b"\x02\x00\x00\x00", b"\x03\x03\x0e\x01",
                           b"\x08\x0a" + rnd.randbytes(6), b"\x05\x01\x00\x00",
                           b"\x04\x00\x00\x00", b"\xff" * 4, rnd.randbytes(8)])
        opts += b"\x00" * (-len(opts) % 4)
        seg = tcp_seg(rnd, rnd.randrange(1024, 65536), port(), rnd.choice(bad_flags),
                      doff=5 + len(opts) // 4, options=opts, payload=payload(32))
        return ipv4(s, dst4, 6, l4(pseudo4(s, dst4, 6, len(seg)), seg, 16, False), rnd=rnd)

    def k_udp_bad():
        s = rsrc4()
        p = payload()
        kind = rnd.randrange(3)
        ulen = 8 + len(p) if kind == 0 else rnd.choice([0, 7, 8 + len(p) + 1 + rnd.randrange(100)])
        seg = struct.pack("!HHHH", rnd.randrange(65536), port(), ulen, 0) + p
        seg = l4(pseudo4(s, dst4, 17, len(seg)), seg, 6, kind == 0)
        if kind == 2:
            seg = seg[:rnd.randrange(8)]
        return ipv4(s, dst4, 17, seg, rnd=rnd)

    def k_icmp_bad():
        s = rsrc4()
        kind = rnd.randrange(3)
        if kind == 0:  # bad checksum
            m = struct.pack("!BBHHH", 8, 0, 0, 1, 1) + payload()
            m = m[:2] + struct.pack("!H", csum(m) ^ 0x1111) + m[4:]
        elif kind == 1:  # truncated
            m = rnd.randbytes(rnd.randrange(1, 8))
        else:  # an error quoting garbage (checksum right)
            q = rnd.randbytes(rnd.randrange(0, 40))
            m = struct.pack("!BBHI", rnd.choice([3, 11, 12, 5]), rnd.randrange(16), 0, 0) + q
            m = m[:2] + struct.pack("!H", csum(m)) + m[4:]
        return ipv4(s, dst4, 1, m, rnd=rnd)

    def k_ip4_unknown_proto():
        return ipv4(rsrc4(), dst4, rnd.choice([0, 41, 50, 132, 253, 255]), payload(), rnd=rnd)

    def k_ip4_fragment():
        # Random ids, offsets and lengths: reassembly memory must stay bounded.
        p = payload(200)
        off = rnd.choice([0, rnd.randrange(8192)])
        mf = rnd.choice([0x2000, 0x2000, 0])
        return ipv4(rsrc4(), dst4, rnd.choice([6, 17, 1]), p, frag=mf | off, rnd=rnd)

    def k_ip4_options():
        opts = rnd.randbytes(4 * rnd.randrange(1, 11))
        return ipv4(rsrc4(), dst4, 6, payload(), options=opts, rnd=rnd)

    def k_ip4_martian():
        s = rnd.choice([dst4, bytes([127, 0, 0, 1]), bytes([224, 0, 0, 1]),
                        bytes([255, 255, 255, 255]), bytes([0, 0, 0, 0])])
        seg = tcp_seg(rnd, 40000, 80, 0x02)
        return ipv4(s, dst4, 6, l4(pseudo4(s, dst4, 6, 20), seg, 16, False), rnd=rnd)

    def k_ip4_not_for_us():
        d = bytes([198, 18 + rnd.getrandbits(1)]) + rnd.randbytes(2)
        if d == dst4:
            d = d[:3] + bytes([d[3] ^ 1])
        return ipv4(src4, d, 17, payload(), rnd=rnd)

    def k_ip6_short():
        return bytes([0x60]) + rnd.randbytes(rnd.randrange(39))

    def k_ip6_bad_plen():
        p = payload()
        return ipv6(rsrc6(), dst6, rnd.choice([6, 17, 58]), p,
                    plen=len(p) + 1 + rnd.randrange(3000))

    def k_ip6_bad_ext():
        # Hop-by-hop, routing, fragment, destination options: truncated,
        # too long, or nonsense.
        nh = rnd.choice([0, 43, 44, 60])
        ext = bytes([rnd.choice([6, 17, 58, 0, 43, 44, 60, 59]), rnd.randrange(256)]) \
            + rnd.randbytes(rnd.randrange(0, 30))
        return ipv6(rsrc6(), dst6, nh, ext)

    def k_ip6_l4_bad():
        s = rsrc6()
        nh = rnd.choice([6, 17, 58])
        if nh == 6:
            seg = tcp_seg(rnd, 40000, port(), rnd.choice([0x02, 0x10]), payload=payload())
            seg = l4(pseudo6(s, dst6, 6, len(seg)), seg, 16, True)
        elif nh == 17:
            p = payload()
            seg = struct.pack("!HHHH", 5000, port(), 8 + len(p), 0) + p
            if rnd.getrandbits(1):
                seg = l4(pseudo6(s, dst6, 17, len(seg)), seg, 6, True)
            # else: a zero checksum, which IPv6 forbids
        else:
            seg = struct.pack("!BBHI", rnd.choice([128, 135, 136, 1, 2, 3, 4, 143]),
                              rnd.randrange(256), 0, 0) + payload()
            seg = l4(pseudo6(s, dst6, 58, len(seg)), seg, 2, rnd.getrandbits(1) == 1)
        return ipv6(s, dst6, nh, seg, hlim=rnd.choice([64, 255, 1]))

    kinds = [k_random, k_ip4_short, k_ip4_bad_ihl, k_ip4_bad_len, k_ip4_bad_version,
             k_ip4_bad_csum, k_tcp_bad_csum, k_tcp_short, k_tcp_bad_doff,
             k_tcp_bad_flags_options, k_udp_bad, k_icmp_bad, k_ip4_unknown_proto,
             k_ip4_fragment, k_ip4_options, k_ip4_martian, k_ip4_not_for_us,
             k_ip6_short, k_ip6_bad_plen, k_ip6_bad_ext, k_ip6_l4_bad]
    frames, counts = [], {}
    for i in range(n):
        k = kinds[i % len(kinds)]
        f = k()
        if not f:
            f = b"\0"
        frames.append(f)
        name = k.__name__[2:]
        counts[name] = counts.get(name, 0) + 1
    rnd.shuffle(frames)
    return frames, counts


def malformed(args):
    """Sends `frames` malformed frames into DEV (the kernel side of the
    server's link) with a packet socket, as fast as the link takes them:
    bursts of `burst`, and a pause that doubles whenever the link's
    queue dropped some (and shrinks while it does not), so that nearly
    all of them reach the server. The last `tail` frames go in one
    burst without a pause, as when a flood stops at once: the link's
    queue then holds more than a server reads in one go, and a server
    must still read them all without waiting for more traffic. Stops at
    `duration` seconds."""
    rnd = random.Random(args.seed)
    src4 = socket.inet_pton(socket.AF_INET, args.src4)
    dst4 = socket.inet_pton(socket.AF_INET, args.dst4)
    src6 = socket.inet_pton(socket.AF_INET6, args.src6)
    dst6 = socket.inet_pton(socket.AF_INET6, args.dst6)
    frames, kinds = malformed_pool(rnd, args.pool, src4, dst4, src6, dst6)
    protos = [socket.htons(0x86DD) if f[:1] and f[0] >> 4 == 6 else socket.htons(0x0800)
              for f in frames]
    s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM)
    addrs = {p: (args.dev, socket.ntohs(p)) for p in set(protos)}
    dropped_file = f"/sys/class/net/{args.dev}/statistics/tx_dropped"
    drops0 = read_int(dropped_file)
    rss_before = rss_kib(args.watch_pid) if args.watch_pid else None
    t0 = time.monotonic()
    end = t0 + args.duration
    sent = errors = 0
    pause = 0.0
    last_drops = drops0
    n = len(frames)
    while sent < args.frames:
        now = time.monotonic()
        if now >= end:
            break
        burst = args.burst
        if args.frames - sent <= args.tail:
            burst = args.frames - sent
        for _ in range(min(burst, args.frames - sent)):
            i = sent % n
            try:
                s.sendto(frames[i], addrs[protos[i]])
            except OSError:
                errors += 1
            sent += 1
        d = read_int(dropped_file)
        if d is not None and last_drops is not None and d > last_drops:
            pause = min(max(pause * 2, 50e-6), 0.01)
        else:
            pause *= 0.9
            if pause < 20e-6:
                pause = 0.0
        last_drops = d
        if pause:
            time.sleep(pause)
    secs = time.monotonic() - t0
    # Let the server read what is queued before the counters are read.
    time.sleep(0.5)
    drops1 = read_int(dropped_file)
    dropped = drops1 - drops0 if drops0 is not None and drops1 is not None else None
    alive = args.watch_pid is not None and os.path.exists(f"/proc/{args.watch_pid}")
    rss_after = rss_kib(args.watch_pid) if args.watch_pid else None
    print(json.dumps({
        "frames_wanted": args.frames, "frames_sent": sent, "send_errors": errors,
        "send_secs": round(secs, 2), "frames_per_sec": round(sent / max(secs, 1e-3)),
        "link_tx_dropped": dropped,
        "delivered": sent - dropped if dropped is not None else None,
        "distinct_frames": n, "kinds": kinds,
        "server_alive": alive,
        "rss_before_kib": rss_before, "rss_after_kib": rss_after,
        "rss_peak_kib": vm_hwm_kib(args.watch_pid) if args.watch_pid else None,
    }), flush=True)


# ------------------------------------------------------- short connections


def shorthttp(args):
    """`conns` HTTP requests, each on a new connection (`Connection:
    close`: the server closes first, so the TIME-WAITs are its), at most
    `window` at once, for at most `deadline` seconds. Reports the rate,
    latencies, failures and the server's RSS."""
    raise_nofile()
    req = (f"GET {args.path} HTTP/1.1\r\nHost: {args.host}\r\n"
           "Connection: close\r\n\r\n").encode()
    rss_before = rss_kib(args.watch_pid) if args.watch_pid else None
    slab_before = slab_kib()
    ep = select.epoll()
    conns = {}  # fd -> [sock, started, got, sent]
    failed = {}
    lat = []
    timeline = []
    ok = bad_status = started = 0
    t0 = time.monotonic()
    deadline = t0 + args.deadline
    next_sample = t0 + 1.0

    def done(fd, why=None):
        nonlocal ok, bad_status
        c = conns.pop(fd)
        ep.unregister(fd)
        c[0].close()
        if why:
            failed[why] = failed.get(why, 0) + 1
        elif c[2].startswith(b"HTTP/1.1 200") or c[2].startswith(b"HTTP/1.0 200"):
            ok += 1
            lat.append(time.monotonic() - c[1])
        else:
            bad_status += 1

    while True:
        now = time.monotonic()
        while started < args.conns and len(conns) < args.window and now < deadline:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            started += 1
            e = s.connect_ex((args.host, args.port))
            if e not in (0, errno.EINPROGRESS):
                s.close()
                why = errno.errorcode.get(e, str(e))
                failed[why] = failed.get(why, 0) + 1
                continue
            conns[s.fileno()] = [s, now, b"", False]
            ep.register(s.fileno(), select.EPOLLOUT)
        if not conns and (started >= args.conns or now >= deadline):
            break
        if now >= deadline + args.timeout:
            for fd in list(conns):
                done(fd, "timeout")
            break
        for fd, ev in ep.poll(0.05):
            c = conns.get(fd)
            if c is None:
                continue
            s = c[0]
            if not c[3]:
                e = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if e:
                    done(fd, errno.errorcode.get(e, str(e)))
                    continue
                try:
                    s.send(req)
                except OSError as x:
                    done(fd, errno.errorcode.get(x.errno, str(x.errno)))
                    continue
                c[3] = True
                ep.modify(fd, select.EPOLLIN)
                continue
            try:
                while True:
                    data = s.recv(65536)
                    if not data:
                        done(fd)
                        break
                    if len(c[2]) < 16:
                        c[2] += data[:16]
            except (BlockingIOError, InterruptedError):
                pass
            except OSError as x:
                done(fd, errno.errorcode.get(x.errno, str(x.errno)))
        now = time.monotonic()
        if now >= next_sample:
            timeline.append([round(now - t0, 1), ok])
            next_sample += 1.0
        for fd in [fd for fd, c in conns.items() if now - c[1] > args.timeout]:
            done(fd, "timeout")
    secs = time.monotonic() - t0
    rss_after = rss_kib(args.watch_pid) if args.watch_pid else None
    slab_after = slab_kib()
    print(json.dumps({
        "conns": args.conns, "started": started, "completed": ok,
        "bad_status": bad_status, "failures": failed,
        "secs": round(secs, 2), "conns_per_sec": round(ok / max(secs, 1e-3)),
        "window": args.window,
        "p50_ms": round(percentile(lat, 50) * 1e3, 2) if lat else None,
        "p99_ms": round(percentile(lat, 99) * 1e3, 2) if lat else None,
        "max_ms": round(max(lat) * 1e3, 2) if lat else None,
        "completed_per_sec_timeline": timeline,
        "rss_before_kib": rss_before, "rss_after_kib": rss_after,
        "slab_before_kib": slab_before, "slab_after_kib": slab_after,
        "rss_peak_kib": vm_hwm_kib(args.watch_pid) if args.watch_pid else None,
    }), flush=True)


# ------------------------------------------------------- slow readers


def slowreader(args):
    """`readers` downloads of /bytes/`size`, each read at `rate` bytes a
    second (a small receive buffer, so the window stays small) for
    `duration` seconds; every second the server's RSS and, with
    `--sendq-cmd`, its connections' Send-Q. Then the readers close (a
    reset: data is left unread)."""
    raise_nofile()
    req = (f"GET /bytes/{args.size} HTTP/1.1\r\nHost: {args.host}\r\n"
           "Connection: close\r\n\r\n").encode()
    rss_before = rss_kib(args.watch_pid) if args.watch_pid else None
    socks, failed = [], {}
    for _ in range(args.readers):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, args.rcvbuf)
        s.settimeout(5)
        try:
            s.connect((args.host, args.port))
            s.sendall(req)
            s.setblocking(False)
            socks.append(s)
        except OSError as e:
            why = errno.errorcode.get(e.errno, str(e.errno)) if e.errno else "timeout"
            failed[why] = failed.get(why, 0) + 1
            s.close()
    t0 = time.monotonic()
    got = [0] * len(socks)
    ended = 0
    samples = []
    tick = 0
    while True:
        tick += 1
        for i, s in enumerate(socks):
            if s is None:
                continue
            want = args.rate
            try:
                while want > 0:
                    d = s.recv(want)
                    if not d:
                        raise ConnectionResetError
                    got[i] += len(d)
                    want -= len(d)
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                ended += 1
                s.close()
                socks[i] = None
        sample = {"t": round(time.monotonic() - t0, 1)}
        if args.watch_pid:
            sample["rss_kib"] = rss_kib(args.watch_pid)
        if args.sendq_cmd:
            sample.update(run_json(args.sendq_cmd) or {})
        samples.append(sample)
        if time.monotonic() - t0 >= args.duration:
            break
        time.sleep(max(0.0, t0 + tick - time.monotonic()))
    secs = time.monotonic() - t0
    for s in socks:
        if s is not None:
            s.close()
    total = sum(got)
    sq = [x.get("send_q_max") for x in samples if x.get("send_q_max") is not None]
    rss = [x["rss_kib"] for x in samples if x.get("rss_kib") is not None]
    half = len(rss) // 2
    print(json.dumps({
        "readers": args.readers, "connected": len(got), "failures": failed,
        "ended_early": ended, "secs": round(secs, 1),
        "bytes_read": total,
        "read_bytes_per_sec_per_reader": round(total / max(secs, 1e-3) / max(len(got), 1)),
        "rss_before_kib": rss_before,
        "rss_max_first_half_kib": max(rss[:half]) if half else None,
        "rss_max_second_half_kib": max(rss[half:]) if rss else None,
        "send_q_max": max(sq) if sq else None,
        "send_q_max_first_half": max(sq[:len(sq) // 2]) if len(sq) >= 2 else None,
        "send_q_max_second_half": max(sq[len(sq) // 2:]) if sq else None,
        "samples": samples,
    }), flush=True)


def sendq(args):
    """Send-Q of the server's TCP connections on PORT, from `berth ss
    --json` or `ss -Htn` lines: {conns, send_q_sum, send_q_max}."""
    qs = []
    for line in sys.stdin:
        line = line.strip()
        if line.startswith("{"):
            d = json.loads(line)
            if d.get("proto") != "tcp" or d.get("state") == "LISTEN":
                continue
            if not d.get("local", "").endswith(f":{args.port}"):
                continue
            qs.append(int(d.get("send_q", 0)))
        elif line:
            f = line.split()
            if len(f) >= 4 and f[3].endswith(f":{args.port}") and f[0] != "LISTEN":
                qs.append(int(f[2]))
    print(json.dumps({"conns": len(qs), "send_q_sum": sum(qs),
                      "send_q_max": max(qs) if qs else 0}))


# ------------------------------------------------------- downloads


def downloads(args):
    """`n` curls of URL at once, until they end or SIGTERM (then they are
    stopped); prints how each ended (curl's exit codes, bytes)."""
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    procs = []
    for _ in range(args.n):
        procs.append(subprocess.Popen(
            ["curl", "-sS", "-o", "/dev/null", "--max-time", str(args.max_time),
             "-w", "%{size_download}", args.url],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL))
    print(f"started {len(procs)}", flush=True)
    end = time.monotonic() + args.max_time + 5
    while any(p.poll() is None for p in procs) and not stop and time.monotonic() < end:
        time.sleep(0.05)
    stopped = 0
    for p in procs:
        if p.poll() is None:
            p.terminate()
            stopped += 1
    codes, size = {}, 0
    for p in procs:
        out, _ = p.communicate()
        k = str(p.returncode)
        codes[k] = codes.get(k, 0) + 1
        try:
            size += int(out.decode().strip() or 0)
        except ValueError:
            pass
    print(json.dumps({"downloads": len(procs), "curl_exit_codes": codes,
                      "stopped_by_us": stopped, "bytes": size}), flush=True)


def states(args):
    """Count TCP socket states from `berth ss --json` or `ss -Htan` lines."""
    c = {}
    for line in sys.stdin:
        line = line.strip()
        if line.startswith("{"):
            d = json.loads(line)
            if d.get("proto") != "tcp":
                continue
            st = d["state"]
        elif line:
            st = line.split()[0].upper()
            st = {"ESTAB": "ESTABLISHED", "SYN-RECV": "SYN-RECEIVED",
                  "UNCONN": "CLOSED"}.get(st, st)
        else:
            continue
        c[st] = c.get(st, 0) + 1
    print(json.dumps(c))


# ---------------------------------------------------------------- report


def fmt(v, unit=""):
    if v is None:
        return "–"
    if isinstance(v, float):
        v = round(v, 1)
    if isinstance(v, int) and abs(v) >= 10000:
        return f"{v:,}{unit}"
    return f"{v}{unit}"


def table(args):
    rows = {}
    order = []
    with open(args.file) as f:
        for line in f:
            r = json.loads(line)
            key = (r["load"], r.get("phase", ""))
            if key not in rows:
                rows[key] = {}
                order.append(key)
            rows[key][r["server"]] = r

    def cell(r):
        if r is None:
            return "–"
        if r.get("error"):
            return "error: " + r["error"]
        load = r["load"]
        if r.get("phase") == "exit":
            frames = ""
            if r.get("frames_in") is not None:
                frames = f", {r['frames_in']:,} frames in, {r['frames_out']:,} out"
            return (f"SIGINT: exit {r['exit_code']} within {r['exit_within_secs']} s, "
                    f"netns removed: {str(r['netns_removed']).lower()}{frames}")
        if load == "slowloris":
            ts = [t for t in r.get("curl_secs", [])]
            tmax = f", max {max(ts) * 1e3:.0f} ms" if ts else ""
            return (f"{r['curls_ok']}/{r['curls']} curls ok{tmax}; "
                    f"{r['slow_open_at_end']}/{r['slow_conns']} slow heads held")
        if load == "synflood":
            s = (f"{r['completed']}/{r['requests']} req, p50 {fmt(r['p50_ms'])} ms, "
                 f"p99 {fmt(r['p99_ms'])} ms")
            if r.get("flood_packets") is not None:
                s += f"; {r['flood_packets'] / max(r['duration_secs'], 1):,.0f} SYN/s sent"
            if r.get("link_tx_dropped") is not None:
                s += f", {r['link_tx_dropped']:,} dropped at the link"
            if r.get("stack_thread_cpu_pct") is not None:
                s += f", stack thread CPU {r['stack_thread_cpu_pct']:.0f}%"
                if r.get("stack_thread_runq_wait_pct"):
                    s += f" (waited for a CPU {r['stack_thread_runq_wait_pct']:.0f}%)"
            n = r.get("nstat") or {}
            if n.get("TcpExtSyncookiesSent"):
                s += f", {n['TcpExtSyncookiesSent']:,} SYN cookies sent"
            drops = n.get("TcpExtListenDrops", 0)
            if drops:
                s += f", {drops:,} listen drops"
            return s
        if load == "idle":
            s = (f"{fmt(r['established'])}/{fmt(r['conns'])} est., "
                 f"{r['probes_answered']}/{r['probes']} probes")
            if r.get("rss_bytes_per_conn") is not None:
                s += (f"; RSS {fmt(r['rss_before_kib'])}→{fmt(r['rss_held_kib'])} KiB "
                      f"({fmt(r['rss_bytes_per_conn'])} B/conn)")
            if r.get("slab_bytes_per_conn") is not None:
                s += f"; kernel slab +{fmt(r['slab_bytes_per_conn'])} B/conn"
            held = r.get("server_states_held")
            if isinstance(held, dict) and "error" not in held:
                s += f"; server holds {fmt(held.get('ESTABLISHED', 0))} ESTABLISHED"
                if held.get("SYN-RECEIVED"):
                    s += f", {fmt(held['SYN-RECEIVED'])} SYN-RECEIVED"
            if r.get("link_tx_dropped_until_held"):
                s += f"; {r['link_tx_dropped_until_held']:,} frames dropped at the link"
            n = r.get("nstat") or {}
            if n.get("TcpExtListenOverflows"):
                s += f"; {n['TcpExtListenOverflows']:,} accept-queue overflows"
            return s
        if load == "malformed":
            s = (f"{fmt(r['frames_sent'])} frames in {r['send_secs']} s "
                 f"({fmt(r['frames_per_sec'])}/s)")
            if r.get("link_tx_dropped") is not None:
                s += f", {fmt(r['link_tx_dropped'])} dropped at the link"
            delta = r.get("stats_delta") or {}
            if delta.get("frames_in") is not None:
                s += f"; berth read {fmt(delta['frames_in'])}"
                drops = sorted(((v, k) for k, v in delta.items()
                                if k not in ("frames_in", "frames_out")), reverse=True)
                if drops:
                    s += " (" + ", ".join(f"{k} {fmt(v)}" for v, k in drops[:6]) + ")"
                s += f", sent {fmt(delta.get('frames_out', 0))}"
            ms = lambda v: "failed" if v is None else f"{v} ms"  # noqa: E731
            s += (f"; alive: {str(r['alive_after']).lower()}; curl of / before "
                  f"{ms(r.get('curl_before_ms'))}, after "
                  + ", ".join(ms(v) for v in r.get("curl_after_ms") or []))
            if r.get("frames_in_during_first_curl_after") is not None:
                s += (f" (berth read {fmt(r['frames_in_during_first_curl_after'])} "
                      "frames during the first)")
            if r.get("burst_queued_while_stopped") is not None:
                s += (f"; of {r['burst_queued_while_stopped']} frames queued while berth "
                      f"was stopped, it read **{r['burst_read_within_1s']}** within 1 s of SIGCONT")
            s += (f"; RSS {fmt(r['rss_at_start_kib'])}→{fmt(r['rss_after_kib'])} KiB"
                  f" (peak {fmt(r['rss_peak_kib'])})")
            return s
        if load == "shorthttp":
            s = (f"{fmt(r['completed'])}/{fmt(r['conns'])} in {r['secs']} s: "
                 f"**{fmt(r['conns_per_sec'])}/s**, p50 {fmt(r['p50_ms'])} ms, "
                 f"p99 {fmt(r['p99_ms'])} ms")
            if r.get("failures"):
                s += "; failed: " + ", ".join(f"{k} {fmt(v)}" for k, v in r["failures"].items())
            if r.get("bad_status"):
                s += f"; {fmt(r['bad_status'])} not 200"
            if r.get("server_cpu_pct") is not None:
                s += f"; server CPU {r['server_cpu_pct']:.0f}%"
            s += f"; RSS {fmt(r['rss_before_kib'])}→{fmt(r['rss_after_kib'])} KiB"
            tw = r.get("time_wait_after") or []
            if tw:
                s += "; TIME-WAIT " + ", ".join(f"{fmt(n)} at +{t} s" for t, n, _ in tw)
                s += f" (RSS then {fmt(tw[-1][2])} KiB)"
            r2 = r.get("round2")
            if isinstance(r2, dict) and r2.get("completed") is not None:
                s += (f"; round 2 (after the drain): {fmt(r2['completed'])} at "
                      f"{fmt(r2['conns_per_sec'])}/s, RSS after {fmt(r2['rss_after_kib'])} KiB")
            if r.get("slab_after_kib") is not None and r["server"] == "linux":
                s += (f"; kernel slab +{fmt(r['slab_after_kib'] - r['slab_before_kib'])} KiB"
                      " in round 1")
            n = r.get("nstat") or {}
            if n.get("TcpExtTCPTimeWaitOverflow"):
                s += f"; {fmt(n['TcpExtTCPTimeWaitOverflow'])} TIME-WAIT overflows"
            return s
        if load == "slowreader":
            s = (f"{r['connected']}/{r['readers']} readers, "
                 f"{fmt(r['read_bytes_per_sec_per_reader'])} B/s each for {r['secs']} s")
            if r.get("ended_early"):
                s += f", {r['ended_early']} ended early"
            s += (f"; Send-Q max {fmt(r['send_q_max'])} B (1st half "
                  f"{fmt(r['send_q_max_first_half'])}, 2nd half "
                  f"{fmt(r['send_q_max_second_half'])})")
            s += (f"; RSS {fmt(r['rss_before_kib'])}→{fmt(r['rss_max_first_half_kib'])}"
                  f"→{fmt(r['rss_max_second_half_kib'])} KiB (start, 1st half max, "
                  f"2nd half max)")
            return s
        if load == "sigint":
            c = r.get("curls") or {}
            s = (f"{r['established_at_sigint']}/{r['downloads']} downloads running; "
                 f"exit {r['exit_code']} in **{r['exit_secs']} s**, netns removed: "
                 f"{str(r['netns_removed']).lower()}")
            if c.get("curl_exit_codes"):
                s += "; curl exits " + ", ".join(f"{k}: {v}" for k, v in
                                                 sorted(c["curl_exit_codes"].items()))
            s += f"; same names again: up in **{r['restart_up_secs']} s**"
            first = r.get("restart_first_response_secs")
            s += ", first response " + ("never" if first is None else f"{first * 1e3:.0f} ms later")
            return s
        return json.dumps(r)

    print("| load | berth | Linux |")
    print("| --- | --- | --- |")
    for key in order:
        name = key[0] + (f" ({key[1]})" if key[1] else "")
        print(f"| {name} | {cell(rows[key].get('berth'))} | {cell(rows[key].get('linux'))} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("echo-server")
    p.add_argument("addr")
    p.add_argument("port", type=int)
    p.add_argument("--backlog", type=int, default=128)
    p.set_defaults(fn=echo_server)
    p = sub.add_parser("http-server")
    p.add_argument("addr")
    p.add_argument("port", type=int)
    p.add_argument("--backlog", type=int, default=128)
    p.set_defaults(fn=http_server)
    p = sub.add_parser("http-epoll-server")
    p.add_argument("addr")
    p.add_argument("port", type=int)
    p.add_argument("--backlog", type=int, default=128)
    p.set_defaults(fn=http_epoll_server)
    p = sub.add_parser("slowloris")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--conns", type=int, default=200)
    p.add_argument("--interval", type=float, default=1.0)
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--curls", type=int, default=8)
    p.add_argument("--curl-delay", type=float, default=2.0)
    p.add_argument("--curl-max-time", type=float, default=10.0)
    p.set_defaults(fn=slowloris)
    p = sub.add_parser("curlloop")
    p.add_argument("url")
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--max-time", type=float, default=5.0)
    p.set_defaults(fn=curlloop)
    p = sub.add_parser("idle")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--conns", type=int, default=19900)
    p.add_argument("--window", type=int, default=1000)
    p.add_argument("--deadline", type=float, default=30.0)
    p.add_argument("--connect-timeout", type=float, default=8.0)
    p.add_argument("--hold", type=float, default=2.0)
    p.add_argument("--probes", type=int, default=200)
    p.add_argument("--probe-timeout", type=float, default=5.0)
    p.add_argument("--after", type=float, default=2.0)
    p.add_argument("--watch-pid", type=int)
    p.add_argument("--link", help="the client side of the link (its drops are reported)")
    p.add_argument("--held-cmd", help="a shell command run while the connections "
                   "are held; its JSON output is reported as server_states_held")
    p.set_defaults(fn=idle)
    p = sub.add_parser("malformed")
    p.add_argument("dev", help="the link into the server (its kernel side)")
    p.add_argument("--src4", required=True)
    p.add_argument("--dst4", required=True)
    p.add_argument("--src6", required=True)
    p.add_argument("--dst6", required=True)
    p.add_argument("--frames", type=int, default=1_000_000)
    p.add_argument("--pool", type=int, default=16384, help="distinct frames")
    p.add_argument("--burst", type=int, default=64)
    p.add_argument("--tail", type=int, default=300,
                   help="the last frames, sent at once (below the TUN queue's 500)")
    p.add_argument("--duration", type=float, default=60.0)
    p.add_argument("--seed", type=int, default=12)
    p.add_argument("--watch-pid", type=int)
    p.set_defaults(fn=malformed)
    p = sub.add_parser("shorthttp")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--path", default="/")
    p.add_argument("--conns", type=int, default=100_000)
    p.add_argument("--window", type=int, default=64)
    p.add_argument("--deadline", type=float, default=90.0)
    p.add_argument("--timeout", type=float, default=10.0)
    p.add_argument("--watch-pid", type=int)
    p.set_defaults(fn=shorthttp)
    p = sub.add_parser("slowreader")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--readers", type=int, default=20)
    p.add_argument("--size", type=int, default=1 << 30)
    p.add_argument("--rate", type=int, default=1024, help="bytes a second per reader")
    p.add_argument("--rcvbuf", type=int, default=4096)
    p.add_argument("--duration", type=float, default=20.0)
    p.add_argument("--watch-pid", type=int)
    p.add_argument("--sendq-cmd", help="a shell command printing the server's "
                   "Send-Q as JSON (stress.py sendq), run every second")
    p.set_defaults(fn=slowreader)
    p = sub.add_parser("sendq")
    p.add_argument("port", type=int)
    p.set_defaults(fn=sendq)
    p = sub.add_parser("downloads")
    p.add_argument("url")
    p.add_argument("--n", type=int, default=50)
    p.add_argument("--max-time", type=float, default=60.0)
    p.set_defaults(fn=downloads)
    p = sub.add_parser("states")
    p.set_defaults(fn=states)
    p = sub.add_parser("table")
    p.add_argument("file")
    p.set_defaults(fn=table)
    args = ap.parse_args()
    args.fn(args)


if __name__ == "__main__":
    main()
