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
from scapy.layers.inet6 import (HBHOptUnknown, ICMPv6NDOptRDNSS,
                                ICMPv6ParamProblem, Jumbo, PadN)
from scapy.layers.ipsec import AH

A4, B4 = "198.18.0.1", "198.18.0.2"
A6, B6, C6 = "2001:2::1", "2001:2::2", "2001:2::3"
MAC_A, MAC_B = "02:00:00:00:00:01", "02:00:00:00:00:02"

VECTORS = {
    # UDP: a DNS-sized datagram and an empty one.
    "UDP_V4": lambda: IP(src=A4, dst=B4, id=1, ttl=64) / UDP(sport=40000, dport=7) / Raw(b"hello, berth"),
    "UDP_V6": lambda: IPv6(src=A6, dst=B6, hlim=64) / UDP(sport=40000, dport=9) / Raw(b""),
    # IPv6 (wire/ipv6.rs): a plain TCP segment with traffic class and flow label; every
    # extension header we walk (an unknown skip-type option in Hop-by-Hop); a first and a later
    # fragment; AH; two packets RFC 8200 says to discard; a jumbogram.
    "IPV6_TCP": lambda: IPv6(src=A6, dst=B6, tc=0xb8, fl=0x12345, hlim=64) / TCP(sport=40000, dport=80, seq=1, flags="S", window=65535),
    "IPV6_EXT_CHAIN": lambda: IPv6(src=A6, dst=B6, hlim=64) / IPv6ExtHdrHopByHop(options=[HBHOptUnknown(otype=0x1e, optdata=b"ab")]) / IPv6ExtHdrDestOpt(options=[PadN(optdata=b"\x00\x00")]) / IPv6ExtHdrRouting(addresses=[C6], segleft=0) / IPv6ExtHdrFragment(id=0x1234, offset=0, m=0) / UDP(sport=40000, dport=7) / Raw(b"ext"),
    "IPV6_FRAG_FIRST": lambda: IPv6(src=A6, dst=B6, hlim=64) / IPv6ExtHdrFragment(id=0xabcd, offset=0, m=1) / UDP(sport=40000, dport=7) / Raw(b"x" * 16),
    "IPV6_FRAG_LATER": lambda: IPv6(src=A6, dst=B6, hlim=64) / IPv6ExtHdrFragment(nh=17, id=0xabcd, offset=3, m=0) / Raw(b"y" * 12),
    "IPV6_AH": lambda: IPv6(src=A6, dst=B6, hlim=64) / AH(nh=17, payloadlen=4, spi=0x100, seq=1, icv=b"\x11" * 12) / UDP(sport=40000, dport=7) / Raw(b"ah"),
    "IPV6_HBH_DISCARD": lambda: IPv6(src=A6, dst=B6, hlim=64) / IPv6ExtHdrHopByHop(options=[HBHOptUnknown(otype=0x9e, optdata=b"\x01\x02")]) / UDP(sport=40000, dport=7),
    "IPV6_ROUTING_SEGLEFT": lambda: IPv6(src=A6, dst=B6, hlim=64) / IPv6ExtHdrRouting(addresses=[C6], segleft=1) / UDP(sport=40000, dport=7),
    "IPV6_JUMBO": lambda: IPv6(src=A6, dst=B6, hlim=64, plen=0) / IPv6ExtHdrHopByHop(options=[Jumbo(jumboplen=16)]) / UDP(sport=40000, dport=7),
    # ICMPv6 and NDP (wire/icmpv6.rs): both echoes; each error message, quoting a whole
    # invoking packet, a cut one (Packet Too Big) and one with an extension header (Parameter
    # Problem); RS, RA, NS and NA with their options, an RA with two prefixes and an MTU, and one
    # with an option we skip (RDNSS) between the others.
    "ICMPV6_ECHO_REQUEST": lambda: IPv6(src=A6, dst=B6, hlim=64) / ICMPv6EchoRequest(id=0x1234, seq=1, data=b"berth ping"),
    "ICMPV6_ECHO_REPLY": lambda: IPv6(src=B6, dst=A6, hlim=64) / ICMPv6EchoReply(id=0x1234, seq=1, data=b"berth ping"),
    "ICMPV6_DST_UNREACH": lambda: IPv6(src=B6, dst=A6, hlim=64) / ICMPv6DestUnreach(code=4) / IPv6(src=A6, dst=B6, hlim=64) / UDP(sport=40000, dport=9) / Raw(b"knock"),
    "ICMPV6_PKT_TOO_BIG": lambda: IPv6(src=C6, dst=A6, hlim=64) / ICMPv6PacketTooBig(mtu=1280) / Raw(bytes(IPv6(src=A6, dst=B6, hlim=64) / TCP(sport=40000, dport=80, seq=1000, ack=1, flags="A") / Raw(b"z" * 100))[:72]),
    "ICMPV6_TIME_EXCEEDED": lambda: IPv6(src=C6, dst=A6, hlim=64) / ICMPv6TimeExceeded(code=0) / IPv6(src=A6, dst=B6, hlim=1) / UDP(sport=40000, dport=33434),
    "ICMPV6_PARAM_PROBLEM": lambda: IPv6(src=B6, dst=A6, hlim=64) / ICMPv6ParamProblem(code=2, ptr=42) / IPv6(src=A6, dst=B6, hlim=64) / IPv6ExtHdrHopByHop(options=[HBHOptUnknown(otype=0x9e, optdata=b"\x01\x02")]) / UDP(sport=40000, dport=7),
    "ICMPV6_RS": lambda: IPv6(src=A6, dst=B6, hlim=255) / ICMPv6ND_RS() / ICMPv6NDOptSrcLLAddr(lladdr=MAC_A),
    "ICMPV6_RA": lambda: IPv6(src=B6, dst=A6, hlim=255) / ICMPv6ND_RA(chlim=64, M=1, O=0, prf=0, routerlifetime=1800, reachabletime=30000, retranstimer=1000) / ICMPv6NDOptSrcLLAddr(lladdr=MAC_B) / ICMPv6NDOptMTU(mtu=1500) / ICMPv6NDOptPrefixInfo(prefix="2001:2:0:1::", prefixlen=64, L=1, A=1, validlifetime=86400, preferredlifetime=14400) / ICMPv6NDOptPrefixInfo(prefix="2001:2:0:2::", prefixlen=64, L=1, A=0, validlifetime=3600, preferredlifetime=1800),
    "ICMPV6_RA_RDNSS": lambda: IPv6(src=B6, dst=A6, hlim=255) / ICMPv6ND_RA(chlim=0, M=0, O=1, prf=0, routerlifetime=0, reachabletime=0, retranstimer=0) / ICMPv6NDOptPrefixInfo(prefix="2001:2:0:3::", prefixlen=64, L=0, A=1, validlifetime=0xffffffff, preferredlifetime=0xffffffff) / ICMPv6NDOptRDNSS(dns=[C6], lifetime=600) / ICMPv6NDOptSrcLLAddr(lladdr=MAC_B),
    "ICMPV6_NS": lambda: IPv6(src=A6, dst=B6, hlim=255) / ICMPv6ND_NS(tgt=B6) / ICMPv6NDOptSrcLLAddr(lladdr=MAC_A),
    "ICMPV6_NA": lambda: IPv6(src=B6, dst=A6, hlim=255) / ICMPv6ND_NA(R=0, S=1, O=1, tgt=B6) / ICMPv6NDOptDstLLAddr(lladdr=MAC_B),
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
