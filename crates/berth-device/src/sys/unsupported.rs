//! Operating systems without a TUN/TAP implementation yet: everything
//! compiles and every constructor returns `io::ErrorKind::Unsupported`.

use std::convert::Infallible;
use std::io;
use std::os::fd::{BorrowedFd, RawFd};
use std::path::Path;
use std::time::Duration;

use crate::Medium;

fn unsupported() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "TUN/TAP devices and network namespaces are only supported on Linux",
    )
}

/// Never constructed on this OS.
#[derive(Debug)]
pub(crate) struct TunTap {
    never: Infallible,
}

impl TunTap {
    pub(crate) fn open(_name: &str, _medium: Medium, _offload: bool) -> io::Result<Self> {
        Err(unsupported())
    }

    pub(crate) fn name(&self) -> &str {
        match self.never {}
    }

    pub(crate) fn read(&self, _buf: &mut [u8]) -> io::Result<Option<usize>> {
        match self.never {}
    }

    pub(crate) fn write(&self, _frame: &[u8]) -> io::Result<bool> {
        match self.never {}
    }

    pub(crate) fn read_vectored(
        &self,
        _bufs: &mut [io::IoSliceMut<'_>],
    ) -> io::Result<Option<usize>> {
        match self.never {}
    }

    pub(crate) fn write_vectored(&self, _bufs: &[io::IoSlice<'_>]) -> io::Result<bool> {
        match self.never {}
    }

    pub(crate) fn raw_fd(&self) -> RawFd {
        match self.never {}
    }

    pub(crate) fn as_fd(&self) -> BorrowedFd<'_> {
        match self.never {}
    }

    pub(crate) fn set_mtu(&self, _mtu: usize) -> io::Result<()> {
        match self.never {}
    }

    pub(crate) fn set_queue_len(&self, _len: usize) -> io::Result<()> {
        match self.never {}
    }
}

pub(crate) fn run_in_netns<T, F>(_path: &Path, _f: F) -> io::Result<T>
where
    T: Send,
    F: FnOnce() -> T + Send,
{
    Err(unsupported())
}

pub(crate) fn wait_readable(_fd: RawFd, _timeout: Duration) -> io::Result<bool> {
    Err(unsupported())
}

pub(crate) fn raise_fd_limit() -> io::Result<u64> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "raising the open-file limit is implemented for Linux only",
    ))
}

pub(crate) fn pin_current_thread(_cpu: usize) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "pinning threads to CPUs is implemented for Linux only",
    ))
}

pub(crate) struct TimerFd;

impl TimerFd {
    pub(crate) fn new() -> io::Result<Self> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "timerfd is Linux-only",
        ))
    }

    pub(crate) fn set(&self, _after: Option<std::time::Duration>) -> io::Result<()> {
        Ok(())
    }

    pub(crate) fn clear(&self) {}

    pub(crate) fn raw_fd(&self) -> RawFd {
        -1
    }
}

/// Never constructed on this OS.
pub(crate) struct EventFd {
    never: Infallible,
}

impl EventFd {
    pub(crate) fn new() -> io::Result<Self> {
        Err(unsupported())
    }

    pub(crate) fn ring(&self) {
        match self.never {}
    }

    pub(crate) fn clear(&self) {
        match self.never {}
    }

    pub(crate) fn raw_fd(&self) -> RawFd {
        match self.never {}
    }
}

pub(crate) fn wait_either(
    _first: RawFd,
    _second: RawFd,
    _timeout: Option<Duration>,
) -> io::Result<(bool, bool)> {
    Err(unsupported())
}

pub(crate) fn watch_level(_epoll: RawFd, _fd: RawFd, _token: u64) -> io::Result<()> {
    Err(unsupported())
}

pub(crate) fn duplicate(_fd: RawFd) -> io::Result<std::os::fd::OwnedFd> {
    Err(unsupported())
}
