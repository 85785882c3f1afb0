//! `--icmp forward`: a ping from the namespace to a relayed destination is
//! answered only if the destination answers a ping from this host, sent
//! through a raw ICMP socket (the proxy runs as root). Each forwarded ping
//! carries an identifier of the proxy's own, so that answers to different
//! clients never mix; the answer reaches the client with its own.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use berth::tokio_net::{EchoRequest, IcmpEchoSocket};
use berth_core::wire::{ChecksumCaps, Icmpv4Packet, Icmpv4Repr, Ipv4Packet};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;
use tokio::sync::{Semaphore, oneshot};

use super::state::{Counters, Proxy};
use super::sync::lock;

/// How long a forwarded ping waits for its answer.
const PING_TIMEOUT: Duration = Duration::from_secs(5);
/// Forwarded pings in flight; more are dropped (as a busy router's).
const MAX_IN_FLIGHT: usize = 256;

/// (destination, identifier, sequence number) of a ping in flight.
type Key = (IpAddr, u16, u16);

/// Pings from this host, over raw ICMP sockets.
pub(crate) struct Pinger {
    v4: Option<UdpSocket>,
    v6: Option<UdpSocket>,
    pending: Mutex<HashMap<Key, oneshot::Sender<()>>>,
    next_ident: AtomicU16,
}

/// A raw ICMP socket of `domain`, as a tokio datagram socket: `recv_from`
/// and `send_to` are the same system calls on it.
fn raw(domain: Domain, protocol: Protocol) -> io::Result<UdpSocket> {
    let s = Socket::new(domain, Type::RAW, Some(protocol))?;
    s.set_nonblocking(true)?;
    UdpSocket::from_std(std::net::UdpSocket::from(s))
}

impl Pinger {
    /// Opens the raw sockets (a family whose socket cannot be opened is
    /// never answered) and starts their receivers.
    pub(crate) fn start() -> Arc<Self> {
        let open = |d, p, name| {
            raw(d, p)
                .map_err(|e| tracing::warn!("berth proxy: no {name} ping socket: {e}"))
                .ok()
        };
        let pinger = Arc::new(Self {
            v4: open(Domain::IPV4, Protocol::ICMPV4, "IPv4"),
            v6: open(Domain::IPV6, Protocol::ICMPV6, "IPv6"),
            pending: Mutex::new(HashMap::new()),
            next_ident: AtomicU16::new(0x4265),
        });
        for v6 in [false, true] {
            let p = pinger.clone();
            tokio::spawn(async move { p.receive(v6).await });
        }
        pinger
    }

    /// Pings `dst`; whether it answered in time.
    async fn ping(&self, dst: IpAddr, seq: u16, data: &[u8]) -> bool {
        let sock = match dst {
            IpAddr::V4(_) => self.v4.as_ref(),
            IpAddr::V6(_) => self.v6.as_ref(),
        };
        let Some(sock) = sock else {
            return false;
        };
        let ident = self.next_ident.fetch_add(1, Ordering::Relaxed);
        let key = (dst, ident, seq);
        let (tx, rx) = oneshot::channel();
        lock(&self.pending).insert(key, tx);
        let msg = echo_request(dst.is_ipv6(), ident, seq, data);
        let answered = match sock.send_to(&msg, SocketAddr::new(dst, 0)).await {
            Ok(_) => tokio::time::timeout(PING_TIMEOUT, rx)
                .await
                .is_ok_and(|r| r.is_ok()),
            Err(e) => {
                tracing::debug!("berth proxy: ping {dst}: {e}");
                false
            }
        };
        lock(&self.pending).remove(&key);
        answered
    }

    /// Takes echo replies off one family's socket and wakes their pings.
    async fn receive(&self, v6: bool) {
        let Some(sock) = (if v6 { &self.v6 } else { &self.v4 }) else {
            return;
        };
        let mut buf = vec![0u8; 65_536];
        loop {
            let (n, from) = match sock.recv_from(&mut buf).await {
                Ok(got) => got,
                Err(e) => {
                    tracing::debug!("berth proxy: ping socket: {e}");
                    return;
                }
            };
            let got = buf.get(..n).unwrap_or(&[]);
            let reply = if v6 {
                echo_reply_v6(got)
            } else {
                echo_reply_v4(got)
            };
            if let Some((ident, seq)) = reply
                && let Some(tx) = lock(&self.pending).remove(&(from.ip(), ident, seq))
            {
                let _ = tx.send(());
            }
        }
    }
}

/// An echo request message (ICMPv6's checksum is the kernel's to fill in
/// on a raw socket, RFC 3542 3.1).
fn echo_request(v6: bool, ident: u16, seq: u16, data: &[u8]) -> Vec<u8> {
    if v6 {
        let mut msg = vec![128, 0, 0, 0];
        msg.extend_from_slice(&ident.to_be_bytes());
        msg.extend_from_slice(&seq.to_be_bytes());
        msg.extend_from_slice(data);
        return msg;
    }
    let repr = Icmpv4Repr::EchoRequest {
        ident,
        seq_no: seq,
        data,
    };
    let mut msg = vec![0u8; repr.buffer_len()];
    repr.emit(&mut Icmpv4Packet::new_unchecked(&mut msg[..]));
    msg
}

/// (identifier, sequence number) of an IPv4 echo reply, as a raw socket
/// delivers it: with its IP header.
fn echo_reply_v4(packet: &[u8]) -> Option<(u16, u16)> {
    let ip = Ipv4Packet::new_checked(packet).ok()?;
    let icmp = Icmpv4Packet::new_checked(ip.payload()).ok()?;
    match Icmpv4Repr::parse(&icmp, ChecksumCaps::FULL).ok()? {
        Icmpv4Repr::EchoReply { ident, seq_no, .. } => Some((ident, seq_no)),
        _ => None,
    }
}

/// (identifier, sequence number) of an ICMPv6 echo reply (type 129), as a
/// raw socket delivers it: the message alone, its checksum checked by the
/// kernel.
fn echo_reply_v6(msg: &[u8]) -> Option<(u16, u16)> {
    match msg {
        [129, 0, _, _, i0, i1, s0, s1, ..] => Some((
            u16::from_be_bytes([*i0, *i1]),
            u16::from_be_bytes([*s0, *s1]),
        )),
        _ => None,
    }
}

/// Answers the namespace's pings to relayed destinations that answer a
/// ping from this host.
pub(crate) async fn forward_loop(proxy: Arc<Proxy>, sock: IcmpEchoSocket) {
    let pinger = Pinger::start();
    let sock = Arc::new(sock);
    let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    loop {
        let req: EchoRequest = match sock.recv_request().await {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!("berth proxy: no more pings: {e}");
                return;
            }
        };
        if !proxy.allowed_ip(req.dst) {
            continue;
        }
        let Ok(permit) = in_flight.clone().try_acquire_owned() else {
            continue;
        };
        let (s, pinger, proxy) = (sock.clone(), pinger.clone(), proxy.clone());
        tokio::spawn(async move {
            let _permit = permit;
            if pinger.ping(req.dst, req.seq, &req.data).await {
                Counters::add(&proxy.counters.echo_answered);
                if let Err(e) = s.reply(&req) {
                    tracing::debug!("berth proxy: echo reply to {}: {e}", req.src);
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_replies_carry_ident_and_sequence() {
        let v4 = echo_request(false, 7, 9, b"abc");
        let icmp = Icmpv4Packet::new_checked(&v4[..]).unwrap();
        assert_eq!(
            Icmpv4Repr::parse(&icmp, ChecksumCaps::FULL).unwrap(),
            Icmpv4Repr::EchoRequest {
                ident: 7,
                seq_no: 9,
                data: b"abc"
            }
        );
        assert_eq!(
            echo_request(true, 7, 9, b"abc"),
            [128, 0, 0, 0, 0, 7, 0, 9, b'a', b'b', b'c']
        );
        assert_eq!(echo_reply_v6(&[129, 0, 1, 2, 0, 7, 0, 9]), Some((7, 9)));
        assert_eq!(echo_reply_v6(&[128, 0, 1, 2, 0, 7, 0, 9]), None);
        assert_eq!(echo_reply_v6(&[129, 0]), None);
        assert_eq!(echo_reply_v4(&[0x45]), None);
    }
}
