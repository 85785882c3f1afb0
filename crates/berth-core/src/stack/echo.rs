//! The transparent echo socket: echo requests (ping) to addresses that are
//! not ours are handed to the application, which answers each only if it
//! chooses (a proxy pings the real destination and passes its answer on,
//! so the namespace behind it sees the real reachability). Without it,
//! such requests are dropped, or answered by the stack itself with
//! `StackConfig::transparent_echo`.

use std::collections::VecDeque;
use std::net::IpAddr;

use super::drops::{DropReason, Flow};
use super::{Readiness, Socket, SocketError, Stack};
use crate::handle::SocketHandle;
use crate::wire::{Icmpv4Repr, Icmpv6Repr};

/// Requests waiting for the application; more are dropped (counted).
const QUEUE: usize = 64;

/// An echo request to another host's address, as the application answers
/// it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EchoRequest {
    /// Who pinged.
    pub src: IpAddr,
    /// The address pinged.
    pub dst: IpAddr,
    /// The Identifier field.
    pub ident: u16,
    /// The Sequence Number field.
    pub seq: u16,
    /// The data, which the reply echoes.
    pub data: Vec<u8>,
}

/// The socket.
#[derive(Debug, Default)]
pub(super) struct EchoSocket {
    queue: VecDeque<EchoRequest>,
}

impl Stack {
    /// The transparent echo socket: echo requests to any unicast address
    /// that is not ours (of either family) queue on it, for
    /// [`Stack::icmp_echo_recv`] and [`Stack::icmp_echo_reply`]. One per
    /// stack (`AddrInUse` for a second).
    pub fn icmp_echo_bind_transparent(&mut self) -> Result<SocketHandle, SocketError> {
        if self.echo_socket.is_some() {
            return Err(SocketError::AddrInUse);
        }
        self.alloc_check()?;
        let h = self.sockets.insert(Socket::Echo(EchoSocket::default()));
        self.echo_socket = Some(h);
        Ok(h)
    }

    /// The next echo request waiting (`WouldBlock` when none).
    pub fn icmp_echo_recv(&mut self, h: SocketHandle) -> Result<EchoRequest, SocketError> {
        match self.sockets.get_mut(h) {
            Some(Socket::Echo(e)) => e.queue.pop_front().ok_or(SocketError::WouldBlock),
            _ => Err(SocketError::InvalidHandle),
        }
    }

    /// Answers `req`: an echo reply from the address pinged to the pinger,
    /// with the request's identifier, sequence number and data.
    pub fn icmp_echo_reply(
        &mut self,
        h: SocketHandle,
        req: &EchoRequest,
    ) -> Result<(), SocketError> {
        if !matches!(self.sockets.get(h), Some(Socket::Echo(_))) {
            return Err(SocketError::InvalidHandle);
        }
        match (req.dst, req.src) {
            (IpAddr::V4(from), IpAddr::V4(to)) => {
                let reply = Icmpv4Repr::EchoReply {
                    ident: req.ident,
                    seq_no: req.seq,
                    data: &req.data,
                };
                self.send_icmpv4(from, to, &reply);
            }
            (IpAddr::V6(from), IpAddr::V6(to)) => {
                let reply = Icmpv6Repr::EchoReply {
                    ident: req.ident,
                    seq_no: req.seq,
                    data: &req.data,
                };
                self.send_icmpv6(from, to, &reply);
            }
            _ => return Err(SocketError::InvalidInput),
        }
        self.stats.echo_replies += 1;
        Ok(())
    }

    /// Whether the echo socket exists (then other hosts' addresses are
    /// taken in for it).
    pub(super) fn has_echo_socket(&self) -> bool {
        self.echo_socket.is_some()
    }

    /// Queues an echo request to another host's address on the echo
    /// socket; `false` when there is none (the caller decides).
    pub(super) fn deliver_echo(
        &mut self,
        src: IpAddr,
        dst: IpAddr,
        ident: u16,
        seq: u16,
        data: &[u8],
    ) -> bool {
        let Some(h) = self.echo_socket else {
            return false;
        };
        if self.is_local(dst) || !Self::transparent_dst_ok(dst) {
            return false;
        }
        let Some(Socket::Echo(e)) = self.sockets.get_mut(h) else {
            return false;
        };
        if e.queue.len() >= QUEUE {
            self.dropped(DropReason::EchoQueueFull, Flow::Ip(src, dst));
            return true;
        }
        e.queue.push_back(EchoRequest {
            src,
            dst,
            ident,
            seq,
            data: data.to_vec(),
        });
        self.push_event(h, Readiness::READABLE);
        true
    }

    pub(super) fn close_echo(&mut self, h: SocketHandle) {
        if self.echo_socket == Some(h) {
            self.echo_socket = None;
        }
        self.sockets.remove(h);
    }
}
