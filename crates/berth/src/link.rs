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

/// The most a reading turn (and what followed it until the next) may
/// have written and still be an exchange: one small answer, not a
/// stream, whose ACKs come back in bursts.
const EXCHANGE_BYTES: u64 = 2048;

/// How many frames a turn reads from a device watched level-triggered
/// (the stack thread's `epoll`, a leader's `poll`), where a frame left
/// unread makes the next wait return at once:
/// - reported readable in request/response traffic, one frame: the
///   request costs one read, not a second that only finds the queue
///   empty. Request/response is two reading turns in a row that were each
///   an exchange: one frame read, and an answer of at most
///   [`EXCHANGE_BYTES`] written before the next. One such turn is not
///   enough: a SYN and its SYN-ACK are one, and the handshake's ACK comes
///   with the first data right behind it, which one turn should read
///   together;
/// - reported otherwise, a batch, until empty, as a stream wants (a turn
///   per frame would run the whole turn for each ACK);
/// - not reported (a timer, a wake-up), none.
///
/// A device that holds frames back itself (`poll_at`: a fault link's
/// delays) gets a batch on every turn, reported or not.
#[derive(Debug, Default)]
pub(crate) struct ReadPolicy {
    /// Frames read and bytes written as of the last reading turn's start.
    mark: (u64, u64),
    /// Reading turns in a row that were an exchange (up to 2).
    exchanges: u8,
}

impl ReadPolicy {
    /// At a turn's start: the frames read and bytes written so far (the
    /// stack's and the device's running counts), whether the wait reported
    /// the device readable, whether the device holds frames back.
    pub(crate) fn limit(
        &mut self,
        frames_in: u64,
        bytes_out: u64,
        reported: bool,
        holds_back: bool,
    ) -> usize {
        if holds_back {
            return BATCH;
        }
        if !reported {
            return 0;
        }
        let frames = frames_in.saturating_sub(self.mark.0);
        let bytes = bytes_out.saturating_sub(self.mark.1);
        self.mark = (frames_in, bytes_out);
        self.exchanges = if frames == 1 && (1..=EXCHANGE_BYTES).contains(&bytes) {
            self.exchanges.saturating_add(1).min(2)
        } else {
            0
        };
        if self.exchanges >= 2 { 1 } else { BATCH }
    }
}

/// What one [`receive`] did.
pub(crate) enum Received {
    /// The device had nothing more.
    Drained,
    /// As many frames as asked for were read: the device may hold more
    /// (watched edge-triggered, it raises no new edge for them).
    Full,
    /// The device failed (its interface deleted, say).
    Failed(std::io::Error),
}

/// Reads up to `limit` frames (at most [`BATCH`]) from the device into
/// the core.
pub(crate) fn receive(
    stack: &mut Stack,
    device: &mut dyn Device,
    now: Instant,
    buf: &mut [u8],
    limit: usize,
) -> Received {
    let mut read = 0;
    while read < limit.min(BATCH) {
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

/// Writes everything the core has to send to the device; the bytes.
pub(crate) fn transmit(
    stack: &mut Stack,
    device: &mut dyn Device,
    now: Instant,
    buf: &mut [u8],
) -> u64 {
    let mut bytes = 0;
    while let Some((n, gso)) = stack.poll_transmit_gso(now, buf) {
        bytes += n as u64;
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
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Turns with what each read and wrote (frames in, bytes out), the
    /// device reported each time: the limits they get.
    fn limits(turns: &[(u64, u64)]) -> Vec<usize> {
        let mut policy = ReadPolicy::default();
        let (mut frames, mut bytes) = (0, 0);
        let mut out = Vec::new();
        for &(f, b) in turns {
            out.push(policy.limit(frames, bytes, true, false));
            frames += f;
            bytes += b;
        }
        out
    }

    #[test]
    fn request_response_reads_one_frame_after_two_exchanges() {
        // The limit is decided from the turns before: the third turn on
        // follows two exchanges.
        let got = limits(&[(1, 100); 6]);
        assert_eq!(got, [BATCH, BATCH, 1, 1, 1, 1]);
    }

    #[test]
    fn a_handshake_reads_its_ack_and_first_data_together() {
        // A FIN answered by nothing, a SYN answered by a SYN-ACK: one
        // exchange, so the ACK and data behind it are read as a batch.
        let got = limits(&[(1, 0), (1, 60), (2, 100), (1, 60)]);
        assert!(got.iter().all(|&l| l == BATCH), "{got:?}");
    }

    #[test]
    fn a_stream_reads_batches() {
        // One ACK a turn, answered by a long segment: not an exchange.
        let got = limits(&[(1, 100), (1, 100), (1, 100), (1, 64_000), (1, 64_000)]);
        assert_eq!(got[4], BATCH);
        // Many frames a turn.
        let got = limits(&[(1, 100), (1, 100), (1, 100), (5, 100), (1, 100)]);
        assert_eq!(got[4], BATCH);
    }

    #[test]
    fn unreported_reads_nothing_and_holding_back_reads_a_batch() {
        let mut policy = ReadPolicy::default();
        assert_eq!(policy.limit(0, 0, false, false), 0);
        assert_eq!(policy.limit(0, 0, false, true), BATCH);
        // A turn that did not read leaves the count to the next that does.
        let mut policy = ReadPolicy::default();
        for turn in 0..3 {
            policy.limit(turn, turn * 100, true, false);
            assert_eq!(policy.limit(turn + 1, turn * 100 + 50, false, false), 0);
        }
        assert_eq!(policy.limit(3, 300, true, false), 1);
    }
}
