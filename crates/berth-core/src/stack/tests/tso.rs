//! TCP segmentation offload: a stack whose device splits long segments
//! (`StackConfig::tso_max`) sends them, and the simulator's TSO device
//! ([`crate::sim::Tso`]) splits them as the Linux kernel splits a TSO
//! packet from a TUN device. The other stack must receive an intact stream.

use super::*;
use crate::sim::Tso;
use crate::wire::{TcpFlags, TcpPacket};

fn tso_pair(faults: Faults) -> Pair {
    let mut p = two_stacks(faults);
    p.a = Stack::new(StackConfig {
        tso_max: 65535,
        ..config(vec![A4, A6], 1)
    });
    p.a_tso = Some(Tso::default());
    p
}

/// What `a`'s TSO device did, checked: every long segment split, and
/// nothing longer than the MTU left it.
fn device(p: &Pair) -> Tso {
    let tso = p.a_tso.unwrap();
    assert_eq!(tso.unsplittable, 0, "a long segment that is no TCP segment");
    assert_eq!(tso.oversized, 0, "only split segments may exceed the MTU");
    tso
}

#[test]
fn long_segments_split_by_the_device_carry_an_intact_stream_both_families() {
    for (ip_a, ip_b) in [(A4, B4), (A6, B6)] {
        let mut p = tso_pair(Faults {
            delay: Duration::from_millis(5),
            ..Faults::default()
        });
        transfer(&mut p, ip_a, ip_b, 4 << 20);
        assert!(device(&p).long > 0, "no long segment was sent ({ip_a})");
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
    assert!(device(&p).long > 0);
}

/// Without a splitting device (the default), or on Ethernet, nothing
/// longer than the MTU is ever sent: the TSO device counts it for `a`.
#[test]
fn without_tso_segments_fit_the_mtu() {
    let mut p = two_stacks(Faults::default());
    p.a_tso = Some(Tso::default());
    transfer(&mut p, A4, B4, 1 << 20);
    assert_eq!(device(&p).long, 0);
    let mut p = two_stacks(Faults::default());
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

/// A device that splits segments completes checksums: every TCP segment,
/// however short, leaves with only the pseudo-header sum in its checksum
/// field and the size to split it at, and the device's completion (here
/// berth's own software fallback, as the kernel's) makes it whole, in one
/// piece, unchanged otherwise. Packets other than TCP segments are whole.
#[test]
fn every_tcp_segment_leaves_its_checksum_to_a_device_that_splits() {
    for (ip_a, ip_b) in [(A4, B4), (A6, B6)] {
        let mut p = tso_pair(Faults::default());
        let mut buf = vec![0u8; 65535];
        p.a.tcp_connect(p.now, SocketAddr::new(ip_b, 80), None)
            .unwrap();
        // The SYN: short, and its checksum left undone.
        let (n, gso) = p.a.poll_transmit_gso(p.now, &mut buf).unwrap();
        let seg = gso.expect("a TCP segment carries its split size");
        let ip_len = if ip_a.is_ipv4() { 20 } else { 40 };
        let syn = &buf[ip_len..n];
        assert!(syn.len() < 100, "{}", syn.len());
        assert!(
            !TcpPacket::new_checked(syn)
                .unwrap()
                .verify_checksum(ip_a, ip_b)
        );
        let mut pieces = Vec::new();
        assert_eq!(
            crate::stack::split_tcp_segment(&buf[..n], seg, |piece| pieces.push(piece.to_vec())),
            1
        );
        let whole = &pieces[0];
        assert_eq!(whole.len(), n);
        let tcp = TcpPacket::new_checked(&whole[ip_len..]).unwrap();
        assert!(tcp.verify_checksum(ip_a, ip_b), "completed ({ip_a})");
        assert_eq!(whole[..ip_len + 16], buf[..ip_len + 16]);
        assert_eq!(whole[ip_len + 18..], buf[ip_len + 18..n]);
        // The peer takes it: nothing listens, so it answers with a reset.
        p.b.handle_frame(p.now, whole);
        let m = p.b.poll_transmit(p.now, &mut buf).unwrap();
        let rst = TcpPacket::new_checked(&buf[ip_len..m]).unwrap();
        assert!(rst.flags().contains(TcpFlags::RST), "{ip_a}");
    }
    // A UDP datagram is whole, with no split size.
    let mut p = tso_pair(Faults::default());
    let u = p.a.udp_bind(SocketAddr::new(A4, 5000)).unwrap();
    p.a.udp_send_to(u, b"hello", SocketAddr::new(B4, 7))
        .unwrap();
    let mut buf = vec![0u8; 65535];
    let (_, gso) = p.a.poll_transmit_gso(p.now, &mut buf).unwrap();
    assert_eq!(gso, None);
}

/// Counts a data segment `a` sent, and whether it was a runt: shorter than
/// a full segment (SMSS 1460 less its own options), without PSH or FIN.
pub(super) fn count(counts: &mut Segments, packet: &[u8]) {
    let ip_len = if packet[0] >> 4 == 4 {
        usize::from(packet[0] & 0x0f) * 4
    } else {
        40
    };
    let protocol = if packet[0] >> 4 == 4 {
        packet[9]
    } else {
        packet[6]
    };
    if protocol != 6 {
        return;
    }
    let tcp = TcpPacket::new_checked(&packet[ip_len..]).unwrap();
    let payload = packet.len() - ip_len - usize::from(tcp.header_len());
    if payload > 0 {
        let f = tcp.flags();
        // Full-sized: SMSS (1460) less this segment's options.
        let options = usize::from(tcp.header_len()) - 20;
        let runt =
            payload + options < 1460 && !f.contains(TcpFlags::PSH) && !f.contains(TcpFlags::FIN);
        counts.data += 1;
        counts.runts += usize::from(runt);
    }
}

/// Long segments end on segment boundaries and losses are repaired one
/// segment at a time: TSO sends no runts on a clean link, and on a lossy
/// one hardly any more than plain segments do. (A few are inherent, as in
/// Linux: a segment lost while our header was short goes again at the
/// size the current header leaves, SACK blocks and all, and its last few
/// octets follow alone.)
#[test]
fn long_segments_leave_no_runts() {
    for loss in [0.0, 0.01] {
        let faults = Faults {
            delay: Duration::from_millis(5),
            loss,
            ..Faults::default()
        };
        let mut plain = two_stacks(faults);
        plain.a_tso = Some(Tso::default());
        transfer(&mut plain, A4, B4, 4 << 20);
        let mut tso = tso_pair(faults);
        transfer(&mut tso, A4, B4, 4 << 20);
        device(&plain);
        device(&tso);
        let (plain_segments, plain_runts) = (plain.tap.data, plain.tap.runts);
        let (tso_segments, tso_runts) = (tso.tap.data, tso.tap.runts);
        if loss == 0.0 {
            assert_eq!((plain_runts, tso_runts), (0, 0));
        }
        assert!(
            tso_runts * 100 <= tso_segments && plain_runts * 100 <= plain_segments,
            "loss {loss}: {tso_runts} runts with TSO, {plain_runts} without"
        );
    }
}
