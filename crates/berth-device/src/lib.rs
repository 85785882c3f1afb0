//! Packet I/O between berth and the operating system.
//!
//! A [`Device`] moves whole frames: raw IP packets for a TUN device or an
//! in-memory IP link, Ethernet frames for TAP. The runtime owns one device,
//! waits for [`Device::raw_fd`] to become readable (or for
//! [`Device::poll_at`]), then reads many frames per wake-up and writes what
//! the stack produced. Devices are nonblocking.
//!
//! - [`channel`]: an in-memory link between two stacks in one process (a
//!   `UnixDatagram` pair: datagram boundaries kept, pollable, no `unsafe`).
//! - [`tun`], [`tap`]: Linux TUN (raw IP) and TAP (Ethernet) devices, and
//!   [`kernel`] to configure the kernel's side of them (link up, MTU,
//!   addresses, network namespaces).
//! - [`fault`]: a middleware that loses, duplicates, corrupts, delays,
//!   reorders and rate-limits frames, from a seed.
//! - [`pcap`]: a middleware that captures every frame to a pcap file, and a
//!   standalone pcap writer for simulations.
//! - `testing` (feature `testing`): the precondition of the test suites
//!   that need root and a TUN device (run, skip, or under `CI=true` fail).
//!
//! This is the only crate of the workspace that may contain `unsafe` code,
//! confined to its `sys` modules (TUN/TAP ioctls, `setns`, `poll`).

use std::io;
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

pub mod channel;
pub mod fault;
pub mod kernel;
pub mod pcap;
mod sys;
pub mod tap;
#[cfg(feature = "testing")]
pub mod testing;
pub mod tun;
mod vnet;

/// Waits until `fd` (such as [`Device::raw_fd`]) is readable or `timeout`
/// passes, with `poll(2)`: `Ok(true)` when readable. For tests and simple
/// loops; the runtime waits on many sources at once. `Unsupported` where
/// TUN/TAP are.
pub fn wait_readable(fd: RawFd, timeout: Duration) -> io::Result<bool> {
    sys::wait_readable(fd, timeout)
}

/// Waits until `first` or `second` is readable (or in error), or
/// `timeout` passes (`None`: no limit), with one `poll(2)`: which of the
/// two are. For a thread that waits on a device and on a [`Doorbell`] at
/// once. `Unsupported` where TUN/TAP are.
pub fn wait_either(
    first: RawFd,
    second: RawFd,
    timeout: Option<Duration>,
) -> io::Result<(bool, bool)> {
    sys::wait_either(first, second, timeout)
}

/// A new descriptor for the file `fd` refers to (`F_DUPFD_CLOEXEC`), for
/// registering a device with another event loop for as long as that loop
/// holds it, whatever becomes of `fd`. `Unsupported` off Linux.
pub fn duplicate(fd: RawFd) -> io::Result<std::os::fd::OwnedFd> {
    sys::duplicate(fd)
}

/// Adds `fd` to the `epoll` instance `epoll` (such as a `mio::Poll`'s
/// descriptor), readable and *level-triggered*, with `token` as the
/// event's data (what a `mio::Token` carries): every wait reports it for
/// as long as it has something to read, so a reader may take one frame
/// and wait again instead of reading until `EAGAIN` (which `mio`'s
/// edge-triggered registrations require). Removed again with `mio`'s
/// `deregister` or `EPOLL_CTL_DEL`. `Unsupported` off Linux.
pub fn watch_level(epoll: RawFd, fd: RawFd, token: u64) -> io::Result<()> {
    sys::watch_level(epoll, fd, token)
}

/// An `eventfd`: one thread rings it, another waiting on it with
/// [`wait_either`] wakes; it stays readable until cleared, so a ring
/// before the wait is not lost. `Unsupported` off Linux.
pub struct Doorbell(sys::EventFd);

impl Doorbell {
    /// A silent doorbell.
    pub fn new() -> io::Result<Self> {
        sys::EventFd::new().map(Self)
    }

    /// Makes it readable.
    pub fn ring(&self) {
        self.0.ring();
    }

    /// Makes it unreadable again.
    pub fn clear(&self) {
        self.0.clear();
    }

    /// Its descriptor, to wait on.
    pub fn raw_fd(&self) -> RawFd {
        self.0.raw_fd()
    }
}

/// Keeps the calling thread on CPU `cpu` from now on (`sched_setaffinity`),
/// for a stack thread that should own a core, or for benchmarks that place
/// client and server. `Unsupported` off Linux.
pub fn pin_current_thread(cpu: usize) -> io::Result<()> {
    sys::pin_current_thread(cpu)
}

/// Raises this process's limit on open files (`RLIMIT_NOFILE`): with
/// `CAP_SYS_RESOURCE` both limits to the kernel's `fs.nr_open` (at most
/// 2^20), else the soft limit to the hard one; for a proxy that holds a
/// host socket per flow. Returns the limit now in force. `Unsupported` off
/// Linux.
pub fn raise_fd_limit() -> io::Result<u64> {
    sys::raise_fd_limit()
}

/// A timer that is a file descriptor (Linux's `timerfd`): it becomes
/// readable when it runs out, so a thread waiting on its device in
/// `epoll` can be given an earlier deadline by another thread without
/// being woken. `Unsupported` off Linux.
pub struct Timer(sys::TimerFd);

impl Timer {
    /// A disarmed timer.
    pub fn new() -> io::Result<Self> {
        sys::TimerFd::new().map(Self)
    }

    /// Runs out `after` from now; `None` disarms it.
    pub fn set(&self, after: Option<Duration>) -> io::Result<()> {
        self.0.set(after)
    }

    /// Clears its readiness after it ran out.
    pub fn clear(&self) {
        self.0.clear();
    }

    /// Its descriptor, to register for readability.
    pub fn raw_fd(&self) -> RawFd {
        self.0.raw_fd()
    }
}

/// What a device's frames carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Medium {
    /// Raw IPv4/IPv6 packets (TUN).
    Ip,
    /// Ethernet II frames (TAP).
    Ethernet,
}

/// A frame [`Device::recv_frame`] read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    /// Its length.
    pub len: usize,
    /// Its transport checksum need not be verified (see `recv_frame`).
    pub checksum_vouched: bool,
}

/// A source and sink of frames.
pub trait Device: Send {
    /// Reads one frame into `buf`: `Ok(Some(len))`, or `Ok(None)` when no
    /// frame is ready. A frame longer than `buf` is truncated.
    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>>;

    /// Writes one frame. `Ok(false)` when the device cannot take it now
    /// (the frame is dropped; TCP retransmits, like a full NIC queue).
    fn send(&mut self, frame: &[u8]) -> io::Result<bool>;

    /// The largest frame the device carries (the MTU for IP media).
    fn mtu(&self) -> usize;

    /// What the frames carry.
    fn medium(&self) -> Medium {
        Medium::Ip
    }

    /// A descriptor that polls readable when `recv` may return a frame.
    fn raw_fd(&self) -> Option<RawFd>;

    /// When the device next has work of its own (a delayed frame of a fault
    /// injector coming due); `None` if never.
    fn poll_at(&self) -> Option<Instant> {
        None
    }

    /// Like [`Device::recv`], and whether the frame's TCP or UDP checksum
    /// is vouched for (checksum offload: the kernel's own packet, never on
    /// a wire, with its checksum left undone, which `recv` completes and
    /// this does not). Devices without offloads vouch for nothing.
    fn recv_frame(&mut self, buf: &mut [u8]) -> io::Result<Option<Received>> {
        Ok(self.recv(buf)?.map(|len| Received {
            len,
            checksum_vouched: false,
        }))
    }

    /// The longest packet `recv` may return: more than the MTU on a device
    /// that passes on TCP segments the kernel did not split (GSO).
    fn recv_capacity(&self) -> usize {
        self.mtu()
    }

    /// The longest IP packet carrying one TCP segment that
    /// [`Device::send_tcp_segments`] takes, for the device (or the kernel
    /// behind it) to complete its checksum and split it into segments that
    /// fit the MTU; 0 when it cannot.
    fn tso_max(&self) -> usize {
        0
    }

    /// Writes an IPv4 or IPv6 packet (no extension headers) holding one TCP
    /// segment whose TCP checksum field holds the pseudo-header sum only,
    /// for the device to complete (checksum offload). A payload longer than
    /// `seg_payload` is split into segments of `seg_payload` bytes each (the
    /// last may be shorter; only it keeps FIN and PSH), each segment's
    /// checksum completed; a shorter one goes as it is. `Ok(false)` when
    /// the device cannot take it now, like `send`; `Unsupported` when
    /// [`Device::tso_max`] is 0.
    fn send_tcp_segments(&mut self, packet: &[u8], seg_payload: u16) -> io::Result<bool> {
        let _ = (packet, seg_payload);
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "this device does not split TCP segments",
        ))
    }
}

impl<D: Device + ?Sized> Device for Box<D> {
    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        (**self).recv(buf)
    }
    fn send(&mut self, frame: &[u8]) -> io::Result<bool> {
        (**self).send(frame)
    }
    fn mtu(&self) -> usize {
        (**self).mtu()
    }
    fn medium(&self) -> Medium {
        (**self).medium()
    }
    fn raw_fd(&self) -> Option<RawFd> {
        (**self).raw_fd()
    }
    fn poll_at(&self) -> Option<Instant> {
        (**self).poll_at()
    }
    fn recv_frame(&mut self, buf: &mut [u8]) -> io::Result<Option<Received>> {
        (**self).recv_frame(buf)
    }
    fn recv_capacity(&self) -> usize {
        (**self).recv_capacity()
    }
    fn tso_max(&self) -> usize {
        (**self).tso_max()
    }
    fn send_tcp_segments(&mut self, packet: &[u8], seg_payload: u16) -> io::Result<bool> {
        (**self).send_tcp_segments(packet, seg_payload)
    }
}

#[cfg(all(test, target_os = "linux"))]
mod timer_tests {
    use std::time::Duration;

    use super::{Doorbell, Timer, wait_either, wait_readable};

    #[test]
    fn a_doorbell_wakes_a_wait_on_either_descriptor_until_cleared() {
        let bell = Doorbell::new().unwrap();
        let other = Timer::new().unwrap();
        let wait = |t| wait_either(other.raw_fd(), bell.raw_fd(), Some(t)).unwrap();
        assert_eq!(wait(Duration::ZERO), (false, false), "silent");
        // Rung before the wait: not lost (a bound on a hang, not a timing
        // check).
        bell.ring();
        bell.ring();
        assert_eq!(wait(Duration::from_secs(60)), (false, true));
        bell.clear();
        assert_eq!(wait(Duration::ZERO), (false, false), "cleared");
        other.set(Some(Duration::ZERO)).unwrap();
        assert_eq!(wait(Duration::from_secs(60)), (true, false));
        let rung = std::thread::scope(|s| {
            let waiter = s.spawn(|| wait_either(bell.raw_fd(), bell.raw_fd(), None).unwrap());
            bell.ring();
            waiter.join().unwrap()
        });
        assert_eq!(rung, (true, true), "no timeout: until rung");
    }

    #[test]
    fn a_timer_becomes_readable_when_it_runs_out_and_not_before() {
        let t = Timer::new().unwrap();
        assert!(
            !wait_readable(t.raw_fd(), Duration::ZERO).unwrap(),
            "disarmed"
        );
        t.set(Some(Duration::from_secs(3600))).unwrap();
        assert!(
            !wait_readable(t.raw_fd(), Duration::ZERO).unwrap(),
            "an hour away"
        );
        // Moved earlier: at once (a bound on a hang, not a timing check).
        t.set(Some(Duration::ZERO)).unwrap();
        assert!(wait_readable(t.raw_fd(), Duration::from_secs(60)).unwrap());
        t.clear();
        assert!(
            !wait_readable(t.raw_fd(), Duration::ZERO).unwrap(),
            "cleared"
        );
        t.set(Some(Duration::ZERO)).unwrap();
        t.set(None).unwrap();
        assert!(
            !wait_readable(t.raw_fd(), Duration::ZERO).unwrap(),
            "disarmed again"
        );
    }
}

#[cfg(all(test, target_os = "linux"))]
mod pin_tests {
    use super::pin_current_thread;

    #[test]
    fn a_pinned_thread_runs_on_its_cpu_only() {
        std::thread::spawn(|| {
            pin_current_thread(0).unwrap();
            let status = std::fs::read_to_string("/proc/thread-self/status").unwrap();
            assert!(status.contains("Cpus_allowed_list:\t0\n"), "{status}");
            assert_eq!(
                pin_current_thread(1 << 20).unwrap_err().kind(),
                std::io::ErrorKind::InvalidInput
            );
        })
        .join()
        .unwrap();
    }
}
