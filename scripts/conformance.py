#!/usr/bin/python3
"""Crafted-packet conformance checks for a TCP/IP host: berth, or the Linux
kernel for comparison.

Each check sends packets built with Scapy from the kernel side of the link
(a packet socket on the interface that leads to the host under test, so the
packets leave exactly as built) and reads what the host sends back on the
same socket. The checks cover RFC 9293 (TCP), RFC 5961 (blind attacks),
RFC 7323 (timestamps, window scale), RFC 2018/2883 (SACK, D-SACK), RFC 3168
(ECN), RFC 1122/1191/8201/5927 (hosts, PMTU, ICMP), RFC 791/8200/5722 (IP
and fragments), for IPv4 and IPv6. The host under test must offer echo
(TCP/UDP 7), discard (TCP/UDP 9), daytime (TCP 13), chargen (TCP 19) and
HTTP (TCP 80), and have TCP 81 and UDP 33434 closed: what `berth up` runs.

Needs root and Debian's python3-scapy: run it with /usr/bin/python3.

    # against a running host, from inside the namespace that holds the link:
    ip netns exec NS /usr/bin/python3 scripts/conformance.py run \\
        --iface IF --target 198.18.0.2 --target6 2001:2::2
    # (or: scripts/conformance.py run --netns NS --iface IF ...)

    # against the Linux kernel: two namespaces joined by a veth pair, this
    # script's own servers (`serve`) in the far one:
    /usr/bin/python3 scripts/conformance.py kernel

    # against `berth up` (started and stopped here):
    /usr/bin/python3 scripts/conformance.py berth --bin target/release/berth [--no-offload]

`run` options: `--list` prints the checks, `--only NAME[,NAME..]` runs some
(a trailing `*` matches a prefix), `--json PATH` also writes the results as
JSON (`-` for stdout instead of the lines). Each check prints `PASS name` or
`FAIL name: why`; the exit status is 1 when any check fails.

While the checks run, an iptables (and ip6tables) rule in the namespace
drops the RSTs the local kernel would send the host under test in answer to
segments of the crafted connections, which it knows nothing about; the rule
is removed afterwards. Checks that change the host's path MTU use extra
source addresses of their own (added to the interface, removed afterwards),
so the smaller MTU does not reach other checks; their ICMP errors come from
an off-link "router" (198.19.255.1, 2001:2:0:ffff::1).

Addresses: only those given and the ones above, inside namespaces (the
`kernel` and `berth` commands use 198.18.77.0/24, 198.18.78.0/24,
2001:2:0:77::/64 and 2001:2:0:78::/64 inside namespaces named bc<pid>...).
Load: a few hundred packets a check, about 20 s for all of them.
"""

import argparse
import fnmatch
import ipaddress
import json
import logging
import os
import random
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import traceback

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import (ICMP, IP, TCP, UDP, ICMPv6EchoRequest,  # noqa: E402
                       IPOption_NOP, IPv6, IPv6ExtHdrDestOpt,
                       IPv6ExtHdrFragment, IPv6ExtHdrHopByHop, Raw, conf,
                       fragment)
from scapy.layers.inet6 import PadN  # noqa: E402

conf.verb = 0

# TCP flags.
FIN, SYN, RST, PSH, ACK, URG, ECE, CWR = 1, 2, 4, 8, 16, 32, 64, 128
FLAG_NAMES = "FSRPAUEC"
# TCP option kinds.
OPT_MSS, OPT_WS, OPT_SACK_OK, OPT_SACK, OPT_TS = 2, 3, 4, 5, 8

PACKET_OUTGOING = 4
PACKET_VNET_HDR = 15
ETH_P_ALL, ETH_P_IP, ETH_P_IPV6 = 0x0003, 0x0800, 0x86DD
ARPHRD_ETHER = 1

# The services the host under test offers, and ports it must keep closed.
ECHO, DISCARD, DAYTIME, CHARGEN, HTTP = 7, 9, 13, 19, 80
CLOSED_TCP, CLOSED_UDP = 81, 33434

# How long "nothing arrives" is watched for, and how long an answer that
# should come at once may take.
QUIET = 0.6
PROMPT = 1.0

M32 = 0xFFFFFFFF


def sadd(a, n):
    return (a + n) & M32


def sdiff(a, b):
    """a - b in sequence space, as a signed number."""
    d = (a - b) & M32
    return d - (1 << 32) if d >= 1 << 31 else d


def flagstr(flags):
    return "".join(c for i, c in enumerate(FLAG_NAMES) if flags & (1 << i)) or "."


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


class Fail(Exception):
    """A check's expectation was not met."""


def need(cond, why):
    if not cond:
        raise Fail(why)


# --------------------------------------------------------------------------
# Reading packets: a small parser of our own (IPv4/IPv6 with extension
# headers, TCP with options, UDP, ICMP), so what is checked is the bytes on
# the wire rather than a re-encoding.


class Rec:
    """One packet from the host under test."""

    def __init__(self, t, raw, v6):
        self.t, self.raw, self.v6 = t, raw, v6
        self.gso = 0  # the virtio header's gso_size (a TSO segment's MSS)
        self.proto = None
        self.l4 = b""
        # TCP
        self.sport = self.dport = self.seq = self.ack = self.flags = None
        self.win = self.urp = self.doff = 0
        self.reserved = 0
        self.opts = {}
        self.payload = b""
        # ICMP
        self.type = self.code = None

    @property
    def is_tcp(self):
        return self.proto == 6 and self.flags is not None

    @property
    def end(self):
        """The sequence number after this segment's data (and SYN/FIN)."""
        return sadd(self.seq, len(self.payload) + bool(self.flags & SYN) + bool(self.flags & FIN))

    def __str__(self):
        if self.is_tcp:
            s = "%s:%d > %s:%d [%s] seq=%d ack=%d win=%d len=%d" % (
                self.src, self.sport, self.dst, self.dport, flagstr(self.flags),
                self.seq, self.ack, self.win, len(self.payload))
            if self.gso:
                s += " gso=%d" % self.gso
            return s
        if self.type is not None:
            return "%s > %s icmp type=%d code=%d" % (self.src, self.dst, self.type, self.code)
        return "%s > %s proto=%s len=%d" % (self.src, self.dst, self.proto, len(self.raw))


def parse_tcp_options(b):
    opts = {}
    i = 0
    while i < len(b):
        kind = b[i]
        if kind == 0:
            break
        if kind == 1:
            i += 1
            continue
        if i + 1 >= len(b) or b[i + 1] < 2 or i + b[i + 1] > len(b):
            opts["malformed"] = True
            break
        ln = b[i + 1]
        body = b[i + 2:i + ln]
        if kind == OPT_MSS and ln == 4:
            opts[OPT_MSS] = struct.unpack("!H", body)[0]
        elif kind == OPT_WS and ln == 3:
            opts[OPT_WS] = body[0]
        elif kind == OPT_SACK_OK and ln == 2:
            opts[OPT_SACK_OK] = True
        elif kind == OPT_SACK and (ln - 2) % 8 == 0:
            opts[OPT_SACK] = [struct.unpack("!II", body[j:j + 8]) for j in range(0, ln - 2, 8)]
        elif kind == OPT_TS and ln == 10:
            opts[OPT_TS] = struct.unpack("!II", body)
        else:
            opts[kind] = body
        i += ln
    return opts


def parse_ip(raw, t):
    """Parses one IP packet (trimmed to its own length), or returns None."""
    if not raw:
        return None
    ver = raw[0] >> 4
    if ver == 4 and len(raw) >= 20:
        ihl = (raw[0] & 15) * 4
        total = struct.unpack("!H", raw[2:4])[0]
        raw = raw[:total]
        r = Rec(t, raw, False)
        r.tos = raw[1]
        r.ipid = struct.unpack("!H", raw[4:6])[0]
        frag = struct.unpack("!H", raw[6:8])[0]
        r.df = bool(frag & 0x4000)
        r.ttl = raw[8]
        r.proto = raw[9]
        r.src = socket.inet_ntop(socket.AF_INET, raw[12:16])
        r.dst = socket.inet_ntop(socket.AF_INET, raw[16:20])
        if frag & 0x3FFF:
            r.proto = ("fragment", r.proto)
            return r
        r.l4 = raw[ihl:]
    elif ver == 6 and len(raw) >= 40:
        plen = struct.unpack("!H", raw[4:6])[0]
        raw = raw[:40 + plen]
        r = Rec(t, raw, True)
        r.tos = ((raw[0] & 15) << 4) | (raw[1] >> 4)
        r.df = True
        r.ttl = raw[7]
        r.src = socket.inet_ntop(socket.AF_INET6, raw[8:24])
        r.dst = socket.inet_ntop(socket.AF_INET6, raw[24:40])
        nh, off = raw[6], 40
        while nh in (0, 43, 60) and off + 8 <= len(raw):
            nh, off = raw[off], off + (raw[off + 1] + 1) * 8
        if nh == 44:
            r.proto = ("fragment", raw[off] if off < len(raw) else None)
            return r
        r.proto = nh
        r.l4 = raw[off:]
    else:
        return None
    b = r.l4
    if r.proto == 6 and len(b) >= 20:
        (r.sport, r.dport, r.seq, r.ack, off_flags, r.win, _, r.urp) = struct.unpack("!HHIIHHHH", b[:20])
        r.doff = (off_flags >> 12) * 4
        r.reserved = (off_flags >> 9) & 7
        r.flags = off_flags & 0x1FF
        r.opts = parse_tcp_options(b[20:r.doff])
        r.payload = b[r.doff:]
    elif r.proto == 17 and len(b) >= 8:
        r.sport, r.dport = struct.unpack("!HH", b[:4])
        r.payload = b[8:]
    elif r.proto in (1, 58) and len(b) >= 8:
        r.type, r.code = b[0], b[1]
        r.rest = b[4:8]
        r.payload = b[8:]
    return r


# --------------------------------------------------------------------------
# The link: a packet socket to send on, and one (with virtio headers, to see
# TSO segments' sizes) that a thread reads into a list the checks wait on.


class Wire:
    def __init__(self, iface, targets, dst_mac=None):
        self.iface = iface
        with open("/sys/class/net/%s/type" % iface) as f:
            self.ether = int(f.read()) == ARPHRD_ETHER
        with open("/sys/class/net/%s/mtu" % iface) as f:
            self.mtu = int(f.read())
        self.dst_mac = dst_mac
        self.targets = set(targets)
        self.tx = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM)
        self.rx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.rx.setsockopt(263, PACKET_VNET_HDR, 1)  # SOL_PACKET
        self.rx.bind((iface, ETH_P_ALL))
        self.recs = []
        self.cond = threading.Condition()
        self.stopping = False
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def close(self):
        self.stopping = True
        self.thread.join(2)
        self.rx.close()
        self.tx.close()

    def send(self, pkt):
        data = pkt if isinstance(pkt, bytes) else bytes(pkt)
        proto = ETH_P_IPV6 if data[0] >> 4 == 6 else ETH_P_IP
        if self.ether:
            self.tx.sendto(data, (self.iface, proto, 0, 0, self.dst_mac))
        else:
            self.tx.sendto(data, (self.iface, proto))

    def _read(self):
        while not self.stopping:
            ready, _, _ = select.select([self.rx], [], [], 0.1)
            if not ready:
                continue
            data, addr = self.rx.recvfrom(1 << 18)
            if addr[2] == PACKET_OUTGOING or len(data) < 11:
                continue
            _flags, gso_type, _hl, gso_size = struct.unpack("<BBHH", data[:6])
            frame = data[10:]
            if self.ether:
                if len(frame) < 14 or struct.unpack("!H", frame[12:14])[0] not in (ETH_P_IP, ETH_P_IPV6):
                    continue
                frame = frame[14:]
            rec = parse_ip(frame, time.monotonic())
            if rec is None or rec.src not in self.targets:
                continue
            if gso_type & 0x7F:
                rec.gso = gso_size
            with self.cond:
                self.recs.append(rec)
                self.cond.notify_all()

    def mark(self):
        with self.cond:
            return len(self.recs)

    def clear(self):
        with self.cond:
            self.recs = []

    def wait(self, pos, pred, timeout):
        """The first packet at or after index `pos` that `pred` accepts,
        waiting up to `timeout` seconds: (index, rec), or (None, None)."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                while pos < len(self.recs):
                    if pred(self.recs[pos]):
                        return pos, self.recs[pos]
                    pos += 1
                left = deadline - time.monotonic()
                if left <= 0:
                    return None, None
                self.cond.wait(left)

    def since(self, pos):
        with self.cond:
            return list(self.recs[pos:])


# --------------------------------------------------------------------------
# Crafted connections.


class Harness:
    def __init__(self, wire, t4, t6, s4, s6, extra4, extra6):
        self.wire, self.t4, self.t6, self.s4, self.s6 = wire, t4, t6, s4, s6
        self.extra4, self.extra6 = extra4, extra6  # for the PMTU checks
        self.port = random.randrange(20000, 30000)
        self.flows = []
        self.ts0 = random.getrandbits(31)
        self.t0 = time.monotonic()

    def next_port(self):
        self.port += 1
        return self.port

    def tsval(self):
        return (self.ts0 + int((time.monotonic() - self.t0) * 1000)) & M32

    def flow(self, dport, v6=False, **kw):
        f = Flow(self, dport, v6, **kw)
        self.flows.append(f)
        return f

    def target(self, v6):
        return self.t6 if v6 else self.t4

    def source(self, v6):
        return self.s6 if v6 else self.s4

    def ip(self, v6=False, src=None, dst=None, **kw):
        src = src or self.source(v6)
        dst = dst or self.target(v6)
        return IPv6(src=src, dst=dst, **kw) if v6 else IP(src=src, dst=dst, **kw)

    def send(self, pkt):
        self.wire.send(pkt)

    def expect(self, pos, pred, timeout=PROMPT, what="an answer"):
        _, r = self.wire.wait(pos, pred, timeout)
        need(r is not None, "no %s within %.1f s" % (what, timeout))
        return r

    def quiet(self, pos, pred, timeout=QUIET):
        """The first packet `pred` accepts within `timeout`, or None."""
        return self.wire.wait(pos, pred, timeout)[1]

    def cleanup(self):
        for f in self.flows:
            f.abort()
        self.flows = []


def default_mss(h, v6):
    return h.wire.mtu - (60 if v6 else 40)


class Flow:
    """One crafted TCP connection to the host under test."""

    def __init__(self, h, dport, v6=False, sport=None, src=None, dst=None):
        self.h, self.v6, self.dport = h, v6, dport
        self.src = src or h.source(v6)
        self.dst = dst or h.target(v6)
        self.sport = sport or h.next_port()
        self.iss = random.getrandbits(32)
        self.snd_nxt = self.iss
        self.irs = self.rcv_nxt = None
        self.ts_ok = self.sack_ok = False
        self.ts_recent = 0
        self.synced = False
        self.closed = False
        self.fin_seen = False
        self.pos = h.wire.mark()
        self.start = self.pos

    # -- sending
    def options(self, flags, extra=None):
        opts = []
        if self.ts_ok and not (flags & RST and not flags & ACK):
            opts = [("NOP", None), ("NOP", None), ("Timestamp", (self.h.tsval(), self.ts_recent))]
        return opts + (extra or [])

    def segment(self, flags, seq=None, ack=None, data=b"", options=None, window=65535,
                urgptr=0, tos=0, **tcp_kw):
        if isinstance(flags, str):
            flags = sum(1 << FLAG_NAMES.index(c) for c in flags)
        seq = self.snd_nxt if seq is None else seq
        if ack is None:
            ack = self.rcv_nxt if (flags & ACK and self.rcv_nxt is not None) else 0
        if options is None:
            options = self.options(flags)
        ipkw = {"tos": tos} if not self.v6 else {"tc": tos}
        pkt = self.h.ip(self.v6, self.src, self.dst, **ipkw) / TCP(
            sport=self.sport, dport=self.dport, seq=seq, ack=ack, flags=flags,
            window=window, options=options, urgptr=urgptr, **tcp_kw)
        if data:
            pkt = pkt / Raw(data)
        return pkt

    def send(self, flags="A", data=b"", seq=None, advance=True, **kw):
        pkt = self.segment(flags, seq=seq, data=data, **kw)
        self.h.send(pkt)
        f = pkt[TCP].flags
        if advance and (seq is None or seq == self.snd_nxt):
            self.snd_nxt = sadd(pkt[TCP].seq, len(data) + bool(f & SYN) + bool(f & FIN))
        return pkt

    def syn(self, options=None, window=65535, flags="S", data=b"", **kw):
        if options is None:
            options = [("MSS", default_mss(self.h, self.v6)), ("SAckOK", b""),
                       ("Timestamp", (self.h.tsval(), 0))]
        self.syn_options = options
        return self.send(flags, data=data, seq=self.iss, options=options, window=window, **kw)

    def connect(self, options=None, window=65535, ack_window=None, data=b"", flags="S",
                complete=True):
        """SYN, SYN-ACK, ACK (carrying `data`): the SYN-ACK."""
        self.syn(options, window, flags)
        sa = self.recv(lambda r: r.flags & SYN, what="SYN-ACK")
        need(sa.flags & ACK and not sa.flags & RST,
             "answer to the SYN is [%s], not a SYN-ACK" % flagstr(sa.flags))
        need(sa.ack == sadd(self.iss, 1), "SYN-ACK acknowledges %d, not ISN+1 = %d" % (sa.ack, sadd(self.iss, 1)))
        self.irs = sa.seq
        self.rcv_nxt = sadd(sa.seq, 1)
        names = [o[0] for o in self.syn_options]
        self.ts_ok = "Timestamp" in names and OPT_TS in sa.opts
        self.sack_ok = "SAckOK" in names and OPT_SACK_OK in sa.opts
        if complete:
            self.send("PA" if data else "A", data=data,
                      window=window if ack_window is None else ack_window)
            self.synced = True
        return sa

    def took(self, sa):
        """Takes a SYN-ACK to a SYN sent by hand: the flow is synchronized."""
        self.irs, self.rcv_nxt, self.snd_nxt, self.synced = sa.seq, sadd(sa.seq, 1), sadd(self.iss, 1), True
        return sa

    def ack(self, window=65535, **kw):
        return self.send("A", window=window, **kw)

    def abort(self):
        """Ends the connection on the host with a RST (at SND.NXT)."""
        if self.synced and not self.closed:
            self.h.send(self.segment(RST, options=[]))
        self.closed = True

    # -- receiving
    def mine(self, r):
        return (r.is_tcp and r.sport == self.dport and r.dport == self.sport
                and r.src == self.dst and r.dst == self.src)

    def _note(self, r):
        if OPT_TS in r.opts:
            self.ts_recent = r.opts[OPT_TS][0]

    def recv(self, pred=None, timeout=2.0, what="segment"):
        """The next segment of this connection that `pred` accepts."""
        idx, r = self.h.wire.wait(self.pos, lambda r: self.mine(r) and (pred is None or pred(r)), timeout)
        need(r is not None, "no %s within %.1f s" % (what, timeout))
        self.pos = idx + 1
        self._note(r)
        return r

    def maybe(self, pred=None, timeout=QUIET):
        idx, r = self.h.wire.wait(self.pos, lambda r: self.mine(r) and (pred is None or pred(r)), timeout)
        if r is not None:
            self.pos = idx + 1
            self._note(r)
        return r

    def quiesce(self, quiet=0.15, limit=2.0):
        """Lets late segments of what went before arrive (a second ACK, a
        window update, a retransmission) and passes over them, so that the
        next answer read is the answer to what is sent next: returns once
        nothing has come for `quiet` seconds."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline and self.maybe(timeout=min(quiet, deadline - time.monotonic())):
            pass

    def seen(self):
        """Every segment of this connection received so far."""
        return [r for r in self.h.wire.since(self.start) if self.mine(r)]

    def read(self, n, timeout=2.0, ack=True):
        """Reads `n` bytes of in-order data (ACKing as it goes when `ack`)."""
        got = b""
        deadline = time.monotonic() + timeout
        while len(got) < n:
            left = deadline - time.monotonic()
            need(left > 0, "%d of %d bytes arrived within %.1f s" % (len(got), n, timeout))
            r = self.maybe(lambda r: r.payload or r.flags & FIN, left)
            if r is None:
                continue
            off = sdiff(self.rcv_nxt, r.seq)
            if 0 <= off < len(r.payload):
                got += r.payload[off:]
                self.rcv_nxt = sadd(r.seq, len(r.payload))
            if r.flags & FIN and sdiff(r.end, self.rcv_nxt) == 1 and off <= len(r.payload):
                self.rcv_nxt = r.end
                self.fin_seen = True
            if ack:
                self.ack()
            if r.flags & FIN and len(got) < n:
                raise Fail("FIN after %d of %d bytes" % (len(got), n))
        return got

    def wait_fin(self, timeout=2.0):
        """Waits for the host's FIN (unless `read` already took it) and
        acknowledges it; our side then has nothing left to send."""
        if not self.fin_seen:
            r = self.recv(lambda r: r.flags & FIN, timeout=timeout, what="FIN from the host")
            need(r.end == sadd(self.rcv_nxt, 1), "FIN at %d, expected %d" % (r.seq, self.rcv_nxt))
            self.rcv_nxt = r.end
            self.fin_seen = True
        self.ack()

    def burst(self, settle=0.15, limit=2.0):
        """The data segments that arrive until nothing new (beyond what was
        already seen) has come for `settle` seconds."""
        segs = []
        end = None
        deadline = time.monotonic() + limit
        while True:
            left = min(settle, deadline - time.monotonic())
            if left <= 0:
                return segs
            r = self.maybe(lambda r: r.payload, left)
            if r is None:
                return segs
            segs.append(r)
            e = sadd(r.seq, len(r.payload))
            if end is None or sdiff(e, end) > 0:
                end = e


def seg_ip_size(r):
    """The IP packet size of a segment, or of each piece of a TSO segment."""
    hdr = len(r.raw) - len(r.payload)
    if r.gso and len(r.payload) > r.gso:
        return hdr + r.gso
    return len(r.raw)


def seg_mss(r):
    return r.gso if r.gso and len(r.payload) > r.gso else len(r.payload)


def data_end(segs, base):
    """The highest sequence offset from `base` any of `segs` reaches."""
    return max((sdiff(sadd(r.seq, len(r.payload)), base) for r in segs), default=0)


# --------------------------------------------------------------------------
# The checks. Each takes the harness and raises Fail (via need) when the
# host under test does not behave as the RFC (and Linux) does.

CHECKS = []


def check(name, ref, v6=False):
    def deco(fn):
        CHECKS.append({"name": name, "ref": ref, "doc": (fn.__doc__ or "").strip(), "fn": fn, "v6": v6})
        return fn
    return deco


# ---- the handshake and its options


@check("syn_synack", "RFC 9293 3.5")
def _(h):
    """A SYN to a listening port is answered with a SYN-ACK for ISN+1."""
    f = h.flow(HTTP)
    sa = f.connect(complete=False)
    need(sa.flags & (SYN | ACK | RST | FIN) == SYN | ACK, "SYN-ACK flags [%s]" % flagstr(sa.flags))
    f.synced = True


@check("synack_mss", "RFC 9293 3.7.1, RFC 6691")
def _(h):
    """The SYN-ACK carries an MSS option that fits the link MTU."""
    f = h.flow(HTTP)
    sa = f.connect()
    mss = sa.opts.get(OPT_MSS)
    need(mss is not None, "no MSS option in the SYN-ACK")
    need(536 <= mss <= h.wire.mtu - 40, "MSS %d does not fit MTU %d" % (mss, h.wire.mtu))


@check("synack_options_echo", "RFC 7323 2.2, 3.2; RFC 2018 2")
def _(h):
    """A SYN with SACK-permitted, timestamps and window scale gets all three
    back; the SYN-ACK's TSecr echoes the SYN's TSval; its shift is <= 14."""
    f = h.flow(HTTP)
    tsval = h.tsval()
    sa = f.connect(options=[("MSS", 1460), ("SAckOK", b""), ("Timestamp", (tsval, 0)),
                            ("NOP", None), ("WScale", 7)])
    need(OPT_SACK_OK in sa.opts, "no SACK-permitted in the SYN-ACK")
    need(OPT_TS in sa.opts, "no timestamp option in the SYN-ACK")
    need(sa.opts[OPT_TS][1] == tsval, "TSecr %d is not the SYN's TSval %d" % (sa.opts[OPT_TS][1], tsval))
    need(OPT_WS in sa.opts, "no window scale option in the SYN-ACK")
    need(sa.opts[OPT_WS] <= 14, "window scale shift %d > 14" % sa.opts[OPT_WS])


@check("synack_no_unrequested_options", "RFC 7323 2.2, 3.2")
def _(h):
    """A SYN with only an MSS option gets neither timestamps nor window
    scale back."""
    f = h.flow(HTTP)
    sa = f.connect(options=[("MSS", 1460)])
    need(OPT_TS not in sa.opts, "timestamps in the SYN-ACK to a SYN without them")
    need(OPT_WS not in sa.opts, "window scale in the SYN-ACK to a SYN without it")


@check("synack_ecn_setup", "RFC 3168 6.1.1")
def _(h):
    """An ECN-setup SYN (ECE and CWR set) is answered with an ECN-setup
    SYN-ACK (ECE set, CWR clear), as Linux does with tcp_ecn=2."""
    f = h.flow(HTTP)
    sa = f.connect(flags="SEC")
    need(sa.flags & ECE, "SYN-ACK [%s] lacks ECE" % flagstr(sa.flags))
    need(not sa.flags & CWR, "SYN-ACK [%s] sets CWR" % flagstr(sa.flags))


@check("synack_no_ecn_unasked", "RFC 3168 6.1.1")
def _(h):
    """A SYN without ECE/CWR gets a SYN-ACK without ECE."""
    f = h.flow(HTTP)
    sa = f.connect()
    need(not sa.flags & (ECE | CWR), "SYN-ACK [%s] to a non-ECN SYN" % flagstr(sa.flags))


@check("syn_retransmission_resends_synack", "RFC 9293 3.10.7.3")
def _(h):
    """A retransmitted SYN in SYN-RECEIVED brings the same SYN-ACK again."""
    f = h.flow(HTTP)
    sa = f.connect(complete=False)
    f.synced = True
    f.syn(options=[("MSS", 1460), ("SAckOK", b""), ("Timestamp", (h.tsval(), 0))])
    again = f.recv(lambda r: r.flags & SYN, timeout=PROMPT, what="second SYN-ACK")
    need(again.seq == sa.seq and again.ack == sa.ack, "second SYN-ACK %s differs from %s" % (again, sa))


@check("synack_retransmitted", "RFC 6298 2.1, RFC 9293 3.8.1")
def _(h):
    """An unanswered SYN-ACK is retransmitted (initial RTO 1 s)."""
    f = h.flow(HTTP)
    sa = f.connect(complete=False)
    f.synced = True
    again = f.recv(lambda r: r.flags & SYN, timeout=3.5, what="retransmitted SYN-ACK")
    need(again.seq == sa.seq, "retransmitted SYN-ACK has seq %d, not %d" % (again.seq, sa.seq))


@check("land_syn_dropped", "RFC 1122 3.2.1.3; the LAND attack")
def _(h):
    """A SYN whose source address is the host's own address is dropped."""
    t = h.target(False)
    f = h.flow(HTTP, src=t)
    pos = h.wire.mark()
    f.syn()
    r = h.quiet(pos, lambda r: r.is_tcp and r.dst == t and r.sport == HTTP and r.dport == f.sport, 1.0)
    need(r is None, "answered: %s" % r)


@check("syn_from_multicast_dropped", "RFC 1122 4.2.3.10")
def _(h):
    """A SYN from a multicast source address is ignored."""
    f = h.flow(HTTP, src="224.0.0.251")
    pos = h.wire.mark()
    f.syn()
    r = h.quiet(pos, lambda r: r.dst == "224.0.0.251")
    need(r is None, "answered: %s" % r)


@check("syn_from_broadcast_dropped", "RFC 1122 4.2.3.10")
def _(h):
    """A SYN from the limited broadcast address is ignored."""
    f = h.flow(HTTP, src="255.255.255.255")
    pos = h.wire.mark()
    f.syn()
    r = h.quiet(pos, lambda r: r.dst == "255.255.255.255")
    need(r is None, "answered: %s" % r)


@check("syn_fin_to_listener_dropped", "RFC 9293 3.10.7.2 (Linux: dropped)")
def _(h):
    """A SYN with FIN set is not answered with a SYN-ACK."""
    f = h.flow(HTTP)
    f.syn(flags="SF")
    r = f.maybe(lambda r: r.flags & SYN)
    need(r is None, "answered: %s" % r)
    f.synced = r is not None


@check("syn_with_data", "RFC 9293 3.10.7.2")
def _(h):
    """A SYN carrying data gets a SYN-ACK (acknowledging the data or not);
    the data, sent again if need be, is echoed."""
    f = h.flow(ECHO)
    data = b"data on the SYN\n"
    f.syn(data=data)
    sa = f.recv(lambda r: r.flags & SYN, what="SYN-ACK")
    need(sa.flags & ACK, "answer [%s]" % flagstr(sa.flags))
    taken = sdiff(sa.ack, f.iss) - 1
    need(taken in (0, len(data)), "SYN-ACK acknowledges %d bytes of %d" % (taken, len(data)))
    f.irs, f.rcv_nxt, f.synced = sa.seq, sadd(sa.seq, 1), True
    f.ts_ok = OPT_TS in sa.opts
    f.snd_nxt = sadd(f.iss, 1)
    if taken:
        f.snd_nxt = sadd(f.snd_nxt, taken)
        f.ack()
    else:
        f.send("PA", data=data)
    need(f.read(len(data)) == data, "echo differs")


@check("syn_unknown_option_ignored", "RFC 9293 3.1")
def _(h):
    """A SYN with an unknown (experimental, kind 254) option is answered."""
    f = h.flow(HTTP)
    f.connect(options=[("MSS", 1460), (254, b"\xf9\x89\x01\x02"), ("NOP", None), ("NOP", None)])


def raw_tcp(h, sport, dport, seq, flags, optbytes, v6=False, ack=0, doff=None):
    """A TCP segment with hand-made option bytes (which Scapy would tidy)."""
    hdr_len = 20 + len(optbytes)
    doff = hdr_len // 4 if doff is None else doff
    tcp = struct.pack("!HHIIHHHH", sport, dport, seq, ack, (doff << 12) | flags, 65535, 0, 0) + optbytes
    src, dst = h.source(v6), h.target(v6)
    if v6:
        pseudo = socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst) + struct.pack("!IxxxB", len(tcp), 6)
    else:
        pseudo = socket.inet_pton(socket.AF_INET, src) + socket.inet_pton(socket.AF_INET, dst) + struct.pack("!xBH", 6, len(tcp))
    c = checksum(pseudo + tcp)
    tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
    if v6:
        return IPv6(src=src, dst=dst, nh=6) / Raw(tcp)
    return IP(src=src, dst=dst, proto=6) / Raw(tcp)


@check("syn_malformed_options_survived", "RFC 9293 3.1, RFC 1122 4.2.2.5")
def _(h):
    """SYNs with a zero option length and with an option running past the
    header do not stop the host: a normal SYN afterwards is answered."""
    for opts in (b"\x02\x04\x05\xb4\xfe\x00\x00\x00", b"\x02\x04\x05\xb4\x08\x28\x00\x00"):
        port = h.next_port()
        h.send(raw_tcp(h, port, HTTP, random.getrandbits(32), SYN, opts))
        # Whatever the answer, do not leave a half-open connection behind.
        pos = h.wire.mark()
        r = h.quiet(pos, lambda r: r.is_tcp and r.dport == port and r.flags & SYN, 0.3)
        if r is not None:
            h.send(h.ip() / TCP(sport=port, dport=HTTP, seq=r.ack, flags="R"))
    f = h.flow(HTTP)
    f.connect()


@check("syn_reserved_bits_ignored", "RFC 9293 3.1")
def _(h):
    """A SYN with the three reserved header bits set is answered, and the
    SYN-ACK keeps them clear."""
    f = h.flow(HTTP)
    f.syn(reserved=7)
    sa = f.took(f.recv(lambda r: r.flags & SYN, what="SYN-ACK"))
    need(sa.reserved == 0, "SYN-ACK sets reserved bits %d" % sa.reserved)


@check("syn_recv_bad_ack_rst", "RFC 9293 3.10.7.3")
def _(h):
    """In SYN-RECEIVED, an ACK that does not acknowledge our SYN-ACK draws
    a RST with SEQ=SEG.ACK."""
    f = h.flow(HTTP)
    f.connect(complete=False)
    f.synced = True
    bad = sadd(f.rcv_nxt, 1000)
    f.send("A", ack=bad, advance=False)
    r = f.recv(lambda r: r.flags & RST, timeout=PROMPT, what="RST")
    need(r.seq == bad, "RST seq %d, not the segment's ACK %d" % (r.seq, bad))


@check("syn_recv_rst_aborts", "RFC 9293 3.10.7.3")
def _(h):
    """A RST in SYN-RECEIVED removes the half-open connection: the ACK that
    would have completed it then draws a RST."""
    f = h.flow(HTTP)
    f.connect(complete=False)
    f.send(RST, options=[], advance=False)
    pos = f.pos
    f.ack()
    f.pos = pos
    r = f.recv(timeout=PROMPT, what="RST to the late ACK")
    need(r.flags & RST, "late ACK answered with [%s]" % flagstr(r.flags))


# ---- closed ports and listeners


@check("syn_closed_port_rst", "RFC 9293 3.10.7.1")
def _(h):
    """A SYN to a closed port gets <SEQ=0><ACK=SEG.SEQ+1><CTL=RST,ACK>."""
    f = h.flow(CLOSED_TCP)
    f.syn()
    r = f.recv(timeout=PROMPT, what="RST")
    need(r.flags & (RST | ACK | SYN) == RST | ACK, "answer [%s]" % flagstr(r.flags))
    need(r.seq == 0 and r.ack == sadd(f.iss, 1), "RST seq=%d ack=%d" % (r.seq, r.ack))


@check("ack_closed_port_rst", "RFC 9293 3.10.7.1")
def _(h):
    """An ACK to a closed port gets <SEQ=SEG.ACK><CTL=RST>."""
    f = h.flow(CLOSED_TCP)
    f.send("A", ack=123456789, options=[])
    r = f.recv(timeout=PROMPT, what="RST")
    need(r.flags & (RST | ACK | SYN) == RST, "answer [%s]" % flagstr(r.flags))
    need(r.seq == 123456789, "RST seq %d, not the segment's ACK" % r.seq)


@check("rst_closed_port_silent", "RFC 9293 3.10.7.1")
def _(h):
    """A RST to a closed port is not answered."""
    f = h.flow(CLOSED_TCP)
    f.send(RST, options=[])
    r = f.maybe()
    need(r is None, "answered: %s" % r)


@check("ack_to_listener_rst", "RFC 9293 3.10.7.2")
def _(h):
    """An ACK to a listening port gets <SEQ=SEG.ACK><CTL=RST>."""
    f = h.flow(HTTP)
    f.send("A", ack=987654321, options=[])
    r = f.recv(timeout=PROMPT, what="RST")
    need(r.flags & (RST | SYN) == RST and r.seq == 987654321, "answer %s" % r)


@check("synack_to_listener_rst", "RFC 9293 3.10.7.2")
def _(h):
    """A SYN-ACK to a listening port gets <SEQ=SEG.ACK><CTL=RST>."""
    f = h.flow(HTTP)
    f.send("SA", ack=55555, options=[])
    r = f.recv(timeout=PROMPT, what="RST")
    need(r.flags & (RST | SYN) == RST and r.seq == 55555, "answer %s" % r)


@check("rst_to_listener_silent", "RFC 9293 3.10.7.2")
def _(h):
    """A RST to a listening port is not answered."""
    f = h.flow(HTTP)
    f.send(RST, options=[])
    r = f.maybe()
    need(r is None, "answered: %s" % r)


@check("fin_or_no_flags_to_listener_silent", "RFC 9293 3.10.7.2")
def _(h):
    """A bare FIN, or a segment with no flags, to a listening port is
    dropped without an answer."""
    f = h.flow(HTTP)
    f.send("F", options=[])
    f.send(0, data=b"x", options=[])
    r = f.maybe()
    need(r is None, "answered: %s" % r)


# ---- an established connection


@check("echo_roundtrip", "RFC 9293 3.10.7.4")
def _(h):
    """Data sent on the ACK that completes the handshake comes back from the
    echo service, at the right sequence number, acknowledging it."""
    f = h.flow(ECHO)
    data = b"hello from the conformance suite\n"
    f.connect(data=data)
    start = f.rcv_nxt
    need(f.read(len(data)) == data, "echo differs")
    r = [r for r in f.seen() if r.payload][0]
    need(r.seq == start, "echo starts at seq %d, not %d" % (r.seq, start))
    need(r.ack == f.snd_nxt, "echo acknowledges %d, not %d" % (r.ack, f.snd_nxt))


@check("psh_on_last_segment", "RFC 9293 3.9.1 (SEND), RFC 1122 4.2.2.2")
def _(h):
    """The segment that ends a write (here: the echo of one segment) has
    PSH set."""
    f = h.flow(ECHO)
    data = b"p" * 100
    f.connect(data=data)
    f.read(len(data))
    last = [r for r in f.seen() if r.payload and r.end == f.rcv_nxt]
    need(last and all(r.flags & PSH for r in last), "last data segment [%s] lacks PSH" % (flagstr(last[0].flags) if last else "?"))


@check("psh_in_bulk_transfer", "RFC 9293 3.9.1 (SEND), RFC 1122 4.2.2.2")
def _(h):
    """In a long transfer, PSH keeps marking the ends of the sender's
    writes (Linux: every write it sends, and at least every half window),
    not only the moments its queue runs dry: chargen writes 4736 bytes at
    a time, and in 150 KB no stretch of more than four writes' worth goes
    without PSH. A write that ends inside a TSO segment is marked at that
    segment's end (a TSO segment carries PSH only on its last piece, and
    here they are a few MSS, shorter than a write), up to one write
    later: so marks are at most five writes' worth (23680 bytes) apart.
    An idle machine's Linux showed 18980 and 21400 bytes, over the four
    writes' 18944 that an earlier version of this check allowed."""
    f = chargen(h, options=[("MSS", 1460)], window=30000)
    base = f.rcv_nxt
    got = len(f.read(150000, timeout=6))
    ends = sorted({sdiff(sadd(r.seq, len(r.payload)), base) for r in f.seen()
                   if r.payload and r.flags & PSH})
    marks = [0] + [e for e in ends if 0 < e < got] + [got]
    gap, at = max((b - a, a) for a, b in zip(marks, marks[1:]))
    need(gap <= 5 * 4736, "%d bytes without PSH from byte %d (PSH at %s)" % (gap, at, ends[:12] or "none"))


@check("data_acked_promptly", "RFC 1122 4.2.3.2, RFC 9293 3.8.6.3")
def _(h):
    """Data is acknowledged within 500 ms."""
    f = h.flow(DISCARD)
    f.connect()
    f.send("PA", data=b"d" * 100)
    f.recv(lambda r: r.ack == f.snd_nxt, timeout=0.5, what="ACK of the data")


@check("ack_every_second_segment", "RFC 5681 4.2, RFC 1122 4.2.3.2")
def _(h):
    """Of four full-sized segments sent 5 ms apart (within one delayed-ACK
    time), at least every second one is acknowledged."""
    f = h.flow(DISCARD)
    sa = f.connect()
    # Full-sized: the MSS less the options every segment carries.
    mss = min(sa.opts.get(OPT_MSS, 536), default_mss(h, False)) - (12 if f.ts_ok else 0)
    ends = []
    for _ in range(4):
        f.send("A", data=b"s" * mss)
        ends.append(f.snd_nxt)
        time.sleep(0.005)  # pacing, so that the host sees four arrivals
    f.recv(lambda r: r.ack == f.snd_nxt, timeout=PROMPT, what="ACK of all four segments")
    start = sadd(ends[0], -mss)
    acks = sorted({r.ack for r in f.seen() if r.flags & ACK and sdiff(r.ack, start) > 0},
                  key=lambda a: sdiff(a, start))
    need(len(acks) >= 2, "one ACK (%s) for four full-sized segments" % acks)


@check("out_of_window_data_acked", "RFC 9293 3.10.7.4")
def _(h):
    """A data segment far outside the receive window is answered with an
    ACK for RCV.NXT."""
    f = h.flow(DISCARD)
    f.connect()
    f.send("PA", data=b"o" * 10, seq=sadd(f.snd_nxt, 1 << 30), advance=False)
    r = f.recv(timeout=PROMPT, what="ACK")
    need(r.flags & ACK and not r.flags & RST and r.ack == f.snd_nxt, "answer %s" % r)


@check("old_duplicate_acked", "RFC 9293 3.10.7.4")
def _(h):
    """A segment of data already received is answered with an ACK."""
    f = h.flow(DISCARD)
    f.connect(options=[("MSS", 1460), ("Timestamp", (h.tsval(), 0))])
    seq = f.snd_nxt
    f.send("PA", data=b"x" * 100)
    f.recv(lambda r: r.ack == f.snd_nxt, what="ACK of the data")
    f.quiesce()
    f.send("PA", data=b"x" * 100, seq=seq, advance=False)
    r = f.recv(timeout=PROMPT, what="ACK of the duplicate")
    need(r.ack == f.snd_nxt and not r.flags & RST, "answer %s" % r)


@check("dsack_for_duplicate", "RFC 2883 4")
def _(h):
    """With SACK, a duplicate segment is acknowledged with a D-SACK block
    (its own range, first)."""
    f = h.flow(DISCARD)
    f.connect()
    need(f.sack_ok, "SACK not negotiated")
    seq = f.snd_nxt
    f.send("PA", data=b"x" * 100)
    f.recv(lambda r: r.ack == f.snd_nxt, what="ACK of the data")
    f.quiesce()
    f.send("PA", data=b"x" * 100, seq=seq, advance=False)
    r = f.recv(timeout=PROMPT, what="ACK of the duplicate")
    blocks = r.opts.get(OPT_SACK)
    if not blocks:
        # Perhaps a bare ACK first and the D-SACK in the next one.
        r = f.maybe(lambda r: r.opts.get(OPT_SACK)) or r
        blocks = r.opts.get(OPT_SACK)
    need(blocks, "ACK of the duplicate has no SACK block: %s" % r)
    need(blocks[0] == (seq, sadd(seq, 100)), "first SACK block %s, not the duplicate %s"
         % (blocks[0], (seq, sadd(seq, 100))))


@check("ooo_data_sacked", "RFC 2018 4, RFC 5681 4.2")
def _(h):
    """Out-of-order data is acknowledged at once with a duplicate ACK that
    carries a SACK block for it."""
    f = h.flow(DISCARD)
    f.connect()
    need(f.sack_ok, "SACK not negotiated")
    hole = f.snd_nxt
    f.send("PA", data=b"o" * 100, seq=sadd(hole, 100), advance=False)
    r = f.recv(timeout=0.5, what="duplicate ACK")
    need(r.ack == hole, "ACK %d, not the hole %d" % (r.ack, hole))
    need(r.opts.get(OPT_SACK, [None])[0] == (sadd(hole, 100), sadd(hole, 200)),
         "SACK blocks %s, not [%d, %d)" % (r.opts.get(OPT_SACK), sadd(hole, 100), sadd(hole, 200)))


@check("sack_most_recent_first", "RFC 2018 4")
def _(h):
    """With two out-of-order ranges, the first SACK block is the one that
    arrived last, and the other is reported too."""
    f = h.flow(DISCARD)
    f.connect()
    need(f.sack_ok, "SACK not negotiated")
    hole = f.snd_nxt
    a, b = (sadd(hole, 100), sadd(hole, 200)), (sadd(hole, 300), sadd(hole, 400))
    f.send("PA", data=b"a" * 100, seq=a[0], advance=False)
    f.recv(lambda r: r.opts.get(OPT_SACK), timeout=PROMPT, what="first SACK")
    f.send("PA", data=b"b" * 100, seq=b[0], advance=False)
    r = f.recv(lambda r: r.opts.get(OPT_SACK) and b in r.opts[OPT_SACK], timeout=PROMPT, what="SACK of the second range")
    blocks = r.opts[OPT_SACK]
    need(blocks[0] == b and a in blocks, "SACK blocks %s, expected %s first, then %s" % (blocks, b, a))


@check("no_sack_without_permission", "RFC 2018 2")
def _(h):
    """Without SACK-permitted in the SYN, no SACK option is ever sent."""
    f = h.flow(DISCARD)
    f.connect(options=[("MSS", 1460), ("Timestamp", (h.tsval(), 0))])
    f.send("PA", data=b"o" * 100, seq=sadd(f.snd_nxt, 100), advance=False)
    r = f.recv(timeout=0.5, what="duplicate ACK")
    need(OPT_SACK not in r.opts, "SACK option sent: %s" % r.opts)


@check("ooo_fill_acked", "RFC 5681 4.2, RFC 9293 3.10.7.4")
def _(h):
    """Filling the hole before out-of-order data is acknowledged at once,
    up to the end of both."""
    f = h.flow(DISCARD)
    f.connect()
    hole = f.snd_nxt
    f.send("PA", data=b"o" * 100, seq=sadd(hole, 100), advance=False)
    f.recv(timeout=0.5, what="duplicate ACK")
    f.send("PA", data=b"f" * 100)
    f.recv(lambda r: r.ack == sadd(hole, 200), timeout=0.5, what="ACK of both ranges")


def survives(f, what="the connection"):
    """Checks an echo connection still works: one line out, and back."""
    data = b"still there?\n"
    f.send("PA", data=data)
    need(f.read(len(data)) == data, "%s echoed something else" % what)


@check("rst_exact_seq_resets", "RFC 5961 3.2, RFC 9293 3.10.7.4")
def _(h):
    """A RST at exactly RCV.NXT closes the connection: later data draws a
    RST."""
    f = h.flow(DISCARD)
    f.connect()
    f.send(RST, options=[], advance=False)
    r = f.maybe(timeout=0.3)
    need(r is None, "the RST was answered: %s" % r)
    f.send("PA", data=b"after the reset")
    r = f.recv(timeout=PROMPT, what="RST to data after the reset")
    need(r.flags & RST, "data after the reset answered with %s" % r)
    f.closed = True


@check("rst_in_window_challenge_ack", "RFC 5961 3.2")
def _(h):
    """A RST inside the window but not at RCV.NXT draws a challenge ACK and
    leaves the connection open."""
    f = h.flow(ECHO)
    f.connect()
    f.send(RST, seq=sadd(f.snd_nxt, 1000), options=[], advance=False)
    r = f.recv(timeout=PROMPT, what="challenge ACK")
    need(r.flags & (ACK | RST) == ACK and r.ack == f.snd_nxt, "answer %s" % r)
    survives(f)


@check("rst_out_of_window_ignored", "RFC 5961 3.2")
def _(h):
    """A RST outside the window is dropped without an answer."""
    f = h.flow(ECHO)
    f.connect()
    f.send(RST, seq=sadd(f.snd_nxt, 1 << 31), options=[], advance=False)
    r = f.maybe()
    need(r is None, "answered: %s" % r)
    survives(f)


@check("syn_in_established_challenge_ack", "RFC 5961 4.2, RFC 9293 3.10.7.4")
def _(h):
    """A SYN on an established connection draws a challenge ACK (no RST)
    and leaves the connection open."""
    f = h.flow(ECHO)
    f.connect()
    f.send("S", seq=f.snd_nxt, advance=False, options=f.options(SYN, [("MSS", 1460)]))
    r = f.recv(timeout=PROMPT, what="challenge ACK")
    need(r.flags & (ACK | RST | SYN) == ACK and r.ack == f.snd_nxt, "answer %s" % r)
    survives(f)


@check("old_ack_data_dropped", "RFC 5961 5.2")
def _(h):
    """Data whose ACK lies far below SND.UNA is dropped (not echoed) and
    answered with an ACK."""
    f = h.flow(ECHO)
    f.connect()
    before = f.snd_nxt
    f.send("PA", data=b"blind injection\n", ack=sadd(f.rcv_nxt, -(1 << 20)), advance=False)
    r = f.recv(timeout=PROMPT, what="ACK")
    need(not r.payload, "the data was echoed: %s" % r)
    need(r.flags & ACK and r.ack == before, "answer %s acknowledges the data" % r)
    r = f.maybe(lambda r: r.payload)
    need(r is None, "the data was echoed: %s" % r)
    survives(f)


@check("ack_of_unsent_data_dropped", "RFC 9293 3.10.7.4")
def _(h):
    """Data whose ACK acknowledges bytes never sent is dropped (not
    echoed)."""
    f = h.flow(ECHO)
    f.connect()
    f.send("PA", data=b"ack from the future\n", ack=sadd(f.rcv_nxt, 100000), advance=False)
    r = f.maybe(lambda r: r.payload or r.flags & RST)
    need(r is None, "answered: %s" % r)
    survives(f)


@check("timestamps_echoed", "RFC 7323 4.3")
def _(h):
    """The ACK of in-order data echoes that segment's TSval."""
    f = h.flow(DISCARD)
    f.connect()
    need(f.ts_ok, "timestamps not negotiated")
    tsval = h.tsval() + 5
    f.send("PA", data=b"t" * 10, options=[("NOP", None), ("NOP", None), ("Timestamp", (tsval, f.ts_recent))])
    r = f.recv(lambda r: r.ack == f.snd_nxt, what="ACK")
    need(OPT_TS in r.opts and r.opts[OPT_TS][1] == tsval, "ACK's timestamps %s, TSecr should be %d" % (r.opts.get(OPT_TS), tsval))


@check("timestamps_on_every_segment", "RFC 7323 3.2")
def _(h):
    """Once negotiated, every segment but a RST carries timestamps."""
    f = h.flow(ECHO)
    f.connect()
    need(f.ts_ok, "timestamps not negotiated")
    data = b"t" * 300
    f.send("PA", data=data)
    f.read(len(data))
    f.send("FA")
    f.wait_fin()
    segs = [r for r in f.seen() if not r.flags & RST]
    bad = [r for r in segs if OPT_TS not in r.opts]
    need(not bad, "%d of %d segments lack timestamps, e.g. %s" % (len(bad), len(segs), bad[0] if bad else ""))
    f.closed = True


@check("no_timestamps_unless_negotiated", "RFC 7323 3.2")
def _(h):
    """Without timestamps in the SYN, no segment carries them."""
    f = h.flow(ECHO)
    f.connect(options=[("MSS", 1460), ("SAckOK", b"")])
    data = b"n" * 100
    f.send("PA", data=data)
    f.read(len(data))
    bad = [r for r in f.seen() if OPT_TS in r.opts]
    need(not bad, "timestamps sent: %s" % (bad[0] if bad else ""))


@check("paws_old_timestamp_dropped", "RFC 7323 5.3")
def _(h):
    """A segment whose TSval is older than TS.Recent is dropped (PAWS) and
    answered with an ACK; its data is not taken."""
    f = h.flow(ECHO)
    f.connect()
    need(f.ts_ok, "timestamps not negotiated")
    tsval = h.tsval() + 100000
    data = b"first\n"
    f.send("PA", data=data, options=[("NOP", None), ("NOP", None), ("Timestamp", (tsval, f.ts_recent))])
    f.read(len(data))
    f.quiesce()
    before, echoed = f.snd_nxt, f.rcv_nxt
    f.send("PA", data=b"old timestamp\n", advance=False,
           options=[("NOP", None), ("NOP", None), ("Timestamp", (sadd(tsval, -1000), f.ts_recent))])
    # (A retransmission of the first echo may come too: the host's tail
    # loss probe can beat our ACK of it.)
    taken = lambda r: sdiff(r.ack, before) > 0 or sdiff(sadd(r.seq, len(r.payload)), echoed) > 0
    r = f.recv(lambda r: not r.payload or taken(r), timeout=PROMPT, what="ACK")
    need(not taken(r) and r.ack == before, "answer %s takes the data" % r)
    r = f.maybe(taken)
    need(r is None, "the data was taken: %s" % r)


@check("rst_has_timestamp", "RFC 7323 3.2, RFC 1122 4.2.2.13")
def _(h):
    """Closing with unread data resets the connection (here: the daytime
    service closes while our byte is unread), and once timestamps are
    negotiated that RST carries them."""
    f = h.flow(DAYTIME)
    f.connect(data=b"x")
    need(f.ts_ok, "timestamps not negotiated")
    r = f.recv(lambda r: r.flags & (RST | FIN), timeout=2.0, what="RST")
    need(r.flags & RST, "closed with a FIN, not a RST, with data unread: %s" % r)
    need(OPT_TS in r.opts, "the RST has no timestamp option: %s" % r)
    f.closed = True


@check("window_probe_answered", "RFC 9293 3.8.6.1, 3.10.7.4")
def _(h):
    """A zero-window probe in Linux's form (SEQ=RCV.NXT-1, no data) is
    answered with an ACK."""
    f = h.flow(DISCARD)
    f.connect()
    f.send("PA", data=b"w" * 10)
    f.recv(lambda r: r.ack == f.snd_nxt, what="ACK of the data")
    f.quiesce()
    f.send("A", seq=sadd(f.snd_nxt, -1), advance=False)
    r = f.recv(timeout=PROMPT, what="ACK of the probe")
    need(r.ack == f.snd_nxt and not r.flags & RST, "answer %s" % r)


@check("keepalive_answered", "RFC 1122 4.2.3.6")
def _(h):
    """A keep-alive with one byte of old data (SEQ=RCV.NXT-1) is answered
    with an ACK."""
    f = h.flow(DISCARD)
    f.connect()
    f.send("PA", data=b"k" * 10)
    f.recv(lambda r: r.ack == f.snd_nxt, what="ACK of the data")
    f.quiesce()
    f.send("A", data=b"k", seq=sadd(f.snd_nxt, -1), advance=False)
    r = f.recv(timeout=PROMPT, what="ACK of the keep-alive")
    need(r.ack == f.snd_nxt and not r.flags & RST, "answer %s" % r)


@check("urgent_data_acked", "RFC 9293 3.8.5, RFC 6093")
def _(h):
    """Data with URG set is taken and acknowledged like other data, and
    the connection goes on."""
    f = h.flow(DISCARD)
    f.connect()
    f.send("PAU", data=b"urgent", urgptr=6)
    f.recv(lambda r: r.ack == f.snd_nxt, what="ACK of the urgent data")
    f.send("PA", data=b"normal")
    f.recv(lambda r: r.ack == f.snd_nxt, what="ACK of the data after it")


def chargen(h, options=None, window=65535, ack_window=None, v6=False, src=None):
    f = h.flow(CHARGEN, v6=v6, src=src)
    f.connect(options=options, window=window, ack_window=ack_window)
    return f


@check("mss_respected", "RFC 9293 3.7.1")
def _(h):
    """With MSS 536 in the SYN, no segment carries more than 536 bytes."""
    f = chargen(h, options=[("MSS", 536), ("SAckOK", b""), ("Timestamp", (h.tsval(), 0))], window=16384)
    segs = f.burst()
    need(segs, "no data from chargen")
    big = [r for r in segs if seg_mss(r) > 536]
    need(not big, "segment of %d bytes: %s" % (seg_mss(big[0]) if big else 0, big[0] if big else ""))


@check("default_mss_536", "RFC 9293 3.7.1, RFC 1122 4.2.2.6")
def _(h):
    """Without an MSS option, the host sends at most 536 bytes a segment."""
    f = chargen(h, options=[], window=16384)
    segs = f.burst()
    need(segs, "no data from chargen")
    big = [r for r in segs if seg_mss(r) > 536]
    need(not big, "segment of %d bytes: %s" % (seg_mss(big[0]) if big else 0, big[0] if big else ""))


@check("window_respected", "RFC 9293 3.8.6")
def _(h):
    """Data never goes beyond the window we offer (3000 bytes)."""
    f = chargen(h, options=[("MSS", 1460)], window=3000)
    segs = f.burst(settle=0.5)
    need(segs, "no data from chargen")
    end = data_end(segs, f.rcv_nxt)
    need(end <= 3000, "sent %d bytes into a 3000-byte window" % end)


@check("sws_override_sends_rest", "RFC 9293 3.8.6.2.1, RFC 1122 4.2.3.4")
def _(h):
    """With MSS 536 and a 1000-byte window whose right edge stays put (we
    acknowledge the first segment but offer only the rest of the 1000
    bytes, as a receiver whose application does not read), the host sends
    the rest within 2.5 s (the override timeout; Linux's persist timer, or
    Linux sends all 1000 bytes at once) instead of waiting for room for a
    full segment that never comes."""
    f = chargen(h, options=[("MSS", 536)], window=1000)
    edge = sadd(f.rcv_nxt, 1000)
    first = f.recv(lambda r: r.payload, what="data from chargen")
    need(first.seq == f.rcv_nxt, "first data at %d, not %d" % (first.seq, f.rcv_nxt))
    got = min(len(first.payload), 1000)
    f.rcv_nxt = sadd(f.rcv_nxt, got)
    f.ack(window=1000 - got)
    if got < 1000:
        f.recv(lambda r: r.payload and sdiff(sadd(r.seq, len(r.payload)), edge) >= 0, timeout=2.5,
               what="rest of the window after the first %d bytes" % got)
    end = data_end(f.seen(), sadd(edge, -1000))
    need(end <= 1000, "sent %d bytes into a 1000-byte window" % end)


@check("window_scale_honoured", "RFC 7323 2.3")
def _(h):
    """Our window field is shifted by the scale we announced: a field of 32
    with shift 7 lets the host send more than 32 bytes (but at most 4096)."""
    f = chargen(h, options=[("MSS", 1460), ("NOP", None), ("WScale", 7)], ack_window=32)
    segs = f.burst(settle=0.5)
    need(segs, "no data from chargen")
    end = data_end(segs, f.rcv_nxt)
    need(32 < end <= 4096, "sent %d bytes into a window of 32 << 7 = 4096" % end)


@check("zero_window_probed", "RFC 9293 3.8.6.1, RFC 1122 4.2.2.17")
def _(h):
    """When we close the window, the host probes it; when we open it again,
    data flows again."""
    f = chargen(h, options=[("MSS", 1460)], window=4000)
    segs = f.burst()
    need(segs, "no data from chargen")
    f.rcv_nxt = sadd(f.rcv_nxt, data_end(segs, f.rcv_nxt))
    f.ack(window=0)
    # (Not a late retransmission of data below the window's edge.)
    probe = f.recv(lambda r: sdiff(r.seq, f.rcv_nxt) >= -1, timeout=3.0, what="zero-window probe")
    need(sdiff(sadd(probe.seq, len(probe.payload)), f.rcv_nxt) <= 1,
         "probe %s goes beyond the zero window at %d" % (probe, f.rcv_nxt))
    f.ack(window=4000)
    f.recv(lambda r: r.payload and sdiff(sadd(r.seq, len(r.payload)), f.rcv_nxt) > 1, timeout=PROMPT,
           what="data after the window opened")


@check("data_retransmitted", "RFC 6298 5, RFC 9293 3.8.1")
def _(h):
    """Unacknowledged data is sent again."""
    f = h.flow(ECHO)
    f.connect()
    f.send("PA", data=b"retransmit me\n")
    first = f.recv(lambda r: r.payload, what="echo")
    again = f.recv(lambda r: r.payload and r.seq == first.seq, timeout=3.5, what="retransmission")
    need(again.payload[:len(first.payload)] == first.payload[:len(again.payload)], "retransmission differs")


@check("ecn_ce_echoed", "RFC 3168 6.1.3")
def _(h):
    """On an ECN connection, data marked CE is acknowledged with ECE."""
    f = h.flow(DISCARD)
    sa = f.connect(flags="SEC")
    need(sa.flags & ECE, "ECN not negotiated (SYN-ACK [%s])" % flagstr(sa.flags))
    f.send("PA", data=b"c" * 100, tos=0x03)
    r = f.recv(lambda r: r.ack == f.snd_nxt, what="ACK of the CE data")
    need(r.flags & ECE, "ACK of CE-marked data lacks ECE: %s" % r)


@check("no_ect_without_ecn", "RFC 3168 6.1.1")
def _(h):
    """Without ECN negotiated, no packet is marked ECN-capable."""
    f = h.flow(ECHO)
    f.connect()
    f.send("PA", data=b"e" * 100)
    f.read(100)
    bad = [r for r in f.seen() if r.tos & 3]
    need(not bad, "ECN field %d on %s" % (bad[0].tos & 3 if bad else 0, bad[0] if bad else ""))


@check("df_on_data", "RFC 1191 3, RFC 8899")
def _(h):
    """Data segments (IPv4) have DF set for path MTU discovery."""
    f = h.flow(ECHO)
    f.connect()
    f.send("PA", data=b"d" * 100)
    f.read(100)
    bad = [r for r in f.seen() if r.payload and not r.df]
    need(not bad, "DF clear on %s" % (bad[0] if bad else ""))


# ---- closing


@check("fin_acked_then_closed", "RFC 9293 3.6, 3.10.7.4")
def _(h):
    """Our FIN is acknowledged, and the echo service then closes too."""
    f = h.flow(ECHO)
    f.connect()
    f.send("FA")
    f.recv(lambda r: r.ack == f.snd_nxt, timeout=PROMPT, what="ACK of the FIN")
    f.wait_fin()
    f.closed = True


@check("fin_with_data", "RFC 9293 3.10.7.4")
def _(h):
    """Data on a FIN segment is taken (echoed) before the close."""
    f = h.flow(ECHO)
    f.connect()
    data = b"last words\n"
    f.send("FPA", data=data)
    need(f.read(len(data)) == data, "echo differs")
    f.wait_fin()
    f.closed = True


@check("fin_after_hole_waits", "RFC 9293 3.10.7.4 (eighth step)")
def _(h):
    """A FIN beyond a hole is not acknowledged until the hole is filled;
    then data and FIN are acknowledged together."""
    f = h.flow(DISCARD)
    f.connect()
    hole = f.snd_nxt
    f.send("FA", data=b"b" * 10, seq=sadd(hole, 10), advance=False)
    r = f.recv(timeout=0.5, what="duplicate ACK")
    need(r.ack == hole, "ACK %d past the hole at %d" % (r.ack, hole))
    f.send("PA", data=b"a" * 10)
    f.recv(lambda r: r.ack == sadd(hole, 21), timeout=PROMPT, what="ACK of data and FIN")
    f.snd_nxt = sadd(hole, 21)


@check("fin_retransmitted", "RFC 9293 3.10.4, RFC 6298")
def _(h):
    """The host's FIN, unacknowledged, is sent again (LAST-ACK)."""
    f = h.flow(ECHO)
    f.connect()
    f.send("FA")
    fin = f.recv(lambda r: r.flags & FIN, timeout=2.0, what="FIN from the host")
    again = f.recv(lambda r: r.flags & FIN, timeout=3.5, what="retransmitted FIN")
    need(again.seq == fin.seq, "retransmitted FIN at %d, not %d" % (again.seq, fin.seq))
    f.rcv_nxt = sadd(fin.seq, 1)
    f.ack()
    f.closed = True


def time_wait(h):
    """A daytime connection the host closed first, then we: the host is in
    TIME-WAIT. Returns the flow and the sequence number of our FIN."""
    f = h.flow(DAYTIME)
    f.connect()
    text = b""
    while True:
        r = f.recv(lambda r: r.payload or r.flags & FIN, timeout=2.0, what="daytime and FIN")
        if r.payload and r.seq == f.rcv_nxt:
            text += r.payload
            f.rcv_nxt = sadd(r.seq, len(r.payload))
        if r.flags & FIN:
            need(r.end == sadd(f.rcv_nxt, 1), "FIN at %d with a hole before it" % r.seq)
            f.rcv_nxt = r.end
            break
    f.ack()
    fin = f.snd_nxt
    f.send("FA")
    f.recv(lambda r: r.ack == f.snd_nxt, timeout=PROMPT, what="ACK of our FIN")
    f.closed = True
    return f, fin


@check("time_wait_acks_fin", "RFC 9293 3.10.7.4 (TIME-WAIT)")
def _(h):
    """In TIME-WAIT, a retransmission of our FIN is acknowledged again."""
    f, fin = time_wait(h)
    f.quiesce()
    f.send("FA", seq=fin, advance=False)
    r = f.recv(timeout=PROMPT, what="ACK of the retransmitted FIN")
    need(r.flags & (ACK | RST) == ACK and r.ack == sadd(fin, 1), "answer %s" % r)


@check("time_wait_new_syn_accepted", "RFC 1122 4.2.2.13, RFC 6191")
def _(h):
    """In TIME-WAIT, a new SYN with a higher sequence number (and a newer
    timestamp) opens a new connection."""
    f, fin = time_wait(h)
    g = h.flow(DAYTIME, sport=f.sport)
    g.iss = sadd(fin, 100000)
    g.snd_nxt = g.iss
    g.pos = f.pos
    g.connect()
    g.closed = True


# ---- ICMP, UDP, IP


def ping(h, v6=False, payload=b"conformance ping", chk=None):
    ident, seq = random.randrange(1, 65535), random.randrange(1, 65535)
    if v6:
        pkt = h.ip(True) / ICMPv6EchoRequest(id=ident, seq=seq, data=payload)
    else:
        pkt = h.ip() / ICMP(type=8, id=ident, seq=seq) / Raw(payload)
    if chk is not None:
        if v6:
            pkt[ICMPv6EchoRequest].cksum = chk
        else:
            pkt[ICMP].chksum = chk
    return pkt, ident, seq


def is_reply(v6, ident, seq):
    t = 129 if v6 else 0

    def pred(r):
        return r.type == t and r.proto == (58 if v6 else 1) and struct.unpack("!HH", r.rest) == (ident, seq)
    return pred


@check("icmp_echo_reply", "RFC 1122 3.2.2.6")
def _(h):
    """An ICMP echo request is answered with the same identifier, sequence
    number and data."""
    pkt, ident, seq = ping(h, payload=bytes(range(200)))
    pos = h.wire.mark()
    h.send(pkt)
    r = h.expect(pos, is_reply(False, ident, seq), what="echo reply")
    need(r.payload == bytes(range(200)), "reply data differs")


@check("icmp_bad_checksum_dropped", "RFC 792, RFC 1122 3.2.2")
def _(h):
    """An echo request with a bad ICMP checksum is not answered."""
    pkt, ident, seq = ping(h, chk=0x1234)
    pos = h.wire.mark()
    h.send(pkt)
    need(h.quiet(pos, is_reply(False, ident, seq)) is None, "answered")


def pmtu_flow(h, v6, src):
    f = chargen(h, options=[("MSS", default_mss(h, v6)), ("SAckOK", b""), ("Timestamp", (h.tsval(), 0))],
                window=30000, v6=v6, src=src)
    segs = f.burst(settle=0.1)
    need(segs, "no data from chargen")
    first = min(segs, key=lambda r: sdiff(r.seq, f.rcv_nxt))
    return f, segs, first


# Off-link routers that report a smaller MTU.
ROUTER4, ROUTER6 = "198.19.255.1", "2001:2:0:ffff::1"


def frag_needed(h, src, quoted, mtu):
    # The least RFC 792 promises: the IP header and 64 bits of the data.
    quote = quoted.raw[:(quoted.raw[0] & 15) * 4 + 8]
    icmp = struct.pack("!BBHHH", 3, 4, 0, 0, mtu) + quote
    icmp = icmp[:2] + struct.pack("!H", checksum(icmp)) + icmp[4:]
    return IP(src=src, dst=h.t4, proto=1) / Raw(icmp)


def packet_too_big(h, src, quoted, mtu):
    # As much as fits in the minimum MTU (RFC 4443 3.2).
    quote = quoted.raw[:1232]
    body = struct.pack("!BBHI", 2, 0, 0, mtu) + quote
    pseudo = (socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, h.t6)
              + struct.pack("!IxxxB", len(body), 58))
    body = body[:2] + struct.pack("!H", checksum(pseudo + body)) + body[4:]
    return IPv6(src=src, dst=h.t6, nh=58) / Raw(body)


def pmtu_check(h, v6, mtu, bogus):
    src = (h.extra6 if v6 else h.extra4)[1 if bogus else 0]
    f, segs, first = pmtu_flow(h, v6, src)
    base = f.rcv_nxt
    end = sadd(base, data_end(segs, base))
    quoted = first
    if bogus:
        # Quote a segment that was never in flight (RFC 5927 4.1).
        raw = bytearray(first.raw)
        tcp = len(raw) - len(first.payload) - first.doff
        raw[tcp + 4:tcp + 8] = struct.pack("!I", sadd(end, 1 << 24))
        quoted = parse_ip(bytes(raw), 0)
    h.send(packet_too_big(h, ROUTER6, quoted, mtu) if v6 else frag_needed(h, ROUTER4, quoted, mtu))
    f.rcv_nxt = end
    f.ack(window=30000)
    # Only data beyond what was sent before the ICMP error counts: it cannot
    # have left before the error arrived.
    fresh = []
    deadline = time.monotonic() + 1.5
    while len(fresh) < 3 and time.monotonic() < deadline:
        r = f.maybe(lambda r: r.payload and sdiff(r.seq, end) >= 0, deadline - time.monotonic())
        if r is not None:
            fresh.append(r)
    need(fresh, "no new data after the ICMP error and our ACK")
    sizes = sorted({seg_ip_size(r) for r in fresh})
    if bogus:
        need(max(sizes) > mtu, "packet sizes %s: an ICMP error for a segment never sent lowered the MTU" % sizes)
    else:
        need(max(sizes) <= mtu, "packet sizes %s after a path MTU of %d" % (sizes, mtu))


@check("icmp_frag_needed_lowers_mss", "RFC 1191, RFC 1122 4.2.3.9")
def _(h):
    """After ICMP Fragmentation Needed (next-hop MTU 1000) for a segment in
    flight, no packet (nor TSO piece) is larger than 1000 bytes."""
    pmtu_check(h, False, 1000, bogus=False)


@check("icmp_frag_needed_out_of_window_ignored", "RFC 5927 4.1")
def _(h):
    """ICMP Fragmentation Needed quoting a sequence number that was never
    in flight is ignored."""
    pmtu_check(h, False, 1000, bogus=True)


@check("icmp_host_unreachable_survived", "RFC 1122 4.2.3.9, RFC 5461")
def _(h):
    """ICMP Host Unreachable (a soft error) for an established connection
    does not abort it."""
    f = h.flow(ECHO)
    f.connect()
    quoted = bytes(IP(src=h.t4, dst=h.s4) / TCP(sport=ECHO, dport=f.sport, seq=f.rcv_nxt, ack=f.snd_nxt, flags="A"))
    icmp = struct.pack("!BBHI", 3, 1, 0, 0) + quoted
    icmp = icmp[:2] + struct.pack("!H", checksum(icmp)) + icmp[4:]
    h.send(IP(src=h.s4, dst=h.t4, proto=1) / Raw(icmp))
    survives(f)


@check("udp_port_unreachable", "RFC 1122 3.2.2.1, 4.1.3.1")
def _(h):
    """A UDP datagram to a closed port draws ICMP Port Unreachable quoting
    it."""
    pos = h.wire.mark()
    sport = h.next_port()
    h.send(h.ip() / UDP(sport=sport, dport=CLOSED_UDP) / Raw(b"anyone?"))
    r = h.expect(pos, lambda r: r.proto == 1 and r.type == 3, what="ICMP Destination Unreachable")
    need(r.code == 3, "code %d, not 3 (port)" % r.code)
    q = parse_ip(r.payload + b"\0" * 8, 0)
    need(q is not None and q.dst == h.t4 and q.sport == sport and q.dport == CLOSED_UDP, "quote does not match the datagram")


@check("udp_echo", "RFC 768, RFC 862")
def _(h):
    """A UDP datagram to the echo port comes back."""
    pos = h.wire.mark()
    sport = h.next_port()
    h.send(h.ip() / UDP(sport=sport, dport=ECHO) / Raw(b"udp echo"))
    r = h.expect(pos, lambda r: r.proto == 17 and r.dport == sport, what="UDP echo")
    need(r.payload == b"udp echo", "echo differs")


@check("udp_bad_checksum_dropped", "RFC 768, RFC 1122 4.1.3.4")
def _(h):
    """A UDP datagram with a bad checksum is dropped."""
    pos = h.wire.mark()
    sport = h.next_port()
    h.send(h.ip() / UDP(sport=sport, dport=ECHO, chksum=0x4321) / Raw(b"bad sum"))
    need(h.quiet(pos, lambda r: r.proto == 17 and r.dport == sport) is None, "echoed")


@check("udp_zero_checksum_accepted", "RFC 768")
def _(h):
    """A UDP datagram over IPv4 without a checksum (0) is taken."""
    pos = h.wire.mark()
    sport = h.next_port()
    h.send(h.ip() / UDP(sport=sport, dport=ECHO, chksum=0) / Raw(b"no sum"))
    h.expect(pos, lambda r: r.proto == 17 and r.dport == sport, what="UDP echo")


@check("unknown_protocol_unreachable", "RFC 1122 3.2.2.1")
def _(h):
    """A datagram of an unknown protocol (253) draws ICMP Protocol
    Unreachable."""
    pos = h.wire.mark()
    h.send(h.ip(proto=253) / Raw(b"experimental"))
    r = h.expect(pos, lambda r: r.proto == 1 and r.type == 3, what="ICMP Destination Unreachable")
    need(r.code == 2, "code %d, not 2 (protocol)" % r.code)


@check("fragments_reassembled", "RFC 791, RFC 1122 3.3.2")
def _(h):
    """An echo request in two fragments is reassembled and answered."""
    payload = os.urandom(1000)
    pkt, ident, seq = ping(h, payload=payload)
    pos = h.wire.mark()
    for frag in fragment(pkt, fragsize=512):
        h.send(frag)
    r = h.expect(pos, is_reply(False, ident, seq), what="echo reply")
    need(r.payload == payload, "reply data differs")


@check("fragments_out_of_order", "RFC 791, RFC 1122 3.3.2")
def _(h):
    """Fragments that arrive last-first are reassembled too."""
    payload = os.urandom(1200)
    pkt, ident, seq = ping(h, payload=payload)
    pos = h.wire.mark()
    for frag in reversed(fragment(pkt, fragsize=400)):
        h.send(frag)
    r = h.expect(pos, is_reply(False, ident, seq), what="echo reply")
    need(r.payload == payload, "reply data differs")


@check("ip_options_accepted", "RFC 791, RFC 1122 3.2.1.8")
def _(h):
    """A SYN with IP options (NOPs) is answered."""
    f = h.flow(HTTP)
    h.send(IP(src=f.src, dst=f.dst, options=[IPOption_NOP()] * 4) / TCP(
        sport=f.sport, dport=HTTP, seq=f.iss, flags="S", options=[("MSS", 1460)]))
    f.took(f.recv(lambda r: r.flags & SYN, timeout=PROMPT, what="SYN-ACK"))


@check("ip_padding_ignored", "RFC 791, RFC 1122 3.3")
def _(h):
    """Bytes after the IP total length (link padding) are not data: a SYN
    followed by 12 stray bytes gets a SYN-ACK for ISN+1."""
    f = h.flow(HTTP)
    syn = bytes(f.segment(SYN, seq=f.iss, options=[("MSS", 1460)]))
    h.send(syn + b"\xaa" * 12)
    sa = f.took(f.recv(lambda r: r.flags & SYN, timeout=PROMPT, what="SYN-ACK"))
    need(sa.ack == sadd(f.iss, 1), "SYN-ACK acknowledges %d, not ISN+1" % sa.ack)


def dropped(h, f, raw, what):
    f.pos = h.wire.mark()
    h.send(raw)
    r = f.maybe()
    need(r is None, "%s answered: %s" % (what, r))


@check("ip_bad_header_checksum_dropped", "RFC 791, RFC 1122 3.2.1.2")
def _(h):
    """A SYN in an IPv4 packet with a bad header checksum is dropped."""
    f = h.flow(HTTP)
    raw = bytearray(bytes(f.segment(SYN, seq=f.iss, options=[("MSS", 1460)])))
    raw[10] ^= 0x55
    dropped(h, f, bytes(raw), "SYN with a bad IP checksum")


@check("ip_total_length_too_long_dropped", "RFC 791, RFC 1122 3.2.1.1")
def _(h):
    """A packet whose IP total length exceeds what arrived is dropped."""
    f = h.flow(HTTP)
    pkt = f.segment(SYN, seq=f.iss, options=[("MSS", 1460)])
    pkt.len = len(pkt) + 20
    dropped(h, f, bytes(pkt), "truncated SYN")


@check("tcp_bad_checksum_dropped", "RFC 9293 3.1, 3.10.7")
def _(h):
    """A SYN with a bad TCP checksum is dropped."""
    f = h.flow(HTTP)
    pkt = f.segment(SYN, seq=f.iss, options=[("MSS", 1460)], chksum=0xBAD)
    dropped(h, f, bytes(pkt), "SYN with a bad checksum")


@check("tcp_data_offset_too_small_dropped", "RFC 9293 3.1")
def _(h):
    """A SYN whose data offset is below 5 words is dropped."""
    f = h.flow(HTTP)
    dropped(h, f, bytes(raw_tcp(h, f.sport, HTTP, f.iss, SYN, b"", doff=4)), "SYN with data offset 4")


@check("tcp_data_offset_too_large_dropped", "RFC 9293 3.1")
def _(h):
    """A SYN whose data offset points past the end of the segment is
    dropped."""
    f = h.flow(HTTP)
    dropped(h, f, bytes(raw_tcp(h, f.sport, HTTP, f.iss, SYN, b"", doff=15)), "SYN with data offset 15")


# ---- IPv6


@check("v6_syn_synack", "RFC 9293 3.5, RFC 8200 8.3", v6=True)
def _(h):
    """Over IPv6, a SYN gets a SYN-ACK with an MSS that fits the MTU, SACK
    and timestamps echoed."""
    f = h.flow(HTTP, v6=True)
    tsval = h.tsval()
    sa = f.connect(options=[("MSS", 1440), ("SAckOK", b""), ("Timestamp", (tsval, 0))])
    need(536 <= sa.opts.get(OPT_MSS, 0) <= h.wire.mtu - 60, "MSS %s for MTU %d" % (sa.opts.get(OPT_MSS), h.wire.mtu))
    need(OPT_SACK_OK in sa.opts, "no SACK-permitted")
    need(sa.opts.get(OPT_TS, (0, 0))[1] == tsval, "TSecr %s, not %d" % (sa.opts.get(OPT_TS), tsval))


@check("v6_syn_closed_port_rst", "RFC 9293 3.10.7.1", v6=True)
def _(h):
    """Over IPv6, a SYN to a closed port gets RST,ACK for ISN+1."""
    f = h.flow(CLOSED_TCP, v6=True)
    f.syn()
    r = f.recv(timeout=PROMPT, what="RST")
    need(r.flags & (RST | ACK | SYN) == RST | ACK and r.ack == sadd(f.iss, 1), "answer %s" % r)


@check("v6_rst_in_window_challenge_ack", "RFC 5961 3.2", v6=True)
def _(h):
    """Over IPv6, a RST in the window but not at RCV.NXT draws a challenge
    ACK and the connection stays."""
    f = h.flow(ECHO, v6=True)
    f.connect()
    f.send(RST, seq=sadd(f.snd_nxt, 1000), options=[], advance=False)
    r = f.recv(timeout=PROMPT, what="challenge ACK")
    need(r.flags & (ACK | RST) == ACK and r.ack == f.snd_nxt, "answer %s" % r)
    survives(f)


@check("v6_echo_roundtrip", "RFC 9293, RFC 8200", v6=True)
def _(h):
    """Over IPv6, data comes back from the echo service and the close is
    clean."""
    f = h.flow(ECHO, v6=True)
    f.connect()
    data = b"six\n" * 100
    f.send("PA", data=data)
    need(f.read(len(data)) == data, "echo differs")
    f.send("FA")
    f.wait_fin()
    f.closed = True


@check("v6_icmp_echo_reply", "RFC 4443 4.2", v6=True)
def _(h):
    """An ICMPv6 echo request is answered with the same data."""
    pkt, ident, seq = ping(h, v6=True, payload=bytes(range(100)))
    pos = h.wire.mark()
    h.send(pkt)
    r = h.expect(pos, is_reply(True, ident, seq), what="echo reply")
    need(r.payload == bytes(range(100)), "reply data differs")


@check("v6_udp_port_unreachable", "RFC 4443 3.1", v6=True)
def _(h):
    """A UDP datagram over IPv6 to a closed port draws ICMPv6 Destination
    Unreachable, code 4 (port)."""
    pos = h.wire.mark()
    sport = h.next_port()
    h.send(h.ip(True) / UDP(sport=sport, dport=CLOSED_UDP) / Raw(b"anyone?"))
    r = h.expect(pos, lambda r: r.proto == 58 and r.type == 1, what="ICMPv6 Destination Unreachable")
    need(r.code == 4, "code %d, not 4 (port)" % r.code)


@check("v6_udp_zero_checksum_dropped", "RFC 8200 8.1", v6=True)
def _(h):
    """A UDP datagram over IPv6 with a zero checksum is dropped."""
    pos = h.wire.mark()
    sport = h.next_port()
    h.send(h.ip(True) / UDP(sport=sport, dport=ECHO, chksum=0) / Raw(b"no sum"))
    need(h.quiet(pos, lambda r: r.proto == 17 and r.dport == sport) is None, "echoed")


@check("v6_tcp_bad_checksum_dropped", "RFC 9293 3.1, RFC 8200 8.1", v6=True)
def _(h):
    """A SYN over IPv6 with a bad TCP checksum is dropped."""
    f = h.flow(HTTP, v6=True)
    dropped(h, f, bytes(f.segment(SYN, seq=f.iss, options=[("MSS", 1440)], chksum=0xBAD)), "SYN with a bad checksum")


@check("v6_packet_too_big_lowers_mss", "RFC 8201 4, RFC 4443 3.2", v6=True)
def _(h):
    """After ICMPv6 Packet Too Big (MTU 1280) for a segment in flight, no
    packet (nor TSO piece) is larger than 1280 bytes."""
    pmtu_check(h, True, 1280, bogus=False)


@check("v6_fragments_reassembled", "RFC 8200 4.5", v6=True)
def _(h):
    """An ICMPv6 echo request in two fragments is reassembled and
    answered."""
    payload = os.urandom(1000)
    ident, seq = random.randrange(1, 65535), random.randrange(1, 65535)
    whole = bytes(IPv6(src=h.s6, dst=h.t6) / ICMPv6EchoRequest(id=ident, seq=seq, data=payload))[40:]
    fid = random.getrandbits(32)
    pos = h.wire.mark()
    h.send(IPv6(src=h.s6, dst=h.t6) / IPv6ExtHdrFragment(nh=58, offset=0, m=1, id=fid) / Raw(whole[:512]))
    h.send(IPv6(src=h.s6, dst=h.t6) / IPv6ExtHdrFragment(nh=58, offset=64, m=0, id=fid) / Raw(whole[512:]))
    r = h.expect(pos, is_reply(True, ident, seq), what="echo reply")
    need(r.payload == payload, "reply data differs")


@check("v6_overlapping_fragments_dropped", "RFC 5722 4, RFC 8200 4.5", v6=True)
def _(h):
    """An ICMPv6 echo request in overlapping fragments is dropped."""
    payload = os.urandom(1000)
    ident, seq = random.randrange(1, 65535), random.randrange(1, 65535)
    whole = bytes(IPv6(src=h.s6, dst=h.t6) / ICMPv6EchoRequest(id=ident, seq=seq, data=payload))[40:]
    fid = random.getrandbits(32)
    pos = h.wire.mark()
    h.send(IPv6(src=h.s6, dst=h.t6) / IPv6ExtHdrFragment(nh=58, offset=0, m=1, id=fid) / Raw(whole[:520]))
    h.send(IPv6(src=h.s6, dst=h.t6) / IPv6ExtHdrFragment(nh=58, offset=63, m=0, id=fid) / Raw(whole[504:]))
    need(h.quiet(pos, is_reply(True, ident, seq), 1.0) is None, "answered")


@check("v6_extension_headers_syn", "RFC 8200 4", v6=True)
def _(h):
    """A SYN behind Hop-by-Hop and Destination Options headers is
    answered."""
    f = h.flow(HTTP, v6=True)
    pkt = IPv6(src=f.src, dst=f.dst) / IPv6ExtHdrHopByHop(options=[PadN(optdata=b"\0" * 4)]) / \
        IPv6ExtHdrDestOpt(options=[PadN(optdata=b"\0" * 4)]) / TCP(
            sport=f.sport, dport=HTTP, seq=f.iss, flags="S", options=[("MSS", 1440)])
    h.send(pkt)
    sa = f.took(f.recv(lambda r: r.flags & SYN, timeout=PROMPT, what="SYN-ACK"))
    need(sa.ack == sadd(f.iss, 1), "SYN-ACK acknowledges %d" % sa.ack)


@check("v6_unknown_next_header_param_problem", "RFC 8200 4, RFC 4443 3.4", v6=True)
def _(h):
    """A packet with an unknown next header (253) draws ICMPv6 Parameter
    Problem, code 1, pointing at the Next Header field."""
    pos = h.wire.mark()
    h.send(IPv6(src=h.s6, dst=h.t6, nh=253) / Raw(b"experimental"))
    r = h.expect(pos, lambda r: r.proto == 58 and r.type == 4, what="ICMPv6 Parameter Problem")
    need(r.code == 1, "code %d, not 1" % r.code)
    need(struct.unpack("!I", r.rest)[0] == 6, "pointer %d, not 6" % struct.unpack("!I", r.rest)[0])


@check("v6_default_mss_1220", "RFC 9293 3.7.1, RFC 8200 5", v6=True)
def _(h):
    """Over IPv6, without an MSS option the host sends at most 1220 bytes a
    segment."""
    f = chargen(h, options=[], window=16384, v6=True)
    segs = f.burst()
    need(segs, "no data from chargen")
    big = [r for r in segs if seg_mss(r) > 1220]
    need(not big, "segment of %d bytes" % (seg_mss(big[0]) if big else 0))


@check("v6_land_syn_dropped", "RFC 4291 2.5.2 ff.; the LAND attack", v6=True)
def _(h):
    """A SYN over IPv6 whose source is the host's own address is dropped."""
    t = h.target(True)
    f = h.flow(HTTP, v6=True, src=t)
    pos = h.wire.mark()
    f.syn()
    r = h.quiet(pos, lambda r: r.is_tcp and r.dst == t and r.sport == HTTP and r.dport == f.sport, 1.0)
    need(r is None, "answered: %s" % r)


# --------------------------------------------------------------------------
# Running the checks.


def selected(only):
    if not only:
        return list(CHECKS)
    pats = [p for o in only for p in o.split(",") if p]
    chosen = [c for c in CHECKS if any(fnmatch.fnmatchcase(c["name"], p) for p in pats)]
    unknown = [p for p in pats if not any(fnmatch.fnmatchcase(c["name"], p) for c in CHECKS)]
    if unknown:
        sys.exit("no check named %s (see --list)" % ", ".join(unknown))
    return chosen


def iface_addrs(iface):
    out = subprocess.run(["ip", "-j", "addr", "show", "dev", iface], check=True,
                         capture_output=True, text=True).stdout
    v4, v6 = [], []
    for a in json.loads(out)[0].get("addr_info", []):
        if a["family"] == "inet":
            v4.append((a["local"], a["prefixlen"]))
        elif a["family"] == "inet6" and a.get("scope") == "global":
            v6.append((a["local"], a["prefixlen"]))
    return v4, v6


def neighbour_mac(iface, target):
    """The target's MAC address on an Ethernet link (one ping fills the
    neighbour table)."""
    subprocess.run(["ping", "-c", "1", "-W", "2", "-I", iface, target], capture_output=True)
    out = subprocess.run(["ip", "-j", "neigh", "show", "dev", iface, "to", target],
                         capture_output=True, text=True).stdout
    for n in json.loads(out or "[]"):
        if n.get("lladdr"):
            return bytes(int(x, 16) for x in n["lladdr"].split(":"))
    sys.exit("cannot find %s's MAC address on %s (give --dst-mac)" % (target, iface))


class Setup:
    """What `run` changes in the namespace, undone in `undo` (also on
    failure): the RST-dropping rules and the extra source addresses."""

    def __init__(self):
        self.undo_cmds = []

    def do(self, cmd, undo):
        subprocess.run(cmd, check=True, capture_output=True)
        self.undo_cmds.append(undo)

    def undo(self):
        for cmd in reversed(self.undo_cmds):
            subprocess.run(cmd, capture_output=True)
        self.undo_cmds = []


def spare_addr(addr, prefix, offset, taken):
    """An address `offset` after `addr` inside its prefix, not in `taken`."""
    net = ipaddress.ip_interface("%s/%d" % (addr, prefix)).network
    a = ipaddress.ip_address(addr)
    for i in range(offset, offset + 50):
        cand = a + i
        if cand in net and cand != net.network_address and str(cand) not in taken \
                and (net.version == 6 or cand != net.broadcast_address):
            return str(cand)
    sys.exit("no spare address near %s/%d" % (addr, prefix))


def run(args):
    checks = selected(args.only)
    if args.list:
        for c in checks:
            print("%-40s %s" % (c["name"], c["ref"]))
            if args.verbose:
                print("    " + " ".join(c["doc"].split()))
        return 0
    if args.netns:
        argv = [a for a in sys.argv[1:]]
        i = argv.index("--netns")
        del argv[i:i + 2]
        os.execvp("ip", ["ip", "netns", "exec", args.netns, sys.executable, os.path.abspath(__file__)] + argv)
    if not args.iface or not args.target:
        sys.exit("run needs --iface and --target")
    if not args.target6:
        checks = [c for c in checks if not c["v6"]]
    v4, v6 = iface_addrs(args.iface)
    src4 = args.src or (v4[0][0] if v4 else None)
    src6 = args.src6 or (v6[0][0] if v6 else None)
    if not src4 or (args.target6 and not src6):
        sys.exit("no source address on %s (give --src/--src6)" % args.iface)
    prefix4 = next((p for a, p in v4 if a == src4), 24)
    prefix6 = next((p for a, p in v6 if a == src6), 64)
    taken = {args.target, args.target6} | {a for a, _ in v4 + v6}
    mac = None
    with open("/sys/class/net/%s/type" % args.iface) as fh:
        if int(fh.read()) == ARPHRD_ETHER:
            mac = (bytes(int(x, 16) for x in args.dst_mac.split(":")) if args.dst_mac
                   else neighbour_mac(args.iface, args.target))
    setup = Setup()
    results = []
    stop = {"sig": None}

    def on_signal(sig, _frame):
        stop["sig"] = sig
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    wire = None
    try:
        setup.do(["iptables", "-I", "OUTPUT", "-p", "tcp", "--tcp-flags", "RST", "RST", "-d", args.target, "-j", "DROP"],
                 ["iptables", "-D", "OUTPUT", "-p", "tcp", "--tcp-flags", "RST", "RST", "-d", args.target, "-j", "DROP"])
        if args.target6:
            setup.do(["ip6tables", "-I", "OUTPUT", "-p", "tcp", "--tcp-flags", "RST", "RST", "-d", args.target6, "-j", "DROP"],
                     ["ip6tables", "-D", "OUTPUT", "-p", "tcp", "--tcp-flags", "RST", "RST", "-d", args.target6, "-j", "DROP"])
        extra4 = []
        for off in (100, 101):
            a = spare_addr(src4, prefix4, off, taken)
            taken.add(a)
            setup.do(["ip", "addr", "add", "%s/%d" % (a, prefix4), "dev", args.iface],
                     ["ip", "addr", "del", "%s/%d" % (a, prefix4), "dev", args.iface])
            extra4.append(a)
        extra6 = []
        if args.target6:
            for off in (0x100, 0x101):
                a = spare_addr(src6, prefix6, off, taken)
                taken.add(a)
                setup.do(["ip", "addr", "add", "%s/%d" % (a, prefix6), "dev", args.iface, "nodad"],
                         ["ip", "addr", "del", "%s/%d" % (a, prefix6), "dev", args.iface])
                extra6.append(a)
        wire = Wire(args.iface, [args.target] + ([args.target6] if args.target6 else []), mac)
        h = Harness(wire, args.target, args.target6, src4, src6, extra4, extra6)
        for c in checks:
            wire.clear()
            t = time.monotonic()
            try:
                c["fn"](h)
                ok, why = True, ""
            except Fail as e:
                ok, why = False, str(e)
            except KeyboardInterrupt:
                raise
            except Exception as e:  # a bug in the check: report it as a failure
                ok, why = False, "error in the check: %r" % e
                traceback.print_exc(file=sys.stderr)
            finally:
                try:
                    h.cleanup()
                except OSError:
                    pass
            results.append({"name": c["name"], "ok": ok, "why": why, "ref": c["ref"],
                            "secs": round(time.monotonic() - t, 3)})
            if args.json != "-":
                print(("PASS %s" % c["name"]) if ok else ("FAIL %s: %s" % (c["name"], why)), flush=True)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
    finally:
        if wire is not None:
            wire.close()
        setup.undo()
    failed = [r for r in results if not r["ok"]]
    summary = {"target": args.target, "target6": args.target6, "iface": args.iface,
               "label": args.label, "checks": len(checks), "ran": len(results),
               "passed": len(results) - len(failed), "failed": len(failed), "results": results}
    if args.json:
        text = json.dumps(summary, indent=1)
        if args.json == "-":
            print(text)
        else:
            with open(args.json, "w") as fh:
                fh.write(text + "\n")
    if args.json != "-":
        print("%d checks: %d passed, %d failed%s" % (
            len(checks), summary["passed"], len(failed),
            "" if len(results) == len(checks) else " (%d not run)" % (len(checks) - len(results))))
    if stop["sig"]:
        return 128 + stop["sig"]
    return 0 if not failed and len(results) == len(checks) else 1


# --------------------------------------------------------------------------
# The kernel's side of the comparison: the same services on Linux sockets.

PATTERN = bytes(i % 251 for i in range(251 * 256))


def serve_tcp(port, handler):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", port))
    s.listen(128)

    def conn_thread(c):
        c.settimeout(120)
        try:
            handler(c)
        except OSError:
            pass
        finally:
            c.close()

    def accept_loop():
        while True:
            c, _ = s.accept()
            threading.Thread(target=conn_thread, args=(c,), daemon=True).start()

    threading.Thread(target=accept_loop, daemon=True).start()


def serve_udp(port, echo):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", port))

    def loop():
        while True:
            data, peer = s.recvfrom(65536)
            if echo:
                s.sendto(data, peer)

    threading.Thread(target=loop, daemon=True).start()


def h_echo(c):
    while True:
        data = c.recv(65536)
        if not data:
            c.shutdown(socket.SHUT_WR)
            return
        c.sendall(data)


def h_discard(c):
    while c.recv(65536):
        pass


def h_daytime(c):
    c.sendall(time.strftime("%Y-%m-%d %H:%M:%S UTC\r\n", time.gmtime()).encode())


def h_chargen(c):
    line = 0
    while True:
        block = b"".join(bytes(32 + (line + j + i) % 95 for i in range(72)) + b"\r\n" for j in range(64))
        line += 64
        c.sendall(block)


def h_http(c):
    buf = b""
    while True:
        while b"\r\n\r\n" not in buf:
            data = c.recv(4096)
            if not data:
                return
            buf += data
        head, buf = buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        target = parts[1] if len(parts) > 1 else "/"
        close = len(parts) < 3 or parts[2] != "HTTP/1.1" or any(
            l.lower().replace(" ", "") == "connection:close" for l in lines[1:])
        if target.startswith("/bytes/") and target[7:].isdigit():
            n = int(target[7:])
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % n)
            while n > 0:
                chunk = PATTERN[:min(n, len(PATTERN))]
                c.sendall(chunk)
                n -= len(chunk)
        else:
            body = b"<!doctype html><title>linux</title><p>the Linux kernel's side of the comparison</p>\n"
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nContent-Type: text/html\r\n\r\n" % len(body) + body)
        if close:
            return


def serve(_args):
    for port, handler in ((ECHO, h_echo), (DISCARD, h_discard), (DAYTIME, h_daytime),
                          (CHARGEN, h_chargen), (HTTP, h_http)):
        serve_tcp(port, handler)
    serve_udp(ECHO, True)
    serve_udp(DISCARD, False)
    print("ready", flush=True)
    # Until stdin closes or a signal ends the process.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        sys.stdin.read()
    except KeyboardInterrupt:
        pass
    return 0


# --------------------------------------------------------------------------
# Setting up a target: the Linux kernel, or `berth up`.


def sh(*cmd):
    subprocess.run(cmd, check=True)


def read_line(proc, timeout):
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    return proc.stdout.readline() if ready else b""


def run_in(ns, args, iface, t4, t6, label):
    """Runs the checks inside namespace `ns` (and stops them if we are
    stopped first)."""
    p = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, os.path.abspath(__file__), "run",
                          "--iface", iface, "--target", t4, "--target6", t6, "--label", label]
                         + passthrough(args))
    try:
        return p.wait()
    finally:
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def stop_on_sigterm():
    """SIGTERM ends us through the `finally` blocks that clean up."""
    signal.signal(signal.SIGTERM, lambda sig, _frame: sys.exit(128 + sig))


def passthrough(args):
    out = []
    for o in args.only or []:
        out += ["--only", o]
    if args.json:
        out += ["--json", args.json]
    return out


def kernel(args):
    """The checks against the Linux kernel: namespaces A (the tester) and B
    (the kernel under test, running `serve`), joined by a veth pair."""
    stop_on_sigterm()
    tag = "bc%d" % os.getpid()
    a, b = tag + "a", tag + "b"
    server = None
    try:
        sh("ip", "netns", "add", a)
        sh("ip", "netns", "add", b)
        sh("ip", "link", "add", a + "0", "netns", a, "type", "veth", "peer", "name", b + "0", "netns", b)
        for ns, last in ((a, 1), (b, 2)):
            dev = ns + "0"
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            sh("ip", "-n", ns, "addr", "add", "198.18.77.%d/24" % last, "dev", dev)
            sh("ip", "-n", ns, "addr", "add", "2001:2:0:77::%d/64" % last, "dev", dev, "nodad")
            sh("ip", "-n", ns, "link", "set", dev, "up")
        server = subprocess.Popen(["ip", "netns", "exec", b, sys.executable, os.path.abspath(__file__), "serve"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        if read_line(server, 20).strip() != b"ready":
            sys.exit("the kernel-side servers did not start")
        return run_in(a, args, a + "0", "198.18.77.2", "2001:2:0:77::2", "linux " + os.uname().release)
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(5)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        subprocess.run(["ip", "netns", "del", a], capture_output=True)
        subprocess.run(["ip", "netns", "del", b], capture_output=True)


def berth(args):
    """The checks against `berth up`, started here in a namespace of its own."""
    tag = "bc%d" % os.getpid()
    ns, tun = tag + "u", tag + "t"
    control = "/tmp/%s.sock" % tag
    cmd = [args.bin, "up", "--netns", ns, "--tun", tun, "--control", control,
           "--addr", "198.18.78.2/24", "--peer-addr", "198.18.78.1",
           "--addr6", "2001:2:0:78::2/64", "--peer-addr6", "2001:2:0:78::1"]
    if args.no_offload:
        cmd.append("--no-offload")
    stop_on_sigterm()
    up = subprocess.Popen(cmd, stdout=subprocess.PIPE)
    try:
        if not read_line(up, 30).startswith(b"berth up:"):
            sys.exit("berth up did not start")
        return run_in(ns, args, tun, "198.18.78.2", "2001:2:0:78::2",
                      "berth" + (" --no-offload" if args.no_offload else ""))
    finally:
        up.send_signal(signal.SIGINT)
        try:
            up.wait(10)
        except subprocess.TimeoutExpired:
            up.kill()
            up.wait()
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run the checks against a host on the link at --iface")
    r.add_argument("--iface", help="the interface that leads to the host under test")
    r.add_argument("--target", help="the host's IPv4 address")
    r.add_argument("--target6", help="the host's IPv6 address (without it, IPv6 checks are left out)")
    r.add_argument("--src", help="our IPv4 address (default: the interface's)")
    r.add_argument("--src6", help="our IPv6 address (default: the interface's global one)")
    r.add_argument("--dst-mac", help="the host's MAC address on an Ethernet link (default: from the neighbour table)")
    r.add_argument("--netns", help="run inside this network namespace")
    r.add_argument("--label", default="", help="a name for the host under test, copied into the JSON")
    for q in (r,):
        q.add_argument("--list", action="store_true", help="list the checks and exit")
        q.add_argument("-v", "--verbose", action="store_true", help="with --list, say what each check does")
    for q in (r, sub.add_parser("kernel", help="run the checks against the Linux kernel in a namespace"),
              sub.add_parser("berth", help="run the checks against `berth up`")):
        q.add_argument("--only", action="append", help="run only these checks (comma-separated; * matches)")
        q.add_argument("--json", help="write the results as JSON to this file ('-': stdout, instead of the lines)")
    sub.choices["berth"].add_argument("--bin", default="target/release/berth", help="the berth binary")
    sub.choices["berth"].add_argument("--no-offload", action="store_true", help="pass --no-offload to berth up")
    sub.add_parser("serve", help="run the services the checks use, on Linux sockets (for `kernel`)")
    args = p.parse_args()
    return {"run": run, "kernel": kernel, "berth": berth, "serve": serve}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
