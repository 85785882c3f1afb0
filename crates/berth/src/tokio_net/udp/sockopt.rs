//! The traffic class of a UDP socket's datagrams, as tokio's:
//! `set_tos_v4` (`IP_TOS`) and `set_tclass_v6` (`IPV6_TCLASS`), with the
//! deprecated `set_tos`/`tos`. The byte goes out whole, ECN bits
//! included, as from a Linux UDP socket.

use std::io;

use super::UdpSocket;

impl UdpSocket {
    /// `IP_TOS` of an IPv4 socket: the type-of-service byte of its
    /// datagrams, ECN bits included. More than 255, or an IPv6 socket, is
    /// `InvalidInput`.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (device, _other_end) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let stack = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(device)?;
    /// use std::io::ErrorKind;
    /// use berth::tokio_net::UdpSocket;
    ///
    /// let socket = UdpSocket::bind(&stack, "198.18.0.1:0").await?;
    /// socket.set_tos_v4(0xb8)?; // EF
    /// assert_eq!(socket.tos_v4()?, 0xb8);
    /// assert_eq!(socket.set_tclass_v6(0xb8).unwrap_err().kind(), ErrorKind::InvalidInput);
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_tos_v4(&self, tos: u32) -> io::Result<()> {
        self.sock.set_tos(tos, false)
    }

    /// The `IP_TOS` of an IPv4 socket's datagrams (0 unless set).
    pub fn tos_v4(&self) -> io::Result<u32> {
        self.sock.tos(false)
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

    /// `IPV6_TCLASS` of an IPv6 socket: the traffic class of its
    /// datagrams, ECN bits included. More than 255, or an IPv4 socket, is
    /// `InvalidInput`.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (device, _other_end) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let stack = NetStack::builder().addr("2001:2::1".parse().unwrap()).build(device)?;
    /// use berth::tokio_net::UdpSocket;
    ///
    /// let socket = UdpSocket::bind(&stack, "[2001:2::1]:0").await?;
    /// socket.set_tclass_v6(0x28 | 0b10)?; // AF11, and ECT(0)
    /// assert_eq!(socket.tclass_v6()?, 0x2a);
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_tclass_v6(&self, tclass: u32) -> io::Result<()> {
        self.sock.set_tos(tclass, true)
    }

    /// The `IPV6_TCLASS` of an IPv6 socket's datagrams (0 unless set).
    pub fn tclass_v6(&self) -> io::Result<u32> {
        self.sock.tos(true)
    }
}
