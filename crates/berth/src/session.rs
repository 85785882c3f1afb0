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

use berth_core::handle::SocketHandle;

use crate::NetStack;
use crate::callback::{PortCtx, PortListener};
use crate::ports::PortEvent;

/// One connection of a port served with [`NetStack::serve`]: its state,
/// and what it does at each event. Every method runs on the stack thread
/// and must not block.
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
}

/// What a [`Session`] may do with its connection.
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
    /// nothing more for now.
    pub fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.ctx.recv(self.conn, buf)
    }

    /// Reads without a copy ([`PortCtx::recv_with`]): `f` sees the data
    /// as two slices and returns how many bytes it used.
    pub fn read_with(&mut self, f: impl FnOnce(&[u8], &[u8]) -> usize) -> io::Result<usize> {
        self.ctx.recv_with(self.conn, f)
    }

    /// Writes all of `data`: what the connection takes now goes to it, the
    /// rest waits in the session's buffer and goes out as the peer makes
    /// room, in order. Never blocks; an error only if the connection can no
    /// longer send (`BrokenPipe`, `ConnectionReset`).
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
    pub fn buffered(&self) -> usize {
        self.slot.pending().len()
    }

    /// Sends a FIN once everything written has gone out; reads go on.
    pub fn shutdown_write(&mut self) {
        if self.slot.then.is_none() {
            self.slot.then = Some(Then::ShutdownWrite);
        }
        self.finish_if_flushed();
    }

    /// Closes the connection once everything written has gone out (FIN;
    /// or a reset if data the session did not read is left, as
    /// `close(2)`). No more calls come for it.
    pub fn close(&mut self) {
        self.slot.then = Some(Then::Close);
        self.finish_if_flushed();
    }

    /// Resets the connection now, dropping what waits either way: the
    /// peer sees `ConnectionReset`, never a stream that looks complete.
    /// For a session that gives up (a timeout, an error, a bad peer). No
    /// more calls come for it.
    pub fn abort(&mut self) {
        if !self.slot.done {
            self.slot.done = true;
            let _ = self.ctx.abort(self.conn);
        }
    }

    /// Calls [`Session::timeout`] `after` from now, unless set again
    /// before (moving it later is cheap: an idle timeout can be pushed
    /// back at every read) or cleared with `None`.
    pub fn set_timeout(&mut self, after: Option<std::time::Duration>) {
        let _ = self.ctx.set_timer(self.conn, after);
    }

    /// The peer's address.
    pub fn peer_addr(&mut self) -> io::Result<SocketAddr> {
        self.ctx.peer_addr(self.conn)
    }

    /// The connection's local address.
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
pub const SCRATCH_LEN: usize = 64 * 1024;

/// Runs `f` with a buffer of [`SCRATCH_LEN`] bytes to read into, kept by
/// this thread and reused: not zeroed for each call (it holds what was
/// read last), so a session reading a 64-byte request does not clear
/// 64 KiB first. Sessions run on the stack thread, one at a time, so one
/// buffer serves them all; a nested call gets a fresh one.
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
        let mut entries: HashMap<SocketHandle, (IpAddr, Entry<S>)> = HashMap::new();
        let mut sources: HashMap<IpAddr, usize> = HashMap::new();
        self.listen_with(addr, move |ctx, event| {
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
        })
    }

    /// Opens a connection to `addr` run by `session` on the stack thread
    /// (a client on the run-to-completion path): [`Session::opened`] once
    /// it is established, [`Session::closed`] if it fails or ends (with no
    /// `opened` if it never was). Dropping the returned registration
    /// closes the connection.
    pub fn connect_session<S: Session>(
        &self,
        addr: impl crate::net::ToSocketAddrs,
        session: S,
    ) -> io::Result<PortListener> {
        let mut entry = Some(Entry {
            session,
            out: Output::default(),
        });
        self.connect_with(addr, move |ctx, event| {
            if let Some(e) = entry.as_mut()
                && on_event(ctx, e, event)
            {
                entry = None;
            }
        })
    }
}
