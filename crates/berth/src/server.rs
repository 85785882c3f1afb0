//! The acceptor/worker server: one acceptor thread loops on
//! [`TcpListener::accept`] and hands each connection to a fixed pool of
//! worker threads through a bounded queue. When the queue is full the
//! acceptor waits (back-pressure: further clients wait in the listener's
//! backlog, as with a busy Linux server). [`Server::shutdown`] (or drop)
//! stops accepting, lets the workers finish the connections they hold, and
//! joins every thread.
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
//! server.shutdown();
//! ```

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::net::{TcpListener, TcpStream};

/// How often the acceptor looks at the stop flag while no client comes.
const ACCEPT_POLL: Duration = Duration::from_millis(100);

/// A running acceptor/worker server.
pub struct Server {
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
    workers: Vec<JoinHandle<()>>,
    served: Arc<AtomicU64>,
}

type Job = (TcpStream, SocketAddr);

impl Server {
    /// Starts `workers` worker threads and an acceptor on `listener`; at most
    /// `queue` accepted connections wait for a worker. `handler` runs once
    /// per connection; its error is logged, not fatal.
    pub fn start<F>(
        listener: TcpListener,
        workers: usize,
        queue: usize,
        handler: F,
    ) -> io::Result<Self>
    where
        F: Fn(TcpStream, SocketAddr) -> io::Result<()> + Send + Sync + 'static,
    {
        let workers = workers.max(1);
        let (tx, rx): (SyncSender<Job>, Receiver<Job>) = sync_channel(queue.max(1));
        let rx = Arc::new(Mutex::new(rx));
        let handler = Arc::new(handler);
        let stop = Arc::new(AtomicBool::new(false));
        let served = Arc::new(AtomicU64::new(0));
        let mut pool = Vec::with_capacity(workers);
        for i in 0..workers {
            let rx = rx.clone();
            let handler = handler.clone();
            let served = served.clone();
            pool.push(
                std::thread::Builder::new()
                    .name(format!("berth-worker-{i}"))
                    .spawn(move || {
                        loop {
                            let job = match rx.lock() {
                                Ok(rx) => rx.recv(),
                                Err(_) => return,
                            };
                            let Ok((stream, peer)) = job else { return };
                            if let Err(e) = handler(stream, peer) {
                                tracing::debug!(%peer, "berth server: connection ended with {e}");
                            }
                            served.fetch_add(1, Ordering::Relaxed);
                        }
                    })?,
            );
        }
        listener.set_nonblocking(false)?;
        let acceptor_stop = stop.clone();
        let acceptor = std::thread::Builder::new()
            .name("berth-acceptor".into())
            .spawn(move || {
                while !acceptor_stop.load(Ordering::Relaxed) {
                    match listener.accept_timeout(ACCEPT_POLL) {
                        Ok(Some(job)) => {
                            // Blocks while the queue is full: back-pressure.
                            if tx.send(job).is_err() {
                                return;
                            }
                        }
                        Ok(None) => {}
                        // The listener is gone: the stack closed it (shutdown).
                        Err(e) if e.kind() == io::ErrorKind::NotConnected => return,
                        Err(e) => {
                            tracing::warn!("berth server: accept failed: {e}");
                            return;
                        }
                    }
                }
                // Dropping `tx` lets the workers drain the queue and stop.
            })?;
        Ok(Self {
            stop,
            acceptor: Some(acceptor),
            workers: pool,
            served,
        })
    }

    /// Connections handled so far.
    pub fn served(&self) -> u64 {
        self.served.load(Ordering::Relaxed)
    }

    /// Stops accepting, waits for the workers to finish their connections.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
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
        self.stop_and_join();
    }
}
