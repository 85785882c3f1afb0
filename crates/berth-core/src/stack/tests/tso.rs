//! TCP segmentation offload: a stack whose device splits long segments
//! (`StackConfig::tso_max`) sends them, and `split` here does what the
//! Linux kernel does with a TSO packet from a TUN device (tcp_gso_segment):
//! payload cut at the given size, sequence numbers advanced, FIN and PSH on
//! the last piece only, every header and checksum made whole. The other
//! stack must receive an intact stream.

use super::*;
use crate::wire::{TcpFlags, TcpPacket, TxChecksum};

/// Splits a long TCP segment (IPv4 or IPv6, no extension headers, checksum
/// field holding the pseudo-header sum) into segments of `seg` payload bytes.
pub(super) fn split(packet: &[u8], seg: u16) -> Vec<Vec<u8>> {
    let v4 = packet[0] >> 4 == 4;
    let ip_len = if v4 {
        usize::from(packet[0] & 0x0f) * 4
    } else {
        40
    };
    let tcp = TcpPacket::new_checked(&packet[ip_len..]).unwrap();
    let tcp_len = usize::from(tcp.header_len());
    let (seq, flags) = (tcp.seq_number(), tcp.flags());
    let (src, dst): (IpAddr, IpAddr) = if v4 {
        let ip = Ipv4Packet::new_checked(packet).unwrap();
        (ip.src_addr().into(), ip.dst_addr().into())
    } else {
        let ip = crate::wire::Ipv6Packet::new_checked(packet).unwrap();
        (ip.src_addr().into(), ip.dst_addr().into())
    };
    let payload = &packet[ip_len + tcp_len..];
    let pieces: Vec<&[u8]> = payload.chunks(usize::from(seg)).collect();
    let last = pieces.len() - 1;
    let mut out = Vec::new();
    for (i, piece) in pieces.into_iter().enumerate() {
        let mut p = packet[..ip_len + tcp_len].to_vec();
        p.extend_from_slice(piece);
        let tcp_total = tcp_len + piece.len();
        if v4 {
            let mut ip = Ipv4Packet::new_unchecked(&mut p[..]);
            ip.set_total_len(u16::try_from(ip_len + tcp_total).unwrap());
            let ident = ip.ident();
            ip.set_ident(ident.wrapping_add(i as u16));
            ip.fill_checksum();
        } else {
            p[4..6].copy_from_slice(&u16::try_from(tcp_total).unwrap().to_be_bytes());
        }
        let mut t = TcpPacket::new_unchecked(&mut p[ip_len..]);
        t.set_seq_number(seq.wrapping_add((i * usize::from(seg)) as u32));
        if i != last {
            t.set_flags(flags.difference(TcpFlags::FIN).difference(TcpFlags::PSH));
        }
        t.fill_checksum(src, dst, TxChecksum::Full);
        out.push(p);
    }
    out
}

fn tso_pair(faults: Faults) -> Pair {
    let mut p = Pair::new(faults);
    p.a = Stack::new(StackConfig {
        tso_max: 65535,
        ..config(vec![A4, A6], 1)
    });
    p.a_tso = Some(0);
    p
}

#[test]
fn long_segments_split_by_the_device_carry_an_intact_stream_both_families() {
    for (ip_a, ip_b) in [(A4, B4), (A6, B6)] {
        let mut p = tso_pair(Faults {
            delay: Duration::from_millis(5),
            ..Faults::default()
        });
        transfer(&mut p, ip_a, ip_b, 4 << 20);
        let long = p.a_tso.unwrap();
        assert!(long > 0, "no long segment was sent ({ip_a})");
    }
}

#[test]
fn long_segments_survive_a_lossy_link() {
    let mut p = tso_pair(Faults {
        delay: Duration::from_millis(10),
        loss: 0.02,
        reorder: 0.02,
        reorder_delay: Duration::from_millis(3),
        ..Faults::default()
    });
    transfer(&mut p, A4, B4, 1 << 20);
    assert!(p.a_tso.unwrap() > 0);
}

/// Without a splitting device (the default), or on Ethernet, nothing
/// longer than the MTU is ever sent: `Pair::step` asserts it for `a`.
#[test]
fn without_tso_segments_fit_the_mtu() {
    let mut p = Pair::new(Faults::default());
    p.a_tso = Some(0);
    transfer(&mut p, A4, B4, 1 << 20);
    assert_eq!(p.a_tso, Some(0));
    let mut p = Pair::new(Faults::default());
    p.a = Stack::new(StackConfig {
        tso_max: 65535,
        medium: crate::config::Medium::Ethernet(crate::wire::EthernetAddress([2, 0, 0, 0, 0, 1])),
        ..config(vec![A4, A6], 1)
    });
    let mut buf = vec![0u8; 65535];
    let c =
        p.a.tcp_connect(p.now, SocketAddr::new(B4, 80), None)
            .unwrap();
    p.a.tcp_send(c, &[7u8; 100_000]).unwrap();
    while let Some((n, gso)) = p.a.poll_transmit_gso(p.now, &mut buf) {
        assert!(n <= 1514 && gso.is_none());
    }
}
