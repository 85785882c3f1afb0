//! Transparent datagrams for async proxies: the tokio side of
//! [`crate::net::UdpSocket::bind_transparent`].

use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;

use berth_core::stack::UdpPayload;

use super::UdpSocket;
use crate::NetStack;
use crate::net::socket::Direction;
use crate::net::udp::copy_datagram;

/// Transparent datagrams, for proxies (the tun2socks pattern).
impl UdpSocket {
    /// The stack's transparent UDP socket: it receives datagrams to ANY
    /// address and port no other socket claims, with their original
    /// destination, and answers from any address. One per stack.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let proxy = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use berth::tokio_net::UdpSocket;
    ///
    /// let catch_all = UdpSocket::bind_transparent(&proxy)?;
    /// let c = UdpSocket::bind(&client, "0.0.0.0:0").await?;
    /// c.send_to(b"query", "198.19.8.8:53").await?;
    /// let mut buf = [0; 64];
    /// let (n, from, to) = catch_all.recv_from_orig(&mut buf).await?;
    /// assert_eq!((&buf[..n], to), (&b"query"[..], "198.19.8.8:53".parse().unwrap()));
    /// catch_all.send_from(b"answer", to, from).await?;
    /// let (n, answered_by) = c.recv_from(&mut buf).await?;
    /// assert_eq!((&buf[..n], answered_by), (&b"answer"[..], to));
    /// # Ok(())
    /// # }
    /// ```
    pub fn bind_transparent(stack: &NetStack) -> io::Result<Self> {
        Self::from_std(crate::net::UdpSocket::bind_transparent(stack)?)
    }

    /// Receives one datagram (truncated to `buf`): its length, its sender,
    /// and the address and port it was sent to (the original destination).
    pub async fn recv_from_orig(
        &self,
        buf: &mut [u8],
    ) -> io::Result<(usize, SocketAddr, SocketAddr)> {
        let h = self.sock.handle;
        let d = poll_fn(|cx| {
            self.sock
                .poll_op(cx, Direction::Read, false, |s, _| s.udp_recv_datagram(h))
        })
        .await?;
        Ok((copy_datagram(buf, &d), d.from, d.to))
    }

    /// Sends one datagram from `from` (an original destination) to `to`;
    /// only on a transparent socket (`InvalidInput` otherwise). Waits while
    /// the stack's output queue is full.
    pub async fn send_from(
        &self,
        buf: &[u8],
        from: SocketAddr,
        to: SocketAddr,
    ) -> io::Result<usize> {
        let h = self.sock.handle;
        let mut payload = UdpPayload::new(buf);
        poll_fn(|cx| {
            self.sock.poll_op(cx, Direction::Write, true, |s, _| {
                s.udp_send_payload_from(h, &mut payload, from, to)
            })
        })
        .await
    }
}
