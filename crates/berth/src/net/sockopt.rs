//! The socket options std leaves out and programs reach through socket2
//! (or tokio's `TcpSocket`): `TCP_MAXSEG` ([`TcpStream::set_mss`]),
//! `TCP_CORK` ([`TcpStream::set_cork`]), `IP_TOS` / `IPV6_TCLASS`
//! ([`TcpStream::set_tos_v4`], [`TcpStream::set_tclass_v6`], and on UDP
//! sockets), `SO_KEEPALIVE` with its timing ([`TcpStream::set_keepalive`],
//! [`TcpStream::set_tcp_keepalive`] with a [`TcpKeepalive`]). A listener's
//! pass to every stream it accepts, as Linux's do. The names are socket2's
//! (0.5's for the MSS and the cork, which 0.6 calls `set_tcp_mss` and
//! `set_tcp_cork`), the values and the errors Linux's: what its
//! `setsockopt` refuses with `EINVAL` is `InvalidInput` here.

use std::io;
use std::time::Duration;

use berth_core::stack::{KeepaliveTiming, SocketError};

use super::socket::SocketRef;
use super::{TcpListener, TcpStream, UdpSocket};
use crate::error::to_io_error;

/// Keepalive timing for [`TcpStream::set_tcp_keepalive`] (and the
/// listener's and tokio `TcpSocket`'s), as socket2's `TcpKeepalive`: what
/// is not set keeps its value (Linux's defaults: 7200 s, 75 s, 9 probes).
/// Linux keeps the times in whole seconds, 1 to 32767, and 1 to 127
/// probes; anything else is `InvalidInput` when set.
///
/// # Examples
///
/// ```
/// # use berth::NetStack;
/// # use berth_device::{channel::ChannelDevice, Medium};
/// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
/// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
/// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
/// use std::time::Duration;
/// use berth::net::{TcpKeepalive, TcpListener, TcpStream};
///
/// let _listener = TcpListener::bind(&server, "198.18.0.2:80")?;
/// let c = TcpStream::connect(&client, "198.18.0.2:80")?;
/// let keepalive = TcpKeepalive::new()
///     .with_time(Duration::from_secs(60))
///     .with_interval(Duration::from_secs(10))
///     .with_retries(3);
/// c.set_tcp_keepalive(&keepalive)?; // turns SO_KEEPALIVE on too
/// assert!(c.keepalive()?);
/// assert_eq!(c.tcp_keepalive_time()?, Duration::from_secs(60));
/// # std::io::Result::Ok(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TcpKeepalive {
    time: Option<Duration>,
    interval: Option<Duration>,
    retries: Option<u32>,
}

impl TcpKeepalive {
    /// No setting: the socket's timing stays as it is.
    pub const fn new() -> Self {
        Self {
            time: None,
            interval: None,
            retries: None,
        }
    }

    /// `TCP_KEEPIDLE`: how long a connection is idle before the first
    /// probe (whole seconds).
    pub const fn with_time(self, time: Duration) -> Self {
        Self {
            time: Some(time),
            ..self
        }
    }

    /// `TCP_KEEPINTVL`: the time between unanswered probes (whole
    /// seconds).
    pub const fn with_interval(self, interval: Duration) -> Self {
        Self {
            interval: Some(interval),
            ..self
        }
    }

    /// `TCP_KEEPCNT`: how many unanswered probes end the connection.
    pub const fn with_retries(self, retries: u32) -> Self {
        Self {
            retries: Some(retries),
            ..self
        }
    }

    /// The core's form, checked against Linux's ranges.
    pub(crate) fn timing(&self) -> io::Result<KeepaliveTiming> {
        KeepaliveTiming {
            idle: self.time,
            interval: self.interval,
            count: self.retries,
        }
        .checked()
        .map_err(to_io_error)
    }
}

/// The error of an `IP_TOS` / `IPV6_TCLASS` call on a socket of the other
/// family: Linux has no IPv4-mapped traffic on berth's sockets to apply
/// one to (it refuses `IPV6_TCLASS` on an IPv4 socket with
/// `ENOPROTOOPT`).
pub(crate) fn wrong_family(v6: bool) -> io::Error {
    let what = if v6 {
        "IPV6_TCLASS (set_tclass_v6) applies to IPv6 sockets"
    } else {
        "IP_TOS (set_tos_v4) applies to IPv4 sockets"
    };
    io::Error::new(io::ErrorKind::InvalidInput, what)
}

impl SocketRef {
    /// Runs `op` once under the stack's lock, after moving what the
    /// stream's pipe holds into the core, then nudges the stack thread. An
    /// option that decides how written data is cut into segments (the
    /// cork, Nagle) must find that data in the core, as a Linux socket
    /// finds it in its write queue: else uncorking could overtake the
    /// writes it was meant to send together.
    pub(crate) fn call_pumped<T>(
        &self,
        op: impl FnOnce(
            &mut berth_core::stack::Stack,
            berth_core::time::Instant,
        ) -> Result<T, SocketError>,
    ) -> io::Result<T> {
        let mut wakers = Vec::new();
        let r = {
            let mut inner = self.shared.lock();
            let now = self.shared.now();
            inner.pump(self.handle, now, &mut wakers);
            op(&mut inner.stack, now)
        };
        wakers.drain(..).for_each(std::task::Waker::wake);
        self.shared.kick();
        r.map_err(to_io_error)
    }

    /// `TCP_CORK` of a stream or a listener.
    pub(crate) fn set_cork(&self, cork: bool) -> io::Result<()> {
        let h = self.handle;
        self.call_pumped(|s, _| s.tcp_set_cork(h, cork))
    }

    /// `TCP_NODELAY` of a stream: what was written before goes out under
    /// the new setting.
    pub(crate) fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        let h = self.handle;
        self.call_pumped(|s, _| s.tcp_set_nodelay(h, nodelay))
    }

    pub(crate) fn cork(&self) -> io::Result<bool> {
        let h = self.handle;
        self.call(|s, _| s.tcp_cork(h))
    }

    /// `TCP_MAXSEG` of a stream (checked, no effect) or a listener.
    pub(crate) fn set_mss(&self, mss: u32) -> io::Result<()> {
        let h = self.handle;
        self.call(|s, _| s.tcp_set_mss(h, mss))
    }

    pub(crate) fn mss(&self) -> io::Result<u32> {
        let h = self.handle;
        self.call(|s, _| s.tcp_mss(h))
    }

    /// `IP_TOS` (`v6` false) or `IPV6_TCLASS` (`v6` true), on a socket of
    /// that family.
    pub(crate) fn set_tos(&self, tos: u32, v6: bool) -> io::Result<()> {
        let h = self.handle;
        let mut wrong = false;
        self.call(|s, _| {
            if s.local_addr(h)?.is_ipv6() != v6 {
                wrong = true;
                return Err(SocketError::InvalidInput);
            }
            s.set_tos(h, tos)
        })
        .map_err(|e| if wrong { wrong_family(v6) } else { e })
    }

    pub(crate) fn tos(&self, v6: bool) -> io::Result<u32> {
        let h = self.handle;
        let mut wrong = false;
        self.call(|s, _| {
            if s.local_addr(h)?.is_ipv6() != v6 {
                wrong = true;
                return Err(SocketError::InvalidInput);
            }
            s.tos(h)
        })
        .map_err(|e| if wrong { wrong_family(v6) } else { e })
    }

    /// `SO_KEEPALIVE` of a stream or a listener.
    pub(crate) fn set_keepalive(&self, on: bool) -> io::Result<()> {
        let h = self.handle;
        self.call(|s, now| s.tcp_set_keepalive(now, h, on))
    }

    pub(crate) fn keepalive(&self) -> io::Result<bool> {
        let h = self.handle;
        self.call(|s, _| s.tcp_keepalive(h))
    }

    /// socket2's `set_tcp_keepalive`: the timing set, and keepalive on;
    /// nothing changes if a value is out of range.
    pub(crate) fn set_tcp_keepalive(&self, params: &TcpKeepalive) -> io::Result<()> {
        let timing = params.timing()?;
        let h = self.handle;
        self.call(|s, now| {
            s.tcp_set_keepalive_timing(now, h, timing)?;
            s.tcp_set_keepalive(now, h, true)
        })
    }

    /// The keepalive timing that applies (Linux's defaults unless set).
    pub(crate) fn keepalive_timing(&self) -> io::Result<berth_core::tcp::Keepalive> {
        let h = self.handle;
        self.call(|s, _| s.tcp_keepalive_timing(h))
    }
}

impl TcpStream {
    /// `TCP_MAXSEG`, socket2's `set_mss` (0.6: `set_tcp_mss`): 88 to
    /// 32767, or 0 for none; anything else is `InvalidInput`, as Linux's
    /// `EINVAL`. The MSS is agreed in the handshake, and, as on Linux, a
    /// value set on an open connection is checked but changes nothing:
    /// set it on the listener ([`TcpListener::set_mss`]) or, before
    /// connecting, on a `tokio_net::TcpSocket`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use std::io::ErrorKind;
    /// use berth::net::{TcpListener, TcpStream};
    ///
    /// let _listener = TcpListener::bind(&server, "198.18.0.2:80")?;
    /// let c = TcpStream::connect(&client, "198.18.0.2:80")?;
    /// assert_eq!(c.mss()?, 1448); // 1460 less the timestamps option
    /// c.set_mss(500)?; // accepted, as Linux does, but too late to matter
    /// assert_eq!(c.mss()?, 1448);
    /// assert_eq!(c.set_mss(40).unwrap_err().kind(), ErrorKind::InvalidInput);
    /// # std::io::Result::Ok(())
    /// ```
    #[doc(alias = "set_tcp_mss")]
    pub fn set_mss(&self, mss: u32) -> io::Result<()> {
        self.sock.set_mss(mss)
    }

    /// The effective send MSS: the payload of a full-sized segment (Linux's
    /// `getsockopt(TCP_MAXSEG)` on a connection; socket2's `mss`, 0.6:
    /// `tcp_mss`). See [`set_mss`](Self::set_mss).
    #[doc(alias = "tcp_mss")]
    pub fn mss(&self) -> io::Result<u32> {
        self.sock.mss()
    }

    /// `TCP_CORK`, socket2's `set_cork` (0.6: `set_tcp_cork`): while set,
    /// only full-sized segments go out, whatever
    /// [`set_nodelay`](Self::set_nodelay) says. Uncorking sends the rest
    /// (at once with `TCP_NODELAY`, else as Nagle's algorithm allows), as
    /// does a shutdown; corked data never waits more than about 200 ms
    /// with nothing else in flight (Linux's ceiling). For a reply built
    /// from several writes: cork, write, uncork.
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use std::io::{Read, Write};
    /// use berth::net::{TcpListener, TcpStream};
    ///
    /// let listener = TcpListener::bind(&server, "198.18.0.2:80")?;
    /// let mut c = TcpStream::connect(&client, "198.18.0.2:80")?;
    /// let (mut s, _) = listener.accept()?;
    /// c.set_nodelay(true)?;
    /// c.set_cork(true)?;
    /// assert!(c.cork()?);
    /// c.write_all(b"HTTP/1.1 200 OK\r\n")?; // held...
    /// c.write_all(b"Content-Length: 0\r\n\r\n")?;
    /// c.set_cork(false)?; // ...and sent together
    /// let mut reply = [0; 38];
    /// s.read_exact(&mut reply)?;
    /// # std::io::Result::Ok(())
    /// ```
    #[doc(alias = "set_tcp_cork")]
    pub fn set_cork(&self, cork: bool) -> io::Result<()> {
        self.sock.set_cork(cork)
    }

    /// Whether `TCP_CORK` is set (socket2's `cork`, 0.6: `tcp_cork`).
    #[doc(alias = "tcp_cork")]
    pub fn cork(&self) -> io::Result<bool> {
        self.sock.cork()
    }

    /// `IP_TOS` of an IPv4 stream (socket2's and tokio's `set_tos_v4`): the
    /// type-of-service byte of its packets from now on. Only the DSCP part
    /// (the six high bits) is taken: the two ECN bits are the connection's
    /// own, as Linux masks them off a TCP socket's TOS. More than 255, or
    /// an IPv6 stream (see [`set_tclass_v6`](Self::set_tclass_v6)), is
    /// `InvalidInput`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use std::io::ErrorKind;
    /// use berth::net::{TcpListener, TcpStream};
    ///
    /// let _listener = TcpListener::bind(&server, "198.18.0.2:80")?;
    /// let c = TcpStream::connect(&client, "198.18.0.2:80")?;
    /// assert_eq!(c.tos_v4()?, 0);
    /// c.set_tos_v4(0xb8)?; // DSCP 46, Expedited Forwarding
    /// assert_eq!(c.tos_v4()?, 0xb8);
    /// c.set_tos_v4(0xb9)?; // an ECN codepoint is not the application's
    /// assert_eq!(c.tos_v4()?, 0xb8);
    /// assert_eq!(c.set_tclass_v6(0xb8).unwrap_err().kind(), ErrorKind::InvalidInput);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn set_tos_v4(&self, tos: u32) -> io::Result<()> {
        self.sock.set_tos(tos, false)
    }

    /// The `IP_TOS` of an IPv4 stream's packets (0 unless set; without
    /// the ECN bits).
    pub fn tos_v4(&self) -> io::Result<u32> {
        self.sock.tos(false)
    }

    /// `IPV6_TCLASS` of an IPv6 stream (socket2's and tokio's
    /// `set_tclass_v6`): the traffic class of its packets from now on, as
    /// [`set_tos_v4`](Self::set_tos_v4) for IPv4 (the ECN bits stay the
    /// connection's; more than 255 or an IPv4 stream is `InvalidInput`).
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("2001:2::2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("2001:2::1".parse().unwrap()).build(right)?;
    /// use berth::net::{TcpListener, TcpStream};
    ///
    /// let _listener = TcpListener::bind(&server, "[2001:2::2]:80")?;
    /// let c = TcpStream::connect(&client, "[2001:2::2]:80")?;
    /// c.set_tclass_v6(0x28)?; // AF11
    /// assert_eq!(c.tclass_v6()?, 0x28);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn set_tclass_v6(&self, tclass: u32) -> io::Result<()> {
        self.sock.set_tos(tclass, true)
    }

    /// The `IPV6_TCLASS` of an IPv6 stream's packets (0 unless set).
    pub fn tclass_v6(&self) -> io::Result<u32> {
        self.sock.tos(true)
    }

    /// `SO_KEEPALIVE` (tokio's `TcpSocket::set_keepalive`, socket2's
    /// `set_keepalive`): once the connection has been idle for the
    /// keepalive time, probe the peer, and drop the connection (with
    /// `TimedOut`) after the set number of unanswered probes (RFC 1122
    /// 4.2.3.6). The timing is the socket's
    /// ([`set_tcp_keepalive`](Self::set_tcp_keepalive)), else the stack's,
    /// else Linux's: 2 hours, then 9 probes 75 s apart.
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use std::time::Duration;
    /// use berth::net::{TcpListener, TcpStream};
    ///
    /// let _listener = TcpListener::bind(&server, "198.18.0.2:80")?;
    /// let c = TcpStream::connect(&client, "198.18.0.2:80")?;
    /// assert!(!c.keepalive()?);
    /// c.set_keepalive(true)?;
    /// assert!(c.keepalive()?);
    /// assert_eq!(c.tcp_keepalive_time()?, Duration::from_secs(7200));
    /// # std::io::Result::Ok(())
    /// ```
    pub fn set_keepalive(&self, keepalive: bool) -> io::Result<()> {
        self.sock.set_keepalive(keepalive)
    }

    /// Whether `SO_KEEPALIVE` is on.
    pub fn keepalive(&self) -> io::Result<bool> {
        self.sock.keepalive()
    }

    /// socket2's `set_tcp_keepalive`: sets what `params` sets of
    /// `TCP_KEEPIDLE`, `TCP_KEEPINTVL` and `TCP_KEEPCNT`, and turns
    /// `SO_KEEPALIVE` on. A new keepalive time on a connection counts
    /// from when the peer was last heard, as on Linux. Values out of
    /// Linux's range ([`TcpKeepalive`]) are `InvalidInput`, and then
    /// nothing changes.
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use std::io::ErrorKind;
    /// use std::time::Duration;
    /// use berth::net::{TcpKeepalive, TcpListener, TcpStream};
    ///
    /// let _listener = TcpListener::bind(&server, "198.18.0.2:80")?;
    /// let c = TcpStream::connect(&client, "198.18.0.2:80")?;
    /// c.set_tcp_keepalive(&TcpKeepalive::new().with_time(Duration::from_secs(30)).with_retries(4))?;
    /// assert!(c.keepalive()?);
    /// assert_eq!(c.tcp_keepalive_time()?, Duration::from_secs(30));
    /// assert_eq!(c.tcp_keepalive_interval()?, Duration::from_secs(75)); // not set: Linux's
    /// assert_eq!(c.tcp_keepalive_retries()?, 4);
    /// let zero = TcpKeepalive::new().with_time(Duration::ZERO);
    /// assert_eq!(c.set_tcp_keepalive(&zero).unwrap_err().kind(), ErrorKind::InvalidInput);
    /// # std::io::Result::Ok(())
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

impl TcpListener {
    /// `TCP_MAXSEG` for the streams it accepts from now on: the MSS they
    /// announce in their SYN-ACK and send with is at most `mss` (and what
    /// the MTU allows), as on Linux. 88 to 32767, or 0 for none; anything
    /// else is `InvalidInput`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use berth::net::{TcpListener, TcpStream};
    ///
    /// let listener = TcpListener::bind(&server, "198.18.0.2:80")?;
    /// assert_eq!(listener.mss()?, 1460); // what the MTU allows
    /// listener.set_mss(1000)?;
    /// assert_eq!(listener.mss()?, 1000);
    /// let c = TcpStream::connect(&client, "198.18.0.2:80")?;
    /// let (s, _) = listener.accept()?;
    /// // Both ends send at most 1000 bytes a segment, less 12 of timestamps.
    /// assert_eq!((c.mss()?, s.mss()?), (988, 988));
    /// # std::io::Result::Ok(())
    /// ```
    #[doc(alias = "set_tcp_mss")]
    pub fn set_mss(&self, mss: u32) -> io::Result<()> {
        self.sock.set_mss(mss)
    }

    /// The `TCP_MAXSEG` set, else the MSS its streams announce.
    #[doc(alias = "tcp_mss")]
    pub fn mss(&self) -> io::Result<u32> {
        self.sock.mss()
    }

    /// `TCP_CORK` for the streams it accepts from now on (see
    /// [`TcpStream::set_cork`]), as Linux's accepted sockets inherit it.
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use berth::net::{TcpListener, TcpStream};
    ///
    /// let listener = TcpListener::bind(&server, "198.18.0.2:80")?;
    /// listener.set_cork(true)?;
    /// let _c = TcpStream::connect(&client, "198.18.0.2:80")?;
    /// let (s, _) = listener.accept()?;
    /// assert!(s.cork()?);
    /// # std::io::Result::Ok(())
    /// ```
    #[doc(alias = "set_tcp_cork")]
    pub fn set_cork(&self, cork: bool) -> io::Result<()> {
        self.sock.set_cork(cork)
    }

    /// Whether its streams start corked.
    #[doc(alias = "tcp_cork")]
    pub fn cork(&self) -> io::Result<bool> {
        self.sock.cork()
    }

    /// `IP_TOS` of an IPv4 listener: the DSCP of its SYN-ACKs and of the
    /// streams it accepts from now on (see [`TcpStream::set_tos_v4`]).
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use berth::net::{TcpListener, TcpStream};
    ///
    /// let listener = TcpListener::bind(&server, "198.18.0.2:80")?;
    /// listener.set_tos_v4(0x28)?;
    /// assert_eq!(listener.tos_v4()?, 0x28);
    /// let _c = TcpStream::connect(&client, "198.18.0.2:80")?;
    /// let (s, _) = listener.accept()?;
    /// assert_eq!(s.tos_v4()?, 0x28);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn set_tos_v4(&self, tos: u32) -> io::Result<()> {
        self.sock.set_tos(tos, false)
    }

    /// The `IP_TOS` its streams start with.
    pub fn tos_v4(&self) -> io::Result<u32> {
        self.sock.tos(false)
    }

    /// `IPV6_TCLASS` of an IPv6 listener, as
    /// [`set_tos_v4`](Self::set_tos_v4) for IPv4.
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (device, _other_end) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("2001:2::2".parse().unwrap()).build(device)?;
    /// use berth::net::TcpListener;
    ///
    /// let listener = TcpListener::bind(&server, "[::]:80")?;
    /// listener.set_tclass_v6(0x28)?;
    /// assert_eq!(listener.tclass_v6()?, 0x28);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn set_tclass_v6(&self, tclass: u32) -> io::Result<()> {
        self.sock.set_tos(tclass, true)
    }

    /// The `IPV6_TCLASS` its streams start with.
    pub fn tclass_v6(&self) -> io::Result<u32> {
        self.sock.tos(true)
    }

    /// `SO_KEEPALIVE` for the streams it accepts from now on (see
    /// [`TcpStream::set_keepalive`]).
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use berth::net::{TcpListener, TcpStream};
    ///
    /// let listener = TcpListener::bind(&server, "198.18.0.2:80")?;
    /// listener.set_keepalive(true)?;
    /// assert!(listener.keepalive()?);
    /// let _c = TcpStream::connect(&client, "198.18.0.2:80")?;
    /// let (s, _) = listener.accept()?;
    /// assert!(s.keepalive()?);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn set_keepalive(&self, keepalive: bool) -> io::Result<()> {
        self.sock.set_keepalive(keepalive)
    }

    /// Whether its streams start with `SO_KEEPALIVE`.
    pub fn keepalive(&self) -> io::Result<bool> {
        self.sock.keepalive()
    }

    /// socket2's `set_tcp_keepalive` for the streams it accepts from now
    /// on: their keepalive timing, and keepalive on (see
    /// [`TcpStream::set_tcp_keepalive`]).
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use std::time::Duration;
    /// use berth::net::{TcpKeepalive, TcpListener, TcpStream};
    ///
    /// let listener = TcpListener::bind(&server, "198.18.0.2:80")?;
    /// listener.set_tcp_keepalive(&TcpKeepalive::new().with_interval(Duration::from_secs(5)))?;
    /// let _c = TcpStream::connect(&client, "198.18.0.2:80")?;
    /// let (s, _) = listener.accept()?;
    /// assert!(s.keepalive()?);
    /// assert_eq!(s.tcp_keepalive_interval()?, Duration::from_secs(5));
    /// assert_eq!(listener.tcp_keepalive_interval()?, Duration::from_secs(5));
    /// # std::io::Result::Ok(())
    /// ```
    pub fn set_tcp_keepalive(&self, params: &TcpKeepalive) -> io::Result<()> {
        self.sock.set_tcp_keepalive(params)
    }

    /// The `TCP_KEEPIDLE` its streams start with.
    pub fn tcp_keepalive_time(&self) -> io::Result<Duration> {
        Ok(self.sock.keepalive_timing()?.idle)
    }

    /// The `TCP_KEEPINTVL` its streams start with.
    pub fn tcp_keepalive_interval(&self) -> io::Result<Duration> {
        Ok(self.sock.keepalive_timing()?.interval)
    }

    /// The `TCP_KEEPCNT` its streams start with.
    pub fn tcp_keepalive_retries(&self) -> io::Result<u32> {
        Ok(self.sock.keepalive_timing()?.count)
    }
}

impl UdpSocket {
    /// `IP_TOS` of an IPv4 socket (socket2's and tokio's `set_tos_v4`):
    /// the type-of-service byte of its datagrams, ECN bits included (a
    /// UDP application may mark its own codepoint, as on Linux). More than
    /// 255, or an IPv6 socket, is `InvalidInput`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (device, _other_end) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let stack = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(device)?;
    /// use std::io::ErrorKind;
    /// use berth::net::UdpSocket;
    ///
    /// let socket = UdpSocket::bind(&stack, "198.18.0.1:0")?;
    /// socket.set_tos_v4(0xb8 | 0b01)?; // EF, and ECT(1)
    /// assert_eq!(socket.tos_v4()?, 0xb9);
    /// assert_eq!(socket.set_tos_v4(256).unwrap_err().kind(), ErrorKind::InvalidInput);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn set_tos_v4(&self, tos: u32) -> io::Result<()> {
        self.sock.set_tos(tos, false)
    }

    /// The `IP_TOS` of an IPv4 socket's datagrams (0 unless set).
    pub fn tos_v4(&self) -> io::Result<u32> {
        self.sock.tos(false)
    }

    /// `IPV6_TCLASS` of an IPv6 socket (socket2's and tokio's
    /// `set_tclass_v6`): the traffic class of its datagrams, ECN bits
    /// included. More than 255, or an IPv4 socket, is `InvalidInput`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (device, _other_end) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let stack = NetStack::builder().addr("2001:2::1".parse().unwrap()).build(device)?;
    /// use berth::net::UdpSocket;
    ///
    /// let socket = UdpSocket::bind(&stack, "[2001:2::1]:0")?;
    /// socket.set_tclass_v6(0x28)?;
    /// assert_eq!(socket.tclass_v6()?, 0x28);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn set_tclass_v6(&self, tclass: u32) -> io::Result<()> {
        self.sock.set_tos(tclass, true)
    }

    /// The `IPV6_TCLASS` of an IPv6 socket's datagrams (0 unless set).
    pub fn tclass_v6(&self) -> io::Result<u32> {
        self.sock.tos(true)
    }
}
