//! The options tokio leaves to socket2, on [`TcpStream`] and, before the
//! connection, on [`TcpSocket`]: `TCP_MAXSEG` (`set_mss`), `TCP_CORK`
//! (`set_cork`), `IP_TOS` / `IPV6_TCLASS` (`set_tos_v4`, `set_tclass_v6`,
//! which tokio's `TcpSocket` has), `SO_KEEPALIVE` and its timing
//! (`set_keepalive`, `set_tcp_keepalive` with a
//! [`TcpKeepalive`](crate::net::TcpKeepalive)). They behave as the
//! blocking [`crate::net::TcpStream`]'s, which say more.

use std::io;
use std::time::Duration;

use berth_core::stack::{check_mss, check_tos};

use super::{TcpSocket, TcpStream};
use crate::error::to_io_error;
use crate::net::TcpKeepalive;
use crate::net::sockopt::wrong_family;

impl TcpStream {
    /// `TCP_MAXSEG` (socket2's `set_mss`, 0.6: `set_tcp_mss`): 88 to
    /// 32767, or 0 for none, else `InvalidInput`. As on Linux, an open
    /// connection keeps the MSS of its handshake: set it on the
    /// [`TcpSocket`] before connecting, or before listening.
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
    /// let _listener = TcpListener::bind(&server, "198.18.0.2:80").await?;
    /// let c = TcpStream::connect(&client, "198.18.0.2:80").await?;
    /// assert_eq!(c.mss()?, 1448); // 1460 less the timestamps option
    /// c.set_mss(536)?; // accepted, but too late to matter
    /// assert_eq!(c.mss()?, 1448);
    /// # Ok(())
    /// # }
    /// ```
    #[doc(alias = "set_tcp_mss")]
    pub fn set_mss(&self, mss: u32) -> io::Result<()> {
        self.sock.set_mss(mss)
    }

    /// The effective send MSS: the payload of a full-sized segment.
    #[doc(alias = "tcp_mss")]
    pub fn mss(&self) -> io::Result<u32> {
        self.sock.mss()
    }

    /// `TCP_CORK` (socket2's `set_cork`, 0.6: `set_tcp_cork`): while set,
    /// only full-sized segments go out, even with `TCP_NODELAY`;
    /// uncorking sends the rest. Corked data waits at most about 200 ms
    /// with nothing else in flight, as on Linux.
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
    /// let listener = TcpListener::bind(&server, "198.18.0.2:80").await?;
    /// let mut c = TcpStream::connect(&client, "198.18.0.2:80").await?;
    /// let (mut s, _) = listener.accept().await?;
    /// c.set_cork(true)?;
    /// c.write_all(b"head ").await?;
    /// c.write_all(b"and body").await?;
    /// c.set_cork(false)?; // one segment for both writes
    /// let mut got = [0; 13];
    /// s.read_exact(&mut got).await?;
    /// assert!(!c.cork()?);
    /// # Ok(())
    /// # }
    /// ```
    #[doc(alias = "set_tcp_cork")]
    pub fn set_cork(&self, cork: bool) -> io::Result<()> {
        self.sock.set_cork(cork)
    }

    /// Whether `TCP_CORK` is set.
    #[doc(alias = "tcp_cork")]
    pub fn cork(&self) -> io::Result<bool> {
        self.sock.cork()
    }

    /// `IP_TOS` of an IPv4 stream: the DSCP of its packets from now on
    /// (the ECN bits stay the connection's). More than 255, or an IPv6
    /// stream, is `InvalidInput`.
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
    /// let _listener = TcpListener::bind(&server, "198.18.0.2:80").await?;
    /// let c = TcpStream::connect(&client, "198.18.0.2:80").await?;
    /// c.set_tos_v4(0xb8)?;
    /// assert_eq!(c.tos_v4()?, 0xb8);
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_tos_v4(&self, tos: u32) -> io::Result<()> {
        self.sock.set_tos(tos, false)
    }

    /// The `IP_TOS` of an IPv4 stream's packets (0 unless set).
    pub fn tos_v4(&self) -> io::Result<u32> {
        self.sock.tos(false)
    }

    /// `IPV6_TCLASS` of an IPv6 stream, as [`set_tos_v4`](Self::set_tos_v4)
    /// for IPv4.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("2001:2::2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("2001:2::1".parse().unwrap()).build(right)?;
    /// use std::io::ErrorKind;
    /// use berth::tokio_net::{TcpListener, TcpStream};
    ///
    /// let _listener = TcpListener::bind(&server, "[2001:2::2]:80").await?;
    /// let c = TcpStream::connect(&client, "[2001:2::2]:80").await?;
    /// c.set_tclass_v6(0x28)?;
    /// assert_eq!(c.tclass_v6()?, 0x28);
    /// assert_eq!(c.set_tos_v4(0x28).unwrap_err().kind(), ErrorKind::InvalidInput);
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_tclass_v6(&self, tclass: u32) -> io::Result<()> {
        self.sock.set_tos(tclass, true)
    }

    /// The `IPV6_TCLASS` of an IPv6 stream's packets (0 unless set).
    pub fn tclass_v6(&self) -> io::Result<u32> {
        self.sock.tos(true)
    }

    /// `SO_KEEPALIVE` (tokio's `TcpSocket::set_keepalive`): probe the peer
    /// once the connection is idle, with the socket's timing, else the
    /// stack's, else Linux's (2 hours, then 9 probes 75 s apart).
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
    /// let _listener = TcpListener::bind(&server, "198.18.0.2:80").await?;
    /// let c = TcpStream::connect(&client, "198.18.0.2:80").await?;
    /// c.set_keepalive(true)?;
    /// assert!(c.keepalive()?);
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_keepalive(&self, keepalive: bool) -> io::Result<()> {
        self.sock.set_keepalive(keepalive)
    }

    /// Whether `SO_KEEPALIVE` is on.
    pub fn keepalive(&self) -> io::Result<bool> {
        self.sock.keepalive()
    }

    /// socket2's `set_tcp_keepalive`: the keepalive timing `params` sets,
    /// and `SO_KEEPALIVE` on; out of Linux's ranges, `InvalidInput` and no
    /// change.
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
    /// use berth::tokio_net::{TcpKeepalive, TcpListener, TcpStream};
    ///
    /// let _listener = TcpListener::bind(&server, "198.18.0.2:80").await?;
    /// let c = TcpStream::connect(&client, "198.18.0.2:80").await?;
    /// c.set_tcp_keepalive(&TcpKeepalive::new().with_time(Duration::from_secs(20)).with_retries(2))?;
    /// assert_eq!(c.tcp_keepalive_time()?, Duration::from_secs(20));
    /// assert_eq!(c.tcp_keepalive_interval()?, Duration::from_secs(75));
    /// assert_eq!(c.tcp_keepalive_retries()?, 2);
    /// assert!(c.set_tcp_keepalive(&TcpKeepalive::new().with_retries(128)).is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_tcp_keepalive(&self, params: &TcpKeepalive) -> io::Result<()> {
        self.sock.set_tcp_keepalive(params)
    }

    /// `TCP_KEEPIDLE`: the idle time before the first probe.
    pub fn tcp_keepalive_time(&self) -> io::Result<Duration> {
        Ok(self.sock.keepalive_timing()?.idle)
    }

    /// `TCP_KEEPINTVL`: the time between unanswered probes.
    pub fn tcp_keepalive_interval(&self) -> io::Result<Duration> {
        Ok(self.sock.keepalive_timing()?.interval)
    }

    /// `TCP_KEEPCNT`: the unanswered probes that end the connection.
    pub fn tcp_keepalive_retries(&self) -> io::Result<u32> {
        Ok(self.sock.keepalive_timing()?.count)
    }
}

impl TcpSocket {
    /// `TCP_MAXSEG` before the connection (tokio's `TcpSocket` has none;
    /// socket2's `set_mss`, 0.6: `set_tcp_mss`): the MSS the connection
    /// announces and sends with is at most `mss`, and at most what the MTU
    /// allows; on a socket that listens, that of every stream it accepts.
    /// 88 to 32767, or 0 for none; anything else is `InvalidInput`, as
    /// Linux's `EINVAL`.
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
    /// use berth::tokio_net::{TcpListener, TcpSocket};
    ///
    /// let listener = TcpListener::bind(&server, "198.18.0.2:80").await?;
    /// let socket = TcpSocket::new_v4(&client)?;
    /// assert_eq!(socket.mss()?, 1460); // what the MTU allows
    /// socket.set_mss(1200)?;
    /// assert_eq!(socket.mss()?, 1200);
    /// assert_eq!(socket.set_mss(87).unwrap_err().kind(), ErrorKind::InvalidInput);
    /// let stream = socket.connect("198.18.0.2:80".parse().unwrap()).await?;
    /// let (accepted, _) = listener.accept().await?;
    /// assert_eq!((stream.mss()?, accepted.mss()?), (1188, 1188)); // less 12 of timestamps
    /// # Ok(())
    /// # }
    /// ```
    #[doc(alias = "set_tcp_mss")]
    pub fn set_mss(&self, mss: u32) -> io::Result<()> {
        self.state().opts.mss = check_mss(mss).map_err(to_io_error)?;
        Ok(())
    }

    /// The `TCP_MAXSEG` set, else the MSS the connection will announce.
    #[doc(alias = "tcp_mss")]
    pub fn mss(&self) -> io::Result<u32> {
        let set = self.state().opts.mss;
        let mss = match set {
            Some(mss) => mss,
            None => self.shared.lock().stack.tcp_default_mss(self.v6),
        };
        Ok(u32::from(mss))
    }

    /// `TCP_CORK` for the socket's connections (see
    /// [`TcpStream::set_cork`]).
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
    /// use berth::tokio_net::TcpSocket;
    ///
    /// let socket = TcpSocket::new_v4(&client)?;
    /// socket.set_cork(true)?;
    /// assert!(socket.cork()?);
    /// # Ok(())
    /// # }
    /// ```
    #[doc(alias = "set_tcp_cork")]
    pub fn set_cork(&self, cork: bool) -> io::Result<()> {
        self.state().opts.cork = Some(cork);
        Ok(())
    }

    /// Whether the socket's connections start corked.
    #[doc(alias = "tcp_cork")]
    pub fn cork(&self) -> io::Result<bool> {
        Ok(self.resolved().cork.unwrap_or(false))
    }

    /// `IP_TOS` of an IPv4 socket (tokio's `set_tos_v4`): the DSCP of its
    /// connections' packets, from the SYN (or a listener's SYN-ACK) on; the
    /// ECN bits are the connections' own. More than 255, or an IPv6
    /// socket, is `InvalidInput`.
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
    /// use berth::tokio_net::{TcpListener, TcpSocket};
    ///
    /// let _listener = TcpListener::bind(&server, "198.18.0.2:80").await?;
    /// let socket = TcpSocket::new_v4(&client)?;
    /// socket.set_tos_v4(0xb8)?;
    /// assert_eq!(socket.tos_v4()?, 0xb8);
    /// let stream = socket.connect("198.18.0.2:80".parse().unwrap()).await?;
    /// assert_eq!(stream.tos_v4()?, 0xb8);
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_tos_v4(&self, tos: u32) -> io::Result<()> {
        self.set_class(tos, false)
    }

    /// The `IP_TOS` the socket's connections start with (0 unless set).
    pub fn tos_v4(&self) -> io::Result<u32> {
        self.class(false)
    }

    /// Deprecated in tokio: use [`set_tos_v4`](Self::set_tos_v4).
    #[deprecated(
        note = "`tos` related methods have been renamed `tos_v4` since they are IPv4-specific."
    )]
    #[doc(hidden)]
    pub fn set_tos(&self, tos: u32) -> io::Result<()> {
        self.set_tos_v4(tos)
    }

    /// Deprecated in tokio: use [`tos_v4`](Self::tos_v4).
    #[deprecated(
        note = "`tos` related methods have been renamed `tos_v4` since they are IPv4-specific."
    )]
    #[doc(hidden)]
    pub fn tos(&self) -> io::Result<u32> {
        self.tos_v4()
    }

    /// `IPV6_TCLASS` of an IPv6 socket (tokio's `set_tclass_v6`), as
    /// [`set_tos_v4`](Self::set_tos_v4) for IPv4.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (device, _other_end) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let stack = NetStack::builder().addr("2001:2::2".parse().unwrap()).build(device)?;
    /// use std::io::ErrorKind;
    /// use berth::tokio_net::TcpSocket;
    ///
    /// let socket = TcpSocket::new_v6(&stack)?;
    /// socket.set_tclass_v6(0x28)?;
    /// assert_eq!(socket.tclass_v6()?, 0x28);
    /// let e = TcpSocket::new_v4(&stack)?.set_tclass_v6(0x28).unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::InvalidInput);
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_tclass_v6(&self, tclass: u32) -> io::Result<()> {
        self.set_class(tclass, true)
    }

    /// The `IPV6_TCLASS` the socket's connections start with (0 unless
    /// set).
    pub fn tclass_v6(&self) -> io::Result<u32> {
        self.class(true)
    }

    fn set_class(&self, tos: u32, v6: bool) -> io::Result<()> {
        if self.v6 != v6 {
            return Err(wrong_family(v6));
        }
        let tos = check_tos(tos).map_err(to_io_error)?;
        self.state().opts.tos = Some(tos & !0b11);
        Ok(())
    }

    fn class(&self, v6: bool) -> io::Result<u32> {
        if self.v6 != v6 {
            return Err(wrong_family(v6));
        }
        Ok(u32::from(self.state().opts.tos.unwrap_or(0)))
    }

    /// socket2's `set_tcp_keepalive`: the keepalive timing of the socket's
    /// connections, and [`set_keepalive(true)`](Self::set_keepalive). Out
    /// of Linux's ranges, `InvalidInput` and no change.
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
    /// use berth::tokio_net::{TcpKeepalive, TcpListener, TcpSocket};
    ///
    /// let listener = TcpListener::bind(&server, "198.18.0.2:80").await?;
    /// let socket = TcpSocket::new_v4(&client)?;
    /// let keepalive = TcpKeepalive::new()
    ///     .with_time(Duration::from_secs(60))
    ///     .with_interval(Duration::from_secs(10))
    ///     .with_retries(3);
    /// socket.set_tcp_keepalive(&keepalive)?;
    /// assert!(socket.keepalive()?);
    /// assert_eq!(socket.tcp_keepalive_interval()?, Duration::from_secs(10));
    /// let stream = socket.connect("198.18.0.2:80".parse().unwrap()).await?;
    /// assert_eq!(stream.tcp_keepalive_time()?, Duration::from_secs(60));
    /// assert_eq!(stream.tcp_keepalive_retries()?, 3);
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_tcp_keepalive(&self, params: &TcpKeepalive) -> io::Result<()> {
        let timing = params.timing()?;
        let mut st = self.state();
        st.opts.keepalive_timing = st.opts.keepalive_timing.merged(timing);
        st.opts.keepalive = Some(true);
        Ok(())
    }

    /// The `TCP_KEEPIDLE` of the socket's connections.
    pub fn tcp_keepalive_time(&self) -> io::Result<Duration> {
        Ok(self.timing().idle)
    }

    /// The `TCP_KEEPINTVL` of the socket's connections.
    pub fn tcp_keepalive_interval(&self) -> io::Result<Duration> {
        Ok(self.timing().interval)
    }

    /// The `TCP_KEEPCNT` of the socket's connections.
    pub fn tcp_keepalive_retries(&self) -> io::Result<u32> {
        Ok(self.timing().count)
    }

    /// The keepalive timing that applies.
    fn timing(&self) -> berth_core::tcp::Keepalive {
        let t = self.resolved().keepalive_timing;
        let linux = berth_core::tcp::Keepalive::default();
        t.applied_to(linux)
    }
}
