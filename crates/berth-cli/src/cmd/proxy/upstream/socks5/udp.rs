//! A SOCKS5 UDP association (RFC 1928 section 7): datagrams to and from the
//! server's UDP relay, each behind a UDP request header, for as long as the
//! control connection that asked for it stays open.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use tokio::net::{TcpStream, UdpSocket};

use super::super::{ConnectError, Target};
use super::wire;

/// An open UDP association. Dropping it closes the control connection,
/// which ends the association on the server too.
#[derive(Debug)]
pub(crate) struct UdpAssociation {
    /// Connected to the relay, so the kernel drops datagrams from anywhere
    /// else.
    socket: UdpSocket,
    relay: SocketAddr,
    //= https://www.rfc-editor.org/rfc/rfc1928#section-6
    //# A UDP association terminates when the TCP connection that the UDP
    //# ASSOCIATE request arrived on terminates.
    control: TcpStream,
}

impl UdpAssociation {
    /// Sets up the local end: a UDP socket on the control connection's local
    /// address (the address the server saw the request come from) if the
    /// relay is of its family, connected to the relay.
    pub(super) async fn open(control: TcpStream, relay: SocketAddr) -> Result<Self, ConnectError> {
        let local = control.local_addr().map_err(ConnectError::Local)?.ip();
        let ip = match (local, relay.ip()) {
            (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_)) => local,
            (_, IpAddr::V4(_)) => Ipv4Addr::UNSPECIFIED.into(),
            (_, IpAddr::V6(_)) => Ipv6Addr::UNSPECIFIED.into(),
        };
        let socket = UdpSocket::bind(SocketAddr::new(ip, 0))
            .await
            .map_err(ConnectError::Local)?;
        socket.connect(relay).await.map_err(ConnectError::Local)?;
        Ok(Self {
            socket,
            relay,
            control,
        })
    }

    /// The relay's address: where datagrams go, and the only place they are
    /// taken from.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn relay_addr(&self) -> SocketAddr {
        self.relay
    }

    /// The local UDP socket's address.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// Sends `data` to `target` through the relay; returns `data.len()`.
    /// The header takes up to 262 bytes of the datagram (10 for an IPv4
    /// target), so the largest payload is that much less than UDP's.
    pub(crate) async fn send_to(&self, data: &[u8], target: &Target) -> io::Result<usize> {
        if let Some(why) = target.invalid() {
            return Err(ConnectError::Invalid(why).into());
        }
        let datagram = wire::datagram(target, data)?;
        self.socket.send(&datagram).await?;
        Ok(data.len())
    }

    /// Receives the next datagram relayed back: its payload is moved to the
    /// start of `buf`, and the length and the address it came from are
    /// returned. `buf` holds the header too while it is read, so one of
    /// 65535 bytes never truncates (a datagram cut inside its header is
    /// dropped). Fragments and malformed datagrams are dropped, and so is
    /// anything not from the relay. An error is the socket's: a relay that
    /// has gone away shows as `ConnectionRefused` (an ICMP port
    /// unreachable).
    pub(crate) async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, Target)> {
        loop {
            let n = self.socket.recv(buf).await?;
            let (from, at) = match wire::parse_datagram(&buf[..n]) {
                Ok(d) if d.frag == 0 => (d.addr, n - d.data.len()),
                //= https://www.rfc-editor.org/rfc/rfc1928#section-7
                //# Implementation of fragmentation is optional; an implementation that
                //# does not support fragmentation MUST drop any datagram whose FRAG
                //# field is other than X'00'.
                Ok(d) => {
                    tracing::debug!(
                        "SOCKS5 relay {}: dropped fragment {:#04x}",
                        self.relay,
                        d.frag
                    );
                    continue;
                }
                Err(e) => {
                    tracing::debug!("SOCKS5 relay {}: dropped datagram: {e}", self.relay);
                    continue;
                }
            };
            buf.copy_within(at..n, 0);
            return Ok((n - at, from));
        }
    }

    /// Resolves when the server closes the control connection (`Ok`) or it
    /// fails (`Err`): either way the association is over. Anything the
    /// server sends on it is read and ignored.
    pub(crate) async fn closed(&self) -> io::Result<()> {
        let mut sink = [0; 64];
        loop {
            self.control.readable().await?;
            match self.control.try_read(&mut sink) {
                Ok(0) => return Ok(()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
    }
}
