//! What every socket object holds: the shared stack, its handle, and its
//! std-style options. The core socket is closed when the last clone goes.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant as StdInstant};

use berth_core::handle::SocketHandle;
use berth_core::stack::{SocketError, SocketKind, Stack, TcpInfo};
use berth_core::time::Instant;

use crate::error::to_io_error;
use crate::pipe::Pipe;
use crate::shared::Shared;

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Options {
    pub(crate) read_timeout: Option<Duration>,
    pub(crate) write_timeout: Option<Duration>,
    pub(crate) nonblocking: bool,
}

pub(crate) struct SocketRef {
    pub(crate) shared: Arc<Shared>,
    pub(crate) handle: SocketHandle,
    pub(crate) opts: Mutex<Options>,
    /// A TCP stream's byte queues (listeners and UDP sockets have none).
    pipe: Option<Arc<Pipe>>,
}

impl SocketRef {
    pub(crate) fn new(shared: Arc<Shared>, handle: SocketHandle) -> Arc<Self> {
        Arc::new(Self {
            shared,
            handle,
            opts: Mutex::new(Options::default()),
            pipe: None,
        })
    }

    /// A TCP stream's socket, with its pipe registered and pumped at once
    /// if there is something to move (data or the end already in, a close
    /// to carry out, a SYN to send): on this thread when it can (what
    /// arrived before the accept is in the pipe before the first read,
    /// and the stack thread is not woken for it), else by the stack thread.
    pub(crate) fn stream(shared: &Arc<Shared>, handle: SocketHandle) -> Arc<Self> {
        let pipe = Arc::new(Pipe::new());
        let mut inner = shared.lock();
        if inner.shutdown {
            // Accepted as the stack stops: closed from the start.
            let mut wakers = Vec::new();
            pipe.stopping(&mut wakers);
        }
        inner.pipes.insert(handle, pipe.clone());
        let pump = inner.shutdown
            || inner.stack.tcp_can_recv(handle).unwrap_or(true)
            || matches!(
                inner.stack.tcp_state(handle),
                Ok(berth_core::tcp::State::SynSent) | Err(_)
            );
        if pump {
            shared.pump_locked(inner, handle);
        } else {
            drop(inner);
        }
        Arc::new(Self {
            shared: shared.clone(),
            handle,
            opts: Mutex::new(Options::default()),
            pipe: Some(pipe),
        })
    }

    /// `IP_TTL` / `IPV6_UNICAST_HOPS` of the socket's packets.
    pub(crate) fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        let h = self.handle;
        self.call(|s, _| s.set_ttl(h, ttl))
    }

    /// The TTL the socket's packets carry.
    pub(crate) fn ttl(&self) -> io::Result<u32> {
        let h = self.handle;
        self.call(|s, _| s.ttl(h))
    }

    /// `SO_LINGER` of the stream's connection, in whole seconds as Linux
    /// keeps it (`l_linger` is an int of seconds: less than a second is
    /// zero, an abortive close).
    pub(crate) fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        let h = self.handle;
        let linger = linger.map(linger_secs);
        self.call(|s, _| s.tcp_set_linger(h, linger))
    }

    /// The stream's `SO_LINGER`.
    pub(crate) fn linger(&self) -> io::Result<Option<Duration>> {
        let h = self.handle;
        self.call(|s, _| s.tcp_linger(h))
    }

    /// The stream's pipe; `InvalidInput` for sockets that have none.
    fn pipe(&self) -> io::Result<&Pipe> {
        self.pipe
            .as_deref()
            .ok_or_else(|| to_io_error(SocketError::InvalidInput))
    }

    /// The stream's failure, once (`SO_ERROR`; see the pipe).
    pub(crate) fn take_error(&self) -> io::Result<Option<io::Error>> {
        let h = self.handle;
        let core = self.call(|s, _| s.tcp_error(h))?;
        Ok(self.pipe()?.take_error(core).map(to_io_error))
    }

    /// Reads (or peeks) from the stream's pipe, waiting per the options.
    pub(crate) fn read(&self, buf: &mut [u8], peek: bool) -> io::Result<usize> {
        let opts = self.opts();
        let deadline = deadline_after(opts.read_timeout);
        self.pipe()?
            .read(
                &*self.shared,
                self.handle,
                buf,
                peek,
                opts.nonblocking,
                deadline,
            )
            .map_err(to_io_error)
    }

    /// Writes into the stream's pipe, waiting per the options.
    pub(crate) fn write(&self, buf: &[u8]) -> io::Result<usize> {
        let opts = self.opts();
        let deadline = deadline_after(opts.write_timeout);
        self.pipe()?
            .write(&*self.shared, self.handle, buf, opts.nonblocking, deadline)
            .map_err(to_io_error)
    }

    /// Reads without waiting, whatever the options say.
    #[cfg(feature = "tokio")]
    pub(crate) fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.pipe()?
            .read(&*self.shared, self.handle, buf, false, true, None)
            .map_err(to_io_error)
    }

    /// Writes without waiting, whatever the options say.
    #[cfg(feature = "tokio")]
    pub(crate) fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.pipe()?
            .write(&*self.shared, self.handle, buf, true, None)
            .map_err(to_io_error)
    }

    /// Resets the stream's connection; its reads and writes fail after.
    pub(crate) fn abort(&self) -> io::Result<()> {
        let h = self.handle;
        self.call(|s, _| s.tcp_abort(h))?;
        if let Some(pipe) = &self.pipe {
            pipe.aborted();
        }
        Ok(())
    }

    /// Shuts the stream's read direction down: reads end after what is
    /// queued, and a blocked reader wakes.
    pub(crate) fn shutdown_read(&self) -> io::Result<()> {
        self.pipe()?.shutdown_read();
        Ok(())
    }

    /// Shuts the stream's write direction down (a FIN after the data).
    pub(crate) fn shutdown_write(&self) -> io::Result<()> {
        self.pipe()?.shutdown_write(&*self.shared, self.handle);
        Ok(())
    }

    pub(crate) fn opts(&self) -> Options {
        *self.opts.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn set_opts(&self, f: impl FnOnce(&mut Options)) {
        f(&mut self.opts.lock().unwrap_or_else(|p| p.into_inner()));
    }

    /// Runs `op` once under the lock, then nudges the stack thread.
    pub(crate) fn call<T>(
        &self,
        op: impl FnOnce(&mut Stack, Instant) -> Result<T, SocketError>,
    ) -> io::Result<T> {
        let mut inner = self.shared.lock();
        let now = self.shared.now();
        let r = op(&mut inner.stack, now);
        drop(inner);
        self.shared.kick();
        r.map_err(to_io_error)
    }

    /// Runs `op` once under the lock, without waking the stack thread (for
    /// a look that changes nothing it would send).
    #[cfg(feature = "tokio")]
    pub(crate) fn inspect<T>(
        &self,
        op: impl FnOnce(&mut Stack) -> Result<T, SocketError>,
    ) -> io::Result<T> {
        let mut inner = self.shared.lock();
        op(&mut inner.stack).map_err(to_io_error)
    }

    /// Runs `op` until it does not block, honouring the timeout and the
    /// nonblocking flag.
    pub(crate) fn wait<T>(
        &self,
        timeout: Option<Duration>,
        op: impl FnMut(&mut Stack, Instant) -> Result<T, SocketError>,
    ) -> io::Result<T> {
        self.wait_inner(timeout, false, op)
    }

    /// `wait` for a send that can find the stack's output queue full (UDP).
    pub(crate) fn wait_out<T>(
        &self,
        timeout: Option<Duration>,
        op: impl FnMut(&mut Stack, Instant) -> Result<T, SocketError>,
    ) -> io::Result<T> {
        self.wait_inner(timeout, true, op)
    }

    fn wait_inner<T>(
        &self,
        timeout: Option<Duration>,
        out_queue: bool,
        op: impl FnMut(&mut Stack, Instant) -> Result<T, SocketError>,
    ) -> io::Result<T> {
        let opts = self.opts();
        let deadline = deadline_after(timeout);
        self.shared
            .blocking(self.handle, opts.nonblocking, deadline, out_queue, op)
            .map_err(to_io_error)
    }
}

/// Which of a socket's task slots a pending async call waits in.
#[cfg(feature = "tokio")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// Reading, accepting, peeking.
    Read,
    /// Writing, connecting.
    Write,
    /// Either (a readiness wait for both).
    Both,
}

#[cfg(feature = "tokio")]
impl SocketRef {
    /// The async twin of `wait`: runs `op` once under the lock and, if it
    /// would block, stores the task's waker in the socket's `dir` slot
    /// before the lock is released (so the event that unblocks it cannot
    /// slip in between). `out_queue` also asks to be woken once the stack's
    /// output queue is drained (UDP sends).
    pub(crate) fn poll_op<T>(
        &self,
        cx: &mut std::task::Context<'_>,
        dir: Direction,
        out_queue: bool,
        op: impl FnOnce(&mut Stack, Instant) -> Result<T, SocketError>,
    ) -> std::task::Poll<io::Result<T>> {
        use std::task::Poll;
        let mut inner = self.shared.lock();
        // The stack is going away: nothing will wake a waiter again.
        if inner.shutdown {
            return Poll::Ready(Err(to_io_error(SocketError::NotConnected)));
        }
        let now = self.shared.now();
        let r = op(&mut inner.stack, now);
        if matches!(r, Err(SocketError::WouldBlock)) {
            let w = inner.waiters.entry(self.handle).or_default();
            if dir != Direction::Write {
                crate::shared::register(&mut w.read, cx.waker());
            }
            if dir != Direction::Read {
                crate::shared::register(&mut w.write, cx.waker());
            }
            if out_queue && !inner.out_waiters.contains(&self.handle) {
                inner.out_waiters.push(self.handle);
            }
            drop(inner);
            if out_queue {
                self.shared.kick();
            }
            return Poll::Pending;
        }
        drop(inner);
        // Only sends leave output for the stack thread.
        if out_queue {
            self.shared.kick();
        }
        Poll::Ready(r.map_err(to_io_error))
    }
}

#[cfg(feature = "tokio")]
impl SocketRef {
    /// Runs a poll on the stream's pipe, with its error as `io::Error`.
    fn poll_pipe<T>(
        &self,
        f: impl FnOnce(&Pipe) -> std::task::Poll<Result<T, SocketError>>,
    ) -> std::task::Poll<io::Result<T>> {
        match self.pipe() {
            Ok(p) => f(p).map_err(to_io_error),
            Err(e) => std::task::Poll::Ready(Err(e)),
        }
    }

    pub(crate) fn poll_read(
        &self,
        cx: &mut std::task::Context<'_>,
        buf: &mut [u8],
        peek: bool,
    ) -> std::task::Poll<io::Result<usize>> {
        self.poll_pipe(|p| p.poll_read(&*self.shared, self.handle, cx, buf, peek))
    }

    pub(crate) fn poll_write(
        &self,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<io::Result<usize>> {
        self.poll_pipe(|p| p.poll_write(&*self.shared, self.handle, cx, buf))
    }

    /// Reads without waiting through `take`, which is given the received
    /// bytes (two parts, oldest first), copies what it wants (at most
    /// `want`) and returns how much.
    pub(crate) fn try_read_with(
        &self,
        want: usize,
        take: impl FnOnce(&[u8], &[u8]) -> usize,
    ) -> io::Result<usize> {
        self.pipe()?
            .try_read_with(&*self.shared, self.handle, want, take)
            .map_err(to_io_error)
    }

    /// Writes the slices of `bufs` without waiting, as one write.
    pub(crate) fn try_write_vectored(&self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.pipe()?
            .try_write_vectored(&*self.shared, self.handle, bufs)
            .map_err(to_io_error)
    }

    /// What the stream is ready for now.
    pub(crate) fn stream_ready(&self) -> io::Result<crate::pipe::PipeReady> {
        Ok(self.pipe()?.ready_now())
    }

    /// What the stream is ready for once `accept` takes it; until then the
    /// task waits in the read and/or write slot of the stream's pipe.
    pub(crate) fn poll_stream_ready(
        &self,
        cx: &mut std::task::Context<'_>,
        read: bool,
        write: bool,
        accept: impl FnOnce(crate::pipe::PipeReady) -> bool,
    ) -> std::task::Poll<io::Result<crate::pipe::PipeReady>> {
        match self.pipe() {
            Ok(p) => p.poll_ready(cx, read, write, accept).map(Ok),
            Err(e) => std::task::Poll::Ready(Err(e)),
        }
    }

    pub(crate) fn poll_read_ready(
        &self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        self.poll_pipe(|p| p.poll_read_ready(&*self.shared, self.handle, cx))
    }

    pub(crate) fn poll_write_ready(
        &self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        self.poll_pipe(|p| p.poll_write_ready(&*self.shared, self.handle, cx))
    }
}

/// What `Debug` shows of a socket, taken under the stack's lock and
/// written out after it.
enum Snapshot {
    Tcp {
        local: SocketAddr,
        peer: SocketAddr,
        state: berth_core::tcp::State,
    },
    Listener {
        local: SocketAddr,
        backlog: usize,
        pending: usize,
    },
    Udp(SocketAddr),
    /// The stack has no such socket any more (closed, or the stack is
    /// gone): only the handle is left to show.
    Gone,
}

impl SocketRef {
    /// The connection's [`TcpInfo`], with the bytes waiting in the
    /// stream's own queues added to the core's (received but not read,
    /// written but not yet in the core), as `berth ss` counts them.
    pub(crate) fn tcp_info(&self) -> io::Result<TcpInfo> {
        let h = self.handle;
        let inner = self.shared.lock();
        let mut info = inner.stack.tcp_info(h).map_err(to_io_error)?;
        // Lock order: the stack's, then the pipe's.
        if let Some(pipe) = &self.pipe {
            let (rx, tx) = pipe.queued_bytes();
            info.recv_queue += rx;
            info.send_queue += tx;
        }
        Ok(info)
    }

    /// The `Debug` of a socket object: its addresses and state as the
    /// stack has them now (`peer`: a UDP socket's connected peer, which
    /// the object keeps), or its handle alone if the stack cannot say.
    /// Never panics; the stack's lock is not held while writing.
    pub(crate) fn fmt_debug(
        &self,
        f: &mut std::fmt::Formatter<'_>,
        name: &str,
        peer: Option<SocketAddr>,
    ) -> std::fmt::Result {
        let h = self.handle;
        let snapshot = {
            let inner = self.shared.lock();
            let s = &inner.stack;
            let snapshot = match s.socket_kind(h) {
                Some(SocketKind::Tcp) => s.tcp_info(h).ok().map(|i| Snapshot::Tcp {
                    local: i.local,
                    peer: i.remote,
                    state: i.state,
                }),
                Some(SocketKind::TcpListener) => s.local_addr(h).ok().and_then(|local| {
                    let (backlog, pending) = s.listener_queue(h).ok()?;
                    Some(Snapshot::Listener {
                        local,
                        backlog,
                        pending,
                    })
                }),
                // A bound TCP socket shows its address, as a UDP one does.
                Some(SocketKind::Udp | SocketKind::TcpBound | SocketKind::IcmpEcho) => {
                    s.local_addr(h).map(Snapshot::Udp).ok()
                }
                None => None,
            };
            snapshot.unwrap_or(Snapshot::Gone)
        };
        let mut d = f.debug_struct(name);
        match snapshot {
            Snapshot::Tcp { local, peer, state } => d
                .field("local", &local)
                .field("peer", &peer)
                .field("state", &state),
            Snapshot::Listener {
                local,
                backlog,
                pending,
            } => d
                .field("local", &local)
                .field("backlog", &backlog)
                .field("pending", &pending),
            Snapshot::Udp(local) => {
                d.field("local", &local);
                if let Some(peer) = peer {
                    d.field("peer", &peer);
                }
                &mut d
            }
            Snapshot::Gone => d.field("handle", &h),
        }
        .finish()
    }
}

impl Drop for SocketRef {
    fn drop(&mut self) {
        let mut inner = self.shared.lock();
        let now = self.shared.now();
        if let Some(pipe) = &self.pipe
            && inner
                .stack
                .tcp_linger(self.handle)
                .is_ok_and(|l| l.is_some_and(|d| d.is_zero()))
        {
            // SO_LINGER 0: what waits in the pipe goes with the connection,
            // which the core resets as it closes.
            pipe.aborted();
        }
        // A stream may still hold what was written: the stack thread then
        // hands it over and closes.
        let more = inner.close_stream(self.handle, now);
        self.shared.after_close(inner, self.handle, more);
    }
}

/// When a wait of `timeout` from now ends; `None` (no end) for none, and
/// for one so long that the clock cannot say (`Duration::MAX`).
pub(crate) fn deadline_after(timeout: Option<Duration>) -> Option<StdInstant> {
    timeout.and_then(|t| StdInstant::now().checked_add(t))
}

/// A linger time as Linux keeps it: whole seconds, at most `i32::MAX`.
pub(crate) fn linger_secs(d: Duration) -> Duration {
    Duration::from_secs(d.as_secs().min(i32::MAX as u64))
}

/// std rejects a zero timeout with InvalidInput.
pub(crate) fn check_timeout(t: Option<Duration>) -> io::Result<()> {
    if t == Some(Duration::ZERO) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "cannot set a 0 duration timeout",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use berth_core::config::StackConfig;
    use berth_device::channel::ChannelDevice;
    use berth_device::{Device, Medium};

    use super::*;
    use crate::link::Link;

    const CLIENT: &str = "198.18.0.1";
    const SERVER: &str = "198.18.0.2:7";

    fn stack(addr: &str) -> Stack {
        let mut cfg = StackConfig::default();
        cfg.addrs.push(addr.parse().unwrap());
        cfg.seed = 7;
        Stack::new(cfg)
    }

    /// A server `Shared` on the left end of an in-memory link, with no
    /// stack thread (nothing pumps or transmits unless a test does), and a
    /// bare core client whose frames the test carries by hand.
    struct Rig {
        shared: Arc<Shared>,
        _poll: mio::Poll,
        client: Stack,
        /// The client's end of the server's device.
        wire: ChannelDevice,
    }

    impl Rig {
        fn new() -> Self {
            let (left, right) = ChannelDevice::pair(1500, Medium::Ip).unwrap();
            let poll = mio::Poll::new().unwrap();
            let waker = mio::Waker::new(poll.registry(), mio::Token(1)).unwrap();
            let link = Link::new(Box::new(left));
            let shared = Arc::new(Shared::new(
                stack("198.18.0.2"),
                waker,
                Some(link),
                None,
                None,
            ));
            Self {
                shared,
                _poll: poll,
                client: stack(CLIENT),
                wire: right,
            }
        }

        /// What the server wrote to its device, into the client.
        fn deliver_device(&mut self) -> usize {
            let mut buf = vec![0u8; 2048];
            let mut frames = 0;
            while let Some(r) = self.wire.recv_frame(&mut buf).unwrap() {
                self.client.handle_frame(self.shared.now(), &buf[..r.len]);
                frames += 1;
            }
            frames
        }

        /// Frames both ways until quiet, the test playing the stack
        /// thread: the client's into the server's core, the server core's
        /// (taken from it directly) and its device's into the client.
        fn settle(&mut self) {
            let mut buf = vec![0u8; 2048];
            loop {
                let now = self.shared.now();
                let mut moved = self.deliver_device();
                while let Some(n) = self.client.poll_transmit(now, &mut buf) {
                    self.shared.lock().stack.handle_frame(now, &buf[..n]);
                    moved += 1;
                }
                loop {
                    let n = self.shared.lock().stack.poll_transmit(now, &mut buf);
                    let Some(n) = n else { break };
                    self.client.handle_frame(now, &buf[..n]);
                    moved += 1;
                }
                if moved == 0 {
                    return;
                }
            }
        }

        fn pending_pumps(&self) -> usize {
            self.shared.pending_pumps()
        }
    }

    /// An accepted stream whose data arrived before the accept, and the
    /// client's handle on it.
    fn accepted_with_data(rig: &mut Rig) -> (Arc<SocketRef>, SocketHandle) {
        let server: SocketAddr = SERVER.parse().unwrap();
        let listener = rig.shared.lock().stack.tcp_listen(server, 8).unwrap();
        let c = rig
            .client
            .tcp_connect(rig.shared.now(), server, None)
            .unwrap();
        rig.settle();
        assert_eq!(rig.client.tcp_send(c, b"hello").unwrap(), 5);
        rig.settle();
        let (conn, _) = rig
            .shared
            .lock()
            .stack
            .tcp_accept(listener)
            .unwrap()
            .unwrap();
        (SocketRef::stream(&rig.shared, conn), c)
    }

    /// What arrived before the accept is in the stream's pipe when the
    /// accept returns, moved there on the accepting thread: the first read
    /// does not wait for the stack thread, which is not asked to pump.
    #[test]
    fn an_accepted_stream_holds_what_arrived_before_the_accept() {
        let mut rig = Rig::new();
        let (sock, _) = accepted_with_data(&mut rig);
        assert_eq!(rig.pending_pumps(), 0, "no pump left to the stack thread");
        sock.set_opts(|o| o.nonblocking = true);
        let mut buf = [0u8; 16];
        assert_eq!(sock.read(&mut buf, false).unwrap(), 5);
        assert_eq!(&buf[..5], b"hello");
    }

    /// Closing a stream sends its FIN from the closing thread, as a write
    /// sends its data: the stack thread is not needed for it.
    #[test]
    fn a_close_sends_its_fin_on_the_closing_thread() {
        let mut rig = Rig::new();
        let (sock, c) = accepted_with_data(&mut rig);
        let mut buf = [0u8; 16];
        sock.set_opts(|o| o.nonblocking = true);
        assert_eq!(sock.read(&mut buf, false).unwrap(), 5);
        drop(sock);
        assert_eq!(rig.pending_pumps(), 0, "no pump left to the stack thread");
        // Only what the device carried reaches the client.
        assert!(
            rig.deliver_device() > 0,
            "the FIN was written to the device"
        );
        assert_eq!(rig.client.tcp_recv(c, &mut buf), Ok(0), "end of stream");
    }
}
