//! Peeking at a UDP socket's next datagram, as tokio's: `peek`,
//! `peek_from`, `peek_sender`, each with its `poll_*` and `try_*` twins.
//! The datagram stays queued for the next peek or receive (`MSG_PEEK`); a
//! pending error is reported (and cleared) first, as Linux's peek does.

use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::task::{Context, Poll, ready};

use berth_core::stack::Datagram;
use tokio::io::ReadBuf;

use super::UdpSocket;
use crate::net::socket::Direction;
use crate::net::udp::copy_datagram;

impl UdpSocket {
    fn poll_peek_datagram(&self, cx: &mut Context<'_>) -> Poll<io::Result<Datagram>> {
        let h = self.sock.handle;
        self.sock
            .poll_op(cx, Direction::Read, false, |s, _| s.udp_peek_datagram(h))
    }

    fn try_peek_datagram(&self) -> io::Result<Datagram> {
        let h = self.sock.handle;
        self.sock.inspect(|s| s.udp_peek_datagram(h))
    }

    /// Waits for a datagram and copies it (truncated to `buf`) with its
    /// sender, leaving it queued.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// # let socket = berth::tokio_net::UdpSocket::bind(&server, "198.18.0.2:9").await?;
    /// # let sender = berth::tokio_net::UdpSocket::bind(&client, "0.0.0.0:0").await?;
    /// # sender.send_to(b"a datagram", "198.18.0.2:9").await?;
    /// let mut buf = [0; 1500];
    /// let (n, from) = socket.peek_from(&mut buf).await?;
    /// // The same datagram again:
    /// assert_eq!(socket.recv_from(&mut buf).await?, (n, from));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let d = poll_fn(|cx| self.poll_peek_datagram(cx)).await?;
        Ok((copy_datagram(buf, &d), d.from))
    }

    /// Polls a peek into `buf`; returns the sender.
    pub fn poll_peek_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<SocketAddr>> {
        let d = ready!(self.poll_peek_datagram(cx))?;
        let n = copy_datagram(buf.initialize_unfilled(), &d);
        buf.advance(n);
        Poll::Ready(Ok(d.from))
    }

    /// Peeks without waiting; `WouldBlock` when no datagram waits.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use std::io::ErrorKind;
    /// let socket = berth::tokio_net::UdpSocket::bind(&server, "198.18.0.2:9").await?;
    /// let e = socket.try_peek_from(&mut [0; 16]).unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::WouldBlock);
    /// # Ok(())
    /// # }
    /// ```
    pub fn try_peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let d = self.try_peek_datagram()?;
        Ok((copy_datagram(buf, &d), d.from))
    }

    /// Waits for a datagram (from the connected peer) and copies it,
    /// leaving it queued.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use berth::tokio_net::UdpSocket;
    ///
    /// let server_socket = UdpSocket::bind(&server, "198.18.0.2:9").await?;
    /// let socket = UdpSocket::bind(&client, "198.18.0.1:4000").await?;
    /// socket.connect("198.18.0.2:9").await?;
    /// server_socket.send_to(b"reply", "198.18.0.1:4000").await?;
    /// let mut buf = [0; 16];
    /// let n = socket.peek(&mut buf).await?;
    /// assert_eq!(socket.recv(&mut buf).await?, n); // still there
    /// # Ok(())
    /// # }
    /// ```
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.peek_from(buf).await.map(|(n, _)| n)
    }

    /// Polls a peek into `buf`.
    pub fn poll_peek(&self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_peek_from(cx, buf))?;
        Poll::Ready(Ok(()))
    }

    /// Peeks without waiting; `WouldBlock` when no datagram waits.
    pub fn try_peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.try_peek_from(buf).map(|(n, _)| n)
    }

    /// Waits for a datagram and returns its sender, leaving it queued.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use berth::tokio_net::UdpSocket;
    ///
    /// let server_socket = UdpSocket::bind(&server, "198.18.0.2:9").await?;
    /// let socket = UdpSocket::bind(&client, "198.18.0.1:4000").await?;
    /// socket.send_to(b"hello", "198.18.0.2:9").await?;
    /// // Who is it from? Decide before taking it.
    /// let from = server_socket.peek_sender().await?;
    /// assert_eq!(from, "198.18.0.1:4000".parse().unwrap());
    /// let mut buf = [0; 16];
    /// assert_eq!(server_socket.recv_from(&mut buf).await?, (5, from));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn peek_sender(&self) -> io::Result<SocketAddr> {
        poll_fn(|cx| self.poll_peek_sender(cx)).await
    }

    /// Polls for the next datagram's sender.
    pub fn poll_peek_sender(&self, cx: &mut Context<'_>) -> Poll<io::Result<SocketAddr>> {
        let h = self.sock.handle;
        self.sock
            .poll_op(cx, Direction::Read, false, |s, _| s.udp_peek_sender(h))
    }

    /// The next datagram's sender, without waiting.
    pub fn try_peek_sender(&self) -> io::Result<SocketAddr> {
        let h = self.sock.handle;
        self.sock.inspect(|s| s.udp_peek_sender(h))
    }
}
