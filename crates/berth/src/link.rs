//! The device, shared by the stack thread and the application threads
//! that transmit inline (`Shared::pump_inline`): a write from an
//! application goes into the core and out of the device on the writer's
//! own thread when the stack is free, with no wake-up of the stack thread.
//!
//! Lock order: the stack's lock (`Shared::lock`), then the device's; the
//! device's is only ever taken with the stack's held, so whoever holds the
//! stack's lock gets the device at once.

use std::sync::{Mutex, MutexGuard};

use berth_core::stack::Stack;
use berth_core::time::Instant;
use berth_device::Device;

/// The stack's device and the buffer size its frames need.
pub(crate) struct Link {
    device: Mutex<Box<dyn Device>>,
    /// Bytes a buffer needs for any frame of this device, read or
    /// written (long TCP segments with TSO included).
    pub(crate) frame_len: usize,
}

impl Link {
    pub(crate) fn new(device: Box<dyn Device>) -> Self {
        let frame_len = device
            .mtu()
            .max(device.recv_capacity())
            .max(device.tso_max())
            .max(1500)
            + 64;
        Self {
            device: Mutex::new(device),
            frame_len,
        }
    }

    /// The device; the caller holds the stack's lock.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Box<dyn Device>> {
        // A send or receive that panicked left the device as the OS has it.
        self.device.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Frames read per turn before the core's output is written.
pub(crate) const BATCH: usize = 64;

/// What one [`receive`] did.
pub(crate) enum Received {
    /// The device had nothing more.
    Drained,
    /// A whole batch was read: the device may hold more (it raises no new
    /// edge for them in an `epoll`).
    Full,
    /// The device failed (its interface deleted, say).
    Failed(std::io::Error),
}

/// Reads up to [`BATCH`] frames from the device into the core.
pub(crate) fn receive(
    stack: &mut Stack,
    device: &mut dyn Device,
    now: Instant,
    buf: &mut [u8],
) -> Received {
    let mut read = 0;
    while read < BATCH {
        match device.recv_frame(buf) {
            Ok(Some(r)) => {
                read += 1;
                let frame = buf.get(..r.len).unwrap_or(&[]);
                if r.checksum_vouched {
                    stack.handle_frame_offloaded(now, frame);
                } else {
                    stack.handle_frame(now, frame);
                }
            }
            Ok(None) => return Received::Drained,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Received::Failed(e),
        }
    }
    Received::Full
}

/// Writes everything the core has to send to the device.
pub(crate) fn transmit(stack: &mut Stack, device: &mut dyn Device, now: Instant, buf: &mut [u8]) {
    while let Some((n, gso)) = stack.poll_transmit_gso(now, buf) {
        let packet = buf.get(..n).unwrap_or(&[]);
        let sent = match gso {
            // A long TCP segment (TSO): the device splits it; if it cannot
            // after all, berth does, rather than lose every such segment.
            Some(seg) => device.send_tcp_segments(packet, seg).or_else(|e| {
                tracing::debug!(
                    "berth: the device did not split a TCP segment ({e}); splitting it here"
                );
                let mut result = Ok(true);
                berth_core::stack::split_tcp_segment(packet, seg, |piece| {
                    if result.is_ok() {
                        result = device.send(piece);
                    }
                });
                result
            }),
            None => device.send(packet),
        };
        if let Err(e) = sent {
            tracing::warn!("berth: device write failed: {e}");
        }
    }
}
