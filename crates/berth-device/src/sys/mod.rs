//! The operating-system interface: one module per OS, selected with `cfg`
//! (mio's `sys` layout). Every `unsafe` block of the workspace lives in
//! these modules, each with a `// SAFETY:` comment.
//!
//! Each module provides the same crate-private items:
//!
//! - `TunTap`: an open TUN or TAP descriptor (`open`, `name`, `read`,
//!   `write`, `raw_fd`);
//! - `set_mtu(name, mtu)`: the kernel's MTU for an interface;
//! - `run_in_netns(path, f)`: run `f` on a thread that joined the network
//!   namespace at `path`;
//! - `wait_readable(fd, timeout)`: `poll(2)` for one descriptor;
//! - `raise_fd_limit()`: `setrlimit(2)` of `RLIMIT_NOFILE` to its hard limit;
//! - `pin_current_thread(cpu)`: `sched_setaffinity(2)` for this thread;
//! - `TimerFd`: a `timerfd` to wait on with the device.
//! - `EventFd`: an `eventfd` that rings a thread out of `wait_either`.

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
pub(crate) use linux::{
    EventFd, TimerFd, TunTap, duplicate, pin_current_thread, raise_fd_limit, run_in_netns,
    wait_either, wait_readable, watch_level,
};

#[cfg(not(target_os = "linux"))]
mod unsupported;
#[cfg(not(target_os = "linux"))]
pub(crate) use unsupported::{
    EventFd, TimerFd, TunTap, duplicate, pin_current_thread, raise_fd_limit, run_in_netns,
    wait_either, wait_readable, watch_level,
};
