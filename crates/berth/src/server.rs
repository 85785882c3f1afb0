//! The acceptor/worker server: one acceptor thread loops on
//! [`TcpListener::accept`] and hands each connection to a fixed pool of
//! worker threads through a bounded queue. When the queue is full the
//! acceptor waits (back-pressure: further clients wait in the listener's
//! backlog, as with a busy Linux server).
//!
//! A handler that panics costs its connection only: the connection is
//! reset, the panic logged (`tracing::error!`, with the peer) and counted,
//! and the worker goes on with the next connection. [`Server::stats`]
//! shows how handlers ended. [`Server::shutdown`] (or drop) stops
//! accepting and waits for the handlers without limit;
//! [`Server::shutdown_timeout`] waits at most a given time and then resets
//! the connections still open.
//!
//! ```
//! use std::io::{Read, Write};
//! use berth::{NetStack, net::{TcpListener, TcpStream}, server::Server};
//! use berth_device::{channel::ChannelDevice, Medium};
//!
//! let (left, right) = ChannelDevice::pair(1500, Medium::Ip).unwrap();
//! let host = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left).unwrap();
//! let peer = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right).unwrap();
//! let listener = TcpListener::bind(&host, "198.18.0.2:7").unwrap();
//! let server = Server::start(listener, 4, 16, |mut stream, _peer| {
//!     let mut buf = [0; 64];
//!     let n = stream.read(&mut buf)?;
//!     stream.write_all(&buf[..n])
//! }).unwrap();
//! let mut c = TcpStream::connect(&peer, "198.18.0.2:7").unwrap();
//! c.write_all(b"hi").unwrap();
//! let mut back = [0; 2];
//! c.read_exact(&mut back).unwrap();
//! assert_eq!(&back, b"hi");
//! assert_eq!(server.local_addr(), "198.18.0.2:7".parse().unwrap());
//! server.shutdown_timeout(std::time::Duration::from_secs(5));
//! ```

mod state;

use std::any::Any;
use std::io;
use std::net::SocketAddr;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::net::{TcpListener, TcpStream};
use state::{Outcome, ServerState};

/// How often the acceptor looks at the stop flag while no client comes,
/// and how long it backs off after a failed accept.
const ACCEPT_POLL: Duration = Duration::from_millis(100);

/// A running acceptor/worker server.
///
/// Dropping it is [`shutdown`](Self::shutdown): it stops accepting and
/// waits, without limit, for the handlers to finish; use
/// [`shutdown_timeout`](Self::shutdown_timeout) to bound the wait.
///
/// # Examples
///
/// ```
/// # use berth::NetStack;
/// # use berth_device::{channel::ChannelDevice, Medium};
/// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
/// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
/// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
/// use std::io::{BufRead, BufReader, Write};
/// use berth::{net::{TcpListener, TcpStream}, server::Server};
///
/// // A line-by-line uppercasing service, 4 threads, 16 connections queued.
/// let listener = TcpListener::bind(&server, "198.18.0.2:7")?;
/// let srv = Server::start(listener, 4, 16, |stream, _peer| {
///     let mut lines = BufReader::new(&stream);
///     let mut line = String::new();
///     while lines.read_line(&mut line)? > 0 {
///         (&stream).write_all(line.to_uppercase().as_bytes())?;
///         line.clear();
///     }
///     Ok(())
/// })?;
///
/// let c = TcpStream::connect(&client, "198.18.0.2:7")?;
/// (&c).write_all(b"hello\n")?;
/// let mut reply = String::new();
/// BufReader::new(&c).read_line(&mut reply)?;
/// assert_eq!(reply, "HELLO\n");
/// drop(c); // the handler sees the end of stream and returns
/// srv.shutdown();
/// # std::io::Result::Ok(())
/// ```
pub struct Server {
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
    workers: Vec<JoinHandle<()>>,
    state: Arc<ServerState>,
    local_addr: SocketAddr,
}

/// How a [`Server`]'s handlers have fared so far ([`Server::stats`]).
/// Every connection a handler took up ends in exactly one of `served`,
/// `failed` and `panicked`; the counts are updated before the connection
/// closes, so a client that sees its connection end sees it counted.
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
/// use berth::{net::{TcpListener, TcpStream}, server::{Server, ServerStats}};
///
/// let listener = TcpListener::bind(&server, "198.18.0.2:7")?;
/// let srv = Server::start(listener, 1, 1, |_stream, _peer| Ok(()))?;
/// let mut c = TcpStream::connect(&client, "198.18.0.2:7")?;
/// assert_eq!(c.read(&mut [0; 1])?, 0); // served: the handler returned, the stream closed
/// let ServerStats { served, failed, panicked, active, .. } = srv.stats();
/// assert_eq!((served, failed, panicked, active), (1, 0, 0, 0));
/// # std::io::Result::Ok(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerStats {
    /// Connections whose handler returned `Ok`.
    pub served: u64,
    /// Connections whose handler returned an error (logged at `debug`).
    pub failed: u64,
    /// Connections whose handler panicked: each was reset, and the panic
    /// logged at `error` with the peer's address.
    pub panicked: u64,
    /// Connections a handler holds now.
    pub active: u64,
}

type Job = (TcpStream, SocketAddr);

/// `Server { local: 198.18.0.2:80, workers: 64, stats: .. }`.
impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("local", &self.local_addr)
            .field("workers", &self.workers.len())
            .field("stats", &self.stats())
            .finish()
    }
}

impl Server {
    /// Starts `workers` worker threads and an acceptor on `listener`; at most
    /// `queue` accepted connections wait for a worker. `handler` runs once
    /// per connection; its error is logged, not fatal, and so is its panic
    /// (see [`ServerStats`]). `workers` and `queue` are at least 1. The
    /// listener is put in blocking mode; the server owns it from now on.
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use std::io::{self, Read, Write};
    /// use berth::{net::{TcpListener, TcpStream}, server::Server};
    ///
    /// let listener = TcpListener::bind(&server, "198.18.0.2:7")?;
    /// // RFC 862 echo, two workers, up to eight connections waiting for one.
    /// let srv = Server::start(listener, 2, 8, |mut stream, _peer| {
    ///     io::copy(&mut stream.try_clone()?, &mut stream)?;
    ///     Ok(())
    /// })?;
    /// let mut c = TcpStream::connect(&client, "198.18.0.2:7")?;
    /// c.write_all(b"ping")?;
    /// let mut back = [0; 4];
    /// c.read_exact(&mut back)?;
    /// assert_eq!(&back, b"ping");
    /// # std::io::Result::Ok(())
    /// ```
    pub fn start<F>(
        listener: TcpListener,
        workers: usize,
        queue: usize,
        handler: F,
    ) -> io::Result<Self>
    where
        F: Fn(TcpStream, SocketAddr) -> io::Result<()> + Send + Sync + 'static,
    {
        let local_addr = listener.local_addr()?;
        let workers = workers.max(1);
        let (tx, rx): (SyncSender<Job>, Receiver<Job>) = sync_channel(queue.max(1));
        let rx = Arc::new(Mutex::new(rx));
        let handler = Arc::new(handler);
        let stop = Arc::new(AtomicBool::new(false));
        let state = Arc::new(ServerState::default());
        let mut pool = Vec::with_capacity(workers);
        for i in 0..workers {
            let rx = rx.clone();
            let handler = handler.clone();
            let state = state.clone();
            let alive = state.thread_started();
            pool.push(
                std::thread::Builder::new()
                    .name(format!("berth-worker-{i}"))
                    .spawn(move || {
                        let _alive = alive;
                        work(&rx, &*handler, &state);
                    })?,
            );
        }
        listener.set_nonblocking(false)?;
        let acceptor_stop = stop.clone();
        let alive = state.thread_started();
        let acceptor = std::thread::Builder::new()
            .name("berth-acceptor".into())
            .spawn(move || {
                let _alive = alive;
                accept_loop(&listener, &tx, &acceptor_stop);
                // Dropping `tx` lets the workers drain the queue and stop.
            })?;
        Ok(Self {
            stop,
            acceptor: Some(acceptor),
            workers: pool,
            state,
            local_addr,
        })
    }

    /// A snapshot of the handlers' outcomes and of the connections open.    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use std::io::{ErrorKind, Read, Write};
    /// use berth::{net::{TcpListener, TcpStream}, server::Server};
    ///
    /// let listener = TcpListener::bind(&server, "198.18.0.2:7")?;
    /// let srv = Server::start(listener, 1, 4, |mut stream, _peer| {
    ///     let mut buf = [0; 4];
    ///     stream.read_exact(&mut buf)?;
    ///     if &buf == b"boom" {
    ///         panic!("a bug in the handler");
    ///     }
    ///     stream.write_all(&buf)
    /// })?;
    ///
    /// let mut c = TcpStream::connect(&client, "198.18.0.2:7")?;
    /// c.write_all(b"boom")?;
    /// // The panic costs its connection only: a reset, and a count.
    /// assert_eq!(c.read(&mut [0; 4]).unwrap_err().kind(), ErrorKind::ConnectionReset);
    /// let stats = srv.stats();
    /// assert_eq!(stats.panicked, 1);
    ///
    /// // The worker lives on.
    /// let mut c = TcpStream::connect(&client, "198.18.0.2:7")?;
    /// c.write_all(b"ping")?;
    /// c.read_exact(&mut [0; 4])?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn stats(&self) -> ServerStats {
        self.state.stats()
    }

    /// The address the server's listener is bound to (with the port the
    /// stack chose, if it was bound to port 0).
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    /// use berth::{net::TcpListener, server::Server};
    ///
    /// let listener = TcpListener::bind(&server, "198.18.0.2:0")?;
    /// let srv = Server::start(listener, 1, 1, |_stream, _peer| Ok(()))?;
    /// assert_eq!(srv.local_addr().ip().to_string(), "198.18.0.2");
    /// assert_ne!(srv.local_addr().port(), 0);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting and waits for the workers to finish the connections
    /// they hold and those waiting in the queue, without limit: a client
    /// that keeps an idle connection open keeps this call waiting (see
    /// [`shutdown_timeout`](Self::shutdown_timeout)). Clients still in the
    /// listener's backlog are closed with the listener, and new ones
    /// refused.
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    ///
    /// use std::io::{ErrorKind, Read, Write};
    /// use std::sync::mpsc;
    /// use std::time::Duration;
    /// use berth::{net::{TcpListener, TcpStream}, server::Server};
    ///
    /// let (started, handler_started) = mpsc::channel();
    /// let listener = TcpListener::bind(&server, "198.18.0.2:7")?;
    /// let srv = Server::start(listener, 1, 1, move |mut stream, _peer| {
    ///     let _ = started.send(());
    ///     std::thread::sleep(Duration::from_millis(50)); // some work
    ///     stream.write_all(b"done\n")
    /// })?;
    /// let mut c = TcpStream::connect(&client, "198.18.0.2:7")?;
    /// handler_started.recv().unwrap();
    /// srv.shutdown(); // waits for the handler
    /// let mut reply = String::new();
    /// c.read_to_string(&mut reply)?;
    /// assert_eq!(reply, "done\n");
    /// let e = TcpStream::connect(&client, "198.18.0.2:7").unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::ConnectionRefused);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn shutdown(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.join();
    }

    /// Stops accepting and waits at most `timeout` for the workers to
    /// finish their connections, as [`shutdown`](Self::shutdown) does.
    /// Then every connection still open is reset (its handler's blocked
    /// read or write fails, so the handler returns; the error it returns
    /// counts as failed), and connections still in the queue are reset
    /// without running the handler. The call returns once the handlers have returned: a
    /// handler blocked on something other than its connection still holds
    /// it up.
    ///
    /// # Examples
    ///
    /// ```
    /// # use berth::NetStack;
    /// # use berth_device::{channel::ChannelDevice, Medium};
    /// # let (left, right) = ChannelDevice::pair(1500, Medium::Ip)?;
    /// # let server = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(left)?;
    /// # let client = NetStack::builder().addr("198.18.0.1".parse().unwrap()).build(right)?;
    ///
    /// use std::io::{ErrorKind, Read};
    /// use std::sync::mpsc;
    /// use std::time::Duration;
    /// use berth::{net::{TcpListener, TcpStream}, server::Server};
    ///
    /// let (started, handler_started) = mpsc::channel();
    /// let listener = TcpListener::bind(&server, "198.18.0.2:7")?;
    /// let srv = Server::start(listener, 1, 1, move |mut stream, _peer| {
    ///     let _ = started.send(());
    ///     stream.read_to_end(&mut Vec::new()).map(drop) // until the client is done
    /// })?;
    /// let mut idle = TcpStream::connect(&client, "198.18.0.2:7")?; // and never done
    /// handler_started.recv().unwrap();
    /// srv.shutdown_timeout(Duration::from_millis(100)); // returns all the same
    /// assert_eq!(idle.read(&mut [0; 1]).unwrap_err().kind(), ErrorKind::ConnectionReset);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn shutdown_timeout(mut self, timeout: Duration) {
        self.stop.store(true, Ordering::Relaxed);
        let deadline = Instant::now().checked_add(timeout);
        if !self.state.wait_threads(deadline) {
            let open = self.state.reset_all();
            tracing::debug!(
                open,
                "berth server: shutdown deadline passed, resetting connections"
            );
        }
        self.join();
    }

    fn join(&mut self) {
        if let Some(a) = self.acceptor.take() {
            let _ = a.join();
        }
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.join();
    }
}

/// The acceptor: hands connections to the queue until told to stop or the
/// stack is gone. Any other accept error is logged and retried after a
/// pause, so that one failure does not end the server.
fn accept_loop(listener: &TcpListener, tx: &SyncSender<Job>, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        match listener.accept_timeout(ACCEPT_POLL) {
            Ok(Some(job)) => {
                // Blocks while the queue is full: back-pressure.
                if tx.send(job).is_err() {
                    return;
                }
            }
            Ok(None) => {}
            // The listener is gone: the stack closed it (shutdown).
            Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                tracing::warn!("berth server: the stack is gone, no more connections");
                return;
            }
            Err(e) => {
                tracing::error!("berth server: accept failed: {e}");
                std::thread::sleep(ACCEPT_POLL);
            }
        }
    }
}

/// A worker: runs `handler` on each connection from the queue until the
/// queue is closed and empty. A panic in `handler` is caught: the
/// connection is reset, and the worker goes on.
fn work<F>(rx: &Mutex<Receiver<Job>>, handler: &F, state: &ServerState)
where
    F: Fn(TcpStream, SocketAddr) -> io::Result<()>,
{
    loop {
        let job = match rx.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok((stream, peer)) = job else { return };
        let Some(id) = state.enter(&stream) else {
            tracing::debug!(%peer, "berth server: shutting down, connection reset unserved");
            continue;
        };
        // The handler owns the stream; whatever it leaves behind on a
        // panic is dropped in the unwinding, and the server's clone resets
        // the connection below.
        let ended = panic::catch_unwind(AssertUnwindSafe(|| handler(stream, peer)));
        // Counted before the connection closes (`leave` drops the clone).
        match &ended {
            Ok(Ok(())) => state.record(Outcome::Served),
            Ok(Err(e)) => {
                tracing::debug!(%peer, "berth server: connection ended with {e}");
                state.record(Outcome::Failed);
            }
            Err(payload) => {
                tracing::error!(
                    %peer,
                    "berth server: handler panicked: {}; connection reset",
                    panic_message(payload.as_ref())
                );
                state.record(Outcome::Panicked);
            }
        }
        let clone = state.leave(id);
        if let (Err(_), Some(clone)) = (&ended, clone) {
            let _ = clone.abort();
        }
    }
}

/// The text of a panic (what `panic!` was given), if it has one.
fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}
