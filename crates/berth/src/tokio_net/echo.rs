//! [`IcmpEchoSocket`]: pings to other hosts' addresses, for an async proxy
//! that answers them only when the real destination does.

use std::future::poll_fn;
use std::io;
use std::sync::Arc;

pub use berth_core::stack::EchoRequest;

use crate::NetStack;
use crate::error::to_io_error;
use crate::net::socket::{Direction, SocketRef};

/// The stack's transparent echo socket: echo requests (ping) to any
/// unicast address that is not the stack's own come here instead of being
/// dropped; [`reply`](Self::reply) answers one, from the address pinged.
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
/// # let _client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
/// use berth::tokio_net::IcmpEchoSocket;
///
/// let pings = IcmpEchoSocket::bind_transparent(&proxy)?;
/// // In a proxy: loop { let req = pings.recv_request().await?; ...ping req.dst...;
/// //                     if it answered { pings.reply(&req)?; } }
/// # drop(pings);
/// # Ok(())
/// # }
/// ```
pub struct IcmpEchoSocket {
    sock: Arc<SocketRef>,
}

impl IcmpEchoSocket {
    /// The stack's echo socket (one per stack: `AddrInUse` for a second).
    pub fn bind_transparent(stack: &NetStack) -> io::Result<Self> {
        let shared = stack.shared.clone();
        let h = {
            let mut inner = shared.lock();
            inner
                .stack
                .icmp_echo_bind_transparent()
                .map_err(to_io_error)?
        };
        Ok(Self {
            sock: SocketRef::new(shared, h),
        })
    }

    /// Waits for the next echo request.
    pub async fn recv_request(&self) -> io::Result<EchoRequest> {
        let h = self.sock.handle;
        poll_fn(|cx| {
            self.sock
                .poll_op(cx, Direction::Read, false, |s, _| s.icmp_echo_recv(h))
        })
        .await
    }

    /// Answers `req` with an echo reply from the address it pinged.
    pub fn reply(&self, req: &EchoRequest) -> io::Result<()> {
        let h = self.sock.handle;
        self.sock.call(|s, _| s.icmp_echo_reply(h, req))
    }
}

impl std::fmt::Debug for IcmpEchoSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.sock.fmt_debug(f, "IcmpEchoSocket", None)
    }
}
