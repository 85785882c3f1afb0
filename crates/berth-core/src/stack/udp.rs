//! UDP sockets (RFC 768): bound, connected, or receiving from anyone, each
//! with a bounded queue of datagrams (drops counted); ICMP port unreachable
//! for a datagram no socket wants (RFC 1122 4.1.3.1). A transparent socket
//! ([`Stack::udp_bind_transparent`]) receives datagrams to any address and
//! port nothing else claims, tells the original destination of each
//! ([`Stack::udp_recv_from_orig`]) and answers from it
//! ([`Stack::udp_send_from`]). Datagrams to and from multicast groups:
//! `multicast.rs`.

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};

use super::drops::{DropReason, Flow};
use super::{Readiness, Socket, SocketError, Stack};
use crate::demux::ephemeral;
use crate::handle::SocketHandle;
use crate::time::Instant;
use crate::wire::{IpProtocol, UdpPacket, UdpRepr};

/// Room in front of a [`UdpPayload`] for the largest headers: IPv6 and UDP.
const HEADROOM: usize = 40 + 8;

/// A datagram's payload in a buffer with room in front for the UDP and IP
/// headers. A caller fills it before it takes the stack (berth's socket
/// layer does, without the stack's lock), and the stack writes the headers
/// in place and queues the buffer as it is: no copy of the payload under
/// the caller's lock.
#[derive(Debug, Clone, Default)]
pub struct UdpPayload {
    buf: Vec<u8>,
}

impl UdpPayload {
    /// A payload holding a copy of `data`.
    pub fn new(data: &[u8]) -> Self {
        let mut buf = Vec::with_capacity(HEADROOM + data.len());
        buf.resize(HEADROOM, 0);
        buf.extend_from_slice(data);
        Self { buf }
    }

    /// The payload's length.
    pub fn len(&self) -> usize {
        self.buf.len().saturating_sub(HEADROOM)
    }

    /// Whether it holds no payload (also after it was sent: sending takes
    /// the buffer).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A received datagram, taken out of its socket's queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram {
    /// Its bytes.
    pub data: Vec<u8>,
    /// Who sent it.
    pub from: SocketAddr,
    /// The address and port it was sent to (on a transparent socket, the
    /// original destination of the flow).
    pub to: SocketAddr,
}

/// A UDP socket.
#[derive(Debug)]
pub(super) struct UdpSocket {
    pub(super) local: SocketAddr,
    pub(super) remote: Option<SocketAddr>,
    /// Each datagram's sender, the destination it was sent to, its bytes.
    rx: VecDeque<(SocketAddr, SocketAddr, Vec<u8>)>,
    /// Datagrams dropped because `rx` was full.
    pub(super) drops: u64,
    /// The catch-all socket: datagrams to any address and port.
    pub(super) transparent: bool,
    /// A hard ICMP error about the connected peer (a closed port, say),
    /// reported once by the next send or receive (Linux's `sk_err`).
    error: Option<SocketError>,
    /// `SO_BROADCAST`: datagrams to the limited broadcast address allowed.
    broadcast: bool,
    /// `IP_TTL` / `IPV6_UNICAST_HOPS` of its datagrams (else the stack's).
    pub(super) ttl: Option<u8>,
    /// `IP_TOS` / `IPV6_TCLASS`: the traffic class byte of its datagrams,
    /// ECN bits included (a UDP application may set its own codepoint, as
    /// on Linux).
    pub(super) tos: u8,
    /// Groups joined, loop and TTL of its datagrams to groups.
    pub(super) mcast: super::multicast::SocketMulticast,
    /// `SO_REUSEADDR`: it shares its address with other such sockets.
    reuse: bool,
}

impl UdpSocket {
    fn new(local: SocketAddr, transparent: bool, reuse: bool) -> Self {
        Self {
            local,
            remote: None,
            rx: VecDeque::new(),
            drops: 0,
            transparent,
            error: None,
            broadcast: false,
            ttl: None,
            tos: 0,
            mcast: super::multicast::SocketMulticast::default(),
            reuse,
        }
    }

    /// Whether it is connected to a peer other than `remote`.
    pub(super) fn is_connected_elsewhere(&self, remote: SocketAddr) -> bool {
        self.remote.is_some_and(|r| r != remote)
    }

    /// Queues a datagram from `remote` to `local`, unless the queue holds
    /// `limit` already (then it counts a drop and says so).
    pub(super) fn queue(
        &mut self,
        limit: usize,
        remote: SocketAddr,
        local: SocketAddr,
        data: &[u8],
    ) -> bool {
        if self.rx.len() >= limit {
            self.drops += 1;
            return false;
        }
        self.rx.push_back((remote, local, data.to_vec()));
        true
    }
}

impl Stack {
    fn udp_mut(&mut self, h: SocketHandle) -> Result<&mut UdpSocket, SocketError> {
        match self.sockets.get_mut(h) {
            Some(Socket::Udp(u)) => Ok(u),
            _ => Err(SocketError::InvalidHandle),
        }
    }

    /// Binds a UDP socket; port 0 picks an ephemeral port. The address is
    /// unspecified, one of ours, or a multicast group (then only datagrams
    /// to that group arrive, as on Linux; they are sent from one of ours).
    pub fn udp_bind(&mut self, local: SocketAddr) -> Result<SocketHandle, SocketError> {
        self.udp_bind_with(local, false)
    }

    /// [`Stack::udp_bind`] with `SO_REUSEADDR`: any number of sockets bound
    /// this way share an address and port (Linux lets UDP sockets that all
    /// set it bind the same one). Each gets its copy of a datagram to a
    /// multicast group; a unicast one goes to the socket bound last, as on
    /// Linux.
    pub fn udp_bind_reuseaddr(&mut self, local: SocketAddr) -> Result<SocketHandle, SocketError> {
        self.udp_bind_with(local, true)
    }

    fn udp_bind_with(
        &mut self,
        local: SocketAddr,
        reuse: bool,
    ) -> Result<SocketHandle, SocketError> {
        let ip = local.ip();
        if !ip.is_unspecified() && !self.is_local(ip) && !ip.is_multicast() {
            return Err(SocketError::AddrNotAvailable);
        }
        self.alloc_check()?;
        let local = if local.port() == 0 {
            let random = self.rng.next_u64();
            let ports = &self.ports;
            let port = ephemeral::pick(&self.cfg.ephemeral_ports, random, |p| {
                !ports.udp_port_taken(SocketAddr::new(local.ip(), p))
            })
            .ok_or(SocketError::AddrNotAvailable)?;
            SocketAddr::new(local.ip(), port)
        } else {
            local
        };
        let h = self
            .sockets
            .insert(Socket::Udp(UdpSocket::new(local, false, reuse)));
        if self.ports.bind_udp(local, reuse, h).is_err() {
            self.sockets.remove(h);
            return Err(SocketError::AddrInUse);
        }
        Ok(h)
    }

    /// A transparent (catch-all) UDP socket: it receives datagrams to ANY
    /// address and port, of either family, that no other socket claims
    /// (after connected, bound and wildcard sockets). Read them with
    /// [`Stack::udp_recv_from_orig`] to learn where each was going, and
    /// answer with [`Stack::udp_send_from`]. One per stack (`AddrInUse` for
    /// a second); its own `local_addr` is `0.0.0.0:0`.
    pub fn udp_bind_transparent(&mut self) -> Result<SocketHandle, SocketError> {
        self.alloc_check()?;
        let unspecified = SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), 0);
        let h = self
            .sockets
            .insert(Socket::Udp(UdpSocket::new(unspecified, true, false)));
        if self.ports.bind_udp_transparent(h).is_err() {
            self.sockets.remove(h);
            return Err(SocketError::AddrInUse);
        }
        Ok(h)
    }

    /// Connects a UDP socket: `udp_send` goes to `remote`, and only its
    /// datagrams are received.
    pub fn udp_connect(&mut self, h: SocketHandle, remote: SocketAddr) -> Result<(), SocketError> {
        if !Self::udp_remote_ok(remote) {
            return Err(SocketError::InvalidInput);
        }
        let u = self.udp_mut(h)?;
        if u.transparent {
            // It has no address of its own to connect from.
            return Err(SocketError::InvalidInput);
        }
        if is_broadcast(remote) && !u.broadcast {
            return Err(SocketError::PermissionDenied);
        }
        if !self.routable(remote.ip()) {
            return Err(SocketError::NetworkUnreachable);
        }
        let u = self.udp_mut(h)?;
        let local = u.local;
        if !local.ip().is_unspecified() && !self.may_send_from(local.ip(), remote.ip()) {
            return Err(SocketError::InvalidInput);
        }
        let u = self.udp_mut(h)?;
        let old = u.remote.replace(remote);
        let reuse = u.reuse;
        if let Some(old) = old {
            self.ports.unbind_udp(local, Some(old), h);
            let _ = self.ports.bind_udp(local, reuse, h);
        }
        self.ports.connect_udp(local, remote, h);
        Ok(())
    }

    /// Sends one datagram to `remote`.
    pub fn udp_send_to(
        &mut self,
        h: SocketHandle,
        data: &[u8],
        remote: SocketAddr,
    ) -> Result<usize, SocketError> {
        self.udp_send_payload_to(h, &mut UdpPayload::new(data), remote)
    }

    /// Sends one datagram to `remote` from a prepared payload; on success
    /// the payload's buffer is taken (left empty), on error it is kept for
    /// a retry.
    pub fn udp_send_payload_to(
        &mut self,
        h: SocketHandle,
        payload: &mut UdpPayload,
        remote: SocketAddr,
    ) -> Result<usize, SocketError> {
        if !Self::udp_remote_ok(remote) {
            return Err(SocketError::InvalidInput);
        }
        let u = self.udp_mut(h)?;
        if let Some(e) = u.error.take() {
            return Err(e);
        }
        if u.transparent {
            // Which address would it come from? `udp_send_from` says.
            return Err(SocketError::InvalidInput);
        }
        if is_broadcast(remote) && !u.broadcast {
            // Linux: EACCES unless SO_BROADCAST (ip_route_output says the
            // route is a broadcast one).
            return Err(SocketError::PermissionDenied);
        }
        let local = u.local;
        if !self.routable(remote.ip()) {
            return Err(SocketError::NetworkUnreachable);
        }
        // A socket bound to a group sends from one of our addresses
        // (Linux's `inet_bind` leaves the source to the route).
        let src_ip = if local.ip().is_unspecified() || local.ip().is_multicast() {
            self.source_for(remote.ip())
                .ok_or(SocketError::AddrNotAvailable)?
        } else if local.is_ipv4() == remote.is_ipv4() {
            local.ip()
        } else {
            return Err(SocketError::InvalidInput);
        };
        if !self.may_send_from(src_ip, remote.ip()) {
            return Err(SocketError::InvalidInput);
        }
        let u = self.udp_mut(h)?;
        let group = remote.ip();
        let tos = u.tos;
        if !group.is_multicast() {
            let ttl = u.ttl;
            return self.udp_emit(
                SocketAddr::new(src_ip, local.port()),
                remote,
                payload,
                ttl,
                tos,
            );
        }
        let (looped, ttl) = (u.mcast.loops(group), u.mcast.ttl(group));
        let from = self.out.len();
        let n = self.udp_emit(
            SocketAddr::new(src_ip, local.port()),
            remote,
            payload,
            Some(ttl),
            tos,
        )?;
        self.multicast_sent(from, group, looped, ttl);
        Ok(n)
    }

    /// Whether a UDP datagram may go to `remote`: a port and an address,
    /// which may be a multicast group.
    fn udp_remote_ok(remote: SocketAddr) -> bool {
        remote.port() != 0 && !remote.ip().is_unspecified()
    }

    /// The socket's local address.
    pub(super) fn udp_local(&mut self, h: SocketHandle) -> Result<SocketAddr, SocketError> {
        Ok(self.udp_mut(h)?.local)
    }

    /// Sends one datagram from `from` (any unicast address and port: the
    /// original destination of a flow) to `to`, on a transparent socket;
    /// other sockets get `InvalidInput`, as Linux refuses a foreign source
    /// without `IP_TRANSPARENT`.
    pub fn udp_send_from(
        &mut self,
        h: SocketHandle,
        data: &[u8],
        from: SocketAddr,
        to: SocketAddr,
    ) -> Result<usize, SocketError> {
        self.udp_send_payload_from(h, &mut UdpPayload::new(data), from, to)
    }

    /// [`Stack::udp_send_from`] with a prepared payload, taken on success
    /// like [`Stack::udp_send_payload_to`]'s.
    pub fn udp_send_payload_from(
        &mut self,
        h: SocketHandle,
        payload: &mut UdpPayload,
        from: SocketAddr,
        to: SocketAddr,
    ) -> Result<usize, SocketError> {
        if !Self::remote_ok(to)
            || from.port() == 0
            || !Self::transparent_dst_ok(from.ip())
            || from.is_ipv4() != to.is_ipv4()
        {
            return Err(SocketError::InvalidInput);
        }
        let u = self.udp_mut(h)?;
        if !u.transparent {
            return Err(SocketError::InvalidInput);
        }
        let tos = u.tos;
        let n = self.udp_emit(from, to, payload, None, tos)?;
        self.transparent.udp_out += 1;
        Ok(n)
    }

    /// Writes the headers in front of `payload` and queues it, from
    /// `local` to `remote`.
    fn udp_emit(
        &mut self,
        local: SocketAddr,
        remote: SocketAddr,
        payload: &mut UdpPayload,
        ttl: Option<u8>,
        tos: u8,
    ) -> Result<usize, SocketError> {
        let len = payload.len();
        // Datagrams bigger than the MTU leave as fragments, up to IPv4's
        // limit of 65,535 bytes in all (65,507 of data) and IPv6's 65,535 of
        // payload (65,527 of data, RFC 8200 section 3), as on Linux.
        let too_long = if remote.is_ipv4() {
            len + 8 + 20 > usize::from(u16::MAX)
        } else {
            len + 8 > crate::frag::IPV6_MAX_PAYLOAD
        };
        if too_long {
            return Err(SocketError::MessageTooLong);
        }
        if self.out.len() >= super::output::MAX_QUEUED_PACKETS {
            return Err(SocketError::WouldBlock);
        }
        let start = HEADROOM - 8;
        let mut buf = std::mem::take(&mut payload.buf);
        let Some(dgram) = buf.get_mut(start..) else {
            return Err(SocketError::InvalidInput);
        };
        let mut packet = UdpPacket::new_unchecked(dgram);
        // The header only; the payload is in place behind it.
        let header = UdpRepr {
            src_port: local.port(),
            dst_port: remote.port(),
            payload: &[],
        };
        header.emit_header(&mut packet);
        packet.set_len(u16::try_from(len + 8).unwrap_or(u16::MAX));
        packet.fill_checksum(local.ip(), remote.ip(), self.cfg.tcp.checksums.tx);
        self.tx_hop_limit = ttl;
        self.tx_tos = tos;
        self.queue_ip_in_place(local.ip(), remote.ip(), IpProtocol::Udp, buf, start);
        self.tx_hop_limit = None;
        self.tx_tos = 0;
        Ok(len)
    }

    /// Sends to the connected peer.
    pub fn udp_send(&mut self, h: SocketHandle, data: &[u8]) -> Result<usize, SocketError> {
        self.udp_send_payload(h, &mut UdpPayload::new(data))
    }

    /// [`Stack::udp_send`] with a prepared payload, taken on success like
    /// [`Stack::udp_send_payload_to`]'s.
    pub fn udp_send_payload(
        &mut self,
        h: SocketHandle,
        payload: &mut UdpPayload,
    ) -> Result<usize, SocketError> {
        let remote = self.udp_mut(h)?.remote.ok_or(SocketError::NotConnected)?;
        self.udp_send_payload_to(h, payload, remote)
    }

    /// Receives one datagram: its length (truncated to `buf`, the rest
    /// dropped, like std) and sender; `Err(WouldBlock)` when none waits.
    pub fn udp_recv_from(
        &mut self,
        h: SocketHandle,
        buf: &mut [u8],
    ) -> Result<(usize, SocketAddr), SocketError> {
        self.udp_recv_from_orig(h, buf)
            .map(|(n, from, _)| (n, from))
    }

    /// Like [`Stack::udp_recv_from`], and also the address and port the
    /// datagram was sent to: on a transparent socket, the original
    /// destination of the flow.
    pub fn udp_recv_from_orig(
        &mut self,
        h: SocketHandle,
        buf: &mut [u8],
    ) -> Result<(usize, SocketAddr, SocketAddr), SocketError> {
        let u = self.udp_mut(h)?;
        if let Some(e) = u.error.take() {
            return Err(e);
        }
        let (from, to, data) = u.rx.pop_front().ok_or(SocketError::WouldBlock)?;
        let n = data.len().min(buf.len());
        if let (Some(dst), Some(src)) = (buf.get_mut(..n), data.get(..n)) {
            dst.copy_from_slice(src);
        }
        Ok((n, from, to))
    }

    /// Takes the next datagram off the queue, without copying it;
    /// `Err(WouldBlock)` when none waits.
    pub fn udp_recv_datagram(&mut self, h: SocketHandle) -> Result<Datagram, SocketError> {
        let u = self.udp_mut(h)?;
        if let Some(e) = u.error.take() {
            return Err(e);
        }
        let (from, to, data) = u.rx.pop_front().ok_or(SocketError::WouldBlock)?;
        Ok(Datagram { data, from, to })
    }

    /// A copy of the next datagram, which stays queued for the next
    /// receive (`MSG_PEEK`); `Err(WouldBlock)` when none waits. A pending
    /// error is reported (and cleared) first, as Linux's peek does
    /// (`__skb_try_recv_datagram` takes `sk_err` before the queue).
    pub fn udp_peek_datagram(&mut self, h: SocketHandle) -> Result<Datagram, SocketError> {
        let u = self.udp_mut(h)?;
        if let Some(e) = u.error.take() {
            return Err(e);
        }
        let (from, to, data) = u.rx.front().ok_or(SocketError::WouldBlock)?;
        Ok(Datagram {
            data: data.clone(),
            from: *from,
            to: *to,
        })
    }

    /// The sender of the next datagram, which stays queued (a pending
    /// error first, as [`Stack::udp_peek_datagram`]).
    pub fn udp_peek_sender(&mut self, h: SocketHandle) -> Result<SocketAddr, SocketError> {
        let u = self.udp_mut(h)?;
        if let Some(e) = u.error.take() {
            return Err(e);
        }
        u.rx.front()
            .map(|(from, _, _)| *from)
            .ok_or(SocketError::WouldBlock)
    }

    /// Whether an error waits to be reported (`SO_ERROR`; Linux's
    /// `EPOLLERR`).
    pub fn udp_has_error(&mut self, h: SocketHandle) -> Result<bool, SocketError> {
        Ok(self.udp_mut(h)?.error.is_some())
    }

    /// Whether a receive would not block: a datagram or an error waits.
    pub fn udp_can_recv(&mut self, h: SocketHandle) -> Result<bool, SocketError> {
        let u = self.udp_mut(h)?;
        Ok(!u.rx.is_empty() || u.error.is_some())
    }

    /// Whether a send would not block: the stack's output queue has room
    /// (or an error waits to be reported).
    pub fn udp_can_send(&mut self, h: SocketHandle) -> Result<bool, SocketError> {
        let room = self.out.len() < super::output::MAX_QUEUED_PACKETS;
        Ok(room || self.udp_mut(h)?.error.is_some())
    }

    /// Allows (or forbids) datagrams to the limited broadcast address,
    /// 255.255.255.255 (`SO_BROADCAST`; off by default, as on Linux, where
    /// a send or connect to it without the option fails with `EACCES`).
    pub fn udp_set_broadcast(&mut self, h: SocketHandle, on: bool) -> Result<(), SocketError> {
        self.udp_mut(h)?.broadcast = on;
        Ok(())
    }

    /// The pending error, once (`SO_ERROR`).
    pub fn udp_take_error(&mut self, h: SocketHandle) -> Result<Option<SocketError>, SocketError> {
        Ok(self.udp_mut(h)?.error.take())
    }

    /// Whether `SO_BROADCAST` is on.
    pub fn udp_broadcast(&mut self, h: SocketHandle) -> Result<bool, SocketError> {
        Ok(self.udp_mut(h)?.broadcast)
    }

    /// Datagrams dropped on a full queue.
    pub fn udp_drops(&mut self, h: SocketHandle) -> Result<u64, SocketError> {
        Ok(self.udp_mut(h)?.drops)
    }

    /// An ICMP error quoting a datagram of ours from `local` to `remote`:
    /// a socket connected to `remote` takes a hard one as its pending
    /// error, and a blocked receiver wakes to it. Others ignore it, as
    /// Linux does without `IP_RECVERR`.
    pub(super) fn udp_icmp_error(
        &mut self,
        local: SocketAddr,
        remote: SocketAddr,
        error: SocketError,
    ) {
        let Some(h) = self.ports.lookup_udp(local, remote) else {
            self.dropped(DropReason::IcmpErrorNoSocket, Flow::Ports { local, remote });
            return;
        };
        let Some(Socket::Udp(u)) = self.sockets.get_mut(h) else {
            return;
        };
        if u.remote != Some(remote) {
            // Only a connected socket hears of errors (Linux, without
            // IP_RECVERR).
            self.dropped(DropReason::IcmpErrorNoSocket, Flow::Ports { local, remote });
            return;
        }
        tracing::debug!(%local, %remote, %error, "UDP socket told of an ICMP error");
        u.error = Some(error);
        self.push_event(h, Readiness::READABLE);
        self.push_event(h, Readiness::WRITABLE);
    }

    pub(super) fn close_udp(&mut self, now: Instant, h: SocketHandle) {
        self.leave_all(now, h);
        if let Some(Socket::Udp(u)) = self.sockets.remove(h) {
            if u.transparent {
                self.ports.unbind_udp_transparent(h);
            } else {
                self.ports.unbind_udp(u.local, u.remote, h);
            }
        }
    }

    pub(super) fn udp_input(
        &mut self,
        now: Instant,
        src: IpAddr,
        dst: IpAddr,
        bytes: &[u8],
        frame: &[u8],
    ) {
        let Ok(packet) = UdpPacket::new_checked(bytes) else {
            self.dropped(DropReason::UdpMalformed, Flow::Ip(src, dst));
            return;
        };
        let Ok(repr) = UdpRepr::parse(&packet, src, dst, self.rx_checksums()) else {
            self.dropped(DropReason::UdpMalformed, Flow::Ip(src, dst));
            return;
        };
        let local = SocketAddr::new(dst, repr.dst_port);
        let remote = SocketAddr::new(src, repr.src_port);
        let flow = Flow::Ports { local, remote };
        if dst.is_multicast() {
            self.udp_multicast_input(local, remote, &repr);
            return;
        }
        if !self.is_local(dst) {
            // Another host's address: only while a transparent socket
            // exists, and never a port unreachable from a host we are not.
            if !self.ports.has_udp_transparent() {
                self.dropped(DropReason::NotForUs, flow);
                return;
            }
            self.transparent.non_local_in += 1;
        }
        let Some(h) = self.ports.lookup_udp(local, remote) else {
            self.dropped(DropReason::UdpNoSocket, flow);
            self.port_unreachable(now, src, dst, frame);
            return;
        };
        let limit = self.cfg.udp_recv_queue;
        let Some(Socket::Udp(u)) = self.sockets.get_mut(h) else {
            return;
        };
        if u.is_connected_elsewhere(remote) {
            self.dropped(DropReason::UdpOtherPeer, flow);
            return;
        }
        if !u.queue(limit, remote, local, repr.payload) {
            self.dropped(DropReason::UdpQueueFull, flow);
            return;
        }
        if u.transparent {
            self.transparent.udp_in += 1;
        }
        self.push_event(h, Readiness::READABLE);
    }
}

/// The limited broadcast address (RFC 919): a broadcast route, which a
/// socket must ask for.
fn is_broadcast(addr: SocketAddr) -> bool {
    matches!(addr.ip(), std::net::IpAddr::V4(v4) if v4.is_broadcast())
}
