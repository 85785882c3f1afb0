//! Leader/follower device reads: a thread blocked on a TCP stream reads
//! the device itself, so that the segment that unblocks it wakes it directly,
//! not the stack thread, which would then wake it (two context switches
//! per exchange instead of one, and a futex each way).
//!
//! The stack thread owns the device by default: it waits on it in its
//! `epoll`. A thread about to block on a stream (past the stream's first
//! two waits: `pipe`), if nobody leads, takes the lead: it takes the
//! device out of the stack thread's `epoll` (the device is *loaned*) and
//! waits on it and on a doorbell with `poll(2)`.
//! When frames come, it runs a turn of the stack on its own thread (input,
//! timers, what the applications asked for, output), as the stack thread
//! would, and wakes whoever that made ready. Once its own socket is ready
//! it leaves (vacates) and returns to its application, which usually
//! blocks again a few microseconds later and leads again, the device still
//! loaned: one `poll` per exchange, no hand-off. Others blocked meanwhile
//! wait on their condition variables, as before, and are woken by the
//! leader's turns. Accepts, UDP receives and connects never lead: such a
//! thread may wait long (an acceptor, an idle UDP service) and would keep
//! the lead from the threads whose segments come.
//!
//! Nobody may leave the device unread for long while the application of
//! the last leader runs: the stack thread takes the device back
//! (reclaims it) when no leader has come back within [`GRACE`] of the last
//! one leaving. It does not poll for that: a leaving leader arms the stack
//! thread's timer for then, unless it sleeps shorter already. A stream
//! closed while nobody leads gives the device back at once (its thread is
//! likely done), and the stack thread takes it back when the stack stops,
//! and keeps it while callback ports are served (their handlers run on
//! the stack thread). The stack thread still reads the device on every
//! turn it runs while the device is loaned: frames never wait for a
//! leader.
//!
//! Everything here changes under the stack's lock; the leader waits
//! without any lock.

use std::cell::Cell;
use std::os::fd::RawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Wake, Waker};

use berth_core::time::{Duration, Instant};
use berth_device::Doorbell;
use mio::unix::SourceFd;

/// How long the device may go unwatched after a leader left before the
/// stack thread takes it back: an application that reads again within
/// it leads again, without the stack thread waking in between.
pub(crate) const GRACE: Duration = Duration::from_micros(1_000);

thread_local! {
    /// This thread leads now: it processes its own stream's wake-ups as
    /// it runs the stack's turn, with no doorbell.
    static LEADING: Cell<bool> = const { Cell::new(false) };
}

/// Marks the calling thread as the leader while it lives.
pub(crate) struct LeadingHere;

impl LeadingHere {
    pub(crate) fn new() -> Self {
        LEADING.with(|l| l.set(true));
        Self
    }
}

impl Drop for LeadingHere {
    fn drop(&mut self) {
        LEADING.with(|l| l.set(false));
    }
}

/// Rings the leader out of its wait when something other than its own
/// turn makes its stream ready (the stack thread's timers, another
/// thread's call, the stack stopping).
struct Bell(Arc<Doorbell>);

impl Wake for Bell {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !LEADING.with(Cell::get) {
            self.0.ring();
        }
    }
}

/// The device's loan: who may wait on it. Every change is made under the
/// stack's lock, by whichever thread holds it, on the stack thread's
/// `epoll` through a clone of its registry (`epoll_ctl` from another
/// thread is safe while the stack thread waits; a device taken back with
/// frames waiting wakes it).
pub(crate) struct Lead {
    /// The device's descriptor, waited on by the leader.
    pub(crate) device_fd: RawFd,
    /// The stack thread's `epoll`, and the device's token in it.
    registry: mio::Registry,
    token: mio::Token,
    pub(crate) bell: Arc<Doorbell>,
    /// Rings `bell` (unless the leader itself makes the wake-up).
    pub(crate) bell_waker: Waker,
    /// The device is out of the stack thread's `epoll` (read without the
    /// lock as a hint).
    loaned: AtomicBool,
    /// An application thread leads.
    leader: AtomicBool,
    /// The last to lead was an async runtime (`tokio_net::lead_device`),
    /// which leaves after every turn and comes back at the next frame: a
    /// stream's close does not end its loan.
    runtime_led: AtomicBool,
    /// The device failed: nobody leads any more.
    failed: AtomicBool,
    /// When the last leader left (the core's microseconds).
    vacated: AtomicU64,
    /// Turns of the stack run by leaders (for tests).
    pub(crate) turns: AtomicU64,
}

impl Lead {
    pub(crate) fn new(
        device_fd: RawFd,
        registry: mio::Registry,
        token: mio::Token,
    ) -> std::io::Result<Self> {
        let bell = Arc::new(Doorbell::new()?);
        Ok(Self {
            device_fd,
            registry,
            token,
            bell_waker: Waker::from(Arc::new(Bell(bell.clone()))),
            bell,
            loaned: AtomicBool::new(false),
            leader: AtomicBool::new(false),
            runtime_led: AtomicBool::new(false),
            failed: AtomicBool::new(false),
            vacated: AtomicU64::new(0),
            turns: AtomicU64::new(0),
        })
    }

    /// Nobody leads now (a hint, checked again under the stack's lock).
    pub(crate) fn open(&self) -> bool {
        !self.leader.load(Ordering::Relaxed) && !self.failed.load(Ordering::Relaxed)
    }

    /// Under the stack's lock: the calling thread becomes the leader if
    /// nobody leads, taking the device out of the stack thread's `epoll`
    /// if it is still there. `runtime`: an async runtime's task leads.
    pub(crate) fn take(&self, runtime: bool) -> bool {
        if !self.open() {
            return false;
        }
        if !self.loaned.load(Ordering::Relaxed) {
            if let Err(e) = self.registry.deregister(&mut SourceFd(&self.device_fd)) {
                tracing::debug!("berth: taking the device out of the stack thread's poll: {e}");
                return false;
            }
            self.loaned.store(true, Ordering::Relaxed);
        }
        self.leader.store(true, Ordering::Relaxed);
        self.runtime_led.store(runtime, Ordering::Relaxed);
        true
    }

    /// Under the stack's lock: the leader leaves at `now`; the stack
    /// thread must look at the device by the instant returned.
    pub(crate) fn vacate(&self, now: Instant) -> Instant {
        self.leader.store(false, Ordering::Relaxed);
        self.vacated.store(now.total_micros(), Ordering::Relaxed);
        now + GRACE
    }

    /// Under the stack's lock: the device is still loaned.
    pub(crate) fn loaned(&self) -> bool {
        self.loaned.load(Ordering::Relaxed)
    }

    /// Under the stack's lock: the device goes back into the stack
    /// thread's `epoll`; a leader waiting on it leaves.
    fn reclaim(&self) {
        if !self.loaned.load(Ordering::Relaxed) {
            return;
        }
        self.loaned.store(false, Ordering::Relaxed);
        if self.leader.load(Ordering::Relaxed) {
            self.bell.ring();
        }
        if !self.failed.load(Ordering::Relaxed)
            && let Err(e) = berth_device::watch_level(
                std::os::fd::AsRawFd::as_raw_fd(&self.registry),
                self.device_fd,
                self.token.0 as u64,
            )
        {
            tracing::warn!("berth: putting the device back into the stack thread's poll: {e}");
        }
    }

    /// Under the stack's lock, as a stream closes: if nobody leads, the
    /// device goes back to the stack thread now rather than after the
    /// grace (the thread that led last is likely done with the stack).
    /// Whether it did.
    pub(crate) fn release(&self) -> bool {
        if self.loaned.load(Ordering::Relaxed)
            && !self.leader.load(Ordering::Relaxed)
            && !self.runtime_led.load(Ordering::Relaxed)
        {
            self.reclaim();
            return true;
        }
        false
    }

    /// The device failed (the stack thread stopped polling it).
    pub(crate) fn fail(&self) {
        self.failed.store(true, Ordering::Relaxed);
        self.bell.ring();
    }

    /// Under the stack's lock, at the end of the stack thread's turn:
    /// takes the device back if it must stay with the stack thread
    /// (`hold`: callback ports, the stack stopping) or has gone unwatched
    /// for the grace; otherwise until when at the latest the stack thread
    /// must look again.
    pub(crate) fn plan(&self, now: Instant, hold: bool) -> Option<Instant> {
        if !self.loaned.load(Ordering::Relaxed) {
            return None;
        }
        if hold {
            self.reclaim();
            return None;
        }
        if self.leader.load(Ordering::Relaxed) {
            // Its leaving arms the stack thread's timer.
            return None;
        }
        let back = Instant::from_micros(self.vacated.load(Ordering::Relaxed)) + GRACE;
        if now >= back {
            self.reclaim();
            return None;
        }
        Some(back)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::io::{ErrorKind, Read, Write};
    use std::sync::atomic::Ordering;
    use std::sync::mpsc;
    use std::time::Duration as StdDuration;

    use berth_device::Medium;
    use berth_device::channel::ChannelDevice;

    use super::Lead;
    use crate::NetStack;
    use crate::net::{TcpListener, TcpStream};

    /// A server stack and a client stack on an in-memory link (a socket
    /// pair: a descriptor to lead on).
    pub(crate) fn pair() -> (NetStack, NetStack) {
        let (left, right) = ChannelDevice::pair(1500, Medium::Ip).unwrap();
        let server = NetStack::builder()
            .addr("198.18.0.2".parse().unwrap())
            .seed(1)
            .build(left)
            .unwrap();
        let client = NetStack::builder()
            .addr("198.18.0.1".parse().unwrap())
            .seed(2)
            .build(right)
            .unwrap();
        (server, client)
    }

    /// Turns of `stack` that leaders ran.
    pub(crate) fn turns(stack: &NetStack) -> u64 {
        stack
            .shared
            .lead
            .as_ref()
            .map_or(0, |l| l.turns.load(Ordering::Relaxed))
    }

    fn exchange(c: &mut TcpStream, i: u8) {
        c.write_all(&[i; 16]).unwrap();
        let mut back = [0u8; 16];
        c.read_exact(&mut back).unwrap();
        assert_eq!(back, [i; 16]);
    }

    #[test]
    fn a_blocked_reader_runs_the_stacks_turns_itself() {
        let (server, client) = pair();
        let listener = TcpListener::bind(&server, "198.18.0.2:7").unwrap();
        let echo = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = [0u8; 64];
            loop {
                match s.read(&mut buf).unwrap() {
                    0 => return,
                    n => s.write_all(&buf[..n]).unwrap(),
                }
            }
        });
        let mut c = TcpStream::connect(&client, "198.18.0.2:7").unwrap();
        for i in 0..200 {
            exchange(&mut c, i);
        }
        drop(c);
        echo.join().unwrap();
        // Both sides' readers led: each exchange's segment was read by the
        // thread it was for.
        assert!(turns(&server) > 0, "the server's reader never led");
        assert!(turns(&client) > 0, "the client's reader never led");
    }

    #[test]
    fn a_leader_that_stops_reading_gives_the_device_back() {
        let (server, client) = pair();
        let listener = TcpListener::bind(&server, "198.18.0.2:7").unwrap();
        let (park_tx, park_rx) = mpsc::channel::<()>();
        let (done_tx, done_rx) = mpsc::channel();
        let first = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            // Leads while it waits, then stops reading for good, holding
            // its stream and leaving the device loaned.
            let mut buf = [0u8; 16];
            for _ in 0..5 {
                s.read_exact(&mut buf).unwrap();
                s.write_all(&buf).unwrap();
            }
            let second = listener.accept().unwrap().0;
            done_tx.send(second).unwrap();
            let _ = park_rx.recv();
            drop(s);
        });
        let mut a = TcpStream::connect(&client, "198.18.0.2:7").unwrap();
        for i in 0..5 {
            exchange(&mut a, i);
        }
        assert!(turns(&server) > 0, "the first reader never led");
        // A second connection, served by this thread: its segments reach
        // the server only if someone reads the server's device.
        let mut b = TcpStream::connect(&client, "198.18.0.2:7").unwrap();
        let mut second = done_rx.recv_timeout(StdDuration::from_secs(30)).unwrap();
        b.write_all(b"ping").unwrap();
        let mut got = [0u8; 4];
        second
            .set_read_timeout(Some(StdDuration::from_secs(30)))
            .unwrap();
        second.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"ping");
        park_tx.send(()).unwrap();
        first.join().unwrap();
    }

    #[test]
    fn a_leaders_read_ends_at_its_timeout_and_when_the_stack_stops() {
        let (server, client) = pair();
        let listener = TcpListener::bind(&server, "198.18.0.2:7").unwrap();
        let c = TcpStream::connect(&client, "198.18.0.2:7").unwrap();
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(StdDuration::from_millis(20)))
            .unwrap();
        let mut buf = [0u8; 8];
        // A stream's first waits do not lead (`pipe`): past them, these
        // time out as leaders.
        for _ in 0..3 {
            let e = s.read(&mut buf).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::WouldBlock, "{e}");
        }
        // Blocked with no timeout, leading; then the stack goes away.
        s.set_read_timeout(None).unwrap();
        let reader = std::thread::spawn(move || s.read(&mut buf).map_err(|e| e.kind()));
        let limit = std::time::Instant::now() + StdDuration::from_secs(30);
        while server.shared.lead.as_ref().is_some_and(Lead::open) {
            assert!(std::time::Instant::now() < limit, "the reader never led");
            std::thread::yield_now();
        }
        drop(server);
        let ended = reader.join().unwrap();
        assert!(
            matches!(ended, Ok(0) | Err(ErrorKind::NotConnected)),
            "{ended:?}"
        );
        drop(c);
    }

    #[test]
    fn callback_ports_keep_the_device_on_the_stack_thread() {
        let (server, client) = pair();
        let _port = server.listen_with("198.18.0.2:9", |_, _| {}).unwrap();
        let listener = TcpListener::bind(&server, "198.18.0.2:7").unwrap();
        let echo = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = [0u8; 16];
            while let Ok(n @ 1..) = s.read(&mut buf) {
                s.write_all(&buf[..n]).unwrap();
            }
        });
        let mut c = TcpStream::connect(&client, "198.18.0.2:7").unwrap();
        for i in 0..20 {
            exchange(&mut c, i);
        }
        drop(c);
        echo.join().unwrap();
        assert_eq!(turns(&server), 0, "a reader led beside a callback port");
    }
}
