//! A UDP socket's readiness, as tokio's: `ready`, `readable`, `writable`,
//! their `poll_*` twins, `try_io` and `async_io`. Readable: a datagram or
//! an error waits; writable: the stack's output queue has room (or an
//! error waits); error: an ICMP error about the connected peer waits to be
//! reported. Readiness is the socket's state now (level-triggered).

use std::future::poll_fn;
use std::io;
use std::task::{Context, Poll, ready};

use berth_core::handle::SocketHandle;
use berth_core::stack::{SocketError, Stack};
use tokio::io::{Interest, Ready};

use super::UdpSocket;
use crate::net::socket::Direction;
use crate::pipe::PipeReady;
use crate::tokio_net::ready::{ready_for, slots};

/// What UDP socket `h` is ready for now.
fn state(s: &mut Stack, h: SocketHandle) -> Result<PipeReady, SocketError> {
    Ok(PipeReady {
        readable: s.udp_can_recv(h)?,
        read_closed: false,
        writable: s.udp_can_send(h)?,
        write_closed: false,
        error: s.udp_has_error(h)?,
    })
}

/// The wait slots of `interest`, as a direction.
fn direction(interest: Interest) -> Direction {
    match slots(interest) {
        (true, true) => Direction::Both,
        (false, true) => Direction::Write,
        _ => Direction::Read,
    }
}

impl UdpSocket {
    /// Waits until the socket is ready for any of `interest` and returns
    /// what it is ready for: `READABLE` when a datagram (or an error)
    /// waits, `WRITABLE` when a send would not wait for room in the
    /// stack's output queue, `ERROR` while an ICMP error about the
    /// connected peer waits (see [`take_error`](Self::take_error)). The
    /// readiness may be gone by the time the task acts; the `try_*` call
    /// then answers `WouldBlock`, as with tokio.
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
    /// use tokio::io::Interest;
    ///
    /// let ready = socket.ready(Interest::READABLE | Interest::WRITABLE).await?;
    /// if ready.is_readable() {
    ///     let mut buf = [0; 1500];
    ///     if let Ok((n, from)) = socket.try_recv_from(&mut buf) {
    ///         socket.try_send_to(&buf[..n], from)?;
    ///     }
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        poll_fn(|cx| self.poll_ready(cx, interest)).await
    }

    fn poll_ready(&self, cx: &mut Context<'_>, interest: Interest) -> Poll<io::Result<Ready>> {
        let h = self.sock.handle;
        let (_, write) = slots(interest);
        self.sock.poll_op(cx, direction(interest), write, |s, _| {
            let r = ready_for(state(s, h)?, interest);
            if r.is_empty() {
                Err(SocketError::WouldBlock)
            } else {
                Ok(r)
            }
        })
    }

    /// Waits until a receive would not block (a datagram or an error).
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
    /// use berth::tokio_net::UdpSocket;
    ///
    /// let server_socket = UdpSocket::bind(&server, "198.18.0.2:9").await?;
    /// let socket = UdpSocket::bind(&client, "0.0.0.0:0").await?;
    /// socket.send_to(b"hello", "198.18.0.2:9").await?;
    /// let mut buf = [0; 16];
    /// let (n, _from) = loop {
    ///     server_socket.readable().await?;
    ///     match server_socket.try_recv_from(&mut buf) {
    ///         Ok(got) => break got,
    ///         Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
    ///         Err(e) => return Err(e),
    ///     }
    /// };
    /// assert_eq!(&buf[..n], b"hello");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn readable(&self) -> io::Result<()> {
        self.ready(Interest::READABLE).await.map(|_| ())
    }

    /// Polls for read readiness; on `Pending` the task is woken when a
    /// datagram (or an error) arrives.
    pub fn poll_recv_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_ready(cx, Interest::READABLE).map_ok(|_| ())
    }

    /// Waits until a send would not wait for room.
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
    /// let socket = berth::tokio_net::UdpSocket::bind(&client, "0.0.0.0:0").await?;
    /// socket.writable().await?; // room in the stack's output queue
    /// socket.try_send_to(b"hello", "198.18.0.2:9".parse().unwrap())?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn writable(&self) -> io::Result<()> {
        self.ready(Interest::WRITABLE).await.map(|_| ())
    }

    /// Polls for write readiness; on `Pending` the task is woken when the
    /// stack's output queue has room again.
    pub fn poll_send_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_ready(cx, Interest::WRITABLE).map_ok(|_| ())
    }

    /// Runs `f` if the socket is ready for `interest` now, else answers
    /// `WouldBlock` without running it. `f` does the I/O with this
    /// socket's `try_*` calls: berth's sockets have no descriptor for a
    /// system call.
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
    /// use tokio::io::Interest;
    ///
    /// let socket = UdpSocket::bind(&client, "0.0.0.0:0").await?;
    /// socket.writable().await?;
    /// let dest = "198.18.0.2:9".parse().unwrap();
    /// let sent = socket.try_io(Interest::WRITABLE, || socket.try_send_to(b"ping", dest))?;
    /// assert_eq!(sent, 4);
    /// # Ok(())
    /// # }
    /// ```
    pub fn try_io<R>(
        &self,
        interest: Interest,
        f: impl FnOnce() -> io::Result<R>,
    ) -> io::Result<R> {
        let h = self.sock.handle;
        let now = self.sock.inspect(|s| state(s, h))?;
        if ready_for(now, interest).is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        f()
    }

    /// Waits for `interest` and runs `f` until it answers other than
    /// `WouldBlock`; after a `WouldBlock` it waits for the socket's next
    /// event, as tokio's waits for the next readiness.
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
    /// use tokio::io::Interest;
    ///
    /// let server_socket = UdpSocket::bind(&server, "198.18.0.2:9").await?;
    /// let socket = UdpSocket::bind(&client, "0.0.0.0:0").await?;
    /// socket.send_to(b"hello", "198.18.0.2:9").await?;
    /// let mut buf = [0; 16];
    /// let (n, _) = server_socket
    ///     .async_io(Interest::READABLE, || server_socket.try_recv_from(&mut buf))
    ///     .await?;
    /// assert_eq!(n, 5);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn async_io<R>(
        &self,
        interest: Interest,
        mut f: impl FnMut() -> io::Result<R>,
    ) -> io::Result<R> {
        let (_, write) = slots(interest);
        poll_fn(|cx| {
            ready!(self.poll_ready(cx, interest))?;
            // Wait for the next event from here on: one that comes between
            // a `WouldBlock` from `f` and the wait is not lost.
            let armed: Poll<io::Result<()>> =
                self.sock.poll_op(cx, direction(interest), write, |_, _| {
                    Err(SocketError::WouldBlock)
                });
            if let Poll::Ready(Err(e)) = armed {
                return Poll::Ready(Err(e));
            }
            match f() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => Poll::Pending,
                r => Poll::Ready(r),
            }
        })
        .await
    }
}
