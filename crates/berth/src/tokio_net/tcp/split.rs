//! The halves of a [`TcpStream`], as in `tokio::net::tcp`: borrowed
//! ([`ReadHalf`], [`WriteHalf`], from [`TcpStream::split`]) and owned
//! ([`OwnedReadHalf`], [`OwnedWriteHalf`], from [`TcpStream::into_split`]).
//! Both directions of a berth socket can be used at once, so the halves
//! need no lock of their own.

use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf, Ready};

use super::{TcpStream, readiness as ops};
use crate::net::socket::SocketRef;

/// The read half of a borrowed [`TcpStream`] ([`TcpStream::split`]).
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
/// use berth::tokio_net::{TcpListener, TcpStream};
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// let listener = TcpListener::bind(&server, "198.18.0.2:7").await?;
/// let mut c = TcpStream::connect(&client, "198.18.0.2:7").await?;
/// let (mut s, _) = listener.accept().await?;
/// c.write_all(b"hi").await?;
/// let (mut rd, mut wr) = s.split(); // borrowed: no allocation, one task
/// let mut buf = [0; 2];
/// rd.read_exact(&mut buf).await?;
/// wr.write_all(&buf).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct ReadHalf<'a>(&'a TcpStream);

/// The write half of a borrowed [`TcpStream`] ([`TcpStream::split`]).
/// `poll_shutdown` shuts the write direction of the stream down.
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
/// use berth::tokio_net::{TcpListener, TcpStream};
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// let listener = TcpListener::bind(&server, "198.18.0.2:7").await?;
/// let mut c = TcpStream::connect(&client, "198.18.0.2:7").await?;
/// let (mut s, _) = listener.accept().await?;
/// let (_rd, mut wr) = s.split();
/// wr.write_all(b"bye").await?;
/// wr.shutdown().await?; // a FIN; the stream can still read
/// let mut all = Vec::new();
/// c.read_to_end(&mut all).await?;
/// assert_eq!(all, b"bye");
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct WriteHalf<'a>(&'a TcpStream);

/// The owned read half of a [`TcpStream`] ([`TcpStream::into_split`]).
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
/// use berth::tokio_net::{TcpListener, TcpStream};
/// use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
///
/// let listener = TcpListener::bind(&server, "198.18.0.2:7").await?;
/// let c = TcpStream::connect(&client, "198.18.0.2:7").await?;
/// let (mut s, _) = listener.accept().await?;
/// tokio::spawn(async move {
///     let (mut rd, mut wr) = s.split();
///     tokio::io::copy(&mut rd, &mut wr).await // echo
/// });
///
/// // A reader task and a writer task on one connection.
/// let (rd, mut wr) = c.into_split();
/// let reader = tokio::spawn(async move {
///     let mut line = String::new();
///     BufReader::new(rd).read_line(&mut line).await.map(|_| line)
/// });
/// wr.write_all(b"ping\n").await?;
/// assert_eq!(reader.await.unwrap()?, "ping\n");
/// # Ok(())
/// # }
/// ```
pub struct OwnedReadHalf {
    sock: Arc<SocketRef>,
}

/// The owned write half of a [`TcpStream`] ([`TcpStream::into_split`]).
/// Dropping it shuts the write direction down (a FIN), like tokio's.
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
/// use berth::tokio_net::{TcpListener, TcpStream};
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// let listener = TcpListener::bind(&server, "198.18.0.2:7").await?;
/// let c = TcpStream::connect(&client, "198.18.0.2:7").await?;
/// let (mut s, _) = listener.accept().await?;
/// let (mut rd, mut wr) = c.into_split();
/// tokio::spawn(async move {
///     wr.write_all(b"request").await
///     // `wr` dropped here: a FIN, as tokio's
/// });
/// let mut request = Vec::new();
/// s.read_to_end(&mut request).await?;
/// assert_eq!(request, b"request");
/// s.write_all(b"reply").await?;
/// drop(s);
/// let mut reply = Vec::new();
/// rd.read_to_end(&mut reply).await?; // the read half still reads
/// assert_eq!(reply, b"reply");
/// # Ok(())
/// # }
/// ```
pub struct OwnedWriteHalf {
    sock: Arc<SocketRef>,
    shutdown_on_drop: bool,
}

/// The halves given to [`OwnedReadHalf::reunite`] came from different
/// streams; they are handed back.
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
/// use berth::tokio_net::{TcpListener, TcpStream};
///
/// let _listener = TcpListener::bind(&server, "198.18.0.2:7").await?;
/// let a = TcpStream::connect(&client, "198.18.0.2:7").await?;
/// let b = TcpStream::connect(&client, "198.18.0.2:7").await?;
/// let (a_rd, a_wr) = a.into_split();
/// let (b_rd, b_wr) = b.into_split();
/// let err = a_rd.reunite(b_wr).unwrap_err();
/// let berth::tokio_net::tcp::ReuniteError(a_rd, b_wr) = err; // handed back
/// let a = a_rd.reunite(a_wr).expect("the same stream");
/// let b = b_rd.reunite(b_wr).expect("the same stream");
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct ReuniteError(pub OwnedReadHalf, pub OwnedWriteHalf);

pub(super) fn split(stream: &mut TcpStream) -> (ReadHalf<'_>, WriteHalf<'_>) {
    (ReadHalf(stream), WriteHalf(stream))
}

pub(super) fn into_split(stream: TcpStream) -> (OwnedReadHalf, OwnedWriteHalf) {
    let sock = stream.sock;
    (
        OwnedReadHalf { sock: sock.clone() },
        OwnedWriteHalf {
            sock,
            shutdown_on_drop: true,
        },
    )
}

impl std::fmt::Display for ReuniteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("tried to reunite halves that are not from the same socket")
    }
}

impl std::error::Error for ReuniteError {}

impl ReadHalf<'_> {
    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.0.peer_addr()
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }

    /// Waits until a read would not block.
    pub async fn readable(&self) -> io::Result<()> {
        self.0.readable().await
    }

    /// Reads without waiting ([`TcpStream::try_read`]).
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.try_read(buf)
    }

    /// Waits for readiness ([`TcpStream::ready`]).
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        self.0.ready(interest).await
    }

    /// Reads into slices without waiting ([`TcpStream::try_read_vectored`]).
    pub fn try_read_vectored(&self, bufs: &mut [io::IoSliceMut<'_>]) -> io::Result<usize> {
        self.0.try_read_vectored(bufs)
    }

    /// Reads into a `BufMut` without waiting ([`TcpStream::try_read_buf`]).
    pub fn try_read_buf<B: bytes::BufMut>(&self, buf: &mut B) -> io::Result<usize> {
        self.0.try_read_buf(buf)
    }

    /// Reads without consuming ([`TcpStream::peek`]).
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
    /// use berth::tokio_net::{TcpListener, TcpStream};
    /// use tokio::io::{AsyncReadExt, AsyncWriteExt};
    ///
    /// let listener = TcpListener::bind(&server, "198.18.0.2:7").await?;
    /// let mut c = TcpStream::connect(&client, "198.18.0.2:7").await?;
    /// let (mut s, _) = listener.accept().await?;
    /// c.write_all(b"GET /").await?;
    /// let (mut rd, _wr) = s.split();
    /// let mut first = [0; 3];
    /// let n = rd.peek(&mut first).await?;
    /// assert_eq!(&first[..n], &b"GET"[..n]);
    /// let mut all = [0; 5];
    /// rd.read_exact(&mut all).await?; // still all there
    /// # Ok(())
    /// # }
    /// ```
    pub async fn peek(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.peek(buf).await
    }

    /// Polls a peek ([`TcpStream::poll_peek`]).
    pub fn poll_peek(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<usize>> {
        self.0.poll_peek(cx, buf)
    }
}

impl WriteHalf<'_> {
    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.0.peer_addr()
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }

    /// Waits until a write would not block.
    pub async fn writable(&self) -> io::Result<()> {
        self.0.writable().await
    }

    /// Writes without waiting ([`TcpStream::try_write`]).
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
    /// use berth::tokio_net::{TcpListener, TcpStream};
    ///
    /// let _listener = TcpListener::bind(&server, "198.18.0.2:7").await?;
    /// let mut c = TcpStream::connect(&client, "198.18.0.2:7").await?;
    /// let (_rd, wr) = c.split();
    /// wr.writable().await?;
    /// assert_eq!(wr.try_write(b"hello")?, 5);
    /// # Ok(())
    /// # }
    /// ```
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.0.try_write(buf)
    }

    /// Waits for readiness ([`TcpStream::ready`]).
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        self.0.ready(interest).await
    }

    /// Writes slices without waiting ([`TcpStream::try_write_vectored`]).
    pub fn try_write_vectored(&self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.0.try_write_vectored(bufs)
    }
}

impl AsRef<TcpStream> for ReadHalf<'_> {
    fn as_ref(&self) -> &TcpStream {
        self.0
    }
}

impl AsRef<TcpStream> for WriteHalf<'_> {
    fn as_ref(&self) -> &TcpStream {
        self.0
    }
}

impl OwnedReadHalf {
    /// Puts the stream back together with its write half, or hands both
    /// back if they are from different streams.
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
    /// use berth::tokio_net::{TcpListener, TcpStream};
    ///
    /// let _listener = TcpListener::bind(&server, "198.18.0.2:7").await?;
    /// let stream = TcpStream::connect(&client, "198.18.0.2:7").await?;
    /// let local = stream.local_addr()?;
    /// let (rd, wr) = stream.into_split();
    /// let stream = rd.reunite(wr).expect("halves of one stream");
    /// assert_eq!(stream.local_addr()?, local);
    /// # Ok(())
    /// # }
    /// ```
    pub fn reunite(self, other: OwnedWriteHalf) -> Result<TcpStream, ReuniteError> {
        if !Arc::ptr_eq(&self.sock, &other.sock) {
            return Err(ReuniteError(self, other));
        }
        other.forget();
        Ok(TcpStream { sock: self.sock })
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        super::peer_addr(&self.sock)
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        super::local_addr(&self.sock)
    }

    /// Waits until a read would not block.
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
    /// use berth::tokio_net::{TcpListener, TcpStream};
    /// use tokio::io::AsyncWriteExt;
    ///
    /// let listener = TcpListener::bind(&server, "198.18.0.2:7").await?;
    /// let c = TcpStream::connect(&client, "198.18.0.2:7").await?;
    /// let (mut s, _) = listener.accept().await?;
    /// s.write_all(b"hi").await?;
    /// let (rd, _wr) = c.into_split();
    /// let mut buf = [0; 16];
    /// let n = loop {
    ///     rd.readable().await?;
    ///     match rd.try_read(&mut buf) {
    ///         Ok(n) => break n,
    ///         Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
    ///         Err(e) => return Err(e),
    ///     }
    /// };
    /// assert_eq!(&buf[..n], b"hi");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn readable(&self) -> io::Result<()> {
        poll_fn(|cx| super::poll_read_ready(&self.sock, cx)).await
    }

    /// Reads without waiting ([`TcpStream::try_read`]).
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        super::try_read(&self.sock, buf)
    }

    /// Waits for readiness ([`TcpStream::ready`]).
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        ops::ready(&self.sock, interest).await
    }

    /// Reads into slices without waiting ([`TcpStream::try_read_vectored`]).
    pub fn try_read_vectored(&self, bufs: &mut [io::IoSliceMut<'_>]) -> io::Result<usize> {
        ops::try_read_vectored(&self.sock, bufs)
    }

    /// Reads into a `BufMut` without waiting ([`TcpStream::try_read_buf`]).
    pub fn try_read_buf<B: bytes::BufMut>(&self, buf: &mut B) -> io::Result<usize> {
        ops::try_read_buf(&self.sock, buf)
    }

    /// Reads without consuming ([`TcpStream::peek`]).
    pub async fn peek(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| super::poll_peek_slice(&self.sock, cx, buf)).await
    }

    /// Polls a peek ([`TcpStream::poll_peek`]).
    pub fn poll_peek(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<usize>> {
        super::poll_peek(&self.sock, cx, buf)
    }
}

impl OwnedWriteHalf {
    /// Drops the half without shutting the write direction down.
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
    /// use std::time::Duration;
    /// use berth::tokio_net::{TcpListener, TcpStream};
    /// use tokio::io::AsyncReadExt;
    /// use tokio::time::timeout;
    ///
    /// let listener = TcpListener::bind(&server, "198.18.0.2:7").await?;
    /// let c = TcpStream::connect(&client, "198.18.0.2:7").await?;
    /// let (mut s, _) = listener.accept().await?;
    /// let (rd, wr) = c.into_split();
    /// wr.forget(); // no FIN: the server's read still waits
    /// assert!(timeout(Duration::from_millis(50), s.read(&mut [0; 1])).await.is_err());
    /// drop(rd); // the last of the stream: now it closes
    /// assert_eq!(s.read(&mut [0; 1]).await?, 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn forget(mut self) {
        self.shutdown_on_drop = false;
    }

    /// Puts the stream back together with its read half.
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
    /// use berth::tokio_net::{TcpListener, TcpStream};
    ///
    /// let _listener = TcpListener::bind(&server, "198.18.0.2:7").await?;
    /// let stream = TcpStream::connect(&client, "198.18.0.2:7").await?;
    /// let (rd, wr) = stream.into_split();
    /// let stream = wr.reunite(rd).expect("halves of one stream");
    /// # Ok(())
    /// # }
    /// ```
    pub fn reunite(self, other: OwnedReadHalf) -> Result<TcpStream, ReuniteError> {
        other.reunite(self)
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        super::peer_addr(&self.sock)
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        super::local_addr(&self.sock)
    }

    /// Waits until a write would not block.
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
    /// use berth::tokio_net::{TcpListener, TcpStream};
    ///
    /// let _listener = TcpListener::bind(&server, "198.18.0.2:7").await?;
    /// let c = TcpStream::connect(&client, "198.18.0.2:7").await?;
    /// let (_rd, wr) = c.into_split();
    /// let mut data: &[u8] = b"hello";
    /// while !data.is_empty() {
    ///     wr.writable().await?;
    ///     match wr.try_write(data) {
    ///         Ok(n) => data = &data[n..],
    ///         Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
    ///         Err(e) => return Err(e),
    ///     }
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn writable(&self) -> io::Result<()> {
        poll_fn(|cx| super::poll_write_ready(&self.sock, cx)).await
    }

    /// Writes without waiting ([`TcpStream::try_write`]).
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        super::try_write(&self.sock, buf)
    }

    /// Waits for readiness ([`TcpStream::ready`]).
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        ops::ready(&self.sock, interest).await
    }

    /// Writes slices without waiting ([`TcpStream::try_write_vectored`]).
    pub fn try_write_vectored(&self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        ops::try_write_vectored(&self.sock, bufs)
    }
}

impl Drop for OwnedWriteHalf {
    fn drop(&mut self) {
        if self.shutdown_on_drop {
            let _ = super::shutdown_write(&self.sock);
        }
    }
}

impl AsyncRead for ReadHalf<'_> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        super::poll_read(&self.0.sock, cx, buf)
    }
}

impl AsyncRead for OwnedReadHalf {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        super::poll_read(&self.sock, cx, buf)
    }
}

impl AsyncWrite for WriteHalf<'_> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        super::poll_write(&self.0.sock, cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(super::shutdown_write(&self.0.sock))
    }
}

impl AsyncWrite for OwnedWriteHalf {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        super::poll_write(&self.sock, cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(super::shutdown_write(&self.sock))
    }
}

impl std::fmt::Debug for OwnedReadHalf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.sock.fmt_debug(f, "OwnedReadHalf", None)
    }
}

impl std::fmt::Debug for OwnedWriteHalf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.sock.fmt_debug(f, "OwnedWriteHalf", None)
    }
}
