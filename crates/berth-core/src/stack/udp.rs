//! UDP sockets (RFC 768): bound, connected, or receiving from anyone, each
//! with a bounded queue of datagrams (drops counted); ICMP port unreachable
//! for a datagram no socket wants (RFC 1122 4.1.3.1).

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};

use super::{Readiness, Socket, SocketError, Stack};
use crate::demux::ephemeral;
use crate::handle::SocketHandle;
use crate::time::Instant;
use crate::wire::{IpProtocol, UdpPacket, UdpRepr};

/// A UDP socket.
#[derive(Debug)]
pub(super) struct UdpSocket {
    pub(super) local: SocketAddr,
    remote: Option<SocketAddr>,
    rx: VecDeque<(SocketAddr, Vec<u8>)>,
    /// Datagrams dropped because `rx` was full.
    pub(super) drops: u64,
}

impl Stack {
    fn udp_mut(&mut self, h: SocketHandle) -> Result<&mut UdpSocket, SocketError> {
        match self.sockets.get_mut(h) {
            Some(Socket::Udp(u)) => Ok(u),
            _ => Err(SocketError::InvalidHandle),
        }
    }

    /// Binds a UDP socket; port 0 picks an ephemeral port.
    pub fn udp_bind(&mut self, local: SocketAddr) -> Result<SocketHandle, SocketError> {
        if !local.ip().is_unspecified() && !self.is_local(local.ip()) {
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
        let h = self.sockets.insert(Socket::Udp(UdpSocket {
            local,
            remote: None,
            rx: VecDeque::new(),
            drops: 0,
        }));
        if self.ports.bind_udp(local, h).is_err() {
            self.sockets.remove(h);
            return Err(SocketError::AddrInUse);
        }
        Ok(h)
    }

    /// Connects a UDP socket: `udp_send` goes to `remote`, and only its
    /// datagrams are received.
    pub fn udp_connect(&mut self, h: SocketHandle, remote: SocketAddr) -> Result<(), SocketError> {
        if !Self::remote_ok(remote) {
            return Err(SocketError::InvalidInput);
        }
        let u = self.udp_mut(h)?;
        let local = u.local;
        let old = u.remote.replace(remote);
        if let Some(old) = old {
            self.ports.unbind_udp(local, Some(old), h);
            let _ = self.ports.bind_udp(local, h);
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
        if !Self::remote_ok(remote) {
            return Err(SocketError::InvalidInput);
        }
        let local = self.udp_mut(h)?.local;
        let src_ip = if local.ip().is_unspecified() {
            self.source_for(remote.ip())
                .ok_or(SocketError::AddrNotAvailable)?
        } else if local.is_ipv4() == remote.is_ipv4() {
            local.ip()
        } else {
            return Err(SocketError::InvalidInput);
        };
        let ip_header = if remote.is_ipv4() { 20 } else { 40 };
        // No fragmentation on send yet: a datagram must fit the MTU.
        if data.len() + 8 + ip_header > self.cfg.mtu {
            return Err(SocketError::MessageTooLong);
        }
        if self.out.len() >= super::output::MAX_QUEUED_PACKETS {
            return Err(SocketError::WouldBlock);
        }
        let repr = UdpRepr {
            src_port: local.port(),
            dst_port: remote.port(),
            payload: data,
        };
        let mut dgram = vec![0u8; repr.buffer_len()];
        repr.emit(
            &mut UdpPacket::new_unchecked(&mut dgram[..]),
            src_ip,
            remote.ip(),
            self.cfg.tcp.checksums,
        );
        self.queue_ip(src_ip, remote.ip(), IpProtocol::Udp, &dgram);
        Ok(data.len())
    }

    /// Sends to the connected peer.
    pub fn udp_send(&mut self, h: SocketHandle, data: &[u8]) -> Result<usize, SocketError> {
        let remote = self.udp_mut(h)?.remote.ok_or(SocketError::NotConnected)?;
        self.udp_send_to(h, data, remote)
    }

    /// Receives one datagram: its length (truncated to `buf`, the rest
    /// dropped, like std) and sender; `Err(WouldBlock)` when none waits.
    pub fn udp_recv_from(
        &mut self,
        h: SocketHandle,
        buf: &mut [u8],
    ) -> Result<(usize, SocketAddr), SocketError> {
        let u = self.udp_mut(h)?;
        let (from, data) = u.rx.pop_front().ok_or(SocketError::WouldBlock)?;
        let n = data.len().min(buf.len());
        buf[..n].copy_from_slice(&data[..n]);
        Ok((n, from))
    }

    /// Datagrams dropped on a full queue.
    pub fn udp_drops(&mut self, h: SocketHandle) -> Result<u64, SocketError> {
        Ok(self.udp_mut(h)?.drops)
    }

    pub(super) fn close_udp(&mut self, h: SocketHandle) {
        if let Some(Socket::Udp(u)) = self.sockets.remove(h) {
            self.ports.unbind_udp(u.local, u.remote, h);
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
            self.stats.udp_malformed += 1;
            return;
        };
        let Ok(repr) = UdpRepr::parse(&packet, src, dst, self.cfg.tcp.checksums) else {
            self.stats.udp_malformed += 1;
            return;
        };
        let local = SocketAddr::new(dst, repr.dst_port);
        let remote = SocketAddr::new(src, repr.src_port);
        let Some(h) = self.ports.lookup_udp(local, remote) else {
            self.stats.udp_no_socket += 1;
            self.port_unreachable(now, src, dst, frame);
            return;
        };
        let limit = self.cfg.udp_recv_queue;
        let Some(Socket::Udp(u)) = self.sockets.get_mut(h) else {
            return;
        };
        if u.remote.is_some_and(|r| r != remote) {
            return;
        }
        if u.rx.len() >= limit {
            u.drops += 1;
            self.stats.udp_queue_full += 1;
            return;
        }
        u.rx.push_back((remote, repr.payload.to_vec()));
        self.push_event(h, Readiness::READABLE);
    }
}
