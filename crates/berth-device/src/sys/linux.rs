//! Linux: TUN/TAP through `/dev/net/tun` and the `TUNSETIFF` ioctl, the
//! interface MTU through `SIOCSIFMTU`, network namespaces through
//! `setns(2)`, and waiting for a descriptor with `poll(2)`.
//!
//! Reads and writes go through `std::fs::File` (one `read(2)`/`write(2)`
//! moves exactly one frame on a TUN/TAP descriptor), so only the ioctls and
//! `setns` need `unsafe`.

#![allow(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::Duration;

use crate::Medium;

/// The clone device of the Linux TUN/TAP driver.
const CLONE_DEVICE: &str = "/dev/net/tun";

/// An open TUN or TAP descriptor, nonblocking.
#[derive(Debug)]
pub(crate) struct TunTap {
    file: File,
    name: String,
}

impl TunTap {
    /// Creates (or attaches to) the interface `name` (empty: the kernel
    /// picks `tunN`/`tapN`) carrying `medium` frames without the packet
    /// information header.
    ///
    /// `offload` (TUN only) asks for `IFF_VNET_HDR`, so that every read and
    /// write carries a virtio-net header, and for checksum and TSO offloads
    /// (`TUNSETOFFLOAD`): the kernel then hands over TCP segments longer
    /// than the MTU with partial checksums, and splits the ones we write.
    pub(crate) fn open(name: &str, medium: Medium, offload: bool) -> io::Result<Self> {
        if offload && medium == Medium::Ethernet {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "offloads are supported on TUN devices only",
            ));
        }
        let mut ifr = ifreq_for(name)?;
        let kind = match medium {
            Medium::Ip => libc::IFF_TUN,
            Medium::Ethernet => libc::IFF_TAP,
        };
        let vnet = if offload { libc::IFF_VNET_HDR } else { 0 };
        // The flags all fit in the 16-bit field (IFF_VNET_HDR is 0x4000).
        ifr.ifr_ifru.ifru_flags = (kind | libc::IFF_NO_PI | vnet) as libc::c_short;

        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(CLONE_DEVICE)?;
        // SAFETY: `file` is an open descriptor of the TUN clone device, and
        // TUNSETIFF reads and writes one `struct ifreq`, which `ifr` is: a
        // live, exclusively borrowed value of the right type and size.
        let rc = unsafe { libc::ioctl(file.as_raw_fd(), libc::TUNSETIFF, &mut ifr) };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        let name = name_of(&ifr);
        if offload {
            let features = libc::TUN_F_CSUM | libc::TUN_F_TSO4 | libc::TUN_F_TSO6;
            // SAFETY: `file` is the TUN descriptor just set up; TUNSETOFFLOAD
            // takes its argument by value (an unsigned int of feature bits)
            // and touches no memory of ours.
            let rc = unsafe {
                libc::ioctl(
                    file.as_raw_fd(),
                    libc::TUNSETOFFLOAD,
                    libc::c_ulong::from(features),
                )
            };
            if rc < 0 {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(Self { file, name })
    }

    /// Reads one frame into the two parts of `bufs` (a virtio-net header,
    /// then the packet); `Ok(None)` when none is queued.
    pub(crate) fn read_vectored(
        &self,
        bufs: &mut [io::IoSliceMut<'_>],
    ) -> io::Result<Option<usize>> {
        loop {
            match (&self.file).read_vectored(bufs) {
                Ok(n) => return Ok(Some(n)),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                Err(e) => return Err(e),
            }
        }
    }

    /// Writes one frame from parts (a virtio-net header, then the packet)
    /// in one `writev(2)`; `Ok(false)` when the kernel would not take it.
    pub(crate) fn write_vectored(&self, bufs: &[io::IoSlice<'_>]) -> io::Result<bool> {
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        loop {
            match (&self.file).write_vectored(bufs) {
                Ok(n) => return Ok(n == total),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL) | Some(libc::ENOBUFS)) => {
                    return Ok(false);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The interface's name as the kernel knows it.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Reads one frame; `Ok(None)` when none is queued.
    pub(crate) fn read(&self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        loop {
            match (&self.file).read(buf) {
                Ok(n) => return Ok(Some(n)),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                Err(e) => return Err(e),
            }
        }
    }

    /// Writes one frame; `Ok(false)` when the kernel would not take it.
    pub(crate) fn write(&self, frame: &[u8]) -> io::Result<bool> {
        loop {
            match (&self.file).write(frame) {
                Ok(n) => return Ok(n == frame.len()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                // The kernel rejects a frame it cannot parse (a bad IP
                // version nibble, a truncated header) with EINVAL and is
                // out of buffers with ENOBUFS: the frame is lost, as a
                // garbled frame is on a wire, and the link stays usable.
                Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL) | Some(libc::ENOBUFS)) => {
                    return Ok(false);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The descriptor, for `poll(2)`.
    pub(crate) fn raw_fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }

    /// The descriptor, borrowed.
    pub(crate) fn as_fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }

    /// Sets the kernel's MTU of the interface (`SIOCSIFMTU`). Works while
    /// the interface is in the caller's network namespace.
    pub(crate) fn set_mtu(&self, mtu: usize) -> io::Result<()> {
        let mtu = libc::c_int::try_from(mtu)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "MTU out of range"))?;
        let mut ifr = ifreq_for(&self.name)?;
        ifr.ifr_ifru.ifru_mtu = mtu;
        if_ioctl(libc::SIOCSIFMTU as _, &mut ifr)
    }

    /// Sets the length of the kernel's queue of frames waiting to be read
    /// from the device (`txqueuelen`, `SIOCSIFTXQLEN`). Works while the
    /// interface is in the caller's network namespace.
    pub(crate) fn set_queue_len(&self, len: usize) -> io::Result<()> {
        let len = libc::c_int::try_from(len).map_err(|_| {
            io::Error::new(io::ErrorKind::InvalidInput, "queue length out of range")
        })?;
        let mut ifr = ifreq_for(&self.name)?;
        // The kernel reads `ifr_qlen`, the union's int (`ifru_ivalue`),
        // which libc does not name: `ifru_mtu` is the same int.
        ifr.ifr_ifru.ifru_mtu = len;
        if_ioctl(libc::SIOCSIFTXQLEN as _, &mut ifr)
    }
}

/// An interface ioctl that reads one `struct ifreq` (`SIOCSIFMTU`,
/// `SIOCSIFTXQLEN`), through a socket of its own.
fn if_ioctl(request: libc::Ioctl, ifr: &mut libc::ifreq) -> io::Result<()> {
    // SAFETY: plain socket(2) call with constant arguments.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by socket(2), is open, and nothing
    // else owns it: the `OwnedFd` becomes its only owner and closes it.
    let socket = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: `socket` is an open socket, and `request` is one that
    // reads one `struct ifreq`, which `ifr` is (live, exclusively
    // borrowed).
    let rc = unsafe { libc::ioctl(socket.as_raw_fd(), request, ifr) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A zeroed `struct ifreq` naming `name`. Rejects names the kernel cannot
/// hold (`IFNAMSIZ` including the NUL) or that contain a NUL or a `/`.
fn ifreq_for(name: &str) -> io::Result<libc::ifreq> {
    if name.len() >= libc::IFNAMSIZ || name.bytes().any(|b| b == 0 || b == b'/') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "interface name too long (15 bytes at most) or invalid",
        ));
    }
    // SAFETY: `ifreq` is plain old data (a byte array and a union of
    // integers, `sockaddr`s and a raw pointer), for which all-zero bytes are
    // a valid value: an empty name, zero flags, a null pointer.
    let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in ifr.ifr_name.iter_mut().zip(name.bytes()) {
        *dst = src as libc::c_char;
    }
    Ok(ifr)
}

/// The NUL-terminated name in `ifr`.
fn name_of(ifr: &libc::ifreq) -> String {
    let bytes: Vec<u8> = ifr
        .ifr_name
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Waits until `fd` is readable or `timeout` passes (`poll(2)`); `Ok(true)`
/// when readable (or hung up: a read will then say why).
pub(crate) fn wait_readable(fd: RawFd, timeout: Duration) -> io::Result<bool> {
    // Rounded up, so that a short timeout does not become a busy poll.
    let millis =
        libc::c_int::try_from(timeout.as_micros().div_ceil(1000)).unwrap_or(libc::c_int::MAX);
    let mut pollfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    loop {
        // SAFETY: `pollfd` is one live, exclusively borrowed `struct pollfd`
        // and we pass a count of 1. poll(2) does not touch the descriptor
        // itself, so any `fd` value is sound: an invalid one yields POLLNVAL.
        let rc = unsafe { libc::poll(&mut pollfd, 1, millis) };
        if rc >= 0 {
            if pollfd.revents & libc::POLLNVAL != 0 {
                return Err(io::Error::from_raw_os_error(libc::EBADF));
            }
            return Ok(rc > 0);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Runs `f` on a new thread that first joins the network namespace whose
/// handle is the file at `path` (such as `/run/netns/NAME`), and returns its
/// result. The calling thread's namespace is untouched; sockets that `f`
/// creates stay in the namespace joined.
pub(crate) fn run_in_netns<T, F>(path: &Path, f: F) -> io::Result<T>
where
    T: Send,
    F: FnOnce() -> T + Send,
{
    let ns = File::open(path)?;
    std::thread::scope(|scope| {
        let thread = scope.spawn(move || {
            // SAFETY: `ns` is an open descriptor owned by this closure for
            // the whole call; setns(2) only changes this (new, short-lived)
            // thread's network namespace.
            let rc = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
            if rc < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(f())
        });
        match thread.join() {
            Ok(result) => result,
            Err(payload) => std::panic::resume_unwind(payload),
        }
    })
}

/// Keeps the calling thread on CPU `cpu` (sched_setaffinity(2)).
pub(crate) fn raise_fd_limit() -> io::Result<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one `rlimit` into the live, borrowed value.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // With CAP_SYS_RESOURCE the hard limit itself may rise, up to the
    // kernel's `fs.nr_open` (kept below a million).
    let nr_open = std::fs::read_to_string("/proc/sys/fs/nr_open")
        .ok()
        .and_then(|s| s.trim().parse::<libc::rlim_t>().ok())
        .unwrap_or(0)
        .min(1 << 20);
    if nr_open > lim.rlim_max {
        let higher = libc::rlimit {
            rlim_cur: nr_open,
            rlim_max: nr_open,
        };
        // SAFETY: setrlimit reads one `rlimit` from the borrowed value.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &higher) } == 0 {
            return Ok(nr_open);
        }
    }
    if lim.rlim_cur < lim.rlim_max {
        lim.rlim_cur = lim.rlim_max;
        // SAFETY: setrlimit reads one `rlimit` from the borrowed value.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(lim.rlim_cur)
}

pub(crate) fn pin_current_thread(cpu: usize) -> io::Result<()> {
    if cpu >= libc::CPU_SETSIZE as usize {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("CPU {cpu} is beyond what a cpu_set_t holds"),
        ));
    }
    // SAFETY: `cpu_set_t` is plain data for which all zeroes is the empty
    // set; CPU_SET writes inside it for `cpu` below CPU_SETSIZE (checked
    // above); sched_setaffinity reads `size_of::<cpu_set_t>()` bytes of
    // the live, borrowed set, and pid 0 is the calling thread.
    let rc = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A `timerfd` on CLOCK_MONOTONIC: readable once it runs out.
pub(crate) struct TimerFd {
    fd: OwnedFd,
}

impl TimerFd {
    pub(crate) fn new() -> io::Result<Self> {
        // SAFETY: timerfd_create takes no pointers; a non-negative result is
        // a new descriptor that nothing else owns.
        let fd = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just created and is owned here alone.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Self { fd })
    }

    /// Runs out `after` from now (zero: at once); `None` disarms it.
    pub(crate) fn set(&self, after: Option<Duration>) -> io::Result<()> {
        let value = match after {
            // A zero it_value disarms: the smallest wait instead.
            Some(d) => libc::timespec {
                tv_sec: libc::time_t::try_from(d.as_secs()).unwrap_or(libc::time_t::MAX),
                tv_nsec: libc::c_long::from(d.subsec_nanos().max(u32::from(d.is_zero()))),
            },
            None => libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
        };
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: value,
        };
        // SAFETY: `spec` is a live, initialised itimerspec read by the call;
        // the old value pointer is null (not wanted).
        let rc =
            unsafe { libc::timerfd_settime(self.fd.as_raw_fd(), 0, &spec, std::ptr::null_mut()) };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Clears a run-out timer's readiness (reads its expiry count).
    pub(crate) fn clear(&self) {
        read_count(self.fd.as_raw_fd());
    }

    pub(crate) fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// Reads the 8-byte count of a nonblocking timerfd or eventfd, which
/// clears its readiness (`EAGAIN` if there was none: nothing to do).
fn read_count(fd: RawFd) {
    let mut count = 0u64;
    // SAFETY: reads at most 8 bytes into `count`, a live, exclusively
    // borrowed u64.
    let _ = unsafe {
        libc::read(
            fd,
            std::ptr::from_mut(&mut count).cast(),
            std::mem::size_of::<u64>(),
        )
    };
}

/// An `eventfd`: readable once rung, until cleared.
pub(crate) struct EventFd {
    fd: OwnedFd,
}

impl EventFd {
    pub(crate) fn new() -> io::Result<Self> {
        // SAFETY: eventfd takes no pointers; a non-negative result is a new
        // descriptor that nothing else owns.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just created and is owned here alone.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Self { fd })
    }

    /// Makes it readable (adds one to its count; a full count stays
    /// readable, so the error that says so is no failure).
    pub(crate) fn ring(&self) {
        let one = 1u64;
        // SAFETY: writes 8 bytes from `one`, a live u64, to our descriptor.
        let _ = unsafe {
            libc::write(
                self.fd.as_raw_fd(),
                std::ptr::from_ref(&one).cast(),
                std::mem::size_of::<u64>(),
            )
        };
    }

    /// Clears its readiness (reads and zeroes its count).
    pub(crate) fn clear(&self) {
        read_count(self.fd.as_raw_fd());
    }

    pub(crate) fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

pub(crate) fn wait_either(
    first: RawFd,
    second: RawFd,
    timeout: Option<Duration>,
) -> io::Result<(bool, bool)> {
    // Rounded up, so that a short timeout does not become a busy poll.
    let millis = timeout.map_or(-1, |t| {
        libc::c_int::try_from(t.as_micros().div_ceil(1000)).unwrap_or(libc::c_int::MAX)
    });
    let mut fds = [first, second].map(|fd| libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    });
    loop {
        // SAFETY: `fds` is a live, exclusively borrowed array of two
        // `struct pollfd` and we pass its length. poll(2) does not touch
        // the descriptors themselves: an invalid one yields POLLNVAL.
        let rc = unsafe { libc::poll(fds.as_mut_ptr(), 2, millis) };
        if rc >= 0 {
            if fds.iter().any(|p| p.revents & libc::POLLNVAL != 0) {
                return Err(io::Error::from_raw_os_error(libc::EBADF));
            }
            let ready =
                |p: libc::pollfd| p.revents & (libc::POLLIN | libc::POLLERR | libc::POLLHUP) != 0;
            let [a, b] = fds;
            return Ok((ready(a), ready(b)));
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

pub(crate) fn watch_level(epoll: RawFd, fd: RawFd, token: u64) -> io::Result<()> {
    let mut event = libc::epoll_event {
        events: libc::EPOLLIN as u32,
        u64: token,
    };
    // SAFETY: `event` is a live, exclusively borrowed `struct epoll_event`
    // that epoll_ctl only reads; invalid descriptors yield EBADF.
    let rc = unsafe { libc::epoll_ctl(epoll, libc::EPOLL_CTL_ADD, fd, &raw mut event) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

pub(crate) fn duplicate(fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: fcntl(F_DUPFD_CLOEXEC) takes no pointers; an invalid `fd`
    // yields EBADF. A non-negative result is a new descriptor that
    // nothing else owns.
    let dup = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
    if dup < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `dup` was just created and is owned here alone.
    Ok(unsafe { OwnedFd::from_raw_fd(dup) })
}
