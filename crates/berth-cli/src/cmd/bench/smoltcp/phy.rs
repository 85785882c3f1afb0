//! smoltcp's `phy::Device` for the two links it runs on: [`MemPhy`], the
//! in-memory link of the `core` target, and [`BerthPhy`], a berth device
//! (the TUN device of the `tun` target) for `serve`.

use std::collections::VecDeque;
use std::io;
use std::thread;
use std::time::{Duration, Instant};

use ::smoltcp::phy::{self, DeviceCapabilities, Medium};
use ::smoltcp::time::Instant as SmolInstant;
use berth_device::Device;

use super::{MAX_IP_PACKET, STOP_CHECK};

/// An in-memory link for [`MemNet`](super::mem_net::MemNet): what is
/// sent is received, in order.
/// Like smoltcp's `phy::Loopback`, but with a given MTU and checksums left
/// to smoltcp's default (computed and verified in software), and with the
/// frame buffers reused.
pub(super) struct MemPhy {
    mtu: usize,
    /// Frames sent and not yet received.
    queue: VecDeque<Vec<u8>>,
    /// The frame being received.
    rx: Vec<u8>,
    /// Buffers of received frames, reused for sending.
    spare: Vec<Vec<u8>>,
}

impl MemPhy {
    pub(super) fn new(mtu: usize) -> Self {
        Self {
            mtu,
            queue: VecDeque::new(),
            rx: Vec::new(),
            spare: Vec::new(),
        }
    }
}

impl phy::Device for MemPhy {
    type RxToken<'a> = RxToken<'a>;
    type TxToken<'a> = MemTxToken<'a>;

    fn receive(&mut self, _now: SmolInstant) -> Option<(RxToken<'_>, MemTxToken<'_>)> {
        let frame = self.queue.pop_front()?;
        let done = std::mem::replace(&mut self.rx, frame);
        self.spare.push(done);
        Some((
            RxToken { frame: &self.rx },
            MemTxToken {
                queue: &mut self.queue,
                spare: &mut self.spare,
            },
        ))
    }

    fn transmit(&mut self, _now: SmolInstant) -> Option<MemTxToken<'_>> {
        Some(MemTxToken {
            queue: &mut self.queue,
            spare: &mut self.spare,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ip;
        caps.max_transmission_unit = self.mtu;
        caps
    }
}

/// Room for one frame to send on [`MemPhy`], queued for receiving.
pub(super) struct MemTxToken<'a> {
    queue: &'a mut VecDeque<Vec<u8>>,
    spare: &'a mut Vec<Vec<u8>>,
}

impl phy::TxToken for MemTxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut frame = self.spare.pop().unwrap_or_default();
        frame.clear();
        frame.resize(len, 0);
        let result = f(&mut frame);
        self.queue.push_back(frame);
        result
    }
}

/// smoltcp's `phy::Device` over a berth device.
pub(super) struct BerthPhy {
    device: Box<dyn Device>,
    rx: Vec<u8>,
    tx: Vec<u8>,
    /// The first I/O error inside a token, reported after the poll.
    error: Option<io::Error>,
}

impl BerthPhy {
    pub(super) fn new(device: Box<dyn Device>) -> Self {
        let mtu = device.mtu();
        Self {
            device,
            // Room for any IPv4 packet: a device with receive offloads hands
            // over TCP segments longer than its MTU.
            rx: vec![0; MAX_IP_PACKET.max(mtu)],
            tx: Vec::with_capacity(mtu),
            error: None,
        }
    }

    pub(super) fn take_error(&mut self) -> io::Result<()> {
        self.error.take().map_or(Ok(()), Err)
    }

    /// Waits until the device is readable, `delay` passes (`None`: no timer
    /// pending), or [`STOP_CHECK`] passes. Returns at once for a zero delay.
    pub(super) fn wait(&self, delay: Option<Duration>) -> io::Result<()> {
        let mut timeout = delay.unwrap_or(STOP_CHECK).min(STOP_CHECK);
        if let Some(at) = self.device.poll_at() {
            timeout = timeout.min(at.saturating_duration_since(Instant::now()));
        }
        if timeout.is_zero() {
            return Ok(());
        }
        match self.device.raw_fd() {
            Some(fd) => berth_device::wait_readable(fd, timeout).map(|_| ()),
            // Nothing to wait on: nap briefly rather than spin.
            None => {
                thread::sleep(timeout.min(Duration::from_millis(1)));
                Ok(())
            }
        }
    }
}

impl phy::Device for BerthPhy {
    type RxToken<'a> = RxToken<'a>;
    type TxToken<'a> = TxToken<'a>;

    fn receive(&mut self, _now: SmolInstant) -> Option<(RxToken<'_>, TxToken<'_>)> {
        let Self {
            device,
            rx,
            tx,
            error,
        } = self;
        match device.recv(rx) {
            Ok(Some(n)) => Some((
                RxToken {
                    frame: rx.get(..n)?,
                },
                TxToken { device, tx, error },
            )),
            Ok(None) => None,
            Err(e) => {
                error.get_or_insert(e);
                None
            }
        }
    }

    fn transmit(&mut self, _now: SmolInstant) -> Option<TxToken<'_>> {
        Some(TxToken {
            device: &mut self.device,
            tx: &mut self.tx,
            error: &mut self.error,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ip;
        caps.max_transmission_unit = self.device.mtu();
        caps
    }
}

/// One received frame, borrowed from the device's receive buffer.
pub(super) struct RxToken<'a> {
    frame: &'a [u8],
}

impl phy::RxToken for RxToken<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(self.frame)
    }
}

/// Room for one frame to send, written straight to the berth device.
pub(super) struct TxToken<'a> {
    device: &'a mut Box<dyn Device>,
    tx: &'a mut Vec<u8>,
    error: &'a mut Option<io::Error>,
}

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        self.tx.resize(len, 0);
        let result = f(self.tx);
        // `Ok(false)`: the device's queue is full and the frame is lost, as
        // on a busy NIC; TCP retransmits.
        if let Err(e) = self.device.send(self.tx) {
            self.error.get_or_insert(e);
        }
        result
    }
}
