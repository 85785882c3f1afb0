//! How `berth bench` opens client connections on each stack: one trait,
//! [`Dial`], over berth's blocking sockets and the kernel's `std::net` ones,
//! so that every workload is written once.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::time::Duration;

/// How long any single read or connect may wait before the run fails
/// rather than hangs.
pub(crate) const STALL: Duration = Duration::from_secs(20);

/// Opens client connections on one stack.
pub(crate) trait Dial {
    type Stream: Read + Write + Send;
    fn dial(&self, addr: SocketAddr) -> io::Result<Self::Stream>;
    fn shutdown_write(stream: &Self::Stream) -> io::Result<()>;
    /// Bounds every later read and write on `stream` by `timeout`.
    fn set_timeout(stream: &Self::Stream, timeout: Duration) -> io::Result<()>;
}

/// The kernel's sockets (in whatever namespace the calling thread is).
pub(crate) struct KernelDial;

impl Dial for KernelDial {
    type Stream = std::net::TcpStream;
    fn dial(&self, addr: SocketAddr) -> io::Result<Self::Stream> {
        let s = std::net::TcpStream::connect_timeout(&addr, STALL)?;
        s.set_read_timeout(Some(STALL))?;
        s.set_write_timeout(Some(STALL))?;
        Ok(s)
    }
    fn shutdown_write(stream: &Self::Stream) -> io::Result<()> {
        stream.shutdown(Shutdown::Write)
    }
    fn set_timeout(stream: &Self::Stream, timeout: Duration) -> io::Result<()> {
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))
    }
}

/// berth's blocking sockets on one stack.
pub(crate) struct BerthDial<'a>(pub(crate) &'a berth::NetStack);

impl Dial for BerthDial<'_> {
    type Stream = berth::net::TcpStream;
    fn dial(&self, addr: SocketAddr) -> io::Result<Self::Stream> {
        let s = berth::net::TcpStream::connect_timeout(self.0, &addr, STALL)?;
        s.set_read_timeout(Some(STALL))?;
        s.set_write_timeout(Some(STALL))?;
        Ok(s)
    }
    fn shutdown_write(stream: &Self::Stream) -> io::Result<()> {
        stream.shutdown(Shutdown::Write)
    }
    fn set_timeout(stream: &Self::Stream, timeout: Duration) -> io::Result<()> {
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))
    }
}
