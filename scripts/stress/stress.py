#!/usr/bin/python3
"""Helpers of scripts/stress.sh: the kernel baseline's servers and the loads.

Run by scripts/stress.sh inside the network namespaces it creates; every
client prints one JSON object on its last line of stdout. Each load stops by
itself (a duration, a deadline), whatever the server does.

  stress.py echo-server ADDR PORT          epoll echo (the kernel baseline)
  stress.py http-server ADDR PORT          ThreadingHTTPServer (the baseline)
  stress.py slowloris HOST PORT ...        slow heads + 8 curls meanwhile
  stress.py curlloop URL ...               curl after curl for a while
  stress.py idle HOST PORT ...             thousands of idle connections
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
import socketserver
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


class Page(http.server.BaseHTTPRequestHandler):
    body = b"<!doctype html><html><body><h1>kernel</h1></body></html>\n"

    def do_GET(self):
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
    p = sub.add_parser("states")
    p.set_defaults(fn=states)
    p = sub.add_parser("table")
    p.add_argument("file")
    p.set_defaults(fn=table)
    args = ap.parse_args()
    args.fn(args)


if __name__ == "__main__":
    main()
