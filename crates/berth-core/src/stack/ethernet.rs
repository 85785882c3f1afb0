//! The Ethernet medium (a TAP device): Ethernet II framing, ARP for IPv4
//! (RFC 826) and Neighbor Discovery's address resolution for IPv6 (RFC 4861
//! section 7), over the [`neighbor`](super::neighbor) cache. The IP layer
//! below is the same as on the raw-IP medium: `handle_ip` and `poll_ip`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::drops::{DropReason, Flow};
use super::neighbor::Lookup;
use super::route;
use super::{Socket, Stack};
use crate::config::Medium;
use crate::time::Instant;
use crate::wire::{
    ArpOperation, ArpPacket, ArpRepr, ChecksumCaps, EtherType, EthernetAddress, EthernetPacket,
    EthernetRepr, Icmpv6Packet, Icmpv6Repr, IpProtocol, Ipv6Packet, Ipv6Repr, NdpNeighborFlags,
};

/// Ethernet II header length.
const ETH: usize = 14;

/// The solicited-node multicast address of `addr` (RFC 4291 section 2.7.1).
pub(super) fn solicited_node(addr: Ipv6Addr) -> Ipv6Addr {
    let o = addr.octets();
    Ipv6Addr::new(
        0xff02,
        0,
        0,
        0,
        0,
        1,
        0xff00 | u16::from(o[13]),
        u16::from_be_bytes([o[14], o[15]]),
    )
}

/// The destination address of an IP packet we built.
fn ip_destination(packet: &[u8]) -> Option<IpAddr> {
    match packet.first()? >> 4 {
        4 => {
            let b: [u8; 4] = packet.get(16..20)?.try_into().ok()?;
            Some(IpAddr::V4(Ipv4Addr::from(b)))
        }
        6 => {
            let b: [u8; 16] = packet.get(24..40)?.try_into().ok()?;
            Some(IpAddr::V6(Ipv6Addr::from(b)))
        }
        _ => None,
    }
}

impl Stack {
    pub(super) fn our_mac(&self) -> Option<EthernetAddress> {
        match self.cfg.medium {
            Medium::Ethernet(mac) => Some(mac),
            Medium::Ip => None,
        }
    }

    pub(super) fn ethernet_input(&mut self, now: Instant, frame: &[u8]) {
        let Some(our_mac) = self.our_mac() else {
            return;
        };
        let Ok(packet) = EthernetPacket::new_checked(frame) else {
            self.dropped(DropReason::LinkMalformed, Flow::Unknown);
            return;
        };
        let dst = packet.dst_addr();
        if dst != our_mac && !dst.is_multicast() {
            self.dropped(DropReason::NotForUs, Flow::Unknown);
            return;
        }
        // A group's frame only if we listen to a group that maps to it
        // (what a NIC's multicast filter would pass).
        if dst.is_multicast() && !self.accepts_group_mac(dst) {
            self.dropped(DropReason::MulticastNotJoined, Flow::Unknown);
            return;
        }
        match packet.ethertype() {
            EtherType::Arp => self.arp_input(now, packet.payload()),
            EtherType::Ipv4 | EtherType::Ipv6 => self.handle_ip(now, packet.payload()),
            EtherType::Unknown(_) => self.dropped(DropReason::UnknownProtocol, Flow::Unknown),
        }
    }

    fn arp_input(&mut self, now: Instant, bytes: &[u8]) {
        let Some(our_mac) = self.our_mac() else {
            return;
        };
        let Ok(packet) = ArpPacket::new_checked(bytes) else {
            self.dropped(DropReason::LinkMalformed, Flow::Unknown);
            return;
        };
        let Ok(ArpRepr::EthernetIpv4 {
            operation,
            source_hardware_addr,
            source_protocol_addr,
            target_protocol_addr,
            ..
        }) = ArpRepr::parse(&packet)
        else {
            self.dropped(DropReason::LinkMalformed, Flow::Unknown);
            return;
        };
        let for_us = self.is_own(IpAddr::V4(target_protocol_addr));
        //= https://www.rfc-editor.org/rfc/rfc826
        //# If the pair <protocol type, sender protocol address> is
        //# already in my translation table, update the sender
        //# hardware address field of the entry with the new
        //# information in the packet and set Merge_flag to true.
        //# ?Am I the target protocol address?
        //# Yes:
        //#   If Merge_flag is false, add the triplet <protocol type,
        //#       sender protocol address, sender hardware address> to
        //#       the translation table.
        let waiting = self.neighbors.learn(
            now,
            IpAddr::V4(source_protocol_addr),
            source_hardware_addr,
            for_us,
        );
        self.flush_waiting(waiting, source_hardware_addr);
        //#   ?Is the opcode ares_op$REQUEST?  (NOW look at the opcode!!)
        //#   Yes:
        //#     Swap hardware and protocol fields, putting the local
        //#         hardware and protocol addresses in the sender fields.
        //#     Set the ar$op field to ares_op$REPLY
        //#     Send the packet to the (new) target hardware address on
        //#         the same hardware on which the request was received.
        if for_us && operation == ArpOperation::Request {
            self.stats.arp_replies += 1;
            let reply = ArpRepr::EthernetIpv4 {
                operation: ArpOperation::Reply,
                source_hardware_addr: our_mac,
                source_protocol_addr: target_protocol_addr,
                target_hardware_addr: source_hardware_addr,
                target_protocol_addr: source_protocol_addr,
            };
            self.push_arp(source_hardware_addr, &reply);
        }
    }

    fn push_arp(&mut self, to: EthernetAddress, repr: &ArpRepr) {
        let Some(our_mac) = self.our_mac() else {
            return;
        };
        let mut frame = vec![0u8; ETH + repr.buffer_len()];
        let eth = EthernetRepr {
            src_addr: our_mac,
            dst_addr: to,
            ethertype: EtherType::Arp,
        };
        let mut packet = EthernetPacket::new_unchecked(&mut frame[..]);
        eth.emit(&mut packet);
        repr.emit(&mut ArpPacket::new_unchecked(packet.payload_mut()));
        self.link_out.push_back(frame);
    }

    /// Sends the packets that waited for `mac`.
    fn flush_waiting(&mut self, packets: Vec<Vec<u8>>, mac: EthernetAddress) {
        let Some(our_mac) = self.our_mac() else {
            return;
        };
        for ip in packets {
            let ethertype = if ip.first().is_some_and(|b| b >> 4 == 6) {
                EtherType::Ipv6
            } else {
                EtherType::Ipv4
            };
            let mut frame = vec![0u8; ETH + ip.len()];
            let mut packet = EthernetPacket::new_unchecked(&mut frame[..]);
            EthernetRepr {
                src_addr: our_mac,
                dst_addr: mac,
                ethertype,
            }
            .emit(&mut packet);
            packet.payload_mut().copy_from_slice(&ip);
            self.link_out.push_back(frame);
        }
    }

    /// Asks who has `ip`: an ARP request, or a Neighbor Solicitation to the
    /// solicited-node group (RFC 4861 section 7.2.2).
    pub(super) fn solicit(&mut self, ip: IpAddr) {
        let Some(our_mac) = self.our_mac() else {
            return;
        };
        let Some(src) = self.source_for(ip) else {
            return;
        };
        self.stats.neighbor_solicits += 1;
        match (src, ip) {
            (IpAddr::V4(src), IpAddr::V4(target)) => {
                let req = ArpRepr::EthernetIpv4 {
                    operation: ArpOperation::Request,
                    source_hardware_addr: our_mac,
                    source_protocol_addr: src,
                    target_hardware_addr: EthernetAddress([0; 6]),
                    target_protocol_addr: target,
                };
                self.push_arp(EthernetAddress::BROADCAST, &req);
            }
            (IpAddr::V6(src), IpAddr::V6(target)) => {
                let group = solicited_node(target);
                let ns = Icmpv6Repr::NeighborSolicit {
                    target_addr: target,
                    lladdr: Some(our_mac.0),
                };
                let mac = EthernetAddress::from_ipv6_multicast(group)
                    .unwrap_or(EthernetAddress::BROADCAST);
                self.push_ndp(src, group, mac, &ns);
            }
            _ => {}
        }
    }

    /// An NDP message in an IPv6 packet to `dst_mac`, hop limit 255.
    fn push_ndp(
        &mut self,
        src: Ipv6Addr,
        dst: Ipv6Addr,
        dst_mac: EthernetAddress,
        repr: &Icmpv6Repr<'_>,
    ) {
        let Some(our_mac) = self.our_mac() else {
            return;
        };
        let icmp_len = repr.buffer_len();
        let ip = Ipv6Repr {
            src_addr: src,
            dst_addr: dst,
            next_header: IpProtocol::Icmpv6,
            payload_len: icmp_len,
            hop_limit: 255,
            traffic_class: 0,
            flow_label: 0,
        };
        let mut frame = vec![0u8; ETH + 40 + icmp_len];
        let mut eth = EthernetPacket::new_unchecked(&mut frame[..]);
        EthernetRepr {
            src_addr: our_mac,
            dst_addr: dst_mac,
            ethertype: EtherType::Ipv6,
        }
        .emit(&mut eth);
        let payload = eth.payload_mut();
        ip.emit(&mut Ipv6Packet::new_unchecked(&mut payload[..40]));
        repr.emit(
            &mut Icmpv6Packet::new_unchecked(&mut payload[40..]),
            src,
            dst,
            ChecksumCaps::FULL,
        );
        self.link_out.push_back(frame);
    }

    /// Neighbor Solicitation and Advertisement (RFC 4861 section 7.2).
    pub(super) fn ndp_input(
        &mut self,
        now: Instant,
        src: Ipv6Addr,
        hop_limit: u8,
        repr: &Icmpv6Repr<'_>,
    ) {
        let Some(our_mac) = self.our_mac() else {
            return;
        };
        //= https://www.rfc-editor.org/rfc/rfc4861#section-7.1.1
        //# - The IP Hop Limit field has a value of 255, i.e., the packet
        //#   could not possibly have been forwarded by a router.
        if hop_limit != 255 {
            self.dropped(DropReason::LinkMalformed, Flow::Unknown);
            return;
        }
        match *repr {
            Icmpv6Repr::NeighborSolicit {
                target_addr,
                lladdr,
            } => {
                if !self.is_own(IpAddr::V6(target_addr)) {
                    return;
                }
                if let (Some(mac), false) = (lladdr, src.is_unspecified()) {
                    let waiting =
                        self.neighbors
                            .learn(now, IpAddr::V6(src), EthernetAddress(mac), true);
                    self.flush_waiting(waiting, EthernetAddress(mac));
                }
                //= https://www.rfc-editor.org/rfc/rfc4861#section-7.2.4
                //# If the source of the solicitation is the unspecified address, the
                //# node MUST set the Solicited flag to zero and multicast the
                //# advertisement to the all-nodes address.
                let (dst, dst_mac, solicited) = match (src.is_unspecified(), lladdr) {
                    (true, _) | (false, None) => {
                        let all = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
                        (
                            all,
                            EthernetAddress::from_ipv6_multicast(all)
                                .unwrap_or(EthernetAddress::BROADCAST),
                            !src.is_unspecified(),
                        )
                    }
                    (false, Some(mac)) => (src, EthernetAddress(mac), true),
                };
                let na = Icmpv6Repr::NeighborAdvert {
                    flags: NdpNeighborFlags {
                        router: false,
                        solicited,
                        r#override: true,
                    },
                    target_addr,
                    lladdr: Some(our_mac.0),
                };
                self.stats.neighbor_adverts += 1;
                self.push_ndp(target_addr, dst, dst_mac, &na);
            }
            Icmpv6Repr::NeighborAdvert {
                target_addr,
                lladdr: Some(mac),
                ..
            } => {
                //= https://www.rfc-editor.org/rfc/rfc4861#section-7.2.5
                //# If no entry exists, the advertisement SHOULD be silently discarded.
                let waiting =
                    self.neighbors
                        .learn(now, IpAddr::V6(target_addr), EthernetAddress(mac), false);
                self.flush_waiting(waiting, EthernetAddress(mac));
            }
            _ => {}
        }
    }

    /// The Ethernet medium's `poll_transmit`: link frames first, then IP
    /// packets whose next hop is resolved; the others wait in the cache.
    pub(super) fn ethernet_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<usize> {
        let our_mac = self.our_mac()?;
        loop {
            if let Some(frame) = self.link_out.pop_front() {
                let Some(out) = buf.get_mut(..frame.len()) else {
                    continue;
                };
                out.copy_from_slice(&frame);
                self.stats.frames_out += 1;
                return Some(frame.len());
            }
            let n = self.poll_ip(now, buf.get_mut(ETH..)?)?;
            let packet = buf.get(ETH..ETH + n)?;
            let dst = ip_destination(packet)?;
            let ethertype = if dst.is_ipv4() {
                EtherType::Ipv4
            } else {
                EtherType::Ipv6
            };
            let mac = match dst {
                IpAddr::V6(d) if d.is_multicast() => EthernetAddress::from_ipv6_multicast(d),
                IpAddr::V4(d) if d.is_multicast() => EthernetAddress::from_ipv4_multicast(d),
                IpAddr::V4(d) if d.is_broadcast() => Some(EthernetAddress::BROADCAST),
                _ => match self.neighbors.resolve(
                    now,
                    route::next_hop(&self.cfg.routes, dst),
                    packet,
                ) {
                    Lookup::Known(mac) => Some(mac),
                    Lookup::Queued { probe } => {
                        if probe {
                            self.solicit(route::next_hop(&self.cfg.routes, dst));
                        }
                        None
                    }
                },
            };
            let Some(mac) = mac else { continue };
            // `poll_ip` counted the frame already.
            let mut frame = EthernetPacket::new_unchecked(buf.get_mut(..ETH + n)?);
            EthernetRepr {
                src_addr: our_mac,
                dst_addr: mac,
                ethertype,
            }
            .emit(&mut frame);
            return Some(ETH + n);
        }
    }

    /// Resolution timeouts: solicit again, or give up.
    pub(super) fn neighbor_timeout(&mut self, now: Instant) {
        // Nothing unresolved is due (always so on the IP medium).
        if self.neighbors.poll_at().is_none_or(|at| at > now) {
            return;
        }
        let (again, failed) = self.neighbors.on_timeout(now);
        for ip in again {
            self.solicit(ip);
        }
        for ip in failed {
            self.neighbor_unreachable(ip);
        }
    }

    /// Neighbour `hop` never answered: the connections that go through it
    /// hear of it as of an ICMP host unreachable (Linux's
    /// `arp_error_report` sends one to the socket): a connect fails with
    /// `HostUnreachable`, an open connection keeps it as a soft error.
    fn neighbor_unreachable(&mut self, hop: IpAddr) {
        let through: Vec<_> = self
            .sockets
            .handles()
            .filter(|&h| {
                let remote = match self.sockets.get(h) {
                    Some(Socket::Tcp(t)) => t.conn.remote(),
                    // A soft error it would only keep, unread.
                    Some(Socket::TimeWait(tw)) => tw.conn.remote(),
                    _ => return false,
                };
                route::next_hop(&self.cfg.routes, remote.ip()) == hop
            })
            .collect();
        for h in through {
            if let Some(Socket::Tcp(t)) = self.sockets.get_mut(h) {
                t.conn
                    .on_icmp_unreachable(crate::tcp::ConnError::HostUnreachable);
            }
            self.after_tcp_change(h);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solicited_node_address() {
        let a: Ipv6Addr = "2001:2::1234:5678".parse().unwrap();
        assert_eq!(
            solicited_node(a),
            "ff02::1:ff34:5678".parse::<Ipv6Addr>().unwrap()
        );
    }
}
