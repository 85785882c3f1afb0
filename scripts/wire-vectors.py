#!/usr/bin/python3
"""Writes berth-core's wire test vectors, crates/berth-core/src/wire/vectors.rs.

Each vector is a packet built with Scapy, an implementation independent of ours
(Debian's python3-scapy; run with /usr/bin/python3, not a pyenv python):

    /usr/bin/python3 scripts/wire-vectors.py > crates/berth-core/src/wire/vectors.rs

To add a vector, add an entry to VECTORS and rerun.
"""
from scapy.all import (ARP, ICMP, IP, TCP, UDP, Dot1Q, Ether, ICMPv6DestUnreach,
                       ICMPv6EchoReply, ICMPv6EchoRequest, ICMPv6ND_NA,
                       ICMPv6ND_NS, ICMPv6ND_RA, ICMPv6ND_RS,
                       ICMPv6NDOptPrefixInfo, ICMPv6NDOptDstLLAddr,
                       ICMPv6NDOptSrcLLAddr, ICMPv6NDOptMTU, ICMPv6PacketTooBig,
                       ICMPv6TimeExceeded, IPv6, IPv6ExtHdrDestOpt,
                       IPv6ExtHdrFragment, IPv6ExtHdrHopByHop,
                       IPv6ExtHdrRouting, IPOption_NOP, IPOption_RR, Padding,
                       Raw, fragment)
from scapy.layers.inet6 import (HBHOptUnknown, ICMPv6NDOptRDNSS,
                                ICMPv6ParamProblem, Jumbo, PadN)
from scapy.layers.ipsec import AH

A4, B4 = "198.18.0.1", "198.18.0.2"
A6, B6, C6 = "2001:2::1", "2001:2::2", "2001:2::3"
MAC_A, MAC_B = "02:00:00:00:00:01", "02:00:00:00:00:02"
R4 = "198.18.1.1"  # a router between A4 and B4, for ICMP errors

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
    # Ethernet II: IPv4, IPv6, a frame padded to the 60-byte minimum, and an
    # 802.1Q tag (which berth reads as an unknown EtherType).
    "ETHERNET_IPV4": lambda: Ether(src=MAC_A, dst=MAC_B) / IP(src=A4, dst=B4, id=1, ttl=64) / UDP(sport=40000, dport=7) / Raw(b"hello, berth"),
    "ETHERNET_IPV4_PADDED": lambda: Ether(src=MAC_B, dst=MAC_A) / IP(src=B4, dst=A4, id=2, ttl=64) / UDP(sport=7, dport=40000) / Raw(b"hi") / Padding(b"\x00" * 16),
    "ETHERNET_IPV6": lambda: Ether(src=MAC_A, dst=MAC_B) / IPv6(src=A6, dst=B6, hlim=64) / ICMPv6EchoRequest(id=1, seq=1),
    "ETHERNET_VLAN": lambda: Ether(src=MAC_A, dst=MAC_B) / Dot1Q(vlan=100) / IP(src=A4, dst=B4, id=3, ttl=64) / UDP(sport=40000, dport=9),
    # ARP (in Ethernet frames): a broadcast request, a reply padded to the
    # 60-byte minimum as it arrives from a real link, and a bare packet for
    # IPv6 over Ethernet (16-byte protocol addresses), which berth does not
    # represent.
    "ARP_REQUEST": lambda: Ether(src=MAC_A, dst="ff:ff:ff:ff:ff:ff") / ARP(op="who-has", hwsrc=MAC_A, psrc=A4, pdst=B4),
    "ARP_REPLY_PADDED": lambda: Ether(src=MAC_B, dst=MAC_A) / ARP(op="is-at", hwsrc=MAC_B, psrc=B4, hwdst=MAC_A, pdst=A4) / Padding(b"\x00" * 18),
    "ARP_IPV6": lambda: ARP(hwtype=1, ptype=0x86dd, hwlen=6, plen=16, op="who-has", hwsrc=MAC_A, psrc=A6, pdst=B6),
    # IPv4 (UDP_V4 and ETHERNET_IPV4_PADDED are IPv4 vectors too): a header
    # with options (Record Route with two slots, then NOP: IHL 8), a TCP SYN
    # with DF, DSCP AF11 and ECT(0), and both fragments of a UDP datagram.
    "IPV4_OPTIONS": lambda: IP(src=A4, dst=B4, id=0x4242, ttl=64, options=[IPOption_RR(routers=["198.18.0.254", "198.18.1.254"]), IPOption_NOP()]) / ICMP(type="echo-request", id=7, seq=1) / Raw(b"rr"),
    "IPV4_DF_TCP": lambda: IP(src=A4, dst=B4, id=0, flags="DF", ttl=64, tos=0x2a) / TCP(sport=40000, dport=80, seq=1000, flags="S", window=64240),
    "IPV4_FRAG_FIRST": lambda: fragment(IP(src=A4, dst=B4, id=0x1234, ttl=64) / UDP(sport=40000, dport=9) / Raw(b"berth fragments 0123456789abcdef"), fragsize=24)[0],
    "IPV4_FRAG_LAST": lambda: fragment(IP(src=A4, dst=B4, id=0x1234, ttl=64) / UDP(sport=40000, dport=9) / Raw(b"berth fragments 0123456789abcdef"), fragsize=24)[1],
    # ICMPv4: echo request and reply; port unreachable quoting a whole UDP
    # datagram (as Linux does); fragmentation needed with a next-hop MTU
    # quoting the RFC 792 minimum (header + 8 bytes) of a 1500-byte TCP
    # segment; time exceeded quoting a header with options; and a timestamp
    # request, a type berth does not represent.
    "ICMPV4_ECHO_REQUEST": lambda: IP(src=A4, dst=B4, id=0x0100, flags="DF", ttl=64) / ICMP(type="echo-request", id=0x4242, seq=1) / Raw(b"berth ping 0123456789"),
    "ICMPV4_ECHO_REPLY": lambda: IP(src=B4, dst=A4, id=0x0200, ttl=64) / ICMP(type="echo-reply", id=0x4242, seq=1) / Raw(b"berth ping 0123456789"),
    "ICMPV4_PORT_UNREACHABLE": lambda: IP(src=B4, dst=A4, id=0x0300, ttl=64) / ICMP(type="dest-unreach", code="port-unreachable") / Raw(bytes(IP(src=A4, dst=B4, id=0x0301, ttl=64) / UDP(sport=40000, dport=9) / Raw(b"anyone there?"))),
    "ICMPV4_FRAG_NEEDED": lambda: IP(src=R4, dst=A4, id=0x0400, ttl=64) / ICMP(type="dest-unreach", code="fragmentation-needed", nexthopmtu=1400) / Raw(bytes(IP(src=A4, dst=B4, id=0x0401, flags="DF", ttl=63) / TCP(sport=40000, dport=80, seq=0x01020304, ack=0x0a0b0c0d, flags="A") / Raw(b"x" * 1460))[:28]),
    "ICMPV4_TIME_EXCEEDED": lambda: IP(src=R4, dst=A4, id=0x0500, ttl=64) / ICMP(type="time-exceeded", code="ttl-zero-during-transit") / Raw(bytes(IP(src=A4, dst=B4, id=0x0501, ttl=1, options=[IPOption_RR(routers=["198.18.0.254"]), IPOption_NOP()]) / UDP(sport=40001, dport=33434) / Raw(b"traceroute"))),
    "ICMPV4_TIMESTAMP": lambda: IP(src=A4, dst=B4, id=0x0600, ttl=64) / ICMP(type="timestamp-request", id=0x4242, seq=2, ts_ori=1000, ts_rx=0, ts_tx=0),
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
