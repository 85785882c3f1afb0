//! [`TcpForwarder`]: a transparent listener that lets the application
//! decide each connection before the client sees it succeed, as a proxy
//! needs: take the [`SynRequest`], dial the upstream, then
//! [`SynRequest::accept`] (the SYN-ACK goes out now) or
//! [`SynRequest::refuse`] (a RST or an ICMP unreachable, so the client's
//! connect fails with the upstream's meaning, never a reset after a
//! successful connect).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use berth_core::stack::SocketError;
pub use berth_core::stack::SynRefusal;

use super::socket::SocketRef;
use super::tcp::TcpStream;
use crate::NetStack;
use crate::error::to_io_error;

/// A transparent TCP listener that holds each SYN for the application's
/// decision (gVisor's `tcp.Forwarder`). Like
/// [`TcpListener::bind_transparent`](super::TcpListener::bind_transparent)
/// it takes connections to any address and port nothing else claims; one
/// transparent listener per stack.
///
/// # Examples
///
/// ```
/// # use berth::NetStack;
/// # use berth_device::{channel::ChannelDevice, Medium};
/// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
/// # let proxy = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
/// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
/// use std::io::{ErrorKind, Read, Write};
/// use berth::net::{SynRefusal, TcpForwarder, TcpStream};
///
/// let forwarder = TcpForwarder::bind(&proxy, 128)?;
/// let dialler = std::thread::spawn(move || {
///     let refused = TcpStream::connect(&client, "198.19.0.9:25").unwrap_err();
///     assert_eq!(refused.kind(), ErrorKind::ConnectionRefused);
///     let mut ok = TcpStream::connect(&client, "198.19.0.9:80")?;
///     ok.write_all(b"hi")?;
///     std::io::Result::Ok(())
/// });
/// // The upstream for port 25 says no: so does the client's connect.
/// let first = forwarder.request()?;
/// assert_eq!(first.local_addr(), "198.19.0.9:25".parse().unwrap());
/// first.refuse(SynRefusal::Reset)?;
/// // Port 80 works upstream: complete the handshake and relay.
/// let second = forwarder.request()?;
/// let mut s = second.accept()?;
/// let mut buf = [0; 2];
/// s.read_exact(&mut buf)?;
/// assert_eq!(&buf, b"hi");
/// dialler.join().unwrap()?;
/// # std::io::Result::Ok(())
/// ```
pub struct TcpForwarder {
    pub(crate) sock: Arc<SocketRef>,
}

impl TcpForwarder {
    /// The stack's transparent listener, deferring: at most `backlog` SYNs
    /// wait for a decision at once (more are dropped; their clients
    /// retransmit).
    pub fn bind(stack: &NetStack, backlog: usize) -> io::Result<Self> {
        let shared = stack.shared.clone();
        let h = {
            let mut inner = shared.lock();
            let h = inner
                .stack
                .tcp_listen_transparent(backlog)
                .map_err(to_io_error)?;
            if let Err(e) = inner.stack.tcp_set_defer_handshake(h, true) {
                let now = shared.now();
                let _ = inner.stack.close(now, h);
                return Err(to_io_error(e));
            }
            h
        };
        Ok(Self {
            sock: SocketRef::new(shared, h),
        })
    }

    /// Waits for the next connection attempt.
    pub fn request(&self) -> io::Result<SynRequest> {
        let h = self.sock.handle;
        let req = self.sock.wait(None, |s, _| {
            s.tcp_take_syn(h)?.ok_or(SocketError::WouldBlock)
        })?;
        Ok(SynRequest::new(&self.sock, req))
    }

    /// Like `request`, but gives up after `timeout` with `Ok(None)`.
    pub fn request_timeout(&self, timeout: Duration) -> io::Result<Option<SynRequest>> {
        let h = self.sock.handle;
        match self.sock.wait(Some(timeout), |s, _| {
            s.tcp_take_syn(h)?.ok_or(SocketError::WouldBlock)
        }) {
            Ok(req) => Ok(Some(SynRequest::new(&self.sock, req))),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(e),
        }
    }
}

impl std::fmt::Debug for TcpForwarder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.sock.fmt_debug(f, "TcpForwarder", None)
    }
}

/// A client's SYN, held until it is accepted or refused. Dropping it
/// undecided refuses it with a RST.
pub struct SynRequest {
    listener: Arc<SocketRef>,
    req: berth_core::stack::SynRequest,
    decided: bool,
}

impl SynRequest {
    pub(crate) fn new(listener: &Arc<SocketRef>, req: berth_core::stack::SynRequest) -> Self {
        Self {
            listener: listener.clone(),
            req,
            decided: false,
        }
    }

    /// The destination the client dialled.
    pub fn local_addr(&self) -> SocketAddr {
        self.req.local
    }

    /// The client.
    pub fn peer_addr(&self) -> SocketAddr {
        self.req.remote
    }

    /// Completes the handshake: the SYN-ACK goes out, and the connection is
    /// the caller's (reads wait for the client's first data; writes queue
    /// until the handshake is done). Fails with `OutOfMemory` when the
    /// stack's limits refuse a new connection now (the client's next SYN is
    /// a new request).
    pub fn accept(mut self) -> io::Result<TcpStream> {
        self.decided = true;
        let (h, req) = (self.listener.handle, self.req);
        let conn = self
            .listener
            .call(|s, now| s.tcp_complete_syn(now, h, req))?;
        Ok(TcpStream {
            sock: SocketRef::stream(&self.listener.shared, conn),
        })
    }

    /// Refuses the connection: the client is told as `how` says.
    pub fn refuse(mut self, how: SynRefusal) -> io::Result<()> {
        self.decided = true;
        let (h, req) = (self.listener.handle, self.req);
        self.listener
            .call(|s, now| s.tcp_refuse_syn(now, h, req, how))
    }
}

impl std::fmt::Debug for SynRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SynRequest")
            .field("local", &self.req.local)
            .field("peer", &self.req.remote)
            .finish()
    }
}

impl Drop for SynRequest {
    fn drop(&mut self) {
        if !self.decided {
            let (h, req) = (self.listener.handle, self.req);
            let _ = self
                .listener
                .call(|s, now| s.tcp_refuse_syn(now, h, req, SynRefusal::Reset));
        }
    }
}
