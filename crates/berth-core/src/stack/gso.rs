//! Segmentation in software of the long TCP segments that
//! [`Stack::poll_transmit_gso`](super::Stack::poll_transmit_gso) produces
//! for a device that splits them (TSO): what the Linux kernel does with
//! such a packet (`tcp_gso_segment`), for a device that turns out unable
//! to. Each piece gets its share of the payload, its sequence number, FIN
//! and PSH only on the last, its own IP length (and IPv4 identification
//! and header checksum) and a full TCP checksum. No RFC beyond TCP's and
//! IP's header rules (RFC 9293 3.1, RFC 791 3.1, RFC 8200 3).

use std::net::IpAddr;

use crate::wire::{Ipv4Packet, Ipv6Packet, TcpFlags, TcpPacket, TxChecksum};

/// Splits `packet`, an IPv4 or IPv6 packet (no extension headers) holding
/// one TCP segment whose checksum field holds the pseudo-header sum, into
/// segments of at most `seg_payload` bytes of payload, and hands each to
/// `emit`. Returns how many it emitted; 0 when `packet` is not such a
/// segment (nothing is emitted then).
pub fn split_tcp_segment(packet: &[u8], seg_payload: u16, mut emit: impl FnMut(&[u8])) -> usize {
    let Some(parts) = Parts::of(packet) else {
        return 0;
    };
    let seg = usize::from(seg_payload.max(1));
    let payload = packet.get(parts.headers..).unwrap_or_default();
    let count = payload.len().div_ceil(seg).max(1);
    let mut piece = Vec::with_capacity(parts.headers + seg);
    for i in 0..count {
        let data = payload
            .get(i * seg..((i + 1) * seg).min(payload.len()))
            .unwrap_or_default();
        piece.clear();
        piece.extend_from_slice(packet.get(..parts.headers).unwrap_or_default());
        piece.extend_from_slice(data);
        if parts.rewrite(&mut piece, i, seg, i + 1 == count).is_none() {
            return i;
        }
        emit(&piece);
    }
    count
}

/// Where the headers of a long segment end, and what each piece copies.
struct Parts {
    ip_len: usize,
    headers: usize,
    src: IpAddr,
    dst: IpAddr,
    seq: u32,
    flags: TcpFlags,
}

impl Parts {
    fn of(packet: &[u8]) -> Option<Self> {
        let (ip_len, src, dst) = match packet.first()? >> 4 {
            4 => {
                let ip = Ipv4Packet::new_checked(packet).ok()?;
                (ip.header_len(), ip.src_addr().into(), ip.dst_addr().into())
            }
            6 => {
                let ip = Ipv6Packet::new_checked(packet).ok()?;
                (40, ip.src_addr().into(), ip.dst_addr().into())
            }
            _ => return None,
        };
        let tcp = TcpPacket::new_checked(packet.get(ip_len..)?).ok()?;
        Some(Self {
            ip_len,
            headers: ip_len + usize::from(tcp.header_len()),
            src,
            dst,
            seq: tcp.seq_number(),
            flags: tcp.flags(),
        })
    }

    /// Makes piece `i` (of `seg`-byte payloads) a whole packet.
    fn rewrite(&self, piece: &mut [u8], i: usize, seg: usize, last: bool) -> Option<()> {
        let total = u16::try_from(piece.len()).ok()?;
        let ip_payload = u16::try_from(piece.len() - self.ip_len).ok()?;
        if matches!(self.src, IpAddr::V4(_)) {
            let mut ip = Ipv4Packet::new_unchecked(piece.get_mut(..self.ip_len)?);
            ip.set_total_len(total);
            let ident = ip.ident().wrapping_add(u16::try_from(i % 65536).ok()?);
            ip.set_ident(ident);
            ip.fill_checksum();
        } else {
            piece
                .get_mut(4..6)?
                .copy_from_slice(&ip_payload.to_be_bytes());
        }
        let mut tcp = TcpPacket::new_unchecked(piece.get_mut(self.ip_len..)?);
        let offset = u32::try_from(i.checked_mul(seg)?).ok()?;
        tcp.set_seq_number(self.seq.wrapping_add(offset));
        if !last {
            tcp.set_flags(
                self.flags
                    .difference(TcpFlags::FIN)
                    .difference(TcpFlags::PSH),
            );
        }
        tcp.fill_checksum(self.src, self.dst, TxChecksum::Full);
        Some(())
    }
}
