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

/// The most a reading turn may have read, and what it (and whatever
/// followed until the next) wrote, and still be an exchange: a small
/// request and its small answer, not a stream (whose long segments, or
/// whose ACKs, come in bursts).
const EXCHANGE_BYTES: u64 = 2048;

/// How many frames a turn reads from a device watched level-triggered
/// (the stack thread's `epoll`, a leader's `poll`), where a frame left
/// unread makes the next wait return at once:
/// - reported readable in request/response traffic, one frame: the
///   request costs one read, not a second that only finds the queue
///   empty. Request/response is two reading turns in a row that were each
///   an exchange: one frame of at most [`EXCHANGE_BYTES`] read, and an
///   answer of at most that written before the next. One such turn is not
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
    /// Since the last reading turn began: frames and bytes read
    /// ([`receive`]), bytes written ([`ReadPolicy::wrote`]).
    frames: u64,
    read: u64,
    written: u64,
    /// Reading turns in a row that were an exchange (up to 2).
    exchanges: u8,
}

impl ReadPolicy {
    /// `bytes` went to the device (by whichever thread wrote them).
    pub(crate) fn wrote(&mut self, bytes: u64) {
        self.written += bytes;
    }

    /// At a turn's start: how many frames to read, given whether the wait
    /// reported the device readable and whether the device holds frames
    /// back.
    pub(crate) fn limit(&mut self, reported: bool, holds_back: bool) -> usize {
        if holds_back {
            return BATCH;
        }
        if !reported {
            return 0;
        }
        let (frames, read, written) = (self.frames, self.read, self.written);
        (self.frames, self.read, self.written) = (0, 0, 0);
        self.exchanges =
            if frames == 1 && read <= EXCHANGE_BYTES && (1..=EXCHANGE_BYTES).contains(&written) {
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
    /// (unless a level-triggered wait reports it, nothing says so).
    Full,
    /// The device failed (its interface deleted, say).
    Failed(std::io::Error),
}

/// Reads up to `limit` frames (at most [`BATCH`]) from the device into
/// the core, counting them in `policy`.
pub(crate) fn receive(
    stack: &mut Stack,
    device: &mut dyn Device,
    now: Instant,
    buf: &mut [u8],
    limit: usize,
    policy: &mut ReadPolicy,
) -> Received {
    let mut read = 0;
    while read < limit.min(BATCH) {
        match device.recv_frame(buf) {
            Ok(Some(r)) => {
                read += 1;
                policy.frames += 1;
                policy.read += r.len as u64;
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

    /// What a turn read and wrote: frames in, bytes in, bytes out.
    fn traffic(policy: &mut ReadPolicy, (frames, read, written): (u64, u64, u64)) {
        policy.frames += frames;
        policy.read += read;
        policy.wrote(written);
    }

    /// Turns with what each read and wrote, the device reported each
    /// time: the limits they get.
    fn limits(turns: &[(u64, u64, u64)]) -> Vec<usize> {
        let mut policy = ReadPolicy::default();
        let mut out = Vec::new();
        for &turn in turns {
            out.push(policy.limit(true, false));
            traffic(&mut policy, turn);
        }
        out
    }

    #[test]
    fn request_response_reads_one_frame_after_two_exchanges() {
        // The limit is decided from the turns before: the third turn on
        // follows two exchanges.
        let got = limits(&[(1, 104, 104); 6]);
        assert_eq!(got, [BATCH, BATCH, 1, 1, 1, 1]);
    }

    #[test]
    fn a_handshake_reads_its_ack_and_first_data_together() {
        // A FIN answered by nothing, a SYN answered by a SYN-ACK: one
        // exchange, so the ACK and data behind it are read as a batch.
        let got = limits(&[(1, 52, 0), (1, 60, 60), (2, 156, 104), (1, 52, 60)]);
        assert!(got.iter().all(|&l| l == BATCH), "{got:?}");
    }

    #[test]
    fn streams_read_batches() {
        // Download: one ACK a turn, answered by a long segment.
        let got = limits(&[(1, 52, 100), (1, 52, 100), (1, 52, 64_000), (1, 52, 64_000)]);
        assert_eq!(got[3], BATCH);
        // Upload: one long segment a turn, answered by an ACK.
        let got = limits(&[(1, 100, 52), (1, 100, 52), (1, 64_000, 52), (1, 64_000, 52)]);
        assert_eq!(got[3], BATCH);
        // Many frames a turn.
        let got = limits(&[(1, 100, 100), (1, 100, 100), (5, 500, 100), (1, 100, 100)]);
        assert_eq!(got[3], BATCH);
    }

    #[test]
    fn unreported_reads_nothing_and_holding_back_reads_a_batch() {
        let mut policy = ReadPolicy::default();
        assert_eq!(policy.limit(false, false), 0);
        assert_eq!(policy.limit(false, true), BATCH);
        // A turn that did not read leaves the count to the next that does:
        // each exchange below is split over a reading turn and another.
        let mut policy = ReadPolicy::default();
        for _ in 0..3 {
            policy.limit(true, false);
            traffic(&mut policy, (1, 100, 50));
            assert_eq!(policy.limit(false, false), 0);
            traffic(&mut policy, (0, 0, 50));
        }
        assert_eq!(policy.limit(true, false), 1);
    }
}
