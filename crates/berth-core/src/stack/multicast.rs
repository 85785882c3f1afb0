//! Multicast reception and sending (RFC 1112 for IPv4, RFC 4291 section
//! 2.7 for IPv6): the groups this host listens to, the sockets that joined
//! them, and what happens to a datagram sent to or received for a group.
//!
//! Membership is the stack's (its one interface's, as on Linux): a group
//! is joined while at least one socket has joined it, and a datagram to a
//! joined group goes to every UDP socket bound to its port, whether that
//! socket joined or not (Linux's default, `IP_MULTICAST_ALL`). Joining and
//! leaving tell the routers on the link with IGMPv3 and MLDv2 Reports, and
//! Queries are answered (`membership.rs`). The all-systems group
//! 224.0.0.1 and the all-nodes group ff02::1 are always listened to, and
//! never reported.
//!
//! A datagram a socket sends to a group this host joined is also delivered
//! here (`IP_MULTICAST_LOOP`, on by default): a copy goes through the input
//! path, the way `loopback.rs` takes packets to our own addresses, while
//! the packet itself goes out of the device. Such datagrams leave with a
//! TTL of 1 unless the socket says otherwise (`IP_MULTICAST_TTL`; IPv6's
//! hop limit stays 1, Linux's `IPV6_MULTICAST_HOPS` default).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::drops::{DropReason, Flow};
use super::{Readiness, Socket, SocketError, Stack};
use crate::handle::SocketHandle;
use crate::time::{Duration, Instant, earliest};
use crate::wire::{EthernetAddress, UdpRepr, icmpv6::mld, igmp};

/// RFC 3376 section 8.1 and RFC 3810 section 9.1: the Robustness Variable's
/// default, 2: a State-Change Report goes out twice.
pub(super) const ROBUSTNESS: u8 = 2;

/// RFC 3376 section 8.11 and RFC 3810 section 9.11: the Unsolicited Report
/// Interval's default, 1 second.
pub(super) const UNSOLICITED_REPORT_INTERVAL: Duration = Duration::from_secs(1);

/// Groups one socket may join: Linux's `igmp_max_memberships` default (its
/// IPv6 sockets are bounded by `optmem_max` instead; berth bounds both
/// alike). One more is `LimitReached` (Linux: ENOBUFS).
pub(super) const MAX_GROUPS_PER_SOCKET: usize = 20;

/// Linux's default `IP_MULTICAST_TTL`: 1, "multicast packets don't leave
/// the local network unless the user program explicitly requests it"
/// (ip(7)).
const DEFAULT_MULTICAST_TTL: u8 = 1;

/// Linux's `IPV6_MULTICAST_HOPS` default, 1 (ipv6(7)); std has no setter.
const MULTICAST_HOPS_V6: u8 = 1;

/// Bound on multicast copies waiting to be taken back in.
const MAX_LOOPED: usize = 1024;

/// Which family's timers: 0 for IPv4 (IGMP), 1 for IPv6 (MLD).
pub(super) fn family(ip: IpAddr) -> usize {
    usize::from(ip.is_ipv6())
}

/// Whether joining `group` is told to the routers. Never for the
/// all-systems or all-nodes groups, nor for IPv6 scopes 0 and 1; berth
/// does not report the rest of 224.0.0.0/24 either (link-local groups
/// that switches flood anyway, RFC 4541 section 2.1.2), as Linux did
/// before 4.2 and does with `igmp_link_local_mcast_reports` off.
pub(super) fn reportable(group: IpAddr) -> bool {
    match group {
        //= https://www.rfc-editor.org/rfc/rfc3376#section-5
        //# No IGMP
        //# messages are ever sent regarding the all-systems multicast address.
        IpAddr::V4(g) => g.is_multicast() && g.octets()[..3] != [224, 0, 0],
        //= https://www.rfc-editor.org/rfc/rfc3810#section-6
        //# No MLD
        //# messages are ever sent regarding neither the link-scope all-nodes
        //# multicast address, nor any multicast address of scope 0 (reserved) or
        //# 1 (node-local).
        IpAddr::V6(g) => g.is_multicast() && g != mld::ALL_NODES && g.octets()[1] & 0x0f > 1,
    }
}

/// One group this host listens to, or just left (while its leave is
/// retransmitted).
#[derive(Debug, Default)]
pub(super) struct Group {
    /// Sockets that joined it; 0 once the last one left.
    pub(super) sockets: usize,
    /// State-Change Reports about it still to send.
    pub(super) changes_left: u8,
    /// When the answer to a Group-Specific Query is due.
    pub(super) query_at: Option<Instant>,
}

/// The groups of the stack and the timers of their Reports.
#[derive(Debug, Default)]
pub(super) struct Groups {
    pub(super) groups: BTreeMap<IpAddr, Group>,
    /// Per family: when the next State-Change Report retransmission is due
    /// (RFC 3376 section 5.1's per-interface timer).
    pub(super) change_at: [Option<Instant>; 2],
    /// Per family: when the answer to a General Query is due.
    pub(super) general_at: [Option<Instant>; 2],
}

impl Groups {
    /// Whether a socket of this host has joined `group`.
    pub(super) fn is_joined(&self, group: IpAddr) -> bool {
        self.groups.get(&group).is_some_and(|g| g.sockets > 0)
    }

    /// The joined groups, in order.
    pub(super) fn joined(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.groups
            .iter()
            .filter(|(_, g)| g.sockets > 0)
            .map(|(ip, _)| *ip)
    }

    /// One more socket in `group`; whether it is the first.
    fn join(&mut self, group: IpAddr) -> bool {
        let g = self.groups.entry(group).or_default();
        g.sockets += 1;
        g.sockets == 1
    }

    /// One socket fewer in `group`; whether it was the last. The entry
    /// stays for its leave to be reported; `prune` removes it after.
    fn leave(&mut self, group: IpAddr) -> bool {
        let Some(g) = self.groups.get_mut(&group) else {
            return false;
        };
        g.sockets = g.sockets.saturating_sub(1);
        if g.sockets > 0 {
            return false;
        }
        g.query_at = None;
        true
    }

    /// Forgets the groups left whose Reports are all sent.
    pub(super) fn prune(&mut self) {
        self.groups
            .retain(|_, g| g.sockets > 0 || g.changes_left > 0 || g.query_at.is_some());
    }

    /// The earliest Report timer.
    pub(super) fn poll_at(&self) -> Option<Instant> {
        let interface = earliest(
            earliest(self.change_at[0], self.change_at[1]),
            earliest(self.general_at[0], self.general_at[1]),
        );
        // No group joined: the common case, asked at every step.
        if self.groups.is_empty() {
            return interface;
        }
        self.groups
            .values()
            .fold(interface, |at, g| earliest(at, g.query_at))
    }
}

/// A UDP socket's multicast state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SocketMulticast {
    /// The groups it joined.
    groups: Vec<IpAddr>,
    /// `IP_MULTICAST_LOOP`.
    loop_v4: bool,
    /// `IPV6_MULTICAST_LOOP`.
    loop_v6: bool,
    /// `IP_MULTICAST_TTL`.
    ttl: u8,
}

impl Default for SocketMulticast {
    fn default() -> Self {
        Self {
            groups: Vec::new(),
            // ip(7), ipv6(7): both loops default to on.
            loop_v4: true,
            loop_v6: true,
            ttl: DEFAULT_MULTICAST_TTL,
        }
    }
}

impl SocketMulticast {
    /// Whether datagrams to `group` are also delivered to this host.
    pub(super) fn loops(&self, group: IpAddr) -> bool {
        if group.is_ipv4() {
            self.loop_v4
        } else {
            self.loop_v6
        }
    }

    /// The TTL or hop limit of datagrams to `group`.
    pub(super) fn ttl(&self, group: IpAddr) -> u8 {
        if group.is_ipv4() {
            self.ttl
        } else {
            MULTICAST_HOPS_V6
        }
    }
}

impl Stack {
    fn udp_multicast(&mut self, h: SocketHandle) -> Result<&mut SocketMulticast, SocketError> {
        match self.sockets.get_mut(h) {
            Some(Socket::Udp(u)) => Ok(&mut u.mcast),
            _ => Err(SocketError::InvalidHandle),
        }
    }

    /// Joins `group` on the interface whose address is `interface`
    /// (`IP_ADD_MEMBERSHIP`): unspecified for the stack's device, else one
    /// of its IPv4 addresses. `InvalidInput` unless `group` is multicast,
    /// `AddrInUse` if this socket joined it already, `AddrNotAvailable`
    /// for an interface address that is not the stack's (Linux: ENODEV),
    /// `LimitReached` past 20 groups on one socket. The first socket to
    /// join a group sends an IGMPv3 State-Change Report.
    pub fn udp_join_multicast_v4(
        &mut self,
        now: Instant,
        h: SocketHandle,
        group: Ipv4Addr,
        interface: Ipv4Addr,
    ) -> Result<(), SocketError> {
        if !group.is_multicast() {
            return Err(SocketError::InvalidInput);
        }
        self.v4_interface(interface)?;
        self.join(now, h, IpAddr::V4(group))
    }

    /// Leaves `group` (`IP_DROP_MEMBERSHIP`): `AddrNotAvailable` if this
    /// socket has not joined it (Linux's EADDRNOTAVAIL, also for an
    /// address that is not multicast). The last socket to leave sends an
    /// IGMPv3 State-Change Report.
    pub fn udp_leave_multicast_v4(
        &mut self,
        now: Instant,
        h: SocketHandle,
        group: Ipv4Addr,
        interface: Ipv4Addr,
    ) -> Result<(), SocketError> {
        self.v4_interface(interface)?;
        self.leave(now, h, IpAddr::V4(group))
    }

    /// Joins `group` on interface `interface` (`IPV6_JOIN_GROUP`): 0 for
    /// the stack's device, which has no other index (another is
    /// `AddrNotAvailable`; Linux: ENODEV). Errors otherwise as
    /// [`Stack::udp_join_multicast_v4`]; an IPv4 socket cannot join an
    /// IPv6 group (`InvalidInput`; Linux: ENOPROTOOPT). The first socket to
    /// join sends an MLDv2 Report.
    pub fn udp_join_multicast_v6(
        &mut self,
        now: Instant,
        h: SocketHandle,
        group: Ipv6Addr,
        interface: u32,
    ) -> Result<(), SocketError> {
        if !group.is_multicast() || self.udp_local(h)?.is_ipv4() {
            return Err(SocketError::InvalidInput);
        }
        if interface != 0 {
            return Err(SocketError::AddrNotAvailable);
        }
        self.join(now, h, IpAddr::V6(group))
    }

    /// Leaves `group` (`IPV6_LEAVE_GROUP`): `InvalidInput` for an address
    /// that is not multicast, `AddrNotAvailable` for a group this socket
    /// has not joined (both as Linux).
    pub fn udp_leave_multicast_v6(
        &mut self,
        now: Instant,
        h: SocketHandle,
        group: Ipv6Addr,
        interface: u32,
    ) -> Result<(), SocketError> {
        if !group.is_multicast() || self.udp_local(h)?.is_ipv4() {
            return Err(SocketError::InvalidInput);
        }
        if interface != 0 {
            return Err(SocketError::AddrNotAvailable);
        }
        self.leave(now, h, IpAddr::V6(group))
    }

    /// The groups this host listens to because sockets joined them.
    pub fn multicast_groups(&self) -> Vec<IpAddr> {
        self.groups.joined().collect()
    }

    /// Sets `IP_MULTICAST_LOOP` (`v6`: `IPV6_MULTICAST_LOOP`): whether the
    /// socket's datagrams to a group this host joined are delivered here
    /// too (on by default).
    pub fn udp_set_multicast_loop(
        &mut self,
        h: SocketHandle,
        v6: bool,
        on: bool,
    ) -> Result<(), SocketError> {
        let m = self.udp_multicast(h)?;
        if v6 {
            m.loop_v6 = on;
        } else {
            m.loop_v4 = on;
        }
        Ok(())
    }

    /// `IP_MULTICAST_LOOP` (`v6`: `IPV6_MULTICAST_LOOP`).
    pub fn udp_multicast_loop(&mut self, h: SocketHandle, v6: bool) -> Result<bool, SocketError> {
        let m = self.udp_multicast(h)?;
        Ok(if v6 { m.loop_v6 } else { m.loop_v4 })
    }

    /// Sets `IP_MULTICAST_TTL`, the TTL of the socket's IPv4 datagrams to a
    /// group: 0 to 255 (0: only this host's own sockets get them, through
    /// the loop), `u32::MAX` (C's -1) for the default 1, anything else
    /// `InvalidInput`, as Linux.
    pub fn udp_set_multicast_ttl(&mut self, h: SocketHandle, ttl: u32) -> Result<(), SocketError> {
        let ttl = match ttl {
            u32::MAX => DEFAULT_MULTICAST_TTL,
            t => u8::try_from(t).map_err(|_| SocketError::InvalidInput)?,
        };
        self.udp_multicast(h)?.ttl = ttl;
        Ok(())
    }

    /// `IP_MULTICAST_TTL` (1 unless set).
    pub fn udp_multicast_ttl(&mut self, h: SocketHandle) -> Result<u32, SocketError> {
        Ok(u32::from(self.udp_multicast(h)?.ttl))
    }

    fn v4_interface(&self, interface: Ipv4Addr) -> Result<(), SocketError> {
        if interface.is_unspecified() || self.is_own(IpAddr::V4(interface)) {
            Ok(())
        } else {
            Err(SocketError::AddrNotAvailable)
        }
    }

    fn join(&mut self, now: Instant, h: SocketHandle, group: IpAddr) -> Result<(), SocketError> {
        let m = self.udp_multicast(h)?;
        if m.groups.contains(&group) {
            return Err(SocketError::AddrInUse);
        }
        if m.groups.len() >= MAX_GROUPS_PER_SOCKET {
            return Err(SocketError::LimitReached);
        }
        m.groups.push(group);
        tracing::debug!(%group, "multicast group joined");
        if self.groups.join(group) && reportable(group) {
            self.state_change(now, group);
        }
        Ok(())
    }

    fn leave(&mut self, now: Instant, h: SocketHandle, group: IpAddr) -> Result<(), SocketError> {
        let m = self.udp_multicast(h)?;
        let Some(i) = m.groups.iter().position(|&g| g == group) else {
            return Err(SocketError::AddrNotAvailable);
        };
        m.groups.swap_remove(i);
        tracing::debug!(%group, "multicast group left");
        self.group_left(now, group);
        Ok(())
    }

    /// A closing socket leaves its groups, as Linux's close does.
    pub(super) fn leave_all(&mut self, now: Instant, h: SocketHandle) {
        let groups = match self.udp_multicast(h) {
            Ok(m) => std::mem::take(&mut m.groups),
            Err(_) => return,
        };
        for group in groups {
            self.group_left(now, group);
        }
    }

    /// A socket left `group`: if it was the last, the host leaves too.
    fn group_left(&mut self, now: Instant, group: IpAddr) {
        if self.groups.leave(group) && reportable(group) {
            self.state_change(now, group);
        }
        self.groups.prune();
    }

    /// Whether this host listens to `ip`, a multicast address: a group a
    /// socket joined, the all-systems or all-nodes group, or (Ethernet,
    /// where Neighbor Discovery runs) the solicited-node group of one of
    /// its IPv6 addresses.
    pub(super) fn is_our_multicast(&self, ip: IpAddr) -> bool {
        if !ip.is_multicast() {
            return false;
        }
        //= https://www.rfc-editor.org/rfc/rfc3376#section-5
        //# On all systems -- that is all hosts and routers, including
        //# multicast routers -- reception of packets destined to the all-systems
        //# multicast address, from all sources, is permanently enabled on all
        //# interfaces on which multicast reception is supported.
        ip == IpAddr::V4(igmp::ALL_SYSTEMS)
            || ip == IpAddr::V6(mld::ALL_NODES)
            || self.groups.is_joined(ip)
            || (self.our_mac().is_some()
                && self.cfg.addrs.iter().any(
                    |a| matches!((a, ip), (IpAddr::V6(a), IpAddr::V6(ip)) if super::ethernet::solicited_node(*a) == ip),
                ))
    }

    /// Whether a frame to the Ethernet group `mac` is for this host: one
    /// that a group it listens to maps to (RFC 1112 section 6.4, RFC 2464
    /// section 7), or the broadcast address.
    pub(super) fn accepts_group_mac(&self, mac: EthernetAddress) -> bool {
        let v4 = |g: Ipv4Addr| EthernetAddress::from_ipv4_multicast(g) == Some(mac);
        let v6 = |g: Ipv6Addr| EthernetAddress::from_ipv6_multicast(g) == Some(mac);
        mac.is_broadcast()
            || v4(igmp::ALL_SYSTEMS)
            || v6(mld::ALL_NODES)
            || self.cfg.addrs.iter().any(|a| match a {
                IpAddr::V6(a) => v6(super::ethernet::solicited_node(*a)),
                IpAddr::V4(_) => false,
            })
            || self.groups.joined().any(|g| match g {
                IpAddr::V4(g) => v4(g),
                IpAddr::V6(g) => v6(g),
            })
    }

    /// The packets just queued from `from` on (one datagram, perhaps in
    /// fragments) went to `group`: copies come back in if the socket loops
    /// and this host joined the group, and with a TTL of 0 they never
    /// leave the host (Linux's `ip_mc_output`).
    pub(super) fn multicast_sent(&mut self, from: usize, group: IpAddr, looped: bool, ttl: u8) {
        if looped && self.groups.is_joined(group) {
            for (packet, start) in self.out.range(from..) {
                if self.mcast_loop.len() >= MAX_LOOPED {
                    break;
                }
                self.mcast_loop
                    .push_back(packet.get(*start..).unwrap_or_default().to_vec());
            }
        }
        if ttl == 0 {
            self.out.truncate(from);
        }
    }

    /// Takes back in the copies of our own multicast datagrams.
    pub(super) fn multicast_loop_input(&mut self, now: Instant) {
        while let Some(packet) = self.mcast_loop.pop_front() {
            self.stats.multicast_loopback += 1;
            self.rx_loopback = true;
            self.rx_csum_trusted = true;
            self.handle_ip(now, &packet);
            self.rx_csum_trusted = false;
            self.rx_loopback = false;
        }
    }

    /// A UDP datagram to a multicast group this host listens to: a copy to
    /// every socket bound to its port (on the wildcard address or the
    /// group's) and not connected to another peer, whether or not the
    /// socket itself joined: Linux's `IP_MULTICAST_ALL`, "the socket will
    /// receive messages from all the groups that have been joined globally
    /// on the whole system" (ip(7)), on by default.
    pub(super) fn udp_multicast_input(
        &mut self,
        local: SocketAddr,
        remote: SocketAddr,
        repr: &UdpRepr<'_>,
    ) {
        let flow = Flow::Ports { local, remote };
        let limit = self.cfg.udp_recv_queue;
        let mut delivered = false;
        for h in self.ports.udp_group_targets(local) {
            let Some(Socket::Udp(u)) = self.sockets.get_mut(h) else {
                continue;
            };
            if u.is_connected_elsewhere(remote) {
                continue;
            }
            if !u.queue(limit, remote, local, repr.payload) {
                self.dropped(DropReason::UdpQueueFull, flow);
                continue;
            }
            delivered = true;
            self.push_event(h, Readiness::READABLE);
        }
        if delivered {
            self.stats.multicast_in += 1;
        } else {
            self.dropped(DropReason::MulticastNoSocket, flow);
        }
    }
}
