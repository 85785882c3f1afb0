//! The async [`TcpForwarder`]: [`crate::net::TcpForwarder`] for tokio tasks.

use std::future::poll_fn;
use std::io;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use berth_core::stack::SocketError;

use crate::NetStack;
use crate::net::SynRequest;
use crate::net::socket::{Direction, SocketRef};

/// A transparent TCP listener that holds each SYN for the application's
/// decision, for async code: a proxy task awaits [`TcpForwarder::request`],
/// dials the upstream, then accepts (turn the stream into an async one with
/// [`TcpStream::from_std`](super::TcpStream::from_std)) or refuses.
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
/// use std::io::ErrorKind;
/// use berth::net::SynRefusal;
/// use berth::tokio_net::{TcpForwarder, TcpStream};
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// let forwarder = TcpForwarder::bind(&proxy, 128)?;
/// let dialler = tokio::spawn(async move {
///     let e = TcpStream::connect(&client, "198.19.0.9:25").await.unwrap_err();
///     assert_eq!(e.kind(), ErrorKind::HostUnreachable);
///     let mut ok = TcpStream::connect(&client, "198.19.0.9:80").await?;
///     ok.write_all(b"hi").await
/// });
/// forwarder.request().await?.refuse(SynRefusal::HostUnreachable)?;
/// let mut s = TcpStream::from_std(forwarder.request().await?.accept()?)?;
/// let mut buf = [0; 2];
/// s.read_exact(&mut buf).await?;
/// assert_eq!(&buf, b"hi");
/// dialler.await.unwrap()?;
/// # Ok(())
/// # }
/// ```
pub struct TcpForwarder {
    sock: Arc<SocketRef>,
}

impl TcpForwarder {
    /// The stack's transparent listener, deferring: at most `backlog` SYNs
    /// wait for a decision at once.
    pub fn bind(stack: &NetStack, backlog: usize) -> io::Result<Self> {
        Ok(Self {
            sock: crate::net::TcpForwarder::bind(stack, backlog)?.sock,
        })
    }

    /// Waits for the next connection attempt.
    pub async fn request(&self) -> io::Result<SynRequest> {
        poll_fn(|cx| self.poll_request(cx)).await
    }

    /// Polls for a connection attempt; on `Pending` the task is woken when
    /// one arrives.
    pub fn poll_request(&self, cx: &mut Context<'_>) -> Poll<io::Result<SynRequest>> {
        let h = self.sock.handle;
        let req = ready!(self.sock.poll_op(cx, Direction::Read, false, |s, _| {
            s.tcp_take_syn(h)?.ok_or(SocketError::WouldBlock)
        }))?;
        Poll::Ready(Ok(SynRequest::new(&self.sock, req)))
    }
}

impl std::fmt::Debug for TcpForwarder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.sock.fmt_debug(f, "TcpForwarder", None)
    }
}
