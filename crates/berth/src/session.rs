//! Servers on the run-to-completion path made easy: [`NetStack::serve`]
//! gives each connection of a port its own state (a [`Session`]) and an
//! output buffer that never blocks, flushed by the stack thread as the
//! peer acknowledges. A session is a small state machine: no thread, no
//! stack of its own, so an idle connection costs its socket and its state.
//!
//! ```
//! use std::io::{Read, Write};
//! use berth::{NetStack, Session, SessionIo, net::TcpStream};
//! use berth_device::{channel::ChannelDevice, Medium};
//!
//! /// RFC 862 echo, with back-pressure: it reads only while what it wrote
//! /// has gone out.
//! struct Echo;
//!
//! impl Session for Echo {
//!     fn readable(&mut self, io: &mut SessionIo<'_, '_>) {
//!         // A reused buffer: nothing to clear for each small read.
//!         berth::session::with_scratch(|buf| {
//!             while io.buffered() == 0 {
//!                 match io.read(buf) {
//!                     Ok(0) => return io.close(),
//!                     Ok(n) => { let _ = io.write(&buf[..n]); }
//!                     Err(_) => return,
//!                 }
//!             }
//!         })
//!     }
//!     fn writable(&mut self, io: &mut SessionIo<'_, '_>) {
//!         self.readable(io);
//!     }
//! }
//!
//! let (left, right) = ChannelDevice::pair(1500, Medium::Ip).unwrap();
//! let host = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left).unwrap();
//! let peer = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right).unwrap();
//! let _port = host.serve("198.18.0.2:7", |_peer| Echo).unwrap();
//! let mut c = TcpStream::connect(&peer, "198.18.0.2:7").unwrap();
//! c.write_all(b"ping").unwrap();
//! let mut back = [0; 4];
//! c.read_exact(&mut back).unwrap();
//! assert_eq!(&back, b"ping");
//! ```

use std::cell::RefCell;
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};

use berth_core::handle::{HandleMap, SocketHandle};

use crate::NetStack;
use crate::callback::{PortCtx, PortListener};
use crate::ports::PortEvent;

/// One connection of a port served with [`NetStack::serve`]: its state,
/// and what it does at each event. Every method runs on the stack thread
/// and must not block.
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
/// use std::net::Shutdown;
/// use std::time::Duration;
/// use berth::{Session, SessionIo, net::TcpStream};
///
/// /// Counts what the peer sends and says how much at its end of stream.
/// struct Count {
///     bytes: usize,
/// }
///
/// impl Session for Count {
///     fn opened(&mut self, io: &mut SessionIo<'_, '_>) {
///         io.set_timeout(Some(Duration::from_secs(30))); // then `timeout`: a reset
///     }
///     fn readable(&mut self, io: &mut SessionIo<'_, '_>) {
///         let mut buf = [0; 1024];
///         loop {
///             match io.read(&mut buf) {
///                 Ok(0) => {
///                     let _ = io.write(format!("{} bytes\n", self.bytes).as_bytes());
///                     return io.close(); // once the reply has gone out
///                 }
///                 Ok(n) => self.bytes += n,
///                 Err(_) => return, // WouldBlock: more comes with the next `readable`
///             }
///         }
///     }
/// }
///
/// let _port = server.serve("198.18.0.2:9", |_peer| Count { bytes: 0 })?;
/// let mut c = TcpStream::connect(&client, "198.18.0.2:9")?;
/// c.write_all(b"twelve bytes")?;
/// c.shutdown(Shutdown::Write)?;
/// let mut reply = String::new();
/// c.read_to_string(&mut reply)?;
/// assert_eq!(reply, "12 bytes\n");
/// # std::io::Result::Ok(())
/// ```
pub trait Session: Send + 'static {
    /// The connection is established (before any data is read).
    fn opened(&mut self, _io: &mut SessionIo<'_, '_>) {}

    /// Data or the end of stream can be read. Edge-triggered: read until
    /// `WouldBlock` (or stop early and resume from [`Session::writable`]:
    /// no new `readable` comes for data already waiting).
    fn readable(&mut self, io: &mut SessionIo<'_, '_>);

    /// What was buffered has all gone to the connection, and it takes
    /// more.
    fn writable(&mut self, _io: &mut SessionIo<'_, '_>) {}

    /// The connection is gone (the peer closed it or it failed); the
    /// session is dropped after this. Not called after the session itself
    /// closed or aborted it.
    fn closed(&mut self) {}

    /// The timeout set with [`SessionIo::set_timeout`] ran out. By
    /// default the connection is aborted (a reset: a session that gives up
    /// must not make a cut stream look whole).
    fn timeout(&mut self, io: &mut SessionIo<'_, '_>) {
        io.abort();
    }

    /// The stack is stopping (its `NetStack` dropped, `berth up`
    /// interrupted): end the connection. By default it is closed (a FIN
    /// after what the connection holds) if nothing waits in the session's
    /// buffer, and aborted if something does: written but never handed
    /// over, it would be cut. A session in the middle of a response that
    /// is not all written yet should abort: the peer must see a reset, not
    /// a stream that looks whole. Connections not settled when the grace
    /// period ends (2 s) are reset.
    fn stopping(&mut self, io: &mut SessionIo<'_, '_>) {
        if io.buffered() > 0 {
            io.abort();
        } else {
            io.close();
        }
    }
}

/// What a [`Session`] may do with its connection.
///
/// # Examples
///
/// ```
/// # use berth::NetStack;
/// # use berth_device::{channel::ChannelDevice, Medium};
/// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
/// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
/// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
/// use std::io::Read;
/// use berth::{Session, SessionIo, net::TcpStream};
///
/// /// Sends 1 MiB at once: `write` never blocks, what the connection cannot
/// /// take yet waits in the session's buffer and leaves as the peer reads.
/// struct Blob;
///
/// impl Session for Blob {
///     fn opened(&mut self, io: &mut SessionIo<'_, '_>) {
///         let _ = io.write(&vec![7; 1 << 20]);
///         io.close(); // once all of it has gone out
///     }
///     fn readable(&mut self, _io: &mut SessionIo<'_, '_>) {}
/// }
///
/// let _port = server.serve("198.18.0.2:19", |_peer| Blob)?;
/// let mut c = TcpStream::connect(&client, "198.18.0.2:19")?;
/// let mut all = Vec::new();
/// c.read_to_end(&mut all)?;
/// assert_eq!(all.len(), 1 << 20);
/// # std::io::Result::Ok(())
/// ```
pub struct SessionIo<'c, 'a> {
    ctx: &'c mut PortCtx<'a>,
    conn: SocketHandle,
    slot: &'c mut Output,
}

/// A connection's output buffer and what to do once it is flushed.
#[derive(Default)]
struct Output {
    buf: Vec<u8>,
    /// Bytes of `buf` already handed to the connection.
    sent: usize,
    /// Close (or just send a FIN) once `buf` is flushed.
    then: Option<Then>,
    /// Closed or aborted: the session is done.
    done: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Then {
    ShutdownWrite,
    Close,
}

impl Output {
    fn pending(&self) -> &[u8] {
        self.buf.get(self.sent..).unwrap_or(&[])
    }
}

impl SessionIo<'_, '_> {
    /// Reads into `buf`: `Ok(0)` is end of stream, `WouldBlock` means
    /// nothing more for now (the [`Session`] example reads in a loop).
    pub fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.ctx.recv(self.conn, buf)
    }

    /// Reads without a copy ([`PortCtx::recv_with`]): `f` sees the data
    /// as two slices and returns how many bytes it used.
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use std::io::Write;
    /// use std::net::Shutdown;
    /// use std::sync::mpsc;
    /// use berth::{Session, SessionIo, net::TcpStream};
    ///
    /// /// Discard, counting bytes it never copies.
    /// struct Discard {
    ///     bytes: usize,
    ///     total: mpsc::Sender<usize>,
    /// }
    ///
    /// impl Session for Discard {
    ///     fn readable(&mut self, io: &mut SessionIo<'_, '_>) {
    ///         loop {
    ///             match io.read_with(|a, b| a.len() + b.len()) {
    ///                 Ok(0) => {
    ///                     let _ = self.total.send(self.bytes);
    ///                     return io.close();
    ///                 }
    ///                 Ok(n) => self.bytes += n,
    ///                 Err(_) => return,
    ///             }
    ///         }
    ///     }
    /// }
    ///
    /// let (total, counted) = mpsc::channel();
    /// let _port = server.serve("198.18.0.2:9", move |_peer| Discard { bytes: 0, total: total.clone() })?;
    /// let mut c = TcpStream::connect(&client, "198.18.0.2:9")?;
    /// c.write_all(&[0; 50_000])?;
    /// c.shutdown(Shutdown::Write)?;
    /// assert_eq!(counted.recv().unwrap(), 50_000);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn read_with(&mut self, f: impl FnOnce(&[u8], &[u8]) -> usize) -> io::Result<usize> {
        self.ctx.recv_with(self.conn, f)
    }

    /// Writes all of `data`: what the connection takes now goes to it, the
    /// rest waits in the session's buffer and goes out as the peer makes
    /// room, in order. Never blocks; an error only if the connection can no
    /// longer send (`BrokenPipe`, `ConnectionReset`), or after
    /// [`close`](Self::close) or [`shutdown_write`](Self::shutdown_write).
    /// The [`SessionIo`] example writes 1 MiB in one call.
    pub fn write(&mut self, data: &[u8]) -> io::Result<()> {
        if self.slot.done || self.slot.then.is_some() {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        let taken = if self.slot.pending().is_empty() {
            match self.ctx.send(self.conn, data) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => 0,
                Err(e) => return Err(e),
            }
        } else {
            0
        };
        if let Some(rest) = data.get(taken..).filter(|r| !r.is_empty()) {
            if self.slot.sent > 0 && self.slot.sent == self.slot.buf.len() {
                self.slot.buf.clear();
                self.slot.sent = 0;
            }
            self.slot.buf.extend_from_slice(rest);
        }
        Ok(())
    }

    /// Writes what the connection takes now, without buffering:
    /// `WouldBlock` when it takes nothing (or the buffer still holds
    /// data); a `writable` call follows when there is room.
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use std::io::Read;
    /// use berth::{Session, SessionIo, net::TcpStream};
    ///
    /// /// Sends as much of a stream of bytes as the connection takes, when it
    /// /// takes it, without buffering any.
    /// struct Chargen {
    ///     left: usize,
    /// }
    ///
    /// impl Chargen {
    ///     fn fill(&mut self, io: &mut SessionIo<'_, '_>) {
    ///         let line = [b'x'; 512];
    ///         while self.left > 0 {
    ///             match io.try_write(&line[..self.left.min(512)]) {
    ///                 Ok(n) => self.left -= n,
    ///                 Err(_) => return, // WouldBlock: `writable` comes when there is room
    ///             }
    ///         }
    ///         io.close();
    ///     }
    /// }
    ///
    /// impl Session for Chargen {
    ///     fn opened(&mut self, io: &mut SessionIo<'_, '_>) { self.fill(io) }
    ///     fn readable(&mut self, _io: &mut SessionIo<'_, '_>) {}
    ///     fn writable(&mut self, io: &mut SessionIo<'_, '_>) { self.fill(io) }
    /// }
    ///
    /// let _port = server.serve("198.18.0.2:19", |_peer| Chargen { left: 1 << 20 })?;
    /// let mut c = TcpStream::connect(&client, "198.18.0.2:19")?;
    /// let mut all = Vec::new();
    /// c.read_to_end(&mut all)?;
    /// assert_eq!(all.len(), 1 << 20);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn try_write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.slot.done || self.slot.then.is_some() {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        if !self.slot.pending().is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        self.ctx.send(self.conn, data)
    }

    /// Bytes written but still waiting in the session's buffer.
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use berth::{Session, SessionIo};
    ///
    /// /// Echo with back-pressure: it reads only while what it wrote has gone
    /// /// out, so a peer that does not read stops being read from.
    /// struct Echo;
    ///
    /// impl Session for Echo {
    ///     fn readable(&mut self, io: &mut SessionIo<'_, '_>) {
    ///         let mut buf = [0; 4096];
    ///         while io.buffered() == 0 {
    ///             match io.read(&mut buf) {
    ///                 Ok(0) => return io.close(),
    ///                 Ok(n) => drop(io.write(&buf[..n])),
    ///                 Err(_) => return,
    ///             }
    ///         }
    ///     }
    ///     // Everything buffered has gone: read on.
    ///     fn writable(&mut self, io: &mut SessionIo<'_, '_>) {
    ///         self.readable(io)
    ///     }
    /// }
    /// let _port = server.serve("198.18.0.2:7", |_peer| Echo)?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn buffered(&self) -> usize {
        self.slot.pending().len()
    }

    /// Sends a FIN once everything written has gone out; reads go on.
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
    /// use berth::{Session, SessionIo, net::TcpStream};
    ///
    /// /// Says its piece at once and ends its side, then listens until the
    /// /// peer ends its own.
    /// struct Banner;
    ///
    /// impl Session for Banner {
    ///     fn opened(&mut self, io: &mut SessionIo<'_, '_>) {
    ///         let _ = io.write(b"220 ready\r\n");
    ///         io.shutdown_write();
    ///     }
    ///     fn readable(&mut self, io: &mut SessionIo<'_, '_>) {
    ///         let mut buf = [0; 512];
    ///         while let Ok(n) = io.read(&mut buf) {
    ///             if n == 0 {
    ///                 return io.close();
    ///             }
    ///         }
    ///     }
    /// }
    ///
    /// let _port = server.serve("198.18.0.2:25", |_peer| Banner)?;
    /// let mut c = TcpStream::connect(&client, "198.18.0.2:25")?;
    /// let mut banner = String::new();
    /// c.read_to_string(&mut banner)?; // ends at the server's FIN
    /// assert_eq!(banner, "220 ready\r\n");
    /// c.write_all(b"QUIT\r\n")?; // the server still reads
    /// # std::io::Result::Ok(())
    /// ```
    pub fn shutdown_write(&mut self) {
        if self.slot.then.is_none() {
            self.slot.then = Some(Then::ShutdownWrite);
        }
        self.finish_if_flushed();
    }

    /// Closes the connection once everything written has gone out (FIN;
    /// or a reset if data the session did not read is left, as
    /// `close(2)`). No more calls come for it.
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use std::io::Read;
    /// use berth::{Session, SessionIo, net::TcpStream};
    ///
    /// struct Hello;
    ///
    /// impl Session for Hello {
    ///     fn opened(&mut self, io: &mut SessionIo<'_, '_>) {
    ///         let _ = io.write(b"hello\n");
    ///         io.close(); // after "hello\n", a FIN
    ///     }
    ///     fn readable(&mut self, _io: &mut SessionIo<'_, '_>) {}
    /// }
    ///
    /// let _port = server.serve("198.18.0.2:79", |_peer| Hello)?;
    /// let mut c = TcpStream::connect(&client, "198.18.0.2:79")?;
    /// let mut all = String::new();
    /// c.read_to_string(&mut all)?;
    /// assert_eq!(all, "hello\n");
    /// # std::io::Result::Ok(())
    /// ```
    pub fn close(&mut self) {
        self.slot.then = Some(Then::Close);
        self.finish_if_flushed();
    }

    /// Resets the connection now, dropping what waits either way: the
    /// peer sees `ConnectionReset`, never a stream that looks complete.
    /// For a session that gives up (a timeout, an error, a bad peer). No
    /// more calls come for it.
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use std::io::{ErrorKind, Read, Write};
    /// use berth::{Session, SessionIo, net::TcpStream};
    ///
    /// /// Accepts only requests that start with "GET ".
    /// struct Strict;
    ///
    /// impl Session for Strict {
    ///     fn readable(&mut self, io: &mut SessionIo<'_, '_>) {
    ///         let mut buf = [0; 4];
    ///         match io.read(&mut buf) {
    ///             Ok(4) if &buf == b"GET " => io.close(),
    ///             Ok(_) => io.abort(), // a bad peer: a reset, not a clean end
    ///             Err(_) => {}
    ///         }
    ///     }
    /// }
    ///
    /// let _port = server.serve("198.18.0.2:80", |_peer| Strict)?;
    /// let mut c = TcpStream::connect(&client, "198.18.0.2:80")?;
    /// c.write_all(b"HELO")?;
    /// let e = c.read(&mut [0; 16]).unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::ConnectionReset);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn abort(&mut self) {
        if !self.slot.done {
            self.slot.done = true;
            let _ = self.ctx.abort(self.conn);
        }
    }

    /// Calls [`Session::timeout`] `after` from now, unless set again
    /// before (moving it later is cheap: an idle timeout can be pushed
    /// back at every read) or cleared with `None`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use std::io::Read;
    /// use std::time::Duration;
    /// use berth::{Session, SessionIo, net::TcpStream};
    ///
    /// /// Closes the connection after 50 ms without data.
    /// struct Idle;
    ///
    /// impl Session for Idle {
    ///     fn opened(&mut self, io: &mut SessionIo<'_, '_>) {
    ///         io.set_timeout(Some(Duration::from_millis(50)));
    ///     }
    ///     fn readable(&mut self, io: &mut SessionIo<'_, '_>) {
    ///         while let Ok(1..) = io.read(&mut [0; 512]) {}
    ///         io.set_timeout(Some(Duration::from_millis(50))); // pushed back
    ///     }
    ///     fn timeout(&mut self, io: &mut SessionIo<'_, '_>) {
    ///         io.close(); // gracefully (the default aborts)
    ///     }
    /// }
    ///
    /// let _port = server.serve("198.18.0.2:7", |_peer| Idle)?;
    /// let mut c = TcpStream::connect(&client, "198.18.0.2:7")?;
    /// assert_eq!(c.read(&mut [0; 16])?, 0); // closed after 50 ms
    /// # std::io::Result::Ok(())
    /// ```
    pub fn set_timeout(&mut self, after: Option<std::time::Duration>) {
        let _ = self.ctx.set_timer(self.conn, after);
    }

    /// The peer's address.
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use std::net::IpAddr;
    /// use berth::{Session, SessionIo};
    ///
    /// /// Serves 198.18.0.0/24 only.
    /// struct Local;
    ///
    /// impl Session for Local {
    ///     fn opened(&mut self, io: &mut SessionIo<'_, '_>) {
    ///         let ok = matches!(io.peer_addr().map(|a| a.ip()),
    ///                           Ok(IpAddr::V4(ip)) if ip.octets()[..3] == [198, 18, 0]);
    ///         if !ok {
    ///             io.abort();
    ///         }
    ///     }
    ///     fn readable(&mut self, _io: &mut SessionIo<'_, '_>) {}
    /// }
    /// let _port = server.serve("0.0.0.0:80", |_peer| Local)?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn peer_addr(&mut self) -> io::Result<SocketAddr> {
        self.ctx.peer_addr(self.conn)
    }

    /// The connection's local address.
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use berth::{Session, SessionIo};
    ///
    /// /// Answers with the address the peer reached (one port, several
    /// /// addresses).
    /// struct Where;
    ///
    /// impl Session for Where {
    ///     fn opened(&mut self, io: &mut SessionIo<'_, '_>) {
    ///         if let Ok(local) = io.local_addr() {
    ///             let _ = io.write(format!("you reached {local}\n").as_bytes());
    ///         }
    ///         io.close();
    ///     }
    ///     fn readable(&mut self, _io: &mut SessionIo<'_, '_>) {}
    /// }
    /// let _port = server.serve("0.0.0.0:80", |_peer| Where)?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn local_addr(&mut self) -> io::Result<SocketAddr> {
        self.ctx.local_addr(self.conn)
    }

    /// Hands buffered bytes to the connection; whether all went.
    fn flush(&mut self) -> bool {
        while !self.slot.pending().is_empty() {
            let start = self.slot.sent;
            let Some(rest) = self.slot.buf.get(start..) else {
                break;
            };
            match self.ctx.send(self.conn, rest) {
                Ok(n) => self.slot.sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
                Err(_) => {
                    // Gone: what waited can never be sent.
                    self.slot.buf.clear();
                    self.slot.sent = 0;
                    return true;
                }
            }
        }
        self.slot.buf.clear();
        self.slot.sent = 0;
        // A buffer that grew for a burst does not stay big while idle.
        if self.slot.buf.capacity() > 64 * 1024 {
            self.slot.buf = Vec::new();
        }
        self.finish_if_flushed();
        true
    }

    /// Carries out a close or shutdown asked for once nothing waits.
    fn finish_if_flushed(&mut self) {
        if self.slot.done || !self.slot.pending().is_empty() {
            return;
        }
        match self.slot.then {
            Some(Then::Close) => {
                self.slot.done = true;
                let _ = self.ctx.close(self.conn);
            }
            Some(Then::ShutdownWrite) => {
                let _ = self.ctx.shutdown_write(self.conn);
            }
            None => {}
        }
    }
}

/// How long [`with_scratch`]'s buffer is.
///
/// # Examples
///
/// ```
/// assert_eq!(berth::session::SCRATCH_LEN, 65536);
/// ```
pub const SCRATCH_LEN: usize = 64 * 1024;

/// Runs `f` with a buffer of [`SCRATCH_LEN`] bytes to read into, kept by
/// this thread and reused: not zeroed for each call (it holds what was
/// read last), so a session reading a 64-byte request does not clear
/// 64 KiB first. Sessions run on the stack thread, one at a time, so one
/// buffer serves them all; a nested call gets a fresh one.
///
/// # Examples
///
/// ```
/// use berth::session::{with_scratch, SCRATCH_LEN};
///
/// let n = with_scratch(|buf| {
///     assert_eq!(buf.len(), SCRATCH_LEN);
///     buf[..5].copy_from_slice(b"hello"); // as a read into it would
///     5
/// });
/// assert_eq!(n, 5);
/// ```
pub fn with_scratch<T>(f: impl FnOnce(&mut [u8]) -> T) -> T {
    thread_local! {
        static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    }
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            if buf.len() != SCRATCH_LEN {
                buf.resize(SCRATCH_LEN, 0);
            }
            f(&mut buf)
        }
        Err(_) => f(&mut vec![0u8; SCRATCH_LEN]),
    })
}

/// A session and its output.
struct Entry<S> {
    session: S,
    out: Output,
}

/// Runs one event of a session's connection; whether the session is done
/// with (closed, aborted, or gone).
fn on_event<S: Session>(ctx: &mut PortCtx<'_>, entry: &mut Entry<S>, event: PortEvent) -> bool {
    let conn = event.conn();
    let mut io = SessionIo {
        ctx,
        conn,
        slot: &mut entry.out,
    };
    match event {
        PortEvent::Accepted { .. } | PortEvent::Connected { .. } => entry.session.opened(&mut io),
        PortEvent::Readable(_) => entry.session.readable(&mut io),
        PortEvent::Writable(_) => {
            if io.flush() && !io.slot.done && io.slot.then.is_none() {
                entry.session.writable(&mut io);
            }
        }
        PortEvent::Timer(_) => entry.session.timeout(&mut io),
        PortEvent::Stopping(_) => {
            if !io.slot.done && io.slot.then.is_none() {
                entry.session.stopping(&mut io);
            }
        }
        PortEvent::Closed(_) => {
            entry.session.closed();
            return true;
        }
    }
    entry.out.done
}

impl NetStack {
    /// Listens on `addr` and serves each connection with a [`Session`]
    /// made by `new_session` (given the peer's address), on the stack
    /// thread, run to completion (see the `callback` module). Dropping the
    /// returned [`PortListener`] closes the port and its connections.
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use std::io::Read;
    /// use std::net::SocketAddr;
    /// use berth::{Session, SessionIo, net::TcpStream};
    ///
    /// /// Greets the peer by its address, then closes.
    /// struct Hello(SocketAddr);
    ///
    /// impl Session for Hello {
    ///     fn opened(&mut self, io: &mut SessionIo<'_, '_>) {
    ///         let _ = io.write(format!("hello, {}\n", self.0).as_bytes());
    ///         io.close();
    ///     }
    ///     fn readable(&mut self, _io: &mut SessionIo<'_, '_>) {}
    /// }
    ///
    /// // `Hello` itself makes a session from the peer's address.
    /// let port = server.serve("198.18.0.2:79", Hello)?;
    /// let mut c = TcpStream::connect(&client, "198.18.0.2:79")?;
    /// let mut greeting = String::new();
    /// c.read_to_string(&mut greeting)?;
    /// assert_eq!(greeting, format!("hello, {}\n", c.local_addr()?));
    /// drop(port); // closes the port and its connections
    /// # std::io::Result::Ok(())
    /// ```
    pub fn serve<S, F>(
        &self,
        addr: impl crate::net::ToSocketAddrs,
        new_session: F,
    ) -> io::Result<PortListener>
    where
        S: Session,
        F: FnMut(SocketAddr) -> S + Send + 'static,
    {
        self.serve_limited(addr, usize::MAX, new_session)
    }

    /// [`NetStack::serve`] with at most `per_source` connections from any
    /// one address at a time: one more is reset as it arrives (nginx's
    /// `limit_conn`), so that a single client cannot take every socket.
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use std::io::{ErrorKind, Read};
    /// use berth::{Session, SessionIo, net::TcpStream};
    ///
    /// struct Idle;
    /// impl Session for Idle {
    ///     fn readable(&mut self, _io: &mut SessionIo<'_, '_>) {}
    /// }
    ///
    /// let _port = server.serve_limited("198.18.0.2:80", 1, |_peer| Idle)?;
    /// let _first = TcpStream::connect(&client, "198.18.0.2:80")?;
    /// // A second one from the same address is reset (perhaps before connect returns).
    /// let second = TcpStream::connect(&client, "198.18.0.2:80").and_then(|mut c| c.read(&mut [0; 1]));
    /// assert_eq!(second.unwrap_err().kind(), ErrorKind::ConnectionReset);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn serve_limited<S, F>(
        &self,
        addr: impl crate::net::ToSocketAddrs,
        per_source: usize,
        mut new_session: F,
    ) -> io::Result<PortListener>
    where
        S: Session,
        F: FnMut(SocketAddr) -> S + Send + 'static,
    {
        // Looked up on every event, by handles the stack chose: the cheap
        // hash. Peer addresses, which the peer chooses, keep std's keyed
        // one (and are touched only as connections come and go).
        let mut entries: HandleMap<(IpAddr, Entry<S>)> = HandleMap::default();
        let mut sources: HashMap<IpAddr, usize> = HashMap::new();
        let handler = move |ctx: &mut PortCtx<'_>, event: PortEvent| {
            let conn = event.conn();
            if let PortEvent::Accepted { peer, .. } = event {
                let count = sources.entry(peer.ip()).or_insert(0);
                if *count >= per_source {
                    tracing::debug!(%peer, per_source, "connection over the per-source limit: reset");
                    let _ = ctx.abort(conn);
                    return;
                }
                *count += 1;
                entries.insert(
                    conn,
                    (
                        peer.ip(),
                        Entry {
                            session: new_session(peer),
                            out: Output::default(),
                        },
                    ),
                );
            }
            if let Some((ip, entry)) = entries.get_mut(&conn)
                && on_event(ctx, entry, event)
            {
                let ip = *ip;
                entries.remove(&conn);
                if let Some(n) = sources.get_mut(&ip) {
                    *n -= 1;
                    if *n == 0 {
                        sources.remove(&ip);
                    }
                }
            }
        };
        self.listen_handler(addr, Box::new(handler), true)
    }

    /// Opens a connection to `addr` run by `session` on the stack thread
    /// (a client on the run-to-completion path): [`Session::opened`] once
    /// it is established, [`Session::closed`] if it fails or ends (with no
    /// `opened` if it never was). Dropping the returned registration
    /// closes the connection.
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
    /// use std::sync::mpsc;
    /// use berth::{Session, SessionIo, net::TcpListener};
    ///
    /// /// An HTTP/1.0 GET: the request once connected, the reply to the end.
    /// struct Get {
    ///     reply: Vec<u8>,
    ///     done: mpsc::Sender<Vec<u8>>,
    /// }
    ///
    /// impl Session for Get {
    ///     fn opened(&mut self, io: &mut SessionIo<'_, '_>) {
    ///         let _ = io.write(b"GET / HTTP/1.0\r\n\r\n");
    ///     }
    ///     fn readable(&mut self, io: &mut SessionIo<'_, '_>) {
    ///         let mut buf = [0; 1024];
    ///         loop {
    ///             match io.read(&mut buf) {
    ///                 Ok(0) => {
    ///                     let _ = self.done.send(std::mem::take(&mut self.reply));
    ///                     return io.close();
    ///                 }
    ///                 Ok(n) => self.reply.extend_from_slice(&buf[..n]),
    ///                 Err(_) => return,
    ///             }
    ///         }
    ///     }
    /// }
    ///
    /// let listener = TcpListener::bind(&server, "198.18.0.2:80")?;
    /// let (done, replied) = mpsc::channel();
    /// let _get = client.connect_session("198.18.0.2:80", Get { reply: Vec::new(), done })?;
    /// let (mut s, _) = listener.accept()?;
    /// let mut request = [0; 18];
    /// s.read_exact(&mut request)?;
    /// s.write_all(b"HTTP/1.0 204 No Content\r\n\r\n")?;
    /// drop(s);
    /// assert!(replied.recv().unwrap().starts_with(b"HTTP/1.0 204"));
    /// # std::io::Result::Ok(())
    /// ```
    pub fn connect_session<S: Session>(
        &self,
        addr: impl crate::net::ToSocketAddrs,
        session: S,
    ) -> io::Result<PortListener> {
        let mut entry = Some(Entry {
            session,
            out: Output::default(),
        });
        let handler = move |ctx: &mut PortCtx<'_>, event: PortEvent| {
            if let Some(e) = entry.as_mut()
                && on_event(ctx, e, event)
            {
                entry = None;
            }
        };
        self.connect_handler(addr, Box::new(handler), true)
    }
}
