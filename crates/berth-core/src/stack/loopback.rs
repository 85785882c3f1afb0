//! Loopback: every stack is also the host 127.0.0.0/8 and ::1 (Linux's
//! `lo`), and a packet to one of its own addresses never reaches the
//! device. Such packets are taken from the output path as they are made
//! (`poll_ip`) and handed straight to the input path, through the same IP,
//! TCP and UDP code as any other, with no checksum to verify (Linux's
//! loopback has `CHECKSUM_UNNECESSARY`). A packet from the device to a
//! loopback address is a martian and is dropped (`accepts_dst`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::Stack;
use crate::time::Instant;

/// The source for a packet from this host to `local`, one of its own
/// addresses: a loopback destination is reached from the loopback
/// address of its family, one of the stack's addresses from itself.
pub(super) fn source_for_local(local: IpAddr) -> IpAddr {
    match local {
        IpAddr::V4(v4) if v4.is_loopback() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_loopback() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        other => other,
    }
}

/// The destination of an IP packet, if it parses that far.
fn destination(packet: &[u8]) -> Option<IpAddr> {
    match packet.first()? >> 4 {
        4 => {
            let d: [u8; 4] = packet.get(16..20)?.try_into().ok()?;
            Some(IpAddr::V4(Ipv4Addr::from(d)))
        }
        6 => {
            let d: [u8; 16] = packet.get(24..40)?.try_into().ok()?;
            Some(IpAddr::V6(Ipv6Addr::from(d)))
        }
        _ => None,
    }
}

impl Stack {
    /// Whether a packet from `src` (ours) may go to `dst`: a loopback
    /// source never leaves the host, since no answer could come back to it
    /// (Linux refuses it with EINVAL in `__mkroute_output`).
    pub(super) fn may_send_from(&self, src: IpAddr, dst: IpAddr) -> bool {
        !src.is_loopback() || self.is_local(dst)
    }

    /// If `packet` (just made for output) is for this host, takes it in
    /// and returns true; otherwise it is for the device.
    pub(super) fn loop_back(&mut self, now: Instant, packet: &[u8]) -> bool {
        let Some(dst) = destination(packet) else {
            return false;
        };
        if !self.is_local(dst) {
            return false;
        }
        self.stats.loopback_packets += 1;
        // It never went out.
        self.stats.frames_out = self.stats.frames_out.saturating_sub(1);
        // A TCP segment of a stack whose device splits segments (TSO),
        // long or not, is taken whole: it never meets a wire, and its
        // checksum holds only the pseudo-header sum.
        self.last_gso = None;
        let packet = packet.to_vec();
        self.rx_loopback = true;
        self.rx_csum_trusted = true;
        self.handle_ip(now, &packet);
        self.rx_csum_trusted = false;
        self.rx_loopback = false;
        true
    }
}
