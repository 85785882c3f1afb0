#!/usr/bin/python3
"""Writes berth-core's wire test vectors, crates/berth-core/src/wire/vectors.rs.

Each vector is a packet built with Scapy, an implementation independent of ours
(Debian's python3-scapy; run with /usr/bin/python3, not a pyenv python):

    /usr/bin/python3 scripts/wire-vectors.py > crates/berth-core/src/wire/vectors.rs

To add a vector, add an entry to VECTORS and rerun.
"""
from scapy.all import (ARP, ICMP, IP, TCP, UDP, Ether, ICMPv6DestUnreach,
                       ICMPv6EchoReply, ICMPv6EchoRequest, ICMPv6ND_NA,
                       ICMPv6ND_NS, ICMPv6ND_RA, ICMPv6ND_RS,
                       ICMPv6NDOptPrefixInfo, ICMPv6NDOptDstLLAddr,
                       ICMPv6NDOptSrcLLAddr, ICMPv6NDOptMTU, ICMPv6PacketTooBig,
                       ICMPv6TimeExceeded, IPv6, IPv6ExtHdrDestOpt,
                       IPv6ExtHdrFragment, IPv6ExtHdrHopByHop,
                       IPv6ExtHdrRouting, IPOption_NOP, IPOption_RR, Raw)

A4, B4 = "198.18.0.1", "198.18.0.2"
A6, B6 = "2001:2::1", "2001:2::2"
MAC_A, MAC_B = "02:00:00:00:00:01", "02:00:00:00:00:02"

VECTORS = {
    # UDP: a DNS-sized datagram and an empty one.
    "UDP_V4": lambda: IP(src=A4, dst=B4, id=1, ttl=64) / UDP(sport=40000, dport=7) / Raw(b"hello, berth"),
    "UDP_V6": lambda: IPv6(src=A6, dst=B6, hlim=64) / UDP(sport=40000, dport=9) / Raw(b""),
    # TCP and its options: Linux-shaped handshakes, data, SACK, FIN, RST, an
    # unknown (experimental, kind 254) option, ECN setup, URG; both families.
    "TCP_SYN_V4": lambda: IP(src=A4, dst=B4, id=1, ttl=64) / TCP(sport=40000, dport=80, seq=1000, flags="S", window=64240, options=[("MSS", 1460), ("SAckOK", b""), ("Timestamp", (1, 0)), ("NOP", None), ("WScale", 7)]),
    "TCP_SYN_ACK_V4": lambda: IP(src=B4, dst=A4, id=0, ttl=64) / TCP(sport=80, dport=40000, seq=5000, ack=1001, flags="SA", window=65160, options=[("MSS", 1460), ("SAckOK", b""), ("Timestamp", (2, 1)), ("NOP", None), ("WScale", 7)]),
    "TCP_DATA_V4": lambda: IP(src=A4, dst=B4, id=2, ttl=64) / TCP(sport=40000, dport=80, seq=1001, ack=5001, flags="PA", window=502, options=[("NOP", None), ("NOP", None), ("Timestamp", (3, 2))]) / Raw(b"GET / HTTP/1.1\r\n\r\n"),
    "TCP_SACK_TS_V4": lambda: IP(src=B4, dst=A4, id=1, ttl=64) / TCP(sport=80, dport=40000, seq=5001, ack=1001, flags="A", window=509, options=[("NOP", None), ("NOP", None), ("Timestamp", (4, 3)), ("NOP", None), ("NOP", None), ("SAck", (3001, 4001, 5001, 6001, 7001, 8001))]),
    "TCP_SACK_V6": lambda: IPv6(src=B6, dst=A6, hlim=64) / TCP(sport=80, dport=40000, seq=5001, ack=1001, flags="A", window=509, options=[("NOP", None), ("NOP", None), ("SAck", (3001, 4001, 5001, 6001, 7001, 8001, 4294967000, 100))]),
    "TCP_FIN_V4": lambda: IP(src=A4, dst=B4, id=3, ttl=64) / TCP(sport=40000, dport=80, seq=1019, ack=5001, flags="FA", window=502, options=[("NOP", None), ("NOP", None), ("Timestamp", (5, 4))]),
    "TCP_RST_V4": lambda: IP(src=B4, dst=A4, id=0, ttl=64) / TCP(sport=80, dport=40001, seq=0, ack=0, flags="R", window=0),
    "TCP_UNKNOWN_OPT_V4": lambda: IP(src=A4, dst=B4, id=4, ttl=64) / TCP(sport=40000, dport=80, seq=1000, flags="S", window=64240, options=[("MSS", 1460), (254, b"\xf9\x89\x01\x02"), ("NOP", None), ("EOL", None)]),
    "TCP_SYN_ECN_V6": lambda: IPv6(src=A6, dst=B6, hlim=64) / TCP(sport=40002, dport=443, seq=4294967295, flags="SEC", window=64800, options=[("MSS", 1440), ("NOP", None), ("NOP", None), ("SAckOK", b""), ("NOP", None), ("WScale", 14)]),
    "TCP_URG_V6": lambda: IPv6(src=A6, dst=B6, hlim=64) / TCP(sport=40002, dport=443, seq=1, ack=1, flags="PAU", window=1000, urgptr=3) / Raw(b"urg!"),
}


HEADER = """//! Test vectors for the wire formats, built with Scapy by
//! scripts/wire-vectors.py (generated: do not edit by hand, rerun the script).
#![allow(dead_code)]
"""


def rust_array(name, expr, data):
    lines = [f"/// `{expr}`", f"pub(crate) const {name}: [u8; {len(data)}] = ["]
    for i in range(0, len(data), 16):
        lines.append("    " + " ".join(f"0x{b:02x}," for b in data[i:i + 16]))
    lines.append("];")
    return "\n".join(lines)


def main():
    import inspect
    print(HEADER)
    for name, build in VECTORS.items():
        expr = inspect.getsource(build).split("lambda:", 1)[1].strip().rstrip(",")
        print(rust_array(name, expr, bytes(build())))
        print()


if __name__ == "__main__":
    main()
