//! The control socket (feature `control`): a Unix stream socket on which
//! a stack answers each connection with one JSON [`Snapshot`] (its
//! sockets and counters) and closes it. `berth ss --control PATH` reads
//! it, so any program's stack can be inspected the way `berth up`'s is:
//!
//! ```
//! use berth::NetStack;
//! use berth_device::{channel::ChannelDevice, Medium};
//!
//! let (dev, _peer) = ChannelDevice::pair(1500, Medium::Ip).unwrap();
//! let stack = NetStack::builder().addr("198.18.0.2".parse().unwrap()).build(dev).unwrap();
//! let path = std::env::temp_dir().join(format!("berth-doc-{}.sock", std::process::id()));
//! let control = stack.serve_control(&path).unwrap();
//! // Elsewhere: `berth ss --control <path>`, `berth ss --control <path> --stats`,
//! // or from Rust:
//! let snap = berth::control::fetch(&path).unwrap();
//! assert!(snap.stats.contains_key("frames_in"));
//! drop(control); // stops serving, removes the socket file
//! assert!(!path.exists());
//! ```

mod snapshot;

use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token, Waker};

pub use self::snapshot::{RelayRow, Snapshot, SocketRow, TcpRow};
use crate::NetStack;
use crate::shared::Shared;

/// How long a client that does not read may hold the control thread.
const WRITE_TIMEOUT: Duration = Duration::from_secs(2);
const LISTENER: Token = Token(0);
const STOP: Token = Token(1);

impl NetStack {
    /// Serves the control socket at `path`: each connection gets one JSON
    /// [`Snapshot`] of this stack (sockets and counters), so that
    /// `berth ss --control PATH` (and `--stats`) shows it. A thread of its
    /// own answers; it never keeps the stack alive.
    ///
    /// A socket file left at `path` by a process that is gone is replaced;
    /// a live one is `AddrInUse`. The parent directory must exist. Serving
    /// stops, and the file is removed, when the returned [`ControlServer`]
    /// is dropped. See [the module](crate::control) for an example.
    pub fn serve_control(&self, path: impl AsRef<Path>) -> io::Result<ControlServer> {
        self.serve_control_with(path, |_| {})
    }

    /// [`serve_control`](Self::serve_control), with `extend` adding what
    /// the application knows to each snapshot before it is sent (a proxy's
    /// relays, say; see [`Snapshot::relays`]). It runs on the control
    /// thread, without the stack's lock.
    pub fn serve_control_with(
        &self,
        path: impl AsRef<Path>,
        extend: impl Fn(&mut Snapshot) + Send + 'static,
    ) -> io::Result<ControlServer> {
        let path = path.as_ref().to_path_buf();
        let listener = bind(&path)?;
        let ino = std::fs::symlink_metadata(&path).ok().map(|m| m.ino());
        listener.set_nonblocking(true)?;
        let poll = Poll::new()?;
        poll.registry().register(
            &mut SourceFd(&listener.as_raw_fd()),
            LISTENER,
            Interest::READABLE,
        )?;
        let waker = Waker::new(poll.registry(), STOP)?;
        let shared = Arc::downgrade(&self.shared);
        let thread = std::thread::Builder::new()
            .name("berth-control".into())
            .spawn(move || serve(&listener, poll, &shared, &extend))?;
        Ok(ControlServer {
            path,
            ino,
            waker,
            thread: Some(thread),
        })
    }

    /// What the control socket sends: the stack's sockets and counters
    /// now.
    pub fn snapshot(&self) -> Snapshot {
        snapshot_of(&self.shared)
    }
}

/// The control socket of a stack ([`NetStack::serve_control`]). Dropping
/// it stops serving and removes the socket file.
#[derive(Debug)]
pub struct ControlServer {
    path: PathBuf,
    /// The socket file's inode, so that a file someone else put there
    /// since is not removed.
    ino: Option<u64>,
    waker: Waker,
    thread: Option<JoinHandle<()>>,
}

impl ControlServer {
    /// Where it listens.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        // Fails only if the thread has ended already.
        let _ = self.waker.wake();
        if let Some(t) = self.thread.take()
            && t.join().is_err()
        {
            tracing::error!("berth: the control thread panicked");
        }
        let ours = std::fs::symlink_metadata(&self.path)
            .is_ok_and(|m| m.file_type().is_socket() && Some(m.ino()) == self.ino);
        if ours {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Reads the snapshot a control socket sends (what `berth ss` does).
pub fn fetch(path: impl AsRef<Path>) -> io::Result<Snapshot> {
    let mut conn = UnixStream::connect(path)?;
    let mut buf = Vec::new();
    conn.read_to_end(&mut buf)?;
    serde_json::from_slice(&buf).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Binds `path`, taking the place of a socket file nobody answers on.
fn bind(path: &Path) -> io::Result<UnixListener> {
    match UnixListener::bind(path) {
        Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
            let is_socket =
                std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket());
            let stale = is_socket
                && UnixStream::connect(path)
                    .is_err_and(|e| e.kind() == io::ErrorKind::ConnectionRefused);
            if !stale {
                return Err(e);
            }
            std::fs::remove_file(path)?;
            UnixListener::bind(path)
        }
        other => other,
    }
}

/// The control thread: answers every connection until told to stop, or
/// until the stack is gone (then the listener closes, and clients are
/// refused).
fn serve(
    listener: &UnixListener,
    mut poll: Poll,
    shared: &Weak<Shared>,
    extend: &dyn Fn(&mut Snapshot),
) {
    let mut events = Events::with_capacity(4);
    loop {
        match poll.poll(&mut events, None) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                tracing::error!("berth: the control socket stopped: {e}");
                return;
            }
        }
        if events.iter().any(|e| e.token() == STOP) {
            return;
        }
        // Readiness is edge-triggered: take every waiting connection.
        loop {
            match listener.accept() {
                Ok((conn, _)) => {
                    let Some(shared) = shared.upgrade() else {
                        return;
                    };
                    let mut snap = snapshot_of(&shared);
                    drop(shared);
                    extend(&mut snap);
                    if let Err(e) = answer(conn, &snap) {
                        tracing::debug!("berth: a control client went away: {e}");
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // Out of descriptors, say: the next connection retries.
                    tracing::warn!("berth: accepting on the control socket: {e}");
                    break;
                }
            }
        }
    }
}

/// The snapshot, taken under one lock (the core's queues and the
/// streams' own agree).
fn snapshot_of(shared: &Shared) -> Snapshot {
    let inner = shared.lock();
    let app = inner
        .pipes
        .iter()
        .map(|(&h, p)| (h, p.queued_bytes()))
        .collect();
    Snapshot::from_core(&inner.stack, &app)
}

fn answer(mut conn: UnixStream, snap: &Snapshot) -> io::Result<()> {
    conn.set_nonblocking(false)?;
    conn.set_write_timeout(Some(WRITE_TIMEOUT))?;
    let json = serde_json::to_vec(snap).map_err(io::Error::other)?;
    conn.write_all(&json)
}
