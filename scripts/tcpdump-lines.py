#!/usr/bin/python3
"""Writes crates/berth-core/src/wire/display/tests/tcpdump_expected.rs: what tcpdump prints
for each wire test vector and for the extra cases below, which the display
tests compare with berth's one-line printer.

Each packet goes into a pcap of its own (LINKTYPE_RAW for IP packets,
LINKTYPE_ETHERNET for frames), read back with `tcpdump -n -t -S -r` (plus
`-e` for frames); the first line of the output is kept. Needs tcpdump and
Debian's python3-scapy (run with /usr/bin/python3):

    /usr/bin/python3 scripts/tcpdump-lines.py > crates/berth-core/src/wire/display/tests/tcpdump_expected.rs
    cargo fmt --all

The vectors are read from crates/berth-core/src/wire/vectors.rs, so rerun
this after scripts/wire-vectors.py.
"""
import os
import re
import subprocess
import tempfile

from scapy.all import (
    ARP, ICMP, IP, TCP, UDP, AH, Dot1Q, Ether, Raw, IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop, IPv6ExtHdrRouting, ICMPv6DestUnreach, ICMPv6EchoRequest, ICMPv6MLDone,
    ICMPv6MLQuery, ICMPv6MLReport, ICMPv6MLReport2, ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6ND_Redirect,
    ICMPv6ParamProblem, ICMPv6TimeExceeded, RouterAlert,
)
from scapy.utils import PcapWriter

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
VECTORS_RS = os.path.join(ROOT, "crates/berth-core/src/wire/vectors.rs")

A4, B4, R4, G4 = "198.18.0.1", "198.18.0.2", "198.18.1.1", "198.18.1.2"
MAC_A, MAC_B = "02:00:00:00:00:01", "02:00:00:00:00:02"
A6, B6, C6 = "2001:2::1", "2001:2::2", "2001:2::3"
# Datagrams that ICMP errors quote.
Q_UDP = IP(src=A4, dst=B4, id=0x0301, ttl=64) / UDP(sport=40000, dport=9) / Raw(b"anyone there?")
Q_TCP = IP(src=A4, dst=B4, id=0x0302, ttl=64) / TCP(sport=40000, dport=80, flags="A")
Q_GRE = IP(src=A4, dst=B4, id=0x0303, ttl=64, proto=47) / Raw(b"12345678")


# IPv6 datagrams that ICMPv6 errors quote.
Q6_UDP = IPv6(src=A6, dst=B6, hlim=64) / UDP(sport=40000, dport=9) / Raw(b"knock")
Q6_TCP = IPv6(src=A6, dst=B6, hlim=64) / TCP(sport=40000, dport=80, flags="S")


def v6(src=A6, dst=B6, **kw):
    return IPv6(src=src, dst=dst, hlim=64, **kw)


def unreach(code, quote=Q_UDP, mtu=0):
    return IP(src=R4, dst=A4, id=0x0700 + code) / ICMP(type=3, code=code, nexthopmtu=mtu) / Raw(bytes(quote))


# Cases beyond the vectors: every ICMP message tcpdump names, the ICMPv6
# messages and codes it decodes without -v, IPv6 extension headers (good, cut
# and misplaced), the UDP and TCP corner cases tcpdump prints without
# complaint, and Ethernet/ARP variants.
# (name, link, builder); link is "ip", "ethernet" or "arp".
EXTRA = [
    *[(f"ICMP_UNREACH_CODE_{c}", "ip", (lambda c=c: unreach(c, mtu=1400 if c == 4 else 0))) for c in range(17)],
    ("ICMP_UNREACH_TCP_PORT", "ip", lambda: unreach(3, Q_TCP)),
    ("ICMP_UNREACH_GRE_PORT", "ip", lambda: unreach(3, Q_GRE)),
    ("ICMP_UNREACH_GRE_PROTO", "ip", lambda: unreach(2, Q_GRE)),
    ("ICMP_NEED_FRAG_NO_MTU", "ip", lambda: unreach(4, Q_TCP)),
    *[(f"ICMP_TIME_EXCEEDED_CODE_{c}", "ip", (lambda c=c: IP(src=R4, dst=A4) / ICMP(type=11, code=c) / Raw(bytes(Q_UDP)))) for c in range(3)],
    *[(f"ICMP_REDIRECT_CODE_{c}", "ip", (lambda c=c: IP(src=R4, dst=A4) / ICMP(type=5, code=c, gw=G4) / Raw(bytes(Q_UDP)))) for c in (0, 1, 2, 3, 7)],
    ("ICMP_SOURCE_QUENCH", "ip", lambda: IP(src=R4, dst=A4) / ICMP(type=4) / Raw(bytes(Q_UDP))),
    ("ICMP_ROUTER_SOLICIT", "ip", lambda: IP(src=A4, dst="224.0.0.2") / ICMP(type=10)),
    ("ICMP_PARAM_PROBLEM", "ip", lambda: IP(src=R4, dst=A4) / ICMP(type=12, code=0, ptr=5) / Raw(bytes(Q_UDP))),
    ("ICMP_PARAM_PROBLEM_CODE_1", "ip", lambda: IP(src=R4, dst=A4) / ICMP(type=12, code=1) / Raw(bytes(Q_UDP))),
    ("ICMP_TIMESTAMP_REPLY", "ip", lambda: IP(src=B4, dst=A4) / ICMP(type=14, id=5, seq=6, ts_ori=1, ts_rx=90000000, ts_tx=0xffffffff)),
    ("ICMP_INFO_REQUEST", "ip", lambda: IP(src=A4, dst=B4) / ICMP(type=15)),
    ("ICMP_INFO_REPLY", "ip", lambda: IP(src=B4, dst=A4) / ICMP(type=16)),
    ("ICMP_MASK_REQUEST", "ip", lambda: IP(src=A4, dst=B4) / ICMP(type=17) / Raw(b"\x00" * 4)),
    ("ICMP_MASK_REPLY", "ip", lambda: IP(src=B4, dst=A4) / ICMP(type=18) / Raw(b"\xff\xff\xfe\x00")),
    ("ICMP_TYPE_42", "ip", lambda: IP(src=A4, dst=B4) / ICMP(type=42) / Raw(b"abcd")),
    ("ICMP_ECHO_CODE_1", "ip", lambda: IP(src=A4, dst=B4) / ICMP(type=8, code=1, id=1, seq=2)),
    ("ICMP_FIRST_FRAGMENT", "ip", lambda: IP(src=A4, dst=B4, flags="MF", id=5) / ICMP(type=8, id=1, seq=1) / Raw(b"x" * 16)),
    ("IPV4_LATER_FRAGMENT", "ip", lambda: IP(src=A4, dst=B4, frag=100, id=5, proto=6) / Raw(b"x" * 8)),
    ("IPV4_UNKNOWN_PROTOCOL", "ip", lambda: IP(src=A4, dst=B4, proto=253) / Raw(b"abcdefghijkl")),
    ("UDP_BAD_LENGTH", "ip", lambda: IP(src=A4, dst=B4) / UDP(sport=40000, dport=9, len=100) / Raw(b"abc")),
    ("UDP_LENGTH_BELOW_HEADER", "ip", lambda: IP(src=A4, dst=B4) / UDP(sport=40000, dport=9, len=4) / Raw(b"abc")),
    ("UDP_LENGTH_SHORT_OF_DATA", "ip", lambda: IP(src=A4, dst=B4) / UDP(sport=40000, dport=9, len=9) / Raw(b"abcdef")),
    ("TCP_NO_FLAGS", "ip", lambda: IP(src=A4, dst=B4) / TCP(sport=40000, dport=80, flags=0, window=0)),
    ("TCP_NS_BIT", "ip", lambda: IP(src=A4, dst=B4) / TCP(sport=40000, dport=80, flags=0x110, ack=3)),
    ("TCP_FIN_DATA_WRAPS", "ip", lambda: IP(src=A4, dst=B4) / TCP(sport=40000, dport=9, flags="FPA", seq=4294967290, ack=7) / Raw(b"0123456789")),
    ("TCP_URG_POINTER_NO_FLAG", "ip", lambda: IP(src=A4, dst=B4) / TCP(sport=40000, dport=80, flags="A", urgptr=9)),
    ("TCP_RST_DATA", "ip", lambda: IP(src=A4, dst=B4) / TCP(sport=40000, dport=9, flags="R", seq=5) / Raw(b"why")),
    ("TCP_TFO", "ip", lambda: IP(src=A4, dst=B4) / TCP(sport=40000, dport=80, flags="S", options=[("MSS", 1460), (34, b"\x01\x02\x03\x04\x05\x06\x07\x08")])),
    ("TCP_EXP_TFO_REQUEST", "ip", lambda: IP(src=A4, dst=B4) / TCP(sport=40000, dport=80, flags="S", options=[(254, b"\xf9\x89"), ("NOP", None), ("NOP", None)])),
    ("TCP_EXP_OTHER", "ip", lambda: IP(src=A4, dst=B4) / TCP(sport=40000, dport=80, flags="S", options=[(254, b"\x12\x34\x56\x78")])),
    ("TCP_UNKNOWN_KIND", "ip", lambda: IP(src=A4, dst=B4) / TCP(sport=40000, dport=80, flags="S", options=[(99, b"\xab\xcd")])),
    ("TCP_EOL_THEN_JUNK", "ip", lambda: IP(src=A4, dst=B4) / TCP(sport=40000, dport=80, flags="A", options=[("EOL", None), (99, b"\x01\x02")])),
    *[(f"ICMPV6_UNREACH_CODE_{c}", "ip", (lambda c=c: v6(C6, A6) / ICMPv6DestUnreach(code=c) / Raw(bytes(Q6_UDP)))) for c in range(9)],
    ("ICMPV6_UNREACH_TCP_PORT", "ip", lambda: v6(B6, A6) / ICMPv6DestUnreach(code=4) / Raw(bytes(Q6_TCP))),
    ("ICMPV6_UNREACH_PORT_AFTER_EXT", "ip", lambda: v6(B6, A6) / ICMPv6DestUnreach(code=4) / Raw(bytes(v6() / IPv6ExtHdrDestOpt() / IPv6ExtHdrFragment(id=9) / UDP(sport=40000, dport=9)))),
    ("ICMPV6_UNREACH_PORT_OTHER_PROTO", "ip", lambda: v6(B6, A6) / ICMPv6DestUnreach(code=4) / Raw(bytes(v6(nh=132) / Raw(b"\x01\x02\x03\x04")))),
    ("ICMPV6_UNREACH_PORT_CUT", "ip", lambda: v6(B6, A6) / ICMPv6DestUnreach(code=4) / Raw(bytes(Q6_UDP)[:42])),
    *[(f"ICMPV6_TIME_EXCEEDED_CODE_{c}", "ip", (lambda c=c: v6(C6, A6) / ICMPv6TimeExceeded(code=c) / Raw(bytes(Q6_UDP)))) for c in range(3)],
    *[(f"ICMPV6_PARAM_PROBLEM_CODE_{c}", "ip", (lambda c=c: v6(B6, A6) / ICMPv6ParamProblem(code=c, ptr=6) / Raw(bytes(Q6_UDP)))) for c in (0, 1, 3, 9)],
    ("ICMPV6_ECHO_CODE_1", "ip", lambda: v6() / ICMPv6EchoRequest(code=1, id=1, seq=2)),
    ("ICMPV6_NS_DAD", "ip", lambda: v6("::", "ff02::1:ff00:2") / ICMPv6ND_NS(tgt=B6)),
    ("ICMPV6_NA_FLAGS", "ip", lambda: v6(B6, "ff02::1") / ICMPv6ND_NA(tgt=B6, R=1, S=0, O=1)),
    ("ICMPV6_REDIRECT", "ip", lambda: v6("fe80::1", A6) / ICMPv6ND_Redirect(tgt="fe80::2", dst=C6)),
    ("ICMPV6_MLD_QUERY", "ip", lambda: v6("fe80::1", "ff02::1") / ICMPv6MLQuery()),
    ("ICMPV6_MLD_REPORT", "ip", lambda: v6("fe80::1", "ff02::1:ff00:1") / ICMPv6MLReport(mladdr="ff02::1:ff00:1")),
    ("ICMPV6_MLD_DONE", "ip", lambda: v6("fe80::1", "ff02::2") / ICMPv6MLDone(mladdr="ff02::1:ff00:1")),
    ("ICMPV6_MLD2_REPORT", "ip", lambda: v6("fe80::1", "ff02::16") / ICMPv6MLReport2()),
    *[(f"ICMPV6_TYPE_{t}", "ip", (lambda t=t: v6(nh=58) / Raw(bytes([t]) + b"\x00\x00\x00abcd"))) for t in (0, 141, 144, 145, 200, 250)],
    ("ICMPV6_MLD2_QUERY", "ip", lambda: v6("fe80::1", "ff02::1", nh=58) / Raw(b"\x82\x00\x00\x00\x27\x10\x00\x00" + b"\xff\x02" + b"\x00" * 13 + b"\x05\x02\x7d\x00\x01" + b"\x20\x01" + b"\x00" * 13 + b"\x09")),
    ("ICMPV6_MLD2_QUERY_BAD_SOURCES", "ip", lambda: v6("fe80::1", "ff02::1", nh=58) / Raw(b"\x82\x00\x00\x00\x27\x10\x00\x00" + b"\x00" * 16 + b"\x02\x7d\x00\x03")),
    ("ICMPV6_MLD_QUERY_SHORT", "ip", lambda: v6("fe80::1", "ff02::1", nh=58) / Raw(b"\x82\x00\x00\x00\x27\x10\x00\x00" + b"\x00" * 18)),
    ("ICMPV6_MLD2_REPORT_SHORT", "ip", lambda: v6("fe80::1", "ff02::16", nh=58) / Raw(b"\x8f\x00\x00\x00\x00")),
    ("ICMPV6_NS_SHORT", "ip", lambda: v6(nh=58) / Raw(b"\x87\x00\x00\x00\x00\x00\x00\x00\x20\x01")),
    ("ICMPV6_PARAM_PROBLEM_SHORT", "ip", lambda: v6(nh=58) / Raw(b"\x04\x00\x00\x00\x00\x00\x00\x06" + bytes(Q6_UDP)[:20])),
    ("ICMPV6_UNREACH_ROUTE_SHORT", "ip", lambda: v6(nh=58) / Raw(b"\x01\x00\x00\x00\x00\x00\x00\x00" + bytes(Q6_UDP)[:20])),
    ("ICMPV6_REDIRECT_SHORT", "ip", lambda: v6(nh=58) / Raw(b"\x89\x00\x00\x00\x00\x00\x00\x00" + b"\x00" * 20)),
    ("ICMPV6_EMPTY", "ip", lambda: v6(nh=58)),
    ("ICMPV6_SHORT", "ip", lambda: v6(nh=58) / Raw(b"\x80\x00\x00")),
    ("IPV6_UNKNOWN_PROTOCOL", "ip", lambda: v6(nh=253) / Raw(b"abcdefghijkl")),
    ("IPV6_NO_NEXT_HEADER", "ip", lambda: v6(nh=59) / Raw(b"abcd")),
    ("IPV6_ICMPV4", "ip", lambda: v6(nh=1) / ICMP(type=8)),
    ("IPV4_NO_NEXT_HEADER", "ip", lambda: IP(src=A4, dst=B4, proto=59) / Raw(b"abcd")),
    ("IPV4_ESP", "ip", lambda: IP(src=A4, dst=B4, proto=50) / Raw(b"\x00\x00\x01\x00\x00\x00\x00\x05" + b"x" * 16)),
    ("IPV4_ESP_SHORT", "ip", lambda: IP(src=A4, dst=B4, proto=50) / Raw(b"\x00\x00\x01")),
    ("IPV4_ICMPV6", "ip", lambda: IP(src=A4, dst=B4, proto=58) / ICMPv6EchoRequest()),
    ("IPV6_DSTOPT_TCP", "ip", lambda: v6() / IPv6ExtHdrDestOpt() / TCP(sport=40000, dport=80, flags="S", seq=1, window=1000)),
    ("IPV6_HBH_ICMPV6", "ip", lambda: v6() / IPv6ExtHdrHopByHop(options=[RouterAlert()]) / ICMPv6EchoRequest(id=1, seq=1)),
    ("IPV6_HBH_UNKNOWN_PROTOCOL", "ip", lambda: v6() / IPv6ExtHdrHopByHop(nh=253) / Raw(b"abcdefgh")),
    ("IPV6_HBH_TWICE", "ip", lambda: v6() / IPv6ExtHdrHopByHop() / IPv6ExtHdrHopByHop() / UDP(sport=40000, dport=9)),
    ("IPV6_HBH_NOT_FIRST", "ip", lambda: v6() / IPv6ExtHdrDestOpt() / IPv6ExtHdrHopByHop() / UDP(sport=40000, dport=9)),
    ("IPV6_HBH_CUT", "ip", lambda: v6(nh=0) / Raw(b"\x11\x01\x01\x04\x00\x00\x00\x00")),
    ("IPV6_HBH_BAD_OPTION", "ip", lambda: v6(nh=0) / Raw(b"\x11\x00\x01\x09\x00\x00\x00\x00") / UDP(sport=40000, dport=9)),
    ("IPV6_FRAG_FIRST_TCP", "ip", lambda: v6() / IPv6ExtHdrFragment(id=7, m=1) / TCP(sport=40000, dport=80, flags="S", seq=1, window=1000)),
    ("IPV6_FRAG_EMPTY", "ip", lambda: v6() / IPv6ExtHdrFragment(nh=17, id=7)),
    ("IPV6_FRAG_LATER_TCP", "ip", lambda: v6() / IPv6ExtHdrFragment(nh=6, id=7, offset=100) / Raw(b"x" * 8)),
    ("IPV6_ROUTING_TYPE_2", "ip", lambda: v6() / IPv6ExtHdrRouting(type=2, addresses=[C6], segleft=1) / UDP(sport=40000, dport=9)),
    ("IPV6_ROUTING_RESERVED", "ip", lambda: v6() / IPv6ExtHdrRouting(reserved=5, addresses=[C6, A6], segleft=0) / UDP(sport=40000, dport=9)),
    ("IPV6_ROUTING_TYPE_3", "ip", lambda: v6() / IPv6ExtHdrRouting(type=3, addresses=[C6], segleft=0) / UDP(sport=40000, dport=9)),
    ("IPV6_ROUTING_TYPE_4", "ip", lambda: v6(nh=43) / Raw(b"\x11\x04\x04\x01\x00\x05\x00\x07" + bytes(16) + b"\x20\x01" + bytes(13) + b"\x03") / UDP(sport=40000, dport=9)),
    ("IPV6_ROUTING_CUT", "ip", lambda: v6(nh=43) / Raw(b"\x11\x04\x00\x00\x00\x00\x00\x00" + bytes(16))),
    ("IPV6_DSTOPT_CUT", "ip", lambda: v6(nh=60) / Raw(b"\x11\x01\x00\x00\x00\x00\x00\x00")),
    ("IPV6_DSTOPT_EMPTY_UDP", "ip", lambda: v6(nh=60) / Raw(b"\x11\x00\x01\x04\x00\x00\x00\x00")),
    ("IPV6_FRAG_CUT", "ip", lambda: v6(nh=44) / Raw(b"\x11\x00\x00\x00")),
    ("IPV6_AH_CUT", "ip", lambda: v6(nh=51) / Raw(b"\x11\x04\x00\x00\x00\x00\x01\x00")),
    ("IPV6_ROUTING_ODD_LEN", "ip", lambda: v6(nh=43) / Raw(b"\x11\x01\x00\x00\x00\x00\x00\x00" + b"\x00" * 8) / UDP(sport=40000, dport=9)),
    ("IPV6_AH_TCP", "ip", lambda: v6() / AH(nh=6, payloadlen=4, spi=0x100, seq=1, icv=b"\x11" * 12) / TCP(sport=40000, dport=80, flags="S", seq=1, window=1000)),
    ("IPV6_AH_RESERVED", "ip", lambda: v6() / AH(nh=17, payloadlen=4, reserved=3, spi=0x100, seq=1, icv=b"\x11" * 12) / UDP(sport=40000, dport=9)),
    ("IPV6_ESP", "ip", lambda: v6(nh=50) / Raw(b"\x00\x00\x01\x00\x00\x00\x00\x05" + b"x" * 16)),
    ("IPV6_TRUNCATED", "ip", lambda: bytes(v6() / UDP(sport=40000, dport=9) / Raw(b"abcdefgh"))[:52]),
    ("IPV6_UDP_BAD_LENGTH", "ip", lambda: v6() / UDP(sport=40000, dport=9, len=100) / Raw(b"abc")),
    ("IPV6_FRAG_UDP_LONG", "ip", lambda: v6() / IPv6ExtHdrFragment(id=3, m=1) / UDP(sport=40000, dport=9, len=100) / Raw(b"abcdefgh")),
    ("ETHERNET_IPV6_NS", "ethernet", lambda: Ether(src=MAC_A, dst="33:33:ff:00:00:02") / v6(A6, "ff02::1:ff00:2") / ICMPv6ND_NS(tgt=B6)),
    ("ETHERNET_UNKNOWN_ETHERTYPE", "ethernet", lambda: Ether(src=MAC_A, dst=MAC_B, type=0x1234) / Raw(b"abcd")),
    ("ETHERNET_8023", "ethernet", lambda: Ether(src=MAC_A, dst=MAC_B, type=46) / Raw(b"\xaa\xaa\x03" + b"x" * 43)),
    ("ETHERNET_VLAN_ARP_DEI", "ethernet", lambda: Ether(src=MAC_A, dst=MAC_B) / Dot1Q(vlan=5, prio=6, id=1) / ARP(psrc=A4, pdst=B4, hwsrc=MAC_A)),
    ("ETHERNET_QINQ", "ethernet", lambda: Ether(src=MAC_A, dst=MAC_B, type=0x88a8) / Dot1Q(vlan=5, type=0x8100) / Dot1Q(vlan=7, prio=3) / IP(src=A4, dst=B4) / UDP(sport=1, dport=2)),
    ("ETHERNET_VLAN_UNKNOWN", "ethernet", lambda: Ether(src=MAC_A, dst=MAC_B) / Dot1Q(vlan=5, type=0x1234) / Raw(b"abcd")),
    ("ARP_REQUEST_WITH_THA", "ethernet", lambda: Ether(src=MAC_A, dst=MAC_B) / ARP(op=1, psrc=A4, pdst=B4, hwsrc=MAC_A, hwdst=MAC_B)),
    ("ARP_GRATUITOUS", "ethernet", lambda: Ether(src=MAC_A, dst="ff:ff:ff:ff:ff:ff") / ARP(op=2, psrc=A4, pdst=A4, hwsrc=MAC_A, hwdst="ff:ff:ff:ff:ff:ff")),
    *[(f"ARP_OP_{op}", "ethernet", (lambda op=op: Ether(src=MAC_A, dst=MAC_B) / ARP(op=op, psrc=A4, pdst=B4, hwsrc=MAC_A, hwdst=MAC_B))) for op in (3, 4, 8, 9)],
    ("ARP_HARDWARE_6", "ethernet", lambda: Ether(src=MAC_A, dst=MAC_B) / ARP(hwtype=6, hwlen=6, plen=4, psrc=A4, pdst=B4, hwsrc=MAC_A)),
    ("ARP_UNKNOWN_PROTOCOL", "ethernet", lambda: Ether(src=MAC_A, dst=MAC_B) / ARP(ptype=0x1234, hwlen=6, plen=4, psrc=A4, pdst=B4, hwsrc=MAC_A)),
]


def tcpdump(data, linktype, flags):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "one.pcap")
        writer = PcapWriter(path, linktype=linktype, sync=True)
        writer.write(Raw(data))
        writer.close()
        out = subprocess.run(["tcpdump", "-n", "-t", "-S", *flags, "-r", path],
                             capture_output=True, text=True, check=True).stdout
    return out.split("\n", 1)[0]


def line_for(data, link):
    if link == "ip":
        return tcpdump(data, 101, [])
    if link == "ethernet":
        return tcpdump(data, 1, ["-e"])
    # A bare ARP packet: frame it, and keep the line without -e.
    frame = bytes(Ether(src=MAC_A, dst="ff:ff:ff:ff:ff:ff", type=0x0806)) + data
    return tcpdump(frame, 1, [])


def rust_str(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def rust_bytes(data):
    rows = []
    for i in range(0, len(data), 16):
        rows.append("            " + " ".join(f"0x{b:02x}," for b in data[i:i + 16]))
    return "&[\n" + "\n".join(rows) + "\n        ]"


def main():
    version = subprocess.run(["tcpdump", "--version"], capture_output=True, text=True).stdout.split("\n", 1)[0]
    print(f"""//! Generated, test-only: what tcpdump prints for each wire test vector and
//! for the extra cases of scripts/tcpdump-lines.py, the expected lines of
//! the display tests (`tests/mod.rs`). Do not edit by hand: with tcpdump and
//! Debian's python3-scapy installed, regenerate it from the repository root
//! with
//!
//! ```text
//! /usr/bin/python3 scripts/tcpdump-lines.py \\
//!     > crates/berth-core/src/wire/display/tests/tcpdump_expected.rs
//! cargo fmt --all
//! ```
//!
//! (after scripts/wire-vectors.py, if the vectors changed). Each packet was
//! written to a pcap of its own with Scapy and read back with
//! `tcpdump -n -t -S -r` (`-e` too for Ethernet frames); the first line of
//! the output is kept. {version}.

use crate::wire::vectors;

/// How a case's bytes are framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Link {{
    /// An IP packet (tcpdump prints `IP ` or `IP6 ` in front).
    Ip,
    /// An Ethernet frame (the line is tcpdump's `-e` line).
    Ethernet,
    /// A bare ARP packet (tcpdump prints `ARP, ` in front).
    Arp,
}}

/// One packet and tcpdump's line for it.
#[derive(Debug)]
pub(super) struct Case {{
    pub(super) name: &'static str,
    pub(super) link: Link,
    pub(super) bytes: &'static [u8],
    pub(super) tcpdump: &'static str,
}}

pub(super) const CASES: &[Case] = &[""")
    source = open(VECTORS_RS).read()
    for name, body in re.findall(r"pub\(crate\) const (\w+): \[u8; \d+\] = \[(.*?)\];", source, re.S):
        data = bytes(int(x, 16) for x in re.findall(r"0x([0-9a-f]{2})", body))
        if name.startswith("ETHERNET") or name in ("ARP_REQUEST", "ARP_REPLY_PADDED"):
            link = "ethernet"
        elif name.startswith("ARP"):
            link = "arp"
        else:
            link = "ip"
        print(f"    Case {{\n        name: {rust_str(name)},\n        link: Link::{link.capitalize()},\n"
              f"        bytes: &vectors::{name},\n        tcpdump: {rust_str(line_for(data, link))},\n    }},")
    print("    // The extra cases: built by EXTRA in scripts/tcpdump-lines.py.")
    for name, link, build in EXTRA:
        data = bytes(build())
        print(f"    Case {{\n        name: {rust_str(name)},\n        link: Link::{link.capitalize()},\n"
              f"        bytes: {rust_bytes(data)},\n        tcpdump: {rust_str(line_for(data, link))},\n    }},")
    print("];")


if __name__ == "__main__":
    main()
